// The JWKS key cache: TTL, rotation, refetch rate limit, JWKS server down.
#include <atomic>
#include <thread>
#include <vector>

#include "test_env.hpp"

namespace ordergate::auth::test {
namespace {

using F = Failure;
using std::chrono::seconds;

class JwksCacheTest : public AuthTest {
  protected:
    JwksCacheTest() {
        cfg_.jwks_ttl = seconds(300);
        cfg_.jwks_min_refetch_interval = seconds(10);
        cfg_.jwks_timeout = std::chrono::milliseconds(1000);
    }
    // A token naming a kid the JWKS does not hold (signed by rsa-2's key).
    std::string unknown_kid_token(int i) {
        return ts::mint(keys_.rsa2.with_kid("ghost-" + std::to_string(i)), claims());
    }
};

TEST_F(JwksCacheTest, OneFetchServesManyTokens) {
    for (int i = 0; i < 20; ++i)
        EXPECT_ACCEPTED(
            bearer(ts::mint(i % 2 ? keys_.rsa : keys_.ec, claims("u" + std::to_string(i)))));
    EXPECT_EQ(server_.request_count(), 1u);
    EXPECT_EQ(auth().stats().jwks_fetches, 1u);
    EXPECT_EQ(auth().stats().jwks_keys, 3u);
}

TEST_F(JwksCacheTest, RefreshKeysFetchesEagerly) {
    EXPECT_TRUE(auth().refresh_keys());
    EXPECT_EQ(server_.request_count(), 1u);
    EXPECT_ACCEPTED(bearer(ts::mint(keys_.rsa, claims())));
    EXPECT_EQ(server_.request_count(), 1u);
    // refresh_keys ignores the refetch interval (operator action, start-up).
    EXPECT_TRUE(auth().refresh_keys());
    EXPECT_EQ(server_.request_count(), 2u);
}

TEST_F(JwksCacheTest, UnknownKidThenRotationAcceptedAfterOneRefetch) {
    EXPECT_ACCEPTED(bearer(ts::mint(keys_.rsa, claims())));
    ASSERT_EQ(server_.request_count(), 1u);
    // The issuer rotates: rsa-2 appears in the JWKS.
    server_.set_jwks(ts::jwks_json({&keys_.rsa, &keys_.ec, &keys_.rsa2}));
    clock_->advance(seconds(11));
    EXPECT_ACCEPTED(bearer(ts::mint(keys_.rsa2, claims())));
    EXPECT_EQ(server_.request_count(), 2u);
    // Both keys now verify without more fetches.
    EXPECT_ACCEPTED(bearer(ts::mint(keys_.rsa2, claims("bob"))));
    EXPECT_ACCEPTED(bearer(ts::mint(keys_.rsa, claims("carol"))));
    EXPECT_EQ(server_.request_count(), 2u);
}

TEST_F(JwksCacheTest, NewKidWithinRefetchIntervalRefusedWithoutFetchThenAccepted) {
    EXPECT_ACCEPTED(bearer(ts::mint(keys_.rsa, claims())));
    server_.set_jwks(ts::jwks_json({&keys_.rsa, &keys_.rsa2}));
    const std::string token = ts::mint(keys_.rsa2, claims());
    EXPECT_REFUSED(bearer(token), F::InvalidToken, "kid_unknown");
    EXPECT_EQ(server_.request_count(), 1u);
    clock_->advance(seconds(10));
    EXPECT_ACCEPTED(bearer(token));
    EXPECT_EQ(server_.request_count(), 2u);
}

TEST_F(JwksCacheTest, UnknownKidFloodFetchesAtMostOncePerInterval) {
    EXPECT_ACCEPTED(bearer(ts::mint(keys_.rsa, claims())));
    ASSERT_EQ(server_.request_count(), 1u);
    clock_->advance(seconds(10));
    for (int i = 0; i < 200; ++i)
        EXPECT_REFUSED(bearer(unknown_kid_token(i)), F::InvalidToken, "kid_unknown");
    EXPECT_EQ(server_.request_count(), 2u) << "one refetch for the whole flood";
    // Every 5 s a burst of unknown kids: a fetch on every second burst (10 s apart), no more.
    for (int round = 0; round < 4; ++round) {
        clock_->advance(seconds(5));
        for (int i = 0; i < 50; ++i) bearer(unknown_kid_token(1000 + i));
        EXPECT_EQ(server_.request_count(), 2u + (round + 1) / 2) << "round " << round;
    }
}

TEST_F(JwksCacheTest, UnknownKidFloodFromManyThreadsFetchesOnce) {
    EXPECT_ACCEPTED(bearer(ts::mint(keys_.rsa, claims())));
    clock_->advance(seconds(10));
    std::vector<std::string> tokens;
    for (int i = 0; i < 100; ++i) tokens.push_back(unknown_kid_token(i));
    std::atomic<int> unknown{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = t; i < 100; i += 4)
                if (bearer(tokens[i]).reason == "kid_unknown") ++unknown;
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(unknown.load(), 100);
    EXPECT_EQ(server_.request_count(), 2u);
}

TEST_F(JwksCacheTest, JwksDownCachedKeysKeepWorking) {
    EXPECT_ACCEPTED(bearer(ts::mint(keys_.rsa, claims())));
    server_.stop();
    clock_->advance(seconds(3600));  // far past the TTL: every request would like a refresh
    for (int i = 0; i < 5; ++i) {
        EXPECT_ACCEPTED(bearer(ts::mint(keys_.ec, claims("u" + std::to_string(i)))));
        clock_->advance(seconds(11));
    }
    const auto st = auth().stats();
    EXPECT_GE(st.jwks_fetch_failures, 1u);
    EXPECT_EQ(st.jwks_keys, 3u);
}

TEST_F(JwksCacheTest, JwksDownWithNoKeysIsUnavailable) {
    server_.stop();
    EXPECT_REFUSED(bearer(ts::mint(keys_.rsa, claims())), F::Unavailable, "jwks_unavailable");
    // Within the interval: still unavailable, without a new attempt.
    EXPECT_REFUSED(bearer(ts::mint(keys_.ec, claims())), F::Unavailable, "jwks_unavailable");
    EXPECT_EQ(auth().stats().jwks_fetches, 1u);
    // The server comes back: after the interval the next request loads the keys.
    server_.restart();
    clock_->advance(seconds(10));
    EXPECT_ACCEPTED(bearer(ts::mint(keys_.rsa, claims())));
    EXPECT_EQ(server_.request_count(), 1u);
}

TEST_F(JwksCacheTest, JwksDownUnknownKidIsUnavailable) {
    EXPECT_ACCEPTED(bearer(ts::mint(keys_.rsa, claims())));
    server_.stop();
    clock_->advance(seconds(10));
    EXPECT_REFUSED(bearer(unknown_kid_token(1)), F::Unavailable, "jwks_unavailable");
    EXPECT_ACCEPTED(bearer(ts::mint(keys_.rsa, claims("bob"))));
}

TEST_F(JwksCacheTest, HungJwksServerTimesOutAsUnavailable) {
    cfg_.jwks_timeout = std::chrono::milliseconds(300);
    server_.set_hang(true);
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_REFUSED(bearer(ts::mint(keys_.rsa, claims())), F::Unavailable, "jwks_unavailable");
    const auto waited = std::chrono::steady_clock::now() - t0;
    EXPECT_GE(waited, std::chrono::milliseconds(250));
    EXPECT_LT(waited, std::chrono::seconds(3)) << "bounded by the configured timeout";
    server_.set_hang(false);
}

TEST_F(JwksCacheTest, JwksHttpErrorIsUnavailable) {
    server_.set_status(500);
    EXPECT_REFUSED(bearer(ts::mint(keys_.rsa, claims())), F::Unavailable, "jwks_unavailable");
    EXPECT_EQ(server_.request_count(), 1u);
}

TEST_F(JwksCacheTest, NotAJwksDocumentIsUnavailable) {
    for (const char* doc : {"<html>", "{\"keys\":{}}", "{\"keys\":[]}", "{\"other\":[]}",
                            "{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}"}) {
        server_.set_jwks(doc);
        auto fresh = make();
        EXPECT_REFUSED(fresh->authenticate_token(ts::mint(keys_.rsa, claims())), F::Unavailable,
                       "jwks_unavailable")
            << doc;
    }
}

TEST_F(JwksCacheTest, TtlExpiryRefetchesAndWithdrawnKeyIsRefused) {
    const std::string rsa_token = ts::mint(keys_.rsa, claims());
    EXPECT_ACCEPTED(bearer(rsa_token));
    EXPECT_ACCEPTED(bearer(rsa_token));            // from the verified-token cache
    server_.set_jwks(ts::jwks_json({&keys_.ec}));  // rsa-1 withdrawn (compromised?)
    clock_->advance(seconds(299));
    EXPECT_ACCEPTED(bearer(ts::mint(keys_.ec, claims())));
    EXPECT_EQ(server_.request_count(), 1u) << "within the TTL";
    clock_->advance(seconds(2));
    // First request past the TTL refreshes; the set no longer holds rsa-1.
    EXPECT_ACCEPTED(bearer(ts::mint(keys_.ec, claims("bob"))));
    EXPECT_EQ(server_.request_count(), 2u);
    EXPECT_REFUSED(bearer(rsa_token), F::InvalidToken, "kid_unknown")
        << "a withdrawn key's tokens leave the verified-token cache";
}

TEST_F(JwksCacheTest, StaleKeyStillServesWhenRefreshIsRefused) {
    EXPECT_ACCEPTED(bearer(ts::mint(keys_.rsa, claims())));
    server_.set_status(503);
    clock_->advance(seconds(301));
    EXPECT_ACCEPTED(bearer(ts::mint(keys_.rsa, claims("bob"))));
    EXPECT_EQ(server_.request_count(), 2u);
    EXPECT_ACCEPTED(bearer(ts::mint(keys_.rsa, claims("carol"))));
    EXPECT_EQ(server_.request_count(), 2u) << "refresh attempts are spaced by the interval";
}

TEST_F(JwksCacheTest, UnusableKeysAreSkipped) {
    ts::TestKey small = ts::TestKey::rsa("small", "RS256", 1024);
    std::string bad_point = keys_.ec.with_kid("bad-point").jwk_json();
    {
        // Replace y with x: not on the curve.
        const auto x_at = bad_point.find("\"x\":\"") + 5;
        const auto x = bad_point.substr(x_at, bad_point.find('"', x_at) - x_at);
        const auto y_at = bad_point.find("\"y\":\"") + 5;
        bad_point.replace(y_at, bad_point.find('"', y_at) - y_at, x);
    }
    std::string enc = keys_.rsa2.with_kid("enc").jwk_json();
    enc.replace(enc.find("\"use\":\"sig\""), 11, "\"use\":\"enc\"");
    server_.set_jwks(ts::jwks_json_raw({
        keys_.rsa.jwk_json(),
        small.jwk_json(),
        bad_point,
        enc,
        R"({"kty":"oct","kid":"hmac","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"})",
        R"({"kty":"OKP","kid":"ed","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})",
        R"({"kty":"RSA","kid":"junk","n":"!!","e":"AQAB"})",
    }));
    EXPECT_ACCEPTED(bearer(ts::mint(keys_.rsa, claims())));
    EXPECT_EQ(auth().stats().jwks_keys, 1u);
    EXPECT_REFUSED(bearer(ts::mint(small, claims())), F::InvalidToken, "kid_unknown");
    EXPECT_REFUSED(bearer(ts::mint(keys_.rsa2.with_kid("enc"), claims())), F::InvalidToken,
                   "kid_unknown");
}

