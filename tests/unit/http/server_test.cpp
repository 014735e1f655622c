// ordergate::http::Server over real sockets on loopback: keep-alive, pipelined requests, the
// keep-alive timeout, a stop with idle connections open, and CORS.
#include "http/server.hpp"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <istream>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using ordergate::http::Request;
using ordergate::http::Response;
using ordergate::http::Server;
using ordergate::http::ServerOptions;

// A raw client socket: what it sends goes out as written, so requests can be pipelined.
class Client {
  public:
    explicit Client(uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }
    ~Client() {
        if (fd_ >= 0) ::close(fd_);
    }
    bool connected() const { return fd_ >= 0; }
    void send(const std::string& s) { ASSERT_EQ(::send(fd_, s.data(), s.size(), 0), static_cast<ssize_t>(s.size())); }
    // Reads until `n` answers are complete (each has "Content-Length: 2" and a 2-byte body), the
    // peer closes, or `timeout` passes. Returns what was read.
    std::string read_answers(size_t n, std::chrono::milliseconds timeout, bool* closed) {
        std::string in;
        *closed = false;
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (count(in, "\r\n\r\nok") < n) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) break;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
            char buf[4096];
            ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
            if (r <= 0) {
                *closed = true;
                break;
            }
            in.append(buf, static_cast<size_t>(r));
        }
        return in;
    }
    // True when the server closes the connection within `timeout`, reading nothing else.
    bool closed_within(std::chrono::milliseconds timeout) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
        char c;
        return ::recv(fd_, &c, 1, 0) == 0;
    }
    static size_t count(const std::string& s, const std::string& what) {
        size_t n = 0;
        for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
        return n;
    }

  private:
    int fd_ = -1;
};

std::string get(const std::string& path) {
    return "GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n";
}

class ServerTest : public ::testing::Test {
  protected:
    void start(int keep_alive_seconds, std::vector<std::string> cors_origins = {},
               size_t body_limit = 65536) {
        ServerOptions o;
        o.host = "127.0.0.1";
        o.port = 0;
        o.max_threads = 4;
        o.keep_alive_timeout_seconds = keep_alive_seconds;
        o.cors_origins = std::move(cors_origins);
        o.body_limit_bytes = body_limit;
        server_ = std::make_unique<Server>(
            o,
            [this](Request& req, Response& res) {
                {
                    std::lock_guard lock(mu_);
                    paths_ += req.path + ";";
                }
                res.status = 200;
                res.content_type = "text/plain";
                res.body = "ok";
            },
            nullptr);
        server_->start();
    }
    void TearDown() override {
        if (server_) server_->stop(0ms);
    }
    // One request on `c`, answered 200 and the connection left open.
    static void serve_one(Client& c) {
        ASSERT_TRUE(c.connected());
        c.send(get("/x"));
        bool closed = false;
        std::string in = c.read_answers(1, 5s, &closed);
        ASSERT_EQ(Client::count(in, "HTTP/1.1 200"), 1u) << in;
        ASSERT_FALSE(closed);
    }
    std::string paths() {
        std::lock_guard lock(mu_);
        return paths_;
    }
    std::unique_ptr<Server> server_;
    std::mutex mu_;
    std::string paths_;  // the paths served, in order
};

