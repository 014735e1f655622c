// Handlers of /api/v1/orders: place, list, get, modify, cancel, cancel-all, an order's events.
#include <spdlog/spdlog.h>

#include <charconv>

#include "api/handlers.hpp"
#include "api/idempotency_gate.hpp"
#include "api/wire.hpp"
#include "idempotency/idempotency.hpp"
#include "metrics/metrics.hpp"
#include "orders/order_service.hpp"

namespace ordergate::api::handlers {

using http::Request;
using http::Response;

namespace {

// A keyed retry whose derived client_order_id met an existing order (its key record was
// lost, e.g. with the in-process store after a restart). The same request gets the order as
// the first one would have (201, or 202 while the broker's answer is unknown, or 422 when it
// was rejected), marked Idempotent-Replayed; a different request under the key is 422
// IDEMPOTENCY_KEY_REUSED, as with the key record present.
void answer_derived_duplicate(const Context& cx, const Request& req, Response& out,
                              const auth::Principal& who, const OrderRequest& asked,
                              const std::string& order_id) {
    auto found = cx.deps.orders->get(order_id, scope_of(who));
    if (!found) return problem(out, found.error(), req);
    const OrderRecord& o = *found;
    const bool same = (asked.account_id.empty() || asked.account_id == o.account_id) &&
                      asked.symbol == o.symbol && asked.exchange == o.exchange &&
                      asked.side == o.side && asked.order_type == o.order_type &&
                      asked.time_in_force == o.time_in_force && asked.quantity == o.quantity &&
                      asked.price == o.price && asked.trigger_price == o.trigger_price &&
                      asked.product == o.product && asked.tag == o.tag;
    if (cx.deps.metrics)
        cx.deps.metrics->idempotency(same ? "replayed_by_client_order_id" : "reused");
    if (!same)
        return problem(out, ErrorCode::IdempotencyKeyReused,
                       "this Idempotency-Key was used for a different request", req);
    if (o.status == OrderStatus::Rejected) {
        Error e = Error::make(ErrorCode::BrokerRejected,
                              "the order of this Idempotency-Key was rejected: " + o.reject_reason);
        e.order_id = o.id;
        problem(out, e, req);
    } else {
        out.json(o.status == OrderStatus::PendingNew ? 202 : 201, order_json(o));
        out.set_header("Location", "/api/v1/orders/" + o.id);
    }
    out.set_header("Idempotent-Replayed", "true");
}

}  // namespace

void place(const Context& cx, Request& req, Response& res, const auth::Principal& who) {
    if (!no_query(req, res) || !json_content(req, res)) return;
    json::Value body;
    if (!parse_body(req, &body, res)) return;
    OrderRequest order;
    Error err;
    if (!parse_place(body, &order, &err)) return problem(res, err, req);
    std::string canonical;
    body.canonical(&canonical);
    // No client_order_id under an Idempotency-Key: derive it from (principal, key), so even
    // a lost key record cannot make a second broker order (API.md "Idempotency").
    const bool derived_cid = order.client_order_id.empty() && req.has_header("idempotency-key") &&
                             idempotency::valid_key(req.header("idempotency-key"));
    if (derived_cid)
        order.client_order_id =
            idempotency::derived_client_order_id(who.key(), req.header("idempotency-key"));
    idempotent_folded(cx, req, res, who, canonical,
                      [&](Response& out, bool& broker_called, orders::KeyClaim* claim) {
        auto r = cx.deps.orders->place(order, scope_of(who),
                                       orders::Origin{req.request_id, EventSource::Api, ""}, claim);
        if (!r && derived_cid && r.error().code == ErrorCode::DuplicateClientOrderId &&
            !r.error().order_id.empty())
            return answer_derived_duplicate(cx, req, out, who, order, r.error().order_id);
        if (!r) {
            broker_called = r.error().broker_called;
            return problem(out, r.error(), req);
        }
        out.json(r->outcome_known ? 201 : 202, order_json(r->order));
        out.set_header("Location", "/api/v1/orders/" + r->order.id);
        spdlog::debug(
            "event=order_placed request_id={} order_id={} client_order_id={} "
            "account_id={} broker={} status={}",
            req.request_id, r->order.id, r->order.client_order_id, r->order.account_id,
            r->order.broker, to_string(r->order.status));
    });
}

void list_orders(const Context& cx, Request& req, Response& res, const auth::Principal& who) {
    Query q;
    if (!parse_query(req, {"status", "symbol", "account_id", "since", "limit", "cursor"}, &q, res))
        return;
    OrderQuery oq;
    if (auto s = q.get("status")) {
        OrderStatus st;
        if (s->rfind("open", 0) == 0 && *s == "open") {
            oq.open_only = true;
        } else if (!parse_order_status(*s, &st)) {
            return problem(res, ErrorCode::InvalidParameter,
                           "status must be an order status (e.g. OPEN) or 'open'", req);
        } else {
            oq.status = st;
        }
    }
    if (auto s = q.get("symbol")) oq.symbol = *s;
    if (auto a = q.get("account_id")) oq.account_ids.push_back(*a);
    if (!parse_since(q, &oq.since_ns, req, res) || !parse_limit(q, &oq.limit, req, res)) return;
    if (auto c = q.get("cursor")) {
        if (c->empty()) return problem(res, ErrorCode::InvalidParameter, "empty cursor", req);
        oq.cursor = *c;
    }
    auto page = cx.deps.orders->list(oq, scope_of(who));
    if (!page) return problem(res, page.error(), req);
    std::string items;
    items.reserve(page->items.size() * 600 + 2);
    json::Writer w(&items);
    w.begin_array();
    for (const auto& o : page->items) write_order(w, o);
    w.end_array();
    res.json(200, list_envelope(items, page->next_cursor));
}

void get_order(const Context& cx, Request& req, Response& res, const auth::Principal& who) {
    if (!no_query(req, res)) return;
    auto o = cx.deps.orders->get(req.params["id"], scope_of(who));
    if (!o) return problem(res, o.error(), req);
    res.json(200, order_json(*o));
}

void modify(const Context& cx, Request& req, Response& res, const auth::Principal& who) {
    if (!no_query(req, res) || !json_content(req, res)) return;
    json::Value body;
    if (!parse_body(req, &body, res)) return;
    ModifyRequest change;
    Error err;
    if (!parse_modify(body, &change, &err)) return problem(res, err, req);
    std::string canonical;
    body.canonical(&canonical);
    idempotent(cx, req, res, who, canonical, [&](Response& out, bool& broker_called) {
        auto r = cx.deps.orders->modify(req.params["id"], change, scope_of(who),
                                        orders::Origin{req.request_id, EventSource::Api, ""});
        if (!r) {
            broker_called = r.error().broker_called;
            return problem(out, r.error(), req);
        }
        out.json(r->outcome_known ? 200 : 202, order_json(r->order));
    });
}

void cancel(const Context& cx, Request& req, Response& res, const auth::Principal& who) {
    if (!no_query(req, res)) return;
    idempotent(cx, req, res, who, "", [&](Response& out, bool& broker_called) {
        auto r = cx.deps.orders->cancel(req.params["id"], scope_of(who),
                                        orders::Origin{req.request_id, EventSource::Api, ""});
        if (!r) {
            broker_called = r.error().broker_called;
            return problem(out, r.error(), req);
        }
        out.json(r->outcome_known ? 200 : 202, order_json(r->order));
    });
}

void cancel_all(const Context& cx, Request& req, Response& res, const auth::Principal& who) {
    Query q;
    if (!parse_query(req, {"account_id"}, &q, res)) return;
    auto account = q.get("account_id");
    if (!account || account->empty())
        return problem(res, ErrorCode::InvalidParameter,
                       "account_id is required to cancel every open order", req);
    idempotent(cx, req, res, who, "", [&](Response& out, bool& broker_called) {
        auto r = cx.deps.orders->cancel_all(*account, scope_of(who),
                                            orders::Origin{req.request_id, EventSource::Api, ""});
        if (!r) {
            broker_called = r.error().broker_called;
            return problem(out, r.error(), req);
        }
        std::string body;
        json::Writer w(&body);
        w.begin_object().key("cancelled").begin_array();
        for (const auto& id : r->cancelled) w.string(id);
        w.end_array().key("failed").begin_array();
        for (const auto& [id, code] : r->failed)
            w.begin_object().field("id", id).field("code", code).end_object();
        w.end_array().key("venue_checked").boolean(!r->venue_error);
        if (r->venue_error)
            w.key("venue_error")
                .begin_object()
                .field("code", std::string(code_name(r->venue_error->code)))
                .field("detail", r->venue_error->detail)
                .end_object();
        w.end_object();
        out.json(200, std::move(body));
    });
}

void events(const Context& cx, Request& req, Response& res, const auth::Principal& who) {
    Query q;
    if (!parse_query(req, {"limit", "cursor"}, &q, res)) return;
    uint32_t limit;
    if (!parse_limit(q, &limit, req, res)) return;
    int64_t after = 0;
    if (auto c = q.get("cursor")) {
        auto r = std::from_chars(c->data(), c->data() + c->size(), after);
        if (r.ec != std::errc() || r.ptr != c->data() + c->size() || after < 0)
            return problem(res, ErrorCode::InvalidParameter, "invalid cursor", req);
    }
    auto evs = cx.deps.orders->events(req.params["id"], scope_of(who), after, limit + 1);
    if (!evs) return problem(res, evs.error(), req);
    std::string next;
    if (evs->size() > limit) {
        evs->resize(limit);
        next = std::to_string(evs->back().seq);
    }
    std::string items;
    json::Writer w(&items);
    w.begin_array();
    for (const auto& e : *evs) write_event(w, e);
    w.end_array();
    res.json(200, list_envelope(items, next));
}

}  // namespace ordergate::api::handlers
