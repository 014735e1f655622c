// A thin RAII layer over the sqlite3 C API for the SQLite storage plugin.
//
// Connection owns one sqlite3 handle opened in multi-thread mode (SQLITE_OPEN_NOMUTEX): it is not
// thread-safe, and its owner serialises every use (SqliteStorage guards each connection with a
// mutex or hands it to one thread at a time). Prepared statements are cached per connection by
// their SQL text and reset after every use.
//
// Errors: every failure throws sdk::Error classified by the SQLite result code — Unavailable for
// conditions that a retry or an operator can clear (busy/locked past busy_timeout, I/O error, disk
// full, cannot open, read-only database), Internal for everything else. The message names the
// operation ("insert order") and SQLite's own text; it never carries bound values.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "ordergate/decimal.hpp"
#include "ordergate/sdk.hpp"

namespace ordergate::storage_sqlite {

// Sets up the sqlite3 library for this plugin (memory statistics off); call before anything
// that initialises it (a connection, sqlite3_vfs_find). Only the process's first call acts.
void configure_sqlite_library();

// Throws the classified sdk::Error for result code `rc` on `db` (db may be null).
[[noreturn]] void throw_sqlite(sqlite3* db, int rc, std::string_view context);

// One execution of a cached prepared statement. Binding indexes are 1-based as in SQLite; column
// indexes are 0-based. Text bound with bind() must outlive the Query (it is bound SQLITE_STATIC).
// The destructor resets the statement and clears its bindings so the cache can reuse it.
class Query {
public:
    Query(sqlite3* db, sqlite3_stmt* stmt, std::string_view context)
        : db_(db), stmt_(stmt), context_(context) {}
    Query(const Query&) = delete;
    Query& operator=(const Query&) = delete;
    ~Query();

    Query& bind(int index, std::string_view text);
    Query& bind(int index, int64_t value);
    Query& bind_null(int index);
    // Bytes as a BLOB (any byte, NUL included); must outlive the Query like bound text.
    Query& bind_blob(int index, std::string_view bytes);
    // A decimal takes two parameters: mantissa at `index`, scale at `index + 1`.
    Query& bind(int index, const Decimal& value);
    Query& bind(int index, const std::optional<Decimal>& value);

    // Advances to the next row; false when done. Throws on error.
    bool step();
    // Runs a statement that returns no rows; returns sqlite3_changes().
    int run();

    bool is_null(int column) const;
    int64_t int64(int column) const;
    std::string text(int column) const;
    // A BLOB (or TEXT) column's bytes as they are.
    std::string blob(int column) const;
    // Reads a decimal from (mantissa, scale) at `column` and `column + 1`.
    Decimal decimal(int column) const;
    std::optional<Decimal> opt_decimal(int column) const;

private:
    sqlite3* db_;
    sqlite3_stmt* stmt_;
    std::string_view context_;
};

class Connection {
public:
    // Opens (and with `create`, creates) the database at `path` through the VFS named `vfs`
    // (nullptr: the default one). Throws sdk::Error.
    Connection(const std::string& path, bool create, int busy_timeout_ms,
               const char* vfs = nullptr);
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection();

    sqlite3* raw() const { return db_; }
    // Runs one or more SQL statements without results (PRAGMA, DDL, BEGIN/COMMIT).
    void exec(const char* sql, std::string_view context);
    // Runs one statement without results (BEGIN, COMMIT, SAVEPOINT, ...) from the statement
    // cache: what every write transaction runs, prepared once instead of at every call.
    void exec_cached(const std::string& sql, std::string_view context);
    // A Query over the cached prepared statement for `sql`. `context` names the operation in
    // error messages and must outlive the Query (use string literals).
    Query query(const std::string& sql, std::string_view context);
    // The number of cached statements (dynamic list queries are bounded by evicting them all).
    size_t cached_statements() const { return cache_.size(); }
    bool in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

private:
    void clear_cache();

    sqlite3* db_ = nullptr;
    std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

}  // namespace ordergate::storage_sqlite
