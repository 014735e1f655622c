// Unit tests of ordergate::Decimal (sdk/include/ordergate/decimal.hpp).
#include "ordergate/decimal.hpp"

#include <gtest/gtest.h>

#include <climits>
#include <random>
#include <string>

namespace ordergate {
namespace {

Decimal D(const char* s) { return Decimal::must_parse(s); }

// Parses with the REST contract's defaults (18 digits, 9 dp, no exponent).
bool parse_api(std::string_view s, Decimal* out, std::string* why = nullptr) {
    return Decimal::parse(s, out, why);
}

bool parse_json_number(std::string_view s, Decimal* out, std::string* why = nullptr) {
    Decimal::ParseOptions o;
    o.allow_exponent = true;
    return Decimal::parse(s, out, why, o);
}

// ---- parse and print ----------------------------------------------------------------------------

TEST(DecimalParse, RoundTripKeepsTheWrittenScale) {
    for (const char* s : {"0", "1", "-1", "1500.50", "-0.001", "1.10", "0.000000001", "100",
                          "0.10", "123456789012345678", "-123456789.123456789", "999999999.999999999",
                          "0.000000000", "42.000"}) {
        Decimal d;
        std::string why;
        ASSERT_TRUE(parse_api(s, &d, &why)) << s << ": " << why;
        EXPECT_EQ(d.to_string(), s);
    }
}

TEST(DecimalParse, ScaleIsTheNumberOfWrittenDecimals) {
    Decimal d;
    ASSERT_TRUE(parse_api("1.10", &d));
    EXPECT_EQ(d.mantissa(), 110);
    EXPECT_EQ(d.scale(), 2);
    ASSERT_TRUE(parse_api("-0.0050", &d));
    EXPECT_EQ(d.mantissa(), -50);
    EXPECT_EQ(d.scale(), 4);
}

TEST(DecimalParse, EighteenSignificantDigitsAtMost) {
    Decimal d;
    std::string why;
    EXPECT_TRUE(parse_api("123456789012345678", &d));
    EXPECT_TRUE(parse_api("123456789.123456789", &d));
    EXPECT_TRUE(parse_api("-999999999999999999", &d));
    EXPECT_FALSE(parse_api("1234567890123456789", &d, &why));
    EXPECT_EQ(why, "has more than 18 significant digits");
    EXPECT_FALSE(parse_api("1234567890.123456789", &d, &why));
    EXPECT_EQ(why, "has more than 18 significant digits");
    // Trailing zeros are written digits and count; leading zeros do not.
    EXPECT_FALSE(parse_api("100000000000000000.0", &d));
    EXPECT_TRUE(parse_api("0.000000001", &d));
    EXPECT_TRUE(parse_api("000000000000000000000001", &d));
    EXPECT_EQ(d.to_string(), "1");
}

TEST(DecimalParse, NineDecimalPlacesAtMost) {
    Decimal d;
    std::string why;
    EXPECT_TRUE(parse_api("0.123456789", &d));
    EXPECT_FALSE(parse_api("0.1234567890", &d, &why));
    EXPECT_EQ(why, "has too many decimal places");
    EXPECT_FALSE(parse_api("1.0000000000", &d));
    // A caller may allow more (up to kMaxScale), never beyond.
    EXPECT_TRUE(Decimal::parse("0.000000000000000001", &d, nullptr, 18));
    EXPECT_EQ(d.scale(), 18);
    Decimal::ParseOptions wide;
    wide.max_scale = 30;
    wide.max_digits = 30;
    EXPECT_FALSE(Decimal::parse("0.0000000000000000001", &d, &why, wide));
    EXPECT_EQ(why, "has too many decimal places");
}

TEST(DecimalParse, RefusesEverythingThatIsNotPlainDecimalText) {
    for (const char* s : {"", "NaN", "nan", "Infinity", "inf", "+1", ".5", "5.", "-", "+", ".",
                          "1.2.3", " 1", "1 ", "0x10", "1,000", "--1", "-+1", "1e3", "1E3", "e1",
                          "1-", "1.5.", "\xd9\xa1", "1\n"}) {
        Decimal d;
        std::string why;
        EXPECT_FALSE(parse_api(s, &d, &why)) << "'" << s << "' was accepted";
        EXPECT_FALSE(why.empty()) << s;
    }
    Decimal d;
    EXPECT_FALSE(parse_api(std::string_view("1\0", 2), &d));
}

TEST(DecimalParse, FailureLeavesTheOutputAlone) {
    Decimal d(7, 1);
    EXPECT_FALSE(parse_api("abc", &d));
    EXPECT_TRUE(d.identical(Decimal(7, 1)));
}

TEST(DecimalParse, SignCanBeForbidden) {
    Decimal::ParseOptions o;
    o.allow_sign = false;
    Decimal d;
    EXPECT_FALSE(Decimal::parse("-1", &d, nullptr, o));
    EXPECT_TRUE(Decimal::parse("1", &d, nullptr, o));
}

TEST(DecimalParse, NegativeZeroIsZero) {
    Decimal d;
    ASSERT_TRUE(parse_api("-0", &d));
    EXPECT_TRUE(d.is_zero());
    EXPECT_FALSE(d.is_negative());
    EXPECT_EQ(d.sign(), 0);
    EXPECT_EQ(d.to_string(), "0");
    ASSERT_TRUE(parse_api("-0.00", &d));
    EXPECT_EQ(d.to_string(), "0.00");
    EXPECT_EQ(d, Decimal());
}

TEST(DecimalParse, ExponentFormsOfJsonNumbers) {
    struct Case {
        const char* in;
        const char* out;
    };
    for (const Case& c : {Case{"1.5e3", "1500"}, Case{"1E3", "1000"}, Case{"1e+3", "1000"},
                          Case{"1.5e-3", "0.0015"}, Case{"15e-1", "1.5"}, Case{"1.50e1", "15.0"},
                          Case{"-2.5E2", "-250"}, Case{"1e17", "100000000000000000"},
                          Case{"0e400", "0"}, Case{"0.0e5", "0"}, Case{"123e0", "123"},
                          Case{"1e-9", "0.000000001"}}) {
        Decimal d;
        std::string why;
        ASSERT_TRUE(parse_json_number(c.in, &d, &why)) << c.in << ": " << why;
        EXPECT_EQ(d.to_string(), c.out) << c.in;
    }
}

TEST(DecimalParse, ExponentsOutOfRangeAreRefused) {
    for (const char* s : {"1e400", "1e18", "-1e19", "123456789012345678e1", "1e-400", "1e-10",
                          "1e", "1e+", "1e-", "e5", "1.e5", "1e5.5", "1e99999999999999999999"}) {
        Decimal d;
        std::string why;
        EXPECT_FALSE(parse_json_number(s, &d, &why)) << s << " gave " << d.to_string();
    }
    Decimal d;
    std::string why;
    EXPECT_FALSE(parse_json_number("1e400", &d, &why));
    EXPECT_EQ(why, "is out of range");
}

TEST(DecimalParse, MustParseThrowsWithTheReason) {
    EXPECT_EQ(Decimal::must_parse("0.000000000000000001").scale(), 18);
    try {
        Decimal::must_parse("12x");
        FAIL() << "no throw";
    } catch (const DecimalError& e) {
        EXPECT_NE(std::string(e.what()).find("'12x'"), std::string::npos);
    }
    EXPECT_THROW(Decimal::must_parse(""), DecimalError);
}

TEST(DecimalPrint, SmallAndExtremeMantissas) {
    EXPECT_EQ(Decimal(5, 18).to_string(), "0.000000000000000005");
    EXPECT_EQ(Decimal(-5, 3).to_string(), "-0.005");
    EXPECT_EQ(Decimal(0, 3).to_string(), "0.000");
    EXPECT_EQ(Decimal(INT64_MAX, 0).to_string(), "9223372036854775807");
    EXPECT_EQ(Decimal(INT64_MIN, 0).to_string(), "-9223372036854775808");
    EXPECT_EQ(Decimal(INT64_MIN, 18).to_string(), "-9.223372036854775808");
    EXPECT_EQ(Decimal(INT64_MAX, 18).to_string(), "9.223372036854775807");
    EXPECT_EQ(Decimal(INT64_MIN, 5).to_string(), "-92233720368547.75808");
    EXPECT_EQ(Decimal(123, 3).to_string(), "0.123");
    EXPECT_EQ(Decimal(1234, 3).to_string(), "1.234");
}

TEST(DecimalPrint, RandomRoundTripsAreIdentical) {
    std::mt19937_64 rng(20240611);
    for (int i = 0; i < 20000; ++i) {
        int64_t m = static_cast<int64_t>(rng());
        if (i % 3 == 0) m %= 1'000'000;
        int32_t scale = static_cast<int32_t>(rng() % 19);
        Decimal d(m, scale);
        Decimal back;
        std::string why;
        Decimal::ParseOptions o;
        o.max_scale = 18;
        o.max_digits = 19;
        std::string text = d.to_string();
        if (m == INT64_MIN) continue;  // 19 digits that only the constructor makes
        ASSERT_TRUE(Decimal::parse(text, &back, &why, o)) << text << ": " << why;
        ASSERT_TRUE(back.identical(d)) << text;
    }
}

TEST(DecimalCtor, ScaleOutOfRangeThrows) {
    EXPECT_THROW(Decimal(1, -1), DecimalError);
    EXPECT_THROW(Decimal(1, 19), DecimalError);
    EXPECT_NO_THROW(Decimal(1, 18));
}

TEST(DecimalAbi, RoundTrip) {
    Decimal d = D("-1500.50");
    og_decimal a = d.to_abi();
    EXPECT_EQ(a.mantissa, -150050);
    EXPECT_EQ(a.scale, 2);
    EXPECT_TRUE(Decimal::from_abi(a).identical(d));
    EXPECT_THROW(Decimal::from_abi(og_decimal{1, 40}), DecimalError);
}

// ---- arithmetic ---------------------------------------------------------------------------------

TEST(DecimalArith, AdditionAndSubtractionAreExact) {
    EXPECT_EQ((D("0.1") + D("0.2")).to_string(), "0.3");
    EXPECT_EQ((D("1.10") + D("2.205")).to_string(), "3.305");
    EXPECT_EQ((D("1.00") - D("0.01")).to_string(), "0.99");
    EXPECT_EQ((D("100") - D("100.000")).to_string(), "0.000");
    EXPECT_EQ((D("-5.5") + D("2.25")).to_string(), "-3.25");
    EXPECT_EQ((D("0.000000000000000001") + D("1")).to_string(), "1.000000000000000001");
    Decimal acc;
    for (int i = 0; i < 1000; ++i) acc += D("0.001");
    EXPECT_EQ(acc.to_string(), "1.000");
    acc -= D("1");
    EXPECT_TRUE(acc.is_zero());
}

TEST(DecimalArith, MultiplicationIsExact) {
    EXPECT_EQ((D("1.5") * D("1.5")).to_string(), "2.25");
    EXPECT_EQ((D("100.05") * D("3")).to_string(), "300.15");
    EXPECT_EQ((D("0.001") * D("0.001")).to_string(), "0.000001");
    EXPECT_EQ((D("-2.50") * D("4")).to_string(), "-10.00");
    EXPECT_EQ((D("10") * D("0")).to_string(), "0");
    // Scale 20 with trailing zeros reduces to 18; non-zero digits past 18 throw.
    EXPECT_TRUE((Decimal(10, 10) * Decimal(10, 10)).identical(Decimal(1, 18)));
    EXPECT_THROW(Decimal(1, 10) * Decimal(1, 10), DecimalError);
}

TEST(DecimalArith, OverflowThrowsOnAddSubMul) {
    const Decimal max(INT64_MAX, 0);
    const Decimal min(-INT64_MAX, 0);
    EXPECT_THROW(max + Decimal(1, 0), DecimalError);
    EXPECT_THROW(min - Decimal(1, 0), DecimalError);
    EXPECT_THROW(Decimal(1, 0) - max - Decimal(2, 0), DecimalError);
    EXPECT_THROW(D("10000000000") * D("10000000000"), DecimalError);
    EXPECT_THROW(D("-10000000000") * D("10000000000"), DecimalError);
    // Aligning scales can overflow too: 9.2e18 at scale 18 does not fit.
    EXPECT_THROW(max + Decimal(1, 18), DecimalError);
    EXPECT_THROW(-Decimal(INT64_MIN, 0), DecimalError);
    EXPECT_THROW(Decimal(INT64_MIN, 0).abs(), DecimalError);
    EXPECT_NO_THROW(max + Decimal(0, 0));
    EXPECT_EQ((max - max).to_string(), "0");
}

// Found by tests/fuzz/fuzz_decimal: a result whose value fits was refused because the scale the
// operands carried made its mantissa too wide. Trailing zeros are dropped before overflowing.
TEST(DecimalArith, ResultThatFitsAfterDroppingTrailingZerosIsNotAnOverflow) {
    // 100000.00000000 x 100000.00000000 (8-decimal quantity and price): 1e26 at scale 16.
    Decimal notional = D("100000.00000000") * D("100000.00000000");
    EXPECT_EQ(notional, D("10000000000"));
    EXPECT_LE(notional.scale(), 16);
    Decimal sum = Decimal(9000000000000000000, 1) + Decimal(9000000000000000000, 1);
    EXPECT_EQ(sum, Decimal(1800000000000000000, 0));
    EXPECT_EQ(Decimal(INT64_MAX, 0) + Decimal(0, 18), Decimal(INT64_MAX, 0));
    EXPECT_EQ(Decimal(-INT64_MAX, 0) - Decimal(0, 5), Decimal(-INT64_MAX, 0));
    // Digits that do not fit still throw.
    EXPECT_THROW(Decimal(INT64_MAX, 0) + Decimal(1, 18), DecimalError);
    EXPECT_THROW(Decimal(INT64_MAX, 9) * Decimal(2, 0), DecimalError);
}

TEST(DecimalArith, CompoundAssignmentLeavesValueOnOverflow) {
    Decimal v(INT64_MAX, 0);
    EXPECT_THROW(v += Decimal(1, 0), DecimalError);
    EXPECT_EQ(v.to_string(), "9223372036854775807");
}

TEST(DecimalArith, SignHelpers) {
    EXPECT_EQ(D("-0.5").sign(), -1);
    EXPECT_EQ(D("0.5").sign(), 1);
    EXPECT_TRUE(D("-3").is_negative());
    EXPECT_TRUE(D("3").is_positive());
    EXPECT_EQ(D("-1.20").abs().to_string(), "1.20");
    EXPECT_EQ((-D("1.20")).to_string(), "-1.20");
}

// ---- division ----------------------------------------------------------------------------------

TEST(DecimalDivide, ExactQuotientsCarryTheSmallestScaleThatHoldsThem) {
    bool inexact = true;
    EXPECT_EQ(Decimal::divide(D("1"), D("4"), 9, &inexact).to_string(), "0.25");
    EXPECT_FALSE(inexact);
    EXPECT_EQ(Decimal::divide(D("10"), D("4"), 9).to_string(), "2.5");
    EXPECT_EQ(Decimal::divide(D("1.00"), D("4"), 9).to_string(), "0.25");
    EXPECT_EQ(Decimal::divide(D("1.000"), D("4"), 9).to_string(), "0.250");
    EXPECT_EQ(Decimal::divide(D("4002.00"), D("40"), 9).to_string(), "100.05");
    EXPECT_EQ(Decimal::divide(D("6"), D("0.5"), 9).to_string(), "12");
    EXPECT_EQ(Decimal::divide(D("-9"), D("3"), 9).to_string(), "-3");
    EXPECT_EQ(Decimal::divide(D("1"), D("1024"), 18).to_string(), "0.0009765625");
    // The start scale is capped by max_scale.
    EXPECT_EQ(Decimal::divide(D("1.500"), D("1"), 1).to_string(), "1.5");
    EXPECT_FALSE(inexact);
}

TEST(DecimalDivide, InexactQuotientsRoundHalfEvenAndSaySo) {
    bool inexact = false;
    EXPECT_EQ(Decimal::divide(D("1"), D("3"), 9, &inexact).to_string(), "0.333333333");
    EXPECT_TRUE(inexact);
    EXPECT_EQ(Decimal::divide(D("2"), D("3"), 9, &inexact).to_string(), "0.666666667");
    EXPECT_TRUE(inexact);
    EXPECT_EQ(Decimal::divide(D("-2"), D("3"), 4, &inexact).to_string(), "-0.6667");
    EXPECT_EQ(Decimal::divide(D("2"), D("-3"), 4, &inexact).to_string(), "-0.6667");
    EXPECT_EQ(Decimal::divide(D("-1"), D("-3"), 3, &inexact).to_string(), "0.333");
    // Ties go to the even neighbour.
    EXPECT_EQ(Decimal::divide(D("5"), D("10"), 0, &inexact).to_string(), "0");
    EXPECT_TRUE(inexact);
    EXPECT_EQ(Decimal::divide(D("15"), D("10"), 0).to_string(), "2");
    EXPECT_EQ(Decimal::divide(D("25"), D("10"), 0).to_string(), "2");
    EXPECT_EQ(Decimal::divide(D("-25"), D("10"), 0).to_string(), "-2");
    EXPECT_EQ(Decimal::divide(D("-35"), D("10"), 0).to_string(), "-4");
    EXPECT_EQ(Decimal::divide(D("1"), D("8"), 2).to_string(), "0.12");
    EXPECT_EQ(Decimal::divide(D("3"), D("8"), 2).to_string(), "0.38");
    // Just above and below the tie.
    EXPECT_EQ(Decimal::divide(D("1.2501"), D("1"), 1).to_string(), "1.3");
    EXPECT_EQ(Decimal::divide(D("1.2499"), D("1"), 1).to_string(), "1.2");
}

TEST(DecimalDivide, ErrorsThrow) {
    EXPECT_THROW(Decimal::divide(D("1"), D("0"), 9), DecimalError);
    EXPECT_THROW(Decimal::divide(D("1"), D("0.000"), 9), DecimalError);
    EXPECT_THROW(Decimal::divide(D("1"), D("3"), -1), DecimalError);
    EXPECT_THROW(Decimal::divide(D("1"), D("3"), 19), DecimalError);
    // Quotients that do not fit an int64 mantissa.
    EXPECT_THROW(Decimal::divide(Decimal(INT64_MAX, 0), D("0.5"), 0), DecimalError);
    EXPECT_THROW(Decimal::divide(Decimal(9'000'000'000'000'000'000, 0), Decimal(7, 18), 18),
                 DecimalError);
    EXPECT_THROW(Decimal::divide(Decimal(INT64_MAX, 0), Decimal(3, 18), 18), DecimalError);
}

TEST(DecimalDivide, LargeShiftsStayExact) {
    EXPECT_EQ(Decimal::divide(D("5"), Decimal(4, 18), 18).to_string(), "1250000000000000000");
    // The quotient keeps at least the dividend's scale (the contract).
    EXPECT_EQ(Decimal::divide(Decimal(1, 18), Decimal(1, 18), 18).to_string(),
              "1.000000000000000000");
    EXPECT_EQ(Decimal::divide(Decimal(1, 18), D("2"), 18).to_string(), "0.000000000000000000");
}

// ---- comparison, rescale -----------------------------------------------------------------------

TEST(DecimalCompare, ByValueNotScale) {
    EXPECT_EQ(D("1.10"), D("1.1"));
    EXPECT_FALSE(D("1.10").identical(D("1.1")));
    EXPECT_TRUE(D("1.10").identical(D("1.10")));
    EXPECT_LT(D("-0.5"), D("0.1"));
    EXPECT_LT(D("0.999999999"), D("1"));
    EXPECT_GT(D("100"), D("99.999"));
    EXPECT_LE(D("2.0"), D("2"));
    EXPECT_GE(D("2.0"), D("2"));
    EXPECT_NE(D("2.01"), D("2"));
    EXPECT_EQ(compare(Decimal(INT64_MAX, 0), Decimal(INT64_MAX, 18)), 1);
    EXPECT_EQ(compare(Decimal(INT64_MIN, 0), Decimal(INT64_MIN, 18)), -1);
    EXPECT_EQ(compare(Decimal(0, 18), Decimal(0, 0)), 0);
}

TEST(DecimalRescale, WidenNarrowNormalize) {
    EXPECT_EQ(D("1.5").rescaled(3).to_string(), "1.500");
    EXPECT_EQ(D("1.500").rescaled(1).to_string(), "1.5");
    EXPECT_THROW(D("1.55").rescaled(1), DecimalError);
    EXPECT_THROW(D("1").rescaled(19), DecimalError);
    EXPECT_THROW(Decimal(INT64_MAX, 0).rescaled(1), DecimalError);
    EXPECT_EQ(D("1.500").normalized().to_string(), "1.5");
    EXPECT_EQ(D("100").normalized().to_string(), "100");
    EXPECT_EQ(D("0.000").normalized().to_string(), "0");
    EXPECT_EQ(D("-2.50").normalized().to_string(), "-2.5");
}

}  // namespace
}  // namespace ordergate
