#include "app/gateway.hpp"

#include <dlfcn.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <set>

#include "api/api.hpp"
#include "api/wire.hpp"
#include "auth/authenticator.hpp"
#include "auth/rate_limiter.hpp"
#include "gtt/gtt_codec.hpp"
#include "gtt/gtt_service.hpp"
#include "http/server.hpp"
#include "idempotency/memory_store.hpp"
#include "idempotency/redis_store.hpp"
#include "idempotency/storage_store.hpp"
#include "json/json.hpp"
#include "logging/log_format.hpp"
#include "metrics/metrics.hpp"
#include "ordergate/sdk_version.h"
#include "orders/order_service.hpp"
#include "plugin_loader/plugin_adapters.hpp"
#include "plugin_loader/plugin_loader.hpp"
#include "orders/fill_math.hpp"
#include "positions/effective_fills.hpp"
#include "positions/position_book.hpp"
#include "reconcile/reconciler.hpp"
#include "risk/risk_checker.hpp"
#include "stream/event_log.hpp"
#include "stream/stream_hub.hpp"

namespace ordergate::app {

namespace {

// Forwards broker events to the order service. Brokers are created (and started) before the
// service exists: what they push until then is kept, in order, and delivered when the service
// is set, so no fill or update is lost at start-up.
class EventRelay final : public ports::BrokerEvents {
  public:
    void set(ports::BrokerEvents* target) {
        std::lock_guard lock(mutex_);
        for (auto& deliver : pending_) deliver(target);
        pending_.clear();
        target_.store(target);
    }
    // After this nothing is delivered (shutdown: the service is going away).
    void detach() {
        std::lock_guard lock(mutex_);
        detached_ = true;
        target_.store(nullptr);
        gtt_.store(nullptr);
    }
    // Native GTT updates (ABI 1.5) go to the GTT service once it runs; before, they are dropped
    // (its start reads every native venue's GTTs, so nothing is lost). nullptr: from now on.
    void set_gtt(gtt::GttService* service) { gtt_.store(service); }
    void on_gtt_update(const std::string& b, const GttReport& r) override {
        if (auto* g = gtt_.load()) return g->on_gtt_update(b, r);
        spdlog::info("event=gtt_update_before_gtt_service broker={} gtt_id={} status={}", b,
                     r.gtt_id, to_string(r.status));
    }
    void on_order_update(const std::string& b, const OrderReport& r) override {
        forward([b, r](ports::BrokerEvents* t) { t->on_order_update(b, r); });
    }
    void on_fill(const std::string& b, const Fill& f) override {
        forward([b, f](ports::BrokerEvents* t) { t->on_fill(b, f); });
    }
    void on_quote(const std::string& b, const Quote& q) override {
        if (auto* t = target_.load()) return t->on_quote(b, q);  // quotes are not worth keeping
    }
    void on_connection(const std::string& b, bool c, const std::string& d) override {
        forward([b, c, d](ports::BrokerEvents* t) { t->on_connection(b, c, d); });
    }
    // Events kept here are not stored yet: the plugin asks again.
    Status sync_events(const std::string& b, std::chrono::milliseconds timeout) override {
        if (auto* t = target_.load()) return t->sync_events(b, timeout);
        std::lock_guard lock(mutex_);
        return detached_ ? Status::Unavailable : Status::Timeout;
    }

