// End-to-end tests of production mode: the real `ordergate` binary with storage-postgres and the
// Redis idempotency store, against real PostgreSQL 15 and redis-server processes started by
// scripts/pg-test.sh and scripts/redis-test.sh, driven over HTTP.
//
// Tests that only read and write use the run's shared services (shared_services()), each in a
// schema of its own; tests that take a service down start private instances in their own
// directory, because other tests run against the shared ones in parallel.
//
// "Nothing reached the broker" is checked on the venue's own record: the paper broker journals
// every order it takes (OG_DATA_DIR/paper.journal, one "O" line per order change), and the
// gateway counts its broker calls (ordergate_broker_calls_total{op="place"}).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <climits>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "gateway_process.hpp"
#include "services.hpp"

namespace ordergate::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::string unique(const std::string& prefix) {
    static std::atomic<int> n{0};
    static const unsigned salt = std::random_device{}() % 100000;
    return prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(salt) + "-" +
           std::to_string(++n);
}

std::string unique_schema(const std::string& tag) {
    std::string s = "og_it_" + tag + "_" + unique("");
    for (char& c : s)
        if (c == '-') c = '_';
    return s;
}

long ms_since(Clock::time_point t0) {
    return static_cast<long>(std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count());
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

size_t count_of(const std::string& text, const std::string& needle) {
    size_t n = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
        ++n;
    return n;
}

// A LIMIT BUY far below the market rests OPEN at the paper venue (no fills); MARKET fills.
std::string order_body(const std::string& account, const std::string& type,
                       const std::string& cid = "", const std::string& tag = "",
                       const std::string& symbol = "INFY") {
    std::string b = "{\"account_id\":\"" + account + "\",\"symbol\":\"" + symbol +
                    "\",\"exchange\":\"NSE\",\"side\":\"BUY\",\"quantity\":\"1\","
                    "\"order_type\":\"" +
                    type + "\"";
    if (type == "LIMIT") b += ",\"price\":\"1.00\"";
    if (!cid.empty()) b += ",\"client_order_id\":\"" + cid + "\"";
    if (!tag.empty()) b += ",\"tag\":\"" + tag + "\"";
    return b + "}";
}

HttpResult place(uint16_t port, const std::string& body, const std::string& key = "") {
    return http(port, "POST", "/api/v1/orders", body, json_headers(key));
}

// A gateway configuration on storage-postgres in `schema` (with `storage_extra` lines added to
// its settings) and the Redis idempotency store; DATABASE_URL, REDIS_URL and REDIS_REQUIRED come
// from the environment. Returns the file's path.
std::string write_config(const std::string& dir, const std::string& schema,
                         const std::string& storage_extra = "") {
    std::string path = dir + "/gateway.yaml";
    std::ofstream out(path);
    out << "http:\n"
           "  host: 127.0.0.1\n"
           "  port: ${PORT}\n"
           "  max_threads: 48\n"
           "  max_queued: 512\n"
           "  shutdown_grace_seconds: 5\n"
           "plugin_dirs:\n"
           "  - ${OG_PLUGIN_DIR}\n"
           "storage:\n"
           "  plugin: storage-postgres\n"
           "  settings:\n"
           "    url: ${DATABASE_URL}\n"
           "    schema: "
        << schema << "\n"
        << storage_extra
        << "brokers:\n"
           "  - name: paper\n"
           "    plugin: broker-paper\n"
           "    timeout_ms: 2000\n"
           "    settings:\n"
           "      seed: 42\n"
           "      journal_path: ${OG_DATA_DIR}/paper.journal\n"
           "      accounts: \"ACC1,ACC2\"\n"
           "      initial_cash: 1000000000\n"
           "      currency: INR\n"
           "      tick_ms: 200\n"
           "      prices:\n"
           "        INFY: 1500.00\n"
           "accounts:\n"
           "  - id: ACC1\n"
           "    broker: paper\n"
           "  - id: ACC2\n"
           "    broker: paper\n"
           "risk:\n"
           "  max_quantity: 100000\n"
           "  max_orders_per_second: 0\n"
           "idempotency:\n"
           "  backend: redis\n"
           "  redis_url: ${REDIS_URL}\n"
           "  redis_required: true\n"
           "  ttl_seconds: 86400\n"
           "auth:\n"
           "  enabled: false\n"
           "logging:\n"
           "  level: info\n";
    return path;
}

GatewayOptions options(const std::string& config, const std::string& database_url,
                       const std::string& redis_url, bool redis_required = true) {
    GatewayOptions o;
    o.config = config;
    o.env = {{"DATABASE_URL", database_url},
             {"REDIS_URL", redis_url},
             {"REDIS_REQUIRED", redis_required ? "true" : "false"}};
    return o;
}

// The client order ids of every order the paper venue has taken (its journal's "O" lines).
std::set<std::string> venue_cids(const GatewayProcess& gw) {
    std::set<std::string> out;
    std::ifstream in(gw.data_dir() + "/paper.journal");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("O\t", 0) != 0) continue;
        size_t at = line.find("\tcid=");
        if (at == std::string::npos) continue;
        size_t end = line.find('\t', at + 1);
        out.insert(line.substr(at + 5, end == std::string::npos ? end : end - at - 5));
    }
    return out;
}

// Sum of the samples of a metric whose line starts with `prefix` and contains `label`.
double metric_sum(uint16_t port, const std::string& prefix, const std::string& label = "") {
    auto m = http(port, "GET", "/metrics");
    double sum = 0;
    std::istringstream in(m.body);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(prefix, 0) != 0 || line.find(label) == std::string::npos) continue;
        sum += std::stod(line.substr(line.rfind(' ') + 1));  // a test-side counter reading
    }
    return sum;
}

