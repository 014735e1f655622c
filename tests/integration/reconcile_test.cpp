// Reconciliation end to end, one rule per test: the real gateway, the paper broker with its journal
// and fault injection, SQLite, driven over HTTP. What the gateway ends up saying is compared with
// the paper venue's journal (the broker's truth).
//
//  - a fill the event stream never delivered (silent stream) is applied, by a silent-stream run;
//  - a lost ack (PENDING_NEW) and a lost cancel answer (PENDING_CANCEL) are settled;
//  - an order the venue has and storage lacks is adopted as an external order;
//  - a PENDING_NEW order the venue never got is REJECTED NOT_FOUND_AT_BROKER only after clean
//    not-found answers: runs that only met transport errors change nothing;
//  - so is one cancelled while its place was unanswered (PENDING_CANCEL, never acknowledged);
//  - a fill after a local CANCELLED is applied and flagged;
//  - a position that differs from the venue's is reported as drift;
//  - GET /api/v1/reconciliation and POST /api/v1/reconciliation/run.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <thread>

#include "gateway_process.hpp"

namespace ordergate::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct VenueSetup {
    std::string paper;           // extra paper settings (YAML, indented 6)
    std::string reconciliation;  // the reconciliation section's body (indented 2)
    std::string journal = "paper.journal";
    std::string database = "ordergate.db";
    bool second_account = false;  // ACC2 as well, at the venue and in the gateway
};

std::string write_config(const std::string& dir, const VenueSetup& s, const std::string& name) {
    const std::string path = dir + "/" + name + ".yaml";
    std::ofstream out(path);
    out << "http:\n  host: 127.0.0.1\n  port: ${PORT}\n  shutdown_grace_seconds: 2\n"
           "plugin_dirs:\n  - ${OG_PLUGIN_DIR}\n"
           "storage:\n  plugin: storage-sqlite\n  settings:\n    path: ${OG_DATA_DIR}/"
        << s.database
        << "\n"
           "brokers:\n  - name: paper\n    plugin: broker-paper\n    timeout_ms: 1000\n"
           "    settings:\n      seed: 7\n      journal_path: ${OG_DATA_DIR}/"
        << s.journal
        << "\n      accounts: \"" << (s.second_account ? "ACC1,ACC2" : "ACC1")
        << "\"\n      initial_cash: 100000000\n      currency: INR\n"
           "      prices:\n        INFY: 1500.00\n"
        << s.paper
        << "accounts:\n  - {id: ACC1, broker: paper}\n"
        << (s.second_account ? "  - {id: ACC2, broker: paper}\n" : "")
        << "risk:\n  max_quantity: 100000\n"
           "reconciliation:\n"
        << (s.reconciliation.empty()
                ? "  interval_seconds: 1\n  grace_period_seconds: 1\n  not_found_answers: 2\n"
                  "  silent_stream_seconds: 0\n"
                : s.reconciliation)
        << "auth:\n  enabled: false\nlogging:\n  level: ${OG_LOG_LEVEL:-warn}\n";
    return path;
}

std::string order(const std::string& type, const std::string& qty, const std::string& more = "") {
    return "{\"account_id\":\"ACC1\",\"symbol\":\"INFY\",\"exchange\":\"NSE\",\"side\":\"BUY\","
           "\"order_type\":\"" +
           type + "\",\"quantity\":\"" + qty + "\"" + (more.empty() ? "" : "," + more) + "}";
}

// Polls `probe` until it returns true (bounded); returns its last answer.
bool eventually(const std::function<bool()>& probe, seconds limit = seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (probe()) return true;
        std::this_thread::sleep_for(milliseconds(50));
    }
    return probe();
}

// The journal's records of one type, each as key -> value (values are never escaped here: the
// tests use plain ids and decimals).
std::vector<std::map<std::string, std::string>> journal(const std::string& path,
                                                        const std::string& type) {
    std::vector<std::map<std::string, std::string>> out;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(type + "\t", 0) != 0) continue;
        std::map<std::string, std::string> rec;
        size_t at = type.size() + 1;
        while (at < line.size()) {
            size_t end = line.find('\t', at);
            if (end == std::string::npos) end = line.size();
            std::string kv = line.substr(at, end - at);
            size_t eq = kv.find('=');
            if (eq != std::string::npos) rec[kv.substr(0, eq)] = kv.substr(eq + 1);
            at = end + 1;
        }
        out.push_back(std::move(rec));
    }
    return out;
}

std::string events_of(const GatewayProcess& gw, const std::string& id) {
    return gw.get("/api/v1/orders/" + id + "/events").body;
}

