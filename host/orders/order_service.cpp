#include "orders/order_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>

#include "common/ids.hpp"
#include "metrics/metrics.hpp"
#include "orders/state_machine.hpp"
#include "orders/storage_error.hpp"
#include "positions/position_book.hpp"
#include "risk/risk_checker.hpp"

namespace ordergate::orders {

namespace {

std::string key2(const std::string& a, const std::string& b) {
    std::string k;
    k.reserve(a.size() + b.size() + 1);
    k.append(a).push_back('\0');
    k.append(b);
    return k;
}

constexpr std::string_view kClientIdPrefix = "client_order_id:";
constexpr const char* kVersionConflict = "version conflict";
constexpr const char* kStorageUnreachable = "storage unavailable";

uint64_t cap_of(OrderType t) {
    switch (t) {
        case OrderType::Market: return OG_CAP_ORDER_MARKET;
        case OrderType::Limit: return OG_CAP_ORDER_LIMIT;
        case OrderType::Stop: return OG_CAP_ORDER_STOP;
        case OrderType::StopLimit: return OG_CAP_ORDER_STOP_LIMIT;
    }
    return ~0ull;
}

uint64_t cap_of(TimeInForce t) {
    switch (t) {
        case TimeInForce::Day: return OG_CAP_TIF_DAY;
        case TimeInForce::Gtc: return OG_CAP_TIF_GTC;
        case TimeInForce::Ioc: return OG_CAP_TIF_IOC;
        case TimeInForce::Fok: return OG_CAP_TIF_FOK;
    }
    return ~0ull;
}

// A broker's message as a client may see it: one line, bounded.
std::string client_text(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 200)) out.push_back(c == '\n' || c == '\r' ? ' ' : c);
    return out;
}

bool not_sent(Status s) {
    return s == Status::Unavailable || s == Status::Timeout || s == Status::RateLimited;
}
bool refused(Status s) {
    return s == Status::Rejected || s == Status::InvalidArgument || s == Status::Unsupported ||
           s == Status::NotFound;
}

Error broker_unavailable(const std::string& broker, Status s, const std::string& order_id) {
    Error e = Error::make(ErrorCode::BrokerUnavailable,
                          "broker '" + broker + "' did not take the request (" +
                              std::string(to_string(s)) + "); nothing was sent");
    e.order_id = order_id;
    e.retry_after_seconds = 1;
    return e;
}

// Why a synchronous change of an order was not committed (commit_change's `error`), as the API
// answers it: another writer won the race twice (409), the store did not answer (503), or a bug
// (an illegal transition, a write the store refused: 500).
Error change_failed(const std::string& why, const std::string& request_id) {
    if (why == kVersionConflict)
        return Error::make(ErrorCode::Conflict,
                           "the order changed concurrently; read it again and retry");
    if (why == kStorageUnreachable) {
        Error e = Error::make(ErrorCode::StorageUnavailable, "order storage is unavailable");
        e.retry_after_seconds = 1;
        return e;
    }
    return Error::make(ErrorCode::Internal, "internal error; quote request id " + request_id);
}

}  // namespace

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
      writer_(storage, metrics),
      prices_(brokers_) {
    for (const auto& a : accounts_) account_broker_[a.account_id] = a.broker;
}

OrderService::~OrderService() { writer_.stop(); }

void OrderService::flush() { writer_.flush(); }

