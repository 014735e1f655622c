// Query strings and percent-decoding (host/http/http.cpp, on Poco::URI).
#include <gtest/gtest.h>

#include "http/http.hpp"

namespace ordergate::http {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

Params query(std::string_view q) {
    Params out;
    EXPECT_TRUE(parse_query(q, &out)) << q;
    return out;
}

TEST(Query, SplitsAndPercentDecodes) {
    EXPECT_EQ(query("a=1&b=x%20y"), (Params{{"a", "1"}, {"b", "x y"}}));
    EXPECT_EQ(query("symbol=M%26M&since=2025-01-15T09%3A15%3A00Z"),
              (Params{{"symbol", "M&M"}, {"since", "2025-01-15T09:15:00Z"}}));
    EXPECT_EQ(query("cursor=a%3Db"), (Params{{"cursor", "a=b"}}));
    EXPECT_EQ(query("k%C3%A9y=v%C3%A9"), (Params{{"k\xC3\xA9y", "v\xC3\xA9"}}));
}

TEST(Query, PlusIsASpaceAndAnEncodedPlusIsAPlus) {
    EXPECT_EQ(query("symbol=BAJAJ+AUTO"), (Params{{"symbol", "BAJAJ AUTO"}}));
    EXPECT_EQ(query("since=2025-01-15T09:15:00%2B05:30"),
              (Params{{"since", "2025-01-15T09:15:00+05:30"}}));
    EXPECT_EQ(query("a+b=c+d%2B"), (Params{{"a b", "c d+"}}));
}

TEST(Query, EmptyPartsAndValues) {
    EXPECT_EQ(query(""), Params{});
    EXPECT_EQ(query("a=1&&b=2&"), (Params{{"a", "1"}, {"b", "2"}}));
    EXPECT_EQ(query("flag"), (Params{{"flag", ""}}));
    EXPECT_EQ(query("a="), (Params{{"a", ""}}));
    EXPECT_EQ(query("a=1&a=2"), (Params{{"a", "1"}, {"a", "2"}}));  // the API refuses repeats
}

TEST(Query, MalformedEscapesAreRefused) {
    for (std::string_view bad : {"a=%zz", "a=%2", "a=%", "%g1=x", "a=1&b=%4", "cursor=%ZZ"}) {
        Params out;
        EXPECT_FALSE(parse_query(bad, &out)) << bad;
    }
}

TEST(PercentDecode, APathSegmentKeepsItsPlus) {
    std::string out;
    ASSERT_TRUE(percent_decode("client_order_id:a%2Fb+c%20d", &out));
    EXPECT_EQ(out, "client_order_id:a/b+c d");
    ASSERT_TRUE(percent_decode("", &out));
    EXPECT_EQ(out, "");
    EXPECT_FALSE(percent_decode("ord_%x1", &out));
    EXPECT_FALSE(percent_decode("%4", &out));
    EXPECT_EQ(out, "");
}

}  // namespace
}  // namespace ordergate::http
