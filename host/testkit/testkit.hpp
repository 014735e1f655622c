// ordergate::testkit — the `ordergate plugin …` commands: check a plugin against its contract,
// list the plugins in directories.
//
//   plugin check <file.so|name> [--config plugin.yaml] [--plugin-dir DIR]...
//       Loads the plugin through the real loader and runs the cases of its kind (cases.hpp),
//       one line per case, then a summary. Exit status 0 when no case failed, 1 when one did,
//       2 for a usage, configuration or load error (one line on `err`).
//   plugin list [DIR...]
//       One line per .so found in the directories (default: the plugin directory next to the
//       running binary, ../plugins): name, kind, version, ABI, SDK, capabilities, file; a file
//       that is not a loadable plugin is listed with the loader's one-line reason.
//
// The main binary calls run_plugin_command with the arguments after "plugin".
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "testkit/cases.hpp"

namespace ordergate::testkit {

// Runs `args` (e.g. {"check", "build/plugins/broker-paper.so", "--config", "p.yaml"}).
// Returns the process exit status. Never throws.
int run_plugin_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// Reads a YAML file whose top level is a map and flattens it: nested maps join keys with '.',
// sequence items get their index ("accounts.0"), scalars keep their text, null is "". Throws
// std::runtime_error naming the file (and line, for a parse error) when it cannot.
KeyValues flatten_yaml_file(const std::string& path);

}  // namespace ordergate::testkit
