// ordergate::positions — exact a * b / d for the position book (cost basis and average price).
//
// Decimal::divide(a * b, d) overflows as soon as the product needs more than 18 digits (a cost
// basis with 10 decimals times a crypto quantity with 8 does); this works on the 128-bit product
// instead, so it only fails when the quotient itself does not fit.
#pragma once

#include <cstdint>

#include "ordergate/decimal.hpp"

namespace ordergate::positions {

// a * b / d.
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
