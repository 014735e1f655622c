#include "idempotency/memory_store.hpp"

#include "idempotency/entry_codec.hpp"

#include <functional>
#include <iterator>
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
            if (fingerprint_of(e.bytes) != fingerprint) return BeginResult{Outcome::Reused, {}};
            if (!e.completed) return BeginResult{Outcome::InFlight, {}};
            return BeginResult{Outcome::Replay, decode_entry(e.bytes).response};
        }
        erase_locked(shard, it);
    }
    Entry e;
    e.bytes = encode_in_flight(fingerprint);
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
        // Not this request's marker: leave it.
        if (e.completed || fingerprint_of(e.bytes) != fingerprint) return;
        e.completed = true;
        e.bytes = encode_completed(fingerprint, response);
        e.expires_at_ns = now + to_ns(options_.ttl.completed);
        return;
    }
    if (it != shard.entries.end()) erase_locked(shard, it);
    Entry e;
    e.completed = true;
    e.bytes = encode_completed(fingerprint, response);
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
    if (now >= e.expires_at_ns || (!e.completed && fingerprint_of(e.bytes) == fingerprint))
        erase_locked(shard, it);
}

void MemoryStore::purge_expired() {
    const int64_t now = clock_->now_ns();
    for (auto& shard : shards_) {
        std::lock_guard lock(shard->mutex);
        for (auto it = shard->entries.begin(); it != shard->entries.end();) {
            auto next = std::next(it);
            if (now >= it->second.expires_at_ns) erase_locked(*shard, it);
            it = next;
        }
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

// Inserts a new entry (the key is absent) at the newest end, making room first when the shard is
// full: expired entries from the oldest end, then the oldest live ones (evictions).
void MemoryStore::insert_locked(Shard& shard, const std::string& key, Entry entry, int64_t now) {
    if (shard.entries.size() >= per_shard_) {
        purge_locked(shard, now);
        while (shard.entries.size() >= per_shard_) {
            erase_locked(shard, shard.entries.find(*shard.oldest->key));
            evictions_.fetch_add(1, std::memory_order_relaxed);
        }
    }
    auto [it, inserted] = shard.entries.emplace(key, std::move(entry));
    if (!inserted) throw std::logic_error("MemoryStore: inserting a key it holds");
    Entry& e = it->second;
    e.key = &it->first;
    e.older = shard.newest;
    e.newer = nullptr;
    if (shard.newest) shard.newest->newer = &e;
    else shard.oldest = &e;
    shard.newest = &e;
}

void MemoryStore::erase_locked(Shard& shard,
                               std::unordered_map<std::string, Entry>::iterator it) {
    Entry& e = it->second;
    if (e.older) e.older->newer = e.newer;
    else shard.oldest = e.newer;
    if (e.newer) e.newer->older = e.older;
    else shard.newest = e.older;
    shard.entries.erase(it);
}

// Drops expired entries from the oldest end of the shard until one that is still live.
void MemoryStore::purge_locked(Shard& shard, int64_t now) {
    while (shard.oldest && now >= shard.oldest->expires_at_ns)
        erase_locked(shard, shard.entries.find(*shard.oldest->key));
}

}  // namespace ordergate::idempotency
