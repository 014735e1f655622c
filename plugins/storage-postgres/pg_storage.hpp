// PgStorage — the production storage plugin ("storage-postgres"), on libpq.
//
// Configuration (the plugin's YAML block; the host maps DATABASE_URL to `url`):
//   url                   libpq URI or key=value string (required). Never logged.
//   schema                schema holding every table; default order_service. Created by migrate()
//                         when missing; nothing is created outside it. [a-z_][a-z0-9_]{0,62}.
//   pool_size             connections at most; default 8.
//   pool_wait_ms          how long a call waits for a free connection before failing with
//                         Unavailable("connection pool exhausted"); default 2000.
//   connect_timeout_s     libpq connect_timeout; default 5 (overrides the URL's).
//   statement_timeout_ms  server-side statement_timeout of every pooled session; default 10000,
//                         0 = none. A statement past it fails with Unavailable.
//   ping_timeout_ms       deadline of ping()'s SELECT 1; default 1000.
//
// Threads: every function may be called from any thread, concurrently; each call borrows one
// pooled connection. migrate() and ping() use sessions of their own, so /health/ready answers
// even while the pool is saturated.
//
// Errors: sdk::Error(Unavailable) when PostgreSQL cannot be reached, the connection was lost
// (the pool drops it and reconnects on the next call, so a restart recovers by itself), the pool
// stays exhausted, or a statement times out; sdk::Error(UnknownOutcome) when the connection was
// lost after COMMIT was sent and before its answer arrived (the batch may or may not be stored:
// look it up); InvalidArgument for a malformed write op or cursor; Internal otherwise. Messages
// carry the operation, the server's message and SQLSTATE — for the host's log, never for clients.
//
// write_batch has the same per-op semantics as storage-sqlite (see og_write_op and
// plugins/storage-sqlite/sqlite_storage.hpp): one transaction; INSERT ... ON CONFLICT DO NOTHING
// and UPDATE ... WHERE version = expected, each op one statement (an order and its event are
// written by one statement with a data-modifying CTE). The ops are pipelined (libpq pipeline
// mode): the whole batch, with BEGIN and COMMIT, travels in one round trip, split only before an
// op flagged REQUIRES_PREVIOUS, whose predecessor's result must be known first.
//
// Listings: ordered by id (ascending unless descending), at most `limit` rows (0 means 100,
// more than 1000 means 1000), next cursor when more remain. Recon runs: newest started first.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ordergate/sdk.hpp"
#include "pg_pool.hpp"

namespace ordergate::storage_postgres {

class PgStorage : public sdk::StoragePlugin {
public:
    explicit PgStorage(const sdk::PluginContext& ctx);
    ~PgStorage() override;

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

    // Idempotency records (ABI 1.2), in idempotency_keys (migration 4). Each call is one
    // statement (begin: an INSERT … ON CONFLICT DO UPDATE … WHERE expired, then a read of the
    // live row when it did not write), so hosts sharing the database share their keys.
    std::optional<IdempotencyRecord> idempotency_begin(const IdempotencyRecord& marker,
                                                       int64_t now_ns) override;
    bool idempotency_complete(const IdempotencyRecord& record, int64_t now_ns) override;
    void idempotency_release(const std::string& key, const std::string& fingerprint,
                             int64_t now_ns) override;
    uint64_t idempotency_purge(int64_t now_ns, uint32_t limit) override;
    std::optional<IdempotencyRecord> idempotency_get(const std::string& key,
                                                     int64_t now_ns) override;

    // Leases (ABI 1.3), in leases (migration 5). lease_acquire is one statement, INSERT … ON
    // CONFLICT (name) DO UPDATE … WHERE leases.expires_at_ns <= now OR leases.holder = holder
    // RETURNING holder: the row lock of ON CONFLICT makes the WHERE see the latest committed
    // lease, so of hosts racing for one only one gets a row back.
    bool lease_acquire(const std::string& name, const std::string& holder, int64_t now_ns,
                       int64_t ttl_ns) override;
    void lease_release(const std::string& name, const std::string& holder) override;
    // appended in ABI 1.4 (sdk14)
    std::optional<OrderRecord> get_order_by_request_id(const std::string& account_id,
                                                       const std::string& request_id) override;

    // The per-account event log (ABI 1.4), in account_seq and account_events (migration 6). An
    // entry is one statement of the batch (the counter row upserted, the entry inserted, and
    // pg_notify(channel, "<seq>:<account_id>") sent, all delivered at COMMIT); the entries of a
    // batch travel after its other ops, once the results they depend on are known.
    // wait_account_events LISTENs on a session of its own; its first call (and the first after
    // that session was lost) answers one notice with an empty account_id: notices may have been
    // missed.
    AccountEventPage list_account_events(const std::string& account_id, int64_t after_seq,
                                         uint32_t limit) override;
    uint64_t prune_account_events(int64_t before_ns, uint32_t limit) override;
    std::vector<AccountEvent> wait_account_events(std::chrono::milliseconds timeout) override;
    // The NOTIFY channel of a schema ("og_events_<schema>", shortened by a hash past 63 bytes).
    static std::string channel_for(const std::string& schema);

    // Migrates only up to `version` (tests of migrating an older database).
    int64_t migrate_to(int64_t version);
    const std::string& schema() const { return schema_; }

    // The SQL of every statement, built once for the configured schema.
    struct Statements;

private:
    struct Prepared;
    Prepared statement_for(const WriteOp& op) const;
    void add_params(const WriteOp& op, Params& p) const;
    std::vector<Status> run_batch(Connection& c, const std::vector<WriteOp>& ops);

    sdk::Host host_;
    std::string schema_;
    ConnectSpec spec_;
    std::chrono::milliseconds ping_timeout_;
    std::unique_ptr<Statements> sql_;
    std::unique_ptr<Pool> pool_;

    std::mutex ping_mu_;
    std::unique_ptr<Connection> ping_conn_;

    std::string channel_;  // see channel_for
    std::mutex listen_mu_;
    std::unique_ptr<Connection> listen_conn_;
};

}  // namespace ordergate::storage_postgres
