// ordergate::orders::BatchWriter — group commit in front of the storage port.
//
// Every write of the host goes through here. One writer thread takes everything queued while
// the previous transaction ran and writes it as ONE storage batch (one transaction, one flush),
// so N concurrent requests wait for one commit instead of N. Order is preserved: writes land in
// the order they were queued, so successive versions of one order are written in sequence.
//
// A failed batch fails every request in it when the store is unreachable (Unavailable, Timeout)
// or the outcome is unknown (UnknownOutcome). Any other failure (a statement the store refused)
// rolled the batch back, so the writer writes each request's ops again on their own, in order:
// only the request whose op is refused fails, not the ones that shared its transaction.
//
// Under light load write-behind (keep_until_written) writes linger: when nothing queued is
// waited for and the last batch that served waiting requests served one, the writer waits up to
// `linger` for a write that is (or for max_ops to fill up) before committing, so an ack or fill
// shares the next order's transaction instead of costing a commit of its own (with one client,
// one flush per order instead of two). A waited-for write is never held back.
//
// Threads: write(), write_async() and flush() may be called from any thread. Completion
// callbacks of write_async() run on the writer thread and must be quick and must not call back
// into the writer synchronously (write()); they may call write_async().
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "orders/change_journal.hpp"
#include "ports/ports.hpp"

namespace ordergate::metrics {
class Metrics;
}

namespace ordergate::orders {

class BatchWriter {
public:
    // Called with the per-op statuses, or with an exception (sdk::Error) when the batch failed.
    using Done = std::function<void(const std::vector<Status>* results, std::exception_ptr error)>;

    static constexpr std::chrono::microseconds kDefaultLinger{2000};
    BatchWriter(ports::StoragePort& storage, metrics::Metrics* metrics, size_t max_ops = 512,
                std::chrono::microseconds linger = kDefaultLinger);
    ~BatchWriter();  // flushes, then stops the thread
    BatchWriter(const BatchWriter&) = delete;
    BatchWriter& operator=(const BatchWriter&) = delete;

    // Queues `ops` (written together, in order) and waits until they are committed. Returns one
    // status per op (Ok or Conflict). Throws sdk::Error when the batch failed (nothing of it was
    // written). The first op must not carry requires_previous (it is cleared).
    std::vector<Status> write(std::vector<WriteOp> ops);
    // Queues without waiting (write-behind). `done` may be empty.
    // keep_until_written: the writes are facts already answered for (a broker's ack, a fill):
    // while the store is unreachable they stay queued, in order and ahead of later writes, and
    // are retried with a bounded back-off until they land (or the writer stops), instead of
    // failing. Everything else fails at once so its caller can answer 503.
    // waited: a keep_until_written write someone waits for all the same (a fact a plugin's
    // thread or the batched-event thread waits to see stored): it is never held back to linger.
    void write_async(std::vector<WriteOp> ops, Done done, bool keep_until_written = false,
                     bool waited = false);
    // Waits until everything queued before the call is written (or failed). Returns at once,
    // without waking the writer, when nothing is queued or being written.
    void flush();
    // Waits until every keep_until_written write queued before the call is written (or failed),
    // by a flush() when there is one; returns at once otherwise, even while a waited-for write is
    // in flight. Readers call it to see every change already answered to a client.
    void flush_answered();
    // Flushes and stops the writer thread; later writes throw sdk::Error(Unavailable).
    void stop();
    // From the next batch on, every batch gets the event log entries `journal` adds (null: none).
    // Results handed to callers stay one per op they queued. `journal` must outlive the writer.
    void set_journal(ChangeJournal* journal) { journal_.store(journal); }

private:
    struct Pending {
        std::vector<WriteOp> ops;
        // The journal's render_ahead() of ops, made by the thread that queued them (or empty).
        std::vector<std::string> rendered;
        Done done;
        bool keep = false;
        bool waited = false;  // keep, and waited for (counted in waited_keep_)
    };
    void run();
    // One storage batch; returns the failure (already logged), or null with *results set.
    // *rolled_back: the failure is a refusal that left nothing written, so the batch's parts
    // may be written again on their own.
    // `rendered`: the ops' documents rendered ahead (see Pending), or null.
    std::exception_ptr write(const std::vector<WriteOp>& ops, std::vector<std::string>* rendered,
                             std::vector<Status>* results, bool* rolled_back);

    ports::StoragePort& storage_;
    metrics::Metrics* metrics_;
    std::atomic<ChangeJournal*> journal_{nullptr};
    size_t max_ops_;
    std::chrono::microseconds linger_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Pending> queue_;
    size_t urgent_ = 0;  // queued writes someone waits for (not keep_until_written)
    size_t waited_keep_ = 0;  // queued keep_until_written writes someone waits for
    bool busy_ = false;  // the writer thread holds a group taken from the queue
    size_t answered_queued_ = 0;     // keep_until_written writes in queue_
    size_t answered_in_flight_ = 0;  // keep_until_written writes in the writer's group
    bool stopping_ = false;
    std::thread thread_;
    // The batch write() sends with the journal's entries, and where each queued op is in it:
    // the writer thread's alone.
    std::vector<WriteOp> annotated_;
    std::vector<size_t> index_of_;
    std::vector<std::string> rendered_;  // the group's documents rendered ahead, one per op
};

}  // namespace ordergate::orders
