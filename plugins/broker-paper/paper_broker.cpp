#include "paper_broker.hpp"

#include <pthread.h>

#include <algorithm>
#include <functional>
#include <utility>

namespace ordergate::paper {

namespace {

template <typename F>
auto translated(F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const VenueError& e) {
        throw sdk::Error(e.status(), e.what());
    }
}

}  // namespace

PaperBroker::PaperBroker(const sdk::PluginContext& ctx) : host_(ctx.host), sink_(ctx.sink) {
    PaperSettings settings = parse_paper_settings(ctx.config);
    tick_ = settings.tick;
    history_ = settings.venue.history;
    silent_stream_ = settings.venue.fault.silent_stream;
    async_ack_ = settings.async_ack;
    ack_delay_ = settings.ack_delay;
    refuse_cancel_ = settings.refuse_cancel;
    rate_limited_ = settings.rate_limited_retry_after;
    modify_ = settings.modify;
    native_gtt_ = settings.native_gtt;
    hang_ = settings.venue.fault.hang;
    inline_calls_ = settings.venue.send_delay.count() == 0 && settings.venue.latency.count() == 0 &&
                    settings.venue.fault.hang.count() == 0;
    VenueEnv env;
    sdk::Host host = host_;
    env.now_ns = [host] { return host.now_ns(); };
    env.warn = [host](const std::string& m) { host.log(sdk::LogLevel::Warn, m); };
    venue_ = translated([&] { return std::make_unique<PaperVenue>(settings.venue, env); });
    host_.log(sdk::LogLevel::Info,
              "broker-paper: venue ready, seed=" + std::to_string(settings.venue.seed) +
                  " tick_ms=" + std::to_string(tick_.count()) + " journal=" +
                  (settings.venue.journal_path.empty() ? "none" : settings.venue.journal_path));
}

PaperBroker::~PaperBroker() {
    std::lock_guard lock(lifecycle_mu_);
    if (worker_.joinable()) {
        stopping_ = true;
        venue_->events().wake();
        worker_.join();
    }
}

void PaperBroker::start() {
    std::lock_guard lock(lifecycle_mu_);
    {
        std::lock_guard hang_lock(hang_mu_);
        hang_ended_ = false;
    }
    if (worker_.joinable()) return;
    stopping_ = false;
    worker_ = std::thread([this] {
        (void)pthread_setname_np(pthread_self(), "paper-venue");  // as top -H and perf show it
        run();
    });
}

void PaperBroker::stop() {
    {
        std::lock_guard lock(hang_mu_);
        hang_ended_ = true;
    }
    hang_cv_.notify_all();
    {
        std::lock_guard lock(lifecycle_mu_);
        if (worker_.joinable()) {
            stopping_ = true;
            venue_->events().wake();
            worker_.join();
        }
    }
    translated([&] { venue_->snapshot(); });
}

void PaperBroker::delay(VenueEvent event, std::chrono::steady_clock::time_point due) {
    {
        std::lock_guard lock(delayed_mu_);
        delayed_.emplace(due, std::move(event));
    }
    venue_->events().wake();
}

void PaperBroker::deliver_due(bool everything) {
    VenueEvents due;
    {
        std::lock_guard lock(delayed_mu_);
        const auto now = std::chrono::steady_clock::now();
        auto end = everything ? delayed_.end() : delayed_.upper_bound(now);
        for (auto it = delayed_.begin(); it != end; ++it) due.push_back(std::move(it->second));
        delayed_.erase(delayed_.begin(), end);
    }
    deliver_now(due);  // in due order, each event on its own (a failure stops none after it)
}

void PaperBroker::deliver(VenueEvents& events) {
    if (!async_ack_) return deliver_now(events);
    // Behind every acknowledgement already scheduled (those were due at most ack_delay after
    // their call began, before these events were taken).
    const auto due = std::chrono::steady_clock::now() + ack_delay_;
    for (VenueEvent& e : events) delay(std::move(e), due);
}

void PaperBroker::deliver_now(VenueEvents& events) {
    for (VenueEvent& e : events) {
        try {
            switch (e.kind) {
                case VenueEvent::Kind::OrderUpdate:
                    if (!silent_stream_) sink_.order_update(e.order);
                    break;
                case VenueEvent::Kind::Fill:
                    if (!silent_stream_) sink_.fill(e.fill);
                    break;
                case VenueEvent::Kind::Quote:
                    sink_.quote(e.quote);
                    break;
                case VenueEvent::Kind::Connection:
                    sink_.connection(e.connected, e.detail);
                    break;
                case VenueEvent::Kind::Gtt:
                    if (!silent_stream_) sink_.gtt_update(e.gtt);
                    break;
            }
        } catch (const std::exception& ex) {
            host_.log(
                sdk::LogLevel::Error,
                std::string("broker-paper: pushing an event to the host failed: ") + ex.what());
        }
    }
}

