#include "gtt/gtt_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "common/ids.hpp"
#include "common/thread_name.hpp"
#include "gtt/gtt_codec.hpp"
#include "json/json.hpp"

namespace ordergate::gtt {
namespace {

constexpr uint32_t kPage = 500;

std::string instrument_key(const std::string& symbol, const std::string& exchange) {
    return symbol + '\0' + exchange;
}

// The leg's order carries where it came from: the client's extra, plus gtt_id and emulated.
std::string leg_extra(const std::string& client_extra, const std::string& gtt_id,
                      bool emulated = true) {
    std::string out;
    json::Writer w(&out);
    w.begin_object();
    json::Value v;
    std::string why;
    if (!client_extra.empty() && json::parse(client_extra, &v, &why) && v.is_object()) {
        for (const auto& [k, member] : v.members()) {
            if (k == "gtt_id" || k == "emulated") continue;
            std::string text;
            member.serialize(&text);
            w.key(k).raw(text);
        }
    }
    w.field("gtt_id", gtt_id).field_bool("emulated", emulated).end_object();
    return out;
}

// An order reconciliation proved the broker never received (the intent was stored, the request
// never left: a crash, or a timeout before sending): the leg is placed again under its next
// client order id.
bool never_reached_broker(const OrderRecord& r) {
    return r.status == OrderStatus::Rejected && r.reject_reason == "NOT_FOUND_AT_BROKER";
}

bool retry_later(ErrorCode code) {
    // Nothing was sent (503) or the caller's rate: the same leg is placed again by the sweep,
    // under the same client order id.
    return code == ErrorCode::BrokerUnavailable || code == ErrorCode::StorageUnavailable ||
           code == ErrorCode::RateLimited || code == ErrorCode::Internal;
}

}  // namespace

GttService::GttService(ports::StoragePort& storage, orders::OrderService& orders,
                       std::map<std::string, ports::BrokerPort*> brokers,
                       std::shared_ptr<Clock> clock, GttOptions options)
    : storage_(storage),
      orders_(orders),
      brokers_(std::move(brokers)),
      clock_(std::move(clock)),
      options_(options) {}

GttService::~GttService() { stop(); }

void GttService::start() {
    reload();
    {
        std::lock_guard lock(mutex_);
        for (const auto& [id, g] : active_) orders_.prices().track(g.broker, g.symbol, g.exchange);
    }
    orders_.prices().add_listener([this](const Quote& q) { on_quote(q); });
    // What native venues did while this gateway was down (pushes nobody took).
    follow_venues();
    next_reload_ = std::chrono::steady_clock::now() + options_.reload_interval;
    thread_ = std::thread([this] {
        name_this_thread("og-gtt");
        run();
    });
}

void GttService::stop() {
    stopped_.store(true);
    {
        std::lock_guard lock(queue_mutex_);
        if (stopping_) return;
        stopping_ = true;
    }
    queue_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

// ---- requests -----------------------------------------------------------------------------------

std::optional<market_data::PriceCache::Last> GttService::current_price(
    const std::string& broker, const std::string& symbol, const std::string& exchange) {
    const int64_t now = clock_->now_ns();
    const int64_t max_age =
        std::chrono::duration_cast<std::chrono::nanoseconds>(options_.max_price_age).count();
    auto last = orders_.prices().last_quote(symbol, exchange);
    if (last && now - last->at_ns <= max_age) return last;
    // No current price pushed: ask the broker once, when it can quote.
    auto it = brokers_.find(broker);
    if (it == brokers_.end() || !it->second || !it->second->has(OG_CAP_QUOTES)) return std::nullopt;
    try {
        Quote q = it->second->quote(symbol, exchange);
        int64_t at = q.at_ns == 0 ? now : q.at_ns;
        if (now - at > max_age) return std::nullopt;
        return market_data::PriceCache::Last{q.last, at};
    } catch (const sdk::Error& e) {
        spdlog::warn("event=gtt_quote_failed broker={} symbol={} error=\"{}\"", broker, symbol,
                     e.what());
        return std::nullopt;
    }
}

Result<GttService::Armed> GttService::validate(GttRequest& req, const orders::AccountScope& scope) {
    if (!scope.allows(req.account_id) || orders_.broker_of(req.account_id).empty())
        return fail(ErrorCode::NotFound, "account '" + req.account_id + "' not found");
    Armed armed{orders_.broker_of(req.account_id), Decimal()};
    std::vector<FieldError> errors;
    const size_t want = req.type == GttType::Single ? 1 : 2;
    if (req.legs.size() != want)
        errors.push_back({"triggers", std::string(to_string(req.type)) + " takes " +
                                          std::to_string(want) + " trigger" +
                                          (want == 1 ? "" : "s") + ", got " +
                                          std::to_string(req.legs.size())});
    for (size_t i = 0; i < req.legs.size(); ++i)
        if (!req.legs[i].trigger_price.is_positive())
            errors.push_back(
                {"triggers[" + std::to_string(i) + "].trigger_price", "must be greater than 0"});
    if (req.expires_at_ns != 0 && req.expires_at_ns <= clock_->now_ns())
        errors.push_back({"expires_at", "must be in the future"});
    if (!errors.empty()) return fail(Error::invalid(std::move(errors)));
    auto price = current_price(armed.broker, req.symbol, req.exchange);
    if (!price) {
        Error e = Error::make(ErrorCode::BrokerUnavailable,
                              "no current price for " + req.symbol + " on " + req.exchange +
                                  ": a GTT is armed against the last price");
        e.retry_after_seconds = 1;
        return fail(std::move(e));
    }
    armed.last = price->price;
    const Decimal& last = armed.last;
    const std::string p = last.to_string();
    for (size_t i = 0; i < req.legs.size(); ++i) {
        GttLeg& leg = req.legs[i];
        const std::string field = "triggers[" + std::to_string(i) + "].trigger_price";
        if (leg.trigger_price == last) {
            errors.push_back({field, "equals the last price " + p + ": it would fire at once"});
            continue;
        }
        leg.direction = leg.trigger_price > last ? Direction::Rises : Direction::Falls;
        leg.order.account_id = req.account_id;
        leg.order.symbol = req.symbol;
        leg.order.exchange = req.exchange;
        leg.order.client_order_id.clear();
        leg.status.clear();
        leg.order_id.clear();
    }
    if (errors.empty() && req.type == GttType::Oco &&
        req.legs[0].direction == req.legs[1].direction)
        errors.push_back({"triggers",
                          "the two legs of an OCO must sit on the two sides of the "
                          "last price " +
                              p});
    if (!errors.empty()) return fail(Error::invalid(std::move(errors)));
    return armed;
}

Status GttService::write(const Gtt& g, int64_t expected_version) {
    WriteOp op;
    op.kind = WriteKind::UpsertGtt;
    op.expected_version = expected_version;
    op.gtt = to_record(g);
    // Through the order service's writer: the GTT's "gtt" event log entry lands in its batch.
    return orders_.write({std::move(op)}).at(0);
}

Result<Gtt> GttService::create(GttRequest req, const orders::AccountScope& scope,
                               const std::string& request_id) {
    auto armed = validate(req, scope);
    if (!armed) return fail(armed.error());
    const int64_t now = clock_->now_ns();
    Gtt g;
    g.id = ids::new_id("gtt_", static_cast<uint64_t>(now / 1'000'000));
    g.account_id = req.account_id;
    g.symbol = req.symbol;
    g.exchange = req.exchange;
    g.broker = armed->broker;
    g.type = req.type;
    g.legs = std::move(req.legs);
    g.last_price = armed->last;
    g.expires_at_ns = req.expires_at_ns;
    g.created_at_ns = g.updated_at_ns = now;
    g.version = 1;
    if (native(g.broker)) return create_native(std::move(g), request_id);
    if (auto err = insert_new(g, request_id)) return fail(std::move(*err));
    orders_.prices().watch(g.broker, g.symbol, g.exchange);
    spdlog::info("event=gtt_created gtt_id={} account={} symbol={} type={} request_id={}", g.id,
                 g.account_id, g.symbol, to_string(g.type), request_id);
    return g;
}

std::optional<Gtt> GttService::reread(const std::string& id) {
    auto rec = storage_.get_gtt(id);
    if (!rec) return std::nullopt;
    return from_record(*rec);
}

Result<Gtt> GttService::get(const std::string& id, const orders::AccountScope& scope) {
    std::optional<Gtt> g;
    try {
        g = reread(id);
    } catch (const sdk::Error& e) {
        Error err = Error::make(ErrorCode::StorageUnavailable, "storage did not answer");
        err.retry_after_seconds = 1;
        return fail(std::move(err));
    } catch (const CorruptGtt& e) {
        spdlog::error("event=gtt_corrupt gtt_id={} error=\"{}\"", id, e.what());
        return fail(ErrorCode::Internal, "the stored GTT is unreadable");
    }
    if (!g || !scope.allows(g->account_id))
        return fail(ErrorCode::NotFound, "GTT '" + id + "' not found");
    return *g;
}

Result<Page<Gtt>> GttService::list(const std::vector<std::string>& account_ids,
                                   const orders::AccountScope& scope, const std::string& cursor,
                                   uint32_t limit) {
    std::vector<std::string> accounts;
    if (account_ids.empty()) {
        for (const auto& r : orders_.accounts(scope)) accounts.push_back(r.account_id);
    } else {
        for (const auto& a : account_ids) {
            if (!scope.allows(a)) return fail(ErrorCode::NotFound, "account '" + a + "' not found");
            accounts.push_back(a);
        }
    }
    Page<Gtt> out;
    if (accounts.empty()) return out;
    try {
        Page<GttRecord> page = storage_.list_gtts(accounts, false, cursor, limit);
        for (const auto& r : page.items) out.items.push_back(from_record(r));
        out.next_cursor = page.next_cursor;
    } catch (const sdk::Error& e) {
        if (e.status() == Status::InvalidArgument)
            return fail(ErrorCode::InvalidParameter, "cursor is not one this server gave");
        Error err = Error::make(ErrorCode::StorageUnavailable, "storage did not answer");
        err.retry_after_seconds = 1;
        return fail(std::move(err));
    } catch (const CorruptGtt& e) {
        spdlog::error("event=gtt_corrupt error=\"{}\"", e.what());
        return fail(ErrorCode::Internal, "a stored GTT is unreadable");
    }
    return out;
}

Result<Gtt> GttService::modify(const std::string& id, GttRequest req,
                               const orders::AccountScope& scope) {
    auto current = get(id, scope);
    if (!current) return current;
    if (visible_status(*current) != GttStatus::Active)
        return fail(ErrorCode::GttNotModifiable,
                    "GTT " + id + " is " + std::string(to_string(visible_status(*current))) +
                        " and cannot be modified");
    std::vector<FieldError> fixed;  // what a GTT keeps for life: cancel it and create another
    auto keep = [&](const char* field, const std::string& now, const std::string& asked) {
        if (asked != now)
            fixed.push_back({field, "cannot change (the GTT's is '" + now +
                                        "'): cancel the GTT and create another"});
    };
    keep("account_id", current->account_id, req.account_id);
    keep("symbol", current->symbol, req.symbol);
    keep("exchange", current->exchange, req.exchange);
    if (!fixed.empty()) return fail(Error::invalid(std::move(fixed)));
    auto armed = validate(req, scope);
    if (!armed) return fail(armed.error());
    Gtt g = *current;
    g.type = req.type;
    g.legs = std::move(req.legs);
    g.last_price = armed->last;
    g.expires_at_ns = req.expires_at_ns;
    g.updated_at_ns = clock_->now_ns();
    g.version = current->version + 1;
    if (!current->emulated) return modify_native(*current, std::move(g));
    try {
        if (write(g, current->version) != Status::Ok)
            return fail(ErrorCode::GttNotModifiable,
                        "GTT " + id + " changed meanwhile (it may have fired): read it again");
    } catch (const sdk::Error& e) {
        Error err = Error::make(ErrorCode::StorageUnavailable, "storage did not take the change");
        err.retry_after_seconds = 1;
        return fail(std::move(err));
    }
    std::lock_guard lock(mutex_);
    remember(g);
    return g;
}

Result<Gtt> GttService::cancel(const std::string& id, const orders::AccountScope& scope) {
    auto current = get(id, scope);
    if (!current) return current;
    if (current->status == GttStatus::Cancelled) return current;
    if (visible_status(*current) != GttStatus::Active)
        return fail(ErrorCode::GttNotModifiable,
                    "GTT " + id + " is " + std::string(to_string(visible_status(*current))) +
                        " and cannot be cancelled");
    if (!current->emulated) return cancel_native(*current);
    Gtt g = *current;
    g.status = GttStatus::Cancelled;
    g.reason = "cancelled by the client";
    g.updated_at_ns = clock_->now_ns();
    g.version = current->version + 1;
    try {
        if (write(g, current->version) != Status::Ok)
            return fail(ErrorCode::GttNotModifiable,
                        "GTT " + id + " changed meanwhile (it may have fired): read it again");
    } catch (const sdk::Error& e) {
        Error err = Error::make(ErrorCode::StorageUnavailable, "storage did not take the change");
        err.retry_after_seconds = 1;
        return fail(std::move(err));
    }
    std::lock_guard lock(mutex_);
    forget(id);
    return g;
}

// ---- memory
// ---------------------------------------------------------------------------------------

void GttService::remember(const Gtt& g) {
    if (g.status != GttStatus::Active) {
        forget(g.id);
        return;
    }
    auto it = active_.find(g.id);
    if (it != active_.end() && it->second.version > g.version) return;  // older news
    active_[g.id] = g;
    // A native GTT is the venue's to fire: the host's evaluator never arms it.
    if (g.triggered_leg < 0 && g.emulated)
        book_.arm(g);
    else
        book_.disarm(g.id);
}

void GttService::forget(const std::string& id) {
    active_.erase(id);
    book_.disarm(id);
}

size_t GttService::armed_legs() const {
    std::lock_guard lock(mutex_);
    return book_.armed();
}

size_t GttService::active() const {
    std::lock_guard lock(mutex_);
    return active_.size();
}

// ---- firing
// ---------------------------------------------------------------------------------------

void GttService::on_quote(const Quote& quote) {
    {
        std::lock_guard lock(queue_mutex_);
        queued_[instrument_key(quote.symbol, quote.exchange)] = quote;
    }
    queue_cv_.notify_one();
}

size_t GttService::evaluate(const std::string& symbol, const std::string& exchange,
                            const Decimal& price, int64_t at_ns) {
    const int64_t max_age =
        std::chrono::duration_cast<std::chrono::nanoseconds>(options_.max_price_age).count();
    if (at_ns == 0 || clock_->now_ns() - at_ns > max_age) return 0;  // stale: fires nothing
    std::vector<ArmedLeg> crossed_legs;
    {
        std::lock_guard lock(mutex_);
        crossed_legs = book_.take_crossed(symbol, exchange, price);
    }
    for (const ArmedLeg& a : crossed_legs) fire(a);
    return crossed_legs.size();
}

void GttService::fire(const ArmedLeg& a) {
    Gtt claimed;
    int64_t expected = 0;
    {
        std::lock_guard lock(mutex_);
        auto it = active_.find(a.gtt_id);
        if (it == active_.end() || it->second.triggered_leg >= 0) return;
        const Gtt& g = it->second;
        if (g.expires_at_ns != 0 && g.expires_at_ns <= clock_->now_ns()) return;  // sweep expires
        claimed = g;
        expected = g.version;
    }
    claimed.triggered_leg = static_cast<int>(a.leg);
    for (size_t i = 0; i < claimed.legs.size(); ++i)
        claimed.legs[i].status = i == a.leg ? "TRIGGERED" : "CANCELLED";
    claimed.updated_at_ns = clock_->now_ns();
    claimed.version = expected + 1;
    Status st;
    try {
        st = write(claimed, expected);
    } catch (const sdk::Error& e) {
        // Not claimed: armed again, so the next tick tries again.
        spdlog::error("event=gtt_claim_failed gtt_id={} error=\"{}\"", a.gtt_id, e.what());
        std::lock_guard lock(mutex_);
        auto it = active_.find(a.gtt_id);
        if (it != active_.end()) book_.arm(it->second);
        return;
    }
    if (st != Status::Ok) {
        // Changed elsewhere (modified, cancelled, or fired by another instance): storage says.
        try {
            auto now = reread(a.gtt_id);
            std::lock_guard lock(mutex_);
            if (now)
                remember(*now);
            else
                forget(a.gtt_id);
        } catch (const std::exception& e) {
            spdlog::error("event=gtt_reread_failed gtt_id={} error=\"{}\"", a.gtt_id, e.what());
        }
        return;
    }
    spdlog::info("event=gtt_triggered gtt_id={} leg={} trigger={}", claimed.id, a.leg + 1,
                 claimed.legs[a.leg].trigger_price.to_string());
    {
        std::lock_guard lock(mutex_);
        remember(claimed);
    }
    place_leg(std::move(claimed));
}

void GttService::place_leg(Gtt g) {
    const size_t leg = static_cast<size_t>(g.triggered_leg);
    orders::AccountScope all;
    all.all = true;
    // The leg's client order ids in turn: one whose order exists and is not proven absent from
    // the broker (or whose cancel a client asked) is the leg's order; the first without an order
    // is placed. The order service's
    // view of an order is the newest (storage's may lag behind a change written behind).
    std::string cid;
    std::optional<OrderRecord> existing;
    for (int attempt = 1;; ++attempt) {
        cid = leg_client_order_id(g.id, leg, attempt);
        try {
            existing = storage_.get_order_by_client_id(g.account_id, cid);
        } catch (const sdk::Error& e) {
            spdlog::warn("event=gtt_place_deferred gtt_id={} leg={} detail=\"{}\"", g.id, leg + 1,
                         e.what());
            return;  // the sweep tries again
        }
        if (!existing) break;
        if (auto now = orders_.get(existing->id, all)) existing = *now;
        if (!never_reached_broker(*existing)) break;
        // Rejected so after a client asked to cancel it (before any acknowledgement): the
        // client's cancel stands, and the order is the leg's.
        try {
            bool cancel_asked = false;
            orders_.each_event(existing->id, [&](const OrderEvent& ev) {
                cancel_asked = ev.to_status == OrderStatus::PendingCancel;
                return !cancel_asked;
            });
            if (cancel_asked) break;
        } catch (const sdk::Error& e) {
            spdlog::warn("event=gtt_place_deferred gtt_id={} leg={} detail=\"{}\"", g.id, leg + 1,
                         e.what());
            return;  // the sweep tries again
        }
    }
    std::string order_id;
    Gtt done = g;
    if (existing) {
        // Placed before (a crash, or another instance).
        if (existing->status == OrderStatus::PendingNew) return;  // the sweep looks again
        order_id = existing->id;
    } else {
        OrderRequest req = g.legs[leg].order;
        req.account_id = g.account_id;
        req.symbol = g.symbol;
        req.exchange = g.exchange;
        req.client_order_id = cid;
        req.extra_json = leg_extra(req.extra_json, g.id);
        orders::Origin origin{"gtt:" + g.id, EventSource::Gtt,
                              "gtt " + g.id + " leg " + std::to_string(leg + 1)};
        auto placed = orders_.place(req, all, origin);
        if (placed) {
            // An unknown outcome (PENDING_NEW) is left to reconciliation: the sweep records the
            // order once it is settled, or places the leg again if the broker never had it.
            if (placed->order.status == OrderStatus::PendingNew) return;
            order_id = placed->order.id;
        } else if (retry_later(placed.error().code) ||
                   placed.error().code == ErrorCode::DuplicateClientOrderId) {
            // Nothing was sent, or another instance placed it meanwhile: the sweep looks again.
            spdlog::warn("event=gtt_place_deferred gtt_id={} leg={} code={} detail=\"{}\"", g.id,
                         leg + 1, code_name(placed.error().code), placed.error().detail);
            return;
        } else {
            done.status = GttStatus::Rejected;
            done.reason = "leg " + std::to_string(leg + 1) +
                          " order refused: " + std::string(code_name(placed.error().code)) + ": " +
                          placed.error().detail;
            order_id = placed.error().order_id;
        }
    }
    done.legs[leg].order_id = order_id;
    if (done.status == GttStatus::Active) done.status = GttStatus::Triggered;
    done.updated_at_ns = clock_->now_ns();
    done.version = g.version + 1;
    try {
        Status st = write(done, g.version);
        if (st != Status::Ok) {
            // Another instance recorded it first: take storage's word.
            auto now = reread(g.id);
            std::lock_guard lock(mutex_);
            if (now)
                remember(*now);
            else
                forget(g.id);
            return;
        }
    } catch (const std::exception& e) {
        spdlog::error("event=gtt_record_failed gtt_id={} error=\"{}\"", g.id, e.what());
        return;  // still ACTIVE with a fired leg: the sweep records it (placing finds the order)
    }
    spdlog::info("event=gtt_order_placed gtt_id={} leg={} order_id={} status={}", g.id, leg + 1,
                 order_id, to_string(done.status));
    std::lock_guard lock(mutex_);
    remember(done);
}

// ---- the evaluator thread
// -------------------------------------------------------------------------

void GttService::reload() {
    std::vector<std::string> accounts;
    orders::AccountScope all;
    all.all = true;
    for (const auto& r : orders_.accounts(all)) accounts.push_back(r.account_id);
    if (accounts.empty()) return;
    std::unordered_map<std::string, Gtt> seen;
    std::string cursor;
    do {
        Page<GttRecord> page = storage_.list_gtts(accounts, true, cursor, kPage);
        for (const auto& r : page.items) {
            try {
                Gtt g = from_record(r);
                if (g.broker.empty()) g.broker = orders_.broker_of(g.account_id);
                seen.emplace(g.id, std::move(g));
            } catch (const CorruptGtt& e) {
                spdlog::error("event=gtt_corrupt error=\"{}\"", e.what());
            }
        }
        cursor = page.next_cursor;
    } while (!cursor.empty());
    std::lock_guard lock(mutex_);
    for (auto it = active_.begin(); it != active_.end();) {
        if (seen.count(it->first)) {
            ++it;
            continue;
        }
        book_.disarm(it->first);
        it = active_.erase(it);
    }
    for (auto& [id, g] : seen) {
        auto it = active_.find(id);
        if (it != active_.end() && it->second.version == g.version) continue;
        remember(g);
    }
}

void GttService::sweep(bool do_reload) {
    if (do_reload) {
        try {
            reload();
        } catch (const sdk::Error& e) {
            spdlog::warn("event=gtt_reload_failed error=\"{}\"", e.what());
        }
        follow_venues();
    }
    const int64_t now = clock_->now_ns();
    std::vector<Gtt> expired, unplaced;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [id, g] : active_) {
            if (!g.emulated) continue;  // the venue fires and expires it; followed below
            if (g.triggered_leg >= 0)
                unplaced.push_back(g);
            else if (g.expires_at_ns != 0 && g.expires_at_ns <= now)
                expired.push_back(g);
        }
    }
    for (const Gtt& g : unplaced) place_leg(g);
    for (Gtt g : expired) {
        const int64_t expected = g.version;
        g.status = GttStatus::Expired;
        g.reason = "expired";
        g.updated_at_ns = now;
        g.version = expected + 1;
        try {
            Status st = write(g, expected);
            std::lock_guard lock(mutex_);
            if (st == Status::Ok) {
                forget(g.id);
                spdlog::info("event=gtt_expired gtt_id={}", g.id);
            }
        } catch (const sdk::Error& e) {
            spdlog::warn("event=gtt_expire_failed gtt_id={} error=\"{}\"", g.id, e.what());
        }
    }
}

