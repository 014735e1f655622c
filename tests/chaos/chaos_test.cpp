// Chaos: kill -9 at random moments while clients place, modify and cancel with Idempotency-Keys
// on the embedded default (SQLite + the paper broker with its journal and injected faults: acks
// lost after the venue acted, rejects, latency, partial fills; the venue's memory keeps one second
// of ended orders, the rest is read back from its journal). Half the places carry no client
// order id. Every unanswered request is retried with the same key and body until it gets an
// answer. Then the venue is frozen (no price moves), the gateway restarted once more, and
// reconciliation left to settle.
//
// Checked against the paper venue's journal (the broker's truth) and the gateway's storage:
//  - every request reached the broker at most once (each place has its own quantity);
//  - every order the broker has is stored, with the broker's status and filled quantity;
//  - nothing is left PENDING_*;
//  - the stored fills are the broker's, trade by trade, each on its own order;
//  - each position equals the sum of the broker's fills;
//  - every client got an answer.
// It prints the counts. CHAOS_KILLS (default 20) sets the number of kills; scripts/chaos.sh runs
// 1,000.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
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

namespace ordergate::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::string write_config(const std::string& dir, bool frozen) {
    const std::string path = dir + (frozen ? "/frozen.yaml" : "/chaos.yaml");
    std::ofstream out(path);
    out << "http:\n  host: 127.0.0.1\n  port: ${PORT}\n  max_threads: 32\n"
           "  shutdown_grace_seconds: 2\n"
           "plugin_dirs:\n  - ${OG_PLUGIN_DIR}\n"
           "storage:\n  plugin: storage-sqlite\n  settings:\n"
           "    path: ${OG_DATA_DIR}/ordergate.db\n"
           "brokers:\n  - name: paper\n    plugin: broker-paper\n    timeout_ms: 1000\n"
           "    settings:\n      seed: 11\n      journal_path: ${OG_DATA_DIR}/paper.journal\n"
           // Ended orders leave the venue's memory after a second: reconciliation's lists, its
           // lookups by client order id and the venue's duplicate check read them back.
           "      history_seconds: 1\n"
           "      accounts: \"ACC1\"\n      initial_cash: 100000000000\n      currency: INR\n"
           "      tick_size: 0.05\n      max_steps_per_tick: 2\n      partial_fill_ratio: 0.5\n"
           "      prices:\n        INFY: 1500.00\n"
        << (frozen ? "      tick_ms: 0\n"
                   : "      tick_ms: 20\n      latency_ms: 3\n      fault:\n"
                     "        timeout_after_send_ratio: 0.05\n        reject_ratio: 0.05\n")
        << "accounts:\n  - {id: ACC1, broker: paper}\n"
           "risk:\n  max_quantity: 100000000\n  max_orders_per_second: 0\n"
           "reconciliation:\n  interval_seconds: 1\n  grace_period_seconds: 2\n"
           "  not_found_answers: 2\n  silent_stream_seconds: 0\n"
           // A retry of a request the killed gateway was running proceeds 11 s later, not 60.
           "idempotency:\n  in_flight_seconds: 11\n"
           "auth:\n  enabled: false\n"
           "logging:\n  level: ${OG_LOG_LEVEL:-error}\n";
    return path;
}

using Record = std::map<std::string, std::string>;

std::vector<Record> journal(const std::string& path, const std::string& type) {
    std::vector<Record> out;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(type + "\t", 0) != 0) continue;
        Record rec;
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

struct Request {
    std::string method, path, body, key;
};

