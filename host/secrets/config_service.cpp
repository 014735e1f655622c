#include "secrets/config_service.hpp"

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Timespan.h>
#include <Poco/URI.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <istream>
#include <memory>

#include "secrets/redact.hpp"

namespace ordergate::secrets {

namespace {

constexpr size_t kMaxResponseBytes = 1 << 20;

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// A short, stable reason for a transport failure.
std::string describe_net_error(const Poco::Exception& e, int64_t timeout_ms) {
    if (dynamic_cast<const Poco::TimeoutException*>(&e) != nullptr)
        return "timed out after " + std::to_string(timeout_ms) + " ms";
    if (dynamic_cast<const Poco::Net::ConnectionRefusedException*>(&e) != nullptr)
        return "connection refused";
    if (dynamic_cast<const Poco::Net::HostNotFoundException*>(&e) != nullptr ||
        dynamic_cast<const Poco::Net::NoAddressFoundException*>(&e) != nullptr)
        return "host not found";
    if (dynamic_cast<const Poco::Net::SSLException*>(&e) != nullptr)
        return "TLS error: " + e.message();
    std::string text = e.displayText();
    std::string l = lower(text);
    if (l.find("timeout") != std::string::npos || l.find("timed out") != std::string::npos)
        return "timed out after " + std::to_string(timeout_ms) + " ms";
    if (l.find("refused") != std::string::npos) return "connection refused";
    return text;
}

}  // namespace

std::map<std::string, std::string> fetch_config_service(const ConfigServiceSettings& s) {
    const std::string prefix = "config service " + redact_embedded(s.url) + ": ";
    Poco::URI uri;
    try {
        uri = Poco::URI(s.url);
    } catch (const Poco::Exception& e) {
        throw SecretError(prefix + "invalid URL");
    }
    const std::string scheme = lower(uri.getScheme());
    if (scheme != "http" && scheme != "https")
        throw SecretError(prefix + "the URL must start with http:// or https://");
    if (uri.getHost().empty()) throw SecretError(prefix + "the URL has no host");

    const Poco::Timespan timeout(s.timeout_ms * 1000);
    std::string body;
    int status = 0;
    std::string reason;
    try {
        std::unique_ptr<Poco::Net::HTTPClientSession> session;
        if (scheme == "https") {
            Poco::Net::Context::Ptr ctx = new Poco::Net::Context(
                Poco::Net::Context::TLS_CLIENT_USE, "", "", s.ca_file,
                Poco::Net::Context::VERIFY_STRICT, 9, /*loadDefaultCAs=*/true);
            session =
                std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort(), ctx);
        } else {
            session = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
        }
        session->setTimeout(timeout, timeout, timeout);
        session->setKeepAlive(false);
        Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, uri.getPathAndQuery(),
                                       Poco::Net::HTTPMessage::HTTP_1_1);
        if (request.getURI().empty()) request.setURI("/");
        request.set("Authorization", "Bearer " + s.token);
        request.set("Accept", "application/json");
        session->sendRequest(request);
        Poco::Net::HTTPResponse response;
        std::istream& in = session->receiveResponse(response);
        status = static_cast<int>(response.getStatus());
        reason = response.getReason();
        char chunk[8192];
        while (in) {
            in.read(chunk, sizeof chunk);
            body.append(chunk, static_cast<size_t>(in.gcount()));
            if (body.size() > kMaxResponseBytes)
                throw SecretError(prefix + "response larger than " +
                                  std::to_string(kMaxResponseBytes) + " bytes");
        }
    } catch (const Poco::Exception& e) {
        throw SecretError(prefix + describe_net_error(e, s.timeout_ms));
    }
    if (status != 200) {
        throw SecretError(prefix + "HTTP " + std::to_string(status) +
                          (reason.empty() ? "" : " " + reason) + " (expected 200)");
    }

    rapidjson::Document doc;
    doc.Parse(body.data(), body.size());
    if (doc.HasParseError()) {
        throw SecretError(prefix + "response is not valid JSON (" +
                          rapidjson::GetParseError_En(doc.GetParseError()) + " at offset " +
                          std::to_string(doc.GetErrorOffset()) + ")");
    }
    if (!doc.IsObject()) throw SecretError(prefix + "response is not a JSON object");
    std::map<std::string, std::string> values;
    for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
        std::string name(it->name.GetString(), it->name.GetStringLength());
        if (!it->value.IsString())
            throw SecretError(prefix + "value of \"" + name + "\" is not a string");
        if (!values.emplace(name, std::string(it->value.GetString(), it->value.GetStringLength()))
                 .second)
            throw SecretError(prefix + "\"" + name + "\" appears twice");
    }
    return values;
}

}  // namespace ordergate::secrets