  private:
    void forward(std::function<void(ports::BrokerEvents*)> deliver) {
        if (auto* t = target_.load()) return deliver(t);
        std::unique_lock lock(mutex_);
        if (auto* t = target_.load()) {
            lock.unlock();
            return deliver(t);
        }
        if (detached_) return;
        pending_.push_back(std::move(deliver));
    }
    std::mutex mutex_;
    std::vector<std::function<void(ports::BrokerEvents*)>> pending_;
    std::atomic<ports::BrokerEvents*> target_{nullptr};
    std::atomic<gtt::GttService*> gtt_{nullptr};
    bool detached_ = false;
};

risk::RiskLimits to_limits(const config::RiskConfig& r) {
    risk::RiskLimits l;
    l.max_quantity = r.max_quantity;
    l.max_notional = r.max_notional;
    l.allowed_symbols = r.allowed_symbols;
    l.allowed_exchanges = r.allowed_exchanges;
    l.max_orders_per_second = r.max_orders_per_second;
    return l;
}

auth::AuthConfig to_auth(const config::AuthConfig& a) {
    auth::AuthConfig c;
    c.enabled = a.enabled;
    c.jwks_url = a.jwks_url;
    c.issuer = a.issuer;
    c.audience = a.audience;
    c.leeway = std::chrono::seconds(a.leeway_seconds);
    c.jwks_ttl = std::chrono::seconds(a.jwks_ttl_seconds);
    c.jwks_min_refetch_interval = std::chrono::seconds(a.jwks_min_refetch_seconds);
    c.accounts_claim = a.accounts_claim;
    c.hs256_secret = a.hs256_secret;
    for (const auto& k : a.api_keys)
        c.api_keys.push_back({k.sha256, k.subject, k.accounts, k.scopes});
    c.protect_health = a.protect_health;
    c.protect_metrics = a.protect_metrics;
    c.rate_per_second = a.rate_per_second;
    c.rate_burst = a.rate_burst;
    c.verified_token_cache_size = a.verified_token_cache_size;
    return c;
}

std::string plugin_json(const plugin_loader::PluginInfo& info,
                        const std::vector<std::string>& instances) {
    std::string s;
    json::Writer w(&s);
    w.begin_object()
        .field("name", info.name)
        .field("kind", plugin_loader::kind_name(info.kind))
        .field("version", info.version)
        .field("sdk_version", info.sdk_version)
        .field("abi", std::to_string(info.abi_major) + "." + std::to_string(info.abi_minor))
        .field("path", info.path)
        .key("capabilities")
        .begin_array();
    std::string caps = plugin_loader::capability_names(info.capabilities);
    size_t pos = 0;
    while (pos < caps.size()) {
        size_t end = caps.find_first_of(", |", pos);
        if (end == std::string::npos) end = caps.size();
        if (end > pos && caps.substr(pos, end - pos) != "none")
            w.string(caps.substr(pos, end - pos));
        pos = end + 1;
    }
    w.end_array().key("instances").begin_array();
    for (const auto& i : instances) w.string(i);
    w.end_array().end_object();
    return s;
}

std::atomic<bool> g_stop_requested{false};

// This gateway's name in storage leases: host, process and start time (unique across restarts).
std::string instance_name() {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "unknown");
    return std::string(host) + ":" + std::to_string(getpid()) + ":" +
           std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count());
}

}  // namespace

struct Gateway::Impl {
    config::Config cfg;
    std::string executable_dir;
    std::vector<std::string> plugin_dirs;
    metrics::Metrics metrics;
    EventRelay relay;
    std::map<std::string, std::shared_ptr<plugin_loader::PluginLibrary>> libraries;  // by path
    std::map<std::string, std::vector<std::string>> instances_of;  // path -> names
    std::shared_ptr<plugin_loader::PluginLibrary> storage_lib;
    std::unique_ptr<plugin_loader::PluginStorage> storage;
    std::map<std::string, std::unique_ptr<plugin_loader::PluginBroker>> brokers;
    std::unique_ptr<risk::RiskChecker> risk;
    std::unique_ptr<positions::PositionBook> positions;
    std::unique_ptr<idempotency::IdempotencyStore> idempotency;
    std::unique_ptr<auth::Authenticator> authenticator;
    std::unique_ptr<auth::RateLimiter> rate_limiter;
    std::unique_ptr<stream::EventLog> event_log;  // null: the storage keeps none (ABI < 1.4)
    std::string event_log_absent;                 // why, when null
    std::unique_ptr<stream::StreamHub> stream;    // with the event log
    std::unique_ptr<orders::OrderService> orders;
    std::unique_ptr<reconcile::Reconciler> reconciler;
    std::unique_ptr<gtt::GttService> gtt;
    std::unique_ptr<api::Api> api;
    std::unique_ptr<http::Server> server;
    bool started = false;
    bool stopped = false;

    std::shared_ptr<plugin_loader::PluginLibrary> library(const std::string& plugin, og_kind kind) {
        std::string path = plugin_loader::resolve_plugin(plugin, plugin_dirs);
        auto it = libraries.find(path);
        if (it != libraries.end()) {
            if (it->second->info().kind != kind)
                throw plugin_loader::LoadError("plugin " + path + ": is a " +
                                               plugin_loader::kind_name(it->second->info().kind) +
                                               " plugin, expected " +
                                               plugin_loader::kind_name(kind));
            return it->second;
        }
        plugin_loader::HostServicesConfig services;
        auto lib = plugin_loader::load_plugin(path, kind, services);
        libraries[path] = lib;  // the loader logs what it loaded
        return lib;
    }

