// ordergate::market_data::PriceCache — the last price of each instrument, and the price
// subscriptions that keep it current.
//
// Owns: the last price pushed for each instrument (symbol + exchange), and, per broker instance,
// the set of instruments that broker is asked to stream. A broker without
// OG_CAP_PRICE_SUBSCRIPTION is never asked; its set is still kept (it costs nothing and says
// what is of interest). Sets only grow while the process runs.
//
// Users: the order service (pre-trade reference prices; instruments of live orders and
// positions) and, later, GTT triggers. Neither owns the other: each asks this object.
//
// Threads: every function is thread-safe.
//   - on_quote() runs on plugin threads; it takes one short lock and never calls a broker.
//   - watch() and start_feeds() call BrokerPort::subscribe_prices, which may block up to the
//     plugin's deadline: call them from request or start-up threads, never from a plugin thread
//     (a plugin must not be called back from inside its own event). watch() sends outside its
//     lock, one thread per broker at a time, so a slow plugin holds that one caller only.
//   - last_price() and track() never call a broker.
//
// Errors: a failed subscription is logged (event=price_subscription_failed) and not thrown: the
// prices it would bring are an aid, not part of any order's outcome. The next instrument
// watched on that broker sends the whole set again.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ports/ports.hpp"

namespace ordergate::market_data {

class PriceCache {
public:
    // `brokers`: the broker instances by configured name (a null entry is skipped). The ports
    // must outlive this object.
    explicit PriceCache(std::map<std::string, ports::BrokerPort*> brokers);

    PriceCache(const PriceCache&) = delete;
    PriceCache& operator=(const PriceCache&) = delete;

    // Last price seen for an instrument; nullopt before its first quote.
    std::optional<Decimal> last_price(const std::string& symbol, const std::string& exchange) const;

    // The last price with when it was quoted (the quote's at_ns, or when it arrived when the
    // broker did not stamp it), so a user can tell a stale price from a current one.
    struct Last {
        Decimal price;
        int64_t at_ns = 0;
    };
    std::optional<Last> last_quote(const std::string& symbol, const std::string& exchange) const;

    // Records a quote a broker pushed (its `last`), then hands it to each listener. Plugin
    // threads: a listener must only copy and return (GTT queues it for its own thread).
    void on_quote(const Quote& quote);

    // Adds a listener of every quote recorded from now on. Call before brokers start.
    using Listener = std::function<void(const Quote&)>;
    void add_listener(Listener listener);

    // Adds an instrument to a broker's set without sending anything: start_feeds() sends it
    // (or, after that, the next watch() on the broker). For start-up, when the sets are rebuilt
    // from live orders and positions.
    void track(const std::string& broker, const std::string& symbol, const std::string& exchange);

    // Adds an instrument to a broker's set; once feeds are started and the instrument is new,
    // sends the broker its whole set (subscribe_prices replaces the previous one).
    void watch(const std::string& broker, const std::string& symbol, const std::string& exchange);

    // Subscribes each broker with OG_CAP_PRICE_SUBSCRIPTION to its set (call once brokers are
    // started); from then on watch() keeps the subscriptions up to date.
    void start_feeds();

private:
    const std::map<std::string, ports::BrokerPort*> brokers_;

    mutable std::shared_mutex prices_mutex_;
    std::unordered_map<std::string, Last> last_prices_;  // symbol \0 exchange
    std::vector<Listener> listeners_;  // set before brokers start, read-only after

    std::mutex watch_mutex_;
    std::map<std::string, std::set<std::pair<std::string, std::string>>> watched_;
    struct SubscriptionState {
        bool sending = false;  // a thread is sending the broker its set (outside watch_mutex_)
        bool dirty = false;    // the set changed since that thread took it
    };
    std::map<std::string, SubscriptionState> subscribing_;  // by broker
    bool feeds_started_ = false;
};

}  // namespace ordergate::market_data
