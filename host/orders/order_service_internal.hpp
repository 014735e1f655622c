// Helpers shared by the order service's sources (order_*.cpp), not part of its API. Defined in
// order_service.cpp; a helper one source alone needs stays in that source.
#pragma once

#include <string>
#include <string_view>

#include "common/error.hpp"
#include "ordergate/types.hpp"

namespace ordergate::orders::detail {

// A map key of two strings joined by NUL: account \0 client order id,
// broker \0 broker order id, broker \0 trade id.
std::string key2(const std::string& a, const std::string& b);

// commit_change's `error` for a change another writer won, and for a store that did not answer.
inline constexpr const char* kVersionConflict = "version conflict";
inline constexpr const char* kStorageUnreachable = "storage unavailable";

// A broker's message as a client may see it: one line, bounded.
std::string client_text(std::string_view s);

// BROKER_UNAVAILABLE (retry after 1 s) for a request the broker did not take (`s`).
// retry_after_ms: how long the broker asked to wait (ABI 1.4; 0: unknown, Retry-After 1 s).
Error broker_unavailable(const std::string& broker, Status s, const std::string& order_id,
                         int64_t retry_after_ms = 0);

}  // namespace ordergate::orders::detail
