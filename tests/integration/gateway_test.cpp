// End-to-end tests of the gateway on the embedded default: the real `ordergate` binary, the
// paper broker and SQLite storage loaded through the real loader, driven over HTTP.
#include <Poco/Net/ServerSocket.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "gateway_process.hpp"
#include "ordergate/decimal.hpp"

namespace ordergate::testing {
namespace {

std::string config_path() { return source_dir() + "/tests/integration/gateway.yaml"; }

std::string unique(const std::string& prefix) {
    static std::atomic<int> n{0};
    return prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(++n) + "-" +
           std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000);
}

std::string order_body(const std::string& account, const std::string& type,
                       const std::string& extra_fields, const std::string& cid = "") {
    std::string b = "{\"account_id\":\"" + account +
                    "\",\"symbol\":\"INFY\",\"exchange\":\"NSE\",\"side\":\"BUY\","
                    "\"quantity\":\"10\",\"order_type\":\"" +
                    type + "\"";
    if (!extra_fields.empty()) b += "," + extra_fields;
    if (!cid.empty()) b += ",\"client_order_id\":\"" + cid + "\"";
    return b + "}";
}

// Polls GET /api/v1/orders/{id} until its status is `want` (bounded).
std::string wait_status(uint16_t port, const std::string& id, const std::string& want) {
    std::string last;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
        auto r = http(port, "GET", "/api/v1/orders/" + id);
        last = field(r.json(), "status");
        if (last == want) return last;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return last;
}

class Gateway : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        GatewayOptions o;
        o.config = config_path();
        gw_ = new GatewayProcess(o);
    }
    static void TearDownTestSuite() {
        delete gw_;
        gw_ = nullptr;
    }
    uint16_t port() const { return gw_->port(); }
    HttpResult post(const std::string& path, const std::string& body, const std::string& key = "") {
        return http(port(), "POST", path, body, json_headers(key));
    }
    HttpResult place(const std::string& body, const std::string& key = "") {
        return post("/api/v1/orders", body, key);
    }
    static GatewayProcess* gw_;
};
GatewayProcess* Gateway::gw_ = nullptr;

TEST_F(Gateway, HealthAndReadinessAnswer) {
    auto h = gw_->get("/health");
    EXPECT_EQ(h.status, 200);
    EXPECT_EQ(h.body, "{\"status\":\"ok\"}");
    EXPECT_FALSE(h.header("X-Request-Id").empty());
    auto r = gw_->get("/health/ready");
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(field(r.json(), "status"), "ready");
}

// SQLite has one writer host (its wait_account_events is Unsupported): no thread reads the
// event log back for other instances' fills, since there are none.
TEST_F(Gateway, OnItsOwnSqliteStoreNoThreadReadsTheEventLogBack) {
    const std::vector<std::string> names = gw_->thread_names();
    auto has = [&](const std::string& n) {
        return std::find(names.begin(), names.end(), n) != names.end();
    };
    ASSERT_TRUE(has("og-writer")) << "thread names not readable";
    EXPECT_FALSE(has("og-log-follow"));
}

// With jemalloc (the release build; the sanitizer builds keep their own allocator) one background
// thread hands freed memory back, so a gateway that went quiet shrinks again (host/app/main.cpp).
TEST_F(Gateway, WithJemallocOneBackgroundThreadGivesFreedMemoryBack) {
    std::ifstream maps("/proc/" + std::to_string(gw_->pid()) + "/maps");
    ASSERT_TRUE(maps) << "cannot read the process's maps";
    const std::string text((std::istreambuf_iterator<char>(maps)), std::istreambuf_iterator<char>());
    const std::vector<std::string> names = gw_->thread_names();
    const auto background = std::count(names.begin(), names.end(), "jemalloc_bg_thd");
    if (text.find("libjemalloc") == std::string::npos) {
        EXPECT_EQ(background, 0);
        GTEST_SKIP() << "this build's gateway does not allocate with jemalloc (a sanitizer build)";
    }
    EXPECT_EQ(background, 1);
}

TEST_F(Gateway, RequestIdIsEchoed) {
    auto r = gw_->get("/health", {{"X-Request-Id", "my-trace-42"}});
    EXPECT_EQ(r.header("X-Request-Id"), "my-trace-42");
}

TEST_F(Gateway, PlaceMarketOrder_Returns201ThenFills) {
    std::string cid = unique("mkt");
    auto r = place(order_body("ACC1", "MARKET", "", cid));
    ASSERT_EQ(r.status, 201) << r.body;
    auto o = r.json();
    std::string id = field(o, "id");
    EXPECT_EQ(id.rfind("ord_", 0), 0u);
    EXPECT_EQ(field(o, "client_order_id"), cid);
    EXPECT_EQ(field(o, "quantity"), "10");
    EXPECT_EQ(field(o, "broker"), "paper");
    EXPECT_FALSE(field(o, "broker_order_id").empty());
    EXPECT_EQ(r.header("Location"), "/api/v1/orders/" + id);
    EXPECT_EQ(wait_status(port(), id, "FILLED"), "FILLED");

    auto by_cid = gw_->get("/api/v1/orders/client_order_id:" + cid);
    ASSERT_EQ(by_cid.status, 200);
    EXPECT_EQ(field(by_cid.json(), "id"), id);
    EXPECT_EQ(field(by_cid.json(), "filled_quantity"), "10");
    EXPECT_FALSE(field(by_cid.json(), "average_fill_price").empty());

    auto ev = gw_->get("/api/v1/orders/" + id + "/events");
    ASSERT_EQ(ev.status, 200);
    const json::Value evj = ev.json();
    const auto* items = evj.find("items");
    ASSERT_TRUE(items && items->items().size() >= 2) << ev.body;
    EXPECT_EQ(field(items->items()[0], "seq"), "1");
    EXPECT_EQ(field(items->items()[0], "from_status"), "null");
    EXPECT_EQ(field(items->items()[0], "to_status"), "PENDING_NEW");
    EXPECT_EQ(field(items->items()[0], "source"), "api");
    EXPECT_EQ(field(items->items().back(), "to_status"), "FILLED");
    EXPECT_EQ(field(items->items().back(), "source"), "broker");

    auto trades = gw_->get("/api/v1/trades?order_id=" + id);
    ASSERT_EQ(trades.status, 200);
    const json::Value tj = trades.json();
    const auto* t = tj.find("items");
    ASSERT_TRUE(t && !t->items().empty()) << trades.body;
    EXPECT_EQ(field(t->items()[0], "order_id"), id);
}

