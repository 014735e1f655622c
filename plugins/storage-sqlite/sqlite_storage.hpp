// SqliteStorage — the embedded default storage plugin ("storage-sqlite"), on the sqlite3 C API.
//
// Configuration (the plugin's YAML block):
//   path              database file; default ./data/ordergate.db. Missing parent directories are
//                     created. ":memory:" gives a private in-memory database (tests only: it has
//                     no WAL and every call shares the one connection).
//   busy_timeout_ms   how long a statement waits for a lock held by another connection or
//                     process before failing with Unavailable; default 5000.
//   synchronous       FULL (default), NORMAL, EXTRA, or OFF (throw-away test databases only).
//                     FULL syncs the WAL at every commit: a committed batch (an order's intent,
//                     committed before the broker is called) survives power loss and an OS crash,
//                     at the cost of one fsync per group commit. NORMAL is an opt-in: every
//                     commit is still atomic and survives a crash of the process, but the last
//                     commits before a power loss or an OS crash may be rolled back (the WAL is
//                     synced at checkpoints, not at every commit) - an order already sent to the
//                     broker can then vanish from storage and only reconciliation finds it again.
//   read_connections  connections reserved for reads, so queries from HTTP threads run beside the
//                     writer under WAL; default 4. 0 serves reads from the writer connection.
//   checkpoint_pages  WAL size (pages) at which a background thread checkpoints the WAL into the
//                     database file (PASSIVE: it never blocks the writer or readers); default
//                     4 MB of the file's pages (1000 of 4 KiB, 2000 of 2 KiB). The writer itself then never pays a checkpoint's fsyncs. It is woken
//                     again only when the WAL has grown by checkpoint_pages more (or started
//                     over): one checkpoint copies a hot page once for many commits, where a
//                     wake at every commit past the mark copied it (and synced the database
//                     file) at every commit. 0 leaves checkpoints to SQLite's automatic
//                     checkpoint on the committing thread.
//   wal_restart_pages WAL size (pages) past which the writer, right after a commit, runs a
//                     RESTART checkpoint itself (with checkpoint_pages > 0); default 16 MB of
//                     the file's pages (4000 of 4 KiB, 8000 of 2 KiB).
//                     The background checkpoint's last wake before it comes at
//                     wal_restart_pages - checkpoint_pages / 4, so the restart has few frames
//                     left to copy.
//                     SQLite starts the WAL over only when a write transaction begins while
//                     every frame is checkpointed; under steady writes the background checkpoint
//                     never catches up at that instant, and the WAL grew without bound (65 MB in
//                     12 s at 16 connections). The restart copies the frames the background
//                     thread has not yet, then needs a moment when no reader is on the WAL: it
//                     does not wait for one (busy: the next commit tries again) until the WAL
//                     reaches 4 x wal_restart_pages (kRestartWaitFactor); past that it waits for
//                     readers up to busy_timeout_ms. (Waiting at every try held all writes for
//                     200-700 ms while a reconciliation run's reads followed one another.)
//                     0 disables it.
//   page_size         bytes per page of a database file this plugin creates; default 2048, a
//                     power of two from 512 to 65536. An existing file keeps its own.
//   coalesce_wal_writes true (default): with synchronous FULL or EXTRA, each commit reaches the
//                     WAL in one write system call instead of two per page (wal_vfs.hpp says why
//                     that is safe). false writes frame by frame as SQLite does on its own.
//                     NORMAL and OFF always write frame by frame.
//
// Threads: every function may be called from any thread, concurrently. Writes (write_batch,
// migrate) go through one writer connection under a mutex; reads take one of the reader
// connections (waiting while all are busy). Each connection caches its prepared statements.
// Group commit: write_batch, idempotency_begin and idempotency_complete called at the same time
// from several threads (the host's batch writer, its HTTP threads) share one transaction and so
// one WAL sync: the first caller commits what every other has queued meanwhile, each call in
// its own savepoint (a call that fails is rolled back alone), and each caller returns once that
// commit is durable. Alone, a call is its own transaction as before.
// With checkpoint_pages > 0 the instance owns one checkpoint thread, joined by the destructor.
//
// Errors: sdk::Error(Unavailable) when the database cannot be reached or stays locked,
// sdk::Error(InvalidArgument) for a malformed write op or cursor, sdk::Error(Internal) for
// anything unexpected (including a corrupt row). The message names the operation and SQLite's
// error text, for the host's log; the host never shows it to clients.
//
// write_batch follows og_write_op exactly, in one BEGIN IMMEDIATE transaction (or one savepoint of
// a group commit: a batch commits or fails whole either way):
//   INSERT_ORDER   order.version and event.seq must be 1 (InvalidArgument otherwise); Conflict
//                  when the id or (account_id, client_order_id) exists.
//   UPDATE_ORDER   order.version must be expected_version + 1 and event.seq == order.version;
//                  Conflict when no order has that id at expected_version. The columns written
//                  are every mutable one: broker, broker_order_id, order_type, time_in_force,
//                  status, quantity, filled_quantity, price, trigger_price, average_fill_price,
//                  product, reject_reason, tag, extra_json, updated_at_ns, version (id,
//                  client_order_id, account_id, symbol, exchange, side and created_at_ns never
//                  change).
//   INSERT_FILL    Conflict when the id or (broker, broker_trade_id) exists.
//   UPSERT_GTT     expected_version 0 inserts (Conflict when the id exists); otherwise updates
//                  where the stored version == expected_version (Conflict otherwise).
//   UPSERT_RECON_RUN  inserts or replaces by id; never conflicts.
//
// Idempotency records (ABI 1.2) live in idempotency_keys (migration 4), keyed by the host's
// scoped key; each call runs inside an IMMEDIATE transaction on the writer (shared with calls
// of other threads by the group commit, each in its own savepoint), so a begin is atomic against
// other processes on the same file too. Expiry compares expires_at_ns with the host's now_ns.
// An event's order_id may be empty (it is the op's order); otherwise it must be the order's id.
//
// Leases (ABI 1.3) live in leases (migration 5). lease_acquire is one UPSERT statement on the
// writer (INSERT … ON CONFLICT (name) DO UPDATE … WHERE expired or same holder), atomic against
// other processes on the same file; lease_release one DELETE … WHERE holder matches.
//
// Listings: ordered by id (ascending unless descending), at most `limit` rows (0 means 100,
// more than 1000 means 1000), next cursor when more remain. Recon runs: newest started first.
#pragma once

