// Handlers of operations: health, readiness, metrics, the API documents, plugins and
// reconciliation.
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

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

namespace {

// The page is ours (embedded); Swagger UI's files come from options.docs_dir, which the build
// fills from npm and the package installs (host/api/CMakeLists.txt). Without them the page could
// only show an empty screen, so the caller is told where they were looked for.
bool docs_available(const Context& cx, const Request& req, Response& res) {
    std::error_code ec;
    const std::string& dir = cx.options.docs_dir;
    if (!dir.empty() && std::filesystem::is_regular_file(dir + "/swagger-ui-bundle.js", ec))
        return true;
    problem(res, ErrorCode::DocsUnavailable,
            dir.empty() ? std::string("no directory of Swagger UI files is configured")
                        : "the Swagger UI files are missing from " + dir +
                              " (swagger-ui-bundle.js not found; see http.docs_dir)",
            req);
    res.headers.clear();  // a missing directory does not come back by itself: no Retry-After
    return false;
}

}  // namespace

void docs(const Context& cx, Request& req, Response& res, const auth::Principal&) {
    if (!docs_available(cx, req, res)) return;
    res.status = 200;
    res.content_type = "text/html; charset=utf-8";
    res.body = docs_page();
}

// GET /docs/{file}: one file of docs_dir by its plain name (no '/', no leading '.', so nothing
// outside the directory can be named).
void docs_file(const Context& cx, Request& req, Response& res, const auth::Principal&) {
    const std::string& name = req.params["file"];
    bool plain = !name.empty() && name.front() != '.' && name.size() <= 128;
    for (char c : name)
        plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
                          c == '_');
    if (!plain) return problem(res, ErrorCode::NotFound, "no such file", req);
    if (!docs_available(cx, req, res)) return;
    const std::string path = cx.options.docs_dir + "/" + name;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        return problem(res, ErrorCode::NotFound, "no such file", req);
    std::ifstream in(path, std::ios::binary);
    if (!in.is_open()) throw std::runtime_error("cannot open " + path);
    std::ostringstream body;
    body << in.rdbuf();
    auto ext = [&](std::string_view e) {
        return name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0;
    };
    res.status = 200;
    res.content_type = ext(".js")     ? "text/javascript; charset=utf-8"
                       : ext(".css")  ? "text/css; charset=utf-8"
                       : ext(".png")  ? "image/png"
                       : ext(".map")  ? "application/json"
                       : ext(".html") ? "text/html; charset=utf-8"
                                      : "text/plain; charset=utf-8";
    res.body = std::move(body).str();
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Cache-Control", "public, max-age=3600");
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
    if (!no_query(req, res)) return;
    std::string broker;
    if (!req.body.empty()) {
        if (!json_content(req, res)) return;
        json::Value body;
        if (!parse_body(req, &body, res)) return;
        for (const auto& [k, v] : body.members()) {
            if (k != "broker" || !v.is_string() || v.text().empty()) {
                return problem(res,
                               Error::invalid({{k, k == "broker" ? "must be a broker instance name"
                                                                 : "is not a known field"}}),
                               req);
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
