#include "orders/batch_writer.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <iterator>

#include "common/thread_name.hpp"
#include "metrics/metrics.hpp"

namespace ordergate::orders {

BatchWriter::BatchWriter(ports::StoragePort& storage, metrics::Metrics* metrics, size_t max_ops,
                         std::chrono::microseconds linger)
    : storage_(storage), metrics_(metrics), max_ops_(max_ops), linger_(linger) {
    thread_ = std::thread([this] {
        name_this_thread("og-writer");
        run();
    });
}

BatchWriter::~BatchWriter() { stop(); }

void BatchWriter::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) {
            if (!thread_.joinable()) return;
        }
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

std::vector<Status> BatchWriter::write(std::vector<WriteOp> ops) {
    std::promise<std::vector<Status>> promise;
    auto future = promise.get_future();
    write_async(std::move(ops), [&promise](const std::vector<Status>* results,
                                           std::exception_ptr error) {
        if (error) promise.set_exception(error);
        else promise.set_value(*results);
    });
    return future.get();
}

void BatchWriter::write_async(std::vector<WriteOp> ops, Done done, bool keep_until_written,
                              bool waited) {
    waited = waited && keep_until_written;
    if (!ops.empty()) ops.front().requires_previous = false;
    // The event log's documents, rendered here, off the writer's serial cycle.
    std::vector<std::string> rendered;
    if (ChangeJournal* journal = journal_.load(); journal && !ops.empty())
        rendered = journal->render_ahead(ops);
    bool wake = true;
    {
        std::lock_guard lock(mutex_);
        if (stopping_) {
            auto err = std::make_exception_ptr(
                sdk::Error(Status::Unavailable, "storage writer is stopped"));
            if (done) done(nullptr, err);
            return;
        }
        queue_.push_back(Pending{std::move(ops), std::move(rendered), std::move(done),
                                 keep_until_written, waited});
        if (!keep_until_written) ++urgent_;
        else ++answered_queued_;
        if (waited) ++waited_keep_;
        // A write-behind joining others that already linger changes nothing the writer waits
        // for: no wake-up.
        wake = !keep_until_written || waited || queue_.size() == 1 || queue_.size() >= max_ops_;
    }
    if (wake) wake_.notify_one();
}

void BatchWriter::flush() {
    {
        std::lock_guard lock(mutex_);
        // Nothing queued and no batch in the writer's hands: everything queued before this call
        // is written already, so a read that flushes first costs one lock, not a wake-up.
        if (queue_.empty() && !busy_) return;
    }
    std::promise<void> promise;
    auto future = promise.get_future();
    write_async({}, [&promise](const std::vector<Status>*, std::exception_ptr) {
        promise.set_value();
    });
    future.wait();
}

void BatchWriter::flush_answered() {
    {
        std::lock_guard lock(mutex_);
        // A waited-for write (an intent) is not answered until it is written: a reader need not
        // wait for one, even one stuck in a store that hangs.
        if (answered_queued_ == 0 && answered_in_flight_ == 0) return;
    }
    flush();
}

