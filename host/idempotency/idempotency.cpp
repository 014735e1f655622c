#include "idempotency/idempotency.hpp"

#include <openssl/evp.h>

#include <array>

namespace ordergate::idempotency {

std::string_view to_string(Outcome outcome) {
    switch (outcome) {
        case Outcome::Proceed: return "proceed";
        case Outcome::Replay: return "replay";
        case Outcome::InFlight: return "in_flight";
        case Outcome::Reused: return "reused";
    }
    return "unknown";
}

bool valid_key(std::string_view key) {
    if (key.empty() || key.size() > 255) return false;
    for (char c : key) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u > 0x7E) return false;
    }
    return key.front() != ' ' && key.back() != ' ';
}

std::string scoped_key(std::string_view principal, std::string_view key) {
    std::string out = std::to_string(principal.size());
    out.reserve(out.size() + principal.size() + key.size() + 2);
    out.push_back(':');
    out.append(principal);
    out.push_back(':');
    out.append(key);
    return out;
}

std::string fingerprint(std::string_view method, std::string_view path,
                        std::string_view canonical_body) {
    std::string input;
    input.reserve(method.size() + path.size() + canonical_body.size() + 32);
    for (std::string_view part : {method, path, canonical_body}) {
        input.append(std::to_string(part.size()));
        input.push_back(':');
        input.append(part);
    }
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int len = 0;
    if (EVP_Digest(input.data(), input.size(), digest.data(), &len, EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("SHA-256 failed (OpenSSL EVP_Digest)");
    static const char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(len * 2);
    for (unsigned int i = 0; i < len; ++i) {
        out.push_back(kHex[digest[i] >> 4]);
        out.push_back(kHex[digest[i] & 0x0F]);
    }
    return out;
}

}  // namespace ordergate::idempotency
