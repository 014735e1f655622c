// ordergate::gtt::GttService — good-till-triggered orders: kept by the venue (native GTT, below)
// or emulated by the host.
//
// Owns: the active GTTs of the configured accounts (in memory, from storage), their armed legs
// (TriggerBook), and one evaluator thread. Reads prices from market_data::PriceCache, places
// orders through orders::OrderService, stores GTTs through the storage plugin.
//
// Exactly once, across crashes and instances:
//   1. a crossed leg is first claimed in storage: the row's version check lets one writer (one
//      instance) record "leg N fired" (the GTT shows TRIGGERED from then on) while the stored
//      status stays ACTIVE, so every instance's reload still lists it until its order exists;
//   2. the order is placed under a client order id derived from the GTT id and the leg, which
//      the store keeps unique per account: placing it again (after a crash between 1 and 3, or
//      from another instance) answers DUPLICATE_CLIENT_ORDER_ID naming the order already placed;
//   3. once the order is settled (no longer PENDING_NEW), its id is recorded and the stored
//      status becomes TRIGGERED.
// A GTT with a fired leg and no order yet is retried by the sweep (every instance) until 3. An
// order reconciliation rejects NOT_FOUND_AT_BROKER (its intent was stored, the request never
// left: a crash, a timeout before sending) was never placed: the leg is then placed under its next
// client order id (leg_client_order_id's attempt), which step 2 again makes happen once.
//
// Stale or missing prices never fire a trigger: a quote older than max_price_age is ignored, and
// a GTT is only created or modified against a current price.
//
// Native GTT (the account's broker instance declares OG_CAP_NATIVE_GTT, ABI 1.5): the venue
// watches its prices and places the leg's order; the host's evaluator never arms such a GTT.
//  - create stores the GTT first (ACTIVE, venue_state PLACING), then calls place_gtt with the
//    GTT's id (a retried place with the same id is the same GTT at the venue). Answered: the
//    venue's id is stored. Refused: REJECTED with the venue's reason. Not sent (unavailable,
//    timeout before sending): REJECTED "not sent" and 503. Outcome unknown: left PLACING; the
//    follow asks the venue (get_gtt) and places again only when the venue says it has none.
//  - modify / cancel call the venue, then store what it accepted; a refusal reads the venue's
//    state (it may have fired) and answers GTT_NOT_MODIFIABLE; an unknown outcome is settled by
//    asking the venue.
//  - the host follows the venue: pushed updates (on_gtt_update) and, with every reload and at
//    start, list_gtts of each native broker, so a change missed while the gateway was down is
//    stored too. A TRIGGERED GTT links the order the venue placed: stored once (adopted, with
//    gtt_id and emulated false) on the GTT's account under the leg's client order id, before
//    the venue's own report of it is applied.
//
// Threads: create/modify/cancel/get/list on request threads; on_quote on plugin threads (it only
// queues the price); the evaluator thread fires legs, expires GTTs and reloads from storage.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "gtt/gtt.hpp"
#include "gtt/trigger_book.hpp"
#include "market_data/price_cache.hpp"
#include "orders/order_service.hpp"
#include "ports/ports.hpp"

namespace ordergate::gtt {

struct GttOptions {
    // A price older than this neither fires a trigger nor arms a GTT.
    std::chrono::milliseconds max_price_age{std::chrono::seconds(60)};
    // How often active GTTs are re-read from storage (those another instance created, changed
    // or fired) and fired legs without an order are retried.
    std::chrono::milliseconds reload_interval{std::chrono::seconds(5)};
    // How often expiry is checked.
    std::chrono::milliseconds sweep_interval{std::chrono::seconds(1)};
    // Deadline of the native GTT calls per broker instance (its timeout_ms), else the default.
    std::map<std::string, std::chrono::milliseconds> venue_timeouts;
    std::chrono::milliseconds venue_timeout{std::chrono::seconds(5)};
};

class GttService {
  public:
    GttService(ports::StoragePort& storage, orders::OrderService& orders,
               std::map<std::string, ports::BrokerPort*> brokers, std::shared_ptr<Clock> clock,
               GttOptions options);
    ~GttService();
    GttService(const GttService&) = delete;
    GttService& operator=(const GttService&) = delete;

    // Loads the active GTTs of the configured accounts, arms them, registers for quotes and
    // starts the evaluator. Call after OrderService::recover, before brokers start pushing.
    // Throws sdk::Error when storage does not answer (the gateway does not start half-armed).
    void start();
    void stop();

