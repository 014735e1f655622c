// ABI 1.4 end to end: asynchronous broker outcomes and request chains through the real gateway,
// loader and broker-paper (async_ack: acknowledgements and rejects arrive through the event sink,
// answers to a modify or cancel name the order by that request's own id, as over FIX).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "gateway_process.hpp"

namespace ordergate::testing {
namespace {

// A LIMIT buy far below the market: it rests, open, at the paper venue.
std::string resting_order(const std::string& account, const std::string& price = "1000.00") {
    return "{\"account_id\":\"" + account +
           "\",\"symbol\":\"INFY\",\"exchange\":\"NSE\",\"side\":\"BUY\",\"quantity\":\"2\","
           "\"order_type\":\"LIMIT\",\"price\":\"" + price + "\"}";
}

class AsyncBroker : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        GatewayOptions o;
        o.config = source_dir() + "/tests/integration/async_broker.yaml";
        gw_ = new GatewayProcess(o);
    }
    static void TearDownTestSuite() {
        delete gw_;
        gw_ = nullptr;
    }
    static HttpResult place(const std::string& body) {
        return http(gw_->port(), "POST", "/api/v1/orders", body, json_headers());
    }
    // Polls the order (bounded: 10 s) until its status is `want`; returns the last status seen.
    static std::string wait_status(const std::string& id, const std::string& want) {
        std::string seen;
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < until) {
            seen = field(gw_->get("/api/v1/orders/" + id).json(), "status");
            if (seen == want) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return seen;
    }
    static GatewayProcess* gw_;
};
GatewayProcess* AsyncBroker::gw_ = nullptr;

TEST_F(AsyncBroker, AckThroughTheSinkWithinTheDeadlineIs201WithTheBrokerId) {
    auto r = place(resting_order("ASYNC1"));
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(field(r.json(), "status"), "OPEN");
    EXPECT_FALSE(field(r.json(), "broker_order_id").empty()) << r.body;
}

TEST_F(AsyncBroker, AckAfterTheDeadlineIs202PendingNewThenSettledByTheLateAck) {
    auto r = place(resting_order("LATE1"));
    ASSERT_EQ(r.status, 202) << r.body;
    EXPECT_EQ(field(r.json(), "status"), "PENDING_NEW");
    const std::string id = field(r.json(), "id");
    EXPECT_EQ(wait_status(id, "OPEN"), "OPEN");
    EXPECT_FALSE(field(gw_->get("/api/v1/orders/" + id).json(), "broker_order_id").empty());
}

// The venue's answer to a modify names the order only by the modify's own request id (FIX
// ClOrdID): the gateway finds the order through its request chain.
TEST_F(AsyncBroker, ModifyAnsweredByItsRequestIdConfirmsTheNewTerms) {
    auto r = place(resting_order("ASYNC1"));
    ASSERT_EQ(r.status, 201) << r.body;
    const std::string id = field(r.json(), "id");
    auto m = http(gw_->port(), "PUT", "/api/v1/orders/" + id, "{\"price\":\"1001.00\"}",
                  json_headers());
    ASSERT_EQ(m.status, 200) << m.body;
    EXPECT_EQ(field(m.json(), "status"), "OPEN");
    EXPECT_EQ(field(m.json(), "price"), "1001.00");
    // The PENDING_REPLACE event carries the modify's request id, which the answer's event names.
    auto evr = gw_->get("/api/v1/orders/" + id + "/events");
    auto evs = evr.json();
    std::string requested, confirmed;
    for (const auto& e : evs.find("items")->items()) {
        if (field(e, "to_status") == "PENDING_REPLACE") requested = field(e, "request_id");
        if (field(e, "from_status") == "PENDING_REPLACE") confirmed = field(e, "request_id");
    }
    EXPECT_EQ(requested.rfind("og-r", 0), 0u) << evr.body;
    EXPECT_EQ(confirmed, requested) << evr.body;
}