double broker_place_calls(uint16_t port) {
    return metric_sum(port, "ordergate_broker_calls_total{", "op=\"place\"");
}

// Waits (bounded) until `done` holds; returns whether it did.
bool eventually(const std::function<bool()>& done, milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        if (done()) return true;
        std::this_thread::sleep_for(milliseconds(20));
    }
    return done();
}

// ---- a load of order placements, in phases --------------------------------------------------

struct Sample {
    int phase = 0;
    int status = 0;  // -1: the gateway could not be reached
    std::string code, retry_after, id, cid, key, error;
};

// `threads` threads each place orders one after another (each with a fresh Idempotency-Key and
// client_order_id, `pace` apart) until stopped, or for `limit` at most. Every sample records the
// phase that
// was current when its request STARTED, so a test can move to a new phase (a service killed) and
// then wait until no request of an earlier phase is still running.
class Load {
  public:
    Load(uint16_t port, int threads,
         std::function<std::string(int thread, int n, const std::string& cid)> body,
         milliseconds pace = milliseconds(2), seconds limit = seconds(100))
        : port_(port), body_(std::move(body)), inflight_(static_cast<size_t>(threads)) {
        for (auto& f : inflight_) f.store(INT_MAX);
        const auto until = Clock::now() + limit;
        for (int t = 0; t < threads; ++t)
            threads_.emplace_back([this, t, pace, until] { run(t, pace, until); });
    }
    ~Load() { stop(); }

    void set_phase(int p) { phase_.store(p); }
    // Waits until every request started before phase `p` has answered.
    bool drained(int p, milliseconds timeout) {
        return eventually(
            [&] {
                for (auto& f : inflight_)
                    if (f.load() < p) return false;
                return true;
            },
            timeout);
    }
    // Waits until `pred` holds over the samples of phase `p`.
    bool wait(int p, const std::function<bool(const std::vector<Sample>&)>& pred,
              milliseconds timeout) {
        return eventually([&] { return pred(samples(p)); }, timeout);
    }
    void stop() {
        stop_.store(true);
        for (auto& t : threads_)
            if (t.joinable()) t.join();
    }
    std::vector<Sample> samples(int p) const {
        std::lock_guard lock(mutex_);
        std::vector<Sample> out;
        for (const auto& s : samples_)
            if (s.phase == p) out.push_back(s);
        return out;
    }
    // For failure messages: samples per phase and what each thread is doing.
    std::string state() const {
        std::string out = "samples:";
        std::map<int, int> by;
        {
            std::lock_guard lock(mutex_);
            for (const auto& s : samples_) ++by[s.phase];
        }
        for (const auto& [p, n] : by)
            out += " phase " + std::to_string(p) + "=" + std::to_string(n);
        out += "; running:";
        for (const auto& f : inflight_) out += " " + std::to_string(f.load());
        return out;
    }
    std::vector<Sample> all() const {
        std::lock_guard lock(mutex_);
        return samples_;
    }

  private:
    void run(int t, milliseconds pace, Clock::time_point until) {
        for (int n = 0; !stop_.load() && Clock::now() < until; ++n) {
            if (n > 0) std::this_thread::sleep_for(pace);  // a load, not a flood of log lines
            Sample s;
            s.phase = phase_.load();
            inflight_[static_cast<size_t>(t)].store(s.phase);
            s.cid = unique("load-" + std::to_string(t));
            s.key = "k-" + s.cid;
            try {
                HttpResult r = place(port_, body_(t, n, s.cid), s.key);
                s.status = r.status;
                s.code = field(r.json(), "code");
                s.id = field(r.json(), "id");
                s.retry_after = r.header("Retry-After");
                if (r.status >= 500) s.error = r.body;
            } catch (const std::exception& e) {
                s.status = -1;
                s.error = e.what();
            }
            {
                std::lock_guard lock(mutex_);
                samples_.push_back(std::move(s));
            }
            inflight_[static_cast<size_t>(t)].store(INT_MAX);
        }
    }

    uint16_t port_;
    std::function<std::string(int, int, const std::string&)> body_;
    std::atomic<int> phase_{0};
    std::atomic<bool> stop_{false};
    std::vector<std::atomic<int>> inflight_;  // phase of the running request, INT_MAX when idle
    mutable std::mutex mutex_;
    std::vector<Sample> samples_;
    std::vector<std::thread> threads_;
};

size_t with_status(const std::vector<Sample>& v, int status) {
    size_t n = 0;
    for (const auto& s : v) n += s.status == status;
    return n;
}

std::string describe(const std::vector<Sample>& v) {
    std::map<std::string, int> by;
    for (const auto& s : v) ++by[std::to_string(s.status) + " " + s.code];
    std::string out;
    for (const auto& [k, n] : by) out += "[" + k + "]x" + std::to_string(n) + " ";
    return out;
}

// Every stored order has its complete audit trail: one event per version, numbered 1..version,
// the first one null -> PENDING_NEW. Returns the offending orders (empty when all is well).
std::vector<std::vector<std::string>> half_written(PgSession& pg, const std::string& schema) {
    return pg.query(
        "SELECT o.id, o.version, count(e.seq), min(e.seq), max(e.seq), "
        "  bool_and(e.seq <> 1 OR (e.from_status IS NULL AND e.to_status = 'PENDING_NEW')) "
        "FROM " +
        schema + ".orders o LEFT JOIN " + schema +
        ".order_events e "
        "  ON e.order_id = o.id "
        "GROUP BY o.id, o.version "
        "HAVING count(e.seq) <> o.version OR min(e.seq) IS DISTINCT FROM 1 "
        "  OR max(e.seq) IS DISTINCT FROM o.version "
        "  OR NOT bool_and(e.seq <> 1 OR (e.from_status IS NULL AND e.to_status = 'PENDING_NEW'))");
}

