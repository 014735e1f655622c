// CallPool with fake work: futures stand for a plugin that answers, hangs, or answers late. No
// test sleeps; a deadline already passed stands for "the caller's deadline has come".
#include "plugin_loader/call_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <string>
#include <vector>

namespace ordergate::plugin_loader {
namespace {

using Clock = CallPool::Clock;
using Outcome = CallPool::Outcome;

Clock::time_point passed() { return Clock::now() - std::chrono::seconds(1); }
Clock::time_point far() { return Clock::now() + std::chrono::hours(1); }

// Work that says when it has started and returns only when released.
struct Hung {
    std::promise<void> started;
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::function<void()> work() {
        return [this, r = released] {
            started.set_value();
            r.wait();
        };
    }
};

TEST(CallPool, ReturnsWhatTheWorkProduced) {
    CallPool pool(2);
    auto result = std::make_shared<int>(0);
    auto call = pool.submit("op", [result] { *result = 42; });
    ASSERT_TRUE(call);
    EXPECT_EQ(pool.wait(call, far()), Outcome::Finished);
    EXPECT_EQ(*result, 42);
    EXPECT_EQ(pool.stats().stuck, 0u);
}

TEST(CallPool, CallerLeavesAtTheDeadlineWhileTheWorkRunsOn) {
    std::promise<size_t> late;
    CallPool::Observer observer;
    std::vector<std::string> timed_out;
    observer.deadline_passed = [&](std::string_view op, size_t) { timed_out.emplace_back(op); };
    observer.returned_late = [&](std::string_view, Clock::duration, size_t stuck) {
        late.set_value(stuck);
    };
    CallPool pool(2, observer);
    Hung hung;
    auto result = std::make_shared<int>(0);
    auto call = pool.submit("place_order", [result, w = hung.work()] {
        w();
        *result = 7;  // the late answer lands in storage the work owns
    });
    hung.started.get_future().wait();
    EXPECT_EQ(pool.wait(call, passed()), Outcome::DeadlinePassed);
    EXPECT_EQ(timed_out, std::vector<std::string>{"place_order"});
    EXPECT_EQ(pool.stats().stuck, 1u);
    EXPECT_EQ(pool.stats().deadline_passed, 1u);

    hung.release.set_value();
    EXPECT_EQ(late.get_future().get(), 0u);  // no call is stuck once it has returned
    EXPECT_EQ(pool.stats().returned_late, 1u);
    EXPECT_EQ(pool.stats().stuck, 0u);
}

TEST(CallPool, EveryThreadStuckRefusesNewCallsAtOnce) {
    std::promise<void> returned;
    CallPool::Observer observer;
    observer.returned_late = [&](std::string_view, Clock::duration, size_t) {
        returned.set_value();
    };
    CallPool pool(1, observer);
    Hung hung;
    auto stuck = pool.submit("quote", hung.work());
    hung.started.get_future().wait();
    ASSERT_EQ(pool.wait(stuck, passed()), Outcome::DeadlinePassed);

    std::atomic<bool> ran{false};
    // A caller with an hour left is refused now, not at its deadline.
    EXPECT_FALSE(pool.submit("quote", [&] { ran = true; }));
    EXPECT_EQ(pool.stats().refused, 1u);

    // Once the stuck call returns, its thread serves again.
    hung.release.set_value();
    returned.get_future().wait();
    auto next = pool.submit("quote", [&] { ran = true; });
    ASSERT_TRUE(next);
    EXPECT_EQ(pool.wait(next, far()), Outcome::Finished);
    EXPECT_TRUE(ran);
}

TEST(CallPool, BusyThreadsQueueTheCallAndItsDeadlineWithdrawsIt) {
    CallPool pool(1);
    Hung hung;
    auto busy = pool.submit("place_order", hung.work());
    hung.started.get_future().wait();
    // The only thread is busy but not stuck: the call queues.
    std::atomic<bool> ran{false};
    auto queued = pool.submit("place_order", [&] { ran = true; });
    ASSERT_TRUE(queued);
    EXPECT_EQ(pool.wait(queued, passed()), Outcome::NotStarted);
    EXPECT_EQ(pool.stats().not_started, 1u);

    hung.release.set_value();
    EXPECT_EQ(pool.wait(busy, far()), Outcome::Finished);
    auto after = pool.submit("place_order", [] {});
    EXPECT_EQ(pool.wait(after, far()), Outcome::Finished);
    EXPECT_FALSE(ran);  // withdrawn work never runs
}

TEST(CallPool, QueuedCallRunsWhenAThreadFreesUp) {
    CallPool pool(1);
    Hung hung;
    auto busy = pool.submit("op", hung.work());
    hung.started.get_future().wait();
    std::atomic<bool> ran{false};
    auto queued = pool.submit("op", [&] { ran = true; });
    hung.release.set_value();
    EXPECT_EQ(pool.wait(queued, far()), Outcome::Finished);
    EXPECT_TRUE(ran);
    EXPECT_EQ(pool.wait(busy, far()), Outcome::Finished);
    EXPECT_EQ(pool.stats().threads, 1u);
}

TEST(CallPool, NeverMoreThreadsThanItsShare) {
    CallPool pool(3);
    std::vector<std::unique_ptr<Hung>> hung;
    std::vector<CallPool::CallPtr> calls;
    for (int i = 0; i < 3; ++i) {
        hung.push_back(std::make_unique<Hung>());
        calls.push_back(pool.submit("op", hung.back()->work()));
        hung.back()->started.get_future().wait();
        ASSERT_EQ(pool.wait(calls.back(), passed()), Outcome::DeadlinePassed);
    }
    for (int i = 0; i < 10; ++i) EXPECT_FALSE(pool.submit("op", [] {}));
    EXPECT_EQ(pool.stats().threads, 3u);
    EXPECT_EQ(pool.stats().stuck, 3u);
    for (auto& h : hung) h->release.set_value();
}

TEST(CallPool, StopDetachesStuckCallsWhichEndSafelyLater) {
    std::atomic<int> observed{0};
    CallPool::Observer observer;
    observer.returned_late = [&](std::string_view, Clock::duration, size_t) { ++observed; };
    auto pool = std::make_unique<CallPool>(1, observer);
    Hung hung;
    // Set when the work and what it captured are released (by the detached thread).
    struct SetOnDestroy {
        std::promise<void> gone;
        ~SetOnDestroy() { gone.set_value(); }
    };
    auto token = std::make_shared<SetOnDestroy>();
    std::future<void> released = token->gone.get_future();
    auto stuck = pool->submit("cancel_order", [w = hung.work(), token] { w(); });
    token.reset();
    hung.started.get_future().wait();
    ASSERT_EQ(pool->wait(stuck, passed()), Outcome::DeadlinePassed);

    EXPECT_EQ(pool->stop(std::chrono::milliseconds(0)), 1u);
    EXPECT_FALSE(pool->submit("cancel_order", [] {}));
    pool.reset();  // the stuck thread outlives the pool object

    // The plugin returns after the pool is gone: the thread finishes and releases the work; the
    // observer (whose owner may be gone by now) is not called after stop().
    hung.release.set_value();
    released.wait();
    EXPECT_EQ(observed.load(), 0);
}

TEST(CallPool, StopWaitsForRunningCallsWithinTheGrace) {
    CallPool pool(2);
    Hung hung;
    auto call = pool.submit("op", hung.work());
    hung.started.get_future().wait();
    std::thread releaser([&] { hung.release.set_value(); });
    // The grace is long enough for any release: stop returns when the call returns.
    EXPECT_EQ(pool.stop(std::chrono::minutes(1)), 0u);
    releaser.join();
    EXPECT_EQ(pool.wait(call, far()), Outcome::Finished);
}

TEST(CallPool, CloseEndsTheWaitOfQueuedCallersAtOnce) {
    CallPool pool(1);
    Hung hung;
    auto busy = pool.submit("op", hung.work());
    hung.started.get_future().wait();
    auto queued = pool.submit("op", [] {});
    ASSERT_TRUE(queued);
    pool.close();
    EXPECT_EQ(pool.wait(queued, far()), Outcome::NotStarted);
    hung.release.set_value();
    EXPECT_EQ(pool.wait(busy, far()), Outcome::Finished);
}

}  // namespace
}  // namespace ordergate::plugin_loader