TEST_F(Gateway, DecimalsKeepTheirScaleAndExponentNumbersArePlain) {
    auto r = place("{\"account_id\":\"ACC2\",\"symbol\":\"INFY\",\"exchange\":\"NSE\",\"side\":"
                   "\"BUY\",\"quantity\":1.5e1,\"order_type\":\"LIMIT\",\"price\":\"1.10\"}");
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(field(r.json(), "quantity"), "15");
    EXPECT_EQ(field(r.json(), "price"), "1.10");
}

TEST_F(Gateway, ValidationErrorsListEveryField) {
    auto r = place("{\"account_id\":\"ACC1\",\"side\":\"HOLD\",\"quantity\":\"-1\","
                   "\"order_type\":\"MARKET\",\"price\":\"10\",\"colour\":\"red\"}");
    ASSERT_EQ(r.status, 422) << r.body;
    EXPECT_EQ(r.header("Content-Type"), "application/problem+json");
    auto p = r.json();
    EXPECT_EQ(field(p, "code"), "VALIDATION_FAILED");
    EXPECT_EQ(field(p, "type"), "https://ordergate.dev/errors/validation-failed");
    EXPECT_EQ(field(p, "status"), "422");
    std::set<std::string> fields;
    for (const auto& e : p.find("errors")->items()) fields.insert(field(e, "field"));  // p is a local
    for (const char* f : {"symbol", "exchange", "side", "quantity", "price", "colour"})
        EXPECT_TRUE(fields.count(f)) << "missing error for " << f << ": " << r.body;
}

TEST_F(Gateway, BadDecimalsAreRefusedNamingTheField) {
    for (const char* q : {"1e400", "\"1e3\"", "\"\"", "\"NaN\"", "\"1234567890123456789\"",
                          "\"0.0000000001\"", "true"}) {
        auto r = place(std::string("{\"account_id\":\"ACC1\",\"symbol\":\"INFY\",\"exchange\":"
                                   "\"NSE\",\"side\":\"BUY\",\"order_type\":\"MARKET\","
                                   "\"quantity\":") +
                       q + "}");
        ASSERT_EQ(r.status, 422) << q << " -> " << r.body;
        const json::Value p = r.json();
        EXPECT_EQ(field(p.find("errors")->items()[0], "field"), "quantity") << q;
    }
}

TEST_F(Gateway, MalformedBodiesAre400) {
    for (const char* b : {"{", "[]", "{\"quantity\":\"1\",\"quantity\":\"1000\"}", "nope"}) {
        auto r = place(b);
        EXPECT_EQ(r.status, 400) << b << " -> " << r.body;
        EXPECT_EQ(field(r.json(), "code"), "MALFORMED_JSON") << b;
    }
}

TEST_F(Gateway, WrongContentTypeIs415AndOversizeIs413) {
    auto r = http(port(), "POST", "/api/v1/orders", order_body("ACC1", "MARKET", ""),
                  {{"Content-Type", "text/plain"}});
    EXPECT_EQ(r.status, 415);
    EXPECT_EQ(field(r.json(), "code"), "UNSUPPORTED_MEDIA_TYPE");
    std::string big = "{\"tag\":\"" + std::string(70000, 'x') + "\"}";
    auto b = place(big);
    EXPECT_EQ(b.status, 413);
    EXPECT_EQ(field(b.json(), "code"), "PAYLOAD_TOO_LARGE");
}

TEST_F(Gateway, OversizedHeaderIs431ProblemJson) {
    auto r = gw_->get("/api/v1/orders", {{"X-Padding", std::string(10000, 'p')}});
    EXPECT_EQ(r.status, 431) << r.body;
    EXPECT_EQ(r.header("Content-Type"), "application/problem+json");
    EXPECT_EQ(field(r.json(), "code"), "HEADERS_TOO_LARGE");
    EXPECT_EQ(gw_->get("/health").status, 200);  // and the server goes on
}

TEST_F(Gateway, UnknownRoutesAndMethods) {
    auto r = gw_->get("/api/v1/nothing");
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(field(r.json(), "code"), "NOT_FOUND");
    auto m = http(port(), "PATCH", "/api/v1/orders", "{}", json_headers());
    EXPECT_EQ(m.status, 405);
    EXPECT_NE(m.header("Allow").find("POST"), std::string::npos);
    EXPECT_EQ(gw_->get("/api/v1/orders/ord_nonexistent").status, 404);
    EXPECT_EQ(gw_->get("/api/v1/orders/ord_01JAAAAAAAAAAAAAAAAAAAAAAA").status, 404);
}

TEST_F(Gateway, ReplayReturnsTheSameBytes) {
    std::string key = unique("key");
    std::string body = order_body("ACC2", "LIMIT", "\"price\":\"1.00\"");
    auto first = place(body, key);
    ASSERT_EQ(first.status, 201) << first.body;
    EXPECT_TRUE(first.header("Idempotent-Replayed").empty());
    auto second = place(body, key);
    EXPECT_EQ(second.status, 201);
    EXPECT_EQ(second.body, first.body);
    EXPECT_EQ(second.header("Idempotent-Replayed"), "true");
    // Same key, same document written differently (members reordered, spaces): the same request.
    std::string reordered = "{ \"price\": \"1.00\", \"order_type\": \"LIMIT\", \"quantity\": \"10\","
                            " \"side\": \"BUY\", \"exchange\": \"NSE\", \"symbol\": \"INFY\","
                            " \"account_id\": \"ACC2\" }";
    EXPECT_EQ(place(reordered, key).body, first.body);
    // Same key, another request.
    auto other = place(order_body("ACC2", "LIMIT", "\"price\":\"2.00\""), key);
    EXPECT_EQ(other.status, 422);
    EXPECT_EQ(field(other.json(), "code"), "IDEMPOTENCY_KEY_REUSED");
}

TEST_F(Gateway, MalformedIdempotencyKeyIs400) {
    auto r = place(order_body("ACC2", "LIMIT", "\"price\":\"1.00\""), std::string(256, 'k'));
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(field(r.json(), "code"), "IDEMPOTENCY_KEY_INVALID");
}