    std::vector<api::ReadinessCheck> readiness() {
        std::vector<api::ReadinessCheck> out;
        {
            api::ReadinessCheck c{"storage", true, ""};
            try {
                storage->ping();
            } catch (const sdk::Error& e) {
                c.ok = false;
                c.detail = "storage does not answer";
                spdlog::warn("event=readiness component=storage status=down error=\"{}\"",
                             e.what());
            }
            out.push_back(c);
        }
        if (cfg.idempotency.backend == "redis") {
            api::ReadinessCheck c{"idempotency", idempotency->ping(), ""};
            if (!c.ok) c.detail = "redis does not answer";
            // Not required: the gateway keeps placing orders on the client_order_id backstop.
            if (!c.ok && !cfg.idempotency.redis_required) c.detail += " (not required)";
            if (!cfg.idempotency.redis_required) c.ok = true;
            out.push_back(c);
        }
        if (reconciler) {
            // Writes to a broker wait for its start-up reconciliation.
            api::ReadinessCheck c{"reconciliation", true, ""};
            for (const auto& name : reconciler->startup_pending()) {
                c.ok = false;
                c.detail += (c.detail.empty() ? "start-up run in progress: " : ", ") + name;
            }
            out.push_back(c);
        }
        for (const auto& [name, b] : brokers) {
            api::ReadinessCheck c{"broker:" + name, orders->broker_connected(name), ""};
            if (!c.ok) c.detail = "broker disconnected";
            // A plugin holding calls past their deadline is hung, connected or not: its orders
            // end 202 (or 503 once every call thread is stuck) until it answers again.
            plugin_loader::CallPool::Stats calls = b->call_stats();
            if (calls.stuck > 0) {
                c.ok = false;
                c.detail += (c.detail.empty() ? "" : "; ") + std::to_string(calls.stuck) + " of " +
                            std::to_string(b->call_limits().max_concurrent_calls) +
                            " calls stuck past their deadline";
            }
            out.push_back(c);
        }
        return out;
    }
};

Gateway::Gateway(config::Config cfg, std::string executable_dir) : impl_(std::make_unique<Impl>()) {
    impl_->cfg = std::move(cfg);
    impl_->executable_dir = std::move(executable_dir);
}

Gateway::~Gateway() { stop(); }

uint16_t Gateway::port() const { return impl_->server ? impl_->server->port() : 0; }

