// Unit tests of positions::WideDecimal (exact intermediates, one half-even rounding to show a
// Decimal) and positions::mul_div (a * b / d).
#include "positions/exact_math.hpp"

#include <gtest/gtest.h>

#include <random>

namespace ordergate::positions {
namespace {

Decimal D(const char* s) { return Decimal::must_parse(s); }

std::string md(const char* a, const char* b, const char* d, int32_t max_scale,
               bool* inexact = nullptr) {
    return mul_div(D(a), D(b), D(d), max_scale, inexact).to_string();
}

TEST(MulDiv, ExactQuotientsKeepTheNaturalScale) {
    bool inexact = true;
    EXPECT_EQ(md("4002.00", "15", "40", 18, &inexact), "1500.75");
    EXPECT_FALSE(inexact);
    EXPECT_EQ(md("300.10", "1", "3", 18, &inexact), "100.0333333333333333");
    EXPECT_TRUE(inexact);  // 16 decimals: the most an int64 holds at this magnitude
    EXPECT_EQ(md("10.01", "1", "4", 18), "2.5025");
    EXPECT_EQ(md("6", "1", "2.5", 9), "2.4");
    EXPECT_EQ(md("1.50", "2", "3", 9), "1.00");
    EXPECT_EQ(md("-7", "3", "2", 9), "-10.5");
    EXPECT_EQ(md("7", "-3", "-2", 9), "10.5");
    EXPECT_EQ(md("0", "3", "7", 9), "0");
}

TEST(MulDiv, ProductsBeyondEighteenDigitsStillWork) {
    // 5308.654321234567 * 0.05000000 carries 20 digits at scale 23; Decimal's own product drops
    // the trailing zeros (it used to throw), mul_div keeps the whole 128-bit product.
    EXPECT_EQ((D("5308.654321234567") * D("0.05000000")).to_string(), "265.4327160617283500");
    EXPECT_THROW(D("5308.654321234567") * D("0.05000001"), DecimalError);
    bool inexact = false;
    // The quotient 2150.0051764004240998347761... does not fit 18 decimals at this magnitude: it
    // is rounded at the largest scale an int64 holds (15).
    EXPECT_EQ(mul_div(D("5308.654321234567"), D("0.05000000"), D("0.12345678"), 18, &inexact)
                  .to_string(),
              "2150.005176400424100");
    EXPECT_TRUE(inexact);
}

TEST(MulDiv, RoundsHalfEvenAtMaxScale) {
    bool inexact = false;
    EXPECT_EQ(md("1", "1", "8", 2, &inexact), "0.12");
    EXPECT_TRUE(inexact);
    EXPECT_EQ(md("3", "1", "8", 2), "0.38");
    EXPECT_EQ(md("2", "1", "3", 9), "0.666666667");
    EXPECT_EQ(md("-2", "1", "3", 9), "-0.666666667");
    EXPECT_EQ(md("5", "1", "10", 0), "0");
    EXPECT_EQ(md("15", "1", "10", 0), "2");
}

TEST(MulDiv, NaturalScaleAboveMaxIsRoundedDown) {
    bool inexact = false;
    // 0.000000001 * 0.000000001 / 1 has 18 natural decimals; with max 9 it rounds to 0.
    EXPECT_EQ(md("0.000000001", "0.000000001", "1", 9, &inexact), "0.000000000");
    EXPECT_TRUE(inexact);
    EXPECT_EQ(md("0.123456789", "0.5", "1", 9, &inexact), "0.061728394");  // 0.0617283945: tie, to even
    EXPECT_TRUE(inexact);
    EXPECT_EQ(md("0.123456788", "0.5", "1", 9, &inexact), "0.061728394");  // exact ...394
    EXPECT_FALSE(inexact);
    EXPECT_EQ(md("0.25", "0.5", "1", 2, &inexact), "0.12");  // 0.125: tie to even
    EXPECT_TRUE(inexact);
    EXPECT_EQ(md("0.35", "0.5", "1", 2, &inexact), "0.18");  // 0.175: tie to even (8)
}

TEST(MulDiv, Errors) {
    EXPECT_THROW(md("1", "1", "0", 9), DecimalError);
    EXPECT_THROW(md("1", "1", "3", 19), DecimalError);
    EXPECT_THROW(md("1", "1", "3", -1), DecimalError);
    EXPECT_THROW(mul_div(Decimal(INT64_MAX, 0), D("10"), D("1"), 0), DecimalError);
    EXPECT_THROW(mul_div(Decimal(INT64_MAX, 0), D("1"), D("0.1"), 0), DecimalError);
}

// ---- WideDecimal --------------------------------------------------------------------------------

WideDecimal W(const char* s) { return WideDecimal(D(s)); }

std::string shown(const Shown& r) { return r.value.to_string(); }

TEST(WideDecimal, ArithmeticIsExactBeyondDecimalRange) {
    const WideDecimal p = W("0.1234567891") * W("1.123456789");  // 19 decimals
    EXPECT_EQ(p.scale(), 19);
    EXPECT_EQ(p.mantissa(), WideDecimal::Int("1386983678625361999"));
    const WideDecimal big = W("10000000000") * W("1000000000");  // 10^19
    EXPECT_EQ(big - big, WideDecimal());
    EXPECT_EQ((big + W("0.5")) - big, W("0.50"));
    EXPECT_TRUE(W("1.10") == W("1.1"));
    EXPECT_LT(W("-0.000000000000000001"), WideDecimal());
    EXPECT_EQ((-W("2.5")).abs(), W("2.5"));
}

TEST(WideDecimal, ToDecimalIsExactWhenADecimalHoldsIt) {
    Shown r = W("1.10").to_decimal();
    EXPECT_EQ(shown(r), "1.10");  // the scale the arithmetic gave
    EXPECT_FALSE(r.rounded);
    r = (W("1.5") * W("2.0")).to_decimal();
    EXPECT_EQ(shown(r), "3.00");
    // Trailing zeros past 18 decimals are dropped, as Decimal's own product does.
    r = WideDecimal(WideDecimal::Int(1000), 20).to_decimal();
    EXPECT_EQ(shown(r), "0.000000000000000010");
    EXPECT_FALSE(r.rounded);
    r = WideDecimal(WideDecimal::Int(INT64_MAX), 0).to_decimal();
    EXPECT_EQ(r.value, Decimal(INT64_MAX, 0));
    EXPECT_FALSE(r.rounded);
    EXPECT_FALSE(r.out_of_range);
}

TEST(WideDecimal, ToDecimalRoundsOnceHalfEvenToTheLargestScaleThatFits) {
    Shown r = (W("0.1234567891") * W("1.123456789")).to_decimal();
    EXPECT_EQ(shown(r), "0.138698367862536200");  // ...5361999 at 18 decimals
    EXPECT_TRUE(r.rounded);
    r = WideDecimal(WideDecimal::Int("250"), 20).to_decimal();  // 2.5e-18: tie, to even
    EXPECT_EQ(shown(r), "0.000000000000000002");
    r = WideDecimal(WideDecimal::Int("-350"), 20).to_decimal();  // -3.5e-18: tie, to even
    EXPECT_EQ(shown(r), "-0.000000000000000004");
    r = WideDecimal(WideDecimal::Int("-126"), 20).to_decimal();  // -1.26e-18
    EXPECT_EQ(shown(r), "-0.000000000000000001");
    // 123456789012345678.95 needs 20 digits: one decimal fits (not 123456789012345678.9 then .9).
    r = WideDecimal(WideDecimal::Int("12345678901234567895"), 2).to_decimal();
    EXPECT_EQ(shown(r), "123456789012345679.0");
    EXPECT_TRUE(r.rounded);
    // Only digits that are not zeros count as rounding.
    r = WideDecimal(WideDecimal::Int("25000000000000000000000"), 22).to_decimal();  // 2.5
    EXPECT_EQ(shown(r), "2.500000000000000000");
    EXPECT_FALSE(r.rounded);
}

TEST(WideDecimal, ToDecimalBeyondTheInt64RangeIsOutOfRange) {
    const WideDecimal big = W("10000000000") * W("1000000000");  // 10^19
    Shown r = big.to_decimal();
    EXPECT_TRUE(r.out_of_range);
    EXPECT_EQ(r.value, Decimal(INT64_MAX, 0));
    r = (-big).to_decimal();
    EXPECT_TRUE(r.out_of_range);
    EXPECT_EQ(r.value, Decimal(-INT64_MAX, 0));
    // 2^63 - 1 + 0.4 rounds to INT64_MAX: in range.
    r = (WideDecimal(WideDecimal::Int(INT64_MAX), 0) + W("0.4")).to_decimal();
    EXPECT_FALSE(r.out_of_range);
    EXPECT_TRUE(r.rounded);
    EXPECT_EQ(r.value, Decimal(INT64_MAX, 0));
}

TEST(WideDecimal, QuotientKeepsTheStartScaleAndRoundsHalfEvenAtMax) {
    Shown r = WideDecimal::quotient(W("500.40"), W("5"), 2, 9);
    EXPECT_EQ(shown(r), "100.08");
    EXPECT_FALSE(r.rounded);
    r = WideDecimal::quotient(W("1000.15"), W("10"), 2, 9);
    EXPECT_EQ(shown(r), "100.015");  // the smallest scale that holds it
    r = WideDecimal::quotient(W("300.02"), W("3"), 2, 9);
    EXPECT_EQ(shown(r), "100.006666667");
    EXPECT_TRUE(r.rounded);
    r = WideDecimal::quotient(W("-1"), W("8"), 0, 2);
    EXPECT_EQ(shown(r), "-0.12");  // -0.125: tie, to even
    r = WideDecimal::quotient(W("1"), W("8"), 5, 2);  // start above max: max
    EXPECT_EQ(shown(r), "0.12");
    // A quotient of 20 digits: the largest scale an int64 holds at its magnitude.
    r = WideDecimal::quotient(W("10"), W("3"), 0, 18);
    EXPECT_EQ(shown(r), "3.333333333333333333");
    r = WideDecimal::quotient(W("100"), W("3"), 0, 18);
    EXPECT_EQ(shown(r), "33.33333333333333333");
    // Exact but too large for max_scale: the smallest scale from start that holds it.
    r = WideDecimal::quotient(W("10000000000"), W("1"), 0, 9);
    EXPECT_EQ(shown(r), "10000000000");
    EXPECT_FALSE(r.rounded);
    // Beyond int64 even at scale 0.
    r = WideDecimal::quotient(W("10000000000") * W("1000000000"), W("1"), 0, 9);
    EXPECT_TRUE(r.out_of_range);
    EXPECT_THROW(WideDecimal::quotient(W("1"), W("0"), 0, 9), DecimalError);
    EXPECT_THROW(WideDecimal::quotient(W("1"), W("3"), 0, 19), DecimalError);
}

// quotient() takes a native path when both mantissas fit an int64 and the scales are close. The
// same values with the dividend's mantissa widened by 10^20 (same value, a mantissa no int64
// holds) take the general path: the answers must be the same, ties and signs included.
TEST(WideDecimal, QuotientNativePathAgreesWithTheGeneralOne) {
    std::mt19937_64 rng(20261205);
    const WideDecimal::Int widen = WideDecimal::Int(100000000000000000LL) * 1000;  // 10^20
    auto mantissa = [&](int digits) {
        int64_t bound = 1;
        for (int i = 0; i < digits; ++i) bound *= 10;
        int64_t m = static_cast<int64_t>(rng() % static_cast<uint64_t>(bound));
        return rng() % 2 ? -m : m;
    };
    int compared = 0;
    for (int i = 0; i < 20000; ++i) {
        int64_t am = mantissa(1 + static_cast<int>(rng() % 18));
        int64_t dm = mantissa(1 + static_cast<int>(rng() % 12));
        if (dm == 0) dm = 1 + static_cast<int64_t>(rng() % 7);
        if (i % 5 == 0) dm = (rng() % 2 ? 8 : 4) * (rng() % 2 ? 1 : -1);  // ties at small scales
        const int32_t as = static_cast<int32_t>(rng() % 12), ds = static_cast<int32_t>(rng() % 12);
        const int32_t max_scale = static_cast<int32_t>(rng() % 19);
        const int32_t start = static_cast<int32_t>(rng() % 22) - 2;
        const WideDecimal a(WideDecimal::Int(am), as), d(WideDecimal::Int(dm), ds);
        const WideDecimal wide(WideDecimal::Int(am) * widen, as + 20);
        ASSERT_EQ(a, wide);
        const Shown fast = WideDecimal::quotient(a, d, start, max_scale);
        const Shown general = WideDecimal::quotient(wide, d, start, max_scale);
        ASSERT_EQ(fast.value.mantissa(), general.value.mantissa())
            << am << "e-" << as << " / " << dm << "e-" << ds << " start " << start << " max "
            << max_scale;
        ASSERT_EQ(fast.value.scale(), general.value.scale()) << am << " / " << dm;
        ASSERT_EQ(fast.rounded, general.rounded) << am << " / " << dm;
        ASSERT_EQ(fast.out_of_range, general.out_of_range) << am << " / " << dm;
        compared += fast.rounded ? 1 : 0;
    }
    EXPECT_GT(compared, 1000);  // rounded quotients were among them, not only exact ones
}

TEST(WideDecimal, MulDivAtRoundsHalfEvenAtTheGivenScale) {
    bool inexact = false;
    EXPECT_EQ(WideDecimal::mul_div_at(W("300.10"), W("1"), W("3"), 2, &inexact), W("100.03"));
    EXPECT_TRUE(inexact);
    EXPECT_EQ(WideDecimal::mul_div_at(W("4002.00"), W("15"), W("40"), 2, &inexact), W("1500.75"));
    EXPECT_FALSE(inexact);
    EXPECT_EQ(WideDecimal::mul_div_at(W("0.25"), W("1"), W("2"), 2, &inexact).scale(), 2);
    EXPECT_EQ(WideDecimal::mul_div_at(W("0.25"), W("1"), W("2"), 2), W("0.12"));  // tie, to even
    EXPECT_EQ(WideDecimal::mul_div_at(W("-0.35"), W("1"), W("2"), 2), W("-0.18"));
    EXPECT_THROW(WideDecimal::mul_div_at(W("1"), W("1"), W("0"), 2), DecimalError);
}

}  // namespace
}  // namespace ordergate::positions
