// og_bench_auth_setup <dir> — the identity provider of `bench/run.sh auth`.
//
// Generates an RSA key (RS256, kid "bench-rsa-1") and writes into <dir> (created if missing):
//   jwks.json  the public key set
//   env        shell assignments (not exported) to source: BENCH_TOKEN (RS256, sub "bench",
//              scope "orders:read orders:write", accounts ACC1 and ACC2, valid for one hour),
//              JWT_ISSUER, JWT_AUDIENCE, JWKS_URL=http://127.0.0.1:<port>/jwks.json
//   jwks.pid   the pid of the JWKS server
// The JWKS server is a child process in its own session, serving jwks.json on loopback until it
// is killed (SIGTERM) or the token has expired, whichever comes first; this process returns once
// the server listens. Exit status 0 on success, 1 on any failure (reason on stderr), 2 on usage.
// Test tooling only: the private key never leaves memory.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>

#include "common/clock.hpp"
#include "auth_support/auth_testsupport.hpp"

namespace ts = ordergate::auth::testsupport;

namespace {

constexpr const char* kIssuer = "https://bench.ordergate.local/";
constexpr const char* kAudience = "ordergate-bench";
constexpr std::chrono::seconds kLifetime{3600};

bool write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
    out.close();
    if (!out) std::cerr << "og_bench_auth_setup: cannot write " << path << "\n";
    return static_cast<bool>(out);
}

// The child: serve `jwks` until SIGTERM or the token's lifetime has passed. Reports the port
// (or 0 on failure) on `report_fd`.
[[noreturn]] void serve(const std::string& jwks, int report_fd) {
    setsid();
    int null_fd = ::open("/dev/null", O_RDWR);
    if (null_fd >= 0) {
        dup2(null_fd, 0);
        dup2(null_fd, 1);
        dup2(null_fd, 2);
        if (null_fd > 2) close(null_fd);
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before the server's threads exist
    uint16_t port = 0;
    try {
        ts::JwksServer server(jwks);
        port = server.port();
        (void)!write(report_fd, &port, sizeof port);
        close(report_fd);
        alarm(static_cast<unsigned>(kLifetime.count() + 60));
        int sig = 0;
        sigwait(&set, &sig);
        server.stop();
    } catch (const std::exception&) {
        if (port == 0) (void)!write(report_fd, &port, sizeof port);
        _exit(1);
    }
    _exit(0);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: og_bench_auth_setup <dir>\n";
        return 2;
    }
    const std::string dir = argv[1];
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        std::cerr << "og_bench_auth_setup: cannot create " << dir << ": " << std::strerror(errno)
                  << "\n";
        return 1;
    }
    std::string jwks, token;
    try {
        ts::TestKey key = ts::TestKey::rsa("bench-rsa-1", "RS256");
        jwks = ts::jwks_json({&key});
        ts::Claims claims =
            ts::valid_claims(*ordergate::system_clock(), kIssuer, kAudience, "bench",
                             kLifetime);
        claims.scope = "orders:read orders:write";
        claims.accounts = std::vector<std::string>{"ACC1", "ACC2"};
        token = ts::mint(key, claims);
    } catch (const std::exception& e) {
        std::cerr << "og_bench_auth_setup: " << e.what() << "\n";
        return 1;
    }
    if (!write_file(dir + "/jwks.json", jwks)) return 1;

    int fds[2];
    if (pipe(fds) != 0) {
        std::cerr << "og_bench_auth_setup: pipe: " << std::strerror(errno) << "\n";
        return 1;
    }
    std::cout.flush();
    std::cerr.flush();
    const pid_t pid = fork();
    if (pid < 0) {
        std::cerr << "og_bench_auth_setup: fork: " << std::strerror(errno) << "\n";
        return 1;
    }
    if (pid == 0) {
        close(fds[0]);
        serve(jwks, fds[1]);
    }
    close(fds[1]);
    uint16_t port = 0;
    const ssize_t got = read(fds[0], &port, sizeof port);
    close(fds[0]);
    if (got != static_cast<ssize_t>(sizeof port) || port == 0) {
        std::cerr << "og_bench_auth_setup: the JWKS server did not start\n";
        kill(pid, SIGTERM);
        waitpid(pid, nullptr, 0);
        return 1;
    }
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/jwks.json";
    const std::string env = "BENCH_TOKEN='" + token + "'\nJWT_ISSUER='" + kIssuer +
                            "'\nJWT_AUDIENCE='" + kAudience + "'\nJWKS_URL='" + url + "'\n";
    if (!write_file(dir + "/env", env) || !write_file(dir + "/jwks.pid", std::to_string(pid) +
                                                                           "\n")) {
        kill(pid, SIGTERM);
        return 1;
    }
    ::chmod((dir + "/env").c_str(), 0600);
    std::cout << "JWKS " << url << " (pid " << pid << "); token and settings in " << dir
              << "/env\n";
    return 0;
}
