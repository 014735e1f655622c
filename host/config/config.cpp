#include "config/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <map>
#include <set>

#include "config/interpolate.hpp"
#include "secrets/redact.hpp"

namespace ordergate::config {

namespace {

using secrets::SecretResolver;

std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
}

size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
        }
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

std::string unknown_key_message(const std::string& key,
                                const std::vector<std::string_view>& allowed) {
    std::string best;
    size_t best_d = 3;
    for (auto a : allowed) {
        size_t d = edit_distance(key, a);
        if (d < best_d) {
            best_d = d;
            best = a;
        }
    }
    if (!best.empty()) return "unknown key (did you mean '" + best + "'?)";
    std::string list;
    for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    return "unknown key (known keys: " + list + ")";
}

bool valid_instance_name(const std::string& s) {
    if (s.empty()) return false;
    for (char c : s) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.';
        if (!ok) return false;
    }
    return true;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// One `key: value` of a mapping (or one item of a list), with its location.
struct Entry {
    std::string key;
    YAML::Node value;
    std::string path;   // "http.port", "brokers.0.settings"
    std::string where;  // "file:line"
};

struct Scalar {
    std::string text;
    bool secret = false;
};

class Parser {
  public:
    Parser(std::string source, const SecretResolver& resolver)
        : source_(std::move(source)), resolver_(resolver) {}

    // Throws ConfigError; no secret value substituted into the text shows in its message.
    Config run(const std::string& text);

  private:
    Config parse(const std::string& text);
    std::string without_secrets(std::string message) const;
    std::string where(const YAML::Mark& m) const {
        if (m.is_null()) return source_;
        return source_ + ":" + std::to_string(m.line + 1);
    }
    [[noreturn]] void fail(const std::string& where, const std::string& key,
                           const std::string& what) const {
        throw ConfigError(where + ": " + key + ": " + what);
    }
    // The location recorded for `key`, or for its nearest recorded parent, or line 1.
    std::string origin(std::string key) const {
        while (true) {
            if (auto it = origins_.find(key); it != origins_.end()) return it->second;
            size_t dot = key.rfind('.');
            if (dot == std::string::npos) break;
            key.resize(dot);
        }
        return source_ + ":1";
    }
    void mark_secret(const std::string& path) {
        if (std::find(cfg_.secret_keys.begin(), cfg_.secret_keys.end(), path) ==
            cfg_.secret_keys.end())
            cfg_.secret_keys.push_back(path);
    }
    std::string shown(const Scalar& s) const {
        return s.secret ? std::string("(a secret value)") : "'" + s.text + "'";
    }

    std::vector<Entry> entries(const Entry& parent, const std::vector<std::string_view>& allowed);
    std::vector<Entry> items(const Entry& parent);

    Scalar scalar(const Entry& e);
    std::string string_value(const Entry& e, bool allow_empty = true);
    bool bool_value(const Entry& e);
    int64_t int_value(const Entry& e, int64_t min, int64_t max);
    Decimal positive_decimal(const Entry& e);
    std::vector<std::string> string_list(const Entry& e);
    std::vector<std::string> cors_origins(const Entry& e);
    void flatten(const YAML::Node& node, const std::string& key, const std::string& path,
                 const std::string& where, Settings& out, std::vector<std::string>& secret_keys);
    void settings(const Entry& e, Settings& out, std::vector<std::string>& secret_keys);

    void read_http(const Entry& e);
    void read_storage(const Entry& e);
    void read_brokers(const Entry& e);
    void read_accounts(const Entry& e);
    void read_risk(const Entry& e, RiskConfig& r);
    void read_idempotency(const Entry& e);
    void read_reconciliation(const Entry& e);
    void read_gtt(const Entry& e);
    void read_stream(const Entry& e);
    void read_auth(const Entry& e);
    void read_logging(const Entry& e);

    void apply_overrides();
    void validate();

    std::string source_;
    const SecretResolver& resolver_;
    Config cfg_;
    std::map<std::string, std::string> origins_;
    std::vector<std::optional<Entry>> account_risk_;  // per account, read after the global risk
    // Every secret value substituted so far: a check that quotes a value taken from a secret
    // (a broker name built from ${DB_PASSWORD}, say) must not print it.
    std::vector<std::string> secret_values_;
};

std::vector<Entry> Parser::entries(const Entry& parent,
                                   const std::vector<std::string_view>& allowed) {
    std::vector<Entry> out;
    if (!parent.value || parent.value.IsNull()) return out;  // an empty section: all defaults
    if (!parent.value.IsMap())
        fail(parent.where, parent.path, "must be a mapping of keys to values");
    std::set<std::string> seen;
    for (auto it = parent.value.begin(); it != parent.value.end(); ++it) {
        const std::string w = where(it->first.Mark());
        if (!it->first.IsScalar()) fail(w, parent.path, "a key must be a plain name");
        const std::string key = it->first.Scalar();
        const std::string path = join(parent.path, key);
        if (!seen.insert(key).second) fail(w, path, "duplicate key");
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
            fail(w, path, unknown_key_message(key, allowed));
        origins_[path] = w;
        out.push_back(Entry{key, it->second, path, w});
    }
    return out;
}

