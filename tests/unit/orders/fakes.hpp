// Fakes of the ports for the unit tests of host/orders (OrderService, BatchWriter).
//
// FakeStorage is an in-memory ports::StoragePort that keeps the write_batch contract of
// plugin_abi.h per op: an insert conflicts on (account, client_order_id) or an existing id; an
// update lands only where the stored version == expected_version (conflict otherwise, or when the
// order is absent); a fill conflicts on (broker, broker_trade_id); an op flagged requires_previous
// is skipped (Conflict) when the op before it conflicted. A batch is one transaction: a failure
// scripted by a knob, or a refused op, throws before anything of the batch is applied.
//
// FakeBroker is a scripted ports::BrokerPort: each of place/modify/cancel runs a test-supplied
// function (which returns the OrderReport or throws sdk::Error) and is recorded.
//
// Threads: every member of both fakes is safe to call from any thread (one mutex each). The
// scripted functions of FakeBroker run outside its mutex, so they may read FakeStorage.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ports/ports.hpp"

namespace ordergate::orders::testing {

class FakeStorage : public ports::StoragePort {
  public:
    // ---- knobs ---------------------------------------------------------------------------------

    // The next `n` calls of write_batch throw sdk::Error(status) and write nothing.
    void fail_next_batches(int n, Status status) {
        std::lock_guard lock(mutex_);
        for (int i = 0; i < n; ++i) script_.push_back(status);
    }
    // Scripts the next calls of write_batch one by one: nullopt = behave normally.
    void script_batches(std::vector<std::optional<Status>> outcomes) {
        std::lock_guard lock(mutex_);
        for (auto& o : outcomes) script_.push_back(o);
    }
    // While down, every write and read throws sdk::Error(Unavailable).
    void set_down(bool down) {
        std::lock_guard lock(mutex_);
        down_ = down;
    }
    // While set, every call (reads, write_batch, ping) throws sdk::Error(*status), as a plugin
    // does that refuses a cursor (InvalidArgument) or fails otherwise; nullopt clears it.
    void fail_every_call(std::optional<Status> status) {
        std::lock_guard lock(mutex_);
        fail_all_ = status;
    }
    // The next `n` UPDATE_ORDER ops conflict (another writer got there first) and write nothing.
    void conflict_next_updates(int n) {
        std::lock_guard lock(mutex_);
        conflict_updates_ = n;
    }
    // A batch holding an op this predicate accepts is refused as a whole with
    // sdk::Error(Internal) (a statement the store rejects; the transaction rolls back).
    void refuse_ops(std::function<bool(const WriteOp&)> refuse) {
        std::lock_guard lock(mutex_);
        refuse_ = std::move(refuse);
    }
    // While held, write_batch blocks on entry (before any knob is looked at) until release().
    void hold() {
        std::lock_guard lock(mutex_);
        hold_ = true;
    }
    void release() {
        {
            std::lock_guard lock(mutex_);
            hold_ = false;
        }
        cv_.notify_all();
    }
    // Waits until a write_batch call is blocked by hold().
    void wait_until_held() {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [this] { return held_ > 0; });
    }

    // ---- what happened
    // ---------------------------------------------------------------------------

    // Calls of get_order_by_request_id so far.
    int request_id_reads() const {
        std::lock_guard lock(mutex_);
        return request_id_reads_;
    }
    int batch_calls() const {
        std::lock_guard lock(mutex_);
        return batch_calls_;
    }
    // Calls of list_fills so far.
    int fill_list_calls() const {
        std::lock_guard lock(mutex_);
        return fill_list_calls_;
    }
    int committed_batches() const {
        std::lock_guard lock(mutex_);
        return committed_batches_;
    }
    int committed_ops() const {
        std::lock_guard lock(mutex_);
        return committed_ops_;
    }
    // Sizes of the batches that committed, in commit order.
    std::vector<size_t> batch_sizes() const {
        std::lock_guard lock(mutex_);
        return batch_sizes_;
    }
    // One line per op that was applied (result Ok), in order: "insert:<cid>",
    // "update:<cid>:v<version>", "fill:<trade id>".
    std::vector<std::string> applied() const {
        std::lock_guard lock(mutex_);
        return applied_;
    }

