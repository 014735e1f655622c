// The paper venue's engine, driven directly with a manual clock and step().
#include "paper_venue.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "paper_rng.hpp"
#include "paper_test_support.hpp"

namespace ordergate::paper {
namespace {

using testing::base_config;
using testing::D;
using testing::kTimeout;
using testing::ManualClock;
using testing::order;

Status status_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const VenueError& e) {
        return e.status();
    }
    return Status::Ok;
}

std::string message_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const VenueError& e) {
        return e.what();
    }
    return "";
}

std::vector<Decimal> price_path(uint64_t seed, int steps, const std::string& symbol = "INFY") {
    ManualClock clock;
    VenueConfig c = base_config();
    c.seed = seed;
    c.max_steps_per_tick = 3;
    PaperVenue v(c, clock.env());
    std::vector<Decimal> path{v.quote(symbol, "NSE").last};
    for (int i = 0; i < steps; ++i) {
        v.step();
        path.push_back(v.quote(symbol, "NSE").last);
    }
    return path;
}

std::vector<std::string> fills_text(const std::vector<Fill>& fills) {
    std::vector<std::string> out;
    for (const Fill& f : fills)
        out.push_back(f.broker_trade_id + " " + f.broker_order_id + " " + f.quantity.to_string() +
                      "@" + f.price.to_string() + " t=" + std::to_string(f.executed_at_ns));
    return out;
}

// Steps until `done` or `limit` steps; returns the number of steps taken.
int step_until(PaperVenue& v, int limit, const std::function<bool()>& done) {
    for (int i = 1; i <= limit; ++i) {
        v.step();
        if (done()) return i;
    }
    return -1;
}

// ---- the generator and the walk ---------------------------------------------------------------

TEST(PaperRng, SplitMix64MatchesTheReferenceSequence) {
    // Reference outputs of SplitMix64 seeded with 0 (Vigna's splitmix64.c).
    SplitMix64 g(0);
    EXPECT_EQ(g.next(), 0xE220A8397B1DCDAFull);
    EXPECT_EQ(g.next(), 0x6E789E6AA1B965F4ull);
    EXPECT_EQ(g.next(), 0x06C45D188009454Full);
}

TEST(PaperWalk, SameSeedGivesTheSamePricePath) {
    EXPECT_EQ(price_path(42, 300), price_path(42, 300));
}

TEST(PaperWalk, DifferentSeedGivesADifferentPricePath) {
    EXPECT_NE(price_path(42, 300), price_path(43, 300));
}

TEST(PaperWalk, SymbolsHaveIndependentPaths) {
    EXPECT_NE(price_path(42, 300, "INFY"), price_path(42, 300, "TCS"));
}

TEST(PaperWalk, PricesStayOnTheTickGridAndPositive) {
    ManualClock clock;
    VenueConfig c = base_config();
    c.initial_price = D("0.10");
    c.max_steps_per_tick = 5;
    PaperVenue v(c, clock.env());
    v.quote("PENNY", "NSE");
    for (int i = 0; i < 500; ++i) {
        v.step();
        Decimal last = v.quote("PENNY", "NSE").last;
        ASSERT_GE(last, D("0.05"));
        bool inexact = false;
        Decimal::divide(last, D("0.05"), 0, &inexact);
        ASSERT_FALSE(inexact) << last.to_string();
    }
}

TEST(PaperWalk, ConfiguredPricePerSymbolAndDefault) {
    ManualClock clock;
    VenueConfig c = base_config();
    c.prices["RELIANCE"] = D("2500.00");
    PaperVenue v(c, clock.env());
    Quote q = v.quote("RELIANCE", "NSE");
    EXPECT_EQ(q.last, D("2500.00"));
    ASSERT_TRUE(q.bid && q.ask);
    EXPECT_EQ(*q.bid, D("2499.95"));
    EXPECT_EQ(*q.ask, D("2500.05"));
    EXPECT_EQ(v.quote("OTHER", "BSE").last, D("100.00"));
}

TEST(PaperWalk, SameSeedGivesTheSameFills) {
    auto run = [](uint64_t seed) {
        ManualClock clock;
        VenueConfig c = base_config();
        c.seed = seed;
        c.max_steps_per_tick = 2;
        c.partial_fill_ratio = D("0.4");
        PaperVenue v(c, clock.env());
        v.place_order(order("b1", Side::Buy, OrderType::Limit, "10", D("99.50")), kTimeout);
        v.place_order(order("s1", Side::Sell, OrderType::Limit, "7", D("100.60")), kTimeout);
        v.place_order(order("st", Side::Buy, OrderType::Stop, "3", std::nullopt, D("100.80")),
                      kTimeout);
        v.place_order(order("m1", Side::Sell, OrderType::Market, "2"), kTimeout);
        for (int i = 0; i < 400; ++i) {
            clock.advance(std::chrono::milliseconds(100));
            v.step();
        }
        return fills_text(v.list_fills("", 0));
    };
    std::vector<std::string> a = run(11);
    EXPECT_GT(a.size(), 3u);
    EXPECT_EQ(a, run(11));
    EXPECT_NE(a, run(12));
}

// ---- fill rules --------------------------------------------------------------------------------

TEST(PaperOrders, MarketFillsAtTheLastPriceOnAck) {
    ManualClock clock;
    PaperVenue v(base_config(), clock.env());
    v.step(5);
    Decimal last = v.quote("INFY", "NSE").last;
    OrderReport r = v.place_order(order("m1", Side::Buy, OrderType::Market, "3"), kTimeout);
    EXPECT_EQ(r.broker_order_id, "P-1");
    EXPECT_EQ(r.status, OrderStatus::Filled);
    EXPECT_EQ(r.filled_quantity, D("3"));
    ASSERT_TRUE(r.average_fill_price);
    EXPECT_EQ(*r.average_fill_price, last);
    std::vector<Fill> fills = v.list_fills("ACC1", 0);
    ASSERT_EQ(fills.size(), 1u);
    EXPECT_EQ(fills[0].broker_trade_id, "PT-1");
    EXPECT_EQ(fills[0].price, last);
    EXPECT_EQ(fills[0].client_order_id, "m1");
}

