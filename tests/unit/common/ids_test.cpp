// Request ids (host/common/ids.hpp): their form, and that they sort by the time they were made.
#include "common/ids.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace ordergate::ids {
namespace {

bool lower_hex(const std::string& s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

TEST(RequestId, IsTwentyFourLowercaseHexCharactersLedByItsMillisecond) {
    const uint64_t ms = 1'796'539'052'123;  // 2026-12-06
    std::string id = new_request_id(ms);
    ASSERT_EQ(id.size(), 24u) << id;
    EXPECT_TRUE(lower_hex(id)) << id;
    EXPECT_EQ(std::stoull(id.substr(0, 12), nullptr, 16), ms) << id;
    EXPECT_EQ(new_request_id(0).substr(0, 12), "000000000000");
}

// Stored with an order's events and indexed: ids of later milliseconds sort after earlier ones,
// whatever their random part, so the index grows at its end.
TEST(RequestId, IdsOfLaterMillisecondsSortAfterEarlierOnes) {
    std::vector<std::string> made;
    for (uint64_t ms = 1'796'539'052'000; ms < 1'796'539'052'000 + 300; ++ms)
        for (int i = 0; i < 3; ++i) made.push_back(new_request_id(ms));
    for (size_t i = 3; i < made.size(); ++i)
        EXPECT_LT(made[i - 3], made[i]) << "made " << i - 3 << " and " << i;
}

TEST(RequestId, IdsOfOneMillisecondDifferInTheirRandomPart) {
    std::set<std::string> seen;
    for (int i = 0; i < 10000; ++i) seen.insert(new_request_id(1'796'539'052'000));
    EXPECT_EQ(seen.size(), 10000u);
}

TEST(RequestId, TheDefaultIsTheWallClock) {
    uint64_t before = wall_ms();
    std::string id = new_request_id();
    uint64_t after = wall_ms();
    uint64_t ms = std::stoull(id.substr(0, 12), nullptr, 16);
    EXPECT_GE(ms, before);
    EXPECT_LE(ms, after);
}

}  // namespace
}  // namespace ordergate::ids
