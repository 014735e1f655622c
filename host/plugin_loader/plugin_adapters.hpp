// ordergate::plugin_loader adapters — the host's ports implemented over a plugin's C table.
//
// A plugin is untrusted. Every call goes through the table copy the loader checked, and:
//  - C++ arguments are converted to C structs that live for the duration of the call;
//  - the plugin's status becomes sdk::Error(status, "<plugin> <function>: <message>"); a status
//    outside the ABI's range becomes Status::Internal;
//  - results arriving through the result sink are validated (record size, strings, enums,
//    decimals); anything malformed, a missing or duplicated report where exactly one is due, or a
//    wrong number of write results becomes sdk::Error(Status::Internal, …). Nothing a plugin
//    returns can crash the host or reach domain code unchecked;
//  - a function the plugin's table lacks (older minor, or a NULL slot) is never called:
//    sdk::Error(Status::Unsupported, …) — except the ABI 1.3 pages, which the adapter then
//    answers through list_orders / list_fills as one page;
//  - a broker function whose capability the plugin did not declare is never called either:
//    sdk::Error(Status::Unsupported, "… does not declare capability …").
// For place/modify/cancel/cancel_all, Status::Internal (and Timeout/UnknownOutcome) means the
// host cannot tell from the plugin what happened at the venue: callers treat it like
// UnknownOutcome (look the order up, never resend).
//
// Deadlines are the host's, not the plugin's: every broker call runs on the instance's own
// CallPool (call_pool.hpp) and the caller waits at most its deadline (the call's `timeout` for
// place/modify/cancel/cancel_all/ping, BrokerCallLimits::query_timeout for the queries) plus
// kDeadlineGrace, the time a plugin that honours the deadline it was given needs to say so itself.
// Past it the caller gets UnknownOutcome (order calls: the request may have left) or Timeout
// (queries) and the plugin call keeps its pool thread until it returns; its late answer is
// discarded and logged. A call that found no free thread before its deadline, or every thread
// stuck past a deadline, was never made: Unavailable ("not sent").
// Except (SDK 1.7.1) for an instance that declares OG_CAP_INLINE_CALLS (every call returns
// promptly: an in-memory venue): its calls run on the caller's own thread, one hand-off fewer
// each, and nothing outside the plugin enforces their deadline; one that returns past it is
// logged (event=inline_call_late). stop() refuses new ones and waits for those in progress.
//
// Error messages from the plugin are cut to 1 KiB and made one line (control characters become
// spaces).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ordergate/plugin_abi.h"
#include "plugin_loader/call_pool.hpp"
#include "plugin_loader/plugin_loader.hpp"
#include "ports/ports.hpp"

