// ordergate::http — the HTTP transport: requests and responses as plain values, problem+json
// rendering, and the Poco-based server. No business rule lives here; Poco::Net stays inside
// server.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace ordergate::http {

struct Request {
    std::string method;
    std::string path;   // as sent (percent-encoded), without the query
    std::string query;  // raw query string (after '?')
    std::string body;
    std::string request_id;
    std::string remote;
    std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
    std::map<std::string, std::string> params;                 // path parameters, decoded
    std::string route;  // the matched route pattern, for metrics and logs ("unmatched" otherwise)

    // The header's value, or "" when absent (names are case-insensitive).
    std::string_view header(std::string_view name) const;
    bool has_header(std::string_view name) const;
};

// What WebSocketSession::receive() throws when the peer broke the protocol (RFC 6455 7.4.1): the
// connection is to be closed with code() (1002 protocol error, 1009 message too big).
class WebSocketRefused : public std::runtime_error {
  public:
    WebSocketRefused(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
    int code() const { return code_; }

  private:
    int code_;
};

// A WebSocket connection (RFC 6455) the server handed over after an upgrade (Response::upgrade).
// Poco stays in the server: this is all a handler sees. One thread may receive while another
// sends; sends are serialised inside. Every call throws std::runtime_error once the connection
// is broken. Destroying the session closes the socket.
class WebSocketSession {
  public:
    enum class Frame { Text, Binary, Ping, Pong, Close, Timeout };
    virtual ~WebSocketSession() = default;
    // Waits up to `timeout` for one message or control frame; a text or binary message (joined
    // from its fragments, at most kMaxMessageBytes) goes into *payload. Throws WebSocketRefused
    // for a message too big or frames out of order.
    static constexpr size_t kMaxMessageBytes = 65536;
    virtual Frame receive(std::string* payload, std::chrono::milliseconds timeout) = 0;
    virtual void send_text(std::string_view text) = 0;
    // Several text messages in order, written together where the transport can (one write for
    // many small frames instead of one each). The default sends them one by one.
    virtual void send_texts(const std::vector<std::string_view>& texts) {
        for (const auto& t : texts) send_text(t);
    }
    // Bounds what the kernel holds for this connection's sends (SO_SNDBUF; Linux doubles it and
    // stops autotuning it). Throws std::runtime_error when the socket refuses. The default does
    // nothing (a transport without a kernel buffer).
    virtual void set_send_buffer(size_t /*bytes*/) {}
    virtual void send_ping() = 0;
    virtual void send_pong(std::string_view payload) = 0;
    // Sends a close frame (code and reason), then shuts the connection down.
    virtual void close(int code, std::string_view reason) = 0;
    // Ends the connection now, without a close frame (unblocks a receive or send elsewhere).
    virtual void abort() = 0;
};

struct Response {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;

    // Set with status 101 to accept a WebSocket upgrade: the server completes the handshake and
    // hands the session over; the connection then leaves the HTTP server (the callback owns it
    // and must return at once, running the session on threads of its own).
    std::function<void(std::unique_ptr<WebSocketSession>)> upgrade;

    void set_header(std::string name, std::string value);
    // A JSON body with the given status.
    void json(int status_code, std::string json_body);
};

// problem+json (RFC 9457) for an error: the one table from code to status, type and title.
int status_of(ErrorCode code);
std::string_view title_of(ErrorCode code);
// "https://ordergate.dev/errors/validation-failed"
std::string type_of(ErrorCode code);
// Fills `res` with the problem document for `err` (status, content type, Retry-After,
// WWW-Authenticate where the code needs them).
void render_problem(const Error& err, const std::string& request_id, Response* res);

// Query-string parsing (Poco::URI): "a=1&b=x%20y+z" -> {{"a","1"},{"b","x y z"}}; '+' is a
// space, "%2B" a '+'; empty parts ("a=1&&b=2") are skipped. Returns false on a malformed escape
// ('%' not followed by two hex digits).
bool parse_query(std::string_view query, std::vector<std::pair<std::string, std::string>>* out);
// Percent-decoding of a path segment (Poco::URI::decode) into *out; '+' stays itself (it is a
// space only in query strings, which parse_query reads). Returns false on a malformed escape.
bool percent_decode(std::string_view in, std::string* out);

}  // namespace ordergate::http
