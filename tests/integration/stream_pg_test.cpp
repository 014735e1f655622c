// The stream across gateway instances (API.md "Streaming"): two gateways on one PostgreSQL
// schema; an order placed through one reaches a stream client of the other through the event log
// and LISTEN/NOTIFY. PostgreSQL and Redis are the run's shared services (tests/services).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <random>
#include <thread>

#include "gateway_process.hpp"
#include "services.hpp"
#include "stream_client.hpp"

namespace ordergate::testing {
namespace {

std::string unique_schema() {
    static std::atomic<int> n{0};
    static const unsigned salt = std::random_device{}() % 100000;
    return "og_it_stream_" + std::to_string(::getpid()) + "_" + std::to_string(salt) + "_" +
           std::to_string(++n);
}

std::string write_config(const std::string& dir, const std::string& schema) {
    std::string path = dir + "/gateway.yaml";
    std::ofstream out(path);
    out << "http:\n  host: 127.0.0.1\n  port: ${PORT}\n  shutdown_grace_seconds: 5\n"
           "plugin_dirs:\n  - ${OG_PLUGIN_DIR}\n"
           "storage:\n  plugin: storage-postgres\n  settings:\n    url: ${DATABASE_URL}\n"
           "    schema: "
        << schema
        << "\nbrokers:\n  - name: paper\n    plugin: broker-paper\n    timeout_ms: 2000\n"
           "    settings:\n      seed: 42\n      journal_path: ${OG_DATA_DIR}/paper.journal\n"
           "      accounts: \"ACC1,ACC2\"\n      initial_cash: 1000000000\n"
           "      currency: INR\n      tick_ms: 50\n      prices:\n        INFY: 1500.00\n"
           "accounts:\n  - {id: ACC1, broker: paper}\n  - {id: ACC2, broker: paper}\n"
           "idempotency:\n  backend: redis\n  redis_url: ${REDIS_URL}\n"
           "logging:\n  level: info\n";
    return path;
}

// Options of gateways sharing one fresh schema of the run's PostgreSQL (and its Redis).
GatewayOptions on_one_schema(const std::string& dir_prefix) {
    const ServiceUrls& svc = shared_services();
    GatewayOptions o;
    o.config = write_config(make_temp_dir(dir_prefix), unique_schema());
    o.env = {{"DATABASE_URL", svc.database_url}, {"REDIS_URL", svc.redis_url}};
    return o;
}

TEST(StreamInstances, AnOrderPlacedThroughOneGatewayIsStreamedToAClientOfTheOther) {
    const GatewayOptions o = on_one_schema("og-stream-two");
    GatewayProcess a(o);
    GatewayProcess b(o);

    StreamClient client(b.port());
    client.send(R"({"op":"subscribe","account_id":"ACC1","topics":["orders"]})");
    auto sub = client.next(std::chrono::seconds(10));
    ASSERT_TRUE(sub.has_value());
    ASSERT_EQ(sub->type(), "subscribed") << sub->text;

    auto placed = http(a.port(), "POST", "/api/v1/orders",
                       R"({"account_id":"ACC1","symbol":"INFY","exchange":"NSE","side":"BUY",)"
                       R"("quantity":"1","order_type":"MARKET"})",
                       json_headers());
    ASSERT_TRUE(placed.status == 201 || placed.status == 202) << placed.body;
    const std::string id = field(placed.json(), "id");
    bool seen = false;
    int64_t prev = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!seen && std::chrono::steady_clock::now() < deadline) {
        auto m = client.next(std::chrono::milliseconds(500));
        if (!m || m->type() != "event") continue;
        EXPECT_GT(m->seq(), prev);
        prev = m->seq();
        seen = field(m->json, "data.id") == id;
    }
    EXPECT_TRUE(seen) << "gateway B's client never saw order " << id << "\n" << b.log();
    // The same entries, with the same seq, on both instances. The order's later entries (its
    // ack, fill and position, written behind the answer) may commit between the two reads: read
    // both again until they agree (bounded).
    HttpResult ra, rb;
    deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    do {
        ra = http(a.port(), "GET", "/api/v1/events?account_id=ACC1");
        rb = http(b.port(), "GET", "/api/v1/events?account_id=ACC1");
    } while (ra.body != rb.body && std::chrono::steady_clock::now() < deadline);
    EXPECT_EQ(ra.status, 200) << ra.body;
    EXPECT_EQ(ra.body, rb.body);
    // A shared store: each instance follows the other's fills through the log.
    for (const GatewayProcess* g : {&a, &b}) {
        const std::vector<std::string> names = g->thread_names();
        EXPECT_NE(std::find(names.begin(), names.end(), "og-log-follow"), names.end())
            << "no follower on a store shared by several hosts";
    }
}

// Both gateways hold the position (one through its own fill, the other through the log) and
// watch the price move, yet only one of them (the storage lease's holder) writes the price-driven
// position entries: at most one a second, not one a second from each.
TEST(StreamInstances, OnlyOneGatewayWritesThePriceDrivenPositionEntries) {
    const GatewayOptions o = on_one_schema("og-stream-marks");
    GatewayProcess a(o);
    GatewayProcess b(o);
    auto placed = http(a.port(), "POST", "/api/v1/orders",
                       R"({"account_id":"ACC1","symbol":"INFY","exchange":"NSE","side":"BUY",)"
                       R"("quantity":"5","order_type":"MARKET"})",
                       json_headers());
    ASSERT_TRUE(placed.status == 201 || placed.status == 202) << placed.body;
    // B watches INFY's price for a GTT far from it (each gateway here has a paper venue of its
    // own, so an order through B would be a second venue's).
    auto gtt = http(b.port(), "POST", "/api/v1/gtt",
                    R"({"account_id":"ACC1","symbol":"INFY","exchange":"NSE","type":"SINGLE",)"
                    R"("triggers":[{"trigger_price":"1.00","order":{"side":"BUY","quantity":"1",)"
                    R"("order_type":"MARKET"}}]})",
                    json_headers());
    ASSERT_EQ(gtt.status, 201) << gtt.body;
    // B holds the position once its follower read A's fill.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    auto held = [&] {
        return http(b.port(), "GET", "/api/v1/positions?account_id=ACC1")
                   .body.find("\"quantity\":\"5\"") != std::string::npos;
    };
    while (!held() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(held()) << b.log();
    StreamClient client(b.port());
    client.send(R"({"op":"subscribe","account_id":"ACC1","topics":["positions"]})");
    auto sub = client.next(std::chrono::seconds(10));
    ASSERT_TRUE(sub.has_value());
    ASSERT_EQ(sub->type(), "subscribed") << sub->text;
    size_t entries = 0;
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() < start + std::chrono::milliseconds(5500)) {
        auto m = client.next(std::chrono::milliseconds(200));
        if (m && m->type() == "event") ++entries;
    }
    const auto read_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - start)
                             .count();
    EXPECT_GE(entries, size_t{2}) << "the price moved: entries expected\n" << a.log();
    EXPECT_LE(entries, static_cast<size_t>(read_ms / 1000 + 1)) << a.log() << b.log();
}

}  // namespace
}  // namespace ordergate::testing
