/*
 * ordergate plugin ABI — the stable C boundary between the ordergate host and its plugins.
 *
 * Rules that keep a plugin built today loading in every later host of the same major version:
 *  - Only plain C crosses the boundary: fixed-width integers, {data,size} strings, exact decimals
 *    as {mantissa, scale}, enums as int32_t, and function tables whose first field is their size.
 *  - No C++ type, exception or allocation crosses it. Results come back through caller-provided
 *    sinks (called synchronously, before the function returns) or caller-owned buffers.
 *  - Tables and records are append-only: a new minor version adds fields and functions at the end
 *    and never reorders, removes or changes one. A reader checks `size` before reading a field
 *    that a newer minor added (OG_HAS_FIELD).
 *  - A different major version is a different ABI: the host refuses such a plugin.
 *
 * Strings: an og_str is not NUL-terminated and is only valid for the duration of the call that
 * passes it (copy what you keep). An absent string is {NULL, 0}; an empty one may be either.
 *
 * Threads: the host may call any table function of one plugin instance from several threads at
 * once; a plugin either supports that or serialises internally. The event sink may be called by
 * the plugin from any thread, concurrently, until `stop` has returned.
 */
#ifndef ORDERGATE_PLUGIN_ABI_H
#define ORDERGATE_PLUGIN_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- versions -------------------------------------------------------------------------------- */

#define OG_ABI_MAJOR 1 /* bumped only for an incompatible change; the host refuses other majors */
#define OG_ABI_MINOR 7 /* bumped when fields or functions are appended (1.1: broker ping;
                        * 1.2: storage idempotency records; 1.3: paginated broker reports,
                        * order report details, storage leases; 1.4: asynchronous outcomes
                        * (OG_PENDING), request ids of modify/cancel chains, arrays whose
                        * elements can grow, the per-account event log; 1.5: native GTT
                        * calls, fill kinds (busts and corrections); 1.6: events applied in
                        * batches (OG_CAP_BATCHED_EVENTS, event sink `sync`); 1.7: idempotency
                        * records in write batches and idempotency_get: see the blocks marked
                        * "appended in ABI 1.5", "1.6" and "1.7") */

/* The name under which a plugin exports its entry (Boost.DLL alias; see sdk.hpp's macro). */
#define OG_PLUGIN_ENTRY_NAME "ordergate_plugin_entry"

/* True when a struct whose first member is `uint32_t size` is large enough to hold `field`. */
#define OG_HAS_FIELD(ptr, type, field) \
    ((ptr)->size >= (uint32_t)(offsetof(type, field) + sizeof(((type*)0)->field)))

/* ---- basic types ----------------------------------------------------------------------------- */

typedef struct og_str {
    const char* data;
    size_t size;
} og_str;

/* An exact decimal: value = mantissa * 10^-scale, 0 <= scale <= 18. */
typedef struct og_decimal {
    int64_t mantissa;
    int32_t scale;
} og_decimal;

/* An optional decimal (e.g. the price of a MARKET order). */
typedef struct og_opt_decimal {
    og_decimal value;
    int32_t has_value; /* 0 = null */
} og_opt_decimal;

/* A configuration entry. Nested YAML keys are flattened with '.', list items with '.N'. */
/* og_kv and og_instrument carry no size of their own: arrays of them cross the boundary in
 * ABI 1.4's functions (create_v2, subscribe_prices_v2) with an explicit element size, so that a
 * later minor may append fields to them. */
typedef struct og_kv {
    og_str key;
    og_str value;
} og_kv;

/* A caller-owned buffer for an error message. The callee writes at most `capacity` bytes (no NUL
 * needed) and sets `length` to what it wrote. A NULL buffer means "no message wanted". */
typedef struct og_error {
    char* buffer;
    size_t capacity;
    size_t length;
    /* ---- appended in ABI 1.4 (og_error has no size: a plugin writes it only when the host's
     * og_host_services.host_abi_minor >= 4, and the host reads it only from a plugin declaring
     * minor >= 4) ----
     * With OG_RATE_LIMITED or OG_UNAVAILABLE: how long the venue asks to wait before trying
     * again, in ms; 0 when it does not say. The host starts it at 0. */
    int64_t retry_after_ms;
} og_error;

/* ---- status codes ---------------------------------------------------------------------------- */

typedef int32_t og_status;
enum {
    OG_OK = 0,
    OG_REJECTED = 1,         /* the venue refused the request: final, do not retry */
    OG_INVALID_ARGUMENT = 2, /* the request is malformed for this plugin: nothing was sent */
    OG_NOT_FOUND = 3,        /* the venue or store answered that the thing does not exist */
    OG_UNAVAILABLE = 4,      /* not connected / store down: nothing was sent or written */
    OG_TIMEOUT = 5,          /* no answer in time BEFORE anything was sent: safe to retry */
    OG_UNKNOWN_OUTCOME = 6,  /* sent, answer lost: the order may exist; look it up, never resend */
    OG_INTERNAL = 7,         /* a bug or unexpected state in the plugin */
    OG_CONFLICT = 8,         /* storage: unique key or version check failed; nothing written */
    OG_UNSUPPORTED = 9,      /* the plugin lacks this capability */
    OG_RATE_LIMITED = 10,    /* the venue throttled the request: nothing executed, wait */
    /* ---- appended in ABI 1.4 ---- */
    /* place/modify/cancel only: the request was sent and the venue has not acknowledged it
     * yet. The acknowledgement (or the reject) arrives later through the event sink, as an
     * on_order_update naming the order's client order id (and, for modify/cancel, the request
     * id it answers). No report is due through the result sink. The host never resends: it
     * waits for the event up to its deadline, then leaves the order pending for
     * reconciliation. Only a plugin declaring ABI minor >= 4 may return it; from an older
     * plugin it is a plugin bug (the host reads it as OG_INTERNAL). */
    OG_PENDING = 11
};
#define OG_STATUS_MAX 11

/* ---- enums (int32_t on the wire; 0 is never a valid value, so zeroed memory is detectable) ---- */

typedef int32_t og_kind;
enum { OG_KIND_BROKER = 1, OG_KIND_STORAGE = 2 };

typedef int32_t og_side;
enum { OG_SIDE_BUY = 1, OG_SIDE_SELL = 2 };

typedef int32_t og_order_type;
enum { OG_TYPE_MARKET = 1, OG_TYPE_LIMIT = 2, OG_TYPE_STOP = 3, OG_TYPE_STOP_LIMIT = 4 };

typedef int32_t og_tif;
enum { OG_TIF_DAY = 1, OG_TIF_GTC = 2, OG_TIF_IOC = 3, OG_TIF_FOK = 4 };

