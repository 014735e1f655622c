// Unit tests of positions::mul_div (a * b / d on the 128-bit product).
#include "positions/exact_math.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace ordergate::positions