int64_t metric(const GatewayProcess& gw, const std::string& series) {
    const std::string body = gw.get("/metrics").body;
    size_t at = body.find("\n" + series + " ");
    if (at == std::string::npos) return 0;
    return std::stoll(body.substr(at + series.size() + 2));
}

std::string newest_run(const GatewayProcess& gw) {
    return gw.get("/api/v1/reconciliation?limit=1").body;
}

// An order intent stored while every call to the venue hangs past the 1 s deadline (the gateway
// answers 202, PENDING_NEW), then the gateway killed: an order the venue never got. Returns its
// id ("" when the answer was not 202); `o` keeps the data directory for the restart.
std::string store_intent_the_venue_never_gets(const std::string& dir, VenueSetup s,
                                              GatewayOptions& o, const std::string& tag,
                                              bool cancel_too = false) {
    s.paper = "      tick_ms: 0\n      fault:\n        hang_ms: 30000\n";
    s.reconciliation = "  enabled: false\n";
    o.config = write_config(dir, s, tag + "-hang");
    o.data_dir = dir;
    GatewayProcess gw(o);
    auto r = http(gw.port(), "POST", "/api/v1/orders",
                  order("LIMIT", "4", "\"price\":\"1000.00\""), json_headers(tag));
    EXPECT_EQ(r.status, 202) << r.body;
    if (r.status != 202) return "";
    const std::string id = field(r.json(), "id");
    if (cancel_too) {
        // The cancel hangs as well: its outcome is as unknown as the place's.
        auto c = http(gw.port(), "DELETE", "/api/v1/orders/" + id, "", json_headers(tag + "-c"));
        EXPECT_EQ(c.status, 202) << c.body;
        EXPECT_EQ(field(c.json(), "status"), "PENDING_CANCEL") << c.body;
        if (c.status != 202) return "";
    }
    gw.kill_hard();
    return id;
}

TEST(Reconcile, FillTheSilentStreamNeverDeliveredIsAppliedByASilentStreamRun) {
    const std::string dir = make_temp_dir("og-rec-fill");
    VenueSetup s;
    s.paper = "      tick_ms: 0\n      fault:\n        silent_stream: true\n";
    s.reconciliation =
        "  interval_seconds: 3600\n  grace_period_seconds: 1\n  silent_stream_seconds: 1\n";
    GatewayOptions o;
    o.config = write_config(dir, s, "fill");
    o.data_dir = dir;
    GatewayProcess gw(o);
    auto r = http(gw.port(), "POST", "/api/v1/orders", order("MARKET", "10"), json_headers("k1"));
    ASSERT_EQ(r.status, 201) << r.body;
    const std::string id = field(r.json(), "id");
    // The venue filled it at once; the fill was never pushed, so only a run can bring it.
    ASSERT_TRUE(eventually([&] {
        return field(gw.get("/api/v1/orders/" + id).json(), "status") == "FILLED";
    })) << gw.get("/api/v1/orders/" + id).body;
    auto fills = journal(dir + "/paper.journal", "F");
    ASSERT_EQ(fills.size(), 1u);
    auto trades = gw.get("/api/v1/trades?account_id=ACC1").json();
    ASSERT_EQ(trades.find("items")->items().size(), 1u);
    EXPECT_EQ(field(trades.find("items")->items()[0], "broker_trade_id"), fills[0]["trade"]);
    EXPECT_EQ(field(trades.find("items")->items()[0], "quantity"), fills[0]["qty"]);
    EXPECT_NE(events_of(gw, id).find("\"source\":\"reconciliation\""), std::string::npos)
        << events_of(gw, id);
    auto pos = gw.get("/api/v1/positions?account_id=ACC1").json();
    ASSERT_EQ(pos.find("items")->items().size(), 1u);
    EXPECT_EQ(field(pos.find("items")->items()[0], "quantity"), "10");
    // The run's report is stored when the run ends, which may be after the order changed.
    std::string runs;
    EXPECT_TRUE(eventually([&] {
        runs = gw.get("/api/v1/reconciliation").body;
        return runs.find("\"trigger\":\"silent_stream\"") != std::string::npos &&
               runs.find("\"missing_fills\":1") != std::string::npos;
    })) << runs;
    EXPECT_GE(metric(gw, "ordergate_reconcile_drift_total{broker=\"paper\",kind=\"missing_fill\"}"),
              1);
}

