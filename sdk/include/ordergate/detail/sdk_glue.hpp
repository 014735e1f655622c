// ordergate/detail/sdk_glue.hpp — the C marshalling behind sdk.hpp. Included at the end of
// sdk.hpp; do not include it directly.
//
// It provides:
//  - the inline definitions of sdk::Config, sdk::Host, sdk::EventSink and the default
//    implementations of the plugins' optional functions (Unsupported, except the ABI 1.3 pages,
//    which answer in one page through list_orders / list_fills);
//  - ORDERGATE_BROKER_PLUGIN(Class, "name", "version", capabilities) and
//    ORDERGATE_STORAGE_PLUGIN(Class, "name", "version"): used ONCE per plugin, at global namespace
//    scope, in one .cpp file. They build the static C table of plugin_abi.h over Class and export
//    the entry `og_plugin_entry_fn` under OG_PLUGIN_ENTRY_NAME through BOOST_DLL_ALIAS.
//
// Error policy of the generated table functions (all noexcept): sdk::Error -> its status and
// message; abi::ConvertError (the host sent a record this SDK cannot read) -> OG_INVALID_ARGUMENT;
// any other std::exception -> OG_INTERNAL with what(); anything else -> OG_INTERNAL. The message
// is copied into the caller's og_error (truncated to its capacity). An sdk::Error carrying
// Status::Ok is a plugin bug and becomes OG_INTERNAL.
//
// The entry only records the host services and returns a static descriptor: it starts no thread,
// does no I/O and allocates nothing. It answers with its descriptor whatever ABI the host speaks,
// so the host can refuse a mismatch with a precise message. Class is constructed in the table's
// create() from a `const sdk::PluginContext&` and destroyed in destroy().
#pragma once

// Boost.DLL picks std::filesystem when this is set (the CMake target sets it too); the SDK never
// uses a filesystem function, so a plugin needs no Boost library to link.
#if !defined(BOOST_DLL_USE_STD_FS) && !defined(BOOST_DLL_DETAIL_CONFIG_HPP)
#define BOOST_DLL_USE_STD_FS 1
#endif
#include <boost/dll/alias.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "ordergate/abi_convert.hpp"

