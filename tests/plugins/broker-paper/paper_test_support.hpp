// Helpers for the broker-paper tests: a manual clock whose sleep advances it, and requests.
#pragma once

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "ordergate/types.hpp"
#include "paper_venue.hpp"

#include "temp_dir.hpp"

namespace ordergate::paper::testing {

// Time starts at 1'700'000'000 s and moves only when sleep() is called or advance() is.
class ManualClock {
  public:
    int64_t now() const { return now_ns_.load(); }
    void advance(std::chrono::milliseconds d) { now_ns_ += d.count() * 1000000; }
    void sleep(std::chrono::milliseconds d) {
        {
            std::lock_guard lock(mu_);
            sleeps_.push_back(d);
        }
        advance(d);
    }
    std::vector<std::chrono::milliseconds> sleeps() const {
        std::lock_guard lock(mu_);
        return sleeps_;
    }
    VenueEnv env() {
        VenueEnv e;
        e.now_ns = [this] { return now(); };
        e.sleep = [this](std::chrono::milliseconds d) { sleep(d); };
        e.warn = [this](const std::string& m) {
            std::lock_guard lock(mu_);
            warnings_.push_back(m);
        };
        return e;
    }
    std::vector<std::string> warnings() const {
        std::lock_guard lock(mu_);
        return warnings_;
    }

  private:
    std::atomic<int64_t> now_ns_{1700000000LL * 1000000000LL};
    mutable std::mutex mu_;
    std::vector<std::chrono::milliseconds> sleeps_;
    std::vector<std::string> warnings_;
};

inline Decimal D(const char* s) { return Decimal::must_parse(s); }

inline OrderRequest order(const std::string& cid, Side side, OrderType type, const char* qty,
                          std::optional<Decimal> price = std::nullopt,
                          std::optional<Decimal> trigger = std::nullopt,
                          TimeInForce tif = TimeInForce::Day, const std::string& account = "ACC1",
                          const std::string& symbol = "INFY") {
    OrderRequest r;
    r.client_order_id = cid;
    r.account_id = account;
    r.symbol = symbol;
    r.exchange = "NSE";
    r.side = side;
    r.order_type = type;
    r.time_in_force = tif;
    r.quantity = D(qty);
    r.price = price;
    r.trigger_price = trigger;
    r.extra_json = "{}";
    return r;
}

// A venue config with a fixed start price of 100.00, tick 0.05, no background anything.
inline VenueConfig base_config() {
    VenueConfig c;
    c.seed = 7;
    c.initial_price = D("100.00");
    c.tick_size = D("0.05");
    c.max_steps_per_tick = 1;
    return c;
}

using ordergate::testing::TempDir;

inline constexpr std::chrono::milliseconds kTimeout{1000};

}  // namespace ordergate::paper::testing