TEST_F(JwksCacheTest, DuplicateKidIsAmbiguous) {
    server_.set_jwks(ts::jwks_json({&keys_.rsa, &keys_.rsa2}));
    ts::TestKey twin = keys_.rsa2.with_kid(keys_.rsa.kid());
    server_.set_jwks(ts::jwks_json({&keys_.rsa, &twin}));
    EXPECT_REFUSED(bearer(ts::mint(keys_.rsa, claims())), F::InvalidToken, "kid_ambiguous");
}

TEST_F(JwksCacheTest, AsymmetricTokenWithoutJwksConfigured) {
    cfg_.jwks_url = "";
    cfg_.hs256_secret = std::string(32, 'x');
    EXPECT_REFUSED(bearer(ts::mint(keys_.rsa, claims())), F::InvalidToken, "jwks_not_configured");
}

TEST_F(JwksCacheTest, ExpiredOrForeignTokensNeverTriggerAFetch) {
    auto c = claims();
    c.exp = now() - 3600;
    EXPECT_REFUSED(bearer(ts::mint(keys_.rsa2.with_kid("ghost"), c)), F::InvalidToken,
                   "token_expired");
    c = claims();
    c.iss = "https://elsewhere";
    EXPECT_REFUSED(bearer(ts::mint(keys_.rsa2.with_kid("ghost"), c)), F::InvalidToken,
                   "issuer_mismatch");
    EXPECT_EQ(server_.request_count(), 0u);
}

}  // namespace
}  // namespace ordergate::auth::test
