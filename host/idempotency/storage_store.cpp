#include "idempotency/storage_store.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "idempotency/entry_codec.hpp"

namespace ordergate::idempotency {

namespace {

int64_t to_ns(std::chrono::seconds s) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(s).count();
}

// Runs one storage call; a failure of any kind means the store could not answer.
template <typename F>
auto guarded(const char* what, F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const IdempotencyUnavailable&) {
        throw;
    } catch (const std::exception& e) {
        throw IdempotencyUnavailable(std::string("idempotency storage ") + what + ": " + e.what());
    }
}

}  // namespace

StorageStore::StorageStore(sdk::StoragePlugin& storage, StorageStoreOptions options,
                           std::shared_ptr<Clock> clock)
    : storage_(storage), options_(options), clock_(std::move(clock)) {
    if (!clock_) throw std::invalid_argument("StorageStore: clock is null");
    if (options_.purge_every == 0 || options_.purge_limit == 0)
        throw std::invalid_argument("StorageStore: purge_every and purge_limit must be >= 1");
    if (options_.ttl.completed.count() <= 0 || options_.ttl.in_flight.count() <= 0)
        throw std::invalid_argument("StorageStore: TTLs must be positive");
    try {
        // A read of a key no request has (scoped keys start with a length): nothing written.
        storage_.idempotency_get("0::probe", clock_->now_ns());
        folds_ = true;
    } catch (const sdk::Error& e) {
        if (e.status() != Status::Unsupported) throw;
    }
}

bool StorageStore::supported(sdk::StoragePlugin& storage, const Clock& clock) {
    try {
        // Deletes nothing that has not expired: a harmless probe.
        storage.idempotency_purge(clock.now_ns(), 1);
        return true;
    } catch (const sdk::Error& e) {
        if (e.status() == Status::Unsupported) return false;
        throw;
    }
}

BeginResult StorageStore::begin(const std::string& scoped_key, const std::string& fingerprint) {
    const int64_t now = clock_->now_ns();
    maybe_purge(now);
    IdempotencyRecord marker;
    marker.key = scoped_key;
    marker.fingerprint = fingerprint;
    marker.expires_at_ns = now + to_ns(options_.ttl.in_flight);
    std::optional<IdempotencyRecord> held =
        guarded("begin", [&] { return storage_.idempotency_begin(marker, now); });
    return decide(held, fingerprint);
}

BeginResult StorageStore::peek(const std::string& scoped_key, const std::string& fingerprint) {
    if (!folds_) return IdempotencyStore::peek(scoped_key, fingerprint);
    const int64_t now = clock_->now_ns();
    maybe_purge(now);
    std::optional<IdempotencyRecord> held =
        guarded("read", [&] { return storage_.idempotency_get(scoped_key, now); });
    return decide(held, fingerprint);
}

IdempotencyStore::Marker StorageStore::claim_marker(const std::string& scoped_key,
                                                    const std::string& fingerprint) {
    if (!folds_) return IdempotencyStore::claim_marker(scoped_key, fingerprint);
    const int64_t now = clock_->now_ns();
    return Marker{scoped_key, fingerprint, now + to_ns(options_.ttl.in_flight), now};
}

BeginResult StorageStore::decide(const std::optional<IdempotencyRecord>& held,
                                 const std::string& fingerprint) {
    if (!held) return BeginResult{Outcome::Proceed, {}};
    if (held->fingerprint != fingerprint) return BeginResult{Outcome::Reused, {}};
    if (!held->completed) return BeginResult{Outcome::InFlight, {}};
    DecodedEntry entry;
    try {
        entry = decode_entry(held->response);
    } catch (const std::invalid_argument& e) {
        throw IdempotencyUnavailable(std::string("idempotency storage: unreadable entry: ") +
                                     e.what());
    }
    if (!entry.completed || entry.fingerprint != fingerprint)
        throw IdempotencyUnavailable("idempotency storage: entry does not match its row");
    return BeginResult{Outcome::Replay, std::move(entry.response)};
}

void StorageStore::complete(const std::string& scoped_key, const std::string& fingerprint,
                            const StoredResponse& response) {
    const int64_t now = clock_->now_ns();
    IdempotencyRecord record;
    record.key = scoped_key;
    record.fingerprint = fingerprint;
    record.completed = true;
    record.response = encode_completed(fingerprint, response);
    record.expires_at_ns = now + to_ns(options_.ttl.completed);
    // false / Conflict: another request's entry holds the key, which stays as it is (the
    // contract).
    if (folds_ && options_.batch_write) {
        WriteOp op;
        op.kind = WriteKind::CompleteIdempotency;
        op.idempotency = std::move(record);
        op.now_ns = now;
        std::vector<WriteOp> ops;
        ops.push_back(std::move(op));
        guarded("complete", [&] { return options_.batch_write(std::move(ops)); });
        return;
    }
    guarded("complete", [&] { return storage_.idempotency_complete(record, now); });
}

void StorageStore::release(const std::string& scoped_key, const std::string& fingerprint) {
    const int64_t now = clock_->now_ns();
    guarded("release", [&] { storage_.idempotency_release(scoped_key, fingerprint, now); });
}

bool StorageStore::ping() {
    try {
        storage_.ping();
        return true;
    } catch (const std::exception&) {
        return false;
    }
}

void StorageStore::check() {
    // Nothing to do: a write without a key reaches the broker only after its intent is written
    // to this same storage, which fails (503, nothing sent) when storage does not answer. A ping
    // here would add a round trip to every such write and decide nothing more.
}

uint64_t StorageStore::purge_expired() {
    uint64_t total = 0;
    const int64_t now = clock_->now_ns();
    for (;;) {
        uint64_t n = guarded("purge",
                             [&] { return storage_.idempotency_purge(now, options_.purge_limit); });
        total += n;
        if (n < options_.purge_limit) return total;
    }
}

void StorageStore::maybe_purge(int64_t now) {
    if (calls_.fetch_add(1, std::memory_order_relaxed) % options_.purge_every !=
        options_.purge_every - 1)
        return;
    try {
        uint64_t n = storage_.idempotency_purge(now, options_.purge_limit);
        if (n > 0) spdlog::debug("event=idempotency_purged backend=storage rows={}", n);
    } catch (const std::exception& e) {
        // Expired rows already count as absent; purging later is enough.
        spdlog::warn("event=idempotency_purge_failed backend=storage error=\"{}\"", e.what());
    }
}

}  // namespace ordergate::idempotency
