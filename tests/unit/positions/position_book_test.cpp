// Unit tests of positions::PositionBook: average cost, exact realized P&L, flips, fees,
// unrealized P&L, snapshots, and concurrent use.
#include "positions/position_book.hpp"

#include <gtest/gtest.h>

#include <random>
#include <thread>
#include <vector>

namespace ordergate::positions {
namespace {

Decimal D(const char* s) { return Decimal::must_parse(s); }

const PositionKey kKey{"ACC1", "paper", "INFY", "NSE"};

class PositionBookTest : public testing::Test {
protected:
    PositionView buy(const char* qty, const char* price, const char* fee = "0",
                     const PositionKey& key = kKey) {
        return book_.apply_fill(key, Side::Buy, D(qty), D(price), D(fee), ++t_);
    }
    PositionView sell(const char* qty, const char* price, const char* fee = "0",
                      const PositionKey& key = kKey) {
        return book_.apply_fill(key, Side::Sell, D(qty), D(price), D(fee), ++t_);
    }
    PositionBook book_;
    int64_t t_ = 1000;
};

TEST_F(PositionBookTest, BuysAverageExactly) {
    auto v = buy("10", "100.05");
    EXPECT_EQ(v.quantity.to_string(), "10");
    EXPECT_EQ(v.average_price.to_string(), "100.05");
    EXPECT_FALSE(v.average_price_rounded);
    v = buy("20", "100.10");
    // 3002.50 / 30 = 100.08333...: rounded at price scale + 9 = 11 decimals, and flagged.
    EXPECT_EQ(v.average_price.to_string(), "100.08333333333");
    EXPECT_TRUE(v.average_price_rounded);
    v = buy("10", "99.95");
    EXPECT_EQ(v.quantity.to_string(), "40");
    EXPECT_EQ(v.average_price.to_string(), "100.05");  // 4002.00 / 40, exact again
    EXPECT_FALSE(v.average_price_rounded);
    EXPECT_EQ(v.realized_pnl.to_string(), "0");
    EXPECT_EQ(book_.rounded_divisions(), 1u);
}

TEST_F(PositionBookTest, PartialSellsRealizeOnTheClosedPartAndKeepTheAverage) {
    buy("10", "100.05");
    buy("20", "100.10");
    buy("10", "99.95");
    auto v = sell("15", "101.00");
    EXPECT_EQ(v.quantity.to_string(), "25");
    EXPECT_EQ(v.realized_pnl.to_string(), "14.25");  // 1515.00 - 15/40 * 4002.00 (1500.75)
    EXPECT_EQ(v.average_price.to_string(), "100.05");
    EXPECT_FALSE(v.realized_pnl_rounded);
    v = sell("25", "99.50");
    EXPECT_EQ(v.quantity.to_string(), "0");
    EXPECT_EQ(v.realized_pnl.to_string(), "0.50");  // 2487.50 - 2501.25 = -13.75; 14.25 - 13.75
    EXPECT_EQ(v.average_price.to_string(), "0");
}

TEST_F(PositionBookTest, EqualLotsAtFractionalPricesEndExactToTheLastDigit) {
    buy("1", "100.05");
    buy("1", "100.10");
    auto v = buy("1", "99.95");
    EXPECT_EQ(v.average_price.to_string(), "100.03333333333");  // 300.10 / 3, rounded
    EXPECT_TRUE(v.average_price_rounded);
    v = sell("1", "101");
    // The cost taken out (300.10 / 3) does not terminate: rounded at the cost basis's scale
    // (100.03), flagged; the rest stays in the cost basis.
    EXPECT_EQ(v.realized_pnl.to_string(), "0.97");
    EXPECT_TRUE(v.realized_pnl_rounded);
    EXPECT_EQ(v.average_price.to_string(), "100.03333333333");
    EXPECT_EQ(v.quantity.to_string(), "2");
    v = sell("2", "102");
    // Flat: 101 + 204 - 300.10 = 4.90 exactly, and the flag is cleared.
    EXPECT_EQ(v.realized_pnl.to_string(), "4.90");
    EXPECT_FALSE(v.realized_pnl_rounded);
    EXPECT_FALSE(v.average_price_rounded);
    EXPECT_EQ(book_.rounded_divisions(), 2u);  // the 3-lot average (100.075 was exact), 1 close
}

TEST_F(PositionBookTest, SellsToFlatThenReopen) {
    buy("5", "10.5");
    auto v = sell("5", "11");
    EXPECT_TRUE(v.quantity.is_zero());
    EXPECT_EQ(v.realized_pnl.to_string(), "2.5");
    v = buy("2", "12.25");
    EXPECT_EQ(v.quantity.to_string(), "2");
    EXPECT_EQ(v.average_price.to_string(), "12.25");
    EXPECT_EQ(v.realized_pnl.to_string(), "2.5");  // kept across the round trip
}

TEST_F(PositionBookTest, FlipLongToShortRealizesTheClosedPartAndOpensAtTheFillPrice) {
    buy("10", "50.00");
    auto v = sell("15", "55.00");
    EXPECT_EQ(v.quantity.to_string(), "-5");
    EXPECT_EQ(v.realized_pnl.to_string(), "50.00");  // (55 - 50) * 10
    EXPECT_EQ(v.average_price.to_string(), "55.00");
    v = buy("8", "52.50");
    EXPECT_EQ(v.quantity.to_string(), "3");
    EXPECT_EQ(v.realized_pnl.to_string(), "62.50");  // + (55.00 - 52.50) * 5
    EXPECT_EQ(v.average_price.to_string(), "52.50");
}

TEST_F(PositionBookTest, FlipShortToLong) {
    auto v = sell("4", "20.5");
    EXPECT_EQ(v.quantity.to_string(), "-4");
    EXPECT_EQ(v.average_price.to_string(), "20.5");
    v = sell("2", "21.1");
    EXPECT_EQ(v.quantity.to_string(), "-6");
    EXPECT_EQ(v.average_price.to_string(), "20.7");  // (82.0 + 42.2) / 6 = 124.2 / 6
    v = buy("3", "20.0");
    EXPECT_EQ(v.quantity.to_string(), "-3");
    EXPECT_EQ(v.realized_pnl.to_string(), "2.1");  // 62.1 (half the cost) - 60.0
    EXPECT_EQ(v.average_price.to_string(), "20.7");
    v = buy("5", "19.0");
    EXPECT_EQ(v.quantity.to_string(), "2");
    EXPECT_EQ(v.realized_pnl.to_string(), "7.2");  // + 62.1 - 57.0
    EXPECT_EQ(v.average_price.to_string(), "19.0");
}

TEST_F(PositionBookTest, FeesAreSubtractedFromRealizedAndShownSeparately) {
    auto v = buy("10", "100", "1.25");
    EXPECT_EQ(v.realized_pnl.to_string(), "-1.25");
    EXPECT_EQ(v.fees.to_string(), "1.25");
    EXPECT_EQ(v.average_price.to_string(), "100");  // fees never enter the average
    v = sell("10", "101", "1.30");
    EXPECT_EQ(v.realized_pnl.to_string(), "7.45");  // 10 - 1.25 - 1.30
    EXPECT_EQ(v.fees.to_string(), "2.55");
    EXPECT_EQ((v.realized_pnl + v.fees).to_string(), "10.00");  // gross
    v = buy("1", "100", "-0.10");                               // a rebate
    EXPECT_EQ(v.realized_pnl.to_string(), "7.55");
    EXPECT_EQ(v.fees.to_string(), "2.45");
}

TEST_F(PositionBookTest, UnrealizedFromTheLastPrice) {
    auto v = buy("10", "100.05");
    EXPECT_FALSE(v.unrealized_pnl.has_value());
    EXPECT_FALSE(v.last_price.has_value());
    book_.set_last_price("INFY", "NSE", D("101.00"));
    v = *book_.get(kKey);
    ASSERT_TRUE(v.unrealized_pnl.has_value());
    EXPECT_EQ(v.last_price->to_string(), "101.00");
    EXPECT_EQ(v.unrealized_pnl->to_string(), "9.50");  // 101.00 * 10 - 1000.50
    EXPECT_EQ(*v.unrealized_pnl, (*v.last_price - v.average_price) * v.quantity);
    // A short gains when the price falls.
    sell("15", "101.00");
    book_.set_last_price("INFY", "NSE", D("99"));
    v = *book_.get(kKey);
    EXPECT_EQ(v.quantity.to_string(), "-5");
    EXPECT_EQ(v.unrealized_pnl->to_string(), "10.00");  // (99 - 101.00) * -5
    // Flat: zero.
    buy("5", "98");
    v = *book_.get(kKey);
    EXPECT_TRUE(v.unrealized_pnl->is_zero());
    // Another exchange's price does not apply.
    PositionKey bse{"ACC1", "paper", "INFY", "BSE"};
    buy("1", "100", "0", bse);
    EXPECT_FALSE(book_.get(bse)->unrealized_pnl.has_value());
}

TEST_F(PositionBookTest, UnrealizedUsesTheExactCostBasisWhenTheAverageIsRounded) {
    buy("1", "100.05");
    buy("1", "100.10");
    buy("1", "99.95");
    book_.set_last_price("INFY", "NSE", D("100"));
    auto v = *book_.get(kKey);
    EXPECT_TRUE(v.average_price_rounded);
    EXPECT_EQ(v.unrealized_pnl->to_string(), "-0.10");  // 300 - 300.10, not -0.09999999999
}

TEST_F(PositionBookTest, RealizedPlusUnrealizedAlwaysEqualsCashFlowExactly) {
    // Random fills with fractional quantities and prices; at every step
    // realized + unrealized == sum(sells) - sum(buys) - fees + quantity * last, exactly, however
    // the divisions were rounded; when flat, realized alone equals the cash flow.
    std::mt19937 rng(7);
    Decimal cash, qty;
    const Decimal last = D("100.37");
    book_.set_last_price("INFY", "NSE", last);
    for (int i = 0; i < 3000; ++i) {
        const bool is_buy = rng() % 2 == 0;
        const Decimal q(static_cast<int64_t>(1 + rng() % 5000), 3);         // 0.001 .. 5.000
        const Decimal p(static_cast<int64_t>(9000 + rng() % 2000), 2);      // 90.00 .. 109.99
        const Decimal fee(static_cast<int64_t>(rng() % 100), 4);            // 0 .. 0.0099
        auto v = book_.apply_fill(kKey, is_buy ? Side::Buy : Side::Sell, q, p, fee, i);
        cash += is_buy ? -(q * p) : q * p;
        cash -= fee;
        qty += is_buy ? q : -q;
        ASSERT_EQ(v.quantity, qty) << i;
        ASSERT_EQ(v.realized_pnl + *v.unrealized_pnl, cash + last * qty) << i;
    }
    // Close to flat.
    auto v = qty.is_positive() ? book_.apply_fill(kKey, Side::Sell, qty, last, D("0"), 9999)
                               : book_.apply_fill(kKey, Side::Buy, qty.abs(), last, D("0"), 9999);
    cash += last * qty;
    EXPECT_TRUE(v.quantity.is_zero());
    EXPECT_EQ(v.realized_pnl, cash);
    EXPECT_FALSE(v.realized_pnl_rounded);
    EXPECT_LE(v.realized_pnl.scale(), 5);  // no leftover digits from rounded closes
    EXPECT_GT(book_.rounded_divisions(), 0u);
}

TEST_F(PositionBookTest, CryptoQuantitiesBeyondDecimalProductRange) {
    // cost (scale 10) * closed (scale 8) needs more than 18 digits: still exact here.
    buy("0.12345678", "43000.12");
    buy("0.50000000", "43100.50");
    auto v = sell("0.30000000", "44000.00");
    EXPECT_EQ(v.quantity.to_string(), "0.32345678");
    buy("0.00000001", "1");
    v = sell("0.32345679", "43500.00");
    EXPECT_TRUE(v.quantity.is_zero());
    // Cash flow: 13200.00000000 + 14070.3703650000 - 5308.6563548136 - 21550.2500000000
    // - 0.00000001
    EXPECT_EQ(v.realized_pnl.to_string(), "411.4640101764");
}

// ---- fills no Decimal product can hold (issue 13, item 1) ---------------------------------------
// The book keeps its figures exactly in wide intermediates; a figure shown needs to fit a Decimal
// (18 decimals, int64 mantissa) and is rounded half-even to fit when it does not, with its flag.

TEST_F(PositionBookTest, OpeningFillWhoseNotionalNeedsNineteenDecimalsIsApplied) {
    // 0.1234567891 * 1.123456789 = 0.1386983678625361999: 19 decimals.
    auto v = buy("0.1234567891", "1.123456789");
    EXPECT_EQ(v.quantity.to_string(), "0.1234567891");
    EXPECT_EQ(v.average_price.to_string(), "1.123456789");
    EXPECT_FALSE(v.average_price_rounded);
    // Flat again at one nano more: realized 0.0000000001234567891 is shown at 18 decimals.
    v = sell("0.1234567891", "1.123456790");
    EXPECT_TRUE(v.quantity.is_zero());
    EXPECT_EQ(v.realized_pnl.to_string(), "0.000000000123456789");
    EXPECT_TRUE(v.realized_pnl_rounded);
}

TEST_F(PositionBookTest, ClosingProceedsBeyondEighteenDecimalsAreApplied) {
    buy("1", "1");
    // closed * price = 0.1234567891 * 1.123456789 (19 decimals).
    auto v = sell("0.1234567891", "1.123456789");
    EXPECT_EQ(v.quantity.to_string(), "0.8765432109");
    EXPECT_EQ(v.realized_pnl.to_string(), "0.015241578762536200");  // ...5361999 half-even
    EXPECT_TRUE(v.realized_pnl_rounded);
    EXPECT_EQ(v.average_price.to_string(), "1");
    // The rest closes at 1: the exact figure inside is unchanged, still shown rounded.
    v = sell("0.8765432109", "1");
    EXPECT_TRUE(v.quantity.is_zero());
    EXPECT_EQ(v.realized_pnl.to_string(), "0.015241578762536200");
}

TEST_F(PositionBookTest, UnrealizedPnlWithNineteenDecimalsIsShownRoundedAndFlagged) {
    buy("0.1234567891", "2");
    book_.set_last_price("INFY", "NSE", D("1.123456789"));
    auto v = book_.get(kKey);  // last * quantity has 19 decimals
    ASSERT_TRUE(v);
    ASSERT_TRUE(v->unrealized_pnl);
    EXPECT_EQ(v->unrealized_pnl->to_string(), "-0.108215210337463800");  // ...4638001
    EXPECT_TRUE(v->unrealized_pnl_rounded);
    EXPECT_EQ(book_.snapshot().size(), 1u);
}

TEST_F(PositionBookTest, NotionalBeyondTheInt64RangeIsApplied) {
    // 10^10 * 10^9 = 10^19 does not fit an int64 mantissa even at scale 0.
    auto v = buy("10000000000", "1000000000");
    EXPECT_EQ(v.quantity.to_string(), "10000000000");
    EXPECT_EQ(v.average_price.to_string(), "1000000000");
    book_.set_last_price("INFY", "NSE", D("1000000001"));
    v = *book_.get(kKey);
    EXPECT_EQ(v.unrealized_pnl->to_string(), "10000000000");  // 10^10 * 1, exactly
    EXPECT_FALSE(v.unrealized_pnl_rounded);
    v = sell("5000000000", "1000000002");
    EXPECT_EQ(v.realized_pnl.to_string(), "10000000000");  // 5 * 10^9 * 2
    EXPECT_FALSE(v.realized_pnl_rounded);
    EXPECT_EQ(v.quantity.to_string(), "5000000000");
}

TEST_F(PositionBookTest, QuantityBeyondTheDecimalRangeIsKeptExactlyAndFlagged) {
    buy("1", "1");
    // The position is now 2^63, one more than a Decimal holds: applied, shown saturated, flagged.
    auto v = book_.apply_fill(kKey, Side::Buy, Decimal(INT64_MAX, 0), D("2"), D("0"), 5);
    EXPECT_TRUE(v.out_of_range);
    EXPECT_EQ(v.quantity, Decimal(INT64_MAX, 0));
    EXPECT_EQ(book_.out_of_range_fills(), 1u);
    // Back in range, exact again.
    v = sell("2", "2");
    EXPECT_FALSE(v.out_of_range);
    EXPECT_EQ(v.quantity, Decimal(INT64_MAX - 1, 0));
    // The cost taken out, (2^64 - 1) * 2 / 2^63, is rounded at the cost basis's scale (0) to 4.
    EXPECT_EQ(v.realized_pnl.to_string(), "0");
    EXPECT_TRUE(v.realized_pnl_rounded);
}

TEST_F(PositionBookTest, ManyEightDecimalFillsAtFourDecimalPricesNeverThrowAndEndExact) {
    // Random 8-decimal quantities at 1234.5678-like prices, a last price with 9 decimals
    // (last * quantity has 17 decimals at magnitude 10^5: no int64 holds it). Nothing may throw;
    // the quantity is exact at every step and the realized P&L is exact once flat.
    std::mt19937_64 rng(42);
    book_.set_last_price("INFY", "NSE", D("1234.567891234"));
    __int128 cash = 0;  // sells - buys at scale 12
    Decimal qty;
    for (int i = 0; i < 2000; ++i) {
        const bool is_buy = rng() % 2 == 0;
        const Decimal q(static_cast<int64_t>(1 + rng() % 299'999'999), 8);
        const Decimal p(static_cast<int64_t>(12'340'000 + rng() % 20'000), 4);
        auto v = book_.apply_fill(kKey, is_buy ? Side::Buy : Side::Sell, q, p, D("0"), i);
        const __int128 flow = static_cast<__int128>(q.mantissa()) * p.mantissa();
        cash += is_buy ? -flow : flow;
        qty += is_buy ? q : -q;
        ASSERT_EQ(v.quantity, qty) << i;
        ASSERT_TRUE(v.unrealized_pnl) << i;
        ASSERT_FALSE(v.out_of_range) << i;
    }
    const Decimal last = D("1234.5678");
    auto v = qty.is_positive() ? book_.apply_fill(kKey, Side::Sell, qty, last, D("0"), 9999)
                               : book_.apply_fill(kKey, Side::Buy, qty.abs(), last, D("0"), 9999);
    const __int128 flow = static_cast<__int128>(qty.abs().mantissa()) * last.mantissa();
    cash += qty.is_positive() ? flow : -flow;
    EXPECT_TRUE(v.quantity.is_zero());
    ASSERT_LT(cash < 0 ? -cash : cash, static_cast<__int128>(INT64_MAX));
    EXPECT_EQ(v.realized_pnl, Decimal(static_cast<int64_t>(cash), 12));
    EXPECT_FALSE(v.realized_pnl_rounded);
}

TEST_F(PositionBookTest, InvalidFillsAreRefusedAndLeaveNothing) {
    EXPECT_THROW(book_.apply_fill(kKey, Side::Buy, D("0"), D("1"), D("0"), 1), std::invalid_argument);
    EXPECT_THROW(book_.apply_fill(kKey, Side::Sell, D("-1"), D("1"), D("0"), 1),
                 std::invalid_argument);
    EXPECT_FALSE(book_.get(kKey).has_value());
}

TEST_F(PositionBookTest, KeysAreSeparateAndSnapshotsFilterByAccount) {
    buy("1", "10", "0", PositionKey{"B", "paper", "INFY", "NSE"});
    buy("2", "10", "0", PositionKey{"A", "zerodha", "INFY", "NSE"});
    buy("3", "10", "0", PositionKey{"A", "paper", "INFY", "NSE"});
    buy("4", "10", "0", PositionKey{"A", "paper", "TCS", "NSE"});
    auto all = book_.snapshot();
    ASSERT_EQ(all.size(), 4u);
    EXPECT_EQ(all[0].account_id, "A");  // ordered by account, broker, symbol, exchange
    EXPECT_EQ(all[0].broker, "paper");
    EXPECT_EQ(all[0].symbol, "INFY");
    EXPECT_EQ(all[0].quantity.to_string(), "3");
    EXPECT_EQ(all[1].symbol, "TCS");
    EXPECT_EQ(all[2].broker, "zerodha");
    EXPECT_EQ(all[3].account_id, "B");
    auto a = book_.snapshot(std::vector<std::string>{"A"});
    EXPECT_EQ(a.size(), 3u);
    for (const auto& p : a) EXPECT_EQ(p.account_id, "A");
    EXPECT_EQ(book_.snapshot(std::vector<std::string>{"B", "C"}).size(), 1u);
    EXPECT_TRUE(book_.snapshot(std::vector<std::string>{}).empty());
}

TEST_F(PositionBookTest, UpdatedAtIsTheLatestFillTime) {
    book_.apply_fill(kKey, Side::Buy, D("1"), D("1"), D("0"), 500);
    book_.apply_fill(kKey, Side::Buy, D("1"), D("1"), D("0"), 300);  // arrived late
    EXPECT_EQ(book_.get(kKey)->updated_at_ns, 500);
    book_.apply_fill(kKey, Side::Buy, D("1"), D("1"), D("0"), 700);
    EXPECT_EQ(book_.get(kKey)->updated_at_ns, 700);
}

TEST(PositionBookConcurrency, ThreadsOnSharedAndOwnKeys) {
    PositionBook book;
    constexpr int kThreads = 8;
    constexpr int kRounds = 500;
    const PositionKey shared{"ACC", "paper", "SHARED", "NSE"};
    std::vector<std::thread> threads;
    std::atomic<bool> stop_readers{false};
    std::thread reader([&] {
        while (!stop_readers.load()) {
            for (const auto& p : book.snapshot()) ASSERT_FALSE(p.quantity.is_negative());
        }
    });
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            const PositionKey own{"ACC", "paper", "OWN" + std::to_string(t), "NSE"};
            for (int i = 0; i < kRounds; ++i) {
                // buy, buy, sell: each thread's own contribution never goes short, so neither
                // does the shared position, whatever the interleaving.
                for (const auto* key : {&shared, &own}) {
                    book.apply_fill(*key, Side::Buy, D("1"), D("100.01"), D("0"), i);
                    book.apply_fill(*key, Side::Buy, D("1"), D("100.01"), D("0"), i);
                    book.apply_fill(*key, Side::Sell, D("1"), D("100.02"), D("0"), i);
                }
            }
        });
    }
    for (auto& th : threads) th.join();
    stop_readers = true;
    reader.join();
    auto s = *book.get(shared);
    EXPECT_EQ(s.quantity.to_string(), std::to_string(kThreads * kRounds));
    EXPECT_EQ(s.average_price.to_string(), "100.01");
    EXPECT_EQ(s.realized_pnl, D("0.01") * Decimal(kThreads * kRounds, 0));
    for (int t = 0; t < kThreads; ++t) {
        auto o = *book.get(PositionKey{"ACC", "paper", "OWN" + std::to_string(t), "NSE"});
        EXPECT_EQ(o.quantity.to_string(), std::to_string(kRounds));
        EXPECT_EQ(o.realized_pnl.to_string(), "5.00");
    }
    EXPECT_EQ(book.snapshot().size(), static_cast<size_t>(kThreads + 1));
}

}  // namespace
}  // namespace ordergate::positions
