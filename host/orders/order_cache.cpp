#include "orders/order_service.hpp"

#include <stdexcept>

#include <spdlog/spdlog.h>

#include "common/ids.hpp"
#include "metrics/metrics.hpp"
#include "orders/order_service_internal.hpp"
#include "orders/state_machine.hpp"
#include "orders/storage_error.hpp"

namespace ordergate::orders {

using detail::key2;
using detail::kStorageUnreachable;
using detail::kVersionConflict;

namespace {

constexpr std::string_view kClientIdPrefix = "client_order_id:";

}  // namespace

OrderService::EntryPtr OrderService::cached(const std::string& id) const {
    std::shared_lock lock(cache_mutex_);
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : it->second;
}

OrderService::EntryPtr OrderService::find_by_client_id(const std::string& account,
                                                       const std::string& cid) const {
    std::shared_lock lock(cache_mutex_);
    auto it = by_client_id_.find(key2(account, cid));
    if (it == by_client_id_.end()) return nullptr;
    auto e = by_id_.find(it->second);
    return e == by_id_.end() ? nullptr : e->second;
}

OrderService::EntryPtr OrderService::find_by_broker_id(const std::string& broker,
                                                       const std::string& boid) const {
    std::shared_lock lock(cache_mutex_);
    auto it = by_broker_id_.find(key2(broker, boid));
    if (it == by_broker_id_.end()) return nullptr;
    auto e = by_id_.find(it->second);
    return e == by_id_.end() ? nullptr : e->second;
}

void OrderService::remember(const EntryPtr& e) {
    std::unique_lock lock(cache_mutex_);
    // Only the owner of a new entry, or recovery, calls this: the record is not shared yet.
    const OrderRecord& r = e->rec;
    by_id_[r.id] = e;
    by_client_id_[key2(r.account_id, r.client_order_id)] = r.id;
    if (!r.broker_order_id.empty()) by_broker_id_[key2(r.broker, r.broker_order_id)] = r.id;
    if (metrics_) metrics_->set_open_orders(static_cast<double>(by_id_.size()));
}

void OrderService::erase_locked(const OrderRecord& r) {
    by_id_.erase(r.id);
    std::string cid_key = key2(r.account_id, r.client_order_id);
    by_client_id_.erase(cid_key);
    if (is_terminal(r.status) && !r.client_order_id.empty()) finished_.insert(std::move(cid_key));
    if (!r.broker_order_id.empty()) by_broker_id_.erase(key2(r.broker, r.broker_order_id));
    if (metrics_) metrics_->set_open_orders(static_cast<double>(by_id_.size()));
}

bool OrderService::recently_finished(const std::string& account, const std::string& cid) const {
    std::shared_lock lock(cache_mutex_);
    return finished_.contains(key2(account, cid));
}

void OrderService::index_broker_id(const std::string& broker, const std::string& boid,
                                   const std::string& id) {
    std::unique_lock lock(cache_mutex_);
    if (by_id_.count(id)) by_broker_id_[key2(broker, boid)] = id;
}

void OrderService::forget_if_terminal(const std::string& id, int64_t version) {
    EntryPtr e = cached(id);
    if (!e) return;
    // Called on the writer thread: never wait for an entry's mutex here (its holder may be
    // waiting for this very thread). An entry in use is kept; a later write evicts it.
    std::unique_lock entry_lock(e->mutex, std::try_to_lock);
    if (!entry_lock.owns_lock()) {
        std::lock_guard lock(evict_mutex_);
        evict_later_.emplace_back(id, version);
        evict_pending_.store(true, std::memory_order_release);
        return;
    }
    if (e->rec.version != version || !is_terminal(e->rec.status)) return;
    std::unique_lock lock(cache_mutex_);
    erase_locked(e->rec);
}

void OrderService::evict_deferred() {
    if (!evict_pending_.load(std::memory_order_acquire)) return;
    std::vector<std::pair<std::string, int64_t>> deferred;
    {
        std::lock_guard lock(evict_mutex_);
        deferred.swap(evict_later_);
        evict_pending_.store(false, std::memory_order_release);
    }
    for (const auto& [id, version] : deferred) {
        EntryPtr e = cached(id);
        if (!e) continue;
        std::lock_guard entry_lock(e->mutex);
        // A newer version means a newer write, which evicts the entry when it lands.
        if (e->rec.version != version || !is_terminal(e->rec.status)) continue;
        std::unique_lock lock(cache_mutex_);
        erase_locked(e->rec);
    }
}

OrderService::EntryPtr OrderService::load(const std::string& id) {
    if (auto e = cached(id)) return e;
    std::optional<OrderRecord> rec = storage_.get_order(id);
    if (!rec) return nullptr;
    return entry_of(std::move(*rec));
}

OrderService::EntryPtr OrderService::entry_of(OrderRecord rec) {
    const std::string id = rec.id;
    if (auto e = cached(id)) return e;
    auto e = std::make_shared<Entry>();
    e->rec = std::move(rec);
    // Terminal orders stay in storage only: the cache holds live orders, so it is bounded by
    // them and never grows with history. A change to a terminal order (a late fill) is written
    // with its version check like any other.
    if (is_terminal(e->rec.status)) return e;
    std::unique_lock lock(cache_mutex_);
    auto [it, inserted] = by_id_.emplace(id, e);
    if (!inserted) return it->second;  // another thread loaded it first
    by_client_id_[key2(e->rec.account_id, e->rec.client_order_id)] = id;
    if (!e->rec.broker_order_id.empty())
        by_broker_id_[key2(e->rec.broker, e->rec.broker_order_id)] = id;
    return e;
}

OrderService::EntryPtr OrderService::load_for_report(const std::string& broker,
                                                     const std::string& account,
                                                     const std::string& cid,
                                                     const std::string& boid) {
    // Match by client order id first: broker order ids are not unique forever (DESIGN.md).
    if (!cid.empty() && !account.empty()) {
        if (auto e = find_by_client_id(account, cid)) return e;
    }
    if (!boid.empty()) {
        if (auto e = find_by_broker_id(broker, boid)) return e;
    }
    std::optional<OrderRecord> rec;
    if (!cid.empty() && !account.empty()) rec = storage_.get_order_by_client_id(account, cid);
    if (!rec && !boid.empty()) rec = storage_.get_order_by_broker_id(broker, boid);
    if (!rec && !cid.empty()) {
        // ABI 1.4: a venue naming the order by the id of one of its modifies or cancels (FIX
        // ClOrdID): the order's request chain, in memory or in its stored events.
        EntryPtr chained = find_by_request_id(account, cid);
        if (!chained) return nullptr;
        std::lock_guard lock(chained->mutex);
        return chained->rec.broker == broker ? chained : nullptr;
    }
    if (!rec || rec->broker != broker) return nullptr;
    return entry_of(std::move(*rec));
}

OrderService::EntryPtr OrderService::find_by_request_id(const std::string& account,
                                                        const std::string& request_id) {
    if (account.empty() || request_id.empty()) return nullptr;
    std::string id;
    {
        std::lock_guard lock(request_ids_mutex_);
        auto it = by_request_id_.find(account + '\0' + request_id);
        if (it != by_request_id_.end()) id = it->second;
    }
    if (!id.empty()) return load(id);
    // Issued before a restart (or by another gateway instance): the order's events hold it.
    std::optional<OrderRecord> rec;
    try {
        rec = storage_.get_order_by_request_id(account, request_id);
    } catch (const sdk::Error& err) {
        if (err.status() == Status::Unsupported) return nullptr;  // a store older than ABI 1.4
        throw;
    }
    if (!rec) return nullptr;
    return entry_of(std::move(*rec));
}

Result<OrderService::EntryPtr> OrderService::resolve(const std::string& id,
                                                     const AccountScope& scope) {
    try {
        if (id.rfind(kClientIdPrefix, 0) == 0) {
            std::string cid = id.substr(kClientIdPrefix.size());
            if (cid.empty()) return fail(ErrorCode::NotFound, "order not found");
            for (const auto& a : accounts_) {
                if (!scope.allows(a.account_id)) continue;
                if (auto e = find_by_client_id(a.account_id, cid)) return e;
                if (auto rec = storage_.get_order_by_client_id(a.account_id, cid))
                    return entry_of(std::move(*rec));
            }
            return fail(ErrorCode::NotFound, "order not found");
        }
        if (!ids::looks_like(id, "ord_")) return fail(ErrorCode::NotFound, "order not found");
        EntryPtr e = load(id);
        if (!e) return fail(ErrorCode::NotFound, "order not found");
        std::string account;
        {
            std::lock_guard lock(e->mutex);
            account = e->rec.account_id;
        }
        if (!scope.allows(account)) return fail(ErrorCode::NotFound, "order not found");
        return e;
    } catch (const sdk::Error& err) {
        return fail(storage_error(err, StorageAccess::Read, "get_order"));
    }
}

// ---- changes ------------------------------------------------------------------------------------

OrderEvent OrderService::make_event(const OrderRecord& next, std::optional<OrderStatus> from,
                                    EventSource source, const std::string& request_id,
                                    std::string reason, bool emulated) const {
    OrderEvent ev;
    ev.order_id = next.id;
    ev.seq = next.version;
    ev.from_status = from;
    ev.to_status = next.status;
    ev.source = source;
    ev.reason = std::move(reason);
    ev.request_id = request_id;
    ev.broker_order_id = next.broker_order_id;
    ev.filled_quantity = next.filled_quantity;
    ev.emulated = emulated;
    ev.at_ns = next.updated_at_ns;
    return ev;
}

bool OrderService::commit_change(Entry& e, OrderRecord next, OrderEvent event, bool wait,
                                 std::string* error, Stash* stash,
                                 std::unique_lock<std::mutex>* lock) {
    const OrderStatus from = e.rec.status;
    // A terminal order changes only by facts (a late fill, a broker id learnt late): never by a
    // repeated terminal report.
    const bool terminal_repeat = from == next.status && is_terminal(from) &&
                                 next.filled_quantity == e.rec.filled_quantity &&
                                 next.broker_order_id == e.rec.broker_order_id;
    if (terminal_repeat || !is_consistent(next.status, next.quantity, next.filled_quantity)) {
        spdlog::error("event=inconsistent_change order_id={} status={} quantity={} filled={} "
                      "source={}",
                      e.rec.id, to_string(next.status), next.quantity.to_string(),
                      next.filled_quantity.to_string(), to_string(event.source));
        if (metrics_) metrics_->illegal_transition(to_string(from), to_string(next.status));
        if (error) *error = "inconsistent change to " + std::string(to_string(next.status));
        return false;
    }
    if (from != next.status && !is_legal_transition(from, next.status)) {
        spdlog::error(
            "event=illegal_transition order_id={} client_order_id={} broker={} transition=\"{}\" "
            "source={}",
            e.rec.id, e.rec.client_order_id, e.rec.broker,
            describe_transition(from, next.status), to_string(event.source));
        if (metrics_) metrics_->illegal_transition(to_string(from), to_string(next.status));
        if (error) *error = "illegal transition " + describe_transition(from, next.status);
        return false;
    }
    const int64_t expected = e.rec.version;
    next.version = expected + 1;
    next.updated_at_ns = now_ns();
    event.order_id = next.id;
    event.seq = next.version;
    event.from_status = from;
    event.to_status = next.status;
    event.broker_order_id = next.broker_order_id;
    event.filled_quantity = next.filled_quantity;
    event.at_ns = next.updated_at_ns;

    WriteOp op;
    op.kind = WriteKind::UpdateOrder;
    op.expected_version = expected;
    op.order = next;
    op.event = std::move(event);
    const bool terminal = is_terminal(next.status);
    const std::string id = next.id;
    const int64_t version = next.version;
    if (wait && stash && e.place_waiting && from == OrderStatus::PendingNew &&
        next.status != OrderStatus::PendingNew && lock && lock->owns_lock() &&
        !stash->holds(&e)) {
        // The acknowledgement (or reject) a place() is waiting for, pushed through the event
        // sink (ABI 1.4): applied as the same answer returned by the call would be, memory at
        // once and the write behind it, so the place answers now rather than after the stash's
        // commit. The write is queued ahead of the stash's later writes of this order (a fill
        // in the same batch), and a write that does not land has the order re-read and its
        // broker reconciled, as for any answered change.
        wait = false;
        stash = nullptr;
    }
    if (wait && stash) {
        // A batched event: the write joins the stash's, and memory moves now (the stash keeps
        // the order locked until the commit is seen).
        EntryPtr owner = stash->current;
        if (!lock || owner.get() != &e || (!lock->owns_lock() && !stash->holds(&e)))
            throw std::logic_error("commit_change: a stashed change without its entry's lock");
        std::vector<WriteOp> ops;
        ops.push_back(std::move(op));
        stash_change(*stash, owner, std::move(*lock), std::move(ops),
                     [this, owner, id, terminal](const std::vector<Status>* results,
                                                 const std::exception* err,
                                                 bool released) -> bool {
                         if (err) {
                             spdlog::error("event=order_write_failed order_id={} error=\"{}\"", id,
                                           err->what());
                             return false;
                         }
                         if ((*results)[0] != Status::Ok) {
                             spdlog::warn("event=order_write_conflict order_id={} "
                                          "detail=\"re-read from storage\"",
                                          id);
                             return false;
                         }
                         if (released) return true;
                         owner->changed.notify_all();  // a place/modify/cancel may wait (1.4)
                         if (terminal && is_terminal(owner->rec.status)) {
                             std::unique_lock cl(cache_mutex_);
                             erase_locked(owner->rec);
                         }
                         return true;
                     });
        e.rec = std::move(next);
        return true;
    }
    if (wait) {
        std::vector<WriteOp> ops;
        ops.push_back(std::move(op));
        try {
            return committed_change(e, std::move(next), writer_.write(std::move(ops)), error);
        } catch (const std::exception& ex) {
            spdlog::error("event=order_write_failed order_id={} error=\"{}\"", id, ex.what());
            const auto* se = dynamic_cast<const sdk::Error*>(&ex);
            if (error)
                *error = se && storage_unreachable(se->status()) ? kStorageUnreachable
                                                                 : "storage refused the write";
            return false;
        }
    }
    OrderRecord keys;  // what the callback needs to drop the order from the cache indexes
    keys.id = next.id;
    keys.account_id = next.account_id;
    keys.client_order_id = next.client_order_id;
    keys.broker = next.broker;
    keys.broker_order_id = next.broker_order_id;
    e.rec = std::move(next);
    e.changed.notify_all();  // a place/modify/cancel may wait for this (ABI 1.4)
    std::vector<WriteOp> ops;
    ops.push_back(std::move(op));
    writer_.write_async(std::move(ops), [this, keys = std::move(keys), version, terminal](
                                            const std::vector<Status>* results,
                                            std::exception_ptr err) {
        if (err || (*results)[0] != Status::Ok) {
            // The change is applied in memory and the answer was given; storage missed it (an
            // error past the writer's retries, or another gateway changed the row first). Memory
            // is ahead of storage: the order leaves the cache, so the next reader takes storage's
            // row, and its broker is reconciled now so the venue's state is written again.
            spdlog::error("event=write_behind_failed order_id={} version={} reason={} "
                          "detail=\"re-read from storage; reconciliation asked for\"",
                          keys.id, version, err ? "storage error" : "version conflict");
            if (metrics_) metrics_->broker_event(keys.broker, "write_behind", "failed");
            {
                std::unique_lock lock(cache_mutex_);
                erase_locked(keys);
            }
            std::function<void(const std::string&, const std::string&)> ask;
            {
                std::lock_guard lock(reconcile_request_mutex_);
                ask = reconcile_request_;
            }
            if (ask) ask(keys.broker, "write_behind");
            return;
        }
        if (terminal) forget_if_terminal(keys.id, version);
    }, /*keep_until_written=*/true);
    return true;
}

bool OrderService::committed_change(Entry& e, OrderRecord next,
                                    const std::vector<Status>& results, std::string* error) {
    if (results[0] != Status::Ok) {
        // Another writer changed the order first: in this process a venue's event or a
        // reconciliation run racing this change, or another gateway instance. Storage's version
        // is taken; the change is not applied, and the caller is told (kVersionConflict).
        spdlog::warn(
            "event=order_write_conflict order_id={} expected_version={} detail=\"the stored "
            "order changed first (a venue event, a reconciliation run or another gateway); "
            "its stored state is taken\"",
            next.id, next.version - 1);
        if (error) *error = kVersionConflict;
        try {
            if (auto fresh = storage_.get_order(next.id)) e.rec = std::move(*fresh);
        } catch (const sdk::Error& ex) {
            spdlog::error("event=storage_read_failed op=get_order error=\"{}\"", ex.what());
        }
        return false;
    }
    const bool terminal = is_terminal(next.status);
    e.rec = std::move(next);
    e.changed.notify_all();  // a place/modify/cancel may wait for this (ABI 1.4)
    if (terminal) {
        std::unique_lock lock(cache_mutex_);
        erase_locked(e.rec);
    }
    return true;
}
}  // namespace ordergate::orders
