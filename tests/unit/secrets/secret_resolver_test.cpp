#include <gtest/gtest.h>

#include "fake_env.hpp"
#include "secrets/secrets.hpp"

namespace ordergate::secrets {
namespace {

using testing::env_of;
using testing::TempDir;

TEST(SecretResolver, EnvironmentVariableComesFirst) {
    TempDir dir;
    std::string file = dir.write("pw", "from-file\n");
    SecretResolver r(env_of({{"DB_PASSWORD", "from-env"}, {"DB_PASSWORD_FILE", file}}),
                     {{"DB_PASSWORD", "from-service"}}, "http://cs");
    auto v = r.resolve("DB_PASSWORD");
    ASSERT_TRUE(v);
    EXPECT_EQ(v->value, "from-env");
    EXPECT_EQ(v->source, Source::Environment);
}

TEST(SecretResolver, EmptyEnvironmentValueIsStillSet) {
    SecretResolver r(env_of({{"X", ""}}));
    auto v = r.lookup("X");
    ASSERT_TRUE(v);
    EXPECT_EQ(*v, "");
}

TEST(SecretResolver, FileWhenNoVariable_StripsOneTrailingNewline) {
    TempDir dir;
    std::string file = dir.write("pw", "s3cret\n\n");
    SecretResolver r(env_of({{"DB_PASSWORD_FILE", file}}), {{"DB_PASSWORD", "from-service"}},
                     "http://cs");
    auto v = r.resolve("DB_PASSWORD");
    ASSERT_TRUE(v);
    EXPECT_EQ(v->value, "s3cret\n");
    EXPECT_EQ(v->source, Source::File);
    EXPECT_NE(v->origin.find(file), std::string::npos);
}

TEST(SecretResolver, FileStripsCrLf) {
    TempDir dir;
    SecretResolver r(env_of({{"T_FILE", dir.write("t", "abc\r\n")}}));
    EXPECT_EQ(r.lookup("T").value(), "abc");
}

TEST(SecretResolver, FileWithoutNewlineIsTakenAsIs) {
    TempDir dir;
    SecretResolver r(env_of({{"T_FILE", dir.write("t", "abc")}}));
    EXPECT_EQ(r.lookup("T").value(), "abc");
}

TEST(SecretResolver, UnreadableFile_ErrorNamesVariableAndPath) {
    TempDir dir;
    const std::string missing = (dir.path() / "nope").string();
    SecretResolver r(env_of({{"DB_PASSWORD_FILE", missing}}));
    try {
        r.lookup("DB_PASSWORD");
        FAIL() << "expected SecretError";
    } catch (const SecretError& e) {
        std::string msg = e.what();
        EXPECT_NE(msg.find("DB_PASSWORD_FILE=" + missing), std::string::npos) << msg;
        EXPECT_NE(msg.find("No such file"), std::string::npos) << msg;
    }
}

TEST(SecretResolver, DirectoryAsFile_IsAnErrorNotAnEmptyValue) {
    TempDir dir;
    SecretResolver r(env_of({{"X_FILE", dir.path().string()}}));
    EXPECT_THROW(r.lookup("X"), SecretError);
}

TEST(SecretResolver, ConfigServiceIsTheLastSource) {
    SecretResolver r(env_of({}), {{"API_SECRET", "svc"}}, "http://cs");
    auto v = r.resolve("API_SECRET");
    ASSERT_TRUE(v);
    EXPECT_EQ(v->value, "svc");
    EXPECT_EQ(v->source, Source::ConfigService);
    EXPECT_TRUE(r.uses_config_service());
}

TEST(SecretResolver, UnknownNameIsNullopt) {
    SecretResolver r(env_of({{"OTHER", "x"}}), {{"ALSO_OTHER", "y"}}, "http://cs");
    EXPECT_FALSE(r.lookup("MISSING"));
}

TEST(SecretResolverFromEnv, ConfigServiceOffByDefault) {
    auto r = SecretResolver::from_env(env_of({{"CONFIG_SERVICE_URL", "http://127.0.0.1:1/"}}));
    EXPECT_FALSE(r.uses_config_service());
}

TEST(SecretResolverFromEnv, ConfigServiceFalseDoesNotFetch) {
    auto r = SecretResolver::from_env(
        env_of({{"USE_CONFIG_SERVICE", "false"}, {"CONFIG_SERVICE_URL", "http://127.0.0.1:1/"}}));
    EXPECT_FALSE(r.uses_config_service());
}

TEST(SecretResolverFromEnv, BadUseConfigServiceValueNamesTheVariable) {
    try {
        SecretResolver::from_env(env_of({{"USE_CONFIG_SERVICE", "yes"}}));
        FAIL() << "expected SecretError";
    } catch (const SecretError& e) {
        EXPECT_EQ(std::string(e.what()),
                  "environment variable USE_CONFIG_SERVICE: must be true or false, got 'yes'");
    }
}

TEST(SecretResolverFromEnv, ConfigServiceNeedsUrl) {
    try {
        SecretResolver::from_env(
            env_of({{"USE_CONFIG_SERVICE", "true"}, {"CONFIG_SERVICE_TOKEN", "t"}}));
        FAIL() << "expected SecretError";
    } catch (const SecretError& e) {
        EXPECT_NE(std::string(e.what()).find("CONFIG_SERVICE_URL"), std::string::npos);
    }
}

TEST(SecretResolverFromEnv, ConfigServiceNeedsToken) {
    try {
        SecretResolver::from_env(env_of(
            {{"USE_CONFIG_SERVICE", "TRUE"}, {"CONFIG_SERVICE_URL", "http://127.0.0.1:1/"}}));
        FAIL() << "expected SecretError";
    } catch (const SecretError& e) {
        EXPECT_NE(std::string(e.what()).find("CONFIG_SERVICE_TOKEN"), std::string::npos);
    }
}

TEST(SecretResolverFromEnv, BadTimeoutNamesTheVariable) {
    try {
        SecretResolver::from_env(env_of({{"USE_CONFIG_SERVICE", "true"},
                                         {"CONFIG_SERVICE_URL", "http://127.0.0.1:1/"},
                                         {"CONFIG_SERVICE_TOKEN", "t"},
                                         {"CONFIG_SERVICE_TIMEOUT_MS", "soon"}}));
        FAIL() << "expected SecretError";
    } catch (const SecretError& e) {
        EXPECT_NE(std::string(e.what()).find("CONFIG_SERVICE_TIMEOUT_MS"), std::string::npos);
    }
}

TEST(ParseBool, AcceptsTrueFalseInAnyCaseOnly) {
    EXPECT_EQ(parse_bool("true"), true);
    EXPECT_EQ(parse_bool("FALSE"), false);
    EXPECT_EQ(parse_bool("True"), true);
    EXPECT_FALSE(parse_bool("yes"));
    EXPECT_FALSE(parse_bool("1"));
    EXPECT_FALSE(parse_bool(""));
}

}  // namespace
}  // namespace ordergate::secrets