    // ---- direct access for assertions and set-up (no knobs apply) -----------------------------

    std::optional<OrderRecord> stored_order(const std::string& id) const {
        std::lock_guard lock(mutex_);
        auto it = orders_.find(id);
        if (it == orders_.end()) return std::nullopt;
        return it->second;
    }
    std::optional<OrderRecord> stored_by_client_id(const std::string& account,
                                                   const std::string& cid) const {
        std::lock_guard lock(mutex_);
        for (const auto& [id, o] : orders_)
            if (o.account_id == account && o.client_order_id == cid) return o;
        return std::nullopt;
    }
    std::vector<OrderEvent> stored_events(const std::string& id) const {
        std::lock_guard lock(mutex_);
        auto it = events_.find(id);
        return it == events_.end() ? std::vector<OrderEvent>{} : it->second;
    }
    std::vector<FillRecord> stored_fills() const {
        std::lock_guard lock(mutex_);
        return fills_;
    }
    // Another writer changed the order: its stored version goes up by one (with an event).
    void bump_version(const std::string& id, const std::string& reason) {
        std::lock_guard lock(mutex_);
        auto& o = orders_.at(id);
        ++o.version;
        OrderEvent ev;
        ev.order_id = id;
        ev.seq = o.version;
        ev.from_status = o.status;
        ev.to_status = o.status;
        ev.source = EventSource::Reconciliation;
        ev.reason = reason;
        events_[id].push_back(ev);
    }

    // ---- ports::StoragePort ------------------------------------------------------------------

    int64_t migrate() override { return 1; }
    void ping() override {
        std::lock_guard lock(mutex_);
        check_up();
    }

    std::vector<Status> write_batch(const std::vector<WriteOp>& ops) override {
        std::unique_lock lock(mutex_);
        ++batch_calls_;
        if (hold_) {
            ++held_;
            cv_.notify_all();
            cv_.wait(lock, [this] { return !hold_; });
            --held_;
        }
        if (!script_.empty()) {
            std::optional<Status> s = script_.front();
            script_.pop_front();
            if (s) throw sdk::Error(*s, "scripted storage failure");
        }
        check_up();
        if (refuse_)
            for (const auto& op : ops)
                if (refuse_(op)) throw sdk::Error(Status::Internal, "statement refused");

        std::vector<Status> results;
        results.reserve(ops.size());
        for (size_t i = 0; i < ops.size(); ++i) {
            const WriteOp& op = ops[i];
            if (op.requires_previous && i > 0 && results[i - 1] != Status::Ok) {
                results.push_back(Status::Conflict);
                continue;
            }
            results.push_back(apply(op));
        }
        ++committed_batches_;
        committed_ops_ += static_cast<int>(ops.size());
        batch_sizes_.push_back(ops.size());
        return results;
    }

