// Decimal: parse, print and arithmetic against exact 128-bit math.
//
// Invariants: parsing arbitrary text never crashes and a parsed value prints back to text that
// parses to the identical value; for any two values, +, -, * either give exactly the true result
// or throw DecimalError only when no Decimal (|mantissa| <= INT64_MAX, scale <= 18) can hold it
// ("no silent overflow", and no overflow where the value fits); a + b - b == a when nothing
// throws; an exact division multiplies back; comparison agrees with the exact values.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "ordergate/decimal.hpp"

using ordergate::Decimal;
using ordergate::DecimalError;
using i128 = __int128;

namespace {

constexpr i128 kMaxMantissa = INT64_MAX;

std::string show(const Decimal& d) {
    return "(" + std::to_string(d.mantissa()) + ", " + std::to_string(d.scale()) + ")";
}
std::string show(i128 m, int s) {
    bool neg = m < 0;
    unsigned __int128 u = neg ? -static_cast<unsigned __int128>(m) : static_cast<unsigned __int128>(m);
    std::string digits;
    do {
        digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(u % 10)));
        u /= 10;
    } while (u != 0);
    return std::string(neg ? "-" : "") + digits + "e-" + std::to_string(s);
}

// An exact value m * 10^-s (s may exceed 18) in the smallest scale that holds it, or nothing
// when no Decimal can represent it.
struct Exact {
    i128 m;
    int s;
};
bool representable(Exact e, Decimal* out) {
    // Dropping trailing zeros is exact; it is the only way to lower the scale.
    while (e.s > 0 && e.m % 10 == 0 && (e.s > Decimal::kMaxScale || e.m > kMaxMantissa ||
                                        e.m < -kMaxMantissa)) {
        e.m /= 10;
        --e.s;
    }
    if (e.s > Decimal::kMaxScale || e.m > kMaxMantissa || e.m < -kMaxMantissa) return false;
    *out = Decimal(static_cast<int64_t>(e.m), e.s);
    return true;
}

i128 pow10(int n) {
    i128 r = 1;
    while (n-- > 0) r *= 10;
    return r;
}

// Same value: compare a and b at a common scale (both scales <= 18, so no overflow).
bool same_value(const Decimal& a, const Decimal& b) {
    int s = a.scale() > b.scale() ? a.scale() : b.scale();
    return static_cast<i128>(a.mantissa()) * pow10(s - a.scale()) ==
           static_cast<i128>(b.mantissa()) * pow10(s - b.scale());
}

// An arbitrary Decimal the way a plugin or a computation could produce one. INT64_MIN is left
// out: arithmetic never yields it (its negation has no int64), see abi_convert for the boundary.
Decimal any_decimal(FuzzedDataProvider& in) {
    int64_t m = in.ConsumeIntegral<int64_t>();
    if (m == INT64_MIN) m = -INT64_MAX;
    int32_t s = in.ConsumeIntegralInRange<int32_t>(0, Decimal::kMaxScale);
    return Decimal(m, s);
}

template <typename Op>
void check_op(const char* name, const Decimal& a, const Decimal& b, Exact exact, Op op) {
    Decimal want;
    bool fits = representable(exact, &want);
    try {
        Decimal got = op();
        FUZZ_CHECK(fits, std::string(name) + " of " + show(a) + " and " + show(b) +
                             " gave " + show(got) + " but the exact result " +
                             show(exact.m, exact.s) + " fits no Decimal");
        FUZZ_CHECK(same_value(got, want), std::string(name) + " of " + show(a) + " and " +
                                              show(b) + " gave " + show(got) + ", exact is " +
                                              show(exact.m, exact.s));
    } catch (const DecimalError& e) {
        FUZZ_CHECK(!fits, std::string(name) + " of " + show(a) + " and " + show(b) +
                              " threw '" + e.what() + "' but the exact result " + show(want) +
                              " fits");
    }
}

