// The WebSocket stream end to end (API.md "Streaming"): the real gateway on SQLite with the
// paper broker, a Poco::Net::WebSocket client.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "gateway_process.hpp"
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

TEST_F(Stream, RestEventsRefuseAnUnknownAccountAndABadSinceSeq) {
    EXPECT_EQ(http(port(), "GET", "/api/v1/events?account_id=NOPE").status, 404);
    EXPECT_EQ(http(port(), "GET", "/api/v1/events?account_id=ACC1&since_seq=-1").status, 400);
    EXPECT_EQ(http(port(), "GET", "/api/v1/events").status, 400);
}

TEST_F(Stream, APlainGetOfTheStreamRouteIsRefused) {
    EXPECT_EQ(http(port(), "GET", "/api/v1/stream").status, 400);
}

}  // namespace
}  // namespace ordergate::testing
