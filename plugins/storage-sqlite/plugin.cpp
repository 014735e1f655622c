#include "sqlite_storage.hpp"

ORDERGATE_STORAGE_PLUGIN(ordergate::storage_sqlite::SqliteStorage, "storage-sqlite", "1.0.0")
