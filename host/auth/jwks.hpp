// ordergate::auth::JwksFetcher — where the JWKS document comes from.
//
// Authenticator calls fetch() from one thread at a time (it serialises fetches itself), but
// possibly a different thread each time. fetch() returns the document's bytes or throws
// JwksFetchError; it never returns a partial document.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>

namespace ordergate::auth {

// A failed fetch. what() names the cause (connection refused, timeout, HTTP status, too large)
// and the URL's scheme/host/port, never query strings or credentials.
class JwksFetchError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class JwksFetcher {
  public:
    virtual ~JwksFetcher() = default;
    virtual std::string fetch() = 0;
};

// GET over HTTP or HTTPS (Poco::Net). HTTPS verifies the server certificate and the host name,
// against `ca_file` (a PEM bundle, for a private CA) or, when empty, the system CA store.
// TLS 1.2 at least. Redirects are not followed; only 200 is
// accepted; the body may not exceed max_bytes. `timeout` bounds connect, send and each receive.
// Throws std::invalid_argument from the constructor for a URL that is not http(s)://host[:port]/….
class HttpJwksFetcher : public JwksFetcher {
  public:
    static constexpr std::size_t kDefaultMaxBytes = 1 << 20;

    HttpJwksFetcher(const std::string& url, std::chrono::milliseconds timeout,
                    const std::string& ca_file = "", std::size_t max_bytes = kDefaultMaxBytes);
    ~HttpJwksFetcher() override;
    std::string fetch() override;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ordergate::auth
