// The WebSocket stream end to end (API.md "Streaming"): the real gateway on SQLite with the
// paper broker, a Poco::Net::WebSocket client.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#include "gateway_process.hpp"
#include "ordergate/decimal.hpp"
#include "stream_client.hpp"

namespace ordergate::testing {
namespace {

std::string config_path() { return source_dir() + "/tests/integration/gateway.yaml"; }

std::string market(const std::string& account, const std::string& qty = "3") {
    return "{\"account_id\":\"" + account +
           "\",\"symbol\":\"INFY\",\"exchange\":\"NSE\",\"side\":\"BUY\",\"quantity\":\"" + qty +
           "\",\"order_type\":\"MARKET\"}";
}

class Stream : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        GatewayOptions o;
        o.config = config_path();
        gw_ = new GatewayProcess(o);
    }
    static void TearDownTestSuite() {
        delete gw_;
        gw_ = nullptr;
    }
    uint16_t port() const { return gw_->port(); }
    std::string place(const std::string& body) {
        auto r = http(port(), "POST", "/api/v1/orders", body, json_headers());
        EXPECT_TRUE(r.status == 201 || r.status == 202) << r.body;
        return field(r.json(), "id");
    }
    // Reads messages until an "orders" event of `order_id` with status FILLED, a trade and a
    // position of it have arrived (bounded); returns every event read.
    std::vector<StreamMessage> until_filled(StreamClient& c, const std::string& order_id) {
        std::vector<StreamMessage> got;
        bool filled = false, trade = false, position = false;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
        while (!(filled && trade && position) && std::chrono::steady_clock::now() < deadline) {
            auto m = c.next(std::chrono::milliseconds(500));
            if (!m) continue;
            if (m->type() != "event") continue;
            got.push_back(*m);
            const std::string topic = field(m->json, "topic");
            if (topic == "orders" && field(m->json, "data.id") == order_id &&
                field(m->json, "data.status") == "FILLED")
                filled = true;
            if (topic == "trades" && field(m->json, "data.order_id") == order_id) trade = true;
            if (topic == "positions") position = true;
        }
        EXPECT_TRUE(filled && trade && position)
            << "filled=" << filled << " trade=" << trade << " position=" << position;
        return got;
    }
    static GatewayProcess* gw_;
};
GatewayProcess* Stream::gw_ = nullptr;

StreamMessage expect_message(StreamClient& c, const std::string& type) {
    auto m = c.next(std::chrono::seconds(10));
    EXPECT_TRUE(m.has_value()) << "no '" << type << "' message";
    if (!m) return {};
    EXPECT_EQ(m->type(), type) << m->text;
    return *m;
}

TEST_F(Stream, OrderTradeAndPositionEventsArriveInSeqOrderForTheSubscribedAccountOnly) {
    StreamClient c(port());
    EXPECT_EQ(c.status(), 101);
    c.send(R"({"op":"subscribe","account_id":"ACC1","topics":["orders","trades","positions"]})");
    StreamMessage sub = expect_message(c, "subscribed");
    EXPECT_EQ(field(sub.json, "account_id"), "ACC1");
    const std::string other = place(market("ACC2"));  // never streamed to this client
    const std::string id = place(market("ACC1"));
    std::vector<StreamMessage> got = until_filled(c, id);
    int64_t prev = std::stoll(field(sub.json, "last_seq"));
    std::set<std::string> topics;
    for (const auto& m : got) {
        EXPECT_EQ(field(m.json, "account_id"), "ACC1") << m.text;
        EXPECT_NE(field(m.json, "data.id"), other) << m.text;
        EXPECT_GT(m.seq(), prev) << m.text;
        prev = m.seq();
        topics.insert(field(m.json, "topic"));
    }
    EXPECT_EQ(topics, (std::set<std::string>{"orders", "trades", "positions"}));
    // The first event of the order is its PENDING_NEW intent; the trade names the order.
    EXPECT_EQ(field(got.front().json, "data.status"), "PENDING_NEW") << got.front().text;
}

