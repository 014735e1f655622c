// A WebSocket client of GET /api/v1/stream for the tests (Poco::Net::WebSocket), and helpers to
// read its messages with bounded waits.
#pragma once

#include <Poco/Buffer.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/WebSocket.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway_process.hpp"
#include "json/json.hpp"

namespace ordergate::testing {

struct StreamMessage {
    std::string text;
    json::Value json;
    std::string type() const { return field(json, "type"); }
    int64_t seq() const { return std::stoll(field(json, "seq")); }
};

class StreamClient {
  public:
    // Connects and upgrades; throws Poco::Exception when refused (e.g. 401 before the upgrade).
    explicit StreamClient(uint16_t port, const std::string& target = "/api/v1/stream",
                          const std::string& authorization = "",
                          const std::vector<std::pair<std::string, std::string>>& headers = {})
        : session_("127.0.0.1", port) {
        Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_GET, target,
                                   Poco::Net::HTTPMessage::HTTP_1_1);
        if (!authorization.empty()) req.set("Authorization", authorization);
        for (const auto& [name, value] : headers) req.set(name, value);
        ws_ = std::make_unique<Poco::Net::WebSocket>(session_, req, response_);
    }
    void send(const std::string& text) {
        ws_->sendFrame(text.data(), static_cast<int>(text.size()),
                       Poco::Net::WebSocket::FRAME_TEXT);
    }
    // One frame with these flags (Poco::Net::WebSocket's FIN bit and opcode): fragments of a
    // message, a binary frame.
    void send_frame(const std::string& payload, int flags) {
        ws_->sendFrame(payload.data(), static_cast<int>(payload.size()), flags);
    }
    // The next text message within `timeout` (pings are answered by Poco's peer automatically?
    // no: control frames are skipped here), or nullopt. `close_code` gets the code of a close
    // frame when one arrives.
    std::optional<StreamMessage> next(std::chrono::milliseconds timeout,
                                      int* close_code = nullptr) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return std::nullopt;
            ws_->setReceiveTimeout(Poco::Timespan(left.count() * 1000));
            Poco::Buffer<char> buf(0);
            int flags = 0;
            int n = 0;
            try {
                n = ws_->receiveFrame(buf, flags);
            } catch (const Poco::TimeoutException&) {
                return std::nullopt;
            }
            const int op = flags & Poco::Net::WebSocket::FRAME_OP_BITMASK;
            if (n == 0 && flags == 0) {
                closed_ = true;
                return std::nullopt;
            }
            if (op == Poco::Net::WebSocket::FRAME_OP_CLOSE) {
                closed_ = true;
                if (close_code && buf.size() >= 2)
                    *close_code = (static_cast<unsigned char>(buf[0]) << 8) |
                                  static_cast<unsigned char>(buf[1]);
                return std::nullopt;
            }
            if (op != Poco::Net::WebSocket::FRAME_OP_TEXT) continue;
            StreamMessage m;
            m.text.assign(buf.begin(), buf.size());
            std::string why;
            json::parse(m.text, &m.json, &why);
            return m;
        }
    }
    bool closed() const { return closed_; }
    void close() {
        try {
            ws_->shutdown();
        } catch (const Poco::Exception&) {
        }
        ws_->close();
    }
    int status() const { return response_.getStatus(); }

  private:
    Poco::Net::HTTPClientSession session_;
    Poco::Net::HTTPResponse response_;
    std::unique_ptr<Poco::Net::WebSocket> ws_;
    bool closed_ = false;
};

// The stream's handshake with `headers` added (an Origin): status 101 when it upgraded (the
// connection is then closed), otherwise the refusal as a plain GET with the same headers reads it.
inline HttpResult stream_handshake(uint16_t port,
                                   const std::vector<std::pair<std::string, std::string>>& headers,
                                   const std::string& target = "/api/v1/stream") {
    HttpResult r;
    try {
        StreamClient c(port, target, "", headers);
        r.status = c.status();
        c.close();
        return r;
    } catch (const Poco::Exception&) {
    }
    std::vector<std::pair<std::string, std::string>> upgrade = headers;
    upgrade.insert(upgrade.end(), {{"Connection", "Upgrade"},
                                   {"Upgrade", "websocket"},
                                   {"Sec-WebSocket-Version", "13"},
                                   {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}});
    return http(port, "GET", target, "", upgrade);
}

}  // namespace ordergate::testing
