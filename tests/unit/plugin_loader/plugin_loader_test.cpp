// The loader against the compat test plugins (tests/plugins/compat): refusals with one-line
// errors, minor-version compatibility, lifetime, and plugins that misbehave.
#include <gtest/gtest.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ordergate/sdk.hpp"
#include "plugin_loader/plugin_adapters.hpp"
#include "plugin_loader/plugin_loader.hpp"

namespace ordergate::plugin_loader {
namespace {

std::string compat(const std::string& name) {
    return std::string(OG_COMPAT_PLUGIN_DIR) + "/" + name + ".so";
}

class RecordingEvents : public ports::BrokerEvents {
public:
    void on_order_update(const std::string& broker, const OrderReport& r) override {
        std::lock_guard<std::mutex> lock(mu);
        brokers.push_back(broker);
        updates.push_back(r);
    }
    void on_fill(const std::string&, const Fill& f) override {
        std::lock_guard<std::mutex> lock(mu);
        fills.push_back(f);
    }
    void on_quote(const std::string&, const Quote& q) override {
        std::lock_guard<std::mutex> lock(mu);
        quotes.push_back(q);
    }
    void on_connection(const std::string&, bool connected, const std::string& detail) override {
        std::lock_guard<std::mutex> lock(mu);
        connections.emplace_back(connected, detail);
    }
    std::mutex mu;
    std::vector<std::string> brokers;
    std::vector<OrderReport> updates;
    std::vector<Fill> fills;
    std::vector<Quote> quotes;
    std::vector<std::pair<bool, std::string>> connections;
};

OrderRequest market_order(const std::string& cid) {
    OrderRequest r;
    r.client_order_id = cid;
    r.account_id = "acct-1";
    r.symbol = "XYZ";
    r.exchange = "SIM";
    r.side = Side::Buy;
    r.order_type = OrderType::Market;
    r.time_in_force = TimeInForce::Day;
    r.quantity = Decimal::must_parse("10");
    r.extra_json = "{}";
    return r;
}

// Loads `file` expecting a refusal; returns the message after checking it is one line naming
// the file and saying what to do.
std::string refusal(const std::string& file, og_kind kind = OG_KIND_BROKER) {
    try {
        load_plugin(file, kind);
    } catch (const LoadError& e) {
        std::string msg = e.what();
        EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
        EXPECT_NE(msg.find("plugin "), std::string::npos) << msg;
        EXPECT_NE(msg.find(file.substr(file.rfind('/') + 1)), std::string::npos) << msg;
        return msg;
    }
    ADD_FAILURE() << "expected " << file << " to be refused";
    return std::string();
}

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

// ---- refusals -----------------------------------------------------------------------------

TEST(PluginLoaderRefuses, TextFileNamedSo) {
    std::string msg = refusal(compat("compat_not_elf"));
    EXPECT_TRUE(contains(msg, "not a shared object")) << msg;
    EXPECT_TRUE(contains(msg, "expected a shared library built with ordergate_add_plugin()"))
        << msg;
    EXPECT_TRUE(contains(msg, "rebuild the plugin against ordergate-sdk 1.x")) << msg;
}

TEST(PluginLoaderRefuses, MissingFile) {
    std::string msg = refusal(compat("does_not_exist"));
    EXPECT_TRUE(contains(msg, "no such file")) << msg;
}

TEST(PluginLoaderRefuses, MissingEntrySymbol) {
    std::string msg = refusal(compat("compat_no_entry"));
    EXPECT_TRUE(contains(msg, "no entry symbol 'ordergate_plugin_entry'")) << msg;
    EXPECT_TRUE(contains(msg, "ORDERGATE_BROKER_PLUGIN")) << msg;
    EXPECT_TRUE(contains(msg, "rebuild")) << msg;
}

TEST(PluginLoaderRefuses, EntryThatIsNotAnAlias) {
    std::string msg = refusal(compat("compat_plain_entry"));
    EXPECT_TRUE(contains(msg, "not a Boost.DLL alias")) << msg;
}

TEST(PluginLoaderRefuses, EntryReturningNoDescriptor) {
    std::string msg = refusal(compat("compat_entry_null"));
    EXPECT_TRUE(contains(msg, "refused this host")) << msg;
}

TEST(PluginLoaderRefuses, DifferentMajor) {
    std::string file = compat("compat_major2");
    std::string msg = refusal(file);
    EXPECT_TRUE(contains(msg, "ABI major 2, this host speaks ABI 1." +
                                  std::to_string(OG_ABI_MINOR) +
                                  "; rebuild the plugin against ordergate-sdk 1.x"))
        << msg;
}

TEST(PluginLoaderRefuses, StoragePluginWhereBrokerExpected) {
    std::string msg = refusal(compat("compat_storage_stub"), OG_KIND_BROKER);
    EXPECT_TRUE(contains(msg, "a storage plugin")) << msg;
    EXPECT_TRUE(contains(msg, "expected a broker plugin")) << msg;
}

TEST(PluginLoaderRefuses, BrokerPluginWhereStorageExpected) {
    std::string msg = refusal(compat("compat_ok"), OG_KIND_STORAGE);
    EXPECT_TRUE(contains(msg, "a broker plugin")) << msg;
    EXPECT_TRUE(contains(msg, "expected a storage plugin")) << msg;
}

TEST(PluginLoaderRefuses, UnknownKind) {
    std::string msg = refusal(compat("compat_kind7"), 0);
    EXPECT_TRUE(contains(msg, "kind 7")) << msg;
}

TEST(PluginLoaderRefuses, TableShorterThanItsMinorNeeds) {
    std::string msg = refusal(compat("compat_short_table"));
    EXPECT_TRUE(contains(msg, "broker table of")) << msg;
    EXPECT_TRUE(contains(msg, "for ABI 1.0")) << msg;
}

TEST(PluginLoaderRefuses, Minor1WithA10SizedTable) {
    std::string msg = refusal(compat("compat_minor1_v10_table"));
    EXPECT_TRUE(contains(msg, "for ABI 1.1")) << msg;
}

TEST(PluginLoaderRefuses, NewerMinorWithTableSmallerThanTheHostNeeds) {
    std::string msg = refusal(compat("compat_newer_minor_short"));
    EXPECT_TRUE(contains(msg, "ABI 1.7")) << msg;
    EXPECT_TRUE(contains(msg, "broker table of")) << msg;
}

TEST(PluginLoaderRefuses, NullRequiredFunction) {
    std::string msg = refusal(compat("compat_null_place"));
    EXPECT_TRUE(contains(msg, "NULL required functions (place_order)")) << msg;
}

TEST(PluginLoader, HostKeepsWorkingAfterEveryRefusal) {
    for (const char* bad : {"compat_not_elf", "compat_no_entry", "compat_plain_entry",
                            "compat_entry_null", "compat_major2", "compat_kind7",
                            "compat_short_table", "compat_null_place"}) {
        EXPECT_THROW(load_plugin(compat(bad), OG_KIND_BROKER), LoadError) << bad;
    }
    RecordingEvents events;
    auto lib = load_plugin(compat("compat_ok"), OG_KIND_BROKER);
    auto broker = lib->create_broker("ok", {}, &events);
    OrderReport r = broker->place_order(market_order("c-1"), std::chrono::milliseconds(100));
    EXPECT_EQ(r.client_order_id, "c-1");
    EXPECT_FALSE(r.broker_order_id.empty());
}

// ---- what a plugin declares and minor versions ---------------------------------------------

TEST(PluginLoader, ReportsTheDescriptor) {
    auto lib = load_plugin(compat("compat_throwing"), 0);
    const PluginInfo& info = lib->info();
    EXPECT_EQ(info.name, "throwing-broker");
    EXPECT_EQ(info.version, "0.0.1");
    EXPECT_EQ(info.sdk_version, ORDERGATE_SDK_VERSION_STRING);
    EXPECT_EQ(info.kind, OG_KIND_BROKER);
    EXPECT_EQ(info.abi_major, 1u);
    EXPECT_EQ(info.abi_minor, static_cast<uint32_t>(OG_ABI_MINOR));
    EXPECT_TRUE(info.capabilities & OG_CAP_MODIFY);
    EXPECT_EQ(info.path.front(), '/');
}

TEST(PluginLoader, OlderMinorLoadsAndTheHostNeverCallsWhatItLacks) {
    RecordingEvents events;
    auto lib = load_plugin(compat("compat_old_minor"), OG_KIND_BROKER);
    EXPECT_EQ(lib->info().abi_minor, 0u);
    // The plugin's static table has a ping that aborts; the 1.0 size hides it from the host.
    EXPECT_EQ(lib->broker_table()->ping, nullptr);
    auto broker = lib->create_broker("old", {}, &events);
    OrderReport placed = broker->place_order(market_order("c-old"), std::chrono::milliseconds(50));
    OrderReport by_cid = broker->get_order("acct-1", "", "c-old");
    EXPECT_EQ(by_cid.broker_order_id, placed.broker_order_id);
    try {
        broker->ping(std::chrono::milliseconds(10));
        FAIL() << "ping must not be called on a 1.0 table";
    } catch (const sdk::Error& e) {
        EXPECT_EQ(e.status(), Status::Unsupported);
        EXPECT_TRUE(contains(e.what(), "ABI 1.0")) << e.what();
    }
}

// ABI 1.3 appended list_orders_page / list_fills_page: a 1.0 binary has neither, so the host
// answers a page through its list_orders, as the only page, and never calls past its table. Its
// reports are 1.0-sized: the 1.3 details read as not reported (the raw plugin poisons the bytes
// behind its reports, so reading them would fail the call).
TEST(PluginLoader, OlderMinorAnswersPagesThroughItsUnpaginatedList) {
    RecordingEvents events;
    auto lib = load_plugin(compat("compat_old_minor"), OG_KIND_BROKER);
    EXPECT_EQ(lib->broker_table()->list_orders_page, nullptr);
    EXPECT_EQ(lib->broker_table()->list_fills_page, nullptr);
    auto broker = lib->create_broker("old", {}, &events);
    std::vector<std::string> placed;
    for (const char* cid : {"c-p1", "c-p2", "c-p3"})
        placed.push_back(
            broker->place_order(market_order(cid), std::chrono::milliseconds(50)).broker_order_id);
    // `limit` cannot be applied by a plugin that does not page: everything, in one page.
    ReportPage<OrderReport> page = broker->list_orders_page("acct-1", true, 0, "", 2);
    EXPECT_EQ(page.next_cursor, "");
    EXPECT_TRUE(page.complete);
    ASSERT_EQ(page.items.size(), 3u);
    std::vector<std::string> listed;
    for (const OrderReport& r : page.items) {
        listed.push_back(r.broker_order_id);
        EXPECT_FALSE(r.leaves_quantity.has_value()) << r.broker_order_id;
        EXPECT_EQ(r.exec_id, "");
        EXPECT_EQ(r.cancel_reject_reason, "");
    }
    EXPECT_EQ(listed, placed);
    // Its one page has no next cursor, so no cursor can continue it.
    try {
        broker->list_orders_page("acct-1", true, 0, "raw-1", 2);
        FAIL() << "a cursor was accepted by the one-page fallback";
    } catch (const sdk::Error& e) {
        EXPECT_EQ(e.status(), Status::InvalidArgument) << e.what();
    }
    // The capabilities of the unpaginated calls still apply.
    try {
        broker->list_fills_page("acct-1", 0, "", 2);
        FAIL() << "list_fills_page without report_fills";
    } catch (const sdk::Error& e) {
        EXPECT_EQ(e.status(), Status::Unsupported) << e.what();
    }
}

// A plugin of this ABI that leaves the page slots NULL gets the same fallback, and its reports
// carry the 1.3 details.
TEST(PluginLoader, NullPageSlotFallsBackAndReportsCarryTheDetails) {
    RecordingEvents events;
    auto lib = load_plugin(compat("compat_ok"), OG_KIND_BROKER);
    EXPECT_EQ(lib->info().abi_minor, static_cast<uint32_t>(OG_ABI_MINOR));
    EXPECT_EQ(lib->broker_table()->list_orders_page, nullptr);
    auto broker = lib->create_broker("ok", {}, &events);
    OrderReport ack = broker->place_order(market_order("c-d1"), std::chrono::milliseconds(50));
    ASSERT_TRUE(ack.leaves_quantity.has_value());
    EXPECT_EQ(*ack.leaves_quantity, Decimal::must_parse("10"));
    OrderReport cancelled =
        broker->cancel_order("acct-1", ack.broker_order_id, "", std::chrono::milliseconds(50));
    ASSERT_TRUE(cancelled.leaves_quantity.has_value());
    EXPECT_TRUE(cancelled.leaves_quantity->is_zero());
    ReportPage<OrderReport> page = broker->list_orders_page("acct-1", true, 0, "", 1);
    ASSERT_EQ(page.items.size(), 1u);
    EXPECT_EQ(page.next_cursor, "");
}

// ABI 1.5: a 1.4 plugin whose table has no GTT slots keeps the host's emulated GTTs even when
// its descriptor claims OG_CAP_NATIVE_GTT; the adapter never calls past its table.
TEST(PluginLoader, ANativeGttClaimWithoutTheSlotsIsReadAsEmulated) {
    RecordingEvents events;
    auto lib = load_plugin(compat("compat_gtt_claim_v14"), OG_KIND_BROKER);
    EXPECT_EQ(lib->info().abi_minor, 4u);
    EXPECT_NE(lib->info().capabilities & OG_CAP_NATIVE_GTT, 0u);
    EXPECT_EQ(lib->broker_table()->place_gtt, nullptr);
    auto broker = lib->create_broker("claim", {}, &events);
    EXPECT_FALSE(broker->has(OG_CAP_NATIVE_GTT));
    GttRequest r;
    r.gtt_id = "gtt_x";
    r.account_id = "acct-1";
    try {
        broker->place_gtt(r, std::chrono::milliseconds(50));
        ADD_FAILURE() << "place_gtt reached a plugin without the slot";
    } catch (const sdk::Error& e) {
        EXPECT_EQ(e.status(), Status::Unsupported) << e.what();
    }
    // Orders still work as for any 1.4 plugin.
    EXPECT_FALSE(
        broker->place_order(market_order("c-g1"), std::chrono::milliseconds(50)).broker_order_id.empty());
}

// A plugin that pages natively: pages follow one another through their cursors, and a page that
// breaks the contract is Internal (never a wrong page handed to the host).
TEST(PluginLoader, NativePagesAreFollowedAndCheckedByTheAdapter) {
    RecordingEvents events;
    auto lib = load_plugin(compat("compat_pages"), OG_KIND_BROKER);
    ASSERT_NE(lib->broker_table()->list_orders_page, nullptr);
    auto broker = lib->create_broker("pages", {}, &events);
    std::set<std::string> placed;
    for (int i = 0; i < 5; ++i)
        placed.insert(broker
                          ->place_order(market_order("c-n" + std::to_string(i)),
                                        std::chrono::milliseconds(50))
                          .broker_order_id);
    std::vector<std::string> seen;
    std::string cursor;
    int pages = 0;
    do {
        ReportPage<OrderReport> page = broker->list_orders_page("acct-1", true, 0, cursor, 2);
        EXPECT_LE(page.items.size(), 2u);
        for (const OrderReport& r : page.items) seen.push_back(r.broker_order_id);
        cursor = page.next_cursor;
        ASSERT_LT(++pages, 10);
    } while (!cursor.empty());
    EXPECT_EQ(pages, 3);
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), placed);
    EXPECT_EQ(seen.size(), placed.size());
    try {
        broker->list_orders_page("acct-1", true, 0, "no-such-cursor", 2);
        FAIL() << "bad cursor accepted";
    } catch (const sdk::Error& e) {
        EXPECT_EQ(e.status(), Status::InvalidArgument) << e.what();
    }

