// The PostgreSQL schema as numbered migrations, all inside one schema (default order_service).
//
// migrate() runs on a dedicated session holding pg_advisory_lock(kMigrationLockClass,
// hashtext(schema)), so hosts starting together migrate once: the others wait for the lock and
// then find every step recorded. It creates the schema if missing, then applies each step that
// schema_migrations lacks in its own transaction (the step and its record commit together).
// Steps are append-only: a released step is never edited; a change is a new step.
//
// Plain SQL that also runs on TimescaleDB: no extension, nothing outside the schema (the one
// function, the append-only trigger of order_events, lives in the schema too).
//
// Storage of values: decimals are `numeric` columns written and read as decimal text, which
// PostgreSQL keeps exactly with the scale it was given ("1.10" stays "1.10"); enums are their
// contract names ("BUY", "PENDING_NEW"); times are bigint Unix nanoseconds; absent strings are ''.
// Ids are `text COLLATE "C"` so ordering and cursors follow byte order (ULIDs sort by time).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "pg_conn.hpp"

namespace ordergate::storage_postgres {

// The advisory lock class id of migrations ('og' + 1); the object id is hashtext(schema).
inline constexpr int32_t kMigrationLockClass = 0x6f6701;

struct Migration {
    int64_t version;
    const char* description;
    const char* sql;  // "@S@" stands for the quoted schema name
};

std::span<const Migration> migrations();

// Applies the missing migrations with version <= up_to on `db` (a dedicated session) under the
// advisory lock, and returns the highest version recorded. Throws sdk::Error.
int64_t apply_migrations(Connection& db, const std::string& schema, int64_t up_to = INT64_MAX);

}  // namespace ordergate::storage_postgres
