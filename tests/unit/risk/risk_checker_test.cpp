// Unit tests of risk::RiskChecker: each limit, per-account limits, the rate window with a clock.
#include "risk/risk_checker.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace ordergate::risk {
namespace {

using namespace std::chrono_literals;

Decimal D(const char* s) { return Decimal::must_parse(s); }

OrderRequest order(const char* qty, OrderType type = OrderType::Limit,
                   std::optional<const char*> price = "100", const char* account = "ACC1") {
    OrderRequest r;
    r.account_id = account;
    r.symbol = "INFY";
    r.exchange = "NSE";
    r.side = Side::Buy;
    r.order_type = type;
    r.quantity = D(qty);
    if (price) {
        if (type == OrderType::Stop) r.trigger_price = D(*price);
        else r.price = D(*price);
    }
    return r;
}

class RiskTest : public testing::Test {
protected:
    std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
    RiskChecker make(RiskLimits defaults, std::map<std::string, RiskLimits> per_account = {}) {
        return RiskChecker(std::move(defaults), std::move(per_account), clock_);
    }
};

TEST_F(RiskTest, NoLimitsPassEverything) {
    auto rc = make({});
    EXPECT_FALSE(rc.check(order("1000000"), std::nullopt));
    EXPECT_FALSE(rc.check(order("1", OrderType::Market, std::nullopt), std::nullopt));
}

TEST_F(RiskTest, MaxQuantity) {
    RiskLimits l;
    l.max_quantity = D("500");
    auto rc = make(l);
    EXPECT_FALSE(rc.check(order("500"), std::nullopt));
    EXPECT_FALSE(rc.check(order("499.999"), std::nullopt));
    auto r = rc.check(order("500.001"), std::nullopt);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->limit, "max_quantity");
    EXPECT_EQ(r->detail, "quantity 500.001 exceeds max_quantity 500 for account ACC1");
}

TEST_F(RiskTest, MaxNotionalUsesThePriceOfTheOrderType) {
    RiskLimits l;
    l.max_notional = D("10000");
    auto rc = make(l);
    // LIMIT and STOP_LIMIT: the limit price.
    EXPECT_FALSE(rc.check(order("100", OrderType::Limit, "100.00"), std::nullopt));
    auto r = rc.check(order("100", OrderType::Limit, "100.01"), std::nullopt);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->limit, "max_notional");
    EXPECT_EQ(r->detail,
              "notional 10001.00 (quantity 100 x price 100.01) exceeds max_notional 10000 for "
              "account ACC1");
    auto sl = order("100", OrderType::StopLimit, "100.01");
    sl.trigger_price = D("1");  // the trigger does not count for STOP_LIMIT
    EXPECT_TRUE(rc.check(sl, std::nullopt));
    // STOP: the trigger price.
    EXPECT_FALSE(rc.check(order("100", OrderType::Stop, "99"), std::nullopt));
    r = rc.check(order("100", OrderType::Stop, "101"), std::nullopt);
    ASSERT_TRUE(r);
    EXPECT_NE(r->detail.find("trigger_price 101"), std::string::npos) << r->detail;
    // MARKET: the reference price.
    EXPECT_FALSE(rc.check(order("100", OrderType::Market, std::nullopt), D("99.99")));
    r = rc.check(order("100", OrderType::Market, std::nullopt), D("100.5"));
    ASSERT_TRUE(r);
    EXPECT_NE(r->detail.find("reference price 100.5"), std::string::npos) << r->detail;
}

TEST_F(RiskTest, MaxNotionalWithoutAKnownPriceFailsClosed) {
    RiskLimits l;
    l.max_notional = D("10000");
    auto rc = make(l);
    auto r = rc.check(order("1", OrderType::Market, std::nullopt), std::nullopt);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->limit, "max_notional");
    EXPECT_EQ(r->detail,
              "no reference price is known for this MARKET order of INFY on NSE, so max_notional "
              "10000 cannot be checked for account ACC1");
    r = rc.check(order("1", OrderType::Limit, std::nullopt), std::nullopt);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->limit, "max_notional");
    // Without a notional limit a missing price is not risk's business.
    EXPECT_FALSE(make({}).check(order("1", OrderType::Market, std::nullopt), std::nullopt));
}

TEST_F(RiskTest, NotionalTooLargeToComputeIsOverTheLimit) {
    RiskLimits l;
    l.max_notional = D("1");
    auto rc = make(l);
    auto r = rc.check(order("100000000000", OrderType::Limit, "100000000000"), std::nullopt);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->limit, "max_notional");
}

TEST_F(RiskTest, NegativePricesCountByMagnitude) {
    RiskLimits l;
    l.max_notional = D("100");
    auto rc = make(l);
    EXPECT_TRUE(rc.check(order("10", OrderType::Limit, "-37.63"), std::nullopt));
}