TEST_F(Gateway, SameKeyWhileInFlightIs409) {
    std::string key = unique("inflight");
    std::string body = order_body("SLOW1", "LIMIT", "\"price\":\"1.00\"");
    HttpResult slow;
    std::thread t([&] { slow = place(body, key); });
    // The intent is stored before the broker call, which takes 1.5 s at this venue: once the
    // order is listed, the first request is in flight.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    auto listed = [&] {
        const json::Value v = gw_->get("/api/v1/orders?account_id=SLOW1").json();
        const json::Value* items = v.find("items");
        return items && !items->items().empty();
    };
    while (std::chrono::steady_clock::now() < deadline && !listed())
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    HttpResult quick = place(body, key);
    t.join();
    EXPECT_EQ(slow.status, 201) << slow.body;
    EXPECT_EQ(quick.status, 409) << quick.body;
    EXPECT_EQ(field(quick.json(), "code"), "IDEMPOTENCY_IN_FLIGHT");
    auto list = gw_->get("/api/v1/orders?account_id=SLOW1");
    const json::Value lj = list.json();
    EXPECT_EQ(lj.find("items")->items().size(), 1u) << list.body;
}

TEST_F(Gateway, DuplicateClientOrderIdIs409NamingTheOrder) {
    std::string cid = unique("dup");
    auto first = place(order_body("ACC2", "LIMIT", "\"price\":\"1.00\"", cid), unique("k"));
    ASSERT_EQ(first.status, 201);
    auto again = place(order_body("ACC2", "LIMIT", "\"price\":\"1.00\"", cid), unique("k"));
    EXPECT_EQ(again.status, 409);
    EXPECT_EQ(field(again.json(), "code"), "DUPLICATE_CLIENT_ORDER_ID");
    EXPECT_EQ(field(again.json(), "order_id"), field(first.json(), "id"));
}

TEST_F(Gateway, TimeoutAfterSendIs202PendingNew) {
    auto r = place(order_body("LOST1", "LIMIT", "\"price\":\"1.00\""));
    ASSERT_EQ(r.status, 202) << r.body;
    EXPECT_EQ(field(r.json(), "status"), "PENDING_NEW");
    auto g = gw_->get("/api/v1/orders/" + field(r.json(), "id"));
    EXPECT_EQ(field(g.json(), "status"), "PENDING_NEW");
}

TEST_F(Gateway, BrokerRejectionIs422AndStoredRejected) {
    auto r = place(order_body("REJ1", "LIMIT", "\"price\":\"1.00\""));
    ASSERT_EQ(r.status, 422) << r.body;
    EXPECT_EQ(field(r.json(), "code"), "BROKER_REJECTED");
    std::string id = field(r.json(), "order_id");
    ASSERT_FALSE(id.empty());
    auto g = gw_->get("/api/v1/orders/" + id);
    ASSERT_EQ(g.status, 200);
    EXPECT_EQ(field(g.json(), "status"), "REJECTED");
    EXPECT_FALSE(field(g.json(), "reject_reason").empty());
}

TEST_F(Gateway, RiskLimitIs422NamingTheLimit) {
    auto r = place("{\"account_id\":\"ACC1\",\"symbol\":\"INFY\",\"exchange\":\"NSE\",\"side\":"
                   "\"BUY\",\"quantity\":\"100001\",\"order_type\":\"LIMIT\",\"price\":\"1\"}");
    ASSERT_EQ(r.status, 422) << r.body;
    EXPECT_EQ(field(r.json(), "code"), "RISK_REJECTED");
    EXPECT_NE(field(r.json(), "detail").find("quantity"), std::string::npos);
}

TEST_F(Gateway, UnknownAccountIs404) {
    auto r = place(order_body("NOPE", "MARKET", ""));
    EXPECT_EQ(r.status, 404);
}

TEST_F(Gateway, CancelModifyAndTheirConflicts) {
    auto r = place(order_body("ACC2", "LIMIT", "\"price\":\"1.00\""));
    ASSERT_EQ(r.status, 201) << r.body;
    std::string id = field(r.json(), "id");
    EXPECT_EQ(field(r.json(), "status"), "OPEN");

    auto m = http(port(), "PUT", "/api/v1/orders/" + id, "{\"price\":\"1.25\"}", json_headers());
    ASSERT_EQ(m.status, 200) << m.body;
    EXPECT_EQ(field(m.json(), "price"), "1.25");
    EXPECT_EQ(field(m.json(), "status"), "OPEN");
    // The order as modified must be valid by the rule of a place, checked before the broker is
    // called; the detail names what is wrong. A price the order had goes with its old type.
    for (const auto& [body, detail] : std::vector<std::pair<std::string, std::string>>{
             {"{\"order_type\":\"STOP\"}", "trigger_price is required for STOP"},
             {"{\"trigger_price\":\"2\"}", "trigger_price must be absent for LIMIT"},
             {"{\"order_type\":\"STOP\",\"trigger_price\":\"2\",\"price\":\"1.5\"}",
              "price must be absent for STOP"},
             {"{\"order_type\":\"MARKET\",\"price\":\"1.5\"}", "price must be absent for MARKET"},
             {"{\"order_type\":\"STOP_LIMIT\",\"quantity\":\"0\"}",
              "quantity must be greater than 0"},
             {"{\"order_type\":\"STOP_LIMIT\"}", "trigger_price is required for STOP_LIMIT"}}) {
        auto bad = http(port(), "PUT", "/api/v1/orders/" + id, body, json_headers());
        EXPECT_EQ(bad.status, 422) << body << " -> " << bad.body;
        EXPECT_EQ(field(bad.json(), "code"), "VALIDATION_FAILED") << body << " -> " << bad.body;
        EXPECT_EQ(field(bad.json(), "detail"), detail) << body << " -> " << bad.body;
    }
    // A modify that changes nothing (the values the order has, whatever their scale: a client's
    // retry of a modify already done) is answered with the order as it is; the broker is not
    // asked to replace an order by itself.
    auto trail = [&] { return gw_->get("/api/v1/orders/" + id + "/events").body; };
    std::string before = trail();
    for (int i = 0; i < 50; ++i) {  // the venue's pushes of the modify above, applied
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        const std::string now = trail();
        if (now == before) break;
        before = now;
    }
    const std::string version = field(gw_->get("/api/v1/orders/" + id).json(), "version");
    for (const std::string& body :
         {std::string("{\"price\":\"1.250\"}"),
          std::string("{\"price\":\"1.25\",\"order_type\":\"LIMIT\"}"),
          "{\"quantity\":\"" + field(m.json(), "quantity") + ".0\",\"time_in_force\":\"DAY\"}"}) {
        auto same = http(port(), "PUT", "/api/v1/orders/" + id, body, json_headers());
        ASSERT_EQ(same.status, 200) << body << " -> " << same.body;
        EXPECT_EQ(field(same.json(), "price"), "1.25") << same.body;
        EXPECT_EQ(field(same.json(), "version"), version) << same.body;
    }
    EXPECT_EQ(trail(), before) << "no request reached the broker";
    auto stop = http(port(), "PUT", "/api/v1/orders/" + id,
                     "{\"order_type\":\"STOP\",\"trigger_price\":\"9000.50\"}", json_headers());
    ASSERT_EQ(stop.status, 200) << stop.body;
    EXPECT_EQ(field(stop.json(), "order_type"), "STOP");
    EXPECT_EQ(field(stop.json(), "price"), "null");
    EXPECT_EQ(field(stop.json(), "trigger_price"), "9000.50");

    auto c = http(port(), "DELETE", "/api/v1/orders/" + id);
    ASSERT_EQ(c.status, 200) << c.body;
    EXPECT_EQ(field(c.json(), "status"), "CANCELLED");
    auto again = http(port(), "DELETE", "/api/v1/orders/" + id);
    EXPECT_EQ(again.status, 200);
    auto late = http(port(), "PUT", "/api/v1/orders/" + id, "{\"price\":\"1.30\"}", json_headers());
    EXPECT_EQ(late.status, 409);
    EXPECT_EQ(field(late.json(), "code"), "ORDER_NOT_MODIFIABLE");

    auto filled = place(order_body("ACC1", "MARKET", ""));
    ASSERT_EQ(filled.status, 201);
    std::string fid = field(filled.json(), "id");
    ASSERT_EQ(wait_status(port(), fid, "FILLED"), "FILLED");
    auto nc = http(port(), "DELETE", "/api/v1/orders/" + fid);
    EXPECT_EQ(nc.status, 409);
    EXPECT_EQ(field(nc.json(), "code"), "ORDER_NOT_CANCELLABLE");
}

