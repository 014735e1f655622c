// The one export of broker-fix.so: its entry, descriptor and C table (sdk.hpp's macro). The
// descriptor declares what every instance can do; each instance narrows it from its settings.
#include "fix_broker.hpp"

ORDERGATE_BROKER_PLUGIN(ordergate::fixplugin::FixBroker, "broker-fix", "1.0.0",
                        OG_CAP_ORDER_MARKET | OG_CAP_ORDER_LIMIT | OG_CAP_TIF_DAY | OG_CAP_TIF_GTC |
                            OG_CAP_TIF_IOC | OG_CAP_TIF_FOK | OG_CAP_MODIFY |
                            OG_CAP_MODIFY_QUANTITY | OG_CAP_MODIFY_PRICE |
                            OG_CAP_QUERY_BY_CLIENT_ID | OG_CAP_PARTIAL_FILLS | OG_CAP_PUSH_EVENTS |
                            OG_CAP_REPORT_OPEN_ORDERS)