void GttService::run() {
    std::unique_lock lock(queue_mutex_);
    while (!stopping_) {
        queue_cv_.wait_for(lock, options_.sweep_interval,
                           [this] { return stopping_ || !queued_.empty(); });
        if (stopping_) break;
        std::map<std::string, Quote> ticks;
        ticks.swap(queued_);
        lock.unlock();
        try {
            for (const auto& [key, q] : ticks) evaluate(q.symbol, q.exchange, q.last, q.at_ns);
            // Expiry, retries and reloads on their own clock: a busy price feed wakes this
            // thread often, and each wake must cost only the legs a tick crosses.
            const auto now = std::chrono::steady_clock::now();
            if (now >= next_sweep_) {
                next_sweep_ = now + options_.sweep_interval;
                const bool due = now >= next_reload_;
                if (due) next_reload_ = now + options_.reload_interval;
                sweep(due);
            }
        } catch (const std::exception& e) {
            // Logged loudly; the next pass tries again (nothing is half-written: every write is
            // one version-checked row).
            spdlog::error("event=gtt_evaluator_error error=\"{}\"", e.what());
        }
        lock.lock();
    }
}

// ---- native GTT ---------------------------------------------------------------------------------

namespace {

Error unavailable(const std::string& detail) {
    Error e = Error::make(ErrorCode::BrokerUnavailable, detail);
    e.retry_after_seconds = 1;
    return e;
}

// Nothing reached the venue: safe to answer as not done.
bool not_sent(Status s) {
    return s == Status::Unavailable || s == Status::Timeout || s == Status::RateLimited ||
           s == Status::Unsupported;
}

bool same_triggers(const Gtt& g, const ::ordergate::GttReport& r) {
    if (r.legs.size() != g.legs.size()) return false;
    for (size_t i = 0; i < g.legs.size(); ++i)
        if (r.legs[i].trigger_price != g.legs[i].trigger_price) return false;
    return true;
}

}  // namespace

