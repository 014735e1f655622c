#include "pg_conn.hpp"

#include <poll.h>

#include <charconv>
#include <cstring>

namespace ordergate::storage_postgres {

namespace {

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

[[noreturn]] void malformed(std::string_view what, const char* value) {
    throw sdk::Error(Status::Internal,
                     "postgres: malformed " + std::string(what) + " '" + value + "' in a result");
}

}  // namespace

Result& Result::operator=(Result&& o) noexcept {
    if (this != &o) {
        PQclear(r_);
        r_ = o.r_;
        o.r_ = nullptr;
    }
    return *this;
}

int64_t Result::affected() const {
    const char* n = PQcmdTuples(r_);
    if (n == nullptr || *n == '\0') return 0;
    int64_t v = 0;
    std::from_chars(n, n + std::strlen(n), v);
    return v;
}

std::string Result::text(int row, int col) const {
    return std::string(PQgetvalue(r_, row, col), static_cast<size_t>(PQgetlength(r_, row, col)));
}

int64_t Result::int64(int row, int col) const {
    const char* p = PQgetvalue(r_, row, col);
    size_t n = static_cast<size_t>(PQgetlength(r_, row, col));
    int64_t v = 0;
    auto [end, ec] = std::from_chars(p, p + n, v);
    if (n == 0 || ec != std::errc() || end != p + n) malformed("integer", p);
    return v;
}

bool Result::boolean(int row, int col) const {
    const char* p = PQgetvalue(r_, row, col);
    if (p[0] == 't' && p[1] == '\0') return true;
    if (p[0] == 'f' && p[1] == '\0') return false;
    malformed("boolean", p);
}

Decimal Result::decimal(int row, int col) const {
    const char* p = PQgetvalue(r_, row, col);
    if (is_null(row, col)) malformed("decimal", "NULL");
    Decimal::ParseOptions opts;
    opts.max_digits = 19;
    opts.max_scale = Decimal::kMaxScale;
    Decimal d;
    if (!Decimal::parse(std::string_view(p, static_cast<size_t>(PQgetlength(r_, row, col))), &d,
                        nullptr, opts))
        malformed("decimal", p);
    return d;
}

std::optional<Decimal> Result::opt_decimal(int row, int col) const {
    if (is_null(row, col)) return std::nullopt;
    return decimal(row, col);
}

std::vector<const char*> Params::pointers() const {
    std::vector<const char*> out;
    out.reserve(values_.size());
    for (const auto& v : values_) out.push_back(v ? v->c_str() : nullptr);
    return out;
}

Status classify_sqlstate(std::string_view s) {
    if (s.size() != 5) return Status::Unavailable;  // no SQLSTATE: a client-side/connection failure
    if (s.substr(0, 2) == "08") return Status::Unavailable;  // connection exception
    if (s.substr(0, 2) == "53") return Status::Unavailable;  // insufficient resources
    if (s == "57P01" || s == "57P02" || s == "57P03" || s == "57P04") return Status::Unavailable;
    if (s == "57014") return Status::Unavailable;  // statement timeout / canceled
    if (s == "40001" || s == "40P01") return Status::Unavailable;  // retry the transaction
    if (s == "25006") return Status::Unavailable;  // read-only (a standby after failover)
    return Status::Internal;
}

void throw_pg(PGconn* conn, const PGresult* res, std::string_view context) {
    std::string sqlstate;
    std::string message;
    if (res != nullptr) {
        const char* st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (st != nullptr) sqlstate = st;
        const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        if (primary != nullptr) message = primary;
    }
    if (message.empty() && conn != nullptr) message = trim(PQerrorMessage(conn));
    bool lost = conn != nullptr && PQstatus(conn) != CONNECTION_OK;
    Status status = lost ? Status::Unavailable : classify_sqlstate(sqlstate);
    std::string text = "postgres: " + std::string(context) + ": " +
                       (lost ? "connection lost: " : "") + message;
    if (!sqlstate.empty()) text += " (SQLSTATE " + sqlstate + ")";
    throw sdk::Error(status, text);
}

std::unique_ptr<Connection> Connection::open(const ConnectSpec& spec) {
    std::vector<const char*> keys, values;
    for (size_t i = 0; i < spec.keywords.size(); ++i) {
        keys.push_back(spec.keywords[i].c_str());
        values.push_back(spec.values[i].c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    PGconn* raw = PQconnectdbParams(keys.data(), values.data(), 1);
    if (raw == nullptr) throw sdk::Error(Status::Unavailable, "postgres: out of memory connecting");
    if (PQstatus(raw) != CONNECTION_OK) {
        std::string why = trim(PQerrorMessage(raw));
        PQfinish(raw);
        throw sdk::Error(Status::Unavailable, "postgres: cannot connect: " + why);
    }
    std::unique_ptr<Connection> c(new Connection(raw));
    for (const std::string& sql : spec.setup) c->exec(sql, "set up connection");
    return c;
}

Connection::~Connection() { PQfinish(conn_); }

Result Connection::check(PGresult* r, std::string_view context) {
    Result res(r);
    ExecStatusType st = r != nullptr ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return res;
    if (PQstatus(conn_) != CONNECTION_OK) broken_ = true;
    throw_pg(conn_, r, context);
}

Result Connection::exec(const std::string& sql, std::string_view context) {
    return check(PQexec(conn_, sql.c_str()), context);
}

Result Connection::exec_params(const std::string& sql, const Params& params,
                               std::string_view context) {
    std::vector<const char*> v = params.pointers();
    return check(PQexecParams(conn_, sql.c_str(), params.size(), nullptr, v.data(), nullptr,
                              nullptr, 0),
                 context);
}

void Connection::ensure_prepared(const char* name, const std::string& sql,
                                 std::string_view context) {
    if (prepared_.count(name) != 0) return;
    check(PQprepare(conn_, name, sql.c_str(), 0, nullptr), context);
    prepared_.insert(name);
}

Result Connection::exec_prepared(const char* name, const std::string& sql, const Params& params,
                                 std::string_view context) {
    ensure_prepared(name, sql, context);
    std::vector<const char*> v = params.pointers();
    return check(PQexecPrepared(conn_, name, params.size(), v.data(), nullptr, nullptr, 0),
                 context);
}

void Connection::exec_with_deadline(const char* sql, std::chrono::milliseconds timeout,
                                    std::string_view context) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    auto fail = [&](const std::string& why) {
        broken_ = true;
        throw sdk::Error(Status::Unavailable, "postgres: " + std::string(context) + ": " + why);
    };
    if (PQsendQuery(conn_, sql) != 1) {
        broken_ = true;
        throw_pg(conn_, nullptr, context);
    }
    while (true) {
        int flushed = PQflush(conn_);
        if (flushed < 0) fail("connection lost");
        if (flushed == 0 && !PQisBusy(conn_)) break;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) fail("no answer within " + std::to_string(timeout.count()) + " ms");
        pollfd p{PQsocket(conn_), static_cast<short>(POLLIN | (flushed == 1 ? POLLOUT : 0)), 0};
        int n = ::poll(&p, 1, static_cast<int>(left.count()));
        if (n < 0 && errno != EINTR) fail("poll failed");
        if (n > 0 && PQconsumeInput(conn_) != 1) fail("connection lost");
    }
    std::optional<Result> failed;
    while (PGresult* r = PQgetResult(conn_)) {
        Result res(r);
        ExecStatusType st = res.status();
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && !failed) failed = std::move(res);
    }
    if (failed) {
        if (PQstatus(conn_) != CONNECTION_OK) broken_ = true;
        throw_pg(conn_, failed->get(), context);
    }
}

}  // namespace ordergate::storage_postgres
