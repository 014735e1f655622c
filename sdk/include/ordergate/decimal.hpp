// ordergate::Decimal — the one exact decimal type for every price, quantity, amount and P&L.
//
// value = mantissa * 10^-scale, with a signed 64-bit mantissa and 0 <= scale <= kMaxScale.
// It is the C++ face of og_decimal: conversion to and from the ABI is a copy of two integers.
//
// Contract:
//  - Parsing reads decimal text ("1500.50", "-3", "1.5e3" when exponents are allowed); it never
//    goes through binary floating point. A value keeps the scale it was written with ("1.10").
//  - Printing is plain notation with exactly `scale` decimals ("1500.50", "-0.001", "1500").
//  - Arithmetic is exact. +, -, * widen to 128 bits and throw DecimalError when the result does
//    not fit (never wrap, never round). Division is the one operation that can be inexact; it
//    rounds half-even to an explicit scale and says whether it did.
//  - Comparison is by value: 1.10 == 1.1.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "ordergate/plugin_abi.h"

namespace ordergate {

class DecimalError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Decimal {
public:
    static constexpr int32_t kMaxScale = 18;
    static constexpr int kMaxDigits = 18;  // significant digits a parsed value may carry

    constexpr Decimal() = default;
    // Throws DecimalError when scale is outside [0, kMaxScale].
    constexpr Decimal(int64_t mantissa, int32_t scale) : mantissa_(mantissa), scale_(scale) {
        if (scale < 0 || scale > kMaxScale) throw DecimalError("decimal scale out of range");
    }
    static constexpr Decimal from_int(int64_t v) { return Decimal(v, 0); }
    static Decimal from_abi(og_decimal d) { return Decimal(d.mantissa, d.scale); }
    og_decimal to_abi() const { return og_decimal{mantissa_, scale_}; }

    int64_t mantissa() const { return mantissa_; }
    int32_t scale() const { return scale_; }

    // Options for parse(). The defaults are the REST contract's: at most 18 significant digits
    // and 9 decimal places, no exponent (a JSON number's text sets allow_exponent).
    struct ParseOptions {
        int max_digits = kMaxDigits;
        int32_t max_scale = 9;
        bool allow_exponent = false;
        bool allow_sign = true;
    };
    // Parses `text` entirely. On failure returns false and sets *why (when given) to a short
    // client-facing reason ("more than 18 significant digits").
    // (The options are a separate overload, not a default argument: a default argument cannot
    // construct a nested class with member initializers inside the enclosing class.)
    static bool parse(std::string_view text, Decimal* out, std::string* why,
                      const ParseOptions& opts);
    static bool parse(std::string_view text, Decimal* out, std::string* why = nullptr) {
        return parse(text, out, why, ParseOptions());
    }
    static bool parse(std::string_view text, Decimal* out, std::string* why, int32_t max_scale) {
        ParseOptions o;
        o.max_scale = max_scale;
        return parse(text, out, why, o);
    }
    // Parses or throws DecimalError (for configuration and tests).
    static Decimal must_parse(std::string_view text);

    std::string to_string() const;

    bool is_zero() const { return mantissa_ == 0; }
    bool is_negative() const { return mantissa_ < 0; }
    bool is_positive() const { return mantissa_ > 0; }
    int sign() const { return mantissa_ > 0 ? 1 : (mantissa_ < 0 ? -1 : 0); }

    Decimal operator-() const;
    Decimal abs() const { return mantissa_ < 0 ? -*this : *this; }
    friend Decimal operator+(const Decimal& a, const Decimal& b);
    friend Decimal operator-(const Decimal& a, const Decimal& b);
    // Exact product; scale is the sum of scales, reduced by trailing zeros only when it would
    // exceed kMaxScale or the mantissa would not fit. Throws DecimalError when it cannot be
    // represented. (+ and - reduce their scale, the larger of the two, the same way.)
    friend Decimal operator*(const Decimal& a, const Decimal& b);
    Decimal& operator+=(const Decimal& b) { return *this = *this + b; }
    Decimal& operator-=(const Decimal& b) { return *this = *this - b; }