typedef int32_t og_order_status;
enum {
    OG_ORDER_PENDING_NEW = 1,
    OG_ORDER_OPEN = 2,
    OG_ORDER_PARTIALLY_FILLED = 3,
    OG_ORDER_FILLED = 4,
    OG_ORDER_PENDING_REPLACE = 5,
    OG_ORDER_PENDING_CANCEL = 6,
    OG_ORDER_CANCELLED = 7,
    OG_ORDER_REJECTED = 8,
    OG_ORDER_EXPIRED = 9
};

/* What an og_fill / og_fill_record is (appended in ABI 1.5; a 1.0-1.4 record has no kind and is a
 * trade). A bust or correction names the execution it acts on by its broker_trade_id
 * (ref_trade_id) and has its own broker_trade_id (the venue's id of the bust/correction itself),
 * by which it is de-duplicated like every fill. */
typedef int32_t og_fill_kind;
enum {
    OG_FILL_TRADE = 0,      /* an execution */
    OG_FILL_BUST = 1,       /* the venue cancels the execution ref_trade_id: it never happened */
    OG_FILL_CORRECTION = 2  /* the venue corrects the execution ref_trade_id: this record carries
                             * its corrected quantity and price (and fee), which replace the
                             * referenced execution's (or its latest correction's) */
};

typedef int32_t og_log_level;
enum { OG_LOG_DEBUG = 1, OG_LOG_INFO = 2, OG_LOG_WARN = 3, OG_LOG_ERROR = 4 };

/* ---- capability flags (a broker's manifest; the host never assumes what is not declared) ------ */

#define OG_CAP_ORDER_MARKET (1ull << 0)
#define OG_CAP_ORDER_LIMIT (1ull << 1)
#define OG_CAP_ORDER_STOP (1ull << 2)
#define OG_CAP_ORDER_STOP_LIMIT (1ull << 3)
#define OG_CAP_TIF_DAY (1ull << 4)
#define OG_CAP_TIF_GTC (1ull << 5)
#define OG_CAP_TIF_IOC (1ull << 6)
#define OG_CAP_TIF_FOK (1ull << 7)
#define OG_CAP_MODIFY (1ull << 8)          /* native modify */
#define OG_CAP_MODIFY_QUANTITY (1ull << 9) /* what a native modify can change */
#define OG_CAP_MODIFY_PRICE (1ull << 10)
#define OG_CAP_MODIFY_TRIGGER (1ull << 11)
#define OG_CAP_MODIFY_ORDER_TYPE (1ull << 12)
#define OG_CAP_MODIFY_TIF (1ull << 13)
#define OG_CAP_CANCEL_ALL (1ull << 14)         /* native cancel_all */
#define OG_CAP_QUERY_BY_CLIENT_ID (1ull << 15) /* venue keeps the client order id, unique, queryable */
#define OG_CAP_REPORT_OPEN_ORDERS (1ull << 16) /* reports for reconciliation */
#define OG_CAP_REPORT_RECENT_ORDERS (1ull << 17)
#define OG_CAP_REPORT_FILLS (1ull << 18)
#define OG_CAP_REPORT_POSITIONS (1ull << 19)
#define OG_CAP_REPORT_ACCOUNT (1ull << 20)
#define OG_CAP_QUOTES (1ull << 21)             /* get_quote */
#define OG_CAP_PRICE_SUBSCRIPTION (1ull << 22) /* subscribe_prices + sink.on_quote */
#define OG_CAP_NATIVE_GTT (1ull << 23)
#define OG_CAP_PARTIAL_FILLS (1ull << 24)
#define OG_CAP_PUSH_EVENTS (1ull << 25) /* pushes order updates and fills through the sink */
/* ABI 1.6. Without it, a pushed order update or fill is stored (and applied) when the sink call
 * returns: a plugin may then count it as received (a FIX session persists its sequence number).
 * With it, the sink call only queues the event: the host applies queued events in batches, many
 * per storage commit, in the order each instance pushed them, and the plugin learns what is
 * stored through the sink's `sync`. Declare it when the venue keeps what it pushed (it is read
 * again by reconciliation or resent after a restart), or when the plugin calls `sync` before
 * counting an event as received. A host older than 1.6 ignores the flag and stores each event
 * before the call returns, as before. */
#define OG_CAP_BATCHED_EVENTS (1ull << 26)
/* SDK 1.6.1 (no change to the ABI's tables or records). With OG_CAP_MODIFY, the instance carries a
 * modify out at the venue as a cancel of the working order and a new order for the rest (the venue
 * has no replace): the host says so to clients (the modify's order events are marked emulated).
 * The plugin keeps presenting one order (its first broker order id, the chain's cumulative
 * quantities) and answers the modify's request id when the new order is acknowledged, or with a
 * CANCELLED order when the cancel left nothing to place. A host before 1.6.1 ignores the flag. */
#define OG_CAP_MODIFY_EMULATED (1ull << 27)
/* SDK 1.7.1 (no change to the ABI's tables or records). Every call of the instance returns
 * promptly: it waits on memory, its own short-held locks and local files only, never on a
 * network peer, a timer or an injected delay. The host may then make the call on the caller's
 * own thread instead of handing it to one of the instance's call threads and waiting for it: one
 * thread hand-off fewer per call, but no deadline enforced from outside the plugin (a call that
 * blocks anyway holds its caller, an HTTP request's thread, for as long as it blocks, and the
 * host logs it when it returns after its deadline). Never declare it for an instance that talks
 * to a venue over a network. Event sink calls made during such a call run on the caller's thread
 * too. A host before 1.7.1 ignores the flag. */
#define OG_CAP_INLINE_CALLS (1ull << 28)

/* ---- records ----------------------------------------------------------------------------------
 * Times are Unix epoch nanoseconds (UTC). Records begin with their size so they can grow. */

/* An order as the host asks a broker to place it. */
typedef struct og_order_request {
    uint32_t size;
    og_str client_order_id; /* unique per account; the broker should send it to the venue */
    og_str account_id;
    og_str symbol;
    og_str exchange;
    og_side side;
    og_order_type order_type;
    og_tif time_in_force;
    og_decimal quantity;
    og_opt_decimal price;
    og_opt_decimal trigger_price;
    og_str product;
    og_str tag;
    og_str extra_json; /* the client's `extra` object, JSON text, passed through untouched */
} og_order_request;

/* A modification: only the fields with has_* set change. */
typedef struct og_modify_request {
    uint32_t size;
    og_str broker_order_id;
    og_str client_order_id;
    og_str account_id;
    int32_t has_quantity;
    og_decimal quantity;
    og_opt_decimal price; /* has_value=0: unchanged */
    og_opt_decimal trigger_price;
    og_order_type order_type;  /* 0: unchanged */
    og_tif time_in_force;      /* 0: unchanged */
    /* ---- appended in ABI 1.4 (read only when OG_HAS_FIELD says the request holds them) ----
     * The host gives every modify its own client request id (FIX ClOrdID of the replace) and
     * the id of the order's last request the venue accepted (FIX OrigClOrdID: the order's
     * client_order_id until a modify was confirmed). Reports answering this request should
     * name request_id in og_order_report.request_id. */
    og_str request_id;
    og_str orig_request_id;
} og_modify_request;

