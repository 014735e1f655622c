// ordergate ids: "ord_…", "trd_…", "gtt_…" followed by a ULID (26 Crockford base32 characters:
// 48 bits of milliseconds, 80 bits of randomness). Ids made by one process are strictly
// increasing (within one millisecond the random part is incremented), so they sort by creation
// time and serve as pagination cursors.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <string_view>

namespace ordergate::ids {

class UlidGenerator {
public:
    UlidGenerator() {
        std::random_device rd;
        state_ = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ 0x9E3779B97F4A7C15ull;
    }
    // A new ULID for the given wall-clock time (ms since the epoch).
    std::string next(uint64_t now_ms) {
        uint64_t hi16, lo64, ms;
        {
            std::lock_guard lock(mutex_);
            if (now_ms <= last_ms_) {
                // Same (or an earlier) millisecond: keep order by incrementing the random part.
                ms = last_ms_;
                if (++rand_lo_ == 0) ++rand_hi_;
            } else {
                ms = last_ms_ = now_ms;
                rand_hi_ = splitmix() & 0xFFFF;
                rand_lo_ = splitmix();
            }
            hi16 = rand_hi_;
            lo64 = rand_lo_;
        }
        static constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        std::string out(26, '0');
        // 128 bits: ms (48) | hi16 (16) | lo64 (64); 26 chars * 5 bits = 130 bits, top 2 zero.
        unsigned __int128 v = (static_cast<unsigned __int128>(ms & 0xFFFFFFFFFFFFull) << 80) |
                              (static_cast<unsigned __int128>(hi16) << 64) | lo64;
        for (int i = 25; i >= 0; --i) {
            out[static_cast<size_t>(i)] = kAlphabet[static_cast<unsigned>(v & 31)];
            v >>= 5;
        }
        return out;
    }

private:
    uint64_t splitmix() {
        uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    std::mutex mutex_;
    uint64_t state_;
    uint64_t last_ms_ = 0;
    uint64_t rand_hi_ = 0, rand_lo_ = 0;
};

inline UlidGenerator& generator() {
    static UlidGenerator g;
    return g;
}

inline uint64_t wall_ms() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
}

inline std::string new_id(std::string_view prefix, uint64_t now_ms = wall_ms()) {
    std::string s(prefix);
    s += generator().next(now_ms);
    return s;
}

// Request ids: 24 lowercase hex characters, 12 of milliseconds since the epoch then 12 random
// (cheap: no lock). They sort by time to the millisecond, so that where they are stored (an
// order's events, indexed by request id) each one is added at the end of the index, not on a
// random page of it: random ids dirtied about 11 index pages per commit of the embedded store.
inline std::string new_request_id(uint64_t now_ms = wall_ms()) {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s(24, '0');
    // Characters [from, from + 12) get v's low 48 bits, most significant first.
    auto put12 = [&s](size_t from, uint64_t v) {
        for (size_t i = from + 12; i-- > from; v >>= 4) s[i] = kHex[v & 15];
    };
    put12(0, now_ms);
    put12(12, rng());
    return s;
}

// True for "<prefix><26 Crockford base32 chars>".
inline bool looks_like(std::string_view id, std::string_view prefix) {
    if (id.size() != prefix.size() + 26 || id.substr(0, prefix.size()) != prefix) return false;
    for (char c : id.substr(prefix.size())) {
        bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' &&
                                             c != 'O' && c != 'U');
        if (!ok) return false;
    }
    return true;
}

}  // namespace ordergate::ids
