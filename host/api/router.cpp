// The router: matches a request to its route (404, 405 with Allow), runs the auth gate for the
// routes that need it, then the route's handler (handlers.hpp).
#include <spdlog/spdlog.h>

#include <map>
#include <optional>

#include "api/api.hpp"
#include "api/auth_gate.hpp"
#include "api/handlers.hpp"

namespace ordergate::api {

namespace {

using http::Request;
using http::Response;

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
// `p` and `s` are the segments of the pattern and of the path (segments(), split once each).
Match match(const std::vector<std::string_view>& p, const std::vector<std::string_view>& s,
            std::string_view path, std::map<std::string, std::string>* params) {
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

// The `token` query parameter ("" when absent or malformed; the handler checks the query).
std::string query_token(const Request& req) {
    std::vector<std::pair<std::string, std::string>> items;
    if (!http::parse_query(req.query, &items)) return "";
    for (const auto& [k, v] : items)
        if (k == "token") return v;
    return "";
}

}  // namespace

struct Api::Impl {
    struct Route {
        const char* method;
        const char* pattern;  // "/api/v1/orders/{id}"
        Access access;
        handlers::Handler handler;
        // The token may come as a `token` query parameter (browsers cannot set headers on a
        // WebSocket upgrade).
        bool token_in_query = false;
        std::vector<std::string_view> pattern_segments{};  // of the pattern, split once (constructor)
    };
    Context cx;
    std::vector<Route> routes;
    auth::Principal operator_principal = auth::Authenticator::operator_principal();

    Impl(ApiDeps d, ApiOptions o) : cx{std::move(d), std::move(o)} {
        using namespace handlers;
        routes = {
            {"GET", "/health", Access::Health, &health},
            {"GET", "/health/ready", Access::Health, &ready},
            {"GET", "/metrics", Access::Metrics, &metrics},
            {"GET", "/openapi.json", Access::Public, &openapi},
            {"GET", "/docs", Access::Public, &docs},
            {"GET", "/docs/{file}", Access::Public, &docs_file},
            {"POST", "/api/v1/orders", Access::Write, &place},
            {"GET", "/api/v1/orders", Access::Read, &list_orders},
            {"DELETE", "/api/v1/orders", Access::Write, &cancel_all},
            {"GET", "/api/v1/orders/{id}", Access::Read, &get_order},
            {"PUT", "/api/v1/orders/{id}", Access::Write, &modify},
            {"DELETE", "/api/v1/orders/{id}", Access::Write, &cancel},
            {"GET", "/api/v1/orders/{id}/events", Access::Read, &events},
            {"POST", "/api/v1/gtt", Access::Write, &create_gtt},
            {"GET", "/api/v1/gtt", Access::Read, &list_gtts},
            {"GET", "/api/v1/gtt/{id}", Access::Read, &get_gtt},
            {"PUT", "/api/v1/gtt/{id}", Access::Write, &modify_gtt},
            {"DELETE", "/api/v1/gtt/{id}", Access::Write, &delete_gtt},
            {"GET", "/api/v1/events", Access::Read, &account_events},
            {"GET", "/api/v1/stream", Access::Read, &stream, true},
            {"GET", "/api/v1/positions", Access::Read, &positions},
            {"GET", "/api/v1/trades", Access::Read, &trades},
            {"GET", "/api/v1/accounts", Access::Read, &accounts},
            {"GET", "/api/v1/accounts/{id}", Access::Read, &account},
            {"GET", "/api/v1/quote", Access::Read, &quote},
            {"GET", "/api/v1/plugins", Access::Operator, &plugins},
            {"GET", "/api/v1/reconciliation", Access::Operator, &reconciliation_runs},
            {"POST", "/api/v1/reconciliation/run", Access::Operator, &reconciliation_run},
        };
        for (auto& r : routes) r.pattern_segments = segments(r.pattern);
    }

    void handle(Request& req, Response& res) {
        const Route* found = nullptr;
        std::string allow;
        bool bad_escape = false;
        const std::vector<std::string_view> path_segments = segments(req.path);
        for (const auto& r : routes) {
            std::map<std::string, std::string> params;
            const Match m = match(r.pattern_segments, path_segments, req.path, &params);
            if (m == Match::BadEscape) bad_escape = true;
            if (m != Match::Yes) continue;
            if (req.method == r.method ||
                (req.method == "HEAD" && std::string_view(r.method) == "GET")) {
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
            if (api_path && cx.deps.authenticator && !authenticate(cx, req, res)) return;
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
        if (needs_auth(cx, found->access)) {
            authed = found->token_in_query ? authenticate_with_token(cx, req, query_token(req), res)
                                           : authenticate(cx, req, res);
            if (!authed) return;
            principal = &*authed;
            if (!admit(cx, req, res, found->access, *principal)) return;
        }
        found->handler(cx, req, res, *principal);
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
