// Static API keys (X-API-Key), stored as SHA-256 hashes.
#include "auth/crypto.hpp"
#include "test_env.hpp"

namespace ordergate::auth::test {
namespace {

using F = Failure;

class ApiKeyTest : public AuthTest {
  protected:
    ApiKeyTest() {
        ApiKey billing;
        billing.sha256_hex = sha256_hex(kBillingKey);
        billing.subject = "billing-svc";
        billing.accounts = {"ACC-7", "ACC-3"};
        billing.scopes = {"orders:read"};
        ApiKey ops;
        // Upper-case hex is accepted too.
        ops.sha256_hex = sha256_hex(kOpsKey);
        for (auto& ch : ops.sha256_hex) ch = static_cast<char>(std::toupper(ch));
        ops.subject = "ops-bot";
        ops.scopes = {"operator", "orders:write"};
        cfg_.api_keys = {billing, ops};
    }
    static constexpr const char* kBillingKey = "ogk_live_5b0f6c1d9e8a4f2b8c7d6e5f4a3b2c1d";
    static constexpr const char* kOpsKey = "ogk_live_0a1b2c3d4e5f60718293a4b5c6d7e8f9";
};

TEST_F(ApiKeyTest, ConfiguredKeyAccepted) {
    auto r = auth().authenticate("", kBillingKey);
    ASSERT_TRUE(r.ok()) << describe(r);
    EXPECT_EQ(r.principal->subject, "billing-svc");
    EXPECT_EQ(r.principal->method, AuthMethod::ApiKey);
    EXPECT_EQ(r.principal->key(), "key:billing-svc");
    EXPECT_EQ(r.principal->accounts, (std::vector<std::string>{"ACC-3", "ACC-7"}));
    EXPECT_TRUE(r.principal->has_scope("orders:read"));
    EXPECT_FALSE(r.principal->has_scope("orders:write"));
    EXPECT_FALSE(r.principal->all_accounts);
    EXPECT_TRUE(r.principal->can_access("ACC-7"));
    EXPECT_FALSE(r.principal->can_access("ACC-8"));
    EXPECT_EQ(server_.request_count(), 0u);
}

TEST_F(ApiKeyTest, OperatorKeyGetsEveryAccount) {
    auto r = auth().authenticate("", kOpsKey);
    ASSERT_TRUE(r.ok()) << describe(r);
    EXPECT_TRUE(r.principal->all_accounts);
    EXPECT_TRUE(r.principal->can_access("ANY"));
}

TEST_F(ApiKeyTest, UnknownKeyRefused) {
    EXPECT_REFUSED(auth().authenticate("", "ogk_live_guess"), F::InvalidToken, "api_key_unknown");
    // Near misses: one character off, the hash itself, a prefix.
    std::string off = kBillingKey;
    off.back() = 'e';
    EXPECT_REFUSED(auth().authenticate("", off), F::InvalidToken, "api_key_unknown");
    EXPECT_REFUSED(auth().authenticate("", sha256_hex(kBillingKey)), F::InvalidToken,
                   "api_key_unknown");
    EXPECT_REFUSED(auth().authenticate("", std::string(kBillingKey).substr(0, 20)), F::InvalidToken,
                   "api_key_unknown");
}

TEST_F(ApiKeyTest, OverlongKeyRefusedUnhashed) {
    EXPECT_REFUSED(auth().authenticate("", std::string(kMaxApiKeyBytes + 1, 'k')), F::InvalidToken,
                   "api_key_malformed");
}

TEST_F(ApiKeyTest, KeyAndBearerTogetherRefused) {
    EXPECT_REFUSED(auth().authenticate("Bearer " + ts::mint(keys_.rsa, claims()), kBillingKey),
                   F::InvalidToken, "credentials_ambiguous");
}

TEST_F(ApiKeyTest, ApiKeysOnlyWithoutJwt) {
    cfg_.jwks_url = "";
    cfg_.issuer = "";
    cfg_.audience = "";
    auto a = make();
    EXPECT_ACCEPTED(a->authenticate("", kBillingKey));
    EXPECT_REFUSED(a->authenticate("Bearer " + ts::mint(keys_.rsa, claims()), ""), F::InvalidToken,
                   "jwks_not_configured");
}

TEST_F(ApiKeyTest, BadConfigurationThrows) {
    auto bad = cfg_;
    bad.api_keys[0].sha256_hex = "abc";
    EXPECT_THROW(Authenticator(bad, clock_), std::invalid_argument);
    bad = cfg_;
    bad.api_keys[0].sha256_hex.back() = 'g';
    EXPECT_THROW(Authenticator(bad, clock_), std::invalid_argument);
    bad = cfg_;
    bad.api_keys[1].sha256_hex = bad.api_keys[0].sha256_hex;
    EXPECT_THROW(Authenticator(bad, clock_), std::invalid_argument);
    bad = cfg_;
    bad.api_keys[0].subject = "";
    EXPECT_THROW(Authenticator(bad, clock_), std::invalid_argument);
}

}  // namespace
}  // namespace ordergate::auth::test

namespace ordergate::auth::test {
namespace {

TEST(WwwAuthenticate, FollowsRfc6750) {
    EXPECT_EQ(www_authenticate(Failure::MissingCredentials), "Bearer realm=\"ordergate\"");
    EXPECT_EQ(www_authenticate(Failure::InvalidToken),
              "Bearer realm=\"ordergate\", error=\"invalid_token\"");
    EXPECT_EQ(www_authenticate_insufficient_scope("orders:write"),
              "Bearer realm=\"ordergate\", error=\"insufficient_scope\", scope=\"orders:write\"");
}

}  // namespace
}  // namespace ordergate::auth::test
