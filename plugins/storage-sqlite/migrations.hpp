// The SQLite schema as numbered migrations.
//
// Each step is applied once, in its own IMMEDIATE transaction, and recorded in schema_migrations
// (version, description, applied_at_ns). A step that is already recorded is skipped, so migrate()
// is idempotent and two processes migrating the same file at once apply each step once (the
// second waits for the write lock, then finds the step recorded). Steps are append-only: a
// released step is never edited; a change is a new step.
//
// Decimals are stored exactly as two INTEGER columns, <name>_m (mantissa) and <name>_s (scale),
// both NULL for an absent optional decimal. Enums are stored as their contract names ("BUY",
// "PENDING_NEW"), times as INTEGER Unix nanoseconds, absent strings as ''.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>

#include "sqlite_db.hpp"

namespace ordergate::storage_sqlite {

struct Migration {
    int64_t version;
    const char* description;
    const char* sql;
};

// Every migration, in version order.
std::span<const Migration> migrations();

// Applies the missing migrations with version <= up_to (all of them by default) and returns the
// highest version recorded afterwards. Throws sdk::Error; a failing step is rolled back and
// nothing after it is applied. `progress`, when set, is told of each missing step as it starts
// when the store already had a schema (an upgrade: a step that copies a table can take a while
// on a large store), then once, after the last step, what was applied and how long it took.
// Nothing when no step was missing.
using MigrationProgress = std::function<void(std::string_view)>;
int64_t apply_migrations(Connection& db, int64_t now_ns, int64_t up_to = INT64_MAX,
                         const MigrationProgress& progress = {});

}  // namespace ordergate::storage_sqlite