ports::BrokerPort* GttService::port(const std::string& broker) const {
    auto it = brokers_.find(broker);
    return it == brokers_.end() ? nullptr : it->second;
}

bool GttService::native(const std::string& broker) const {
    ports::BrokerPort* p = port(broker);
    return p != nullptr && p->has(OG_CAP_NATIVE_GTT);
}

std::chrono::milliseconds GttService::venue_timeout(const std::string& broker) const {
    auto it = options_.venue_timeouts.find(broker);
    return it == options_.venue_timeouts.end() ? options_.venue_timeout : it->second;
}

::ordergate::GttRequest GttService::venue_request(const Gtt& g) const {
    ::ordergate::GttRequest r;
    r.gtt_id = g.id;
    r.broker_gtt_id = g.broker_gtt_id;
    r.account_id = g.account_id;
    r.symbol = g.symbol;
    r.exchange = g.exchange;
    r.type = g.type == GttType::Single ? ::ordergate::GttType::Single : ::ordergate::GttType::Oco;
    r.expires_at_ns = g.expires_at_ns;
    for (size_t i = 0; i < g.legs.size(); ++i) {
        ::ordergate::GttLeg leg;
        leg.trigger_price = g.legs[i].trigger_price;
        leg.order = g.legs[i].order;
        leg.order.account_id = g.account_id;
        leg.order.symbol = g.symbol;
        leg.order.exchange = g.exchange;
        // The venue places the leg's order under the id the host would have used: its reports
        // find the order the host stores for it.
        leg.order.client_order_id = leg_client_order_id(g.id, i);
        leg.order.extra_json = leg_extra(leg.order.extra_json, g.id, false);
        r.legs.push_back(std::move(leg));
    }
    return r;
}