TEST(PaperOrders, MarketableLimitFillsAtTheLastPrice) {
    ManualClock clock;
    PaperVenue v(base_config(), clock.env());
    OrderReport r =
        v.place_order(order("l1", Side::Buy, OrderType::Limit, "1", D("101.00")), kTimeout);
    EXPECT_EQ(r.status, OrderStatus::Filled);
    EXPECT_EQ(*r.average_fill_price, D("100.00"));  // the last price: better than the limit
}

TEST(PaperOrders, RestingBuyLimitFillsAtItsLimitWhenTheWalkReachesIt) {
    ManualClock clock;
    PaperVenue v(base_config(), clock.env());
    const Decimal limit = D("99.80");
    OrderReport r = v.place_order(order("l1", Side::Buy, OrderType::Limit, "5", limit), kTimeout);
    ASSERT_EQ(r.status, OrderStatus::Open);
    bool filled = false;
    for (int i = 0; i < 5000 && !filled; ++i) {
        v.step();
        Decimal last = v.quote("INFY", "NSE").last;
        OrderReport now = v.get_order("ACC1", "P-1", "");
        if (last <= limit) {
            ASSERT_EQ(now.status, OrderStatus::Filled) << "last " << last.to_string();
            EXPECT_EQ(*now.average_fill_price, limit);
            filled = true;
        } else {
            ASSERT_EQ(now.status, OrderStatus::Open) << "last " << last.to_string();
        }
    }
    EXPECT_TRUE(filled);
}

TEST(PaperOrders, RestingSellLimitFillsAtItsLimitWhenTheWalkReachesIt) {
    ManualClock clock;
    PaperVenue v(base_config(), clock.env());
    const Decimal limit = D("100.25");
    v.place_order(order("s1", Side::Sell, OrderType::Limit, "5", limit), kTimeout);
    bool filled = false;
    for (int i = 0; i < 5000 && !filled; ++i) {
        v.step();
        Decimal last = v.quote("INFY", "NSE").last;
        OrderReport now = v.get_order("", "", "s1");
        if (last >= limit) {
            ASSERT_EQ(now.status, OrderStatus::Filled);
            EXPECT_EQ(*now.average_fill_price, limit);
            filled = true;
        } else {
            ASSERT_EQ(now.status, OrderStatus::Open);
        }
    }
    EXPECT_TRUE(filled);
}

TEST(PaperOrders, BuyStopTriggersWhenTheWalkReachesTheTriggerAndFillsAtMarket) {
    ManualClock clock;
    PaperVenue v(base_config(), clock.env());
    const Decimal trigger = D("100.20");
    v.place_order(order("st", Side::Buy, OrderType::Stop, "2", std::nullopt, trigger), kTimeout);
    bool filled = false;
    for (int i = 0; i < 5000 && !filled; ++i) {
        v.step();
        Decimal last = v.quote("INFY", "NSE").last;
        OrderReport now = v.get_order("ACC1", "", "st");
        if (last >= trigger) {
            ASSERT_EQ(now.status, OrderStatus::Filled);
            EXPECT_EQ(*now.average_fill_price, last);  // as a market order at that step
            filled = true;
        } else {
            ASSERT_EQ(now.status, OrderStatus::Open);
        }
    }
    EXPECT_TRUE(filled);
}

TEST(PaperOrders, SellStopAlreadyThroughTheMarketTriggersOnEntry) {
    ManualClock clock;
    PaperVenue v(base_config(), clock.env());
    OrderReport r = v.place_order(
        order("st", Side::Sell, OrderType::Stop, "2", std::nullopt, D("100.50")), kTimeout);
    EXPECT_EQ(r.status, OrderStatus::Filled);
    EXPECT_EQ(*r.average_fill_price, D("100.00"));
}

TEST(PaperOrders, StopLimitRestsAsALimitAfterItsTrigger) {
    ManualClock clock;
    VenueConfig c = base_config();
    c.max_steps_per_tick = 0;  // the price stays at 100.00
    PaperVenue v(c, clock.env());
    // SELL STOP_LIMIT: triggers (100.00 <= 100.50) but the limit 100.40 is above the market.
    OrderReport r = v.place_order(
        order("sl", Side::Sell, OrderType::StopLimit, "4", D("100.40"), D("100.50")), kTimeout);
    EXPECT_EQ(r.status, OrderStatus::Open);
    v.step(20);
    EXPECT_EQ(v.get_order("ACC1", "P-1", "").status, OrderStatus::Open);
    // An untriggered one never fills, even with a marketable limit.
    OrderReport u = v.place_order(
        order("sl2", Side::Sell, OrderType::StopLimit, "4", D("99.00"), D("99.50")), kTimeout);
    EXPECT_EQ(u.status, OrderStatus::Open);
    v.step(20);
    EXPECT_EQ(v.get_order("ACC1", "", "sl2").status, OrderStatus::Open);
    // Lowering the first one's limit below the market fills it at the market.
    ModifyRequest m;
    m.broker_order_id = "P-1";
    m.price = D("99.90");
    OrderReport after = v.modify_order(m, kTimeout);
    EXPECT_EQ(after.status, OrderStatus::Filled);
    EXPECT_EQ(*after.average_fill_price, D("100.00"));
}

TEST(PaperOrders, StopLimitFillsOnlyAtItsLimitOrBetterAfterTrigger) {
    ManualClock clock;
    PaperVenue v(base_config(), clock.env());
    const Decimal trigger = D("100.30"), limit = D("100.35");
    v.place_order(order("sl", Side::Buy, OrderType::StopLimit, "1", limit, trigger), kTimeout);
    bool triggered = false, filled = false;
    for (int i = 0; i < 5000 && !filled; ++i) {
        v.step();
        Decimal last = v.quote("INFY", "NSE").last;
        if (last >= trigger) triggered = true;
        OrderReport now = v.get_order("ACC1", "", "sl");
        if (now.status == OrderStatus::Filled) {
            ASSERT_TRUE(triggered);
            EXPECT_LE(*now.average_fill_price, limit);
            filled = true;
        } else if (!triggered) {
            ASSERT_EQ(now.status, OrderStatus::Open);
        }
    }
    EXPECT_TRUE(filled);
}

