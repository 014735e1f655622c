// RedisStore against a real redis-server: the shared store conformance cases on the ctest fixture
// instance (OG_REDIS_ENV_FILE names its env file), plus expiry, AUTH, SELECT, an unreachable and
// a hung server, and recovery after redis-server is killed and restarted (on a private instance
// started here with scripts/redis-test.sh).
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Redis/Client.h>
#include <Poco/Redis/Command.h>
#include <Poco/Redis/Type.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "idempotency/redis_store.hpp"
#include "store_conformance.hpp"

namespace ordergate::idempotency {
namespace {

using namespace std::chrono_literals;
using testing_support::StoreConformance;
using testing_support::StoreFactory;

struct Endpoint {
    std::string host;
    int port = 0;
};

Endpoint read_env_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    Endpoint e;
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("REDIS_HOST=", 0) == 0) e.host = line.substr(11);
        if (line.rfind("REDIS_PORT=", 0) == 0) e.port = std::stoi(line.substr(11));
    }
    if (e.host.empty() || e.port == 0) throw std::runtime_error("no REDIS_HOST/PORT in " + path);
    return e;
}

// The fixture's redis-server (scripts/redis-test.sh start, run by ctest before these tests).
Endpoint fixture_redis() {
    const char* env = std::getenv("OG_REDIS_ENV_FILE");
    if (!env) throw std::runtime_error("OG_REDIS_ENV_FILE is not set (run through ctest)");
    return read_env_file(env);
}

std::string unique_prefix() {
    static std::atomic<int> n{0};
    std::random_device rd;
    return "ogtest:" + std::to_string(::getpid()) + ":" + std::to_string(rd()) + ":" +
           std::to_string(n++) + ":";
}

RedisConfig config_for(const Endpoint& e) {
    RedisConfig c;
    c.host = e.host;
    c.port = e.port;
    c.key_prefix = unique_prefix();
    return c;
}

// A plain client for looking at what the store wrote.
class Raw {
public:
    explicit Raw(const Endpoint& e, const std::string& password = "") {
        client_.connect(e.host, e.port, Poco::Timespan(2, 0));
        if (!password.empty()) {
            Poco::Redis::Command auth("AUTH");
            auth << password;
            client_.execute<std::string>(auth);
        }
    }
    Poco::Int64 integer(Poco::Redis::Array cmd) { return client_.execute<Poco::Int64>(cmd); }
    std::string simple(Poco::Redis::Array cmd) { return client_.execute<std::string>(cmd); }
    Poco::Redis::Client& client() { return client_; }

private:
    Poco::Redis::Client client_;
};

Poco::Redis::Command cmd(std::initializer_list<std::string> parts) {
    auto it = parts.begin();
    Poco::Redis::Command c(*it++);
    for (; it != parts.end(); ++it) c << *it;
    return c;
}

// ---- the shared conformance cases ---------------------------------------------------------------

INSTANTIATE_TEST_SUITE_P(Redis, StoreConformance,
                         testing::Values(StoreFactory{"Redis",
                                                      [] {
                                                          return std::make_unique<RedisStore>(
                                                              config_for(fixture_redis()));
                                                      }}),
                         testing_support::factory_name);

// ---- Redis specifics ----------------------------------------------------------------------------

const std::string kFp = fingerprint("POST", "/api/v1/orders", "{}");

TEST(RedisStore, WritesPrefixedKeysWithTheConfiguredExpiries) {
    auto e = fixture_redis();
    RedisConfig c = config_for(e);
    c.ttl.in_flight = 60s;
    c.ttl.completed = 24h;
    RedisStore store(c);
    const auto key = scoped_key("alice", "k1");
    ASSERT_EQ(store.begin(key, kFp).outcome, Outcome::Proceed);
    Raw raw(e);
    const std::string full = c.key_prefix + key;
    EXPECT_EQ(raw.integer(cmd({"EXISTS", full})), 1);
    Poco::Int64 ttl = raw.integer(cmd({"TTL", full}));
    EXPECT_GT(ttl, 0);
    EXPECT_LE(ttl, 60);
    store.complete(key, kFp, StoredResponse{201, "{}", {}});
    ttl = raw.integer(cmd({"TTL", full}));
    EXPECT_GT(ttl, 60);
    EXPECT_LE(ttl, 24 * 3600);
    // A key that vanished (expired) is free again.
    EXPECT_EQ(raw.integer(cmd({"DEL", full})), 1);
    EXPECT_EQ(store.begin(key, kFp).outcome, Outcome::Proceed);
}

