// ordergate::logging — how log lines are written: key=value text (the default) or JSON.
//
// Every log call in the host writes its message as `event=<name> key=value key="quoted value"`.
// The text format prints it after a UTC timestamp and the level:
//     2024-05-01T09:15:02.123Z level=info event=listening host=0.0.0.0 port=8087
// The JSON format (`ordergate serve --log-format json`, for log shippers) writes one object per
// line with the same fields, every value a string, in the order the line names them:
//     {"ts":"2024-05-01T09:15:02.123Z","level":"info","event":"listening","host":"0.0.0.0",...}
// Words that are not key=value pairs (a plugin's free text) go to "msg"; a line without an event
// gets "event":"log", so every object has ts, level and event. A key named twice keeps both
// values: the second becomes "<key>_2". Invalid UTF-8 becomes U+FFFD, so the line always parses.
//
// Neither format adds anything to a message: what is kept out of the text log (secrets, tokens)
// is kept out of the JSON log.
#pragma once

#include <spdlog/formatter.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ordergate::logging {

enum class Format { Text, Json };

// "text" or "json"; nullopt otherwise.
std::optional<Format> parse_format(std::string_view name);
const char* format_name(Format f);

// Writes every logger's lines (those existing and those made later) in `f`.
void set_format(Format f);

// The JSON object for one message, without the line end. `ts` and `level` as the text format
// writes them.
std::string json_line(std::string_view ts, std::string_view level, std::string_view message);

// The JSON format as an spdlog formatter.
class JsonFormatter final : public spdlog::formatter {
public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
    std::unique_ptr<spdlog::formatter> clone() const override;
};

}  // namespace ordergate::logging
