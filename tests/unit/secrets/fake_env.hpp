// Test helpers shared by the secrets and config unit tests: an in-memory environment and a
// temporary directory.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "secrets/secrets.hpp"
#include "temp_dir.hpp"  // TempDir

namespace ordergate::testing {

// An environment that is a plain map (never the process environment).
inline secrets::Env env_of(std::map<std::string, std::string> vars) {
    return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
        auto it = vars.find(name);
        if (it == vars.end()) return std::nullopt;
        return it->second;
    };
}

}  // namespace ordergate::testing
