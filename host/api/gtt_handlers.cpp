// Handlers of /api/v1/gtt: create, list, get, modify (full body, while ACTIVE), delete (cancel).
#include "api/handlers.hpp"
#include "api/idempotency_gate.hpp"
#include "api/wire.hpp"
#include "gtt/gtt_service.hpp"

namespace ordergate::api::handlers {

using http::Request;
using http::Response;

namespace {

std::string gtt_json(const gtt::Gtt& g) {
    std::string out;
    json::Writer w(&out);
    write_gtt(w, g);
    return out;
}

// GTTs need the GTT service; a gateway built without it answers as for an unknown route.
bool available(const Context& cx, const Request& req, Response& res) {
    if (cx.deps.gtt) return true;
    problem(res, ErrorCode::NotFound, "GTT orders are not enabled on this gateway", req);
    return false;
}

}  // namespace

void create_gtt(const Context& cx, Request& req, Response& res, const auth::Principal& who) {
    if (!available(cx, req, res) || !no_query(req, res) || !json_content(req, res)) return;
    json::Value body;
    if (!parse_body(req, &body, res)) return;
    gtt::GttRequest asked;
    Error err;
    if (!parse_gtt(body, &asked, &err)) return problem(res, err, req);
    std::string canonical;
    body.canonical(&canonical);
    idempotent(cx, req, res, who, canonical, [&](Response& out, bool&) {
        auto g = cx.deps.gtt->create(asked, scope_of(who), req.request_id);
        if (!g) return problem(out, g.error(), req);
        out.json(201, gtt_json(*g));
        out.set_header("Location", "/api/v1/gtt/" + g->id);
    });
}

void list_gtts(const Context& cx, Request& req, Response& res, const auth::Principal& who) {
    if (!available(cx, req, res)) return;
    Query q;
    if (!parse_query(req, {"account_id", "limit", "cursor"}, &q, res)) return;
    uint32_t limit;
    if (!parse_limit(q, &limit, req, res)) return;
    std::vector<std::string> accounts;
    if (auto a = q.get("account_id")) accounts.push_back(*a);
    std::string cursor;
    if (auto c = q.get("cursor")) {
        if (c->empty()) return problem(res, ErrorCode::InvalidParameter, "empty cursor", req);
        cursor = *c;
    }
    auto page = cx.deps.gtt->list(accounts, scope_of(who), cursor, limit);
    if (!page) return problem(res, page.error(), req);
    std::string items;
    json::Writer w(&items);
    w.begin_array();
    for (const auto& g : page->items) write_gtt(w, g);
    w.end_array();
    res.json(200, list_envelope(items, page->next_cursor));
}

void get_gtt(const Context& cx, Request& req, Response& res, const auth::Principal& who) {
    if (!available(cx, req, res) || !no_query(req, res)) return;
    auto g = cx.deps.gtt->get(req.params["id"], scope_of(who));
    if (!g) return problem(res, g.error(), req);
    res.json(200, gtt_json(*g));
}

void modify_gtt(const Context& cx, Request& req, Response& res, const auth::Principal& who) {
    if (!available(cx, req, res) || !no_query(req, res) || !json_content(req, res)) return;
    json::Value body;
    if (!parse_body(req, &body, res)) return;
    gtt::GttRequest asked;
    Error err;
    if (!parse_gtt(body, &asked, &err)) return problem(res, err, req);
    std::string canonical;
    body.canonical(&canonical);
    idempotent(cx, req, res, who, canonical, [&](Response& out, bool&) {
        auto g = cx.deps.gtt->modify(req.params["id"], asked, scope_of(who));
        if (!g) return problem(out, g.error(), req);
        out.json(200, gtt_json(*g));
    });
}

void delete_gtt(const Context& cx, Request& req, Response& res, const auth::Principal& who) {
    if (!available(cx, req, res) || !no_query(req, res)) return;
    idempotent(cx, req, res, who, "", [&](Response& out, bool&) {
        auto g = cx.deps.gtt->cancel(req.params["id"], scope_of(who));
        if (!g) return problem(out, g.error(), req);
        out.json(200, gtt_json(*g));
    });
}

}  // namespace ordergate::api::handlers