    for (const char* mode : {"page_no_end", "page_two_ends", "page_over_limit",
                             "page_same_cursor", "page_bad_complete"}) {
        auto bad = lib->create_broker(mode, {{"mode", mode}}, &events);
        std::string first;
        for (int i = 0; i < 5; ++i)
            bad->place_order(market_order("c-b" + std::to_string(i)),
                             std::chrono::milliseconds(50));
        try {
            // page_same_cursor breaks only on a page asked with a cursor: take the first page.
            if (std::string(mode) == "page_same_cursor")
                first = bad->list_orders_page("acct-1", true, 0, "", 2).next_cursor;
            bad->list_orders_page("acct-1", true, 0, first, 2);
            ADD_FAILURE() << mode << ": page accepted";
        } catch (const sdk::Error& e) {
            EXPECT_EQ(e.status(), Status::Internal) << mode << ": " << e.what();
            EXPECT_TRUE(contains(e.what(), "raw-pages list_orders_page")) << e.what();
        }
    }
}

TEST(PluginLoader, NewerMinorWithALargerTableLoads) {
    RecordingEvents events;
    auto lib = load_plugin(compat("compat_newer_minor"), OG_KIND_BROKER);
    EXPECT_EQ(lib->info().abi_minor, 7u);
    EXPECT_GT(lib->info().table_size, sizeof(og_broker_vtable));
    auto broker = lib->create_broker("newer", {}, &events);
    EXPECT_EQ(broker->place_order(market_order("c-new"), std::chrono::milliseconds(50))
                  .client_order_id,
              "c-new");
}

