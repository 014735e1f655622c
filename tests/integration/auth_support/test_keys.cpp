#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <stdexcept>

#include "auth/crypto.hpp"
#include "auth_support/auth_testsupport.hpp"
#include "json/json.hpp"

namespace ordergate::auth::testsupport {

namespace {

[[noreturn]] void openssl_fail(const std::string& what) {
    char buf[256] = {};
    ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
    ERR_clear_error();
    throw std::runtime_error("testsupport: " + what + ": " + buf);
}

struct AlgSpec {
    const char* md;
    enum { Pkcs1, Pss, Ecdsa } kind;
    int ec_bytes;
    const char* curve;
};

AlgSpec spec(std::string_view alg) {
    if (alg == "RS256") return {"SHA2-256", AlgSpec::Pkcs1, 0, nullptr};
    if (alg == "RS384") return {"SHA2-384", AlgSpec::Pkcs1, 0, nullptr};
    if (alg == "RS512") return {"SHA2-512", AlgSpec::Pkcs1, 0, nullptr};
    if (alg == "PS256") return {"SHA2-256", AlgSpec::Pss, 0, nullptr};
    if (alg == "PS384") return {"SHA2-384", AlgSpec::Pss, 0, nullptr};
    if (alg == "PS512") return {"SHA2-512", AlgSpec::Pss, 0, nullptr};
    if (alg == "ES256") return {"SHA2-256", AlgSpec::Ecdsa, 32, "P-256"};
    if (alg == "ES384") return {"SHA2-384", AlgSpec::Ecdsa, 48, "P-384"};
    if (alg == "ES512") return {"SHA2-512", AlgSpec::Ecdsa, 66, "P-521"};
    throw std::invalid_argument("testsupport: no signing algorithm " + std::string(alg));
}

std::string bn_bytes(const BIGNUM* bn, int pad) {
    const int n = pad > 0 ? pad : BN_num_bytes(bn);
    std::string out(static_cast<std::size_t>(n), '\0');
    if (BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), n) != n)
        openssl_fail("BN_bn2binpad");
    return out;
}

std::string bn_param(const evp_pkey_st* pkey, const char* name, int pad) {
    BIGNUM* bn = nullptr;
    if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) openssl_fail(name);
    std::string out = bn_bytes(bn, pad);
    BN_free(bn);
    return out;
}

}  // namespace

TestKey::TestKey(std::string kid, std::string alg, evp_pkey_st* pkey)
    : kid_(std::move(kid)), alg_(std::move(alg)), pkey_(pkey) {}

TestKey TestKey::rsa(std::string kid, std::string alg, int bits) {
    if (spec(alg).kind == AlgSpec::Ecdsa) throw std::invalid_argument("testsupport: RSA alg");
    EVP_PKEY* pkey = EVP_RSA_gen(static_cast<unsigned>(bits));
    if (!pkey) openssl_fail("RSA keygen");
    return TestKey(std::move(kid), std::move(alg), pkey);
}

TestKey TestKey::ec(std::string kid, std::string alg) {
    const AlgSpec s = spec(alg);
    if (s.kind != AlgSpec::Ecdsa) throw std::invalid_argument("testsupport: EC alg");
    EVP_PKEY* pkey = EVP_EC_gen(s.curve);
    if (!pkey) openssl_fail("EC keygen");
    return TestKey(std::move(kid), std::move(alg), pkey);
}

TestKey::TestKey(TestKey&& other) noexcept
    : kid_(std::move(other.kid_)), alg_(std::move(other.alg_)), pkey_(other.pkey_) {
    other.pkey_ = nullptr;
}

TestKey& TestKey::operator=(TestKey&& other) noexcept {
    if (this != &other) {
        EVP_PKEY_free(pkey_);
        kid_ = std::move(other.kid_);
        alg_ = std::move(other.alg_);
        pkey_ = other.pkey_;
        other.pkey_ = nullptr;
    }
    return *this;
}

