#include "positions/position_book.hpp"

#include <algorithm>
#include <mutex>
#include <stdexcept>

namespace ordergate::positions {

PositionView PositionBook::apply_fill(const PositionKey& key, Side side, const Decimal& quantity,
                                      const Decimal& price, const Decimal& fee, int64_t at_ns) {
    if (!quantity.is_positive())
        throw std::invalid_argument("fill quantity " + quantity.to_string() +
                                    " must be greater than 0");
    const bool buy = side == Side::Buy;
    const WideDecimal qty(quantity);
    const WideDecimal px(price);

    std::unique_lock lock(mutex_);
    auto it = positions_.find(key);
    State s = it == positions_.end() ? State{} : it->second;  // work on a copy: all or nothing
    uint64_t rounded = 0;

    WideDecimal rest = qty;
    const bool closing = !s.quantity.is_zero() && (s.quantity.is_positive() != buy);
    if (closing) {
        const bool long_pos = s.quantity.is_positive();
        const WideDecimal open = s.quantity.abs();
        const WideDecimal closed = qty < open ? qty : open;
        WideDecimal removed;
        if (closed == open) {
            removed = s.cost;
        } else {
            bool inexact = false;
            // At the cost basis's own scale, widened by the decimals the closed quantity has
            // beyond the open one (1 at 1, 0.1234567891 of it closed, takes out 0.1234567891).
            const int32_t scale =
                s.cost.scale() + std::max(0, closed.scale() - open.scale());
            removed = WideDecimal::mul_div_at(s.cost, closed, open, scale, &inexact);
            if (inexact) {
                s.realized_rounded = true;
                ++rounded;
            }
        }
        const WideDecimal proceeds = closed * px;
        s.realized += long_pos ? proceeds - removed : removed - proceeds;
        s.cost -= removed;
        s.quantity = long_pos ? s.quantity - closed : s.quantity + closed;
        rest = qty - closed;
        if (s.quantity.is_zero()) {
            // Flat: every partial-close rounding has been taken back by the full close.
            s.cost = WideDecimal();
            s.average = Decimal();
            s.average_rounded = false;
            s.average_out_of_range = false;
            s.price_scale = 0;
            s.realized_rounded = false;
        }
    }
    if (rest.is_positive()) {
        s.cost += rest * px;
        s.quantity = buy ? s.quantity + rest : s.quantity - rest;
        s.price_scale = std::max(s.price_scale, price.scale());
        const int32_t max_scale = std::min(Decimal::kMaxScale, s.price_scale + kAverageExtraScale);
        const WideDecimal open = s.quantity.abs();
        const Shown avg =
            WideDecimal::quotient(s.cost, open, s.cost.scale() - open.scale(), max_scale);
        s.average = avg.value;
        s.average_rounded = avg.rounded;
        s.average_out_of_range = avg.out_of_range;
        if (avg.rounded) ++rounded;
    }
    s.fees += WideDecimal(fee);
    s.realized -= WideDecimal(fee);
    s.updated_at_ns = std::max(s.updated_at_ns, at_ns);

    if (it == positions_.end()) it = positions_.emplace(key, State{}).first;
    it->second = s;
    if (rounded != 0) rounded_.fetch_add(rounded, std::memory_order_relaxed);
    PositionView v = view_locked(key, s);
    if (v.out_of_range) out_of_range_.fetch_add(1, std::memory_order_relaxed);
    return v;
}

PositionView PositionBook::rebuild(const PositionKey& key, const std::vector<FillRecord>& fills,
                                   int64_t at_ns) {
    PositionBook fresh;
    for (const FillRecord& f : fills)
        fresh.apply_fill(key, f.side, f.quantity, f.price, f.fee, f.executed_at_ns);
    State s;
    {
        std::shared_lock other(fresh.mutex_);
        auto it = fresh.positions_.find(key);
        if (it != fresh.positions_.end()) s = it->second;
    }
    std::unique_lock lock(mutex_);
    auto it = positions_.find(key);
    s.updated_at_ns = std::max({s.updated_at_ns, at_ns,
                                it == positions_.end() ? int64_t{0} : it->second.updated_at_ns});
    positions_[key] = s;
    const uint64_t rounded = fresh.rounded_.load(std::memory_order_relaxed);
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
    // Each figure is rounded once from its exact value, and says so.
    auto show = [&v](const WideDecimal& exact, bool* rounded) {
        const Shown r = exact.to_decimal();
        if (r.rounded) *rounded = true;
        if (r.out_of_range) v.out_of_range = true;
        return r.value;
    };
    v.quantity = show(s.quantity, &v.quantity_rounded);
    v.average_price = s.average;
    v.average_price_rounded = s.average_rounded;
    if (s.average_out_of_range) v.out_of_range = true;
    v.realized_pnl_rounded = s.realized_rounded;
    v.realized_pnl = show(s.realized, &v.realized_pnl_rounded);
    v.fees = show(s.fees, &v.fees_rounded);
    v.updated_at_ns = s.updated_at_ns;
    auto lp = last_prices_.find(std::make_pair(key.symbol, key.exchange));
    if (lp != last_prices_.end()) {
        v.last_price = lp->second;
        const WideDecimal signed_cost = s.quantity.is_negative() ? -s.cost : s.cost;
        v.unrealized_pnl =
            show(WideDecimal(lp->second) * s.quantity - signed_cost, &v.unrealized_pnl_rounded);
    }
    return v;
}

void PositionBook::copy_key_from(const PositionBook& other, const PositionKey& key) {
    if (&other == this) return;
    std::optional<State> state;
    {
        std::shared_lock lock(other.mutex_);
        auto it = other.positions_.find(key);
        if (it != other.positions_.end()) state = it->second;
    }
    std::unique_lock lock(mutex_);
    if (state) positions_[key] = *state;
    else positions_.erase(key);
}

void PositionBook::copy_from(const PositionBook& other) {
    if (&other == this) return;
    std::map<PositionKey, State> copy;
    {
        std::shared_lock lock(other.mutex_);
        copy = other.positions_;
    }
    std::unique_lock lock(mutex_);
    positions_ = std::move(copy);
}

}  // namespace ordergate::positions
