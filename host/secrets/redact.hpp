// ordergate::secrets — redaction of values before they are printed, logged or served.
//
// Used by config::describe(), by error messages that quote a value, and by whatever shows plugin
// settings (/api/v1/plugins). Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ordergate::secrets {

// The text that replaces a redacted value or URL password.
inline constexpr std::string_view kRedacted = "***";

// True when a setting or variable name suggests a secret: its lower-cased text contains
// "password", "passwd", "pwd", "secret", "token", "credential", "private" or "key"
// (so "api_key", "API_SECRET", "DB_PASSWORD", "access_token", "credentials.json").
// Over-matching is deliberate: hiding a harmless value costs less than printing a secret.
bool looks_secret_name(std::string_view name);

// Redacts the password parts a value may carry, leaving the rest readable:
//  - URL user info:           postgresql://user:pw@host/db  -> postgresql://user:***@host/db
//                             redis://:pw@host:6379         -> redis://:***@host:6379
//  - URL query parameters whose name looks secret: ...?sslmode=require&password=pw
//                                                           -> ...?sslmode=require&password=***
//  - libpq key=value strings: "host=db password=pw"        -> "host=db password=***"
// A value with none of these is returned unchanged.
std::string redact_embedded(std::string_view value);

// The printable form of a named value: kRedacted when `known_secret` or looks_secret_name(name),
// else redact_embedded(value).
std::string redact_value(std::string_view name, std::string_view value, bool known_secret);

// `text` with every occurrence of each of `values` (empty ones ignored; the longest first, so a
// value containing another goes whole) replaced by `shown`. For text that may quote a value built
// from a secret: an error message, a configuration's description.
std::string hide_values(std::string text, const std::vector<std::string>& values,
                        std::string_view shown);

}  // namespace ordergate::secrets
