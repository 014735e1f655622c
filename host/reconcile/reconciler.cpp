#include "reconcile/reconciler.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_set>

#include "common/ids.hpp"
#include "common/thread_name.hpp"
#include "common/time.hpp"
#include "json/json.hpp"
#include "metrics/metrics.hpp"
#include "orders/storage_error.hpp"
#include "positions/position_book.hpp"

namespace ordergate::reconcile {

namespace {

using SteadyClock = std::chrono::steady_clock;

// At most this many drift items and changes are kept in one run's report (the counts are exact).
constexpr size_t kMaxListed = 200;

std::string key2(const std::string& a, const std::string& b) { return a + '\0' + b; }

bool declared(const ports::BrokerPort& b, uint64_t cap) { return b.has(cap); }

}  // namespace

// One run in progress: what it read, found and fixed, written into its report.
struct Reconciler::Run {
    std::string id;
    std::string broker;
    std::string trigger;
    ports::BrokerPort* port = nullptr;
    int64_t started_ns = 0;
    // While the storage lease was held: from its taking to the run's final record, or to its
    // expiry when it lapsed during the run (0: not held).
    int64_t lease_from_ns = 0;
    int64_t lease_until_ns = 0;
    // When the lease lapses unless renewed: the time the last taking or renewal asked from,
    // plus its time to live (the expiry the store holds).
    int64_t lease_expires_ns = 0;
    bool lease_lost = false;
    int64_t since_ns = 0;          // orders and fills are read from here on
    int64_t settle_before_ns = 0;  // a request pending since before this is judged
    SteadyClock::time_point t0;
    std::string lease;  // held, unsupported

    std::vector<std::string> accounts;
    std::vector<std::string> used, skipped;  // reports read / not declared (with why)
    std::map<std::string, uint64_t> found;   // broker_orders, broker_fills, stored_live, ...
    std::map<std::string, uint64_t> fixed;   // missing_fills, transitions, adopted, ...
    std::map<std::string, uint64_t> drift_counts;
    std::vector<std::string> drift;    // JSON objects
    std::vector<std::string> changes;  // JSON objects
    std::vector<std::string> errors;   // JSON objects
    bool failed = false;
    bool aborted = false;
    bool broker_stuck = false;  // the plugin holds calls past their deadline: stop calling
    // Ids of the orders storage held live when the account's passes began (per account), and
    // those of them the broker's lists named in this run: only a live order is looked up after
    // the lists, so a run remembers no more than the open orders, however many it reads.
    std::set<std::string> live_cids, live_boids;
    std::set<std::string> seen_cids, seen_boids;
    bool open_list_complete = false;
    int64_t again_at_ns = 0;  // see RunResult::again_at_ns

