#include "positions/effective_fills.hpp"

#include <map>
#include <set>
#include <utility>

namespace ordergate::positions {

std::vector<FillRecord> effective_fills(const std::vector<FillRecord>& records) {
    using Key = std::pair<std::string, std::string>;  // broker, broker_trade_id
    std::set<Key> busted;
    std::map<Key, const FillRecord*> corrected;  // the latest correction of each trade
    for (const FillRecord& r : records) {
        if (r.kind == FillKind::Bust) busted.insert({r.broker, r.ref_trade_id});
        if (r.kind == FillKind::Correction) corrected[{r.broker, r.ref_trade_id}] = &r;
    }
    std::vector<FillRecord> out;
    out.reserve(records.size());
    for (const FillRecord& r : records) {
        if (r.kind != FillKind::Trade) continue;
        const Key key{r.broker, r.broker_trade_id};
        if (busted.count(key)) continue;
        out.push_back(r);
        auto c = corrected.find(key);
        if (c != corrected.end()) {
            out.back().quantity = c->second->quantity;
            out.back().price = c->second->price;
            out.back().fee = c->second->fee;
        }
        // A correction to a zero quantity takes the trade back as a bust does.
        if (!out.back().quantity.is_positive()) out.pop_back();
    }
    return out;
}

}  // namespace ordergate::positions
