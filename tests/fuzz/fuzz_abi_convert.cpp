// The ABI converters (ordergate/abi_convert.hpp) fed garbage, as a buggy or hostile plugin would
// hand the host its records: sizes, enums, decimals, flags, counts and string lengths are
// arbitrary; pointers are NULL or point at real bytes (a wild pointer cannot be checked by any
// converter), and string sizes beyond the bytes behind them are above kMaxStringSize.
//
// Invariants: from_abi() returns or throws abi::ConvertError, nothing else; what it accepts
// converts back (to_abi) and again (from_abi) to the same record, with every string and
// timestamp as the plugin sent it; and the API prints an accepted order, event or fill (the
// host's next step with a plugin's record) as valid JSON without throwing.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "api/wire.hpp"
#include <type_traits>

#include "fuzz_check.hpp"
#include "json/json.hpp"
#include "ordergate/abi_convert.hpp"

using namespace ordergate;

namespace {

// X-macros: every field of a record but `size` (which to_abi sets to sizeof).
#define OG_ORDER_REQUEST_FIELDS(X)                                                           \
    X(client_order_id) X(account_id) X(symbol) X(exchange) X(side) X(order_type)             \
    X(time_in_force) X(quantity) X(price) X(trigger_price) X(product) X(tag) X(extra_json)
#define OG_MODIFY_REQUEST_FIELDS(X)                                                          \
    X(broker_order_id) X(client_order_id) X(account_id) X(has_quantity) X(quantity) X(price) \
    X(trigger_price) X(order_type) X(time_in_force)
#define OG_ORDER_REPORT_FIELDS(X)                                                            \
    X(broker_order_id) X(client_order_id) X(account_id) X(symbol) X(exchange) X(side)        \
    X(order_type) X(time_in_force) X(status) X(quantity) X(filled_quantity) X(price)         \
    X(trigger_price) X(average_fill_price) X(reject_reason) X(updated_at_ns)
#define OG_FILL_FIELDS(X)                                                                    \
    X(broker_trade_id) X(broker_order_id) X(client_order_id) X(account_id) X(symbol)         \
    X(exchange) X(side) X(quantity) X(price) X(fee) X(executed_at_ns)
#define OG_POSITION_FIELDS(X) X(account_id) X(symbol) X(exchange) X(quantity) X(average_price)
#define OG_ACCOUNT_FIELDS(X)                                                                 \
    X(account_id) X(currency) X(cash) X(buying_power) X(equity) X(margin_used) X(status)     \
    X(updated_at_ns)
#define OG_QUOTE_FIELDS(X) X(symbol) X(exchange) X(last) X(bid) X(ask) X(at_ns)
#define OG_ORDER_RECORD_FIELDS(X)                                                            \
    X(id) X(client_order_id) X(broker) X(broker_order_id) X(account_id) X(symbol)            \
    X(exchange) X(side) X(order_type) X(time_in_force) X(status) X(quantity)                 \
    X(filled_quantity) X(price) X(trigger_price) X(average_fill_price) X(product)            \
    X(reject_reason) X(tag) X(extra_json) X(created_at_ns) X(updated_at_ns) X(version)
#define OG_ORDER_EVENT_FIELDS(X)                                                             \
    X(order_id) X(seq) X(from_status) X(to_status) X(source) X(reason) X(request_id)         \
    X(broker_order_id) X(filled_quantity) X(emulated) X(at_ns)
#define OG_FILL_RECORD_FIELDS(X)                                                             \
    X(id) X(order_id) X(broker) X(broker_trade_id) X(account_id) X(symbol) X(exchange)       \
    X(side) X(quantity) X(price) X(fee) X(executed_at_ns)
#define OG_GTT_RECORD_FIELDS(X)                                                              \
    X(id) X(account_id) X(symbol) X(exchange) X(status) X(body_json) X(expires_at_ns)        \
    X(created_at_ns) X(updated_at_ns) X(version)
#define OG_RECON_RUN_FIELDS(X)                                                               \
    X(id) X(broker) X(status) X(report_json) X(started_at_ns) X(finished_at_ns)
#define OG_ACCOUNT_EVENT_FIELDS(X) X(account_id) X(seq) X(topic) X(data_json) X(at_ns)
#define OG_IDEMPOTENCY_RECORD_FIELDS(X) \
    X(key) X(fingerprint) X(completed) X(response) X(expires_at_ns)

// Queries: only their strings matter to the garbage builder.
#define OG_ORDER_QUERY_FIELDS(X) X(symbol) X(broker) X(cursor)
#define OG_FILL_QUERY_FIELDS(X) X(order_id) X(cursor)

#define OG_VISIT_ONE(name) f(a.name, b.name, #name);
#define OG_DEFINE_VISIT(T, LIST)                      \
    template <typename F>                             \
    void visit(T& a, const T& b, F&& f) {             \
        LIST(OG_VISIT_ONE)                            \
    }
OG_DEFINE_VISIT(og_order_request, OG_ORDER_REQUEST_FIELDS)
// og_order_report grew in ABI 1.3: each appended field is visited only when the record's size
// holds it, as from_abi reads it only then (behind a shorter record the bytes are not the
// plugin's, and are left unfixed: a wild pointer there must never be read).
#define OG_ORDER_REPORT_FIELDS_1_3(X) \
    X(leaves_quantity) X(exec_id) X(cancel_reject_reason) X(request_id)
#define OG_MODIFY_REQUEST_FIELDS_1_4(X) X(request_id) X(orig_request_id)
#define OG_FILL_FIELDS_1_5(X) X(kind) X(ref_trade_id)  // og_fill and og_fill_record
#define OG_VISIT_IF_HELD(name) \
    if (OG_HAS_FIELD(&a, std::remove_cvref_t<decltype(a)>, name)) f(a.name, b.name, #name);
template <typename F>
void visit(og_order_report& a, const og_order_report& b, F&& f) {
    OG_ORDER_REPORT_FIELDS(OG_VISIT_ONE)
    OG_ORDER_REPORT_FIELDS_1_3(OG_VISIT_IF_HELD)  // and request_id, appended in 1.4
}
template <typename F>
void visit(og_modify_request& a, const og_modify_request& b, F&& f) {
    OG_MODIFY_REQUEST_FIELDS(OG_VISIT_ONE)
    OG_MODIFY_REQUEST_FIELDS_1_4(OG_VISIT_IF_HELD)
}
template <typename F>
void visit(og_fill& a, const og_fill& b, F&& f) {
    OG_FILL_FIELDS(OG_VISIT_ONE)
    OG_FILL_FIELDS_1_5(OG_VISIT_IF_HELD)
}
OG_DEFINE_VISIT(og_position, OG_POSITION_FIELDS)
OG_DEFINE_VISIT(og_account, OG_ACCOUNT_FIELDS)
OG_DEFINE_VISIT(og_quote, OG_QUOTE_FIELDS)
OG_DEFINE_VISIT(og_order_record, OG_ORDER_RECORD_FIELDS)
OG_DEFINE_VISIT(og_order_event, OG_ORDER_EVENT_FIELDS)
template <typename F>
void visit(og_fill_record& a, const og_fill_record& b, F&& f) {
    OG_FILL_RECORD_FIELDS(OG_VISIT_ONE)
    OG_FILL_FIELDS_1_5(OG_VISIT_IF_HELD)
}
OG_DEFINE_VISIT(og_gtt_record, OG_GTT_RECORD_FIELDS)
OG_DEFINE_VISIT(og_recon_run, OG_RECON_RUN_FIELDS)
OG_DEFINE_VISIT(og_account_event, OG_ACCOUNT_EVENT_FIELDS)
OG_DEFINE_VISIT(og_idempotency_record, OG_IDEMPOTENCY_RECORD_FIELDS)
OG_DEFINE_VISIT(og_order_query, OG_ORDER_QUERY_FIELDS)
OG_DEFINE_VISIT(og_fill_query, OG_FILL_QUERY_FIELDS)

std::string_view text(og_str s) { return s.data ? std::string_view(s.data, s.size) : std::string_view(); }

// Builds garbage records from the fuzz input and keeps the bytes their strings point at.
class Garbage {
public:
    explicit Garbage(FuzzedDataProvider& in) : in_(in) {}

    template <typename T>
    T record() {
        T c;
        std::memset(&c, 0, sizeof c);
        std::vector<uint8_t> raw = in_.ConsumeBytes<uint8_t>(sizeof c);
        if (!raw.empty()) std::memcpy(&c, raw.data(), raw.size());
        // Mostly a plausible size, so the fields behind it are reached.
        switch (in_.ConsumeIntegralInRange<int>(0, 5)) {
            case 0: break;  // as garbage
            case 1: c.size = abi::kMinSize<T> - in_.ConsumeIntegralInRange<uint32_t>(0, 8); break;
            case 2: c.size = abi::kMinSize<T>; break;
            case 3: c.size = sizeof(T) + in_.ConsumeIntegralInRange<uint32_t>(0, 64); break;
            default: c.size = sizeof(T); break;
        }
        visit(c, c, [this](auto& field, const auto&, const char*) { this->fix(field); });
        return c;
    }
    og_str str() {
        og_str s{};
        fix(s);
        return s;
    }
    template <typename T>
    const T* maybe() {
        if (in_.ConsumeIntegralInRange<int>(0, 7) == 0) return nullptr;
        auto* p = new T(record<T>());
        owned_.emplace_back(p, [](void* q) { delete static_cast<T*>(q); });
        return p;
    }
    template <typename T>
    const T* array(size_t* count) {
        size_t n = in_.ConsumeIntegralInRange<size_t>(0, 4);
        if (in_.ConsumeIntegralInRange<int>(0, 9) == 0) {
            *count = n + in_.ConsumeIntegralInRange<size_t>(0, 1);  // NULL with a count
            return nullptr;
        }
        auto& v = arrays_.emplace_back(n * sizeof(T));
        T* items = reinterpret_cast<T*>(v.data());
        for (size_t i = 0; i < n; ++i) items[i] = element<T>();
        *count = n;
        return items;
    }
    FuzzedDataProvider& in() { return in_; }

private:
    template <typename T>
    T element();
    template <typename V>
    void fix(V&) {}  // enums, decimals, integers stay garbage
    void fix(og_str& s) {
        switch (in_.ConsumeIntegralInRange<int>(0, 9)) {
            case 0:  // NULL, with the garbage size (refused unless 0)
                s.data = nullptr;
                break;
            case 1:  // a size no buffer has: must be refused before anything is read
                s.data = kSentinel;
                s.size = abi::kMaxStringSize + 1 + (s.size & 0xffff);
                break;
            default: {
                const std::string& b = strings_.emplace_back(in_.ConsumeRandomLengthString(48));
                s.data = b.data();
                s.size = b.size();
            }
        }
    }
    static constexpr const char* kSentinel = "";
    FuzzedDataProvider& in_;
    std::deque<std::string> strings_;
    std::deque<std::vector<unsigned char>> arrays_;
    std::vector<std::unique_ptr<void, void (*)(void*)>> owned_;
};
template <>
og_str Garbage::element<og_str>() { return str(); }
template <>
og_kv Garbage::element<og_kv>() { return og_kv{str(), str()}; }
template <>
og_instrument Garbage::element<og_instrument>() { return og_instrument{str(), str()}; }

// Whatever from_abi accepted converts back and again to the same record.
struct SameField {
    std::string record;
    void operator()(const og_str& a, const og_str& b, const char* name) const {
        FUZZ_CHECK(text(a) == text(b), record + "." + name + ": '" + std::string(text(a)) +
                                           "' became '" + std::string(text(b)) + "'");
    }
    void operator()(const og_decimal& a, const og_decimal& b, const char* name) const {
        FUZZ_CHECK(a.mantissa == b.mantissa && a.scale == b.scale, record + "." + name);
    }
    void operator()(const og_opt_decimal& a, const og_opt_decimal& b, const char* name) const {
        FUZZ_CHECK(a.has_value == b.has_value, record + "." + name + " presence");
        if (a.has_value) (*this)(a.value, b.value, name);
    }
    template <typename I>
    void operator()(const I& a, const I& b, const char* name) const {
        FUZZ_CHECK(a == b, record + "." + name + ": " + std::to_string(a) + " became " +
                               std::to_string(b));
    }
};
// Strings and 64-bit values pass unchanged from the plugin's record to the host's value.
struct KeptAsSent {
    std::string record;
    void operator()(const og_str& sent, const og_str& back, const char* name) const {
        SameField{record}(sent, back, name);
    }
    void operator()(const int64_t& sent, const int64_t& back, const char* name) const {
        SameField{record}(sent, back, name);
    }
    template <typename V>
    void operator()(const V&, const V&, const char*) const {}  // enums and flags are normalised
};

// from_abi on a garbage record; when accepted, the round trip keeps it.
void check_json(const std::string& text, const char* name) {
    json::Value v;
    std::string why;
    FUZZ_CHECK(json::parse(text, &v, &why), std::string(name) + " printed as invalid JSON (" + why +
                                                "): " + text);
}
template <typename V>
void check_shown(const V&, const char*) {}
void check_shown(const OrderRecord& o, const char* name) { check_json(api::order_json(o), name); }
void check_shown(const OrderEvent& e, const char* name) {
    std::string out;
    json::Writer w(&out);
    api::write_event(w, e);
    check_json(out, name);
}
void check_shown(const FillRecord& f, const char* name) {
    std::string out;
    json::Writer w(&out);
    api::write_fill(w, f);
    check_json(out, name);
}

template <typename C>
void check_record(Garbage& g, const char* name) {
    C sent = g.record<C>();
    try {
        auto value = abi::from_abi(&sent);
        check_shown(value, name);
        C back = abi::to_abi(value);
        visit(sent, back, KeptAsSent{name});
        auto again = abi::from_abi(&back);
        C back2 = abi::to_abi(again);
        visit(back, back2, SameField{name});
    } catch (const abi::ConvertError&) {
    }
}

void check_write_ops(Garbage& g) {
    size_t n = g.in().ConsumeIntegralInRange<size_t>(0, 3);
    std::vector<og_write_op> ops(n);
    for (auto& op : ops) {
        std::vector<uint8_t> raw = g.in().ConsumeBytes<uint8_t>(sizeof op);
        std::memset(&op, 0, sizeof op);
        if (!raw.empty()) std::memcpy(&op, raw.data(), raw.size());
        if (g.in().ConsumeBool()) op.size = sizeof op;
        if (g.in().ConsumeBool()) op.kind = g.in().ConsumeIntegralInRange<int32_t>(0, 9);
        if (g.in().ConsumeBool()) op.flags &= 1;
        op.order = g.maybe<og_order_record>();
        op.event = g.maybe<og_order_event>();
        op.fill = g.maybe<og_fill_record>();
        op.gtt = g.maybe<og_gtt_record>();
        op.recon_run = g.maybe<og_recon_run>();
        op.account_event = g.maybe<og_account_event>();  // appended in ABI 1.4 (event log)
        // Appended in ABI 1.7 (the idempotency ops). Every pointer of the op is set here: one
        // left as input bytes is a wild pointer, which no converter can check.
        op.idempotency = g.maybe<og_idempotency_record>();
    }
    try {
        std::vector<WriteOp> read = abi::from_abi(ops.empty() ? nullptr : ops.data(), ops.size());
        FUZZ_CHECK(read.size() == ops.size(), "write batch size");
        abi::WriteBatchView view(read);
        FUZZ_CHECK(view.size() == read.size(), "write batch view size");
        std::vector<WriteOp> again = abi::from_abi(view.data(), view.size());
        FUZZ_CHECK(again.size() == read.size(), "write batch round trip");
    } catch (const abi::ConvertError&) {
    }
}

void check_queries(Garbage& g) {
    og_order_query q = g.record<og_order_query>();
    q.account_ids = g.array<og_str>(&q.account_count);
    try {
        OrderQuery v = abi::from_abi(&q);
        FUZZ_CHECK(v.account_ids.size() == q.account_count, "order query accounts");
        abi::OrderQueryView view(v);
        OrderQuery again = abi::from_abi(view.get());
        FUZZ_CHECK(again.account_ids == v.account_ids && again.cursor == v.cursor &&
                       again.limit == v.limit && again.status == v.status,
                   "order query round trip");
    } catch (const abi::ConvertError&) {
    }
    og_fill_query f = g.record<og_fill_query>();
    f.account_ids = g.array<og_str>(&f.account_count);
    try {
        FillQuery v = abi::from_abi(&f);
        abi::FillQueryView view(v);
        FillQuery again = abi::from_abi(view.get());
        FUZZ_CHECK(again.account_ids == v.account_ids && again.order_id == v.order_id &&
                       again.cursor == v.cursor,
                   "fill query round trip");
    } catch (const abi::ConvertError&) {
    }
}

void check_arrays(Garbage& g) {
    size_t n = 0;
    const og_instrument* items = g.array<og_instrument>(&n);
    try {
        auto v = abi::from_abi(items, n);
        FUZZ_CHECK(v.size() == n, "instruments");
    } catch (const abi::ConvertError&) {
    }
    const og_kv* kv = g.array<og_kv>(&n);
    try {
        auto v = abi::from_abi(kv, n);
        FUZZ_CHECK(v.size() == n, "config entries");
    } catch (const abi::ConvertError&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    Garbage g(in);
    while (in.remaining_bytes() > 0) {
        switch (in.ConsumeIntegralInRange<int>(0, 16)) {
            case 0: check_record<og_order_request>(g, "order request"); break;
            case 1: check_record<og_modify_request>(g, "modify request"); break;
            case 2: check_record<og_order_report>(g, "order report"); break;
            case 3: check_record<og_fill>(g, "fill"); break;
            case 4: check_record<og_position>(g, "position"); break;
            case 5: check_record<og_account>(g, "account"); break;
            case 6: check_record<og_quote>(g, "quote"); break;
            case 7: check_record<og_order_record>(g, "order record"); break;
            case 8: check_record<og_order_event>(g, "order event"); break;
            case 9: check_record<og_fill_record>(g, "fill record"); break;
            case 10: check_record<og_gtt_record>(g, "gtt record"); break;
            case 11: check_record<og_recon_run>(g, "recon run"); break;
            case 12: check_write_ops(g); break;
            case 13: check_queries(g); break;
            case 14: check_record<og_account_event>(g, "account event"); break;
            case 15: check_record<og_idempotency_record>(g, "idempotency record"); break;
            default: check_arrays(g); break;
        }
    }
    return 0;
}
