// A broker plugin that hangs (broker-paper with fault.hang_ms) behind the real gateway: the host
// enforces every broker call's deadline itself, so a hung plugin costs a request its deadline,
// never its thread for good, and never more than the broker's own share of call threads.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gateway_process.hpp"

namespace ordergate::testing {
namespace {

std::string limit_order(const std::string& account, const std::string& symbol = "INFY") {
    return "{\"account_id\":\"" + account + "\",\"symbol\":\"" + symbol +
           "\",\"exchange\":\"NSE\",\"side\":\"BUY\",\"quantity\":\"1\","
           "\"order_type\":\"LIMIT\",\"price\":\"1.00\"}";
}

class HungBroker : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        GatewayOptions o;
        o.config = source_dir() + "/tests/integration/hung_broker.yaml";
        gw_ = new GatewayProcess(o);
    }
    static void TearDownTestSuite() {
        delete gw_;
        gw_ = nullptr;
    }
    HttpResult place(const std::string& body) {
        return http(gw_->port(), "POST", "/api/v1/orders", body, json_headers());
    }
    static GatewayProcess* gw_;
};
GatewayProcess* HungBroker::gw_ = nullptr;

// The component entry of /health/ready for `name`, or a null value.
json::Value component(const json::Value& ready, const std::string& name) {
    if (const auto* items = ready.find("components"))
        for (const auto& c : items->items())
            if (field(c, "component") == name) return c;
    return json::Value();
}

TEST_F(HungBroker, OrderPastTheDeadlineIs202PendingNew) {
    auto r = place(limit_order("HUNG1"));
    ASSERT_EQ(r.status, 202) << r.body;
    EXPECT_EQ(field(r.json(), "status"), "PENDING_NEW");
    // Never resent, never rejected by the host: it waits for reconciliation.
    auto g = gw_->get("/api/v1/orders/" + field(r.json(), "id"));
    EXPECT_EQ(field(g.json(), "status"), "PENDING_NEW");
}

TEST_F(HungBroker, ReadinessNamesTheBrokerWithCallsStuckPastTheirDeadline) {
    auto r = place(limit_order("HUNG1"));
    ASSERT_EQ(r.status, 202) << r.body;
    auto ready = gw_->get("/health/ready");
    EXPECT_EQ(ready.status, 503) << ready.body;
    const json::Value hung = component(ready.json(), "broker:paper-hung");
    EXPECT_EQ(field(hung, "status"), "down") << ready.body;
    EXPECT_NE(field(hung, "detail").find("stuck past their deadline"), std::string::npos)
        << ready.body;
    EXPECT_EQ(field(component(ready.json(), "broker:paper"), "status"), "up") << ready.body;
    auto metrics = gw_->get("/metrics");
    EXPECT_NE(metrics.body.find("ordergate_broker_calls_timed_out_total{broker=\"paper-hung\""),
              std::string::npos);
}

TEST_F(HungBroker, ManyHungCallsLeaveTheServerAnswering) {
    // Twice as many concurrent orders to the hung broker as the server has HTTP threads.
    constexpr int kOrders = 16;
    std::vector<int> statuses(kOrders, 0);
    std::vector<std::thread> clients;
    for (int i = 0; i < kOrders; ++i)
        clients.emplace_back([&, i] {
            try {
                statuses[i] = place(limit_order("HUNG1")).status;
            } catch (const std::exception&) {
                statuses[i] = -1;  // no answer within the client's own timeout
            }
        });
    // Answered while (and after) the hung broker's calls are in flight: /health, and an order to
    // the healthy broker.
    try {
        EXPECT_EQ(gw_->get("/health").status, 200);
        auto healthy = place(limit_order("ACC1"));
        EXPECT_EQ(healthy.status, 201) << healthy.body;
    } catch (const std::exception& e) {
        ADD_FAILURE() << "no answer while the hung broker's calls were in flight: " << e.what();
    }
    for (auto& t : clients) t.join();
    int pending = 0, not_sent = 0;
    for (int s : statuses) {
        EXPECT_TRUE(s == 202 || s == 503) << "status " << s;
        pending += s == 202;
        not_sent += s == 503;
    }
    // The hung broker had only its own share of call threads: once they were all stuck, the rest
    // were refused at once (503, nothing sent) instead of waiting.
    EXPECT_GT(not_sent, 0);
    EXPECT_EQ(pending + not_sent, kOrders);
}

}  // namespace
}  // namespace ordergate::testing