// ---- recovery ---------------------------------------------------------------------------------

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
        for (;;) {
            Page<FillRecord> page = storage_.list_fills(fq);
            for (const auto& f : page.items) {
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
            if (page.next_cursor.empty()) break;
            fq.cursor = page.next_cursor;
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

void OrderService::start_price_feeds() { prices_.start_feeds(); }

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

// ---- cache --------------------------------------------------------------------------------------

OrderService::EntryPtr OrderService::cached(const std::string& id) const {
    std::shared_lock lock(cache_mutex_);
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : it->second;
}

OrderService::EntryPtr OrderService::find_by_client_id(const std::string& account,
                                                       const std::string& cid) const {
    std::shared_lock lock(cache_mutex_);
    auto it = by_client_id_.find(key2(account, cid));
    if (it == by_client_id_.end()) return nullptr;
    auto e = by_id_.find(it->second);
    return e == by_id_.end() ? nullptr : e->second;
}

OrderService::EntryPtr OrderService::find_by_broker_id(const std::string& broker,
                                                       const std::string& boid) const {
    std::shared_lock lock(cache_mutex_);
    auto it = by_broker_id_.find(key2(broker, boid));
    if (it == by_broker_id_.end()) return nullptr;
    auto e = by_id_.find(it->second);
    return e == by_id_.end() ? nullptr : e->second;
}

void OrderService::remember(const EntryPtr& e) {
    std::unique_lock lock(cache_mutex_);
    // Only the owner of a new entry, or recovery, calls this: the record is not shared yet.
    const OrderRecord& r = e->rec;
    by_id_[r.id] = e;
    by_client_id_[key2(r.account_id, r.client_order_id)] = r.id;
    if (!r.broker_order_id.empty()) by_broker_id_[key2(r.broker, r.broker_order_id)] = r.id;
    if (metrics_) metrics_->set_open_orders(static_cast<double>(by_id_.size()));
}

void OrderService::erase_locked(const OrderRecord& r) {
    by_id_.erase(r.id);
    by_client_id_.erase(key2(r.account_id, r.client_order_id));
    if (!r.broker_order_id.empty()) by_broker_id_.erase(key2(r.broker, r.broker_order_id));
    if (metrics_) metrics_->set_open_orders(static_cast<double>(by_id_.size()));
}

void OrderService::index_broker_id(const std::string& broker, const std::string& boid,
                                   const std::string& id) {
    std::unique_lock lock(cache_mutex_);
    if (by_id_.count(id)) by_broker_id_[key2(broker, boid)] = id;
}

void OrderService::forget_if_terminal(const std::string& id, int64_t version) {
    EntryPtr e = cached(id);
    if (!e) return;
    // Called on the writer thread: never wait for an entry's mutex here (its holder may be
    // waiting for this very thread). An entry in use is kept; a later write evicts it.
    std::unique_lock entry_lock(e->mutex, std::try_to_lock);
    if (!entry_lock.owns_lock()) {
        std::lock_guard lock(evict_mutex_);
        evict_later_.emplace_back(id, version);
        evict_pending_.store(true, std::memory_order_release);
        return;
    }
    if (e->rec.version != version || !is_terminal(e->rec.status)) return;
    std::unique_lock lock(cache_mutex_);
    erase_locked(e->rec);
}

void OrderService::evict_deferred() {
    if (!evict_pending_.load(std::memory_order_acquire)) return;
    std::vector<std::pair<std::string, int64_t>> deferred;
    {
        std::lock_guard lock(evict_mutex_);
        deferred.swap(evict_later_);
        evict_pending_.store(false, std::memory_order_release);
    }
    for (const auto& [id, version] : deferred) {
        EntryPtr e = cached(id);
        if (!e) continue;
        std::lock_guard entry_lock(e->mutex);
        // A newer version means a newer write, which evicts the entry when it lands.
        if (e->rec.version != version || !is_terminal(e->rec.status)) continue;
        std::unique_lock lock(cache_mutex_);
        erase_locked(e->rec);
    }
}

size_t OrderService::open_orders() const {
    std::shared_lock lock(cache_mutex_);
    return by_id_.size();
}

OrderService::EntryPtr OrderService::load(const std::string& id) {
    if (auto e = cached(id)) return e;
    std::optional<OrderRecord> rec = storage_.get_order(id);
    if (!rec) return nullptr;
    auto e = std::make_shared<Entry>();
    e->rec = std::move(*rec);
    // Terminal orders stay in storage only: the cache holds live orders, so it is bounded by
    // them and never grows with history. A change to a terminal order (a late fill) is written
    // with its version check like any other.
    if (is_terminal(e->rec.status)) return e;
    std::unique_lock lock(cache_mutex_);
    auto [it, inserted] = by_id_.emplace(id, e);
    if (!inserted) return it->second;  // another thread loaded it first
    by_client_id_[key2(e->rec.account_id, e->rec.client_order_id)] = id;
    if (!e->rec.broker_order_id.empty())
        by_broker_id_[key2(e->rec.broker, e->rec.broker_order_id)] = id;
    return e;
}

OrderService::EntryPtr OrderService::load_for_report(const std::string& broker,
                                                     const std::string& account,
                                                     const std::string& cid,
                                                     const std::string& boid) {
    // Match by client order id first: broker order ids are not unique forever (DESIGN.md).
    if (!cid.empty() && !account.empty()) {
        if (auto e = find_by_client_id(account, cid)) return e;
    }
    if (!boid.empty()) {
        if (auto e = find_by_broker_id(broker, boid)) return e;
    }
    std::optional<OrderRecord> rec;
    if (!cid.empty() && !account.empty()) rec = storage_.get_order_by_client_id(account, cid);
    if (!rec && !boid.empty()) rec = storage_.get_order_by_broker_id(broker, boid);
    if (!rec || rec->broker != broker) return nullptr;
    return load(rec->id);
}

Result<OrderService::EntryPtr> OrderService::resolve(const std::string& id,
                                                     const AccountScope& scope) {
    try {
        if (id.rfind(kClientIdPrefix, 0) == 0) {
            std::string cid = id.substr(kClientIdPrefix.size());
            if (cid.empty()) return fail(ErrorCode::NotFound, "order not found");
            for (const auto& a : accounts_) {
                if (!scope.allows(a.account_id)) continue;
                if (auto e = find_by_client_id(a.account_id, cid)) return e;
                if (auto rec = storage_.get_order_by_client_id(a.account_id, cid))
                    if (auto e = load(rec->id)) return e;
            }
            return fail(ErrorCode::NotFound, "order not found");
        }
        if (!ids::looks_like(id, "ord_")) return fail(ErrorCode::NotFound, "order not found");
        EntryPtr e = load(id);
        if (!e) return fail(ErrorCode::NotFound, "order not found");
        std::string account;
        {
            std::lock_guard lock(e->mutex);
            account = e->rec.account_id;
        }
        if (!scope.allows(account)) return fail(ErrorCode::NotFound, "order not found");
        return e;
    } catch (const sdk::Error& err) {
        return fail(storage_error(err, StorageAccess::Read, "get_order"));
    }
}

// ---- changes ------------------------------------------------------------------------------------

OrderEvent OrderService::make_event(const OrderRecord& next, std::optional<OrderStatus> from,
                                    EventSource source, const std::string& request_id,
                                    std::string reason, bool emulated) const {
    OrderEvent ev;
    ev.order_id = next.id;
    ev.seq = next.version;
    ev.from_status = from;
    ev.to_status = next.status;
    ev.source = source;
    ev.reason = std::move(reason);
    ev.request_id = request_id;
    ev.broker_order_id = next.broker_order_id;
    ev.filled_quantity = next.filled_quantity;
    ev.emulated = emulated;
    ev.at_ns = next.updated_at_ns;
    return ev;
}

bool OrderService::commit_change(Entry& e, OrderRecord next, OrderEvent event, bool wait,
                                 std::string* error) {
    const OrderStatus from = e.rec.status;
    // A terminal order changes only by facts (a late fill, a broker id learnt late): never by a
    // repeated terminal report.
    const bool terminal_repeat = from == next.status && is_terminal(from) &&
                                 next.filled_quantity == e.rec.filled_quantity &&
                                 next.broker_order_id == e.rec.broker_order_id;
    if (terminal_repeat || !is_consistent(next.status, next.quantity, next.filled_quantity)) {
        spdlog::error("event=inconsistent_change order_id={} status={} quantity={} filled={} "
                      "source={}",
                      e.rec.id, to_string(next.status), next.quantity.to_string(),
                      next.filled_quantity.to_string(), to_string(event.source));
        if (metrics_) metrics_->illegal_transition(to_string(from), to_string(next.status));
        if (error) *error = "inconsistent change to " + std::string(to_string(next.status));
        return false;
    }
    if (from != next.status && !is_legal_transition(from, next.status)) {
        spdlog::error(
            "event=illegal_transition order_id={} client_order_id={} broker={} transition=\"{}\" "
            "source={}",
            e.rec.id, e.rec.client_order_id, e.rec.broker,
            describe_transition(from, next.status), to_string(event.source));
        if (metrics_) metrics_->illegal_transition(to_string(from), to_string(next.status));
        if (error) *error = "illegal transition " + describe_transition(from, next.status);
        return false;
    }
    const int64_t expected = e.rec.version;
    next.version = expected + 1;
    next.updated_at_ns = now_ns();
    event.order_id = next.id;
    event.seq = next.version;
    event.from_status = from;
    event.to_status = next.status;
    event.broker_order_id = next.broker_order_id;
    event.filled_quantity = next.filled_quantity;
    event.at_ns = next.updated_at_ns;

    WriteOp op;
    op.kind = WriteKind::UpdateOrder;
    op.expected_version = expected;
    op.order = next;
    op.event = std::move(event);
    const bool terminal = is_terminal(next.status);
    const std::string id = next.id;
    const int64_t version = next.version;
    if (wait) {
        std::vector<WriteOp> ops;
        ops.push_back(std::move(op));
        try {
            auto results = writer_.write(std::move(ops));
            if (results[0] != Status::Ok) {
                // Another gateway instance changed the order: take storage's version.
                spdlog::warn("event=order_write_conflict order_id={} expected_version={}", id,
                             expected);
                if (error) *error = kVersionConflict;
                try {
                    if (auto fresh = storage_.get_order(id)) e.rec = std::move(*fresh);
                } catch (const sdk::Error& ex) {
                    spdlog::error("event=storage_read_failed op=get_order error=\"{}\"",
                                  ex.what());
                }
                return false;
            }
        } catch (const std::exception& ex) {
            spdlog::error("event=order_write_failed order_id={} error=\"{}\"", id, ex.what());
            const auto* se = dynamic_cast<const sdk::Error*>(&ex);
            if (error)
                *error = se && storage_unreachable(se->status()) ? kStorageUnreachable
                                                                 : "storage refused the write";
            return false;
        }
        e.rec = std::move(next);
        if (terminal) {
            std::unique_lock lock(cache_mutex_);
            erase_locked(e.rec);
        }
        return true;
    }
    e.rec = std::move(next);
    std::vector<WriteOp> ops;
    ops.push_back(std::move(op));
    writer_.write_async(std::move(ops), [this, id, version, terminal](
                                            const std::vector<Status>* results,
                                            std::exception_ptr err) {
        if (err || (*results)[0] != Status::Ok) {
            // The change is applied in memory and the answer was given; storage missed it.
            // Reconciliation re-derives it from the broker. Loud, because it should not happen.
            spdlog::error("event=write_behind_failed order_id={} version={} reason={}", id,
                          version, err ? "storage error" : "version conflict");
            return;
        }
        if (terminal) forget_if_terminal(id, version);
    }, /*keep_until_written=*/true);
    return true;
}

void OrderService::apply_report(Entry& e, const std::string& broker, const OrderReport& report,
                                const Origin& origin, bool wait, Answer answer_to) {
    // The record holds the venue's last confirmed state (terms, filled, average) and, in its
    // status, at most one pending request (PENDING_NEW, PENDING_REPLACE, PENDING_CANCEL). A
    // report updates the confirmed state; only the request's own answer (or a terminal report)
    // settles the request. So a report that crossed a request on the wire cannot be read as the
    // request's outcome.
    OrderRecord next = e.rec;
    bool changed = false;
    if (!report.broker_order_id.empty() && next.broker_order_id != report.broker_order_id) {
        if (next.broker_order_id.empty()) {
            next.broker_order_id = report.broker_order_id;
            index_broker_id(broker, report.broker_order_id, next.id);
            changed = true;
        }
    }
    const OrderStatus cur = e.rec.status;
    OrderStatus target = cur;
    std::string reason;
    auto live_status = [&] {
        return derive_status_from_fills(next.quantity, next.filled_quantity);
    };
    // The venue's terms as a report states them (after a modify it confirmed, or its own
    // change). A quantity below what is filled is not a term the venue can hold (kept as it
    // was, loudly). Returns whether a term changed.
    auto take_terms = [&]() -> bool {
        if (report.quantity.is_positive() && report.quantity >= next.filled_quantity)
            next.quantity = report.quantity;
        else if (report.quantity.is_positive())
            spdlog::error("event=modify_quantity_below_filled order_id={} reported={} filled={}",
                          e.rec.id, report.quantity.to_string(),
                          next.filled_quantity.to_string());
        next.price = report.price;
        next.trigger_price = report.trigger_price;
        next.order_type = report.order_type;
        next.time_in_force = report.time_in_force;
        const bool differs = next.quantity != e.rec.quantity || next.price != e.rec.price ||
                             next.trigger_price != e.rec.trigger_price ||
                             next.order_type != e.rec.order_type ||
                             next.time_in_force != e.rec.time_in_force;
        if (differs) {
            changed = true;
            reason = cur == OrderStatus::PendingReplace || answer_to == Answer::Modify
                         ? "modify confirmed"
                         : "terms reported by broker";
        }
        return differs;
    };
    const bool request_pending =
        cur == OrderStatus::PendingReplace || cur == OrderStatus::PendingCancel;
    // The venue's final word on a live order carries its final terms (a modify whose answer was
    // lost may have changed them).
    if (!is_terminal(cur) && (report.status == OrderStatus::Filled ||
                              report.status == OrderStatus::Cancelled ||
                              report.status == OrderStatus::Expired))
        take_terms();
    if (next.quantity != e.rec.quantity) e.modify_unsettled = false;
    // Fills stored but not counted (they overfilled the quantity known then) count now if the
    // venue's terms allow them.
    if (e.fills_pending && !is_terminal(cur)) {
        const FillSums sums = stored_fill_sums(e.rec);
        if (sums.quantity <= next.quantity && sums.quantity != next.filled_quantity) {
            next.filled_quantity = sums.quantity;
            next.average_fill_price =
                sums.notional.average(sums.quantity, options_.average_price_scale).value;
            e.notional = sums.notional;
            changed = true;
            reason = "stored fills counted after the venue's terms changed";
            e.fills_pending = false;
        }
    }
    switch (report.status) {
        case OrderStatus::PartiallyFilled:
        case OrderStatus::Filled:
        case OrderStatus::Open:
            // Fills drive the filled quantity (they are facts, de-duplicated by trade id); a report
            // acknowledges the order or confirms a pending modify. A done order keeps its terms.
            if (is_terminal(cur)) {
                break;
            } else if (cur == OrderStatus::PendingNew) {
                take_terms();
                target = live_status();
            } else if (answer_to == Answer::Modify) {
                // The modify's own answer: its terms are confirmed whatever else is pending now
                // (a cancel sent meanwhile stays pending).
                take_terms();
                e.modify_unsettled = false;
                if (cur == OrderStatus::PendingReplace) target = live_status();
            } else if (answer_to == Answer::None) {
                // A pushed report states the venue's current terms (a session delivers in
                // order, so it is never older than an answer already applied). While a modify
                // is pending, new terms are its confirmation; the same terms are a report that
                // crossed the request, and the modify stays pending.
                if (take_terms() && cur == OrderStatus::PendingReplace) target = live_status();
            }
            // The venue says the order is done, and the fills here agree: FILLED, whatever was
            // pending (a FILLED the fills do not reach waits for them).
            if (!is_terminal(cur) && report.status == OrderStatus::Filled &&
                next.filled_quantity == next.quantity)
                target = OrderStatus::Filled;
            // PENDING_CANCEL: an OPEN report is a status that crossed the cancel, not its
            // refusal; the cancel's own answer, a terminal report or reconciliation settles it.
            break;
        case OrderStatus::PendingNew:
            break;
        case OrderStatus::PendingReplace:
        case OrderStatus::PendingCancel:
            if (!is_terminal(cur)) target = report.status;
            break;
        case OrderStatus::Rejected:
            if (request_pending) {
                // With a modify or cancel pending, a reject is the request's: the order lives on
                // with its confirmed terms and fills.
                target = live_status();
                reason = std::string(cur == OrderStatus::PendingReplace ? "modify" : "cancel") +
                         " refused by broker: " + client_text(report.reject_reason);
                break;
            }
            target = report.status;
            next.reject_reason = client_text(report.reject_reason);
            reason = next.reject_reason;
            break;
        case OrderStatus::Cancelled:
        case OrderStatus::Expired:
            target = report.status;
            break;
    }
    if (target == cur && !changed) return;  // a duplicate or stale report
    if (is_terminal(cur) && target != cur) {
        spdlog::warn("event=stale_report order_id={} status={} reported={} broker={}", e.rec.id,
                     to_string(cur), to_string(report.status), broker);
        if (metrics_) metrics_->illegal_transition(to_string(cur), to_string(report.status));
        if (!changed) return;
        target = cur;
    }
    next.status = target;
    OrderEvent ev = make_event(next, cur, EventSource::Broker, origin.request_id, reason, false);
    if (commit_change(e, std::move(next), std::move(ev), wait) && e.fills_pending) {
        try {
            if (rederive_from_stored_fills(e, "the order's terms changed")) e.fills_pending = false;
        } catch (const std::exception& ex) {
            spdlog::error("event=storage_read_failed op=list_fills order_id={} error=\"{}\"",
                          e.rec.id, ex.what());
        }
    }
}

// ---- place --------------------------------------------------------------------------------------

Result<PlaceResult> OrderService::place(OrderRequest req, const AccountScope& scope,
                                        const Origin& origin) {
    if (req.account_id.empty()) {
        if (!scope.all && scope.accounts.size() == 1) {
            req.account_id = scope.accounts.front();
        } else {
            Error e = Error::make(ErrorCode::ValidationFailed, "account_id is required");
            e.errors.push_back({"account_id", "is required"});
            return fail(e);
        }
    }
    if (!scope.allows(req.account_id))
        return fail(ErrorCode::NotFound, "account '" + req.account_id + "' not found");
    auto r = route(req.account_id);
    if (!r) return fail(r.error());
    ports::BrokerPort& broker = *r->broker;

    if (!broker.has(cap_of(req.order_type)))
        return fail(ErrorCode::UnsupportedByBroker,
                    "broker '" + r->name + "' does not support order type " +
                        std::string(to_string(req.order_type)));
    if (!broker.has(cap_of(req.time_in_force)))
        return fail(ErrorCode::UnsupportedByBroker,
                    "broker '" + r->name + "' does not support time in force " +
                        std::string(to_string(req.time_in_force)));
    if (!broker_connected(r->name)) return fail(broker_unavailable(r->name, Status::Unavailable, ""));

    if (risk_) {
        std::optional<Decimal> ref = last_price(req.symbol, req.exchange);
        if (!ref && req.order_type == OrderType::Market && broker.has(OG_CAP_QUOTES)) {
            try {
                ref = broker.quote(req.symbol, req.exchange).last;
            } catch (const sdk::Error& e) {
                spdlog::warn("event=quote_failed broker={} symbol={} error=\"{}\"", r->name,
                             req.symbol, e.what());
            }
        }
        if (auto rej = risk_->check(req, ref)) {
            if (metrics_) metrics_->order_result(r->name, "risk_rejected");
            return fail(ErrorCode::RiskRejected, rej->detail);
        }
    }

    prices_.watch(r->name, req.symbol, req.exchange);
    evict_deferred();
    const int64_t now = now_ns();
    if (req.client_order_id.empty()) req.client_order_id = ids::new_id("og-");
    if (req.extra_json.empty()) req.extra_json = "{}";

    auto entry = std::make_shared<Entry>();
    OrderRecord& rec = entry->rec;
    rec.id = ids::new_id("ord_", static_cast<uint64_t>(now / 1'000'000));
    rec.client_order_id = req.client_order_id;
    rec.broker = r->name;
    rec.account_id = req.account_id;
    rec.symbol = req.symbol;
    rec.exchange = req.exchange;
    rec.side = req.side;
    rec.order_type = req.order_type;
    rec.time_in_force = req.time_in_force;
    rec.status = OrderStatus::PendingNew;
    rec.quantity = req.quantity;
    rec.filled_quantity = Decimal(0, 0);
    rec.price = req.price;
    rec.trigger_price = req.trigger_price;
    rec.product = req.product;
    rec.tag = req.tag;
    rec.extra_json = req.extra_json;
    rec.created_at_ns = now;
    rec.updated_at_ns = now;
    rec.version = 1;

    // 1. Persist the intent. No durable row, no broker call.
    {
        WriteOp op;
        op.kind = WriteKind::InsertOrder;
        op.order = rec;
        op.event = make_event(rec, std::nullopt, origin.source, origin.request_id, "", false);
        std::vector<WriteOp> ops;
        ops.push_back(std::move(op));
        std::vector<Status> results;
        try {
            results = writer_.write(std::move(ops));
        } catch (const std::exception& e) {
            spdlog::error("event=intent_write_failed request_id={} client_order_id={} "
                          "account_id={} error=\"{}\"",
                          origin.request_id, rec.client_order_id, rec.account_id, e.what());
            // An unreachable store is a 503 to retry; a write the store refused is a bug (500),
            // and neither reaches the broker. Only the first counts as an outage.
            Error err = storage_error(e, StorageAccess::Write, "write_intent", origin.request_id);
            if (metrics_)
                metrics_->order_result(r->name, err.code == ErrorCode::StorageUnavailable
                                                    ? "storage_unavailable"
                                                    : "storage_error");
            return fail(std::move(err));
        }
        if (results[0] == Status::Conflict) {
            Error e = Error::make(ErrorCode::DuplicateClientOrderId,
                                  "account '" + rec.account_id +
                                      "' already has an order with client_order_id '" +
                                      rec.client_order_id + "'");
            if (auto existing = find_by_client_id(rec.account_id, rec.client_order_id)) {
                std::lock_guard lock(existing->mutex);
                e.order_id = existing->rec.id;
            } else {
                try {
                    if (auto s = storage_.get_order_by_client_id(rec.account_id,
                                                                 rec.client_order_id))
                        e.order_id = s->id;
                } catch (const sdk::Error& err) {
                    spdlog::error("event=storage_read_failed op=get_order_by_client_id error=\"{}\"",
                                  err.what());
                }
            }
            if (metrics_) metrics_->order_result(r->name, "duplicate");
            return fail(e);
        }
    }
    remember(entry);

    // 2. The broker call, with a deadline. Its answer is applied under the order's mutex; fills
    // pushed meanwhile may already have moved the order on. A fill that names only a broker
    // order id this ack has not indexed yet is parked until the call is settled (declared
    // before the lock below, so it runs after the lock is released).
    struct InFlight {
        OrderService* self;
        std::string broker;
        ~InFlight() { self->place_finished(broker); }
    };
    place_started(r->name);
    InFlight in_flight{this, r->name};
    auto [status, message, report] =
        call_broker(r->name, "place", [&] { return broker.place_order(req, r->timeout); });

    std::lock_guard lock(entry->mutex);
    Origin broker_origin{origin.request_id, EventSource::Broker};
    if (status == Status::Ok) {
        apply_report(*entry, r->name, report, broker_origin, false, Answer::Place);
        if (metrics_) metrics_->order_result(r->name, "accepted");
        return PlaceResult{entry->rec, true};
    }
    if (refused(status) || not_sent(status)) {
        OrderRecord next = entry->rec;
        if (!is_terminal(next.status)) {
            next.status = OrderStatus::Rejected;
            next.reject_reason = not_sent(status)
                                     ? "NOT_SENT: broker " + std::string(to_string(status))
                                     : client_text(message);
            OrderEvent ev = make_event(next, entry->rec.status, EventSource::Broker,
                                       origin.request_id, next.reject_reason, false);
            commit_change(*entry, std::move(next), std::move(ev), false);
        }
        if (not_sent(status)) {
            spdlog::warn("event=broker_unavailable op=place order_id={} broker={} status={} "
                         "error=\"{}\"",
                         entry->rec.id, r->name, to_string(status), message);
            if (metrics_) metrics_->order_result(r->name, "unavailable");
            Error e = broker_unavailable(r->name, status, entry->rec.id);
            e.broker_called = true;
            return fail(e);
        }
        if (metrics_) metrics_->order_result(r->name, "rejected");
        Error e = Error::make(ErrorCode::BrokerRejected,
                              "broker rejected the order: " + client_text(message));
        e.order_id = entry->rec.id;
        e.broker_called = true;
        return fail(e);
    }
    // Unknown outcome (a timeout after sending, a lost connection, or a plugin failure): the
    // order may exist at the broker. It stays PENDING_NEW; reconciliation settles it.
    spdlog::warn("event=unknown_outcome op=place order_id={} client_order_id={} broker={} "
                 "status={} error=\"{}\"",
                 entry->rec.id, entry->rec.client_order_id, r->name, to_string(status), message);
    if (metrics_) metrics_->order_result(r->name, "unknown_outcome");
    return PlaceResult{entry->rec, false};
}

void OrderService::record_broker_call(const std::string& broker, const char* op, Status status,
                                      std::chrono::steady_clock::time_point t0) const {
    if (!metrics_) return;
    metrics_->broker_call(
        broker, op, to_string(status),
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

template <typename Call>
OrderService::BrokerAnswer OrderService::call_broker(const std::string& broker, const char* op,
                                                     Call&& call) const {
    BrokerAnswer answer;
    const auto t0 = std::chrono::steady_clock::now();
    try {
        answer.report = call();
    } catch (const sdk::Error& e) {
        answer.status = e.status();
        answer.message = e.what();
    }
    record_broker_call(broker, op, answer.status, t0);
    return answer;
}

// ---- reads --------------------------------------------------------------------------------------

Result<OrderRecord> OrderService::get(const std::string& id, const AccountScope& scope) {
    auto e = resolve(id, scope);
    if (!e) return fail(e.error());
    std::lock_guard lock((*e)->mutex);
    return (*e)->rec;
}

Result<Page<OrderRecord>> OrderService::list(OrderQuery query, const AccountScope& scope) {
    if (!scope.all) {
        if (query.account_ids.empty()) {
            query.account_ids = scope.accounts;
        } else {
            std::vector<std::string> allowed;
            for (const auto& a : query.account_ids)
                if (scope.allows(a)) allowed.push_back(a);
            query.account_ids = std::move(allowed);
        }
        if (query.account_ids.empty()) return Page<OrderRecord>{};
    }
    Page<OrderRecord> page;
    try {
        // Acks and fills are written behind the answers already given: storage must hold every
        // change a client has seen before a filter (status=OPEN) runs on it. Costs one lock when
        // no such write is pending, else one group commit; an intent still being written (not
        // yet answered) is not waited for.
        writer_.flush_answered();
        page = storage_.list_orders(query);
    } catch (const sdk::Error& err) {
        return fail(storage_error(err, StorageAccess::Read, "list_orders"));
    }
    // Changes made since the flush are newer in memory.
    for (auto& item : page.items) {
        if (auto e = cached(item.id)) {
            std::lock_guard lock(e->mutex);
            if (e->rec.version > item.version) item = e->rec;
        }
    }
    return page;
}

Result<std::vector<OrderEvent>> OrderService::events(const std::string& id,
                                                     const AccountScope& scope, int64_t after_seq,
                                                     uint32_t limit) {
    auto e = resolve(id, scope);
    if (!e) return fail(e.error());
    std::string order_id;
    {
        std::lock_guard lock((*e)->mutex);
        order_id = (*e)->rec.id;
    }
    try {
        writer_.flush_answered();  // the trail includes every change answered so far
        return storage_.list_events(order_id, after_seq, limit);
    } catch (const sdk::Error& err) {
        return fail(storage_error(err, StorageAccess::Read, "list_events"));
    }
}

Result<Page<FillRecord>> OrderService::trades(FillQuery query, const AccountScope& scope) {
    if (!scope.all) {
        if (query.account_ids.empty()) {
            query.account_ids = scope.accounts;
        } else {
            std::vector<std::string> allowed;
            for (const auto& a : query.account_ids)
                if (scope.allows(a)) allowed.push_back(a);
            query.account_ids = std::move(allowed);
        }
        if (query.account_ids.empty()) return Page<FillRecord>{};
    }
    if (!query.order_id.empty()) {
        auto e = resolve(query.order_id, scope);
        if (!e && e.error().code == ErrorCode::NotFound) return Page<FillRecord>{};
        if (!e) return fail(e.error());
    }
    try {
        writer_.flush_answered();  // fills are written behind: list every one a client saw
        return storage_.list_fills(query);
    } catch (const sdk::Error& err) {
        return fail(storage_error(err, StorageAccess::Read, "list_fills"));
    }
}

Result<Account> OrderService::account(const std::string& account_id, const AccountScope& scope) {
    if (!scope.allows(account_id))
        return fail(ErrorCode::NotFound, "account '" + account_id + "' not found");
    auto r = route(account_id);
    if (!r) return fail(r.error());
    if (!r->broker->has(OG_CAP_REPORT_ACCOUNT))
        return fail(ErrorCode::UnsupportedByBroker,
                    "broker '" + r->name + "' does not report account state");
    auto t0 = std::chrono::steady_clock::now();
    try {
        Account a = r->broker->account(account_id);
        record_broker_call(r->name, "account", Status::Ok, t0);
        a.account_id = account_id;
        return a;
    } catch (const sdk::Error& e) {
        record_broker_call(r->name, "account", e.status(), t0);
        spdlog::warn("event=broker_call_failed op=account broker={} account_id={} status={} "
                     "error=\"{}\"",
                     r->name, account_id, to_string(e.status()), e.what());
        if (e.status() == Status::NotFound)
            return fail(ErrorCode::NotFound, "account '" + account_id + "' not found");
        return fail(broker_unavailable(r->name, e.status(), ""));
    }
}

std::optional<Decimal> OrderService::last_price(const std::string& symbol,
                                                const std::string& exchange) const {
    return prices_.last_price(symbol, exchange);
}

// ---- modify and cancel ----------------------------------------------------------------------

Result<ChangeResult> OrderService::modify(const std::string& id, const ModifyRequest& change,
                                          const AccountScope& scope, const Origin& origin,
                                          int attempt) {
    auto found = resolve(id, scope);
    if (!found) return fail(found.error());
    EntryPtr entry = *found;
    Route rt;
    ModifyRequest req = change;
    OrderStatus previous;
    bool retry = false;
    {
        std::lock_guard lock(entry->mutex);
        const OrderRecord& cur = entry->rec;
        if (!can_modify(cur.status))
            return fail(ErrorCode::OrderNotModifiable,
                        "order " + cur.id + " is " + std::string(to_string(cur.status)) +
                            " and cannot be modified");
        auto r = route_of_order(cur);
        if (!r) return fail(r.error());
        rt = *r;
        ports::BrokerPort& b = *rt.broker;
        auto need = [&](bool asked, uint64_t cap, const char* what) -> std::optional<Error> {
            if (asked && !b.has(OG_CAP_MODIFY | cap))
                return Error::make(ErrorCode::UnsupportedByBroker,
                                   "broker '" + rt.name + "' cannot modify " + what);
            return std::nullopt;
        };
        for (auto err : {need(req.quantity.has_value(), OG_CAP_MODIFY_QUANTITY, "quantity"),
                         need(req.price.has_value(), OG_CAP_MODIFY_PRICE, "price"),
                         need(req.trigger_price.has_value(), OG_CAP_MODIFY_TRIGGER,
                              "trigger_price"),
                         need(req.order_type.has_value(), OG_CAP_MODIFY_ORDER_TYPE, "order_type"),
                         need(req.time_in_force.has_value(), OG_CAP_MODIFY_TIF,
                              "time_in_force")})
            if (err) return fail(*err);

        // The order as it would be after the change must itself be valid.
        OrderType type = req.order_type.value_or(cur.order_type);
        std::optional<Decimal> price = req.price ? req.price : cur.price;
        std::optional<Decimal> trigger = req.trigger_price ? req.trigger_price : cur.trigger_price;
        Error v = Error::make(ErrorCode::ValidationFailed, "the modified order is not valid");
        if (type == OrderType::Market && req.order_type && price && !req.price) price.reset();
        if ((type == OrderType::Limit || type == OrderType::StopLimit) && !price)
            v.errors.push_back({"price", "is required for " + std::string(to_string(type))});
        if (type == OrderType::Market && price)
            v.errors.push_back({"price", "must be absent for MARKET"});
        if ((type == OrderType::Stop || type == OrderType::StopLimit) && !trigger)
            v.errors.push_back({"trigger_price",
                                "is required for " + std::string(to_string(type))});
        if (req.quantity && *req.quantity <= cur.filled_quantity)
            v.errors.push_back({"quantity", "must be greater than the filled quantity " +
                                                cur.filled_quantity.to_string()});
        if (req.time_in_force && !b.has(cap_of(*req.time_in_force)))
            return fail(ErrorCode::UnsupportedByBroker,
                        "broker '" + rt.name + "' does not support time in force " +
                            std::string(to_string(*req.time_in_force)));
        if (req.order_type && !b.has(cap_of(*req.order_type)))
            return fail(ErrorCode::UnsupportedByBroker,
                        "broker '" + rt.name + "' does not support order type " +
                            std::string(to_string(*req.order_type)));
        if (!v.errors.empty()) return fail(v);
        if (risk_) {
            // The same pre-trade checks as place, on the order as it would become (its remaining
            // quantity is not what a limit bounds: the whole order is).
            OrderRequest as_modified;
            as_modified.account_id = cur.account_id;
            as_modified.symbol = cur.symbol;
            as_modified.exchange = cur.exchange;
            as_modified.side = cur.side;
            as_modified.order_type = type;
            as_modified.time_in_force = req.time_in_force.value_or(cur.time_in_force);
            as_modified.quantity = req.quantity.value_or(cur.quantity);
            as_modified.price = price;
            as_modified.trigger_price = trigger;
            as_modified.client_order_id = cur.client_order_id;
            if (auto rej = risk_->check(as_modified, last_price(cur.symbol, cur.exchange))) {
                if (metrics_) metrics_->order_result(rt.name, "risk_rejected");
                return fail(ErrorCode::RiskRejected, rej->detail);
            }
        }
        if (!broker_connected(rt.name)) return fail(broker_unavailable(rt.name, Status::Unavailable, cur.id));

        req.account_id = cur.account_id;
        req.broker_order_id = cur.broker_order_id;
        req.client_order_id = cur.client_order_id;
        previous = cur.status;
        OrderRecord next = cur;
        next.status = OrderStatus::PendingReplace;
        OrderEvent ev = make_event(next, cur.status, origin.source, origin.request_id,
                                   "modify requested", false);
        std::string why;
        if (!commit_change(*entry, std::move(next), std::move(ev), true, &why)) {
            if (why != kVersionConflict || attempt > 0)
                return fail(change_failed(why, origin.request_id));
            retry = true;
        }
    }
    if (retry) return modify(id, change, scope, origin, attempt + 1);

    return settle_change(
        entry, rt.name,
        call_broker(rt.name, "modify", [&] { return rt.broker->modify_order(req, rt.timeout); }),
        "modify", OrderStatus::PendingReplace, previous, origin,
        [](const OrderRecord&, const std::string& message) {
            return Error::make(ErrorCode::BrokerRejected,
                               "broker refused the modification: " + client_text(message));
        });
}

Result<ChangeResult> OrderService::settle_change(
    const EntryPtr& entry, const std::string& broker, const BrokerAnswer& answer, const char* op,
    OrderStatus pending, OrderStatus previous, const Origin& origin,
    const std::function<Error(const OrderRecord&, const std::string&)>& refusal) {
    const Status status = answer.status;
    std::lock_guard lock(entry->mutex);
    if (std::string_view(op) == "modify") entry->modify_unsettled = !(status == Status::Ok || refused(status) || not_sent(status));
    if (status == Status::Ok) {
        apply_report(*entry, broker, answer.report, Origin{origin.request_id, EventSource::Broker},
                     false, std::string_view(op) == "modify" ? Answer::Modify : Answer::Cancel);
        return ChangeResult{entry->rec, true};
    }
    if (refused(status) || not_sent(status)) {
        revert_pending(*entry, pending, previous,
                       not_sent(status)
                           ? std::string(op) + " not sent: broker " + std::string(to_string(status))
                           : std::string(op) + " refused: " + client_text(answer.message),
                       origin);
        Error e = not_sent(status) ? broker_unavailable(broker, status, entry->rec.id)
                                   : refusal(entry->rec, answer.message);
        e.order_id = entry->rec.id;
        e.broker_called = true;
        return fail(e);
    }
    spdlog::warn("event=unknown_outcome op={} order_id={} broker={} status={} error=\"{}\"", op,
                 entry->rec.id, broker, to_string(status), answer.message);
    return ChangeResult{entry->rec, false};
}

void OrderService::revert_pending(Entry& e, OrderStatus pending, OrderStatus previous,
                                  std::string why, const Origin& origin) {
    if (e.rec.status != pending) return;  // events moved the order on meanwhile
    OrderRecord next = e.rec;
    // Back to a pending status the order had (a request still unanswered), or to the live status
    // its fills imply (fills that arrived meanwhile may have completed it).
    const bool live_before = previous == OrderStatus::Open ||
                             previous == OrderStatus::PartiallyFilled || previous == pending;
    next.status = !live_before && is_legal_transition(pending, previous)
                      ? previous
                      : derive_status_from_fills(next.quantity, next.filled_quantity);
    OrderEvent ev =
        make_event(next, e.rec.status, EventSource::Broker, origin.request_id, std::move(why), false);
    commit_change(e, std::move(next), std::move(ev), false);
}

Result<ChangeResult> OrderService::cancel(const std::string& id, const AccountScope& scope,
                                          const Origin& origin) {
    auto found = resolve(id, scope);
    if (!found) return fail(found.error());
    EntryPtr entry = *found;
    Route rt;
    {
        std::lock_guard lock(entry->mutex);
        const OrderRecord& cur = entry->rec;
        if (cur.status == OrderStatus::Cancelled || cur.status == OrderStatus::PendingCancel)
            return ChangeResult{cur, true};  // done or in progress: cancel is idempotent
        if (!can_cancel(cur.status))
            return fail(ErrorCode::OrderNotCancellable,
                        "order " + cur.id + " is " + std::string(to_string(cur.status)) +
                            " and cannot be cancelled");
        auto r = route_of_order(cur);
        if (!r) return fail(r.error());
        rt = *r;
    }
    return request_cancel(entry, rt, origin, false);
}

Result<ChangeResult> OrderService::request_cancel(const EntryPtr& entry, const Route& rt,
                                                  const Origin& origin, bool emulated,
                                                  int attempt) {
    OrderStatus previous;
    std::string account, boid, cid;
    bool retry = false;
    {
        std::lock_guard lock(entry->mutex);
        const OrderRecord& cur = entry->rec;
        if (cur.status == OrderStatus::Cancelled || cur.status == OrderStatus::PendingCancel)
            return ChangeResult{cur, true};
        if (!can_cancel(cur.status))
            return fail(ErrorCode::OrderNotCancellable,
                        "order " + cur.id + " is " + std::string(to_string(cur.status)) +
                            " and cannot be cancelled");
        if (!broker_connected(rt.name))
            return fail(broker_unavailable(rt.name, Status::Unavailable, cur.id));
        previous = cur.status;
        account = cur.account_id;
        boid = cur.broker_order_id;
        cid = cur.client_order_id;
        OrderRecord next = cur;
        next.status = OrderStatus::PendingCancel;
        OrderEvent ev = make_event(next, cur.status, origin.source, origin.request_id,
                                   emulated ? "cancel-all emulated as one cancel per order"
                                            : "cancel requested",
                                   emulated);
        std::string why;
        if (!commit_change(*entry, std::move(next), std::move(ev), true, &why)) {
            if (why != kVersionConflict || attempt > 0)
                return fail(change_failed(why, origin.request_id));
            retry = true;
        }
    }
    if (retry) return request_cancel(entry, rt, origin, emulated, attempt + 1);

    return settle_change(
        entry, rt.name,
        call_broker(rt.name, "cancel",
                    [&] { return rt.broker->cancel_order(account, boid, cid, rt.timeout); }),
        "cancel", OrderStatus::PendingCancel, previous, origin,
        [](const OrderRecord& order, const std::string& message) {
            if (is_terminal(order.status))
                return Error::make(ErrorCode::OrderNotCancellable,
                                   "order " + order.id + " is " +
                                       std::string(to_string(order.status)) +
                                       " and cannot be cancelled");
            return Error::make(ErrorCode::BrokerRejected,
                               "broker refused the cancel: " + client_text(message));
        });
}

Result<CancelAllResult> OrderService::cancel_all(const std::string& account_id,
                                                 const AccountScope& scope, const Origin& origin) {
    if (!scope.allows(account_id))
        return fail(ErrorCode::NotFound, "account '" + account_id + "' not found");
    auto r = route(account_id);
    if (!r) return fail(r.error());
    // Every live order of the account: those in memory, and those only storage knows (placed
    // through another gateway instance). Storage is read after the writer is flushed, so it has
    // every change already answered; an order found in both is taken from memory.
    std::vector<EntryPtr> live;
    {
        std::shared_lock lock(cache_mutex_);
        for (const auto& [id, e] : by_id_) live.push_back(e);
    }
    std::map<std::string, EntryPtr> mine;  // by id: in id order, each once
    auto take = [&](const EntryPtr& e) {
        std::lock_guard lock(e->mutex);
        if (e->rec.account_id == account_id && can_cancel(e->rec.status))
            mine.emplace(e->rec.id, e);
    };
    for (auto& e : live) take(e);
    try {
        writer_.flush_answered();
        OrderQuery q;
        q.account_ids = {account_id};
        q.open_only = true;
        q.limit = 1000;
        for (;;) {
            Page<OrderRecord> page = storage_.list_orders(q);
            for (const auto& rec : page.items)
                if (!mine.count(rec.id) && can_cancel(rec.status))
                    if (EntryPtr e = load(rec.id)) take(e);
            if (page.next_cursor.empty()) break;
            q.cursor = page.next_cursor;
        }
    } catch (const sdk::Error& err) {
        return fail(storage_error(err, StorageAccess::Read, "list_orders", origin.request_id));
    }
    CancelAllResult out;
    for (auto& [id, e] : mine) {
        auto res = request_cancel(e, *r, origin, true);
        if (res) out.cancelled.push_back(id);
        else out.failed.emplace_back(id, std::string(code_name(res.error().code)));
    }
    return out;
}

// ---- broker events ------------------------------------------------------------------------

void OrderService::on_order_update(const std::string& broker, const OrderReport& report) {
    if (hold_until_recovered(broker, &report, nullptr)) return;
    handle_order_update(broker, report);
}

void OrderService::handle_order_update(const std::string& broker, const OrderReport& report) {
    EntryPtr e;
    if (report.status == OrderStatus::Filled || report.status == OrderStatus::PartiallyFilled ||
        report.status == OrderStatus::Open) {
        // Fills drive these statuses, and a live order is in memory: an order not in memory is
        // terminal already (or not ours), so a report like these changes nothing.
        e = report.client_order_id.empty() ? nullptr
                                           : find_by_client_id(report.account_id,
                                                               report.client_order_id);
        if (!e && !report.broker_order_id.empty()) e = find_by_broker_id(broker, report.broker_order_id);
        if (!e) {
            if (metrics_) metrics_->broker_event(broker, "order_update", "not_live");
            return;
        }
    }
    try {
        if (!e)
            e = load_for_report(broker, report.account_id, report.client_order_id,
                                report.broker_order_id);
    } catch (const sdk::Error& err) {
        spdlog::error("event=order_update_dropped broker={} broker_order_id={} reason=storage "
                      "error=\"{}\"",
                      broker, report.broker_order_id, err.what());
        if (metrics_) metrics_->broker_event(broker, "order_update", "storage_error");
        return;
    }
    if (!e) {
        // Not ours (placed elsewhere) or not yet known: reconciliation adopts such orders.
        spdlog::warn("event=order_update_unknown_order broker={} broker_order_id={} "
                     "client_order_id={}",
                     broker, report.broker_order_id, report.client_order_id);
        if (metrics_) metrics_->broker_event(broker, "order_update", "unknown_order");
        return;
    }
    std::lock_guard lock(e->mutex);
    apply_report(*e, broker, report, Origin{"", EventSource::Broker}, true);
    if (metrics_) metrics_->broker_event(broker, "order_update", "applied");
}

void OrderService::on_fill(const std::string& broker, const Fill& fill) {
    if (hold_until_recovered(broker, nullptr, &fill)) return;
    handle_fill(broker, fill);
}

void OrderService::handle_fill(const std::string& broker, const Fill& fill) {
    {
        std::lock_guard lock(fills_mutex_);
        if (stored_trades_.count(key2(broker, fill.broker_trade_id))) {
            if (metrics_) metrics_->broker_event(broker, "fill", "duplicate");
            return;
        }
    }
    EntryPtr e;
    try {
        e = load_for_report(broker, fill.account_id, fill.client_order_id, fill.broker_order_id);
    } catch (const sdk::Error& err) {
        // Nothing was stored or applied: the broker keeps the fill and reconciliation reads it
        // again. Loud, because a fill is waiting.
        spdlog::error("event=fill_not_applied broker={} broker_trade_id={} reason=storage "
                      "error=\"{}\"",
                      broker, fill.broker_trade_id, err.what());
        if (metrics_) metrics_->broker_event(broker, "fill", "storage_error");
        return;
    }
    if (!e) {
        fill_without_order(broker, fill);
        return;
    }
    apply_fill(e, broker, fill);
}

bool OrderService::hold_until_recovered(const std::string& broker, const OrderReport* report,
                                        const Fill* fill) {
    std::lock_guard lock(recovery_mutex_);
    if (recovered_) return false;
    if (report) held_events_.emplace_back(broker, *report);
    else held_events_.emplace_back(broker, *fill);
    return true;
}

FillRecord OrderService::fill_record(const std::string& broker, const Fill& fill) const {
    const int64_t now = now_ns();
    FillRecord fr;
    fr.id = ids::new_id("trd_", static_cast<uint64_t>(now / 1'000'000));
    fr.broker = broker;
    fr.broker_trade_id = fill.broker_trade_id;
    fr.account_id = fill.account_id;
    fr.symbol = fill.symbol;
    fr.exchange = fill.exchange;
    fr.side = fill.side;
    fr.quantity = fill.quantity;
    fr.price = fill.price;
    fr.fee = fill.fee;
    fr.executed_at_ns = fill.executed_at_ns ? fill.executed_at_ns : now;
    return fr;
}

void OrderService::apply_position(const std::string& broker, const FillRecord& fr) {
    if (!positions_) return;
    try {
        const auto pos = positions_->apply_fill(
            positions::PositionKey{fr.account_id, broker, fr.symbol, fr.exchange}, fr.side,
            fr.quantity, fr.price, fr.fee, fr.executed_at_ns);
        if (pos.out_of_range) {
            spdlog::error("event=position_out_of_range broker={} broker_trade_id={} "
                          "detail=\"a figure of the position exceeds the decimal range\"",
                          broker, fr.broker_trade_id);
            if (metrics_) metrics_->broker_event(broker, "fill", "position_out_of_range");
        }
    } catch (const std::exception& ex) {
        // The fill is stored: a restart rebuilds positions from storage. Loud and counted.
        spdlog::error("event=position_not_updated broker={} broker_trade_id={} error=\"{}\"",
                      broker, fr.broker_trade_id, ex.what());
        if (metrics_) metrics_->broker_event(broker, "fill", "position_error");
    }
}

std::vector<Status> OrderService::write_fact(std::vector<WriteOp> ops) {
    std::promise<std::vector<Status>> done;
    auto result = done.get_future();
    writer_.write_async(std::move(ops), [&done](const std::vector<Status>* r,
                                                 std::exception_ptr err) {
        if (err) done.set_exception(err);
        else done.set_value(*r);
    }, /*keep_until_written=*/true);
    return result.get();
}

void OrderService::place_started(const std::string& broker) {
    std::lock_guard lock(park_mutex_);
    ++places_in_flight_[broker];
}

void OrderService::place_finished(const std::string& broker) {
    std::vector<Fill> mine;
    {
        std::lock_guard lock(park_mutex_);
        --places_in_flight_[broker];
        auto keep = parked_fills_.begin();
        for (auto& p : parked_fills_) {
            if (p.first == broker) mine.push_back(std::move(p.second));
            else *keep++ = std::move(p);
        }
        parked_fills_.erase(keep, parked_fills_.end());
    }
    // Each is matched now (the ack indexed its broker order id), parked again for another place
    // still in flight, or stored as unmatched.
    for (const auto& f : mine) handle_fill(broker, f);
}

void OrderService::fill_without_order(const std::string& broker, const Fill& fill) {
    {
        std::lock_guard lock(park_mutex_);
        auto it = places_in_flight_.find(broker);
        if (it != places_in_flight_.end() && it->second > 0 && parked_fills_.size() < 100'000) {
            parked_fills_.emplace_back(broker, fill);
            if (metrics_) metrics_->broker_event(broker, "fill", "parked");
            return;
        }
    }
    // Not ours (placed elsewhere) or never acknowledged: stored as the fact it is, without an
    // order; reconciliation adopts the order it belongs to.
    spdlog::warn("event=fill_for_unknown_order broker={} broker_trade_id={} broker_order_id={} "
                 "client_order_id={}",
                 broker, fill.broker_trade_id, fill.broker_order_id, fill.client_order_id);
    FillRecord fr = fill_record(broker, fill);
    std::vector<WriteOp> ops(1);
    ops[0].kind = WriteKind::InsertFill;
    ops[0].fill = fr;
    std::vector<Status> r;
    try {
        r = write_fact(std::move(ops));
    } catch (const std::exception& ex) {
        spdlog::error("event=fill_not_applied broker={} broker_trade_id={} reason=storage "
                      "error=\"{}\"",
                      broker, fr.broker_trade_id, ex.what());
        if (metrics_) metrics_->broker_event(broker, "fill", "storage_error");
        return;
    }
    {
        std::lock_guard lock(fills_mutex_);
        if (stored_trades_.size() > 200'000) stored_trades_.clear();  // a cache; storage decides
        stored_trades_.insert(key2(broker, fr.broker_trade_id));
    }
    if (r[0] == Status::Conflict) {
        if (metrics_) metrics_->broker_event(broker, "fill", "duplicate");
        return;
    }
    apply_position(broker, fr);
    if (metrics_) metrics_->broker_event(broker, "fill", "unknown_order");
}

void OrderService::apply_fill(const EntryPtr& e, const std::string& broker, const Fill& fill) {
    FillRecord fr = fill_record(broker, fill);
    std::lock_guard lock(e->mutex);
    const OrderRecord& cur = e->rec;
    fr.order_id = cur.id;
    if (fr.account_id.empty()) fr.account_id = cur.account_id;
    const std::string what = "order_id=" + cur.id + " broker_trade_id=" + fr.broker_trade_id;

    // What the fill does to its order; nullopt: the fill is stored but the order is left alone
    // (loud), and a restart or reconciliation settles it.
    std::optional<OrderRecord> next;
    FillNotional notional;
    std::string reason = "fill " + fr.broker_trade_id;
    const Decimal filled = cur.filled_quantity + fr.quantity;
    if (filled > cur.quantity) {
        // Never let the cumulative filled quantity exceed the order's.
        spdlog::error("event=overfill {} quantity={} filled={} fill={}", what,
                      cur.quantity.to_string(), cur.filled_quantity.to_string(),
                      fr.quantity.to_string());
        if (metrics_) metrics_->broker_event(broker, "fill", "overfill");
    } else {
        next = cur;
        next->filled_quantity = filled;
        // The average is one rounding of the exact notional (fill_math.hpp): it cannot overflow.
        if (!e->notional || !e->notional->covers(cur.filled_quantity))
            e->notional = rebuild_notional(storage_, cur);
        notional = *e->notional;
        notional.add(fr.quantity, fr.price);
        const AverageFillPrice average = notional.average(filled, options_.average_price_scale);
        next->average_fill_price = average.value;
        if (average.out_of_range) {
            spdlog::error("event=average_price_out_of_range {} detail=\"shown as {}\"", what,
                          average.value.to_string());
            if (metrics_) metrics_->broker_event(broker, "fill", "average_out_of_range");
        } else if (average.rounded) {
            spdlog::info("event=average_price_rounded {} scale={}", what, average.value.scale());
        }
        next->status = status_after_fill(cur.status, next->quantity, filled);
        if (e->modify_unsettled && cur.status == OrderStatus::PendingCancel &&
            next->status == OrderStatus::Filled)
            next->status = OrderStatus::PendingCancel;  // the lost modify may have raised it
        if (next->broker_order_id.empty() && !fill.broker_order_id.empty()) {
            next->broker_order_id = fill.broker_order_id;
            index_broker_id(broker, fill.broker_order_id, next->id);
        }
        if (is_terminal(cur.status)) {
            reason = "fill after " + std::string(to_string(cur.status)) + " (" +
                     fr.broker_trade_id + ")";
            spdlog::warn("event=fill_after_terminal {} status={}", what, to_string(cur.status));
        } else if (cur.status != next->status && !is_legal_transition(cur.status, next->status)) {
            spdlog::error("event=illegal_transition {} transition=\"{}\" source=broker", what,
                          describe_transition(cur.status, next->status));
            if (metrics_)
                metrics_->illegal_transition(to_string(cur.status), to_string(next->status));
            next.reset();
        }
    }
    std::vector<WriteOp> ops(1);
    ops[0].kind = WriteKind::InsertFill;
    ops[0].fill = fr;
    if (next) {
        next->version = cur.version + 1;
        next->updated_at_ns = now_ns();
        ops.emplace_back();
        ops[1].kind = WriteKind::UpdateOrder;
        ops[1].requires_previous = true;
        ops[1].expected_version = cur.version;
        ops[1].order = *next;
        ops[1].event = make_event(*next, cur.status, EventSource::Broker, "", reason, false);
    }
    std::vector<Status> r;
    try {
        r = write_fact(std::move(ops));
    } catch (const std::exception& ex) {
        spdlog::error("event=fill_not_applied {} reason=storage error=\"{}\"", what, ex.what());
        if (metrics_) metrics_->broker_event(broker, "fill", "storage_error");
        return;
    }
    {
        std::lock_guard fl(fills_mutex_);
        if (stored_trades_.size() > 200'000) stored_trades_.clear();  // a cache; storage decides
        stored_trades_.insert(key2(broker, fr.broker_trade_id));
    }
    if (r[0] == Status::Conflict) {
        // Storage has this trade already (a replay, a PossDup, a restart): nothing changes.
        spdlog::info("event=fill_duplicate {}", what);
        if (metrics_) metrics_->broker_event(broker, "fill", "duplicate");
        return;
    }
    apply_position(broker, fr);
    if (!next) {
        // Stored, not counted: counted when the order's terms change (a modify the venue took
        // before its answer arrived) or at the next start. Loud and counted.
        e->fills_pending = true;
        spdlog::error("event=fill_not_applied_to_order {} detail=\"stored; counted when the "
                      "order's terms allow it\"",
                      what);
        if (metrics_) metrics_->broker_event(broker, "fill", "not_applied_to_order");
        return;
    }
    if (r[1] == Status::Conflict) {
        // Another writer changed the row meanwhile: take storage's version and count every
        // stored fill again.
        spdlog::warn("event=order_version_conflict {} detail=\"re-deriving from stored fills\"",
                     what);
        try {
            if (auto fresh = storage_.get_order(e->rec.id)) e->rec = std::move(*fresh);
            rederive_from_stored_fills(*e, "fill applied after a concurrent change");
        } catch (const std::exception& ex) {
            spdlog::error("event=fill_not_applied_to_order {} reason=storage error=\"{}\" "
                          "detail=\"stored; applied at the next start\"",
                          what, ex.what());
            if (metrics_) metrics_->broker_event(broker, "fill", "not_applied_to_order");
        }
        return;
    }
    const bool terminal = is_terminal(next->status) && !is_terminal(cur.status);
    e->rec = std::move(*next);
    e->notional = std::move(notional);
    if (terminal) {
        std::unique_lock cl(cache_mutex_);
        erase_locked(e->rec);
    }
    if (metrics_) metrics_->broker_event(broker, "fill", "applied");
}

OrderService::FillSums OrderService::stored_fill_sums(const OrderRecord& order) {
    FillSums sums;
    for_each_stored_fill(storage_, order, [&](const FillRecord& f) {
        sums.quantity = sums.quantity + f.quantity;
        sums.notional.add(f.quantity, f.price);
    });
    return sums;
}

bool OrderService::rederive_from_stored_fills(Entry& e, const char* why) {
    const OrderRecord& cur = e.rec;
    if (is_terminal(cur.status)) return false;
    const FillSums sums = stored_fill_sums(cur);
    const Decimal& qty = sums.quantity;
    if (qty == cur.filled_quantity) return true;
    if (qty > cur.quantity) {
        spdlog::error("event=overfill order_id={} quantity={} stored_fills={} detail=\"left as "
                      "it is\"",
                      cur.id, cur.quantity.to_string(), qty.to_string());
        if (metrics_) metrics_->broker_event(cur.broker, "fill", "overfill");
        return false;
    }
    OrderRecord next = cur;
    next.filled_quantity = qty;
    next.average_fill_price =
        qty.is_zero() ? std::nullopt
                      : std::optional<Decimal>(
                            sums.notional.average(qty, options_.average_price_scale).value);
    e.notional = sums.notional;
    next.status = status_after_fill(cur.status, next.quantity, qty);
    spdlog::warn("event=fills_reapplied order_id={} filled_was={} filled_now={} why=\"{}\"", cur.id,
                 cur.filled_quantity.to_string(), qty.to_string(), why);
    if (metrics_) metrics_->broker_event(cur.broker, "fill", "reapplied");
    OrderEvent ev = make_event(next, cur.status, EventSource::Reconciliation, "",
                               std::string("stored fills re-applied: ") + why, false);
    return commit_change(e, std::move(next), std::move(ev), true);
}

void OrderService::on_quote(const std::string& broker, const Quote& quote) {
    prices_.on_quote(quote);
    if (positions_) positions_->set_last_price(quote.symbol, quote.exchange, quote.last);
    (void)broker;
}

void OrderService::on_connection(const std::string& broker, bool connected,
                                 const std::string& detail) {
    {
        std::lock_guard lock(connection_mutex_);
        connected_[broker] = connected;
    }
    if (connected)
        spdlog::info("event=broker_connected broker={} detail=\"{}\"", broker, detail);
    else
        spdlog::warn("event=broker_disconnected broker={} detail=\"{}\"", broker, detail);
    if (metrics_) metrics_->set_ready("broker:" + broker, connected);
}

bool OrderService::broker_connected(const std::string& broker) const {
    std::lock_guard lock(connection_mutex_);
    auto it = connected_.find(broker);
    return it == connected_.end() || it->second;
}

}  // namespace ordergate::orders
