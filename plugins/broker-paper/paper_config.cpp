#include "paper_config.hpp"

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

namespace ordergate::paper {

namespace {

const std::set<std::string, std::less<>> kKeys = {
    "accounts",
    "initial_cash",
    "currency",
    "seed",
    "initial_price",
    "tick_ms",
    "tick_size",
    "max_steps_per_tick",
    "partial_fill_ratio",
    "max_fill_per_tick",
    "fee_per_fill",
    "fee_rate",
    "allow_short",
    "send_delay_ms",
    "latency_ms",
    "fault.reject_ratio",
    "fault.timeout_before_send_ratio",
    "fault.timeout_after_send_ratio",
    "fault.disconnect",
    "fault.silent_stream",
    "fault.hang_ms",
    "journal_path",
    "first_id",
    "journal_fsync",
    "journal_snapshot_ticks",
    "history_seconds",
    "async_ack",
    "ack_delay_ms",
    "fault.refuse_cancel",
    "fault.rate_limited_retry_after_ms",
    "modify",
    "native_gtt",
};

[[noreturn]] void bad(const std::string& key, const std::string& why) {
    throw sdk::Error(Status::InvalidArgument, "config key '" + key + "': " + why);
}

bool is_list_item(std::string_view key, std::string_view list) {
    if (key.size() <= list.size() + 1 || key.substr(0, list.size()) != list ||
        key[list.size()] != '.')
        return false;
    for (char c : key.substr(list.size() + 1))
        if (c < '0' || c > '9') return false;
    return true;
}

std::string trim(std::string_view s) {
    size_t b = s.find_first_not_of(" \t");
    if (b == std::string_view::npos) return "";
    size_t e = s.find_last_not_of(" \t");
    return std::string(s.substr(b, e - b + 1));
}

int64_t non_negative_int(const sdk::Config& c, const char* key, int64_t fallback) {
    int64_t v = c.get_int(key, fallback);
    if (v < 0) bad(key, "must not be negative");
    return v;
}

}  // namespace

PaperSettings parse_paper_settings(const sdk::Config& c) {
    PaperSettings s;
    VenueConfig& v = s.venue;

    std::vector<std::string> listed;
    for (const auto& [key, value] : c.entries()) {
        if (key.rfind("prices.", 0) == 0) {
            std::string symbol = key.substr(7);
            if (symbol.empty()) bad(key, "empty symbol");
            Decimal price;
            std::string why;
            Decimal::ParseOptions opts;
            opts.max_scale = Decimal::kMaxScale;
            if (!Decimal::parse(value, &price, &why, opts)) bad(key, "'" + value + "' " + why);
            v.prices[symbol] = price;  // the last entry of a repeated key wins, as in sdk::Config
            continue;
        }
        if (is_list_item(key, "accounts")) {
            listed.push_back(trim(value));
            continue;
        }
        if (kKeys.count(key) == 0)
            bad(key, "unknown setting of broker-paper (see plugins/broker-paper/README.md)");
    }
    if (c.has("accounts")) {
        if (!listed.empty()) bad("accounts", "give either a list or a comma-separated string");
        v.accounts.clear();
        std::string_view all = c.get("accounts");
        size_t pos = 0;
        while (pos <= all.size()) {
            size_t comma = all.find(',', pos);
            std::string_view part = all.substr(
                pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
            v.accounts.push_back(trim(part));
            if (comma == std::string_view::npos) break;
            pos = comma + 1;
        }
    } else if (!listed.empty()) {
        v.accounts = listed;
    }

    v.initial_cash = c.get_decimal("initial_cash", v.initial_cash);
    v.currency = c.get_or("currency", v.currency);

    if (c.has("seed")) {
        int64_t seed = c.get_int("seed", 0);
        if (seed < 0) bad("seed", "must not be negative");
        v.seed = static_cast<uint64_t>(seed);
    }
    v.initial_price = c.get_decimal("initial_price", v.initial_price);
    v.tick_size = c.get_decimal("tick_size", v.tick_size);
    v.max_steps_per_tick = c.get_int("max_steps_per_tick", v.max_steps_per_tick);
    s.tick = std::chrono::milliseconds(non_negative_int(c, "tick_ms", s.tick.count()));

    v.partial_fill_ratio = c.get_decimal("partial_fill_ratio", v.partial_fill_ratio);
    v.max_fill_per_tick = c.get_decimal("max_fill_per_tick", v.max_fill_per_tick);
    v.fee_per_fill = c.get_decimal("fee_per_fill", v.fee_per_fill);
    v.fee_rate = c.get_decimal("fee_rate", v.fee_rate);
    v.allow_short = c.get_bool("allow_short", v.allow_short);

    v.send_delay = std::chrono::milliseconds(non_negative_int(c, "send_delay_ms", 0));
    v.latency = std::chrono::milliseconds(non_negative_int(c, "latency_ms", 0));

    v.fault.reject_ratio = c.get_decimal("fault.reject_ratio", v.fault.reject_ratio);
    v.fault.timeout_before_send_ratio =
        c.get_decimal("fault.timeout_before_send_ratio", v.fault.timeout_before_send_ratio);
    v.fault.timeout_after_send_ratio =
        c.get_decimal("fault.timeout_after_send_ratio", v.fault.timeout_after_send_ratio);
    v.fault.disconnect = c.get_bool("fault.disconnect", v.fault.disconnect);
    v.fault.silent_stream = c.get_bool("fault.silent_stream", v.fault.silent_stream);
    v.fault.hang = std::chrono::milliseconds(non_negative_int(c, "fault.hang_ms", 0));

    v.journal_path = c.get_or("journal_path", "");
    // Without a journal the venue forgets its ids when it stops, but the gateway's store keeps
    // them, and a trade id is how the gateway knows a resend from a new trade (unique per broker
    // instance, the SDK's contract). So each start numbers from its start time in microseconds:
    // a later start's ids are past any an earlier one gave, unless it gave more than one an µs.
    if (c.has("first_id")) {
        const int64_t first = c.get_int("first_id", 1);
        if (first < 1) bad("first_id", "must be at least 1");
        v.first_id = static_cast<uint64_t>(first);
    } else if (v.journal_path.empty()) {
        v.first_id = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count());
    }
    v.journal_fsync = c.get_bool("journal_fsync", v.journal_fsync);
    v.journal_snapshot_ticks = c.get_int("journal_snapshot_ticks", v.journal_snapshot_ticks);
    // With a journal, what memory forgets is read back from it, so memory keeps a minute by
    // default; without one, forgetting loses it, so everything stays unless told otherwise.
    v.history = std::chrono::seconds(
        non_negative_int(c, "history_seconds", v.journal_path.empty() ? 0 : 60));

    s.async_ack = c.get_bool("async_ack", false);
    s.ack_delay = std::chrono::milliseconds(non_negative_int(c, "ack_delay_ms", 0));
    if (s.ack_delay.count() > 0 && !s.async_ack)
        bad("ack_delay_ms", "needs async_ack: true (a synchronous answer has no delay)");
    s.refuse_cancel = c.get_bool("fault.refuse_cancel", false);
    s.rate_limited_retry_after = std::chrono::milliseconds(
        non_negative_int(c, "fault.rate_limited_retry_after_ms", 0));
    s.modify = c.get_bool("modify", true);
    s.native_gtt = c.get_bool("native_gtt", false);
    return s;
}

}  // namespace ordergate::paper
