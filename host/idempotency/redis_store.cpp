#include "idempotency/redis_store.hpp"

#include <Poco/Exception.h>
#include <Poco/Redis/Array.h>
#include <Poco/Redis/Client.h>
#include <Poco/Redis/Command.h>
#include <Poco/Redis/Error.h>
#include <Poco/Redis/Type.h>
#include <Poco/Timespan.h>
#include <Poco/URI.h>
#include <openssl/evp.h>

#include <array>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <vector>

#include "idempotency/entry_codec.hpp"

namespace ordergate::idempotency {

namespace {

using Poco::Redis::Client;
using Poco::Redis::RedisType;

// SETs the completed entry only when the key is absent or holds this request's marker.
constexpr std::string_view kCompleteScript =
    "local v = redis.call('GET', KEYS[1])\n"
    "if v == false or v == ARGV[1] then\n"
    "  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])\n"
    "  return 1\n"
    "end\n"
    "return 0\n";

// DELetes the key only when it holds this request's marker.
constexpr std::string_view kReleaseScript =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  return redis.call('DEL', KEYS[1])\n"
    "end\n"
    "return 0\n";

// A reply that is not what the command answers, or a Redis error reply.
class ReplyError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

std::string sha1_hex(std::string_view text) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int len = 0;
    if (EVP_Digest(text.data(), text.size(), digest.data(), &len, EVP_sha1(), nullptr) != 1)
        throw std::runtime_error("SHA-1 failed (OpenSSL EVP_Digest)");
    static const char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) {
        out.push_back(kHex[digest[i] >> 4]);
        out.push_back(kHex[digest[i] & 0x0F]);
    }
    return out;
}

Poco::Timespan to_timespan(std::chrono::milliseconds ms) {
    return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(ms.count()) * 1000);
}

std::string error_text(const RedisType::Ptr& reply) {
    auto* e = dynamic_cast<const Poco::Redis::Type<Poco::Redis::Error>*>(reply.get());
    return e ? e->value().getMessage() : std::string("error");
}

std::optional<std::string> bulk(const RedisType::Ptr& reply, const char* what) {
    if (reply->isError()) throw ReplyError(std::string(what) + ": " + error_text(reply));
    auto* b = dynamic_cast<const Poco::Redis::Type<Poco::Redis::BulkString>*>(reply.get());
    if (!b) throw ReplyError(std::string(what) + ": unexpected reply type");
    if (b->value().isNull()) return std::nullopt;
    return b->value().value();
}

int64_t integer(const RedisType::Ptr& reply, const char* what) {
    if (reply->isError()) throw ReplyError(std::string(what) + ": " + error_text(reply));
    auto* i = dynamic_cast<const Poco::Redis::Type<Poco::Int64>*>(reply.get());
    if (!i) throw ReplyError(std::string(what) + ": unexpected reply type");
    return i->value();
}

// "OK"/"PONG" style simple strings; nullopt for a null bulk string (SET NX refused).
std::optional<std::string> simple_or_null(const RedisType::Ptr& reply, const char* what) {
    if (reply->isError()) throw ReplyError(std::string(what) + ": " + error_text(reply));
    if (reply->isSimpleString()) {
        auto* s = dynamic_cast<const Poco::Redis::Type<std::string>*>(reply.get());
        if (!s) throw ReplyError(std::string(what) + ": unexpected reply type");
        return s->value();
    }
    if (bulk(reply, what)) throw ReplyError(std::string(what) + ": unexpected bulk reply");
    return std::nullopt;
}

bool parse_int(std::string_view s, int min, int max, int* out) {
    int v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < min || v > max)
        return false;
    *out = v;
    return true;
}

}  // namespace