/* A cancel (ABI 1.4, cancel_order_v2): the order, its new client request id and the last
 * accepted id of its chain, as for og_modify_request. */
typedef struct og_cancel_request {
    uint32_t size;
    og_str account_id;
    og_str broker_order_id;
    og_str client_order_id;
    og_str request_id;
    og_str orig_request_id;
} og_cancel_request;

/* What a broker knows about one order: the answer to place/modify/cancel/status, and the payload
 * of a pushed order update. */
typedef struct og_order_report {
    uint32_t size;
    og_str broker_order_id;
    og_str client_order_id;
    og_str account_id;
    og_str symbol;
    og_str exchange;
    og_side side;
    og_order_type order_type;
    og_tif time_in_force;
    og_order_status status;
    og_decimal quantity;
    og_decimal filled_quantity;
    og_opt_decimal price;
    og_opt_decimal trigger_price;
    og_opt_decimal average_fill_price;
    og_str reject_reason;
    int64_t updated_at_ns;
    /* ---- appended in ABI 1.3 (a 1.0-1.2 plugin's report ends before this: read them only when
     * OG_HAS_FIELD says the report holds them; absent means "not reported") ---- */
    /* What is still working at the venue: quantity - filled_quantity while the order is live,
     * 0 once it is terminal (FILLED, CANCELLED, REJECTED, EXPIRED). has_value = 0: the venue does
     * not say. */
    og_opt_decimal leaves_quantity;
    /* The venue's id of the event that produced this report (e.g. the execution id of the trade
     * that changed the order); empty when the venue gives none. */
    og_str exec_id;
    /* Why the venue refused the latest cancel or modify of this order (e.g. "too late to
     * cancel"); empty when none was refused. The order itself is unchanged by that refusal. */
    og_str cancel_reject_reason;
    /* ---- appended in ABI 1.4 ----
     * The client request id (og_modify_request / og_cancel_request .request_id, or the
     * order's client_order_id for the order itself) this report answers; empty for a report
     * that answers no request (a pushed status change, a fill's update). The host finds the
     * order by any id of its chain, also after a restart, so client_order_id may hold the
     * venue's ClOrdID (a request id) as well. */
    og_str request_id;
} og_order_report;

/* One execution. broker_trade_id is unique per broker instance and is how fills are de-duplicated. */
typedef struct og_fill {
    uint32_t size;
    og_str broker_trade_id;
    og_str broker_order_id;
    og_str client_order_id;
    og_str account_id;
    og_str symbol;
    og_str exchange;
    og_side side;
    og_decimal quantity;
    og_decimal price;
    og_decimal fee;
    int64_t executed_at_ns;
    /* ---- appended in ABI 1.5 (a 1.0-1.4 plugin's fill ends before these: read them only when
     * OG_HAS_FIELD says the fill holds them; absent means OG_FILL_TRADE) ----
     * A bust carries the busted execution's order ids, account, symbol and side; its quantity
     * and price are informative (the host takes back what it applied for ref_trade_id). A
     * correction carries the corrected quantity, price and fee of the whole execution (not a
     * difference). A venue that reports the order's new state with the bust/correction (FIX: an
     * ExecutionReport with OrdStatus/CumQty) also sends that as an og_order_report. */
    og_fill_kind kind;
    og_str ref_trade_id; /* kind != OG_FILL_TRADE: the broker_trade_id it busts/corrects */
} og_fill;

typedef struct og_position {
    uint32_t size;
    og_str account_id;
    og_str symbol;
    og_str exchange;
    og_decimal quantity; /* signed: short < 0 */
    og_decimal average_price;
} og_position;

typedef struct og_account {
    uint32_t size;
    og_str account_id;
    og_str currency;
    og_decimal cash;
    og_decimal buying_power;
    og_decimal equity;
    og_decimal margin_used;
    og_str status;
    int64_t updated_at_ns;
} og_account;

typedef struct og_quote {
    uint32_t size;
    og_str symbol;
    og_str exchange;
    og_decimal last;
    og_opt_decimal bid;
    og_opt_decimal ask;
    int64_t at_ns;
} og_quote;

typedef struct og_instrument {
    og_str symbol;
    og_str exchange;
} og_instrument;

/* ---- appended in ABI 1.5 (native GTT) ---------------------------------------------------------
 * A GTT (good till triggered) kept by the venue itself, for a broker instance that declares
 * OG_CAP_NATIVE_GTT (in its descriptor or through get_capabilities). The venue watches its own
 * prices, places the leg's order when a trigger is crossed (an OCO cancels its other leg), and
 * reports every status change through og_event_sink.on_gtt_update. */
typedef int32_t og_gtt_type;
enum { OG_GTT_SINGLE = 1, OG_GTT_OCO = 2 };

typedef int32_t og_gtt_status;
enum {
    OG_GTT_ACTIVE = 1,
    OG_GTT_TRIGGERED = 2, /* a leg fired: its order was placed (og_gtt_report.order_*) */
    OG_GTT_CANCELLED = 3,
    OG_GTT_EXPIRED = 4,
    OG_GTT_REJECTED = 5 /* the venue refused the GTT, or the leg's order when it fired */
};

/* One leg: fire when the last price crosses trigger_price, then place `order`. The order's
 * client_order_id is the id the host chose for the order the venue will place (the venue sends
 * it with that order, so its reports find the host's record); its account_id is the GTT's. */
typedef struct og_gtt_leg {
    uint32_t size;
    og_decimal trigger_price;
    const og_order_request* order; /* never NULL; read with its own size */
} og_gtt_leg;

/* A GTT as the host asks a broker to place, modify or cancel it. */
typedef struct og_gtt_request {
    uint32_t size;
    /* The host's id ("gtt_<ulid>"), chosen and stored before the call: the plugin sends it to
     * the venue (or keeps it beside the venue's id) so that a retried place with the same id
     * is the same GTT, never a second one. */
    og_str gtt_id;
    og_str broker_gtt_id; /* the venue's id: empty for a place; for modify/cancel when known */
    og_str account_id;
    og_str symbol;
    og_str exchange;
    og_gtt_type type;
    /* SINGLE: one leg; OCO: two. Elements are `leg_size` bytes apart (the host's
     * sizeof(og_gtt_leg)); a plugin reads the fields that leg_size covers. cancel_gtt passes
     * the legs the host knows; the plugin may ignore them. */
    const og_gtt_leg* legs;
    size_t leg_count;
    size_t leg_size;
    int64_t expires_at_ns; /* 0: none */
} og_gtt_request;

