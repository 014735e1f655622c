// What every handler of the API receives: its dependencies and options, and the small request
// helpers every resource shares (query parsing with the contract's checks, JSON bodies, list
// envelopes, problem answers). Internal to the api module.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/api.hpp"
#include "auth/authenticator.hpp"
#include "common/error.hpp"
#include "http/http.hpp"
#include "json/json.hpp"
#include "orders/order_service.hpp"

namespace ordergate::api {

struct Context {
    ApiDeps deps;
    ApiOptions options;
};

// The access a route needs (see the auth gate).
enum class Access { Public, Health, Metrics, Read, Write, Operator };

void problem(http::Response& res, const Error& err, const http::Request& req);
void problem(http::Response& res, ErrorCode code, std::string detail, const http::Request& req);

// Query parameters with the contract's checks: only known names, each at most once.
struct Query {
    std::vector<std::pair<std::string, std::string>> items;
    std::optional<std::string> get(std::string_view k) const {
        for (const auto& [name, v] : items)
            if (name == k) return v;
        return std::nullopt;
    }
};

// Each answers the problem itself and returns false when the request is refused.
bool parse_query(const http::Request& req, std::initializer_list<std::string_view> known, Query* q,
                 http::Response& res);
// For the routes that take no query parameter: any is 400 INVALID_PARAMETER, as the contract
// has it for a parameter the endpoint does not know.
bool no_query(const http::Request& req, http::Response& res);
bool parse_limit(const Query& q, uint32_t* limit, const http::Request& req, http::Response& res);
bool parse_since(const Query& q, int64_t* since, const http::Request& req, http::Response& res);
// Lists computed in memory (positions, accounts, plugins) page by offset: the cursor is the
// index of the next item.
bool parse_offset(const Query& q, size_t* offset, const http::Request& req, http::Response& res);
bool json_content(const http::Request& req, http::Response& res);
bool parse_body(const http::Request& req, json::Value* body, http::Response& res);

orders::AccountScope scope_of(const auth::Principal& p);
// {"items":<items_json>,"next_cursor":"…"|null}
std::string list_envelope(const std::string& items_json, const std::string& next_cursor);

}  // namespace ordergate::api
