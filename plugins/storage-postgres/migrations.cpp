#include "migrations.hpp"

#include <algorithm>

namespace ordergate::storage_postgres {

namespace {

// (client_order_id, account_id) and not (account_id, client_order_id): the same uniqueness, and
// this column order also serves lookups by client order id alone.
constexpr const char* kV1Tables = R"sql(
CREATE TABLE @S@.orders (
    id                 text COLLATE "C" NOT NULL PRIMARY KEY,
    client_order_id    text    NOT NULL,
    broker             text    NOT NULL,
    broker_order_id    text    NOT NULL,
    account_id         text    NOT NULL,
    symbol             text    NOT NULL,
    exchange           text    NOT NULL,
    side               text    NOT NULL,
    order_type         text    NOT NULL,
    time_in_force      text    NOT NULL,
    status             text    NOT NULL,
    quantity           numeric NOT NULL,
    filled_quantity    numeric NOT NULL,
    price              numeric,
    trigger_price      numeric,
    average_fill_price numeric,
    product            text    NOT NULL,
    reject_reason      text    NOT NULL,
    tag                text    NOT NULL,
    extra_json         text    NOT NULL,
    created_at_ns      bigint  NOT NULL,
    updated_at_ns      bigint  NOT NULL,
    version            bigint  NOT NULL,
    CONSTRAINT orders_client_order_id_key UNIQUE (client_order_id, account_id)
);
CREATE TABLE @S@.order_events (
    order_id        text COLLATE "C" NOT NULL,
    seq             bigint  NOT NULL,
    from_status     text,
    to_status       text    NOT NULL,
    source          text    NOT NULL,
    reason          text    NOT NULL,
    request_id      text    NOT NULL,
    broker_order_id text    NOT NULL,
    filled_quantity numeric NOT NULL,
    emulated        boolean NOT NULL,
    at_ns           bigint  NOT NULL,
    PRIMARY KEY (order_id, seq)
);
CREATE TABLE @S@.fills (
    id              text COLLATE "C" NOT NULL PRIMARY KEY,
    order_id        text COLLATE "C" NOT NULL,
    broker          text    NOT NULL,
    broker_trade_id text    NOT NULL,
    account_id      text    NOT NULL,
    symbol          text    NOT NULL,
    exchange        text    NOT NULL,
    side            text    NOT NULL,
    quantity        numeric NOT NULL,
    price           numeric NOT NULL,
    fee             numeric NOT NULL,
    executed_at_ns  bigint  NOT NULL,
    CONSTRAINT fills_broker_trade_id_key UNIQUE (broker, broker_trade_id)
);
CREATE TABLE @S@.gtts (
    id            text COLLATE "C" NOT NULL PRIMARY KEY,
    account_id    text   NOT NULL,
    symbol        text   NOT NULL,
    exchange      text   NOT NULL,
    status        text   NOT NULL,
    body_json     text   NOT NULL,
    expires_at_ns bigint NOT NULL,
    created_at_ns bigint NOT NULL,
    updated_at_ns bigint NOT NULL,
    version       bigint NOT NULL
);
CREATE TABLE @S@.recon_runs (
    id             text COLLATE "C" NOT NULL PRIMARY KEY,
    broker         text   NOT NULL,
    status         text   NOT NULL,
    report_json    text   NOT NULL,
    started_at_ns  bigint NOT NULL,
    finished_at_ns bigint NOT NULL
);
)sql";

constexpr const char* kV2Indexes = R"sql(
CREATE INDEX orders_broker_order_id ON @S@.orders (broker_order_id, broker);
CREATE INDEX orders_account_id ON @S@.orders (account_id, id);
CREATE INDEX orders_status ON @S@.orders (status, id);
CREATE INDEX orders_created_at ON @S@.orders (created_at_ns);
CREATE INDEX fills_order_id ON @S@.fills (order_id);
CREATE INDEX fills_account_id ON @S@.fills (account_id, id);
CREATE INDEX gtts_account_id ON @S@.gtts (account_id, id);
CREATE INDEX gtts_status ON @S@.gtts (status, id);
CREATE INDEX recon_runs_started ON @S@.recon_runs (started_at_ns, id);
CREATE INDEX recon_runs_broker ON @S@.recon_runs (broker, started_at_ns, id);
)sql";

constexpr const char* kV3AppendOnlyEvents = R"sql(
CREATE FUNCTION @S@.order_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'order_events is append-only';
END
$$;
CREATE TRIGGER order_events_append_only BEFORE UPDATE OR DELETE ON @S@.order_events
    FOR EACH ROW EXECUTE FUNCTION @S@.order_events_append_only();
)sql";

// Idempotency records (ABI 1.2). `response` is the host's opaque encoding of the answer.
constexpr const char* kV4IdempotencyKeys = R"sql(
CREATE TABLE @S@.idempotency_keys (
    key           text    NOT NULL PRIMARY KEY,
    fingerprint   text    NOT NULL,
    completed     boolean NOT NULL,
    response      bytea   NOT NULL,
    expires_at_ns bigint  NOT NULL
);
CREATE INDEX idempotency_keys_expires ON @S@.idempotency_keys (expires_at_ns);
)sql";

// Named leases (ABI 1.3): one holder at a time per name, until expires_at_ns on the host's clock.
constexpr const char* kV5Leases = R"sql(
CREATE TABLE @S@.leases (
    name          text   NOT NULL PRIMARY KEY,
    holder        text   NOT NULL,
    expires_at_ns bigint NOT NULL
);
)sql";

