#include "gtt/gtt_codec.hpp"

#include "json/json.hpp"

namespace ordergate::gtt {
namespace {

void write_opt(json::Writer& w, std::string_view k, const std::optional<Decimal>& d) {
    if (d)
        w.field(k, d->to_string());
    else
        w.field_null(k);
}

std::string body_of(const Gtt& g) {
    std::string out;
    json::Writer w(&out);
    w.begin_object()
        .field("type", to_string(g.type))
        .field("broker", g.broker)
        .field_bool("emulated", g.emulated)
        .field("broker_gtt_id", g.broker_gtt_id)
        .field("venue_state", g.venue_state)
        .field("last_price", g.last_price.to_string())
        .field_int("triggered_leg", g.triggered_leg)
        .field("reason", g.reason)
        .key("legs")
        .begin_array();
    for (const GttLeg& leg : g.legs) {
        const OrderRequest& o = leg.order;
        w.begin_object()
            .field("trigger_price", leg.trigger_price.to_string())
            .field("direction", leg.direction == Direction::Rises ? "RISES" : "FALLS")
            .field("status", leg.status)
            .field("order_id", leg.order_id)
            .key("order")
            .begin_object()
            .field("side", to_string(o.side))
            .field("order_type", to_string(o.order_type))
            .field("time_in_force", to_string(o.time_in_force))
            .field("quantity", o.quantity.to_string());
        write_opt(w, "price", o.price);
        write_opt(w, "trigger_price", o.trigger_price);
        w.field("product", o.product).field("tag", o.tag);
        w.key("extra").raw(o.extra_json.empty() ? "{}" : o.extra_json);
        w.end_object().end_object();
    }
    w.end_array().end_object();
    return out;
}

struct Reader {
    const std::string& id;
    [[noreturn]] void bad(const std::string& what) const {
        throw CorruptGtt("stored GTT " + id + " is unreadable: " + what);
    }
    const json::Value& member(const json::Value& obj, std::string_view k) const {
        const json::Value* v = obj.find(k);
        if (!v) bad("missing \"" + std::string(k) + "\"");
        return *v;
    }
    std::string str(const json::Value& obj, std::string_view k) const {
        const json::Value& v = member(obj, k);
        if (!v.is_string()) bad("\"" + std::string(k) + "\" is not a string");
        return v.text();
    }
    Decimal dec(const json::Value& obj, std::string_view k) const {
        Decimal d;
        std::string why;
        if (!Decimal::parse(str(obj, k), &d, &why)) bad("\"" + std::string(k) + "\": " + why);
        return d;
    }
    std::optional<Decimal> opt_dec(const json::Value& obj, std::string_view k) const {
        if (member(obj, k).is_null()) return std::nullopt;
        return dec(obj, k);
    }
    int64_t integer(const json::Value& obj, std::string_view k) const {
        const json::Value& v = member(obj, k);
        if (!v.is_number()) bad("\"" + std::string(k) + "\" is not a number");
        try {
            size_t used = 0;
            int64_t n = std::stoll(v.text(), &used);
            if (used != v.text().size()) bad("\"" + std::string(k) + "\" is not an integer");
            return n;
        } catch (const std::logic_error&) {
            bad("\"" + std::string(k) + "\" is not an integer");
        }
    }
};

}  // namespace

GttRecord to_record(const Gtt& g) {
    GttRecord r;
    r.id = g.id;
    r.account_id = g.account_id;
    r.symbol = g.symbol;
    r.exchange = g.exchange;
    r.status = std::string(to_string(g.status));
    r.body_json = body_of(g);
    r.expires_at_ns = g.expires_at_ns;
    r.created_at_ns = g.created_at_ns;
    r.updated_at_ns = g.updated_at_ns;
    r.version = g.version;
    return r;
}

Gtt from_record(const GttRecord& r) {
    Reader rd{r.id};
    Gtt g;
    g.id = r.id;
    g.account_id = r.account_id;
    g.symbol = r.symbol;
    g.exchange = r.exchange;
    auto status = gtt_status_from(r.status);
    if (!status) rd.bad("unknown status '" + r.status + "'");
    g.status = *status;
    g.expires_at_ns = r.expires_at_ns;
    g.created_at_ns = r.created_at_ns;
    g.updated_at_ns = r.updated_at_ns;
    g.version = r.version;

    json::Value doc;
    std::string why;
    if (!json::parse(r.body_json, &doc, &why)) rd.bad(why);
    if (!doc.is_object()) rd.bad("not an object");
    auto type = gtt_type_from(rd.str(doc, "type"));
    if (!type) rd.bad("unknown type");
    g.type = *type;
    g.broker = rd.str(doc, "broker");
    const json::Value& emulated = rd.member(doc, "emulated");
    if (!emulated.is_bool()) rd.bad("\"emulated\" is not a boolean");
    g.emulated = emulated.as_bool();
    // Native GTT fields (absent from rows written before them: an emulated GTT).
    if (doc.find("broker_gtt_id")) g.broker_gtt_id = rd.str(doc, "broker_gtt_id");
    if (doc.find("venue_state")) g.venue_state = rd.str(doc, "venue_state");
    g.last_price = rd.dec(doc, "last_price");
    g.triggered_leg = static_cast<int>(rd.integer(doc, "triggered_leg"));
    g.reason = rd.str(doc, "reason");
    const json::Value& legs = rd.member(doc, "legs");
    if (!legs.is_array() || legs.items().empty() || legs.items().size() > 2)
        rd.bad("\"legs\" must hold one or two legs");
    for (const json::Value& l : legs.items()) {
        if (!l.is_object()) rd.bad("a leg is not an object");
        GttLeg leg;
        leg.trigger_price = rd.dec(l, "trigger_price");
        const std::string dir = rd.str(l, "direction");
        if (dir != "RISES" && dir != "FALLS") rd.bad("unknown direction '" + dir + "'");
        leg.direction = dir == "RISES" ? Direction::Rises : Direction::Falls;
        leg.status = rd.str(l, "status");
        leg.order_id = rd.str(l, "order_id");
        const json::Value& o = rd.member(l, "order");
        if (!o.is_object()) rd.bad("a leg's order is not an object");
        OrderRequest& req = leg.order;
        req.account_id = g.account_id;
        req.symbol = g.symbol;
        req.exchange = g.exchange;
        if (!parse_side(rd.str(o, "side"), &req.side)) rd.bad("unknown side");
        if (!parse_order_type(rd.str(o, "order_type"), &req.order_type))
            rd.bad("unknown order type");
        if (!parse_time_in_force(rd.str(o, "time_in_force"), &req.time_in_force))
            rd.bad("unknown time in force");
        req.quantity = rd.dec(o, "quantity");
        req.price = rd.opt_dec(o, "price");
        req.trigger_price = rd.opt_dec(o, "trigger_price");
        req.product = rd.str(o, "product");
        req.tag = rd.str(o, "tag");
        const json::Value& extra = rd.member(o, "extra");
        if (!extra.is_object()) rd.bad("a leg's extra is not an object");
        req.extra_json.clear();
        extra.serialize(&req.extra_json);
        g.legs.push_back(std::move(leg));
    }
    if (g.triggered_leg < -1 || g.triggered_leg >= static_cast<int>(g.legs.size()))
        rd.bad("\"triggered_leg\" names no leg");
    if ((g.type == GttType::Single) != (g.legs.size() == 1)) rd.bad("legs do not match the type");
    return g;
}

}  // namespace ordergate::gtt
