// ordergate::orders — an order's cumulative fill notional, kept exactly, and the average fill
// price derived from it.
//
// Contract:
//  - The notional of an order is the sum of price * quantity over the fills applied to it, kept
//    exactly (positions::WideDecimal: no digit or range limit). Adding a fill never fails for
//    arithmetic, whatever the scales (8-decimal quantities at 4-decimal prices, thousands of
//    them).
//  - The average fill price shown on the order (OrderRecord::average_fill_price) is
//    notional / filled_quantity rounded ONCE from the exact values (never a rounding of an earlier
//    rounded average), by this one rule, with max_scale = ServiceOptions::average_price_scale
//    (default 9):
//      * exact when it terminates within max_scale decimals, at the smallest scale from the
//        quotient's natural one (the notional's scale - the filled quantity's, within
//        [0, max_scale]) up that holds it: 500.40 / 5 = 100.08, 1000.15 / 10 = 100.015,
//        (0.06172839 * 1500.25 + 0.06172839 * 1500.30) / 0.12345678 = 1500.275 (the same rule
//        as the position book's average price);
//      * otherwise rounded half-even at max_scale: 300.02 / 3 = 100.006666667;
//      * with fewer decimals only when an int64 mantissa cannot hold max_scale at its magnitude
//        (an average above ~9.2e9 at 9 decimals), rounded half-even there.
//    An average of valid fills is always representable (it lies between the lowest and the
//    highest fill price); AverageFillPrice::out_of_range is the caller's cue to be loud if a
//    broker ever sends something that breaks that (then the average shown is +-INT64_MAX).
//  - After a restart the notional is not in memory: rebuild_notional() derives it from the
//    order's stored fills (storage list_fills by order_id), exact whenever those fills add up to
//    the order's filled quantity (fills and the order row are written in one batch). When they do
//    not (an overfill or a fill after an illegal transition was stored but not applied to the
//    order, or storage cannot be read), it falls back to average * filled, which is exact when the
//    stored average was, and otherwise off by less than filled * half a unit of its last decimal;
//    the fallback is logged (event=fill_notional_estimated).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "ordergate/decimal.hpp"
#include "ordergate/types.hpp"
#include "ports/ports.hpp"
#include "positions/exact_math.hpp"
#include "positions/position_book.hpp"

namespace ordergate::orders {

using AverageFillPrice = positions::Shown;

class FillNotional {
public:
    FillNotional() = default;  // an order without fills

    // Adds one fill's price * quantity, exactly.
    void add(const Decimal& quantity, const Decimal& price);

    // notional / filled by the rule above. filled must be > 0 (DecimalError otherwise).
    AverageFillPrice average(const Decimal& filled, int32_t max_scale) const;

    const positions::WideDecimal& value() const { return value_; }
    // The quantity of the fills added. An order whose filled quantity differs (its record was
    // replaced from storage meanwhile) needs its notional rebuilt.
    bool covers(const Decimal& filled) const { return quantity_ == positions::WideDecimal(filled); }
    // False when rebuilt from a stored average rather than from the fills themselves.
    bool from_fills() const { return from_fills_; }

    // average * filled (exact product): the estimate used when the fills are not at hand.
    static FillNotional from_average(const Decimal& average, const Decimal& filled);

private:
    positions::WideDecimal value_;
    positions::WideDecimal quantity_;
    bool from_fills_ = true;
};

// Calls `each` with every effective fill of `order` (its stored trades, busts and corrections
// applied: positions/effective_fills.hpp), in storage order (list_fills by order_id). Throws
// sdk::Error when storage fails.
void for_each_stored_fill(ports::StoragePort& storage, const OrderRecord& order,
                          const std::function<void(const FillRecord&)>& each);

// Every stored record of `order` as stored: trades, busts and corrections. Throws sdk::Error.
void for_each_stored_record(ports::StoragePort& storage, const OrderRecord& order,
                            const std::function<void(const FillRecord&)>& each);

// Every stored record (trades, busts, corrections) of one position key, in storage order
// (list_fills by account, filtered). Throws sdk::Error when storage fails.
std::vector<FillRecord> stored_fills_of_position(ports::StoragePort& storage,
                                                 const positions::PositionKey& key);

// The notional of `order`'s fills (see the contract above). Reads storage only when the order has
// a filled quantity; never throws for a storage failure (it falls back and logs).
FillNotional rebuild_notional(ports::StoragePort& storage, const OrderRecord& order);

}  // namespace ordergate::orders