std::vector<Entry> Parser::items(const Entry& parent) {
    std::vector<Entry> out;
    if (!parent.value || parent.value.IsNull() || !parent.value.IsSequence())
        fail(parent.where, parent.path, "must be a list");
    size_t i = 0;
    for (auto it = parent.value.begin(); it != parent.value.end(); ++it, ++i) {
        YAML::Node item = *it;
        std::string w = item.Mark().is_null() ? parent.where : where(item.Mark());
        std::string path = join(parent.path, std::to_string(i));
        origins_[path] = w;
        out.push_back(Entry{std::to_string(i), item, path, w});
    }
    return out;
}

Scalar Parser::scalar(const Entry& e) {
    if (!e.value || e.value.IsNull())
        fail(e.where, e.path, "has no value (write \"\" for an empty string)");
    if (!e.value.IsScalar()) fail(e.where, e.path, "must be a single value, not a list or mapping");
    try {
        Interpolated in = interpolate(e.value.Scalar(), resolver_);
        if (in.secret) mark_secret(e.path);
        for (std::string& v : in.secret_values) secret_values_.push_back(std::move(v));
        return Scalar{std::move(in.text), in.secret};
    } catch (const InterpolationError& ex) {
        fail(e.where, e.path, ex.what());
    }
}

std::string Parser::string_value(const Entry& e, bool allow_empty) {
    Scalar s = scalar(e);
    if (!allow_empty && s.text.empty()) fail(e.where, e.path, "must not be empty");
    return std::move(s.text);
}

bool Parser::bool_value(const Entry& e) {
    Scalar s = scalar(e);
    auto b = secrets::parse_bool(s.text);
    if (!b) fail(e.where, e.path, "must be true or false, got " + shown(s));
    return *b;
}

int64_t Parser::int_value(const Entry& e, int64_t min, int64_t max) {
    Scalar s = scalar(e);
    int64_t v = 0;
    const char* b = s.text.data();
    const char* end = b + s.text.size();
    auto [p, ec] = std::from_chars(b, end, v);
    if (ec != std::errc() || p != end || s.text.empty())
        fail(e.where, e.path,
             "must be an integer in " + std::to_string(min) + ".." + std::to_string(max) +
                 ", got " + shown(s));
    if (v < min || v > max)
        fail(
            e.where, e.path,
            "must be in " + std::to_string(min) + ".." + std::to_string(max) + ", got " + shown(s));
    return v;
}

Decimal Parser::positive_decimal(const Entry& e) {
    Scalar s = scalar(e);
    Decimal d;
    std::string why;
    if (!Decimal::parse(s.text, &d, &why))
        fail(e.where, e.path, "must be a decimal number, got " + shown(s) + " (" + why + ")");
    if (!d.is_positive()) fail(e.where, e.path, "must be greater than 0, got " + shown(s));
    return d;
}

std::vector<std::string> Parser::string_list(const Entry& e) {
    std::vector<std::string> out;
    for (const Entry& item : items(e)) out.push_back(string_value(item, false));
    return out;
}

void Parser::flatten(const YAML::Node& node, const std::string& key, const std::string& path,
                     const std::string& w, Settings& out, std::vector<std::string>& secret_keys) {
    if (!node || node.IsNull()) fail(w, path, "has no value (write \"\" for an empty string)");
    if (node.IsMap()) {
        std::set<std::string> seen;
        for (auto it = node.begin(); it != node.end(); ++it) {
            std::string kw = where(it->first.Mark());
            if (!it->first.IsScalar()) fail(kw, path, "a key must be a plain name");
            std::string k = it->first.Scalar();
            if (!seen.insert(k).second) fail(kw, join(path, k), "duplicate key");
            origins_[join(path, k)] = kw;
            flatten(it->second, join(key, k), join(path, k), kw, out, secret_keys);
        }
        return;
    }
    if (node.IsSequence()) {
        size_t i = 0;
        for (auto it = node.begin(); it != node.end(); ++it, ++i) {
            YAML::Node item = *it;
            std::string iw = item.Mark().is_null() ? w : where(item.Mark());
            flatten(item, join(key, std::to_string(i)), join(path, std::to_string(i)), iw, out,
                    secret_keys);
        }
        return;
    }
    Scalar s = scalar(Entry{key, node, path, w});
    if (s.secret || secrets::looks_secret_name(key)) {
        secret_keys.push_back(key);
        mark_secret(path);
    }
    out.emplace_back(key, std::move(s.text));
}

void Parser::settings(const Entry& e, Settings& out, std::vector<std::string>& secret_keys) {
    out.clear();
    secret_keys.clear();
    if (!e.value || e.value.IsNull()) return;
    if (!e.value.IsMap()) fail(e.where, e.path, "must be a mapping of setting names to values");
    std::set<std::string> seen;
    for (auto it = e.value.begin(); it != e.value.end(); ++it) {
        std::string kw = where(it->first.Mark());
        if (!it->first.IsScalar()) fail(kw, e.path, "a key must be a plain name");
        std::string k = it->first.Scalar();
        if (!seen.insert(k).second) fail(kw, join(e.path, k), "duplicate key");
        origins_[join(e.path, k)] = kw;
        flatten(it->second, k, join(e.path, k), kw, out, secret_keys);
    }
}

