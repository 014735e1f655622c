// The history indexes on disk (paper_index.hpp).
#include "paper_index.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <system_error>
#include <utility>

#include "paper_journal.hpp"

namespace ordergate::paper {

namespace {

std::string errno_text(int e) { return std::generic_category().message(e); }

}  // namespace

// ---- ScratchFile --------------------------------------------------------------------------------

ScratchFile::~ScratchFile() { close(); }

ScratchFile::ScratchFile(ScratchFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), near_(std::move(other.near_)) {}

ScratchFile& ScratchFile::operator=(ScratchFile&& other) noexcept {
    if (this != &other) {
        close();
        fd_ = std::exchange(other.fd_, -1);
        near_ = std::move(other.near_);
    }
    return *this;
}

void ScratchFile::create(const std::string& near) {
    close();
    near_ = near;
    std::string name = near + ".index-XXXXXX";
    const int fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd < 0)
        throw JournalError("cannot make the history index beside '" + near +
                           "': " + errno_text(errno));
    if (::unlink(name.c_str()) != 0) {
        const int e = errno;
        ::close(fd);
        throw JournalError("cannot unlink the history index '" + name + "': " + errno_text(e));
    }
    fd_ = fd;
}

void ScratchFile::read(uint64_t offset, void* into, size_t size) const {
    auto* at = static_cast<char*>(into);
    while (size > 0) {
        const ssize_t n = ::pread(fd_, at, size, static_cast<off_t>(offset));
        if (n < 0) {
            if (errno == EINTR) continue;
            throw JournalError("cannot read the history index beside '" + near_ +
                               "': " + errno_text(errno));
        }
        if (n == 0) {  // past the end: never written
            std::memset(at, 0, size);
            return;
        }
        at += n;
        offset += static_cast<uint64_t>(n);
        size -= static_cast<size_t>(n);
    }
}

void ScratchFile::write(uint64_t offset, const void* from, size_t size) {
    const auto* at = static_cast<const char*>(from);
    while (size > 0) {
        const ssize_t n = ::pwrite(fd_, at, size, static_cast<off_t>(offset));
        if (n < 0) {
            if (errno == EINTR) continue;
            throw JournalError("cannot write the history index beside '" + near_ +
                               "': " + errno_text(errno));
        }
        at += n;
        offset += static_cast<uint64_t>(n);
        size -= static_cast<size_t>(n);
    }
}

void ScratchFile::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

// ---- SlotFile -----------------------------------------------------------------------------------

void SlotFile::create(const std::string& near) {
    file_.create(near);
    pages_ = {};
    clock_ = 0;
}

SlotFile::Page& SlotFile::page(uint64_t number) const {
    Page* victim = &pages_[0];
    for (Page& p : pages_) {
        if (p.number == number) {
            p.used = ++clock_;
            return p;
        }
        if (p.used < victim->used) victim = &p;
    }
    constexpr size_t kBytes = kSlotsPerPage * sizeof(uint64_t);
    if (victim->dirty) file_.write(victim->number * kBytes, victim->slots.data(), kBytes);
    // Forgotten before the read, so a failed read never leaves another page's slots named this.
    victim->number = kNoPage;
    victim->dirty = false;
    file_.read(number * kBytes, victim->slots.data(), kBytes);
    victim->number = number;
    victim->used = ++clock_;
    return *victim;
}

uint64_t SlotFile::get(uint64_t index) const {
    return page(index / kSlotsPerPage).slots[index % kSlotsPerPage];
}

void SlotFile::set(uint64_t index, uint64_t value) {
    Page& p = page(index / kSlotsPerPage);
    p.slots[index % kSlotsPerPage] = value;
    p.dirty = true;
}

// ---- RecordLines --------------------------------------------------------------------------------

void RecordLines::note(uint64_t number, uint8_t account_tag, int64_t changed_at_ns,
                       uint64_t offset) {
    if (offset > kMaxOffset)
        throw JournalError("journal offset " + std::to_string(offset) +
                           " is past what the history index holds");
    slots_.set(number, (uint64_t{account_tag} << kOffsetBits) | (offset + 1));
    const uint64_t block = number >> kBlockShift;
    if (latest_.size() <= block) latest_.resize(block + 1, INT64_MIN);
    latest_[block] = std::max(latest_[block], changed_at_ns);
}

bool RecordLines::get(uint64_t number, uint64_t* offset) const {
    const uint64_t slot = slots_.get(number);
    if ((slot & kOffsetMask) == 0) return false;
    *offset = (slot & kOffsetMask) - 1;
    return true;
}

bool RecordLines::may_be_account(uint64_t number, uint8_t wanted) const {
    if (wanted == kManyAccounts) return true;
    const uint64_t slot = slots_.get(number);
    if ((slot & kOffsetMask) == 0) return true;
    const auto tag = static_cast<uint8_t>(slot >> kOffsetBits);
    return tag == wanted || tag == kManyAccounts;
}

uint64_t RecordLines::block_end_before(uint64_t number, int64_t since_ns) const {
    const uint64_t block = number >> kBlockShift;
    if (block >= latest_.size() || latest_[block] >= since_ns) return 0;
    return ((block + 1) << kBlockShift) - 1;
}

// ---- HashedNumbers ------------------------------------------------------------------------------

void HashedNumbers::create(const std::string& near) {
    file_.create(near);
    bits_ = kMinBits;
    size_ = 0;
    pending_.clear();
    spill_.clear();
}

