#include "api/api.hpp"

#include <spdlog/spdlog.h>
#include <strings.h>

#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "api/wire.hpp"
#include "auth/authenticator.hpp"
#include "auth/rate_limiter.hpp"
#include "common/time.hpp"
#include "idempotency/idempotency.hpp"
#include "metrics/metrics.hpp"
#include "orders/order_service.hpp"
#include "positions/position_book.hpp"
#include "reconcile/reconciler.hpp"

namespace ordergate::api {

namespace {

using http::Request;
using http::Response;

enum class Access { Public, Health, Metrics, Read, Write, Operator };

// Splits "/a/b/c" into {"a","b","c"}.
std::vector<std::string_view> segments(std::string_view path) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < path.size()) {
        if (path[i] == '/') {
            ++i;
            continue;
        }
        size_t j = path.find('/', i);
        if (j == std::string_view::npos) j = path.size();
        out.push_back(path.substr(i, j - i));
        i = j;
    }
    return out;
}

enum class Match { No, Yes, BadEscape };

// Whether `path` (percent-encoded, as sent) is an instance of `pattern`; parameters are decoded
// into *params. BadEscape: the path has the pattern's shape but a parameter holds a malformed
// escape ('%' without two hex digits), which the caller answers with 400.
Match match(std::string_view pattern, std::string_view path,
            std::map<std::string, std::string>* params) {
    auto p = segments(pattern), s = segments(path);
    if (p.size() != s.size()) return Match::No;
    if (!path.empty() && path.back() == '/' && path.size() > 1) return Match::No;
    std::map<std::string, std::string> got;
    bool bad_escape = false;
    for (size_t i = 0; i < p.size(); ++i) {
        if (p[i].size() > 2 && p[i].front() == '{' && p[i].back() == '}') {
            // Percent-decoding only: '+' is a space in query strings, itself in a path. The
            // decoded value may hold a '/' (client_order_id:a%2Fb): segments were split before.
            std::string value;
            if (!http::percent_decode(s[i], &value)) bad_escape = true;
            else if (value.empty()) return Match::No;
            got[std::string(p[i].substr(1, p[i].size() - 2))] = std::move(value);
        } else if (p[i] != s[i]) {
            return Match::No;
        }
    }
    if (bad_escape) return Match::BadEscape;
    *params = std::move(got);
    return Match::Yes;
}

void problem(Response& res, const Error& err, const Request& req) {
    http::render_problem(err, req.request_id, &res);
}

void problem(Response& res, ErrorCode code, std::string detail, const Request& req) {
    problem(res, Error::make(code, std::move(detail)), req);
}

// Query parameters with the contract's checks: only known names, each at most once.
struct Query {
    std::vector<std::pair<std::string, std::string>> items;
    std::optional<std::string> get(std::string_view k) const {
        for (const auto& [name, v] : items)
            if (name == k) return v;
        return std::nullopt;
    }
};

bool parse_query(const Request& req, std::initializer_list<std::string_view> known, Query* q,
                 Response& res) {
    if (!http::parse_query(req.query, &q->items)) {
        problem(res, ErrorCode::InvalidParameter, "malformed query string", req);
        return false;
    }
    for (size_t i = 0; i < q->items.size(); ++i) {
        const auto& name = q->items[i].first;
        bool ok = false;
        for (auto k : known) ok = ok || k == name;
        if (!ok) {
            problem(res, ErrorCode::InvalidParameter, "unknown query parameter '" + name + "'",
                    req);
            return false;
        }
        for (size_t j = 0; j < i; ++j)
            if (q->items[j].first == name) {
                problem(res, ErrorCode::InvalidParameter,
                        "query parameter '" + name + "' given more than once", req);
                return false;
            }
    }
    return true;
}

bool parse_limit(const Query& q, uint32_t* limit, const Request& req, Response& res) {
    *limit = 100;
    auto v = q.get("limit");
    if (!v) return true;
    uint32_t n = 0;
    auto r = std::from_chars(v->data(), v->data() + v->size(), n);
    if (r.ec != std::errc() || r.ptr != v->data() + v->size() || n < 1 || n > 1000) {
        problem(res, ErrorCode::InvalidParameter, "limit must be an integer from 1 to 1000", req);
        return false;
    }
    *limit = n;
    return true;
}

bool parse_since(const Query& q, int64_t* since, const Request& req, Response& res) {
    *since = 0;
    auto v = q.get("since");
    if (!v) return true;
    if (!timefmt::parse_rfc3339(*v, since)) {
        problem(res, ErrorCode::InvalidParameter, "since must be an RFC 3339 date-time", req);
        return false;
    }
    return true;
}

