// GTT orders end to end: the real gateway, the paper broker (its seeded random walk is the price
// feed, its journal the venue's truth), SQLite, over HTTP.
//
//  - an OCO fires one leg when the price reaches it, places exactly one order at the venue
//    (under the leg's derived client order id, source `gtt`, extra gtt_id/emulated) and
//    cancels the other leg;
//  - an active GTT survives kill -9 and restart, is cancelled by DELETE, and says so after;
//  - every invalid GTT is refused with its code and the fields at fault.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <thread>

#include "gateway_process.hpp"
#include "ordergate/decimal.hpp"

namespace ordergate::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string write_config(const std::string& dir, bool native = false,
                         const std::string& name = "gtt", bool silent = false) {
    const std::string path = dir + "/" + name + ".yaml";
    std::ofstream out(path);
    out << "http:\n  host: 127.0.0.1\n  port: ${PORT}\n  shutdown_grace_seconds: 2\n"
           "plugin_dirs:\n  - ${OG_PLUGIN_DIR}\n"
           "storage:\n  plugin: storage-sqlite\n  settings:\n    path: ${OG_DATA_DIR}/og.db\n"
           "brokers:\n  - name: paper\n    plugin: broker-paper\n    timeout_ms: 1000\n"
           "    settings:\n      seed: 11\n      journal_path: ${OG_DATA_DIR}/paper.journal\n"
           "      accounts: \"ACC1,ACC2\"\n      initial_cash: 100000000\n      currency: INR\n"
           "      tick_ms: 10\n      prices:\n        INFY: 1500.00\n"
        << (native ? "      native_gtt: true\n" : "")
        << (silent ? "      fault:\n        silent_stream: true\n" : "")
        << "accounts:\n  - {id: ACC1, broker: paper}\n  - {id: ACC2, broker: paper}\n"
           "risk:\n  max_quantity: 100000\n"
           "gtt:\n  max_price_age_seconds: 30\n  reload_seconds: 1\n"
           "auth:\n  enabled: false\nlogging:\n  level: ${OG_LOG_LEVEL:-warn}\n";
    return path;
}

bool eventually(const std::function<bool()>& probe, seconds limit = seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (probe()) return true;
        std::this_thread::sleep_for(milliseconds(20));
    }
    return probe();
}

std::string leg(const std::string& trigger, const std::string& side = "SELL") {
    return "{\"trigger_price\":\"" + trigger + "\",\"order\":{\"side\":\"" + side +
           "\",\"order_type\":\"MARKET\",\"quantity\":\"2\"}}";
}

std::string gtt_body(const std::string& type, const std::vector<std::string>& legs,
                     const std::string& more = "") {
    std::string b =
        "{\"account_id\":\"ACC1\",\"symbol\":\"INFY\",\"exchange\":\"NSE\",\"type\":\"" + type +
        "\",\"triggers\":[";
    for (size_t i = 0; i < legs.size(); ++i) b += (i ? "," : "") + legs[i];
    return b + "]" + (more.empty() ? "" : "," + more) + "}";
}

HttpResult post_gtt(const GatewayProcess& gw, const std::string& body, const std::string& key) {
    return http(gw.port(), "POST", "/api/v1/gtt", body, json_headers(key));
}

// The venue's order records (journal "O" lines) whose client order id starts with `prefix`.
std::map<std::string, std::string> venue_orders(const std::string& journal,
                                                const std::string& prefix) {
    std::map<std::string, std::string> out;  // cid -> last status
    std::ifstream in(journal);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("O\t", 0) != 0) continue;
        auto value = [&](const std::string& k) {
            size_t at = line.find("\t" + k + "=");
            if (at == std::string::npos) return std::string();
            at += k.size() + 2;
            return line.substr(at, line.find('\t', at) - at);
        };
        const std::string cid = value("cid");
        if (cid.rfind(prefix, 0) == 0) out[cid] = value("status");
    }
    return out;
}

// The venue's orders (journal "O" lines) whose client order id starts with `prefix`: order number
// -> client order id, each order once however many snapshots of it the journal holds.
std::map<std::string, std::string> venue_order_numbers(const std::string& journal,
                                                       const std::string& prefix) {
    std::map<std::string, std::string> out;
    std::ifstream in(journal);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("O\t", 0) != 0) continue;
        auto value = [&](const std::string& k) {
            size_t at = line.find("\t" + k + "=");
            if (at == std::string::npos) return std::string();
            at += k.size() + 2;
            return line.substr(at, line.find('\t', at) - at);
        };
        const std::string cid = value("cid");
        if (cid.rfind(prefix, 0) == 0) out[value("n")] = cid;
    }
    return out;
}

