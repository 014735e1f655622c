// ordergate::plugin_loader — loads plugin .so files through Boost.DLL, checks them before running
// any of their code, and wraps their C tables in the host's ports (see plugin_adapters.hpp).
//
// What load_plugin() checks, in this order, before any table function of the plugin runs (the
// library's own static initialisers and its entry are the only plugin code run by loading):
//   1. the file exists and starts with an ELF header (else: "not a shared object");
//   2. it loads (dlopen, RTLD_NOW | RTLD_LOCAL: an unresolved symbol fails here, not later);
//   3. it exports OG_PLUGIN_ENTRY_NAME as a Boost.DLL alias pointing into the library itself;
//   4. the entry, called with the host's ABI version and services, returns a descriptor;
//   5. the descriptor's ABI major equals OG_ABI_MAJOR; its size covers the ABI 1.0 descriptor;
//      its kind is broker or storage and is the kind expected; its strings are well formed;
//   6. its table's size covers what the declared minor requires, and every required function
//      pointer is non-NULL (broker: create, start, stop, destroy, place_order, cancel_order,
//      get_order; storage: every ABI 1.0 function).
//
// Minor versions (decided here, documented for integrators):
//   - an OLDER minor loads; the host copies the plugin's table into a zeroed table of its own
//     size, so a function the older table lacks reads as NULL and is never called (the adapter
//     throws sdk::Error(Unsupported) instead);
//   - a NEWER minor than the host's loads too when its table is at least as large as the host's
//     own table: tables are append-only, so the host's prefix of it means what the host thinks.
//     The host reads only that prefix. (A plugin that needs a newer host can refuse in its
//     entry by returning NULL; it receives the host's ABI version for that purpose.)
//
// Every refusal throws LoadError whose what() is ONE line: the file, what was found, what was
// expected and what to rebuild, e.g.
//   plugin /x/y.so: ABI major 2, this host speaks ABI 1.1; rebuild the plugin against
//   ordergate-sdk 1.x
// A refused plugin leaves nothing behind: the library is unloaded and the host keeps running.
//
// Lifetime: a PluginLibrary keeps the .so loaded. Every adapter created from it holds a
// shared_ptr to it, so the code of a plugin is never unloaded while an instance exists. Loading
// a file that is already loaded (same device and inode) returns the same PluginLibrary: the
// process has one copy of a .so's code and statics, and its entry was already given services
// whose lifetime is tied to that PluginLibrary.
//
// Threads: load_plugin() and resolve_plugin() may be called from any thread. A PluginLibrary is
// immutable after loading; create_broker()/create_storage() may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ordergate/plugin_abi.h"
#include "ports/ports.hpp"

namespace spdlog {
class logger;
}

namespace ordergate::plugin_loader {

class PluginBroker;
struct BrokerCallLimits;
class PluginStorage;

// What a loaded plugin declared about itself.
struct PluginInfo {
    std::string path;         // canonical path of the .so
    std::string name;         // e.g. "broker-paper"
    std::string version;      // the plugin's own release version
    std::string sdk_version;  // the SDK release it was built with
    og_kind kind = 0;         // OG_KIND_BROKER or OG_KIND_STORAGE
    uint32_t abi_major = 0;
    uint32_t abi_minor = 0;
    uint64_t capabilities = 0;  // OG_CAP_* (brokers); 0 for storage
    uint32_t table_size = 0;    // the size the plugin's table declared
};

// A plugin was refused. what() is one line (see the top of the file).
class LoadError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The services the host gives a plugin (og_host_services).
struct HostServicesConfig {
    // Where the plugin's log lines go, as "event=plugin_log plugin=<name> <message>". NULL:
    // spdlog's default.
    std::shared_ptr<spdlog::logger> logger;
    // Wall clock, Unix epoch ns; must be callable from any thread. Empty: the system clock.
    std::function<int64_t()> now_ns;
};

// "KIND" names for messages: "broker", "storage", or "kind 7".
std::string kind_name(og_kind kind);
// "market|limit|..." names of the capability flags set in `caps` (unknown bits as "bit<N>").
std::string capability_names(uint64_t caps);

// A loaded, checked plugin library. Create instances from it; it stays loaded while they live.
class PluginLibrary : public std::enable_shared_from_this<PluginLibrary> {
public:
    ~PluginLibrary();
    PluginLibrary(const PluginLibrary&) = delete;
    PluginLibrary& operator=(const PluginLibrary&) = delete;

    const PluginInfo& info() const { return info_; }

    // Creates and starts a broker instance named `instance_name` (used in logs and passed to
    // `events`) with its flattened configuration. `events` receives what the plugin pushes; it
    // must outlive the returned adapter and be thread-safe. Throws std::logic_error when this is
    // not a broker plugin or `events` is NULL, sdk::Error(status, message) when the plugin's
    // create or start fails (after start fails the instance is stopped and destroyed).
    // `limits` bounds the instance's calls (plugin_adapters.hpp). With `start` false the
    // instance is created only: the caller starts it (PluginBroker::start) when it is ready for
    // its events.
    std::unique_ptr<PluginBroker> create_broker(
        const std::string& instance_name,
        const std::vector<std::pair<std::string, std::string>>& config,
        ports::BrokerEvents* events, const BrokerCallLimits& limits, bool start = true);
    std::unique_ptr<PluginBroker> create_broker(
        const std::string& instance_name,
        const std::vector<std::pair<std::string, std::string>>& config,
        ports::BrokerEvents* events);

    // Creates a storage instance. Does not migrate (call migrate()). Throws std::logic_error when
    // this is not a storage plugin, sdk::Error(status, message) when the plugin's create fails.
    std::unique_ptr<PluginStorage> create_storage(
        const std::vector<std::pair<std::string, std::string>>& config);

    // The host's copy of the plugin's table (zeroed beyond the plugin's size); NULL for the
    // other kind. For the adapters and for tests.
    const og_broker_vtable* broker_table() const;
    const og_storage_vtable* storage_table() const;

    // Used by the adapters to log plugin failures with context.
    spdlog::logger& logger() const;

    struct Impl;
    explicit PluginLibrary(std::unique_ptr<Impl> impl);

private:
    friend std::shared_ptr<PluginLibrary> load_plugin(const std::string&, og_kind,
                                                      const HostServicesConfig&);
    std::unique_ptr<Impl> impl_;
    PluginInfo info_;
};

// Loads and checks the plugin at `path` (see the top of the file). expected_kind is
// OG_KIND_BROKER, OG_KIND_STORAGE or 0 for any. Throws LoadError.
std::shared_ptr<PluginLibrary> load_plugin(const std::string& path, og_kind expected_kind = 0,
                                           const HostServicesConfig& services = {});

// Finds a plugin: a value containing '/' or ending in ".so" is a path and is returned as given;
// a name like "broker-paper" is looked up as "<dir>/broker-paper.so" in each of `dirs` in order,
// the first existing file wins. Throws LoadError naming the directories searched.
std::string resolve_plugin(const std::string& name_or_path, const std::vector<std::string>& dirs);

}  // namespace ordergate::plugin_loader
