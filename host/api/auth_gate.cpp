#include "api/auth_gate.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "auth/rate_limiter.hpp"
#include "metrics/metrics.hpp"

namespace ordergate::api {

using http::Request;
using http::Response;

namespace {

// The answer to an authentication result: the principal, or the 401/503 problem in `res`.
std::optional<auth::Principal> answer(const Context& cx, auth::AuthResult r, const Request& req,
                                      Response& res) {
    if (r.ok()) {
        if (cx.deps.metrics) cx.deps.metrics->auth_result("ok");
        return std::move(r.principal);
    }
    if (r.failure == auth::Failure::Unavailable) {
        spdlog::error("event=auth_unavailable request_id={} reason=\"{}\"", req.request_id,
                      r.reason);
        if (cx.deps.metrics) cx.deps.metrics->auth_result("unavailable");
        Error e = Error::make(ErrorCode::AuthUnavailable,
                              "the keys to verify tokens cannot be fetched right now");
        e.retry_after_seconds = 5;
        problem(res, e, req);
        return std::nullopt;
    }
    const bool missing = r.failure == auth::Failure::MissingCredentials;
    spdlog::info("event=auth_refused request_id={} route={} reason=\"{}\"", req.request_id,
                 req.route, r.reason);
    if (cx.deps.metrics) cx.deps.metrics->auth_result(missing ? "missing" : "invalid");
    problem(res, ErrorCode::Unauthenticated,
            missing ? "a bearer token is required" : "the credentials were refused: " + r.reason,
            req);
    res.set_header("WWW-Authenticate", auth::www_authenticate(r.failure));
    return std::nullopt;
}
}  // namespace

std::optional<auth::Principal> authenticate(const Context& cx, const Request& req, Response& res) {
    return answer(
        cx,
        cx.deps.authenticator->authenticate(req.header("authorization"), req.header("x-api-key")),
        req, res);
}

std::optional<auth::Principal> authenticate_with_token(const Context& cx, const Request& req,
                                                       std::string_view token, Response& res) {
    if (!req.has_header("authorization") && !token.empty()) {
        const std::string bearer = "Bearer " + std::string(token);
        return answer(cx, cx.deps.authenticator->authenticate(bearer, req.header("x-api-key")), req,
                      res);
    }
    return authenticate(cx, req, res);
}

bool needs_auth(const Context& cx, Access access) {
    return cx.deps.authenticator &&
           (access == Access::Read || access == Access::Write || access == Access::Operator ||
            (access == Access::Health && cx.options.protect_health) ||
            (access == Access::Metrics && cx.options.protect_metrics));
}

bool admit(const Context& cx, const Request& req, Response& res, Access access,
           const auth::Principal& principal) {
    // The rate limit comes first: refusals (403) count against the caller's rate too.
    if (cx.deps.rate_limiter && cx.deps.rate_limiter->enabled()) {
        std::chrono::seconds retry{1};
        if (!cx.deps.rate_limiter->try_acquire(principal.key(), &retry)) {
            spdlog::debug("event=rate_limited request_id={} route={} retry_after_s={}",
                          req.request_id, req.route, retry.count());
            if (cx.deps.metrics) cx.deps.metrics->auth_result("rate_limited");
            Error e = Error::make(ErrorCode::RateLimited, "too many requests; retry after " +
                                                              std::to_string(retry.count()) + " s");
            e.retry_after_seconds = static_cast<int>(std::max<int64_t>(1, retry.count()));
            problem(res, e, req);
            return false;
        }
    }
    std::string_view scope;
    switch (access) {
        case Access::Read:
            scope = auth::kScopeOrdersRead;
            break;
        case Access::Write:
            scope = auth::kScopeOrdersWrite;
            break;
        case Access::Operator:
        case Access::Health:
        case Access::Metrics:
            scope = auth::kScopeOperator;
            break;
        case Access::Public:
            break;
    }
    if (!scope.empty() && !principal.has_scope(scope)) {
        spdlog::info(
            "event=auth_forbidden request_id={} route={} method={} "
            "reason=\"scope_missing:{}\"",
            req.request_id, req.route, req.method, scope);
        if (cx.deps.metrics) cx.deps.metrics->auth_result("insufficient_scope");
        problem(res, ErrorCode::InsufficientScope,
                "this operation needs the scope '" + std::string(scope) + "'", req);
        res.set_header("WWW-Authenticate", auth::www_authenticate_insufficient_scope(scope));
        return false;
    }
    return true;
}

}  // namespace ordergate::api