void Gateway::start() {
    Impl& g = *impl_;
    const config::Config& cfg = g.cfg;
    // Plugin directories: as configured (relative to the working directory), then next to the
    // binary (build/bin/../plugins, /usr/lib/ordergate/bin/../plugins).
    g.plugin_dirs = cfg.plugin_dirs;
    if (!g.executable_dir.empty()) {
        g.plugin_dirs.push_back(g.executable_dir + "/../plugins");
        g.plugin_dirs.push_back(g.executable_dir + "/../lib/ordergate/plugins");
    }

    // Storage.
    g.storage_lib = g.library(cfg.storage.plugin, OG_KIND_STORAGE);
    g.instances_of[g.storage_lib->info().path].push_back("storage");
    g.storage = g.storage_lib->create_storage(cfg.storage.settings);
    int64_t schema = g.storage->migrate();
    spdlog::info("event=storage_ready plugin={} schema_version={}", g.storage_lib->info().name,
                 schema);

    // Brokers.
    std::map<std::string, ports::BrokerPort*> broker_ptrs;
    orders::ServiceOptions options;
    for (const auto& b : cfg.brokers) {
        auto lib = g.library(b.plugin, OG_KIND_BROKER);
        g.instances_of[lib->info().path].push_back(b.name);
        plugin_loader::BrokerCallLimits limits;
        limits.max_concurrent_calls = static_cast<size_t>(b.max_concurrent_calls);
        limits.inline_calls = b.inline_calls;
        limits.query_timeout = std::chrono::milliseconds(b.query_deadline_ms());
        // A call still in the plugin after this long past the plugin's stop() is left to run
        // (see PluginBroker): shutdown does not wait on a hung plugin for longer.
        limits.stop_grace = std::chrono::milliseconds(b.timeout_ms);
        metrics::Metrics* m = &g.metrics;  // lives as long as the gateway, longer than brokers
        limits.observer.deadline_passed = [m, name = b.name](std::string_view op, size_t stuck) {
            m->broker_call_timed_out(name, op);
            m->set_broker_calls_stuck(name, stuck);
        };
        limits.observer.returned_late =
            [m, name = b.name](std::string_view, std::chrono::steady_clock::duration,
                               size_t stuck) { m->set_broker_calls_stuck(name, stuck); };
        // Started once the order service has recovered (below): a venue that resends reports
        // at logon (FIX) hands them to a service that stores them before it acknowledges them,
        // never to a buffer in memory a kill would lose.
        auto inst = lib->create_broker(b.name, b.settings, &g.relay, limits, /*start=*/false);
        broker_ptrs[b.name] = inst.get();
        options.broker_timeouts[b.name] = std::chrono::milliseconds(b.timeout_ms);
        options.heuristic_match_window =
            std::chrono::seconds(cfg.reconciliation.heuristic_match_seconds);
        g.brokers[b.name] = std::move(inst);
    }

    // Domain.
    std::map<std::string, risk::RiskLimits> per_account;
    std::vector<orders::AccountRoute> routes;
    for (const auto& a : cfg.accounts) {
        if (a.risk) per_account[a.id] = to_limits(*a.risk);
        routes.push_back({a.id, a.broker, a.currency});
    }
    g.risk = std::make_unique<risk::RiskChecker>(to_limits(cfg.risk), per_account, system_clock());
    g.positions = std::make_unique<positions::PositionBook>();
    g.orders = std::make_unique<orders::OrderService>(*g.storage, broker_ptrs, routes, g.risk.get(),
                                                      g.positions.get(), &g.metrics, system_clock(),
                                                      options);
    // Each account's last event log seq, read before the positions are loaded: the follower
    // applies the fills other instances commit after it (the log's "trades" entries).
    std::string no_log;
    const bool log_supported = stream::EventLog::supported(*g.storage, &no_log);
    std::map<std::string, int64_t> log_cursors;
    if (log_supported)
        for (const auto& a : cfg.accounts)
            log_cursors[a.id] = g.storage->list_account_events(a.id, 0, 0).last_seq;
    // Recover first: positions are rebuilt from stored fills, then the events the brokers pushed
    // meanwhile (kept by the relay) are applied on top, once.
    g.orders->recover();
    // The event log is attached before broker events flow: every fill from here on gets its
    // entries, and the log's positions start from the recovered ones.
    if (log_supported) {
        stream::Renderers r;
        r.order = [](const OrderRecord& o) { return api::order_json(o); };
        r.fill = [](const FillRecord& f) {
            std::string s;
            json::Writer w(&s);
            api::write_fill(w, f);
            return s;
        };
        r.position = [](const positions::PositionView& p) {
            std::string s;
            json::Writer w(&s);
            api::write_position(w, p);
            return s;
        };
        r.gtt = [](const GttRecord& rec) {
            std::string s;
            json::Writer w(&s);
            api::write_gtt(w, gtt::from_record(rec));  // written by the host: readable
            return s;
        };
        stream::EventLogOptions lo;
        lo.retention = std::chrono::hours(cfg.stream.retention_hours);
        g.event_log =
            std::make_unique<stream::EventLog>(*g.storage, std::move(r), system_clock(), lo);
        g.event_log->seed_positions(*g.positions);
        positions::PositionBook* book = g.positions.get();
        std::vector<uint64_t> recovered_fills = g.orders->take_recovered_fill_hashes();
        orders::OrderService* svc = g.orders.get();
        g.event_log->set_price_source(
            [svc](const std::string& symbol, const std::string& exchange) {
                return svc->last_price(symbol, exchange);
            });
        const bool shared_log = stream::EventLog::others_may_write(*g.storage);
        if (!shared_log) {
            // SQLite: this host is the store's one writer; reading its own entries back would
            // only cost (every entry of every order, once a second).
            spdlog::info(
                "event=position_follow status=off detail=\"the store has one writer "
                "host; this host's fills are all there is\"");
        } else {
            g.event_log->follow(
                std::move(log_cursors), std::move(recovered_fills),
                [book, storage = g.storage.get()](const FillRecord& f) {
                    const positions::PositionKey key{f.account_id, f.broker, f.symbol, f.exchange};
                    if (f.kind == FillKind::Trade) {
                        book->apply_fill(key, f.side, f.quantity, f.price, f.fee, f.executed_at_ns);
                        return;
                    }
                    // A bust/correction committed by another instance: this book's position of its
                    // key again from storage's effective fills (the record is committed).
                    book->rebuild(
                        key,
                        positions::effective_fills(orders::stored_fills_of_position(*storage, key)),
                        f.executed_at_ns);
                },
                std::chrono::milliseconds(1000));
        }
        g.orders->set_journal(g.event_log.get());
        g.event_log->start_retention();
        if (cfg.stream.position_pnl_seconds > 0) {
            stream::EventLog::Marks marks;
            marks.every = std::chrono::seconds(cfg.stream.position_pnl_seconds);
            marks.write = [svc](std::vector<WriteOp> ops) { return svc->write(std::move(ops)); };
            if (shared_log) {
                // One gateway of those sharing the store writes them: the lease's holder.
                const int64_t ttl_ns =
                    3 * std::chrono::duration_cast<std::chrono::nanoseconds>(marks.every).count();
                marks.may_mark = [storage = g.storage.get(), holder = instance_name(), ttl_ns] {
                    try {
                        return storage->lease_acquire("position-marks", holder,
                                                      system_clock()->now_ns(), ttl_ns);
                    } catch (const sdk::Error& e) {
                        if (e.status() == Status::Unsupported) return true;  // one gateway
                        throw;
                    }
                };
            }
            g.event_log->start_marks(std::move(marks));
        }
        spdlog::info("event=event_log status=on retention_hours={}", cfg.stream.retention_hours);
    } else {
        g.event_log_absent = "the storage plugin " + g.storage_lib->info().name + " (ABI " +
                             std::to_string(g.storage_lib->info().abi_major) + "." +
                             std::to_string(g.storage_lib->info().abi_minor) +
                             ") keeps no event log; it needs ABI 1.4";
        spdlog::warn(
            "event=event_log status=off detail=\"{}; /api/v1/events and /api/v1/stream "
            "answer 501\"",
            g.event_log_absent);
    }
    g.relay.set(g.orders.get());
    for (auto& [name, broker] : g.brokers) broker->start();  // throws as create did

    // Idempotency.
    if (cfg.idempotency.backend == "redis") {
        idempotency::RedisConfig rc;
        std::string why;
        if (!idempotency::parse_redis_url(cfg.idempotency.redis_url, &rc, &why))
            throw std::runtime_error("idempotency.redis_url: " + why);
        rc.ttl.completed = std::chrono::seconds(cfg.idempotency.ttl_seconds);
        rc.ttl.in_flight = std::chrono::seconds(cfg.idempotency.in_flight_seconds);
        g.idempotency = std::make_unique<idempotency::RedisStore>(rc);
        bool up = g.idempotency->ping();
        spdlog::info("event=idempotency_store backend=redis target=\"{}\" required={} up={}",
                     idempotency::describe(rc), cfg.idempotency.redis_required, up);
    } else {
        bool in_storage = false;
        if (cfg.idempotency.backend == "storage") {
            in_storage = idempotency::StorageStore::supported(*g.storage, *system_clock());
            if (!in_storage)
                // Falling back keeps an older plugin usable; the cost is said loudly, once.
                spdlog::error(
                    "event=idempotency_store backend=storage fallback=memory plugin={} abi={}.{} "
                    "detail=\"the storage plugin keeps no idempotency records (ABI 1.2): keys "
                    "live in this process only and a retry after a restart is caught only by "
                    "the client order id; update the plugin, or set idempotency.backend to "
                    "redis, or to memory to accept this\"",
                    g.storage_lib->info().name, g.storage_lib->info().abi_major,
                    g.storage_lib->info().abi_minor);
        }
        if (in_storage) {
            idempotency::StorageStoreOptions so;
            so.ttl.completed = std::chrono::seconds(cfg.idempotency.ttl_seconds);
            so.ttl.in_flight = std::chrono::seconds(cfg.idempotency.in_flight_seconds);
            orders::OrderService* service = g.orders.get();
            so.batch_write = [service](std::vector<WriteOp> ops) {
                return service->write(std::move(ops));
            };
            auto store = std::make_unique<idempotency::StorageStore>(*g.storage, so);
            // folded: a place's key is claimed in its intent's transaction and answers are
            // stored in the orders' group commits (ABI 1.7); otherwise a transaction per call.
            spdlog::info("event=idempotency_store backend=storage plugin={} ttl_s={} folded={}",
                         g.storage_lib->info().name, cfg.idempotency.ttl_seconds,
                         store->folds_claims());
            g.idempotency = std::move(store);
        } else {
            idempotency::MemoryStoreOptions mo;
            mo.ttl.completed = std::chrono::seconds(cfg.idempotency.ttl_seconds);
            mo.ttl.in_flight = std::chrono::seconds(cfg.idempotency.in_flight_seconds);
            mo.max_entries = static_cast<size_t>(cfg.idempotency.memory_max_keys);
            g.idempotency = std::make_unique<idempotency::MemoryStore>(mo);
            spdlog::info("event=idempotency_store backend=memory ttl_s={} max_keys={}",
                         cfg.idempotency.ttl_seconds, cfg.idempotency.memory_max_keys);
        }
    }

    // Auth.
    if (cfg.auth.enabled) {
        g.authenticator = std::make_unique<auth::Authenticator>(to_auth(cfg.auth));
        if (!cfg.auth.jwks_url.empty() && !g.authenticator->refresh_keys())
            spdlog::warn(
                "event=jwks_unavailable_at_startup detail=\"tokens get 503 "
                "AUTH_UNAVAILABLE until the keys can be fetched\"");
        spdlog::info("event=auth mode=on issuer=\"{}\" audience=\"{}\" api_keys={}",
                     cfg.auth.issuer, cfg.auth.audience, cfg.auth.api_keys.size());
    } else {
        spdlog::warn(
            "event=auth mode=off detail=\"every caller is the operator principal with "
            "every account; set AUTH_ENABLED=true in production\"");
    }
    if (cfg.auth.rate_per_second > 0)
        g.rate_limiter =
            std::make_unique<auth::RateLimiter>(cfg.auth.rate_per_second, cfg.auth.rate_burst);

    // GTTs: armed from storage before the price feeds start, so their instruments are in the
    // brokers' subscriptions from the first one.
    if (cfg.gtt.enabled) {
        gtt::GttOptions go;
        go.max_price_age = std::chrono::seconds(cfg.gtt.max_price_age_seconds);
        go.reload_interval = std::chrono::seconds(cfg.gtt.reload_seconds);
        for (const auto& b : cfg.brokers)
            go.venue_timeouts[b.name] = std::chrono::milliseconds(b.timeout_ms);
        g.gtt = std::make_unique<gtt::GttService>(*g.storage, *g.orders, broker_ptrs,
                                                  system_clock(), go);
        g.gtt->start();
        g.relay.set_gtt(g.gtt.get());
        spdlog::info("event=gtt_started active={} armed_legs={} max_price_age_s={}",
                     g.gtt->active(), g.gtt->armed_legs(), cfg.gtt.max_price_age_seconds);
    }

    // Brokers were started after recovery; their events have flowed to the service since.
    g.orders->start_price_feeds();

    // Reconciliation: start-up runs hold each broker's writes until done; then the schedule.
    if (cfg.reconciliation.enabled) {
        const config::ReconciliationConfig& rc = cfg.reconciliation;
        reconcile::Options ro;
        ro.interval = std::chrono::seconds(rc.interval_seconds);
        ro.grace_period = std::chrono::seconds(rc.grace_period_seconds);
        ro.not_found_answers = static_cast<int>(rc.not_found_answers);
        ro.reject_not_found = rc.not_found_policy == "reject";
        ro.silent_stream = std::chrono::seconds(rc.silent_stream_seconds);
        ro.calls_per_second = static_cast<int>(rc.calls_per_second);
        ro.startup_calls_per_second = static_cast<int>(rc.startup_calls_per_second);
        ro.lookback = std::chrono::seconds(rc.lookback_seconds);
        ro.page_size = static_cast<uint32_t>(rc.page_size);
        ro.lease = std::chrono::seconds(rc.lease_seconds);
        ro.holder = instance_name();
        g.reconciler = std::make_unique<reconcile::Reconciler>(*g.storage, broker_ptrs, routes,
                                                               *g.orders, g.positions.get(),
                                                               &g.metrics, system_clock(), ro);
        // A write behind an answer that storage missed: that broker is reconciled at once.
        reconcile::Reconciler* rec = g.reconciler.get();
        g.orders->set_reconcile_request([rec](const std::string& broker,
                                              const std::string& trigger) {
            try {
                rec->request_run(broker, trigger);
            } catch (const std::exception& e) {
                spdlog::error("event=reconcile_request_failed broker={} error=\"{}\"", broker,
                              e.what());
            }
        });
        g.reconciler->start();
        spdlog::info(
            "event=reconciliation_started holder={} interval_s={} grace_period_s={} "
            "not_found_answers={} not_found_policy={}",
            ro.holder, rc.interval_seconds, rc.grace_period_seconds, rc.not_found_answers,
            rc.not_found_policy);
    } else {
        spdlog::warn(
            "event=reconciliation_disabled detail=\"lost acks and fills are not "
            "recovered from the brokers; set reconciliation.enabled: true\"");
    }

    api::ApiDeps deps;
    deps.orders = g.orders.get();
    deps.positions = g.positions.get();
    deps.idempotency = g.idempotency.get();
    deps.authenticator = g.authenticator.get();
    deps.rate_limiter = g.rate_limiter.get();
    deps.metrics = &g.metrics;
    deps.readiness = [&g] { return g.readiness(); };
    deps.reconciler = g.reconciler.get();
    deps.gtt = g.gtt.get();
    deps.event_log = g.event_log.get();
    if (g.event_log) {
        stream::StreamOptions sopt;
        sopt.queue_limit = static_cast<size_t>(cfg.stream.queue_limit);
        sopt.ping_interval = std::chrono::seconds(cfg.stream.ping_seconds);
        sopt.idle_close = std::chrono::seconds(cfg.stream.idle_close_seconds);
        sopt.max_clients = static_cast<size_t>(cfg.stream.max_clients);
        sopt.send_buffer_bytes = static_cast<size_t>(cfg.stream.send_buffer_bytes);
        metrics::Metrics* m = &g.metrics;
        sopt.on_clients = [m](size_t n) { m->set_stream_clients(n); };
        sopt.on_closed = [m](int code) { m->stream_closed(code); };
        orders::OrderService* svc = g.orders.get();
        g.stream = std::make_unique<stream::StreamHub>(
            *g.event_log, *g.storage,
            [svc](const std::string& account) { return !svc->broker_of(account).empty(); }, sopt);
        g.stream->start();
        deps.stream = g.stream.get();
    }
    deps.event_log_absent_reason = g.event_log_absent;
    deps.plugins = [&g] {
        std::vector<std::string> items;
        for (const auto& [path, lib] : g.libraries)
            items.push_back(plugin_json(lib->info(), g.instances_of[lib->info().path]));
        return items;
    };
    api::ApiOptions ao;
    ao.idempotency_required = cfg.idempotency.backend != "redis" || cfg.idempotency.redis_required;
    ao.require_idempotency_key = cfg.idempotency.require_key;
    ao.protect_health = cfg.auth.enabled && cfg.auth.protect_health;
    ao.protect_metrics = cfg.auth.enabled && cfg.auth.protect_metrics;
    ao.version = ORDERGATE_SDK_VERSION_STRING;
    ao.docs_dir = cfg.http.docs_dir;
    if (ao.docs_dir.empty() && !g.executable_dir.empty())
        ao.docs_dir = g.executable_dir + "/../share/ordergate/docs";
    {
        std::error_code ec;
        if (!std::filesystem::is_regular_file(ao.docs_dir + "/swagger-ui-bundle.js", ec))
            spdlog::warn(
                "event=docs_unavailable dir=\"{}\" reason=\"swagger-ui-bundle.js not "
                "found: /docs answers 503 (set http.docs_dir)\"",
                ao.docs_dir);
    }
    g.api = std::make_unique<api::Api>(std::move(deps), ao);

    http::ServerOptions so;
    so.host = cfg.http.host;
    so.port = cfg.http.port;
    so.body_limit_bytes = cfg.http.body_limit_bytes;
    so.max_threads = cfg.http.max_threads;
    so.max_queued = cfg.http.max_queued;
    so.cors_origins = cfg.http.cors_origins;
    api::Api* api = g.api.get();
    g.server = std::make_unique<http::Server>(
        so, [api](http::Request& req, http::Response& res) { api->handle(req, res); }, &g.metrics);
    g.server->start();
    g.started = true;
    spdlog::info("event=listening host={} port={} storage={} brokers={} accounts={}", so.host,
                 g.server->port(), cfg.storage.plugin, cfg.brokers.size(), cfg.accounts.size());
}

