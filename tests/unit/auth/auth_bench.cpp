// Cost of Authenticator::authenticate() per call with the key already cached.
//   auth_bench [iterations]     (default 20000)
// "verify": verified-token cache off, so every call parses and verifies the signature.
// "cache hit": the same token again with the cache on (SHA-256 + lookup + principal copy).
// "api key": X-API-Key with 4 configured keys.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include "auth/authenticator.hpp"
#include "auth/crypto.hpp"
#include "auth_support/auth_testsupport.hpp"

using namespace ordergate::auth;
namespace ts = ordergate::auth::testsupport;

namespace {

double thread_cpu_ns() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}

struct Cost {
    double wall_ns, cpu_ns;
};

// Wall and thread-CPU time per call; CPU time is the steadier figure on a shared machine.
template <typename F>
Cost per_call(int n, F&& f) {
    for (int i = 0; i < n / 10 + 1; ++i) f();  // warm up
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = thread_cpu_ns();
    for (int i = 0; i < n; ++i) f();
    const double c1 = thread_cpu_ns();
    const auto t1 = std::chrono::steady_clock::now();
    return {std::chrono::duration<double, std::nano>(t1 - t0).count() / n, (c1 - c0) / n};
}

void report(const char* alg, const char* mode, Cost c) {
    std::printf("%-6s %-10s %9.0f ns/call wall %9.0f ns/call cpu %10.0f calls/s/core\n", alg, mode,
                c.wall_ns, c.cpu_ns, 1e9 / c.cpu_ns);
}

}  // namespace

int main(int argc, char** argv) {
    const int n = argc > 1 ? std::atoi(argv[1]) : 20000;
    spdlog::set_level(spdlog::level::warn);
    ts::TestKey rs = ts::TestKey::rsa("rs", "RS256");
    ts::TestKey ps = ts::TestKey::rsa("ps", "PS256");
    ts::TestKey es = ts::TestKey::ec("es", "ES256");
    ts::JwksServer server(ts::jwks_json({&rs, &ps, &es}));

    AuthConfig cfg;
    cfg.enabled = true;
    cfg.jwks_url = server.url();
    cfg.issuer = "https://issuer.test";
    cfg.audience = "ordergate";
    cfg.hs256_secret = std::string(32, 'h');
    for (int i = 0; i < 4; ++i)
        cfg.api_keys.push_back({sha256_hex("key-" + std::to_string(i)),
                                "svc" + std::to_string(i),
                                {"ACC-1"},
                                {"orders:read"}});

    auto claims =
        ts::valid_claims(*ordergate::system_clock(), cfg.issuer, cfg.audience, "alice", std::chrono::hours(1));
    claims.scope = "orders:read orders:write";
    claims.accounts = std::vector<std::string>{"ACC-1", "ACC-2"};

    AuthConfig no_cache = cfg;
    no_cache.verified_token_cache_size = 0;
    Authenticator verify_every_time(no_cache);
    Authenticator cached(cfg);
    std::printf("iterations=%d (single thread)\n", n);
    struct Case {
        const char* alg;
        std::string token;
    } cases[] = {{"RS256", ts::mint(rs, claims)},
                 {"PS256", ts::mint(ps, claims)},
                 {"ES256", ts::mint(es, claims)},
                 {"HS256", ts::mint_hs256(*cfg.hs256_secret, claims)}};
    for (const auto& c : cases) {
        const std::string header = "Bearer " + c.token;
        if (!verify_every_time.authenticate(header, "").ok() ||
            !cached.authenticate(header, "").ok()) {
            std::fprintf(stderr, "%s token refused\n", c.alg);
            return 1;
        }
        report(c.alg, "verify", per_call(n, [&] { verify_every_time.authenticate(header, ""); }));
        report(c.alg, "cache hit", per_call(n, [&] { cached.authenticate(header, ""); }));
    }
    report("-", "api key", per_call(n, [&] { cached.authenticate("", "key-3"); }));
    std::printf("jwks fetches=%zu\n", server.request_count());
    return 0;
}