/* What a broker knows about one GTT: the answer to place/modify/cancel/get/list and the payload
 * of on_gtt_update. */
typedef struct og_gtt_report {
    uint32_t size;
    og_str gtt_id; /* the host's id, as given at place */
    og_str broker_gtt_id;
    og_str account_id;
    og_str symbol;
    og_str exchange;
    og_gtt_type type;
    og_gtt_status status;
    const og_gtt_leg* legs; /* as in og_gtt_request; may be NULL/0 when the venue does not say */
    size_t leg_count;
    size_t leg_size;
    int64_t expires_at_ns;
    /* TRIGGERED: which leg fired (0-based), and the order the venue placed for it. -1: none. */
    int32_t triggered_leg;
    og_str order_client_order_id;
    og_str broker_order_id;
    og_str reject_reason; /* REJECTED: why */
    int64_t updated_at_ns;
} og_gtt_report;
/* ---- end of the ABI 1.5 (native GTT) records ---- */

/* ---- host services (given once to the entry; valid until the library is unloaded) ------------ */

typedef struct og_host_services {
    uint32_t size;
    uint32_t host_abi_major;
    uint32_t host_abi_minor;
    void* ctx;
    /* A log line attributed to the plugin. Any thread. Never pass secrets. */
    void (*log)(void* ctx, og_log_level level, og_str message);
    /* Wall-clock time, Unix epoch ns. Tests may inject a clock here. Any thread. */
    int64_t (*now_ns)(void* ctx);
} og_host_services;

/* ---- event sink (given to a broker instance at create; valid until its `stop` returns) -------- *
 * Callable from any plugin thread, concurrently. The host copies what it needs before returning;
 * it never calls back into the plugin from inside a sink call. */
typedef struct og_event_sink {
    uint32_t size;
    void* ctx;
    void (*on_order_update)(void* ctx, const og_order_report* report);
    void (*on_fill)(void* ctx, const og_fill* fill);
    void (*on_quote)(void* ctx, const og_quote* quote);
    /* connected = 1 / 0; detail says why (no secrets). */
    void (*on_connection)(void* ctx, int32_t connected, og_str detail);
    /* ---- appended in ABI 1.5 (native GTT; a plugin checks the sink's size: OG_HAS_FIELD) ----
     * A GTT's status changed at the venue (triggered, cancelled as the other leg of an OCO,
     * expired, rejected). For a trigger, the order the venue placed is also reported through
     * on_order_update / on_fill under the leg's client_order_id; send this update first. */
    void (*on_gtt_update)(void* ctx, const og_gtt_report* report);
    /* ---- appended in ABI 1.6 (check the sink's size before calling: OG_HAS_FIELD) ----
     * Waits until every order update and fill this instance pushed before the call is stored and
     * applied, or `timeout_ms` passes. OG_OK: stored; OG_TIMEOUT: not yet (call again);
     * OG_UNAVAILABLE: the host is stopping. For an instance declaring OG_CAP_BATCHED_EVENTS
     * (without it every event is stored when its call returns, and sync answers OG_OK at once).
     * Never call it from inside another sink call. */
    og_status (*sync)(void* ctx, int64_t timeout_ms);
} og_event_sink;

/* ---- result sink (given to one call; used only before that call returns) ---------------------- *
 * Query results arrive here, one callback per item; a callback left NULL by the host means the
 * host does not want that kind of item. */
typedef struct og_result_sink {
    uint32_t size;
    void* ctx;
    void (*on_order)(void* ctx, const og_order_report* report);
    void (*on_fill)(void* ctx, const og_fill* fill);
    void (*on_position)(void* ctx, const og_position* position);
    void (*on_account)(void* ctx, const og_account* account);
    void (*on_quote)(void* ctx, const og_quote* quote);
    /* ---- appended in ABI 1.3 (check the sink's size before calling: OG_HAS_FIELD) ---- */
    /* The end of one page of list_orders_page / list_fills_page, called once, after the page's
     * items. next_cursor: where the next page starts (copied by the host), empty when there is no
     * more. complete: 1 when the venue gave everything asked for; 0 when it could not (history
     * truncated, a window it does not keep): the host must then not read an item's absence as
     * evidence that it does not exist. */
    void (*on_page)(void* ctx, og_str next_cursor, int32_t complete);
    /* ---- appended in ABI 1.5 (native GTT; check the sink's size before calling) ---- */
    void (*on_gtt)(void* ctx, const og_gtt_report* report);
} og_result_sink;

/* ---- the broker table ------------------------------------------------------------------------
 * Every function returns an og_status and, on failure, may write a message into `err`.
 * place/modify/cancel report the resulting order through `out->on_order` exactly once on OG_OK
 * (and may on OG_REJECTED, with the reject reason). `timeout_ms` is the host's deadline for the
 * whole call: when it passes before anything was sent, return OG_TIMEOUT; when it passes after the
 * request left, return OG_UNKNOWN_OUTCOME — never resend on your own. */