TEST(Reconcile, LostAckAndLostCancelAnswerAreSettledFromTheVenue) {
    const std::string dir = make_temp_dir("og-rec-lost");
    VenueSetup s;
    s.paper = "      tick_ms: 0\n      fault:\n        timeout_after_send_ratio: 1\n"
              "        silent_stream: true\n";
    GatewayOptions o;
    o.config = write_config(dir, s, "lost");
    o.data_dir = dir;
    GatewayProcess gw(o);
    auto r = http(gw.port(), "POST", "/api/v1/orders",
                  order("LIMIT", "5", "\"price\":\"1000.00\""), json_headers("k2"));
    ASSERT_EQ(r.status, 202) << r.body;
    EXPECT_EQ(field(r.json(), "status"), "PENDING_NEW");
    const std::string id = field(r.json(), "id");
    ASSERT_TRUE(eventually([&] {
        return field(gw.get("/api/v1/orders/" + id).json(), "status") == "OPEN";
    })) << gw.get("/api/v1/orders/" + id).body;
    auto venue = journal(dir + "/paper.journal", "O");
    ASSERT_FALSE(venue.empty());
    EXPECT_EQ(field(gw.get("/api/v1/orders/" + id).json(), "broker_order_id"),
              "P-" + venue.back()["n"]);

    auto c = http(gw.port(), "DELETE", "/api/v1/orders/" + id);
    ASSERT_EQ(c.status, 202) << c.body;
    EXPECT_EQ(field(c.json(), "status"), "PENDING_CANCEL");
    ASSERT_TRUE(eventually([&] {
        return field(gw.get("/api/v1/orders/" + id).json(), "status") == "CANCELLED";
    })) << gw.get("/api/v1/orders/" + id).body;
    EXPECT_EQ(journal(dir + "/paper.journal", "O").back()["status"], "CANCELLED");
    const std::string ev = events_of(gw, id);
    EXPECT_NE(ev.find("\"to_status\":\"CANCELLED\",\"source\":\"reconciliation\""),
              std::string::npos)
        << ev;
}

TEST(Reconcile, AnOrderTheVenueHasAndStorageLacksIsAdoptedAsExternal) {
    const std::string dir = make_temp_dir("og-rec-ext");
    VenueSetup s;
    s.paper = "      tick_ms: 0\n";
    GatewayOptions o;
    o.config = write_config(dir, s, "ext-a");
    o.data_dir = dir;
    std::string filled_id, resting_id;
    {
        GatewayProcess gw(o);
        auto a = http(gw.port(), "POST", "/api/v1/orders", order("MARKET", "7"), json_headers("a"));
        ASSERT_EQ(a.status, 201) << a.body;
        auto b = http(gw.port(), "POST", "/api/v1/orders",
                      order("LIMIT", "3", "\"price\":\"1000.00\",\"client_order_id\":\"rest-1\""),
                      json_headers("b"));
        ASSERT_EQ(b.status, 201) << b.body;
        EXPECT_EQ(gw.stop(), 0);
    }
    // The same venue (journal), a new, empty store: both orders exist only at the broker.
    s.database = "other.db";
    o.config = write_config(dir, s, "ext-b");
    GatewayProcess gw(o);
    ASSERT_TRUE(eventually([&] {
        auto l = gw.get("/api/v1/orders?account_id=ACC1").json();
        return l.find("items") && l.find("items")->items().size() == 2;
    })) << gw.get("/api/v1/orders?account_id=ACC1").body;
    auto rest = gw.get("/api/v1/orders/client_order_id:rest-1");
    ASSERT_EQ(rest.status, 200) << rest.body;
    EXPECT_EQ(field(rest.json(), "status"), "OPEN");
    EXPECT_EQ(field(rest.json(), "extra.external"), "true") << rest.body;
    const std::string ev = events_of(gw, field(rest.json(), "id"));
    EXPECT_NE(ev.find("\"from_status\":null,\"to_status\":\"OPEN\",\"source\":\"reconciliation\""),
              std::string::npos)
        << ev;
    // The filled one: its fill is stored and the position is the venue's.
    auto pos = gw.get("/api/v1/positions?account_id=ACC1").json();
    ASSERT_EQ(pos.find("items")->items().size(), 1u) << gw.get("/api/v1/positions").body;
    EXPECT_EQ(field(pos.find("items")->items()[0], "quantity"), "7");
    auto trades = gw.get("/api/v1/trades?account_id=ACC1").json();
    EXPECT_EQ(trades.find("items")->items().size(), journal(dir + "/paper.journal", "F").size());
    EXPECT_GE(metric(gw,
                     "ordergate_reconcile_drift_total{broker=\"paper\",kind=\"external_order\"}"),
              2);
}