#include <atomic>
#include <condition_variable>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ordergate/sdk.hpp"
#include "sqlite_db.hpp"
#include "wal_vfs.hpp"

namespace ordergate::storage_sqlite {

class SqliteStorage : public sdk::StoragePlugin {
public:
    explicit SqliteStorage(const sdk::PluginContext& ctx);
    ~SqliteStorage() override;

    int64_t migrate() override;
    void ping() override;
    std::vector<Status> write_batch(const std::vector<WriteOp>& ops) override;

    std::optional<OrderRecord> get_order(const std::string& order_id) override;
    std::optional<OrderRecord> get_order_by_client_id(const std::string& account_id,
                                                      const std::string& cid) override;
    std::optional<OrderRecord> get_order_by_broker_id(const std::string& broker,
                                                      const std::string& broker_order_id) override;
    Page<OrderRecord> list_orders(const OrderQuery& query) override;
    std::vector<OrderEvent> list_events(const std::string& order_id, int64_t after_seq,
                                        uint32_t limit) override;
    Page<FillRecord> list_fills(const FillQuery& query) override;
    std::optional<GttRecord> get_gtt(const std::string& gtt_id) override;
    Page<GttRecord> list_gtts(const std::vector<std::string>& account_ids, bool active_only,
                              const std::string& cursor, uint32_t limit) override;
    Page<ReconRun> list_recon_runs(const std::string& broker, const std::string& cursor,
                                   uint32_t limit) override;

