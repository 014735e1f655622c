// GET /api/v1/stream: the WebSocket upgrade (API.md "Streaming"). The router has authenticated
// the caller (the Authorization header, or the `token` query parameter); the hub does the rest.
#include "api/handlers.hpp"
#include "stream/stream_hub.hpp"

namespace ordergate::api::handlers {

using http::Request;
using http::Response;

void stream(const Context& cx, Request& req, Response& res, const auth::Principal& who) {
    Query q;
    if (!parse_query(req, {"token"}, &q, res)) return;
    if (!cx.deps.stream)
        return problem(res, ErrorCode::EventLogUnsupported,
                       "this gateway keeps no event log, so it has no stream: " +
                           cx.deps.event_log_absent_reason,
                       req);
    if (!cx.deps.stream->has_room()) {
        Error e = Error::make(ErrorCode::RateLimited, "too many stream clients; retry later");
        e.retry_after_seconds = 5;
        return problem(res, e, req);
    }
    stream::ClientScope scope;
    scope.all = who.all_accounts;
    scope.accounts = who.accounts;
    stream::StreamHub* hub = cx.deps.stream;
    res.status = 101;
    res.body.clear();
    res.content_type.clear();
    res.upgrade = [hub, scope = std::move(scope),
                   rid = req.request_id](std::unique_ptr<http::WebSocketSession> s) mutable {
        hub->accept(std::move(s), std::move(scope), std::move(rid));
    };
}

}  // namespace ordergate::api::handlers
