#include "control.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace ordergate::fixvenue {

uint16_t ControlServer::start(uint16_t port) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // loopback only, like the FIX port
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listen_fd_, 16) != 0)
        throw std::runtime_error("cannot listen on 127.0.0.1:" + std::to_string(port) + ": " +
                                 std::strerror(errno));
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    acceptor_ = std::thread([this] { accept_loop(); });
    return ntohs(a.sin_port);
}

void ControlServer::stop() {
    if (stopping_.exchange(true)) return;
    if (listen_fd_ >= 0) ::shutdown(listen_fd_, SHUT_RDWR);
    if (acceptor_.joinable()) acceptor_.join();
    if (listen_fd_ >= 0) ::close(listen_fd_);
    {
        std::lock_guard<std::mutex> l(mu_);
        for (int fd : clients_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& w : workers_) w.join();
}

void ControlServer::accept_loop() {
    while (!stopping_) {
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR) continue;
            return;  // shut down
        }
        std::lock_guard<std::mutex> l(mu_);
        if (stopping_) {
            ::close(fd);
            return;
        }
        clients_.push_back(fd);
        workers_.emplace_back([this, fd] { serve(fd); });
    }
}

void ControlServer::serve(int fd) {
    std::string buf;
    char chunk[4096];
    for (;;) {
        ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n <= 0) break;
        buf.append(chunk, static_cast<size_t>(n));
        size_t nl;
        while ((nl = buf.find('\n')) != std::string::npos) {
            std::string line = buf.substr(0, nl);
            buf.erase(0, nl + 1);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            std::string answer = handler_(line) + "\n";
            size_t off = 0;
            while (off < answer.size()) {
                ssize_t w = ::write(fd, answer.data() + off, answer.size() - off);
                if (w <= 0) break;
                off += static_cast<size_t>(w);
            }
        }
    }
    std::lock_guard<std::mutex> l(mu_);
    for (auto it = clients_.begin(); it != clients_.end(); ++it)
        if (*it == fd) {
            clients_.erase(it);
            break;
        }
    ::close(fd);
}

}  // namespace ordergate::fixvenue