    // a / b: exact when the quotient terminates within `max_scale` decimals (the result then
    // carries the smallest scale >= min(a.scale, max_scale) that holds it exactly); otherwise
    // rounded half-even at max_scale and *inexact (when given) is set. Throws on b == 0 or overflow.
    static Decimal divide(const Decimal& a, const Decimal& b, int32_t max_scale,
                          bool* inexact = nullptr);

    // The same value at a larger scale (1.5 -> 1.500). Throws if it overflows or scale shrinks
    // below what the value needs.
    Decimal rescaled(int32_t scale) const;
    // The same value without trailing fractional zeros (1.500 -> 1.5).
    Decimal normalized() const;

    friend int compare(const Decimal& a, const Decimal& b);
    friend bool operator==(const Decimal& a, const Decimal& b) { return compare(a, b) == 0; }
    friend bool operator!=(const Decimal& a, const Decimal& b) { return compare(a, b) != 0; }
    friend bool operator<(const Decimal& a, const Decimal& b) { return compare(a, b) < 0; }
    friend bool operator<=(const Decimal& a, const Decimal& b) { return compare(a, b) <= 0; }
    friend bool operator>(const Decimal& a, const Decimal& b) { return compare(a, b) > 0; }
    friend bool operator>=(const Decimal& a, const Decimal& b) { return compare(a, b) >= 0; }
    // Same value and same scale ("1.10" vs "1.1" differ here).
    bool identical(const Decimal& o) const { return mantissa_ == o.mantissa_ && scale_ == o.scale_; }

private:
    using i128 = __int128;
    // Reduces the scale if needed (dropping trailing zeros only), throws on overflow.
    static Decimal from_i128(i128 m, int32_t scale);
    static i128 pow10(int n);

    int64_t mantissa_ = 0;
    int32_t scale_ = 0;
};

// ---- implementation (header-only so plugins built by any toolchain share it) ------------------

inline Decimal::i128 Decimal::pow10(int n) {
    i128 r = 1;
    for (int i = 0; i < n; ++i) r *= 10;
    return r;
}

inline Decimal Decimal::from_i128(i128 m, int32_t scale) {
    // Dropping trailing zeros keeps the value exact: a result that fits in some scale is never an
    // overflow (100000.00000000 x 100000.00000000 is 1e26 at scale 16, and 1e10 at scale 0).
    auto too_wide = [](i128 v) { return v > INT64_MAX || v < -static_cast<i128>(INT64_MAX); };
    while ((scale > kMaxScale || too_wide(m)) && scale > 0 && m % 10 == 0) {
        m /= 10;
        --scale;
    }
    if (scale > kMaxScale) throw DecimalError("decimal result needs more than 18 decimal places");
    if (too_wide(m)) throw DecimalError("decimal overflow");
    return Decimal(static_cast<int64_t>(m), scale);
}

inline bool Decimal::parse(std::string_view s, Decimal* out, std::string* why,
                           const ParseOptions& opts) {
    auto fail = [&](const char* reason) {
        if (why) *why = reason;
        return false;
    };
    if (s.empty()) return fail("must be a decimal number");
    size_t i = 0;
    bool neg = false;
    if (s[i] == '-' || s[i] == '+') {
        if (!opts.allow_sign || s[i] == '+') return fail("must be a plain decimal number");
        neg = true;
        ++i;
    }
    // integer part
    size_t int_begin = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    size_t int_end = i;
    size_t frac_begin = i, frac_end = i;
    if (i < s.size() && s[i] == '.') {
        ++i;
        frac_begin = i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
        frac_end = i;
        if (frac_end == frac_begin) return fail("must be a decimal number");
    }
    if (int_end == int_begin) return fail("must be a decimal number");
    long long exponent = 0;
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        if (!opts.allow_exponent) return fail("must be plain decimal text (no exponent)");
        ++i;
        bool eneg = false;
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
            eneg = s[i] == '-';
            ++i;
        }
        size_t eb = i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            if (exponent < 100000) exponent = exponent * 10 + (s[i] - '0');
            ++i;
        }
        if (i == eb) return fail("must be a decimal number");
        if (eneg) exponent = -exponent;
    }
    if (i != s.size()) return fail("must be a decimal number");

    // Digits as written, leading zeros dropped.
    i128 m = 0;
    int digits = 0;
    bool seen_nonzero = false;
    auto take = [&](char c) {
        if (!seen_nonzero && c == '0') return;
        seen_nonzero = true;
        ++digits;
        if (digits <= 38) m = m * 10 + (c - '0');
    };
    for (size_t k = int_begin; k < int_end; ++k) take(s[k]);
    for (size_t k = frac_begin; k < frac_end; ++k) take(s[k]);
    if (digits > opts.max_digits) return fail("has more than 18 significant digits");
    long long scale = static_cast<long long>(frac_end - frac_begin) - exponent;
    if (scale < 0) {
        // 1.5e3: shift the mantissa up; the digits it gains count. Zero stays zero (0e400).
        if (m != 0) {
            if (digits - scale > opts.max_digits || -scale > 38) return fail("is out of range");
            m *= pow10(static_cast<int>(-scale));
        }
        scale = 0;
    }
    if (scale > opts.max_scale || scale > kMaxScale) {
        if (m == 0 && scale > 1000) return fail("has too many decimal places");
        // an exponent may have produced trailing zeros only ("1.50e1" -> 15.0): keep them as
        // written; the limit is on the scale the value carries.
        return fail("has too many decimal places");
    }
    if (m > INT64_MAX) return fail("is out of range");
    *out = Decimal(static_cast<int64_t>(neg ? -m : m), static_cast<int32_t>(scale));
    return true;
}

