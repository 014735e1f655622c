#include "api/wire.hpp"

#include "common/time.hpp"

namespace ordergate::api {

namespace {

void dec(json::Writer& w, json::Key key, const Decimal& d) {
    w.field(key, d.to_string());
}
void opt_dec(json::Writer& w, json::Key key, const std::optional<Decimal>& d) {
    if (d) w.field(key, d->to_string());
    else w.field_null(key);
}
void ts(json::Writer& w, json::Key key, int64_t ns) {
    w.field(key, timefmt::rfc3339_ms(ns));
}

}  // namespace

void write_order(json::Writer& w, const OrderRecord& o) {
    w.begin_object()
        .field("id", o.id)
        .field("client_order_id", o.client_order_id)
        .field("broker", o.broker)
        .field_or_null("broker_order_id", o.broker_order_id)
        .field("account_id", o.account_id)
        .field("symbol", o.symbol)
        .field("exchange", o.exchange)
        .field("side", to_string(o.side))
        .field("order_type", to_string(o.order_type))
        .field("time_in_force", to_string(o.time_in_force))
        .field_or_null("product", o.product);
    dec(w, "quantity", o.quantity);
    dec(w, "filled_quantity", o.filled_quantity);
    opt_dec(w, "price", o.price);
    opt_dec(w, "trigger_price", o.trigger_price);
    opt_dec(w, "average_fill_price", o.average_fill_price);
    w.field("status", to_string(o.status))
        .field_or_null("reject_reason", o.reject_reason)
        .field_or_null("tag", o.tag);
    w.key("extra").raw(o.extra_json.empty() ? std::string_view("{}") : o.extra_json);
    ts(w, "created_at", o.created_at_ns);
    ts(w, "updated_at", o.updated_at_ns);
    w.field_int("version", o.version).end_object();
}

std::string order_json(const OrderRecord& o) {
    std::string s;
    s.reserve(640);
    json::Writer w(&s);
    write_order(w, o);
    return s;
}

void write_event(json::Writer& w, const OrderEvent& e) {
    w.begin_object().field_int("seq", e.seq).field("order_id", e.order_id);
    if (e.from_status) w.field("from_status", to_string(*e.from_status));
    else w.field_null("from_status");
    w.field("to_status", to_string(e.to_status))
        .field("source", to_string(e.source))
        .field_or_null("reason", e.reason)
        .field_or_null("request_id", e.request_id)
        .field_or_null("broker_order_id", e.broker_order_id);
    dec(w, "filled_quantity", e.filled_quantity);
    w.field_bool("emulated", e.emulated);
    ts(w, "at", e.at_ns);
    w.end_object();
}

void write_fill(json::Writer& w, const FillRecord& f) {
    w.begin_object()
        .field("id", f.id)
        .field_or_null("order_id", f.order_id)
        .field("broker", f.broker)
        .field("broker_trade_id", f.broker_trade_id)
        .field("account_id", f.account_id)
        .field("symbol", f.symbol)
        .field("exchange", f.exchange)
        .field("side", to_string(f.side));
    dec(w, "quantity", f.quantity);
    dec(w, "price", f.price);
    dec(w, "fee", f.fee);
    ts(w, "executed_at", f.executed_at_ns);
    // ABI 1.5: TRADE, or the venue's BUST / CORRECTION of the trade ref_trade_id (its own entry;
    // the trade it refers to is listed unchanged).
    w.field("kind", to_string(f.kind)).field_or_null("ref_trade_id", f.ref_trade_id);
    w.end_object();
}

void write_position(json::Writer& w, const positions::PositionView& p) {
    w.begin_object()
        .field("account_id", p.account_id)
        .field("broker", p.broker)
        .field("symbol", p.symbol)
        .field("exchange", p.exchange);
    dec(w, "quantity", p.quantity);
    dec(w, "average_price", p.average_price);
    dec(w, "realized_pnl", p.realized_pnl);
    opt_dec(w, "unrealized_pnl", p.unrealized_pnl);
    opt_dec(w, "last_price", p.last_price);
    dec(w, "fees", p.fees);
    ts(w, "updated_at", p.updated_at_ns);
    w.end_object();
}

void write_account(json::Writer& w, const Account& a, const std::string& broker) {
    w.begin_object()
        .field("account_id", a.account_id)
        .field("broker", broker)
        .field_or_null("currency", a.currency);
    dec(w, "cash", a.cash);
    dec(w, "buying_power", a.buying_power);
    dec(w, "equity", a.equity);
    dec(w, "margin_used", a.margin_used);
    w.field_or_null("status", a.status);
    ts(w, "updated_at", a.updated_at_ns);
    w.field_bool("reported", true);
    w.end_object();
}

void write_quote(json::Writer& w, const std::string& account_id, const std::string& broker,
                 const Quote& q, const std::string& source) {
    w.begin_object()
        .field("account_id", account_id)
        .field("broker", broker)
        .field("symbol", q.symbol)
        .field("exchange", q.exchange);
    dec(w, "last_price", q.last);
    opt_dec(w, "bid", q.bid);
    opt_dec(w, "ask", q.ask);
    ts(w, "at", q.at_ns);
    w.field("source", source).end_object();
}

void write_unreported_account(json::Writer& w, const std::string& account_id,
                              const std::string& broker, const std::string& currency) {
    w.begin_object()
        .field("account_id", account_id)
        .field("broker", broker)
        .field_or_null("currency", currency);
    for (const char* k : {"cash", "buying_power", "equity", "margin_used", "status", "updated_at"})
        w.key(k).null();
    w.field_bool("reported", false);
    w.end_object();
}

bool parse_decimal_value(const json::Value& v, Decimal* out, std::string* why) {
    Decimal::ParseOptions o;
    if (v.is_number()) {
        o.allow_exponent = true;
    } else if (!v.is_string()) {
        *why = "must be a decimal string or number";
        return false;
    }
    if (!Decimal::parse(v.text(), out, why, o)) return false;
    return true;
}

namespace {

struct Fields {
    const json::Value& body;
    Error* err;
    std::string prefix = "";  // where `body` sits in the document ("triggers[0].order.")

