// ordergate::idempotency::RedisStore — the idempotency port on Redis (production, several gateway
// processes sharing one store). An adapter: Poco::Redis stays inside redis_store.cpp.
//
// Keys: `key_prefix` + scoped key. Values: entry_codec.hpp. Every write carries an expiry.
//  - begin():    SET key <in-flight> NX EX <in_flight ttl>; +OK is Proceed. Otherwise GET and
//                compare (Replay / InFlight / Reused); if the key vanished in between (expired or
//                released), SET NX again (a few times at most).
//  - complete(): a Lua script (EVALSHA, EVAL when the server lacks it) that SETs the completed
//                entry with EX <ttl> only when the key is absent or holds this request's in-flight
//                marker — atomic, so it never overwrites another request's entry.
//  - release():  a Lua script that DELetes the key only when it holds this request's marker.
//  - ping():     PING with `ping_timeout`.
//
// Connections: a pool of at most `pool_size`, opened lazily (the constructor does not connect, so
// the gateway can start while Redis is down). A connection gets AUTH (when a password is set) and
// SELECT (when db != 0) on opening. A request waits at most `io_timeout` for a free connection.
// On any socket error, timeout or unexpected reply the connection is closed and dropped, and the
// call throws IdempotencyUnavailable; the next call opens a new connection, so the store recovers
// by itself when Redis returns. Every network wait is bounded: connect by `connect_timeout`, each
// reply by `io_timeout` (`ping_timeout` for PING).
//
// The password is never logged nor put in an exception message; describe() prints the config
// without it.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "idempotency/idempotency.hpp"

namespace ordergate::idempotency {

struct RedisConfig {
    std::string host = "127.0.0.1";
    int port = 6379;
    std::string username;  // Redis 6 ACL user; empty: AUTH <password> alone
    std::string password;  // empty: no AUTH
    int db = 0;
    std::string key_prefix = "ordergate:idem:";
    Ttl ttl;
    std::chrono::milliseconds connect_timeout{500};
    std::chrono::milliseconds io_timeout{1000};
    std::chrono::milliseconds ping_timeout{300};
    size_t pool_size = 8;
};

// Reads a REDIS_URL: redis://[[username]:password@]host[:port][/db] (percent-escapes decoded in
// the user and password). Only the connection fields of *out are set; the rest keep their values.
// Returns false with a reason (never containing the password) for anything else, rediss:// (TLS)
// included.
bool parse_redis_url(std::string_view url, RedisConfig* out, std::string* why);

// "redis://host:port/db" with ", auth" when a password is set: for logs, without secrets.
std::string describe(const RedisConfig& config);

class RedisStore final : public IdempotencyStore {
public:
    // Throws std::invalid_argument on an unusable config (empty host, port or db out of range,
    // pool_size 0, non-positive TTLs or timeouts). Does not connect.
    explicit RedisStore(RedisConfig config);
    ~RedisStore() override;
    RedisStore(const RedisStore&) = delete;
    RedisStore& operator=(const RedisStore&) = delete;

    BeginResult begin(const std::string& scoped_key, const std::string& fingerprint) override;
    void complete(const std::string& scoped_key, const std::string& fingerprint,
                  const StoredResponse& response) override;
    void release(const std::string& scoped_key, const std::string& fingerprint) override;
    bool ping() override;
    void check() override;  // PING on a pooled connection (ping() has one connection of its own)

    // Why the last failed ping() failed (for the readiness detail and logs); no secrets.
    std::string last_ping_error() const;
    // Connections currently open (idle and in use), the ping connection not counted.
    size_t open_connections() const;

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ordergate::idempotency
