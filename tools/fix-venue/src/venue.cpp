#include "venue.hpp"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>

namespace ordergate::fixvenue {

namespace {

constexpr int kAvgPxScale = 9;  // AvgPx rounds half-even at 9 decimals (REST's price scale)

bool is_42(const std::string& session) { return session.rfind("FIX.4.2:", 0) == 0; }

std::string transact_time() {
    using namespace std::chrono;
    const auto now = system_clock::now();
    const time_t secs = system_clock::to_time_t(now);
    const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    tm t{};
    gmtime_r(&secs, &t);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d%02d%02d-%02d:%02d:%02d.%03d", t.tm_year + 1900,
                  t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, static_cast<int>(ms));
    return buf;
}

std::string json_str(const std::string& s) {
    std::string o = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') {
            o += '\\';
            o += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char b[8];
            std::snprintf(b, sizeof b, "\\u%04x", c);
            o += b;
        } else {
            o += c;
        }
    }
    return o + "\"";
}

// Parses a positive quantity or price; false with a reason otherwise.
bool parse_positive(const std::string& text, Decimal* out, std::string* why) {
    Decimal::ParseOptions o;
    o.allow_sign = false;
    if (!Decimal::parse(text, out, why, o)) return false;
    if (!out->is_positive()) {
        *why = "must be positive";
        return false;
    }
    return true;
}

bool working(char status) { return status == '0' || status == '1'; }
bool restable(char ord_type, char tif) { return ord_type == '2' && (tif == '0' || tif == '1'); }

}  // namespace

bool set_profile_flag(Profile& p, const std::string& name, bool on) {
    if (name == "no-new-ack")
        p.no_new_ack = on;
    else if (name == "cancel-own-clordid")
        p.cancel_own_clordid = on;
    else if (name == "ignore-unknown-cancel")
        p.ignore_unknown_cancel = on;
    else if (name == "pending-acks")
        p.pending_acks = on;
    else if (name == "hold")
        p.hold = on;
    else if (name == "no-replace")
        p.no_replace = on;
    else
        return false;
    return true;
}

std::string profile_flags(const Profile& p) {
    std::string s;
    auto add = [&s](bool on, const char* n) {
        if (!on) return;
        if (!s.empty()) s += ',';
        s += n;
    };
    add(p.no_new_ack, "no-new-ack");
    add(p.cancel_own_clordid, "cancel-own-clordid");
    add(p.ignore_unknown_cancel, "ignore-unknown-cancel");
    add(p.pending_acks, "pending-acks");
    add(p.hold, "hold");
    add(p.no_replace, "no-replace");
    return s;
}

// Called with the engine's lock held: the transport's queue then receives every session's
// messages in the order the engine made them (a fill caused by another session's order never
// overtakes the answer to a cancel that came after it).
void Venue::emit(std::vector<OutMessage> out) {
    if (!out.empty() && sink_) sink_(std::move(out));
}

Venue::Venue(EngineConfig config) : config_(std::move(config)) {
    for (const auto& kv : config_.prices) config_.symbols.insert(kv.first);
}

std::string Venue::next_id(char prefix) {
    return std::string(1, prefix) + config_.run_id + "-" + std::to_string(++id_counter_);
}

// ---- lookups ----------------------------------------------------------------------------------

std::string Venue::firm(const std::string& session) const {
    const size_t arrow = session.find("->");
    if (arrow != std::string::npos) {
        auto it = config_.firms.find(session.substr(arrow + 2));
        if (it != config_.firms.end()) return "firm:" + it->second;
    }
    return session;
}

Venue::Order* Venue::find_order(const std::string& session, const std::string& cl_ord_id,
                                const std::string& order_id) {
    const std::string f = firm(session);
    if (!order_id.empty() && order_id != "NONE") {
        auto it = orders_.find(order_id);
        if (it != orders_.end() && firm(it->second.session) == f) return &it->second;
    }
    auto s = by_cl_ord_id_.find(f);
    if (s == by_cl_ord_id_.end()) return nullptr;
    auto c = s->second.find(cl_ord_id);
    if (c == s->second.end()) return nullptr;
    return &orders_.at(c->second);
}

Venue::Order* Venue::find_any(const std::string& ref) {
    auto it = orders_.find(ref);
    if (it != orders_.end()) return &it->second;
    Order* found = nullptr;
    for (auto& [session, ids] : by_cl_ord_id_) {
        auto c = ids.find(ref);
        if (c == ids.end()) continue;
        if (found) throw ControlError("AMBIGUOUS", "ClOrdID " + ref + " names several orders");
        found = &orders_.at(c->second);
    }
    return found;
}

char Venue::reported_status(const Order& o) const {
    if (o.pending && working(o.status)) return o.pending->msg_type == "F" ? '6' : 'E';
    return o.status;
}

Decimal Venue::avg_px(const Order& o) const {
    if (o.cum.is_zero()) return Decimal::from_int(0);
    return Decimal::divide(o.notional, o.cum, kAvgPxScale);
}

// ---- writing reports --------------------------------------------------------------------------