TEST(PaperOrders, ShapeErrorsAreInvalidArguments) {
    ManualClock clock;
    PaperVenue v(base_config(), clock.env());
    EXPECT_EQ(
        status_of([&] { v.place_order(order("a", Side::Buy, OrderType::Limit, "1"), kTimeout); }),
        Status::InvalidArgument);
    EXPECT_EQ(status_of([&] {
                  v.place_order(order("b", Side::Buy, OrderType::Market, "1", D("1.00")), kTimeout);
              }),
              Status::InvalidArgument);
    EXPECT_EQ(
        status_of([&] { v.place_order(order("c", Side::Buy, OrderType::Stop, "1"), kTimeout); }),
        Status::InvalidArgument);
    EXPECT_EQ(
        status_of([&] { v.place_order(order("d", Side::Buy, OrderType::Market, "0"), kTimeout); }),
        Status::InvalidArgument);
    EXPECT_EQ(
        status_of([&] { v.place_order(order("", Side::Buy, OrderType::Market, "1"), kTimeout); }),
        Status::InvalidArgument);
    EXPECT_TRUE(v.list_orders("", false, 0).empty());
}

TEST(PaperOrders, PriceOffTheTickGridIsRejectedAndKept) {
    ManualClock clock;
    PaperVenue v(base_config(), clock.env());
    EXPECT_EQ(status_of([&] {
                  v.place_order(order("g", Side::Buy, OrderType::Limit, "1", D("99.97")), kTimeout);
              }),
              Status::Rejected);
    OrderReport r = v.get_order("ACC1", "", "g");
    EXPECT_EQ(r.status, OrderStatus::Rejected);
    EXPECT_NE(r.reject_reason.find("tick size"), std::string::npos);
}

// ---- partial fills, liquidity, IOC / FOK --------------------------------------------------------

TEST(PaperOrders, PartialFillRatioSplitsAnExecutionIntoSeveralFills) {
    ManualClock clock;
    VenueConfig c = base_config();
    c.partial_fill_ratio = D("0.3");
    PaperVenue v(c, clock.env());
    OrderReport r = v.place_order(order("m", Side::Buy, OrderType::Market, "10"), kTimeout);
    EXPECT_EQ(r.status, OrderStatus::Filled);
    std::vector<Fill> fills = v.list_fills("ACC1", 0);
    ASSERT_EQ(fills.size(), 4u);
    EXPECT_EQ(fills[0].quantity, D("3"));
    EXPECT_EQ(fills[1].quantity, D("3"));
    EXPECT_EQ(fills[2].quantity, D("3"));
    EXPECT_EQ(fills[3].quantity, D("1"));
    EXPECT_EQ(fills[3].broker_trade_id, "PT-4");
    // The pushed updates walk through PARTIALLY_FILLED to FILLED.
    std::vector<OrderStatus> seen;
    std::vector<Decimal> filled;
    for (const VenueEvent& e : v.drain_events())
        if (e.kind == VenueEvent::Kind::OrderUpdate) {
            seen.push_back(e.order.status);
            filled.push_back(e.order.filled_quantity);
        }
    std::vector<OrderStatus> want{OrderStatus::Open, OrderStatus::PartiallyFilled,
                                  OrderStatus::PartiallyFilled, OrderStatus::PartiallyFilled,
                                  OrderStatus::Filled};
    EXPECT_EQ(seen, want);
    EXPECT_EQ(filled.back(), D("10"));
}

TEST(PaperOrders, PartialFillRatioWithFractionalQuantities) {
    ManualClock clock;
    VenueConfig c = base_config();
    c.partial_fill_ratio = D("0.5");
    PaperVenue v(c, clock.env());
    v.place_order(order("m", Side::Buy, OrderType::Market, "0.003"), kTimeout);
    std::vector<Fill> fills = v.list_fills("ACC1", 0);
    ASSERT_EQ(fills.size(), 3u);  // 0.001, 0.001, 0.001 (floor(0.0015) = 0.001)
    EXPECT_EQ(fills[0].quantity, D("0.001"));
}

TEST(PaperOrders, LiquidityCapFillsARestingMarketOrderOverSeveralSteps) {
    ManualClock clock;
    VenueConfig c = base_config();
    c.max_fill_per_tick = D("4");
    PaperVenue v(c, clock.env());
    OrderReport r = v.place_order(order("m", Side::Buy, OrderType::Market, "10"), kTimeout);
    EXPECT_EQ(r.status, OrderStatus::PartiallyFilled);
    EXPECT_EQ(r.filled_quantity, D("4"));
    v.step();
    EXPECT_EQ(v.get_order("ACC1", "P-1", "").filled_quantity, D("8"));
    v.step();
    OrderReport done = v.get_order("ACC1", "P-1", "");
    EXPECT_EQ(done.status, OrderStatus::Filled);
    EXPECT_EQ(done.filled_quantity, D("10"));
    EXPECT_EQ(v.list_fills("ACC1", 0).size(), 3u);
}

TEST(PaperOrders, IocFillsWhatIsAvailableAndCancelsTheRest) {
    ManualClock clock;
    VenueConfig c = base_config();
    c.max_fill_per_tick = D("4");
    PaperVenue v(c, clock.env());
    OrderReport r = v.place_order(order("i", Side::Buy, OrderType::Market, "10", std::nullopt,
                                        std::nullopt, TimeInForce::Ioc),
                                  kTimeout);
    EXPECT_EQ(r.status, OrderStatus::Cancelled);
    EXPECT_EQ(r.filled_quantity, D("4"));
    v.step(3);
    EXPECT_EQ(v.list_fills("ACC1", 0).size(), 1u);
}

