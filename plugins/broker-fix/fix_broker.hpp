// broker-fix: a broker over a FIX 4.2 or 4.4 session (QuickFIX SocketInitiator).
//
// Orders, cancels and replaces are sent and answered OG_PENDING ("sent, awaiting
// acknowledgement"); the venue's ExecutionReports and OrderCancelRejects reach the host through
// the event sink. Status and mass status requests answer get_order and list_orders.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fix_session.hpp"
#include "ordergate/sdk.hpp"
#include "replace_journal.hpp"

namespace ordergate::fixplugin {

struct FixSettings {
    SessionConfig session;
    std::chrono::milliseconds status_timeout{5000};
    std::chrono::milliseconds logon_wait{5000};  // how long start() waits for the first logon
    bool fix44 = true;
    // OG_CAP_BATCHED_EVENTS (ABI 1.6): the host applies the pushed reports in batches, the
    // session persisting the incoming sequence number only up to what the host stored.
    bool batched_events = true;
    // `replace: cancel_new` (a venue without OrderCancelReplaceRequest): a modify is a cancel of
    // the working venue order, then a new order for the rest (OG_CAP_MODIFY_EMULATED).
    bool emulate_replace = false;
};

// Parses and checks the instance's settings (sdk::Error InvalidArgument naming the key).
FixSettings parse_settings(const sdk::Config& config);

// Capabilities of an instance with these settings (ABI 1.4: decided per instance).
uint64_t capabilities_for(const FixSettings& settings);

class FixBroker : public sdk::BrokerPlugin, public FixListener {
  public:
    explicit FixBroker(const sdk::PluginContext& ctx);
    ~FixBroker() override;

    void start() override;
    void stop() override;
    OrderReport place_order(const OrderRequest& request,
                            std::chrono::milliseconds timeout) override;
    OrderReport modify_order(const ModifyRequest& request,
                             std::chrono::milliseconds timeout) override;
    OrderReport cancel_order(const std::string& account_id, const std::string& broker_order_id,
                             const std::string& client_order_id,
                             std::chrono::milliseconds timeout) override;
    OrderReport cancel_request(const CancelRequest& request,
                               std::chrono::milliseconds timeout) override;
    OrderReport get_order(const std::string& account_id, const std::string& broker_order_id,
                          const std::string& client_order_id) override;
    std::vector<OrderReport> list_orders(const std::string& account_id, bool open_only,
                                         int64_t since_ns) override;
    void ping(std::chrono::milliseconds timeout) override;
    std::optional<uint64_t> instance_capabilities() const override { return caps_; }

  private:
    // What the plugin knows of one order it sent, found by any ClOrdID of its chain.
    struct Order {
        std::string client_order_id;  // the host's id, ClOrdID of the NewOrderSingle
        std::string account_id, symbol, exchange;
        Side side = Side::Buy;
        OrderType order_type = OrderType::Limit;
        TimeInForce time_in_force = TimeInForce::Day;
        Decimal quantity;
        std::optional<Decimal> price;
        std::string broker_order_id;  // OrderID (37)
        std::string accepted_id;      // the last ClOrdID the venue accepted (next OrigClOrdID)
        std::string pending_id;       // ClOrdID of the cancel/replace in flight
        char pending_kind = 0;        // 'R' replace, 'C' cancel
        OrderStatus status = OrderStatus::PendingNew;
        Decimal cum_qty;
        std::optional<Decimal> avg_px, leaves_qty;
        bool answered = false;  // a first report came