std::set<std::string> stored_cids(PgSession& pg, const std::string& schema) {
    std::set<std::string> out;
    for (const auto& row : pg.query("SELECT client_order_id FROM " + schema + ".orders"))
        out.insert(row[0]);
    return out;
}

// ---- 1. the full order path ---------------------------------------------------------------------

TEST(Production, FullOrderPathOnPostgresAndRedis) {
    const ServiceUrls& svc = shared_services();
    GatewayProcess gw(
        options(source_dir() + "/configs/test.yaml", svc.database_url, svc.redis_url));
    const uint16_t port = gw.port();
    auto ready = gw.get("/health/ready");
    EXPECT_EQ(ready.status, 200) << ready.body;
    EXPECT_NE(ready.body.find("\"component\":\"idempotency\",\"status\":\"up\""), std::string::npos)
        << ready.body;
    auto plugins = gw.get("/api/v1/plugins");
    EXPECT_NE(plugins.body.find("storage-postgres"), std::string::npos) << plugins.body;

    // Place, replay, reuse.
    const std::string cid = unique("full"), key = unique("key");
    const std::string body = order_body("ACC1", "LIMIT", cid, "full-path");
    auto first = place(port, body, key);
    ASSERT_EQ(first.status, 201) << first.body;
    const std::string id = field(first.json(), "id");
    EXPECT_EQ(field(first.json(), "status"), "OPEN");
    EXPECT_FALSE(field(first.json(), "broker_order_id").empty());
    EXPECT_TRUE(first.header("Idempotent-Replayed").empty());

    auto replay = place(port, body, key);
    EXPECT_EQ(replay.status, 201);
    EXPECT_EQ(replay.body, first.body);
    EXPECT_EQ(replay.header("Idempotent-Replayed"), "true");
    EXPECT_EQ(replay.header("Location"), "/api/v1/orders/" + id);

    auto reused = place(port, order_body("ACC1", "LIMIT", unique("other")), key);
    EXPECT_EQ(reused.status, 422) << reused.body;
    EXPECT_EQ(field(reused.json(), "code"), "IDEMPOTENCY_KEY_REUSED");

    // Duplicate client_order_id under another key: the storage backstop.
    auto dup = place(port, body, unique("key"));
    EXPECT_EQ(dup.status, 409) << dup.body;
    EXPECT_EQ(field(dup.json(), "code"), "DUPLICATE_CLIENT_ORDER_ID");
    EXPECT_EQ(field(dup.json(), "order_id"), id);

    // Get (by id and by client order id), list, cancel (idempotent), a filled MARKET order.
    auto got = gw.get("/api/v1/orders/" + id);
    ASSERT_EQ(got.status, 200) << got.body;
    EXPECT_EQ(field(got.json(), "client_order_id"), cid);
    EXPECT_EQ(field(gw.get("/api/v1/orders/client_order_id:" + cid).json(), "id"), id);

    auto market = place(port, order_body("ACC2", "MARKET", unique("mkt")), unique("key"));
    ASSERT_EQ(market.status, 201) << market.body;
    const std::string mid = field(market.json(), "id");
    EXPECT_TRUE(eventually(
        [&] { return field(gw.get("/api/v1/orders/" + mid).json(), "status") == "FILLED"; },
        seconds(10)));

    const std::string cancel_key = unique("cancel");
    auto cancel =
        http(port, "DELETE", "/api/v1/orders/" + id, "", {{"Idempotency-Key", cancel_key}});
    ASSERT_EQ(cancel.status, 200) << cancel.body;
    EXPECT_EQ(field(cancel.json(), "status"), "CANCELLED");
    auto cancel_replay =
        http(port, "DELETE", "/api/v1/orders/" + id, "", {{"Idempotency-Key", cancel_key}});
    EXPECT_EQ(cancel_replay.header("Idempotent-Replayed"), "true");
    EXPECT_EQ(cancel_replay.body, cancel.body);

    auto list = gw.get("/api/v1/orders?account_id=ACC1&limit=1000");
    ASSERT_EQ(list.status, 200) << list.body;
    bool listed = false;
    const json::Value lj = list.json();
    for (const auto& o : lj.find("items")->items())
        if (field(o, "id") == id) listed = field(o, "status") == "CANCELLED";
    EXPECT_TRUE(listed) << list.body;

    // The audit trail through the API (which also waits for writes behind the answers).
    auto ev = gw.get("/api/v1/orders/" + id + "/events");
    ASSERT_EQ(ev.status, 200) << ev.body;
    const json::Value evj = ev.json();
    const auto& items = evj.find("items")->items();
    ASSERT_GE(items.size(), 3u) << ev.body;
    EXPECT_EQ(field(items[0], "to_status"), "PENDING_NEW");
    EXPECT_EQ(field(items.back(), "to_status"), "CANCELLED");
    ASSERT_EQ(gw.get("/api/v1/orders/" + mid + "/events").status, 200);

    // In PostgreSQL: the rows are in the order_service schema, each with its events.
    PgSession pg(svc.database_url);
    auto rows = pg.query("SELECT id, status, version FROM order_service.orders WHERE id IN ('" +
                         id + "', '" + mid + "') ORDER BY id");
    ASSERT_EQ(rows.size(), 2u);
    std::map<std::string, std::string> status_of;
    for (const auto& r : rows) status_of[r[0]] = r[1];
    EXPECT_EQ(status_of[id], "CANCELLED");
    EXPECT_EQ(status_of[mid], "FILLED");
    EXPECT_EQ(pg.scalar("SELECT count(*) FROM order_service.orders WHERE client_order_id = '" +
                        cid + "'"),
              "1");
    EXPECT_EQ(pg.scalar("SELECT to_status || ',' || source FROM order_service.order_events "
                        "WHERE order_id = '" +
                        id + "' AND seq = 1 AND from_status IS NULL"),
              "PENDING_NEW,api");
    EXPECT_EQ(pg.scalar("SELECT count(*) FROM order_service.fills WHERE order_id = '" + mid + "'"),
              "1");
    auto bad = half_written(pg, "order_service");
    EXPECT_TRUE(bad.empty()) << bad.size() << " orders without their complete events, e.g. "
                             << bad[0][0];
}