    std::optional<OrderRecord> get_order(const std::string& order_id) override {
        std::lock_guard lock(mutex_);
        check_up();
        auto it = orders_.find(order_id);
        if (it == orders_.end()) return std::nullopt;
        return it->second;
    }
    std::optional<OrderRecord> get_order_by_client_id(const std::string& account_id,
                                                      const std::string& cid) override {
        std::lock_guard lock(mutex_);
        check_up();
        for (const auto& [id, o] : orders_)
            if ((account_id.empty() || o.account_id == account_id) && o.client_order_id == cid)
                return o;
        return std::nullopt;
    }
    std::optional<OrderRecord> get_order_by_broker_id(const std::string& broker,
                                                      const std::string& boid) override {
        std::lock_guard lock(mutex_);
        check_up();
        for (const auto& [id, o] : orders_)
            if (o.broker == broker && o.broker_order_id == boid) return o;
        return std::nullopt;
    }
    // ABI 1.4: the order whose events carry `request_id`.
    std::optional<OrderRecord> get_order_by_request_id(const std::string& account_id,
                                                       const std::string& request_id) override {
        std::lock_guard lock(mutex_);
        ++request_id_reads_;
        check_up();
        for (const auto& [id, evs] : events_)
            for (const auto& ev : evs)
                if (ev.request_id == request_id) {
                    auto o = orders_.find(id);
                    if (o != orders_.end() &&
                        (account_id.empty() || o->second.account_id == account_id))
                        return o->second;
                }
        return std::nullopt;
    }
    // Ordered by id; no pagination (one page of at most `limit`).
    Page<OrderRecord> list_orders(const OrderQuery& q) override {
        std::lock_guard lock(mutex_);
        check_up();
        Page<OrderRecord> page;
        for (const auto& [id, o] : orders_) {
            if (!q.account_ids.empty() && std::find(q.account_ids.begin(), q.account_ids.end(),
                                                    o.account_id) == q.account_ids.end())
                continue;
            if (q.open_only && is_terminal(o.status)) continue;
            if (q.status && o.status != *q.status) continue;
            if (page.items.size() >= q.limit) break;
            page.items.push_back(o);
        }
        return page;
    }
    std::vector<OrderEvent> list_events(const std::string& order_id, int64_t after_seq,
                                        uint32_t limit) override {
        std::lock_guard lock(mutex_);
        check_up();
        std::vector<OrderEvent> out;
        auto it = events_.find(order_id);
        if (it == events_.end()) return out;
        for (const auto& ev : it->second)
            if (ev.seq > after_seq && out.size() < limit) out.push_back(ev);
        return out;
    }
    Page<FillRecord> list_fills(const FillQuery& q) override {
        std::lock_guard lock(mutex_);
        ++fill_list_calls_;
        check_up();
        Page<FillRecord> page;
        for (const auto& f : fills_) {
            if (!q.order_id.empty() && f.order_id != q.order_id) continue;
            if (!q.account_ids.empty() && std::find(q.account_ids.begin(), q.account_ids.end(),
                                                    f.account_id) == q.account_ids.end())
                continue;
            if (page.items.size() >= q.limit) break;
            page.items.push_back(f);
        }
        return page;
    }
    std::optional<GttRecord> get_gtt(const std::string& id) override {
        std::lock_guard lock(mutex_);
        if (down_) throw sdk::Error(Status::Unavailable, "storage down (scripted)");
        auto it = gtts_.find(id);
        if (it == gtts_.end()) return std::nullopt;
        return it->second;
    }
    // By id, after `cursor` (the last id of the previous page).
    Page<GttRecord> list_gtts(const std::vector<std::string>& accounts, bool active_only,
                              const std::string& cursor, uint32_t limit) override {
        std::lock_guard lock(mutex_);
        if (down_) throw sdk::Error(Status::Unavailable, "storage down (scripted)");
        Page<GttRecord> page;
        for (auto it = gtts_.upper_bound(cursor); it != gtts_.end(); ++it) {
            const GttRecord& g = it->second;
            if (!accounts.empty() &&
                std::find(accounts.begin(), accounts.end(), g.account_id) == accounts.end())
                continue;
            if (active_only && g.status != "ACTIVE") continue;
            if (page.items.size() >= limit) {
                page.next_cursor = page.items.back().id;
                break;
            }
            page.items.push_back(g);
        }
        return page;
    }
    std::optional<GttRecord> stored_gtt(const std::string& id) const {
        std::lock_guard lock(mutex_);
        auto it = gtts_.find(id);
        if (it == gtts_.end()) return std::nullopt;
        return it->second;
    }
    // Newest first, one page.
    Page<ReconRun> list_recon_runs(const std::string& broker, const std::string&,
                                   uint32_t limit) override {
        std::lock_guard lock(mutex_);
        check_up();
        Page<ReconRun> page;
        for (auto it = recon_runs_.rbegin(); it != recon_runs_.rend() && page.items.size() < limit;
             ++it)
            if (broker.empty() || it->broker == broker) page.items.push_back(*it);
        return page;
    }
    // Every stored run (last written state), oldest first.
    std::vector<ReconRun> stored_recon_runs() const {
        std::lock_guard lock(mutex_);
        return recon_runs_;
    }

    // The idempotency record write batches left for `key` (ABI 1.7), expired or not.
    std::optional<IdempotencyRecord> key_record(const std::string& key) const {
        std::lock_guard lock(mutex_);
        auto it = keys_.find(key);
        if (it == keys_.end()) return std::nullopt;
        return it->second;
    }