TEST(RedisStore, InFlightLeaseReallyExpires) {
    // One real expiry, with a one-second lease: polled with a bounded deadline (Redis's own
    // clock decides), never slept on.
    auto e = fixture_redis();
    RedisConfig c = config_for(e);
    c.ttl.in_flight = 1s;
    RedisStore store(c);
    const auto key = scoped_key("alice", "lease");
    ASSERT_EQ(store.begin(key, kFp).outcome, Outcome::Proceed);
    EXPECT_EQ(store.begin(key, kFp).outcome, Outcome::InFlight);
    Raw raw(e);
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (raw.integer(cmd({"EXISTS", c.key_prefix + key})) == 1) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the lease never expired";
        std::this_thread::yield();
    }
    EXPECT_EQ(store.begin(key, kFp).outcome, Outcome::Proceed);
}

TEST(RedisStore, SelectsTheConfiguredDatabase) {
    auto e = fixture_redis();
    RedisConfig c = config_for(e);
    c.db = 3;
    RedisStore store(c);
    const auto key = scoped_key("alice", "db");
    ASSERT_EQ(store.begin(key, kFp).outcome, Outcome::Proceed);
    Raw raw(e);
    EXPECT_EQ(raw.integer(cmd({"EXISTS", c.key_prefix + key})), 0);  // not in db 0
    EXPECT_EQ(raw.simple(cmd({"SELECT", "3"})), "OK");
    EXPECT_EQ(raw.integer(cmd({"EXISTS", c.key_prefix + key})), 1);
}

TEST(RedisStore, UnreadableEntryIsUnavailableNotAGuess) {
    auto e = fixture_redis();
    RedisConfig c = config_for(e);
    RedisStore store(c);
    const auto key = scoped_key("alice", "garbage");
    Raw raw(e);
    EXPECT_EQ(raw.simple(cmd({"SET", c.key_prefix + key, "not an entry"})), "OK");
    EXPECT_THROW(store.begin(key, kFp), IdempotencyUnavailable);
}

TEST(RedisStore, ConnectionsArePooledAndBounded) {
    auto e = fixture_redis();
    RedisConfig c = config_for(e);
    c.pool_size = 2;
    RedisStore store(c);
    EXPECT_EQ(store.open_connections(), 0u);  // lazy
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 50; ++i)
                store.begin(scoped_key("p", std::to_string(t * 100 + i)), kFp);
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_GE(store.open_connections(), 1u);
    EXPECT_LE(store.open_connections(), 2u);
}

TEST(RedisStore, NothingListeningIsUnavailableQuickly) {
    // A port that was just free: connection refused.
    int port;
    {
        Poco::Net::ServerSocket s(Poco::Net::SocketAddress("127.0.0.1", 0));
        port = s.address().port();
    }
    RedisConfig c;
    c.host = "127.0.0.1";
    c.port = port;
    RedisStore store(c);
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_THROW(store.begin(scoped_key("a", "k"), kFp), IdempotencyUnavailable);
    EXPECT_THROW(store.complete(scoped_key("a", "k"), kFp, {}), IdempotencyUnavailable);
    EXPECT_THROW(store.release(scoped_key("a", "k"), kFp), IdempotencyUnavailable);
    EXPECT_THROW(store.check(), IdempotencyUnavailable);
    EXPECT_FALSE(store.ping());
    EXPECT_FALSE(store.last_ping_error().empty());
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
    EXPECT_EQ(store.open_connections(), 0u);
}

TEST(RedisStore, HungServerIsUnavailableWithinTheTimeouts) {
    // Accepts connections (the kernel's backlog does) and never answers.
    Poco::Net::ServerSocket hung(Poco::Net::SocketAddress("127.0.0.1", 0));
    RedisConfig c;
    c.host = "127.0.0.1";
    c.port = hung.address().port();
    c.connect_timeout = 300ms;
    c.io_timeout = 300ms;
    c.ping_timeout = 200ms;
    RedisStore store(c);
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_THROW(store.begin(scoped_key("a", "k"), kFp), IdempotencyUnavailable);
    auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_GE(took, 250ms);
    EXPECT_LT(took, 1500ms);
    t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(store.ping());
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
}

TEST(RedisStore, ConfigIsValidated) {
    RedisConfig c;
    c.host = "";
    EXPECT_THROW(RedisStore{c}, std::invalid_argument);
    c = {};
    c.pool_size = 0;
    EXPECT_THROW(RedisStore{c}, std::invalid_argument);
    c = {};
    c.io_timeout = 0ms;
    EXPECT_THROW(RedisStore{c}, std::invalid_argument);
    c = {};
    c.port = 70000;
    EXPECT_THROW(RedisStore{c}, std::invalid_argument);
}

// ---- a private redis-server: AUTH, outage and recovery --------------------------------------

