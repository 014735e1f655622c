// What both chaos tests read back: every stored order or trade of ACC1 through a gateway's API,
// and exact decimals from JSON text.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "gateway_process.hpp"
#include "ordergate/decimal.hpp"

namespace ordergate::testing {

// Every item of /api/v1/<resource>?account_id=ACC1, cursor page by cursor page.
inline std::vector<json::Value> all_of(uint16_t port, const std::string& resource) {
    std::vector<json::Value> out;
    std::string cursor;
    for (;;) {
        auto r = http(port, "GET",
                      "/api/v1/" + resource + "?account_id=ACC1&limit=500" +
                          (cursor.empty() ? "" : "&cursor=" + cursor));
        if (r.status != 200) throw std::runtime_error("list " + resource + ": " + r.body);
        json::Value v = r.json();
        for (const auto& o : v.find("items")->items()) out.push_back(o);
        cursor = field(v, "next_cursor");
        if (cursor.empty() || cursor == "null") break;
    }
    return out;
}

inline Decimal to_dec(const std::string& s) {
    Decimal d;
    if (!Decimal::parse(s, &d)) throw std::runtime_error("not a decimal: '" + s + "'");
    return d;
}

}  // namespace ordergate::testing
