#include "positions/effective_fills.hpp"

#include <map>
#include <set>
#include <utility>

namespace ordergate::positions {

std::vector<FillRecord> effective_fills(const std::vector<FillRecord>& records) {
    using Key = std::pair<std::string, std::string>;  // broker, broker_trade_id
    // A venue may name a corrected trade by its correction's id afterwards (its latest ExecID):
    // every bust/correction is resolved to the trade at the root of its chain.
    std::map<Key, std::string> ref_of;  // a change's own id -> the id it refers to
    for (const FillRecord& r : records)
        if (r.kind != FillKind::Trade) ref_of[{r.broker, r.broker_trade_id}] = r.ref_trade_id;
    auto root = [&](const FillRecord& r) {
        std::string ref = r.ref_trade_id;
        for (size_t hops = 0; hops <= ref_of.size(); ++hops) {
            auto it = ref_of.find({r.broker, ref});
            if (it == ref_of.end()) break;
            ref = it->second;
        }
        return Key{r.broker, ref};
    };
    std::set<Key> busted;
    std::map<Key, const FillRecord*> corrected;  // the latest correction of each trade
    for (const FillRecord& r : records) {
        if (r.kind == FillKind::Bust) busted.insert(root(r));
        if (r.kind == FillKind::Correction) corrected[root(r)] = &r;
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
