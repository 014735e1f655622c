// The one export of broker-paper.so: its entry, descriptor and C table (sdk.hpp's macro).
#include "paper_broker.hpp"

ORDERGATE_BROKER_PLUGIN(ordergate::paper::PaperBroker, "broker-paper", "1.0.0",
                        ordergate::paper::kPaperCapabilities)
