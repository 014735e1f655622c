#include "idempotency/idempotency.hpp"

#include <openssl/evp.h>

#include <array>
#include <memory>
#include <stdexcept>

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

BeginResult IdempotencyStore::peek(const std::string&, const std::string&) {
    throw std::logic_error("idempotency: peek() on a store that does not fold claims");
}

IdempotencyStore::Marker IdempotencyStore::claim_marker(const std::string&, const std::string&) {
    throw std::logic_error("idempotency: claim_marker() on a store that does not fold claims");
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

namespace {

// OpenSSL 3 looks SHA-256 up in its providers on every EVP_Digest(EVP_sha256()) call (an
// implicit fetch, about a fifth of the cost of a request's fingerprint): the algorithm is fetched
// once, and each thread keeps a context it initialises again per digest.
const EVP_MD* sha256_md() {
    static const EVP_MD* md = [] {
        const EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
        if (!m) throw std::runtime_error("SHA-256 unavailable (OpenSSL EVP_MD_fetch)");
        return m;
    }();
    return md;
}

std::array<unsigned char, EVP_MAX_MD_SIZE> sha256(std::string_view input, unsigned int* len) {
    struct CtxFree {
        void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
    };
    thread_local std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    if (!ctx || EVP_DigestInit_ex2(ctx.get(), sha256_md(), nullptr) != 1 ||
        EVP_DigestUpdate(ctx.get(), input.data(), input.size()) != 1 ||
        EVP_DigestFinal_ex(ctx.get(), digest.data(), len) != 1)
        throw std::runtime_error("SHA-256 failed (OpenSSL EVP_Digest)");
    return digest;
}

}  // namespace

std::string derived_client_order_id(std::string_view principal, std::string_view key) {
    // The domain prefix keeps this digest apart from any other SHA-256 of the scoped key.
    const std::string input = "ordergate.client_order_id.v1:" + scoped_key(principal, key);
    unsigned int len = 0;
    const auto digest = sha256(input, &len);
    static const char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    std::string out = "og-";
    // 26 characters of 5 bits each, read from the digest's leading 130 bits.
    for (int i = 0; i < 26; ++i) {
        int bit = i * 5;
        int value = 0;
        for (int b = 0; b < 5; ++b, ++bit) {
            int byte = digest[static_cast<size_t>(bit / 8)];
            value = (value << 1) | ((byte >> (7 - bit % 8)) & 1);
        }
        out.push_back(kCrockford[value]);
    }
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
    unsigned int len = 0;
    const auto digest = sha256(input, &len);
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
