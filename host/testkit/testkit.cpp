#include "testkit/testkit.hpp"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <filesystem>

#include "plugin_loader/plugin_loader.hpp"

namespace ordergate::testkit {

namespace {

const std::string kKitPrefix = "testkit.";
const std::string kFaultPrefix = "testkit.fault_config.";

bool starts_with(const std::string& s, const std::string& prefix) {
    return s.compare(0, prefix.size(), prefix) == 0;
}

void flatten(const YAML::Node& node, const std::string& prefix, KeyValues& out) {
    switch (node.Type()) {
        case YAML::NodeType::Map:
            for (const auto& item : node) {
                std::string key = item.first.as<std::string>();
                flatten(item.second, prefix.empty() ? key : prefix + "." + key, out);
            }
            break;
        case YAML::NodeType::Sequence:
            for (size_t i = 0; i < node.size(); ++i)
                flatten(node[i], prefix + "." + std::to_string(i), out);
            break;
        case YAML::NodeType::Scalar:
            out.emplace_back(prefix, node.Scalar());
            break;
        case YAML::NodeType::Null:
        case YAML::NodeType::Undefined:
            out.emplace_back(prefix, "");
            break;
    }
}

std::string default_plugin_dir() {
    std::error_code ec;
    std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) return "plugins";
    return (exe.parent_path().parent_path() / "plugins").string();
}

std::string abi_text(const plugin_loader::PluginInfo& info) {
    return std::to_string(info.abi_major) + "." + std::to_string(info.abi_minor);
}

int usage(std::ostream& err) {
    err << "usage: ordergate plugin check <file.so|name> [--config plugin.yaml] "
           "[--plugin-dir DIR]... [--verbose]\n"
           "       ordergate plugin list [DIR...]\n";
    return 2;
}

std::shared_ptr<spdlog::logger> kit_logger(std::ostream& err, bool verbose) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(err, true);
    auto logger = std::make_shared<spdlog::logger>("plugin", sink);
    // The case lines carry the reasons; plugin and adapter logs only with --verbose.
    logger->set_level(verbose ? spdlog::level::debug : spdlog::level::off);
    logger->set_pattern("  log [%l] %v");
    return logger;
}

int run_check(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    std::string target, config_path;
    std::vector<std::string> dirs;
    bool verbose = false;
    for (size_t i = 1; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--config" && i + 1 < args.size()) {
            config_path = args[++i];
        } else if (a == "--plugin-dir" && i + 1 < args.size()) {
            dirs.push_back(args[++i]);
        } else if (a == "--verbose") {
            verbose = true;
        } else if (!a.empty() && a[0] != '-' && target.empty()) {
            target = a;
        } else {
            err << "plugin check: unexpected argument '" << a << "'\n";
            return usage(err);
        }
    }
    if (target.empty()) return usage(err);
    if (dirs.empty()) dirs.push_back(default_plugin_dir());

    KeyValues all, plugin_config, fault_config, kit_config;
    try {
        if (!config_path.empty()) all = flatten_yaml_file(config_path);
    } catch (const std::exception& e) {
        err << "plugin check: " << e.what() << "\n";
        return 2;
    }
    for (auto& kv : all) {
        if (starts_with(kv.first, kFaultPrefix))
            fault_config.emplace_back(kv.first.substr(kFaultPrefix.size()), kv.second);
        else if (starts_with(kv.first, kKitPrefix))
            kit_config.emplace_back(kv.first.substr(kKitPrefix.size()), kv.second);
        else
            plugin_config.push_back(kv);
    }

    std::shared_ptr<plugin_loader::PluginLibrary> library;
    std::string path;
    plugin_loader::HostServicesConfig services;
    try {
        path = plugin_loader::resolve_plugin(target, dirs);
        services.logger = kit_logger(err, verbose);
        library = plugin_loader::load_plugin(path, 0, services);
    } catch (const std::exception& e) {
        err << e.what() << "\n";
        return 2;
    }
    const plugin_loader::PluginInfo info = library->info();
    out << "plugin " << info.name << " " << info.version << " ("
        << plugin_loader::kind_name(info.kind) << ", ABI " << abi_text(info) << ", SDK "
        << info.sdk_version << ") " << info.path << "\n";
    if (info.kind == OG_KIND_BROKER)
        out << "capabilities " << plugin_loader::capability_names(info.capabilities) << "\n";

    CaseContext ctx(path, std::move(library), std::move(plugin_config), std::move(fault_config),
                    std::move(kit_config), services);
    ctx.set_config_file(config_path);
    std::vector<Case> cases = info.kind == OG_KIND_BROKER ? broker_cases() : storage_cases();
    int failed = run_cases(cases, ctx, out);
    return failed == 0 ? 0 : 1;
}

