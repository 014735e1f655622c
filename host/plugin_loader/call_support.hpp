// Internal to plugin_loader: the pieces every adapter call shares (error buffer, status mapping,
// one-line messages). Not part of the module's public API.
#pragma once

#include <cstddef>
#include <exception>
#include <string>
#include <string_view>

#include "ordergate/plugin_abi.h"
#include "ordergate/sdk.hpp"

namespace ordergate::plugin_loader {
class PluginLibrary;
}

namespace ordergate::plugin_loader::detail {

// Control characters become spaces and the text is cut to `max` bytes: plugin text is untrusted
// and goes into one-line logs and error messages.
std::string one_line(std::string_view text, size_t max = 1024);

// The caller-owned message buffer of one call.
class ErrorBuffer {
public:
    ErrorBuffer() {
        err_.buffer = buf_;
        err_.capacity = sizeof(buf_);
        err_.length = 0;
        err_.retry_after_ms = 0;  // ABI 1.4: a plugin that does not say leaves it 0
    }
    ErrorBuffer(const ErrorBuffer&) = delete;
    ErrorBuffer& operator=(const ErrorBuffer&) = delete;
    og_error* get() { return &err_; }
    // What the plugin wrote (a garbage length is clamped to the buffer).
    std::string message() const;
    // ABI 1.4: the wait the venue asked for (0: none, or a negative garbage value).
    int64_t retry_after_ms() const { return err_.retry_after_ms > 0 ? err_.retry_after_ms : 0; }

private:
    char buf_[1024];
    og_error err_{};
};

// Throws sdk::Error for a non-OK status of `function` ("<plugin> <function>: <message>"). A
// status outside the ABI's range becomes Internal. Logs Internal failures. OG_PENDING becomes
// Status::Pending only when `may_pend` (place/modify/cancel) and the plugin declares ABI minor
// >= 4; otherwise Internal.
void check_status(const PluginLibrary& lib, const char* function, og_status status,
                  const ErrorBuffer& err, bool may_pend = false);

// Throws sdk::Error(Internal, "<plugin> <function>: <what>") and logs it.
[[noreturn]] void fail_internal(const PluginLibrary& lib, const char* function,
                                const std::string& what);

// Throws sdk::Error(Unsupported, …) for a table slot the plugin does not have.
[[noreturn]] void fail_missing(const PluginLibrary& lib, const char* function);

// What the result sinks of the broker and storage adapters share: their callbacks never throw
// into the plugin. The first malformed record is kept, later ones ignored, and the adapter turns
// it into an error once the call has returned.
class ResultErrors {
protected:
    template <typename F>
    void guarded(F&& take) noexcept {
        if (failed_) return;
        try {
            take();
        } catch (const std::exception& e) {
            failed_ = true;
            error_ = e.what();
        }
    }
    // Throws Internal when a callback received a malformed record.
    void check_records(const PluginLibrary& lib, const char* function) const {
        if (failed_) fail_internal(lib, function, "malformed result: " + error_);
    }

private:
    bool failed_ = false;
    std::string error_;
};

}  // namespace ordergate::plugin_loader::detail
