#include "orders/order_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "metrics/metrics.hpp"
#include "orders/event_queue.hpp"
#include "orders/order_service_internal.hpp"
#include "positions/effective_fills.hpp"
#include "positions/position_book.hpp"

namespace ordergate::orders {

namespace detail {

std::string key2(const std::string& a, const std::string& b) {
    std::string k;
    k.reserve(a.size() + b.size() + 1);
    k.append(a).push_back('\0');
    k.append(b);
    return k;
}

// A broker's message as a client may see it: one line, bounded.
std::string client_text(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 200)) out.push_back(c == '\n' || c == '\r' ? ' ' : c);
    return out;
}

Error broker_unavailable(const std::string& broker, Status s, const std::string& order_id,
                         int64_t retry_after_ms) {
    Error e = Error::make(ErrorCode::BrokerUnavailable,
                          "broker '" + broker + "' did not take the request (" +
                              std::string(to_string(s)) + "); nothing was sent");
    e.order_id = order_id;
    // Whole seconds, rounded up (Retry-After has no finer unit); at least 1.
    e.retry_after_seconds =
        static_cast<int>(std::max<int64_t>(1, (retry_after_ms + 999) / 1000));
    return e;
}

}  // namespace detail

bool AccountScope::allows(const std::string& account) const {
    return all || std::find(accounts.begin(), accounts.end(), account) != accounts.end();
}

OrderService::OrderService(ports::StoragePort& storage,
                           std::map<std::string, ports::BrokerPort*> brokers,
                           std::vector<AccountRoute> accounts, risk::RiskChecker* risk,
                           positions::PositionBook* positions, metrics::Metrics* metrics,
                           std::shared_ptr<Clock> clock, ServiceOptions options)
    : storage_(storage),
      brokers_(std::move(brokers)),
      accounts_(std::move(accounts)),
      risk_(risk),
      positions_(positions),
      metrics_(metrics),
      clock_(std::move(clock)),
      options_(std::move(options)),
      writer_(storage, metrics, 512, options_.write_linger),
      prices_(brokers_) {
    for (const auto& a : accounts_) account_broker_[a.account_id] = a.broker;
    for (const auto& [name, b] : brokers_) {
        last_order_event_.emplace(name, std::make_unique<std::atomic<int64_t>>(0));
        if (b && b->has(OG_CAP_BATCHED_EVENTS))
            event_queues_.emplace(name, std::make_unique<EventQueue>(*this, name));
    }
}

OrderService::~OrderService() {
    stop_event_queues();  // what they hold is applied while the writer still runs
    writer_.stop();
}

void OrderService::flush() { writer_.flush(); }

// ---- recovery -----------------------------------------------------------------------------------

