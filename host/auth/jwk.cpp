#include "auth/jwk.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <array>
#include <stdexcept>

#include "auth/crypto.hpp"
#include "json/json.hpp"

namespace ordergate::auth {

namespace {

enum class Family { RsaPkcs1, RsaPss, Ecdsa, Hmac };

struct AlgInfo {
    Alg alg;
    std::string_view name;
    Family family;
    int digest;            // 256, 384, 512
    int ec_bytes;          // ECDSA: bytes of r and of s
    const char* ec_group;  // OpenSSL group name
    std::string_view crv;  // JWK "crv"
};

constexpr std::array<AlgInfo, 12> kAlgs{{
    {Alg::RS256, "RS256", Family::RsaPkcs1, 256, 0, nullptr, ""},
    {Alg::RS384, "RS384", Family::RsaPkcs1, 384, 0, nullptr, ""},
    {Alg::RS512, "RS512", Family::RsaPkcs1, 512, 0, nullptr, ""},
    {Alg::PS256, "PS256", Family::RsaPss, 256, 0, nullptr, ""},
    {Alg::PS384, "PS384", Family::RsaPss, 384, 0, nullptr, ""},
    {Alg::PS512, "PS512", Family::RsaPss, 512, 0, nullptr, ""},
    {Alg::ES256, "ES256", Family::Ecdsa, 256, 32, "prime256v1", "P-256"},
    {Alg::ES384, "ES384", Family::Ecdsa, 384, 48, "secp384r1", "P-384"},
    {Alg::ES512, "ES512", Family::Ecdsa, 512, 66, "secp521r1", "P-521"},
    {Alg::HS256, "HS256", Family::Hmac, 256, 0, nullptr, ""},
    {Alg::HS384, "HS384", Family::Hmac, 384, 0, nullptr, ""},
    {Alg::HS512, "HS512", Family::Hmac, 512, 0, nullptr, ""},
}};

constexpr bool table_in_enum_order() {
    for (std::size_t i = 0; i < kAlgs.size(); ++i)
        if (static_cast<std::size_t>(kAlgs[i].alg) != i) return false;
    return true;
}
static_assert(table_in_enum_order());

const AlgInfo& info_of(Alg alg) { return kAlgs[static_cast<std::size_t>(alg)]; }

// A kid as it may appear in a log line: printable ASCII, at most 64 characters.
std::string loggable_kid(const json::Value& jwk) {
    const json::Value* kid = jwk.is_object() ? jwk.find("kid") : nullptr;
    if (!kid || !kid->is_string()) return "(no kid)";
    if (kid->text().size() > 64) return "(long kid)";
    for (char c : kid->text())
        if (c < 0x20 || c > 0x7e) return "(unprintable kid)";
    return "kid=" + kid->text();
}

const EVP_MD* fetch_md(const char* name) {
    EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
    if (!md) throw std::runtime_error(std::string("OpenSSL: digest unavailable: ") + name);
    return md;
}

// Fetched once per process and never freed: an implicit fetch on every verification is a
// measurable part of its cost in OpenSSL 3.
const EVP_MD* digest(int bits) {
    static const EVP_MD* d256 = fetch_md("SHA2-256");
    static const EVP_MD* d384 = fetch_md("SHA2-384");
    static const EVP_MD* d512 = fetch_md("SHA2-512");
    return bits == 256 ? d256 : bits == 384 ? d384 : d512;
}

struct BnFree {
    void operator()(BIGNUM* p) const { BN_free(p); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
struct PkeyCtxFree {
    void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
struct MdCtxFree {
    void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct BldFree {
    void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
};
struct ParamFree {
    void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct SigFree {
    void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};

[[noreturn]] void refuse(const std::string& why) { throw std::invalid_argument(why); }

const json::Value* optional_string(const json::Value& jwk, std::string_view name) {
    const json::Value* v = jwk.find(name);
    if (v && !v->is_string()) refuse(std::string(name) + " is not a string");
    return v;
}

std::string required_b64(const json::Value& jwk, std::string_view name) {
    const json::Value* v = optional_string(jwk, name);
    if (!v) refuse(std::string(name) + " missing");
    auto bytes = base64url_decode(v->text());
    if (!bytes || bytes->empty()) refuse(std::string(name) + " is not base64url");
    return std::move(*bytes);
}

BnPtr to_bn(const std::string& bytes) {
    BnPtr bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                       static_cast<int>(bytes.size()), nullptr));
    if (!bn) throw std::bad_alloc();
    return bn;
}

EVP_PKEY* from_params(const char* type, OSSL_PARAM_BLD* bld) {
    std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
    EVP_PKEY* pkey = nullptr;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
        ERR_clear_error();
        refuse("public key rejected by OpenSSL");
    }
    PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
    if (!check || EVP_PKEY_public_check(check.get()) != 1) {
        ERR_clear_error();
        EVP_PKEY_free(pkey);
        refuse("public key fails OpenSSL's check (point not on curve, bad modulus)");
    }
    return pkey;
}

// r||s (each `n` bytes, big-endian) → DER ECDSA-Sig-Value, which EVP expects.
std::string raw_to_der(std::string_view sig, int n) {
    const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
    std::unique_ptr<ECDSA_SIG, SigFree> es(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(p, n, nullptr);
    BIGNUM* s = BN_bin2bn(p + n, n, nullptr);
    if (!es || !r || !s || ECDSA_SIG_set0(es.get(), r, s) != 1) {
        BN_free(r);
        BN_free(s);
        return {};
    }
    const int len = i2d_ECDSA_SIG(es.get(), nullptr);
    if (len <= 0) return {};
    std::string der(static_cast<std::size_t>(len), '\0');
    auto* out = reinterpret_cast<unsigned char*>(der.data());
    if (i2d_ECDSA_SIG(es.get(), &out) != len) return {};
    return der;
}

}  // namespace

std::optional<Alg> parse_alg(std::string_view name) {
    for (const auto& a : kAlgs)
        if (a.name == name) return a.alg;
    return std::nullopt;
}

std::string_view alg_name(Alg alg) { return info_of(alg).name; }

bool is_hmac(Alg alg) { return info_of(alg).family == Family::Hmac; }

std::shared_ptr<const VerificationKey> VerificationKey::from_jwk(const json::Value& jwk) {
    if (!jwk.is_object()) refuse("not an object");
    const json::Value* kty = optional_string(jwk, "kty");
    if (!kty) refuse("kty missing");
    if (const json::Value* use = optional_string(jwk, "use"); use && use->text() != "sig")
        refuse("use is not sig");
    if (const json::Value* ops = jwk.find("key_ops")) {
        bool verify = false;
        if (!ops->is_array()) refuse("key_ops is not an array");
        for (const auto& op : ops->items()) {
            if (!op.is_string()) refuse("key_ops holds a non-string");
            verify = verify || op.text() == "verify";
        }
        if (!verify) refuse("key_ops lacks verify");
    }
    if (jwk.find("d") || jwk.find("p") || jwk.find("k"))
        refuse("private or symmetric key material published");

    std::shared_ptr<VerificationKey> key(new VerificationKey());
    if (const json::Value* kid = optional_string(jwk, "kid")) key->kid_ = kid->text();
    if (const json::Value* alg = optional_string(jwk, "alg")) {
        key->jwk_alg_ = parse_alg(alg->text());
        if (!key->jwk_alg_ || is_hmac(*key->jwk_alg_)) refuse("alg not accepted");
    }

    std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
    if (!bld) throw std::bad_alloc();
    if (kty->text() == "RSA") {
        key->type_ = Type::Rsa;
        if (key->jwk_alg_ && info_of(*key->jwk_alg_).family == Family::Ecdsa)
            refuse("alg does not fit kty RSA");
        BnPtr n = to_bn(required_b64(jwk, "n"));
        BnPtr e = to_bn(required_b64(jwk, "e"));
        if (!BN_is_odd(e.get()) || BN_num_bits(e.get()) < 2 || BN_num_bits(e.get()) > 64)
            refuse("RSA exponent out of range");
        const int bits = BN_num_bits(n.get());
        if (bits < 2048) refuse("RSA modulus " + std::to_string(bits) + " bits < 2048");
        if (bits > 8192) refuse("RSA modulus " + std::to_string(bits) + " bits > 8192");
        if (OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
            OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1)
            throw std::bad_alloc();
        key->pkey_ = from_params("RSA", bld.get());
    } else if (kty->text() == "EC") {
        key->type_ = Type::Ec;
        const json::Value* crv = optional_string(jwk, "crv");
        if (!crv) refuse("crv missing");
        const AlgInfo* curve = nullptr;
        for (const auto& a : kAlgs)
            if (a.family == Family::Ecdsa && a.crv == crv->text()) curve = &a;
        if (!curve) refuse("crv not supported");
        key->ec_alg_ = curve->alg;
        if (key->jwk_alg_ && *key->jwk_alg_ != curve->alg) refuse("alg does not fit crv");
        const std::string x = required_b64(jwk, "x");
        const std::string y = required_b64(jwk, "y");
        const auto n = static_cast<std::size_t>(curve->ec_bytes);
        if (x.size() != n || y.size() != n) refuse("x or y has the wrong length for crv");
        std::string point = "\x04" + x + y;  // SEC1 uncompressed
        if (OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve->ec_group,
                                            0) != 1 ||
            OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                             point.size()) != 1)
            throw std::bad_alloc();
        key->pkey_ = from_params("EC", bld.get());
    } else {
        refuse("kty not accepted (RSA and EC only)");
    }
    key->templates_.assign(kAlgs.size(), nullptr);
    for (const auto& a : kAlgs)
        if (key->admits(a.alg))
            key->templates_[static_cast<std::size_t>(a.alg)] = key->init_context(a.alg);
    return key;
}

VerificationKey::~VerificationKey() {
    for (EVP_MD_CTX* t : templates_) EVP_MD_CTX_free(t);
    EVP_PKEY_free(pkey_);
}

EVP_MD_CTX* VerificationKey::init_context(Alg alg) const {
    const AlgInfo& info = info_of(alg);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
    bool ok = ctx && EVP_DigestVerifyInit(ctx, &pctx, digest(info.digest), nullptr, pkey_) == 1;
    if (ok && info.family == Family::RsaPkcs1)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
    if (ok && info.family == Family::RsaPss)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, digest(info.digest)) == 1;
    if (!ok) {
        ERR_clear_error();
        EVP_MD_CTX_free(ctx);
        return nullptr;
    }
    return ctx;
}

bool VerificationKey::admits(Alg alg) const {
    const Family f = info_of(alg).family;
    if (f == Family::Hmac) return false;
    if (jwk_alg_ && *jwk_alg_ != alg) return false;
    if (type_ == Type::Ec) return ec_alg_ == alg;
    return f == Family::RsaPkcs1 || f == Family::RsaPss;
}

bool VerificationKey::verify(Alg alg, std::string_view signing_input,
                             std::string_view signature) const {
    if (!admits(alg)) return false;
    const AlgInfo& info = info_of(alg);
    std::string der;
    if (info.family == Family::Ecdsa) {
        if (signature.size() != 2 * static_cast<std::size_t>(info.ec_bytes)) return false;
        der = raw_to_der(signature, info.ec_bytes);
        if (der.empty()) return false;
        signature = der;
    } else if (signature.size() != static_cast<std::size_t>(EVP_PKEY_get_size(pkey_))) {
        return false;
    }
    // Copy the prepared context (the template is never used directly, so concurrent
    // verifications with one key share nothing mutable); build one if there is none.
    const EVP_MD_CTX* tmpl = templates_[static_cast<std::size_t>(alg)];
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx;
    if (tmpl) {
        ctx.reset(EVP_MD_CTX_new());
        if (ctx && EVP_MD_CTX_copy_ex(ctx.get(), tmpl) != 1) ctx.reset();
    } else {
        ctx.reset(init_context(alg));
    }
    bool ok = ctx != nullptr;
    ok = ok && EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                                signature.size(),
                                reinterpret_cast<const unsigned char*>(signing_input.data()),
                                signing_input.size()) == 1;
    ERR_clear_error();
    return ok;
}

