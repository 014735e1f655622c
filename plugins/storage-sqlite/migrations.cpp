#include "migrations.hpp"

#include <chrono>
#include <string>

namespace ordergate::storage_sqlite {

namespace {

// Why (client_order_id, account_id) and not (account_id, client_order_id): the uniqueness is the
// same, and this column order also serves lookups by client order id alone (empty account_id).
constexpr const char* kV1Tables = R"sql(
CREATE TABLE orders (
    id                   TEXT    NOT NULL PRIMARY KEY,
    client_order_id      TEXT    NOT NULL,
    broker               TEXT    NOT NULL,
    broker_order_id      TEXT    NOT NULL,
    account_id           TEXT    NOT NULL,
    symbol               TEXT    NOT NULL,
    exchange             TEXT    NOT NULL,
    side                 TEXT    NOT NULL,
    order_type           TEXT    NOT NULL,
    time_in_force        TEXT    NOT NULL,
    status               TEXT    NOT NULL,
    quantity_m           INTEGER NOT NULL,
    quantity_s           INTEGER NOT NULL,
    filled_quantity_m    INTEGER NOT NULL,
    filled_quantity_s    INTEGER NOT NULL,
    price_m              INTEGER,
    price_s              INTEGER,
    trigger_price_m      INTEGER,
    trigger_price_s      INTEGER,
    average_fill_price_m INTEGER,
    average_fill_price_s INTEGER,
    product              TEXT    NOT NULL,
    reject_reason        TEXT    NOT NULL,
    tag                  TEXT    NOT NULL,
    extra_json           TEXT    NOT NULL,
    created_at_ns        INTEGER NOT NULL,
    updated_at_ns        INTEGER NOT NULL,
    version              INTEGER NOT NULL,
    UNIQUE (client_order_id, account_id)
);
CREATE TABLE order_events (
    order_id          TEXT    NOT NULL,
    seq               INTEGER NOT NULL,
    from_status       TEXT,
    to_status         TEXT    NOT NULL,
    source            TEXT    NOT NULL,
    reason            TEXT    NOT NULL,
    request_id        TEXT    NOT NULL,
    broker_order_id   TEXT    NOT NULL,
    filled_quantity_m INTEGER NOT NULL,
    filled_quantity_s INTEGER NOT NULL,
    emulated          INTEGER NOT NULL,
    at_ns             INTEGER NOT NULL,
    PRIMARY KEY (order_id, seq)
) WITHOUT ROWID;
CREATE TABLE fills (
    id              TEXT    NOT NULL PRIMARY KEY,
    order_id        TEXT    NOT NULL,
    broker          TEXT    NOT NULL,
    broker_trade_id TEXT    NOT NULL,
    account_id      TEXT    NOT NULL,
    symbol          TEXT    NOT NULL,
    exchange        TEXT    NOT NULL,
    side            TEXT    NOT NULL,
    quantity_m      INTEGER NOT NULL,
    quantity_s      INTEGER NOT NULL,
    price_m         INTEGER NOT NULL,
    price_s         INTEGER NOT NULL,
    fee_m           INTEGER NOT NULL,
    fee_s           INTEGER NOT NULL,
    executed_at_ns  INTEGER NOT NULL,
    UNIQUE (broker, broker_trade_id)
);
CREATE TABLE gtts (
    id            TEXT    NOT NULL PRIMARY KEY,
    account_id    TEXT    NOT NULL,
    symbol        TEXT    NOT NULL,
    exchange      TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    body_json     TEXT    NOT NULL,
    expires_at_ns INTEGER NOT NULL,
    created_at_ns INTEGER NOT NULL,
    updated_at_ns INTEGER NOT NULL,
    version       INTEGER NOT NULL
);
CREATE TABLE recon_runs (
    id             TEXT    NOT NULL PRIMARY KEY,
    broker         TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    report_json    TEXT    NOT NULL,
    started_at_ns  INTEGER NOT NULL,
    finished_at_ns INTEGER NOT NULL
);
)sql";

constexpr const char* kV2Indexes = R"sql(
CREATE INDEX orders_broker_order_id ON orders (broker_order_id, broker);
CREATE INDEX orders_account_id ON orders (account_id, id);
CREATE INDEX orders_status ON orders (status, id);
CREATE INDEX orders_created_at ON orders (created_at_ns);
CREATE INDEX fills_order_id ON fills (order_id);
CREATE INDEX fills_account_id ON fills (account_id, id);
CREATE INDEX gtts_account_id ON gtts (account_id, id);
CREATE INDEX gtts_status ON gtts (status, id);
CREATE INDEX recon_runs_started ON recon_runs (started_at_ns, id);
CREATE INDEX recon_runs_broker ON recon_runs (broker, started_at_ns, id);
)sql";

