// The YAML files in configs/ parse and mean what their comments say.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "config/config.hpp"
#include "config_test_util.hpp"
#include "fake_env.hpp"

namespace ordergate::config {
namespace {

using testing::env_of;
using testing::TempDir;

std::string configs_dir() { return OG_CONFIGS_DIR; }

std::string setting(const Settings& s, const std::string& key) {
    const std::string* v = find_setting(s, key);
    return v ? *v : "<missing>";
}

TEST(ShippedConfigs, EmbeddedDefaultIsConfigsDefaultYaml) {
    std::string text, why;
    ASSERT_TRUE(secrets::read_whole_file(configs_dir() + "/default.yaml", &text, &why)) << why;
    EXPECT_EQ(default_config_yaml(), text);
}

TEST(ShippedConfigs, DefaultYamlMeansTheEmbeddedDefault) {
    Config c = load_default_config(env_of({}));
    EXPECT_EQ(c.source_path, "<embedded configs/default.yaml>");
    EXPECT_EQ(c.http.host, "0.0.0.0");
    EXPECT_EQ(c.http.port, 8087);
    EXPECT_EQ(c.http.body_limit_bytes, 65536u);
    EXPECT_EQ(c.plugin_dirs,
              (std::vector<std::string>{"./build/plugins", "/usr/local/lib/ordergate/plugins",
                                        "/usr/lib/ordergate/plugins"}));
    EXPECT_EQ(c.storage.plugin, "storage-sqlite");
    EXPECT_EQ(setting(c.storage.settings, "path"), "./data/ordergate.db");
    ASSERT_EQ(c.brokers.size(), 1u);
    const BrokerConfig& paper = c.brokers[0];
    EXPECT_EQ(paper.name, "paper");
    EXPECT_EQ(paper.plugin, "broker-paper");
    EXPECT_EQ(paper.timeout_ms, 5000);
    EXPECT_EQ(setting(paper.settings, "seed"), "42");
    EXPECT_EQ(setting(paper.settings, "initial_cash"), "10000000");
    EXPECT_EQ(setting(paper.settings, "accounts"), "ACC1,ACC2");
    EXPECT_EQ(setting(paper.settings, "prices.INFY"), "1500.00");
    ASSERT_EQ(c.accounts.size(), 2u);
    EXPECT_EQ(c.accounts[0].id, "ACC1");
    EXPECT_EQ(c.accounts[1].id, "ACC2");
    EXPECT_EQ(c.accounts[1].broker, "paper");
    EXPECT_FALSE(c.accounts[0].risk);
    ASSERT_TRUE(c.risk.max_quantity);
    EXPECT_EQ(*c.risk.max_quantity, Decimal::from_int(100000));
    ASSERT_TRUE(c.risk.max_notional);
    EXPECT_EQ(*c.risk.max_notional, Decimal::from_int(100000000));
    EXPECT_EQ(c.risk.max_orders_per_second, 0u);
    EXPECT_EQ(c.idempotency.backend, "storage");  // keys survive a restart
    EXPECT_EQ(c.idempotency.ttl_seconds, 86400);
    EXPECT_FALSE(c.idempotency.require_key);
    EXPECT_FALSE(c.auth.enabled);
    EXPECT_EQ(c.logging.level, "info");
    EXPECT_TRUE(c.secret_keys.empty());
}

TEST(ShippedConfigs, DefaultYamlFromDiskLoads) {
    Config c = load_config(configs_dir() + "/default.yaml", env_of({}));
    EXPECT_EQ(c.source_path, configs_dir() + "/default.yaml");
    EXPECT_EQ(c.http.port, 8087);
}

TEST(ShippedConfigs, FixExampleDefaultsPointAtTheSimulator) {
    Config c = load_config(configs_dir() + "/fix.example.yaml", env_of({}));
    ASSERT_EQ(c.brokers.size(), 1u);
    EXPECT_EQ(c.brokers[0].plugin, "broker-fix");
    EXPECT_EQ(setting(c.brokers[0].settings, "host"), "127.0.0.1");
    EXPECT_EQ(setting(c.brokers[0].settings, "port"), "9878");
    EXPECT_EQ(setting(c.brokers[0].settings, "begin_string"), "FIX.4.4");
    EXPECT_EQ(setting(c.brokers[0].settings, "sender_comp_id"), "GW1");
    EXPECT_EQ(setting(c.brokers[0].settings, "target_comp_id"), "VENUE");
    ASSERT_EQ(c.accounts.size(), 2u);
    EXPECT_EQ(c.accounts[0].id, "ACC1");
    EXPECT_EQ(c.accounts[1].id, "ACC2");
    EXPECT_EQ(c.storage.plugin, "storage-sqlite");
}

TEST(ShippedConfigs, FixExampleTakesTheSessionFromTheEnvironment) {
    Config c = load_config(configs_dir() + "/fix.example.yaml",
                           env_of({{"FIX_HOST", "10.1.2.3"},
                                   {"FIX_PORT", "5001"},
                                   {"FIX_BEGIN_STRING", "FIX.4.2"},
                                   {"FIX_SENDER_COMP_ID", "FIRM"},
                                   {"FIX_TARGET_COMP_ID", "BROKER"}}));
    EXPECT_EQ(setting(c.brokers[0].settings, "host"), "10.1.2.3");
    EXPECT_EQ(setting(c.brokers[0].settings, "port"), "5001");
    EXPECT_EQ(setting(c.brokers[0].settings, "begin_string"), "FIX.4.2");
    EXPECT_EQ(setting(c.brokers[0].settings, "sender_comp_id"), "FIRM");
    EXPECT_EQ(setting(c.brokers[0].settings, "target_comp_id"), "BROKER");
}

const std::map<std::string, std::string> kProductionEnv = {
    {"DATABASE_URL", "postgresql://og:db-pass-123@db.internal:5432/trading"},
    {"REDIS_URL", "redis://:redis-pass-456@redis.internal:6379/0"},
    {"JWKS_URL", "https://auth.internal/.well-known/jwks.json"},
    {"JWT_ISSUER", "https://auth.internal/"},
    {"JWT_AUDIENCE", "ordergate"}};

TEST(ShippedConfigs, ProductionExampleParsesWithItsEnvironment) {
    Config c = load_config(configs_dir() + "/production.example.yaml", env_of(kProductionEnv));
    EXPECT_EQ(c.http.port, 8087);
    EXPECT_EQ(c.storage.plugin, "storage-postgres");
    EXPECT_EQ(setting(c.storage.settings, "url"), kProductionEnv.at("DATABASE_URL"));
    EXPECT_EQ(setting(c.storage.settings, "schema"), "order_service");
    EXPECT_EQ(c.idempotency.backend, "redis");
    EXPECT_EQ(c.idempotency.redis_url, kProductionEnv.at("REDIS_URL"));
    EXPECT_TRUE(c.idempotency.redis_required);
    EXPECT_TRUE(c.idempotency.require_key);
    EXPECT_TRUE(c.auth.enabled);
    EXPECT_EQ(c.auth.jwks_url, kProductionEnv.at("JWKS_URL"));
    EXPECT_EQ(c.auth.issuer, "https://auth.internal/");
    EXPECT_EQ(c.auth.audience, "ordergate");
    ASSERT_TRUE(c.accounts[1].risk);
    EXPECT_EQ(*c.accounts[1].risk->max_quantity, Decimal::from_int(5000));
    EXPECT_EQ(c.accounts[1].risk->max_orders_per_second, 5u);
    // Keys the account does not set come from the global limits.
    EXPECT_EQ(*c.accounts[1].risk->max_notional, Decimal::from_int(50000000));
    EXPECT_EQ(c.accounts[1].risk->allowed_exchanges, (std::vector<std::string>{"NSE", "BSE"}));

    const std::string text = describe(c);
    for (const auto& secret : {"db-pass-123", "redis-pass-456"})
        EXPECT_EQ(text.find(secret), std::string::npos) << secret << " leaked:\n" << text;
    EXPECT_NE(text.find("postgresql://og:***@db.internal:5432/trading"), std::string::npos) << text;
    EXPECT_NE(text.find("redis://:***@redis.internal:6379/0"), std::string::npos) << text;
}

TEST(ShippedConfigs, ProductionExampleCommentedBrokerCredentialsWork) {
    // The commented `live` broker, uncommented, takes its credentials from secrets.
    std::string text, why;
    ASSERT_TRUE(secrets::read_whole_file(configs_dir() + "/production.example.yaml", &text, &why));
    std::string uncommented;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        for (const char* marker : {"  # - name: live", "  #   "}) {
            if (line.rfind(marker, 0) == 0) {
                line.erase(2, 2);
                break;
            }
        }
        uncommented += line + "\n";
    }
    ASSERT_NE(uncommented, text);
    TempDir dir;
    auto env = kProductionEnv;
    env["MYBROKER_API_KEY"] = "live-key-1";
    env["MYBROKER_API_SECRET_FILE"] = dir.write("s", "live-secret-2\n");
    Config c = parse_config(uncommented, "production.example.yaml", env_of(env));
    const BrokerConfig* live = c.find_broker("live");
    ASSERT_NE(live, nullptr);
    EXPECT_EQ(setting(live->settings, "api_key"), "live-key-1");
    EXPECT_EQ(setting(live->settings, "api_secret"), "live-secret-2");
    const std::string shown = describe(c);
    EXPECT_EQ(shown.find("live-key-1"), std::string::npos) << shown;
    EXPECT_EQ(shown.find("live-secret-2"), std::string::npos) << shown;
}

TEST(ShippedConfigs, ProductionExampleNamesAMissingVariable) {
    auto env = kProductionEnv;
    env.erase("JWT_AUDIENCE");
    const std::string path = configs_dir() + "/production.example.yaml";
    try {
        load_config(path, env_of(env));
        FAIL() << "expected ConfigError";
    } catch (const ConfigError& e) {
        std::string msg = e.what();
        EXPECT_TRUE(config::test::starts_with(msg, path + ":")) << msg;
        EXPECT_NE(msg.find(": auth.audience: variable JWT_AUDIENCE is not set"), std::string::npos)
            << msg;
    }
}

TEST(ShippedConfigs, BenchYamlUsesTheDataDirAndHugeCash) {
    Config c = load_config(configs_dir() + "/bench.yaml", env_of({{"OG_DATA_DIR", "/tmp/b1"}}));
    EXPECT_EQ(setting(c.storage.settings, "path"), "/tmp/b1/ordergate.db");
    EXPECT_EQ(setting(c.brokers[0].settings, "initial_cash"), "1000000000000");
    EXPECT_EQ(c.risk.max_orders_per_second, 0u);
    EXPECT_EQ(c.logging.level, "warn");
    Config d = load_config(configs_dir() + "/bench.yaml", env_of({}));
    EXPECT_EQ(setting(d.storage.settings, "path"), "./data/bench/ordergate.db");
}

TEST(ShippedConfigs, TestYamlNeedsPortAndDataDir) {
    Config c = load_config(configs_dir() + "/test.yaml",
                           env_of({{"PORT", "18087"}, {"OG_DATA_DIR", "/tmp/t1"}}));
    EXPECT_EQ(c.http.port, 18087);
    EXPECT_EQ(c.http.host, "127.0.0.1");
    EXPECT_EQ(setting(c.storage.settings, "path"), "/tmp/t1/ordergate.db");
    EXPECT_THROW(load_config(configs_dir() + "/test.yaml", env_of({{"PORT", "18087"}})),
                 ConfigError);
}

}  // namespace
}  // namespace ordergate::config
