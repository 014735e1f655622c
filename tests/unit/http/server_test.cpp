// ordergate::http::Server over real sockets on loopback: keep-alive, pipelined requests, the
// keep-alive timeout and a stop with idle connections open.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <string>

#include "http/server.hpp"

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
    void start(int keep_alive_seconds) {
        ServerOptions o;
        o.host = "127.0.0.1";
        o.port = 0;
        o.max_threads = 4;
        o.keep_alive_timeout_seconds = keep_alive_seconds;
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
