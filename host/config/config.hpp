// ordergate::config — the gateway's configuration: one YAML file, ${ENV} interpolation, the seed
// service's environment variables as overrides, and validation that names file, line and key.
//
// Loading, in order:
//  1. The file is parsed as YAML (configs/default.yaml documents every key).
//  2. Every scalar value is interpolated before it is typed: "${NAME}" is replaced by the value
//     of NAME from the secrets resolver (environment NAME, else the file named by NAME_FILE, else
//     the config service when USE_CONFIG_SERVICE=true); "${NAME:-text}" uses `text` when NAME is
//     unset or empty; "$$" is a literal "$"; a "$" before anything else is kept as written.
//     An unset NAME without a default is an error. Map keys are never interpolated.
//  3. The host's own sections are read strictly: unknown keys, wrong types and out-of-range
//     values are errors. A plugin's `settings:` block is free-form and flattened to Settings
//     ("a.b" for nested maps, "a.0" for list items, scalar values as written).
//  4. Environment overrides (each resolved like a secret, so DATABASE_URL_FILE works too; an
//     empty value counts as unset):
//       PORT            -> http.port
//       DATABASE_URL    -> postgres:// or postgresql:// : storage.plugin = storage-postgres,
//                          settings.url = the URL (other settings kept when the file already
//                          chose storage-postgres, else replaced);
//                          sqlite://<path> or a plain path : storage.plugin = storage-sqlite,
//                          settings.path = <path> (sqlite:///var/x.db -> /var/x.db; same rule
//                          for keeping other settings)
//       REDIS_URL       -> idempotency.backend = redis, idempotency.redis_url
//       REDIS_REQUIRED  -> idempotency.redis_required (true/false)
//       AUTH_ENABLED    -> auth.enabled (true/false)
//       JWKS_URL, JWT_ISSUER, JWT_AUDIENCE -> auth.jwks_url, auth.issuer, auth.audience
//       ORDERGATE_LOG_LEVEL -> logging.level
//       USE_CONFIG_SERVICE -> turns on the config service as a secrets source (secrets.hpp)
//     A bad value is an error naming the variable ("environment variable PORT: http.port: ...").
//  5. Cross-checks (at least one broker and one account, unique names, references, auth
//     completeness, ...).
//
// Errors: every problem throws ConfigError with one line "<where>: <key.path>: <what is wrong>",
// where <where> is "<file>:<line>" (1-based; for a key that is missing, the line of the section
// that should hold it) or "environment variable NAME" for an override. Values that are secrets are
// never quoted in an error.
//
// Secrets: a value is marked secret when an interpolation in it came from a *_FILE or the config
// service, or from an environment variable whose name looks secret (DB_PASSWORD, API_TOKEN, ...),
// or when its key's name looks secret (password, secret, token, key, credential, ...). Marked
// keys are listed in Config::secret_keys (and per plugin in *Config::secret_settings);
// describe() prints "***" for them and hides URL passwords everywhere.
//
// Paths: plugin_dirs and the SQLite path are kept as written; relative ones are relative to the
// process's current directory when they are used (not to the config file).
//
// Threads: the functions here are pure apart from reading the file, the environment and the
// config service; a Config is a plain value, immutable once loaded by convention.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ordergate/decimal.hpp"
#include "secrets/secrets.hpp"

