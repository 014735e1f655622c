// ordergate::json::parse: what the REST API accepts as a JSON text, and that whatever it accepts
// prints back as JSON it accepts again (the idempotency fingerprint and every response rely on it).
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "json/json.hpp"

namespace ordergate::json {
namespace {

bool parses(const std::string& text, std::string* why = nullptr) {
    Value v;
    std::string reason;
    bool ok = parse(text, &v, &reason);
    if (why) *why = reason;
    return ok;
}

TEST(JsonParse, NumbersStayAsWritten) {
    Value v;
    std::string why;
    ASSERT_TRUE(parse(R"({"quantity": 1500.50, "price": "1.5e3"})", &v, &why)) << why;
    EXPECT_TRUE(v.find("quantity")->is_number());
    EXPECT_EQ(v.find("quantity")->text(), "1500.50");
    EXPECT_TRUE(v.find("price")->is_string());
}

TEST(JsonParse, RepeatedKeyInvalidUtf8AndDeepNestingAreRefused) {
    std::string why;
    EXPECT_FALSE(parses(R"({"a":1,"a":2})", &why));
    EXPECT_NE(why.find("repeated key"), std::string::npos) << why;
    EXPECT_FALSE(parses("{\"a\":\"\xff\"}", &why));
    EXPECT_EQ(why, "invalid UTF-8");
    EXPECT_FALSE(parses("{\"a\":\"\xed\xa0\x80\"}", &why));  // a surrogate, UTF-8 encoded
    EXPECT_EQ(why, "invalid UTF-8");
    EXPECT_FALSE(parses(std::string(40, '[') + std::string(40, ']'), &why));
}

// The text is checked as a whole: a key, a value past eight ASCII bytes, a sequence cut at the
// end, an overlong form; well-formed sequences of every length pass.
TEST(JsonParse, InvalidUtf8AnywhereIsRefusedAndValidUtf8Passes) {
    std::string why;
    for (const std::string& text :
         {std::string("{\"k\xc3\":1}"), std::string("{\"abcdefghijklmnop\":\"abcdefgh\x80\"}"),
          std::string("{\"a\":\"x\xe2\x82\"}"), std::string("{\"a\":\"\xc0\xaf\"}"),
          std::string("{\"a\":\"\xf4\x90\x80\x80\"}"), std::string("[\"abcdefg\xe2")}) {
        EXPECT_FALSE(parses(text, &why)) << text;
        EXPECT_EQ(why, "invalid UTF-8") << text;
    }
    Value v;
    ASSERT_TRUE(parse("{\"s\":\"a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z\"}", &v, &why)) << why;
    EXPECT_EQ(v.find("s")->text(), "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z");
}

TEST(JsonParse, SurrogatePairEscapeIsOneCharacter) {
    Value v;
    std::string why;
    ASSERT_TRUE(parse(R"({"s":"\ud83d\ude00"})", &v, &why)) << why;
    EXPECT_EQ(v.find("s")->text(), "\xF0\x9F\x98\x80");
}

// Found by fuzz_order_request: "\udccc" (a low surrogate with no high one before it) was decoded
// to the bytes ED B3 8C, which are not UTF-8; the serialised request then failed to parse again.
TEST(JsonParse, LoneSurrogateEscapesAreRefusedInValuesAndKeys) {
    for (const char* text : {R"({"s":"\udccc"})", R"({"s":"a\udfffb"})", R"({"\udc00":1})",
                             R"(["\ud800"])", R"(["\ud800x"])", R"(["\ud800\u0041"])"}) {
        std::string why;
        EXPECT_FALSE(parses(text, &why)) << text;
        EXPECT_FALSE(why.empty()) << text;
    }
}

TEST(JsonParse, WhatIsAcceptedSerialisesToTextThatParsesToTheSameDocument) {
    for (const char* text : {R"({"b":"\u0000x\u001f","a":["\u00e9",1e300,-0.0]})",
                             R"({"k\"ey":"\\\/","n":null,"t":true})", R"({"s":"\ud83d\ude00\uffff"})"}) {
        Value v, again;
        std::string why, canonical, serialized, canonical_again;
        ASSERT_TRUE(parse(text, &v, &why)) << text << ": " << why;
        v.canonical(&canonical);
        v.serialize(&serialized);
        for (const std::string& form : {canonical, serialized}) {
            ASSERT_TRUE(parse(form, &again, &why)) << form << ": " << why;
            canonical_again.clear();
            again.canonical(&canonical_again);
            EXPECT_EQ(canonical_again, canonical);
        }
    }
}

TEST(JsonWriter, EscapesOnlyWhatJsonRequiresWhereverItStands) {
    std::string out = "prefix";
    Writer w(&out);
    w.begin_object()
        .field("plain", "abc")
        .field("empty", "")
        .field("quote", "\"starts")
        .field("mid", "a\\b\nc")
        .field("ctl", std::string("x\x01") + '\0')
        .field(std::string_view("we\"ird"), std::string(200, 'y'))  // a run-time key: escaped
        .field(std::string(130, 'k'), std::string(150, 'z') + "\t")
        .end_object();
    EXPECT_EQ(out,
              "prefix{\"plain\":\"abc\",\"empty\":\"\",\"quote\":\"\\\"starts\","
              "\"mid\":\"a\\\\b\\nc\",\"ctl\":\"x\\u0001\\u0000\",\"we\\\"ird\":\"" +
                  std::string(200, 'y') + "\",\"" + std::string(130, 'k') + "\":\"" +
                  std::string(150, 'z') + "\\t\"}");
}

// A literal key (json::Key, checked when the program is built and appended as it is) writes the
// same bytes as the same key given at run time (escaped as any string), in every shorthand; a
// character array is never taken for a run-time key, whose end it would not know.
TEST(JsonWriter, ALiteralKeyWritesWhatTheSameKeyAtRunTimeWrites) {
    static_assert(RuntimeKey<std::string> && RuntimeKey<std::string_view> &&
                  RuntimeKey<const char*>);
    static_assert(!RuntimeKey<char[4]> && !RuntimeKey<const char[4]>);
    std::string literal, runtime;
    Writer a(&literal), b(&runtime);
    a.begin_object()
        .field("id", "ord_1")
        .field_int("version", 3)
        .field_bool("emulated", false)
        .field_null("tag")
        .field_or_null("reason", "")
        .field_or_null("broker_order_id", "P-1")
        .key("extra")
        .raw("{}")
        .key("0123456789abcdef_long_key ~!@#$%^&*()")
        .integer(-7)
        .end_object();
    using sv = std::string_view;
    b.begin_object()
        .field(sv("id"), "ord_1")
        .field_int(sv("version"), 3)
        .field_bool(sv("emulated"), false)
        .field_null(sv("tag"))
        .field_or_null(sv("reason"), "")
        .field_or_null(sv("broker_order_id"), "P-1")
        .key(sv("extra"))
        .raw("{}")
        .key(sv("0123456789abcdef_long_key ~!@#$%^&*()"))
        .integer(-7)
        .end_object();
    EXPECT_EQ(literal, runtime);
    EXPECT_EQ(literal,
              "{\"id\":\"ord_1\",\"version\":3,\"emulated\":false,\"tag\":null,\"reason\":null,"
              "\"broker_order_id\":\"P-1\",\"extra\":{},"
              "\"0123456789abcdef_long_key ~!@#$%^&*()\":-7}");
}

// Commas go where each container's own values need them, at every depth the writer allows (the
// flags of the open containers are kept 64 to a word: the test crosses the word's edge), and
// the writer refuses to nest deeper, or to close a container none of which is open.
TEST(JsonWriter, CommasAtEveryDepthAndNestingBounded) {
    std::string out;
    Writer w(&out);
    for (int d = 0; d < Writer::kMaxNesting; ++d) {
        w.begin_array().integer(d);
        if (d == Writer::kMaxNesting - 1) w.integer(-1);
    }
    EXPECT_THROW(w.begin_object(), std::length_error);
    for (int d = Writer::kMaxNesting - 1; d >= 1; --d) w.end_array().integer(d + 1000);
    w.end_array();
    std::string expected;
    for (int d = 0; d < Writer::kMaxNesting; ++d) expected += "[" + std::to_string(d) + ",";
    expected += "-1";
    for (int d = Writer::kMaxNesting - 1; d >= 1; --d) expected += "]," + std::to_string(d + 1000);
    expected += "]";
    EXPECT_EQ(out, expected);
    Value v;
    std::string why;
    EXPECT_FALSE(parse(out, &v, &why));  // deeper than the parser takes (kMaxDepth)
    EXPECT_THROW(w.end_object(), std::logic_error);

    std::string obj;
    Writer o(&obj);
    o.begin_object().key("a").begin_object().end_object().key("b").begin_array().end_array()
        .field_int("c", 1).end_object();
    EXPECT_EQ(obj, R"({"a":{},"b":[],"c":1})");
}

// Found by fuzz_abi_convert: a plugin's fill with bytes that are not UTF-8 was printed as they
// were, and the gateway's answer did not parse as JSON. Well-formed UTF-8 stays as it is; every
// byte that starts no well-formed sequence becomes U+FFFD.
TEST(JsonWriter, TextThatIsNotUtf8IsPrintedAsReplacementCharacters) {
    auto printed = [](std::string_view s) {
        std::string out;
        append_escaped(&out, s);
        return out;
    };
    EXPECT_EQ(printed("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
              "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    EXPECT_EQ(printed("Soci\xe9t\xe9"), "\"Soci\\ufffdt\\ufffd\"");     // Latin-1
    EXPECT_EQ(printed("\xc0\xaf"), "\"\\ufffd\\ufffd\"");               // overlong '/'
    EXPECT_EQ(printed("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");  // a surrogate
    EXPECT_EQ(printed("\xf4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");  // > U+10FFFF
    EXPECT_EQ(printed("ab\xe2\x82"), "\"ab\\ufffd\\ufffd\"");           // cut short
    EXPECT_EQ(printed("\x80\"x"), "\"\\ufffd\\\"x\"");
    for (std::string_view s : {"Soci\xe9t\xe9", "\xff\xfe", "ok\xc3", "\xf0\x9f\x98\x80\xc3"}) {
        std::string why;
        EXPECT_TRUE(parses(printed(s), &why)) << printed(s) << ": " << why;
    }
}

// The writer checks eight bytes at a time before it looks at single bytes: every byte value, at
// every offset of a word and past it, is printed as the byte-by-byte rule says (plain ASCII as it
// is, '"' '\\' and controls escaped, a lone byte of 0x80 and above as U+FFFD).
TEST(JsonWriter, EveryByteAtEveryOffsetIsPrintedAsTheByteRuleSays) {
    static const char kHex[] = "0123456789abcdef";
    auto expected_byte = [](unsigned char c) -> std::string {
        if (c >= 0x80) return "\\ufffd";  // alone among ASCII letters: never well-formed UTF-8
        switch (c) {
            case '"': return "\\\"";
            case '\\': return "\\\\";
            case '\n': return "\\n";
            case '\r': return "\\r";
            case '\t': return "\\t";
            case '\b': return "\\b";
            case '\f': return "\\f";
            default: break;
        }
        if (c < 0x20) return std::string("\\u00") + kHex[c >> 4] + kHex[c & 0xF];
        return std::string(1, static_cast<char>(c));
    };
    // Every length to three words and a bit: the short strings' halves and padded bytes, and
    // the last word read over the one before, meet each offset.
    for (size_t length = 1; length <= 26; ++length) {
        for (size_t at = 0; at < length; ++at) {
            for (int b = 0; b < 256; ++b) {
                std::string s(length, 'a');
                s[at] = static_cast<char>(b);
                std::string out;
                append_escaped(&out, s);
                const std::string want = "\"" + std::string(at, 'a') +
                                         expected_byte(static_cast<unsigned char>(b)) +
                                         std::string(length - at - 1, 'a') + "\"";
                ASSERT_EQ(out, want) << "byte " << b << " at " << at << " of " << length;
                std::string keyed;
                Writer(&keyed).begin_object().key(s).integer(1).end_object();
                ASSERT_EQ(keyed, "{" + want + ":1}") << "key: byte " << b << " at " << at;
            }
        }
    }
}

}  // namespace
}  // namespace ordergate::json