    // One difference found: counted, and listed as {"kind", "account_id", fields…} (an empty
    // value is written as null).
    void note_drift(metrics::Metrics* m, const std::string& kind, const std::string& account,
                    const std::vector<std::pair<const char*, std::string>>& fields) {
        ++drift_counts[kind];
        if (m) m->reconcile_drift(broker, kind);
        if (drift.size() >= kMaxListed) return;
        std::string s;
        json::Writer w(&s);
        w.begin_object().field("kind", kind).field("account_id", account);
        for (const auto& [k, v] : fields) w.field_or_null(k, v);
        w.end_object();
        drift.push_back(std::move(s));
    }
    void note_change(const std::string& order_id, const std::string& what) {
        if (changes.size() >= kMaxListed) return;
        std::string s;
        json::Writer(&s)
            .begin_object()
            .field("order_id", order_id)
            .field("what", what)
            .end_object();
        changes.push_back(std::move(s));
    }
    void note_error(const std::string& call, const std::string& account, const std::string& what) {
        failed = true;
        if (errors.size() >= kMaxListed) return;
        std::string s;
        json::Writer(&s)
            .begin_object()
            .field("call", call)
            .field_or_null("account_id", account)
            .field("error", what)
            .end_object();
        errors.push_back(std::move(s));
    }
    bool any_difference() const {
        for (const auto& [k, v] : fixed)
            if (v) return true;
        return !drift_counts.empty();
    }
};

Reconciler::Reconciler(ports::StoragePort& storage,
                       std::map<std::string, ports::BrokerPort*> brokers,
                       std::vector<orders::AccountRoute> accounts, orders::OrderService& orders,
                       positions::PositionBook* positions, metrics::Metrics* metrics,
                       std::shared_ptr<Clock> clock, Options options)
    : storage_(storage),
      brokers_(std::move(brokers)),
      accounts_(std::move(accounts)),
      orders_(orders),
      positions_(positions),
      metrics_(metrics),
      clock_(std::move(clock)),
      options_(std::move(options)) {
    if (options_.calls_per_second < 1) options_.calls_per_second = 1;
    if (options_.startup_calls_per_second < 1)
        options_.startup_calls_per_second = options_.calls_per_second;
    if (options_.throttle_backoff.count() < 1)
        options_.throttle_backoff = std::chrono::milliseconds(1);
    if (options_.page_size < 1) options_.page_size = 1;
    for (const auto& [name, b] : brokers_) states_[name];
}

Reconciler::~Reconciler() { stop(); }

void Reconciler::start() {
    for (const auto& [name, b] : brokers_) orders_.hold_writes(name);
    stop_.store(false);
    thread_ = std::thread([this] {
        name_this_thread("og-reconcile");
        loop();
    });
}

void Reconciler::stop() {
    {
        std::lock_guard lock(mutex_);
        stop_.store(true);
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

bool Reconciler::startup_done() const {
    std::lock_guard lock(mutex_);
    for (const auto& [name, s] : states_)
        if (!s.startup_done) return false;
    return true;
}

std::vector<std::string> Reconciler::startup_pending() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& [name, s] : states_)
        if (!s.startup_done) out.push_back(name);
    return out;
}

std::vector<std::pair<std::string, std::string>> Reconciler::request_run(
    const std::string& broker, const std::string& trigger) {
    if (!broker.empty() && !brokers_.count(broker))
        throw std::invalid_argument("unknown broker '" + broker + "'");
    std::vector<std::pair<std::string, std::string>> out;
    {
        std::lock_guard lock(mutex_);
        for (auto& [name, s] : states_) {
            if (!broker.empty() && name != broker) continue;
            if (s.requested_id.empty()) {
                s.requested_id =
                    ids::new_id("rec_", static_cast<uint64_t>(clock_->now_ns() / 1'000'000));
                s.requested_trigger = trigger;
            }
            out.emplace_back(name, s.requested_id);
        }
    }
    wake_.notify_all();
    return out;
}

SteadyClock::time_point Reconciler::next_after(const RunResult& r) const {
    const auto now = SteadyClock::now();
    const auto periodic = now + options_.interval;
    if (r.again_at_ns == 0) return periodic;
    // A young pending order is judged once the grace period has passed since its request.
    const auto wait = std::chrono::nanoseconds(std::max<int64_t>(0, r.again_at_ns - clock_->now_ns())) +
                      std::chrono::milliseconds(100);
    return std::min(periodic, now + std::chrono::duration_cast<SteadyClock::duration>(wait));
}

void Reconciler::loop() {
    // Start-up runs first, broker by broker; each opens its broker's writes, whatever it found
    // (a broker that cannot be read is no reason to refuse what it would refuse anyway).
    for (const auto& [name, b] : brokers_) {
        if (stopping()) break;
        RunResult r;
        try {
            r = run_now(name, "startup");
        } catch (const std::exception& ex) {
            spdlog::error("event=reconcile_failed broker={} trigger=startup error=\"{}\"", name,
                          ex.what());
        }
        orders_.open_writes(name);
        std::lock_guard lock(mutex_);
        BrokerState& s = states_[name];
        s.startup_done = true;
        // A start-up run that could not finish (or found the lease held, by a gateway that may
        // have died) is tried again soon, not after a full interval.
        const bool again = r.status == "FAILED" || r.status == "SKIPPED" || r.status.empty();
        s.next_periodic =
            again ? SteadyClock::now() +
                        std::min<std::chrono::seconds>(options_.interval, std::chrono::seconds(1))
                  : next_after(r);
    }
    while (!stopping()) {
        std::string broker, trigger, run_id;
        std::vector<std::string> quiet;  // brokers not run for silent_stream: check their stream
        {
            std::lock_guard lock(mutex_);
            const auto now = SteadyClock::now();
            for (auto& [name, s] : states_) {
                if (!s.requested_id.empty()) {
                    // Taken now: a request made while this run goes on asks for another one.
                    broker = name, trigger = s.requested_trigger, run_id = s.requested_id;
                    s.requested_id.clear();
                    break;
                }
                if (now >= s.next_periodic) {
                    broker = name, trigger = "periodic";
                    break;
                }
                if (options_.silent_stream.count() > 0 &&
                    now - s.last_run >= options_.silent_stream)
                    quiet.push_back(name);
            }
        }
        if (broker.empty()) {
            // A stream that stays connected but says nothing while orders are open. Asked of the
            // order service without holding mutex_ (it takes order locks; a writer-thread callback
            // may be waiting for mutex_ in request_run meanwhile).
            const int64_t now_ns = clock_->now_ns();
            const int64_t silent_ns =
                std::chrono::duration_cast<std::chrono::nanoseconds>(options_.silent_stream)
                    .count();
            for (const auto& name : quiet) {
                const int64_t last = orders_.last_order_event_ns(name);
                if (last != 0 && now_ns - last < silent_ns) continue;
                if (orders_.open_orders(name) == 0) continue;
                broker = name, trigger = "silent_stream";
                break;
            }
        }
        if (broker.empty()) {
            std::unique_lock lock(mutex_);
            wake_.wait_for(lock, std::chrono::seconds(1), [this] {
                if (stop_.load()) return true;
                for (const auto& [name, s] : states_)
                    if (!s.requested_id.empty()) return true;
                return false;
            });
            continue;
        }
        RunResult r;
        try {
            r = run_now(broker, trigger, run_id);
        } catch (const std::exception& ex) {
            spdlog::error("event=reconcile_failed broker={} trigger={} error=\"{}\"", broker,
                          trigger, ex.what());
        }
        std::lock_guard lock(mutex_);
        states_[broker].next_periodic = next_after(r);
    }
}

RunResult Reconciler::run_now(const std::string& broker, const std::string& trigger,
                              const std::string& run_id) {
    auto it = brokers_.find(broker);
    if (it == brokers_.end()) throw std::invalid_argument("unknown broker '" + broker + "'");
    std::lock_guard one(run_mutex_);
    Run run;
    run.broker = broker;
    run.port = it->second;
    run.trigger = trigger;
    run.t0 = SteadyClock::now();
    run.started_ns = clock_->now_ns();
    run.id = run_id.empty() ? ids::new_id("rec_", static_cast<uint64_t>(run.started_ns / 1'000'000))
                            : run_id;
    for (const auto& a : accounts_)
        if (a.broker == broker) run.accounts.push_back(a.account_id);
    {
        std::lock_guard lock(mutex_);
        states_[broker].last_run = run.t0;
    }

    // One reconciler per broker instance across gateways sharing storage.
    const int64_t asked_ns = clock_->now_ns();
    std::optional<bool> lease = take_lease(broker, asked_ns);
    if (lease && !*lease) {
        run.lease = "held by another gateway";
        store_run(run, "SKIPPED");
        return RunResult{run.id, broker, "SKIPPED", "", run.started_ns, clock_->now_ns()};
    }
    run.lease = lease ? "held" : "unsupported by the storage plugin (one gateway per storage)";
    if (lease) {
        run.lease_from_ns = clock_->now_ns();
        run.lease_expires_ns = asked_ns + lease_ttl_ns();
    }

    store_run(run, "RUNNING");
    try {
        execute(run);
    } catch (const std::exception& ex) {
        run.note_error("run", "", ex.what());
        spdlog::error("event=reconcile_error broker={} run_id={} error=\"{}\"", broker, run.id,
                      ex.what());
    }
    const std::string status = run.aborted            ? "ABORTED"
                               : run.failed           ? "FAILED"
                               : run.any_difference() ? "DRIFT"
                                                      : "OK";
    // The run's lease interval ends before another gateway's can begin: at the final record,
    // written while the lease is still held, or at the expiry of a lease that lapsed (the run
    // did nothing after it).
    if (lease) run.lease_until_ns = std::min(clock_->now_ns(), run.lease_expires_ns);
    store_run(run, status);
    if (lease && !run.lease_lost) {
        // Held for the run only: another gateway may take the next one. A holder that dies
        // mid-run leaves it to expire (lease_seconds).
        try {
            storage_.lease_release("reconcile:" + broker, options_.holder);
        } catch (const std::exception& ex) {
            spdlog::warn("event=reconcile_lease_not_released broker={} error=\"{}\"", broker,
                         ex.what());
        }
    }
    const double seconds = std::chrono::duration<double>(SteadyClock::now() - run.t0).count();
    if (metrics_) {
        metrics_->reconcile_run(broker, status, seconds);
        if (status == "OK" || status == "DRIFT")
            metrics_->set_reconcile_last_success(broker, static_cast<double>(run.started_ns) / 1e9);
    }
    std::string fixed, drift;
    for (const auto& [k, v] : run.fixed) fixed += " fixed_" + k + "=" + std::to_string(v);
    for (const auto& [k, v] : run.drift_counts) drift += " drift_" + k + "=" + std::to_string(v);
    auto log_level = status == "OK" ? spdlog::level::info : spdlog::level::warn;
    spdlog::log(log_level,
                "event=reconcile_run broker={} run_id={} trigger={} status={} "
                "duration_ms={}{}{}",
                broker, run.id, trigger, status, static_cast<int64_t>(seconds * 1000), fixed,
                drift);
    return RunResult{run.id, broker, status, "", run.started_ns, clock_->now_ns(),
                     run.aborted ? 0 : run.again_at_ns};
}

Result<Page<ReconRun>> Reconciler::runs(const std::string& broker, const std::string& cursor,
                                        uint32_t limit) {
    try {
        return storage_.list_recon_runs(broker, cursor, limit);
    } catch (const sdk::Error& e) {
        return fail(orders::storage_error(e, orders::StorageAccess::Read, "list_recon_runs"));
    }
}

std::optional<bool> Reconciler::take_lease(const std::string& broker, int64_t now_ns) {
    if (!leases_supported_.load()) return std::nullopt;
    try {
        return storage_.lease_acquire("reconcile:" + broker, options_.holder, now_ns,
                                      lease_ttl_ns());
    } catch (const sdk::Error& e) {
        if (e.status() == Status::Unsupported) {
            leases_supported_.store(false);
            spdlog::warn(
                "event=reconcile_lease_unsupported detail=\"the storage plugin keeps no "
                "leases (ABI 1.3): reconciliation assumes this is the only gateway on "
                "this storage\"");
            return std::nullopt;
        }
        throw;
    }
}

int64_t Reconciler::watermark(const std::string& broker) {
    // The start of the broker's last run that read everything it asked for.
    Page<ReconRun> page = storage_.list_recon_runs(broker, "", 50);
    for (const auto& r : page.items)
        if (r.status == "OK" || r.status == "DRIFT") return r.started_at_ns;
    return 0;
}

void Reconciler::execute(Run& run) {
    // A batched broker's events queued before the run are applied first: the run then reads
    // storage with everything the broker pushed so far, and does not take a fill still in the
    // queue for one that was lost.
    constexpr std::chrono::seconds kEventSyncLimit{10};
    if (const Status s = orders_.sync_events(run.broker, kEventSyncLimit); s != Status::Ok)
        spdlog::warn("event=reconcile_event_sync broker={} status={} detail=\"the run reads "
                     "storage without the events still queued\"",
                     run.broker, to_string(s));
    if (!hold_lease(run)) return;  // the wait may have outlasted it
    const int64_t mark = watermark(run.broker);
    const int64_t lookback =
        std::chrono::duration_cast<std::chrono::nanoseconds>(options_.lookback).count();
    run.since_ns = mark == 0 ? 0 : std::max<int64_t>(0, mark - lookback);
    run.settle_before_ns =
        run.started_ns -
        std::chrono::duration_cast<std::chrono::nanoseconds>(options_.grace_period).count();
    ports::BrokerPort& b = *run.port;
    auto use = [&](uint64_t cap, const char* name) {
        if (declared(b, cap)) {
            run.used.push_back(name);
            return true;
        }
        run.skipped.push_back(name);
        return false;
    };
    // Which reports the plugin declares decides what the run may conclude.
    use(OG_CAP_REPORT_FILLS, "fills");
    use(OG_CAP_REPORT_OPEN_ORDERS, "open_orders");
    use(OG_CAP_REPORT_RECENT_ORDERS, "recent_orders");
    use(OG_CAP_REPORT_POSITIONS, "positions");
    use(OG_CAP_REPORT_ACCOUNT, "account");
    for (const auto& account : run.accounts) {
        if (stopping()) {
            run.aborted = true;
            return;
        }
        reconcile_account(run, account);
        if (run.aborted || run.broker_stuck) return;
    }
}

void Reconciler::reconcile_account(Run& run, const std::string& account) {
    run.seen_cids.clear();
    run.seen_boids.clear();
    run.live_cids.clear();
    run.live_boids.clear();
    run.open_list_complete = false;
    // An order that turns live during the run is younger than the grace period when the lists
    // are done, and reconcile_stored_live leaves it alone: it need not be here.
    for_each_stored_live(run, account, [&](const OrderRecord& o) {
        if (!o.client_order_id.empty()) run.live_cids.insert(o.client_order_id);
        if (!o.broker_order_id.empty()) run.live_boids.insert(o.broker_order_id);
    });
    reconcile_fills(run, account);
    if (run.aborted || run.broker_stuck) return;
    reconcile_orders(run, account);
    if (run.aborted || run.broker_stuck) return;
    reconcile_stored_live(run, account);
    if (run.aborted || run.broker_stuck) return;
    reconcile_positions(run, account);
    if (run.aborted || run.broker_stuck) return;
    reconcile_account_figures(run, account);
}

bool Reconciler::hold_lease(Run& run) {
    if (run.lease != "held") return true;  // no lease to keep (the plugin keeps none)
    if (run.lease_lost) return false;
    const int64_t ttl = lease_ttl_ns();
    const int64_t now = clock_->now_ns();
    auto lost = [&](const std::string& why) {
        run.lease_lost = true;
        run.note_error("lease", "", why);
        run.aborted = true;
        spdlog::warn("event=reconcile_lease_lost broker={} run_id={} detail=\"{}\"", run.broker,
                     run.id, why);
        return false;
    };
    // Past its expiry another gateway may hold it (and may have released it again): renewing
    // now would not make the time between ours. The run stops; the next one starts afresh.
    if (now >= run.lease_expires_ns)
        return lost("the lease lapsed during the run (a step outlasted its " +
                    std::to_string(options_.lease.count()) +
                    " s time to live); the run stopped before acting again");
    if (run.lease_expires_ns - now > ttl * 2 / 3) return true;
    std::optional<bool> still;
    try {
        still = take_lease(run.broker, now);
    } catch (const std::exception& ex) {
        return lost(std::string("the lease could not be renewed: ") + ex.what());
    }
    if (still && !*still) return lost("the lease passed to another gateway during the run");
    run.lease_expires_ns = now + ttl;
    return true;
}

int Reconciler::calls_per_second(const Run& run) const {
    // No order goes to the broker while its start-up run goes on: the run may use more of its
    // budget than the periodic ones, which share it with the orders.
    return run.trigger == "startup" ? options_.startup_calls_per_second
                                    : options_.calls_per_second;
}

bool Reconciler::pace(Run& run) {
    if (!pace(run.broker, calls_per_second(run))) {
        run.aborted = true;
        return false;
    }
    // A long run keeps its lease; a run that lost it stops here.
    if (!hold_lease(run)) return false;
    // A plugin holding calls past their deadline gets no more from here: its remaining call
    // slots are the orders'. The run stops (FAILED) and the next one tries again.
    if (const size_t stuck = run.port->calls_stuck(); stuck > 0) {
        run.note_error("broker", "",
                       std::to_string(stuck) +
                           " call(s) stuck in the plugin past their deadline; "
                           "reconciliation waits until they return");
        run.broker_stuck = true;
        return false;
    }
    return true;
}

bool Reconciler::pace(const std::string& broker, int calls_per_second) {
    std::unique_lock lock(mutex_);
    BrokerState& s = states_[broker];
    const double rate = static_cast<double>(calls_per_second);
    for (;;) {
        if (stop_.load()) return false;
        const auto now = SteadyClock::now();
        if (s.refilled == SteadyClock::time_point{}) {
            s.tokens = rate;  // a full second's budget to start with
        } else {
            s.tokens = std::min(
                rate, s.tokens + rate * std::chrono::duration<double>(now - s.refilled).count());
        }
        s.refilled = now;
        if (s.tokens >= 1.0) {
            s.tokens -= 1.0;
            return true;
        }
        const auto wait = std::chrono::duration<double>((1.0 - s.tokens) / rate);
        wake_.wait_for(lock, std::chrono::duration_cast<std::chrono::microseconds>(wait) +
                                 std::chrono::microseconds(100));
    }
}

template <typename Call>
bool Reconciler::broker_call(Run& run, Call&& call) {
    for (int throttled = 0;; ++throttled) {
        if (!pace(run)) return false;
        try {
            call();
            return true;
        } catch (const sdk::Error& e) {
            if (e.status() != Status::RateLimited || throttled + 1 >= kMaxThrottled) throw;
            if (!wait_throttled(run, e.retry_after(), throttled)) return false;
        }
    }
}

bool Reconciler::wait_throttled(Run& run, std::chrono::milliseconds retry_after, int attempt) {
    using std::chrono::milliseconds;
    milliseconds wait = retry_after;
    if (wait.count() <= 0) {
        wait = options_.throttle_backoff;
        for (int i = 0; i < attempt && wait < kMaxThrottleWait; ++i) wait *= 2;
    }
    wait = std::min(wait, kMaxThrottleWait);
    ++run.found["throttled_calls"];
    run.found["throttled_wait_ms"] += static_cast<uint64_t>(wait.count());
    spdlog::warn("event=reconcile_throttled broker={} run_id={} attempt={} wait_ms={} "
                 "detail=\"the venue throttled a report call; waiting before asking again\"",
                 run.broker, run.id, attempt + 1, wait.count());
    // In slices of at most a third of the lease's time to live, renewed in between, so a long
    // wait does not lose it.
    const auto until = SteadyClock::now() + wait;
    const auto slice = std::max<SteadyClock::duration>(
        std::chrono::milliseconds(1),
        std::chrono::duration_cast<SteadyClock::duration>(options_.lease) / 3);
    for (;;) {
        const auto now = SteadyClock::now();
        if (now >= until) return true;
        {
            std::unique_lock lock(mutex_);
            if (wake_.wait_until(lock, std::min(until, now + slice),
                                 [this] { return stop_.load(); })) {
                run.aborted = true;
                return false;
            }
        }
        if (!hold_lease(run)) return false;
    }
}

void Reconciler::reconcile_fills(Run& run, const std::string& account) {
    if (!declared(*run.port, OG_CAP_REPORT_FILLS)) return;
    // Trade ids storage already has in the window, read at the first listed trade this host has
    // not stored lately: the trades it stored last are remembered (each once its write was
    // durable, so every one is in storage), and in a steady run they are the whole list, so
    // storage is not read at all. (Read up front at every run, the window, lookback_seconds
    // before the last run, held every fill of the last minutes: up to 900,000 at 3,000 orders
    // a second.)
    std::optional<std::unordered_set<std::string>> stored;
    auto stored_in_window = [&]() -> const std::unordered_set<std::string>& {
        if (stored) return *stored;
        stored.emplace();
        FillQuery q;
        q.account_ids = {account};
        q.since_ns = run.since_ns;
        q.limit = 1000;
        for (;;) {
            Page<FillRecord> page = storage_.list_fills(q);
            for (const auto& f : page.items)
                if (f.broker == run.broker) stored->insert(f.broker_trade_id);
            if (page.next_cursor.empty()) break;
            q.cursor = page.next_cursor;
        }
        return *stored;
    };
    std::string cursor;
    for (;;) {
        ReportPage<Fill> page;
        try {
            if (!broker_call(run, [&] {
                    page = run.port->list_fills_page(account, run.since_ns, cursor,
                                                     options_.page_size);
                }))
                return;
        } catch (const sdk::Error& e) {
            run.note_error("list_fills", account, e.what());
            return;
        }
        // Not stored when the run looked: maybe lost, maybe in flight while orders flow. The
        // events pushed up to now are applied first (twice, the second time after a longer
        // pause, for the ones still absent); a fill they stored is neither fixed nor counted as
        // missing.
        std::vector<const Fill*> absent;
        for (const auto& f : page.items) {
            ++run.found["broker_fills"];
            if (orders_.recently_stored_trade(run.broker, f.broker_trade_id)) continue;
            if (!stored_in_window().count(f.broker_trade_id)) absent.push_back(&f);
        }
        for (std::chrono::milliseconds pause : {kInFlightPause, kInFlightRecheckPause}) {
            if (absent.empty()) break;
            settle_in_flight(run, pause);
            std::erase_if(absent, [&](const Fill* f) {
                return orders_.recently_stored_trade(run.broker, f->broker_trade_id);
            });
        }
        for (const Fill* missing : absent) {
            const Fill& f = *missing;
            if (stopping()) {
                run.aborted = true;
                return;
            }
            if (!hold_lease(run)) return;
            orders::OrderService::ReconcileResult r = orders_.reconcile_fill(run.broker, f);
            using R = orders::OrderService::Reconciled;
            if (r.result == R::Unchanged) continue;  // stored meanwhile (pushed)
            if (r.result == R::Failed) {
                run.note_error("apply_fill", account, r.detail);
                continue;
            }
            ++run.fixed["missing_fills"];
            run.note_drift(metrics_, "missing_fill", account,
                           {{"broker_trade_id", f.broker_trade_id},
                            {"order_id", r.order_id},
                            {"quantity", f.quantity.to_string()},
                            {"price", f.price.to_string()},
                            {"fixed", r.detail}});
            if (r.after_terminal) ++run.fixed["fills_after_terminal"];
            if (!r.order_id.empty()) run.note_change(r.order_id, r.detail);
        }
        if (page.next_cursor.empty()) break;
        cursor = page.next_cursor;
    }
}

void Reconciler::reconcile_orders(Run& run, const std::string& account) {
    const bool open = declared(*run.port, OG_CAP_REPORT_OPEN_ORDERS);
    const bool recent = declared(*run.port, OG_CAP_REPORT_RECENT_ORDERS);
    // Open orders first (all of them), then every order updated in the window.
    for (int pass = 0; pass < 2; ++pass) {
        const bool open_only = pass == 0;
        if (open_only ? !open : !recent) continue;
        std::string cursor;
        bool complete = true;
        for (;;) {
            ReportPage<OrderReport> page;
            try {
                if (!broker_call(run, [&] {
                        page = run.port->list_orders_page(account, open_only,
                                                          open_only ? 0 : run.since_ns, cursor,
                                                          options_.page_size);
                    }))
                    return;
            } catch (const sdk::Error& e) {
                run.note_error(open_only ? "list_open_orders" : "list_recent_orders", account,
                               e.what());
                complete = false;
                break;
            }
            complete = complete && page.complete;
            for (const auto& rep : page.items) {
                if (stopping()) {
                    run.aborted = true;
                    return;
                }
                ++run.found["broker_orders"];
                if (run.live_cids.count(rep.client_order_id))
                    run.seen_cids.insert(rep.client_order_id);
                if (run.live_boids.count(rep.broker_order_id))
                    run.seen_boids.insert(rep.broker_order_id);
                if (!hold_lease(run)) return;
                note_order_result(run, account, rep,
                                  orders_.reconcile_order(run.broker, rep, run.settle_before_ns));
            }
            if (page.next_cursor.empty()) break;
            cursor = page.next_cursor;
        }
        if (open_only) run.open_list_complete = complete;
    }
}

void Reconciler::for_each_stored_live(const Run& run, const std::string& account,
                                      const std::function<void(OrderRecord&)>& f) {
    OrderQuery q;
    q.account_ids = {account};
    q.broker = run.broker;
    q.open_only = true;
    q.limit = 1000;
    for (;;) {
        Page<OrderRecord> page = storage_.list_orders(q);
        for (auto& o : page.items) f(o);
        if (page.next_cursor.empty()) break;
        q.cursor = page.next_cursor;
    }
}

void Reconciler::reconcile_stored_live(Run& run, const std::string& account) {
    // Live orders storage holds for this broker and account that the lists did not name. With a
    // complete open-orders list, a live order missing from it has ended or never arrived: ask.
    // Without one, each live order is asked about (paced).
    std::vector<OrderRecord> live;
    for_each_stored_live(run, account, [&](OrderRecord& o) { live.push_back(std::move(o)); });
    run.found["stored_live_orders"] += live.size();
    const bool by_cid = declared(*run.port, OG_CAP_QUERY_BY_CLIENT_ID);
    const int64_t grace_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(options_.grace_period).count();
    for (const auto& o : live) {
        if (stopping()) {
            run.aborted = true;
            return;
        }
        if (o.updated_at_ns > run.settle_before_ns &&
            (o.status == OrderStatus::PendingNew || o.status == OrderStatus::PendingReplace ||
             o.status == OrderStatus::PendingCancel))
            run.again_at_ns = std::max(run.again_at_ns, o.updated_at_ns + grace_ns);
        if (run.seen_cids.count(o.client_order_id) ||
            (!o.broker_order_id.empty() && run.seen_boids.count(o.broker_order_id)))
            continue;  // the lists named it: applied above
        // An order changed within the grace period may have a request still on its way.
        if (o.updated_at_ns > run.settle_before_ns) continue;
        const bool ask_cid = by_cid && !o.client_order_id.empty();
        if (!ask_cid && o.broker_order_id.empty()) {
            // Nothing the broker could be asked by: said in the run, never guessed.
            run.note_drift(
                metrics_, "unqueryable_order", account,
                {{"order_id", o.id},
                 {"status", std::string(to_string(o.status))},
                 {"detail",
                  "the broker keeps no client order id and the order has no broker order id"}});
            continue;
        }
        OrderReport rep;
        bool not_found = false;
        try {
            if (!broker_call(run, [&] {
                    rep = run.port->get_order(account, ask_cid ? "" : o.broker_order_id,
                                              ask_cid ? o.client_order_id : "");
                }))
                return;
        } catch (const sdk::Error& e) {
            if (e.status() == Status::NotFound) {
                not_found = true;
            } else {
                // A transport error is never evidence about an order: not counted, not reset.
                run.note_error("get_order", account, o.id + ": " + e.what());
                continue;
            }
        }
        if (!hold_lease(run)) return;
        if (!not_found) {
            {
                std::lock_guard lock(mutex_);
                states_[run.broker].not_found.erase({account, o.id});
            }
            note_order_result(run, account, rep,
                              orders_.reconcile_order(run.broker, rep, run.settle_before_ns));
            continue;
        }
        // The broker answered, cleanly, that it has no such order.
        bool unacknowledged = false;
        try {
            unacknowledged = orders_.never_acknowledged(o);
        } catch (const sdk::Error& e) {
            run.note_error("list_events", account, o.id + ": " + e.what());
            continue;
        }
        if (!unacknowledged) {
            // Acknowledged once (or live by its fills), now unknown to the broker: drift for a
            // person to look at; the gateway does not invent an outcome.
            run.note_drift(metrics_, "order_missing_at_broker", account,
                           {{"order_id", o.id}, {"status", std::string(to_string(o.status))}});
            continue;
        }
        int answers = 0;
        {
            std::lock_guard lock(mutex_);
            answers = ++states_[run.broker].not_found[{account, o.id}];
        }
        ++run.found["pending_not_found"];
        if (answers < options_.not_found_answers || !options_.reject_not_found) {
            if (!options_.reject_not_found && answers >= options_.not_found_answers) {
                run.note_drift(metrics_, "not_found_at_broker", account,
                               {{"order_id", o.id},
                                {"detail", "kept " + std::string(to_string(o.status)) +
                                               " (not_found_policy: keep)"}});
            }
            continue;
        }
        const std::string policy = "not_found_policy=reject: no such order at the broker in " +
                                   std::to_string(answers) + " consecutive runs, " +
                                   std::to_string(options_.grace_period.count()) +
                                   " s or more after the request";
        orders::OrderService::ReconcileResult r = orders_.reject_not_found(o.id, policy);
        using R = orders::OrderService::Reconciled;
        if (r.result == R::Failed) {
            run.note_error("reject_not_found", account, r.detail);
            continue;
        }
        {
            std::lock_guard lock(mutex_);
            states_[run.broker].not_found.erase({account, o.id});
        }
        if (r.result == R::Unchanged) continue;  // settled meanwhile
        ++run.fixed["not_found_rejected"];
        run.note_drift(metrics_, "not_found_at_broker", account,
                       {{"order_id", o.id}, {"fixed", r.detail}});
        run.note_change(o.id, r.detail);
    }
    // This account's counters of orders no longer pending (settled some other way) are dropped.
    std::lock_guard lock(mutex_);
    auto& nf = states_[run.broker].not_found;
    std::set<std::string> live_ids;
    for (const auto& o : live) live_ids.insert(o.id);
    for (auto it = nf.lower_bound({account, ""}); it != nf.end() && it->first.first == account;)
        it = live_ids.count(it->first.second) ? std::next(it) : nf.erase(it);
}

void Reconciler::note_order_result(Run& run, const std::string& account, const OrderReport& rep,
                                   const orders::OrderService::ReconcileResult& r) {
    using R = orders::OrderService::Reconciled;
    if (r.result == R::Unchanged) return;
    if (r.result == R::Failed) {
        run.note_error("apply_order", account, r.detail);
        return;
    }
    if (r.result == R::Identified) {
        // Not drift: the gateway held the venue's state, only not yet the venue's id for it.
        ++run.found["broker_order_ids_learned"];
        run.note_change(r.order_id, r.detail);
        return;
    }
    const bool adopted = r.result == R::Adopted;
    ++run.fixed[adopted ? "adopted" : "transitions"];
    run.note_drift(metrics_, adopted ? "external_order" : "missing_transition", account,
                   {{"order_id", r.order_id},
                    {"broker_order_id", rep.broker_order_id},
                    {"client_order_id", rep.client_order_id},
                    {"broker_status", std::string(to_string(rep.status))},
                    {"fixed", r.detail}});
    run.note_change(r.order_id, r.detail);
}

void Reconciler::reconcile_positions(Run& run, const std::string& account) {
    if (!declared(*run.port, OG_CAP_REPORT_POSITIONS) || !positions_) return;
    std::vector<Position> theirs;
    // The gateway's quantities, read before the venue's and again after them, once the events
    // the broker pushed meanwhile are applied (settle_in_flight): a venue quantity that is the
    // second reading, or lies between the two, is the gateway's at some moment of the run (fills
    // in flight while orders flow), not drift.
    struct Quantities {
        Decimal before, after, theirs;
    };
    std::map<std::string, Quantities> by_instrument;
    try {
        if (!broker_call(run, [&] {
                // Read again for each attempt: right before the venue's own reading.
                by_instrument.clear();
                for (const auto& p : positions_->snapshot(std::vector<std::string>{account}))
                    if (p.broker == run.broker)
                        by_instrument[key2(p.symbol, p.exchange)].before = p.quantity;
                theirs = run.port->positions(account);
            }))
            return;
    } catch (const sdk::Error& e) {
        run.note_error("positions", account, e.what());
        return;
    }
    settle_in_flight(run, kInFlightPause);
    for (const auto& p : positions_->snapshot(std::vector<std::string>{account}))
        if (p.broker == run.broker) by_instrument[key2(p.symbol, p.exchange)].after = p.quantity;
    for (const auto& p : theirs) by_instrument[key2(p.symbol, p.exchange)].theirs = p.quantity;
    run.found["broker_positions"] += theirs.size();
    auto within = [](const Quantities& q) {
        return std::min(q.before, q.after) <= q.theirs && q.theirs <= std::max(q.before, q.after);
    };
    // Outside the span: once more after a longer pause, in case a fill was still on its way.
    if (std::any_of(by_instrument.begin(), by_instrument.end(),
                    [&](const auto& kv) { return !within(kv.second); })) {
        settle_in_flight(run, kInFlightRecheckPause);
        for (const auto& p : positions_->snapshot(std::vector<std::string>{account}))
            if (p.broker == run.broker) by_instrument[key2(p.symbol, p.exchange)].after = p.quantity;
    }
    for (const auto& [k, q] : by_instrument) {
        if (q.theirs == q.after) continue;
        if (within(q)) {
            ++run.found["positions_in_flight"];
            continue;
        }
        const size_t nul = k.find('\0');
        spdlog::warn(
            "event=reconcile_drift kind=position broker={} account_id={} symbol={} "
            "gateway={} broker_quantity={}",
            run.broker, account, k.substr(0, nul), q.after.to_string(), q.theirs.to_string());
        run.note_drift(metrics_, "position", account,
                       {{"symbol", k.substr(0, nul)},
                        {"exchange", k.substr(nul + 1)},
                        {"gateway", q.after.to_string()},
                        {"broker", q.theirs.to_string()}});
    }
}

void Reconciler::settle_in_flight(Run& run, std::chrono::milliseconds pause) {
    // A fill the venue reports may still be on its way: in the plugin's own delivery, then in
    // the gateway's event queue. A short pause covers the first; sync_events applies (and
    // stores) everything the broker pushed up to now.
    std::this_thread::sleep_for(pause);
    if (const Status s = orders_.sync_events(run.broker, kInFlightSyncLimit); s != Status::Ok)
        spdlog::warn("event=reconcile_event_sync broker={} status={} detail=\"fills in flight "
                     "may be counted as missing or as drift\"",
                     run.broker, to_string(s));
}

void Reconciler::reconcile_account_figures(Run& run, const std::string& account) {
    if (!declared(*run.port, OG_CAP_REPORT_ACCOUNT)) return;
    // The gateway keeps no cash ledger of its own to compare with: the broker's figures are
    // read (an account the broker cannot report is an error of the run) and kept in the report.
    try {
        if (!broker_call(run, [&] { (void)run.port->account(account); })) return;
        ++run.found["broker_accounts"];
    } catch (const sdk::Error& e) {
        run.note_error("account", account, e.what());
    }
}

void Reconciler::store_run(const Run& run, const std::string& status) {
    std::string report;
    json::Writer w(&report);
    w.begin_object()
        .field("trigger", run.trigger)
        .field("holder", options_.holder)
        .field("lease", run.lease_lost ? "lost during the run" : run.lease)
        .field_int("lease_from_ns", run.lease_from_ns)
        .field_int("lease_until_ns", run.lease_until_ns)
        .field("since", run.since_ns ? timefmt::rfc3339_ms(run.since_ns) : "")
        .field_int("calls_per_second", calls_per_second(run))
        .key("accounts")
        .begin_array();
    for (const auto& a : run.accounts) w.string(a);
    w.end_array().key("reports_read").begin_array();
    for (const auto& a : run.used) w.string(a);
    w.end_array().key("reports_skipped").begin_array();
    for (const auto& a : run.skipped) {
        w.begin_object()
            .field("report", a)
            .field("reason", "not declared by the plugin")
            .end_object();
    }
    w.end_array().key("found").begin_object();
    for (const auto& [k, v] : run.found) w.field_int(k, static_cast<int64_t>(v));
    w.end_object().key("fixed").begin_object();
    for (const auto& [k, v] : run.fixed) w.field_int(k, static_cast<int64_t>(v));
    w.end_object().key("drift_counts").begin_object();
    for (const auto& [k, v] : run.drift_counts) w.field_int(k, static_cast<int64_t>(v));
    w.end_object().key("drift").begin_array();
    for (const auto& d : run.drift) w.raw(d);
    w.end_array().key("changes").begin_array();
    for (const auto& c : run.changes) w.raw(c);
    w.end_array().key("errors").begin_array();
    for (const auto& e : run.errors) w.raw(e);
    w.end_array().end_object();

    WriteOp op;
    op.kind = WriteKind::UpsertReconRun;
    op.recon_run.id = run.id;
    op.recon_run.broker = run.broker;
    op.recon_run.status = status;
    op.recon_run.report_json = std::move(report);
    op.recon_run.started_at_ns = run.started_ns;
    op.recon_run.finished_at_ns = status == "RUNNING" ? 0 : clock_->now_ns();
    try {
        storage_.write_batch({op});
    } catch (const sdk::Error& e) {
        // The run's fixes are durable on their own; only its record is lost. Loud.
        spdlog::error("event=reconcile_run_not_stored broker={} run_id={} status={} error=\"{}\"",
                      run.broker, run.id, status, e.what());
    }
}

}  // namespace ordergate::reconcile
