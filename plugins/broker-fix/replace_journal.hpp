// The plugin's own record of modifies carried out as a cancel and a new order (setting
// `replace: cancel_new`, for a venue without OrderCancelReplaceRequest).
//
// After such a modify one host order is several venue orders: the first ones cancelled with what
// they executed, the last one working under a ClOrdID the host never sent. What ties them together
// lives only in the plugin, so it is written here, synced to disk, before the new venue order is
// sent: after a restart the plugin still finds the order from the new venue order's reports, adds
// what the earlier ones executed, and sends a later cancel or replace to the venue order that
// works. A line torn by a crash while it was written was never followed by a send: it is ignored.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ordergate/sdk.hpp"

namespace ordergate::fixplugin {

// One new venue order of an emulated replace.
struct ReplaceLeg {
    std::string client_order_id;  // the host's order (ClOrdID of its first venue order)
    std::string request_id;       // the host's modify: ClOrdID of the cancel that ended the last leg
    std::string leg_id;           // ClOrdID of the new venue order
    std::string broker_order_id;  // OrderID of the first venue order: the id the host knows
    std::string account_id, symbol;
    Side side = Side::Buy;
    OrderType order_type = OrderType::Limit;
    TimeInForce time_in_force = TimeInForce::Day;
    Decimal quantity;              // the order's whole quantity after the modify
    std::optional<Decimal> price;  // limit price after the modify
    Decimal base_qty;              // what the earlier venue orders executed
    std::optional<Decimal> base_notional;  // and its value (quantity x price; absent when it
                                           // did not fit a Decimal), for the average price
};

class ReplaceJournal {
  public:
    explicit ReplaceJournal(std::string path) : path_(std::move(path)) {}

    // Every leg, oldest first. A missing file is an empty journal; a damaged line (other than a
    // torn last one) throws std::runtime_error: the instance must not start without it.
    std::vector<ReplaceLeg> load() const;

    // Appends the leg and syncs the file (and, when it creates the file, its directory). Throws
    // std::runtime_error when it cannot: the new venue order must then not be sent.
    void append(const ReplaceLeg& leg) const;

    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

}  // namespace ordergate::fixplugin