OutMessage Venue::exec_report(const Order& o, const Report& r, const std::string& to) const {
    const std::string& dest = to.empty() ? o.session : to;
    const bool v42 = is_42(dest);
    OutMessage m{dest, "8", {}};
    auto& f = m.fields;
    f.emplace_back(37, o.order_id);
    if (!o.account.empty()) f.emplace_back(1, o.account);
    const std::string cl =
        r.cl_ord_id.empty() && !o.cl_ord_ids.empty() ? o.cl_ord_ids.back() : r.cl_ord_id;
    if (!cl.empty()) f.emplace_back(11, cl);
    if (!r.orig_cl_ord_id.empty()) f.emplace_back(41, r.orig_cl_ord_id);
    f.emplace_back(17, r.exec_id);
    if (!r.exec_ref_id.empty()) f.emplace_back(19, r.exec_ref_id);
    if (v42) {
        // 4.2 says what happened to an execution with ExecTransType and keeps ExecType for the
        // order's event; a status answer repeats the OrdStatus in ExecType.
        char trans = '0', type = r.exec_type;
        switch (r.exec_type) {
            case 'F':
                type = r.exec_type_42;
                break;
            case 'G':
                trans = '2';
                type = r.exec_type_42;
                break;
            case 'H':
                trans = '1';
                type = r.exec_type_42;
                break;
            case 'I':
                trans = '3';
                type = r.ord_status;
                break;
            default:
                break;
        }
        f.emplace_back(20, std::string(1, trans));
        f.emplace_back(150, std::string(1, type));
    } else {
        f.emplace_back(150, std::string(1, r.exec_type));
    }
    f.emplace_back(39, std::string(1, r.ord_status));
    if (r.ord_rej_reason >= 0) f.emplace_back(103, std::to_string(r.ord_rej_reason));
    f.emplace_back(55, o.symbol);
    f.emplace_back(54, std::string(1, o.side));
    f.emplace_back(38, o.qty.to_string());
    f.emplace_back(40, std::string(1, o.ord_type));
    if (o.has_price) f.emplace_back(44, o.price.to_string());
    f.emplace_back(59, std::string(1, o.tif));
    if (r.last_qty) f.emplace_back(32, r.last_qty->to_string());
    if (r.last_px) f.emplace_back(31, r.last_px->to_string());
    f.emplace_back(151, o.leaves.to_string());
    f.emplace_back(14, o.cum.to_string());
    f.emplace_back(6, avg_px(o).to_string());
    f.emplace_back(60, transact_time());
    if (!r.text.empty()) f.emplace_back(58, r.text);
    if (!r.ord_status_req_id.empty()) f.emplace_back(790, r.ord_status_req_id);
    if (!r.mass_status_req_id.empty()) {
        f.emplace_back(584, r.mass_status_req_id);
        f.emplace_back(911, std::to_string(r.tot_num_reports));
        f.emplace_back(912, r.last_rpt_requested ? "Y" : "N");
    }
    return m;
}

// A report about no known order (rejects, unknown status): built from the request itself.
OutMessage Venue::exec_report_for(const InMessage& req, const Report& r, const std::string& symbol,
                                  char side) const {
    Order o;
    o.order_id = "NONE";
    o.session = req.session;
    o.symbol = symbol.empty() ? "NA" : symbol;
    o.side = side ? side : '1';
    std::string why;
    Decimal q;
    if (parse_positive(req.get(38), &q, &why)) o.qty = q;
    const std::string ot = req.get(40);
    o.ord_type = ot.size() == 1 ? ot[0] : '2';
    Decimal p;
    if (parse_positive(req.get(44), &p, &why)) {
        o.price = p;
        o.has_price = true;
    }
    const std::string tif = req.get(59);
    o.tif = tif.size() == 1 ? tif[0] : '0';
    OutMessage m = exec_report(o, r);
    return m;
}

OutMessage Venue::cancel_reject(const InMessage& req, const Order* o, char response_to, int reason,
                                const std::string& text) const {
    OutMessage m{req.session, "9", {}};
    auto& f = m.fields;
    f.emplace_back(37, o ? o->order_id : "NONE");
    f.emplace_back(11, req.get(11));
    f.emplace_back(41, req.get(41));
    f.emplace_back(39, std::string(1, o ? reported_status(*o) : '8'));
    f.emplace_back(434, std::string(1, response_to));
    // 4.2 knows CxlRejReason 0..3 only; its "broker option" (2) stands for the newer codes.
    f.emplace_back(102, std::to_string(is_42(req.session) && reason > 3 ? 2 : reason));
    f.emplace_back(60, transact_time());
    f.emplace_back(58, text);
    return m;
}

OutMessage Venue::business_reject(const InMessage& req, int reason, const std::string& text) const {
    OutMessage m{req.session, "j", {}};
    m.fields.emplace_back(45, std::to_string(req.seq_num));
    m.fields.emplace_back(372, req.msg_type);
    // BusinessRejectRefID: the business id of the refused message (its ClOrdID, or a status
    // request's id), when it has one.
    for (int tag : {11, 584, 790}) {
        if (std::string ref = req.get(tag); !ref.empty()) {
            m.fields.emplace_back(379, ref);
            break;
        }
    }
    m.fields.emplace_back(380, std::to_string(reason));
    m.fields.emplace_back(58, text);
    return m;
}

