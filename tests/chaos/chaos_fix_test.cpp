// Chaos with two gateway instances: PostgreSQL storage and Redis idempotency shared by both, each
// trading over its own FIX 4.4 session with ordergate-fix-venue (one firm at the venue, so each
// sees the other's orders). Clients place, modify and cancel with Idempotency-Keys through either
// gateway, half the places without a client order id; a gateway is killed with SIGKILL at random
// moments and restarted, and a client whose gateway died retries the same request, same key, on
// the other. The venue's price moves all along, so resting orders fill while their gateway is
// down. Then the price stops, both gateways run, and reconciliation is left to settle.
//
// Checked against the venue's book (its dump: the broker's truth) and the shared storage:
//  - every request reached the venue at most once (each place has its own quantity);
//  - every order the venue has is stored, with the venue's status and filled quantity; nothing is
//    left PENDING_*;
//  - the stored fills are the venue's executions, one each, on their own orders;
//  - the position equals the sum of the venue's executions, on both running instances (each
//    follows the other's fills through the event log) and on one started at the end;
//  - reconciliation ran under its lease: no two finished runs of the broker overlap in time;
//  - every client got an answer.
// It prints the counts. CHAOS_FIX_KILLS (default 10) sets the number of kills.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "chaos_support.hpp"
#include "gateway_process.hpp"
#include "ordergate/decimal.hpp"
#include "services.hpp"
#include "venue_process.hpp"

namespace ordergate::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::string write_config(const std::string& dir, const std::string& schema) {
    const std::string path = dir + "/gateway.yaml";
    std::ofstream out(path);
    out << "http:\n  host: 127.0.0.1\n  port: ${PORT}\n  max_threads: 32\n"
           "  shutdown_grace_seconds: 2\n"
           "plugin_dirs:\n  - ${OG_PLUGIN_DIR}\n"
           "storage:\n  plugin: storage-postgres\n  settings:\n    url: ${DATABASE_URL}\n"
           "    schema: "
        << schema
        << "\n"
           "brokers:\n  - name: fix\n    plugin: broker-fix\n    timeout_ms: 2000\n"
           "    settings:\n      host: 127.0.0.1\n      port: ${FIX_PORT}\n"
           "      begin_string: FIX.4.4\n      sender_comp_id: ${FIX_SENDER_COMP_ID}\n"
           "      target_comp_id: VENUE\n      heartbeat: 5\n      reconnect_interval: 1\n"
           "      data_dir: ${OG_DATA_DIR}/fix\n      status_timeout_ms: 3000\n"
           "accounts:\n  - {id: ACC1, broker: fix}\n"
           "risk:\n  max_quantity: 100000000\n  max_notional: 100000000000\n"
           "  max_orders_per_second: 0\n"
           "reconciliation:\n  interval_seconds: 1\n  grace_period_seconds: 3\n"
           "  not_found_answers: 2\n  silent_stream_seconds: 0\n  lease_seconds: 8\n"
           "idempotency:\n  backend: redis\n  redis_url: ${REDIS_URL}\n  redis_required: true\n"
           // A retry whose gateway died mid-request proceeds 12 s later, not 60.
           "  in_flight_seconds: 12\n"
           "auth:\n  enabled: false\n"
           "logging:\n  level: ${OG_LOG_LEVEL:-warn}\n";
    return path;
}

std::string status_name(const std::string& ord_status) {
    static const std::map<std::string, std::string> names = {
        {"0", "OPEN"},      {"1", "PARTIALLY_FILLED"}, {"2", "FILLED"},
        {"4", "CANCELLED"}, {"8", "REJECTED"},         {"C", "EXPIRED"}};
    auto it = names.find(ord_status);
    return it == names.end() ? "?" + ord_status : it->second;
}

std::string price_text(int cents) {
    return std::to_string(cents / 100) + "." + (cents % 100 < 10 ? "0" : "") +
           std::to_string(cents % 100);
}

struct Request {
    std::string method, path, body, key;
};