TEST(PluginLoader, SameFileLoadedTwiceSharesOneLibrary) {
    auto a = load_plugin(compat("compat_ok"), OG_KIND_BROKER);
    auto b = load_plugin(compat("compat_ok"), 0);
    EXPECT_EQ(a.get(), b.get());
}

TEST(PluginLoader, InstanceKeepsTheLibraryLoadedAfterTheLastHandleIsDropped) {
    RecordingEvents events;
    std::unique_ptr<ports::BrokerPort> broker;
    {
        auto lib = load_plugin(compat("compat_ok"), OG_KIND_BROKER);
        broker = lib->create_broker("kept", {}, &events);
    }
    EXPECT_EQ(broker->place_order(market_order("c-k"), std::chrono::milliseconds(50))
                  .client_order_id,
              "c-k");
    broker.reset();
    // Reload after the unload works and starts fresh.
    auto again = load_plugin(compat("compat_ok"), OG_KIND_BROKER);
    auto b2 = again->create_broker("again", {}, &events);
    EXPECT_THROW(b2->get_order("acct-1", "", "c-k"), sdk::Error);
}

TEST(PluginLoader, ResolvesNamesInDirectories) {
    EXPECT_EQ(resolve_plugin("compat_ok", {"/nonexistent", OG_COMPAT_PLUGIN_DIR}),
              compat("compat_ok"));
    EXPECT_EQ(resolve_plugin("/a/b.so", {}), "/a/b.so");
    EXPECT_EQ(resolve_plugin("./x.so", {}), "./x.so");
    try {
        resolve_plugin("broker-nothing", {"/nonexistent"});
        FAIL();
    } catch (const LoadError& e) {
        EXPECT_TRUE(contains(e.what(), "not found in /nonexistent")) << e.what();
        EXPECT_TRUE(contains(e.what(), "broker-nothing.so")) << e.what();
    }
}

