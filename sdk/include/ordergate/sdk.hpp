// ordergate/sdk.hpp — the header-only C++ layer for plugin authors.
//
// Write an ordinary class deriving from ordergate::sdk::BrokerPlugin (or StoragePlugin), then
// export it once:
//
//     class MyBroker : public ordergate::sdk::BrokerPlugin {
//     public:
//         explicit MyBroker(const ordergate::sdk::PluginContext& ctx);
//         ordergate::OrderReport place_order(const ordergate::OrderRequest& r,
//                                            std::chrono::milliseconds timeout) override;
//         …
//     };
//     ORDERGATE_BROKER_PLUGIN(MyBroker, "my-broker", "1.0.0",
//                             OG_CAP_ORDER_MARKET | OG_CAP_ORDER_LIMIT | OG_CAP_TIF_DAY)
//
// The layer does the C marshalling of plugin_abi.h, and turns exceptions into status codes:
// throw ordergate::sdk::Error(Status::Rejected, "insufficient funds") for a classified failure;
// any other exception becomes OG_INTERNAL with its what() as the message. Nothing of C++ crosses
// the boundary, so a plugin may be built with another compiler or standard library than the host.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ordergate/decimal.hpp"
#include "ordergate/plugin_abi.h"
#include "ordergate/sdk_version.h"
#include "ordergate/types.hpp"

namespace ordergate::sdk {

// A classified failure. The status crosses the boundary; the message is copied into the caller's
// buffer (truncated to fit). Never put secrets in it.
class Error : public std::runtime_error {
public:
    Error(Status status, const std::string& message) : std::runtime_error(message), status_(status) {}
    // ABI 1.4: a RateLimited / Unavailable answer with how long the venue asks to wait.
    Error(Status status, const std::string& message, std::chrono::milliseconds retry_after)
        : std::runtime_error(message), status_(status), retry_after_(retry_after) {}
    Status status() const { return status_; }
    // 0 when the venue did not say.
    std::chrono::milliseconds retry_after() const { return retry_after_; }

private:
    Status status_;
    std::chrono::milliseconds retry_after_{0};
};

// The plugin's configuration: the YAML block of its instance, flattened ("a.b.c" -> "value").
class Config {
public:
    Config() = default;
    explicit Config(std::vector<std::pair<std::string, std::string>> entries);
    bool has(std::string_view key) const;
    // Throws Error(InvalidArgument, "missing config key 'x'") when absent.
    const std::string& get(std::string_view key) const;
    std::string get_or(std::string_view key, std::string_view fallback) const;
    // Typed getters throw Error(InvalidArgument, …) naming the key when the value does not parse.
    int64_t get_int(std::string_view key, int64_t fallback) const;
    bool get_bool(std::string_view key, bool fallback) const;
    Decimal get_decimal(std::string_view key, Decimal fallback) const;
    const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }

private:
    std::vector<std::pair<std::string, std::string>> entries_;
};

enum class LogLevel : int32_t {
    Debug = OG_LOG_DEBUG,
    Info = OG_LOG_INFO,
    Warn = OG_LOG_WARN,
    Error = OG_LOG_ERROR
};

// The host's services: a logger and a clock. Thread-safe.
class Host {
public:
    explicit Host(const og_host_services* services = nullptr) : services_(services) {}
    void log(LogLevel level, std::string_view message) const;
    int64_t now_ns() const;  // wall clock, Unix epoch ns (the host may inject a test clock)

private:
    const og_host_services* services_;
};

// Where a broker pushes order updates, fills and quotes. Callable from any thread, concurrently,
// from start() until stop() returns.
class EventSink {
public:
    explicit EventSink(const og_event_sink* sink = nullptr) : sink_(sink) {}
    void order_update(const OrderReport& report) const;
    void fill(const Fill& fill) const;
    void quote(const Quote& quote) const;
    void connection(bool connected, std::string_view detail) const;
    // ABI 1.5 (native GTT): a GTT's status changed at the venue. Does nothing when the host's
    // sink has no on_gtt_update (a 1.4 host never calls the GTT functions anyway). For a
    // trigger, call it before reporting the order the venue placed.
    void gtt_update(const GttReport& report) const;
    // ABI 1.6 (an instance declaring OG_CAP_BATCHED_EVENTS): waits until every order update and
    // fill pushed before the call is stored by the host, or `timeout` passes. Ok: stored;
    // Timeout: not yet; Unavailable: the host is stopping. Answers Ok at once when the host's
    // sink has no sync (a host before 1.6 stores each event before its call returns).
    Status sync(std::chrono::milliseconds timeout) const;

private:
    const og_event_sink* sink_;
};