constexpr const char* kV3AppendOnlyEvents = R"sql(
CREATE TRIGGER order_events_no_update BEFORE UPDATE ON order_events
BEGIN SELECT RAISE(ABORT, 'order_events is append-only'); END;
CREATE TRIGGER order_events_no_delete BEFORE DELETE ON order_events
BEGIN SELECT RAISE(ABORT, 'order_events is append-only'); END;
)sql";

// Idempotency records (ABI 1.2). `response` is the host's opaque encoding of the answer.
constexpr const char* kV4IdempotencyKeys = R"sql(
CREATE TABLE idempotency_keys (
    key           TEXT    NOT NULL PRIMARY KEY,
    fingerprint   TEXT    NOT NULL,
    completed     INTEGER NOT NULL,
    response      BLOB    NOT NULL,
    expires_at_ns INTEGER NOT NULL
);
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at_ns);
)sql";

// Named leases (ABI 1.3): one holder at a time per name, until expires_at_ns on the host's clock.
constexpr const char* kV5Leases = R"sql(
CREATE TABLE leases (
    name          TEXT    NOT NULL PRIMARY KEY,
    holder        TEXT    NOT NULL,
    expires_at_ns INTEGER NOT NULL
);
)sql";

// appended in ABI 1.4 (sdk14): get_order_by_request_id finds the order of a modify's or
// cancel's client request id (its events carry it) after a restart.
constexpr const char* kV6EventsByRequestId = R"sql(
CREATE INDEX order_events_request_id ON order_events (request_id);
)sql";

// The per-account event log (ABI 1.4, migration 7). account_seq holds each account's counter: a seq is the
// counter plus one, taken inside the write transaction (SQLite has one writer), so seq order is
// commit order; pruning deletes entries, never counters, so a seq is never reused. Since then
// commits no longer write the counter: a seq follows the greater of the account's newest entry
// and its counter, which retention advances before it deletes (sqlite_storage.cpp, AppendEvent).
constexpr const char* kV7AccountEvents = R"sql(
CREATE TABLE account_seq (
    account_id TEXT    NOT NULL PRIMARY KEY,
    last_seq   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE account_events (
    account_id TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    topic      TEXT    NOT NULL,
    data_json  TEXT    NOT NULL,
    at_ns      INTEGER NOT NULL,
    PRIMARY KEY (account_id, seq)
) WITHOUT ROWID;
CREATE INDEX account_events_at ON account_events (at_ns);
)sql";

// Most events (every broker event) carry no request id: they stay out of its index, so an
// order's write-behind commits touch one B-tree fewer. Lookups say `request_id <> ''`.
constexpr const char* kV8PartialRequestIdIndex = R"sql(
DROP INDEX order_events_request_id;
CREATE INDEX order_events_request_id ON order_events (request_id) WHERE request_id <> '';
)sql";

// ABI 1.5: trade busts and corrections are their own rows (kind 1 bust, 2 correction; 0 trade),
// naming the broker_trade_id they act on. Existing rows are trades.
constexpr const char* kV9FillKinds = R"sql(
ALTER TABLE fills ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;
ALTER TABLE fills ADD COLUMN ref_trade_id TEXT NOT NULL DEFAULT '';
)sql";

// Retention prunes each account's oldest entries by seq (see prune_account_events), so no index
// on at_ns is written with every entry.
constexpr const char* kV10NoEventTimeIndex = R"sql(
DROP INDEX account_events_at;
)sql";

// Expired idempotency keys are purged oldest row first (see idempotency_purge), so no index on
// the expiry is written with every begin and complete.
constexpr const char* kV11NoIdempotencyExpiryIndex = R"sql(
DROP INDEX idempotency_keys_expires;
)sql";

// An order's broker id is empty until the venue's ack: the index held every new order under ''
// first, then moved it to its broker id, two more leaves written per order. Now it holds broker
// ids only; lookups say `broker_order_id <> ''` (sqlite_storage.cpp).
constexpr const char* kV12PartialBrokerIdIndex = R"sql(
DROP INDEX orders_broker_order_id;
CREATE INDEX orders_broker_order_id ON orders (broker_order_id, broker) WHERE broker_order_id <> '';
)sql";

