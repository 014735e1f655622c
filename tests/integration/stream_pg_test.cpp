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

TEST(StreamInstances, AnOrderPlacedThroughOneGatewayIsStreamedToAClientOfTheOther) {
    const ServiceUrls& svc = shared_services();
    const std::string dir = make_temp_dir("og-stream-two");
    const std::string cfg = write_config(dir, unique_schema());
    GatewayOptions o;
    o.config = cfg;
    o.env = {{"DATABASE_URL", svc.database_url}, {"REDIS_URL", svc.redis_url}};
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

}  // namespace
}  // namespace ordergate::testing