        // Emulated replaces (`replace: cancel_new`): the order is a chain of venue orders, the
        // working one under accepted_id, the earlier ones cancelled. quantity, cum_qty and avg_px
        // above are the chain's (what the host sees); broker_order_id stays the first OrderID.
        std::string leg_order_id;           // OrderID of the working venue order, once known
        Decimal base_qty;                      // what the earlier venue orders executed
        std::optional<Decimal> base_notional = Decimal(0, 0);  // and its value (absent: too
                                                               // large for a Decimal)
        std::set<std::string> old_leg_ids;  // ClOrdIDs of the earlier orders and their cancels
        struct Emulation {
            std::string request_id;  // the host's modify; ClOrdID of the cancel
            Decimal quantity;        // the order's whole quantity after it
            std::optional<Decimal> price;
            std::string cancel_request_id;  // a cancel the host asked meanwhile: no new order
        };
        std::optional<Emulation> emulating;  // the cancel is out, the new order not yet sent
        bool chained() const { return !old_leg_ids.empty(); }
        // The OrderID to name the working venue order by ("" when not known yet).
        const std::string& venue_order_id() const {
            return chained() ? leg_order_id : broker_order_id;
        }
    };
    using OrderPtr = std::shared_ptr<Order>;

    // A get_order / list_orders call waiting for its reports.
    struct Waiter {
        std::vector<FixMessage> reports;
        bool done = false;
        bool mass = false;
        std::string failure;
    };
    using WaiterPtr = std::shared_ptr<Waiter>;

    // FixListener (the session's dispatch thread).
    bool on_message(const FixMessage& msg) override;
    SyncAnswer sync_pushed(int timeout_ms) override;
    void on_logon(size_t caught_up, bool confirmed) override;
    void on_logout(const std::string& why) override;
    void log_error(const std::string& line) override;

    // Each returns whether it pushed an event to the host.
    bool on_execution_report(const FixMessage& m);
    bool on_cancel_reject(const FixMessage& m);
    void on_business_reject(const FixMessage& m);
    bool answer_waiters(const FixMessage& m);

    OrderPtr find_locked(const std::string& cl, const std::string& orig,
                         const std::string& order_id) const;
    // An order from a report of the venue (mu_ held): registered under its ids and returned.
    OrderPtr learn_locked(const FixMessage& m, const std::string& client_order_id,
                          const std::string& account_id);
    // Asks the venue about an order this instance did not send (placed before a restart or by
    // another gateway of the firm) so that it can be cancelled or replaced; throws sdk::Error
    // (NotFound when the venue does not know it).
    void learn_if_unknown(const std::string& account_id, const std::string& client_order_id,
                          const std::string& orig_request_id, const std::string& broker_order_id);
    OrderReport report_from(const Order& o, const FixMessage& m) const;
    // modify_order with `replace: cancel_new`: sends the cancel and answers OG_PENDING.
    void send_emulated_modify(const ModifyRequest& r, const std::string& request_id);
    // The cancel of an emulated modify is done (mu_ held): the new venue order's message to send
    // (empty when nothing is left to place), or the report answering the modify in `report`.
    FieldList finish_emulated_cancel(const OrderPtr& o, const FixMessage& m, OrderReport* report,
                                     bool* push);
    // Orders of emulated replaces, from the journal (constructor).
    void load_replace_journal();
    OrderReport report_of(const Order& o) const;
    // The order's in-flight modify or cancel `request_id` refused by the venue with `text`: the
    // order back to its last confirmed state (mu_ held); the report to push.
    OrderReport refuse_pending_locked(Order& o, const std::string& request_id,
                                      const std::string& text);
    // get_order; on 4.2 the answer may also come under `latest_id` (the chain's latest ClOrdID).
    OrderReport ask_status(const std::string& account_id, const std::string& broker_order_id,
                           const std::string& client_order_id, const std::string& latest_id);
    std::string next_id(const char* prefix);
    std::string transact_time() const;
    void require_logged_on() const;
    std::vector<FixMessage> wait(const std::vector<std::string>& keys, const WaiterPtr& w,
                                 const std::string& msg_type, const FieldList& fields);

    sdk::Host host_;
    sdk::EventSink sink_;
    FixSettings settings_;
    uint64_t caps_ = 0;
    std::unique_ptr<FixSession> session_;
    ReplaceJournal journal_;

    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::map<std::string, OrderPtr> by_cl_ord_id_;  // every ClOrdID of every chain
    std::map<std::string, OrderPtr> by_order_id_;
    std::set<std::string> seen_exec_ids_;
    std::map<std::string, WaiterPtr> waiters_;
    uint64_t counter_ = 0;
    std::string run_tag_;
};

}  // namespace ordergate::fixplugin
