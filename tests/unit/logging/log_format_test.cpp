// The JSON log format: one object per line with the key=value format's fields, always parsable.
#include "logging/log_format.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "json/json.hpp"

namespace ordergate::logging {
namespace {

json::Value parsed(const std::string& line) {
    json::Value v;
    std::string why;
    EXPECT_TRUE(json::parse(line, &v, &why)) << why << "\n" << line;
    return v;
}

std::string member(const json::Value& v, const char* key) {
    const json::Value* m = v.find(key);
    EXPECT_NE(m, nullptr) << key;
    if (!m) return "";
    EXPECT_TRUE(m->is_string()) << key;
    return m->text();
}

std::vector<std::string> keys(const json::Value& v) {
    std::vector<std::string> out;
    for (const auto& [k, _] : v.members()) out.push_back(k);
    return out;
}

TEST(JsonLog, SameFieldsAsTheKeyValueLine) {
    auto v = parsed(json_line("2024-05-01T09:15:02.123Z", "info",
                              "event=listening host=0.0.0.0 port=8087 storage=storage-sqlite"));
    EXPECT_EQ(keys(v), (std::vector<std::string>{"ts", "level", "event", "host", "port", "storage"}));
    EXPECT_EQ(member(v, "ts"), "2024-05-01T09:15:02.123Z");
    EXPECT_EQ(member(v, "level"), "info");
    EXPECT_EQ(member(v, "event"), "listening");
    EXPECT_EQ(member(v, "port"), "8087");  // every value a string: one type per field for shippers
}

TEST(JsonLog, QuotedValuesMayHoldSpacesQuotesAndEquals) {
    auto v = parsed(json_line("t", "error",
                              "event=storage_failed op=put error=\"constraint \"uq\" failed: a=b\" "
                              "code=19"));
    EXPECT_EQ(member(v, "error"), "constraint \"uq\" failed: a=b");
    EXPECT_EQ(member(v, "code"), "19");
    auto last = parsed(json_line("t", "warning", "event=x detail=\"ends the line\""));
    EXPECT_EQ(member(last, "detail"), "ends the line");
    auto open = parsed(json_line("t", "warning", "event=x detail=\"never closed"));
    EXPECT_EQ(member(open, "detail"), "never closed");
    auto empty = parsed(json_line("t", "info", "event=x a= b=\"\""));
    EXPECT_EQ(member(empty, "a"), "");
    EXPECT_EQ(member(empty, "b"), "");
}

TEST(JsonLog, FreeTextGoesToMsgAndALineWithoutEventGetsOne) {
    auto v = parsed(json_line("t", "warning", "plugin=paper broker=p dropped malformed fill"));
    EXPECT_EQ(member(v, "event"), "log");
    EXPECT_EQ(member(v, "plugin"), "paper");
    EXPECT_EQ(member(v, "msg"), "dropped malformed fill");
    auto bare = parsed(json_line("t", "info", "just words"));
    EXPECT_EQ(member(bare, "event"), "log");
    EXPECT_EQ(member(bare, "msg"), "just words");
    auto nothing = parsed(json_line("t", "info", ""));
    EXPECT_EQ(keys(nothing), (std::vector<std::string>{"ts", "level", "event"}));
}

TEST(JsonLog, ARepeatedKeyKeepsBothValues) {
    // json::parse refuses repeated keys: the line parsing at all is half the check.
    auto v = parsed(json_line("t", "info",
                              "event=plugin_log plugin=paper event=fill ts=x level=y msg=m extra"));
    EXPECT_EQ(member(v, "event"), "plugin_log");
    EXPECT_EQ(member(v, "event_2"), "fill");
    EXPECT_EQ(member(v, "ts"), "t");
    EXPECT_EQ(member(v, "ts_2"), "x");
    EXPECT_EQ(member(v, "level_2"), "y");
    EXPECT_EQ(member(v, "msg"), "m");
    EXPECT_EQ(member(v, "msg_2"), "extra");
}

TEST(JsonLog, ControlCharactersAndInvalidUtf8StayParsable) {
    const std::string nasty = std::string("event=x error=\"a\nb\tc\x01\" name=caf\xC3\xA9 bad=") +
                              "\xFF\xC0\xAF\xED\xA0\x80\xF4\x90\x80\x80\xE2\x82" + " rupee=\xE2\x82\xB9";
    const std::string line = json_line("t", "info", nasty);
    EXPECT_EQ(line.find('\n'), std::string::npos);
    auto v = parsed(line);
    EXPECT_EQ(member(v, "error"), "a\nb\tc\x01");
    EXPECT_EQ(member(v, "name"), "caf\xC3\xA9");
    EXPECT_EQ(member(v, "rupee"), "\xE2\x82\xB9");
    // Each byte that starts no well-formed sequence is one U+FFFD.
    const std::string bad = member(v, "bad");
    EXPECT_EQ(bad.find_first_not_of("\xEF\xBF\xBD"), std::string::npos) << bad;
    EXPECT_EQ(bad.size() % 3, 0u);
}

TEST(JsonLog, TheFormatterWritesOneObjectPerLineWithUtcTime) {
    std::ostringstream out;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    spdlog::logger logger("json-test", sink);
    logger.set_formatter(std::make_unique<JsonFormatter>());
    logger.set_level(spdlog::level::trace);
    logger.warn("event=broker_disconnected broker={} detail=\"{}\"", "paper", "socket closed");
    logger.debug("event=order_placed order_id={}", "ord_1");
    std::istringstream lines(out.str());
    std::string line;
    std::vector<json::Value> seen;
    while (std::getline(lines, line)) seen.push_back(parsed(line));
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(member(seen[0], "level"), "warning");  // as the text format's %l writes it
    EXPECT_EQ(member(seen[0], "detail"), "socket closed");
    EXPECT_EQ(member(seen[1], "level"), "debug");
    const std::string ts = member(seen[0], "ts");
    ASSERT_EQ(ts.size(), 24u) << ts;  // 2024-05-01T09:15:02.123Z
    EXPECT_EQ(ts[10], 'T');
    EXPECT_EQ(ts[19], '.');
    EXPECT_EQ(ts.back(), 'Z');
}

TEST(JsonLog, FormatNames) {
    EXPECT_EQ(parse_format("json"), Format::Json);
    EXPECT_EQ(parse_format("text"), Format::Text);
    EXPECT_EQ(parse_format("JSON"), std::nullopt);
    EXPECT_EQ(parse_format(""), std::nullopt);
    EXPECT_STREQ(format_name(Format::Json), "json");
}

}  // namespace
}  // namespace ordergate::logging
