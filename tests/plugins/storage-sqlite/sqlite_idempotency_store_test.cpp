// The host's idempotency StorageStore on the built storage-sqlite plugin, through the real loader:
// the store conformance suite and the durable store's own cases (../storage_store_cases.hpp).
#include <gtest/gtest.h>

#include "temp_dir.hpp"
#include "../storage_store_cases.hpp"

namespace ordergate::testing {
namespace {

StorageOpener sqlite_opener() {
    return {"Sqlite", [] {
                auto dir = std::make_shared<TempDir>();
                auto lib = plugin_loader::load_plugin(OG_STORAGE_PLUGIN_PATH, OG_KIND_STORAGE);
                return std::function<std::unique_ptr<plugin_loader::PluginStorage>()>(
                    [dir, lib] {
                        auto s = lib->create_storage({{"path", dir->file("idem.db")}});
                        s->migrate();
                        return s;
                    });
            }};
}

INSTANTIATE_TEST_SUITE_P(Sqlite, StorageStoreTest, ::testing::Values(sqlite_opener()),
                         opener_name);

}  // namespace
}  // namespace ordergate::testing

namespace ordergate::idempotency::testing_support {
INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformance,
                         ::testing::Values(ordergate::testing::conformance_factory(
                             ordergate::testing::sqlite_opener())),
                         factory_name);
}  // namespace ordergate::idempotency::testing_support
