// End-to-end tests of authentication and authorization (issue 6, API.md "Authentication"): the
// real `ordergate` binary with AUTH_ENABLED=true, JWKS_URL, JWT_ISSUER and JWT_AUDIENCE from the
// environment, verifying tokens minted here against a JWKS document served on loopback by this
// process. Each refusal is checked as a client sees it: status, problem+json code and the
// WWW-Authenticate challenge of RFC 6750.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "common/clock.hpp"
#include "auth/crypto.hpp"
#include "auth_support/auth_testsupport.hpp"
#include "gateway_process.hpp"
#include "stream_client.hpp"

namespace ordergate::testing {
namespace {

using auth::testsupport::Claims;
using auth::testsupport::Header;
using auth::testsupport::JwksServer;
using auth::testsupport::TestKey;
namespace ts = auth::testsupport;
using Headers = std::vector<std::pair<std::string, std::string>>;

const std::string kIssuer = "https://issuer.ordergate.test/";
const std::string kAudience = "ordergate-api";
const std::string kChallenge = "Bearer realm=\"ordergate\"";
const std::string kInvalidChallenge = "Bearer realm=\"ordergate\", error=\"invalid_token\"";

std::string unique(const std::string& prefix) {
    static std::atomic<int> n{0};
    return prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(++n) + "-" +
           std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000);
}

int64_t now_s() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string random_secret(const std::string& prefix) {
    std::random_device rd;
    std::string s = prefix;
    const char* alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
    for (int i = 0; i < 40; ++i) s.push_back(alphabet[rd() % 36]);
    return s;
}

std::string order_body(const std::string& account, const std::string& type = "LIMIT",
                       const std::string& cid = "") {
    std::string b = "{";
    if (!account.empty()) b += "\"account_id\":\"" + account + "\",";
    b += "\"symbol\":\"INFY\",\"exchange\":\"NSE\",\"side\":\"BUY\",\"quantity\":\"1\","
         "\"order_type\":\"" +
         type + "\"";
    if (type == "LIMIT") b += ",\"price\":\"100.00\"";  // far below the market: stays open
    if (!cid.empty()) b += ",\"client_order_id\":\"" + cid + "\"";
    return b + "}";
}

Headers bearer(const std::string& token, Headers more = {}) {
    more.emplace_back("Authorization", "Bearer " + token);
    return more;
}

Headers json_bearer(const std::string& token, const std::string& idem_key = "") {
    return bearer(token, json_headers(idem_key));
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The problem body without its request_id (which differs per request), serialized.
std::string problem_shape(const HttpResult& r) {
    json::Value v = r.json();
    std::string out = "status=" + field(v, "status") + " code=" + field(v, "code") +
                      " type=" + field(v, "type") + " title=" + field(v, "title") +
                      " detail=" + field(v, "detail") + " errors=" + field(v, "errors") + " keys=";
    if (v.is_object())
        for (const auto& [k, _] : v.members()) out += k + ",";
    return out;
}

// A 401 exactly as API.md and RFC 6750 §3 describe it.
void expect_unauthenticated(const HttpResult& r, bool credentials_sent, const std::string& what) {
    SCOPED_TRACE(what);
    EXPECT_EQ(r.status, 401) << r.body;
    EXPECT_EQ(r.header("Content-Type"), "application/problem+json");
    EXPECT_EQ(field(r.json(), "code"), "UNAUTHENTICATED") << r.body;
    EXPECT_EQ(field(r.json(), "status"), "401");
    EXPECT_EQ(field(r.json(), "type"), "https://ordergate.dev/errors/unauthenticated");
    EXPECT_EQ(r.header("WWW-Authenticate"), credentials_sent ? kInvalidChallenge : kChallenge);
    EXPECT_FALSE(r.header("X-Request-Id").empty());
}

void expect_forbidden(const HttpResult& r, const std::string& scope, const std::string& what) {
    SCOPED_TRACE(what);
    EXPECT_EQ(r.status, 403) << r.body;
    EXPECT_EQ(r.header("Content-Type"), "application/problem+json");
    EXPECT_EQ(field(r.json(), "code"), "INSUFFICIENT_SCOPE") << r.body;
    EXPECT_EQ(r.header("WWW-Authenticate"),
              "Bearer realm=\"ordergate\", error=\"insufficient_scope\", scope=\"" + scope + "\"");
}

// The gateway's configuration: two paper accounts, two hashed API keys, a per-principal rate
// limit that normal tests stay far below, and a short JWKS refetch spacing so the rotation test
// does not wait 10 s. Auth itself is switched on by the environment (AUTH_ENABLED, JWKS_URL,
// JWT_ISSUER, JWT_AUDIENCE), as a deployment would.
std::string write_config(const std::string& dir, const std::string& read_key_hash,
                         const std::string& write_key_hash) {
    std::string yaml = R"(http:
  host: 127.0.0.1
  port: ${PORT}
  cors_origins: [http://ui.test:3000]
  max_threads: 16
  max_queued: 256
  shutdown_grace_seconds: 5
plugin_dirs:
  - ${OG_PLUGIN_DIR}
storage:
  plugin: storage-sqlite
  settings:
    path: ${OG_DATA_DIR}/ordergate.db
brokers:
  - name: paper
    plugin: broker-paper
    timeout_ms: 3000
    settings:
      seed: 42
      journal_path: ${OG_DATA_DIR}/paper.journal
      accounts: "ACC1,ACC2"
      initial_cash: 100000000
      currency: INR
      tick_ms: 50
      prices:
        INFY: 1500.00
accounts:
  - {id: ACC1, broker: paper}
  - {id: ACC2, broker: paper}
risk:
  max_quantity: 100000
  max_notional: 1000000000
  max_orders_per_second: 0
idempotency:
  backend: memory
  ttl_seconds: 86400
auth:
  enabled: false                  # AUTH_ENABLED=true turns it on
  jwks_min_refetch_seconds: 1
  rate_per_second: 2
  rate_burst: 60
  api_keys:
    - sha256: )" + read_key_hash +
                       R"(
      subject: reader-svc
      accounts: [ACC1]
      scopes: [orders:read]
    - sha256: )" + write_key_hash +
                       R"(
      subject: trader-svc
      accounts: [ACC1]
      scopes: [orders:read, orders:write]
logging:
  level: debug                    # the log-safety test reads every line
)";
    const std::string path = dir + "/auth.yaml";
    std::ofstream(path) << yaml;
    return path;
}