TEST(Reconcile, PendingNewTheVenueNeverGotIsRejectedOnlyAfterCleanNotFoundAnswers) {
    const std::string dir = make_temp_dir("og-rec-nf");
    VenueSetup s;
    GatewayOptions o;
    const std::string id = store_intent_the_venue_never_gets(dir, s, o, "nf");
    ASSERT_FALSE(id.empty());
    EXPECT_TRUE(journal(dir + "/paper.journal", "O").empty());

    // The venue unreachable: runs meet only transport errors, which are never evidence.
    s.paper = "      tick_ms: 0\n      fault:\n        disconnect: true\n";
    s.reconciliation = "  interval_seconds: 1\n  grace_period_seconds: 1\n  not_found_answers: 2\n";
    o.config = write_config(dir, s, "nf-down");
    {
        GatewayProcess gw(o);
        ASSERT_TRUE(eventually([&] {
            return gw.get("/api/v1/reconciliation").body.find("\"status\":\"FAILED\"") !=
                       std::string::npos &&
                   gw.get("/api/v1/reconciliation?limit=4").json().find("items")->items().size() >= 4;
        })) << gw.get("/api/v1/reconciliation").body;
        EXPECT_EQ(field(gw.get("/api/v1/orders/" + id).json(), "status"), "PENDING_NEW");
        EXPECT_EQ(gw.stop(), 0);
    }

    // Reachable again: two clean "no such order" answers, one per run, then the policy.
    s.paper = "      tick_ms: 0\n";
    o.config = write_config(dir, s, "nf-up");
    GatewayProcess gw(o);
    ASSERT_TRUE(eventually([&] {
        return field(gw.get("/api/v1/orders/" + id).json(), "status") == "REJECTED";
    })) << gw.get("/api/v1/orders/" + id).body;
    auto rec = gw.get("/api/v1/orders/" + id).json();
    EXPECT_EQ(field(rec, "reject_reason"), "NOT_FOUND_AT_BROKER");
    const std::string ev = events_of(gw, id);
    EXPECT_NE(ev.find("not_found_policy=reject"), std::string::npos) << ev;
    EXPECT_NE(ev.find("\"source\":\"reconciliation\""), std::string::npos) << ev;
    EXPECT_TRUE(journal(dir + "/paper.journal", "O").empty()) << "nothing was ever sent";
}

// With a second account on the broker, each run's pass over that account must not forget the
// "no such order" answers counted for the first one's orders (it did: the order stayed
// PENDING_NEW for ever).
TEST(Reconcile, PendingNewTheVenueNeverGotIsRejectedWithSeveralAccountsOnTheBroker) {
    const std::string dir = make_temp_dir("og-rec-nf2");
    VenueSetup s;
    s.second_account = true;
    GatewayOptions o;
    const std::string id = store_intent_the_venue_never_gets(dir, s, o, "nf2");
    ASSERT_FALSE(id.empty());
    s.paper = "      tick_ms: 0\n";  // every second, two clean answers, then the policy
    o.config = write_config(dir, s, "nf2-up");
    GatewayProcess gw(o);
    ASSERT_TRUE(eventually([&] {
        return field(gw.get("/api/v1/orders/" + id).json(), "status") == "REJECTED";
    })) << gw.get("/api/v1/orders/" + id).body << gw.get("/api/v1/reconciliation?limit=2").body;
    EXPECT_EQ(field(gw.get("/api/v1/orders/" + id).json(), "reject_reason"),
              "NOT_FOUND_AT_BROKER");
    EXPECT_TRUE(journal(dir + "/paper.journal", "O").empty()) << "nothing was ever sent";
}

// A cancel asked while the place was still unanswered, and the gateway killed with both calls
// hung: the order is PENDING_CANCEL, with no broker order id and nothing filled. The venue never
// had it, so it must end as a PENDING_NEW would (it stayed PENDING_CANCEL for ever, reported
// each run as an acknowledged order gone missing).
TEST(Reconcile, ACancelOfAnOrderTheVenueNeverGotEndsItAsNotFoundAtBroker) {
    const std::string dir = make_temp_dir("og-rec-nfc");
    VenueSetup s;
    GatewayOptions o;
    const std::string id = store_intent_the_venue_never_gets(dir, s, o, "nfc", true);
    ASSERT_FALSE(id.empty());
    EXPECT_TRUE(journal(dir + "/paper.journal", "O").empty());

    s.paper = "      tick_ms: 0\n";
    s.reconciliation = "  interval_seconds: 1\n  grace_period_seconds: 1\n  not_found_answers: 2\n";
    o.config = write_config(dir, s, "nfc-up");
    GatewayProcess gw(o);
    ASSERT_TRUE(eventually([&] {
        return field(gw.get("/api/v1/orders/" + id).json(), "status") == "REJECTED";
    })) << gw.get("/api/v1/orders/" + id).body
        << gw.get("/api/v1/reconciliation?limit=2").body;
    auto rec = gw.get("/api/v1/orders/" + id).json();
    EXPECT_EQ(field(rec, "reject_reason"), "NOT_FOUND_AT_BROKER");
    EXPECT_EQ(field(rec, "filled_quantity"), "0");
    const std::string ev = events_of(gw, id);
    EXPECT_NE(ev.find("\"from_status\":\"PENDING_CANCEL\",\"to_status\":\"REJECTED\""),
              std::string::npos)
        << ev;
    EXPECT_NE(ev.find("not_found_policy=reject"), std::string::npos) << ev;
    EXPECT_EQ(metric(gw,
                     "ordergate_reconcile_drift_total{broker=\"paper\",kind=\"order_missing_"
                     "at_broker\"}"),
              0);
    EXPECT_TRUE(journal(dir + "/paper.journal", "O").empty()) << "nothing was ever sent";
}

