// The handlers of every route, one file per resource: orders_handlers.cpp (/api/v1/orders),
// account_handlers.cpp (positions, trades, accounts), events_handlers.cpp (the account event
// log), stream_handlers.cpp (the WebSocket upgrade), operations_handlers.cpp (health, metrics,
// documents, plugins, reconciliation). The router (router.cpp) has already matched the route and
// passed the auth gate; a write handler goes through the idempotency gate itself.
#pragma once

#include "api/context.hpp"

namespace ordergate::api::handlers {

using Handler = void (*)(const Context&, http::Request&, http::Response&, const auth::Principal&);

#define OG_API_HANDLER(name)                                              \
    void name(const Context& cx, http::Request& req, http::Response& res, \
              const auth::Principal& who)

// orders
OG_API_HANDLER(place);
OG_API_HANDLER(list_orders);
OG_API_HANDLER(get_order);
OG_API_HANDLER(modify);
OG_API_HANDLER(cancel);
OG_API_HANDLER(cancel_all);
OG_API_HANDLER(events);
// GTT
OG_API_HANDLER(create_gtt);
OG_API_HANDLER(list_gtts);
OG_API_HANDLER(get_gtt);
OG_API_HANDLER(modify_gtt);
OG_API_HANDLER(delete_gtt);
// the account event log
OG_API_HANDLER(account_events);
OG_API_HANDLER(stream);
// account state
OG_API_HANDLER(positions);
OG_API_HANDLER(trades);
OG_API_HANDLER(accounts);
OG_API_HANDLER(account);
OG_API_HANDLER(quote);
// operations
OG_API_HANDLER(health);
OG_API_HANDLER(ready);
OG_API_HANDLER(metrics);
OG_API_HANDLER(openapi);
OG_API_HANDLER(docs);
OG_API_HANDLER(docs_file);
OG_API_HANDLER(plugins);
OG_API_HANDLER(reconciliation_runs);
OG_API_HANDLER(reconciliation_run);

#undef OG_API_HANDLER

}  // namespace ordergate::api::handlers
