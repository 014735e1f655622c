// Indexes of the history the paper venue no longer holds in memory (its records stay in the
// journal): where each numbered record's line is, and which numbers a client order id hash may
// name. They live in files of their own beside the journal, rebuilt from it at every start and
// unlinked as soon as they are made, so nothing is left behind and nothing has to survive a
// crash. The venue's memory therefore does not grow with its history: what the indexes hold sits
// in the kernel's page cache (which gives it back under pressure, as it does the journal's), and
// the process keeps a few pages of them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace ordergate::paper {

// A file for this run only: made beside `near` (a path) as `<near>.index-XXXXXX` and unlinked at
// once. Reads past its end give zeros. Every failure throws JournalError naming `near`.
class ScratchFile {
  public:
    ScratchFile() = default;
    ~ScratchFile();
    ScratchFile(ScratchFile&& other) noexcept;
    ScratchFile& operator=(ScratchFile&& other) noexcept;
    ScratchFile(const ScratchFile&) = delete;
    ScratchFile& operator=(const ScratchFile&) = delete;

    void create(const std::string& near);
    void create_like(const ScratchFile& other) { create(other.near_); }  // beside the same path
    bool is_open() const { return fd_ >= 0; }
    void read(uint64_t offset, void* into, size_t size) const;
    void write(uint64_t offset, const void* from, size_t size);
    void close();

  private:
    int fd_ = -1;
    std::string near_;
};

// 8-byte slots by index (0 until set) in a ScratchFile, with a few 4 KiB pages cached and written
// back when they leave the cache: slots set in rising order cost one write per 512 of them, and
// reading slots in order one read per 512.
class SlotFile {
  public:
    static constexpr size_t kSlotsPerPage = 512;
    static constexpr size_t kCachedPages = 8;

    void create(const std::string& near);
    bool is_open() const { return file_.is_open(); }
    uint64_t get(uint64_t index) const;
    void set(uint64_t index, uint64_t value);

  private:
    static constexpr uint64_t kNoPage = UINT64_MAX;
    struct Page {
        uint64_t number = kNoPage;
        uint64_t used = 0;  // the cache's clock at the last use
        bool dirty = false;
        std::array<uint64_t, kSlotsPerPage> slots{};
    };
    Page& page(uint64_t number) const;

    mutable ScratchFile file_;
    mutable std::array<Page, kCachedPages> pages_;
    mutable uint64_t clock_ = 0;
};

// What the venue keeps of each numbered record (order or fill) for reading it back: where its
// line is and a one-byte tag of its account (one slot, on disk), and per block of 256 numbers the
// latest change (in memory, 8 bytes a block), so a listing skips other accounts' records and whole
// blocks older than its start without reading their lines.
class RecordLines {
  public:
    static constexpr uint8_t kManyAccounts = 255;  // a tag that may be any account
    static constexpr unsigned kBlockShift = 8;
    static constexpr uint64_t kMaxOffset = (uint64_t{1} << 56) - 2;

    void create(const std::string& near) { slots_.create(near); }
    // Throws JournalError past kMaxOffset (64 PiB of journal) or when the file fails.
    void note(uint64_t number, uint8_t account_tag, int64_t changed_at_ns, uint64_t offset);
    bool get(uint64_t number, uint64_t* offset) const;
    // Whether record `number` may be of the account tagged `wanted` (kManyAccounts: any; a number
    // never noted may be any).
    bool may_be_account(uint64_t number, uint8_t wanted) const;
    // The last number of `number`'s block when every record in it changed before since_ns
    // (a listing from since_ns goes on after it), else 0.
    uint64_t block_end_before(uint64_t number, int64_t since_ns) const;

  private:
    static constexpr uint64_t kOffsetBits = 56;
    static constexpr uint64_t kOffsetMask = (uint64_t{1} << kOffsetBits) - 1;
    SlotFile slots_;  // (tag << 56) | (offset + 1)
    std::deque<int64_t> latest_;
};

// A multimap from a 64-bit hash to record numbers, on disk: an 8-byte word per entry (the hash's
// top 24 bits and a 40-bit number), in buckets of 1 KiB chosen by the hash's top bits, their
// number doubling (one pass through the file) before the average bucket is half full; a bucket
// that fills long before the others (hashes sharing their top bits) spills into memory. A lookup
// reads one bucket and gives every number stored under the same top 24 bits; the caller reads
// those records back and compares the real keys, so two keys sharing them cost a read, never a
// wrong answer (with n entries, a lookup meets about n / 16.7 million of them).
class HashedNumbers {
  public:
    static constexpr uint64_t kMaxNumber = (uint64_t{1} << 40) - 1;

    void create(const std::string& near);
    // Stores `number` (1 .. kMaxNumber) under `hash`; a pair stored already is not stored again.
    void insert(uint64_t hash, uint64_t number);
    // Between these, inserts wait in memory and go to disk in one ordered pass through the file
    // every 256k of them and at end_bulk(): what a start's replay does with a long history.
    void begin_bulk() { bulk_ = true; }
    void end_bulk();
    // Every number stored under the same top 24 bits of `hash`, once each, in rising order.
    std::vector<uint64_t> candidates(uint64_t hash) const;
    size_t size() const { return static_cast<size_t>(size_) + pending_.size(); }
    unsigned bucket_bits() const { return bits_; }  // for tests: 2^bits buckets

  private:
    static constexpr unsigned kNumberBits = 40;
    static constexpr size_t kBucketSlots = 128;  // slot 0: how many entries follow
    static constexpr size_t kBucketBytes = kBucketSlots * 8;
    static constexpr uint64_t kFillTarget = 64;  // average entries a bucket before doubling
    static constexpr unsigned kMinBits = 6;
    static constexpr unsigned kMaxBits = 22;  // 4 GiB of buckets at most
    static constexpr size_t kBulkFlush = size_t{1} << 18;
    using Bucket = std::array<uint64_t, kBucketSlots>;

    static uint64_t pack(uint64_t hash, uint64_t number) {
        return ((hash >> kNumberBits) << kNumberBits) | number;
    }
    uint64_t bucket_of(uint64_t word) const { return word >> (64 - bits_); }
    void reserve_for(uint64_t entries);
    void grow();
    void flush_pending();
    // Adds `word` to `b` unless there; false when it is full.
    static bool add(Bucket& b, uint64_t word);

    ScratchFile file_;
    unsigned bits_ = kMinBits;
    uint64_t size_ = 0;              // entries in the file and in spill_
    bool bulk_ = false;
    std::vector<uint64_t> pending_;  // bulk inserts not yet in the file
    std::vector<uint64_t> spill_;    // entries whose bucket was full (a cluster; never seen)
};

}  // namespace ordergate::paper
