// ordergate::auth::RateLimiter — a token bucket per principal (429 with Retry-After).
//
// Each principal key (Principal::key()) gets a bucket of `burst` requests refilled at
// `rate_per_second`. Implemented as GCRA: a bucket is one timestamp (the "theoretical arrival
// time"), integer nanoseconds, no floating point. A bucket that has refilled completely is
// indistinguishable from a new one, so such buckets are evicted whenever a shard reaches its
// share of `max_buckets`; if every bucket is still refilling, the one closest to full is evicted
// (its principal gets a fresh burst, the only way memory stays bounded).
//
// Threads: try_acquire() may be called concurrently from any thread (16 independently locked
// shards). Time comes from the injected Clock's steady_now().
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/clock.hpp"

namespace ordergate::auth {

class RateLimiter {
  public:
    // rate_per_second 0 disables limiting (try_acquire always succeeds). burst 0 means
    // burst = rate_per_second. max_buckets bounds memory (at least one per shard).
    RateLimiter(uint32_t rate_per_second, uint32_t burst, std::shared_ptr<Clock> clock = nullptr,
                std::size_t max_buckets = 100000);

    bool enabled() const { return rate_ns_ > 0; }

    // Takes one token from `key`'s bucket. True when allowed. When refused, sets *retry_after
    // (if not null) to the whole seconds until a token is available, at least 1.
    bool try_acquire(const std::string& key, std::chrono::seconds* retry_after);

    std::size_t bucket_count() const;

  private:
    static constexpr std::size_t kShards = 16;
    struct Shard {
        mutable std::mutex mu;
        std::unordered_map<std::string, int64_t> tat_ns;  // theoretical arrival time
    };
    void make_room(Shard& shard, int64_t now_ns);

    int64_t rate_ns_ = 0;    // nanoseconds per token (0: disabled)
    int64_t window_ns_ = 0;  // burst * rate_ns_
    std::size_t max_per_shard_ = 1;
    std::shared_ptr<Clock> clock_;
    std::array<Shard, kShards> shards_;
};

}  // namespace ordergate::auth
