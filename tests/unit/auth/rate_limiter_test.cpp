// RateLimiter: token bucket per principal, time from a manual clock (no sleeping).
#include "auth/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "auth_support/auth_testsupport.hpp"

namespace ordergate::auth::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class RateLimiterTest : public ::testing::Test {
  protected:
    std::shared_ptr<testsupport::ManualClock> clock_ = std::make_shared<testsupport::ManualClock>();
};

TEST_F(RateLimiterTest, BurstThenRefusalWithRetryAfter) {
    RateLimiter rl(2, 5, clock_);
    seconds retry{0};
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(rl.try_acquire("jwt:alice", &retry)) << i;
    EXPECT_FALSE(rl.try_acquire("jwt:alice", &retry));
    EXPECT_EQ(retry, seconds(1));  // 0.5 s to the next token, rounded up
}

TEST_F(RateLimiterTest, RefillsWithTime) {
    RateLimiter rl(2, 5, clock_);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(rl.try_acquire("k", nullptr));
    ASSERT_FALSE(rl.try_acquire("k", nullptr));
    clock_->advance(milliseconds(499));
    EXPECT_FALSE(rl.try_acquire("k", nullptr));
    clock_->advance(milliseconds(1));
    EXPECT_TRUE(rl.try_acquire("k", nullptr)) << "one token after 0.5 s";
    EXPECT_FALSE(rl.try_acquire("k", nullptr));
    clock_->advance(seconds(60));
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(rl.try_acquire("k", nullptr)) << "full again, " << i;
    EXPECT_FALSE(rl.try_acquire("k", nullptr)) << "never more than the burst";
}

TEST_F(RateLimiterTest, RetryAfterCoversTheWholeWait) {
    RateLimiter rl(1, 3, clock_);  // slow: one per second
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(rl.try_acquire("k", nullptr));
    seconds retry{0};
    ASSERT_FALSE(rl.try_acquire("k", &retry));
    EXPECT_EQ(retry, seconds(1));
    clock_->advance(milliseconds(300));
    ASSERT_FALSE(rl.try_acquire("k", &retry));
    EXPECT_EQ(retry, seconds(1));  // 0.7 s, rounded up
    clock_->advance(retry);
    EXPECT_TRUE(rl.try_acquire("k", nullptr)) << "retrying after Retry-After succeeds";
}

TEST_F(RateLimiterTest, RefusalsDoNotConsumeTokens) {
    RateLimiter rl(1, 1, clock_);
    ASSERT_TRUE(rl.try_acquire("k", nullptr));
    for (int i = 0; i < 100; ++i) ASSERT_FALSE(rl.try_acquire("k", nullptr));
    clock_->advance(seconds(1));
    EXPECT_TRUE(rl.try_acquire("k", nullptr));
}

TEST_F(RateLimiterTest, PrincipalsHaveSeparateBuckets) {
    RateLimiter rl(1, 2, clock_);
    EXPECT_TRUE(rl.try_acquire("jwt:a", nullptr));
    EXPECT_TRUE(rl.try_acquire("jwt:a", nullptr));
    EXPECT_FALSE(rl.try_acquire("jwt:a", nullptr));
    EXPECT_TRUE(rl.try_acquire("jwt:b", nullptr));
    EXPECT_TRUE(rl.try_acquire("key:a", nullptr));
}

TEST_F(RateLimiterTest, BurstDefaultsToRate) {
    RateLimiter rl(3, 0, clock_);
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(rl.try_acquire("k", nullptr));
    EXPECT_FALSE(rl.try_acquire("k", nullptr));
}

TEST_F(RateLimiterTest, ZeroRateDisables) {
    RateLimiter rl(0, 0, clock_);
    EXPECT_FALSE(rl.enabled());
    for (int i = 0; i < 10000; ++i) ASSERT_TRUE(rl.try_acquire("k", nullptr));
    EXPECT_EQ(rl.bucket_count(), 0u);
}

TEST_F(RateLimiterTest, MemoryIsBounded) {
    RateLimiter rl(10, 10, clock_, /*max_buckets=*/64);
    for (int i = 0; i < 10000; ++i) rl.try_acquire("p" + std::to_string(i), nullptr);
    EXPECT_LE(rl.bucket_count(), 64u);
}

TEST_F(RateLimiterTest, IdleBucketsEvictedFirst) {
    RateLimiter rl(1, 2, clock_, /*max_buckets=*/16);  // one bucket per shard
    // An active principal, then enough newcomers after its bucket refilled: eviction of full
    // buckets forgets nothing that matters, and the active one is still limited while draining.
    ASSERT_TRUE(rl.try_acquire("busy", nullptr));
    ASSERT_TRUE(rl.try_acquire("busy", nullptr));
    ASSERT_FALSE(rl.try_acquire("busy", nullptr));
    clock_->advance(seconds(10));
    for (int i = 0; i < 1000; ++i) rl.try_acquire("idle" + std::to_string(i), nullptr);
    EXPECT_LE(rl.bucket_count(), 16u);
    EXPECT_TRUE(rl.try_acquire("busy", nullptr));
}

TEST_F(RateLimiterTest, ConcurrentCallersNeverExceedTheBurst) {
    RateLimiter rl(1, 100, clock_);
    std::atomic<int> allowed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 1000; ++i)
                if (rl.try_acquire("shared", nullptr)) ++allowed;
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(allowed.load(), 100);
}

}  // namespace
}  // namespace ordergate::auth::test