void BatchWriter::run() {
    std::vector<Pending> group;
    std::vector<WriteOp> ops;
    std::chrono::milliseconds backoff{0};  // while the store is unreachable
    size_t last_waiters = 0;  // waited-for requests in the last batch that had any
    constexpr std::chrono::milliseconds kMaxBackoff{500};
    for (;;) {
        if (backoff.count() > 0) {
            std::unique_lock lock(mutex_);
            // A request waiting to answer is not held back: it wakes the writer at once.
            wake_.wait_for(lock, backoff, [this] { return stopping_ || urgent_ > 0; });
        }
        {
            std::unique_lock lock(mutex_);
            busy_ = false;  // the last group is settled: every done() of it has run
            answered_in_flight_ = 0;
            wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty() && stopping_) return;
            if (urgent_ == 0 && waited_keep_ == 0 && last_waiters <= 1 &&
                backoff.count() == 0 && linger_.count() > 0) {
                // Only write-behind queued, and the last batch with waiting requests had one
                // request (light load, where a commit per ack would double the commits): let
                // the next waited-for write join it. Under load waited-for writes pile up
                // during every commit, and lingering for the first of them would only cut
                // batches short.
                wake_.wait_for(lock, linger_, [this] {
                    return stopping_ || urgent_ > 0 || waited_keep_ > 0 ||
                           queue_.size() >= max_ops_;
                });
            }
            size_t n = 0;
            while (!queue_.empty() && (group.empty() || n + queue_.front().ops.size() <= max_ops_)) {
                n += queue_.front().ops.size();
                if (!queue_.front().keep) {
                    --urgent_;
                } else {
                    --answered_queued_;
                    ++answered_in_flight_;
                    if (queue_.front().waited) {
                        queue_.front().waited = false;  // a retry after a failure may linger
                        --waited_keep_;
                    }
                }
                group.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
            busy_ = !group.empty();
        }
        ops.clear();
        rendered_.clear();
        size_t writers = 0, waiters = 0;
        for (auto& p : group) {
            writers += !p.ops.empty();
            waiters += !p.ops.empty() && !p.keep;
            for (auto& op : p.ops) ops.push_back(std::move(op));
            // Aligned with ops: a request without documents rendered ahead gets empty ones. A
            // request written again after a failure has none any more (annotate renders them).
            p.rendered.resize(p.ops.size());
            for (auto& r : p.rendered) rendered_.push_back(std::move(r));
            p.rendered.clear();
        }
        if (waiters > 0) last_waiters = waiters;  // batches of write-behind alone say nothing
        std::vector<Status> results;
        std::exception_ptr error;
        bool isolate = false;
        bool rolled_back = false;  // refused for its content (not an unreachable store)
        if (!ops.empty()) {
            error = write(ops, &rendered_, &results, &rolled_back);
            isolate = error && writers > 1 && rolled_back;
        }
        // Puts each request's ops back into it (they were moved into `ops`, in order), from
        // request `from` on.
        auto restore = [&](size_t from) {
            size_t at = 0;
            for (size_t i = 0; i < group.size(); ++i) {
                const size_t n = group[i].ops.size();
                if (i >= from) {
                    auto first = ops.begin() + static_cast<long>(at);
                    group[i].ops.assign(std::make_move_iterator(first),
                                        std::make_move_iterator(first + static_cast<long>(n)));
                }
                at += n;
            }
        };
        // Unreachable store: requests already answered for wait (in order, at the head of the
        // queue) and are retried after a back-off; the others fail now. On stop they fail too.
        auto hold_or_fail = [&](size_t from, const std::exception_ptr& err) {
            std::vector<Pending> kept;
            for (size_t i = from; i < group.size(); ++i) {
                Pending& p = group[i];
                if (p.keep) kept.push_back(std::move(p));
                else if (p.done) p.done(nullptr, err);
            }
            if (!kept.empty()) {
                std::unique_lock lock(mutex_);
                if (!stopping_) {
                    for (auto it = kept.rbegin(); it != kept.rend(); ++it)
                        queue_.push_front(std::move(*it));
                    answered_queued_ += kept.size();
                    kept.clear();
                }
            }
            for (auto& p : kept)
                if (p.done) p.done(nullptr, err);
            backoff = std::min(kMaxBackoff, backoff.count() == 0 ? std::chrono::milliseconds(20)
                                                                 : backoff * 2);
        };
        if (isolate) {
            // One request's bad op (a statement the store refused) must not fail the requests
            // that happened to share its transaction: the batch was rolled back, so each
            // request's ops are written again on their own, in order.
            spdlog::warn("event=storage_batch_split writers={} reason=\"a write was refused; "
                         "retrying each request alone\"",
                         writers);
            restore(0);
            for (size_t i = 0; i < group.size(); ++i) {
                Pending& p = group[i];
                std::vector<Status> mine;
                bool refused = false;
                std::exception_ptr err =
                    p.ops.empty() ? nullptr : write(p.ops, nullptr, &mine, &refused);
                if (err && !refused) {
                    // The store went away meanwhile: this request and the rest are handled as
                    // for an unreachable store (nothing answered for is dropped or reordered).
                    hold_or_fail(i, err);
                    break;
                }
                if (p.done) p.done(err ? nullptr : &mine, err);
            }
            group.clear();
            continue;
        }
        if (error && !rolled_back) {
            restore(0);
            hold_or_fail(0, error);
            group.clear();
            continue;
        }
        backoff = std::chrono::milliseconds(0);
        size_t at = 0;
        for (auto& p : group) {
            size_t n = p.ops.size();
            if (p.done) {
                if (error) {
                    p.done(nullptr, error);
                } else {
                    std::vector<Status> mine(results.begin() + static_cast<long>(at),
                                             results.begin() + static_cast<long>(at + n));
                    p.done(&mine, nullptr);
                }
            }
            at += n;
        }
        group.clear();
    }
}

