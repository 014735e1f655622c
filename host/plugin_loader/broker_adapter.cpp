#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <optional>

#include "ordergate/abi_convert.hpp"
#include "plugin_loader/call_support.hpp"
#include "plugin_loader/plugin_adapters.hpp"

namespace ordergate::plugin_loader {

namespace {

using detail::check_status;
using detail::ErrorBuffer;
using detail::fail_internal;
using detail::fail_missing;

// Collects what one call reports through its result sink. Callbacks never throw: a malformed
// record is remembered and turned into an error once the call has returned.
class BrokerResults : detail::ResultErrors {
public:
    enum Want : unsigned {
        kOrders = 1,
        kFills = 2,
        kPositions = 4,
        kAccounts = 8,
        kQuotes = 16,
        kPageEnd = 32,  // ABI 1.3: on_page
        kGtts = 64      // ABI 1.5: on_gtt
    };

    explicit BrokerResults(unsigned want) {
        sink_.size = sizeof(og_result_sink);
        sink_.ctx = this;
        if (want & kOrders) sink_.on_order = &add<OrderReport, og_order_report, &BrokerResults::orders>;
        if (want & kFills) sink_.on_fill = &add<Fill, og_fill, &BrokerResults::fills>;
        if (want & kPositions)
            sink_.on_position = &add<Position, og_position, &BrokerResults::positions>;
        if (want & kAccounts) sink_.on_account = &add<Account, og_account, &BrokerResults::accounts>;
        if (want & kQuotes) sink_.on_quote = &add<Quote, og_quote, &BrokerResults::quotes>;
        if (want & kPageEnd) sink_.on_page = &on_page;
        if (want & kGtts) sink_.on_gtt = &add<GttReport, og_gtt_report, &BrokerResults::gtts>;
    }
    BrokerResults(const BrokerResults&) = delete;
    BrokerResults& operator=(const BrokerResults&) = delete;

    const og_result_sink* sink() const { return &sink_; }

    // Throws Internal when a callback received a malformed record.
    void check(const PluginLibrary& lib, const char* function) const {
        check_records(lib, function);
    }

    std::vector<OrderReport> orders;
    std::vector<Fill> fills;
    std::vector<Position> positions;
    std::vector<Account> accounts;
    std::vector<Quote> quotes;
    std::vector<GttReport> gtts;

    // One page of `items`, checked against the call's `cursor` and `limit` (plugin_adapters.hpp).
    template <typename T>
    ReportPage<T> page(const PluginLibrary& lib, const char* function, const std::string& cursor,
                       uint32_t limit, std::vector<T>& items) {
        if (page_ends_ != 1)
            fail_internal(lib, function,
                          "returned ok having ended the page " + std::to_string(page_ends_) +
                              " times where exactly once was due (on_page)");
        if (!next_cursor_.empty() && limit > 0 && items.size() > limit)
            fail_internal(lib, function,
                          "returned " + std::to_string(items.size()) + " items for limit " +
                              std::to_string(limit) + " and a next cursor");
        if (!next_cursor_.empty() && next_cursor_ == cursor)
            fail_internal(lib, function,
                          "gave back the cursor it was asked for as the next one (paging would "
                          "never end)");
        return ReportPage<T>{std::move(items), std::move(next_cursor_), complete_};
    }

private:
    template <typename T, typename C, std::vector<T> BrokerResults::*member>
    static void add(void* ctx, const C* record) {
        auto* self = static_cast<BrokerResults*>(ctx);
        self->guarded([&] { (self->*member).push_back(abi::from_abi(record)); });
    }
    static void on_page(void* ctx, og_str next_cursor, int32_t complete) {
        auto* self = static_cast<BrokerResults*>(ctx);
        self->guarded([&] {
            if (complete != 0 && complete != 1)
                throw abi::ConvertError("page end: complete is " + std::to_string(complete) +
                                        ", not 0 or 1");
            self->next_cursor_ = abi::from_abi(next_cursor, "page end", "next_cursor");
            self->complete_ = complete == 1;
            ++self->page_ends_;
        });
    }

    int page_ends_ = 0;
    std::string next_cursor_;
    bool complete_ = true;