Result<Gtt> GttService::stored_now(const std::string& id, const orders::AccountScope& scope) {
    auto g = get(id, scope);
    if (g) {
        std::lock_guard lock(mutex_);
        remember(*g);
    }
    return g;
}

std::optional<Error> GttService::insert_new(const Gtt& g, const std::string& request_id) {
    try {
        if (write(g, 0) != Status::Ok)
            return Error::make(ErrorCode::Internal, "a new GTT id was already taken");
    } catch (const sdk::Error& e) {
        spdlog::error("event=gtt_write_failed request_id={} error=\"{}\"", request_id, e.what());
        Error err = Error::make(ErrorCode::StorageUnavailable, "storage did not take the GTT");
        err.retry_after_seconds = 1;
        return err;
    }
    std::lock_guard lock(mutex_);
    remember(g);
    return std::nullopt;
}

Result<Gtt> GttService::create_native(Gtt g, const std::string& request_id) {
    g.emulated = false;
    g.venue_state = "PLACING";
    // The intent first: a crash or a lost answer after this leaves a GTT the follow settles.
    if (auto err = insert_new(g, request_id)) return fail(std::move(*err));
    orders::AccountScope all;
    all.all = true;
    ::ordergate::GttReport answer;
    try {
        answer = port(g.broker)->place_gtt(venue_request(g), venue_timeout(g.broker));
    } catch (const sdk::Error& e) {
        Gtt done = g;
        if (e.status() == Status::Rejected || e.status() == Status::InvalidArgument) {
            done.reason = std::string("rejected by the broker: ") + e.what();
        } else if (not_sent(e.status())) {
            done.reason = std::string("not sent to the broker: ") + e.what();
        } else {
            // Sent, answer lost (or a plugin fault): the venue may hold it. The follow asks.
            spdlog::warn("event=gtt_place_unknown gtt_id={} broker={} request_id={} error=\"{}\"",
                         g.id, g.broker, request_id, e.what());
            return g;
        }
        done.status = GttStatus::Rejected;
        done.venue_state.clear();
        done.updated_at_ns = clock_->now_ns();
        done.version = g.version + 1;
        try {
            if (write(done, g.version) != Status::Ok) return stored_now(g.id, all);
        } catch (const sdk::Error& we) {
            spdlog::error("event=gtt_write_failed gtt_id={} error=\"{}\"", g.id, we.what());
        }
        {
            std::lock_guard lock(mutex_);
            forget(g.id);
        }
        spdlog::warn("event=gtt_rejected gtt_id={} broker={} reason=\"{}\"", g.id, g.broker,
                     done.reason);
        if (not_sent(e.status())) return fail(unavailable(done.reason));
        return done;
    }
    Gtt acked = g;
    acked.broker_gtt_id = answer.broker_gtt_id;
    acked.venue_state.clear();
    acked.updated_at_ns = clock_->now_ns();
    acked.version = g.version + 1;
    try {
        if (write(acked, g.version) != Status::Ok) return stored_now(g.id, all);  // a push won
    } catch (const sdk::Error& e) {
        // The venue has it; the follow stores its id later (the row stays PLACING).
        spdlog::error("event=gtt_write_failed gtt_id={} error=\"{}\"", g.id, e.what());
        return g;
    }
    {
        std::lock_guard lock(mutex_);
        remember(acked);
    }
    spdlog::info("event=gtt_created gtt_id={} account={} symbol={} type={} broker_gtt_id={} "
                 "emulated=false request_id={}",
                 acked.id, acked.account_id, acked.symbol, to_string(acked.type),
                 acked.broker_gtt_id, request_id);
    if (answer.status != ::ordergate::GttStatus::Active) {
        apply_venue(acked.broker, answer, false);
        return stored_now(acked.id, all);
    }
    return acked;
}

