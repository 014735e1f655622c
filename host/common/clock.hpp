// ordergate::Clock — the one source of time for host code that must be testable without sleeping.
//
// Modules that expire, rate-limit or timestamp things take a std::shared_ptr<Clock>; production
// passes system_clock(), tests a ManualClock they move by hand.
//
// Contract:
//  - now_ns() is wall-clock time in nanoseconds since the Unix epoch (UTC). It may jump (NTP,
//    an operator); users that measure intervals treat a negative interval as zero.
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
};

// The system's real-time clock.
class SystemClock final : public Clock {
public:
    int64_t now_ns() const override {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }
};

// A clock that only moves when told to (tests). Thread-safe.
class ManualClock final : public Clock {
public:
    explicit ManualClock(int64_t start_ns = 1'700'000'000'000'000'000) : now_(start_ns) {}
    int64_t now_ns() const override { return now_.load(std::memory_order_acquire); }
    void set_ns(int64_t ns) { now_.store(ns, std::memory_order_release); }
    void advance(std::chrono::nanoseconds d) {
        now_.fetch_add(d.count(), std::memory_order_acq_rel);
    }

private:
    std::atomic<int64_t> now_;
};

// A process-wide SystemClock (stateless, so sharing it is not shared mutable state).
inline std::shared_ptr<Clock> system_clock() {
    static const std::shared_ptr<Clock> clock = std::make_shared<SystemClock>();
    return clock;
}

}  // namespace ordergate
