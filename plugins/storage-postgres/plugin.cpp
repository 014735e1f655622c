#include "pg_storage.hpp"

ORDERGATE_STORAGE_PLUGIN(ordergate::storage_postgres::PgStorage, "storage-postgres", "1.0.0")
