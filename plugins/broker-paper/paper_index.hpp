// Compact indexes for the history the paper venue no longer holds in memory (its records stay in
// the journal): where each numbered record's line is, and which numbers a client order id hash
// may name. Both cost a few bytes per record, so a venue's memory does not grow with its history.
#pragma once

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <iterator>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ordergate::paper {

// Journal offsets by record number: 4 bytes a number. Numbers come in blocks of 256; a block keeps
// the first offset set in it, each number its distance from there (+1, so 0 means "none"). An
// offset too far from its block's first (a record that changed long after its neighbours: more
// than 4 GiB of journal later) goes to a side table.
class LineOffsets {
  public:
    void set(uint64_t number, uint64_t offset) {
        const uint64_t block = number >> kShift;
        if (bases_.size() <= block) bases_.resize(block + 1, kNoBase);
        if (stored_.size() <= number) stored_.resize(number + 1, 0);
        uint64_t& base = bases_[block];
        if (base == kNoBase) base = offset;
        if (offset >= base && offset - base < kFar - 1) {
            stored_[number] = static_cast<uint32_t>(offset - base + 1);
            far_.erase(number);
        } else {
            stored_[number] = kFar;
            far_[number] = offset;
        }
    }

    // Whether an offset was set for `number`; if so, it is in *offset.
    bool get(uint64_t number, uint64_t* offset) const {
        if (number >= stored_.size() || stored_[number] == 0) return false;
        if (stored_[number] == kFar) {
            *offset = far_.at(number);
        } else {
            *offset = bases_[number >> kShift] + stored_[number] - 1;
        }
        return true;
    }

  private:
    static constexpr unsigned kShift = 8;
    static constexpr uint32_t kFar = UINT32_MAX;
    static constexpr uint64_t kNoBase = UINT64_MAX;
    std::deque<uint32_t> stored_;
    std::deque<uint64_t> bases_;
    std::unordered_map<uint64_t, uint64_t> far_;
};

// What the venue keeps of each numbered record (order or fill) for reading it back: where its
// line is, a one-byte tag of its account, and per block of 256 numbers the latest change, so a
// listing skips other accounts' records and whole blocks older than its start without reading.
class RecordLines {
  public:
    static constexpr uint8_t kManyAccounts = 255;  // a tag that may be any account
    static constexpr unsigned kBlockShift = 8;

    void note(uint64_t number, uint8_t account_tag, int64_t changed_at_ns, uint64_t offset) {
        offsets_.set(number, offset);
        if (accounts_.size() <= number) accounts_.resize(number + 1, kManyAccounts);
        accounts_[number] = account_tag;
        const uint64_t block = number >> kBlockShift;
        if (latest_.size() <= block) latest_.resize(block + 1, INT64_MIN);
        latest_[block] = std::max(latest_[block], changed_at_ns);
    }
    bool get(uint64_t number, uint64_t* offset) const { return offsets_.get(number, offset); }
    // Whether record `number` may be of the account tagged `wanted` (kManyAccounts: any).
    bool may_be_account(uint64_t number, uint8_t wanted) const {
        if (wanted == kManyAccounts || number >= accounts_.size()) return true;
        return accounts_[number] == wanted || accounts_[number] == kManyAccounts;
    }
    // The last number of `number`'s block when every record in it changed before since_ns
    // (a listing from since_ns goes on after it), else 0.
    uint64_t block_end_before(uint64_t number, int64_t since_ns) const {
        const uint64_t block = number >> kBlockShift;
        if (block >= latest_.size() || latest_[block] >= since_ns) return 0;
        return ((block + 1) << kBlockShift) - 1;
    }

  private:
    LineOffsets offsets_;
    std::deque<uint8_t> accounts_;
    std::deque<int64_t> latest_;
};

// A multimap from a hash to record numbers: 8 bytes an entry, 24 bits of the hash and a 40-bit
// number packed in one word, kept in sorted runs (a small unsorted tail, runs merged as they pile
// up, so there are O(log n) of them). A lookup gives every number stored under the same 24 bits;
// the caller reads those records back and compares the real keys, so two keys sharing them cost a
// read, never a wrong answer (with n entries, a lookup meets about n / 16.7 million of them).
class HashedNumbers {
  public:
    static constexpr uint64_t kMaxNumber = (uint64_t{1} << 40) - 1;

    // Stores `number` (1 .. kMaxNumber) under `hash`. The caller checks first (for_each) that it
    // is not there yet: the same pair twice would be given twice.
    void insert(uint64_t hash, uint64_t number) {
        tail_.push_back(pack(hash, number));
        if (tail_.size() < kTail) return;
        std::sort(tail_.begin(), tail_.end());
        runs_.push_back(std::move(tail_));
        tail_ = {};
        // Merge while the newest run is at least half the size of the one before it.
        while (runs_.size() >= 2 && runs_.back().size() * 2 >= runs_[runs_.size() - 2].size()) {
            std::vector<uint64_t> merged;
            merged.reserve(runs_.back().size() + runs_[runs_.size() - 2].size());
            std::merge(runs_[runs_.size() - 2].begin(), runs_[runs_.size() - 2].end(),
                       runs_.back().begin(), runs_.back().end(), std::back_inserter(merged));
            runs_.pop_back();
            runs_.back() = std::move(merged);
        }
    }

    // Calls f(number) for every number stored under the same 24 bits of `hash`.
    template <typename F>
    void for_each(uint64_t hash, F&& f) const {
        const uint64_t key = hash_bits(hash);
        for (uint64_t e : tail_)
            if ((e >> kNumberBits) == key) f(e & kMaxNumber);
        for (const auto& run : runs_) {
            auto it = std::lower_bound(run.begin(), run.end(), key << kNumberBits);
            for (; it != run.end() && (*it >> kNumberBits) == key; ++it) f(*it & kMaxNumber);
        }
    }

    size_t size() const {
        size_t n = tail_.size();
        for (const auto& run : runs_) n += run.size();
        return n;
    }

  private:
    static constexpr unsigned kNumberBits = 40;
    static constexpr size_t kTail = 256;

    static uint64_t hash_bits(uint64_t hash) { return hash >> kNumberBits; }  // the top 24
    static uint64_t pack(uint64_t hash, uint64_t number) {
        return (hash_bits(hash) << kNumberBits) | number;
    }

    std::vector<uint64_t> tail_;
    std::vector<std::vector<uint64_t>> runs_;  // each sorted; sizes shrink towards the back
};

}  // namespace ordergate::paper
