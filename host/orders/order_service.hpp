// ordergate::orders::OrderService — the order path and everything that changes an order.
//
// place / modify / cancel follow DESIGN.md "The order path": the intent is persisted (group
// commit through BatchWriter) before the broker is called; the broker's answer is applied through
// the one state machine; a timeout or lost answer leaves the order pending (202) for
// reconciliation, never resent. Order updates and fills pushed by broker plugins arrive through
// BrokerEvents, are de-duplicated by broker trade id, applied through the state machine, and
// update positions.
//
// Memory: orders not yet terminal are kept in a cache (the source of truth for the running
// process, written through to storage); terminal orders leave it once their last write is
// durable, and are then read from storage.
//
// Threads: every public function is thread-safe. Each order has its own mutex; changes to one
// order are serialised, their writes queued in version order. BrokerEvents callbacks run on
// plugin threads and may wait for a storage commit.
//
// Errors: results carry an ordergate::Error with a stable code; nothing here throws to the
// caller except on a bug (std::logic_error).
//
// Sources, by responsibility: order_service.cpp (construction, recover(), routing, the helpers
// the others share through order_service_internal.hpp), order_commands.cpp (place, modify,
// cancel: the calls to brokers), order_reports.cpp (order reports and connection state pushed by
// brokers), order_fills.cpp (fills and the positions they move), order_cache.cpp (the cache of
// live orders, and commit_change: every change's write), order_queries.cpp (reads). Last prices
// and price subscriptions are market_data::PriceCache's.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/recent_keys.hpp"
#include "market_data/price_cache.hpp"
#include "orders/batch_writer.hpp"
#include "orders/fill_math.hpp"
#include "ports/ports.hpp"

namespace ordergate::metrics {
class Metrics;
}
namespace ordergate::positions {
class PositionBook;
}
namespace ordergate::risk {
class RiskChecker;
}

namespace ordergate::orders {

// Which accounts a caller may see and touch.
struct AccountScope {
    bool all = false;
    std::vector<std::string> accounts;
    bool allows(const std::string& account) const;
};

// Who asked, for the audit trail.
struct Origin {
    std::string request_id;
    EventSource source = EventSource::Api;
    std::string note;  // added to the reason of the events this causes (how a match was made)
};

// A place's Idempotency-Key claim, written in the same transaction as its intent (storage of
// ABI 1.7; see idempotency::IdempotencyStore::peek) instead of in one of its own.
struct KeyClaim {
    IdempotencyRecord marker;  // the in-flight marker (completed false)
    int64_t now_ns = 0;        // the clock the marker was made at
    bool written = false;      // set by place(): the claim committed with the intent
    bool taken = false;        // set by place(): a live record held the key (nothing written)
};

struct PlaceResult {
    OrderRecord order;
    bool outcome_known = true;  // false: the broker's answer was lost (202, PENDING_NEW)
};

struct ChangeResult {
    OrderRecord order;
    bool outcome_known = true;  // false: 202 (PENDING_REPLACE / PENDING_CANCEL)
};

struct CancelAllResult {
    std::vector<std::string> cancelled;
    std::vector<std::pair<std::string, std::string>> failed;  // order id, code
    // Set when the broker's own list of open orders could not be read (not declared, or not
    // answered): then only the orders storage knows were cancelled.
    std::optional<Error> venue_error;
};

struct AccountRoute {
    std::string account_id;
    std::string broker;    // broker instance name
    std::string currency;  // from the configuration ("" when not set): shown when the broker
                           // reports no account state
};

struct ServiceOptions {
    std::chrono::milliseconds broker_timeout{5000};
    std::map<std::string, std::chrono::milliseconds> broker_timeouts;  // per broker instance
    int32_t average_price_scale = 9;  // max decimals of a computed average fill price
    // For a broker that keeps no queryable client order id (no OG_CAP_QUERY_BY_CLIENT_ID):
    // reconciliation may match a report without a known id to the one live PENDING_NEW order
    // of the same account, instrument, side and quantity created within this window of it
    // (flagged in the event). 0: off (such a report is adopted as an external order).
    std::chrono::seconds heuristic_match_window{0};
    // How long the writer holds written-behind writes (acks, fills) for the next waited-for
    // write under light load (BatchWriter's linger). Tests lengthen it to show who asks for a
    // commit; 0: every write commits at once.
    std::chrono::microseconds write_linger = BatchWriter::kDefaultLinger;
};

class OrderService : public ports::BrokerEvents {
  public:
    OrderService(ports::StoragePort& storage, std::map<std::string, ports::BrokerPort*> brokers,
                 std::vector<AccountRoute> accounts, risk::RiskChecker* risk,
                 positions::PositionBook* positions, metrics::Metrics* metrics,
                 std::shared_ptr<Clock> clock, ServiceOptions options);
    ~OrderService() override;

