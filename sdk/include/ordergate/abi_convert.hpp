// ordergate/abi_convert.hpp — conversions between the C structs of plugin_abi.h and the C++ value
// types of types.hpp, in both directions. Used by the SDK glue inside plugins and by the host's
// plugin adapters; nobody else should need to touch a C struct.
//
// C++ -> C (`to_abi`, the *View classes): the C struct's og_str fields point INTO the C++ object
// (no copy), so the C struct is valid only while the C++ object lives and is not modified. When
// the C++ object is a temporary, wrap it in `Owned<T>`, which keeps both together. The *View
// classes build the arrays and nested pointers a call needs (write batches, queries, config,
// instruments) and must outlive the call they are passed to. None of them is copyable.
//
// C -> C++ (`from_abi`): validating. The input comes from the other side of the boundary (for the
// host: an untrusted plugin), so every record's size, string, enum and decimal is checked and a bad
// one throws ConvertError naming the record and the field; nothing is clamped or defaulted. The
// caller maps ConvertError to a status: the SDK glue answers OG_INVALID_ARGUMENT (the host sent
// something it cannot read), the host treats a plugin's bad output as Status::Internal.
//
// Records may be larger than this SDK knows (a newer minor appended fields): the extra bytes are
// ignored. They may not be smaller than their ABI 1.0 size (`kMinSize<T>`); fields a later minor
// appended are read only when the record's size covers them (OG_HAS_FIELD), and otherwise keep
// their C++ default (e.g. an order report from a 1.0 plugin has no leaves_quantity).
//
// Header-only, C++17, no dependency beyond the other SDK headers. Thread-safe (no shared state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ordergate/decimal.hpp"
#include "ordergate/plugin_abi.h"
#include "ordergate/types.hpp"

