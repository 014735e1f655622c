#include "http/server.hpp"

#include <Poco/Buffer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponseImpl.h>
#include <Poco/Net/HTTPServerSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketImpl.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/Net/TCPServerConnection.h>
#include <Poco/Net/TCPServerConnectionFactory.h>
#include <Poco/Net/WebSocket.h>
#include <Poco/ThreadPool.h>
#include <Poco/Timestamp.h>
#include <spdlog/spdlog.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>

#include "common/ids.hpp"
#include "common/thread_name.hpp"
#include "metrics/metrics.hpp"

namespace ordergate::http {

namespace {

bool valid_request_id(std::string_view id) {
    if (id.empty() || id.size() > 128) return false;
    for (char c : id)
        if (c < 0x21 || c > 0x7E) return false;
    return true;
}

// CORS: what a page of an allowed origin may send and read.
constexpr const char* kCorsMethods = "GET, HEAD, POST, PUT, DELETE";
constexpr const char* kCorsRequestHeaders =
    "Authorization, Content-Type, Idempotency-Key, X-Request-Id, X-API-Key";
constexpr const char* kCorsExposedHeaders =
    "X-Request-Id, Idempotent-Replayed, Location, Retry-After, Allow, WWW-Authenticate";

std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

// The session of an upgraded connection, over Poco::Net::WebSocket.
class PocoWebSocketSession final : public WebSocketSession {
  public:
    explicit PocoWebSocketSession(Poco::Net::WebSocket ws) : ws_(std::move(ws)) {
        // A client that stops reading must not hold a sender forever: its sends fail after this.
        ws_.setSendTimeout(Poco::Timespan(10, 0));
        ws_.setNoDelay(true);
        // Refused at the frame's header: Poco would otherwise size its buffer to whatever length
        // a header announces (up to 2 GiB), before the bytes come.
        ws_.setMaxPayloadSize(static_cast<int>(kMaxMessageBytes));
    }
    ~PocoWebSocketSession() override {
        try {
            ws_.close();
        } catch (const Poco::Exception& e) {
            spdlog::debug("event=websocket_close_failed reason=\"{}\"", e.displayText());
        }
    }

