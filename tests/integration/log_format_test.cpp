// `ordergate serve --log-format json`: every line the process writes is one JSON object with ts,
// level and event; ORDERGATE_LOG_LEVEL wins over the file's level; no secret reaches the log.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "auth_support/auth_testsupport.hpp"
#include "common/clock.hpp"
#include "gateway_process.hpp"

namespace ordergate::testing {
namespace {

namespace ts = auth::testsupport;

const std::string kSecret = "log-test-hs256-secret-0123456789abcdefXYZ";

std::string read_all(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string token(const std::string& secret) {
    ts::Claims c = ts::valid_claims(*ordergate::system_clock(), "https://issuer.ordergate.test/",
                                    "ordergate", "log-tester");
    c.accounts = std::vector<std::string>{"ACC1"};
    c.scope = "orders:read orders:write";
    return ts::mint_hs256(secret, c);
}

TEST(LogFormat, JsonLinesWithTheEnvironmentsLevelAndNoSecrets) {
    GatewayOptions o;
    o.config = source_dir() + "/tests/integration/log_json.yaml";
    o.args = {"--log-format", "json"};
    o.env = {{"OG_TEST_HS256_SECRET", kSecret}, {"ORDERGATE_LOG_LEVEL", "debug"}};
    GatewayProcess gw(o);

    const std::string good = token(kSecret);
    const std::string forged = token("not-the-secret-not-the-secret-not-the-secret");
    const auto order = R"({"account_id":"ACC1","symbol":"INFY","exchange":"NSE","side":"BUY",
        "quantity":"1","order_type":"MARKET"})";
    auto h = json_headers("log-format-1");
    h.emplace_back("Authorization", "Bearer " + good);
    ASSERT_EQ(http(gw.port(), "POST", "/api/v1/orders", order, h).status, 201);
    // Refused: a forged token and a malformed one are logged (reason only), never echoed.
    EXPECT_EQ(gw.get("/api/v1/orders", {{"Authorization", "Bearer " + forged}}).status, 401);
    EXPECT_EQ(gw.get("/api/v1/orders", {{"Authorization", "Bearer x\"y\\z"}}).status, 401);
    ASSERT_EQ(gw.stop(), 0);

    const std::string log = read_all(gw.log_path());
    std::istringstream lines(log);
    std::string line;
    std::set<std::string> events, levels;
    size_t count = 0;
    while (std::getline(lines, line)) {
        ++count;
        json::Value v;
        std::string why;
        ASSERT_TRUE(json::parse(line, &v, &why)) << why << ": " << line;
        ASSERT_TRUE(v.is_object()) << line;
        for (const char* key : {"ts", "level", "event"}) {
            const json::Value* m = v.find(key);
            ASSERT_TRUE(m && m->is_string() && !m->text().empty()) << key << ": " << line;
        }
        events.insert(v.find("event")->text());
        levels.insert(v.find("level")->text());
        if (v.find("event")->text() == "starting") {
            const json::Value* a = v.find("allocator");
            ASSERT_TRUE(a && a->is_string()) << line;
            EXPECT_EQ(a->text(), OG_ALLOCATOR) << line;
        }
    }
    EXPECT_GE(count, 5u) << log;
    for (const char* e : {"starting", "listening", "order_placed", "auth_refused", "stopped"})
        EXPECT_EQ(events.count(e), 1u) << "no event=" << e << " in\n" << log;
    EXPECT_EQ(levels.count("debug"), 1u) << "ORDERGATE_LOG_LEVEL=debug beats the file's warn";
    EXPECT_EQ(log.find(kSecret), std::string::npos);
    for (const std::string& t : {good, forged}) {
        EXPECT_EQ(log.find(t.substr(t.rfind('.') + 1)), std::string::npos) << "a signature";
        EXPECT_EQ(log.find(t.substr(t.find('.') + 1, 20)), std::string::npos) << "a payload";
    }
}

TEST(LogFormat, AConfigurationErrorIsJsonToo) {
    GatewayOptions o;
    o.config = source_dir() + "/tests/integration/log_json.yaml";  // OG_TEST_HS256_SECRET unset
    o.args = {"--log-format=json"};
    o.expect_start = false;
    GatewayProcess gw(o);
    EXPECT_EQ(gw.wait_exit(std::chrono::seconds(20)), 2);
    const std::string log = read_all(gw.log_path());
    json::Value v;
    std::string why;
    ASSERT_TRUE(json::parse(log.substr(0, log.find('\n')), &v, &why)) << why << ": " << log;
    EXPECT_EQ(field(v, "event"), "configuration_error");
    EXPECT_EQ(field(v, "level"), "critical");
    EXPECT_NE(field(v, "error").find("OG_TEST_HS256_SECRET"), std::string::npos) << log;
    EXPECT_EQ(log.find('\n'), log.size() - 1) << "one line:\n" << log;
}

TEST(LogFormat, AnUnknownFormatIsRefused) {
    GatewayOptions o;
    o.config = source_dir() + "/tests/integration/log_json.yaml";
    o.args = {"--log-format", "xml"};
    o.expect_start = false;
    GatewayProcess gw(o);
    EXPECT_EQ(gw.wait_exit(std::chrono::seconds(20)), 2);
    EXPECT_NE(gw.log().find("--log-format must be text or json"), std::string::npos) << gw.log();
}

}  // namespace
}  // namespace ordergate::testing