    std::optional<IdempotencyRecord> idempotency_begin(const IdempotencyRecord& marker,
                                                       int64_t now_ns) override;
    bool idempotency_complete(const IdempotencyRecord& record, int64_t now_ns) override;
    void idempotency_release(const std::string& key, const std::string& fingerprint,
                             int64_t now_ns) override;
    uint64_t idempotency_purge(int64_t now_ns, uint32_t limit) override;
    std::optional<IdempotencyRecord> idempotency_get(const std::string& key,
                                                     int64_t now_ns) override;

    bool lease_acquire(const std::string& name, const std::string& holder, int64_t now_ns,
                       int64_t ttl_ns) override;
    void lease_release(const std::string& name, const std::string& holder) override;
    // appended in ABI 1.4 (sdk14)
    std::optional<OrderRecord> get_order_by_request_id(const std::string& account_id,
                                                       const std::string& request_id) override;
    // ABI 1.4 (event log). No wait_account_events: SQLite has one writer host.
    AccountEventPage list_account_events(const std::string& account_id, int64_t after_seq,
                                         uint32_t limit) override;
    uint64_t prune_account_events(int64_t before_ns, uint32_t limit) override;

    // Migrates only up to `version` (tests of migrating an older database).
    int64_t migrate_to(int64_t version);
    // Tests of the group commit: `hook` is called with each group's number of calls before its
    // transaction begins (on the committing thread; it may block to let calls queue up), and
    // queued_writes() counts the calls waiting for the next group.
    void set_group_hook(std::function<void(size_t calls)> hook) { group_hook_ = std::move(hook); }
    size_t queued_writes();
    // How many times a commit woke the checkpoint thread (tests only).
    uint64_t checkpoint_requests() const { return checkpoint_requests_.load(); }
    // The writer's WAL restarts that found a reader on the WAL: without waiting (below
    // kRestartWaitFactor * wal_restart_pages), and after waiting busy_timeout_ms (past it). Tests.
    uint64_t restarts_deferred() const { return restarts_deferred_.load(); }
    uint64_t restarts_waited_busy() const { return restarts_waited_busy_.load(); }
    // Past this many times wal_restart_pages the writer's restart waits for readers to leave the
    // WAL (up to busy_timeout_ms); below it, it only tries.
    static constexpr int64_t kRestartWaitFactor = 4;
    // checkpoint_pages and wal_restart_pages when not set: these many bytes of WAL, in pages.
    static constexpr int64_t kDefaultCheckpointBytes = 1000 * 4096;
    static constexpr int64_t kDefaultWalRestartBytes = 4000 * 4096;
    // The thresholds in force (pages), for tests.
    int checkpoint_pages() const { return checkpoint_pages_; }
    int wal_restart_pages() const { return wal_restart_pages_; }
    // Called with the WAL's size at each wake of the checkpoint thread, on the writer's thread
    // (tests only; set before any write).
    void set_checkpoint_hook(std::function<void(int pages)> hook) {
        checkpoint_hook_ = std::move(hook);
    }
    // The writer connection's PRAGMA synchronous as SQLite reports it (0 OFF, 1 NORMAL, 2 FULL,
    // 3 EXTRA): how durable a commit is. For tests and the start-up log.
    int synchronous_level();
    // Whether the connections write each commit to the WAL in one system call (coalesce_wal_writes).
    bool coalesces_wal_writes() const { return wal_vfs_ != nullptr; }
    // Writes the connections handed to the WAL file through that VFS (tests only; 0 without it).
    uint64_t coalesced_wal_writes() const { return wal_vfs_ ? wal_vfs_->wal_writes() : 0; }
    // Order updates whose row write a later update of the order in the same batch carried (see
    // DeferredRow; tests only).
    uint64_t order_rows_carried() const { return order_rows_carried_.load(); }

private:
    class Reader;  // a reader connection borrowed for one call
    std::unique_ptr<Connection> open_connection(bool create);
    Connection& writer();  // reopens after a failed rollback; call with write_mu_ held
    Reader borrow_reader();
    void return_reader(std::unique_ptr<Connection> c);
    // The account event sequences one write batch advances, read at an account's first event
    // in the batch (see apply, AppendEvent). Per account with an entry in the batch: its last
    // seq so far, and whether its counter row is still to be inserted (its first entry ever).
    struct BatchSeq {
        std::string account_id;
        int64_t last = 0;
        bool new_account = false;
    };
    using BatchSeqs = std::vector<BatchSeq>;
    // An order row whose write waits for the next update of the order in the same batch (an
    // order's ack and its fill often share one): the row is written once, with the last state.
    // The first update of the chain checked the row's version; the row holds `expected` until
    // the chain's last update (or the batch's end) writes `order`, at version `version`.
    struct DeferredRow {
        const OrderRecord* order = nullptr;
        int64_t expected = 0;
        int64_t version = 0;
    };
    struct BatchState {
        BatchSeqs seqs;
        std::map<std::string, DeferredRow, std::less<>> deferred;  // by order id
    };
    // `carried`: a later update of the same order in this batch follows this one's version.
    Status apply(Connection& c, const WriteOp& op, size_t index, BatchState* batch, bool carried);
    Status update_order(Connection& c, const WriteOp& op, BatchState* batch, bool carried);
    // Runs `f` on the writer inside a BEGIN IMMEDIATE transaction, committed durably before it
    // returns (rolled back when f throws, which rethrows). It may share the transaction with
    // other threads' calls (see Group commit above).
    template <typename F>
    auto in_write_transaction(const char* what, F&& f) -> decltype(f(std::declval<Connection&>()));
    // One call's part of a group commit.
    struct WriteJob {
        const char* what = "";
        std::function<void(Connection&)> body;
        std::exception_ptr error;
        bool done = false;  // under group_mu_
    };
    // Queues `job` and returns when a committed transaction ran it (or it failed: rethrown).
    void run_in_group(WriteJob& job);
    // One transaction for `jobs` (write_mu_ taken here); sets each job's error. Never throws.
    void commit_group(const std::vector<WriteJob*>& jobs);
    void roll_back(Connection& c);
    static int on_wal_commit(void* self, sqlite3* db, const char* name, int pages);
    // After a commit (write_mu_ held, no transaction open): the RESTART checkpoint described
    // at wal_restart_pages. Never throws: the batch is committed whatever happens here.
    void restart_wal_if_large(Connection& c);
    void checkpoint_loop();