// The audit trail names the request a broker's confirmation answers, every time: the paper
// venue's pushed confirmation and the call's answer race to the host (one on the event thread,
// one on the request's), and the trail used to name the place, the modify or the cancel only
// when the answer won.
TEST_F(Gateway, TheTrailNamesTheRequestEachConfirmationAnswers) {
    for (int n = 0; n < 20; ++n) {
        auto r = place(order_body("ACC2", "LIMIT", "\"price\":\"1.00\""));
        ASSERT_EQ(r.status, 201) << r.body;
        const std::string id = field(r.json(), "id");
        auto m = http(port(), "PUT", "/api/v1/orders/" + id, "{\"price\":\"1.25\"}",
                      json_headers());
        ASSERT_EQ(m.status, 200) << m.body;
        auto c = http(port(), "DELETE", "/api/v1/orders/" + id);
        ASSERT_EQ(c.status, 200) << c.body;
        const json::Value evs = http(port(), "GET", "/api/v1/orders/" + id + "/events").json();
        const auto& items = evs.find("items")->items();
        std::string asked;
        int answered = 0;
        for (const auto& e : items) {
            const std::string from = field(e, "from_status"), to = field(e, "to_status");
            if (to == "PENDING_NEW") {
                asked = field(e, "request_id");  // the place's (X-Request-Id)
                EXPECT_FALSE(asked.empty() || asked == "null");
            } else if (to == "PENDING_REPLACE" || to == "PENDING_CANCEL") {
                asked = field(e, "request_id");
                EXPECT_EQ(asked.rfind("og-r", 0), 0u) << asked;
            } else if (from == "PENDING_NEW" || from == "PENDING_REPLACE" ||
                       from == "PENDING_CANCEL") {
                EXPECT_EQ(field(e, "request_id"), asked)
                    << "order " << id << ": " << from << " -> " << to;
                ++answered;
            }
        }
        EXPECT_EQ(answered, 3) << id;
    }
}

TEST_F(Gateway, ModifyRefusedByTheBrokerRevertsTheOrder) {
    auto r = place(order_body("ACC2", "LIMIT", "\"price\":\"1.00\""));
    ASSERT_EQ(r.status, 201) << r.body;
    std::string id = field(r.json(), "id");
    // The paper venue trades on a 0.05 tick grid: 1.03 is refused at the venue.
    auto m = http(port(), "PUT", "/api/v1/orders/" + id, "{\"price\":\"1.03\"}", json_headers());
    ASSERT_EQ(m.status, 422) << m.body;
    EXPECT_EQ(field(m.json(), "code"), "BROKER_REJECTED");
    EXPECT_EQ(field(m.json(), "order_id"), id);
    auto g = gw_->get("/api/v1/orders/" + id);
    EXPECT_EQ(field(g.json(), "status"), "OPEN");
    EXPECT_EQ(field(g.json(), "price"), "1.00");
    auto ev = gw_->get("/api/v1/orders/" + id + "/events");
    const json::Value evj = ev.json();
    const auto& items = evj.find("items")->items();
    ASSERT_GE(items.size(), 4u) << ev.body;
    EXPECT_EQ(field(items[items.size() - 2], "to_status"), "PENDING_REPLACE");
    EXPECT_EQ(field(items.back(), "to_status"), "OPEN");
    EXPECT_NE(field(items.back(), "reason").find("modify refused"), std::string::npos);
}

TEST_F(Gateway, CancelAllCancelsEveryOpenOrderOfTheAccount) {
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) {
        auto r = place(order_body("ACC2", "LIMIT", "\"price\":\"1.00\""));
        ASSERT_EQ(r.status, 201);
        ids.push_back(field(r.json(), "id"));
    }
    auto r = http(port(), "DELETE", "/api/v1/orders?account_id=ACC2");
    ASSERT_EQ(r.status, 200) << r.body;
    std::set<std::string> cancelled;
    const json::Value rj = r.json();
    for (const auto& v : rj.find("cancelled")->items()) cancelled.insert(v.text());
    for (const auto& id : ids) EXPECT_TRUE(cancelled.count(id)) << id;
    for (const auto& id : ids)
        EXPECT_EQ(field(gw_->get("/api/v1/orders/" + id).json(), "status"), "CANCELLED");
    auto ev = gw_->get("/api/v1/orders/" + ids[0] + "/events");
    EXPECT_NE(ev.body.find("\"emulated\":true"), std::string::npos) << ev.body;
}