bool parse_redis_url(std::string_view url, RedisConfig* out, std::string* why) {
    auto fail = [&](const char* reason) {
        if (why) *why = reason;
        return false;
    };
    // Checked on the text first: Poco would read "rediss://" as one more scheme.
    if (url.substr(0, 9) == "rediss://")
        return fail("rediss:// (Redis over TLS) is not supported; use redis:// on a trusted "
                    "network or through a local TLS tunnel to Redis");
    if (url.substr(0, 8) != "redis://") return fail("must start with redis://");
    Poco::URI uri;
    try {
        uri = Poco::URI(std::string(url));
    } catch (const Poco::SyntaxException& e) {
        // Poco names the offending part (a bad port, an unclosed '['); the user info (which may
        // hold the password) is never part of its message for a redis:// URL, but say only what
        // kind of thing is wrong to be sure.
        const std::string text = e.message();
        if (text.find("port") != std::string::npos) return fail("bad port");
        if (text.find("]") != std::string::npos || text.find("IPv6") != std::string::npos)
            return fail("unclosed '[' in the host");
        return fail("malformed URL");
    }
    RedisConfig c = *out;
    c.username.clear();
    c.password.clear();
    c.db = 0;
    c.host = uri.getHost();
    // getPort() would answer 0 for a scheme Poco does not know; the Redis default is 6379.
    c.port = uri.getSpecifiedPort() != 0 ? uri.getSpecifiedPort() : 6379;
    if (c.host.empty()) return fail("missing host");
    if (!uri.getRawQuery().empty() || !uri.getFragment().empty())
        return fail("a query or fragment is not allowed");
    // Poco 1.11 keeps the user info as written: its escapes are decoded here.
    const std::string& userinfo = uri.getUserInfo();
    if (!userinfo.empty()) {
        const size_t colon = userinfo.find(':');
        try {
            if (colon == std::string::npos) {
                // "redis://secret@host": a lone userinfo is the password (as redis-cli reads it).
                Poco::URI::decode(userinfo, c.password);
            } else {
                Poco::URI::decode(userinfo.substr(0, colon), c.username);
                Poco::URI::decode(userinfo.substr(colon + 1), c.password);
            }
        } catch (const Poco::SyntaxException&) {
            return fail("bad percent-escape in the user or password");
        }
    }
    // The path is "/<db>" (or "/" or nothing), already decoded by Poco.
    std::string_view db = uri.getPath();
    if (!db.empty() && db.front() == '/') db.remove_prefix(1);
    if (!db.empty() && !parse_int(db, 0, 1 << 20, &c.db))
        return fail("the database after '/' must be a number");
    *out = std::move(c);
    return true;
}

std::string describe(const RedisConfig& config) {
    std::string out = "redis://" + config.host + ":" + std::to_string(config.port) + "/" +
                      std::to_string(config.db);
    if (!config.password.empty()) out += config.username.empty() ? ", auth" : ", auth as user";
    return out;
}

class RedisStore::Impl {
public:
    explicit Impl(RedisConfig config)
        : config_(std::move(config)),
          complete_sha_(sha1_hex(kCompleteScript)),
          release_sha_(sha1_hex(kReleaseScript)) {}

    template <typename F>
    auto run(const char* op, F&& f) {
        // One retry on a fresh connection when a connection taken from the idle list fails with
        // a socket error: after a Redis restart every idle connection is dead, and the first
        // request should not be the one that finds out. Timeouts are not retried (a slow Redis
        // would double the wait). Every command here is safe to send twice (see begin()).
        for (int attempt = 0;; ++attempt) {
            bool reused = false;
            std::unique_ptr<Client> client = acquire(&reused);
            try {
                auto result = f(*client);
                give_back(std::move(client));
                return result;
            } catch (const Poco::TimeoutException& e) {
                discard(std::move(client));
                throw IdempotencyUnavailable(std::string("redis ") + op + " timed out: " +
                                             e.displayText());
            } catch (const Poco::Exception& e) {
                discard(std::move(client));
                drop_idle();
                if (reused && attempt == 0) continue;
                throw IdempotencyUnavailable(std::string("redis ") + op + " failed: " +
                                             e.displayText());
            } catch (const ReplyError& e) {
                discard(std::move(client));
                throw IdempotencyUnavailable(std::string("redis ") + op + " failed: " + e.what());
            }
        }
    }

    // Runs a script by its SHA, loading it with EVAL when the server does not have it.
    RedisType::Ptr eval(Client& c, std::string_view script, const std::string& sha,
                        const std::string& key, const std::vector<std::string>& args) {
        Poco::Redis::Command cmd("EVALSHA");
        cmd << sha << "1" << key;
        for (const auto& a : args) cmd << a;
        RedisType::Ptr reply = c.sendCommand(cmd);
        if (reply->isError() && error_text(reply).rfind("NOSCRIPT", 0) == 0) {
            Poco::Redis::Command full("EVAL");
            full << std::string(script) << "1" << key;
            for (const auto& a : args) full << a;
            reply = c.sendCommand(full);
        }
        return reply;
    }