TEST(PluginLoader, CapabilityNames) {
    EXPECT_EQ(capability_names(0), "none");
    EXPECT_EQ(capability_names(OG_CAP_ORDER_MARKET | OG_CAP_PUSH_EVENTS), "market|push_events");
    EXPECT_EQ(capability_names(1ull << 40), "bit40");
}

// ---- storage ----------------------------------------------------------------------------------

TEST(PluginLoader, StoragePluginLoadsAsStorageWithInjectedServices) {
    HostServicesConfig services;
    services.now_ns = [] { return int64_t{42}; };
    auto lib = load_plugin(compat("compat_storage_stub"), OG_KIND_STORAGE, services);
    EXPECT_EQ(lib->broker_table(), nullptr);
    auto storage = lib->create_storage({});
    EXPECT_EQ(storage->migrate(), 1);
    storage->ping();
    EXPECT_FALSE(storage->get_order("ord_x").has_value());
    WriteOp op;
    op.kind = WriteKind::InsertFill;
    op.fill.broker_trade_id = "t-1";
    EXPECT_EQ(storage->write_batch({op, op}), (std::vector<Status>{Status::Ok, Status::Ok}));
    RecordingEvents events;
    EXPECT_THROW(lib->create_broker("x", {}, &events), std::logic_error);
}

