#include "secrets/config_service.hpp"

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <gtest/gtest.h>

#include "config_server.hpp"
#include "fake_env.hpp"
#include "secrets/secrets.hpp"
#include "tls_cert.hpp"

namespace ordergate::secrets {
namespace {

using testing::closed_port;
using testing::ConfigServer;
using testing::env_of;
using testing::TempDir;

std::string fetch_error(const ConfigServiceSettings& s) {
    try {
        fetch_config_service(s);
    } catch (const SecretError& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected SecretError";
    return "";
}

TEST(ConfigService, FetchesJsonWithBearerToken) {
    ConfigServer server({"tok-123", 200, R"({"DB_PASSWORD":"pw1","API_SECRET":"s2"})"});
    auto values =
        fetch_config_service({server.url("/v1/secrets?service=ordergate"), "tok-123", 3000, ""});
    EXPECT_EQ(values.size(), 2u);
    EXPECT_EQ(values.at("DB_PASSWORD"), "pw1");
    EXPECT_EQ(values.at("API_SECRET"), "s2");
    EXPECT_EQ(server.last_path(), "/v1/secrets?service=ordergate");
}

TEST(ConfigService, FromEnv_FetchesOnceAndServesLookups) {
    ConfigServer server({"tok-123", 200, R"({"DB_PASSWORD":"pw1"})"});
    auto r = SecretResolver::from_env(env_of({{"USE_CONFIG_SERVICE", "true"},
                                              {"CONFIG_SERVICE_URL", server.url()},
                                              {"CONFIG_SERVICE_TOKEN", "tok-123"}}));
    EXPECT_TRUE(r.uses_config_service());
    EXPECT_EQ(r.lookup("DB_PASSWORD").value(), "pw1");
    EXPECT_EQ(r.lookup("DB_PASSWORD").value(), "pw1");
    EXPECT_FALSE(r.lookup("NOT_THERE"));
    EXPECT_EQ(server.requests(), 1);
}

TEST(ConfigService, FromEnv_TokenFromFile) {
    TempDir dir;
    ConfigServer server({"file-token", 200, R"({"K":"v"})"});
    auto r = SecretResolver::from_env(
        env_of({{"USE_CONFIG_SERVICE", "true"},
                {"CONFIG_SERVICE_URL", server.url()},
                {"CONFIG_SERVICE_TOKEN_FILE", dir.write("token", "file-token\n")}}));
    EXPECT_EQ(r.lookup("K").value(), "v");
}

TEST(ConfigService, WrongToken_Is401Error) {
    ConfigServer server({"right", 200, "{}"});
    std::string msg = fetch_error({server.url(), "wrong-token-value", 3000, ""});
    EXPECT_EQ(msg, "config service " + server.url() + ": HTTP 401 Unauthorized (expected 200)");
    EXPECT_EQ(msg.find("wrong-token-value"), std::string::npos);
}

TEST(ConfigService, ConnectionRefused) {
    const std::string url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/secrets";
    EXPECT_EQ(fetch_error({url, "t", 3000, ""}), "config service " + url + ": connection refused");
}

TEST(ConfigService, FromEnv_ServiceDownFailsStartUp) {
    const std::string url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/";
    try {
        SecretResolver::from_env(env_of({{"USE_CONFIG_SERVICE", "true"},
                                         {"CONFIG_SERVICE_URL", url},
                                         {"CONFIG_SERVICE_TOKEN", "t"}}));
        FAIL() << "expected SecretError";
    } catch (const SecretError& e) {
        EXPECT_EQ(std::string(e.what()), "config service " + url + ": connection refused");
    }
}

TEST(ConfigService, Non200IsAnError) {
    ConfigServer server({"t", 503, R"({"DB_PASSWORD":"pw"})"});
    std::string msg = fetch_error({server.url(), "t", 3000, ""});
    EXPECT_EQ(msg,
              "config service " + server.url() + ": HTTP 503 Service Unavailable (expected 200)");
}

TEST(ConfigService, BadJsonIsAnError) {
    ConfigServer server({"t", 200, R"({"DB_PASSWORD": "pw)"});
    std::string msg = fetch_error({server.url(), "t", 3000, ""});
    EXPECT_EQ(msg.rfind("config service " + server.url() + ": response is not valid JSON", 0), 0u)
        << msg;
}

TEST(ConfigService, JsonThatIsNotAnObjectIsAnError) {
    ConfigServer server({"t", 200, R"(["a","b"])"});
    EXPECT_EQ(fetch_error({server.url(), "t", 3000, ""}),
              "config service " + server.url() + ": response is not a JSON object");
}

TEST(ConfigService, NonStringValueIsAnError_WithoutTheValue) {
    ConfigServer server({"t", 200, R"({"PORT": 8087, "A": "x"})"});
    EXPECT_EQ(fetch_error({server.url(), "t", 3000, ""}),
              "config service " + server.url() + ": value of \"PORT\" is not a string");
}

TEST(ConfigService, DuplicateNameIsAnError) {
    ConfigServer server({"t", 200, R"({"A": "x", "A": "y"})"});
    EXPECT_EQ(fetch_error({server.url(), "t", 3000, ""}),
              "config service " + server.url() + ": \"A\" appears twice");
}

TEST(ConfigService, SilentServerTimesOut) {
    // Connections complete in the kernel's backlog, but nobody ever answers.
    Poco::Net::ServerSocket silent(Poco::Net::SocketAddress("127.0.0.1", 0));
    const std::string url = "http://127.0.0.1:" + std::to_string(silent.address().port()) + "/";
    EXPECT_EQ(fetch_error({url, "t", 200, ""}),
              "config service " + url + ": timed out after 200 ms");
}

TEST(ConfigService, UrlPasswordIsRedactedInErrors) {
    const uint16_t port = closed_port();
    std::string msg = fetch_error(
        {"http://user:hunter2@127.0.0.1:" + std::to_string(port) + "/s", "t", 3000, ""});
    EXPECT_EQ(msg.find("hunter2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("user:***@127.0.0.1"), std::string::npos) << msg;
}

TEST(ConfigService, HttpsWithTrustedCertificate) {
    TempDir dir;
    auto cert = testing::make_self_signed(dir.path().string(), "cs", "127.0.0.1", "IP:127.0.0.1");
    ConfigServer server({"t", 200, R"({"A":"b"})", cert.cert_pem, cert.key_pem});
    ASSERT_EQ(server.url().rfind("https://", 0), 0u);
    auto values = fetch_config_service({server.url(), "t", 3000, cert.cert_pem});
    EXPECT_EQ(values.at("A"), "b");
}

TEST(ConfigService, HttpsUntrustedCertificateIsRefused) {
    TempDir dir;
    auto cert = testing::make_self_signed(dir.path().string(), "cs", "127.0.0.1", "IP:127.0.0.1");
    ConfigServer server({"t", 200, R"({"A":"b"})", cert.cert_pem, cert.key_pem});
    std::string msg = fetch_error({server.url(), "t", 3000, ""});
    EXPECT_EQ(msg.rfind("config service " + server.url() + ": TLS error: ", 0), 0u) << msg;
    EXPECT_EQ(server.requests(), 0);
}

TEST(ConfigService, HttpsCertificateForAnotherHostIsRefused) {
    TempDir dir;
    auto cert =
        testing::make_self_signed(dir.path().string(), "cs", "other.example", "DNS:other.example");
    ConfigServer server({"t", 200, R"({"A":"b"})", cert.cert_pem, cert.key_pem});
    std::string msg = fetch_error({server.url(), "t", 3000, cert.cert_pem});
    EXPECT_EQ(msg.rfind("config service " + server.url() + ": TLS error: ", 0), 0u) << msg;
    EXPECT_EQ(server.requests(), 0);
}

TEST(ConfigService, UnsupportedSchemeIsAnError) {
    EXPECT_EQ(fetch_error({"ftp://host/x", "t", 3000, ""}),
              "config service ftp://host/x: the URL must start with http:// or https://");
}

}  // namespace
}  // namespace ordergate::secrets