TEST_F(AsyncBroker, CancelAnsweredByItsRequestIdCancels) {
    auto r = place(resting_order("ASYNC1"));
    ASSERT_EQ(r.status, 201) << r.body;
    const std::string id = field(r.json(), "id");
    auto c = http(gw_->port(), "DELETE", "/api/v1/orders/" + id);
    ASSERT_EQ(c.status, 200) << c.body;
    EXPECT_EQ(field(c.json(), "status"), "CANCELLED");
}

// A cancel the venue refuses (FIX OrderCancelReject): the order returns to OPEN, and the refusal
// with the venue's text is the order's latest event.
TEST_F(AsyncBroker, CancelRejectRestoresTheOrderWithTheVenueText) {
    auto r = place(resting_order("REFUSE1"));
    ASSERT_EQ(r.status, 201) << r.body;
    const std::string id = field(r.json(), "id");
    auto c = http(gw_->port(), "DELETE", "/api/v1/orders/" + id);
    EXPECT_EQ(c.status, 422) << c.body;
    EXPECT_NE(c.body.find("too late to cancel"), std::string::npos) << c.body;
    EXPECT_EQ(field(gw_->get("/api/v1/orders/" + id).json(), "status"), "OPEN");
    auto evs = gw_->get("/api/v1/orders/" + id + "/events").json();
    const auto& items = evs.find("items")->items();
    ASSERT_FALSE(items.empty());
    const auto& last = items.back();
    EXPECT_EQ(field(last, "from_status"), "PENDING_CANCEL");
    EXPECT_EQ(field(last, "to_status"), "OPEN");
    EXPECT_NE(field(last, "reason").find("cancel refused by broker: "), std::string::npos);
    EXPECT_NE(field(last, "reason").find("too late to cancel"), std::string::npos);
}

// After a restart the order is found by the chain ids in storage: a modify chained to the last
// confirmed one, then a cancel whose answer names only its request id.
TEST_F(AsyncBroker, RequestChainAfterARestart) {
    auto r = place(resting_order("ASYNC1"));
    ASSERT_EQ(r.status, 201) << r.body;
    const std::string id = field(r.json(), "id");
    auto m = http(gw_->port(), "PUT", "/api/v1/orders/" + id, "{\"price\":\"1002.00\"}",
                  json_headers());
    ASSERT_EQ(m.status, 200) << m.body;
    gw_->stop();
    GatewayOptions o;
    o.config = source_dir() + "/tests/integration/async_broker.yaml";
    o.data_dir = gw_->data_dir();
    delete gw_;
    gw_ = new GatewayProcess(o);
    auto m2 = http(gw_->port(), "PUT", "/api/v1/orders/" + id, "{\"price\":\"1003.00\"}",
                   json_headers());
    ASSERT_EQ(m2.status, 200) << m2.body;
    EXPECT_EQ(field(m2.json(), "price"), "1003.00");
    auto c = http(gw_->port(), "DELETE", "/api/v1/orders/" + id);
    ASSERT_EQ(c.status, 200) << c.body;
    EXPECT_EQ(field(c.json(), "status"), "CANCELLED");
}

// A throttled broker's wait becomes the 503's Retry-After (nothing was sent).
TEST_F(AsyncBroker, RateLimitedBrokerAnswers503WithItsRetryAfter) {
    auto r = place(resting_order("THROTTLED1"));
    ASSERT_EQ(r.status, 503) << r.body;
    EXPECT_EQ(field(r.json(), "code"), "BROKER_UNAVAILABLE") << r.body;
    EXPECT_EQ(r.header("retry-after"), "3");
}

// Capabilities per instance: the same plugin, one instance without native modify.
TEST_F(AsyncBroker, InstanceWithoutModifyRefusesAModifyBeforeTheBroker) {
    auto r = place(resting_order("NOMOD1"));
    ASSERT_EQ(r.status, 201) << r.body;
    auto m = http(gw_->port(), "PUT", "/api/v1/orders/" + field(r.json(), "id"),
                  "{\"price\":\"1001.00\"}", json_headers());
    EXPECT_EQ(field(m.json(), "code"), "UNSUPPORTED_BY_BROKER") << m.body;
    EXPECT_EQ(field(gw_->get("/api/v1/orders/" + field(r.json(), "id")).json(), "status"), "OPEN");
}

}  // namespace
}  // namespace ordergate::testing
