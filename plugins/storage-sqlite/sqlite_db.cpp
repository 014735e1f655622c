#include "sqlite_db.hpp"

#include <mutex>
#include <string>

namespace ordergate::storage_sqlite {

namespace {
constexpr size_t kMaxCachedStatements = 256;
}

void throw_sqlite(sqlite3* db, int rc, std::string_view context) {
    std::string msg = "sqlite: ";
    msg.append(context);
    msg += ": ";
    msg += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    msg += " (code " + std::to_string(db != nullptr ? sqlite3_extended_errcode(db) : rc) + ")";
    switch (rc & 0xff) {
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
        case SQLITE_IOERR:
        case SQLITE_FULL:
        case SQLITE_CANTOPEN:
        case SQLITE_READONLY:
        case SQLITE_PROTOCOL:
        case SQLITE_NOMEM:
            throw sdk::Error(Status::Unavailable, msg);
        default:
            throw sdk::Error(Status::Internal, msg);
    }
}

Query::~Query() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

Query& Query::bind(int index, std::string_view text) {
    // An empty view may have a null data pointer, which SQLite would store as NULL.
    const char* data = text.data() != nullptr ? text.data() : "";
    int rc = sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_STATIC, SQLITE_UTF8);
    if (rc != SQLITE_OK) throw_sqlite(db_, rc, context_);
    return *this;
}

Query& Query::bind(int index, int64_t value) {
    int rc = sqlite3_bind_int64(stmt_, index, value);
    if (rc != SQLITE_OK) throw_sqlite(db_, rc, context_);
    return *this;
}

Query& Query::bind_null(int index) {
    int rc = sqlite3_bind_null(stmt_, index);
    if (rc != SQLITE_OK) throw_sqlite(db_, rc, context_);
    return *this;
}

Query& Query::bind(int index, const Decimal& value) {
    bind(index, value.mantissa());
    return bind(index + 1, static_cast<int64_t>(value.scale()));
}

Query& Query::bind(int index, const std::optional<Decimal>& value) {
    if (value) return bind(index, *value);
    bind_null(index);
    return bind_null(index + 1);
}

Query& Query::bind_blob(int index, std::string_view bytes) {
    // A zero-length blob, not NULL, even for an empty view.
    int rc = bytes.empty() ? sqlite3_bind_zeroblob(stmt_, index, 0)
                           : sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(),
                                                 SQLITE_STATIC);
    if (rc != SQLITE_OK) throw_sqlite(db_, rc, context_);
    return *this;
}

bool Query::step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw_sqlite(db_, rc, context_);
}

int Query::run() {
    while (step()) {
    }
    return sqlite3_changes(db_);
}

bool Query::is_null(int column) const {
    return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

int64_t Query::int64(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Query::text(int column) const {
    const unsigned char* p = sqlite3_column_text(stmt_, column);
    if (p == nullptr) return {};
    return std::string(reinterpret_cast<const char*>(p),
                       static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::string Query::blob(int column) const {
    const void* p = sqlite3_column_blob(stmt_, column);
    if (p == nullptr) return {};
    return std::string(static_cast<const char*>(p),
                       static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

Decimal Query::decimal(int column) const {
    int64_t scale = int64(column + 1);
    if (is_null(column) || is_null(column + 1) || scale < 0 || scale > Decimal::kMaxScale) {
        throw sdk::Error(Status::Internal, std::string("sqlite: ") + std::string(context_) +
                                               ": stored decimal is null or has scale out of range");
    }
    return Decimal(int64(column), static_cast<int32_t>(scale));
}

std::optional<Decimal> Query::opt_decimal(int column) const {
    if (is_null(column)) return std::nullopt;
    return decimal(column);
}

// SQLite's memory statistics take a global mutex around every allocation SQLite makes (about
// 200 lock and unlock pairs per order), and nothing here reads them (no sqlite3_memory_used, no
// soft heap limit). When the library was initialised already (another user in the process),
// sqlite3_config refuses and changes nothing.
void configure_sqlite_library() {
    static std::once_flag once;
    std::call_once(once, [] { (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
}

Connection::Connection(const std::string& path, bool create, int busy_timeout_ms,
                       const char* vfs) {
    configure_sqlite_library();
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
    if (create) flags |= SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(path.c_str(), &db_, flags, vfs);
    if (rc != SQLITE_OK) {
        std::string context = "open database '" + path + "'";
        sqlite3* db = db_;
        db_ = nullptr;
        try {
            throw_sqlite(db, rc, context);
        } catch (...) {
            sqlite3_close_v2(db);
            throw;
        }
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, busy_timeout_ms);
}

Connection::~Connection() {
    clear_cache();
    sqlite3_close_v2(db_);
}

void Connection::clear_cache() {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    cache_.clear();
}

void Connection::exec(const char* sql, std::string_view context) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
        sqlite3_free(err);
        throw_sqlite(db_, rc, context);
    }
}

void Connection::exec_cached(const std::string& sql, std::string_view context) {
    query(sql, context).run();
}

Query Connection::query(const std::string& sql, std::string_view context) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
        if (cache_.size() >= kMaxCachedStatements) clear_cache();
        sqlite3_stmt* stmt = nullptr;
        int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
        if (rc != SQLITE_OK) throw_sqlite(db_, rc, context);
        it = cache_.emplace(sql, stmt).first;
    }
    return Query(db_, it->second, context);
}

}  // namespace ordergate::storage_sqlite
