#include "idempotency/memory_store.hpp"

#include <functional>
#include <stdexcept>

namespace ordergate::idempotency {

namespace {

int64_t to_ns(std::chrono::seconds s) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(s).count();
}

}  // namespace

MemoryStore::MemoryStore(MemoryStoreOptions options, std::shared_ptr<Clock> clock)
    : options_(options),
      clock_(std::move(clock)),
      per_shard_(options.shards == 0 ? 0 : options.max_entries / options.shards) {
    if (!clock_) throw std::invalid_argument("MemoryStore: clock is null");
    if (options_.shards == 0) throw std::invalid_argument("MemoryStore: shards must be >= 1");
    if (options_.max_entries < options_.shards)
        throw std::invalid_argument("MemoryStore: max_entries must be >= shards");
    if (options_.purge_every == 0)
        throw std::invalid_argument("MemoryStore: purge_every must be >= 1");
    if (options_.ttl.completed.count() <= 0 || options_.ttl.in_flight.count() <= 0)
        throw std::invalid_argument("MemoryStore: TTLs must be positive");
    shards_.reserve(options_.shards);
    for (size_t i = 0; i < options_.shards; ++i) shards_.push_back(std::make_unique<Shard>());
}

MemoryStore::~MemoryStore() = default;

MemoryStore::Shard& MemoryStore::shard_for(const std::string& key) {
    return *shards_[std::hash<std::string>{}(key) % shards_.size()];
}

BeginResult MemoryStore::begin(const std::string& scoped_key, const std::string& fingerprint) {
    Shard& shard = shard_for(scoped_key);
    const int64_t now = clock_->now_ns();
    std::lock_guard lock(shard.mutex);
    if (++shard.calls >= options_.purge_every) {
        shard.calls = 0;
        purge_locked(shard, now);
    }
    auto it = shard.entries.find(scoped_key);
    if (it != shard.entries.end()) {
        const Entry& e = it->second;
        if (now < e.expires_at_ns) {
            if (e.fingerprint != fingerprint) return BeginResult{Outcome::Reused, {}};
            if (!e.completed) return BeginResult{Outcome::InFlight, {}};
            return BeginResult{Outcome::Replay, e.response};
        }
        shard.entries.erase(it);
    }
    Entry e;
    e.fingerprint = fingerprint;
    e.expires_at_ns = now + to_ns(options_.ttl.in_flight);
    insert_locked(shard, scoped_key, std::move(e), now);
    return BeginResult{Outcome::Proceed, {}};
}

void MemoryStore::complete(const std::string& scoped_key, const std::string& fingerprint,
                           const StoredResponse& response) {
    Shard& shard = shard_for(scoped_key);
    const int64_t now = clock_->now_ns();
    std::lock_guard lock(shard.mutex);
    auto it = shard.entries.find(scoped_key);
    if (it != shard.entries.end() && now < it->second.expires_at_ns) {
        Entry& e = it->second;
        if (e.completed || e.fingerprint != fingerprint) return;  // not this request's marker
        e.completed = true;
        e.response = response;
        e.expires_at_ns = now + to_ns(options_.ttl.completed);
        return;
    }
    if (it != shard.entries.end()) shard.entries.erase(it);
    Entry e;
    e.completed = true;
    e.fingerprint = fingerprint;
    e.response = response;
    e.expires_at_ns = now + to_ns(options_.ttl.completed);
    insert_locked(shard, scoped_key, std::move(e), now);
}

void MemoryStore::release(const std::string& scoped_key, const std::string& fingerprint) {
    Shard& shard = shard_for(scoped_key);
    const int64_t now = clock_->now_ns();
    std::lock_guard lock(shard.mutex);
    auto it = shard.entries.find(scoped_key);
    if (it == shard.entries.end()) return;
    const Entry& e = it->second;
    if (now >= e.expires_at_ns || (!e.completed && e.fingerprint == fingerprint))
        shard.entries.erase(it);
}

void MemoryStore::purge_expired() {
    const int64_t now = clock_->now_ns();
    for (auto& shard : shards_) {
        std::lock_guard lock(shard->mutex);
        for (auto it = shard->entries.begin(); it != shard->entries.end();) {
            if (now >= it->second.expires_at_ns) it = shard->entries.erase(it);
            else ++it;
        }
        compact_order_locked(*shard);
    }
}

size_t MemoryStore::size() const {
    size_t n = 0;
    for (const auto& shard : shards_) {
        std::lock_guard lock(shard->mutex);
        n += shard->entries.size();
    }
    return n;
}

// Inserts a new entry (the key is absent), making room first when the shard is full.
void MemoryStore::insert_locked(Shard& shard, const std::string& key, Entry entry, int64_t now) {
    if (shard.entries.size() >= per_shard_) {
        purge_locked(shard, now);
        while (shard.entries.size() >= per_shard_) evict_oldest_locked(shard);
    }
    entry.seq = shard.next_seq++;
    shard.order.emplace_back(key, entry.seq);
    shard.entries.emplace(key, std::move(entry));
    if (shard.order.size() > 2 * per_shard_ + 64) compact_order_locked(shard);
}

// Drops expired entries from the oldest end of the shard until one that is still live.
void MemoryStore::purge_locked(Shard& shard, int64_t now) {
    while (!shard.order.empty()) {
        const auto& [key, seq] = shard.order.front();
        auto it = shard.entries.find(key);
        if (it != shard.entries.end() && it->second.seq == seq) {
            if (now < it->second.expires_at_ns) break;
            shard.entries.erase(it);
        }
        shard.order.pop_front();
    }
}

void MemoryStore::evict_oldest_locked(Shard& shard) {
    while (!shard.order.empty()) {
        auto [key, seq] = std::move(shard.order.front());
        shard.order.pop_front();
        auto it = shard.entries.find(key);
        if (it != shard.entries.end() && it->second.seq == seq) {
            shard.entries.erase(it);
            evictions_.fetch_add(1, std::memory_order_relaxed);
            return;
        }
    }
    // The order list always names every live entry; reaching here means it did not.
    throw std::logic_error("MemoryStore: eviction found no entry to evict");
}

// Drops the order records of entries that were released, replaced or purged out of turn.
void MemoryStore::compact_order_locked(Shard& shard) {
    std::deque<std::pair<std::string, uint64_t>> kept;
    for (auto& rec : shard.order) {
        auto it = shard.entries.find(rec.first);
        if (it != shard.entries.end() && it->second.seq == rec.second) kept.push_back(std::move(rec));
    }
    shard.order.swap(kept);
}

}  // namespace ordergate::idempotency