// What a plugin's constructor receives.
struct PluginContext {
    Config config;
    Host host;
    EventSink sink;  // brokers only
};

// A broker adapter. The host calls these from several threads at once; the class must be
// thread-safe. Every function may throw Error with a status; anything else is OG_INTERNAL.
// Functions for capabilities the plugin does not declare keep their default (Unsupported).
class BrokerPlugin {
public:
    virtual ~BrokerPlugin() = default;

    // Starts background work; events may flow afterwards.
    virtual void start() {}
    // Stops and joins every thread of the plugin; no sink call may happen after it returns.
    virtual void stop() {}

    // Returns the order as the venue acknowledged it (broker_order_id set). A refusal by the
    // venue throws Error(Rejected, reason). A lost answer after sending throws
    // Error(UnknownOutcome, …); a deadline passed before sending throws Error(Timeout, …).
    // ABI 1.4, asynchronous venues (FIX): when the request is sent and the venue acknowledges
    // it later, throw Error(Status::Pending, "sent") and deliver the acknowledgement or the
    // reject through EventSink::order_update (naming the client order id, and for a
    // modify/cancel its request_id). The same holds for modify_order and cancel_request.
    virtual OrderReport place_order(const OrderRequest& request,
                                    std::chrono::milliseconds timeout) = 0;
    virtual OrderReport modify_order(const ModifyRequest& request,
                                     std::chrono::milliseconds timeout);
    virtual OrderReport cancel_order(const std::string& account_id,
                                     const std::string& broker_order_id,
                                     const std::string& client_order_id,
                                     std::chrono::milliseconds timeout) = 0;
    // ABI 1.4: a cancel with its request chain (request.request_id: this cancel's own client
    // request id, FIX ClOrdID; orig_request_id: the last accepted id, FIX OrigClOrdID). The
    // default calls cancel_order above, so a plugin written before 1.4 keeps working.
    virtual OrderReport cancel_request(const CancelRequest& request,
                                       std::chrono::milliseconds timeout);
    // By broker id, or by client order id when broker_order_id is empty. Throws Error(NotFound).
    virtual OrderReport get_order(const std::string& account_id, const std::string& broker_order_id,
                                  const std::string& client_order_id) = 0;
    virtual std::vector<OrderReport> list_orders(const std::string& account_id, bool open_only,
                                                 int64_t since_ns);
    virtual std::vector<Fill> list_fills(const std::string& account_id, int64_t since_ns);
    virtual std::vector<Position> positions(const std::string& account_id);
    virtual Account account(const std::string& account_id);
    virtual Quote quote(const std::string& symbol, const std::string& exchange);
    virtual void subscribe_prices(const std::vector<Instrument>& instruments);
    virtual std::vector<OrderReport> cancel_all(const std::string& account_id,
                                                std::chrono::milliseconds timeout);
    // ABI 1.1: a cheap check that the venue connection answers within `timeout`. Returns when it
    // does; throws Error(Unavailable) / Error(Timeout) when it does not. The default throws
    // Error(Unsupported): the host then relies on EventSink::connection reports.
    virtual void ping(std::chrono::milliseconds timeout);

