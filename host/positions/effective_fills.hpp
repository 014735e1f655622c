// ordergate::positions — what the stored fills amount to once busts and corrections are applied.
//
// Trades are append-only (plugin_abi.h, og_fill_record): a venue's bust or correction of an
// execution is stored as its own record naming the execution's broker_trade_id (ref_trade_id).
// Every figure derived from fills (an order's filled quantity and average price, a position, its
// P&L) is derived from the *effective* fills:
//  - a trade busted by any bust record of the same broker does not count;
//  - a trade corrected counts with the quantity, price and fee of its latest correction (latest:
//    the last in the order the records are given; storage lists them in insertion order);
//  - bust and correction records themselves are never fills;
//  - a ref_trade_id naming a bust/correction record (a venue that names a corrected execution by
//    the correction's ExecID) is followed to the trade at the root of the chain.
// A bust or correction whose trade is not among the records changes nothing here; the caller
// that applies it checks that the trade exists first (and fails loud when it does not).
#pragma once
#include <string>
#include <vector>

#include "ordergate/types.hpp"

namespace ordergate::positions {

// The effective trades among `records`, in the order given, each with its corrected terms.
std::vector<FillRecord> effective_fills(const std::vector<FillRecord>& records);

}  // namespace ordergate::positions