TEST(PaperOrders, IocThatCannotExecuteIsCancelledUnfilled) {
    ManualClock clock;
    PaperVenue v(base_config(), clock.env());
    OrderReport r = v.place_order(
        order("i", Side::Buy, OrderType::Limit, "10", D("90.00"), std::nullopt, TimeInForce::Ioc),
        kTimeout);
    EXPECT_EQ(r.status, OrderStatus::Cancelled);
    EXPECT_TRUE(r.filled_quantity.is_zero());
    EXPECT_TRUE(v.list_orders("ACC1", true, 0).empty());
}

TEST(PaperOrders, FokIsAllOrNothing) {
    ManualClock clock;
    VenueConfig c = base_config();
    c.max_fill_per_tick = D("4");
    PaperVenue v(c, clock.env());
    OrderReport killed = v.place_order(order("f1", Side::Buy, OrderType::Market, "10", std::nullopt,
                                             std::nullopt, TimeInForce::Fok),
                                       kTimeout);
    EXPECT_EQ(killed.status, OrderStatus::Cancelled);
    EXPECT_TRUE(killed.filled_quantity.is_zero());
    EXPECT_TRUE(v.list_fills("ACC1", 0).empty());
    OrderReport full = v.place_order(
        order("f2", Side::Buy, OrderType::Limit, "4", D("100.50"), std::nullopt, TimeInForce::Fok),
        kTimeout);
    EXPECT_EQ(full.status, OrderStatus::Filled);
    EXPECT_EQ(full.filled_quantity, D("4"));
}

// ---- modify / cancel ---------------------------------------------------------------------------

TEST(PaperOrders, ModifyChangesQuantityPriceAndTif) {
    ManualClock clock;
    VenueConfig c = base_config();
    c.max_steps_per_tick = 0;
    PaperVenue v(c, clock.env());
    v.place_order(order("l", Side::Buy, OrderType::Limit, "5", D("95.00")), kTimeout);
    ModifyRequest m;
    m.client_order_id = "l";
    m.account_id = "ACC1";
    m.quantity = D("8");
    m.price = D("96.00");
    m.time_in_force = TimeInForce::Gtc;
    OrderReport r = v.modify_order(m, kTimeout);
    EXPECT_EQ(r.status, OrderStatus::Open);
    EXPECT_EQ(r.quantity, D("8"));
    EXPECT_EQ(*r.price, D("96.00"));
    EXPECT_EQ(r.time_in_force, TimeInForce::Gtc);
    EXPECT_EQ(v.get_order("ACC1", "P-1", "").quantity, D("8"));
}

TEST(PaperOrders, ModifyToMarketExecutesAtOnce) {
    ManualClock clock;
    PaperVenue v(base_config(), clock.env());
    v.place_order(order("l", Side::Sell, OrderType::Limit, "5", D("120.00")), kTimeout);
    ModifyRequest m;
    m.broker_order_id = "P-1";
    m.order_type = OrderType::Market;
    OrderReport r = v.modify_order(m, kTimeout);
    EXPECT_EQ(r.status, OrderStatus::Filled);
    EXPECT_EQ(r.order_type, OrderType::Market);
    EXPECT_FALSE(r.price.has_value());
}

TEST(PaperOrders, ModifyToStopNeedsATrigger) {
    ManualClock clock;
    PaperVenue v(base_config(), clock.env());
    v.place_order(order("l", Side::Buy, OrderType::Limit, "5", D("95.00")), kTimeout);
    ModifyRequest m;
    m.broker_order_id = "P-1";
    m.order_type = OrderType::Stop;
    EXPECT_EQ(status_of([&] { v.modify_order(m, kTimeout); }), Status::InvalidArgument);
    m.trigger_price = D("101.00");
    OrderReport r = v.modify_order(m, kTimeout);
    EXPECT_EQ(r.order_type, OrderType::Stop);
    EXPECT_EQ(*r.trigger_price, D("101.00"));
    EXPECT_FALSE(r.price.has_value());
}

TEST(PaperOrders, ModifyRejectsTerminalOrdersAndQuantityAtOrBelowFilled) {
    ManualClock clock;
    VenueConfig c = base_config();
    c.max_fill_per_tick = D("3");
    PaperVenue v(c, clock.env());
    v.place_order(order("m", Side::Buy, OrderType::Market, "2"), kTimeout);  // filled
    ModifyRequest m;
    m.broker_order_id = "P-1";
    m.quantity = D("5");
    EXPECT_EQ(status_of([&] { v.modify_order(m, kTimeout); }), Status::Rejected);
    v.place_order(order("p", Side::Buy, OrderType::Market, "10"), kTimeout);  // 3 filled
    m.broker_order_id = "P-2";
    m.quantity = D("3");
    EXPECT_EQ(status_of([&] { v.modify_order(m, kTimeout); }), Status::Rejected);
    m.broker_order_id = "P-99";
    EXPECT_EQ(status_of([&] { v.modify_order(m, kTimeout); }), Status::NotFound);
}

TEST(PaperOrders, CancelOpenTerminalAndUnknown) {
    ManualClock clock;
    PaperVenue v(base_config(), clock.env());
    v.place_order(order("l", Side::Buy, OrderType::Limit, "5", D("90.00")), kTimeout);
    OrderReport r = v.cancel_order("ACC1", "", "l", kTimeout);
    EXPECT_EQ(r.status, OrderStatus::Cancelled);
    EXPECT_EQ(r.broker_order_id, "P-1");
    std::string again = message_of([&] { v.cancel_order("ACC1", "P-1", "", kTimeout); });
    EXPECT_NE(again.find("already CANCELLED"), std::string::npos) << again;
    EXPECT_EQ(status_of([&] { v.cancel_order("ACC1", "P-1", "", kTimeout); }), Status::Rejected);
    v.place_order(order("m", Side::Buy, OrderType::Market, "1"), kTimeout);
    std::string filled = message_of([&] { v.cancel_order("ACC1", "P-2", "", kTimeout); });
    EXPECT_NE(filled.find("already FILLED"), std::string::npos) << filled;
    EXPECT_EQ(status_of([&] { v.cancel_order("ACC1", "P-77", "", kTimeout); }), Status::NotFound);
    EXPECT_EQ(status_of([&] { v.cancel_order("ACC1", "", "nope", kTimeout); }), Status::NotFound);
    EXPECT_EQ(status_of([&] { v.cancel_order("OTHER", "P-1", "", kTimeout); }), Status::NotFound);
}

