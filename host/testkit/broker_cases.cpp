// The broker contract. Every case works against any broker: what the plugin does not declare is
// skipped with the reason. Events are awaited on a condition variable with a bounded deadline.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "testkit/cases.hpp"

namespace ordergate::testkit {

namespace {

using std::chrono::milliseconds;

// Records what an instance pushes; waits with a deadline.
class EventRecorder : public ports::BrokerEvents {
public:
    void on_order_update(const std::string&, const OrderReport& r) override {
        {
            std::lock_guard<std::mutex> lock(mu_);
            updates_.push_back(r);
        }
        cv_.notify_all();
    }
    void on_fill(const std::string&, const Fill& f) override {
        {
            std::lock_guard<std::mutex> lock(mu_);
            fills_.push_back(f);
        }
        cv_.notify_all();
    }
    void on_quote(const std::string&, const Quote& q) override {
        {
            std::lock_guard<std::mutex> lock(mu_);
            quotes_.push_back(q);
        }
        cv_.notify_all();
    }
    void on_connection(const std::string&, bool, const std::string&) override {
        {
            std::lock_guard<std::mutex> lock(mu_);
            ++connections_;
        }
        cv_.notify_all();
    }

    // Waits until pred(updates, fills, quotes) holds or the deadline passes.
    template <typename Pred>
    bool wait(milliseconds timeout, Pred pred) {
        std::unique_lock<std::mutex> lock(mu_);
        return cv_.wait_for(lock, timeout, [&] { return pred(updates_, fills_, quotes_); });
    }

    std::vector<Fill> fills_for(const std::string& broker_order_id, const std::string& cid) {
        std::lock_guard<std::mutex> lock(mu_);
        std::vector<Fill> out;
        for (const Fill& f : fills_)
            if ((!f.broker_order_id.empty() && f.broker_order_id == broker_order_id) ||
                (!f.client_order_id.empty() && f.client_order_id == cid))
                out.push_back(f);
        return out;
    }