    og_result_sink sink_{};
};

template <typename T>
T exactly_one(const PluginLibrary& lib, const char* function, std::vector<T>& items) {
    if (items.size() != 1)
        fail_internal(lib, function,
                      "returned ok with " + std::to_string(items.size()) +
                          " results where exactly one was due");
    return std::move(items.front());
}

// An id of a report answering a request about one thing (`what`: "order", "GTT"): one the plugin
// left empty is the request's (the report answers this request, so it is known); another one
// means the report is about something else.
void match_id(const PluginLibrary& lib, const char* function, const char* what, std::string& got,
              const std::string& want, const char* field) {
    if (want.empty()) return;
    if (got.empty()) {
        got = want;
    } else if (got != want) {
        fail_internal(lib, function,
                      std::string("report for another ") + what + " (" + field + " '" +
                          detail::one_line(got, 100) + "', asked for '" + want + "')");
    }
}

void match_order(const PluginLibrary& lib, const char* function, OrderReport& report,
                 const std::string& account_id, const std::string& broker_order_id,
                 const std::string& client_order_id) {
    match_id(lib, function, "order", report.account_id, account_id, "account_id");
    match_id(lib, function, "order", report.broker_order_id, broker_order_id, "broker_order_id");
    match_id(lib, function, "order", report.client_order_id, client_order_id, "client_order_id");
}

void match_gtt(const PluginLibrary& lib, const char* function, GttReport& report,
               const std::string& account_id, const std::string& gtt_id) {
    match_id(lib, function, "GTT", report.account_id, account_id, "account_id");
    match_id(lib, function, "GTT", report.gtt_id, gtt_id, "gtt_id");
}

uint64_t order_type_capability(OrderType t) {
    switch (t) {
        case OrderType::Market: return OG_CAP_ORDER_MARKET;
        case OrderType::Limit: return OG_CAP_ORDER_LIMIT;
        case OrderType::Stop: return OG_CAP_ORDER_STOP;
        case OrderType::StopLimit: return OG_CAP_ORDER_STOP_LIMIT;
    }
    return 0;
}

uint64_t tif_capability(TimeInForce t) {
    switch (t) {
        case TimeInForce::Day: return OG_CAP_TIF_DAY;
        case TimeInForce::Gtc: return OG_CAP_TIF_GTC;
        case TimeInForce::Ioc: return OG_CAP_TIF_IOC;
        case TimeInForce::Fok: return OG_CAP_TIF_FOK;
    }
    return 0;
}

}  // namespace

// The og_event_sink given to the plugin, and what it forwards to.
struct PluginBroker::SinkState {
    og_event_sink c{};
    const PluginLibrary* library = nullptr;
    std::string broker;
    ports::BrokerEvents* events = nullptr;
    std::atomic<bool> accepting{true};
    std::atomic<uint64_t> delivered{0};
    std::atomic<uint64_t> invalid{0};
    std::atomic<uint64_t> after_stop{0};
    std::atomic<uint64_t> handler_failures{0};
    // Set only when the adapter is destroyed with calls stuck in the plugin: the state and the
    // library are then leaked together on purpose (see ~PluginBroker).
    std::shared_ptr<PluginLibrary> keep_loaded;

    // Logs the first few of a kind of problem, then every power of two (a flood stays visible
    // without drowning the log).
    static bool worth_logging(uint64_t n) { return n <= 10 || (n & (n - 1)) == 0; }

    void rejected(const char* what, const std::string& why) {
        uint64_t n = invalid.fetch_add(1) + 1;
        if (worth_logging(n))
            library->logger().warn("event=plugin_event_dropped plugin={} broker={} what=\"{}\" "
                                   "why=\"{}\" invalid_total={}",
                                   library->info().name, broker, what, detail::one_line(why), n);
    }
    void handler_failed(const char* what, const std::string& why) {
        uint64_t n = handler_failures.fetch_add(1) + 1;
        if (worth_logging(n))
            library->logger().error("event=broker_event_handler_failed broker={} what=\"{}\" "
                                    "error=\"{}\" failures_total={}",
                                    broker, what, detail::one_line(why), n);
    }

    // Validates with `convert`, then forwards with `deliver`. Never throws into the plugin.
    template <typename Convert, typename Deliver>
    void handle(const char* what, Convert&& convert, Deliver&& deliver) noexcept {
        if (!accepting.load(std::memory_order_acquire)) {
            after_stop.fetch_add(1);
            return;
        }
        try {
            auto value = convert();
            try {
                deliver(value);
                delivered.fetch_add(1);
            } catch (const std::exception& e) {
                handler_failed(what, e.what());
            } catch (...) {
                handler_failed(what, "non-standard exception");
            }
        } catch (const std::exception& e) {
            rejected(what, e.what());
        } catch (...) {
            rejected(what, "non-standard exception while reading it");
        }
    }

