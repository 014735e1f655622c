#include <strings.h>

#include <charconv>

#include "api/context.hpp"
#include "common/time.hpp"

namespace ordergate::api {

using http::Request;
using http::Response;

void problem(Response& res, const Error& err, const Request& req) {
    http::render_problem(err, req.request_id, &res);
}

void problem(Response& res, ErrorCode code, std::string detail, const Request& req) {
    problem(res, Error::make(code, std::move(detail)), req);
}

bool parse_query(const Request& req, std::initializer_list<std::string_view> known, Query* q,
                 Response& res) {
    if (!http::parse_query(req.query, &q->items)) {
        problem(res, ErrorCode::InvalidParameter, "malformed query string", req);
        return false;
    }
    for (size_t i = 0; i < q->items.size(); ++i) {
        const auto& name = q->items[i].first;
        bool ok = false;
        for (auto k : known) ok = ok || k == name;
        if (!ok) {
            problem(res, ErrorCode::InvalidParameter, "unknown query parameter '" + name + "'",
                    req);
            return false;
        }
        for (size_t j = 0; j < i; ++j)
            if (q->items[j].first == name) {
                problem(res, ErrorCode::InvalidParameter,
                        "query parameter '" + name + "' given more than once", req);
                return false;
            }
    }
    return true;
}

bool no_query(const Request& req, Response& res) {
    if (req.query.empty()) return true;
    Query q;
    return parse_query(req, {}, &q, res);
}

bool parse_limit(const Query& q, uint32_t* limit, const Request& req, Response& res) {
    *limit = 100;
    auto v = q.get("limit");
    if (!v) return true;
    uint32_t n = 0;
    auto r = std::from_chars(v->data(), v->data() + v->size(), n);
    if (r.ec != std::errc() || r.ptr != v->data() + v->size() || n < 1 || n > 1000) {
        problem(res, ErrorCode::InvalidParameter, "limit must be an integer from 1 to 1000", req);
        return false;
    }
    *limit = n;
    return true;
}

bool parse_since(const Query& q, int64_t* since, const Request& req, Response& res) {
    *since = 0;
    auto v = q.get("since");
    if (!v) return true;
    if (!timefmt::parse_rfc3339(*v, since)) {
        problem(res, ErrorCode::InvalidParameter, "since must be an RFC 3339 date-time", req);
        return false;
    }
    return true;
}

bool parse_offset(const Query& q, size_t* offset, const Request& req, Response& res) {
    *offset = 0;
    auto c = q.get("cursor");
    if (!c) return true;
    auto r = std::from_chars(c->data(), c->data() + c->size(), *offset);
    if (c->empty() || r.ec != std::errc() || r.ptr != c->data() + c->size()) {
        problem(res, ErrorCode::InvalidParameter, "invalid cursor", req);
        return false;
    }
    return true;
}

bool json_content(const Request& req, Response& res) {
    std::string_view ct = req.header("content-type");
    size_t semi = ct.find(';');
    std::string_view media = ct.substr(0, semi);
    while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
    bool ok = media.size() == 16 && strncasecmp(media.data(), "application/json", 16) == 0;
    if (ok && semi != std::string_view::npos) {
        std::string params(ct.substr(semi + 1));
        for (char& c : params) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
        size_t at = params.find("charset=");
        if (at != std::string::npos) {
            std::string cs = params.substr(at + 8);
            cs = cs.substr(0, cs.find(';'));
            while (!cs.empty() && (cs.front() == ' ' || cs.front() == '"')) cs.erase(0, 1);
            while (!cs.empty() && (cs.back() == ' ' || cs.back() == '"')) cs.pop_back();
            ok = cs == "utf-8" || cs == "utf8";
        }
    }
    if (!ok)
        problem(res, ErrorCode::UnsupportedMediaType,
                "the body must be sent with Content-Type: application/json", req);
    return ok;
}

bool parse_body(const Request& req, json::Value* body, Response& res) {
    std::string why, key;
    if (!json::parse(req.body, body, &why, &key)) {
        if (!key.empty()) {
            problem(res, Error::invalid({{key, "is out of range"}}), req);
            return false;
        }
        problem(res, ErrorCode::MalformedJson, "the body is not valid JSON: " + why, req);
        return false;
    }
    if (!body->is_object()) {
        problem(res, ErrorCode::MalformedJson, "the body must be a JSON object", req);
        return false;
    }
    return true;
}

orders::AccountScope scope_of(const auth::Principal& p) {
    orders::AccountScope s;
    s.all = p.all_accounts;
    s.accounts = p.accounts;
    return s;
}

std::string list_envelope(const std::string& items_json, const std::string& next_cursor) {
    std::string out;
    out.reserve(items_json.size() + 64);
    out += "{\"items\":";
    out += items_json;
    out += ",\"next_cursor\":";
    if (next_cursor.empty())
        out += "null";
    else
        json::append_escaped(&out, next_cursor);
    out += '}';
    return out;
}
}  // namespace ordergate::api
