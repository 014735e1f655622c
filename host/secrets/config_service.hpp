// ordergate::secrets — the config service client: one HTTP GET at start-up.
//
// Request:  GET <url>  with  Authorization: Bearer <token>,  Accept: application/json.
// Response: 200 with a JSON object whose members are secret names mapped to string values,
//           e.g. {"DB_PASSWORD": "…", "PAPER_API_SECRET": "…"}. Any other member type is refused.
// http:// uses Poco's HTTPClientSession; https:// uses HTTPSClientSession with the system CA
// store (plus ConfigServiceSettings::ca_file when given), certificate chain verification and host
// name verification (Poco's VERIFY_STRICT: also for localhost, which RELAXED would skip).
#pragma once

#include <map>
#include <string>

#include "secrets/secrets.hpp"

namespace ordergate::secrets {

// Fetches the values. Blocks the caller for at most about 3 x timeout_ms (connect, send, receive).
// Throws SecretError with a one-line message that starts with "config service <url>: " (URL
// password redacted) and says what failed: "connection refused", "timed out after 3000 ms",
// "HTTP 401 Unauthorized", "response is not a JSON object", "value of \"X\" is not a string",
// "response larger than 1048576 bytes", ... The token and the values never appear in it.
std::map<std::string, std::string> fetch_config_service(const ConfigServiceSettings& settings);

}  // namespace ordergate::secrets