void Venue::reject_order(const InMessage& req, int reason, const std::string& text,
                         std::vector<OutMessage>& out) {
    rejects_.push_back({req.session, req.msg_type, req.get(11), text});
    Report r;
    r.exec_type = '8';
    r.ord_status = '8';
    r.exec_id = next_id('X');
    r.cl_ord_id = req.get(11);
    // 4.2 defines OrdRejReason 0..6 (and 99 is 4.3+): the rest become "broker option".
    r.ord_rej_reason = is_42(req.session) && reason > 6 ? 0 : reason;
    r.text = text;
    const std::string side = req.get(54);
    out.push_back(exec_report_for(req, r, req.get(55), side.size() == 1 ? side[0] : '1'));
}

// ---- client messages --------------------------------------------------------------------------

void Venue::handle(const InMessage& m) {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<OutMessage> out;
    try {
        if (m.msg_type == "D")
            on_new_order(m, out);
        else if (m.msg_type == "F")
            on_cancel(m, out);
        else if (m.msg_type == "G")
            on_replace(m, out);
        else if (m.msg_type == "H")
            on_status(m, out);
        else if (m.msg_type == "AF" && !is_42(m.session))
            on_mass_status(m, out);
        else if (m.msg_type == "j" || m.msg_type == "8" || m.msg_type == "9")
            // A client's BusinessMessageReject (or a report echoed back) is never answered: a
            // reject of a reject could ping-pong between two strict peers.
            std::cerr << "fix-venue: event=ignored session=" << m.session
                      << " msg_type=" << m.msg_type << " seq=" << m.seq_num << std::endl;
        else
            out.push_back(business_reject(m, 3, "unsupported message type " + m.msg_type));
    } catch (const DecimalError& e) {
        // Arithmetic beyond Decimal's range: the request is refused, the book is untouched by
        // the step that failed.
        out.push_back(business_reject(m, 0, std::string("value out of range: ") + e.what()));
    }
    emit(std::move(out));
}

void Venue::on_new_order(const InMessage& m, std::vector<OutMessage>& out) {
    ++new_order_messages_[m.session];
    const std::string cl = m.get(11);
    if (cl.empty()) return reject_order(m, 0, "ClOrdID (11) missing", out);
    if (Order* known = find_order(m.session, cl, "")) {
        if (m.poss_dup || m.poss_resend) {
            // A resent order we already hold: say where it stands instead of trading it twice.
            Report r;
            r.exec_type = 'I';
            r.ord_status = reported_status(*known);
            r.exec_id = "0";
            r.cl_ord_id = cl;
            out.push_back(exec_report(*known, r, m.session));
            return;
        }
        return reject_order(m, 6, "duplicate ClOrdID " + cl, out);
    }
    const std::string symbol = m.get(55);
    if (symbol.empty()) return reject_order(m, 0, "Symbol (55) missing", out);
    if (!config_.symbols.empty() && !config_.symbols.count(symbol))
        return reject_order(m, 1, "unknown symbol " + symbol, out);
    const std::string side = m.get(54);
    if (side != "1" && side != "2") return reject_order(m, 0, "unsupported Side " + side, out);
    std::string ord_type = m.get(40);
    if (ord_type != "1" && ord_type != "2")
        return reject_order(m, 11, "unsupported OrdType " + ord_type, out);
    std::string tif = m.get(59);
    if (tif.empty()) tif = "0";
    if (tif != "0" && tif != "1" && tif != "3" && tif != "4")
        return reject_order(m, 11, "unsupported TimeInForce " + tif, out);
    std::string why;
    Decimal qty;
    if (!parse_positive(m.get(38), &qty, &why))
        return reject_order(m, 13, "invalid OrderQty '" + m.get(38) + "': " + why, out);
    Decimal price;
    const bool limit = ord_type == "2";
    if (limit && !parse_positive(m.get(44), &price, &why))
        return reject_order(m, 0, "invalid Price '" + m.get(44) + "': " + why, out);

    Order o;
    o.order_id = next_id('O');
    o.session = m.session;
    o.account = m.get(1);
    o.symbol = symbol;
    o.cl_ord_ids.push_back(cl);
    o.side = side[0];
    o.ord_type = ord_type[0];
    o.tif = tif[0];
    o.qty = qty;
    o.leaves = qty;
    o.price = price;
    o.has_price = limit;
    o.status = '0';
    o.priority = ++priority_counter_;
    Order& ord = orders_.emplace(o.order_id, o).first->second;
    order_sequence_.push_back(ord.order_id);
    by_cl_ord_id_[firm(m.session)][cl] = ord.order_id;

    const Profile prof = profiles_[m.session];
    const bool fok_short = ord.tif == '4' && available(ord) < ord.qty;
    const bool trades_now = !fok_short && available(ord).is_positive();
    if (!(prof.no_new_ack && trades_now)) {
        Report r;
        r.exec_type = '0';
        r.ord_status = '0';
        r.exec_id = next_id('X');
        ord.exec_ids.push_back(r.exec_id);
        out.push_back(exec_report(ord, r));
    }
    if (fok_short) return finish_unrested(ord, "fill or kill: not enough liquidity", out);
    match(ord, out);
    if (ord.leaves.is_positive() && working(ord.status)) {
        if (restable(ord.ord_type, ord.tif))
            add_to_book(ord);
        else
            finish_unrested(ord,
                            ord.ord_type == '1' ? "market order: no more liquidity"
                                                : "immediate or cancel: remainder canceled",
                            out);
    }
}

