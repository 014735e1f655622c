// ordergate::positions — net positions and P&L from fills, exactly.
//
// A position is kept per (account, broker instance, symbol, exchange). Fills are applied in the
// order the caller hands them over (the order service de-duplicates them by broker trade id
// first: applying a fill twice counts it twice).
//
// Accounting (average cost):
//  - quantity is signed: long > 0, short < 0.
//  - The open position has an exact cost basis: the sum of quantity * price of the fills that
//    opened it, less what closing fills took out. average_price = cost basis / |quantity|.
//  - A fill in the direction of the position (or from flat) adds quantity * price to the cost
//    basis. A fill against it closes min(fill, |position|): realized P&L gets
//    (fill price - average cost) * closed for a long, (average cost - fill price) * closed for a
//    short, where the cost taken out is cost basis * closed / |quantity| (the whole cost basis
//    when the position closes). What is left of the fill opens a position the other way at the
//    fill price ("flip through zero").
//  - Fees: realized_pnl is NET of fees. Every fill's fee (opening fills too) is subtracted from
//    realized_pnl when the fill is applied; `fees` shows their total, so the gross figure is
//    realized_pnl + fees. A negative fee (a rebate) adds. average_price never includes fees.
//  - unrealized_pnl = last_price * quantity - signed cost basis, which is
//    (last_price - average_price) * quantity whenever average_price is exact; absent until a last
//    price is known for the (symbol, exchange).
//
// Exactness (never silently rounded; see positions/exact_math.hpp for the rounding rule):
//  - The book keeps quantity, cost basis, realized P&L and fees exactly in WideDecimal (no range
//    limit), so applying a valid fill never fails for arithmetic: products and sums that need
//    more than 18 digits (an 8-decimal quantity times a 9-decimal price, a 10^10 x 10^9 notional)
//    are held as they are. Only the figures shown (PositionView, Decimal) are rounded, each once
//    from its exact value, half-even, at the largest scale <= 18 whose mantissa fits an int64,
//    and each rounded figure has its flag (quantity_rounded, realized_pnl_rounded,
//    unrealized_pnl_rounded, fees_rounded). A figure whose magnitude is 2^63 or more cannot be
//    shown at all: it is shown as +-INT64_MAX, out_of_range is set and out_of_range_fills()
//    counts the fill that caused it (the exact figure is kept; it shows again once back in range).
//  - average_price is exact when the quotient terminates within (the largest price scale of the
//    fills that built the open position + 9) decimals, capped at 18 and at what an int64 mantissa
//    holds at its magnitude. Otherwise it is rounded half-even, `average_price_rounded` is true
//    and rounded_divisions() counts it. It changes only when the position grows or opens (a
//    partial close leaves it as it was).
//  - The cost taken out by a partial close, cost basis * closed / |quantity|, is exact when it
//    terminates within the cost basis's own scale (the largest quantity scale + price scale of its
//    fills: cents times whole shares gives cents, and 4002.00 * 15 / 40 = 1500.75 is exact),
//    widened by the decimals the closed quantity has beyond |quantity| (closing 0.1234567891 of a
//    position of 1 bought at 1 takes out 0.1234567891).
//    Otherwise it is rounded half-even at that scale, `realized_pnl_rounded` is true and
//    rounded_divisions() counts it. The rounding stays inside the position: the cost basis keeps
//    the rest, so when the position is back to flat the realized P&L is exact again (sum of sell
//    proceeds - sum of buy costs - fees) and that cause of the flag is cleared.
//  - Inside the book, realized_pnl + unrealized_pnl == sell proceeds - buy costs - fees +
//    quantity * last_price, exactly, whatever was rounded; the figures shown add up to it exactly
//    whenever none of them is flagged.
//  - Values carry the scale their arithmetic gives (quantity scale + price scale for a product);
//    nothing is rounded to a display scale.

// Threads: every member function is safe to call concurrently (one shared mutex: fills and prices
// write, snapshots read).
#pragma once

#include <atomic>
#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ordergate/decimal.hpp"
#include "ordergate/types.hpp"
#include "positions/exact_math.hpp"

