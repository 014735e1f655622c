// Opaque pagination cursors for storage plugins (a helper of the SDK; the host treats cursors
// as opaque text, so a plugin may use another format).
//
// A cursor is the key of the last row a page returned (an id, or "<started_at_ns>|<id>" for
// reconciliation runs), base64url-encoded without padding behind a "c1." version prefix, so a
// client cannot mistake it for an id and a later format can be told apart. decode_cursor() throws
// sdk::Error(InvalidArgument, "invalid cursor") for anything encode_cursor() did not produce; the
// host answers that with 400 INVALID_PARAMETER.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ordergate/sdk.hpp"

namespace ordergate::sdk {

inline constexpr std::string_view kCursorPrefix = "c1.";

inline std::string encode_cursor(std::string_view key) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out(kCursorPrefix);
    out.reserve(kCursorPrefix.size() + (key.size() * 4 + 2) / 3);
    size_t i = 0;
    auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(key[k])); };
    for (; i + 3 <= key.size(); i += 3) {
        uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
        out.push_back(kAlphabet[v >> 18 & 63]);
        out.push_back(kAlphabet[v >> 12 & 63]);
        out.push_back(kAlphabet[v >> 6 & 63]);
        out.push_back(kAlphabet[v & 63]);
    }
    if (key.size() - i == 1) {
        uint32_t v = byte(i) << 16;
        out.push_back(kAlphabet[v >> 18 & 63]);
        out.push_back(kAlphabet[v >> 12 & 63]);
    } else if (key.size() - i == 2) {
        uint32_t v = byte(i) << 16 | byte(i + 1) << 8;
        out.push_back(kAlphabet[v >> 18 & 63]);
        out.push_back(kAlphabet[v >> 12 & 63]);
        out.push_back(kAlphabet[v >> 6 & 63]);
    }
    return out;
}

inline std::string decode_cursor(std::string_view cursor) {
    auto invalid = [] { return sdk::Error(Status::InvalidArgument, "invalid cursor"); };
    if (cursor.size() <= kCursorPrefix.size() || cursor.substr(0, kCursorPrefix.size()) != kCursorPrefix)
        throw invalid();
    std::string_view body = cursor.substr(kCursorPrefix.size());
    if (body.size() % 4 == 1 || body.size() > 1024) throw invalid();
    auto value = [&](char c) -> uint32_t {
        if (c >= 'A' && c <= 'Z') return static_cast<uint32_t>(c - 'A');
        if (c >= 'a' && c <= 'z') return static_cast<uint32_t>(c - 'a' + 26);
        if (c >= '0' && c <= '9') return static_cast<uint32_t>(c - '0' + 52);
        if (c == '-') return 62;
        if (c == '_') return 63;
        throw invalid();
    };
    std::string out;
    out.reserve(body.size() * 3 / 4);
    uint32_t acc = 0;
    int bits = 0;
    for (char c : body) {
        acc = (acc << 6) | value(c);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    // Leftover bits must be zero, or the text was not produced by encode_cursor().
    if ((acc & ((1u << bits) - 1)) != 0) throw invalid();
    return out;
}

}  // namespace ordergate::sdk
