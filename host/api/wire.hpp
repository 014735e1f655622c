// ordergate::api wire formats: the JSON documents of API.md, in and out.
//
// Out: every decimal is a JSON string printed exactly; timestamps RFC 3339 UTC with ms.
// In: request bodies are parsed from json::Value (numbers as their text) into typed requests;
// every problem is collected as a field error (422 VALIDATION_FAILED lists them all).
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "gtt/gtt.hpp"
#include "json/json.hpp"
#include "ordergate/types.hpp"
#include "positions/position_book.hpp"

namespace ordergate::api {

void write_order(json::Writer& w, const OrderRecord& o);
void write_event(json::Writer& w, const OrderEvent& e);
void write_fill(json::Writer& w, const FillRecord& f);
void write_position(json::Writer& w, const positions::PositionView& p);
void write_account(json::Writer& w, const Account& a, const std::string& broker);
// An account whose broker reports no account state (no OG_CAP_REPORT_ACCOUNT, e.g. a FIX
// session): what the configuration says, the broker's figures null and `reported` false.
// GET /api/v1/quote: {account_id, broker, symbol, exchange, last_price, bid, ask, at, source}.
void write_quote(json::Writer& w, const std::string& account_id, const std::string& broker,
                 const Quote& q, const std::string& source);
void write_unreported_account(json::Writer& w, const std::string& account_id,
                              const std::string& broker, const std::string& currency);

std::string order_json(const OrderRecord& o);

// POST /api/v1/orders. Returns false with `err` (VALIDATION_FAILED, listing each field) when the
// body is not a valid order request.
bool parse_place(const json::Value& body, OrderRequest* out, Error* err);
// POST /api/v1/gtt and PUT /api/v1/gtt/{id}: the GTT's fields, each leg's order checked as an
// order request (without account, instrument or client order id: the GTT gives them).
bool parse_gtt(const json::Value& body, gtt::GttRequest* out, Error* err);
void write_gtt(json::Writer& w, const gtt::Gtt& g);
// PUT /api/v1/orders/{id}.
bool parse_modify(const json::Value& body, ModifyRequest* out, Error* err);

// A decimal from a JSON string (plain text only) or a JSON number (exponent allowed). False with
// a message naming why.
bool parse_decimal_value(const json::Value& v, Decimal* out, std::string* why);

}  // namespace ordergate::api