void Gateway::stop() {
    Impl& g = *impl_;
    if (g.stopped) return;
    g.stopped = true;
    if (g.server) {
        int left = g.server->stop(std::chrono::seconds(g.cfg.http.shutdown_grace_seconds));
        spdlog::info("event=http_stopped unfinished_requests={}", left);
    }
    // The reconciler first: a run in progress stops between two fixes and is stored ABORTED.
    if (g.orders) g.orders->set_reconcile_request(nullptr);
    if (g.reconciler) g.reconciler->stop();
    g.relay.set_gtt(nullptr);
    if (g.gtt) g.gtt->stop();
    for (auto& [name, b] : g.brokers) {
        try {
            b->stop();
        } catch (const sdk::Error& e) {
            spdlog::error("event=broker_stop_failed broker={} error=\"{}\"", name, e.what());
        }
    }
    g.relay.detach();
    if (g.orders) g.orders->stop_event_queues();  // batched brokers' last events, applied
    if (g.orders) g.orders->flush();
    g.server.reset();
    g.api.reset();
    g.reconciler.reset();
    if (g.stream) g.stream->stop();
    if (g.orders) g.orders->set_journal(nullptr);
    if (g.event_log) g.event_log->stop();
    g.gtt.reset();
    g.orders.reset();
    g.stream.reset();
    g.event_log.reset();
    g.brokers.clear();
    g.storage.reset();
    spdlog::info("event=stopped");
}