// Lists computed in memory (positions, accounts, plugins) page by offset: the cursor is the
// index of the next item.
bool parse_offset(const Query& q, size_t* offset, const Request& req, Response& res) {
    *offset = 0;
    auto c = q.get("cursor");
    if (!c) return true;
    auto r = std::from_chars(c->data(), c->data() + c->size(), *offset);
    if (c->empty() || r.ec != std::errc() || r.ptr != c->data() + c->size()) {
        problem(res, ErrorCode::InvalidParameter, "invalid cursor", req);
        return false;
    }
    return true;
}

bool json_content(const Request& req, Response& res) {
    std::string_view ct = req.header("content-type");
    size_t semi = ct.find(';');
    std::string_view media = ct.substr(0, semi);
    while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
    bool ok = media.size() == 16 && strncasecmp(media.data(), "application/json", 16) == 0;
    if (ok && semi != std::string_view::npos) {
        std::string params(ct.substr(semi + 1));
        for (char& c : params) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
        size_t at = params.find("charset=");
        if (at != std::string::npos) {
            std::string cs = params.substr(at + 8);
            cs = cs.substr(0, cs.find(';'));
            while (!cs.empty() && (cs.front() == ' ' || cs.front() == '"')) cs.erase(0, 1);
            while (!cs.empty() && (cs.back() == ' ' || cs.back() == '"')) cs.pop_back();
            ok = cs == "utf-8" || cs == "utf8";
        }
    }
    if (!ok)
        problem(res, ErrorCode::UnsupportedMediaType,
                "the body must be sent with Content-Type: application/json", req);
    return ok;
}

bool parse_body(const Request& req, json::Value* body, Response& res) {
    std::string why, key;
    if (!json::parse(req.body, body, &why, &key)) {
        if (!key.empty()) {
            Error e = Error::make(ErrorCode::ValidationFailed, key + " is out of range");
            e.errors.push_back({key, "is out of range"});
            problem(res, e, req);
            return false;
        }
        problem(res, ErrorCode::MalformedJson, "the body is not valid JSON: " + why, req);
        return false;
    }
    if (!body->is_object()) {
        problem(res, ErrorCode::MalformedJson, "the body must be a JSON object", req);
        return false;
    }
    return true;
}

orders::AccountScope scope_of(const auth::Principal& p) {
    orders::AccountScope s;
    s.all = p.all_accounts;
    s.accounts = p.accounts;
    return s;
}

std::string list_envelope(const std::string& items_json, const std::string& next_cursor) {
    std::string out;
    out.reserve(items_json.size() + 64);
    out += "{\"items\":";
    out += items_json;
    out += ",\"next_cursor\":";
    if (next_cursor.empty()) out += "null";
    else json::append_escaped(&out, next_cursor);
    out += '}';
    return out;
}

}  // namespace

struct Api::Impl {
    struct Route {
        const char* method;
        const char* pattern;  // "/api/v1/orders/{id}"
        Access access;
        void (Impl::*handler)(Request&, Response&, const auth::Principal&);
    };
    ApiDeps deps;
    ApiOptions options;
    std::vector<Route> routes;
    auth::Principal operator_principal = auth::Authenticator::operator_principal();

    Impl(ApiDeps d, ApiOptions o) : deps(std::move(d)), options(std::move(o)) {
        routes = {
            {"GET", "/health", Access::Health, &Impl::health},
            {"GET", "/health/ready", Access::Health, &Impl::ready},
            {"GET", "/metrics", Access::Metrics, &Impl::metrics},
            {"GET", "/openapi.json", Access::Public, &Impl::openapi},
            {"GET", "/docs", Access::Public, &Impl::docs},
            {"GET", "/docs/{file}", Access::Public, &Impl::docs_file},
            {"POST", "/api/v1/orders", Access::Write, &Impl::place},
            {"GET", "/api/v1/orders", Access::Read, &Impl::list_orders},
            {"DELETE", "/api/v1/orders", Access::Write, &Impl::cancel_all},
            {"GET", "/api/v1/orders/{id}", Access::Read, &Impl::get_order},
            {"PUT", "/api/v1/orders/{id}", Access::Write, &Impl::modify},
            {"DELETE", "/api/v1/orders/{id}", Access::Write, &Impl::cancel},
            {"GET", "/api/v1/orders/{id}/events", Access::Read, &Impl::events},
            {"GET", "/api/v1/positions", Access::Read, &Impl::positions},
            {"GET", "/api/v1/trades", Access::Read, &Impl::trades},
            {"GET", "/api/v1/accounts", Access::Read, &Impl::accounts},
            {"GET", "/api/v1/accounts/{id}", Access::Read, &Impl::account},
            {"GET", "/api/v1/plugins", Access::Operator, &Impl::plugins},
            {"GET", "/api/v1/reconciliation", Access::Operator, &Impl::reconciliation_runs},
            {"POST", "/api/v1/reconciliation/run", Access::Operator, &Impl::reconciliation_run},
        };
    }