// ABI 1.2 appended the idempotency functions (1.3 the leases): a 1.0 storage binary still loads,
// and they answer Unsupported (never called); a plugin of this SDK that does not implement them
// answers the same through the StoragePlugin defaults. The host's StorageStore reads both as
// "not supported".
TEST(PluginLoader, StoragePluginWithoutIdempotencyRecordsLoadsAndSaysUnsupported) {
    for (const char* name : {"compat_storage_v10", "compat_storage_stub"}) {
        auto lib = load_plugin(compat(name), OG_KIND_STORAGE);
        auto storage = lib->create_storage({});
        EXPECT_EQ(storage->migrate(), 1) << name;
        IdempotencyRecord marker;
        marker.key = "1:a:k";
        marker.fingerprint = "fp";
        marker.expires_at_ns = 10;
        try {
            storage->idempotency_begin(marker, 1);
            ADD_FAILURE() << name << ": idempotency_begin answered";
        } catch (const sdk::Error& e) {
            EXPECT_EQ(e.status(), Status::Unsupported) << name << ": " << e.what();
        }
        EXPECT_THROW(storage->idempotency_purge(1, 1), sdk::Error) << name;
        // ABI 1.3's leases: the same (the host then assumes it runs alone).
        try {
            storage->lease_acquire("recon:paper", "host-a", 1, 10);
            ADD_FAILURE() << name << ": lease_acquire answered";
        } catch (const sdk::Error& e) {
            EXPECT_EQ(e.status(), Status::Unsupported) << name << ": " << e.what();
        }
        EXPECT_THROW(storage->lease_release("recon:paper", "host-a"), sdk::Error) << name;
        // ABI 1.4's event log: the same (the host then has no event log and says so).
        for (auto call : std::vector<std::function<void()>>{
                 [&] { storage->list_account_events("ACC1", 0, 10); },
                 [&] { storage->prune_account_events(1, 1); },
                 [&] { storage->wait_account_events(std::chrono::milliseconds(1)); }}) {
            try {
                call();
                ADD_FAILURE() << name << ": an event log call answered";
            } catch (const sdk::Error& e) {
                EXPECT_EQ(e.status(), Status::Unsupported) << name << ": " << e.what();
            }
        }
    }
    EXPECT_EQ(load_plugin(compat("compat_storage_v10"), OG_KIND_STORAGE)->info().abi_minor, 0u);
}

// ---- garbage from a plugin -------------------------------------------------------------------

class GarbageTest : public ::testing::TestWithParam<const char*> {};