    // Loads live orders into memory, rebuilds positions from stored fills, and applies to a live
    // order every stored fill its row does not count yet (a fill is stored before it is applied,
    // so a crash or a lost row update between the two is settled here). Broker events that
    // arrive before recover() are held and applied after it, in order. Call once, before
    // serving. Throws on storage failure (start-up fails loudly).
    void recover();
    // The hashes (std::hash) of the ids of the fills recover() loaded; moved out (the event log's
    // follower needs them once).
    std::vector<uint64_t> take_recovered_fill_hashes() { return std::move(recovered_fill_hashes_); }
    // Waits until every queued write is durable.
    void flush();
    // Every later write gets the event log entries `journal` adds, in the same batch (see
    // BatchWriter::set_journal). Called once at start-up, before broker events flow.
    void set_journal(ChangeJournal* journal) { writer_.set_journal(journal); }
    // Writes another module's rows (GTTs) through this service's writer and waits: they share its
    // group commits and get their event log entries in the same batch. One status per op (Ok or
    // Conflict); throws sdk::Error when the batch failed.
    std::vector<Status> write(std::vector<WriteOp> ops) { return writer_.write(std::move(ops)); }

    // ---- the API's operations ---------------------------------------------------------------
    // `claim` (may be null): written ahead of the intent, in its transaction; when the key is
    // taken nothing is written and the answer is 409 IDEMPOTENCY_IN_FLIGHT.
    Result<PlaceResult> place(OrderRequest request, const AccountScope& scope,
                              const Origin& origin, KeyClaim* claim = nullptr);
    // `id` is "ord_…" or "client_order_id:<cid>" (the latter needs the account: it is looked up
    // in every account of the scope).
    Result<OrderRecord> get(const std::string& id, const AccountScope& scope);
    // Lists (and trades, events, cancel_all) see every change already answered to a client:
    // they flush the write-behind first (one lock when nothing answered is pending, else one
    // group commit).
    Result<Page<OrderRecord>> list(OrderQuery query, const AccountScope& scope);
    Result<std::vector<OrderEvent>> events(const std::string& id, const AccountScope& scope,
                                           int64_t after_seq, uint32_t limit);
    // `attempt` > 0: a retry after another gateway instance changed the order meanwhile.
    Result<ChangeResult> modify(const std::string& id, const ModifyRequest& change,
                                const AccountScope& scope, const Origin& origin, int attempt = 0);
    Result<ChangeResult> cancel(const std::string& id, const AccountScope& scope,
                                const Origin& origin);
    // Cancels every cancellable order of the account: in memory, and those only storage knows
    // (placed through another gateway instance).
    Result<CancelAllResult> cancel_all(const std::string& account_id, const AccountScope& scope,
                                       const Origin& origin);
    Result<Page<FillRecord>> trades(FillQuery query, const AccountScope& scope);
    Result<Account> account(const std::string& account_id, const AccountScope& scope);
    // The current price of an instrument at the account's broker (GET /api/v1/quote): the last
    // price the broker pushed when it is at most a second old, otherwise the broker's own quote
    // (OG_CAP_QUOTES); a broker without quotes gives the last pushed price, however old (its
    // at_ns says), or UNSUPPORTED_BY_BROKER when none came. `source` is "stream" or "broker".
    struct QuoteView {
        Quote quote;
        std::string broker;
        std::string source;
    };
    Result<QuoteView> quote(const std::string& account_id, const std::string& symbol,
                            const std::string& exchange, const AccountScope& scope);
    // Accounts of the scope that are configured, in configuration order.
    std::vector<AccountRoute> accounts(const AccountScope& scope) const;
    // The broker instance of an account, or "" when the account is not configured.
    std::string broker_of(const std::string& account_id) const;

    // Subscribes each broker with OG_CAP_PRICE_SUBSCRIPTION to the prices of every instrument
    // it has positions or live orders in (call once brokers are started); later orders add
    // their instruments as they come.
    void start_price_feeds();

    // The market-data module this service feeds (GTT reads prices and listens to quotes).
    market_data::PriceCache& prices() { return prices_; }
    // Last price seen for an instrument (quotes pushed by brokers).
    std::optional<Decimal> last_price(const std::string& symbol, const std::string& exchange) const;
    size_t open_orders() const;

