// Handlers of the account state: positions, trades, accounts.
#include "api/handlers.hpp"
#include "api/wire.hpp"
#include "orders/order_service.hpp"
#include "positions/position_book.hpp"

namespace ordergate::api::handlers {

using http::Request;
using http::Response;

void positions(const Context& cx, Request& req, Response& res, const auth::Principal& who) {
    Query q;
    if (!parse_query(req, {"account_id", "limit", "cursor"}, &q, res)) return;
    uint32_t limit;
    if (!parse_limit(q, &limit, req, res)) return;
    size_t offset = 0;
    if (!parse_offset(q, &offset, req, res)) return;
    std::vector<positions::PositionView> all;
    auto account = q.get("account_id");
    orders::AccountScope scope = scope_of(who);
    if (account) {
        if (scope.allows(*account) && !cx.deps.orders->broker_of(*account).empty())
            all = cx.deps.positions->snapshot({*account});
        else
            return problem(res, ErrorCode::NotFound, "account '" + *account + "' not found", req);
    } else {
        all =
            scope.all ? cx.deps.positions->snapshot() : cx.deps.positions->snapshot(scope.accounts);
    }
    std::string items;
    json::Writer w(&items);
    w.begin_array();
    size_t end = std::min(all.size(), offset + limit);
    for (size_t i = offset; i < end; ++i) write_position(w, all[i]);
    w.end_array();
    res.json(200, list_envelope(items, end < all.size() ? std::to_string(end) : ""));
}

void trades(const Context& cx, Request& req, Response& res, const auth::Principal& who) {
    Query q;
    if (!parse_query(req, {"account_id", "order_id", "since", "limit", "cursor"}, &q, res)) return;
    FillQuery fq;
    if (auto a = q.get("account_id")) fq.account_ids.push_back(*a);
    if (auto o = q.get("order_id")) fq.order_id = *o;
    if (!parse_since(q, &fq.since_ns, req, res) || !parse_limit(q, &fq.limit, req, res)) return;
    if (auto c = q.get("cursor")) {
        if (c->empty()) return problem(res, ErrorCode::InvalidParameter, "empty cursor", req);
        fq.cursor = *c;
    }
    auto page = cx.deps.orders->trades(fq, scope_of(who));
    if (!page) return problem(res, page.error(), req);
    std::string items;
    json::Writer w(&items);
    w.begin_array();
    for (const auto& f : page->items) write_fill(w, f);
    w.end_array();
    res.json(200, list_envelope(items, page->next_cursor));
}

void accounts(const Context& cx, Request& req, Response& res, const auth::Principal& who) {
    Query q;
    size_t offset = 0;
    uint32_t limit = 100;
    if (!parse_query(req, {"limit", "cursor"}, &q, res) || !parse_limit(q, &limit, req, res) ||
        !parse_offset(q, &offset, req, res))
        return;
    auto routes = cx.deps.orders->accounts(scope_of(who));
    std::string items;
    json::Writer w(&items);
    w.begin_array();
    size_t end = std::min(routes.size(), offset + limit);
    for (size_t i = offset; i < end; ++i) {
        const orders::AccountRoute& r = routes[i];
        auto a = cx.deps.orders->account(r.account_id, scope_of(who));
        if (a)
            write_account(w, *a, r.broker);
        else if (a.error().code == ErrorCode::UnsupportedByBroker)
            write_unreported_account(w, r.account_id, r.broker, r.currency);
        else
            return problem(res, a.error(), req);
    }
    w.end_array();
    res.json(200, list_envelope(items, end < routes.size() ? std::to_string(end) : ""));
}

void account(const Context& cx, Request& req, Response& res, const auth::Principal& who) {
    if (!no_query(req, res)) return;
    const std::string& id = req.params["id"];
    const orders::AccountScope scope = scope_of(who);
    auto a = cx.deps.orders->account(id, scope);
    std::string body;
    json::Writer w(&body);
    if (a) {
        write_account(w, *a, cx.deps.orders->broker_of(id));
    } else if (a.error().code == ErrorCode::UnsupportedByBroker) {
        // The account exists (it is configured and granted); its broker keeps no figures.
        for (const orders::AccountRoute& r : cx.deps.orders->accounts(scope))
            if (r.account_id == id) write_unreported_account(w, r.account_id, r.broker, r.currency);
        if (body.empty()) return problem(res, ErrorCode::NotFound, "account not found", req);
    } else {
        return problem(res, a.error(), req);
    }
    res.json(200, std::move(body));
}

// GET /api/v1/quote?account_id=&symbol=&exchange=: the instrument's current price at the
// account's broker (what a GTT is armed against). account_id may be left out by a caller granted
// exactly one account.
void quote(const Context& cx, Request& req, Response& res, const auth::Principal& who) {
    Query q;
    if (!parse_query(req, {"account_id", "symbol", "exchange"}, &q, res)) return;
    const orders::AccountScope scope = scope_of(who);
    std::string account = q.get("account_id").value_or("");
    if (account.empty() && !scope.all && scope.accounts.size() == 1)
        account = scope.accounts.front();
    for (const auto& [name, value] : {std::pair<const char*, std::string>{"account_id", account},
                                      {"symbol", q.get("symbol").value_or("")},
                                      {"exchange", q.get("exchange").value_or("")}})
        if (value.empty())
            return problem(res, ErrorCode::InvalidParameter, std::string(name) + " is required",
                           req);
    auto v = cx.deps.orders->quote(account, *q.get("symbol"), *q.get("exchange"), scope);
    if (!v) return problem(res, v.error(), req);
    std::string body;
    json::Writer w(&body);
    write_quote(w, account, v->broker, v->quote, v->source);
    res.json(200, std::move(body));
}

}  // namespace ordergate::api::handlers
