// Tokens, API keys and secrets never reach the log; the failed check does.
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "auth/crypto.hpp"
#include "test_env.hpp"

namespace ordergate::auth::test {
namespace {

class LogSafetyTest : public AuthTest {
  protected:
    void SetUp() override {
        previous_ = spdlog::default_logger();
        auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_);
        auto logger = std::make_shared<spdlog::logger>("capture", sink);
        logger->set_level(spdlog::level::trace);
        spdlog::set_default_logger(logger);
    }
    void TearDown() override { spdlog::set_default_logger(previous_); }

    std::shared_ptr<spdlog::logger> previous_;
    std::ostringstream log_;
};

TEST_F(LogSafetyTest, NoCredentialMaterialInTheLog) {
    const std::string secret = "hs256-shared-secret-0123456789abcdef";
    const std::string api_key = "ogk_live_do_not_log_me_7f3a9c";
    cfg_.hs256_secret = secret;
    cfg_.api_keys = {{sha256_hex(api_key), "svc", {"ACC-1"}, {"orders:read"}}};

    auto expired = claims();
    expired.exp = now() - 3600;
    const std::vector<std::string> tokens = {
        ts::mint(keys_.rsa, claims()),
        ts::mint(keys_.ec, expired),
        ts::tamper_payload(ts::mint(keys_.rsa, claims()), claims("mallory").json()),
        ts::mint_hs256(secret, claims()),
        ts::mint_hs256("wrong-secret-wrong-secret-wrong-secret", claims()),
        ts::mint(keys_.rsa2.with_kid("ghost"), claims()),
    };
    for (const auto& t : tokens) bearer(t);
    auth().authenticate("", api_key);
    auth().authenticate("", api_key + "x");
    server_.stop();  // a fetch failure is logged too
    clock_->advance(std::chrono::seconds(3600));
    bearer(ts::mint(keys_.rsa2.with_kid("ghost2"), claims()));

    spdlog::default_logger()->flush();
    const std::string log = log_.str();
    EXPECT_NE(log.find("jwks_fetch=failed"), std::string::npos) << "the capture works:\n" << log;
    for (const auto& t : tokens) {
        EXPECT_EQ(log.find(t.substr(t.rfind('.') + 1, 20)), std::string::npos) << "signature";
        EXPECT_EQ(log.find(t.substr(0, t.find('.'))), std::string::npos) << "header segment";
        EXPECT_EQ(log.find(t.substr(t.find('.') + 1, 20)), std::string::npos) << "payload";
    }
    EXPECT_EQ(log.find(secret), std::string::npos);
    EXPECT_EQ(log.find(api_key), std::string::npos);
    EXPECT_EQ(log.find(sha256_hex(api_key)), std::string::npos);
    EXPECT_EQ(log.find("mallory"), std::string::npos);
    EXPECT_EQ(log.find("ghost"), std::string::npos);
}

}  // namespace
}  // namespace ordergate::auth::test