    // ---- reconciliation (host/reconcile; events carry source `reconciliation`) --------------
    enum class Reconciled {
        Unchanged,    // storage already agreed
        Updated,      // the order took the venue's state (a missed transition)
        Identified,   // storage agreed on the state and terms; the venue's order id it lacked
                      // was stored (a refusal names none; its push may still be on its way)
        FillApplied,  // a fill storage lacked was stored and applied
        FillStored,   // a fill storage lacked was stored but not counted on an order (loud)
        Adopted,      // an order storage lacked was adopted as an external order
        Rejected,     // a PENDING_NEW order settled by the not-found policy
        Failed,       // storage or the state machine refused (logged); the next run tries again
    };
    struct ReconcileResult {
        Reconciled result = Reconciled::Unchanged;
        std::string order_id;
        std::string detail;           // what changed, for the run's report
        bool after_terminal = false;  // a fill applied to an order already done locally
    };
    // The broker's report of one of its orders. The stored order it names (client order id
    // first, broker order id second) takes the venue's state; a request pending since before
    // `settle_before_ns` is settled by it (the venue's state is its outcome). An order storage
    // lacks is adopted as an external order (first event source `reconciliation`).
    ReconcileResult reconcile_order(const std::string& broker, const OrderReport& report,
                                    int64_t settle_before_ns);
    // A fill from the broker's list that storage may lack: stored, then applied, as a pushed
    // fill is, with source `reconciliation`.
    ReconcileResult reconcile_fill(const std::string& broker, const Fill& fill);
    // Whether this host stored the broker's trade recently (the newest trades it stored are
    // remembered): a fill the reconciler found missing that has arrived meanwhile.
    bool recently_stored_trade(const std::string& broker, const std::string& trade_id);
    // Calls `visit` with each of the order's stored events, oldest first, until it returns false.
    // Throws sdk::Error when storage cannot be read.
    void each_event(const std::string& order_id,
                    const std::function<bool(const OrderEvent&)>& visit);
    // Whether the venue never acknowledged the order: PENDING_NEW, or PENDING_CANCEL with no
    // broker order id, nothing filled and no event that ever took it past PENDING_NEW (a cancel
    // asked while its place was unanswered, the outcome of both unknown). Read from the order's
    // events, so it holds after a restart. Throws sdk::Error when storage cannot be read.
    bool never_acknowledged(const OrderRecord& order);
    // Settles an order the venue never acknowledged (never_acknowledged) that the broker
    // provably does not have: REJECTED with reason NOT_FOUND_AT_BROKER; `policy` (the rule that
    // decided) goes into the event.
    ReconcileResult reject_not_found(const std::string& order_id, const std::string& policy);
    // ABI 1.5 native GTT: the order a venue placed for a GTT's leg, which this gateway never
    // sent. Stored on its account (which must be routed to `broker`) under the report's client
    // order id, with `extra_json` (gtt_id, emulated: false) and a first event of source `gtt`
    // saying `reason`; its later updates and fills then apply as to any order. An order already
    // stored under that client order id (adopted before, or by reconciliation) is answered as
    // it is. Returns the order's id; an error when the report is unusable or storage failed.
    Result<std::string> adopt_gtt_order(const std::string& broker, const OrderReport& report,
                                        const std::string& extra_json, const std::string& reason);
    // Clock time of the broker's last pushed order update or fill; 0 when none came yet.
    int64_t last_order_event_ns(const std::string& broker) const;
    // Live orders of one broker instance (in memory).
    size_t open_orders(const std::string& broker) const;
    // Until open_writes(broker), place and modify to the broker's accounts answer 503
    // BROKER_UNAVAILABLE (Retry-After, nothing sent): its start-up reconciliation runs first.
    // Cancels go through (always safe: reconciliation settles them like any other).
    void hold_writes(const std::string& broker);
    void open_writes(const std::string& broker);
    // Called (it must not block) with a broker that needs a reconciliation run now, and why:
    // "write_behind" (on the writer thread: storage missed a write behind an answer) or
    // "reconnect" (on a plugin thread: the broker reported its connection back after losing it;
    // what was in flight meanwhile is settled at once, not at the next periodic run). The
    // gateway asks the reconciler for a run.
    void set_reconcile_request(
        std::function<void(const std::string& broker, const std::string& trigger)> ask);

