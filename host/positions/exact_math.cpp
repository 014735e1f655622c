#include "positions/exact_math.hpp"

namespace ordergate::positions {

namespace {

using i128 = __int128;

i128 pow10_128(int n) {
    i128 r = 1;
    for (int i = 0; i < n; ++i) r *= 10;
    return r;
}

i128 abs128(i128 v) { return v < 0 ? -v : v; }

constexpr i128 kMaxMantissa = INT64_MAX;

// Rounds q (with remainder r of divisor den, all magnitudes) half-even.
i128 round_half_even(i128 q, i128 r, i128 den) {
    i128 twice = r * 2;
    if (twice > den || (twice == den && q % 2 != 0)) return q + 1;
    return q;
}

}  // namespace

Decimal mul_div(const Decimal& a, const Decimal& b, const Decimal& d, int32_t max_scale,
                bool* inexact) {
    if (inexact) *inexact = false;
    if (d.is_zero()) throw DecimalError("division by zero");
    if (max_scale < 0 || max_scale > Decimal::kMaxScale)
        throw DecimalError("decimal scale out of range");

    // |a.m|, |b.m| <= 2^63, so the product's magnitude <= 2^126 fits.
    i128 num = static_cast<i128>(a.mantissa()) * static_cast<i128>(b.mantissa());
    i128 den = static_cast<i128>(d.mantissa());
    const bool negative = (num < 0) != (den < 0) && num != 0;
    num = abs128(num);
    den = abs128(den);

    const int32_t s0 = a.scale() + b.scale() - d.scale();
    int32_t scale = s0 < 0 ? 0 : (s0 > max_scale ? max_scale : s0);
    bool rounded = false;
    i128 q;

    if (s0 > scale) {
        // More natural decimals than allowed: quotient at s0, then drop s0 - scale digits.
        i128 q0 = num / den, r0 = num % den;
        i128 p = pow10_128(s0 - scale);  // s0 - scale <= 36
        q = q0 / p;
        i128 rem = q0 % p;
        rounded = rem != 0 || r0 != 0;
        i128 twice = rem * 2;
        if (twice > p || (twice == p && (r0 != 0 || q % 2 != 0))) q += 1;
        if (q > kMaxMantissa) throw DecimalError("decimal overflow");
    } else {
        // Long division: the integer quotient at s0, then one digit per scale step. The digits up
        // to `scale` are required; further ones (to max_scale) only while a remainder is left.
        q = num / den;
        i128 r = num % den;
        if (q > kMaxMantissa) throw DecimalError("decimal overflow");
        for (int32_t s = s0; s < scale; ++s) {
            r *= 10;
            q = q * 10 + r / den;
            r %= den;
            if (q > kMaxMantissa) throw DecimalError("decimal overflow");
        }
        while (r != 0 && scale < max_scale) {
            i128 r10 = r * 10;
            i128 next = q * 10 + r10 / den;
            if (next > kMaxMantissa) break;  // no room for another digit at this magnitude
            q = next;
            r = r10 % den;
            ++scale;
        }
        if (r != 0) {
            rounded = true;
            q = round_half_even(q, r, den);
            if (q > kMaxMantissa) throw DecimalError("decimal overflow");
        }
    }
    if (inexact) *inexact = rounded;
    int64_t m = static_cast<int64_t>(q);
    return Decimal(negative ? -m : m, scale);
}

}  // namespace ordergate::positions
