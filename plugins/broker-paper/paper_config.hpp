// Reads the broker-paper plugin's flattened YAML settings (sdk::Config) into the venue's settings.
// Every key, its meaning and its default are listed in plugins/broker-paper/README.md.
#pragma once

#include <chrono>

#include "ordergate/sdk.hpp"
#include "paper_venue.hpp"

namespace ordergate::paper {

struct PaperSettings {
    VenueConfig venue;
    // Interval of the background random-walk step; 0: no background steps (tests call step()).
    std::chrono::milliseconds tick{100};
    // ABI 1.4, an asynchronous venue (as over FIX): place/modify/cancel answer OG_PENDING and
    // their acknowledgement (or reject) arrives through the event sink `ack_delay` later; every
    // other event of the venue is delayed as much, so it never overtakes an acknowledgement.
    bool async_ack = false;
    std::chrono::milliseconds ack_delay{0};
    // Every cancel is refused by the venue ("too late to cancel"), the order left as it was: a
    // cancel reject (in async mode an event naming the cancel's request id; else Rejected).
    bool refuse_cancel = false;
    // ABI 1.4 tests of the host: every place/modify/cancel answers RateLimited with this wait
    // (0: off), nothing done.
    std::chrono::milliseconds rate_limited_retry_after{0};
    // ABI 1.4, capabilities per instance: false drops native modify from this instance's
    // manifest (the host then refuses a modify before calling the plugin).
    bool modify = true;
    // ABI 1.5: the venue keeps GTTs itself (OG_CAP_NATIVE_GTT in this instance's manifest):
    // the host hands it every GTT of the instance's accounts instead of emulating them.
    bool native_gtt = false;
};

// Parses `config`. Throws sdk::Error(InvalidArgument, ...) naming the key for a value that does
// not parse and for an unknown key (a misspelt fault setting must not pass silently). Ranges are
// checked by the PaperVenue constructor, with the same kind of error.
PaperSettings parse_paper_settings(const sdk::Config& config);

}  // namespace ordergate::paper