    static void on_order_update(void* ctx, const og_order_report* r) {
        auto* s = static_cast<SinkState*>(ctx);
        s->handle(
            "order update", [&] { return abi::from_abi(r); },
            [&](const OrderReport& v) { s->events->on_order_update(s->broker, v); });
    }
    static void on_fill(void* ctx, const og_fill* f) {
        auto* s = static_cast<SinkState*>(ctx);
        s->handle(
            "fill",
            [&] {
                Fill fill = abi::from_abi(f);
                // Fills are de-duplicated by trade id and applied to an order: both must be there.
                if (fill.broker_trade_id.empty())
                    throw abi::ConvertError("fill: broker_trade_id is empty");
                if (fill.broker_order_id.empty() && fill.client_order_id.empty())
                    throw abi::ConvertError("fill: names no order (no broker or client order id)");
                return fill;
            },
            [&](const Fill& v) { s->events->on_fill(s->broker, v); });
    }
    static void on_quote(void* ctx, const og_quote* q) {
        auto* s = static_cast<SinkState*>(ctx);
        s->handle(
            "quote", [&] { return abi::from_abi(q); },
            [&](const Quote& v) { s->events->on_quote(s->broker, v); });
    }
    static void on_gtt_update(void* ctx, const og_gtt_report* r) {
        auto* s = static_cast<SinkState*>(ctx);
        s->handle(
            "GTT update",
            [&] {
                GttReport g = abi::from_abi(r);
                if (g.gtt_id.empty() && g.broker_gtt_id.empty())
                    throw abi::ConvertError("GTT update: names no GTT (no gtt_id or broker_gtt_id)");
                return g;
            },
            [&](const GttReport& v) { s->events->on_gtt_update(s->broker, v); });
    }
    // ABI 1.6: what this instance pushed is stored (a batched-events plugin asks before it counts
    // an event as received). Never throws into the plugin.
    static og_status sync(void* ctx, int64_t timeout_ms) {
        auto* s = static_cast<SinkState*>(ctx);
        if (!s->accepting.load(std::memory_order_acquire)) return OG_UNAVAILABLE;
        try {
            return static_cast<og_status>(s->events->sync_events(
                s->broker, std::chrono::milliseconds(std::max<int64_t>(0, timeout_ms))));
        } catch (const std::exception& e) {
            s->handler_failed("sync", e.what());
        } catch (...) {
            s->handler_failed("sync", "non-standard exception");
        }
        return OG_INTERNAL;
    }
    static void on_connection(void* ctx, int32_t connected, og_str detail) {
        auto* s = static_cast<SinkState*>(ctx);
        s->handle(
            "connection report",
            [&] {
                if (connected != 0 && connected != 1)
                    throw abi::ConvertError("connection report: connected is " +
                                            std::to_string(connected) + ", not 0 or 1");
                return abi::from_abi(detail, "connection report", "detail");
            },
            [&](const std::string& d) {
                s->events->on_connection(s->broker, connected == 1, detail::one_line(d));
            });
    }
};

PluginBroker::PluginBroker(std::shared_ptr<PluginLibrary> library, std::string instance_name,
                           ports::BrokerEvents* events, BrokerCallLimits limits)
    : library_(std::move(library)), name_(std::move(instance_name)),
      sink_(std::make_shared<SinkState>()), limits_(std::move(limits)) {
    sink_->library = library_.get();
    sink_->broker = name_;
    sink_->events = events;
    sink_->c.size = sizeof(og_event_sink);
    sink_->c.ctx = sink_.get();
    sink_->c.on_order_update = &SinkState::on_order_update;
    sink_->c.on_fill = &SinkState::on_fill;
    sink_->c.on_quote = &SinkState::on_quote;
    sink_->c.on_connection = &SinkState::on_connection;
    sink_->c.on_gtt_update = &SinkState::on_gtt_update;
    sink_->c.sync = &SinkState::sync;

    // The pool's observer logs, then tells the caller's. It is never called once the pool has
    // stopped (in stop()), so it may hold what this adapter holds.
    CallPool::Observer outer = limits_.observer;
    CallPool::Observer observer;
    observer.deadline_passed = [lib = library_, name = name_, outer](std::string_view op,
                                                                     size_t stuck) {
        lib->logger().warn("plugin={} broker={} op={} event=deadline_passed stuck_calls={} "
                           "detail=\"the call keeps running in the plugin; its answer will be "
                           "discarded\"",
                           lib->info().name, name, op, stuck);
        if (outer.deadline_passed) outer.deadline_passed(op, stuck);
    };
    observer.returned_late = [lib = library_, name = name_, outer](
                                 std::string_view op, CallPool::Clock::duration late,
                                 size_t stuck) {
        lib->logger().warn(
            "plugin={} broker={} op={} event=late_answer_discarded late_ms={} stuck_calls={}",
            lib->info().name, name, op,
            std::chrono::duration_cast<std::chrono::milliseconds>(late).count(), stuck);
        if (outer.returned_late) outer.returned_late(op, late, stuck);
    };
    pool_ = std::make_unique<CallPool>(std::max<size_t>(1, limits_.max_concurrent_calls),
                                       std::move(observer), "og-call-" + name_);
}

PluginBroker::~PluginBroker() {
    if (instance_ == nullptr) return;
    try {
        stop();
    } catch (const std::exception& e) {
        library_->logger().error("event=broker_stop_failed plugin={} broker={} error=\"{}\"",
                                 library_->info().name, name_, e.what());
    }
    if (size_t stuck = call_stats().running; stuck > 0) {  // inline calls included
        // Those calls are still inside the plugin: destroying the instance, freeing the sink it
        // was given or unloading its code under them would crash. Leak all three, loudly.
        library_->logger().error(
            "plugin={} broker={} event=instance_leaked stuck_calls={} detail=\"calls still in "
            "the plugin after stop; the instance is not destroyed and the library stays loaded\"",
            library_->info().name, name_, stuck);
        sink_->keep_loaded = library_;
        (void)new std::shared_ptr<SinkState>(sink_);  // one reference never dropped: leaked
        instance_ = nullptr;
        return;
    }
    library_->broker_table()->destroy(instance_);
    instance_ = nullptr;
}

void PluginBroker::create(const std::vector<std::pair<std::string, std::string>>& config) {
    const og_broker_vtable* t = library_->broker_table();
    abi::KvView kv(config);
    ErrorBuffer err;
    void* instance = nullptr;
    // ABI 1.4: the config's element size travels with it (og_kv may grow).
    og_status st = t->create_v2 != nullptr
                       ? t->create_v2(kv.data(), kv.size(), sizeof(og_kv), &sink_->c, &instance,
                                      err.get())
                       : t->create(kv.data(), kv.size(), &sink_->c, &instance, err.get());
    check_status(*library_, "create", st, err);
    if (instance == nullptr) fail_internal(*library_, "create", "returned ok without an instance");
    instance_ = instance;
    // ABI 1.4: the instance's own manifest, decided from its settings (Unsupported: none).
    if (t->get_capabilities != nullptr) {
        ErrorBuffer cerr;
        uint64_t caps = 0;
        og_status cst = t->get_capabilities(instance_, &caps, cerr.get());
        if (cst == OG_OK) {
            instance_caps_ = caps;
            library_->logger().info("event=broker_instance_capabilities plugin={} broker={} "
                                    "capabilities=\"{}\"",
                                    library_->info().name, name_, capability_names(caps));
        } else if (cst != OG_UNSUPPORTED) {
            check_status(*library_, "get_capabilities", cst, cerr);
        }
    }
    inline_calls_ = limits_.inline_calls && (capabilities() & OG_CAP_INLINE_CALLS) != 0;
}

uint64_t PluginBroker::capabilities() const {
    uint64_t caps = instance_caps_ ? *instance_caps_ : library_->info().capabilities;
    // Native GTT needs the ABI 1.5 slots: a plugin declaring the flag without them (a table
    // of an older minor, NULL slots) gets the host's emulated GTTs instead.
    const og_broker_vtable* t = library_->broker_table();
    if ((caps & OG_CAP_NATIVE_GTT) != 0 &&
        (t->size < abi::kBrokerTableSize_1_5 || t->place_gtt == nullptr ||
         t->modify_gtt == nullptr || t->cancel_gtt == nullptr || t->get_gtt == nullptr ||
         t->list_gtts == nullptr))
        caps &= ~uint64_t{OG_CAP_NATIVE_GTT};
    return caps;
}

void PluginBroker::require(uint64_t capability, const char* capability_name,
                           const char* function) const {
    if (!has(capability))
        throw sdk::Error(Status::Unsupported, name_ + " " + function +
                                                  ": the plugin does not declare capability " +
                                                  capability_name);
}

void PluginBroker::start() {
    std::lock_guard<std::mutex> lock(lifecycle_mutex_);
    if (started_ || stopped_) return;
    ErrorBuffer err;
    og_status st = library_->broker_table()->start(instance_, err.get());
    started_ = true;  // even a failed start may have begun work: stop() must still run
    check_status(*library_, "start", st, err);
}

void PluginBroker::stop() {
    std::lock_guard<std::mutex> lock(lifecycle_mutex_);
    if (stopped_) return;
    stopped_ = true;
    const auto grace_ends = CallPool::Clock::now() + limits_.stop_grace;
    pool_->close();  // no new call; queued ones were never sent and end Unavailable
    {
        std::lock_guard lock(inline_.mutex);
        inline_.closed = true;  // nor a new call on a caller's thread
    }
    ErrorBuffer err;
    // The plugin's stop may end calls it has hanging (closing its sockets): wait for them after.
    og_status st = library_->broker_table()->stop(instance_, err.get());
    sink_->accepting.store(false, std::memory_order_release);
    size_t stuck = pool_->stop(limits_.stop_grace);
    {
        std::unique_lock lock(inline_.mutex);
        inline_.idle.wait_until(lock, grace_ends, [&] { return inline_.running == 0; });
        stuck += inline_.running;
    }
    if (stuck > 0)
        library_->logger().error("plugin={} broker={} event=stop_with_stuck_calls stuck_calls={} "
                                 "grace_ms={}",
                                 library_->info().name, name_, stuck, limits_.stop_grace.count());
    check_status(*library_, "stop", st, err);
}

// ---- bounded calls ----------------------------------------------------------------------------

// What a call on a pool thread needs, owned by the call: it may outlive this adapter (a call
// stuck past its deadline at shutdown), so it never reaches through `this`.
struct PluginBroker::Target {
    std::shared_ptr<PluginLibrary> library;
    void* instance = nullptr;
    const PluginLibrary& lib() const { return *library; }
    const og_broker_vtable& table() const { return *library->broker_table(); }
};

namespace {
struct Done {};  // the value of a call that returns nothing
}  // namespace

template <typename R, typename Body>
R PluginBroker::bounded(const char* fn, CallKind kind, std::chrono::milliseconds timeout,
                        Body body) {
    // The result lands here, owned jointly by the caller and the work: after the deadline the
    // caller lets go and a late answer is written into memory nobody reads, then freed.
    struct Slot {
        std::optional<R> value;
        std::exception_ptr error;
    };
    if (inline_calls_) return inline_call<R>(fn, timeout, body);
    auto slot = std::make_shared<Slot>();
    const auto deadline = CallPool::Clock::now() + timeout + kDeadlineGrace;
    auto call = pool_->submit(
        fn, [slot, body = std::move(body), target = Target{library_, instance_}, deadline] {
            // The plugin gets what is left of the deadline once a thread has taken the call.
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - kDeadlineGrace - CallPool::Clock::now());
            if (left.count() < 1) left = std::chrono::milliseconds(1);
            try {
                slot->value.emplace(body(target, left));
            } catch (...) {
                slot->error = std::current_exception();  // rethrown to the caller below
            }
        });
    if (!call) {
        CallPool::Stats s = pool_->stats();
        throw sdk::Error(Status::Unavailable,
                         name_ + " " + fn + ": not sent: no call thread free (" +
                             std::to_string(s.stuck) + " of " +
                             std::to_string(pool_->max_threads()) +
                             " stuck past their deadline, or the broker is stopping)");
    }
    switch (pool_->wait(call, deadline)) {
        case CallPool::Outcome::Finished:
            if (slot->error) std::rethrow_exception(slot->error);
            return std::move(*slot->value);
        case CallPool::Outcome::NotStarted:
            throw sdk::Error(Status::Unavailable,
                             name_ + " " + fn + ": not sent: no call thread was free within " +
                                 std::to_string(timeout.count()) + " ms");
        case CallPool::Outcome::DeadlinePassed:
            break;
    }
    if (kind == CallKind::Order)
        throw sdk::Error(Status::UnknownOutcome,
                         name_ + " " + fn + ": no answer within " +
                             std::to_string(timeout.count()) +
                             " ms (deadline enforced by the host); the request may have reached "
                             "the venue");
    throw sdk::Error(Status::Timeout, name_ + " " + fn + ": no answer within " +
                                          std::to_string(timeout.count()) +
                                          " ms (deadline enforced by the host)");
}