TestKey::~TestKey() { EVP_PKEY_free(pkey_); }

TestKey TestKey::with_kid(std::string kid) const {
    EVP_PKEY_up_ref(pkey_);
    return TestKey(std::move(kid), alg_, pkey_);
}

TestKey TestKey::with_alg(std::string alg) const {
    EVP_PKEY_up_ref(pkey_);
    return TestKey(kid_, std::move(alg), pkey_);
}

std::string TestKey::jwk_json(bool with_alg) const {
    std::string out;
    json::Writer w(&out);
    w.begin_object();
    const AlgSpec s = spec(alg_);
    if (s.kind == AlgSpec::Ecdsa) {
        w.field("kty", "EC").field("crv", s.curve);
        w.field("x", b64url(bn_param(pkey_, OSSL_PKEY_PARAM_EC_PUB_X, s.ec_bytes)));
        w.field("y", b64url(bn_param(pkey_, OSSL_PKEY_PARAM_EC_PUB_Y, s.ec_bytes)));
    } else {
        w.field("kty", "RSA");
        w.field("n", b64url(bn_param(pkey_, OSSL_PKEY_PARAM_RSA_N, 0)));
        w.field("e", b64url(bn_param(pkey_, OSSL_PKEY_PARAM_RSA_E, 0)));
    }
    w.field("kid", kid_).field("use", "sig");
    if (with_alg) w.field("alg", alg_);
    w.end_object();
    return out;
}

std::string TestKey::public_pem() const {
    BIO* bio = BIO_new(BIO_s_mem());
    if (!bio || PEM_write_bio_PUBKEY(bio, pkey_) != 1) openssl_fail("PEM_write_bio_PUBKEY");
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<std::size_t>(len));
    BIO_free(bio);
    return pem;
}

std::string TestKey::sign(std::string_view alg, std::string_view signing_input) const {
    const AlgSpec s = spec(alg);
    EVP_MD* md = EVP_MD_fetch(nullptr, s.md, nullptr);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX* pctx = nullptr;
    if (!md || !ctx || EVP_DigestSignInit(ctx, &pctx, md, nullptr, pkey_) != 1)
        openssl_fail("EVP_DigestSignInit");
    if (s.kind == AlgSpec::Pss &&
        (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
        openssl_fail("PSS parameters");
    const auto* in = reinterpret_cast<const unsigned char*>(signing_input.data());
    std::size_t len = 0;
    if (EVP_DigestSign(ctx, nullptr, &len, in, signing_input.size()) != 1)
        openssl_fail("EVP_DigestSign size");
    std::string sig(len, '\0');
    if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                       signing_input.size()) != 1)
        openssl_fail("EVP_DigestSign");
    sig.resize(len);
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(md);
    if (s.kind != AlgSpec::Ecdsa) return sig;
    // DER ECDSA-Sig-Value → JWS r||s, each padded to the curve size.
    const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    if (!es) openssl_fail("d2i_ECDSA_SIG");
    std::string raw =
        bn_bytes(ECDSA_SIG_get0_r(es), s.ec_bytes) + bn_bytes(ECDSA_SIG_get0_s(es), s.ec_bytes);
    ECDSA_SIG_free(es);
    return raw;
}

std::string jwks_json(const std::vector<const TestKey*>& keys, bool with_alg) {
    std::vector<std::string> jwks;
    for (const TestKey* k : keys) jwks.push_back(k->jwk_json(with_alg));
    return jwks_json_raw(jwks);
}

std::string jwks_json_raw(const std::vector<std::string>& jwk_objects) {
    std::string out;
    json::Writer w(&out);
    w.begin_object().key("keys").begin_array();
    for (const auto& j : jwk_objects) w.raw(j);
    w.end_array().end_object();
    return out;
}

std::string b64url(std::string_view bytes) { return base64url_encode(bytes); }

}  // namespace ordergate::auth::testsupport
