#include "sqlite_storage.hpp"

#include <pthread.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <system_error>

#include "ordergate/cursor.hpp"
#include "migrations.hpp"

namespace ordergate::storage_sqlite {

using sdk::decode_cursor;
using sdk::encode_cursor;

namespace {

constexpr uint32_t kDefaultLimit = 100;
constexpr uint32_t kMaxLimit = 1000;

uint32_t page_limit(uint32_t limit) {
    if (limit == 0) return kDefaultLimit;
    return std::min(limit, kMaxLimit);
}

[[noreturn]] void invalid_op(size_t index, std::string_view what) {
    throw sdk::Error(Status::InvalidArgument,
                     "write op " + std::to_string(index) + ": " + std::string(what));
}

[[noreturn]] void corrupt(std::string_view table, std::string_view column, const std::string& v) {
    throw sdk::Error(Status::Internal, "sqlite: corrupt row: " + std::string(table) + "." +
                                           std::string(column) + " = '" + v + "'");
}

template <typename E>
E parse_column(const Query& q, int col, bool (*parse)(std::string_view, E*),
               std::string_view table, std::string_view column) {
    std::string s = q.text(col);
    E v{};
    if (!parse(s, &v)) corrupt(table, column, s);
    return v;
}

// ---- orders ------------------------------------------------------------------------------------

constexpr const char* kOrderColumns =
    "id, client_order_id, broker, broker_order_id, account_id, symbol, exchange, side, "
    "order_type, time_in_force, status, quantity_m, quantity_s, filled_quantity_m, "
    "filled_quantity_s, price_m, price_s, trigger_price_m, trigger_price_s, average_fill_price_m, "
    "average_fill_price_s, product, reject_reason, tag, extra_json, created_at_ns, updated_at_ns, "
    "version";

OrderRecord read_order(const Query& q) {
    OrderRecord o;
    o.id = q.text(0);
    o.client_order_id = q.text(1);
    o.broker = q.text(2);
    o.broker_order_id = q.text(3);
    o.account_id = q.text(4);
    o.symbol = q.text(5);
    o.exchange = q.text(6);
    o.side = parse_column(q, 7, parse_side, "orders", "side");
    o.order_type = parse_column(q, 8, parse_order_type, "orders", "order_type");
    o.time_in_force = parse_column(q, 9, parse_time_in_force, "orders", "time_in_force");
    o.status = parse_column(q, 10, parse_order_status, "orders", "status");
    o.quantity = q.decimal(11);
    o.filled_quantity = q.decimal(13);
    o.price = q.opt_decimal(15);
    o.trigger_price = q.opt_decimal(17);
    o.average_fill_price = q.opt_decimal(19);
    o.product = q.text(21);
    o.reject_reason = q.text(22);
    o.tag = q.text(23);
    o.extra_json = q.text(24);
    o.created_at_ns = q.int64(25);
    o.updated_at_ns = q.int64(26);
    o.version = q.int64(27);
    return o;
}

const std::string kInsertOrder =
    std::string("INSERT INTO orders (") + kOrderColumns +
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
    "?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28) ON CONFLICT DO NOTHING";

const std::string kUpdateOrder =
    "UPDATE orders SET broker = ?3, broker_order_id = ?4, order_type = ?9, time_in_force = ?10, "
    "status = ?11, quantity_m = ?12, quantity_s = ?13, filled_quantity_m = ?14, "
    "filled_quantity_s = ?15, price_m = ?16, price_s = ?17, trigger_price_m = ?18, "
    "trigger_price_s = ?19, average_fill_price_m = ?20, average_fill_price_s = ?21, "
    "product = ?22, reject_reason = ?23, tag = ?24, extra_json = ?25, updated_at_ns = ?27, "
    "version = ?28 WHERE id = ?1 AND version = ?29";

// Binds ?1..?28 in kOrderColumns order (the UPDATE uses the same numbering).
void bind_order(Query& q, const OrderRecord& o) {
    q.bind(1, o.id).bind(2, o.client_order_id).bind(3, o.broker).bind(4, o.broker_order_id);
    q.bind(5, o.account_id).bind(6, o.symbol).bind(7, o.exchange);
    q.bind(8, to_string(o.side)).bind(9, to_string(o.order_type));
    q.bind(10, to_string(o.time_in_force)).bind(11, to_string(o.status));
    q.bind(12, o.quantity).bind(14, o.filled_quantity).bind(16, o.price);
    q.bind(18, o.trigger_price).bind(20, o.average_fill_price);
    q.bind(22, o.product).bind(23, o.reject_reason).bind(24, o.tag).bind(25, o.extra_json);
    q.bind(26, o.created_at_ns).bind(27, o.updated_at_ns).bind(28, o.version);
}

// Writes a row the batch checked earlier (a deferred row, see SqliteStorage::update_order): it
// still holds `expected`, so anything else is a broken invariant, not a conflict.
void write_order_row(Connection& c, const OrderRecord& o, int64_t expected) {
    Query q = c.query(kUpdateOrder, "update order");
    bind_order(q, o);
    q.bind(29, expected);
    if (q.run() != 1)
        throw sdk::Error(Status::Internal, "sqlite: order " + o.id + " left version " +
                                               std::to_string(expected) + " within a batch");
}

// carried[i]: op i updates an order that a later update in the batch continues (that update
// expects the version op i writes).
std::vector<bool> carried_updates(const std::vector<WriteOp>& ops) {
    std::vector<bool> carried(ops.size(), false);
    std::map<std::string_view, size_t> last;  // order id -> its latest update so far
    for (size_t i = 0; i < ops.size(); ++i) {
        if (ops[i].kind != WriteKind::UpdateOrder) continue;
        auto [it, first] = last.try_emplace(ops[i].order.id, i);
        if (!first) {
            const WriteOp& prev = ops[it->second];
            carried[it->second] = prev.order.version == ops[i].expected_version;
            it->second = i;
        }
    }
    return carried;
}

// ---- events ------------------------------------------------------------------------------------

const std::string kInsertEvent =
    "INSERT INTO order_events (order_id, seq, from_status, to_status, source, reason, "
    "request_id, broker_order_id, filled_quantity_m, filled_quantity_s, emulated, at_ns) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

const std::string kListEvents =
    "SELECT order_id, seq, from_status, to_status, source, reason, request_id, broker_order_id, "
    "filled_quantity_m, filled_quantity_s, emulated, at_ns FROM order_events "
    "WHERE order_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3";

void insert_event(Connection& c, const OrderEvent& e, const std::string& order_id) {
    Query q = c.query(kInsertEvent, "insert order event");
    q.bind(1, order_id).bind(2, e.seq);
    if (e.from_status) q.bind(3, to_string(*e.from_status));
    else q.bind_null(3);
    q.bind(4, to_string(e.to_status)).bind(5, to_string(e.source)).bind(6, e.reason);
    q.bind(7, e.request_id).bind(8, e.broker_order_id).bind(9, e.filled_quantity);
    q.bind(11, static_cast<int64_t>(e.emulated ? 1 : 0)).bind(12, e.at_ns);
    q.run();
}

OrderEvent read_event(const Query& q) {
    OrderEvent e;
    e.order_id = q.text(0);
    e.seq = q.int64(1);
    if (!q.is_null(2)) e.from_status = parse_column(q, 2, parse_order_status, "order_events", "from_status");
    e.to_status = parse_column(q, 3, parse_order_status, "order_events", "to_status");
    e.source = parse_column(q, 4, parse_event_source, "order_events", "source");
    e.reason = q.text(5);
    e.request_id = q.text(6);
    e.broker_order_id = q.text(7);
    e.filled_quantity = q.decimal(8);
    e.emulated = q.int64(10) != 0;
    e.at_ns = q.int64(11);
    return e;
}

// ---- fills -------------------------------------------------------------------------------------

constexpr const char* kFillColumns =
    "id, order_id, broker, broker_trade_id, account_id, symbol, exchange, side, quantity_m, "
    "quantity_s, price_m, price_s, fee_m, fee_s, executed_at_ns, kind, ref_trade_id";

const std::string kInsertFill = std::string("INSERT INTO fills (") + kFillColumns +
                                ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
                                "?14, ?15, ?16, ?17) ON CONFLICT DO NOTHING";

FillRecord read_fill(const Query& q) {
    FillRecord f;
    f.id = q.text(0);
    f.order_id = q.text(1);
    f.broker = q.text(2);
    f.broker_trade_id = q.text(3);
    f.account_id = q.text(4);
    f.symbol = q.text(5);
    f.exchange = q.text(6);
    f.side = parse_column(q, 7, parse_side, "fills", "side");
    f.quantity = q.decimal(8);
    f.price = q.decimal(10);
    f.fee = q.decimal(12);
    f.executed_at_ns = q.int64(14);
    const int64_t kind = q.int64(15);
    if (kind < OG_FILL_TRADE || kind > OG_FILL_CORRECTION)
        corrupt("fills", "kind", std::to_string(kind));
    f.kind = static_cast<FillKind>(kind);
    f.ref_trade_id = q.text(16);
    return f;
}

// ---- gtts and recon runs -----------------------------------------------------------------------

constexpr const char* kGttColumns =
    "id, account_id, symbol, exchange, status, body_json, expires_at_ns, created_at_ns, "
    "updated_at_ns, version";

const std::string kInsertGtt = std::string("INSERT INTO gtts (") + kGttColumns +
                               ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
                               "ON CONFLICT DO NOTHING";
const std::string kUpdateGtt =
    "UPDATE gtts SET account_id = ?2, symbol = ?3, exchange = ?4, status = ?5, body_json = ?6, "
    "expires_at_ns = ?7, updated_at_ns = ?9, version = ?10 WHERE id = ?1 AND version = ?11";

void bind_gtt(Query& q, const GttRecord& g) {
    q.bind(1, g.id).bind(2, g.account_id).bind(3, g.symbol).bind(4, g.exchange);
    q.bind(5, g.status).bind(6, g.body_json).bind(7, g.expires_at_ns).bind(8, g.created_at_ns);
    q.bind(9, g.updated_at_ns).bind(10, g.version);
}

GttRecord read_gtt(const Query& q) {
    GttRecord g;
    g.id = q.text(0);
    g.account_id = q.text(1);
    g.symbol = q.text(2);
    g.exchange = q.text(3);
    g.status = q.text(4);
    g.body_json = q.text(5);
    g.expires_at_ns = q.int64(6);
    g.created_at_ns = q.int64(7);
    g.updated_at_ns = q.int64(8);
    g.version = q.int64(9);
    return g;
}

constexpr const char* kReconColumns =
    "id, broker, status, report_json, started_at_ns, finished_at_ns";

const std::string kUpsertRecon =
    std::string("INSERT INTO recon_runs (") + kReconColumns +
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO UPDATE SET broker = excluded.broker, "
    "status = excluded.status, report_json = excluded.report_json, "
    "started_at_ns = excluded.started_at_ns, finished_at_ns = excluded.finished_at_ns";

ReconRun read_recon(const Query& q) {
    ReconRun r;
    r.id = q.text(0);
    r.broker = q.text(1);
    r.status = q.text(2);
    r.report_json = q.text(3);
    r.started_at_ns = q.int64(4);
    r.finished_at_ns = q.int64(5);
    return r;
}

// ---- dynamic list queries ----------------------------------------------------------------------

// Builds "col IN (?n, ?n+1, …)" and records the values to bind.
struct Filter {
    std::string where;
    std::vector<std::string_view> texts;  // bound in order, after...
    std::vector<std::pair<int, int64_t>> ints;
    std::vector<std::pair<int, std::string_view>> text_params;
    int next = 1;

