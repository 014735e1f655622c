// ordergate::auth — JWS algorithms and JWKS verification keys (used by Authenticator; public
// for tests and tools). Keys are immutable after construction and may be shared between threads;
// verify() may run concurrently on one key.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct evp_pkey_st;    // OpenSSL's EVP_PKEY, kept out of this header
struct evp_md_ctx_st;  // EVP_MD_CTX

namespace ordergate::json {
class Value;
}

namespace ordergate::auth {

enum class Alg {
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
    ES512,
    HS256,
    HS384,
    HS512
};

// The JWS name ("RS256", …) → Alg; nullopt for anything else, "none" included. Case-sensitive,
// as RFC 7515 requires.
std::optional<Alg> parse_alg(std::string_view name);
std::string_view alg_name(Alg alg);
bool is_hmac(Alg alg);

class VerificationKey {
  public:
    enum class Type { Rsa, Ec };

    // From one JWK object (RFC 7517/7518). Throws std::invalid_argument with a short reason
    // ("kty oct not accepted", "RSA modulus 1024 bits < 2048", "EC point not on curve", …)
    // when the key must not be used.
    static std::shared_ptr<const VerificationKey> from_jwk(const json::Value& jwk);
    ~VerificationKey();
    VerificationKey(const VerificationKey&) = delete;
    VerificationKey& operator=(const VerificationKey&) = delete;

    const std::optional<std::string>& kid() const { return kid_; }
    Type type() const { return type_; }
    // Whether this key verifies `alg` (see authenticator.hpp: the algorithm comes from the key).
    bool admits(Alg alg) const;
    // Verifies a JWS signature (raw bytes: PKCS#1/PSS octets, or r||s for ECDSA) over
    // `signing_input`. False for a bad signature, a wrong length, or an alg the key does not
    // admit. Never throws.
    bool verify(Alg alg, std::string_view signing_input, std::string_view signature) const;
    // Same public key (type and parameters), whatever the kid or alg.
    bool same_material(const VerificationKey& other) const;

  private:
    VerificationKey() = default;
    std::optional<std::string> kid_;
    Type type_ = Type::Rsa;
    std::optional<Alg> jwk_alg_;  // the JWK's "alg", when it names one
    std::optional<Alg> ec_alg_;   // the one ES* of an EC key's curve
    evp_pkey_st* pkey_ = nullptr;
    // One initialised verification context per admitted alg (indexed by Alg), copied for each
    // verification: EVP_DigestVerifyInit fetches algorithms by name and costs about as much as
    // the RSA verification itself. Written only while the key is built; read-only after.
    std::vector<evp_md_ctx_st*> templates_;
    evp_md_ctx_st* init_context(Alg alg) const;
};

struct ParsedJwks {
    std::vector<std::shared_ptr<const VerificationKey>> keys;
    std::vector<std::string> skipped;  // "key #2: kty oct not accepted", for the log
};

// Parses a JWKS document ({"keys":[…]}). Unusable keys are skipped, not fatal. Throws
// std::invalid_argument when the document is not JSON, has repeated members, or lacks a
// "keys" array; or when it holds more than kMaxJwksKeys keys.
inline constexpr std::size_t kMaxJwksKeys = 100;
ParsedJwks parse_jwks(std::string_view document);

// HMAC-SHA-256 of `signing_input` under `secret`, compared in constant time with `signature`.
bool hmac_sha256_verify(std::string_view secret, std::string_view signing_input,
                        std::string_view signature);

}  // namespace ordergate::auth