namespace ordergate::config {

// Flattened plugin settings in document order: "a.b" -> value, list items "a.0", "a.1".
using Settings = std::vector<std::pair<std::string, std::string>>;

// Pre-trade risk limits. An unset optional or an empty list means "no limit".
struct RiskConfig {
    std::optional<Decimal> max_quantity;         // > 0
    std::optional<Decimal> max_notional;         // > 0 (quantity x price)
    std::vector<std::string> allowed_symbols;    // empty = any
    std::vector<std::string> allowed_exchanges;  // empty = any
    uint32_t max_orders_per_second = 0;          // per account; 0 = off
};

// A named broker instance.
struct BrokerConfig {
    std::string name;                          // unique, [A-Za-z0-9_.-]+
    std::string plugin;                        // a plugin name ("broker-paper") or a path to a .so
    Settings settings;                         // handed to the plugin as is
    std::vector<std::string> secret_settings;  // keys of `settings` whose values are secrets
    int64_t timeout_ms = 5000;                 // deadline of each order call, > 0
    int64_t query_timeout_ms = 0;              // deadline of each query; 0 = timeout_ms
    int64_t max_concurrent_calls = 16;         // calls in the plugin at once, >= 1
    // An instance declaring OG_CAP_INLINE_CALLS (SDK 1.7.1) is called on the caller's thread;
    // false: on its call threads, with the host's deadline, like every other plugin.
    bool inline_calls = true;
    // The deadline the host enforces on queries (get_quote, account, positions, …).
    int64_t query_deadline_ms() const { return query_timeout_ms > 0 ? query_timeout_ms : timeout_ms; }
};

struct StorageConfig {
    std::string plugin = "storage-sqlite";
    Settings settings;
    std::vector<std::string> secret_settings;  // keys of `settings` whose values are secrets
};

struct AccountConfig {
    std::string id;      // unique
    std::string broker;  // the name of a BrokerConfig
    // The account's effective limits when it has a `risk:` section: the global `risk` with each
    // key the account sets replaced (per key). nullopt = the global limits apply as they are.
    std::optional<RiskConfig> risk;
    std::string currency;  // informational ("INR"); empty when not set
};

struct HttpConfig {
    std::string host = "0.0.0.0";
    uint16_t port = 8087;             // 1..65535
    size_t body_limit_bytes = 65536;  // > 0
    int max_threads = 64;             // >= 1
    int max_queued = 1024;            // >= 1
    int shutdown_grace_seconds = 10;  // >= 0
    // The Swagger UI files /docs serves; empty = <binary's directory>/../share/ordergate/docs
    // (build/share/ordergate/docs in a build tree, /usr/share/ordergate/docs from the package).
    std::string docs_dir;
    // Origins whose browser pages may call the API (CORS): "https://ui.example.com" (scheme, host
    // and port as a browser sends them in Origin), or "*" alone for any. Empty (the default): no
    // CORS headers, so only pages served by the gateway's own origin can read its answers.
    std::vector<std::string> cors_origins;
};

struct IdempotencyConfig {
    // "storage" (records in the storage plugin; a plugin without them falls back to memory with
    // an error in the log) | "memory" (this process only) | "redis"
    std::string backend = "storage";
    std::string redis_url;           // redis:// (rediss://, TLS, is refused); required with redis
    bool redis_required = true;      // fail closed when Redis is down
    int64_t ttl_seconds = 86400;     // > 0
    // How long a request's in-flight marker holds its key: a retry within it answers 409
    // IDEMPOTENCY_IN_PROGRESS; after it (the gateway that took the request died) the retry
    // proceeds. At least the longest broker deadline + 10 s (checked), so a live request's
    // marker never lapses under it.
    int64_t in_flight_seconds = 60;
    bool require_key = false;        // POST without Idempotency-Key -> 400 when true
    // The memory backend's bound: at most this many keys; past it the oldest is forgotten first
    // (a key with its response takes about 1 KB). 16 .. 100,000,000.
    int64_t memory_max_keys = 200000;
};

// Reconciliation with each broker instance (host/reconcile): at start-up, every interval, when a
// broker's event stream is silent while it has open orders, and on an operator's request.
struct ReconciliationConfig {
    bool enabled = true;
    int64_t interval_seconds = 60;        // between periodic runs, >= 1
    // A pending order younger than this is not judged: its request may still be on its way
    // (at least the longest broker timeout_ms; checked).
    int64_t grace_period_seconds = 30;
    // Consecutive clean "no such order" answers, each in its own run, before a PENDING_NEW order
    // is settled by the not-found policy. A transport error is never counted.
    int64_t not_found_answers = 3;        // >= 1
    // What a PENDING_NEW order the broker provably does not have becomes: "reject" (REJECTED
    // with reason NOT_FOUND_AT_BROKER) or "keep" (left PENDING_NEW, reported as drift).
    std::string not_found_policy = "reject";
    int64_t silent_stream_seconds = 15;   // 0 = off
    int64_t calls_per_second = 20;        // reconciliation's own calls to one broker instance
    int64_t startup_calls_per_second = 0; // the same in a start-up run (writes wait); 0: as above
    int64_t lookback_seconds = 300;       // orders and fills re-read before the last watermark
    int64_t page_size = 500;              // items per page asked of the broker, 1..10000
    int64_t lease_seconds = 30;           // one reconciler per broker instance across gateways
    // For brokers that keep no queryable client order id: match a report to the one PENDING_NEW
    // order of the same account, instrument, side and quantity created within this many seconds
    // (flagged in the order's events). 0 = off: such a report is adopted as an external order.
    int64_t heuristic_match_seconds = 0;
};

// GTT orders (host/gtt), emulated by the host from the brokers' prices.
struct GttConfig {
    bool enabled = true;
    // A price older than this neither fires a trigger nor arms a GTT (1..86400).
    int64_t max_price_age_seconds = 60;
    // How often active GTTs are re-read from storage: those other gateway instances created,
    // changed or fired (1..3600).
    int64_t reload_seconds = 5;
};

struct ApiKeyConfig {
    std::string sha256;  // lower-case hex SHA-256 of the key (64 chars)
    std::string subject;
    std::vector<std::string> accounts;
    std::vector<std::string> scopes;
};

struct AuthConfig {
    bool enabled = false;
    std::string jwks_url, issuer, audience;
    int64_t leeway_seconds = 30, jwks_ttl_seconds = 300, jwks_min_refetch_seconds = 10;
    std::string accounts_claim = "accounts";
    std::optional<std::string> hs256_secret;  // always treated as a secret
    std::vector<ApiKeyConfig> api_keys;
    bool protect_health = false, protect_metrics = false;
    uint32_t rate_per_second = 0, rate_burst = 0;  // per principal; 0 = off
    // Tokens already verified are remembered (by their SHA-256) until they expire; 0 turns the
    // cache off, so every request verifies its signature.
    size_t verified_token_cache_size = 10000;
};

struct LoggingConfig {
    std::string level = "info";   // trace|debug|info|warn|error|critical|off
    std::string format = "text";  // text (key=value) | json (one object per line); the serve
                                  // command's --log-format wins
};

// Where secrets came from (for describe() and the start-up log).
struct SecretsInfo {
    bool config_service = false;     // USE_CONFIG_SERVICE=true
    std::string config_service_url;  // password redacted
    size_t config_service_values = 0;
};

// The per-account event log and the WebSocket stream (API.md "Streaming").
struct StreamConfig {
    int64_t retention_hours = 24 * 7;  // entries older than this are pruned (1 .. 8784)
    int64_t queue_limit = 10000;       // events queued per client before it is closed with 4008
    int64_t ping_seconds = 15;         // the server pings every so often
    int64_t idle_close_seconds = 45;   // a connection silent for this long is closed
    int64_t max_clients = 1000;        // connections at once; more are refused with 503
    // The kernel's send buffer of each stream connection, in bytes (Linux doubles it). Small, so
    // that a client that stops reading fills its queue (queue_limit) and is closed with 4008
    // after a bounded number of events, not after the megabytes an autotuned buffer holds.
    int64_t send_buffer_bytes = 65536;
    // An open position whose unrealized P&L moved with the price gets an entry of its own at most
    // this often (API.md "Streaming"); 0: positions get entries on fills only (0 .. 3600).
    int64_t position_pnl_seconds = 1;
};

struct Config {
    std::string source_path;  // the file (or "<embedded configs/default.yaml>")
    HttpConfig http;
    std::vector<std::string> plugin_dirs;
    StorageConfig storage;
    std::vector<BrokerConfig> brokers;    // at least one
    std::vector<AccountConfig> accounts;  // at least one
    RiskConfig risk;
    IdempotencyConfig idempotency;
    ReconciliationConfig reconciliation;
    GttConfig gtt;
    StreamConfig stream;
    AuthConfig auth;
    LoggingConfig logging;
    // Key paths whose values are secrets, never to be printed: "storage.settings.url",
    // "brokers.0.settings.api_secret", "auth.hs256_secret", ...
    std::vector<std::string> secret_keys;
    // The secret values substituted into the text, so that describe() hides them wherever they
    // ended up (a plugin name built from ${DB_PASSWORD} is not under a secret key).
    std::vector<std::string> secret_values;
    SecretsInfo secrets;
    // Which environment overrides were applied ("PORT", "DATABASE_URL", ...), for the log.
    std::vector<std::string> overrides_applied;
    // What an override replaced that the operator may not expect (a storage plugin configured as
    // a file, replaced by the plugin DATABASE_URL names): warned about at start.
    std::vector<std::string> override_warnings;