TEST(Reconcile, AFillAfterALocalCancelIsAppliedAndFlagged) {
    const std::string dir = make_temp_dir("og-rec-fac");
    VenueSetup s;
    s.paper = "      tick_ms: 0\n      fault:\n        silent_stream: true\n";
    s.reconciliation = "  enabled: false\n";
    GatewayOptions o;
    o.config = write_config(dir, s, "fac-a");
    o.data_dir = dir;
    std::string id;
    {
        GatewayProcess gw(o);
        auto r = http(gw.port(), "POST", "/api/v1/orders",
                      order("LIMIT", "6", "\"price\":\"1499.95\""), json_headers("fac"));
        ASSERT_EQ(r.status, 201) << r.body;
        id = field(r.json(), "id");
        EXPECT_EQ(gw.stop(), 0);
    }
    // The store says CANCELLED (as after a cancel the venue never took) while the venue keeps
    // the order open.
    {
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open((dir + "/ordergate.db").c_str(), &db), SQLITE_OK);
        const std::string sql = "UPDATE orders SET status = 'CANCELLED' WHERE id = '" + id + "'";
        char* err = nullptr;
        EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK)
            << (err ? err : "");
        sqlite3_free(err);
        sqlite3_close(db);
    }
    // The walk moves now and reaches the limit: the venue fills the order.
    s.paper = "      tick_ms: 20\n      max_steps_per_tick: 2\n      fault:\n"
              "        silent_stream: true\n";
    s.reconciliation.clear();
    o.config = write_config(dir, s, "fac-b");
    GatewayProcess gw(o);
    ASSERT_TRUE(eventually(
        [&] { return !journal(dir + "/paper.journal", "F").empty(); }, seconds(30)));
    ASSERT_TRUE(eventually([&] {
        return field(gw.get("/api/v1/orders/" + id).json(), "filled_quantity") != "0";
    })) << gw.get("/api/v1/orders/" + id).body;
    auto rec = gw.get("/api/v1/orders/" + id).json();
    EXPECT_EQ(field(rec, "status"), "CANCELLED");
    EXPECT_EQ(field(rec, "filled_quantity"), journal(dir + "/paper.journal", "F")[0]["qty"]);
    const std::string ev = events_of(gw, id);
    EXPECT_NE(ev.find("fill after CANCELLED"), std::string::npos) << ev;
    auto pos = gw.get("/api/v1/positions?account_id=ACC1").json();
    ASSERT_EQ(pos.find("items")->items().size(), 1u);
    EXPECT_EQ(field(pos.find("items")->items()[0], "quantity"), field(rec, "filled_quantity"));
}

TEST(Reconcile, APositionThatDiffersFromTheVenuesIsReportedAsDrift) {
    const std::string dir = make_temp_dir("og-rec-pos");
    VenueSetup s;
    s.paper = "      tick_ms: 0\n";
    GatewayOptions o;
    o.config = write_config(dir, s, "pos-a");
    o.data_dir = dir;
    {
        GatewayProcess gw(o);
        auto r = http(gw.port(), "POST", "/api/v1/orders", order("MARKET", "9"), json_headers("p"));
        ASSERT_EQ(r.status, 201) << r.body;
        EXPECT_EQ(gw.stop(), 0);
    }
    // A venue that lost its state (a new journal): the gateway holds 9, the venue nothing.
    s.journal = "fresh.journal";
    o.config = write_config(dir, s, "pos-b");
    GatewayProcess gw(o);
    ASSERT_TRUE(eventually([&] {
        return metric(gw, "ordergate_reconcile_drift_total{broker=\"paper\",kind=\"position\"}") >= 1;
    })) << gw.get("/api/v1/reconciliation").body << gw.log();
    const std::string run = newest_run(gw);
    EXPECT_NE(run.find("\"kind\":\"position\""), std::string::npos) << run;
    EXPECT_NE(run.find("\"gateway\":\"9\",\"broker\":\"0\""), std::string::npos) << run;
    EXPECT_NE(run.find("\"status\":\"DRIFT\""), std::string::npos) << run;
}