int run_list(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    std::vector<std::string> dirs(args.begin() + 1, args.end());
    if (dirs.empty()) dirs.push_back(default_plugin_dir());
    plugin_loader::HostServicesConfig services;
    services.logger = kit_logger(err, false);
    int status = 0;
    for (const std::string& dir : dirs) {
        std::error_code ec;
        std::vector<std::filesystem::path> files;
        for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
            if (entry.path().extension() == ".so") files.push_back(entry.path());
        if (ec) {
            err << "plugin list: cannot read " << dir << ": " << ec.message() << "\n";
            status = 2;
            continue;
        }
        std::sort(files.begin(), files.end());
        for (const auto& file : files) {
            try {
                auto lib = plugin_loader::load_plugin(file.string(), 0, services);
                const plugin_loader::PluginInfo& i = lib->info();
                out << i.name << "  " << plugin_loader::kind_name(i.kind) << "  " << i.version
                    << "  ABI " << abi_text(i) << "  SDK " << i.sdk_version << "  "
                    << (i.kind == OG_KIND_BROKER ? plugin_loader::capability_names(i.capabilities)
                                                 : std::string("-"))
                    << "  " << i.path << "\n";
            } catch (const std::exception& e) {
                out << "-  refused  " << e.what() << "\n";
            }
        }
    }
    return status;
}

}  // namespace

