#include "orders/order_service.hpp"

#include <spdlog/spdlog.h>

#include "metrics/metrics.hpp"
#include "orders/order_service_internal.hpp"
#include "orders/state_machine.hpp"

namespace ordergate::orders {

using detail::client_text;

void OrderService::handle_order_update(const std::string& broker, const OrderReport& report,
                                       Stash* stash) {
    EntryPtr e;
    if (report.status == OrderStatus::Filled || report.status == OrderStatus::PartiallyFilled ||
        report.status == OrderStatus::Open) {
        // Fills drive these statuses, and a live order is in memory: an order not in memory is
        // terminal already (or not ours), so a report like these changes nothing.
        e = report.client_order_id.empty() ? nullptr
                                           : find_by_client_id(report.account_id,
                                                               report.client_order_id);
        if (!e && !report.broker_order_id.empty()) e = find_by_broker_id(broker, report.broker_order_id);
        // ABI 1.4: a venue naming the order by an id of its request chain (FIX ClOrdID of a
        // replace or cancel) in either field.
        try {
            if (!e && !report.request_id.empty())
                e = find_by_request_id(report.account_id, report.request_id);
            // The common case (a venue's FILLED report after the fill that finished the order):
            // the order just left memory as terminal, and nothing is read from storage for it.
            if (!e && !report.client_order_id.empty() &&
                recently_finished(report.account_id, report.client_order_id)) {
                if (metrics_) metrics_->broker_event(broker, "order_update", "not_live");
                return;
            }
            if (!e && !report.client_order_id.empty())
                e = find_by_request_id(report.account_id, report.client_order_id);
        } catch (const sdk::Error& err) {
            spdlog::error("event=order_update_dropped broker={} broker_order_id={} "
                          "reason=storage error=\"{}\"",
                          broker, report.broker_order_id, err.what());
            if (metrics_) metrics_->broker_event(broker, "order_update", "storage_error");
            return;
        }
        if (!e) {
            if (metrics_) metrics_->broker_event(broker, "order_update", "not_live");
            return;
        }
    }
    try {
        if (!e)
            e = load_for_report(broker, report.account_id, report.client_order_id,
                                report.broker_order_id);
        if (!e && !report.request_id.empty()) {
            e = find_by_request_id(report.account_id, report.request_id);
            if (e) {
                std::lock_guard lock(e->mutex);
                if (e->rec.broker != broker) e = nullptr;
            }
        }
    } catch (const sdk::Error& err) {
        spdlog::error("event=order_update_dropped broker={} broker_order_id={} reason=storage "
                      "error=\"{}\"",
                      broker, report.broker_order_id, err.what());
        if (metrics_) metrics_->broker_event(broker, "order_update", "storage_error");
        return;
    }
    if (!e) {
        // Not ours (placed elsewhere) or not yet known: reconciliation adopts such orders.
        spdlog::warn("event=order_update_unknown_order broker={} broker_order_id={} "
                     "client_order_id={}",
                     broker, report.broker_order_id, report.client_order_id);
        if (metrics_) metrics_->broker_event(broker, "order_update", "unknown_order");
        return;
    }
    // Fills waiting to count are re-derived from storage: the stash's writes go first.
    if (stash && stash->holds(e.get()) && e->fills_pending) settle(*stash);
    std::unique_lock lock = lock_for_event(e, stash);
    apply_report(*e, broker, report, Origin{"", EventSource::Broker, ""}, true, Answer::None,
                 stash, &lock);
    if (metrics_) metrics_->broker_event(broker, "order_update", "applied");
}

bool OrderService::hold_until_recovered(const std::string& broker, const OrderReport* report,
                                        const Fill* fill) {
    std::lock_guard lock(recovery_mutex_);
    if (recovered_) return false;
    if (report) held_events_.emplace_back(broker, *report);
    else held_events_.emplace_back(broker, *fill);
    return true;
}

// ---- applying a report --------------------------------------------------------------------------

void OrderService::apply_report(Entry& e, const std::string& broker, const OrderReport& report,
                                const Origin& origin, bool wait, Answer answer_to, Stash* stash,
                                std::unique_lock<std::mutex>* lock) {
    // The record holds the venue's last confirmed state (terms, filled, average) and, in its
    // status, at most one pending request (PENDING_NEW, PENDING_REPLACE, PENDING_CANCEL). A
    // report updates the confirmed state; only the request's own answer (or a terminal report)
    // settles the request. So a report that crossed a request on the wire cannot be read as the
    // request's outcome.
    // ABI 1.4: a report naming the modify or cancel in flight (its client request id) is that
    // request's answer, even when it arrives through the event sink after the call returned
    // OG_PENDING. A refusal (FIX OrderCancelReject, or a reject naming the request) returns the
    // order to its last confirmed state, the venue's text in the event.
    Origin answer_origin = origin;
    // A report settling the order's PENDING_NEW while its place() waits is the place's
    // outcome, pushed or answered: its event names the place's request either way.
    if (answer_to == Answer::None && origin.source == EventSource::Broker && e.place_waiting &&
        e.rec.status == OrderStatus::PendingNew && answer_origin.request_id.empty())
        answer_origin.request_id = e.place_request_id;
    if (answer_to == Answer::None && !report.request_id.empty() &&
        report.request_id == e.pending_request_id) {
        const OrderStatus pending = e.rec.status;
        e.pending_request_id.clear();
        if (pending == OrderStatus::PendingReplace || pending == OrderStatus::PendingCancel) {
            const bool is_modify = pending == OrderStatus::PendingReplace;
            answer_origin.request_id = report.request_id;
            if (!report.cancel_reject_reason.empty() || report.status == OrderStatus::Rejected) {
                std::string text = client_text(!report.cancel_reject_reason.empty()
                                                   ? report.cancel_reject_reason
                                                   : report.reject_reason);
                if (text.empty()) text = "no reason given";
                e.refusal = text;
                if (is_modify) e.modify_unsettled = false;
                if (metrics_)
                    metrics_->broker_event(broker, is_modify ? "modify" : "cancel", "refused");
                revert_pending(e, pending, e.pending_previous,
                               std::string(is_modify ? "modify" : "cancel") +
                                   " refused by broker: " + text,
                               answer_origin);
                return;
            }
            answer_to = is_modify ? Answer::Modify : Answer::Cancel;
            if (is_modify && !is_terminal(report.status) &&
                report.status != OrderStatus::PendingReplace)
                e.accepted_request_id = report.request_id;
        }
    }
    OrderRecord next = e.rec;
    bool changed = false;
    if (!report.broker_order_id.empty() && next.broker_order_id != report.broker_order_id) {
        if (next.broker_order_id.empty()) {
            next.broker_order_id = report.broker_order_id;
            index_broker_id(broker, report.broker_order_id, next.id);
            changed = true;
        }
    }
    const OrderStatus cur = e.rec.status;
    OrderStatus target = cur;
    std::string reason;
    auto live_status = [&] {
        return derive_status_from_fills(next.quantity, next.filled_quantity);
    };
    // The venue's terms as a report states them (after a modify it confirmed, or its own
    // change). A quantity below what is filled is not a term the venue can hold (kept as it
    // was, loudly). Returns whether a term changed.
    // A push (no request's answer) older than the terms already taken: the venue's channels
    // crossed (its call answer overtook its push queue). Its terms are not the venue's now.
    const bool older_terms = answer_to == Answer::None && report.updated_at_ns != 0 &&
                             report.updated_at_ns < e.terms_at_ns;
    auto take_terms = [&]() -> bool {
        if (older_terms) return false;
        e.terms_at_ns = std::max(e.terms_at_ns, report.updated_at_ns);
        if (report.quantity.is_positive() && report.quantity >= next.filled_quantity)
            next.quantity = report.quantity;
        else if (report.quantity.is_positive())
            spdlog::error("event=modify_quantity_below_filled order_id={} reported={} filled={}",
                          e.rec.id, report.quantity.to_string(),
                          next.filled_quantity.to_string());
        next.price = report.price;
        next.trigger_price = report.trigger_price;
        next.order_type = report.order_type;
        next.time_in_force = report.time_in_force;
        const bool differs = next.quantity != e.rec.quantity || next.price != e.rec.price ||
                             next.trigger_price != e.rec.trigger_price ||
                             next.order_type != e.rec.order_type ||
                             next.time_in_force != e.rec.time_in_force;
        if (differs) {
            changed = true;
            reason = cur == OrderStatus::PendingReplace || answer_to == Answer::Modify
                         ? "modify confirmed"
                         : "terms reported by broker";
        }
        return differs;
    };
    const bool request_pending =
        cur == OrderStatus::PendingReplace || cur == OrderStatus::PendingCancel;
    // The venue's final word on a live order carries its final terms (a modify whose answer was
    // lost may have changed them).
    if (!is_terminal(cur) && (report.status == OrderStatus::Filled ||
                              report.status == OrderStatus::Cancelled ||
                              report.status == OrderStatus::Expired))
        take_terms();
    if (next.quantity != e.rec.quantity) e.modify_unsettled = false;
    // Fills stored but not counted (they overfilled the quantity known then) count now if the
    // venue's terms allow them.
    if (e.fills_pending && !is_terminal(cur)) {
        const FillSums sums = stored_fill_sums(e.rec);
        if (sums.quantity <= next.quantity && sums.quantity != next.filled_quantity) {
            next.filled_quantity = sums.quantity;
            next.average_fill_price =
                sums.notional.average(sums.quantity, options_.average_price_scale).value;
            e.notional = sums.notional;
            changed = true;
            reason = "stored fills counted after the venue's terms changed";
            e.fills_pending = false;
        }
    }
    switch (report.status) {
        case OrderStatus::PartiallyFilled:
        case OrderStatus::Filled:
        case OrderStatus::Open:
            // Fills drive the filled quantity (they are facts, de-duplicated by trade id); a report
            // acknowledges the order or confirms a pending modify. A done order keeps its terms.
            if (is_terminal(cur)) {
                break;
            } else if (cur == OrderStatus::PendingNew) {
                take_terms();
                target = live_status();
            } else if (answer_to == Answer::Modify) {
                // The modify's own answer: its terms are confirmed whatever else is pending now
                // (a cancel sent meanwhile stays pending).
                take_terms();
                e.modify_unsettled = false;
                if (cur == OrderStatus::PendingReplace) target = live_status();
            } else if (answer_to == Answer::Settle) {
                // Reconciliation, past the grace period: the venue holds these terms and this
                // live status, so a pending modify took effect as far as they say, and a pending
                // cancel did not take effect.
                take_terms();
                e.modify_unsettled = false;
                if (cur == OrderStatus::PendingCancel) {
                    target = live_status();
                    reason = "cancel not taken: the order is live at the broker after the grace "
                             "period";
                } else if (cur == OrderStatus::PendingReplace) {
                    target = live_status();
                    if (reason.empty())
                        reason = "modify not taken: the broker holds the previous terms after "
                                 "the grace period";
                }
            } else if (answer_to == Answer::None) {
                // A pushed report states the venue's current terms (a session delivers in
                // order, so it is never older than an answer already applied). While a modify
                // is pending, new terms are its confirmation; the same terms are a report that
                // crossed the request, and the modify stays pending.
                if (take_terms() && cur == OrderStatus::PendingReplace) target = live_status();
            }
            // The venue says the order is done, and the fills here agree: FILLED, whatever was
            // pending (a FILLED the fills do not reach waits for them).
            if (!is_terminal(cur) && report.status == OrderStatus::Filled &&
                next.filled_quantity == next.quantity)
                target = OrderStatus::Filled;
            // PENDING_CANCEL: an OPEN report is a status that crossed the cancel, not its
            // refusal; the cancel's own answer, a terminal report or reconciliation settles it.
            break;
        case OrderStatus::PendingNew:
            break;
        case OrderStatus::PendingReplace:
        case OrderStatus::PendingCancel:
            if (!is_terminal(cur)) target = report.status;
            break;
        case OrderStatus::Rejected:
            if (request_pending) {
                // With a modify or cancel pending, a reject is the request's: the order lives on
                // with its confirmed terms and fills.
                target = live_status();
                reason = std::string(cur == OrderStatus::PendingReplace ? "modify" : "cancel") +
                         " refused by broker: " + client_text(report.reject_reason);
                e.refusal = client_text(report.reject_reason);
                if (e.refusal.empty()) e.refusal = "no reason given";
                e.pending_request_id.clear();
                break;
            }
            target = report.status;
            next.reject_reason = client_text(report.reject_reason);
            reason = next.reject_reason;
            break;
        case OrderStatus::Cancelled:
        case OrderStatus::Expired:
            target = report.status;
            break;
    }
    if (target == cur && !changed) return;  // a duplicate or stale report
    // The modify's own answer says so even when the terms did not move: the event then names
    // the confirmed request (the chain's last accepted id, read back after a restart).
    if (answer_to == Answer::Modify && cur == OrderStatus::PendingReplace && target != cur &&
        reason.empty())
        reason = "modify confirmed";
    if (is_terminal(cur) && target != cur) {
        spdlog::warn("event=stale_report order_id={} status={} reported={} broker={}", e.rec.id,
                     to_string(cur), to_string(report.status), broker);
        if (metrics_) metrics_->illegal_transition(to_string(cur), to_string(report.status));
        if (!changed) return;
        target = cur;
    }
    next.status = target;
    // What the broker said, read from its push or its answer; or by reconciliation.
    const EventSource source = origin.source == EventSource::Reconciliation
                                   ? EventSource::Reconciliation
                                   : EventSource::Broker;
    if (!origin.note.empty()) reason = reason.empty() ? origin.note : reason + "; " + origin.note;
    // The answer to a modify a broker carried out as cancel + new (OG_CAP_MODIFY_EMULATED).
    bool emulated = false;
    if (answer_to == Answer::Modify) {
        const auto b = brokers_.find(broker);
        emulated = b != brokers_.end() && b->second->has(OG_CAP_MODIFY_EMULATED);
        if (emulated)
            reason += reason.empty() ? "emulated by the broker as a cancel and a new order"
                                     : " (emulated by the broker as a cancel and a new order)";
    }
    OrderEvent ev = make_event(next, cur, source, answer_origin.request_id, reason, emulated);
    // Stored fills waiting to be counted are re-derived right after the change: not batched.
    Stash* batched = e.fills_pending ? nullptr : stash;
    if (commit_change(e, std::move(next), std::move(ev), wait, nullptr, batched, lock) &&
        e.fills_pending) {
        try {
            if (rederive_from_stored_fills(e, "the order's terms changed")) e.fills_pending = false;
        } catch (const std::exception& ex) {
            spdlog::error("event=storage_read_failed op=list_fills order_id={} error=\"{}\"",
                          e.rec.id, ex.what());
        }
    }
}

// ---- connection state ---------------------------------------------------------------------------

void OrderService::on_connection(const std::string& broker, bool connected,
                                 const std::string& detail) {
    bool regained = false;
    {
        std::lock_guard lock(connection_mutex_);
        auto it = connected_.find(broker);
        regained = connected && it != connected_.end() && !it->second;
        connected_[broker] = connected;
    }
    if (metrics_ && !connected) metrics_->broker_event(broker, "connection", "lost");
    if (regained) {
        if (metrics_) metrics_->broker_event(broker, "connection", "regained");
        // Orders sent just before the loss answered 202 (unknown outcome): settled now.
        std::function<void(const std::string&, const std::string&)> ask;
        {
            std::lock_guard lock(reconcile_request_mutex_);
            ask = reconcile_request_;
        }
        if (ask) ask(broker, "reconnect");
    }
    if (connected)
        spdlog::info("event=broker_connected broker={} detail=\"{}\"", broker, detail);
    else
        spdlog::warn("event=broker_disconnected broker={} detail=\"{}\"", broker, detail);
    if (metrics_) metrics_->set_ready("broker:" + broker, connected);
}

bool OrderService::broker_connected(const std::string& broker) const {
    std::lock_guard lock(connection_mutex_);
    auto it = connected_.find(broker);
    return it == connected_.end() || it->second;
}
}  // namespace ordergate::orders
