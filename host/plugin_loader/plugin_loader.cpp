#include "plugin_loader/plugin_loader.hpp"

#include <dlfcn.h>
#include <sys/stat.h>

#include <boost/dll/shared_library.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <spdlog/spdlog.h>

#include "ordergate/abi_convert.hpp"
#include "ordergate/sdk_version.h"
#include "plugin_loader/call_support.hpp"
#include "plugin_loader/plugin_adapters.hpp"

namespace ordergate::plugin_loader {

namespace {

std::string host_abi() { return std::to_string(OG_ABI_MAJOR) + "." + std::to_string(OG_ABI_MINOR); }

const std::string kRebuild =
    "rebuild the plugin against ordergate-sdk " + std::to_string(OG_ABI_MAJOR) + ".x";

// The services given to one library's entry; ctx points here.
struct Services {
    og_host_services c{};
    std::shared_ptr<spdlog::logger> logger;
    std::function<int64_t()> now_ns;
    std::string plugin_name;  // set once before any plugin function other than the entry runs

    static void log(void* ctx, og_log_level level, og_str message) {
        auto* self = static_cast<Services*>(ctx);
        try {
            std::string text;
            if (message.data != nullptr && message.size <= abi::kMaxStringSize)
                text = detail::one_line(std::string_view(message.data, message.size), 4096);
            else
                text = "<malformed log message>";
            spdlog::level::level_enum lvl = spdlog::level::warn;
            switch (level) {
                case OG_LOG_DEBUG: lvl = spdlog::level::debug; break;
                case OG_LOG_INFO: lvl = spdlog::level::info; break;
                case OG_LOG_WARN: lvl = spdlog::level::warn; break;
                case OG_LOG_ERROR: lvl = spdlog::level::err; break;
                default: break;  // an unknown level is logged as a warning
            }
            self->logger->log(lvl, "event=plugin_log plugin={} {}", self->plugin_name, text);
        } catch (const std::exception& e) {
            // Never let anything unwind into the plugin; the log line is lost, say so on stderr.
            std::fprintf(stderr, "ordergate: failed to log a plugin message: %s\n", e.what());
        }
    }

