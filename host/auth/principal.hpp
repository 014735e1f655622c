// ordergate::auth::Principal — who a request acts for, and what it may touch.
//
// Built by Authenticator from a verified token, a configured API key, or (auth off) the single
// operator principal. A plain value: copy it freely; every member function is const and
// thread-safe.
#pragma once

#include <chrono>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace ordergate::auth {

// The scopes the REST contract knows (API.md "Authentication").
inline constexpr std::string_view kScopeOrdersRead = "orders:read";    // GET under /api/v1
inline constexpr std::string_view kScopeOrdersWrite = "orders:write";  // POST, PUT, DELETE
inline constexpr std::string_view kScopeOperator =
    "operator";  // plugins, reconciliation, all accounts

enum class AuthMethod {
    Disabled,  // auth off: the operator principal
    Jwt,       // Authorization: Bearer <JWT>
    ApiKey,    // X-API-Key
};

struct Principal {
    std::string subject;  // JWT `sub`, the API key's configured subject, or "operator"
    AuthMethod method = AuthMethod::Jwt;
    // True when the principal holds the `operator` scope: the contract gives operators every
    // account. Otherwise only the ids in `accounts` (sorted, without repeats).
    bool all_accounts = false;
    std::vector<std::string> accounts;
    std::set<std::string, std::less<>> scopes;
    // The token's `exp` for JWTs; time_point::max() for API keys and the operator.
    std::chrono::system_clock::time_point expires_at = std::chrono::system_clock::time_point::max();

    bool operator_scope() const { return has_scope(kScopeOperator); }
    // Literal membership: `operator` does not imply `orders:read` or `orders:write`.
    bool has_scope(std::string_view scope) const { return scopes.find(scope) != scopes.end(); }
    // True when the principal may read or write `account`'s orders, positions, trades and GTTs.
    bool can_access(std::string_view account) const;
    // A stable identity that cannot collide across methods ("jwt:alice", "key:billing",
    // "operator"): key rate-limit buckets and idempotency keys by it, not by `subject` alone.
    std::string key() const;
};

const char* to_string(AuthMethod method);

}  // namespace ordergate::auth
