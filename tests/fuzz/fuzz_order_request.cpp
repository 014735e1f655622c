// The JSON order request parser: a POST /api/v1/orders or PUT /api/v1/orders/{id} body as the
// API reads it (json::parse, then api::parse_place / api::parse_modify).
//
// Invariants: nothing but a true/false answer comes out (no exception, no crash); a parsed
// document serialises to JSON that parses back to the same canonical form (the idempotency
// fingerprint relies on it); an accepted order request has what the order path assumes
// (positive quantity, a price exactly for LIMIT/STOP_LIMIT, a trigger exactly for STOP/
// STOP_LIMIT, printable symbol and ids within their lengths, `extra` as a JSON object); a
// refused one names at least one field, or is malformed JSON.
#include <cstdint>
#include <string>
#include <string_view>

#include "api/wire.hpp"
#include "fuzz_check.hpp"
#include "json/json.hpp"

using namespace ordergate;

namespace {

bool printable(const std::string& s) {
    for (unsigned char c : s)
        if (c < 0x20 || c == 0x7F) return false;
    return true;
}

void check_place(const json::Value& body) {
    OrderRequest r;
    Error err;
    if (!api::parse_place(body, &r, &err)) {
        FUZZ_CHECK(err.code == ErrorCode::MalformedJson || !err.errors.empty(),
                   "refused without a field error: " + err.detail);
        return;
    }
    FUZZ_CHECK(r.quantity.is_positive(), "accepted quantity " + r.quantity.to_string());
    FUZZ_CHECK(r.quantity.scale() <= 9, "accepted quantity scale " + r.quantity.to_string());
    const bool needs_price = r.order_type == OrderType::Limit || r.order_type == OrderType::StopLimit;
    const bool needs_trigger = r.order_type == OrderType::Stop || r.order_type == OrderType::StopLimit;
    FUZZ_CHECK(r.price.has_value() == needs_price, "price presence for the order type");
    FUZZ_CHECK(r.trigger_price.has_value() == needs_trigger, "trigger presence for the order type");
    if (r.price) FUZZ_CHECK(r.price->is_positive(), "accepted price " + r.price->to_string());
    if (r.trigger_price)
        FUZZ_CHECK(r.trigger_price->is_positive(), "accepted trigger " + r.trigger_price->to_string());
    FUZZ_CHECK(!r.symbol.empty() && r.symbol.size() <= 64 && printable(r.symbol), "symbol");
    FUZZ_CHECK(!r.exchange.empty() && r.exchange.size() <= 32 && printable(r.exchange), "exchange");
    FUZZ_CHECK(r.client_order_id.size() <= 64 && r.account_id.size() <= 64 && r.tag.size() <= 64,
               "id lengths");
    for (char c : r.client_order_id)
        FUZZ_CHECK(c > 0x20 && c < 0x7F, "client_order_id character");
    json::Value extra;
    std::string why;
    FUZZ_CHECK(json::parse(r.extra_json, &extra, &why) && extra.is_object(),
               "extra_json '" + r.extra_json + "' is not a JSON object: " + why);
    // The order as the API shows it: printing never throws.
    OrderRecord o;
    o.symbol = r.symbol;
    o.exchange = r.exchange;
    o.quantity = r.quantity;
    o.price = r.price;
    o.trigger_price = r.trigger_price;
    o.extra_json = r.extra_json;
    std::string shown = api::order_json(o);
    json::Value back;
    FUZZ_CHECK(json::parse(shown, &back, &why), "order_json is not JSON: " + why + "\n" + shown);
}

void check_modify(const json::Value& body) {
    ModifyRequest m;
    Error err;
    if (!api::parse_modify(body, &m, &err)) {
        FUZZ_CHECK(err.code == ErrorCode::MalformedJson || !err.errors.empty(),
                   "modify refused without a field error: " + err.detail);
        return;
    }
    FUZZ_CHECK(m.quantity || m.price || m.trigger_price || m.order_type || m.time_in_force,
               "a modify that changes nothing was accepted");
    if (m.quantity) FUZZ_CHECK(m.quantity->is_positive(), "modify quantity");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    json::Value body;
    std::string why, key;
    if (!json::parse(text, &body, &why, &key)) {
        FUZZ_CHECK(!why.empty(), "refused JSON names no reason");
        return 0;
    }
    // Serialised and canonical forms parse back to the same document.
    std::string canonical, serialized;
    body.canonical(&canonical);
    body.serialize(&serialized);
    for (const std::string& form : {canonical, serialized}) {
        json::Value again;
        FUZZ_CHECK(json::parse(form, &again, &why), "'" + form + "' does not parse: " + why);
        std::string canonical_again;
        again.canonical(&canonical_again);
        FUZZ_CHECK(canonical_again == canonical,
                   "canonical form changed: '" + canonical + "' -> '" + canonical_again + "'");
    }
    check_place(body);
    check_modify(body);
    return 0;
}
