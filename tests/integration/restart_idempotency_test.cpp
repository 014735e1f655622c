// A retried request after a crash: the real `ordergate` binary on the embedded default (SQLite,
// paper), SIGKILLed between a request and its retry, restarted on the same data directory.
//
// "One order at the broker" is checked on the venue's own record: the paper broker journals every
// order it takes (OG_DATA_DIR/paper.journal, one "O" line per order change, with its cid).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gateway_process.hpp"

namespace ordergate::testing {
namespace {

std::string unique(const std::string& prefix) {
    static std::atomic<int> n{0};
    return prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(++n) + "-" +
           std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000);
}

void replace_once(std::string& text, const std::string& from, const std::string& to) {
    size_t at = text.find(from);
    if (at == std::string::npos) throw std::runtime_error("gateway.yaml lacks '" + from + "'");
    text.replace(at, from.size(), to);
}

// tests/integration/gateway.yaml with its `idempotency.backend` line replaced by `backend_line`
// (empty: no line, so the gateway's default applies), plus a venue "paper-nosend" (account
// NOSEND1) whose every place times out before sending. Written into `dir`.
std::string config_with_backend(const std::string& dir, const std::string& backend_line) {
    std::ifstream in(source_dir() + "/tests/integration/gateway.yaml");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    replace_once(text, "  backend: memory\n", backend_line);
    replace_once(text, "\naccounts:\n",
                 "  - name: paper-nosend\n"
                 "    plugin: broker-paper\n"
                 "    settings:\n"
                 "      accounts: \"NOSEND1\"\n"
                 "      tick_ms: 0\n"
                 "      fault:\n"
                 "        timeout_before_send_ratio: 1\n"
                 "\naccounts:\n"
                 "  - {id: NOSEND1, broker: paper-nosend}\n");
    std::string path = dir + "/gateway.yaml";
    std::ofstream(path) << text;
    return path;
}

// Sum of the samples of a metric whose line starts with `prefix` and contains every `labels`.
double metric_sum(uint16_t port, const std::string& prefix,
                  const std::vector<std::string>& labels) {
    auto m = http(port, "GET", "/metrics");
    double sum = 0;
    std::istringstream in(m.body);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(prefix, 0) != 0) continue;
        bool all = true;
        for (const auto& l : labels) all = all && line.find(l) != std::string::npos;
        if (all) sum += std::stod(line.substr(line.rfind(' ') + 1));
    }
    return sum;
}