    // ---- dispatch -------------------------------------------------------------------------

    void handle(Request& req, Response& res) {
        const Route* found = nullptr;
        std::string allow;
        bool bad_escape = false;
        for (const auto& r : routes) {
            std::map<std::string, std::string> params;
            const Match m = match(r.pattern, req.path, &params);
            if (m == Match::BadEscape) bad_escape = true;
            if (m != Match::Yes) continue;
            if (req.method == r.method || (req.method == "HEAD" && std::string_view(r.method) == "GET")) {
                found = &r;
                req.params = std::move(params);
                req.route = r.pattern;
                break;
            }
            if (!allow.empty()) allow += ", ";
            allow += r.method;
        }
        const bool api_path = req.path.rfind("/api/v1", 0) == 0;
        if (!found) {
            // Under /api/v1 an unauthenticated caller learns nothing, not even which routes exist.
            if (api_path && deps.authenticator && !authenticate(req, res)) return;
            if (bad_escape) {
                problem(res, ErrorCode::InvalidParameter,
                        "malformed percent-escape in the path ('%' must be followed by two hex "
                        "digits)",
                        req);
            } else if (!allow.empty()) {
                problem(res, ErrorCode::MethodNotAllowed,
                        "method " + req.method + " is not allowed here", req);
                res.set_header("Allow", allow);
            } else {
                problem(res, ErrorCode::NotFound, "no such resource", req);
            }
            return;
        }
        const auth::Principal* principal = &operator_principal;
        std::optional<auth::Principal> authed;
        const bool needs_auth =
            deps.authenticator &&
            (found->access == Access::Read || found->access == Access::Write ||
             found->access == Access::Operator ||
             (found->access == Access::Health && options.protect_health) ||
             (found->access == Access::Metrics && options.protect_metrics));
        if (needs_auth) {
            authed = authenticate(req, res);
            if (!authed) return;
            principal = &*authed;
            // The rate limit comes first: refusals (403) count against the caller's rate too.
            if (deps.rate_limiter && deps.rate_limiter->enabled()) {
                std::chrono::seconds retry{1};
                if (!deps.rate_limiter->try_acquire(principal->key(), &retry)) {
                    spdlog::debug("event=rate_limited request_id={} route={} retry_after_s={}",
                                  req.request_id, req.route, retry.count());
                    if (deps.metrics) deps.metrics->auth_result("rate_limited");
                    Error e = Error::make(ErrorCode::RateLimited,
                                          "too many requests; retry after " +
                                              std::to_string(retry.count()) + " s");
                    e.retry_after_seconds = static_cast<int>(std::max<int64_t>(1, retry.count()));
                    problem(res, e, req);
                    return;
                }
            }
            std::string_view scope;
            switch (found->access) {
                case Access::Read: scope = auth::kScopeOrdersRead; break;
                case Access::Write: scope = auth::kScopeOrdersWrite; break;
                case Access::Operator:
                case Access::Health:
                case Access::Metrics: scope = auth::kScopeOperator; break;
                case Access::Public: break;
            }
            if (!scope.empty() && !principal->has_scope(scope)) {
                spdlog::info("event=auth_forbidden request_id={} route={} method={} "
                             "reason=\"scope_missing:{}\"",
                             req.request_id, req.route, req.method, scope);
                if (deps.metrics) deps.metrics->auth_result("insufficient_scope");
                problem(res, ErrorCode::InsufficientScope,
                        "this operation needs the scope '" + std::string(scope) + "'", req);
                res.set_header("WWW-Authenticate",
                               auth::www_authenticate_insufficient_scope(scope));
                return;
            }
        }
        (this->*(found->handler))(req, res, *principal);
    }