TEST_F(RiskTest, AllowedSymbolsAndExchanges) {
    RiskLimits l;
    l.allowed_symbols = {"INFY", "TCS"};
    l.allowed_exchanges = {"NSE"};
    auto rc = make(l);
    EXPECT_FALSE(rc.check(order("1"), std::nullopt));
    auto o = order("1");
    o.symbol = "RELIANCE";
    auto r = rc.check(o, std::nullopt);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->limit, "allowed_symbols");
    EXPECT_EQ(r->detail, "symbol RELIANCE is not in allowed_symbols (INFY, TCS) for account ACC1");
    o = order("1");
    o.symbol = "infy";  // case-sensitive
    EXPECT_EQ(rc.check(o, std::nullopt)->limit, "allowed_symbols");
    o = order("1");
    o.exchange = "BSE";
    r = rc.check(o, std::nullopt);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->limit, "allowed_exchanges");
    EXPECT_EQ(r->detail, "exchange BSE is not in allowed_exchanges (NSE) for account ACC1");
}

TEST_F(RiskTest, FirstFailingLimitIsReportedInOrder) {
    RiskLimits l;
    l.allowed_symbols = {"TCS"};
    l.max_quantity = D("1");
    auto rc = make(l);
    EXPECT_EQ(rc.check(order("5"), std::nullopt)->limit, "allowed_symbols");
}

TEST_F(RiskTest, PerAccountLimitsReplaceTheDefaults) {
    RiskLimits defaults;
    defaults.max_quantity = D("10");
    defaults.allowed_symbols = {"INFY"};
    RiskLimits big;
    big.max_quantity = D("1000");  // and no symbol list: any symbol
    auto rc = make(defaults, {{"BIG", big}});
    EXPECT_TRUE(rc.check(order("11"), std::nullopt));
    EXPECT_FALSE(rc.check(order("11", OrderType::Limit, "1", "BIG"), std::nullopt));
    auto o = order("1000", OrderType::Limit, "1", "BIG");
    o.symbol = "ANYTHING";
    EXPECT_FALSE(rc.check(o, std::nullopt));
    auto r = rc.check(order("1001", OrderType::Limit, "1", "BIG"), std::nullopt);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->detail, "quantity 1001 exceeds max_quantity 1000 for account BIG");
    EXPECT_EQ(rc.limits_for("BIG").max_quantity, D("1000"));
    EXPECT_EQ(rc.limits_for("OTHER").max_quantity, D("10"));
}

TEST_F(RiskTest, RateLimitIsASlidingSecondPerAccount) {
    RiskLimits l;
    l.max_orders_per_second = 3;
    auto rc = make(l);
    for (int i = 0; i < 3; ++i) {
        EXPECT_FALSE(rc.check(order("1"), std::nullopt)) << i;
        clock_->advance(100ms);
    }
    // t = 300 ms: 3 orders in (t - 1 s, t].
    auto r = rc.check(order("1"), std::nullopt);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->limit, "max_orders_per_second");
    EXPECT_EQ(r->detail, "more than max_orders_per_second 3 orders in one second for account ACC1");
    // Another account has its own window.
    EXPECT_FALSE(rc.check(order("1", OrderType::Limit, "1", "ACC2"), std::nullopt));
    // t = 999 ms: the first order (t = 0) is still inside.
    clock_->advance(699ms);
    EXPECT_TRUE(rc.check(order("1"), std::nullopt));
    // t = 1000 ms: it left the window; one slot.
    clock_->advance(1ms);
    EXPECT_FALSE(rc.check(order("1"), std::nullopt));
    EXPECT_TRUE(rc.check(order("1"), std::nullopt));
    // Much later: a full window again.
    clock_->advance(5s);
    for (int i = 0; i < 3; ++i) EXPECT_FALSE(rc.check(order("1"), std::nullopt)) << i;
    EXPECT_TRUE(rc.check(order("1"), std::nullopt));
}

TEST_F(RiskTest, RejectedOrdersDoNotTakeARateSlot) {
    RiskLimits l;
    l.max_orders_per_second = 1;
    l.max_quantity = D("10");
    auto rc = make(l);
    EXPECT_EQ(rc.check(order("11"), std::nullopt)->limit, "max_quantity");
    EXPECT_FALSE(rc.check(order("1"), std::nullopt));
    EXPECT_EQ(rc.check(order("1"), std::nullopt)->limit, "max_orders_per_second");
}

TEST_F(RiskTest, ClockSteppingBackNeitherFreesNorHoldsSlotsForLong) {
    RiskLimits l;
    l.max_orders_per_second = 1;
    auto rc = make(l);
    EXPECT_FALSE(rc.check(order("1"), std::nullopt));
    clock_->advance(-std::chrono::nanoseconds(10s));  // NTP stepped back 10 s
    EXPECT_TRUE(rc.check(order("1"), std::nullopt));  // still counted
    clock_->advance(1s);                              // one second later (not ten)
    EXPECT_FALSE(rc.check(order("1"), std::nullopt));
}

TEST_F(RiskTest, RateLimitIsExactUnderConcurrency) {
    RiskLimits l;
    l.max_orders_per_second = 100;
    auto rc = make(l);
    std::atomic<int> passed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 50; ++i)
                if (!rc.check(order("1"), std::nullopt)) ++passed;
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(passed.load(), 100);  // the clock did not move: exactly the limit passed
}

TEST_F(RiskTest, InvalidConfigurationThrows) {
    RiskLimits neg;
    neg.max_quantity = D("-1");
    EXPECT_THROW(make(neg), std::invalid_argument);
    EXPECT_THROW(make({}, {{"A", neg}}), std::invalid_argument);
    EXPECT_THROW(RiskChecker({}, {}, nullptr), std::invalid_argument);
}

}  // namespace
}  // namespace ordergate::risk