void Parser::read_http(const Entry& e) {
    HttpConfig& h = cfg_.http;
    for (const Entry& k :
         entries(e, {"host", "port", "body_limit_bytes", "max_threads", "max_queued",
                     "shutdown_grace_seconds", "docs_dir", "cors_origins"})) {
        if (k.key == "host")
            h.host = string_value(k, false);
        else if (k.key == "port")
            h.port = static_cast<uint16_t>(int_value(k, 1, 65535));
        else if (k.key == "body_limit_bytes")
            h.body_limit_bytes = static_cast<size_t>(int_value(k, 1, int64_t{1} << 32));
        else if (k.key == "max_threads")
            h.max_threads = static_cast<int>(int_value(k, 1, 10000));
        else if (k.key == "max_queued")
            h.max_queued = static_cast<int>(int_value(k, 1, 1000000));
        else if (k.key == "shutdown_grace_seconds")
            h.shutdown_grace_seconds = static_cast<int>(int_value(k, 0, 3600));
        else if (k.key == "docs_dir")
            h.docs_dir = string_value(k, false);
        else if (k.key == "cors_origins")
            h.cors_origins = cors_origins(k);
    }
}

// An origin as a browser serializes it (RFC 6454): http or https, "://", a host and an optional
// port, nothing after; or "*" alone.
std::vector<std::string> Parser::cors_origins(const Entry& e) {
    std::vector<std::string> out;
    for (const Entry& item : items(e)) {
        std::string o = string_value(item, false);
        if (o == "*") {
            out.push_back(o);
            continue;
        }
        const size_t scheme = o.rfind("https://", 0) == 0 ? 8 : o.rfind("http://", 0) == 0 ? 7 : 0;
        const std::string host = scheme ? o.substr(scheme) : "";
        if (host.empty() || host.find_first_of("/?#@ \t") != std::string::npos)
            fail(item.where, item.path,
                 "must be an origin such as https://ui.example.com or http://localhost:3000 "
                 "(scheme, host and port; no path, no trailing /), or \"*\", got '" +
                     o + "'");
        std::transform(o.begin(), o.end(), o.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        out.push_back(o);
    }
    if (out.size() > 1 && std::find(out.begin(), out.end(), "*") != out.end())
        fail(e.where, e.path, "\"*\" allows every origin: list it alone or not at all");
    return out;
}

void Parser::read_storage(const Entry& e) {
    StorageConfig& s = cfg_.storage;
    for (const Entry& k : entries(e, {"plugin", "settings"})) {
        if (k.key == "plugin")
            s.plugin = string_value(k, false);
        else if (k.key == "settings")
            settings(k, s.settings, s.secret_settings);
    }
}

void Parser::read_brokers(const Entry& e) {
    for (const Entry& item : items(e)) {
        BrokerConfig b;
        bool has_name = false, has_plugin = false;
        for (const Entry& k : entries(item, {"name", "plugin", "settings", "timeout_ms",
                                             "query_timeout_ms", "max_concurrent_calls",
                                             "inline_calls"})) {
            if (k.key == "name") {
                b.name = string_value(k, false);
                if (!valid_instance_name(b.name))
                    fail(k.where, k.path,
                         "'" + b.name + "' may use only letters, digits, '_', '-' and '.'");
                has_name = true;
            } else if (k.key == "plugin") {
                b.plugin = string_value(k, false);
                has_plugin = true;
            } else if (k.key == "settings") {
                settings(k, b.settings, b.secret_settings);
            } else if (k.key == "timeout_ms") {
                b.timeout_ms = int_value(k, 1, 600000);
            } else if (k.key == "query_timeout_ms") {
                b.query_timeout_ms = int_value(k, 1, 600000);
            } else if (k.key == "max_concurrent_calls") {
                b.max_concurrent_calls = int_value(k, 1, 1024);
            } else if (k.key == "inline_calls") {
                b.inline_calls = bool_value(k);
            }
        }
        if (!has_name) fail(item.where, join(item.path, "name"), "is required");
        if (!has_plugin) fail(item.where, join(item.path, "plugin"), "is required");
        cfg_.brokers.push_back(std::move(b));
    }
}

void Parser::read_accounts(const Entry& e) {
    for (const Entry& item : items(e)) {
        AccountConfig a;
        bool has_id = false, has_broker = false;
        std::optional<Entry> risk;
        for (const Entry& k : entries(item, {"id", "broker", "risk", "currency"})) {
            if (k.key == "id") {
                a.id = string_value(k, false);
                has_id = true;
            } else if (k.key == "broker") {
                a.broker = string_value(k, false);
                has_broker = true;
            } else if (k.key == "currency") {
                a.currency = string_value(k);
            } else if (k.key == "risk") {
                risk = k;
            }
        }
        if (!has_id) fail(item.where, join(item.path, "id"), "is required");
        if (!has_broker) fail(item.where, join(item.path, "broker"), "is required");
        cfg_.accounts.push_back(std::move(a));
        account_risk_.push_back(std::move(risk));
    }
}

void Parser::read_risk(const Entry& e, RiskConfig& r) {
    for (const Entry& k : entries(e, {"max_quantity", "max_notional", "allowed_symbols",
                                      "allowed_exchanges", "max_orders_per_second"})) {
        if (k.key == "max_quantity")
            r.max_quantity = positive_decimal(k);
        else if (k.key == "max_notional")
            r.max_notional = positive_decimal(k);
        else if (k.key == "allowed_symbols")
            r.allowed_symbols = string_list(k);
        else if (k.key == "allowed_exchanges")
            r.allowed_exchanges = string_list(k);
        else if (k.key == "max_orders_per_second")
            r.max_orders_per_second = static_cast<uint32_t>(int_value(k, 0, 1000000));
    }
}

void Parser::read_idempotency(const Entry& e) {
    IdempotencyConfig& i = cfg_.idempotency;
    for (const Entry& k :
         entries(e, {"backend", "redis_url", "redis_required", "ttl_seconds", "in_flight_seconds",
                     "require_key", "memory_max_keys"})) {
        if (k.key == "backend") {
            i.backend = string_value(k);
            if (i.backend != "storage" && i.backend != "memory" && i.backend != "redis")
                fail(k.where, k.path,
                     "must be storage, memory or redis, got '" + i.backend + "'");
        } else if (k.key == "redis_url") {
            i.redis_url = string_value(k);
        } else if (k.key == "redis_required") {
            i.redis_required = bool_value(k);
        } else if (k.key == "ttl_seconds") {
            i.ttl_seconds = int_value(k, 1, int64_t{10} * 366 * 86400);
        } else if (k.key == "in_flight_seconds") {
            i.in_flight_seconds = int_value(k, 1, 86400);
        } else if (k.key == "require_key") {
            i.require_key = bool_value(k);
        } else if (k.key == "memory_max_keys") {
            i.memory_max_keys = int_value(k, 16, 100000000);
        }
    }
}

void Parser::read_gtt(const Entry& e) {
    GttConfig& g = cfg_.gtt;
    for (const Entry& k : entries(e, {"enabled", "max_price_age_seconds", "reload_seconds"})) {
        if (k.key == "enabled") g.enabled = bool_value(k);
        else if (k.key == "max_price_age_seconds") g.max_price_age_seconds = int_value(k, 1, 86400);
        else if (k.key == "reload_seconds") g.reload_seconds = int_value(k, 1, 3600);
    }
}

void Parser::read_stream(const Entry& e) {
    StreamConfig& s = cfg_.stream;
    for (const Entry& k :
         entries(e, {"retention_hours", "queue_limit", "ping_seconds", "idle_close_seconds",
                     "max_clients", "send_buffer_bytes", "position_pnl_seconds"})) {
        if (k.key == "retention_hours") {
            s.retention_hours = int_value(k, 1, int64_t{366} * 24);
        } else if (k.key == "queue_limit") {
            s.queue_limit = int_value(k, 1, 1000000);
        } else if (k.key == "ping_seconds") {
            s.ping_seconds = int_value(k, 1, 3600);
        } else if (k.key == "idle_close_seconds") {
            s.idle_close_seconds = int_value(k, 2, 86400);
        } else if (k.key == "max_clients") {
            s.max_clients = int_value(k, 1, 100000);
        } else if (k.key == "send_buffer_bytes") {
            s.send_buffer_bytes = int_value(k, 4096, int64_t{64} * 1024 * 1024);
        } else if (k.key == "position_pnl_seconds") {
            s.position_pnl_seconds = int_value(k, 0, 3600);
        }
    }
    if (s.idle_close_seconds <= s.ping_seconds)
        fail(e.where, "stream.idle_close_seconds",
             "must be greater than stream.ping_seconds (a client answers pings)");
}

void Parser::read_reconciliation(const Entry& e) {
    ReconciliationConfig& r = cfg_.reconciliation;
    for (const Entry& k :
         entries(e, {"enabled", "interval_seconds", "grace_period_seconds", "not_found_answers",
                     "not_found_policy", "silent_stream_seconds", "calls_per_second",
                     "startup_calls_per_second", "lookback_seconds", "page_size", "lease_seconds",
                     "heuristic_match_seconds"})) {
        if (k.key == "enabled") {
            r.enabled = bool_value(k);
        } else if (k.key == "interval_seconds") {
            r.interval_seconds = int_value(k, 1, 86400);
        } else if (k.key == "grace_period_seconds") {
            r.grace_period_seconds = int_value(k, 1, 86400);
        } else if (k.key == "not_found_answers") {
            r.not_found_answers = int_value(k, 1, 1000);
        } else if (k.key == "not_found_policy") {
            r.not_found_policy = string_value(k);
            if (r.not_found_policy != "reject" && r.not_found_policy != "keep")
                fail(k.where, k.path, "must be reject or keep, got '" + r.not_found_policy + "'");
        } else if (k.key == "silent_stream_seconds") {
            r.silent_stream_seconds = int_value(k, 0, 86400);
        } else if (k.key == "calls_per_second") {
            r.calls_per_second = int_value(k, 1, 100000);
        } else if (k.key == "startup_calls_per_second") {
            r.startup_calls_per_second = int_value(k, 0, 100000);
        } else if (k.key == "lookback_seconds") {
            r.lookback_seconds = int_value(k, 0, int64_t{366} * 86400);
        } else if (k.key == "page_size") {
            r.page_size = int_value(k, 1, 10000);
        } else if (k.key == "lease_seconds") {
            r.lease_seconds = int_value(k, 2, 86400);
        } else if (k.key == "heuristic_match_seconds") {
            r.heuristic_match_seconds = int_value(k, 0, 86400);
        }
    }
}

void Parser::read_auth(const Entry& e) {
    AuthConfig& a = cfg_.auth;
    for (const Entry& k : entries(
             e, {"enabled", "jwks_url", "issuer", "audience", "leeway_seconds", "jwks_ttl_seconds",
                 "jwks_min_refetch_seconds", "accounts_claim", "hs256_secret", "api_keys",
                 "protect_health", "protect_metrics", "rate_per_second", "rate_burst",
                 "verified_token_cache_size"})) {
        if (k.key == "enabled")
            a.enabled = bool_value(k);
        else if (k.key == "jwks_url")
            a.jwks_url = string_value(k);
        else if (k.key == "issuer")
            a.issuer = string_value(k);
        else if (k.key == "audience")
            a.audience = string_value(k);
        else if (k.key == "leeway_seconds")
            a.leeway_seconds = int_value(k, 0, 3600);
        else if (k.key == "jwks_ttl_seconds")
            a.jwks_ttl_seconds = int_value(k, 1, 7 * 86400);
        else if (k.key == "jwks_min_refetch_seconds")
            a.jwks_min_refetch_seconds = int_value(k, 0, 86400);
        else if (k.key == "accounts_claim")
            a.accounts_claim = string_value(k, false);
        else if (k.key == "hs256_secret") {
            mark_secret(k.path);
            std::string secret = string_value(k);
            // An empty secret (e.g. ${HS256_SECRET:-}) means "not configured".
            if (!secret.empty()) {
                if (secret.size() < 32)
                    fail(k.where, k.path, "must be at least 32 bytes long (HS256 key strength)");
                a.hs256_secret = std::move(secret);
            }
        } else if (k.key == "api_keys") {
            for (const Entry& item : items(k)) {
                ApiKeyConfig key;
                bool has_hash = false, has_subject = false;
                for (const Entry& f : entries(item, {"sha256", "subject", "accounts", "scopes"})) {
                    if (f.key == "sha256") {
                        key.sha256 = string_value(f);
                        bool hex = key.sha256.size() == 64 &&
                                   std::all_of(key.sha256.begin(), key.sha256.end(), [](char c) {
                                       return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                                   });
                        if (!hex)
                            fail(f.where, f.path,
                                 "must be 64 lower-case hex digits (the SHA-256 of the key)");
                        has_hash = true;
                    } else if (f.key == "subject") {
                        key.subject = string_value(f, false);
                        has_subject = true;
                    } else if (f.key == "accounts") {
                        key.accounts = string_list(f);
                    } else if (f.key == "scopes") {
                        key.scopes = string_list(f);
                    }
                }
                if (!has_hash) fail(item.where, join(item.path, "sha256"), "is required");
                if (!has_subject) fail(item.where, join(item.path, "subject"), "is required");
                a.api_keys.push_back(std::move(key));
            }
        } else if (k.key == "protect_health")
            a.protect_health = bool_value(k);
        else if (k.key == "protect_metrics")
            a.protect_metrics = bool_value(k);
        else if (k.key == "rate_per_second")
            a.rate_per_second = static_cast<uint32_t>(int_value(k, 0, 1000000));
        else if (k.key == "rate_burst")
            a.rate_burst = static_cast<uint32_t>(int_value(k, 0, 1000000));
        else if (k.key == "verified_token_cache_size")
            a.verified_token_cache_size = static_cast<size_t>(int_value(k, 0, 10000000));
    }
}

namespace {
const std::vector<std::string> kLogLevels = {"trace", "debug", "info", "warn",
                                             "error", "critical", "off"};
const char* const kLogLevelsText = "must be one of trace, debug, info, warn, error, critical, off";
bool is_log_level(const std::string& level) {
    return std::find(kLogLevels.begin(), kLogLevels.end(), level) != kLogLevels.end();
}
}  // namespace

void Parser::read_logging(const Entry& e) {
    for (const Entry& k : entries(e, {"level", "format"})) {
        if (k.key == "level") {
            std::string level = string_value(k);
            if (!is_log_level(level))
                fail(k.where, k.path, std::string(kLogLevelsText) + "; got '" + level + "'");
            cfg_.logging.level = level;
        } else if (k.key == "format") {
            std::string format = string_value(k);
            if (format != "text" && format != "json")
                fail(k.where, k.path, "must be text or json; got '" + format + "'");
            cfg_.logging.format = format;
        }
    }
}

void Parser::apply_overrides() {
    // Each variable is resolved like a secret (NAME, NAME_FILE, config service).
    auto get =
        [&](const std::string& var) -> std::optional<std::pair<secrets::Resolved, std::string>> {
        std::optional<secrets::Resolved> r;
        try {
            r = resolver_.resolve(var);
        } catch (const secrets::SecretError& e) {
            throw ConfigError(e.what());
        }
        if (!r || r->value.empty()) return std::nullopt;
        if (r->source != secrets::Source::Environment || secrets::looks_secret_name(var))
            secret_values_.push_back(r->value);
        std::string w = r->source == secrets::Source::Environment
                            ? "environment variable " + var
                            : var + " (from " + r->origin + ")";
        cfg_.overrides_applied.push_back(var);
        return std::make_pair(std::move(*r), std::move(w));
    };
    auto secret = [](const secrets::Resolved& r, const std::string& var) {
        return r.source != secrets::Source::Environment || secrets::looks_secret_name(var);
    };
    auto parse_bool = [&](const std::pair<secrets::Resolved, std::string>& v,
                          const std::string& key) {
        auto b = secrets::parse_bool(v.first.value);
        if (!b) fail(v.second, key, "must be true or false, got '" + v.first.value + "'");
        origins_[key] = v.second;
        return *b;
    };

    if (auto v = get("PORT")) {
        const std::string& t = v->first.value;
        int64_t port = 0;
        auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), port);
        if (ec != std::errc() || p != t.data() + t.size() || port < 1 || port > 65535)
            fail(v->second, "http.port", "must be an integer in 1..65535, got '" + t + "'");
        cfg_.http.port = static_cast<uint16_t>(port);
        origins_["http.port"] = v->second;
    }
    if (auto v = get("DATABASE_URL")) {
        const std::string& url = v->first.value;
        StorageConfig& s = cfg_.storage;
        std::string plugin, key, value;
        if (starts_with(url, "postgres://") || starts_with(url, "postgresql://")) {
            plugin = "storage-postgres";
            key = "url";
            value = url;
        } else if (starts_with(url, "sqlite://")) {
            plugin = "storage-sqlite";
            key = "path";
            value = url.substr(std::string_view("sqlite://").size());
            if (value.empty())
                fail(v->second, "storage.settings.path", "the sqlite:// URL has no path");
        } else if (url.find("://") != std::string::npos) {
            std::string scheme = url.substr(0, url.find("://"));
            fail(v->second, "storage",
                 "unsupported scheme '" + scheme +
                     "://' (use postgresql://, postgres://, sqlite://<path> or a file path)");
        } else {
            plugin = "storage-sqlite";
            key = "path";
            value = url;
        }
        if (s.plugin != plugin) {
            // A plugin given as a file is a deliberate build; the URL's scheme names another.
            const std::string_view given = s.plugin;
            if (given.find('/') != std::string_view::npos ||
                (given.size() > 3 && given.substr(given.size() - 3) == ".so"))
                cfg_.override_warnings.push_back(
                    "DATABASE_URL replaces storage.plugin '" + s.plugin + "' (" +
                    origin("storage.plugin") + ") with the plugin named " + plugin +
                    ", found through plugin_dirs");
            s.plugin = plugin;
            s.settings.clear();
            s.secret_settings.clear();
            cfg_.secret_keys.erase(
                std::remove_if(cfg_.secret_keys.begin(), cfg_.secret_keys.end(),
                               [](const std::string& k) { return starts_with(k, "storage."); }),
                cfg_.secret_keys.end());
        }
        auto it = std::find_if(s.settings.begin(), s.settings.end(),
                               [&](const auto& kv) { return kv.first == key; });
        if (it != s.settings.end())
            it->second = value;
        else
            s.settings.emplace_back(key, value);
        s.secret_settings.erase(
            std::remove(s.secret_settings.begin(), s.secret_settings.end(), key),
            s.secret_settings.end());
        const std::string path = "storage.settings." + key;
        cfg_.secret_keys.erase(std::remove(cfg_.secret_keys.begin(), cfg_.secret_keys.end(), path),
                               cfg_.secret_keys.end());
        if (secret(v->first, "DATABASE_URL")) {
            s.secret_settings.push_back(key);
            mark_secret(path);
        }
        origins_["storage"] = v->second;
        origins_["storage.plugin"] = v->second;
        origins_[path] = v->second;
    }
    if (auto v = get("REDIS_URL")) {
        cfg_.idempotency.backend = "redis";
        cfg_.idempotency.redis_url = v->first.value;
        cfg_.secret_keys.erase(std::remove(cfg_.secret_keys.begin(), cfg_.secret_keys.end(),
                                           std::string("idempotency.redis_url")),
                               cfg_.secret_keys.end());
        if (secret(v->first, "REDIS_URL")) mark_secret("idempotency.redis_url");
        origins_["idempotency.backend"] = v->second;
        origins_["idempotency.redis_url"] = v->second;
    }
    if (auto v = get("REDIS_REQUIRED"))
        cfg_.idempotency.redis_required = parse_bool(*v, "idempotency.redis_required");
    if (auto v = get("AUTH_ENABLED")) cfg_.auth.enabled = parse_bool(*v, "auth.enabled");
    // The operator's level for this run (systemd's EnvironmentFile, a container's -e) wins over
    // the file's, so debugging a host never needs an edited configuration.
    if (auto v = get("ORDERGATE_LOG_LEVEL")) {
        if (!is_log_level(v->first.value))
            fail(v->second, "logging.level",
                 std::string(kLogLevelsText) + "; got '" + v->first.value + "'");
        cfg_.logging.level = v->first.value;
        origins_["logging.level"] = v->second;
    }
    struct Text {
        const char* var;
        const char* key;
        std::string* field;
    };
    for (const Text& t : {Text{"JWKS_URL", "auth.jwks_url", &cfg_.auth.jwks_url},
                          Text{"JWT_ISSUER", "auth.issuer", &cfg_.auth.issuer},
                          Text{"JWT_AUDIENCE", "auth.audience", &cfg_.auth.audience}}) {
        if (auto v = get(t.var)) {
            *t.field = v->first.value;
            if (secret(v->first, t.var)) mark_secret(t.key);
            origins_[t.key] = v->second;
        }
    }
    cfg_.secrets.config_service = resolver_.uses_config_service();
    cfg_.secrets.config_service_url = resolver_.config_service_url();
    cfg_.secrets.config_service_values = resolver_.config_service_value_count();
}