TEST(PaperOrders, CancelAllCancelsTheAccountsOpenOrders) {
    ManualClock clock;
    VenueConfig c = base_config();
    c.accounts = {"ACC1", "ACC2"};
    PaperVenue v(c, clock.env());
    v.place_order(order("a", Side::Buy, OrderType::Limit, "1", D("90.00")), kTimeout);
    v.place_order(order("b", Side::Sell, OrderType::Limit, "1", D("110.00")), kTimeout);
    v.place_order(order("c", Side::Buy, OrderType::Limit, "1", D("90.00"), std::nullopt,
                        TimeInForce::Day, "ACC2"),
                  kTimeout);
    std::vector<OrderReport> done = v.cancel_all("ACC1", kTimeout);
    ASSERT_EQ(done.size(), 2u);
    for (const auto& r : done) EXPECT_EQ(r.status, OrderStatus::Cancelled);
    EXPECT_TRUE(v.list_orders("ACC1", true, 0).empty());
    EXPECT_EQ(v.list_orders("ACC2", true, 0).size(), 1u);
}

// ---- lookups -----------------------------------------------------------------------------------

TEST(PaperOrders, LookupByBrokerIdAndByClientOrderId) {
    ManualClock clock;
    VenueConfig c = base_config();
    c.accounts = {"ACC1", "ACC2"};
    PaperVenue v(c, clock.env());
    v.place_order(order("x", Side::Buy, OrderType::Limit, "1", D("90.00")), kTimeout);
    v.place_order(order("x", Side::Buy, OrderType::Limit, "2", D("90.00"), std::nullopt,
                        TimeInForce::Day, "ACC2"),
                  kTimeout);  // the same client id in another account is fine
    EXPECT_EQ(v.get_order("ACC1", "P-1", "").client_order_id, "x");
    EXPECT_EQ(v.get_order("ACC2", "", "x").broker_order_id, "P-2");
    EXPECT_EQ(v.get_order("", "P-2", "").quantity, D("2"));
    EXPECT_EQ(status_of([&] { v.get_order("", "", "x"); }), Status::InvalidArgument);
    EXPECT_EQ(status_of([&] { v.get_order("ACC1", "", "y"); }), Status::NotFound);
    EXPECT_EQ(status_of([&] { v.get_order("ACC1", "P-9", ""); }), Status::NotFound);
    EXPECT_EQ(status_of([&] { v.get_order("ACC1", "garbage", ""); }), Status::NotFound);
}

TEST(PaperOrders, DuplicateClientOrderIdIsRejectedWithoutARecord) {
    ManualClock clock;
    PaperVenue v(base_config(), clock.env());
    v.place_order(order("d", Side::Buy, OrderType::Limit, "1", D("90.00")), kTimeout);
    std::string msg =
        message_of([&] { v.place_order(order("d", Side::Buy, OrderType::Market, "1"), kTimeout); });
    EXPECT_NE(msg.find("duplicate client order id"), std::string::npos) << msg;
    EXPECT_EQ(v.list_orders("ACC1", false, 0).size(), 1u);
    EXPECT_EQ(status_of([&] {
                  v.place_order(order("z", Side::Buy, OrderType::Market, "1", std::nullopt,
                                      std::nullopt, TimeInForce::Day, "NOPE"),
                                kTimeout);
              }),
              Status::Rejected);
}

TEST(PaperOrders, ListOrdersOpenOnlyAndSince) {
    ManualClock clock;
    PaperVenue v(base_config(), clock.env());
    v.place_order(order("a", Side::Buy, OrderType::Market, "1"), kTimeout);
    clock.advance(std::chrono::milliseconds(1000));
    const int64_t mid = clock.now();
    v.place_order(order("b", Side::Buy, OrderType::Limit, "1", D("90.00")), kTimeout);
    std::vector<OrderReport> open = v.list_orders("ACC1", true, 0);
    ASSERT_EQ(open.size(), 1u);
    EXPECT_EQ(open[0].client_order_id, "b");
    std::vector<OrderReport> recent = v.list_orders("ACC1", false, mid);
    ASSERT_EQ(recent.size(), 1u);
    EXPECT_EQ(recent[0].client_order_id, "b");
    EXPECT_EQ(v.list_orders("ACC1", false, 0).size(), 2u);
    std::vector<Fill> fills = v.list_fills("ACC1", mid);
    EXPECT_TRUE(fills.empty());
    EXPECT_EQ(v.list_fills("ACC1", 0).size(), 1u);
}

// ---- money -------------------------------------------------------------------------------------

TEST(PaperMoney, CashEquityAndFeesAreExact) {
    ManualClock clock;
    VenueConfig c = base_config();
    c.max_steps_per_tick = 0;  // 100.00 throughout
    c.fee_per_fill = D("20");
    c.fee_rate = D("0.0003");
    PaperVenue v(c, clock.env());
    v.place_order(order("b", Side::Buy, OrderType::Market, "3"), kTimeout);
    Account a = v.account("ACC1");
    // 1000000 - 3 * 100.00 - (20 + 300.00 * 0.0003)
    EXPECT_TRUE(a.cash == D("999679.91")) << a.cash.to_string();
    EXPECT_TRUE(a.equity == D("999979.91")) << a.equity.to_string();
    EXPECT_TRUE(a.buying_power == D("999679.91"));
    EXPECT_TRUE(a.margin_used.is_zero());
    EXPECT_EQ(a.currency, "INR");
    v.place_order(order("s", Side::Sell, OrderType::Market, "1"), kTimeout);
    a = v.account("ACC1");
    // + 100.00 - (20 + 0.03)
    EXPECT_TRUE(a.cash == D("999759.88")) << a.cash.to_string();
    EXPECT_TRUE(a.equity == D("999959.88")) << a.equity.to_string();
    std::vector<Fill> fills = v.list_fills("ACC1", 0);
    ASSERT_EQ(fills.size(), 2u);
    EXPECT_TRUE(fills[0].fee == D("20.09"));
    EXPECT_TRUE(fills[1].fee == D("20.03"));
}