KeyValues flatten_yaml_file(const std::string& path) {
    YAML::Node root;
    try {
        root = YAML::LoadFile(path);
    } catch (const YAML::BadFile&) {
        throw std::runtime_error(path + ": cannot read the file");
    } catch (const YAML::ParserException& e) {
        throw std::runtime_error(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    KeyValues out;
    if (root.IsNull()) return out;
    if (!root.IsMap()) throw std::runtime_error(path + ": the top level must be a map");
    flatten(root, "", out);
    return out;
}

// ---- CaseContext ----------------------------------------------------------------------------

CaseContext::CaseContext(std::string plugin_path,
                         std::shared_ptr<plugin_loader::PluginLibrary> library,
                         KeyValues plugin_config, KeyValues fault_config, KeyValues kit_config,
                         plugin_loader::HostServicesConfig services)
    : plugin_path_(std::move(plugin_path)), library_(std::move(library)),
      plugin_config_(std::move(plugin_config)), fault_config_(std::move(fault_config)),
      kit_config_(std::move(kit_config)), services_(std::move(services)) {
    auto now = std::chrono::system_clock::now().time_since_epoch();
    run_id_ = std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()) +
              "-" + std::to_string(::getpid());
}

KeyValues CaseContext::fault_config() const {
    if (fault_config_.empty()) return {};
    KeyValues merged = plugin_config_;
    // sdk::Config lets the last entry of a key win: remove the overridden ones anyway, so a
    // plugin that reads the entries itself sees each key once.
    for (const auto& kv : fault_config_) {
        merged.erase(std::remove_if(merged.begin(), merged.end(),
                                    [&](const auto& e) { return e.first == kv.first; }),
                     merged.end());
        merged.push_back(kv);
    }
    return merged;
}

std::string CaseContext::kit(const std::string& key, const std::string& fallback) const {
    for (auto it = kit_config_.rbegin(); it != kit_config_.rend(); ++it)
        if (it->first == key) return it->second;
    return fallback;
}

int64_t CaseContext::kit_int(const std::string& key, int64_t fallback) const {
    std::string v = kit(key, "");
    if (v.empty()) return fallback;
    int64_t out = 0;
    auto res = std::from_chars(v.data(), v.data() + v.size(), out);
    if (res.ec != std::errc() || res.ptr != v.data() + v.size())
        throw std::runtime_error("testkit." + key + ": '" + v + "' is not an integer");
    return out;
}

bool CaseContext::kit_bool(const std::string& key, bool fallback) const {
    std::string v = kit(key, "");
    if (v.empty()) return fallback;
    if (v == "true" || v == "1" || v == "yes") return true;
    if (v == "false" || v == "0" || v == "no") return false;
    throw std::runtime_error("testkit." + key + ": '" + v + "' is not a boolean");
}

bool CaseContext::declares(uint64_t capability) const {
    const uint64_t caps =
        has_instance_capabilities_ ? instance_capabilities_ : library_->info().capabilities;
    return (caps & capability) == capability;
}

void CaseContext::require_capability(uint64_t capability, const std::string& name) {
    if (!declares(capability)) skip("capability " + name + " not declared");
}

std::string CaseContext::unique(const std::string& prefix) {
    return prefix + "-" + run_id_ + "-" + std::to_string(counter_.fetch_add(1) + 1);
}

void CaseContext::check(bool ok, const std::string& message) {
    if (!ok) throw CaseFailure(message);
}

void CaseContext::fail(const std::string& message) { throw CaseFailure(message); }

void CaseContext::skip(const std::string& reason) { throw CaseSkipped(reason); }

void CaseContext::needs_settings(const std::string& setting, const std::string& reason) {
    if (missing_setting_.empty()) {
        missing_setting_ = setting;
        missing_found_by_ = current_case_;
    }
    throw CaseFailure(reason);
}

void CaseContext::require_settings() {
    if (!missing_setting_.empty())
        skip("needs " + missing_setting_ + " (see " + missing_found_by_ + ")");
}

bool CaseContext::reload() {
    std::weak_ptr<plugin_loader::PluginLibrary> old = library_;
    og_kind kind = library_->info().kind;
    library_.reset();
    bool unloaded = old.expired();
    library_ = plugin_loader::load_plugin(plugin_path_, kind, services_);
    return unloaded;
}

// ---- runner -----------------------------------------------------------------------------------

int run_cases(const std::vector<Case>& cases, CaseContext& ctx, std::ostream& out) {
    int passed = 0, failed = 0, skipped = 0;
    for (const Case& c : cases) {
        ctx.set_current_case(c.name);
        auto started = std::chrono::steady_clock::now();
        std::string outcome, reason;
        try {
            c.fn(ctx);
            outcome = "PASS";
        } catch (const CaseSkipped& e) {
            outcome = "SKIP";
            reason = e.what();
        } catch (const CaseFailure& e) {
            outcome = "FAIL";
            reason = e.what();
        } catch (const std::exception& e) {
            outcome = "FAIL";
            reason = std::string("unexpected exception: ") + e.what();
        }
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
        out << outcome << " " << c.name;
        if (!reason.empty()) out << ": " << reason;
        out << " (" << ms << " ms)\n";
        out.flush();
        if (outcome == "PASS") ++passed;
        else if (outcome == "FAIL") ++failed;
        else ++skipped;
    }
    out << (failed == 0 ? "OK" : "FAILED") << ": " << passed << " passed, " << failed
        << " failed, " << skipped << " skipped\n";
    if (!ctx.missing_setting().empty()) {
        // One line for the whole run instead of a failure per case: the kit cannot tell the
        // plugin's own keys, only that its settings did not fit.
        const bool account = ctx.missing_setting() == "testkit.account";
        const std::string& file = ctx.config_file();
        std::string what;
        if (file.empty())
            what = std::string("pass --config plugin.yaml with the plugin's own keys") +
                   (account ? " and testkit.account set to an account they define" : "");
        else if (account)
            what = "in " + file + ", set testkit.account to an account the plugin's keys define";
        else
            what = "in " + file + ", fix the plugin's own keys (the FAIL line says what it refused)";
        out << "the plugin needs settings: " << what << " (host/testkit/cases.hpp lists the testkit.* keys; the plugin's README or "
               "example config its keys)\n";
    }
    return failed;
}

int run_plugin_command(const std::vector<std::string>& args, std::ostream& out,
                       std::ostream& err) {
    try {
        if (args.empty()) return usage(err);
        if (args[0] == "check") return run_check(args, out, err);
        if (args[0] == "list") return run_list(args, out, err);
        err << "plugin: unknown command '" << args[0] << "'\n";
        return usage(err);
    } catch (const std::exception& e) {
        err << "plugin " << args[0] << ": " << e.what() << "\n";
        return 2;
    }
}

}  // namespace ordergate::testkit
