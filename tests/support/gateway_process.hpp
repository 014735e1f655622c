// Test support: the real `ordergate` binary as a child process, and a small HTTP client.
//
// GatewayProcess starts `ordergate serve --config <file>` with PORT set to a free loopback port
// and OG_DATA_DIR to a fresh directory, waits (bounded) until /health answers, and stops it with
// SIGTERM (then SIGKILL) when destroyed. "Started" includes the start-up reconciliation: like a
// readiness probe, it waits until /health/ready no longer names it (writes wait for it). Its stdout/stderr go to a log file, printed when start-up
// fails so a broken test says why.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "json/json.hpp"

namespace ordergate::testing {

struct HttpResult {
    int status = 0;
    std::string body;
    std::map<std::string, std::string> headers;  // names lower-cased
    std::string header(const std::string& name) const;
    // Parses the body as JSON (ASSERT-friendly: returns a null Value when it is not JSON).
    json::Value json() const;
};

// One request on a fresh connection (or `keep` when given). Throws std::runtime_error when the
// server cannot be reached.
HttpResult http(uint16_t port, const std::string& method, const std::string& path,
                const std::string& body = "",
                const std::vector<std::pair<std::string, std::string>>& headers = {});

// The JSON content type header plus an Idempotency-Key when `key` is not empty.
std::vector<std::pair<std::string, std::string>> json_headers(const std::string& key = "");

uint16_t free_port();
// A fresh directory /tmp/<prefix>.XXXXXX, removed when the test program ends with every test
// passed; kept (and named on stderr) for a look when one failed.
std::string make_temp_dir(const std::string& prefix);
// The same, left to the caller to remove.
std::string make_owned_temp_dir(const std::string& prefix);
// The first item of a JSON field path ("a.b") as text, or "" when absent.
std::string field(const json::Value& v, const std::string& path);

struct GatewayOptions {
    std::string config;                         // path to the YAML file
    std::map<std::string, std::string> env;     // extra environment (PORT/OG_DATA_DIR are set)
    std::string data_dir;                       // empty: a fresh temporary directory
    std::chrono::seconds startup_timeout{30};
    bool expect_start = true;                   // false: the process is expected to exit
    std::vector<std::string> args;              // after `serve --config FILE` (--log-format json)
};

class GatewayProcess {
public:
    explicit GatewayProcess(GatewayOptions options);
    ~GatewayProcess();
    GatewayProcess(const GatewayProcess&) = delete;
    GatewayProcess& operator=(const GatewayProcess&) = delete;

    uint16_t port() const { return port_; }
    const std::string& data_dir() const { return data_dir_; }
    pid_t pid() const { return pid_; }
    // SIGTERM, then waits up to `timeout`; returns the exit status (-1 when it had to be killed).
    int stop(std::chrono::seconds timeout = std::chrono::seconds(20));
    // SIGKILL (a crash).
    void kill_hard();
    // Waits for the process to exit by itself (expect_start = false); returns its exit status or
    // -1 on timeout.
    int wait_exit(std::chrono::seconds timeout);
    std::string log() const;  // the last 8000 bytes of the output
    // The names of the process's threads now (/proc/PID/task/*/comm; what top -H shows).
    std::vector<std::string> thread_names() const;
    const std::string& log_path() const { return log_path_; }  // all of it

    HttpResult get(const std::string& path,
                   const std::vector<std::pair<std::string, std::string>>& headers = {}) const {
        return http(port_, "GET", path, "", headers);
    }

private:
    void spawn();         // fork + exec on port_, output appended to the log
    void wait_healthy();  // until /health answers 200; throws with the log otherwise
    // Then until /health/ready no longer says the start-up reconciliation is running (bounded).
    void wait_reconciled(std::chrono::steady_clock::time_point deadline);

    GatewayOptions options_;
    uint16_t port_ = 0;
    pid_t pid_ = -1;
    std::string data_dir_;
    std::string log_path_;
};

// Paths baked in at build time.
std::string gateway_binary();
std::string plugin_dir();
std::string source_dir();

}  // namespace ordergate::testing