TEST_F(Gateway, ListPaginatesWithoutGapsOrRepeats) {
    std::string sym = "PAG" + std::to_string(::getpid() % 1000);
    std::set<std::string> placed;
    for (int i = 0; i < 230; ++i) {
        auto r = place("{\"account_id\":\"ACC2\",\"symbol\":\"" + sym +
                       "\",\"exchange\":\"NSE\",\"side\":\"BUY\",\"quantity\":\"1\","
                       "\"order_type\":\"LIMIT\",\"price\":\"1.00\"}");
        ASSERT_EQ(r.status, 201) << r.body;
        placed.insert(field(r.json(), "id"));
    }
    std::set<std::string> seen;
    std::string cursor;
    int pages = 0;
    for (;;) {
        std::string path = "/api/v1/orders?account_id=ACC2&symbol=" + sym + "&limit=100";
        if (!cursor.empty()) path += "&cursor=" + cursor;
        auto r = gw_->get(path);
        ASSERT_EQ(r.status, 200) << r.body;
        ++pages;
        auto v = r.json();
        for (const auto& o : v.find("items")->items()) EXPECT_TRUE(seen.insert(field(o, "id")).second);
        const auto* next = v.find("next_cursor");
        if (next->is_null()) break;
        cursor = next->text();
        ASSERT_LT(pages, 10);
    }
    EXPECT_EQ(pages, 3);
    EXPECT_EQ(seen, placed);
}

TEST_F(Gateway, BadQueryParametersAre400) {
    for (const char* q : {"limit=0", "limit=1001", "limit=abc", "status=BOGUS", "since=yesterday",
                          "cursor=%ZZ", "colour=red"}) {
        auto r = gw_->get(std::string("/api/v1/orders?") + q);
        EXPECT_EQ(r.status, 400) << q << " -> " << r.body;
        EXPECT_EQ(field(r.json(), "code"), "INVALID_PARAMETER") << q;
    }
}

// The ack is written behind the 201: a list right after it must still show the order as answered.
TEST_F(Gateway, OrderAnsweredOpenIsListedByStatusAtOnce) {
    const std::string sym = "RAW" + std::to_string(::getpid() % 1000);
    for (int i = 0; i < 25; ++i) {
        auto r = place("{\"account_id\":\"ACC2\",\"symbol\":\"" + sym +
                       "\",\"exchange\":\"NSE\",\"side\":\"BUY\",\"quantity\":\"1\","
                       "\"order_type\":\"LIMIT\",\"price\":\"1.00\"}");
        ASSERT_EQ(r.status, 201) << r.body;
        ASSERT_EQ(field(r.json(), "status"), "OPEN") << r.body;
        const std::string id = field(r.json(), "id");
        auto list = gw_->get("/api/v1/orders?status=OPEN&account_id=ACC2&symbol=" + sym +
                             "&limit=1000");
        ASSERT_EQ(list.status, 200) << list.body;
        bool found = false;
        const json::Value lj = list.json();
        for (const auto& o : lj.find("items")->items()) found = found || field(o, "id") == id;
        ASSERT_TRUE(found) << "run " << i << ": " << id << " answered OPEN, not listed as OPEN";
    }
}

// A cursor the storage plugin did not produce is the client's mistake: 400 INVALID_PARAMETER on
// both storage-backed lists, never a 503 that reads as an outage in metrics or readiness.
TEST_F(Gateway, MalformedCursorIs400InvalidParameterNotAnOutage) {
    for (const char* path : {"/api/v1/orders?cursor=!!x!!", "/api/v1/trades?cursor=!!x!!",
                             "/api/v1/orders?status=OPEN&cursor=c1.!!",
                             "/api/v1/trades?account_id=ACC1&cursor=ord_01J0"}) {
        auto r = gw_->get(path);
        EXPECT_EQ(r.status, 400) << path << " -> " << r.body;
        EXPECT_EQ(r.header("Content-Type"), "application/problem+json") << path;
        EXPECT_EQ(field(r.json(), "code"), "INVALID_PARAMETER") << path;
        EXPECT_EQ(field(r.json(), "status"), "400") << path;
        EXPECT_TRUE(r.header("Retry-After").empty()) << path;
    }
    auto ready = gw_->get("/health/ready");
    EXPECT_EQ(ready.status, 200) << ready.body;
    auto m = gw_->get("/metrics");
    ASSERT_EQ(m.status, 200);
    // No API route counted a 503 (/health/ready may have, while the start-up reconciliation ran).
    std::istringstream lines(m.body);
    for (std::string line; std::getline(lines, line);)
        if (line.find("status=\"503\"") != std::string::npos &&
            line.find("route=\"/api/v1/") != std::string::npos)
            ADD_FAILURE() << "counted as an outage: " << line;
}

TEST_F(Gateway, PositionsFollowFills) {
    auto before = gw_->get("/api/v1/positions?account_id=ACC1");
    ASSERT_EQ(before.status, 200);
    auto r = place("{\"account_id\":\"ACC1\",\"symbol\":\"TCS\",\"exchange\":\"NSE\",\"side\":"
                   "\"BUY\",\"quantity\":\"3\",\"order_type\":\"MARKET\"}");
    ASSERT_EQ(r.status, 201) << r.body;
    ASSERT_EQ(wait_status(port(), field(r.json(), "id"), "FILLED"), "FILLED");
    auto after = gw_->get("/api/v1/positions?account_id=ACC1");
    ASSERT_EQ(after.status, 200);
    bool found = false;
    const json::Value aj = after.json();
    for (const auto& p : aj.find("items")->items()) {
        if (field(p, "symbol") != "TCS") continue;
        found = true;
        EXPECT_EQ(field(p, "account_id"), "ACC1");
        EXPECT_NE(field(p, "quantity"), "0");
        EXPECT_FALSE(field(p, "average_price").empty());
    }
    EXPECT_TRUE(found) << after.body;
}