class PrivateRedis : public testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("og-idem-redis-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
        std::filesystem::create_directories(dir_);
        ASSERT_EQ(script("start"), 0);
        endpoint_ = read_env_file((dir_ / "redis.env").string());
    }
    void TearDown() override {
        EXPECT_EQ(script("stop"), 0);
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    int script(const std::string& action) {
        const std::string command = std::string(OG_REDIS_TEST_SCRIPT) + " " + action + " '" +
                                    dir_.string() + "' >/dev/null";
        return std::system(command.c_str());
    }

    static inline int counter_ = 0;
    std::filesystem::path dir_;
    Endpoint endpoint_;
};

TEST_F(PrivateRedis, RecoversByItselfAfterRedisIsKilledAndRestarted) {
    RedisConfig c = config_for(endpoint_);
    c.connect_timeout = 300ms;
    c.io_timeout = 500ms;
    RedisStore store(c);
    ASSERT_EQ(store.begin(scoped_key("a", "before"), kFp).outcome, Outcome::Proceed);
    store.complete(scoped_key("a", "before"), kFp, StoredResponse{201, "x", {}});
    EXPECT_TRUE(store.ping());
    EXPECT_NO_THROW(store.check());

    ASSERT_EQ(script("kill"), 0);
    EXPECT_THROW(store.check(), IdempotencyUnavailable);
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 5; ++i)
        EXPECT_THROW(store.begin(scoped_key("a", "during" + std::to_string(i)), kFp),
                     IdempotencyUnavailable);
    EXPECT_FALSE(store.ping());
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);

    ASSERT_EQ(script("restart"), 0);
    // The first call after the restart already works (no persistence: the old keys are gone).
    EXPECT_EQ(store.begin(scoped_key("a", "after"), kFp).outcome, Outcome::Proceed);
    EXPECT_EQ(store.begin(scoped_key("a", "before"), kFp).outcome, Outcome::Proceed);
    EXPECT_TRUE(store.ping());
    EXPECT_NO_THROW(store.check());
}

TEST_F(PrivateRedis, IdleConnectionsFromBeforeARestartAreReplacedTransparently) {
    RedisConfig c = config_for(endpoint_);
    c.pool_size = 4;
    RedisStore store(c);
    // Fill the pool with idle connections.
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 20; ++i) store.begin(scoped_key("w", std::to_string(t * 50 + i)), kFp);
        });
    for (auto& th : threads) th.join();
    ASSERT_GE(store.open_connections(), 1u);
    ASSERT_EQ(script("restart"), 0);  // every idle connection is now dead
    EXPECT_EQ(store.begin(scoped_key("a", "x"), kFp).outcome, Outcome::Proceed);
    EXPECT_EQ(store.begin(scoped_key("a", "x"), kFp).outcome, Outcome::InFlight);
}

