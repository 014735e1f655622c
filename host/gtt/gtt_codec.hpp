// ordergate::gtt codec — a GTT as the storage plugin keeps it (og_gtt_record), and back.
//
// The record's columns hold what storage filters on (account, instrument, status, expiry,
// version); `body_json` holds the rest as the host's own document. Reading refuses any document
// it did not write (an unknown value, a missing field): a GTT is never guessed at, since it may
// place an order.
#pragma once

#include <stdexcept>
#include <string>

#include "gtt/gtt.hpp"

namespace ordergate::gtt {

class CorruptGtt : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

GttRecord to_record(const Gtt& g);
// Throws CorruptGtt naming the GTT and what is wrong.
Gtt from_record(const GttRecord& r);

}  // namespace ordergate::gtt
