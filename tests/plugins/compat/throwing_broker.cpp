// A broker written with sdk.hpp whose functions fail in every way C++ allows; the glue must turn
// each into a status and the host must survive all of them.
//   place_order       throws std::runtime_error            -> OG_INTERNAL "boom from place"
//   cancel_order      throws an int                        -> OG_INTERNAL
//   get_order         throws sdk::Error with Status::Ok    -> OG_INTERNAL
//   modify_order      throws sdk::Error with status 77     -> 77, which the host maps to Internal
//   list_orders       throws DecimalError                  -> OG_INTERNAL
//   positions         throws sdk::Error(Rejected, ...)     -> OG_REJECTED with the message
//   account           returns an Account with an invalid-looking but valid value (control)
#include "ordergate/sdk.hpp"

namespace {

using namespace ordergate;

class ThrowingBroker : public sdk::BrokerPlugin {
public:
    explicit ThrowingBroker(const sdk::PluginContext&) {}
    OrderReport place_order(const OrderRequest&, std::chrono::milliseconds) override {
        throw std::runtime_error("boom from place");
    }
    OrderReport cancel_order(const std::string&, const std::string&, const std::string&,
                             std::chrono::milliseconds) override {
        throw 42;
    }
    OrderReport get_order(const std::string&, const std::string&, const std::string&) override {
        throw sdk::Error(Status::Ok, "ok is not an error");
    }
    OrderReport modify_order(const ModifyRequest&, std::chrono::milliseconds) override {
        throw sdk::Error(static_cast<Status>(77), "a status from the future");
    }
    std::vector<OrderReport> list_orders(const std::string&, bool, int64_t) override {
        throw DecimalError("decimal overflow");
    }
    std::vector<Position> positions(const std::string&) override {
        throw sdk::Error(Status::Rejected, "not today");
    }
    Account account(const std::string& id) override {
        Account a;
        a.account_id = id;
        a.currency = "USD";
        a.cash = Decimal::must_parse("100.25");
        return a;
    }
};

}  // namespace

ORDERGATE_BROKER_PLUGIN(ThrowingBroker, "throwing-broker", "0.0.1",
                        OG_CAP_ORDER_MARKET | OG_CAP_TIF_DAY | OG_CAP_MODIFY |
                            OG_CAP_MODIFY_QUANTITY | OG_CAP_REPORT_OPEN_ORDERS |
                            OG_CAP_REPORT_POSITIONS | OG_CAP_REPORT_ACCOUNT)
