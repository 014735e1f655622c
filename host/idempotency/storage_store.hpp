// ordergate::idempotency::StorageStore — idempotency records in the storage plugin (ABI 1.2), the
// default without Redis: a key survives a restart whenever storage does (SQLite file,
// PostgreSQL), and several gateways on one PostgreSQL share their keys.
//
// Every call is one plugin call, atomic on its own (the plugin's begin is a conditional insert or
// replace of an expired record). Times come from the injected Clock and travel with each call, so
// expiry is decided by the host's clock on every backend alike:
//  - begin() writes an in-flight marker that expires after `ttl.in_flight` (a lease: a process
//    killed mid-request blocks the key only that long); complete() keeps the answer `ttl.completed`.
//  - expired rows count as absent at once; every `purge_every` begin() calls one call deletes up
//    to `purge_limit` expired rows (a failed purge is logged, never the request's failure).
// The response is stored with entry_codec's completed encoding (binary-safe).
//
// Errors: any storage failure (down, timed out, a malformed answer, an unreadable entry) throws
// IdempotencyUnavailable; the API then fails closed (503) before the broker is called.
//
// On a plugin of ABI 1.7 (idempotency_get) a place folds its claim into its intent's transaction:
// peek() reads, and the order service writes claim_marker() with the intent (see
// IdempotencyStore). Other writes still claim with begin().
//
// A plugin older than ABI 1.2 lacks the functions: supported() says so, and the gateway keeps
// keys in a MemoryStore instead, with a warning at start-up (see host/app/gateway.cpp).
#pragma once

#include <atomic>
#include <functional>
#include <vector>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/clock.hpp"
#include "idempotency/idempotency.hpp"
#include "ordergate/sdk.hpp"

namespace ordergate::idempotency {

struct StorageStoreOptions {
    Ttl ttl;
    uint32_t purge_every = 1024;  // begin() calls between purges; >= 1
    uint32_t purge_limit = 1000;  // rows deleted by one purge; >= 1
    // When set and the plugin folds claims: complete() writes its record through this (the
    // order service's writer, which waits for the commit) instead of a transaction of its own,
    // so it shares a group commit with the orders' writes. Returns one status per op.
    std::function<std::vector<Status>(std::vector<WriteOp>)> batch_write;
};

class StorageStore final : public IdempotencyStore {
public:
    // `storage` must outlive the store. Throws std::invalid_argument on bad options or a null
    // clock.
    StorageStore(sdk::StoragePlugin& storage, StorageStoreOptions options = {},
                 std::shared_ptr<Clock> clock = system_clock());

    // True when `storage` keeps idempotency records; false when the plugin answers Unsupported
    // (older than ABI 1.2). Other failures propagate as the plugin's sdk::Error.
    static bool supported(sdk::StoragePlugin& storage, const Clock& clock);

    BeginResult begin(const std::string& scoped_key, const std::string& fingerprint) override;
    void complete(const std::string& scoped_key, const std::string& fingerprint,
                  const StoredResponse& response) override;
    void release(const std::string& scoped_key, const std::string& fingerprint) override;
    bool ping() override;
    void check() override;  // no round trip: the intent write to this storage is the check

    // True when the plugin reads records without writing (ABI 1.7 idempotency_get), so it also
    // takes claims and completions in write batches: checked once, in the constructor.
    bool folds_claims() const override { return folds_; }
    BeginResult peek(const std::string& scoped_key, const std::string& fingerprint) override;
    Marker claim_marker(const std::string& scoped_key, const std::string& fingerprint) override;

    // Deletes expired records now (all of them, in rounds of purge_limit); returns how many.
    uint64_t purge_expired();

private:
    void maybe_purge(int64_t now);
    // begin()'s and peek()'s answer for the record holding the key (none: Proceed).
    static BeginResult decide(const std::optional<IdempotencyRecord>& held,
                              const std::string& fingerprint);

    sdk::StoragePlugin& storage_;
    const StorageStoreOptions options_;
    const std::shared_ptr<Clock> clock_;
    std::atomic<uint32_t> calls_{0};
    bool folds_ = false;
};

}  // namespace ordergate::idempotency
