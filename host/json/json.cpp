#include "json/json.hpp"

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "common/utf8.hpp"

namespace ordergate::json {

const Value* Value::find(std::string_view key) const {
    for (const auto& m : members_)
        if (m.first == key) return &m.second;
    return nullptr;
}

const char* Value::kind_name(Kind k) {
    switch (k) {
        case Kind::Null: return "null";
        case Kind::Bool: return "boolean";
        case Kind::Number: return "number";
        case Kind::String: return "string";
        case Kind::Array: return "array";
        case Kind::Object: return "object";
    }
    return "?";
}

void Value::canonical(std::string* out) const {
    switch (kind_) {
        case Kind::Null: out->append("null"); return;
        case Kind::Bool: out->append(bool_ ? "true" : "false"); return;
        case Kind::Number: out->append(text_); return;
        case Kind::String: append_escaped(out, text_); return;
        case Kind::Array:
            out->push_back('[');
            for (size_t i = 0; i < items_.size(); ++i) {
                if (i) out->push_back(',');
                items_[i].canonical(out);
            }
            out->push_back(']');
            return;
        case Kind::Object: {
            std::vector<const std::pair<std::string, Value>*> sorted;
            sorted.reserve(members_.size());
            for (const auto& m : members_) sorted.push_back(&m);
            std::sort(sorted.begin(), sorted.end(),
                      [](auto* a, auto* b) { return a->first < b->first; });
            out->push_back('{');
            for (size_t i = 0; i < sorted.size(); ++i) {
                if (i) out->push_back(',');
                append_escaped(out, sorted[i]->first);
                out->push_back(':');
                sorted[i]->second.canonical(out);
            }
            out->push_back('}');
            return;
        }
    }
}

void Value::serialize(std::string* out) const {
    if (kind_ != Kind::Object) {
        if (kind_ != Kind::Array) return canonical(out);
        out->push_back('[');
        for (size_t i = 0; i < items_.size(); ++i) {
            if (i) out->push_back(',');
            items_[i].serialize(out);
        }
        out->push_back(']');
        return;
    }
    out->push_back('{');
    for (size_t i = 0; i < members_.size(); ++i) {
        if (i) out->push_back(',');
        append_escaped(out, members_[i].first);
        out->push_back(':');
        members_[i].second.serialize(out);
    }
    out->push_back('}');
}

// Builds the DOM from RapidJSON's SAX events.
class Builder : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, Builder> {
public:
    explicit Builder(Value* root) : root_(root) {}

    bool Null() { return put(Value()); }
    bool Bool(bool b) {
        Value v;
        v.kind_ = Value::Kind::Bool;
        v.bool_ = b;
        return put(std::move(v));
    }
    bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
        Value v;
        v.kind_ = Value::Kind::Number;
        v.text_.assign(s, n);
        return put(std::move(v));
    }
    bool String(const char* s, rapidjson::SizeType n, bool) {
        if (!unicode_scalars(s, n)) return false;
        Value v;
        v.kind_ = Value::Kind::String;
        v.text_.assign(s, n);
        return put(std::move(v));
    }
    bool StartObject() { return open(Value::Kind::Object); }
    bool Key(const char* s, rapidjson::SizeType n, bool) {
        if (!unicode_scalars(s, n)) return false;
        Value* obj = stack_.back();
        std::string_view k(s, n);
        for (const auto& m : obj->members_) {
            if (m.first == k) {
                error_ = "repeated key \"" + std::string(k) + "\"";
                return false;
            }
        }
        obj->members_.emplace_back(std::string(k), Value());
        return true;
    }
    bool EndObject(rapidjson::SizeType) {
        stack_.pop_back();
        return true;
    }
    bool StartArray() { return open(Value::Kind::Array); }
    bool EndArray(rapidjson::SizeType) {
        stack_.pop_back();
        return true;
    }

