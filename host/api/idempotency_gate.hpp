// The idempotency gate: every write under /api/v1 runs through idempotent() (API.md
// "Idempotency"): replay of a completed key, 409 while in flight, 422 for a reused key, 400 for a
// malformed or missing one, 503 IDEMPOTENCY_UNAVAILABLE when the required store is down (the
// broker is then never called).
#pragma once

#include <functional>
#include <string>

#include "api/context.hpp"
#include "orders/order_service.hpp"

namespace ordergate::api {

// Runs `run` under the request's Idempotency-Key (when given). `canonical` is the canonical
// form of the request body. `run` sets its bool when the broker was called (Error's
// broker_called): only a request that provably never reached the broker gives its key back.
void idempotent(const Context& cx, http::Request& req, http::Response& res,
                const auth::Principal& who, const std::string& canonical,
                const std::function<void(http::Response&, bool&)>& run);

// The same for a write whose first storage write can carry the key's claim (a place and its
// intent): when the store folds claims (IdempotencyStore::folds_claims), the key is only read
// here and `run` gets the claim to write with that first write; otherwise `run` gets null and
// the key is claimed here, as idempotent() does. `run` must write the claim before anything
// reaches the broker, or not at all.
void idempotent_folded(
    const Context& cx, http::Request& req, http::Response& res, const auth::Principal& who,
    const std::string& canonical,
    const std::function<void(http::Response&, bool&, orders::KeyClaim*)>& run);

}  // namespace ordergate::api