TEST_F(Gateway, FractionalMarketOrderFilledInHalvesIsFilledWithItsWholePosition) {
    // Issue 13 item 1: tick 0.01, partial_fill_ratio 0.5, 0.12345678 at ~2000.00. The second
    // fill used to fail with "decimal overflow", leaving PARTIALLY_FILLED and half a position.
    auto r = place("{\"account_id\":\"FRAC1\",\"symbol\":\"INFY\",\"exchange\":\"NSE\","
                   "\"side\":\"BUY\",\"quantity\":\"0.12345678\",\"order_type\":\"MARKET\"}");
    ASSERT_EQ(r.status, 201) << r.body;
    const std::string id = field(r.json(), "id");
    ASSERT_EQ(wait_status(port(), id, "FILLED"), "FILLED");
    auto o = gw_->get("/api/v1/orders/" + id);
    EXPECT_EQ(field(o.json(), "filled_quantity"), "0.12345678") << o.body;
    EXPECT_FALSE(field(o.json(), "average_fill_price").empty()) << o.body;
    auto pos = gw_->get("/api/v1/positions?account_id=FRAC1");
    ASSERT_EQ(pos.status, 200);
    const json::Value pj = pos.json();
    ASSERT_EQ(pj.find("items")->items().size(), 1u) << pos.body;
    EXPECT_EQ(field(pj.find("items")->items()[0], "quantity"), "0.12345678") << pos.body;
}

TEST_F(Gateway, AccountsComeFromTheBroker) {
    auto r = gw_->get("/api/v1/accounts");
    ASSERT_EQ(r.status, 200) << r.body;
    std::set<std::string> ids;
    const json::Value rj = r.json();
    for (const auto& a : rj.find("items")->items()) {
        ids.insert(field(a, "account_id"));
        EXPECT_FALSE(field(a, "cash").empty());
        EXPECT_NE(field(a, "cash"), "null");
        EXPECT_EQ(field(a, "reported"), "true");
    }
    EXPECT_TRUE(ids.count("ACC1") && ids.count("ACC2"));
    EXPECT_EQ(field(rj, "next_cursor"), "null") << r.body;
    EXPECT_EQ(gw_->get("/api/v1/accounts/ACC1").status, 200);
    EXPECT_EQ(gw_->get("/api/v1/accounts/NOPE").status, 404);

    // Paged as the contract says: one at a time, every account once, in the same order.
    std::vector<std::string> paged;
    std::string cursor;
    for (int page = 0; page < 10; ++page) {
        auto p = gw_->get("/api/v1/accounts?limit=1" + (cursor.empty() ? "" : "&cursor=" + cursor));
        ASSERT_EQ(p.status, 200) << p.body;
        const json::Value pj = p.json();
        ASSERT_EQ(pj.find("items")->items().size(), 1u) << p.body;
        paged.push_back(field(pj.find("items")->items()[0], "account_id"));
        cursor = field(pj, "next_cursor");
        if (cursor == "null") break;
    }
    std::vector<std::string> whole;
    for (const auto& a : rj.find("items")->items()) whole.push_back(field(a, "account_id"));
    EXPECT_EQ(paged, whole);
    EXPECT_EQ(gw_->get("/api/v1/accounts?limit=0").status, 400);
    EXPECT_EQ(gw_->get("/api/v1/accounts?nope=1").status, 400);
}

// GET /api/v1/quote: the price at the account's broker, what a GTT is armed against, so a
// client can place an OCO's legs on the two sides of it.
TEST_F(Gateway, AQuoteIsTheBrokersCurrentPriceAndWhatAGttIsArmedAgainst) {
    auto q = gw_->get("/api/v1/quote?account_id=ACC1&symbol=TCS&exchange=NSE");
    ASSERT_EQ(q.status, 200) << q.body;
    const json::Value qj = q.json();
    EXPECT_EQ(field(qj, "account_id"), "ACC1");
    EXPECT_EQ(field(qj, "broker"), "paper");
    EXPECT_EQ(field(qj, "symbol"), "TCS");
    EXPECT_EQ(field(qj, "exchange"), "NSE");
    Decimal last;
    ASSERT_TRUE(Decimal::parse(field(qj, "last_price"), &last)) << q.body;
    EXPECT_TRUE(last.is_positive());
    EXPECT_FALSE(field(qj, "at").empty());
    EXPECT_TRUE(field(qj, "source") == "broker" || field(qj, "source") == "stream") << q.body;

    const Decimal step = Decimal::must_parse("100");
    auto oco = http(port(), "POST", "/api/v1/gtt",
                    "{\"account_id\":\"ACC1\",\"symbol\":\"TCS\",\"exchange\":\"NSE\","
                    "\"type\":\"OCO\",\"triggers\":[{\"trigger_price\":\"" +
                        (last + step).to_string() +
                        "\",\"order\":{\"side\":\"SELL\",\"order_type\":\"MARKET\","
                        "\"quantity\":\"1\"}},{\"trigger_price\":\"" +
                        (last - step).to_string() +
                        "\",\"order\":{\"side\":\"SELL\",\"order_type\":\"MARKET\","
                        "\"quantity\":\"1\"}}]}",
                    json_headers());
    ASSERT_EQ(oco.status, 201) << oco.body;
    EXPECT_EQ(http(port(), "DELETE", "/api/v1/gtt/" + field(oco.json(), "id")).status, 200);

    for (const auto& [path, status, code] : std::vector<std::tuple<std::string, int, std::string>>{
             {"/api/v1/quote?account_id=ACC1&exchange=NSE", 400, "INVALID_PARAMETER"},
             {"/api/v1/quote?account_id=ACC1&symbol=TCS", 400, "INVALID_PARAMETER"},
             {"/api/v1/quote?symbol=TCS&exchange=NSE", 400, "INVALID_PARAMETER"},
             {"/api/v1/quote?account_id=ACC1&symbol=TCS&exchange=NSE&side=BUY", 400,
              "INVALID_PARAMETER"},
             {"/api/v1/quote?account_id=NOPE&symbol=TCS&exchange=NSE", 404, "NOT_FOUND"}}) {
        auto r = gw_->get(path);
        EXPECT_EQ(r.status, status) << path << " -> " << r.body;
        EXPECT_EQ(field(r.json(), "code"), code) << path << " -> " << r.body;
    }
}

