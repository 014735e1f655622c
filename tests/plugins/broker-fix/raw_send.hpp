// Test helper (C++14, the one file of the test that includes QuickFIX): sends an application
// message through QuickFIX directly, bypassing FixSession's logged-on check, as a message caught
// by a disconnect between that check and the send would go.
#pragma once

#include <string>

namespace ordergate {
namespace fixplugin_test {

// A NewOrderSingle with `cl_ord_id` on the session (begin, sender, target); returns what
// QuickFIX's sendToTarget returned.
bool send_order_unchecked(const std::string& begin, const std::string& sender,
                          const std::string& target, const std::string& cl_ord_id);

}  // namespace fixplugin_test
}  // namespace ordergate
