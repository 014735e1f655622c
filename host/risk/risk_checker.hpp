// ordergate::risk — pre-trade risk checks (DESIGN.md "The order path", step 4).
//
// Limits come from configuration: defaults for every account, and per-account limits. An account
// found in `per_account` uses that RiskLimits INSTEAD of the defaults, field for field (no merge
// here: the config layer starts an account's limits from a copy of the defaults and overwrites
// the keys the operator wrote).
//
// check() applies, in this order, and answers the first that fails:
//   allowed_symbols, allowed_exchanges   exact, case-sensitive match; empty list = any
//   max_quantity                         quantity > limit fails (equal passes)
//   max_notional                         quantity * price > limit fails, where price is the limit
//                                        price for LIMIT and STOP_LIMIT, the trigger price for
//                                        STOP, and the caller's reference price (a last quote)
//                                        for MARKET. No price known -> rejected (the limit cannot
//                                        be checked, so it fails closed). A notional too large to
//                                        compute exactly is over any limit.
//   max_orders_per_second                per account, a sliding window of one second: an order is
//                                        allowed when fewer than the limit passed in the
//                                        preceding second (now - 1 s, now]. 0 = off.
// Only an order that passes every check takes a slot of the rate window; a rejected one does not.
// The caller runs check() once per order that would reach the broker (never for an idempotent
// replay).
//
// Threads: check() may be called concurrently; the rate windows are guarded by one mutex. Time
// comes from the injected Clock (after a step back of the clock, recorded times later than now
// count as now).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "ordergate/decimal.hpp"
#include "ordergate/types.hpp"

namespace ordergate::risk {

struct RiskLimits {
    std::optional<Decimal> max_quantity;
    std::optional<Decimal> max_notional;
    std::vector<std::string> allowed_symbols;    // empty = any
    std::vector<std::string> allowed_exchanges;  // empty = any
    uint32_t max_orders_per_second = 0;          // 0 = off
};

struct RiskRejection {
    // "allowed_symbols", "allowed_exchanges", "max_quantity", "max_notional",
    // "max_orders_per_second": the configuration key of the limit.
    std::string limit;
    // Client-facing (the 422 RISK_REJECTED detail): names the limit and the values compared,
    // e.g. "quantity 1000 exceeds max_quantity 500 for account ACC1".
    std::string detail;
};

class RiskChecker {
public:
    // Throws std::invalid_argument when clock is null or a limit is negative.
    RiskChecker(RiskLimits defaults, std::map<std::string, RiskLimits> per_account,
                std::shared_ptr<Clock> clock);

    // nullopt: the order passes (and took a slot of its account's rate window).
    std::optional<RiskRejection> check(const OrderRequest& request,
                                       std::optional<Decimal> reference_price);

    // The limits that apply to an account.
    const RiskLimits& limits_for(const std::string& account_id) const;

private:
    std::optional<RiskRejection> check_rate(const std::string& account_id, uint32_t limit);

    const RiskLimits defaults_;
    const std::map<std::string, RiskLimits> per_account_;
    const std::shared_ptr<Clock> clock_;

    std::mutex rate_mutex_;
    std::map<std::string, std::deque<int64_t>> windows_;  // accepted order times per account
};

}  // namespace ordergate::risk
