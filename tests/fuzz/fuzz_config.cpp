// The config loader (host/config): YAML text as an operator could write it, with ${NAME}
// interpolation from a fixed environment.
//
// Invariants: parse_config() returns a Config or throws ConfigError, nothing else (a yaml-cpp,
// secrets or Decimal exception escaping would stop the gateway with an unhelpful message);
// describe() of an accepted config never throws; a secret from the environment never shows in
// describe() or in an error message, unless the YAML itself spelled the value out.
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "fuzz_check.hpp"

using namespace ordergate;

namespace {

// One secret-looking variable and a few plain ones; nothing names a *_FILE or the config
// service, so parsing never leaves memory.
constexpr const char* kSecretValue = "q7-SECRET-VALUE-zx";
const std::map<std::string, std::string>& variables() {
    static const std::map<std::string, std::string> v = {
        {"API_SECRET", kSecretValue}, {"DB_PASSWORD", kSecretValue},
        {"HOST", "127.0.0.1"},        {"PORT_NUMBER", "8080"},
        {"LEVEL", "debug"},           {"EMPTY", ""},
    };
    return v;
}
std::optional<std::string> env(const std::string& name) {
    auto it = variables().find(name);
    if (it == variables().end()) return std::nullopt;
    return it->second;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string yaml(reinterpret_cast<const char*>(data), size);
    const bool spelled_out = yaml.find(kSecretValue) != std::string::npos;
    try {
        config::Config c = config::parse_config(yaml, "fuzz.yaml", config::Env(env));
        std::string shown = config::describe(c);
        FUZZ_CHECK(spelled_out || shown.find(kSecretValue) == std::string::npos,
                   "describe() shows a secret:\n" + shown);
    } catch (const config::ConfigError& e) {
        std::string message = e.what();
        FUZZ_CHECK(!message.empty(), "ConfigError without a message");
        FUZZ_CHECK(spelled_out || message.find(kSecretValue) == std::string::npos,
                   "an error message shows a secret: " + message);
    }
    return 0;
}