    std::vector<OrderReport> updates() {
        std::lock_guard<std::mutex> lock(mu_);
        return updates_;
    }
    std::vector<Fill> fills() {
        std::lock_guard<std::mutex> lock(mu_);
        return fills_;
    }

private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<OrderReport> updates_;
    std::vector<Fill> fills_;
    std::vector<Quote> quotes_;
    int connections_ = 0;
};

// One broker instance with its recorder; the broker is stopped and destroyed first.
struct Instance {
    std::unique_ptr<EventRecorder> events = std::make_unique<EventRecorder>();
    std::unique_ptr<plugin_loader::PluginBroker> broker;
};

const std::string kOwnKeys = "the plugin's own keys";

// The account the cases trade in; skips the case once an earlier one found the plugin does not
// know it (cases.hpp, "Settings the plugin refuses").
std::string kit_account(CaseContext& ctx) {
    ctx.require_settings();
    return ctx.kit("account", "ACC-TEST");
}

Instance make_instance(CaseContext& ctx, bool with_faults = false) {
    if (ctx.missing_setting() == kOwnKeys) ctx.require_settings();
    Instance in;
    try {
        in.broker = ctx.library().create_broker(ctx.unique("kit"),
                                                with_faults ? ctx.fault_config() : ctx.config(),
                                                in.events.get());
        if (!with_faults) ctx.note_instance_capabilities(in.broker->capabilities());
    } catch (const sdk::Error& e) {
        // A configuration the plugin refuses fails every case the same way: say it once.
        if (!with_faults && e.status() == Status::InvalidArgument)
            ctx.needs_settings(kOwnKeys,
                               std::string("the plugin refused its settings: ") + e.what());
        throw;
    }
    return in;
}

// True when the plugin's error says it does not know `account`: it names the account and says
// unknown / not found (paper answers NotFound "unknown account 'X'" to queries and Rejected with
// the same text to orders). A refusal that merely names the account (funds) is not this.
bool names_unknown_account(const sdk::Error& e, const std::string& account) {
    if (e.status() != Status::NotFound && e.status() != Status::Rejected &&
        e.status() != Status::InvalidArgument)
        return false;
    std::string text = e.what();
    if (text.find(account) == std::string::npos) return false;
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const char* word : {"unknown", "not found", "no such", "does not exist"})
        if (text.find(word) != std::string::npos) return true;
    return false;
}

// Turns the plugin's "unknown account" for testkit.account into the settings failure: the kit's
// account is not one the plugin's configuration defines, and every case trading in it would
// fail the same way.
std::function<void(CaseContext&)> account_aware(std::function<void(CaseContext&)> fn) {
    return [fn = std::move(fn)](CaseContext& ctx) {
        try {
            fn(ctx);
        } catch (const sdk::Error& e) {
            const std::string account = ctx.kit("account", "ACC-TEST");
            if (names_unknown_account(e, account))
                ctx.needs_settings("testkit.account", "testkit.account '" + account +
                                                          "' is unknown to the plugin (" +
                                                          e.what() + ")");
            throw;
        }
    };
}

milliseconds event_timeout(CaseContext& ctx) { return milliseconds(ctx.kit_int("timeout_ms", 10000)); }
milliseconds call_timeout(CaseContext& ctx) {
    return milliseconds(ctx.kit_int("call_timeout_ms", 5000));
}

OrderRequest order(CaseContext& ctx, OrderType type) {
    OrderRequest r;
    r.client_order_id = ctx.unique("cid");
    r.account_id = kit_account(ctx);
    r.symbol = ctx.kit("symbol", "AAPL");
    r.exchange = ctx.kit("exchange", "");
    r.side = Side::Buy;
    r.order_type = type;
    r.time_in_force = ctx.declares(OG_CAP_TIF_DAY) ? TimeInForce::Day : TimeInForce::Gtc;
    r.quantity = Decimal::must_parse(ctx.kit("quantity", "1"));
    if (type == OrderType::Limit) r.price = Decimal::must_parse(ctx.kit("limit_price", "0.01"));
    r.product = ctx.kit("product", "");
    r.extra_json = "{}";
    return r;
}

std::string describe(const OrderReport& r) {
    return "status " + std::string(to_string(r.status)) + ", broker_order_id '" +
           r.broker_order_id + "', client_order_id '" + r.client_order_id + "'";
}

bool is_live_ack(OrderStatus s) {
    return s == OrderStatus::PendingNew || s == OrderStatus::Open ||
           s == OrderStatus::PartiallyFilled || s == OrderStatus::Filled;
}

// Runs call, expecting sdk::Error with one of `allowed`; fails the case otherwise.
template <typename Call>
void expect_error(CaseContext& ctx, const std::string& what, std::set<Status> allowed,
                  Call&& call) {
    std::string names;
    for (Status s : allowed) names += (names.empty() ? "" : " or ") + std::string(to_string(s));
    try {
        call();
    } catch (const sdk::Error& e) {
        ctx.check(allowed.count(e.status()) != 0, what + ": expected " + names + ", got " +
                                                      std::string(to_string(e.status())) + " (" +
                                                      e.what() + ")");
        return;
    }
    ctx.fail(what + ": expected " + names + ", but the call succeeded");
}

void require_market(CaseContext& ctx) {
    ctx.require_capability(OG_CAP_ORDER_MARKET, "order_market");
}

// ABI 1.3's leaves_quantity, when the plugin reports it: what is still working at the venue,
// quantity - filled while the order is live, 0 once it is terminal.
void check_leaves(CaseContext& ctx, const OrderReport& r) {
    if (!r.leaves_quantity) return;
    const Decimal want = is_terminal(r.status) ? Decimal() : r.quantity - r.filled_quantity;
    ctx.check(*r.leaves_quantity == want,
              "order " + r.client_order_id + " (" + r.broker_order_id + ") " +
                  std::string(to_string(r.status)) + " with quantity " + r.quantity.to_string() +
                  " and " + r.filled_quantity.to_string() + " filled reports leaves_quantity " +
                  r.leaves_quantity->to_string() + ", expected " + want.to_string() +
                  " (quantity - filled while live, 0 once terminal)");
}

// ABI 1.4: place/modify/cancel may answer OG_PENDING (sent; the acknowledgement follows through
// the event sink). The kit then waits (testkit.timeout_ms) for the order update that answers
// the request (naming the client order id, or for a modify/cancel the request id) and takes it
// as the call's answer; a REJECTED one, or one carrying cancel_reject_reason, as the venue's
// refusal (sdk::Error Rejected), as a synchronous plugin would have answered.
OrderReport await_answer(CaseContext& ctx, Instance& in, const std::string& cid,
                         const std::string& request_id, const std::string& what) {
    OrderReport got;
    bool found = in.events->wait(event_timeout(ctx), [&](const std::vector<OrderReport>& updates,
                                                         const std::vector<Fill>&,
                                                         const std::vector<Quote>&) {
        for (const OrderReport& r : updates) {
            const bool answers = request_id.empty()
                                     ? r.client_order_id == cid &&
                                           r.status != OrderStatus::PendingNew
                                     : r.request_id == request_id ||
                                           r.client_order_id == request_id;
            if (answers) {
                got = r;
                return true;
            }
        }
        return false;
    });
    ctx.check(found, what + " answered OG_PENDING and no answer naming it arrived through the "
                            "event sink within testkit.timeout_ms");
    if (got.status == OrderStatus::Rejected)
        throw sdk::Error(Status::Rejected, what + " rejected (event): " + got.reject_reason);
    if (!request_id.empty() && !got.cancel_reject_reason.empty())
        throw sdk::Error(Status::Rejected, what + " refused (event): " + got.cancel_reject_reason);
    if (!request_id.empty() && got.client_order_id == request_id) got.client_order_id = cid;
    return got;
}

OrderReport place_acked(CaseContext& ctx, Instance& in, const OrderRequest& req) {
    try {
        return in.broker->place_order(req, call_timeout(ctx));
    } catch (const sdk::Error& e) {
        if (e.status() != Status::Pending) throw;
    }
    return await_answer(ctx, in, req.client_order_id, "", "place of " + req.client_order_id);
}

OrderReport cancel_acked(CaseContext& ctx, Instance& in, const OrderReport& ack) {
    CancelRequest c{ack.account_id, ack.broker_order_id, ack.client_order_id,
                    ctx.unique("kit-cancel"), ack.client_order_id};
    try {
        return in.broker->cancel_request(c, call_timeout(ctx));
    } catch (const sdk::Error& e) {
        if (e.status() != Status::Pending) throw;
    }
    return await_answer(ctx, in, ack.client_order_id, c.request_id,
                        "cancel of " + ack.client_order_id);
}

OrderReport place_market(CaseContext& ctx, Instance& in) {
    OrderRequest req = order(ctx, OrderType::Market);
    OrderReport ack = place_acked(ctx, in, req);
    ctx.check(ack.client_order_id == req.client_order_id, "ack for another order: " + describe(ack));
    ctx.check(!ack.broker_order_id.empty(), "ack without broker_order_id");
    ctx.check(is_live_ack(ack.status), "MARKET order not accepted: " + describe(ack));
    ctx.check(ack.quantity == req.quantity,
              "ack quantity " + ack.quantity.to_string() + " != " + req.quantity.to_string());
    check_leaves(ctx, ack);
    return ack;
}

// Places a LIMIT order meant to rest (testkit.limit_price), checking it is open.
OrderReport place_resting_limit(CaseContext& ctx, Instance& in) {
    ctx.require_capability(OG_CAP_ORDER_LIMIT, "order_limit");
    OrderRequest req = order(ctx, OrderType::Limit);
    OrderReport ack = place_acked(ctx, in, req);
    ctx.check(!ack.broker_order_id.empty(), "ack without broker_order_id");
    ctx.check(ack.status == OrderStatus::PendingNew || ack.status == OrderStatus::Open,
              "LIMIT at testkit.limit_price " + req.price->to_string() +
                  " did not rest: " + describe(ack));
    check_leaves(ctx, ack);
    return ack;
}

// Waits until the sink reported `cid` in a status satisfying pred.
template <typename Pred>
bool wait_update(CaseContext& ctx, Instance& in, const std::string& cid, Pred pred) {
    return in.events->wait(event_timeout(ctx), [&](const std::vector<OrderReport>& updates,
                                                   const std::vector<Fill>&,
                                                   const std::vector<Quote>&) {
        for (const OrderReport& r : updates)
            if (r.client_order_id == cid && pred(r.status)) return true;
        return false;
    });
}

void check_clean_sink(CaseContext& ctx, const Instance& in) {
    plugin_loader::SinkCounters c = in.broker->sink_counters();
    ctx.check(c.invalid == 0, std::to_string(c.invalid) + " malformed events from the plugin");
    ctx.check(c.handler_failures == 0, "event handler failures");
}

// True when a pushed event is about the acknowledged order: by client order id, or by broker
// order id (a fill may carry only that).
bool names_order(const Fill& f, const OrderReport& ack) {
    return (!f.client_order_id.empty() && f.client_order_id == ack.client_order_id) ||
           (!f.broker_order_id.empty() && f.broker_order_id == ack.broker_order_id);
}
bool names_order(const OrderReport& r, const OrderReport& ack) {
    return (!r.client_order_id.empty() && r.client_order_id == ack.client_order_id) ||
           (!r.broker_order_id.empty() && r.broker_order_id == ack.broker_order_id);
}

// What the sink said about one order.
struct Settled {
    OrderReport ack;
    std::vector<OrderReport> updates;  // in arrival order
    std::vector<Fill> fills;           // in arrival order, re-deliveries included
    bool complete = false;  // a terminal update came, and fills adding up to its filled quantity
};

// The fills of `s`, once per trade id (first delivery), and their sum.
std::vector<Fill> distinct_fills(const Settled& s, Decimal* sum) {
    std::set<std::string> seen;
    std::vector<Fill> out;
    *sum = Decimal();
    for (const Fill& f : s.fills)
        if (seen.insert(f.broker_trade_id).second) {
            out.push_back(f);
            *sum += f.quantity;
        }
    return out;
}

const OrderReport* last_terminal(const Settled& s) {
    const OrderReport* last = nullptr;
    for (const OrderReport& r : s.updates)
        if (is_terminal(r.status)) last = &r;
    return last;
}

// Places testkit.settle_orders (default 3) MARKET orders, waits until each has a terminal update
// and fills adding up to its filled quantity (or testkit.timeout_ms passes), then stops the
// instance: stop joins the plugin's threads, so every event it will send has arrived.
std::vector<Settled> settle_market_orders(CaseContext& ctx, Instance& in) {
    ctx.require_capability(OG_CAP_PUSH_EVENTS, "push_events");
    require_market(ctx);
    if (!ctx.kit_bool("expect_market_fill", true))
        ctx.skip("testkit.expect_market_fill is false");
    std::vector<Settled> out;
    const int64_t count = ctx.kit_int("settle_orders", 3);
    for (int64_t i = 0; i < count; ++i) out.push_back(Settled{place_market(ctx, in), {}, {}});
    auto gather = [&](const std::vector<OrderReport>& updates, const std::vector<Fill>& fills) {
        bool all = true;
        for (Settled& s : out) {
            s.updates.clear();
            s.fills.clear();
            for (const OrderReport& r : updates)
                if (names_order(r, s.ack)) s.updates.push_back(r);
            for (const Fill& f : fills)
                if (names_order(f, s.ack)) s.fills.push_back(f);
            const OrderReport* last = last_terminal(s);
            Decimal sum;
            distinct_fills(s, &sum);
            s.complete = last != nullptr && sum >= last->filled_quantity;
            all = all && s.complete;
        }
        return all;
    };
    in.events->wait(event_timeout(ctx), [&](const std::vector<OrderReport>& updates,
                                            const std::vector<Fill>& fills,
                                            const std::vector<Quote>&) {
        return gather(updates, fills);
    });
    in.broker->stop();
    gather(in.events->updates(), in.events->fills());
    return out;
}

std::string order_name(const OrderReport& ack) {
    return "order " + ack.client_order_id + " (" + ack.broker_order_id + ")";
}

std::string fill_text(const Fill& f) {
    return f.quantity.to_string() + " @ " + f.price.to_string();
}

// ---- the cases --------------------------------------------------------------------------------

void descriptor(CaseContext& ctx) {
    const plugin_loader::PluginInfo& i = ctx.info();
    ctx.check(!i.name.empty(), "empty plugin name");
    ctx.check(!i.version.empty(), "empty plugin version");
    const uint64_t types = OG_CAP_ORDER_MARKET | OG_CAP_ORDER_LIMIT | OG_CAP_ORDER_STOP |
                           OG_CAP_ORDER_STOP_LIMIT;
    const uint64_t tifs = OG_CAP_TIF_DAY | OG_CAP_TIF_GTC | OG_CAP_TIF_IOC | OG_CAP_TIF_FOK;
    ctx.check((i.capabilities & types) != 0, "declares no order type");
    ctx.check((i.capabilities & tifs) != 0, "declares no time in force");
    ctx.check(!(i.capabilities & (OG_CAP_MODIFY_QUANTITY | OG_CAP_MODIFY_PRICE)) ||
                  (i.capabilities & OG_CAP_MODIFY),
              "declares what modify can change but not modify");
}

void lifecycle(CaseContext& ctx) {
    for (int i = 0; i < 2; ++i) {
        Instance in = make_instance(ctx);
        in.broker->stop();
        in.broker->stop();  // idempotent
    }
}

void place_market_case(CaseContext& ctx) {
    require_market(ctx);
    Instance in = make_instance(ctx);
    place_market(ctx, in);
    check_clean_sink(ctx, in);
}

void status_by_broker_id(CaseContext& ctx) {
    require_market(ctx);
    Instance in = make_instance(ctx);
    OrderReport ack = place_market(ctx, in);
    OrderReport got = in.broker->get_order(ack.account_id, ack.broker_order_id, "");
    ctx.check(got.broker_order_id == ack.broker_order_id, "status for another order");
    ctx.check(got.client_order_id == ack.client_order_id,
              "client_order_id not kept: " + describe(got));
}

void status_by_client_id(CaseContext& ctx) {
    ctx.require_capability(OG_CAP_QUERY_BY_CLIENT_ID, "query_by_client_id");
    require_market(ctx);
    Instance in = make_instance(ctx);
    OrderReport ack = place_market(ctx, in);
    OrderReport got = in.broker->get_order(ack.account_id, "", ack.client_order_id);
    ctx.check(got.broker_order_id == ack.broker_order_id,
              "by client id found another order: " + describe(got));
}

void order_updates_via_sink(CaseContext& ctx) {
    ctx.require_capability(OG_CAP_PUSH_EVENTS, "push_events");
    require_market(ctx);
    Instance in = make_instance(ctx);
    OrderReport ack = place_market(ctx, in);
    ctx.check(wait_update(ctx, in, ack.client_order_id, [](OrderStatus) { return true; }),
              "no order update for " + ack.client_order_id + " within testkit.timeout_ms");
    check_clean_sink(ctx, in);
}

void fills_via_sink(CaseContext& ctx) {
    ctx.require_capability(OG_CAP_PUSH_EVENTS, "push_events");
    require_market(ctx);
    if (!ctx.kit_bool("expect_market_fill", true))
        ctx.skip("testkit.expect_market_fill is false");
    Instance in = make_instance(ctx);
    OrderReport ack = place_market(ctx, in);
    const Decimal qty = ack.quantity;
    // Fills count once per trade id (a re-delivery is legal); whether they add up is
    // broker.fills_consistent's question, and which broker id they carry broker_id_stable's.
    bool filled = in.events->wait(event_timeout(ctx), [&](const std::vector<OrderReport>&,
                                                         const std::vector<Fill>& fills,
                                                         const std::vector<Quote>&) {
        std::set<std::string> seen;
        Decimal sum;
        for (const Fill& f : fills)
            if (names_order(f, ack) && seen.insert(f.broker_trade_id).second) sum += f.quantity;
        return sum >= qty;
    });
    ctx.check(filled, "MARKET order not fully filled through the sink within testkit.timeout_ms");
    for (const Fill& f : in.events->fills_for(ack.broker_order_id, ack.client_order_id)) {
        ctx.check(f.quantity.is_positive(), "fill with quantity " + f.quantity.to_string());
        ctx.check(f.price.is_positive(), "fill with price " + f.price.to_string());
        ctx.check(f.side == Side::Buy, "fill side differs from the order's");
    }
    ctx.check(wait_update(ctx, in, ack.client_order_id,
                          [](OrderStatus s) { return s == OrderStatus::Filled; }),
              "no FILLED order update");
    check_clean_sink(ctx, in);
}

// Fills are facts, de-duplicated by broker trade id: a re-delivery repeats the fill exactly;
// distinct trade ids are distinct executions, so they add up to no more than the order's
// quantity, and to what its final report says it filled.
void fills_consistent(CaseContext& ctx) {
    Instance in = make_instance(ctx);
    for (const Settled& s : settle_market_orders(ctx, in)) {
        const std::string name = order_name(s.ack);
        std::map<std::string, const Fill*> first;
        for (const Fill& f : s.fills) {
            auto [it, fresh] = first.emplace(f.broker_trade_id, &f);
            const Fill& a = *it->second;
            if (!fresh && (a.quantity != f.quantity || a.price != f.price || a.side != f.side ||
                           a.broker_order_id != f.broker_order_id))
                ctx.fail(name + ": trade " + f.broker_trade_id +
                         " delivered twice with different content (" + fill_text(a) + ", then " +
                         fill_text(f) + "); a re-delivery must repeat the fill exactly");
        }
        Decimal sum;
        std::vector<Fill> fills = distinct_fills(s, &sum);
        std::string listed;
        for (const Fill& f : fills)
            listed += (listed.empty() ? "" : ", ") + f.broker_trade_id + " (" + fill_text(f) + ")";
        if (listed.empty()) listed = "none";
        const OrderReport* last = last_terminal(s);
        const std::string said =
            last ? "its last report says " + std::string(to_string(last->status)) + " with " +
                       last->filled_quantity.to_string() + " filled"
                 : "no terminal report came";
        ctx.check(sum <= s.ack.quantity, name + ": fills " + listed + " add up to " +
                                             sum.to_string() + ", more than its quantity " +
                                             s.ack.quantity.to_string() + " (" + said + ")");
        ctx.check(last != nullptr, name + ": " + said + " within testkit.timeout_ms (fills " +
                                       listed + ")");
        ctx.check(sum == last->filled_quantity,
                  name + ": fills " + listed + " add up to " + sum.to_string() + ", " + said);
    }
    check_clean_sink(ctx, in);
}

// The broker order id an order was acknowledged with names it in every later report and fill:
// the host finds orders by it.
void broker_id_stable(CaseContext& ctx) {
    Instance in = make_instance(ctx);
    for (const Settled& s : settle_market_orders(ctx, in)) {
        const std::string& id = s.ack.broker_order_id;
        const std::string head =
            "order " + s.ack.client_order_id + " acknowledged as broker id '" + id + "', ";
        for (const OrderReport& r : s.updates)
            ctx.check(r.broker_order_id == id, head + "a later order update names it '" +
                                                   r.broker_order_id + "'");
        for (const Fill& f : s.fills)
            ctx.check(f.broker_order_id.empty() || f.broker_order_id == id,
                      head + "fill " + f.broker_trade_id + " names it '" + f.broker_order_id +
                          "'");
    }
}

void limit_and_cancel(CaseContext& ctx) {
    Instance in = make_instance(ctx);
    OrderReport ack = place_resting_limit(ctx, in);
    OrderReport cancelled = cancel_acked(ctx, in, ack);
    ctx.check(cancelled.status == OrderStatus::Cancelled ||
                  cancelled.status == OrderStatus::PendingCancel,
              "cancel answered " + describe(cancelled));
    if (cancelled.status == OrderStatus::PendingCancel) {
        ctx.check(ctx.declares(OG_CAP_PUSH_EVENTS),
                  "cancel is PENDING_CANCEL and the plugin pushes no events to confirm it");
        ctx.check(wait_update(ctx, in, ack.client_order_id,
                              [](OrderStatus s) { return s == OrderStatus::Cancelled; }),
                  "no CANCELLED update after PENDING_CANCEL");
    }
    OrderReport after = in.broker->get_order(ack.account_id, ack.broker_order_id, "");
    ctx.check(after.status == OrderStatus::Cancelled, "after cancel: " + describe(after));
    // Cancelling again: the order is final; the venue refuses or reports it cancelled.
    try {
        OrderReport again = cancel_acked(ctx, in, ack);
        ctx.check(again.status == OrderStatus::Cancelled, "second cancel: " + describe(again));
    } catch (const sdk::Error& e) {
        ctx.check(e.status() == Status::Rejected || e.status() == Status::InvalidArgument ||
                      e.status() == Status::NotFound,
                  std::string("second cancel: unexpected ") + std::string(to_string(e.status())));
    }
}

void modify(CaseContext& ctx) {
    ctx.require_capability(OG_CAP_MODIFY, "modify");
    if (!ctx.declares(OG_CAP_MODIFY_QUANTITY) && !ctx.declares(OG_CAP_MODIFY_PRICE))
        ctx.skip("modify declares neither modify_quantity nor modify_price");
    Instance in = make_instance(ctx);
    OrderReport ack = place_resting_limit(ctx, in);
    ModifyRequest m;
    m.account_id = ack.account_id;
    m.broker_order_id = ack.broker_order_id;
    m.client_order_id = ack.client_order_id;
    if (ctx.declares(OG_CAP_MODIFY_QUANTITY)) m.quantity = ack.quantity + ack.quantity;
    else m.price = *ack.price + Decimal::must_parse("0.01");
    m.request_id = ctx.unique("kit-modify");
    m.orig_request_id = ack.client_order_id;
    OrderReport mod;
    try {
        mod = in.broker->modify_order(m, call_timeout(ctx));
    } catch (const sdk::Error& e) {
        if (e.status() != Status::Pending) throw;
        mod = await_answer(ctx, in, ack.client_order_id, m.request_id,
                           "modify of " + ack.client_order_id);
    }
    ctx.check(mod.broker_order_id == ack.broker_order_id, "modify answered for another order");
    if (mod.status != OrderStatus::PendingReplace) {
        if (m.quantity)
            ctx.check(mod.quantity == *m.quantity, "quantity after modify " +
                                                       mod.quantity.to_string() + ", asked " +
                                                       m.quantity->to_string());
        if (m.price)
            ctx.check(mod.price && *mod.price == *m.price, "price not changed by modify");
    }
    expect_error(ctx, "modify of an unknown order", {Status::NotFound, Status::Rejected}, [&] {
        ModifyRequest u = m;
        u.broker_order_id = ctx.unique("no-such-order");
        u.client_order_id = ctx.unique("no-such-cid");
        u.request_id = ctx.unique("kit-modify");
        try {
            in.broker->modify_order(u, call_timeout(ctx));
        } catch (const sdk::Error& e) {
            if (e.status() != Status::Pending) throw;
            await_answer(ctx, in, u.client_order_id, u.request_id, "modify of an unknown order");
        }
    });
    cancel_acked(ctx, in, ack);
}

// ABI 1.5 native GTT, for an instance declaring OG_CAP_NATIVE_GTT: place (a retry with the same
// GTT id is the same GTT), get by either id, list, modify and cancel while ACTIVE, an unknown GTT
// NotFound. Triggers far from the price (testkit.gtt_trigger, default 999999), so nothing fires.
void native_gtt(CaseContext& ctx) {
    Instance in = make_instance(ctx);
    ctx.require_capability(OG_CAP_NATIVE_GTT, "native_gtt");
    require_market(ctx);
    const std::string account = kit_account(ctx);
    GttRequest r;
    r.gtt_id = ctx.unique("kit-gtt");
    r.account_id = account;
    r.symbol = ctx.kit("symbol", "AAPL");
    r.exchange = ctx.kit("exchange", "");
    r.type = GttType::Single;
    GttLeg leg;
    leg.trigger_price = Decimal::must_parse(ctx.kit("gtt_trigger", "999999"));
    leg.order = order(ctx, OrderType::Market);
    leg.order.client_order_id = r.gtt_id + "-leg1";
    leg.order.side = Side::Sell;
    r.legs.push_back(leg);
    const GttReport placed = in.broker->place_gtt(r, call_timeout(ctx));
    ctx.check(placed.status == GttStatus::Active,
              "place_gtt answered " + std::string(to_string(placed.status)));
    const GttReport again = in.broker->place_gtt(r, call_timeout(ctx));
    ctx.check(again.broker_gtt_id == placed.broker_gtt_id,
              "a retried place_gtt with the same gtt_id made another GTT ('" +
                  again.broker_gtt_id + "' after '" + placed.broker_gtt_id + "')");
    const GttReport by_id = in.broker->get_gtt(account, r.gtt_id, "");
    ctx.check(by_id.broker_gtt_id == placed.broker_gtt_id, "get_gtt by gtt_id: another GTT");
    const GttReport by_venue = in.broker->get_gtt(account, "", placed.broker_gtt_id);
    ctx.check(by_venue.gtt_id == r.gtt_id, "get_gtt by broker_gtt_id: another GTT");
    auto listed = [&](bool active_only) {
        for (const GttReport& g : in.broker->list_gtts(account, active_only))
            if (g.gtt_id == r.gtt_id) return true;
        return false;
    };
    ctx.check(listed(true), "list_gtts (active) does not show the GTT placed");
    GttRequest m = r;
    m.broker_gtt_id = placed.broker_gtt_id;
    m.legs[0].trigger_price = leg.trigger_price + Decimal::must_parse("1");
    const GttReport modified = in.broker->modify_gtt(m, call_timeout(ctx));
    ctx.check(modified.status == GttStatus::Active, "modify_gtt answered " +
                                                        std::string(to_string(modified.status)));
    if (!modified.legs.empty())
        ctx.check(modified.legs[0].trigger_price == m.legs[0].trigger_price,
                  "modify_gtt did not change the trigger");
    const GttReport cancelled = in.broker->cancel_gtt(m, call_timeout(ctx));
    ctx.check(cancelled.status == GttStatus::Cancelled,
              "cancel_gtt answered " + std::string(to_string(cancelled.status)));
    ctx.check(in.broker->get_gtt(account, r.gtt_id, "").status == GttStatus::Cancelled,
              "get_gtt after cancel_gtt does not say CANCELLED");
    ctx.check(!listed(true), "list_gtts (active) still shows the cancelled GTT");
    expect_error(ctx, "get_gtt of an unknown GTT", {Status::NotFound},
                 [&] { in.broker->get_gtt(account, ctx.unique("no-such-gtt"), ""); });
}

void cancel_unknown(CaseContext& ctx) {
    Instance in = make_instance(ctx);
    expect_error(ctx, "cancel of an unknown order", {Status::NotFound, Status::Rejected}, [&] {
        // A venue answering OG_PENDING may refuse it later instead (a cancel reject).
        OrderReport unknown;
        unknown.account_id = kit_account(ctx);
        unknown.broker_order_id = ctx.unique("no-such-order");
        unknown.client_order_id = ctx.unique("no-such-cid");
        cancel_acked(ctx, in, unknown);
    });
}

void get_unknown(CaseContext& ctx) {
    Instance in = make_instance(ctx);
    expect_error(ctx, "status of an unknown broker id", {Status::NotFound}, [&] {
        in.broker->get_order(kit_account(ctx), ctx.unique("no-such-order"), "");
    });
    if (ctx.declares(OG_CAP_QUERY_BY_CLIENT_ID))
        expect_error(ctx, "status of an unknown client id", {Status::NotFound}, [&] {
            in.broker->get_order(kit_account(ctx), "", ctx.unique("no-such-cid"));
        });
}

void reject_bad_quantity(CaseContext& ctx) {
    require_market(ctx);
    Instance in = make_instance(ctx);
    for (const char* q : {"0", "-1"}) {
        OrderRequest req = order(ctx, OrderType::Market);
        req.quantity = Decimal::must_parse(q);
        expect_error(ctx, std::string("quantity ") + q,
                     {Status::InvalidArgument, Status::Rejected},
                     [&] { in.broker->place_order(req, call_timeout(ctx)); });
    }
}

void reject_limit_without_price(CaseContext& ctx) {
    ctx.require_capability(OG_CAP_ORDER_LIMIT, "order_limit");
    Instance in = make_instance(ctx);
    OrderRequest req = order(ctx, OrderType::Limit);
    req.price.reset();
    expect_error(ctx, "LIMIT without a price", {Status::InvalidArgument, Status::Rejected},
                 [&] { in.broker->place_order(req, call_timeout(ctx)); });
}

void undeclared_capability_refused(CaseContext& ctx) {
    Instance in = make_instance(ctx);
    if (!ctx.declares(OG_CAP_CANCEL_ALL)) {
        expect_error(ctx, "cancel_all without the capability", {Status::Unsupported},
                     [&] { in.broker->cancel_all("x", call_timeout(ctx)); });
    } else if (!ctx.declares(OG_CAP_QUOTES)) {
        expect_error(ctx, "quote without the capability", {Status::Unsupported},
                     [&] { in.broker->quote("x", ""); });
    } else if (!ctx.declares(OG_CAP_ORDER_STOP_LIMIT)) {
        OrderRequest req = order(ctx, OrderType::StopLimit);
        expect_error(ctx, "STOP_LIMIT without the capability", {Status::Unsupported},
                     [&] { in.broker->place_order(req, call_timeout(ctx)); });
    } else {
        ctx.skip("the plugin declares every capability probed");
    }
}

void list_open_orders(CaseContext& ctx) {
    ctx.require_capability(OG_CAP_REPORT_OPEN_ORDERS, "report_open_orders");
    Instance in = make_instance(ctx);
    OrderReport ack = place_resting_limit(ctx, in);
    bool found = false;
    for (const OrderReport& r : in.broker->list_orders(ack.account_id, true, 0)) {
        ctx.check(!is_terminal(r.status), "open orders list a " + describe(r));
        found = found || r.broker_order_id == ack.broker_order_id;
    }
    ctx.check(found, "the resting order is not among the open orders");
    cancel_acked(ctx, in, ack);
}

void list_fills(CaseContext& ctx) {
    ctx.require_capability(OG_CAP_REPORT_FILLS, "report_fills");
    require_market(ctx);
    if (!ctx.kit_bool("expect_market_fill", true))
        ctx.skip("testkit.expect_market_fill is false");
    Instance in = make_instance(ctx);
    OrderReport ack = place_market(ctx, in);
    if (ctx.declares(OG_CAP_PUSH_EVENTS))
        wait_update(ctx, in, ack.client_order_id,
                    [](OrderStatus s) { return s == OrderStatus::Filled; });
    Decimal sum;
    for (const Fill& f : in.broker->list_fills(ack.account_id, 0))
        if (f.broker_order_id == ack.broker_order_id) sum += f.quantity;
    ctx.check(sum == ack.quantity, "list_fills has " + sum.to_string() + " of the order's " +
                                       ack.quantity.to_string());
}

// ---- ABI 1.3: paginated reports ----------------------------------------------------------------
// The same report read three times: in pages of kLargePage, of kSmallPage, and of kLargePage
// again. Nothing is placed meanwhile, so the small pages must hold every item of the first read
// (and nothing the last lacks), once each, in the same order; a cursor read twice gives the same
// page; a cursor the plugin never gave is InvalidArgument. A plugin whose table has no pages is
// listed by the host in one page, which passes the same checks.

constexpr uint32_t kSmallPage = 2;
constexpr uint32_t kLargePage = 1000;
constexpr int kMaxPages = 1000;

void require_pages(CaseContext& ctx) {
    if (ctx.info().abi_minor < 3)
        ctx.skip("pages are ABI 1.3 and the plugin is ABI 1." +
                 std::to_string(ctx.info().abi_minor) + " (the host lists it in one page)");
}

// Orders placed by the cases are all younger than this: "recent" reports start here.
int64_t a_minute_ago_ns() {
    using namespace std::chrono;
    return duration_cast<nanoseconds>(system_clock::now().time_since_epoch() - minutes(1)).count();
}

template <typename T, typename PageFn, typename KeyFn>
std::vector<T> check_pages(CaseContext& ctx, const std::string& what, PageFn page, KeyFn key) {
    bool complete = true;
    auto read = [&](uint32_t limit) {
        std::vector<T> items;
        std::string cursor;
        int pages = 0;
        do {
            if (++pages > kMaxPages)
                ctx.fail(what + ": the pages of " + std::to_string(limit) +
                         " items did not end within " + std::to_string(kMaxPages) + " pages");
            ReportPage<T> p = page(cursor, limit);
            complete = complete && p.complete;
            items.insert(items.end(), p.items.begin(), p.items.end());
            cursor = p.next_cursor;
        } while (!cursor.empty());
        return items;
    };
    auto keys = [&](const std::vector<T>& items) {
        std::vector<std::string> out;
        for (const T& item : items) out.push_back(key(item));
        return out;
    };
    auto show = [](const std::vector<std::string>& list) {
        std::string out;
        for (const std::string& k : list) out += (out.empty() ? "" : ", ") + k;
        return "[" + out + "]";
    };
    const std::vector<std::string> before = keys(read(kLargePage));
    const std::vector<T> small_items = read(kSmallPage);
    const std::vector<std::string> small = keys(small_items);
    const std::vector<std::string> after = keys(read(kLargePage));
    if (!complete)
        ctx.skip(what + ": the venue answered incomplete pages (complete = 0), so what they "
                        "lack proves nothing");
    const std::set<std::string> in_small(small.begin(), small.end());
    ctx.check(in_small.size() == small.size(), what + ": pages of " + std::to_string(kSmallPage) +
                                                   " repeat an item: " + show(small));
    std::vector<std::string> small_of_before;
    const std::set<std::string> in_before(before.begin(), before.end());
    for (const std::string& k : small)
        if (in_before.count(k) != 0) small_of_before.push_back(k);
    ctx.check(small_of_before == before,
              what + ": pages of " + std::to_string(kSmallPage) + " give " + show(small) +
                  ", pages of " + std::to_string(kLargePage) + " gave " + show(before) +
                  " (every item, in the same order)");
    const std::set<std::string> in_after(after.begin(), after.end());
    for (const std::string& k : small)
        ctx.check(in_after.count(k) != 0, what + ": " + k + " was on a page of " +
                                              std::to_string(kSmallPage) +
                                              " but is not on the pages read after them");
    // A cursor names a place, not a moment: asked twice, the same page.
    ReportPage<T> first = page("", kSmallPage);
    if (!first.next_cursor.empty()) {
        const std::vector<std::string> once = keys(page(first.next_cursor, kSmallPage).items);
        const std::vector<std::string> twice = keys(page(first.next_cursor, kSmallPage).items);
        ctx.check(once == twice, what + ": the page after cursor '" + first.next_cursor +
                                     "' was " + show(once) + ", then " + show(twice));
        for (const std::string& k : keys(first.items))
            ctx.check(std::find(once.begin(), once.end(), k) == once.end(),
                      what + ": " + k + " is on the first page and on the page after its cursor");
    }
    expect_error(ctx, what + " with a cursor the plugin never gave", {Status::InvalidArgument},
                 [&] { page(ctx.unique("kit-not-a-cursor"), kSmallPage); });
    return small_items;
}

void order_pages(CaseContext& ctx) {
    require_pages(ctx);
    const bool recent = ctx.declares(OG_CAP_REPORT_RECENT_ORDERS);
    if (!recent) ctx.require_capability(OG_CAP_REPORT_OPEN_ORDERS, "report_open_orders");
    const bool limits = ctx.declares(OG_CAP_ORDER_LIMIT);
    if (!limits) require_market(ctx);
    const std::string account = kit_account(ctx);
    const int64_t since = recent ? a_minute_ago_ns() : 0;
    Instance in = make_instance(ctx);
    // Orders that stay listed: resting LIMITs when the plugin has them, else MARKET orders (open
    // orders only show them while the venue keeps them open).
    std::vector<OrderReport> acks;
    for (int i = 0; i < 5; ++i)
        acks.push_back(limits ? place_resting_limit(ctx, in) : place_market(ctx, in));
    auto page = [&](const std::string& cursor, uint32_t limit) {
        return in.broker->list_orders_page(account, !recent, since, cursor, limit);
    };
    std::vector<OrderReport> listed = check_pages<OrderReport>(
        ctx, recent ? "list_orders_page (recent)" : "list_orders_page (open)", page,
        [](const OrderReport& r) { return r.broker_order_id; });
    std::set<std::string> ids;
    for (const OrderReport& r : listed) {
        ids.insert(r.broker_order_id);
        check_leaves(ctx, r);
        if (!recent) ctx.check(!is_terminal(r.status), "open order pages list a " + describe(r));
    }
    if (recent || limits)
        for (const OrderReport& a : acks)
            ctx.check(ids.count(a.broker_order_id) != 0,
                      "order " + a.client_order_id + " (" + a.broker_order_id +
                          ") is on no page");
    if (limits)
        for (const OrderReport& a : acks) cancel_acked(ctx, in, a);
}

void fill_pages(CaseContext& ctx) {
    require_pages(ctx);
    ctx.require_capability(OG_CAP_REPORT_FILLS, "report_fills");
    require_market(ctx);
    if (!ctx.kit_bool("expect_market_fill", true))
        ctx.skip("testkit.expect_market_fill is false");
    const std::string account = kit_account(ctx);
    const int64_t since = a_minute_ago_ns();
    Instance in = make_instance(ctx);
    std::vector<OrderReport> acks;
    for (int i = 0; i < 3; ++i) acks.push_back(place_market(ctx, in));
    if (ctx.declares(OG_CAP_PUSH_EVENTS))
        for (const OrderReport& a : acks)
            wait_update(ctx, in, a.client_order_id,
                        [](OrderStatus s) { return s == OrderStatus::Filled; });
    auto page = [&](const std::string& cursor, uint32_t limit) {
        return in.broker->list_fills_page(account, since, cursor, limit);
    };
    std::vector<Fill> listed = check_pages<Fill>(ctx, "list_fills_page", page,
                                                 [](const Fill& f) { return f.broker_trade_id; });
    for (const OrderReport& a : acks) {
        Decimal sum;
        for (const Fill& f : listed)
            if (f.broker_order_id == a.broker_order_id) sum += f.quantity;
        ctx.check(sum == a.quantity, "the fill pages hold " + sum.to_string() + " of order " +
                                         a.client_order_id + " (" + a.broker_order_id +
                                         "), a MARKET order of " + a.quantity.to_string());
    }
}

void positions(CaseContext& ctx) {
    ctx.require_capability(OG_CAP_REPORT_POSITIONS, "report_positions");
    Instance in = make_instance(ctx);
    for (const Position& p : in.broker->positions(kit_account(ctx)))
        ctx.check(!p.symbol.empty(), "position without a symbol");
}

void account(CaseContext& ctx) {
    ctx.require_capability(OG_CAP_REPORT_ACCOUNT, "report_account");
    Instance in = make_instance(ctx);
    std::string id = kit_account(ctx);
    Account a = in.broker->account(id);
    ctx.check(a.account_id == id, "account for '" + a.account_id + "', asked for '" + id + "'");
    ctx.check(!a.currency.empty(), "account without a currency");
}

void quote(CaseContext& ctx) {
    ctx.require_capability(OG_CAP_QUOTES, "quotes");
    Instance in = make_instance(ctx);
    Quote q = in.broker->quote(ctx.kit("symbol", "AAPL"), ctx.kit("exchange", ""));
    ctx.check(q.symbol == ctx.kit("symbol", "AAPL"), "quote for another symbol");
    ctx.check(q.last.is_positive(), "quote with last " + q.last.to_string());
}

void price_subscription(CaseContext& ctx) {
    ctx.require_capability(OG_CAP_PRICE_SUBSCRIPTION, "price_subscription");
    Instance in = make_instance(ctx);
    std::string symbol = ctx.kit("symbol", "AAPL");
    in.broker->subscribe_prices({Instrument{symbol, ctx.kit("exchange", "")}});
    bool got = in.events->wait(event_timeout(ctx), [&](const std::vector<OrderReport>&,
                                                       const std::vector<Fill>&,
                                                       const std::vector<Quote>& quotes) {
        for (const Quote& q : quotes)
            if (q.symbol == symbol) return true;
        return false;
    });
    ctx.check(got, "no quote for " + symbol + " through the sink within testkit.timeout_ms");
    check_clean_sink(ctx, in);
}

void unknown_outcome(CaseContext& ctx) {
    require_market(ctx);
    if (!ctx.has_fault_config())
        ctx.skip("no testkit.fault_config in the plugin config (a fault making the answer to a "
                 "sent order get lost)");
    Instance in = make_instance(ctx, true);
    OrderRequest req = order(ctx, OrderType::Market);
    expect_error(ctx, "place with the answer lost after sending", {Status::UnknownOutcome},
                 [&] { in.broker->place_order(req, call_timeout(ctx)); });
    if (ctx.declares(OG_CAP_QUERY_BY_CLIENT_ID)) {
        OrderReport found = in.broker->get_order(req.account_id, "", req.client_order_id);
        ctx.check(found.client_order_id == req.client_order_id,
                  "after an unknown outcome the order is not found by client id");
    }
}

void concurrent_place(CaseContext& ctx) {
    require_market(ctx);
    kit_account(ctx);  // skips here, not in the threads, when the account is unknown
    Instance in = make_instance(ctx);
    const int threads = 8;
    const int per_thread = static_cast<int>(ctx.kit_int("orders_per_thread", 10));
    std::mutex mu;
    std::vector<OrderReport> acks;
    std::vector<std::string> errors;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&] {
            for (int i = 0; i < per_thread; ++i) {
                OrderRequest req = order(ctx, OrderType::Market);
                try {
                    OrderReport ack = place_acked(ctx, in, req);
                    std::lock_guard<std::mutex> lock(mu);
                    acks.push_back(std::move(ack));
                } catch (const std::exception& e) {
                    std::lock_guard<std::mutex> lock(mu);
                    errors.push_back(e.what());
                }
            }
        });
    }
    for (auto& th : pool) th.join();
    ctx.check(errors.empty(), std::to_string(errors.size()) + " of " +
                                  std::to_string(threads * per_thread) +
                                  " concurrent orders failed, first: " +
                                  (errors.empty() ? "" : errors.front()));
    std::set<std::string> broker_ids, cids;
    for (const OrderReport& a : acks) {
        broker_ids.insert(a.broker_order_id);
        cids.insert(a.client_order_id);
    }
    ctx.check(broker_ids.size() == acks.size(), "broker order ids repeated across orders");
    ctx.check(cids.size() == acks.size(), "acks repeated a client order id");
    if (ctx.declares(OG_CAP_PUSH_EVENTS)) {
        bool all = in.events->wait(event_timeout(ctx), [&](const std::vector<OrderReport>& updates,
                                                           const std::vector<Fill>&,
                                                           const std::vector<Quote>&) {
            std::set<std::string> seen;
            for (const OrderReport& r : updates)
                if (cids.count(r.client_order_id)) seen.insert(r.client_order_id);
            return seen.size() == cids.size();
        });
        ctx.check(all, "not every concurrent order got an update through the sink");
    }
    check_clean_sink(ctx, in);
}