// IOC/FOK/market remainders: canceled by the venue with a reason.
void Venue::finish_unrested(Order& o, const std::string& why, std::vector<OutMessage>& out) {
    o.leaves = Decimal::from_int(0);
    o.status = '4';
    Report r;
    r.exec_type = '4';
    r.ord_status = '4';
    r.exec_id = next_id('X');
    r.text = why;
    o.exec_ids.push_back(r.exec_id);
    out.push_back(exec_report(o, r));
}

// What a cancel (response_to '1') and a cancel/replace ('2') share before they apply: the order
// they name, refusals with an OrderCancelReject, and, for the pending-acks and hold profiles, the
// Pending Cancel / Pending Replace report. Returns the order to apply the request to now, or null
// (refused, ignored, or held until `release`).
Venue::Order* Venue::admit_change(const InMessage& m, char response_to,
                                  std::vector<OutMessage>& out) {
    const Profile prof = profiles_[m.session];
    const bool cancel = response_to == '1';
    Order* o = find_order(m.session, m.get(41), m.get(37));
    if (!o) {
        rejects_.push_back({m.session, m.msg_type, m.get(11), "unknown order"});
        if (!(cancel && prof.ignore_unknown_cancel))
            out.push_back(cancel_reject(m, nullptr, response_to, 1, "unknown order " + m.get(41)));
        return nullptr;
    }
    const std::string verb = cancel ? "cancel" : "replace";
    if (!working(o->status)) {
        rejects_.push_back({m.session, m.msg_type, m.get(11), "too late to " + verb});
        out.push_back(
            cancel_reject(m, o, response_to, 0, "too late to " + verb + ": order is done"));
        return nullptr;
    }
    if (o->pending) {
        out.push_back(
            cancel_reject(m, o, response_to, 3, "a cancel or replace is already pending"));
        return nullptr;
    }
    if (m.get(11).empty() || find_order(m.session, m.get(11), "")) {
        out.push_back(cancel_reject(m, o, response_to, 6, "missing or duplicate ClOrdID"));
        return nullptr;
    }
    // The session that changes an order gets its reports from now on (another of the firm may
    // have placed it).
    o->session = m.session;
    if (prof.pending_acks || prof.hold) {
        Report r;
        r.exec_type = r.ord_status = cancel ? '6' : 'E';
        r.exec_id = next_id('X');
        r.cl_ord_id = m.get(11);
        r.orig_cl_ord_id = o->cl_ord_ids.back();
        o->exec_ids.push_back(r.exec_id);
        out.push_back(exec_report(*o, r));
    }
    if (prof.hold) {
        o->pending = m;
        return nullptr;
    }
    return o;
}

void Venue::on_cancel(const InMessage& m, std::vector<OutMessage>& out) {
    if (Order* o = admit_change(m, '1', out)) apply_cancel(*o, m, out);
}

void Venue::apply_cancel(Order& o, const InMessage& m, std::vector<OutMessage>& out) {
    const Profile prof = profiles_[m.session];
    remove_from_book(o);
    o.leaves = Decimal::from_int(0);
    o.status = '4';
    Report r;
    r.exec_type = '4';
    r.ord_status = '4';
    r.exec_id = next_id('X');
    if (prof.cancel_own_clordid) {
        r.cl_ord_id = o.cl_ord_ids.back();
    } else {
        r.cl_ord_id = m.get(11);
        r.orig_cl_ord_id = o.cl_ord_ids.back();
        o.cl_ord_ids.push_back(r.cl_ord_id);
        by_cl_ord_id_[firm(o.session)][r.cl_ord_id] = o.order_id;
    }
    o.exec_ids.push_back(r.exec_id);
    out.push_back(exec_report(o, r));
}

void Venue::on_replace(const InMessage& m, std::vector<OutMessage>& out) {
    if (profiles_[m.session].no_replace) {
        // A venue without cancel/replace: the message type is not supported.
        rejects_.push_back({m.session, m.msg_type, m.get(11), "unsupported message type G"});
        out.push_back(business_reject(m, 3, "unsupported message type G"));
        return;
    }
    if (Order* o = admit_change(m, '2', out)) apply_replace(*o, m, out);
}

void Venue::apply_replace(Order& o, const InMessage& m, std::vector<OutMessage>& out) {
    auto refuse = [&](int reason, const std::string& text) {
        rejects_.push_back({m.session, m.msg_type, m.get(11), text});
        out.push_back(cancel_reject(m, &o, '2', reason, text));
    };
    if (!working(o.status)) return refuse(0, "too late to replace: order is done");
    if (!m.get(55).empty() && m.get(55) != o.symbol) return refuse(99, "Symbol cannot change");
    if (!m.get(54).empty() && m.get(54) != std::string(1, o.side))
        return refuse(99, "Side cannot change");
    std::string ord_type = m.get(40);
    if (ord_type.empty()) ord_type = std::string(1, o.ord_type);
    if (ord_type != std::string(1, o.ord_type)) return refuse(99, "OrdType cannot change");
    std::string why;
    Decimal qty;
    if (!parse_positive(m.get(38), &qty, &why))
        return refuse(99, "invalid OrderQty '" + m.get(38) + "': " + why);
    if (qty < o.cum) return refuse(99, "OrderQty below the quantity already filled");
    Decimal price = o.price;
    if (o.ord_type == '2' && !parse_positive(m.get(44), &price, &why))
        return refuse(99, "invalid Price '" + m.get(44) + "': " + why);
    std::string tif = m.get(59);
    if (!tif.empty() && tif != std::string(1, o.tif))
        return refuse(99, "TimeInForce cannot change");

    // Price-time priority: a new price or more quantity goes to the back of the queue; less
    // quantity at the same price keeps its place.
    const bool loses_priority = price != o.price || qty > o.qty;
    if (loses_priority) remove_from_book(o);
    o.qty = qty;
    o.price = price;
    o.leaves = qty - o.cum;
    const std::string previous = o.cl_ord_ids.back();
    o.cl_ord_ids.push_back(m.get(11));
    by_cl_ord_id_[firm(o.session)][m.get(11)] = o.order_id;
    if (o.leaves.is_zero()) {
        remove_from_book(o);
        o.status = '2';
    }
    Report r;
    r.exec_type = '5';
    r.ord_status = o.status;
    r.exec_id = next_id('X');
    r.orig_cl_ord_id = previous;
    o.exec_ids.push_back(r.exec_id);
    out.push_back(exec_report(o, r));
    if (working(o.status) && loses_priority) {
        o.priority = ++priority_counter_;
        match(o, out);
        if (working(o.status) && o.leaves.is_positive()) add_to_book(o);
    }
}

