#include "orders/state_machine.hpp"

#include <stdexcept>

namespace ordergate::orders {

namespace {

constexpr int kCount = 9;

int index_of(OrderStatus s) {
    switch (s) {
        case OrderStatus::PendingNew: return 0;
        case OrderStatus::Open: return 1;
        case OrderStatus::PartiallyFilled: return 2;
        case OrderStatus::Filled: return 3;
        case OrderStatus::PendingReplace: return 4;
        case OrderStatus::PendingCancel: return 5;
        case OrderStatus::Cancelled: return 6;
        case OrderStatus::Rejected: return 7;
        case OrderStatus::Expired: return 8;
    }
    return -1;
}

// Same order as index_of and the table in the header.
constexpr bool kLegal[kCount][kCount] = {
    //   PN     O      PF     F      PR     PC     C      R      E
    {false, true,  true,  true,  false, true,  true,  true,  true},   // PENDING_NEW
    {false, true,  true,  true,  true,  true,  true,  true,  true},   // OPEN
    {false, false, true,  true,  true,  true,  true,  false, true},   // PARTIALLY_FILLED
    {false, false, false, false, false, false, false, false, false},  // FILLED
    {false, true,  true,  true,  true,  true,  true,  true,  true},   // PENDING_REPLACE
    {true,  true,  true,  true,  true,  true,  true,  true,  true},   // PENDING_CANCEL
    {false, false, false, false, false, false, false, false, false},  // CANCELLED
    {false, false, false, false, false, false, false, false, false},  // REJECTED
    {false, false, false, false, false, false, false, false, false},  // EXPIRED
};

void check_fill_args(const Decimal& quantity, const Decimal& filled) {
    if (!quantity.is_positive())
        throw std::invalid_argument("order quantity " + quantity.to_string() +
                                    " must be greater than 0");
    if (filled.is_negative())
        throw std::invalid_argument("filled quantity " + filled.to_string() +
                                    " must not be negative");
    if (filled > quantity)
        throw std::invalid_argument("filled quantity " + filled.to_string() +
                                    " exceeds order quantity " + quantity.to_string());
}

}  // namespace

bool is_legal_transition(OrderStatus from, OrderStatus to) {
    int f = index_of(from), t = index_of(to);
    if (f < 0 || t < 0) return false;
    return kLegal[f][t];
}

bool is_legal_transition(std::optional<OrderStatus> from, OrderStatus to, EventSource source) {
    if (from) return is_legal_transition(*from, to);
    if (index_of(to) < 0) return false;
    switch (source) {
        case EventSource::Api:
        case EventSource::Gtt: return to == OrderStatus::PendingNew;
        case EventSource::Reconciliation: return true;
        case EventSource::Broker: return false;
    }
    return false;
}

OrderStatus derive_status_from_fills(const Decimal& quantity, const Decimal& filled) {
    check_fill_args(quantity, filled);
    if (filled.is_zero()) return OrderStatus::Open;
    if (filled == quantity) return OrderStatus::Filled;
    return OrderStatus::PartiallyFilled;
}

OrderStatus status_after_fill(OrderStatus current, const Decimal& quantity, const Decimal& filled) {
    check_fill_args(quantity, filled);
    switch (current) {
        case OrderStatus::PendingNew:
        case OrderStatus::Open:
        case OrderStatus::PartiallyFilled: return derive_status_from_fills(quantity, filled);
        case OrderStatus::PendingCancel: return filled == quantity ? OrderStatus::Filled : current;
        case OrderStatus::PendingReplace: return current;
        case OrderStatus::Filled:
        case OrderStatus::Cancelled:
        case OrderStatus::Rejected:
        case OrderStatus::Expired: return current;
    }
    throw std::invalid_argument("unknown order status");
}

OrderStatus status_after_fill_change(OrderStatus current, const Decimal& quantity,
                                     const Decimal& filled) {
    check_fill_args(quantity, filled);
    switch (current) {
        case OrderStatus::Filled:
        case OrderStatus::PendingNew:
        case OrderStatus::Open:
        case OrderStatus::PartiallyFilled: return derive_status_from_fills(quantity, filled);
        case OrderStatus::PendingCancel:
        case OrderStatus::PendingReplace:
        case OrderStatus::Cancelled:
        case OrderStatus::Rejected:
        case OrderStatus::Expired: return current;
    }
    throw std::invalid_argument("unknown order status");
}

bool is_consistent(OrderStatus status, const Decimal& quantity, const Decimal& filled) {
    if (!quantity.is_positive() || filled.is_negative() || filled > quantity) return false;
    switch (status) {
        case OrderStatus::PendingNew:
        case OrderStatus::Open:
        case OrderStatus::Rejected: return filled.is_zero();
        case OrderStatus::PartiallyFilled: return filled.is_positive() && filled < quantity;
        case OrderStatus::Filled: return filled == quantity;
        case OrderStatus::PendingReplace:
        case OrderStatus::PendingCancel: return true;
        case OrderStatus::Cancelled:
        case OrderStatus::Expired: return filled < quantity;
    }
    return false;
}

bool can_modify(OrderStatus status) {
    return status == OrderStatus::Open || status == OrderStatus::PartiallyFilled;
}

bool can_cancel(OrderStatus status) {
    return status == OrderStatus::PendingNew || status == OrderStatus::Open ||
           status == OrderStatus::PartiallyFilled || status == OrderStatus::PendingReplace;
}

std::string describe_transition(std::optional<OrderStatus> from, OrderStatus to) {
    std::string out = from ? std::string(to_string(*from)) : std::string("none");
    out += " -> ";
    out += to_string(to);
    return out;
}

}  // namespace ordergate::orders
