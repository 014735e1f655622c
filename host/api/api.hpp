// ordergate::api::Api — the REST API of API.md on top of the order service.
//
// One dispatcher for every request the HTTP server receives. In order: route match (404, 405
// with Allow), authentication for /api/v1 (401 with WWW-Authenticate; 503 AUTH_UNAVAILABLE when
// the keys cannot be fetched), per-principal rate limit (429 with Retry-After), scope (403 with
// WWW-Authenticate error="insufficient_scope"), then the handler. Writes under /api/v1 go
// through idempotency (Idempotency-Key: replay, 409 in flight, 422 reused, 400 malformed; 503
// IDEMPOTENCY_UNAVAILABLE when the store is down and required). HTTP concerns only: business
// rules are the order service's.
//
// Layout: router.cpp (routes, dispatch), auth_gate.* and idempotency_gate.* (the two gates),
// handlers.hpp with one file of handlers per resource, context.hpp (what handlers share).
//
// Threads: handle() is called concurrently by the server's threads; the Api holds no mutable
// state of its own.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "http/http.hpp"

namespace ordergate::auth {
class Authenticator;
class RateLimiter;
}  // namespace ordergate::auth
namespace ordergate::idempotency {
class IdempotencyStore;
}
namespace ordergate::metrics {
class Metrics;
}
namespace ordergate::orders {
class OrderService;
}
namespace ordergate::gtt {
class GttService;
}
namespace ordergate::reconcile {
class Reconciler;
}
namespace ordergate::positions {
class PositionBook;
}
namespace ordergate::stream {
class EventLog;
class StreamHub;
}

namespace ordergate::api {

struct ReadinessCheck {
    std::string component;  // "storage", "idempotency", "broker:paper", …
    bool ok = false;
    std::string detail;     // why it is down (no secrets)
};

struct ApiOptions {
    bool idempotency_required = true;  // store down -> 503 (fail-closed); false -> proceed, warn
    bool require_idempotency_key = false;
    bool protect_health = false;
    bool protect_metrics = false;
    std::string version;
    // The Swagger UI files /docs loads (swagger-ui-bundle.js, swagger-ui.css, ...), served as
    // /docs/<file>. Empty or without those files: /docs answers 503 DOCS_UNAVAILABLE naming it.
    std::string docs_dir;
};

// One route of the dispatcher's table: "GET", "/api/v1/orders/{id}".
struct RouteInfo {
    std::string method;
    std::string pattern;
};

struct ApiDeps {
    orders::OrderService* orders = nullptr;
    positions::PositionBook* positions = nullptr;
    idempotency::IdempotencyStore* idempotency = nullptr;
    auth::Authenticator* authenticator = nullptr;  // null: auth off
    auth::RateLimiter* rate_limiter = nullptr;     // null: no per-principal limit
    metrics::Metrics* metrics = nullptr;
    // Readiness of every dependency (called by /health/ready).
    std::function<std::vector<ReadinessCheck>()> readiness;
    // GET /api/v1/plugins items, each a JSON object.
    std::function<std::vector<std::string>()> plugins;
    // GET /api/v1/reconciliation, POST /api/v1/reconciliation/run (null: reconciliation off).
    reconcile::Reconciler* reconciler = nullptr;
    // /api/v1/gtt (null: GTT off, its routes answer 404).
    gtt::GttService* gtt = nullptr;
    // GET /api/v1/events (null: the storage plugin keeps no event log; the route answers 501
    // EVENT_LOG_UNSUPPORTED).
    stream::EventLog* event_log = nullptr;
    // GET /api/v1/stream (null: no stream).
    stream::StreamHub* stream = nullptr;
    // Why there is no event log (for the problem detail), when event_log is null.
    std::string event_log_absent_reason;
};

class Api {
public:
    Api(ApiDeps deps, ApiOptions options);
    ~Api();
    void handle(http::Request& req, http::Response& res);
    // Every route handle() serves, in table order (HEAD is served wherever GET is); the tests
    // compare it with openapi.json.
    std::vector<RouteInfo> routes() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The documents served at /openapi.json and /docs (embedded at build time from
// host/api/openapi.json and host/api/docs/index.html; the page loads Swagger UI from docs_dir).
const std::string& openapi_document();
const std::string& docs_page();

}  // namespace ordergate::api
