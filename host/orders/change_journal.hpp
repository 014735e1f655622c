// ordergate::orders::ChangeJournal — the port through which every write of the host gets the
// per-account event log entries that describe it (ABI 1.4), in the same storage batch.
//
// The BatchWriter calls it on its writer thread for each storage batch, in commit order:
// annotate() before the batch is written, committed() after it committed. Implemented by the
// stream module's EventLog; absent (null) when the storage plugin has no event log.
#pragma once

#include <cstddef>
#include <string>
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
    // `rendered` (may be null, or hold fewer elements than `ops`): what render_ahead() gave for
    // each op, taken (moved from) instead of rendering it again.
    virtual void annotate(const std::vector<WriteOp>& ops, std::vector<WriteOp>* out,
                          std::vector<size_t>* index_of,
                          std::vector<std::string>* rendered = nullptr) = 0;
    // The entry documents that depend on an op alone (an order's, a trade's, a GTT's), one per
    // op (empty where there is none), rendered on the thread that queues the write rather than
    // on the writer's, whose serial cycle every commit waits for. Called from any thread; must
    // not throw (an op it cannot render gets an empty document: annotate() tries again).
    virtual std::vector<std::string> render_ahead(const std::vector<WriteOp>& ops) const = 0;
    // The batch annotate() produced was committed with these per-op results.
    virtual void committed(const std::vector<WriteOp>& annotated,
                           const std::vector<Status>& results) = 0;
};

}  // namespace ordergate::orders