template <typename R, typename Body>
R PluginBroker::inline_call(const char* fn, std::chrono::milliseconds timeout, Body& body) {
    {
        std::lock_guard lock(inline_.mutex);
        if (inline_.closed)
            throw sdk::Error(Status::Unavailable,
                             name_ + " " + fn + ": not sent: the broker is stopping");
        ++inline_.running;
    }
    // Leaves on every path, the plugin's error included; says so when the plugin took longer
    // than the deadline it promised to keep by declaring inline calls.
    struct Leave {
        PluginBroker& self;
        const char* fn;
        std::chrono::milliseconds timeout;
        CallPool::Clock::time_point start = CallPool::Clock::now();
        ~Leave() {
            const auto took = CallPool::Clock::now() - start;
            if (took > timeout + kDeadlineGrace)
                self.library_->logger().warn(
                    "event=inline_call_late plugin={} broker={} op={} took_ms={} "
                    "deadline_ms={} detail=\"the instance declares inline calls (they return "
                    "promptly) but this one blocked its caller past its deadline\"",
                    self.library_->info().name, self.name_, fn,
                    std::chrono::duration_cast<std::chrono::milliseconds>(took).count(),
                    timeout.count());
            std::lock_guard lock(self.inline_.mutex);
            if (--self.inline_.running == 0) self.inline_.idle.notify_all();
        }
    } leave{*this, fn, timeout};
    return body(Target{library_, instance_}, timeout);
}

