// ordergate::stream::StreamHub — the WebSocket stream of API.md "Streaming".
//
// Every entry a client receives is read from the durable event log, never from memory: one
// dispatcher thread handles, per account, every subscribe (gap-fill from `since_seq`) and every
// commit notice (live), and delivers to each subscription the entries after the last seq it
// delivered to it. Subscribing and following are the same loop on the same thread, so at the
// seam between stored and live entries nothing is sent twice and nothing is skipped.
//
// Notices of commits come from this host's EventLog (its commit listener, called on the order
// writer's thread: it only queues the account ids, so the order path never waits for a client)
// and, with a store shared by several hosts, from the storage plugin's wait_account_events
// (PostgreSQL LISTEN/NOTIFY) on a thread of its own.
//
// Each client has a bounded queue of messages and two threads: a writer (sends the queue, pings
// every ping_interval) and a reader (client messages; a connection silent for idle_close is
// closed). A client whose queue is full is closed with 4008 "slow consumer"; it resumes with
// since_seq.
//
// Threads: accept() from the HTTP server's threads; the rest is the hub's own.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "http/http.hpp"
#include "ports/ports.hpp"
#include "stream/event_log.hpp"

namespace ordergate::stream {

struct StreamOptions {
    size_t queue_limit = 10000;
    std::chrono::milliseconds ping_interval{15000};
    std::chrono::milliseconds idle_close{45000};
    size_t max_clients = 1000;
    size_t send_buffer_bytes = 65536;  // each connection's kernel send buffer (0: the system's)
    uint32_t page = 500;  // entries read from storage at once
    // For metrics (may be empty): the number of connections whenever it changes, and each
    // connection's close code as it ends (0: cut off without a close frame).
    std::function<void(size_t)> on_clients;
    std::function<void(int)> on_closed;
};

// What a client may see: every account (operator) or a list; `exists` says whether an account
// is known to the gateway (an unknown one answers NOT_FOUND, as an ungranted one does).
struct ClientScope {
    bool all = false;
    std::vector<std::string> accounts;
    bool allows(const std::string& account) const;
};

class StreamHub {
  public:
    StreamHub(EventLog& log, ports::StoragePort& storage,
              std::function<bool(const std::string&)> account_exists, StreamOptions options);
    ~StreamHub();
    StreamHub(const StreamHub&) = delete;
    StreamHub& operator=(const StreamHub&) = delete;

    // Starts the dispatcher, attaches to the log's commits, and (when the store has them) the
    // thread following other hosts' commits.
    void start();
    // Closes every client (1001 "going away") and joins every thread.
    void stop();

    // Whether one more client may connect (max_clients).
    bool has_room() const;
    // Takes an upgraded connection over.
    void accept(std::unique_ptr<http::WebSocketSession> session, ClientScope scope,
                std::string request_id);

    size_t clients() const;
    // Commit notices received from other hosts so far (for tests and metrics).
    uint64_t remote_notices() const { return remote_notices_.load(); }

  private:
    struct Client;
    struct Task;
    void notify(const std::vector<std::string>& accounts, bool remote);
    void dispatch_loop();
    void notice_loop();
    void subscribe(const std::shared_ptr<Client>& c, const std::string& account,
                   std::set<std::string> topics, std::optional<int64_t> since_seq);
    void catch_up(const std::string& account);
    void reap();

    EventLog& log_;
    ports::StoragePort& storage_;
    std::function<bool(const std::string&)> account_exists_;
    StreamOptions options_;

    mutable std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
    bool started_ = false;
    std::deque<Task> tasks_;       // for the dispatcher
    std::set<std::string> dirty_;  // accounts with new commits
    bool all_dirty_ = false;       // notices may have been lost: every account
    std::vector<std::shared_ptr<Client>> clients_;
    std::atomic<uint64_t> remote_notices_{0};

    std::thread dispatcher_;
    std::thread notices_;
};

}  // namespace ordergate::stream
