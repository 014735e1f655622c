// ordergate::auth::testsupport — keys, tokens and a JWKS server for auth tests.
//
// For unit tests of host/auth and for end-to-end tests of the gateway binary:
//   TestKey         RSA / EC key pairs generated with OpenSSL, exported as JWK or PEM, signing
//                   JWS inputs (RS*, PS*, ES* with raw r||s signatures).
//   Claims, Header  JSON builders for token parts; raw members allow any malformed variant.
//   mint*           compact JWS tokens: by a key, HS256 with a secret, alg none, tampered.
//   JwksServer      a Poco HTTPServer on 127.0.0.1:<ephemeral> serving a key set that can be
//                   swapped at run time, counting requests, stoppable and restartable on the
//                   same port (JWKS down / back).
//   ManualClock     a Clock that moves only when told to, starting in 2030.
// Nothing here is for production. Functions throw std::runtime_error on OpenSSL failures.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.hpp"

struct evp_pkey_st;

namespace ordergate::auth::testsupport {

// ---- keys -------------------------------------------------------------------------------------

class TestKey {
  public:
    // An RSA key (2048 bits by default) used with `alg` (RS256/384/512, PS256/384/512).
    static TestKey rsa(std::string kid, std::string alg = "RS256", int bits = 2048);
    // An EC key; the curve follows `alg`: ES256 → P-256, ES384 → P-384, ES512 → P-521.
    static TestKey ec(std::string kid, std::string alg = "ES256");

    TestKey(TestKey&& other) noexcept;
    TestKey& operator=(TestKey&& other) noexcept;
    ~TestKey();

    const std::string& kid() const { return kid_; }
    const std::string& alg() const { return alg_; }
    // The same key pair under another kid (or alg), e.g. for "kid names the wrong key" cases.
    TestKey with_kid(std::string kid) const;
    TestKey with_alg(std::string alg) const;

    // The public JWK as a JSON object: kty, kid, use "sig", n/e or crv/x/y, and alg when
    // `with_alg`.
    std::string jwk_json(bool with_alg = true) const;
    // SubjectPublicKeyInfo PEM of the public key (the bytes an attacker uses as an HS256 secret
    // in the key-confusion attack).
    std::string public_pem() const;
    // The JWS signature (raw bytes, not base64url) of `signing_input` with `alg`.
    std::string sign(std::string_view alg, std::string_view signing_input) const;

  private:
    TestKey(std::string kid, std::string alg, evp_pkey_st* pkey);
    std::string kid_;
    std::string alg_;
    evp_pkey_st* pkey_ = nullptr;
};

// {"keys":[...]} of the given keys' public JWKs.
std::string jwks_json(const std::vector<const TestKey*>& keys, bool with_alg = true);
// {"keys":[...]} of raw JWK objects (for malformed or unusual keys).
std::string jwks_json_raw(const std::vector<std::string>& jwk_objects);

// ---- token parts ------------------------------------------------------------------------------

struct Claims {
    std::optional<std::string> iss;
    std::optional<std::string> sub;
    std::optional<std::string> aud;                    // written as a string…
    std::optional<std::vector<std::string>> aud_list;  // …or as an array (wins when set)
    std::optional<int64_t> exp, nbf, iat;
    std::optional<std::string> scope;             // space-separated
    std::optional<std::vector<std::string>> scp;  // array
    std::optional<std::vector<std::string>> accounts;
    std::string accounts_claim = "accounts";
    // Extra members written verbatim: name → raw JSON value ("42", "\"x\"", "[1]"). A name
    // repeated here (or repeating a member above) yields a document with a repeated member.
    std::vector<std::pair<std::string, std::string>> raw;

    std::string json() const;
};

// Claims valid at `now` for `lifetime`: iss, sub, aud, iat = now, exp = now + lifetime.
Claims valid_claims(const Clock& clock, std::string issuer, std::string audience,
                    std::string subject = "alice",
                    std::chrono::seconds lifetime = std::chrono::seconds(600));

struct Header {
    std::optional<std::string> alg;
    std::optional<std::string> kid;
    std::optional<std::string> typ = "JWT";
    std::vector<std::pair<std::string, std::string>> raw;  // as in Claims::raw

