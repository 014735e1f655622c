// Token verification: algorithms, claims, malformed input, principals.
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "auth/crypto.hpp"
#include "test_env.hpp"

namespace ordergate::auth::test {
namespace {

using F = Failure;

class JwtTest : public AuthTest {};

TEST_F(JwtTest, ValidRs256Accepted) {
    auto r = bearer(ts::mint(keys_.rsa, claims()));
    ASSERT_TRUE(r.ok()) << describe(r);
    EXPECT_EQ(r.principal->subject, "alice");
    EXPECT_EQ(r.principal->method, AuthMethod::Jwt);
    EXPECT_EQ(r.principal->key(), "jwt:alice");
    EXPECT_EQ(r.reason, "");
}

TEST_F(JwtTest, ValidEs256Accepted) { EXPECT_ACCEPTED(bearer(ts::mint(keys_.ec, claims()))); }

TEST_F(JwtTest, ValidPs256Accepted) { EXPECT_ACCEPTED(bearer(ts::mint(keys_.pss, claims()))); }

TEST_F(JwtTest, BearerSchemeIsCaseInsensitiveAndToleratesSpaces) {
    const std::string token = ts::mint(keys_.rsa, claims());
    EXPECT_ACCEPTED(auth().authenticate("bearer " + token, ""));
    EXPECT_ACCEPTED(auth().authenticate("  BEARER   " + token + "  ", ""));
    EXPECT_ACCEPTED(auth().authenticate_token(token));
}

class EveryAlgorithm : public AuthTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(EveryAlgorithm, AcceptedWithItsKeyAndRefusedWhenTampered) {
    const std::string alg = GetParam();
    ts::TestKey key =
        alg[0] == 'E' ? ts::TestKey::ec("k-" + alg, alg) : ts::TestKey::rsa("k-" + alg, alg);
    server_.set_jwks(ts::jwks_json({&key}));
    const std::string token = ts::mint(key, claims());
    EXPECT_ACCEPTED(bearer(token));
    auto forged = claims("mallory");
    EXPECT_REFUSED(bearer(ts::tamper_payload(token, forged.json())), F::InvalidToken,
                   "signature_invalid");
}

INSTANTIATE_TEST_SUITE_P(Jws, EveryAlgorithm,
                         ::testing::Values("RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                                           "ES256", "ES384", "ES512"));

TEST_F(JwtTest, AlgNoneRefusedInAnySpelling) {
    for (const char* alg : {"none", "None", "NONE", "nOnE"})
        EXPECT_REFUSED(bearer(ts::mint_none(claims(), alg)), F::InvalidToken, "alg_none") << alg;
}

TEST_F(JwtTest, AlgNoneRefusedEvenWithSecretConfiguredAndKidOfRealKey) {
    cfg_.hs256_secret = std::string(32, 's');
    ts::Header h;
    h.alg = "none";
    h.kid = keys_.rsa.kid();
    const std::string token = ts::b64url(h.json()) + "." + ts::b64url(claims().json()) + ".";
    EXPECT_REFUSED(bearer(token), F::InvalidToken, "alg_none");
}

TEST_F(JwtTest, Hs256SignedWithRsaPublicKeyRefused) {
    // The classic confusion: the attacker signs HS256 with the (public) PEM as the secret.
    ts::Header h;
    h.alg = "HS256";
    h.kid = keys_.rsa.kid();
    const std::string pem = keys_.rsa.public_pem();
    const std::string token = ts::mint_hs256(pem, h.json(), claims().json());
    EXPECT_REFUSED(bearer(token), F::InvalidToken, "alg_hmac_not_allowed");
    // Also the JWK JSON and the raw modulus as secrets.
    EXPECT_REFUSED(bearer(ts::mint_hs256(keys_.rsa.jwk_json(), h.json(), claims().json())),
                   F::InvalidToken, "alg_hmac_not_allowed");
}

TEST_F(JwtTest, Hs256SignedWithRsaPublicKeyRefusedWhenASecretIsConfigured) {
    cfg_.hs256_secret = "a-configured-secret-of-at-least-32-bytes";
    ts::Header h;
    h.alg = "HS256";
    h.kid = keys_.rsa.kid();
    EXPECT_REFUSED(bearer(ts::mint_hs256(keys_.rsa.public_pem(), h.json(), claims().json())),
                   F::InvalidToken, "signature_invalid");
    EXPECT_EQ(server_.request_count(), 0u) << "HS256 never consults the JWKS";
}

TEST_F(JwtTest, Hs256AcceptedOnlyWithConfiguredSecret) {
    const std::string secret = "0123456789abcdef0123456789abcdef";
    const std::string token = ts::mint_hs256(secret, claims());
    EXPECT_REFUSED(bearer(token), F::InvalidToken, "alg_hmac_not_allowed");
    cfg_.hs256_secret = secret;
    auto with_secret = make();
    EXPECT_ACCEPTED(with_secret->authenticate("Bearer " + token, ""));
    EXPECT_REFUSED(
        with_secret->authenticate(
            "Bearer " + ts::mint_hs256("another-secret-also-32-bytes-long!!", claims()), ""),
        F::InvalidToken, "signature_invalid");
}

TEST_F(JwtTest, Hs384AndHs512RefusedEvenWithSecret) {
    cfg_.hs256_secret = std::string(64, 'k');
    for (const char* alg : {"HS384", "HS512"}) {
        ts::Header h;
        h.alg = alg;
        // Signed with HS256 bytes; the alg check comes first anyway.
        EXPECT_REFUSED(bearer(ts::mint_hs256(*cfg_.hs256_secret, h.json(), claims().json())),
                       F::InvalidToken, "alg_hmac_not_allowed")
            << alg;
    }
}

TEST_F(JwtTest, ShortHs256SecretRejectedAtConstruction) {
    cfg_.hs256_secret = "short";
    EXPECT_THROW(make(), std::invalid_argument);
}

TEST_F(JwtTest, UnknownAlgRefused) {
    ts::Header h;
    h.alg = "EdDSA";
    h.kid = keys_.rsa.kid();
    EXPECT_REFUSED(bearer(ts::mint_raw(keys_.rsa, "RS256", h.json(), claims().json())),
                   F::InvalidToken, "alg_unsupported");
}

TEST_F(JwtTest, AlgorithmComesFromTheKey) {
    // RSA key published with alg RS256: a PS256 token under its kid is refused…
    ts::Header h;
    h.alg = "PS256";
    h.kid = keys_.rsa.kid();
    EXPECT_REFUSED(bearer(ts::mint_raw(keys_.rsa, "PS256", h.json(), claims().json())),
                   F::InvalidToken, "key_alg_mismatch");
    // …and so is an ES256 header on the RSA key's kid, and RS256 on the EC key's kid.
    h.alg = "ES256";
    EXPECT_REFUSED(bearer(ts::mint_raw(keys_.ec, "ES256", h.json(), claims().json())),
                   F::InvalidToken, "key_alg_mismatch");
    h.alg = "RS256";
    h.kid = keys_.ec.kid();
    EXPECT_REFUSED(bearer(ts::mint_raw(keys_.rsa, "RS256", h.json(), claims().json())),
                   F::InvalidToken, "key_alg_mismatch");
}

TEST_F(JwtTest, RsaKeyWithoutAlgAdmitsRsAndPsButNotEs) {
    server_.set_jwks(ts::jwks_json({&keys_.rsa, &keys_.ec}, /*with_alg=*/false));
    ts::Header h;
    h.kid = keys_.rsa.kid();
    for (const char* alg : {"RS256", "PS256", "RS512"}) {
        h.alg = alg;
        EXPECT_ACCEPTED(bearer(ts::mint_raw(keys_.rsa, alg, h.json(), claims().json()))) << alg;
    }
    h.kid = keys_.ec.kid();
    h.alg = "ES384";  // the P-256 key admits ES256 only
    EXPECT_REFUSED(bearer(ts::mint_raw(keys_.ec, "ES256", h.json(), claims().json())),
                   F::InvalidToken, "key_alg_mismatch");
}

TEST_F(JwtTest, KnownKidSignedByAnotherKeyRefused) {
    ts::TestKey impostor = keys_.rsa2.with_kid(keys_.rsa.kid());
    EXPECT_REFUSED(bearer(ts::mint(impostor, claims())), F::InvalidToken, "signature_invalid");
}

TEST_F(JwtTest, TamperedPayloadRefused) {
    auto c = claims();
    c.scope = "orders:read";
    const std::string token = ts::mint(keys_.ec, c);
    c.scope = "orders:read orders:write operator";
    EXPECT_REFUSED(bearer(ts::tamper_payload(token, c.json())), F::InvalidToken,
                   "signature_invalid");
}

TEST_F(JwtTest, TruncatedOrAlteredSignatureRefused) {
    std::string token = ts::mint(keys_.ec, claims());
    const auto dot = token.rfind('.');
    const std::string sig = *base64url_decode(token.substr(dot + 1));
    EXPECT_REFUSED(bearer(token.substr(0, dot + 1) + ts::b64url(sig.substr(0, 63))),
                   F::InvalidToken, "signature_invalid");
    EXPECT_REFUSED(bearer(token.substr(0, dot + 1)), F::InvalidToken, "signature_invalid");
    std::string flipped = token;
    flipped[flipped.size() - 5] = flipped[flipped.size() - 5] == 'A' ? 'B' : 'A';
    EXPECT_REFUSED(bearer(flipped), F::InvalidToken, "signature_invalid");
}

TEST_F(JwtTest, TokenWithoutKidAcceptedOnlyWhenExactlyOneKeyFits) {
    ts::Header h;
    h.alg = "ES256";  // only ec-1 admits ES256
    EXPECT_ACCEPTED(bearer(ts::mint_raw(keys_.ec, "ES256", h.json(), claims().json())));
    h.alg = "RS256";  // rsa-1 only (pss-1 is published with alg PS256)
    EXPECT_ACCEPTED(bearer(ts::mint_raw(keys_.rsa, "RS256", h.json(), claims().json())));
    server_.set_jwks(ts::jwks_json({&keys_.rsa, &keys_.rsa2}));
    clock_->advance(std::chrono::seconds(301));  // past the TTL: the new set is fetched
    auto fresh = make();
    EXPECT_REFUSED(
        fresh->authenticate_token(ts::mint_raw(keys_.rsa, "RS256", h.json(), claims().json())),
        F::InvalidToken, "kid_required");
}

// ---- time claims ----

TEST_F(JwtTest, ExpiredRefused) {
    auto c = claims();
    c.iat = now() - 3600;
    c.exp = now() - 60;
    EXPECT_REFUSED(bearer(ts::mint(keys_.rsa, c)), F::InvalidToken, "token_expired");
}

TEST_F(JwtTest, ExpWithinLeewayAcceptedAndAtLeewayRefused) {
    cfg_.leeway = std::chrono::seconds(30);
    auto c = claims();
    c.iat = now() - 600;
    c.exp = now() - 29;
    EXPECT_ACCEPTED(bearer(ts::mint(keys_.rsa, c)));
    c.exp = now() - 30;
    EXPECT_REFUSED(bearer(ts::mint(keys_.rsa, c)), F::InvalidToken, "token_expired");
}

TEST_F(JwtTest, ZeroLeewayIsExact) {
    cfg_.leeway = std::chrono::seconds(0);
    auto c = claims();
    c.exp = now() + 1;
    EXPECT_ACCEPTED(bearer(ts::mint(keys_.rsa, c)));
    c.exp = now();
    EXPECT_REFUSED(bearer(ts::mint(keys_.rsa, c)), F::InvalidToken, "token_expired");
}

TEST_F(JwtTest, NotYetValidRefusedAndNbfWithinLeewayAccepted) {
    auto c = claims();
    c.nbf = now() + 31;
    EXPECT_REFUSED(bearer(ts::mint(keys_.rsa, c)), F::InvalidToken, "token_not_yet_valid");
    c.nbf = now() + 30;
    EXPECT_ACCEPTED(bearer(ts::mint(keys_.rsa, c)));
}

TEST_F(JwtTest, NotYetValidTokenBecomesValidAsTimePasses) {
    auto c = claims();
    c.nbf = now() + 120;
    c.exp = now() + 600;
    const std::string token = ts::mint(keys_.rsa, c);
    EXPECT_REFUSED(bearer(token), F::InvalidToken, "token_not_yet_valid");
    clock_->advance(std::chrono::seconds(100));
    EXPECT_ACCEPTED(bearer(token));
}

TEST_F(JwtTest, IssuedInTheFutureRefused) {
    auto c = claims();
    c.iat = now() + 300;
    EXPECT_REFUSED(bearer(ts::mint(keys_.rsa, c)), F::InvalidToken, "token_issued_in_future");
}

TEST_F(JwtTest, MissingExpRefused) {
    auto c = claims();
    c.exp.reset();
    EXPECT_REFUSED(bearer(ts::mint(keys_.rsa, c)), F::InvalidToken, "exp_missing");
}

TEST_F(JwtTest, NonNumericExpRefused) {
    auto c = claims();
    c.exp.reset();
    c.raw = {{"exp", "\"2099-01-01\""}};
    EXPECT_REFUSED(bearer(ts::mint(keys_.rsa, c)), F::InvalidToken, "claim_invalid:exp");
}

TEST_F(JwtTest, FractionalNumericDatesAccepted) {
    auto c = claims();
    c.exp.reset();
    c.raw = {{"exp", std::to_string(now() + 60) + ".75"}};
    EXPECT_ACCEPTED(bearer(ts::mint(keys_.rsa, c)));
}

TEST_F(JwtTest, HugeExpDoesNotOverflow) {
    auto c = claims();
    c.exp.reset();
    c.raw = {{"exp", "1e300"}};
    EXPECT_ACCEPTED(bearer(ts::mint(keys_.rsa, c)));
    c.raw = {{"exp", "-1e300"}};
    EXPECT_REFUSED(bearer(ts::mint(keys_.rsa, c)), F::InvalidToken, "token_expired");
    c.raw = {{"exp", "9223372036854775807"}};
    EXPECT_ACCEPTED(bearer(ts::mint(keys_.rsa, c)));
}

// ---- issuer, audience, subject ----

TEST_F(JwtTest, WrongIssuerRefused) {
    auto c = claims();
    c.iss = "https://evil.test";
    EXPECT_REFUSED(bearer(ts::mint(keys_.rsa, c)), F::InvalidToken, "issuer_mismatch");
    c.iss = std::string(kIssuer) + "/";
    EXPECT_REFUSED(bearer(ts::mint(keys_.rsa, c)), F::InvalidToken, "issuer_mismatch");
    c.iss.reset();
    EXPECT_REFUSED(bearer(ts::mint(keys_.rsa, c)), F::InvalidToken, "issuer_mismatch");
}

TEST_F(JwtTest, WrongAudienceRefused) {
    auto c = claims();
    c.aud = "another-service";
    EXPECT_REFUSED(bearer(ts::mint(keys_.rsa, c)), F::InvalidToken, "audience_mismatch");
    c.aud.reset();
    EXPECT_REFUSED(bearer(ts::mint(keys_.rsa, c)), F::InvalidToken, "audience_mismatch");
}

TEST_F(JwtTest, AudienceArrayMustContainAudience) {
    auto c = claims();
    c.aud_list = std::vector<std::string>{"other", kAudience};
    EXPECT_ACCEPTED(bearer(ts::mint(keys_.rsa, c)));
    c.aud_list = std::vector<std::string>{"other", "third"};
    EXPECT_REFUSED(bearer(ts::mint(keys_.rsa, c)), F::InvalidToken, "audience_mismatch");
    c.aud_list = std::vector<std::string>{};
    EXPECT_REFUSED(bearer(ts::mint(keys_.rsa, c)), F::InvalidToken, "audience_mismatch");
    c.aud_list.reset();
    c.aud.reset();
    c.raw = {{"aud", "[\"ordergate\", 7]"}};
    EXPECT_REFUSED(bearer(ts::mint(keys_.rsa, c)), F::InvalidToken, "claim_invalid:aud");
}

TEST_F(JwtTest, SubjectRequired) {
    auto c = claims();
    c.sub.reset();
    EXPECT_REFUSED(bearer(ts::mint(keys_.rsa, c)), F::InvalidToken, "subject_invalid");
    c.sub = "";
    EXPECT_REFUSED(bearer(ts::mint(keys_.rsa, c)), F::InvalidToken, "subject_invalid");
    c.sub = "bob\nlevel=admin";  // would forge a log field
    EXPECT_REFUSED(bearer(ts::mint(keys_.rsa, c)), F::InvalidToken, "subject_invalid");
}

// ---- scopes and accounts ----

TEST_F(JwtTest, ScopesFromScopeStringAndScpArrayAccountsFromClaim) {
    auto c = claims();
    c.scope = "orders:read  orders:write";
    c.scp = std::vector<std::string>{"extra"};
    c.accounts = std::vector<std::string>{"ACC-2", "ACC-1", "ACC-2"};
    auto r = bearer(ts::mint(keys_.rsa, c));
    ASSERT_TRUE(r.ok()) << describe(r);
    const Principal& p = *r.principal;
    EXPECT_EQ(p.scopes,
              (std::set<std::string, std::less<>>{"extra", "orders:read", "orders:write"}));
    EXPECT_TRUE(p.has_scope(kScopeOrdersWrite));
    EXPECT_FALSE(p.operator_scope());
    EXPECT_FALSE(p.all_accounts);
    EXPECT_EQ(p.accounts, (std::vector<std::string>{"ACC-1", "ACC-2"}));
    EXPECT_TRUE(p.can_access("ACC-1"));
    EXPECT_FALSE(p.can_access("ACC-3"));
    EXPECT_FALSE(p.can_access(""));
    EXPECT_EQ(p.expires_at, std::chrono::system_clock::time_point(std::chrono::seconds(*c.exp)));
}

TEST_F(JwtTest, ScpAsStringAccepted) {
    auto c = claims();
    c.raw = {{"scp", "\"orders:read operator\""}};
    auto r = bearer(ts::mint(keys_.rsa, c));
    ASSERT_TRUE(r.ok()) << describe(r);
    EXPECT_TRUE(r.principal->has_scope("orders:read"));
    EXPECT_TRUE(r.principal->operator_scope());
}

TEST_F(JwtTest, OperatorScopeGrantsEveryAccountButNotOtherScopes) {
    auto c = claims();
    c.scope = "operator";
    auto r = bearer(ts::mint(keys_.rsa, c));
    ASSERT_TRUE(r.ok()) << describe(r);
    EXPECT_TRUE(r.principal->all_accounts);
    EXPECT_TRUE(r.principal->can_access("ANY"));
    EXPECT_FALSE(r.principal->has_scope(kScopeOrdersWrite));
}

TEST_F(JwtTest, NoScopesNoAccountsIsAValidButPowerlessPrincipal) {
    auto r = bearer(ts::mint(keys_.rsa, claims()));
    ASSERT_TRUE(r.ok()) << describe(r);
    EXPECT_TRUE(r.principal->scopes.empty());
    EXPECT_TRUE(r.principal->accounts.empty());
    EXPECT_FALSE(r.principal->can_access("ACC-1"));
}

TEST_F(JwtTest, ConfiguredAccountsClaimName) {
    cfg_.accounts_claim = "https://ordergate/accounts";
    auto c = claims();
    c.accounts_claim = cfg_.accounts_claim;
    c.accounts = std::vector<std::string>{"ACC-9"};
    auto r = bearer(ts::mint(keys_.rsa, c));
    ASSERT_TRUE(r.ok()) << describe(r);
    EXPECT_EQ(r.principal->accounts, std::vector<std::string>{"ACC-9"});
}

TEST_F(JwtTest, ClaimsOfTheWrongTypeRefuseTheToken) {
    const std::pair<const char*, const char*> cases[] = {
        {"accounts", "\"ACC-1\""},
        {"accounts", "[\"ACC-1\", 2]"},
        {"scope", "[\"orders:read\"]"},
        {"scp", "{\"a\":1}"},
        {"scp", "[1]"},
        {"nbf", "\"soon\""},
        {"iat", "true"},
    };
    for (const auto& [name, value] : cases) {
        auto c = claims();
        c.iat.reset();  // valid_claims() sets it; the raw member replaces it
        c.raw = {{name, value}};
        EXPECT_REFUSED(bearer(ts::mint(keys_.rsa, c)), F::InvalidToken,
                       std::string("claim_invalid:") + name)
            << name << "=" << value;
    }
}

// ---- malformed tokens ----

TEST_F(JwtTest, MalformedTokensRefused) {
    const std::string good = ts::mint(keys_.rsa, claims());
    const std::size_t dot1 = good.find('.');
    const std::pair<std::string, const char*> cases[] = {
        {"not-a-jwt", "token_segments"},
        {"a.b", "token_segments"},
        {good + ".", "token_segments"},
        {good + ".x", "token_segments"},
        {"...", "token_segments"},
        {"*" + good.substr(1), "token_base64"},
        {good.substr(0, dot1) + "=" + good.substr(dot1), "token_base64"},
        {good.substr(0, dot1) + ".e30!.sig", "token_base64"},
        {good.substr(0, dot1) + ".e30.si+g", "token_base64"},
        {"A" + good.substr(0, dot1 - 1) + "." + good.substr(dot1 + 1), "token_base64"},
        {ts::b64url("not json") + ".e30.", "header_json"},
        {ts::b64url("[\"RS256\"]") + ".e30.", "header_json"},
        {ts::b64url("{\"alg\":\"RS256\",\"alg\":\"none\"}") + ".e30.", "header_json"},
        {ts::b64url("{\"alg\":\"RS256\"} x") + ".e30.", "header_json"},
        {ts::b64url("{\"alg\":\"RS\xff\"}") + ".e30.", "header_json"},
        {ts::b64url("{}") + ".e30.", "header_alg"},
        {ts::b64url("{\"alg\":256}") + ".e30.", "header_alg"},
        {ts::b64url("{\"alg\":\"RS256\",\"kid\":1}") + ".e30.", "header_kid"},
        {ts::b64url("{\"alg\":\"RS256\",\"kid\":\"" + std::string(300, 'k') + "\"}") + ".e30.",
         "header_kid"},
        {ts::b64url("{\"alg\":\"RS256\",\"typ\":\"JWE\"}") + ".e30.", "header_typ"},
        {ts::b64url("{\"alg\":\"RS256\",\"crit\":[\"exp\"]}") + ".e30.", "header_crit"},
        {ts::b64url("{\"alg\":\"RS256\"}") + "." + ts::b64url("nope") + ".", "payload_json"},
        {ts::b64url("{\"alg\":\"RS256\"}") + "." + ts::b64url("[1,2]") + ".", "payload_json"},
        {ts::b64url("{\"alg\":\"RS256\"}") + "." + ts::b64url("{\"exp\":1,\"exp\":2}") + ".",
         "payload_json"},
    };
    for (const auto& [token, reason] : cases)
        EXPECT_REFUSED(bearer(token), F::InvalidToken, reason) << token;
    EXPECT_EQ(server_.request_count(), 0u) << "malformed tokens never reach the JWKS";
}

TEST_F(JwtTest, OversizedTokenRefusedBeforeParsing) {
    const std::string huge(100 * 1024, 'A');
    EXPECT_REFUSED(bearer(huge), F::InvalidToken, "token_too_large");
    const std::string just_over(kMaxTokenBytes + 1, 'A');
    EXPECT_REFUSED(bearer(just_over), F::InvalidToken, "token_too_large");
    // A valid token padded with a big claim beyond 8 KB is refused too.
    auto c = claims();
    c.raw = {{"pad", "\"" + std::string(9000, 'p') + "\""}};
    EXPECT_REFUSED(bearer(ts::mint(keys_.rsa, c)), F::InvalidToken, "token_too_large");
}

TEST_F(JwtTest, DeeplyNestedClaimsRefusedWithoutCrashing) {
    auto c = claims();
    c.raw = {{"deep", std::string(2000, '[') + std::string(2000, ']')}};
    EXPECT_REFUSED(bearer(ts::mint(keys_.rsa, c)), F::InvalidToken, "payload_json");
}

// ---- headers and credentials ----

TEST_F(JwtTest, NoCredentialsIsMissingNotInvalid) {
    EXPECT_REFUSED(auth().authenticate("", ""), F::MissingCredentials, "credentials_missing");
}

TEST_F(JwtTest, OtherSchemesAndEmptyBearerRefused) {
    EXPECT_REFUSED(auth().authenticate("Basic dXNlcjpwYXNz", ""), F::InvalidToken,
                   "authorization_scheme");
    EXPECT_REFUSED(auth().authenticate("Bearer", ""), F::InvalidToken, "token_empty");
    EXPECT_REFUSED(auth().authenticate("Bearer    ", ""), F::InvalidToken, "token_empty");
    EXPECT_REFUSED(auth().authenticate(ts::mint(keys_.rsa, claims()), ""), F::InvalidToken,
                   "authorization_scheme");
    EXPECT_REFUSED(auth().authenticate_token(""), F::InvalidToken, "token_empty");
}

TEST_F(JwtTest, ReasonNeverContainsTokenContent) {
    auto c = claims("secret-subject-name");
    c.iss = "https://evil.test/secret-issuer";
    const std::string token = ts::mint(keys_.rsa, c);
    auto r = bearer(token);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.reason.find("secret"), std::string::npos);
    EXPECT_EQ(r.reason.find("evil"), std::string::npos);
}

TEST_F(JwtTest, AuthDisabledYieldsTheOperator) {
    cfg_.enabled = false;
    auto off = make();
    for (const char* header : {"", "Bearer garbage"}) {
        auto r = off->authenticate(header, "");
        ASSERT_TRUE(r.ok());
        EXPECT_EQ(r.principal->subject, "operator");
        EXPECT_EQ(r.principal->method, AuthMethod::Disabled);
        EXPECT_TRUE(r.principal->all_accounts);
        EXPECT_TRUE(r.principal->has_scope(kScopeOrdersRead));
        EXPECT_TRUE(r.principal->has_scope(kScopeOrdersWrite));
        EXPECT_TRUE(r.principal->operator_scope());
        EXPECT_EQ(r.principal->key(), "operator");
    }
    EXPECT_FALSE(off->enabled());
    EXPECT_EQ(server_.request_count(), 0u);
}

TEST_F(JwtTest, ConfigurationErrorsNameTheKey) {
    auto expect_throw = [&](AuthConfig cfg, const std::string& key) {
        try {
            Authenticator a(cfg, clock_);
            ADD_FAILURE() << "no exception for " << key;
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
        }
    };
    AuthConfig c = cfg_;
    c.issuer = "";
    expect_throw(c, "auth.issuer");
    c = cfg_;
    c.audience = "";
    expect_throw(c, "auth.audience");
    c = cfg_;
    c.jwks_url = "ftp://example.test/jwks";
    expect_throw(c, "auth.jwks_url");
    c = cfg_;
    c.jwks_url = "";
    expect_throw(c, "auth.enabled");
    c = cfg_;
    c.jwks_ttl = std::chrono::seconds(0);
    expect_throw(c, "auth.jwks_ttl");
}

// ---- verified-token cache ----

TEST_F(JwtTest, RepeatedTokenServedFromCacheUntilItExpires) {
    auto c = claims();
    c.exp = now() + 60;
    const std::string token = ts::mint(keys_.rsa, c);
    EXPECT_ACCEPTED(bearer(token));
    EXPECT_ACCEPTED(bearer(token));
    EXPECT_ACCEPTED(bearer(token));
    EXPECT_EQ(auth().stats().token_cache_hits, 2u);
    EXPECT_EQ(auth().stats().cached_tokens, 1u);
    clock_->advance(std::chrono::seconds(60 + 30));  // exp + leeway
    EXPECT_REFUSED(bearer(token), F::InvalidToken, "token_expired");
}

TEST_F(JwtTest, CacheIsBounded) {
    cfg_.verified_token_cache_size = 4;
    for (int i = 0; i < 10; ++i)
        EXPECT_ACCEPTED(bearer(ts::mint(keys_.ec, claims("user" + std::to_string(i)))));
    EXPECT_EQ(auth().stats().cached_tokens, 4u);
}

TEST_F(JwtTest, CacheDisabledStillVerifies) {
    cfg_.verified_token_cache_size = 0;
    const std::string token = ts::mint(keys_.rsa, claims());
    EXPECT_ACCEPTED(bearer(token));
    EXPECT_ACCEPTED(bearer(token));
    EXPECT_EQ(auth().stats().token_cache_hits, 0u);
    EXPECT_EQ(auth().stats().cached_tokens, 0u);
}

TEST_F(JwtTest, ConcurrentVerificationsWithOneKeyAgree) {
    cfg_.verified_token_cache_size = 0;  // every call verifies a signature
    const std::string rs = ts::mint(keys_.rsa, claims());
    const std::string es = ts::mint(keys_.ec, claims());
    const std::string forged = ts::tamper_payload(rs, claims("mallory").json());
    auth();
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 100; ++i) {
                if (!bearer(i % 2 ? rs : es).ok()) ++wrong;
                if (bearer(forged).ok()) ++wrong;
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(wrong.load(), 0);
}

TEST_F(JwtTest, ConcurrentAuthenticationsAgree) {
    std::vector<std::string> tokens;
    for (int i = 0; i < 8; ++i)
        tokens.push_back(ts::mint(i % 2 ? keys_.rsa : keys_.ec, claims("u" + std::to_string(i))));
    const std::string forged = ts::tamper_payload(tokens[0], claims("mallory").json());
    std::atomic<int> accepted{0}, refused{0};
    auth();  // built before the threads share it
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 200; ++i) {
                const auto& tok = i % 9 == 8 ? forged : tokens[i % 8];
                (bearer(tok).ok() ? accepted : refused)++;
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(refused.load(), 4 * (200 / 9));
    EXPECT_EQ(accepted.load(), 4 * 200 - 4 * (200 / 9));
    EXPECT_EQ(server_.request_count(), 1u);
}

}  // namespace
}  // namespace ordergate::auth::test
