// A broker that declares OG_CAP_INLINE_CALLS (SDK 1.7.1: every call returns promptly), for the
// loader's tests of calls made on the caller's thread. place_order pushes an OPEN update
// through the sink before it answers, so a test sees on which thread the call ran. The setting
// `block_ms` makes place_order break the promise: after that update it sleeps that long, ignoring
// its deadline, then answers OPEN.
#include <chrono>
#include <string>
#include <thread>

#include "ordergate/sdk.hpp"

namespace {

using namespace ordergate;

class InlineBroker : public sdk::BrokerPlugin {
public:
    explicit InlineBroker(const sdk::PluginContext& ctx)
        : sink_(ctx.sink),
          block_(std::chrono::milliseconds(std::stoll(ctx.config.get_or("block_ms", "0")))) {}

    OrderReport place_order(const OrderRequest& r, std::chrono::milliseconds) override {
        OrderReport report;
        report.broker_order_id = "I-" + r.client_order_id;
        report.client_order_id = r.client_order_id;
        report.account_id = r.account_id;
        report.symbol = r.symbol;
        report.exchange = r.exchange;
        report.side = r.side;
        report.order_type = r.order_type;
        report.time_in_force = r.time_in_force;
        report.status = OrderStatus::Open;
        report.quantity = r.quantity;
        report.filled_quantity = Decimal();
        sink_.order_update(report);
        if (block_.count() > 0) std::this_thread::sleep_for(block_);
        return report;
    }
    OrderReport cancel_order(const std::string&, const std::string&, const std::string&,
                             std::chrono::milliseconds) override {
        throw sdk::Error(Status::NotFound, "no such order");
    }
    OrderReport get_order(const std::string&, const std::string&, const std::string&) override {
        throw sdk::Error(Status::NotFound, "no such order");
    }

private:
    sdk::EventSink sink_;
    std::chrono::milliseconds block_;
};

}  // namespace

ORDERGATE_BROKER_PLUGIN(InlineBroker, "inline-broker", "0.0.1",
                        OG_CAP_ORDER_MARKET | OG_CAP_TIF_DAY | OG_CAP_PUSH_EVENTS |
                            OG_CAP_INLINE_CALLS)