    // ABI 1.3 leases, in memory, with the contract's rules. A test plays another gateway by
    // calling lease_acquire itself.
    bool lease_acquire(const std::string& name, const std::string& holder, int64_t now_ns,
                       int64_t ttl_ns) override {
        std::lock_guard lock(mutex_);
        check_up();
        auto it = leases_.find(name);
        if (it != leases_.end() && it->second.first != holder && it->second.second > now_ns)
            return false;
        leases_[name] = {holder, now_ns + ttl_ns};
        return true;
    }
    void lease_release(const std::string& name, const std::string& holder) override {
        std::lock_guard lock(mutex_);
        check_up();
        auto it = leases_.find(name);
        if (it != leases_.end() && it->second.first == holder) leases_.erase(it);
    }

  private:
    void check_up() const {
        if (fail_all_) throw sdk::Error(*fail_all_, "scripted storage failure");
        if (down_) throw sdk::Error(Status::Unavailable, "storage is down");
    }

    // Caller holds mutex_.
    Status apply(const WriteOp& op) {
        switch (op.kind) {
            case WriteKind::InsertOrder: {
                const OrderRecord& o = op.order;
                if (orders_.count(o.id)) return Status::Conflict;
                for (const auto& [id, other] : orders_)
                    if (other.account_id == o.account_id &&
                        other.client_order_id == o.client_order_id)
                        return Status::Conflict;
                orders_[o.id] = o;
                events_[o.id].push_back(op.event);
                applied_.push_back("insert:" + o.client_order_id);
                return Status::Ok;
            }
            case WriteKind::UpdateOrder: {
                if (conflict_updates_ > 0) {
                    --conflict_updates_;
                    return Status::Conflict;
                }
                auto it = orders_.find(op.order.id);
                if (it == orders_.end() || it->second.version != op.expected_version)
                    return Status::Conflict;
                it->second = op.order;
                events_[op.order.id].push_back(op.event);
                applied_.push_back("update:" + op.order.client_order_id + ":v" +
                                   std::to_string(op.order.version));
                return Status::Ok;
            }
            case WriteKind::InsertFill: {
                for (const auto& f : fills_)
                    if (f.broker == op.fill.broker && f.broker_trade_id == op.fill.broker_trade_id)
                        return Status::Conflict;
                fills_.push_back(op.fill);
                applied_.push_back("fill:" + op.fill.broker_trade_id);
                return Status::Ok;
            }
            case WriteKind::UpsertGtt: {
                auto it = gtts_.find(op.gtt.id);
                if (op.expected_version == 0) {
                    if (it != gtts_.end()) return Status::Conflict;
                    gtts_[op.gtt.id] = op.gtt;
                } else {
                    if (it == gtts_.end() || it->second.version != op.expected_version)
                        return Status::Conflict;
                    it->second = op.gtt;
                }
                applied_.push_back("gtt:" + op.gtt.id + ":v" + std::to_string(op.gtt.version));
                return Status::Ok;
            }
            case WriteKind::UpsertReconRun: {
                auto it = std::find_if(recon_runs_.begin(), recon_runs_.end(),
                                       [&](const ReconRun& r) { return r.id == op.recon_run.id; });
                if (it == recon_runs_.end())
                    recon_runs_.push_back(op.recon_run);
                else
                    *it = op.recon_run;
                applied_.push_back("recon_run:" + op.recon_run.status);
                return Status::Ok;
            }
            case WriteKind::AppendEvent:
                break;  // this fake keeps no event log
            case WriteKind::ClaimIdempotency: {  // ABI 1.7, with the contract's rules
                auto it = keys_.find(op.idempotency.key);
                if (it != keys_.end() && it->second.expires_at_ns > op.now_ns)
                    return Status::Conflict;
                keys_[op.idempotency.key] = op.idempotency;
                return Status::Ok;
            }
            case WriteKind::CompleteIdempotency: {
                auto it = keys_.find(op.idempotency.key);
                if (it != keys_.end() && it->second.expires_at_ns > op.now_ns &&
                    (it->second.completed ||
                     it->second.fingerprint != op.idempotency.fingerprint))
                    return Status::Conflict;
                keys_[op.idempotency.key] = op.idempotency;
                return Status::Ok;
            }
        }
        return Status::Conflict;
    }

    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::map<std::string, OrderRecord> orders_;
    std::map<std::string, std::vector<OrderEvent>> events_;
    std::vector<FillRecord> fills_;
    std::map<std::string, GttRecord> gtts_;
    std::vector<ReconRun> recon_runs_;
    std::map<std::string, std::pair<std::string, int64_t>> leases_;  // name -> holder, expiry
    std::map<std::string, IdempotencyRecord> keys_;  // ABI 1.7 claims and answers in batches