namespace ordergate::plugin_loader {

// Counters of what the event sink of one broker instance refused. Thread-safe snapshots.
struct SinkCounters {
    uint64_t delivered = 0;         // payloads forwarded to BrokerEvents
    uint64_t invalid = 0;           // malformed payloads (logged and dropped)
    uint64_t after_stop = 0;        // payloads arriving after stop() returned (dropped)
    uint64_t handler_failures = 0;  // BrokerEvents threw (logged; the plugin is not told)
};

// How the host bounds the calls of one broker instance.
struct BrokerCallLimits {
    // Calls in the plugin at once (the pool's threads); more wait for a free thread until their
    // deadline. A plugin that hangs holds at most this many threads.
    size_t max_concurrent_calls = 16;
    // SDK 1.7.1: an instance declaring OG_CAP_INLINE_CALLS runs its calls on the caller's
    // thread; false keeps them on the pool, with the host's deadlines.
    bool inline_calls = true;
    // Deadline of the queries, which carry none in the ABI (get_order, list_orders, list_fills,
    // their pages, positions, account, quote, subscribe_prices).
    std::chrono::milliseconds query_timeout{5000};
    // How long stop() waits for calls still in the plugin after the plugin's own stop().
    std::chrono::milliseconds stop_grace{5000};
    // Told when a caller leaves a call at its deadline and when such a call returns (metrics).
    CallPool::Observer observer;
};

// A broker instance of a loaded plugin.
//
// Threads: every port function may be called from several threads at once (the ABI requires
// plugins to allow it); each runs the plugin on the instance's call pool (see the top). start()
// and stop() are idempotent and serialised with each other. stop() refuses new calls, calls the
// plugin's stop() (which may end calls it has hanging), then waits up to stop_grace for calls
// still in the plugin. The destructor calls stop() then the plugin's destroy(), and must not run
// while another call on this object is in flight; when calls are still stuck in the plugin it
// does NOT destroy the instance and keeps the library loaded (both leaked on purpose, logged):
// freeing either under a running call would crash the process. The event sink handed to the plugin forwards to `events` from plugin
// threads, concurrently; after stop() returns nothing is forwarded any more.
class PluginBroker final : public ports::BrokerPort {
public:
    // Use PluginLibrary::create_broker().
    PluginBroker(std::shared_ptr<PluginLibrary> library, std::string instance_name,
                 ports::BrokerEvents* events, BrokerCallLimits limits = {});
    ~PluginBroker() override;
    PluginBroker(const PluginBroker&) = delete;
    PluginBroker& operator=(const PluginBroker&) = delete;

    // ports::BrokerPort
    const std::string& instance_name() const override { return name_; }
    // The instance's own manifest when the plugin gives one (ABI 1.4 get_capabilities, decided
    // from its settings), else the descriptor's.
    uint64_t capabilities() const override;
    size_t calls_stuck() const override { return call_stats().stuck; }

    void start() override;
    void stop() override;
    OrderReport place_order(const OrderRequest& request,
                            std::chrono::milliseconds timeout) override;
    OrderReport modify_order(const ModifyRequest& request,
                             std::chrono::milliseconds timeout) override;
    OrderReport cancel_order(const std::string& account_id, const std::string& broker_order_id,
                             const std::string& client_order_id,
                             std::chrono::milliseconds timeout) override;
    // ABI 1.4: through cancel_order_v2 (with the request chain) when the plugin has it, else
    // cancel_order. place/modify/cancel throw Status::Pending when a 1.4 plugin answers
    // OG_PENDING (its acknowledgement comes through the event sink).
    OrderReport cancel_request(const CancelRequest& request,
                               std::chrono::milliseconds timeout) override;
    // By client order id (broker_order_id empty) requires OG_CAP_QUERY_BY_CLIENT_ID.
    OrderReport get_order(const std::string& account_id, const std::string& broker_order_id,
                          const std::string& client_order_id) override;
    // open_only requires OG_CAP_REPORT_OPEN_ORDERS, otherwise OG_CAP_REPORT_RECENT_ORDERS.
    std::vector<OrderReport> list_orders(const std::string& account_id, bool open_only,
                                         int64_t since_ns) override;
    std::vector<Fill> list_fills(const std::string& account_id, int64_t since_ns) override;
    std::vector<Position> positions(const std::string& account_id) override;
    Account account(const std::string& account_id) override;
    Quote quote(const std::string& symbol, const std::string& exchange) override;
    void subscribe_prices(const std::vector<Instrument>& instruments) override;
    std::vector<OrderReport> cancel_all(const std::string& account_id,
                                        std::chrono::milliseconds timeout) override;
    // ABI 1.1; Unsupported for a 1.0 plugin.
    void ping(std::chrono::milliseconds timeout) override;
    // ABI 1.3, same capabilities as list_orders / list_fills. A plugin whose table lacks the
    // function (older than 1.3, or a NULL slot) is asked list_orders / list_fills instead and its
    // answer is the only page (next cursor empty, complete, `limit` not applied); a non-empty
    // cursor is then InvalidArgument. From a plugin that pages, Internal when it does not end
    // the page exactly once, gives more than `limit` items with a next cursor, or gives back the
    // cursor it was asked for (paging would never end).
    ReportPage<OrderReport> list_orders_page(const std::string& account_id, bool open_only,
                                             int64_t since_ns, const std::string& cursor,
                                             uint32_t limit) override;
    ReportPage<Fill> list_fills_page(const std::string& account_id, int64_t since_ns,
                                     const std::string& cursor, uint32_t limit) override;
    // ABI 1.5, native GTT: only for an instance declaring OG_CAP_NATIVE_GTT whose table has
    // the five slots (capabilities() drops the flag otherwise, so the host emulates). place /
    // modify / cancel run with the given deadline as order calls (past it: UnknownOutcome);
    // get / list as queries. Each answer must be about the GTT asked (gtt_id, account).
    GttReport place_gtt(const GttRequest& request, std::chrono::milliseconds timeout) override;
    GttReport modify_gtt(const GttRequest& request, std::chrono::milliseconds timeout) override;
    GttReport cancel_gtt(const GttRequest& request, std::chrono::milliseconds timeout) override;
    GttReport get_gtt(const std::string& account_id, const std::string& gtt_id,
                      const std::string& broker_gtt_id) override;
    std::vector<GttReport> list_gtts(const std::string& account_id, bool active_only) override;

