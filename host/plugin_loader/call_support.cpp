#include "plugin_loader/call_support.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "ordergate/abi_convert.hpp"
#include "plugin_loader/plugin_loader.hpp"

namespace ordergate::plugin_loader::detail {

std::string one_line(std::string_view text, size_t max) {
    std::string out(text.substr(0, std::min(text.size(), max)));
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
    return out;
}

std::string ErrorBuffer::message() const {
    if (err_.buffer != buf_) return std::string();
    return one_line(std::string_view(buf_, std::min(err_.length, sizeof(buf_))));
}

void check_status(const PluginLibrary& lib, const char* function, og_status status,
                  const ErrorBuffer& err, bool may_pend) {
    if (status == OG_OK) return;
    const std::string& name = lib.info().name;
    if (!abi::valid_status(status))
        fail_internal(lib, function, "returned invalid status " + std::to_string(status));
    // OG_PENDING (ABI 1.4) answers only an order call, and only from a plugin that knows it: an
    // older plugin cannot mean it, so the host cannot tell what happened (read as Internal).
    if (status == OG_PENDING && (!may_pend || lib.info().abi_minor < 4)) {
        const std::string minor = std::to_string(lib.info().abi_minor);
        fail_internal(lib, function,
                      "returned OG_PENDING, which " +
                          (may_pend ? "an ABI 1." + minor + " plugin cannot send (ABI 1.4 added it)"
                                    : std::string("only place, modify and cancel may return")));
    }
    Status s = static_cast<Status>(status);
    std::string message = err.message();
    if (message.empty()) message = std::string(to_string(s)) + " (no message)";
    if (s == Status::Internal)
        lib.logger().error("event=plugin_internal_error plugin={} op={} message=\"{}\"", name, function,
                           message);
    // ABI 1.4: how long the venue asks to wait (only a 1.4 plugin knows the field). Bounded to a
    // day: a plugin's garbage must not turn into a Retry-After of years.
    if (lib.info().abi_minor >= 4 && err.retry_after_ms() > 0 &&
        (s == Status::RateLimited || s == Status::Unavailable))
        throw sdk::Error(s, name + " " + function + ": " + message,
                         std::chrono::milliseconds(std::min<int64_t>(err.retry_after_ms(),
                                                                     86'400'000)));
    throw sdk::Error(s, name + " " + function + ": " + message);
}

void fail_internal(const PluginLibrary& lib, const char* function, const std::string& what) {
    const std::string& name = lib.info().name;
    std::string text = one_line(what);
    lib.logger().error("event=plugin_misbehaved plugin={} op={} detail=\"{}\"", name, function, text);
    throw sdk::Error(Status::Internal, name + " " + function + ": " + text);
}

void fail_missing(const PluginLibrary& lib, const char* function) {
    const PluginInfo& info = lib.info();
    throw sdk::Error(Status::Unsupported,
                     info.name + " " + function + ": not in the plugin's table (ABI " +
                         std::to_string(info.abi_major) + "." + std::to_string(info.abi_minor) +
                         ", " + std::to_string(info.table_size) + " bytes)");
}

}  // namespace ordergate::plugin_loader::detail
