#include "common/recent_keys.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ordergate {
namespace {

TEST(RecentKeys, KeepsTheNewestUpToItsCapacity) {
    RecentKeys k(3);
    EXPECT_TRUE(k.insert("a"));
    EXPECT_TRUE(k.insert("b"));
    EXPECT_FALSE(k.insert("a"));  // held: neither added again nor made younger
    EXPECT_TRUE(k.insert("c"));
    EXPECT_TRUE(k.insert("d"));  // "a", the oldest, goes
    EXPECT_FALSE(k.contains("a"));
    EXPECT_TRUE(k.contains("b"));
    EXPECT_TRUE(k.contains("c"));
    EXPECT_TRUE(k.contains("d"));
    EXPECT_EQ(k.size(), 3u);
}

TEST(RecentKeys, NeverGrowsPastItsCapacity) {
    RecentKeys k(100);
    for (int i = 0; i < 100000; ++i) k.insert("paper|PT-" + std::to_string(i));
    EXPECT_EQ(k.size(), 100u);
    EXPECT_TRUE(k.contains("paper|PT-99999"));
    EXPECT_FALSE(k.contains("paper|PT-99899"));
}

TEST(RecentKeys, LongKeysAndShortKeysStayFindableAsTheRingMoves) {
    // Short keys live inside their string (no heap): the set's views must follow the ring's
    // elements, which a deque never moves at its ends.
    RecentKeys k(1000);
    for (int i = 0; i < 5000; ++i) {
        k.insert(std::to_string(i));
        k.insert(std::string(40, 'x') + std::to_string(i));
    }
    for (int i = 4500; i < 5000; ++i) {
        EXPECT_TRUE(k.contains(std::to_string(i))) << i;
        EXPECT_TRUE(k.contains(std::string(40, 'x') + std::to_string(i))) << i;
    }
    EXPECT_FALSE(k.contains("4499"));
}

TEST(RecentKeys, AKeyErasedAndInsertedAgainOutlivesItsOldSlot) {
    RecentKeys k(3);
    k.insert("a");
    k.insert("b");
    k.erase("a");
    EXPECT_FALSE(k.contains("a"));
    EXPECT_TRUE(k.insert("a"));  // a new slot; the old one is still the oldest
    k.insert("c");               // pops the old slot of "a": the new "a" stays
    EXPECT_TRUE(k.contains("a"));
    EXPECT_TRUE(k.contains("b"));
    EXPECT_TRUE(k.contains("c"));
    k.insert("d");  // pops "b"
    EXPECT_FALSE(k.contains("b"));
    EXPECT_TRUE(k.contains("a"));
}

TEST(RecentKeys, AnEmptyKeyIsNeverHeldAndACapacityOfZeroIsRefused) {
    RecentKeys k(2);
    EXPECT_FALSE(k.insert(""));
    EXPECT_FALSE(k.contains(""));
    EXPECT_EQ(k.size(), 0u);
    EXPECT_THROW(RecentKeys(0), std::invalid_argument);
}

}  // namespace
}  // namespace ordergate
