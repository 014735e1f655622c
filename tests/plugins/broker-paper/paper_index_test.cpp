// The history indexes on disk: slots by number, record lines, and numbers by client order id hash.
#include "paper_index.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>

#include "paper_journal.hpp"

namespace ordergate::paper {
namespace {

class PaperIndex : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("og-paper-index-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
        near_ = (dir_ / "paper.journal").string();
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    size_t files_in_dir() const {
        size_t n = 0;
        for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_)) ++n;
        return n;
    }

    std::filesystem::path dir_;
    std::string near_;
};

TEST_F(PaperIndex, SlotsComeBackThroughTheCacheAndTheFileAndLeaveNoFileBehind) {
    SlotFile slots;
    slots.create(near_);
    EXPECT_EQ(files_in_dir(), 0u);  // unlinked at once
    EXPECT_EQ(slots.get(0), 0u);
    EXPECT_EQ(slots.get(1'000'000), 0u);  // past the end: never set
    std::map<uint64_t, uint64_t> expected;
    for (uint64_t i = 0; i < 20'000; ++i) {  // rising, as new records come: 40 pages
        slots.set(i, i * 3 + 1);
        expected[i] = i * 3 + 1;
    }
    std::mt19937_64 rng(11);
    for (int k = 0; k < 5'000; ++k) {  // then anywhere, pages leaving and coming back
        const uint64_t i = rng() % 50'000;
        const uint64_t v = rng() | 1;
        slots.set(i, v);
        expected[i] = v;
    }
    for (const auto& [i, want] : expected) ASSERT_EQ(slots.get(i), want) << i;
    for (uint64_t i = 0; i < 50'000; ++i) {
        if (expected.count(i) == 0) {
            ASSERT_EQ(slots.get(i), 0u) << i;
        }
    }
}