    const BrokerConfig* find_broker(std::string_view name) const;
    const AccountConfig* find_account(std::string_view id) const;
    // The limits that apply to an account: its own when it has a risk section, else the global.
    const RiskConfig& risk_for(const AccountConfig& account) const {
        return account.risk ? *account.risk : risk;
    }
};

class ConfigError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

using Env = secrets::Env;
inline Env process_env() { return secrets::process_env(); }

// Reads `path` and parses it (parse_config). Creates the secrets resolver from `env` first, which
// fetches the config service when USE_CONFIG_SERVICE=true. Throws ConfigError (an unreadable
// file, any problem listed above, a config-service failure).
Config load_config(const std::string& path, const Env& env = process_env());

// Parses YAML text; `source_name` is used in error messages and as Config::source_path.
// Creates a secrets resolver from `env` like load_config. Throws ConfigError.
Config parse_config(const std::string& yaml_text, const std::string& source_name, const Env& env);
// The same with a resolver the caller made (and may reuse); overrides read resolver.env().
Config parse_config(const std::string& yaml_text, const std::string& source_name,
                    const secrets::SecretResolver& resolver);

// The text of configs/default.yaml, compiled into the library.
std::string_view default_config_yaml();
// parse_config(default_config_yaml(), "<embedded configs/default.yaml>", env).
Config load_default_config(const Env& env = process_env());

// A redacted, human-readable multi-line summary (no trailing newline) for `config validate` and
// the start-up log: every section, each plugin's settings, secrets shown as "***", URL passwords
// hidden.
std::string describe(const Config& config);

// `settings` with every secret value replaced by "***" (listed in `secret_settings` or named like
// a secret) and URL passwords hidden in the rest; for /api/v1/plugins and logs.
Settings redacted_settings(const Settings& settings,
                           const std::vector<std::string>& secret_settings);

// The value of `key` in `settings`, or nullptr.
const std::string* find_setting(const Settings& settings, std::string_view key);

}  // namespace ordergate::config