bool VerificationKey::same_material(const VerificationKey& other) const {
    const bool same = EVP_PKEY_eq(pkey_, other.pkey_) == 1;
    ERR_clear_error();
    return same;
}

ParsedJwks parse_jwks(std::string_view document) {
    json::Value doc;
    std::string why;
    if (!json::parse(document, &doc, &why)) throw std::invalid_argument("JWKS: " + why);
    if (!doc.is_object()) throw std::invalid_argument("JWKS: not an object");
    const json::Value* keys = doc.find("keys");
    if (!keys || !keys->is_array()) throw std::invalid_argument("JWKS: no \"keys\" array");
    if (keys->items().size() > kMaxJwksKeys)
        throw std::invalid_argument("JWKS: more than " + std::to_string(kMaxJwksKeys) + " keys");
    ParsedJwks out;
    for (std::size_t i = 0; i < keys->items().size(); ++i) {
        try {
            out.keys.push_back(VerificationKey::from_jwk(keys->items()[i]));
        } catch (const std::invalid_argument& e) {
            out.skipped.push_back("key #" + std::to_string(i) + " " +
                                  loggable_kid(keys->items()[i]) + ": " + e.what());
        }
    }
    return out;
}

bool hmac_sha256_verify(std::string_view secret, std::string_view signing_input,
                        std::string_view signature) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!HMAC(digest(256), secret.data(), static_cast<int>(secret.size()),
              reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(),
              mac, &len)) {
        ERR_clear_error();
        return false;
    }
    return signature.size() == len && CRYPTO_memcmp(mac, signature.data(), len) == 0;
}

}  // namespace ordergate::auth