TEST(PaperMoney, EquityFollowsTheWalkAndCashEqualsTheFillArithmetic) {
    ManualClock clock;
    VenueConfig c = base_config();
    c.max_steps_per_tick = 4;
    c.fee_per_fill = D("1.25");
    PaperVenue v(c, clock.env());
    v.place_order(order("b1", Side::Buy, OrderType::Market, "7"), kTimeout);
    v.step(13);
    v.place_order(order("b2", Side::Buy, OrderType::Market, "0.5"), kTimeout);
    v.step(29);
    v.place_order(order("s1", Side::Sell, OrderType::Market, "2"), kTimeout);
    v.step(7);
    Decimal cash = D("1000000");
    Decimal qty;
    for (const Fill& f : v.list_fills("ACC1", 0)) {
        if (f.side == Side::Buy) {
            cash = cash - f.quantity * f.price - f.fee;
            qty += f.quantity;
        } else {
            cash = cash + f.quantity * f.price - f.fee;
            qty -= f.quantity;
        }
    }
    Account a = v.account("ACC1");
    Decimal last = v.quote("INFY", "NSE").last;
    EXPECT_TRUE(a.cash == cash) << a.cash.to_string() << " vs " << cash.to_string();
    EXPECT_TRUE(a.equity == cash + qty * last);
    std::vector<Position> pos = v.positions("ACC1");
    ASSERT_EQ(pos.size(), 1u);
    EXPECT_TRUE(pos[0].quantity == D("5.5"));
}

TEST(PaperMoney, BuyingPowerRejectsAnOversizedBuyAndCountsOpenBuys) {
    ManualClock clock;
    VenueConfig c = base_config();
    c.initial_cash = D("1000");
    c.max_steps_per_tick = 0;
    PaperVenue v(c, clock.env());
    std::string msg = message_of(
        [&] { v.place_order(order("big", Side::Buy, OrderType::Market, "11"), kTimeout); });
    EXPECT_NE(msg.find("insufficient buying power"), std::string::npos) << msg;
    EXPECT_EQ(v.get_order("ACC1", "", "big").status, OrderStatus::Rejected);
    // An open buy of 6 @ 90.00 reserves 540.00.
    v.place_order(order("l", Side::Buy, OrderType::Limit, "6", D("90.00")), kTimeout);
    Account a = v.account("ACC1");
    EXPECT_TRUE(a.buying_power == D("460.00")) << a.buying_power.to_string();
    EXPECT_EQ(
        status_of([&] { v.place_order(order("m", Side::Buy, OrderType::Market, "5"), kTimeout); }),
        Status::Rejected);
    OrderReport ok = v.place_order(order("m2", Side::Buy, OrderType::Market, "4"), kTimeout);
    EXPECT_EQ(ok.status, OrderStatus::Filled);
    // Raising the open buy beyond what is left is refused, and the order is unchanged.
    ModifyRequest m;
    m.broker_order_id = "P-2";
    m.quantity = D("7");
    EXPECT_EQ(status_of([&] { v.modify_order(m, kTimeout); }), Status::Rejected);
    EXPECT_EQ(v.get_order("ACC1", "P-2", "").quantity, D("6"));
}

TEST(PaperMoney, ShortPositionUsesMarginAndCanBeForbidden) {
    ManualClock clock;
    VenueConfig c = base_config();
    c.initial_cash = D("1000");
    c.max_steps_per_tick = 0;
    {
        PaperVenue v(c, clock.env());
        v.place_order(order("s", Side::Sell, OrderType::Market, "4"), kTimeout);
        Account a = v.account("ACC1");
        EXPECT_TRUE(a.cash == D("1400.00"));
        EXPECT_TRUE(a.margin_used == D("400.00"));
        EXPECT_TRUE(a.equity == D("1000.00"));
        EXPECT_TRUE(a.buying_power == D("1000.00"));
        std::vector<Position> p = v.positions("ACC1");
        ASSERT_EQ(p.size(), 1u);
        EXPECT_TRUE(p[0].quantity == D("-4"));
    }
    c.allow_short = false;
    PaperVenue v(c, clock.env());
    v.place_order(order("b", Side::Buy, OrderType::Market, "2"), kTimeout);
    v.place_order(order("s1", Side::Sell, OrderType::Limit, "1", D("150.00")), kTimeout);
    std::string msg = message_of(
        [&] { v.place_order(order("s2", Side::Sell, OrderType::Market, "2"), kTimeout); });
    EXPECT_NE(msg.find("insufficient position"), std::string::npos) << msg;
    EXPECT_EQ(v.place_order(order("s3", Side::Sell, OrderType::Market, "1"), kTimeout).status,
              OrderStatus::Filled);
}

