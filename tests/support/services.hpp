// Test support: PostgreSQL and Redis for the integration tests, and a libpq session to look at
// what the gateway stored.
//
// Two kinds of services:
//  - shared_services(): the run's shared PostgreSQL + Redis. Under ctest they come from the
//    `services` fixture (tests/services/CMakeLists.txt), whose env file is named by the
//    OG_SERVICES_ENV environment variable. Without it (the test binary run by hand) private ones
//    are started once for the process in a temporary directory and stopped at exit. Tests that
//    use them must not stop, kill or restart them: other tests run against them in parallel.
//  - PrivateServices: instances of a test's own, in a directory of its own, through
//    scripts/pg-test.sh and scripts/redis-test.sh; the test may kill and restart them. Stopped
//    and their directory removed when the object is destroyed (kept, and said on stderr, when
//    stopping fails).
//
// Errors: every failure (a script exiting non-zero, a query failing) throws std::runtime_error
// with the script's output or the server's message.
//
// Threads: PrivateServices and PgSession are used by one thread at a time; shared_services() may
// be called from any thread.
#pragma once

#include <string>
#include <vector>

namespace ordergate::testing {

// Runs `command` with /bin/sh; returns its exit status and puts stdout+stderr in *output.
int run_shell(const std::string& command, std::string* output = nullptr);

struct ServiceUrls {
    std::string database_url;  // postgresql://postgres@127.0.0.1:<port>/postgres
    std::string redis_url;     // redis://127.0.0.1:<port>/0
};

// See the header comment. Throws when the services cannot be found or started.
const ServiceUrls& shared_services();

class PrivateServices {
  public:
    // The instances keep their data in a fresh directory /tmp/<prefix>.XXXXXX (which the
    // database owner can enter when the tests run as root).
    explicit PrivateServices(const std::string& prefix);
    ~PrivateServices();
    PrivateServices(const PrivateServices&) = delete;
    PrivateServices& operator=(const PrivateServices&) = delete;

    const std::string& dir() const { return dir_; }

    // Start a PostgreSQL 15 / redis-server on a free loopback port; return its URL.
    std::string start_postgres();
    std::string start_redis();
    // PostgreSQL outage: stop it keeping data and port (`pg-test.sh down`), start it again on
    // the same port (`pg-test.sh up`).
    void postgres_down();
    void postgres_up();
    // Redis outage: SIGKILL (`redis-test.sh kill`), start again on the same port (`restart`).
    void kill_redis();
    void restart_redis();

  private:
    void script(const std::string& name, const std::string& command);
    std::string read_env(const std::string& file, const std::string& key) const;

    std::string dir_;
    bool postgres_ = false;
    bool redis_ = false;
};

// One libpq connection (for checks; not the code under test).
class PgSession {
  public:
    explicit PgSession(const std::string& url);
    ~PgSession();
    PgSession(const PgSession&) = delete;
    PgSession& operator=(const PgSession&) = delete;

    // Runs one or more statements; returns the rows of the last one as text (NULL as "").
    std::vector<std::vector<std::string>> query(const std::string& sql);
    // The first column of the first row ("" when there is none).
    std::string scalar(const std::string& sql);

  private:
    void* conn_;  // PGconn*, kept out of the header so users need not see libpq
};

}  // namespace ordergate::testing