// The event sink is valid only until stop() returns: nothing may come after it, from a plugin
// thread stop did not join or from the plugin's destroy(). The host drops such calls and counts
// them; the instance is stopped while its events are in flight, then destroyed, then counted.
void no_events_after_stop(CaseContext& ctx) {
    std::function<plugin_loader::SinkCounters()> counters;
    {
        Instance in = make_instance(ctx);
        counters = in.broker->sink_counters_reader();
        if (ctx.declares(OG_CAP_ORDER_MARKET)) place_market(ctx, in);
        if (ctx.declares(OG_CAP_PRICE_SUBSCRIPTION))
            in.broker->subscribe_prices({Instrument{ctx.kit("symbol", "AAPL"),
                                                    ctx.kit("exchange", "")}});
        in.broker->stop();
    }
    const uint64_t late = counters().after_stop;
    ctx.check(late == 0, std::to_string(late) +
                             " event sink call(s) after stop() returned (the sink is valid only "
                             "until then: join every plugin thread in stop, send nothing from "
                             "destroy)");
}

void ping(CaseContext& ctx) {
    Instance in = make_instance(ctx);
    try {
        in.broker->ping(call_timeout(ctx));
    } catch (const sdk::Error& e) {
        if (e.status() == Status::Unsupported) ctx.skip("ping not supported (ABI 1.1, optional)");
        throw;
    }
}