// appended in ABI 1.4 (sdk14): get_order_by_request_id finds the order of a modify's or
// cancel's client request id (its events carry it) after a restart.
constexpr const char* kV6EventsByRequestId = R"sql(
CREATE INDEX order_events_request_id ON @S@.order_events (request_id);
)sql";

// The per-account event log (ABI 1.4, migration 7). account_seq holds each account's counter: a write takes
// the counter row (INSERT … ON CONFLICT DO UPDATE locks it until COMMIT), so of two transactions
// appending to one account the second waits for the first to commit, and seq order is commit
// order. Pruning deletes entries, never counters, so a seq is never reused.
constexpr const char* kV7AccountEvents = R"sql(
CREATE TABLE @S@.account_seq (
    account_id text   NOT NULL PRIMARY KEY,
    last_seq   bigint NOT NULL
);
CREATE TABLE @S@.account_events (
    account_id text   NOT NULL,
    seq        bigint NOT NULL,
    topic      text   NOT NULL,
    data_json  text   NOT NULL,
    at_ns      bigint NOT NULL,
    PRIMARY KEY (account_id, seq)
);
CREATE INDEX account_events_at ON @S@.account_events (at_ns);
)sql";

// ABI 1.5: trade busts and corrections are their own rows (kind 1 bust, 2 correction; 0 trade),
// naming the broker_trade_id they act on. Existing rows are trades.
constexpr const char* kV8FillKinds = R"sql(
ALTER TABLE @S@.fills ADD COLUMN kind integer NOT NULL DEFAULT 0;
ALTER TABLE @S@.fills ADD COLUMN ref_trade_id text NOT NULL DEFAULT '';
)sql";

// Index entries only for what is looked up: an order's broker id is empty until the venue's
// ack (the index held every new order under '' first), and most events carry no request id.
// The lookups say `<> ''` (pg_storage.cpp): with a prepared statement's generic plan PostgreSQL
// cannot prove it from `= $1`. CREATE INDEX holds writes to the table while it builds (once, at
// the upgrade).
constexpr const char* kV9PartialIndexes = R"sql(
DROP INDEX @S@.orders_broker_order_id;
CREATE INDEX orders_broker_order_id ON @S@.orders (broker_order_id, broker)
    WHERE broker_order_id <> '';
DROP INDEX @S@.order_events_request_id;
CREATE INDEX order_events_request_id ON @S@.order_events (request_id) WHERE request_id <> '';
)sql";

// The event log is pruned per account in seq order (pg_storage.cpp), so the index on at_ns that
// every appended entry also wrote is read by nothing.
constexpr const char* kV10NoEventTimeIndex = R"sql(
DROP INDEX @S@.account_events_at;
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
    // appended in ABI 1.5
    {8, "fills: kind and ref_trade_id (busts and corrections)", kV8FillKinds},
    {9, "broker id and request id indexes hold only rows that have one", kV9PartialIndexes},
    {10, "no index on the event log's time", kV10NoEventTimeIndex},
};

std::string with_schema(const char* sql, const std::string& quoted) {
    std::string out(sql);
    for (size_t at = out.find("@S@"); at != std::string::npos; at = out.find("@S@", at)) {
        out.replace(at, 3, quoted);
        at += quoted.size();
    }
    return out;
}

}  // namespace

std::span<const Migration> migrations() { return kMigrations; }

int64_t apply_migrations(Connection& db, const std::string& schema, int64_t up_to) {
    const std::string quoted = "\"" + schema + "\"";
    Params lock_params;
    lock_params.add(static_cast<int64_t>(kMigrationLockClass)).add("ordergate:" + schema);
    db.exec_params("SELECT pg_advisory_lock($1::int, hashtext($2::text))", lock_params,
                   "take the migration lock");
    try {
        db.exec("CREATE SCHEMA IF NOT EXISTS " + quoted, "create schema");
        db.exec("CREATE TABLE IF NOT EXISTS " + quoted +
                    ".schema_migrations (version bigint NOT NULL PRIMARY KEY, "
                    "description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
                "create schema_migrations");
        Result done = db.exec("SELECT version FROM " + quoted + ".schema_migrations",
                              "read schema_migrations");
        std::vector<int64_t> applied;
        for (int r = 0; r < done.rows(); ++r) applied.push_back(done.int64(r, 0));
        for (const Migration& m : migrations()) {
            if (m.version > up_to) break;
            if (std::find(applied.begin(), applied.end(), m.version) != applied.end()) continue;
            db.exec("BEGIN", "begin migration");
            try {
                db.exec(with_schema(m.sql, quoted), "apply migration " + std::to_string(m.version));
                Params p;
                p.add(m.version).add(std::string_view(m.description));
                db.exec_params("INSERT INTO " + quoted +
                                   ".schema_migrations (version, description) VALUES ($1, $2)",
                               p, "record migration");
                db.exec("COMMIT", "commit migration");
            } catch (const sdk::Error&) {
                if (PQtransactionStatus(db.raw()) != PQTRANS_IDLE) db.exec("ROLLBACK", "roll back");
                throw;
            }
        }
        Result v = db.exec("SELECT COALESCE(MAX(version), 0) FROM " + quoted + ".schema_migrations",
                           "read schema version");
        int64_t version = v.int64(0, 0);
        db.exec_params("SELECT pg_advisory_unlock($1::int, hashtext($2::text))", lock_params,
                       "release the migration lock");
        return version;
    } catch (const sdk::Error&) {
        // The session is closed by the caller, which releases the lock with it.
        db.mark_broken();
        throw;
    }
}

}  // namespace ordergate::storage_postgres
