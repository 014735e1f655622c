#include "orders/order_service.hpp"

#include <spdlog/spdlog.h>

#include "orders/order_service_internal.hpp"
#include "orders/storage_error.hpp"

namespace ordergate::orders {

using detail::broker_unavailable;

Result<OrderRecord> OrderService::get(const std::string& id, const AccountScope& scope) {
    auto e = resolve(id, scope);
    if (!e) return fail(e.error());
    std::lock_guard lock((*e)->mutex);
    return (*e)->rec;
}

Result<Page<OrderRecord>> OrderService::list(OrderQuery query, const AccountScope& scope) {
    if (!scope.all) {
        if (query.account_ids.empty()) {
            query.account_ids = scope.accounts;
        } else {
            std::vector<std::string> allowed;
            for (const auto& a : query.account_ids)
                if (scope.allows(a)) allowed.push_back(a);
            query.account_ids = std::move(allowed);
        }
        if (query.account_ids.empty()) return Page<OrderRecord>{};
    }
    Page<OrderRecord> page;
    try {
        // Acks and fills are written behind the answers already given: storage must hold every
        // change a client has seen before a filter (status=OPEN) runs on it. Costs one lock when
        // no such write is pending, else one group commit; an intent still being written (not
        // yet answered) is not waited for.
        writer_.flush_answered();
        page = storage_.list_orders(query);
    } catch (const sdk::Error& err) {
        return fail(storage_error(err, StorageAccess::Read, "list_orders"));
    }
    // Changes made since the flush are newer in memory.
    for (auto& item : page.items) {
        if (auto e = cached(item.id)) {
            std::lock_guard lock(e->mutex);
            if (e->rec.version > item.version) item = e->rec;
        }
    }
    return page;
}

Result<std::vector<OrderEvent>> OrderService::events(const std::string& id,
                                                     const AccountScope& scope, int64_t after_seq,
                                                     uint32_t limit) {
    auto e = resolve(id, scope);
    if (!e) return fail(e.error());
    std::string order_id;
    {
        std::lock_guard lock((*e)->mutex);
        order_id = (*e)->rec.id;
    }
    try {
        writer_.flush_answered();  // the trail includes every change answered so far
        return storage_.list_events(order_id, after_seq, limit);
    } catch (const sdk::Error& err) {
        return fail(storage_error(err, StorageAccess::Read, "list_events"));
    }
}

void OrderService::each_event(const std::string& order_id,
                              const std::function<bool(const OrderEvent&)>& visit) {
    int64_t after = 0;
    for (;;) {
        std::vector<OrderEvent> evs = storage_.list_events(order_id, after, 500);
        for (const OrderEvent& ev : evs) {
            after = ev.seq;
            if (!visit(ev)) return;
        }
        if (evs.size() < 500) return;
    }
}

Result<Page<FillRecord>> OrderService::trades(FillQuery query, const AccountScope& scope) {
    if (!scope.all) {
        if (query.account_ids.empty()) {
            query.account_ids = scope.accounts;
        } else {
            std::vector<std::string> allowed;
            for (const auto& a : query.account_ids)
                if (scope.allows(a)) allowed.push_back(a);
            query.account_ids = std::move(allowed);
        }
        if (query.account_ids.empty()) return Page<FillRecord>{};
    }
    if (!query.order_id.empty()) {
        auto e = resolve(query.order_id, scope);
        if (!e && e.error().code == ErrorCode::NotFound) return Page<FillRecord>{};
        if (!e) return fail(e.error());
    }
    try {
        writer_.flush_answered();  // fills are written behind: list every one a client saw
        return storage_.list_fills(query);
    } catch (const sdk::Error& err) {
        return fail(storage_error(err, StorageAccess::Read, "list_fills"));
    }
}

Result<Account> OrderService::account(const std::string& account_id, const AccountScope& scope) {
    if (!scope.allows(account_id))
        return fail(ErrorCode::NotFound, "account '" + account_id + "' not found");
    auto r = route(account_id);
    if (!r) return fail(r.error());
    if (!r->broker->has(OG_CAP_REPORT_ACCOUNT))
        return fail(ErrorCode::UnsupportedByBroker,
                    "broker '" + r->name + "' does not report account state");
    auto t0 = std::chrono::steady_clock::now();
    try {
        Account a = r->broker->account(account_id);
        record_broker_call(r->name, "account", Status::Ok, t0);
        a.account_id = account_id;
        return a;
    } catch (const sdk::Error& e) {
        record_broker_call(r->name, "account", e.status(), t0);
        spdlog::warn("event=broker_call_failed op=account broker={} account_id={} status={} "
                     "error=\"{}\"",
                     r->name, account_id, to_string(e.status()), e.what());
        if (e.status() == Status::NotFound)
            return fail(ErrorCode::NotFound, "account '" + account_id + "' not found");
        return fail(broker_unavailable(r->name, e.status(), ""));
    }
}

Result<OrderService::QuoteView> OrderService::quote(const std::string& account_id,
                                                    const std::string& symbol,
                                                    const std::string& exchange,
                                                    const AccountScope& scope) {
    if (!scope.allows(account_id))
        return fail(ErrorCode::NotFound, "account '" + account_id + "' not found");
    auto r = route(account_id);
    if (!r) return fail(r.error());
    const int64_t now = clock_->now_ns();
    constexpr int64_t kFresh = 1'000'000'000;  // a pushed price this recent is current
    auto pushed = prices_.last_quote(symbol, exchange);
    auto from_stream = [&] {
        QuoteView v{
            Quote{symbol, exchange, pushed->price, std::nullopt, std::nullopt, pushed->at_ns},
            r->name, "stream"};
        return v;
    };
    if (pushed && now - pushed->at_ns <= kFresh) return from_stream();
    if (!r->broker->has(OG_CAP_QUOTES)) {
        if (pushed) return from_stream();
        return fail(ErrorCode::UnsupportedByBroker,
                    "broker '" + r->name + "' gives no quotes and has pushed no price for " +
                        symbol + " on " + exchange);
    }
    auto t0 = std::chrono::steady_clock::now();
    try {
        Quote q = r->broker->quote(symbol, exchange);
        record_broker_call(r->name, "quote", Status::Ok, t0);
        q.symbol = symbol;
        q.exchange = exchange;
        if (q.at_ns == 0) q.at_ns = now;
        return QuoteView{std::move(q), r->name, "broker"};
    } catch (const sdk::Error& e) {
        record_broker_call(r->name, "quote", e.status(), t0);
        spdlog::warn(
            "event=broker_call_failed op=quote broker={} account_id={} symbol={} "
            "exchange={} status={} error=\"{}\"",
            r->name, account_id, symbol, exchange, to_string(e.status()), e.what());
        if (e.status() == Status::NotFound)
            return fail(ErrorCode::NotFound, "broker '" + r->name + "' knows no instrument " +
                                                 symbol + " on " + exchange);
        if (e.status() == Status::InvalidArgument)
            return fail(ErrorCode::BrokerRejected,
                        "broker refused the quote: " + detail::client_text(e.what()));
        return fail(broker_unavailable(r->name, e.status(), ""));
    }
}

size_t OrderService::open_orders() const {
    std::shared_lock lock(cache_mutex_);
    return by_id_.size();
}
}  // namespace ordergate::orders