Result<Gtt> GttService::modify_native(const Gtt& current, Gtt next) {
    orders::AccountScope all;
    all.all = true;
    next.venue_state.clear();
    ports::BrokerPort* p = port(current.broker);
    if (p == nullptr || !native(current.broker))
        return fail(unavailable("broker '" + current.broker + "' keeps no GTTs now"));
    try {
        ::ordergate::GttReport r = p->modify_gtt(venue_request(next), venue_timeout(next.broker));
        if (!r.broker_gtt_id.empty()) next.broker_gtt_id = r.broker_gtt_id;
    } catch (const sdk::Error& e) {
        if (e.status() == Status::Rejected || e.status() == Status::NotFound) {
            // It may have fired or ended at the venue: store what the venue says.
            try {
                apply_venue(current.broker,
                            p->get_gtt(current.account_id, current.id, current.broker_gtt_id),
                            false);
            } catch (const sdk::Error& ge) {
                spdlog::warn("event=gtt_venue_read_failed gtt_id={} error=\"{}\"", current.id,
                             ge.what());
            }
            return fail(ErrorCode::GttNotModifiable,
                        "GTT " + current.id + ": the broker refused the change: " + e.what());
        }
        if (e.status() == Status::InvalidArgument)
            return fail(ErrorCode::BrokerRejected, std::string("the broker refused: ") + e.what());
        if (not_sent(e.status())) return fail(unavailable(e.what()));
        // Outcome unknown: the venue says which terms it holds.
        try {
            auto r = p->get_gtt(current.account_id, current.id, current.broker_gtt_id);
            if (!same_triggers(next, r) || r.status != ::ordergate::GttStatus::Active) {
                apply_venue(current.broker, r, false);
                return fail(unavailable("GTT " + current.id +
                                        ": the change did not reach the broker; read it again"));
            }
        } catch (const sdk::Error& ge) {
            return fail(unavailable("GTT " + current.id +
                                    ": the change's outcome at the broker is not known: " +
                                    ge.what()));
        }
    }
    try {
        if (write(next, current.version) != Status::Ok)
            return fail(ErrorCode::GttNotModifiable,
                        "GTT " + current.id + " changed meanwhile (it may have fired): read it again");
    } catch (const sdk::Error& e) {
        Error err = Error::make(ErrorCode::StorageUnavailable, "storage did not take the change");
        err.retry_after_seconds = 1;
        return fail(std::move(err));
    }
    std::lock_guard lock(mutex_);
    remember(next);
    return next;
}

