// ordergate::Error — the stable error codes of the host, and the result type of the order path.
//
// Domain code returns Result<T> (std::expected<T, Error>); the HTTP layer maps each code to one
// problem+json type and status through one table (http/problem.cpp). Codes are part of the
// public contract (API.md "Error codes"): never rename one.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ordergate {

enum class ErrorCode {
    MalformedJson,
    InvalidParameter,
    IdempotencyKeyInvalid,
    IdempotencyKeyRequired,
    Unauthenticated,
    InsufficientScope,
    NotFound,
    MethodNotAllowed,
    DuplicateClientOrderId,
    IdempotencyInFlight,
    OrderNotModifiable,
    OrderNotCancellable,
    GttNotModifiable,
    Conflict,  // storage refused a change another writer made first; read again and retry
    PayloadTooLarge,
    UnsupportedMediaType,
    HeadersTooLarge,
    ValidationFailed,
    UnsupportedByBroker,
    RiskRejected,
    BrokerRejected,
    IdempotencyKeyReused,
    RateLimited,
    Internal,
    BrokerUnavailable,
    StorageUnavailable,
    IdempotencyUnavailable,
    AuthUnavailable,
    DocsUnavailable,  // the Swagger UI files of /docs are not where the gateway looks
    ResumeTooOld,         // a since_seq older than the event log retains
    EventLogUnsupported,  // the storage plugin keeps no event log (ABI 1.4)
    OriginNotAllowed,     // a browser page of another origin asked for the stream
};

// "VALIDATION_FAILED", … as the contract spells them.
std::string_view code_name(ErrorCode code);

struct FieldError {
    std::string field;
    std::string message;
};

struct Error {
    ErrorCode code = ErrorCode::Internal;
    std::string detail;              // client-facing; never internals of a 5xx
    std::vector<FieldError> errors;  // VALIDATION_FAILED
    std::string order_id;            // the order concerned (duplicate, broker rejection)
    int retry_after_seconds = 0;     // 429 / 503
    // The broker was called for this request (whatever it answered). The API keeps the request's
    // Idempotency-Key then, even for a 5xx: only a request that provably never reached the broker
    // may be retried under the same key.
    bool broker_called = false;

    static Error make(ErrorCode code, std::string detail) {
        Error e;
        e.code = code;
        e.detail = std::move(detail);
        return e;
    }

    // VALIDATION_FAILED for the fields listed (at least one): the detail names the first problem
    // and how many more there are ("quantity must be greater than 0 (and 2 more)"), so a client
    // that reads only the detail still learns what to mend.
    static Error invalid(std::vector<FieldError> fields) {
        Error e;
        e.code = ErrorCode::ValidationFailed;
        e.errors = std::move(fields);
        e.name_first_problem();
        return e;
    }
    void name_first_problem() {
        if (errors.empty()) return;
        detail = errors.front().field + " " + errors.front().message;
        if (errors.size() > 1) detail += " (and " + std::to_string(errors.size() - 1) + " more)";
    }
};

// clang 14 with libstdc++ 12 has no std::expected (libstdc++ wants __cpp_concepts >= 202002L,
// which clang 14 does not claim). The fuzz build (tests/fuzz, clang) compiles code that uses
// only Error, so Result and fail() are left out there.
#if defined(__cpp_lib_expected)
template <typename T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(ErrorCode code, std::string detail) {
    return std::unexpected(Error::make(code, std::move(detail)));
}
inline std::unexpected<Error> fail(Error e) { return std::unexpected(std::move(e)); }
#endif

inline std::string_view code_name(ErrorCode code) {
    switch (code) {
        case ErrorCode::MalformedJson: return "MALFORMED_JSON";
        case ErrorCode::InvalidParameter: return "INVALID_PARAMETER";
        case ErrorCode::IdempotencyKeyInvalid: return "IDEMPOTENCY_KEY_INVALID";
        case ErrorCode::IdempotencyKeyRequired: return "IDEMPOTENCY_KEY_REQUIRED";
        case ErrorCode::Unauthenticated: return "UNAUTHENTICATED";
        case ErrorCode::InsufficientScope: return "INSUFFICIENT_SCOPE";
        case ErrorCode::NotFound: return "NOT_FOUND";
        case ErrorCode::MethodNotAllowed: return "METHOD_NOT_ALLOWED";
        case ErrorCode::DuplicateClientOrderId: return "DUPLICATE_CLIENT_ORDER_ID";
        case ErrorCode::IdempotencyInFlight: return "IDEMPOTENCY_IN_FLIGHT";
        case ErrorCode::OrderNotModifiable: return "ORDER_NOT_MODIFIABLE";
        case ErrorCode::OrderNotCancellable: return "ORDER_NOT_CANCELLABLE";
        case ErrorCode::GttNotModifiable: return "GTT_NOT_MODIFIABLE";
        case ErrorCode::Conflict: return "CONFLICT";
        case ErrorCode::PayloadTooLarge: return "PAYLOAD_TOO_LARGE";
        case ErrorCode::UnsupportedMediaType: return "UNSUPPORTED_MEDIA_TYPE";
        case ErrorCode::HeadersTooLarge: return "HEADERS_TOO_LARGE";
        case ErrorCode::ValidationFailed: return "VALIDATION_FAILED";
        case ErrorCode::UnsupportedByBroker: return "UNSUPPORTED_BY_BROKER";
        case ErrorCode::RiskRejected: return "RISK_REJECTED";
        case ErrorCode::BrokerRejected: return "BROKER_REJECTED";
        case ErrorCode::IdempotencyKeyReused: return "IDEMPOTENCY_KEY_REUSED";
        case ErrorCode::RateLimited: return "RATE_LIMITED";
        case ErrorCode::Internal: return "INTERNAL";
        case ErrorCode::BrokerUnavailable: return "BROKER_UNAVAILABLE";
        case ErrorCode::StorageUnavailable: return "STORAGE_UNAVAILABLE";
        case ErrorCode::IdempotencyUnavailable: return "IDEMPOTENCY_UNAVAILABLE";
        case ErrorCode::AuthUnavailable: return "AUTH_UNAVAILABLE";
        case ErrorCode::DocsUnavailable: return "DOCS_UNAVAILABLE";
        case ErrorCode::ResumeTooOld: return "RESUME_TOO_OLD";
        case ErrorCode::EventLogUnsupported: return "EVENT_LOG_UNSUPPORTED";
        case ErrorCode::OriginNotAllowed: return "ORIGIN_NOT_ALLOWED";
    }
    return "INTERNAL";
}

}  // namespace ordergate