// The contract: a query parameter the endpoint does not know is 400 INVALID_PARAMETER, on the
// routes that take none too (a place with one used to be placed). Nothing reaches the broker, and
// the Idempotency-Key is not spent: the same key without the parameter then places the order.
TEST_F(Gateway, RoutesWithoutQueryParametersRefuseOne) {
    auto placed = place(order_body("ACC2", "LIMIT", "\"price\":\"1.00\""));
    ASSERT_EQ(placed.status, 201) << placed.body;
    const std::string id = field(placed.json(), "id");
    const std::string body = order_body("ACC2", "LIMIT", "\"price\":\"1.00\"", "no-query-1");
    for (const auto& [method, path, sent] :
         std::vector<std::tuple<std::string, std::string, std::string>>{
             {"POST", "/api/v1/orders?dry_run=true", body},
             {"GET", "/api/v1/orders/" + id + "?fields=id", ""},
             {"PUT", "/api/v1/orders/" + id + "?force=1", "{\"price\":\"1.10\"}"},
             {"DELETE", "/api/v1/orders/" + id + "?x=1", ""},
             {"GET", "/api/v1/accounts/ACC1?x=1", ""},
             {"POST", "/api/v1/gtt?x=1", "{}"},
             {"GET", "/api/v1/gtt/gtt_x?x=1", ""},
             {"PUT", "/api/v1/gtt/gtt_x?x=1", "{}"},
             {"DELETE", "/api/v1/gtt/gtt_x?x=1", ""},
             {"POST", "/api/v1/reconciliation/run?x=1", ""}}) {
        auto r = http(port(), method, path, sent, json_headers("no-query-key"));
        EXPECT_EQ(r.status, 400) << method << " " << path << " -> " << r.body;
        EXPECT_EQ(field(r.json(), "code"), "INVALID_PARAMETER") << method << " " << path;
    }
    EXPECT_EQ(gw_->get("/api/v1/orders/client_order_id:no-query-1").status, 404);
    auto order = gw_->get("/api/v1/orders/" + id);
    EXPECT_EQ(field(order.json(), "status"), "OPEN");
    EXPECT_EQ(field(order.json(), "price"), "1.00");
    auto keyed = http(port(), "POST", "/api/v1/orders", body, json_headers("no-query-key"));
    EXPECT_EQ(keyed.status, 201) << keyed.body;
}

TEST_F(Gateway, OperationalEndpoints) {
    ASSERT_EQ(place(order_body("ACC2", "LIMIT", "\"price\":\"1.00\"")).status, 201);
    auto m = gw_->get("/metrics");
    EXPECT_EQ(m.status, 200);
    EXPECT_NE(m.body.find("ordergate_http_requests_total"), std::string::npos);
    EXPECT_NE(m.body.find("ordergate_orders_total"), std::string::npos);
    auto o = gw_->get("/openapi.json");
    EXPECT_EQ(o.status, 200);
    EXPECT_EQ(field(o.json(), "openapi").substr(0, 2), "3.");
    auto d = gw_->get("/docs");
    EXPECT_EQ(d.status, 200);
    EXPECT_NE(d.header("Content-Type").find("text/html"), std::string::npos);
    auto p = gw_->get("/api/v1/plugins");
    ASSERT_EQ(p.status, 200);
    EXPECT_NE(p.body.find("broker-paper"), std::string::npos);
    EXPECT_NE(p.body.find("storage-sqlite"), std::string::npos);
}

TEST(GatewayLifecycle, SigtermExitsCleanlyAndStateSurvivesRestart) {
    std::string dir = make_temp_dir("og-restart");
    std::string id, cid = unique("restart");
    {
        GatewayOptions o;
        o.config = config_path();
        o.data_dir = dir;
        GatewayProcess gw(o);
        auto r = http(gw.port(), "POST", "/api/v1/orders",
                      order_body("ACC2", "LIMIT", "\"price\":\"1.00\"", cid), json_headers());
        ASSERT_EQ(r.status, 201) << r.body;
        id = field(r.json(), "id");
        EXPECT_EQ(gw.stop(), 0) << gw.log();
    }
    GatewayOptions o;
    o.config = config_path();
    o.data_dir = dir;
    GatewayProcess gw(o);
    auto g = gw.get("/api/v1/orders/" + id);
    ASSERT_EQ(g.status, 200) << g.body;
    EXPECT_EQ(field(g.json(), "client_order_id"), cid);
    EXPECT_EQ(field(g.json(), "status"), "OPEN");
    // A live order recovered at start-up can be cancelled.
    auto c = http(gw.port(), "DELETE", "/api/v1/orders/" + id);
    EXPECT_EQ(c.status, 200) << c.body;
}

// A paper venue without a journal forgets its book when the gateway stops, but the gateway's
// store keeps every fill. Its trade ids used to start again at PT-1, so after a restart each new
// trade had the id of a stored one: the gateway took it for a resend and dropped it, leaving the
// order without its fills and the position short, for good.
TEST(GatewayLifecycle, AVenueWithoutAJournalNeverGivesAStoredTradeIdAgain) {
    const std::string dir = make_temp_dir("og-nojournal");
    const std::string body =
        "{\"account_id\":\"FRAC1\",\"symbol\":\"INFY\",\"exchange\":\"NSE\",\"side\":\"BUY\","
        "\"quantity\":\"2\",\"order_type\":\"MARKET\"}";
    std::vector<std::string> trade_ids;
    for (int run = 0; run < 2; ++run) {
        GatewayOptions o;
        o.config = config_path();
        o.data_dir = dir;
        GatewayProcess gw(o);
        auto r = http(gw.port(), "POST", "/api/v1/orders", body, json_headers());
        ASSERT_EQ(r.status, 201) << r.body;
        const std::string id = field(r.json(), "id");
        // paper-frac fills every order in two halves.
        EXPECT_EQ(wait_status(gw.port(), id, "FILLED"), "FILLED") << gw.log();
        auto o1 = gw.get("/api/v1/orders/" + id);
        EXPECT_EQ(field(o1.json(), "filled_quantity"), "2") << o1.body;
        auto pos = gw.get("/api/v1/positions?account_id=FRAC1");
        ASSERT_EQ(pos.status, 200);
        const json::Value pj = pos.json();
        ASSERT_EQ(pj.find("items")->items().size(), 1u) << pos.body;
        EXPECT_EQ(field(pj.find("items")->items()[0], "quantity"), run == 0 ? "2" : "4")
            << pos.body;
        auto t = gw.get("/api/v1/trades?account_id=FRAC1&order_id=" + id);
        ASSERT_EQ(t.status, 200) << t.body;
        const json::Value tj = t.json();
        const auto& items = tj.find("items")->items();
        EXPECT_EQ(items.size(), 2u) << t.body;
        for (const auto& f : items) trade_ids.push_back(field(f, "broker_trade_id"));
        // Nothing of it was taken for a resend.
        EXPECT_EQ(gw.get("/metrics")
                      .body.find("{broker=\"paper-frac\",kind=\"fill\",result=\"duplicate\"}"),
                  std::string::npos);
        EXPECT_EQ(gw.stop(), 0) << gw.log();
    }
    std::vector<std::string> distinct = trade_ids;
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    EXPECT_EQ(distinct.size(), 4u) << ::testing::PrintToString(trade_ids);
}