    std::optional<auth::Principal> authenticate(const Request& req, Response& res) {
        auth::AuthResult r =
            deps.authenticator->authenticate(req.header("authorization"), req.header("x-api-key"));
        if (r.ok()) {
            if (deps.metrics) deps.metrics->auth_result("ok");
            return std::move(r.principal);
        }
        if (r.failure == auth::Failure::Unavailable) {
            spdlog::error("event=auth_unavailable request_id={} reason=\"{}\"", req.request_id,
                          r.reason);
            if (deps.metrics) deps.metrics->auth_result("unavailable");
            Error e = Error::make(ErrorCode::AuthUnavailable,
                                  "the keys to verify tokens cannot be fetched right now");
            e.retry_after_seconds = 5;
            problem(res, e, req);
            return std::nullopt;
        }
        const bool missing = r.failure == auth::Failure::MissingCredentials;
        spdlog::info("event=auth_refused request_id={} route={} reason=\"{}\"", req.request_id,
                     req.route, r.reason);
        if (deps.metrics) deps.metrics->auth_result(missing ? "missing" : "invalid");
        problem(res, ErrorCode::Unauthenticated,
                missing ? "a bearer token is required" : "the credentials were refused: " + r.reason,
                req);
        res.set_header("WWW-Authenticate", auth::www_authenticate(r.failure));
        return std::nullopt;
    }

    // Runs `run` under the request's Idempotency-Key (when given). `canonical` is the canonical
    // form of the request body. `run` sets its bool when the broker was called (Error's
    // broker_called): only a request that provably never reached the broker gives its key back.
    void idempotent(Request& req, Response& res, const auth::Principal& who,
                    const std::string& canonical,
                    const std::function<void(Response&, bool&)>& run) {
        bool broker_called = false;
        if (!req.has_header("idempotency-key") || !deps.idempotency) {
            if (options.require_idempotency_key && !req.has_header("idempotency-key")) {
                problem(res, ErrorCode::IdempotencyKeyRequired,
                        "this gateway requires an Idempotency-Key header on writes", req);
                return;
            }
            if (deps.idempotency && options.idempotency_required) {
                // Fail-closed holds for every write, keyed or not: while the required store is
                // unreachable nothing reaches the broker.
                try {
                    deps.idempotency->check();
                } catch (const idempotency::IdempotencyUnavailable& e) {
                    refuse_unavailable(res, req, e);
                    return;
                }
            }
            run(res, broker_called);
            return;
        }
        std::string_view key = req.header("idempotency-key");
        if (!idempotency::valid_key(key)) {
            problem(res, ErrorCode::IdempotencyKeyInvalid,
                    "Idempotency-Key must be 1 to 255 printable ASCII characters", req);
            return;
        }
        std::string target = req.path;
        if (!req.query.empty()) target += "?" + req.query;
        const std::string scoped = idempotency::scoped_key(who.key(), key);
        const std::string fp = idempotency::fingerprint(req.method, target, canonical);
        idempotency::BeginResult begun;
        try {
            begun = deps.idempotency->begin(scoped, fp);
        } catch (const idempotency::IdempotencyUnavailable& e) {
            if (options.idempotency_required) {
                refuse_unavailable(res, req, e);
                return;
            }
            spdlog::warn("event=idempotency_bypassed request_id={} reason=store_unavailable "
                         "backstop=client_order_id error=\"{}\"",
                         req.request_id, e.what());
            if (deps.metrics) deps.metrics->idempotency("bypassed");
            run(res, broker_called);
            return;
        }
        switch (begun.outcome) {
            case idempotency::Outcome::Replay:
                if (deps.metrics) deps.metrics->idempotency("replayed");
                res.status = begun.response.status;
                res.body = begun.response.body;
                res.content_type.clear();
                res.headers.clear();
                for (const auto& [k, v] : begun.response.headers) {
                    if (strcasecmp(k.c_str(), "content-type") == 0) res.content_type = v;
                    else res.set_header(k, v);
                }
                res.set_header("Idempotent-Replayed", "true");
                return;
            case idempotency::Outcome::InFlight:
                if (deps.metrics) deps.metrics->idempotency("in_flight");
                problem(res, ErrorCode::IdempotencyInFlight,
                        "a request with this Idempotency-Key is still in progress", req);
                return;
            case idempotency::Outcome::Reused:
                if (deps.metrics) deps.metrics->idempotency("reused");
                problem(res, ErrorCode::IdempotencyKeyReused,
                        "this Idempotency-Key was used for a different request", req);
                return;
            case idempotency::Outcome::Proceed:
                break;
        }
        if (deps.metrics) deps.metrics->idempotency("proceeded");
        // An exception leaves the in-flight marker to its lease: whether the broker was called
        // cannot be told, so the key is not given back (a retry meets 409 until the lease ends,
        // then the derived client_order_id finds the order if one was placed).
        run(res, broker_called);
        if (res.status >= 500 && !broker_called) {
            // Nothing happened (a dependency was down before the broker was called): a retry
            // with the same key must be able to go through.
            release(scoped, fp, req);
            return;
        }
        // From here the answer is the request's decision, a 5xx after the broker call included
        // (a retry would re-send): it is stored and replayed.
        idempotency::StoredResponse stored;
        stored.status = res.status;
        stored.body = res.body;
        stored.headers.emplace_back("Content-Type", res.content_type);
        for (const auto& h : res.headers) stored.headers.push_back(h);
        try {
            deps.idempotency->complete(scoped, fp, stored);
        } catch (const std::exception& e) {
            // The request took effect; only its replay is lost. The client_order_id backstop
            // still refuses a duplicate.
            spdlog::error("event=idempotency_complete_failed request_id={} error=\"{}\"",
                          req.request_id, e.what());
            if (deps.metrics) deps.metrics->idempotency("complete_failed");
        }
    }