// A field of the GTT's i-th trigger ("null" when null).
std::string trig(const json::Value& gtt, size_t i, const std::string& path) {
    const json::Value* t = gtt.find("triggers");
    if (!t || !t->is_array() || t->items().size() <= i) return "";
    return field(t->items()[i], path);
}

// The last price, as a GTT far from it reports it (the price a GTT is armed against).
Decimal last_price(const GatewayProcess& gw, int* n) {
    HttpResult r;
    EXPECT_TRUE(eventually([&] {
        r = post_gtt(gw, gtt_body("SINGLE", {leg("99999.00")}), "probe-" + std::to_string(++*n));
        return r.status == 201;
    })) << r.status
        << " " << r.body;
    const std::string id = field(r.json(), "id");
    http(gw.port(), "DELETE", "/api/v1/gtt/" + id, "", json_headers("probe-del-" + id));
    return Decimal::must_parse(field(r.json(), "last_price"));
}

TEST(Gtt, AnOcoFiresOneLegPlacesOneOrderAtTheVenueAndCancelsTheOther) {
    GatewayOptions o;
    o.data_dir = make_temp_dir("og-gtt-oco");
    o.config = write_config(o.data_dir);
    GatewayProcess gw(o);
    int n = 0;
    HttpResult created;
    // Legs a few ticks either side of the last price: the walk reaches one of them soon.
    ASSERT_TRUE(eventually([&] {
        const Decimal last = last_price(gw, &n);
        const Decimal step = Decimal::must_parse("0.25");
        created = post_gtt(gw,
                           gtt_body("OCO", {leg((last + step).to_string()),
                                            leg((last - step).to_string(), "BUY")}),
                           "oco-" + std::to_string(++n));
        return created.status == 201;
    })) << created.status
        << " " << created.body;
    EXPECT_EQ(field(created.json(), "status"), "ACTIVE");
    EXPECT_EQ(field(created.json(), "emulated"), "true");
    const std::string id = field(created.json(), "id");
    EXPECT_EQ(created.header("location"), "/api/v1/gtt/" + id);

    HttpResult g;
    ASSERT_TRUE(eventually([&] {
        g = gw.get("/api/v1/gtt/" + id);
        const json::Value v = g.json();
        return field(v, "status") == "TRIGGERED" &&
               (trig(v, 0, "order_id") != "null") + (trig(v, 1, "order_id") != "null") == 1;
    })) << g.body;
    const int fired = field(g.json(), "triggered_leg") == "0" ? 0 : 1;
    const int other = 1 - fired;
    EXPECT_EQ(trig(g.json(), fired, "status"), "TRIGGERED") << g.body;
    EXPECT_EQ(trig(g.json(), other, "status"), "CANCELLED") << g.body;
    const std::string order_id = trig(g.json(), fired, "order_id");

    auto order = gw.get("/api/v1/orders/" + order_id);
    ASSERT_EQ(order.status, 200) << order.body;
    const std::string cid = id + "-leg" + std::to_string(fired + 1);
    EXPECT_EQ(field(order.json(), "client_order_id"), cid);
    EXPECT_EQ(field(order.json(), "extra.gtt_id"), id);
    EXPECT_EQ(field(order.json(), "extra.emulated"), "true");
    EXPECT_EQ(field(order.json(), "side"), fired == 0 ? "SELL" : "BUY");
    const std::string events = gw.get("/api/v1/orders/" + order_id + "/events").body;
    EXPECT_NE(events.find("\"source\":\"gtt\""), std::string::npos) << events;

    // The venue's truth: one order of this GTT, the fired leg's; the price keeps walking across
    // both triggers meanwhile, and nothing more is placed.
    std::this_thread::sleep_for(seconds(2));
    auto venue = venue_orders(o.data_dir + "/paper.journal", id);
    ASSERT_EQ(venue.size(), 1u);
    EXPECT_EQ(venue.begin()->first, cid);
    EXPECT_EQ(field(gw.get("/api/v1/gtt/" + id).json(), "status"), "TRIGGERED");
    // A triggered GTT is no longer modifiable.
    auto late = http(gw.port(), "PUT", "/api/v1/gtt/" + id, gtt_body("SINGLE", {leg("99999.00")}),
                     json_headers("late"));
    EXPECT_EQ(late.status, 409) << late.body;
    EXPECT_EQ(field(late.json(), "code"), "GTT_NOT_MODIFIABLE");
}

