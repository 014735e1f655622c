// Helpers for the config unit tests.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "config/config.hpp"
#include "fake_env.hpp"

namespace ordergate::config::test {

// The smallest valid configuration (lines 1-6), for tests to append to.
inline const std::string kMinimal =
    "brokers:\n"                  // 1
    "  - name: paper\n"           // 2
    "    plugin: broker-paper\n"  // 3
    "accounts:\n"                 // 4
    "  - id: ACC1\n"              // 5
    "    broker: paper\n";        // 6

inline Config parse(const std::string& yaml, std::map<std::string, std::string> env = {}) {
    return parse_config(yaml, "t.yaml", testing::env_of(std::move(env)));
}

// The ConfigError message parse() throws; fails the test when it does not throw.
inline std::string error_of(const std::string& yaml, std::map<std::string, std::string> env = {}) {
    try {
        parse(yaml, std::move(env));
    } catch (const ConfigError& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected a ConfigError";
    return "";
}

// True when `text` starts with `prefix`.
inline bool starts_with(const std::string& text, const std::string& prefix) {
    return text.rfind(prefix, 0) == 0;
}

}  // namespace ordergate::config::test
