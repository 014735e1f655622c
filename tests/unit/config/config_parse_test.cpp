// Parsing and validation of the host's sections: types, ranges, unknown keys, references, with
// the exact "file:line: key.path: ..." of each error.
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "config_test_util.hpp"

namespace ordergate::config {
namespace {

using test::error_of;
using test::kMinimal;
using test::parse;

TEST(ConfigParse, MinimalConfigTakesTheDocumentedDefaults) {
    Config c = parse(kMinimal);
    EXPECT_EQ(c.source_path, "t.yaml");
    EXPECT_EQ(c.http.port, 8087);
    EXPECT_EQ(c.http.host, "0.0.0.0");
    EXPECT_EQ(c.http.max_threads, 64);
    EXPECT_EQ(c.storage.plugin, "storage-sqlite");
    EXPECT_EQ(c.brokers[0].timeout_ms, 5000);
    EXPECT_EQ(c.brokers[0].query_deadline_ms(), 5000);
    EXPECT_EQ(c.brokers[0].max_concurrent_calls, 16);
    EXPECT_TRUE(c.brokers[0].settings.empty());
    EXPECT_FALSE(c.risk.max_quantity);
    EXPECT_EQ(c.idempotency.backend, "storage");
    EXPECT_TRUE(c.idempotency.redis_required);
    EXPECT_FALSE(c.auth.enabled);
    EXPECT_EQ(c.auth.accounts_claim, "accounts");
    EXPECT_EQ(c.logging.level, "info");
    ASSERT_NE(c.find_broker("paper"), nullptr);
    EXPECT_EQ(c.find_broker("other"), nullptr);
    ASSERT_NE(c.find_account("ACC1"), nullptr);
    EXPECT_EQ(&c.risk_for(*c.find_account("ACC1")), &c.risk);
}

TEST(ConfigParse, AllHostSectionsAreRead) {
    Config c = parse(kMinimal + R"(http:
  host: 127.0.0.1
  port: 9000
  body_limit_bytes: 1024
  max_threads: 8
  max_queued: 16
  shutdown_grace_seconds: 3
  docs_dir: /opt/swagger-ui
idempotency:
  backend: redis
  redis_url: redis://127.0.0.1:6379/1
  redis_required: false
  ttl_seconds: 60
  require_key: true
auth:
  enabled: true
  jwks_url: http://127.0.0.1:9/jwks
  issuer: iss
  audience: aud
  leeway_seconds: 5
  jwks_ttl_seconds: 60
  jwks_min_refetch_seconds: 2
  accounts_claim: accts
  api_keys:
    - sha256: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
      subject: svc-a
      accounts: [ACC1]
      scopes: [orders:read, orders:write]
  protect_health: true
  protect_metrics: true
  rate_per_second: 10
  rate_burst: 20
  verified_token_cache_size: 0
logging:
  level: debug
)");
    EXPECT_EQ(c.http.host, "127.0.0.1");
    EXPECT_EQ(c.http.port, 9000);
    EXPECT_EQ(c.http.body_limit_bytes, 1024u);
    EXPECT_EQ(c.http.max_threads, 8);
    EXPECT_EQ(c.http.max_queued, 16);
    EXPECT_EQ(c.http.shutdown_grace_seconds, 3);
    EXPECT_EQ(c.http.docs_dir, "/opt/swagger-ui");
    EXPECT_EQ(c.idempotency.backend, "redis");
    EXPECT_EQ(c.idempotency.redis_url, "redis://127.0.0.1:6379/1");
    EXPECT_FALSE(c.idempotency.redis_required);
    EXPECT_EQ(c.idempotency.ttl_seconds, 60);
    EXPECT_TRUE(c.idempotency.require_key);
    EXPECT_TRUE(c.auth.enabled);
    EXPECT_EQ(c.auth.leeway_seconds, 5);
    EXPECT_EQ(c.auth.jwks_ttl_seconds, 60);
    EXPECT_EQ(c.auth.jwks_min_refetch_seconds, 2);
    EXPECT_EQ(c.auth.accounts_claim, "accts");
    ASSERT_EQ(c.auth.api_keys.size(), 1u);
    EXPECT_EQ(c.auth.api_keys[0].subject, "svc-a");
    EXPECT_EQ(c.auth.api_keys[0].accounts, std::vector<std::string>{"ACC1"});
    EXPECT_EQ(c.auth.api_keys[0].scopes, (std::vector<std::string>{"orders:read", "orders:write"}));
    EXPECT_TRUE(c.auth.protect_health);
    EXPECT_TRUE(c.auth.protect_metrics);
    EXPECT_EQ(c.auth.rate_per_second, 10u);
    EXPECT_EQ(c.auth.rate_burst, 20u);
    EXPECT_EQ(c.auth.verified_token_cache_size, 0u);
    EXPECT_EQ(c.logging.level, "debug");
}

TEST(ConfigParse, BrokerCallLimitsAreReadAndQueriesDefaultToTheOrderDeadline) {
    Config c = parse(R"(brokers:
  - name: a
    plugin: broker-paper
    timeout_ms: 250
    query_timeout_ms: 40
    max_concurrent_calls: 3
    inline_calls: false
  - name: b
    plugin: broker-paper
    timeout_ms: 700
accounts:
  - id: ACC1
    broker: a
)");
    EXPECT_EQ(c.brokers[0].query_deadline_ms(), 40);
    EXPECT_EQ(c.brokers[0].max_concurrent_calls, 3);
    EXPECT_FALSE(c.brokers[0].inline_calls);
    EXPECT_EQ(c.brokers[1].query_deadline_ms(), 700);
    EXPECT_EQ(c.brokers[1].max_concurrent_calls, 16);
    EXPECT_TRUE(c.brokers[1].inline_calls);  // a plugin's prompt calls run on the caller's thread
}

TEST(ConfigParse, SettingsAreFlattenedInDocumentOrder) {
    Config c = parse(R"(brokers:
  - name: paper
    plugin: /opt/plugins/libbroker-paper.so
    timeout_ms: 250
    settings:
      seed: 42
      prices:
        INFY: 1500.00
        TCS: "3900.10"
      symbols: [INFY, TCS]
      nested:
        list:
          - a: 1
accounts:
  - id: ACC1
    broker: paper
)");
    const BrokerConfig& b = c.brokers[0];
    EXPECT_EQ(b.plugin, "/opt/plugins/libbroker-paper.so");
    EXPECT_EQ(b.timeout_ms, 250);
    Settings expected = {
        {"seed", "42"},        {"prices.INFY", "1500.00"}, {"prices.TCS", "3900.10"},
        {"symbols.0", "INFY"}, {"symbols.1", "TCS"},       {"nested.list.0.a", "1"}};
    EXPECT_EQ(b.settings, expected);
}

TEST(ConfigParse, DecimalsAreExact) {
    Config c =
        parse(kMinimal + "risk:\n  max_quantity: 0.1\n  max_notional: 12345678901234.5678\n");
    EXPECT_TRUE(c.risk.max_quantity->identical(Decimal(1, 1)));
    EXPECT_TRUE(c.risk.max_notional->identical(Decimal(123456789012345678, 4)));
}

TEST(ConfigParse, AccountRiskOverridesPerKey) {
    Config c = parse(R"(brokers:
  - name: paper
    plugin: broker-paper
accounts:
  - id: ACC1
    broker: paper
    risk:
      max_quantity: 10
      allowed_symbols: [INFY]
  - id: ACC2
    broker: paper
risk:
  max_quantity: 1000
  max_notional: 5000000
  max_orders_per_second: 7
)");
    const AccountConfig& a1 = c.accounts[0];
    ASSERT_TRUE(a1.risk);
    EXPECT_EQ(*a1.risk->max_quantity, Decimal::from_int(10));
    EXPECT_EQ(*a1.risk->max_notional, Decimal::from_int(5000000));
    EXPECT_EQ(a1.risk->max_orders_per_second, 7u);
    EXPECT_EQ(a1.risk->allowed_symbols, std::vector<std::string>{"INFY"});
    EXPECT_EQ(&c.risk_for(a1), &*a1.risk);
    EXPECT_FALSE(c.accounts[1].risk);
    EXPECT_EQ(*c.risk_for(c.accounts[1]).max_quantity, Decimal::from_int(1000));
}

// ---- errors: exact location prefixes ----------------------------------------------------------

TEST(ConfigErrors, UnknownKeySuggestsTheNearestOne) {
    EXPECT_EQ(error_of(kMinimal + "http:\n  prot: 8087\n"),
              "t.yaml:8: http.prot: unknown key (did you mean 'port'?)");
}

TEST(ConfigErrors, UnknownSectionIsRefused) {
    EXPECT_EQ(error_of(kMinimal + "databse:\n  url: x\n"),
              "t.yaml:7: databse: unknown key (known keys: http, plugin_dirs, storage, brokers, "
              "accounts, risk, idempotency, reconciliation, gtt, stream, auth, logging)");
}

// A reconciliation run acts only while it holds its lease, renewed with two thirds left: one
// report call (the broker's query deadline) must fit in those two thirds.
TEST(ConfigErrors, ReconciliationLeaseOutlivesOneReportCall) {
    EXPECT_EQ(parse(kMinimal).reconciliation.lease_seconds, 30);
    const std::string broker =
        "brokers:\n  - name: paper\n    plugin: broker-paper\n    timeout_ms: 4000\n"
        "    query_timeout_ms: 6000\n"
        "accounts:\n  - id: ACC1\n    broker: paper\n";
    EXPECT_EQ(parse(broker + "reconciliation:\n  lease_seconds: 10\n").reconciliation.lease_seconds,
              10);
    const std::string err = error_of(broker + "reconciliation:\n  lease_seconds: 9\n");
    EXPECT_NE(err.find("reconciliation.lease_seconds"), std::string::npos) << err;
    EXPECT_NE(err.find("6000 ms"), std::string::npos) << err;
    // Without a query deadline of its own, a query waits the order deadline.
    EXPECT_NE(error_of("brokers:\n  - name: paper\n    plugin: broker-paper\n    timeout_ms: "
                       "5000\naccounts:\n  - id: ACC1\n    broker: paper\nreconciliation:\n"
                       "  lease_seconds: 7\n")
                  .find("5000 ms"),
              std::string::npos);
}

// The start-up run's pace: 0 (the default) is the periodic runs' calls_per_second.
TEST(ConfigErrors, StartupCallsPerSecondIsBounded) {
    EXPECT_EQ(parse(kMinimal).reconciliation.startup_calls_per_second, 0);
    EXPECT_EQ(parse(kMinimal + "reconciliation:\n  startup_calls_per_second: 500\n")
                  .reconciliation.startup_calls_per_second,
              500);
    for (const char* bad : {"-1", "100001", "fast"}) {
        const std::string err =
            error_of(kMinimal + "reconciliation:\n  startup_calls_per_second: " + bad + "\n");
        EXPECT_NE(err.find("reconciliation.startup_calls_per_second"), std::string::npos)
            << bad << ": " << err;
    }
}

// A retry proceeds once the in-flight marker lapses: never while the request it repeats can still
// be running (its broker deadline), so the lease is checked against every broker's timeout_ms.
TEST(ConfigErrors, InFlightLeaseOutlivesTheLongestBrokerDeadline) {
    EXPECT_EQ(parse(kMinimal).idempotency.in_flight_seconds, 60);
    EXPECT_EQ(parse(kMinimal + "idempotency:\n  in_flight_seconds: 15\n").idempotency.in_flight_seconds,
              15);  // the default broker deadline is 5 s
    const std::string err = error_of(
        "brokers:\n  - name: paper\n    plugin: broker-paper\n    timeout_ms: 20000\n"
        "accounts:\n  - id: ACC1\n    broker: paper\n"
        "reconciliation:\n  grace_period_seconds: 30\n"
        "idempotency:\n  in_flight_seconds: 25\n");
    EXPECT_NE(err.find("idempotency.in_flight_seconds"), std::string::npos) << err;
    EXPECT_NE(err.find("timeout_ms = 20000"), std::string::npos) << err;
    EXPECT_NE(error_of(kMinimal + "idempotency:\n  in_flight_seconds: 0\n")
                  .find("idempotency.in_flight_seconds"),
              std::string::npos);
}

// The memory backend's bound on its keys: the operator's handle on the gateway's memory.
TEST(ConfigErrors, MemoryIdempotencyKeysAreBounded) {
    EXPECT_EQ(parse(kMinimal).idempotency.memory_max_keys, 200000);
    EXPECT_EQ(parse(kMinimal + "idempotency:\n  backend: memory\n  memory_max_keys: 5000\n")
                  .idempotency.memory_max_keys,
              5000);
    EXPECT_NE(error_of(kMinimal + "idempotency:\n  memory_max_keys: 15\n")
                  .find("idempotency.memory_max_keys"),
              std::string::npos);
    EXPECT_NE(error_of(kMinimal + "idempotency:\n  memory_max_keys: many\n")
                  .find("idempotency.memory_max_keys"),
              std::string::npos);
}

TEST(ConfigErrors, StreamSectionIsValidated) {
    EXPECT_NE(error_of(kMinimal + "stream:\n  retention_hours: 0\n").find("stream.retention_hours"),
              std::string::npos);
    EXPECT_NE(error_of(kMinimal + "stream:\n  queue_limit: 0\n").find("stream.queue_limit"),
              std::string::npos);
    EXPECT_NE(error_of(kMinimal + "stream:\n  ping_seconds: 30\n  idle_close_seconds: 20\n")
                  .find("stream.idle_close_seconds"),
              std::string::npos);
    EXPECT_NE(error_of(kMinimal + "stream:\n  retension_hours: 1\n").find("unknown key"),
              std::string::npos);
    EXPECT_NE(error_of(kMinimal + "stream:\n  position_pnl_seconds: -1\n")
                  .find("stream.position_pnl_seconds"),
              std::string::npos);
    EXPECT_NE(error_of(kMinimal + "stream:\n  position_pnl_seconds: 3601\n")
                  .find("stream.position_pnl_seconds"),
              std::string::npos);
    EXPECT_EQ(parse(kMinimal).stream.position_pnl_seconds, 1);
    EXPECT_EQ(parse(kMinimal + "stream:\n  position_pnl_seconds: 0\n").stream.position_pnl_seconds,
              0);
}

TEST(ConfigErrors, CorsOriginsAreOriginsOrAStarAlone) {
    const std::string h = kMinimal + "http:\n  cors_origins:\n";
    EXPECT_TRUE(parse(kMinimal).http.cors_origins.empty());
    EXPECT_EQ(
        parse(h + "    - http://localhost:3000\n    - https://UI.Example.com\n").http.cors_origins,
        (std::vector<std::string>{"http://localhost:3000", "https://ui.example.com"}));
    EXPECT_EQ(parse(h + "    - \"*\"\n").http.cors_origins, std::vector<std::string>{"*"});
    for (const std::string bad : {"https://ui.example.com/", "ui.example.com", "ftp://x",
                                  "https://", "https://x/app", "https://a b"}) {
        const std::string e = error_of(h + "    - \"" + bad + "\"\n");
        EXPECT_NE(e.find("http.cors_origins.0: must be an origin such as"), std::string::npos)
            << bad << ": " << e;
    }
    EXPECT_NE(error_of(h + "    - \"*\"\n    - http://localhost:3000\n")
                  .find("http.cors_origins: \"*\" allows every origin"),
              std::string::npos);
}

TEST(ConfigErrors, UnknownKeyInsideABrokerIsRefused) {
    EXPECT_EQ(error_of("brokers:\n  - name: paper\n    plugin: broker-paper\n    setings: {}\n"),
              "t.yaml:4: brokers.0.setings: unknown key (did you mean 'settings'?)");
}

TEST(ConfigErrors, DuplicateKeyIsRefused) {
    EXPECT_EQ(error_of(kMinimal + "http:\n  port: 1\n  port: 2\n"),
              "t.yaml:9: http.port: duplicate key");
}

TEST(ConfigErrors, PortMustBeAnInteger) {
    EXPECT_EQ(error_of(kMinimal + "http:\n  port: abc\n"),
              "t.yaml:8: http.port: must be an integer in 1..65535, got 'abc'");
}

TEST(ConfigErrors, PortOutOfRange) {
    EXPECT_EQ(error_of(kMinimal + "http:\n  port: 70000\n"),
              "t.yaml:8: http.port: must be in 1..65535, got '70000'");
    EXPECT_EQ(error_of(kMinimal + "http:\n  port: 0\n"),
              "t.yaml:8: http.port: must be in 1..65535, got '0'");
}

TEST(ConfigErrors, BodyLimitMustBePositive) {
    EXPECT_TRUE(test::starts_with(error_of(kMinimal + "http:\n  body_limit_bytes: 0\n"),
                                  "t.yaml:8: http.body_limit_bytes: must be in 1.."));
}

TEST(ConfigErrors, BoolIsTrueOrFalseOnly) {
    EXPECT_EQ(error_of(kMinimal + "auth:\n  enabled: yes\n"),
              "t.yaml:8: auth.enabled: must be true or false, got 'yes'");
}

TEST(ConfigErrors, DecimalIsNeverADouble) {
    EXPECT_EQ(error_of(kMinimal + "risk:\n  max_quantity: 1e5\n"),
              "t.yaml:8: risk.max_quantity: must be a decimal number, got '1e5' (must be plain "
              "decimal text (no exponent))");
    EXPECT_EQ(error_of(kMinimal + "risk:\n  max_notional: -5\n"),
              "t.yaml:8: risk.max_notional: must be greater than 0, got '-5'");
}

TEST(ConfigErrors, ListExpected) {
    EXPECT_EQ(error_of(kMinimal + "risk:\n  allowed_symbols: INFY\n"),
              "t.yaml:8: risk.allowed_symbols: must be a list");
}

TEST(ConfigErrors, MappingExpected) {
    EXPECT_EQ(error_of(kMinimal + "http: 8087\n"),
              "t.yaml:7: http: must be a mapping of keys to values");
}

TEST(ConfigErrors, ValueMissing) {
    EXPECT_EQ(error_of(kMinimal + "http:\n  port:\n"),
              "t.yaml:8: http.port: has no value (write \"\" for an empty string)");
}

TEST(ConfigErrors, ErrorsInAListItemPointAtTheItemLine) {
    EXPECT_EQ(error_of(kMinimal + "risk:\n  allowed_symbols:\n    - INFY\n    - [x]\n"),
              "t.yaml:10: risk.allowed_symbols.1: must be a single value, not a list or mapping");
}

TEST(ConfigErrors, IdempotencyBackendIsStorageMemoryOrRedis) {
    EXPECT_EQ(error_of(kMinimal + "idempotency:\n  backend: memcached\n"),
              "t.yaml:8: idempotency.backend: must be storage, memory or redis, got 'memcached'");
}

TEST(ConfigErrors, RedisBackendNeedsAUrl) {
    EXPECT_EQ(error_of(kMinimal + "idempotency:\n  backend: redis\n"),
              "t.yaml:8: idempotency.redis_url: is required when the backend is redis (set it, "
              "or REDIS_URL)");
}

TEST(ConfigErrors, LoggingLevelIsChecked) {
    EXPECT_TRUE(test::starts_with(error_of(kMinimal + "logging:\n  level: loud\n"),
                                  "t.yaml:8: logging.level: must be one of"));
}

TEST(ConfigErrors, LoggingFormatIsChecked) {
    EXPECT_EQ(error_of(kMinimal + "logging:\n  format: xml\n"),
              "t.yaml:8: logging.format: must be text or json; got 'xml'");
    EXPECT_EQ(parse(kMinimal + "logging:\n  format: json\n").logging.format, "json");
    EXPECT_EQ(parse(kMinimal).logging.format, "text");
}

TEST(ConfigErrors, DuplicateBrokerNames) {
    EXPECT_EQ(
        error_of(R"(brokers:
  - name: paper
    plugin: broker-paper
  - name: paper
    plugin: broker-paper
accounts:
  - id: ACC1
    broker: paper
)"),
        "t.yaml:4: brokers.1.name: duplicate broker name 'paper' (first defined at t.yaml:2)");
}

TEST(ConfigErrors, AccountWithUnknownBroker) {
    EXPECT_EQ(error_of(R"(brokers:
  - name: paper
    plugin: broker-paper
accounts:
  - id: ACC1
    broker: papr
)"),
              "t.yaml:6: accounts.0.broker: unknown broker 'papr' (configured brokers: paper)");
}

TEST(ConfigErrors, DuplicateAccountIds) {
    EXPECT_EQ(error_of(kMinimal + "  - id: ACC1\n    broker: paper\n"),
              "t.yaml:7: accounts.1.id: duplicate account id 'ACC1' (first defined at t.yaml:5)");
}

TEST(ConfigErrors, BrokerNeedsAPlugin) {
    EXPECT_EQ(error_of("brokers:\n  - name: paper\naccounts:\n  - id: A\n    broker: paper\n"),
              "t.yaml:2: brokers.0.plugin: is required");
}

TEST(ConfigErrors, AtLeastOneBrokerAndOneAccount) {
    EXPECT_EQ(error_of("accounts:\n  - id: A\n    broker: paper\n"),
              "t.yaml:1: brokers: at least one broker instance is required");
    EXPECT_EQ(error_of("brokers:\n  - name: paper\n    plugin: p\naccounts: []\n"),
              "t.yaml:4: accounts: at least one account is required");
}

TEST(ConfigErrors, BrokerNameCharacters) {
    EXPECT_EQ(error_of("brokers:\n  - name: my broker\n    plugin: p\n"),
              "t.yaml:2: brokers.0.name: 'my broker' may use only letters, digits, '_', '-' and "
              "'.'");
}

TEST(ConfigErrors, AuthEnabledNeedsJwksIssuerAudience) {
    EXPECT_EQ(error_of(kMinimal + "auth:\n  enabled: true\n"),
              "t.yaml:8: auth.jwks_url: is required when auth is enabled (set it or JWKS_URL; or "
              "auth.hs256_secret)");
    EXPECT_EQ(error_of(kMinimal + "auth:\n  enabled: true\n  jwks_url: https://x/jwks\n"),
              "t.yaml:8: auth.issuer: is required when auth is enabled (set it or JWT_ISSUER)");
    EXPECT_EQ(
        error_of(kMinimal + "auth:\n  enabled: true\n  jwks_url: https://x/jwks\n  issuer: i\n"),
        "t.yaml:8: auth.audience: is required when auth is enabled (set it or JWT_AUDIENCE)");
}

TEST(ConfigErrors, ApiKeyHashMustBeSha256Hex) {
    EXPECT_EQ(error_of(kMinimal + "auth:\n  api_keys:\n    - sha256: abc\n      subject: s\n"),
              "t.yaml:9: auth.api_keys.0.sha256: must be 64 lower-case hex digits (the SHA-256 of "
              "the key)");
}

TEST(ConfigErrors, InvalidYamlNamesTheLine) {
    std::string msg = error_of(kMinimal + "http:\n  port: [1, 2\n");
    EXPECT_TRUE(test::starts_with(msg, "t.yaml:")) << msg;
    EXPECT_NE(msg.find("invalid YAML"), std::string::npos) << msg;
}

TEST(ConfigErrors, EmptyFile) {
    EXPECT_EQ(error_of(""), "t.yaml:1: (root): the configuration is empty");
    EXPECT_EQ(error_of("# only a comment\n"), "t.yaml:1: (root): the configuration is empty");
}

TEST(ConfigErrors, RootMustBeAMapping) {
    EXPECT_EQ(error_of("- a\n- b\n"),
              "t.yaml:1: (root): must be a mapping of sections (http:, brokers:, ...)");
}

TEST(ConfigErrors, SettingsValueMissing) {
    EXPECT_EQ(error_of("brokers:\n  - name: paper\n    plugin: p\n    settings:\n      seed:\n"),
              "t.yaml:5: brokers.0.settings.seed: has no value (write \"\" for an empty string)");
}

TEST(LoadConfig, MissingFileIsAConfigError) {
    try {
        load_config("/nonexistent/ordergate.yaml", testing::env_of({}));
        FAIL() << "expected ConfigError";
    } catch (const ConfigError& e) {
        EXPECT_EQ(std::string(e.what()),
                  "/nonexistent/ordergate.yaml: cannot read the configuration file (No such file "
                  "or directory)");
    }
}

TEST(LoadConfig, DirectoryIsAConfigError) {
    testing::TempDir dir;
    EXPECT_THROW(load_config(dir.path().string(), testing::env_of({})), ConfigError);
}

TEST(LoadConfig, ReadsAFile) {
    testing::TempDir dir;
    std::string path = dir.write("c.yaml", kMinimal + "http:\n  port: 7000\n");
    Config c = load_config(path, testing::env_of({}));
    EXPECT_EQ(c.http.port, 7000);
    EXPECT_EQ(c.source_path, path);
}

}  // namespace
}  // namespace ordergate::config