    std::deque<std::optional<Status>> script_;
    bool down_ = false;
    std::optional<Status> fail_all_;
    int conflict_updates_ = 0;
    std::function<bool(const WriteOp&)> refuse_;
    bool hold_ = false;
    int held_ = 0;

    int batch_calls_ = 0;
    int fill_list_calls_ = 0;
    int request_id_reads_ = 0;
    int committed_batches_ = 0;
    int committed_ops_ = 0;
    std::vector<size_t> batch_sizes_;
    std::vector<std::string> applied_;
};

// A DAY LIMIT BUY of AAPL on XNAS for ACC1.
inline OrderRequest limit_buy(const std::string& cid, const char* qty = "5",
                              const char* price = "100.00") {
    OrderRequest r;
    r.client_order_id = cid;
    r.account_id = "ACC1";
    r.symbol = "AAPL";
    r.exchange = "XNAS";
    r.side = Side::Buy;
    r.order_type = OrderType::Limit;
    r.time_in_force = TimeInForce::Day;
    r.quantity = Decimal::must_parse(qty);
    r.price = Decimal::must_parse(price);
    return r;
}

// A fill of `o` at the venue (no fee).
inline Fill fill_of(const OrderRecord& o, const std::string& trade_id, const char* qty,
                    const char* price) {
    Fill f;
    f.broker_trade_id = trade_id;
    f.broker_order_id = o.broker_order_id;
    f.client_order_id = o.client_order_id;
    f.account_id = o.account_id;
    f.symbol = o.symbol;
    f.exchange = o.exchange;
    f.side = o.side;
    f.quantity = Decimal::must_parse(qty);
    f.price = Decimal::must_parse(price);
    f.fee = Decimal(0, 0);
    f.executed_at_ns = 1'700'000'000'000'000'000;
    return f;
}

// What a venue answers when it acknowledges an order: the request echoed, OPEN.
inline OrderReport ack_of(const OrderRequest& r, const std::string& broker_order_id) {
    OrderReport rep;
    rep.broker_order_id = broker_order_id;
    rep.client_order_id = r.client_order_id;
    rep.account_id = r.account_id;
    rep.symbol = r.symbol;
    rep.exchange = r.exchange;
    rep.side = r.side;
    rep.order_type = r.order_type;
    rep.time_in_force = r.time_in_force;
    rep.status = OrderStatus::Open;
    rep.quantity = r.quantity;
    rep.filled_quantity = Decimal(0, 0);
    rep.price = r.price;
    rep.trigger_price = r.trigger_price;
    return rep;
}

// A report of a stored order with another status (what a venue pushes).
inline OrderReport report_of(const OrderRecord& o, OrderStatus status) {
    OrderReport rep;
    rep.broker_order_id = o.broker_order_id;
    rep.client_order_id = o.client_order_id;
    rep.account_id = o.account_id;
    rep.symbol = o.symbol;
    rep.exchange = o.exchange;
    rep.side = o.side;
    rep.order_type = o.order_type;
    rep.time_in_force = o.time_in_force;
    rep.status = status;
    rep.quantity = o.quantity;
    rep.filled_quantity = o.filled_quantity;
    rep.price = o.price;
    rep.trigger_price = o.trigger_price;
    return rep;
}

class FakeBroker : public ports::BrokerPort {
  public:
    using PlaceFn = std::function<OrderReport(const OrderRequest&)>;
    using ModifyFn = std::function<OrderReport(const ModifyRequest&)>;
    // account, broker order id, client order id
    using CancelFn =
        std::function<OrderReport(const std::string&, const std::string&, const std::string&)>;

    struct CancelCall {
        std::string account_id;
        std::string broker_order_id;
        std::string client_order_id;
    };