class AuthGateway : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        rsa_ = std::make_unique<TestKey>(TestKey::rsa("rsa-1", "RS256"));
        ec_ = std::make_unique<TestKey>(TestKey::ec("ec-1", "ES256"));
        jwks_ = std::make_unique<JwksServer>(ts::jwks_json({rsa_.get(), ec_.get()}));
        read_key_ = random_secret("ogk_read_");
        write_key_ = random_secret("ogk_write_");
        config_dir_ = make_temp_dir("og-auth-cfg");
        gw_ = start_gateway(jwks_->url());
    }
    static void TearDownTestSuite() {
        gw_.reset();
        jwks_.reset();
        ec_.reset();
        rsa_.reset();
    }

    static std::unique_ptr<GatewayProcess> start_gateway(const std::string& jwks_url) {
        GatewayOptions o;
        o.config = write_config(config_dir_, auth::sha256_hex(read_key_),
                                auth::sha256_hex(write_key_));
        o.env = {{"AUTH_ENABLED", "true"},
                 {"JWKS_URL", jwks_url},
                 {"JWT_ISSUER", kIssuer},
                 {"JWT_AUDIENCE", kAudience}};
        return std::make_unique<GatewayProcess>(o);
    }

    // Claims valid now for 10 minutes.
    static Claims claims(const std::string& subject, std::vector<std::string> accounts,
                         const std::string& scope) {
        Claims c = ts::valid_claims(*ordergate::system_clock(), kIssuer, kAudience, subject);
        c.accounts = std::move(accounts);
        c.scope = scope;
        return c;
    }
    // An RS256 token for a fresh subject (its own rate-limit bucket).
    static std::string token(std::vector<std::string> accounts = {"ACC1"},
                             const std::string& scope = "orders:read orders:write",
                             const std::string& subject = "") {
        return ts::mint(*rsa_, claims(subject.empty() ? unique("user") : subject,
                                      std::move(accounts), scope));
    }

    uint16_t port() const { return gw_->port(); }
    HttpResult get(const std::string& path, const Headers& h = {}) const {
        return http(port(), "GET", path, "", h);
    }
    HttpResult call(const std::string& method, const std::string& path, const std::string& tok,
                    const std::string& body = "", const std::string& idem = "") const {
        Headers h = body.empty() ? bearer(tok) : json_bearer(tok, idem);
        if (body.empty() && !idem.empty()) h.emplace_back("Idempotency-Key", idem);
        return http(port(), method, path, body, h);
    }
    // Places an order as `tok`; returns its id (fails the test when not 201).
    std::string place(const std::string& tok, const std::string& account,
                      const std::string& type = "LIMIT") {
        auto r = call("POST", "/api/v1/orders", tok, order_body(account, type));
        EXPECT_EQ(r.status, 201) << r.body;
        return field(r.json(), "id");
    }

    static std::unique_ptr<TestKey> rsa_, ec_;
    static std::unique_ptr<JwksServer> jwks_;
    static std::unique_ptr<GatewayProcess> gw_;
    static std::string read_key_, write_key_, config_dir_;
};
std::unique_ptr<TestKey> AuthGateway::rsa_, AuthGateway::ec_;
std::unique_ptr<JwksServer> AuthGateway::jwks_;
std::unique_ptr<GatewayProcess> AuthGateway::gw_;
std::string AuthGateway::read_key_, AuthGateway::write_key_, AuthGateway::config_dir_;

// ---- the event log and the stream (API.md "Streaming") ----------------------------------------

TEST_F(AuthGateway, StreamWithoutATokenIs401BeforeTheUpgrade) {
    expect_unauthenticated(get("/api/v1/stream"), false, "no token");
    expect_unauthenticated(get("/api/v1/stream?token=garbage"), true, "bad token");
}

TEST_F(AuthGateway, StreamTokenInTheQueryReachesOnlyTheGrantedAccounts) {
    const std::string tok = token({"ACC1"}, "orders:read");
    StreamClient c(port(), "/api/v1/stream?token=" + tok);
    EXPECT_EQ(c.status(), 101);
    c.send(R"({"op":"subscribe","account_id":"ACC2"})");
    auto refused = c.next(std::chrono::seconds(10));
    ASSERT_TRUE(refused.has_value());
    EXPECT_EQ(refused->type(), "error") << refused->text;
    EXPECT_EQ(field(refused->json, "code"), "NOT_FOUND") << refused->text;
    c.send(R"({"op":"subscribe","account_id":"ACC1"})");
    auto ok = c.next(std::chrono::seconds(10));
    ASSERT_TRUE(ok.has_value());
    EXPECT_EQ(ok->type(), "subscribed") << ok->text;
    // The REST log is scoped the same way.
    EXPECT_EQ(call("GET", "/api/v1/events?account_id=ACC2", tok).status, 404);
    EXPECT_EQ(call("GET", "/api/v1/events?account_id=ACC1", tok).status, 200);
}

// ---- accepted tokens ----------------------------------------------------------------------------

TEST_F(AuthGateway, ValidRs256TokenPlacesAndReads) {
    const std::string tok = token();
    const std::string id = place(tok, "ACC1");
    ASSERT_FALSE(id.empty());
    auto r = call("GET", "/api/v1/orders/" + id, tok);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(field(r.json(), "account_id"), "ACC1");
    auto list = call("GET", "/api/v1/orders?account_id=ACC1", tok);
    ASSERT_EQ(list.status, 200) << list.body;
    EXPECT_NE(list.body.find(id), std::string::npos);
}

TEST_F(AuthGateway, ValidEs256TokenPlacesAndReads) {
    const std::string tok = ts::mint(*ec_, claims(unique("ec-user"), {"ACC1"},
                                                  "orders:read orders:write"));
    const std::string id = place(tok, "ACC1");
    ASSERT_FALSE(id.empty());
    auto r = call("GET", "/api/v1/orders/" + id, tok);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(field(r.json(), "id"), id);
}