TEST(Gtt, AnActiveGttSurvivesAKillAndRestartThenDeleteCancelsIt) {
    GatewayOptions o;
    o.data_dir = make_temp_dir("og-gtt-restart");
    o.config = write_config(o.data_dir);
    std::string id;
    {
        GatewayProcess gw(o);
        HttpResult r;
        ASSERT_TRUE(eventually([&] {
            r = post_gtt(gw, gtt_body("SINGLE", {leg("99999.00")}, "\"expires_at\":null"), "s1");
            return r.status == 201;
        })) << r.body;
        id = field(r.json(), "id");
        auto list = gw.get("/api/v1/gtt?account_id=ACC1").json();
        ASSERT_EQ(list.find("items")->items().size(), 1u);
        gw.kill_hard();
    }
    GatewayProcess gw(o);
    auto g = gw.get("/api/v1/gtt/" + id);
    ASSERT_EQ(g.status, 200) << g.body;
    EXPECT_EQ(field(g.json(), "status"), "ACTIVE");
    EXPECT_EQ(trig(g.json(), 0, "trigger_price"), "99999.00");
    auto d = http(gw.port(), "DELETE", "/api/v1/gtt/" + id, "", json_headers("d1"));
    ASSERT_EQ(d.status, 200) << d.body;
    EXPECT_EQ(field(d.json(), "status"), "CANCELLED");
    EXPECT_EQ(field(gw.get("/api/v1/gtt/" + id).json(), "status"), "CANCELLED");
    EXPECT_EQ(gw.get("/api/v1/gtt/gtt_nope").status, 404);
    // Each GTT transition is in the account's event log, as the REST API shows the GTT.
    const std::string log = gw.get("/api/v1/events?account_id=ACC1&limit=100").body;
    EXPECT_NE(log.find("\"topic\":\"gtt\""), std::string::npos) << log;
    EXPECT_NE(log.find("\"id\":\"" + id + "\",\"account_id\":\"ACC1\""), std::string::npos) << log;
    EXPECT_NE(log.find("\"status\":\"CANCELLED\",\"emulated\":true"), std::string::npos) << log;
}

