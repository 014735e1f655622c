// A thin RAII layer over libpq for the PostgreSQL storage plugin: results, parameters, one
// connection with its prepared statements, and the classification of failures.
//
// Everything uses the text protocol: parameters are sent as text (decimals in their exact decimal
// notation, which `numeric` stores with the same scale) and results are read as text.
//
// Errors: every failure throws sdk::Error. Unavailable when the server cannot be reached, the
// connection was lost, the server is shutting down or starting, out of resources, a statement
// timed out, or a serialization failure/deadlock asks for a retry; Internal for anything else.
// The message names the operation, the server's primary message and the SQLSTATE (for the host's
// log; the host never shows it to clients). It never contains the connection URL or a password.
//
// Threads: a Connection is used by one thread at a time (the pool hands it out).
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "ordergate/decimal.hpp"
#include "ordergate/sdk.hpp"

namespace ordergate::storage_postgres {

// An owned PGresult.
class Result {
public:
    Result() = default;
    explicit Result(PGresult* r) : r_(r) {}
    Result(Result&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
    Result& operator=(Result&& o) noexcept;
    Result(const Result&) = delete;
    Result& operator=(const Result&) = delete;
    ~Result() { PQclear(r_); }

    PGresult* get() const { return r_; }
    explicit operator bool() const { return r_ != nullptr; }
    ExecStatusType status() const { return PQresultStatus(r_); }
    int rows() const { return PQntuples(r_); }
    // Rows affected by INSERT/UPDATE/DELETE.
    int64_t affected() const;

    bool is_null(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }
    std::string text(int row, int col) const;
    int64_t int64(int row, int col) const;  // throws Internal on a malformed value
    bool boolean(int row, int col) const;
    Decimal decimal(int row, int col) const;  // throws Internal on a malformed value
    std::optional<Decimal> opt_decimal(int row, int col) const;

private:
    PGresult* r_ = nullptr;
};

// Text parameters of one statement; null is std::nullopt.
class Params {
public:
    Params& add(std::string_view v) {
        values_.emplace_back(std::string(v));
        return *this;
    }
    Params& add(int64_t v) {
        values_.emplace_back(std::to_string(v));
        return *this;
    }
    Params& add(const Decimal& v) {
        values_.emplace_back(v.to_string());
        return *this;
    }
    Params& add(const std::optional<Decimal>& v) {
        if (v) values_.emplace_back(v->to_string());
        else values_.emplace_back(std::nullopt);
        return *this;
    }
    Params& add_bool(bool v) {
        values_.emplace_back(std::string(v ? "t" : "f"));
        return *this;
    }
    Params& add_null() {
        values_.emplace_back(std::nullopt);
        return *this;
    }
    int size() const { return static_cast<int>(values_.size()); }
    // Pointers for libpq; valid while this object lives and is not modified.
    std::vector<const char*> pointers() const;

private:
    std::vector<std::optional<std::string>> values_;
};

// Throws the classified sdk::Error for a failed result (or a failed call when res is null).
[[noreturn]] void throw_pg(PGconn* conn, const PGresult* res, std::string_view context);
// The status a failure maps to (see the header comment).
Status classify_sqlstate(std::string_view sqlstate);

// How to open a connection: libpq keywords and values (the URL goes in as "dbname" and is
// expanded), plus statements run once after connecting (SET ...).
struct ConnectSpec {
    std::vector<std::string> keywords;
    std::vector<std::string> values;
    std::vector<std::string> setup;
};

class Connection {
public:
    // Connects; throws sdk::Error(Unavailable) with libpq's reason when it cannot.
    static std::unique_ptr<Connection> open(const ConnectSpec& spec);
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection();

    PGconn* raw() const { return conn_; }
    // True once the connection is unusable (lost, or left in an unknown state); the pool then
    // drops it instead of reusing it.
    bool broken() const { return broken_ || PQstatus(conn_) != CONNECTION_OK; }
    void mark_broken() { broken_ = true; }

    // Runs SQL without parameters (one or more statements). Throws on failure.
    Result exec(const std::string& sql, std::string_view context);
    // Runs one statement with text parameters, unnamed (not prepared). Throws on failure.
    Result exec_params(const std::string& sql, const Params& params, std::string_view context);
    // Runs the statement named `name`, preparing it from `sql` on first use on this connection.
    Result exec_prepared(const char* name, const std::string& sql, const Params& params,
                         std::string_view context);
    // Prepares `name` on this connection if it is not yet (used before pipelining).
    void ensure_prepared(const char* name, const std::string& sql, std::string_view context);
    // Runs `sql` with a client-side deadline; on timeout cancels it, marks the connection broken
    // and throws Unavailable.
    void exec_with_deadline(const char* sql, std::chrono::milliseconds timeout,
                            std::string_view context);

private:
    explicit Connection(PGconn* c) : conn_(c) {}
    Result check(PGresult* r, std::string_view context);

    PGconn* conn_;
    bool broken_ = false;
    std::unordered_set<std::string> prepared_;
};

}  // namespace ordergate::storage_postgres