void check_text(std::string_view text) {
    for (int variant = 0; variant < 2; ++variant) {
        Decimal::ParseOptions o;
        o.allow_exponent = variant == 1;
        o.max_scale = Decimal::kMaxScale;
        Decimal d;
        std::string why;
        if (!Decimal::parse(text, &d, &why, o)) {
            FUZZ_CHECK(!why.empty(), "a refused parse names no reason");
            continue;
        }
        std::string printed = d.to_string();
        Decimal back;
        FUZZ_CHECK(Decimal::parse(printed, &back, &why, o),
                   "'" + printed + "' (printed from '" + std::string(text) + "') does not parse: " + why);
        FUZZ_CHECK(back.identical(d), "'" + std::string(text) + "' -> " + show(d) + " -> '" +
                                          printed + "' -> " + show(back));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // The whole input as text first: the parser is the edge clients reach.
    check_text(std::string_view(reinterpret_cast<const char*>(data), size));

    FuzzedDataProvider in(data, size);
    Decimal a = any_decimal(in);
    Decimal b = any_decimal(in);

    // Any value prints to text that parses back identically (19 digits: the full int64 range).
    for (const Decimal& d : {a, b}) {
        Decimal::ParseOptions o;
        o.max_digits = 19;
        o.max_scale = Decimal::kMaxScale;
        Decimal back;
        std::string why;
        FUZZ_CHECK(Decimal::parse(d.to_string(), &back, &why, o) && back.identical(d),
                   show(d) + " printed as '" + d.to_string() + "' does not parse back: " + why);
    }

    int s = a.scale() > b.scale() ? a.scale() : b.scale();
    i128 x = static_cast<i128>(a.mantissa()) * pow10(s - a.scale());
    i128 y = static_cast<i128>(b.mantissa()) * pow10(s - b.scale());
    check_op("sum", a, b, {x + y, s}, [&] { return a + b; });
    check_op("difference", a, b, {x - y, s}, [&] { return a - b; });
    check_op("product", a, b,
             {static_cast<i128>(a.mantissa()) * b.mantissa(), a.scale() + b.scale()},
             [&] { return a * b; });

    FUZZ_CHECK(compare(a, b) == (x < y ? -1 : (x > y ? 1 : 0)),
               "compare " + show(a) + " " + show(b));

    try {
        Decimal back = a + b - b;
        FUZZ_CHECK(back == a, show(a) + " + " + show(b) + " - b = " + show(back));
    } catch (const DecimalError&) {
    }

    if (!b.is_zero()) {
        int32_t max_scale = in.ConsumeIntegralInRange<int32_t>(0, Decimal::kMaxScale);
        try {
            bool inexact = false;
            Decimal q = Decimal::divide(a, b, max_scale, &inexact);
            FUZZ_CHECK(q.scale() <= max_scale, "quotient scale " + show(q));
            if (!inexact) {
                // q * b == a exactly, in 128 bits: q.m * b.m * 10^(a.s) == a.m * 10^(q.s + b.s).
                int l = a.scale(), r = q.scale() + b.scale();
                int common = l < r ? l : r;
                i128 lhs = static_cast<i128>(q.mantissa()) * b.mantissa();
                i128 rhs = a.mantissa();
                // Divide both exponents by 10^common: lhs * 10^(l-common) == rhs * 10^(r-common).
                l -= common;
                r -= common;
                bool equal;
                if (l == 0) {
                    // rhs * 10^r could exceed 128 bits only when it cannot equal lhs.
                    i128 p = pow10(r);
                    i128 limit = (~static_cast<unsigned __int128>(0) >> 1) / p;
                    equal = rhs <= limit && rhs >= -limit && rhs * p == lhs;
                } else {
                    i128 p = pow10(l);
                    i128 limit = (~static_cast<unsigned __int128>(0) >> 1) / p;
                    equal = lhs <= limit && lhs >= -limit && lhs * p == rhs;
                }
                FUZZ_CHECK(equal, "exact quotient " + show(a) + " / " + show(b) + " = " + show(q));
            }
        } catch (const DecimalError&) {
        }
    }
    return 0;
}