// Orders keep coming while runs read the venue: a fill the venue reports before its event reaches
// the gateway is in flight, not missing, and a position read between a fill and its event is
// not drift. Four clients place marketable orders across several runs (one a second); no run may
// report drift, and in the end the gateway and the venue agree on every fill and the position.
TEST(Reconcile, FillsInFlightDuringARunAreNeitherMissingNorDrift) {
    const std::string dir = make_temp_dir("og-rec-flow");
    VenueSetup s;
    s.paper = "      tick_ms: 0\n";
    GatewayOptions o;
    o.config = write_config(dir, s, "flow");
    o.data_dir = dir;
    GatewayProcess gw(o);
    std::atomic<bool> stop{false};
    std::atomic<int> placed{0}, failed{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < 4; ++c)
        clients.emplace_back([&, c] {
            for (int i = 0; !stop.load(); ++i) {
                auto r = http(gw.port(), "POST", "/api/v1/orders", order("MARKET", "1"),
                              json_headers("flow-" + std::to_string(c) + "-" + std::to_string(i)));
                if (r.status == 201) ++placed;
                else ++failed;
            }
        });
    auto runs_ended = [&] {
        return metric(gw, "ordergate_reconcile_runs_total{broker=\"paper\",status=\"OK\"}") +
               metric(gw, "ordergate_reconcile_runs_total{broker=\"paper\",status=\"DRIFT\"}");
    };
    // At least five runs end while the orders flow.
    const int64_t runs_before = runs_ended();
    const bool ran = eventually([&] { return runs_ended() >= runs_before + 5; }, seconds(60));
    stop = true;
    for (auto& t : clients) t.join();
    ASSERT_TRUE(ran) << gw.get("/api/v1/reconciliation").body << gw.log();
    EXPECT_GT(placed.load(), 100);
    EXPECT_EQ(failed.load(), 0);
    EXPECT_EQ(metric(gw, "ordergate_reconcile_drift_total{broker=\"paper\",kind=\"position\"}"), 0)
        << gw.get("/api/v1/reconciliation?limit=20").body;
    EXPECT_EQ(metric(gw, "ordergate_reconcile_drift_total{broker=\"paper\",kind=\"missing_fill\"}"), 0)
        << gw.get("/api/v1/reconciliation?limit=20").body;
    // The venue's record is the oracle: every fill it journaled is the gateway's, once.
    ASSERT_TRUE(eventually([&] {
        auto pos = gw.get("/api/v1/positions?account_id=ACC1").json();
        const auto& items = pos.find("items")->items();
        return items.size() == 1 && field(items[0], "quantity") ==
                                         std::to_string(journal(dir + "/paper.journal", "F").size());
    })) << gw.get("/api/v1/positions?account_id=ACC1").body;
    EXPECT_EQ(static_cast<int>(journal(dir + "/paper.journal", "F").size()), placed.load());
}

// An order the venue refused in the place call itself: the refusal (an error through the ABI)
// names no broker order id, yet the venue keeps the order, REJECTED, under one. A run that lists
// it finds the gateway's record in the same state: it stores the id it learned, and says so as a
// change, not as drift (the order went through no transition the gateway missed).
TEST(Reconcile, AVenueRefusedOrderGetsItsBrokerIdFromARunWithoutDrift) {
    const std::string dir = make_temp_dir("og-rec-refused");
    VenueSetup s;
    // The venue's push of the rejected order would bring its id (or race the run): none here.
    s.paper = "      tick_ms: 0\n      fault:\n        silent_stream: true\n";
    s.reconciliation =
        "  interval_seconds: 3600\n  grace_period_seconds: 1\n  silent_stream_seconds: 0\n";
    GatewayOptions o;
    o.config = write_config(dir, s, "refused");
    o.data_dir = dir;
    GatewayProcess gw(o);
    // Off the venue's 0.05 grid: the venue refuses it.
    auto r = http(gw.port(), "POST", "/api/v1/orders", order("LIMIT", "2", "\"price\":\"1000.03\""),
                  json_headers("refused"));
    ASSERT_EQ(r.status, 422) << r.body;
    const std::string id = field(r.json(), "order_id");
    ASSERT_FALSE(id.empty()) << r.body;
    auto venue = journal(dir + "/paper.journal", "O");
    ASSERT_FALSE(venue.empty());
    EXPECT_EQ(venue.back()["status"], "REJECTED");
    ASSERT_FALSE(venue.back()["n"].empty());
    const std::string boid = "P-" + venue.back()["n"];
    EXPECT_EQ(field(gw.get("/api/v1/orders/" + id).json(), "broker_order_id"), "null")
        << gw.get("/api/v1/orders/" + id).body;
    // Let the order age past the grace period, then ask for a run.
    std::this_thread::sleep_for(milliseconds(1100));
    auto asked = http(gw.port(), "POST", "/api/v1/reconciliation/run", "{\"broker\":\"paper\"}",
                      json_headers());
    ASSERT_EQ(asked.status, 202) << asked.body;
    const std::string run_id = field(asked.json().find("runs")->items()[0], "id");
    std::string run;
    ASSERT_TRUE(eventually([&] {
        run = gw.get("/api/v1/reconciliation?limit=1").body;
        return run.find("\"id\":\"" + run_id + "\"") != std::string::npos &&
               run.find("\"status\":\"RUNNING\"") == std::string::npos;
    })) << run;
    EXPECT_NE(run.find("\"status\":\"OK\""), std::string::npos) << run;
    EXPECT_EQ(run.find("missing_transition"), std::string::npos) << run;
    EXPECT_NE(run.find("\"broker_order_ids_learned\":1"), std::string::npos) << run;
    EXPECT_EQ(metric(gw, "ordergate_reconcile_drift_total{broker=\"paper\",kind=\"missing_transition\"}"),
              0);
    auto stored = gw.get("/api/v1/orders/" + id).json();
    EXPECT_EQ(field(stored, "status"), "REJECTED");
    EXPECT_EQ(field(stored, "broker_order_id"), boid);
}

