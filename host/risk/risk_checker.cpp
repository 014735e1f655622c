#include "risk/risk_checker.hpp"

#include <algorithm>
#include <stdexcept>

namespace ordergate::risk {

namespace {

constexpr int64_t kWindowNs = 1'000'000'000;

bool listed(const std::vector<std::string>& list, const std::string& value) {
    return list.empty() || std::find(list.begin(), list.end(), value) != list.end();
}

std::string join(const std::vector<std::string>& list) {
    std::string out;
    for (const auto& s : list) {
        if (!out.empty()) out += ", ";
        out += s;
    }
    return out;
}

void check_limits(const RiskLimits& l, const std::string& who) {
    if (l.max_quantity && l.max_quantity->is_negative())
        throw std::invalid_argument("risk limits of " + who + ": max_quantity is negative");
    if (l.max_notional && l.max_notional->is_negative())
        throw std::invalid_argument("risk limits of " + who + ": max_notional is negative");
}

}  // namespace

RiskChecker::RiskChecker(RiskLimits defaults, std::map<std::string, RiskLimits> per_account,
                         std::shared_ptr<Clock> clock)
    : defaults_(std::move(defaults)), per_account_(std::move(per_account)), clock_(std::move(clock)) {
    if (!clock_) throw std::invalid_argument("RiskChecker: clock is null");
    check_limits(defaults_, "the defaults");
    for (const auto& [account, limits] : per_account_) check_limits(limits, "account " + account);
}

const RiskLimits& RiskChecker::limits_for(const std::string& account_id) const {
    auto it = per_account_.find(account_id);
    return it == per_account_.end() ? defaults_ : it->second;
}

std::optional<RiskRejection> RiskChecker::check(const OrderRequest& r,
                                                std::optional<Decimal> reference_price) {
    const RiskLimits& l = limits_for(r.account_id);
    const std::string account = " for account " + r.account_id;

    if (!listed(l.allowed_symbols, r.symbol))
        return RiskRejection{"allowed_symbols", "symbol " + r.symbol +
                                                    " is not in allowed_symbols (" +
                                                    join(l.allowed_symbols) + ")" + account};
    if (!listed(l.allowed_exchanges, r.exchange))
        return RiskRejection{"allowed_exchanges", "exchange " + r.exchange +
                                                      " is not in allowed_exchanges (" +
                                                      join(l.allowed_exchanges) + ")" + account};
    if (l.max_quantity && r.quantity > *l.max_quantity)
        return RiskRejection{"max_quantity", "quantity " + r.quantity.to_string() +
                                                 " exceeds max_quantity " +
                                                 l.max_quantity->to_string() + account};
    if (l.max_notional) {
        std::optional<Decimal> price;
        const char* price_name = "price";
        switch (r.order_type) {
            case OrderType::Limit:
            case OrderType::StopLimit: price = r.price; break;
            case OrderType::Stop:
                price = r.trigger_price;
                price_name = "trigger_price";
                break;
            case OrderType::Market:
                price = reference_price;
                price_name = "reference price";
                break;
        }
        if (!price) {
            return RiskRejection{
                "max_notional",
                std::string("no ") + price_name + " is known for this " +
                    std::string(to_string(r.order_type)) + " order of " + r.symbol + " on " +
                    r.exchange + ", so max_notional " + l.max_notional->to_string() +
                    " cannot be checked" + account};
        }
        std::optional<Decimal> notional;
        try {
            notional = (r.quantity * *price).abs();
        } catch (const DecimalError&) {
            // Too large for 18 digits: certainly above any configured limit (documented above).
            return RiskRejection{"max_notional",
                                 "notional of quantity " + r.quantity.to_string() + " at " +
                                     price->to_string() + " exceeds max_notional " +
                                     l.max_notional->to_string() + account};
        }
        if (*notional > *l.max_notional)
            return RiskRejection{"max_notional", "notional " + notional->to_string() +
                                                     " (quantity " + r.quantity.to_string() +
                                                     " x " + price_name + " " + price->to_string() +
                                                     ") exceeds max_notional " +
                                                     l.max_notional->to_string() + account};
    }
    if (l.max_orders_per_second != 0) return check_rate(r.account_id, l.max_orders_per_second);
    return std::nullopt;
}

std::optional<RiskRejection> RiskChecker::check_rate(const std::string& account_id,
                                                     uint32_t limit) {
    const int64_t now = clock_->now_ns();
    std::lock_guard lock(rate_mutex_);
    auto& window = windows_[account_id];
    // The clock stepped back: recorded times later than now count as now, so the orders stay in
    // the window for at most one more second (neither freed early nor held for the jump's length).
    if (!window.empty() && window.back() > now) {
        for (auto& t : window) t = std::min(t, now);
    }
    while (!window.empty() && window.front() <= now - kWindowNs) window.pop_front();
    if (window.size() >= limit)
        return RiskRejection{"max_orders_per_second",
                             "more than max_orders_per_second " + std::to_string(limit) +
                                 " orders in one second for account " + account_id};
    window.push_back(now);
    return std::nullopt;
}

}  // namespace ordergate::risk
