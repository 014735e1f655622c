#include "auth/jwks.hpp"

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/URI.h>

#include <istream>

namespace ordergate::auth {

struct HttpJwksFetcher::Impl {
    bool https = false;
    std::string host;
    uint16_t port = 0;
    std::string path;
    std::string where;  // scheme://host:port, for messages
    std::chrono::milliseconds timeout{};
    std::size_t max_bytes = 0;
    Poco::Net::Context::Ptr tls;
};

HttpJwksFetcher::HttpJwksFetcher(const std::string& url, std::chrono::milliseconds timeout,
                                 const std::string& ca_file, std::size_t max_bytes)
    : impl_(std::make_unique<Impl>()) {
    Poco::URI uri;
    try {
        uri = Poco::URI(url);
    } catch (const Poco::Exception& e) {
        throw std::invalid_argument("auth.jwks_url: not a URL (" + e.displayText() + ")");
    }
    if (uri.getScheme() != "http" && uri.getScheme() != "https")
        throw std::invalid_argument("auth.jwks_url: scheme must be http or https");
    if (uri.getHost().empty()) throw std::invalid_argument("auth.jwks_url: no host");
    if (!uri.getUserInfo().empty())
        throw std::invalid_argument("auth.jwks_url: credentials in the URL are not supported");
    if (timeout.count() <= 0) throw std::invalid_argument("auth.jwks_timeout: must be > 0");
    impl_->https = uri.getScheme() == "https";
    impl_->host = uri.getHost();
    impl_->port = uri.getPort();
    impl_->path = uri.getPathAndQuery();
    if (impl_->path.empty()) impl_->path = "/";
    impl_->where = uri.getScheme() + "://" + impl_->host + ":" + std::to_string(impl_->port);
    impl_->timeout = timeout;
    impl_->max_bytes = max_bytes;
    if (impl_->https) {
        Poco::Net::initializeSSL();
        Poco::Net::Context::Params params;
        // STRICT: Poco skips the host-name check for localhost in RELAXED mode.
        params.verificationMode = Poco::Net::Context::VERIFY_STRICT;
        params.caLocation = ca_file;
        params.loadDefaultCAs = ca_file.empty();
        try {
            impl_->tls = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
        } catch (const Poco::Exception& e) {
            throw std::invalid_argument("auth.jwks_ca_file: " + e.displayText());
        }
        impl_->tls->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
    }
}

HttpJwksFetcher::~HttpJwksFetcher() {
    if (impl_->https) Poco::Net::uninitializeSSL();
}

std::string HttpJwksFetcher::fetch() {
    const Impl& c = *impl_;
    const auto started = std::chrono::steady_clock::now();
    try {
        std::unique_ptr<Poco::Net::HTTPClientSession> session;
        if (c.https)
            session = std::make_unique<Poco::Net::HTTPSClientSession>(c.host, c.port, c.tls);
        else
            session = std::make_unique<Poco::Net::HTTPClientSession>(c.host, c.port);
        session->setTimeout(Poco::Timespan(
            std::chrono::duration_cast<std::chrono::microseconds>(c.timeout).count()));
        Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, c.path,
                                       Poco::Net::HTTPMessage::HTTP_1_1);
        request.set("Accept", "application/jwk-set+json, application/json");
        request.setKeepAlive(false);
        session->sendRequest(request);
        Poco::Net::HTTPResponse response;
        std::istream& in = session->receiveResponse(response);
        if (response.getStatus() != Poco::Net::HTTPResponse::HTTP_OK)
            throw JwksFetchError("JWKS " + c.where + ": HTTP " +
                                 std::to_string(static_cast<int>(response.getStatus())));
        if (response.hasContentLength() &&
            response.getContentLength64() > static_cast<int64_t>(c.max_bytes))
            throw JwksFetchError("JWKS " + c.where + ": document larger than " +
                                 std::to_string(c.max_bytes) + " bytes");
        std::string body;
        char buf[8192];
        while (in) {
            in.read(buf, sizeof buf);
            body.append(buf, static_cast<std::size_t>(in.gcount()));
            if (body.size() > c.max_bytes)
                throw JwksFetchError("JWKS " + c.where + ": document larger than " +
                                     std::to_string(c.max_bytes) + " bytes");
            // A server dripping bytes must not hold the fetch (and the callers waiting on it)
            // much longer than the configured timeout.
            if (std::chrono::steady_clock::now() - started > 2 * c.timeout)
                throw JwksFetchError("JWKS " + c.where + ": too slow");
        }
        if (in.bad()) throw JwksFetchError("JWKS " + c.where + ": read failed");
        return body;
    } catch (const Poco::Exception& e) {
        throw JwksFetchError("JWKS " + c.where + ": " + e.displayText());
    } catch (const std::ios_base::failure& e) {
        throw JwksFetchError("JWKS " + c.where + ": " + e.what());
    }
}

}  // namespace ordergate::auth
