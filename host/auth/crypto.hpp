// ordergate::auth — small cryptographic helpers over OpenSSL 3. Pure functions, thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ordergate::auth {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest sha256(std::string_view data);
// Lower-case hex of SHA-256(data): what ApiKey::sha256_hex holds for an API key `data`.
std::string sha256_hex(std::string_view data);

// RFC 4648 §5 without padding.
std::string base64url_encode(std::string_view bytes);
// Strict: only [A-Za-z0-9_-], no padding, no whitespace, and the unused bits of the last
// character must be zero (one text per byte string). nullopt when any rule is broken.
std::optional<std::string> base64url_decode(std::string_view text);

// Constant time in the length `n` (CRYPTO_memcmp).
bool constant_time_equal(const void* a, const void* b, std::size_t n);

}  // namespace ordergate::auth