TEST_P(GarbageTest, BecomesInternalAndNeverCorruptsOtherInstances) {
    RecordingEvents events;
    auto lib = load_plugin(compat("compat_ok"), OG_KIND_BROKER);
    auto bad = lib->create_broker("bad", {{"mode", GetParam()}}, &events);
    try {
        bad->place_order(market_order("c-bad"), std::chrono::milliseconds(50));
        FAIL() << "garbage accepted for mode " << GetParam();
    } catch (const sdk::Error& e) {
        EXPECT_EQ(e.status(), Status::Internal) << e.what();
        EXPECT_TRUE(contains(e.what(), "raw-ok place_order")) << e.what();
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    }
    // A healthy instance of the same plugin is unaffected.
    auto good = lib->create_broker("good", {}, &events);
    EXPECT_EQ(good->place_order(market_order("c-good"), std::chrono::milliseconds(50))
                  .client_order_id,
              "c-good");
}

INSTANTIATE_TEST_SUITE_P(Modes, GarbageTest,
                         ::testing::Values("status_99", "status_negative", "bad_side",
                                           "bad_status", "bad_scale", "bad_string", "no_report",
                                           "two_reports", "other_order", "record_small"));

TEST(PluginGarbage, OverlongMessageIsClampedToOneLine) {
    RecordingEvents events;
    auto lib = load_plugin(compat("compat_ok"), OG_KIND_BROKER);
    auto broker = lib->create_broker("long", {{"mode", "long_message"}}, &events);
    try {
        broker->place_order(market_order("c-l"), std::chrono::milliseconds(50));
        FAIL();
    } catch (const sdk::Error& e) {
        std::string msg = e.what();
        EXPECT_EQ(e.status(), Status::Rejected);
        EXPECT_TRUE(contains(msg, "line one line two end")) << msg;
        EXPECT_EQ(msg.find('\n'), std::string::npos);
        EXPECT_LT(msg.size(), 1200u);
    }
}

// ABI 1.4: a rate-limited answer carries the wait the venue asked for, read only from a plugin
// declaring minor >= 4 (an older one cannot have meant the bytes; the host started them at 0).
TEST(PluginAbi14, RateLimitedAnswerCarriesRetryAfterFromA14PluginOnly) {
    RecordingEvents events;
    for (const char* name : {"compat_ok", "compat_old_minor"}) {
        auto lib = load_plugin(compat(name), OG_KIND_BROKER);
        auto broker = lib->create_broker("rl", {{"mode", "rate_limited"}}, &events);
        try {
            broker->place_order(market_order("c-rl"), std::chrono::milliseconds(50));
            FAIL() << name;
        } catch (const sdk::Error& e) {
            EXPECT_EQ(e.status(), Status::RateLimited) << e.what();
            EXPECT_EQ(e.retry_after().count(), std::string(name) == "compat_ok" ? 2500 : 0)
                << name;
        }
    }
}

// ABI 1.4: OG_PENDING from a plugin that declares an older minor is a plugin bug (Internal).
TEST(PluginAbi14, PendingFromAnOlderPluginIsInternal) {
    RecordingEvents events;
    auto lib = load_plugin(compat("compat_old_minor"), OG_KIND_BROKER);
    auto broker = lib->create_broker("p", {{"mode", "pending"}}, &events);
    try {
        broker->place_order(market_order("c-p"), std::chrono::milliseconds(50));
        FAIL();
    } catch (const sdk::Error& e) {
        EXPECT_EQ(e.status(), Status::Internal) << e.what();
        EXPECT_TRUE(contains(e.what(), "OG_PENDING")) << e.what();
    }
    // From a 1.4 plugin it is the asynchronous answer.
    auto lib14 = load_plugin(compat("compat_ok"), OG_KIND_BROKER);
    auto broker14 = lib14->create_broker("p", {{"mode", "pending"}}, &events);
    try {
        broker14->place_order(market_order("c-p"), std::chrono::milliseconds(50));
        FAIL();
    } catch (const sdk::Error& e) {
        EXPECT_EQ(e.status(), Status::Pending) << e.what();
    }
}

TEST(PluginGarbage, MalformedSinkPayloadsAreDroppedAndCounted) {
    RecordingEvents events;
    auto lib = load_plugin(compat("compat_ok"), OG_KIND_BROKER);
    auto broker = lib->create_broker("sink", {{"mode", "sink_garbage"}}, &events);
    broker->stop();  // joins the plugin's pushing thread
    SinkCounters c = broker->sink_counters();
    EXPECT_EQ(c.invalid, 5u);
    EXPECT_EQ(c.delivered, 3u);
    EXPECT_EQ(broker->invalid_events(), 5u);
    std::lock_guard<std::mutex> lock(events.mu);
    ASSERT_EQ(events.updates.size(), 1u);
    EXPECT_EQ(events.brokers.at(0), "sink");
    EXPECT_EQ(events.updates[0].broker_order_id, "b-1");
    ASSERT_EQ(events.fills.size(), 1u);
    EXPECT_EQ(events.fills[0].price, Decimal::must_parse("100"));
    ASSERT_EQ(events.connections.size(), 1u);
    EXPECT_TRUE(events.connections[0].first);
    EXPECT_EQ(events.connections[0].second, "up again");
}

