// A stand-in config service for tests: a Poco HTTPServer on 127.0.0.1, port chosen by the OS.
// It answers every request with the configured status and body, unless the Authorization header
// differs from "Bearer <token>" (then 401). Counts the requests it served. With a certificate
// and key it serves HTTPS instead.
#pragma once

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

namespace ordergate::testing {

class ConfigServer {
  public:
    struct Behaviour {
        std::string token = "test-token";
        int status = 200;
        std::string body = "{}";
        std::string tls_cert_pem{};  // non-empty: serve HTTPS with this certificate
        std::string tls_key_pem{};   // ({}: aggregate init may leave both out, -Wextra)
    };

    explicit ConfigServer(Behaviour b) : state_(std::make_shared<State>()) {
        state_->behaviour = std::move(b);
        const Behaviour& be = state_->behaviour;
        Poco::Net::SocketAddress any_port("127.0.0.1", 0);
        std::unique_ptr<Poco::Net::ServerSocket> socket;
        if (be.tls_cert_pem.empty()) {
            socket = std::make_unique<Poco::Net::ServerSocket>(any_port);
        } else {
            Poco::Net::Context::Ptr ctx =
                new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, be.tls_key_pem,
                                       be.tls_cert_pem, "", Poco::Net::Context::VERIFY_NONE);
            socket = std::make_unique<Poco::Net::SecureServerSocket>(any_port, 64, ctx);
        }
        https_ = !be.tls_cert_pem.empty();
        port_ = socket->address().port();
        auto* params = new Poco::Net::HTTPServerParams;
        params->setMaxThreads(2);
        server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(state_), *socket, params);
        server_->start();
    }
    ~ConfigServer() { server_->stopAll(true); }

    uint16_t port() const { return port_; }
    std::string url(const std::string& path = "/secrets") const {
        return (https_ ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port_) + path;
    }
    int requests() const { return state_->requests.load(); }
    std::string last_path() const {
        std::lock_guard<std::mutex> lock(state_->mutex);
        return state_->last_path;
    }

  private:
    struct State {
        Behaviour behaviour;
        std::atomic<int> requests{0};
        mutable std::mutex mutex;
        std::string last_path;
    };
    class Handler : public Poco::Net::HTTPRequestHandler {
      public:
        explicit Handler(std::shared_ptr<State> s) : state_(std::move(s)) {}
        void handleRequest(Poco::Net::HTTPServerRequest& req,
                           Poco::Net::HTTPServerResponse& resp) override {
            ++state_->requests;
            {
                std::lock_guard<std::mutex> lock(state_->mutex);
                state_->last_path = req.getURI();
            }
            const auto& b = state_->behaviour;
            if (req.get("Authorization", "") != "Bearer " + b.token) {
                resp.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_UNAUTHORIZED);
                resp.send() << "{\"error\":\"unauthorized\"}";
                return;
            }
            resp.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(b.status));
            resp.setContentType("application/json");
            resp.setContentLength(static_cast<std::streamsize>(b.body.size()));
            resp.send() << b.body;
        }

      private:
        std::shared_ptr<State> state_;
    };
    class Factory : public Poco::Net::HTTPRequestHandlerFactory {
      public:
        explicit Factory(std::shared_ptr<State> s) : state_(std::move(s)) {}
        Poco::Net::HTTPRequestHandler* createRequestHandler(
            const Poco::Net::HTTPServerRequest&) override {
            return new Handler(state_);
        }

      private:
        std::shared_ptr<State> state_;
    };

    std::shared_ptr<State> state_;
    uint16_t port_ = 0;
    bool https_ = false;
    std::unique_ptr<Poco::Net::HTTPServer> server_;
};

// A loopback port with nothing listening on it (bound, then released).
inline uint16_t closed_port() {
    Poco::Net::ServerSocket s(Poco::Net::SocketAddress("127.0.0.1", 0));
    uint16_t port = s.address().port();
    s.close();
    return port;
}

}  // namespace ordergate::testing
