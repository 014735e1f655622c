#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>

#include "common/ids.hpp"
#include "metrics/metrics.hpp"
#include "orders/order_service.hpp"
#include "orders/order_service_internal.hpp"
#include "orders/state_machine.hpp"
#include "positions/effective_fills.hpp"
#include "positions/position_book.hpp"

namespace ordergate::orders {

using detail::key2;

namespace {
// How long a fill's write is waited for under its order's lock before the lock is let go.
constexpr std::chrono::milliseconds kFactWaitUnderLock{1000};
}  // namespace

void OrderService::remember_stored_trade(const std::string& broker, const std::string& trade_id) {
    std::lock_guard lock(fills_mutex_);
    stored_trades_.insert(key2(broker, trade_id));
}

bool OrderService::recently_stored_trade(const std::string& broker, const std::string& trade_id) {
    std::lock_guard lock(fills_mutex_);
    return stored_trades_.contains(key2(broker, trade_id));
}

OrderService::FillOutcome OrderService::handle_fill(const std::string& broker, const Fill& fill,
                                                    EventSource source, Stash* stash) {
    using Kind = FillOutcome::Kind;
    {
        std::lock_guard lock(fills_mutex_);
        if (stored_trades_.contains(key2(broker, fill.broker_trade_id))) {
            if (metrics_) metrics_->broker_event(broker, "fill", "duplicate");
            return {Kind::Duplicate, ""};
        }
    }
    if (stash && stash->trades.count(key2(broker, fill.broker_trade_id))) {
        if (metrics_) metrics_->broker_event(broker, "fill", "duplicate");  // a resend in the batch
        return {Kind::Duplicate, ""};
    }
    EntryPtr e;
    try {
        e = load_for_report(broker, fill.account_id, fill.client_order_id, fill.broker_order_id);
    } catch (const sdk::Error& err) {
        // Nothing was stored or applied: the broker keeps the fill and reconciliation reads it
        // again. Loud, because a fill is waiting.
        spdlog::error(
            "event=fill_not_applied broker={} broker_trade_id={} reason=storage "
            "error=\"{}\"",
            broker, fill.broker_trade_id, err.what());
        if (metrics_) metrics_->broker_event(broker, "fill", "storage_error");
        return {Kind::StorageError, ""};
    }
    // Only a trade of a known order is applied through the stash; the rest (rare) is applied
    // here and now, after what the stash holds, so positions see every fill in its order.
    if (stash && (!e || fill.kind != FillKind::Trade)) settle(*stash);
    if (!e) {
        if (fill.kind != FillKind::Trade) {
            // A bust/correction of a trade of no order this host knows: nothing to take back.
            spdlog::error(
                "event=fill_change_unknown_trade broker={} kind={} broker_trade_id={} "
                "ref_trade_id={} detail=\"no order; left for reconciliation\"",
                broker, to_string(fill.kind), fill.broker_trade_id, fill.ref_trade_id);
            if (metrics_) metrics_->broker_event(broker, "fill", "change_unknown_trade");
            return {Kind::RefNotFound, ""};
        }
        return fill_without_order(broker, fill);
    }
    if (fill.kind != FillKind::Trade) return apply_fill_change(e, broker, fill, source);
    // An order the stash holds (locked by this thread) whose next change reads its stored fills
    // (its notional to rebuild, fills waiting to count) needs the stash's writes stored first.
    if (stash && stash->holds(e.get()) &&
        (e->fills_pending || ((!e->notional || !e->notional->covers(e->rec.filled_quantity)) &&
                              !e->rec.filled_quantity.is_zero())))
        settle(*stash);
    return apply_fill(e, broker, fill, source, stash);
}

FillRecord OrderService::fill_record(const std::string& broker, const Fill& fill) const {
    const int64_t now = now_ns();
    FillRecord fr;
    fr.id = ids::new_id("trd_", static_cast<uint64_t>(now / 1'000'000));
    fr.broker = broker;
    fr.broker_trade_id = fill.broker_trade_id;
    fr.account_id = fill.account_id;
    fr.symbol = fill.symbol;
    fr.exchange = fill.exchange;
    fr.side = fill.side;
    fr.quantity = fill.quantity;
    fr.price = fill.price;
    fr.fee = fill.fee;
    fr.executed_at_ns = fill.executed_at_ns ? fill.executed_at_ns : now;
    fr.kind = fill.kind;
    fr.ref_trade_id = fill.ref_trade_id;
    return fr;
}

void OrderService::apply_position(const std::string& broker, const FillRecord& fr) {
    if (!positions_) return;
    try {
        const auto pos = positions_->apply_fill(
            positions::PositionKey{fr.account_id, broker, fr.symbol, fr.exchange}, fr.side,
            fr.quantity, fr.price, fr.fee, fr.executed_at_ns);
        if (pos.out_of_range) {
            spdlog::error(
                "event=position_out_of_range broker={} broker_trade_id={} "
                "detail=\"a figure of the position exceeds the decimal range\"",
                broker, fr.broker_trade_id);
            if (metrics_) metrics_->broker_event(broker, "fill", "position_out_of_range");
        }
    } catch (const std::exception& ex) {
        // The fill is stored: a restart rebuilds positions from storage. Loud and counted.
        spdlog::error("event=position_not_updated broker={} broker_trade_id={} error=\"{}\"",
                      broker, fr.broker_trade_id, ex.what());
        if (metrics_) metrics_->broker_event(broker, "fill", "position_error");
    }
}

std::vector<Status> OrderService::write_fact(std::vector<WriteOp> ops) {
    return queue_fact(std::move(ops)).get();
}

std::future<std::vector<Status>> OrderService::queue_fact(std::vector<WriteOp> ops,
                                                           bool waited) {
    // Shared with the writer: the caller may wait on the future after letting go of locks.
    auto done = std::make_shared<std::promise<std::vector<Status>>>();
    auto result = done->get_future();
    writer_.write_async(
        std::move(ops),
        [done](const std::vector<Status>* r, std::exception_ptr err) {
            if (err)
                done->set_exception(err);
            else
                done->set_value(*r);
        },
        /*keep_until_written=*/true, waited);
    return result;
}

void OrderService::fill_refused(const std::string& broker, const FillRecord& fr,
                                const std::string& what) {
    bool own = false;
    try {
        OrderRecord order;
        order.id = fr.order_id;
        order.account_id = fr.account_id;
        for_each_stored_record(storage_, order, [&](const FillRecord& f) {
            own = own || (f.broker == broker && f.broker_trade_id == fr.broker_trade_id);
        });
    } catch (const std::exception& ex) {
        // Unknown which: said so, and counted as the duplicate it most often is.
        spdlog::error(
            "event=storage_read_failed op=list_fills {} detail=\"a fill refused as stored: "
            "a duplicate, or a trade id the venue gave again\" error=\"{}\"",
            what, ex.what());
        own = true;
    }
    if (own) {
        spdlog::info("event=fill_duplicate {}", what);
        if (metrics_) metrics_->broker_event(broker, "fill", "duplicate");
        return;
    }
    spdlog::error(
        "event=fill_trade_id_taken {} quantity={} price={} detail=\"the venue gave this "
        "execution a trade id another fill has in storage: not stored, the order and its "
        "position miss it; settle it with the venue\"",
        what, fr.quantity.to_string(), fr.price.to_string());
    if (metrics_) metrics_->broker_event(broker, "fill", "trade_id_taken");
}

OrderService::FillOutcome OrderService::fill_without_order(const std::string& broker,
                                                           const Fill& fill) {
    using Kind = FillOutcome::Kind;
    {
        std::lock_guard lock(park_mutex_);
        auto it = places_in_flight_.find(broker);
        if (it != places_in_flight_.end() && it->second > 0 && parked_fills_.size() < 100'000) {
            parked_fills_.emplace_back(broker, fill);
            if (metrics_) metrics_->broker_event(broker, "fill", "parked");
            return {Kind::Parked, ""};
        }
    }
    // Not ours (placed elsewhere) or never acknowledged: stored as the fact it is, without an
    // order; reconciliation adopts the order it belongs to.
    spdlog::warn(
        "event=fill_for_unknown_order broker={} broker_trade_id={} broker_order_id={} "
        "client_order_id={}",
        broker, fill.broker_trade_id, fill.broker_order_id, fill.client_order_id);
    FillRecord fr = fill_record(broker, fill);
    std::vector<WriteOp> ops(1);
    ops[0].kind = WriteKind::InsertFill;
    ops[0].fill = fr;
    std::vector<Status> r;
    try {
        r = write_fact(std::move(ops));
    } catch (const std::exception& ex) {
        spdlog::error(
            "event=fill_not_applied broker={} broker_trade_id={} reason=storage "
            "error=\"{}\"",
            broker, fr.broker_trade_id, ex.what());
        if (metrics_) metrics_->broker_event(broker, "fill", "storage_error");
        return {Kind::StorageError, ""};
    }
    remember_stored_trade(broker, fr.broker_trade_id);
    if (r[0] == Status::Conflict) {
        if (metrics_) metrics_->broker_event(broker, "fill", "duplicate");
        return {Kind::Duplicate, ""};
    }
    apply_position(broker, fr);
    if (metrics_) metrics_->broker_event(broker, "fill", "unknown_order");
    return {Kind::StoredUnmatched, ""};
}

OrderService::FillOutcome OrderService::apply_fill(const EntryPtr& e, const std::string& broker,
                                                   const Fill& fill, EventSource source,
                                                   Stash* stash) {
    using Kind = FillOutcome::Kind;
    FillRecord fr = fill_record(broker, fill);
    std::unique_lock lock = lock_for_event(e, stash);
    // A copy: the change may be applied after the lock was let go (a batched event, a slow store).
    const OrderRecord cur = e->rec;
    fr.order_id = cur.id;
    // A venue's report may not carry every term (a FIX report has no exchange; a plugin that
    // learned the order from one cannot know it): the order's own instrument keys its position.
    if (fr.account_id.empty()) fr.account_id = cur.account_id;
    if (fr.symbol.empty()) fr.symbol = cur.symbol;
    if (fr.exchange.empty()) fr.exchange = cur.exchange;
    const std::string what = "order_id=" + cur.id + " broker_trade_id=" + fr.broker_trade_id;

    // What the fill does to its order; nullopt: the fill is stored but the order is left alone
    // (loud), and a restart or reconciliation settles it.
    std::optional<OrderRecord> next;
    FillNotional notional;
    std::string reason = "fill " + fr.broker_trade_id;
    const Decimal filled = cur.filled_quantity + fr.quantity;
    if (filled > cur.quantity || is_terminal(cur.status)) {
        // A done order, or one this fill would overfill: most often the trade is one of its own
        // already (a venue's resend, reconciliation listing what the event stream brought, after
        // the trade-id cache was emptied). Its stored fills say so, and nothing is written.
        bool known = false;
        try {
            for_each_stored_record(storage_, cur, [&](const FillRecord& f) {
                known = known || (f.broker == broker && f.broker_trade_id == fr.broker_trade_id);
            });
        } catch (const std::exception& ex) {
            spdlog::error("event=storage_read_failed op=list_fills {} error=\"{}\"", what,
                          ex.what());
        }
        if (known) {
            remember_stored_trade(broker, fr.broker_trade_id);
            spdlog::info("event=fill_duplicate {}", what);
            if (metrics_) metrics_->broker_event(broker, "fill", "duplicate");
            return {Kind::Duplicate, cur.id};
        }
    }
    if (filled > cur.quantity) {
        // Never let the cumulative filled quantity exceed the order's.
        spdlog::error("event=overfill {} quantity={} filled={} fill={}", what,
                      cur.quantity.to_string(), cur.filled_quantity.to_string(),
                      fr.quantity.to_string());
        if (metrics_) metrics_->broker_event(broker, "fill", "overfill");
    } else {
        next = cur;
        next->filled_quantity = filled;
        // The average is one rounding of the exact notional (fill_math.hpp): it cannot overflow.
        if (!e->notional || !e->notional->covers(cur.filled_quantity))
            e->notional = rebuild_notional(storage_, cur);
        notional = *e->notional;
        notional.add(fr.quantity, fr.price);
        const AverageFillPrice average = notional.average(filled, options_.average_price_scale);
        next->average_fill_price = average.value;
        if (average.out_of_range) {
            spdlog::error("event=average_price_out_of_range {} detail=\"shown as {}\"", what,
                          average.value.to_string());
            if (metrics_) metrics_->broker_event(broker, "fill", "average_out_of_range");
        } else if (average.rounded) {
            spdlog::info("event=average_price_rounded {} scale={}", what, average.value.scale());
        }
        next->status = status_after_fill(cur.status, next->quantity, filled);
        if (e->modify_unsettled && cur.status == OrderStatus::PendingCancel &&
            next->status == OrderStatus::Filled)
            next->status = OrderStatus::PendingCancel;  // the lost modify may have raised it
        if (next->broker_order_id.empty() && !fill.broker_order_id.empty()) {
            next->broker_order_id = fill.broker_order_id;
            index_broker_id(broker, fill.broker_order_id, next->id);
        }
        if (is_terminal(cur.status)) {
            reason = "fill after " + std::string(to_string(cur.status)) + " (" +
                     fr.broker_trade_id + ")";
            spdlog::warn("event=fill_after_terminal {} status={}", what, to_string(cur.status));
        } else if (cur.status != next->status && !is_legal_transition(cur.status, next->status)) {
            spdlog::error("event=illegal_transition {} transition=\"{}\" source=broker", what,
                          describe_transition(cur.status, next->status));
            if (metrics_)
                metrics_->illegal_transition(to_string(cur.status), to_string(next->status));
            next.reset();
        }
    }
    std::vector<WriteOp> ops(1);
    ops[0].kind = WriteKind::InsertFill;
    ops[0].fill = fr;
    if (next) {
        next->version = cur.version + 1;
        next->updated_at_ns = now_ns();
        ops.emplace_back();
        ops[1].kind = WriteKind::UpdateOrder;
        ops[1].requires_previous = true;
        ops[1].expected_version = cur.version;
        ops[1].order = *next;
        ops[1].event = make_event(*next, cur.status, source, "", reason, false);
    }
    if (stash) {
        // Memory moves now (the stash keeps the order locked until the commit is seen); what
        // must follow the commit runs when the stash settles.
        const bool counted = next.has_value();
        const bool terminal_now = counted && is_terminal(next->status) && !is_terminal(cur.status);
        stash->trades.insert(key2(broker, fr.broker_trade_id));
        stash_change(
            *stash, e, std::move(lock), std::move(ops),
            [this, e, broker, fr, counted, terminal_now, what](
                const std::vector<Status>* r, const std::exception* err, bool released) -> bool {
                if (err) {
                    spdlog::error("event=fill_not_applied {} reason=storage error=\"{}\"", what,
                                  err->what());
                    if (metrics_) metrics_->broker_event(broker, "fill", "storage_error");
                    return false;
                }
                remember_stored_trade(broker, fr.broker_trade_id);
                if ((*r)[0] == Status::Conflict) {
                    // Storage had this trade id already: the order is re-read as storage has it.
                    fill_refused(broker, fr, what);
                    return false;
                }
                apply_position(broker, fr);
                if (released) return true;
                if (!counted) {
                    spdlog::error(
                        "event=fill_not_applied_to_order {} detail=\"stored; counted when the "
                        "order's terms allow it\"",
                        what);
                    if (metrics_) metrics_->broker_event(broker, "fill", "not_applied_to_order");
                    return true;
                }
                if ((*r)[1] == Status::Conflict) {
                    spdlog::warn("event=order_version_conflict {} detail=\"re-deriving from "
                                 "stored fills\"",
                                 what);
                    return false;
                }
                if (terminal_now && is_terminal(e->rec.status)) {
                    std::unique_lock cl(cache_mutex_);
                    erase_locked(e->rec);
                }
                if (metrics_) metrics_->broker_event(broker, "fill", "applied");
                return true;
            });
        if (counted) {
            e->rec = std::move(*next);
            e->notional = std::move(notional);
        } else {
            e->fills_pending = true;
        }
        return {Kind::Queued, cur.id};
    }
    std::vector<Status> r;
    bool stale = false;
    try {
        // The write is waited for (memory never runs ahead of storage), but not under the
        // order's lock for long: a store that does not answer would hold every request for this
        // order (the place() applying its ack, a read) until it came back. Past a short wait the
        // lock is let go while this plugin thread keeps waiting (back-pressure stays).
        std::future<std::vector<Status>> written = queue_fact(std::move(ops));
        if (written.wait_for(kFactWaitUnderLock) != std::future_status::ready) {
            spdlog::warn(
                "event=fill_write_slow {} waited_ms={} detail=\"the order is released "
                "while the store answers\"",
                what, kFactWaitUnderLock.count());
            lock.unlock();
            r = written.get();
            lock.lock();
            stale = e->rec.version != cur.version;
        } else {
            r = written.get();
        }
    } catch (const std::exception& ex) {
        spdlog::error("event=fill_not_applied {} reason=storage error=\"{}\"", what, ex.what());
        if (metrics_) metrics_->broker_event(broker, "fill", "storage_error");
        return {Kind::StorageError, cur.id};
    }
    return fill_written(*e, broker, fr, cur, std::move(next), std::move(notional), r, stale);
}

OrderService::FillOutcome OrderService::fill_written(Entry& e, const std::string& broker,
                                                     const FillRecord& fr, const OrderRecord& cur,
                                                     std::optional<OrderRecord> next,
                                                     FillNotional notional,
                                                     const std::vector<Status>& r, bool stale) {
    using Kind = FillOutcome::Kind;
    const std::string what = "order_id=" + cur.id + " broker_trade_id=" + fr.broker_trade_id;
    if (stale) {
        // The order changed while its lock was let go (its own writes queue behind this one):
        // it counts this fill once its row is re-derived from storage (a terms change, a
        // restart, or reconciliation after the write-behind conflict this causes).
        remember_stored_trade(broker, fr.broker_trade_id);
        if (r[0] == Status::Conflict) return {Kind::Duplicate, cur.id};
        apply_position(broker, fr);
        e.fills_pending = true;
        e.notional.reset();
        spdlog::warn("event=fill_applied_in_storage_only {}", what);
        return {Kind::StoredNotApplied, cur.id};
    }
    remember_stored_trade(broker, fr.broker_trade_id);
    if (r[0] == Status::Conflict) {
        // Storage has this trade id already (a replay, a PossDup, a restart): nothing changes.
        fill_refused(broker, fr, what);
        return {Kind::Duplicate, cur.id};
    }
    apply_position(broker, fr);
    if (!next) {
        // Stored, not counted: counted when the order's terms change (a modify the venue took
        // before its answer arrived) or at the next start. Loud and counted.
        e.fills_pending = true;
        spdlog::error(
            "event=fill_not_applied_to_order {} detail=\"stored; counted when the "
            "order's terms allow it\"",
            what);
        if (metrics_) metrics_->broker_event(broker, "fill", "not_applied_to_order");
        return {Kind::StoredNotApplied, cur.id};
    }
    const std::string order_id = cur.id;
    const bool after_terminal = is_terminal(cur.status);
    if (r[1] == Status::Conflict) {
        // Another writer changed the row meanwhile: take storage's version and count every
        // stored fill again.
        spdlog::warn("event=order_version_conflict {} detail=\"re-deriving from stored fills\"",
                     what);
        try {
            if (auto fresh = storage_.get_order(e.rec.id)) e.rec = std::move(*fresh);
            rederive_from_stored_fills(e, "fill applied after a concurrent change");
        } catch (const std::exception& ex) {
            spdlog::error(
                "event=fill_not_applied_to_order {} reason=storage error=\"{}\" "
                "detail=\"stored; applied at the next start\"",
                what, ex.what());
            if (metrics_) metrics_->broker_event(broker, "fill", "not_applied_to_order");
            return {Kind::StoredNotApplied, order_id};
        }
        return {after_terminal ? Kind::AppliedAfterTerminal : Kind::Applied, order_id};
    }
    const bool terminal = is_terminal(next->status) && !is_terminal(cur.status);
    e.rec = std::move(*next);
    e.notional = std::move(notional);
    if (terminal) {
        std::unique_lock cl(cache_mutex_);
        erase_locked(e.rec);
    }
    if (metrics_) metrics_->broker_event(broker, "fill", "applied");
    return {after_terminal ? Kind::AppliedAfterTerminal : Kind::Applied, order_id};
}

void OrderService::rebuild_position(const std::string& broker, const FillRecord& fr) {
    if (!positions_) return;
    const positions::PositionKey key{fr.account_id, broker, fr.symbol, fr.exchange};
    try {
        const auto pos = positions_->rebuild(
            key, positions::effective_fills(stored_fills_of_position(storage_, key)),
            fr.executed_at_ns);
        if (pos.out_of_range) {
            spdlog::error("event=position_out_of_range broker={} broker_trade_id={}", broker,
                          fr.broker_trade_id);
            if (metrics_) metrics_->broker_event(broker, "fill", "position_out_of_range");
        }
    } catch (const std::exception& ex) {
        // The record is stored: a restart rebuilds positions from storage. Loud and counted.
        spdlog::error("event=position_not_updated broker={} broker_trade_id={} error=\"{}\"",
                      broker, fr.broker_trade_id, ex.what());
        if (metrics_) metrics_->broker_event(broker, "fill", "position_error");
    }
}

OrderService::FillOutcome OrderService::apply_fill_change(const EntryPtr& e,
                                                          const std::string& broker,
                                                          const Fill& fill, EventSource source) {
    using Kind = FillOutcome::Kind;
    FillRecord fr = fill_record(broker, fill);
    const bool bust = fr.kind == FillKind::Bust;
    std::unique_lock lock(e->mutex);
    const OrderRecord cur = e->rec;
    fr.order_id = cur.id;
    const std::string what = "order_id=" + cur.id + " kind=" + std::string(to_string(fr.kind)) +
                             " broker_trade_id=" + fr.broker_trade_id +
                             " ref_trade_id=" + fr.ref_trade_id;
    std::vector<FillRecord> records;
    try {
        for_each_stored_record(storage_, cur, [&](const FillRecord& f) { records.push_back(f); });
    } catch (const std::exception& ex) {
        spdlog::error("event=fill_not_applied {} reason=storage error=\"{}\"", what, ex.what());
        if (metrics_) metrics_->broker_event(broker, "fill", "storage_error");
        return {Kind::StorageError, cur.id};
    }
    for (const FillRecord& r : records)
        if (r.broker == broker && r.broker_trade_id == fr.broker_trade_id) {
            if (metrics_) metrics_->broker_event(broker, "fill", "duplicate");
            return {Kind::Duplicate, cur.id};  // this bust/correction is stored already
        }
    // A venue naming the trade by the id of an earlier correction of it: the trade at the root.
    for (size_t hops = 0; hops <= records.size(); ++hops) {
        auto it = std::find_if(records.begin(), records.end(), [&](const FillRecord& r) {
            return r.broker == broker && r.broker_trade_id == fr.ref_trade_id &&
                   r.kind != FillKind::Trade;
        });
        if (it == records.end()) break;
        fr.ref_trade_id = it->ref_trade_id;
    }
    // The trade it acts on, as it stands (its latest correction applied; absent once busted).
    const std::vector<FillRecord> before = positions::effective_fills(records);
    const FillRecord* ref = nullptr;
    for (const FillRecord& r : before)
        if (r.broker == broker && r.broker_trade_id == fr.ref_trade_id) ref = &r;
    if (!ref) {
        spdlog::error(
            "event=fill_change_unknown_trade broker={} {} detail=\"the order has no such "
            "effective trade (never seen, or busted already); left for reconciliation\"",
            broker, what);
        if (metrics_) metrics_->broker_event(broker, "fill", "change_unknown_trade");
        return {Kind::RefNotFound, cur.id};
    }
    // The record names the trade's instrument and side whatever the venue's message carried;
    // a bust shows the quantity, price and fee it takes back.
    fr.account_id = ref->account_id;
    fr.symbol = ref->symbol;
    fr.exchange = ref->exchange;
    fr.side = ref->side;
    if (bust) {
        fr.quantity = ref->quantity;
        fr.price = ref->price;
        fr.fee = ref->fee;
    }
    records.push_back(fr);
    Decimal filled;
    FillNotional notional;
    for (const FillRecord& f : positions::effective_fills(records)) {
        filled = filled + f.quantity;
        notional.add(f.quantity, f.price);
    }
    std::optional<OrderRecord> next;
    if (filled > cur.quantity) {
        spdlog::error("event=overfill {} quantity={} filled={} detail=\"stored; the order is "
                      "left as it is\"",
                      what, cur.quantity.to_string(), filled.to_string());
        if (metrics_) metrics_->broker_event(broker, "fill", "overfill");
    } else {
        next = cur;
        next->filled_quantity = filled;
        next->average_fill_price =
            filled.is_zero() ? std::nullopt
                             : std::optional<Decimal>(
                                   notional.average(filled, options_.average_price_scale).value);
        next->status = status_after_fill_change(cur.status, cur.quantity, filled);
        next->version = cur.version + 1;
        next->updated_at_ns = now_ns();
    }
    std::vector<WriteOp> ops(1);
    ops[0].kind = WriteKind::InsertFill;
    ops[0].fill = fr;
    if (next) {
        ops.emplace_back();
        ops[1].kind = WriteKind::UpdateOrder;
        ops[1].requires_previous = true;
        ops[1].expected_version = cur.version;
        ops[1].order = *next;
        ops[1].event = make_event(*next, cur.status, source, "",
                                  std::string(bust ? "bust of " : "correction of ") +
                                      fr.ref_trade_id + " (" + fr.broker_trade_id + ")",
                                  false);
    }
    std::vector<Status> r;
    try {
        r = write_fact(std::move(ops));
    } catch (const std::exception& ex) {
        spdlog::error("event=fill_not_applied {} reason=storage error=\"{}\"", what, ex.what());
        if (metrics_) metrics_->broker_event(broker, "fill", "storage_error");
        return {Kind::StorageError, cur.id};
    }
    remember_stored_trade(broker, fr.broker_trade_id);
    if (r[0] == Status::Conflict) {
        if (metrics_) metrics_->broker_event(broker, "fill", "duplicate");
        return {Kind::Duplicate, cur.id};
    }
    rebuild_position(broker, fr);
    spdlog::warn("event=fill_changed {} filled_was={} filled_now={}", what,
                 cur.filled_quantity.to_string(), filled.to_string());
    if (!next) {
        e->fills_pending = true;
        if (metrics_) metrics_->broker_event(broker, "fill", "not_applied_to_order");
        return {Kind::StoredNotApplied, cur.id};
    }
    if (r[1] == Status::Conflict) {
        spdlog::warn("event=order_version_conflict {} detail=\"re-deriving from stored fills\"",
                     what);
        try {
            if (auto fresh = storage_.get_order(cur.id)) e->rec = std::move(*fresh);
            e->notional.reset();
        } catch (const std::exception& ex) {
            spdlog::error("event=fill_not_applied_to_order {} reason=storage error=\"{}\"", what,
                          ex.what());
        }
        return {Kind::StoredNotApplied, cur.id};
    }
    e->rec = std::move(*next);
    e->notional = std::move(notional);
    if (is_terminal(cur.status) && !is_terminal(e->rec.status)) {
        // Live again (FILLED -> PARTIALLY_FILLED): back in the cache of live orders.
        std::unique_lock cl(cache_mutex_);
        auto [it, inserted] = by_id_.emplace(e->rec.id, e);
        if (inserted) {
            by_client_id_[key2(e->rec.account_id, e->rec.client_order_id)] = e->rec.id;
            if (!e->rec.broker_order_id.empty())
                by_broker_id_[key2(e->rec.broker, e->rec.broker_order_id)] = e->rec.id;
            finished_.erase(key2(e->rec.account_id, e->rec.client_order_id));
        }
    }
    if (metrics_) metrics_->broker_event(broker, "fill", bust ? "bust_applied" : "correction_applied");
    return {Kind::Applied, cur.id};
}

OrderService::FillSums OrderService::stored_fill_sums(const OrderRecord& order) {
    FillSums sums;
    for_each_stored_fill(storage_, order, [&](const FillRecord& f) {
        sums.quantity = sums.quantity + f.quantity;
        sums.notional.add(f.quantity, f.price);
    });
    return sums;
}

bool OrderService::rederive_from_stored_fills(Entry& e, const char* why) {
    const OrderRecord& cur = e.rec;
    if (is_terminal(cur.status)) return false;
    const FillSums sums = stored_fill_sums(cur);
    const Decimal& qty = sums.quantity;
    if (qty == cur.filled_quantity) return true;
    if (qty > cur.quantity) {
        spdlog::error(
            "event=overfill order_id={} quantity={} stored_fills={} detail=\"left as "
            "it is\"",
            cur.id, cur.quantity.to_string(), qty.to_string());
        if (metrics_) metrics_->broker_event(cur.broker, "fill", "overfill");
        return false;
    }
    OrderRecord next = cur;
    next.filled_quantity = qty;
    next.average_fill_price =
        qty.is_zero() ? std::nullopt
                      : std::optional<Decimal>(
                            sums.notional.average(qty, options_.average_price_scale).value);
    e.notional = sums.notional;
    next.status = status_after_fill(cur.status, next.quantity, qty);
    spdlog::warn("event=fills_reapplied order_id={} filled_was={} filled_now={} why=\"{}\"", cur.id,
                 cur.filled_quantity.to_string(), qty.to_string(), why);
    if (metrics_) metrics_->broker_event(cur.broker, "fill", "reapplied");
    OrderEvent ev = make_event(next, cur.status, EventSource::Reconciliation, "",
                               std::string("stored fills re-applied: ") + why, false);
    return commit_change(e, std::move(next), std::move(ev), true);
}
}  // namespace ordergate::orders
