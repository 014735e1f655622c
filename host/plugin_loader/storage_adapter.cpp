#include <spdlog/spdlog.h>

#include "ordergate/abi_convert.hpp"
#include "plugin_loader/call_support.hpp"
#include "plugin_loader/plugin_adapters.hpp"

namespace ordergate::plugin_loader {

namespace {

using detail::check_status;
using detail::ErrorBuffer;
using detail::fail_internal;

// Collects what one storage call reports. Callbacks never throw (see BrokerResults).
class StorageResults : detail::ResultErrors {
public:
    StorageResults() {
        sink_.size = sizeof(og_storage_sink);
        sink_.ctx = this;
        sink_.on_order = &add<OrderRecord, og_order_record, &StorageResults::orders>;
        sink_.on_event = &add<OrderEvent, og_order_event, &StorageResults::events>;
        sink_.on_fill = &add<FillRecord, og_fill_record, &StorageResults::fills>;
        sink_.on_gtt = &add<GttRecord, og_gtt_record, &StorageResults::gtts>;
        sink_.on_recon_run = &add<ReconRun, og_recon_run, &StorageResults::runs>;
        sink_.on_cursor = &on_cursor;
        sink_.on_idempotency =
            &add<IdempotencyRecord, og_idempotency_record, &StorageResults::idempotency>;
        sink_.on_account_event =  // appended in ABI 1.4 (event log)
            &add<AccountEvent, og_account_event, &StorageResults::account_events>;
    }
    StorageResults(const StorageResults&) = delete;
    StorageResults& operator=(const StorageResults&) = delete;

    const og_storage_sink* sink() const { return &sink_; }

    // Throws Internal when a callback received something malformed, or records of a kind the
    // call does not return (`expected` names the member that may be filled).
    template <typename T>
    void check(const PluginLibrary& lib, const char* function,
               std::vector<T> StorageResults::*expected) const {
        check_records(lib, function);
        size_t total = orders.size() + events.size() + fills.size() + gtts.size() + runs.size() +
                       idempotency.size() + account_events.size();
        size_t stray = total - (this->*expected).size();
        if (stray != 0)
            fail_internal(lib, function,
                          "reported " + std::to_string(stray) + " records of the wrong kind");
        if (cursors_ > 1) fail_internal(lib, function, "reported more than one next cursor");
    }

    std::vector<OrderRecord> orders;
    std::vector<OrderEvent> events;
    std::vector<FillRecord> fills;
    std::vector<GttRecord> gtts;
    std::vector<ReconRun> runs;
    std::vector<IdempotencyRecord> idempotency;
    std::vector<AccountEvent> account_events;  // appended in ABI 1.4 (event log)
    std::string cursor;

private:
    template <typename T, typename C, std::vector<T> StorageResults::*member>
    static void add(void* ctx, const C* record) {
        auto* self = static_cast<StorageResults*>(ctx);
        self->guarded([&] { (self->*member).push_back(abi::from_abi(record)); });
    }
    static void on_cursor(void* ctx, og_str next) {
        auto* self = static_cast<StorageResults*>(ctx);
        self->guarded([&] {
            self->cursor = abi::from_abi(next, "cursor", "next_cursor");
            ++self->cursors_;
        });
    }

