#include "idempotency/entry_codec.hpp"

#include <charconv>
#include <stdexcept>

namespace ordergate::idempotency {

namespace {

constexpr std::string_view kMagic = "OGI1";

void put(std::string& out, std::string_view field) {
    out.append(std::to_string(field.size()));
    out.push_back(':');
    out.append(field);
}

class Reader {
public:
    explicit Reader(std::string_view in) : in_(in) {}

    std::string_view field() {
        size_t colon = in_.find(':', pos_);
        if (colon == std::string_view::npos || colon == pos_ || colon - pos_ > 10)
            fail("bad field length");
        size_t len = 0;
        auto [p, ec] = std::from_chars(in_.data() + pos_, in_.data() + colon, len);
        if (ec != std::errc() || p != in_.data() + colon) fail("bad field length");
        pos_ = colon + 1;
        if (len > in_.size() - pos_) fail("field runs past the end");
        std::string_view f = in_.substr(pos_, len);
        pos_ += len;
        return f;
    }
    uint64_t number(uint64_t max) {
        std::string_view f = field();
        uint64_t v = 0;
        auto [p, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
        if (f.empty() || ec != std::errc() || p != f.data() + f.size() || v > max)
            fail("bad number");
        return v;
    }
    char byte() {
        if (pos_ >= in_.size()) fail("truncated");
        return in_[pos_++];
    }
    std::string_view take(size_t n) {
        if (n > in_.size() - pos_) fail("truncated");
        std::string_view v = in_.substr(pos_, n);
        pos_ += n;
        return v;
    }
    bool at_end() const { return pos_ == in_.size(); }
    [[noreturn]] static void fail(const char* why) {
        throw std::invalid_argument(std::string("malformed idempotency entry: ") + why);
    }

private:
    std::string_view in_;
    size_t pos_ = 0;
};

// The magic, the state and the fingerprint every entry starts with.
std::string_view read_head(Reader& r, bool* completed) {
    if (r.take(kMagic.size()) != kMagic) Reader::fail("unknown format");
    const char state = r.byte();
    if (state != 'I' && state != 'C') Reader::fail("unknown state");
    *completed = state == 'C';
    return r.field();
}

}  // namespace

std::string encode_in_flight(std::string_view fingerprint) {
    std::string out(kMagic);
    out.push_back('I');
    put(out, fingerprint);
    return out;
}

std::string encode_completed(std::string_view fingerprint, const StoredResponse& response) {
    std::string out(kMagic);
    out.push_back('C');
    put(out, fingerprint);
    put(out, std::to_string(response.status));
    put(out, std::to_string(response.headers.size()));
    for (const auto& [name, value] : response.headers) {
        put(out, name);
        put(out, value);
    }
    put(out, response.body);
    return out;
}

DecodedEntry decode_entry(std::string_view bytes) {
    Reader r(bytes);
    DecodedEntry e;
    e.fingerprint = std::string(read_head(r, &e.completed));
    if (e.completed) {
        e.response.status = static_cast<int>(r.number(999));
        uint64_t headers = r.number(100000);
        for (uint64_t i = 0; i < headers; ++i) {
            std::string name(r.field());
            std::string value(r.field());
            e.response.headers.emplace_back(std::move(name), std::move(value));
        }
        e.response.body = std::string(r.field());
    }
    if (!r.at_end()) Reader::fail("trailing bytes");
    return e;
}

std::string_view fingerprint_of(std::string_view bytes) {
    Reader r(bytes);
    bool completed = false;
    return read_head(r, &completed);
}

}  // namespace ordergate::idempotency