    // ---- ports::BrokerEvents (plugin threads) -----------------------------------------------
    void on_order_update(const std::string& broker, const OrderReport& report) override;
    void on_fill(const std::string& broker, const Fill& fill) override;
    void on_quote(const std::string& broker, const Quote& quote) override;
    void on_connection(const std::string& broker, bool connected,
                       const std::string& detail) override;
    bool broker_connected(const std::string& broker) const;
    // ABI 1.6: for a broker declaring OG_CAP_BATCHED_EVENTS, waits until the order updates and
    // fills it pushed before the call are stored and applied (Ok), or `timeout` passes
    // (Timeout); Unavailable once stopped. Ok at once for any other broker: its events are
    // applied before their call returns.
    Status sync_events(const std::string& broker, std::chrono::milliseconds timeout) override;
    // Applies what the batched brokers' queues hold, then stops their threads; events those
    // brokers push later are applied in their call. The gateway calls it after stopping the
    // brokers; the destructor calls it too.
    void stop_event_queues();

  private:
    struct Entry {
        std::mutex mutex;
        OrderRecord rec;
        // A fill of this order is stored but not counted in `rec` (it would have overfilled the
        // quantity known then, or broken the state machine): re-derived from storage when the
        // order's terms change, and at start-up.
        bool fills_pending = false;
        // A modify's answer was lost: the venue may hold other terms (a larger quantity) than
        // `rec` until a report or reconciliation says. Meanwhile fills reaching the known
        // quantity do not end the order.
        bool modify_unsettled = false;
        // The venue's time (OrderReport::updated_at_ns) of the newest report whose terms were
        // taken; 0 when none carried one. A pushed report older than it states terms the venue
        // has since changed (it crossed a call's answer on the other channel): not taken.
        int64_t terms_at_ns = 0;
        // Exact sum of price * quantity of the fills applied to rec (fill_math.hpp); rebuilt
        // from storage when it does not cover rec.filled_quantity (a loaded or refreshed rec).
        std::optional<FillNotional> notional;
        // ---- ABI 1.4: asynchronous outcomes and request chains (memory only; the chain's ids
        // are in the order's events, so storage finds the order by any of them) ----
        // Notified (under `mutex`) by commit_change: place/modify/cancel wait on it for an
        // acknowledgement the broker delivers through its event sink (Status::Pending).
        std::condition_variable changed;
        // The client request id of the modify or cancel in flight ("" when none) and the status
        // the order had before it (its last confirmed state, restored when the venue refuses).
        std::string pending_request_id;
        OrderStatus pending_previous = OrderStatus::Open;
        // The last id of the order's chain the venue accepted (FIX OrigClOrdID of the next
        // request); "" until known (then read from the order's events).
        std::string accepted_request_id;
        // Why the venue refused the latest request, set when its refusal arrives as an event.
        std::string refusal;
        // A place() of this order is in its broker call or waits for the acknowledgement: the
        // acknowledgement is then applied like a synchronous answer (memory at once, the write
        // behind), not held with a batched event's stash until its commit (see commit_change).
        bool place_waiting = false;
        // While place_waiting: the request id the place's first event names. The event that
        // takes the order out of PENDING_NEW names it too, whether the call's answer or a
        // pushed report of the venue reaches the order first.
        std::string place_request_id;
        // A place() of this order is inside its broker call: the call's own answer (or its
        // timeout) is on the way, so reconciliation leaves the order to it rather than apply the
        // venue's report first and count the transition as drift.
        bool place_in_call = false;
    };
    using EntryPtr = std::shared_ptr<Entry>;

