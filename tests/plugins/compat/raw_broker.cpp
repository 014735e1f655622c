// A broker plugin written against the bare C table (no sdk.hpp glue), compiled several times with
// different definitions to produce the loader's compatibility cases:
//   RAW_ABI_MAJOR / RAW_ABI_MINOR   what the descriptor declares (default: the SDK's)
//   RAW_TABLE_V10 / RAW_TABLE_SHORT / RAW_TABLE_NEWER
//                                   the table's declared size: ABI 1.0's, shorter than 1.0's,
//                                   or larger than this SDK knows (default: this SDK's). With
//                                   RAW_TABLE_V10 the order reports are ABI 1.0-sized too, as a
//                                   1.0 binary's are; otherwise they are this SDK's, with the
//                                   ABI 1.3 details filled in.
//   RAW_TABLE_V14                   the table ends where ABI 1.4's did (no 1.5 GTT slots)
//   RAW_NATIVE_GTT                  the descriptor declares OG_CAP_NATIVE_GTT (with RAW_TABLE_V14:
//                                   a 1.4-style plugin claiming a capability it has no calls for)
//   RAW_PAGES                       the table has ABI 1.3's list_orders_page (otherwise it is
//                                   left NULL and the host answers through list_orders)
//   RAW_KIND                        descriptor kind (default OG_KIND_BROKER)
//   RAW_NULL_PLACE                  place_order left NULL
//   RAW_ENTRY_NULL                  the entry returns NULL
//   RAW_NO_ENTRY                    nothing exported under OG_PLUGIN_ENTRY_NAME
//   RAW_PLAIN_FUNCTION_ENTRY        a plain function (not a Boost.DLL alias) under that name
//
// Behaviour is chosen per instance by the config key `mode`:
//   ok             a tiny in-memory broker: place acks (OPEN), get/cancel by broker or client id
//   status_99      every call returns status 99;  status_negative: -5
//   bad_side       reports carry side 42;         bad_status: order status 0
//   bad_scale      reports carry a decimal of scale 40
//   bad_string     reports carry an og_str {NULL, 10}
//   no_report      OK without a report;           two_reports: OK with two
//   other_order    the report names another client order id
//   long_message   REJECTED with err->length set past the buffer and control characters
//   rate_limited   RATE_LIMITED with retry_after_ms 2500 (ABI 1.4's og_error field)
//   pending        OG_PENDING (ABI 1.4), no report
//   record_small   a report whose size is below the ABI 1.0 size
//   sink_garbage   start() launches a thread pushing 5 malformed and 3 valid events, joined by
//                  stop()
// and, for list_orders_page (RAW_PAGES), ways of breaking the page contract:
//   page_no_end       items, no on_page;        page_two_ends: on_page twice
//   page_over_limit   limit + 1 items and a next cursor
//   page_same_cursor  a later page gives back the cursor it was asked for
//   page_bad_complete on_page with complete = 2
//   page_skips        every page after the first leaves out the item the cursor is followed by
//   page_repeats      the next cursor names the item before the page's last: it comes twice
// Functions a 1.0 table does not have abort the process if they are ever called.
#include <boost/dll/alias.hpp>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "ordergate/plugin_abi.h"

#ifndef RAW_ABI_MAJOR
#define RAW_ABI_MAJOR OG_ABI_MAJOR
#endif
#ifndef RAW_ABI_MINOR
#define RAW_ABI_MINOR OG_ABI_MINOR
#endif
#ifndef RAW_KIND
#define RAW_KIND OG_KIND_BROKER
#endif
#ifndef RAW_NAME
#define RAW_NAME "raw-broker"
#endif
#if defined(RAW_TABLE_V10)
#define RAW_TABLE_SIZE (offsetof(og_broker_vtable, cancel_all) + sizeof(void*))
#define RAW_REPORT_SIZE (offsetof(og_order_report, updated_at_ns) + sizeof(int64_t))
#elif defined(RAW_TABLE_V14)
#define RAW_TABLE_SIZE (offsetof(og_broker_vtable, get_capabilities) + sizeof(void*))
#elif defined(RAW_TABLE_SHORT)
#define RAW_TABLE_SIZE (offsetof(og_broker_vtable, get_order))
#else
#define RAW_TABLE_SIZE sizeof(og_broker_vtable)
#endif
#ifndef RAW_REPORT_SIZE
#define RAW_REPORT_SIZE sizeof(og_order_report)
#endif

