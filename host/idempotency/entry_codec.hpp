// ordergate::idempotency — the byte encoding of a stored idempotency entry (RedisStore values,
// StorageStore records, MemoryStore entries).
//
// An entry is "OGI1" (magic and version), a state byte ('I' in flight, 'C' completed), then
// length-prefixed fields ("<decimal byte count>:<bytes>"): the fingerprint, and for a completed
// entry the status, the header count, each header name and value, and the body. Length prefixes
// make it binary-safe (a body may hold any byte, CR LF and NUL included). The in-flight encoding
// of a fingerprint is deterministic, so a store can compare it byte for byte (Redis Lua scripts
// do).
#pragma once

#include <string>
#include <string_view>

#include "idempotency/idempotency.hpp"

namespace ordergate::idempotency {

struct DecodedEntry {
    bool completed = false;
    std::string fingerprint;
    StoredResponse response;  // completed entries only
};

std::string encode_in_flight(std::string_view fingerprint);
std::string encode_completed(std::string_view fingerprint, const StoredResponse& response);
// Throws std::invalid_argument on anything that is not exactly one well-formed entry.
DecodedEntry decode_entry(std::string_view bytes);
// The fingerprint of an encoded entry (a view into `bytes`), without decoding the rest. Throws
// std::invalid_argument when the entry does not start well-formed.
std::string_view fingerprint_of(std::string_view bytes);

}  // namespace ordergate::idempotency