TEST_F(AuthGateway, ScopesMayComeAsAnScpArrayAndAudienceAsAList) {
    Claims c = claims(unique("scp-user"), {"ACC1"}, "");
    c.scope.reset();
    c.scp = std::vector<std::string>{"orders:read"};
    c.aud_list = std::vector<std::string>{"someone-else", kAudience};
    auto r = call("GET", "/api/v1/orders", ts::mint(*rsa_, c));
    EXPECT_EQ(r.status, 200) << r.body;
}

// ---- refused tokens -----------------------------------------------------------------------------

TEST_F(AuthGateway, NoCredentialsIs401WithABareChallenge) {
    expect_unauthenticated(get("/api/v1/orders"), false, "GET orders");
    expect_unauthenticated(http(port(), "POST", "/api/v1/orders", order_body("ACC1"),
                                json_headers()),
                           false, "POST orders");
    // Under /api/v1 an anonymous caller does not even learn which routes exist.
    expect_unauthenticated(get("/api/v1/no-such-route"), false, "unknown route");
    expect_unauthenticated(get("/api/v1/plugins"), false, "plugins");
}

// A browser page of an allowed origin (http.cors_origins): its preflight carries no credentials
// and is answered without them (204, for any path: it tells nothing of the routes); a request
// without a token is still 401, and the page can read that answer and its challenge; with a
// token it reads the order it placed and the replay header.
TEST_F(AuthGateway, ABrowserPageOfAnAllowedOriginPassesItsPreflightAndStillNeedsAToken) {
    const Headers origin = {{"Origin", "http://ui.test:3000"}};
    for (const std::string path : {"/api/v1/orders", "/api/v1/no-such-route"}) {
        auto pre = http(port(), "OPTIONS", path, "",
                        {{"Origin", "http://ui.test:3000"},
                         {"Access-Control-Request-Method", "POST"},
                         {"Access-Control-Request-Headers", "authorization, content-type"}});
        EXPECT_EQ(pre.status, 204) << path << " " << pre.body;
        EXPECT_EQ(pre.header("access-control-allow-origin"), "http://ui.test:3000");
        EXPECT_NE(pre.header("access-control-allow-headers").find("Authorization"),
                  std::string::npos);
    }
    auto anonymous = get("/api/v1/orders", origin);
    expect_unauthenticated(anonymous, false, "GET orders from a page");
    EXPECT_EQ(anonymous.header("access-control-allow-origin"), "http://ui.test:3000");
    EXPECT_NE(anonymous.header("access-control-expose-headers").find("WWW-Authenticate"),
              std::string::npos);

    Headers h = json_bearer(token({"ACC1"}, "orders:read orders:write"), "cors-1");
    h.emplace_back("Origin", "http://ui.test:3000");
    auto placed = http(port(), "POST", "/api/v1/orders", order_body("ACC1"), h);
    ASSERT_EQ(placed.status, 201) << placed.body;
    auto again = http(port(), "POST", "/api/v1/orders", order_body("ACC1"), h);
    EXPECT_EQ(again.header("idempotent-replayed"), "true");
    EXPECT_EQ(again.header("access-control-allow-origin"), "http://ui.test:3000");
    EXPECT_NE(again.header("access-control-expose-headers").find("Idempotent-Replayed"),
              std::string::npos);

    auto elsewhere = get("/api/v1/orders", {{"Origin", "http://evil.test"}});
    EXPECT_EQ(elsewhere.status, 401);
    EXPECT_EQ(elsewhere.header("access-control-allow-origin"), "");

    // The stream: the allowed page opens it with its token; another page, token or not, cannot.
    const std::string t = "?token=" + token({"ACC1"}, "orders:read");
    EXPECT_EQ(
        stream_handshake(port(), {{"Origin", "http://ui.test:3000"}}, "/api/v1/stream" + t).status,
        101);
    EXPECT_EQ(stream_handshake(port(), {{"Origin", "http://ui.test:3000"}}).status, 401);
    auto evil = stream_handshake(port(), {{"Origin", "http://evil.test"}}, "/api/v1/stream" + t);
    EXPECT_EQ(evil.status, 403) << evil.body;
    EXPECT_EQ(field(evil.json(), "code"), "ORIGIN_NOT_ALLOWED") << evil.body;
}

TEST_F(AuthGateway, AlgNoneIsRefused) {
    Claims c = claims(unique("none"), {"ACC1"}, "orders:read orders:write operator");
    for (const char* alg : {"none", "None", "NONE", "nOnE"}) {
        expect_unauthenticated(call("GET", "/api/v1/orders", ts::mint_none(c, alg)), true,
                               std::string("alg ") + alg);
    }
    // alg none with a kid that exists and a real RS256 signature appended.
    Header h;
    h.alg = "none";
    h.kid = rsa_->kid();
    const std::string signed_none = ts::mint_raw(*rsa_, "RS256", h.json(), c.json());
    expect_unauthenticated(call("GET", "/api/v1/orders", signed_none), true, "none + signature");
}

TEST_F(AuthGateway, Hs256SignedWithTheRsaPublicKeyIsRefused) {
    Claims c = claims(unique("confused"), {"ACC1", "ACC2"}, "orders:read orders:write operator");
    const std::string pem = rsa_->public_pem();
    Header with_kid;
    with_kid.alg = "HS256";
    with_kid.kid = rsa_->kid();
    expect_unauthenticated(
        call("GET", "/api/v1/orders", ts::mint_hs256(pem, with_kid.json(), c.json())), true,
        "HS256 with the PEM, kid of the RSA key");
    expect_unauthenticated(call("GET", "/api/v1/orders", ts::mint_hs256(pem, c)), true,
                           "HS256 with the PEM, no kid");
    expect_unauthenticated(
        call("GET", "/api/v1/orders", ts::mint_hs256(rsa_->jwk_json(), with_kid.json(), c.json())),
        true, "HS256 with the JWK text");
}