TEST(Gtt, EveryInvalidGttIsRefusedWithItsCodeAndFields) {
    GatewayOptions o;
    o.data_dir = make_temp_dir("og-gtt-bad");
    o.config = write_config(o.data_dir);
    GatewayProcess gw(o);
    // The detail of a VALIDATION_FAILED names the first field in error, as for an order.
    auto refused = [&](const std::string& body, int status, const std::string& code,
                       const std::string& field_name) {
        static int k = 0;
        auto r = post_gtt(gw, body, "bad-" + std::to_string(++k));
        EXPECT_EQ(r.status, status) << body << " -> " << r.body;
        EXPECT_EQ(field(r.json(), "code"), code) << r.body;
        if (!field_name.empty()) {
            EXPECT_NE(r.body.find("\"field\":\"" + field_name + "\""), std::string::npos) << r.body;
            const json::Value doc = r.json();
            const json::Value* errors = doc.find("errors");
            ASSERT_TRUE(errors && errors->is_array() && !errors->items().empty()) << r.body;
            const std::string first = field(errors->items().front(), "field");
            EXPECT_EQ(field(doc, "detail").rfind(first + " ", 0), 0u) << r.body;
        }
    };
    refused(gtt_body("OCO", {leg("1.00")}), 422, "VALIDATION_FAILED", "triggers");
    refused(gtt_body("BRACKET", {leg("1.00")}), 422, "VALIDATION_FAILED", "type");
    refused(gtt_body("SINGLE", {}), 422, "VALIDATION_FAILED", "triggers");
    refused(gtt_body("SINGLE", {"{\"trigger_price\":\"-1\",\"order\":{\"side\":\"BUY\","
                                "\"order_type\":\"MARKET\",\"quantity\":\"1\"}}"}),
            422, "VALIDATION_FAILED", "triggers[0].trigger_price");
    refused(gtt_body("SINGLE", {"{\"trigger_price\":\"1\",\"order\":{\"side\":\"BUY\","
                                "\"order_type\":\"LIMIT\",\"quantity\":\"1\","
                                "\"account_id\":\"ACC2\"}}"}),
            422, "VALIDATION_FAILED", "triggers[0].order.account_id");
    // A leg may repeat the GTT's instrument (an order request without account_id, as API.md
    // has it), but not name another, and never its own client order id (the gateway derives it:
    // that is what places a leg once).
    auto leg_with = [](const std::string& fields) {
        return "{\"trigger_price\":\"99999.00\",\"order\":{" + fields +
               "\"side\":\"SELL\",\"order_type\":\"MARKET\",\"quantity\":\"1\"}}";
    };
    refused(gtt_body("SINGLE", {leg_with("\"symbol\":\"TCS\",")}), 422, "VALIDATION_FAILED",
            "triggers[0].order.symbol");
    refused(gtt_body("SINGLE", {leg_with("\"exchange\":\"BSE\",")}), 422, "VALIDATION_FAILED",
            "triggers[0].order.exchange");
    refused(gtt_body("SINGLE", {leg_with("\"client_order_id\":\"mine-1\",")}), 422,
            "VALIDATION_FAILED", "triggers[0].order.client_order_id");
    refused(gtt_body("SINGLE", {leg("99999.00")}, "\"expires_at\":\"2001-01-01T00:00:00Z\""), 422,
            "VALIDATION_FAILED", "expires_at");
    refused(gtt_body("SINGLE", {leg("99999.00")}, "\"expires_at\":\"tomorrow\""), 422,
            "VALIDATION_FAILED", "expires_at");
    // Both legs above the last price: not an OCO.
    refused(gtt_body("OCO", {leg("99998.00"), leg("99999.00")}), 422, "VALIDATION_FAILED",
            "triggers");
    std::string other = gtt_body("SINGLE", {leg("99999.00")});
    other.replace(other.find("ACC1"), 4, "ACC9");
    refused(other, 404, "NOT_FOUND", "");
    refused("{\"account_id\":", 400, "MALFORMED_JSON", "");
    EXPECT_EQ(gw.get("/api/v1/gtt?account_id=ACC1").json().find("items")->items().size(), 0u);

    // The same instrument repeated in a leg is the GTT's own: taken.
    auto same = post_gtt(gw,
                         gtt_body("SINGLE", {leg_with("\"account_id\":\"ACC1\",\"symbol\":"
                                                      "\"INFY\",\"exchange\":\"NSE\",")}),
                         "same-instrument");
    ASSERT_EQ(same.status, 201) << same.body;
    // A modify that moves the GTT to another instrument names each field it would change.
    auto moved = gtt_body("SINGLE", {leg("99999.00")});
    moved.replace(moved.find("INFY"), 4, "TCS");
    auto m = http(gw.port(), "PUT", "/api/v1/gtt/" + field(same.json(), "id"), moved,
                  json_headers("move-instrument"));
    EXPECT_EQ(m.status, 422) << m.body;
    EXPECT_NE(m.body.find("\"field\":\"symbol\""), std::string::npos) << m.body;
    EXPECT_EQ(m.body.find("\"field\":\"account_id\""), std::string::npos) << m.body;
    EXPECT_EQ(field(m.json(), "detail").rfind("symbol cannot change", 0), 0u) << m.body;
}

// The paper venue of the crash test: `latency_ms` between the venue acting and its ack (the order
// exists at the venue while the gateway waits), every ack and push event lost and no periodic
// reconciliation soon (`lose_acks`: the order stays PENDING_NEW), `send_delay_ms`
// before a request leaves (the order's intent is stored, the venue has nothing yet).
std::string write_crash_config(const std::string& dir, const std::string& name, int latency_ms,
                               bool lose_acks, int send_delay_ms = 0) {
    const std::string path = dir + "/" + name + ".yaml";
    std::ofstream out(path);
    out << "http:\n  host: 127.0.0.1\n  port: ${PORT}\n  shutdown_grace_seconds: 2\n"
           "plugin_dirs:\n  - ${OG_PLUGIN_DIR}\n"
           "storage:\n  plugin: storage-sqlite\n  settings:\n    path: ${OG_DATA_DIR}/og.db\n"
           "brokers:\n  - name: paper\n    plugin: broker-paper\n    timeout_ms: 3000\n"
           "    settings:\n      seed: 11\n      journal_path: ${OG_DATA_DIR}/paper.journal\n"
           "      accounts: \"ACC1\"\n      initial_cash: 100000000\n      currency: INR\n"
           "      tick_ms: 10\n      prices:\n        INFY: 1500.00\n"
        << "      latency_ms: " << latency_ms << "\n      send_delay_ms: " << send_delay_ms << "\n"
        << (lose_acks
                ? "      fault:\n        timeout_after_send_ratio: 1\n        silent_stream: true\n"
                : "")
        << "accounts:\n  - {id: ACC1, broker: paper}\n"
           "risk:\n  max_quantity: 100000\n"
           "reconciliation:\n  interval_seconds: "
        << (lose_acks ? 60 : 1)
        << "\n  grace_period_seconds: 3\n"
           "  not_found_answers: 2\n  silent_stream_seconds: 0\n"
           "gtt:\n  max_price_age_seconds: 30\n  reload_seconds: 1\n"
           "auth:\n  enabled: false\nlogging:\n  level: ${OG_LOG_LEVEL:-warn}\n";
    return path;
}

