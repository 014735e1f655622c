#include "positions/exact_math.hpp"

#include <algorithm>
#include <optional>
#include <vector>

namespace ordergate::positions {

namespace {

using Int = WideDecimal::Int;

// 10^n; the common exponents come from a table built once (this is on every fill's path).
Int pow10(int32_t n) {
    static constexpr int32_t kTable = 80;
    static const std::vector<Int> table = [] {
        std::vector<Int> t(kTable);
        t[0] = 1;
        for (int32_t i = 1; i < kTable; ++i) t[i] = t[i - 1] * 10;
        return t;
    }();
    if (n < kTable) return table[static_cast<size_t>(n)];
    Int r = table[kTable - 1];
    for (int32_t i = kTable - 1; i < n; ++i) r *= 10;
    return r;
}

// num / den rounded half-even (den != 0); *inexact when a remainder was left.
Int div_half_even(const Int& num, const Int& den, bool* inexact) {
    Int q = num / den;  // truncates toward zero
    Int r = num % den;  // sign of num
    *inexact = !r.is_zero();
    if (r.is_zero()) return q;
    const Int twice = abs(r) * 2;
    const Int dabs = abs(den);
    const bool negative = (num.sign() < 0) != (den.sign() < 0);
    if (twice > dabs || (twice == dabs && (q & 1) != 0)) q += negative ? -1 : 1;
    return q;
}

bool fits_int64(const Int& m) {
    static const Int kMax = INT64_MAX;
    return abs(m) <= kMax;
}

Shown saturated(int sign) {
    return Shown{Decimal(sign < 0 ? -INT64_MAX : INT64_MAX, 0), true, true};
}

// a / d at exactly scale s, rounded half-even.
Int divide_at(const WideDecimal& a, const WideDecimal& d, int32_t s, bool* inexact) {
    // (a.m 10^-as) / (d.m 10^-ds) = a.m 10^(ds + s - as) / d.m  * 10^-s
    const int32_t shift = d.scale() + s - a.scale();
    if (shift >= 0) return div_half_even(a.mantissa() * pow10(shift), d.mantissa(), inexact);
    return div_half_even(a.mantissa(), d.mantissa() * pow10(-shift), inexact);
}

// quotient() in native arithmetic, for the case on every fill's path: both mantissas fit an
// int64 and the scales differ by at most 18 digits, so the scaled dividend (or divisor) fits an
// __int128 and one machine division replaces cpp_int's. The same rule and the same answers as the
// general path below it (tests compare the two); nullopt when the case does not apply or the
// quotient does not fit an int64 at max_scale (the general path then tries smaller scales).
std::optional<Shown> native_quotient(const WideDecimal& a, const WideDecimal& d, int32_t start,
                                     int32_t max_scale) {
    if (!fits_int64(a.mantissa()) || !fits_int64(d.mantissa())) return std::nullopt;
    const int32_t shift = d.scale() + max_scale - a.scale();
    if (shift > 18 || shift < -18) return std::nullopt;
    static constexpr int64_t kPow10[19] = {1,
                                           10,
                                           100,
                                           1000,
                                           10000,
                                           100000,
                                           1000000,
                                           10000000,
                                           100000000,
                                           1000000000,
                                           10000000000,
                                           100000000000,
                                           1000000000000,
                                           10000000000000,
                                           100000000000000,
                                           1000000000000000,
                                           10000000000000000,
                                           100000000000000000,
                                           1000000000000000000};
    __int128 num = static_cast<int64_t>(a.mantissa());
    __int128 den = static_cast<int64_t>(d.mantissa());
    if (shift >= 0) num *= kPow10[shift];
    else den *= kPow10[-shift];
    __int128 q = num / den;  // truncates toward zero
    const __int128 r = num % den;
    const bool inexact = r != 0;
    if (inexact) {
        const __int128 twice = (r < 0 ? -r : r) * 2;
        const __int128 dabs = den < 0 ? -den : den;
        const bool negative = (num < 0) != (den < 0);
        if (twice > dabs || (twice == dabs && (q & 1) != 0)) q += negative ? -1 : 1;
    }
    if (q > INT64_MAX || q < -INT64_MAX) return std::nullopt;
    int64_t m = static_cast<int64_t>(q);
    int32_t s = max_scale;
    while (!inexact && s > start && m % 10 == 0) {
        m /= 10;
        --s;
    }
    return Shown{Decimal(m, s), inexact};
}

}  // namespace

WideDecimal::WideDecimal(const Decimal& d) : m_(d.mantissa()), scale_(d.scale()) {}

WideDecimal::WideDecimal(Int mantissa, int32_t scale) : m_(std::move(mantissa)), scale_(scale) {
    if (scale < 0) throw DecimalError("decimal scale out of range");
}

WideDecimal operator+(const WideDecimal& a, const WideDecimal& b) {
    const int32_t s = std::max(a.scale_, b.scale_);
    return WideDecimal(a.m_ * pow10(s - a.scale_) + b.m_ * pow10(s - b.scale_), s);
}

WideDecimal operator-(const WideDecimal& a, const WideDecimal& b) {
    const int32_t s = std::max(a.scale_, b.scale_);
    return WideDecimal(a.m_ * pow10(s - a.scale_) - b.m_ * pow10(s - b.scale_), s);
}

WideDecimal operator*(const WideDecimal& a, const WideDecimal& b) {
    return WideDecimal(a.m_ * b.m_, a.scale_ + b.scale_);
}

int compare(const WideDecimal& a, const WideDecimal& b) {
    const int32_t s = std::max(a.scale_, b.scale_);
    const Int x = a.m_ * pow10(s - a.scale_);
    const Int y = b.m_ * pow10(s - b.scale_);
    return x < y ? -1 : (x > y ? 1 : 0);
}

Shown WideDecimal::to_decimal() const {
    Int m = m_;
    int32_t s = scale_;
    while (s > Decimal::kMaxScale && !m.is_zero() && m % 10 == 0) {
        m /= 10;
        --s;
    }
    if (m.is_zero()) return Shown{Decimal(0, std::min(s, Decimal::kMaxScale)), s > Decimal::kMaxScale};
    for (int32_t t = std::min(s, Decimal::kMaxScale); t >= 0; --t) {
        bool inexact = false;
        const Int q = t == s ? m : div_half_even(m, pow10(s - t), &inexact);
        if (fits_int64(q)) return Shown{Decimal(static_cast<int64_t>(q), t), inexact};
    }
    return saturated(m.sign());
}

Shown WideDecimal::quotient(const WideDecimal& a, const WideDecimal& d, int32_t start_scale,
                            int32_t max_scale) {
    if (d.is_zero()) throw DecimalError("division by zero");
    if (max_scale < 0 || max_scale > Decimal::kMaxScale)
        throw DecimalError("decimal scale out of range");
    const int32_t start = std::clamp(start_scale, 0, max_scale);
    // An exact quotient loses its trailing zeros down to start (the smallest scale from start
    // that holds it); an inexact one stays rounded where it is.
    auto shown = [start](Int q, int32_t s, bool inexact) {
        while (!inexact && s > start && q % 10 == 0) {
            q /= 10;
            --s;
        }
        return Shown{Decimal(static_cast<int64_t>(q), s), inexact};
    };
    if (std::optional<Shown> r = native_quotient(a, d, start, max_scale)) return *r;
    // One division at max_scale covers both the exact and the rounded case.
    bool inexact = false;
    Int q = divide_at(a, d, max_scale, &inexact);
    if (fits_int64(q)) return shown(std::move(q), max_scale, inexact);
    // Too large at max_scale: the largest smaller scale that fits, rounded once from the exact
    // value (below start if need be).
    for (int32_t t = max_scale - 1; t >= 0; --t) {
        q = divide_at(a, d, t, &inexact);
        if (fits_int64(q)) return shown(std::move(q), t, inexact);
    }
    return saturated(a.sign() * d.sign());
}

WideDecimal WideDecimal::mul_div_at(const WideDecimal& a, const WideDecimal& b,
                                    const WideDecimal& d, int32_t scale, bool* inexact) {
    if (d.is_zero()) throw DecimalError("division by zero");
    if (scale < 0) throw DecimalError("decimal scale out of range");
    bool rounded = false;
    Int q = divide_at(a * b, d, scale, &rounded);
    if (inexact) *inexact = rounded;
    return WideDecimal(std::move(q), scale);
}

Decimal mul_div(const Decimal& a, const Decimal& b, const Decimal& d, int32_t max_scale,
                bool* inexact) {
    if (inexact) *inexact = false;
    if (d.is_zero()) throw DecimalError("division by zero");
    if (max_scale < 0 || max_scale > Decimal::kMaxScale)
        throw DecimalError("decimal scale out of range");
    const int32_t s0 = a.scale() + b.scale() - d.scale();
    const int32_t start = std::clamp(s0, 0, max_scale);
    const Shown r = WideDecimal::quotient(WideDecimal(a) * WideDecimal(b), WideDecimal(d), s0,
                                          max_scale);
    if (r.out_of_range || r.value.scale() < start) throw DecimalError("decimal overflow");
    if (inexact) *inexact = r.rounded;
    return r.value;
}

}  // namespace ordergate::positions