TEST(PaperMoney, PositionAveragePriceFollowsEntriesAndFlips) {
    ManualClock clock;
    VenueConfig c = base_config();
    c.max_steps_per_tick = 4;
    PaperVenue v(c, clock.env());
    v.place_order(order("b1", Side::Buy, OrderType::Market, "3"), kTimeout);
    v.step(10);
    v.place_order(order("b2", Side::Buy, OrderType::Market, "2"), kTimeout);
    std::vector<Fill> f = v.list_fills("ACC1", 0);
    ASSERT_EQ(f.size(), 2u);
    Decimal avg =
        Decimal::divide(f[0].quantity * f[0].price + f[1].quantity * f[1].price, D("5"), 8);
    std::vector<Position> p = v.positions("ACC1");
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].symbol, "INFY");
    EXPECT_EQ(p[0].exchange, "NSE");
    EXPECT_TRUE(p[0].quantity == D("5"));
    EXPECT_TRUE(p[0].average_price == avg) << p[0].average_price.to_string();
    v.step(10);
    v.place_order(order("s1", Side::Sell, OrderType::Market, "1"), kTimeout);  // reduces
    EXPECT_TRUE(v.positions("ACC1")[0].average_price == avg);
    v.step(10);
    OrderReport flip = v.place_order(order("s2", Side::Sell, OrderType::Market, "10"), kTimeout);
    p = v.positions("ACC1");
    ASSERT_EQ(p.size(), 1u);
    EXPECT_TRUE(p[0].quantity == D("-6"));
    EXPECT_TRUE(p[0].average_price == *flip.average_fill_price);
    v.place_order(order("b3", Side::Buy, OrderType::Market, "6"), kTimeout);
    EXPECT_TRUE(v.positions("ACC1").empty());  // flat positions are not listed
    EXPECT_TRUE(v.positions("").empty());
    EXPECT_EQ(status_of([&] { v.positions("NOPE"); }), Status::NotFound);
    EXPECT_EQ(status_of([&] { v.account("NOPE"); }), Status::NotFound);
}

// ---- faults ------------------------------------------------------------------------------------

TEST(PaperFaults, RejectRatioOneRejectsEveryOrder) {
    ManualClock clock;
    VenueConfig c = base_config();
    c.fault.reject_ratio = D("1");
    PaperVenue v(c, clock.env());
    std::string msg =
        message_of([&] { v.place_order(order("r", Side::Buy, OrderType::Market, "1"), kTimeout); });
    EXPECT_NE(msg.find("fault.reject_ratio"), std::string::npos) << msg;
    EXPECT_EQ(v.get_order("ACC1", "", "r").status, OrderStatus::Rejected);
    EXPECT_TRUE(v.list_fills("", 0).empty());
}

TEST(PaperFaults, TimeoutAfterSendIsUnknownOutcomeButTheOrderExistsAndFills) {
    ManualClock clock;
    VenueConfig c = base_config();
    c.fault.timeout_after_send_ratio = D("1");
    PaperVenue v(c, clock.env());
    EXPECT_EQ(status_of([&] {
                  v.place_order(order("lost", Side::Buy, OrderType::Market, "2"), kTimeout);
              }),
              Status::UnknownOutcome);
    OrderReport r = v.get_order("ACC1", "", "lost");
    EXPECT_EQ(r.status, OrderStatus::Filled);
    EXPECT_EQ(v.list_fills("ACC1", 0).size(), 1u);
    // A resting one exists and fills later.
    EXPECT_EQ(status_of([&] {
                  v.place_order(order("rest", Side::Buy, OrderType::Limit, "1", D("99.90")),
                                kTimeout);
              }),
              Status::UnknownOutcome);
    EXPECT_EQ(v.get_order("ACC1", "", "rest").status, OrderStatus::Open);
    // Cancel's answer is lost too, but the cancel happened.
    EXPECT_EQ(status_of([&] { v.cancel_order("ACC1", "", "rest", kTimeout); }),
              Status::UnknownOutcome);
    EXPECT_EQ(v.get_order("ACC1", "", "rest").status, OrderStatus::Cancelled);
}

TEST(PaperFaults, TimeoutBeforeSendIsTimeoutAndNothingExists) {
    ManualClock clock;
    VenueConfig c = base_config();
    c.fault.timeout_before_send_ratio = D("1");
    PaperVenue v(c, clock.env());
    EXPECT_EQ(
        status_of([&] { v.place_order(order("t", Side::Buy, OrderType::Market, "1"), kTimeout); }),
        Status::Timeout);
    EXPECT_EQ(status_of([&] { v.get_order("ACC1", "", "t"); }), Status::NotFound);
    EXPECT_TRUE(v.list_orders("", false, 0).empty());
}

TEST(PaperFaults, DisconnectMakesEveryCallUnavailableAndReportsTheLink) {
    ManualClock clock;
    VenueConfig c = base_config();
    c.fault.disconnect = true;
    PaperVenue v(c, clock.env());
    VenueEvents ev = v.drain_events();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].kind, VenueEvent::Kind::Connection);
    EXPECT_FALSE(ev[0].connected);
    EXPECT_EQ(
        status_of([&] { v.place_order(order("u", Side::Buy, OrderType::Market, "1"), kTimeout); }),
        Status::Unavailable);
    EXPECT_EQ(status_of([&] { v.get_order("ACC1", "", "u"); }), Status::Unavailable);
    EXPECT_EQ(status_of([&] { v.account("ACC1"); }), Status::Unavailable);
    EXPECT_EQ(status_of([&] { v.list_orders("ACC1", true, 0); }), Status::Unavailable);
    EXPECT_EQ(status_of([&] { v.quote("INFY", "NSE"); }), Status::Unavailable);
    EXPECT_EQ(status_of([&] { v.ping(); }), Status::Unavailable);
    v.set_disconnected(false, "back");
    EXPECT_EQ(status_of([&] { v.get_order("ACC1", "", "u"); }), Status::NotFound);
}

TEST(PaperFaults, WhileDisconnectedTheVenueRunsButEventsAreLost) {
    ManualClock clock;
    PaperVenue v(base_config(), clock.env());
    v.place_order(order("l", Side::Buy, OrderType::Limit, "1", D("99.90")), kTimeout);
    v.drain_events();
    v.set_disconnected(true, "cable cut");
    int steps = step_until(v, 5000, [&] {
        v.set_disconnected(false, "peek");
        bool done = v.get_order("ACC1", "", "l").status == OrderStatus::Filled;
        v.set_disconnected(true, "cable cut");
        return done;
    });
    ASSERT_GT(steps, 0);
    for (const VenueEvent& e : v.drain_events()) EXPECT_EQ(e.kind, VenueEvent::Kind::Connection);
}

