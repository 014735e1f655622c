// Retention of the event log as both storage plugins do it, with no index on at_ns: each
// account's oldest entries in seq order, up to the first one stamped at or after the cutoff. An
// entry older than the cutoff behind one stamped later (a clock that went back) waits for a
// later prune; a limit bounds what one call deletes over all accounts; a seq is never reused.
// Shared by the SQLite and PostgreSQL internals tests (their own index checks follow it there).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ordergate/sdk.hpp"

namespace ordergate::testing {

// An "orders" entry of `account`'s event log, stamped `at_ns`.
inline WriteOp event_entry(const std::string& account, int64_t at_ns) {
    WriteOp op;
    op.kind = WriteKind::AppendEvent;
    op.account_event.account_id = account;
    op.account_event.topic = "orders";
    op.account_event.data_json = "{}";
    op.account_event.at_ns = at_ns;
    return op;
}

// The seqs of `account`'s stored entries (the first 100), oldest first.
inline std::vector<int64_t> event_seqs(sdk::StoragePlugin& s, const std::string& account) {
    std::vector<int64_t> out;
    for (const AccountEvent& e : s.list_account_events(account, 0, 100).items)
        out.push_back(e.seq);
    return out;
}

// `s` is migrated, or `upgrade` migrates it: it runs after account A's first two entries.
inline void check_event_log_pruned_oldest_first_per_account(sdk::StoragePlugin& s,
                                                            const std::function<void()>& upgrade) {
    auto append = [&](const std::string& account, int64_t at) {
        ASSERT_EQ(s.write_batch({event_entry(account, at)}), std::vector<Status>{Status::Ok});
    };
    auto seqs = [&](const std::string& account) { return event_seqs(s, account); };
    for (int64_t at : {10, 20}) append("A", at);
    upgrade();
    for (int64_t at : {100, 15, 200}) append("A", at);  // 15: the clock went back
    for (int64_t at : {5, 6, 7}) append("B", at);
    EXPECT_EQ(s.prune_account_events(50, 2), 2u);  // the limit: A's 1 and 2 go first
    EXPECT_EQ(seqs("A"), (std::vector<int64_t>{3, 4, 5}));
    EXPECT_EQ(seqs("B"), (std::vector<int64_t>{1, 2, 3}));
    EXPECT_EQ(s.prune_account_events(50, 0), 3u);  // B's all; A's 4 (at 15) is behind 3 (at 100)
    EXPECT_EQ(seqs("A"), (std::vector<int64_t>{3, 4, 5}));
    EXPECT_TRUE(seqs("B").empty());
    EXPECT_EQ(s.prune_account_events(150, 0), 2u);
    EXPECT_EQ(seqs("A"), (std::vector<int64_t>{5}));
    EXPECT_EQ(s.list_account_events("A", 0, 0).last_seq, 5);
    EXPECT_EQ(s.prune_account_events(1000, 0), 1u);
    EXPECT_TRUE(seqs("A").empty());
    EXPECT_EQ(s.list_account_events("A", 0, 0).last_seq, 5);  // a seq is never reused
    append("A", 1);
    EXPECT_EQ(seqs("A"), (std::vector<int64_t>{6}));
}

}  // namespace ordergate::testing
