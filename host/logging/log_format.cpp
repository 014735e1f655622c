#include "logging/log_format.hpp"

#include <spdlog/details/log_msg.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <set>
#include <utility>
#include <vector>

#include "common/utf8.hpp"

namespace ordergate::logging {
namespace {

// The text format: UTC time, the level, then the message's key=value pairs.
constexpr const char* kTextPattern = "%Y-%m-%dT%H:%M:%S.%eZ level=%l %v";

bool key_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
}
bool key_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

// The length of `key=` at s[i] (key included, '=' excluded), or 0 when there is none.
size_t key_at(std::string_view s, size_t i) {
    if (i >= s.size() || !key_start(s[i])) return 0;
    size_t j = i + 1;
    while (j < s.size() && key_char(s[j])) ++j;
    return j < s.size() && s[j] == '=' ? j - i : 0;
}

// Appends `s` as the body of a JSON string: escapes, and U+FFFD for each byte that does not
// start a well-formed UTF-8 sequence (overlong forms, surrogates and values past U+10FFFF too).
void append_json_text(std::string* out, std::string_view s) {
    static const char kHex[] = "0123456789abcdef";
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const size_t n = s.size();
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c < 0x80) {
            switch (c) {
                case '"': out->append("\\\""); break;
                case '\\': out->append("\\\\"); break;
                case '\n': out->append("\\n"); break;
                case '\r': out->append("\\r"); break;
                case '\t': out->append("\\t"); break;
                default:
                    if (c < 0x20) {
                        const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
                        out->append(esc, 6);
                    } else {
                        out->push_back(static_cast<char>(c));
                    }
            }
            ++i;
            continue;
        }
        const size_t len = utf8_sequence(s, i);
        if (len != 0) {
            out->append(s.data() + i, len);
            i += len;
        } else {
            out->append("\xEF\xBF\xBD");
            ++i;
        }
    }
}

void append_member(std::string* out, std::string_view key, std::string_view value) {
    out->append(",\"");
    append_json_text(out, key);
    out->append("\":\"");
    append_json_text(out, value);
    out->push_back('"');
}

struct Parsed {
    std::vector<std::pair<std::string_view, std::string_view>> fields;
    std::string msg;  // the words that are not key=value, space-separated
};

// Splits a message into its key=value pairs. A quoted value ends at the first quote that is
// followed by the end of the message or by " key=": the messages quote error texts as they are,
// and those may hold quotes themselves.
Parsed parse_message(std::string_view s) {
    Parsed r;
    size_t i = 0;
    const size_t n = s.size();
    while (i < n) {
        while (i < n && s[i] == ' ') ++i;
        if (i >= n) break;
        const size_t klen = key_at(s, i);
        if (klen == 0) {
            size_t end = s.find(' ', i);
            if (end == std::string_view::npos) end = n;
            if (!r.msg.empty()) r.msg.push_back(' ');
            r.msg.append(s.substr(i, end - i));
            i = end;
            continue;
        }
        std::string_view key = s.substr(i, klen);
        size_t v = i + klen + 1;
        if (v < n && s[v] == '"') {
            size_t close = std::string_view::npos;
            for (size_t q = s.find('"', v + 1); q != std::string_view::npos;
                 q = s.find('"', q + 1)) {
                if (q + 1 == n || (s[q + 1] == ' ' && key_at(s, q + 2) > 0)) {
                    close = q;
                    break;
                }
            }
            if (close == std::string_view::npos) {  // unterminated: the rest is the value
                r.fields.emplace_back(key, s.substr(v + 1));
                i = n;
            } else {
                r.fields.emplace_back(key, s.substr(v + 1, close - v - 1));
                i = close + 1;
            }
        } else {
            size_t end = s.find(' ', v);
            if (end == std::string_view::npos) end = n;
            r.fields.emplace_back(key, s.substr(v, end - v));
            i = end;
        }
    }
    return r;
}

}  // namespace

std::optional<Format> parse_format(std::string_view name) {
    if (name == "text") return Format::Text;
    if (name == "json") return Format::Json;
    return std::nullopt;
}

const char* format_name(Format f) { return f == Format::Json ? "json" : "text"; }

void set_format(Format f) {
    if (f == Format::Json)
        spdlog::set_formatter(std::make_unique<JsonFormatter>());
    else
        spdlog::set_pattern(kTextPattern, spdlog::pattern_time_type::utc);
}

std::string json_line(std::string_view ts, std::string_view level, std::string_view message) {
    Parsed parsed = parse_message(message);
    std::string out;
    out.reserve(message.size() + 64);
    out.append("{\"ts\":\"");
    append_json_text(&out, ts);
    out.append("\",\"level\":\"");
    append_json_text(&out, level);
    out.push_back('"');
    // Names already used; ts and level are the formatter's own.
    std::set<std::string, std::less<>> used = {"ts", "level"};
    bool has_event = false;
    for (const auto& field : parsed.fields) has_event = has_event || field.first == "event";
    if (!has_event) {
        append_member(&out, "event", "log");
        used.insert("event");
    }
    auto add = [&](std::string_view key, std::string_view value) {
        std::string name(key);
        for (int k = 2; used.count(name); ++k) name = std::string(key) + "_" + std::to_string(k);
        append_member(&out, name, value);
        used.insert(std::move(name));
    };
    for (const auto& [key, value] : parsed.fields) add(key, value);
    if (!parsed.msg.empty()) add("msg", parsed.msg);
    out.push_back('}');
    return out;
}

void JsonFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
    using namespace std::chrono;
    const auto since_epoch = msg.time.time_since_epoch();
    const auto secs = duration_cast<seconds>(since_epoch);
    const auto millis = duration_cast<milliseconds>(since_epoch - secs).count();
    const std::time_t t = static_cast<std::time_t>(secs.count());
    std::tm tm{};
    gmtime_r(&t, &tm);
    char ts[32];
    const size_t len = std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(ts + len, sizeof ts - len, ".%03dZ", static_cast<int>(millis));
    const auto level = spdlog::level::to_string_view(msg.level);
    const std::string line =
        json_line(ts, std::string_view(level.data(), level.size()),
                  std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(line.data(), line.data() + line.size());
    dest.push_back('\n');
}

std::unique_ptr<spdlog::formatter> JsonFormatter::clone() const {
    return std::make_unique<JsonFormatter>();
}

}  // namespace ordergate::logging