void Venue::on_status(const InMessage& m, std::vector<OutMessage>& out) {
    Order* o = find_order(m.session, m.get(11), m.get(37));
    Report r;
    r.exec_type = 'I';
    r.exec_id = "0";  // a status answer is no execution
    r.ord_status_req_id = is_42(m.session) ? "" : m.get(790);
    if (!o) {
        r.ord_status = '8';
        r.ord_rej_reason = 5;  // unknown order
        r.cl_ord_id = m.get(11);
        r.text = "unknown order";
        const std::string side = m.get(54);
        out.push_back(exec_report_for(m, r, m.get(55), side.size() == 1 ? side[0] : '1'));
        return;
    }
    r.ord_status = reported_status(*o);
    out.push_back(exec_report(*o, r, m.session));
}

void Venue::on_mass_status(const InMessage& m, std::vector<OutMessage>& out) {
    const std::string id = m.get(584);
    const std::string type = m.get(585);
    if (id.empty()) {
        out.push_back(business_reject(m, 5, "MassStatusReqID (584) missing"));
        return;
    }
    if (type != "1" && type != "7" && type != "8") {
        out.push_back(business_reject(m, 0, "unsupported MassStatusReqType " + type));
        return;
    }
    const std::string symbol = type == "1" ? m.get(55) : "";
    std::vector<const Order*> open;
    for (const auto& oid : order_sequence_) {
        const Order& o = orders_.at(oid);
        if (firm(o.session) != firm(m.session) || !working(o.status)) continue;
        if (!symbol.empty() && o.symbol != symbol) continue;
        open.push_back(&o);
    }
    Report r;
    r.exec_type = 'I';
    r.exec_id = "0";
    r.mass_status_req_id = id;
    r.tot_num_reports = static_cast<int>(open.size());
    if (open.empty()) {
        // Nothing open: one report that says so (OrderID NONE, TotNumReports 0).
        r.ord_status = '8';
        r.last_rpt_requested = true;
        r.text = "no open orders";
        out.push_back(exec_report_for(m, r, symbol, '1'));
        return;
    }
    for (size_t i = 0; i < open.size(); ++i) {
        r.ord_status = reported_status(*open[i]);
        r.last_rpt_requested = i + 1 == open.size();
        out.push_back(exec_report(*open[i], r, m.session));
    }
}

// ---- the book ---------------------------------------------------------------------------------

void Venue::add_to_book(Order& o) {
    if (o.in_book) return;
    Book& b = books_[o.symbol];
    if (o.side == '1')
        b.bids[o.price].push_back(o.order_id);
    else
        b.asks[o.price].push_back(o.order_id);
    o.in_book = true;
}

void Venue::remove_from_book(Order& o) {
    if (!o.in_book) return;
    Book& b = books_[o.symbol];
    auto drop = [&](auto& side) {
        auto lvl = side.find(o.price);
        if (lvl == side.end()) return;
        auto& q = lvl->second;
        q.erase(std::remove(q.begin(), q.end(), o.order_id), q.end());
        if (q.empty()) side.erase(lvl);
    };
    if (o.side == '1')
        drop(b.bids);
    else
        drop(b.asks);
    o.in_book = false;
}

Decimal Venue::available(const Order& o) const {
    Decimal total = Decimal::from_int(0);
    auto crosses = [&](const Decimal& px) {
        if (o.ord_type == '1') return true;
        return o.side == '1' ? px <= o.price : px >= o.price;
    };
    auto lp = config_.prices.find(o.symbol);
    if (lp != config_.prices.end() && crosses(lp->second)) {
        if (!config_.lp_depth) return o.leaves;  // the provider has no limit
        total += *config_.lp_depth;
    }
    auto b = books_.find(o.symbol);
    if (b != books_.end()) {
        auto sum = [&](const auto& side) {
            for (const auto& [px, ids] : side) {
                if (!crosses(px)) break;
                for (const auto& id : ids) total += orders_.at(id).leaves;
            }
        };
        if (o.side == '1')
            sum(b->second.asks);
        else
            sum(b->second.bids);
    }
    return total;
}