TEST_F(Stream, ReconnectingWithSinceSeqGetsExactlyWhatWasMissedThenLiveEvents) {
    int64_t last = 0;
    {
        StreamClient c(port());
        c.send(R"({"op":"subscribe","account_id":"ACC1"})");
        expect_message(c, "subscribed");
        std::vector<StreamMessage> got = until_filled(c, place(market("ACC1")));
        ASSERT_FALSE(got.empty());
        last = got.back().seq();
        // Whatever else of this order is still coming counts as missed below.
        c.close();
    }
    // Placed while disconnected.
    const std::string a = place(market("ACC1", "1"));
    const std::string b = place(market("ACC1", "2"));
    for (const auto& id : {a, b}) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
        while (field(http(port(), "GET", "/api/v1/orders/" + id).json(), "status") != "FILLED" &&
               std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    // What was missed, as the REST log has it.
    auto rest = http(port(), "GET",
                     "/api/v1/events?account_id=ACC1&limit=1000&since_seq=" + std::to_string(last));
    ASSERT_EQ(rest.status, 200) << rest.body;
    std::vector<int64_t> missed;
    const json::Value doc = rest.json();
    const json::Value* items = doc.find("items");
    ASSERT_NE(items, nullptr) << rest.body;
    for (const auto& item : items->items()) missed.push_back(std::stoll(field(item, "seq")));
    ASSERT_GE(missed.size(), size_t{6}) << rest.body;  // two orders: transitions, trades, positions

    StreamClient c(port());
    c.send(R"({"op":"subscribe","account_id":"ACC1","since_seq":)" + std::to_string(last) + "}");
    StreamMessage sub = expect_message(c, "subscribed");
    std::vector<int64_t> replayed;
    while (replayed.size() < missed.size()) {
        auto m = c.next(std::chrono::seconds(10));
        ASSERT_TRUE(m.has_value()) << "replayed " << replayed.size() << " of " << missed.size();
        if (m->type() == "event") replayed.push_back(m->seq());
    }
    EXPECT_EQ(replayed, missed);
    // The seam: the next live events continue right after, with no repeat.
    const std::string live = place(market("ACC1"));
    std::vector<StreamMessage> after = until_filled(c, live);
    ASSERT_FALSE(after.empty());
    EXPECT_EQ(after.front().seq(), missed.back() + 1) << after.front().text;
}

TEST_F(Stream, BadMessagesAndUnknownAccountsAnswerErrors) {
    StreamClient c(port());
    c.send("not json");
    StreamMessage e1 = expect_message(c, "error");
    EXPECT_EQ(field(e1.json, "code"), "INVALID_PARAMETER");
    c.send(R"({"op":"subscribe","account_id":"NOPE"})");
    StreamMessage e2 = expect_message(c, "error");
    EXPECT_EQ(field(e2.json, "code"), "NOT_FOUND");
    c.send(R"({"op":"subscribe","account_id":"ACC1","topics":["bogus"]})");
    StreamMessage e3 = expect_message(c, "error");
    EXPECT_EQ(field(e3.json, "code"), "INVALID_PARAMETER");
    c.send(R"({"op":"ping"})");
    expect_message(c, "pong");
}

// RFC 6455: a message may come in fragments (a text frame without FIN, then continuation
// frames), with control frames between them; a binary message is answered, not ignored; a message
// larger than the stream accepts (64 KiB) closes the connection with 1009, whatever its frame
// header announces, before the gateway holds it.
TEST_F(Stream, FragmentedMessagesAreJoinedBinaryIsAnsweredAndOversizedIsClosedWith1009) {
    using Poco::Net::WebSocket;
    const int fin = WebSocket::FRAME_FLAG_FIN;  // an int: or-ed with an opcode of another enum
    StreamClient c(port());
    c.send_frame(R"({"op":"subscribe","account_id")", WebSocket::FRAME_OP_TEXT);
    c.send_frame("", fin | WebSocket::FRAME_OP_PING);
    c.send_frame(R"(:"ACC1","topics":["orders"]})", WebSocket::FRAME_OP_CONT);
    c.send_frame("", fin | WebSocket::FRAME_OP_CONT);
    StreamMessage sub = expect_message(c, "subscribed");
    EXPECT_EQ(field(sub.json, "account_id"), "ACC1") << sub.text;
    // Fragments further apart than the gateway's receive wait (1 s) still make one message.
    c.send_frame(R"({"op":)", WebSocket::FRAME_OP_TEXT);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    c.send_frame(R"("pi)", WebSocket::FRAME_OP_CONT);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    c.send_frame(R"(ng"})", fin | WebSocket::FRAME_OP_CONT);
    expect_message(c, "pong");
    c.send_frame(R"({"op":"ping"})", WebSocket::FRAME_BINARY);
    StreamMessage bin = expect_message(c, "error");
    EXPECT_EQ(field(bin.json, "code"), "INVALID_PARAMETER") << bin.text;
    c.send(R"({"op":"ping"})");
    expect_message(c, "pong");
    // 64 KiB and one byte, in two fragments each within the limit.
    c.send_frame(std::string(40000, ' '), WebSocket::FRAME_OP_TEXT);
    c.send_frame(std::string(65537 - 40000, ' '), fin | WebSocket::FRAME_OP_CONT);
    int code = 0;
    EXPECT_FALSE(c.next(std::chrono::seconds(10), &code).has_value());
    EXPECT_TRUE(c.closed());
    EXPECT_EQ(code, 1009);
    // One close frame, then the end of the connection (not a second close frame).
    int again = 0;
    try {
        c.next(std::chrono::seconds(2), &again);
    } catch (const Poco::Exception&) {
    }
    EXPECT_EQ(again, 0);
    // One frame of 1 MiB: refused at its header (Poco's default would take up to 2 GiB).
    StreamClient big(port());
    big.send(R"({"op":"ping"})");
    expect_message(big, "pong");
    try {
        big.send_frame(std::string(1 << 20, ' '), WebSocket::FRAME_TEXT);
    } catch (const Poco::Exception&) {
        // The gateway may close before the whole frame is written.
    }
    code = 0;
    try {
        EXPECT_FALSE(big.next(std::chrono::seconds(10), &code).has_value());
    } catch (const Poco::Exception&) {
        code = -1;  // reset before the close frame was read
    }
    EXPECT_TRUE(code == 1009 || code == -1) << code;
    // The gateway still serves.
    StreamClient after(port());
    after.send(R"({"op":"ping"})");
    expect_message(after, "pong");
}

// The value of one sample line of /metrics (`name` with its labels, as printed), or 0.
double sample(uint16_t port, const std::string& name) {
    const std::string body = http(port, "GET", "/metrics").body;
    const size_t at = body.find("\n" + name + " ");
    if (at == std::string::npos) return 0;
    return std::stod(body.substr(at + name.size() + 2));
}

// Operators see the stream: connections open, and how each ended (1009 here). A gateway of its
// own: the suite's other clients come and go on the shared one.
TEST(StreamMetrics, CountOpenConnectionsAndEachCloseByCode) {
    GatewayOptions o;
    o.config = config_path();
    GatewayProcess gw(o);
    const std::string closes_1009 = "ordergate_stream_closes_total{code=\"1009\"}";
    EXPECT_EQ(sample(gw.port(), "ordergate_stream_clients"), 0);
    {
        StreamClient c(gw.port());
        c.send(R"({"op":"ping"})");
        expect_message(c, "pong");
        EXPECT_EQ(sample(gw.port(), "ordergate_stream_clients"), 1);
        c.send(std::string(70000, ' '));
        int code = 0;
        EXPECT_FALSE(c.next(std::chrono::seconds(10), &code).has_value());
        EXPECT_EQ(code, 1009);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (sample(gw.port(), "ordergate_stream_clients") != 0 &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(sample(gw.port(), "ordergate_stream_clients"), 0);
    EXPECT_EQ(sample(gw.port(), closes_1009), 1);
}

TEST_F(Stream, RestEventsRefuseAnUnknownAccountAndABadSinceSeq) {
    EXPECT_EQ(http(port(), "GET", "/api/v1/events?account_id=NOPE").status, 404);
    EXPECT_EQ(http(port(), "GET", "/api/v1/events?account_id=ACC1&since_seq=-1").status, 400);
    EXPECT_EQ(http(port(), "GET", "/api/v1/events").status, 400);
}

// A since_seq after the account's newest entry is a seq this log never gave (a cursor kept from
// another store, or from before a restore): it is refused, on the stream and over REST, naming the
// newest seq. Accepted, it left the client waiting in silence while the log's next entries (lower
// seqs) went by.
TEST_F(Stream, ASinceSeqAfterTheNewestEntryIsRefusedNamingTheNewest) {
    place(market("ACC2", "1"));
    StreamClient c(port());
    c.send(R"({"op":"subscribe","account_id":"ACC2","topics":["orders"]})");
    const int64_t last = std::stoll(field(expect_message(c, "subscribed").json, "last_seq"));
    ASSERT_GT(last, 0);
    // A client of its own, subscribed to nothing: the order's later entries (its fill, committed
    // after the first subscribe) reach `c` live and must not come before the answer awaited.
    StreamClient fresh(port());
    fresh.send(R"({"op":"subscribe","account_id":"ACC2","topics":["orders"],"since_seq":)" +
               std::to_string(last + 1000) + "}");
    StreamMessage refused = expect_message(fresh, "error");
    EXPECT_EQ(field(refused.json, "code"), "INVALID_PARAMETER") << refused.text;
    EXPECT_GE(std::stoll(field(refused.json, "last_seq")), last) << refused.text;
    auto rest = http(port(), "GET",
                     "/api/v1/events?account_id=ACC2&since_seq=" + std::to_string(last + 1000));
    EXPECT_EQ(rest.status, 400) << rest.body;
    EXPECT_EQ(field(rest.json(), "code"), "INVALID_PARAMETER") << rest.body;
    // The newest seq itself is a cursor with nothing after it yet.
    EXPECT_EQ(
        http(port(), "GET", "/api/v1/events?account_id=ACC2&since_seq=" + std::to_string(last))
            .status,
        200);
}

// API.md "Streaming": an open position's unrealized P&L is pushed as the price moves (the venue's
// price walks every 50 ms here), at most once a second per position, each entry with the P&L
// exactly (last price - average price) x quantity.
TEST_F(Stream, AnOpenPositionsUnrealizedPnlIsPushedAsThePriceMovesAtMostOnceASecond) {
    StreamClient c(port());
    c.send(R"({"op":"subscribe","account_id":"ACC1","topics":["positions"]})");
    expect_message(c, "subscribed");
    const std::string id = place(market("ACC1", "7"));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (field(http(port(), "GET", "/api/v1/orders/" + id).json(), "status") != "FILLED" &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    // The fill's own entry first, then the price's, read for 4.5 s from now.
    std::vector<StreamMessage> got;
    const auto start = std::chrono::steady_clock::now();
    const auto until = start + std::chrono::milliseconds(4500);
    while (std::chrono::steady_clock::now() < until) {
        auto m = c.next(std::chrono::milliseconds(200));
        if (m && m->type() == "event") got.push_back(*m);
    }
    const auto read_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - start)
                             .count();
    std::set<std::string> pnls;
    int64_t prev = 0;
    size_t priced = 0;
    const StreamMessage* before = nullptr;  // the last priced entry
    auto dec = [](const StreamMessage& m, const char* k) {
        return Decimal::must_parse(field(m.json, std::string("data.") + k));
    };
    for (const StreamMessage& m : got) {
        EXPECT_EQ(field(m.json, "topic"), "positions") << m.text;
        EXPECT_EQ(field(m.json, "data.symbol"), "INFY") << m.text;
        EXPECT_GT(m.seq(), prev) << m.text;
        prev = m.seq();
        if (field(m.json, "data.last_price").empty()) continue;  // written before any price
        ++priced;
        pnls.insert(dec(m, "unrealized_pnl").to_string());
        // The same position at another price: the P&L moved by exactly the price's move times
        // the quantity (whatever rounding an average price shows).
        if (before && dec(*before, "quantity") == dec(m, "quantity") &&
            field(before->json, "data.average_price") == field(m.json, "data.average_price")) {
            EXPECT_EQ(dec(m, "unrealized_pnl") - dec(*before, "unrealized_pnl"),
                      (dec(m, "last_price") - dec(*before, "last_price")) * dec(m, "quantity"))
                << before->text << "\n"
                << m.text;
        }
        before = &m;
    }
    // Several P&L figures as the price moved; never more than one entry a second, plus the one
    // of a fill that commits during the read (none here) and the first pass's.
    EXPECT_GE(pnls.size(), size_t{2}) << got.size() << " entries";
    EXPECT_LE(priced, static_cast<size_t>(read_ms / 1000 + 2)) << got.size() << " entries";
}

// Browsers apply no CORS to a WebSocket, so the gateway checks the Origin a page's handshake
// carries: its own origin (the Host asked) and none at all (no browser) open the stream; any
// other page is refused before the upgrade (it was upgraded, and with auth off could read every
// account's orders).
TEST_F(Stream, APageOfAnotherOriginCannotOpenTheStream) {
    const std::string own = "http://127.0.0.1:" + std::to_string(port());
    EXPECT_EQ(stream_handshake(port(), {}).status, 101);
    EXPECT_EQ(stream_handshake(port(), {{"Origin", own}}).status, 101);
    EXPECT_EQ(
        stream_handshake(port(), {{"Origin", "HTTP://127.0.0.1:" + std::to_string(port())}}).status,
        101);
    for (const std::string& other : {std::string("http://evil.test"), std::string("null"),
                                     "https://127.0.0.1:" + std::to_string(port() + 1),
                                     "http://localhost:" + std::to_string(port())}) {
        auto r = stream_handshake(port(), {{"Origin", other}});
        EXPECT_EQ(r.status, 403) << other << " " << r.body;
        EXPECT_EQ(field(r.json(), "code"), "ORIGIN_NOT_ALLOWED") << other << " " << r.body;
    }
    // The refusal opened nothing: a client without an Origin still gets its events.
    StreamClient c(port());
    c.send("{\"op\":\"subscribe\",\"account_id\":\"ACC1\",\"topics\":[\"orders\"]}");
    expect_message(c, "subscribed");
}

TEST_F(Stream, APlainGetOfTheStreamRouteIsRefused) {
    EXPECT_EQ(http(port(), "GET", "/api/v1/stream").status, 400);
}

// The gateway with a small stream queue (stream.queue_limit) and a venue whose price stands still
// (every MARKET order fills at once, and no price move adds position events of its own).
std::string write_slow_config(const std::string& dir, int queue_limit) {
    const std::string path = dir + "/stream-slow.yaml";
    std::ofstream out(path);
    out << "http:\n  host: 127.0.0.1\n  port: ${PORT}\n  max_threads: 32\n"
           "  shutdown_grace_seconds: 2\n"
           "plugin_dirs:\n  - ${OG_PLUGIN_DIR}\n"
           "storage:\n  plugin: storage-sqlite\n  settings:\n    path: ${OG_DATA_DIR}/og.db\n"
           "brokers:\n  - name: paper\n    plugin: broker-paper\n    timeout_ms: 3000\n"
           "    settings:\n      seed: 7\n      accounts: \"ACC1\"\n"
           "      initial_cash: 100000000000\n      currency: INR\n      tick_ms: 0\n"
           "      prices:\n        INFY: 1500.00\n"
           "accounts:\n  - {id: ACC1, broker: paper}\n"
           "risk:\n  max_quantity: 100000\n  max_orders_per_second: 0\n"
           "stream:\n  queue_limit: "
        << queue_limit
        << "\n"
           "auth:\n  enabled: false\nlogging:\n  level: ${OG_LOG_LEVEL:-warn}\n";
    return path;
}

// Every event of `account` after `since` up to `until` as the REST log serves it, page by page.
std::vector<json::Value> rest_events(uint16_t port, const std::string& account, int64_t since,
                                     int64_t until) {
    std::vector<json::Value> out;
    while (since < until) {
        auto r = http(port, "GET",
                      "/api/v1/events?account_id=" + account +
                          "&limit=1000&since_seq=" + std::to_string(since));
        EXPECT_EQ(r.status, 200) << r.body;
        const json::Value doc = r.json();
        const json::Value* items = doc.find("items");
        if (r.status != 200 || !items || items->items().empty()) break;
        for (const auto& item : items->items()) {
            if (std::stoll(field(item, "seq")) > until) return out;
            out.push_back(item);
        }
        since = std::stoll(field(items->items().back(), "seq"));
    }
    return out;
}

// Whether the gateway's log has a line with `what` (its output is flushed line by line).
bool logged(const GatewayProcess& gw, const std::string& what) {
    std::ifstream in(gw.log_path());
    std::string line;
    while (std::getline(in, line))
        if (line.find(what) != std::string::npos) return true;
    return false;
}

// A client that subscribes and then never reads while orders are placed from several threads:
// once the kernel's buffers and then its queue are full, the gateway closes it with 4008; every
// order is answered 201 before and after; a client that keeps reading is not closed and misses
// nothing; the closed client resumes with since_seq and gets exactly the entries it did not
// receive. No timing is asserted: the order path never waiting for the stuck client shows as every
// order answered while it is stuck.
TEST(StreamSlowClient, IsClosedWith4008WhileEveryOrderIsAnsweredThenResumesWithSinceSeq) {
    constexpr int kQueueLimit = 300;
    constexpr int kThreads = 4;
    constexpr int kOrdersPerRound = 100;
    // What the kernel holds for a client that does not read (its receive buffer and the
    // gateway's send buffer, autotuned up to net.ipv4.tcp_wmem's maximum) comes before the
    // queue: orders are placed round after round until the gateway says it closed the client,
    // then one round more. The client reads right after: its writer gives a send up after the
    // gateway's send timeout (10 s), and the 4008 frame must not wait that long.
    constexpr int kMaxRounds = 200;
    GatewayOptions o;
    o.data_dir = make_temp_dir("og-stream-slow");
    o.config = write_slow_config(o.data_dir, kQueueLimit);
    o.env["OG_LOG_LEVEL"] = "info";  // event=stream_client_slow
    GatewayProcess gw(o);

    StreamClient slow(gw.port());
    slow.send(R"({"op":"subscribe","account_id":"ACC1"})");
    const int64_t slow_from =
        std::stoll(field(expect_message(slow, "subscribed").json, "last_seq"));

    StreamClient fast(gw.port());
    fast.send(R"({"op":"subscribe","account_id":"ACC1"})");
    const int64_t fast_from =
        std::stoll(field(expect_message(fast, "subscribed").json, "last_seq"));
    std::atomic<bool> placing_done{false};
    std::vector<int64_t> fast_seqs;
    int fast_close = 0;
    std::thread fast_reader([&] {
        // Reads until placing is over and nothing more arrives for a second (or it is closed).
        while (!fast.closed()) {
            auto m = fast.next(std::chrono::milliseconds(1000), &fast_close);
            if (m && m->type() == "event") fast_seqs.push_back(m->seq());
            if (!m && placing_done.load()) break;
        }
    });
    // Joined on every way out (an ASSERT returns early).
    struct Joiner {
        std::atomic<bool>& done;
        std::thread& t;
        ~Joiner() {
            done.store(true);
            if (t.joinable()) t.join();
        }
    } joiner{placing_done, fast_reader};

    int placed = 0;
    std::atomic<int> created{0};
    std::mutex failures_mu;
    std::vector<std::string> failures;
    auto place_round = [&] {
        std::vector<std::thread> placers;
        for (int t = 0; t < kThreads; ++t) {
            placers.emplace_back([&] {
                for (int i = 0; i < kOrdersPerRound / kThreads; ++i) {
                    HttpResult r;
                    try {
                        r = http(gw.port(), "POST", "/api/v1/orders", market("ACC1", "1"),
                                 json_headers());
                    } catch (const std::exception& e) {
                        r.body = e.what();
                    }
                    if (r.status == 201) {
                        created.fetch_add(1);
                    } else {
                        std::lock_guard lock(failures_mu);
                        failures.push_back(std::to_string(r.status) + " " + r.body);
                    }
                }
            });
        }
        for (auto& p : placers) p.join();
        placed += kOrdersPerRound;
    };
    int rounds_after_drop = -1;
    for (int round = 0; round < kMaxRounds && rounds_after_drop < 1; ++round) {
        place_round();
        if (rounds_after_drop >= 0)
            ++rounds_after_drop;
        else if (logged(gw, "event=stream_client_slow"))
            rounds_after_drop = 0;
    }
    placing_done.store(true);
    EXPECT_EQ(created.load(), placed)
        << failures.size() << " not 201, first: " << (failures.empty() ? "" : failures.front());
    ASSERT_GE(rounds_after_drop, 0) << "no client closed as slow after " << placed << " orders";

    // The slow client reads now: what the kernel held for it (a gapless run from where it
    // subscribed), then the close frame. The bound is generous: after seconds of a zero window
    // the gateway's TCP stack may resume sending only at its next (backed-off) probe.
    int close_code = 0;
    int64_t last = slow_from;
    size_t received = 0;
    const auto reading = std::chrono::steady_clock::now();
    while (!slow.closed()) {
        auto m = slow.next(std::chrono::seconds(60), &close_code);
        if (!m) break;
        if (m->type() != "event") continue;
        ASSERT_EQ(m->seq(), last + 1) << m->text;
        last = m->seq();
        ++received;
    }
    ASSERT_TRUE(slow.closed()) << "the slow client was not closed; it received " << received;
    EXPECT_EQ(close_code, 4008);
    // The connection's kernel send buffer is bounded (stream.send_buffer_bytes, 64 KiB): what
    // a stuck client is sent before the queue starts to count is a few hundred entries (this
    // client's own receive buffer included), not the thousands an autotuned buffer of megabytes
    // held (7,607 entries before the bound).
    EXPECT_LT(received, static_cast<size_t>(kQueueLimit) + 2000) << "entries before 4008";
    const auto read_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - reading)
                             .count();

    fast_reader.join();
    EXPECT_FALSE(fast.closed()) << "a client that kept reading was closed with " << fast_close;
    ASSERT_FALSE(fast_seqs.empty());
    for (size_t i = 0; i < fast_seqs.size(); ++i)
        ASSERT_EQ(fast_seqs[i], fast_from + 1 + static_cast<int64_t>(i)) << "at " << i;
    EXPECT_GT(fast_seqs.back(), last);

    // Resuming from the last entry it got: exactly the rest of the log, as REST serves it.
    StreamClient again(gw.port());
    again.send(R"({"op":"subscribe","account_id":"ACC1","since_seq":)" + std::to_string(last) +
               "}");
    const int64_t until = std::stoll(field(expect_message(again, "subscribed").json, "last_seq"));
    ASSERT_GT(until, last);
    const std::vector<json::Value> missed = rest_events(gw.port(), "ACC1", last, until);
    ASSERT_EQ(missed.size(), static_cast<size_t>(until - last));
    for (const json::Value& want : missed) {
        auto m = again.next(std::chrono::seconds(10));
        ASSERT_TRUE(m.has_value()) << "nothing after seq " << last;
        ASSERT_EQ(m->type(), "event") << m->text;
        ASSERT_EQ(m->seq(), std::stoll(field(want, "seq"))) << m->text;
        EXPECT_EQ(field(m->json, "topic"), field(want, "topic")) << m->text;
        EXPECT_EQ(field(m->json, "data.id"), field(want, "data.id")) << m->text;
        EXPECT_EQ(field(m->json, "data.status"), field(want, "data.status")) << m->text;
        last = m->seq();
    }
    EXPECT_FALSE(again.closed());
    std::cout << placed << " orders; slow client: " << received << " entries before 4008 (read in "
              << read_ms << " ms), " << missed.size()
              << " replayed; reading client: " << fast_seqs.size() << " entries\n";
}

}  // namespace
}  // namespace ordergate::testing