// A plugin built against ABI 1.0 that declares only its open orders: the run reads those (the
// host falls back from the paginated call to the 1.0 list) and says which reports it skipped;
// the missing fill and position reports are not read as "no fills" or "flat".
TEST(Reconcile, ReportsThePluginDoesNotDeclareAreSkippedAndSaidSo) {
    const std::string dir = make_temp_dir("og-rec-undeclared");
    const std::string path = dir + "/raw.yaml";
    {
        std::ofstream out(path);
        out << "http:\n  host: 127.0.0.1\n  port: ${PORT}\n"
               "storage:\n  plugin: " << plugin_dir() << "/storage-sqlite.so\n  settings:\n"
               "    path: ${OG_DATA_DIR}/ordergate.db\n"
               "brokers:\n  - name: raw\n    plugin: " OG_COMPAT_PLUGIN_DIR "/compat_old_minor.so\n"
               "    timeout_ms: 1000\n    settings:\n      mode: ok\n"
               "accounts:\n  - {id: RAW1, broker: raw}\n"
               "reconciliation:\n  interval_seconds: 3600\n  grace_period_seconds: 1\n"
               "auth:\n  enabled: false\nlogging:\n  level: ${OG_LOG_LEVEL:-warn}\n";
    }
    GatewayOptions o;
    o.config = path;
    o.data_dir = dir;
    GatewayProcess gw(o);
    auto r = http(gw.port(), "POST", "/api/v1/orders",
                  "{\"account_id\":\"RAW1\",\"symbol\":\"INFY\",\"exchange\":\"NSE\","
                  "\"side\":\"BUY\",\"order_type\":\"MARKET\",\"quantity\":\"3\"}",
                  json_headers("raw"));
    ASSERT_EQ(r.status, 201) << r.body;
    auto asked = http(gw.port(), "POST", "/api/v1/reconciliation/run", "", {});
    ASSERT_EQ(asked.status, 202) << asked.body;
    const std::string run_id = field(asked.json().find("runs")->items()[0], "id");
    std::string run;
    ASSERT_TRUE(eventually([&] {
        run = gw.get("/api/v1/reconciliation?limit=1").body;
        return run.find("\"id\":\"" + run_id + "\",\"broker\":\"raw\",\"status\":\"OK\"") !=
               std::string::npos;
    })) << run;
    EXPECT_NE(run.find("\"reports_read\":[\"open_orders\"]"), std::string::npos) << run;
    for (const char* skipped : {"fills", "recent_orders", "positions", "account"})
        EXPECT_NE(run.find(std::string("{\"report\":\"") + skipped +
                           "\",\"reason\":\"not declared by the plugin\"}"),
                  std::string::npos)
            << skipped << ": " << run;
    EXPECT_NE(run.find("\"broker_orders\":1"), std::string::npos) << run;
    EXPECT_EQ(run.find("\"kind\":\"position\""), std::string::npos) << run;
    EXPECT_EQ(field(gw.get("/api/v1/orders/" + field(r.json(), "id")).json(), "status"), "OPEN");
}