    // What the instance's call pool holds now (stuck: calls past their deadline, still in the
    // plugin) and has counted; `running` includes inline calls in progress.
    CallPool::Stats call_stats() const;
    // SDK 1.7.1: the instance declared OG_CAP_INLINE_CALLS, so its calls run on the caller's
    // thread (the pool stays empty). Decided once, in create().
    bool inline_calls() const { return inline_calls_; }
    const BrokerCallLimits& call_limits() const { return limits_; }

    // How long past a call's deadline the caller still waits for the plugin's own answer.
    static constexpr std::chrono::milliseconds kDeadlineGrace{100};

    SinkCounters sink_counters() const;
    // Reads sink_counters() and stays callable after this object is destroyed: what a plugin
    // sends from its destroy() (after stop returned, so dropped and counted in after_stop) is
    // only visible by then. Used by the contract kit.
    std::function<SinkCounters()> sink_counters_reader() const;
    // Shorthand for sink_counters().invalid.
    uint64_t invalid_events() const;
    const PluginLibrary& library() const { return *library_; }

    // The plugin's create(); called once by PluginLibrary::create_broker().
    void create(const std::vector<std::pair<std::string, std::string>>& config);

    struct SinkState;

private:
    struct Target;
    enum class CallKind { Order, Query };
    // Runs body(target, time_left) on the call pool and waits until `timeout` (+ grace) passes;
    // see the top of the file for what each outcome becomes.
    template <typename R, typename Body>
    R bounded(const char* fn, CallKind kind, std::chrono::milliseconds timeout, Body body);
    // bounded() for an instance with inline calls: body(target, timeout) on this thread.
    template <typename R, typename Body>
    R inline_call(const char* fn, std::chrono::milliseconds timeout, Body& body);
    GttReport gtt_call(const char* fn, const GttRequest& request,
                       std::chrono::milliseconds timeout);
    void require(uint64_t capability, const char* capability_name, const char* function) const;

