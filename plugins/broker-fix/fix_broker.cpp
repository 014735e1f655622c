#include "fix_broker.hpp"

#include <ctime>
#include <string_view>
#include <thread>

namespace ordergate::fixplugin {

using sdk::LogLevel;

namespace {

constexpr uint64_t kBaseCapabilities =
    OG_CAP_ORDER_MARKET | OG_CAP_ORDER_LIMIT | OG_CAP_TIF_DAY | OG_CAP_TIF_GTC | OG_CAP_TIF_IOC |
    OG_CAP_TIF_FOK | OG_CAP_MODIFY | OG_CAP_MODIFY_QUANTITY | OG_CAP_MODIFY_PRICE |
    OG_CAP_QUERY_BY_CLIENT_ID | OG_CAP_PARTIAL_FILLS | OG_CAP_PUSH_EVENTS;

[[noreturn]] void bad(const std::string& key, const std::string& why) {
    throw sdk::Error(Status::InvalidArgument, "broker-fix: setting '" + key + "': " + why);
}

std::optional<Decimal> decimal_of(const FixMessage& m, int tag) {
    bool found = false;
    const std::string v = m.get(tag, &found);
    if (!found || v.empty()) return std::nullopt;
    Decimal d;
    if (!Decimal::parse(v, &d)) return std::nullopt;
    return d;
}

const char* side_code(Side s) { return s == Side::Buy ? "1" : "2"; }

const char* ord_type_code(OrderType t) {
    switch (t) {
        case OrderType::Market:
            return "1";
        case OrderType::Limit:
            return "2";
        case OrderType::Stop:
            return "3";
        case OrderType::StopLimit:
            return "4";
    }
    return "2";
}

const char* tif_code(TimeInForce t) {
    switch (t) {
        case TimeInForce::Day:
            return "0";
        case TimeInForce::Gtc:
            return "1";
        case TimeInForce::Ioc:
            return "3";
        case TimeInForce::Fok:
            return "4";
    }
    return "0";
}

TimeInForce tif_of(const std::string& code) {
    if (code == "1") return TimeInForce::Gtc;
    if (code == "3") return TimeInForce::Ioc;
    if (code == "4") return TimeInForce::Fok;
    return TimeInForce::Day;
}

// OrdStatus (39) to the order state machine. Statuses the host has no name for (done for day,
// stopped, suspended, calculated, accepted for bidding, 4.2's replaced) are a live order whose
// fills say how far it went.
OrderStatus status_of(const std::string& s, const Decimal& cum, const Decimal& qty) {
    const char c = s.empty() ? '0' : s[0];
    auto live = [&] {
        if (cum.is_positive() && cum >= qty) return OrderStatus::Filled;
        return cum.is_positive() ? OrderStatus::PartiallyFilled : OrderStatus::Open;
    };
    switch (c) {
        case '0':
            return OrderStatus::Open;
        case '1':
            return OrderStatus::PartiallyFilled;
        case '2':
            return OrderStatus::Filled;
        case '4':
            return OrderStatus::Cancelled;
        case '6':
            return OrderStatus::PendingCancel;
        case '8':
            return OrderStatus::Rejected;
        case 'A':
            return OrderStatus::PendingNew;
        case 'C':
            return OrderStatus::Expired;
        case 'E':
            return OrderStatus::PendingReplace;
        default:
            return live();
    }
}

// What venue orders executed together is worth: `base_notional` (the earlier orders', absent when
// unknown) plus `qty` at `avg`; absent when a part is unknown or the value overflows a Decimal.
std::optional<Decimal> chain_notional(const std::optional<Decimal>& base_notional,
                                      const Decimal& qty, const std::optional<Decimal>& avg) {
    if (!base_notional) return std::nullopt;
    if (!qty.is_positive()) return base_notional;
    if (!avg) return std::nullopt;
    try {
        return *base_notional + qty * *avg;
    } catch (const DecimalError&) {
        return std::nullopt;
    }
}

// The average price of a chain of venue orders (an emulated replace): informational, the host
// averages the fills itself. Absent when it cannot be told exactly enough.
std::optional<Decimal> chain_average(const Decimal& base_qty,
                                     const std::optional<Decimal>& base_notional,
                                     const Decimal& leg_cum, const std::optional<Decimal>& leg_avg) {
    const Decimal total = base_qty + leg_cum;
    if (!total.is_positive()) return std::nullopt;
    const std::optional<Decimal> notional = chain_notional(base_notional, leg_cum, leg_avg);
    if (!notional) return std::nullopt;
    try {
        return Decimal::divide(*notional, total, 9);
    } catch (const DecimalError&) {
        return std::nullopt;
    }
}

bool terminal(OrderStatus s) {
    return s == OrderStatus::Filled || s == OrderStatus::Cancelled || s == OrderStatus::Rejected ||
           s == OrderStatus::Expired;
}

}  // namespace

FixSettings parse_settings(const sdk::Config& c) {
    FixSettings s;
    SessionConfig& sc = s.session;
    sc.host = c.get_or("host", "127.0.0.1");
    const int64_t port = c.get_int("port", 0);
    if (port <= 0 || port > 65535) bad("port", "a TCP port 1-65535 is required");
    sc.port = static_cast<int>(port);
    sc.begin_string = c.get_or("begin_string", "FIX.4.4");
    if (sc.begin_string != "FIX.4.2" && sc.begin_string != "FIX.4.4")
        bad("begin_string", "FIX.4.2 or FIX.4.4");
    s.fix44 = sc.begin_string == "FIX.4.4";
    sc.sender_comp_id = c.get_or("sender_comp_id", "");
    sc.target_comp_id = c.get_or("target_comp_id", "");
    if (sc.sender_comp_id.empty()) bad("sender_comp_id", "required");
    if (sc.target_comp_id.empty()) bad("target_comp_id", "required");
    const int64_t hb = c.get_int("heartbeat", 30);
    if (hb < 1 || hb > 3600) bad("heartbeat", "seconds, 1-3600");
    sc.heartbeat_s = static_cast<int>(hb);
    sc.username = c.get_or("username", "");
    sc.password = c.get_or("password", "");
    sc.data_dir = c.get_or("data_dir", "");
    if (sc.data_dir.empty()) bad("data_dir", "required (the FIX store keeps sequence numbers)");
    sc.reset_on_logon = c.get_bool("reset_on_logon", false);
    const int64_t rc = c.get_int("reconnect_interval", 5);
    if (rc < 1 || rc > 3600) bad("reconnect_interval", "seconds, 1-3600");
    sc.reconnect_s = static_cast<int>(rc);
    sc.message_log = c.get_bool("message_log", false);
    const int64_t st = c.get_int("status_timeout_ms", 5000);
    if (st < 1) bad("status_timeout_ms", "positive milliseconds");
    s.status_timeout = std::chrono::milliseconds(st);
    const int64_t lw = c.get_int("logon_wait_ms", 5000);
    if (lw < 0) bad("logon_wait_ms", "milliseconds, 0 or more");
    s.logon_wait = std::chrono::milliseconds(lw);
    s.batched_events = c.get_bool("batched_events", true);
    const std::string replace = c.get_or("replace", "native");
    if (replace != "native" && replace != "cancel_new")
        bad("replace", "native (OrderCancelReplaceRequest) or cancel_new (a venue without it)");
    s.emulate_replace = replace == "cancel_new";
    sc.hold_target_seqnum = s.batched_events;
    // Tests only (a window between a report pushed and its sequence number persisted, for a kill
    // to fall into); not a documented setting.
    const int64_t delay = c.get_int("test_sync_delay_ms", 0);
    if (delay < 0 || delay > 600000) bad("test_sync_delay_ms", "milliseconds, 0-600000");
    sc.test_sync_delay_ms = static_cast<int>(delay);
    return s;
}

uint64_t capabilities_for(const FixSettings& s) {
    // Open orders for reconciliation come from OrderMassStatusRequest, which FIX 4.2 lacks: on
    // 4.2 the host reconciles order by order (get_order, by ClOrdID).
    uint64_t caps = s.fix44 ? kBaseCapabilities | OG_CAP_REPORT_OPEN_ORDERS : kBaseCapabilities;
    // Safe because the session persists a report's sequence number only once sync says the host
    // stored it (and the venue resends from there after a restart).
    if (s.batched_events) caps |= OG_CAP_BATCHED_EVENTS;
    // Quantity and price still change; the host tells clients it is a cancel and a new order.
    if (s.emulate_replace) caps |= OG_CAP_MODIFY_EMULATED;
    return caps;
}

FixBroker::FixBroker(const sdk::PluginContext& ctx)
    : host_(ctx.host),
      sink_(ctx.sink),
      settings_(parse_settings(ctx.config)),
      journal_(settings_.session.data_dir + "/replace-journal") {
    caps_ = capabilities_for(settings_);
    run_tag_ = std::to_string(host_.now_ns() / 1000000);
    // A damaged store or replace journal is a start-up error (the instance is refused), never a
    // fresh session.
    try {
        FixSession::check_store(settings_.session);
        load_replace_journal();
    } catch (const std::runtime_error& e) {
        throw sdk::Error(Status::InvalidArgument, e.what());
    }
    session_ = std::make_unique<FixSession>(settings_.session, *this);
}

FixBroker::~FixBroker() { stop(); }

void FixBroker::start() {
    try {
        session_->start();
    } catch (const std::runtime_error& e) {
        throw sdk::Error(Status::Unavailable, e.what());
    }
    // A caller may trade right after start: give the logon a bounded moment (the session keeps
    // trying to connect after that; until it is logged on, orders are answered UNAVAILABLE).
    const auto until = std::chrono::steady_clock::now() + settings_.logon_wait;
    while (!session_->logged_on() && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    host_.log(LogLevel::Info,
              "event=fix_session_started begin_string=" + settings_.session.begin_string +
                  " sender=" + settings_.session.sender_comp_id +
                  " target=" + settings_.session.target_comp_id);
}

void FixBroker::stop() {
    if (session_) session_->stop();
    std::lock_guard lock(mu_);
    for (auto& [key, w] : waiters_) {
        w->done = true;
        w->failure = "the FIX session stopped";
    }
    cv_.notify_all();
}

std::string FixBroker::next_id(const char* prefix) {
    std::lock_guard lock(mu_);
    return std::string(prefix) + run_tag_ + "-" + std::to_string(++counter_);
}

std::string FixBroker::transact_time() const {
    const int64_t ns = host_.now_ns();
    const std::time_t secs = static_cast<std::time_t>(ns / 1000000000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%d-%H:%M:%S", &tm);
    char out[40];
    std::snprintf(out, sizeof out, "%s.%03d", buf, static_cast<int>((ns / 1000000) % 1000));
    return out;
}

void FixBroker::require_logged_on() const {
    if (!session_->logged_on())
        throw sdk::Error(Status::Unavailable,
                         "broker-fix: the FIX session is not logged on; nothing sent");
}

// ---- orders -------------------------------------------------------------------------------------

OrderReport FixBroker::place_order(const OrderRequest& r, std::chrono::milliseconds) {
    if (r.order_type != OrderType::Market && r.order_type != OrderType::Limit)
        throw sdk::Error(Status::Unsupported, "broker-fix: only MARKET and LIMIT orders");
    if (r.order_type == OrderType::Limit && !r.price)
        throw sdk::Error(Status::InvalidArgument, "broker-fix: a LIMIT order needs a price");
    if (!r.quantity.is_positive())
        throw sdk::Error(Status::InvalidArgument, "broker-fix: the quantity must be positive");
    if (r.price && !r.price->is_positive())
        throw sdk::Error(Status::InvalidArgument, "broker-fix: the price must be positive");
    require_logged_on();
    auto o = std::make_shared<Order>();
    o->client_order_id = r.client_order_id;
    o->account_id = r.account_id;
    o->symbol = r.symbol;
    o->exchange = r.exchange;
    o->side = r.side;
    o->order_type = r.order_type;
    o->time_in_force = r.time_in_force;
    o->quantity = r.quantity;
    o->price = r.price;
    o->accepted_id = r.client_order_id;
    {
        std::lock_guard lock(mu_);
        if (by_cl_ord_id_.count(r.client_order_id))
            throw sdk::Error(Status::InvalidArgument,
                             "broker-fix: client order id already sent on this session");
        by_cl_ord_id_[r.client_order_id] = o;
    }
    FieldList f = {{11, r.client_order_id},
                   {1, r.account_id},
                   {21, "1"},
                   {55, r.symbol},
                   {54, side_code(r.side)},
                   {60, transact_time()},
                   {38, r.quantity.to_string()},
                   {40, ord_type_code(r.order_type)},
                   {59, tif_code(r.time_in_force)}};
    if (r.price && r.order_type == OrderType::Limit) f.emplace_back(44, r.price->to_string());
    if (!session_->send("D", f)) {
        std::lock_guard lock(mu_);
        by_cl_ord_id_.erase(r.client_order_id);
        throw sdk::Error(Status::Unavailable,
                         "broker-fix: the FIX session is not logged on; nothing sent");
    }
    throw sdk::Error(Status::Pending, "broker-fix: sent, awaiting acknowledgement");
}

OrderReport FixBroker::modify_order(const ModifyRequest& r, std::chrono::milliseconds) {
    require_logged_on();
    if (r.order_type || r.time_in_force || r.trigger_price)
        throw sdk::Error(Status::Unsupported,
                         "broker-fix: a replace changes only quantity and price");
    const std::string request_id = r.request_id.empty() ? next_id("R") : r.request_id;
    learn_if_unknown(r.account_id, r.client_order_id, r.orig_request_id, r.broker_order_id);
    if (settings_.emulate_replace) {
        send_emulated_modify(r, request_id);
        throw sdk::Error(Status::Pending,
                         "broker-fix: modify sent as a cancel (the venue has no replace); the new "
                         "order follows its confirmation");
    }
    FieldList f;
    {
        std::lock_guard lock(mu_);
        OrderPtr o = find_locked(r.client_order_id, "", r.broker_order_id);
        if (!o) throw sdk::Error(Status::NotFound, "broker-fix: the venue does not know the order");
        // A chain of an emulated replace (journal) is named by its working venue order.
        const std::string orig = r.orig_request_id.empty() || o->chained() ? o->accepted_id
                                                                           : r.orig_request_id;
        const Decimal qty = (r.quantity ? *r.quantity : o->quantity) - o->base_qty;
        f = {{11, request_id},
             {41, orig},
             {1, o->account_id},
             {21, "1"},
             {55, o->symbol},
             {54, side_code(o->side)},
             {60, transact_time()},
             {38, qty.to_string()},
             {40, ord_type_code(o->order_type)},
             {59, tif_code(o->time_in_force)}};
        if (!o->venue_order_id().empty()) f.emplace_back(37, o->venue_order_id());
        const std::optional<Decimal> px = r.price ? r.price : o->price;
        if (px && o->order_type == OrderType::Limit) f.emplace_back(44, px->to_string());
        o->pending_id = request_id;
        o->pending_kind = 'R';
        by_cl_ord_id_[request_id] = o;
    }
    if (!session_->send("G", f))
        throw sdk::Error(Status::Unavailable,
                         "broker-fix: the FIX session is not logged on; nothing sent");
    throw sdk::Error(Status::Pending, "broker-fix: replace sent, awaiting acknowledgement");
}

// ---- modify as cancel + new (`replace: cancel_new`) ----------------------------------------------
//
// The venue has no OrderCancelReplaceRequest. A modify cancels the working venue order (ClOrdID =
// the host's request id); once the venue confirms the cancel, and with it what that order
// executed, the rest of the modified quantity goes out as a new order (ClOrdID = request id +
// ".n"), journaled first. The new order's first report answers the modify. The host keeps one
// order: the plugin reports the chain's quantities under the first OrderID.

void FixBroker::send_emulated_modify(const ModifyRequest& r, const std::string& request_id) {
    FieldList f;
    {
        std::lock_guard lock(mu_);
        OrderPtr o = find_locked(r.client_order_id, "", r.broker_order_id);
        if (!o) throw sdk::Error(Status::NotFound, "broker-fix: the venue does not know the order");
        if (o->emulating || !o->pending_id.empty())
            throw sdk::Error(Status::InvalidArgument,
                             "broker-fix: a cancel or modify of the order is in flight");
        if (request_id.find_first_of("\t\n\r") != std::string::npos)
            throw sdk::Error(Status::InvalidArgument, "broker-fix: request id with a tab or newline");
        Order::Emulation em;
        em.request_id = request_id;
        em.quantity = r.quantity ? *r.quantity : o->quantity;
        em.price = r.price ? r.price : o->price;
        if (em.quantity <= o->cum_qty)
            throw sdk::Error(Status::InvalidArgument,
                             "broker-fix: the quantity must stay above what is filled");
        f = {{11, request_id},
             {41, o->accepted_id},
             {1, o->account_id},
             {55, o->symbol},
             {54, side_code(o->side)},
             {60, transact_time()},
             {38, (o->quantity - o->base_qty).to_string()}};
        if (!o->venue_order_id().empty()) f.emplace_back(37, o->venue_order_id());
        o->emulating = em;
        o->pending_id = request_id;
        o->pending_kind = 'E';
        by_cl_ord_id_[request_id] = o;
    }
    if (!session_->send("F", f)) {
        std::lock_guard lock(mu_);
        if (OrderPtr o = find_locked(r.client_order_id, "", r.broker_order_id)) {
            o->emulating.reset();
            o->pending_id.clear();
            o->pending_kind = 0;
        }
        throw sdk::Error(Status::Unavailable,
                         "broker-fix: the FIX session is not logged on; nothing sent");
    }
    host_.log(LogLevel::Info, "event=fix_emulated_replace_cancel client_order_id=" +
                                  r.client_order_id + " cl_ord_id=" + request_id);
}

FieldList FixBroker::finish_emulated_cancel(const OrderPtr& op, const FixMessage& m,
                                            OrderReport* report, bool* push) {
    Order& o = *op;
    const Order::Emulation em = *o.emulating;
    o.emulating.reset();
    const std::optional<Decimal> leg_cum_reported = decimal_of(m, 14);
    const Decimal leg_cum = leg_cum_reported ? *leg_cum_reported : o.cum_qty - o.base_qty;
    const std::optional<Decimal> leg_avg = decimal_of(m, 6);
    const Decimal done = o.base_qty + leg_cum;
    const std::optional<Decimal> notional = chain_notional(o.base_notional, leg_cum, leg_avg);
    o.avg_px = chain_average(o.base_qty, o.base_notional, leg_cum, leg_avg);
    o.cum_qty = done;
    o.leaves_qty = Decimal(0, 0);
    const Decimal rest = em.quantity - done;
    if (!em.cancel_request_id.empty() || !rest.is_positive()) {
        // Nothing to place: the host asked a cancel meanwhile, or what the venue order executed
        // while its cancel was out reached the modified quantity.
        const bool filled = em.cancel_request_id.empty() && rest.is_zero();
        o.status = filled ? OrderStatus::Filled : OrderStatus::Cancelled;
        if (filled) {
            o.quantity = em.quantity;
            o.price = em.price;
        }
        o.pending_id.clear();
        o.pending_kind = 0;
        *report = report_of(o);
        report->request_id = em.cancel_request_id.empty() ? em.request_id : em.cancel_request_id;
        *push = true;
        host_.log(LogLevel::Info, "event=fix_emulated_replace_done client_order_id=" +
                                      o.client_order_id + " cum_qty=" + done.to_string() +
                                      " status=" + std::string(to_string(o.status)) +
                                      " detail=\"nothing left to place\"");
        return {};
    }
    ReplaceLeg leg;
    leg.client_order_id = o.client_order_id;
    leg.request_id = em.request_id;
    leg.leg_id = em.request_id + ".n";
    leg.broker_order_id = o.broker_order_id;
    leg.account_id = o.account_id;
    leg.symbol = o.symbol;
    leg.side = o.side;
    leg.order_type = o.order_type;
    leg.time_in_force = o.time_in_force;
    leg.quantity = em.quantity;
    leg.price = o.order_type == OrderType::Limit ? em.price : std::nullopt;
    leg.base_qty = done;
    leg.base_notional = notional;
    try {
        journal_.append(leg);
    } catch (const std::runtime_error& e) {
        // Without the record a restart could not tell the new venue order apart: it is not
        // sent, and the order ends cancelled as the venue holds it.
        host_.log(LogLevel::Error, "event=fix_replace_journal_failed client_order_id=" +
                                       o.client_order_id + " error=\"" + e.what() + "\"");
        o.status = OrderStatus::Cancelled;
        o.pending_id.clear();
        o.pending_kind = 0;
        *report = report_of(o);
        report->request_id = em.request_id;
        *push = true;
        return {};
    }
    o.old_leg_ids.insert(o.accepted_id);
    o.old_leg_ids.insert(em.request_id);
    o.accepted_id = leg.leg_id;
    o.leg_order_id.clear();
    o.base_qty = done;
    o.base_notional = notional;
    o.quantity = em.quantity;
    o.price = leg.price;
    o.status = OrderStatus::PendingReplace;
    o.pending_id = em.request_id;
    o.pending_kind = 'N';
    by_cl_ord_id_[leg.leg_id] = op;
    *push = false;
    FieldList f = {{11, leg.leg_id},
                   {1, o.account_id},
                   {21, "1"},
                   {55, o.symbol},
                   {54, side_code(o.side)},
                   {60, transact_time()},
                   {38, rest.to_string()},
                   {40, ord_type_code(o.order_type)},
                   {59, tif_code(o.time_in_force)}};
    if (o.price) f.emplace_back(44, o.price->to_string());
    return f;
}

void FixBroker::load_replace_journal() {
    const std::vector<ReplaceLeg> legs = journal_.load();
    std::lock_guard lock(mu_);
    for (const ReplaceLeg& l : legs) {
        OrderPtr& o = by_cl_ord_id_[l.client_order_id];
        if (!o) {
            o = std::make_shared<Order>();
            o->client_order_id = l.client_order_id;
            o->account_id = l.account_id;
            o->symbol = l.symbol;
            o->side = l.side;
            o->order_type = l.order_type;
            o->time_in_force = l.time_in_force;
            o->broker_order_id = l.broker_order_id;
            o->accepted_id = l.client_order_id;
            o->answered = true;
            o->status = OrderStatus::Open;
            if (!l.broker_order_id.empty()) by_order_id_[l.broker_order_id] = o;
        }
        // A later leg of the same order follows the earlier one.
        o->old_leg_ids.insert(o->accepted_id);
        o->old_leg_ids.insert(l.request_id);
        o->accepted_id = l.leg_id;
        o->leg_order_id.clear();
        o->base_qty = l.base_qty;
        o->base_notional = l.base_notional;
        o->quantity = l.quantity;
        o->price = l.price;
        o->cum_qty = l.base_qty;
        by_cl_ord_id_[l.request_id] = o;
        by_cl_ord_id_[l.leg_id] = o;
    }
    if (!legs.empty())
        host_.log(LogLevel::Info, "event=fix_replace_journal_loaded legs=" +
                                      std::to_string(legs.size()));
}

OrderReport FixBroker::cancel_order(const std::string& account_id,
                                    const std::string& broker_order_id,
                                    const std::string& client_order_id,
                                    std::chrono::milliseconds timeout) {
    CancelRequest r;
    r.account_id = account_id;
    r.broker_order_id = broker_order_id;
    r.client_order_id = client_order_id;
    return cancel_request(r, timeout);
}

OrderReport FixBroker::cancel_request(const CancelRequest& r, std::chrono::milliseconds) {
    require_logged_on();
    const std::string request_id = r.request_id.empty() ? next_id("C") : r.request_id;
    learn_if_unknown(r.account_id, r.client_order_id, r.orig_request_id, r.broker_order_id);
    FieldList f;
    {
        std::lock_guard lock(mu_);
        OrderPtr o = find_locked(r.client_order_id, "", r.broker_order_id);
        if (!o) throw sdk::Error(Status::NotFound, "broker-fix: the venue does not know the order");
        if (o->emulating) {
            // The cancel of an emulated modify is out already: it now ends the order, and no new
            // venue order follows (its outcome answers this request).
            o->emulating->cancel_request_id = request_id;
            o->pending_id = request_id;
            o->pending_kind = 'C';
            by_cl_ord_id_[request_id] = o;
            throw sdk::Error(Status::Pending,
                             "broker-fix: the order is being cancelled for a modify; no new order "
                             "will follow");
        }
        const std::string orig = r.orig_request_id.empty() || o->chained() ? o->accepted_id
                                                                           : r.orig_request_id;
        f = {{11, request_id},
             {41, orig},
             {1, o->account_id},
             {55, o->symbol},
             {54, side_code(o->side)},
             {60, transact_time()},
             {38, (o->quantity - o->base_qty).to_string()}};
        if (!o->venue_order_id().empty()) f.emplace_back(37, o->venue_order_id());
        o->pending_id = request_id;
        o->pending_kind = 'C';
        by_cl_ord_id_[request_id] = o;
    }
    if (!session_->send("F", f))
        throw sdk::Error(Status::Unavailable,
                         "broker-fix: the FIX session is not logged on; nothing sent");
    throw sdk::Error(Status::Pending, "broker-fix: cancel sent, awaiting acknowledgement");
}

// ---- status -------------------------------------------------------------------------------------

std::vector<FixMessage> FixBroker::wait(const std::vector<std::string>& keys, const WaiterPtr& w,
                                        const std::string& msg_type, const FieldList& fields) {
    {
        std::lock_guard lock(mu_);
        for (const auto& k : keys) waiters_[k] = w;
    }
    struct Unregister {
        FixBroker* self;
        const std::vector<std::string>& keys;
        const WaiterPtr& w;
        ~Unregister() {
            std::lock_guard lock(self->mu_);
            for (const auto& k : keys) {
                auto it = self->waiters_.find(k);
                if (it != self->waiters_.end() && it->second == w) self->waiters_.erase(it);
            }
        }
    } unregister{this, keys, w};
    if (!session_->send(msg_type, fields))
        throw sdk::Error(Status::Unavailable,
                         "broker-fix: the FIX session is not logged on; nothing sent");
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, settings_.status_timeout, [&] { return w->done; }))
        throw sdk::Error(Status::Timeout, "broker-fix: no status answer from the venue in time");
    if (!w->failure.empty()) throw sdk::Error(Status::Unavailable, "broker-fix: " + w->failure);
    return w->reports;
}

OrderReport FixBroker::get_order(const std::string& account_id, const std::string& broker_order_id,
                                 const std::string& client_order_id) {
    return ask_status(account_id, broker_order_id, client_order_id, "");
}

OrderReport FixBroker::ask_status(const std::string& account_id, const std::string& broker_order_id,
                                  const std::string& client_order_id,
                                  const std::string& latest_id) {
    require_logged_on();
    OrderPtr o;
    std::string cl = client_order_id;
    FieldList f;
    {
        std::lock_guard lock(mu_);
        o = find_locked(client_order_id, "", broker_order_id);
        if (o) cl = o->accepted_id;
    }
    if (cl.empty() && broker_order_id.empty())
        throw sdk::Error(Status::InvalidArgument, "broker-fix: no order id given");
    const std::string req_id = next_id("S");
    // ClOrdID is required in a status request; asked by OrderID alone, a placeholder that names
    // no order of ours.
    if (cl.empty()) cl = "NONE";
    f.emplace_back(11, cl);
    if (o) {
        // The working venue order (after an emulated replace: not the first OrderID).
        if (!o->venue_order_id().empty()) f.emplace_back(37, o->venue_order_id());
    } else if (!broker_order_id.empty()) {
        f.emplace_back(37, broker_order_id);
    }
    if (o) {
        f.emplace_back(55, o->symbol);
        f.emplace_back(54, side_code(o->side));
    }
    if (settings_.fix44) f.emplace_back(790, req_id);
    auto w = std::make_shared<Waiter>();
    // 4.4 echoes OrdStatusReqID; 4.2 answers by the order's ClOrdID (any of its chain).
    std::vector<std::string> keys = {settings_.fix44 ? "S:" + req_id : "C:" + cl};
    if (!settings_.fix44 && o) keys.push_back("C:" + o->client_order_id);
    if (!settings_.fix44 && !latest_id.empty()) keys.push_back("C:" + latest_id);
    const std::vector<FixMessage> got = wait(keys, w, "H", f);
    if (got.empty()) throw sdk::Error(Status::Internal, "broker-fix: empty status answer");
    const FixMessage& m = got.front();
    if (m.get(39) == "8" && m.get(103) == "5") {
        std::lock_guard lock(mu_);
        if (o && o->chained() && o->leg_order_id.empty()) {
            // The new order of an emulated replace never reached the venue (the process stopped
            // between the journal and the send): the chain's last venue order was cancelled (the
            // journal is written only after that), so the order is.
            host_.log(LogLevel::Warn, "event=fix_emulated_replace_not_sent client_order_id=" +
                                          o->client_order_id + " leg=" + o->accepted_id);
            o->status = OrderStatus::Cancelled;
            o->quantity = o->base_qty;
            o->cum_qty = o->base_qty;
            o->leaves_qty = Decimal(0, 0);
            o->avg_px = chain_average(o->base_qty, o->base_notional, Decimal(0, 0), std::nullopt);
            return report_of(*o);
        }
        throw sdk::Error(Status::NotFound, "broker-fix: the venue does not know the order");
    }
    std::lock_guard lock(mu_);
    if (!o) o = find_locked(m.get(11), m.get(41), m.get(37));
    // Not sent by this instance (before a restart, or by another gateway of the firm): known
    // from now on, so that it can be cancelled or replaced and its reports applied.
    if (!o) o = learn_locked(m, client_order_id, account_id);
    return report_from(*o, m);
}

void FixBroker::learn_if_unknown(const std::string& account_id, const std::string& client_order_id,
                                 const std::string& orig_request_id,
                                 const std::string& broker_order_id) {
    {
        std::lock_guard lock(mu_);
        if (find_locked(client_order_id, "", broker_order_id)) return;
    }
    host_.log(LogLevel::Info, "event=fix_order_status_asked client_order_id=" + client_order_id +
                                  " detail=\"not sent by this instance: its terms are asked "
                                  "from the venue\"");
    // Asked by the order's own ids (the venue knows every ClOrdID of a chain); a 4.2 answer
    // names the chain's latest ClOrdID, which the host knows as the last accepted request.
    OrderReport rep = ask_status(account_id, broker_order_id, client_order_id, orig_request_id);
    std::lock_guard lock(mu_);
    OrderPtr o = find_locked(rep.client_order_id, "", rep.broker_order_id);
    if (o && !client_order_id.empty()) {
        o->client_order_id = client_order_id;  // the host's id, as in every report of it
        by_cl_ord_id_.emplace(client_order_id, o);
    }
}

FixBroker::OrderPtr FixBroker::learn_locked(const FixMessage& m, const std::string& client_order_id,
                                            const std::string& account_id) {
    auto o = std::make_shared<Order>();
    o->client_order_id = client_order_id.empty() ? m.get(11) : client_order_id;
    o->account_id = m.get(1).empty() ? account_id : m.get(1);
    o->symbol = m.get(55);
    o->side = m.get(54) == "2" ? Side::Sell : Side::Buy;
    o->order_type = m.get(40) == "1" ? OrderType::Market : OrderType::Limit;
    o->time_in_force = tif_of(m.get(59));
    if (auto q = decimal_of(m, 38)) o->quantity = *q;
    if (o->order_type == OrderType::Limit) o->price = decimal_of(m, 44);
    if (const std::string id = m.get(37); id != "NONE") o->broker_order_id = id;
    o->accepted_id = m.get(11).empty() ? o->client_order_id : m.get(11);
    if (auto cum = decimal_of(m, 14)) o->cum_qty = *cum;
    o->avg_px = decimal_of(m, 6);
    o->leaves_qty = decimal_of(m, 151);
    o->status = status_of(m.get(39), o->cum_qty, o->quantity);
    o->answered = true;
    by_cl_ord_id_.emplace(o->client_order_id, o);
    by_cl_ord_id_.emplace(o->accepted_id, o);
    if (!o->broker_order_id.empty()) by_order_id_.emplace(o->broker_order_id, o);
    return o;
}

std::vector<OrderReport> FixBroker::list_orders(const std::string& account_id, bool open_only,
                                                int64_t) {
    require_logged_on();
    std::vector<OrderReport> out;
    if (!settings_.fix44) {
        // FIX 4.2 has no OrderMassStatusRequest: one OrderStatusRequest per order this instance
        // sent (orders sent before a restart are not known here; the host asks for them one by
        // one through get_order).
        std::vector<OrderPtr> known;
        {
            std::lock_guard lock(mu_);
            std::set<Order*> seen;
            for (const auto& [id, o] : by_cl_ord_id_)
                if (seen.insert(o.get()).second &&
                    (account_id.empty() || o->account_id == account_id) &&
                    (!open_only || !terminal(o->status)))
                    known.push_back(o);
        }
        for (const auto& o : known) {
            try {
                out.push_back(get_order(o->account_id, o->broker_order_id, o->client_order_id));
            } catch (const sdk::Error& e) {
                if (e.status() != Status::NotFound) throw;
            }
        }
        return out;
    }
    if (!open_only)
        throw sdk::Error(Status::Unsupported,
                         "broker-fix: the venue reports open orders only (mass status)");
    const std::string req_id = next_id("M");
    auto w = std::make_shared<Waiter>();
    w->mass = true;
    const std::vector<FixMessage> got = wait({"M:" + req_id}, w, "AF", {{584, req_id}, {585, "7"}});
    std::lock_guard lock(mu_);
    for (const FixMessage& m : got) {
        if (m.get(37) == "NONE" || m.get(911) == "0") continue;
        OrderPtr o = find_locked(m.get(11), m.get(41), m.get(37));
        if (o) {
            if (account_id.empty() || o->account_id == account_id)
                out.push_back(report_from(*o, m));
            continue;
        }
        // An order of this session the plugin did not send in this run: its account is what the
        // venue echoes (Account, tag 1) when it does.
        const std::string acct = m.get(1);
        if (!account_id.empty() && !acct.empty() && acct != account_id) continue;
        Order unknown;
        unknown.client_order_id = m.get(11);
        unknown.account_id = acct.empty() ? account_id : acct;
        unknown.symbol = m.get(55);
        unknown.side = m.get(54) == "2" ? Side::Sell : Side::Buy;
        out.push_back(report_from(unknown, m));
    }
    return out;
}

void FixBroker::ping(std::chrono::milliseconds) { require_logged_on(); }

// ---- what the venue sends -----------------------------------------------------------------------

FixBroker::OrderPtr FixBroker::find_locked(const std::string& cl, const std::string& orig,
                                           const std::string& order_id) const {
    for (const std::string* k : {&cl, &orig}) {
        if (k->empty()) continue;
        auto it = by_cl_ord_id_.find(*k);
        if (it != by_cl_ord_id_.end()) return it->second;
    }
    if (!order_id.empty()) {
        auto it = by_order_id_.find(order_id);
        if (it != by_order_id_.end()) return it->second;
    }
    return nullptr;
}

OrderReport FixBroker::report_of(const Order& o) const {
    OrderReport r;
    r.broker_order_id = o.broker_order_id;
    r.client_order_id = o.client_order_id;
    r.account_id = o.account_id;
    r.symbol = o.symbol;
    r.exchange = o.exchange;
    r.side = o.side;
    r.order_type = o.order_type;
    r.time_in_force = o.time_in_force;
    r.status = o.status;
    r.quantity = o.quantity;
    r.filled_quantity = o.cum_qty;
    r.price = o.price;
    r.average_fill_price = o.cum_qty.is_positive() ? o.avg_px : std::nullopt;
    r.leaves_quantity = o.leaves_qty;
    r.updated_at_ns = host_.now_ns();
    return r;
}

OrderReport FixBroker::report_from(const Order& o, const FixMessage& m) const {
    OrderReport r = report_of(o);
    if (const std::string id = m.get(37); !id.empty() && id != "NONE") r.broker_order_id = id;
    if (auto q = decimal_of(m, 38)) r.quantity = *q;
    if (auto px = decimal_of(m, 44)) r.price = px;
    const std::optional<Decimal> cum = decimal_of(m, 14);
    r.filled_quantity = cum ? *cum : o.cum_qty;
    const std::optional<Decimal> avg = decimal_of(m, 6);
    r.average_fill_price = r.filled_quantity.is_positive() && avg ? avg : std::nullopt;
    r.leaves_quantity = decimal_of(m, 151);
    r.status = status_of(m.get(39), r.filled_quantity, r.quantity);
    if (terminal(r.status)) r.leaves_quantity = Decimal(0, 0);
    if (const std::string t = m.get(40); t == "1")
        r.order_type = OrderType::Market;
    else if (t == "2")
        r.order_type = OrderType::Limit;
    if (r.order_type == OrderType::Market) r.price.reset();
    if (r.status == OrderStatus::Rejected) {
        r.reject_reason = m.get(58);
        if (r.reject_reason.empty()) r.reject_reason = "rejected (OrdRejReason=" + m.get(103) + ")";
    }
    if (o.chained()) {
        // A report of the working venue order of an emulated replace: the chain's quantities
        // (what the earlier venue orders executed comes first), under the first OrderID.
        r.broker_order_id = o.broker_order_id;
        const Decimal leg_cum = cum ? *cum : o.cum_qty - o.base_qty;
        const std::optional<Decimal> leg_qty = decimal_of(m, 38);
        r.quantity = leg_qty ? o.base_qty + *leg_qty : o.quantity;
        r.filled_quantity = o.base_qty + leg_cum;
        r.average_fill_price = chain_average(o.base_qty, o.base_notional, leg_cum, avg);
        r.status = status_of(m.get(39), r.filled_quantity, r.quantity);
        if (terminal(r.status)) r.leaves_quantity = Decimal(0, 0);
    }
    const std::string exec_id = m.get(17);
    if (exec_id != "0") r.exec_id = exec_id;
    return r;
}

bool FixBroker::on_message(const FixMessage& m) {
    if (m.msg_type == "8") return on_execution_report(m);
    if (m.msg_type == "9") return on_cancel_reject(m);
    if (m.msg_type == "j")
        on_business_reject(m);
    else
        host_.log(LogLevel::Warn, "event=fix_unhandled_message msg_type=" + m.msg_type);
    return false;
}

FixListener::SyncAnswer FixBroker::sync_pushed(int timeout_ms) {
    switch (sink_.sync(std::chrono::milliseconds(timeout_ms))) {
        case Status::Ok:
            return SyncAnswer::Stored;
        case Status::Timeout:
            return SyncAnswer::NotYet;
        case Status::Unavailable:
            return SyncAnswer::Stopping;
        default:
            // The host failed inside its sync (it logged why): nothing is confirmed.
            return SyncAnswer::NotYet;
    }
}

bool FixBroker::answer_waiters(const FixMessage& m) {
    std::lock_guard lock(mu_);
    std::vector<std::string> keys;
    if (const std::string id = m.get(584); !id.empty()) keys.push_back("M:" + id);
    if (const std::string id = m.get(790); !id.empty()) keys.push_back("S:" + id);
    keys.push_back("C:" + m.get(11));
    if (OrderPtr o = find_locked(m.get(11), m.get(41), m.get(37)))
        keys.push_back("C:" + o->client_order_id);
    for (const auto& k : keys) {
        auto it = waiters_.find(k);
        if (it == waiters_.end()) continue;
        Waiter& w = *it->second;
        w.reports.push_back(m);
        if (!w.mass || m.get(912) == "Y" || m.get(911) == "0") w.done = true;
        cv_.notify_all();
        return true;
    }
    return false;
}

bool FixBroker::on_execution_report(const FixMessage& m) {
    const std::string exec_type = m.get(150);
    const std::string trans = m.get(20);  // 4.2 only
    const bool fix44 = settings_.fix44;
    // A status answer (4.4 ExecType I; 4.2 ExecTransType 3) or a mass status report is no
    // execution: it answers a waiting get_order / list_orders and changes nothing by itself.
    const bool status_report = fix44 ? exec_type == "I" : trans == "3";
    if (status_report || !m.get(584).empty()) {
        if (!answer_waiters(m))
            host_.log(LogLevel::Debug, "event=fix_status_report_unclaimed cl_ord_id=" + m.get(11));
        return false;
    }
    const std::string exec_id = m.get(17);
    const std::string cl = m.get(11), orig = m.get(41), order_id = m.get(37);
    const bool trade =
        fix44 ? exec_type == "F"
              : (trans.empty() || trans == "0") && (exec_type == "1" || exec_type == "2");
    const bool bust = fix44 ? exec_type == "H" : trans == "1";
    const bool correction = fix44 ? exec_type == "G" : trans == "2";

    std::optional<Fill> fill;
    OrderReport report;
    bool push_update = true;
    FieldList new_leg;  // an emulated replace's new venue order, sent after the lock
    OrderPtr chain;
    {
        std::lock_guard lock(mu_);
        // A PossDup re-delivery, or a report seen before a crash inside this handler, repeats an
        // ExecID: applied once.
        if (!exec_id.empty() && exec_id != "0" && !seen_exec_ids_.insert(exec_id).second)
            return false;
        OrderPtr o = find_locked(cl, orig, order_id);
        if (!o && !order_id.empty() && order_id != "NONE") {
            // An order of the firm this instance did not send, or sent before a restart (its
            // reports resent after logon): learned from the report, its fills applied.
            host_.log(LogLevel::Info, "event=fix_order_learned cl_ord_id=" + cl +
                                          " order_id=" + order_id + " exec_type=" + exec_type);
            o = learn_locked(m, "", "");
        }
        if (!o) {
            host_.log(LogLevel::Warn, "event=fix_report_unknown_order cl_ord_id=" + cl +
                                          " order_id=" + order_id + " exec_type=" + exec_type);
            Order unknown;
            unknown.client_order_id = cl;
            unknown.account_id = m.get(1);
            unknown.symbol = m.get(55);
            unknown.side = m.get(54) == "2" ? Side::Sell : Side::Buy;
            report = report_from(unknown, m);
            report.request_id = cl;
        } else {
            Order& ord = *o;
            if (ord.old_leg_ids.count(cl)) {
                // A report of an earlier venue order of an emulated replace (a fill it made
                // before its cancel, resent; its cancel's ack): its fill counts below, the order's
                // state is the working venue order's.
                push_update = false;
            } else if (ord.emulating && exec_type == "4") {
                new_leg = finish_emulated_cancel(o, m, &report, &push_update);
                chain = o;
            } else {
            if (!order_id.empty() && order_id != "NONE") {
                if (ord.broker_order_id.empty()) {
                    ord.broker_order_id = order_id;
                    by_order_id_[order_id] = o;
                } else if (ord.chained() && ord.leg_order_id.empty() && cl == ord.accepted_id) {
                    ord.leg_order_id = order_id;  // the new venue order of an emulated replace
                    by_order_id_[order_id] = o;
                }
            }
            std::string request_id;
            std::string request_reject;
            bool leg_rejected = false;
            if (ord.pending_kind == 'N' && cl == ord.accepted_id) {
                // The new venue order of an emulated replace: its first report answers the
                // modify. Refused, the chain has no working order left.
                request_id = ord.pending_id;
                ord.pending_id.clear();
                ord.pending_kind = 0;
                leg_rejected = exec_type == "8";
            } else if (exec_type == "5") {
                // Replaced: the replace's ClOrdID is now the chain's accepted id.
                ord.accepted_id = cl;
                if (auto q = decimal_of(m, 38)) ord.quantity = *q;
                if (auto px = decimal_of(m, 44)) ord.price = px;
                if (ord.pending_id == cl) ord.pending_id.clear(), ord.pending_kind = 0;
                request_id = cl;
            } else if (exec_type == "4") {
                // Canceled, by the cancel's ClOrdID or (some venues) the order's own.
                if (ord.pending_kind == 'C') request_id = ord.pending_id;
                ord.pending_id.clear();
                ord.pending_kind = 0;
            } else if (exec_type == "8") {
                if (!ord.pending_id.empty() && cl == ord.pending_id) {
                    request_id = cl;  // the request refused, the order lives on
                    request_reject = m.get(58).empty() ? "request rejected" : m.get(58);
                    ord.pending_id.clear();
                    ord.pending_kind = 0;
                    ord.emulating.reset();
                } else {
                    request_id = ord.client_order_id;
                }
            } else if (!ord.answered && cl == ord.client_order_id && (exec_type == "0" || trade)) {
                // The order's first word: its New ack, or (a venue without New acks) a fill.
                request_id = ord.client_order_id;
            }
            ord.answered = true;
            report = report_from(ord, m);
            report.request_id = request_id;
            if (leg_rejected) {
                host_.log(LogLevel::Warn,
                          "event=fix_emulated_replace_new_order_rejected client_order_id=" +
                              ord.client_order_id + " cl_ord_id=" + cl + " text=\"" + m.get(58) +
                              "\" detail=\"the earlier venue order was cancelled: the order is\"");
                report.status = OrderStatus::Cancelled;
                report.reject_reason.clear();
                report.leaves_quantity = Decimal(0, 0);
            }
            // While the cancel of an emulated modify is out, the venue says PendingCancel: to
            // the host the order is being modified (unless it asked a cancel meanwhile).
            if (ord.emulating && ord.emulating->cancel_request_id.empty() &&
                report.status == OrderStatus::PendingCancel)
                report.status = OrderStatus::PendingReplace;
            if (!request_reject.empty()) {
                report.cancel_reject_reason = request_reject;
                report.status = ord.status;
                report.reject_reason.clear();
            }
            if (request_reject.empty()) {
                ord.status = report.status;
                ord.cum_qty = report.filled_quantity;
                ord.avg_px = report.average_fill_price;
                ord.leaves_qty = report.leaves_quantity;
                if (report.status != OrderStatus::PendingReplace &&
                    report.status != OrderStatus::PendingCancel)
                    ord.quantity = report.quantity;
            }
            }
            if (trade || bust || correction) {
                // A bust (4.4 ExecType H; 4.2 ExecTransType 1) or a correction (4.4 G; 4.2
                // ExecTransType 2) names the execution it acts on in ExecRefID (19); a
                // correction's LastQty/LastPx are the execution's corrected values. Its own
                // ExecID is its trade id, de-duplicated like any fill's.
                std::optional<Decimal> qty = decimal_of(m, 32), px = decimal_of(m, 31);
                const std::string ref = m.get(19);
                if ((bust || correction) && ref.empty()) {
                    host_.log(LogLevel::Error, std::string("event=fix_trade_") +
                                                   (bust ? "bust" : "correction") +
                                                   "_without_exec_ref_id exec_id=" + exec_id +
                                                   " cl_ord_id=" + cl + " action=not_applied");
                } else if (bust || (qty && px && qty->is_positive())) {
                    Fill f;
                    f.broker_trade_id = exec_id;
                    f.broker_order_id = ord.broker_order_id;
                    f.client_order_id = ord.client_order_id;
                    f.account_id = ord.account_id;
                    f.symbol = ord.symbol;
                    f.exchange = ord.exchange;
                    f.side = ord.side;
                    f.quantity = qty ? *qty : Decimal(0, 0);
                    f.price = px ? *px : Decimal(0, 0);
                    f.fee = Decimal(0, 0);
                    f.executed_at_ns = host_.now_ns();
                    f.kind = bust ? FillKind::Bust
                                  : correction ? FillKind::Correction : FillKind::Trade;
                    if (!trade) f.ref_trade_id = ref;
                    fill = f;
                } else {
                    host_.log(LogLevel::Error,
                              "event=fix_trade_without_last_qty_px exec_id=" + exec_id);
                }
            }
        }
    }
    if (bust || correction)
        host_.log(LogLevel::Info, std::string("event=fix_trade_") + (bust ? "bust" : "correction") +
                                      " exec_id=" + exec_id + " exec_ref_id=" + m.get(19) +
                                      " cl_ord_id=" + cl + " cum_qty=" + m.get(14));
    // The fill (or its bust/correction) first, then the order's state as the venue reports it
    // with it (OrdStatus, CumQty, AvgPx): the host applies the fill, then follows the venue.
    if (!new_leg.empty()) {
        if (session_->send("D", new_leg)) {
            host_.log(LogLevel::Info, "event=fix_emulated_replace_new_order client_order_id=" +
                                          chain->client_order_id + " cl_ord_id=" + new_leg[0].second);
        } else {
            // The line dropped between the cancel's ack and the new order: nothing works at the
            // venue for the order any more (a status request later finds the same).
            std::lock_guard lock(mu_);
            host_.log(LogLevel::Warn, "event=fix_emulated_replace_not_sent client_order_id=" +
                                          chain->client_order_id + " leg=" + chain->accepted_id);
            report = report_of(*chain);
            report.request_id = chain->pending_id;
            report.status = OrderStatus::Cancelled;
            report.quantity = chain->base_qty.is_positive() ? chain->base_qty : chain->quantity;
            report.leaves_quantity = Decimal(0, 0);
            chain->status = OrderStatus::Cancelled;
            chain->pending_id.clear();
            chain->pending_kind = 0;
            push_update = true;
        }
    }
    if (fill) sink_.fill(*fill);
    if (push_update) sink_.order_update(report);
    return fill.has_value() || push_update;
}

bool FixBroker::on_cancel_reject(const FixMessage& m) {
    OrderReport report;
    {
        std::lock_guard lock(mu_);
        OrderPtr o = find_locked(m.get(11), m.get(41), m.get(37));
        if (!o) {
            host_.log(LogLevel::Warn, "event=fix_cancel_reject_unknown_order cl_ord_id=" +
                                          m.get(11) + " text=\"" + m.get(58) + "\"");
            return false;
        }
        // The refused request: the reject's ClOrdID, or the one in flight when the venue names
        // the order by its own id.
        std::string text = m.get(58);
        if (text.empty()) text = "cancel/replace refused (CxlRejReason=" + m.get(102) + ")";
        report = refuse_pending_locked(*o, o->pending_id.empty() ? m.get(11) : o->pending_id,
                                       text);
    }
    sink_.order_update(report);
    return true;
}

void FixBroker::on_business_reject(const FixMessage& m) {
    // A business-level refusal of one of our messages (e.g. a request type the venue lacks).
    host_.log(LogLevel::Warn, "event=fix_business_reject ref_msg_type=" + m.get(372) +
                                  " ref_id=" + m.get(379) + " reason=" + m.get(380) + " text=\"" +
                                  m.get(58) + "\"");
    const std::string ref = m.get(379);
    const std::string type = m.get(372);
    std::optional<OrderReport> refused;
    {
        std::lock_guard lock(mu_);
        for (const std::string& k : {"M:" + ref, "S:" + ref, "C:" + ref}) {
            auto it = waiters_.find(k);
            if (it == waiters_.end()) continue;
            it->second->done = true;
            it->second->failure = "the venue refused the request: " + m.get(58);
            cv_.notify_all();
        }
        // A cancel/replace or a cancel the venue does not take (a venue without
        // OrderCancelReplaceRequest answers 35=j): refused like an OrderCancelReject, so the
        // order is back to its last confirmed state at once, not left pending until
        // reconciliation. Found by the request id the reject names (BusinessRejectRefID).
        if ((type == "G" || type == "F") && !ref.empty()) {
            OrderPtr o = find_locked(ref, "", "");
            if (o && o->pending_id == ref) {
                std::string text = m.get(58);
                if (text.empty()) text = "refused (BusinessRejectReason=" + m.get(380) + ")";
                if (type == "G")
                    text += " (a venue without OrderCancelReplaceRequest: set the broker's "
                            "replace: cancel_new)";
                refused = refuse_pending_locked(*o, ref, text);
            }
        }
    }
    if (refused) sink_.order_update(*refused);
}

OrderReport FixBroker::refuse_pending_locked(Order& o, const std::string& request_id,
                                             const std::string& text) {
    OrderReport report = report_of(o);
    report.request_id = request_id;
    report.cancel_reject_reason = text;
    o.pending_id.clear();
    o.pending_kind = 0;
    o.emulating.reset();  // an emulated modify's cancel refused: no new venue order
    return report;
}

void FixBroker::on_logon(size_t caught_up, bool confirmed) {
    host_.log(confirmed ? LogLevel::Info : LogLevel::Warn,
              "event=fix_logon sender=" + settings_.session.sender_comp_id +
                  " caught_up_messages=" + std::to_string(caught_up) +
                  (confirmed ? "" : " detail=\"the venue did not answer the TestRequest sent "
                                    "after the logon; taken as caught up\""));
    sink_.connection(true, "FIX session logged on");
}

void FixBroker::on_logout(const std::string& why) {
    host_.log(LogLevel::Warn, "event=fix_logout reason=\"" + why + "\"");
    sink_.connection(false, "FIX session " + why);
}

void FixBroker::log_error(const std::string& line) { host_.log(LogLevel::Error, line); }

}  // namespace ordergate::fixplugin
