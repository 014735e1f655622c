// ordergate/types.hpp — the C++ vocabulary of the SDK: enums, requests, reports and storage
// records as ordinary value types. Plugins written with sdk.hpp and the host both use these; the
// C structs of plugin_abi.h are only ever produced and read by abi_convert.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "ordergate/decimal.hpp"
#include "ordergate/plugin_abi.h"

namespace ordergate {

enum class Side : int32_t { Buy = OG_SIDE_BUY, Sell = OG_SIDE_SELL };
enum class OrderType : int32_t {
    Market = OG_TYPE_MARKET,
    Limit = OG_TYPE_LIMIT,
    Stop = OG_TYPE_STOP,
    StopLimit = OG_TYPE_STOP_LIMIT
};
enum class TimeInForce : int32_t {
    Day = OG_TIF_DAY,
    Gtc = OG_TIF_GTC,
    Ioc = OG_TIF_IOC,
    Fok = OG_TIF_FOK
};
enum class OrderStatus : int32_t {
    PendingNew = OG_ORDER_PENDING_NEW,
    Open = OG_ORDER_OPEN,
    PartiallyFilled = OG_ORDER_PARTIALLY_FILLED,
    Filled = OG_ORDER_FILLED,
    PendingReplace = OG_ORDER_PENDING_REPLACE,
    PendingCancel = OG_ORDER_PENDING_CANCEL,
    Cancelled = OG_ORDER_CANCELLED,
    Rejected = OG_ORDER_REJECTED,
    Expired = OG_ORDER_EXPIRED
};
// ABI 1.5: what a fill is (og_fill_kind).
enum class FillKind : int32_t {
    Trade = OG_FILL_TRADE,
    Bust = OG_FILL_BUST,
    Correction = OG_FILL_CORRECTION
};
enum class EventSource : int32_t {
    Api = OG_SOURCE_API,
    Broker = OG_SOURCE_BROKER,
    Reconciliation = OG_SOURCE_RECONCILIATION,
    Gtt = OG_SOURCE_GTT
};

// The ABI's status codes as a C++ enum.
enum class Status : int32_t {
    Ok = OG_OK,
    Rejected = OG_REJECTED,
    InvalidArgument = OG_INVALID_ARGUMENT,
    NotFound = OG_NOT_FOUND,
    Unavailable = OG_UNAVAILABLE,
    Timeout = OG_TIMEOUT,
    UnknownOutcome = OG_UNKNOWN_OUTCOME,
    Internal = OG_INTERNAL,
    Conflict = OG_CONFLICT,
    Unsupported = OG_UNSUPPORTED,
    RateLimited = OG_RATE_LIMITED,
    Pending = OG_PENDING  // ABI 1.4: sent, acknowledgement to come through the event sink
};

// Names as the REST contract spells them ("BUY", "STOP_LIMIT", "PENDING_NEW", …).
std::string_view to_string(Side v);
std::string_view to_string(FillKind v);
std::string_view to_string(OrderType v);
std::string_view to_string(TimeInForce v);
std::string_view to_string(OrderStatus v);
std::string_view to_string(EventSource v);
std::string_view to_string(Status v);
// Parsers return false for an unknown name (case-sensitive, as the contract spells them).
bool parse_side(std::string_view s, Side* out);
bool parse_order_type(std::string_view s, OrderType* out);
bool parse_time_in_force(std::string_view s, TimeInForce* out);
bool parse_order_status(std::string_view s, OrderStatus* out);
bool parse_event_source(std::string_view s, EventSource* out);

// FILLED, CANCELLED, REJECTED, EXPIRED.
inline bool is_terminal(OrderStatus s) {
    return s == OrderStatus::Filled || s == OrderStatus::Cancelled || s == OrderStatus::Rejected ||
           s == OrderStatus::Expired;
}

// Checks that an int32 from the wire is a known enum value (plugins are untrusted).
bool valid_side(int32_t v);
bool valid_fill_kind(int32_t v);
bool valid_order_type(int32_t v);
bool valid_time_in_force(int32_t v);
bool valid_order_status(int32_t v);
bool valid_event_source(int32_t v);

// ---- broker vocabulary ------------------------------------------------------------------------

struct OrderRequest {
    std::string client_order_id;
    std::string account_id;
    std::string symbol;
    std::string exchange;
    Side side = Side::Buy;
    OrderType order_type = OrderType::Market;
    TimeInForce time_in_force = TimeInForce::Day;
    Decimal quantity;
    std::optional<Decimal> price;
    std::optional<Decimal> trigger_price;
    std::string product;
    std::string tag;
    std::string extra_json;  // "{}" when the client sent none
};

struct ModifyRequest {
    std::string broker_order_id;
    std::string client_order_id;
    std::string account_id;
    std::optional<Decimal> quantity;
    std::optional<Decimal> price;
    std::optional<Decimal> trigger_price;
    std::optional<OrderType> order_type;
    std::optional<TimeInForce> time_in_force;
    // ABI 1.4: this modify's own client request id (FIX ClOrdID) and the last id of the order's
    // chain the venue accepted (FIX OrigClOrdID). Empty from an older host.
    std::string request_id;
    std::string orig_request_id;
};

// A cancel (ABI 1.4, og_cancel_request): the order and its request chain, as for ModifyRequest.
struct CancelRequest {
    std::string account_id;
    std::string broker_order_id;
    std::string client_order_id;
    std::string request_id;
    std::string orig_request_id;
};

struct OrderReport {
    std::string broker_order_id;
    std::string client_order_id;
    std::string account_id;
    std::string symbol;
    std::string exchange;
    Side side = Side::Buy;
    OrderType order_type = OrderType::Market;
    TimeInForce time_in_force = TimeInForce::Day;
    OrderStatus status = OrderStatus::PendingNew;
    Decimal quantity;
    Decimal filled_quantity;
    std::optional<Decimal> price;
    std::optional<Decimal> trigger_price;
    std::optional<Decimal> average_fill_price;
    std::string reject_reason;
    int64_t updated_at_ns = 0;
    // ABI 1.3 (og_order_report). From an older plugin they keep these defaults: not reported.
    std::optional<Decimal> leaves_quantity;  // quantity - filled while live, 0 once terminal
    std::string exec_id;                     // the venue event behind this report; "" if none
    std::string cancel_reject_reason;        // why the latest cancel/modify was refused; ""
    // ABI 1.4: the client request id this report answers ("" when none; see og_order_report).
    std::string request_id;
};

struct Fill {
    std::string broker_trade_id;
    std::string broker_order_id;
    std::string client_order_id;
    std::string account_id;
    std::string symbol;
    std::string exchange;
    Side side = Side::Buy;
    Decimal quantity;
    Decimal price;
    Decimal fee;
    int64_t executed_at_ns = 0;
    // ABI 1.5 (og_fill): a bust/correction of the execution ref_trade_id. From an older plugin:
    // Trade, "".
    FillKind kind = FillKind::Trade;
    std::string ref_trade_id;
};

struct Position {
    std::string account_id;
    std::string symbol;
    std::string exchange;
    Decimal quantity;  // signed
    Decimal average_price;
};

struct Account {
    std::string account_id;
    std::string currency;
    Decimal cash;
    Decimal buying_power;
    Decimal equity;
    Decimal margin_used;
    std::string status;
    int64_t updated_at_ns = 0;
};

struct Quote {
    std::string symbol;
    std::string exchange;
    Decimal last;
    std::optional<Decimal> bid;
    std::optional<Decimal> ask;
    int64_t at_ns = 0;
};

struct Instrument {
    std::string symbol;
    std::string exchange;
};

// ---- ABI 1.5: native GTT (og_gtt_request / og_gtt_report) -----------------------------------
enum class GttType : int32_t { Single = OG_GTT_SINGLE, Oco = OG_GTT_OCO };
enum class GttStatus : int32_t {
    Active = OG_GTT_ACTIVE,
    Triggered = OG_GTT_TRIGGERED,
    Cancelled = OG_GTT_CANCELLED,
    Expired = OG_GTT_EXPIRED,
    Rejected = OG_GTT_REJECTED
};
// "SINGLE"/"OCO"; "ACTIVE", "TRIGGERED", … as the REST contract spells them.
std::string_view to_string(GttType v);
std::string_view to_string(GttStatus v);
bool parse_gtt_type(std::string_view s, GttType* out);
bool parse_gtt_status(std::string_view s, GttStatus* out);
bool valid_gtt_type(int32_t v);
bool valid_gtt_status(int32_t v);

// One leg: when the last price crosses trigger_price, the venue places `order` (whose
// client_order_id the host chose, so the venue's reports of it find the host's record).
struct GttLeg {
    Decimal trigger_price;
    OrderRequest order;
};

struct GttRequest {
    std::string gtt_id;         // the host's id; a retried place with it is the same GTT
    std::string broker_gtt_id;  // the venue's id ("" for a place)
    std::string account_id;
    std::string symbol;
    std::string exchange;
    GttType type = GttType::Single;
    std::vector<GttLeg> legs;  // SINGLE: 1, OCO: 2
    int64_t expires_at_ns = 0;  // 0: none
};

struct GttReport {
    std::string gtt_id;
    std::string broker_gtt_id;
    std::string account_id;
    std::string symbol;
    std::string exchange;
    GttType type = GttType::Single;
    GttStatus status = GttStatus::Active;
    std::vector<GttLeg> legs;  // empty when the venue does not say
    int64_t expires_at_ns = 0;
    std::optional<uint32_t> triggered_leg;  // TRIGGERED: the leg that fired (0-based)
    std::string order_client_order_id;      // TRIGGERED: the order the venue placed
    std::string broker_order_id;
    std::string reject_reason;  // REJECTED: why
    int64_t updated_at_ns = 0;
};

// ---- storage vocabulary -----------------------------------------------------------------------

struct OrderRecord {
    std::string id;
    std::string client_order_id;
    std::string broker;
    std::string broker_order_id;
    std::string account_id;
    std::string symbol;
    std::string exchange;
    Side side = Side::Buy;
    OrderType order_type = OrderType::Market;
    TimeInForce time_in_force = TimeInForce::Day;
    OrderStatus status = OrderStatus::PendingNew;
    Decimal quantity;
    Decimal filled_quantity;
    std::optional<Decimal> price;
    std::optional<Decimal> trigger_price;
    std::optional<Decimal> average_fill_price;
    std::string product;
    std::string reject_reason;
    std::string tag;
    std::string extra_json;
    int64_t created_at_ns = 0;
    int64_t updated_at_ns = 0;
    int64_t version = 0;
};

struct OrderEvent {
    std::string order_id;
    int64_t seq = 0;
    std::optional<OrderStatus> from_status;
    OrderStatus to_status = OrderStatus::PendingNew;
    EventSource source = EventSource::Api;
    std::string reason;
    std::string request_id;
    std::string broker_order_id;
    Decimal filled_quantity;
    bool emulated = false;
    int64_t at_ns = 0;
};

struct FillRecord {
    std::string id;
    std::string order_id;
    std::string broker;
    std::string broker_trade_id;
    std::string account_id;
    std::string symbol;
    std::string exchange;
    Side side = Side::Buy;
    Decimal quantity;
    Decimal price;
    Decimal fee;
    int64_t executed_at_ns = 0;
    // ABI 1.5 (og_fill_record): a bust/correction is its own record naming ref_trade_id.
    FillKind kind = FillKind::Trade;
    std::string ref_trade_id;
};

struct GttRecord {
    std::string id;
    std::string account_id;
    std::string symbol;
    std::string exchange;
    std::string status;
    std::string body_json;
    int64_t expires_at_ns = 0;
    int64_t created_at_ns = 0;
    int64_t updated_at_ns = 0;
    int64_t version = 0;
};

struct ReconRun {
    std::string id;
    std::string broker;
    std::string status;
    std::string report_json;
    int64_t started_at_ns = 0;
    int64_t finished_at_ns = 0;
};

// appended in ABI 1.4 (event log): one entry of an account's event log (og_account_event).
struct AccountEvent {
    std::string account_id;
    int64_t seq = 0;         // assigned by the storage at commit (ignored in a write)
    std::string topic;       // "orders", "trades", "positions", "gtt"
    std::string data_json;   // the resource as the REST API shows it
    int64_t at_ns = 0;
};

// appended in ABI 1.4 (event log): what list_account_events answers.
struct AccountEventPage {
    std::vector<AccountEvent> items;  // seq ascending
    int64_t oldest_seq = 0;           // the smallest seq retained (0: none)
    int64_t last_seq = 0;             // the account's counter (0: never written)
};

// An idempotency record (ABI 1.2, og_idempotency_record): `response` is opaque bytes.
struct IdempotencyRecord {
    std::string key;
    std::string fingerprint;
    bool completed = false;
    std::string response;
    int64_t expires_at_ns = 0;
};

enum class WriteKind : int32_t {
    InsertOrder = OG_WRITE_INSERT_ORDER,
    UpdateOrder = OG_WRITE_UPDATE_ORDER,
    InsertFill = OG_WRITE_INSERT_FILL,
    UpsertGtt = OG_WRITE_UPSERT_GTT,
    UpsertReconRun = OG_WRITE_UPSERT_RECON_RUN,
    // appended in ABI 1.4 (event log)
    AppendEvent = OG_WRITE_APPEND_EVENT,
    // appended in ABI 1.7: a request's idempotency record in the batch (see og_write_op)
    ClaimIdempotency = OG_WRITE_CLAIM_IDEMPOTENCY,
    CompleteIdempotency = OG_WRITE_COMPLETE_IDEMPOTENCY
};

// One write of a batch (see og_write_op). Only the members its kind uses are read.
struct WriteOp {
    WriteKind kind = WriteKind::InsertOrder;
    bool requires_previous = false;
    int64_t expected_version = 0;
    OrderRecord order;
    OrderEvent event;
    FillRecord fill;
    GttRecord gtt;
    ReconRun recon_run;
    AccountEvent account_event;  // appended in ABI 1.4 (event log): AppendEvent
    // appended in ABI 1.7: ClaimIdempotency / CompleteIdempotency, and the host's clock
    IdempotencyRecord idempotency;
    int64_t now_ns = 0;
};

struct OrderQuery {
    std::vector<std::string> account_ids;  // empty: every account
    std::optional<OrderStatus> status;
    bool open_only = false;
    std::string symbol;
    std::string broker;
    int64_t since_ns = 0;
    std::string cursor;
    uint32_t limit = 100;
    bool descending = false;
};

struct FillQuery {
    std::vector<std::string> account_ids;
    std::string order_id;
    int64_t since_ns = 0;
    std::string cursor;
    uint32_t limit = 100;
    bool descending = false;
};

template <typename T>
struct Page {
    std::vector<T> items;
    std::string next_cursor;  // empty: no more
};

// One page of a broker's report (ABI 1.3: list_orders_page / list_fills_page, og_result_sink's
// on_page). `complete` is false when the venue could not give everything asked for (truncated
// history): an item missing from the pages is then no evidence that it does not exist.
template <class T>
struct ReportPage {
    std::vector<T> items;
    std::string next_cursor;  // empty: no more pages
    bool complete = true;
};

// ---- inline definitions of the name tables -----------------------------------------------------

inline std::string_view to_string(Side v) { return v == Side::Buy ? "BUY" : "SELL"; }
inline std::string_view to_string(FillKind v) {
    return v == FillKind::Bust ? "BUST" : v == FillKind::Correction ? "CORRECTION" : "TRADE";
}
inline std::string_view to_string(OrderType v) {
    switch (v) {
        case OrderType::Market: return "MARKET";
        case OrderType::Limit: return "LIMIT";
        case OrderType::Stop: return "STOP";
        case OrderType::StopLimit: return "STOP_LIMIT";
    }
    return "?";
}
inline std::string_view to_string(TimeInForce v) {
    switch (v) {
        case TimeInForce::Day: return "DAY";
        case TimeInForce::Gtc: return "GTC";
        case TimeInForce::Ioc: return "IOC";
        case TimeInForce::Fok: return "FOK";
    }
    return "?";
}
inline std::string_view to_string(OrderStatus v) {
    switch (v) {
        case OrderStatus::PendingNew: return "PENDING_NEW";
        case OrderStatus::Open: return "OPEN";
        case OrderStatus::PartiallyFilled: return "PARTIALLY_FILLED";
        case OrderStatus::Filled: return "FILLED";
        case OrderStatus::PendingReplace: return "PENDING_REPLACE";
        case OrderStatus::PendingCancel: return "PENDING_CANCEL";
        case OrderStatus::Cancelled: return "CANCELLED";
        case OrderStatus::Rejected: return "REJECTED";
        case OrderStatus::Expired: return "EXPIRED";
    }
    return "?";
}
inline std::string_view to_string(EventSource v) {
    switch (v) {
        case EventSource::Api: return "api";
        case EventSource::Broker: return "broker";
        case EventSource::Reconciliation: return "reconciliation";
        case EventSource::Gtt: return "gtt";
    }
    return "?";
}
inline std::string_view to_string(Status v) {
    switch (v) {
        case Status::Ok: return "ok";
        case Status::Rejected: return "rejected";
        case Status::InvalidArgument: return "invalid_argument";
        case Status::NotFound: return "not_found";
        case Status::Unavailable: return "unavailable";
        case Status::Timeout: return "timeout";
        case Status::UnknownOutcome: return "unknown_outcome";
        case Status::Internal: return "internal";
        case Status::Conflict: return "conflict";
        case Status::Unsupported: return "unsupported";
        case Status::RateLimited: return "rate_limited";
        case Status::Pending: return "pending";
    }
    return "invalid_status";
}

namespace detail {
template <typename E, size_t N>
bool parse_enum(std::string_view s, E* out, const E (&values)[N]) {
    for (E v : values) {
        if (to_string(v) == s) {
            *out = v;
            return true;
        }
    }
    return false;
}
}  // namespace detail

inline bool parse_side(std::string_view s, Side* out) {
    static const Side all[] = {Side::Buy, Side::Sell};
    return detail::parse_enum(s, out, all);
}
inline bool parse_order_type(std::string_view s, OrderType* out) {
    static const OrderType all[] = {OrderType::Market, OrderType::Limit, OrderType::Stop,
                                    OrderType::StopLimit};
    return detail::parse_enum(s, out, all);
}
inline bool parse_time_in_force(std::string_view s, TimeInForce* out) {
    static const TimeInForce all[] = {TimeInForce::Day, TimeInForce::Gtc, TimeInForce::Ioc,
                                      TimeInForce::Fok};
    return detail::parse_enum(s, out, all);
}
inline bool parse_order_status(std::string_view s, OrderStatus* out) {
    static const OrderStatus all[] = {
        OrderStatus::PendingNew,    OrderStatus::Open,          OrderStatus::PartiallyFilled,
        OrderStatus::Filled,        OrderStatus::PendingReplace, OrderStatus::PendingCancel,
        OrderStatus::Cancelled,     OrderStatus::Rejected,      OrderStatus::Expired};
    return detail::parse_enum(s, out, all);
}
inline bool parse_event_source(std::string_view s, EventSource* out) {
    static const EventSource all[] = {EventSource::Api, EventSource::Broker,
                                      EventSource::Reconciliation, EventSource::Gtt};
    return detail::parse_enum(s, out, all);
}

inline bool valid_side(int32_t v) { return v == OG_SIDE_BUY || v == OG_SIDE_SELL; }
inline bool valid_fill_kind(int32_t v) { return v >= OG_FILL_TRADE && v <= OG_FILL_CORRECTION; }
inline bool valid_order_type(int32_t v) { return v >= OG_TYPE_MARKET && v <= OG_TYPE_STOP_LIMIT; }
inline bool valid_time_in_force(int32_t v) { return v >= OG_TIF_DAY && v <= OG_TIF_FOK; }
inline bool valid_order_status(int32_t v) {
    return v >= OG_ORDER_PENDING_NEW && v <= OG_ORDER_EXPIRED;
}
inline bool valid_event_source(int32_t v) { return v >= OG_SOURCE_API && v <= OG_SOURCE_GTT; }

inline std::string_view to_string(GttType v) {
    switch (v) {
        case GttType::Single: return "SINGLE";
        case GttType::Oco: return "OCO";
    }
    return "?";
}
inline std::string_view to_string(GttStatus v) {
    switch (v) {
        case GttStatus::Active: return "ACTIVE";
        case GttStatus::Triggered: return "TRIGGERED";
        case GttStatus::Cancelled: return "CANCELLED";
        case GttStatus::Expired: return "EXPIRED";
        case GttStatus::Rejected: return "REJECTED";
    }
    return "?";
}
inline bool parse_gtt_type(std::string_view s, GttType* out) {
    static const GttType all[] = {GttType::Single, GttType::Oco};
    return detail::parse_enum(s, out, all);
}
inline bool parse_gtt_status(std::string_view s, GttStatus* out) {
    static const GttStatus all[] = {GttStatus::Active, GttStatus::Triggered, GttStatus::Cancelled,
                                    GttStatus::Expired, GttStatus::Rejected};
    return detail::parse_enum(s, out, all);
}
inline bool valid_gtt_type(int32_t v) { return v == OG_GTT_SINGLE || v == OG_GTT_OCO; }
inline bool valid_gtt_status(int32_t v) { return v >= OG_GTT_ACTIVE && v <= OG_GTT_REJECTED; }

}  // namespace ordergate
