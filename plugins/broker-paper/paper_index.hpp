// ordergate::paper::HashedNumbers — a compact multimap from a 32-bit hash to order numbers.
//
// The venue keeps one for the client order ids of the orders it no longer holds in memory (their
// records stay in the journal): a lookup gives every number stored under the hash, and the caller
// reads those orders back and compares the real ids, so a hash shared by two ids costs a read,
// never a wrong answer. Open addressing with linear probing in two parallel arrays (numbers and
// hashes, 12 bytes a slot), doubled when three quarters full: 16 to 32 bytes an entry.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace ordergate::paper {

class HashedNumbers {
  public:
    // Stores `number` (not 0) under `hash`. The caller checks first (for_each) that it is not
    // there yet: the same pair twice would be given twice.
    void insert(uint32_t hash, uint64_t number) {
        if ((used_ + 1) * 4 > numbers_.size() * 3) grow();
        place(hash, number);
        ++used_;
    }

    // Calls f(number) for every number stored under `hash`.
    template <typename F>
    void for_each(uint32_t hash, F&& f) const {
        if (numbers_.empty()) return;
        const size_t mask = numbers_.size() - 1;
        for (size_t i = hash & mask; numbers_[i] != 0; i = (i + 1) & mask)
            if (hashes_[i] == hash) f(numbers_[i]);
    }

    size_t size() const { return used_; }
    size_t memory_bytes() const {
        return numbers_.capacity() * sizeof(uint64_t) + hashes_.capacity() * sizeof(uint32_t);
    }

  private:
    void place(uint32_t hash, uint64_t number) {
        const size_t mask = numbers_.size() - 1;
        size_t i = hash & mask;
        while (numbers_[i] != 0) i = (i + 1) & mask;
        numbers_[i] = number;
        hashes_[i] = hash;
    }

    void grow() {
        std::vector<uint64_t> numbers(numbers_.empty() ? 1024 : numbers_.size() * 2, 0);
        std::vector<uint32_t> hashes(numbers.size(), 0);
        numbers.swap(numbers_);
        hashes.swap(hashes_);
        for (size_t i = 0; i < numbers.size(); ++i)
            if (numbers[i] != 0) place(hashes[i], numbers[i]);
    }

    std::vector<uint64_t> numbers_;  // 0: an empty slot
    std::vector<uint32_t> hashes_;
    size_t used_ = 0;
};

}  // namespace ordergate::paper
