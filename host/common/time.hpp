// RFC 3339 timestamps, as the REST contract writes them: UTC with milliseconds
// ("2026-11-25T12:34:56.789Z"). Parsing accepts any RFC 3339 date-time (fraction optional, "Z"
// or a numeric offset).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ordergate::timefmt {

// Nanoseconds since the Unix epoch -> "YYYY-MM-DDTHH:MM:SS.mmmZ".
std::string rfc3339_ms(int64_t ns);
// Parses an RFC 3339 date-time into ns since the epoch. False when malformed or out of range.
bool parse_rfc3339(std::string_view s, int64_t* ns);

}  // namespace ordergate::timefmt