void Parser::validate() {
    if (cfg_.storage.plugin.empty())
        fail(origin("storage.plugin"), "storage.plugin", "is required");

    if (cfg_.brokers.empty())
        fail(origin("brokers"), "brokers", "at least one broker instance is required");
    std::map<std::string, size_t> broker_index;
    for (size_t i = 0; i < cfg_.brokers.size(); ++i) {
        const std::string path = "brokers." + std::to_string(i) + ".name";
        auto [it, fresh] = broker_index.emplace(cfg_.brokers[i].name, i);
        if (!fresh)
            fail(origin(path), path,
                 "duplicate broker name '" + cfg_.brokers[i].name + "' (first defined at " +
                     origin("brokers." + std::to_string(it->second) + ".name") + ")");
    }

    if (cfg_.accounts.empty())
        fail(origin("accounts"), "accounts", "at least one account is required");
    std::map<std::string, size_t> account_index;
    for (size_t i = 0; i < cfg_.accounts.size(); ++i) {
        const AccountConfig& a = cfg_.accounts[i];
        const std::string base = "accounts." + std::to_string(i);
        auto [it, fresh] = account_index.emplace(a.id, i);
        if (!fresh)
            fail(origin(base + ".id"), base + ".id",
                 "duplicate account id '" + a.id + "' (first defined at " +
                     origin("accounts." + std::to_string(it->second) + ".id") + ")");
        if (broker_index.count(a.broker) == 0) {
            std::string names;
            for (const auto& b : cfg_.brokers) names += (names.empty() ? "" : ", ") + b.name;
            fail(origin(base + ".broker"), base + ".broker",
                 "unknown broker '" + a.broker + "' (configured brokers: " + names + ")");
        }
    }

    const IdempotencyConfig& idem = cfg_.idempotency;
    if (idem.backend == "redis") {
        if (idem.redis_url.empty())
            fail(origin("idempotency.backend"), "idempotency.redis_url",
                 "is required when the backend is redis (set it, or REDIS_URL)");
        // Refused here, so `ordergate config validate` says it before a start-up would.
        if (starts_with(idem.redis_url, "rediss://"))
            fail(origin("idempotency.redis_url"), "idempotency.redis_url",
                 "rediss:// (Redis over TLS) is not supported: use redis:// on a trusted network "
                 "or through a local TLS tunnel to Redis");
        if (!starts_with(idem.redis_url, "redis://"))
            fail(origin("idempotency.redis_url"), "idempotency.redis_url",
                 "must start with redis:// (rediss://, TLS, is not supported)");
    }

    // A request's in-flight marker outlives the request (its broker deadline and then some).
    for (size_t i = 0; i < cfg_.brokers.size(); ++i) {
        const BrokerConfig& b = cfg_.brokers[i];
        if (idem.in_flight_seconds * 1000 < b.timeout_ms + 10000)
            fail(origin("idempotency.in_flight_seconds"), "idempotency.in_flight_seconds",
                 "must be at least the longest broker deadline + 10 s (brokers." +
                     std::to_string(i) + ".timeout_ms = " + std::to_string(b.timeout_ms) +
                     "): a retry must not proceed while the request it repeats still runs");
    }

    // A pending order is judged only once its request can no longer be on its way.
    const ReconciliationConfig& rc = cfg_.reconciliation;
    for (size_t i = 0; i < cfg_.brokers.size(); ++i) {
        const BrokerConfig& b = cfg_.brokers[i];
        if (rc.grace_period_seconds * 1000 < b.timeout_ms)
            fail(origin("reconciliation.grace_period_seconds"), "reconciliation.grace_period_seconds",
                 "must be at least the longest broker deadline (brokers." + std::to_string(i) +
                     ".timeout_ms = " + std::to_string(b.timeout_ms) +
                     "): an order younger than its own deadline may still reach the broker");
    }
    // A run renews its lease when two thirds of it are left and acts only while it holds it: one
    // report call must fit in those two thirds, or a slow call stops the run every time.
    for (size_t i = 0; i < cfg_.brokers.size(); ++i) {
        const BrokerConfig& b = cfg_.brokers[i];
        if (rc.lease_seconds * 1000 * 2 <= b.query_deadline_ms() * 3)
            fail(origin("reconciliation.lease_seconds"), "reconciliation.lease_seconds",
                 "must be more than 1.5 times the longest broker query deadline (brokers." +
                     std::to_string(i) + " queries wait up to " +
                     std::to_string(b.query_deadline_ms()) +
                     " ms): a run stops when its lease could lapse during one report call");
    }

    const AuthConfig& a = cfg_.auth;
    if (a.enabled) {
        const std::string w = origin("auth.enabled");
        if (a.jwks_url.empty() && !a.hs256_secret)
            fail(w, "auth.jwks_url",
                 "is required when auth is enabled (set it or JWKS_URL; or auth.hs256_secret)");
        if (a.issuer.empty())
            fail(w, "auth.issuer", "is required when auth is enabled (set it or JWT_ISSUER)");
        if (a.audience.empty())
            fail(w, "auth.audience", "is required when auth is enabled (set it or JWT_AUDIENCE)");
    }
    if (!a.jwks_url.empty() && !starts_with(a.jwks_url, "http://") &&
        !starts_with(a.jwks_url, "https://"))
        fail(origin("auth.jwks_url"), "auth.jwks_url", "must start with http:// or https://");
    if (a.rate_burst > 0 && a.rate_per_second == 0)
        fail(origin("auth.rate_burst"), "auth.rate_burst",
             "needs auth.rate_per_second > 0 (a burst without a rate means nothing)");
}

