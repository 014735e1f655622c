#include "secrets/redact.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace ordergate::secrets {

namespace {

std::string lower(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    return out;
}

// Redacts "name=value" pairs separated by `sep` whose name looks secret; `stop` ends a value.
std::string redact_pairs(std::string_view text, char sep, std::string_view stops) {
    std::string out;
    size_t i = 0;
    while (i < text.size()) {
        size_t end = text.find(sep, i);
        if (end == std::string_view::npos) end = text.size();
        std::string_view part = text.substr(i, end - i);
        size_t eq = part.find('=');
        if (eq != std::string_view::npos && looks_secret_name(part.substr(0, eq))) {
            out.append(part.substr(0, eq + 1));
            size_t value_end = part.find_first_of(stops, eq + 1);
            out.append(kRedacted);
            if (value_end != std::string_view::npos) out.append(part.substr(value_end));
        } else {
            out.append(part);
        }
        if (end < text.size()) out.push_back(sep);
        i = end + 1;
    }
    return out;
}

}  // namespace

bool looks_secret_name(std::string_view name) {
    static constexpr std::array<std::string_view, 8> kWords = {
        "password", "passwd", "pwd", "secret", "token", "credential", "private", "key"};
    std::string l = lower(name);
    for (auto w : kWords)
        if (l.find(w) != std::string::npos) return true;
    return false;
}

std::string redact_embedded(std::string_view value) {
    size_t scheme_end = value.find("://");
    if (scheme_end != std::string_view::npos) {
        std::string out(value.substr(0, scheme_end + 3));
        std::string_view rest = value.substr(scheme_end + 3);
        size_t auth_end = rest.find_first_of("/?#");
        std::string_view authority = rest.substr(0, auth_end);
        size_t at = authority.rfind('@');
        if (at != std::string_view::npos) {
            std::string_view userinfo = authority.substr(0, at);
            size_t colon = userinfo.find(':');
            if (colon != std::string_view::npos) {
                out.append(userinfo.substr(0, colon + 1));
                out.append(kRedacted);
            } else {
                out.append(userinfo);
            }
            out.append(authority.substr(at));
        } else {
            out.append(authority);
        }
        if (auth_end == std::string_view::npos) return out;
        std::string_view tail = rest.substr(auth_end);
        size_t q = tail.find('?');
        if (q == std::string_view::npos) {
            out.append(tail);
            return out;
        }
        out.append(tail.substr(0, q + 1));
        out.append(redact_pairs(tail.substr(q + 1), '&', "#"));
        return out;
    }
    if (value.find('=') != std::string_view::npos) return redact_pairs(value, ' ', " ");
    return std::string(value);
}

std::string redact_value(std::string_view name, std::string_view value, bool known_secret) {
    if (known_secret || looks_secret_name(name)) return std::string(kRedacted);
    return redact_embedded(value);
}

std::string hide_values(std::string text, const std::vector<std::string>& values,
                        std::string_view shown) {
    std::vector<const std::string*> order;
    for (const std::string& v : values)
        if (!v.empty()) order.push_back(&v);
    std::sort(order.begin(), order.end(),
              [](const std::string* a, const std::string* b) { return a->size() > b->size(); });
    for (const std::string* v : order)
        for (size_t at = text.find(*v); at != std::string::npos;
             at = text.find(*v, at + shown.size()))
            text.replace(at, v->size(), shown);
    return text;
}

}  // namespace ordergate::secrets
