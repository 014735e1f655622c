// The auth gate: who is calling (401 with WWW-Authenticate; 503 AUTH_UNAVAILABLE when the keys
// cannot be fetched), the per-principal rate limit (429 with Retry-After) and the scope a route
// needs (403 with WWW-Authenticate error="insufficient_scope"). With auth off every caller is the
// operator principal.
#pragma once

#include <optional>
#include <string_view>

#include "api/context.hpp"

namespace ordergate::api {

// The caller of `req`, or nothing with the 401/503 problem already in `res`.
// Needs cx.deps.authenticator.
std::optional<auth::Principal> authenticate(const Context& cx, const http::Request& req,
                                            http::Response& res);

// Whether a route of this access needs a token (auth on, and health/metrics when protected).
bool needs_auth(const Context& cx, Access access);

// The rate limit and scope checks for an authenticated caller; false with the problem in `res`.
bool admit(const Context& cx, const http::Request& req, http::Response& res, Access access,
           const auth::Principal& principal);

// Authentication from a token alone (the stream's `token` query parameter, which browsers use
// because they cannot set headers on a WebSocket upgrade): as authenticate(), with the token in
// place of the Authorization header when the request has none.
std::optional<auth::Principal> authenticate_with_token(const Context& cx, const http::Request& req,
                                                       std::string_view token, http::Response& res);

}  // namespace ordergate::api