TEST_F(AuthGateway, ExpiredTokenIsRefused) {
    Claims c = claims(unique("expired"), {"ACC1"}, "orders:read");
    c.iat = now_s() - 3600;
    c.exp = now_s() - 120;  // beyond the 30 s leeway
    expect_unauthenticated(call("GET", "/api/v1/orders", ts::mint(*rsa_, c)), true, "expired");
    Claims no_exp = claims(unique("no-exp"), {"ACC1"}, "orders:read");
    no_exp.exp.reset();
    expect_unauthenticated(call("GET", "/api/v1/orders", ts::mint(*rsa_, no_exp)), true,
                           "without exp");
}

TEST_F(AuthGateway, NotYetValidTokenIsRefused) {
    Claims c = claims(unique("early"), {"ACC1"}, "orders:read");
    c.nbf = now_s() + 600;
    c.exp = now_s() + 1200;
    expect_unauthenticated(call("GET", "/api/v1/orders", ts::mint(*rsa_, c)), true, "nbf");
}

TEST_F(AuthGateway, WrongIssuerIsRefused) {
    Claims c = claims(unique("iss"), {"ACC1"}, "orders:read");
    c.iss = "https://evil.example/";
    expect_unauthenticated(call("GET", "/api/v1/orders", ts::mint(*rsa_, c)), true, "issuer");
    c.iss = kIssuer + "/";  // a near miss is a miss
    expect_unauthenticated(call("GET", "/api/v1/orders", ts::mint(*rsa_, c)), true, "issuer+/");
}

TEST_F(AuthGateway, WrongAudienceIsRefused) {
    Claims c = claims(unique("aud"), {"ACC1"}, "orders:read");
    c.aud = "another-api";
    expect_unauthenticated(call("GET", "/api/v1/orders", ts::mint(*rsa_, c)), true, "audience");
    c.aud_list = std::vector<std::string>{"another-api", "third-api"};
    expect_unauthenticated(call("GET", "/api/v1/orders", ts::mint(*rsa_, c)), true, "aud list");
}

TEST_F(AuthGateway, TamperedPayloadIsRefused) {
    const std::string subject = unique("tamper");
    const std::string tok = token({"ACC1"}, "orders:read", subject);
    ASSERT_EQ(call("GET", "/api/v1/orders", tok).status, 200);
    Claims more = claims(subject, {"ACC1", "ACC2"}, "orders:read orders:write operator");
    expect_unauthenticated(call("GET", "/api/v1/orders", ts::tamper_payload(tok, more.json())),
                           true, "tampered claims");
    // One flipped character in the signature.
    std::string flipped = tok;
    flipped[flipped.size() - 5] = flipped[flipped.size() - 5] == 'A' ? 'B' : 'A';
    expect_unauthenticated(call("GET", "/api/v1/orders", flipped), true, "flipped signature");
}

TEST_F(AuthGateway, MalformedTokensAreRefused) {
    const std::string good = token({"ACC1"}, "orders:read");
    const size_t dot1 = good.find('.'), dot2 = good.rfind('.');
    std::vector<std::pair<std::string, std::string>> cases = {
        {"bad base64 in the header", "e!J*" + good.substr(4)},
        {"bad base64 in the payload", good.substr(0, dot1 + 1) + "%%%%" + good.substr(dot1 + 5)},
        {"padding", good.substr(0, dot2) + "==" + good.substr(dot2)},
        {"three dots", good + ".AAAA"},
        {"only dots", "..."},
        {"two segments", good.substr(0, dot2)},
        {"one segment", "abcdef"},
        {"not JSON", ts::b64url("hello") + "." + ts::b64url("world") + ".c2ln"},
        {"near the header limit", std::string(8000, 'A') + "." + std::string(80, 'B') + ".C"},
    };
    for (const auto& [what, tok] : cases)
        expect_unauthenticated(call("GET", "/api/v1/orders", tok), true, what);
    // Not a bearer scheme, an empty token.
    expect_unauthenticated(get("/api/v1/orders", {{"Authorization", "Basic dXNlcjpwYXNz"}}), true,
                           "Basic");
    expect_unauthenticated(get("/api/v1/orders", {{"Authorization", "Bearer"}}), true,
                           "Bearer without a token");
    expect_unauthenticated(get("/api/v1/orders", {{"Authorization", "Bearer " + good + " x"}}),
                           true, "a second word");
    // RFC 6750 §2.1: "Bearer" 1*SP b64token: more than one space is still the same token.
    EXPECT_EQ(get("/api/v1/orders", {{"Authorization", "Bearer  " + good}}).status, 200);
}

// 100 KB does not fit in one header field: the HTTP server (Poco, 8 KiB per field) refuses the
// request before any handler runs, and the gateway keeps serving. API.md asks for 431
// HEADERS_TOO_LARGE as problem+json here; Poco answers a bare 400 and closes the connection
// without reading the rest, so the client sees that 400 or a reset (see the report of issue 6).
// This test accepts both, but never a 2xx, a 5xx or an order.
TEST_F(AuthGateway, HundredKilobyteTokenIsRefused) {
    const std::string op = token({}, "orders:read operator");
    const std::string before = call("GET", "/api/v1/orders?account_id=ACC1&limit=1000", op).body;
    const std::string huge = std::string(50 * 1024, 'A') + "." + std::string(50 * 1024, 'B') +
                             "." + std::string(100, 'C');
    // A header over Poco's 8 KiB field limit cannot be read, so it is never a token the
    // gateway looks at: the answer is 431 HEADERS_TOO_LARGE as problem+json, and nothing runs.
    HttpResult r = call("GET", "/api/v1/orders", huge);
    EXPECT_EQ(r.status, 431) << r.body;
    EXPECT_EQ(r.header("Content-Type"), "application/problem+json");
    EXPECT_EQ(field(r.json(), "code"), "HEADERS_TOO_LARGE");
    EXPECT_EQ(r.body.find(huge.substr(0, 64)), std::string::npos);
    // With a body the client may still be sending when the server closes: 431 or a reset, never
    // an order.
    try {
        HttpResult p = call("POST", "/api/v1/orders", huge, order_body("ACC1"));
        EXPECT_EQ(p.status, 431) << p.body;
    } catch (const std::exception&) {
        SUCCEED() << "reset after the 431 while the body was being sent";
    }
    EXPECT_EQ(get("/health").status, 200);
    EXPECT_EQ(call("GET", "/api/v1/orders?account_id=ACC1&limit=1000", op).body, before);
}

