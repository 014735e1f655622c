// The packaged alert rules (packaging/prometheus/alerts.yml) and Grafana dashboard
// (packaging/grafana/ordergate.json) name only metrics a live gateway exports: the gateway runs
// with brokers that fill, lose acks and hang (tests/integration/ops_metrics.yaml), and every
// ordergate_* name the two files use must show up in its /metrics (a histogram's _bucket, _sum
// and _count under the histogram's own name). Renaming a metric without the files fails here.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "gateway_process.hpp"

namespace ordergate::testing {
namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    EXPECT_TRUE(in.good()) << path;
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Every ordergate_* name in a text (PromQL in YAML or in JSON strings alike).
std::set<std::string> metric_names(const std::string& text) {
    static const std::regex kName("ordergate_[a-z][a-z0-9_]*");
    std::set<std::string> out;
    for (std::sregex_iterator it(text.begin(), text.end(), kName), end; it != end; ++it)
        out.insert(it->str());
    return out;
}

// name -> type, from the exposition's "# TYPE <name> <type>" lines.
std::map<std::string, std::string> exported(const std::string& exposition) {
    std::map<std::string, std::string> out;
    std::istringstream in(exposition);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("# TYPE ", 0) != 0) continue;
        std::istringstream fields(line.substr(7));
        std::string name, type;
        fields >> name >> type;
        out[name] = type;
    }
    return out;
}

bool is_exported(const std::map<std::string, std::string>& types, const std::string& name) {
    if (types.count(name)) return true;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        const std::string s(suffix);
        if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
            auto it = types.find(name.substr(0, name.size() - s.size()));
            if (it != types.end() && it->second == "histogram") return true;
        }
    }
    return false;
}

std::string order(const std::string& account) {
    return "{\"account_id\":\"" + account +
           "\",\"symbol\":\"INFY\",\"exchange\":\"NSE\",\"side\":\"BUY\",\"quantity\":\"1\","
           "\"order_type\":\"MARKET\"}";
}

TEST(OpsMetrics, EveryMetricTheAlertsAndTheDashboardNameIsExported) {
    const std::string alerts = read_file(source_dir() + "/packaging/prometheus/alerts.yml");
    const std::string dashboard = read_file(source_dir() + "/packaging/grafana/ordergate.json");
    json::Value parsed;
    std::string why;
    ASSERT_TRUE(json::parse(dashboard, &parsed, &why)) << "the dashboard is not JSON: " << why;
    std::set<std::string> wanted = metric_names(alerts);
    const std::set<std::string> in_dashboard = metric_names(dashboard);
    // What the issue asks of each file, so neither can shrink to nothing and pass.
    for (const char* n : {"ordergate_http_requests_total", "ordergate_reconcile_drift_total",
                          "ordergate_component_up",
                          "ordergate_http_request_duration_seconds_bucket"})
        EXPECT_EQ(wanted.count(n), 1u) << "alerts.yml does not use " << n;
    for (const char* n : {"ordergate_http_requests_total",
                          "ordergate_http_request_duration_seconds_bucket",
                          "ordergate_orders_total", "ordergate_broker_call_duration_seconds_bucket",
                          "ordergate_idempotency_total", "ordergate_reconcile_drift_total",
                          "ordergate_component_up", "ordergate_broker_calls_stuck"})
        EXPECT_EQ(in_dashboard.count(n), 1u) << "the dashboard does not show " << n;
    wanted.insert(in_dashboard.begin(), in_dashboard.end());

    GatewayOptions o;
    o.config = source_dir() + "/tests/integration/ops_metrics.yaml";
    GatewayProcess gw(o);
    auto placed = http(gw.port(), "POST", "/api/v1/orders", order("ACC1"), json_headers("ops-1"));
    ASSERT_EQ(placed.status, 201) << placed.body;
    // A retry of the same request: the stored answer (idempotency outcome "replayed").
    auto retried = http(gw.port(), "POST", "/api/v1/orders", order("ACC1"), json_headers("ops-1"));
    EXPECT_EQ(retried.status, 201) << retried.body;
    // The ack is lost (unknown outcome, 202); reconciliation finds the order: drift.
    auto lost = http(gw.port(), "POST", "/api/v1/orders", order("LOST1"), json_headers("ops-2"));
    ASSERT_EQ(lost.status, 202) << lost.body;

    std::map<std::string, std::string> types;
    std::vector<std::string> missing;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    do {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        types = exported(gw.get("/metrics").body);
        missing.clear();
        for (const auto& n : wanted)
            if (!is_exported(types, n)) missing.push_back(n);
    } while (!missing.empty() && std::chrono::steady_clock::now() < deadline);
    std::string list;
    for (const auto& n : missing) list += " " + n;
    EXPECT_TRUE(missing.empty()) << "referenced but not in /metrics:" << list << "\n"
                                 << gw.get("/metrics").body;
}

// The component gauge is refreshed by a scrape, not only by /health/ready: a broker whose calls
// hang shows as down in /metrics though nobody asked /health/ready since.
TEST(OpsMetrics, AScrapeRefreshesComponentUp) {
    const std::string dir = make_temp_dir("og-ops-metrics");
    const std::string config = dir + "/hung.yaml";
    std::ofstream(config)
        << "http:\n  host: 127.0.0.1\n  port: ${PORT}\n  shutdown_grace_seconds: 1\n"
           "plugin_dirs:\n  - ${OG_PLUGIN_DIR}\n"
           "storage:\n  plugin: storage-sqlite\n  settings:\n    path: ${OG_DATA_DIR}/og.db\n"
           "brokers:\n  - name: hung\n    plugin: broker-paper\n    timeout_ms: 200\n"
           "    settings:\n      accounts: \"HUNG1\"\n      tick_ms: 0\n"
           "      fault:\n        hang_ms: 600000\n"
           "accounts:\n  - {id: HUNG1, broker: hung}\n"
           "idempotency:\n  backend: memory\n"
           "reconciliation:\n  enabled: false\n"
           "logging:\n  level: warn\n";
    GatewayOptions o;
    o.config = config;
    GatewayProcess gw(o);  // asked /health/ready once: every component up
    const std::string up = "ordergate_component_up{component=\"broker:hung\"} 1";
    ASSERT_NE(gw.get("/metrics").body.find(up), std::string::npos) << gw.get("/metrics").body;
    auto r = http(gw.port(), "POST", "/api/v1/orders", order("HUNG1"), json_headers());
    EXPECT_EQ(r.status, 202) << r.body;  // past the deadline, the call still in the plugin
    const std::string body = gw.get("/metrics").body;
    EXPECT_NE(body.find("ordergate_component_up{component=\"broker:hung\"} 0"), std::string::npos)
        << body;
}

}  // namespace
}  // namespace ordergate::testing