std::exception_ptr BatchWriter::write(const std::vector<WriteOp>& ops,
                                      std::vector<std::string>* rendered,
                                      std::vector<Status>* results, bool* rolled_back) {
    std::exception_ptr error;
    auto t0 = std::chrono::steady_clock::now();
    bool answered = false;  // write_batch returned (its answer is then checked)
    ChangeJournal* journal = journal_.load();
    // Kept across batches (only the writer thread writes), so a batch reuses the last one's
    // room for its ops and entries.
    std::vector<WriteOp>& annotated = annotated_;
    std::vector<size_t>& index_of = index_of_;
    if (journal) journal->annotate(ops, &annotated, &index_of, rendered);
    const std::vector<WriteOp>& sent = journal ? annotated : ops;
    try {
        *results = storage_.write_batch(sent);
        answered = true;
        if (results->size() != sent.size())
            throw sdk::Error(Status::Internal, "storage returned " +
                                                   std::to_string(results->size()) +
                                                   " results for " + std::to_string(sent.size()) +
                                                   " writes");
        if (journal) {
            journal->committed(annotated, *results);
            // Callers get one result per op they queued; the entries' own are the journal's.
            std::vector<Status> mine;
            mine.reserve(ops.size());
            for (size_t at : index_of) mine.push_back((*results)[at]);
            *results = std::move(mine);
        }
    } catch (const sdk::Error& e) {
        spdlog::error("event=storage_batch_failed ops={} error=\"{}\"", ops.size(), e.what());
        error = std::current_exception();
        // Unavailable/Timeout: the store is down or slow, and writing each request again would
        // only multiply the wait. UnknownOutcome: the batch may be stored. Any other failure of
        // write_batch rolled the whole batch back (the storage contract), so its parts may be
        // written again; a malformed answer (the results check above) may not.
        *rolled_back = !answered && e.status() != Status::Unavailable &&
                       e.status() != Status::Timeout && e.status() != Status::UnknownOutcome;
    } catch (const std::exception& e) {
        spdlog::error("event=storage_batch_failed ops={} error=\"{}\"", ops.size(), e.what());
        error = std::current_exception();
    }
    if (metrics_) {
        const auto elapsed = std::chrono::steady_clock::now() - t0;
        metrics_->storage_batch(ops.size(), std::chrono::duration<double>(elapsed).count(), !error);
    }
    // The batch's records go now; the room stays for the next batch, unless a burst made it
    // large.
    constexpr size_t kKeptRoom = 256;
    annotated_.clear();
    if (annotated_.capacity() > kKeptRoom) std::vector<WriteOp>().swap(annotated_);
    return error;
}

}  // namespace ordergate::orders
