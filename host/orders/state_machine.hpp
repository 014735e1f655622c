// ordergate::orders — the one order state machine of the host.
//
// Every status change of an order, whatever its source (api, broker, reconciliation, gtt), is
// checked here before it is applied. An illegal transition is an error the caller logs and counts;
// it is never applied. The functions are pure and thread-safe.
//
// Transition table (row: from, column: to; "x" = legal). PN = PENDING_NEW, O = OPEN,
// PF = PARTIALLY_FILLED, F = FILLED, PR = PENDING_REPLACE, PC = PENDING_CANCEL, C = CANCELLED,
// R = REJECTED, E = EXPIRED.
//
//            PN  O   PF  F   PR  PC  C   R   E
//      PN    .   x   x   x   .   x   x   x   x
//      O     .   x   x   x   x   x   x   x   x
//      PF    .   .   x   x   x   x   x   .   x
//      PR    .   x   x   x   x   x   x   x   x
//      PC    x   x   x   x   x   x   x   x   x
//      F, C, R, E: terminal, no exit (not even to themselves)
//
// Why, row by row (think of what a venue does):
//  - PENDING_NEW: the broker has not acknowledged the order. The ack makes it OPEN, or fills arrive
//    first (PARTIALLY_FILLED, FILLED); it can be rejected, or end at once (an IOC/FOK that did not
//    trade is CANCELLED or EXPIRED, depending on the venue). A cancel may be sent before the ack
//    (PENDING_CANCEL). A modify may not: there is nothing acknowledged to replace yet.
//  - OPEN: acknowledged, nothing filled. OPEN -> OPEN is a restatement (a modify the broker
//    applied at once, a repeated report carrying new details). REJECTED is legal because some
//    brokers acknowledge before the exchange validates (the exchange may still reject).
//  - PARTIALLY_FILLED: fills never un-happen, so no way back to OPEN or PENDING_NEW, and no
//    REJECTED. PARTIALLY_FILLED -> PARTIALLY_FILLED is a further partial fill. CANCELLED and
//    EXPIRED end the unfilled rest.
//  - PENDING_REPLACE (a modify was sent): the broker confirms or refuses it, and the order goes back
//    to a live status (OPEN, PARTIALLY_FILLED); fills may arrive meanwhile (-> PENDING_REPLACE while
//    it stays pending, even when they reach the quantity: the modify may have raised it at the
//    venue, so its answer decides between FILLED and a live status); a cancel may follow
//    (PENDING_CANCEL); the order may
//    end (CANCELLED, EXPIRED, or REJECTED by the exchange, as from OPEN).
//  - PENDING_CANCEL (a cancel was sent): CANCELLED when confirmed; a refused cancel returns to the
//    status the order had (OPEN, PARTIALLY_FILLED, PENDING_NEW when the cancel was sent before the
//    ack and the broker does not know the order yet, or PENDING_REPLACE when it was sent while a
//    modify was still unanswered); fills may win the race
//    (PENDING_CANCEL while still pending, FILLED); the order may still expire or be rejected (a
//    cancel sent before the ack). A replace is not sent while a cancel is pending.
//  - FILLED, CANCELLED, REJECTED, EXPIRED: final. A fill that arrives after a local CANCELLED is
//    recorded and flagged by the caller without a status change.
//
// The table is memoryless: "back to the previous live status" allows each live status, and
// is_consistent() below checks the status against the filled quantity (e.g. REJECTED with a fill,
// or OPEN with a fill, is inconsistent). Callers check both.
//
// A report that repeats the current status with nothing new (a replayed stream message) is a
// duplicate, not a transition: callers drop it before asking here.
#pragma once

#include <optional>
#include <string>

#include "ordergate/decimal.hpp"
#include "ordergate/types.hpp"