    Frame receive(std::string* payload, std::chrono::milliseconds timeout) override {
        using Poco::Net::WebSocket;
        // A message trickling in fragments returns to the caller on time too (its idle and
        // shutdown checks), the fragments so far kept for the next call.
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        try {
            ws_.setReceiveTimeout(Poco::Timespan(timeout.count() * 1000));
            for (;;) {
                if (in_message_ && std::chrono::steady_clock::now() >= deadline)
                    return Frame::Timeout;
                Poco::Buffer<char> buf(0);
                int flags = 0;
                int n = ws_.receiveFrame(buf, flags);
                if (n == 0 && flags == 0)
                    return Frame::Close;  // the peer closed the TCP connection
                const int op = flags & WebSocket::FRAME_OP_BITMASK;
                const bool fin = (flags & WebSocket::FRAME_FLAG_FIN) != 0;
                switch (op) {
                    case WebSocket::FRAME_OP_TEXT:
                    case WebSocket::FRAME_OP_BINARY:
                        if (in_message_)
                            throw http::WebSocketRefused(1002,
                                                         "a new message before the last one ended");
                        if (!fin) {
                            // The first fragment: the rest follow as continuation frames, control
                            // frames possibly between them (RFC 6455 5.4).
                            in_message_ = true;
                            message_op_ = op;
                            partial_.assign(buf.begin(), buf.size());
                            continue;
                        }
                        payload->assign(buf.begin(), buf.size());
                        return op == WebSocket::FRAME_OP_TEXT ? Frame::Text : Frame::Binary;
                    case WebSocket::FRAME_OP_CONT:
                        if (!in_message_)
                            throw http::WebSocketRefused(1002,
                                                         "a continuation frame outside a message");
                        if (partial_.size() + buf.size() > kMaxMessageBytes)
                            throw http::WebSocketRefused(1009, "message too big");
                        partial_.append(buf.begin(), buf.size());
                        if (!fin) continue;
                        in_message_ = false;
                        payload->swap(partial_);
                        partial_.clear();
                        return message_op_ == WebSocket::FRAME_OP_TEXT ? Frame::Text
                                                                       : Frame::Binary;
                    case WebSocket::FRAME_OP_PING:
                        payload->assign(buf.begin(), buf.size());
                        return Frame::Ping;
                    case WebSocket::FRAME_OP_PONG:
                        return Frame::Pong;
                    case WebSocket::FRAME_OP_CLOSE:
                        return Frame::Close;
                    default:
                        throw http::WebSocketRefused(1002, "unknown opcode " + std::to_string(op));
                }
            }
        } catch (const Poco::TimeoutException&) {
            return Frame::Timeout;  // a message in fragments goes on at the next call
        } catch (const Poco::Net::WebSocketException& e) {
            if (e.code() == WebSocket::WS_ERR_PAYLOAD_TOO_BIG)
                throw http::WebSocketRefused(1009, "message too big");
            throw std::runtime_error("websocket receive: " + e.displayText());
        } catch (const Poco::Exception& e) {
            throw std::runtime_error("websocket receive: " + e.displayText());
        }
    }
    void send_text(std::string_view text) override { send(text, Poco::Net::WebSocket::FRAME_TEXT); }
    void send_texts(const std::vector<std::string_view>& texts) override {
        if (ws_.secure()) {
            WebSocketSession::send_texts(texts);
            return;
        }
        // Server frames are unmasked (RFC 6455 section 5.1): FIN and the text opcode, the
        // payload length (7 bits, or 126 and 16 bits, or 127 and 64 bits), the payload. Built
        // here so a batch leaves in one write; the descriptor is the upgraded connection's own
        // (WebSocketImpl shares it), with the same send timeout as sendFrame.
        size_t total = 0;
        for (const auto& t : texts) total += t.size() + 10;
        std::string out;
        out.reserve(total);
        for (const auto& t : texts) {
            const uint64_t n = t.size();
            out.push_back(static_cast<char>(0x81));
            if (n <= 125) {
                out.push_back(static_cast<char>(n));
            } else if (n <= 0xFFFF) {
                out.push_back(static_cast<char>(126));
                out.push_back(static_cast<char>((n >> 8) & 0xFF));
                out.push_back(static_cast<char>(n & 0xFF));
            } else {
                out.push_back(static_cast<char>(127));
                for (int shift = 56; shift >= 0; shift -= 8)
                    out.push_back(static_cast<char>((n >> shift) & 0xFF));
            }
            out.append(t);
        }
        std::lock_guard lock(send_mu_);
        const poco_socket_t fd = ws_.impl()->sockfd();
        size_t at = 0;
        while (at < out.size()) {
            const ssize_t n = ::send(fd, out.data() + at, out.size() - at, MSG_NOSIGNAL);
            if (n > 0) {
                at += static_cast<size_t>(n);
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            const bool timeout = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
            throw std::runtime_error(timeout ? std::string("websocket send: timeout")
                                             : "websocket send: " + std::string(strerror(errno)));
        }
    }
    void set_send_buffer(size_t bytes) override {
        try {
            ws_.setSendBufferSize(static_cast<int>(bytes));
        } catch (const Poco::Exception& e) {
            throw std::runtime_error("websocket send buffer: " + e.displayText());
        }
    }
    // An int, so that or-ing an opcode into it is not an operation between two enum types.
    static constexpr int kFin = Poco::Net::WebSocket::FRAME_FLAG_FIN;
    void send_ping() override { send("", kFin | Poco::Net::WebSocket::FRAME_OP_PING); }
    void send_pong(std::string_view payload) override {
        send(payload, kFin | Poco::Net::WebSocket::FRAME_OP_PONG);
    }
    void close(int code, std::string_view reason) override {
        std::string body;
        body.push_back(static_cast<char>((code >> 8) & 0xFF));
        body.push_back(static_cast<char>(code & 0xFF));
        body.append(reason);
        try {
            // A close frame must not wait behind a client that stopped reading.
            ws_.setSendTimeout(Poco::Timespan(0, 200000));
            send(body, kFin | Poco::Net::WebSocket::FRAME_OP_CLOSE);
        } catch (const std::exception& e) {
            spdlog::debug("event=websocket_close_frame_failed reason=\"{}\"", e.what());
        }
        abort();
    }
    void abort() override {
        try {
            // The socket's shutdown: WebSocket::shutdown() would send a close frame (1000) of its
            // own, after the one close() sent.
            ws_.Poco::Net::StreamSocket::shutdown();
        } catch (const Poco::Exception& e) {
            spdlog::debug("event=websocket_shutdown_failed reason=\"{}\"", e.displayText());
        }
    }

  private:
    // A message arriving in fragments (receive() is called from one thread).
    bool in_message_ = false;
    int message_op_ = 0;
    std::string partial_;

    void send(std::string_view data, int flags) {
        std::lock_guard lock(send_mu_);
        try {
            ws_.sendFrame(data.data(), static_cast<int>(data.size()), flags);
        } catch (const Poco::Exception& e) {
            throw std::runtime_error("websocket send: " + e.displayText());
        }
    }
    Poco::Net::WebSocket ws_;
    std::mutex send_mu_;
};

struct Shared {
    ServerOptions options;
    Dispatch dispatch;
    metrics::Metrics* metrics;
    Poco::Net::HTTPServerParams::Ptr params;
    std::atomic<int> in_flight{0};
    std::atomic<bool> stopping{false};
    // Open connections, so a stop can end the idle keep-alive ones at once.
    std::mutex sockets_mutex;
    std::set<Poco::Net::StreamSocket*> sockets;
};

class Handler {
  public:
    explicit Handler(Shared* shared) : shared_(shared) {}