// An OCO a few ticks either side of the last price (the walk reaches one leg soon); its id.
std::string arm_oco(const GatewayProcess& gw, int* n) {
    HttpResult created;
    EXPECT_TRUE(eventually([&] {
        const Decimal last = last_price(gw, n);
        const Decimal step = Decimal::must_parse("0.25");
        created = post_gtt(gw,
                           gtt_body("OCO", {leg((last + step).to_string()),
                                            leg((last - step).to_string(), "BUY")}),
                           "crash-oco-" + std::to_string(++*n));
        return created.status == 201;
    })) << created.status
        << " " << created.body;
    return field(created.json(), "id");
}

// kill -9 between a GTT's trigger and its order's ack, at several moments, then a restart on the
// same data: the venue (its journal is the broker's truth) has exactly one order for the fired
// leg, the GTT is TRIGGERED with that order, and no order is left PENDING_NEW. Moments:
//  - the order is at the venue and its ack is on the way (latency_ms);
//  - the order is at the venue and its ack was lost: the order is PENDING_NEW at the gateway
//    until reconciliation settles it after the restart (the GTT records it then);
//  - the order is at the venue and its ack arrived (the GTT records it right after; a restart
//    must not place it again);
//  - the order's intent is stored and it has not left for the venue: reconciliation finds it
//    nowhere and rejects it (NOT_FOUND_AT_BROKER), so the leg is placed again under the next
//    client order id of the leg, once.
TEST(Gtt, AKillBetweenTriggerAndAckPlacesTheLegOnceAfterRestart) {
    const std::string dir = make_temp_dir("og-gtt-crash");
    const std::string journal = dir + "/paper.journal";
    const std::string calm = write_crash_config(dir, "calm", 0, false);
    struct Moment {
        std::string name;
        std::string config;
        // True once the gateway is to be killed, given the GTT and the venue's orders of it.
        std::function<bool(uint16_t port, const json::Value& gtt, size_t venue_orders)> now;
    };
    auto order_of = [](const json::Value& g) {
        const int fired = field(g, "triggered_leg") == "0" ? 0 : 1;
        return trig(g, fired, "order_id");
    };
    std::vector<Moment> moments = {
        {"at the venue, ack on the way", write_crash_config(dir, "slow-ack", 1500, false),
         [](uint16_t, const json::Value&, size_t venue) { return venue > 0; }},
        {"at the venue, ack lost, the order PENDING_NEW at the gateway",
         write_crash_config(dir, "lost-ack", 0, true),
         [](uint16_t port, const json::Value& g, size_t venue) {
             auto pending = http(port, "GET", "/api/v1/orders?account_id=ACC1&status=PENDING_NEW");
             return venue > 0 && pending.body.find(field(g, "id") + "-leg") != std::string::npos;
         }},
        {"at the venue, acked", calm,
         [](uint16_t, const json::Value&, size_t venue) { return venue > 0; }},
        {"stored, not sent", write_crash_config(dir, "send-delay", 0, false, 2000),
         [](uint16_t port, const json::Value& g, size_t venue) {
             auto pending = http(port, "GET", "/api/v1/orders?account_id=ACC1&status=PENDING_NEW");
             return venue == 0 && pending.body.find(field(g, "id") + "-leg") != std::string::npos;
         }},
    };
    std::vector<std::string> gtts;
    int n = 0;
    for (const Moment& m : moments) {
        SCOPED_TRACE(m.name);
        GatewayOptions o;
        o.data_dir = dir;
        o.config = m.config;
        std::string id;
        {
            GatewayProcess gw(o);
            id = arm_oco(gw, &n);
            ASSERT_FALSE(id.empty());
            gtts.push_back(id);
            HttpResult g;
            ASSERT_TRUE(eventually([&] {
                g = gw.get("/api/v1/gtt/" + id);
                return m.now(gw.port(), g.json(), venue_order_numbers(journal, id).size());
            })) << g.body;
            gw.kill_hard();
        }
        o.config = calm;
        GatewayProcess gw(o);
        HttpResult g, order;
        ASSERT_TRUE(eventually([&] {
            g = gw.get("/api/v1/gtt/" + id);
            const std::string oid = order_of(g.json());
            if (field(g.json(), "status") != "TRIGGERED" || oid == "null" || oid.empty())
                return false;
            order = gw.get("/api/v1/orders/" + oid);
            return order.status == 200 && field(order.json(), "status") != "PENDING_NEW";
        })) << g.body
            << "\n"
            << order.body;
        const int fired = field(g.json(), "triggered_leg") == "0" ? 0 : 1;
        const std::string leg_cid = id + "-leg" + std::to_string(fired + 1);
        const auto venue = venue_order_numbers(journal, id);
        ASSERT_EQ(venue.size(), 1u) << "the venue's orders of " << id;
        // The leg's client order id, or (placed again) the next one of the leg.
        const std::string cid = venue.begin()->second;
        EXPECT_TRUE(cid == leg_cid || cid.rfind(leg_cid + "-", 0) == 0) << cid;
        EXPECT_EQ(field(order.json(), "client_order_id"), cid) << order.body;
        EXPECT_EQ(field(order.json(), "broker_order_id"), "P-" + venue.begin()->first)
            << order.body;
        EXPECT_EQ(trig(g.json(), 1 - fired, "status"), "CANCELLED") << g.body;
        auto pending = gw.get("/api/v1/orders?account_id=ACC1&status=PENDING_NEW");
        ASSERT_EQ(pending.status, 200) << pending.body;
        EXPECT_EQ(pending.json().find("items")->items().size(), 0u) << pending.body;
    }
    // Every GTT of every round still has exactly one order at the venue.
    for (const std::string& id : gtts) EXPECT_EQ(venue_order_numbers(journal, id).size(), 1u) << id;
}