namespace ordergate::positions {

struct PositionKey {
    std::string account_id;
    std::string broker;  // broker instance name
    std::string symbol;
    std::string exchange;
    auto operator<=>(const PositionKey&) const = default;
};

struct PositionView {
    std::string account_id;
    std::string broker;
    std::string symbol;
    std::string exchange;
    Decimal quantity;       // signed: short < 0; 0 when flat
    Decimal average_price;  // of the open position; 0 when flat
    Decimal realized_pnl;   // net of fees
    std::optional<Decimal> unrealized_pnl;  // absent without a last price
    std::optional<Decimal> last_price;
    Decimal fees;                        // total fees of every fill applied (in realized_pnl)
    bool average_price_rounded = false;  // average_price is rounded (see header comment)
    bool realized_pnl_rounded = false;   // a rounded partial close, or rounded to fit a Decimal
    bool unrealized_pnl_rounded = false;  // rounded to fit a Decimal
    bool quantity_rounded = false;        // rounded to fit a Decimal
    bool fees_rounded = false;            // rounded to fit a Decimal
    bool out_of_range = false;  // a figure is beyond a Decimal's range: shown as +-INT64_MAX
    int64_t updated_at_ns = 0;           // latest `at_ns` of the fills applied
};

class PositionBook {
public:
    // The cap on the decimals an average price may carry above the largest fill price scale.
    static constexpr int32_t kAverageExtraScale = 9;

    PositionBook() = default;
    PositionBook(const PositionBook&) = delete;
    PositionBook& operator=(const PositionBook&) = delete;

    // Applies one fill and returns the position after it.
    // quantity must be > 0 (std::invalid_argument otherwise); price and fee may have any sign.
    // Never throws for arithmetic (see "Exactness").
    PositionView apply_fill(const PositionKey& key, Side side, const Decimal& quantity,
                            const Decimal& price, const Decimal& fee, int64_t at_ns);

    // Replaces the position at `key` with the one `fills` build from flat, applied in the order
    // given (each: its side, quantity, price, fee, executed_at_ns; the caller passes the key's
    // effective fills, positions/effective_fills.hpp). How a bust or a correction reaches a
    // position: recomputed exactly, the realized P&L included, rather than reversed. The key stays
    // (flat) when no fill is left, keeping its updated_at_ns. Throws std::invalid_argument for a
    // fill quantity <= 0 and then leaves the position as it was.
    PositionView rebuild(const PositionKey& key, const std::vector<FillRecord>& fills,
                         int64_t at_ns);

    // The last traded price of an instrument, used for unrealized P&L of every position in it.
    void set_last_price(std::string_view symbol, std::string_view exchange, const Decimal& price);

    // Every position (flat ones included: they keep their realized P&L), ordered by
    // (account, broker, symbol, exchange).
    std::vector<PositionView> snapshot() const;
    // Only the positions of these accounts; an empty list gives an empty result (a caller granted
    // no account sees nothing).
    std::vector<PositionView> snapshot(const std::vector<std::string>& account_ids) const;
    // One position, or nothing when no fill was ever applied to the key.
    std::optional<PositionView> get(const PositionKey& key) const;

    // Copies (replaces) this book's position at `key` with `other`'s (removes it when `other`
    // has none). With copy_from(), lets the event log keep a book of its own that follows the
    // commits exactly (stream/event_log.hpp). Last prices are not copied.
    void copy_key_from(const PositionBook& other, const PositionKey& key);
    // Copies every position of `other`.
    void copy_from(const PositionBook& other);

    // How many divisions were rounded so far (for a metric; see "Exactness").
    uint64_t rounded_divisions() const { return rounded_.load(std::memory_order_relaxed); }
    // How many fills left a figure of their position out of a Decimal's range (see "Exactness").
    uint64_t out_of_range_fills() const { return out_of_range_.load(std::memory_order_relaxed); }

private:
    struct State {
        WideDecimal quantity;
        WideDecimal cost;  // cost basis of the open position, >= 0 for normal prices
        Decimal average;
        WideDecimal realized;
        WideDecimal fees;
        int32_t price_scale = 0;    // largest fill price scale in the open position
        bool average_rounded = false;
        bool average_out_of_range = false;
        bool realized_rounded = false;
        int64_t updated_at_ns = 0;
    };

    PositionView view_locked(const PositionKey& key, const State& s) const;

    mutable std::shared_mutex mutex_;
    std::map<PositionKey, State> positions_;
    std::map<std::pair<std::string, std::string>, Decimal> last_prices_;
    std::atomic<uint64_t> rounded_{0};
    std::atomic<uint64_t> out_of_range_{0};
};

}  // namespace ordergate::positions