typedef struct og_broker_vtable {
    uint32_t size;
    /* Creates an instance from its configuration. `sink` stays valid until stop() returns. */
    og_status (*create)(const og_kv* config, size_t config_count, const og_event_sink* sink,
                        void** instance, og_error* err);
    /* Starts background work (connections, threads). Events may flow once it returns OG_OK. */
    og_status (*start)(void* instance, og_error* err);
    /* Stops every plugin thread. After it returns the plugin never calls the sink again. */
    og_status (*stop)(void* instance, og_error* err);
    /* Frees the instance. Called after stop(), with no other call in flight. */
    void (*destroy)(void* instance);

    og_status (*place_order)(void* instance, const og_order_request* request, int64_t timeout_ms,
                             const og_result_sink* out, og_error* err);
    og_status (*modify_order)(void* instance, const og_modify_request* request, int64_t timeout_ms,
                              const og_result_sink* out, og_error* err);
    og_status (*cancel_order)(void* instance, og_str account_id, og_str broker_order_id,
                              og_str client_order_id, int64_t timeout_ms,
                              const og_result_sink* out, og_error* err);
    /* Status by broker id, or (broker_order_id empty) by client order id. OG_NOT_FOUND when the
     * venue answered that it has no such order. */
    og_status (*get_order)(void* instance, og_str account_id, og_str broker_order_id,
                           og_str client_order_id, const og_result_sink* out, og_error* err);
    /* open_only = 1: every open order; 0: every order updated at or after since_ns. */
    og_status (*list_orders)(void* instance, og_str account_id, int32_t open_only, int64_t since_ns,
                             const og_result_sink* out, og_error* err);
    og_status (*list_fills)(void* instance, og_str account_id, int64_t since_ns,
                            const og_result_sink* out, og_error* err);
    og_status (*get_positions)(void* instance, og_str account_id, const og_result_sink* out,
                               og_error* err);
    og_status (*get_account)(void* instance, og_str account_id, const og_result_sink* out,
                             og_error* err);
    og_status (*get_quote)(void* instance, og_str symbol, og_str exchange,
                           const og_result_sink* out, og_error* err);
    /* Replaces the set of instruments whose prices are pushed through sink.on_quote. */
    og_status (*subscribe_prices)(void* instance, const og_instrument* instruments, size_t count,
                                  og_error* err);
    /* Native cancel of every open order of an account (OG_CAP_CANCEL_ALL); may be NULL. */
    og_status (*cancel_all)(void* instance, og_str account_id, int64_t timeout_ms,
                            const og_result_sink* out, og_error* err);

    /* ---- appended in ABI 1.1 (a 1.0 plugin's table ends before this; the host checks size) -- */
    /* Cheap liveness check of the venue connection within timeout_ms: OG_OK when connected and
     * answering, OG_UNAVAILABLE / OG_TIMEOUT otherwise, OG_UNSUPPORTED when the plugin cannot
     * tell (the host then relies on sink.on_connection). May be NULL. Any thread. */
    og_status (*ping)(void* instance, int64_t timeout_ms, og_error* err);

    /* ---- appended in ABI 1.3 (a 1.0-1.2 plugin's table ends before this; the host checks size)
     * Paginated reports, for reconciliation over histories too large for one answer. Same
     * filters and capabilities as list_orders / list_fills. Items arrive through out->on_order /
     * out->on_fill, oldest first in the venue's own order (its order or execution sequence, not
     * necessarily by time), at most `limit` of them (0: the plugin's own page size); then
     * out->on_page is called once with the next cursor and whether the venue answered fully.
     * `cursor` is empty for the first page, else a next_cursor this instance returned for the
     * same arguments; it is opaque to the host and stays valid while new orders and fills
     * arrive (they show on later pages, never shift earlier ones). A cursor the plugin cannot
     * read: OG_INVALID_ARGUMENT. A plugin that cannot page may answer every item in one page
     * with an empty next_cursor (what the SDK's default does, ignoring `limit`); only a page
     * with a next cursor must respect `limit`. Either slot may be NULL: the host then calls
     * list_orders / list_fills and treats the answer as that one page (a non-empty cursor is
     * then OG_INVALID_ARGUMENT). Any thread. */
    og_status (*list_orders_page)(void* instance, og_str account_id, int32_t open_only,
                                  int64_t since_ns, og_str cursor, uint32_t limit,
                                  const og_result_sink* out, og_error* err);
    og_status (*list_fills_page)(void* instance, og_str account_id, int64_t since_ns,
                                 og_str cursor, uint32_t limit, const og_result_sink* out,
                                 og_error* err);

    /* ---- appended in ABI 1.4 (a 1.0-1.3 plugin's table ends before this; the host checks
     * size). Every slot may be NULL: the host then uses the older function. ---- */
    /* create with a config array whose elements are `kv_size` bytes apart (the host's
     * sizeof(og_kv)); a plugin reads the fields of an element that kv_size covers. Called
     * instead of create when present. */
    og_status (*create_v2)(const og_kv* config, size_t config_count, size_t kv_size,
                           const og_event_sink* sink, void** instance, og_error* err);
    /* subscribe_prices with an instruments array whose elements are `instrument_size` bytes
     * apart. Called instead of subscribe_prices when present. */
    og_status (*subscribe_prices_v2)(void* instance, const og_instrument* instruments,
                                     size_t count, size_t instrument_size, og_error* err);
    /* cancel_order with the request chain (og_cancel_request). Called instead of cancel_order
     * when present. May return OG_PENDING like place_order. */
    og_status (*cancel_order_v2)(void* instance, const og_cancel_request* request,
                                 int64_t timeout_ms, const og_result_sink* out, og_error* err);
    /* The capability manifest of this instance (OG_CAP_*), decided in create from its settings
     * (a venue account without modify, a session without order status queries). When present,
     * the host uses it instead of the descriptor's for this instance. Called once, after create,
     * before start. */
    og_status (*get_capabilities)(void* instance, uint64_t* capabilities, og_error* err);

    /* ---- appended in ABI 1.5 (native GTT; a 1.0-1.4 plugin's table ends before this; the host
     * checks size). Called only for an instance declaring OG_CAP_NATIVE_GTT; every slot may be
     * NULL otherwise. place/modify/cancel report the GTT through out->on_gtt exactly once on
     * OG_OK (and may on OG_REJECTED, with the reason). Statuses as for orders: OG_REJECTED is the
     * venue's final refusal; OG_TIMEOUT nothing was sent; OG_UNKNOWN_OUTCOME the request left and
     * its answer was lost: the host then asks get_gtt / list_gtts, never resends blindly. */
    /* Places a GTT. A place whose gtt_id the venue already holds answers that GTT (OG_OK), so
     * a retry after a lost answer creates nothing new. */
    og_status (*place_gtt)(void* instance, const og_gtt_request* request, int64_t timeout_ms,
                           const og_result_sink* out, og_error* err);
    /* Replaces an ACTIVE GTT's legs and expiry (type, account and instrument stay). A GTT that
     * is no longer ACTIVE: OG_REJECTED with the reason. */
    og_status (*modify_gtt)(void* instance, const og_gtt_request* request, int64_t timeout_ms,
                            const og_result_sink* out, og_error* err);
    /* Cancels an ACTIVE GTT; an already cancelled one answers OG_OK with it. */
    og_status (*cancel_gtt)(void* instance, const og_gtt_request* request, int64_t timeout_ms,
                            const og_result_sink* out, og_error* err);
    /* One GTT by the venue's id, or (broker_gtt_id empty) by the host's id. OG_NOT_FOUND when
     * the venue answered that it has none. */
    og_status (*get_gtt)(void* instance, og_str account_id, og_str gtt_id, og_str broker_gtt_id,
                         const og_result_sink* out, og_error* err);
    /* The account's GTTs (empty account_id: every account of the instance) through
     * out->on_gtt; active_only = 1 keeps ACTIVE ones. The host calls it periodically and after
     * a restart, so a status change whose push was lost is still learnt. */
    og_status (*list_gtts)(void* instance, og_str account_id, int32_t active_only,
                           const og_result_sink* out, og_error* err);
} og_broker_vtable;

/* ---- storage records -------------------------------------------------------------------------- */

typedef int32_t og_event_source;
enum { OG_SOURCE_API = 1, OG_SOURCE_BROKER = 2, OG_SOURCE_RECONCILIATION = 3, OG_SOURCE_GTT = 4 };