void OrderService::recover() {
    size_t live = 0, fills = 0;
    OrderQuery q;
    q.open_only = true;
    q.limit = 1000;
    for (;;) {
        Page<OrderRecord> page = storage_.list_orders(q);
        for (auto& rec : page.items) {
            auto e = std::make_shared<Entry>();
            e->rec = std::move(rec);
            remember(e);
            ++live;
        }
        if (page.next_cursor.empty()) break;
        q.cursor = page.next_cursor;
    }
    // Stored fills of live orders, counted to find rows that missed one.
    std::unordered_map<std::string, Decimal> filled_by_order;
    {
        FillQuery fq;
        fq.limit = 1000;
        // Every record first: a bust or correction (ABI 1.5) changes a trade stored before it,
        // so positions and sums count the effective fills (positions/effective_fills.hpp).
        std::vector<FillRecord> records;
        for (;;) {
            Page<FillRecord> page = storage_.list_fills(fq);
            for (auto& f : page.items) {
                recovered_fill_hashes_.push_back(std::hash<std::string>{}(f.id));
                records.push_back(std::move(f));
            }
            if (page.next_cursor.empty()) break;
            fq.cursor = page.next_cursor;
        }
        {
            for (const auto& f : positions::effective_fills(records)) {
                if (positions_)
                    positions_->apply_fill(positions::PositionKey{f.account_id, f.broker, f.symbol,
                                                                  f.exchange},
                                           f.side, f.quantity, f.price, f.fee, f.executed_at_ns);
                if (!f.order_id.empty() && cached(f.order_id)) {
                    auto [it, fresh] = filled_by_order.try_emplace(f.order_id, f.quantity);
                    if (!fresh) it->second = it->second + f.quantity;
                }
                ++fills;
            }
        }
    }
    size_t reapplied = 0;
    for (const auto& [id, qty] : filled_by_order) {
        EntryPtr e = cached(id);
        if (!e) continue;
        std::lock_guard lock(e->mutex);
        if (e->rec.filled_quantity == qty) continue;
        rederive_from_stored_fills(*e, "stored before a restart");
        ++reapplied;
    }
    {
        std::shared_lock cl(cache_mutex_);
        for (const auto& [id, e] : by_id_)
            prices_.track(e->rec.broker, e->rec.symbol, e->rec.exchange);
    }
    if (positions_) {
        for (const auto& p : positions_->snapshot()) prices_.track(p.broker, p.symbol, p.exchange);
    }
    if (metrics_) metrics_->set_open_orders(static_cast<double>(open_orders()));
    spdlog::info("event=recovered open_orders={} fills_replayed={} orders_reapplied={}", live,
                 fills, reapplied);

    // Events the brokers pushed while this ran, in arrival order; then events flow directly.
    size_t held = 0;
    for (;;) {
        std::vector<std::pair<std::string, std::variant<OrderReport, Fill>>> batch;
        {
            std::lock_guard lock(recovery_mutex_);
            if (held_events_.empty()) {
                recovered_ = true;
                break;
            }
            batch.swap(held_events_);
        }
        for (const auto& [broker, ev] : batch) {
            ++held;
            if (const auto* f = std::get_if<Fill>(&ev)) handle_fill(broker, *f);
            else handle_order_update(broker, std::get<OrderReport>(ev));
        }
    }
    if (held) spdlog::info("event=held_broker_events_applied count={}", held);
}

// ---- prices (market_data::PriceCache) -----------------------------------------------------------

void OrderService::start_price_feeds() { prices_.start_feeds(); }

std::optional<Decimal> OrderService::last_price(const std::string& symbol,
                                                const std::string& exchange) const {
    return prices_.last_price(symbol, exchange);
}

void OrderService::on_quote(const std::string& broker, const Quote& quote) {
    prices_.on_quote(quote);
    if (positions_) positions_->set_last_price(quote.symbol, quote.exchange, quote.last);
    (void)broker;
}

// ---- routing ------------------------------------------------------------------------------------

Result<OrderService::Route> OrderService::route(const std::string& account_id) const {
    auto it = account_broker_.find(account_id);
    if (it == account_broker_.end())
        return fail(ErrorCode::NotFound, "account '" + account_id + "' not found");
    auto b = brokers_.find(it->second);
    if (b == brokers_.end() || b->second == nullptr)
        return fail(ErrorCode::Internal, "account is mapped to a broker that is not loaded");
    Route r;
    r.broker = b->second;
    r.name = it->second;
    auto t = options_.broker_timeouts.find(r.name);
    r.timeout = t == options_.broker_timeouts.end() ? options_.broker_timeout : t->second;
    return r;
}

Result<OrderService::Route> OrderService::route_of_order(const OrderRecord& rec) const {
    auto b = brokers_.find(rec.broker);
    if (b == brokers_.end() || b->second == nullptr) {
        Error e = Error::make(ErrorCode::BrokerUnavailable,
                              "broker '" + rec.broker + "' of this order is not loaded");
        e.retry_after_seconds = 5;
        return std::unexpected(e);
    }
    Route r;
    r.broker = b->second;
    r.name = rec.broker;
    auto t = options_.broker_timeouts.find(r.name);
    r.timeout = t == options_.broker_timeouts.end() ? options_.broker_timeout : t->second;
    return r;
}

std::string OrderService::broker_of(const std::string& account_id) const {
    auto it = account_broker_.find(account_id);
    return it == account_broker_.end() ? std::string() : it->second;
}

std::vector<AccountRoute> OrderService::accounts(const AccountScope& scope) const {
    std::vector<AccountRoute> out;
    for (const auto& a : accounts_)
        if (scope.allows(a.account_id)) out.push_back(a);
    return out;
}
}  // namespace ordergate::orders