// ---- native GTT (ABI 1.5): the paper venue keeps the GTT (native_gtt: true) ------------------

// The venue's last record of one GTT (journal "G" lines): key -> value; empty when none.
std::map<std::string, std::string> venue_gtt(const std::string& journal, const std::string& gid) {
    std::map<std::string, std::string> out;
    std::ifstream in(journal);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("G\t", 0) != 0) continue;
        std::map<std::string, std::string> rec;
        size_t at = 2;
        while (at <= line.size()) {
            size_t end = line.find('\t', at);
            if (end == std::string::npos) end = line.size();
            const std::string kv = line.substr(at, end - at);
            const size_t eq = kv.find('=');
            if (eq != std::string::npos) rec[kv.substr(0, eq)] = kv.substr(eq + 1);
            at = end + 1;
        }
        if (rec["gid"] == gid) out = rec;
    }
    return out;
}

// A GTT a few ticks from the last price (the walk reaches a leg soon); its creation answer.
HttpResult arm_near(const GatewayProcess& gw, const std::string& type, int* n) {
    HttpResult created;
    EXPECT_TRUE(eventually([&] {
        const Decimal last = last_price(gw, n);
        const Decimal step = Decimal::must_parse("0.25");
        std::vector<std::string> legs{leg((last + step).to_string())};
        if (type == "OCO") legs.push_back(leg((last - step).to_string(), "BUY"));
        created = post_gtt(gw, gtt_body(type, legs), "near-" + std::to_string(++*n));
        // The walk may have moved past a leg before the venue armed it (an OCO whose legs are
        // then on one side is refused there: REJECTED): try again.
        return created.status == 201 && field(created.json(), "status") == "ACTIVE";
    })) << created.status
        << " " << created.body;
    return created;
}

