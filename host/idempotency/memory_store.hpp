// ordergate::idempotency::MemoryStore — the in-process idempotency store of the embedded default.
//
// Keys live in `shards` maps, each behind its own mutex, so concurrent requests with different
// keys rarely contend. Time comes from the injected Clock.
//
// Expiry: an expired entry is treated as absent the moment it is read (lazily), and every
// `purge_every` calls to begin() on a shard drop that shard's expired entries from the oldest
// end; purge_expired() does it for every shard (a caller may run it from a timer).
//
// Bounded: at most `max_entries` entries in all (split evenly over the shards). When a shard is
// full after purging, its oldest entry is evicted (counted by evictions()): an evicted key makes a
// later retry proceed, and the storage's unique client_order_id is the backstop that still stops a
// duplicate order (API.md). Evicting is preferred to refusing requests for an in-process store.
//
// Entries do not survive a restart; several gateway processes need the RedisStore.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.hpp"
#include "idempotency/idempotency.hpp"

namespace ordergate::idempotency {

struct MemoryStoreOptions {
    Ttl ttl;
    size_t shards = 16;           // >= 1
    size_t max_entries = 200000;  // >= shards
    uint32_t purge_every = 256;   // begin() calls per shard between purges; >= 1
};

class MemoryStore final : public IdempotencyStore {
public:
    // Throws std::invalid_argument on options outside the ranges above or a null clock.
    explicit MemoryStore(MemoryStoreOptions options = {},
                         std::shared_ptr<Clock> clock = system_clock());
    ~MemoryStore() override;

    BeginResult begin(const std::string& scoped_key, const std::string& fingerprint) override;
    void complete(const std::string& scoped_key, const std::string& fingerprint,
                  const StoredResponse& response) override;
    void release(const std::string& scoped_key, const std::string& fingerprint) override;
    bool ping() override { return true; }
    void check() override {}

    // Drops every expired entry now.
    void purge_expired();
    // Entries held now (expired ones not yet purged included).
    size_t size() const;
    // Entries evicted because a shard was full.
    uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }

private:
    // An entry holds its key's request in entry_codec's encoding (the fingerprint, and once
    // completed the response): one allocation for the lot. Entries of a shard are linked oldest
    // to newest; an unordered_map never moves its elements, so the links and `key` (the map's
    // own copy) stay valid until the entry is erased.
    struct Entry {
        std::string bytes;
        int64_t expires_at_ns = 0;
        bool completed = false;
        const std::string* key = nullptr;
        Entry* older = nullptr;
        Entry* newer = nullptr;
    };
    struct Shard {
        mutable std::mutex mutex;
        std::unordered_map<std::string, Entry> entries;
        Entry* oldest = nullptr;
        Entry* newest = nullptr;
        uint32_t calls = 0;
    };

    Shard& shard_for(const std::string& key);
    void insert_locked(Shard& shard, const std::string& key, Entry entry, int64_t now);
    void erase_locked(Shard& shard, std::unordered_map<std::string, Entry>::iterator it);
    void purge_locked(Shard& shard, int64_t now);

    const MemoryStoreOptions options_;
    const std::shared_ptr<Clock> clock_;
    const size_t per_shard_;
    std::vector<std::unique_ptr<Shard>> shards_;
    std::atomic<uint64_t> evictions_{0};
};

}  // namespace ordergate::idempotency
