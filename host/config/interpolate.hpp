// ordergate::config — ${NAME} interpolation of one scalar (internal to og_config, exposed for
// tests). See config.hpp for the syntax.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "secrets/secrets.hpp"

namespace ordergate::config {

struct Interpolated {
    std::string text;
    // True when any substituted value is a secret: it came from a *_FILE or the config service,
    // or from an environment variable whose name looks secret (secrets::looks_secret_name).
    bool secret = false;
    std::vector<std::string> names;  // the variables referenced, in order
    // The secret values substituted (non-empty ones), so that a caller can keep them out of any
    // message that quotes the text or a part of it.
    std::vector<std::string> secret_values;
};

// Expands `text`. Throws InterpolationError (message without location: "variable X is not set",
// "unterminated ${", "invalid variable name 'X'", or a secrets error such as an unreadable
// X_FILE); the caller adds file, line and key.
Interpolated interpolate(std::string_view text, const secrets::SecretResolver& resolver);

class InterpolationError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

}  // namespace ordergate::config