    Result<Gtt> create(GttRequest request, const orders::AccountScope& scope,
                       const std::string& request_id);
    Result<Gtt> get(const std::string& id, const orders::AccountScope& scope);
    // Account ids: those asked for (each must be in scope), or every account of the scope.
    Result<Page<Gtt>> list(const std::vector<std::string>& account_ids,
                           const orders::AccountScope& scope, const std::string& cursor,
                           uint32_t limit);
    // Replaces the legs (and expiry) of an ACTIVE GTT; otherwise GTT_NOT_MODIFIABLE.
    Result<Gtt> modify(const std::string& id, GttRequest request,
                       const orders::AccountScope& scope);
    // ACTIVE → CANCELLED; a GTT already CANCELLED answers as it is; any other GTT_NOT_MODIFIABLE.
    Result<Gtt> cancel(const std::string& id, const orders::AccountScope& scope);

    // A quote from a broker (plugin thread): queued for the evaluator, newest per instrument.
    void on_quote(const Quote& quote);

    // ---- native GTT --------------------------------------------------------------------------
    // A native GTT's status pushed by the venue (plugin thread, synchronous: the order a
    // trigger placed is stored before the venue's report of it is applied). Ignored after stop.
    void on_gtt_update(const std::string& broker, const ::ordergate::GttReport& report);
    // Reads every native broker's GTTs (list_gtts) and stores what changed; settles places
    // whose outcome was unknown. Called at start and with each reload.
    void follow_venues();

    // Evaluates one price now, on the caller's thread (the evaluator does the same for each
    // queued quote). Returns how many legs fired. For tests and the bench.
    size_t evaluate(const std::string& symbol, const std::string& exchange, const Decimal& price,
                    int64_t at_ns);
    // One sweep now: expiry, retries of fired legs without an order, reload when due.
    void sweep(bool reload);

    size_t armed_legs() const;
    size_t active() const;

  private:
    // Checks a request and arms its legs against the current price: the account's broker and
    // that price, or the error to answer.
    struct Armed {
        std::string broker;
        Decimal last;
    };
    Result<Armed> validate(GttRequest& request, const orders::AccountScope& scope);
    std::optional<market_data::PriceCache::Last> current_price(const std::string& broker,
                                                               const std::string& symbol,
                                                               const std::string& exchange);
    Status write(const Gtt& g, int64_t expected_version);
    void remember(const Gtt& g);         // caller holds mutex_
    void forget(const std::string& id);  // caller holds mutex_
    void fire(const ArmedLeg& leg);
    void place_leg(Gtt g);
    std::optional<Gtt> reread(const std::string& id);
    void reload();
    void run();

    // Native GTT.
    ports::BrokerPort* port(const std::string& broker) const;
    bool native(const std::string& broker) const;
    std::chrono::milliseconds venue_timeout(const std::string& broker) const;
    ::ordergate::GttRequest venue_request(const Gtt& g) const;
    Result<Gtt> create_native(Gtt g, const std::string& request_id);
    // Stores a new GTT (version 1) and keeps it in memory; the error to answer otherwise.
    std::optional<Error> insert_new(const Gtt& g, const std::string& request_id);
    Result<Gtt> modify_native(const Gtt& current, Gtt next);
    Result<Gtt> cancel_native(const Gtt& current);
    // Stores what the venue says of one GTT. `pushed`: from the event sink (no call back into
    // the plugin; the venue's report of a triggered order follows).
    void apply_venue(const std::string& broker, const ::ordergate::GttReport& report, bool pushed);
    std::optional<std::string> link_order(const std::string& broker, const Gtt& g, size_t leg,
                                          const ::ordergate::GttReport& report, bool pushed);
    Result<Gtt> stored_now(const std::string& id, const orders::AccountScope& scope);

    ports::StoragePort& storage_;
    orders::OrderService& orders_;
    const std::map<std::string, ports::BrokerPort*> brokers_;
    std::shared_ptr<Clock> clock_;
    const GttOptions options_;

    mutable std::mutex mutex_;
    std::unordered_map<std::string, Gtt> active_;  // stored status ACTIVE, by id
    TriggerBook book_;

    std::mutex queue_mutex_;
    std::condition_variable queue_cv_;
    std::map<std::string, Quote> queued_;  // newest quote per instrument
    bool stopping_ = false;
    std::thread thread_;
    std::chrono::steady_clock::time_point next_reload_{};
    std::chrono::steady_clock::time_point next_sweep_{};
    // Serialises storing what venues say (pushes on plugin threads, follows on the evaluator).
    std::mutex follow_mutex_;
    std::atomic<bool> stopped_{false};
};

}  // namespace ordergate::gtt