    // ---- ABI 1.3: paginated reports (see og_broker_vtable's list_orders_page for the contract)
    // Same filters as list_orders / list_fills. At most `limit` items (0: the plugin's own page
    // size), oldest first in the venue's own order, and the cursor of the next page (empty: no
    // more). `cursor` is "" for the first page, else a next_cursor this instance returned; one it
    // cannot read throws Error(InvalidArgument). Set `complete` to false when the venue could
    // not give everything asked for (e.g. its history is truncated).
    // The defaults answer everything in one page through list_orders / list_fills (ignoring
    // `limit`; a non-empty cursor is InvalidArgument), so a plugin written before 1.3 keeps
    // working unchanged; a venue with large histories should override them.
    virtual ReportPage<OrderReport> list_orders_page(const std::string& account_id, bool open_only,
                                                     int64_t since_ns, const std::string& cursor,
                                                     uint32_t limit);
    virtual ReportPage<Fill> list_fills_page(const std::string& account_id, int64_t since_ns,
                                             const std::string& cursor, uint32_t limit);

    // ---- ABI 1.4: capabilities per instance. The manifest of this instance, decided from its
    // settings in the constructor; nullopt (the default): the export macro's capabilities.
    virtual std::optional<uint64_t> instance_capabilities() const { return std::nullopt; }

    // ---- ABI 1.5: native GTT (OG_CAP_NATIVE_GTT; see og_broker_vtable's place_gtt) ----------
    // Called only for an instance declaring the capability. The defaults throw
    // Error(Unsupported). Statuses as for orders: Rejected (final, with the reason), Timeout
    // (nothing sent), UnknownOutcome (sent, answer lost: the host asks get_gtt / list_gtts).
    // A place whose request.gtt_id the venue already holds answers that GTT (no second one).
    virtual GttReport place_gtt(const GttRequest& request, std::chrono::milliseconds timeout);
    // Replaces an ACTIVE GTT's legs and expiry; Rejected when it is no longer ACTIVE.
    virtual GttReport modify_gtt(const GttRequest& request, std::chrono::milliseconds timeout);
    // Cancels an ACTIVE GTT; answers an already cancelled one as it is.
    virtual GttReport cancel_gtt(const GttRequest& request, std::chrono::milliseconds timeout);
    // By the venue's id, or by the host's id when broker_gtt_id is empty. Error(NotFound).
    virtual GttReport get_gtt(const std::string& account_id, const std::string& gtt_id,
                              const std::string& broker_gtt_id);
    // The account's GTTs ("" = every account), ACTIVE ones only when active_only.
    virtual std::vector<GttReport> list_gtts(const std::string& account_id, bool active_only);
};

// A storage adapter. Thread-safe. Every function may throw Error: Unavailable when the store does
// not answer, Internal for anything unexpected.
class StoragePlugin {
public:
    virtual ~StoragePlugin() = default;

    // Applies pending migrations; returns the schema version reached.
    virtual int64_t migrate() = 0;
    // Throws Error(Unavailable) when the store does not answer.
    virtual void ping() = 0;
    // One transaction. Returns one status per op: Ok or Conflict (see og_write_op).
    virtual std::vector<Status> write_batch(const std::vector<WriteOp>& ops) = 0;

    virtual std::optional<OrderRecord> get_order(const std::string& order_id) = 0;
    virtual std::optional<OrderRecord> get_order_by_client_id(const std::string& account_id,
                                                              const std::string& cid) = 0;
    virtual std::optional<OrderRecord> get_order_by_broker_id(const std::string& broker,
                                                              const std::string& broker_order_id) = 0;
    virtual Page<OrderRecord> list_orders(const OrderQuery& query) = 0;
    virtual std::vector<OrderEvent> list_events(const std::string& order_id, int64_t after_seq,
                                                uint32_t limit) = 0;
    virtual Page<FillRecord> list_fills(const FillQuery& query) = 0;
    virtual std::optional<GttRecord> get_gtt(const std::string& gtt_id) = 0;
    virtual Page<GttRecord> list_gtts(const std::vector<std::string>& account_ids, bool active_only,
                                      const std::string& cursor, uint32_t limit) = 0;
    virtual Page<ReconRun> list_recon_runs(const std::string& broker, const std::string& cursor,
                                           uint32_t limit) = 0;