OrderReport PluginBroker::place_order(const OrderRequest& request,
                                      std::chrono::milliseconds timeout) {
    const char* fn = "place_order";
    require(order_type_capability(request.order_type),
            ("order type " + std::string(to_string(request.order_type))).c_str(), fn);
    require(tif_capability(request.time_in_force),
            ("time in force " + std::string(to_string(request.time_in_force))).c_str(), fn);
    return bounded<OrderReport>(
        fn, CallKind::Order, timeout,
        [request, fn](const Target& t, std::chrono::milliseconds left) {
            og_order_request c = abi::to_abi(request);
            BrokerResults out(BrokerResults::kOrders);
            ErrorBuffer err;
            og_status st = t.table().place_order(t.instance, &c, left.count(), out.sink(),
                                                 err.get());
            check_status(t.lib(), fn, st, err, true);
            out.check(t.lib(), fn);
            OrderReport report = exactly_one(t.lib(), fn, out.orders);
            match_order(t.lib(), fn, report, request.account_id, "", request.client_order_id);
            if (report.broker_order_id.empty())
                fail_internal(t.lib(), fn, "acknowledged without a broker_order_id");
            return report;
        });
}

OrderReport PluginBroker::modify_order(const ModifyRequest& request,
                                       std::chrono::milliseconds timeout) {
    const char* fn = "modify_order";
    require(OG_CAP_MODIFY, "modify", fn);
    if (request.order_type) {
        require(OG_CAP_MODIFY_ORDER_TYPE, "modify_order_type", fn);
        require(order_type_capability(*request.order_type), "the new order type", fn);
    }
    if (request.time_in_force) {
        require(OG_CAP_MODIFY_TIF, "modify_tif", fn);
        require(tif_capability(*request.time_in_force), "the new time in force", fn);
    }
    if (request.quantity) require(OG_CAP_MODIFY_QUANTITY, "modify_quantity", fn);
    if (request.price) require(OG_CAP_MODIFY_PRICE, "modify_price", fn);
    if (request.trigger_price) require(OG_CAP_MODIFY_TRIGGER, "modify_trigger", fn);
    if (library_->broker_table()->modify_order == nullptr) fail_missing(*library_, fn);
    return bounded<OrderReport>(
        fn, CallKind::Order, timeout,
        [request, fn](const Target& t, std::chrono::milliseconds left) {
            og_modify_request c = abi::to_abi(request);
            BrokerResults out(BrokerResults::kOrders);
            ErrorBuffer err;
            og_status st =
                t.table().modify_order(t.instance, &c, left.count(), out.sink(), err.get());
            check_status(t.lib(), fn, st, err, true);
            out.check(t.lib(), fn);
            OrderReport report = exactly_one(t.lib(), fn, out.orders);
            match_order(t.lib(), fn, report, request.account_id, request.broker_order_id,
                        request.client_order_id);
            return report;
        });
}

OrderReport PluginBroker::cancel_order(const std::string& account_id,
                                       const std::string& broker_order_id,
                                       const std::string& client_order_id,
                                       std::chrono::milliseconds timeout) {
    return cancel_request(CancelRequest{account_id, broker_order_id, client_order_id, "", ""},
                          timeout);
}

OrderReport PluginBroker::cancel_request(const CancelRequest& request,
                                         std::chrono::milliseconds timeout) {
    const char* fn = "cancel_order";
    if (request.broker_order_id.empty())
        require(OG_CAP_QUERY_BY_CLIENT_ID, "query_by_client_id", fn);
    return bounded<OrderReport>(
        fn, CallKind::Order, timeout,
        [request, fn](const Target& t, std::chrono::milliseconds left) {
            BrokerResults out(BrokerResults::kOrders);
            ErrorBuffer err;
            // ABI 1.4: with the request chain when the plugin takes it.
            og_status st;
            if (t.table().cancel_order_v2 != nullptr) {
                og_cancel_request c = abi::to_abi(request);
                st = t.table().cancel_order_v2(t.instance, &c, left.count(), out.sink(),
                                               err.get());
            } else {
                st = t.table().cancel_order(t.instance, abi::view(request.account_id),
                                            abi::view(request.broker_order_id),
                                            abi::view(request.client_order_id), left.count(),
                                            out.sink(), err.get());
            }
            check_status(t.lib(), fn, st, err, true);
            out.check(t.lib(), fn);
            OrderReport report = exactly_one(t.lib(), fn, out.orders);
            // A report naming the cancel's own request id as its client order id (a FIX venue's
            // ClOrdID) is about this order too.
            if (!request.request_id.empty() && report.client_order_id == request.request_id)
                report.client_order_id = request.client_order_id;
            match_order(t.lib(), fn, report, request.account_id, request.broker_order_id,
                        request.client_order_id);
            return report;
        });
}

