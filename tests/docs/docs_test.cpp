// /docs and /openapi.json against the real gateway (tests/integration/gateway.yaml):
//   - Swagger UI renders every operation in headless Chromium (browser_check.mjs), with a
//     screenshot left in the build tree;
//   - every operation openapi.json documents is served: a request of that method on that path
//     (ids of things that exist) gets neither 404 nor 405. The other direction, every route of
//     the dispatcher documented, is tests/unit/http/api_test.cpp (it reads the router's table).
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <map>
#include <iostream>
#include <sstream>
#include <string>

#include "gateway_process.hpp"

namespace ordergate::testing {
namespace {

std::string config_path() { return source_dir() + "/tests/integration/gateway.yaml"; }

// Runs `command` through the shell; returns its exit status and puts stdout+stderr in *output.
int run(const std::string& command, std::string* output) {
    FILE* p = ::popen((command + " 2>&1").c_str(), "r");
    if (!p) throw std::runtime_error("popen failed for: " + command);
    std::array<char, 4096> buf{};
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) output->append(buf.data(), n);
    int status = ::pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

TEST(Docs, SwaggerUiRendersEveryOperationInChromium) {
    GatewayOptions o;
    o.config = config_path();
    GatewayProcess gw(o);
    const std::string work = make_temp_dir("og-docs-browser");
    std::string out;
    int rc = run(std::string(OG_NODE) + " " + quoted(OG_DOCS_TEST_DIR "/browser_check.mjs") +
                     " --port " + std::to_string(gw.port()) + " --driver-port " +
                     std::to_string(free_port()) + " --screenshot " + quoted(OG_SCREENSHOT) +
                     " --work " + quoted(work),
                 &out);
    // Chromium's own noise (no D-Bus in a container) is left out of the report.
    std::string report;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);)
        if (line.find("dbus") == std::string::npos) report += line + "\n";
    EXPECT_EQ(rc, 0) << report << "\ngateway log:\n" << gw.log();
    EXPECT_NE(out.find("OK: Swagger UI rendered /docs in Chromium"), std::string::npos) << report;
    std::string ignored;
    run("rm -rf " + quoted(work), &ignored);
    std::cout << report;
}

TEST(Docs, EveryDocumentedOperationIsServed) {
    GatewayOptions o;
    o.config = config_path();
    GatewayProcess gw(o);
    // Things that exist, for the path parameters: an open order, an account, a file of /docs.
    auto placed = http(gw.port(), "POST", "/api/v1/orders",
                       R"({"account_id":"ACC2","symbol":"INFY","exchange":"NSE","side":"BUY",)"
                       R"("quantity":"10","order_type":"LIMIT","price":"1.00"})",
                       json_headers());
    ASSERT_EQ(placed.status, 201) << placed.body;
    // A GTT far from the price (it never fires); armed once the gateway has a price.
    const std::string gtt_body =
        R"({"account_id":"ACC2","symbol":"INFY","exchange":"NSE","type":"SINGLE",)"
        R"("triggers":[{"trigger_price":"999999.00","order":{"side":"SELL",)"
        R"("order_type":"MARKET","quantity":"1"}}]})";
    HttpResult gtt;
    for (int i = 0; i < 300; ++i) {
        gtt = http(gw.port(), "POST", "/api/v1/gtt", gtt_body, json_headers());
        if (gtt.status != 503) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_EQ(gtt.status, 201) << gtt.body;
    const std::map<std::string, std::string> samples = {
        {"/api/v1/gtt/{id}", "/api/v1/gtt/" + field(gtt.json(), "id")},
        {"/api/v1/orders/{id}", "/api/v1/orders/" + field(placed.json(), "id")},
        {"/api/v1/orders/{id}/events", "/api/v1/orders/" + field(placed.json(), "id") + "/events"},
        {"/api/v1/accounts/{id}", "/api/v1/accounts/ACC1"},
        {"/docs/{file}", "/docs/swagger-ui.css"},
    };
    // Bodies a write accepts, so each reaches its handler's own checks.
    const std::map<std::string, std::string> bodies = {
        {"PUT /api/v1/orders/{id}", R"({"price":"1.10"})"},
        {"POST /api/v1/orders",
         R"({"account_id":"ACC2","symbol":"INFY","exchange":"NSE","side":"BUY",)"
         R"("quantity":"1","order_type":"LIMIT","price":"1.00"})"},
        {"POST /api/v1/reconciliation/run", "{}"},
        {"POST /api/v1/gtt", gtt_body},
        {"PUT /api/v1/gtt/{id}", gtt_body},
    };
    auto doc = gw.get("/openapi.json");
    ASSERT_EQ(doc.status, 200);
    const json::Value spec = doc.json();
    const json::Value* paths = spec.find("paths");
    ASSERT_TRUE(paths && paths->is_object());
    int walked = 0;
    for (const auto& [path, item] : paths->members()) {
        std::string concrete = path;
        if (path.find('{') != std::string::npos) {
            auto s = samples.find(path);
            ASSERT_NE(s, samples.end()) << "no sample for the parameters of " << path
                                        << ": add one to this test";
            concrete = s->second;
        }
        // DELETE last: it cancels the order the others use.
        for (const char* m : {"get", "put", "post", "patch", "delete"}) {
            if (!item.find(m)) continue;
            std::string method = m;
            for (char& c : method) c = static_cast<char>(c - 'a' + 'A');
            auto b = bodies.find(method + " " + path);
            auto r = http(gw.port(), method, concrete, b == bodies.end() ? "" : b->second,
                          json_headers());
            EXPECT_NE(r.status, 404) << method << " " << concrete << ": " << r.body;
            EXPECT_NE(r.status, 405) << method << " " << concrete << ": " << r.body;
            EXPECT_LT(r.status, 500) << method << " " << concrete << ": " << r.body;
            if (method == "GET") {
                auto h = http(gw.port(), "HEAD", concrete);
                EXPECT_NE(h.status, 404) << "HEAD " << concrete;
                EXPECT_NE(h.status, 405) << "HEAD " << concrete;
            }
            ++walked;
        }
    }
    EXPECT_GE(walked, 20);
}

}  // namespace
}  // namespace ordergate::testing