TEST(Reconcile, OperatorAsksForARunAndReadsRunsPageByPage) {
    const std::string dir = make_temp_dir("og-rec-api");
    VenueSetup s;
    s.paper = "      tick_ms: 0\n";
    s.reconciliation = "  interval_seconds: 3600\n  grace_period_seconds: 1\n";
    GatewayOptions o;
    o.config = write_config(dir, s, "api");
    o.data_dir = dir;
    GatewayProcess gw(o);
    auto bad = http(gw.port(), "POST", "/api/v1/reconciliation/run", "{\"broker\":\"nope\"}",
                    json_headers());
    EXPECT_EQ(bad.status, 404) << bad.body;
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) {
        auto r = http(gw.port(), "POST", "/api/v1/reconciliation/run", "{\"broker\":\"paper\"}",
                      json_headers());
        ASSERT_EQ(r.status, 202) << r.body;
        const std::string run_id = field(r.json().find("runs")->items()[0], "id");
        ASSERT_FALSE(run_id.empty()) << r.body;
        ids.push_back(run_id);
        ASSERT_TRUE(eventually([&] {
            return gw.get("/api/v1/reconciliation").body.find("\"id\":\"" + run_id +
                                                              "\",\"broker\":\"paper\",\"status\":\"OK\"") !=
                   std::string::npos;
        })) << gw.get("/api/v1/reconciliation").body;
    }
    // Newest first, two per page, the start-up run last.
    auto p1 = gw.get("/api/v1/reconciliation?limit=2").json();
    ASSERT_EQ(p1.find("items")->items().size(), 2u);
    EXPECT_EQ(field(p1.find("items")->items()[0], "id"), ids[2]);
    EXPECT_EQ(field(p1.find("items")->items()[1], "id"), ids[1]);
    const std::string next = field(p1, "next_cursor");
    ASSERT_FALSE(next.empty());
    auto p2 = gw.get("/api/v1/reconciliation?limit=2&cursor=" + next).json();
    ASSERT_EQ(p2.find("items")->items().size(), 2u);
    EXPECT_EQ(field(p2.find("items")->items()[0], "id"), ids[0]);
    EXPECT_EQ(field(p2.find("items")->items()[1], "report.trigger"), "startup");
    EXPECT_EQ(gw.get("/api/v1/reconciliation?cursor=!!x!!").status, 400);
    auto ready = gw.get("/health/ready");
    EXPECT_EQ(ready.status, 200) << ready.body;
}

// The kill switch works from the broker too, not only from what this instance or its storage
// knows: an order the venue holds that storage lacks (placed through another instance whose
// writes this store never saw) is adopted and cancelled by DELETE /api/v1/orders?account_id=.
TEST(Reconcile, CancelAllAlsoCancelsOpenOrdersOnlyTheVenueHas) {
    const std::string dir = make_temp_dir("og-rec-killsw");
    VenueSetup s;
    s.paper = "      tick_ms: 0\n";
    GatewayOptions o;
    o.config = write_config(dir, s, "kill-a");
    o.data_dir = dir;
    {
        GatewayProcess gw(o);
        auto a = http(gw.port(), "POST", "/api/v1/orders",
                      order("LIMIT", "3", "\"price\":\"1000.00\",\"client_order_id\":\"rest-k\""),
                      json_headers("k1"));
        ASSERT_EQ(a.status, 201) << a.body;
        EXPECT_EQ(field(a.json(), "status"), "OPEN");
        EXPECT_EQ(gw.stop(), 0);
    }
    // Another store, reconciliation off: nothing but the venue knows of the resting order.
    s.database = "other.db";
    s.reconciliation = "  enabled: false\n";
    o.config = write_config(dir, s, "kill-b");
    GatewayProcess gw(o);
    ASSERT_EQ(gw.get("/api/v1/orders?account_id=ACC1").json().find("items")->items().size(), 0u);
    auto k = http(gw.port(), "DELETE", "/api/v1/orders?account_id=ACC1", "", json_headers("k2"));
    ASSERT_EQ(k.status, 200) << k.body;
    ASSERT_EQ(k.json().find("cancelled")->items().size(), 1u) << k.body;
    EXPECT_EQ(k.json().find("failed")->items().size(), 0u) << k.body;
    EXPECT_EQ(field(k.json(), "venue_checked"), "true") << k.body;
    // The venue's truth: its order is cancelled.
    std::string venue_status;
    for (const auto& rec : journal(dir + "/paper.journal", "O"))
        if (rec.at("cid") == "rest-k") venue_status = rec.at("status");
    EXPECT_EQ(venue_status, "CANCELLED");
    auto rest = gw.get("/api/v1/orders/client_order_id:rest-k");
    ASSERT_EQ(rest.status, 200) << rest.body;
    EXPECT_EQ(field(rest.json(), "status"), "CANCELLED");
    EXPECT_EQ(field(rest.json(), "extra.external"), "true") << rest.body;
}

}  // namespace
}  // namespace ordergate::testing