void PaperBroker::pump(bool worker) {
    std::lock_guard lock(deliver_mu_);
    // Once stopping, the worker delivers what is left (its last pass) and nothing after it:
    // the host's sink is not called after stop() returns. What a call queued is then the
    // worker's to deliver: it is woken for it.
    if (stopping_ && !worker) {
        venue_->events().wake();
        return;
    }
    // Otherwise the worker leaves what a call queued to that call's thread (its pump after the
    // Hold), and what came after it too, to keep the order.
    VenueEvents events = worker && !stopping_ ? venue_->events().take_unheld()
                                              : venue_->drain_events();
    deliver_now(events);
}

template <typename F>
auto PaperBroker::delivering(F&& f) -> decltype(f()) {
    if (async_ack_) return f();
    struct PumpAfter {
        PaperBroker* self;
        ~PumpAfter() { self->pump(); }
    } pump_after{this};  // runs after `hold` ends: what the call queued is delivered here
    EventQueue::Hold hold(venue_->events());
    return f();
}

void PaperBroker::run() {
    using Clock = std::chrono::steady_clock;
    const bool ticking = tick_.count() > 0;
    bool stepping = ticking;
    Clock::time_point next = Clock::now() + tick_;
    // Each step forgets what history_seconds lets go; without steps, a timer does.
    constexpr auto kForgetEvery = std::chrono::seconds(1);
    bool forgetting = !ticking && history_.count() > 0;
    Clock::time_point next_forget = Clock::now() + kForgetEvery;
    for (;;) {
        Clock::time_point deadline = stepping ? next : Clock::now() + std::chrono::hours(1);
        if (forgetting) deadline = std::min(deadline, next_forget);
        {
            std::lock_guard lock(delayed_mu_);
            if (!delayed_.empty() && delayed_.begin()->first < deadline)
                deadline = delayed_.begin()->first;
        }
        if (async_ack_) {
            VenueEvents events = venue_->events().wait_take(deadline);
            for (VenueEvent& e : events) held_.push_back(std::move(e));
            if (answering_.load() == 0) {
                deliver(held_);
                held_.clear();
            }
        } else {
            venue_->events().wait_ready(deadline);
            pump(true);
        }
        deliver_due(false);
        if (stopping_) {
            if (async_ack_) {
                deliver(held_);
                held_.clear();
                VenueEvents rest = venue_->drain_events();
                deliver(rest);
            } else {
                pump(true);
            }
            deliver_due(true);  // what was promised is sent before stop returns
            return;
        }
        if (forgetting && Clock::now() >= next_forget) {
            try {
                venue_->forget_history();
            } catch (const std::exception& ex) {
                forgetting = false;
                host_.log(sdk::LogLevel::Error,
                          std::string("broker-paper: forgetting ended history stopped: ") +
                              ex.what());
            }
            next_forget = Clock::now() + kForgetEvery;
        }
        if (!stepping) continue;
        Clock::time_point now = Clock::now();
        if (now < next) continue;
        try {
            venue_->step();
        } catch (const std::exception& ex) {
            stepping = false;
            host_.log(sdk::LogLevel::Error,
                      std::string("broker-paper: the random walk stopped: ") + ex.what());
        }
        next += tick_;
        if (next <= now) next = now + tick_;  // fell behind: skip, never burst
    }
}

void PaperBroker::hang() {
    if (hang_.count() == 0) return;
    std::unique_lock lock(hang_mu_);
    if (hang_cv_.wait_for(lock, hang_, [this] { return hang_ended_; }))
        throw sdk::Error(Status::Unavailable,
                         "broker-paper: stopped while the call hung (fault.hang_ms); nothing done");
}