    // True once the connection was handed to a WebSocket session: it is no HTTP connection any
    // more.
    bool upgraded() const { return upgraded_; }

    void handle(Poco::Net::HTTPServerRequest& preq, Poco::Net::HTTPServerResponse& pres) {
        auto t0 = std::chrono::steady_clock::now();
        shared_->in_flight.fetch_add(1, std::memory_order_relaxed);
        Request req;
        Response res;
        req.method = preq.getMethod();
        req.route = "unmatched";
        req.remote = preq.clientAddress().host().toString();
        const std::string& uri = preq.getURI();
        size_t q = uri.find('?');
        // The path stays percent-encoded: the router decodes each segment, so an encoded '/'
        // inside an id (client_order_id:a%2Fb) is not a separator.
        req.path = uri.substr(0, q);
        if (q != std::string::npos) req.query = uri.substr(q + 1);
        req.headers.reserve(preq.size());
        for (const auto& h : preq) req.headers.emplace_back(lower(h.first), h.second);
        std::string_view rid = req.header("x-request-id");
        req.request_id = valid_request_id(rid) ? std::string(rid) : ids::new_request_id();

        bool close_after = false;
        const bool cors = cors_allowed(req.header("origin"));
        try {
            switch (read_body(preq, &req, &res)) {
                case Body::Read:
                    if (cors && req.method == "OPTIONS" &&
                        req.has_header("access-control-request-method"))
                        preflight(req, res);
                    else
                        shared_->dispatch(req, res);
                    break;
                case Body::TooLarge:
                    break;
                case Body::TooLargeUnread:
                    close_after = true;
                    break;  // the rest was not read
            }
        } catch (const std::exception& e) {
            spdlog::error("event=unhandled_exception request_id={} route={} method={} error=\"{}\"",
                          req.request_id, req.route, req.method, e.what());
            res = Response();
            render_problem(Error::make(ErrorCode::Internal,
                                       "internal error; quote request id " + req.request_id),
                           req.request_id, &res);
        }
        if (res.status == 101 && res.upgrade && !websocket_origin_allowed(req)) {
            // Browsers apply no CORS to a WebSocket: without this, any page its user opens could
            // read the stream of a gateway it can reach (one on localhost with auth off).
            std::string shown(req.header("origin").substr(0, 200));
            for (char& c : shown)
                if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20 ||
                    static_cast<unsigned char>(c) > 0x7e)
                    c = '?';
            spdlog::info("event=websocket_refused request_id={} origin=\"{}\" reason=origin",
                         req.request_id, shown);
            res = Response();
            render_problem(Error::make(ErrorCode::OriginNotAllowed,
                                       "a page of origin '" + shown +
                                           "' may not open the stream: the gateway's own origin "
                                           "and those in http.cors_origins may"),
                           req.request_id, &res);
        }
        if (res.status == 101 && res.upgrade) {
            upgrade(req, res, preq, pres);
        } else {
            cors_headers(req, cors, &res);
            send(req, res, pres, close_after);
        }
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (shared_->metrics)
            shared_->metrics->http_request(req.route, req.method, res.status, secs);
        if (res.status >= 500)
            spdlog::warn("event=http_response request_id={} method={} route={} status={} ms={:.3f}",
                         req.request_id, req.method, req.route, res.status, secs * 1000);
        else
            spdlog::debug(
                "event=http_response request_id={} method={} route={} status={} ms={:.3f}",
                req.request_id, req.method, req.route, res.status, secs * 1000);
        shared_->in_flight.fetch_sub(1, std::memory_order_relaxed);
    }