    void add(std::string field, std::string message) {
        err->errors.push_back({prefix + std::move(field), std::move(message)});
    }
    // A string field: absent/null -> nullopt (and an error when required).
    std::optional<std::string> str(const char* name, bool required, size_t max_len) {
        const json::Value* v = body.find(name);
        if (!v || v->is_null()) {
            if (required) add(name, "is required");
            return std::nullopt;
        }
        if (!v->is_string()) {
            add(name, "must be a string");
            return std::nullopt;
        }
        if (v->text().empty()) {
            add(name, "must not be empty");
            return std::nullopt;
        }
        if (v->text().size() > max_len) {
            add(name, "must be at most " + std::to_string(max_len) + " characters");
            return std::nullopt;
        }
        for (unsigned char c : v->text()) {
            if (c < 0x20 || c == 0x7F) {
                add(name, "must not contain control characters");
                return std::nullopt;
            }
        }
        return v->text();
    }
    std::optional<Decimal> decimal(const char* name, bool required, bool positive) {
        const json::Value* v = body.find(name);
        if (!v || v->is_null()) {
            if (required) add(name, "is required");
            return std::nullopt;
        }
        Decimal d;
        std::string why;
        if (!parse_decimal_value(*v, &d, &why)) {
            add(name, why);
            return std::nullopt;
        }
        if (positive && !d.is_positive()) {
            add(name, "must be greater than 0");
            return std::nullopt;
        }
        return d;
    }
    template <typename E>
    std::optional<E> enumeration(const char* name, bool required, bool (*parse)(std::string_view, E*),
                                 const char* allowed) {
        const json::Value* v = body.find(name);
        if (!v || v->is_null()) {
            if (required) add(name, "is required");
            return std::nullopt;
        }
        E e;
        if (!v->is_string() || !parse(v->text(), &e)) {
            add(name, std::string("must be one of ") + allowed);
            return std::nullopt;
        }
        return e;
    }
    void unknown(std::initializer_list<std::string_view> known) {
        for (const auto& m : body.members()) {
            bool ok = false;
            for (auto k : known) ok = ok || m.first == k;
            if (!ok) add(m.first, "is not a known field");
        }
    }
};

bool symbol_like(const std::string& s) {
    for (char c : s) {
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '_' || c == '&' || c == '/' || c == ':';
        if (!ok) return false;
    }
    return true;
}

}  // namespace

namespace {

// The fields of an order request. `leg`: the order of a GTT leg, which takes its account and
// instrument from the GTT (it may repeat them; parse_gtt checks they agree: left empty in `out`
// when absent) and cannot set a client order id (the gateway derives it from the GTT id and the
// leg, which is what places a leg once). Adds every problem to f.err; fills `out` only when there
// was none at all (the caller checks).
void order_fields(Fields& f, bool leg, OrderRequest* out) {
    const json::Value& body = f.body;
    const size_t errors_before = f.err->errors.size();
    f.unknown({"account_id", "symbol", "exchange", "side", "quantity", "order_type", "price",
               "trigger_price", "time_in_force", "product", "client_order_id", "tag", "extra"});
    auto account = f.str("account_id", false, 64);
    auto symbol = f.str("symbol", !leg, 64);
    auto exchange = f.str("exchange", !leg, 32);
    auto side = f.enumeration<Side>("side", true, parse_side, "BUY, SELL");
    auto quantity = f.decimal("quantity", true, true);
    auto type = f.enumeration<OrderType>("order_type", true, parse_order_type,
                                         "MARKET, LIMIT, STOP, STOP_LIMIT");
    auto price = f.decimal("price", false, true);
    auto trigger = f.decimal("trigger_price", false, true);
    auto tif = f.enumeration<TimeInForce>("time_in_force", false, parse_time_in_force,
                                          "DAY, GTC, IOC, FOK");
    auto product = f.str("product", false, 32);
    auto cid = f.str("client_order_id", false, 64);
    if (leg && cid) {
        f.add("client_order_id",
              "cannot be set on a GTT leg: the gateway derives it from the GTT id and the leg");
        cid.reset();
    }
    auto tag = f.str("tag", false, 64);
    if (symbol && !symbol_like(*symbol)) f.add("symbol", "has characters a symbol cannot have");
    if (exchange && !symbol_like(*exchange))
        f.add("exchange", "has characters an exchange cannot have");
    if (cid) {
        for (char c : *cid)
            if (c < 0x21 || c > 0x7E) {
                f.add("client_order_id", "must be printable ASCII without spaces");
                break;
            }
    }
    std::string extra = "{}";
    if (const json::Value* x = body.find("extra"); x && !x->is_null()) {
        if (!x->is_object()) f.add("extra", "must be an object");
        else {
            extra.clear();
            x->serialize(&extra);
        }
    }
    if (type) {
        const bool needs_price = *type == OrderType::Limit || *type == OrderType::StopLimit;
        const bool needs_trigger = *type == OrderType::Stop || *type == OrderType::StopLimit;
        const json::Value* pv = body.find("price");
        const json::Value* tv = body.find("trigger_price");
        bool price_given = pv && !pv->is_null();
        bool trigger_given = tv && !tv->is_null();
        if (needs_price && !price_given)
            f.add("price", "is required for " + std::string(to_string(*type)));
        if (!needs_price && price_given)
            f.add("price", "must be absent for " + std::string(to_string(*type)));
        if (needs_trigger && !trigger_given)
            f.add("trigger_price", "is required for " + std::string(to_string(*type)));
        if (!needs_trigger && trigger_given)
            f.add("trigger_price", "must be absent for " + std::string(to_string(*type)));
    }
    if (f.err->errors.size() != errors_before) return;
    out->account_id = account.value_or("");
    out->symbol = symbol.value_or("");
    out->exchange = exchange.value_or("");
    out->side = *side;
    out->quantity = *quantity;
    out->order_type = *type;
    out->price = price;
    out->trigger_price = trigger;
    out->time_in_force = tif.value_or(TimeInForce::Day);
    out->product = product.value_or("");
    out->client_order_id = cid.value_or("");
    out->tag = tag.value_or("");
    out->extra_json = std::move(extra);
}

// VALIDATION_FAILED's detail names the first problem and how many more there are.
bool finish(Error* err) {
    if (err->errors.empty()) return true;
    err->name_first_problem();
    return false;
}

}  // namespace

bool parse_place(const json::Value& body, OrderRequest* out, Error* err) {
    *err = Error::make(ErrorCode::ValidationFailed, "");
    if (!body.is_object()) {
        err->code = ErrorCode::MalformedJson;
        err->detail = "the body must be a JSON object";
        return false;
    }
    Fields f{body, err};
    order_fields(f, false, out);
    return finish(err);
}

bool parse_gtt(const json::Value& body, gtt::GttRequest* out, Error* err) {
    *err = Error::make(ErrorCode::ValidationFailed, "");
    if (!body.is_object()) {
        err->code = ErrorCode::MalformedJson;
        err->detail = "the body must be a JSON object";
        return false;
    }
    Fields f{body, err};
    f.unknown({"account_id", "symbol", "exchange", "type", "triggers", "expires_at"});
    auto account = f.str("account_id", true, 64);
    auto symbol = f.str("symbol", true, 64);
    auto exchange = f.str("exchange", true, 32);
    if (symbol && !symbol_like(*symbol)) f.add("symbol", "has characters a symbol cannot have");
    if (exchange && !symbol_like(*exchange))
        f.add("exchange", "has characters an exchange cannot have");
    auto type = f.enumeration<gtt::GttType>(
        "type", true,
        +[](std::string_view s, gtt::GttType* t) {
            auto v = gtt::gtt_type_from(s);
            if (v) *t = *v;
            return v.has_value();
        },
        "SINGLE, OCO");
    int64_t expires = 0;
    if (const json::Value* e = body.find("expires_at"); e && !e->is_null()) {
        if (!e->is_string() || !timefmt::parse_rfc3339(e->text(), &expires))
            f.add("expires_at", "must be an RFC 3339 time or null");
    }
    std::vector<gtt::GttLeg> legs;
    const json::Value* triggers = body.find("triggers");
    if (!triggers || triggers->is_null()) {
        f.add("triggers", "is required");
    } else if (!triggers->is_array() || triggers->items().empty() ||
               triggers->items().size() > 2) {
        f.add("triggers", "must be an array of one (SINGLE) or two (OCO) triggers");
    } else {
        for (size_t i = 0; i < triggers->items().size(); ++i) {
            const json::Value& t = triggers->items()[i];
            const std::string where = "triggers[" + std::to_string(i) + "].";
            if (!t.is_object()) {
                f.add(where.substr(0, where.size() - 1), "must be an object");
                continue;
            }
            Fields tf{t, err, where};
            tf.unknown({"trigger_price", "order"});
            gtt::GttLeg leg;
            auto trigger = tf.decimal("trigger_price", true, true);
            const json::Value* o = t.find("order");
            if (!o || o->is_null()) {
                tf.add("order", "is required");
            } else if (!o->is_object()) {
                tf.add("order", "must be an object");
            } else {
                Fields of{*o, err, where + "order."};
                order_fields(of, true, &leg.order);
                // What a leg repeats of the GTT must be the GTT's: one GTT watches one
                // instrument of one account.
                auto same = [&](const char* name, const std::optional<std::string>& gtts) {
                    const json::Value* given = o->find(name);
                    if (given && given->is_string() && !given->text().empty() && gtts &&
                        given->text() != *gtts)
                        of.add(name, "must be the GTT's " + std::string(name) + " '" + *gtts +
                                         "' (or be left out)");
                };
                same("account_id", account);
                same("symbol", symbol);
                same("exchange", exchange);
            }
            if (trigger) leg.trigger_price = *trigger;
            legs.push_back(std::move(leg));
        }
    }
    if (!finish(err)) return false;
    out->account_id = *account;
    out->symbol = *symbol;
    out->exchange = *exchange;
    out->type = *type;
    out->expires_at_ns = expires;
    out->legs = std::move(legs);
    return true;
}

void write_gtt(json::Writer& w, const gtt::Gtt& g) {
    w.begin_object()
        .field("id", g.id)
        .field("account_id", g.account_id)
        .field("symbol", g.symbol)
        .field("exchange", g.exchange)
        .field("type", to_string(g.type))
        .field("status", to_string(gtt::visible_status(g)))
        .field_bool("emulated", g.emulated)
        .field("last_price", g.last_price.to_string())
        .key("triggers")
        .begin_array();
    for (size_t i = 0; i < g.legs.size(); ++i) {
        const gtt::GttLeg& leg = g.legs[i];
        const OrderRequest& o = leg.order;
        w.begin_object()
            .field("trigger_price", leg.trigger_price.to_string())
            .field("direction", leg.direction == gtt::Direction::Rises ? "RISES" : "FALLS")
            .field_or_null("status", leg.status)
            .field_or_null("order_id", leg.order_id)
            .key("order")
            .begin_object()
            .field("side", to_string(o.side))
            .field("order_type", to_string(o.order_type))
            .field("quantity", o.quantity.to_string());
        if (o.price) w.field("price", o.price->to_string());
        else w.field_null("price");
        if (o.trigger_price) w.field("trigger_price", o.trigger_price->to_string());
        else w.field_null("trigger_price");
        w.field("time_in_force", to_string(o.time_in_force))
            .field_or_null("product", o.product)
            .field_or_null("tag", o.tag)
            .key("extra")
            .raw(o.extra_json.empty() ? "{}" : o.extra_json)
            .end_object()
            .end_object();
    }
    w.end_array();
    if (g.triggered_leg >= 0) w.field_int("triggered_leg", g.triggered_leg);
    else w.field_null("triggered_leg");
    w.field_or_null("reason", g.reason);
    if (g.expires_at_ns) w.field("expires_at", timefmt::rfc3339_ms(g.expires_at_ns));
    else w.field_null("expires_at");
    w.field("created_at", timefmt::rfc3339_ms(g.created_at_ns))
        .field("updated_at", timefmt::rfc3339_ms(g.updated_at_ns))
        .field_int("version", g.version)
        .end_object();
}

bool parse_modify(const json::Value& body, ModifyRequest* out, Error* err) {
    *err = Error::make(ErrorCode::ValidationFailed, "");
    if (!body.is_object()) {
        err->code = ErrorCode::MalformedJson;
        err->detail = "the body must be a JSON object";
        return false;
    }
    Fields f{body, err};
    f.unknown({"quantity", "price", "trigger_price", "order_type", "time_in_force"});
    out->quantity = f.decimal("quantity", false, true);
    out->price = f.decimal("price", false, true);
    out->trigger_price = f.decimal("trigger_price", false, true);
    out->order_type = f.enumeration<OrderType>("order_type", false, parse_order_type,
                                               "MARKET, LIMIT, STOP, STOP_LIMIT");
    out->time_in_force = f.enumeration<TimeInForce>("time_in_force", false, parse_time_in_force,
                                                    "DAY, GTC, IOC, FOK");
    if (err->errors.empty() && !out->quantity && !out->price && !out->trigger_price &&
        !out->order_type && !out->time_in_force)
        f.add("body", "must change at least one of quantity, price, trigger_price, order_type, "
                      "time_in_force");
    return finish(err);
}

}  // namespace ordergate::api