void PaperBroker::answer_later(const std::function<OrderReport()>& call,
                               const OrderRequest* placed, const std::string& request_id) {
    // Due before any event the venue queues during the call (deliver() schedules those at
    // least ack_delay after they are taken, which is after this point).
    const auto due = std::chrono::steady_clock::now() + ack_delay_;
    VenueEvent ev;
    ev.kind = VenueEvent::Kind::OrderUpdate;
    // Until the answer is scheduled, the worker holds what the venue pushes (see answering_).
    struct Answering {
        PaperBroker* self;
        explicit Answering(PaperBroker* s) : self(s) { ++self->answering_; }
        ~Answering() {
            --self->answering_;
            self->venue_->events().wake();
        }
    } answering(this);
    try {
        ev.order = call();
    } catch (const VenueError& e) {
        if (e.status() != Status::Rejected || placed == nullptr)
            throw sdk::Error(e.status(), e.what());
        // The venue refused the order: the reject arrives as an event, like an ack, naming the
        // order the venue kept (REJECTED) when it kept one.
        const OrderRequest& r = *placed;
        ev.order.broker_order_id = e.broker_order_id();
        ev.order.client_order_id = r.client_order_id;
        ev.order.account_id = r.account_id;
        ev.order.symbol = r.symbol;
        ev.order.exchange = r.exchange;
        ev.order.side = r.side;
        ev.order.order_type = r.order_type;
        ev.order.time_in_force = r.time_in_force;
        ev.order.status = OrderStatus::Rejected;
        ev.order.quantity = r.quantity;
        ev.order.filled_quantity = Decimal(0, 0);
        ev.order.price = r.price;
        ev.order.trigger_price = r.trigger_price;
        ev.order.reject_reason = e.what();
        ev.order.leaves_quantity = Decimal(0, 0);
        ev.order.updated_at_ns = host_.now_ns();
    }
    ev.order.request_id = request_id;
    // As a FIX venue does, the answer to a modify or cancel names the order by that request's
    // own ClOrdID: the host must find the order through its request chain.
    if (placed == nullptr && !request_id.empty()) ev.order.client_order_id = request_id;
    delay(std::move(ev), due);
    throw sdk::Error(Status::Pending,
                     "broker-paper: sent; the acknowledgement follows (async_ack)");
}

std::optional<uint64_t> PaperBroker::instance_capabilities() const {
    uint64_t caps = kPaperCapabilities;
    // The venue is memory and a local journal: a call returns at once unless a setting delays it
    // on purpose (to test the host's deadlines), so the host may call it on its own thread (SDK
    // 1.7.1). Waiting for the host to take queued events (admit) keeps to the call's deadline.
    if (inline_calls_) caps |= OG_CAP_INLINE_CALLS;
    if (!modify_)
        caps &= ~(OG_CAP_MODIFY | OG_CAP_MODIFY_QUANTITY | OG_CAP_MODIFY_PRICE |
                  OG_CAP_MODIFY_TRIGGER | OG_CAP_MODIFY_ORDER_TYPE | OG_CAP_MODIFY_TIF);
    if (native_gtt_) caps |= OG_CAP_NATIVE_GTT;
    return caps;
}

void PaperBroker::require_native_gtt() const {
    if (!native_gtt_)
        throw sdk::Error(Status::Unsupported,
                         "broker-paper keeps GTTs only with the setting native_gtt: true");
}

GttReport PaperBroker::place_gtt(const GttRequest& request, std::chrono::milliseconds timeout) {
    require_native_gtt();
    hang();
    return translated([&] { return venue_->place_gtt(request, timeout); });
}

GttReport PaperBroker::modify_gtt(const GttRequest& request, std::chrono::milliseconds timeout) {
    require_native_gtt();
    hang();
    return translated([&] { return venue_->modify_gtt(request, timeout); });
}

GttReport PaperBroker::cancel_gtt(const GttRequest& request, std::chrono::milliseconds timeout) {
    require_native_gtt();
    hang();
    return translated([&] { return venue_->cancel_gtt(request, timeout); });
}

GttReport PaperBroker::get_gtt(const std::string& account_id, const std::string& gtt_id,
                               const std::string& broker_gtt_id) {
    require_native_gtt();
    hang();
    return translated([&] { return venue_->get_gtt(account_id, gtt_id, broker_gtt_id); });
}

std::vector<GttReport> PaperBroker::list_gtts(const std::string& account_id, bool active_only) {
    require_native_gtt();
    hang();
    return translated([&] { return venue_->list_gtts(account_id, active_only); });
}

void PaperBroker::rate_limit() const {
    if (rate_limited_.count() > 0)
        throw sdk::Error(Status::RateLimited,
                         "broker-paper: throttled (fault.rate_limited_retry_after_ms); nothing "
                         "done",
                         rate_limited_);
}

void PaperBroker::admit(std::chrono::milliseconds timeout) const {
    // Every order call queues events; while the host does not take them (its own queue is full,
    // its store is slow), the calls wait here instead of the venue's queue growing without
    // bound. Past the call's deadline nothing was done: the host may answer that it was not sent.
    if (!venue_->events().wait_below(kMaxQueuedEvents, std::chrono::steady_clock::now() + timeout))
        throw sdk::Error(Status::Unavailable,
                         "broker-paper: the host is not taking the venue's events (" +
                             std::to_string(kMaxQueuedEvents) + " queued); nothing done");
}