  private:
    // Whether a page of `origin` (the request's Origin header) may read this answer.
    bool cors_allowed(std::string_view origin) const {
        const std::vector<std::string>& allowed = shared_->options.cors_origins;
        if (origin.empty() || allowed.empty()) return false;
        if (allowed.front() == "*") return true;
        const std::string o = lower(std::string(origin));
        return std::find(allowed.begin(), allowed.end(), o) != allowed.end();
    }
    // Whether a WebSocket upgrade may proceed: one without an Origin (no browser sent it), one
    // from the gateway's own origin (the Host it was asked under), or from an allowed origin.
    bool websocket_origin_allowed(const Request& req) const {
        const std::string_view origin = req.header("origin");
        if (origin.empty()) return true;
        if (cors_allowed(origin)) return true;
        const std::string host = lower(std::string(req.header("host")));
        const std::string o = lower(std::string(origin));
        return !host.empty() && (o == "http://" + host || o == "https://" + host);
    }
    // A CORS preflight from an allowed origin: what the actual request may use, for 10 minutes.
    // The same answer for every path, so it tells nothing of which routes exist.
    static void preflight(Request& req, Response& res) {
        req.route = "cors_preflight";
        res.status = 204;
        res.content_type.clear();
        res.set_header("Access-Control-Allow-Methods", kCorsMethods);
        res.set_header("Access-Control-Allow-Headers", kCorsRequestHeaders);
        res.set_header("Access-Control-Max-Age", "600");
    }
    // Every answer to an allowed origin names it; with a list of origins, every answer varies by
    // Origin (a cache must not hand one origin's answer to another).
    void cors_headers(const Request& req, bool cors, Response* res) const {
        const std::vector<std::string>& allowed = shared_->options.cors_origins;
        if (allowed.empty()) return;
        const bool any = allowed.front() == "*";
        if (!any) res->set_header("Vary", "Origin");
        if (!cors) return;
        res->set_header("Access-Control-Allow-Origin",
                        any ? std::string("*") : std::string(req.header("origin")));
        res->set_header("Access-Control-Expose-Headers", kCorsExposedHeaders);
    }

