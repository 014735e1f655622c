// ordergate::gtt — good-till-triggered orders: what a GTT is, and the names of its states.
//
// A GTT holds one leg (SINGLE) or two (OCO). Each leg is a trigger price and the order to place
// when the instrument's last price reaches it. The side of the last price a trigger sits on,
// when the GTT is created or modified, decides its direction: a trigger above the price fires
// when the price rises to it, one below when the price falls to it. An OCO has one leg on each
// side; when one fires the other is cancelled.
//
// A broker instance declaring OG_CAP_NATIVE_GTT (ABI 1.5) gets the GTT: the venue watches its
// prices and places the leg's order itself, under the same derived client order id, and the
// host follows its status (`emulated: false`). For every other broker the host emulates it: it
// watches the broker's price feed and places the leg's order itself, once, under a client order
// id derived from the GTT id and the leg (see leg_client_order_id), which the store keeps unique
// per account (`emulated: true`).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ordergate/types.hpp"

namespace ordergate::gtt {

enum class GttType { Single, Oco };
enum class GttStatus { Active, Triggered, Cancelled, Expired, Rejected };

// Inline (with the rest of this header's functions): the API's wire code uses them without the
// GTT service.
inline std::string_view to_string(GttType v) { return v == GttType::Single ? "SINGLE" : "OCO"; }
inline std::string_view to_string(GttStatus v) {
    switch (v) {
        case GttStatus::Active:
            return "ACTIVE";
        case GttStatus::Triggered:
            return "TRIGGERED";
        case GttStatus::Cancelled:
            return "CANCELLED";
        case GttStatus::Expired:
            return "EXPIRED";
        case GttStatus::Rejected:
            return "REJECTED";
    }
    return "REJECTED";
}
inline std::optional<GttType> gtt_type_from(std::string_view s) {
    if (s == "SINGLE") return GttType::Single;
    if (s == "OCO") return GttType::Oco;
    return std::nullopt;
}
inline std::optional<GttStatus> gtt_status_from(std::string_view s) {
    for (GttStatus v : {GttStatus::Active, GttStatus::Triggered, GttStatus::Cancelled,
                        GttStatus::Expired, GttStatus::Rejected})
        if (s == to_string(v)) return v;
    return std::nullopt;
}

// Where a leg's trigger sits relative to the last price when it was armed.
enum class Direction { Rises, Falls };

struct GttLeg {
    Decimal trigger_price;
    // The order to place: account, symbol and exchange are the GTT's; client_order_id is empty
    // (the host derives it); extra_json as the client gave it ("{}" when none).
    OrderRequest order;
    Direction direction = Direction::Rises;
    std::string order_id;  // the order placed for this leg, once placed
    std::string status;    // "" waiting; TRIGGERED; CANCELLED (the other leg of a fired OCO)
};

// What a client asks for (create, or the full body of a modify).
struct GttRequest {
    std::string account_id;
    std::string symbol;
    std::string exchange;
    GttType type = GttType::Single;
    std::vector<GttLeg> legs;   // trigger price and order; direction is decided by the service
    int64_t expires_at_ns = 0;  // 0: none
};

struct Gtt {
    std::string id;  // "gtt_<ulid>"
    std::string account_id;
    std::string symbol;
    std::string exchange;
    std::string broker;  // the account's broker instance
    GttType type = GttType::Single;
    GttStatus status = GttStatus::Active;
    std::vector<GttLeg> legs;
    Decimal last_price;      // the price the legs were armed against
    int triggered_leg = -1;  // the leg that fired, once TRIGGERED
    bool emulated = true;
    // Native GTTs only: the venue's id, and "PLACING" while a place's outcome at the venue is
    // not known (stored before the call; settled by asking the venue, never by a blind resend).
    std::string broker_gtt_id;
    std::string venue_state;
    std::string reason;         // why REJECTED / EXPIRED / CANCELLED, for the client
    int64_t expires_at_ns = 0;  // 0: none
    int64_t created_at_ns = 0;
    int64_t updated_at_ns = 0;
    int64_t version = 0;  // the stored row's version (0: not stored yet)
};

// The client order id of the order a leg places: the same on every instance and after any
// restart, so the store's uniqueness per account makes the placement happen once. `attempt` > 1
// only after the order of every earlier attempt was proven never to have reached the broker
// (rejected NOT_FOUND_AT_BROKER by reconciliation), each attempt again placed once.
inline std::string leg_client_order_id(const std::string& gtt_id, size_t leg, int attempt = 1) {
    std::string cid = gtt_id + "-leg" + std::to_string(leg + 1);
    if (attempt > 1) cid += "-" + std::to_string(attempt);
    return cid;
}

// True when `price` reaches the leg's trigger.
inline bool crossed(const GttLeg& leg, const Decimal& price) {
    return leg.direction == Direction::Rises ? price >= leg.trigger_price
                                             : price <= leg.trigger_price;
}

// The status a client sees: TRIGGERED as soon as a leg fired, even while its order is placed.
inline GttStatus visible_status(const Gtt& g) {
    if (g.status == GttStatus::Active && g.triggered_leg >= 0) return GttStatus::Triggered;
    return g.status;
}

}  // namespace ordergate::gtt
