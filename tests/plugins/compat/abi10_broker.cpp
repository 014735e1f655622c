// A broker plugin as an integrator wrote it against the ABI 1.0 headers as they were released
// (tests/plugins/compat/abi-1.0/ordergate/plugin_abi.h, a verbatim copy; see its README): the C
// table by hand, no SDK glue (1.0 had none). Every record and table it hands over has the
// ABI 1.0 size, because that is all its header knows. The loader and the kit must accept it in
// every later host (conformance.kit_passes_abi10_fixture, plugin_loader_test).
//
// A tiny in-memory venue: MARKET and LIMIT, DAY, orders acknowledged OPEN on placement,
// cancelled on request, found by broker or client order id, listed while open.
#include <boost/dll/alias.hpp>

#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <string>

#include "ordergate/plugin_abi.h"

#if OG_ABI_MINOR != 0
#error "abi10_broker.cpp must be compiled against the ABI 1.0 fixture header"
#endif

namespace {

og_str str(const std::string& s) { return og_str{s.data(), s.size()}; }
og_str lit(const char* s) { return og_str{s, std::strlen(s)}; }
std::string text(og_str s) { return s.data ? std::string(s.data, s.size) : std::string(); }

struct Order {
    std::string broker_id, client_id, account, symbol, exchange;
    og_side side = OG_SIDE_BUY;
    og_order_type type = OG_TYPE_MARKET;
    og_decimal qty{0, 0};
    og_opt_decimal price{};
    og_order_status status = OG_ORDER_OPEN;
};

struct Venue {
    std::mutex mu;
    std::map<std::string, Order> orders;  // by broker id
    int next_id = 1;
};

void set_error(og_error* err, const char* msg) {
    if (err == nullptr || err->buffer == nullptr) return;
    size_t n = std::strlen(msg);
    if (n > err->capacity) n = err->capacity;
    std::memcpy(err->buffer, msg, n);
    err->length = n;
}

og_status report(const Order& o, const og_result_sink* out) {
    og_order_report r{};
    r.size = sizeof(og_order_report);  // the ABI 1.0 size
    r.broker_order_id = str(o.broker_id);
    r.client_order_id = str(o.client_id);
    r.account_id = str(o.account);
    r.symbol = str(o.symbol);
    r.exchange = str(o.exchange);
    r.side = o.side;
    r.order_type = o.type;
    r.time_in_force = OG_TIF_DAY;
    r.status = o.status;
    r.quantity = o.qty;
    r.filled_quantity = og_decimal{0, 0};
    r.price = o.price;
    if (out != nullptr && out->on_order != nullptr) out->on_order(out->ctx, &r);
    return OG_OK;
}

og_status create(const og_kv*, size_t, const og_event_sink*, void** instance, og_error* err) {
    auto* v = new (std::nothrow) Venue();
    if (v == nullptr) {
        set_error(err, "out of memory");
        return OG_INTERNAL;
    }
    *instance = v;
    return OG_OK;
}
og_status start(void*, og_error*) { return OG_OK; }
og_status stop(void*, og_error*) { return OG_OK; }
void destroy(void* instance) { delete static_cast<Venue*>(instance); }

og_status place_order(void* instance, const og_order_request* req, int64_t,
                      const og_result_sink* out, og_error* err) {
    auto* v = static_cast<Venue*>(instance);
    if (req->quantity.mantissa <= 0) {
        set_error(err, "quantity must be positive");
        return OG_INVALID_ARGUMENT;
    }
    if (req->order_type == OG_TYPE_LIMIT && !req->price.has_value) {
        set_error(err, "a LIMIT order needs a price");
        return OG_INVALID_ARGUMENT;
    }
    Order o;
    {
        std::lock_guard<std::mutex> lock(v->mu);
        for (const auto& kv : v->orders)
            if (kv.second.client_id == text(req->client_order_id) &&
                kv.second.account == text(req->account_id)) {
                set_error(err, "duplicate client order id");
                return OG_REJECTED;
            }
        o.broker_id = "v10-" + std::to_string(v->next_id++);
        o.client_id = text(req->client_order_id);
        o.account = text(req->account_id);
        o.symbol = text(req->symbol);
        o.exchange = text(req->exchange);
        o.side = req->side;
        o.type = req->order_type;
        o.qty = req->quantity;
        o.price = req->price;
        v->orders[o.broker_id] = o;
    }
    return report(o, out);
}

og_status find(Venue* v, og_str broker_id, og_str client_id, Order* out) {
    std::lock_guard<std::mutex> lock(v->mu);
    if (broker_id.size != 0) {
        auto it = v->orders.find(text(broker_id));
        if (it == v->orders.end()) return OG_NOT_FOUND;
        *out = it->second;
        return OG_OK;
    }
    for (const auto& kv : v->orders)
        if (kv.second.client_id == text(client_id)) {
            *out = kv.second;
            return OG_OK;
        }
    return OG_NOT_FOUND;
}

og_status cancel_order(void* instance, og_str, og_str broker_id, og_str client_id, int64_t,
                       const og_result_sink* out, og_error* err) {
    auto* v = static_cast<Venue*>(instance);
    Order o;
    if (find(v, broker_id, client_id, &o) != OG_OK) {
        set_error(err, "no such order");
        return OG_NOT_FOUND;
    }
    if (o.status != OG_ORDER_OPEN) {
        set_error(err, "the order is not open");
        return OG_REJECTED;
    }
    {
        std::lock_guard<std::mutex> lock(v->mu);
        v->orders[o.broker_id].status = OG_ORDER_CANCELLED;
    }
    o.status = OG_ORDER_CANCELLED;
    return report(o, out);
}

og_status get_order(void* instance, og_str, og_str broker_id, og_str client_id,
                    const og_result_sink* out, og_error* err) {
    Order o;
    if (find(static_cast<Venue*>(instance), broker_id, client_id, &o) != OG_OK) {
        set_error(err, "no such order");
        return OG_NOT_FOUND;
    }
    return report(o, out);
}

og_status list_orders(void* instance, og_str account, int32_t, int64_t,
                      const og_result_sink* out, og_error*) {
    auto* v = static_cast<Venue*>(instance);
    std::map<std::string, Order> copy;
    {
        std::lock_guard<std::mutex> lock(v->mu);
        copy = v->orders;
    }
    for (const auto& kv : copy)
        if (kv.second.status == OG_ORDER_OPEN && kv.second.account == text(account))
            report(kv.second, out);
    return OG_OK;
}

const og_plugin_descriptor* entry(uint32_t, uint32_t, const og_host_services*) {
    static og_broker_vtable t = [] {
        og_broker_vtable x{};
        x.size = sizeof(og_broker_vtable);  // the ABI 1.0 size
        x.create = &create;
        x.start = &start;
        x.stop = &stop;
        x.destroy = &destroy;
        x.place_order = &place_order;
        x.cancel_order = &cancel_order;
        x.get_order = &get_order;
        x.list_orders = &list_orders;
        return x;
    }();
    static og_plugin_descriptor d = [] {
        og_plugin_descriptor x{};
        x.size = sizeof(og_plugin_descriptor);
        x.abi_major = OG_ABI_MAJOR;
        x.abi_minor = OG_ABI_MINOR;
        x.kind = OG_KIND_BROKER;
        x.name = lit("abi10-fixture");
        x.version = lit("1.0.0");
        x.sdk_version = lit("1.0.0");
        x.capabilities = OG_CAP_ORDER_MARKET | OG_CAP_ORDER_LIMIT | OG_CAP_TIF_DAY |
                         OG_CAP_QUERY_BY_CLIENT_ID | OG_CAP_REPORT_OPEN_ORDERS;
        x.vtable = &t;
        return x;
    }();
    return &d;
}

}  // namespace

BOOST_DLL_ALIAS(entry, ordergate_plugin_entry)