Result<Gtt> GttService::cancel_native(const Gtt& current) {
    ports::BrokerPort* p = port(current.broker);
    if (p == nullptr || !native(current.broker))
        return fail(unavailable("broker '" + current.broker + "' keeps no GTTs now"));
    bool cancelled = false;
    try {
        auto r = p->cancel_gtt(venue_request(current), venue_timeout(current.broker));
        cancelled = r.status == ::ordergate::GttStatus::Cancelled;
        if (!cancelled) apply_venue(current.broker, r, false);
    } catch (const sdk::Error& e) {
        if (not_sent(e.status())) return fail(unavailable(e.what()));
        try {
            auto r = p->get_gtt(current.account_id, current.id, current.broker_gtt_id);
            cancelled = r.status == ::ordergate::GttStatus::Cancelled;
            if (!cancelled) apply_venue(current.broker, r, false);
        } catch (const sdk::Error& ge) {
            return fail(unavailable("GTT " + current.id +
                                    ": the cancel's outcome at the broker is not known: " +
                                    ge.what()));
        }
        if (!cancelled && e.status() != Status::Rejected)
            return fail(unavailable("GTT " + current.id + ": the cancel did not reach the broker"));
    }
    orders::AccountScope all;
    all.all = true;
    if (!cancelled) {
        auto now = stored_now(current.id, all);
        if (!now) return now;
        return fail(ErrorCode::GttNotModifiable,
                    "GTT " + current.id + " is " + std::string(to_string(visible_status(*now))) +
                        " and cannot be cancelled");
    }
    Gtt g = current;
    g.status = GttStatus::Cancelled;
    g.reason = "cancelled by the client";
    g.venue_state.clear();
    g.updated_at_ns = clock_->now_ns();
    g.version = current.version + 1;
    try {
        if (write(g, current.version) != Status::Ok) return stored_now(current.id, all);
    } catch (const sdk::Error& e) {
        Error err = Error::make(ErrorCode::StorageUnavailable, "storage did not take the change");
        err.retry_after_seconds = 1;
        return fail(std::move(err));
    }
    std::lock_guard lock(mutex_);
    forget(g.id);
    return g;
}

