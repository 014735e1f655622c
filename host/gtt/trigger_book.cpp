#include "gtt/trigger_book.hpp"

namespace ordergate::gtt {

void TriggerBook::arm(const Gtt& g) {
    disarm(g.id);
    if (g.status != GttStatus::Active) return;
    const std::string k = key(g.symbol, g.exchange);
    Instrument& ins = instruments_[k];
    for (size_t i = 0; i < g.legs.size(); ++i) {
        const GttLeg& leg = g.legs[i];
        if (!leg.status.empty()) continue;
        const bool rises = leg.direction == Direction::Rises;
        Index& index = rises ? ins.rises : ins.falls;
        auto at = index.emplace(leg.trigger_price, ArmedLeg{g.id, i});
        where_.emplace(g.id, Place{k, rises, at});
    }
}

void TriggerBook::disarm(const std::string& gtt_id) {
    auto [first, last] = where_.equal_range(gtt_id);
    for (auto it = first; it != last; ++it) {
        auto ins = instruments_.find(it->second.instrument);
        if (ins == instruments_.end()) continue;
        (it->second.rises ? ins->second.rises : ins->second.falls).erase(it->second.at);
        if (ins->second.rises.empty() && ins->second.falls.empty()) instruments_.erase(ins);
    }
    where_.erase(first, last);
}

size_t TriggerBook::armed(const std::string& gtt_id) const { return where_.count(gtt_id); }

std::vector<ArmedLeg> TriggerBook::take_crossed(const std::string& symbol,
                                                const std::string& exchange, const Decimal& price) {
    std::vector<ArmedLeg> out;
    auto ins = instruments_.find(key(symbol, exchange));
    if (ins == instruments_.end()) return out;
    Index& rises = ins->second.rises;
    for (auto it = rises.begin(); it != rises.end() && it->first <= price; ++it)
        out.push_back(it->second);
    Index& falls = ins->second.falls;
    for (auto it = falls.rbegin(); it != falls.rend() && it->first >= price; ++it)
        out.push_back(it->second);
    // A GTT whose leg fired leaves the book whole: an OCO's other leg must not fire too.
    for (const ArmedLeg& a : out) disarm(a.gtt_id);
    return out;
}

}  // namespace ordergate::gtt
