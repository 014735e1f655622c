// The host's idempotency StorageStore on a storage plugin loaded through the real loader: the
// store conformance suite (tests/unit/idempotency/store_conformance.cpp, the cases MemoryStore and
// RedisStore pass) plus what only a durable store has (a key outlives the instance that wrote
// it) and expiry on the host's clock. Shared by the SQLite and PostgreSQL plugin tests; each
// instantiates both suites with its own StorageOpener.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "common/clock.hpp"
#include "idempotency/storage_store.hpp"
#include "plugin_loader/plugin_adapters.hpp"
#include "plugin_loader/plugin_loader.hpp"
#include "../unit/idempotency/store_conformance.hpp"

namespace ordergate::testing {

// Opens instances of one plugin on stores of its own.
struct StorageOpener {
    std::string name;
    // A fresh, empty store (a new file, a new schema). The returned function opens a new
    // migrated plugin instance on that store each time it is called (a "restart"); it keeps the
    // store alive (e.g. its temporary directory) as long as it lives.
    std::function<std::function<std::unique_ptr<plugin_loader::PluginStorage>()>()> new_store;
};

inline void PrintTo(const StorageOpener& o, std::ostream* os) { *os << o.name; }
inline std::string opener_name(const ::testing::TestParamInfo<StorageOpener>& info) {
    return info.param.name;
}

// A StorageStore together with the plugin instance and store it runs on.
class OwnedStorageStore final : public idempotency::IdempotencyStore {
public:
    OwnedStorageStore(std::function<std::unique_ptr<plugin_loader::PluginStorage>()> open,
                      idempotency::StorageStoreOptions options, std::shared_ptr<Clock> clock)
        : open_(std::move(open)),
          storage_(open_()),
          store_(*storage_, options, std::move(clock)) {}

    idempotency::BeginResult begin(const std::string& k, const std::string& fp) override {
        return store_.begin(k, fp);
    }
    void complete(const std::string& k, const std::string& fp,
                  const idempotency::StoredResponse& r) override {
        store_.complete(k, fp, r);
    }
    void release(const std::string& k, const std::string& fp) override { store_.release(k, fp); }
    bool ping() override { return store_.ping(); }
    void check() override { store_.check(); }

    idempotency::StorageStore& store() { return store_; }
    plugin_loader::PluginStorage& storage() { return *storage_; }

private:
    std::function<std::unique_ptr<plugin_loader::PluginStorage>()> open_;  // keeps the store
    std::unique_ptr<plugin_loader::PluginStorage> storage_;
    idempotency::StorageStore store_;
};

inline idempotency::testing_support::StoreFactory conformance_factory(StorageOpener opener) {
    return {opener.name, [opener] {
                return std::make_unique<OwnedStorageStore>(
                    opener.new_store(), idempotency::StorageStoreOptions{}, system_clock());
            }};
}

class StorageStoreTest : public ::testing::TestWithParam<StorageOpener> {
protected:
    std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
    const std::string fp_ = idempotency::fingerprint("POST", "/api/v1/orders", "{}");

