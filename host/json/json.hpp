// ordergate::json — JSON for the REST API, with exact numbers.
//
// Parsing goes through RapidJSON's SAX reader with kParseNumbersAsStringsFlag, so a number is
// kept as the text the client wrote ("1500.50", "1.5e3") and becomes a Decimal only through
// Decimal::parse: no value ever passes through binary floating point. The small DOM here keeps
// whether a value was a JSON number or a JSON string (the contract treats them differently),
// refuses repeated keys, invalid UTF-8 and nesting deeper than kMaxDepth.
//
// Writing uses Writer, which appends to a std::string; decimals are written as JSON strings.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace ordergate::json {

constexpr int kMaxDepth = 32;

class Value {
public:
    enum class Kind { Null, Bool, Number, String, Array, Object };

    Kind kind() const { return kind_; }
    bool is_null() const { return kind_ == Kind::Null; }
    bool is_bool() const { return kind_ == Kind::Bool; }
    bool is_number() const { return kind_ == Kind::Number; }
    bool is_string() const { return kind_ == Kind::String; }
    bool is_array() const { return kind_ == Kind::Array; }
    bool is_object() const { return kind_ == Kind::Object; }

    bool as_bool() const { return bool_; }
    // The string's content, or a number's text as written.
    const std::string& text() const { return text_; }
    const std::vector<Value>& items() const { return items_; }
    const std::vector<std::pair<std::string, Value>>& members() const { return members_; }
    // The member named `key`, or nullptr.
    const Value* find(std::string_view key) const;

    // Serialises with object keys sorted and numbers as written: two requests that mean the same
    // JSON document produce the same text (the idempotency fingerprint uses it).
    void canonical(std::string* out) const;
    // Serialises as parsed (member order kept).
    void serialize(std::string* out) const;

    static const char* kind_name(Kind k);

private:
    friend class Builder;
    Kind kind_ = Kind::Null;
    bool bool_ = false;
    std::string text_;
    std::vector<Value> items_;
    std::vector<std::pair<std::string, Value>> members_;
};

// Parses a complete JSON text. On failure returns false and sets *why to a client-facing reason
// ("repeated key \"quantity\"", "invalid JSON at offset 12", "invalid UTF-8").
// A number whose exponent no binary double could hold (1e400) is well-formed JSON that the
// reader still refuses; then *out_of_range_key (when given) names the member it was the value of,
// so the caller can answer with a field error rather than "malformed".
bool parse(std::string_view text, Value* out, std::string* why,
           std::string* out_of_range_key = nullptr);

// An object key written as it is: a string literal, checked when the program is built to need
// no escaping (printable ASCII other than '"' and '\\'), so Writer appends it without looking at
// its bytes. A key known only at run time is passed as a string and escaped as any string is.
class Key {
public:
    template <size_t N>
    consteval Key(const char (&k)[N]) : text_(k, N - 1) {  // NOLINT: implicit from a literal
        if (k[N - 1] != '\0') throw "json::Key: not a string literal";
        for (size_t i = 0; i + 1 < N; ++i) {
            const unsigned char c = static_cast<unsigned char>(k[i]);
            if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
                throw "json::Key: a literal key that needs escaping";
        }
    }
    std::string_view text() const { return text_; }

private:
    std::string_view text_;
};

// What a key known only at run time may be: anything a std::string_view is made from, except a
// character array (a literal is a Key; a buffer must say where its text ends).
template <class S>
concept RuntimeKey = std::is_convertible_v<const S&, std::string_view> && !std::is_array_v<S>;

// Appends JSON to a string. The caller keeps the structure well-formed (begin/end pairs);
// commas are inserted automatically.
class Writer {
public:
    explicit Writer(std::string* out) : out_(out) {}
    Writer& begin_object();
    Writer& end_object();
    Writer& begin_array();
    Writer& end_array();
    Writer& key(Key k);
    template <RuntimeKey S>
    Writer& key(const S& k) {
        return escaped_key(std::string_view(k));
    }
    Writer& string(std::string_view s);
    Writer& raw(std::string_view json);  // an already-serialised value
    Writer& integer(int64_t v);
    Writer& boolean(bool v);
    Writer& null();
    // Shorthands: key + value, for a literal key (Key) or one known at run time.
    Writer& field(Key k, std::string_view s) { return key(k).string(s); }
    Writer& field_int(Key k, int64_t v) { return key(k).integer(v); }
    Writer& field_bool(Key k, bool v) { return key(k).boolean(v); }
    Writer& field_null(Key k) { return key(k).null(); }
    // A string field, or null when `s` is empty.
    Writer& field_or_null(Key k, std::string_view s) {
        return s.empty() ? field_null(k) : field(k, s);
    }
    template <RuntimeKey S>
    Writer& field(const S& k, std::string_view s) {
        return key(k).string(s);
    }
    template <RuntimeKey S>
    Writer& field_int(const S& k, int64_t v) {
        return key(k).integer(v);
    }
    template <RuntimeKey S>
    Writer& field_bool(const S& k, bool v) {
        return key(k).boolean(v);
    }
    template <RuntimeKey S>
    Writer& field_null(const S& k) {
        return key(k).null();
    }
    template <RuntimeKey S>
    Writer& field_or_null(const S& k, std::string_view s) {
        return s.empty() ? field_null(k) : field(k, s);
    }

    // Containers open at once, at most (a parsed document nests kMaxDepth deep, the documents
    // the gateway writes a few levels more). begin_object/begin_array past it throw
    // std::length_error and write nothing; an end_object/end_array with none open throws
    // std::logic_error.
    static constexpr int kMaxNesting = 128;

private:
    Writer& escaped_key(std::string_view k);
    void separate();
    void check_room() const;
    void open();
    void close();
    std::string* out_;
    // One bit per open container, outermost first: does it already hold a value? Kept in place
    // (no allocation per document).
    std::array<uint64_t, kMaxNesting / 64> has_value_{};
    int depth_ = 0;
    bool after_key_ = false;
};

// Appends `s` as a JSON string literal (quotes included).
void append_escaped(std::string* out, std::string_view s);

}  // namespace ordergate::json