// ---- 2. two gateways, one key ------------------------------------------------------------------

TEST(Production, TwoGatewaysSameKeyConcurrentlyMakeOneOrder) {
    const ServiceUrls& svc = shared_services();
    const std::string dir = make_temp_dir("og-prod-two");
    const std::string schema = unique_schema("two");
    const std::string cfg = write_config(dir, schema);
    // Started together: both migrate under the advisory lock.
    std::unique_ptr<GatewayProcess> a, b;
    std::string why_a, why_b;
    auto start = [&](std::unique_ptr<GatewayProcess>* gw, std::string* why) {
        try {
            *gw = std::make_unique<GatewayProcess>(options(cfg, svc.database_url, svc.redis_url));
        } catch (const std::exception& e) {
            *why = e.what();
        }
    };
    std::thread ta(start, &a, &why_a);
    std::thread tb(start, &b, &why_b);
    ta.join();
    tb.join();
    ASSERT_TRUE(a && b) << why_a << why_b;
    const uint16_t ports[2] = {a->port(), b->port()};

    constexpr int kRounds = 30, kThreads = 8, kPerThread = 2;
    struct Answer {
        int status;
        std::string body, replayed, code;
    };
    std::vector<std::vector<Answer>> answers(kRounds);
    std::mutex mu;
    std::vector<std::string> keys;
    for (int r = 0; r < kRounds; ++r) keys.push_back(unique("same"));
    std::barrier sync(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int r = 0; r < kRounds; ++r) {
                sync.arrive_and_wait();  // every thread sends round r's key at the same moment
                // No client_order_id: a second order would get a fresh one and be stored, so
                // the count below sees any duplicate the idempotency store let through.
                const std::string body = order_body("ACC1", "LIMIT", "", keys[r]);
                for (int i = 0; i < kPerThread; ++i) {
                    Answer ans{-1, "", "", ""};
                    try {
                        HttpResult res = place(ports[t % 2], body, keys[r]);
                        ans = {res.status, res.body, res.header("Idempotent-Replayed"),
                               field(res.json(), "code")};
                    } catch (const std::exception& e) {
                        ans.body = e.what();
                    }
                    std::lock_guard lock(mu);
                    answers[r].push_back(std::move(ans));
                }
            }
        });
    }
    for (auto& t : threads) t.join();

    PgSession pg(svc.database_url);
    std::map<std::string, int> stored;
    for (const auto& row : pg.query("SELECT tag, count(*) FROM " + schema + ".orders GROUP BY tag"))
        stored[row[0]] = std::stoi(row[1]);
    int in_flight = 0, replays = 0;
    for (int r = 0; r < kRounds; ++r) {
        SCOPED_TRACE("key " + keys[r]);
        EXPECT_EQ(stored[keys[r]], 1) << "orders stored for one Idempotency-Key";
        std::string original;
        for (const auto& ans : answers[r])
            if ((ans.status == 201 || ans.status == 202) && ans.replayed.empty()) {
                EXPECT_TRUE(original.empty()) << "two requests proceeded with one key";
                original = ans.body;
            }
        ASSERT_FALSE(original.empty()) << "no request proceeded";
        for (const auto& ans : answers[r]) {
            if (ans.body == original && ans.replayed.empty()) continue;
            if (ans.status == 409) {
                EXPECT_EQ(ans.code, "IDEMPOTENCY_IN_FLIGHT") << ans.body;
                ++in_flight;
                continue;
            }
            EXPECT_EQ(ans.replayed, "true") << ans.status << " " << ans.body;
            EXPECT_EQ(ans.body, original) << "a replay differs from the original answer";
            ++replays;
        }
    }
    EXPECT_EQ(stored.size(), static_cast<size_t>(kRounds));
    std::cout << "[ figures  ] two gateways: " << kRounds << " keys x " << kThreads * kPerThread
              << " requests: " << kRounds << " orders, " << in_flight << " in-flight 409s, "
              << replays << " replays\n";
}

// ---- 3. Redis killed, required ----------------------------------------------------------------

