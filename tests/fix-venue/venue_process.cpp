#include "venue_process.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace ordergate::fixtest {

int free_loopback_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        throw std::runtime_error("no free port");
    }
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

VenueProcess::VenueProcess(const std::string& data_dir, std::vector<std::string> args)
    : data_dir_(data_dir), args_(std::move(args)), log_path_(data_dir + "/venue.log") {
    std::filesystem::create_directories(data_dir_);
    // A free port can be taken by someone else before the venue binds it: try another.
    for (int attempt = 0;; ++attempt) {
        try {
            spawn(false);
            return;
        } catch (const std::runtime_error&) {
            if (attempt == 3 || log().find("cannot listen") == std::string::npos) throw;
        }
    }
}

VenueProcess::~VenueProcess() { stop(); }

void VenueProcess::restart() {
    if (stop() != 0) throw std::runtime_error("fix venue did not exit cleanly: " + log());
    spawn(true);
}

void VenueProcess::spawn(bool same_port) {
    if (!same_port) port_ = free_loopback_port();
    std::vector<std::string> argv = {OG_FIX_VENUE_BIN, "--port", std::to_string(port_),
                                     "--control-port", "0",      "--data-dir",
                                     data_dir_};
    argv.insert(argv.end(), args_.begin(), args_.end());
    const std::string ready_path = data_dir_ + "/venue.stdout";
    std::filesystem::remove(ready_path);  // a restart must not read the last run's ready line
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        // A test that crashes or times out must not leave a venue behind.
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        FILE* out = std::freopen(ready_path.c_str(), "w", stdout);
        FILE* err = std::freopen(log_path_.c_str(), "a", stderr);
        if (!out || !err) _exit(126);
        std::vector<char*> cargs;
        for (auto& a : argv) cargs.push_back(a.data());
        cargs.push_back(nullptr);
        ::execv(cargs[0], cargs.data());
        _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
        std::ifstream f(ready_path);
        std::string line;
        if (std::getline(f, line) && line.rfind("fix-venue ready", 0) == 0) {
            auto at = line.find("control=");
            control_port_ = std::stoi(line.substr(at + 8));
            return;
        }
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("fix venue exited at start: " + log());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop();
    throw std::runtime_error("fix venue not ready within 20 s: " + log());
}

std::string VenueProcess::control(const std::string& line) const {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(control_port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        throw std::runtime_error("cannot reach the venue's control port");
    }
    const std::string req = line + "\n";
    if (::write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
        ::close(fd);
        throw std::runtime_error("control write failed");
    }
    std::string answer;
    char c;
    while (::read(fd, &c, 1) == 1 && c != '\n') answer += c;
    ::close(fd);
    return answer;
}

int VenueProcess::stop() {
    if (pid_ <= 0) return 0;
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 300; ++i) {
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return -1;
}

std::string VenueProcess::log() const {
    std::ifstream f(log_path_);
    std::stringstream s;
    s << f.rdbuf();
    std::string all = s.str();
    return all.size() > 8000 ? all.substr(all.size() - 8000) : all;
}

}  // namespace ordergate::fixtest