    void add(const std::string& clause) {
        where += where.empty() ? " WHERE " : " AND ";
        where += clause;
    }
    std::string text(std::string_view v) {
        text_params.emplace_back(next, v);
        return "?" + std::to_string(next++);
    }
    std::string integer(int64_t v) {
        ints.emplace_back(next, v);
        return "?" + std::to_string(next++);
    }
    void in(const char* column, const std::vector<std::string>& values) {
        if (values.empty()) return;
        std::string clause = std::string(column) + " IN (";
        for (size_t i = 0; i < values.size(); ++i) {
            if (i) clause += ", ";
            clause += text(values[i]);
        }
        add(clause + ")");
    }
    void bind(Query& q) const {
        for (auto& [i, v] : text_params) q.bind(i, v);
        for (auto& [i, v] : ints) q.bind(i, v);
    }
};

constexpr const char* kOpenStatuses =
    "status IN ('PENDING_NEW', 'OPEN', 'PARTIALLY_FILLED', 'PENDING_REPLACE', 'PENDING_CANCEL')";

template <typename T, typename Read, typename Key>
Page<T> run_page(Connection& c, const std::string& sql, const Filter& f, uint32_t limit,
                 std::string_view context, Read read, Key key) {
    Page<T> page;
    Query q = c.query(sql, context);
    f.bind(q);
    while (q.step()) {
        if (page.items.size() == limit) {
            page.next_cursor = encode_cursor(key(page.items.back()));
            break;
        }
        page.items.push_back(read(q));
    }
    return page;
}

}  // namespace

// ---- connections -------------------------------------------------------------------------------

class SqliteStorage::Reader {
public:
    Reader(SqliteStorage* owner, std::unique_ptr<Connection> conn)
        : owner_(owner), conn_(std::move(conn)), ref_(conn_.get()) {}
    Reader(std::unique_lock<std::mutex> lock, Connection* writer)
        : lock_(std::move(lock)), ref_(writer) {}
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;
    ~Reader() {
        if (conn_) owner_->return_reader(std::move(conn_));
    }
    Connection& operator*() { return *ref_; }

private:
    SqliteStorage* owner_ = nullptr;
    std::unique_ptr<Connection> conn_;
    std::unique_lock<std::mutex> lock_;
    Connection* ref_;
};

SqliteStorage::SqliteStorage(const sdk::PluginContext& ctx) : host_(ctx.host) {
    const sdk::Config& cfg = ctx.config;
    path_ = cfg.get_or("path", "./data/ordergate.db");
    if (path_.empty()) throw sdk::Error(Status::InvalidArgument, "config key 'path' is empty");
    busy_timeout_ms_ = static_cast<int>(cfg.get_int("busy_timeout_ms", 5000));
    if (busy_timeout_ms_ < 0)
        throw sdk::Error(Status::InvalidArgument, "config key 'busy_timeout_ms' must be >= 0");
    // FULL by default: an intent is committed before the broker is called, so its commit must
    // survive power loss, not only a crash of the process.
    synchronous_ = cfg.get_or("synchronous", "FULL");
    std::transform(synchronous_.begin(), synchronous_.end(), synchronous_.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
    if (synchronous_ != "NORMAL" && synchronous_ != "FULL" && synchronous_ != "OFF" &&
        synchronous_ != "EXTRA")
        throw sdk::Error(Status::InvalidArgument,
                         "config key 'synchronous' must be NORMAL, FULL, EXTRA or OFF");
    int64_t checkpoint_pages = cfg.get_int("checkpoint_pages", 1000);
    if (checkpoint_pages < 0 || checkpoint_pages > INT32_MAX)
        throw sdk::Error(Status::InvalidArgument, "config key 'checkpoint_pages' must be >= 0");
    int64_t wal_restart_pages = cfg.get_int("wal_restart_pages", 4000);
    if (wal_restart_pages < 0 || wal_restart_pages > INT32_MAX)
        throw sdk::Error(Status::InvalidArgument, "config key 'wal_restart_pages' must be >= 0");
    // 2 KiB rather than SQLite's 4 KiB: a commit's WAL frames are checksummed and copied whole,
    // and an order's rows are a few hundred bytes each, spread over a dozen B-trees. Measured
    // (bench/callgrind.sh): the writer thread's instructions per order 408k -> 372k; 1 KiB
    // gained no more and doubled the checkpoints' work.
    page_size_ = cfg.get_int("page_size", 2048);
    if (page_size_ < 512 || page_size_ > 65536 || (page_size_ & (page_size_ - 1)) != 0)
        throw sdk::Error(Status::InvalidArgument,
                         "config key 'page_size' must be a power of two from 512 to 65536");
    int64_t readers = cfg.get_int("read_connections", 4);
    if (readers < 0 || readers > 64)
        throw sdk::Error(Status::InvalidArgument, "config key 'read_connections' must be 0..64");
    memory_ = path_ == ":memory:";
    if (!memory_ && path_.rfind("file:", 0) != 0) {
        std::filesystem::path parent = std::filesystem::path(path_).parent_path();
        if (!parent.empty()) {
            std::error_code ec;
            std::filesystem::create_directories(parent, ec);
            if (ec)
                throw sdk::Error(Status::Unavailable, "cannot create directory '" +
                                                          parent.string() + "': " + ec.message());
        }
    }
    // Only where every commit syncs the WAL: other connections read a commit's frames once it is
    // published, which SQLite does after that sync, when the buffered frames are on disk.
    if (!memory_ && cfg.get_bool("coalesce_wal_writes", true) &&
        (synchronous_ == "FULL" || synchronous_ == "EXTRA"))
        wal_vfs_ = std::make_unique<WalCoalescingVfs>();
    checkpoint_pages_ = memory_ ? 0 : static_cast<int>(checkpoint_pages);
    wal_restart_pages_ = static_cast<int>(wal_restart_pages);
    writer_ = open_connection(true);
    // The defaults are sizes of WAL (4 MB, 16 MB), in pages of the file as it is: 1000 and 4000
    // of 4 KiB, 2000 and 8000 of 2 KiB.
    if (!memory_ && (!cfg.has("checkpoint_pages") || !cfg.has("wal_restart_pages"))) {
        Query q = writer_->query("PRAGMA page_size", "read page size");
        const int64_t page = q.step() ? q.int64(0) : 0;
        if (page < 512 || page > 65536)
            throw sdk::Error(Status::Internal,
                             "sqlite: PRAGMA page_size answered " + std::to_string(page));
        if (!cfg.has("checkpoint_pages") && checkpoint_pages_ > 0)
            checkpoint_pages_ = static_cast<int>(kDefaultCheckpointBytes / page);
        if (!cfg.has("wal_restart_pages"))
            wal_restart_pages_ = static_cast<int>(kDefaultWalRestartBytes / page);
    }
    reader_count_ = memory_ ? 0 : static_cast<size_t>(readers);
    for (size_t i = 0; i < reader_count_; ++i) readers_.push_back(open_connection(false));
    if (checkpoint_pages_ > 0) {
        checkpointer_conn_ = open_connection(false);
        checkpointer_ = std::thread([this] {
            (void)pthread_setname_np(pthread_self(), "sqlite-ckpt");  // as top -H shows it
            checkpoint_loop();
        });
    }
}

SqliteStorage::~SqliteStorage() {
    if (checkpointer_.joinable()) {
        {
            std::lock_guard lock(checkpoint_mu_);
            stopping_ = true;
        }
        checkpoint_cv_.notify_one();
        checkpointer_.join();
    }
}

int SqliteStorage::on_wal_commit(void* self, sqlite3*, const char*, int pages) {
    auto* s = static_cast<SqliteStorage*>(self);
    // The writer's own commit: write_mu_ is held. A WAL smaller than at the last commit has
    // started over.
    if (pages < s->wal_pages_ || s->next_checkpoint_at_ == 0)
        s->next_checkpoint_at_ = s->checkpoint_pages_;
    s->wal_pages_ = pages;
    if (pages >= s->next_checkpoint_at_) {
        int next = pages + s->checkpoint_pages_;
        // The last wake before the writer's own restart (wal_restart_pages) comes a quarter of
        // checkpoint_pages ahead of it, so that the restart, which holds the writer, copies
        // about that many frames rather than up to checkpoint_pages of them.
        if (s->wal_restart_pages_ > 0) {
            const int last = s->wal_restart_pages_ - s->checkpoint_pages_ / 4;
            if (pages < last && next > last) next = last;
        }
        s->next_checkpoint_at_ = next;
        s->checkpoint_requests_.fetch_add(1, std::memory_order_relaxed);
        if (s->checkpoint_hook_) s->checkpoint_hook_(pages);
        {
            std::lock_guard lock(s->checkpoint_mu_);
            s->checkpoint_wanted_ = true;
        }
        s->checkpoint_cv_.notify_one();
    }
    return SQLITE_OK;
}

void SqliteStorage::restart_wal_if_large(Connection& c) {
    if (checkpoint_pages_ == 0 || wal_restart_pages_ == 0 || wal_pages_ < wal_restart_pages_)
        return;
    // A restart waits (busy handler) for every reader to leave the WAL. Readers come one after
    // another (a reconciliation run's lookups, the API's reads): waiting for a moment with none
    // held this commit's callers and every other write for as long (200-700 ms seen under load).
    // So below kRestartWaitFactor times wal_restart_pages the restart does not wait: busy, the
    // next commit tries again; past it the WAL's bound wins and the restart waits as before.
    const bool wait = int64_t{wal_pages_} >= int64_t{wal_restart_pages_} * kRestartWaitFactor;
    if (!wait) sqlite3_busy_timeout(c.raw(), 0);
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(c.raw(), nullptr, SQLITE_CHECKPOINT_RESTART, &log, &done);
    if (!wait) sqlite3_busy_timeout(c.raw(), busy_timeout_ms_);
    if (rc == SQLITE_OK) {
        wal_pages_ = 0;  // the next write transaction starts the WAL over
        next_checkpoint_at_ = checkpoint_pages_;
    } else if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
        // A reader on the WAL (or, waiting, one stayed past busy_timeout_ms), or the background
        // checkpoint runs: the next commit tries again.
        (wait ? restarts_waited_busy_ : restarts_deferred_).fetch_add(1, std::memory_order_relaxed);
    } else {
        host_.log(sdk::LogLevel::Warn, std::string("storage-sqlite: WAL restart checkpoint failed: ") +
                                           sqlite3_errmsg(c.raw()));
    }
}

void SqliteStorage::checkpoint_loop() {
    std::unique_lock lock(checkpoint_mu_);
    for (;;) {
        checkpoint_cv_.wait(lock, [this] { return checkpoint_wanted_ || stopping_; });
        if (stopping_) return;
        checkpoint_wanted_ = false;
        lock.unlock();
        int rc = sqlite3_wal_checkpoint_v2(checkpointer_conn_->raw(), nullptr,
                                           SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
            host_.log(sdk::LogLevel::Warn,
                      std::string("storage-sqlite: WAL checkpoint failed: ") +
                          sqlite3_errmsg(checkpointer_conn_->raw()));
        }
        lock.lock();
    }
}

std::unique_ptr<Connection> SqliteStorage::open_connection(bool create) {
    auto c = std::make_unique<Connection>(path_, create, busy_timeout_ms_,
                                          wal_vfs_ ? wal_vfs_->name() : nullptr);
    if (create && !memory_) {
        // Takes effect only while the file is new (before WAL mode and the first table); a
        // database keeps the page size it was made with.
        const std::string page_size = "PRAGMA page_size = " + std::to_string(page_size_);
        c->exec(page_size.c_str(), "set page size");
        c->exec("PRAGMA journal_mode = WAL", "enable WAL");
        if (checkpoint_pages_ > 0) {
            // The checkpoint thread does the checkpoints; this connection only appends to the WAL.
            c->exec("PRAGMA wal_autocheckpoint = 0", "disable automatic checkpoints");
            sqlite3_wal_hook(c->raw(), &SqliteStorage::on_wal_commit, this);
        }
    }
    std::string pragmas = "PRAGMA synchronous = " + synchronous_ +
                          "; PRAGMA temp_store = MEMORY; PRAGMA foreign_keys = OFF";
    c->exec(pragmas.c_str(), "set pragmas");
    return c;
}

Connection& SqliteStorage::writer() {
    if (!writer_) writer_ = open_connection(true);
    return *writer_;
}

SqliteStorage::Reader SqliteStorage::borrow_reader() {
    if (reader_count_ == 0) {
        std::unique_lock lock(write_mu_);
        Connection* w = &writer();
        return Reader(std::move(lock), w);
    }
    std::unique_lock lock(read_mu_);
    read_cv_.wait(lock, [this] { return !readers_.empty(); });
    std::unique_ptr<Connection> c = std::move(readers_.back());
    readers_.pop_back();
    return Reader(this, std::move(c));
}

void SqliteStorage::return_reader(std::unique_ptr<Connection> c) {
    {
        std::lock_guard lock(read_mu_);
        readers_.push_back(std::move(c));
    }
    read_cv_.notify_one();
}

// ---- migrations and health ---------------------------------------------------------------------

int64_t SqliteStorage::migrate() { return migrate_to(INT64_MAX); }

int64_t SqliteStorage::migrate_to(int64_t version) {
    std::lock_guard lock(write_mu_);
    return apply_migrations(writer(), host_.now_ns(), version, [this](std::string_view line) {
        host_.log(sdk::LogLevel::Info, std::string("storage-sqlite: ") + std::string(line));
    });
}

int SqliteStorage::synchronous_level() {
    std::lock_guard lock(write_mu_);
    Query q = writer().query("PRAGMA synchronous", "read synchronous");
    if (!q.step()) throw sdk::Error(Status::Internal, "sqlite: PRAGMA synchronous returned no row");
    return static_cast<int>(q.int64(0));
}

void SqliteStorage::ping() {
    Reader r = borrow_reader();
    Query q = (*r).query("SELECT 1", "ping");
    q.step();
}

// ---- writes ------------------------------------------------------------------------------------

std::vector<Status> SqliteStorage::write_batch(const std::vector<WriteOp>& ops) {
    std::vector<Status> results(ops.size(), Status::Ok);
    if (ops.empty()) return results;
    in_write_transaction("write batch", [&](Connection& c) {
        BatchState batch;
        const std::vector<bool> carried = carried_updates(ops);
        for (size_t i = 0; i < ops.size(); ++i) {
            if (ops[i].requires_previous && i > 0 && results[i - 1] == Status::Conflict) {
                results[i] = Status::Conflict;
                continue;
            }
            results[i] = apply(c, ops[i], i, &batch, carried[i]);
        }
        // Rows whose carrying update was skipped (its fill was a duplicate).
        for (const auto& [id, row] : batch.deferred) write_order_row(c, *row.order, row.expected);
        const BatchSeqs& seqs = batch.seqs;
        // An account's first entry ever gives it its counter row (retention lists the accounts
        // there). Otherwise the row is left as it is: see the AppendEvent case.
        for (const BatchSeq& s : seqs) {
            if (!s.new_account) continue;
            Query q = c.query("INSERT INTO account_seq (account_id, last_seq) VALUES (?1, ?2)",
                              "store account seq");
            q.bind(1, s.account_id).bind(2, s.last);
            q.run();
        }
        return 0;
    });
    return results;
}

namespace {
// The idempotency rules of og_storage_vtable, on a connection inside a write transaction.
std::optional<IdempotencyRecord> claim_key(Connection& c, const IdempotencyRecord& marker,
                                           int64_t now_ns);
bool complete_key(Connection& c, const IdempotencyRecord& record, int64_t now_ns);
}  // namespace

Status SqliteStorage::apply(Connection& c, const WriteOp& op, size_t index, BatchState* batch,
                           bool carried) {
    BatchSeqs* seqs = &batch->seqs;
    switch (op.kind) {
        case WriteKind::InsertOrder: {
            const OrderRecord& o = op.order;
            if (o.id.empty()) invalid_op(index, "insert_order without an order id");
            if (o.version != 1 || op.event.seq != 1)
                invalid_op(index, "insert_order " + o.id + ": order.version and event.seq must be 1");
            if (!op.event.order_id.empty() && op.event.order_id != o.id)
                invalid_op(index, "insert_order " + o.id + ": event belongs to another order");
            {
                Query q = c.query(kInsertOrder, "insert order");
                bind_order(q, o);
                if (q.run() == 0) return Status::Conflict;
            }
            insert_event(c, op.event, o.id);
            return Status::Ok;
        }
        case WriteKind::UpdateOrder: {
            const OrderRecord& o = op.order;
            if (o.version != op.expected_version + 1 || op.event.seq != o.version)
                invalid_op(index, "update_order " + o.id +
                                      ": order.version must be expected_version + 1 and "
                                      "event.seq must equal order.version");
            if (!op.event.order_id.empty() && op.event.order_id != o.id)
                invalid_op(index, "update_order " + o.id + ": event belongs to another order");
            return update_order(c, op, batch, carried);
        }
        case WriteKind::InsertFill: {
            const FillRecord& f = op.fill;
            if (f.id.empty() || f.broker_trade_id.empty())
                invalid_op(index, "insert_fill without an id or broker_trade_id");
            Query q = c.query(kInsertFill, "insert fill");
            q.bind(1, f.id).bind(2, f.order_id).bind(3, f.broker).bind(4, f.broker_trade_id);
            q.bind(5, f.account_id).bind(6, f.symbol).bind(7, f.exchange);
            q.bind(8, to_string(f.side)).bind(9, f.quantity).bind(11, f.price).bind(13, f.fee);
            q.bind(15, f.executed_at_ns);
            q.bind(16, static_cast<int64_t>(f.kind)).bind(17, f.ref_trade_id);
            return q.run() == 0 ? Status::Conflict : Status::Ok;
        }
        case WriteKind::UpsertGtt: {
            const GttRecord& g = op.gtt;
            if (g.id.empty()) invalid_op(index, "upsert_gtt without an id");
            if (op.expected_version == 0) {
                Query q = c.query(kInsertGtt, "insert gtt");
                bind_gtt(q, g);
                return q.run() == 0 ? Status::Conflict : Status::Ok;
            }
            Query q = c.query(kUpdateGtt, "update gtt");
            bind_gtt(q, g);
            q.bind(11, op.expected_version);
            return q.run() == 0 ? Status::Conflict : Status::Ok;
        }
        case WriteKind::UpsertReconRun: {
            const ReconRun& r = op.recon_run;
            if (r.id.empty()) invalid_op(index, "upsert_recon_run without an id");
            Query q = c.query(kUpsertRecon, "upsert recon run");
            q.bind(1, r.id).bind(2, r.broker).bind(3, r.status).bind(4, r.report_json);
            q.bind(5, r.started_at_ns).bind(6, r.finished_at_ns);
            q.run();
            return Status::Ok;
        }
        case WriteKind::AppendEvent: {
            const AccountEvent& e = op.account_event;
            if (e.account_id.empty() || e.topic.empty())
                invalid_op(index, "append_event without an account_id or topic");
            // The account's last seq, read in this transaction (which holds the write lock) at
            // its first event of the batch and advanced in memory: seq order is commit order.
            // It is the greater of the account's newest entry and its counter row. Commits do not
            // write the counter (one page less per commit); retention advances it to the newest
            // entry before deleting entries (prune_account_events), so a seq is never reused.
            auto at = std::find_if(seqs->begin(), seqs->end(),
                                   [&](const BatchSeq& s) { return s.account_id == e.account_id; });
            if (at == seqs->end()) {
                Query q = c.query(
                    "SELECT (SELECT last_seq FROM account_seq WHERE account_id = ?1), "
                    "(SELECT MAX(seq) FROM account_events WHERE account_id = ?1)",
                    "read account seq");
                q.bind(1, e.account_id);
                BatchSeq s;
                s.account_id = e.account_id;
                if (q.step()) {
                    s.new_account = q.is_null(0);
                    s.last = std::max(q.is_null(0) ? 0 : q.int64(0), q.is_null(1) ? 0 : q.int64(1));
                }
                seqs->push_back(std::move(s));
                at = seqs->end() - 1;
            }
            const int64_t seq = ++at->last;
            Query q = c.query(
                "INSERT INTO account_events (account_id, seq, topic, data_json, at_ns) "
                "VALUES (?1, ?2, ?3, ?4, ?5)",
                "append account event");
            q.bind(1, e.account_id).bind(2, seq).bind(3, e.topic).bind(4, e.data_json);
            q.bind(5, e.at_ns);
            q.run();
            return Status::Ok;
        }
        case WriteKind::ClaimIdempotency:  // ABI 1.7
            if (op.idempotency.key.empty()) invalid_op(index, "claim_idempotency without a key");
            return claim_key(c, op.idempotency, op.now_ns) ? Status::Conflict : Status::Ok;
        case WriteKind::CompleteIdempotency:
            if (op.idempotency.key.empty())
                invalid_op(index, "complete_idempotency without a key");
            return complete_key(c, op.idempotency, op.now_ns) ? Status::Ok : Status::Conflict;
    }
    invalid_op(index, "unknown write kind " + std::to_string(static_cast<int32_t>(op.kind)));
}

Status SqliteStorage::update_order(Connection& c, const WriteOp& op, BatchState* batch,
                                  bool carried) {
    const OrderRecord& o = op.order;
    auto d = batch->deferred.find(o.id);
    if (d != batch->deferred.end()) {
        DeferredRow& row = d->second;
        if (row.version == op.expected_version) {
            // The next step of the chain: the row holds row.expected, checked by its first step.
            if (carried) {
                row.order = &o;
                row.version = o.version;
            } else {
                write_order_row(c, o, row.expected);
                batch->deferred.erase(d);
            }
            insert_event(c, op.event, o.id);
            return Status::Ok;
        }
        // Not the chain's next version: the row takes the chain's state first, so this update
        // is judged against it, as if every step had been written on its own.
        write_order_row(c, *row.order, row.expected);
        batch->deferred.erase(d);
    }
    if (carried) {
        Query q = c.query("SELECT version FROM orders WHERE id = ?1", "read order version");
        q.bind(1, o.id);
        if (!q.step() || q.int64(0) != op.expected_version) return Status::Conflict;
        batch->deferred[o.id] = DeferredRow{&o, op.expected_version, o.version};
        order_rows_carried_.fetch_add(1, std::memory_order_relaxed);
        insert_event(c, op.event, o.id);
        return Status::Ok;
    }
    {
        Query q = c.query(kUpdateOrder, "update order");
        bind_order(q, o);
        q.bind(29, op.expected_version);
        if (q.run() == 0) return Status::Conflict;
    }
    insert_event(c, op.event, o.id);
    return Status::Ok;
}

// ---- reads -------------------------------------------------------------------------------------

std::optional<OrderRecord> SqliteStorage::get_order(const std::string& order_id) {
    static const std::string sql =
        std::string("SELECT ") + kOrderColumns + " FROM orders WHERE id = ?1";
    Reader r = borrow_reader();
    Query q = (*r).query(sql, "get order");
    q.bind(1, order_id);
    if (!q.step()) return std::nullopt;
    return read_order(q);
}

std::optional<OrderRecord> SqliteStorage::get_order_by_client_id(const std::string& account_id,
                                                                 const std::string& cid) {
    static const std::string by_account = std::string("SELECT ") + kOrderColumns +
                                          " FROM orders WHERE client_order_id = ?1 AND "
                                          "account_id = ?2";
    static const std::string any_account = std::string("SELECT ") + kOrderColumns +
                                           " FROM orders WHERE client_order_id = ?1 "
                                           "ORDER BY id LIMIT 1";
    Reader r = borrow_reader();
    Query q = (*r).query(account_id.empty() ? any_account : by_account,
                         "get order by client order id");
    q.bind(1, cid);
    if (!account_id.empty()) q.bind(2, account_id);
    if (!q.step()) return std::nullopt;
    return read_order(q);
}

// appended in ABI 1.4 (sdk14): the order whose events carry a request id of its chain.
std::optional<OrderRecord> SqliteStorage::get_order_by_request_id(const std::string& account_id,
                                                                  const std::string& request_id) {
    // A scalar subquery over the (partial) request_id index: a miss (e.g. a report of
    // an order no longer live) is one index probe. `id IN (SELECT ...) ORDER BY id DESC` built
    // an ephemeral table on every call, hit or miss.
    static const std::string sql =
        std::string("SELECT ") + kOrderColumns +
        " FROM orders WHERE id = (SELECT e.order_id FROM order_events e, orders o WHERE "
        "e.request_id = ?1 AND e.request_id <> '' AND o.id = e.order_id AND "
        "(?2 = '' OR o.account_id = ?2) "
        "ORDER BY e.order_id DESC LIMIT 1)";
    if (request_id.empty()) return std::nullopt;
    Reader r = borrow_reader();
    Query q = (*r).query(sql, "get order by request id");
    q.bind(1, request_id).bind(2, account_id);
    if (!q.step()) return std::nullopt;
    return read_order(q);
}

std::optional<OrderRecord> SqliteStorage::get_order_by_broker_id(
    const std::string& broker, const std::string& broker_order_id) {
    // Broker order ids can be reused by a venue: the newest order holding one wins.
    static const std::string sql = std::string("SELECT ") + kOrderColumns +
                                   " FROM orders WHERE broker_order_id = ?1 AND broker = ?2 "
                                   "AND broker_order_id <> '' ORDER BY id DESC LIMIT 1";
    if (broker_order_id.empty()) return std::nullopt;
    Reader r = borrow_reader();
    Query q = (*r).query(sql, "get order by broker order id");
    q.bind(1, broker_order_id).bind(2, broker);
    if (!q.step()) return std::nullopt;
    return read_order(q);
}

Page<OrderRecord> SqliteStorage::list_orders(const OrderQuery& query) {
    uint32_t limit = page_limit(query.limit);
    std::string after = query.cursor.empty() ? std::string() : decode_cursor(query.cursor);
    Filter f;
    f.in("account_id", query.account_ids);
    if (query.status) f.add("status = " + f.text(to_string(*query.status)));
    if (query.open_only) f.add(kOpenStatuses);
    if (!query.symbol.empty()) f.add("symbol = " + f.text(query.symbol));
    if (!query.broker.empty()) f.add("broker = " + f.text(query.broker));
    if (query.since_ns != 0) f.add("created_at_ns >= " + f.integer(query.since_ns));
    if (!after.empty()) f.add(std::string(query.descending ? "id < " : "id > ") + f.text(after));
    std::string sql = std::string("SELECT ") + kOrderColumns + " FROM orders" + f.where +
                      " ORDER BY id" + (query.descending ? " DESC" : "") + " LIMIT " +
                      f.integer(static_cast<int64_t>(limit) + 1);
    Reader r = borrow_reader();
    return run_page<OrderRecord>(*r, sql, f, limit, "list orders", read_order,
                                 [](const OrderRecord& o) { return o.id; });
}

std::vector<OrderEvent> SqliteStorage::list_events(const std::string& order_id, int64_t after_seq,
                                                   uint32_t limit) {
    Reader r = borrow_reader();
    Query q = (*r).query(kListEvents, "list order events");
    q.bind(1, order_id).bind(2, after_seq).bind(3, limit == 0 ? int64_t{-1} : int64_t{limit});
    std::vector<OrderEvent> out;
    while (q.step()) out.push_back(read_event(q));
    return out;
}

Page<FillRecord> SqliteStorage::list_fills(const FillQuery& query) {
    uint32_t limit = page_limit(query.limit);
    std::string after = query.cursor.empty() ? std::string() : decode_cursor(query.cursor);
    Filter f;
    f.in("account_id", query.account_ids);
    if (!query.order_id.empty()) f.add("order_id = " + f.text(query.order_id));
    if (query.since_ns != 0) f.add("executed_at_ns >= " + f.integer(query.since_ns));
    if (!after.empty()) f.add(std::string(query.descending ? "id < " : "id > ") + f.text(after));
    // One order's fills are a handful: read through the order_id index. Without the hint
    // SQLite's planner (no statistics) walks the account's index to avoid sorting by id, every
    // fill of the account for each order (a long run slowed from 3,400 to 440 orders/s by it).
    const char* from = query.order_id.empty() ? " FROM fills" : " FROM fills INDEXED BY fills_order_id";
    std::string sql = std::string("SELECT ") + kFillColumns + from + f.where +
                      " ORDER BY id" + (query.descending ? " DESC" : "") + " LIMIT " +
                      f.integer(static_cast<int64_t>(limit) + 1);
    Reader r = borrow_reader();
    return run_page<FillRecord>(*r, sql, f, limit, "list fills", read_fill,
                                [](const FillRecord& x) { return x.id; });
}

std::optional<GttRecord> SqliteStorage::get_gtt(const std::string& gtt_id) {
    static const std::string sql = std::string("SELECT ") + kGttColumns + " FROM gtts WHERE id = ?1";
    Reader r = borrow_reader();
    Query q = (*r).query(sql, "get gtt");
    q.bind(1, gtt_id);
    if (!q.step()) return std::nullopt;
    return read_gtt(q);
}

Page<GttRecord> SqliteStorage::list_gtts(const std::vector<std::string>& account_ids,
                                         bool active_only, const std::string& cursor,
                                         uint32_t limit) {
    limit = page_limit(limit);
    std::string after = cursor.empty() ? std::string() : decode_cursor(cursor);
    Filter f;
    f.in("account_id", account_ids);
    if (active_only) f.add("status = 'ACTIVE'");
    if (!after.empty()) f.add("id > " + f.text(after));
    std::string sql = std::string("SELECT ") + kGttColumns + " FROM gtts" + f.where +
                      " ORDER BY id LIMIT " + f.integer(static_cast<int64_t>(limit) + 1);
    Reader r = borrow_reader();
    return run_page<GttRecord>(*r, sql, f, limit, "list gtts", read_gtt,
                               [](const GttRecord& g) { return g.id; });
}

Page<ReconRun> SqliteStorage::list_recon_runs(const std::string& broker, const std::string& cursor,
                                              uint32_t limit) {
    limit = page_limit(limit);
    // The cursor is "<started_at_ns>|<id>" of the last run returned (newest first).
    int64_t after_started = 0;
    std::string after_id;
    if (!cursor.empty()) {
        std::string key = decode_cursor(cursor);
        size_t bar = key.find('|');
        if (bar == std::string::npos) throw sdk::Error(Status::InvalidArgument, "invalid cursor");
        auto [p, ec] = std::from_chars(key.data(), key.data() + bar, after_started);
        if (ec != std::errc() || p != key.data() + bar)
            throw sdk::Error(Status::InvalidArgument, "invalid cursor");
        after_id = key.substr(bar + 1);
    }
    Filter f;
    if (!broker.empty()) f.add("broker = " + f.text(broker));
    if (!cursor.empty()) {
        std::string s = f.integer(after_started);
        f.add("(started_at_ns < " + s + " OR (started_at_ns = " + s + " AND id < " +
              f.text(after_id) + "))");
    }
    std::string sql = std::string("SELECT ") + kReconColumns + " FROM recon_runs" + f.where +
                      " ORDER BY started_at_ns DESC, id DESC LIMIT " +
                      f.integer(static_cast<int64_t>(limit) + 1);
    Reader r = borrow_reader();
    return run_page<ReconRun>(*r, sql, f, limit, "list recon runs", read_recon,
                              [](const ReconRun& x) {
                                  return std::to_string(x.started_at_ns) + "|" + x.id;
                              });
}

// ---- idempotency records -------------------------------------------------------------------

template <typename F>
auto SqliteStorage::in_write_transaction(const char* what, F&& f)
    -> decltype(f(std::declval<Connection&>())) {
    std::optional<decltype(f(std::declval<Connection&>()))> result;
    WriteJob job;
    job.what = what;
    job.body = [&](Connection& c) { result.emplace(f(c)); };
    run_in_group(job);
    return std::move(*result);
}

void SqliteStorage::run_in_group(WriteJob& job) {
    std::unique_lock lock(group_mu_);
    group_queue_.push_back(&job);
    while (!job.done) {
        if (group_leader_) {
            group_cv_.wait(lock);
            continue;
        }
        // No one is committing: this caller takes everything queued (its own job included).
        group_leader_ = true;
        std::vector<WriteJob*> jobs;
        jobs.swap(group_queue_);
        lock.unlock();
        commit_group(jobs);
        lock.lock();
        for (WriteJob* j : jobs) j->done = true;
        group_leader_ = false;
        group_cv_.notify_all();
    }
    lock.unlock();
    if (job.error) std::rethrow_exception(job.error);
}

size_t SqliteStorage::queued_writes() {
    std::lock_guard lock(group_mu_);
    return group_queue_.size();
}

void SqliteStorage::roll_back(Connection& c) {
    if (!c.in_transaction()) return;
    int rc = sqlite3_exec(c.raw(), "ROLLBACK", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
        // Closing the connection discards the transaction for certain; the next write opens a
        // fresh one.
        host_.log(sdk::LogLevel::Error,
                  std::string("sqlite: rollback failed, reopening the writer: ") +
                      sqlite3_errmsg(c.raw()));
        writer_.reset();
    }
}

namespace {
// The statements of every transaction, run from each connection's statement cache.
const std::string kBegin = "BEGIN";
const std::string kBeginImmediate = "BEGIN IMMEDIATE";
const std::string kCommit = "COMMIT";
const std::string kSavepoint = "SAVEPOINT og_call";
const std::string kRelease = "RELEASE og_call";
}  // namespace

void SqliteStorage::commit_group(const std::vector<WriteJob*>& jobs) {
    auto fail_all = [&](std::exception_ptr e) {
        for (WriteJob* j : jobs)
            if (!j->error) j->error = e;
    };
    if (group_hook_) group_hook_(jobs.size());
    std::lock_guard lock(write_mu_);
    Connection* c = nullptr;
    try {
        c = &writer();
        c->exec_cached(kBeginImmediate, jobs.size() == 1 ? jobs[0]->what : "begin group commit");
    } catch (...) {
        fail_all(std::current_exception());
        return;
    }
    if (jobs.size() == 1) {
        try {
            jobs[0]->body(*c);
            c->exec_cached(kCommit, jobs[0]->what);
        } catch (...) {
            jobs[0]->error = std::current_exception();
            roll_back(*c);
            return;
        }
    } else {
        // Each call in its own savepoint: one that fails is undone alone, the others commit.
        for (WriteJob* j : jobs) {
            try {
                c->exec_cached(kSavepoint, j->what);
            } catch (...) {
                fail_all(std::current_exception());
                roll_back(*c);
                return;
            }
            try {
                j->body(*c);
                c->exec_cached(kRelease, j->what);
            } catch (...) {
                j->error = std::current_exception();
                if (sqlite3_exec(c->raw(), "ROLLBACK TO og_call; RELEASE og_call", nullptr,
                                 nullptr, nullptr) != SQLITE_OK) {
                    // What the others wrote cannot be told apart any more: none of it commits.
                    fail_all(std::make_exception_ptr(sdk::Error(
                        Status::Unavailable, std::string("sqlite: rolling back one call of a "
                                                         "group commit failed: ") +
                                                 sqlite3_errmsg(c->raw()))));
                    roll_back(*c);
                    return;
                }
            }
        }
        try {
            c->exec_cached(kCommit, "commit group");
        } catch (...) {
            fail_all(std::current_exception());
            roll_back(*c);
            return;
        }
    }
    restart_wal_if_large(*c);
}

namespace {

const std::string kIdemSelect =
    "SELECT key, fingerprint, completed, response, expires_at_ns FROM idempotency_keys "
    "WHERE key = ?1";

std::optional<IdempotencyRecord> read_idempotency(Connection& c, const std::string& key) {
    Query q = c.query(kIdemSelect, "read idempotency key");
    q.bind(1, key);
    if (!q.step()) return std::nullopt;
    IdempotencyRecord r;
    r.key = q.text(0);
    r.fingerprint = q.text(1);
    r.completed = q.int64(2) != 0;
    r.response = q.blob(3);
    r.expires_at_ns = q.int64(4);
    return r;
}

void write_idempotency(Connection& c, const IdempotencyRecord& r) {
    Query q = c.query(
        "INSERT OR REPLACE INTO idempotency_keys (key, fingerprint, completed, response, "
        "expires_at_ns) VALUES (?1, ?2, ?3, ?4, ?5)",
        "write idempotency key");
    q.bind(1, r.key).bind(2, r.fingerprint).bind(3, int64_t{r.completed ? 1 : 0});
    q.bind_blob(4, r.response).bind(5, r.expires_at_ns);
    q.run();
}

std::optional<IdempotencyRecord> claim_key(Connection& c, const IdempotencyRecord& marker,
                                           int64_t now_ns) {
    std::optional<IdempotencyRecord> held = read_idempotency(c, marker.key);
    if (held && held->expires_at_ns > now_ns) return held;
    IdempotencyRecord m = marker;
    m.completed = false;
    m.response.clear();
    write_idempotency(c, m);
    return std::nullopt;
}

bool complete_key(Connection& c, const IdempotencyRecord& record, int64_t now_ns) {
    std::optional<IdempotencyRecord> held = read_idempotency(c, record.key);
    if (held && held->expires_at_ns > now_ns &&
        (held->completed || held->fingerprint != record.fingerprint))
        return false;
    IdempotencyRecord r = record;
    r.completed = true;
    write_idempotency(c, r);
    return true;
}

}  // namespace

std::optional<IdempotencyRecord> SqliteStorage::idempotency_begin(const IdempotencyRecord& marker,
                                                                  int64_t now_ns) {
    if (marker.key.empty()) throw sdk::Error(Status::InvalidArgument, "empty idempotency key");
    return in_write_transaction("idempotency begin", [&](Connection& c) {
        return claim_key(c, marker, now_ns);
    });
}

bool SqliteStorage::idempotency_complete(const IdempotencyRecord& record, int64_t now_ns) {
    if (record.key.empty()) throw sdk::Error(Status::InvalidArgument, "empty idempotency key");
    return in_write_transaction("idempotency complete", [&](Connection& c) {
        return complete_key(c, record, now_ns);
    });
}

std::optional<IdempotencyRecord> SqliteStorage::idempotency_get(const std::string& key,
                                                                int64_t now_ns) {
    if (key.empty()) throw sdk::Error(Status::InvalidArgument, "empty idempotency key");
    Reader r = borrow_reader();
    std::optional<IdempotencyRecord> held = read_idempotency(*r, key);
    if (held && held->expires_at_ns <= now_ns) return std::nullopt;
    return held;
}

void SqliteStorage::idempotency_release(const std::string& key, const std::string& fingerprint,
                                        int64_t now_ns) {
    std::lock_guard lock(write_mu_);
    Query q = writer().query(
        "DELETE FROM idempotency_keys WHERE key = ?1 AND (expires_at_ns <= ?2 OR "
        "(completed = 0 AND fingerprint = ?3))",
        "release idempotency key");
    q.bind(1, key).bind(2, now_ns).bind(3, fingerprint);
    q.run();
}

uint64_t SqliteStorage::idempotency_purge(int64_t now_ns, uint32_t limit) {
    // Oldest rows first, by rowid (a begin and a complete each write a new row: rowid order is
    // the order records were last written, so roughly their expiry order): no index on the
    // expiry is written with every record. A call reads at most max(4 x limit, 4096) rows and
    // deletes the expired ones among them, up to `limit`; a marker left behind by a request that
    // never completed (it expires sooner than the completed records written before it) goes
    // when a purge reaches it - expired, it already counts as absent. limit 0 reads every row.
    std::lock_guard lock(write_mu_);
    const int64_t budget =
        limit == 0 ? int64_t{-1} : std::max<int64_t>(int64_t{4} * limit, int64_t{4096});
    std::vector<int64_t> expired;
    {
        Query q = writer().query(
            "SELECT rowid, expires_at_ns FROM idempotency_keys ORDER BY rowid LIMIT ?1",
            "find expired idempotency keys");
        q.bind(1, budget);
        while (q.step() && (limit == 0 || expired.size() < limit))
            if (q.int64(1) <= now_ns) expired.push_back(q.int64(0));
    }
    if (expired.empty()) return 0;
    Connection& c = writer();
    c.exec("BEGIN IMMEDIATE", "begin idempotency purge");
    try {
        uint64_t deleted = 0;
        for (int64_t rowid : expired) {
            // Rewritten since it was read (a begin took the key again): not expired any more.
            Query d = c.query("DELETE FROM idempotency_keys WHERE rowid = ?1 AND expires_at_ns <= ?2",
                              "purge idempotency key");
            d.bind(1, rowid).bind(2, now_ns);
            deleted += static_cast<uint64_t>(d.run());
        }
        c.exec("COMMIT", "commit idempotency purge");
        return deleted;
    } catch (const std::exception&) {
        roll_back(c);
        throw;
    }
}

// ---- leases --------------------------------------------------------------------------------

namespace {

// The expiry a lease_acquire asks for; InvalidArgument for what og_storage_vtable refuses.
int64_t lease_expiry(const std::string& name, const std::string& holder, int64_t now_ns,
                     int64_t ttl_ns) {
    if (name.empty()) throw sdk::Error(Status::InvalidArgument, "lease: empty name");
    if (holder.empty()) throw sdk::Error(Status::InvalidArgument, "lease: empty holder");
    if (ttl_ns <= 0)
        throw sdk::Error(Status::InvalidArgument,
                         "lease: ttl_ns " + std::to_string(ttl_ns) + " is not positive");
    int64_t expires = 0;
    if (__builtin_add_overflow(now_ns, ttl_ns, &expires))
        throw sdk::Error(Status::InvalidArgument, "lease: now_ns + ttl_ns overflows");
    return expires;
}

}  // namespace

bool SqliteStorage::lease_acquire(const std::string& name, const std::string& holder,
                                  int64_t now_ns, int64_t ttl_ns) {
    const int64_t expires = lease_expiry(name, holder, now_ns, ttl_ns);
    std::lock_guard lock(write_mu_);
    // One statement: the WHERE of DO UPDATE decides against the stored row, so a live lease of
    // another holder is left as it is (no row changed).
    Query q = writer().query(
        "INSERT INTO leases (name, holder, expires_at_ns) VALUES (?1, ?2, ?3) "
        "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
        "expires_at_ns = excluded.expires_at_ns "
        "WHERE leases.expires_at_ns <= ?4 OR leases.holder = excluded.holder",
        "acquire lease");
    q.bind(1, name).bind(2, holder).bind(3, expires).bind(4, now_ns);
    return q.run() == 1;
}

void SqliteStorage::lease_release(const std::string& name, const std::string& holder) {
    std::lock_guard lock(write_mu_);
    Query q = writer().query("DELETE FROM leases WHERE name = ?1 AND holder = ?2",
                             "release lease");
    q.bind(1, name).bind(2, holder);
    q.run();
}

// ---- the event log (ABI 1.4) --------------------------------------------------------------------

AccountEventPage SqliteStorage::list_account_events(const std::string& account_id,
                                                    int64_t after_seq, uint32_t limit) {
    AccountEventPage page;
    Reader r = borrow_reader();
    // One read transaction, so the bounds and the entries agree.
    (*r).exec_cached(kBegin, "begin event read");
    try {
        {
            Query q = (*r).query(
                "SELECT (SELECT last_seq FROM account_seq WHERE account_id = ?1), "
                "(SELECT MIN(seq) FROM account_events WHERE account_id = ?1), "
                "(SELECT MAX(seq) FROM account_events WHERE account_id = ?1)",
                "read account seq");
            q.bind(1, account_id);
            if (q.step()) {
                // As the writer takes it (see AppendEvent): the counter holds the last seq as of
                // the last prune, the newest entry anything later.
                page.last_seq =
                    std::max(q.is_null(0) ? 0 : q.int64(0), q.is_null(2) ? 0 : q.int64(2));
                page.oldest_seq = q.is_null(1) ? 0 : q.int64(1);
            }
        }
        if (limit > 0) {
            Query q = (*r).query(
                "SELECT seq, topic, data_json, at_ns FROM account_events WHERE account_id = ?1 "
                "AND seq > ?2 ORDER BY seq LIMIT ?3",
                "list account events");
            q.bind(1, account_id).bind(2, after_seq).bind(3, static_cast<int64_t>(limit));
            while (q.step()) {
                AccountEvent e;
                e.account_id = account_id;
                e.seq = q.int64(0);
                e.topic = q.text(1);
                e.data_json = q.text(2);
                e.at_ns = q.int64(3);
                page.items.push_back(std::move(e));
            }
        }
        (*r).exec_cached(kCommit, "end event read");
    } catch (const std::exception&) {
        if ((*r).in_transaction()) sqlite3_exec((*r).raw(), "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
    return page;
}

uint64_t SqliteStorage::prune_account_events(int64_t before_ns, uint32_t limit) {
    // Per account, its oldest entries in seq order up to the first one at or after before_ns.
    // Seq order is commit order and at_ns the committing host's clock, so that is every entry
    // older than before_ns, but for one behind an entry stamped by a clock that went back: it
    // goes with a later prune. No index on at_ns is written for it (one B-tree less per event);
    // each call reads at most what it deletes, plus one entry per account.
    std::lock_guard lock(write_mu_);
    std::vector<std::string> accounts;
    {
        Query q = writer().query("SELECT account_id FROM account_seq", "list event log accounts");
        while (q.step()) accounts.push_back(q.text(0));
    }
    uint64_t total = 0;
    for (const std::string& account : accounts) {
        if (limit != 0 && total >= limit) break;
        const int64_t room = limit == 0 ? int64_t{-1} : static_cast<int64_t>(limit - total);
        int64_t end = 0;  // entries with seq < end go
        {
            Query q = writer().query(
                "SELECT seq, at_ns FROM account_events WHERE account_id = ?1 ORDER BY seq LIMIT ?2",
                "find prunable account events");
            q.bind(1, account).bind(2, room);
            while (q.step() && q.int64(1) < before_ns) end = q.int64(0) + 1;
        }
        if (end == 0) continue;
        // The counter first takes the account's newest seq (commits leave it behind), so that
        // a seq stays taken once its entry is gone, even when every entry goes. Committed on
        // its own before the delete: a crash between the two leaves entries and a counter that
        // agrees with them.
        {
            Query u = writer().query(
                "UPDATE account_seq SET last_seq = MAX(last_seq, COALESCE((SELECT MAX(seq) FROM "
                "account_events WHERE account_id = ?1), 0)) WHERE account_id = ?1",
                "advance account seq");
            u.bind(1, account);
            u.run();
        }
        Query d = writer().query("DELETE FROM account_events WHERE account_id = ?1 AND seq < ?2",
                                 "prune account events");
        d.bind(1, account).bind(2, end);
        total += static_cast<uint64_t>(d.run());
    }
    return total;
}

}  // namespace ordergate::storage_sqlite