void Venue::match(Order& o, std::vector<OutMessage>& out) {
    Decimal lp_used = Decimal::from_int(0);
    while (o.leaves.is_positive() && working(o.status)) {
        Order* resting = nullptr;
        Decimal resting_px;
        Book& b = books_[o.symbol];
        auto pick = [&](auto& side) {
            for (auto& [px, ids] : side) {
                for (const auto& id : ids) {
                    if (id == o.order_id) continue;
                    resting = &orders_.at(id);
                    resting_px = px;
                    return;
                }
            }
        };
        if (o.side == '1')
            pick(b.asks);
        else
            pick(b.bids);
        auto crosses = [&](const Decimal& px) {
            if (o.ord_type == '1') return true;
            return o.side == '1' ? px <= o.price : px >= o.price;
        };
        if (resting && !crosses(resting_px)) resting = nullptr;
        std::optional<Decimal> lp_px;
        auto lp = config_.prices.find(o.symbol);
        if (lp != config_.prices.end() && crosses(lp->second) &&
            (!config_.lp_depth || lp_used < *config_.lp_depth))
            lp_px = lp->second;
        // Better price first; at the same price the resting client order was there first.
        bool use_lp =
            lp_px && (!resting || (o.side == '1' ? *lp_px < resting_px : *lp_px > resting_px));
        if (use_lp) {
            Decimal q = o.leaves;
            if (config_.lp_slice && *config_.lp_slice < q) q = *config_.lp_slice;
            if (config_.lp_depth && *config_.lp_depth - lp_used < q)
                q = *config_.lp_depth - lp_used;
            lp_used += q;
            execute(o, nullptr, q, *lp_px, out);
        } else if (resting) {
            Decimal q = std::min(o.leaves, resting->leaves);
            execute(o, resting, q, resting_px, out);
        } else {
            break;
        }
    }
}

void Venue::execute(Order& aggressor, Order* resting, const Decimal& qty, const Decimal& px,
                    std::vector<OutMessage>& out) {
    Trade t;
    t.trade_id = next_id('T');
    t.symbol = aggressor.symbol;
    t.qty = qty;
    t.px = px;
    Side& mine = aggressor.side == '1' ? t.buy : t.sell;
    Side& theirs = aggressor.side == '1' ? t.sell : t.buy;
    mine.order_id = aggressor.order_id;
    if (resting) theirs.order_id = resting->order_id;
    // The resting side is reported first: it was in the book before the aggressor arrived.
    if (resting) fill_side(*resting, theirs, qty, px, out);
    fill_side(aggressor, mine, qty, px, out);
    if (!mine.exec_id.empty()) trade_of_exec_[mine.exec_id] = t.trade_id;
    if (!theirs.exec_id.empty()) trade_of_exec_[theirs.exec_id] = t.trade_id;
    trades_.emplace(t.trade_id, t);
    trade_sequence_.push_back(t.trade_id);
}

void Venue::fill_side(Order& o, Side& side, const Decimal& qty, const Decimal& px,
                      std::vector<OutMessage>& out) {
    o.cum += qty;
    o.leaves -= qty;
    o.notional += qty * px;
    if (o.leaves.is_zero()) {
        o.status = '2';
        remove_from_book(o);
    } else {
        o.status = '1';
    }
    Report r;
    r.exec_type = 'F';
    r.exec_type_42 = o.leaves.is_zero() ? '2' : '1';
    r.ord_status = reported_status(o);
    r.exec_id = next_id('X');
    r.last_qty = qty;
    r.last_px = px;
    side.exec_id = r.exec_id;
    o.exec_ids.push_back(r.exec_id);
    out.push_back(exec_report(o, r));
}

// ---- control ----------------------------------------------------------------------------------

void Venue::set_price(const std::string& symbol, const Decimal& px) {
    std::lock_guard<std::mutex> l(mu_);
    if (!px.is_positive()) throw ControlError("BAD_PRICE", "price must be positive");
    config_.prices[symbol] = px;
    config_.symbols.insert(symbol);
    // Resting orders the new price crosses trade now, in priority order.
    std::vector<OutMessage> out;
    std::vector<Order*> crossing;
    for (auto& [id, o] : orders_) {
        if (o.symbol != symbol || !o.in_book) continue;
        if ((o.side == '1' && o.price >= px) || (o.side == '2' && o.price <= px))
            crossing.push_back(&o);
    }
    std::sort(crossing.begin(), crossing.end(),
              [](const Order* a, const Order* b) { return a->priority < b->priority; });
    for (Order* o : crossing) match(*o, out);
    emit(std::move(out));
}

void Venue::clear_price(const std::string& symbol) {
    std::lock_guard<std::mutex> l(mu_);
    config_.prices.erase(symbol);
}

void Venue::house_fill(const std::string& ref, const Decimal& qty, std::optional<Decimal> px) {
    std::lock_guard<std::mutex> l(mu_);
    Order* o = find_any(ref);
    if (!o) throw ControlError("UNKNOWN_ORDER", "no order " + ref);
    if (!working(o->status)) throw ControlError("ORDER_DONE", "order " + ref + " is done");
    if (!qty.is_positive() || qty > o->leaves)
        throw ControlError("BAD_QTY",
                           "quantity must be positive and at most " + o->leaves.to_string());
    Decimal price;
    if (px)
        price = *px;
    else if (o->has_price)
        price = o->price;
    else if (config_.prices.count(o->symbol))
        price = config_.prices.at(o->symbol);
    else
        throw ControlError("NO_PRICE", "give a price for a market order");
    std::vector<OutMessage> out;
    Trade t;
    t.trade_id = next_id('T');
    t.symbol = o->symbol;
    t.qty = qty;
    t.px = price;
    Side& mine = o->side == '1' ? t.buy : t.sell;
    mine.order_id = o->order_id;
    fill_side(*o, mine, qty, price, out);
    trade_of_exec_[mine.exec_id] = t.trade_id;
    trades_.emplace(t.trade_id, t);
    trade_sequence_.push_back(t.trade_id);
    emit(std::move(out));
}