/* An order as the host stores it. `version` starts at 1 and grows by one with every change; it
 * equals the seq of the order's latest event. */
typedef struct og_order_record {
    uint32_t size;
    og_str id; /* "ord_<ulid>" */
    og_str client_order_id;
    og_str broker; /* broker instance name */
    og_str broker_order_id;
    og_str account_id;
    og_str symbol;
    og_str exchange;
    og_side side;
    og_order_type order_type;
    og_tif time_in_force;
    og_order_status status;
    og_decimal quantity;
    og_decimal filled_quantity;
    og_opt_decimal price;
    og_opt_decimal trigger_price;
    og_opt_decimal average_fill_price;
    og_str product;
    og_str reject_reason;
    og_str tag;
    og_str extra_json;
    int64_t created_at_ns;
    int64_t updated_at_ns;
    int64_t version;
} og_order_record;

/* One entry of an order's append-only audit trail. */
typedef struct og_order_event {
    uint32_t size;
    og_str order_id;
    int64_t seq;                 /* 1, 2, … per order */
    og_order_status from_status; /* 0 for the first event */
    og_order_status to_status;
    og_event_source source;
    og_str reason;
    og_str request_id;
    og_str broker_order_id;
    og_decimal filled_quantity;
    int32_t emulated;
    int64_t at_ns;
} og_order_event;

typedef struct og_fill_record {
    uint32_t size;
    og_str id; /* "trd_<ulid>" */
    og_str order_id;
    og_str broker;
    og_str broker_trade_id; /* unique per broker instance */
    og_str account_id;
    og_str symbol;
    og_str exchange;
    og_side side;
    og_decimal quantity;
    og_decimal price;
    og_decimal fee;
    int64_t executed_at_ns;
    /* ---- appended in ABI 1.5 (absent: OG_FILL_TRADE). Trades are append-only: a bust or a
     * correction is stored as its own record (kind, ref_trade_id = the broker_trade_id it acts
     * on) and never rewrites the record it refers to; the host derives a trade's effective
     * state from the records that refer to it. A storage plugin stores and returns both
     * fields as given. ---- */
    og_fill_kind kind;
    og_str ref_trade_id;
} og_fill_record;

typedef struct og_gtt_record {
    uint32_t size;
    og_str id; /* "gtt_<ulid>" */
    og_str account_id;
    og_str symbol;
    og_str exchange;
    og_str status;        /* ACTIVE, TRIGGERED, CANCELLED, EXPIRED, REJECTED */
    og_str body_json;     /* type, triggers, orders: the host's document, stored as given */
    int64_t expires_at_ns; /* 0: none */
    int64_t created_at_ns;
    int64_t updated_at_ns;
    int64_t version;
} og_gtt_record;

typedef struct og_recon_run {
    uint32_t size;
    og_str id;
    og_str broker;
    og_str status;      /* e.g. RUNNING, OK, DRIFT, FAILED */
    og_str report_json; /* the host's report document */
    int64_t started_at_ns;
    int64_t finished_at_ns;
} og_recon_run;

/* ---- storage writes: one batch is one transaction ---------------------------------------------
 * Every op gets its own result (OG_OK or OG_CONFLICT); a conflict writes nothing for that op and
 * does not abort the batch. Any other failure rolls the whole batch back and is returned by
 * write_batch itself. */
typedef int32_t og_write_kind;
enum {
    /* Insert `order` and its first `event`. Conflict: the account already has this
     * client_order_id (or the id exists). */
    OG_WRITE_INSERT_ORDER = 1,
    /* Update `order` (every mutable field) where its stored version == expected_version, and
     * append `event`. Conflict: version mismatch or no such order. */
    OG_WRITE_UPDATE_ORDER = 2,
    /* Insert `fill`. Conflict: (broker, broker_trade_id) exists. */
    OG_WRITE_INSERT_FILL = 3,
    /* Insert or update `gtt` (update only where stored version == expected_version). */
    OG_WRITE_UPSERT_GTT = 4,
    /* Insert or update `recon_run` by id. */
    OG_WRITE_UPSERT_RECON_RUN = 5
};

/* Skip this op (result OG_CONFLICT) when the op before it in the batch conflicted: lets a fill and
 * the order update it causes land together or not at all. */
#define OG_WRITE_FLAG_REQUIRES_PREVIOUS 1u

/* ---- appended in ABI 1.4 (event log) ------------------------------------------------------------
 * The per-account event log: every change a client can see (an order's transition, a fill, a
 * position, a GTT's transition) as one entry, appended in the same batch (transaction) as the
 * change itself. */
enum {
    /* Append `account_event` to its account's log. The plugin assigns the entry's `seq` when the
     * batch commits: the account's counter (a row per account, never a database sequence) plus
     * one, so seq order is commit order, strictly increasing per account, with no gap in what is
     * stored. Never conflicts; with OG_WRITE_FLAG_REQUIRES_PREVIOUS it is skipped (OG_CONFLICT)
     * when the op before it conflicted, so an entry lands exactly when the change it describes
     * does. Only sent to a plugin declaring ABI 1.4 or later. */
    OG_WRITE_APPEND_EVENT = 6
};

/* ---- appended in ABI 1.7 (idempotency records in write batches) ---------------------------------
 * So that a request's Idempotency-Key is claimed in the same transaction as the order it places,
 * and its answer stored in the same transaction as other writes, instead of one transaction each.
 * Only sent to a plugin declaring ABI 1.7 or later whose idempotency_get answers (a plugin that
 * implements idempotency_get must take both kinds). Each reads the op's `idempotency` record and
 * `now_ns` (the host's clock: a record with expires_at_ns <= now_ns counts as absent). */
enum {
    /* Claim the key for a request in flight (`idempotency->completed` is 0): as
     * idempotency_begin, but the record holding the key is not reported. Conflict: a record that
     * has not expired holds the key (nothing written). */
    OG_WRITE_CLAIM_IDEMPOTENCY = 7,
    /* Store the completed record: as idempotency_complete. Conflict: the key holds a completed
     * record or another request's marker (nothing written). */
    OG_WRITE_COMPLETE_IDEMPOTENCY = 8
};
/* ---- end of the ABI 1.7 block ---- */

/* One entry of an account's event log (ABI 1.4). */
typedef struct og_account_event {
    uint32_t size;
    og_str account_id;
    int64_t seq;      /* per account, from 1; assigned by the plugin (ignored in a write) */
    og_str topic;     /* "orders", "trades", "positions", "gtt" */
    og_str data_json; /* the resource as the REST API shows it: the host's document, as given */
    int64_t at_ns;    /* when the host made the change */
} og_account_event;
/* ---- end of the ABI 1.4 (event log) block ---- */