    bool ping() {
        std::lock_guard lock(ping_mutex_);
        std::string failure;
        try {
            if (!ping_client_) ping_client_ = connect(config_.ping_timeout, config_.ping_timeout);
            auto reply = ping_client_->sendCommand(Poco::Redis::Command("PING"));
            auto s = simple_or_null(reply, "PING");
            if (s && *s == "PONG") return true;
            failure = "unexpected PING reply";
        } catch (const Poco::Exception& e) {
            failure = e.displayText();
        } catch (const ReplyError& e) {
            failure = e.what();
        } catch (const IdempotencyUnavailable& e) {
            failure = e.what();
        }
        // ping() answers "not now" instead of throwing (its contract); the reason is kept for
        // last_ping_error(). The connection is closed so the next ping starts afresh.
        close_quietly(ping_client_);
        ping_client_.reset();
        last_ping_error_ = failure;
        return false;
    }

    std::string last_ping_error() {
        std::lock_guard lock(ping_mutex_);
        return last_ping_error_;
    }

    size_t open_connections() const {
        std::lock_guard lock(mutex_);
        return open_;
    }

    const RedisConfig config_;
    const std::string complete_sha_;
    const std::string release_sha_;

private:
    std::unique_ptr<Client> connect(std::chrono::milliseconds connect_timeout,
                                    std::chrono::milliseconds io_timeout) {
        auto client = std::make_unique<Client>();
        try {
            client->connect(config_.host, config_.port, to_timespan(connect_timeout));
            client->setReceiveTimeout(to_timespan(io_timeout));
            if (!config_.password.empty()) {
                Poco::Redis::Command auth("AUTH");
                if (!config_.username.empty()) auth << config_.username;
                auth << config_.password;
                RedisType::Ptr reply = client->sendCommand(auth);
                if (reply->isError()) {
                    // The reply text names the failure ("WRONGPASS ..."), never the password.
                    throw IdempotencyUnavailable("redis AUTH refused: " + error_text(reply));
                }
            }
            if (config_.db != 0) {
                Poco::Redis::Command select("SELECT");
                select << std::to_string(config_.db);
                auto s = simple_or_null(client->sendCommand(select), "SELECT");
                if (!s || *s != "OK") throw ReplyError("SELECT: unexpected reply");
            }
        } catch (const Poco::Exception& e) {
            close_quietly(client);
            throw IdempotencyUnavailable("redis connect to " + describe(config_) +
                                         " failed: " + e.displayText());
        } catch (const ReplyError& e) {
            close_quietly(client);
            throw IdempotencyUnavailable("redis connect to " + describe(config_) +
                                         " failed: " + e.what());
        }
        return client;
    }

    std::unique_ptr<Client> acquire(bool* reused) {
        std::unique_lock lock(mutex_);
        auto deadline = std::chrono::steady_clock::now() + config_.io_timeout;
        if (!cv_.wait_until(lock, deadline,
                            [&] { return !idle_.empty() || open_ < config_.pool_size; }))
            throw IdempotencyUnavailable("redis connection pool exhausted (" +
                                         std::to_string(config_.pool_size) + " in use)");
        if (!idle_.empty()) {
            auto c = std::move(idle_.back());
            idle_.pop_back();
            *reused = true;
            return c;
        }
        ++open_;
        lock.unlock();
        *reused = false;
        try {
            return connect(config_.connect_timeout, config_.io_timeout);
        } catch (...) {
            // Give the slot back before the error continues to the caller.
            std::lock_guard relock(mutex_);
            --open_;
            cv_.notify_one();
            throw;
        }
    }

    void give_back(std::unique_ptr<Client> c) {
        std::lock_guard lock(mutex_);
        idle_.push_back(std::move(c));
        cv_.notify_one();
    }

    void discard(std::unique_ptr<Client> c) {
        close_quietly(c);
        std::lock_guard lock(mutex_);
        --open_;
        cv_.notify_one();
    }

    void drop_idle() {
        std::vector<std::unique_ptr<Client>> dead;
        {
            std::lock_guard lock(mutex_);
            dead.swap(idle_);
            open_ -= dead.size();
            cv_.notify_all();
        }
        for (auto& c : dead) close_quietly(c);
    }

