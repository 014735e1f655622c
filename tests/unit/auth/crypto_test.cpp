// base64url, SHA-256 and JWK parsing helpers.
#include "auth/crypto.hpp"

#include <gtest/gtest.h>

#include "auth/jwk.hpp"
#include "auth_support/auth_testsupport.hpp"

namespace ordergate::auth::test {
namespace {

TEST(Base64Url, RoundTripsEveryLength) {
    std::string bytes;
    for (int i = 0; i < 70; ++i) {
        const std::string enc = base64url_encode(bytes);
        EXPECT_EQ(enc.find_first_of("+/="), std::string::npos);
        auto dec = base64url_decode(enc);
        ASSERT_TRUE(dec.has_value()) << i;
        EXPECT_EQ(*dec, bytes);
        bytes.push_back(static_cast<char>(i * 37 + 250));
    }
}

TEST(Base64Url, KnownVectors) {
    EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
    EXPECT_EQ(base64url_encode("{\"alg\":\"none\"}"), "eyJhbGciOiJub25lIn0");
    EXPECT_EQ(base64url_decode("eyJhbGciOiJub25lIn0"),
              std::optional<std::string>("{\"alg\":\"none\"}"));
}

TEST(Base64Url, StrictDecoding) {
    EXPECT_FALSE(base64url_decode("eyJ=").has_value()) << "padding";
    EXPECT_FALSE(base64url_decode("ab+/").has_value()) << "standard alphabet";
    EXPECT_FALSE(base64url_decode("ab c").has_value()) << "whitespace";
    EXPECT_FALSE(base64url_decode("abcde").has_value()) << "length 1 mod 4";
    EXPECT_FALSE(base64url_decode("-_9").has_value()) << "non-zero trailing bits";
    EXPECT_FALSE(base64url_decode("QR").has_value()) << "non-zero trailing bits";
    EXPECT_TRUE(base64url_decode("QQ").has_value());
    EXPECT_EQ(base64url_decode(""), std::optional<std::string>(""));
}

TEST(Sha256, KnownVector) {
    EXPECT_EQ(sha256_hex("abc"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Algorithms, NamesAreCaseSensitiveAndNoneIsNotOne) {
    EXPECT_EQ(parse_alg("RS256"), Alg::RS256);
    EXPECT_EQ(parse_alg("ES512"), Alg::ES512);
    EXPECT_FALSE(parse_alg("rs256").has_value());
    EXPECT_FALSE(parse_alg("none").has_value());
    EXPECT_FALSE(parse_alg("EdDSA").has_value());
    EXPECT_EQ(alg_name(Alg::PS384), "PS384");
    EXPECT_TRUE(is_hmac(Alg::HS256));
    EXPECT_FALSE(is_hmac(Alg::ES256));
}

TEST(Jwks, ParsesKeysAndReportsSkippedOnes) {
    auto rsa = testsupport::TestKey::rsa("r");
    auto ec = testsupport::TestKey::ec("e");
    auto parsed = parse_jwks(testsupport::jwks_json_raw(
        {rsa.jwk_json(), ec.jwk_json(false), R"({"kty":"oct","k":"AAAA","kid":"h"})"}));
    ASSERT_EQ(parsed.keys.size(), 2u);
    ASSERT_EQ(parsed.skipped.size(), 1u);
    EXPECT_NE(parsed.skipped[0].find("kid=h"), std::string::npos) << parsed.skipped[0];
    EXPECT_EQ(parsed.keys[0]->kid(), std::optional<std::string>("r"));
    EXPECT_TRUE(parsed.keys[0]->admits(Alg::RS256));
    EXPECT_FALSE(parsed.keys[0]->admits(Alg::PS256)) << "the JWK says RS256";
    EXPECT_FALSE(parsed.keys[0]->admits(Alg::HS256));
    EXPECT_TRUE(parsed.keys[1]->admits(Alg::ES256));
    EXPECT_FALSE(parsed.keys[1]->admits(Alg::ES384));
    EXPECT_FALSE(parsed.keys[1]->admits(Alg::RS256));
    EXPECT_TRUE(parsed.keys[0]->same_material(*parse_jwks(testsupport::jwks_json({&rsa})).keys[0]));
    EXPECT_FALSE(parsed.keys[0]->same_material(*parsed.keys[1]));
}

TEST(Jwks, PrivateMaterialRefused) {
    auto rsa = testsupport::TestKey::rsa("r");
    std::string jwk = rsa.jwk_json();
    jwk.insert(1, "\"d\":\"AQAB\",");
    auto parsed = parse_jwks(testsupport::jwks_json_raw({jwk}));
    EXPECT_TRUE(parsed.keys.empty());
}

TEST(Jwks, DocumentErrorsThrow) {
    EXPECT_THROW(parse_jwks("nope"), std::invalid_argument);
    EXPECT_THROW(parse_jwks("{\"keys\":1}"), std::invalid_argument);
    EXPECT_THROW(parse_jwks("{\"keys\":[],\"keys\":[]}"), std::invalid_argument);
    std::vector<std::string> many(kMaxJwksKeys + 1, R"({"kty":"oct"})");
    EXPECT_THROW(parse_jwks(testsupport::jwks_json_raw(many)), std::invalid_argument);
}

TEST(Signatures, EcdsaRawSignatureOfWrongLengthRefused) {
    auto ec = testsupport::TestKey::ec("e");
    auto key = parse_jwks(testsupport::jwks_json({&ec})).keys.at(0);
    const std::string sig = ec.sign("ES256", "input");
    ASSERT_EQ(sig.size(), 64u);
    EXPECT_TRUE(key->verify(Alg::ES256, "input", sig));
    EXPECT_FALSE(key->verify(Alg::ES256, "input!", sig));
    EXPECT_FALSE(key->verify(Alg::ES256, "input", sig.substr(0, 63)));
    EXPECT_FALSE(key->verify(Alg::ES256, "input", sig + std::string(1, '\0')));
    EXPECT_FALSE(key->verify(Alg::ES256, "input", std::string(64, '\0'))) << "r = s = 0";
}

TEST(Signatures, HmacComparesWholeMac) {
    const std::string secret(32, 's');
    const std::string token = testsupport::mint_hs256(secret, "{\"alg\":\"HS256\"}", "{}");
    const auto dot = token.rfind('.');
    const std::string mac = *base64url_decode(token.substr(dot + 1));
    EXPECT_TRUE(hmac_sha256_verify(secret, token.substr(0, dot), mac));
    EXPECT_FALSE(hmac_sha256_verify(secret, token.substr(0, dot), mac.substr(0, 16)));
    EXPECT_FALSE(hmac_sha256_verify(secret, token.substr(0, dot), ""));
}

}  // namespace
}  // namespace ordergate::auth::test
