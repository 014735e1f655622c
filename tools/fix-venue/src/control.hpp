// The control interface: a plain-text line protocol on a loopback TCP port. Each request is one
// line, each answer one line: "OK[ payload]" or "ERR <CODE> <message>". See README.md.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ordergate::fixvenue {

class ControlServer {
  public:
    using Handler = std::function<std::string(const std::string& line)>;
    explicit ControlServer(Handler handler) : handler_(std::move(handler)) {}
    ~ControlServer() { stop(); }
    // Binds 127.0.0.1:port (0: any free port); throws std::runtime_error when it cannot.
    uint16_t start(uint16_t port);
    void stop();

  private:
    void accept_loop();
    void serve(int fd);

    Handler handler_;
    int listen_fd_ = -1;
    std::atomic<bool> stopping_{false};
    std::thread acceptor_;
    std::mutex mu_;
    std::vector<int> clients_;
    std::vector<std::thread> workers_;
};

}  // namespace ordergate::fixvenue