namespace ordergate::abi {

// A value read from the other side of the boundary is malformed. what() is one line naming the
// record and the field ("order report: status 42 is not a valid order status").
class ConvertError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Bytes of a struct up to and including `field`: the size a record or table had in the ABI minor
// that ended with that field. Frozen by field name, so it does not move when fields are appended.
#define OG_SIZE_THROUGH(type, field) \
    static_cast<uint32_t>(offsetof(type, field) + sizeof(static_cast<type*>(nullptr)->field))

// The smallest size a record may declare: its size in ABI 1.0.
template <typename T>
struct MinSize;
#define OG_DEFINE_MIN_SIZE(type, last_field_1_0)                                        \
    template <>                                                                         \
    struct MinSize<type> {                                                              \
        static constexpr uint32_t value = OG_SIZE_THROUGH(type, last_field_1_0);        \
    };
OG_DEFINE_MIN_SIZE(og_order_request, extra_json)
OG_DEFINE_MIN_SIZE(og_modify_request, time_in_force)
OG_DEFINE_MIN_SIZE(og_cancel_request, orig_request_id)  // new in 1.4: its first size
OG_DEFINE_MIN_SIZE(og_order_report, updated_at_ns)
OG_DEFINE_MIN_SIZE(og_fill, executed_at_ns)
OG_DEFINE_MIN_SIZE(og_position, average_price)
OG_DEFINE_MIN_SIZE(og_account, updated_at_ns)
OG_DEFINE_MIN_SIZE(og_quote, at_ns)
OG_DEFINE_MIN_SIZE(og_order_record, version)
OG_DEFINE_MIN_SIZE(og_order_event, at_ns)
OG_DEFINE_MIN_SIZE(og_fill_record, executed_at_ns)
OG_DEFINE_MIN_SIZE(og_gtt_record, version)
OG_DEFINE_MIN_SIZE(og_recon_run, finished_at_ns)
OG_DEFINE_MIN_SIZE(og_idempotency_record, expires_at_ns)
OG_DEFINE_MIN_SIZE(og_write_op, recon_run)
OG_DEFINE_MIN_SIZE(og_order_query, descending)
OG_DEFINE_MIN_SIZE(og_fill_query, descending)
OG_DEFINE_MIN_SIZE(og_event_sink, on_connection)
OG_DEFINE_MIN_SIZE(og_result_sink, on_quote)
OG_DEFINE_MIN_SIZE(og_storage_sink, on_cursor)
OG_DEFINE_MIN_SIZE(og_host_services, now_ns)
OG_DEFINE_MIN_SIZE(og_account_event, at_ns)  // appended in ABI 1.4 (event log)
OG_DEFINE_MIN_SIZE(og_plugin_descriptor, vtable)
// Appended in ABI 1.5 (native GTT): their first sizes.
OG_DEFINE_MIN_SIZE(og_gtt_leg, order)
OG_DEFINE_MIN_SIZE(og_gtt_request, expires_at_ns)
OG_DEFINE_MIN_SIZE(og_gtt_report, updated_at_ns)
#undef OG_DEFINE_MIN_SIZE
template <typename T>
inline constexpr uint32_t kMinSize = MinSize<T>::value;

// Table sizes per ABI minor: a plugin declaring minor N must provide at least kXxxTableSize[N].
inline constexpr uint32_t kBrokerTableSize_1_0 = OG_SIZE_THROUGH(og_broker_vtable, cancel_all);
inline constexpr uint32_t kBrokerTableSize_1_1 = OG_SIZE_THROUGH(og_broker_vtable, ping);
// ABI 1.3 appended the paginated reports (a slot may be NULL: the host pages in one call).
inline constexpr uint32_t kBrokerTableSize_1_3 =
    OG_SIZE_THROUGH(og_broker_vtable, list_fills_page);
// ABI 1.4 appended create_v2, subscribe_prices_v2 and cancel_order_v2 (each may be NULL).
inline constexpr uint32_t kBrokerTableSize_1_4 =
    OG_SIZE_THROUGH(og_broker_vtable, get_capabilities);
// ABI 1.5 appended the native GTT calls (each may be NULL without OG_CAP_NATIVE_GTT).
inline constexpr uint32_t kBrokerTableSize_1_5 = OG_SIZE_THROUGH(og_broker_vtable, list_gtts);
inline constexpr uint32_t kStorageTableSize_1_0 =
    OG_SIZE_THROUGH(og_storage_vtable, list_recon_runs);
// ABI 1.2 appended the idempotency functions. A plugin declaring 1.2 must have them in its table
// (a slot may still be NULL: the host then keeps keys in memory).
inline constexpr uint32_t kStorageTableSize_1_2 =
    OG_SIZE_THROUGH(og_storage_vtable, idempotency_purge);
// ABI 1.3 appended the leases (a slot may be NULL: the host assumes it runs alone).
inline constexpr uint32_t kStorageTableSize_1_3 = OG_SIZE_THROUGH(og_storage_vtable, lease_release);
// ABI 1.4 appended write_batch_v2, create_v2 and get_order_by_request_id (request chains), then
// the event log (every slot may be NULL: the host then uses the older form / has no event log).
inline constexpr uint32_t kStorageTableSize_1_4 =
    OG_SIZE_THROUGH(og_storage_vtable, wait_account_events);
// ABI 1.7 appended idempotency_get (the slot may be NULL: the host then claims keys on their own).
inline constexpr uint32_t kStorageTableSize_1_7 =
    OG_SIZE_THROUGH(og_storage_vtable, idempotency_get);

// The size of the table a plugin declaring `minor` must have at least. For a minor newer than
// this SDK's, the newest size this SDK knows (the rest of the plugin's table is not read).
inline uint32_t broker_table_size_for_minor(uint32_t minor) {
    if (minor == 0) return kBrokerTableSize_1_0;
    if (minor < 3) return kBrokerTableSize_1_1;
    if (minor < 4) return kBrokerTableSize_1_3;
    return minor < 5 ? kBrokerTableSize_1_4 : kBrokerTableSize_1_5;
}
inline uint32_t storage_table_size_for_minor(uint32_t minor) {
    if (minor < 2) return kStorageTableSize_1_0;
    if (minor < 4) return minor < 3 ? kStorageTableSize_1_2 : kStorageTableSize_1_3;
    return minor < 7 ? kStorageTableSize_1_4 : kStorageTableSize_1_7;
}

// Strings longer than this from the other side are refused as implausible (a garbage size would
// otherwise make the copy read far past the buffer).
inline constexpr size_t kMaxStringSize = size_t{16} << 20;

// ---- primitives -----------------------------------------------------------------------------

inline og_str view(std::string_view s) { return og_str{s.data(), s.size()}; }

inline og_opt_decimal to_abi(const std::optional<Decimal>& d) {
    og_opt_decimal out{};
    if (d) {
        out.value = d->to_abi();
        out.has_value = 1;
    }
    return out;
}

inline bool valid_status(int32_t v) { return v >= OG_OK && v <= OG_STATUS_MAX; }

namespace detail {
inline std::string where(const char* record, const char* field) {
    return std::string(record) + ": " + field;
}
}  // namespace detail

inline std::string from_abi(og_str s, const char* record, const char* field) {
    if (s.data == nullptr) {
        if (s.size != 0)
            throw ConvertError(detail::where(record, field) + " has a NULL pointer with size " +
                               std::to_string(s.size));
        return std::string();
    }
    if (s.size > kMaxStringSize)
        throw ConvertError(detail::where(record, field) + " has an implausible size " +
                           std::to_string(s.size));
    return std::string(s.data, s.size);
}

inline Decimal from_abi(og_decimal d, const char* record, const char* field) {
    if (d.scale < 0 || d.scale > Decimal::kMaxScale)
        throw ConvertError(detail::where(record, field) + " has decimal scale " +
                           std::to_string(d.scale) + ", outside 0..18");
    return Decimal(d.mantissa, d.scale);
}

inline std::optional<Decimal> from_abi(og_opt_decimal d, const char* record, const char* field) {
    if (d.has_value == 0) return std::nullopt;
    return from_abi(d.value, record, field);
}

#define OG_ENUM_READER(Name, Type, check, what)                                                  \
    inline Type Name(int32_t v, const char* record, const char* field) {                         \
        if (!check(v))                                                                           \
            throw ConvertError(detail::where(record, field) + " is " + std::to_string(v) +       \
                               ", not a valid " what);                                           \
        return static_cast<Type>(v);                                                             \
    }
OG_ENUM_READER(read_side, Side, valid_side, "side")
OG_ENUM_READER(read_fill_kind, FillKind, valid_fill_kind, "fill kind")
OG_ENUM_READER(read_order_type, OrderType, valid_order_type, "order type")
OG_ENUM_READER(read_time_in_force, TimeInForce, valid_time_in_force, "time in force")
OG_ENUM_READER(read_order_status, OrderStatus, valid_order_status, "order status")
OG_ENUM_READER(read_event_source, EventSource, valid_event_source, "event source")
OG_ENUM_READER(read_status, Status, valid_status, "status")
OG_ENUM_READER(read_gtt_type, GttType, valid_gtt_type, "GTT type")
OG_ENUM_READER(read_gtt_status, GttStatus, valid_gtt_status, "GTT status")
#undef OG_ENUM_READER

// Throws ConvertError when p is NULL or declares a size below its ABI 1.0 size.
template <typename T>
inline void check_record(const T* p, const char* record) {
    if (p == nullptr) throw ConvertError(std::string(record) + ": NULL pointer");
    if (p->size < kMinSize<T>)
        throw ConvertError(std::string(record) + ": size " + std::to_string(p->size) +
                           " is smaller than the ABI 1.0 size " + std::to_string(kMinSize<T>));
}

// ---- C++ -> C (views into the argument; see the top of the file) ----------------------------

inline og_order_request to_abi(const OrderRequest& r) {
    og_order_request c{};
    c.size = sizeof(og_order_request);
    c.client_order_id = view(r.client_order_id);
    c.account_id = view(r.account_id);
    c.symbol = view(r.symbol);
    c.exchange = view(r.exchange);
    c.side = static_cast<og_side>(r.side);
    c.order_type = static_cast<og_order_type>(r.order_type);
    c.time_in_force = static_cast<og_tif>(r.time_in_force);
    c.quantity = r.quantity.to_abi();
    c.price = to_abi(r.price);
    c.trigger_price = to_abi(r.trigger_price);
    c.product = view(r.product);
    c.tag = view(r.tag);
    c.extra_json = view(r.extra_json);
    return c;
}

inline og_modify_request to_abi(const ModifyRequest& r) {
    og_modify_request c{};
    c.size = sizeof(og_modify_request);
    c.broker_order_id = view(r.broker_order_id);
    c.client_order_id = view(r.client_order_id);
    c.account_id = view(r.account_id);
    if (r.quantity) {
        c.has_quantity = 1;
        c.quantity = r.quantity->to_abi();
    }
    c.price = to_abi(r.price);
    c.trigger_price = to_abi(r.trigger_price);
    c.order_type = r.order_type ? static_cast<og_order_type>(*r.order_type) : 0;
    c.time_in_force = r.time_in_force ? static_cast<og_tif>(*r.time_in_force) : 0;
    c.request_id = view(r.request_id);
    c.orig_request_id = view(r.orig_request_id);
    return c;
}

inline og_cancel_request to_abi(const CancelRequest& r) {
    og_cancel_request c{};
    c.size = sizeof(og_cancel_request);
    c.account_id = view(r.account_id);
    c.broker_order_id = view(r.broker_order_id);
    c.client_order_id = view(r.client_order_id);
    c.request_id = view(r.request_id);
    c.orig_request_id = view(r.orig_request_id);
    return c;
}

inline og_order_report to_abi(const OrderReport& r) {
    og_order_report c{};
    c.size = sizeof(og_order_report);
    c.broker_order_id = view(r.broker_order_id);
    c.client_order_id = view(r.client_order_id);
    c.account_id = view(r.account_id);
    c.symbol = view(r.symbol);
    c.exchange = view(r.exchange);
    c.side = static_cast<og_side>(r.side);
    c.order_type = static_cast<og_order_type>(r.order_type);
    c.time_in_force = static_cast<og_tif>(r.time_in_force);
    c.status = static_cast<og_order_status>(r.status);
    c.quantity = r.quantity.to_abi();
    c.filled_quantity = r.filled_quantity.to_abi();
    c.price = to_abi(r.price);
    c.trigger_price = to_abi(r.trigger_price);
    c.average_fill_price = to_abi(r.average_fill_price);
    c.reject_reason = view(r.reject_reason);
    c.updated_at_ns = r.updated_at_ns;
    c.leaves_quantity = to_abi(r.leaves_quantity);
    c.exec_id = view(r.exec_id);
    c.cancel_reject_reason = view(r.cancel_reject_reason);
    c.request_id = view(r.request_id);
    return c;
}

inline og_fill to_abi(const Fill& f) {
    og_fill c{};
    c.size = sizeof(og_fill);
    c.broker_trade_id = view(f.broker_trade_id);
    c.broker_order_id = view(f.broker_order_id);
    c.client_order_id = view(f.client_order_id);
    c.account_id = view(f.account_id);
    c.symbol = view(f.symbol);
    c.exchange = view(f.exchange);
    c.side = static_cast<og_side>(f.side);
    c.quantity = f.quantity.to_abi();
    c.price = f.price.to_abi();
    c.fee = f.fee.to_abi();
    c.executed_at_ns = f.executed_at_ns;
    c.kind = static_cast<og_fill_kind>(f.kind);  // ABI 1.5
    c.ref_trade_id = view(f.ref_trade_id);
    return c;
}

inline og_position to_abi(const Position& p) {
    og_position c{};
    c.size = sizeof(og_position);
    c.account_id = view(p.account_id);
    c.symbol = view(p.symbol);
    c.exchange = view(p.exchange);
    c.quantity = p.quantity.to_abi();
    c.average_price = p.average_price.to_abi();
    return c;
}

inline og_account to_abi(const Account& a) {
    og_account c{};
    c.size = sizeof(og_account);
    c.account_id = view(a.account_id);
    c.currency = view(a.currency);
    c.cash = a.cash.to_abi();
    c.buying_power = a.buying_power.to_abi();
    c.equity = a.equity.to_abi();
    c.margin_used = a.margin_used.to_abi();
    c.status = view(a.status);
    c.updated_at_ns = a.updated_at_ns;
    return c;
}

inline og_quote to_abi(const Quote& q) {
    og_quote c{};
    c.size = sizeof(og_quote);
    c.symbol = view(q.symbol);
    c.exchange = view(q.exchange);
    c.last = q.last.to_abi();
    c.bid = to_abi(q.bid);
    c.ask = to_abi(q.ask);
    c.at_ns = q.at_ns;
    return c;
}

inline og_instrument to_abi(const Instrument& i) {
    return og_instrument{view(i.symbol), view(i.exchange)};
}

inline og_order_record to_abi(const OrderRecord& o) {
    og_order_record c{};
    c.size = sizeof(og_order_record);
    c.id = view(o.id);
    c.client_order_id = view(o.client_order_id);
    c.broker = view(o.broker);
    c.broker_order_id = view(o.broker_order_id);
    c.account_id = view(o.account_id);
    c.symbol = view(o.symbol);
    c.exchange = view(o.exchange);
    c.side = static_cast<og_side>(o.side);
    c.order_type = static_cast<og_order_type>(o.order_type);
    c.time_in_force = static_cast<og_tif>(o.time_in_force);
    c.status = static_cast<og_order_status>(o.status);
    c.quantity = o.quantity.to_abi();
    c.filled_quantity = o.filled_quantity.to_abi();
    c.price = to_abi(o.price);
    c.trigger_price = to_abi(o.trigger_price);
    c.average_fill_price = to_abi(o.average_fill_price);
    c.product = view(o.product);
    c.reject_reason = view(o.reject_reason);
    c.tag = view(o.tag);
    c.extra_json = view(o.extra_json);
    c.created_at_ns = o.created_at_ns;
    c.updated_at_ns = o.updated_at_ns;
    c.version = o.version;
    return c;
}

inline og_order_event to_abi(const OrderEvent& e) {
    og_order_event c{};
    c.size = sizeof(og_order_event);
    c.order_id = view(e.order_id);
    c.seq = e.seq;
    c.from_status = e.from_status ? static_cast<og_order_status>(*e.from_status) : 0;
    c.to_status = static_cast<og_order_status>(e.to_status);
    c.source = static_cast<og_event_source>(e.source);
    c.reason = view(e.reason);
    c.request_id = view(e.request_id);
    c.broker_order_id = view(e.broker_order_id);
    c.filled_quantity = e.filled_quantity.to_abi();
    c.emulated = e.emulated ? 1 : 0;
    c.at_ns = e.at_ns;
    return c;
}

inline og_fill_record to_abi(const FillRecord& f) {
    og_fill_record c{};
    c.size = sizeof(og_fill_record);
    c.id = view(f.id);
    c.order_id = view(f.order_id);
    c.broker = view(f.broker);
    c.broker_trade_id = view(f.broker_trade_id);
    c.account_id = view(f.account_id);
    c.symbol = view(f.symbol);
    c.exchange = view(f.exchange);
    c.side = static_cast<og_side>(f.side);
    c.quantity = f.quantity.to_abi();
    c.price = f.price.to_abi();
    c.fee = f.fee.to_abi();
    c.executed_at_ns = f.executed_at_ns;
    c.kind = static_cast<og_fill_kind>(f.kind);  // ABI 1.5
    c.ref_trade_id = view(f.ref_trade_id);
    return c;
}

inline og_gtt_record to_abi(const GttRecord& g) {
    og_gtt_record c{};
    c.size = sizeof(og_gtt_record);
    c.id = view(g.id);
    c.account_id = view(g.account_id);
    c.symbol = view(g.symbol);
    c.exchange = view(g.exchange);
    c.status = view(g.status);
    c.body_json = view(g.body_json);
    c.expires_at_ns = g.expires_at_ns;
    c.created_at_ns = g.created_at_ns;
    c.updated_at_ns = g.updated_at_ns;
    c.version = g.version;
    return c;
}

inline og_recon_run to_abi(const ReconRun& r) {
    og_recon_run c{};
    c.size = sizeof(og_recon_run);
    c.id = view(r.id);
    c.broker = view(r.broker);
    c.status = view(r.status);
    c.report_json = view(r.report_json);
    c.started_at_ns = r.started_at_ns;
    c.finished_at_ns = r.finished_at_ns;
    return c;
}

// appended in ABI 1.4 (event log)
inline og_account_event to_abi(const AccountEvent& e) {
    og_account_event c{};
    c.size = sizeof(og_account_event);
    c.account_id = view(e.account_id);
    c.seq = e.seq;
    c.topic = view(e.topic);
    c.data_json = view(e.data_json);
    c.at_ns = e.at_ns;
    return c;
}

inline og_idempotency_record to_abi(const IdempotencyRecord& r) {
    og_idempotency_record c{};
    c.size = sizeof(og_idempotency_record);
    c.key = view(r.key);
    c.fingerprint = view(r.fingerprint);
    c.completed = r.completed ? 1 : 0;
    c.response = view(r.response);
    c.expires_at_ns = r.expires_at_ns;
    return c;
}

// A C++ value together with its C view: for passing a temporary across the boundary.
template <typename T>
class Owned {
public:
    using CType = decltype(to_abi(std::declval<const T&>()));
    explicit Owned(T value) : value_(std::move(value)), c_(to_abi(value_)) {}
    Owned(const Owned&) = delete;
    Owned& operator=(const Owned&) = delete;
    const CType* get() const { return &c_; }
    const T& value() const { return value_; }

private:
    T value_;
    CType c_;
};

// Config entries as an og_kv array (views into `entries`, which must outlive this).
class KvView {
public:
    explicit KvView(const std::vector<std::pair<std::string, std::string>>& entries) {
        kv_.reserve(entries.size());
        for (const auto& e : entries) kv_.push_back(og_kv{view(e.first), view(e.second)});
    }
    KvView(const KvView&) = delete;
    KvView& operator=(const KvView&) = delete;
    const og_kv* data() const { return kv_.empty() ? nullptr : kv_.data(); }
    size_t size() const { return kv_.size(); }

private:
    std::vector<og_kv> kv_;
};

// Instruments as an og_instrument array (views into `instruments`, which must outlive this).
class InstrumentsView {
public:
    explicit InstrumentsView(const std::vector<Instrument>& instruments) {
        items_.reserve(instruments.size());
        for (const auto& i : instruments) items_.push_back(to_abi(i));
    }
    InstrumentsView(const InstrumentsView&) = delete;
    InstrumentsView& operator=(const InstrumentsView&) = delete;
    const og_instrument* data() const { return items_.empty() ? nullptr : items_.data(); }
    size_t size() const { return items_.size(); }

private:
    std::vector<og_instrument> items_;
};

// A list of strings as an og_str array (views into `strings`, which must outlive this).
class StrArrayView {
public:
    explicit StrArrayView(const std::vector<std::string>& strings) {
        items_.reserve(strings.size());
        for (const auto& s : strings) items_.push_back(view(s));
    }
    StrArrayView(const StrArrayView&) = delete;
    StrArrayView& operator=(const StrArrayView&) = delete;
    const og_str* data() const { return items_.empty() ? nullptr : items_.data(); }
    size_t size() const { return items_.size(); }

private:
    std::vector<og_str> items_;
};

// A write batch as an og_write_op array; each op points at the records its kind uses and NULL
// elsewhere. Views into `ops`, which must outlive this.
class WriteBatchView {
public:
    explicit WriteBatchView(const std::vector<WriteOp>& ops) : slots_(ops.size()) {
        c_ops_.reserve(ops.size());
        for (size_t i = 0; i < ops.size(); ++i) {
            const WriteOp& op = ops[i];
            Slot& s = slots_[i];
            og_write_op c{};
            c.size = sizeof(og_write_op);
            c.kind = static_cast<og_write_kind>(op.kind);
            c.flags = op.requires_previous ? OG_WRITE_FLAG_REQUIRES_PREVIOUS : 0u;
            c.expected_version = op.expected_version;
            switch (op.kind) {
                case WriteKind::InsertOrder:
                case WriteKind::UpdateOrder:
                    s.order = to_abi(op.order);
                    s.event = to_abi(op.event);
                    c.order = &s.order;
                    c.event = &s.event;
                    break;
                case WriteKind::InsertFill:
                    s.fill = to_abi(op.fill);
                    c.fill = &s.fill;
                    break;
                case WriteKind::UpsertGtt:
                    s.gtt = to_abi(op.gtt);
                    c.gtt = &s.gtt;
                    break;
                case WriteKind::UpsertReconRun:
                    s.run = to_abi(op.recon_run);
                    c.recon_run = &s.run;
                    break;
                case WriteKind::AppendEvent:  // appended in ABI 1.4 (event log)
                    s.account_event = to_abi(op.account_event);
                    c.account_event = &s.account_event;
                    break;
                case WriteKind::ClaimIdempotency:  // appended in ABI 1.7
                case WriteKind::CompleteIdempotency:
                    s.idempotency = to_abi(op.idempotency);
                    c.idempotency = &s.idempotency;
                    c.now_ns = op.now_ns;
                    break;
            }
            c_ops_.push_back(c);
        }
    }
    WriteBatchView(const WriteBatchView&) = delete;
    WriteBatchView& operator=(const WriteBatchView&) = delete;
    const og_write_op* data() const { return c_ops_.empty() ? nullptr : c_ops_.data(); }
    size_t size() const { return c_ops_.size(); }
    // The same ops as the array write_batch (ABI 1.0) reads: elements of og_write_op's ABI 1.0
    // size, which is the stride every 1.0-1.3 plugin indexes with, whatever a later minor
    // appends to og_write_op (the fields it appended are then not passed).
    const og_write_op* legacy_data() {
        constexpr size_t kLegacy = kMinSize<og_write_op>;
        if constexpr (sizeof(og_write_op) == kLegacy) {
            return data();
        } else {
            static_assert(kLegacy % alignof(og_write_op) == 0, "og_write_op stride");
            legacy_.assign((c_ops_.size() * kLegacy + sizeof(uint64_t) - 1) / sizeof(uint64_t),
                           0);
            auto* out = reinterpret_cast<unsigned char*>(legacy_.data());
            for (size_t i = 0; i < c_ops_.size(); ++i) {
                og_write_op op = c_ops_[i];
                op.size = static_cast<uint32_t>(kLegacy);
                std::memcpy(out + i * kLegacy, &op, kLegacy);
            }
            return c_ops_.empty() ? nullptr : reinterpret_cast<const og_write_op*>(out);
        }
    }
    // ABI 1.4 (write_batch_v2): the same ops as an array of pointers.
    const og_write_op* const* pointers() {
        if (pointers_.size() != c_ops_.size()) {
            pointers_.clear();
            for (const og_write_op& op : c_ops_) pointers_.push_back(&op);
        }
        return pointers_.empty() ? nullptr : pointers_.data();
    }

private:
    struct Slot {
        og_order_record order{};
        og_order_event event{};
        og_fill_record fill{};
        og_gtt_record gtt{};
        og_recon_run run{};
        og_account_event account_event{};  // appended in ABI 1.4 (event log)
        og_idempotency_record idempotency{};  // appended in ABI 1.7
    };
    std::vector<Slot> slots_;  // sized once in the constructor: addresses never move
    std::vector<og_write_op> c_ops_;
    std::vector<const og_write_op*> pointers_;
    std::vector<uint64_t> legacy_;
};

// An order query (views into `q`, which must outlive this).
class OrderQueryView {
public:
    explicit OrderQueryView(const OrderQuery& q) : accounts_(q.account_ids) {
        c_.size = sizeof(og_order_query);
        c_.account_ids = accounts_.data();
        c_.account_count = accounts_.size();
        c_.status = q.status ? static_cast<og_order_status>(*q.status) : 0;
        c_.open_only = q.open_only ? 1 : 0;
        c_.symbol = view(q.symbol);
        c_.broker = view(q.broker);
        c_.since_ns = q.since_ns;
        c_.cursor = view(q.cursor);
        c_.limit = q.limit;
        c_.descending = q.descending ? 1 : 0;
    }
    OrderQueryView(const OrderQueryView&) = delete;
    OrderQueryView& operator=(const OrderQueryView&) = delete;
    const og_order_query* get() const { return &c_; }

private:
    StrArrayView accounts_;
    og_order_query c_{};
};

// A fill query (views into `q`, which must outlive this).
class FillQueryView {
public:
    explicit FillQueryView(const FillQuery& q) : accounts_(q.account_ids) {
        c_.size = sizeof(og_fill_query);
        c_.account_ids = accounts_.data();
        c_.account_count = accounts_.size();
        c_.order_id = view(q.order_id);
        c_.since_ns = q.since_ns;
        c_.cursor = view(q.cursor);
        c_.limit = q.limit;
        c_.descending = q.descending ? 1 : 0;
    }
    FillQueryView(const FillQueryView&) = delete;
    FillQueryView& operator=(const FillQueryView&) = delete;
    const og_fill_query* get() const { return &c_; }

private:
    StrArrayView accounts_;
    og_fill_query c_{};
};

// ---- C -> C++ (validating; throw ConvertError) ----------------------------------------------

inline OrderRequest from_abi(const og_order_request* c) {
    const char* R = "order request";
    check_record(c, R);
    OrderRequest r;
    r.client_order_id = from_abi(c->client_order_id, R, "client_order_id");
    r.account_id = from_abi(c->account_id, R, "account_id");
    r.symbol = from_abi(c->symbol, R, "symbol");
    r.exchange = from_abi(c->exchange, R, "exchange");
    r.side = read_side(c->side, R, "side");
    r.order_type = read_order_type(c->order_type, R, "order_type");
    r.time_in_force = read_time_in_force(c->time_in_force, R, "time_in_force");
    r.quantity = from_abi(c->quantity, R, "quantity");
    r.price = from_abi(c->price, R, "price");
    r.trigger_price = from_abi(c->trigger_price, R, "trigger_price");
    r.product = from_abi(c->product, R, "product");
    r.tag = from_abi(c->tag, R, "tag");
    r.extra_json = from_abi(c->extra_json, R, "extra_json");
    return r;
}

inline ModifyRequest from_abi(const og_modify_request* c) {
    const char* R = "modify request";
    check_record(c, R);
    ModifyRequest r;
    r.broker_order_id = from_abi(c->broker_order_id, R, "broker_order_id");
    r.client_order_id = from_abi(c->client_order_id, R, "client_order_id");
    r.account_id = from_abi(c->account_id, R, "account_id");
    if (c->has_quantity != 0) r.quantity = from_abi(c->quantity, R, "quantity");
    r.price = from_abi(c->price, R, "price");
    r.trigger_price = from_abi(c->trigger_price, R, "trigger_price");
    if (c->order_type != 0) r.order_type = read_order_type(c->order_type, R, "order_type");
    if (c->time_in_force != 0)
        r.time_in_force = read_time_in_force(c->time_in_force, R, "time_in_force");
    // Appended in ABI 1.4: an older host's request ends before them (no chain ids).
    if (OG_HAS_FIELD(c, og_modify_request, request_id))
        r.request_id = from_abi(c->request_id, R, "request_id");
    if (OG_HAS_FIELD(c, og_modify_request, orig_request_id))
        r.orig_request_id = from_abi(c->orig_request_id, R, "orig_request_id");
    return r;
}

inline CancelRequest from_abi(const og_cancel_request* c) {
    const char* R = "cancel request";
    check_record(c, R);
    CancelRequest r;
    r.account_id = from_abi(c->account_id, R, "account_id");
    r.broker_order_id = from_abi(c->broker_order_id, R, "broker_order_id");
    r.client_order_id = from_abi(c->client_order_id, R, "client_order_id");
    r.request_id = from_abi(c->request_id, R, "request_id");
    r.orig_request_id = from_abi(c->orig_request_id, R, "orig_request_id");
    return r;
}

inline OrderReport from_abi(const og_order_report* c) {
    const char* R = "order report";
    check_record(c, R);
    OrderReport r;
    r.broker_order_id = from_abi(c->broker_order_id, R, "broker_order_id");
    r.client_order_id = from_abi(c->client_order_id, R, "client_order_id");
    r.account_id = from_abi(c->account_id, R, "account_id");
    r.symbol = from_abi(c->symbol, R, "symbol");
    r.exchange = from_abi(c->exchange, R, "exchange");
    r.side = read_side(c->side, R, "side");
    r.order_type = read_order_type(c->order_type, R, "order_type");
    r.time_in_force = read_time_in_force(c->time_in_force, R, "time_in_force");
    r.status = read_order_status(c->status, R, "status");
    r.quantity = from_abi(c->quantity, R, "quantity");
    r.filled_quantity = from_abi(c->filled_quantity, R, "filled_quantity");
    r.price = from_abi(c->price, R, "price");
    r.trigger_price = from_abi(c->trigger_price, R, "trigger_price");
    r.average_fill_price = from_abi(c->average_fill_price, R, "average_fill_price");
    r.reject_reason = from_abi(c->reject_reason, R, "reject_reason");
    r.updated_at_ns = c->updated_at_ns;
    // Appended in ABI 1.3: an older plugin's report ends before them (they stay "not reported").
    if (OG_HAS_FIELD(c, og_order_report, leaves_quantity))
        r.leaves_quantity = from_abi(c->leaves_quantity, R, "leaves_quantity");
    if (OG_HAS_FIELD(c, og_order_report, exec_id))
        r.exec_id = from_abi(c->exec_id, R, "exec_id");
    if (OG_HAS_FIELD(c, og_order_report, cancel_reject_reason))
        r.cancel_reject_reason = from_abi(c->cancel_reject_reason, R, "cancel_reject_reason");
    // Appended in ABI 1.4.
    if (OG_HAS_FIELD(c, og_order_report, request_id))
        r.request_id = from_abi(c->request_id, R, "request_id");
    return r;
}

inline Fill from_abi(const og_fill* c) {
    const char* R = "fill";
    check_record(c, R);
    Fill f;
    f.broker_trade_id = from_abi(c->broker_trade_id, R, "broker_trade_id");
    f.broker_order_id = from_abi(c->broker_order_id, R, "broker_order_id");
    f.client_order_id = from_abi(c->client_order_id, R, "client_order_id");
    f.account_id = from_abi(c->account_id, R, "account_id");
    f.symbol = from_abi(c->symbol, R, "symbol");
    f.exchange = from_abi(c->exchange, R, "exchange");
    f.side = read_side(c->side, R, "side");
    f.quantity = from_abi(c->quantity, R, "quantity");
    f.price = from_abi(c->price, R, "price");
    f.fee = from_abi(c->fee, R, "fee");
    f.executed_at_ns = c->executed_at_ns;
    // Appended in ABI 1.5: an older plugin's record ends before them (a trade).
    if (OG_HAS_FIELD(c, og_fill, kind)) f.kind = read_fill_kind(c->kind, R, "kind");
    if (OG_HAS_FIELD(c, og_fill, ref_trade_id))
        f.ref_trade_id = from_abi(c->ref_trade_id, R, "ref_trade_id");
    if (f.kind != FillKind::Trade && f.ref_trade_id.empty())
        throw ConvertError(std::string(R) + ": a " + std::string(to_string(f.kind)) +
                           " without ref_trade_id (the execution it acts on)");
    return f;
}

inline Position from_abi(const og_position* c) {
    const char* R = "position";
    check_record(c, R);
    Position p;
    p.account_id = from_abi(c->account_id, R, "account_id");
    p.symbol = from_abi(c->symbol, R, "symbol");
    p.exchange = from_abi(c->exchange, R, "exchange");
    p.quantity = from_abi(c->quantity, R, "quantity");
    p.average_price = from_abi(c->average_price, R, "average_price");
    return p;
}

inline Account from_abi(const og_account* c) {
    const char* R = "account";
    check_record(c, R);
    Account a;
    a.account_id = from_abi(c->account_id, R, "account_id");
    a.currency = from_abi(c->currency, R, "currency");
    a.cash = from_abi(c->cash, R, "cash");
    a.buying_power = from_abi(c->buying_power, R, "buying_power");
    a.equity = from_abi(c->equity, R, "equity");
    a.margin_used = from_abi(c->margin_used, R, "margin_used");
    a.status = from_abi(c->status, R, "status");
    a.updated_at_ns = c->updated_at_ns;
    return a;
}

inline Quote from_abi(const og_quote* c) {
    const char* R = "quote";
    check_record(c, R);
    Quote q;
    q.symbol = from_abi(c->symbol, R, "symbol");
    q.exchange = from_abi(c->exchange, R, "exchange");
    q.last = from_abi(c->last, R, "last");
    q.bid = from_abi(c->bid, R, "bid");
    q.ask = from_abi(c->ask, R, "ask");
    q.at_ns = c->at_ns;
    return q;
}

inline Instrument from_abi(const og_instrument* c) {
    const char* R = "instrument";
    if (c == nullptr) throw ConvertError("instrument: NULL pointer");
    return Instrument{from_abi(c->symbol, R, "symbol"), from_abi(c->exchange, R, "exchange")};
}

inline std::vector<Instrument> from_abi(const og_instrument* items, size_t count) {
    if (items == nullptr && count != 0) throw ConvertError("instruments: NULL array with items");
    std::vector<Instrument> out;
    out.reserve(count);
    for (size_t i = 0; i < count; ++i) out.push_back(from_abi(&items[i]));
    return out;
}

// ABI 1.4: arrays of elements `element_size` bytes apart (the writer's sizeof). An element
// smaller than its ABI 1.0 size is refused; bytes past what this SDK knows are ignored.
inline std::vector<Instrument> from_abi(const og_instrument* items, size_t count,
                                        size_t element_size) {
    if (items == nullptr && count != 0) throw ConvertError("instruments: NULL array with items");
    if (count != 0 && element_size < sizeof(og_instrument))
        throw ConvertError("instruments: element size " + std::to_string(element_size) +
                           " is smaller than the ABI 1.0 size " +
                           std::to_string(sizeof(og_instrument)));
    std::vector<Instrument> out;
    out.reserve(count);
    const auto* base = reinterpret_cast<const unsigned char*>(items);
    for (size_t i = 0; i < count; ++i)
        out.push_back(from_abi(reinterpret_cast<const og_instrument*>(base + i * element_size)));
    return out;
}

inline std::vector<std::pair<std::string, std::string>> from_abi(const og_kv* kv, size_t count,
                                                                 size_t element_size) {
    if (kv == nullptr && count != 0) throw ConvertError("config: NULL array with entries");
    if (count != 0 && element_size < sizeof(og_kv))
        throw ConvertError("config: element size " + std::to_string(element_size) +
                           " is smaller than the ABI 1.0 size " + std::to_string(sizeof(og_kv)));
    std::vector<std::pair<std::string, std::string>> out;
    out.reserve(count);
    const auto* base = reinterpret_cast<const unsigned char*>(kv);
    for (size_t i = 0; i < count; ++i) {
        const auto* e = reinterpret_cast<const og_kv*>(base + i * element_size);
        out.emplace_back(from_abi(e->key, "config", "key"), from_abi(e->value, "config", "value"));
    }
    return out;
}

inline std::vector<std::pair<std::string, std::string>> from_abi(const og_kv* kv, size_t count) {
    if (kv == nullptr && count != 0) throw ConvertError("config: NULL array with entries");
    std::vector<std::pair<std::string, std::string>> out;
    out.reserve(count);
    for (size_t i = 0; i < count; ++i)
        out.emplace_back(from_abi(kv[i].key, "config", "key"),
                         from_abi(kv[i].value, "config", "value"));
    return out;
}

inline std::vector<std::string> from_abi(const og_str* items, size_t count, const char* record,
                                         const char* field) {
    if (items == nullptr && count != 0)
        throw ConvertError(detail::where(record, field) + ": NULL array with items");
    std::vector<std::string> out;
    out.reserve(count);
    for (size_t i = 0; i < count; ++i) out.push_back(from_abi(items[i], record, field));
    return out;
}

inline OrderRecord from_abi(const og_order_record* c) {
    const char* R = "order record";
    check_record(c, R);
    OrderRecord o;
    o.id = from_abi(c->id, R, "id");
    o.client_order_id = from_abi(c->client_order_id, R, "client_order_id");
    o.broker = from_abi(c->broker, R, "broker");
    o.broker_order_id = from_abi(c->broker_order_id, R, "broker_order_id");
    o.account_id = from_abi(c->account_id, R, "account_id");
    o.symbol = from_abi(c->symbol, R, "symbol");
    o.exchange = from_abi(c->exchange, R, "exchange");
    o.side = read_side(c->side, R, "side");
    o.order_type = read_order_type(c->order_type, R, "order_type");
    o.time_in_force = read_time_in_force(c->time_in_force, R, "time_in_force");
    o.status = read_order_status(c->status, R, "status");
    o.quantity = from_abi(c->quantity, R, "quantity");
    o.filled_quantity = from_abi(c->filled_quantity, R, "filled_quantity");
    o.price = from_abi(c->price, R, "price");
    o.trigger_price = from_abi(c->trigger_price, R, "trigger_price");
    o.average_fill_price = from_abi(c->average_fill_price, R, "average_fill_price");
    o.product = from_abi(c->product, R, "product");
    o.reject_reason = from_abi(c->reject_reason, R, "reject_reason");
    o.tag = from_abi(c->tag, R, "tag");
    o.extra_json = from_abi(c->extra_json, R, "extra_json");
    o.created_at_ns = c->created_at_ns;
    o.updated_at_ns = c->updated_at_ns;
    o.version = c->version;
    return o;
}

inline OrderEvent from_abi(const og_order_event* c) {
    const char* R = "order event";
    check_record(c, R);
    OrderEvent e;
    e.order_id = from_abi(c->order_id, R, "order_id");
    e.seq = c->seq;
    if (c->from_status != 0) e.from_status = read_order_status(c->from_status, R, "from_status");
    e.to_status = read_order_status(c->to_status, R, "to_status");
    e.source = read_event_source(c->source, R, "source");
    e.reason = from_abi(c->reason, R, "reason");
    e.request_id = from_abi(c->request_id, R, "request_id");
    e.broker_order_id = from_abi(c->broker_order_id, R, "broker_order_id");
    e.filled_quantity = from_abi(c->filled_quantity, R, "filled_quantity");
    e.emulated = c->emulated != 0;
    e.at_ns = c->at_ns;
    return e;
}

inline FillRecord from_abi(const og_fill_record* c) {
    const char* R = "fill record";
    check_record(c, R);
    FillRecord f;
    f.id = from_abi(c->id, R, "id");
    f.order_id = from_abi(c->order_id, R, "order_id");
    f.broker = from_abi(c->broker, R, "broker");
    f.broker_trade_id = from_abi(c->broker_trade_id, R, "broker_trade_id");
    f.account_id = from_abi(c->account_id, R, "account_id");
    f.symbol = from_abi(c->symbol, R, "symbol");
    f.exchange = from_abi(c->exchange, R, "exchange");
    f.side = read_side(c->side, R, "side");
    f.quantity = from_abi(c->quantity, R, "quantity");
    f.price = from_abi(c->price, R, "price");
    f.fee = from_abi(c->fee, R, "fee");
    f.executed_at_ns = c->executed_at_ns;
    // Appended in ABI 1.5: an older plugin's record ends before them (a trade).
    if (OG_HAS_FIELD(c, og_fill_record, kind)) f.kind = read_fill_kind(c->kind, R, "kind");
    if (OG_HAS_FIELD(c, og_fill_record, ref_trade_id))
        f.ref_trade_id = from_abi(c->ref_trade_id, R, "ref_trade_id");
    if (f.kind != FillKind::Trade && f.ref_trade_id.empty())
        throw ConvertError(std::string(R) + ": a " + std::string(to_string(f.kind)) +
                           " without ref_trade_id (the execution it acts on)");
    return f;
}

inline GttRecord from_abi(const og_gtt_record* c) {
    const char* R = "gtt record";
    check_record(c, R);
    GttRecord g;
    g.id = from_abi(c->id, R, "id");
    g.account_id = from_abi(c->account_id, R, "account_id");
    g.symbol = from_abi(c->symbol, R, "symbol");
    g.exchange = from_abi(c->exchange, R, "exchange");
    g.status = from_abi(c->status, R, "status");
    g.body_json = from_abi(c->body_json, R, "body_json");
    g.expires_at_ns = c->expires_at_ns;
    g.created_at_ns = c->created_at_ns;
    g.updated_at_ns = c->updated_at_ns;
    g.version = c->version;
    return g;
}

inline ReconRun from_abi(const og_recon_run* c) {
    const char* R = "recon run";
    check_record(c, R);
    ReconRun r;
    r.id = from_abi(c->id, R, "id");
    r.broker = from_abi(c->broker, R, "broker");
    r.status = from_abi(c->status, R, "status");
    r.report_json = from_abi(c->report_json, R, "report_json");
    r.started_at_ns = c->started_at_ns;
    r.finished_at_ns = c->finished_at_ns;
    return r;
}

// appended in ABI 1.4 (event log)
inline AccountEvent from_abi(const og_account_event* c) {
    const char* R = "account event";
    check_record(c, R);
    AccountEvent e;
    e.account_id = from_abi(c->account_id, R, "account_id");
    e.seq = c->seq;
    e.topic = from_abi(c->topic, R, "topic");
    e.data_json = from_abi(c->data_json, R, "data_json");
    e.at_ns = c->at_ns;
    return e;
}

inline IdempotencyRecord from_abi(const og_idempotency_record* c) {
    const char* R = "idempotency record";
    check_record(c, R);
    if (c->completed != 0 && c->completed != 1)
        throw ConvertError(std::string(R) + ": completed " + std::to_string(c->completed) +
                           " is not 0 or 1");
    IdempotencyRecord r;
    r.key = from_abi(c->key, R, "key");
    r.fingerprint = from_abi(c->fingerprint, R, "fingerprint");
    r.completed = c->completed == 1;
    r.response = from_abi(c->response, R, "response");
    r.expires_at_ns = c->expires_at_ns;
    return r;
}

// One op of a batch, into `op` (a default WriteOp); the records its kind needs must be present.
// Flags this SDK does not know are refused (their meaning cannot be honoured). A batch converts
// its ops in place, so that no WriteOp (it holds every kind of record) is moved into its vector.
inline void from_abi(const og_write_op* c, WriteOp& op) {
    const char* R = "write op";
    check_record(c, R);
    if ((c->flags & ~OG_WRITE_FLAG_REQUIRES_PREVIOUS) != 0u)
        throw ConvertError("write op: unknown flags " + std::to_string(c->flags));
    op.requires_previous = (c->flags & OG_WRITE_FLAG_REQUIRES_PREVIOUS) != 0u;
    op.expected_version = c->expected_version;
    switch (c->kind) {
        case OG_WRITE_INSERT_ORDER:
        case OG_WRITE_UPDATE_ORDER:
            op.kind = static_cast<WriteKind>(c->kind);
            op.order = from_abi(c->order);
            op.event = from_abi(c->event);
            break;
        case OG_WRITE_INSERT_FILL:
            op.kind = WriteKind::InsertFill;
            op.fill = from_abi(c->fill);
            break;
        case OG_WRITE_UPSERT_GTT:
            op.kind = WriteKind::UpsertGtt;
            op.gtt = from_abi(c->gtt);
            break;
        case OG_WRITE_UPSERT_RECON_RUN:
            op.kind = WriteKind::UpsertReconRun;
            op.recon_run = from_abi(c->recon_run);
            break;
        case OG_WRITE_APPEND_EVENT:  // appended in ABI 1.4 (event log)
            if (!OG_HAS_FIELD(c, og_write_op, account_event))
                throw ConvertError("write op: an append-event op from a host older than ABI 1.4");
            op.kind = WriteKind::AppendEvent;
            op.account_event = from_abi(c->account_event);
            break;
        case OG_WRITE_CLAIM_IDEMPOTENCY:  // appended in ABI 1.7
        case OG_WRITE_COMPLETE_IDEMPOTENCY:
            if (!OG_HAS_FIELD(c, og_write_op, now_ns))
                throw ConvertError("write op: an idempotency op from a host older than ABI 1.7");
            op.kind = static_cast<WriteKind>(c->kind);
            op.idempotency = from_abi(c->idempotency);
            op.now_ns = c->now_ns;
            if (op.idempotency.key.empty())
                throw ConvertError("write op: an idempotency op with an empty key");
            if (op.idempotency.completed != (c->kind == OG_WRITE_COMPLETE_IDEMPOTENCY))
                throw ConvertError(c->kind == OG_WRITE_CLAIM_IDEMPOTENCY
                                       ? "write op: a claim of a completed record"
                                       : "write op: a completion of a record in flight");
            break;
        default:
            throw ConvertError("write op: kind " + std::to_string(c->kind) +
                               " is not a valid write kind");
    }
}

inline WriteOp from_abi(const og_write_op* c) {
    WriteOp op;
    from_abi(c, op);
    return op;
}

inline std::vector<WriteOp> from_abi(const og_write_op* ops, size_t count) {
    if (ops == nullptr && count != 0) throw ConvertError("write batch: NULL array with ops");
    std::vector<WriteOp> out;
    out.reserve(count);
    for (size_t i = 0; i < count; ++i) from_abi(&ops[i], out.emplace_back());
    return out;
}

// ABI 1.4 (write_batch_v2): an array of pointers, each op read with its own size.
inline std::vector<WriteOp> from_abi(const og_write_op* const* ops, size_t count) {
    if (ops == nullptr && count != 0) throw ConvertError("write batch: NULL array with ops");
    std::vector<WriteOp> out;
    out.reserve(count);
    for (size_t i = 0; i < count; ++i) from_abi(ops[i], out.emplace_back());
    return out;
}

inline OrderQuery from_abi(const og_order_query* c) {
    const char* R = "order query";
    check_record(c, R);
    OrderQuery q;
    q.account_ids = from_abi(c->account_ids, c->account_count, R, "account_ids");
    if (c->status != 0) q.status = read_order_status(c->status, R, "status");
    q.open_only = c->open_only != 0;
    q.symbol = from_abi(c->symbol, R, "symbol");
    q.broker = from_abi(c->broker, R, "broker");
    q.since_ns = c->since_ns;
    q.cursor = from_abi(c->cursor, R, "cursor");
    q.limit = c->limit;
    q.descending = c->descending != 0;
    return q;
}

inline FillQuery from_abi(const og_fill_query* c) {
    const char* R = "fill query";
    check_record(c, R);
    FillQuery q;
    q.account_ids = from_abi(c->account_ids, c->account_count, R, "account_ids");
    q.order_id = from_abi(c->order_id, R, "order_id");
    q.since_ns = c->since_ns;
    q.cursor = from_abi(c->cursor, R, "cursor");
    q.limit = c->limit;
    q.descending = c->descending != 0;
    return q;
}

// ---- ABI 1.5: native GTT -------------------------------------------------------------------

// A GTT's legs as an og_gtt_leg array with their og_order_request (views into `legs`, which
// must outlive this). The array's element size is sizeof(og_gtt_leg).
class GttLegsView {
public:
    explicit GttLegsView(const std::vector<GttLeg>& legs) {
        orders_.reserve(legs.size());
        legs_.reserve(legs.size());
        for (const GttLeg& l : legs) orders_.push_back(to_abi(l.order));
        for (size_t i = 0; i < legs.size(); ++i) {
            og_gtt_leg c{};
            c.size = sizeof(og_gtt_leg);
            c.trigger_price = legs[i].trigger_price.to_abi();
            c.order = &orders_[i];
            legs_.push_back(c);
        }
    }
    GttLegsView(const GttLegsView&) = delete;
    GttLegsView& operator=(const GttLegsView&) = delete;
    const og_gtt_leg* data() const { return legs_.empty() ? nullptr : legs_.data(); }
    size_t size() const { return legs_.size(); }

private:
    std::vector<og_order_request> orders_;
    std::vector<og_gtt_leg> legs_;
};

// A GttRequest as og_gtt_request (views into `request`, which must outlive this).
class GttRequestView {
public:
    explicit GttRequestView(const GttRequest& r) : legs_(r.legs) {
        c_.size = sizeof(og_gtt_request);
        c_.gtt_id = view(r.gtt_id);
        c_.broker_gtt_id = view(r.broker_gtt_id);
        c_.account_id = view(r.account_id);
        c_.symbol = view(r.symbol);
        c_.exchange = view(r.exchange);
        c_.type = static_cast<og_gtt_type>(r.type);
        c_.legs = legs_.data();
        c_.leg_count = legs_.size();
        c_.leg_size = sizeof(og_gtt_leg);
        c_.expires_at_ns = r.expires_at_ns;
    }
    GttRequestView(const GttRequestView&) = delete;
    GttRequestView& operator=(const GttRequestView&) = delete;
    const og_gtt_request* get() const { return &c_; }

private:
    GttLegsView legs_;
    og_gtt_request c_{};
};

// A GttReport as og_gtt_report (views into `report`, which must outlive this).
class GttReportView {
public:
    explicit GttReportView(const GttReport& r) : legs_(r.legs) {
        c_.size = sizeof(og_gtt_report);
        c_.gtt_id = view(r.gtt_id);
        c_.broker_gtt_id = view(r.broker_gtt_id);
        c_.account_id = view(r.account_id);
        c_.symbol = view(r.symbol);
        c_.exchange = view(r.exchange);
        c_.type = static_cast<og_gtt_type>(r.type);
        c_.status = static_cast<og_gtt_status>(r.status);
        c_.legs = legs_.data();
        c_.leg_count = legs_.size();
        c_.leg_size = sizeof(og_gtt_leg);
        c_.expires_at_ns = r.expires_at_ns;
        c_.triggered_leg = r.triggered_leg ? static_cast<int32_t>(*r.triggered_leg) : -1;
        c_.order_client_order_id = view(r.order_client_order_id);
        c_.broker_order_id = view(r.broker_order_id);
        c_.reject_reason = view(r.reject_reason);
        c_.updated_at_ns = r.updated_at_ns;
    }
    GttReportView(const GttReportView&) = delete;
    GttReportView& operator=(const GttReportView&) = delete;
    const og_gtt_report* get() const { return &c_; }

private:
    GttLegsView legs_;
    og_gtt_report c_{};
};

// Legs `element_size` bytes apart, each read with its own size. At most 2 legs (OCO); more is
// refused as implausible.
inline std::vector<GttLeg> from_abi(const og_gtt_leg* legs, size_t count, size_t element_size,
                                    const char* record) {
    if (legs == nullptr && count != 0)
        throw ConvertError(std::string(record) + ": legs: NULL array with items");
    if (count > 2)
        throw ConvertError(std::string(record) + ": legs: " + std::to_string(count) +
                           " legs, a GTT has at most 2");
    if (count != 0 && element_size < kMinSize<og_gtt_leg>)
        throw ConvertError(std::string(record) + ": legs: element size " +
                           std::to_string(element_size) + " is smaller than the ABI 1.5 size " +
                           std::to_string(kMinSize<og_gtt_leg>));
    std::vector<GttLeg> out;
    out.reserve(count);
    const auto* base = reinterpret_cast<const unsigned char*>(legs);
    for (size_t i = 0; i < count; ++i) {
        const auto* c = reinterpret_cast<const og_gtt_leg*>(base + i * element_size);
        check_record(c, "GTT leg");
        if (c->size > element_size)
            throw ConvertError(std::string(record) + ": legs: leg size " + std::to_string(c->size) +
                               " exceeds the element size " + std::to_string(element_size));
        GttLeg leg;
        leg.trigger_price = from_abi(c->trigger_price, "GTT leg", "trigger_price");
        leg.order = from_abi(c->order);
        out.push_back(std::move(leg));
    }
    return out;
}

inline GttRequest from_abi(const og_gtt_request* c) {
    const char* R = "GTT request";
    check_record(c, R);
    GttRequest r;
    r.gtt_id = from_abi(c->gtt_id, R, "gtt_id");
    r.broker_gtt_id = from_abi(c->broker_gtt_id, R, "broker_gtt_id");
    r.account_id = from_abi(c->account_id, R, "account_id");
    r.symbol = from_abi(c->symbol, R, "symbol");
    r.exchange = from_abi(c->exchange, R, "exchange");
    r.type = read_gtt_type(c->type, R, "type");
    r.legs = from_abi(c->legs, c->leg_count, c->leg_size, R);
    r.expires_at_ns = c->expires_at_ns;
    return r;
}

inline GttReport from_abi(const og_gtt_report* c) {
    const char* R = "GTT report";
    check_record(c, R);
    GttReport r;
    r.gtt_id = from_abi(c->gtt_id, R, "gtt_id");
    r.broker_gtt_id = from_abi(c->broker_gtt_id, R, "broker_gtt_id");
    r.account_id = from_abi(c->account_id, R, "account_id");
    r.symbol = from_abi(c->symbol, R, "symbol");
    r.exchange = from_abi(c->exchange, R, "exchange");
    r.type = read_gtt_type(c->type, R, "type");
    r.status = read_gtt_status(c->status, R, "status");
    r.legs = from_abi(c->legs, c->leg_count, c->leg_size, R);
    r.expires_at_ns = c->expires_at_ns;
    // -1: none; else a leg of the report (or of an OCO when the venue does not list the legs).
    const int32_t legs = static_cast<int32_t>(c->leg_count == 0 ? 2 : c->leg_count);
    if (c->triggered_leg < -1 || c->triggered_leg >= legs)
        throw ConvertError(std::string(R) + ": triggered_leg " + std::to_string(c->triggered_leg) +
                           " names no leg");
    if (c->triggered_leg >= 0) r.triggered_leg = static_cast<uint32_t>(c->triggered_leg);
    r.order_client_order_id = from_abi(c->order_client_order_id, R, "order_client_order_id");
    r.broker_order_id = from_abi(c->broker_order_id, R, "broker_order_id");
    r.reject_reason = from_abi(c->reject_reason, R, "reject_reason");
    r.updated_at_ns = c->updated_at_ns;
    return r;
}

}  // namespace ordergate::abi