namespace {

og_str str(const std::string& s) { return og_str{s.data(), s.size()}; }
og_str lit(const char* s) { return og_str{s, std::strlen(s)}; }

struct Order {
    std::string broker_id, client_id, account, symbol;
    og_side side;
    og_decimal qty;
    og_order_status status;
};

struct Instance {
    std::string mode;
    const og_event_sink* sink = nullptr;
    std::mutex mu;
    std::map<std::string, Order> by_broker_id;
    int next_id = 1;
    std::thread pusher;
};

void set_error(og_error* err, const char* msg) {
    if (err == nullptr || err->buffer == nullptr) return;
    size_t n = std::strlen(msg);
    if (n > err->capacity) n = err->capacity;
    std::memcpy(err->buffer, msg, n);
    err->length = n;
}

og_order_report report_of(const Order& o) {
    static const char kPoison[] = "";
    og_order_report r{};
    r.size = RAW_REPORT_SIZE;
    r.broker_order_id = str(o.broker_id);
    r.client_order_id = str(o.client_id);
    r.account_id = str(o.account);
    r.symbol = str(o.symbol);
    r.exchange = lit("SIM");
    r.side = o.side;
    r.order_type = OG_TYPE_MARKET;
    r.time_in_force = OG_TIF_DAY;
    r.status = o.status;
    r.quantity = o.qty;
    r.filled_quantity = og_decimal{0, 0};
    if (r.size >= offsetof(og_order_report, cancel_reject_reason) + sizeof(og_str)) {
        // ABI 1.3 details: nothing executed, so a live order leaves its whole quantity.
        bool live = o.status != OG_ORDER_CANCELLED;
        r.leaves_quantity = og_opt_decimal{live ? o.qty : og_decimal{0, 0}, 1};
    } else {
        // A 1.0 report ends before them: poison what lies behind it, so a host reading past
        // the size fails loudly (the bytes of a real 1.0 binary there are not the report's).
        r.leaves_quantity = og_opt_decimal{og_decimal{1, 99}, 1};
        r.exec_id = og_str{kPoison, static_cast<size_t>(1) << 40};
        r.cancel_reject_reason = og_str{nullptr, 7};
    }
    return r;
}

// Applies the instance's garbage mode to a report about to be sent; returns a status to return
// instead of OK (or OG_OK to go on), and how many times to report.
og_status garble(Instance* in, og_order_report* r, int* times, og_error* err) {
    static const std::string other = "someone-else";
    *times = 1;
    const std::string& m = in->mode;
    if (m == "status_99") return 99;
    if (m == "status_negative") return -5;
    if (m == "bad_side") r->side = 42;
    if (m == "bad_status") r->status = 0;
    if (m == "bad_scale") r->quantity = og_decimal{15, 40};
    if (m == "bad_string") r->symbol = og_str{nullptr, 10};
    if (m == "no_report") *times = 0;
    if (m == "two_reports") *times = 2;
    if (m == "other_order") r->client_order_id = str(other);
    if (m == "record_small") r->size = 8;
    if (m == "pending") return OG_PENDING;  // ABI 1.4: sent, the answer follows (none here)
    if (m == "rate_limited") {
        // ABI 1.4's retry_after_ms (this build's og_error has it; the host reads it only from a
        // plugin declaring minor >= 4).
        set_error(err, "throttled");
        if (err != nullptr) err->retry_after_ms = 2500;
        return OG_RATE_LIMITED;
    }
    if (m == "long_message") {
        set_error(err, "line one\nline two\tend\x01");
        if (err != nullptr) err->length = static_cast<size_t>(1) << 40;
        return OG_REJECTED;
    }
    return OG_OK;
}

og_status send(Instance* in, const Order& o, const og_result_sink* out, og_error* err) {
    og_order_report r = report_of(o);
    int times = 1;
    og_status st = garble(in, &r, &times, err);
    if (st != OG_OK) return st;
    for (int i = 0; i < times; ++i)
        if (out != nullptr && out->on_order != nullptr) out->on_order(out->ctx, &r);
    return OG_OK;
}

std::string to_string(og_str s) { return s.data ? std::string(s.data, s.size) : std::string(); }

og_status create(const og_kv* config, size_t count, const og_event_sink* sink, void** instance,
                 og_error* err) {
    auto* in = new (std::nothrow) Instance();
    if (in == nullptr) {
        set_error(err, "out of memory");
        return OG_INTERNAL;
    }
    in->mode = "ok";
    for (size_t i = 0; i < count; ++i)
        if (to_string(config[i].key) == "mode") in->mode = to_string(config[i].value);
    in->sink = sink;
    *instance = in;
    return OG_OK;
}

void push_garbage(Instance* in) {
    const og_event_sink* s = in->sink;
    Order o{"b-1", "c-1", "acct", "XYZ", OG_SIDE_BUY, og_decimal{1, 0}, OG_ORDER_OPEN};
    og_order_report bad = report_of(o);
    bad.side = 9;
    s->on_order_update(s->ctx, &bad);  // 1: bad enum
    og_order_report bad2 = report_of(o);
    bad2.quantity.scale = 99;
    s->on_order_update(s->ctx, &bad2);  // 2: bad decimal
    s->on_order_update(s->ctx, nullptr);  // 3: NULL payload
    og_fill f{};
    f.size = sizeof(og_fill);
    f.broker_trade_id = lit("t-1");
    f.broker_order_id = lit("b-1");
    f.side = OG_SIDE_SELL;
    f.quantity = og_decimal{1, 0};
    f.price = og_decimal{100, 0};
    og_fill no_trade = f;
    no_trade.broker_trade_id = og_str{nullptr, 0};
    s->on_fill(s->ctx, &no_trade);   // 4: fill without a trade id
    s->on_connection(s->ctx, 7, lit("what"));  // 5: connected is not 0/1
    og_order_report good = report_of(o);
    s->on_order_update(s->ctx, &good);  // valid
    s->on_fill(s->ctx, &f);             // valid
    s->on_connection(s->ctx, 1, lit("up\nagain"));  // valid (detail made one line by the host)
}

og_status start(void* instance, og_error*) {
    auto* in = static_cast<Instance*>(instance);
    if (in->mode == "sink_garbage") in->pusher = std::thread(push_garbage, in);
    return OG_OK;
}

og_status stop(void* instance, og_error*) {
    auto* in = static_cast<Instance*>(instance);
    if (in->pusher.joinable()) in->pusher.join();
    return OG_OK;
}

void destroy(void* instance) { delete static_cast<Instance*>(instance); }

og_status place_order(void* instance, const og_order_request* req, int64_t,
                      const og_result_sink* out, og_error* err) {
    auto* in = static_cast<Instance*>(instance);
    if (req->quantity.mantissa <= 0) {
        set_error(err, "quantity must be positive");
        return OG_INVALID_ARGUMENT;
    }
    Order o;
    {
        std::lock_guard<std::mutex> lock(in->mu);
        o = Order{"raw-" + std::to_string(in->next_id++), to_string(req->client_order_id),
                  to_string(req->account_id), to_string(req->symbol), req->side, req->quantity,
                  OG_ORDER_OPEN};
        in->by_broker_id[o.broker_id] = o;
    }
    return send(in, o, out, err);
}

og_status find(Instance* in, og_str broker_id, og_str client_id, Order* out) {
    std::lock_guard<std::mutex> lock(in->mu);
    if (broker_id.size != 0) {
        auto it = in->by_broker_id.find(to_string(broker_id));
        if (it == in->by_broker_id.end()) return OG_NOT_FOUND;
        *out = it->second;
        return OG_OK;
    }
    for (auto& kv : in->by_broker_id)
        if (kv.second.client_id == to_string(client_id)) {
            *out = kv.second;
            return OG_OK;
        }
    return OG_NOT_FOUND;
}

og_status cancel_order(void* instance, og_str, og_str broker_id, og_str client_id, int64_t,
                       const og_result_sink* out, og_error* err) {
    auto* in = static_cast<Instance*>(instance);
    Order o;
    og_status st = find(in, broker_id, client_id, &o);
    if (st != OG_OK) {
        set_error(err, "no such order");
        return st;
    }
    {
        std::lock_guard<std::mutex> lock(in->mu);
        in->by_broker_id[o.broker_id].status = OG_ORDER_CANCELLED;
    }
    o.status = OG_ORDER_CANCELLED;
    return send(in, o, out, err);
}

og_status get_order(void* instance, og_str, og_str broker_id, og_str client_id,
                    const og_result_sink* out, og_error* err) {
    auto* in = static_cast<Instance*>(instance);
    Order o;
    og_status st = find(in, broker_id, client_id, &o);
    if (st != OG_OK) {
        set_error(err, "no such order");
        return st;
    }
    return send(in, o, out, err);
}

og_status list_orders(void* instance, og_str, int32_t, int64_t, const og_result_sink* out,
                      og_error* err) {
    auto* in = static_cast<Instance*>(instance);
    std::map<std::string, Order> copy;
    {
        std::lock_guard<std::mutex> lock(in->mu);
        copy = in->by_broker_id;
    }
    for (auto& kv : copy) {
        og_status st = send(in, kv.second, out, err);
        if (st != OG_OK) return st;
    }
    return OG_OK;
}

#if defined(RAW_PAGES)
// ABI 1.3's pages over the orders in broker id order (the map's: "raw-1" < "raw-10" < "raw-2",
// this venue's own order). The cursor is the last broker id a page gave.
og_status list_orders_page(void* instance, og_str, int32_t, int64_t, og_str cursor,
                           uint32_t limit, const og_result_sink* out, og_error* err) {
    auto* in = static_cast<Instance*>(instance);
    std::map<std::string, Order> copy;
    {
        std::lock_guard<std::mutex> lock(in->mu);
        copy = in->by_broker_id;
    }
    const std::string after = to_string(cursor);
    if (!after.empty() && copy.count(after) == 0) {
        set_error(err, "not a cursor of this broker");
        return OG_INVALID_ARGUMENT;
    }
    const std::string& m = in->mode;
    const uint32_t most = (m == "page_over_limit" && limit > 0) ? limit + 1 : limit;
    auto it = after.empty() ? copy.begin() : copy.upper_bound(after);
    if (m == "page_skips" && !after.empty() && it != copy.end()) ++it;
    std::string last, before_last;
    for (uint32_t n = 0; it != copy.end() && (most == 0 || n < most); ++it, ++n) {
        og_order_report r = report_of(it->second);
        if (out->on_order != nullptr) out->on_order(out->ctx, &r);
        before_last = last;
        last = it->first;
    }
    std::string next = it != copy.end() ? last : std::string();
    if (m == "page_repeats" && !next.empty() && !before_last.empty()) next = before_last;
    if (m == "page_same_cursor" && !after.empty()) next = after;
    const bool has_end = out->size >= offsetof(og_result_sink, on_page) + sizeof(out->on_page) &&
                         out->on_page != nullptr;
    if (!has_end || m == "page_no_end") return OG_OK;
    out->on_page(out->ctx, str(next), m == "page_bad_complete" ? 2 : 1);
    if (m == "page_two_ends") out->on_page(out->ctx, str(next), 1);
    return OG_OK;
}
#endif

// ABI 1.1's ping. In a 1.0-sized table it sits beyond the declared size: a host calling it
// then is broken, and the abort makes that visible.
og_status ping(void*, int64_t, og_error*) {
#if defined(RAW_TABLE_V10)
    std::fprintf(stderr, "raw-broker: ping called on a table that does not declare it\n");
    std::abort();
#else
    return OG_OK;
#endif
}

#if defined(RAW_TABLE_NEWER)
// A table from a future minor: the host's table followed by functions it does not know.
struct NewerTable {
    og_broker_vtable known;
    void (*future_one)(void);
    void (*future_two)(void);
};
#endif

#if !defined(RAW_NO_ENTRY)
const og_plugin_descriptor* entry(uint32_t, uint32_t, const og_host_services*) {
#if defined(RAW_ENTRY_NULL)
    return nullptr;
#else
    static og_broker_vtable t = [] {
        og_broker_vtable v{};
        v.create = &create;
        v.start = &start;
        v.stop = &stop;
        v.destroy = &destroy;
#if !defined(RAW_NULL_PLACE)
        v.place_order = &place_order;
#endif
        v.cancel_order = &cancel_order;
        v.get_order = &get_order;
        v.list_orders = &list_orders;
        v.ping = &ping;
#if defined(RAW_PAGES)
        v.list_orders_page = &list_orders_page;
#endif
        return v;
    }();
#if defined(RAW_TABLE_NEWER)
    static NewerTable newer = [] {
        NewerTable n{};
        n.known = t;
        n.known.size = sizeof(NewerTable);
        return n;
    }();
    const void* table = &newer;
#else
    t.size = RAW_TABLE_SIZE;
    const void* table = &t;
#endif
    static og_plugin_descriptor d = [table] {
        og_plugin_descriptor x{};
        x.size = sizeof(og_plugin_descriptor);
        x.abi_major = RAW_ABI_MAJOR;
        x.abi_minor = RAW_ABI_MINOR;
        x.kind = RAW_KIND;
        x.name = lit(RAW_NAME);
        x.version = lit("0.0.1");
        x.sdk_version = lit("raw");
        x.capabilities = OG_CAP_ORDER_MARKET | OG_CAP_TIF_DAY | OG_CAP_QUERY_BY_CLIENT_ID |
                         OG_CAP_REPORT_OPEN_ORDERS;
#if defined(RAW_NATIVE_GTT)
        x.capabilities |= OG_CAP_NATIVE_GTT;
#endif
        x.vtable = table;
        return x;
    }();
    return &d;
#endif
}
#endif

}  // namespace

#if defined(RAW_PLAIN_FUNCTION_ENTRY)
extern "C" __attribute__((visibility("default"))) int ordergate_plugin_entry(int x) {
    return x * 3 + 1;
}
#elif !defined(RAW_NO_ENTRY)
BOOST_DLL_ALIAS(entry, ordergate_plugin_entry)
#else
// Exports something else, so the library is a valid plugin-looking .so without the entry.
extern "C" __attribute__((visibility("default"))) int ordergate_something_else(void) { return 1; }
#endif
