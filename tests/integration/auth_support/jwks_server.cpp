#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>

#include "auth_support/auth_testsupport.hpp"

namespace ordergate::auth::testsupport {

namespace {

class Handler final : public Poco::Net::HTTPRequestHandler {
  public:
    explicit Handler(std::shared_ptr<JwksServer::State> state) : state_(std::move(state)) {}
    void handleRequest(Poco::Net::HTTPServerRequest&,
                       Poco::Net::HTTPServerResponse& response) override {
        state_->requests.fetch_add(1);
        std::string body;
        int status = 0;
        {
            std::unique_lock lock(state_->mu);
            state_->released.wait_for(lock, std::chrono::seconds(30),
                                      [&] { return !state_->hang || state_->stopping; });
            body = state_->body;
            status = state_->status;
        }
        response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
        response.setContentType("application/jwk-set+json");
        response.setKeepAlive(false);
        response.sendBuffer(body.data(), body.size());
    }

  private:
    std::shared_ptr<JwksServer::State> state_;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
  public:
    explicit Factory(std::shared_ptr<JwksServer::State> state) : state_(std::move(state)) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
        return new Handler(state_);
    }

  private:
    std::shared_ptr<JwksServer::State> state_;
};

}  // namespace

struct JwksServer::Server {
    Poco::Net::ServerSocket socket;
    std::unique_ptr<Poco::Net::HTTPServer> http;
};

JwksServer::JwksServer(std::string jwks, std::shared_ptr<const TlsIdentity> tls)
    : state_(std::make_shared<State>()), tls_(std::move(tls)) {
    state_->body = std::move(jwks);
    if (tls_) Poco::Net::initializeSSL();
    start();
}

JwksServer::~JwksServer() {
    stop();
    if (tls_) Poco::Net::uninitializeSSL();
}

std::string JwksServer::url() const {
    return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) +
           "/jwks.json";
}

void JwksServer::set_jwks(std::string jwks) {
    std::lock_guard lock(state_->mu);
    state_->body = std::move(jwks);
}

void JwksServer::set_status(int status) {
    std::lock_guard lock(state_->mu);
    state_->status = status;
}

void JwksServer::set_hang(bool hang) {
    {
        std::lock_guard lock(state_->mu);
        state_->hang = hang;
    }
    state_->released.notify_all();
}

void JwksServer::start() {
    {
        std::lock_guard lock(state_->mu);
        state_->stopping = false;
    }
    auto s = std::make_unique<Server>();
    const Poco::Net::SocketAddress at("127.0.0.1", port_);
    if (tls_) {
        Poco::Net::Context::Ptr ctx =
            new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, tls_->key_file(),
                                   tls_->cert_file(), "", Poco::Net::Context::VERIFY_NONE);
        s->socket = Poco::Net::SecureServerSocket(at, 64, ctx);
    } else {
        s->socket = Poco::Net::ServerSocket(at);
    }
    port_ = s->socket.address().port();
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(4);
    params->setKeepAlive(false);
    s->http = std::make_unique<Poco::Net::HTTPServer>(new Factory(state_), s->socket, params);
    s->http->start();
    server_ = std::move(s);
}

void JwksServer::stop() {
    if (!server_) return;
    {
        std::lock_guard lock(state_->mu);
        state_->stopping = true;
    }
    state_->released.notify_all();
    server_->http->stopAll(true);
    server_->socket.close();  // refuse connections now, not after a backlog timeout
    server_.reset();
}

void JwksServer::restart() {
    if (!server_) start();
}

}  // namespace ordergate::auth::testsupport