TEST(Production, RedisKilledFailsClosedThenRecovers) {
    const ServiceUrls& svc = shared_services();
    const std::string dir = make_temp_dir("og-prod-redis");
    PrivateServices own("og-prod-services");
    const std::string redis_url = own.start_redis();
    const std::string schema = unique_schema("redis");
    GatewayProcess gw(options(write_config(dir, schema), svc.database_url, redis_url, true));
    const uint16_t port = gw.port();
    PgSession pg(svc.database_url);
    auto rows = [&] { return std::stol(pg.scalar("SELECT count(*) FROM " + schema + ".orders")); };

    Load load(port, 3,
              [](int, int, const std::string& cid) { return order_body("ACC1", "LIMIT", cid); });
    ASSERT_TRUE(load.wait(
        0, [](const auto& v) { return with_status(v, 201) >= 20; }, seconds(20)))
        << describe(load.samples(0)) << " " << load.state() << "\n"
        << read_file(own.dir() + "/redis.log") << "\n"
        << gw.log();

    own.kill_redis();
    load.set_phase(1);
    ASSERT_TRUE(load.drained(1, seconds(10)));
    // Everything started before the kill has answered: from here nothing may reach the broker.
    const std::set<std::string> venue_before = venue_cids(gw);
    const long rows_before = rows();
    const double calls_before = broker_place_calls(port);
    ASSERT_TRUE(load.wait(
        1, [](const auto& v) { return v.size() >= 150; }, seconds(20)))
        << describe(load.samples(1)) << " " << load.state()
        << " phase 0: " << describe(load.samples(0)) << "\n"
        << read_file(own.dir() + "/redis.log");
    // Phase 2 starts before Redis returns: every phase-1 request ran against a dead Redis.
    load.set_phase(2);
    ASSERT_TRUE(load.drained(2, seconds(10)));
    auto ready = gw.get("/health/ready");
    EXPECT_EQ(ready.status, 503) << ready.body;
    EXPECT_NE(ready.body.find("\"component\":\"idempotency\",\"status\":\"down\""),
              std::string::npos)
        << ready.body;
    const std::set<std::string> venue_during = venue_cids(gw);
    const long rows_during = rows();
    const double calls_during = broker_place_calls(port);
    // A write without an Idempotency-Key is refused as well: fail-closed covers every write.
    const std::string keyless_cid = unique("nokey");
    auto keyless = place(port, order_body("ACC1", "LIMIT", keyless_cid));
    EXPECT_EQ(keyless.status, 503) << keyless.body;
    EXPECT_EQ(field(keyless.json(), "code"), "IDEMPOTENCY_UNAVAILABLE") << keyless.body;
    EXPECT_EQ(broker_place_calls(port), calls_during);
    EXPECT_EQ(venue_cids(gw).count(keyless_cid), 0u);

    const auto restart_at = Clock::now();
    own.restart_redis();
    const bool recovered = load.wait(
        2, [](const auto& v) { return with_status(v, 201) >= 20; }, seconds(20));
    const long recovery_ms = ms_since(restart_at);
    load.stop();
    ASSERT_TRUE(recovered) << describe(load.samples(2)) << "\n" << gw.log();

    const auto outage = load.samples(1);
    for (const auto& s : outage) {
        ASSERT_EQ(s.status, 503) << s.cid << " " << s.code << " " << s.error;
        ASSERT_EQ(s.code, "IDEMPOTENCY_UNAVAILABLE") << s.error;
        ASSERT_FALSE(s.retry_after.empty());
    }
    EXPECT_EQ(venue_during, venue_before) << "an order reached the broker during the outage";
    EXPECT_EQ(rows_during, rows_before) << "an order was stored during the outage";
    EXPECT_EQ(calls_during, calls_before) << "the broker was called during the outage";
    for (const auto& s : outage) EXPECT_EQ(venue_during.count(s.cid), 0u) << s.cid;
    EXPECT_EQ(gw.get("/health/ready").status, 200);

    auto keyless_back = place(port, order_body("ACC1", "LIMIT", keyless_cid));
    EXPECT_EQ(keyless_back.status, 201) << keyless_back.body;

    // After recovery, a key that was refused during the outage goes through (it was released
    // or never written) and is then replayed.
    const Sample& refused = outage.front();
    auto retry = place(port, order_body("ACC1", "LIMIT", refused.cid), refused.key);
    EXPECT_EQ(retry.status, 201) << retry.body;
    auto again = place(port, order_body("ACC1", "LIMIT", refused.cid), refused.key);
    EXPECT_EQ(again.header("Idempotent-Replayed"), "true");
    std::cout << "[ figures  ] redis outage: " << outage.size() << " requests, all 503; "
              << "recovered " << recovery_ms
              << " ms after redis-server restarted; phase 2: " << describe(load.samples(2)) << "\n";
}

// ---- 4. Redis down, optional ------------------------------------------------------------------

TEST(Production, RedisOptionalBypassesOnTheClientOrderIdBackstop) {
    const ServiceUrls& svc = shared_services();
    const std::string dir = make_temp_dir("og-prod-optional");
    PrivateServices own("og-prod-services");
    const std::string redis_url = own.start_redis();
    const std::string schema = unique_schema("optional");
    GatewayProcess gw(options(write_config(dir, schema), svc.database_url, redis_url, false));
    const uint16_t port = gw.port();
    ASSERT_EQ(place(port, order_body("ACC1", "LIMIT", unique("up")), unique("k")).status, 201);
    const double bypassed_before =
        metric_sum(port, "ordergate_idempotency_total{", "outcome=\"bypassed\"");
    EXPECT_EQ(bypassed_before, 0);

    own.kill_redis();
    const int kOrders = 10;
    for (int i = 0; i < kOrders; ++i) {
        auto r = place(port, order_body("ACC1", "LIMIT", unique("down")), unique("k"));
        ASSERT_EQ(r.status, 201) << r.body;
    }
    EXPECT_EQ(metric_sum(port, "ordergate_idempotency_total{", "outcome=\"bypassed\""),
              bypassed_before + kOrders);
    const std::string log = read_file(gw.data_dir() + "/gateway.log");
    EXPECT_GE(count_of(log, "level=warning event=idempotency_bypassed"),
              static_cast<size_t>(kOrders))
        << gw.log();
    // Not required: the gateway stays ready, and says Redis is down.
    auto ready = gw.get("/health/ready");
    EXPECT_EQ(ready.status, 200) << ready.body;
    EXPECT_NE(ready.body.find("not required"), std::string::npos) << ready.body;

    // The backstop: the same client_order_id again (a retry whose key the store lost) is 409
    // and never reaches the broker.
    const std::string cid = unique("backstop"), key = unique("k");
    auto first = place(port, order_body("ACC1", "LIMIT", cid), key);
    ASSERT_EQ(first.status, 201) << first.body;
    const double calls = broker_place_calls(port);
    auto retry = place(port, order_body("ACC1", "LIMIT", cid), key);
    EXPECT_EQ(retry.status, 409) << retry.body;
    EXPECT_EQ(field(retry.json(), "code"), "DUPLICATE_CLIENT_ORDER_ID");
    EXPECT_EQ(field(retry.json(), "order_id"), field(first.json(), "id"));
    EXPECT_EQ(broker_place_calls(port), calls);

    // Redis back: keys work again without a restart.
    own.restart_redis();
    const std::string k2 = unique("k"), body = order_body("ACC1", "LIMIT", unique("back"));
    EXPECT_TRUE(
        eventually([&] { return place(port, body, k2).header("Idempotent-Replayed") == "true"; },
                   seconds(10)));
}

