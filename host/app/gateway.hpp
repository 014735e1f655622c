// ordergate::app — the gateway process: builds every module from the configuration, serves,
// and shuts down in order.
//
// Start-up order (any failure throws; main prints one line and exits non-zero before listening):
// configuration -> plugins loaded and checked -> storage migrated -> brokers created -> order
// service recovers live orders and positions -> brokers started -> HTTP listening.
// Shutdown (SIGTERM/SIGINT): stop accepting, finish in-flight requests (grace period), stop
// brokers (their threads end), flush the storage writer, unload.
#pragma once

#include <memory>
#include <string>

#include "config/config.hpp"

namespace ordergate::app {

class Gateway {
public:
    explicit Gateway(config::Config cfg, std::string executable_dir);
    ~Gateway();
    Gateway(const Gateway&) = delete;
    Gateway& operator=(const Gateway&) = delete;

    // Loads plugins, migrates storage, recovers state, starts brokers and the HTTP server.
    void start();
    uint16_t port() const;
    // Graceful stop (idempotent).
    void stop();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// `ordergate serve --config F [--log-format text|json]`: runs until SIGTERM/SIGINT. Returns the
// process exit code. `log_format` ("text", "json"; empty: the configuration's logging.format)
// applies from the first line on, a configuration error included.
int run_serve(const std::string& config_path, const std::string& executable_dir,
              const std::string& log_format = "");
// `ordergate config validate F`: prints the redacted configuration or the error.
int run_config_validate(const std::string& config_path);

}  // namespace ordergate::app