inline Decimal Decimal::must_parse(std::string_view text) {
    Decimal d;
    std::string why;
    ParseOptions o;
    o.max_scale = kMaxScale;
    if (!parse(text, &d, &why, o))
        throw DecimalError("invalid decimal '" + std::string(text) + "': " + why);
    return d;
}

inline std::string Decimal::to_string() const {
    // |INT64_MIN| is not representable as int64; go through unsigned.
    uint64_t mag = mantissa_ < 0 ? (~static_cast<uint64_t>(mantissa_) + 1)
                                 : static_cast<uint64_t>(mantissa_);
    char buf[48];
    int n = 0;
    do {
        buf[n++] = static_cast<char>('0' + mag % 10);
        mag /= 10;
    } while (mag != 0);
    while (n <= scale_) buf[n++] = '0';  // at least one integer digit
    std::string out;
    out.reserve(static_cast<size_t>(n) + 2);
    if (mantissa_ < 0) out.push_back('-');
    for (int k = n - 1; k >= 0; --k) {
        out.push_back(buf[k]);
        if (k == scale_ && k != 0) out.push_back('.');
    }
    return out;
}

inline Decimal Decimal::operator-() const {
    if (mantissa_ == INT64_MIN) throw DecimalError("decimal overflow");
    return Decimal(-mantissa_, scale_);
}

inline Decimal operator+(const Decimal& a, const Decimal& b) {
    int32_t s = a.scale_ > b.scale_ ? a.scale_ : b.scale_;
    Decimal::i128 x = static_cast<Decimal::i128>(a.mantissa_) * Decimal::pow10(s - a.scale_);
    Decimal::i128 y = static_cast<Decimal::i128>(b.mantissa_) * Decimal::pow10(s - b.scale_);
    return Decimal::from_i128(x + y, s);
}

