#include "market_data/price_cache.hpp"

#include <chrono>

#include <spdlog/spdlog.h>

#include <vector>

namespace ordergate::market_data {

namespace {

std::string instrument_key(const std::string& symbol, const std::string& exchange) {
    return symbol + '\0' + exchange;
}

}  // namespace

PriceCache::PriceCache(std::map<std::string, ports::BrokerPort*> brokers)
    : brokers_(std::move(brokers)) {}

std::optional<Decimal> PriceCache::last_price(const std::string& symbol,
                                              const std::string& exchange) const {
    std::shared_lock lock(prices_mutex_);
    auto it = last_prices_.find(instrument_key(symbol, exchange));
    if (it == last_prices_.end()) return std::nullopt;
    return it->second.price;
}

std::optional<PriceCache::Last> PriceCache::last_quote(const std::string& symbol,
                                                       const std::string& exchange) const {
    std::shared_lock lock(prices_mutex_);
    auto it = last_prices_.find(instrument_key(symbol, exchange));
    if (it == last_prices_.end()) return std::nullopt;
    return it->second;
}

void PriceCache::on_quote(const Quote& quote) {
    Last last{quote.last, quote.at_ns};
    if (last.at_ns == 0)
        last.at_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    {
        std::unique_lock lock(prices_mutex_);
        last_prices_[instrument_key(quote.symbol, quote.exchange)] = last;
    }
    if (listeners_.empty()) return;
    Quote stamped = quote;
    stamped.at_ns = last.at_ns;
    for (const auto& l : listeners_) l(stamped);
}

void PriceCache::add_listener(Listener listener) { listeners_.push_back(std::move(listener)); }

void PriceCache::track(const std::string& broker, const std::string& symbol,
                       const std::string& exchange) {
    std::lock_guard lock(watch_mutex_);
    watched_[broker].insert({symbol, exchange});
}

void PriceCache::start_feeds() {
    std::lock_guard lock(watch_mutex_);
    feeds_started_ = true;
    for (const auto& [name, broker] : brokers_) {
        if (!broker || !broker->has(OG_CAP_PRICE_SUBSCRIPTION)) continue;
        std::vector<Instrument> list;
        for (const auto& [sym, ex] : watched_[name]) list.push_back({sym, ex});
        if (list.empty()) continue;
        try {
            broker->subscribe_prices(list);
        } catch (const sdk::Error& e) {
            spdlog::warn("event=price_subscription_failed broker={} error=\"{}\"", name, e.what());
        }
    }
}

void PriceCache::watch(const std::string& broker, const std::string& symbol,
                       const std::string& exchange) {
    ports::BrokerPort* port = nullptr;
    {
        std::lock_guard lock(watch_mutex_);
        auto& set = watched_[broker];
        if (!set.insert({symbol, exchange}).second || !feeds_started_) return;
        auto b = brokers_.find(broker);
        if (b == brokers_.end() || !b->second || !b->second->has(OG_CAP_PRICE_SUBSCRIPTION)) return;
        port = b->second;
        // One request thread at a time sends a broker its subscription, outside the lock: a slow
        // or hung plugin then holds that one thread (until the deadline), never every order
        // waiting on the lock. The sender picks up what others add meanwhile.
        SubscriptionState& st = subscribing_[broker];
        st.dirty = true;
        if (st.sending) return;
        st.sending = true;
    }
    for (;;) {
        std::vector<Instrument> list;
        {
            std::lock_guard lock(watch_mutex_);
            SubscriptionState& st = subscribing_[broker];
            if (!st.dirty) {
                st.sending = false;
                return;
            }
            st.dirty = false;
            for (const auto& [sym, ex] : watched_[broker]) list.push_back({sym, ex});
        }
        try {
            port->subscribe_prices(list);  // the whole set: subscribe_prices replaces it
        } catch (const sdk::Error& e) {
            spdlog::warn("event=price_subscription_failed broker={} error=\"{}\"", broker,
                         e.what());
            std::lock_guard lock(watch_mutex_);
            subscribing_[broker].sending = false;  // the next new instrument sends the set again
            return;
        }
    }
}

}  // namespace ordergate::market_data
