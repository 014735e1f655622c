#include "raw_send.hpp"

#include <quickfix/Message.h>
#include <quickfix/Session.h>

namespace ordergate {
namespace fixplugin_test {

bool send_order_unchecked(const std::string& begin, const std::string& sender,
                          const std::string& target, const std::string& cl_ord_id) {
    FIX::Message m;
    m.getHeader().setField(FIX::MsgType("D"));
    m.setField(11, cl_ord_id);
    m.setField(21, "1");
    m.setField(55, "ACME");
    m.setField(54, "1");
    m.setField(60, "20260101-00:00:00.000");
    m.setField(38, "1");
    m.setField(40, "2");
    m.setField(44, "90");
    return FIX::Session::sendToTarget(m, FIX::SessionID(begin, sender, target));
}

}  // namespace fixplugin_test
}  // namespace ordergate