OrderReport PluginBroker::get_order(const std::string& account_id,
                                    const std::string& broker_order_id,
                                    const std::string& client_order_id) {
    const char* fn = "get_order";
    if (broker_order_id.empty()) require(OG_CAP_QUERY_BY_CLIENT_ID, "query_by_client_id", fn);
    return bounded<OrderReport>(
        fn, CallKind::Query, limits_.query_timeout,
        [account_id, broker_order_id, client_order_id, fn](const Target& t,
                                                            std::chrono::milliseconds) {
            BrokerResults out(BrokerResults::kOrders);
            ErrorBuffer err;
            og_status st = t.table().get_order(t.instance, abi::view(account_id),
                                               abi::view(broker_order_id),
                                               abi::view(client_order_id), out.sink(), err.get());
            check_status(t.lib(), fn, st, err);
            out.check(t.lib(), fn);
            OrderReport report = exactly_one(t.lib(), fn, out.orders);
            // By broker id the client id may legitimately differ in what the venue kept; match
            // on the key that was asked.
            match_order(t.lib(), fn, report, account_id, broker_order_id,
                        broker_order_id.empty() ? client_order_id : std::string());
            return report;
        });
}

std::vector<OrderReport> PluginBroker::list_orders(const std::string& account_id, bool open_only,
                                                   int64_t since_ns) {
    const char* fn = "list_orders";
    if (open_only)
        require(OG_CAP_REPORT_OPEN_ORDERS, "report_open_orders", fn);
    else
        require(OG_CAP_REPORT_RECENT_ORDERS, "report_recent_orders", fn);
    if (library_->broker_table()->list_orders == nullptr) fail_missing(*library_, fn);
    return bounded<std::vector<OrderReport>>(
        fn, CallKind::Query, limits_.query_timeout,
        [account_id, open_only, since_ns, fn](const Target& t, std::chrono::milliseconds) {
            BrokerResults out(BrokerResults::kOrders);
            ErrorBuffer err;
            og_status st = t.table().list_orders(t.instance, abi::view(account_id),
                                                 open_only ? 1 : 0, since_ns, out.sink(),
                                                 err.get());
            check_status(t.lib(), fn, st, err);
            out.check(t.lib(), fn);
            return std::move(out.orders);
        });
}

std::vector<Fill> PluginBroker::list_fills(const std::string& account_id, int64_t since_ns) {
    const char* fn = "list_fills";
    require(OG_CAP_REPORT_FILLS, "report_fills", fn);
    if (library_->broker_table()->list_fills == nullptr) fail_missing(*library_, fn);
    return bounded<std::vector<Fill>>(
        fn, CallKind::Query, limits_.query_timeout,
        [account_id, since_ns, fn](const Target& t, std::chrono::milliseconds) {
            BrokerResults out(BrokerResults::kFills);
            ErrorBuffer err;
            og_status st = t.table().list_fills(t.instance, abi::view(account_id), since_ns,
                                                out.sink(), err.get());
            check_status(t.lib(), fn, st, err);
            out.check(t.lib(), fn);
            return std::move(out.fills);
        });
}

std::vector<Position> PluginBroker::positions(const std::string& account_id) {
    const char* fn = "get_positions";
    require(OG_CAP_REPORT_POSITIONS, "report_positions", fn);
    if (library_->broker_table()->get_positions == nullptr) fail_missing(*library_, fn);
    return bounded<std::vector<Position>>(
        fn, CallKind::Query, limits_.query_timeout,
        [account_id, fn](const Target& t, std::chrono::milliseconds) {
            BrokerResults out(BrokerResults::kPositions);
            ErrorBuffer err;
            og_status st =
                t.table().get_positions(t.instance, abi::view(account_id), out.sink(), err.get());
            check_status(t.lib(), fn, st, err);
            out.check(t.lib(), fn);
            return std::move(out.positions);
        });
}

Account PluginBroker::account(const std::string& account_id) {
    const char* fn = "get_account";
    require(OG_CAP_REPORT_ACCOUNT, "report_account", fn);
    if (library_->broker_table()->get_account == nullptr) fail_missing(*library_, fn);
    return bounded<Account>(
        fn, CallKind::Query, limits_.query_timeout,
        [account_id, fn](const Target& t, std::chrono::milliseconds) {
            BrokerResults out(BrokerResults::kAccounts);
            ErrorBuffer err;
            og_status st =
                t.table().get_account(t.instance, abi::view(account_id), out.sink(), err.get());
            check_status(t.lib(), fn, st, err);
            out.check(t.lib(), fn);
            return exactly_one(t.lib(), fn, out.accounts);
        });
}

