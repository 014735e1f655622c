// ordergate::orders::storage_error — the one mapping of a storage plugin's failure to the API's
// answer.
//
// The plugin's status says whose problem it is, and the answer keeps it: a read the store refuses
// for what the client sent (a cursor it did not produce) is the client's mistake, not an outage;
// only a store that does not answer is 503 STORAGE_UNAVAILABLE (and only that is counted and
// retried as one); anything else is a bug of the store or the host, 500 INTERNAL quoting the
// request id. The plugin's message goes to the log, never to the client (it may hold SQL).
//
//   status                                         Read                    Write
//   INVALID_ARGUMENT                               400 INVALID_PARAMETER   500 INTERNAL
//   NOT_FOUND                                      404 NOT_FOUND           500 INTERNAL
//   CONFLICT                                       409 CONFLICT            500 INTERNAL
//   UNAVAILABLE, TIMEOUT, UNKNOWN_OUTCOME,
//   RATE_LIMITED                                   503 STORAGE_UNAVAILABLE 503 STORAGE_UNAVAILABLE
//   anything else (INTERNAL, REJECTED, …)          500 INTERNAL            500 INTERNAL
// A write's ops are built by the host, never by the client, so a write the store refuses is the
// host's bug whatever the status (a write's conflicts come back as per-op results, not as a
// failure). UNKNOWN_OUTCOME and RATE_LIMITED are "no answer now" like UNAVAILABLE: the client's
// retry (with its Idempotency-Key) settles them.
//
// Threads: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "common/error.hpp"
#include "ordergate/sdk.hpp"

namespace ordergate::orders {

enum class StorageAccess {
    Read,   // the client's query (filters, cursor) reached the store
    Write,  // ops the host built
};

// True for the statuses that mean the store did not answer now (503, Retry-After).
bool storage_unreachable(Status status);

// The API's error for a storage failure of `op` ("list_orders", …), logged once here with
// `request_id` (may be empty on reads that do not know it; the problem body carries it anyway):
// at warn level for a client's mistake, at error level for an outage or a bug.
Error storage_error(const sdk::Error& failure, StorageAccess access, std::string_view op,
                    std::string_view request_id = {});

// The same for a failure that is not an sdk::Error (a plugin adapter's std::exception): a bug.
Error storage_error(const std::exception& failure, StorageAccess access, std::string_view op,
                    std::string_view request_id = {});

}  // namespace ordergate::orders