// The client order ids of every order the paper venue has taken (its journal's "O" lines).
std::set<std::string> venue_cids(const std::string& data_dir) {
    std::set<std::string> out;
    std::ifstream in(data_dir + "/paper.journal");
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

const std::string kBody =
    "{\"account_id\":\"ACC1\",\"symbol\":\"INFY\",\"exchange\":\"NSE\",\"side\":\"BUY\","
    "\"quantity\":\"10\",\"order_type\":\"LIMIT\",\"price\":\"1.00\"}";

struct KillRetryRun {
    HttpResult first;
    HttpResult retry;
    std::set<std::string> cids;
};

// POST with key K and no client_order_id; SIGKILL; restart on the same data dir; the same POST.
KillRetryRun place_kill_retry(const std::string& backend_line) {
    const std::string dir = make_temp_dir("og-idem-restart");
    const std::string config = config_with_backend(dir, backend_line);
    const std::string key = unique("K");
    KillRetryRun run;
    {
        GatewayOptions o;
        o.config = config;
        o.data_dir = dir;
        GatewayProcess gw(o);
        run.first = http(gw.port(), "POST", "/api/v1/orders", kBody, json_headers(key));
        gw.kill_hard();
    }
    GatewayOptions o;
    o.config = config;
    o.data_dir = dir;
    GatewayProcess gw(o);
    run.retry = http(gw.port(), "POST", "/api/v1/orders", kBody, json_headers(key));
    run.cids = venue_cids(dir);
    return run;
}

// The default configuration keeps idempotency records in the storage plugin: the key survives
// the crash and the retry gets the stored answer, byte for byte.
TEST(IdempotencyAcrossRestart, DefaultConfigReplaysTheStoredAnswerAfterKill9) {
    KillRetryRun run = place_kill_retry("");
    ASSERT_EQ(run.first.status, 201) << run.first.body;
    EXPECT_EQ(run.retry.status, 201) << run.retry.body;
    EXPECT_EQ(run.retry.header("Idempotent-Replayed"), "true");
    EXPECT_EQ(run.retry.body, run.first.body);
    EXPECT_EQ(run.cids.size(), 1u) << "orders at the venue";
}

// With the in-process store the key dies with the process; the client order id derived from
// (principal, key) still finds the first order, and the retry is answered with it.
TEST(IdempotencyAcrossRestart, LostKeyStillFindsTheOrderByItsDerivedClientOrderId) {
    KillRetryRun run = place_kill_retry("  backend: memory\n");
    ASSERT_EQ(run.first.status, 201) << run.first.body;
    // The ack may not have been written before the kill: the order is then still PENDING_NEW.
    EXPECT_TRUE(run.retry.status == 201 || run.retry.status == 202) << run.retry.body;
    EXPECT_EQ(run.retry.header("Idempotent-Replayed"), "true");
    EXPECT_EQ(field(run.retry.json(), "id"), field(run.first.json(), "id")) << run.retry.body;
    EXPECT_EQ(field(run.retry.json(), "client_order_id"),
              field(run.first.json(), "client_order_id"));
    EXPECT_EQ(run.cids.size(), 1u) << "orders at the venue";
}

// The broker was called and answered "not sent" (a timeout before sending): the answer is a 503,
// and it is the request's answer. The key is kept, so a retry under it is the stored 503 and
// never a second broker call (only a request that provably never reached the broker gives its key
// back).
TEST(IdempotencyAfterBrokerCall, A5xxAfterTheBrokerCallIsReplayedNotResent) {
    const std::string dir = make_temp_dir("og-idem-nosend");
    GatewayOptions o;
    o.config = config_with_backend(dir, "");
    o.data_dir = dir;
    GatewayProcess gw(o);
    const std::string key = unique("K");
    const std::string body =
        "{\"account_id\":\"NOSEND1\",\"symbol\":\"INFY\",\"exchange\":\"NSE\","
        "\"side\":\"BUY\",\"quantity\":\"10\",\"order_type\":\"LIMIT\",\"price\":\"1.00\"}";
    auto first = http(gw.port(), "POST", "/api/v1/orders", body, json_headers(key));
    ASSERT_EQ(first.status, 503) << first.body;
    EXPECT_EQ(field(first.json(), "code"), "BROKER_UNAVAILABLE");
    auto retry = http(gw.port(), "POST", "/api/v1/orders", body, json_headers(key));
    EXPECT_EQ(retry.status, 503) << retry.body;
    EXPECT_EQ(retry.header("Idempotent-Replayed"), "true");
    EXPECT_EQ(retry.body, first.body);
    EXPECT_EQ(metric_sum(gw.port(), "ordergate_broker_calls_total{",
                         {"broker=\"paper-nosend\"", "op=\"place\""}),
              1.0);
}

// An order placed with a key and no client_order_id carries the id derived from (principal, key):
// "og-" + 26 characters, one per key; without a key the id stays random.
TEST(IdempotencyDerivedClientOrderId, EachKeyGetsItsOwnIdAndNoKeyARandomOne) {
    const std::string dir = make_temp_dir("og-idem-cid");
    GatewayOptions o;
    o.config = config_with_backend(dir, "");
    o.data_dir = dir;
    GatewayProcess gw(o);
    const std::string k1 = unique("K"), k2 = unique("K");
    auto a = http(gw.port(), "POST", "/api/v1/orders", kBody, json_headers(k1));
    auto b = http(gw.port(), "POST", "/api/v1/orders", kBody, json_headers(k2));
    ASSERT_EQ(a.status, 201) << a.body;
    ASSERT_EQ(b.status, 201) << b.body;
    const std::string cid_a = field(a.json(), "client_order_id");
    EXPECT_EQ(cid_a.size(), 29u) << cid_a;
    EXPECT_EQ(cid_a.rfind("og-", 0), 0u) << cid_a;
    EXPECT_NE(cid_a, field(b.json(), "client_order_id"));
    // Without a key the id stays random.
    auto c = http(gw.port(), "POST", "/api/v1/orders", kBody, json_headers());
    ASSERT_EQ(c.status, 201) << c.body;
    EXPECT_NE(field(c.json(), "client_order_id"), cid_a);
}

// The default configuration's SQLite plugin (ABI 1.7) folds a place's claim into its intent's
// transaction (StorageStoreTest.FoldedClaims* checks the plugin folds): many copies of one keyed request sent at once still make one
// order at the venue: one 201, every other answer its replay or 409 IDEMPOTENCY_IN_FLIGHT; a
// different body under the key is 422; a later retry replays the first answer.
TEST(IdempotencyFoldedClaim, ConcurrentCopiesOfOneKeyedRequestMakeOneOrder) {
    const std::string dir = make_temp_dir("og-idem-fold");
    GatewayOptions o;
    o.config = config_with_backend(dir, "");
    o.data_dir = dir;
    GatewayProcess gw(o);
    for (int round = 0; round < 5; ++round) {
        const std::string key = unique("K");
        constexpr int kCopies = 8;
        std::vector<HttpResult> answers(kCopies);
        std::vector<std::thread> threads;
        for (int i = 0; i < kCopies; ++i)
            threads.emplace_back([&, i] {
                answers[i] = http(gw.port(), "POST", "/api/v1/orders", kBody, json_headers(key));
            });
        for (auto& t : threads) t.join();
        int fresh = 0;
        std::string first_body;
        for (const auto& a : answers) {
            if (a.status == 201 && a.header("Idempotent-Replayed").empty()) {
                ++fresh;
                first_body = a.body;
            } else if (a.status == 409) {
                EXPECT_EQ(field(a.json(), "code"), "IDEMPOTENCY_IN_FLIGHT") << a.body;
            } else {
                EXPECT_EQ(a.status, 201) << a.body;
                EXPECT_EQ(a.header("Idempotent-Replayed"), "true");
            }
        }
        ASSERT_EQ(fresh, 1) << "round " << round;
        for (const auto& a : answers)
            if (a.status == 201) {
                EXPECT_EQ(a.body, first_body);
            }
        auto later = http(gw.port(), "POST", "/api/v1/orders", kBody, json_headers(key));
        EXPECT_EQ(later.status, 201) << later.body;
        EXPECT_EQ(later.header("Idempotent-Replayed"), "true");
        EXPECT_EQ(later.body, first_body);
        std::string other = kBody;
        other.replace(other.find("\"10\""), 4, "\"11\"");
        auto reused = http(gw.port(), "POST", "/api/v1/orders", other, json_headers(key));
        EXPECT_EQ(reused.status, 422) << reused.body;
        EXPECT_EQ(field(reused.json(), "code"), "IDEMPOTENCY_KEY_REUSED");
    }
    EXPECT_EQ(venue_cids(dir).size(), 5u) << "orders at the venue";
}

}  // namespace
}  // namespace ordergate::testing