    const std::string& error() const { return error_; }

private:
    // RapidJSON 1.1.0 decodes a \uDC00..\uDFFF escape with no high surrogate before it into the
    // three bytes ED B0..BF xx: a surrogate code point, which is not UTF-8 (what we print of it
    // would not parse again). A valid pair is decoded into one four-byte sequence and raw bytes
    // ED A0..BF are refused as invalid UTF-8 (parse checks the text first), so an ED followed by
    // A0..BF in a decoded string can only come from a lone surrogate escape.
    bool unicode_scalars(const char* s, rapidjson::SizeType n) {
        for (rapidjson::SizeType i = 0; i + 1 < n; ++i) {
            if (static_cast<unsigned char>(s[i]) == 0xED &&
                static_cast<unsigned char>(s[i + 1]) >= 0xA0) {
                error_ = "invalid \\u escape: a lone UTF-16 surrogate";
                return false;
            }
        }
        return true;
    }

    // Where the next value goes: the root, the array's next item, or the object's last key.
    Value* slot() {
        if (stack_.empty()) return root_;
        Value* top = stack_.back();
        if (top->kind_ == Value::Kind::Array) {
            top->items_.emplace_back();
            return &top->items_.back();
        }
        return &top->members_.back().second;
    }
    bool put(Value v) {
        *slot() = std::move(v);
        return true;
    }
    bool open(Value::Kind k) {
        if (stack_.size() >= static_cast<size_t>(kMaxDepth)) {
            error_ = "nesting deeper than 32 levels";
            return false;
        }
        Value* v = slot();
        v->kind_ = k;
        stack_.push_back(v);
        return true;
    }

    Value* root_;
    std::vector<Value*> stack_;
    std::string error_;
};

namespace {
// The key whose value starts at `at` ("…\"quantity\": 1e400"), or "".
std::string key_before(std::string_view text, size_t at) {
    size_t i = std::min(at, text.size());
    while (i > 0 && (text[i - 1] == ' ' || text[i - 1] == '\t' || text[i - 1] == '\n' ||
                     text[i - 1] == '\r'))
        --i;
    if (i == 0 || text[i - 1] != ':') return "";
    --i;
    while (i > 0 && (text[i - 1] == ' ' || text[i - 1] == '\t' || text[i - 1] == '\n' ||
                     text[i - 1] == '\r'))
        --i;
    if (i == 0 || text[i - 1] != '"') return "";
    size_t end = --i;
    while (i > 0 && !(text[i - 1] == '"' && (i < 2 || text[i - 2] != '\\'))) --i;
    if (i == 0) return "";
    return std::string(text.substr(i, end - i));
}
}  // namespace