    static idempotency::StoredResponse response(const std::string& body) {
        idempotency::StoredResponse r;
        r.status = 201;
        r.body = body;
        r.headers = {{"Content-Type", "application/json"}};
        return r;
    }
};

TEST_P(StorageStoreTest, PluginDeclaresIdempotencyRecords) {
    auto open = GetParam().new_store();
    auto storage = open();
    EXPECT_TRUE(idempotency::StorageStore::supported(*storage, *clock_));
}

// What the in-process store cannot do: the answer outlives the instance (the process) that
// stored it, and so does an in-flight marker until its lease ends.
TEST_P(StorageStoreTest, KeyOutlivesTheInstanceThatWroteIt) {
    using idempotency::Outcome;
    auto open = GetParam().new_store();
    const std::string done = idempotency::scoped_key("alice", "done");
    const std::string running = idempotency::scoped_key("alice", "running");
    {
        OwnedStorageStore first(open, {}, clock_);
        ASSERT_EQ(first.begin(done, fp_).outcome, Outcome::Proceed);
        first.complete(done, fp_, response("{\"id\":\"ord_1\"}"));
        ASSERT_EQ(first.begin(running, fp_).outcome, Outcome::Proceed);
    }  // "kill": the instance is gone, the store stays
    OwnedStorageStore second(open, {}, clock_);
    auto r = second.begin(done, fp_);
    ASSERT_EQ(r.outcome, Outcome::Replay);
    EXPECT_EQ(r.response, response("{\"id\":\"ord_1\"}"));
    EXPECT_EQ(second.begin(running, fp_).outcome, Outcome::InFlight);
}

TEST_P(StorageStoreTest, InFlightMarkerIsALeaseAndAnswersLiveTheirTtl) {
    using idempotency::Outcome;
    using namespace std::chrono_literals;
    idempotency::StorageStoreOptions o;
    o.ttl.in_flight = 60s;
    o.ttl.completed = 24h;
    OwnedStorageStore s(GetParam().new_store(), o, clock_);
    const std::string key = idempotency::scoped_key("alice", "k");
    ASSERT_EQ(s.begin(key, fp_).outcome, Outcome::Proceed);
    clock_->advance(59s);
    EXPECT_EQ(s.begin(key, fp_).outcome, Outcome::InFlight);
    clock_->advance(1s);
    EXPECT_EQ(s.begin(key, fp_).outcome, Outcome::Proceed);  // the lease ran out
    clock_->advance(30s);
    s.complete(key, fp_, response("a"));
    clock_->advance(24h - 1s);
    EXPECT_EQ(s.begin(key, fp_).outcome, Outcome::Replay);
    clock_->advance(1s);
    EXPECT_EQ(s.begin(key, fp_).outcome, Outcome::Proceed);  // ttl from completion
}

// ABI 1.7: the plugin reads a key without writing, so a place folds its claim into its intent's
// batch. peek() decides as begin() does but leaves the key free; the batch's claim then holds it
// for begin() and peek() alike; an answer stored through the order writer's batches replays.
TEST_P(StorageStoreTest, FoldedClaimsPeekWithoutWritingAndBatchesHoldTheKey) {
    using idempotency::Outcome;
    auto open = GetParam().new_store();
    auto storage = open();
    int batched = 0;
    idempotency::StorageStoreOptions o;
    o.batch_write = [&](std::vector<WriteOp> ops) {
        ++batched;
        return storage->write_batch(ops);
    };
    idempotency::StorageStore store(*storage, o, clock_);
    ASSERT_TRUE(store.folds_claims());
    const std::string key = idempotency::scoped_key("alice", "k");
    EXPECT_EQ(store.peek(key, fp_).outcome, Outcome::Proceed);
    EXPECT_EQ(store.peek(key, fp_).outcome, Outcome::Proceed);  // the read wrote nothing
    auto marker = store.claim_marker(key, fp_);
    EXPECT_EQ(marker.key, key);
    EXPECT_EQ(marker.now_ns, clock_->now_ns());
    EXPECT_EQ(marker.expires_at_ns, clock_->now_ns() + 60'000'000'000);
    WriteOp claim;
    claim.kind = WriteKind::ClaimIdempotency;
    claim.idempotency.key = marker.key;
    claim.idempotency.fingerprint = marker.fingerprint;
    claim.idempotency.expires_at_ns = marker.expires_at_ns;
    claim.now_ns = marker.now_ns;
    ASSERT_EQ(storage->write_batch({claim}), std::vector<Status>{Status::Ok});
    EXPECT_EQ(store.peek(key, fp_).outcome, Outcome::InFlight);
    EXPECT_EQ(store.begin(key, fp_).outcome, Outcome::InFlight);
    const std::string other_fp = idempotency::fingerprint("POST", "/api/v1/orders", "{\"a\":1}");
    EXPECT_EQ(store.peek(key, other_fp).outcome, Outcome::Reused);
    ASSERT_EQ(storage->write_batch({claim}), std::vector<Status>{Status::Conflict});
    store.complete(key, fp_, response("{\"id\":\"ord_9\"}"));
    EXPECT_EQ(batched, 1);  // the answer went through the writer's batches
    auto r = store.peek(key, fp_);
    ASSERT_EQ(r.outcome, Outcome::Replay);
    EXPECT_EQ(r.response, response("{\"id\":\"ord_9\"}"));
    EXPECT_EQ(store.begin(key, fp_).outcome, Outcome::Replay);
    // A restart reads the same answer.
    OwnedStorageStore again(open, {}, clock_);
    EXPECT_EQ(again.store().peek(key, fp_).outcome, Outcome::Replay);
}

TEST_P(StorageStoreTest, PurgeDeletesExpiredRecordsOnly) {
    using idempotency::Outcome;
    using namespace std::chrono_literals;
    idempotency::StorageStoreOptions o;
    o.purge_limit = 2;  // several rounds
    OwnedStorageStore s(GetParam().new_store(), o, clock_);
    for (int i = 0; i < 5; ++i)
        ASSERT_EQ(s.begin(idempotency::scoped_key("p", std::to_string(i)), fp_).outcome,
                  Outcome::Proceed);
    clock_->advance(61s);
    const std::string live = idempotency::scoped_key("p", "live");
    ASSERT_EQ(s.begin(live, fp_).outcome, Outcome::Proceed);
    EXPECT_EQ(s.store().purge_expired(), 5u);
    EXPECT_EQ(s.store().purge_expired(), 0u);
    EXPECT_EQ(s.begin(live, fp_).outcome, Outcome::InFlight);
}

}  // namespace ordergate::testing