OrderReport PaperBroker::place_order(const OrderRequest& request,
                                     std::chrono::milliseconds timeout) {
    hang();
    rate_limit();
    admit(timeout);
    if (async_ack_)
        answer_later([&] { return venue_->place_order(request, timeout); }, &request,
                     request.client_order_id);
    return delivering(
        [&] { return translated([&] { return venue_->place_order(request, timeout); }); });
}

OrderReport PaperBroker::modify_order(const ModifyRequest& request,
                                      std::chrono::milliseconds timeout) {
    hang();
    rate_limit();
    admit(timeout);
    if (!modify_) throw sdk::Error(Status::Unsupported, "broker-paper: modify is off (modify)");
    if (async_ack_)
        answer_later([&] { return venue_->modify_order(request, timeout); }, nullptr,
                     request.request_id);
    return delivering(
        [&] { return translated([&] { return venue_->modify_order(request, timeout); }); });
}

OrderReport PaperBroker::cancel_request(const CancelRequest& request,
                                        std::chrono::milliseconds timeout) {
    hang();
    rate_limit();
    admit(timeout);
    if (refuse_cancel_) {
        const std::string why = "too late to cancel (fault.refuse_cancel)";
        if (!async_ack_) throw sdk::Error(Status::Rejected, "broker-paper: " + why);
        answer_later(
            [&] {
                OrderReport r = venue_->get_order(request.account_id, request.broker_order_id,
                                                  request.client_order_id);
                r.cancel_reject_reason = why;
                return r;
            },
            nullptr, request.request_id);
    }
    if (async_ack_)
        answer_later(
            [&] {
                return venue_->cancel_order(request.account_id, request.broker_order_id,
                                            request.client_order_id, timeout, request.request_id);
            },
            nullptr, request.request_id);
    return delivering([&] {
        return translated([&] {
            return venue_->cancel_order(request.account_id, request.broker_order_id,
                                        request.client_order_id, timeout, request.request_id);
        });
    });
}

OrderReport PaperBroker::cancel_order(const std::string& account_id,
                                      const std::string& broker_order_id,
                                      const std::string& client_order_id,
                                      std::chrono::milliseconds timeout) {
    return cancel_request(CancelRequest{account_id, broker_order_id, client_order_id, "", ""},
                          timeout);
}

OrderReport PaperBroker::get_order(const std::string& account_id,
                                   const std::string& broker_order_id,
                                   const std::string& client_order_id) {
    hang();
    return translated(
        [&] { return venue_->get_order(account_id, broker_order_id, client_order_id); });
}

std::vector<OrderReport> PaperBroker::list_orders(const std::string& account_id, bool open_only,
                                                  int64_t since_ns) {
    hang();
    return translated([&] { return venue_->list_orders(account_id, open_only, since_ns); });
}

std::vector<Fill> PaperBroker::list_fills(const std::string& account_id, int64_t since_ns) {
    hang();
    return translated([&] { return venue_->list_fills(account_id, since_ns); });
}

std::vector<Position> PaperBroker::positions(const std::string& account_id) {
    hang();
    return translated([&] { return venue_->positions(account_id); });
}

Account PaperBroker::account(const std::string& account_id) {
    hang();
    return translated([&] { return venue_->account(account_id); });
}

Quote PaperBroker::quote(const std::string& symbol, const std::string& exchange) {
    hang();
    return translated([&] { return venue_->quote(symbol, exchange); });
}

void PaperBroker::subscribe_prices(const std::vector<Instrument>& instruments) {
    hang();
    translated([&] { venue_->subscribe_prices(instruments); });
}

std::vector<OrderReport> PaperBroker::cancel_all(const std::string& account_id,
                                                 std::chrono::milliseconds timeout) {
    hang();
    return delivering(
        [&] { return translated([&] { return venue_->cancel_all(account_id, timeout); }); });
}

void PaperBroker::ping(std::chrono::milliseconds /*timeout*/) {
    hang();
    translated([&] { venue_->ping(); });
}

ReportPage<OrderReport> PaperBroker::list_orders_page(const std::string& account_id,
                                                      bool open_only, int64_t since_ns,
                                                      const std::string& cursor, uint32_t limit) {
    hang();
    return translated([&] {
        return venue_->list_orders_page(account_id, open_only, since_ns, cursor, limit);
    });
}

ReportPage<Fill> PaperBroker::list_fills_page(const std::string& account_id, int64_t since_ns,
                                              const std::string& cursor, uint32_t limit) {
    hang();
    return translated(
        [&] { return venue_->list_fills_page(account_id, since_ns, cursor, limit); });
}

}  // namespace ordergate::paper