TEST(PluginGarbage, SinkCallFromDestroyIsDroppedAndCountedAfterTheInstanceIsGone) {
    RecordingEvents events;
    auto lib = load_plugin(compat("compat_misbehaving"), OG_KIND_BROKER);
    std::function<SinkCounters()> counters;
    {
        auto broker = lib->create_broker("late", {{"misbehave", "sink_after_stop"}}, &events);
        counters = broker->sink_counters_reader();
        broker->stop();
        EXPECT_EQ(counters().after_stop, 0u);
    }  // the plugin's destroy() reports the connection down: after stop returned
    EXPECT_EQ(counters().after_stop, 1u);
    std::lock_guard<std::mutex> lock(events.mu);
    EXPECT_TRUE(events.connections.empty());
}

TEST(PluginGarbage, ExceptionsInsideAnSdkPluginBecomeStatuses) {
    RecordingEvents events;
    auto lib = load_plugin(compat("compat_throwing"), OG_KIND_BROKER);
    auto broker = lib->create_broker("throwing", {}, &events);
    auto status_of = [](auto&& call) {
        try {
            call();
        } catch (const sdk::Error& e) {
            return std::make_pair(e.status(), std::string(e.what()));
        }
        return std::make_pair(Status::Ok, std::string());
    };
    auto ms = std::chrono::milliseconds(50);
    auto place = status_of([&] { broker->place_order(market_order("c"), ms); });
    EXPECT_EQ(place.first, Status::Internal);
    EXPECT_TRUE(contains(place.second, "boom from place")) << place.second;
    EXPECT_EQ(status_of([&] { broker->cancel_order("a", "b", "c", ms); }).first,
              Status::Internal);
    EXPECT_EQ(status_of([&] { broker->get_order("a", "b", ""); }).first, Status::Internal);
    ModifyRequest m;
    m.broker_order_id = "b";
    m.quantity = Decimal::must_parse("1");
    auto modify = status_of([&] { broker->modify_order(m, ms); });
    EXPECT_EQ(modify.first, Status::Internal);
    EXPECT_TRUE(contains(modify.second, "invalid status 77")) << modify.second;
    EXPECT_EQ(status_of([&] { broker->list_orders("a", true, 0); }).first, Status::Internal);
    auto pos = status_of([&] { broker->positions("a"); });
    EXPECT_EQ(pos.first, Status::Rejected);
    EXPECT_TRUE(contains(pos.second, "throwing-broker get_positions: not today")) << pos.second;
    // Still serving after all of it.
    EXPECT_EQ(broker->account("a").cash, Decimal::must_parse("100.25"));
}

TEST(PluginCapabilities, UndeclaredCapabilityIsNeverCalled) {
    RecordingEvents events;
    auto lib = load_plugin(compat("compat_ok"), OG_KIND_BROKER);
    auto broker = lib->create_broker("caps", {}, &events);
    OrderRequest limit = market_order("c-lim");
    limit.order_type = OrderType::Limit;
    limit.price = Decimal::must_parse("10.5");
    try {
        broker->place_order(limit, std::chrono::milliseconds(50));
        FAIL();
    } catch (const sdk::Error& e) {
        EXPECT_EQ(e.status(), Status::Unsupported);
        EXPECT_TRUE(contains(e.what(), "order type LIMIT")) << e.what();
    }
    EXPECT_THROW(broker->quote("XYZ", "SIM"), sdk::Error);
    EXPECT_THROW(broker->cancel_all("acct-1", std::chrono::milliseconds(10)), sdk::Error);
    // Nothing was placed by the refused LIMIT order.
    EXPECT_TRUE(broker->list_orders("acct-1", true, 0).empty());
}

TEST(PluginCapabilities, NotFoundMapsToNotFound) {
    RecordingEvents events;
    auto lib = load_plugin(compat("compat_ok"), OG_KIND_BROKER);
    auto broker = lib->create_broker("nf", {}, &events);
    try {
        broker->get_order("acct-1", "missing", "");
        FAIL();
    } catch (const sdk::Error& e) {
        EXPECT_EQ(e.status(), Status::NotFound);
        EXPECT_TRUE(contains(e.what(), "no such order")) << e.what();
    }
}

// ---- SDK 1.7.1: calls on the caller's thread (OG_CAP_INLINE_CALLS) ----------------------------