    // ---- batched broker events (order_events.cpp) --------------------------------------------
    // A broker declaring OG_CAP_BATCHED_EVENTS has a queue: its sink calls only queue, and one
    // thread per queue applies what it takes, many events per storage commit. The thread locks
    // each order an event changes and keeps the lock in a Stash until settle() has seen the
    // commit: the change moves the order in memory at once (so the order's next event in the
    // batch builds on it), and nobody else can read or change the order before it is stored.
    // What must follow the commit (positions, the trade-id cache, dropping a finished order from
    // the cache) runs in settle(); a write that did not land as computed (a duplicate, another
    // writer's change, a store error) has the order re-read from storage and its stored fills
    // re-applied there.
    struct Stash {
        struct Item {
            EntryPtr entry;
            std::future<std::vector<Status>> written;
            // After the commit (results) or the write's failure (error), the order still locked
            // unless `released`. Returns false when memory is not what storage holds now (the
            // order is then re-read). released: the locks were let go while the store was slow
            // and every order of the stash is re-read: only the change's other effects remain.
            std::function<bool(const std::vector<Status>* results, const std::exception* error,
                               bool released)>
                finish;
        };
        std::vector<Item> items;
        std::vector<std::unique_lock<std::mutex>> locks;
        // Each stashed order as it was before its first stashed change.
        std::unordered_map<const Entry*, std::pair<EntryPtr, OrderRecord>> before;
        std::unordered_set<std::string> trades;  // broker \0 trade id of the stashed fills
        EntryPtr current;  // the entry lock_for_event locked last (commit_change stashes it)
        bool holds(const Entry* e) const { return before.count(e) != 0; }
    };
    // The order's lock for an event applied through `stash` (null: a plain lock). An order the
    // stash holds already is locked by this thread: the lock returned is then empty.
    std::unique_lock<std::mutex> lock_for_event(const EntryPtr& e, Stash* stash);
    // Queues `ops` (a change of `e`, computed under `lock` or under the stash's lock of it) in
    // the stash; the caller moves the order in memory right after. `finish` runs in settle().
    void stash_change(Stash& stash, const EntryPtr& e, std::unique_lock<std::mutex> lock,
                      std::vector<WriteOp> ops,
                      std::function<bool(const std::vector<Status>*, const std::exception*, bool)>
                          finish);
    // Waits for the stash's writes, runs each finish in order, re-reads the orders whose memory
    // is not storage's, lets the locks go. Past kStashWaitUnderLock the orders are put back as
    // they were and let go while the store answers (a store that hangs must not hold every
    // reader of those orders), then re-read from storage.
    void settle(Stash& stash);
    // An order whose stashed change did not land as computed: storage's row, and its stored
    // fills re-applied. Caller holds the order's lock.
    void reread_after_batch(Entry& e);
    class EventQueue;
    // Applies one taken batch of a queue (on its thread).
    void apply_batch(const std::string& broker,
                     std::vector<std::variant<OrderReport, Fill>>& batch);
    // By broker; fixed at construction (brokers declaring OG_CAP_BATCHED_EVENTS).
    std::map<std::string, std::unique_ptr<EventQueue>> event_queues_;

    // ---- routing (order_service.cpp) --------------------------------------------------------
    // The broker and its deadline for an account, or an error (NOT_FOUND for an unknown account).
    struct Route {
        ports::BrokerPort* broker = nullptr;
        std::string name;
        std::chrono::milliseconds timeout{0};
    };
    Result<Route> route(const std::string& account_id) const;
    Result<Route> route_of_order(const OrderRecord& rec) const;

    // ---- cache and changes (order_cache.cpp) ------------------------------------------------
    EntryPtr cached(const std::string& id) const;
    EntryPtr find_by_client_id(const std::string& account, const std::string& cid) const;
    EntryPtr find_by_broker_id(const std::string& broker, const std::string& broker_order_id) const;
    void remember(const EntryPtr& e);
    // Removes an order from the cache indexes. Caller holds cache_mutex_ exclusively. A terminal
    // order's (account, client order id) is remembered among the recently finished.
    void erase_locked(const OrderRecord& r);
    // The order with this (account, client order id) left the cache as terminal lately (the last
    // kFinishedRemembered such orders): a report naming it by that id cannot make it live again.
    bool recently_finished(const std::string& account, const std::string& cid) const;
    static constexpr size_t kFinishedRemembered = 16384;
    // Trade ids known stored, the newest first: a fill resent later is found by storage's unique
    // (broker, trade id) instead.
    static constexpr size_t kTradesRemembered = 65536;
    // Storage has this (broker, trade id): a later resend is a duplicate (fills_mutex_ taken).
    void remember_stored_trade(const std::string& broker, const std::string& trade_id);
    void index_broker_id(const std::string& broker, const std::string& broker_order_id,
                         const std::string& id);
    // Drops a terminal order from memory once its last write is durable. On the writer thread
    // (try_lock only); an entry in use is queued and evicted later by an API thread.
    void forget_if_terminal(const std::string& id, int64_t version);
    void evict_deferred();
    // Finds an order in the cache or storage. A live order read from storage is cached; a
    // terminal one is not (the cache holds live orders only, so it is bounded by them): the
    // caller gets an entry of its own. Null when absent. Throws sdk::Error when storage fails.
    EntryPtr load(const std::string& id);
    // The same for a record storage has just answered with (by client, broker or request id):
    // the cached entry when there is one (the cache is authoritative for live orders), else an
    // entry of `rec`, as fresh as reading it again by id, which it spares.
    EntryPtr entry_of(OrderRecord rec);
    EntryPtr load_for_report(const std::string& broker, const std::string& account,
                             const std::string& cid, const std::string& broker_order_id);
    Result<EntryPtr> resolve(const std::string& id, const AccountScope& scope);