// ---- keys: rotation, refetch limits, JWKS down --------------------------------------------------

TEST_F(AuthGateway, UnknownKidIsAcceptedAfterRotationWithOneRefetch) {
    TestKey rotated = TestKey::rsa("rsa-2", "RS256");
    const std::string tok = ts::mint(rotated, claims(unique("rotated"), {"ACC1"}, "orders:read"));
    jwks_->reset_count();
    // Not in the set yet: refused, and however many such requests arrive the gateway fetches the
    // JWKS at most once per refetch interval (1 s here).
    for (int i = 0; i < 20; ++i)
        expect_unauthenticated(call("GET", "/api/v1/orders", tok), true, "kid unknown");
    EXPECT_LE(jwks_->request_count(), 1u);

    jwks_->set_jwks(ts::jwks_json({rsa_.get(), ec_.get(), &rotated}));
    // Wait (bounded) until the refetch spacing has passed since the last fetch, then the next
    // request with the new kid triggers one refetch and is accepted.
    const size_t before = jwks_->request_count();
    int status = 0, refused = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
        auto r = call("GET", "/api/v1/orders", tok);
        status = r.status;
        if (status == 200) break;
        ASSERT_EQ(status, 401) << r.body;
        ++refused;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_EQ(status, 200) << "the rotated key was never fetched";
    EXPECT_EQ(jwks_->request_count(), before + 1) << "after " << refused << " refusals";
    // The key is cached from now on: more requests, no more fetches.
    const std::string other =
        ts::mint(rotated, claims(unique("rotated2"), {"ACC1"}, "orders:read"));
    EXPECT_EQ(call("GET", "/api/v1/orders", other).status, 200);
    EXPECT_EQ(call("GET", "/api/v1/orders", tok).status, 200);
    EXPECT_EQ(jwks_->request_count(), before + 1);
}

TEST_F(AuthGateway, JwksDownKeepsCachedKeysWorking) {
    jwks_->stop();
    // A token not seen before (so not in the verified-token cache), signed by a cached key.
    auto r = call("GET", "/api/v1/orders", token({"ACC1"}, "orders:read"));
    auto r_ec = call("GET", "/api/v1/orders",
                     ts::mint(*ec_, claims(unique("ec-down"), {"ACC1"}, "orders:read")));
    jwks_->restart();
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r_ec.status, 200) << r_ec.body;
}

TEST_F(AuthGateway, JwksDownWithoutCachedKeysIs503NotThen401) {
    JwksServer down(ts::jwks_json({rsa_.get()}));
    down.stop();  // the port is known, nothing listens
    auto gw = start_gateway(down.url());
    const std::string tok = token({"ACC1"}, "orders:read");
    auto r = http(gw->port(), "GET", "/api/v1/orders", "", bearer(tok));
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_EQ(r.header("Content-Type"), "application/problem+json");
    EXPECT_EQ(field(r.json(), "code"), "AUTH_UNAVAILABLE");
    EXPECT_FALSE(r.header("Retry-After").empty());
    EXPECT_TRUE(r.header("WWW-Authenticate").empty()) << "a 503 is not a challenge";
    // Tokens that are refused whatever the keys stay 401 (no fetch needed to refuse them).
    Claims expired = claims(unique("exp"), {"ACC1"}, "orders:read");
    expired.exp = now_s() - 300;
    expect_unauthenticated(http(gw->port(), "GET", "/api/v1/orders", "",
                                bearer(ts::mint(*rsa_, expired))),
                           true, "expired while JWKS is down");
    expect_unauthenticated(http(gw->port(), "GET", "/api/v1/orders", "", {}), false,
                           "no token while JWKS is down");
    // The JWKS server comes back: the next fetch (after the 1 s spacing) succeeds.
    down.restart();
    int status = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
        status = http(gw->port(), "GET", "/api/v1/orders", "", bearer(tok)).status;
        if (status == 200) break;
        EXPECT_EQ(status, 503);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_EQ(status, 200);
}

// ---- account isolation -------------------------------------------------------------------------

TEST_F(AuthGateway, AnotherAccountsOrderIsIndistinguishableFromAMissingOne) {
    const std::string alice = token({"ACC1"});
    const std::string bob = token({"ACC2"});
    const std::string cid = unique("bob-cid");
    auto placed = call("POST", "/api/v1/orders", bob, order_body("ACC2", "LIMIT", cid));
    ASSERT_EQ(placed.status, 201) << placed.body;
    const std::string bobs = field(placed.json(), "id");
    const std::string version = field(placed.json(), "version");
    // An id of the same form that does not exist.
    std::string missing = bobs;
    missing.back() = missing.back() == 'Z' ? 'Y' : 'Z';

    const std::string modify = "{\"price\":\"101.00\"}";
    struct Case {
        std::string method, path_suffix, body;
    };
    for (const Case& c : std::vector<Case>{{"GET", "", ""},
                                           {"GET", "/events", ""},
                                           {"PUT", "", modify},
                                           {"DELETE", "", ""}}) {
        SCOPED_TRACE(c.method + " " + c.path_suffix);
        auto theirs = call(c.method, "/api/v1/orders/" + bobs + c.path_suffix, alice, c.body,
                           unique("k"));
        auto none = call(c.method, "/api/v1/orders/" + missing + c.path_suffix, alice, c.body,
                         unique("k"));
        EXPECT_EQ(theirs.status, 404) << theirs.body;
        EXPECT_EQ(field(theirs.json(), "code"), "NOT_FOUND");
        EXPECT_EQ(problem_shape(theirs), problem_shape(none));
        EXPECT_EQ(theirs.header("Content-Type"), none.header("Content-Type"));
    }
    auto by_cid = call("GET", "/api/v1/orders/client_order_id:" + cid, alice);
    auto by_missing_cid = call("GET", "/api/v1/orders/client_order_id:" + unique("nope"), alice);
    EXPECT_EQ(by_cid.status, 404);
    EXPECT_EQ(problem_shape(by_cid), problem_shape(by_missing_cid));

    // Bob's order was not touched.
    auto after = call("GET", "/api/v1/orders/" + bobs, bob);
    ASSERT_EQ(after.status, 200);
    EXPECT_EQ(field(after.json(), "price"), "100.00");
    EXPECT_EQ(field(after.json(), "status"), "OPEN");
    EXPECT_EQ(field(after.json(), "version"), version);
    EXPECT_EQ(call("GET", "/api/v1/orders/client_order_id:" + cid, bob).status, 200);
}