    static int64_t now(void* ctx) {
        auto* self = static_cast<Services*>(ctx);
        if (self->now_ns) {
            try {
                return self->now_ns();
            } catch (const std::exception& e) {
                std::fprintf(stderr, "ordergate: injected clock failed: %s\n", e.what());
                std::abort();  // a broken injected clock is a bug in the host, not a plugin fault
            }
        }
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }
};

using FileKey = std::pair<dev_t, ino_t>;

// Files currently loaded, so a second load of the same file shares its PluginLibrary (the
// process has one copy of the .so either way; see the header). Guarded by cache_mutex().
std::recursive_mutex& cache_mutex() {
    static std::recursive_mutex m;
    return m;
}
std::map<FileKey, std::weak_ptr<PluginLibrary>>& cache() {
    static std::map<FileKey, std::weak_ptr<PluginLibrary>> c;
    return c;
}

[[noreturn]] void refuse(const std::string& path, const std::string& found,
                         const std::string& expected, const std::string& fix) {
    throw LoadError("plugin " + path + ": " + found + "; expected " + expected + "; " + fix);
}

bool has_elf_header(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    char magic[4] = {};
    in.read(magic, 4);
    return in.gcount() == 4 && std::memcmp(magic, "\x7f" "ELF", 4) == 0;
}

std::string read_str(const std::string& path, og_str s, const char* field) {
    try {
        return abi::from_abi(s, "descriptor", field);
    } catch (const abi::ConvertError& e) {
        refuse(path, std::string("a malformed descriptor (") + e.what() + ")",
               "a descriptor written by the ordergate SDK", kRebuild);
    }
}

}  // namespace

struct PluginLibrary::Impl {
    boost::dll::shared_library lib;  // first member: unloaded last
    std::unique_ptr<Services> services;
    og_broker_vtable broker{};
    og_storage_vtable storage{};
    FileKey key{};
};

std::string kind_name(og_kind kind) {
    if (kind == OG_KIND_BROKER) return "broker";
    if (kind == OG_KIND_STORAGE) return "storage";
    return "kind " + std::to_string(kind);
}

std::string capability_names(uint64_t caps) {
    static const char* const names[] = {
        "market",        "limit",         "stop",          "stop_limit",      "day",
        "gtc",           "ioc",           "fok",           "modify",          "modify_quantity",
        "modify_price",  "modify_trigger", "modify_order_type", "modify_tif", "cancel_all",
        "query_by_client_id", "report_open_orders", "report_recent_orders", "report_fills",
        "report_positions", "report_account", "quotes", "price_subscription", "native_gtt",
        "partial_fills", "push_events", "batched_events", "modify_emulated", "inline_calls"};
    constexpr int known = static_cast<int>(sizeof(names) / sizeof(names[0]));
    std::string out;
    for (int bit = 0; bit < 64; ++bit) {
        if ((caps & (1ull << bit)) == 0) continue;
        if (!out.empty()) out += '|';
        out += bit < known ? std::string(names[bit]) : "bit" + std::to_string(bit);
    }
    return out.empty() ? "none" : out;
}

PluginLibrary::PluginLibrary(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PluginLibrary::~PluginLibrary() {
    std::lock_guard<std::recursive_mutex> lock(cache_mutex());
    auto it = cache().find(impl_->key);
    if (it != cache().end() && it->second.expired()) cache().erase(it);
}

const og_broker_vtable* PluginLibrary::broker_table() const {
    return info_.kind == OG_KIND_BROKER ? &impl_->broker : nullptr;
}

const og_storage_vtable* PluginLibrary::storage_table() const {
    return info_.kind == OG_KIND_STORAGE ? &impl_->storage : nullptr;
}

spdlog::logger& PluginLibrary::logger() const { return *impl_->services->logger; }

std::unique_ptr<PluginBroker> PluginLibrary::create_broker(
    const std::string& instance_name,
    const std::vector<std::pair<std::string, std::string>>& config, ports::BrokerEvents* events) {
    return create_broker(instance_name, config, events, BrokerCallLimits{});
}

std::unique_ptr<PluginBroker> PluginLibrary::create_broker(
    const std::string& instance_name,
    const std::vector<std::pair<std::string, std::string>>& config, ports::BrokerEvents* events,
    const BrokerCallLimits& limits, bool start) {
    if (info_.kind != OG_KIND_BROKER)
        throw std::logic_error("plugin " + info_.path + " is a " + kind_name(info_.kind) +
                               " plugin, not a broker");
    if (events == nullptr) throw std::logic_error("create_broker: events must not be NULL");
    auto broker =
        std::make_unique<PluginBroker>(shared_from_this(), instance_name, events, limits);
    broker->create(config);
    if (start) broker->start();
    return broker;
}

std::unique_ptr<PluginStorage> PluginLibrary::create_storage(
    const std::vector<std::pair<std::string, std::string>>& config) {
    if (info_.kind != OG_KIND_STORAGE)
        throw std::logic_error("plugin " + info_.path + " is a " + kind_name(info_.kind) +
                               " plugin, not a storage");
    auto storage = std::make_unique<PluginStorage>(shared_from_this());
    storage->create(config);
    return storage;
}

std::shared_ptr<PluginLibrary> load_plugin(const std::string& path_in, og_kind expected_kind,
                                           const HostServicesConfig& config) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path canonical = fs::canonical(path_in, ec);
    if (ec)
        refuse(path_in, "no such file (" + ec.message() + ")", "an ordergate plugin .so",
               "check the plugin path or name");
    const std::string path = canonical.string();
    if (!fs::is_regular_file(canonical, ec))
        refuse(path, "not a regular file", "an ordergate plugin .so",
               "check the plugin path or name");
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        refuse(path, std::string("cannot stat the file (") + std::strerror(errno) + ")",
               "a readable plugin .so", "check the file's permissions");
    if (!has_elf_header(path))
        refuse(path, "not a shared object (no ELF header)",
               "a shared library built with ordergate_add_plugin()", kRebuild);

    const FileKey key{st.st_dev, st.st_ino};
    std::lock_guard<std::recursive_mutex> lock(cache_mutex());
    if (auto it = cache().find(key); it != cache().end()) {
        if (std::shared_ptr<PluginLibrary> loaded = it->second.lock()) {
            if (expected_kind != 0 && loaded->info().kind != expected_kind)
                refuse(path, "a " + kind_name(loaded->info().kind) + " plugin",
                       "a " + kind_name(expected_kind) + " plugin",
                       "configure a " + kind_name(expected_kind) + " plugin here");
            return loaded;
        }
    }

    auto impl = std::make_unique<PluginLibrary::Impl>();
    impl->key = key;
    try {
        impl->lib.load(boost::dll::fs::path(path),
                       boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    } catch (const std::exception& e) {
        refuse(path, "cannot be loaded (" + detail::one_line(e.what(), 400) + ")",
               "a shared object for this platform whose dependencies are installed", kRebuild);
    }
    if (!impl->lib.has(OG_PLUGIN_ENTRY_NAME))
        refuse(path, std::string("no entry symbol '") + OG_PLUGIN_ENTRY_NAME + "'",
               "a plugin exported with ORDERGATE_BROKER_PLUGIN or ORDERGATE_STORAGE_PLUGIN",
               kRebuild);

    // The alias is a pointer variable holding the entry's address. A plain function exported
    // under the same name would be read as data here: check that the address read points into
    // this very library before calling it. The bytes are copied, not read through a pointer
    // reference: a function's code need not be aligned like a pointer (UBSan: misaligned load).
    const char& slot = impl->lib.get<char>(OG_PLUGIN_ENTRY_NAME);
    const void* target = nullptr;
    std::memcpy(&target, &slot, sizeof target);
    Dl_info slot_info{}, target_info{};
    if (target == nullptr || ::dladdr(&slot, &slot_info) == 0 ||
        ::dladdr(target, &target_info) == 0 || slot_info.dli_fbase != target_info.dli_fbase)
        refuse(path, std::string("symbol '") + OG_PLUGIN_ENTRY_NAME +
                         "' that is not a Boost.DLL alias of a function in the plugin",
               "the entry exported by ORDERGATE_BROKER_PLUGIN or ORDERGATE_STORAGE_PLUGIN",
               kRebuild);
    auto* entry = reinterpret_cast<og_plugin_entry_fn*>(const_cast<void*>(target));

    impl->services = std::make_unique<Services>();
    Services& services = *impl->services;
    services.logger = config.logger ? config.logger : spdlog::default_logger();
    services.now_ns = config.now_ns;
    services.plugin_name = canonical.filename().string();
    services.c.size = sizeof(og_host_services);
    services.c.host_abi_major = OG_ABI_MAJOR;
    services.c.host_abi_minor = OG_ABI_MINOR;
    services.c.ctx = &services;
    services.c.log = &Services::log;
    services.c.now_ns = &Services::now;

    const og_plugin_descriptor* d = entry(OG_ABI_MAJOR, OG_ABI_MINOR, &services.c);
    if (d == nullptr)
        refuse(path, "the plugin refused this host (its entry returned no descriptor)",
               "a plugin that accepts host ABI " + host_abi(), kRebuild);
    // The first three fields of the descriptor are the same in every major.
    if (d->size < OG_SIZE_THROUGH(og_plugin_descriptor, abi_minor))
        refuse(path, "a descriptor of " + std::to_string(d->size) + " bytes",
               "an ordergate plugin descriptor", kRebuild);
    if (d->abi_major != OG_ABI_MAJOR)
        throw LoadError("plugin " + path + ": ABI major " + std::to_string(d->abi_major) +
                        ", this host speaks ABI " + host_abi() + "; " + kRebuild);
    if (d->size < abi::kMinSize<og_plugin_descriptor>)
        refuse(path, "a descriptor of " + std::to_string(d->size) + " bytes",
               "at least " + std::to_string(abi::kMinSize<og_plugin_descriptor>) +
                   " bytes (ABI 1.0)",
               kRebuild);

    PluginInfo info;
    info.path = path;
    info.abi_major = d->abi_major;
    info.abi_minor = d->abi_minor;
    info.kind = d->kind;
    info.capabilities = d->capabilities;
    info.name = read_str(path, d->name, "name");
    info.version = read_str(path, d->version, "version");
    info.sdk_version = read_str(path, d->sdk_version, "sdk_version");
    const std::string who = "plugin " + path;
    const std::string declared = " (" + (info.name.empty() ? std::string("unnamed") : info.name) +
                                 ", ABI " + std::to_string(info.abi_major) + "." +
                                 std::to_string(info.abi_minor) + ")";
    if (info.name.empty())
        refuse(path, "a descriptor without a name", "a plugin name", kRebuild);
    if (info.kind != OG_KIND_BROKER && info.kind != OG_KIND_STORAGE)
        refuse(path, kind_name(info.kind) + declared, "a broker or storage plugin", kRebuild);
    if (expected_kind != 0 && info.kind != expected_kind)
        refuse(path, "a " + kind_name(info.kind) + " plugin" + declared,
               "a " + kind_name(expected_kind) + " plugin",
               "configure a " + kind_name(expected_kind) + " plugin here");
    if (d->vtable == nullptr)
        refuse(path, "no function table" + declared, "a " + kind_name(info.kind) + " table",
               kRebuild);

    const uint32_t table_size = *static_cast<const uint32_t*>(d->vtable);
    info.table_size = table_size;
    const bool broker = info.kind == OG_KIND_BROKER;
    // Newer minor: the host needs its whole table; older: what that minor had.
    const uint32_t needed =
        broker ? abi::broker_table_size_for_minor(std::min<uint32_t>(info.abi_minor, OG_ABI_MINOR))
               : abi::storage_table_size_for_minor(
                     std::min<uint32_t>(info.abi_minor, OG_ABI_MINOR));
    if (table_size < needed)
        refuse(path, "a " + kind_name(info.kind) + " table of " + std::to_string(table_size) +
                         " bytes" + declared,
               "at least " + std::to_string(needed) + " bytes for ABI " +
                   std::to_string(info.abi_major) + "." +
                   std::to_string(std::min<uint32_t>(info.abi_minor, OG_ABI_MINOR)),
               kRebuild);

    // Copy the plugin's table into a zeroed one of the host's size: whatever the plugin's table
    // lacks reads as NULL and is never called.
    std::vector<std::string> missing;
    if (broker) {
        std::memcpy(&impl->broker, d->vtable,
                    std::min<size_t>(table_size, sizeof(og_broker_vtable)));
        impl->broker.size = table_size;
        const og_broker_vtable& t = impl->broker;
        if (!t.create) missing.push_back("create");
        if (!t.start) missing.push_back("start");
        if (!t.stop) missing.push_back("stop");
        if (!t.destroy) missing.push_back("destroy");
        if (!t.place_order) missing.push_back("place_order");
        if (!t.cancel_order) missing.push_back("cancel_order");
        if (!t.get_order) missing.push_back("get_order");
    } else {
        std::memcpy(&impl->storage, d->vtable,
                    std::min<size_t>(table_size, sizeof(og_storage_vtable)));
        impl->storage.size = table_size;
        const og_storage_vtable& t = impl->storage;
        if (!t.create) missing.push_back("create");
        if (!t.destroy) missing.push_back("destroy");
        if (!t.migrate) missing.push_back("migrate");
        if (!t.ping) missing.push_back("ping");
        if (!t.write_batch) missing.push_back("write_batch");
        if (!t.get_order) missing.push_back("get_order");
        if (!t.get_order_by_client_id) missing.push_back("get_order_by_client_id");
        if (!t.get_order_by_broker_id) missing.push_back("get_order_by_broker_id");
        if (!t.list_orders) missing.push_back("list_orders");
        if (!t.list_events) missing.push_back("list_events");
        if (!t.list_fills) missing.push_back("list_fills");
        if (!t.get_gtt) missing.push_back("get_gtt");
        if (!t.list_gtts) missing.push_back("list_gtts");
        if (!t.list_recon_runs) missing.push_back("list_recon_runs");
    }
    if (!missing.empty()) {
        std::string list;
        for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
        refuse(path, "NULL required functions (" + list + ")" + declared,
               "every required " + kind_name(info.kind) + " function", kRebuild);
    }

    services.plugin_name = info.name;
    services.logger->info(
        "event=plugin_loaded name={} kind={} version={} abi={}.{} sdk={} path={}", info.name,
        kind_name(info.kind), info.version, info.abi_major, info.abi_minor, info.sdk_version,
        path);
    auto library = std::make_shared<PluginLibrary>(std::move(impl));
    library->info_ = std::move(info);
    cache()[key] = library;
    return library;
}

std::string resolve_plugin(const std::string& name_or_path, const std::vector<std::string>& dirs) {
    namespace fs = std::filesystem;
    const bool is_path = name_or_path.find('/') != std::string::npos ||
                         (name_or_path.size() > 3 &&
                          name_or_path.compare(name_or_path.size() - 3, 3, ".so") == 0);
    if (is_path) return name_or_path;
    if (name_or_path.empty()) throw LoadError("plugin name is empty; expected a name or a path");
    std::string searched;
    for (const std::string& dir : dirs) {
        fs::path candidate = fs::path(dir) / (name_or_path + ".so");
        std::error_code ec;
        if (fs::is_regular_file(candidate, ec)) return candidate.string();
        searched += (searched.empty() ? "" : ", ") + dir;
    }
    throw LoadError("plugin '" + name_or_path + "': not found in " +
                    (searched.empty() ? std::string("(no plugin directories)") : searched) +
                    "; expected <dir>/" + name_or_path + ".so; check plugin_dirs or give a path");
}

}  // namespace ordergate::plugin_loader