    // ---- ABI 1.2: idempotency records (see og_storage_vtable for the exact rules) -----------
    // The defaults throw Error(Unsupported): the host then keeps keys in its own memory (and
    // says so loudly), so a plugin written before 1.2 keeps working unchanged.
    //
    // Claims `marker.key` (marker.completed is false). Returns nullopt when claimed; otherwise
    // the live record that holds the key (nothing written). An expired record counts as absent.
    virtual std::optional<IdempotencyRecord> idempotency_begin(const IdempotencyRecord& marker,
                                                               int64_t now_ns);
    // Stores `record` (completed) when the key is absent, expired, or in flight with the same
    // fingerprint; returns false (nothing written) otherwise.
    virtual bool idempotency_complete(const IdempotencyRecord& record, int64_t now_ns);
    // Deletes the key's record when expired, or in flight with `fingerprint`; otherwise nothing.
    virtual void idempotency_release(const std::string& key, const std::string& fingerprint,
                                     int64_t now_ns);
    // Deletes at most `limit` (0: any number) expired records; returns how many.
    virtual uint64_t idempotency_purge(int64_t now_ns, uint32_t limit);

    // ---- ABI 1.3: named leases (see og_storage_vtable's lease_acquire for the exact rules) -----
    // So that one of several hosts sharing the store does a job alone. Each call is atomic, safe
    // from several hosts at once. The defaults throw Error(Unsupported): the host then assumes it
    // is the only instance (and says so).
    //
    // Takes or renews lease `name` for `holder` until now_ns + ttl_ns when it is absent, expired
    // (expires_at_ns <= now_ns) or already `holder`'s; returns whether `holder` holds it now.
    virtual bool lease_acquire(const std::string& name, const std::string& holder, int64_t now_ns,
                               int64_t ttl_ns);
    // Deletes lease `name` when `holder` holds it; otherwise does nothing.
    virtual void lease_release(const std::string& name, const std::string& holder);

    // ---- appended in ABI 1.4 (sdk14): request chains ----------------------------------------
    // The order one of whose events has `request_id` as its request id, within `account_id`
    // ("" = any account); nullopt when none. The default throws Error(Unsupported): the host
    // then finds a chain's ids only while it runs (not after a restart).
    virtual std::optional<OrderRecord> get_order_by_request_id(const std::string& account_id,
                                                               const std::string& request_id);
    // ---- appended in ABI 1.4 (event log; see og_storage_vtable's list_account_events) -------
    // write_batch takes WriteKind::AppendEvent ops (a plugin with the event log assigns seq at
    // commit from a counter row per account). The defaults throw Error(Unsupported): the host
    // then has no event log and says so.
    //
    // Entries of `account_id` after `after_seq`, at most `limit`, with the account's oldest
    // retained and last assigned seq.
    virtual AccountEventPage list_account_events(const std::string& account_id, int64_t after_seq,
                                                 uint32_t limit);
    // Deletes at most `limit` (0: any) entries with at_ns < before_ns; returns how many.
    virtual uint64_t prune_account_events(int64_t before_ns, uint32_t limit);
    // Waits up to `timeout` for commits of entries by any host sharing the store; returns a
    // notice (account_id, seq) per commit learnt of, empty on a timeout. The default throws
    // Unsupported: one host writes the store, and its own commits are all there is.
    virtual std::vector<AccountEvent> wait_account_events(std::chrono::milliseconds timeout);

    // ---- appended in ABI 1.7: idempotency records in write batches --------------------------
    // The record holding `key` that has not expired at now_ns, without writing; nullopt when
    // none. A plugin that overrides it must take WriteKind::ClaimIdempotency (as
    // idempotency_begin, Conflict instead of the holder) and WriteKind::CompleteIdempotency (as
    // idempotency_complete, Conflict instead of false) in write_batch, each with op.idempotency
    // and op.now_ns. The default throws Error(Unsupported): the host then claims and completes
    // keys with the 1.2 calls, one transaction each.
    virtual std::optional<IdempotencyRecord> idempotency_get(const std::string& key,
                                                             int64_t now_ns);
};

}  // namespace ordergate::sdk

// ORDERGATE_BROKER_PLUGIN(Class, name, version, capabilities) and
// ORDERGATE_STORAGE_PLUGIN(Class, name, version) export the plugin's entry; Class must be
// constructible from `const ordergate::sdk::PluginContext&`. Defined below by the glue.
#include "ordergate/detail/sdk_glue.hpp"