TEST(ChaosFix, TwoGatewaysOnPostgresAndRedisOneKilledAtRandomConvergeToTheVenue) {
    const char* env = std::getenv("CHAOS_FIX_KILLS");
    const int kKills = env ? std::atoi(env) : 10;
    const int kThreads = 4;
    const ServiceUrls& svc = shared_services();
    const std::string dir = make_temp_dir("og-chaos-fix");
    const std::string schema = "og_chaos_fix_" + std::to_string(::getpid());

    fixtest::VenueProcess venue(
        dir + "/venue",
        {"--session", "FIX.4.4:GWA", "--session", "FIX.4.4:GWB", "--firm", "ONE=GWA,GWB", "--price",
         "INFY=100.00", "--lp-slice", "40", "--no-message-log"});
    const std::string config = write_config(dir, schema);
    const std::string comp[2] = {"GWA", "GWB"};
    auto options = [&](int i) {
        GatewayOptions o;
        o.config = config;
        o.data_dir = dir + "/gw-" + comp[i];
        o.env = {{"DATABASE_URL", svc.database_url},
                 {"REDIS_URL", svc.redis_url},
                 {"FIX_PORT", std::to_string(venue.port())},
                 {"FIX_SENDER_COMP_ID", comp[i]}};
        return o;
    };
    std::filesystem::create_directories(dir + "/gw-GWA");
    std::filesystem::create_directories(dir + "/gw-GWB");
    std::unique_ptr<GatewayProcess> gw[2];
    gw[0] = std::make_unique<GatewayProcess>(options(0));  // migrates the schema first
    gw[1] = std::make_unique<GatewayProcess>(options(1));
    std::atomic<uint16_t> ports[2];
    ports[0].store(gw[0]->port());
    ports[1].store(gw[1]->port());

    std::atomic<bool> stop{false};
    std::atomic<int> next_place{0}, next_key{0};
    std::atomic<int> retries{0}, unreachable{0}, requests{0}, unanswered{0}, switched{0};
    std::mutex mutex;
    std::map<std::string, int> answers;  // "POST 201" -> count
    std::vector<std::thread> clients;
    for (int t = 0; t < kThreads; ++t) {
        clients.emplace_back([&, t] {
            std::mt19937 rng(4000 + t);
            std::vector<std::string> mine;  // order ids this client was told about
            while (!stop.load()) {
                Request req;
                const int dice = std::uniform_int_distribution<int>(0, 9)(rng);
                req.key = "chaosfix-" + std::to_string(::getpid()) + "-" +
                          std::to_string(next_key.fetch_add(1));
                if (dice < 6 || mine.empty()) {
                    const int n = next_place.fetch_add(1);
                    const bool buy = n % 3 != 0;
                    const int ticks = std::uniform_int_distribution<int>(-6, 3)(rng);
                    req.method = "POST";
                    req.path = "/api/v1/orders";
                    req.body =
                        "{\"account_id\":\"ACC1\",\"symbol\":\"INFY\",\"exchange\":\"NSE\","
                        "\"side\":\"" +
                        std::string(buy ? "BUY" : "SELL") +
                        "\",\"order_type\":\"LIMIT\",\"price\":\"" +
                        price_text(10000 + (buy ? ticks : -ticks) * 5) + "\",\"quantity\":\"" +
                        std::to_string(100 + n) + "\"";
                    if (n % 2 == 0)
                        req.body += ",\"client_order_id\":\"cf" + std::to_string(::getpid()) + "-" +
                                    std::to_string(n) + "\"";
                    req.body += "}";
                } else {
                    const std::string id =
                        mine[std::uniform_int_distribution<size_t>(0, mine.size() - 1)(rng)];
                    req.path = "/api/v1/orders/" + id;
                    if (dice < 8) {
                        req.method = "PUT";
                        const int ticks = std::uniform_int_distribution<int>(-4, 2)(rng);
                        req.body = "{\"price\":\"" + price_text(10000 + ticks * 5) + "\"}";
                    } else {
                        req.method = "DELETE";
                    }
                }
                ++requests;
                int status = 0;
                std::string id;
                int at = std::uniform_int_distribution<int>(0, 1)(rng);
                const auto give_up = Clock::now() + seconds(150);
                while (Clock::now() < give_up) {
                    try {
                        HttpResult r = http(ports[at].load(), req.method, req.path, req.body,
                                            json_headers(req.key));
                        const std::string code = field(r.json(), "code");
                        // In flight (the first try still runs, or died with its gateway until its
                        // marker expires), or a dependency coming back (a FIX session logging
                        // on): ask again.
                        if ((r.status == 409 && code == "IDEMPOTENCY_IN_FLIGHT") ||
                            r.status == 503) {
                            ++retries;
                            std::this_thread::sleep_for(milliseconds(100));
                            continue;
                        }
                        status = r.status;
                        id = field(r.json(), "id");
                        break;
                    } catch (const std::exception&) {
                        // Its gateway died: the same request, same key, on the other one.
                        ++unreachable;
                        ++switched;
                        at = 1 - at;
                        std::this_thread::sleep_for(milliseconds(20));
                    }
                }
                if (status == 0) ++unanswered;
                if (req.method == "POST" && (status == 201 || status == 202) && !id.empty())
                    mine.push_back(id);
                std::lock_guard lock(mutex);
                ++answers[req.method + " " + std::to_string(status)];
            }
        });
    }
    // The market moves: resting orders fill, also while their gateway is down.
    std::thread market([&] {
        std::mt19937 rng(77);
        int cents = 10000;
        while (!stop.load()) {
            cents += 5 * std::uniform_int_distribution<int>(-1, 1)(rng);
            cents = std::max(9960, std::min(10040, cents));
            venue.control("price INFY " + price_text(cents));
            std::this_thread::sleep_for(milliseconds(150));
        }
    });

    std::mt19937 rng(20261202);
    for (int k = 0; k < kKills; ++k) {
        std::this_thread::sleep_for(
            milliseconds(std::uniform_int_distribution<int>(300, 1500)(rng)));
        const int victim = std::uniform_int_distribution<int>(0, 1)(rng);
        gw[victim]->kill_hard();
        gw[victim].reset();
        std::this_thread::sleep_for(milliseconds(std::uniform_int_distribution<int>(0, 800)(rng)));
        gw[victim] = std::make_unique<GatewayProcess>(options(victim));
        ports[victim].store(gw[victim]->port());
    }
    std::this_thread::sleep_for(milliseconds(500));
    stop.store(true);
    for (auto& c : clients) c.join();
    market.join();

    // The market stops; reconciliation settles what the kills left (under the lease, on
    // whichever gateway holds it).
    std::vector<json::Value> orders;
    size_t pending = 0;
    const auto deadline = Clock::now() + seconds(90);
    do {
        std::this_thread::sleep_for(milliseconds(500));
        orders = all_of(gw[0]->port(), "orders");
        pending = 0;
        for (const auto& ord : orders)
            if (field(ord, "status").rfind("PENDING_", 0) == 0) ++pending;
    } while (pending > 0 && Clock::now() < deadline);
    // Two more runs on each after nothing is pending, so that late reports are in too.
    for (int round = 0; round < 2; ++round)
        for (auto& g : gw) {
            http(g->port(), "POST", "/api/v1/reconciliation/run", "", {});
            std::this_thread::sleep_for(milliseconds(1500));
        }
    orders = all_of(gw[1]->port(), "orders");
    const std::vector<json::Value> trades = all_of(gw[1]->port(), "trades");
    // Each running instance's position book: its own fills plus the other's, followed through
    // the event log (within a second). Checked below, with the book of an instance started
    // afterwards (the storage's).
    std::this_thread::sleep_for(milliseconds(1500));
    std::vector<Decimal> live;
    std::string live_positions;
    for (auto& g : gw) {
        const json::Value p = g->get("/api/v1/positions?account_id=ACC1").json();
        Decimal q{0, 0};
        for (const auto& item : p.find("items")->items()) q = q + to_dec(field(item, "quantity"));
        live.push_back(q);
        live_positions += (live_positions.empty() ? "" : ",") + q.to_string();
    }
    ASSERT_EQ(gw[0]->stop(), 0) << gw[0]->log();
    gw[0] = std::make_unique<GatewayProcess>(options(0));
    const json::Value positions = gw[0]->get("/api/v1/positions?account_id=ACC1").json();
    const std::string dump_line = venue.control("dump");
    ASSERT_EQ(dump_line.rfind("OK ", 0), 0u) << dump_line;
    json::Value dump;
    std::string why;
    ASSERT_TRUE(json::parse(dump_line.substr(3), &dump, &why)) << why;

    int violations = 0;
    auto violate = [&](const std::string& what) {
        ++violations;
        ADD_FAILURE() << what;
    };
    // ---- the venue's truth ------------------------------------------------------------------
    std::map<std::string, const json::Value*> venue_by_cid;  // first ClOrdID -> order
    std::map<std::string, int> places_by_qty;
    std::map<std::string, std::string> cid_of_venue_order;  // OrderID -> first ClOrdID
    for (const auto& o : dump.find("orders")->items()) {
        const auto& ids = o.find("cl_ord_ids")->items();
        if (ids.empty()) continue;
        venue_by_cid[ids.front().text()] = &o;
        cid_of_venue_order[field(o, "order_id")] = ids.front().text();
        ++places_by_qty[field(o, "order_qty")];  // modifies change the price only
    }
    for (const auto& [qty, n] : places_by_qty)
        if (n > 1)
            violate("the place with quantity " + qty + " is " + std::to_string(n) +
                    " orders at the venue");
    std::map<std::string, const json::Value*> stored_by_cid;
    for (const auto& ord : orders) {
        if (field(ord, "status").rfind("PENDING_", 0) == 0)
            violate("order " + field(ord, "id") + " left " + field(ord, "status"));
        stored_by_cid[field(ord, "client_order_id")] = &ord;
    }
    for (const auto& [cid, v] : venue_by_cid) {
        auto it = stored_by_cid.find(cid);
        if (it == stored_by_cid.end()) {
            violate("venue order " + field(*v, "order_id") + " (" + cid + ") is not stored");
            continue;
        }
        const json::Value& ord = *it->second;
        if (field(ord, "status") != status_name(field(*v, "ord_status")))
            violate("order " + field(ord, "id") + " is " + field(ord, "status") +
                    ", the venue says " + status_name(field(*v, "ord_status")));
        if (to_dec(field(ord, "filled_quantity")) != to_dec(field(*v, "cum_qty")))
            violate("order " + field(ord, "id") + " filled " + field(ord, "filled_quantity") +
                    ", the venue says " + field(*v, "cum_qty"));
    }
    // Executions: each of our side of a venue trade is one stored fill, on its own order.
    std::map<std::string, std::pair<std::string, Decimal>> venue_exec;  // ExecID -> (cid, qty)
    Decimal venue_position{0, 0};
    for (const auto& t : dump.find("trades")->items()) {
        if (field(t, "busted") == "true") continue;
        for (const char* side : {"buy", "sell"}) {
            const json::Value* s = t.find(side);
            const std::string oid = field(*s, "order_id");
            if (oid.empty() || oid == "null") continue;  // the liquidity provider
            const Decimal qty = to_dec(field(t, "qty"));
            venue_exec[field(*s, "exec_id")] = {cid_of_venue_order[oid], qty};
            venue_position =
                std::string(side) == "buy" ? venue_position + qty : venue_position - qty;
        }
    }
    std::map<std::string, std::string> cid_of_order;
    for (const auto& ord : orders) cid_of_order[field(ord, "id")] = field(ord, "client_order_id");
    std::set<std::string> stored_execs;
    for (const auto& t : trades) {
        const std::string tid = field(t, "broker_trade_id");
        if (!stored_execs.insert(tid).second) violate("trade " + tid + " stored twice");
        auto it = venue_exec.find(tid);
        if (it == venue_exec.end()) {
            violate("stored trade " + tid + " is not the venue's");
            continue;
        }
        if (to_dec(field(t, "quantity")) != it->second.second)
            violate("trade " + tid + " quantity differs");
        if (cid_of_order[field(t, "order_id")] != it->second.first)
            violate("trade " + tid + " is on order " + field(t, "order_id") + ", the venue's is " +
                    it->second.first);
    }
    for (const auto& [tid, v] : venue_exec)
        if (!stored_execs.count(tid)) violate("venue execution " + tid + " is not stored");
    Decimal stored_position{0, 0};
    for (const auto& p : positions.find("items")->items())
        stored_position = stored_position + to_dec(field(p, "quantity"));
    if (stored_position != venue_position)
        violate("position " + stored_position.to_string() + ", the venue's executions sum to " +
                venue_position.to_string());
    for (size_t i = 0; i < live.size(); ++i)
        if (live[i] != venue_position)
            violate("the running gateway " + comp[i] + " shows a position of " +
                    live[i].to_string() + ", the venue's executions sum to " +
                    venue_position.to_string());
    if (unanswered.load() > 0)
        violate(std::to_string(unanswered.load()) + " requests never got an answer");

    // One reconciler at a time: the lease intervals of finished runs (from taking the lease to
    // the run's final record) never overlap. A run whose gateway was killed has no final record;
    // its lease expired before another run could take it.
    PgSession pg(svc.database_url);
    auto runs = pg.query("SELECT report_json FROM " + schema +
                         ".recon_runs WHERE broker = 'fix' AND finished_at_ns > 0 "
                         "AND status <> 'SKIPPED'");
    auto number = [](const std::string& json, const std::string& key) -> int64_t {
        const size_t at = json.find("\"" + key + "\":");
        return at == std::string::npos ? 0 : std::stoll(json.substr(at + key.size() + 3));
    };
    std::vector<std::pair<int64_t, int64_t>> held;
    for (const auto& r : runs) {
        const int64_t from = number(r[0], "lease_from_ns");
        const int64_t until = number(r[0], "lease_until_ns");
        if (from == 0 || until < from)
            violate("a finished run without its lease interval: " + r[0].substr(0, 200));
        else
            held.emplace_back(from, until);
    }
    std::sort(held.begin(), held.end());
    for (size_t i = 1; i < held.size(); ++i)
        if (held[i].first < held[i - 1].second)
            violate("reconciliation runs overlap: one took the lease at " +
                    std::to_string(held[i].first) + ", the previous held it until " +
                    std::to_string(held[i - 1].second));
    size_t ran = held.size(), skipped = 0;
    skipped = std::stoul(
        pg.scalar("SELECT count(*) FROM " + schema + ".recon_runs WHERE status = 'SKIPPED'"));
    std::set<std::string> holders;
    for (const auto& r : runs) {
        const size_t at = r[0].find("\"holder\":\"");
        if (at != std::string::npos)
            holders.insert(r[0].substr(at + 10, r[0].find('"', at + 10) - at - 10));
    }

    for (auto& g : gw) EXPECT_EQ(g->stop(), 0) << g->log();
    std::string summary;
    for (const auto& [k, v] : answers) summary += "[" + k + "]x" + std::to_string(v) + " ";
    std::printf(
        "chaos-fix: kills=%d requests=%d retries=%d unreachable=%d switched=%d "
        "venue_orders=%zu stored_orders=%zu venue_executions=%zu stored_fills=%zu "
        "position=%s live_positions=%s recon_runs=%zu skipped_runs=%zu holders=%zu "
        "violations=%d answers: %s\n",
        kKills, requests.load(), retries.load(), unreachable.load(), switched.load(),
        venue_by_cid.size(), orders.size(), venue_exec.size(), trades.size(),
        venue_position.to_string().c_str(), live_positions.c_str(), ran, skipped, holders.size(),
        violations, summary.c_str());
    EXPECT_EQ(violations, 0);
    EXPECT_GE(requests.load(), kThreads);
    EXPECT_GT(venue_exec.size(), 0u) << "nothing traded: the test proved little";
}

}  // namespace
}  // namespace ordergate::testing
