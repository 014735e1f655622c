// ordergate::positions — exact arithmetic beyond Decimal's range, for the position book and the
// average fill price of an order.
//
// Decimal holds 18 decimals in an int64 mantissa, and its product of an 8-decimal quantity and a
// 4-decimal price already needs 12; the sums and products of many such values quickly need more
// than 18 digits. WideDecimal keeps intermediates exactly (an arbitrary-precision mantissa and any
// scale), so a valid fill can always be applied; a figure is rounded only when it is shown as a
// Decimal, by the one rule below, and the caller is told.
//
// The rounding rule (everywhere in this file): half-even ("banker's rounding") on the exact value,
// ONE rounding from the exact value to the scale shown, never a rounding of a rounded value.
#pragma once

#include <cstdint>

#include <boost/multiprecision/cpp_int.hpp>

#include "ordergate/decimal.hpp"

namespace ordergate::positions {

// A figure as a Decimal, with what it took to get there.
struct Shown {
    Decimal value;
    bool rounded = false;       // value differs from the exact figure (half-even)
    bool out_of_range = false;  // |exact| >= 2^63 even at scale 0: value is +-INT64_MAX, scale 0
};

// An exact decimal without a range limit: mantissa * 10^-scale, scale >= 0.
// Arithmetic is exact and cannot overflow (the mantissa grows as needed): + and - carry the larger
// scale, * the sum of the scales, as Decimal's do. Never throws except std::bad_alloc.
class WideDecimal {
public:
    using Int = boost::multiprecision::cpp_int;

    WideDecimal() = default;
    WideDecimal(const Decimal& d);  // NOLINT(google-explicit-constructor): exact, widening
    WideDecimal(Int mantissa, int32_t scale);

    const Int& mantissa() const { return m_; }
    int32_t scale() const { return scale_; }
    int sign() const { return m_.sign(); }
    bool is_zero() const { return m_.is_zero(); }
    bool is_positive() const { return m_.sign() > 0; }
    bool is_negative() const { return m_.sign() < 0; }
    WideDecimal abs() const { return m_.sign() < 0 ? -*this : *this; }

    WideDecimal operator-() const { return WideDecimal(-m_, scale_); }
    friend WideDecimal operator+(const WideDecimal& a, const WideDecimal& b);
    friend WideDecimal operator-(const WideDecimal& a, const WideDecimal& b);
    friend WideDecimal operator*(const WideDecimal& a, const WideDecimal& b);
    WideDecimal& operator+=(const WideDecimal& b) { return *this = *this + b; }
    WideDecimal& operator-=(const WideDecimal& b) { return *this = *this - b; }

    // By value: 1.10 == 1.1.
    friend int compare(const WideDecimal& a, const WideDecimal& b);
    friend bool operator==(const WideDecimal& a, const WideDecimal& b) { return compare(a, b) == 0; }
    friend bool operator!=(const WideDecimal& a, const WideDecimal& b) { return compare(a, b) != 0; }
    friend bool operator<(const WideDecimal& a, const WideDecimal& b) { return compare(a, b) < 0; }
    friend bool operator<=(const WideDecimal& a, const WideDecimal& b) { return compare(a, b) <= 0; }
    friend bool operator>(const WideDecimal& a, const WideDecimal& b) { return compare(a, b) > 0; }
    friend bool operator>=(const WideDecimal& a, const WideDecimal& b) { return compare(a, b) >= 0; }

    // This value as a Decimal.
    //  - Exact whenever a Decimal holds it: the same value and scale Decimal arithmetic would give
    //    (trailing zeros beyond 18 decimals are dropped, as Decimal's own products do).
    //  - Otherwise rounded half-even at the largest scale <= min(scale, 18) whose mantissa fits an
    //    int64 (rounded = true).
    //  - |value| >= 2^63 - 0.5: out_of_range, value is +-INT64_MAX at scale 0.
    Shown to_decimal() const;

    // a / d as a Decimal. The result starts at scale clamp(start_scale, 0, max_scale) and carries
    // the smallest scale from there up to max_scale that holds the quotient exactly; a quotient
    // that does not terminate there is rounded half-even at max_scale. When the mantissa would not
    // fit an int64 at that scale, the largest smaller scale that fits is used (rounded half-even
    // there; below start_scale if need be). out_of_range as for to_decimal().
    // Throws DecimalError when d == 0 or max_scale is outside [0, Decimal::kMaxScale].
    static Shown quotient(const WideDecimal& a, const WideDecimal& d, int32_t start_scale,
                          int32_t max_scale);

    // a * b / d rounded half-even at exactly `scale` (a WideDecimal of that scale); *inexact
    // (when given) says whether it was rounded. Throws DecimalError when d == 0 or scale < 0.
    static WideDecimal mul_div_at(const WideDecimal& a, const WideDecimal& b, const WideDecimal& d,
                                  int32_t scale, bool* inexact = nullptr);

private:
    Int m_ = 0;
    int32_t scale_ = 0;
};

// a * b / d as a Decimal (the position book's former primitive, kept for its callers).
//  - Scale: the natural scale of the quotient is s0 = a.scale + b.scale - d.scale. The result
//    starts at clamp(s0, 0, max_scale) and carries the smallest scale from there up to max_scale
//    that holds the quotient exactly, but never more decimals than an int64 mantissa can hold at
//    the quotient's magnitude.
//  - Exact when the quotient terminates within that scale; otherwise rounded half-even at the last
//    scale and *inexact (when given) is set to true (it is set to false otherwise).
//  - Throws DecimalError when d == 0, max_scale is outside [0, Decimal::kMaxScale], or the quotient
//    does not fit an int64 mantissa even at the starting scale.
Decimal mul_div(const Decimal& a, const Decimal& b, const Decimal& d, int32_t max_scale,
                bool* inexact = nullptr);

}  // namespace ordergate::positions