TEST_F(AuthGateway, WritesIntoAnotherAccountAre404LikeAMissingAccount) {
    const std::string alice = token({"ACC1"});
    auto into_acc2 = call("POST", "/api/v1/orders", alice, order_body("ACC2"));
    auto into_nope = call("POST", "/api/v1/orders", alice, order_body("NOPE"));
    EXPECT_EQ(into_acc2.status, 404) << into_acc2.body;
    EXPECT_EQ(field(into_acc2.json(), "code"), "NOT_FOUND");
    std::string shape = problem_shape(into_nope);
    EXPECT_EQ(problem_shape(into_acc2), shape.replace(shape.find("NOPE"), 4, "ACC2"));

    auto kill_acc2 = call("DELETE", "/api/v1/orders?account_id=ACC2", alice);
    auto kill_nope = call("DELETE", "/api/v1/orders?account_id=NOPE", alice);
    EXPECT_EQ(kill_acc2.status, 404) << kill_acc2.body;
    shape = problem_shape(kill_nope);
    EXPECT_EQ(problem_shape(kill_acc2), shape.replace(shape.find("NOPE"), 4, "ACC2"));

    // The operator sees ACC2 has no order from Alice, and Alice's kill switch did not cancel
    // Bob's open order.
    const std::string bob = token({"ACC2"});
    const std::string bobs = place(bob, "ACC2");
    EXPECT_EQ(call("DELETE", "/api/v1/orders?account_id=ACC2", alice).status, 404);
    EXPECT_EQ(field(call("GET", "/api/v1/orders/" + bobs, bob).json(), "status"), "OPEN");
    // A token granted only ACC1 cannot omit account_id to reach another account either.
    auto implicit = call("POST", "/api/v1/orders", alice, order_body(""));
    ASSERT_EQ(implicit.status, 201) << implicit.body;
    EXPECT_EQ(field(implicit.json(), "account_id"), "ACC1");
}

TEST_F(AuthGateway, ListsPositionsTradesAndAccountsAreFiltered) {
    const std::string alice = token({"ACC1"});
    const std::string bob = token({"ACC2"});
    const std::string bobs = place(bob, "ACC2", "MARKET");
    const std::string alices = place(alice, "ACC1", "MARKET");
    // Wait (bounded) until both fills are visible to their owners.
    auto filled = [&](const std::string& tok, const std::string& id) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < deadline) {
            auto r = call("GET", "/api/v1/trades?order_id=" + id, tok);
            if (r.status == 200 && r.body.find(id) != std::string::npos) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return false;
    };
    ASSERT_TRUE(filled(bob, bobs));
    ASSERT_TRUE(filled(alice, alices));

    auto orders = call("GET", "/api/v1/orders", alice);
    ASSERT_EQ(orders.status, 200);
    EXPECT_NE(orders.body.find(alices), std::string::npos);
    EXPECT_EQ(orders.body.find("ACC2"), std::string::npos) << orders.body;
    auto orders_acc2 = call("GET", "/api/v1/orders?account_id=ACC2", alice);
    EXPECT_EQ(orders_acc2.status, 200);
    EXPECT_EQ(orders_acc2.body, "{\"items\":[],\"next_cursor\":null}");

    auto trades = call("GET", "/api/v1/trades", alice);
    ASSERT_EQ(trades.status, 200);
    EXPECT_NE(trades.body.find(alices), std::string::npos);
    EXPECT_EQ(trades.body.find("ACC2"), std::string::npos) << trades.body;
    EXPECT_EQ(call("GET", "/api/v1/trades?account_id=ACC2", alice).body,
              "{\"items\":[],\"next_cursor\":null}");
    EXPECT_EQ(call("GET", "/api/v1/trades?order_id=" + bobs, alice).body,
              "{\"items\":[],\"next_cursor\":null}");

    auto positions = call("GET", "/api/v1/positions", alice);
    ASSERT_EQ(positions.status, 200);
    EXPECT_NE(positions.body.find("ACC1"), std::string::npos) << positions.body;
    EXPECT_EQ(positions.body.find("ACC2"), std::string::npos) << positions.body;
    auto pos_acc2 = call("GET", "/api/v1/positions?account_id=ACC2", alice);
    auto pos_nope = call("GET", "/api/v1/positions?account_id=NOPE", alice);
    EXPECT_EQ(pos_acc2.status, 404);
    std::string shape = problem_shape(pos_nope);
    EXPECT_EQ(problem_shape(pos_acc2), shape.replace(shape.find("NOPE"), 4, "ACC2"));

    auto accounts = call("GET", "/api/v1/accounts", alice);
    ASSERT_EQ(accounts.status, 200);
    EXPECT_NE(accounts.body.find("ACC1"), std::string::npos);
    EXPECT_EQ(accounts.body.find("ACC2"), std::string::npos) << accounts.body;
    auto acc2 = call("GET", "/api/v1/accounts/ACC2", alice);
    auto nope = call("GET", "/api/v1/accounts/NOPE", alice);
    EXPECT_EQ(acc2.status, 404);
    shape = problem_shape(nope);
    EXPECT_EQ(problem_shape(acc2), shape.replace(shape.find("NOPE"), 4, "ACC2"));

    // An operator sees both accounts.
    auto all = call("GET", "/api/v1/trades", token({}, "orders:read operator"));
    EXPECT_NE(all.body.find(bobs), std::string::npos);
    EXPECT_NE(all.body.find(alices), std::string::npos);
}

// ---- scopes, rate limits, API keys, idempotency -------------------------------------------------

