// ordergate::http::Server — the gateway's HTTP listener (Poco::Net::HTTPServer).
//
// Transport concerns only: request ids (X-Request-Id echoed or generated), the body limit (413
// without reading an oversized body), CORS, reading the body, turning any exception that escapes
// the dispatcher into a 500 problem that says nothing of internals, per-route metrics and the
// access log. Everything else is the dispatcher's (api module).
//
// Threads: Poco serves each connection on a pool thread; `dispatch` is called concurrently from
// up to max_threads threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "http/http.hpp"

namespace ordergate::metrics {
class Metrics;
}

namespace ordergate::http {

struct ServerOptions {
    std::string host = "0.0.0.0";
    uint16_t port = 8087;  // 0: any free port (see Server::port())
    size_t body_limit_bytes = 65536;
    int max_threads = 64;
    int max_queued = 1024;
    int keep_alive_timeout_seconds = 15;
    // CORS (config http.cors_origins): origins, lower case, whose pages may read the answers;
    // "*" alone for any; empty for none (no CORS headers at all). A preflight (OPTIONS with
    // Access-Control-Request-Method) from one of them is answered 204 here, without the
    // dispatcher: browsers send it without credentials.
    std::vector<std::string> cors_origins;
};

using Dispatch = std::function<void(Request&, Response&)>;

class Server {
public:
    Server(ServerOptions options, Dispatch dispatch, metrics::Metrics* metrics);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Binds and starts serving. Throws std::runtime_error naming the address when it cannot bind.
    void start();
    // The bound port.
    uint16_t port() const;
    // Stops accepting connections, lets in-flight requests finish (up to `grace`), then closes
    // the rest. Returns the number of connections still open when the grace period ended.
    int stop(std::chrono::milliseconds grace);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ordergate::http
