// ordergate::secrets — where secret values come from, and how they are kept out of output.
//
// A secret is looked up by NAME (e.g. DB_PASSWORD), in this order:
//   1. the environment variable NAME (set, even to the empty string);
//   2. the environment variable NAME_FILE: a path whose file content is the value, with one
//      trailing "\n" (or "\r\n") removed — the Docker/Kubernetes secrets convention;
//   3. when USE_CONFIG_SERVICE=true: the config service's answer, fetched ONCE when the resolver
//      is created (see config_service.hpp).
// Nothing here logs. Error messages name variables, paths and URLs (URL passwords redacted) and
// never contain a secret value.
//
// Threads: a SecretResolver is filled at construction and then only read; lookups from several
// threads are safe as long as the Env function is (the default one reads the process
// environment, which must not be modified concurrently).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

namespace ordergate::secrets {

// A failure to obtain a secret or to reach the config service. The message is one line, fit for
// an operator, free of secret values.
class SecretError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Reads an environment variable: nullopt when it is not set. Injected so tests never touch the
// process environment.
using Env = std::function<std::optional<std::string>(const std::string&)>;

// The process environment (std::getenv).
Env process_env();

// Where a looked-up value came from.
enum class Source { Environment, File, ConfigService };
const char* to_string(Source source);

struct Resolved {
    std::string value;
    Source source = Source::Environment;
    std::string
        origin;  // "environment variable X", "file /run/secrets/x (X_FILE)", "config service"
};

// How the config service is reached; read from the environment by SecretResolver::from_env.
struct ConfigServiceSettings {
    std::string url;    // CONFIG_SERVICE_URL: http:// or https://
    std::string token;  // CONFIG_SERVICE_TOKEN (or CONFIG_SERVICE_TOKEN_FILE); sent as a bearer
    int64_t timeout_ms = 3000;  // CONFIG_SERVICE_TIMEOUT_MS: connect, send and each receive
    std::string ca_file;        // CONFIG_SERVICE_CA_FILE: extra CA bundle for https (optional)
};

class SecretResolver {
  public:
    // A resolver over `env` and an already fetched config-service answer (empty when the config
    // service is not used). Does no I/O.
    explicit SecretResolver(Env env, std::map<std::string, std::string> service_values = {},
                            std::string service_url = {});

    // The resolver the process uses. Reads USE_CONFIG_SERVICE from `env` ("true"/"false", any
    // case; unset or empty = false). When true, reads ConfigServiceSettings from `env`
    // (CONFIG_SERVICE_URL required; CONFIG_SERVICE_TOKEN required, itself resolvable through
    // CONFIG_SERVICE_TOKEN_FILE) and fetches the values once.
    // Throws SecretError: a bad USE_CONFIG_SERVICE or CONFIG_SERVICE_TIMEOUT_MS value, a missing
    // URL or token, an unreadable *_FILE, or any config-service failure (down, non-200, bad JSON).
    static SecretResolver from_env(const Env& env);

    // The value of NAME from the first source that has it (see the top of this file), or
    // nullopt when no source has it. Throws SecretError when NAME_FILE is set but the file cannot
    // be read (the message names the variable and the path, never content).
    std::optional<std::string> lookup(const std::string& name) const;
    // The same, saying where the value came from.
    std::optional<Resolved> resolve(const std::string& name) const;

    // The raw environment (no _FILE or config-service fallback); for flags like USE_CONFIG_SERVICE.
    std::optional<std::string> env(const std::string& name) const { return env_(name); }
    const Env& env_function() const { return env_; }

    bool uses_config_service() const { return !service_url_.empty(); }
    // The config service URL with any password redacted ("" when not used).
    const std::string& config_service_url() const { return service_url_; }
    size_t config_service_value_count() const { return service_values_.size(); }

  private:
    Env env_;
    std::map<std::string, std::string> service_values_;
    std::string service_url_;
};

// Reads a secret file: the content minus one trailing "\n" or "\r\n". `variable` names the *_FILE
// variable for the error message. Throws SecretError("X_FILE=/path: cannot read (reason)").
std::string read_secret_file(const std::string& path, const std::string& variable);

// Reads the whole file at `path` into *out. Returns false and sets *why to the system's reason
// ("No such file or directory", "Is a directory", ...) when it cannot.
bool read_whole_file(const std::string& path, std::string* out, std::string* why);

// Parses "true"/"false" (any case). Returns nullopt for anything else.
std::optional<bool> parse_bool(const std::string& text);

}  // namespace ordergate::secrets
