#include "secrets/secrets.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "secrets/config_service.hpp"
#include "secrets/redact.hpp"

namespace ordergate::secrets {

Env process_env() {
    return [](const std::string& name) -> std::optional<std::string> {
        const char* v = std::getenv(name.c_str());
        if (v == nullptr) return std::nullopt;
        return std::string(v);
    };
}

const char* to_string(Source source) {
    switch (source) {
        case Source::Environment:
            return "environment";
        case Source::File:
            return "file";
        case Source::ConfigService:
            return "config service";
    }
    return "unknown";
}

std::optional<bool> parse_bool(const std::string& text) {
    std::string lower;
    for (char c : text)
        lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (lower == "true") return true;
    if (lower == "false") return false;
    return std::nullopt;
}

bool read_whole_file(const std::string& path, std::string* out, std::string* why) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *why = std::strerror(errno);
        return false;
    }
    std::string content;
    char buf[8192];
    while (true) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            *why = std::strerror(errno);
            ::close(fd);
            return false;
        }
        if (n == 0) break;
        content.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    *out = std::move(content);
    return true;
}

std::string read_secret_file(const std::string& path, const std::string& variable) {
    std::string content, why;
    if (!read_whole_file(path, &content, &why))
        throw SecretError(variable + "=" + path + ": cannot read file (" + why + ")");
    if (!content.empty() && content.back() == '\n') {
        content.pop_back();
        if (!content.empty() && content.back() == '\r') content.pop_back();
    }
    return content;
}

SecretResolver::SecretResolver(Env env, std::map<std::string, std::string> service_values,
                               std::string service_url)
    : env_(std::move(env)),
      service_values_(std::move(service_values)),
      service_url_(std::move(service_url)) {}

std::optional<Resolved> SecretResolver::resolve(const std::string& name) const {
    if (auto v = env_(name))
        return Resolved{*v, Source::Environment, "environment variable " + name};
    const std::string file_var = name + "_FILE";
    if (auto path = env_(file_var)) {
        return Resolved{read_secret_file(*path, file_var), Source::File,
                        "file " + *path + " (" + file_var + ")"};
    }
    if (auto it = service_values_.find(name); it != service_values_.end())
        return Resolved{it->second, Source::ConfigService, "config service " + service_url_};
    return std::nullopt;
}

std::optional<std::string> SecretResolver::lookup(const std::string& name) const {
    auto r = resolve(name);
    if (!r) return std::nullopt;
    return std::move(r->value);
}

namespace {

// An environment value that is set and not empty.
std::optional<std::string> non_empty(const Env& env, const std::string& name) {
    auto v = env(name);
    if (!v || v->empty()) return std::nullopt;
    return v;
}

}  // namespace

SecretResolver SecretResolver::from_env(const Env& env) {
    bool use_service = false;
    if (auto v = non_empty(env, "USE_CONFIG_SERVICE")) {
        auto b = parse_bool(*v);
        if (!b)
            throw SecretError(
                "environment variable USE_CONFIG_SERVICE: must be true or false, got '" + *v + "'");
        use_service = *b;
    }
    if (!use_service) return SecretResolver(env);

    ConfigServiceSettings s;
    auto url = non_empty(env, "CONFIG_SERVICE_URL");
    if (!url) throw SecretError("USE_CONFIG_SERVICE=true but CONFIG_SERVICE_URL is not set");
    s.url = *url;
    // The token is a secret itself: the environment or a file, never the service it opens.
    SecretResolver bootstrap(env);
    auto token = bootstrap.lookup("CONFIG_SERVICE_TOKEN");
    if (!token || token->empty())
        throw SecretError(
            "USE_CONFIG_SERVICE=true but neither CONFIG_SERVICE_TOKEN nor "
            "CONFIG_SERVICE_TOKEN_FILE "
            "is set");
    s.token = *token;
    if (auto t = non_empty(env, "CONFIG_SERVICE_TIMEOUT_MS")) {
        int64_t ms = 0;
        auto [p, ec] = std::from_chars(t->data(), t->data() + t->size(), ms);
        if (ec != std::errc() || p != t->data() + t->size() || ms <= 0 || ms > 600000)
            throw SecretError(
                "environment variable CONFIG_SERVICE_TIMEOUT_MS: must be an integer in 1..600000, "
                "got '" +
                *t + "'");
        s.timeout_ms = ms;
    }
    if (auto ca = non_empty(env, "CONFIG_SERVICE_CA_FILE")) s.ca_file = *ca;
    auto values = fetch_config_service(s);
    return SecretResolver(env, std::move(values), redact_embedded(s.url));
}

}  // namespace ordergate::secrets