// A venue that gives a new execution the trade id of a stored fill of another order breaks the
// SDK's contract, and the gateway cannot store that fill. It used to be logged at info as a
// duplicate (a resend), so the order's missing fill went unseen; now it is an error, counted.
TEST(GatewayLifecycle, ATradeIdTheVenueGivesAgainIsAnErrorNotADuplicate) {
    const std::string dir = make_temp_dir("og-tradeid");
    std::string yaml;
    {
        std::ifstream in(config_path());
        yaml.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    const std::string frac = "      accounts: \"FRAC1\"\n";
    const size_t at = yaml.find(frac);
    ASSERT_NE(at, std::string::npos);
    // Every start numbers from 1 again: the second start's trades have the first's ids.
    yaml.insert(at + frac.size(), "      first_id: 1\n");
    const std::string path = dir + "/first-id-1.yaml";
    std::ofstream(path) << yaml;
    const std::string body =
        "{\"account_id\":\"FRAC1\",\"symbol\":\"INFY\",\"exchange\":\"NSE\",\"side\":\"BUY\","
        "\"quantity\":\"2\",\"order_type\":\"MARKET\"}";
    const std::string taken =
        "ordergate_broker_events_total{broker=\"paper-frac\",kind=\"fill\",result=\"trade_id_"
        "taken\"} 2\n";
    for (int run = 0; run < 2; ++run) {
        GatewayOptions o;
        o.config = path;
        o.data_dir = dir;
        GatewayProcess gw(o);
        auto r = http(gw.port(), "POST", "/api/v1/orders", body, json_headers());
        ASSERT_EQ(r.status, 201) << r.body;
        const std::string id = field(r.json(), "id");
        if (run == 0) {
            EXPECT_EQ(wait_status(gw.port(), id, "FILLED"), "FILLED") << gw.log();
        } else {
            // Both halves have the first order's trade ids: neither is stored, each is an error.
            bool seen = false;
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
            while (!seen && std::chrono::steady_clock::now() < deadline) {
                seen = gw.get("/metrics").body.find(taken) != std::string::npos;
                if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
            EXPECT_TRUE(seen) << gw.get("/metrics").body;
            EXPECT_NE(gw.log().find("level=error event=fill_trade_id_taken order_id=" + id),
                      std::string::npos)
                << gw.log();
            EXPECT_EQ(gw.get("/metrics")
                          .body.find("{broker=\"paper-frac\",kind=\"fill\",result=\"duplicate\"}"),
                      std::string::npos);
            EXPECT_EQ(field(gw.get("/api/v1/orders/" + id).json(), "filled_quantity"), "0");
        }
        EXPECT_EQ(gw.stop(), 0) << gw.log();
    }
}
TEST(GatewayLifecycle, SigtermFinishesTheRequestInFlightAndFlushesIt) {
    const std::string dir = make_temp_dir("og-drain");
    const std::string cid = unique("drain");
    std::string id;
    {
        GatewayOptions o;
        o.config = config_path();
        o.data_dir = dir;
        GatewayProcess gw(o);
        HttpResult slow;
        // The paper-slow venue answers after 1.5 s: the request is in flight once it is listed.
        std::thread t([&] {
            slow = http(gw.port(), "POST", "/api/v1/orders",
                        order_body("SLOW1", "LIMIT", "\"price\":\"1.00\"", cid), json_headers());
        });
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        bool listed = false;
        while (!listed && std::chrono::steady_clock::now() < deadline) {
            const auto r = gw.get("/api/v1/orders?account_id=SLOW1");
            listed = r.body.find(cid) != std::string::npos;
            if (!listed) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        ASSERT_TRUE(listed) << gw.log();
        ASSERT_EQ(::kill(gw.pid(), SIGTERM), 0);
        t.join();
        EXPECT_EQ(slow.status, 201) << slow.body << "\n" << gw.log();
        id = field(slow.json(), "id");
        EXPECT_EQ(field(slow.json(), "status"), "OPEN");
        EXPECT_EQ(gw.wait_exit(std::chrono::seconds(20)), 0) << gw.log();
    }
    // What the client was told is what was stored.
    GatewayOptions o;
    o.config = config_path();
    o.data_dir = dir;
    GatewayProcess gw(o);
    const auto g = gw.get("/api/v1/orders/" + id);
    ASSERT_EQ(g.status, 200) << g.body;
    EXPECT_EQ(field(g.json(), "client_order_id"), cid);
    EXPECT_EQ(field(g.json(), "status"), "OPEN");
}

TEST(GatewayLifecycle, ConfigErrorExitsBeforeListeningNamingFileLineAndKey) {
    std::string dir = make_temp_dir("og-badcfg");
    std::string path = dir + "/bad.yaml";
    {
        std::FILE* f = std::fopen(path.c_str(), "w");
        std::fputs("http:\n  port: not-a-port\n", f);
        std::fclose(f);
    }
    GatewayOptions o;
    o.config = path;
    o.expect_start = false;
    GatewayProcess gw(o);
    int code = gw.wait_exit(std::chrono::seconds(20));
    EXPECT_NE(code, 0);
    EXPECT_NE(gw.log().find("bad.yaml:"), std::string::npos) << gw.log();
}

TEST(GatewayLifecycle, PortAlreadyInUseFailsStartUpInsteadOfSharingIt) {
    // Held the way Poco binds by default (SO_REUSEADDR and SO_REUSEPORT): a gateway that also
    // set SO_REUSEPORT would start and silently share the port with this socket.
    Poco::Net::ServerSocket holder;
    holder.bind(Poco::Net::SocketAddress("127.0.0.1", 0), true, true);
    holder.listen();
    GatewayOptions o;
    o.config = config_path();
    o.env["PORT"] = std::to_string(holder.address().port());
    o.expect_start = false;
    GatewayProcess gw(o);
    const int code = gw.wait_exit(std::chrono::seconds(20));
    EXPECT_NE(code, 0) << gw.log();
    EXPECT_NE(gw.log().find("cannot listen on"), std::string::npos) << gw.log();
}

}  // namespace
}  // namespace ordergate::testing
