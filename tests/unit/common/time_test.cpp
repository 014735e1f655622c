// RFC 3339 formatting and parsing (host/common/time.hpp).
#include "common/time.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace ordergate::timefmt {
namespace {

TEST(Rfc3339, FormatsMillisecondsUtc) {
    EXPECT_EQ(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
    EXPECT_EQ(rfc3339_ms(1'764'649'696'789'123'456), "2025-12-02T04:28:16.789Z");
    EXPECT_EQ(rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
}

// A plugin's timestamp is any int64: the extremes print as the dates they are (INT64_MIN used
// to be negated, which overflows).
TEST(Rfc3339, FormatsEveryInt64Timestamp) {
    EXPECT_EQ(rfc3339_ms(INT64_MIN), "1677-09-21T00:12:43.145Z");
    EXPECT_EQ(rfc3339_ms(INT64_MIN + 1), "1677-09-21T00:12:43.145Z");
    EXPECT_EQ(rfc3339_ms(INT64_MAX), "2262-04-11T23:47:16.854Z");
}

TEST(Rfc3339, ParsesWhatItFormats) {
    int64_t ns = 0;
    ASSERT_TRUE(parse_rfc3339("2025-12-02T04:28:16.789Z", &ns));
    EXPECT_EQ(ns, 1'764'649'696'789'000'000);
    EXPECT_FALSE(parse_rfc3339("2025-12-02", &ns));
}

}  // namespace
}  // namespace ordergate::timefmt
