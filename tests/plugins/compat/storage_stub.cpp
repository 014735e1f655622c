// A storage plugin that stores nothing: used to check that a storage .so is refused where a
// broker is expected (and loads where storage is expected).
#include "ordergate/sdk.hpp"

namespace {

using namespace ordergate;

class StubStorage : public sdk::StoragePlugin {
public:
    explicit StubStorage(const sdk::PluginContext&) {}
    int64_t migrate() override { return 1; }
    void ping() override {}
    std::vector<Status> write_batch(const std::vector<WriteOp>& ops) override {
        return std::vector<Status>(ops.size(), Status::Ok);
    }
    std::optional<OrderRecord> get_order(const std::string&) override { return std::nullopt; }
    std::optional<OrderRecord> get_order_by_client_id(const std::string&,
                                                      const std::string&) override {
        return std::nullopt;
    }
    std::optional<OrderRecord> get_order_by_broker_id(const std::string&,
                                                      const std::string&) override {
        return std::nullopt;
    }
    Page<OrderRecord> list_orders(const OrderQuery&) override { return {}; }
    std::vector<OrderEvent> list_events(const std::string&, int64_t, uint32_t) override {
        return {};
    }
    Page<FillRecord> list_fills(const FillQuery&) override { return {}; }
    std::optional<GttRecord> get_gtt(const std::string&) override { return std::nullopt; }
    Page<GttRecord> list_gtts(const std::vector<std::string>&, bool, const std::string&,
                              uint32_t) override {
        return {};
    }
    Page<ReconRun> list_recon_runs(const std::string&, const std::string&, uint32_t) override {
        return {};
    }
};

}  // namespace

#ifndef STUB_ABI_1_0
ORDERGATE_STORAGE_PLUGIN(StubStorage, "storage-stub", "0.0.1")
#else
// The stub as a plugin built against ABI 1.0 presents itself: minor 0, and a table that ends at
// list_recon_runs (no idempotency functions, no leases).
namespace {
struct StubTag {};
const og_plugin_descriptor* stub_v10_entry(uint32_t, uint32_t,
                                           const og_host_services* services) noexcept {
    using Export = ordergate::sdk::detail::StorageExport<StubStorage, StubTag>;
    static const og_plugin_descriptor* full = Export::entry(services, "storage-stub-1.0", "0.0.1");
    static const og_storage_vtable table = [] {
        og_storage_vtable t = *Export::table();
        t.size = ordergate::abi::kStorageTableSize_1_0;
        t.idempotency_begin = nullptr;
        t.idempotency_complete = nullptr;
        t.idempotency_release = nullptr;
        t.idempotency_purge = nullptr;
        t.lease_acquire = nullptr;
        t.lease_release = nullptr;
        return t;
    }();
    static const og_plugin_descriptor d = [] {
        og_plugin_descriptor x = *full;
        x.abi_minor = 0;
        x.vtable = &table;
        return x;
    }();
    return &d;
}
}  // namespace
BOOST_DLL_ALIAS(stub_v10_entry, ordergate_plugin_entry)
#endif