TEST(PaperFaults, FaultDrawsAreDeterministicForASeed) {
    auto outcomes = [](uint64_t seed) {
        ManualClock clock;
        VenueConfig c = base_config();
        c.seed = seed;
        c.fault.reject_ratio = D("0.5");
        PaperVenue v(c, clock.env());
        std::string out;
        for (int i = 0; i < 64; ++i)
            out +=
                status_of([&] {
                    v.place_order(order("o" + std::to_string(i), Side::Buy, OrderType::Market, "1"),
                                  kTimeout);
                }) == Status::Ok
                    ? 'F'
                    : 'R';
        return out;
    };
    std::string a = outcomes(5);
    EXPECT_EQ(a, outcomes(5));
    EXPECT_NE(a, outcomes(6));
    EXPECT_NE(a.find('F'), std::string::npos);
    EXPECT_NE(a.find('R'), std::string::npos);
}

TEST(PaperFaults, LatencyDelaysTheAck) {
    ManualClock clock;
    VenueConfig c = base_config();
    c.latency = std::chrono::milliseconds(50);
    PaperVenue v(c, clock.env());
    OrderReport r = v.place_order(order("a", Side::Buy, OrderType::Market, "1"), kTimeout);
    EXPECT_EQ(r.status, OrderStatus::Filled);
    std::vector<std::chrono::milliseconds> s = clock.sleeps();
    ASSERT_EQ(s.size(), 1u);
    EXPECT_EQ(s[0].count(), 50);
}

TEST(PaperFaults, LatencyBeyondTheDeadlineIsUnknownOutcomeWithTheOrderPlaced) {
    ManualClock clock;
    VenueConfig c = base_config();
    c.latency = std::chrono::milliseconds(500);
    PaperVenue v(c, clock.env());
    EXPECT_EQ(status_of([&] {
                  v.place_order(order("slow", Side::Buy, OrderType::Market, "1"),
                                std::chrono::milliseconds(200));
              }),
              Status::UnknownOutcome);
    EXPECT_EQ(clock.sleeps().back().count(), 200);  // gave up at the deadline
    EXPECT_EQ(v.get_order("ACC1", "", "slow").status, OrderStatus::Filled);
}

TEST(PaperFaults, SendDelayBeyondTheDeadlineIsTimeoutWithNothingPlaced) {
    ManualClock clock;
    VenueConfig c = base_config();
    c.send_delay = std::chrono::milliseconds(300);
    PaperVenue v(c, clock.env());
    EXPECT_EQ(status_of([&] {
                  v.place_order(order("q", Side::Buy, OrderType::Market, "1"),
                                std::chrono::milliseconds(300));
              }),
              Status::Timeout);
    EXPECT_EQ(status_of([&] { v.get_order("ACC1", "", "q"); }), Status::NotFound);
    OrderReport ok = v.place_order(order("q2", Side::Buy, OrderType::Market, "1"),
                                   std::chrono::milliseconds(301));
    EXPECT_EQ(ok.status, OrderStatus::Filled);
}

// ---- events and quotes -------------------------------------------------------------------------

TEST(PaperEvents, OrderUpdatesAndFillsAreQueuedInOrder) {
    ManualClock clock;
    PaperVenue v(base_config(), clock.env());
    v.drain_events();  // the initial connection event
    v.place_order(order("m", Side::Buy, OrderType::Market, "2"), kTimeout);
    VenueEvents ev = v.drain_events();
    ASSERT_EQ(ev.size(), 3u);
    EXPECT_EQ(ev[0].kind, VenueEvent::Kind::OrderUpdate);
    EXPECT_EQ(ev[0].order.status, OrderStatus::Open);
    EXPECT_EQ(ev[1].kind, VenueEvent::Kind::Fill);
    EXPECT_EQ(ev[1].fill.broker_trade_id, "PT-1");
    EXPECT_EQ(ev[2].kind, VenueEvent::Kind::OrderUpdate);
    EXPECT_EQ(ev[2].order.status, OrderStatus::Filled);
}

TEST(PaperEvents, SubscriptionQueuesAQuotePerStepForSubscribedInstrumentsOnly) {
    ManualClock clock;
    PaperVenue v(base_config(), clock.env());
    v.quote("OTHER", "NSE");
    v.drain_events();
    v.subscribe_prices({Instrument{"INFY", "NSE"}, Instrument{"TCS", "BSE"}});
    EXPECT_EQ(v.drain_events().size(), 2u);  // the current quotes at once
    v.step(3);
    VenueEvents ev = v.drain_events();
    ASSERT_EQ(ev.size(), 6u);
    for (const VenueEvent& e : ev) {
        EXPECT_EQ(e.kind, VenueEvent::Kind::Quote);
        EXPECT_NE(e.quote.symbol, "OTHER");
    }
    EXPECT_EQ(ev[4].quote.symbol, "INFY");
    EXPECT_EQ(ev[4].quote.last, v.quote("INFY", "NSE").last);
    v.subscribe_prices({});
    v.step();
    EXPECT_TRUE(v.drain_events().empty());
}

// ---- configuration checks ----------------------------------------------------------------------

TEST(PaperConfigChecks, BadValuesAreRefusedNamingTheKey) {
    auto refused = [](VenueConfig c) {
        try {
            PaperVenue v(std::move(c));
        } catch (const VenueError& e) {
            EXPECT_EQ(e.status(), Status::InvalidArgument);
            return std::string(e.what());
        }
        return std::string();
    };
    VenueConfig c = base_config();
    c.initial_price = D("100.03");
    EXPECT_NE(refused(c).find("initial_price"), std::string::npos);
    c = base_config();
    c.fault.reject_ratio = D("1.5");
    EXPECT_NE(refused(c).find("fault.reject_ratio"), std::string::npos);
    c = base_config();
    c.tick_size = D("0");
    EXPECT_NE(refused(c).find("tick_size"), std::string::npos);
    c = base_config();
    c.accounts = {"A", "A"};
    EXPECT_NE(refused(c).find("accounts"), std::string::npos);
}

}  // namespace
}  // namespace ordergate::paper
