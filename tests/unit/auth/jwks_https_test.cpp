// JWKS over HTTPS: the server certificate and host name are verified.
#include "test_env.hpp"

namespace ordergate::auth::test {
namespace {

using F = Failure;

class JwksHttpsTest : public ::testing::Test {
  protected:
    JwksHttpsTest() : keys_(Keys::get()), clock_(std::make_shared<ts::ManualClock>()) {
        cfg_.enabled = true;
        cfg_.issuer = kIssuer;
        cfg_.audience = kAudience;
        cfg_.jwks_timeout = std::chrono::milliseconds(2000);
    }
    AuthResult try_with(const ts::JwksServer& server, const std::string& ca_file) {
        AuthConfig cfg = cfg_;
        cfg.jwks_url = server.url();
        cfg.jwks_ca_file = ca_file;
        Authenticator auth(cfg, clock_);
        return auth.authenticate_token(
            ts::mint(keys_.rsa, ts::valid_claims(*clock_, kIssuer, kAudience)));
    }

    const Keys& keys_;
    std::shared_ptr<ts::ManualClock> clock_;
    AuthConfig cfg_;
};

TEST_F(JwksHttpsTest, TrustedCertificateAccepted) {
    auto tls = ts::TlsIdentity::self_signed("127.0.0.1");
    ts::JwksServer server(ts::jwks_json({&keys_.rsa}), tls);
    ASSERT_EQ(server.url().rfind("https://", 0), 0u);
    EXPECT_ACCEPTED(try_with(server, tls->cert_file()));
    EXPECT_EQ(server.request_count(), 1u);
}

TEST_F(JwksHttpsTest, UntrustedCertificateRefused) {
    auto tls = ts::TlsIdentity::self_signed("127.0.0.1");
    ts::JwksServer server(ts::jwks_json({&keys_.rsa}), tls);
    EXPECT_REFUSED(try_with(server, ""), F::Unavailable, "jwks_unavailable")
        << "a self-signed certificate is not in the system store";
    EXPECT_EQ(server.request_count(), 0u) << "no request is sent over an unverified channel";
}

TEST_F(JwksHttpsTest, CertificateForAnotherHostRefused) {
    auto tls = ts::TlsIdentity::self_signed("127.0.0.2");
    ts::JwksServer server(ts::jwks_json({&keys_.rsa}), tls);
    EXPECT_REFUSED(try_with(server, tls->cert_file()), F::Unavailable, "jwks_unavailable");
    EXPECT_EQ(server.request_count(), 0u);
}

TEST_F(JwksHttpsTest, UnreadableCaFileIsAConfigurationError) {
    AuthConfig cfg = cfg_;
    cfg.jwks_url = "https://127.0.0.1:1/jwks.json";
    cfg.jwks_ca_file = "/nonexistent/ca.pem";
    EXPECT_THROW(Authenticator(cfg, clock_), std::invalid_argument);
}

}  // namespace
}  // namespace ordergate::auth::test