Config Parser::run(const std::string& text) {
    try {
        return parse(text);
    } catch (const ConfigError& e) {
        std::string message = without_secrets(e.what());
        if (message == e.what()) throw;
        throw ConfigError(message);
    }
}

std::string Parser::without_secrets(std::string message) const {
    return secrets::hide_values(std::move(message), secret_values_, "(a secret value)");
}

Config Parser::parse(const std::string& text) {
    cfg_.source_path = source_;
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::ParserException& e) {
        throw ConfigError(where(e.mark) + ": invalid YAML: " + e.msg);
    } catch (const YAML::Exception& e) {
        throw ConfigError(source_ + ": invalid YAML: " + e.what());
    }
    if (!root || root.IsNull()) fail(source_ + ":1", "(root)", "the configuration is empty");
    if (!root.IsMap())
        fail(where(root.Mark()), "(root)", "must be a mapping of sections (http:, brokers:, ...)");

    std::map<std::string, Entry> sections;
    for (Entry& e : entries(Entry{"", root, "", source_ + ":1"},
                            {"http", "plugin_dirs", "storage", "brokers", "accounts", "risk",
                             "idempotency", "reconciliation", "gtt", "stream", "auth", "logging"}))
        sections[e.key] = std::move(e);
    auto section = [&](const char* name) -> const Entry* {
        auto it = sections.find(name);
        return it == sections.end() ? nullptr : &it->second;
    };
    if (auto* e = section("http")) read_http(*e);
    if (auto* e = section("plugin_dirs")) cfg_.plugin_dirs = string_list(*e);
    if (auto* e = section("storage")) read_storage(*e);
    if (auto* e = section("brokers")) read_brokers(*e);
    if (auto* e = section("risk")) read_risk(*e, cfg_.risk);
    if (auto* e = section("accounts")) read_accounts(*e);
    for (size_t i = 0; i < cfg_.accounts.size(); ++i) {
        if (!account_risk_[i]) continue;
        RiskConfig r = cfg_.risk;  // per-key overrides over the global limits
        read_risk(*account_risk_[i], r);
        cfg_.accounts[i].risk = std::move(r);
    }
    if (auto* e = section("idempotency")) read_idempotency(*e);
    if (auto* e = section("reconciliation")) read_reconciliation(*e);
    if (auto* e = section("gtt")) read_gtt(*e);
    if (auto* e = section("stream")) read_stream(*e);
    if (auto* e = section("auth")) read_auth(*e);
    if (auto* e = section("logging")) read_logging(*e);

    apply_overrides();
    validate();
    std::sort(secret_values_.begin(), secret_values_.end());
    secret_values_.erase(std::unique(secret_values_.begin(), secret_values_.end()),
                         secret_values_.end());
    cfg_.secret_values = secret_values_;
    return std::move(cfg_);
}

}  // namespace

