// ${VAR} interpolation, environment overrides, secrets and redaction.
#include <gtest/gtest.h>

#include <algorithm>

#include "config/config.hpp"
#include "config/interpolate.hpp"
#include "config_server.hpp"
#include "config_test_util.hpp"
#include "fake_env.hpp"

namespace ordergate::config {
namespace {

using test::error_of;
using test::kMinimal;
using test::parse;
using testing::env_of;
using testing::TempDir;

bool has(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

std::string setting(const Settings& s, const std::string& key) {
    const std::string* v = find_setting(s, key);
    return v ? *v : "<missing>";
}

// ---- interpolation ------------------------------------------------------------------------------

TEST(Interpolate, SubstitutesDefaultsAndEscapes) {
    secrets::SecretResolver r(env_of({{"A", "x"}, {"EMPTY", ""}}));
    EXPECT_EQ(interpolate("${A}", r).text, "x");
    EXPECT_EQ(interpolate("pre-${A}-post", r).text, "pre-x-post");
    EXPECT_EQ(interpolate("${B:-dflt}", r).text, "dflt");
    EXPECT_EQ(interpolate("${A:-dflt}", r).text, "x");
    EXPECT_EQ(interpolate("${EMPTY:-dflt}", r).text, "dflt");
    EXPECT_EQ(interpolate("${EMPTY}", r).text, "");
    EXPECT_EQ(interpolate("${B:-}", r).text, "");
    EXPECT_EQ(interpolate("$${A}", r).text, "${A}");
    EXPECT_EQ(interpolate("cost $5 and $", r).text, "cost $5 and $");
    EXPECT_EQ(interpolate("${A}${A}", r).names, (std::vector<std::string>{"A", "A"}));
}

TEST(Interpolate, Errors) {
    secrets::SecretResolver r(env_of({}));
    EXPECT_THROW(interpolate("${A", r), InterpolationError);
    EXPECT_THROW(interpolate("${1A}", r), InterpolationError);
    EXPECT_THROW(interpolate("${}", r), InterpolationError);
    EXPECT_THROW(interpolate("${MISSING}", r), InterpolationError);
}

TEST(Interpolate, SecretnessFollowsTheSource) {
    TempDir dir;
    secrets::SecretResolver r(
        env_of({{"HOST", "db"}, {"DB_PASSWORD", "pw"}, {"FROM_FILE_FILE", dir.write("f", "v\n")}}),
        {{"FROM_SERVICE", "s"}}, "http://cs");
    EXPECT_FALSE(interpolate("${HOST}", r).secret);
    EXPECT_FALSE(interpolate("${NOPE:-x}", r).secret);
    EXPECT_TRUE(interpolate("${DB_PASSWORD}", r).secret);  // the name looks secret
    EXPECT_TRUE(interpolate("${FROM_FILE}", r).secret);
    EXPECT_TRUE(interpolate("${FROM_SERVICE}", r).secret);
    EXPECT_TRUE(interpolate("u:${FROM_FILE}@${HOST}", r).secret);
}

TEST(ConfigInterpolation, ValuesAreInterpolatedBeforeTyping) {
    Config c = parse(kMinimal + "http:\n  port: ${PORT_IN_FILE}\n  host: ${HOST:-127.0.0.1}\n",
                     {{"PORT_IN_FILE", "9100"}});
    EXPECT_EQ(c.http.port, 9100);
    EXPECT_EQ(c.http.host, "127.0.0.1");
}

TEST(ConfigInterpolation, MissingVariableNamesFileLineAndKey) {
    EXPECT_EQ(error_of(kMinimal + "storage:\n  plugin: storage-sqlite\n  settings:\n"
                                  "    path: ${DATA_DIR}/og.db\n"),
              "t.yaml:10: storage.settings.path: variable DATA_DIR is not set (nor DATA_DIR_FILE); "
              "give it a value or write ${DATA_DIR:-default}");
}

TEST(ConfigInterpolation, InterpolatedValueIsTypeChecked) {
    EXPECT_EQ(error_of(kMinimal + "http:\n  port: ${P}\n", {{"P", "eighty"}}),
              "t.yaml:8: http.port: must be an integer in 1..65535, got 'eighty'");
}

TEST(ConfigInterpolation, DollarDollarEscapes) {
    Config c = parse(
        "brokers:\n  - name: b\n    plugin: p\n    settings:\n      note: a$$b\n"
        "accounts:\n  - id: A\n    broker: b\n");
    EXPECT_EQ(setting(c.brokers[0].settings, "note"), "a$b");
}

TEST(ConfigInterpolation, UnterminatedReferenceNamesTheKey) {
    EXPECT_EQ(error_of(kMinimal + "http:\n  host: ${HOST\n"),
              "t.yaml:8: http.host: unterminated ${ (write $$ for a literal $)");
}

TEST(ConfigInterpolation, UnreadableSecretFileNamesVariableAndPath) {
    TempDir dir;
    const std::string missing = (dir.path() / "absent").string();
    EXPECT_EQ(error_of("brokers:\n  - name: b\n    plugin: p\n    settings:\n"
                       "      api_secret: ${API_SECRET}\naccounts:\n  - id: A\n    broker: b\n",
                       {{"API_SECRET_FILE", missing}}),
              "t.yaml:5: brokers.0.settings.api_secret: API_SECRET_FILE=" + missing +
                  ": cannot read file (No such file or directory)");
}

TEST(ConfigInterpolation, SecretFromFileIsMarkedAndNeverShown) {
    TempDir dir;
    Config c = parse(
        "brokers:\n  - name: b\n    plugin: p\n    settings:\n"
        "      login: ${BROKER_LOGIN}\n      user: plain\n"
        "accounts:\n  - id: A\n    broker: b\n",
        {{"BROKER_LOGIN_FILE", dir.write("login", "very-private-login\n")}});
    const BrokerConfig& b = c.brokers[0];
    EXPECT_EQ(setting(b.settings, "login"), "very-private-login");
    EXPECT_EQ(b.secret_settings, std::vector<std::string>{"login"});
    EXPECT_TRUE(has(c.secret_keys, "brokers.0.settings.login"));
    const std::string text = describe(c);
    EXPECT_EQ(text.find("very-private-login"), std::string::npos) << text;
    EXPECT_NE(text.find("login = ***"), std::string::npos) << text;
    EXPECT_NE(text.find("user = plain"), std::string::npos) << text;
    Settings shown = redacted_settings(b.settings, b.secret_settings);
    EXPECT_EQ(setting(shown, "login"), "***");
    EXPECT_EQ(setting(shown, "user"), "plain");
}

TEST(ConfigInterpolation, SecretValuesAreNotQuotedInErrors) {
    TempDir dir;
    std::string msg = error_of(kMinimal + "http:\n  port: ${PORT_SECRET}\n",
                               {{"PORT_SECRET_FILE", dir.write("p", "hunter2\n")}});
    EXPECT_EQ(msg, "t.yaml:8: http.port: must be an integer in 1..65535, got (a secret value)");
}

// Found by fuzz_config: a check that quotes a value built partly from a secret (here a broker
// name with ${DB_PASSWORD} inside) printed the secret in its message.
TEST(ConfigInterpolation, ASecretInsideAQuotedValueIsNotShownInErrors) {
    const std::string yaml =
        "brokers:\n  - name: bad name ${DB_PASSWORD} here\n    plugin: p\n"
        "accounts:\n  - id: A\n    broker: b\n";
    std::string msg = error_of(yaml, {{"DB_PASSWORD", "q7-private-zx"}});
    EXPECT_EQ(msg.find("q7-private-zx"), std::string::npos) << msg;
    EXPECT_EQ(msg,
              "t.yaml:2: brokers.0.name: 'bad name (a secret value) here' may use only letters, "
              "digits, '_', '-' and '.'");
    // The same text spelled out in the YAML is the operator's own and is quoted as written.
    std::string plain = error_of(
        "brokers:\n  - name: bad name q7-private-zx here\n    plugin: p\n"
        "accounts:\n  - id: A\n    broker: b\n",
        {});
    EXPECT_NE(plain.find("q7-private-zx"), std::string::npos) << plain;
}

// Found by fuzz_config: describe() printed a plugin name built with ${DB_PASSWORD} inside (a
// name is not a secret key, so it was shown as it is).
TEST(ConfigInterpolation, ASecretInsideANameIsHiddenByDescribe) {
    Config c = parse("storage:\n  plugin: storage-${DB_PASSWORD}\n" + kMinimal,
                     {{"DB_PASSWORD", "q7-private-zx"}});
    EXPECT_EQ(c.storage.plugin, "storage-q7-private-zx");
    const std::string text = describe(c);
    EXPECT_EQ(text.find("q7-private-zx"), std::string::npos) << text;
    EXPECT_NE(text.find("storage: plugin=storage-***"), std::string::npos) << text;
}

TEST(ConfigInterpolation, ConfigServiceValuesInterpolate) {
    secrets::SecretResolver r(env_of({}), {{"PAPER_API_SECRET", "svc-secret"}}, "http://cs/x");
    Config c = parse_config(
        "brokers:\n  - name: b\n    plugin: p\n    settings:\n"
        "      creds: ${PAPER_API_SECRET}\naccounts:\n  - id: A\n    broker: b\n",
        "t.yaml", r);
    EXPECT_EQ(setting(c.brokers[0].settings, "creds"), "svc-secret");
    EXPECT_TRUE(c.secrets.config_service);
    EXPECT_EQ(c.secrets.config_service_values, 1u);
    const std::string text = describe(c);
    EXPECT_EQ(text.find("svc-secret"), std::string::npos) << text;
    EXPECT_NE(text.find("config service http://cs/x (1 values)"), std::string::npos) << text;
}

TEST(ConfigInterpolation, ConfigServiceDownFailsLoading) {
    const std::string url =
        "http://127.0.0.1:" + std::to_string(testing::closed_port()) + "/secrets";
    try {
        parse(kMinimal, {{"USE_CONFIG_SERVICE", "true"},
                         {"CONFIG_SERVICE_URL", url},
                         {"CONFIG_SERVICE_TOKEN", "t"}});
        FAIL() << "expected ConfigError";
    } catch (const ConfigError& e) {
        EXPECT_EQ(std::string(e.what()), "config service " + url + ": connection refused");
    }
}

TEST(ConfigInterpolation, ConfigServiceEndToEnd) {
    testing::ConfigServer server({"tok", 200, R"({"BROKER_LOGIN":"svc-login-1"})"});
    Config c = parse(
        "brokers:\n  - name: b\n    plugin: p\n    settings:\n"
        "      login: ${BROKER_LOGIN}\naccounts:\n  - id: A\n    broker: b\n",
        {{"USE_CONFIG_SERVICE", "true"},
         {"CONFIG_SERVICE_URL", server.url()},
         {"CONFIG_SERVICE_TOKEN", "tok"}});
    EXPECT_EQ(setting(c.brokers[0].settings, "login"), "svc-login-1");
    EXPECT_TRUE(has(c.secret_keys, "brokers.0.settings.login"));
    EXPECT_EQ(server.requests(), 1);
    EXPECT_EQ(describe(c).find("svc-login-1"), std::string::npos);
}

// ---- environment overrides
// ------------------------------------------------------------------------

TEST(ConfigOverrides, PortOverridesTheFile) {
    Config c = parse(kMinimal + "http:\n  port: 9000\n", {{"PORT", "9001"}});
    EXPECT_EQ(c.http.port, 9001);
    EXPECT_TRUE(has(c.overrides_applied, "PORT"));
}

TEST(ConfigOverrides, BadPortNamesTheVariable) {
    EXPECT_EQ(error_of(kMinimal, {{"PORT", "abc"}}),
              "environment variable PORT: http.port: must be an integer in 1..65535, got 'abc'");
    EXPECT_EQ(error_of(kMinimal, {{"PORT", "65536"}}),
              "environment variable PORT: http.port: must be an integer in 1..65535, got '65536'");
}

TEST(ConfigOverrides, EmptyVariableIsUnset) {
    Config c = parse(kMinimal, {{"PORT", ""}, {"DATABASE_URL", ""}});
    EXPECT_EQ(c.http.port, 8087);
    EXPECT_EQ(c.storage.plugin, "storage-sqlite");
    EXPECT_TRUE(c.overrides_applied.empty());
}

TEST(ConfigOverrides, DatabaseUrlPostgresSwitchesPlugin) {
    for (const char* url : {"postgres://u:p@h/db", "postgresql://u:p@h:5432/db?sslmode=require"}) {
        Config c =
            parse(kMinimal + "storage:\n  settings:\n    path: ./x.db\n", {{"DATABASE_URL", url}});
        EXPECT_EQ(c.storage.plugin, "storage-postgres");
        EXPECT_EQ(c.storage.settings, (Settings{{"url", url}})) << "sqlite settings dropped";
    }
}

TEST(ConfigOverrides, DatabaseUrlReplacingAPluginGivenAsAFileIsWarnedAbout) {
    Config c = parse(kMinimal + "storage:\n  plugin: /opt/og/lib/storage-postgres.so\n",
                     {{"DATABASE_URL", "postgresql://u:p@h/db"}});
    EXPECT_EQ(c.storage.plugin, "storage-postgres");
    ASSERT_EQ(c.override_warnings.size(), 1u);
    EXPECT_NE(c.override_warnings[0].find("'/opt/og/lib/storage-postgres.so'"), std::string::npos);
    EXPECT_NE(c.override_warnings[0].find("found through plugin_dirs"), std::string::npos);
    EXPECT_EQ(c.override_warnings[0].find("u:p@"), std::string::npos);  // the URL is not in it
    EXPECT_NE(describe(c).find("warning: DATABASE_URL replaces"), std::string::npos);
    // A plugin given by name is what the override is for: no warning.
    Config named = parse(kMinimal + "storage:\n  plugin: storage-sqlite\n",
                         {{"DATABASE_URL", "postgresql://u:p@h/db"}});
    EXPECT_TRUE(named.override_warnings.empty());
}

TEST(ConfigOverrides, DatabaseUrlKeepsOtherPostgresSettings) {
    Config c = parse(kMinimal +
                         "storage:\n  plugin: storage-postgres\n  settings:\n"
                         "    url: postgresql://old/db\n    schema: s1\n",
                     {{"DATABASE_URL", "postgresql://new/db"}});
    EXPECT_EQ(c.storage.settings, (Settings{{"url", "postgresql://new/db"}, {"schema", "s1"}}));
}

TEST(ConfigOverrides, DatabaseUrlSqlite) {
    Config a = parse(kMinimal, {{"DATABASE_URL", "sqlite:///var/lib/og/og.db"}});
    EXPECT_EQ(a.storage.plugin, "storage-sqlite");
    EXPECT_EQ(setting(a.storage.settings, "path"), "/var/lib/og/og.db");
    Config b = parse(kMinimal, {{"DATABASE_URL", "./data/x.db"}});
    EXPECT_EQ(b.storage.plugin, "storage-sqlite");
    EXPECT_EQ(setting(b.storage.settings, "path"), "./data/x.db");
}

TEST(ConfigOverrides, DatabaseUrlUnsupportedScheme) {
    EXPECT_EQ(error_of(kMinimal, {{"DATABASE_URL", "mysql://h/db"}}),
              "environment variable DATABASE_URL: storage: unsupported scheme 'mysql://' (use "
              "postgresql://, postgres://, sqlite://<path> or a file path)");
}

TEST(ConfigOverrides, DatabaseUrlFromFileIsASecret) {
    TempDir dir;
    Config c = parse(
        kMinimal, {{"DATABASE_URL_FILE", dir.write("db", "postgresql://og:filepw@db/trading\n")}});
    EXPECT_EQ(setting(c.storage.settings, "url"), "postgresql://og:filepw@db/trading");
    EXPECT_TRUE(has(c.storage.secret_settings, "url"));
    EXPECT_TRUE(has(c.secret_keys, "storage.settings.url"));
    EXPECT_EQ(describe(c).find("filepw"), std::string::npos);
}

TEST(ConfigOverrides, RedisUrlSwitchesBackend) {
    Config c = parse(kMinimal,
                     {{"REDIS_URL", "redis://:pw@127.0.0.1:6379/0"}, {"REDIS_REQUIRED", "false"}});
    EXPECT_EQ(c.idempotency.backend, "redis");
    EXPECT_EQ(c.idempotency.redis_url, "redis://:pw@127.0.0.1:6379/0");
    EXPECT_FALSE(c.idempotency.redis_required);
}

TEST(ConfigOverrides, BadRedisRequiredNamesTheVariable) {
    EXPECT_EQ(error_of(kMinimal, {{"REDIS_REQUIRED", "maybe"}}),
              "environment variable REDIS_REQUIRED: idempotency.redis_required: must be true or "
              "false, got 'maybe'");
}

TEST(ConfigOverrides, RedisUrlMustBeRedis) {
    EXPECT_EQ(error_of(kMinimal, {{"REDIS_URL", "http://x"}}),
              "environment variable REDIS_URL: idempotency.redis_url: must start with redis:// "
              "(rediss://, TLS, is not supported)");
}

TEST(ConfigOverrides, RedisOverTlsIsRefusedNamingTls) {
    EXPECT_EQ(error_of(kMinimal, {{"REDIS_URL", "rediss://:secret@cache:6380/0"}}),
              "environment variable REDIS_URL: idempotency.redis_url: rediss:// (Redis over TLS) "
              "is not supported: use redis:// on a trusted network or through a local TLS tunnel "
              "to Redis");
}

TEST(ConfigOverrides, AuthFromEnvironment) {
    Config c = parse(kMinimal, {{"AUTH_ENABLED", "true"},
                                {"JWKS_URL", "https://idp/jwks"},
                                {"JWT_ISSUER", "https://idp/"},
                                {"JWT_AUDIENCE", "og"}});
    EXPECT_TRUE(c.auth.enabled);
    EXPECT_EQ(c.auth.jwks_url, "https://idp/jwks");
    EXPECT_EQ(c.auth.issuer, "https://idp/");
    EXPECT_EQ(c.auth.audience, "og");
}

TEST(ConfigOverrides, AuthEnabledWithoutJwksNamesTheVariable) {
    EXPECT_EQ(error_of(kMinimal, {{"AUTH_ENABLED", "true"}}),
              "environment variable AUTH_ENABLED: auth.jwks_url: is required when auth is enabled "
              "(set it or JWKS_URL; or auth.hs256_secret)");
}

TEST(ConfigOverrides, AuthDisabledByEnvironment) {
    Config c = parse(kMinimal +
                         "auth:\n  enabled: true\n  jwks_url: https://x/j\n  issuer: i\n"
                         "  audience: a\n",
                     {{"AUTH_ENABLED", "false"}});
    EXPECT_FALSE(c.auth.enabled);
}

TEST(ConfigOverrides, LogLevelFromTheEnvironmentWinsOverTheFile) {
    Config c = parse(kMinimal + "logging:\n  level: warn\n", {{"ORDERGATE_LOG_LEVEL", "debug"}});
    EXPECT_EQ(c.logging.level, "debug");
    EXPECT_TRUE(has(c.overrides_applied, "ORDERGATE_LOG_LEVEL"));
    // Empty counts as unset, like every override.
    EXPECT_EQ(parse(kMinimal + "logging:\n  level: warn\n", {{"ORDERGATE_LOG_LEVEL", ""}})
                  .logging.level,
              "warn");
    EXPECT_EQ(error_of(kMinimal, {{"ORDERGATE_LOG_LEVEL", "verbose"}}),
              "environment variable ORDERGATE_LOG_LEVEL: logging.level: must be one of trace, "
              "debug, info, warn, error, critical, off; got 'verbose'");
}

TEST(ConfigOverrides, BadUseConfigServiceNamesTheVariable) {
    EXPECT_EQ(error_of(kMinimal, {{"USE_CONFIG_SERVICE", "1"}}),
              "environment variable USE_CONFIG_SERVICE: must be true or false, got '1'");
}

// ---- describe ---------------------------------------------------------------------------------

TEST(Describe, NeverShowsPasswordsOrSecrets) {
    Config c = parse(R"(storage:
  plugin: storage-postgres
  settings:
    url: postgresql://og:url-pass-1@db:5432/t
    password: plain-pass-2
    dsn: host=db password=dsn-pass-3
brokers:
  - name: b
    plugin: p
    settings:
      api_key: key-4
      token: ${BROKER_TOKEN}
accounts:
  - id: A
    broker: b
idempotency:
  backend: redis
  redis_url: redis://:redis-pass-5@r:6379
auth:
  enabled: true
  hs256_secret: hs256-secret-6-0123456789abcdef0123456789
  issuer: i
  audience: a
)",
                     {{"BROKER_TOKEN", "tok-7"}});
    const std::string text = describe(c);
    for (const char* s : {"url-pass-1", "plain-pass-2", "dsn-pass-3", "key-4", "tok-7",
                          "redis-pass-5", "hs256-secret-6"})
        EXPECT_EQ(text.find(s), std::string::npos) << s << " leaked:\n" << text;
    EXPECT_NE(text.find("url = postgresql://og:***@db:5432/t"), std::string::npos) << text;
    EXPECT_NE(text.find("dsn = host=db password=***"), std::string::npos) << text;
    EXPECT_NE(text.find("redis_url=redis://:***@r:6379"), std::string::npos) << text;
    EXPECT_NE(text.find("hs256_secret=***"), std::string::npos) << text;
    EXPECT_TRUE(has(c.secret_keys, "auth.hs256_secret"));
    EXPECT_TRUE(has(c.secret_keys, "brokers.0.settings.token"));
    EXPECT_TRUE(has(c.secret_keys, "storage.settings.password"));
}

TEST(Describe, SummarisesEverySection) {
    Config c = load_default_config(env_of({{"PORT", "9999"}}));
    const std::string text = describe(c);
    for (const char* s :
         {"config: <embedded configs/default.yaml>", "environment overrides: PORT",
          "http: host=0.0.0.0 port=9999", "storage: plugin=storage-sqlite",
          "path = ./data/ordergate.db", "broker paper: plugin=broker-paper",
          "account ACC1: broker=paper", "risk: max_quantity=100000", "idempotency: backend=storage",
          "auth: enabled=false", "logging: level=info", "secrets: environment"})
        EXPECT_NE(text.find(s), std::string::npos) << s << " missing:\n" << text;
}

}  // namespace
}  // namespace ordergate::config