TEST(NativeGtt, ASingleFiresOnceAtTheVenueAndTheHostFollowsWithItsOrder) {
    GatewayOptions o;
    o.data_dir = make_temp_dir("og-ngtt-single");
    o.config = write_config(o.data_dir, true);
    GatewayProcess gw(o);
    const std::string journal = o.data_dir + "/paper.journal";
    int n = 0;
    HttpResult created = arm_near(gw, "SINGLE", &n);
    EXPECT_EQ(field(created.json(), "emulated"), "false") << created.body;
    EXPECT_EQ(field(created.json(), "status"), "ACTIVE");
    const std::string id = field(created.json(), "id");
    HttpResult g;
    ASSERT_TRUE(eventually([&] {
        g = gw.get("/api/v1/gtt/" + id);
        return field(g.json(), "status") == "TRIGGERED" && trig(g.json(), 0, "order_id") != "null";
    })) << g.body;
    EXPECT_EQ(field(g.json(), "emulated"), "false");
    // The venue fired it (its G record says TRIGGERED: had the host placed the leg's order, the
    // venue's own placement under the same client order id would have been refused, REJECTED).
    auto vg = venue_gtt(journal, id);
    EXPECT_EQ(vg["status"], "TRIGGERED");
    EXPECT_EQ(vg["ocid"], id + "-leg1");
    const std::string order_id = trig(g.json(), 0, "order_id");
    auto order = gw.get("/api/v1/orders/" + order_id);
    ASSERT_EQ(order.status, 200) << order.body;
    EXPECT_EQ(field(order.json(), "client_order_id"), id + "-leg1");
    EXPECT_EQ(field(order.json(), "account_id"), "ACC1");
    EXPECT_EQ(field(order.json(), "broker_order_id"), vg["order"]);
    EXPECT_EQ(field(order.json(), "extra.gtt_id"), id);
    EXPECT_EQ(field(order.json(), "extra.emulated"), "false");
    const std::string events = gw.get("/api/v1/orders/" + order_id + "/events").body;
    EXPECT_NE(events.find("\"source\":\"gtt\""), std::string::npos) << events;
    EXPECT_NE(events.find("placed by the broker for gtt " + id), std::string::npos) << events;
    EXPECT_EQ(events.find("\"emulated\":true"), std::string::npos) << events;
    // The walk keeps crossing the trigger: still one order at the venue, one at the host.
    std::this_thread::sleep_for(seconds(2));
    EXPECT_EQ(venue_order_numbers(journal, id).size(), 1u);
    auto orders = gw.get("/api/v1/orders?account_id=ACC1&limit=100").body;
    size_t count = 0;
    for (size_t at = orders.find(id + "-leg"); at != std::string::npos;
         at = orders.find(id + "-leg", at + 1))
        ++count;
    EXPECT_EQ(count, 1u) << orders;
    // The GTT's transitions are in the event log (topic gtt), emulated false.
    const std::string log = gw.get("/api/v1/events?account_id=ACC1&limit=200").body;
    EXPECT_NE(log.find("\"status\":\"TRIGGERED\",\"emulated\":false"), std::string::npos) << log;
}

TEST(NativeGtt, AnOcoFiresOneLegAndTheVenueCancelsTheOther) {
    GatewayOptions o;
    o.data_dir = make_temp_dir("og-ngtt-oco");
    o.config = write_config(o.data_dir, true);
    GatewayProcess gw(o);
    const std::string journal = o.data_dir + "/paper.journal";
    int n = 0;
    const std::string id = field(arm_near(gw, "OCO", &n).json(), "id");
    HttpResult g;
    ASSERT_TRUE(eventually([&] {
        g = gw.get("/api/v1/gtt/" + id);
        return field(g.json(), "status") == "TRIGGERED";
    })) << g.body;
    const int fired = field(g.json(), "triggered_leg") == "0" ? 0 : 1;
    EXPECT_EQ(trig(g.json(), fired, "status"), "TRIGGERED") << g.body;
    EXPECT_EQ(trig(g.json(), 1 - fired, "status"), "CANCELLED") << g.body;
    EXPECT_EQ(trig(g.json(), 1 - fired, "order_id"), "null") << g.body;
    auto vg = venue_gtt(journal, id);
    EXPECT_EQ(vg["tleg"], std::to_string(fired));
    EXPECT_EQ(vg["st" + std::to_string(fired)], "TRIGGERED");
    EXPECT_EQ(vg["st" + std::to_string(1 - fired)], "CANCELLED");
    std::this_thread::sleep_for(seconds(2));
    auto venue = venue_order_numbers(journal, id);
    ASSERT_EQ(venue.size(), 1u);
    EXPECT_EQ(venue.begin()->second, id + "-leg" + std::to_string(fired + 1));
}

