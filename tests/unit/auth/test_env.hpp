// Shared fixture pieces for the auth unit tests.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "auth/authenticator.hpp"
#include "auth_support/auth_testsupport.hpp"

namespace ordergate::auth::test {

namespace ts = testsupport;

inline constexpr const char* kIssuer = "https://issuer.test";
inline constexpr const char* kAudience = "ordergate";

// Keys are generated once per test binary (RSA key generation is the slow part).
struct Keys {
    ts::TestKey rsa = ts::TestKey::rsa("rsa-1");
    ts::TestKey ec = ts::TestKey::ec("ec-1");
    ts::TestKey pss = ts::TestKey::rsa("pss-1", "PS256");
    ts::TestKey rsa2 = ts::TestKey::rsa("rsa-2");  // not published at first (rotation)
    static const Keys& get() {
        static const Keys keys;
        return keys;
    }
};

// A JWKS server, a manual clock and a config pointing at them. The server is shared by the
// tests of a suite (stopping a Poco server takes a quarter second) and reset before each test.
class AuthTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { shared_server() = std::make_unique<ts::JwksServer>("{}"); }
    static void TearDownTestSuite() { shared_server().reset(); }
    static std::unique_ptr<ts::JwksServer>& shared_server() {
        static std::unique_ptr<ts::JwksServer> server;
        return server;
    }

    AuthTest()
        : keys_(Keys::get()),
          clock_(std::make_shared<ts::ManualClock>()),
          server_(*shared_server()) {
        server_.restart();
        server_.set_status(200);
        server_.set_hang(false);
        server_.set_jwks(ts::jwks_json({&keys_.rsa, &keys_.ec, &keys_.pss}));
        server_.reset_count();
        cfg_.enabled = true;
        cfg_.jwks_url = server_.url();
        cfg_.issuer = kIssuer;
        cfg_.audience = kAudience;
    }

    std::unique_ptr<Authenticator> make() { return std::make_unique<Authenticator>(cfg_, clock_); }
    Authenticator& auth() {
        if (!auth_) auth_ = make();
        return *auth_;
    }
    ts::Claims claims(std::string subject = "alice") const {
        return ts::valid_claims(*clock_, kIssuer, kAudience, std::move(subject));
    }
    AuthResult bearer(const std::string& token) {
        return auth().authenticate("Bearer " + token, "");
    }
    int64_t now() const { return clock_->unix_seconds(); }

    const Keys& keys_;
    std::shared_ptr<ts::ManualClock> clock_;
    ts::JwksServer& server_;
    AuthConfig cfg_;
    std::unique_ptr<Authenticator> auth_;
};

inline const char* failure_name(Failure f) {
    switch (f) {
        case Failure::MissingCredentials:
            return "MissingCredentials";
        case Failure::InvalidToken:
            return "InvalidToken";
        case Failure::Unavailable:
            return "Unavailable";
    }
    return "?";
}

// gtest output for a result: "ok subject=alice" or "InvalidToken token_expired".
inline std::string describe(const AuthResult& r) {
    if (r.ok()) return "ok subject=" + r.principal->subject;
    return std::string(failure_name(r.failure)) + " " + r.reason;
}

inline ::testing::AssertionResult refused(const AuthResult& r, Failure f, std::string_view why) {
    if (!r.ok() && r.failure == f && r.reason == why) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "got " << describe(r) << ", expected " << failure_name(f) << " " << why;
}

inline ::testing::AssertionResult accepted(const AuthResult& r) {
    if (r.ok()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "refused: " << describe(r);
}

#define EXPECT_ACCEPTED(result) EXPECT_TRUE(::ordergate::auth::test::accepted(result))
#define EXPECT_REFUSED(result, fail, why) \
    EXPECT_TRUE(::ordergate::auth::test::refused((result), (fail), (why)))

}  // namespace ordergate::auth::test
