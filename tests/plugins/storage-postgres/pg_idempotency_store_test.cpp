// The host's idempotency StorageStore on the built storage-postgres plugin, through the real
// loader, against the test PostgreSQL (a schema per store): the store conformance suite and the
// durable store's own cases (../storage_store_cases.hpp).
#include <gtest/gtest.h>

#include "pg_test_env.hpp"
#include "../storage_store_cases.hpp"

namespace ordergate::testing {
namespace {

StorageOpener pg_opener() {
    return {"Postgres", [] {
                std::string url = storage_postgres::testing::database_url();
                if (url.empty()) throw std::runtime_error("no PostgreSQL for this test");
                std::string schema = storage_postgres::testing::unique_schema("idem");
                auto lib = plugin_loader::load_plugin(OG_STORAGE_PLUGIN_PATH, OG_KIND_STORAGE);
                return std::function<std::unique_ptr<plugin_loader::PluginStorage>()>(
                    [url, schema, lib] {
                        auto s = lib->create_storage({{"url", url}, {"schema", schema}});
                        s->migrate();
                        return s;
                    });
            }};
}

INSTANTIATE_TEST_SUITE_P(Postgres, StorageStoreTest, ::testing::Values(pg_opener()),
                         opener_name);

}  // namespace
}  // namespace ordergate::testing

namespace ordergate::idempotency::testing_support {
INSTANTIATE_TEST_SUITE_P(Postgres, StoreConformance,
                         ::testing::Values(ordergate::testing::conformance_factory(
                             ordergate::testing::pg_opener())),
                         factory_name);
}  // namespace ordergate::idempotency::testing_support
