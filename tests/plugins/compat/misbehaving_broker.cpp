// A broker that looks healthy — it acks, fills at once and pushes its events from a worker
// thread — but breaks the event contract in the one way the config key `misbehave` names. The
// conformance tests run `ordergate plugin check` on it and expect the kit to name each break.
//   (absent)           correct: the kit passes it
//   redelivered_fill   every fill is sent twice, same trade id, same content (legal: the host
//                      de-duplicates by trade id; the kit must pass it)
//   duplicate_fill     every fill is sent again under a new trade id: one execution counted twice
//   conflicting_fill   a fill's trade id is sent again with another quantity
//   overfill           one more fill once the order is complete; the final report says
//                      filled > quantity
//   broker_id_changes  pushed updates and fills name the order by another broker order id than
//                      the ack (and get_order) did
//   sink_after_stop    the destructor (the plugin's destroy(), after stop returned) reports the
//                      connection down through the sink
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "ordergate/sdk.hpp"

namespace {

using namespace ordergate;

class MisbehavingBroker : public sdk::BrokerPlugin {
public:
    explicit MisbehavingBroker(const sdk::PluginContext& ctx)
        : mode_(ctx.config.get_or("misbehave", "")), sink_(ctx.sink) {
        static const char* known[] = {"",          "redelivered_fill", "duplicate_fill",
                                      "conflicting_fill", "overfill",  "broker_id_changes",
                                      "sink_after_stop"};
        bool ok = false;
        for (const char* k : known) ok = ok || mode_ == k;
        if (!ok) throw sdk::Error(Status::InvalidArgument, "unknown misbehave '" + mode_ + "'");
    }
    ~MisbehavingBroker() override {
        stop();
        // The break: the sink is only valid until stop() returned.
        if (mode_ == "sink_after_stop") sink_.connection(false, "shut down");
    }

    void start() override {
        std::lock_guard<std::mutex> lock(mu_);
        if (worker_.joinable() || stopping_) return;
        worker_ = std::thread([this] { run(); });
    }
    void stop() override {
        {
            std::lock_guard<std::mutex> lock(mu_);
            stopping_ = true;
        }
        cv_.notify_all();
        if (worker_.joinable()) worker_.join();
    }

    OrderReport place_order(const OrderRequest& r, std::chrono::milliseconds) override {
        if (!r.quantity.is_positive())
            throw sdk::Error(Status::InvalidArgument, "quantity must be positive");
        std::lock_guard<std::mutex> lock(mu_);
        for (const auto& kv : orders_)
            if (kv.second.client_order_id == r.client_order_id)
                throw sdk::Error(Status::Rejected, "duplicate client order id");
        OrderReport o;
        o.broker_order_id = "mb-" + std::to_string(++next_id_);
        o.client_order_id = r.client_order_id;
        o.account_id = r.account_id;
        o.symbol = r.symbol;
        o.exchange = r.exchange;
        o.side = r.side;
        o.order_type = r.order_type;
        o.time_in_force = r.time_in_force;
        o.status = OrderStatus::PendingNew;
        o.quantity = r.quantity;
        orders_[o.broker_order_id] = o;
        queue_.push_back(o.broker_order_id);
        cv_.notify_all();
        return o;
    }
    OrderReport cancel_order(const std::string&, const std::string& broker_order_id,
                             const std::string& client_order_id,
                             std::chrono::milliseconds) override {
        OrderReport o = get_order("", broker_order_id, client_order_id);
        throw sdk::Error(Status::Rejected, "order " + o.broker_order_id + " is " +
                                               std::string(to_string(o.status)));
    }
    OrderReport get_order(const std::string&, const std::string& broker_order_id,
                          const std::string& client_order_id) override {
        std::lock_guard<std::mutex> lock(mu_);
        for (const auto& kv : orders_)
            if (broker_order_id.empty() ? kv.second.client_order_id == client_order_id
                                        : kv.first == broker_order_id)
                return kv.second;
        throw sdk::Error(Status::NotFound, "no such order");
    }

private:
    // Executes queued orders in full at a fixed price and pushes what happened.
    void run() {
        std::unique_lock<std::mutex> lock(mu_);
        while (true) {
            cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            std::string id = queue_.front();
            queue_.pop_front();
            OrderReport& o = orders_[id];
            o.status = OrderStatus::Open;
            OrderReport open = o;
            Fill f;
            f.broker_trade_id = "t-" + std::to_string(++next_trade_);
            f.broker_order_id = o.broker_order_id;
            f.client_order_id = o.client_order_id;
            f.account_id = o.account_id;
            f.symbol = o.symbol;
            f.exchange = o.exchange;
            f.side = o.side;
            f.quantity = o.quantity;
            f.price = Decimal::must_parse("100.25");
            std::vector<Fill> fills{f};
            Decimal filled = o.quantity;
            if (mode_ == "redelivered_fill") fills.push_back(f);
            if (mode_ == "duplicate_fill") {
                Fill again = f;
                again.broker_trade_id = f.broker_trade_id + "-again";
                fills.push_back(again);
            }
            if (mode_ == "conflicting_fill") {
                Fill other = f;
                other.quantity = Decimal::must_parse("0.5");
                fills.push_back(other);
            }
            if (mode_ == "overfill") {
                Fill extra = f;
                extra.broker_trade_id = "t-" + std::to_string(++next_trade_);
                extra.quantity = Decimal::must_parse("1");
                fills.push_back(extra);
                filled += extra.quantity;
            }
            o.status = OrderStatus::Filled;
            o.filled_quantity = filled;
            o.average_fill_price = f.price;
            OrderReport done = o;
            if (mode_ == "broker_id_changes") {
                // The stream's id for the order (the exchange's), not the one the ack gave.
                const std::string stream_id = "X" + o.broker_order_id;
                open.broker_order_id = done.broker_order_id = stream_id;
                for (Fill& x : fills) x.broker_order_id = stream_id;
            }
            // Events are pushed unlocked (the host may call into the plugin meanwhile); stop()
            // joins this thread, so none is sent after it returns.
            lock.unlock();
            sink_.order_update(open);
            for (const Fill& x : fills) sink_.fill(x);
            sink_.order_update(done);
            lock.lock();
        }
    }

    const std::string mode_;
    const sdk::EventSink sink_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::map<std::string, OrderReport> orders_;
    std::deque<std::string> queue_;
    int next_id_ = 0;
    int next_trade_ = 0;
    bool stopping_ = false;
    std::thread worker_;
};

}  // namespace

ORDERGATE_BROKER_PLUGIN(MisbehavingBroker, "misbehaving-broker", "0.0.1",
                        OG_CAP_ORDER_MARKET | OG_CAP_TIF_DAY | OG_CAP_QUERY_BY_CLIENT_ID |
                            OG_CAP_PUSH_EVENTS)