inline Decimal operator-(const Decimal& a, const Decimal& b) {
    int32_t s = a.scale_ > b.scale_ ? a.scale_ : b.scale_;
    Decimal::i128 x = static_cast<Decimal::i128>(a.mantissa_) * Decimal::pow10(s - a.scale_);
    Decimal::i128 y = static_cast<Decimal::i128>(b.mantissa_) * Decimal::pow10(s - b.scale_);
    return Decimal::from_i128(x - y, s);
}

inline Decimal operator*(const Decimal& a, const Decimal& b) {
    Decimal::i128 m = static_cast<Decimal::i128>(a.mantissa_) * b.mantissa_;
    return Decimal::from_i128(m, a.scale_ + b.scale_);
}

inline int compare(const Decimal& a, const Decimal& b) {
    int32_t s = a.scale_ > b.scale_ ? a.scale_ : b.scale_;
    Decimal::i128 x = static_cast<Decimal::i128>(a.mantissa_) * Decimal::pow10(s - a.scale_);
    Decimal::i128 y = static_cast<Decimal::i128>(b.mantissa_) * Decimal::pow10(s - b.scale_);
    return x < y ? -1 : (x > y ? 1 : 0);
}

inline Decimal Decimal::divide(const Decimal& a, const Decimal& b, int32_t max_scale,
                               bool* inexact) {
    if (b.mantissa_ == 0) throw DecimalError("division by zero");
    if (max_scale < 0 || max_scale > kMaxScale) throw DecimalError("decimal scale out of range");
    if (inexact) *inexact = false;
    // q = (a.m * 10^-as) / (b.m * 10^-bs) = (a.m * 10^(bs + S - as) / b.m) * 10^-S
    int32_t start = a.scale_ < max_scale ? a.scale_ : max_scale;
    for (int32_t S = start; S <= max_scale; ++S) {
        int shift = b.scale_ + S - a.scale_;
        i128 num = static_cast<i128>(a.mantissa_);
        i128 den = static_cast<i128>(b.mantissa_);
        if (shift >= 0) {
            // |num| * 10^shift past the 128-bit range means a quotient above INT64_MAX (|den| is
            // at most 2^63): an overflow at this scale and every larger one.
            i128 p = pow10(shift);
            i128 limit = (~static_cast<unsigned __int128>(0) >> 1) / p;
            if (num > limit || num < -limit) throw DecimalError("decimal overflow");
            num *= p;
        } else {
            den *= pow10(-shift);
        }
        if (num % den == 0) return from_i128(num / den, S);
        if (S == max_scale) {
            i128 q = num / den, r = num % den;
            // half-even on the remainder
            i128 twice = (r < 0 ? -r : r) * 2;
            i128 dabs = den < 0 ? -den : den;
            bool neg = (num < 0) != (den < 0);
            if (twice > dabs || (twice == dabs && (q % 2 != 0))) q += neg ? -1 : 1;
            if (inexact) *inexact = true;
            return from_i128(q, S);
        }
    }
    throw DecimalError("unreachable division state");
}

inline Decimal Decimal::rescaled(int32_t scale) const {
    if (scale < 0 || scale > kMaxScale) throw DecimalError("decimal scale out of range");
    if (scale >= scale_) {
        // Not from_i128: that would give back a smaller scale than asked for.
        i128 m = static_cast<i128>(mantissa_) * pow10(scale - scale_);
        if (m > INT64_MAX || m < -static_cast<i128>(INT64_MAX)) throw DecimalError("decimal overflow");
        return Decimal(static_cast<int64_t>(m), scale);
    }
    i128 d = pow10(scale_ - scale);
    if (mantissa_ % d != 0) throw DecimalError("rescaling would lose digits");
    return Decimal(static_cast<int64_t>(mantissa_ / d), scale);
}

inline Decimal Decimal::normalized() const {
    int64_t m = mantissa_;
    int32_t s = scale_;
    while (s > 0 && m % 10 == 0) {
        m /= 10;
        --s;
    }
    return Decimal(m, s);
}

}  // namespace ordergate
