// Broker events applied in batches (SDK ABI 1.6, OG_CAP_BATCHED_EVENTS): see order_service.hpp,
// "batched broker events". A batched broker's sink call only queues; one thread per broker takes
// what is queued and applies it through the same handlers as a direct call, with a Stash: each
// change is computed under its order's lock and its write queued behind the others', and the
// stash settles once (one wait for the writer's group commit) for many events. Without this, a
// plugin's event thread waited for one commit per fill: under sustained load fills fell minutes
// behind the orders answered, and the plugin's own queue grew without bound.
#include <spdlog/spdlog.h>

#include <stdexcept>

#include "common/thread_name.hpp"
#include "metrics/metrics.hpp"
#include "orders/event_queue.hpp"
#include "orders/order_service.hpp"
#include "orders/order_service_internal.hpp"

namespace ordergate::orders {

namespace {
// How long a stash's writes are waited for with its orders locked before the locks are let go.
constexpr std::chrono::milliseconds kStashWaitUnderLock{1000};
// Changes per stash: bounds the orders one batch holds locked (and the writer's group).
constexpr size_t kMaxStashed = 256;
// How long a batched event of an order waits for the place() in flight to take its answer
// before the stash locks the order (see lock_for_event).
constexpr std::chrono::milliseconds kPlaceHandOff{2};
}  // namespace

// ---- the queue ----------------------------------------------------------------------------------

OrderService::EventQueue::EventQueue(OrderService& service, std::string broker)
    : service_(service), broker_(std::move(broker)) {
    thread_ = std::thread([this] {
        name_this_thread("og-events");
        run();
    });
}

OrderService::EventQueue::~EventQueue() { stop(); }

bool OrderService::EventQueue::push(Event event) {
    std::unique_lock lock(mutex_);
    // Full: the plugin's thread waits (back-pressure reaches the venue's own queue, and from
    // there the calls that feed it), rather than memory growing with a backlog.
    room_.wait(lock, [this] { return stopping_ || queue_.size() < kCapacity; });
    if (stopping_) return false;
    queue_.push_back(std::move(event));
    ++pushed_;
    if (queue_.size() == 1) work_.notify_one();
    return true;
}

Status OrderService::EventQueue::sync(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    const uint64_t target = pushed_;
    if (!done_.wait_for(lock, timeout, [&] { return applied_ >= target || stopped_; }))
        return Status::Timeout;
    return applied_ >= target ? Status::Ok : Status::Unavailable;
}

size_t OrderService::EventQueue::depth() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
}

void OrderService::EventQueue::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    work_.notify_all();
    room_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void OrderService::EventQueue::run() {
    std::vector<Event> batch;
    size_t waiting = 0;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) {  // stopping, and everything queued is applied
                stopped_ = true;
                done_.notify_all();
                return;
            }
            while (!queue_.empty() && batch.size() < kBatch) {
                batch.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
            waiting = queue_.size();
        }
        if (service_.metrics_) service_.metrics_->set_broker_events_queued(broker_, waiting + batch.size());
        room_.notify_all();
        service_.apply_batch(broker_, batch);
        {
            std::lock_guard lock(mutex_);
            applied_ += batch.size();
            waiting = queue_.size();
        }
        if (service_.metrics_) service_.metrics_->set_broker_events_queued(broker_, waiting);
        done_.notify_all();
        batch.clear();
    }
}

// ---- routing ------------------------------------------------------------------------------------

void OrderService::on_order_update(const std::string& broker, const OrderReport& report) {
    note_order_event(broker);
    if (hold_until_recovered(broker, &report, nullptr)) return;
    if (auto it = event_queues_.find(broker); it != event_queues_.end())
        if (it->second->push(report)) return;
    handle_order_update(broker, report);
}

void OrderService::on_fill(const std::string& broker, const Fill& fill) {
    note_order_event(broker);
    if (hold_until_recovered(broker, nullptr, &fill)) return;
    if (auto it = event_queues_.find(broker); it != event_queues_.end())
        if (it->second->push(fill)) return;
    handle_fill(broker, fill);
}

Status OrderService::sync_events(const std::string& broker, std::chrono::milliseconds timeout) {
    auto it = event_queues_.find(broker);
    if (it == event_queues_.end()) return Status::Ok;
    return it->second->sync(timeout);
}

void OrderService::stop_event_queues() {
    for (auto& [name, queue] : event_queues_) queue->stop();
}

// ---- applying a batch ---------------------------------------------------------------------------

void OrderService::apply_batch(const std::string& broker, std::vector<EventQueue::Event>& batch) {
    Stash stash;
    for (auto& ev : batch) {
        try {
            if (const auto* f = std::get_if<Fill>(&ev))
                handle_fill(broker, *f, EventSource::Broker, &stash);
            else
                handle_order_update(broker, std::get<OrderReport>(ev), &stash);
        } catch (const std::exception& ex) {
            // What was stashed before stays stashed; this event changed nothing (its lock, if
            // taken, was let go on the way out). Loud: the broker's record has it, and
            // reconciliation reads it again.
            spdlog::error("event=broker_event_failed broker={} error=\"{}\"", broker, ex.what());
            if (metrics_) metrics_->broker_event(broker, "event", "failed");
        }
        if (stash.items.size() >= kMaxStashed) settle(stash);
    }
    settle(stash);
}