    FakeBroker(std::string name, uint64_t capabilities)
        : name_(std::move(name)), capabilities_(capabilities) {
        // By default the venue acknowledges every order with broker id "B<n>" (n = 1, 2, …).
        on_place([this](const OrderRequest& r) {
            std::lock_guard lock(mutex_);
            return ack_of(r, "B" + std::to_string(places_.size()));
        });
    }

    // A function that throws what a failing venue call throws.
    [[noreturn]] static void fail(Status status, const std::string& message) {
        throw sdk::Error(status, message);
    }

    void set_capabilities(uint64_t caps) {
        std::lock_guard lock(mutex_);
        capabilities_ = caps;
    }
    void on_place(PlaceFn f) {
        std::lock_guard lock(mutex_);
        place_ = std::move(f);
    }
    void on_modify(ModifyFn f) {
        std::lock_guard lock(mutex_);
        modify_ = std::move(f);
    }
    void on_cancel(CancelFn f) {
        std::lock_guard lock(mutex_);
        cancel_ = std::move(f);
    }
    using SubscribeFn = std::function<void(const std::vector<Instrument>&)>;
    void on_subscribe(SubscribeFn f) {
        std::lock_guard lock(mutex_);
        subscribe_ = std::move(f);
    }

    std::vector<OrderRequest> places() const {
        std::lock_guard lock(mutex_);
        return places_;
    }
    std::vector<ModifyRequest> modifies() const {
        std::lock_guard lock(mutex_);
        return modifies_;
    }
    std::vector<CancelCall> cancels() const {
        std::lock_guard lock(mutex_);
        return cancels_;
    }

    // ---- ports::BrokerPort -------------------------------------------------------------------

    const std::string& instance_name() const override { return name_; }
    uint64_t capabilities() const override {
        std::lock_guard lock(mutex_);
        return capabilities_;
    }

    OrderReport place_order(const OrderRequest& request, std::chrono::milliseconds) override {
        PlaceFn f;
        {
            std::lock_guard lock(mutex_);
            places_.push_back(request);
            f = place_;
        }
        return f(request);
    }
    OrderReport modify_order(const ModifyRequest& request, std::chrono::milliseconds) override {
        ModifyFn f;
        {
            std::lock_guard lock(mutex_);
            modifies_.push_back(request);
            f = modify_;
        }
        if (!f) fail(Status::Unsupported, "modify not scripted");
        return f(request);
    }
    // ABI 1.4: the cancel with its request chain (recorded), then the scripted cancel.
    OrderReport cancel_request(const CancelRequest& request,
                               std::chrono::milliseconds timeout) override {
        {
            std::lock_guard lock(mutex_);
            cancel_requests_.push_back(request);
        }
        return cancel_order(request.account_id, request.broker_order_id, request.client_order_id,
                            timeout);
    }
    std::vector<CancelRequest> cancel_requests() const {
        std::lock_guard lock(mutex_);
        return cancel_requests_;
    }
    OrderReport cancel_order(const std::string& account_id, const std::string& broker_order_id,
                             const std::string& client_order_id,
                             std::chrono::milliseconds) override {
        CancelFn f;
        {
            std::lock_guard lock(mutex_);
            cancels_.push_back({account_id, broker_order_id, client_order_id});
            f = cancel_;
        }
        if (!f) fail(Status::Unsupported, "cancel not scripted");
        return f(account_id, broker_order_id, client_order_id);
    }
    OrderReport get_order(const std::string&, const std::string&, const std::string&) override {
        fail(Status::NotFound, "not scripted");
    }
    void subscribe_prices(const std::vector<Instrument>& instruments) override {
        SubscribeFn f;
        {
            std::lock_guard lock(mutex_);
            f = subscribe_;
        }
        if (!f) fail(Status::Unsupported, "subscribe not scripted");
        f(instruments);
    }

  private:
    const std::string name_;
    mutable std::mutex mutex_;
    uint64_t capabilities_;
    PlaceFn place_;
    ModifyFn modify_;
    CancelFn cancel_;
    SubscribeFn subscribe_;
    std::vector<OrderRequest> places_;
    std::vector<ModifyRequest> modifies_;
    std::vector<CancelCall> cancels_;
    std::vector<CancelRequest> cancel_requests_;
};

}  // namespace ordergate::orders::testing
