#include "gtt/gtt.hpp"

namespace ordergate::gtt {

std::string_view to_string(GttType v) { return v == GttType::Single ? "SINGLE" : "OCO"; }

std::string_view to_string(GttStatus v) {
    switch (v) {
        case GttStatus::Active: return "ACTIVE";
        case GttStatus::Triggered: return "TRIGGERED";
        case GttStatus::Cancelled: return "CANCELLED";
        case GttStatus::Expired: return "EXPIRED";
        case GttStatus::Rejected: return "REJECTED";
    }
    return "REJECTED";
}

std::optional<GttType> gtt_type_from(std::string_view s) {
    if (s == "SINGLE") return GttType::Single;
    if (s == "OCO") return GttType::Oco;
    return std::nullopt;
}

std::optional<GttStatus> gtt_status_from(std::string_view s) {
    for (GttStatus v : {GttStatus::Active, GttStatus::Triggered, GttStatus::Cancelled,
                        GttStatus::Expired, GttStatus::Rejected})
        if (s == to_string(v)) return v;
    return std::nullopt;
}

std::string leg_client_order_id(const std::string& gtt_id, size_t leg) {
    return gtt_id + "-leg" + std::to_string(leg + 1);
}

bool crossed(const GttLeg& leg, const Decimal& price) {
    return leg.direction == Direction::Rises ? price >= leg.trigger_price
                                             : price <= leg.trigger_price;
}

}  // namespace ordergate::gtt