TEST_F(PaperIndex, RecordLinesGiveBackOffsetsAndAccountTagsAndSkipOldBlocks) {
    RecordLines lines;
    lines.create(near_);
    uint64_t out = 0;
    EXPECT_FALSE(lines.get(1, &out));
    std::map<uint64_t, uint64_t> expected;
    uint64_t offset = 100;
    for (uint64_t n = 1; n <= 5000; ++n) {
        offset += 300 + n % 7;
        lines.note(n, static_cast<uint8_t>(1 + n % 3), static_cast<int64_t>(n) * 1000, offset);
        expected[n] = offset;
    }
    // Later lines of old records, one far past 4 GiB; offset 0 (the first line) is an offset.
    offset += 1000;
    lines.note(5, 1 + 5 % 3, 5'000'000, offset);
    expected[5] = offset;
    lines.note(700, 1 + 700 % 3, 700'000, offset + (uint64_t{5} << 32));
    expected[700] = offset + (uint64_t{5} << 32);
    lines.note(6000, 2, 6'000'000, 0);
    expected[6000] = 0;
    lines.note(6001, 2, 6'001'000, RecordLines::kMaxOffset);
    expected[6001] = RecordLines::kMaxOffset;
    for (const auto& [n, want] : expected) {
        ASSERT_TRUE(lines.get(n, &out)) << n;
        EXPECT_EQ(out, want) << n;
    }
    EXPECT_FALSE(lines.get(0, &out));
    EXPECT_FALSE(lines.get(5500, &out));  // a number skipped inside the range has none
    EXPECT_THROW(lines.note(6002, 2, 0, RecordLines::kMaxOffset + 1), JournalError);

    EXPECT_TRUE(lines.may_be_account(7, 1 + 7 % 3));
    EXPECT_FALSE(lines.may_be_account(7, 1 + 8 % 3));
    EXPECT_TRUE(lines.may_be_account(7, RecordLines::kManyAccounts));
    EXPECT_TRUE(lines.may_be_account(5500, 1));  // never noted: may be anyone's
    lines.note(8, RecordLines::kManyAccounts, 8000, 123);
    EXPECT_TRUE(lines.may_be_account(8, 1));

    // Block 1 (numbers 256..511) last changed at 511 * 1000 (700 is in block 2, changed later).
    EXPECT_EQ(lines.block_end_before(300, 511'001), 511u);
    EXPECT_EQ(lines.block_end_before(300, 511'000), 0u);
    EXPECT_EQ(lines.block_end_before(600, 700'000), 0u);      // block 2 holds 700's later line
    EXPECT_EQ(lines.block_end_before(1'000'000, 0), 0u);      // past what was noted
}

TEST_F(PaperIndex, HashedNumbersFindEveryNumberUnderItsHashWhileTheFileDoubles) {
    HashedNumbers index;
    index.create(near_);
    EXPECT_EQ(files_in_dir(), 0u);
    const unsigned bits_at_start = index.bucket_bits();
    std::mt19937_64 rng(7);
    std::vector<std::pair<uint64_t, uint64_t>> stored;  // (hash, number)
    for (uint64_t n = 1; n <= 100000; ++n) {
        const uint64_t h = rng();
        index.insert(h, n);
        stored.emplace_back(h, n);
    }
    EXPECT_GE(index.bucket_bits(), bits_at_start + 4);  // 100000 entries: 2^11 buckets at least
    // Two hashes that differ only below the top 24 bits share a key.
    const uint64_t twin = (stored[10].first & ~((uint64_t{1} << 40) - 1)) | 12345;
    index.insert(twin, HashedNumbers::kMaxNumber);
    index.insert(stored[20].first, stored[20].second);  // again: not stored twice
    EXPECT_EQ(index.size(), 100001u);
    size_t extra = 0;
    for (const auto& [h, n] : stored) {
        size_t found = 0;
        for (uint64_t m : index.candidates(h)) {
            if (m == n) ++found;
            else ++extra;
        }
        ASSERT_EQ(found, 1u) << n;
    }
    // The twin comes back with number 11's lookup; other shared keys are rare (~100000 / 2^24 each).
    std::set<uint64_t> with_twin;
    for (uint64_t m : index.candidates(twin)) with_twin.insert(m);
    EXPECT_TRUE(with_twin.count(11) && with_twin.count(HashedNumbers::kMaxNumber));
    EXPECT_LT(extra, 3000u);
    size_t none = 0;
    none += index.candidates(rng()).size();
    EXPECT_LT(none, 3u);
}

TEST_F(PaperIndex, HashedNumbersInBulkAgreeWithOneByOne) {
    HashedNumbers bulk, single;
    bulk.create(near_);
    single.create(near_);
    bulk.begin_bulk();
    std::mt19937_64 rng(3);
    std::vector<std::pair<uint64_t, uint64_t>> stored;
    for (uint64_t n = 1; n <= 300'000; ++n) {  // one flush at 262,144 and one at the end
        const uint64_t h = rng();
        stored.emplace_back(h, n);
        bulk.insert(h, n);
        single.insert(h, n);
        if (n % 1000 == 0) bulk.insert(h, n);  // twice: stored once
    }
    // Found while still pending too.
    size_t pending_found = 0;
    for (uint64_t m : bulk.candidates(stored.back().first)) pending_found += m == 300'000;
    EXPECT_EQ(pending_found, 1u);
    bulk.end_bulk();
    EXPECT_EQ(bulk.size(), 300'000u);
    EXPECT_EQ(bulk.bucket_bits(), single.bucket_bits());
    for (size_t i = 0; i < stored.size(); i += 7) {
        const std::vector<uint64_t> a = bulk.candidates(stored[i].first);
        const std::vector<uint64_t> b = single.candidates(stored[i].first);
        ASSERT_EQ(a, b) << i;
        ASSERT_NE(std::find(a.begin(), a.end(), stored[i].second), a.end()) << i;
    }
}

TEST_F(PaperIndex, HashedNumbersSpillAClusterOfOneKeyIntoMemoryWithoutGrowingTheFile) {
    HashedNumbers index;
    index.create(near_);
    const unsigned bits = index.bucket_bits();
    const uint64_t key = uint64_t{0xABCDEF} << 40;
    for (uint64_t n = 1; n <= 300; ++n) index.insert(key | n, n);  // one bucket holds 127
    EXPECT_EQ(index.bucket_bits(), bits);  // doubling would not have spread them
    std::set<uint64_t> found;
    for (uint64_t m : index.candidates(key)) found.insert(m);
    EXPECT_EQ(found.size(), 300u);
    EXPECT_EQ(index.size(), 300u);
}

TEST_F(PaperIndex, AFileThatCannotBeMadeIsAJournalError) {
    SlotFile slots;
    EXPECT_THROW(slots.create((dir_ / "missing-dir" / "paper.journal").string()), JournalError);
}

}  // namespace
}  // namespace ordergate::paper
