#include "config/interpolate.hpp"

#include "secrets/redact.hpp"

namespace ordergate::config {

namespace {

bool valid_name(std::string_view name) {
    if (name.empty()) return false;
    auto alpha = [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    };
    if (!alpha(name[0])) return false;
    for (char c : name)
        if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
    return true;
}

}  // namespace

Interpolated interpolate(std::string_view text, const secrets::SecretResolver& resolver) {
    Interpolated out;
    size_t i = 0;
    while (i < text.size()) {
        char c = text[i];
        if (c != '$' || i + 1 >= text.size()) {
            out.text.push_back(c);
            ++i;
            continue;
        }
        char next = text[i + 1];
        if (next == '$') {
            out.text.push_back('$');
            i += 2;
            continue;
        }
        if (next != '{') {
            out.text.push_back(c);
            ++i;
            continue;
        }
        size_t close = text.find('}', i + 2);
        if (close == std::string_view::npos)
            throw InterpolationError("unterminated ${ (write $$ for a literal $)");
        std::string_view inner = text.substr(i + 2, close - i - 2);
        std::string_view name = inner;
        std::optional<std::string_view> fallback;
        if (size_t sep = inner.find(":-"); sep != std::string_view::npos) {
            name = inner.substr(0, sep);
            fallback = inner.substr(sep + 2);
        }
        if (!valid_name(name))
            throw InterpolationError(
                "invalid variable name '" + std::string(name) +
                "' in ${...} (letters, digits and _; write $$ for a literal $)");
        std::string n(name);
        out.names.push_back(n);
        std::optional<secrets::Resolved> r;
        try {
            r = resolver.resolve(n);
        } catch (const secrets::SecretError& e) {
            throw InterpolationError(e.what());
        }
        if (r && !r->value.empty()) {
            out.text += r->value;
            if (r->source != secrets::Source::Environment || secrets::looks_secret_name(n)) {
                out.secret = true;
                out.secret_values.push_back(r->value);
            }
        } else if (fallback) {
            out.text.append(*fallback);
        } else if (r) {
            // Set but empty, no default: the empty string is what was asked for.
            if (r->source != secrets::Source::Environment || secrets::looks_secret_name(n))
                out.secret = true;
        } else {
            throw InterpolationError(
                "variable " + n + " is not set (nor " + n + "_FILE" +
                (resolver.uses_config_service() ? ", nor in the config service" : "") +
                "); give it a value or write ${" + n + ":-default}");
        }
        i = close + 1;
    }
    return out;
}

}  // namespace ordergate::config