TEST_F(PrivateRedis, AuthWithPasswordAndWrongPasswordNeverLeaks) {
    Raw raw(endpoint_);
    const std::string secret = "s3cr3t-Pa55word";
    EXPECT_EQ(raw.simple(cmd({"CONFIG", "SET", "requirepass", secret})), "OK");

    RedisConfig good = config_for(endpoint_);
    good.password = secret;
    RedisStore ok(good);
    EXPECT_EQ(ok.begin(scoped_key("a", "k"), kFp).outcome, Outcome::Proceed);
    EXPECT_TRUE(ok.ping());
    EXPECT_EQ(describe(good).find(secret), std::string::npos);

    RedisConfig none = config_for(endpoint_);
    RedisStore no_auth(none);
    try {
        no_auth.begin(scoped_key("a", "k"), kFp);
        ADD_FAILURE() << "no exception without a password";
    } catch (const IdempotencyUnavailable& e) {
        EXPECT_NE(std::string(e.what()).find("NOAUTH"), std::string::npos) << e.what();
    }

    RedisConfig bad = config_for(endpoint_);
    bad.password = "wrong-" + secret;
    RedisStore wrong(bad);
    try {
        wrong.begin(scoped_key("a", "k"), kFp);
        ADD_FAILURE() << "no exception with a wrong password";
    } catch (const IdempotencyUnavailable& e) {
        EXPECT_EQ(std::string(e.what()).find(secret), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("AUTH"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(wrong.ping());
    EXPECT_EQ(wrong.last_ping_error().find(secret), std::string::npos);
    // Let the fixture's stop (redis-cli-free SIGTERM) work either way; clear the password.
    Raw admin(endpoint_, secret);
    EXPECT_EQ(admin.simple(cmd({"CONFIG", "SET", "requirepass", ""})), "OK");
}

// ---- REDIS_URL -----------------------------------------------------------------------------

TEST(RedisUrl, Parses) {
    RedisConfig c;
    std::string why;
    ASSERT_TRUE(parse_redis_url("redis://127.0.0.1:6380/2", &c, &why)) << why;
    EXPECT_EQ(c.host, "127.0.0.1");
    EXPECT_EQ(c.port, 6380);
    EXPECT_EQ(c.db, 2);
    EXPECT_TRUE(c.password.empty());
    ASSERT_TRUE(parse_redis_url("redis://cache.internal", &c, &why));
    EXPECT_EQ(c.host, "cache.internal");
    EXPECT_EQ(c.port, 6379);
    EXPECT_EQ(c.db, 0);
    ASSERT_TRUE(parse_redis_url("redis://:p%40ss%3Aw@redis:7000/", &c, &why));
    EXPECT_EQ(c.password, "p@ss:w");
    EXPECT_TRUE(c.username.empty());
    EXPECT_EQ(c.port, 7000);
    ASSERT_TRUE(parse_redis_url("redis://app:pw@[::1]:6379/1", &c, &why));
    EXPECT_EQ(c.username, "app");
    EXPECT_EQ(c.password, "pw");
    EXPECT_EQ(c.host, "::1");
    EXPECT_EQ(c.db, 1);
    ASSERT_TRUE(parse_redis_url("redis://justpassword@h", &c, &why));
    EXPECT_EQ(c.password, "justpassword");
    // The rest of the config is kept.
    c.key_prefix = "custom:";
    ASSERT_TRUE(parse_redis_url("redis://h", &c, &why));
    EXPECT_EQ(c.key_prefix, "custom:");
    EXPECT_TRUE(c.password.empty());
}

TEST(RedisUrl, UserPasswordHostPortAndDatabase) {
    RedisConfig c;
    std::string why;
    ASSERT_TRUE(parse_redis_url("redis://app:s3cret@cache.internal:6390/5", &c, &why)) << why;
    EXPECT_EQ(c.username, "app");
    EXPECT_EQ(c.password, "s3cret");
    EXPECT_EQ(c.host, "cache.internal");
    EXPECT_EQ(c.port, 6390);
    EXPECT_EQ(c.db, 5);
    // Escapes in the user and the password; '+' is itself there (not a query string).
    ASSERT_TRUE(parse_redis_url("redis://us%65r:a+b%2Fc%25@10.0.0.7:7000/0", &c, &why)) << why;
    EXPECT_EQ(c.username, "user");
    EXPECT_EQ(c.password, "a+b/c%");
    EXPECT_EQ(c.host, "10.0.0.7");
    EXPECT_EQ(c.db, 0);
    // A later URL without user info clears what an earlier one set.
    ASSERT_TRUE(parse_redis_url("redis://h:1/", &c, &why)) << why;
    EXPECT_TRUE(c.username.empty());
    EXPECT_TRUE(c.password.empty());
    EXPECT_EQ(c.port, 1);
}

TEST(RedisUrl, TlsIsRefusedSayingSo) {
    RedisConfig c;
    std::string why;
    EXPECT_FALSE(parse_redis_url("rediss://:topsecret@cache:6380/0", &c, &why));
    EXPECT_NE(why.find("TLS"), std::string::npos) << why;
    EXPECT_NE(why.find("not supported"), std::string::npos) << why;
    EXPECT_EQ(why.find("topsecret"), std::string::npos);
}

TEST(RedisUrl, RefusesWithoutLeakingThePassword) {
    RedisConfig c;
    std::string why;
    for (const char* bad : {"http://h", "rediss://h", "redis://", "redis://h:0", "redis://h:99999",
                            "redis://h:port", "redis://h/db", "redis://[::1", "redis://:%zz@h",
                            "redis://:pw%4@h", "redis://h?x=1", "redis://h#f", "redis://h:-1",
                            "redis:/h"}) {
        EXPECT_FALSE(parse_redis_url(bad, &c, &why)) << bad;
        EXPECT_FALSE(why.empty()) << bad;
    }
    EXPECT_FALSE(parse_redis_url("redis://:topsecret@h:bad", &c, &why));
    EXPECT_EQ(why.find("topsecret"), std::string::npos);
    EXPECT_NE(std::string(why).find("port"), std::string::npos);
}

TEST(RedisUrl, DescribeHidesThePassword) {
    RedisConfig c;
    c.host = "h";
    c.port = 1;
    c.db = 2;
    EXPECT_EQ(describe(c), "redis://h:1/2");
    c.password = "pw";
    EXPECT_EQ(describe(c), "redis://h:1/2, auth");
}

}  // namespace
}  // namespace ordergate::idempotency