// The threads the instance's order updates arrived on.
class ThreadEvents : public RecordingEvents {
public:
    void on_order_update(const std::string& broker, const OrderReport& r) override {
        RecordingEvents::on_order_update(broker, r);
        std::lock_guard<std::mutex> lock(mu);
        threads.push_back(std::this_thread::get_id());
        arrived.notify_all();
    }
    // Waits up to 5 s for the n-th update.
    bool wait_updates(size_t n) {
        std::unique_lock<std::mutex> lock(mu);
        return arrived.wait_for(lock, std::chrono::seconds(5),
                                [&] { return threads.size() >= n; });
    }
    std::vector<std::thread::id> threads;
    std::condition_variable arrived;
};

template <typename F>
Status status_of_call(F&& call) {
    try {
        call();
    } catch (const sdk::Error& e) {
        return e.status();
    }
    return Status::Ok;
}

TEST(InlineCalls, AnInstanceDeclaringThemIsCalledOnTheCallersThreadWithoutACallThread) {
    ThreadEvents events;
    auto lib = load_plugin(compat("compat_inline"), OG_KIND_BROKER);
    auto broker = lib->create_broker("inline", {}, &events);
    EXPECT_TRUE(broker->inline_calls());
    EXPECT_TRUE(broker->has(OG_CAP_INLINE_CALLS));
    EXPECT_EQ(broker->place_order(market_order("i1"), std::chrono::milliseconds(50)).status,
              OrderStatus::Open);
    ASSERT_TRUE(events.wait_updates(1));
    EXPECT_EQ(events.threads[0], std::this_thread::get_id());  // pushed during the call
    EXPECT_EQ(broker->call_stats().threads, 0u);
    EXPECT_EQ(status_of_call([&] { broker->get_order("acct-1", "I-x", ""); }), Status::NotFound);
    EXPECT_EQ(broker->call_stats().threads, 0u);
}

TEST(InlineCalls, TheConfigCanKeepSuchAnInstanceOnItsCallThreads) {
    ThreadEvents events;
    auto lib = load_plugin(compat("compat_inline"), OG_KIND_BROKER);
    BrokerCallLimits limits;
    limits.inline_calls = false;
    auto broker = lib->create_broker("pooled", {}, &events, limits);
    EXPECT_FALSE(broker->inline_calls());
    broker->place_order(market_order("p1"), std::chrono::milliseconds(1000));
    ASSERT_TRUE(events.wait_updates(1));
    EXPECT_NE(events.threads[0], std::this_thread::get_id());
    EXPECT_EQ(broker->call_stats().threads, 1u);
}

// The trade-off the flag makes: nothing outside the plugin enforces the deadline. A call that
// blocks anyway holds its caller and its answer stands (it is not an unknown outcome); the same
// plugin on call threads ends UnknownOutcome at the deadline.
TEST(InlineCalls, ACallThatBlocksPastItsDeadlineHoldsItsCallerAndItsAnswerStands) {
    ThreadEvents events;
    auto lib = load_plugin(compat("compat_inline"), OG_KIND_BROKER);
    const auto deadline = std::chrono::milliseconds(20);
    {
        auto broker = lib->create_broker("blocking", {{"block_ms", "300"}}, &events);
        const auto t0 = std::chrono::steady_clock::now();
        EXPECT_EQ(broker->place_order(market_order("b1"), deadline).broker_order_id, "I-b1");
        EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(300));
    }
    BrokerCallLimits limits;
    limits.inline_calls = false;
    auto pooled = lib->create_broker("blocking-pooled", {{"block_ms", "300"}}, &events, limits);
    EXPECT_EQ(status_of_call([&] { pooled->place_order(market_order("b2"), deadline); }),
              Status::UnknownOutcome);
}

TEST(InlineCalls, StopWaitsForACallInProgressThenRefusesNewOnes) {
    ThreadEvents events;
    auto lib = load_plugin(compat("compat_inline"), OG_KIND_BROKER);
    auto broker = lib->create_broker("stopping", {{"block_ms", "400"}}, &events);
    std::thread caller(
        [&] { broker->place_order(market_order("s1"), std::chrono::milliseconds(1000)); });
    ASSERT_TRUE(events.wait_updates(1));  // the call is in the plugin, blocking
    EXPECT_EQ(broker->call_stats().running, 1u);
    EXPECT_EQ(broker->call_stats().threads, 0u);
    broker->stop();
    EXPECT_EQ(broker->call_stats().running, 0u);  // stop returned only after the call did
    Status after = status_of_call(
        [&] { broker->place_order(market_order("s2"), std::chrono::milliseconds(1000)); });
    EXPECT_EQ(after, Status::Unavailable);  // not sent
    caller.join();
    std::lock_guard<std::mutex> lock(events.mu);
    EXPECT_EQ(events.updates.size(), 1u);
}

}  // namespace
}  // namespace ordergate::plugin_loader
