// ordergate::auth::Clock — the time source of the auth module, injectable for tests.
//
// Two readings: wall time for token claims (exp, nbf, iat are Unix seconds) and monotonic time
// for everything that measures an interval (JWKS cache age, refetch spacing, rate-limit buckets),
// so a wall-clock step neither expires the key cache nor refills every bucket at once.
#pragma once

#include <chrono>
#include <memory>

namespace ordergate::auth {

class Clock {
  public:
    virtual ~Clock() = default;
    // Both are called concurrently from any thread; implementations must be thread-safe.
    virtual std::chrono::system_clock::time_point wall_now() const = 0;
    virtual std::chrono::steady_clock::time_point steady_now() const = 0;
};

// The real clocks. Stateless; one shared instance.
std::shared_ptr<Clock> system_clock();

}  // namespace ordergate::auth