    // Applies `next` (a copy of the entry's record with a new status and fields) as version+1,
    // with its event. Checks the state machine; `wait` chooses a synchronous write. Caller holds
    // the entry's mutex. Returns false (logged, counted) on an illegal transition or when a
    // synchronous write failed.
    // With `stash` and `lock` (the entry's, held by a batched event's thread), a waited change is
    // queued in the stash with the lock, and applied to memory when the stash settles; returns
    // true once queued.
    bool commit_change(Entry& e, OrderRecord next, OrderEvent event, bool wait,
                       std::string* error = nullptr, Stash* stash = nullptr,
                       std::unique_lock<std::mutex>* lock = nullptr);
    // What a waited change does once its write answered (commit_change, and a stash's finish).
    bool committed_change(Entry& e, OrderRecord next, const std::vector<Status>& results,
                          std::string* error);
    OrderEvent make_event(const OrderRecord& next, std::optional<OrderStatus> from,
                          EventSource source, const std::string& request_id, std::string reason,
                          bool emulated) const;

    // ---- requests to brokers (order_commands.cpp) -------------------------------------------
    Result<ChangeResult> request_cancel(const EntryPtr& entry, const Route& route,
                                        const Origin& origin, bool emulated, int attempt = 0);
    void record_broker_call(const std::string& broker, const char* op, Status status,
                            std::chrono::steady_clock::time_point t0) const;
    // One order call to a broker (place, modify, cancel): the plugin's error becomes a status and
    // message, and the call is timed and counted.
    struct BrokerAnswer {
        Status status = Status::Ok;
        std::string message;
        OrderReport report;
        int64_t retry_after_ms = 0;  // ABI 1.4: the wait a rate-limited broker asked for
    };
    template <typename Call>
    BrokerAnswer call_broker(const std::string& broker, const char* op, Call&& call) const;
    // Applies the broker's answer to a modify or cancel (`op`) that moved the order to
    // `pending`: Ok applies the report; a refusal or a call never sent reverts the order to
    // `previous` and fails (503 for not sent, `refusal(order, message)` for a refusal); an unknown
    // outcome leaves the order pending for reconciliation.
    // Status::Pending (ABI 1.4): the answer comes through the event sink; waits for it until
    // `deadline`, then answers 202 when it has not come.
    Result<ChangeResult> settle_change(
        const EntryPtr& entry, const std::string& broker, const BrokerAnswer& answer,
        const char* op, OrderStatus pending, OrderStatus previous, const Origin& origin,
        const std::function<Error(const OrderRecord&, const std::string&)>& refusal,
        std::chrono::steady_clock::time_point deadline, const std::string& request_id);
    // ABI 1.4 request chains: a new client request id for a modify or cancel of `e` (indexed so
    // a report naming it finds the order), and the last id of its chain the venue accepted.
    // Caller holds the entry's mutex.
    std::string new_request_id(Entry& e);
    std::string accepted_request_id(Entry& e);
    // The order whose chain holds `request_id` (memory, then storage), or null.
    EntryPtr find_by_request_id(const std::string& account, const std::string& request_id);
    // A modify or cancel the broker refused or never got: the order leaves `pending` for the
    // live status it had (or the one its fills imply). Caller holds the entry's mutex.
    void revert_pending(Entry& e, OrderStatus pending, OrderStatus previous, std::string why,
                        const Origin& origin);
    // place() calls these around its broker call (parked fills wait for the ack).
    void place_started(const std::string& broker);
    void place_finished(const std::string& broker);

    // ---- order reports (order_reports.cpp) --------------------------------------------------
    void handle_order_update(const std::string& broker, const OrderReport& report,
                             Stash* stash = nullptr);
    // Holds a broker event that arrived before recover(); true when held.
    bool hold_until_recovered(const std::string& broker, const OrderReport* report,
                              const Fill* fill);
    // Which request a report answers: None for a report the broker pushed; Settle for the
    // venue's state read by reconciliation after the grace period, which settles a pending
    // modify or cancel (the venue's terms and status are its outcome).
    enum class Answer { None, Place, Modify, Cancel, Settle };
    // Applies a broker's report of an order (ack, update) to the entry. Caller holds the mutex.
    // With `stash` (a batched event, entry locked by lock_for_event), the change's write is
    // queued in the stash instead of waited for (see commit_change).
    void apply_report(Entry& e, const std::string& broker, const OrderReport& report,
                      const Origin& origin, bool wait, Answer answer_to = Answer::None,
                      Stash* stash = nullptr, std::unique_lock<std::mutex>* lock = nullptr);

