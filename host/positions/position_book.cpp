#include "positions/position_book.hpp"

#include <algorithm>
#include <mutex>
#include <stdexcept>

#include "positions/exact_math.hpp"

namespace ordergate::positions {

namespace {

Decimal min_of(const Decimal& a, const Decimal& b) { return a < b ? a : b; }

}  // namespace

PositionView PositionBook::apply_fill(const PositionKey& key, Side side, const Decimal& quantity,
                                      const Decimal& price, const Decimal& fee, int64_t at_ns) {
    if (!quantity.is_positive())
        throw std::invalid_argument("fill quantity " + quantity.to_string() +
                                    " must be greater than 0");
    const bool buy = side == Side::Buy;

    std::unique_lock lock(mutex_);
    auto it = positions_.find(key);
    State s = it == positions_.end() ? State{} : it->second;  // work on a copy: all or nothing
    uint64_t rounded = 0;

    Decimal rest = quantity;
    const bool closing = !s.quantity.is_zero() && (s.quantity.is_positive() != buy);
    if (closing) {
        const bool long_pos = s.quantity.is_positive();
        const Decimal open = s.quantity.abs();
        const Decimal closed = min_of(quantity, open);
        Decimal removed;
        if (closed == open) {
            removed = s.cost;
        } else {
            bool inexact = false;
            // At the cost basis's own scale, so rounding never adds digits that later sums
            // could not hold.
            removed = mul_div(s.cost, closed, open, s.cost.scale(), &inexact);
            if (inexact) {
                s.realized_rounded = true;
                ++rounded;
            }
        }
        const Decimal proceeds = closed * price;
        s.realized += long_pos ? proceeds - removed : removed - proceeds;
        s.cost -= removed;
        s.quantity = long_pos ? s.quantity - closed : s.quantity + closed;
        rest = quantity - closed;
        if (s.quantity.is_zero()) {
            // Flat: every partial-close rounding has been taken back by the full close.
            s.cost = Decimal();
            s.average = Decimal();
            s.average_rounded = false;
            s.price_scale = 0;
            s.realized_rounded = false;
        }
    }
    if (rest.is_positive()) {
        s.cost += rest * price;
        s.quantity = buy ? s.quantity + rest : s.quantity - rest;
        s.price_scale = std::max(s.price_scale, price.scale());
        bool inexact = false;
        const int32_t max_scale = std::min(Decimal::kMaxScale, s.price_scale + kAverageExtraScale);
        s.average = mul_div(s.cost, Decimal(1, 0), s.quantity.abs(), max_scale, &inexact);
        s.average_rounded = inexact;
        if (inexact) ++rounded;
    }
    s.fees += fee;
    s.realized -= fee;
    s.updated_at_ns = std::max(s.updated_at_ns, at_ns);

    if (it == positions_.end()) it = positions_.emplace(key, State{}).first;
    it->second = s;
    if (rounded != 0) rounded_.fetch_add(rounded, std::memory_order_relaxed);
    return view_locked(key, s);
}

void PositionBook::set_last_price(std::string_view symbol, std::string_view exchange,
                                  const Decimal& price) {
    std::unique_lock lock(mutex_);
    last_prices_[std::make_pair(std::string(symbol), std::string(exchange))] = price;
}

std::vector<PositionView> PositionBook::snapshot() const {
    std::shared_lock lock(mutex_);
    std::vector<PositionView> out;
    out.reserve(positions_.size());
    for (const auto& [key, state] : positions_) out.push_back(view_locked(key, state));
    return out;
}

std::vector<PositionView> PositionBook::snapshot(const std::vector<std::string>& account_ids) const {
    std::shared_lock lock(mutex_);
    std::vector<PositionView> out;
    for (const auto& [key, state] : positions_) {
        if (std::find(account_ids.begin(), account_ids.end(), key.account_id) != account_ids.end())
            out.push_back(view_locked(key, state));
    }
    return out;
}

std::optional<PositionView> PositionBook::get(const PositionKey& key) const {
    std::shared_lock lock(mutex_);
    auto it = positions_.find(key);
    if (it == positions_.end()) return std::nullopt;
    return view_locked(key, it->second);
}

PositionView PositionBook::view_locked(const PositionKey& key, const State& s) const {
    PositionView v;
    v.account_id = key.account_id;
    v.broker = key.broker;
    v.symbol = key.symbol;
    v.exchange = key.exchange;
    v.quantity = s.quantity;
    v.average_price = s.average;
    v.realized_pnl = s.realized;
    v.fees = s.fees;
    v.average_price_rounded = s.average_rounded;
    v.realized_pnl_rounded = s.realized_rounded;
    v.updated_at_ns = s.updated_at_ns;
    auto lp = last_prices_.find(std::make_pair(key.symbol, key.exchange));
    if (lp != last_prices_.end()) {
        v.last_price = lp->second;
        const Decimal signed_cost = s.quantity.is_negative() ? -s.cost : s.cost;
        v.unrealized_pnl = lp->second * s.quantity - signed_cost;
    }
    return v;
}

}  // namespace ordergate::positions
