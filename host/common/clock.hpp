// ordergate::Clock — the one source of time for host code that must be testable without sleeping.
//
// Modules that expire, rate-limit or timestamp things take a std::shared_ptr<Clock>; production
// passes system_clock(), tests a ManualClock they move by hand.
//
// Contract:
//  - now_ns() is wall-clock time in nanoseconds since the Unix epoch (UTC): timestamps, token
//    claims (exp, nbf). It may jump (NTP, an operator); users that measure intervals with it
//    treat a negative interval as zero.
//  - steady_ns() is monotonic time in nanoseconds from an arbitrary origin: intervals that must
//    not move when the wall clock is stepped (JWKS cache age, refetch spacing, token buckets).
//  - Every implementation is safe to call from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace ordergate {

class Clock {
public:
    virtual ~Clock() = default;
    virtual int64_t now_ns() const = 0;
    virtual int64_t steady_ns() const = 0;

    // The same readings as std::chrono time points.
    std::chrono::system_clock::time_point wall_now() const {
        return std::chrono::system_clock::time_point(
            std::chrono::duration_cast<std::chrono::system_clock::duration>(
                std::chrono::nanoseconds(now_ns())));
    }
    std::chrono::steady_clock::time_point steady_now() const {
        return std::chrono::steady_clock::time_point(
            std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                std::chrono::nanoseconds(steady_ns())));
    }
};

// The system's real-time clock.
class SystemClock final : public Clock {
public:
    int64_t now_ns() const override {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }
    int64_t steady_ns() const override {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
            .count();
    }
};

// A clock that only moves when told to (tests). Thread-safe. set_ns() steps the wall clock
// alone (as NTP or an operator would); advance() moves both readings.
class ManualClock : public Clock {
public:
    explicit ManualClock(int64_t start_ns = 1'700'000'000'000'000'000) : now_(start_ns) {}
    int64_t now_ns() const override { return now_.load(std::memory_order_acquire); }
    int64_t steady_ns() const override { return steady_.load(std::memory_order_acquire); }
    int64_t unix_seconds() const { return now_ns() / 1'000'000'000; }
    void set_ns(int64_t ns) { now_.store(ns, std::memory_order_release); }
    void advance(std::chrono::nanoseconds d) {
        now_.fetch_add(d.count(), std::memory_order_acq_rel);
        steady_.fetch_add(d.count(), std::memory_order_acq_rel);
    }

private:
    std::atomic<int64_t> now_;
    std::atomic<int64_t> steady_{1'000'000'000'000};
};

// A process-wide SystemClock (stateless, so sharing it is not shared mutable state).
inline std::shared_ptr<Clock> system_clock() {
    static const std::shared_ptr<Clock> clock = std::make_shared<SystemClock>();
    return clock;
}

}  // namespace ordergate
