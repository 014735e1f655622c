// ordergate::ports — the interfaces the host's domain code uses to reach brokers and storage.
//
// The contracts are the SDK's own (sdk::BrokerPlugin, sdk::StoragePlugin): a plugin loaded
// through plugin_loader is wrapped in an adapter implementing them over the C table, and unit
// tests implement them with fakes. Every function may throw sdk::Error carrying a Status; an
// adapter never lets anything else escape (a plugin's garbage becomes Status::Internal).
#pragma once

#include <cstdint>
#include <string>

#include "ordergate/sdk.hpp"
#include "ordergate/types.hpp"

namespace ordergate::ports {

using StoragePort = sdk::StoragePlugin;

// A broker instance as the host sees it: the plugin's contract plus what the host needs to know
// of the instance (its configured name and its capability manifest).
class BrokerPort : public sdk::BrokerPlugin {
public:
    virtual const std::string& instance_name() const = 0;
    virtual uint64_t capabilities() const = 0;
    bool has(uint64_t capability) const { return (capabilities() & capability) == capability; }
    // Calls still in the plugin past their deadline (a hung plugin). Background callers (the
    // reconciler) call no more while there are any, so orders keep the plugin's call slots.
    virtual size_t calls_stuck() const { return 0; }
};

// Receives what broker instances push. Implemented by the host's order service. Called from
// plugin threads, concurrently; implementations must be thread-safe and must not call back into
// the broker from inside. The adapter has already checked every enum and decimal of the payload;
// a malformed payload is logged and counted by the adapter and never reaches here.
class BrokerEvents {
public:
    virtual ~BrokerEvents() = default;
    virtual void on_order_update(const std::string& broker, const OrderReport& report) = 0;
    virtual void on_fill(const std::string& broker, const Fill& fill) = 0;
    virtual void on_quote(const std::string& broker, const Quote& quote) = 0;
    virtual void on_connection(const std::string& broker, bool connected,
                               const std::string& detail) = 0;
    // ABI 1.5: a native GTT's status changed at the venue. A receiver that keeps no GTTs (the
    // order service) ignores it: the GTT service follows the venue through this and through
    // periodic list_gtts calls, so an update nobody took is learnt at the next list.
    virtual void on_gtt_update(const std::string& broker, const GttReport& report) {
        (void)broker;
        (void)report;
    }
    // ABI 1.6 (event sink `sync`): waits until the order updates and fills `broker` pushed
    // before the call are stored and applied, or `timeout` passes. Ok, Timeout, or Unavailable
    // (stopping). A receiver that applies each event before its call returns answers Ok.
    virtual Status sync_events(const std::string& broker, std::chrono::milliseconds timeout) {
        (void)broker;
        (void)timeout;
        return Status::Ok;
    }
};

}  // namespace ordergate::ports
