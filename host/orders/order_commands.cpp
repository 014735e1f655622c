#include "orders/order_service.hpp"

#include <spdlog/spdlog.h>

#include <map>

#include "common/ids.hpp"
#include "metrics/metrics.hpp"
#include "orders/order_service_internal.hpp"
#include "orders/state_machine.hpp"
#include "orders/storage_error.hpp"
#include "risk/risk_checker.hpp"

namespace ordergate::orders {

using detail::broker_unavailable;
using detail::client_text;
using detail::kStorageUnreachable;
using detail::kVersionConflict;

namespace {

uint64_t cap_of(OrderType t) {
    switch (t) {
        case OrderType::Market: return OG_CAP_ORDER_MARKET;
        case OrderType::Limit: return OG_CAP_ORDER_LIMIT;
        case OrderType::Stop: return OG_CAP_ORDER_STOP;
        case OrderType::StopLimit: return OG_CAP_ORDER_STOP_LIMIT;
    }
    return ~0ull;
}

uint64_t cap_of(TimeInForce t) {
    switch (t) {
        case TimeInForce::Day: return OG_CAP_TIF_DAY;
        case TimeInForce::Gtc: return OG_CAP_TIF_GTC;
        case TimeInForce::Ioc: return OG_CAP_TIF_IOC;
        case TimeInForce::Fok: return OG_CAP_TIF_FOK;
    }
    return ~0ull;
}

bool not_sent(Status s) {
    return s == Status::Unavailable || s == Status::Timeout || s == Status::RateLimited;
}
bool refused(Status s) {
    return s == Status::Rejected || s == Status::InvalidArgument || s == Status::Unsupported ||
           s == Status::NotFound;
}

// Why a synchronous change of an order was not committed (commit_change's `error`), as the API
// answers it: another writer won the race twice (409), the store did not answer (503), or a bug
// (an illegal transition, a write the store refused: 500).
Error change_failed(const std::string& why, const std::string& request_id) {
    if (why == kVersionConflict)
        return Error::make(ErrorCode::Conflict,
                           "the order changed concurrently; read it again and retry");
    if (why == kStorageUnreachable) {
        Error e = Error::make(ErrorCode::StorageUnavailable, "order storage is unavailable");
        e.retry_after_seconds = 1;
        return e;
    }
    return Error::make(ErrorCode::Internal, "internal error; quote request id " + request_id);
}

}  // namespace

// ---- place --------------------------------------------------------------------------------------

Result<PlaceResult> OrderService::place(OrderRequest req, const AccountScope& scope,
                                        const Origin& origin, KeyClaim* claim) {
    if (req.account_id.empty()) {
        if (!scope.all && scope.accounts.size() == 1) {
            req.account_id = scope.accounts.front();
        } else {
            return fail(Error::invalid({{"account_id", "is required"}}));
        }
    }
    if (!scope.allows(req.account_id))
        return fail(ErrorCode::NotFound, "account '" + req.account_id + "' not found");
    auto r = route(req.account_id);
    if (!r) return fail(r.error());
    ports::BrokerPort& broker = *r->broker;

    if (!broker.has(cap_of(req.order_type)))
        return fail(ErrorCode::UnsupportedByBroker,
                    "broker '" + r->name + "' does not support order type " +
                        std::string(to_string(req.order_type)));
    if (!broker.has(cap_of(req.time_in_force)))
        return fail(ErrorCode::UnsupportedByBroker,
                    "broker '" + r->name + "' does not support time in force " +
                        std::string(to_string(req.time_in_force)));
    if (!broker_connected(r->name)) return fail(broker_unavailable(r->name, Status::Unavailable, ""));
    // The broker's start-up reconciliation first (it is quick; a request waits for it up to the
    // broker's deadline rather than being refused).
    if (!wait_writes_open(r->name, r->timeout)) {
        Error e = Error::make(ErrorCode::BrokerUnavailable,
                              "broker '" + r->name + "' is being reconciled after start-up; "
                              "nothing was sent");
        e.retry_after_seconds = 1;
        return fail(e);
    }

    if (risk_) {
        std::optional<Decimal> ref = last_price(req.symbol, req.exchange);
        if (!ref && req.order_type == OrderType::Market && broker.has(OG_CAP_QUOTES)) {
            try {
                ref = broker.quote(req.symbol, req.exchange).last;
            } catch (const sdk::Error& e) {
                spdlog::warn("event=quote_failed broker={} symbol={} error=\"{}\"", r->name,
                             req.symbol, e.what());
            }
        }
        if (auto rej = risk_->check(req, ref)) {
            if (metrics_) metrics_->order_result(r->name, "risk_rejected");
            return fail(ErrorCode::RiskRejected, rej->detail);
        }
    }

    prices_.watch(r->name, req.symbol, req.exchange);
    evict_deferred();
    const int64_t now = now_ns();
    if (req.client_order_id.empty()) req.client_order_id = ids::new_id("og-");
    if (req.extra_json.empty()) req.extra_json = "{}";

    auto entry = std::make_shared<Entry>();
    OrderRecord& rec = entry->rec;
    rec.id = ids::new_id("ord_", static_cast<uint64_t>(now / 1'000'000));
    rec.client_order_id = req.client_order_id;
    rec.broker = r->name;
    rec.account_id = req.account_id;
    rec.symbol = req.symbol;
    rec.exchange = req.exchange;
    rec.side = req.side;
    rec.order_type = req.order_type;
    rec.time_in_force = req.time_in_force;
    rec.status = OrderStatus::PendingNew;
    rec.quantity = req.quantity;
    rec.filled_quantity = Decimal(0, 0);
    rec.price = req.price;
    rec.trigger_price = req.trigger_price;
    rec.product = req.product;
    rec.tag = req.tag;
    rec.extra_json = req.extra_json;
    rec.created_at_ns = now;
    rec.updated_at_ns = now;
    rec.version = 1;

    // 1. Persist the intent. No durable row, no broker call.
    {
        std::vector<WriteOp> ops;
        if (claim) {
            // The Idempotency-Key's claim in the intent's transaction: both or neither.
            WriteOp c;
            c.kind = WriteKind::ClaimIdempotency;
            c.idempotency = claim->marker;
            c.idempotency.completed = false;
            c.now_ns = claim->now_ns;
            ops.push_back(std::move(c));
        }
        WriteOp op;
        op.kind = WriteKind::InsertOrder;
        op.requires_previous = claim != nullptr;
        op.order = rec;
        op.event = make_event(rec, std::nullopt, origin.source, origin.request_id, "", false);
        ops.push_back(std::move(op));
        std::vector<Status> results;
        try {
            results = writer_.write(std::move(ops));
        } catch (const std::exception& e) {
            spdlog::error("event=intent_write_failed request_id={} client_order_id={} "
                          "account_id={} error=\"{}\"",
                          origin.request_id, rec.client_order_id, rec.account_id, e.what());
            // An unreachable store is a 503 to retry; a write the store refused is a bug (500),
            // and neither reaches the broker. Only the first counts as an outage.
            Error err = storage_error(e, StorageAccess::Write, "write_intent", origin.request_id);
            if (metrics_)
                metrics_->order_result(r->name, err.code == ErrorCode::StorageUnavailable
                                                    ? "storage_unavailable"
                                                    : "storage_error");
            return fail(std::move(err));
        }
        if (claim) {
            if (results.front() == Status::Conflict) {
                claim->taken = true;
                return fail(ErrorCode::IdempotencyInFlight,
                            "a request with this Idempotency-Key is still in progress");
            }
            claim->written = true;
        }
        if (results.back() == Status::Conflict) {
            Error e = Error::make(ErrorCode::DuplicateClientOrderId,
                                  "account '" + rec.account_id +
                                      "' already has an order with client_order_id '" +
                                      rec.client_order_id + "'");
            if (auto existing = find_by_client_id(rec.account_id, rec.client_order_id)) {
                std::lock_guard lock(existing->mutex);
                e.order_id = existing->rec.id;
            } else {
                try {
                    if (auto s = storage_.get_order_by_client_id(rec.account_id,
                                                                 rec.client_order_id))
                        e.order_id = s->id;
                } catch (const sdk::Error& err) {
                    spdlog::error("event=storage_read_failed op=get_order_by_client_id error=\"{}\"",
                                  err.what());
                }
            }
            if (metrics_) metrics_->order_result(r->name, "duplicate");
            return fail(e);
        }
    }
    remember(entry);

    // 2. The broker call, with a deadline. Its answer is applied under the order's mutex; fills
    // pushed meanwhile may already have moved the order on. A fill that names only a broker
    // order id this ack has not indexed yet is parked until the call is settled (declared
    // before the lock below, so it runs after the lock is released).
    struct InFlight {
        OrderService* self;
        std::string broker;
        ~InFlight() { self->place_finished(broker); }
    };
    place_started(r->name);
    InFlight in_flight{this, r->name};
    {
        std::lock_guard waiting(entry->mutex);
        entry->place_waiting = true;
        entry->place_request_id = origin.request_id;
        entry->place_in_call = true;
    }
    const auto deadline = std::chrono::steady_clock::now() + r->timeout;
    auto [status, message, report, retry_after_ms] =
        call_broker(r->name, "place", [&] { return broker.place_order(req, r->timeout); });

    std::unique_lock lock(entry->mutex);
    entry->place_in_call = false;
    struct NotWaiting {
        Entry& e;
        ~NotWaiting() {  // declared after the lock: runs under it
            e.place_waiting = false;
            e.place_request_id.clear();
            e.changed.notify_all();  // a batched event may wait for this (lock_for_event)
        }
    } not_waiting{*entry};
    Origin broker_origin{origin.request_id, EventSource::Broker, ""};
    if (status == Status::Pending) {
        // ABI 1.4: sent; the acknowledgement or the reject comes through the event sink (it may
        // have come already). Wait for it within the broker's deadline; never resend.
        entry->changed.wait_until(lock, deadline, [&] {
            return entry->rec.status != OrderStatus::PendingNew;
        });
        if (entry->rec.status == OrderStatus::PendingNew) {
            spdlog::info("event=ack_pending op=place order_id={} client_order_id={} broker={} "
                         "detail=\"sent; no acknowledgement within the deadline; reconciliation "
                         "settles it\"",
                         entry->rec.id, entry->rec.client_order_id, r->name);
            if (metrics_) metrics_->order_result(r->name, "ack_pending");
            return PlaceResult{entry->rec, false};
        }
        if (entry->rec.status == OrderStatus::Rejected) {
            if (metrics_) metrics_->order_result(r->name, "rejected");
            Error e = Error::make(ErrorCode::BrokerRejected,
                                  "broker rejected the order: " + entry->rec.reject_reason);
            e.order_id = entry->rec.id;
            e.broker_called = true;
            return fail(e);
        }
        if (metrics_) metrics_->order_result(r->name, "accepted");
        return PlaceResult{entry->rec, true};
    }
    if (status == Status::Ok) {
        apply_report(*entry, r->name, report, broker_origin, false, Answer::Place);
        if (metrics_) metrics_->order_result(r->name, "accepted");
        return PlaceResult{entry->rec, true};
    }
    if (refused(status) || not_sent(status)) {
        OrderRecord next = entry->rec;
        if (!is_terminal(next.status)) {
            next.status = OrderStatus::Rejected;
            next.reject_reason = not_sent(status)
                                     ? "NOT_SENT: broker " + std::string(to_string(status))
                                     : client_text(message);
            OrderEvent ev = make_event(next, entry->rec.status, EventSource::Broker,
                                       origin.request_id, next.reject_reason, false);
            commit_change(*entry, std::move(next), std::move(ev), false);
        }
        if (not_sent(status)) {
            spdlog::warn("event=broker_unavailable op=place order_id={} broker={} status={} "
                         "error=\"{}\"",
                         entry->rec.id, r->name, to_string(status), message);
            if (metrics_) metrics_->order_result(r->name, "unavailable");
            Error e = broker_unavailable(r->name, status, entry->rec.id, retry_after_ms);
            e.broker_called = true;
            return fail(e);
        }
        if (metrics_) metrics_->order_result(r->name, "rejected");
        Error e = Error::make(ErrorCode::BrokerRejected,
                              "broker rejected the order: " + client_text(message));
        e.order_id = entry->rec.id;
        e.broker_called = true;
        return fail(e);
    }
    // Unknown outcome (a timeout after sending, a lost connection, or a plugin failure): the
    // order may exist at the broker. It stays PENDING_NEW; reconciliation settles it.
    spdlog::warn("event=unknown_outcome op=place order_id={} client_order_id={} broker={} "
                 "status={} error=\"{}\"",
                 entry->rec.id, entry->rec.client_order_id, r->name, to_string(status), message);
    if (metrics_) metrics_->order_result(r->name, "unknown_outcome");
    return PlaceResult{entry->rec, false};
}

void OrderService::record_broker_call(const std::string& broker, const char* op, Status status,
                                      std::chrono::steady_clock::time_point t0) const {
    if (!metrics_) return;
    metrics_->broker_call(
        broker, op, to_string(status),
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

template <typename Call>
OrderService::BrokerAnswer OrderService::call_broker(const std::string& broker, const char* op,
                                                     Call&& call) const {
    BrokerAnswer answer;
    const auto t0 = std::chrono::steady_clock::now();
    try {
        answer.report = call();
    } catch (const sdk::Error& e) {
        answer.status = e.status();
        answer.message = e.what();
        answer.retry_after_ms = e.retry_after().count();
    }
    record_broker_call(broker, op, answer.status, t0);
    return answer;
}

void OrderService::place_started(const std::string& broker) {
    std::lock_guard lock(park_mutex_);
    ++places_in_flight_[broker];
}

void OrderService::place_finished(const std::string& broker) {
    std::vector<Fill> mine;
    {
        std::lock_guard lock(park_mutex_);
        --places_in_flight_[broker];
        auto keep = parked_fills_.begin();
        for (auto& p : parked_fills_) {
            if (p.first == broker) mine.push_back(std::move(p.second));
            else *keep++ = std::move(p);
        }
        parked_fills_.erase(keep, parked_fills_.end());
    }
    // Each is matched now (the ack indexed its broker order id), parked again for another place
    // still in flight, or stored as unmatched.
    for (const auto& f : mine) handle_fill(broker, f);
}

// ---- modify and cancel --------------------------------------------------------------------------

Result<ChangeResult> OrderService::modify(const std::string& id, const ModifyRequest& change,
                                          const AccountScope& scope, const Origin& origin,
                                          int attempt) {
    auto found = resolve(id, scope);
    if (!found) return fail(found.error());
    EntryPtr entry = *found;
    Route rt;
    ModifyRequest req = change;
    OrderStatus previous;
    bool retry = false;
    {
        std::lock_guard lock(entry->mutex);
        const OrderRecord& cur = entry->rec;
        if (!can_modify(cur.status))
            return fail(ErrorCode::OrderNotModifiable,
                        "order " + cur.id + " is " + std::string(to_string(cur.status)) +
                            " and cannot be modified");
        auto r = route_of_order(cur);
        if (!r) return fail(r.error());
        rt = *r;
        if (!wait_writes_open(rt.name, std::chrono::milliseconds(0))) {
            Error e = Error::make(ErrorCode::BrokerUnavailable,
                                  "broker '" + rt.name + "' is being reconciled after start-up; "
                                  "nothing was sent");
            e.retry_after_seconds = 1;
            return fail(e);
        }
        ports::BrokerPort& b = *rt.broker;
        auto need = [&](bool asked, uint64_t cap, const char* what) -> std::optional<Error> {
            if (asked && !b.has(OG_CAP_MODIFY | cap))
                return Error::make(ErrorCode::UnsupportedByBroker,
                                   "broker '" + rt.name + "' cannot modify " + what);
            return std::nullopt;
        };
        for (auto err : {need(req.quantity.has_value(), OG_CAP_MODIFY_QUANTITY, "quantity"),
                         need(req.price.has_value(), OG_CAP_MODIFY_PRICE, "price"),
                         need(req.trigger_price.has_value(), OG_CAP_MODIFY_TRIGGER,
                              "trigger_price"),
                         need(req.order_type.has_value(), OG_CAP_MODIFY_ORDER_TYPE, "order_type"),
                         need(req.time_in_force.has_value(), OG_CAP_MODIFY_TIF,
                              "time_in_force")})
            if (err) return fail(*err);

        // The order as it would be after the change must itself be valid.
        OrderType type = req.order_type.value_or(cur.order_type);
        std::optional<Decimal> price = req.price ? req.price : cur.price;
        std::optional<Decimal> trigger = req.trigger_price ? req.trigger_price : cur.trigger_price;
        std::vector<FieldError> v;  // the order as modified
        // The same rule as a place: a price for LIMIT and STOP_LIMIT only, a trigger price for
        // STOP and STOP_LIMIT only. What the order had and its new type takes no more goes
        // with the old type (LIMIT to STOP leaves no price, as the venues do); what the request
        // gives must fit the new type.
        const bool needs_price = type == OrderType::Limit || type == OrderType::StopLimit;
        const bool needs_trigger = type == OrderType::Stop || type == OrderType::StopLimit;
        const std::string for_type = " for " + std::string(to_string(type));
        if (!needs_price && !req.price) price.reset();
        if (!needs_trigger && !req.trigger_price) trigger.reset();
        if (needs_price && !price) v.push_back({"price", "is required" + for_type});
        if (!needs_price && price) v.push_back({"price", "must be absent" + for_type});
        if (needs_trigger && !trigger) v.push_back({"trigger_price", "is required" + for_type});
        if (!needs_trigger && trigger) v.push_back({"trigger_price", "must be absent" + for_type});
        if (req.quantity && *req.quantity <= cur.filled_quantity)
            v.push_back({"quantity", "must be greater than the filled quantity " +
                                         cur.filled_quantity.to_string()});
        if (req.time_in_force && !b.has(cap_of(*req.time_in_force)))
            return fail(ErrorCode::UnsupportedByBroker,
                        "broker '" + rt.name + "' does not support time in force " +
                            std::string(to_string(*req.time_in_force)));
        if (req.order_type && !b.has(cap_of(*req.order_type)))
            return fail(ErrorCode::UnsupportedByBroker,
                        "broker '" + rt.name + "' does not support order type " +
                            std::string(to_string(*req.order_type)));
        if (!v.empty()) return fail(Error::invalid(std::move(v)));
        // Nothing to change (the values the order has, whatever their scale: a retry of a modify
        // already done): answered with the order as it is, and the broker is not asked to
        // replace the order by itself.
        auto same = [](const std::optional<Decimal>& a, const std::optional<Decimal>& b) {
            return a.has_value() == b.has_value() && (!a || *a == *b);
        };
        if (type == cur.order_type && same(price, cur.price) && same(trigger, cur.trigger_price) &&
            req.quantity.value_or(cur.quantity) == cur.quantity &&
            req.time_in_force.value_or(cur.time_in_force) == cur.time_in_force)
            return ChangeResult{cur, true};
        if (risk_) {
            // The same pre-trade checks as place, on the order as it would become (its remaining
            // quantity is not what a limit bounds: the whole order is).
            OrderRequest as_modified;
            as_modified.account_id = cur.account_id;
            as_modified.symbol = cur.symbol;
            as_modified.exchange = cur.exchange;
            as_modified.side = cur.side;
            as_modified.order_type = type;
            as_modified.time_in_force = req.time_in_force.value_or(cur.time_in_force);
            as_modified.quantity = req.quantity.value_or(cur.quantity);
            as_modified.price = price;
            as_modified.trigger_price = trigger;
            as_modified.client_order_id = cur.client_order_id;
            if (auto rej = risk_->check(as_modified, last_price(cur.symbol, cur.exchange))) {
                if (metrics_) metrics_->order_result(rt.name, "risk_rejected");
                return fail(ErrorCode::RiskRejected, rej->detail);
            }
        }
        if (!broker_connected(rt.name)) return fail(broker_unavailable(rt.name, Status::Unavailable, cur.id));

        req.account_id = cur.account_id;
        req.broker_order_id = cur.broker_order_id;
        req.client_order_id = cur.client_order_id;
        previous = cur.status;
        // ABI 1.4: the modify's own client request id, chained to the last accepted one. It is
        // the event's request id (storage finds the order by it after a restart); the API
        // request that asked is named in the reason.
        try {
            req.orig_request_id = accepted_request_id(*entry);
        } catch (const sdk::Error& err) {
            return fail(storage_error(err, StorageAccess::Read, "list_events", origin.request_id));
        }
        req.request_id = new_request_id(*entry);
        OrderRecord next = cur;
        next.status = OrderStatus::PendingReplace;
        // A broker that carries a modify out as cancel + new says so (OG_CAP_MODIFY_EMULATED),
        // and the client is told in the order's events.
        const bool emulated = b.has(OG_CAP_MODIFY_EMULATED);
        std::string what = origin.request_id.empty()
                               ? "modify requested"
                               : "modify requested by request " + origin.request_id;
        if (emulated) what += "; the broker carries it out as a cancel and a new order";
        OrderEvent ev =
            make_event(next, cur.status, origin.source, req.request_id, what, emulated);
        std::string why;
        if (!commit_change(*entry, std::move(next), std::move(ev), true, &why)) {
            if (why != kVersionConflict || attempt > 0)
                return fail(change_failed(why, origin.request_id));
            retry = true;
        } else {
            entry->pending_request_id = req.request_id;
            entry->pending_previous = previous;
            entry->refusal.clear();
        }
    }
    if (retry) return modify(id, change, scope, origin, attempt + 1);

    const auto deadline = std::chrono::steady_clock::now() + rt.timeout;
    return settle_change(
        entry, rt.name,
        call_broker(rt.name, "modify", [&] { return rt.broker->modify_order(req, rt.timeout); }),
        "modify", OrderStatus::PendingReplace, previous, origin,
        [](const OrderRecord&, const std::string& message) {
            return Error::make(ErrorCode::BrokerRejected,
                               "broker refused the modification: " + client_text(message));
        },
        deadline, req.request_id);
}

std::string OrderService::new_request_id(Entry& e) {
    std::string id = ids::new_id("og-r");
    std::lock_guard lock(request_ids_mutex_);
    by_request_id_[e.rec.account_id + '\0' + id] = e.rec.id;
    return id;
}

std::string OrderService::accepted_request_id(Entry& e) {
    if (!e.accepted_request_id.empty()) return e.accepted_request_id;
    // Not known in this process (loaded after a restart): the latest modify the venue
    // confirmed names it in its event (the request id of an event leaving PENDING_REPLACE with
    // "modify confirmed"); none: the order's own client order id.
    std::string accepted = e.rec.client_order_id;
    each_event(e.rec.id, [&](const OrderEvent& ev) {
        if (ev.from_status == OrderStatus::PendingReplace &&
            ids::looks_like(ev.request_id, "og-r") && ev.reason.rfind("modify confirmed", 0) == 0)
            accepted = ev.request_id;
        return true;
    });
    e.accepted_request_id = accepted;
    return accepted;
}

Result<ChangeResult> OrderService::settle_change(
    const EntryPtr& entry, const std::string& broker, const BrokerAnswer& answer, const char* op,
    OrderStatus pending, OrderStatus previous, const Origin& origin,
    const std::function<Error(const OrderRecord&, const std::string&)>& refusal,
    std::chrono::steady_clock::time_point deadline, const std::string& request_id) {
    const Status status = answer.status;
    std::unique_lock lock(entry->mutex);
    const bool is_modify = std::string_view(op) == "modify";
    if (status == Status::Pending) {
        // ABI 1.4: sent; its answer comes through the event sink (apply_report settles the
        // request its report names). Wait within the deadline; never resend.
        entry->changed.wait_until(lock, deadline, [&] { return entry->rec.status != pending; });
        if (entry->rec.status == pending) {
            if (is_modify) entry->modify_unsettled = true;
            spdlog::info("event=ack_pending op={} order_id={} broker={} request_id={} "
                         "detail=\"sent; no answer within the deadline; reconciliation settles "
                         "it\"",
                         op, entry->rec.id, broker, request_id);
            return ChangeResult{entry->rec, false};
        }
        if (!entry->refusal.empty()) {
            Error e = refusal(entry->rec, entry->refusal);
            e.order_id = entry->rec.id;
            e.broker_called = true;
            return fail(e);
        }
        return ChangeResult{entry->rec, true};
    }
    if (is_modify)
        entry->modify_unsettled = !(status == Status::Ok || refused(status) || not_sent(status));
    entry->pending_request_id.clear();  // answered here, or left to reconciliation
    if (status == Status::Ok) {
        apply_report(*entry, broker, answer.report,
                     Origin{request_id.empty() ? origin.request_id : request_id,
                            EventSource::Broker, ""},
                     false, is_modify ? Answer::Modify : Answer::Cancel);
        if (is_modify && !request_id.empty() && entry->rec.status != OrderStatus::PendingReplace)
            entry->accepted_request_id = request_id;
        return ChangeResult{entry->rec, true};
    }
    if (refused(status) || not_sent(status)) {
        revert_pending(*entry, pending, previous,
                       not_sent(status)
                           ? std::string(op) + " not sent: broker " + std::string(to_string(status))
                           : std::string(op) + " refused: " + client_text(answer.message),
                       origin);
        Error e = not_sent(status)
                      ? broker_unavailable(broker, status, entry->rec.id, answer.retry_after_ms)
                      : refusal(entry->rec, answer.message);
        e.order_id = entry->rec.id;
        e.broker_called = true;
        return fail(e);
    }
    spdlog::warn("event=unknown_outcome op={} order_id={} broker={} status={} error=\"{}\"", op,
                 entry->rec.id, broker, to_string(status), answer.message);
    return ChangeResult{entry->rec, false};
}

void OrderService::revert_pending(Entry& e, OrderStatus pending, OrderStatus previous,
                                  std::string why, const Origin& origin) {
    if (e.rec.status != pending) return;  // events moved the order on meanwhile
    OrderRecord next = e.rec;
    // Back to a pending status the order had (a request still unanswered), or to the live status
    // its fills imply (fills that arrived meanwhile may have completed it).
    const bool live_before = previous == OrderStatus::Open ||
                             previous == OrderStatus::PartiallyFilled || previous == pending;
    next.status = !live_before && is_legal_transition(pending, previous)
                      ? previous
                      : derive_status_from_fills(next.quantity, next.filled_quantity);
    OrderEvent ev =
        make_event(next, e.rec.status, EventSource::Broker, origin.request_id, std::move(why), false);
    commit_change(e, std::move(next), std::move(ev), false);
}

Result<ChangeResult> OrderService::cancel(const std::string& id, const AccountScope& scope,
                                          const Origin& origin) {
    auto found = resolve(id, scope);
    if (!found) return fail(found.error());
    EntryPtr entry = *found;
    Route rt;
    {
        std::lock_guard lock(entry->mutex);
        const OrderRecord& cur = entry->rec;
        if (cur.status == OrderStatus::Cancelled || cur.status == OrderStatus::PendingCancel)
            return ChangeResult{cur, true};  // done or in progress: cancel is idempotent
        if (!can_cancel(cur.status))
            return fail(ErrorCode::OrderNotCancellable,
                        "order " + cur.id + " is " + std::string(to_string(cur.status)) +
                            " and cannot be cancelled");
        auto r = route_of_order(cur);
        if (!r) return fail(r.error());
        rt = *r;
    }
    return request_cancel(entry, rt, origin, false);
}

Result<ChangeResult> OrderService::request_cancel(const EntryPtr& entry, const Route& rt,
                                                  const Origin& origin, bool emulated,
                                                  int attempt) {
    OrderStatus previous;
    std::string account, boid, cid;
    CancelRequest creq;
    bool retry = false;
    {
        std::lock_guard lock(entry->mutex);
        const OrderRecord& cur = entry->rec;
        if (cur.status == OrderStatus::Cancelled || cur.status == OrderStatus::PendingCancel)
            return ChangeResult{cur, true};
        if (!can_cancel(cur.status))
            return fail(ErrorCode::OrderNotCancellable,
                        "order " + cur.id + " is " + std::string(to_string(cur.status)) +
                            " and cannot be cancelled");
        if (!broker_connected(rt.name))
            return fail(broker_unavailable(rt.name, Status::Unavailable, cur.id));
        previous = cur.status;
        account = cur.account_id;
        boid = cur.broker_order_id;
        cid = cur.client_order_id;
        // ABI 1.4: the cancel's own client request id, chained (see modify).
        try {
            creq.orig_request_id = accepted_request_id(*entry);
        } catch (const sdk::Error& err) {
            return fail(storage_error(err, StorageAccess::Read, "list_events", origin.request_id));
        }
        creq.request_id = new_request_id(*entry);
        OrderRecord next = cur;
        next.status = OrderStatus::PendingCancel;
        std::string what =
            emulated ? "cancel-all emulated as one cancel per order" : "cancel requested";
        if (!origin.request_id.empty()) what += " by request " + origin.request_id;
        OrderEvent ev =
            make_event(next, cur.status, origin.source, creq.request_id, what, emulated);
        std::string why;
        if (!commit_change(*entry, std::move(next), std::move(ev), true, &why)) {
            if (why != kVersionConflict || attempt > 0)
                return fail(change_failed(why, origin.request_id));
            retry = true;
        } else {
            entry->pending_request_id = creq.request_id;
            entry->pending_previous = previous;
            entry->refusal.clear();
        }
    }
    if (retry) return request_cancel(entry, rt, origin, emulated, attempt + 1);

    creq.account_id = account;
    creq.broker_order_id = boid;
    creq.client_order_id = cid;
    const auto deadline = std::chrono::steady_clock::now() + rt.timeout;
    return settle_change(
        entry, rt.name,
        call_broker(rt.name, "cancel",
                    [&] { return rt.broker->cancel_request(creq, rt.timeout); }),
        "cancel", OrderStatus::PendingCancel, previous, origin,
        [](const OrderRecord& order, const std::string& message) {
            if (is_terminal(order.status))
                return Error::make(ErrorCode::OrderNotCancellable,
                                   "order " + order.id + " is " +
                                       std::string(to_string(order.status)) +
                                       " and cannot be cancelled");
            return Error::make(ErrorCode::BrokerRejected,
                               "broker refused the cancel: " + client_text(message));
        },
        deadline, creq.request_id);
}

Result<CancelAllResult> OrderService::cancel_all(const std::string& account_id,
                                                 const AccountScope& scope, const Origin& origin) {
    if (!scope.allows(account_id))
        return fail(ErrorCode::NotFound, "account '" + account_id + "' not found");
    auto r = route(account_id);
    if (!r) return fail(r.error());
    // Every live order of the account: those in memory, and those only storage knows (placed
    // through another gateway instance). Storage is read after the writer is flushed, so it has
    // every change already answered; an order found in both is taken from memory.
    std::vector<EntryPtr> live;
    {
        std::shared_lock lock(cache_mutex_);
        for (const auto& [id, e] : by_id_) live.push_back(e);
    }
    std::map<std::string, EntryPtr> mine;  // by id: in id order, each once
    auto take = [&](const EntryPtr& e) {
        std::lock_guard lock(e->mutex);
        if (e->rec.account_id == account_id && can_cancel(e->rec.status))
            mine.emplace(e->rec.id, e);
    };
    for (auto& e : live) take(e);
    try {
        writer_.flush_answered();
        OrderQuery q;
        q.account_ids = {account_id};
        q.open_only = true;
        q.limit = 1000;
        for (;;) {
            Page<OrderRecord> page = storage_.list_orders(q);
            for (const auto& rec : page.items)
                if (!mine.count(rec.id) && can_cancel(rec.status))
                    if (EntryPtr e = load(rec.id)) take(e);
            if (page.next_cursor.empty()) break;
            q.cursor = page.next_cursor;
        }
    } catch (const sdk::Error& err) {
        return fail(storage_error(err, StorageAccess::Read, "list_orders", origin.request_id));
    }
    CancelAllResult out;
    // Then the venue's own list of open orders: one placed through an instance whose writes this
    // store never saw (or lost) is still a live order at the broker. Each is first taken into
    // storage as reconciliation would (a known order takes the venue's state; an unknown one is
    // adopted as external), then cancelled like the rest. A venue that cannot list, or does not
    // answer, does not stop the kill switch: what is known is cancelled and the answer says the
    // venue was not checked.
    if (!r->broker->has(OG_CAP_REPORT_OPEN_ORDERS)) {
        out.venue_error = Error::make(ErrorCode::BrokerUnavailable,
                                      "broker '" + r->name +
                                          "' does not report open orders: only the orders "
                                          "storage knows were cancelled");
    } else {
        const auto t0 = std::chrono::steady_clock::now();
        Status listed = Status::Ok;
        try {
            std::string cursor;
            do {
                auto page = r->broker->list_orders_page(account_id, true, 0, cursor, 500);
                for (const auto& report : page.items) {
                    if (!can_cancel(report.status)) continue;
                    EntryPtr e = load_for_report(r->name, account_id, report.client_order_id,
                                                 report.broker_order_id);
                    if (e) {
                        std::lock_guard lock(e->mutex);
                        if (mine.count(e->rec.id)) continue;
                    }
                    ReconcileResult rr = reconcile_order(r->name, report, 0);
                    if (rr.result == Reconciled::Failed) {
                        out.failed.emplace_back(
                            report.broker_order_id.empty() ? report.client_order_id
                                                           : "broker:" + report.broker_order_id,
                            std::string(code_name(ErrorCode::StorageUnavailable)));
                        continue;
                    }
                    e = load_for_report(r->name, account_id, report.client_order_id,
                                        report.broker_order_id);
                    if (!e) continue;
                    take(e);
                    std::string id;
                    {
                        std::lock_guard lock(e->mutex);
                        if (mine.count(e->rec.id)) continue;
                        id = e->rec.id;
                    }
                    // Stored as done, yet open at the venue (the state machine would not take
                    // it back): the venue's order is cancelled directly, and reconciliation
                    // settles what the order says.
                    BrokerAnswer a = call_broker(r->name, "cancel", [&] {
                        return r->broker->cancel_order(account_id, report.broker_order_id,
                                                       report.client_order_id, r->timeout);
                    });
                    if (a.status == Status::Ok) out.cancelled.push_back(id);
                    else
                        out.failed.emplace_back(
                            id, std::string(code_name(a.status == Status::Rejected
                                                          ? ErrorCode::BrokerRejected
                                                          : ErrorCode::BrokerUnavailable)));
                }
                cursor = page.next_cursor;
            } while (!cursor.empty());
        } catch (const sdk::Error& err) {
            listed = err.status();
            out.venue_error =
                Error::make(ErrorCode::BrokerUnavailable,
                            "broker '" + r->name + "' did not list its open orders (" +
                                std::string(ordergate::to_string(err.status())) + ": " +
                                client_text(err.what()) +
                                "): only the orders storage knows were cancelled");
        }
        record_broker_call(r->name, "list_open_orders", listed, t0);
    }
    for (auto& [id, e] : mine) {
        auto res = request_cancel(e, *r, origin, true);
        if (res) out.cancelled.push_back(id);
        else out.failed.emplace_back(id, std::string(code_name(res.error().code)));
    }
    return out;
}
}  // namespace ordergate::orders
