// The paper venue's pseudo-random numbers, specified bit for bit so a seed gives the same price
// path and the same injected faults with every compiler and standard library (the standard
// <random> distributions are implementation-defined, so they are not used).
//
// Generator: SplitMix64 (Steele, Lea, Flood 2014): state += 0x9E3779B97F4A7C15, then the 64-bit
// finaliser below. Stream derivation: a symbol's stream starts at mix(seed ^ fnv1a64(symbol)); the
// fault stream at mix(seed ^ kFaultStreamSalt). All arithmetic is on uint64_t (wraps modulo 2^64).
#pragma once

#include <cstdint>
#include <string_view>

namespace ordergate::paper {

// The SplitMix64 finaliser: a bijection on 64-bit values.
constexpr uint64_t splitmix64_mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// FNV-1a, 64-bit, over the bytes of `s`.
constexpr uint64_t fnv1a64(std::string_view s) {
    uint64_t h = 0xCBF29CE484222325ull;
    for (char c : s) {
        h ^= static_cast<uint8_t>(c);
        h *= 0x100000001B3ull;
    }
    return h;
}

// "fault" in ASCII; separates the fault stream from every symbol stream.
inline constexpr uint64_t kFaultStreamSalt = 0x6661756C74ull;

// A SplitMix64 generator. Its whole state is one uint64_t, which the journal stores.
class SplitMix64 {
  public:
    constexpr explicit SplitMix64(uint64_t state = 0) : state_(state) {}

    constexpr uint64_t next() {
        state_ += 0x9E3779B97F4A7C15ull;
        return splitmix64_mix(state_);
    }
    // An integer in [lo, hi] (hi >= lo) as lo + next() % (hi - lo + 1). The modulo bias is below
    // 2^-50 for the small ranges used here, and it is part of the specification.
    constexpr int64_t uniform_int(int64_t lo, int64_t hi) {
        uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
        return lo + static_cast<int64_t>(next() % span);
    }
    // A fraction in [0, 1) with nine decimals: (next() % 10^9) / 10^9, returned as its numerator.
    constexpr int64_t fraction_e9() { return static_cast<int64_t>(next() % 1000000000ull); }

    constexpr uint64_t state() const { return state_; }
    constexpr void set_state(uint64_t s) { state_ = s; }

    static constexpr SplitMix64 for_symbol(uint64_t seed, std::string_view symbol) {
        return SplitMix64(splitmix64_mix(seed ^ fnv1a64(symbol)));
    }
    static constexpr SplitMix64 for_faults(uint64_t seed) {
        return SplitMix64(splitmix64_mix(seed ^ kFaultStreamSalt));
    }

  private:
    uint64_t state_;
};

}  // namespace ordergate::paper
