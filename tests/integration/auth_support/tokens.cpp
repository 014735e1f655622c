#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

#include "auth_support/auth_testsupport.hpp"
#include "json/json.hpp"

namespace ordergate::auth::testsupport {

namespace {

void string_array(json::Writer& w, std::string_view name, const std::vector<std::string>& v) {
    w.key(name).begin_array();
    for (const auto& s : v) w.string(s);
    w.end_array();
}

void raw_members(json::Writer& w, const std::vector<std::pair<std::string, std::string>>& raw) {
    for (const auto& [name, value] : raw) w.key(name).raw(value);
}

std::string hs256(std::string_view secret, std::string_view input) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
              reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len))
        throw std::runtime_error("testsupport: HMAC failed");
    return std::string(reinterpret_cast<const char*>(mac), len);
}

}  // namespace

std::string Claims::json() const {
    std::string out;
    json::Writer w(&out);
    w.begin_object();
    if (iss) w.field("iss", *iss);
    if (sub) w.field("sub", *sub);
    if (aud_list) {
        string_array(w, "aud", *aud_list);
    } else if (aud) {
        w.field("aud", *aud);
    }
    if (exp) w.field_int("exp", *exp);
    if (nbf) w.field_int("nbf", *nbf);
    if (iat) w.field_int("iat", *iat);
    if (scope) w.field("scope", *scope);
    if (scp) string_array(w, "scp", *scp);
    if (accounts) string_array(w, accounts_claim, *accounts);
    raw_members(w, raw);
    w.end_object();
    return out;
}

Claims valid_claims(const Clock& clock, std::string issuer, std::string audience,
                    std::string subject, std::chrono::seconds lifetime) {
    const int64_t now =
        std::chrono::floor<std::chrono::seconds>(clock.wall_now().time_since_epoch()).count();
    Claims c;
    c.iss = std::move(issuer);
    c.aud = std::move(audience);
    c.sub = std::move(subject);
    c.iat = now;
    c.exp = now + lifetime.count();
    return c;
}

std::string Header::json() const {
    std::string out;
    json::Writer w(&out);
    w.begin_object();
    if (alg) w.field("alg", *alg);
    if (kid) w.field("kid", *kid);
    if (typ) w.field("typ", *typ);
    raw_members(w, raw);
    w.end_object();
    return out;
}

std::string mint_raw(const TestKey& key, std::string_view sign_alg, std::string_view header_json,
                     std::string_view payload_json) {
    const std::string input = b64url(header_json) + "." + b64url(payload_json);
    return input + "." + b64url(key.sign(sign_alg, input));
}

std::string mint(const TestKey& key, const Claims& claims) {
    Header h;
    h.alg = key.alg();
    h.kid = key.kid();
    return mint_raw(key, key.alg(), h.json(), claims.json());
}

std::string mint_hs256(std::string_view secret, std::string_view header_json,
                       std::string_view payload_json) {
    const std::string input = b64url(header_json) + "." + b64url(payload_json);
    return input + "." + b64url(hs256(secret, input));
}

std::string mint_hs256(std::string_view secret, const Claims& claims) {
    Header h;
    h.alg = "HS256";
    return mint_hs256(secret, h.json(), claims.json());
}

std::string mint_none(const Claims& claims, std::string_view alg_value) {
    Header h;
    h.alg = std::string(alg_value);
    return b64url(h.json()) + "." + b64url(claims.json()) + ".";
}

std::string tamper_payload(std::string_view token, std::string_view payload_json) {
    const std::size_t dot1 = token.find('.');
    const std::size_t dot2 = token.rfind('.');
    if (dot1 == std::string_view::npos || dot2 == dot1)
        throw std::invalid_argument("testsupport: not a compact JWS");
    return std::string(token.substr(0, dot1 + 1)) + b64url(payload_json) +
           std::string(token.substr(dot2));
}

}  // namespace ordergate::auth::testsupport
