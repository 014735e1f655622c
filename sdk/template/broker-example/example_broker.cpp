// broker-example: a tiny in-memory venue showing the whole shape of a broker plugin.
// MARKET orders are acknowledged and filled at once at `fill_price`; the order update and the fill
// are pushed through the event sink from the plugin's own thread, started in start() and joined
// in stop(). Every function may be called from several host threads at once, hence the mutex.
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <variant>

#include "ordergate/sdk.hpp"

namespace example {

using namespace ordergate;

class ExampleBroker : public sdk::BrokerPlugin {
public:
    explicit ExampleBroker(const sdk::PluginContext& ctx)
        : host_(ctx.host), sink_(ctx.sink),
          fill_price_(ctx.config.get_decimal("fill_price", Decimal::must_parse("100"))) {}

    ~ExampleBroker() override { stop(); }

    void start() override {
        std::lock_guard<std::mutex> lock(mu_);
        if (worker_.joinable()) return;
        running_ = true;
        worker_ = std::thread([this] { push_events(); });
        host_.log(sdk::LogLevel::Info, "broker-example started");
    }

    void stop() override {
        {
            std::lock_guard<std::mutex> lock(mu_);
            running_ = false;
        }
        wake_.notify_all();
        if (worker_.joinable()) worker_.join();
    }

    OrderReport place_order(const OrderRequest& r, std::chrono::milliseconds) override {
        if (!r.quantity.is_positive())
            throw sdk::Error(Status::InvalidArgument, "quantity must be positive");
        if (r.order_type != OrderType::Market)
            throw sdk::Error(Status::Unsupported, "only MARKET orders are supported");
        std::lock_guard<std::mutex> lock(mu_);
        if (by_client_id_.count(r.client_order_id))
            throw sdk::Error(Status::Rejected, "duplicate client order id");
        OrderReport o;
        o.broker_order_id = "ex-" + std::to_string(++next_id_);
        o.client_order_id = r.client_order_id;
        o.account_id = r.account_id;
        o.symbol = r.symbol;
        o.exchange = r.exchange;
        o.side = r.side;
        o.order_type = r.order_type;
        o.time_in_force = r.time_in_force;
        o.quantity = r.quantity;
        o.status = OrderStatus::Open;
        o.leaves_quantity = o.quantity;  // ABI 1.3 detail: what is still working at the venue
        o.updated_at_ns = host_.now_ns();
        OrderReport ack = o;  // answered as acknowledged; the fill follows through the sink

        Fill f;
        f.broker_trade_id = "ex-trade-" + std::to_string(next_id_);
        f.broker_order_id = o.broker_order_id;
        f.client_order_id = o.client_order_id;
        f.account_id = o.account_id;
        f.symbol = o.symbol;
        f.exchange = o.exchange;
        f.side = o.side;
        f.quantity = o.quantity;
        f.price = fill_price_;
        f.executed_at_ns = o.updated_at_ns;
        o.status = OrderStatus::Filled;
        o.filled_quantity = o.quantity;
        o.leaves_quantity = Decimal();    // terminal: nothing works any more
        o.exec_id = f.broker_trade_id;    // the execution behind this report
        o.average_fill_price = fill_price_;
        orders_[o.broker_order_id] = o;
        by_client_id_[o.client_order_id] = o.broker_order_id;
        fills_.push_back(f);
        queue_.push_back(ack);
        queue_.push_back(f);
        queue_.push_back(o);
        wake_.notify_all();
        return ack;
    }

    OrderReport cancel_order(const std::string& account_id, const std::string& broker_order_id,
                             const std::string& client_order_id,
                             std::chrono::milliseconds) override {
        std::lock_guard<std::mutex> lock(mu_);
        const OrderReport& o = find(account_id, broker_order_id, client_order_id);
        throw sdk::Error(Status::Rejected,
                         "order " + o.broker_order_id + " is already " +
                             std::string(to_string(o.status)));
    }

    OrderReport get_order(const std::string& account_id, const std::string& broker_order_id,
                          const std::string& client_order_id) override {
        std::lock_guard<std::mutex> lock(mu_);
        return find(account_id, broker_order_id, client_order_id);
    }

    // The reports reconciliation reads. Their ABI 1.3 pages (list_orders_page, list_fills_page)
    // keep the SDK's default here: everything in one page through these two. A venue with long
    // histories overrides them to page with its own cursor.
    std::vector<OrderReport> list_orders(const std::string& account_id, bool open_only,
                                         int64_t since_ns) override {
        std::lock_guard<std::mutex> lock(mu_);
        std::vector<OrderReport> out;
        for (const auto& kv : orders_) {
            const OrderReport& o = kv.second;
            if (o.account_id != account_id) continue;
            if (open_only ? !is_terminal(o.status) : o.updated_at_ns >= since_ns) out.push_back(o);
        }
        return out;
    }

    std::vector<Fill> list_fills(const std::string& account_id, int64_t since_ns) override {
        std::lock_guard<std::mutex> lock(mu_);
        std::vector<Fill> out;
        for (const Fill& f : fills_)
            if (f.account_id == account_id && f.executed_at_ns >= since_ns) out.push_back(f);
        return out;
    }

private:
    // Caller holds mu_. Throws NotFound.
    const OrderReport& find(const std::string& account_id, const std::string& broker_order_id,
                            const std::string& client_order_id) {
        std::string id = broker_order_id;
        if (id.empty()) {
            auto it = by_client_id_.find(client_order_id);
            if (it != by_client_id_.end()) id = it->second;
        }
        auto it = orders_.find(id);
        if (it == orders_.end() || (!account_id.empty() && it->second.account_id != account_id))
            throw sdk::Error(Status::NotFound, "no such order");
        return it->second;
    }

    // The plugin's thread: pushes queued events until stop().
    void push_events() {
        std::unique_lock<std::mutex> lock(mu_);
        while (true) {
            wake_.wait(lock, [this] { return !running_ || !queue_.empty(); });
            if (queue_.empty() && !running_) return;
            std::deque<Event> batch;
            batch.swap(queue_);
            lock.unlock();  // never hold a lock while calling into the host
            for (const Event& e : batch) {
                if (const auto* report = std::get_if<OrderReport>(&e)) sink_.order_update(*report);
                else sink_.fill(std::get<Fill>(e));
            }
            lock.lock();
        }
    }

    using Event = std::variant<OrderReport, Fill>;

    sdk::Host host_;
    sdk::EventSink sink_;
    const Decimal fill_price_;
    std::mutex mu_;
    std::condition_variable wake_;
    bool running_ = false;
    std::thread worker_;
    std::deque<Event> queue_;
    std::map<std::string, OrderReport> orders_;
    std::map<std::string, std::string> by_client_id_;
    std::vector<Fill> fills_;
    int64_t next_id_ = 0;
};

}  // namespace example

ORDERGATE_BROKER_PLUGIN(example::ExampleBroker, "broker-example", "0.1.0",
                        OG_CAP_ORDER_MARKET | OG_CAP_TIF_DAY | OG_CAP_TIF_GTC |
                            OG_CAP_QUERY_BY_CLIENT_ID | OG_CAP_REPORT_OPEN_ORDERS |
                            OG_CAP_REPORT_RECENT_ORDERS | OG_CAP_REPORT_FILLS | OG_CAP_PUSH_EVENTS)