void GttService::on_gtt_update(const std::string& broker, const ::ordergate::GttReport& report) {
    if (stopped_.load()) return;  // the next start's follow reads it from the venue
    apply_venue(broker, report, true);
}

std::optional<std::string> GttService::link_order(const std::string& broker, const Gtt& g,
                                                  size_t leg,
                                                  const ::ordergate::GttReport& r, bool pushed) {
    const std::string cid =
        r.order_client_order_id.empty() ? leg_client_order_id(g.id, leg) : r.order_client_order_id;
    try {
        if (auto stored = storage_.get_order_by_client_id(g.account_id, cid)) return stored->id;
    } catch (const sdk::Error& e) {
        spdlog::warn("event=gtt_link_deferred gtt_id={} error=\"{}\"", g.id, e.what());
        return std::nullopt;
    }
    // What the venue placed: from the leg's terms when pushed (the venue's own report of it
    // follows at once), from the venue otherwise (it may have filled meanwhile).
    OrderReport o;
    const OrderRequest& terms = g.legs[leg].order;
    o.broker_order_id = r.broker_order_id;
    o.client_order_id = cid;
    o.account_id = g.account_id;
    o.symbol = g.symbol;
    o.exchange = g.exchange;
    o.side = terms.side;
    o.order_type = terms.order_type;
    o.time_in_force = terms.time_in_force;
    o.status = OrderStatus::PendingNew;
    o.quantity = terms.quantity;
    o.price = terms.price;
    o.trigger_price = terms.trigger_price;
    o.updated_at_ns = r.updated_at_ns;
    ports::BrokerPort* p = port(broker);
    if (!pushed && p != nullptr &&
        (!r.broker_order_id.empty() || p->has(OG_CAP_QUERY_BY_CLIENT_ID))) {
        try {
            o = p->get_order(g.account_id, r.broker_order_id, r.broker_order_id.empty() ? cid : "");
            o.client_order_id = cid;
        } catch (const sdk::Error& e) {
            if (e.status() != Status::NotFound) {
                spdlog::warn("event=gtt_link_deferred gtt_id={} error=\"{}\"", g.id, e.what());
                return std::nullopt;
            }
        }
    }
    auto adopted = orders_.adopt_gtt_order(
        broker, o, leg_extra(terms.extra_json, g.id, false),
        "placed by the broker for gtt " + g.id + " leg " + std::to_string(leg + 1));
    if (!adopted) {
        spdlog::error("event=gtt_link_failed gtt_id={} leg={} code={} detail=\"{}\"", g.id,
                      leg + 1, code_name(adopted.error().code), adopted.error().detail);
        return std::nullopt;
    }
    return *adopted;
}

