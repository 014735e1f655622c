// The SDK's cursor codec (ordergate/cursor.hpp), as a storage plugin sees a client's ?cursor=.
//
// Invariants: decode_cursor() on any text returns or throws sdk::Error(InvalidArgument) and
// nothing else; a decoded cursor re-encodes to the same text (decoding is one-to-one, so a
// client cannot reach a row through a second spelling); any key round-trips through
// encode_cursor() and decode_cursor().
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "ordergate/cursor.hpp"

using namespace ordergate;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        std::string key = sdk::decode_cursor(text);
        std::string again = sdk::encode_cursor(key);
        FUZZ_CHECK(again == text, "cursor '" + std::string(text) + "' decodes to a key that encodes as '" +
                                      again + "'");
    } catch (const sdk::Error& e) {
        FUZZ_CHECK(e.status() == Status::InvalidArgument,
                   "decode_cursor threw status " + std::string(to_string(e.status())) + ": " + e.what());
    }

    // The input as a key (a row id or "<ns>|<id>"; never empty, and "c1." alone is refused).
    if (size >= 1 && size <= 700) {  // decode_cursor refuses bodies over 1024 characters
        std::string cursor = sdk::encode_cursor(text);
        std::string key = sdk::decode_cursor(cursor);
        FUZZ_CHECK(key == text, "key does not round-trip through '" + cursor + "'");
    }
    return 0;
}