    enum class Body { Read, TooLarge, TooLargeUnread };
    // Reads the body into req->body; over the limit, puts a 413 in res instead.
    Body read_body(Poco::Net::HTTPServerRequest& preq, Request* req, Response* res) {
        const size_t limit = shared_->options.body_limit_bytes;
        auto too_large = [&] {
            render_problem(
                Error::make(ErrorCode::PayloadTooLarge,
                            "request body is larger than " + std::to_string(limit) + " bytes"),
                req->request_id, res);
            return Body::TooLargeUnread;
        };
        if (preq.hasContentLength()) {
            auto len = preq.getContentLength64();
            if (len < 0) return Body::Read;
            if (static_cast<uint64_t>(len) > limit) {
                // A body up to 16x the limit is read and dropped, so the client (still sending)
                // gets the 413 instead of a reset connection; a larger one closes the connection.
                if (static_cast<uint64_t>(len) <= 16 * limit) {
                    char sink[8192];
                    std::istream& in = preq.stream();
                    while (in.read(sink, sizeof sink) || in.gcount() > 0) {
                    }
                    too_large();
                    return Body::TooLarge;
                }
                return too_large();
            }
            req->body.resize(static_cast<size_t>(len));
            if (len > 0) {
                preq.stream().read(req->body.data(), len);
                req->body.resize(static_cast<size_t>(preq.stream().gcount()));
            }
            return Body::Read;
        }
        if (!preq.getChunkedTransferEncoding()) return Body::Read;
        char buf[8192];
        std::istream& in = preq.stream();
        while (in) {
            in.read(buf, sizeof buf);
            req->body.append(buf, static_cast<size_t>(in.gcount()));
            if (req->body.size() > limit) return too_large();
        }
        return Body::Read;
    }

    void send(const Request& req, Response& res, Poco::Net::HTTPServerResponse& pres,
              bool close_after) {
        pres.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(res.status));
        if (!res.content_type.empty()) pres.setContentType(res.content_type);
        for (const auto& h : res.headers) pres.set(h.first, h.second);
        pres.set("X-Request-Id", req.request_id);
        if (close_after) pres.setKeepAlive(false);
        // The header and the body through one buffered stream, sent together when they fit in
        // one packet; Content-Length is the body's, and a HEAD answer carries no body.
        pres.sendBuffer(res.body.data(), res.body.size());
    }

    void upgrade(const Request& req, Response& res, Poco::Net::HTTPServerRequest& preq,
                 Poco::Net::HTTPServerResponse& pres) {
        std::unique_ptr<WebSocketSession> session;
        try {
            pres.set("X-Request-Id", req.request_id);
            // Completes the handshake (101) or throws without having answered.
            session = std::make_unique<PocoWebSocketSession>(Poco::Net::WebSocket(preq, pres));
        } catch (const Poco::Exception& e) {
            spdlog::info("event=websocket_refused request_id={} reason=\"{}\"", req.request_id,
                         e.displayText());
            Response bad;
            render_problem(Error::make(ErrorCode::InvalidParameter,
                                       "this route needs a WebSocket upgrade request"),
                           req.request_id, &bad);
            res = std::move(bad);
            send(req, res, pres, true);
            return;
        }
        upgraded_ = true;
        res.upgrade(std::move(session));
    }

    Shared* shared_;
    bool upgraded_ = false;
};

// Poco's session with a cheaper wait for the next request on a keep-alive connection. Poco's own
// (hasMoreRequests) polls through a fresh epoll instance each time: epoll_create, epoll_ctl,
// epoll_wait and close for every request. This one looks at what the session has already read
// (a pipelined request), else waits with one poll(2).
class KeepAliveSession : public Poco::Net::HTTPServerSession {
  public:
    using Poco::Net::HTTPServerSession::HTTPServerSession;

    // True when a next request may be read: the client kept the connection alive and sent more
    // (or closed it, which the read then reports) within `timeout`.
    bool next_request_within(Poco::Timespan timeout) {
        if (!getKeepAlive() || !canKeepAlive()) return false;
        if (buffered() > 0) return true;
        pollfd p{socket().impl()->sockfd(), POLLIN, 0};
        const auto deadline = std::chrono::steady_clock::now() +
                              std::chrono::microseconds(timeout.totalMicroseconds());
        for (;;) {
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            const int n = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
            if (n > 0) return true;  // readable, closed or failed: the read tells which
            if (n == 0) return false;
            if (errno != EINTR) {
                spdlog::debug("event=connection_closed reason=\"poll: {}\"", std::strerror(errno));
                return false;
            }
        }
    }
};

// One keep-alive connection: reads requests and hands them to Handler until the client closes,
// keep-alive ends, or the server stops. Our own loop (rather than Poco's HTTPServerConnection)
// so a request Poco cannot parse still gets a problem+json: 431 when the request line or a header
// is over Poco's limits (8 KiB per field, 100 fields), 400 otherwise.
class Connection : public Poco::Net::TCPServerConnection {
  public:
    Connection(const Poco::Net::StreamSocket& socket, Shared* shared)
        : Poco::Net::TCPServerConnection(socket), shared_(shared) {}