// A quote is read through an account: a caller granted one may leave it out, another account is
// 404 as a missing one is, and without a token it is 401.
TEST_F(AuthGateway, AQuoteIsReadThroughAGrantedAccount) {
    const std::string alice = token({"ACC1"}, "orders:read");
    auto own = call("GET", "/api/v1/quote?symbol=INFY&exchange=NSE", alice);
    ASSERT_EQ(own.status, 200) << own.body;
    EXPECT_EQ(field(own.json(), "account_id"), "ACC1");
    auto other = call("GET", "/api/v1/quote?account_id=ACC2&symbol=INFY&exchange=NSE", alice);
    auto nope = call("GET", "/api/v1/quote?account_id=NOPE&symbol=INFY&exchange=NSE", alice);
    EXPECT_EQ(other.status, 404) << other.body;
    EXPECT_EQ(nope.status, 404) << nope.body;
    expect_unauthenticated(get("/api/v1/quote?account_id=ACC1&symbol=INFY&exchange=NSE"), false,
                           "quote");
}

TEST_F(AuthGateway, MissingScopeIs403) {
    const std::string reader = token({"ACC1"}, "orders:read");
    expect_forbidden(call("POST", "/api/v1/orders", reader, order_body("ACC1")), "orders:write",
                     "reader places");
    expect_forbidden(call("DELETE", "/api/v1/orders?account_id=ACC1", reader), "orders:write",
                     "reader cancels all");
    const std::string writer = token({"ACC1"}, "orders:write");
    expect_forbidden(call("GET", "/api/v1/orders", writer), "orders:read", "writer reads");
    const std::string trader = token({"ACC1"}, "orders:read orders:write");
    expect_forbidden(call("GET", "/api/v1/plugins", trader), "operator", "plugins");
    const std::string nothing = token({"ACC1"}, "");
    expect_forbidden(call("GET", "/api/v1/orders", nothing), "orders:read", "no scope");
    // Scope names are exact.
    expect_forbidden(call("GET", "/api/v1/plugins", token({"ACC1"}, "Operator operators")),
                     "operator", "look-alike scopes");
    auto op = call("GET", "/api/v1/plugins", token({}, "operator"));
    EXPECT_EQ(op.status, 200) << op.body;
    EXPECT_NE(op.body.find("broker-paper"), std::string::npos);
}

TEST_F(AuthGateway, RateLimitIsPerPrincipalWith429AndRetryAfter) {
    const std::string tok = token({"ACC1"}, "orders:read");
    HttpResult limited;
    int allowed = 0;
    for (int i = 0; i < 200; ++i) {
        auto r = call("GET", "/api/v1/orders?limit=1", tok);
        if (r.status == 429) {
            limited = r;
            break;
        }
        ASSERT_EQ(r.status, 200) << r.body;
        ++allowed;
    }
    ASSERT_EQ(limited.status, 429) << "never limited after " << allowed << " requests";
    EXPECT_GE(allowed, 60);  // the configured burst
    EXPECT_LE(allowed, 80);
    EXPECT_EQ(limited.header("Content-Type"), "application/problem+json");
    EXPECT_EQ(field(limited.json(), "code"), "RATE_LIMITED");
    const std::string retry = limited.header("Retry-After");
    ASSERT_FALSE(retry.empty());
    EXPECT_GE(std::stoi(retry), 1);
    // Another principal has its own bucket.
    EXPECT_EQ(call("GET", "/api/v1/orders?limit=1", token({"ACC1"}, "orders:read")).status, 200);
    // The limited principal is still limited right away.
    EXPECT_EQ(call("GET", "/api/v1/orders?limit=1", tok).status, 429);
}

TEST_F(AuthGateway, ApiKeyIsAcceptedAndScoped) {
    const Headers reader = {{"X-API-Key", read_key_}};
    auto list = get("/api/v1/orders", reader);
    EXPECT_EQ(list.status, 200) << list.body;
    Headers post = json_headers();
    post.emplace_back("X-API-Key", read_key_);
    expect_forbidden(http(port(), "POST", "/api/v1/orders", order_body("ACC1"), post),
                     "orders:write", "read-only key places");

    Headers writer = json_headers();
    writer.emplace_back("X-API-Key", write_key_);
    auto placed = http(port(), "POST", "/api/v1/orders", order_body("ACC1"), writer);
    ASSERT_EQ(placed.status, 201) << placed.body;
    auto into_acc2 = http(port(), "POST", "/api/v1/orders", order_body("ACC2"), writer);
    EXPECT_EQ(into_acc2.status, 404) << into_acc2.body;
    EXPECT_EQ(get("/api/v1/orders/" + field(placed.json(), "id"), reader).status, 200);

    expect_unauthenticated(get("/api/v1/orders", {{"X-API-Key", read_key_ + "x"}}), true,
                           "unknown key");
    expect_unauthenticated(get("/api/v1/orders", {{"X-API-Key", auth::sha256_hex(read_key_)}}),
                           true, "the hash itself");
    expect_unauthenticated(get("/api/v1/orders", {{"X-API-Key", read_key_},
                                                  {"Authorization", "Bearer " + token()}}),
                           true, "both credentials");
}

TEST_F(AuthGateway, IdempotencyKeysAreScopedToThePrincipal) {
    const std::string alice = token({"ACC1"});
    const std::string carol = token({"ACC1"});
    const std::string key = unique("shared-key");
    const std::string body = order_body("ACC1");
    auto a = call("POST", "/api/v1/orders", alice, body, key);
    auto c = call("POST", "/api/v1/orders", carol, body, key);
    ASSERT_EQ(a.status, 201) << a.body;
    ASSERT_EQ(c.status, 201) << c.body;
    EXPECT_NE(field(a.json(), "id"), field(c.json(), "id"));
    EXPECT_TRUE(c.header("Idempotent-Replayed").empty());
    // The same principal does get its replay.
    auto again = call("POST", "/api/v1/orders", alice, body, key);
    EXPECT_EQ(again.status, 201);
    EXPECT_EQ(again.header("Idempotent-Replayed"), "true");
    EXPECT_EQ(again.body, a.body);
    // An API key principal with the same key: a third order, no replay.
    Headers writer = json_headers(key);
    writer.emplace_back("X-API-Key", write_key_);
    auto k = http(port(), "POST", "/api/v1/orders", body, writer);
    ASSERT_EQ(k.status, 201) << k.body;
    EXPECT_TRUE(k.header("Idempotent-Replayed").empty());
    EXPECT_NE(field(k.json(), "id"), field(a.json(), "id"));
    EXPECT_NE(field(k.json(), "id"), field(c.json(), "id"));
}