// ---- 5. PostgreSQL restarted mid-load ---------------------------------------------------------

TEST(Production, PostgresDownMidLoadAnswers503ThenRecoversWithNothingHalfWritten) {
    const ServiceUrls& svc = shared_services();
    const std::string dir = make_temp_dir("og-prod-pg");
    PrivateServices own("og-prod-services");
    const std::string database_url = own.start_postgres();
    GatewayProcess gw(options(write_config(dir, "order_service", "    connect_timeout_s: 2\n"),
                              database_url, svc.redis_url, true));
    const uint16_t port = gw.port();

    // Resting LIMIT orders and filling MARKET ones (fills and acks are written behind).
    Load load(port, 3, [](int t, int n, const std::string& cid) {
        return order_body(t == 0 ? "ACC2" : "ACC1", n % 4 == 3 ? "MARKET" : "LIMIT", cid);
    });
    ASSERT_TRUE(load.wait(
        0, [](const auto& v) { return with_status(v, 201) >= 30; }, seconds(20)))
        << describe(load.samples(0));

    own.postgres_down();
    load.set_phase(1);
    ASSERT_TRUE(load.drained(1, seconds(15)));
    const std::set<std::string> venue_before = venue_cids(gw);
    const double calls_before = broker_place_calls(port);
    ASSERT_TRUE(load.wait(
        1, [](const auto& v) { return v.size() >= 150; }, seconds(20)))
        << describe(load.samples(1));
    // Phase 2 starts before PostgreSQL returns: every phase-1 request ran during the outage.
    load.set_phase(2);
    ASSERT_TRUE(load.drained(2, seconds(15)));
    auto ready = gw.get("/health/ready");
    EXPECT_EQ(ready.status, 503) << ready.body;
    EXPECT_NE(ready.body.find("\"component\":\"storage\",\"status\":\"down\""), std::string::npos)
        << ready.body;
    const std::set<std::string> venue_during = venue_cids(gw);
    const double calls_during = broker_place_calls(port);

    const auto up_at = Clock::now();
    own.postgres_up();
    const bool recovered = load.wait(
        2, [](const auto& v) { return with_status(v, 201) >= 30; }, seconds(30));
    const long recovery_ms = ms_since(up_at);
    load.stop();
    ASSERT_TRUE(recovered) << describe(load.samples(2)) << "\n" << gw.log();
    EXPECT_TRUE(eventually([&] { return gw.get("/health/ready").status == 200; }, seconds(10)));

    const auto outage = load.samples(1);
    for (const auto& s : outage) {
        ASSERT_EQ(s.status, 503) << s.cid << " " << s.code << " " << s.error;
        ASSERT_EQ(s.code, "STORAGE_UNAVAILABLE") << s.error;
        ASSERT_FALSE(s.retry_after.empty());
    }
    EXPECT_EQ(venue_during, venue_before) << "an order reached the broker during the outage";
    EXPECT_EQ(calls_during, calls_before) << "the broker was called during the outage";

    // Nothing half-written: wait for the writes behind the answers (the events route flushes),
    // then compare storage with the venue and with what clients were told.
    std::string some_id;
    for (const auto& s : load.samples(2))
        if (s.status == 201) some_id = s.id;
    ASSERT_EQ(gw.get("/api/v1/orders/" + some_id + "/events").status, 200);
    PgSession pg(database_url);
    auto bad = half_written(pg, "order_service");
    EXPECT_TRUE(bad.empty()) << bad.size() << " orders without their complete events, e.g. "
                             << bad[0][0];
    const std::set<std::string> stored = stored_cids(pg, "order_service");
    const std::set<std::string> venue = venue_cids(gw);
    for (const auto& cid : venue)
        EXPECT_EQ(stored.count(cid), 1u) << "at the broker, not stored: " << cid;
    size_t acknowledged = 0;
    for (const auto& s : load.all()) {
        if (s.status != 201 && s.status != 202) continue;
        ++acknowledged;
        EXPECT_EQ(stored.count(s.cid), 1u)
            << "answered " << s.status << " but not stored: " << s.cid;
    }
    for (const auto& s : outage) EXPECT_EQ(venue.count(s.cid), 0u) << s.cid;
    // Writes behind the answer (acks, fills) that hit the outage are reported, not asserted:
    // storage then lags the gateway (and the broker) until reconciliation re-derives them.
    size_t lagging = 0;
    std::map<std::string, std::string> stored_version;
    for (const auto& row : pg.query("SELECT id, version FROM order_service.orders"))
        stored_version[row[0]] = row[1];
    for (const auto& s : load.all()) {
        if (s.status != 201) continue;
        auto g = gw.get("/api/v1/orders/" + s.id);
        lagging += field(g.json(), "version") != stored_version[s.id];
    }
    const std::string log = read_file(gw.data_dir() + "/gateway.log");
    std::cout << "[ figures  ] postgres outage: " << outage.size() << " requests, all 503; "
              << "recovered " << recovery_ms << " ms after PostgreSQL was up; " << acknowledged
              << " orders acknowledged in all, " << venue.size() << " at the venue, "
              << stored.size() << " stored; write-behind failures logged: "
              << count_of(log, "event=write_behind_failed")
              << ", orders whose stored version lags the gateway's: " << lagging
              << "; phase 2: " << describe(load.samples(2)) << "\n";
}

