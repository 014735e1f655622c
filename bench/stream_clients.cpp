// og_bench_stream_clients — N WebSocket clients of GET /api/v1/stream for bench/stream.sh.
//
//   og_bench_stream_clients PORT CLIENTS ACCOUNT
//
// Each client connects, subscribes to every topic of ACCOUNT and reads (a thread per client,
// answering the server's pings). Once every client is subscribed it prints "ready CLIENTS" on a
// line of its own; on SIGTERM or SIGINT it stops, and prints one line:
//   RESULT clients=N subscribed=N events=E closed_4008=K closed_other=M
// where events counts the event messages received by all clients together, closed_4008 the clients
// the gateway closed as slow consumers. Exits 1 when a client cannot connect or subscribe.
#include <Poco/Buffer.h>
#include <Poco/Exception.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/WebSocket.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

std::atomic<bool> g_stop{false};
std::atomic<uint64_t> g_events{0};
std::atomic<int> g_subscribed{0};
std::atomic<int> g_failed{0};
std::atomic<int> g_closed_slow{0};
std::atomic<int> g_closed_other{0};
std::mutex g_mu;
std::condition_variable g_cv;

void client(uint16_t port, const std::string& account) {
    using Poco::Net::WebSocket;
    bool subscribed = false;
    try {
        Poco::Net::HTTPClientSession session("127.0.0.1", port);
        Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_GET, "/api/v1/stream",
                                   Poco::Net::HTTPMessage::HTTP_1_1);
        Poco::Net::HTTPResponse res;
        WebSocket ws(session, req, res);
        const std::string sub = "{\"op\":\"subscribe\",\"account_id\":\"" + account + "\"}";
        ws.sendFrame(sub.data(), static_cast<int>(sub.size()), WebSocket::FRAME_TEXT);
        ws.setReceiveTimeout(Poco::Timespan(0, 200 * 1000));
        Poco::Buffer<char> buf(0);
        while (!g_stop.load()) {
            int flags = 0;
            int n = 0;
            buf.resize(0);
            try {
                n = ws.receiveFrame(buf, flags);
            } catch (const Poco::TimeoutException&) {
                continue;
            }
            const int op = flags & WebSocket::FRAME_OP_BITMASK;
            if (n == 0 && flags == 0) {
                ++g_closed_other;
                break;
            }
            if (op == WebSocket::FRAME_OP_CLOSE) {
                const int code = buf.size() >= 2 ? (static_cast<unsigned char>(buf[0]) << 8) |
                                                       static_cast<unsigned char>(buf[1])
                                                 : 0;
                ++(code == 4008 ? g_closed_slow : g_closed_other);
                break;
            }
            if (op == WebSocket::FRAME_OP_PING) {
                ws.sendFrame(
                    buf.begin(), static_cast<int>(buf.size()),
                    static_cast<int>(WebSocket::FRAME_FLAG_FIN) | WebSocket::FRAME_OP_PONG);
                continue;
            }
            if (op != WebSocket::FRAME_OP_TEXT) continue;
            const std::string_view text(buf.begin(), buf.size());
            if (!subscribed) {
                if (text.find("\"type\":\"subscribed\"") == std::string_view::npos) {
                    std::fprintf(stderr, "subscribe refused: %.*s\n", static_cast<int>(n),
                                 buf.begin());
                    break;
                }
                subscribed = true;
                ++g_subscribed;
                g_cv.notify_all();
                continue;
            }
            if (text.rfind("{\"type\":\"event\"", 0) == 0) g_events.fetch_add(1);
        }
        try {
            ws.shutdown();
        } catch (const Poco::Exception&) {
            // The gateway may have closed first.
        }
    } catch (const Poco::Exception& e) {
        std::fprintf(stderr, "client: %s\n", e.displayText().c_str());
    }
    if (!subscribed) {
        ++g_failed;
        g_cv.notify_all();
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s PORT CLIENTS ACCOUNT\n", argv[0]);
        return 2;
    }
    const auto port = static_cast<uint16_t>(std::atoi(argv[1]));
    const int clients = std::atoi(argv[2]);
    const std::string account = argv[3];
    // The signals go to the main thread only (sigwait), the clients never see them.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);

    std::vector<std::thread> threads;
    threads.reserve(static_cast<size_t>(clients));
    for (int i = 0; i < clients; ++i) threads.emplace_back(client, port, account);
    {
        std::unique_lock lock(g_mu);
        g_cv.wait(lock, [&] { return g_subscribed.load() + g_failed.load() == clients; });
    }
    if (g_failed.load() > 0) {
        std::fprintf(stderr, "%d of %d clients failed to subscribe\n", g_failed.load(), clients);
        g_stop.store(true);
        for (auto& t : threads) t.join();
        return 1;
    }
    std::printf("ready %d\n", clients);
    std::fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    g_stop.store(true);
    for (auto& t : threads) t.join();
    std::printf("RESULT clients=%d subscribed=%d events=%llu closed_4008=%d closed_other=%d\n",
                clients, g_subscribed.load(), static_cast<unsigned long long>(g_events.load()),
                g_closed_slow.load(), g_closed_other.load());
    return 0;
}
