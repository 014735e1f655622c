// ordergate::testkit cases — the conformance contract a plugin must pass, as a list of named
// cases run by `ordergate plugin check <file.so> [--config plugin.yaml]`.
//
// A case is a function of a CaseContext. It passes by returning; it fails by throwing CaseFailure
// (ctx.check / ctx.fail) or any other exception (its what() is the reason); it is skipped by
// throwing CaseSkipped (ctx.skip), e.g. for a capability the plugin does not declare. The runner
// prints one line per case:
//   PASS broker.place_market
//   FAIL broker.modify: expected status Rejected or InvalidArgument, got Internal (…)
//   SKIP broker.unknown_outcome: no testkit.fault_config in the plugin config
// Cases run one after another, in list order, on one thread (a case may start its own threads
// and must join them before returning). Each case creates the instances it needs through the
// context, so a failing case leaves nothing behind for the next.
//
// Configuration (the YAML file given with --config, flattened to "a.b" keys): every key except
// those under `testkit.` is the plugin's own configuration, passed to each instance. `testkit.`
// keys tune the kit:
//   testkit.account        account id used by broker cases                (default "ACC-TEST")
//   testkit.symbol         symbol                                         (default "AAPL")
//   testkit.exchange       exchange                                       (default "")
//   testkit.quantity       order quantity                                 (default "1")
//   testkit.limit_price    a BUY LIMIT price that rests without filling   (default "0.01")
//   testkit.timeout_ms     deadline for events to arrive                  (default 10000)
//   testkit.orders_per_thread   orders per thread in the concurrency case (default 10)
//   testkit.settle_orders  MARKET orders fills_consistent / broker_id_stable follow (default 3)
//   testkit.expect_market_fill  a MARKET order fills promptly             (default true)
//   testkit.fault_config.* a sub-map merged over the plugin config for a second instance used
//                          by the fault cases: with it, place_order must end in UnknownOutcome
//                          (e.g. broker-paper: testkit.fault_config.fault.timeout_after_send_ratio: 1)
// Storage cases may define their own `testkit.` keys (see storage_cases.cpp).
//
// What the broker cases hold a plugin's events to (DESIGN.md: fills are facts, de-duplicated by
// broker trade id per broker instance). The cases that follow orders to the end
// (fills_consistent, broker_id_stable) wait for each order's terminal update, then stop the
// instance — stop joins the plugin's threads, so every event it will send has arrived — and check:
//   broker.fills_consistent   per order: a trade id delivered again repeats the fill exactly
//                             (quantity, price, side, broker order id) — a re-delivery is legal,
//                             the host counts it once; the distinct trade ids add up to no more
//                             than the order's quantity (one execution sent under two trade ids
//                             shows here) and to the filled quantity of its final report.
//   broker.broker_id_stable   every pushed update and fill of an order names it by the broker
//                             order id its ack gave (a fill may leave it empty).
//   broker.no_events_after_stop  the event sink is not called after stop() returned: the
//                             instance is stopped with an order and a price subscription in
//                             flight, then destroyed (a sink call from destroy() counts too).
// Each failure is one line naming the order (client id, broker id) and the trade ids.
//
// The paginated reports of ABI 1.3 (skipped for an older plugin, which the host lists in one
// page; a 1.3 plugin leaving the slots NULL gets that same one page and passes):
//   broker.order_pages        five orders are placed (resting LIMITs, else MARKET), then the
//   broker.fill_pages         orders (recent ones, else open ones) / the fills of three MARKET
//                             orders are read in pages of 1000, of 2, and of 1000 again: the
//                             pages of 2 hold every item of the first read once, in its order,
//                             and nothing the last read lacks; the page after a cursor is the
//                             same when asked twice and shares nothing with the page before;
//                             a cursor the plugin never gave is InvalidArgument. Pages marked
//                             incomplete skip the comparison.
// Every order report the kit sees that carries leaves_quantity (ABI 1.3) must say quantity -
// filled while the order is live and 0 once it is terminal.
//
// Settings the plugin refuses. When a case finds that the plugin cannot work with the kit's
// settings — the broker does not know testkit.account (NotFound naming it), or refuses its own
// configuration at create (InvalidArgument) — that case fails once with the plugin's answer, the
// later cases needing those settings are skipped ("needs testkit.account (see broker.x)"), and
// the run ends with one line saying what to pass:
//   the plugin needs settings: pass --config plugin.yaml with the plugin's own keys and
//   testkit.account set to an account they define (…)
// The run still fails: nothing that needed the settings was verified.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "plugin_loader/plugin_adapters.hpp"
#include "plugin_loader/plugin_loader.hpp"

