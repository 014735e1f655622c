// ordergate::paper::PaperBroker — the broker-paper plugin: sdk::BrokerPlugin over a PaperVenue.
//
// The class only adapts: every call goes to the venue (paper_venue.hpp, where the behaviour is
// specified) and a VenueError becomes an sdk::Error with the same status and message.
//
// Threads. The plugin owns one worker thread, started by start() and joined by stop(). It runs
// the random walk (venue.step() every `tick_ms`, when tick_ms > 0; without it, with
// history_seconds set, venue.forget_history() every second, so ended orders and fills leave
// memory on time when no order comes to do it) and is the ONLY thread that
// calls the host's event sink: it drains the venue's event queue and pushes order updates, fills,
// quotes and connection changes in the order the venue produced them. No venue lock is held while
// the sink runs. After stop() returns (it first delivers what was already queued) the sink is
// never called again. Calls from the host may come from any thread, concurrently, before, during
// and after start()/stop().
//
// fault.hang_ms: every call from the host first waits hang_ms (ignoring its deadline) or until
// stop(), which ends every hang; until the next start() a call that would hang fails Unavailable.
//
// A failure inside the worker (a failed journal write, an arithmetic overflow of the walk) is
// logged through the host at error level and stops the background steps (or forgetting); the venue then answers
// calls with Status::Internal (journal) or keeps answering (anything else), never silently.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ordergate/sdk.hpp"
#include "paper_config.hpp"
#include "paper_venue.hpp"

namespace ordergate::paper {

// The capability manifest exported with the plugin.
inline constexpr uint64_t kPaperCapabilities =
    OG_CAP_ORDER_MARKET | OG_CAP_ORDER_LIMIT | OG_CAP_ORDER_STOP | OG_CAP_ORDER_STOP_LIMIT |
    OG_CAP_TIF_DAY | OG_CAP_TIF_GTC | OG_CAP_TIF_IOC | OG_CAP_TIF_FOK | OG_CAP_MODIFY |
    OG_CAP_MODIFY_QUANTITY | OG_CAP_MODIFY_PRICE | OG_CAP_MODIFY_TRIGGER |
    OG_CAP_MODIFY_ORDER_TYPE | OG_CAP_MODIFY_TIF | OG_CAP_CANCEL_ALL | OG_CAP_QUERY_BY_CLIENT_ID |
    OG_CAP_REPORT_OPEN_ORDERS | OG_CAP_REPORT_RECENT_ORDERS | OG_CAP_REPORT_FILLS |
    OG_CAP_REPORT_POSITIONS | OG_CAP_REPORT_ACCOUNT | OG_CAP_QUOTES | OG_CAP_PRICE_SUBSCRIPTION |
    OG_CAP_PARTIAL_FILLS | OG_CAP_PUSH_EVENTS |
    // The venue journals what it pushes and answers reconciliation from it: the host may apply
    // the pushed events in batches after the sink call returned (ABI 1.6).
    OG_CAP_BATCHED_EVENTS;

class PaperBroker : public sdk::BrokerPlugin {
  public:
    // Parses the settings and builds the venue (replaying its journal). Throws
    // sdk::Error(InvalidArgument) for a bad setting, sdk::Error(Internal) for a bad journal.
    explicit PaperBroker(const sdk::PluginContext& ctx);
    // Stops the worker if the host did not (it must have, per the ABI).
    ~PaperBroker() override;

    void start() override;
    // Joins the worker, then writes a journal snapshot. Idempotent.
    void stop() override;

    OrderReport place_order(const OrderRequest& request,
                            std::chrono::milliseconds timeout) override;
    OrderReport modify_order(const ModifyRequest& request,
                             std::chrono::milliseconds timeout) override;
    OrderReport cancel_order(const std::string& account_id, const std::string& broker_order_id,
                             const std::string& client_order_id,
                             std::chrono::milliseconds timeout) override;
    // ABI 1.4: the cancel with its request id (named in the report, or in the cancel reject).
    OrderReport cancel_request(const CancelRequest& request,
                               std::chrono::milliseconds timeout) override;
    OrderReport get_order(const std::string& account_id, const std::string& broker_order_id,
                          const std::string& client_order_id) override;
    std::vector<OrderReport> list_orders(const std::string& account_id, bool open_only,
                                         int64_t since_ns) override;
    std::vector<Fill> list_fills(const std::string& account_id, int64_t since_ns) override;
    std::vector<Position> positions(const std::string& account_id) override;
    Account account(const std::string& account_id) override;
    Quote quote(const std::string& symbol, const std::string& exchange) override;
    void subscribe_prices(const std::vector<Instrument>& instruments) override;
    std::vector<OrderReport> cancel_all(const std::string& account_id,
                                        std::chrono::milliseconds timeout) override;
    void ping(std::chrono::milliseconds timeout) override;
    // ABI 1.3: native pages over the venue's order and trade numbering (PaperVenue).
    ReportPage<OrderReport> list_orders_page(const std::string& account_id, bool open_only,
                                             int64_t since_ns, const std::string& cursor,
                                             uint32_t limit) override;
    ReportPage<Fill> list_fills_page(const std::string& account_id, int64_t since_ns,
                                     const std::string& cursor, uint32_t limit) override;