    // ---- fills (order_fills.cpp) ------------------------------------------------------------
    // What became of a fill.
    struct FillOutcome {
        enum class Kind {
            Applied,               // stored and counted on its order
            AppliedAfterTerminal,  // stored and counted on an order already done (flagged)
            StoredNotApplied,      // stored; its order left alone (it would overfill it)
            StoredUnmatched,       // stored without an order (none matches it)
            Duplicate,             // storage had it already
            Parked,                // waiting for a place() in flight to name its order
            StorageError,          // nothing stored (logged); the broker keeps it
            // ABI 1.5: a bust/correction whose trade (ref_trade_id) this host does not have
            // (or has busted already): nothing stored, logged, counted; reconciliation and an
            // operator settle it.
            RefNotFound,
            // A batched event's trade: its write is queued in a stash, and applied (as one of
            // the kinds above, logged and counted there) when the stash settles.
            Queued,
        };
        Kind kind = Kind::Applied;
        std::string order_id;
    };
    // Facts: stored first, then applied; memory is never ahead of storage. `source` goes into
    // the order's event (broker for a pushed fill, reconciliation for a listed one).
    // With `stash` (a batched event), a trade of a live order is queued in the stash; every
    // other fill settles the stash first and is applied as before.
    FillOutcome handle_fill(const std::string& broker, const Fill& fill,
                            EventSource source = EventSource::Broker, Stash* stash = nullptr);
    // Applies a fill to its order (entry locked here): the fill and the order's new row are
    // written in one transaction and waited for; only then memory and positions change. A fill
    // storage already has (same broker trade id) changes nothing.
    // ABI 1.5: a bust or correction of one of the order's trades (entry locked here). The
    // record is stored (de-duplicated by its own broker_trade_id) with the order's new row in one
    // transaction; the order's filled quantity and average price are derived again from its
    // effective fills (positions/effective_fills.hpp), its status by status_after_fill_change,
    // and the position of its instrument is rebuilt from that instrument's effective fills.
    FillOutcome apply_fill_change(const EntryPtr& e, const std::string& broker, const Fill& fill,
                                  EventSource source);
    // Rebuilds the position `fr` belongs to from storage's effective fills of its key.
    void rebuild_position(const std::string& broker, const FillRecord& fr);
    FillOutcome apply_fill(const EntryPtr& e, const std::string& broker, const Fill& fill,
                           EventSource source, Stash* stash = nullptr);
    // What a fill does once its write answered (`r`: InsertFill, then UpdateOrder when `next`).
    // `cur` is the order as the fill found it; stale: the order changed meanwhile (its lock was
    // let go while the store was slow), so the fill counts when the order is re-derived.
    FillOutcome fill_written(Entry& e, const std::string& broker, const FillRecord& fr,
                             const OrderRecord& cur, std::optional<OrderRecord> next,
                             FillNotional notional, const std::vector<Status>& r, bool stale);
    // A fill of an order that storage refused as one it has (its (broker, broker_trade_id) is
    // stored): a resend when the order's own stored fills have that trade, logged and counted as
    // a duplicate. Otherwise the venue gave another execution an id it had used already (it
    // broke the SDK's contract: trade ids unique per broker instance) and the fill could not be
    // stored: an error, counted as trade_id_taken, for a person to settle with the venue.
    void fill_refused(const std::string& broker, const FillRecord& fr, const std::string& what);
    // A fill that matches no order: parked while a place() to the same broker is in flight
    // (its ack may be what names the broker order id), stored as unmatched otherwise.
    FillOutcome fill_without_order(const std::string& broker, const Fill& fill);
    // Writes a fact (a fill and the rows it changes) and waits until it is durable. While the
    // store is unreachable the write stays queued and is retried (the caller, a plugin thread,
    // waits: back-pressure). Throws sdk::Error only when the writer stopped.
    std::vector<Status> write_fact(std::vector<WriteOp> ops);
    // The same write, its durability as a future (the caller may wait without its locks).
    // waited (the default): the caller is about to wait for it, so the writer does not hold it
    // back; false: a batched event's write, which may linger for the next waited-for write
    // (settle() asks for the commit at once only when a place waits for an order of the batch).
    std::future<std::vector<Status>> queue_fact(std::vector<WriteOp> ops, bool waited = true);
    // Re-derives a live order's filled quantity, average price and status from its stored fills
    // and writes it when it differs (after a lost row update). Caller holds the entry's mutex.
    // Returns whether the order now counts every stored fill.
    bool rederive_from_stored_fills(Entry& e, const char* why);
    // The sum of an order's stored fills (quantity, and quantity x price).
    struct FillSums {
        Decimal quantity{0, 0};
        FillNotional notional;
    };
    FillSums stored_fill_sums(const OrderRecord& order);
    FillRecord fill_record(const std::string& broker, const Fill& fill) const;
    void apply_position(const std::string& broker, const FillRecord& fr);