namespace ordergate::sdk {

// ---- Config -------------------------------------------------------------------------------------
// Lookups are linear (configurations are small). When a key appears more than once, the LAST
// entry wins, so overrides can simply be appended.

inline Config::Config(std::vector<std::pair<std::string, std::string>> entries)
    : entries_(std::move(entries)) {}

namespace detail {
inline const std::string* find_config(
    const std::vector<std::pair<std::string, std::string>>& entries, std::string_view key) {
    for (auto it = entries.rbegin(); it != entries.rend(); ++it)
        if (it->first == key) return &it->second;
    return nullptr;
}
inline Error bad_config(std::string_view key, const std::string& value, const char* expected) {
    return Error(Status::InvalidArgument, "config key '" + std::string(key) + "': '" + value +
                                              "' is not " + expected);
}
}  // namespace detail

inline bool Config::has(std::string_view key) const {
    return detail::find_config(entries_, key) != nullptr;
}

inline const std::string& Config::get(std::string_view key) const {
    const std::string* v = detail::find_config(entries_, key);
    if (v == nullptr)
        throw Error(Status::InvalidArgument, "missing config key '" + std::string(key) + "'");
    return *v;
}

inline std::string Config::get_or(std::string_view key, std::string_view fallback) const {
    const std::string* v = detail::find_config(entries_, key);
    return v ? *v : std::string(fallback);
}

inline int64_t Config::get_int(std::string_view key, int64_t fallback) const {
    const std::string* v = detail::find_config(entries_, key);
    if (v == nullptr) return fallback;
    int64_t out = 0;
    const char* end = v->data() + v->size();
    auto res = std::from_chars(v->data(), end, out);
    if (v->empty() || res.ec != std::errc() || res.ptr != end)
        throw detail::bad_config(key, *v, "an integer");
    return out;
}

inline bool Config::get_bool(std::string_view key, bool fallback) const {
    const std::string* v = detail::find_config(entries_, key);
    if (v == nullptr) return fallback;
    std::string s = *v;
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (s == "true" || s == "1" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "0" || s == "no" || s == "off") return false;
    throw detail::bad_config(key, *v, "a boolean (true/false)");
}

inline Decimal Config::get_decimal(std::string_view key, Decimal fallback) const {
    const std::string* v = detail::find_config(entries_, key);
    if (v == nullptr) return fallback;
    Decimal out;
    Decimal::ParseOptions opts;
    opts.max_scale = Decimal::kMaxScale;
    std::string why;
    if (!Decimal::parse(*v, &out, &why, opts)) throw detail::bad_config(key, *v, "a decimal");
    return out;
}

// ---- Host ---------------------------------------------------------------------------------------
// Without host services (a plugin class constructed directly, e.g. in its own unit tests) log
// lines go to stderr and the clock is the system clock.

// True when the table `ptr` (may be null) is long enough to hold callback `cb` and it is set.
#define OG_HAS_CALLBACK(ptr, type, cb) \
    ((ptr) != nullptr && OG_HAS_FIELD(ptr, type, cb) && (ptr)->cb != nullptr)

inline void Host::log(LogLevel level, std::string_view message) const {
    if (OG_HAS_CALLBACK(services_, og_host_services, log)) {
        services_->log(services_->ctx, static_cast<og_log_level>(level), abi::view(message));
        return;
    }
    static const char* const names[] = {"?", "debug", "info", "warn", "error"};
    int idx = static_cast<int>(level);
    std::fprintf(stderr, "[plugin %s] %.*s\n", names[(idx >= 1 && idx <= 4) ? idx : 0],
                 static_cast<int>(message.size()), message.data());
}

inline int64_t Host::now_ns() const {
    if (OG_HAS_CALLBACK(services_, og_host_services, now_ns))
        return services_->now_ns(services_->ctx);
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// ---- EventSink ----------------------------------------------------------------------------------
// Without a sink (storage plugins, or a broker constructed outside a host) the calls do nothing.
// A callback the host left NULL is skipped. The host copies the payload before returning.

inline void EventSink::order_update(const OrderReport& report) const {
    if (!OG_HAS_CALLBACK(sink_, og_event_sink, on_order_update)) return;
    og_order_report c = abi::to_abi(report);
    sink_->on_order_update(sink_->ctx, &c);
}

inline void EventSink::fill(const Fill& fill) const {
    if (!OG_HAS_CALLBACK(sink_, og_event_sink, on_fill)) return;
    og_fill c = abi::to_abi(fill);
    sink_->on_fill(sink_->ctx, &c);
}

inline void EventSink::quote(const Quote& quote) const {
    if (!OG_HAS_CALLBACK(sink_, og_event_sink, on_quote)) return;
    og_quote c = abi::to_abi(quote);
    sink_->on_quote(sink_->ctx, &c);
}

inline void EventSink::connection(bool connected, std::string_view detail) const {
    if (!OG_HAS_CALLBACK(sink_, og_event_sink, on_connection)) return;
    sink_->on_connection(sink_->ctx, connected ? 1 : 0, abi::view(detail));
}

inline void EventSink::gtt_update(const GttReport& report) const {
    if (!OG_HAS_CALLBACK(sink_, og_event_sink, on_gtt_update)) return;
    abi::GttReportView c(report);
    sink_->on_gtt_update(sink_->ctx, c.get());
}

inline Status EventSink::sync(std::chrono::milliseconds timeout) const {
    if (!OG_HAS_CALLBACK(sink_, og_event_sink, sync)) return Status::Ok;
    return static_cast<Status>(sink_->sync(sink_->ctx, static_cast<int64_t>(timeout.count())));
}

// ---- BrokerPlugin defaults: a capability not declared is Unsupported ---------------------------

namespace detail {
[[noreturn]] inline void unsupported(const char* what) {
    throw Error(Status::Unsupported, std::string(what) + " is not supported by this plugin");
}
}  // namespace detail

inline OrderReport BrokerPlugin::modify_order(const ModifyRequest&, std::chrono::milliseconds) {
    detail::unsupported("modify_order");
}
inline OrderReport BrokerPlugin::cancel_request(const CancelRequest& request,
                                                std::chrono::milliseconds timeout) {
    return cancel_order(request.account_id, request.broker_order_id, request.client_order_id,
                        timeout);
}
inline std::vector<OrderReport> BrokerPlugin::list_orders(const std::string&, bool, int64_t) {
    detail::unsupported("list_orders");
}
inline std::vector<Fill> BrokerPlugin::list_fills(const std::string&, int64_t) {
    detail::unsupported("list_fills");
}
inline std::vector<Position> BrokerPlugin::positions(const std::string&) {
    detail::unsupported("positions");
}
inline Account BrokerPlugin::account(const std::string&) { detail::unsupported("account"); }
inline Quote BrokerPlugin::quote(const std::string&, const std::string&) {
    detail::unsupported("quote");
}
inline void BrokerPlugin::subscribe_prices(const std::vector<Instrument>&) {
    detail::unsupported("subscribe_prices");
}
inline std::vector<OrderReport> BrokerPlugin::cancel_all(const std::string&,
                                                         std::chrono::milliseconds) {
    detail::unsupported("cancel_all");
}
inline void BrokerPlugin::ping(std::chrono::milliseconds) { detail::unsupported("ping"); }
inline GttReport BrokerPlugin::place_gtt(const GttRequest&, std::chrono::milliseconds) {
    detail::unsupported("place_gtt");
}
inline GttReport BrokerPlugin::modify_gtt(const GttRequest&, std::chrono::milliseconds) {
    detail::unsupported("modify_gtt");
}
inline GttReport BrokerPlugin::cancel_gtt(const GttRequest&, std::chrono::milliseconds) {
    detail::unsupported("cancel_gtt");
}
inline GttReport BrokerPlugin::get_gtt(const std::string&, const std::string&,
                                       const std::string&) {
    detail::unsupported("get_gtt");
}
inline std::vector<GttReport> BrokerPlugin::list_gtts(const std::string&, bool) {
    detail::unsupported("list_gtts");
}

// One page holding everything: a plugin that does not page answers as before 1.3. A cursor can
// only come from a page that had a next cursor, and this one never gives any.
inline ReportPage<OrderReport> BrokerPlugin::list_orders_page(const std::string& account_id,
                                                              bool open_only, int64_t since_ns,
                                                              const std::string& cursor,
                                                              uint32_t /*limit*/) {
    if (!cursor.empty())
        throw Error(Status::InvalidArgument,
                    "list_orders_page: this plugin answers in one page; there is no cursor to "
                    "continue from");
    return ReportPage<OrderReport>{list_orders(account_id, open_only, since_ns), "", true};
}
inline ReportPage<Fill> BrokerPlugin::list_fills_page(const std::string& account_id,
                                                      int64_t since_ns, const std::string& cursor,
                                                      uint32_t /*limit*/) {
    if (!cursor.empty())
        throw Error(Status::InvalidArgument,
                    "list_fills_page: this plugin answers in one page; there is no cursor to "
                    "continue from");
    return ReportPage<Fill>{list_fills(account_id, since_ns), "", true};
}

inline std::optional<IdempotencyRecord> StoragePlugin::idempotency_begin(const IdempotencyRecord&,
                                                                         int64_t) {
    detail::unsupported("idempotency_begin");
}
inline bool StoragePlugin::idempotency_complete(const IdempotencyRecord&, int64_t) {
    detail::unsupported("idempotency_complete");
}
inline void StoragePlugin::idempotency_release(const std::string&, const std::string&, int64_t) {
    detail::unsupported("idempotency_release");
}
inline uint64_t StoragePlugin::idempotency_purge(int64_t, uint32_t) {
    detail::unsupported("idempotency_purge");
}
inline bool StoragePlugin::lease_acquire(const std::string&, const std::string&, int64_t,
                                         int64_t) {
    detail::unsupported("lease_acquire");
}
inline void StoragePlugin::lease_release(const std::string&, const std::string&) {
    detail::unsupported("lease_release");
}
inline std::optional<OrderRecord> StoragePlugin::get_order_by_request_id(const std::string&,
                                                                         const std::string&) {
    detail::unsupported("get_order_by_request_id");
}
// ---- appended in ABI 1.4 (event log) ----
inline AccountEventPage StoragePlugin::list_account_events(const std::string&, int64_t, uint32_t) {
    detail::unsupported("list_account_events");
}
inline uint64_t StoragePlugin::prune_account_events(int64_t, uint32_t) {
    detail::unsupported("prune_account_events");
}
inline std::vector<AccountEvent> StoragePlugin::wait_account_events(std::chrono::milliseconds) {
    detail::unsupported("wait_account_events");
}
inline std::optional<IdempotencyRecord> StoragePlugin::idempotency_get(const std::string&,
                                                                       int64_t) {
    detail::unsupported("idempotency_get");
}

// ---- the generated C tables -------------------------------------------------------------------

namespace detail {

// Copies msg into the caller's buffer, truncated to its capacity. Never throws.
inline void write_error(og_error* err, std::string_view msg) noexcept {
    if (err == nullptr || err->buffer == nullptr) return;
    size_t n = std::min(msg.size(), err->capacity);
    if (n > 0) std::memcpy(err->buffer, msg.data(), n);
    err->length = n;
}

// Runs f, turning every exception into a status + message (see the top of the file). ABI 1.4:
// an Error's retry_after goes into err->retry_after_ms when `retry_field` says the host's
// og_error has that field (host ABI minor >= 4).
template <typename F>
og_status guarded(og_error* err, F&& f, bool retry_field = false) noexcept {
    try {
        std::forward<F>(f)();
        return OG_OK;
    } catch (const Error& e) {
        if (e.status() == Status::Ok) {
            write_error(err, std::string("plugin threw an error with status ok: ") + e.what());
            return OG_INTERNAL;
        }
        write_error(err, e.what());
        if (retry_field && err != nullptr && e.retry_after().count() > 0)
            err->retry_after_ms = e.retry_after().count();
        return static_cast<og_status>(e.status());
    } catch (const abi::ConvertError& e) {
        write_error(err, e.what());
        return OG_INVALID_ARGUMENT;
    } catch (const std::exception& e) {
        write_error(err, e.what());
        return OG_INTERNAL;
    } catch (...) {
        write_error(err, "plugin threw a non-standard exception");
        return OG_INTERNAL;
    }
}

inline og_str literal(const char* s) { return og_str{s, s ? std::strlen(s) : 0}; }

inline void emit(const og_result_sink* out, const OrderReport& r) {
    if (!OG_HAS_CALLBACK(out, og_result_sink, on_order)) return;
    og_order_report c = abi::to_abi(r);
    out->on_order(out->ctx, &c);
}
inline void emit(const og_result_sink* out, const Fill& f) {
    if (!OG_HAS_CALLBACK(out, og_result_sink, on_fill)) return;
    og_fill c = abi::to_abi(f);
    out->on_fill(out->ctx, &c);
}
inline void emit(const og_result_sink* out, const Position& p) {
    if (!OG_HAS_CALLBACK(out, og_result_sink, on_position)) return;
    og_position c = abi::to_abi(p);
    out->on_position(out->ctx, &c);
}
inline void emit(const og_result_sink* out, const Account& a) {
    if (!OG_HAS_CALLBACK(out, og_result_sink, on_account)) return;
    og_account c = abi::to_abi(a);
    out->on_account(out->ctx, &c);
}
inline void emit(const og_result_sink* out, const GttReport& g) {
    if (!OG_HAS_CALLBACK(out, og_result_sink, on_gtt)) return;
    abi::GttReportView c(g);
    out->on_gtt(out->ctx, c.get());
}
inline void emit(const og_result_sink* out, const Quote& q) {
    if (!OG_HAS_CALLBACK(out, og_result_sink, on_quote)) return;
    og_quote c = abi::to_abi(q);
    out->on_quote(out->ctx, &c);
}
template <typename T>
void emit_all(const og_result_sink* out, const std::vector<T>& items) {
    for (const T& item : items) emit(out, item);
}
// The items, then the page end (ABI 1.3: only when the host's sink is large enough to have it).
template <typename T>
void emit_page(const og_result_sink* out, const ReportPage<T>& page) {
    emit_all(out, page.items);
    if (OG_HAS_CALLBACK(out, og_result_sink, on_page))
        out->on_page(out->ctx, abi::view(page.next_cursor), page.complete ? 1 : 0);
}

inline void emit(const og_storage_sink* out, const OrderRecord& o) {
    if (!OG_HAS_CALLBACK(out, og_storage_sink, on_order)) return;
    og_order_record c = abi::to_abi(o);
    out->on_order(out->ctx, &c);
}
inline void emit(const og_storage_sink* out, const OrderEvent& e) {
    if (!OG_HAS_CALLBACK(out, og_storage_sink, on_event)) return;
    og_order_event c = abi::to_abi(e);
    out->on_event(out->ctx, &c);
}
inline void emit(const og_storage_sink* out, const FillRecord& f) {
    if (!OG_HAS_CALLBACK(out, og_storage_sink, on_fill)) return;
    og_fill_record c = abi::to_abi(f);
    out->on_fill(out->ctx, &c);
}
inline void emit(const og_storage_sink* out, const GttRecord& g) {
    if (!OG_HAS_CALLBACK(out, og_storage_sink, on_gtt)) return;
    og_gtt_record c = abi::to_abi(g);
    out->on_gtt(out->ctx, &c);
}
inline void emit(const og_storage_sink* out, const IdempotencyRecord& r) {
    if (!OG_HAS_CALLBACK(out, og_storage_sink, on_idempotency)) return;
    og_idempotency_record c = abi::to_abi(r);
    out->on_idempotency(out->ctx, &c);
}
inline void emit(const og_storage_sink* out, const ReconRun& r) {
    if (!OG_HAS_CALLBACK(out, og_storage_sink, on_recon_run)) return;
    og_recon_run c = abi::to_abi(r);
    out->on_recon_run(out->ctx, &c);
}
// appended in ABI 1.4 (event log)
inline void emit(const og_storage_sink* out, const AccountEvent& e) {
    if (!OG_HAS_CALLBACK(out, og_storage_sink, on_account_event)) return;
    og_account_event c = abi::to_abi(e);
    out->on_account_event(out->ctx, &c);
}
template <typename T>
void emit_page(const og_storage_sink* out, const Page<T>& page) {
    for (const T& item : page.items) emit(out, item);
    if (!page.next_cursor.empty() && OG_HAS_CALLBACK(out, og_storage_sink, on_cursor))
        out->on_cursor(out->ctx, abi::view(page.next_cursor));
}

inline std::chrono::milliseconds millis(int64_t ms) { return std::chrono::milliseconds(ms); }

// Host services recorded by the entry; one slot per plugin module (Tag has internal linkage).
template <typename Tag>
struct ServicesSlot {
    static std::atomic<const og_host_services*>& get() {
        static std::atomic<const og_host_services*> slot{nullptr};
        return slot;
    }
    static void store(const og_host_services* s) {
        get().store((s != nullptr && s->size >= abi::kMinSize<og_host_services>) ? s : nullptr);
    }
    // Whether the host's og_error has retry_after_ms (ABI 1.4).
    static bool host_has_retry_field() {
        const og_host_services* s = get().load();
        return s != nullptr && s->host_abi_major == OG_ABI_MAJOR && s->host_abi_minor >= 4;
    }
};

template <typename Class>
Class* self(void* instance) {
    if (instance == nullptr) throw Error(Status::InvalidArgument, "NULL plugin instance");
    return static_cast<Class*>(instance);
}

// The broker table over Class (Tag: a type with internal linkage, unique to the plugin's TU).
template <typename Class, typename Tag>
struct BrokerExport {
    static_assert(std::is_base_of<BrokerPlugin, Class>::value,
                  "ORDERGATE_BROKER_PLUGIN: the class must derive from ordergate::sdk::BrokerPlugin");
    static_assert(std::is_constructible<Class, const PluginContext&>::value,
                  "ORDERGATE_BROKER_PLUGIN: the class needs a constructor taking "
                  "const ordergate::sdk::PluginContext&");

    static og_status create(const og_kv* config, size_t count, const og_event_sink* sink,
                            void** instance, og_error* err) noexcept {
        return create_v2(config, count, sizeof(og_kv), sink, instance, err);
    }
    // ABI 1.4: the config array's elements are kv_size bytes apart.
    static og_status create_v2(const og_kv* config, size_t count, size_t kv_size,
                               const og_event_sink* sink, void** instance,
                               og_error* err) noexcept {
        return guarded(err, [&] {
            if (instance == nullptr) throw Error(Status::InvalidArgument, "NULL instance pointer");
            *instance = nullptr;
            if (sink != nullptr && sink->size < abi::kMinSize<og_event_sink>)
                throw Error(Status::InvalidArgument, "event sink smaller than its ABI 1.0 size");
            PluginContext ctx{Config(abi::from_abi(config, count, kv_size)),
                              Host(ServicesSlot<Tag>::get().load()), EventSink(sink)};
            auto object = std::make_unique<Class>(static_cast<const PluginContext&>(ctx));
            *instance = object.release();
        });
    }
    static og_status start(void* instance, og_error* err) noexcept {
        return guarded(err, [&] { self<Class>(instance)->start(); });
    }
    static og_status stop(void* instance, og_error* err) noexcept {
        return guarded(err, [&] { self<Class>(instance)->stop(); });
    }
    static void destroy(void* instance) noexcept {
        std::unique_ptr<Class> owned(static_cast<Class*>(instance));
    }
    static og_status place_order(void* instance, const og_order_request* request,
                                 int64_t timeout_ms, const og_result_sink* out,
                                 og_error* err) noexcept {
        return guarded(
            err,
            [&] {
                OrderRequest r = abi::from_abi(request);
                emit(out, self<Class>(instance)->place_order(r, millis(timeout_ms)));
            },
            ServicesSlot<Tag>::host_has_retry_field());
    }
    static og_status modify_order(void* instance, const og_modify_request* request,
                                  int64_t timeout_ms, const og_result_sink* out,
                                  og_error* err) noexcept {
        return guarded(
            err,
            [&] {
                ModifyRequest r = abi::from_abi(request);
                emit(out, self<Class>(instance)->modify_order(r, millis(timeout_ms)));
            },
            ServicesSlot<Tag>::host_has_retry_field());
    }
    static og_status cancel_order(void* instance, og_str account_id, og_str broker_order_id,
                                  og_str client_order_id, int64_t timeout_ms,
                                  const og_result_sink* out, og_error* err) noexcept {
        return guarded(err, [&] {
            const char* R = "cancel";
            emit(out, self<Class>(instance)->cancel_order(
                          abi::from_abi(account_id, R, "account_id"),
                          abi::from_abi(broker_order_id, R, "broker_order_id"),
                          abi::from_abi(client_order_id, R, "client_order_id"), millis(timeout_ms)));
        });
    }
    static og_status get_order(void* instance, og_str account_id, og_str broker_order_id,
                               og_str client_order_id, const og_result_sink* out,
                               og_error* err) noexcept {
        return guarded(err, [&] {
            const char* R = "get_order";
            emit(out, self<Class>(instance)->get_order(
                          abi::from_abi(account_id, R, "account_id"),
                          abi::from_abi(broker_order_id, R, "broker_order_id"),
                          abi::from_abi(client_order_id, R, "client_order_id")));
        });
    }
    static og_status list_orders(void* instance, og_str account_id, int32_t open_only,
                                 int64_t since_ns, const og_result_sink* out,
                                 og_error* err) noexcept {
        return guarded(err, [&] {
            emit_all(out, self<Class>(instance)->list_orders(
                              abi::from_abi(account_id, "list_orders", "account_id"),
                              open_only != 0, since_ns));
        });
    }
    static og_status list_fills(void* instance, og_str account_id, int64_t since_ns,
                                const og_result_sink* out, og_error* err) noexcept {
        return guarded(err, [&] {
            emit_all(out, self<Class>(instance)->list_fills(
                              abi::from_abi(account_id, "list_fills", "account_id"), since_ns));
        });
    }
    static og_status get_positions(void* instance, og_str account_id, const og_result_sink* out,
                                   og_error* err) noexcept {
        return guarded(err, [&] {
            emit_all(out, self<Class>(instance)->positions(
                              abi::from_abi(account_id, "positions", "account_id")));
        });
    }
    static og_status get_account(void* instance, og_str account_id, const og_result_sink* out,
                                 og_error* err) noexcept {
        return guarded(err, [&] {
            emit(out, self<Class>(instance)->account(
                          abi::from_abi(account_id, "account", "account_id")));
        });
    }
    static og_status get_quote(void* instance, og_str symbol, og_str exchange,
                               const og_result_sink* out, og_error* err) noexcept {
        return guarded(err, [&] {
            emit(out, self<Class>(instance)->quote(abi::from_abi(symbol, "quote", "symbol"),
                                                   abi::from_abi(exchange, "quote", "exchange")));
        });
    }
    static og_status subscribe_prices(void* instance, const og_instrument* instruments,
                                      size_t count, og_error* err) noexcept {
        return subscribe_prices_v2(instance, instruments, count, sizeof(og_instrument), err);
    }
    static og_status subscribe_prices_v2(void* instance, const og_instrument* instruments,
                                         size_t count, size_t instrument_size,
                                         og_error* err) noexcept {
        return guarded(err, [&] {
            self<Class>(instance)->subscribe_prices(
                abi::from_abi(instruments, count, instrument_size));
        });
    }
    static og_status cancel_order_v2(void* instance, const og_cancel_request* request,
                                     int64_t timeout_ms, const og_result_sink* out,
                                     og_error* err) noexcept {
        return guarded(
            err,
            [&] {
                CancelRequest r = abi::from_abi(request);
                BrokerPlugin* plugin = self<Class>(instance);
                emit(out, plugin->cancel_request(r, millis(timeout_ms)));
            },
            ServicesSlot<Tag>::host_has_retry_field());
    }
    static og_status get_capabilities(void* instance, uint64_t* capabilities,
                                      og_error* err) noexcept {
        return guarded(err, [&] {
            if (capabilities == nullptr)
                throw Error(Status::InvalidArgument, "get_capabilities: NULL capabilities");
            std::optional<uint64_t> caps = self<Class>(instance)->instance_capabilities();
            if (!caps) throw Error(Status::Unsupported, "no capabilities per instance");
            *capabilities = *caps;
        });
    }
    static og_status cancel_all(void* instance, og_str account_id, int64_t timeout_ms,
                                const og_result_sink* out, og_error* err) noexcept {
        return guarded(err, [&] {
            emit_all(out, self<Class>(instance)->cancel_all(
                              abi::from_abi(account_id, "cancel_all", "account_id"),
                              millis(timeout_ms)));
        });
    }
    static og_status ping(void* instance, int64_t timeout_ms, og_error* err) noexcept {
        return guarded(err, [&] { self<Class>(instance)->ping(millis(timeout_ms)); });
    }
    static og_status list_orders_page(void* instance, og_str account_id, int32_t open_only,
                                      int64_t since_ns, og_str cursor, uint32_t limit,
                                      const og_result_sink* out, og_error* err) noexcept {
        return guarded(err, [&] {
            const char* R = "list_orders_page";
            emit_page(out, self<Class>(instance)->list_orders_page(
                               abi::from_abi(account_id, R, "account_id"), open_only != 0,
                               since_ns, abi::from_abi(cursor, R, "cursor"), limit));
        });
    }
    static og_status list_fills_page(void* instance, og_str account_id, int64_t since_ns,
                                     og_str cursor, uint32_t limit, const og_result_sink* out,
                                     og_error* err) noexcept {
        return guarded(err, [&] {
            const char* R = "list_fills_page";
            emit_page(out, self<Class>(instance)->list_fills_page(
                               abi::from_abi(account_id, R, "account_id"), since_ns,
                               abi::from_abi(cursor, R, "cursor"), limit));
        });
    }

    // ABI 1.5: native GTT.
    static og_status place_gtt(void* instance, const og_gtt_request* request, int64_t timeout_ms,
                               const og_result_sink* out, og_error* err) noexcept {
        return guarded(
            err,
            [&] {
                GttRequest r = abi::from_abi(request);
                emit(out, self<Class>(instance)->place_gtt(r, millis(timeout_ms)));
            },
            ServicesSlot<Tag>::host_has_retry_field());
    }
    static og_status modify_gtt(void* instance, const og_gtt_request* request,
                                int64_t timeout_ms, const og_result_sink* out,
                                og_error* err) noexcept {
        return guarded(
            err,
            [&] {
                GttRequest r = abi::from_abi(request);
                emit(out, self<Class>(instance)->modify_gtt(r, millis(timeout_ms)));
            },
            ServicesSlot<Tag>::host_has_retry_field());
    }
    static og_status cancel_gtt(void* instance, const og_gtt_request* request,
                                int64_t timeout_ms, const og_result_sink* out,
                                og_error* err) noexcept {
        return guarded(
            err,
            [&] {
                GttRequest r = abi::from_abi(request);
                emit(out, self<Class>(instance)->cancel_gtt(r, millis(timeout_ms)));
            },
            ServicesSlot<Tag>::host_has_retry_field());
    }
    static og_status get_gtt(void* instance, og_str account_id, og_str gtt_id,
                             og_str broker_gtt_id, const og_result_sink* out,
                             og_error* err) noexcept {
        return guarded(err, [&] {
            const char* R = "get_gtt";
            emit(out, self<Class>(instance)->get_gtt(abi::from_abi(account_id, R, "account_id"),
                                                     abi::from_abi(gtt_id, R, "gtt_id"),
                                                     abi::from_abi(broker_gtt_id, R,
                                                                   "broker_gtt_id")));
        });
    }
    static og_status list_gtts(void* instance, og_str account_id, int32_t active_only,
                               const og_result_sink* out, og_error* err) noexcept {
        return guarded(err, [&] {
            emit_all(out, self<Class>(instance)->list_gtts(
                              abi::from_abi(account_id, "list_gtts", "account_id"),
                              active_only != 0));
        });
    }

    static const og_broker_vtable* table() noexcept {
        static const og_broker_vtable t = [] {
            og_broker_vtable v{};
            v.size = sizeof(og_broker_vtable);
            v.create = &create;
            v.start = &start;
            v.stop = &stop;
            v.destroy = &destroy;
            v.place_order = &place_order;
            v.modify_order = &modify_order;
            v.cancel_order = &cancel_order;
            v.get_order = &get_order;
            v.list_orders = &list_orders;
            v.list_fills = &list_fills;
            v.get_positions = &get_positions;
            v.get_account = &get_account;
            v.get_quote = &get_quote;
            v.subscribe_prices = &subscribe_prices;
            v.cancel_all = &cancel_all;
            v.ping = &ping;
            v.list_orders_page = &list_orders_page;
            v.list_fills_page = &list_fills_page;
            v.create_v2 = &create_v2;
            v.subscribe_prices_v2 = &subscribe_prices_v2;
            v.cancel_order_v2 = &cancel_order_v2;
            v.get_capabilities = &get_capabilities;
            v.place_gtt = &place_gtt;
            v.modify_gtt = &modify_gtt;
            v.cancel_gtt = &cancel_gtt;
            v.get_gtt = &get_gtt;
            v.list_gtts = &list_gtts;
            return v;
        }();
        return &t;
    }

    static const og_plugin_descriptor* entry(const og_host_services* services, const char* name,
                                             const char* version,
                                             uint64_t capabilities) noexcept {
        ServicesSlot<Tag>::store(services);
        static const og_plugin_descriptor d = [&] {
            og_plugin_descriptor x{};
            x.size = sizeof(og_plugin_descriptor);
            x.abi_major = OG_ABI_MAJOR;
            x.abi_minor = OG_ABI_MINOR;
            x.kind = OG_KIND_BROKER;
            x.name = literal(name);
            x.version = literal(version);
            x.sdk_version = literal(ORDERGATE_SDK_VERSION_STRING);
            x.capabilities = capabilities;
            x.vtable = table();
            return x;
        }();
        return &d;
    }
};

// The storage table over Class.
template <typename Class, typename Tag>
struct StorageExport {
    static_assert(std::is_base_of<StoragePlugin, Class>::value,
                  "ORDERGATE_STORAGE_PLUGIN: the class must derive from "
                  "ordergate::sdk::StoragePlugin");
    static_assert(std::is_constructible<Class, const PluginContext&>::value,
                  "ORDERGATE_STORAGE_PLUGIN: the class needs a constructor taking "
                  "const ordergate::sdk::PluginContext&");

    template <typename T>
    static void emit_found(const og_storage_sink* out, const std::optional<T>& v,
                           const char* what) {
        if (!v) throw Error(Status::NotFound, std::string(what) + " not found");
        emit(out, *v);
    }

    static og_status create(const og_kv* config, size_t count, void** instance,
                            og_error* err) noexcept {
        return create_v2(config, count, sizeof(og_kv), instance, err);
    }
    static og_status create_v2(const og_kv* config, size_t count, size_t kv_size,
                               void** instance, og_error* err) noexcept {
        return guarded(err, [&] {
            if (instance == nullptr) throw Error(Status::InvalidArgument, "NULL instance pointer");
            *instance = nullptr;
            PluginContext ctx{Config(abi::from_abi(config, count, kv_size)),
                              Host(ServicesSlot<Tag>::get().load()), EventSink(nullptr)};
            auto object = std::make_unique<Class>(static_cast<const PluginContext&>(ctx));
            *instance = object.release();
        });
    }
    static void destroy(void* instance) noexcept {
        std::unique_ptr<Class> owned(static_cast<Class*>(instance));
    }
    static og_status migrate(void* instance, int64_t* version, og_error* err) noexcept {
        return guarded(err, [&] {
            int64_t v = self<Class>(instance)->migrate();
            if (version != nullptr) *version = v;
        });
    }
    static og_status ping(void* instance, og_error* err) noexcept {
        return guarded(err, [&] { self<Class>(instance)->ping(); });
    }
    static og_status write_batch(void* instance, const og_write_op* ops, size_t count,
                                 og_status* results, og_error* err) noexcept {
        return write_batch_ops(instance, ops, count, results, err);
    }
    // ABI 1.4: pointers to ops, each read with its own size.
    static og_status write_batch_v2(void* instance, const og_write_op* const* ops, size_t count,
                                    og_status* results, og_error* err) noexcept {
        return write_batch_ops(instance, ops, count, results, err);
    }
    template <typename Ops>
    static og_status write_batch_ops(void* instance, Ops ops, size_t count, og_status* results,
                                     og_error* err) noexcept {
        return guarded(err, [&] {
            if (results == nullptr && count != 0)
                throw Error(Status::InvalidArgument, "write_batch: NULL results array");
            std::vector<WriteOp> batch = abi::from_abi(ops, count);
            std::vector<Status> st = self<Class>(instance)->write_batch(batch);
            if (st.size() != count)
                throw Error(Status::Internal, "write_batch returned " + std::to_string(st.size()) +
                                                  " results for " + std::to_string(count) + " ops");
            for (size_t i = 0; i < count; ++i) results[i] = static_cast<og_status>(st[i]);
        });
    }
    static og_status get_order(void* instance, og_str order_id, const og_storage_sink* out,
                               og_error* err) noexcept {
        return guarded(err, [&] {
            emit_found(out,
                       self<Class>(instance)->get_order(
                           abi::from_abi(order_id, "get_order", "order_id")),
                       "order");
        });
    }
    static og_status get_order_by_client_id(void* instance, og_str account_id,
                                            og_str client_order_id, const og_storage_sink* out,
                                            og_error* err) noexcept {
        return guarded(err, [&] {
            const char* R = "get_order_by_client_id";
            emit_found(out,
                       self<Class>(instance)->get_order_by_client_id(
                           abi::from_abi(account_id, R, "account_id"),
                           abi::from_abi(client_order_id, R, "client_order_id")),
                       "order");
        });
    }
    static og_status get_order_by_broker_id(void* instance, og_str broker, og_str broker_order_id,
                                            const og_storage_sink* out, og_error* err) noexcept {
        return guarded(err, [&] {
            const char* R = "get_order_by_broker_id";
            emit_found(out,
                       self<Class>(instance)->get_order_by_broker_id(
                           abi::from_abi(broker, R, "broker"),
                           abi::from_abi(broker_order_id, R, "broker_order_id")),
                       "order");
        });
    }
    static og_status list_orders(void* instance, const og_order_query* query,
                                 const og_storage_sink* out, og_error* err) noexcept {
        return guarded(err, [&] {
            OrderQuery q = abi::from_abi(query);
            emit_page(out, self<Class>(instance)->list_orders(q));
        });
    }
    static og_status list_events(void* instance, og_str order_id, int64_t after_seq,
                                 uint32_t limit, const og_storage_sink* out,
                                 og_error* err) noexcept {
        return guarded(err, [&] {
            std::vector<OrderEvent> events = self<Class>(instance)->list_events(
                abi::from_abi(order_id, "list_events", "order_id"), after_seq, limit);
            for (const OrderEvent& e : events) emit(out, e);
        });
    }
    static og_status list_fills(void* instance, const og_fill_query* query,
                                const og_storage_sink* out, og_error* err) noexcept {
        return guarded(err, [&] {
            FillQuery q = abi::from_abi(query);
            emit_page(out, self<Class>(instance)->list_fills(q));
        });
    }
    static og_status get_gtt(void* instance, og_str gtt_id, const og_storage_sink* out,
                             og_error* err) noexcept {
        return guarded(err, [&] {
            emit_found(out,
                       self<Class>(instance)->get_gtt(abi::from_abi(gtt_id, "get_gtt", "gtt_id")),
                       "gtt");
        });
    }
    static og_status list_gtts(void* instance, const og_str* account_ids, size_t account_count,
                               int32_t active_only, og_str cursor, uint32_t limit,
                               const og_storage_sink* out, og_error* err) noexcept {
        return guarded(err, [&] {
            const char* R = "list_gtts";
            emit_page(out, self<Class>(instance)->list_gtts(
                               abi::from_abi(account_ids, account_count, R, "account_ids"),
                               active_only != 0, abi::from_abi(cursor, R, "cursor"), limit));
        });
    }
    static og_status list_recon_runs(void* instance, og_str broker, og_str cursor, uint32_t limit,
                                     const og_storage_sink* out, og_error* err) noexcept {
        return guarded(err, [&] {
            const char* R = "list_recon_runs";
            emit_page(out, self<Class>(instance)->list_recon_runs(
                               abi::from_abi(broker, R, "broker"),
                               abi::from_abi(cursor, R, "cursor"), limit));
        });
    }

    static og_status idempotency_begin(void* instance, const og_idempotency_record* record,
                                       int64_t now_ns, const og_storage_sink* out,
                                       og_error* err) noexcept {
        og_status result = OG_OK;
        og_status st = guarded(err, [&] {
            std::optional<IdempotencyRecord> held =
                self<Class>(instance)->idempotency_begin(abi::from_abi(record), now_ns);
            if (held) {
                emit(out, *held);
                result = OG_CONFLICT;
            }
        });
        return st == OG_OK ? result : st;
    }
    static og_status idempotency_complete(void* instance, const og_idempotency_record* record,
                                          int64_t now_ns, og_error* err) noexcept {
        og_status result = OG_OK;
        og_status st = guarded(err, [&] {
            if (!self<Class>(instance)->idempotency_complete(abi::from_abi(record), now_ns))
                result = OG_CONFLICT;
        });
        return st == OG_OK ? result : st;
    }
    static og_status idempotency_release(void* instance, og_str key, og_str fingerprint,
                                         int64_t now_ns, og_error* err) noexcept {
        return guarded(err, [&] {
            const char* R = "idempotency_release";
            self<Class>(instance)->idempotency_release(abi::from_abi(key, R, "key"),
                                                       abi::from_abi(fingerprint, R, "fingerprint"),
                                                       now_ns);
        });
    }
    static og_status idempotency_purge(void* instance, int64_t now_ns, uint32_t limit,
                                       uint64_t* deleted, og_error* err) noexcept {
        return guarded(err, [&] {
            uint64_t n = self<Class>(instance)->idempotency_purge(now_ns, limit);
            if (deleted != nullptr) *deleted = n;
        });
    }
    static og_status lease_acquire(void* instance, og_str name, og_str holder, int64_t now_ns,
                                   int64_t ttl_ns, int32_t* held, og_error* err) noexcept {
        return guarded(err, [&] {
            const char* R = "lease_acquire";
            if (held == nullptr) throw Error(Status::InvalidArgument, "lease_acquire: NULL held");
            *held = self<Class>(instance)->lease_acquire(abi::from_abi(name, R, "name"),
                                                         abi::from_abi(holder, R, "holder"),
                                                         now_ns, ttl_ns)
                        ? 1
                        : 0;
        });
    }
    static og_status lease_release(void* instance, og_str name, og_str holder,
                                   og_error* err) noexcept {
        return guarded(err, [&] {
            const char* R = "lease_release";
            self<Class>(instance)->lease_release(abi::from_abi(name, R, "name"),
                                                 abi::from_abi(holder, R, "holder"));
        });
    }

    static og_status get_order_by_request_id(void* instance, og_str account_id,
                                             og_str request_id, const og_storage_sink* out,
                                             og_error* err) noexcept {
        return guarded(err, [&] {
            const char* R = "get_order_by_request_id";
            emit_found(out,
                       self<Class>(instance)->get_order_by_request_id(
                           abi::from_abi(account_id, R, "account_id"),
                           abi::from_abi(request_id, R, "request_id")),
                       "order");
        });
    }
    // ---- appended in ABI 1.4 (event log) ----
    static og_status list_account_events(void* instance, og_str account_id, int64_t after_seq,
                                         uint32_t limit, const og_storage_sink* out,
                                         int64_t* oldest_seq, int64_t* last_seq,
                                         og_error* err) noexcept {
        return guarded(err, [&] {
            AccountEventPage page = self<Class>(instance)->list_account_events(
                abi::from_abi(account_id, "list_account_events", "account_id"), after_seq, limit);
            for (const AccountEvent& e : page.items) emit(out, e);
            if (oldest_seq != nullptr) *oldest_seq = page.oldest_seq;
            if (last_seq != nullptr) *last_seq = page.last_seq;
        });
    }
    static og_status prune_account_events(void* instance, int64_t before_ns, uint32_t limit,
                                          uint64_t* deleted, og_error* err) noexcept {
        return guarded(err, [&] {
            uint64_t n = self<Class>(instance)->prune_account_events(before_ns, limit);
            if (deleted != nullptr) *deleted = n;
        });
    }
    static og_status wait_account_events(void* instance, int64_t timeout_ms,
                                         const og_storage_sink* out, og_error* err) noexcept {
        return guarded(err, [&] {
            for (const AccountEvent& e :
                 self<Class>(instance)->wait_account_events(millis(timeout_ms)))
                emit(out, e);
        });
    }

    static og_status idempotency_get(void* instance, og_str key, int64_t now_ns,
                                     const og_storage_sink* out, og_error* err) noexcept {
        return guarded(err, [&] {
            emit_found(out,
                       self<Class>(instance)->idempotency_get(
                           abi::from_abi(key, "idempotency_get", "key"), now_ns),
                       "idempotency record");
        });
    }

    static const og_storage_vtable* table() noexcept {
        static const og_storage_vtable t = [] {
            og_storage_vtable v{};
            v.size = sizeof(og_storage_vtable);
            v.create = &create;
            v.destroy = &destroy;
            v.migrate = &migrate;
            v.ping = &ping;
            v.write_batch = &write_batch;
            v.get_order = &get_order;
            v.get_order_by_client_id = &get_order_by_client_id;
            v.get_order_by_broker_id = &get_order_by_broker_id;
            v.list_orders = &list_orders;
            v.list_events = &list_events;
            v.list_fills = &list_fills;
            v.get_gtt = &get_gtt;
            v.list_gtts = &list_gtts;
            v.list_recon_runs = &list_recon_runs;
            v.idempotency_begin = &idempotency_begin;
            v.idempotency_complete = &idempotency_complete;
            v.idempotency_release = &idempotency_release;
            v.idempotency_purge = &idempotency_purge;
            v.lease_acquire = &lease_acquire;
            v.lease_release = &lease_release;
            // appended in ABI 1.4 (sdk14)
            v.write_batch_v2 = &write_batch_v2;
            v.create_v2 = &create_v2;
            v.get_order_by_request_id = &get_order_by_request_id;
            v.list_account_events = &list_account_events;  // appended in ABI 1.4 (event log)
            v.prune_account_events = &prune_account_events;
            v.wait_account_events = &wait_account_events;
            v.idempotency_get = &idempotency_get;  // appended in ABI 1.7
            return v;
        }();
        return &t;
    }

    static const og_plugin_descriptor* entry(const og_host_services* services, const char* name,
                                             const char* version) noexcept {
        ServicesSlot<Tag>::store(services);
        static const og_plugin_descriptor d = [&] {
            og_plugin_descriptor x{};
            x.size = sizeof(og_plugin_descriptor);
            x.abi_major = OG_ABI_MAJOR;
            x.abi_minor = OG_ABI_MINOR;
            x.kind = OG_KIND_STORAGE;
            x.name = literal(name);
            x.version = literal(version);
            x.sdk_version = literal(ORDERGATE_SDK_VERSION_STRING);
            x.capabilities = 0;
            x.vtable = table();
            return x;
        }();
        return &d;
    }
};

#undef OG_HAS_CALLBACK

}  // namespace detail
}  // namespace ordergate::sdk

// The entry function and its Boost.DLL alias. The alias name must equal OG_PLUGIN_ENTRY_NAME.
#define ORDERGATE_DETAIL_EXPORT_ENTRY(body)                                                      \
    namespace {                                                                                  \
    struct OrdergatePluginTag_ {};                                                               \
    const og_plugin_descriptor* ordergate_plugin_entry_impl_(                                    \
        uint32_t /*host_abi_major*/, uint32_t /*host_abi_minor*/,                                \
        const og_host_services* services) noexcept {                                             \
        return body;                                                                             \
    }                                                                                            \
    [[maybe_unused]] og_plugin_entry_fn* const ordergate_plugin_entry_check_ =                   \
        &ordergate_plugin_entry_impl_;                                                           \
    }                                                                                            \
    BOOST_DLL_ALIAS(ordergate_plugin_entry_impl_, ordergate_plugin_entry)

// Exports Class as a broker plugin. Use once, at global namespace scope, in one .cpp file.
//   Class        derives from ordergate::sdk::BrokerPlugin, constructible from
//                const ordergate::sdk::PluginContext&
//   Name         string literal, e.g. "broker-paper" (what `ordergate plugin list` shows)
//   Version      string literal, the plugin's own release version
//   Capabilities OG_CAP_* flags; the host never calls what is not declared
#define ORDERGATE_BROKER_PLUGIN(Class, Name, Version, Capabilities)                             \
    ORDERGATE_DETAIL_EXPORT_ENTRY(                                                               \
        (::ordergate::sdk::detail::BrokerExport<Class, OrdergatePluginTag_>::entry(             \
            services, Name, Version, static_cast<uint64_t>(Capabilities))))

// Exports Class as a storage plugin. Use once, at global namespace scope, in one .cpp file.
#define ORDERGATE_STORAGE_PLUGIN(Class, Name, Version)                                          \
    ORDERGATE_DETAIL_EXPORT_ENTRY(                                                               \
        (::ordergate::sdk::detail::StorageExport<Class, OrdergatePluginTag_>::entry(            \
            services, Name, Version)))