bool HashedNumbers::add(Bucket& b, uint64_t word) {
    const uint64_t count = b[0];
    for (uint64_t i = 1; i <= count; ++i)
        if (b[i] == word) return true;
    if (count + 1 >= kBucketSlots) return false;
    b[count + 1] = word;
    b[0] = count + 1;
    return true;
}

void HashedNumbers::insert(uint64_t hash, uint64_t number) {
    const uint64_t word = pack(hash, number);
    if (bulk_) {
        pending_.push_back(word);
        if (pending_.size() >= kBulkFlush) flush_pending();
        return;
    }
    reserve_for(size_ + 1);
    for (;;) {
        Bucket b;
        const uint64_t at = bucket_of(word) * kBucketBytes;
        file_.read(at, b.data(), kBucketBytes);
        const uint64_t before = b[0];
        if (add(b, word)) {
            if (b[0] != before) {
                file_.write(at, b.data(), kBucketBytes);
                ++size_;
            }
            return;
        }
        // A full bucket while the others are a quarter full or more: double and try again.
        // Fuller than that it is a cluster of hashes sharing their top bits, which doubling
        // would not spread: its extra entries go to memory.
        if (bits_ < kMaxBits && size_ >= (uint64_t{1} << bits_) * (kFillTarget / 4)) {
            grow();
            continue;
        }
        if (std::find(spill_.begin(), spill_.end(), word) == spill_.end()) {
            spill_.push_back(word);
            ++size_;
        }
        return;
    }
}

void HashedNumbers::end_bulk() {
    flush_pending();
    bulk_ = false;
}

void HashedNumbers::reserve_for(uint64_t entries) {
    while (bits_ < kMaxBits && entries > (uint64_t{1} << bits_) * kFillTarget) grow();
}

void HashedNumbers::grow() {
    // Bucket b of 2^bits becomes 2b and 2b + 1 of 2^(bits + 1), by the next bit of the hash.
    ScratchFile next;
    next.create_like(file_);
    constexpr uint64_t kChunk = 64;  // old buckets a read
    std::vector<Bucket> in(kChunk), out(2 * kChunk);
    const uint64_t buckets = uint64_t{1} << bits_;
    const unsigned split_shift = 63 - bits_;
    for (uint64_t first = 0; first < buckets; first += kChunk) {
        const uint64_t n = std::min(kChunk, buckets - first);
        file_.read(first * kBucketBytes, in.data(), n * kBucketBytes);
        for (uint64_t i = 0; i < n; ++i) {
            Bucket& low = out[2 * i];
            Bucket& high = out[2 * i + 1];
            low[0] = high[0] = 0;
            for (uint64_t k = 1; k <= in[i][0]; ++k) {
                const uint64_t word = in[i][k];
                Bucket& to = ((word >> split_shift) & 1) != 0 ? high : low;
                to[++to[0]] = word;  // half of a bucket that fitted always fits
            }
        }
        next.write(2 * first * kBucketBytes, out.data(), 2 * n * kBucketBytes);
    }
    file_ = std::move(next);
    ++bits_;
}

void HashedNumbers::flush_pending() {
    if (pending_.empty()) return;
    reserve_for(size_ + pending_.size());
    std::sort(pending_.begin(), pending_.end());  // by bucket: the top bits are the bucket's
    pending_.erase(std::unique(pending_.begin(), pending_.end()), pending_.end());
    constexpr uint64_t kChunk = 64;  // buckets a read
    std::vector<Bucket> chunk(kChunk);
    const uint64_t buckets = uint64_t{1} << bits_;
    size_t i = 0;
    while (i < pending_.size()) {
        const uint64_t first = bucket_of(pending_[i]) / kChunk * kChunk;
        const uint64_t n = std::min(kChunk, buckets - first);
        file_.read(first * kBucketBytes, chunk.data(), n * kBucketBytes);
        for (; i < pending_.size() && bucket_of(pending_[i]) < first + n; ++i) {
            Bucket& b = chunk[bucket_of(pending_[i]) - first];
            const uint64_t before = b[0];
            if (!add(b, pending_[i])) {
                if (std::find(spill_.begin(), spill_.end(), pending_[i]) == spill_.end()) {
                    spill_.push_back(pending_[i]);
                    ++size_;
                }
            } else if (b[0] != before) {
                ++size_;
            }
        }
        file_.write(first * kBucketBytes, chunk.data(), n * kBucketBytes);
    }
    pending_.clear();
    pending_.shrink_to_fit();
}

std::vector<uint64_t> HashedNumbers::candidates(uint64_t hash) const {
    const uint64_t key = hash >> kNumberBits;
    std::vector<uint64_t> found;
    auto take = [&](uint64_t word) {
        if ((word >> kNumberBits) == key) found.push_back(word & kMaxNumber);
    };
    if (file_.is_open()) {
        Bucket b;
        file_.read(bucket_of(pack(hash, 0)) * kBucketBytes, b.data(), kBucketBytes);
        for (uint64_t i = 1; i <= b[0] && i < kBucketSlots; ++i) take(b[i]);
    }
    for (uint64_t word : spill_) take(word);
    for (uint64_t word : pending_) take(word);
    std::sort(found.begin(), found.end());
    found.erase(std::unique(found.begin(), found.end()), found.end());
    return found;
}

}  // namespace ordergate::paper