const BrokerConfig* Config::find_broker(std::string_view name) const {
    for (const auto& b : brokers)
        if (b.name == name) return &b;
    return nullptr;
}

const AccountConfig* Config::find_account(std::string_view id) const {
    for (const auto& a : accounts)
        if (a.id == id) return &a;
    return nullptr;
}

Config parse_config(const std::string& yaml_text, const std::string& source_name,
                    const secrets::SecretResolver& resolver) {
    return Parser(source_name, resolver).run(yaml_text);
}

Config parse_config(const std::string& yaml_text, const std::string& source_name, const Env& env) {
    std::optional<secrets::SecretResolver> resolver;
    try {
        resolver.emplace(secrets::SecretResolver::from_env(env));
    } catch (const secrets::SecretError& e) {
        throw ConfigError(e.what());
    }
    return parse_config(yaml_text, source_name, *resolver);
}

Config load_config(const std::string& path, const Env& env) {
    std::string text, why;
    if (!secrets::read_whole_file(path, &text, &why))
        throw ConfigError(path + ": cannot read the configuration file (" + why + ")");
    return parse_config(text, path, env);
}

Config load_default_config(const Env& env) {
    return parse_config(std::string(default_config_yaml()), "<embedded configs/default.yaml>", env);
}

const std::string* find_setting(const Settings& settings, std::string_view key) {
    for (const auto& [k, v] : settings)
        if (k == key) return &v;
    return nullptr;
}

Settings redacted_settings(const Settings& settings,
                           const std::vector<std::string>& secret_settings) {
    Settings out;
    out.reserve(settings.size());
    for (const auto& [k, v] : settings) {
        bool known =
            std::find(secret_settings.begin(), secret_settings.end(), k) != secret_settings.end();
        out.emplace_back(k, secrets::redact_value(k, v, known));
    }
    return out;
}

}  // namespace ordergate::config