void reload(CaseContext& ctx) {
    for (int round = 0; round < 2; ++round) {
        {
            Instance in = make_instance(ctx);
            if (ctx.declares(OG_CAP_ORDER_MARKET)) place_market(ctx, in);
        }
        bool unloaded = ctx.reload();
        ctx.check(unloaded, "the library stayed loaded after its last instance was destroyed");
    }
    Instance in = make_instance(ctx);
    if (ctx.declares(OG_CAP_ORDER_MARKET)) place_market(ctx, in);
}

}  // namespace

std::vector<Case> broker_cases() {
    std::vector<Case> cases = {
        {"broker.descriptor", descriptor},
        {"broker.lifecycle", lifecycle},
        {"broker.place_market", place_market_case},
        {"broker.status_by_broker_id", status_by_broker_id},
        {"broker.status_by_client_id", status_by_client_id},
        {"broker.order_updates_via_sink", order_updates_via_sink},
        {"broker.fills_via_sink", fills_via_sink},
        {"broker.fills_consistent", fills_consistent},
        {"broker.broker_id_stable", broker_id_stable},
        {"broker.limit_and_cancel", limit_and_cancel},
        {"broker.modify", modify},
        {"broker.native_gtt", native_gtt},
        {"broker.cancel_unknown_order", cancel_unknown},
        {"broker.get_unknown_order", get_unknown},
        {"broker.reject_bad_quantity", reject_bad_quantity},
        {"broker.reject_limit_without_price", reject_limit_without_price},
        {"broker.undeclared_capability_refused", undeclared_capability_refused},
        {"broker.list_open_orders", list_open_orders},
        {"broker.list_fills", list_fills},
        {"broker.order_pages", order_pages},
        {"broker.fill_pages", fill_pages},
        {"broker.positions", positions},
        {"broker.account", account},
        {"broker.quote", quote},
        {"broker.price_subscription", price_subscription},
        {"broker.unknown_outcome", unknown_outcome},
        {"broker.concurrent_place", concurrent_place},
        {"broker.no_events_after_stop", no_events_after_stop},
        {"broker.ping", ping},
        {"broker.reload", reload},
    };
    for (Case& c : cases) c.fn = account_aware(std::move(c.fn));
    return cases;
}

}  // namespace ordergate::testkit