    std::shared_ptr<PluginLibrary> library_;  // keeps the .so loaded while this exists
    std::string name_;
    // Must outlive every plugin thread (until stop returns); shared with sink_counters_reader().
    std::shared_ptr<SinkState> sink_;
    void* instance_ = nullptr;
    // ABI 1.4: the instance's manifest (get_capabilities), when the plugin gives one.
    std::optional<uint64_t> instance_caps_;
    BrokerCallLimits limits_;
    std::unique_ptr<CallPool> pool_;
    // Calls of an instance with inline calls now in the plugin, on their callers' threads; once
    // `closed` (stop) no new one starts, and stop waits for `running` to reach zero.
    bool inline_calls_ = false;
    struct InlineCalls {
        mutable std::mutex mutex;
        std::condition_variable idle;
        size_t running = 0;
        bool closed = false;
    };
    InlineCalls inline_;
    std::mutex lifecycle_mutex_;
    bool started_ = false;
    bool stopped_ = false;
};

// A storage instance of a loaded plugin. Every function may be called from several threads at
// once. The destructor calls the plugin's destroy() and must not run while a call is in flight.
class PluginStorage final : public ports::StoragePort {
public:
    // Use PluginLibrary::create_storage().
    explicit PluginStorage(std::shared_ptr<PluginLibrary> library);
    ~PluginStorage() override;
    PluginStorage(const PluginStorage&) = delete;
    PluginStorage& operator=(const PluginStorage&) = delete;

    int64_t migrate() override;
    void ping() override;
    // Returns one status per op, each Ok or Conflict; anything else from the plugin is Internal.
    std::vector<Status> write_batch(const std::vector<WriteOp>& ops) override;
    std::optional<OrderRecord> get_order(const std::string& order_id) override;
    std::optional<OrderRecord> get_order_by_client_id(const std::string& account_id,
                                                      const std::string& cid) override;
    std::optional<OrderRecord> get_order_by_broker_id(const std::string& broker,
                                                      const std::string& broker_order_id) override;
    Page<OrderRecord> list_orders(const OrderQuery& query) override;
    std::vector<OrderEvent> list_events(const std::string& order_id, int64_t after_seq,
                                        uint32_t limit) override;
    Page<FillRecord> list_fills(const FillQuery& query) override;
    std::optional<GttRecord> get_gtt(const std::string& gtt_id) override;
    Page<GttRecord> list_gtts(const std::vector<std::string>& account_ids, bool active_only,
                              const std::string& cursor, uint32_t limit) override;
    Page<ReconRun> list_recon_runs(const std::string& broker, const std::string& cursor,
                                   uint32_t limit) override;
    // ABI 1.2; Unsupported for an older plugin (or a NULL slot).
    std::optional<IdempotencyRecord> idempotency_begin(const IdempotencyRecord& marker,
                                                       int64_t now_ns) override;
    bool idempotency_complete(const IdempotencyRecord& record, int64_t now_ns) override;
    void idempotency_release(const std::string& key, const std::string& fingerprint,
                             int64_t now_ns) override;
    uint64_t idempotency_purge(int64_t now_ns, uint32_t limit) override;
    std::optional<IdempotencyRecord> idempotency_get(const std::string& key,
                                                     int64_t now_ns) override;
    // ABI 1.3; Unsupported for an older plugin (or a NULL slot). Internal when the plugin answers
    // ok without saying 0 or 1 in `held`.
    bool lease_acquire(const std::string& name, const std::string& holder, int64_t now_ns,
                       int64_t ttl_ns) override;
    void lease_release(const std::string& name, const std::string& holder) override;
    // ABI 1.4 (sdk14); Unsupported for an older plugin (or a NULL slot).
    std::optional<OrderRecord> get_order_by_request_id(const std::string& account_id,
                                                       const std::string& request_id) override;
    // appended in ABI 1.4 (event log); Unsupported for an older plugin (or a NULL slot). Internal
    // when entries come back out of seq order, of another account, or over the limit.
    AccountEventPage list_account_events(const std::string& account_id, int64_t after_seq,
                                         uint32_t limit) override;
    uint64_t prune_account_events(int64_t before_ns, uint32_t limit) override;
    std::vector<AccountEvent> wait_account_events(std::chrono::milliseconds timeout) override;

    const PluginLibrary& library() const { return *library_; }

    // The plugin's create(); called once by PluginLibrary::create_storage().
    void create(const std::vector<std::pair<std::string, std::string>>& config);

private:
    std::shared_ptr<PluginLibrary> library_;
    void* instance_ = nullptr;
};

}  // namespace ordergate::plugin_loader