    static void close_quietly(std::unique_ptr<Client>& c) {
        if (!c) return;
        try {
            c->disconnect();
        } catch (const Poco::Exception&) {
            // Closing a socket that already failed: the connection is being dropped either way.
        }
    }

    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<std::unique_ptr<Client>> idle_;
    size_t open_ = 0;

    std::mutex ping_mutex_;
    std::unique_ptr<Client> ping_client_;
    std::string last_ping_error_;
};

RedisStore::RedisStore(RedisConfig config) {
    if (config.host.empty()) throw std::invalid_argument("redis: host is empty");
    if (config.port < 1 || config.port > 65535) throw std::invalid_argument("redis: bad port");
    if (config.db < 0) throw std::invalid_argument("redis: bad db");
    if (config.pool_size == 0) throw std::invalid_argument("redis: pool_size must be >= 1");
    if (config.ttl.completed.count() <= 0 || config.ttl.in_flight.count() <= 0)
        throw std::invalid_argument("redis: TTLs must be positive");
    if (config.connect_timeout.count() <= 0 || config.io_timeout.count() <= 0 ||
        config.ping_timeout.count() <= 0)
        throw std::invalid_argument("redis: timeouts must be positive");
    impl_ = std::make_unique<Impl>(std::move(config));
}

RedisStore::~RedisStore() = default;

BeginResult RedisStore::begin(const std::string& scoped_key, const std::string& fingerprint) {
    const std::string key = impl_->config_.key_prefix + scoped_key;
    const std::string marker = encode_in_flight(fingerprint);
    const std::string lease = std::to_string(impl_->config_.ttl.in_flight.count());
    // Sent twice (the retry in run()) it is still right: the second SET NX finds the first's
    // marker and answers InFlight, which fails closed.
    return impl_->run("begin", [&](Client& c) -> BeginResult {
        for (int attempt = 0; attempt < 5; ++attempt) {
            Poco::Redis::Command set("SET");
            set << key << marker << "NX" << "EX" << lease;
            auto ok = simple_or_null(c.sendCommand(set), "SET NX");
            if (ok) {
                if (*ok != "OK") throw ReplyError("SET NX: unexpected reply");
                return BeginResult{Outcome::Proceed, {}};
            }
            auto value = bulk(c.sendCommand(Poco::Redis::Command::get(key)), "GET");
            if (!value) continue;  // expired or released in between: try to take it again
            DecodedEntry e;
            try {
                e = decode_entry(*value);
            } catch (const std::invalid_argument& bad) {
                throw ReplyError(std::string("unreadable entry: ") + bad.what());
            }
            if (e.fingerprint != fingerprint) return BeginResult{Outcome::Reused, {}};
            if (!e.completed) return BeginResult{Outcome::InFlight, {}};
            return BeginResult{Outcome::Replay, std::move(e.response)};
        }
        throw ReplyError("key kept changing between SET NX and GET");
    });
}

void RedisStore::complete(const std::string& scoped_key, const std::string& fingerprint,
                          const StoredResponse& response) {
    const std::string key = impl_->config_.key_prefix + scoped_key;
    const std::vector<std::string> args = {encode_in_flight(fingerprint),
                                           encode_completed(fingerprint, response),
                                           std::to_string(impl_->config_.ttl.completed.count())};
    impl_->run("complete", [&](Client& c) {
        return integer(impl_->eval(c, kCompleteScript, impl_->complete_sha_, key, args),
                       "complete script");
    });
}

void RedisStore::release(const std::string& scoped_key, const std::string& fingerprint) {
    const std::string key = impl_->config_.key_prefix + scoped_key;
    const std::vector<std::string> args = {encode_in_flight(fingerprint)};
    impl_->run("release", [&](Client& c) {
        return integer(impl_->eval(c, kReleaseScript, impl_->release_sha_, key, args),
                       "release script");
    });
}

bool RedisStore::ping() { return impl_->ping(); }

void RedisStore::check() {
    impl_->run("PING", [](Client& c) {
        RedisType::Ptr reply = c.sendCommand(Poco::Redis::Command("PING"));
        if (reply->isError()) throw ReplyError(error_text(reply));
        return true;
    });
}

std::string RedisStore::last_ping_error() const { return impl_->last_ping_error(); }

size_t RedisStore::open_connections() const { return impl_->open_connections(); }

}  // namespace ordergate::idempotency
