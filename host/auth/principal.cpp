#include "auth/principal.hpp"

#include <algorithm>

namespace ordergate::auth {

bool Principal::can_access(std::string_view account) const {
    return all_accounts || std::binary_search(accounts.begin(), accounts.end(), account);
}

std::string Principal::key() const {
    switch (method) {
        case AuthMethod::Disabled:
            return "operator";
        case AuthMethod::Jwt:
            return "jwt:" + subject;
        case AuthMethod::ApiKey:
            return "key:" + subject;
    }
    return "jwt:" + subject;
}

const char* to_string(AuthMethod method) {
    switch (method) {
        case AuthMethod::Disabled:
            return "disabled";
        case AuthMethod::Jwt:
            return "jwt";
        case AuthMethod::ApiKey:
            return "api_key";
    }
    return "jwt";
}

}  // namespace ordergate::auth
