// ordergate::reconcile::Reconciler — the gateway's view converges to each broker's.
//
// Per broker instance, at start-up (writes to that broker wait for it: OrderService::hold_writes),
// every `interval_seconds`, when the broker's event stream has been silent for
// `silent_stream_seconds` while it has open orders, and when an operator asks
// (POST /api/v1/reconciliation/run), one run:
//
//  1. fills: the broker's fills since the last run's watermark (minus `lookback_seconds`) that
//     storage lacks are stored and applied (OrderService::reconcile_fill: de-duplicated by broker
//     trade id, never above an order's quantity, a fill after a local CANCELLED applied and
//     flagged). Fills come first, so an order's state below never runs ahead of its fills.
//  2. orders: the broker's open orders and those updated since the watermark are matched (client
//     order id first, broker order id second) and their state applied; a pending request older
//     than `grace_period_seconds` is settled by what the venue says; an order storage lacks is
//     adopted as an external order.
//  3. live orders storage holds that the lists did not name are asked for one by one. A
//     PENDING_NEW order older than the grace period that the broker answers "no such order" for
//     in `not_found_answers` consecutive runs is settled by the not-found policy (REJECTED with
//     reason NOT_FOUND_AT_BROKER). A transport error is never evidence: it neither counts nor
//     resets.
//  4. positions: the broker's positions against the gateway's, per instrument; a difference is
//     drift (logged, counted in ordergate_reconcile_drift_total{broker,kind}, kept in the run).
//     While orders flow, fills are in flight between the venue and the gateway: the gateway's
//     positions are read before and after the venue's (the second time once the events pushed
//     meanwhile are applied), and a venue quantity within that span is counted as in flight
//     (found.positions_in_flight), not drift. Likewise a fill the venue lists that storage lacks
//     is looked for again once the pushed events are applied before it counts as missing.
//
// Only the reports the plugin declares (OG_CAP_REPORT_*) are read; an undeclared one is skipped
// and the run says so, never read as "no orders" or "flat". A page the broker marks incomplete
// is never read as absence either.
//
// Every run is stored (storage recon runs: RUNNING, then OK / DRIFT / FAILED / ABORTED) with its
// report: what it read, what it found and what it fixed. Runs are paced (`calls_per_second` of
// the reconciler's own broker calls), so orders never starve behind them. A start-up run may go
// faster (`startup_calls_per_second`): no order goes to its broker until it is done. A broker
// call the venue throttles (RATE_LIMITED: nothing done) is waited out, for as long as the venue
// asks or with a back-off when it does not say, and made again; only a call throttled
// `kMaxThrottled` times in a row is an error of the run.
//
// Several gateways sharing storage: a run first takes the storage lease "reconcile:<broker>"
// (ABI 1.3); while another gateway holds it the run is SKIPPED. A storage plugin without leases
// means one gateway per storage (SQLite): runs go ahead and the start-up log says so.
//
// Threads: one reconciler thread runs every run in turn; run_now() runs on the caller's thread
// (tests). stop() wakes the thread and joins it; a run in progress stops between two items (each
// fix is durable on its own) and is stored ABORTED.
#pragma once

#include <functional>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "orders/order_service.hpp"
#include "ports/ports.hpp"

namespace ordergate::metrics {
class Metrics;
}
namespace ordergate::positions {
class PositionBook;
}

namespace ordergate::reconcile {

struct Options {
    std::chrono::seconds interval{60};
    std::chrono::seconds grace_period{30};
    int not_found_answers = 3;
    bool reject_not_found = true;  // not_found_policy: reject (true) or keep
    std::chrono::seconds silent_stream{15};  // 0: off
    int calls_per_second = 20;
    int startup_calls_per_second = 0;  // 0: calls_per_second
    // A throttled call the venue gave no retry_after for waits this, doubled each time in a
    // row, up to kMaxThrottleWait.
    std::chrono::milliseconds throttle_backoff{1000};
    std::chrono::seconds lookback{300};
    uint32_t page_size = 500;
    std::chrono::seconds lease{30};
    std::string holder;  // this gateway's name in leases (host, pid, start time)
};

// What one run found and did, as stored and served (report_json holds the details).
struct RunResult {
    std::string id;
    std::string broker;
    std::string status;  // OK, DRIFT, FAILED, ABORTED, SKIPPED
    std::string report_json;
    int64_t started_at_ns = 0;
    int64_t finished_at_ns = 0;
    // A pending request younger than the grace period was left alone: a run from this time on
    // judges it (0: none). The schedule runs again then, not a full interval later.
    int64_t again_at_ns = 0;
};

class Reconciler {
public:
    // A broker call of a run is made at most this many times in a row while the venue throttles
    // it (RATE_LIMITED), each wait at most kMaxThrottleWait.
    static constexpr int kMaxThrottled = 8;
    static constexpr std::chrono::milliseconds kMaxThrottleWait{30000};

    Reconciler(ports::StoragePort& storage, std::map<std::string, ports::BrokerPort*> brokers,
               std::vector<orders::AccountRoute> accounts, orders::OrderService& orders,
               positions::PositionBook* positions, metrics::Metrics* metrics,
               std::shared_ptr<Clock> clock, Options options);
    ~Reconciler();
    Reconciler(const Reconciler&) = delete;
    Reconciler& operator=(const Reconciler&) = delete;

    // Holds writes to every broker and starts the thread: start-up runs first (each opens its
    // broker's writes when done, whatever it found), then the schedule.
    void start();
    // Stops the thread (a run in progress is stored ABORTED). Idempotent.
    void stop();

