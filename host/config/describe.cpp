#include <algorithm>
#include <sstream>

#include "config/config.hpp"
#include "secrets/redact.hpp"

namespace ordergate::config {

namespace {

std::string list_or(const std::vector<std::string>& v, const char* empty, const char* sep = ", ") {
    if (v.empty()) return empty;
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
    return out;
}

std::string opt_decimal(const std::optional<Decimal>& d) {
    return d ? d->to_string() : std::string("none");
}

std::string risk_line(const RiskConfig& r) {
    return "max_quantity=" + opt_decimal(r.max_quantity) +
           " max_notional=" + opt_decimal(r.max_notional) + " max_orders_per_second=" +
           (r.max_orders_per_second == 0 ? std::string("off")
                                         : std::to_string(r.max_orders_per_second)) +
           " allowed_symbols=" + list_or(r.allowed_symbols, "any", ",") +
           " allowed_exchanges=" + list_or(r.allowed_exchanges, "any", ",");
}

const char* yes_no(bool b) { return b ? "true" : "false"; }

}  // namespace

std::string describe(const Config& c) {
    auto is_secret = [&](const std::string& key) {
        return std::find(c.secret_keys.begin(), c.secret_keys.end(), key) != c.secret_keys.end();
    };
    // A host-section string: "***" when marked secret, else with URL passwords hidden.
    auto show = [&](const std::string& key, const std::string& value) {
        if (is_secret(key)) return std::string(secrets::kRedacted);
        return secrets::redact_embedded(value);
    };
    auto settings = [&](std::ostringstream& out, const Settings& s,
                        const std::vector<std::string>& secret) {
        for (const auto& [k, v] : redacted_settings(s, secret)) out << "\n    " << k << " = " << v;
    };

    std::ostringstream out;
    out << "config: " << c.source_path;
    if (!c.overrides_applied.empty())
        out << "\n  environment overrides: " << list_or(c.overrides_applied, "");
    for (const std::string& w : c.override_warnings) out << "\n  warning: " << w;
    const HttpConfig& h = c.http;
    out << "\nhttp: host=" << show("http.host", h.host) << " port=" << h.port
        << " body_limit_bytes=" << h.body_limit_bytes << " max_threads=" << h.max_threads
        << " max_queued=" << h.max_queued << " shutdown_grace_seconds=" << h.shutdown_grace_seconds
        << " docs_dir=" << (h.docs_dir.empty() ? std::string("(next to the binary)") : h.docs_dir)
        << " cors_origins=" << list_or(h.cors_origins, "(none)");
    out << "\nplugin_dirs: " << list_or(c.plugin_dirs, "(none)");
    out << "\nstorage: plugin=" << c.storage.plugin;
    settings(out, c.storage.settings, c.storage.secret_settings);
    for (const auto& b : c.brokers) {
        out << "\nbroker " << b.name << ": plugin=" << b.plugin << " timeout_ms=" << b.timeout_ms
            << " query_timeout_ms=" << b.query_deadline_ms()
            << " max_concurrent_calls=" << b.max_concurrent_calls
            << " inline_calls=" << (b.inline_calls ? "true" : "false");
        settings(out, b.settings, b.secret_settings);
    }
    out << "\nrisk: " << risk_line(c.risk);
    for (const auto& a : c.accounts) {
        out << "\naccount " << a.id << ": broker=" << a.broker;
        if (!a.currency.empty()) out << " currency=" << a.currency;
        if (a.risk)
            out << "\n    risk: " << risk_line(*a.risk);
        else
            out << " risk=global";
    }
    const IdempotencyConfig& i = c.idempotency;
    out << "\nidempotency: backend=" << i.backend;
    if (i.backend == "redis")
        out << " redis_url=" << show("idempotency.redis_url", i.redis_url)
            << " redis_required=" << yes_no(i.redis_required);
    out << " ttl_seconds=" << i.ttl_seconds << " require_key=" << yes_no(i.require_key);
    if (i.backend == "memory") out << " memory_max_keys=" << i.memory_max_keys;
    const ReconciliationConfig& r = c.reconciliation;
    out << "\nreconciliation: enabled=" << yes_no(r.enabled);
    if (r.enabled)
        out << " interval_seconds=" << r.interval_seconds
            << " grace_period_seconds=" << r.grace_period_seconds
            << " not_found_answers=" << r.not_found_answers
            << " not_found_policy=" << r.not_found_policy
            << " silent_stream_seconds=" << r.silent_stream_seconds
            << " calls_per_second=" << r.calls_per_second
            << " startup_calls_per_second=" << r.startup_calls_per_second
            << " lookback_seconds=" << r.lookback_seconds << " page_size=" << r.page_size
            << " lease_seconds=" << r.lease_seconds
            << " heuristic_match_seconds=" << r.heuristic_match_seconds;
    out << "\ngtt: enabled=" << yes_no(c.gtt.enabled);
    if (c.gtt.enabled)
        out << " max_price_age_seconds=" << c.gtt.max_price_age_seconds
            << " reload_seconds=" << c.gtt.reload_seconds;
    const AuthConfig& a = c.auth;
    out << "\nauth: enabled=" << yes_no(a.enabled);
    if (a.enabled) {
        out << " jwks_url=" << (a.jwks_url.empty() ? "(none)" : show("auth.jwks_url", a.jwks_url))
            << " issuer=" << show("auth.issuer", a.issuer)
            << " audience=" << show("auth.audience", a.audience)
            << " leeway_seconds=" << a.leeway_seconds << " jwks_ttl_seconds=" << a.jwks_ttl_seconds
            << " jwks_min_refetch_seconds=" << a.jwks_min_refetch_seconds
            << " accounts_claim=" << a.accounts_claim
            << " hs256_secret=" << (a.hs256_secret ? secrets::kRedacted : "(none)")
            << " api_keys=" << a.api_keys.size() << " protect_health=" << yes_no(a.protect_health)
            << " protect_metrics=" << yes_no(a.protect_metrics) << " rate_per_second="
            << (a.rate_per_second == 0 ? std::string("off") : std::to_string(a.rate_per_second))
            << " rate_burst=" << a.rate_burst
            << " verified_token_cache_size=" << a.verified_token_cache_size;
    } else if (!a.api_keys.empty() || a.hs256_secret) {
        out << " (api_keys=" << a.api_keys.size() << " configured but unused)";
    }
    out << "\nlogging: level=" << c.logging.level << " format=" << c.logging.format;
    out << "\nsecrets: environment, *_FILE files";
    if (c.secrets.config_service)
        out << ", config service " << c.secrets.config_service_url << " ("
            << c.secrets.config_service_values << " values)";
    else
        out << " (config service off)";
    out << "; " << c.secret_keys.size() << " secret value(s) hidden";
    return secrets::hide_values(out.str(), c.secret_values, secrets::kRedacted);
}

}  // namespace ordergate::config