std::unique_lock<std::mutex> OrderService::lock_for_event(const EntryPtr& e, Stash* stash) {
    if (!stash) return std::unique_lock(e->mutex);
    stash->current = e;
    // Held by this thread already (an earlier event of the batch changed it): the change builds
    // on that one's, under the same lock.
    if (stash->holds(e.get())) return std::unique_lock<std::mutex>();
    // Blocking here while holding the stash's locks cannot deadlock: whoever holds this order's
    // lock holds no other order's lock while it waits, and the writer never takes an order's
    // lock (see forget_if_terminal), so the stash's writes land whatever this waits for.
    std::unique_lock lock(e->mutex);
    if (e->place_waiting && e->rec.status != OrderStatus::PendingNew && stash->items.empty()) {
        // The place's answer is in memory (its acknowledgement, applied behind) and the place
        // has not taken it yet: once the stash holds the order, the place would wait for the
        // stash's commit. It takes its answer first (bounded: the place clears the flag when
        // it answers, and otherwise the stash goes on). Only for a batch's first change: under
        // load a batch carries many orders, and one hand-off each would hold all of them up
        // behind the places' wake-ups; their places wait for the batch's commit instead, which
        // settle() then asks for at once.
        e->changed.wait_for(lock, kPlaceHandOff, [&] { return !e->place_waiting; });
    }
    return lock;
}

void OrderService::stash_change(
    Stash& stash, const EntryPtr& e, std::unique_lock<std::mutex> lock, std::vector<WriteOp> ops,
    std::function<bool(const std::vector<Status>*, const std::exception*, bool)> finish) {
    if (!stash.holds(e.get())) {
        if (!lock.owns_lock())
            throw std::logic_error("stash_change: an order changed without its lock");
        stash.before.emplace(e.get(), std::make_pair(e, e->rec));
        stash.locks.push_back(std::move(lock));
    }
    Stash::Item item;
    item.entry = e;
    item.written = queue_fact(std::move(ops), /*waited=*/false);
    item.finish = std::move(finish);
    stash.items.push_back(std::move(item));
}

void OrderService::reread_after_batch(Entry& e) {
    e.notional.reset();
    try {
        if (auto fresh = storage_.get_order(e.rec.id)) e.rec = std::move(*fresh);
        // Fills stored beside a row that missed them (a version conflict behind a duplicate)
        // count now.
        if (!is_terminal(e.rec.status)) rederive_from_stored_fills(e, "a batched change re-read");
    } catch (const std::exception& ex) {
        // Memory may be ahead of storage: the order leaves the cache, so the next reader takes
        // storage's row, and reconciliation settles it with the broker.
        spdlog::error("event=storage_read_failed op=get_order order_id={} error=\"{}\" "
                      "detail=\"the order is dropped from memory\"",
                      e.rec.id, ex.what());
        std::unique_lock cl(cache_mutex_);
        erase_locked(e.rec);
        return;
    }
    if (is_terminal(e.rec.status)) {
        std::unique_lock cl(cache_mutex_);
        erase_locked(e.rec);
    }
    e.changed.notify_all();
}

void OrderService::settle(Stash& stash) {
    bool released = false;
    if (!stash.items.empty()) {
        // When a place() waits for an order of the stash, an empty waited write commits
        // everything queued at once. Otherwise nobody answering a client waits for these
        // writes (a place takes its pushed acknowledgement before the stash holds its order:
        // lock_for_event, commit_change), and under light load the writer lets them linger
        // (BatchWriter's linger, 2 ms) for the next waited-for write: a client's next order
        // commits them with its intent instead of after a commit of their own (with one client,
        // one commit per order instead of two or three).
        bool place_waits = false;
        for (const auto& [raw, kept] : stash.before) place_waits = place_waits || raw->place_waiting;
        if (place_waits) writer_.write_async({}, {});
        // Writes land in the order they were queued: the last one's answer means all answered.
        auto& last = stash.items.back().written;
        if (last.wait_for(kStashWaitUnderLock) != std::future_status::ready) {
            spdlog::warn(
                "event=event_writes_slow orders={} waited_ms={} detail=\"the orders are "
                "released unchanged while the store answers, and re-read after\"",
                stash.before.size(), kStashWaitUnderLock.count());
            for (auto& [raw, kept] : stash.before) {
                kept.first->rec = kept.second;
                kept.first->notional.reset();
            }
            stash.locks.clear();
            released = true;
            last.wait();
        }
    }
    std::unordered_set<const Entry*> reread;
    for (auto& item : stash.items) {
        std::vector<Status> results;
        std::exception_ptr failed;
        try {
            results = item.written.get();
        } catch (...) {
            failed = std::current_exception();
        }
        bool consistent = false;
        try {
            if (!failed) {
                consistent = item.finish(&results, nullptr, released);
            } else {
                try {
                    std::rethrow_exception(failed);
                } catch (const std::exception& ex) {
                    consistent = item.finish(nullptr, &ex, released);
                }
            }
        } catch (const std::exception& ex) {
            spdlog::error("event=broker_event_failed order_id={} error=\"{}\"",
                          item.entry->rec.id, ex.what());
        }
        if (!consistent) reread.insert(item.entry.get());
    }
    for (auto& [raw, kept] : stash.before) {
        if (!released && !reread.count(raw)) continue;
        std::unique_lock<std::mutex> relock;
        if (released) relock = std::unique_lock(kept.first->mutex);
        reread_after_batch(*kept.first);
    }
    stash.items.clear();
    stash.locks.clear();
    stash.before.clear();
    stash.trades.clear();
    stash.current.reset();
}

}  // namespace ordergate::orders
