#include "orders/fill_math.hpp"

#include "positions/effective_fills.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

namespace ordergate::orders {

void FillNotional::add(const Decimal& quantity, const Decimal& price) {
    value_ += positions::WideDecimal(price) * positions::WideDecimal(quantity);
    quantity_ += positions::WideDecimal(quantity);
}

AverageFillPrice FillNotional::average(const Decimal& filled, int32_t max_scale) const {
    if (!filled.is_positive()) throw DecimalError("average of a zero filled quantity");
    // Start at the quotient's natural scale (notional's minus filled's), so cents stay cents.
    return positions::WideDecimal::quotient(value_, positions::WideDecimal(filled),
                                            value_.scale() - filled.scale(), max_scale);
}

FillNotional FillNotional::from_average(const Decimal& average, const Decimal& filled) {
    FillNotional n;
    n.add(filled, average);
    n.from_fills_ = false;
    return n;
}

void for_each_stored_fill(ports::StoragePort& storage, const OrderRecord& order,
                          const std::function<void(const FillRecord&)>& each) {
    std::vector<FillRecord> records;
    bool changed = false;
    for_each_stored_record(storage, order, [&](const FillRecord& f) {
        changed = changed || f.kind != FillKind::Trade;
        records.push_back(f);
    });
    if (!changed) {
        for (const auto& f : records) each(f);
        return;
    }
    for (const auto& f : positions::effective_fills(records)) each(f);
}

std::vector<FillRecord> stored_fills_of_position(ports::StoragePort& storage,
                                                 const positions::PositionKey& key) {
    std::vector<FillRecord> out;
    FillQuery q;
    q.account_ids = {key.account_id};
    q.limit = 1000;
    for (;;) {
        Page<FillRecord> page = storage.list_fills(q);
        for (auto& f : page.items)
            if (f.broker == key.broker && f.symbol == key.symbol && f.exchange == key.exchange)
                out.push_back(std::move(f));
        if (page.next_cursor.empty()) break;
        q.cursor = page.next_cursor;
    }
    return out;
}

void for_each_stored_record(ports::StoragePort& storage, const OrderRecord& order,
                            const std::function<void(const FillRecord&)>& each) {
    FillQuery q;
    q.order_id = order.id;
    q.account_ids = {order.account_id};
    q.limit = 1000;
    for (;;) {
        Page<FillRecord> page = storage.list_fills(q);
        for (const auto& f : page.items)
            if (f.order_id == order.id) each(f);
        if (page.next_cursor.empty()) break;
        q.cursor = page.next_cursor;
    }
}

FillNotional rebuild_notional(ports::StoragePort& storage, const OrderRecord& order) {
    if (order.filled_quantity.is_zero()) return FillNotional();
    const char* why = "";
    try {
        FillNotional sum;
        for_each_stored_fill(storage, order,
                             [&](const FillRecord& f) { sum.add(f.quantity, f.price); });
        if (sum.covers(order.filled_quantity) || !order.average_fill_price) return sum;
        why = "stored fills do not add up to the filled quantity";
    } catch (const std::exception& ex) {
        spdlog::error("event=storage_read_failed op=list_fills order_id={} error=\"{}\"", order.id,
                      ex.what());
        why = "stored fills could not be read";
        if (!order.average_fill_price) return FillNotional::from_average(Decimal(), Decimal());
    }
    spdlog::warn("event=fill_notional_estimated order_id={} reason=\"{}\" detail=\"the average "
                 "fill price continues from average x filled ({} x {})\"",
                 order.id, why, order.average_fill_price->to_string(),
                 order.filled_quantity.to_string());
    return FillNotional::from_average(*order.average_fill_price, order.filled_quantity);
}

}  // namespace ordergate::orders