// ---- open routes, metrics, log safety ----------------------------------------------------------

TEST_F(AuthGateway, HealthMetricsAndDocsStayOpen) {
    EXPECT_EQ(get("/health").status, 200);
    EXPECT_EQ(get("/health/ready").status, 200);
    auto m = get("/metrics");
    EXPECT_EQ(m.status, 200);
    EXPECT_NE(m.body.find("ordergate_"), std::string::npos);
    EXPECT_EQ(get("/openapi.json").status, 200);
    // A bad token on an open route does not close it.
    EXPECT_EQ(get("/health", {{"Authorization", "Bearer nonsense"}}).status, 200);
}

TEST_F(AuthGateway, ProtectedHealthAndMetricsNeedAnOperatorToken) {
    std::stringstream base;
    base << std::ifstream(config_dir_ + "/auth.yaml").rdbuf();
    std::string yaml = base.str();
    const std::string enabled = "  enabled: false                  # AUTH_ENABLED=true turns it on\n";
    const auto at = yaml.find(enabled);
    ASSERT_NE(at, std::string::npos);
    yaml.insert(at + enabled.size(), "  protect_health: true\n  protect_metrics: true\n");
    const std::string dir = make_temp_dir("og-auth-protected");
    std::ofstream(dir + "/auth.yaml") << yaml;
    GatewayOptions o;
    o.config = dir + "/auth.yaml";
    o.env = {{"AUTH_ENABLED", "true"},
             {"JWKS_URL", jwks_->url()},
             {"JWT_ISSUER", kIssuer},
             {"JWT_AUDIENCE", kAudience}};
    o.expect_start = false;  // /health needs a token now: wait on it below, with one
    GatewayProcess gw(o);
    const std::string op = token({"ACC1"}, "operator");
    HttpResult health;
    for (int i = 0; i < 200 && health.status != 200; ++i) {
        try {
            health = http(gw.port(), "GET", "/health", "", bearer(op));
        } catch (const std::exception&) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
    ASSERT_EQ(health.status, 200) << health.body << gw.log();
    // Ready once the start-up reconciliation is done, as a probe with the token would see it.
    HttpResult ready;
    for (int i = 0; i < 200 && ready.status != 200; ++i) {
        ready = http(gw.port(), "GET", "/health/ready", "", bearer(op));
        if (ready.status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_EQ(ready.status, 200) << ready.body;
    for (const std::string path : {"/health", "/health/ready", "/metrics"}) {
        SCOPED_TRACE(path);
        auto none = http(gw.port(), "GET", path);
        EXPECT_EQ(none.status, 401) << none.body;
        EXPECT_EQ(field(none.json(), "code"), "UNAUTHENTICATED");
        EXPECT_FALSE(none.header("WWW-Authenticate").empty());
        auto trader = http(gw.port(), "GET", path, "", bearer(token({"ACC1"}, "orders:read")));
        EXPECT_EQ(trader.status, 403) << trader.body;
        EXPECT_EQ(field(trader.json(), "code"), "INSUFFICIENT_SCOPE");
        EXPECT_EQ(http(gw.port(), "GET", path, "", bearer(op)).status, 200);
    }
    // The API description stays public.
    EXPECT_EQ(http(gw.port(), "GET", "/openapi.json").status, 200);
}

TEST_F(AuthGateway, AuthOutcomesAreCounted) {
    EXPECT_EQ(call("GET", "/api/v1/orders", token({"ACC1"}, "orders:read")).status, 200);
    EXPECT_EQ(get("/api/v1/orders").status, 401);
    EXPECT_EQ(call("GET", "/api/v1/orders", "x.y.z").status, 401);
    EXPECT_EQ(call("GET", "/api/v1/plugins", token()).status, 403);
    auto m = get("/metrics").body;
    for (const char* result : {"ok", "missing", "invalid", "insufficient_scope"})
        EXPECT_NE(m.find(std::string("ordergate_auth_total{result=\"") + result + "\"}"),
                  std::string::npos)
            << result;
}

TEST_F(AuthGateway, TokensAndKeysNeverReachTheLog) {
    std::vector<std::string> secrets;
    const std::string good = token({"ACC1"});
    secrets.push_back(good);
    ASSERT_FALSE(place(good, "ACC1").empty());
    Claims expired = claims(unique("exp"), {"ACC1"}, "orders:read");
    expired.exp = now_s() - 300;
    secrets.push_back(ts::mint(*rsa_, expired));
    Claims aud = claims(unique("aud"), {"ACC1"}, "orders:read");
    aud.aud = "other";
    secrets.push_back(ts::mint(*rsa_, aud));
    secrets.push_back(ts::tamper_payload(good, "{\"sub\":\"x\"}"));
    TestKey stranger = TestKey::rsa("stranger", "RS256");
    secrets.push_back(ts::mint(stranger, claims(unique("s"), {"ACC1"}, "orders:read")));
    for (const auto& s : secrets) call("GET", "/api/v1/orders", s);
    call("GET", "/api/v1/plugins", good);  // 403
    get("/api/v1/orders", {{"X-API-Key", read_key_}});
    get("/api/v1/orders", {{"X-API-Key", write_key_ + "-wrong"}});
    secrets.push_back(read_key_);
    secrets.push_back(write_key_);

    const std::string log = read_file(gw_->data_dir() + "/gateway.log");
    ASSERT_NE(log.find("event=auth_refused"), std::string::npos) << "no refusal logged";
    EXPECT_NE(log.find("reason=\"token_expired\""), std::string::npos);
    EXPECT_NE(log.find("reason=\"audience_mismatch\""), std::string::npos);
    for (const auto& s : secrets) {
        // Any of its segments (header, payload or signature) would already be a leak.
        size_t pos = 0;
        while (pos <= s.size()) {
            size_t dot = s.find('.', pos);
            if (dot == std::string::npos) dot = s.size();
            const std::string part = s.substr(pos, dot - pos);
            if (part.size() >= 16) {
                EXPECT_EQ(log.find(part), std::string::npos) << "leaked: " << part.substr(0, 16);
            }
            pos = dot + 1;
        }
    }
}

}  // namespace
}  // namespace ordergate::testing