Quote PluginBroker::quote(const std::string& symbol, const std::string& exchange) {
    const char* fn = "get_quote";
    require(OG_CAP_QUOTES, "quotes", fn);
    if (library_->broker_table()->get_quote == nullptr) fail_missing(*library_, fn);
    return bounded<Quote>(
        fn, CallKind::Query, limits_.query_timeout,
        [symbol, exchange, fn](const Target& t, std::chrono::milliseconds) {
            BrokerResults out(BrokerResults::kQuotes);
            ErrorBuffer err;
            og_status st = t.table().get_quote(t.instance, abi::view(symbol),
                                               abi::view(exchange), out.sink(), err.get());
            check_status(t.lib(), fn, st, err);
            out.check(t.lib(), fn);
            return exactly_one(t.lib(), fn, out.quotes);
        });
}

void PluginBroker::subscribe_prices(const std::vector<Instrument>& instruments) {
    const char* fn = "subscribe_prices";
    require(OG_CAP_PRICE_SUBSCRIPTION, "price_subscription", fn);
    if (library_->broker_table()->subscribe_prices == nullptr) fail_missing(*library_, fn);
    bounded<Done>(fn, CallKind::Query, limits_.query_timeout,
                  [instruments, fn](const Target& t, std::chrono::milliseconds) {
                      abi::InstrumentsView view(instruments);
                      ErrorBuffer err;
                      // ABI 1.4: the element size travels with the array (og_instrument may grow).
                      og_status st =
                          t.table().subscribe_prices_v2 != nullptr
                              ? t.table().subscribe_prices_v2(t.instance, view.data(), view.size(),
                                                              sizeof(og_instrument), err.get())
                              : t.table().subscribe_prices(t.instance, view.data(), view.size(),
                                                           err.get());
                      check_status(t.lib(), fn, st, err);
                      return Done{};
                  });
}

std::vector<OrderReport> PluginBroker::cancel_all(const std::string& account_id,
                                                  std::chrono::milliseconds timeout) {
    const char* fn = "cancel_all";
    require(OG_CAP_CANCEL_ALL, "cancel_all", fn);
    if (library_->broker_table()->cancel_all == nullptr) fail_missing(*library_, fn);
    return bounded<std::vector<OrderReport>>(
        fn, CallKind::Order, timeout,
        [account_id, fn](const Target& t, std::chrono::milliseconds left) {
            BrokerResults out(BrokerResults::kOrders);
            ErrorBuffer err;
            og_status st = t.table().cancel_all(t.instance, abi::view(account_id), left.count(),
                                                out.sink(), err.get());
            check_status(t.lib(), fn, st, err);
            out.check(t.lib(), fn);
            return std::move(out.orders);
        });
}

void PluginBroker::ping(std::chrono::milliseconds timeout) {
    const char* fn = "ping";
    if (library_->broker_table()->ping == nullptr) fail_missing(*library_, fn);
    bounded<Done>(fn, CallKind::Query, timeout,
                  [fn](const Target& t, std::chrono::milliseconds left) {
                      ErrorBuffer err;
                      og_status st = t.table().ping(t.instance, left.count(), err.get());
                      check_status(t.lib(), fn, st, err);
                      return Done{};
                  });
}

// ---- ABI 1.3: paginated reports. Without the function (an older plugin, or a NULL slot) the
// unpaginated call answers, as the only page. -----------------------------------------------

ReportPage<OrderReport> PluginBroker::list_orders_page(const std::string& account_id,
                                                       bool open_only, int64_t since_ns,
                                                       const std::string& cursor, uint32_t limit) {
    const char* fn = "list_orders_page";
    if (open_only)
        require(OG_CAP_REPORT_OPEN_ORDERS, "report_open_orders", fn);
    else
        require(OG_CAP_REPORT_RECENT_ORDERS, "report_recent_orders", fn);
    if (library_->broker_table()->list_orders_page == nullptr) {
        if (!cursor.empty())
            throw sdk::Error(Status::InvalidArgument,
                             name_ + " " + fn + ": the plugin does not page (its one page has no "
                                                "next cursor), so there is no cursor to continue");
        return ReportPage<OrderReport>{list_orders(account_id, open_only, since_ns), "", true};
    }
    return bounded<ReportPage<OrderReport>>(
        fn, CallKind::Query, limits_.query_timeout,
        [account_id, open_only, since_ns, cursor, limit, fn](const Target& t,
                                                             std::chrono::milliseconds) {
            BrokerResults out(BrokerResults::kOrders | BrokerResults::kPageEnd);
            ErrorBuffer err;
            og_status st = t.table().list_orders_page(t.instance, abi::view(account_id),
                                                      open_only ? 1 : 0, since_ns,
                                                      abi::view(cursor), limit, out.sink(),
                                                      err.get());
            check_status(t.lib(), fn, st, err);
            out.check(t.lib(), fn);
            return out.page(t.lib(), fn, cursor, limit, out.orders);
        });
}

ReportPage<Fill> PluginBroker::list_fills_page(const std::string& account_id, int64_t since_ns,
                                               const std::string& cursor, uint32_t limit) {
    const char* fn = "list_fills_page";
    require(OG_CAP_REPORT_FILLS, "report_fills", fn);
    if (library_->broker_table()->list_fills_page == nullptr) {
        if (!cursor.empty())
            throw sdk::Error(Status::InvalidArgument,
                             name_ + " " + fn + ": the plugin does not page (its one page has no "
                                                "next cursor), so there is no cursor to continue");
        return ReportPage<Fill>{list_fills(account_id, since_ns), "", true};
    }
    return bounded<ReportPage<Fill>>(
        fn, CallKind::Query, limits_.query_timeout,
        [account_id, since_ns, cursor, limit, fn](const Target& t, std::chrono::milliseconds) {
            BrokerResults out(BrokerResults::kFills | BrokerResults::kPageEnd);
            ErrorBuffer err;
            og_status st =
                t.table().list_fills_page(t.instance, abi::view(account_id), since_ns,
                                          abi::view(cursor), limit, out.sink(), err.get());
            check_status(t.lib(), fn, st, err);
            out.check(t.lib(), fn);
            return out.page(t.lib(), fn, cursor, limit, out.fills);
        });
}