    sdk::Host host_;
    std::string path_;
    int busy_timeout_ms_;
    std::string synchronous_;
    bool memory_ = false;
    // The VFS of every connection when WAL writes are coalesced (declared before them: it
    // outlives them all).
    std::unique_ptr<WalCoalescingVfs> wal_vfs_;

    std::mutex write_mu_;
    std::unique_ptr<Connection> writer_;

    std::mutex group_mu_;
    std::condition_variable group_cv_;
    std::vector<WriteJob*> group_queue_;  // waiting for the next group's transaction
    bool group_leader_ = false;           // a caller is committing a group now
    std::function<void(size_t)> group_hook_;  // tests only; set before any write

    std::mutex read_mu_;
    std::condition_variable read_cv_;
    std::vector<std::unique_ptr<Connection>> readers_;  // idle ones
    size_t reader_count_ = 0;

    int checkpoint_pages_ = 0;
    int64_t page_size_ = 2048;  // for a new database file (page_size)
    int wal_restart_pages_ = 0;
    int wal_pages_ = 0;  // WAL size after the writer's last commit (its hook); under write_mu_
    // The WAL size at which the writer's hook next wakes the checkpoint thread: checkpoint_pages
    // after a WAL started over, then checkpoint_pages more after each wake; under write_mu_.
    int next_checkpoint_at_ = 0;
    std::atomic<uint64_t> checkpoint_requests_{0};
    std::atomic<uint64_t> restarts_deferred_{0};
    std::atomic<uint64_t> order_rows_carried_{0};
    std::atomic<uint64_t> restarts_waited_busy_{0};
    std::function<void(int)> checkpoint_hook_;  // tests only
    std::mutex checkpoint_mu_;
    std::condition_variable checkpoint_cv_;
    bool checkpoint_wanted_ = false;
    bool stopping_ = false;
    std::unique_ptr<Connection> checkpointer_conn_;
    std::thread checkpointer_;
};

}  // namespace ordergate::storage_sqlite
