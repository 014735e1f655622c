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
// Exactness (never silently rounded):
//  - average_price is exact when the quotient terminates within (the largest price scale of the
//    fills that built the open position + 9) decimals, capped at 18 and at what an int64 mantissa
//    holds at its magnitude. Otherwise it is rounded half-even, `average_price_rounded` is true
//    and rounded_divisions() counts it. It changes only when the position grows or opens (a
//    partial close leaves it as it was).
//  - The cost taken out by a partial close, cost basis * closed / |quantity|, is exact when it
//    terminates within the cost basis's own scale (the largest quantity scale + price scale of its
//    fills: cents times whole shares gives cents, and 4002.00 * 15 / 40 = 1500.75 is exact).
//    Otherwise it is rounded half-even at that scale, `realized_pnl_rounded` is true and
//    rounded_divisions() counts it. Rounding at that scale (not finer) keeps every later sum
//    within 18 digits. The rounding stays inside the position: the cost basis keeps the rest, so
//    when the position is back to flat the realized P&L is exact again (sum of sell proceeds -
//    sum of buy costs - fees) and the flag is cleared.
//  - At every moment realized_pnl + unrealized_pnl == sell proceeds - buy costs - fees +
//    quantity * last_price, exactly, whatever was rounded.
//  - Values carry the scale their arithmetic gives (quantity scale + price scale for a product);
//    nothing is rounded to a display scale.
//  - Arithmetic that does not fit a Decimal (more than 18 significant digits) throws
//    DecimalError; the position is then left exactly as it was.
//
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
    bool realized_pnl_rounded = false;   // realized_pnl includes a rounded partial close
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
    // Throws DecimalError when the arithmetic does not fit (the position is unchanged).
    PositionView apply_fill(const PositionKey& key, Side side, const Decimal& quantity,
                            const Decimal& price, const Decimal& fee, int64_t at_ns);

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

    // How many divisions were rounded so far (for a metric; see "Exactness").
    uint64_t rounded_divisions() const { return rounded_.load(std::memory_order_relaxed); }

private:
    struct State {
        Decimal quantity;
        Decimal cost;  // cost basis of the open position, >= 0 for normal prices
        Decimal average;
        Decimal realized;
        Decimal fees;
        int32_t price_scale = 0;    // largest fill price scale in the open position
        bool average_rounded = false;
        bool realized_rounded = false;
        int64_t updated_at_ns = 0;
    };

    PositionView view_locked(const PositionKey& key, const State& s) const;

    mutable std::shared_mutex mutex_;
    std::map<PositionKey, State> positions_;
    std::map<std::pair<std::string, std::string>, Decimal> last_prices_;
    std::atomic<uint64_t> rounded_{0};
};

}  // namespace ordergate::positions
