// OrderService: what reconciliation (host/reconcile) applies — the venue's state of an order,
// fills storage lacks, orders storage lacks (adopted as external), and the not-found policy —
// and the start-up hold on writes. Every change here carries source `reconciliation`.
#include <spdlog/spdlog.h>

#include <stdexcept>

#include "common/ids.hpp"
#include "metrics/metrics.hpp"
#include "orders/order_service.hpp"
#include "orders/order_service_internal.hpp"
#include "orders/state_machine.hpp"

namespace ordergate::orders {

using detail::client_text;

namespace {

std::string describe(const OrderRecord& before, const OrderRecord& after) {
    std::string s;
    if (before.status != after.status)
        s = std::string(to_string(before.status)) + " -> " + std::string(to_string(after.status));
    if (before.filled_quantity != after.filled_quantity)
        s += (s.empty() ? "" : ", ") + std::string("filled ") + before.filled_quantity.to_string() +
             " -> " + after.filled_quantity.to_string();
    if (before.quantity != after.quantity || before.price != after.price ||
        before.trigger_price != after.trigger_price || before.order_type != after.order_type ||
        before.time_in_force != after.time_in_force)
        s += (s.empty() ? "" : ", ") + std::string("terms as the broker holds them");
    if (before.broker_order_id != after.broker_order_id)
        s += (s.empty() ? "" : ", ") + std::string("broker order id ") + after.broker_order_id;
    return s.empty() ? "updated" : s;
}

// The change is only the broker order id storage lacked: the state, the fills and the terms
// already were the venue's.
bool only_identified(const OrderRecord& before, const OrderRecord& after) {
    return before.broker_order_id.empty() && !after.broker_order_id.empty() &&
           before.status == after.status && before.filled_quantity == after.filled_quantity &&
           before.average_fill_price == after.average_fill_price &&
           before.quantity == after.quantity && before.price == after.price &&
           before.trigger_price == after.trigger_price && before.order_type == after.order_type &&
           before.time_in_force == after.time_in_force;
}

}  // namespace

OrderService::ReconcileResult OrderService::reconcile_order(const std::string& broker,
                                                            const OrderReport& report,
                                                            int64_t settle_before_ns) {
    ReconcileResult out;
    EntryPtr e;
    try {
        e = load_for_report(broker, report.account_id, report.client_order_id,
                            report.broker_order_id);
    } catch (const sdk::Error& err) {
        out.result = Reconciled::Failed;
        out.detail = std::string("storage: ") + err.what();
        return out;
    }
    std::string matched_by;
    if (!e && report.client_order_id.empty()) {
        e = heuristic_match(broker, report, &matched_by);
        if (!e && !matched_by.empty()) {
            // Several candidates: guessing could pin the venue's order on the wrong request.
            out.result = Reconciled::Failed;
            out.detail = matched_by;
            return out;
        }
    }
    if (!e) return adopt_external(broker, report);
    std::lock_guard lock(e->mutex);
    const OrderRecord before = e->rec;
    out.order_id = before.id;
    // A place() of this process is inside its broker call: its answer applies the venue's state
    // in a moment (its timeout leaves the order pending for a later run). Applied here first, the
    // same transition would be counted as drift and the request's write would lose the race.
    if (e->place_in_call) return out;
    if (!matched_by.empty()) {
        // Flagged: the event says the match was a guess by terms, not by id.
        apply_report(*e, broker, report,
                     Origin{"", EventSource::Reconciliation, "heuristic match: " + matched_by},
                     true, Answer::Settle);
        if (e->rec.version == before.version) return out;
        out.result = Reconciled::Updated;
        out.detail = describe(before, e->rec) + " (heuristic match: " + matched_by + ")";
        return out;
    }
    // A request pending since before the grace period has had its answer: the venue's state
    // now is its outcome. A younger one may still be crossing this report on the wire.
    const bool settle = before.updated_at_ns < settle_before_ns;
    apply_report(*e, broker, report, Origin{"", EventSource::Reconciliation, ""}, true,
                 settle ? Answer::Settle : Answer::None);
    if (e->rec.version == before.version) return out;
    out.detail = describe(before, e->rec);
    if (only_identified(before, e->rec)) {
        out.result = Reconciled::Identified;
        if (metrics_) metrics_->broker_event(broker, "reconcile_order", "identified");
        return out;
    }
    out.result = Reconciled::Updated;
    if (metrics_) metrics_->broker_event(broker, "reconcile_order", "updated");
    return out;
}

Result<std::string> OrderService::adopt_gtt_order(const std::string& broker,
                                                  const OrderReport& report,
                                                  const std::string& extra_json,
                                                  const std::string& reason) {
    ReconcileResult r = adopt_external(broker, report, extra_json, EventSource::Gtt, reason);
    if (r.result == Reconciled::Adopted) return r.order_id;
    if (r.result == Reconciled::Failed) return fail(ErrorCode::Internal, r.detail);
    // Stored meanwhile (its client order id is taken): that order.
    try {
        auto stored = storage_.get_order_by_client_id(report.account_id, report.client_order_id);
        if (stored) return stored->id;
    } catch (const sdk::Error& e) {
        return fail(ErrorCode::StorageUnavailable, e.what());
    }
    return fail(ErrorCode::Internal, "order " + report.client_order_id +
                                         " was neither adopted nor found in storage");
}

OrderService::ReconcileResult OrderService::adopt_external(const std::string& broker,
                                                           const OrderReport& report,
                                                           const std::string& extra_json,
                                                           EventSource source,
                                                           const std::string& reason) {
    ReconcileResult out;
    auto routed = account_broker_.find(report.account_id);
    if (routed == account_broker_.end() || routed->second != broker) {
        out.result = Reconciled::Failed;
        out.detail = "order " + report.broker_order_id + " of account '" + report.account_id +
                     "', which is not configured on broker '" + broker + "'";
        return out;
    }
    if (report.broker_order_id.empty() && report.client_order_id.empty()) {
        out.result = Reconciled::Failed;
        out.detail = "an order the broker reports with neither a broker nor a client order id";
        return out;
    }
    const int64_t now = now_ns();
    OrderRecord rec;
    rec.id = ids::new_id("ord_", static_cast<uint64_t>(now / 1'000'000));
    // Unique per account like any client order id; "ext-" marks one the gateway made up.
    rec.client_order_id = report.client_order_id.empty() ? "ext-" + report.broker_order_id
                                                         : report.client_order_id;
    rec.broker = broker;
    rec.broker_order_id = report.broker_order_id;
    rec.account_id = report.account_id;
    rec.symbol = report.symbol;
    rec.exchange = report.exchange;
    rec.side = report.side;
    rec.order_type = report.order_type;
    rec.time_in_force = report.time_in_force;
    rec.quantity = report.quantity;
    rec.price = report.price;
    rec.trigger_price = report.trigger_price;
    // The broker's own figures: its fills so far were stored (unmatched) by the fills pass before
    // this, so later fills of the order add to these.
    rec.filled_quantity = report.filled_quantity;
    rec.average_fill_price = report.average_fill_price;
    rec.status = report.status;
    if (rec.status == OrderStatus::PendingNew || rec.status == OrderStatus::PendingReplace ||
        rec.status == OrderStatus::PendingCancel)
        rec.status = derive_status_from_fills(rec.quantity, rec.filled_quantity);
    if (rec.status == OrderStatus::Rejected) rec.reject_reason = client_text(report.reject_reason);
    rec.extra_json = extra_json;
    rec.created_at_ns = report.updated_at_ns ? report.updated_at_ns : now;
    rec.updated_at_ns = now;
    rec.version = 1;
    if (!rec.quantity.is_positive() || rec.filled_quantity > rec.quantity ||
        rec.filled_quantity.is_negative()) {
        out.result = Reconciled::Failed;
        out.detail = "broker order " + report.broker_order_id + " has quantity " +
                     rec.quantity.to_string() + " and filled " + rec.filled_quantity.to_string();
        return out;
    }
    OrderEvent ev = make_event(rec, std::nullopt, source, "",
                               reason.empty() ? "external order adopted from the broker (placed "
                                                "outside this gateway, or its record was lost)"
                                              : reason,
                               false);
    std::vector<WriteOp> ops(1);
    ops[0].kind = WriteKind::InsertOrder;
    ops[0].order = rec;
    ops[0].event = ev;
    std::vector<Status> r;
    try {
        r = write_fact(std::move(ops));
    } catch (const std::exception& ex) {
        out.result = Reconciled::Failed;
        out.detail = std::string("storage: ") + ex.what();
        return out;
    }
    if (r[0] == Status::Conflict) {
        // Its client order id is taken: stored meanwhile (a pushed report, another gateway).
        out.detail = "stored meanwhile";
        return out;
    }
    out.result = Reconciled::Adopted;
    out.order_id = rec.id;
    out.detail = "adopted as " + std::string(to_string(rec.status)) + " (external, broker order " +
                 rec.broker_order_id + ")";
    spdlog::warn("event=external_order_adopted broker={} order_id={} broker_order_id={} "
                 "client_order_id={} status={}",
                 broker, rec.id, rec.broker_order_id, rec.client_order_id, to_string(rec.status));
    if (metrics_) metrics_->broker_event(broker, "reconcile_order", "adopted");
    if (!is_terminal(rec.status)) {
        auto e = std::make_shared<Entry>();
        e->rec = std::move(rec);
        remember(e);
    }
    return out;
}

OrderService::ReconcileResult OrderService::reconcile_fill(const std::string& broker,
                                                           const Fill& fill) {
    ReconcileResult out;
    const FillOutcome f = handle_fill(broker, fill, EventSource::Reconciliation);
    out.order_id = f.order_id;
    switch (f.kind) {
        case FillOutcome::Kind::Applied:
            out.result = Reconciled::FillApplied;
            out.detail = "fill " + fill.broker_trade_id + " stored and applied";
            break;
        case FillOutcome::Kind::AppliedAfterTerminal:
            out.result = Reconciled::FillApplied;
            out.after_terminal = true;
            out.detail = "fill " + fill.broker_trade_id + " stored and applied after the order "
                         "ended locally (flagged)";
            break;
        case FillOutcome::Kind::StoredNotApplied:
            out.result = Reconciled::FillStored;
            out.detail = "fill " + fill.broker_trade_id + " stored; not counted on its order "
                         "(it would overfill it)";
            break;
        case FillOutcome::Kind::StoredUnmatched:
            out.result = Reconciled::FillStored;
            out.detail = "fill " + fill.broker_trade_id + " stored without an order (none "
                         "matches it yet)";
            break;
        case FillOutcome::Kind::Duplicate:
        case FillOutcome::Kind::Parked:
            break;
        case FillOutcome::Kind::StorageError:
            out.result = Reconciled::Failed;
            out.detail = "fill " + fill.broker_trade_id + ": storage error";
            break;
        case FillOutcome::Kind::RefNotFound:
            out.result = Reconciled::Failed;
            out.detail = std::string(to_string(fill.kind)) + " " + fill.broker_trade_id +
                         " of trade " + fill.ref_trade_id + ": no such trade here";
            break;
        case FillOutcome::Kind::Queued:  // only a batched event's: never reconciliation's
            throw std::logic_error("reconcile_fill: a fill was queued, not applied");
    }
    return out;
}

bool OrderService::never_acknowledged(const OrderRecord& order) {
    if (order.status == OrderStatus::PendingNew) return true;
    if (order.status != OrderStatus::PendingCancel || !order.broker_order_id.empty() ||
        !order.filled_quantity.is_zero())
        return false;
    bool any = false, past_new = false;
    each_event(order.id, [&](const OrderEvent& ev) {
        any = true;
        past_new =
            ev.to_status != OrderStatus::PendingNew && ev.to_status != OrderStatus::PendingCancel;
        return !past_new;
    });
    return any && !past_new;
}

OrderService::ReconcileResult OrderService::reject_not_found(const std::string& order_id,
                                                             const std::string& policy) {
    ReconcileResult out;
    out.order_id = order_id;
    EntryPtr e;
    try {
        e = load(order_id);
    } catch (const sdk::Error& err) {
        out.result = Reconciled::Failed;
        out.detail = std::string("storage: ") + err.what();
        return out;
    }
    if (!e) {
        out.result = Reconciled::Failed;
        out.detail = "no such order";
        return out;
    }
    std::lock_guard lock(e->mutex);
    const OrderStatus from = e->rec.status;
    try {
        if (!never_acknowledged(e->rec)) return out;  // settled meanwhile
    } catch (const sdk::Error& err) {
        out.result = Reconciled::Failed;
        out.detail = std::string("storage: ") + err.what();
        return out;
    }
    OrderRecord next = e->rec;
    next.status = OrderStatus::Rejected;
    next.reject_reason = "NOT_FOUND_AT_BROKER";
    OrderEvent ev = make_event(next, e->rec.status, EventSource::Reconciliation, "",
                               "NOT_FOUND_AT_BROKER (policy " + policy + ")", false);
    std::string why;
    if (!commit_change(*e, std::move(next), std::move(ev), true, &why)) {
        out.result = Reconciled::Failed;
        out.detail = "not written: " + why;
        return out;
    }
    {
        std::unique_lock cl(cache_mutex_);
        erase_locked(e->rec);
    }
    out.result = Reconciled::Rejected;
    out.detail = std::string(to_string(from)) + " -> REJECTED (NOT_FOUND_AT_BROKER)";
    spdlog::warn("event=order_not_found_at_broker order_id={} broker={} policy=\"{}\"", order_id,
                 e->rec.broker, policy);
    if (metrics_) metrics_->order_result(e->rec.broker, "not_found_at_broker");
    return out;
}

OrderService::EntryPtr OrderService::heuristic_match(const std::string& broker,
                                                     const OrderReport& report,
                                                     std::string* why) {
    why->clear();
    const auto window = options_.heuristic_match_window;
    auto b = brokers_.find(broker);
    if (window.count() <= 0 || b == brokers_.end() || b->second->has(OG_CAP_QUERY_BY_CLIENT_ID))
        return nullptr;
    const int64_t window_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(window).count();
    std::vector<EntryPtr> entries;
    {
        std::shared_lock lock(cache_mutex_);
        for (const auto& [id, e] : by_id_) entries.push_back(e);
    }
    std::vector<EntryPtr> found;
    for (const auto& e : entries) {
        std::lock_guard lock(e->mutex);
        const OrderRecord& o = e->rec;
        if (o.broker != broker || !o.broker_order_id.empty() || o.account_id != report.account_id ||
            o.symbol != report.symbol || o.exchange != report.exchange || o.side != report.side ||
            o.quantity != report.quantity)
            continue;
        const int64_t at = report.updated_at_ns ? report.updated_at_ns : now_ns();
        if (at < o.created_at_ns - window_ns || at > o.created_at_ns + window_ns) continue;
        // Pending its first answer: PENDING_NEW, or cancelled before any acknowledgement (read
        // from its events only for an order the terms and the window already match).
        if (o.status != OrderStatus::PendingNew) {
            if (o.status != OrderStatus::PendingCancel) continue;
            bool unacknowledged = e->pending_previous == OrderStatus::PendingNew;
            if (!unacknowledged) {
                try {
                    unacknowledged = never_acknowledged(o);
                } catch (const sdk::Error& err) {
                    *why = std::string("storage: ") + err.what();
                    return nullptr;
                }
            }
            if (!unacknowledged) continue;
        }
        found.push_back(e);
    }
    const std::string terms = "same account, instrument, side and quantity, created within " +
                              std::to_string(window.count()) + " s";
    if (found.size() == 1) {
        *why = terms + "; the broker keeps no client order id";
        return found[0];
    }
    if (found.size() > 1)
        *why = "broker order " + report.broker_order_id + " matches " +
               std::to_string(found.size()) + " pending orders by terms (" + terms +
               "): left for a person";
    return nullptr;
}

int64_t OrderService::last_order_event_ns(const std::string& broker) const {
    auto it = last_order_event_.find(broker);
    return it == last_order_event_.end() ? 0 : it->second->load();
}

void OrderService::note_order_event(const std::string& broker) {
    auto it = last_order_event_.find(broker);
    if (it != last_order_event_.end()) it->second->store(now_ns());
}

size_t OrderService::open_orders(const std::string& broker) const {
    std::vector<EntryPtr> entries;
    {
        std::shared_lock lock(cache_mutex_);
        entries.reserve(by_id_.size());
        for (const auto& [id, e] : by_id_) entries.push_back(e);
    }
    size_t n = 0;
    for (const auto& e : entries) {
        std::lock_guard lock(e->mutex);
        if (e->rec.broker == broker && !is_terminal(e->rec.status)) ++n;
    }
    return n;
}

void OrderService::set_reconcile_request(
    std::function<void(const std::string&, const std::string&)> ask) {
    std::lock_guard lock(reconcile_request_mutex_);
    reconcile_request_ = std::move(ask);
}

void OrderService::hold_writes(const std::string& broker) {
    std::lock_guard lock(held_mutex_);
    held_brokers_.insert(broker);
    held_count_.store(held_brokers_.size());
}

void OrderService::open_writes(const std::string& broker) {
    {
        std::lock_guard lock(held_mutex_);
        held_brokers_.erase(broker);
        held_count_.store(held_brokers_.size());
    }
    held_cv_.notify_all();
}

bool OrderService::wait_writes_open(const std::string& broker,
                                    std::chrono::milliseconds limit) const {
    if (held_count_.load() == 0) return true;  // after start-up: no lock on the order path
    std::unique_lock lock(held_mutex_);
    return held_cv_.wait_for(lock, limit, [&] { return held_brokers_.count(broker) == 0; });
}

}  // namespace ordergate::orders