TEST_F(ServerTest, OneConnectionServesRequestsOneAfterAnother) {
    start(5);
    Client c(server_->port());
    ASSERT_TRUE(c.connected());
    for (int i = 0; i < 5; ++i) {
        c.send(get("/r" + std::to_string(i)));
        bool closed = false;
        std::string in = c.read_answers(1, 5s, &closed);
        EXPECT_EQ(Client::count(in, "HTTP/1.1 200"), 1u) << in;
        EXPECT_FALSE(closed) << "request " << i;
    }
    EXPECT_EQ(paths(), "/r0;/r1;/r2;/r3;/r4;");
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrderFromWhatIsAlreadyRead) {
    start(5);
    Client c(server_->port());
    ASSERT_TRUE(c.connected());
    // Three requests in one write: after the first, the next two are already in the session's
    // buffer, so no wait on the socket may hold them back.
    c.send(get("/a") + get("/b") + get("/c"));
    bool closed = false;
    std::string in = c.read_answers(3, 5s, &closed);
    EXPECT_EQ(Client::count(in, "HTTP/1.1 200"), 3u) << in;
    EXPECT_FALSE(closed);
    EXPECT_EQ(paths(), "/a;/b;/c;");
    // And the connection still serves the next one.
    c.send(get("/d"));
    in = c.read_answers(1, 5s, &closed);
    EXPECT_EQ(Client::count(in, "HTTP/1.1 200"), 1u) << in;
    EXPECT_EQ(paths(), "/a;/b;/c;/d;");
}

TEST_F(ServerTest, AnIdleKeepAliveConnectionIsClosedAfterItsTimeout) {
    start(1);
    Client c(server_->port());
    ASSERT_NO_FATAL_FAILURE(serve_one(c));
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(c.closed_within(500ms)) << "closed before the keep-alive timeout";
    EXPECT_TRUE(c.closed_within(3s)) << "still open well after the 1 s keep-alive timeout";
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 900ms);
}

TEST_F(ServerTest, AStopEndsIdleKeepAliveConnectionsAtOnce) {
    start(30);
    Client c(server_->port());
    ASSERT_NO_FATAL_FAILURE(serve_one(c));
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(server_->stop(1000ms), 0);
    server_.reset();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s) << "stop waited for the keep-alive timeout";
    EXPECT_TRUE(c.closed_within(2s));
}

}  // namespace

// One request through Poco's client: the status, the headers (names lower-cased) and the body.
struct Answer {
    int status = 0;
    std::map<std::string, std::string> headers;
    std::string body;
    std::string header(const std::string& name) const {
        auto it = headers.find(name);
        return it == headers.end() ? "(absent)" : it->second;
    }
};
Answer call(uint16_t port, const std::string& method, const std::string& path,
            const std::vector<std::pair<std::string, std::string>>& headers,
            const std::string& body = "") {
    Poco::Net::HTTPClientSession session("127.0.0.1", port);
    Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    for (const auto& [k, v] : headers) req.set(k, v);
    if (!body.empty()) req.setContentLength(static_cast<std::streamsize>(body.size()));
    session.sendRequest(req) << body;
    Poco::Net::HTTPResponse res;
    std::istream& in = session.receiveResponse(res);
    Answer a;
    a.status = res.getStatus();
    for (const auto& [k, v] : res) {
        std::string name = k;
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        a.headers[name] = v;
    }
    a.body.assign(std::istreambuf_iterator<char>(in), {});
    return a;
}

const std::vector<std::pair<std::string, std::string>> kPreflight = {
    {"Origin", "http://localhost:3000"},
    {"Access-Control-Request-Method", "POST"},
    {"Access-Control-Request-Headers", "authorization, content-type, idempotency-key"}};

// Without cors_origins nothing changes: a preflight is an OPTIONS like any other (the dispatcher
// answers it; the API says 405) and no answer carries a CORS header.
TEST_F(ServerTest, WithoutCorsOriginsNoAnswerCarriesCorsHeaders) {
    start(5);
    Answer pre = call(server_->port(), "OPTIONS", "/api/v1/orders", kPreflight);
    EXPECT_EQ(pre.status, 200);
    EXPECT_EQ(paths(), "/api/v1/orders;");
    Answer get = call(server_->port(), "GET", "/x", {{"Origin", "http://localhost:3000"}});
    for (const Answer* a : {&pre, &get}) {
        EXPECT_EQ(a->header("access-control-allow-origin"), "(absent)");
        EXPECT_EQ(a->header("vary"), "(absent)");
    }
}

