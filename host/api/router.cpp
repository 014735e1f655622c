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

bool match(std::string_view pattern, std::string_view path,
           std::map<std::string, std::string>* params) {
    auto p = segments(pattern), s = segments(path);
    if (p.size() != s.size()) return false;
    if (!path.empty() && path.back() == '/' && path.size() > 1) return false;
    std::map<std::string, std::string> got;
    for (size_t i = 0; i < p.size(); ++i) {
        if (p[i].size() > 2 && p[i].front() == '{' && p[i].back() == '}') {
            // Percent-decoding only: '+' is a space in query strings, itself in a path.
            bool ok = true;
            std::string value;
            for (size_t k = 0; k < s[i].size(); ++k) {
                if (s[i][k] == '%') {
                    std::string one = http::url_decode(s[i].substr(k, 3), &ok);
                    if (!ok) return false;
                    value += one;
                    k += 2;
                } else {
                    value.push_back(s[i][k]);
                }
            }
            if (!ok || value.empty()) return false;
            got[std::string(p[i].substr(1, p[i].size() - 2))] = std::move(value);
        } else if (p[i] != s[i]) {
            return false;
        }
    }
    *params = std::move(got);
    return true;
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
            {"POST", "/api/v1/orders", Access::Write, &place},
            {"GET", "/api/v1/orders", Access::Read, &list_orders},
            {"DELETE", "/api/v1/orders", Access::Write, &cancel_all},
            {"GET", "/api/v1/orders/{id}", Access::Read, &get_order},
            {"PUT", "/api/v1/orders/{id}", Access::Write, &modify},
            {"DELETE", "/api/v1/orders/{id}", Access::Write, &cancel},
            {"GET", "/api/v1/orders/{id}/events", Access::Read, &events},
            {"GET", "/api/v1/events", Access::Read, &account_events},
            {"GET", "/api/v1/stream", Access::Read, &stream, true},
            {"GET", "/api/v1/positions", Access::Read, &positions},
            {"GET", "/api/v1/trades", Access::Read, &trades},
            {"GET", "/api/v1/accounts", Access::Read, &accounts},
            {"GET", "/api/v1/accounts/{id}", Access::Read, &account},
            {"GET", "/api/v1/plugins", Access::Operator, &plugins},
            {"GET", "/api/v1/reconciliation", Access::Operator, &reconciliation_runs},
            {"POST", "/api/v1/reconciliation/run", Access::Operator, &reconciliation_run},
        };
    }

    void handle(Request& req, Response& res) {
        const Route* found = nullptr;
        std::string allow;
        for (const auto& r : routes) {
            std::map<std::string, std::string> params;
            if (!match(r.pattern, req.path, &params)) continue;
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
            if (!allow.empty()) {
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

}  // namespace ordergate::api