    void refuse_unavailable(Response& res, const Request& req, const std::exception& e) {
        spdlog::error("event=idempotency_unavailable request_id={} error=\"{}\"", req.request_id,
                      e.what());
        if (deps.metrics) deps.metrics->idempotency("unavailable");
        Error err = Error::make(ErrorCode::IdempotencyUnavailable,
                                "the idempotency store is unavailable; nothing was sent to the "
                                "broker");
        err.retry_after_seconds = 1;
        problem(res, err, req);
    }

    void release(const std::string& scoped, const std::string& fp, const Request& req) {
        try {
            deps.idempotency->release(scoped, fp);
        } catch (const std::exception& e) {
            spdlog::error("event=idempotency_release_failed request_id={} error=\"{}\"",
                          req.request_id, e.what());
        }
    }

    // ---- operations -----------------------------------------------------------------------

    void health(Request&, Response& res, const auth::Principal&) {
        res.json(200, "{\"status\":\"ok\"}");
    }

    void ready(Request&, Response& res, const auth::Principal&) {
        std::vector<ReadinessCheck> checks;
        if (deps.readiness) checks = deps.readiness();
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
            if (deps.metrics) deps.metrics->set_ready(c.component, c.ok);
        }
        w.end_array().end_object();
        res.json(ok ? 200 : 503, std::move(body));
        if (!ok) res.set_header("Retry-After", "5");
    }

    void metrics(Request&, Response& res, const auth::Principal&) {
        res.status = 200;
        res.content_type = "text/plain; version=0.0.4; charset=utf-8";
        if (!deps.metrics) return;
        // ordergate_component_up is what alerts on storage, Redis and brokers read: checked at
        // each scrape, so it is current even where nothing polls /health/ready.
        if (deps.readiness)
            for (const auto& c : deps.readiness()) deps.metrics->set_ready(c.component, c.ok);
        res.body = deps.metrics->serialize();
    }

    void openapi(Request&, Response& res, const auth::Principal&) {
        res.json(200, openapi_document());
    }

    // The page is ours (embedded); Swagger UI's files come from options.docs_dir, which the
    // build fills from npm and the package installs (host/api/CMakeLists.txt). Without them the
    // page could only show an empty screen, so the caller is told where they were looked for.
    bool docs_available(const Request& req, Response& res) {
        std::error_code ec;
        if (!options.docs_dir.empty() &&
            std::filesystem::is_regular_file(options.docs_dir + "/swagger-ui-bundle.js", ec))
            return true;
        problem(res, ErrorCode::DocsUnavailable,
                options.docs_dir.empty()
                    ? std::string("no directory of Swagger UI files is configured")
                    : "the Swagger UI files are missing from " + options.docs_dir +
                          " (swagger-ui-bundle.js not found; see http.docs_dir)",
                req);
        res.headers.clear();  // a missing directory does not come back by itself: no Retry-After
        return false;
    }

    void docs(Request& req, Response& res, const auth::Principal&) {
        if (!docs_available(req, res)) return;
        res.status = 200;
        res.content_type = "text/html; charset=utf-8";
        res.body = docs_page();
    }

    // GET /docs/{file}: one file of docs_dir by its plain name (no '/', no leading '.', so
    // nothing outside the directory can be named).
    void docs_file(Request& req, Response& res, const auth::Principal&) {
        const std::string& name = req.params["file"];
        bool plain = !name.empty() && name.front() != '.' && name.size() <= 128;
        for (char c : name)
            plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' ||
                              c == '-' || c == '_');
        if (!plain) return problem(res, ErrorCode::NotFound, "no such file", req);
        if (!docs_available(req, res)) return;
        const std::string path = options.docs_dir + "/" + name;
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
        res.content_type = ext(".js")    ? "text/javascript; charset=utf-8"
                           : ext(".css") ? "text/css; charset=utf-8"
                           : ext(".png") ? "image/png"
                           : ext(".map") ? "application/json"
                           : ext(".html") ? "text/html; charset=utf-8"
                                          : "text/plain; charset=utf-8";
        res.body = std::move(body).str();
        res.set_header("X-Content-Type-Options", "nosniff");
        res.set_header("Cache-Control", "public, max-age=3600");
    }

    void place(Request& req, Response& res, const auth::Principal& who) {
        if (!json_content(req, res)) return;
        json::Value body;
        if (!parse_body(req, &body, res)) return;
        OrderRequest order;
        Error err;
        if (!parse_place(body, &order, &err)) return problem(res, err, req);
        std::string canonical;
        body.canonical(&canonical);
        // No client_order_id under an Idempotency-Key: derive it from (principal, key), so even
        // a lost key record cannot make a second broker order (API.md "Idempotency").
        const bool derived_cid = order.client_order_id.empty() &&
                                 req.has_header("idempotency-key") &&
                                 idempotency::valid_key(req.header("idempotency-key"));
        if (derived_cid)
            order.client_order_id =
                idempotency::derived_client_order_id(who.key(), req.header("idempotency-key"));
        idempotent(req, res, who, canonical, [&](Response& out, bool& broker_called) {
            auto r = deps.orders->place(order, scope_of(who),
                                        orders::Origin{req.request_id, EventSource::Api, ""});
            if (!r && derived_cid && r.error().code == ErrorCode::DuplicateClientOrderId &&
                !r.error().order_id.empty())
                return answer_derived_duplicate(req, out, who, order, r.error().order_id);
            if (!r) {
                broker_called = r.error().broker_called;
                return problem(out, r.error(), req);
            }
            out.json(r->outcome_known ? 201 : 202, order_json(r->order));
            out.set_header("Location", "/api/v1/orders/" + r->order.id);
            spdlog::debug("event=order_placed request_id={} order_id={} client_order_id={} "
                          "account_id={} broker={} status={}",
                          req.request_id, r->order.id, r->order.client_order_id,
                          r->order.account_id, r->order.broker, to_string(r->order.status));
        });
    }

    // A keyed retry whose derived client_order_id met an existing order (its key record was
    // lost, e.g. with the in-process store after a restart). The same request gets the order as
    // the first one would have (201, or 202 while the broker's answer is unknown, or 422 when it
    // was rejected), marked Idempotent-Replayed; a different request under the key is 422
    // IDEMPOTENCY_KEY_REUSED, as with the key record present.
    void answer_derived_duplicate(const Request& req, Response& out, const auth::Principal& who,
                                  const OrderRequest& asked, const std::string& order_id) {
        auto found = deps.orders->get(order_id, scope_of(who));
        if (!found) return problem(out, found.error(), req);
        const OrderRecord& o = *found;
        const bool same = (asked.account_id.empty() || asked.account_id == o.account_id) &&
                          asked.symbol == o.symbol && asked.exchange == o.exchange &&
                          asked.side == o.side && asked.order_type == o.order_type &&
                          asked.time_in_force == o.time_in_force && asked.quantity == o.quantity &&
                          asked.price == o.price && asked.trigger_price == o.trigger_price &&
                          asked.product == o.product && asked.tag == o.tag;
        if (deps.metrics) deps.metrics->idempotency(same ? "replayed_by_client_order_id" : "reused");
        if (!same)
            return problem(out, ErrorCode::IdempotencyKeyReused,
                           "this Idempotency-Key was used for a different request", req);
        if (o.status == OrderStatus::Rejected) {
            Error e = Error::make(ErrorCode::BrokerRejected,
                                  "the order of this Idempotency-Key was rejected: " +
                                      o.reject_reason);
            e.order_id = o.id;
            problem(out, e, req);
        } else {
            out.json(o.status == OrderStatus::PendingNew ? 202 : 201, order_json(o));
            out.set_header("Location", "/api/v1/orders/" + o.id);
        }
        out.set_header("Idempotent-Replayed", "true");
    }

    void list_orders(Request& req, Response& res, const auth::Principal& who) {
        Query q;
        if (!parse_query(req, {"status", "symbol", "account_id", "since", "limit", "cursor"}, &q,
                         res))
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
        auto page = deps.orders->list(oq, scope_of(who));
        if (!page) return problem(res, page.error(), req);
        std::string items;
        items.reserve(page->items.size() * 600 + 2);
        json::Writer w(&items);
        w.begin_array();
        for (const auto& o : page->items) write_order(w, o);
        w.end_array();
        res.json(200, list_envelope(items, page->next_cursor));
    }

    void get_order(Request& req, Response& res, const auth::Principal& who) {
        auto o = deps.orders->get(req.params["id"], scope_of(who));
        if (!o) return problem(res, o.error(), req);
        res.json(200, order_json(*o));
    }

    void modify(Request& req, Response& res, const auth::Principal& who) {
        if (!json_content(req, res)) return;
        json::Value body;
        if (!parse_body(req, &body, res)) return;
        ModifyRequest change;
        Error err;
        if (!parse_modify(body, &change, &err)) return problem(res, err, req);
        std::string canonical;
        body.canonical(&canonical);
        idempotent(req, res, who, canonical, [&](Response& out, bool& broker_called) {
            auto r = deps.orders->modify(req.params["id"], change, scope_of(who),
                                         orders::Origin{req.request_id, EventSource::Api, ""});
            if (!r) {
                broker_called = r.error().broker_called;
                return problem(out, r.error(), req);
            }
            out.json(r->outcome_known ? 200 : 202, order_json(r->order));
        });
    }

    void cancel(Request& req, Response& res, const auth::Principal& who) {
        idempotent(req, res, who, "", [&](Response& out, bool& broker_called) {
            auto r = deps.orders->cancel(req.params["id"], scope_of(who),
                                         orders::Origin{req.request_id, EventSource::Api, ""});
            if (!r) {
                broker_called = r.error().broker_called;
                return problem(out, r.error(), req);
            }
            out.json(r->outcome_known ? 200 : 202, order_json(r->order));
        });
    }

    void cancel_all(Request& req, Response& res, const auth::Principal& who) {
        Query q;
        if (!parse_query(req, {"account_id"}, &q, res)) return;
        auto account = q.get("account_id");
        if (!account || account->empty())
            return problem(res, ErrorCode::InvalidParameter,
                           "account_id is required to cancel every open order", req);
        idempotent(req, res, who, "", [&](Response& out, bool& broker_called) {
            auto r = deps.orders->cancel_all(*account, scope_of(who),
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
            w.end_array().end_object();
            out.json(200, std::move(body));
        });
    }

    void events(Request& req, Response& res, const auth::Principal& who) {
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
        auto evs = deps.orders->events(req.params["id"], scope_of(who), after, limit + 1);
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

    void positions(Request& req, Response& res, const auth::Principal& who) {
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
            if (scope.allows(*account) && !deps.orders->broker_of(*account).empty())
                all = deps.positions->snapshot({*account});
            else
                return problem(res, ErrorCode::NotFound, "account '" + *account + "' not found",
                               req);
        } else {
            all = scope.all ? deps.positions->snapshot() : deps.positions->snapshot(scope.accounts);
        }
        std::string items;
        json::Writer w(&items);
        w.begin_array();
        size_t end = std::min(all.size(), offset + limit);
        for (size_t i = offset; i < end; ++i) write_position(w, all[i]);
        w.end_array();
        res.json(200, list_envelope(items, end < all.size() ? std::to_string(end) : ""));
    }

    void trades(Request& req, Response& res, const auth::Principal& who) {
        Query q;
        if (!parse_query(req, {"account_id", "order_id", "since", "limit", "cursor"}, &q, res))
            return;
        FillQuery fq;
        if (auto a = q.get("account_id")) fq.account_ids.push_back(*a);
        if (auto o = q.get("order_id")) fq.order_id = *o;
        if (!parse_since(q, &fq.since_ns, req, res) || !parse_limit(q, &fq.limit, req, res)) return;
        if (auto c = q.get("cursor")) {
            if (c->empty()) return problem(res, ErrorCode::InvalidParameter, "empty cursor", req);
            fq.cursor = *c;
        }
        auto page = deps.orders->trades(fq, scope_of(who));
        if (!page) return problem(res, page.error(), req);
        std::string items;
        json::Writer w(&items);
        w.begin_array();
        for (const auto& f : page->items) write_fill(w, f);
        w.end_array();
        res.json(200, list_envelope(items, page->next_cursor));
    }

    void accounts(Request& req, Response& res, const auth::Principal& who) {
        Query q;
        size_t offset = 0;
        uint32_t limit = 100;
        if (!parse_query(req, {"limit", "cursor"}, &q, res) || !parse_limit(q, &limit, req, res) ||
            !parse_offset(q, &offset, req, res))
            return;
        auto routes = deps.orders->accounts(scope_of(who));
        std::string items;
        json::Writer w(&items);
        w.begin_array();
        size_t end = std::min(routes.size(), offset + limit);
        for (size_t i = offset; i < end; ++i) {
            auto a = deps.orders->account(routes[i].account_id, scope_of(who));
            if (!a) return problem(res, a.error(), req);
            write_account(w, *a, routes[i].broker);
        }
        w.end_array();
        res.json(200, list_envelope(items, end < routes.size() ? std::to_string(end) : ""));
    }

    void account(Request& req, Response& res, const auth::Principal& who) {
        const std::string& id = req.params["id"];
        auto a = deps.orders->account(id, scope_of(who));
        if (!a) return problem(res, a.error(), req);
        std::string body;
        json::Writer w(&body);
        write_account(w, *a, deps.orders->broker_of(id));
        res.json(200, std::move(body));
    }

    void plugins(Request& req, Response& res, const auth::Principal&) {
        Query q;
        size_t offset = 0;
        uint32_t limit = 100;
        if (!parse_query(req, {"limit", "cursor"}, &q, res) || !parse_limit(q, &limit, req, res) ||
            !parse_offset(q, &offset, req, res))
            return;
        std::vector<std::string> all;
        if (deps.plugins) all = deps.plugins();
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
    void reconciliation_runs(Request& req, Response& res, const auth::Principal&) {
        Query q;
        if (!parse_query(req, {"broker", "limit", "cursor"}, &q, res)) return;
        uint32_t limit;
        if (!parse_limit(q, &limit, req, res)) return;
        std::string broker(q.get("broker").value_or(""));
        std::string cursor(q.get("cursor").value_or(""));
        if (q.get("cursor") && cursor.empty())
            return problem(res, ErrorCode::InvalidParameter, "empty cursor", req);
        if (!deps.reconciler) return res.json(200, list_envelope("[]", ""));
        if (!broker.empty() && !deps.reconciler->has_broker(broker))
            return problem(res, ErrorCode::NotFound, "broker '" + broker + "' not found", req);
        auto page = deps.reconciler->runs(broker, cursor, limit);
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
            if (r.finished_at_ns) w.field("finished_at", timefmt::rfc3339_ms(r.finished_at_ns));
            else w.field_null("finished_at");
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
    void reconciliation_run(Request& req, Response& res, const auth::Principal&) {
        std::string broker;
        if (!req.body.empty()) {
            if (!json_content(req, res)) return;
            json::Value body;
            if (!parse_body(req, &body, res)) return;
            for (const auto& [k, v] : body.members()) {
                if (k != "broker" || !v.is_string() || v.text().empty()) {
                    Error e = Error::make(ErrorCode::ValidationFailed, "invalid request body");
                    e.errors.push_back({k, k == "broker" ? "must be a broker instance name"
                                                         : "is not a known field"});
                    return problem(res, e, req);
                }
                broker = v.text();
            }
        }
        if (!deps.reconciler)
            return problem(res, ErrorCode::Conflict,
                           "reconciliation is disabled in the configuration "
                           "(reconciliation.enabled: false)",
                           req);
        if (!broker.empty() && !deps.reconciler->has_broker(broker))
            return problem(res, ErrorCode::NotFound, "broker '" + broker + "' not found", req);
        auto asked = deps.reconciler->request_run(broker);
        std::string body;
        json::Writer w(&body);
        w.begin_object().key("runs").begin_array();
        for (const auto& [b, id] : asked) w.begin_object().field("id", id).field("broker", b).end_object();
        w.end_array().end_object();
        res.json(202, std::move(body));
    }
};

Api::Api(ApiDeps deps, ApiOptions options)
    : impl_(std::make_unique<Impl>(std::move(deps), std::move(options))) {}
Api::~Api() = default;

void Api::handle(http::Request& req, http::Response& res) { impl_->handle(req, res); }

std::vector<RouteInfo> Api::routes() const {
    std::vector<RouteInfo> out;
    for (const auto& r : impl_->routes) out.push_back({r.method, r.pattern});
    return out;
}

}  // namespace ordergate::api
