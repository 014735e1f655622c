#include "secrets/redact.hpp"

#include <gtest/gtest.h>

namespace ordergate::secrets {
namespace {

TEST(LooksSecretName, MatchesCommonSecretNames) {
    for (const char* n : {"password", "DB_PASSWORD", "passwd", "api_secret", "API_TOKEN", "api_key",
                          "apiKey", "credentials", "private_key_pem", "pwd"})
        EXPECT_TRUE(looks_secret_name(n)) << n;
    for (const char* n : {"url", "host", "seed", "accounts", "tick_ms", "schema", "currency"})
        EXPECT_FALSE(looks_secret_name(n)) << n;
}

TEST(RedactEmbedded, HidesUrlPassword) {
    EXPECT_EQ(redact_embedded("postgresql://user:pa55@db.internal:5432/trading"),
              "postgresql://user:***@db.internal:5432/trading");
    EXPECT_EQ(redact_embedded("redis://:pa55@redis:6379/0"), "redis://:***@redis:6379/0");
    EXPECT_EQ(redact_embedded("https://u:p@host"), "https://u:***@host");
}

TEST(RedactEmbedded, KeepsUrlsWithoutPassword) {
    EXPECT_EQ(redact_embedded("postgresql://user@db/trading"), "postgresql://user@db/trading");
    EXPECT_EQ(redact_embedded("redis://127.0.0.1:6379/0"), "redis://127.0.0.1:6379/0");
    EXPECT_EQ(redact_embedded("./data/ordergate.db"), "./data/ordergate.db");
}

TEST(RedactEmbedded, HidesSecretQueryParameters) {
    EXPECT_EQ(redact_embedded("postgresql://db/trading?sslmode=require&password=pa55#frag"),
              "postgresql://db/trading?sslmode=require&password=***#frag");
}

TEST(RedactEmbedded, HidesLibpqKeywordPassword) {
    EXPECT_EQ(redact_embedded("host=db user=og password=pa55 dbname=trading"),
              "host=db user=og password=*** dbname=trading");
}

TEST(RedactValue, SecretNamesAndKnownSecretsAreHiddenWhole) {
    EXPECT_EQ(redact_value("api_secret", "abc", false), "***");
    EXPECT_EQ(redact_value("url", "abc", true), "***");
    EXPECT_EQ(redact_value("url", "postgres://u:p@h/d", false), "postgres://u:***@h/d");
    EXPECT_EQ(redact_value("seed", "42", false), "42");
}

}  // namespace
}  // namespace ordergate::secrets