    void run() override {
        name_this_thread("og-http");  // a pool thread: it serves one connection at a time
        {
            std::lock_guard lock(shared_->sockets_mutex);
            shared_->sockets.insert(&socket());
        }
        serve();
        std::lock_guard lock(shared_->sockets_mutex);
        shared_->sockets.erase(&socket());
    }

  private:
    void serve() {
        KeepAliveSession session(socket(), shared_->params);
        // The first request waits through Poco (once per connection: it also starts the
        // session's keep-alive count), every later one through the session's own wait.
        bool more = session.hasMoreRequests();
        for (; more && !shared_->stopping.load();
             more = session.next_request_within(shared_->params->getKeepAliveTimeout())) {
            try {
                Poco::Net::HTTPServerResponseImpl response(session);
                Poco::Net::HTTPServerRequestImpl request(response, session, shared_->params);
                response.setDate(Poco::Timestamp());
                response.setVersion(request.getVersion());
                response.setKeepAlive(shared_->params->getKeepAlive() && request.getKeepAlive() &&
                                      session.canKeepAlive() && !shared_->stopping.load());
                if (request.getExpectContinue() &&
                    response.getStatus() == Poco::Net::HTTPResponse::HTTP_OK)
                    response.sendContinue();
                Handler handler(shared_);
                handler.handle(request, response);
                if (handler.upgraded()) return;  // the socket belongs to the WebSocket now
                session.setKeepAlive(shared_->params->getKeepAlive() && response.getKeepAlive() &&
                                     session.canKeepAlive() && !shared_->stopping.load());
            } catch (const Poco::Net::NoMessageException&) {
                return;  // the client closed the connection
            } catch (const Poco::Net::MessageException& e) {
                refuse(e.message());
                return;
            } catch (const Poco::Exception& e) {
                // The connection broke (reset, timeout): nothing more can be sent on it.
                spdlog::debug("event=connection_closed reason=\"{}\"", e.displayText());
                return;
            }
        }
    }

    // Answers a request Poco could not read, then closes the connection.
    void refuse(const std::string& why) {
        const bool too_large = why.find("too long") != std::string::npos ||
                               why.find("Too many") != std::string::npos ||
                               why.find("too many") != std::string::npos;
        Response res;
        std::string rid = ids::new_request_id();
        render_problem(
            too_large ? Error::make(ErrorCode::HeadersTooLarge,
                                    "the request line or a header is over the limit (8 KiB per "
                                    "field, 100 fields)")
                      : Error::make(ErrorCode::InvalidParameter, "malformed HTTP request"),
            rid, &res);
        std::string out = "HTTP/1.1 " + std::to_string(res.status) + " " +
                          (too_large ? "Request Header Fields Too Large" : "Bad Request") +
                          "\r\nContent-Type: " + res.content_type +
                          "\r\nContent-Length: " + std::to_string(res.body.size()) +
                          "\r\nX-Request-Id: " + rid + "\r\nConnection: close\r\n\r\n" + res.body;
        spdlog::info("event=request_refused request_id={} status={} reason=\"{}\"", rid, res.status,
                     why);
        try {
            socket().sendBytes(out.data(), static_cast<int>(out.size()));
            socket().shutdownSend();
            // Read off what the client is still sending (bounded), so closing does not reset
            // the connection before it has read the answer.
            socket().setReceiveTimeout(Poco::Timespan(0, 250000));
            char sink[16384];
            size_t drained = 0;
            while (drained < (1u << 20)) {
                int n = socket().receiveBytes(sink, sizeof sink);
                if (n <= 0) break;
                drained += static_cast<size_t>(n);
            }
        } catch (const Poco::Exception& e) {
            spdlog::debug("event=connection_closed reason=\"{}\"", e.displayText());
        }
        if (shared_->metrics) shared_->metrics->http_request("unparsed", "?", res.status, 0.0);
    }