// ---- 6. pool exhausted ------------------------------------------------------------------------

TEST(Production, PoolExhaustedAnswers503AfterTheBoundedWaitNeverHangs) {
    const ServiceUrls& svc = shared_services();
    const std::string dir = make_temp_dir("og-prod-pool");
    const std::string schema = unique_schema("pool");
    GatewayProcess gw(options(write_config(dir, schema,
                                           "    pool_size: 1\n"
                                           "    pool_wait_ms: 300\n"
                                           "    statement_timeout_ms: 3000\n"),
                              svc.database_url, svc.redis_url));
    const uint16_t port = gw.port();
    ASSERT_EQ(place(port, order_body("ACC1", "LIMIT", unique("pool"))).status, 201);

    // Another session locks the orders table: the gateway's one pooled connection gets stuck
    // in the next intent's INSERT, so the pool is exhausted for everything else.
    PgSession locker(svc.database_url), watcher(svc.database_url);
    locker.query("BEGIN; LOCK TABLE " + schema + ".orders IN ACCESS EXCLUSIVE MODE");
    const std::string stuck_cid = unique("stuck");
    const double calls_before = broker_place_calls(port);
    HttpResult stuck;
    long stuck_ms = 0;
    std::thread writer([&] {
        auto t0 = Clock::now();
        stuck = place(port, order_body("ACC1", "LIMIT", stuck_cid));
        stuck_ms = ms_since(t0);
    });
    const bool blocked = eventually(
        [&] {
            return watcher.scalar(
                       "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
                       "'Lock' AND query LIKE '%" +
                       schema + "%'") == "1";
        },
        seconds(5));
    std::vector<std::pair<int, long>> reads(4);
    std::vector<std::string> codes(4), retry(4);
    if (blocked) {
        std::vector<std::thread> readers;
        for (size_t i = 0; i < reads.size(); ++i)
            readers.emplace_back([&, i] {
                auto t0 = Clock::now();
                auto r = http(port, "GET", "/api/v1/orders?account_id=ACC1");
                reads[i] = {r.status, ms_since(t0)};
                codes[i] = field(r.json(), "code");
                retry[i] = r.header("Retry-After");
            });
        for (auto& t : readers) t.join();
    }
    writer.join();
    locker.query("ROLLBACK");
    ASSERT_TRUE(blocked) << "the intent's INSERT never waited for the lock";

    for (size_t i = 0; i < reads.size(); ++i) {
        EXPECT_EQ(reads[i].first, 503) << i;
        EXPECT_EQ(codes[i], "STORAGE_UNAVAILABLE");
        EXPECT_FALSE(retry[i].empty());
        EXPECT_GE(reads[i].second, 250) << "answered before the pool wait";
        EXPECT_LT(reads[i].second, 2500) << "the pool wait is not bounded";
    }
    // The stuck write gives up at statement_timeout: 503, nothing sent to the broker.
    EXPECT_EQ(stuck.status, 503) << stuck.body;
    EXPECT_EQ(field(stuck.json(), "code"), "STORAGE_UNAVAILABLE");
    EXPECT_LT(stuck_ms, 8000);
    EXPECT_EQ(broker_place_calls(port), calls_before);
    EXPECT_EQ(venue_cids(gw).count(stuck_cid), 0u);
    const std::string log = read_file(gw.data_dir() + "/gateway.log");
    EXPECT_NE(log.find("connection pool exhausted"), std::string::npos) << gw.log();

    // Lock gone: the same gateway serves again.
    auto after = place(port, order_body("ACC1", "LIMIT", stuck_cid));
    EXPECT_EQ(after.status, 201) << after.body;
    EXPECT_EQ(gw.get("/api/v1/orders?account_id=ACC1").status, 200);
    std::cout << "[ figures  ] pool exhausted: reads answered 503 in " << reads[0].second << ", "
              << reads[1].second << ", " << reads[2].second << ", " << reads[3].second
              << " ms (pool_wait_ms 300); the stuck write answered " << stuck.status << " after "
              << stuck_ms << " ms (statement_timeout_ms 3000)\n";
}

// ---- 7. statement errors ----------------------------------------------------------------------

// A trigger refuses orders for the symbol BOOM with a message only the log may show.
void install_boom_trigger(PgSession& pg, const std::string& schema) {
    pg.query("CREATE FUNCTION " + schema +
             ".og_boom() RETURNS trigger LANGUAGE plpgsql AS $$ "
             "BEGIN IF NEW.symbol = 'BOOM' THEN RAISE EXCEPTION "
             "'og_test_boom: refused by trigger on %', TG_TABLE_NAME; END IF; RETURN NEW; END $$; "
             "CREATE TRIGGER og_boom BEFORE INSERT ON " +
             schema +
             ".orders FOR EACH ROW "
             "EXECUTE FUNCTION " +
             schema + ".og_boom()");
}