    og_storage_sink sink_{};
    int cursors_ = 0;
};

// A single read: NOT_FOUND is nullopt, OK must carry exactly one record.
template <typename T>
std::optional<T> single(const PluginLibrary& lib, const char* function, og_status st,
                        const ErrorBuffer& err, const StorageResults& out,
                        std::vector<T>& items, std::vector<T> StorageResults::*member) {
    if (st == OG_NOT_FOUND) return std::nullopt;
    check_status(lib, function, st, err);
    out.check(lib, function, member);
    if (items.size() != 1)
        fail_internal(lib, function,
                      "returned ok with " + std::to_string(items.size()) +
                          " records where exactly one was due");
    return std::move(items.front());
}

void must_match(const PluginLibrary& lib, const char* function, const std::string& got,
                const std::string& want, const char* field) {
    if (got != want)
        fail_internal(lib, function,
                      std::string("returned a record for another key (") + field + " '" +
                          detail::one_line(got, 100) + "', asked for '" + want + "')");
}

}  // namespace

PluginStorage::PluginStorage(std::shared_ptr<PluginLibrary> library)
    : library_(std::move(library)) {}

PluginStorage::~PluginStorage() {
    if (instance_ != nullptr) library_->storage_table()->destroy(instance_);
}

void PluginStorage::create(const std::vector<std::pair<std::string, std::string>>& config) {
    abi::KvView kv(config);
    ErrorBuffer err;
    void* instance = nullptr;
    const og_storage_vtable* t = library_->storage_table();
    // ABI 1.4: the config's element size travels with it (og_kv may grow).
    og_status st = t->create_v2 != nullptr
                       ? t->create_v2(kv.data(), kv.size(), sizeof(og_kv), &instance, err.get())
                       : t->create(kv.data(), kv.size(), &instance, err.get());
    check_status(*library_, "create", st, err);
    if (instance == nullptr) fail_internal(*library_, "create", "returned ok without an instance");
    instance_ = instance;
}

int64_t PluginStorage::migrate() {
    ErrorBuffer err;
    int64_t version = -1;
    og_status st = library_->storage_table()->migrate(instance_, &version, err.get());
    check_status(*library_, "migrate", st, err);
    if (version < 0)
        fail_internal(*library_, "migrate",
                      "reported schema version " + std::to_string(version));
    return version;
}

void PluginStorage::ping() {
    ErrorBuffer err;
    og_status st = library_->storage_table()->ping(instance_, err.get());
    check_status(*library_, "ping", st, err);
}

std::vector<Status> PluginStorage::write_batch(const std::vector<WriteOp>& ops) {
    const char* fn = "write_batch";
    for (const WriteOp& op : ops) {
        // ABI 1.7's kinds go only to a plugin that declared 1.7 (the host checks
        // idempotency_get first; this keeps an older plugin from ever reading past its op).
        if ((op.kind == WriteKind::ClaimIdempotency ||
             op.kind == WriteKind::CompleteIdempotency) &&
            library_->info().abi_minor < 7)
            throw sdk::Error(Status::Internal,
                             library_->info().name +
                                 " write_batch: an idempotency op for a plugin of ABI 1." +
                                 std::to_string(library_->info().abi_minor) +
                                 " (it needs 1.7)");
    }
    abi::WriteBatchView view(ops);
    // A sentinel no plugin may leave behind: every op must get a result.
    std::vector<og_status> results(ops.size(), static_cast<og_status>(-1));
    ErrorBuffer err;
    // ABI 1.4: an array of pointers when the plugin takes one (each op read with its size, so
    // og_write_op may grow); a 1.0-1.3 plugin gets an array of ops of the ABI 1.0 size, the
    // stride it indexes with.
    const og_storage_vtable* t = library_->storage_table();
    og_status st = t->write_batch_v2 != nullptr
                       ? t->write_batch_v2(instance_, view.pointers(), view.size(),
                                           results.data(), err.get())
                       : t->write_batch(instance_, view.legacy_data(), view.size(),
                                        results.data(), err.get());
    check_status(*library_, fn, st, err);
    std::vector<Status> out;
    out.reserve(results.size());
    for (size_t i = 0; i < results.size(); ++i) {
        if (results[i] != OG_OK && results[i] != OG_CONFLICT)
            fail_internal(*library_, fn,
                          "op " + std::to_string(i) + " has result " + std::to_string(results[i]) +
                              " (only ok or conflict are allowed)");
        out.push_back(static_cast<Status>(results[i]));
    }
    return out;
}

std::optional<OrderRecord> PluginStorage::get_order(const std::string& order_id) {
    const char* fn = "get_order";
    StorageResults out;
    ErrorBuffer err;
    og_status st =
        library_->storage_table()->get_order(instance_, abi::view(order_id), out.sink(), err.get());
    auto r = single(*library_, fn, st, err, out, out.orders, &StorageResults::orders);
    if (r) must_match(*library_, fn, r->id, order_id, "id");
    return r;
}

std::optional<OrderRecord> PluginStorage::get_order_by_client_id(const std::string& account_id,
                                                                 const std::string& cid) {
    const char* fn = "get_order_by_client_id";
    StorageResults out;
    ErrorBuffer err;
    og_status st = library_->storage_table()->get_order_by_client_id(
        instance_, abi::view(account_id), abi::view(cid), out.sink(), err.get());
    auto r = single(*library_, fn, st, err, out, out.orders, &StorageResults::orders);
    if (r) {
        must_match(*library_, fn, r->client_order_id, cid, "client_order_id");
        if (!account_id.empty()) must_match(*library_, fn, r->account_id, account_id, "account_id");
    }
    return r;
}

std::optional<OrderRecord> PluginStorage::get_order_by_broker_id(
    const std::string& broker, const std::string& broker_order_id) {
    const char* fn = "get_order_by_broker_id";
    StorageResults out;
    ErrorBuffer err;
    og_status st = library_->storage_table()->get_order_by_broker_id(
        instance_, abi::view(broker), abi::view(broker_order_id), out.sink(), err.get());
    auto r = single(*library_, fn, st, err, out, out.orders, &StorageResults::orders);
    if (r) {
        must_match(*library_, fn, r->broker_order_id, broker_order_id, "broker_order_id");
        must_match(*library_, fn, r->broker, broker, "broker");
    }
    return r;
}

Page<OrderRecord> PluginStorage::list_orders(const OrderQuery& query) {
    const char* fn = "list_orders";
    abi::OrderQueryView q(query);
    StorageResults out;
    ErrorBuffer err;
    og_status st = library_->storage_table()->list_orders(instance_, q.get(), out.sink(), err.get());
    check_status(*library_, fn, st, err);
    out.check(*library_, fn, &StorageResults::orders);
    if (query.limit > 0 && out.orders.size() > query.limit)
        fail_internal(*library_, fn,
                      "returned " + std::to_string(out.orders.size()) + " rows for limit " +
                          std::to_string(query.limit));
    return Page<OrderRecord>{std::move(out.orders), std::move(out.cursor)};
}

std::vector<OrderEvent> PluginStorage::list_events(const std::string& order_id, int64_t after_seq,
                                                   uint32_t limit) {
    const char* fn = "list_events";
    StorageResults out;
    ErrorBuffer err;
    og_status st = library_->storage_table()->list_events(instance_, abi::view(order_id), after_seq,
                                                          limit, out.sink(), err.get());
    check_status(*library_, fn, st, err);
    out.check(*library_, fn, &StorageResults::events);
    for (const OrderEvent& e : out.events) must_match(*library_, fn, e.order_id, order_id, "order_id");
    return std::move(out.events);
}

Page<FillRecord> PluginStorage::list_fills(const FillQuery& query) {
    const char* fn = "list_fills";
    abi::FillQueryView q(query);
    StorageResults out;
    ErrorBuffer err;
    og_status st = library_->storage_table()->list_fills(instance_, q.get(), out.sink(), err.get());
    check_status(*library_, fn, st, err);
    out.check(*library_, fn, &StorageResults::fills);
    if (query.limit > 0 && out.fills.size() > query.limit)
        fail_internal(*library_, fn,
                      "returned " + std::to_string(out.fills.size()) + " rows for limit " +
                          std::to_string(query.limit));
    return Page<FillRecord>{std::move(out.fills), std::move(out.cursor)};
}

std::optional<GttRecord> PluginStorage::get_gtt(const std::string& gtt_id) {
    const char* fn = "get_gtt";
    StorageResults out;
    ErrorBuffer err;
    og_status st =
        library_->storage_table()->get_gtt(instance_, abi::view(gtt_id), out.sink(), err.get());
    auto r = single(*library_, fn, st, err, out, out.gtts, &StorageResults::gtts);
    if (r) must_match(*library_, fn, r->id, gtt_id, "id");
    return r;
}

Page<GttRecord> PluginStorage::list_gtts(const std::vector<std::string>& account_ids,
                                         bool active_only, const std::string& cursor,
                                         uint32_t limit) {
    const char* fn = "list_gtts";
    abi::StrArrayView accounts(account_ids);
    StorageResults out;
    ErrorBuffer err;
    og_status st = library_->storage_table()->list_gtts(
        instance_, accounts.data(), accounts.size(), active_only ? 1 : 0, abi::view(cursor), limit,
        out.sink(), err.get());
    check_status(*library_, fn, st, err);
    out.check(*library_, fn, &StorageResults::gtts);
    if (limit > 0 && out.gtts.size() > limit)
        fail_internal(*library_, fn,
                      "returned " + std::to_string(out.gtts.size()) + " rows for limit " +
                          std::to_string(limit));
    return Page<GttRecord>{std::move(out.gtts), std::move(out.cursor)};
}

Page<ReconRun> PluginStorage::list_recon_runs(const std::string& broker, const std::string& cursor,
                                              uint32_t limit) {
    const char* fn = "list_recon_runs";
    StorageResults out;
    ErrorBuffer err;
    og_status st = library_->storage_table()->list_recon_runs(
        instance_, abi::view(broker), abi::view(cursor), limit, out.sink(), err.get());
    check_status(*library_, fn, st, err);
    out.check(*library_, fn, &StorageResults::runs);
    if (limit > 0 && out.runs.size() > limit)
        fail_internal(*library_, fn,
                      "returned " + std::to_string(out.runs.size()) + " rows for limit " +
                          std::to_string(limit));
    return Page<ReconRun>{std::move(out.runs), std::move(out.cursor)};
}

// ---- ABI 1.2: idempotency records. A table without them (an older plugin, or a NULL slot) is
// Unsupported, which the host reads as "keep keys in memory". --------------------------------

std::optional<IdempotencyRecord> PluginStorage::idempotency_begin(const IdempotencyRecord& marker,
                                                                  int64_t now_ns) {
    const char* fn = "idempotency_begin";
    const og_storage_vtable* t = library_->storage_table();
    if (t->idempotency_begin == nullptr) detail::fail_missing(*library_, fn);
    const og_idempotency_record rec = abi::to_abi(marker);  // views into `marker`
    StorageResults out;
    ErrorBuffer err;
    og_status st = t->idempotency_begin(instance_, &rec, now_ns, out.sink(), err.get());
    if (st == OG_OK) {
        out.check(*library_, fn, &StorageResults::idempotency);
        if (!out.idempotency.empty())
            fail_internal(*library_, fn, "claimed the key and reported a record holding it");
        return std::nullopt;
    }
    if (st != OG_CONFLICT) check_status(*library_, fn, st, err);
    out.check(*library_, fn, &StorageResults::idempotency);
    if (out.idempotency.size() != 1)
        fail_internal(*library_, fn,
                      "answered conflict with " + std::to_string(out.idempotency.size()) +
                          " records where exactly one was due");
    must_match(*library_, fn, out.idempotency.front().key, marker.key, "key");
    return std::move(out.idempotency.front());
}

bool PluginStorage::idempotency_complete(const IdempotencyRecord& record, int64_t now_ns) {
    const char* fn = "idempotency_complete";
    const og_storage_vtable* t = library_->storage_table();
    if (t->idempotency_complete == nullptr) detail::fail_missing(*library_, fn);
    const og_idempotency_record rec = abi::to_abi(record);  // views into `record`
    ErrorBuffer err;
    og_status st = t->idempotency_complete(instance_, &rec, now_ns, err.get());
    if (st == OG_CONFLICT) return false;
    check_status(*library_, fn, st, err);
    return true;
}

void PluginStorage::idempotency_release(const std::string& key, const std::string& fingerprint,
                                        int64_t now_ns) {
    const char* fn = "idempotency_release";
    const og_storage_vtable* t = library_->storage_table();
    if (t->idempotency_release == nullptr) detail::fail_missing(*library_, fn);
    ErrorBuffer err;
    og_status st = t->idempotency_release(instance_, abi::view(key), abi::view(fingerprint),
                                          now_ns, err.get());
    check_status(*library_, fn, st, err);
}

uint64_t PluginStorage::idempotency_purge(int64_t now_ns, uint32_t limit) {
    const char* fn = "idempotency_purge";
    const og_storage_vtable* t = library_->storage_table();
    if (t->idempotency_purge == nullptr) detail::fail_missing(*library_, fn);
    ErrorBuffer err;
    uint64_t deleted = 0;
    og_status st = t->idempotency_purge(instance_, now_ns, limit, &deleted, err.get());
    check_status(*library_, fn, st, err);
    return deleted;
}

// ABI 1.7: the record holding a key, read without writing.
std::optional<IdempotencyRecord> PluginStorage::idempotency_get(const std::string& key,
                                                                int64_t now_ns) {
    const char* fn = "idempotency_get";
    const og_storage_vtable* t = library_->storage_table();
    if (library_->info().abi_minor < 7 || t->idempotency_get == nullptr)
        detail::fail_missing(*library_, fn);
    StorageResults out;
    ErrorBuffer err;
    og_status st = t->idempotency_get(instance_, abi::view(key), now_ns, out.sink(), err.get());
    auto r = single(*library_, fn, st, err, out, out.idempotency, &StorageResults::idempotency);
    if (r) must_match(*library_, fn, r->key, key, "key");
    return r;
}

// ---- ABI 1.3: leases. A table without them (an older plugin, or a NULL slot) is Unsupported,
// which the host reads as "this is the only instance". ------------------------------------------

bool PluginStorage::lease_acquire(const std::string& name, const std::string& holder,
                                  int64_t now_ns, int64_t ttl_ns) {
    const char* fn = "lease_acquire";
    const og_storage_vtable* t = library_->storage_table();
    if (t->lease_acquire == nullptr) detail::fail_missing(*library_, fn);
    ErrorBuffer err;
    int32_t held = -1;  // a sentinel the plugin must overwrite with 0 or 1
    og_status st = t->lease_acquire(instance_, abi::view(name), abi::view(holder), now_ns, ttl_ns,
                                    &held, err.get());
    check_status(*library_, fn, st, err);
    if (held != 0 && held != 1)
        fail_internal(*library_, fn,
                      "answered ok with held = " + std::to_string(held) + " (only 0 or 1)");
    return held == 1;
}

void PluginStorage::lease_release(const std::string& name, const std::string& holder) {
    const char* fn = "lease_release";
    const og_storage_vtable* t = library_->storage_table();
    if (t->lease_release == nullptr) detail::fail_missing(*library_, fn);
    ErrorBuffer err;
    og_status st = t->lease_release(instance_, abi::view(name), abi::view(holder), err.get());
    check_status(*library_, fn, st, err);
}

// ---- appended in ABI 1.4 (sdk14) ---------------------------------------------------------------

std::optional<OrderRecord> PluginStorage::get_order_by_request_id(const std::string& account_id,
                                                                  const std::string& request_id) {
    const char* fn = "get_order_by_request_id";
    const og_storage_vtable* t = library_->storage_table();
    if (t->get_order_by_request_id == nullptr) detail::fail_missing(*library_, fn);
    StorageResults out;
    ErrorBuffer err;
    og_status st = t->get_order_by_request_id(instance_, abi::view(account_id),
                                              abi::view(request_id), out.sink(), err.get());
    auto r = single(*library_, fn, st, err, out, out.orders, &StorageResults::orders);
    if (r && !account_id.empty())
        must_match(*library_, fn, r->account_id, account_id, "account_id");
    return r;
}

// ---- appended in ABI 1.4 (event log). A table without it (an older plugin, or a NULL slot) is
// Unsupported, which the host reads as "no event log". ------------------------------------------

AccountEventPage PluginStorage::list_account_events(const std::string& account_id,
                                                    int64_t after_seq, uint32_t limit) {
    const char* fn = "list_account_events";
    const og_storage_vtable* t = library_->storage_table();
    if (!OG_HAS_FIELD(t, og_storage_vtable, list_account_events) ||
        t->list_account_events == nullptr)
        detail::fail_missing(*library_, fn);
    StorageResults out;
    ErrorBuffer err;
    AccountEventPage page;
    og_status st = t->list_account_events(instance_, abi::view(account_id), after_seq, limit,
                                          out.sink(), &page.oldest_seq, &page.last_seq,
                                          err.get());
    check_status(*library_, fn, st, err);
    out.check(*library_, fn, &StorageResults::account_events);
    if (out.account_events.size() > limit)
        fail_internal(*library_, fn,
                      "returned " + std::to_string(out.account_events.size()) +
                          " entries for a limit of " + std::to_string(limit));
    int64_t prev = after_seq;
    for (const AccountEvent& e : out.account_events) {
        // The stream's exactness rests on this: refuse a plugin that breaks it.
        if (e.seq <= prev || e.account_id != account_id)
            fail_internal(*library_, fn, "returned entries out of seq order or of another account");
        prev = e.seq;
    }
    page.items = std::move(out.account_events);
    return page;
}

uint64_t PluginStorage::prune_account_events(int64_t before_ns, uint32_t limit) {
    const char* fn = "prune_account_events";
    const og_storage_vtable* t = library_->storage_table();
    if (!OG_HAS_FIELD(t, og_storage_vtable, prune_account_events) ||
        t->prune_account_events == nullptr)
        detail::fail_missing(*library_, fn);
    ErrorBuffer err;
    uint64_t deleted = 0;
    og_status st = t->prune_account_events(instance_, before_ns, limit, &deleted, err.get());
    check_status(*library_, fn, st, err);
    return deleted;
}

std::vector<AccountEvent> PluginStorage::wait_account_events(std::chrono::milliseconds timeout) {
    const char* fn = "wait_account_events";
    const og_storage_vtable* t = library_->storage_table();
    if (!OG_HAS_FIELD(t, og_storage_vtable, wait_account_events) ||
        t->wait_account_events == nullptr)
        detail::fail_missing(*library_, fn);
    StorageResults out;
    ErrorBuffer err;
    og_status st = t->wait_account_events(instance_, timeout.count(), out.sink(), err.get());
    check_status(*library_, fn, st, err);
    out.check(*library_, fn, &StorageResults::account_events);
    return std::move(out.account_events);
}

}  // namespace ordergate::plugin_loader
