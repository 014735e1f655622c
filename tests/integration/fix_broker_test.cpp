// broker-fix end to end: the real gateway binary loading broker-fix, trading over FIX 4.2 and 4.4
// with ordergate-fix-venue (a child process). The venue's dump is the oracle: what the gateway
// stored must be what the venue did.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "gateway_process.hpp"
#include "ordergate/decimal.hpp"
#include "venue_process.hpp"

namespace ordergate::testing {
namespace {

using fixtest::VenueProcess;

struct Version {
    const char* begin_string;
    const char* comp_id;
};

class FixBroker : public ::testing::TestWithParam<Version> {
  protected:
    void SetUp() override { start(); }

    // The venue, then the gateway whose FIX session logs on to it.
    void start(std::vector<std::string> venue_args = {}) {
        dir_ = make_temp_dir("og-fix-it");
        std::vector<std::string> args = {"--session",       std::string("FIX.4.4:GW44"),
                                         "--session",       std::string("FIX.4.2:GW42"),
                                         "--price",         "ACME=100.00",
                                         "--symbol",        "WIDGET",
                                         "--no-message-log"};
        args.insert(args.end(), venue_args.begin(), venue_args.end());
        venue_ = std::make_unique<VenueProcess>(dir_ + "/venue", args);
        start_gateway();
    }
    void start_gateway() {
        GatewayOptions o;
        o.config = source_dir() + "/tests/integration/fix_broker.yaml";
        o.env = {{"FIX_PORT", std::to_string(venue_->port())},
                 {"FIX_BEGIN_STRING", GetParam().begin_string},
                 {"FIX_SENDER_COMP_ID", GetParam().comp_id},
                 {"OG_LOG_LEVEL", "info"}};  // event=recovered, event=fix_logon
        for (const auto& [k, v] : extra_env_) o.env[k] = v;
        if (!gw_data_.empty()) o.data_dir = gw_data_;
        gw_ = std::make_unique<GatewayProcess>(o);
        gw_data_ = gw_->data_dir();
        wait_logged_on();
    }
    // The venue restarted (its book empty), and the gateway trading with it again. The venue
    // marks the session logged on when it answers the Logon; the plugin takes orders only after
    // its catch-up that follows, which the host logs as the broker connected once more.
    void restart_venue() {
        const size_t before = broker_connected_lines();
        venue_->restart();
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
        while (broker_connected_lines() == before && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        ASSERT_GT(broker_connected_lines(), before)
            << "the gateway never took the FIX session as up again\n"
            << gw_->log();
        wait_logged_on();
    }
    size_t broker_connected_lines() const {
        std::ifstream in(gw_->log_path());
        size_t n = 0;
        for (std::string line; std::getline(in, line);)
            if (line.find("event=broker_connected broker=fix ") != std::string::npos) ++n;
        return n;
    }
    void wait_logged_on() {
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
        while (std::chrono::steady_clock::now() < until) {
            const std::string s = venue_->control("sessions");
            const std::string needle = std::string(GetParam().comp_id) + "\",\"logged_on\":true";
            if (s.find(needle) != std::string::npos) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        FAIL() << "the FIX session never logged on: " << venue_->control("sessions") << "\n"
               << gw_->log();
    }

    HttpResult place(const std::string& body) {
        return http(gw_->port(), "POST", "/api/v1/orders", body, json_headers());
    }
    static std::string order(const std::string& side, const std::string& qty,
                             const std::string& type, const std::string& price = "",
                             const std::string& symbol = "ACME") {
        std::string b = "{\"account_id\":\"ACC1\",\"symbol\":\"" + symbol +
                        "\",\"exchange\":\"X\",\"side\":\"" + side + "\",\"quantity\":\"" + qty +
                        "\",\"order_type\":\"" + type + "\"";
        if (!price.empty()) b += ",\"price\":\"" + price + "\"";
        return b + "}";
    }
    json::Value get_order(const std::string& id) { return gw_->get("/api/v1/orders/" + id).json(); }
    // Polls (bounded: 15 s) until the order's `path` field is `want`; returns the last value.
    std::string wait_field(const std::string& id, const std::string& path,
                           const std::string& want) {
        std::string seen;
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
        while (std::chrono::steady_clock::now() < until) {
            seen = field(get_order(id), path);
            if (seen == want) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return seen;
    }
    json::Value dump() {
        std::string line = venue_->control("dump");
        EXPECT_EQ(line.rfind("OK ", 0), 0u) << line;
        json::Value v;
        std::string why;
        EXPECT_TRUE(json::parse(line.substr(3), &v, &why)) << why;
        return v;
    }
    // The venue's order whose ClOrdID chain starts with `cid`.
    json::Value venue_order(const std::string& cid) {
        json::Value d = dump();
        const json::Value* orders = d.find("orders");
        if (orders)
            for (const auto& o : orders->items()) {
                const json::Value* ids = o.find("cl_ord_ids");
                if (ids && !ids->items().empty() && ids->items().front().text() == cid) return o;
            }
        ADD_FAILURE() << "the venue has no order " << cid;
        return json::Value();
    }
    int new_order_messages() {
        json::Value d = dump();
        std::string key = std::string(GetParam().begin_string) + ":VENUE->" + GetParam().comp_id;
        const json::Value* counts = d.find("new_order_messages");
        const json::Value* n = counts ? counts->find(key) : nullptr;
        return n ? std::stoi(n->text()) : 0;
    }
    // Trades of the order at the gateway: count and summed quantity as text pairs.
    std::vector<std::pair<std::string, std::string>> trades(const std::string& id) {
        auto r = gw_->get("/api/v1/trades?order_id=" + id);
        std::vector<std::pair<std::string, std::string>> out;
        const json::Value doc = r.json();  // kept: items point into it
        if (const json::Value* items = doc.find("items"))
            for (const auto& t : items->items())
                out.emplace_back(field(t, "broker_trade_id"), field(t, "quantity"));
        return out;
    }

    // The venue's orders of this session's emulated replaces (ClOrdID chains that start with a
    // new order "<request id>.n"), oldest first.
    std::vector<json::Value> venue_legs() {
        std::vector<json::Value> out;
        json::Value d = dump();
        if (const json::Value* orders = d.find("orders"))
            for (const auto& o : orders->items()) {
                const json::Value* ids = o.find("cl_ord_ids");
                if (!ids || ids->items().empty()) continue;
                const std::string first = ids->items().front().text();
                if (first.size() > 2 && first.compare(first.size() - 2, 2, ".n") == 0)
                    out.push_back(o);
            }
        return out;
    }
    // The gateway again, trading with a venue that has no OrderCancelReplaceRequest
    // (`replace: cancel_new` against the simulator's `no-replace` profile).
    void restart_without_native_replace() {
        ASSERT_EQ(gw_->stop(), 0);
        gw_.reset();
        ASSERT_EQ(venue_->control(std::string("profile ") + GetParam().comp_id + " no-replace on"),
                  "OK");
        extra_env_["FIX_REPLACE"] = "cancel_new";
        start_gateway();
    }

    std::string dir_, gw_data_;
    std::map<std::string, std::string> extra_env_;  // for the next start_gateway()
    std::unique_ptr<VenueProcess> venue_;
    std::unique_ptr<GatewayProcess> gw_;
};

// A marketable limit (the gateway's risk check wants a reference price for a MARKET order):
// it trades with the venue's provider at 100.00.
TEST_P(FixBroker, MarketableOrderIsAcknowledgedAndFilledAsTheVenueSays) {
    auto r = place(order("BUY", "10", "LIMIT", "101.00"));
    ASSERT_TRUE(r.status == 201 || r.status == 202) << r.body;
    const std::string id = field(r.json(), "id");
    const std::string cid = field(r.json(), "client_order_id");
    EXPECT_EQ(wait_field(id, "status", "FILLED"), "FILLED") << gw_->log();
    json::Value g = get_order(id);
    json::Value v = venue_order(cid);
    EXPECT_EQ(field(g, "broker_order_id"), field(v, "order_id"));
    EXPECT_EQ(field(g, "filled_quantity"), field(v, "cum_qty"));
    EXPECT_EQ(field(v, "cum_qty"), "10");
    EXPECT_EQ(field(g, "average_fill_price"), "100.00");
    auto t = trades(id);
    ASSERT_EQ(t.size(), 1u);
    EXPECT_EQ(t[0].second, "10");
    EXPECT_EQ(new_order_messages(), 1);
}

// A FIX session reports no account state (no cash, no buying power): the accounts are listed
// as configured, with the broker's figures null and `reported` false, rather than the whole list
// refused (it answered 422 UNSUPPORTED_BY_BROKER, so a UI could not even list its accounts).
TEST_P(FixBroker, AccountsAreListedAsConfiguredWithTheFiguresTheVenueKeepsNull) {
    auto list = gw_->get("/api/v1/accounts");
    ASSERT_EQ(list.status, 200) << list.body;
    EXPECT_EQ(list.body,
              "{\"items\":[{\"account_id\":\"ACC1\",\"broker\":\"fix\",\"currency\":\"USD\","
              "\"cash\":null,\"buying_power\":null,\"equity\":null,\"margin_used\":null,"
              "\"status\":null,\"updated_at\":null,\"reported\":false},"
              "{\"account_id\":\"ACC2\",\"broker\":\"fix\",\"currency\":null,"
              "\"cash\":null,\"buying_power\":null,\"equity\":null,\"margin_used\":null,"
              "\"status\":null,\"updated_at\":null,\"reported\":false}],\"next_cursor\":null}");
    auto one = gw_->get("/api/v1/accounts/ACC2");
    ASSERT_EQ(one.status, 200) << one.body;
    EXPECT_EQ(field(one.json(), "reported"), "false");
    EXPECT_EQ(field(one.json(), "cash"), "null");
    EXPECT_EQ(gw_->get("/api/v1/accounts/ACC9").status, 404);
    // Nor does it quote or push prices: a quote says so.
    auto q = gw_->get("/api/v1/quote?account_id=ACC1&symbol=ACME&exchange=X");
    EXPECT_EQ(q.status, 422) << q.body;
    EXPECT_EQ(field(q.json(), "code"), "UNSUPPORTED_BY_BROKER") << q.body;
}

TEST_P(FixBroker, LimitOrderRestsOpenThenFillsPartially) {
    auto r = place(order("BUY", "10", "LIMIT", "90.00"));
    ASSERT_TRUE(r.status == 201 || r.status == 202) << r.body;
    const std::string id = field(r.json(), "id");
    const std::string cid = field(r.json(), "client_order_id");
    EXPECT_EQ(wait_field(id, "status", "OPEN"), "OPEN");
    EXPECT_EQ(venue_->control("fill " + cid + " 4"), "OK");
    EXPECT_EQ(wait_field(id, "status", "PARTIALLY_FILLED"), "PARTIALLY_FILLED");
    EXPECT_EQ(wait_field(id, "filled_quantity", "4"), "4");
    EXPECT_EQ(field(venue_order(cid), "cum_qty"), "4");
    EXPECT_EQ(trades(id).size(), 1u);
}

TEST_P(FixBroker, VenueRejectIsARejectedOrder) {
    auto r = place(order("BUY", "10", "LIMIT", "90.00", "NOPE"));
    ASSERT_TRUE(r.status == 422 || r.status == 202) << r.body;
    const std::string id = field(r.json(), "id");
    if (r.status == 202)
        EXPECT_EQ(wait_field(id, "status", "REJECTED"), "REJECTED");
    else
        EXPECT_EQ(field(r.json(), "code"), "BROKER_REJECTED") << r.body;
}

TEST_P(FixBroker, CancelOfARestingOrder) {
    auto r = place(order("BUY", "10", "LIMIT", "90.00"));
    ASSERT_TRUE(r.status == 201 || r.status == 202) << r.body;
    const std::string id = field(r.json(), "id");
    const std::string cid = field(r.json(), "client_order_id");
    ASSERT_EQ(wait_field(id, "status", "OPEN"), "OPEN");
    auto c = http(gw_->port(), "DELETE", "/api/v1/orders/" + id, "", json_headers());
    ASSERT_TRUE(c.status == 200 || c.status == 202) << c.body;
    EXPECT_EQ(wait_field(id, "status", "CANCELLED"), "CANCELLED") << gw_->log();
    json::Value v = venue_order(cid);
    EXPECT_EQ(field(v, "ord_status"), "4");
    // The cancel went out with its own ClOrdID (the host's request id), OrigClOrdID the order's.
    EXPECT_EQ(field(v, "cl_ord_ids").find(cid), 2u) << field(v, "cl_ord_ids");
}

TEST_P(FixBroker, ReplaceChangesPriceAndQuantityAtTheVenue) {
    auto r = place(order("BUY", "10", "LIMIT", "90.00"));
    ASSERT_TRUE(r.status == 201 || r.status == 202) << r.body;
    const std::string id = field(r.json(), "id");
    const std::string cid = field(r.json(), "client_order_id");
    ASSERT_EQ(wait_field(id, "status", "OPEN"), "OPEN");
    auto m = http(gw_->port(), "PUT", "/api/v1/orders/" + id,
                  "{\"price\":\"95.00\",\"quantity\":\"8\"}", json_headers());
    ASSERT_TRUE(m.status == 200 || m.status == 202) << m.body;
    EXPECT_EQ(wait_field(id, "price", "95.00"), "95.00") << gw_->log();
    EXPECT_EQ(wait_field(id, "status", "OPEN"), "OPEN");
    EXPECT_EQ(field(get_order(id), "quantity"), "8");
    json::Value v = venue_order(cid);
    EXPECT_EQ(field(v, "price"), "95.00");
    EXPECT_EQ(field(v, "order_qty"), "8");
    // A second replace names the first one's ClOrdID as OrigClOrdID: the venue accepts it.
    auto m2 =
        http(gw_->port(), "PUT", "/api/v1/orders/" + id, "{\"price\":\"96.00\"}", json_headers());
    ASSERT_TRUE(m2.status == 200 || m2.status == 202) << m2.body;
    EXPECT_EQ(wait_field(id, "price", "96.00"), "96.00") << gw_->log();
    EXPECT_EQ(field(venue_order(cid), "price"), "96.00");
    // Then a fill under the latest ClOrdID reaches the order.
    EXPECT_EQ(venue_->control("fill " + cid + " 8"), "OK");
    EXPECT_EQ(wait_field(id, "status", "FILLED"), "FILLED");
    EXPECT_EQ(field(get_order(id), "filled_quantity"), "8");
}

// The venue forgot the order (a restart empties its book): its OrderCancelReject returns the
// order to its last confirmed state, with the venue's text in the event.
TEST_P(FixBroker, CancelRejectRestoresTheOrder) {
    auto r = place(order("BUY", "10", "LIMIT", "90.00"));
    ASSERT_TRUE(r.status == 201 || r.status == 202) << r.body;
    const std::string id = field(r.json(), "id");
    ASSERT_EQ(wait_field(id, "status", "OPEN"), "OPEN");
    restart_venue();
    auto c = http(gw_->port(), "DELETE", "/api/v1/orders/" + id, "", json_headers());
    EXPECT_EQ(wait_field(id, "status", "OPEN"), "OPEN") << c.body << gw_->log();
    auto ev = gw_->get("/api/v1/orders/" + id + "/events").body;
    EXPECT_NE(ev.find("refused"), std::string::npos) << c.status << " " << c.body << "\n" << ev;
    EXPECT_NE(ev.find("unknown order"), std::string::npos) << ev;
}

// A fill while a replace is held at the venue arrives under the old ClOrdID (OrdStatus
// PendingReplace): counted once, and the replace then confirmed with the fill kept.
TEST_P(FixBroker, FillDuringPendingReplace) {
    auto r = place(order("BUY", "10", "LIMIT", "90.00"));
    ASSERT_TRUE(r.status == 201 || r.status == 202) << r.body;
    const std::string id = field(r.json(), "id");
    const std::string cid = field(r.json(), "client_order_id");
    ASSERT_EQ(wait_field(id, "status", "OPEN"), "OPEN");
    ASSERT_EQ(venue_->control(std::string("profile ") + GetParam().comp_id + " hold on"), "OK");
    auto m =
        http(gw_->port(), "PUT", "/api/v1/orders/" + id, "{\"price\":\"91.00\"}", json_headers());
    ASSERT_TRUE(m.status == 200 || m.status == 202) << m.body;
    EXPECT_EQ(field(m.json(), "status"), "PENDING_REPLACE") << m.body;
    EXPECT_EQ(venue_->control("fill " + cid + " 3"), "OK");
    EXPECT_EQ(wait_field(id, "filled_quantity", "3"), "3") << gw_->log();
    EXPECT_EQ(venue_->control(std::string("release ") + GetParam().comp_id), "OK");
    EXPECT_EQ(wait_field(id, "price", "91.00"), "91.00") << gw_->log();
    EXPECT_EQ(wait_field(id, "status", "PARTIALLY_FILLED"), "PARTIALLY_FILLED");
    EXPECT_EQ(field(get_order(id), "filled_quantity"), "3");
    EXPECT_EQ(trades(id).size(), 1u);
    EXPECT_EQ(field(venue_order(cid), "cum_qty"), "3");
}

// Nothing is sent, nor queued for later, while the session is down.
TEST_P(FixBroker, PlaceWhileLoggedOutIs503AndNothingIsSent) {
    ASSERT_EQ(venue_->stop(), 0);
    auto r = place(order("BUY", "10", "LIMIT", "90.00"));
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_EQ(field(r.json(), "code"), "BROKER_UNAVAILABLE") << r.body;
    restart_venue();
    auto r2 = place(order("BUY", "10", "LIMIT", "90.00"));
    ASSERT_TRUE(r2.status == 201 || r2.status == 202) << r2.body;
    EXPECT_EQ(wait_field(field(r2.json(), "id"), "status", "OPEN"), "OPEN");
    // The venue's store is reloaded: the first order was never among its messages.
    EXPECT_EQ(new_order_messages(), 1);
}

// The venue accepted the order, its ack never came and the line dropped: 202 PENDING_NEW, then
// reconciliation (mass status on 4.4, a status request on 4.2) settles it after logon, on its
// own: the connection coming back asks for a run ("reconnect"), and the order, still within the
// grace period then, is judged by a run as soon as that has passed — well before the periodic
// run (60 s here; the silent-stream trigger is off). The order is never sent twice.
TEST_P(FixBroker, SessionDropAfterSendIsSettledByReconciliation) {
    ASSERT_EQ(venue_->control(std::string("drop ") + GetParam().comp_id + " 1"), "OK");
    auto r = place(order("BUY", "10", "LIMIT", "90.00"));
    ASSERT_EQ(r.status, 202) << r.body;
    EXPECT_EQ(field(r.json(), "status"), "PENDING_NEW");
    const std::string id = field(r.json(), "id");
    const std::string cid = field(r.json(), "client_order_id");
    ASSERT_EQ(venue_->control(std::string("disconnect ") + GetParam().comp_id), "OK");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    wait_logged_on();
    EXPECT_EQ(wait_field(id, "status", "OPEN"), "OPEN") << gw_->log();
    auto runs = gw_->get("/api/v1/reconciliation?broker=fix");
    EXPECT_NE(runs.body.find("\"trigger\":\"reconnect\""), std::string::npos) << runs.body;
    json::Value g = get_order(id);
    EXPECT_EQ(field(g, "broker_order_id"), field(venue_order(cid), "order_id"));
    EXPECT_EQ(new_order_messages(), 1);
}

// The line drops just before the ack; the venue resends it (PossDupFlag) after the logon.
TEST_P(FixBroker, AckResentAfterReconnectSettlesTheOrder) {
    ASSERT_EQ(venue_->control(std::string("cut ") + GetParam().comp_id + " 1"), "OK");
    auto r = place(order("BUY", "10", "LIMIT", "90.00"));
    ASSERT_TRUE(r.status == 201 || r.status == 202) << r.body;
    const std::string id = field(r.json(), "id");
    EXPECT_EQ(wait_field(id, "status", "OPEN"), "OPEN") << gw_->log();
    EXPECT_EQ(new_order_messages(), 1);
}

// A fill delivered twice (the second with PossDupFlag, same ExecID) is counted once.
TEST_P(FixBroker, DuplicateExecutionReportIsNotCountedTwice) {
    auto r = place(order("BUY", "10", "LIMIT", "90.00"));
    ASSERT_TRUE(r.status == 201 || r.status == 202) << r.body;
    const std::string id = field(r.json(), "id");
    const std::string cid = field(r.json(), "client_order_id");
    ASSERT_EQ(wait_field(id, "status", "OPEN"), "OPEN");
    ASSERT_EQ(venue_->control(std::string("dup ") + GetParam().comp_id + " 1"), "OK");
    ASSERT_EQ(venue_->control("fill " + cid + " 4"), "OK");
    EXPECT_EQ(wait_field(id, "filled_quantity", "4"), "4");
    ASSERT_EQ(venue_->control("fill " + cid + " 1"), "OK");  // a later report: the dup is behind us
    EXPECT_EQ(wait_field(id, "filled_quantity", "5"), "5");
    EXPECT_EQ(trades(id).size(), 2u);
    EXPECT_EQ(field(venue_order(cid), "cum_qty"), "5");
}

// ---- busts and corrections (ABI 1.5): 4.4 ExecType H/G, 4.2 ExecTransType 1/2, with ExecRefID -----

// A bust of one fill of a FILLED order takes it back everywhere: the order (PARTIALLY_FILLED,
// its filled quantity and average as the venue's CumQty/AvgPx say), the trades (the bust is its
// own entry), the position, and the event log. Never read as another fill.
TEST_P(FixBroker, BustOfAFillTakesItBackAsTheVenueDoes) {
    auto r = place(order("BUY", "10", "LIMIT", "90.00"));
    ASSERT_TRUE(r.status == 201 || r.status == 202) << r.body;
    const std::string id = field(r.json(), "id");
    const std::string cid = field(r.json(), "client_order_id");
    ASSERT_EQ(wait_field(id, "status", "OPEN"), "OPEN");
    ASSERT_EQ(venue_->control("fill " + cid + " 4 89.00"), "OK");
    ASSERT_EQ(wait_field(id, "filled_quantity", "4"), "4");
    ASSERT_EQ(venue_->control("fill " + cid + " 6 90.00"), "OK");
    ASSERT_EQ(wait_field(id, "status", "FILLED"), "FILLED") << gw_->log();
    auto t = trades(id);
    ASSERT_EQ(t.size(), 2u);
    const std::string busted = t[0].second == "6" ? t[0].first : t[1].first;
    ASSERT_EQ(venue_->control("bust " + busted), "OK");
    EXPECT_EQ(wait_field(id, "status", "PARTIALLY_FILLED"), "PARTIALLY_FILLED") << gw_->log();
    json::Value g = get_order(id);
    json::Value v = venue_order(cid);
    EXPECT_EQ(field(v, "cum_qty"), "4");
    EXPECT_EQ(field(v, "ord_status"), "1");
    EXPECT_EQ(field(g, "filled_quantity"), field(v, "cum_qty"));
    EXPECT_EQ(field(g, "average_fill_price"), "89.00");
    // The venue's executions: the trade busted, and the bust's own ExecID is the gateway's
    // bust entry.
    const json::Value doc = gw_->get("/api/v1/trades?order_id=" + id).json();
    const auto& items = doc.find("items")->items();
    ASSERT_EQ(items.size(), 3u) << gw_->get("/api/v1/trades?order_id=" + id).body;
    int busts = 0;
    std::string bust_exec_id;
    for (const auto& e : items)
        if (field(e, "kind") == "BUST") {
            ++busts;
            bust_exec_id = field(e, "broker_trade_id");
            EXPECT_EQ(field(e, "ref_trade_id"), busted);
            EXPECT_EQ(field(e, "quantity"), "6");
        }
    EXPECT_EQ(busts, 1);
    const json::Value* exec_ids = v.find("exec_ids");
    ASSERT_NE(exec_ids, nullptr);
    bool venue_sent_it = false;
    for (const auto& x : exec_ids->items()) venue_sent_it = venue_sent_it || x.text() == bust_exec_id;
    EXPECT_TRUE(venue_sent_it) << bust_exec_id;
    json::Value pos = gw_->get("/api/v1/positions?account_id=ACC1").json();
    ASSERT_EQ(pos.find("items")->items().size(), 1u);
    EXPECT_EQ(field(pos.find("items")->items()[0], "quantity"), "4");
    EXPECT_EQ(field(pos.find("items")->items()[0], "average_price"), "89.00");
    const std::string events = gw_->get("/api/v1/events?account_id=ACC1&limit=500").body;
    EXPECT_NE(events.find("BUST"), std::string::npos) << events;
    // A later fill counts on the order again.
    ASSERT_EQ(venue_->control("fill " + cid + " 1"), "OK");
    EXPECT_EQ(wait_field(id, "filled_quantity", "5"), "5") << gw_->log();
    EXPECT_EQ(field(venue_order(cid), "cum_qty"), "5");
}

// A correction replaces the execution's quantity and price at the gateway as at the venue.
// A busted fill stays taken back: a reconciliation run (which asks the venue for the order:
// CumQty without the busted trade) and a restart (which rebuilds positions from the stored
// fills and busts) agree with the venue, and neither brings the trade back.
TEST_P(FixBroker, ReconciliationAndARestartLeaveABustedFillTakenBack) {
    auto r = place(order("BUY", "10", "LIMIT", "90.00"));
    ASSERT_TRUE(r.status == 201 || r.status == 202) << r.body;
    const std::string id = field(r.json(), "id");
    const std::string cid = field(r.json(), "client_order_id");
    ASSERT_EQ(wait_field(id, "status", "OPEN"), "OPEN");
    ASSERT_EQ(venue_->control("fill " + cid + " 4 89.00"), "OK");
    ASSERT_EQ(wait_field(id, "filled_quantity", "4"), "4");
    ASSERT_EQ(venue_->control("fill " + cid + " 6 90.00"), "OK");
    ASSERT_EQ(wait_field(id, "status", "FILLED"), "FILLED") << gw_->log();
    auto t = trades(id);
    ASSERT_EQ(t.size(), 2u);
    const std::string busted = t[0].second == "6" ? t[0].first : t[1].first;
    ASSERT_EQ(venue_->control("bust " + busted), "OK");
    ASSERT_EQ(wait_field(id, "status", "PARTIALLY_FILLED"), "PARTIALLY_FILLED") << gw_->log();

    auto expect_as_the_venue = [&](const char* when) {
        SCOPED_TRACE(when);
        json::Value g = get_order(id);
        json::Value v = venue_order(cid);
        EXPECT_EQ(field(v, "cum_qty"), "4");
        EXPECT_EQ(field(g, "filled_quantity"), field(v, "cum_qty"));
        EXPECT_EQ(field(g, "status"), "PARTIALLY_FILLED");
        EXPECT_EQ(field(g, "average_fill_price"), "89.00");
        EXPECT_EQ(trades(id).size(), 3u);  // the two trades and the bust, each once
        json::Value pos = gw_->get("/api/v1/positions?account_id=ACC1").json();
        ASSERT_EQ(pos.find("items")->items().size(), 1u);
        EXPECT_EQ(field(pos.find("items")->items()[0], "quantity"), "4");
        EXPECT_EQ(field(pos.find("items")->items()[0], "average_price"), "89.00");
    };
    // Past the grace period, so the run compares the order with the venue's answer.
    std::this_thread::sleep_for(std::chrono::milliseconds(3200));
    auto asked = http(gw_->port(), "POST", "/api/v1/reconciliation/run", "{\"broker\":\"fix\"}",
                      json_headers());
    ASSERT_EQ(asked.status, 202) << asked.body;
    const std::string run_id = field(asked.json().find("runs")->items()[0], "id");
    std::string run;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < until) {
        run = gw_->get("/api/v1/reconciliation?limit=1").body;
        if (run.find("\"id\":\"" + run_id + "\",\"broker\":\"fix\",\"status\":\"OK\"") !=
            std::string::npos)
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_NE(run.find("\"id\":\"" + run_id + "\",\"broker\":\"fix\",\"status\":\"OK\""),
              std::string::npos)
        << run << gw_->log();
    expect_as_the_venue("after a reconciliation run");
    ASSERT_EQ(gw_->stop(), 0);
    gw_.reset();
    start_gateway();
    expect_as_the_venue("after a restart");
}

TEST_P(FixBroker, CorrectionReplacesQuantityAndPriceAsTheVenueDoes) {
    auto r = place(order("BUY", "10", "LIMIT", "90.00"));
    ASSERT_TRUE(r.status == 201 || r.status == 202) << r.body;
    const std::string id = field(r.json(), "id");
    const std::string cid = field(r.json(), "client_order_id");
    ASSERT_EQ(wait_field(id, "status", "OPEN"), "OPEN");
    ASSERT_EQ(venue_->control("fill " + cid + " 4"), "OK");
    ASSERT_EQ(wait_field(id, "filled_quantity", "4"), "4");
    auto t = trades(id);
    ASSERT_EQ(t.size(), 1u);
    ASSERT_EQ(venue_->control("correct " + t[0].first + " 3 89.50"), "OK");
    EXPECT_EQ(wait_field(id, "filled_quantity", "3"), "3") << gw_->log();
    json::Value v = venue_order(cid);
    EXPECT_EQ(field(v, "cum_qty"), "3");
    EXPECT_EQ(field(get_order(id), "average_fill_price"), "89.50");
    EXPECT_EQ(field(get_order(id), "status"), "PARTIALLY_FILLED");
    auto after = trades(id);
    ASSERT_EQ(after.size(), 2u);
    json::Value pos = gw_->get("/api/v1/positions?account_id=ACC1").json();
    ASSERT_EQ(pos.find("items")->items().size(), 1u);
    EXPECT_EQ(field(pos.find("items")->items()[0], "quantity"), "3");
    EXPECT_EQ(field(pos.find("items")->items()[0], "average_price"), "89.50");
}

// A bust delivered twice (the second with PossDupFlag, same ExecID) is applied once.
TEST_P(FixBroker, DuplicateBustIsAppliedOnce) {
    auto r = place(order("BUY", "10", "LIMIT", "90.00"));
    ASSERT_TRUE(r.status == 201 || r.status == 202) << r.body;
    const std::string id = field(r.json(), "id");
    const std::string cid = field(r.json(), "client_order_id");
    ASSERT_EQ(wait_field(id, "status", "OPEN"), "OPEN");
    ASSERT_EQ(venue_->control("fill " + cid + " 4"), "OK");
    ASSERT_EQ(wait_field(id, "filled_quantity", "4"), "4");
    ASSERT_EQ(venue_->control("fill " + cid + " 2"), "OK");
    ASSERT_EQ(wait_field(id, "filled_quantity", "6"), "6");
    auto t = trades(id);
    ASSERT_EQ(t.size(), 2u);
    const std::string busted = t[0].second == "4" ? t[0].first : t[1].first;
    ASSERT_EQ(venue_->control(std::string("dup ") + GetParam().comp_id + " 1"), "OK");
    ASSERT_EQ(venue_->control("bust " + busted), "OK");
    EXPECT_EQ(wait_field(id, "filled_quantity", "2"), "2") << gw_->log();
    ASSERT_EQ(venue_->control("fill " + cid + " 1"), "OK");  // a later report: the dup is behind us
    EXPECT_EQ(wait_field(id, "filled_quantity", "3"), "3") << gw_->log();
    EXPECT_EQ(trades(id).size(), 4u);  // two trades, one bust, one trade
    EXPECT_EQ(field(venue_order(cid), "cum_qty"), "3");
    json::Value pos = gw_->get("/api/v1/positions?account_id=ACC1").json();
    EXPECT_EQ(field(pos.find("items")->items()[0], "quantity"), "3");
}

// A bust made while the gateway was down (killed) is applied after the restart.
TEST_P(FixBroker, BustWhileTheGatewayWasDownIsAppliedAfterTheRestart) {
    auto r = place(order("BUY", "10", "LIMIT", "90.00"));
    ASSERT_TRUE(r.status == 201 || r.status == 202) << r.body;
    const std::string id = field(r.json(), "id");
    const std::string cid = field(r.json(), "client_order_id");
    ASSERT_EQ(wait_field(id, "status", "OPEN"), "OPEN");
    ASSERT_EQ(venue_->control("fill " + cid + " 10"), "OK");
    ASSERT_EQ(wait_field(id, "status", "FILLED"), "FILLED");
    auto t = trades(id);
    ASSERT_EQ(t.size(), 1u);
    gw_->kill_hard();
    gw_.reset();
    ASSERT_EQ(venue_->control("bust " + t[0].first), "OK");
    start_gateway();
    EXPECT_EQ(wait_field(id, "filled_quantity", "0"), "0") << gw_->log();
    EXPECT_EQ(field(get_order(id), "status"), "OPEN");
    EXPECT_EQ(field(venue_order(cid), "cum_qty"), "0");
    EXPECT_EQ(trades(id).size(), 2u);
    json::Value pos = gw_->get("/api/v1/positions?account_id=ACC1").json();
    ASSERT_EQ(pos.find("items")->items().size(), 1u);
    EXPECT_EQ(field(pos.find("items")->items()[0], "quantity"), "0");
}

// Counterparties other than the simulator's default: one whose first report of a marketable
// order is its fill (no New ack).
TEST_P(FixBroker, VenueWithoutNewAckFillsTheOrder) {
    ASSERT_EQ(venue_->control(std::string("profile ") + GetParam().comp_id + " no-new-ack on"),
              "OK");
    auto r = place(order("BUY", "10", "LIMIT", "101.00"));
    ASSERT_TRUE(r.status == 201 || r.status == 202) << r.body;
    const std::string id = field(r.json(), "id");
    const std::string cid = field(r.json(), "client_order_id");
    EXPECT_EQ(wait_field(id, "status", "FILLED"), "FILLED") << gw_->log();
    EXPECT_EQ(field(get_order(id), "filled_quantity"), "10");
    EXPECT_EQ(field(get_order(id), "broker_order_id"), field(venue_order(cid), "order_id"));
}

// One that answers a cancel with the order's own ClOrdID and no OrigClOrdID.
TEST_P(FixBroker, VenueAnsweringCancelWithTheOrdersOwnClOrdId) {
    ASSERT_EQ(
        venue_->control(std::string("profile ") + GetParam().comp_id + " cancel-own-clordid on"),
        "OK");
    auto r = place(order("BUY", "10", "LIMIT", "90.00"));
    ASSERT_TRUE(r.status == 201 || r.status == 202) << r.body;
    const std::string id = field(r.json(), "id");
    ASSERT_EQ(wait_field(id, "status", "OPEN"), "OPEN");
    auto c = http(gw_->port(), "DELETE", "/api/v1/orders/" + id, "", json_headers());
    ASSERT_TRUE(c.status == 200 || c.status == 202) << c.body;
    EXPECT_EQ(wait_field(id, "status", "CANCELLED"), "CANCELLED") << gw_->log();
}

// One that never answers a cancel of an order it does not know (here: forgotten by a restart):
// the cancel is 202 PENDING_CANCEL, nothing hangs, and the session keeps trading.
TEST_P(FixBroker, VenueIgnoringAnUnknownCancel) {
    auto r = place(order("BUY", "10", "LIMIT", "90.00"));
    ASSERT_TRUE(r.status == 201 || r.status == 202) << r.body;
    const std::string id = field(r.json(), "id");
    ASSERT_EQ(wait_field(id, "status", "OPEN"), "OPEN");
    restart_venue();
    ASSERT_EQ(
        venue_->control(std::string("profile ") + GetParam().comp_id + " ignore-unknown-cancel on"),
        "OK");
    auto c = http(gw_->port(), "DELETE", "/api/v1/orders/" + id, "", json_headers());
    EXPECT_EQ(c.status, 202) << c.body;
    EXPECT_EQ(field(c.json(), "status"), "PENDING_CANCEL") << c.body;
    auto r2 = place(order("BUY", "10", "LIMIT", "101.00"));
    ASSERT_TRUE(r2.status == 201 || r2.status == 202) << r2.body;
    EXPECT_EQ(wait_field(field(r2.json(), "id"), "status", "FILLED"), "FILLED");
}

// A store whose sequence numbers cannot be read is a start-up error, never a session at 1.
TEST_P(FixBroker, DamagedStoreIsAStartUpError) {
    gw_->stop();
    const std::string store = gw_data_ + "/fix/store/" + GetParam().begin_string + "-" +
                              GetParam().comp_id + "-VENUE.seqnums";
    ASSERT_TRUE(std::filesystem::exists(store)) << store;
    std::filesystem::resize_file(store, 0);
    GatewayOptions o;
    o.config = source_dir() + "/tests/integration/fix_broker.yaml";
    o.env = {{"FIX_PORT", std::to_string(venue_->port())},
             {"FIX_BEGIN_STRING", GetParam().begin_string},
             {"FIX_SENDER_COMP_ID", GetParam().comp_id}};
    o.data_dir = gw_data_;
    o.expect_start = false;
    GatewayProcess bad(o);
    EXPECT_NE(bad.wait_exit(std::chrono::seconds(30)), 0);
    EXPECT_NE(bad.log().find("empty or damaged"), std::string::npos) << bad.log();
}

// The venue is the oracle: after fills, a partial fill, a cancel and a replace, every order, fill
// and position of the gateway is what the venue's dump says.
TEST_P(FixBroker, GatewayAgreesWithTheVenueDump) {
    std::vector<std::string> ids;
    auto placed = [&](const std::string& body) {
        auto r = place(body);
        EXPECT_TRUE(r.status == 201 || r.status == 202) << r.body;
        ids.push_back(field(r.json(), "id"));
        return std::make_pair(ids.back(), field(r.json(), "client_order_id"));
    };
    const std::string filled = placed(order("BUY", "10", "LIMIT", "101.00")).first;
    const auto [partial, partial_cid] = placed(order("BUY", "10", "LIMIT", "90.00"));
    const std::string cancelled = placed(order("SELL", "5", "LIMIT", "110.00")).first;
    const std::string replaced = placed(order("BUY", "3", "LIMIT", "95.00")).first;
    placed(order("SELL", "4", "LIMIT", "99.00"));  // trades with the provider at 100.00
    ASSERT_EQ(wait_field(partial, "status", "OPEN"), "OPEN");
    ASSERT_EQ(venue_->control("fill " + partial_cid + " 4"), "OK");
    auto c = http(gw_->port(), "DELETE", "/api/v1/orders/" + cancelled, "", json_headers());
    EXPECT_TRUE(c.status == 200 || c.status == 202) << c.body;
    auto m = http(gw_->port(), "PUT", "/api/v1/orders/" + replaced, "{\"price\":\"96.00\"}",
                  json_headers());
    EXPECT_TRUE(m.status == 200 || m.status == 202) << m.body;
    EXPECT_EQ(wait_field(cancelled, "status", "CANCELLED"), "CANCELLED");
    EXPECT_EQ(wait_field(replaced, "price", "96.00"), "96.00");
    EXPECT_EQ(wait_field(filled, "status", "FILLED"), "FILLED");

    const std::map<std::string, std::string> status_of = {
        {"0", "OPEN"},      {"1", "PARTIALLY_FILLED"}, {"2", "FILLED"},
        {"4", "CANCELLED"}, {"8", "REJECTED"},         {"C", "EXPIRED"}};
    Decimal net;  // ACME bought minus sold, at the venue
    json::Value d = dump();
    for (const std::string& id : ids) {
        json::Value g = get_order(id);
        const std::string cid = field(g, "client_order_id");
        json::Value v = venue_order(cid);
        SCOPED_TRACE(cid);
        // A report is on its way when the venue moved on: wait for the gateway to agree.
        EXPECT_EQ(wait_field(id, "filled_quantity", field(v, "cum_qty")), field(v, "cum_qty"));
        g = get_order(id);
        EXPECT_EQ(field(g, "status"), status_of.at(field(v, "ord_status")));
        EXPECT_EQ(field(g, "broker_order_id"), field(v, "order_id"));
        EXPECT_EQ(Decimal::must_parse(field(g, "quantity")),
                  Decimal::must_parse(field(v, "order_qty")));
        if (Decimal::must_parse(field(v, "cum_qty")).is_positive()) {
            EXPECT_EQ(Decimal::must_parse(field(g, "average_fill_price")),
                      Decimal::must_parse(field(v, "avg_px")));
        }
        Decimal traded;
        for (const auto& t : trades(id)) traded += Decimal::must_parse(t.second);
        EXPECT_EQ(traded, Decimal::must_parse(field(v, "cum_qty")));
        const Decimal cum = Decimal::must_parse(field(v, "cum_qty"));
        net += field(v, "side") == "1" ? cum : -cum;
    }
    auto p = gw_->get("/api/v1/positions?account_id=ACC1").json();
    Decimal gw_net;
    if (const json::Value* items = p.find("items"))
        for (const auto& i : items->items())
            if (field(i, "symbol") == "ACME") gw_net += Decimal::must_parse(field(i, "quantity"));
    EXPECT_EQ(gw_net, net) << gw_->get("/api/v1/positions?account_id=ACC1").body;
}

// A venue acknowledging a replace and a cancel as pending (150=E / 150=6) before the outcome.
TEST_P(FixBroker, PendingAcksBeforeTheOutcome) {
    ASSERT_EQ(venue_->control(std::string("profile ") + GetParam().comp_id + " pending-acks on"),
              "OK");
    auto r = place(order("BUY", "10", "LIMIT", "90.00"));
    ASSERT_TRUE(r.status == 201 || r.status == 202) << r.body;
    const std::string id = field(r.json(), "id");
    ASSERT_EQ(wait_field(id, "status", "OPEN"), "OPEN");
    auto m =
        http(gw_->port(), "PUT", "/api/v1/orders/" + id, "{\"price\":\"92.00\"}", json_headers());
    ASSERT_TRUE(m.status == 200 || m.status == 202) << m.body;
    EXPECT_EQ(wait_field(id, "price", "92.00"), "92.00") << gw_->log();
    EXPECT_EQ(wait_field(id, "status", "OPEN"), "OPEN");
    auto c = http(gw_->port(), "DELETE", "/api/v1/orders/" + id, "", json_headers());
    ASSERT_TRUE(c.status == 200 || c.status == 202) << c.body;
    EXPECT_EQ(wait_field(id, "status", "CANCELLED"), "CANCELLED") << gw_->log();
}

// After a restart the plugin has never seen the orders sent before it: a replace and a cancel
// of one still reach the venue (the plugin asks the venue for the order's terms first).
TEST_P(FixBroker, ReplaceAndCancelAnOrderSentBeforeARestart) {
    auto r = place(order("BUY", "10", "LIMIT", "90.00"));
    ASSERT_TRUE(r.status == 201 || r.status == 202) << r.body;
    const std::string id = field(r.json(), "id");
    const std::string cid = field(r.json(), "client_order_id");
    ASSERT_EQ(wait_field(id, "status", "OPEN"), "OPEN");
    ASSERT_EQ(gw_->stop(), 0);
    gw_.reset();
    start_gateway();
    auto m =
        http(gw_->port(), "PUT", "/api/v1/orders/" + id, "{\"price\":\"91.00\"}", json_headers());
    ASSERT_TRUE(m.status == 200 || m.status == 202) << m.body << gw_->log();
    EXPECT_EQ(wait_field(id, "price", "91.00"), "91.00") << gw_->log();
    EXPECT_EQ(field(venue_order(cid), "price"), "91.00");
    auto c = http(gw_->port(), "DELETE", "/api/v1/orders/" + id, "", json_headers());
    ASSERT_TRUE(c.status == 200 || c.status == 202) << c.body;
    EXPECT_EQ(wait_field(id, "status", "CANCELLED"), "CANCELLED") << gw_->log();
    EXPECT_EQ(field(venue_order(cid), "ord_status"), "4");
}

// A fill made while the gateway was down reaches it after the restart (the venue resends the
// report after logon): applied to its order, which this plugin instance never sent.
TEST_P(FixBroker, FillWhileTheGatewayWasDownIsAppliedAfterTheRestart) {
    auto r = place(order("BUY", "10", "LIMIT", "90.00"));
    ASSERT_TRUE(r.status == 201 || r.status == 202) << r.body;
    const std::string id = field(r.json(), "id");
    const std::string cid = field(r.json(), "client_order_id");
    ASSERT_EQ(wait_field(id, "status", "OPEN"), "OPEN");
    gw_->kill_hard();
    gw_.reset();
    ASSERT_EQ(venue_->control("fill " + cid + " 10"), "OK");
    start_gateway();
    EXPECT_EQ(wait_field(id, "status", "FILLED"), "FILLED") << gw_->log();
    // The session started (and the fill was resent) only once the gateway had recovered: a
    // report resent before would have waited in memory with its sequence number already
    // persisted, lost to a kill then. And the logon was reported after the resend.
    // (The log holds both runs: the restart's lines are the last ones.)
    const std::string log = gw_->log();
    const auto recovered = log.rfind("event=recovered");
    const auto logon = log.rfind("event=fix_logon");
    ASSERT_NE(recovered, std::string::npos) << log;
    ASSERT_NE(logon, std::string::npos) << log;
    EXPECT_LT(recovered, logon) << log;
    // At least the fill (the venue may have had more for the session: its number varies).
    const auto counted = log.find("caught_up_messages=", logon);
    ASSERT_NE(counted, std::string::npos) << log;
    EXPECT_GE(std::atoi(log.c_str() + counted + 19), 1) << log;
    auto t = trades(id);
    ASSERT_EQ(t.size(), 1u);
    EXPECT_EQ(t[0].second, "10");
    json::Value pos = gw_->get("/api/v1/positions?account_id=ACC1").json();
    ASSERT_EQ(pos.find("items")->items().size(), 1u) << gw_->get("/api/v1/positions").body;
    EXPECT_EQ(field(pos.find("items")->items()[0], "quantity"), "10");
    EXPECT_EQ(field(pos.find("items")->items()[0], "exchange"), "X");
}

// With batched events the incoming sequence number is persisted only up to what the host
// confirmed stored. Here the session's syncer holds back (a test-only delay), so every report of
// this run is pushed and counted by QuickFIX but not persisted when the gateway is killed: after
// the restart the venue resends them (PossDupFlag), and the gateway's orders, trades and
// positions are the venue's, each fill counted once.
TEST_P(FixBroker, KillBeforeTheReportsAreSyncedIsHealedByTheResend) {
    ASSERT_EQ(gw_->stop(), 0);
    gw_.reset();
    extra_env_ = {{"FIX_TEST_SYNC_DELAY_MS", "600000"}};
    start_gateway();
    std::vector<std::pair<std::string, std::string>> placed;  // id, client order id
    for (const char* qty : {"10", "10", "10"}) {
        auto r = place(order("BUY", qty, "LIMIT", "90.00"));
        ASSERT_TRUE(r.status == 201 || r.status == 202) << r.body;
        placed.emplace_back(field(r.json(), "id"), field(r.json(), "client_order_id"));
        ASSERT_EQ(wait_field(placed.back().first, "status", "OPEN"), "OPEN") << gw_->log();
    }
    ASSERT_EQ(venue_->control("fill " + placed[0].second + " 4"), "OK");
    ASSERT_EQ(venue_->control("fill " + placed[0].second + " 6"), "OK");
    ASSERT_EQ(venue_->control("fill " + placed[1].second + " 10"), "OK");
    ASSERT_EQ(venue_->control("fill " + placed[2].second + " 3"), "OK");
    // The host applied them (pushed and stored); their sequence numbers are not persisted.
    ASSERT_EQ(wait_field(placed[0].first, "status", "FILLED"), "FILLED");
    ASSERT_EQ(wait_field(placed[1].first, "status", "FILLED"), "FILLED");
    ASSERT_EQ(wait_field(placed[2].first, "filled_quantity", "3"), "3");
    gw_->kill_hard();
    gw_.reset();
    extra_env_.clear();
    start_gateway();

    // The venue resent at least the three acks and four fills of the killed run.
    const std::string log = gw_->log();
    const auto logon = log.rfind("event=fix_logon");
    ASSERT_NE(logon, std::string::npos) << log;
    const auto counted = log.find("caught_up_messages=", logon);
    ASSERT_NE(counted, std::string::npos) << log;
    EXPECT_GE(std::atoi(log.c_str() + counted + 19), 7) << log;

    const std::map<std::string, std::string> status_of = {
        {"0", "OPEN"}, {"1", "PARTIALLY_FILLED"}, {"2", "FILLED"}, {"4", "CANCELLED"}};
    Decimal net;
    for (const auto& [id, cid] : placed) {
        SCOPED_TRACE(cid);
        json::Value v = venue_order(cid);
        EXPECT_EQ(wait_field(id, "filled_quantity", field(v, "cum_qty")), field(v, "cum_qty"));
        json::Value g = get_order(id);
        EXPECT_EQ(field(g, "status"), status_of.at(field(v, "ord_status"))) << gw_->log();
        EXPECT_EQ(field(g, "broker_order_id"), field(v, "order_id"));
        Decimal traded;
        for (const auto& t : trades(id)) traded += Decimal::must_parse(t.second);
        EXPECT_EQ(traded, Decimal::must_parse(field(v, "cum_qty")));
        net += Decimal::must_parse(field(v, "cum_qty"));
    }
    EXPECT_EQ(trades(placed[0].first).size(), 2u);
    EXPECT_EQ(trades(placed[1].first).size(), 1u);
    EXPECT_EQ(trades(placed[2].first).size(), 1u);
    json::Value pos = gw_->get("/api/v1/positions?account_id=ACC1").json();
    ASSERT_EQ(pos.find("items")->items().size(), 1u) << gw_->get("/api/v1/positions").body;
    EXPECT_EQ(Decimal::must_parse(field(pos.find("items")->items()[0], "quantity")), net);
    EXPECT_EQ(net, Decimal::must_parse("23"));
}

// ---- a venue without OrderCancelReplaceRequest (`replace: cancel_new`) ---------------------------

// The venue refuses a replace (35=j); with `replace: cancel_new` a modify is the working venue
// order's cancel, then a new order for the rest, and the order's events say it was emulated. The
// gateway keeps one order with the chain's quantities, as the venue's two orders add up.
TEST_P(FixBroker, ModifyAtAVenueWithoutReplaceIsACancelAndANewOrderDisclosed) {
    restart_without_native_replace();
    auto r = place(order("BUY", "10", "LIMIT", "90.00"));
    ASSERT_TRUE(r.status == 201 || r.status == 202) << r.body;
    const std::string id = field(r.json(), "id");
    const std::string cid = field(r.json(), "client_order_id");
    ASSERT_EQ(wait_field(id, "status", "OPEN"), "OPEN");
    ASSERT_EQ(venue_->control("fill " + cid + " 3"), "OK");
    ASSERT_EQ(wait_field(id, "filled_quantity", "3"), "3");
    auto m = http(gw_->port(), "PUT", "/api/v1/orders/" + id,
                  "{\"price\":\"95.00\",\"quantity\":\"8\"}", json_headers());
    ASSERT_TRUE(m.status == 200 || m.status == 202) << m.body;
    EXPECT_EQ(wait_field(id, "price", "95.00"), "95.00") << gw_->log();
    EXPECT_EQ(wait_field(id, "status", "PARTIALLY_FILLED"), "PARTIALLY_FILLED") << gw_->log();
    json::Value g = get_order(id);
    EXPECT_EQ(field(g, "quantity"), "8");
    EXPECT_EQ(field(g, "filled_quantity"), "3");

    // The venue: the first order cancelled with its 3, a new one for the other 5 at 95.
    json::Value first = venue_order(cid);
    EXPECT_EQ(field(first, "ord_status"), "4");
    EXPECT_EQ(field(first, "cum_qty"), "3");
    EXPECT_EQ(field(g, "broker_order_id"), field(first, "order_id"));
    std::vector<json::Value> legs = venue_legs();
    ASSERT_EQ(legs.size(), 1u) << venue_->control("dump");
    EXPECT_EQ(field(legs[0], "order_qty"), "5");
    EXPECT_EQ(field(legs[0], "price"), "95.00");
    EXPECT_EQ(field(legs[0], "ord_status"), "0");
    EXPECT_EQ(new_order_messages(), 2);

    // Disclosed: the modify's events are marked emulated and say how.
    const std::string ev = gw_->get("/api/v1/orders/" + id + "/events").body;
    EXPECT_NE(ev.find("\"emulated\":true"), std::string::npos) << ev;
    EXPECT_NE(ev.find("a cancel and a new order"), std::string::npos) << ev;

    // The new venue order's fill completes the gateway's order.
    const std::string leg = legs[0].find("cl_ord_ids")->items().front().text();
    ASSERT_EQ(venue_->control("fill " + leg + " 5"), "OK");
    EXPECT_EQ(wait_field(id, "status", "FILLED"), "FILLED") << gw_->log();
    g = get_order(id);
    EXPECT_EQ(field(g, "filled_quantity"), "8");
    auto t = trades(id);
    ASSERT_EQ(t.size(), 2u);
    Decimal traded;
    for (const auto& [trade_id, qty] : t) traded += Decimal::must_parse(qty);
    EXPECT_EQ(traded, Decimal::must_parse(field(first, "cum_qty")) +
                          Decimal::must_parse(field(venue_legs()[0], "cum_qty")));
    json::Value pos = gw_->get("/api/v1/positions?account_id=ACC1").json();
    ASSERT_EQ(pos.find("items")->items().size(), 1u);
    EXPECT_EQ(field(pos.find("items")->items()[0], "quantity"), "8");
}

// A broker left on replace: native at a venue without OrderCancelReplaceRequest: the venue's
// BusinessMessageReject (35=j naming the request) refuses the modify at once, the order back to
// what the venue holds, with the venue's text and the setting to change; nothing is left
// PENDING_REPLACE for reconciliation, and the order still trades as it was.
TEST_P(FixBroker, NativeModifyAtAVenueWithoutReplaceIsRefusedAndTheOrderStaysAsItWas) {
    ASSERT_EQ(venue_->control(std::string("profile ") + GetParam().comp_id + " no-replace on"),
              "OK");
    auto r = place(order("BUY", "10", "LIMIT", "90.00"));
    ASSERT_TRUE(r.status == 201 || r.status == 202) << r.body;
    const std::string id = field(r.json(), "id");
    const std::string cid = field(r.json(), "client_order_id");
    ASSERT_EQ(wait_field(id, "status", "OPEN"), "OPEN");
    auto m =
        http(gw_->port(), "PUT", "/api/v1/orders/" + id, "{\"price\":\"95.00\"}", json_headers());
    EXPECT_NE(m.status / 100, 5) << m.body;
    EXPECT_EQ(wait_field(id, "status", "OPEN"), "OPEN") << m.body << gw_->log();
    json::Value g = get_order(id);
    EXPECT_EQ(field(g, "price"), "90.00");
    const std::string ev = gw_->get("/api/v1/orders/" + id + "/events").body;
    EXPECT_NE(ev.find("unsupported message type G"), std::string::npos) << ev;
    EXPECT_NE(ev.find("replace: cancel_new"), std::string::npos) << ev;
    // The venue holds the order as it was, and it still trades.
    json::Value v = venue_order(cid);
    EXPECT_EQ(field(v, "price"), "90.00");
    EXPECT_EQ(field(v, "ord_status"), "0");
    ASSERT_EQ(venue_->control("fill " + cid + " 10"), "OK");
    EXPECT_EQ(wait_field(id, "status", "FILLED"), "FILLED") << gw_->log();
}

// The chain survives a kill: a fill of the new venue order made while the gateway was down, a
// second emulated modify and a cancel after the restart all reach the venue order that works
// (the plugin's replace journal), and the gateway ends as the venue's orders add up.
TEST_P(FixBroker, EmulatedReplaceChainSurvivesAKill) {
    restart_without_native_replace();
    auto r = place(order("BUY", "10", "LIMIT", "90.00"));
    ASSERT_TRUE(r.status == 201 || r.status == 202) << r.body;
    const std::string id = field(r.json(), "id");
    const std::string cid = field(r.json(), "client_order_id");
    ASSERT_EQ(wait_field(id, "status", "OPEN"), "OPEN");
    auto m =
        http(gw_->port(), "PUT", "/api/v1/orders/" + id, "{\"price\":\"91.00\"}", json_headers());
    ASSERT_TRUE(m.status == 200 || m.status == 202) << m.body;
    ASSERT_EQ(wait_field(id, "price", "91.00"), "91.00") << gw_->log();
    ASSERT_EQ(wait_field(id, "status", "OPEN"), "OPEN");
    std::vector<json::Value> legs = venue_legs();
    ASSERT_EQ(legs.size(), 1u);
    const std::string leg1 = legs[0].find("cl_ord_ids")->items().front().text();

    gw_->kill_hard();
    gw_.reset();
    ASSERT_EQ(venue_->control("fill " + leg1 + " 2"), "OK");
    start_gateway();
    EXPECT_EQ(wait_field(id, "filled_quantity", "2"), "2") << gw_->log();
    EXPECT_EQ(wait_field(id, "status", "PARTIALLY_FILLED"), "PARTIALLY_FILLED");
    EXPECT_EQ(field(get_order(id), "quantity"), "10");

    auto m2 =
        http(gw_->port(), "PUT", "/api/v1/orders/" + id, "{\"price\":\"92.00\"}", json_headers());
    ASSERT_TRUE(m2.status == 200 || m2.status == 202) << m2.body << gw_->log();
    EXPECT_EQ(wait_field(id, "price", "92.00"), "92.00") << gw_->log();
    legs = venue_legs();
    ASSERT_EQ(legs.size(), 2u) << venue_->control("dump");
    EXPECT_EQ(field(legs[0], "ord_status"), "4");
    EXPECT_EQ(field(legs[1], "order_qty"), "8");  // 10 less the 2 the first new order executed
    EXPECT_EQ(field(legs[1], "price"), "92.00");

    auto c = http(gw_->port(), "DELETE", "/api/v1/orders/" + id, "", json_headers());
    ASSERT_TRUE(c.status == 200 || c.status == 202) << c.body;
    EXPECT_EQ(wait_field(id, "status", "CANCELLED"), "CANCELLED") << gw_->log();
    EXPECT_EQ(field(venue_legs()[1], "ord_status"), "4");
    EXPECT_EQ(field(venue_order(cid), "ord_status"), "4");
    json::Value g = get_order(id);
    EXPECT_EQ(field(g, "filled_quantity"), "2");
    EXPECT_EQ(trades(id).size(), 1u);
    EXPECT_EQ(new_order_messages(), 3);
}

// Killed while the cancel of an emulated modify is out (held at the venue): nothing was
// journaled, no new order was sent; the cancel's outcome, resent after the restart, ends the
// gateway's order cancelled, as the venue holds it, with nothing sent twice.
TEST_P(FixBroker, EmulatedReplaceInterruptedBeforeTheNewOrderEndsAsTheVenueHoldsIt) {
    restart_without_native_replace();
    auto r = place(order("BUY", "10", "LIMIT", "90.00"));
    ASSERT_TRUE(r.status == 201 || r.status == 202) << r.body;
    const std::string id = field(r.json(), "id");
    const std::string cid = field(r.json(), "client_order_id");
    ASSERT_EQ(wait_field(id, "status", "OPEN"), "OPEN");
    ASSERT_EQ(venue_->control(std::string("profile ") + GetParam().comp_id + " hold on"), "OK");
    auto m =
        http(gw_->port(), "PUT", "/api/v1/orders/" + id, "{\"price\":\"91.00\"}", json_headers());
    ASSERT_TRUE(m.status == 200 || m.status == 202) << m.body;
    EXPECT_EQ(field(m.json(), "status"), "PENDING_REPLACE") << m.body;
    gw_->kill_hard();
    gw_.reset();
    ASSERT_EQ(venue_->control(std::string("release ") + GetParam().comp_id), "OK");
    start_gateway();
    EXPECT_EQ(wait_field(id, "status", "CANCELLED"), "CANCELLED") << gw_->log();
    EXPECT_EQ(field(venue_order(cid), "ord_status"), "4");
    EXPECT_TRUE(venue_legs().empty());
    EXPECT_EQ(new_order_messages(), 1);
}

// Fills while the emulated modify's cancel is out count; when they reach the modified quantity
// nothing is left to place and the order is FILLED at its new quantity.
TEST_P(FixBroker, FillsDuringAnEmulatedModifyCountAndMayLeaveNothingToPlace) {
    restart_without_native_replace();
    auto r = place(order("BUY", "10", "LIMIT", "90.00"));
    ASSERT_TRUE(r.status == 201 || r.status == 202) << r.body;
    const std::string id = field(r.json(), "id");
    const std::string cid = field(r.json(), "client_order_id");
    ASSERT_EQ(wait_field(id, "status", "OPEN"), "OPEN");
    ASSERT_EQ(venue_->control(std::string("profile ") + GetParam().comp_id + " hold on"), "OK");
    auto m = http(gw_->port(), "PUT", "/api/v1/orders/" + id, "{\"quantity\":\"6\"}",
                  json_headers());
    ASSERT_TRUE(m.status == 200 || m.status == 202) << m.body;
    ASSERT_EQ(venue_->control("fill " + cid + " 4"), "OK");
    EXPECT_EQ(wait_field(id, "filled_quantity", "4"), "4") << gw_->log();
    EXPECT_EQ(field(get_order(id), "status"), "PENDING_REPLACE");
    ASSERT_EQ(venue_->control("fill " + cid + " 2"), "OK");
    EXPECT_EQ(wait_field(id, "filled_quantity", "6"), "6") << gw_->log();
    ASSERT_EQ(venue_->control(std::string("release ") + GetParam().comp_id), "OK");
    EXPECT_EQ(wait_field(id, "status", "FILLED"), "FILLED") << gw_->log();
    json::Value g = get_order(id);
    EXPECT_EQ(field(g, "quantity"), "6");
    EXPECT_EQ(field(venue_order(cid), "cum_qty"), "6");
    EXPECT_EQ(field(venue_order(cid), "ord_status"), "4");
    EXPECT_TRUE(venue_legs().empty());
    EXPECT_EQ(trades(id).size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Versions, FixBroker,
                         ::testing::Values(Version{"FIX.4.4", "GW44"}, Version{"FIX.4.2", "GW42"}),
                         [](const auto& info) {
                             return std::string(info.param.begin_string[6] == '4' ? "Fix44"
                                                                                  : "Fix42");
                         });

}  // namespace
}  // namespace ordergate::testing
