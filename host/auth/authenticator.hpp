// ordergate::auth::Authenticator — turns the credentials of a request into a Principal.
//
// Credentials: `Authorization: Bearer <JWT>` verified against the keys of a JWKS document, or a
// static API key in `X-API-Key` (configured as its SHA-256). The HTTP layer calls authenticate()
// for every protected route and maps the result (API.md "Error codes"):
//   principal set                  → proceed; check has_scope()/can_access() per route
//   Failure::MissingCredentials    → 401 UNAUTHENTICATED, WWW-Authenticate: Bearer
//   realm="ordergate" Failure::InvalidToken          → 401 UNAUTHENTICATED, … error="invalid_token"
//   Failure::Unavailable           → 503 AUTH_UNAVAILABLE with Retry-After (keys cannot be had)
// and logs `reason` (a fixed code, below); the module never logs a token, key or secret itself
// and never puts token content into `reason`.
//
// Token rules (issue 6; RFC 7515, 7517, 7518, 7519, 8725):
// - The token is at most kMaxTokenBytes; three base64url segments (no padding, canonical
//   encoding); header and payload are JSON objects without repeated member names.
// - The algorithm comes from the key: a JWKS key of kty RSA verifies RS256/384/512 and
//   PS256/384/512 (only its `alg` when the JWK names one), kty EC verifies the one ES* of its
//   curve (P-256 → ES256, P-384 → ES384, P-521 → ES512). A token whose `alg` the selected key does
//   not admit is refused. `alg: none` is always refused; HS256 only when hs256_secret is set, and
//   then it is checked against that secret alone (never against JWKS material, so the
//   "HS256 signed with the RSA public key" confusion cannot work). HS384/HS512 are refused.
// - Key selection: the token's `kid` must name a key of the set. A token without `kid` is
//   accepted only when the set holds exactly one key that admits the token's `alg`. Two
//   admitting keys with the same kid are ambiguous and refused. JWKS keys with `use` other than
//   "sig", `key_ops` without "verify", kty oct/OKP, RSA moduli under 2048 or over 8192 bits, and
//   EC points not on their curve are skipped (logged once per fetch).
// - `crit` in the header is refused (no extension is understood); `typ`, when present, must be
//   "JWT", "at+jwt" or "application/at+jwt" (case-insensitive); `jku`, `x5u`, `jwk` and `x5c` are
//   ignored — keys only ever come from the configured jwks_url.
// - Claims: `exp` required; refused when now >= exp + leeway; `nbf` refused when
//   now + leeway < nbf; `iat` refused when later than now + leeway; `iss` must equal `issuer`;
//   `aud` (string or array of strings) must contain `audience`; `sub` a non-empty string of at
//   most 256 bytes without control characters. NumericDates may be integers or decimals.
// - Scopes: `scope` (space-separated string) and/or `scp` (array of strings, or a
//   space-separated string), united. Accounts: the `accounts_claim` claim, an array of strings
//   (absent means none). A claim of the wrong JSON type refuses the token; it is never ignored.
// - Checks run cheapest first: structure, header, claims (unverified), key lookup, signature.
//   Claims are checked before the key lookup so an expired or foreign token can never make the
//   gateway fetch the JWKS; a token is accepted only when every check passes.
//
// JWKS cache: keys are fetched lazily (or by refresh_keys() at start-up) and used for jwks_ttl.
// Fetch attempts of any kind (first load, TTL refresh, unknown kid) are spaced by at least
// jwks_min_refetch_interval, and only one runs at a time, so no stream of requests can make the
// gateway hammer the JWKS server. A token naming an unknown kid causes at most one refetch; until
// the interval has passed, further unknown kids are refused without a fetch (a key rotated in
// just after a fetch is accepted once the interval has passed). After the TTL, the first request
// refreshes the set while others keep using the stale keys. When a fetch fails, the keys already
// held keep working (with no upper bound on their age) and the failure is logged; with no keys
// at all, or when the kid is unknown and the latest fetch failed, the result is Unavailable.
// A refresh that drops a kid also empties the verified-token cache.
//
// Verified-token cache: a token that passed every check is remembered (by its SHA-256) until
// exp + leeway, for at most verified_token_cache_size tokens (oldest inserted evicted first), so
// a client reusing its token costs a hash and a lookup instead of a signature verification.
//
// API keys: the presented key's SHA-256 is compared with every configured hash using
// CRYPTO_memcmp; keys longer than 1024 bytes are refused before hashing. Sending both an
// Authorization header and an X-API-Key is refused (credentials_ambiguous).
//
// Threads: authenticate() and every const member may be called concurrently from any number of
// threads. A call that must fetch the JWKS blocks for at most about 2 x jwks_timeout (it, or the
// fetch it waits for). Calls whose key is held never wait for someone else's fetch; only the one
// request that notices an expired TTL performs the refresh itself.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "auth/jwks.hpp"
#include "auth/principal.hpp"