// A page of an allowed origin: its preflight is answered here (204, what it may send, for how
// long) without reaching the dispatcher, whatever the path; every answer to it names the origin
// and exposes the headers a client reads (413 included, which the dispatcher never sees). Any
// other origin gets no CORS header, and every answer varies by Origin.
TEST_F(ServerTest, AnAllowedOriginGetsItsPreflightAndReadableAnswersAndNoOtherDoes) {
    start(5, {"http://localhost:3000", "https://ui.example.com"}, 16);
    const uint16_t port = server_->port();
    for (const std::string path : {"/api/v1/orders", "/api/v1/no-such-route", "/health"}) {
        Answer pre = call(port, "OPTIONS", path, kPreflight);
        EXPECT_EQ(pre.status, 204) << path;
        EXPECT_EQ(pre.header("access-control-allow-origin"), "http://localhost:3000");
        EXPECT_EQ(pre.header("access-control-allow-methods"), "GET, HEAD, POST, PUT, DELETE");
        EXPECT_EQ(pre.header("access-control-allow-headers"),
                  "Authorization, Content-Type, Idempotency-Key, X-Request-Id, X-API-Key");
        EXPECT_EQ(pre.header("access-control-max-age"), "600");
        EXPECT_EQ(pre.header("vary"), "Origin");
        EXPECT_TRUE(pre.body.empty());
    }
    EXPECT_EQ(paths(), "");

    // The origin as a browser may write it (host in capitals) is the same origin.
    Answer get = call(port, "GET", "/x", {{"Origin", "https://UI.example.com"}});
    EXPECT_EQ(get.status, 200);
    EXPECT_EQ(get.header("access-control-allow-origin"), "https://UI.example.com");
    EXPECT_EQ(get.header("access-control-expose-headers"),
              "X-Request-Id, Idempotent-Replayed, Location, Retry-After, Allow, WWW-Authenticate");
    EXPECT_EQ(get.header("vary"), "Origin");
    Answer big = call(port, "POST", "/x",
                      {{"Origin", "http://localhost:3000"}, {"Content-Type", "application/json"}},
                      std::string(64, 'x'));
    EXPECT_EQ(big.status, 413);
    EXPECT_EQ(big.header("access-control-allow-origin"), "http://localhost:3000");

    auto other = kPreflight;
    other[0].second = "https://evil.example.com";
    Answer refused = call(port, "OPTIONS", "/api/v1/orders", other);
    EXPECT_EQ(refused.status, 200);  // the dispatcher's answer, without CORS headers
    EXPECT_EQ(refused.header("access-control-allow-origin"), "(absent)");
    EXPECT_EQ(refused.header("access-control-allow-methods"), "(absent)");
    EXPECT_EQ(refused.header("vary"), "Origin");
    for (const std::string origin : {"http://localhost:3001", "http://localhost", "null"}) {
        Answer a = call(port, "GET", "/x", {{"Origin", origin}});
        EXPECT_EQ(a.header("access-control-allow-origin"), "(absent)") << origin;
    }
    Answer none = call(port, "GET", "/x", {});
    EXPECT_EQ(none.header("access-control-allow-origin"), "(absent)");
    EXPECT_EQ(none.header("vary"), "Origin");
}

// "*": any origin, answered "*" (the same for all, so no Vary).
TEST_F(ServerTest, AStarAllowsEveryOrigin) {
    start(5, {"*"});
    Answer pre = call(server_->port(), "OPTIONS", "/api/v1/orders", kPreflight);
    EXPECT_EQ(pre.status, 204);
    EXPECT_EQ(pre.header("access-control-allow-origin"), "*");
    Answer get = call(server_->port(), "GET", "/x", {{"Origin", "https://any.example.org"}});
    EXPECT_EQ(get.header("access-control-allow-origin"), "*");
    EXPECT_EQ(get.header("vary"), "(absent)");
    EXPECT_EQ(paths(), "/x;");
}