// The event log was a WITHOUT ROWID table keyed by (account_id, seq): its rows (a rendered
// document each, ≈ 500 bytes) sat in an index B-tree, where SQLite has no append fast path, so
// every filled leaf rebalanced its siblings and parent (≈ 5 pages per order written). Now the
// rows append to a rowid table, and a narrow unique index keeps the (account_id, seq) order and
// uniqueness every read and the pruning use. The copy keeps every entry and seq as it was.
constexpr const char* kV13AppendedEventLog = R"sql(
CREATE TABLE account_events_appended (
    id         INTEGER PRIMARY KEY,
    account_id TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    topic      TEXT    NOT NULL,
    data_json  TEXT    NOT NULL,
    at_ns      INTEGER NOT NULL
);
INSERT INTO account_events_appended (account_id, seq, topic, data_json, at_ns)
    SELECT account_id, seq, topic, data_json, at_ns FROM account_events ORDER BY account_id, seq;
DROP TABLE account_events;
ALTER TABLE account_events_appended RENAME TO account_events;
CREATE UNIQUE INDEX account_events_seq ON account_events (account_id, seq);
)sql";

constexpr Migration kMigrations[] = {
    {1, "orders, order_events, fills, gtts, recon_runs", kV1Tables},
    {2, "indexes for lookups and listings", kV2Indexes},
    {3, "order_events is append-only", kV3AppendOnlyEvents},
    {4, "idempotency_keys", kV4IdempotencyKeys},
    {5, "leases", kV5Leases},
    // appended in ABI 1.4 (sdk14)
    {6, "order_events by request id", kV6EventsByRequestId},
    {7, "account_seq, account_events", kV7AccountEvents},
    {8, "order_events by request id: only events that carry one", kV8PartialRequestIdIndex},
    // appended in ABI 1.5
    {9, "fills: kind and ref_trade_id (busts and corrections)", kV9FillKinds},
    {10, "account_events: no index on at_ns (pruned by seq)", kV10NoEventTimeIndex},
    {11, "idempotency_keys: no index on the expiry (purged by rowid)", kV11NoIdempotencyExpiryIndex},
    {12, "orders: the broker id index holds only orders that have one", kV12PartialBrokerIdIndex},
    {13, "account_events: rows appended to a rowid table, (account_id, seq) in a unique index",
     kV13AppendedEventLog},
};

}  // namespace

std::span<const Migration> migrations() { return kMigrations; }

namespace {
int64_t recorded_version(Connection& db) {
    Query q = db.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                       "read schema version");
    q.step();
    return q.int64(0);
}
}  // namespace

int64_t apply_migrations(Connection& db, int64_t now_ns, int64_t up_to,
                         const MigrationProgress& progress) {
    db.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL PRIMARY KEY, "
        "description TEXT NOT NULL, applied_at_ns INTEGER NOT NULL)",
        "create schema_migrations");
    const int64_t from = recorded_version(db);
    const auto started = std::chrono::steady_clock::now();
    int applied_now = 0;
    for (const Migration& m : migrations()) {
        if (m.version > up_to) break;
        db.exec("BEGIN IMMEDIATE", "begin migration");
        try {
            bool applied = false;
            {
                Query q = db.query("SELECT 1 FROM schema_migrations WHERE version = ?1",
                                   "read schema_migrations");
                q.bind(1, m.version);
                applied = q.step();
            }
            if (!applied) {
                // An upgrade of a store in use may copy a table: say which step is running.
                if (progress && from > 0)
                    progress("migration_started version=" +
                             std::to_string(m.version) + " description=\"" + m.description + "\"");
                db.exec(m.sql, "apply migration");
                Query q = db.query(
                    "INSERT INTO schema_migrations (version, description, applied_at_ns) "
                    "VALUES (?1, ?2, ?3)",
                    "record migration");
                q.bind(1, m.version).bind(2, std::string_view(m.description)).bind(3, now_ns);
                q.run();
                ++applied_now;
            }
            db.exec("COMMIT", "commit migration");
        } catch (const sdk::Error& e) {
            if (db.in_transaction()) db.exec("ROLLBACK", "roll back migration");
            throw sdk::Error(e.status(), "migration " + std::to_string(m.version) + " (" +
                                             m.description + "): " + e.what());
        }
    }
    const int64_t reached = recorded_version(db);
    if (progress && applied_now > 0) {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - started)
                            .count();
        progress("migrated from_version=" + std::to_string(from) +
                 " to_version=" + std::to_string(reached) + " steps=" +
                 std::to_string(applied_now) + " elapsed_ms=" + std::to_string(ms));
    }
    return reached;
}

}  // namespace ordergate::storage_sqlite