// A cursor storage-postgres did not produce is the client's mistake: 400 INVALID_PARAMETER on
// both storage-backed lists, not 503 STORAGE_UNAVAILABLE, and no outage in metrics or readiness.
TEST(Production, MalformedCursorIs400InvalidParameterOnPostgres) {
    const ServiceUrls& svc = shared_services();
    const std::string dir = make_temp_dir("og-prod-cursor");
    GatewayProcess gw(
        options(write_config(dir, unique_schema("cursor")), svc.database_url, svc.redis_url));
    for (const char* path : {"/api/v1/orders?cursor=!!x!!", "/api/v1/trades?cursor=!!x!!",
                             "/api/v1/orders?status=OPEN&cursor=c1.!!"}) {
        auto r = gw.get(path);
        EXPECT_EQ(r.status, 400) << path << " -> " << r.body;
        EXPECT_EQ(r.header("Content-Type"), "application/problem+json") << path;
        EXPECT_EQ(field(r.json(), "code"), "INVALID_PARAMETER") << path;
    }
    EXPECT_EQ(gw.get("/health/ready").status, 200);
    // No 503 on the API's routes. (A readiness probe polled while the start-up reconciliation
    // still ran is a 503 of /health/ready: GatewayProcess's own wait, slow under ASan.)
    double api_503 = 0;
    std::istringstream metrics(gw.get("/metrics").body);
    for (std::string line; std::getline(metrics, line);)
        if (line.rfind("ordergate_http_requests_total{", 0) == 0 &&
            line.find("status=\"503\"") != std::string::npos &&
            line.find("route=\"/api/") != std::string::npos)
            api_503 += std::stod(line.substr(line.rfind(' ') + 1));
    EXPECT_EQ(api_503, 0);
}

TEST(Production, StatementErrorIsLoggedWithContextAndNeverShown) {
    const ServiceUrls& svc = shared_services();
    const std::string dir = make_temp_dir("og-prod-stmt");
    const std::string schema = unique_schema("stmt");
    GatewayProcess gw(options(write_config(dir, schema), svc.database_url, svc.redis_url));
    const uint16_t port = gw.port();
    PgSession pg(svc.database_url);
    install_boom_trigger(pg, schema);

    const std::string cid = unique("boom");
    auto r = place(port, order_body("ACC1", "LIMIT", cid, "", "BOOM"), unique("k"));
    ASSERT_GE(r.status, 500) << r.body;
    ASSERT_LT(r.status, 600) << r.body;
    EXPECT_EQ(r.header("Content-Type"), "application/problem+json");
    const std::string code = field(r.json(), "code");
    EXPECT_TRUE(code == "STORAGE_UNAVAILABLE" || code == "INTERNAL") << r.body;
    EXPECT_FALSE(field(r.json(), "request_id").empty());
    for (const char* secret : {"og_test_boom", "trigger", "SQLSTATE", "P0001", "postgres", "INSERT",
                               "orders", "og_it_", "127.0.0.1"})
        EXPECT_EQ(r.body.find(secret), std::string::npos) << secret << " in " << r.body;
    EXPECT_EQ(venue_cids(gw).count(cid), 0u) << "the broker was called";
    EXPECT_EQ(pg.scalar("SELECT count(*) FROM " + schema + ".orders WHERE client_order_id = '" +
                        cid + "'"),
              "0");

    // The log has the server's message and the order it concerned.
    const std::string log = read_file(gw.data_dir() + "/gateway.log");
    size_t at = log.find("og_test_boom");
    ASSERT_NE(at, std::string::npos) << gw.log();
    size_t bol = log.rfind('\n', at), eol = log.find('\n', at);
    const std::string line = log.substr(bol + 1, eol - bol - 1);
    EXPECT_NE(line.find("P0001"), std::string::npos) << line;
    EXPECT_NE(log.find("client_order_id=" + cid), std::string::npos) << gw.log();

    // Other orders still go through.
    EXPECT_EQ(place(port, order_body("ACC1", "LIMIT", unique("fine"))).status, 201);
}

TEST(Production, StatementErrorFailsOnlyItsOwnRequest) {
    // Intents are committed in groups: one bad statement must not fail the requests that
    // happened to share its transaction.
    const ServiceUrls& svc = shared_services();
    const std::string dir = make_temp_dir("og-prod-stmt2");
    const std::string schema = unique_schema("stmt2");
    GatewayProcess gw(options(write_config(dir, schema), svc.database_url, svc.redis_url));
    const uint16_t port = gw.port();
    PgSession pg(svc.database_url);
    install_boom_trigger(pg, schema);

    constexpr int kThreads = 8, kRounds = 15;
    std::barrier sync(kThreads);
    std::mutex mu;
    std::vector<std::pair<std::string, HttpResult>> good, bad;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int r = 0; r < kRounds; ++r) {
                sync.arrive_and_wait();
                const std::string cid = unique("mix");
                const bool boom = t == r % kThreads;
                auto res =
                    place(port, order_body("ACC1", "LIMIT", cid, "", boom ? "BOOM" : "INFY"));
                std::lock_guard lock(mu);
                (boom ? bad : good).emplace_back(cid, std::move(res));
            }
        });
    for (auto& t : threads) t.join();
    size_t good_ok = 0;
    for (const auto& [cid, res] : good) {
        good_ok += res.status == 201;
        EXPECT_EQ(res.status, 201) << cid << " " << res.body;
    }
    for (const auto& [cid, res] : bad) EXPECT_GE(res.status, 500) << res.body;
    const std::set<std::string> stored = stored_cids(pg, schema);
    for (const auto& [cid, res] : good)
        EXPECT_EQ(stored.count(cid), res.status == 201 ? 1u : 0u) << cid;
    std::cout << "[ figures  ] mixed batch: " << good_ok << "/" << good.size()
              << " good orders placed next to " << bad.size() << " refused ones\n";
}

}  // namespace
}  // namespace ordergate::testing
