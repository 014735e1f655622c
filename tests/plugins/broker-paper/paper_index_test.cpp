// The history indexes: line offsets by number, and numbers by client order id hash.
#include "paper_index.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

namespace ordergate::paper {
namespace {

TEST(PaperLineOffsets, GivesBackEveryOffsetSetIncludingFarOnes) {
    LineOffsets lines;
    uint64_t out = 0;
    EXPECT_FALSE(lines.get(1, &out));
    std::map<uint64_t, uint64_t> expected;
    uint64_t offset = 100;
    for (uint64_t n = 1; n <= 2000; ++n) {
        offset += 300 + n % 7;
        lines.set(n, offset);
        expected[n] = offset;
    }
    // Later lines of a few records: one near, some past 4 GiB from their block's first line.
    offset += 1000;
    lines.set(5, offset);
    expected[5] = offset;
    lines.set(700, offset + (uint64_t{5} << 32));
    expected[700] = offset + (uint64_t{5} << 32);
    lines.set(700, offset + 7);  // back within reach: the side table lets it go
    expected[700] = offset + 7;
    for (const auto& [n, want] : expected) {
        ASSERT_TRUE(lines.get(n, &out)) << n;
        EXPECT_EQ(out, want) << n;
    }
    EXPECT_FALSE(lines.get(0, &out));
    EXPECT_FALSE(lines.get(2001, &out));
    // A number skipped inside the range has none.
    lines.set(2100, offset + 50);
    EXPECT_FALSE(lines.get(2050, &out));
    ASSERT_TRUE(lines.get(2100, &out));
    EXPECT_EQ(out, offset + 50);
}

TEST(PaperHashedNumbers, FindsEveryNumberUnderItsHashAndOnlyThoseSharingItsTopBits) {
    HashedNumbers index;
    std::mt19937_64 rng(7);
    std::vector<std::pair<uint64_t, uint64_t>> stored;  // (hash, number)
    for (uint64_t n = 1; n <= 100000; ++n) {
        const uint64_t h = rng();
        index.insert(h, n);
        stored.emplace_back(h, n);
    }
    // Two hashes that differ only below the top 24 bits share a key.
    const uint64_t twin = (stored[10].first & ~((uint64_t{1} << 40) - 1)) | 12345;
    index.insert(twin, HashedNumbers::kMaxNumber);
    EXPECT_EQ(index.size(), 100001u);
    size_t extra = 0;
    for (const auto& [h, n] : stored) {
        bool found = false;
        index.for_each(h, [&](uint64_t m) {
            if (m == n) found = true;
            else ++extra;
        });
        ASSERT_TRUE(found) << n;
    }
    // The twin comes back with number 11's lookup; other shared keys are rare (~100000 / 2^24 each).
    std::set<uint64_t> with_twin;
    index.for_each(twin, [&](uint64_t m) { with_twin.insert(m); });
    EXPECT_TRUE(with_twin.count(11) && with_twin.count(HashedNumbers::kMaxNumber));
    EXPECT_LT(extra, 3000u);
    size_t none = 0;
    index.for_each(rng(), [&](uint64_t) { ++none; });
    EXPECT_LT(none, 3u);
}

}  // namespace
}  // namespace ordergate::paper
