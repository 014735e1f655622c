#include "auth/rate_limiter.hpp"

#include <algorithm>
#include <functional>

namespace ordergate::auth {

namespace {
constexpr int64_t kNsPerSecond = 1'000'000'000;
}

RateLimiter::RateLimiter(uint32_t rate_per_second, uint32_t burst, std::shared_ptr<Clock> clock,
                         std::size_t max_buckets)
    : clock_(clock ? std::move(clock) : system_clock()) {
    if (rate_per_second == 0) return;
    if (burst == 0) burst = rate_per_second;
    rate_ns_ = std::max<int64_t>(1, kNsPerSecond / rate_per_second);
    window_ns_ = static_cast<int64_t>(burst) * rate_ns_;
    max_per_shard_ = std::max<std::size_t>(1, max_buckets / kShards);
}

bool RateLimiter::try_acquire(const std::string& key, std::chrono::seconds* retry_after) {
    if (!enabled()) return true;
    const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            clock_->steady_now().time_since_epoch())
                            .count();
    Shard& shard = shards_[std::hash<std::string>{}(key) % kShards];
    std::lock_guard lock(shard.mu);
    auto it = shard.tat_ns.find(key);
    const int64_t tat = it == shard.tat_ns.end() ? now : std::max(it->second, now);
    const int64_t next = tat + rate_ns_;
    if (next - now > window_ns_) {
        if (retry_after) {
            const int64_t wait = next - now - window_ns_;
            *retry_after = std::chrono::seconds(
                std::max<int64_t>(1, (wait + kNsPerSecond - 1) / kNsPerSecond));
        }
        return false;
    }
    if (it != shard.tat_ns.end()) {
        it->second = next;
    } else {
        if (shard.tat_ns.size() >= max_per_shard_) make_room(shard, now);
        shard.tat_ns.emplace(key, next);
    }
    return true;
}

void RateLimiter::make_room(Shard& shard, int64_t now_ns) {
    std::erase_if(shard.tat_ns, [now_ns](const auto& kv) { return kv.second <= now_ns; });
    if (shard.tat_ns.size() < max_per_shard_) return;
    auto oldest =
        std::min_element(shard.tat_ns.begin(), shard.tat_ns.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; });
    shard.tat_ns.erase(oldest);
}

std::size_t RateLimiter::bucket_count() const {
    std::size_t n = 0;
    for (const auto& s : shards_) {
        std::lock_guard lock(s.mu);
        n += s.tat_ns.size();
    }
    return n;
}

}  // namespace ordergate::auth