TEST(NativeGtt, ModifyAndDeleteWhileActiveReachTheVenue) {
    GatewayOptions o;
    o.data_dir = make_temp_dir("og-ngtt-modify");
    o.config = write_config(o.data_dir, true);
    GatewayProcess gw(o);
    const std::string journal = o.data_dir + "/paper.journal";
    HttpResult r;
    ASSERT_TRUE(eventually([&] {
        r = post_gtt(gw, gtt_body("SINGLE", {leg("99999.00")}), "m1");
        return r.status == 201;
    })) << r.body;
    const std::string id = field(r.json(), "id");
    EXPECT_EQ(venue_gtt(journal, id)["trig0"], "99999.00");
    auto m = http(gw.port(), "PUT", "/api/v1/gtt/" + id, gtt_body("SINGLE", {leg("88888.00")}),
                  json_headers("m2"));
    ASSERT_EQ(m.status, 200) << m.body;
    EXPECT_EQ(trig(m.json(), 0, "trigger_price"), "88888.00");
    auto vg = venue_gtt(journal, id);
    EXPECT_EQ(vg["ev"], "modified");
    EXPECT_EQ(vg["trig0"], "88888.00");
    auto d = http(gw.port(), "DELETE", "/api/v1/gtt/" + id, "", json_headers("m3"));
    ASSERT_EQ(d.status, 200) << d.body;
    EXPECT_EQ(field(d.json(), "status"), "CANCELLED");
    EXPECT_EQ(venue_gtt(journal, id)["status"], "CANCELLED");
    EXPECT_EQ(field(gw.get("/api/v1/gtt/" + id).json(), "status"), "CANCELLED");
}

// The venue fires while the gateway does not hear it (its push stream is silent), the gateway
// is killed, and the restarted one learns the trigger from the venue (list_gtts at start): the
// GTT is TRIGGERED with the venue's order, stored once, on the GTT's account.
TEST(NativeGtt, ATriggerTheGatewayMissedIsFollowedAfterARestartOnce) {
    GatewayOptions o;
    o.data_dir = make_temp_dir("og-ngtt-restart");
    const std::string journal = o.data_dir + "/paper.journal";
    o.config = write_config(o.data_dir, true, "silent", true);
    std::string id;
    {
        GatewayProcess gw(o);
        int n = 0;
        id = field(arm_near(gw, "SINGLE", &n).json(), "id");
        ASSERT_FALSE(id.empty());
        ASSERT_TRUE(eventually([&] { return venue_gtt(journal, id)["status"] == "TRIGGERED"; }));
        gw.kill_hard();
    }
    o.config = write_config(o.data_dir, true, "calm");
    GatewayProcess gw(o);
    HttpResult g;
    ASSERT_TRUE(eventually([&] {
        g = gw.get("/api/v1/gtt/" + id);
        return field(g.json(), "status") == "TRIGGERED" && trig(g.json(), 0, "order_id") != "null";
    })) << g.body;
    const std::string order_id = trig(g.json(), 0, "order_id");
    auto order = gw.get("/api/v1/orders/" + order_id);
    ASSERT_EQ(order.status, 200) << order.body;
    EXPECT_EQ(field(order.json(), "client_order_id"), id + "-leg1");
    EXPECT_EQ(field(order.json(), "account_id"), "ACC1");
    EXPECT_EQ(field(order.json(), "broker_order_id"), venue_gtt(journal, id)["order"]);
    // The venue's state of that order (a MARKET order fills at once), not the leg's terms.
    EXPECT_EQ(field(order.json(), "status"), "FILLED") << order.body;
    EXPECT_EQ(venue_order_numbers(journal, id).size(), 1u);
    // A later follow (reload every second) stores nothing twice.
    std::this_thread::sleep_for(seconds(2));
    auto again = gw.get("/api/v1/gtt/" + id);
    EXPECT_EQ(field(again.json(), "version"), field(g.json(), "version")) << again.body;
    auto orders = gw.get("/api/v1/orders?account_id=ACC1&limit=100").body;
    EXPECT_EQ(orders.find(id + "-leg1"), orders.rfind(id + "-leg1")) << orders;
}

}  // namespace
}  // namespace ordergate::testing
