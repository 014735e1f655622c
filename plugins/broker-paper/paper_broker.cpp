#include "paper_broker.hpp"

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
    silent_stream_ = settings.venue.fault.silent_stream;
    hang_ = settings.venue.fault.hang;
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
    worker_ = std::thread([this] { run(); });
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

void PaperBroker::deliver(std::vector<VenueEvent>& events) {
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
            }
        } catch (const std::exception& ex) {
            host_.log(
                sdk::LogLevel::Error,
                std::string("broker-paper: pushing an event to the host failed: ") + ex.what());
        }
    }
}

void PaperBroker::run() {
    using Clock = std::chrono::steady_clock;
    const bool ticking = tick_.count() > 0;
    bool stepping = ticking;
    Clock::time_point next = Clock::now() + tick_;
    for (;;) {
        Clock::time_point deadline = stepping ? next : Clock::now() + std::chrono::hours(1);
        std::vector<VenueEvent> events = venue_->events().wait_take(deadline);
        deliver(events);
        if (stopping_) {
            std::vector<VenueEvent> rest = venue_->drain_events();
            deliver(rest);
            return;
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

OrderReport PaperBroker::place_order(const OrderRequest& request,
                                     std::chrono::milliseconds timeout) {
    hang();
    return translated([&] { return venue_->place_order(request, timeout); });
}

OrderReport PaperBroker::modify_order(const ModifyRequest& request,
                                      std::chrono::milliseconds timeout) {
    hang();
    return translated([&] { return venue_->modify_order(request, timeout); });
}

OrderReport PaperBroker::cancel_order(const std::string& account_id,
                                      const std::string& broker_order_id,
                                      const std::string& client_order_id,
                                      std::chrono::milliseconds timeout) {
    hang();
    return translated([&] {
        return venue_->cancel_order(account_id, broker_order_id, client_order_id, timeout);
    });
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
    return translated([&] { return venue_->cancel_all(account_id, timeout); });
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