typedef struct og_write_op {
    uint32_t size;
    og_write_kind kind;
    uint32_t flags;
    int64_t expected_version;
    const og_order_record* order;
    const og_order_event* event;
    const og_fill_record* fill;
    const og_gtt_record* gtt;
    const og_recon_run* recon_run;
    /* ---- appended in ABI 1.4 (event log): OG_WRITE_APPEND_EVENT's entry ---- */
    const og_account_event* account_event;
    /* ---- appended in ABI 1.7: OG_WRITE_CLAIM_IDEMPOTENCY's and OG_WRITE_COMPLETE_IDEMPOTENCY's
     * record (declared below) and the host's clock ---- */
    const struct og_idempotency_record* idempotency;
    int64_t now_ns;
} og_write_op;

/* ---- storage queries ---------------------------------------------------------------------------
 * Lists are ordered by id (ids sort by creation time), oldest first unless `descending`, and
 * paginated by an opaque cursor: the plugin returns at most `limit` rows and, when more remain,
 * a next cursor through on_cursor. */
typedef struct og_order_query {
    uint32_t size;
    const og_str* account_ids; /* NULL/0: every account */
    size_t account_count;
    og_order_status status;    /* 0: any */
    int32_t open_only;         /* 1: every non-terminal status */
    og_str symbol;             /* empty: any */
    og_str broker;             /* empty: any */
    int64_t since_ns;          /* created at or after; 0: any */
    og_str cursor;
    uint32_t limit;
    int32_t descending;
} og_order_query;

typedef struct og_fill_query {
    uint32_t size;
    const og_str* account_ids;
    size_t account_count;
    og_str order_id; /* empty: any */
    int64_t since_ns;
    og_str cursor;
    uint32_t limit;
    int32_t descending;
} og_fill_query;

/* An idempotency record (ABI 1.2): what the host keeps for one Idempotency-Key. The plugin stores
 * the fields as given and compares only `key`, `fingerprint`, `completed` and `expires_at_ns`;
 * `response` is the host's encoding of the answer to replay (any bytes, NUL included). */
typedef struct og_idempotency_record {
    uint32_t size;
    og_str key;            /* the host's scoped key (principal and Idempotency-Key) */
    og_str fingerprint;    /* the request's fingerprint */
    int32_t completed;     /* 0: a request holds the key now (in flight); 1: answered */
    og_str response;       /* empty while in flight */
    int64_t expires_at_ns; /* the record counts as absent from this time on */
} og_idempotency_record;

typedef struct og_storage_sink {
    uint32_t size;
    void* ctx;
    void (*on_order)(void* ctx, const og_order_record* order);
    void (*on_event)(void* ctx, const og_order_event* event);
    void (*on_fill)(void* ctx, const og_fill_record* fill);
    void (*on_gtt)(void* ctx, const og_gtt_record* gtt);
    void (*on_recon_run)(void* ctx, const og_recon_run* run);
    void (*on_cursor)(void* ctx, og_str next_cursor);
    /* ---- appended in ABI 1.2 (check the sink's size before calling) ---- */
    void (*on_idempotency)(void* ctx, const og_idempotency_record* record);
    /* ---- appended in ABI 1.4 (event log; check the sink's size before calling) ---- */
    void (*on_account_event)(void* ctx, const og_account_event* event);
} og_storage_sink;