TEST(Chaos, KillNineWhilePlacingModifyingAndCancellingConvergesToTheVenue) {
    const char* env = std::getenv("CHAOS_KILLS");
    const int kKills = env ? std::atoi(env) : 20;
    const int kThreads = 4;
    const std::string dir = make_temp_dir("og-chaos");
    GatewayOptions o;
    o.config = write_config(dir, false);
    o.data_dir = dir;
    auto gw = std::make_unique<GatewayProcess>(o);
    std::atomic<uint16_t> port{gw->port()};

    std::atomic<bool> stop{false};
    std::atomic<int> next_place{0}, next_key{0};
    std::atomic<int> retries{0}, unreachable{0}, requests{0}, unanswered{0};
    std::mutex mutex;
    std::map<std::string, int> answers;  // "PLACE 201" -> count
    std::vector<std::thread> clients;
    for (int t = 0; t < kThreads; ++t) {
        clients.emplace_back([&, t] {
            std::mt19937 rng(1000 + t);
            std::vector<std::string> mine;  // order ids this client was told about
            while (!stop.load()) {
                Request req;
                const int dice = std::uniform_int_distribution<int>(0, 9)(rng);
                req.key = "chaos-" + std::to_string(next_key.fetch_add(1));
                if (dice < 6 || mine.empty()) {
                    const int n = next_place.fetch_add(1);
                    const bool buy = n % 3 != 0;
                    const int ticks = std::uniform_int_distribution<int>(-6, 3)(rng);
                    const int cents = 150000 + (buy ? ticks : -ticks) * 5;
                    req.method = "POST";
                    req.path = "/api/v1/orders";
                    req.body =
                        "{\"account_id\":\"ACC1\",\"symbol\":\"INFY\",\"exchange\":\"NSE\","
                        "\"side\":\"" +
                        std::string(buy ? "BUY" : "SELL") +
                        "\",\"order_type\":\"LIMIT\",\"price\":\"" + std::to_string(cents / 100) +
                        "." + (cents % 100 < 10 ? "0" : "") + std::to_string(cents % 100) +
                        "\",\"quantity\":\"" + std::to_string(1000 + n) + "\"";
                    if (n % 2 == 0)
                        req.body += ",\"client_order_id\":\"chaos-" + std::to_string(n) + "\"";
                    req.body += "}";
                } else {
                    const std::string id =
                        mine[std::uniform_int_distribution<size_t>(0, mine.size() - 1)(rng)];
                    if (dice < 8) {
                        const int ticks = std::uniform_int_distribution<int>(-4, 2)(rng);
                        const int cents = 150000 + ticks * 5;
                        req.method = "PUT";
                        req.path = "/api/v1/orders/" + id;
                        req.body = "{\"price\":\"" + std::to_string(cents / 100) + "." +
                                   (cents % 100 < 10 ? "0" : "") + std::to_string(cents % 100) +
                                   "\"}";
                    } else {
                        req.method = "DELETE";
                        req.path = "/api/v1/orders/" + id;
                    }
                }
                ++requests;
                int status = 0;
                std::string id;
                const auto give_up = Clock::now() + seconds(150);
                while (Clock::now() < give_up) {
                    try {
                        HttpResult r = http(port.load(), req.method, req.path, req.body,
                                            json_headers(req.key));
                        const std::string code = field(r.json(), "code");
                        // In flight (the first try still runs, or died with its process), or a
                        // dependency coming back (start-up reconciliation): ask again.
                        if ((r.status == 409 && code == "IDEMPOTENCY_IN_FLIGHT") ||
                            r.status == 503) {
                            ++retries;
                            std::this_thread::sleep_for(milliseconds(50));
                            continue;
                        }
                        status = r.status;
                        id = field(r.json(), "id");
                        break;
                    } catch (const std::exception&) {
                        ++unreachable;  // killed: the same request, the same key
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

    std::mt19937 rng(20261202);
    for (int k = 0; k < kKills; ++k) {
        std::this_thread::sleep_for(
            milliseconds(std::uniform_int_distribution<int>(100, 600)(rng)));
        gw->kill_hard();
        gw.reset();
        gw = std::make_unique<GatewayProcess>(o);
        port.store(gw->port());
    }
    std::this_thread::sleep_for(milliseconds(500));
    stop.store(true);
    for (auto& c : clients) c.join();
    gw->kill_hard();
    gw.reset();

    // The venue frozen; reconciliation settles what the kills left.
    o.config = write_config(dir, true);
    gw = std::make_unique<GatewayProcess>(o);
    std::vector<json::Value> orders;
    const auto deadline = Clock::now() + seconds(60);
    size_t pending = 0;
    do {
        std::this_thread::sleep_for(milliseconds(500));
        orders = all_of(gw->port(), "orders");
        pending = 0;
        for (const auto& ord : orders)
            if (field(ord, "status").rfind("PENDING_", 0) == 0) ++pending;
    } while (pending > 0 && Clock::now() < deadline);
    // One more run after nothing is pending, so late fills are in too.
    auto asked = http(gw->port(), "POST", "/api/v1/reconciliation/run", "", {});
    ASSERT_EQ(asked.status, 202) << asked.body;
    const std::string run_id = field(asked.json().find("runs")->items()[0], "id");
    const auto run_deadline = Clock::now() + seconds(60);
    while (Clock::now() < run_deadline &&
           gw->get("/api/v1/reconciliation?limit=5")
                   .body.find("\"id\":\"" + run_id + "\",\"broker\":\"paper\",\"status\":\"O") ==
               std::string::npos &&
           gw->get("/api/v1/reconciliation?limit=5")
                   .body.find("\"id\":\"" + run_id + "\",\"broker\":\"paper\",\"status\":\"D") ==
               std::string::npos)
        std::this_thread::sleep_for(milliseconds(100));
    orders = all_of(gw->port(), "orders");
    auto trades = all_of(gw->port(), "trades");
    auto positions = gw->get("/api/v1/positions?account_id=ACC1").json();
    EXPECT_EQ(gw->stop(), 0);

    // ---- the venue's truth ------------------------------------------------------------------
    const std::string jpath = dir + "/paper.journal";
    std::map<std::string, Record> venue_order;            // n -> last state
    std::map<std::string, std::set<std::string>> by_qty;  // first quantity -> venue order numbers
    for (auto& rec : journal(jpath, "O")) {
        if (rec["ev"] == "new") by_qty[rec["qty"]].insert(rec["n"]);
        venue_order[rec["n"]] = rec;
    }
    std::map<std::string, Record> venue_fill;  // trade id -> fill
    for (auto& f : journal(jpath, "F")) venue_fill[f["trade"]] = f;

    int violations = 0;
    auto violate = [&](const std::string& what) {
        ++violations;
        ADD_FAILURE() << what;
    };
    // At most once at the broker.
    for (const auto& [qty, numbers] : by_qty)
        if (numbers.size() > 1)
            violate("the place with quantity " + qty + " is " + std::to_string(numbers.size()) +
                    " orders at the venue");
    // Every venue order stored, with the venue's status and filled quantity; nothing pending.
    // Matched by client order id: the venue keeps it, unique per account.
    std::map<std::string, const json::Value*> by_cid;
    for (const auto& ord : orders) {
        if (field(ord, "status").rfind("PENDING_", 0) == 0)
            violate("order " + field(ord, "id") + " left " + field(ord, "status"));
        by_cid[field(ord, "client_order_id")] = &ord;
    }
    for (const auto& [n, v] : venue_order) {
        auto it = by_cid.find(v.at("cid"));
        if (it == by_cid.end()) {
            violate("venue order P-" + n + " (" + v.at("status") + ", cid " + v.at("cid") +
                    ") is not stored");
            continue;
        }
        const json::Value& ord = *it->second;
        if (field(ord, "status") != v.at("status"))
            violate("order " + field(ord, "id") + " is " + field(ord, "status") +
                    ", the venue says " + v.at("status"));
        if (to_dec(field(ord, "filled_quantity")) != to_dec(v.at("filled")))
            violate("order " + field(ord, "id") + " filled " + field(ord, "filled_quantity") +
                    ", the venue says " + v.at("filled"));
    }
    // Fills: the broker's, trade by trade, on their own orders.
    std::map<std::string, std::string> order_cid;
    for (const auto& ord : orders) order_cid[field(ord, "id")] = field(ord, "client_order_id");
    std::set<std::string> stored_trades;
    for (const auto& t : trades) {
        const std::string tid = field(t, "broker_trade_id");
        if (!stored_trades.insert(tid).second) violate("trade " + tid + " stored twice");
        auto it = venue_fill.find(tid);
        if (it == venue_fill.end()) {
            violate("stored trade " + tid + " is not the venue's");
            continue;
        }
        if (to_dec(field(t, "quantity")) != to_dec(it->second["qty"]))
            violate("trade " + tid + " quantity differs");
        if (order_cid[field(t, "order_id")] != it->second["cid"])
            violate("trade " + tid + " is on order " + field(t, "order_id") + ", the venue's is " +
                    it->second["order"] + " (" + it->second["cid"] + ")");
    }
    for (const auto& [tid, f] : venue_fill)
        if (!stored_trades.count(tid)) violate("venue trade " + tid + " is not stored");
    // The position is the sum of the broker's fills.
    Decimal venue_position{0, 0};
    for (const auto& [tid, f] : venue_fill)
        venue_position = f.at("side") == "BUY" ? venue_position + to_dec(f.at("qty"))
                                               : venue_position - to_dec(f.at("qty"));
    Decimal stored_position{0, 0};
    for (const auto& p : positions.find("items")->items())
        stored_position = to_dec(field(p, "quantity"));
    if (stored_position != venue_position)
        violate("position " + stored_position.to_string() + ", the venue's fills sum to " +
                venue_position.to_string());
    if (unanswered.load() > 0)
        violate(std::to_string(unanswered.load()) + " requests never got an answer");

    std::string summary;
    for (const auto& [k, v] : answers) summary += "[" + k + "]x" + std::to_string(v) + " ";
    std::printf(
        "chaos: kills=%d requests=%d retries=%d unreachable=%d venue_orders=%zu "
        "stored_orders=%zu venue_fills=%zu stored_fills=%zu position=%s violations=%d "
        "answers: %s\n",
        kKills, requests.load(), retries.load(), unreachable.load(), venue_order.size(),
        orders.size(), venue_fill.size(), trades.size(), venue_position.to_string().c_str(),
        violations, summary.c_str());
    EXPECT_EQ(violations, 0);
    EXPECT_GE(requests.load(), kThreads);
}

}  // namespace
}  // namespace ordergate::testing
