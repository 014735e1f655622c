// ordergate::gtt::TriggerBook — the armed legs of active GTTs, indexed for price ticks.
//
// Per instrument, two ordered indexes: legs that fire when the price rises to their trigger
// (keyed ascending) and legs that fire when it falls to theirs. A tick at price p takes the
// rising legs with trigger <= p and the falling legs with trigger >= p: one ordered lookup and
// the legs that fire, never a scan of those that do not. Thousands of GTTs on one symbol cost
// O(log n + fired) per tick.
//
// Not thread-safe: its owner (GttService) holds its lock around every call.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gtt/gtt.hpp"

namespace ordergate::gtt {

struct ArmedLeg {
    std::string gtt_id;
    size_t leg = 0;
    bool operator==(const ArmedLeg&) const = default;
};

class TriggerBook {
  public:
    // Arms every waiting leg of an ACTIVE GTT (replacing what was armed for it before).
    void arm(const Gtt& g);
    // Removes every leg of the GTT; no-op when none is armed.
    void disarm(const std::string& gtt_id);
    // Removes and returns the legs the price reaches, rising legs first (lowest trigger first),
    // then falling legs (highest trigger first).
    std::vector<ArmedLeg> take_crossed(const std::string& symbol, const std::string& exchange,
                                       const Decimal& price);
    size_t armed() const { return where_.size(); }
    size_t armed(const std::string& gtt_id) const;

  private:
    using Index = std::multimap<Decimal, ArmedLeg>;
    struct Instrument {
        Index rises;  // fires when price >= key
        Index falls;  // fires when price <= key
    };
    struct Place {
        std::string instrument;
        bool rises = true;
        Index::iterator at;
    };
    static std::string key(const std::string& symbol, const std::string& exchange) {
        return symbol + '\0' + exchange;
    }
    std::unordered_map<std::string, Instrument> instruments_;
    std::multimap<std::string, Place> where_;  // by GTT id: each armed leg's place
};

}  // namespace ordergate::gtt