void GttService::apply_venue(const std::string& broker, const ::ordergate::GttReport& r,
                             bool pushed) {
    using VS = ::ordergate::GttStatus;
    std::lock_guard follow(follow_mutex_);
    for (int attempt = 0; attempt < 3; ++attempt) {
        std::optional<Gtt> cur;
        try {
            cur = reread(r.gtt_id);
        } catch (const std::exception& e) {
            spdlog::error("event=gtt_follow_failed gtt_id={} error=\"{}\"", r.gtt_id, e.what());
            return;
        }
        if (!cur || cur->emulated || cur->broker != broker) {
            spdlog::warn("event=gtt_update_unknown broker={} gtt_id={} broker_gtt_id={}", broker,
                         r.gtt_id, r.broker_gtt_id);
            return;
        }
        if (cur->status != GttStatus::Active) return;  // final already: stored once
        Gtt g = *cur;
        bool changed = false;
        if (!r.broker_gtt_id.empty() && g.broker_gtt_id != r.broker_gtt_id) {
            g.broker_gtt_id = r.broker_gtt_id;
            changed = true;
        }
        if (!g.venue_state.empty()) {
            g.venue_state.clear();
            changed = true;
        }
        std::optional<size_t> fired;
        if (r.triggered_leg && *r.triggered_leg < g.legs.size()) fired = *r.triggered_leg;
        switch (r.status) {
            case VS::Active:
                break;
            case VS::Triggered:
            case VS::Rejected: {
                if (r.status == VS::Triggered && !fired) {
                    spdlog::error("event=gtt_update_invalid broker={} gtt_id={} detail=\"triggered "
                                  "without a leg of the GTT\"",
                                  broker, g.id);
                    return;
                }
                if (fired) {
                    std::string order_id;
                    if (!r.broker_order_id.empty() || r.status == VS::Triggered) {
                        auto linked = link_order(broker, g, *fired, r, pushed);
                        if (!linked) return;  // logged; the next follow tries again
                        order_id = *linked;
                    }
                    g.triggered_leg = static_cast<int>(*fired);
                    g.legs[*fired].order_id = order_id;
                    for (size_t i = 0; i < g.legs.size(); ++i)
                        g.legs[i].status = i == *fired ? "TRIGGERED" : "CANCELLED";
                }
                if (r.status == VS::Triggered) {
                    g.status = GttStatus::Triggered;
                } else {
                    g.status = GttStatus::Rejected;
                    g.reason = "rejected by the broker: " +
                               (r.reject_reason.empty() ? std::string("no reason given")
                                                        : r.reject_reason);
                }
                changed = true;
                break;
            }
            case VS::Cancelled:
                g.status = GttStatus::Cancelled;
                g.reason = r.reject_reason.empty() ? "cancelled at the broker" : r.reject_reason;
                changed = true;
                break;
            case VS::Expired:
                g.status = GttStatus::Expired;
                g.reason = "expired";
                changed = true;
                break;
        }
        if (!changed) return;
        g.updated_at_ns = clock_->now_ns();
        g.version = cur->version + 1;
        Status st;
        try {
            st = write(g, cur->version);
        } catch (const sdk::Error& e) {
            spdlog::error("event=gtt_follow_write_failed gtt_id={} error=\"{}\"", g.id, e.what());
            return;  // the next follow tries again
        }
        if (st == Status::Ok) {
            spdlog::info("event=gtt_followed gtt_id={} broker={} status={} order_id={} pushed={}",
                         g.id, broker, to_string(g.status),
                         g.triggered_leg >= 0 ? g.legs[g.triggered_leg].order_id : "", pushed);
            std::lock_guard lock(mutex_);
            remember(g);
            return;
        }
        // Changed meanwhile (our own create/modify answer): read again.
    }
}

void GttService::follow_venues() {
    std::map<std::string, std::vector<Gtt>> mine;  // native broker -> its active GTTs
    {
        std::lock_guard lock(mutex_);
        for (const auto& [id, g] : active_)
            if (!g.emulated) mine[g.broker].push_back(g);
    }
    for (auto& [broker, gtts] : mine) {
        ports::BrokerPort* p = port(broker);
        if (p == nullptr || !native(broker)) continue;
        std::vector<::ordergate::GttReport> listed;
        try {
            listed = p->list_gtts("", false);
        } catch (const sdk::Error& e) {
            spdlog::warn("event=gtt_follow_failed broker={} error=\"{}\"", broker, e.what());
            continue;
        }
        std::map<std::string, const ::ordergate::GttReport*> by_id;
        for (const auto& r : listed) by_id[r.gtt_id] = &r;
        for (const Gtt& g : gtts) {
            auto it = by_id.find(g.id);
            if (it != by_id.end()) {
                const auto& r = *it->second;
                if (r.status != ::ordergate::GttStatus::Active || !g.venue_state.empty() ||
                    g.broker_gtt_id != r.broker_gtt_id)
                    apply_venue(broker, r, false);
                continue;
            }
            if (g.venue_state != "PLACING") {
                spdlog::warn("event=gtt_missing_at_broker gtt_id={} broker={} broker_gtt_id={}",
                             g.id, broker, g.broker_gtt_id);
                continue;
            }
            // The place's outcome was unknown and the venue has none: placing it again under the
            // same id is safe (a venue holding it answers that one).
            try {
                auto r = p->place_gtt(venue_request(g), venue_timeout(broker));
                apply_venue(broker, r, false);
            } catch (const sdk::Error& e) {
                spdlog::warn("event=gtt_place_retry_failed gtt_id={} error=\"{}\"", g.id,
                             e.what());
            }
        }
    }
}

}  // namespace ordergate::gtt