typedef struct og_storage_vtable {
    uint32_t size;
    og_status (*create)(const og_kv* config, size_t config_count, void** instance, og_error* err);
    void (*destroy)(void* instance);
    /* Applies pending schema migrations (idempotent; safe with several hosts starting at once).
     * Writes the schema version reached into *version. */
    og_status (*migrate)(void* instance, int64_t* version, og_error* err);
    /* OG_OK when the store answers; OG_UNAVAILABLE otherwise. Cheap: used by /health/ready. */
    og_status (*ping)(void* instance, og_error* err);
    og_status (*write_batch)(void* instance, const og_write_op* ops, size_t count,
                             og_status* results, og_error* err);

    /* Single reads: OG_NOT_FOUND when absent. An empty account_id matches any account. */
    og_status (*get_order)(void* instance, og_str order_id, const og_storage_sink* out,
                           og_error* err);
    og_status (*get_order_by_client_id)(void* instance, og_str account_id, og_str client_order_id,
                                        const og_storage_sink* out, og_error* err);
    og_status (*get_order_by_broker_id)(void* instance, og_str broker, og_str broker_order_id,
                                        const og_storage_sink* out, og_error* err);
    og_status (*list_orders)(void* instance, const og_order_query* query,
                             const og_storage_sink* out, og_error* err);
    /* Events of one order, seq ascending, from after_seq (0: from the first). */
    og_status (*list_events)(void* instance, og_str order_id, int64_t after_seq, uint32_t limit,
                             const og_storage_sink* out, og_error* err);
    og_status (*list_fills)(void* instance, const og_fill_query* query,
                            const og_storage_sink* out, og_error* err);
    og_status (*get_gtt)(void* instance, og_str gtt_id, const og_storage_sink* out, og_error* err);
    /* GTTs of the given accounts (NULL/0: all), by id; active_only = 1 keeps status ACTIVE. */
    og_status (*list_gtts)(void* instance, const og_str* account_ids, size_t account_count,
                           int32_t active_only, og_str cursor, uint32_t limit,
                           const og_storage_sink* out, og_error* err);
    /* The latest runs, newest first. */
    og_status (*list_recon_runs)(void* instance, og_str broker, og_str cursor, uint32_t limit,
                                 const og_storage_sink* out, og_error* err);

    /* ---- appended in ABI 1.2 (a 1.0/1.1 plugin's table ends before this; the host checks size)
     * Idempotency records, so a key outlives the process whenever storage does. Each call is
     * atomic on its own (one statement or one transaction), safe from several hosts at once.
     * `now_ns` is the host's clock: a record with expires_at_ns <= now_ns counts as absent. A
     * plugin without them leaves the slots NULL (or answers OG_UNSUPPORTED); the host then keeps
     * keys in its own memory and says so loudly. */
    /* Claims `record->key` for a request in flight (`record->completed` is 0). When the key holds
     * a record that has not expired, writes nothing, reports that record through
     * out->on_idempotency and returns OG_CONFLICT; otherwise replaces any expired record by
     * `record` and returns OG_OK. */
    og_status (*idempotency_begin)(void* instance, const og_idempotency_record* record,
                                   int64_t now_ns, const og_storage_sink* out, og_error* err);
    /* Stores the completed `record` when the key is absent, expired, or in flight with the same
     * fingerprint (OG_OK); otherwise (completed already, or another request's marker) writes
     * nothing and returns OG_CONFLICT. */
    og_status (*idempotency_complete)(void* instance, const og_idempotency_record* record,
                                      int64_t now_ns, og_error* err);
    /* Deletes the key's record when it has expired, or is in flight with this fingerprint;
     * leaves anything else. OG_OK either way (also when absent). */
    og_status (*idempotency_release)(void* instance, og_str key, og_str fingerprint,
                                     int64_t now_ns, og_error* err);
    /* Deletes at most `limit` (0: any number) expired records; writes how many into *deleted. */
    og_status (*idempotency_purge)(void* instance, int64_t now_ns, uint32_t limit,
                                   uint64_t* deleted, og_error* err);

    /* ---- appended in ABI 1.3 (a 1.0-1.2 plugin's table ends before this; the host checks size)
     * Named leases, so that one of several hosts sharing a store does a job alone (e.g. one
     * reconciler per broker instance). Each call is atomic on its own, safe from several hosts
     * at once. `now_ns` is the host's clock; a lease with expires_at_ns <= now_ns has expired.
     * A plugin without them leaves the slots NULL (or answers OG_UNSUPPORTED); the host then
     * assumes it is the only instance and says so. name and holder are non-empty; ttl_ns > 0
     * and now_ns + ttl_ns must not overflow (else OG_INVALID_ARGUMENT). */
    /* When lease `name` is absent, expired, or already held by `holder`: sets its holder to
     * `holder` and its expiry to now_ns + ttl_ns, writes *held = 1. Otherwise writes nothing and
     * *held = 0. OG_OK in both cases. */
    og_status (*lease_acquire)(void* instance, og_str name, og_str holder, int64_t now_ns,
                               int64_t ttl_ns, int32_t* held, og_error* err);
    /* Deletes lease `name` when `holder` holds it (expired or not); otherwise nothing. OG_OK
     * either way. */
    og_status (*lease_release)(void* instance, og_str name, og_str holder, og_error* err);

    /* ---- appended in ABI 1.4 (sdk14: arrays whose elements can grow). A 1.0-1.3 plugin's
     * table ends before this; every slot may be NULL (the host then calls the older form). */
    /* write_batch over an array of POINTERS to ops: each op is read with its own `size`, so
     * og_write_op may grow in a later minor. Same contract as write_batch. */
    og_status (*write_batch_v2)(void* instance, const og_write_op* const* ops, size_t count,
                                og_status* results, og_error* err);
    /* create with a config array whose elements are `kv_size` bytes apart (see the broker's
     * create_v2). */
    og_status (*create_v2)(const og_kv* config, size_t config_count, size_t kv_size,
                           void** instance, og_error* err);
    /* The order one of whose events carries `request_id` as its request id (the client request
     * id the host gave a modify or cancel: a report naming it finds the order after a
     * restart), within `account_id` (empty: any account). OG_NOT_FOUND when none. */
    og_status (*get_order_by_request_id)(void* instance, og_str account_id, og_str request_id,
                                         const og_storage_sink* out, og_error* err);

    /* ---- appended in ABI 1.4 (event log; a 1.0-1.3 plugin's table ends before this) ----------
     * A plugin without the event log (table too short, or list_account_events NULL) gets no
     * OG_WRITE_APPEND_EVENT op; the host then serves no event log and no stream, and says so. */
    /* Entries of `account_id` with seq > after_seq, seq ascending, at most `limit`, through
     * out->on_account_event. Also writes the account's state: *oldest_seq, the smallest seq still
     * retained (0 when none is), and *last_seq, the counter (the last seq ever assigned, 0 when
     * none). Both may be NULL. An unknown account is not an error: nothing, and 0/0. */
    og_status (*list_account_events)(void* instance, og_str account_id, int64_t after_seq,
                                     uint32_t limit, const og_storage_sink* out,
                                     int64_t* oldest_seq, int64_t* last_seq, og_error* err);
    /* Retention: deletes at most `limit` (0: any number) entries with at_ns < before_ns, of every
     * account; the counters stay (a seq is never reused). Writes how many into *deleted. */
    og_status (*prune_account_events)(void* instance, int64_t before_ns, uint32_t limit,
                                      uint64_t* deleted, og_error* err);
    /* Several hosts sharing the store: blocks up to timeout_ms for entries another writer (any
     * host, this one included) committed, and reports each commit it learnt of through
     * out->on_account_event with account_id and seq set (topic and data empty; seq 0 when the
     * plugin cannot tell; an empty account_id when notices may have been lost, e.g. after the
     * plugin reconnected: every account may have new entries). Returns OG_OK with no call on a
     * timeout. The host calls it from one
     * thread of its own, in a loop; notices may repeat or arrive late but are never needed for
     * correctness of what is read (the host reads entries with list_account_events). NULL (or
     * OG_UNSUPPORTED): the store has a single writer host, whose own commits are all there is. */
    og_status (*wait_account_events)(void* instance, int64_t timeout_ms,
                                     const og_storage_sink* out, og_error* err);
    /* ---- end of the ABI 1.4 (event log) block ---- */

    /* ---- appended in ABI 1.7 (a 1.0-1.6 plugin's table ends before this; the slot may be NULL)
     * Reads the record holding `key` without writing: OG_OK and the record through
     * out->on_idempotency when one has not expired at now_ns; OG_NOT_FOUND otherwise. A plugin
     * that answers it (anything but OG_UNSUPPORTED) takes OG_WRITE_CLAIM_IDEMPOTENCY and
     * OG_WRITE_COMPLETE_IDEMPOTENCY in write batches. */
    og_status (*idempotency_get)(void* instance, og_str key, int64_t now_ns,
                                 const og_storage_sink* out, og_error* err);
} og_storage_vtable;

/* ---- the descriptor and the entry ----------------------------------------------------------- */

typedef struct og_plugin_descriptor {
    uint32_t size;
    uint32_t abi_major; /* OG_ABI_MAJOR the plugin was built against */
    uint32_t abi_minor;
    og_kind kind;
    og_str name;
    og_str version;       /* the plugin's own release version */
    og_str sdk_version;   /* the SDK release it was built with */
    uint64_t capabilities; /* OG_CAP_* for a broker; 0 for storage */
    /* og_broker_vtable* for OG_KIND_BROKER, og_storage_vtable* for OG_KIND_STORAGE. */
    const void* vtable;
} og_plugin_descriptor;

/* The one exported entry. The host calls it once after loading, with its own ABI version and its
 * services, and checks the descriptor (major, minor, kind, table size) before calling anything
 * else. It must not start threads or do I/O. Returns NULL when the plugin refuses the host. */
typedef const og_plugin_descriptor* og_plugin_entry_fn(uint32_t host_abi_major,
                                                       uint32_t host_abi_minor,
                                                       const og_host_services* services);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ORDERGATE_PLUGIN_ABI_H */