void Venue::bust(const std::string& ref) {
    adjust(ref, Decimal::from_int(0), Decimal::from_int(0), true);
}

void Venue::correct(const std::string& ref, const Decimal& qty, const Decimal& px) {
    if (!qty.is_positive() || !px.is_positive())
        throw ControlError("BAD_VALUE", "corrected quantity and price must be positive");
    adjust(ref, qty, px, false);
}

void Venue::adjust(const std::string& ref, const Decimal& qty, const Decimal& px, bool bust) {
    std::lock_guard<std::mutex> l(mu_);
    std::string trade_id = ref;
    if (auto e = trade_of_exec_.find(ref); e != trade_of_exec_.end()) trade_id = e->second;
    auto it = trades_.find(trade_id);
    if (it == trades_.end()) throw ControlError("UNKNOWN_TRADE", "no trade or execution " + ref);
    Trade& t = it->second;
    if (t.busted) throw ControlError("BUSTED", "trade " + t.trade_id + " is already busted");
    // A correction may not fill an order beyond its quantity.
    for (Side* s : {&t.buy, &t.sell}) {
        if (s->order_id.empty() || bust) continue;
        const Order& o = orders_.at(s->order_id);
        if (qty - t.qty > o.leaves)
            throw ControlError("BAD_QTY", "correction would overfill order " + o.order_id);
    }
    const Decimal old_qty = t.qty, old_px = t.px;
    if (bust) {
        t.busted = true;
    } else {
        t.qty = qty;
        t.px = px;
        t.history.push_back(old_qty.to_string() + "@" + old_px.to_string());
    }
    std::vector<OutMessage> out;
    for (Side* s : {&t.buy, &t.sell})
        if (!s->order_id.empty()) adjust_side(t, *s, old_qty, old_px, bust, out);
    emit(std::move(out));
}

void Venue::adjust_side(Trade& t, Side& side, const Decimal& old_qty, const Decimal& old_px,
                        bool bust, std::vector<OutMessage>& out) {
    Order& o = orders_.at(side.order_id);
    const Decimal new_qty = bust ? Decimal::from_int(0) : t.qty;
    const Decimal new_px = bust ? Decimal::from_int(0) : t.px;
    const bool was_full = o.status == '2';
    const char type_42 = was_full ? '2' : '1';
    o.cum = o.cum - old_qty + new_qty;
    o.notional = o.notional - old_qty * old_px + new_qty * new_px;
    const Decimal delta = old_qty - new_qty;  // quantity given back to the order
    if (o.status == '4' || o.status == 'C' || o.status == '3') {
        // A canceled or expired order stays done: only its executed quantity changes.
    } else if (restable(o.ord_type, o.tif)) {
        // The quantity a bust or a smaller correction gives back is open again (the order
        // rests again, behind the orders already at its price).
        o.leaves += delta;
        o.status = o.leaves.is_zero() ? '2' : (o.cum.is_zero() ? '0' : '1');
        if (o.leaves.is_positive() && !o.in_book) {
            o.priority = ++priority_counter_;
            add_to_book(o);
        } else if (o.leaves.is_zero()) {
            remove_from_book(o);
        }
    } else {
        // Market/IOC/FOK orders never rest: what is given back is done for the day.
        if (o.cum < o.qty && o.status == '2') o.status = '3';
    }
    Report r;
    r.exec_type = bust ? 'H' : 'G';
    r.exec_type_42 = bust ? type_42 : (o.leaves.is_zero() && o.status == '2' ? '2' : '1');
    r.ord_status = reported_status(o);
    r.exec_id = next_id('X');
    r.exec_ref_id = side.exec_id;
    r.last_qty = bust ? old_qty : t.qty;
    r.last_px = bust ? old_px : t.px;
    side.exec_id = r.exec_id;
    trade_of_exec_[r.exec_id] = t.trade_id;
    o.exec_ids.push_back(r.exec_id);
    out.push_back(exec_report(o, r));
}

void Venue::release(const std::string& session) {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<OutMessage> out;
    std::vector<Order*> held;
    for (auto& [id, o] : orders_)
        if (o.session == session && o.pending) held.push_back(&o);
    std::sort(held.begin(), held.end(),
              [](const Order* a, const Order* b) { return a->priority < b->priority; });
    for (Order* o : held) {
        InMessage m = *o->pending;
        o->pending.reset();
        if (!working(o->status)) {
            // Filled (or canceled) while the request waited: too late.
            const char to = m.msg_type == "F" ? '1' : '2';
            rejects_.push_back({m.session, m.msg_type, m.get(11), "too late"});
            out.push_back(cancel_reject(m, o, to, 0, "too late: the order is done"));
        } else if (m.msg_type == "F") {
            apply_cancel(*o, m, out);
        } else {
            apply_replace(*o, m, out);
        }
    }
    emit(std::move(out));
}

