// ordergate::idempotency — the idempotency port (API.md "Idempotency") and its helpers.
//
// How the order path uses it (DESIGN.md, step 3 and 7):
//   key  = scoped_key(principal, Idempotency-Key header)       after valid_key() accepted it
//   fp   = fingerprint(method, path, canonical body)
//   r    = store.begin(key, fp)
//     Proceed  -> run the request, then complete(key, fp, response)  (or release(): see below)
//     Replay   -> answer r.response byte for byte, adding `Idempotent-Replayed: true`
//     InFlight -> 409 IDEMPOTENCY_IN_FLIGHT
//     Reused   -> 422 IDEMPOTENCY_KEY_REUSED
//   begin() throws IdempotencyUnavailable -> 503 IDEMPOTENCY_UNAVAILABLE (fail-closed) or, when the
//   store is optional, proceed on the client_order_id backstop (a warning and a metric).
//
// Entry life cycle:
//  - begin() on an absent (or expired) key writes an in-flight marker holding the fingerprint. The
//    marker is a lease: it expires after `in_flight_ttl` (default 60 s), so a process that died
//    mid-request does not block the key for a day; a retry after that proceeds and the storage's
//    unique client_order_id stops a duplicate order.
//  - complete() turns this request's marker into the stored response, kept `ttl` (default 24 h)
//    from completion. It writes when the key is absent (the lease ran out while the request ran:
//    the response is still the truth) or holds this request's marker; an entry written by another
//    request is left as it is.
//  - release() drops this request's in-flight marker (and nothing else): for a request that
//    changed nothing (validation or risk rejection, dependency down before the broker call), so a
//    retry proceeds instead of replaying an error that was not a decision.
//
// Threads: every store is safe to call concurrently from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ordergate::idempotency {

// The response a request produced, replayed verbatim for a retry.
struct StoredResponse {
    int status = 0;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // in order, names as sent

    friend bool operator==(const StoredResponse&, const StoredResponse&) = default;
};

enum class Outcome {
    Proceed,   // first request with this key: go on (an in-flight marker now holds the key)
    Replay,    // completed before with the same fingerprint: `response` holds what to send
    InFlight,  // the same request is running now: 409 IDEMPOTENCY_IN_FLIGHT
    Reused,    // the key belongs to a different request: 422 IDEMPOTENCY_KEY_REUSED
};

// "proceed", "replay", "in_flight", "reused" (metric labels).
std::string_view to_string(Outcome outcome);

struct BeginResult {
    Outcome outcome = Outcome::Proceed;
    StoredResponse response;  // set only for Replay
};

// The store could not answer (Redis down, timed out, pool exhausted, unreadable entry). The
// message is for logs; it never carries a password.
class IdempotencyUnavailable : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Expiry settings shared by the stores.
struct Ttl {
    std::chrono::seconds completed{std::chrono::hours(24)};
    std::chrono::seconds in_flight{60};
};

class IdempotencyStore {
public:
    virtual ~IdempotencyStore() = default;

    // See the header comment. Throws IdempotencyUnavailable when the store cannot answer; then
    // nothing was written.
    virtual BeginResult begin(const std::string& scoped_key, const std::string& fingerprint) = 0;
    // Stores `response` for the key. Throws IdempotencyUnavailable when the store cannot answer
    // (the in-flight marker then stays until its lease runs out).
    virtual void complete(const std::string& scoped_key, const std::string& fingerprint,
                          const StoredResponse& response) = 0;
    // The request changed nothing: drop its in-flight marker so a retry proceeds. Throws
    // IdempotencyUnavailable when the store cannot answer.
    virtual void release(const std::string& scoped_key, const std::string& fingerprint) = 0;
    // True when the store answers now (for /health/ready). Never throws; bounded in time.
    virtual bool ping() = 0;
    // One round trip on the request path (a write without an Idempotency-Key while the store is
    // required): returns when the store answers, throws IdempotencyUnavailable otherwise.
    virtual void check() = 0;

    // ---- folded claims (the storage store on a plugin of ABI 1.7) ---------------------------
    // A store whose records live in the order storage can leave the claim to the request's
    // first write (a place's intent), in the same transaction: peek() decides without writing,
    // and on Proceed the caller writes claim_marker() ahead of its intent (a conflict there
    // means another request took the key meanwhile: 409 IDEMPOTENCY_IN_FLIGHT).
    virtual bool folds_claims() const { return false; }
    // As begin(), without writing anything (Proceed: the key is free now). Throws
    // IdempotencyUnavailable when the store cannot answer; std::logic_error without
    // folds_claims().
    virtual BeginResult peek(const std::string& scoped_key, const std::string& fingerprint);
    // The in-flight marker begin() would write, and the time it was made at (its clock).
    struct Marker {
        std::string key;
        std::string fingerprint;
        int64_t expires_at_ns = 0;
        int64_t now_ns = 0;
    };
    virtual Marker claim_marker(const std::string& scoped_key, const std::string& fingerprint);
};

// The Idempotency-Key header rule: 1 to 255 characters, each printable ASCII (0x20..0x7E).
// Spaces are allowed inside a key but not at its start or end: HTTP trims a header value's
// surrounding whitespace, so such a key could not arrive as the client wrote it.
bool valid_key(std::string_view key);

// The store key for `key` under `principal`: "<byte length of principal>:<principal>:<key>".
// The length prefix makes it unambiguous whatever either part contains (':' included), so two
// principals never share a key.
std::string scoped_key(std::string_view principal, std::string_view key);

// The client order id of an order placed with an Idempotency-Key and without a client_order_id:
// "og-" + 26 Crockford base32 characters (130 bits) of SHA-256 over the scoped key, with a
// domain prefix. The same principal and key always give the same id, so a retry whose key record
// was lost still meets the first order on the account's unique client_order_id and never becomes
// a second broker order. Its shape matches the random ids ("og-" + a ULID's 26 characters).
std::string derived_client_order_id(std::string_view principal, std::string_view key);

// Lowercase hex SHA-256 over the length-prefixed method, path and canonical body (so no two
// different triples hash the same input). 64 characters.
std::string fingerprint(std::string_view method, std::string_view path,
                        std::string_view canonical_body);

}  // namespace ordergate::idempotency