namespace ordergate::orders {

// True when `from -> to` is in the table above.
bool is_legal_transition(OrderStatus from, OrderStatus to);

// The first event of an order (from = none) or any later one (from = its current status).
//  - from = none, source api or gtt: only PENDING_NEW (the intent is persisted before the broker
//    call).
//  - from = none, source reconciliation: any status. Reconciliation adopts an order the broker has
//    and storage lacks with the status the broker reports (which may be PENDING_NEW, a pending or
//    a terminal status).
//  - from = none, source broker: illegal. An event for an order the host does not know is not an
//    adoption; reconciliation adopts it (with source reconciliation).
//  - from = a status: is_legal_transition(*from, to), whatever the source.
bool is_legal_transition(std::optional<OrderStatus> from, OrderStatus to, EventSource source);

// The status that fills alone imply: OPEN when nothing is filled, PARTIALLY_FILLED when
// 0 < filled < quantity, FILLED when filled == quantity.
// Throws std::invalid_argument when quantity <= 0, filled < 0 or filled > quantity: an overfill is
// the caller's to flag (DESIGN.md, NautilusTrader #3493), never to be read as FILLED.
OrderStatus derive_status_from_fills(const Decimal& quantity, const Decimal& filled);

// The status after a fill raised the cumulative filled quantity to `filled`:
//  - PENDING_NEW, OPEN, PARTIALLY_FILLED: derive_status_from_fills(quantity, filled);
//  - PENDING_CANCEL: FILLED when filled == quantity, otherwise unchanged (the cancel is still
//    pending);
//  - PENDING_REPLACE: unchanged (the modify may have raised the quantity; its answer settles it);
//  - a terminal status: unchanged (a late fill is recorded and flagged, the status stays).
// Throws std::invalid_argument like derive_status_from_fills.
OrderStatus status_after_fill(OrderStatus current, const Decimal& quantity, const Decimal& filled);

// The status after the venue busted or corrected one of the order's executions, leaving the
// cumulative filled quantity at `filled` (lower, equal, or - a correction upwards - higher):
//  - FILLED: derive_status_from_fills(quantity, filled) - the one transition out of a terminal
//    status, FILLED -> PARTIALLY_FILLED (or OPEN when nothing is left filled): the venue took
//    the fill back, and the order is again what its fills make it (the venue's report that comes
//    with the bust, OrdStatus/CumQty, is followed after it);
//  - PENDING_NEW, OPEN, PARTIALLY_FILLED: derive_status_from_fills(quantity, filled);
//  - PENDING_CANCEL, PENDING_REPLACE: unchanged (the request's answer settles it);
//  - CANCELLED, EXPIRED, REJECTED: unchanged (a bust does not bring a dead order back).
// Throws std::invalid_argument as derive_status_from_fills does.
OrderStatus status_after_fill_change(OrderStatus current, const Decimal& quantity,
                                     const Decimal& filled);

// Whether `status` can hold with this cumulative filled quantity:
//  PENDING_NEW, OPEN, REJECTED: filled == 0; PARTIALLY_FILLED: 0 < filled < quantity;
//  FILLED: filled == quantity; CANCELLED, EXPIRED: 0 <= filled < quantity (a complete fill makes
//  the order FILLED); PENDING_REPLACE, PENDING_CANCEL: 0 <= filled <= quantity (a modify whose
//  answer is pending or was lost may have raised the quantity at the venue: the order is not
//  FILLED until the venue's answer or report says so).
// Also false when quantity <= 0, filled < 0 or filled > quantity.
bool is_consistent(OrderStatus status, const Decimal& quantity, const Decimal& filled);

// A modify may be sent (the order is acknowledged, live and no other request is pending):
// OPEN, PARTIALLY_FILLED. Anything else answers 409 ORDER_NOT_MODIFIABLE.
bool can_modify(OrderStatus status);
// A cancel may be sent: PENDING_NEW, OPEN, PARTIALLY_FILLED, PENDING_REPLACE. PENDING_CANCEL and
// CANCELLED have one in progress or done (the API answers 200 with the order); FILLED, REJECTED
// and EXPIRED answer 409 ORDER_NOT_CANCELLABLE.
bool can_cancel(OrderStatus status);

// "PENDING_NEW -> FILLED" style text for logs and errors; "none" for an absent from.
std::string describe_transition(std::optional<OrderStatus> from, OrderStatus to);

}  // namespace ordergate::orders