namespace {
// Whether all of `s` is well-formed UTF-8: eight ASCII bytes at a time, the rest one sequence at a
// time. Once for the whole text, it costs a fraction of RapidJSON's validation, which decodes and
// re-encodes every character of every string.
bool well_formed_utf8(std::string_view s) {
    constexpr uint64_t highs = 0x8080808080808080ull;
    size_t i = 0;
    while (i < s.size()) {
        if (i + 8 <= s.size()) {
            uint64_t w;
            std::memcpy(&w, s.data() + i, 8);
            if ((w & highs) == 0) {
                i += 8;
                continue;
            }
        }
        if (static_cast<unsigned char>(s[i]) < 0x80) {
            ++i;
            continue;
        }
        const size_t n = utf8_sequence(s, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}
}  // namespace

bool parse(std::string_view text, Value* out, std::string* why, std::string* out_of_range_key) {
    *out = Value();
    if (!well_formed_utf8(text)) {
        *why = "invalid UTF-8";
        return false;
    }
    Builder builder(out);
    rapidjson::Reader reader;
    rapidjson::MemoryStream ms(text.data(), text.size());
    // The text is well-formed UTF-8 (above): RapidJSON need not validate it again.
    constexpr unsigned kFlags =
        rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseIterativeFlag;
    rapidjson::ParseResult r = reader.Parse<kFlags>(ms, builder);
    if (!r) {
        if (!builder.error().empty()) {
            *why = builder.error();
        } else if (r.Code() == rapidjson::kParseErrorStringInvalidEncoding) {
            *why = "invalid UTF-8";
        } else if (r.Code() == rapidjson::kParseErrorNumberTooBig && out_of_range_key &&
                   !(*out_of_range_key = key_before(text, r.Offset())).empty()) {
            *why = "number out of range";
        } else {
            *why = std::string("invalid JSON at offset ") + std::to_string(r.Offset()) + ": " +
                   rapidjson::GetParseError_En(r.Code());
        }
        return false;
    }
    return true;
}

namespace {
// True when one of the 8 bytes of `w` must not be copied as it is into a JSON string: below
// 0x20, 0x80 and above, '"' or '\\'. Each test is exact for "some byte is" (no false positive).
constexpr bool word_needs_care(uint64_t w) {
    constexpr uint64_t ones = 0x0101010101010101ull;
    constexpr uint64_t highs = 0x8080808080808080ull;
    auto has_zero = [](uint64_t v) { return ((v - ones) & ~v & highs) != 0; };
    const bool high = (w & highs) != 0;
    const bool control = ((w - ones * 0x20) & ~w & highs) != 0;  // a byte below 0x20
    return high || control || has_zero(w ^ (ones * '"')) || has_zero(w ^ (ones * '\\'));
}

// Per byte: true when a JSON string cannot hold it as it is (the rule of word_needs_care).
constexpr std::array<bool, 256> kNeedsCare = [] {
    std::array<bool, 256> t{};
    for (int c = 0; c < 256; ++c) t[c] = c < 0x20 || c >= 0x80 || c == '"' || c == '\\';
    return t;
}();

// The length of the prefix of `s` that JSON strings hold as it is.
inline size_t plain_prefix(std::string_view s) {
    size_t i = 0;
    // Eight bytes at a time while none of them needs escaping, then byte by byte.
    for (uint64_t w; i + 8 <= s.size(); i += 8) {
        std::memcpy(&w, s.data() + i, 8);
        if (word_needs_care(w)) break;
    }
    while (i < s.size() && !kNeedsCare[static_cast<unsigned char>(s[i])]) ++i;
    return i;
}
// True when JSON strings hold all of `s` as it is. Word by word, with no loop over single bytes:
// the last bytes are read as a word overlapping the one before; under 8 bytes, two overlapping
// halves (4 to 7 bytes) or the first, middle and last byte padded with spaces (1 to 3).
inline bool all_plain(std::string_view s) {
    const char* p = s.data();
    const size_t n = s.size();
    uint64_t w;
    if (n >= 8) {
        size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            std::memcpy(&w, p + i, 8);
            if (word_needs_care(w)) return false;
        }
        if (i == n) return true;
        std::memcpy(&w, p + n - 8, 8);
    } else if (n >= 4) {
        uint32_t lo, hi;
        std::memcpy(&lo, p, 4);
        std::memcpy(&hi, p + n - 4, 4);
        w = lo | (uint64_t{hi} << 32);
    } else if (n > 0) {
        w = 0x2020202020000000ull | static_cast<unsigned char>(p[0]) |
            (uint64_t{static_cast<unsigned char>(p[n >> 1])} << 8) |
            (uint64_t{static_cast<unsigned char>(p[n - 1])} << 16);
    } else {
        return true;
    }
    return !word_needs_care(w);
}

// Appends '"' + s + tail in one append when `s` needs no escaping and is short (keys, ids, enum
// names, decimals, timestamps: nearly every string the gateway writes). False otherwise.
bool append_plain(std::string* out, std::string_view s, std::string_view tail) {
    char buf[128];
    if (s.size() + tail.size() + 1 > sizeof buf || !all_plain(s)) return false;
    buf[0] = '"';
    std::memcpy(buf + 1, s.data(), s.size());
    std::memcpy(buf + 1 + s.size(), tail.data(), tail.size());
    out->append(buf, 1 + s.size() + tail.size());
    return true;
}
}  // namespace

void append_escaped(std::string* out, std::string_view s) {
    static const char kHex[] = "0123456789abcdef";
    if (append_plain(out, s, "\"")) return;
    const size_t first = plain_prefix(s);
    out->push_back('"');
    out->append(s.data(), first);
    if (first == s.size()) {
        out->push_back('"');
        return;
    }
    size_t run = first;  // start of the current run of characters that need no escaping
    for (size_t i = first; i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            // Text from a plugin or a venue need not be UTF-8 (a FIX Text in Latin-1, garbage):
            // a byte that starts no well-formed sequence is printed as U+FFFD, so what the
            // gateway writes is always JSON.
            if (size_t n = ordergate::utf8_sequence(s, i)) {
                i += n - 1;
                continue;
            }
            out->append(s.data() + run, i - run);
            run = i + 1;
            out->append("\\ufffd");
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out->append(s.data() + run, i - run);
        run = i + 1;
        switch (c) {
            case '"': out->append("\\\""); break;
            case '\\': out->append("\\\\"); break;
            case '\n': out->append("\\n"); break;
            case '\r': out->append("\\r"); break;
            case '\t': out->append("\\t"); break;
            case '\b': out->append("\\b"); break;
            case '\f': out->append("\\f"); break;
            default: {
                char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
                out->append(esc, 6);
            }
        }
    }
    out->append(s.data() + run, s.size() - run);
    out->push_back('"');
}

void Writer::separate() {
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (depth_ > 0) {
        const int d = depth_ - 1;
        uint64_t& word = has_value_[static_cast<size_t>(d >> 6)];
        const uint64_t bit = uint64_t{1} << (d & 63);
        if (word & bit) out_->push_back(',');
        word |= bit;
    }
}

// Checked before anything of the container is written: a refused one leaves the output as it was.
void Writer::check_room() const {
    if (depth_ == kMaxNesting)
        throw std::length_error("json::Writer: containers nested deeper than " +
                                std::to_string(kMaxNesting));
}

void Writer::open() {
    has_value_[static_cast<size_t>(depth_ >> 6)] &= ~(uint64_t{1} << (depth_ & 63));
    ++depth_;
}

void Writer::close() {
    if (depth_ == 0) throw std::logic_error("json::Writer: a container closed with none open");
    --depth_;
}

Writer& Writer::begin_object() {
    check_room();
    separate();
    out_->push_back('{');
    open();
    return *this;
}
Writer& Writer::end_object() {
    close();
    out_->push_back('}');
    return *this;
}
Writer& Writer::begin_array() {
    check_room();
    separate();
    out_->push_back('[');
    open();
    return *this;
}
Writer& Writer::end_array() {
    close();
    out_->push_back(']');
    return *this;
}
Writer& Writer::key(Key k) {
    separate();
    const std::string_view t = k.text();
    out_->push_back('"');
    out_->append(t.data(), t.size());
    out_->append("\":", 2);
    after_key_ = true;
    return *this;
}
Writer& Writer::escaped_key(std::string_view k) {
    separate();
    if (!append_plain(out_, k, "\":")) {
        append_escaped(out_, k);
        out_->push_back(':');
    }
    after_key_ = true;
    return *this;
}
Writer& Writer::string(std::string_view s) {
    separate();
    append_escaped(out_, s);
    return *this;
}
Writer& Writer::raw(std::string_view json) {
    separate();
    out_->append(json);
    return *this;
}
Writer& Writer::integer(int64_t v) {
    separate();
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_->append(buf, r.ptr);
    return *this;
}
Writer& Writer::boolean(bool v) {
    separate();
    out_->append(v ? "true" : "false");
    return *this;
}
Writer& Writer::null() {
    separate();
    out_->append("null");
    return *this;
}

}  // namespace ordergate::json