namespace ordergate::auth {

inline constexpr std::size_t kMaxTokenBytes = 8192;
inline constexpr std::size_t kMaxApiKeyBytes = 1024;
inline constexpr std::size_t kMinHmacSecretBytes = 32;  // RFC 7518 §3.2: at least the hash size

struct ApiKey {
    std::string sha256_hex;  // SHA-256 of the key, 64 hex digits (either case); see sha256_hex()
    std::string subject;     // becomes Principal::subject; must not be empty
    std::vector<std::string> accounts;
    std::vector<std::string> scopes;
};

struct AuthConfig {
    bool enabled = false;
    std::string jwks_url;  // http:// or https://; empty: no JWKS (then only HS256 / API keys)
    std::string issuer;    // required when JWTs are accepted (jwks_url or hs256_secret set)
    std::string audience;  // required likewise
    std::chrono::seconds leeway{30};
    std::chrono::seconds jwks_ttl{300};
    std::chrono::seconds jwks_min_refetch_interval{10};
    std::chrono::milliseconds jwks_timeout{2000};  // connect, send and receive, each
    std::string jwks_ca_file;  // PEM CA bundle for an https jwks_url; empty: the system CAs
    std::string accounts_claim = "accounts";
    std::optional<std::string> hs256_secret;  // HS256 accepted only when set; >= 32 bytes
    std::vector<ApiKey> api_keys;
    std::size_t verified_token_cache_size = 10000;  // 0 disables the cache
    // Read by the HTTP layer, not by Authenticator.
    bool protect_health = false;
    bool protect_metrics = false;
    uint32_t rate_per_second = 0;  // per principal; 0 = no rate limit (see RateLimiter)
    uint32_t rate_burst = 0;       // 0 = rate_per_second
};

enum class Failure {
    MissingCredentials,  // neither header present
    InvalidToken,        // credentials present but refused
    Unavailable,         // the keys needed to decide cannot be obtained
};

// Reasons (AuthResult::reason), fixed strings, safe to log:
//   credentials_missing          MissingCredentials
//   credentials_ambiguous        both Authorization and X-API-Key
//   authorization_scheme         Authorization is not "Bearer <token>"
//   token_empty, token_too_large, token_segments, token_base64
//   header_json, header_alg, header_kid, header_typ, header_crit
//   payload_json
//   alg_none, alg_hmac_not_allowed, alg_unsupported
//   claim_invalid:<exp|nbf|iat|aud|scope|scp|accounts>   claim of the wrong type
//   exp_missing, token_expired, token_not_yet_valid, token_issued_in_future
//   issuer_mismatch, audience_mismatch, subject_invalid
//   jwks_not_configured          asymmetric alg but no jwks_url
//   kid_unknown, kid_ambiguous, kid_required, key_alg_mismatch
//   signature_invalid
//   jwks_unavailable             Unavailable
//   auth_internal                Unavailable: an unexpected internal error (logged)
//   api_key_unknown, api_key_malformed
struct AuthResult {
    std::optional<Principal> principal;             // set on success
    Failure failure = Failure::MissingCredentials;  // meaningful only when !principal
    std::string reason;                             // empty on success

    bool ok() const { return principal.has_value(); }
};

// The WWW-Authenticate value for a 401 (RFC 6750 §3): `Bearer realm="ordergate"` for
// MissingCredentials, with `, error="invalid_token"` otherwise.
std::string www_authenticate(Failure failure);
// The WWW-Authenticate value for a 403 when `scope` is missing:
// `Bearer realm="ordergate", error="insufficient_scope", scope="<scope>"`.
std::string www_authenticate_insufficient_scope(std::string_view scope);

class Authenticator {
  public:
    // Validates the configuration and throws std::invalid_argument naming the key
    // ("auth.issuer: required …") when it is unusable. No network access happens here.
    // `clock` defaults to the system clock. `fetcher` defaults to HttpJwksFetcher(jwks_url,
    // jwks_timeout) when jwks_url is set; tests may inject their own.
    explicit Authenticator(AuthConfig cfg, std::shared_ptr<Clock> clock = nullptr,
                           std::unique_ptr<JwksFetcher> fetcher = nullptr);
    ~Authenticator();
    Authenticator(const Authenticator&) = delete;
    Authenticator& operator=(const Authenticator&) = delete;

    // The header values as received; an empty view means the header is absent. With auth
    // disabled, returns operator_principal() whatever the headers say. Never throws.
    AuthResult authenticate(std::string_view authorization_header, std::string_view api_key_header);
    // A bare JWT (e.g. the WebSocket `token` query parameter). Same rules. Never throws.
    AuthResult authenticate_token(std::string_view token);

    // Fetches the JWKS now, ignoring jwks_min_refetch_interval (start-up warm-up, readiness).
    // Returns false (and logs why) when the fetch or the document fails; keeps the old keys then.
    bool refresh_keys();

    // Auth off: subject "operator", every account, every scope.
    static Principal operator_principal();

    bool enabled() const;

    struct Stats {
        uint64_t jwks_fetches = 0;  // attempts
        uint64_t jwks_fetch_failures = 0;
        std::size_t jwks_keys = 0;      // usable keys held now
        std::size_t cached_tokens = 0;  // verified-token cache entries
        uint64_t token_cache_hits = 0;
    };
    Stats stats() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ordergate::auth
