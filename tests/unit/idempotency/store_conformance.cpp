#include "store_conformance.hpp"

#include <atomic>
#include <condition_variable>
#include <latch>
#include <mutex>
#include <thread>
#include <vector>

namespace ordergate::idempotency::testing_support {
namespace {

const std::string kFp = fingerprint("POST", "/api/v1/orders", R"({"quantity":"1"})");
const std::string kOtherFp = fingerprint("POST", "/api/v1/orders", R"({"quantity":"2"})");

StoredResponse sample_response() {
    StoredResponse r;
    r.status = 201;
    // Every byte value, CR LF and NUL included: replays are byte for byte.
    r.body = R"({"id":"ord_01","quantity":"1.10"})";
    r.body += std::string("\r\n\0\x01\xff", 5);
    for (int c = 0; c < 256; ++c) r.body.push_back(static_cast<char>(c));
    r.headers = {{"Content-Type", "application/json"},
                 {"Location", "/api/v1/orders/ord_01"},
                 {"X-Empty", ""},
                 {"X-Dup", "1"},
                 {"X-Dup", "2"}};
    return r;
}

TEST_P(StoreConformance, FirstBeginProceeds) {
    EXPECT_EQ(store_->begin(scoped_key("alice", "k1"), kFp).outcome, Outcome::Proceed);
    EXPECT_TRUE(store_->ping());
}

TEST_P(StoreConformance, SameRequestWhileInFlightIsInFlight) {
    const auto key = scoped_key("alice", "k1");
    ASSERT_EQ(store_->begin(key, kFp).outcome, Outcome::Proceed);
    EXPECT_EQ(store_->begin(key, kFp).outcome, Outcome::InFlight);
    EXPECT_EQ(store_->begin(key, kFp).outcome, Outcome::InFlight);
}

TEST_P(StoreConformance, CompletedRequestReplaysIdenticalBytes) {
    const auto key = scoped_key("alice", "k1");
    ASSERT_EQ(store_->begin(key, kFp).outcome, Outcome::Proceed);
    const StoredResponse sent = sample_response();
    store_->complete(key, kFp, sent);
    for (int i = 0; i < 2; ++i) {
        BeginResult r = store_->begin(key, kFp);
        ASSERT_EQ(r.outcome, Outcome::Replay);
        EXPECT_EQ(r.response.status, 201);
        EXPECT_EQ(r.response.body, sent.body);
        EXPECT_EQ(r.response.body.size(), sent.body.size());
        EXPECT_EQ(r.response.headers, sent.headers);
    }
}

TEST_P(StoreConformance, DifferentRequestWithTheKeyIsReused) {
    const auto key = scoped_key("alice", "k1");
    ASSERT_EQ(store_->begin(key, kFp).outcome, Outcome::Proceed);
    EXPECT_EQ(store_->begin(key, kOtherFp).outcome, Outcome::Reused);  // while in flight
    store_->complete(key, kFp, sample_response());
    BeginResult r = store_->begin(key, kOtherFp);
    EXPECT_EQ(r.outcome, Outcome::Reused);  // after completion
    EXPECT_TRUE(r.response.body.empty());
    EXPECT_EQ(store_->begin(key, kFp).outcome, Outcome::Replay);
}

TEST_P(StoreConformance, ReleaseLetsARetryProceed) {
    const auto key = scoped_key("alice", "k1");
    ASSERT_EQ(store_->begin(key, kFp).outcome, Outcome::Proceed);
    store_->release(key, kFp);
    EXPECT_EQ(store_->begin(key, kFp).outcome, Outcome::Proceed);
    // After a release, another request may take the key too.
    store_->release(key, kFp);
    EXPECT_EQ(store_->begin(key, kOtherFp).outcome, Outcome::Proceed);
}

TEST_P(StoreConformance, ReleaseTouchesOnlyThisRequestsMarker) {
    const auto key = scoped_key("alice", "k1");
    ASSERT_EQ(store_->begin(key, kFp).outcome, Outcome::Proceed);
    store_->release(key, kOtherFp);  // someone else's fingerprint: nothing happens
    EXPECT_EQ(store_->begin(key, kFp).outcome, Outcome::InFlight);
    store_->complete(key, kFp, sample_response());
    store_->release(key, kFp);  // completed: a release does not drop a stored response
    EXPECT_EQ(store_->begin(key, kFp).outcome, Outcome::Replay);
    store_->release(scoped_key("alice", "never-used"), kFp);  // absent: nothing happens
}

TEST_P(StoreConformance, CompleteNeverOverwritesAnotherRequestsEntry) {
    const auto key = scoped_key("alice", "k1");
    ASSERT_EQ(store_->begin(key, kFp).outcome, Outcome::Proceed);
    StoredResponse other;
    other.status = 500;
    other.body = "other";
    store_->complete(key, kOtherFp, other);  // not the marker's fingerprint
    EXPECT_EQ(store_->begin(key, kFp).outcome, Outcome::InFlight);
    store_->complete(key, kFp, sample_response());
    store_->complete(key, kFp, other);  // already completed: the first response stays
    BeginResult r = store_->begin(key, kFp);
    ASSERT_EQ(r.outcome, Outcome::Replay);
    EXPECT_EQ(r.response.status, 201);
}

TEST_P(StoreConformance, CompleteAfterTheMarkerVanishedStillStoresTheResponse) {
    const auto key = scoped_key("alice", "k1");
    store_->complete(key, kFp, sample_response());  // e.g. the in-flight lease ran out
    EXPECT_EQ(store_->begin(key, kFp).outcome, Outcome::Replay);
}

TEST_P(StoreConformance, EmptyResponseRoundTrips) {
    const auto key = scoped_key("alice", "k1");
    ASSERT_EQ(store_->begin(key, kFp).outcome, Outcome::Proceed);
    StoredResponse empty;
    empty.status = 204;
    store_->complete(key, kFp, empty);
    BeginResult r = store_->begin(key, kFp);
    ASSERT_EQ(r.outcome, Outcome::Replay);
    EXPECT_EQ(r.response, empty);
}

TEST_P(StoreConformance, KeysArePerPrincipal) {
    ASSERT_EQ(store_->begin(scoped_key("alice", "k1"), kFp).outcome, Outcome::Proceed);
    EXPECT_EQ(store_->begin(scoped_key("bob", "k1"), kFp).outcome, Outcome::Proceed);
    EXPECT_EQ(store_->begin(scoped_key("alice", "k2"), kFp).outcome, Outcome::Proceed);
    // ':' inside names cannot make two principals meet.
    EXPECT_EQ(store_->begin(scoped_key("a:b", "c"), kFp).outcome, Outcome::Proceed);
    EXPECT_EQ(store_->begin(scoped_key("a", "b:c"), kFp).outcome, Outcome::Proceed);
}

// 50 threads send the same request with the same key at once; the first to arrive holds the key
// until all others have their answer: exactly one Proceed, 49 InFlight.
TEST_P(StoreConformance, FiftyThreadsOneKeyExactlyOneProceedsWhileInFlight) {
    constexpr int kThreads = 50;
    const auto key = scoped_key("alice", "same-key");
    std::latch start(kThreads);
    std::mutex m;
    std::condition_variable cv;
    int answered = 0;
    std::atomic<int> proceed{0}, in_flight{0}, other{0};
    std::atomic<int> errors{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            start.arrive_and_wait();
            try {
                BeginResult r = store_->begin(key, kFp);
                {
                    std::lock_guard lock(m);
                    ++answered;
                }
                cv.notify_all();
                if (r.outcome == Outcome::Proceed) {
                    ++proceed;
                    std::unique_lock lock(m);
                    cv.wait(lock, [&] { return answered == kThreads; });
                    lock.unlock();
                    store_->complete(key, kFp, sample_response());
                } else if (r.outcome == Outcome::InFlight) {
                    ++in_flight;
                } else {
                    ++other;
                }
            } catch (const std::exception& e) {
                ++errors;
                ADD_FAILURE() << e.what();
                std::lock_guard lock(m);
                ++answered;
                cv.notify_all();
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(proceed.load(), 1);
    EXPECT_EQ(in_flight.load(), kThreads - 1);
    EXPECT_EQ(other.load(), 0);
    EXPECT_EQ(store_->begin(key, kFp).outcome, Outcome::Replay);
}

// The same, with the first completing at once: one Proceed, the rest InFlight or Replay (of the
// same bytes), never Reused and never a second Proceed.
TEST_P(StoreConformance, FiftyThreadsOneKeyWithImmediateCompletion) {
    constexpr int kThreads = 50;
    const auto key = scoped_key("alice", "same-key-2");
    const StoredResponse sent = sample_response();
    std::latch start(kThreads);
    std::atomic<int> proceed{0}, in_flight{0}, replay{0}, bad{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            start.arrive_and_wait();
            try {
                BeginResult r = store_->begin(key, kFp);
                switch (r.outcome) {
                    case Outcome::Proceed:
                        ++proceed;
                        store_->complete(key, kFp, sent);
                        break;
                    case Outcome::InFlight: ++in_flight; break;
                    case Outcome::Replay:
                        ++replay;
                        if (!(r.response == sent)) ++bad;
                        break;
                    case Outcome::Reused: ++bad; break;
                }
            } catch (const std::exception& e) {
                ++bad;
                ADD_FAILURE() << e.what();
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(proceed.load(), 1);
    EXPECT_EQ(in_flight.load() + replay.load(), kThreads - 1);
    EXPECT_EQ(bad.load(), 0);
}

TEST_P(StoreConformance, ManyKeysFromManyThreadsAllProceed) {
    constexpr int kThreads = 8, kKeys = 200;
    std::atomic<int> proceed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kKeys; ++i) {
                const auto key = scoped_key("p" + std::to_string(t), "k" + std::to_string(i));
                if (store_->begin(key, kFp).outcome == Outcome::Proceed) ++proceed;
                StoredResponse r;
                r.status = 200;
                r.body = std::to_string(t * kKeys + i);
                store_->complete(key, kFp, r);
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(proceed.load(), kThreads * kKeys);
    BeginResult r = store_->begin(scoped_key("p3", "k17"), kFp);
    ASSERT_EQ(r.outcome, Outcome::Replay);
    EXPECT_EQ(r.response.body, std::to_string(3 * kKeys + 17));
}

}  // namespace
}  // namespace ordergate::idempotency::testing_support