    // ---- reconciliation (order_reconcile.cpp) -----------------------------------------------
    ReconcileResult adopt_external(const std::string& broker, const OrderReport& report,
                                   const std::string& extra_json = R"({"external":true})",
                                   EventSource source = EventSource::Reconciliation,
                                   const std::string& reason = std::string());
    // The one live PENDING_NEW order without a broker order id that the report may be (see
    // ServiceOptions::heuristic_match_window), or null (none, or more than one: ambiguous).
    EntryPtr heuristic_match(const std::string& broker, const OrderReport& report,
                             std::string* why);
    void note_order_event(const std::string& broker);
    // Waits (up to `limit`) while the broker's writes are held; false when still held.
    bool wait_writes_open(const std::string& broker, std::chrono::milliseconds limit) const;

    int64_t now_ns() const { return clock_->now_ns(); }

    ports::StoragePort& storage_;
    std::map<std::string, ports::BrokerPort*> brokers_;
    std::vector<AccountRoute> accounts_;
    std::unordered_map<std::string, std::string> account_broker_;
    risk::RiskChecker* risk_;
    positions::PositionBook* positions_;
    metrics::Metrics* metrics_;
    std::shared_ptr<Clock> clock_;
    ServiceOptions options_;
    BatchWriter writer_;

    mutable std::shared_mutex cache_mutex_;
    std::unordered_map<std::string, EntryPtr> by_id_;
    std::unordered_map<std::string, std::string> by_client_id_;  // account \0 cid -> id
    std::unordered_map<std::string, std::string> by_broker_id_;  // broker \0 boid -> id
    // Recently finished orders (account \0 cid); the newest kFinishedRemembered.
    RecentKeys finished_{kFinishedRemembered};
    // ABI 1.4: account \0 client request id (of a modify or cancel) -> order id. Only ids this
    // process issued; storage's events answer for the others (after a restart).
    mutable std::mutex request_ids_mutex_;
    std::unordered_map<std::string, std::string> by_request_id_;

    std::mutex evict_mutex_;
    std::vector<std::pair<std::string, int64_t>> evict_later_;
    std::atomic<bool> evict_pending_{false};

    // Broker trade ids known to be stored (a cache of storage, never ahead of it; bounded).
    mutable std::mutex fills_mutex_;
    RecentKeys stored_trades_{kTradesRemembered};  // broker \0 trade id

    // Events held until recover() is done, in arrival order.
    std::mutex recovery_mutex_;
    bool recovered_ = false;
    std::vector<uint64_t> recovered_fill_hashes_;
    std::vector<std::pair<std::string, std::variant<OrderReport, Fill>>> held_events_;

    // Fills parked while a place() to their broker is in flight.
    std::mutex park_mutex_;
    std::unordered_map<std::string, int> places_in_flight_;  // broker -> count
    std::vector<std::pair<std::string, Fill>> parked_fills_;

    // Last prices and the brokers' price subscriptions (instruments of live orders and
    // positions).
    market_data::PriceCache prices_;

    mutable std::mutex connection_mutex_;
    std::unordered_map<std::string, bool> connected_;

    // Per broker: clock time of its last pushed order update or fill (the map is fixed at
    // construction; each value is written by plugin threads).
    std::map<std::string, std::unique_ptr<std::atomic<int64_t>>> last_order_event_;
    // Brokers whose writes wait for their start-up reconciliation.
    mutable std::mutex held_mutex_;
    mutable std::condition_variable held_cv_;
    std::set<std::string> held_brokers_;
    std::atomic<size_t> held_count_{0};  // held_brokers_.size(): the order path's lock-free check
    std::mutex reconcile_request_mutex_;
    std::function<void(const std::string&, const std::string&)> reconcile_request_;
};

}  // namespace ordergate::orders
