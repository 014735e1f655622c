#include "auth/authenticator.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstring>
#include <deque>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <stdexcept>
#include <unordered_map>
#include <variant>

#include "auth/crypto.hpp"
#include "auth/jwk.hpp"
#include "json/json.hpp"

namespace ordergate::auth {

namespace {

using SteadyClock = std::chrono::steady_clock;
using SysClock = std::chrono::system_clock;
using KeyList = std::vector<std::shared_ptr<const VerificationKey>>;

// Far enough for any real token, small enough that adding a leeway never overflows.
constexpr int64_t kMaxNumericDate = 1'000'000'000'000'000;
constexpr std::size_t kMaxKidBytes = 256;
constexpr std::size_t kMaxSubjectBytes = 256;

struct Rejection {
    Failure failure;
    std::string reason;
};

Rejection invalid(std::string reason) { return {Failure::InvalidToken, std::move(reason)}; }

AuthResult fail(Rejection r) {
    AuthResult out;
    out.failure = r.failure;
    out.reason = std::move(r.reason);
    return out;
}

AuthResult succeed(Principal p) {
    AuthResult out;
    out.principal = std::move(p);
    return out;
}

int64_t unix_seconds(SysClock::time_point t) {
    return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}

// Whole Unix seconds as a time_point, saturating where system_clock's nanoseconds end (2262).
SysClock::time_point from_unix_seconds(int64_t s) {
    constexpr int64_t kLimit =
        std::chrono::duration_cast<std::chrono::seconds>(SysClock::duration::max()).count() - 1;
    if (s >= kLimit) return SysClock::time_point::max();
    if (s <= -kLimit) return SysClock::time_point::min();
    return SysClock::time_point(std::chrono::seconds(s));
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// A JSON number (kept as written by json::parse) as whole Unix seconds, clamped.
std::optional<int64_t> numeric_date(const json::Value& v) {
    if (!v.is_number()) return std::nullopt;
    const std::string& t = v.text();
    int64_t i = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), i);
    if (ec == std::errc() && p == t.data() + t.size())
        return std::clamp(i, -kMaxNumericDate, kMaxNumericDate);
    double d = 0;
    auto [q, ec2] = std::from_chars(t.data(), t.data() + t.size(), d);
    if (ec2 == std::errc::result_out_of_range)
        return t.front() == '-' ? -kMaxNumericDate : kMaxNumericDate;
    if (ec2 != std::errc() || q != t.data() + t.size() || !std::isfinite(d)) return std::nullopt;
    d = std::clamp(std::floor(d), -static_cast<double>(kMaxNumericDate),
                   static_cast<double>(kMaxNumericDate));
    return static_cast<int64_t>(d);
}

void add_words(std::string_view text, std::set<std::string, std::less<>>* out) {
    std::size_t i = 0;
    while (i < text.size()) {
        const std::size_t j = std::min(text.find(' ', i), text.size());
        if (j > i) out->emplace(text.substr(i, j - i));
        i = j + 1;
    }
}

bool valid_subject(std::string_view s) {
    if (s.empty() || s.size() > kMaxSubjectBytes) return false;
    return std::none_of(s.begin(), s.end(),
                        [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

std::optional<Sha256Digest> parse_hex_digest(std::string_view hex) {
    if (hex.size() != 64) return std::nullopt;
    Sha256Digest d{};
    for (std::size_t i = 0; i < 32; ++i) {
        unsigned v = 0;
        auto [p, ec] = std::from_chars(hex.data() + 2 * i, hex.data() + 2 * i + 2, v, 16);
        if (ec != std::errc() || p != hex.data() + 2 * i + 2) return std::nullopt;
        d[i] = static_cast<uint8_t>(v);
    }
    return d;
}

struct DigestHash {
    std::size_t operator()(const Sha256Digest& d) const {
        std::size_t h;
        std::memcpy(&h, d.data(), sizeof h);  // a SHA-256 is uniform already
        return h;
    }
};

Principal finish_principal(Principal p) {
    std::sort(p.accounts.begin(), p.accounts.end());
    p.accounts.erase(std::unique(p.accounts.begin(), p.accounts.end()), p.accounts.end());
    p.all_accounts = p.operator_scope();
    return p;
}

enum class Selection { Found, NoMatch, Ambiguous, KidRequired, AlgMismatch };

// Picks the key for a token (see authenticator.hpp, "Key selection").
Selection select_key(const KeyList& keys, Alg alg, const std::optional<std::string>& kid,
                     std::shared_ptr<const VerificationKey>* out) {
    std::size_t found = 0;
    bool kid_known = false;
    for (const auto& k : keys) {
        if (kid) {
            if (k->kid() != kid) continue;
            kid_known = true;
        }
        if (!k->admits(alg)) continue;
        if (found++ == 0) *out = k;
    }
    if (found == 1) return Selection::Found;
    if (found > 1) return kid ? Selection::Ambiguous : Selection::KidRequired;
    return kid_known ? Selection::AlgMismatch : Selection::NoMatch;
}

Rejection selection_rejection(Selection s) {
    switch (s) {
        case Selection::Ambiguous:
            return invalid("kid_ambiguous");
        case Selection::KidRequired:
            return invalid("kid_required");
        case Selection::AlgMismatch:
            return invalid("key_alg_mismatch");
        case Selection::Found:
        case Selection::NoMatch:
            break;
    }
    return invalid("kid_unknown");
}

}  // namespace

struct Authenticator::Impl {
    struct ApiKeyEntry {
        Sha256Digest digest;
        Principal principal;
    };
    struct CachedToken {
        std::shared_ptr<const Principal> principal;
        int64_t valid_until = 0;  // exp + leeway, Unix seconds
    };
    struct KeySnapshot {
        std::shared_ptr<const KeyList> keys;  // null: never loaded
        bool fresh = false;
        bool last_failed = false;
        uint64_t generation = 0;
    };
    enum class FetchOutcome { Fetched, Failed, RateLimited, Busy, OtherThreadFetched };

    AuthConfig cfg;
    std::shared_ptr<Clock> clock;
    std::unique_ptr<JwksFetcher> fetcher;
    std::vector<ApiKeyEntry> api_keys;

    mutable std::mutex state_mu;  // guards the key state below
    std::shared_ptr<const KeyList> keys;
    SteadyClock::time_point fetched_at{};
    SteadyClock::time_point last_attempt{};
    bool attempted = false;
    bool last_failed = false;
    uint64_t generation = 0;  // bumped by every successful fetch
    std::mutex fetch_mu;      // one fetch at a time; never taken while holding state_mu

    mutable std::shared_mutex cache_mu;
    std::unordered_map<Sha256Digest, CachedToken, DigestHash> cache;
    std::deque<Sha256Digest> cache_order;  // insertion order, for eviction

    std::atomic<uint64_t> fetches{0}, fetch_failures{0}, cache_hits{0};

    void validate_and_prepare();
    AuthResult verify_api_key(std::string_view presented) const;
    AuthResult verify_jwt(std::string_view token);
    std::variant<Principal, Rejection> check_claims(const json::Value& claims) const;
    std::variant<std::shared_ptr<const VerificationKey>, Rejection> lookup_key(
        Alg alg, const std::optional<std::string>& kid);
    KeySnapshot snapshot() const;
    FetchOutcome fetch_keys(uint64_t seen_generation, bool wait, bool force);
    std::optional<CachedToken> cache_find(const Sha256Digest& d) const;
    void cache_put(const Sha256Digest& d, const Principal& p, int64_t valid_until);
    void cache_clear();
};

void Authenticator::Impl::validate_and_prepare() {
    auto bad = [](const std::string& what) { throw std::invalid_argument(what); };
    const bool jwt = !cfg.jwks_url.empty() || cfg.hs256_secret.has_value();
    if (!jwt && cfg.api_keys.empty())
        bad("auth.enabled: no credential source (set jwks_url, hs256_secret or api_keys)");
    if (jwt && cfg.issuer.empty()) bad("auth.issuer: required when JWTs are accepted");
    if (jwt && cfg.audience.empty()) bad("auth.audience: required when JWTs are accepted");
    if (cfg.hs256_secret && cfg.hs256_secret->size() < kMinHmacSecretBytes)
        bad("auth.hs256_secret: must be at least " + std::to_string(kMinHmacSecretBytes) +
            " bytes");
    if (cfg.leeway.count() < 0) bad("auth.leeway: must not be negative");
    if (cfg.jwks_ttl.count() <= 0) bad("auth.jwks_ttl: must be positive");
    if (cfg.jwks_min_refetch_interval.count() < 0)
        bad("auth.jwks_min_refetch_interval: must not be negative");
    if (cfg.jwks_timeout.count() <= 0) bad("auth.jwks_timeout: must be positive");
    if (cfg.accounts_claim.empty()) bad("auth.accounts_claim: must not be empty");
    for (std::size_t i = 0; i < cfg.api_keys.size(); ++i) {
        const ApiKey& k = cfg.api_keys[i];
        const std::string where = "auth.api_keys[" + std::to_string(i) + "]";
        auto digest = parse_hex_digest(k.sha256_hex);
        if (!digest) bad(where + ".sha256_hex: must be 64 hex digits (SHA-256 of the key)");
        if (!valid_subject(k.subject)) bad(where + ".subject: required, printable, <= 256 bytes");
        for (const auto& other : api_keys) {
            if (other.digest == *digest) bad(where + ".sha256_hex: configured twice");
        }
        Principal p;
        p.subject = k.subject;
        p.method = AuthMethod::ApiKey;
        p.accounts = k.accounts;
        for (const auto& s : k.scopes) p.scopes.insert(s);
        api_keys.push_back({*digest, finish_principal(std::move(p))});
    }
    if (!fetcher && !cfg.jwks_url.empty())
        fetcher =
            std::make_unique<HttpJwksFetcher>(cfg.jwks_url, cfg.jwks_timeout, cfg.jwks_ca_file);
}

AuthResult Authenticator::Impl::verify_api_key(std::string_view presented) const {
    if (presented.size() > kMaxApiKeyBytes) return fail(invalid("api_key_malformed"));
    const Sha256Digest d = sha256(presented);
    const ApiKeyEntry* match = nullptr;
    // Every entry is compared, whichever matches, so timing does not say which one did.
    for (const auto& e : api_keys) {
        const bool eq = constant_time_equal(e.digest.data(), d.data(), d.size());
        if (eq && !match) match = &e;
    }
    if (!match) return fail(invalid("api_key_unknown"));
    return succeed(match->principal);
}

std::variant<Principal, Rejection> Authenticator::Impl::check_claims(
    const json::Value& claims) const {
    const int64_t now = unix_seconds(clock->wall_now());
    const int64_t leeway = cfg.leeway.count();
    Principal p;
    p.method = AuthMethod::Jwt;

    const json::Value* exp = claims.find("exp");
    if (!exp) return invalid("exp_missing");
    const auto exp_s = numeric_date(*exp);
    if (!exp_s) return invalid("claim_invalid:exp");
    if (now >= *exp_s + leeway) return invalid("token_expired");
    if (const json::Value* nbf = claims.find("nbf")) {
        const auto nbf_s = numeric_date(*nbf);
        if (!nbf_s) return invalid("claim_invalid:nbf");
        if (now + leeway < *nbf_s) return invalid("token_not_yet_valid");
    }
    if (const json::Value* iat = claims.find("iat")) {
        const auto iat_s = numeric_date(*iat);
        if (!iat_s) return invalid("claim_invalid:iat");
        if (*iat_s > now + leeway) return invalid("token_issued_in_future");
    }
    p.expires_at = from_unix_seconds(*exp_s);

    const json::Value* iss = claims.find("iss");
    if (!iss || !iss->is_string() || iss->text() != cfg.issuer) return invalid("issuer_mismatch");

    const json::Value* aud = claims.find("aud");
    if (!aud) return invalid("audience_mismatch");
    bool aud_ok = false;
    if (aud->is_string()) {
        aud_ok = aud->text() == cfg.audience;
    } else if (aud->is_array()) {
        for (const auto& a : aud->items()) {
            if (!a.is_string()) return invalid("claim_invalid:aud");
            aud_ok = aud_ok || a.text() == cfg.audience;
        }
    } else {
        return invalid("claim_invalid:aud");
    }
    if (!aud_ok) return invalid("audience_mismatch");

    const json::Value* sub = claims.find("sub");
    if (!sub || !sub->is_string() || !valid_subject(sub->text())) return invalid("subject_invalid");
    p.subject = sub->text();

    if (const json::Value* scope = claims.find("scope")) {
        if (!scope->is_string()) return invalid("claim_invalid:scope");
        add_words(scope->text(), &p.scopes);
    }
    if (const json::Value* scp = claims.find("scp")) {
        if (scp->is_string()) {
            add_words(scp->text(), &p.scopes);
        } else if (scp->is_array()) {
            for (const auto& s : scp->items()) {
                if (!s.is_string()) return invalid("claim_invalid:scp");
                if (!s.text().empty()) p.scopes.insert(s.text());
            }
        } else {
            return invalid("claim_invalid:scp");
        }
    }
    if (const json::Value* accounts = claims.find(cfg.accounts_claim)) {
        if (!accounts->is_array()) return invalid("claim_invalid:accounts");
        for (const auto& a : accounts->items()) {
            if (!a.is_string()) return invalid("claim_invalid:accounts");
            p.accounts.push_back(a.text());
        }
    }
    return finish_principal(std::move(p));
}

AuthResult Authenticator::Impl::verify_jwt(std::string_view token) {
    if (token.empty()) return fail(invalid("token_empty"));
    if (token.size() > kMaxTokenBytes) return fail(invalid("token_too_large"));

    const Sha256Digest digest = sha256(token);
    if (cfg.verified_token_cache_size > 0) {
        if (auto hit = cache_find(digest)) {
            if (unix_seconds(clock->wall_now()) >= hit->valid_until)
                return fail(invalid("token_expired"));
            cache_hits.fetch_add(1, std::memory_order_relaxed);
            return succeed(*hit->principal);
        }
    }

    const std::size_t dot1 = token.find('.');
    const std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
        return fail(invalid("token_segments"));
    const auto header_bytes = base64url_decode(token.substr(0, dot1));
    const auto payload_bytes = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
    const auto signature = base64url_decode(token.substr(dot2 + 1));
    if (!header_bytes || !payload_bytes || !signature) return fail(invalid("token_base64"));
    const std::string_view signing_input = token.substr(0, dot2);

    json::Value header;
    std::string why;  // names token content: never logged or returned
    if (!json::parse(*header_bytes, &header, &why) || !header.is_object())
        return fail(invalid("header_json"));
    const json::Value* alg_v = header.find("alg");
    if (!alg_v || !alg_v->is_string()) return fail(invalid("header_alg"));
    if (iequals(alg_v->text(), "none")) return fail(invalid("alg_none"));
    const std::optional<Alg> alg = parse_alg(alg_v->text());
    if (!alg) return fail(invalid("alg_unsupported"));
    if (is_hmac(*alg) && (*alg != Alg::HS256 || !cfg.hs256_secret))
        return fail(invalid("alg_hmac_not_allowed"));
    if (!is_hmac(*alg) && !fetcher) return fail(invalid("jwks_not_configured"));
    std::optional<std::string> kid;
    if (const json::Value* k = header.find("kid")) {
        if (!k->is_string() || k->text().size() > kMaxKidBytes) return fail(invalid("header_kid"));
        kid = k->text();
    }
    if (const json::Value* typ = header.find("typ")) {
        if (!typ->is_string() || !(iequals(typ->text(), "JWT") || iequals(typ->text(), "at+jwt") ||
                                   iequals(typ->text(), "application/at+jwt")))
            return fail(invalid("header_typ"));
    }
    if (header.find("crit")) return fail(invalid("header_crit"));

    json::Value claims;
    if (!json::parse(*payload_bytes, &claims, &why) || !claims.is_object())
        return fail(invalid("payload_json"));
    auto checked = check_claims(claims);
    if (auto* r = std::get_if<Rejection>(&checked)) return fail(std::move(*r));
    Principal& principal = std::get<Principal>(checked);

    if (is_hmac(*alg)) {
        if (!hmac_sha256_verify(*cfg.hs256_secret, signing_input, *signature))
            return fail(invalid("signature_invalid"));
    } else {
        auto key = lookup_key(*alg, kid);
        if (auto* r = std::get_if<Rejection>(&key)) return fail(std::move(*r));
        if (!std::get<std::shared_ptr<const VerificationKey>>(key)->verify(*alg, signing_input,
                                                                           *signature))
            return fail(invalid("signature_invalid"));
    }
    if (cfg.verified_token_cache_size > 0)
        cache_put(digest, principal, unix_seconds(principal.expires_at) + cfg.leeway.count());
    return succeed(std::move(principal));
}

Authenticator::Impl::KeySnapshot Authenticator::Impl::snapshot() const {
    std::lock_guard lock(state_mu);
    KeySnapshot s;
    s.keys = keys;
    s.fresh = keys && clock->steady_now() - fetched_at < cfg.jwks_ttl;
    s.last_failed = last_failed;
    s.generation = generation;
    return s;
}

std::variant<std::shared_ptr<const VerificationKey>, Rejection> Authenticator::Impl::lookup_key(
    Alg alg, const std::optional<std::string>& kid) {
    std::shared_ptr<const VerificationKey> key;
    const KeySnapshot before = snapshot();
    if (before.keys) {
        const Selection s = select_key(*before.keys, alg, kid, &key);
        if (s == Selection::Found) {
            if (before.fresh) return key;
            // Stale: refresh unless another request already is; meanwhile the stale key serves.
            if (fetch_keys(before.generation, false, false) != FetchOutcome::Fetched) return key;
            const KeySnapshot after = snapshot();
            const Selection s2 = select_key(*after.keys, alg, kid, &key);
            if (s2 == Selection::Found) return key;
            return selection_rejection(s2);
        }
        if (s != Selection::NoMatch) return selection_rejection(s);
    }
    // No key for this token: one fetch, unless one ran within jwks_min_refetch_interval.
    fetch_keys(before.generation, true, false);
    const KeySnapshot after = snapshot();
    if (after.keys && after.generation != before.generation) {
        const Selection s = select_key(*after.keys, alg, kid, &key);
        if (s == Selection::Found) return key;
        return selection_rejection(s);
    }
    if (!after.keys || after.last_failed)
        return Rejection{Failure::Unavailable, "jwks_unavailable"};
    return invalid("kid_unknown");
}

Authenticator::Impl::FetchOutcome Authenticator::Impl::fetch_keys(uint64_t seen_generation,
                                                                  bool wait, bool force) {
    std::unique_lock fetch_lock(fetch_mu, std::defer_lock);
    if (wait) {
        fetch_lock.lock();
    } else if (!fetch_lock.try_lock()) {
        return FetchOutcome::Busy;
    }
    const auto now = clock->steady_now();
    std::size_t held = 0;
    {
        std::lock_guard lock(state_mu);
        if (!force && generation != seen_generation) return FetchOutcome::OtherThreadFetched;
        if (!force && attempted && now - last_attempt < cfg.jwks_min_refetch_interval)
            return FetchOutcome::RateLimited;
        attempted = true;
        last_attempt = now;
        held = keys ? keys->size() : 0;
    }
    fetches.fetch_add(1, std::memory_order_relaxed);
    ParsedJwks parsed;
    std::string error;
    try {
        parsed = parse_jwks(fetcher->fetch());
        if (parsed.keys.empty()) error = "JWKS holds no usable key";
    } catch (const JwksFetchError& e) {
        error = e.what();
    } catch (const std::invalid_argument& e) {
        error = e.what();
    }
    for (const auto& s : parsed.skipped) spdlog::info("event=auth jwks_key=skipped why=\"{}\"", s);
    if (!error.empty()) {
        fetch_failures.fetch_add(1, std::memory_order_relaxed);
        {
            std::lock_guard lock(state_mu);
            last_failed = true;
        }
        spdlog::warn("event=auth jwks_fetch=failed cached_keys={} error=\"{}\"", held, error);
        return FetchOutcome::Failed;
    }
    auto fresh = std::make_shared<const KeyList>(std::move(parsed.keys));
    bool dropped = false;
    {
        std::lock_guard lock(state_mu);
        if (keys) {
            for (const auto& old : *keys) {
                const bool kept = std::any_of(fresh->begin(), fresh->end(), [&](const auto& k) {
                    return k->kid() == old->kid() && k->same_material(*old);
                });
                dropped = dropped || !kept;
            }
        }
        keys = fresh;
        fetched_at = now;
        last_failed = false;
        ++generation;
    }
    if (dropped) cache_clear();  // tokens verified by a withdrawn key must be verified again
    spdlog::info("event=auth jwks_fetch=ok keys={} skipped={} dropped_keys={}", fresh->size(),
                 parsed.skipped.size(), dropped);
    return FetchOutcome::Fetched;
}

std::optional<Authenticator::Impl::CachedToken> Authenticator::Impl::cache_find(
    const Sha256Digest& d) const {
    std::shared_lock lock(cache_mu);
    auto it = cache.find(d);
    if (it == cache.end()) return std::nullopt;
    return it->second;
}

void Authenticator::Impl::cache_put(const Sha256Digest& d, const Principal& p,
                                    int64_t valid_until) {
    auto entry = CachedToken{std::make_shared<const Principal>(p), valid_until};
    std::unique_lock lock(cache_mu);
    if (cache.contains(d)) return;
    while (cache.size() >= cfg.verified_token_cache_size && !cache_order.empty()) {
        cache.erase(cache_order.front());
        cache_order.pop_front();
    }
    cache.emplace(d, std::move(entry));
    cache_order.push_back(d);
}

void Authenticator::Impl::cache_clear() {
    std::unique_lock lock(cache_mu);
    cache.clear();
    cache_order.clear();
}

Authenticator::Authenticator(AuthConfig cfg, std::shared_ptr<Clock> clock,
                             std::unique_ptr<JwksFetcher> fetcher)
    : impl_(std::make_unique<Impl>()) {
    impl_->cfg = std::move(cfg);
    impl_->clock = clock ? std::move(clock) : system_clock();
    impl_->fetcher = std::move(fetcher);
    if (!impl_->cfg.enabled) {
        spdlog::warn(
            "auth enabled=false: every caller acts as the operator (all accounts, "
            "every scope)");
        return;
    }
    impl_->validate_and_prepare();
    spdlog::info("event=auth enabled=true jwks={} hs256={} api_keys={} leeway_s={} jwks_ttl_s={}",
                 impl_->fetcher ? "on" : "off", impl_->cfg.hs256_secret ? "on" : "off",
                 impl_->api_keys.size(), impl_->cfg.leeway.count(), impl_->cfg.jwks_ttl.count());
}

Authenticator::~Authenticator() = default;

AuthResult Authenticator::authenticate(std::string_view authorization_header,
                                       std::string_view api_key_header) {
    if (!impl_->cfg.enabled) return succeed(operator_principal());
    try {
        if (authorization_header.empty() && api_key_header.empty())
            return fail({Failure::MissingCredentials, "credentials_missing"});
        if (!authorization_header.empty() && !api_key_header.empty())
            return fail(invalid("credentials_ambiguous"));
        if (!api_key_header.empty()) return impl_->verify_api_key(api_key_header);
        const std::string_view header = trim(authorization_header);
        const std::size_t space = header.find_first_of(" \t");
        if (!iequals(header.substr(0, space), "Bearer"))
            return fail(invalid("authorization_scheme"));
        if (space == std::string_view::npos) return fail(invalid("token_empty"));
        return impl_->verify_jwt(trim(header.substr(space)));
    } catch (const std::exception& e) {
        spdlog::error("event=auth internal_error=\"{}\"", e.what());
        return fail({Failure::Unavailable, "auth_internal"});
    }
}

AuthResult Authenticator::authenticate_token(std::string_view token) {
    if (!impl_->cfg.enabled) return succeed(operator_principal());
    try {
        return impl_->verify_jwt(token);
    } catch (const std::exception& e) {
        spdlog::error("event=auth internal_error=\"{}\"", e.what());
        return fail({Failure::Unavailable, "auth_internal"});
    }
}

bool Authenticator::refresh_keys() {
    if (!impl_->fetcher) return false;
    return impl_->fetch_keys(0, true, true) == Impl::FetchOutcome::Fetched;
}

std::string www_authenticate(Failure failure) {
    if (failure == Failure::MissingCredentials) return "Bearer realm=\"ordergate\"";
    return "Bearer realm=\"ordergate\", error=\"invalid_token\"";
}

std::string www_authenticate_insufficient_scope(std::string_view scope) {
    return "Bearer realm=\"ordergate\", error=\"insufficient_scope\", scope=\"" +
           std::string(scope) + "\"";
}

Principal Authenticator::operator_principal() {
    Principal p;
    p.subject = "operator";
    p.method = AuthMethod::Disabled;
    p.all_accounts = true;
    p.scopes = {std::string(kScopeOrdersRead), std::string(kScopeOrdersWrite),
                std::string(kScopeOperator)};
    return p;
}

bool Authenticator::enabled() const { return impl_->cfg.enabled; }

Authenticator::Stats Authenticator::stats() const {
    Stats s;
    s.jwks_fetches = impl_->fetches.load(std::memory_order_relaxed);
    s.jwks_fetch_failures = impl_->fetch_failures.load(std::memory_order_relaxed);
    s.token_cache_hits = impl_->cache_hits.load(std::memory_order_relaxed);
    {
        std::lock_guard lock(impl_->state_mu);
        s.jwks_keys = impl_->keys ? impl_->keys->size() : 0;
    }
    {
        std::shared_lock lock(impl_->cache_mu);
        s.cached_tokens = impl_->cache.size();
    }
    return s;
}

}  // namespace ordergate::auth