namespace ordergate::testkit {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

// Thrown by CaseContext::check / fail: the case failed for the given reason.
class CaseFailure : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Thrown by CaseContext::skip: the case does not apply to this plugin.
class CaseSkipped : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// What a case can use. Not thread-safe except where noted; owned by the runner.
class CaseContext {
public:
    // `plugin_config` and `fault_config` are the plugin's own keys (testkit.* removed);
    // `fault_config` is empty when the YAML has no testkit.fault_config.
    CaseContext(std::string plugin_path, std::shared_ptr<plugin_loader::PluginLibrary> library,
                KeyValues plugin_config, KeyValues fault_config, KeyValues kit_config,
                plugin_loader::HostServicesConfig services = {});

    const std::string& plugin_path() const { return plugin_path_; }
    const plugin_loader::PluginInfo& info() const { return library_->info(); }
    // The loaded library (see reload()).
    plugin_loader::PluginLibrary& library() { return *library_; }
    std::shared_ptr<plugin_loader::PluginLibrary> library_ptr() { return library_; }

    // The plugin's configuration, and the fault configuration merged over it (empty when none).
    const KeyValues& config() const { return plugin_config_; }
    bool has_fault_config() const { return !fault_config_.empty(); }
    KeyValues fault_config() const;

    // A `testkit.<key>` value ("testkit." omitted), or `fallback`.
    std::string kit(const std::string& key, const std::string& fallback) const;
    int64_t kit_int(const std::string& key, int64_t fallback) const;
    bool kit_bool(const std::string& key, bool fallback) const;

    // True when the broker declares every flag of `capability`: the manifest of the instances
    // the cases create once one was created (ABI 1.4 decides it per instance, from the
    // settings), the descriptor's before that.
    bool declares(uint64_t capability) const;
    // Records the manifest of an instance created from the plugin's own settings.
    void note_instance_capabilities(uint64_t capabilities) {
        instance_capabilities_ = capabilities;
        has_instance_capabilities_ = true;
    }
    // Skips the case unless the plugin declares `capability` (named in the message).
    void require_capability(uint64_t capability, const std::string& name);

    // A fresh id, unique within this run and across runs ("<prefix>-<time>-<n>"). Thread-safe.
    std::string unique(const std::string& prefix);

    // Throws CaseFailure(message) when !ok.
    void check(bool ok, const std::string& message);
    [[noreturn]] void fail(const std::string& message);
    [[noreturn]] void skip(const std::string& reason);

    // The settings problem an earlier case found (see "Settings the plugin refuses" above):
    // fails this case with `reason`, and makes require_settings() skip the later cases.
    // `setting` names what is missing ("testkit.account", "the plugin's own keys").
    [[noreturn]] void needs_settings(const std::string& setting, const std::string& reason);
    // Skips the case when an earlier case found the settings missing.
    void require_settings();
    // What is missing ("" when nothing was found), and the case that found it.
    const std::string& missing_setting() const { return missing_setting_; }
    // The --config file given ("" when none); only used to word the settings line.
    void set_config_file(std::string path) { config_file_ = std::move(path); }
    const std::string& config_file() const { return config_file_; }
    // The case running now (set by run_cases).
    const std::string& current_case() const { return current_case_; }
    void set_current_case(std::string name) { current_case_ = std::move(name); }

    // Drops this context's library handle and loads the plugin again; returns whether the old
    // library was really unloaded (no one else held it). Used by the reload case.
    bool reload();

private:
    std::string plugin_path_;
    std::shared_ptr<plugin_loader::PluginLibrary> library_;
    KeyValues plugin_config_;
    KeyValues fault_config_;
    KeyValues kit_config_;
    plugin_loader::HostServicesConfig services_;
    std::string run_id_;
    std::atomic<uint64_t> counter_{0};
    uint64_t instance_capabilities_ = 0;
    bool has_instance_capabilities_ = false;
    std::string missing_setting_, missing_found_by_, config_file_, current_case_;
};

struct Case {
    std::string name;  // "broker.place_market", "storage.duplicate_client_order_id"
    std::function<void(CaseContext&)> fn;
};

// The broker contract (host/testkit/broker_cases.cpp).
std::vector<Case> broker_cases();
// The storage contract (host/testkit/storage_cases.cpp).
std::vector<Case> storage_cases();

// Runs `cases` in order, printing one line each and a summary to `out` (then the settings line
// when a case found settings missing). Returns the number of failed cases.
int run_cases(const std::vector<Case>& cases, CaseContext& ctx, std::ostream& out);

}  // namespace ordergate::testkit