    std::string json() const;
};

std::string b64url(std::string_view bytes);

// ---- tokens -----------------------------------------------------------------------------------

// header {"alg":key.alg(),"kid":key.kid(),"typ":"JWT"}, signed by `key`.
std::string mint(const TestKey& key, const Claims& claims);
// Any header and payload text, signed by `key` with `sign_alg` (whatever the header says).
std::string mint_raw(const TestKey& key, std::string_view sign_alg, std::string_view header_json,
                     std::string_view payload_json);
// HS256 over any header/payload with `secret` (e.g. a configured secret, or a public key PEM).
std::string mint_hs256(std::string_view secret, std::string_view header_json,
                       std::string_view payload_json);
std::string mint_hs256(std::string_view secret, const Claims& claims);
// {"alg":<alg_value>,"typ":"JWT"}.<claims>. with an empty signature.
std::string mint_none(const Claims& claims, std::string_view alg_value = "none");
// The token with its payload replaced by `payload_json` (header and signature kept).
std::string tamper_payload(std::string_view token, std::string_view payload_json);

// ---- JWKS server ------------------------------------------------------------------------------

// A self-signed certificate (EC P-256, valid from an hour ago for a day) and its private key,
// written as PEM files into a fresh temporary directory that the destructor removes. `host` is
// the certificate's CN and subjectAltName (DNS, plus IP when it is an IPv4 address). The
// certificate is its own CA: give cert_file() to AuthConfig::jwks_ca_file to trust it.
class TlsIdentity {
  public:
    static std::shared_ptr<const TlsIdentity> self_signed(const std::string& host);
    ~TlsIdentity();
    const std::string& cert_file() const { return cert_file_; }
    const std::string& key_file() const { return key_file_; }

  private:
    TlsIdentity() = default;
    std::string dir_, cert_file_, key_file_;
};

class JwksServer {
  public:
    // Starts serving `jwks` at http://127.0.0.1:<ephemeral>/jwks.json (any path answers), or
    // https:// with `tls`'s certificate.
    explicit JwksServer(std::string jwks, std::shared_ptr<const TlsIdentity> tls = nullptr);
    ~JwksServer();
    JwksServer(const JwksServer&) = delete;
    JwksServer& operator=(const JwksServer&) = delete;

    std::string url() const;  // http(s)://127.0.0.1:<port>/jwks.json
    uint16_t port() const { return port_; }

    // Serve another document from the next request on (rotation). Thread-safe.
    void set_jwks(std::string jwks);
    // Answer with this HTTP status (and the document as body) from now on; 200 by default.
    void set_status(int status);
    // While true, requests are accepted but not answered (a hung JWKS server, for timeouts);
    // set_hang(false) or stop() releases them. A held request gives up after 30 s.
    void set_hang(bool hang);
    // Requests answered since construction (or the last reset_count()).
    std::size_t request_count() const { return state_->requests.load(); }
    void reset_count() { state_->requests.store(0); }

    // Stops listening and closes the socket: connections are refused until restart().
    void stop();
    // Listens again on the same port.
    void restart();
    bool running() const { return server_ != nullptr; }

    struct State {
        std::mutex mu;
        std::condition_variable released;
        std::string body;
        int status = 200;
        bool hang = false;
        bool stopping = false;
        std::atomic<std::size_t> requests{0};
    };

  private:
    void start();
    std::shared_ptr<State> state_;
    std::shared_ptr<const TlsIdentity> tls_;
    uint16_t port_ = 0;
    struct Server;
    std::unique_ptr<Server> server_;
};

// ---- clock ------------------------------------------------------------------------------------

// Wall time starts at 2030-03-17T17:46:40Z (Unix 1'900'000'000), well clear of real tokens.
class ManualClock final : public ordergate::ManualClock {
  public:
    ManualClock() : ordergate::ManualClock(1'900'000'000'000'000'000) {}
};

}  // namespace ordergate::auth::testsupport