    Shared* shared_;
};

class ConnectionFactory : public Poco::Net::TCPServerConnectionFactory {
  public:
    explicit ConnectionFactory(Shared* shared) : shared_(shared) {}
    Poco::Net::TCPServerConnection* createConnection(
        const Poco::Net::StreamSocket& socket) override {
        return new Connection(socket, shared_);  // Poco takes ownership
    }

  private:
    Shared* shared_;
};

}  // namespace

struct Server::Impl {
    Shared shared;
    std::unique_ptr<Poco::ThreadPool> pool;
    std::unique_ptr<Poco::Net::TCPServer> server;
    uint16_t port = 0;
};

Server::Server(ServerOptions options, Dispatch dispatch, metrics::Metrics* metrics)
    : impl_(std::make_unique<Impl>()) {
    impl_->shared.options = std::move(options);
    impl_->shared.dispatch = std::move(dispatch);
    impl_->shared.metrics = metrics;
}

Server::~Server() {
    if (impl_->server) stop(std::chrono::milliseconds(0));
}

void Server::start() {
    const auto& o = impl_->shared.options;
    Poco::Net::ServerSocket socket;
    try {
        // SO_REUSEADDR only: Poco's two-argument bind() also sets SO_REUSEPORT, which would let a
        // second process (another gateway, a stray inherited socket) share the port and silently
        // take part of its connections. A port in use must fail start-up instead.
        socket.bind(Poco::Net::SocketAddress(o.host, o.port), /*reuseAddress=*/true,
                    /*reusePort=*/false);
        socket.listen(1024);
    } catch (const Poco::Exception& e) {
        throw std::runtime_error("cannot listen on " + o.host + ":" + std::to_string(o.port) +
                                 ": " + e.displayText());
    }
    impl_->port = socket.address().port();
    Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(o.max_threads);
    params->setMaxQueued(o.max_queued);
    params->setKeepAlive(true);
    params->setMaxKeepAliveRequests(0);
    params->setKeepAliveTimeout(Poco::Timespan(o.keep_alive_timeout_seconds, 0));
    params->setServerName("ordergate");
    // A pool of our own: Poco's default pool caps at 16 threads whatever maxThreads says.
    impl_->pool = std::make_unique<Poco::ThreadPool>(2, o.max_threads + 4);
    impl_->shared.params = params;
    impl_->server = std::make_unique<Poco::Net::TCPServer>(new ConnectionFactory(&impl_->shared),
                                                           *impl_->pool, socket, params);
    impl_->server->start();
}

uint16_t Server::port() const { return impl_->port; }

int Server::stop(std::chrono::milliseconds grace) {
    if (!impl_->server) return 0;
    // Stop accepting; requests being served finish (their answers say Connection: close).
    Shared& sh = impl_->shared;
    sh.stopping.store(true);
    impl_->server->stop();
    auto deadline = std::chrono::steady_clock::now() + grace;
    while (sh.in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    int left = sh.in_flight.load();
    // End what is left: idle keep-alive connections waiting for a next request, and (past the
    // grace period) requests that did not finish.
    {
        std::lock_guard lock(sh.sockets_mutex);
        for (auto* s : sh.sockets) {
            try {
                s->shutdown();
            } catch (const Poco::Exception& e) {
                spdlog::debug("event=connection_shutdown_failed reason=\"{}\"", e.displayText());
            }
        }
    }
    impl_->pool->joinAll();
    impl_->server.reset();
    return left;
}

}  // namespace ordergate::http