    // ABI 1.4: the manifest without native modify when the settings say `modify: false`; with
    // native GTT (ABI 1.5) when they say `native_gtt: true`.
    std::optional<uint64_t> instance_capabilities() const override;

    // ABI 1.5 native GTT (PaperVenue's GTT functions); Unsupported unless `native_gtt: true`.
    GttReport place_gtt(const GttRequest& request, std::chrono::milliseconds timeout) override;
    GttReport modify_gtt(const GttRequest& request, std::chrono::milliseconds timeout) override;
    GttReport cancel_gtt(const GttRequest& request, std::chrono::milliseconds timeout) override;
    GttReport get_gtt(const std::string& account_id, const std::string& gtt_id,
                      const std::string& broker_gtt_id) override;
    std::vector<GttReport> list_gtts(const std::string& account_id, bool active_only) override;

    // The engine, for tests that construct the plugin class directly.
    PaperVenue& venue() { return *venue_; }

  private:
    void run();
    // Without async_ack: takes what the venue queued and pushes it to the host, under
    // deliver_mu_ so that events reach the host in the venue's order whichever thread delivers.
    // Once stop() began only the worker (`worker`) delivers.
    void pump(bool worker = false);
    // An order call's venue work, then (also when it throws) pump() in the caller's thread:
    // the call's own acknowledgement and fills reach the host without a hand-off to the worker.
    template <typename F>
    auto delivering(F&& f) -> decltype(f());
    void deliver(VenueEvents& events);
    void deliver_now(VenueEvents& events);
    // async_ack: the worker sends each event once it is due (in due order; ties in insertion
    // order). Called from any thread; delivered only by the worker.
    void delay(VenueEvent event, std::chrono::steady_clock::time_point due);
    void deliver_due(bool everything);
    // async_ack: the answer `report` (or the venue's refusal) becomes an event, and the call
    // answers Status::Pending.
    [[noreturn]] void answer_later(const std::function<OrderReport()>& call,
                                   const OrderRequest* placed, const std::string& request_id);
    // The fault.hang_ms wait at the start of every call; throws Unavailable when stop() ended it.
    void hang();

    sdk::Host host_;
    sdk::EventSink sink_;
    std::chrono::milliseconds tick_;
    std::chrono::seconds history_{0};  // history_seconds
    bool silent_stream_ = false;  // fault.silent_stream
    bool async_ack_ = false;      // async_ack
    std::chrono::milliseconds ack_delay_{0};
    bool refuse_cancel_ = false;  // fault.refuse_cancel
    std::chrono::milliseconds rate_limited_{0};  // fault.rate_limited_retry_after_ms
    bool modify_ = true;                          // modify
    bool native_gtt_ = false;                     // native_gtt
    // No send_delay_ms, latency_ms or fault.hang_ms: every call returns promptly, and the
    // instance declares OG_CAP_INLINE_CALLS.
    bool inline_calls_ = false;
    void require_native_gtt() const;
    // fault.rate_limited_retry_after_ms: throws RateLimited with the wait.
    void rate_limit() const;
    // Waits (up to `timeout`) while the venue holds kMaxQueuedEvents events the host has not
    // taken; Unavailable (nothing done) past it.
    void admit(std::chrono::milliseconds timeout) const;
    static constexpr size_t kMaxQueuedEvents = 65536;
    std::mutex delayed_mu_;
    std::multimap<std::chrono::steady_clock::time_point, VenueEvent> delayed_;
    // async_ack: calls between their venue call and the scheduling of their answer. While any
    // is, the worker holds the venue's events it took (held_, worker only): an event the call
    // caused must not overtake the call's own answer.
    std::atomic<int> answering_{0};
    VenueEvents held_;
    std::unique_ptr<PaperVenue> venue_;

    std::mutex deliver_mu_;    // pump(): one deliverer at a time, in queue order
    std::mutex lifecycle_mu_;  // start/stop
    std::thread worker_;
    std::atomic<bool> stopping_{false};

    std::chrono::milliseconds hang_{0};  // fault.hang_ms
    std::mutex hang_mu_;
    std::condition_variable hang_cv_;
    bool hang_ended_ = false;  // by stop(), until start()
};

}  // namespace ordergate::paper
