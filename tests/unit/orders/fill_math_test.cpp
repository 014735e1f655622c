// Unit tests of orders::FillNotional (host/orders/fill_math.hpp): the exact cumulative notional of
// an order's fills and the one rounding rule of its average fill price.
#include "orders/fill_math.hpp"

#include <gtest/gtest.h>

namespace ordergate::orders {
namespace {

Decimal D(const char* s) { return Decimal::must_parse(s); }

TEST(FillNotional, AverageIsExactAtTheSmallestScaleFromItsNaturalOne) {
    FillNotional n;
    n.add(D("2"), D("100.05"));
    n.add(D("3"), D("100.10"));
    AverageFillPrice a = n.average(D("5"), 9);
    EXPECT_EQ(a.value.to_string(), "100.08");  // 500.40 / 5
    EXPECT_FALSE(a.rounded);
    n.add(D("5"), D("99.95"));
    EXPECT_EQ(n.average(D("10"), 9).value.to_string(), "100.015");
}

TEST(FillNotional, AverageIsRoundedHalfEvenOnceAtTheMaxScale) {
    FillNotional n;
    n.add(D("1"), D("100.00"));
    n.add(D("2"), D("100.01"));
    AverageFillPrice a = n.average(D("3"), 9);
    EXPECT_EQ(a.value.to_string(), "100.006666667");
    EXPECT_TRUE(a.rounded);
    // The next fill is added to the exact notional, not to 100.006666667 * 3.
    n.add(D("1"), D("100.02"));
    a = n.average(D("4"), 9);
    EXPECT_EQ(a.value.to_string(), "100.01");
    EXPECT_FALSE(a.rounded);
    // A tie at the max scale goes to the even digit: 0.125 at 2 decimals.
    FillNotional t;
    t.add(D("1"), D("0.125"));
    EXPECT_EQ(t.average(D("1"), 2).value.to_string(), "0.12");
}

TEST(FillNotional, EightDecimalQuantitiesAtLargePricesNeverOverflow) {
    FillNotional n;
    Decimal filled;
    for (int i = 0; i < 1000; ++i) {
        const Decimal q(99'999'999 - i, 8);
        n.add(q, D("987654321.1234"));
        filled += q;
    }
    const AverageFillPrice a = n.average(filled, 9);
    EXPECT_FALSE(a.out_of_range);
    // The same price every time: the average is that price, exactly (9 decimals would need
    // 18 digits at this magnitude, but it terminates at 4).
    EXPECT_EQ(a.value.to_string(), "987654321.1234");
    EXPECT_FALSE(a.rounded);
    EXPECT_TRUE(n.covers(filled));
}

TEST(FillNotional, FromAverageIsMarkedAndCoversTheFilledQuantity) {
    const FillNotional n = FillNotional::from_average(D("100.006666667"), D("3"));
    EXPECT_FALSE(n.from_fills());
    EXPECT_TRUE(n.covers(D("3.0")));
    EXPECT_FALSE(n.covers(D("2")));
    EXPECT_TRUE(FillNotional().from_fills());
    EXPECT_THROW(FillNotional().average(D("0"), 9), DecimalError);
}

}  // namespace
}  // namespace ordergate::orders
