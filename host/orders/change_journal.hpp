// ordergate::orders::ChangeJournal — the port through which every write of the host gets the
// per-account event log entries that describe it (ABI 1.4), in the same storage batch.
//
// The BatchWriter calls it on its writer thread for each storage batch, in commit order:
// annotate() before the batch is written, committed() after it committed. Implemented by the
// stream module's EventLog; absent (null) when the storage plugin has no event log.
#pragma once

#include <cstddef>
#include <vector>

#include "ordergate/types.hpp"

namespace ordergate::orders {

class ChangeJournal {
  public:
    virtual ~ChangeJournal() = default;
    // Writes into *out the batch to send: `ops` in order, each followed by the AppendEvent ops
    // (flagged requires_previous, so an entry lands exactly when its change does) that describe
    // it, and into *index_of the position in *out of each op of `ops`. Must not throw for a
    // change it cannot describe (that change is logged without an entry).
    virtual void annotate(const std::vector<WriteOp>& ops, std::vector<WriteOp>* out,
                          std::vector<size_t>* index_of) = 0;
    // The batch annotate() produced was committed with these per-op results.
    virtual void committed(const std::vector<WriteOp>& annotated,
                           const std::vector<Status>& results) = 0;
};

}  // namespace ordergate::orders
