// Handlers of operations: health, readiness, metrics, the API documents, plugins and
// reconciliation.
#include "api/handlers.hpp"
#include "api/wire.hpp"
#include "common/time.hpp"
#include "metrics/metrics.hpp"
#include "reconcile/reconciler.hpp"

namespace ordergate::api::handlers {

using http::Request;
using http::Response;

void health(const Context&, Request&, Response& res, const auth::Principal&) {
    res.json(200, "{\"status\":\"ok\"}");
}

void ready(const Context& cx, Request&, Response& res, const auth::Principal&) {
    std::vector<ReadinessCheck> checks;
    if (cx.deps.readiness) checks = cx.deps.readiness();
    bool ok = true;
    std::string body;
    json::Writer w(&body);
    w.begin_object();
    for (const auto& c : checks) ok = ok && c.ok;
    w.field("status", ok ? "ready" : "not_ready").key("components").begin_array();
    for (const auto& c : checks) {
        w.begin_object().field("component", c.component).field("status", c.ok ? "up" : "down");
        if (!c.detail.empty()) w.field("detail", c.detail);
        w.end_object();
        if (cx.deps.metrics) cx.deps.metrics->set_ready(c.component, c.ok);
    }
    w.end_array().end_object();
    res.json(ok ? 200 : 503, std::move(body));
    if (!ok) res.set_header("Retry-After", "5");
}

void metrics(const Context& cx, Request&, Response& res, const auth::Principal&) {
    res.status = 200;
    res.content_type = "text/plain; version=0.0.4; charset=utf-8";
    if (!cx.deps.metrics) return;
    // ordergate_component_up is what alerts on storage, Redis and brokers read: checked at
    // each scrape, so it is current even where nothing polls /health/ready.
    if (cx.deps.readiness)
        for (const auto& c : cx.deps.readiness()) cx.deps.metrics->set_ready(c.component, c.ok);
    res.body = cx.deps.metrics->serialize();
}

void openapi(const Context&, Request&, Response& res, const auth::Principal&) {
    res.json(200, openapi_document());
}

void docs(const Context&, Request&, Response& res, const auth::Principal&) {
    res.status = 200;
    res.content_type = "text/html; charset=utf-8";
    res.body = docs_page();
}

void plugins(const Context& cx, Request& req, Response& res, const auth::Principal&) {
    Query q;
    size_t offset = 0;
    uint32_t limit = 100;
    if (!parse_query(req, {"limit", "cursor"}, &q, res) || !parse_limit(q, &limit, req, res) ||
        !parse_offset(q, &offset, req, res))
        return;
    std::vector<std::string> all;
    if (cx.deps.plugins) all = cx.deps.plugins();
    std::string items = "[";
    size_t end = std::min(all.size(), offset + limit);
    for (size_t i = offset; i < end; ++i) {
        if (i > offset) items += ',';
        items += all[i];
    }
    items += ']';
    res.json(200, list_envelope(items, end < all.size() ? std::to_string(end) : ""));
}

// Runs newest first: {"items":[{"id","broker","status","started_at","finished_at",
// "report":{…}}],"next_cursor"}.
void reconciliation_runs(const Context& cx, Request& req, Response& res, const auth::Principal&) {
    Query q;
    if (!parse_query(req, {"broker", "limit", "cursor"}, &q, res)) return;
    uint32_t limit;
    if (!parse_limit(q, &limit, req, res)) return;
    std::string broker(q.get("broker").value_or(""));
    std::string cursor(q.get("cursor").value_or(""));
    if (q.get("cursor") && cursor.empty())
        return problem(res, ErrorCode::InvalidParameter, "empty cursor", req);
    if (!cx.deps.reconciler) return res.json(200, list_envelope("[]", ""));
    if (!broker.empty() && !cx.deps.reconciler->has_broker(broker))
        return problem(res, ErrorCode::NotFound, "broker '" + broker + "' not found", req);
    auto page = cx.deps.reconciler->runs(broker, cursor, limit);
    if (!page) return problem(res, page.error(), req);
    std::string items;
    json::Writer w(&items);
    w.begin_array();
    for (const auto& r : page->items) {
        w.begin_object()
            .field("id", r.id)
            .field("broker", r.broker)
            .field("status", r.status)
            .field("started_at", timefmt::rfc3339_ms(r.started_at_ns));
        if (r.finished_at_ns)
            w.field("finished_at", timefmt::rfc3339_ms(r.finished_at_ns));
        else
            w.field_null("finished_at");
        // The report is the gateway's own JSON document, stored as written.
        json::Value report;
        std::string why;
        if (!r.report_json.empty() && json::parse(r.report_json, &report, &why))
            w.key("report").raw(r.report_json);
        else
            w.field_null("report");
        w.end_object();
    }
    w.end_array();
    res.json(200, list_envelope(items, page->next_cursor));
}

// Asks for a run now: 202 {"runs":[{"id","broker"}]} (GET /api/v1/reconciliation shows them).
// Body (optional): {"broker":"paper"}; without one, every broker instance.
void reconciliation_run(const Context& cx, Request& req, Response& res, const auth::Principal&) {
    std::string broker;
    if (!req.body.empty()) {
        if (!json_content(req, res)) return;
        json::Value body;
        if (!parse_body(req, &body, res)) return;
        for (const auto& [k, v] : body.members()) {
            if (k != "broker" || !v.is_string() || v.text().empty()) {
                Error e = Error::make(ErrorCode::ValidationFailed, "invalid request body");
                e.errors.push_back(
                    {k, k == "broker" ? "must be a broker instance name" : "is not a known field"});
                return problem(res, e, req);
            }
            broker = v.text();
        }
    }
    if (!cx.deps.reconciler)
        return problem(res, ErrorCode::Conflict,
                       "reconciliation is disabled in the configuration "
                       "(reconciliation.enabled: false)",
                       req);
    if (!broker.empty() && !cx.deps.reconciler->has_broker(broker))
        return problem(res, ErrorCode::NotFound, "broker '" + broker + "' not found", req);
    auto asked = cx.deps.reconciler->request_run(broker);
    std::string body;
    json::Writer w(&body);
    w.begin_object().key("runs").begin_array();
    for (const auto& [b, id] : asked)
        w.begin_object().field("id", id).field("broker", b).end_object();
    w.end_array().end_object();
    res.json(202, std::move(body));
}

}  // namespace ordergate::api::handlers