int run_serve(const std::string& config_path, const std::string& executable_dir,
              const std::string& log_format) {
    // A format given on the command line holds from the first line: a log shipper reading JSON
    // gets the configuration error as JSON too.
    std::optional<logging::Format> format;
    if (!log_format.empty()) {
        format = logging::parse_format(log_format);
        if (!format) {
            std::cerr << "ordergate serve: --log-format must be text or json, got '" << log_format
                      << "'\n";
            return 2;
        }
        logging::set_format(*format);
    }
    config::Config cfg;
    try {
        cfg =
            config_path.empty() ? config::load_default_config() : config::load_config(config_path);
    } catch (const std::exception& e) {
        if (format == logging::Format::Json)
            spdlog::critical("event=configuration_error error=\"{}\"", e.what());
        else
            std::cerr << "ordergate: configuration error: " << e.what() << "\n";
        return 2;
    }
    if (!format) format = logging::parse_format(cfg.logging.format).value_or(logging::Format::Text);
    logging::set_format(*format);
    spdlog::set_level(spdlog::level::from_str(cfg.logging.level));
    // jemalloc when the binary links it (ORDERGATE_JEMALLOC): its mallctl is then in the process.
    const char* allocator = dlsym(RTLD_DEFAULT, "mallctl") != nullptr ? "jemalloc" : "glibc";
    spdlog::info("event=starting version={} config=\"{}\" log_format={} log_level={} allocator={}",
                 ORDERGATE_SDK_VERSION_STRING, cfg.source_path, logging::format_name(*format),
                 cfg.logging.level, allocator);
    for (const std::string& w : cfg.override_warnings)
        spdlog::warn("event=config_override detail=\"{}\"", w);
    // Signals are taken by sigwait below, in this thread only.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);
    Gateway gateway(std::move(cfg), executable_dir);
    try {
        gateway.start();
    } catch (const std::exception& e) {
        spdlog::critical("event=startup_failed error=\"{}\"", e.what());
        // The plain line is for a person at a terminal; a JSON reader has the one above.
        if (*format == logging::Format::Text)
            std::cerr << "ordergate: cannot start: " << e.what() << "\n";
        return 1;
    }
    int sig = 0;
    sigwait(&set, &sig);
    spdlog::info("event=shutdown signal={}", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    gateway.stop();
    return 0;
}

int run_config_validate(const std::string& config_path) {
    try {
        config::Config cfg = config::load_config(config_path);
        std::cout << config::describe(cfg) << "\n" << config_path << ": OK\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << e.what() << "\n";
        return 2;
    }
}

}  // namespace ordergate::app