void Venue::end_of_day() {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<OutMessage> out;
    for (const auto& id : order_sequence_) {
        Order& o = orders_.at(id);
        if (!working(o.status) || o.tif != '0') continue;
        remove_from_book(o);
        o.leaves = Decimal::from_int(0);
        o.status = 'C';
        if (o.pending) {
            // A held cancel or replace gets its answer: too late, the order expired.
            const InMessage held = *o.pending;
            o.pending.reset();
            rejects_.push_back({held.session, held.msg_type, held.get(11), "order expired"});
            out.push_back(cancel_reject(held, &o, held.msg_type == "F" ? '1' : '2', 0,
                                        "too late: the order expired"));
        }
        Report r;
        r.exec_type = 'C';
        r.ord_status = 'C';
        r.exec_id = next_id('X');
        r.text = "day order expired";
        o.exec_ids.push_back(r.exec_id);
        out.push_back(exec_report(o, r));
    }
    emit(std::move(out));
}

void Venue::set_profile(const std::string& session, const std::string& flag, bool on) {
    std::lock_guard<std::mutex> l(mu_);
    if (!set_profile_flag(profiles_[session], flag, on))
        throw ControlError("UNKNOWN_PROFILE", "unknown profile " + flag);
}

Profile Venue::profile(const std::string& session) const {
    std::lock_guard<std::mutex> l(mu_);
    auto it = profiles_.find(session);
    return it == profiles_.end() ? Profile{} : it->second;
}

std::string Venue::dump_json() const {
    std::lock_guard<std::mutex> l(mu_);
    std::ostringstream j;
    j << "{\"run_id\":" << json_str(config_.run_id) << ",\"orders\":[";
    bool first = true;
    for (const auto& id : order_sequence_) {
        const Order& o = orders_.at(id);
        if (!first) j << ',';
        first = false;
        j << "{\"order_id\":" << json_str(o.order_id) << ",\"session\":" << json_str(o.session)
          << ",\"account\":" << json_str(o.account) << ",\"symbol\":" << json_str(o.symbol)
          << ",\"side\":" << json_str(std::string(1, o.side))
          << ",\"ord_type\":" << json_str(std::string(1, o.ord_type))
          << ",\"time_in_force\":" << json_str(std::string(1, o.tif))
          << ",\"price\":" << (o.has_price ? json_str(o.price.to_string()) : "null")
          << ",\"order_qty\":" << json_str(o.qty.to_string()) << ",\"cl_ord_ids\":[";
        for (size_t i = 0; i < o.cl_ord_ids.size(); ++i)
            j << (i ? "," : "") << json_str(o.cl_ord_ids[i]);
        j << "],\"ord_status\":" << json_str(std::string(1, o.status))
          << ",\"pending\":" << (o.pending ? json_str(o.pending->msg_type) : "null")
          << ",\"cum_qty\":" << json_str(o.cum.to_string())
          << ",\"leaves_qty\":" << json_str(o.leaves.to_string())
          << ",\"avg_px\":" << json_str(avg_px(o).to_string()) << ",\"exec_ids\":[";
        for (size_t i = 0; i < o.exec_ids.size(); ++i)
            j << (i ? "," : "") << json_str(o.exec_ids[i]);
        j << "]}";
    }
    j << "],\"trades\":[";
    first = true;
    for (const auto& id : trade_sequence_) {
        const Trade& t = trades_.at(id);
        if (!first) j << ',';
        first = false;
        auto side = [&](const Side& s) {
            std::string sess;
            if (!s.order_id.empty()) sess = orders_.at(s.order_id).session;
            return "{\"order_id\":" +
                   (s.order_id.empty() ? std::string("null") : json_str(s.order_id)) +
                   ",\"session\":" + (sess.empty() ? std::string("null") : json_str(sess)) +
                   ",\"exec_id\":" +
                   (s.exec_id.empty() ? std::string("null") : json_str(s.exec_id)) + "}";
        };
        j << "{\"trade_id\":" << json_str(t.trade_id) << ",\"symbol\":" << json_str(t.symbol)
          << ",\"qty\":" << json_str(t.qty.to_string()) << ",\"px\":" << json_str(t.px.to_string())
          << ",\"busted\":" << (t.busted ? "true" : "false") << ",\"buy\":" << side(t.buy)
          << ",\"sell\":" << side(t.sell) << ",\"corrected_from\":[";
        for (size_t i = 0; i < t.history.size(); ++i) j << (i ? "," : "") << json_str(t.history[i]);
        j << "]}";
    }
    j << "],\"rejects\":[";
    for (size_t i = 0; i < rejects_.size(); ++i) {
        const Reject& r = rejects_[i];
        j << (i ? "," : "") << "{\"session\":" << json_str(r.session)
          << ",\"msg_type\":" << json_str(r.msg_type) << ",\"cl_ord_id\":" << json_str(r.cl_ord_id)
          << ",\"reason\":" << json_str(r.reason) << "}";
    }
    j << "],\"new_order_messages\":{";
    first = true;
    for (const auto& [s, n] : new_order_messages_) {
        j << (first ? "" : ",") << json_str(s) << ":" << n;
        first = false;
    }
    j << "}}";
    return j.str();
}

}  // namespace ordergate::fixvenue