    // One run of `broker` on the caller's thread. `trigger`: startup, periodic, silent_stream,
    // operator. Throws std::invalid_argument for an unknown broker.
    RunResult run_now(const std::string& broker, const std::string& trigger,
                      const std::string& run_id = "");
    // Asks the thread for a run of `broker` (every broker when empty) as soon as it is free;
    // returns {broker, run id} of each run asked for (the id the stored run will have). Throws
    // std::invalid_argument for an unknown broker.
    // `trigger` names why in the stored run (operator, write_behind, reconnect).
    std::vector<std::pair<std::string, std::string>> request_run(
        const std::string& broker, const std::string& trigger = "operator");

    // Every broker's start-up run has finished (readiness).
    bool startup_done() const;
    // Brokers whose start-up run is still to finish.
    std::vector<std::string> startup_pending() const;
    bool has_broker(const std::string& broker) const { return brokers_.count(broker) > 0; }
    // Stored runs, newest first (every broker when `broker` is empty).
    Result<Page<ReconRun>> runs(const std::string& broker, const std::string& cursor,
                                uint32_t limit);

private:
    struct Run;
    struct BrokerState {
        std::chrono::steady_clock::time_point next_periodic{};
        std::chrono::steady_clock::time_point last_run{};
        bool startup_done = false;
        std::string requested_id;  // a run asked for (operator, ...), waiting for the thread
        std::string requested_trigger;
        // PENDING_NEW orders the broker answered "no such order" for: consecutive runs, by
        // (account, order id) — each account's pass drops only its own settled entries.
        std::map<std::pair<std::string, std::string>, int> not_found;
        // Reconciliation's own call budget (a token bucket, refilled at calls_per_second).
        double tokens = 0;
        std::chrono::steady_clock::time_point refilled{};
    };

    void loop();
    void execute(Run& run);
    void reconcile_account(Run& run, const std::string& account);
    void reconcile_fills(Run& run, const std::string& account);
    void reconcile_orders(Run& run, const std::string& account);
    void reconcile_stored_live(Run& run, const std::string& account);
    // The orders storage holds live for the run's broker and the account, page by page.
    void for_each_stored_live(const Run& run, const std::string& account,
                              const std::function<void(OrderRecord&)>& f);
    void reconcile_positions(Run& run, const std::string& account);
    // Lets the fills the venue has made so far reach the gateway: a short pause for the plugin's
    // own delivery, then OrderService::sync_events for what the broker pushed.
    void settle_in_flight(Run& run, std::chrono::milliseconds pause);
    static constexpr std::chrono::milliseconds kInFlightPause{100};
    // The second look, for what the first one did not find.
    static constexpr std::chrono::milliseconds kInFlightRecheckPause{1000};
    static constexpr std::chrono::seconds kInFlightSyncLimit{10};
    // What reconcile_order did with one broker report, into the run's report.
    void note_order_result(Run& run, const std::string& account, const OrderReport& rep,
                           const orders::OrderService::ReconcileResult& r);
    void reconcile_account_figures(Run& run, const std::string& account);
    // Waits for a token of the broker's call budget, refilled at `rate` a second; false when
    // stopping.
    bool pace(const std::string& broker, int rate);
    // The same for a run, which also keeps its lease (hold_lease); false (the run marked
    // aborted) when stopping or when the lease was lost.
    bool pace(Run& run);
    // The run's pace: startup_calls_per_second for a start-up run, else calls_per_second.
    int calls_per_second(const Run& run) const;
    // One broker call of a run (`call` makes it and keeps what it answers), paced. A
    // RATE_LIMITED answer is waited out (wait_throttled) and the call made again, at most
    // kMaxThrottled times in a row; any other error, or the last throttle, goes to the caller.
    // False when the run stops instead (stopping, lease lost, plugin stuck: see pace).
    template <typename Call>
    bool broker_call(Run& run, Call&& call);
    // Waits out the `attempt`-th throttle in a row of a run's call: the venue's retry_after
    // (at most kMaxThrottleWait), else throttle_backoff doubled per attempt, keeping the lease
    // meanwhile. Counted in the run's report. False when the run stops instead.
    bool wait_throttled(Run& run, std::chrono::milliseconds retry_after, int attempt);
    // Before each thing a run does under its lease (a broker call, a write): true while the
    // lease is surely this gateway's, renewed once two thirds of its time to live are left.
    // False (the run marked aborted, an error noted) once it may have lapsed: from its expiry
    // on another gateway may hold it, so the run stops before it acts again.
    bool hold_lease(Run& run);
    bool stopping() const { return stop_.load(); }
    int64_t watermark(const std::string& broker);
    // When the schedule runs `r`'s broker again: the interval, or sooner for young pending orders.
    std::chrono::steady_clock::time_point next_after(const RunResult& r) const;
    // Takes or renews the broker's lease until now_ns + the lease's time to live; nullopt when
    // the storage plugin keeps no leases.
    std::optional<bool> take_lease(const std::string& broker, int64_t now_ns);
    void store_run(const Run& run, const std::string& status);
    int64_t lease_ttl_ns() const {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(options_.lease).count();
    }

    ports::StoragePort& storage_;
    std::map<std::string, ports::BrokerPort*> brokers_;
    std::vector<orders::AccountRoute> accounts_;
    orders::OrderService& orders_;
    positions::PositionBook* positions_;
    metrics::Metrics* metrics_;
    std::shared_ptr<Clock> clock_;
    Options options_;

    mutable std::mutex mutex_;  // states_, wake-ups
    std::condition_variable wake_;
    std::map<std::string, BrokerState> states_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> leases_supported_{true};
    std::thread thread_;
    std::mutex run_mutex_;  // one run at a time (the thread, run_now)
};

}  // namespace ordergate::reconcile
