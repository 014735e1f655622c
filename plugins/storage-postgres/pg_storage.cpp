#include "pg_storage.hpp"

#include <algorithm>
#include <poll.h>

#include <cerrno>
#include <charconv>
#include <cstdio>

#include "ordergate/cursor.hpp"
#include "migrations.hpp"

namespace ordergate::storage_postgres {

using sdk::decode_cursor;
using sdk::encode_cursor;

namespace {

constexpr uint32_t kDefaultLimit = 100;
constexpr uint32_t kMaxLimit = 1000;
// Ops sent before a sync point, so neither side's socket buffer can fill up and stall the other.
constexpr size_t kMaxPipelined = 256;
// A batch's event-log entries go in statements of 1, 2, 4, ... 64 entries (the binary digits of
// their count, largest first): one prepared statement per size.
constexpr size_t kEntryChunkSizes = 7;
constexpr const char* kEntryChunkNames[kEntryChunkSizes] = {
    "og_append_events_1",  "og_append_events_2",  "og_append_events_4", "og_append_events_8",
    "og_append_events_16", "og_append_events_32", "og_append_events_64"};

uint32_t page_limit(uint32_t limit) {
    if (limit == 0) return kDefaultLimit;
    return std::min(limit, kMaxLimit);
}

[[noreturn]] void invalid_op(size_t index, std::string_view what) {
    throw sdk::Error(Status::InvalidArgument,
                     "write op " + std::to_string(index) + ": " + std::string(what));
}

[[noreturn]] void corrupt(std::string_view column, const std::string& v) {
    throw sdk::Error(Status::Internal,
                     "postgres: corrupt row: " + std::string(column) + " = '" + v + "'");
}

template <typename E>
E parse_column(const Result& r, int row, int col, bool (*parse)(std::string_view, E*),
               std::string_view column) {
    std::string s = r.text(row, col);
    E v{};
    if (!parse(s, &v)) corrupt(column, s);
    return v;
}

bool valid_schema_name(const std::string& s) {
    if (s.empty() || s.size() > 63) return false;
    if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_')) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

constexpr const char* kOrderColumns =
    "id, client_order_id, broker, broker_order_id, account_id, symbol, exchange, side, "
    "order_type, time_in_force, status, quantity, filled_quantity, price, trigger_price, "
    "average_fill_price, product, reject_reason, tag, extra_json, created_at_ns, updated_at_ns, "
    "version";
constexpr const char* kEventColumns =
    "order_id, seq, from_status, to_status, source, reason, request_id, broker_order_id, "
    "filled_quantity, emulated, at_ns";
constexpr const char* kFillColumns =
    "id, order_id, broker, broker_trade_id, account_id, symbol, exchange, side, quantity, price, "
    "fee, executed_at_ns, kind, ref_trade_id";
constexpr const char* kGttColumns =
    "id, account_id, symbol, exchange, status, body_json, expires_at_ns, created_at_ns, "
    "updated_at_ns, version";
constexpr const char* kReconColumns =
    "id, broker, status, report_json, started_at_ns, finished_at_ns";

// "$n, $n+1, …" for `count` parameters.
std::string placeholders(int first, int count) {
    std::string out;
    for (int i = 0; i < count; ++i) {
        if (i) out += ", ";
        out += "$" + std::to_string(first + i);
    }
    return out;
}

// The event half of the order statements: inserts the event for the row the CTE `x` returned.
std::string event_insert(const std::string& s, int first) {
    auto p = [&](int k, const char* type) {
        return "$" + std::to_string(first + k) + "::" + type;
    };
    return "INSERT INTO " + s + ".order_events (" + kEventColumns + ") SELECT x.id, " +
           p(0, "bigint") + ", " + p(1, "text") + ", " + p(2, "text") + ", " + p(3, "text") +
           ", " + p(4, "text") + ", " + p(5, "text") + ", " + p(6, "text") + ", " +
           p(7, "numeric") + ", " + p(8, "boolean") + ", " + p(9, "bigint") + " FROM x";
}

void add_event(Params& p, const OrderEvent& e) {
    p.add(e.seq);
    if (e.from_status) p.add(to_string(*e.from_status));
    else p.add_null();
    p.add(to_string(e.to_status)).add(to_string(e.source)).add(e.reason).add(e.request_id);
    p.add(e.broker_order_id).add(e.filled_quantity).add_bool(e.emulated).add(e.at_ns);
}

OrderRecord read_order(const Result& r, int i) {
    OrderRecord o;
    o.id = r.text(i, 0);
    o.client_order_id = r.text(i, 1);
    o.broker = r.text(i, 2);
    o.broker_order_id = r.text(i, 3);
    o.account_id = r.text(i, 4);
    o.symbol = r.text(i, 5);
    o.exchange = r.text(i, 6);
    o.side = parse_column(r, i, 7, parse_side, "orders.side");
    o.order_type = parse_column(r, i, 8, parse_order_type, "orders.order_type");
    o.time_in_force = parse_column(r, i, 9, parse_time_in_force, "orders.time_in_force");
    o.status = parse_column(r, i, 10, parse_order_status, "orders.status");
    o.quantity = r.decimal(i, 11);
    o.filled_quantity = r.decimal(i, 12);
    o.price = r.opt_decimal(i, 13);
    o.trigger_price = r.opt_decimal(i, 14);
    o.average_fill_price = r.opt_decimal(i, 15);
    o.product = r.text(i, 16);
    o.reject_reason = r.text(i, 17);
    o.tag = r.text(i, 18);
    o.extra_json = r.text(i, 19);
    o.created_at_ns = r.int64(i, 20);
    o.updated_at_ns = r.int64(i, 21);
    o.version = r.int64(i, 22);
    return o;
}

OrderEvent read_event(const Result& r, int i) {
    OrderEvent e;
    e.order_id = r.text(i, 0);
    e.seq = r.int64(i, 1);
    if (!r.is_null(i, 2)) e.from_status = parse_column(r, i, 2, parse_order_status, "order_events.from_status");
    e.to_status = parse_column(r, i, 3, parse_order_status, "order_events.to_status");
    e.source = parse_column(r, i, 4, parse_event_source, "order_events.source");
    e.reason = r.text(i, 5);
    e.request_id = r.text(i, 6);
    e.broker_order_id = r.text(i, 7);
    e.filled_quantity = r.decimal(i, 8);
    e.emulated = r.boolean(i, 9);
    e.at_ns = r.int64(i, 10);
    return e;
}

FillRecord read_fill(const Result& r, int i) {
    FillRecord f;
    f.id = r.text(i, 0);
    f.order_id = r.text(i, 1);
    f.broker = r.text(i, 2);
    f.broker_trade_id = r.text(i, 3);
    f.account_id = r.text(i, 4);
    f.symbol = r.text(i, 5);
    f.exchange = r.text(i, 6);
    f.side = parse_column(r, i, 7, parse_side, "fills.side");
    f.quantity = r.decimal(i, 8);
    f.price = r.decimal(i, 9);
    f.fee = r.decimal(i, 10);
    f.executed_at_ns = r.int64(i, 11);
    const int64_t kind = r.int64(i, 12);
    if (kind < OG_FILL_TRADE || kind > OG_FILL_CORRECTION) corrupt("fills.kind", std::to_string(kind));
    f.kind = static_cast<FillKind>(kind);
    f.ref_trade_id = r.text(i, 13);
    return f;
}

GttRecord read_gtt(const Result& r, int i) {
    GttRecord g;
    g.id = r.text(i, 0);
    g.account_id = r.text(i, 1);
    g.symbol = r.text(i, 2);
    g.exchange = r.text(i, 3);
    g.status = r.text(i, 4);
    g.body_json = r.text(i, 5);
    g.expires_at_ns = r.int64(i, 6);
    g.created_at_ns = r.int64(i, 7);
    g.updated_at_ns = r.int64(i, 8);
    g.version = r.int64(i, 9);
    return g;
}

ReconRun read_recon(const Result& r, int i) {
    ReconRun x;
    x.id = r.text(i, 0);
    x.broker = r.text(i, 1);
    x.status = r.text(i, 2);
    x.report_json = r.text(i, 3);
    x.started_at_ns = r.int64(i, 4);
    x.finished_at_ns = r.int64(i, 5);
    return x;
}

// Dynamic WHERE clauses for listings, with their parameters.
struct Filter {
    std::string where;
    Params params;

    void add(const std::string& clause) {
        where += where.empty() ? " WHERE " : " AND ";
        where += clause;
    }
    std::string text(std::string_view v) {
        params.add(v);
        return "$" + std::to_string(params.size()) + "::text";
    }
    std::string integer(int64_t v) {
        params.add(v);
        return "$" + std::to_string(params.size()) + "::bigint";
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
};

constexpr const char* kOpenStatuses =
    "status IN ('PENDING_NEW', 'OPEN', 'PARTIALLY_FILLED', 'PENDING_REPLACE', 'PENDING_CANCEL')";

template <typename T, typename Read, typename Key>
Page<T> run_page(Connection& c, const std::string& sql, const Filter& f, uint32_t limit,
                 std::string_view context, Read read, Key key) {
    Page<T> page;
    Result r = c.exec_params(sql, f.params, context);
    int n = r.rows();
    for (int i = 0; i < n; ++i) {
        if (page.items.size() == limit) {
            page.next_cursor = encode_cursor(key(page.items.back()));
            break;
        }
        page.items.push_back(read(r, i));
    }
    return page;
}

void validate(const WriteOp& op, size_t index) {
    switch (op.kind) {
        case WriteKind::InsertOrder:
            if (op.order.id.empty()) invalid_op(index, "insert_order without an order id");
            if (op.order.version != 1 || op.event.seq != 1)
                invalid_op(index, "insert_order " + op.order.id +
                                      ": order.version and event.seq must be 1");
            if (!op.event.order_id.empty() && op.event.order_id != op.order.id)
                invalid_op(index, "insert_order " + op.order.id + ": event belongs to another order");
            return;
        case WriteKind::UpdateOrder:
            if (op.order.version != op.expected_version + 1 || op.event.seq != op.order.version)
                invalid_op(index, "update_order " + op.order.id +
                                      ": order.version must be expected_version + 1 and "
                                      "event.seq must equal order.version");
            if (!op.event.order_id.empty() && op.event.order_id != op.order.id)
                invalid_op(index, "update_order " + op.order.id + ": event belongs to another order");
            return;
        case WriteKind::InsertFill:
            if (op.fill.id.empty() || op.fill.broker_trade_id.empty())
                invalid_op(index, "insert_fill without an id or broker_trade_id");
            return;
        case WriteKind::UpsertGtt:
            if (op.gtt.id.empty()) invalid_op(index, "upsert_gtt without an id");
            return;
        case WriteKind::UpsertReconRun:
            if (op.recon_run.id.empty()) invalid_op(index, "upsert_recon_run without an id");
            return;
        case WriteKind::AppendEvent:
            if (op.account_event.account_id.empty() || op.account_event.topic.empty())
                invalid_op(index, "append_event without an account_id or topic");
            return;
        case WriteKind::ClaimIdempotency:  // ABI 1.7
        case WriteKind::CompleteIdempotency:
            if (op.idempotency.key.empty()) invalid_op(index, "idempotency op without a key");
            return;
    }
    invalid_op(index, "unknown write kind " + std::to_string(static_cast<int32_t>(op.kind)));
}

}  // namespace

struct PgStorage::Statements {
    std::string insert_order, update_order, update_order_after_fill, insert_fill, insert_gtt,
        update_gtt, upsert_recon;
    std::string get_order, get_by_cid, get_by_cid_any, get_by_broker_id, list_events, get_gtt;
    std::string idem_begin, idem_read, idem_complete, idem_release, idem_purge;
    std::string lease_acquire, lease_release;
    std::string get_by_request_id;  // appended in ABI 1.4 (sdk14)
    std::string list_account_events, event_log_accounts, prune_account_events;
    // append_events[i]: 2^i entries in one statement (see append_events_sql).
    std::string append_events[kEntryChunkSizes];
    std::string s;  // the quoted schema

    // `n` entries of the event log in one statement: $1 the NOTICE channel, then each entry's
    // account, topic, document and time. Each account's counter row takes all of the account's
    // entries at once (one upsert, locked until COMMIT, so seq order is still commit order, and
    // in batch order within the statement); the accounts' rows are taken in account order. One
    // notice per account names its newest seq: the notices only say which accounts to read (see
    // wait_account_events). Answers one row per entry appended.
    std::string append_events_sql(size_t n) const {
        std::string values;
        for (size_t i = 0; i < n; ++i) {
            const size_t p = 2 + 4 * i;
            if (i) values += ", ";
            values += "($" + std::to_string(p) + "::text, $" + std::to_string(p + 1) + "::text, $" +
                      std::to_string(p + 2) + "::text, $" + std::to_string(p + 3) + "::bigint, " +
                      std::to_string(i + 1) + ")";
        }
        return "WITH e (a, t, d, at, o) AS (VALUES " + values +
               "), k AS (SELECT a, count(*)::bigint AS n FROM e GROUP BY a), "
               "c AS (INSERT INTO " + s +
               ".account_seq AS q (account_id, last_seq) SELECT a, n FROM k ORDER BY a "
               "ON CONFLICT (account_id) DO UPDATE SET last_seq = q.last_seq + EXCLUDED.last_seq "
               "RETURNING q.account_id, q.last_seq), "
               "ins AS (INSERT INTO " + s +
               ".account_events (account_id, seq, topic, data_json, at_ns) SELECT e.a, "
               "c.last_seq - k.n + row_number() OVER (PARTITION BY e.a ORDER BY e.o), e.t, e.d, "
               "e.at FROM e JOIN k ON k.a = e.a JOIN c ON c.account_id = e.a "
               "RETURNING account_id, seq), "
               "nt AS (SELECT pg_notify($1, max(seq)::text || ':' || account_id) FROM ins "
               "GROUP BY account_id) "
               "SELECT 1 FROM ins CROSS JOIN (SELECT count(*) FROM nt) z";
    }

    explicit Statements(const std::string& schema) : s("\"" + schema + "\"") {
        insert_order = "WITH x AS (INSERT INTO " + s + ".orders (" + kOrderColumns +
                       ") VALUES (" + placeholders(1, 23) +
                       ") ON CONFLICT DO NOTHING RETURNING id) " + event_insert(s, 24);
        update_order =
            "WITH x AS (UPDATE " + s +
            ".orders SET broker = $2, broker_order_id = $3, order_type = $4, "
            "time_in_force = $5, status = $6, quantity = $7::numeric, "
            "filled_quantity = $8::numeric, price = $9::numeric, trigger_price = $10::numeric, "
            "average_fill_price = $11::numeric, product = $12, reject_reason = $13, tag = $14, "
            "extra_json = $15, updated_at_ns = $16::bigint, version = $17::bigint "
            "WHERE id = $1 AND version = $18::bigint RETURNING id) " +
            event_insert(s, 19);
        // The update a fill causes, applied only when that fill ($29, a fresh id) was inserted by
        // the previous statement of this transaction: REQUIRES_PREVIOUS in SQL, so the pipeline
        // needs no round trip between the two.
        update_order_after_fill =
            "WITH x AS (UPDATE " + s +
            ".orders SET broker = $2, broker_order_id = $3, order_type = $4, "
            "time_in_force = $5, status = $6, quantity = $7::numeric, "
            "filled_quantity = $8::numeric, price = $9::numeric, trigger_price = $10::numeric, "
            "average_fill_price = $11::numeric, product = $12, reject_reason = $13, tag = $14, "
            "extra_json = $15, updated_at_ns = $16::bigint, version = $17::bigint "
            "WHERE id = $1 AND version = $18::bigint AND EXISTS (SELECT 1 FROM " + s +
            ".fills WHERE id = $29) RETURNING id) " +
            event_insert(s, 19);
        insert_fill = "INSERT INTO " + s + ".fills (" + kFillColumns + ") VALUES (" +
                      placeholders(1, 14) + ") ON CONFLICT DO NOTHING";
        insert_gtt = "INSERT INTO " + s + ".gtts (" + kGttColumns + ") VALUES (" +
                     placeholders(1, 10) + ") ON CONFLICT DO NOTHING";
        update_gtt = "UPDATE " + s +
                     ".gtts SET account_id = $2, symbol = $3, exchange = $4, status = $5, "
                     "body_json = $6, expires_at_ns = $7::bigint, updated_at_ns = $8::bigint, "
                     "version = $9::bigint WHERE id = $1 AND version = $10::bigint";
        upsert_recon = "INSERT INTO " + s + ".recon_runs (" + kReconColumns + ") VALUES (" +
                       placeholders(1, 6) +
                       ") ON CONFLICT (id) DO UPDATE SET broker = EXCLUDED.broker, "
                       "status = EXCLUDED.status, report_json = EXCLUDED.report_json, "
                       "started_at_ns = EXCLUDED.started_at_ns, "
                       "finished_at_ns = EXCLUDED.finished_at_ns";
        std::string orders = std::string("SELECT ") + kOrderColumns + " FROM " + s + ".orders";
        get_order = orders + " WHERE id = $1";
        get_by_cid = orders + " WHERE client_order_id = $1 AND account_id = $2";
        get_by_cid_any = orders + " WHERE client_order_id = $1 ORDER BY id LIMIT 1";
        // Broker order ids can be reused by a venue: the newest order holding one wins.
        get_by_broker_id = orders +
                           " WHERE broker_order_id = $1 AND broker = $2 AND broker_order_id <> '' "
                           "ORDER BY id DESC LIMIT 1";
        // appended in ABI 1.4 (sdk14): the order whose events carry a request id of its chain.
        get_by_request_id =
            orders + " WHERE id IN (SELECT order_id FROM " + s +
            ".order_events WHERE request_id = $1 AND request_id <> '') AND ($2 = '' OR "
            "account_id = $2) ORDER BY id DESC LIMIT 1";
        list_events = std::string("SELECT ") + kEventColumns + " FROM " + s +
                      ".order_events WHERE order_id = $1 AND seq > $2::bigint ORDER BY seq "
                      "LIMIT $3::bigint";
        get_gtt = std::string("SELECT ") + kGttColumns + " FROM " + s + ".gtts WHERE id = $1";
        // Row locks of ON CONFLICT DO UPDATE make the claim atomic against other sessions: the
        // WHERE is evaluated on the latest committed row.
        const std::string idem_upsert =
            "INSERT INTO " + s + ".idempotency_keys AS k (key, fingerprint, completed, response, "
            "expires_at_ns) VALUES ($1, $2, $3::boolean, $4::bytea, $5::bigint) ON CONFLICT (key) "
            "DO UPDATE SET fingerprint = EXCLUDED.fingerprint, completed = EXCLUDED.completed, "
            "response = EXCLUDED.response, expires_at_ns = EXCLUDED.expires_at_ns "
            "WHERE k.expires_at_ns <= $6::bigint";
        idem_begin = idem_upsert;
        idem_complete = idem_upsert + " OR (NOT k.completed AND k.fingerprint = EXCLUDED.fingerprint)";
        idem_read = "SELECT key, fingerprint, completed, response, expires_at_ns FROM " + s +
                    ".idempotency_keys WHERE key = $1 AND expires_at_ns > $2::bigint";
        idem_release = "DELETE FROM " + s +
                       ".idempotency_keys WHERE key = $1 AND (expires_at_ns <= $2::bigint OR "
                       "(NOT completed AND fingerprint = $3))";
        idem_purge = "DELETE FROM " + s + ".idempotency_keys WHERE key IN (SELECT key FROM " + s +
                     ".idempotency_keys WHERE expires_at_ns <= $1::bigint ORDER BY expires_at_ns "
                     "LIMIT $2::bigint)";
        lease_acquire = "INSERT INTO " + s +
                        ".leases AS leases (name, holder, expires_at_ns) VALUES ($1, $2, "
                        "$3::bigint) ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, "
                        "expires_at_ns = EXCLUDED.expires_at_ns WHERE leases.expires_at_ns <= "
                        "$4::bigint OR leases.holder = EXCLUDED.holder RETURNING holder";
        lease_release = "DELETE FROM " + s + ".leases WHERE name = $1 AND holder = $2";
        for (size_t i = 0; i < kEntryChunkSizes; ++i)
            append_events[i] = append_events_sql(size_t{1} << i);
        // One statement, one snapshot: the bounds agree with the entries.
        list_account_events =
            "SELECT b.last_seq, b.oldest, e.seq, e.topic, e.data_json, e.at_ns FROM (SELECT "
            "(SELECT last_seq FROM " + s + ".account_seq WHERE account_id = $1) AS last_seq, "
            "(SELECT MIN(seq) FROM " + s + ".account_events WHERE account_id = $1) AS oldest) b "
            "LEFT JOIN LATERAL (SELECT seq, topic, data_json, at_ns FROM " + s +
            ".account_events WHERE account_id = $1 AND seq > $2::bigint ORDER BY seq LIMIT "
            "$3::bigint) e ON true ORDER BY e.seq";
        event_log_accounts = "SELECT account_id FROM " + s + ".account_seq ORDER BY account_id";
        // One account's oldest entries in seq order (at most $3), up to the first one stamped at
        // or after $2: seq order is commit order, so no index on at_ns is needed (or written).
        prune_account_events =
            "WITH old AS (SELECT seq, at_ns FROM " + s +
            ".account_events WHERE account_id = $1 ORDER BY seq LIMIT $3::bigint) DELETE FROM " +
            s +
            ".account_events WHERE account_id = $1 AND seq < COALESCE((SELECT MIN(seq) FROM old "
            "WHERE at_ns >= $2::bigint), (SELECT MAX(seq) + 1 FROM old))";
    }
};

struct PgStorage::Prepared {
    const char* name;
    const std::string* sql;
};

PgStorage::PgStorage(const sdk::PluginContext& ctx) : host_(ctx.host) {
    const sdk::Config& cfg = ctx.config;
    std::string url = cfg.get("url");
    if (url.empty()) throw sdk::Error(Status::InvalidArgument, "config key 'url' is empty");
    char* parse_err = nullptr;
    PQconninfoOption* parsed = PQconninfoParse(url.c_str(), &parse_err);
    if (parse_err != nullptr) PQfreemem(parse_err);
    if (parsed == nullptr)
        throw sdk::Error(Status::InvalidArgument,
                         "config key 'url' is not a valid libpq connection URI");
    PQconninfoFree(parsed);

    schema_ = cfg.get_or("schema", "order_service");
    if (!valid_schema_name(schema_))
        throw sdk::Error(Status::InvalidArgument,
                         "config key 'schema': '" + schema_ +
                             "' is not a lower-case identifier ([a-z_][a-z0-9_]*, at most 63)");
    int64_t pool_size = cfg.get_int("pool_size", 8);
    if (pool_size < 1 || pool_size > 1000)
        throw sdk::Error(Status::InvalidArgument, "config key 'pool_size' must be 1..1000");
    int64_t pool_wait = cfg.get_int("pool_wait_ms", 2000);
    if (pool_wait < 0) throw sdk::Error(Status::InvalidArgument, "config key 'pool_wait_ms' must be >= 0");
    int64_t statement_timeout = cfg.get_int("statement_timeout_ms", 10000);
    if (statement_timeout < 0)
        throw sdk::Error(Status::InvalidArgument, "config key 'statement_timeout_ms' must be >= 0");
    int64_t ping_timeout = cfg.get_int("ping_timeout_ms", 1000);
    if (ping_timeout < 1)
        throw sdk::Error(Status::InvalidArgument, "config key 'ping_timeout_ms' must be >= 1");
    ping_timeout_ = std::chrono::milliseconds(ping_timeout);

    // Keywords before dbname are defaults the URL may override; those after it override the URL.
    spec_.keywords = {"fallback_application_name", "connect_timeout", "dbname"};
    spec_.values = {"ordergate", "5", url};
    if (cfg.has("connect_timeout_s")) {
        int64_t t = cfg.get_int("connect_timeout_s", 5);
        if (t < 0) throw sdk::Error(Status::InvalidArgument, "config key 'connect_timeout_s' must be >= 0");
        spec_.keywords.push_back("connect_timeout");
        spec_.values.push_back(std::to_string(t));
    }
    spec_.setup.push_back("SET statement_timeout = " + std::to_string(statement_timeout) +
                          "; SET client_min_messages = warning");
    sql_ = std::make_unique<Statements>(schema_);
    channel_ = channel_for(schema_);
    pool_ = std::make_unique<Pool>(spec_, static_cast<size_t>(pool_size),
                                   std::chrono::milliseconds(pool_wait));
}

PgStorage::~PgStorage() = default;

// ---- migrations and health ---------------------------------------------------------------------

int64_t PgStorage::migrate() { return migrate_to(INT64_MAX); }

int64_t PgStorage::migrate_to(int64_t version) {
    // A session of its own, without statement_timeout: waiting for another host's migration
    // holding the lock is expected. Closing it releases the lock whatever happened.
    ConnectSpec spec = spec_;
    spec.setup = {"SET statement_timeout = 0; SET client_min_messages = warning"};
    std::unique_ptr<Connection> c = Connection::open(spec);
    int64_t reached = apply_migrations(*c, schema_, version);
    // Pooled sessions may hold prepared statements planned against an older schema.
    pool_->drain();
    return reached;
}

void PgStorage::ping() {
    std::lock_guard lock(ping_mu_);
    // A session that died since the last ping (a restart) gets one fresh retry.
    for (int attempt = 0;; ++attempt) {
        bool reused = ping_conn_ != nullptr;
        if (ping_conn_ && ping_conn_->broken()) ping_conn_.reset();
        if (!ping_conn_) {
            ConnectSpec spec = spec_;
            spec.keywords.push_back("connect_timeout");
            spec.values.push_back(
                std::to_string(std::max<int64_t>(2, (ping_timeout_.count() + 999) / 1000)));
            spec.setup.clear();
            ping_conn_ = Connection::open(spec);
            reused = false;
        }
        try {
            ping_conn_->exec_with_deadline("SELECT 1", ping_timeout_, "ping");
            return;
        } catch (const sdk::Error&) {
            bool lost = PQstatus(ping_conn_->raw()) != CONNECTION_OK;
            ping_conn_.reset();
            if (!reused || !lost || attempt > 0) throw;
        }
    }
}

// ---- writes ------------------------------------------------------------------------------------

namespace {
// The parameters of the idempotency statements (defined with them below).
Params idem_params(const IdempotencyRecord& r, bool completed, int64_t now_ns);
}  // namespace

PgStorage::Prepared PgStorage::statement_for(const WriteOp& op) const {
    switch (op.kind) {
        case WriteKind::InsertOrder: return {"og_insert_order", &sql_->insert_order};
        case WriteKind::UpdateOrder: return {"og_update_order", &sql_->update_order};
        case WriteKind::InsertFill: return {"og_insert_fill", &sql_->insert_fill};
        case WriteKind::UpsertGtt:
            return op.expected_version == 0 ? Prepared{"og_insert_gtt", &sql_->insert_gtt}
                                            : Prepared{"og_update_gtt", &sql_->update_gtt};
        case WriteKind::UpsertReconRun: return {"og_upsert_recon", &sql_->upsert_recon};
        // Entries go in run_batch's entry statements (append_events), never one op at a time.
        case WriteKind::AppendEvent:
            throw sdk::Error(Status::Internal, "postgres: an event entry has no statement of its own");
        // ABI 1.7: the statements of idempotency_begin and _complete (one row or none).
        case WriteKind::ClaimIdempotency: return {"og_idem_begin", &sql_->idem_begin};
        case WriteKind::CompleteIdempotency: return {"og_idem_complete", &sql_->idem_complete};
    }
    throw sdk::Error(Status::InvalidArgument, "unknown write kind");
}

void PgStorage::add_params(const WriteOp& op, Params& p) const {
    switch (op.kind) {
        case WriteKind::InsertOrder: {
            const OrderRecord& o = op.order;
            p.add(o.id).add(o.client_order_id).add(o.broker).add(o.broker_order_id);
            p.add(o.account_id).add(o.symbol).add(o.exchange).add(to_string(o.side));
            p.add(to_string(o.order_type)).add(to_string(o.time_in_force));
            p.add(to_string(o.status)).add(o.quantity).add(o.filled_quantity).add(o.price);
            p.add(o.trigger_price).add(o.average_fill_price).add(o.product).add(o.reject_reason);
            p.add(o.tag).add(o.extra_json).add(o.created_at_ns).add(o.updated_at_ns);
            p.add(o.version);
            add_event(p, op.event);
            return;
        }
        case WriteKind::UpdateOrder: {
            const OrderRecord& o = op.order;
            p.add(o.id).add(o.broker).add(o.broker_order_id).add(to_string(o.order_type));
            p.add(to_string(o.time_in_force)).add(to_string(o.status)).add(o.quantity);
            p.add(o.filled_quantity).add(o.price).add(o.trigger_price).add(o.average_fill_price);
            p.add(o.product).add(o.reject_reason).add(o.tag).add(o.extra_json);
            p.add(o.updated_at_ns).add(o.version).add(op.expected_version);
            add_event(p, op.event);
            return;
        }
        case WriteKind::InsertFill: {
            const FillRecord& f = op.fill;
            p.add(f.id).add(f.order_id).add(f.broker).add(f.broker_trade_id).add(f.account_id);
            p.add(f.symbol).add(f.exchange).add(to_string(f.side)).add(f.quantity).add(f.price);
            p.add(f.fee).add(f.executed_at_ns);
            p.add(static_cast<int64_t>(f.kind)).add(f.ref_trade_id);
            return;
        }
        case WriteKind::UpsertGtt: {
            const GttRecord& g = op.gtt;
            if (op.expected_version == 0) {
                p.add(g.id).add(g.account_id).add(g.symbol).add(g.exchange).add(g.status);
                p.add(g.body_json).add(g.expires_at_ns).add(g.created_at_ns).add(g.updated_at_ns);
                p.add(g.version);
            } else {
                p.add(g.id).add(g.account_id).add(g.symbol).add(g.exchange).add(g.status);
                p.add(g.body_json).add(g.expires_at_ns).add(g.updated_at_ns).add(g.version);
                p.add(op.expected_version);
            }
            return;
        }
        case WriteKind::UpsertReconRun: {
            const ReconRun& r = op.recon_run;
            p.add(r.id).add(r.broker).add(r.status).add(r.report_json).add(r.started_at_ns);
            p.add(r.finished_at_ns);
            return;
        }
        case WriteKind::AppendEvent: break;  // see statement_for
        case WriteKind::ClaimIdempotency:
        case WriteKind::CompleteIdempotency:
            p = idem_params(op.idempotency, op.kind == WriteKind::CompleteIdempotency, op.now_ns);
            return;
    }
}

namespace {
// The connection was lost before COMMIT was sent: nothing of the batch is stored, so the batch
// may be sent again on another connection.
struct LostBeforeCommit {
    sdk::Error error;
};
}  // namespace

std::vector<Status> PgStorage::write_batch(const std::vector<WriteOp>& ops) {
    std::vector<Status> results(ops.size(), Status::Ok);
    if (ops.empty()) return results;
    for (size_t i = 0; i < ops.size(); ++i) validate(ops[i], i);
    // A pooled session may have died with the server (a restart): one retry on a fresh
    // session, which is safe because nothing was committed.
    for (int attempt = 0;; ++attempt) {
        Pool::Lease lease = pool_->acquire();
        Connection& c = *lease;
        try {
            for (const WriteOp& op : ops) {
                if (op.kind == WriteKind::AppendEvent) continue;  // below
                Prepared st = statement_for(op);
                c.ensure_prepared(st.name, *st.sql, "prepare write");
            }
            c.ensure_prepared("og_update_order_after_fill", sql_->update_order_after_fill,
                              "prepare write");
            // The entries' statements, once a batch has entries (a store migrated only up to
            // an older schema has no event log to prepare them against).
            if (std::any_of(ops.begin(), ops.end(),
                            [](const WriteOp& op) { return op.kind == WriteKind::AppendEvent; }))
                for (size_t i = 0; i < kEntryChunkSizes; ++i)
                    c.ensure_prepared(kEntryChunkNames[i], sql_->append_events[i],
                                      "prepare write");
            return run_batch(c, ops);
        } catch (const LostBeforeCommit& lost) {
            c.mark_broken();
            if (attempt > 0) throw lost.error;
            host_.log(sdk::LogLevel::Warn,
                      std::string("storage-postgres: retrying a write batch on a new connection: ") +
                          lost.error.what());
        } catch (const sdk::Error& e) {
            c.mark_broken();
            bool lost = PQstatus(c.raw()) != CONNECTION_OK;
            if (!lost || attempt > 0 || e.status() != Status::Unavailable) throw;
            host_.log(sdk::LogLevel::Warn,
                      std::string("storage-postgres: retrying a write batch on a new connection: ") +
                          e.what());
        } catch (...) {
            // Whatever state the session is in (mid-pipeline, aborted transaction), it is not
            // reused.
            c.mark_broken();
            throw;
        }
    }
}

std::vector<Status> PgStorage::run_batch(Connection& c, const std::vector<WriteOp>& ops) {
    PGconn* pg = c.raw();
    const size_t n = ops.size();
    std::vector<Status> results(n, Status::Ok);
    if (PQenterPipelineMode(pg) != 1) throw_pg(pg, nullptr, "enter pipeline mode");

    auto lost = [&](std::string_view context) {
        std::string why = PQerrorMessage(pg);
        while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
        return LostBeforeCommit{sdk::Error(
            Status::Unavailable,
            "postgres: " + std::string(context) + ": connection lost: " + why)};
    };
    // Reads the results of one statement; returns rows affected, or -1 for a pipeline-aborted
    // statement. The first failure is kept in `failure`.
    std::optional<sdk::Error> failure;
    auto read_one = [&](std::string_view context) -> int64_t {
        int64_t affected = -1;
        bool any = false;
        while (PGresult* raw = PQgetResult(pg)) {
            any = true;
            Result r(raw);
            ExecStatusType st = r.status();
            if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
                affected = r.affected();
            } else if (st == PGRES_PIPELINE_ABORTED) {
                affected = -1;
            } else {
                if (PQstatus(pg) != CONNECTION_OK) throw lost(context);
                if (!failure) {
                    try {
                        throw_pg(pg, r.get(), context);
                    } catch (const sdk::Error& e) {
                        failure = e;
                    }
                }
            }
        }
        if (!any) {
            if (PQstatus(pg) != CONNECTION_OK) throw lost(context);
            throw sdk::Error(Status::Internal, "postgres: " + std::string(context) +
                                                   ": no result in pipeline");
        }
        return affected;
    };
    auto read_sync = [&] {
        Result r(PQgetResult(pg));
        if (!r || r.status() != PGRES_PIPELINE_SYNC) {
            if (PQstatus(pg) != CONNECTION_OK) throw lost("write batch");
            throw sdk::Error(Status::Internal, "postgres: write batch: pipeline out of step");
        }
    };

    // COMMIT's answer when it is pipelined: "COMMIT", or aborted behind a failed entry (the
    // failure is already kept). A COMMIT that fails ends the transaction: nothing is stored.
    auto read_commit = [&] {
        bool any = false;
        while (PGresult* raw = PQgetResult(pg)) {
            any = true;
            Result r(raw);
            ExecStatusType st = r.status();
            if (st == PGRES_COMMAND_OK) {
                if (!failure && std::string_view(PQcmdStatus(r.get())) != "COMMIT")
                    failure = sdk::Error(Status::Internal,
                                         "postgres: write batch: the transaction was rolled back");
            } else if (st == PGRES_PIPELINE_ABORTED) {
                if (!failure)
                    failure = sdk::Error(Status::Internal,
                                         "postgres: write batch: COMMIT was aborted");
            } else {
                if (PQstatus(pg) != CONNECTION_OK) throw lost("commit");
                if (!failure) {
                    try {
                        throw_pg(pg, r.get(), "commit");
                    } catch (const sdk::Error& e) {
                        failure = e;
                    }
                }
            }
        }
        if (!any) {
            if (PQstatus(pg) != CONNECTION_OK) throw lost("commit");
            throw sdk::Error(Status::Internal, "postgres: commit: no result in pipeline");
        }
    };

    if (PQsendQueryParams(pg, "BEGIN", 0, nullptr, nullptr, nullptr, nullptr, 0) != 1)
        throw lost("begin write batch");
    bool begin_pending = true;
    // Event-log entries (ABI 1.4) never conflict by themselves: they are sent after every other
    // op, once the results they depend on are known, so they cost no round trip of their own.
    // An op's dependency is therefore looked up through the entries before it: dep[k] is the op
    // whose Conflict skips op k (npos: none).
    constexpr size_t npos = static_cast<size_t>(-1);
    auto is_entry = [&](size_t k) { return ops[k].kind == WriteKind::AppendEvent; };
    std::vector<size_t> dep(n, npos);
    for (size_t k = 1; k < n; ++k) {
        if (!ops[k].requires_previous) continue;
        size_t p = k - 1;
        while (is_entry(p) && ops[p].requires_previous && p > 0) --p;
        if (is_entry(p) && !ops[p].requires_previous) continue;  // an entry never conflicts
        if (is_entry(p)) continue;  // the first op: nothing before it
        dep[k] = p;
    }
    // An order update that requires the fill inserted just before it is guarded in SQL.
    auto guarded = [&](size_t k) {
        return dep[k] != npos && ops[k].kind == WriteKind::UpdateOrder &&
               ops[dep[k]].kind == WriteKind::InsertFill;
    };
    size_t i = 0;
    while (i < n && is_entry(i)) ++i;
    while (i < n) {
        // A segment ends before the next op that needs a result of this segment (unless SQL
        // checks that result itself).
        size_t j = i + 1;
        while (j < n && (is_entry(j) || dep[j] == npos || dep[j] < i || guarded(j)) &&
               j - i < kMaxPipelined)
            ++j;
        std::vector<size_t> sent;
        for (size_t k = i; k < j; ++k) {
            if (is_entry(k)) continue;
            if (dep[k] != npos && !guarded(k) && results[dep[k]] == Status::Conflict) {
                results[k] = Status::Conflict;
                continue;
            }
            Prepared st = guarded(k)
                              ? Prepared{"og_update_order_after_fill", &sql_->update_order_after_fill}
                              : statement_for(ops[k]);
            Params p;
            add_params(ops[k], p);
            if (guarded(k)) p.add(ops[dep[k]].fill.id);  // $29, after the update's 28
            std::vector<const char*> v = p.pointers();
            if (PQsendQueryPrepared(pg, st.name, p.size(), v.data(), nullptr, nullptr, 0) != 1)
                throw lost("send write op");
            sent.push_back(k);
        }
        if (PQpipelineSync(pg) != 1) throw lost("write batch");
        if (begin_pending) {
            read_one("begin write batch");
            begin_pending = false;
        }
        for (size_t k : sent) {
            int64_t affected = read_one("write op " + std::to_string(k));
            if (!failure) results[k] = affected > 0 ? Status::Ok : Status::Conflict;
        }
        read_sync();
        if (failure) break;
        i = j;
    }
    // Whether COMMIT went out with the entries (below): then it is not sent again on its own.
    bool commit_sent = false;
    if (!failure) {
        // The entries, in batch order (the seq order within this transaction), each skipped
        // when what it describes was, a few statements for all of them (kEntryChunkNames).
        // COMMIT rides in their round trip: an entry that fails aborts the pipeline, COMMIT
        // with it, and the transaction is rolled back below.
        std::vector<size_t> entries;
        for (size_t k = 0; k < n; ++k) {
            if (!is_entry(k)) continue;
            if (ops[k].requires_previous && k > 0 && results[k - 1] == Status::Conflict) {
                results[k] = Status::Conflict;
                continue;
            }
            entries.push_back(k);
        }
        std::vector<size_t> sent;  // each statement's entry count
        for (size_t first = 0; first < entries.size();) {
            size_t size_index = kEntryChunkSizes - 1;
            while ((size_t{1} << size_index) > entries.size() - first) --size_index;
            const size_t count = size_t{1} << size_index;
            Params p;
            p.add(channel_);
            for (size_t k = first; k < first + count; ++k) {
                const AccountEvent& e = ops[entries[k]].account_event;
                p.add(e.account_id).add(e.topic).add(e.data_json).add(e.at_ns);
            }
            std::vector<const char*> v = p.pointers();
            if (PQsendQueryPrepared(pg, kEntryChunkNames[size_index], p.size(), v.data(), nullptr,
                                    nullptr, 0) != 1)
                throw lost("send event entries");
            sent.push_back(count);
            first += count;
        }
        if (!sent.empty()) {
            if (PQsendQueryParams(pg, "COMMIT", 0, nullptr, nullptr, nullptr, nullptr, 0) != 1)
                throw lost("send event entry");
            commit_sent = true;
            try {
                if (PQpipelineSync(pg) != 1) throw lost("write batch");
                if (begin_pending) {
                    read_one("begin write batch");
                    begin_pending = false;
                }
                for (size_t count : sent) {
                    int64_t affected = read_one("event entries");
                    if (!failure && affected != static_cast<int64_t>(count))
                        failure = sdk::Error(Status::Internal,
                                             "postgres: " + std::to_string(count) +
                                                 " event entries sent, " +
                                                 std::to_string(affected) + " appended");
                }
                read_commit();
                read_sync();
            } catch (const LostBeforeCommit&) {
                // COMMIT may have reached the server: the batch is not sent again.
                throw sdk::Error(Status::UnknownOutcome,
                                 "postgres: connection lost after COMMIT was sent; the batch may "
                                 "or may not be stored");
            }
        }
    }
    if (PQexitPipelineMode(pg) != 1) throw_pg(pg, nullptr, "leave pipeline mode");
    if (failure) {
        if (PQtransactionStatus(pg) != PQTRANS_IDLE) c.exec("ROLLBACK", "roll back write batch");
        throw *failure;
    }
    if (commit_sent) return results;
    // Without entries COMMIT travels alone: a connection lost before it means nothing was stored
    // (and the batch may be retried); lost during it, the outcome is unknown.
    Result commit(PQexec(pg, "COMMIT"));
    if (PQstatus(pg) != CONNECTION_OK) {
        throw sdk::Error(Status::UnknownOutcome,
                         "postgres: connection lost after COMMIT was sent; the batch may or may "
                         "not be stored");
    }
    if (!commit || commit.status() != PGRES_COMMAND_OK) throw_pg(pg, commit.get(), "commit");
    // COMMIT of a failed transaction answers ROLLBACK without an error.
    if (std::string_view(PQcmdStatus(commit.get())) != "COMMIT")
        throw sdk::Error(Status::Internal, "postgres: write batch: the transaction was rolled back");
    return results;
}

// ---- reads -------------------------------------------------------------------------------------

namespace {
// Runs a read on a pooled session; a session found dead (the server restarted) is dropped and
// the read, which changes nothing, runs once more on a fresh one.
template <typename F>
auto with_session(Pool& pool, F&& f) -> decltype(f(std::declval<Connection&>())) {
    for (int attempt = 0;; ++attempt) {
        Pool::Lease lease = pool.acquire();
        try {
            return f(*lease);
        } catch (const sdk::Error& e) {
            bool lost = PQstatus(lease->raw()) != CONNECTION_OK;
            if (lost) lease->mark_broken();
            if (!lost || attempt > 0 || e.status() != Status::Unavailable) throw;
        }
    }
}

std::optional<OrderRecord> first_order(const Result& r) {
    if (r.rows() == 0) return std::nullopt;
    return read_order(r, 0);
}
}  // namespace

std::optional<OrderRecord> PgStorage::get_order(const std::string& order_id) {
    Params p;
    p.add(order_id);
    return with_session(*pool_, [&](Connection& c) {
        return first_order(c.exec_prepared("og_get_order", sql_->get_order, p, "get order"));
    });
}

std::optional<OrderRecord> PgStorage::get_order_by_client_id(const std::string& account_id,
                                                             const std::string& cid) {
    Params p;
    p.add(cid);
    if (!account_id.empty()) p.add(account_id);
    return with_session(*pool_, [&](Connection& c) {
        if (account_id.empty())
            return first_order(c.exec_prepared("og_get_by_cid_any", sql_->get_by_cid_any, p,
                                               "get order by client order id"));
        return first_order(
            c.exec_prepared("og_get_by_cid", sql_->get_by_cid, p, "get order by client order id"));
    });
}

std::optional<OrderRecord> PgStorage::get_order_by_broker_id(const std::string& broker,
                                                             const std::string& broker_order_id) {
    if (broker_order_id.empty()) return std::nullopt;
    Params p;
    p.add(broker_order_id).add(broker);
    return with_session(*pool_, [&](Connection& c) {
        return first_order(c.exec_prepared("og_get_by_broker_id", sql_->get_by_broker_id, p,
                                           "get order by broker order id"));
    });
}

// appended in ABI 1.4 (sdk14)
std::optional<OrderRecord> PgStorage::get_order_by_request_id(const std::string& account_id,
                                                              const std::string& request_id) {
    if (request_id.empty()) return std::nullopt;
    Params p;
    p.add(request_id).add(account_id);
    return with_session(*pool_, [&](Connection& c) {
        return first_order(c.exec_prepared("og_get_by_request_id", sql_->get_by_request_id, p,
                                           "get order by request id"));
    });
}

Page<OrderRecord> PgStorage::list_orders(const OrderQuery& query) {
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
    std::string sql = std::string("SELECT ") + kOrderColumns + " FROM " + sql_->s + ".orders" +
                      f.where + " ORDER BY id" + (query.descending ? " DESC" : "") + " LIMIT " +
                      f.integer(static_cast<int64_t>(limit) + 1);
    return with_session(*pool_, [&](Connection& c) {
        return run_page<OrderRecord>(c, sql, f, limit, "list orders", read_order,
                                     [](const OrderRecord& o) { return o.id; });
    });
}

std::vector<OrderEvent> PgStorage::list_events(const std::string& order_id, int64_t after_seq,
                                               uint32_t limit) {
    Params p;
    p.add(order_id).add(after_seq);
    if (limit == 0) p.add_null();  // LIMIT NULL: all
    else p.add(static_cast<int64_t>(limit));
    Result r = with_session(*pool_, [&](Connection& c) {
        return c.exec_prepared("og_list_events", sql_->list_events, p, "list order events");
    });
    std::vector<OrderEvent> out;
    out.reserve(static_cast<size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.push_back(read_event(r, i));
    return out;
}

Page<FillRecord> PgStorage::list_fills(const FillQuery& query) {
    uint32_t limit = page_limit(query.limit);
    std::string after = query.cursor.empty() ? std::string() : decode_cursor(query.cursor);
    Filter f;
    f.in("account_id", query.account_ids);
    if (!query.order_id.empty()) f.add("order_id = " + f.text(query.order_id));
    if (query.since_ns != 0) f.add("executed_at_ns >= " + f.integer(query.since_ns));
    if (!after.empty()) f.add(std::string(query.descending ? "id < " : "id > ") + f.text(after));
    std::string sql = std::string("SELECT ") + kFillColumns + " FROM " + sql_->s + ".fills" +
                      f.where + " ORDER BY id" + (query.descending ? " DESC" : "") + " LIMIT " +
                      f.integer(static_cast<int64_t>(limit) + 1);
    return with_session(*pool_, [&](Connection& c) {
        return run_page<FillRecord>(c, sql, f, limit, "list fills", read_fill,
                                    [](const FillRecord& x) { return x.id; });
    });
}

std::optional<GttRecord> PgStorage::get_gtt(const std::string& gtt_id) {
    Params p;
    p.add(gtt_id);
    Result r = with_session(*pool_, [&](Connection& c) {
        return c.exec_prepared("og_get_gtt", sql_->get_gtt, p, "get gtt");
    });
    if (r.rows() == 0) return std::nullopt;
    return read_gtt(r, 0);
}

Page<GttRecord> PgStorage::list_gtts(const std::vector<std::string>& account_ids, bool active_only,
                                     const std::string& cursor, uint32_t limit) {
    limit = page_limit(limit);
    std::string after = cursor.empty() ? std::string() : decode_cursor(cursor);
    Filter f;
    f.in("account_id", account_ids);
    if (active_only) f.add("status = 'ACTIVE'");
    if (!after.empty()) f.add("id > " + f.text(after));
    std::string sql = std::string("SELECT ") + kGttColumns + " FROM " + sql_->s + ".gtts" +
                      f.where + " ORDER BY id LIMIT " + f.integer(static_cast<int64_t>(limit) + 1);
    return with_session(*pool_, [&](Connection& c) {
        return run_page<GttRecord>(c, sql, f, limit, "list gtts", read_gtt,
                                   [](const GttRecord& g) { return g.id; });
    });
}

Page<ReconRun> PgStorage::list_recon_runs(const std::string& broker, const std::string& cursor,
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
        f.add("(started_at_ns, id) < (" + s + ", " + f.text(after_id) + ")");
    }
    std::string sql = std::string("SELECT ") + kReconColumns + " FROM " + sql_->s +
                      ".recon_runs" + f.where + " ORDER BY started_at_ns DESC, id DESC LIMIT " +
                      f.integer(static_cast<int64_t>(limit) + 1);
    return with_session(*pool_, [&](Connection& c) {
        return run_page<ReconRun>(c, sql, f, limit, "list recon runs", read_recon,
                                  [](const ReconRun& x) {
                                      return std::to_string(x.started_at_ns) + "|" + x.id;
                                  });
    });
}

// ---- idempotency records -------------------------------------------------------------------

namespace {

// bytea travels as text in its hex form ("\\x0a1b…"), which holds any byte, NUL included.
std::string bytea_hex(std::string_view bytes) {
    static const char kHex[] = "0123456789abcdef";
    std::string out = "\\x";
    out.reserve(2 + bytes.size() * 2);
    for (unsigned char c : bytes) {
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0x0F]);
    }
    return out;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string bytea_from_hex(const std::string& text) {
    if (text.size() < 2 || text[0] != '\\' || text[1] != 'x' || text.size() % 2 != 0)
        throw sdk::Error(Status::Internal,
                         "postgres: idempotency_keys.response is not in hex bytea form");
    std::string out;
    out.reserve((text.size() - 2) / 2);
    for (size_t i = 2; i < text.size(); i += 2) {
        int hi = hex_value(text[i]), lo = hex_value(text[i + 1]);
        if (hi < 0 || lo < 0)
            throw sdk::Error(Status::Internal, "postgres: idempotency_keys.response: bad hex");
        out.push_back(static_cast<char>(hi * 16 + lo));
    }
    return out;
}

// The first row of the og_idem_read statement's result.
IdempotencyRecord idempotency_record_of(const Result& r) {
    IdempotencyRecord held;
    held.key = r.text(0, 0);
    held.fingerprint = r.text(0, 1);
    held.completed = r.boolean(0, 2);
    held.response = bytea_from_hex(r.text(0, 3));
    held.expires_at_ns = r.int64(0, 4);
    return held;
}

Params idem_params(const IdempotencyRecord& r, bool completed, int64_t now_ns) {
    Params p;
    p.add(r.key).add(r.fingerprint).add_bool(completed);
    p.add(bytea_hex(completed ? std::string_view(r.response) : std::string_view()));
    p.add(r.expires_at_ns).add(now_ns);
    return p;
}

}  // namespace

std::optional<IdempotencyRecord> PgStorage::idempotency_begin(const IdempotencyRecord& marker,
                                                              int64_t now_ns) {
    if (marker.key.empty()) throw sdk::Error(Status::InvalidArgument, "empty idempotency key");
    Params claim = idem_params(marker, false, now_ns);
    Params read;
    read.add(marker.key).add(now_ns);
    Pool::Lease lease = pool_->acquire();
    // A row that blocks the claim may be released or expire before it is read: claim again.
    for (int attempt = 0; attempt < 5; ++attempt) {
        Result w = lease->exec_prepared("og_idem_begin", sql_->idem_begin, claim,
                                        "idempotency begin");
        if (w.affected() == 1) return std::nullopt;
        Result r = lease->exec_prepared("og_idem_read", sql_->idem_read, read, "idempotency read");
        if (r.rows() == 0) continue;
        return idempotency_record_of(r);
    }
    throw sdk::Error(Status::Unavailable,
                     "postgres: idempotency begin: the key kept changing under the claim");
}

std::optional<IdempotencyRecord> PgStorage::idempotency_get(const std::string& key,
                                                            int64_t now_ns) {
    if (key.empty()) throw sdk::Error(Status::InvalidArgument, "empty idempotency key");
    Params read;
    read.add(key).add(now_ns);
    Pool::Lease lease = pool_->acquire();
    Result r = lease->exec_prepared("og_idem_read", sql_->idem_read, read, "idempotency read");
    if (r.rows() == 0) return std::nullopt;
    return idempotency_record_of(r);
}

bool PgStorage::idempotency_complete(const IdempotencyRecord& record, int64_t now_ns) {
    if (record.key.empty()) throw sdk::Error(Status::InvalidArgument, "empty idempotency key");
    Params p = idem_params(record, true, now_ns);
    Pool::Lease lease = pool_->acquire();
    Result w =
        lease->exec_prepared("og_idem_complete", sql_->idem_complete, p, "idempotency complete");
    return w.affected() == 1;
}

void PgStorage::idempotency_release(const std::string& key, const std::string& fingerprint,
                                    int64_t now_ns) {
    Params p;
    p.add(key).add(now_ns).add(fingerprint);
    Pool::Lease lease = pool_->acquire();
    lease->exec_prepared("og_idem_release", sql_->idem_release, p, "idempotency release");
}

uint64_t PgStorage::idempotency_purge(int64_t now_ns, uint32_t limit) {
    Params p;
    p.add(now_ns);
    if (limit == 0) p.add_null();  // LIMIT NULL: no limit
    else p.add(static_cast<int64_t>(limit));
    Pool::Lease lease = pool_->acquire();
    Result w = lease->exec_prepared("og_idem_purge", sql_->idem_purge, p, "idempotency purge");
    return static_cast<uint64_t>(w.affected());
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

bool PgStorage::lease_acquire(const std::string& name, const std::string& holder, int64_t now_ns,
                              int64_t ttl_ns) {
    const int64_t expires = lease_expiry(name, holder, now_ns, ttl_ns);
    Params p;
    p.add(name).add(holder).add(expires).add(now_ns);
    Pool::Lease conn = pool_->acquire();
    Result r = conn->exec_prepared("og_lease_acquire", sql_->lease_acquire, p, "acquire lease");
    return r.rows() == 1;
}

void PgStorage::lease_release(const std::string& name, const std::string& holder) {
    Params p;
    p.add(name).add(holder);
    Pool::Lease conn = pool_->acquire();
    conn->exec_prepared("og_lease_release", sql_->lease_release, p, "release lease");
}

// ---- the event log (ABI 1.4) --------------------------------------------------------------------

std::string PgStorage::channel_for(const std::string& schema) {
    // A NOTIFY channel is an identifier (63 bytes at most); a schema name may be longer once
    // prefixed, so a long one is shortened with a stable hash (the same on every host).
    std::string channel = "og_events_" + schema;
    if (channel.size() <= 63) return channel;
    uint64_t h = 1469598103934665603ull;  // FNV-1a
    for (unsigned char ch : schema) h = (h ^ ch) * 1099511628211ull;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    return channel.substr(0, 63 - 17) + "_" + hex;
}

AccountEventPage PgStorage::list_account_events(const std::string& account_id, int64_t after_seq,
                                                uint32_t limit) {
    Params p;
    p.add(account_id).add(after_seq).add(static_cast<int64_t>(limit));
    return with_session(*pool_, [&](Connection& c) {
        Result r = c.exec_prepared("og_list_account_events", sql_->list_account_events, p,
                                   "list account events");
        AccountEventPage page;
        for (int i = 0; i < r.rows(); ++i) {
            if (i == 0) {
                page.last_seq = r.is_null(0, 0) ? 0 : r.int64(0, 0);
                page.oldest_seq = r.is_null(0, 1) ? 0 : r.int64(0, 1);
            }
            if (r.is_null(i, 2)) continue;  // no entry: the bounds alone
            AccountEvent e;
            e.account_id = account_id;
            e.seq = r.int64(i, 2);
            e.topic = r.text(i, 3);
            e.data_json = r.text(i, 4);
            e.at_ns = r.int64(i, 5);
            page.items.push_back(std::move(e));
        }
        return page;
    });
}

uint64_t PgStorage::prune_account_events(int64_t before_ns, uint32_t limit) {
    // Per account, its oldest entries in seq order up to the first one at or after before_ns.
    // Seq order is commit order and at_ns the committing host's clock, so that is every entry
    // older than before_ns, but for one behind an entry stamped by a clock that went back: it
    // goes with a later prune. No index on at_ns is written for it (one B-tree less per event);
    // each statement reads at most what it deletes, plus one entry.
    Pool::Lease lease = pool_->acquire();
    std::vector<std::string> accounts;
    {
        Result r = lease->exec_prepared("og_event_log_accounts", sql_->event_log_accounts,
                                        Params{}, "list event log accounts");
        for (int i = 0; i < r.rows(); ++i) accounts.push_back(r.text(i, 0));
    }
    uint64_t total = 0;
    for (const std::string& account : accounts) {
        if (limit != 0 && total >= limit) break;
        Params p;
        p.add(account).add(before_ns);
        if (limit == 0) p.add_null();  // LIMIT NULL: no limit
        else p.add(static_cast<int64_t>(limit - total));
        Result w = lease->exec_prepared("og_prune_account_events", sql_->prune_account_events, p,
                                        "prune account events");
        total += static_cast<uint64_t>(w.affected());
    }
    return total;
}

std::vector<AccountEvent> PgStorage::wait_account_events(std::chrono::milliseconds timeout) {
    std::lock_guard lock(listen_mu_);
    std::vector<AccountEvent> out;
    if (listen_conn_ && listen_conn_->broken()) listen_conn_.reset();
    if (!listen_conn_) {
        // A session of its own, outside the pool: LISTEN belongs to the session.
        std::unique_ptr<Connection> c = Connection::open(spec_);
        c->exec("LISTEN \"" + channel_ + "\"", "listen for event entries");
        listen_conn_ = std::move(c);
        // Whatever was committed before LISTEN took effect was not heard: say so.
        out.emplace_back();
        return out;
    }
    PGconn* pg = listen_conn_->raw();
    auto drain = [&] {
        while (PGnotify* n = PQnotifies(pg)) {
            // "<seq>:<account_id>" (see append_events_sql).
            std::string_view payload(n->extra);
            AccountEvent e;
            size_t colon = payload.find(':');
            if (colon != std::string_view::npos) {
                std::from_chars(payload.data(), payload.data() + colon, e.seq);
                e.account_id = std::string(payload.substr(colon + 1));
            }
            PQfreemem(n);
            out.push_back(std::move(e));
        }
    };
    drain();
    if (!out.empty()) return out;
    pollfd fd{PQsocket(pg), POLLIN, 0};
    int ready = ::poll(&fd, 1, static_cast<int>(std::min<int64_t>(timeout.count(), INT32_MAX)));
    if (ready < 0 && errno != EINTR)
        throw sdk::Error(Status::Unavailable, "postgres: waiting for event notices failed");
    if (ready > 0) {
        if (PQconsumeInput(pg) != 1) {
            listen_conn_->mark_broken();
            throw sdk::Error(Status::Unavailable,
                             "postgres: the session listening for event notices was lost");
        }
        drain();
    }
    return out;
}

}  // namespace ordergate::storage_postgres
