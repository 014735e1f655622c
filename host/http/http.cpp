#include "http/http.hpp"

#include <Poco/Exception.h>
#include <Poco/URI.h>
#include <strings.h>

#include "json/json.hpp"

namespace ordergate::http {

std::string_view Request::header(std::string_view name) const {
    for (const auto& h : headers)
        if (h.first.size() == name.size() &&
            strncasecmp(h.first.data(), name.data(), name.size()) == 0)
            return h.second;
    return {};
}

bool Request::has_header(std::string_view name) const {
    for (const auto& h : headers)
        if (h.first.size() == name.size() &&
            strncasecmp(h.first.data(), name.data(), name.size()) == 0)
            return true;
    return false;
}

void Response::set_header(std::string name, std::string value) {
    for (auto& h : headers) {
        if (strcasecmp(h.first.c_str(), name.c_str()) == 0) {
            h.second = std::move(value);
            return;
        }
    }
    headers.emplace_back(std::move(name), std::move(value));
}

void Response::json(int status_code, std::string json_body) {
    status = status_code;
    content_type = "application/json";
    body = std::move(json_body);
}

int status_of(ErrorCode code) {
    switch (code) {
        case ErrorCode::MalformedJson:
        case ErrorCode::InvalidParameter:
        case ErrorCode::IdempotencyKeyInvalid:
        case ErrorCode::IdempotencyKeyRequired: return 400;
        case ErrorCode::Unauthenticated: return 401;
        case ErrorCode::InsufficientScope:
        case ErrorCode::OriginNotAllowed: return 403;
        case ErrorCode::NotFound: return 404;
        case ErrorCode::MethodNotAllowed: return 405;
        case ErrorCode::DuplicateClientOrderId:
        case ErrorCode::IdempotencyInFlight:
        case ErrorCode::OrderNotModifiable:
        case ErrorCode::OrderNotCancellable:
        case ErrorCode::GttNotModifiable:
        case ErrorCode::Conflict: return 409;
        case ErrorCode::PayloadTooLarge: return 413;
        case ErrorCode::UnsupportedMediaType: return 415;
        case ErrorCode::ValidationFailed:
        case ErrorCode::UnsupportedByBroker:
        case ErrorCode::RiskRejected:
        case ErrorCode::BrokerRejected:
        case ErrorCode::IdempotencyKeyReused: return 422;
        case ErrorCode::RateLimited: return 429;
        case ErrorCode::HeadersTooLarge: return 431;
        case ErrorCode::Internal: return 500;
        case ErrorCode::BrokerUnavailable:
        case ErrorCode::StorageUnavailable:
        case ErrorCode::IdempotencyUnavailable:
        case ErrorCode::AuthUnavailable:
        case ErrorCode::DocsUnavailable: return 503;
        case ErrorCode::ResumeTooOld: return 410;
        case ErrorCode::EventLogUnsupported: return 501;
    }
    return 500;
}

std::string_view title_of(ErrorCode code) {
    switch (code) {
        case ErrorCode::MalformedJson: return "Malformed JSON";
        case ErrorCode::InvalidParameter: return "Invalid parameter";
        case ErrorCode::IdempotencyKeyInvalid: return "Invalid idempotency key";
        case ErrorCode::IdempotencyKeyRequired: return "Idempotency key required";
        case ErrorCode::Unauthenticated: return "Unauthenticated";
        case ErrorCode::InsufficientScope: return "Insufficient scope";
        case ErrorCode::NotFound: return "Not found";
        case ErrorCode::MethodNotAllowed: return "Method not allowed";
        case ErrorCode::DuplicateClientOrderId: return "Duplicate client order id";
        case ErrorCode::IdempotencyInFlight: return "Request with this idempotency key in flight";
        case ErrorCode::OrderNotModifiable: return "Order not modifiable";
        case ErrorCode::OrderNotCancellable: return "Order not cancellable";
        case ErrorCode::GttNotModifiable: return "GTT not modifiable";
        case ErrorCode::Conflict: return "Changed concurrently";
        case ErrorCode::PayloadTooLarge: return "Payload too large";
        case ErrorCode::UnsupportedMediaType: return "Unsupported media type";
        case ErrorCode::HeadersTooLarge: return "Request headers too large";
        case ErrorCode::ValidationFailed: return "Validation failed";
        case ErrorCode::UnsupportedByBroker: return "Unsupported by broker";
        case ErrorCode::RiskRejected: return "Risk check rejected the order";
        case ErrorCode::BrokerRejected: return "Broker rejected the request";
        case ErrorCode::IdempotencyKeyReused: return "Idempotency key reused with another request";
        case ErrorCode::RateLimited: return "Rate limited";
        case ErrorCode::Internal: return "Internal error";
        case ErrorCode::BrokerUnavailable: return "Broker unavailable";
        case ErrorCode::StorageUnavailable: return "Storage unavailable";
        case ErrorCode::IdempotencyUnavailable: return "Idempotency store unavailable";
        case ErrorCode::AuthUnavailable: return "Authentication unavailable";
        case ErrorCode::DocsUnavailable: return "API documentation unavailable";
        case ErrorCode::ResumeTooOld: return "Resume point too old";
        case ErrorCode::EventLogUnsupported: return "No event log";
        case ErrorCode::OriginNotAllowed: return "Origin not allowed";
    }
    return "Internal error";
}

std::string type_of(ErrorCode code) {
    std::string t = "https://ordergate.dev/errors/";
    for (char c : code_name(code)) t.push_back(c == '_' ? '-' : static_cast<char>(c - 'A' + 'a'));
    return t;
}

void render_problem(const Error& err, const std::string& request_id, Response* res) {
    int status = status_of(err.code);
    std::string body;
    json::Writer w(&body);
    w.begin_object()
        .field("type", type_of(err.code))
        .field("title", title_of(err.code))
        .field_int("status", status)
        .field("detail", err.detail.empty() ? std::string(title_of(err.code)) : err.detail)
        .field("code", code_name(err.code))
        .field("request_id", request_id);
    if (!err.order_id.empty()) w.field("order_id", err.order_id);
    if (!err.errors.empty()) {
        w.key("errors").begin_array();
        for (const auto& fe : err.errors)
            w.begin_object().field("field", fe.field).field("message", fe.message).end_object();
        w.end_array();
    }
    w.end_object();
    res->status = status;
    res->content_type = "application/problem+json";
    res->body = std::move(body);
    if (err.retry_after_seconds > 0)
        res->set_header("Retry-After", std::to_string(err.retry_after_seconds));
    else if (status == 503 || status == 429)
        res->set_header("Retry-After", "1");
}

bool percent_decode(std::string_view in, std::string* out) {
    out->clear();
    try {
        Poco::URI::decode(std::string(in), *out, /*plusAsSpace=*/false);
    } catch (const Poco::SyntaxException&) {
        // A '%' without two hex digits after it: the caller answers 400 (or no such route).
        out->clear();
        return false;
    }
    return true;
}

bool parse_query(std::string_view query, std::vector<std::pair<std::string, std::string>>* out) {
    Poco::URI uri;
    uri.setRawQuery(std::string(query));
    Poco::URI::QueryParameters params;
    try {
        // Splits on '&' and '=', '+' is a space, then percent-decodes names and values.
        params = uri.getQueryParameters();
    } catch (const Poco::SyntaxException&) {
        return false;  // a malformed escape: 400 INVALID_PARAMETER for the caller
    }
    for (auto& [name, value] : params) {
        // "a=1&&b=2": an empty part names nothing.
        if (name.empty() && value.empty()) continue;
        out->emplace_back(std::move(name), std::move(value));
    }
    return true;
}

}  // namespace ordergate::http