CallPool::Stats PluginBroker::call_stats() const {
    CallPool::Stats s = pool_->stats();
    std::lock_guard lock(inline_.mutex);
    s.running += inline_.running;
    return s;
}

namespace {

SinkCounters read_counters(const PluginBroker::SinkState& s) {
    SinkCounters c;
    c.delivered = s.delivered.load();
    c.invalid = s.invalid.load();
    c.after_stop = s.after_stop.load();
    c.handler_failures = s.handler_failures.load();
    return c;
}

}  // namespace

SinkCounters PluginBroker::sink_counters() const { return read_counters(*sink_); }

std::function<SinkCounters()> PluginBroker::sink_counters_reader() const {
    return [sink = std::shared_ptr<const SinkState>(sink_)] { return read_counters(*sink); };
}

uint64_t PluginBroker::invalid_events() const { return sink_->invalid.load(); }

// ---- ABI 1.5: native GTT ------------------------------------------------------------------

GttReport PluginBroker::gtt_call(const char* fn, const GttRequest& request,
                                 std::chrono::milliseconds timeout) {
    require(OG_CAP_NATIVE_GTT, "native_gtt", fn);
    using Slot = og_status (*)(void*, const og_gtt_request*, int64_t, const og_result_sink*,
                               og_error*);
    const std::string which = fn;
    return bounded<GttReport>(
        fn, CallKind::Order, timeout,
        [request, fn, which](const Target& t, std::chrono::milliseconds left) {
            Slot slot = which == "place_gtt"    ? t.table().place_gtt
                        : which == "modify_gtt" ? t.table().modify_gtt
                                                : t.table().cancel_gtt;
            abi::GttRequestView c(request);
            BrokerResults out(BrokerResults::kGtts);
            ErrorBuffer err;
            og_status st = slot(t.instance, c.get(), left.count(), out.sink(), err.get());
            check_status(t.lib(), fn, st, err);  // OG_PENDING is no answer for a GTT call
            out.check(t.lib(), fn);
            GttReport report = exactly_one(t.lib(), fn, out.gtts);
            match_gtt(t.lib(), fn, report, request.account_id, request.gtt_id);
            if (report.broker_gtt_id.empty())
                fail_internal(t.lib(), fn, "answered without a broker_gtt_id");
            return report;
        });
}

GttReport PluginBroker::place_gtt(const GttRequest& request, std::chrono::milliseconds timeout) {
    return gtt_call("place_gtt", request, timeout);
}

GttReport PluginBroker::modify_gtt(const GttRequest& request, std::chrono::milliseconds timeout) {
    return gtt_call("modify_gtt", request, timeout);
}

GttReport PluginBroker::cancel_gtt(const GttRequest& request, std::chrono::milliseconds timeout) {
    return gtt_call("cancel_gtt", request, timeout);
}

GttReport PluginBroker::get_gtt(const std::string& account_id, const std::string& gtt_id,
                                const std::string& broker_gtt_id) {
    const char* fn = "get_gtt";
    require(OG_CAP_NATIVE_GTT, "native_gtt", fn);
    return bounded<GttReport>(
        fn, CallKind::Query, limits_.query_timeout,
        [account_id, gtt_id, broker_gtt_id, fn](const Target& t, std::chrono::milliseconds) {
            BrokerResults out(BrokerResults::kGtts);
            ErrorBuffer err;
            og_status st = t.table().get_gtt(t.instance, abi::view(account_id), abi::view(gtt_id),
                                             abi::view(broker_gtt_id), out.sink(), err.get());
            check_status(t.lib(), fn, st, err);
            out.check(t.lib(), fn);
            GttReport report = exactly_one(t.lib(), fn, out.gtts);
            match_gtt(t.lib(), fn, report, account_id, broker_gtt_id.empty() ? gtt_id : "");
            return report;
        });
}

std::vector<GttReport> PluginBroker::list_gtts(const std::string& account_id, bool active_only) {
    const char* fn = "list_gtts";
    require(OG_CAP_NATIVE_GTT, "native_gtt", fn);
    return bounded<std::vector<GttReport>>(
        fn, CallKind::Query, limits_.query_timeout,
        [account_id, active_only, fn](const Target& t, std::chrono::milliseconds) {
            BrokerResults out(BrokerResults::kGtts);
            ErrorBuffer err;
            og_status st = t.table().list_gtts(t.instance, abi::view(account_id),
                                               active_only ? 1 : 0, out.sink(), err.get());
            check_status(t.lib(), fn, st, err);
            out.check(t.lib(), fn);
            for (GttReport& r : out.gtts) {
                if (!account_id.empty() && r.account_id != account_id)
                    fail_internal(t.lib(), fn,
                                  "listed a GTT of another account ('" +
                                      detail::one_line(r.account_id, 100) + "')");
                if (r.gtt_id.empty() && r.broker_gtt_id.empty())
                    fail_internal(t.lib(), fn, "listed a GTT with neither gtt_id nor broker_gtt_id");
            }
            return std::move(out.gtts);
        });
}

}  // namespace ordergate::plugin_loader
