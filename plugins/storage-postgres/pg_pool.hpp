// A bounded pool of PostgreSQL connections.
//
// Connections are opened lazily, up to `size`, outside the pool's lock. acquire() waits at most
// `wait` for a free connection and then throws sdk::Error(Unavailable, "connection pool
// exhausted"); it never hangs. A connection that came back broken (lost, or left mid-transaction
// by a failure) is closed instead of reused, so after a PostgreSQL restart the next acquire()
// simply opens a new one: the pool recovers by itself.
//
// Threads: acquire() from any thread; a Lease is used by one thread and returns its connection
// when destroyed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "pg_conn.hpp"

namespace ordergate::storage_postgres {

class Pool {
public:
    class Lease {
    public:
        Lease(Pool* pool, std::unique_ptr<Connection> c) : pool_(pool), conn_(std::move(c)) {}
        Lease(Lease&& o) noexcept = default;
        Lease& operator=(Lease&&) = delete;
        Lease(const Lease&) = delete;
        ~Lease() {
            if (conn_) pool_->release(std::move(conn_));
        }
        Connection& operator*() const { return *conn_; }
        Connection* operator->() const { return conn_.get(); }

    private:
        Pool* pool_;
        std::unique_ptr<Connection> conn_;
    };

    Pool(ConnectSpec spec, size_t size, std::chrono::milliseconds wait);

    // Throws sdk::Error(Unavailable) when no connection frees up within the wait, or when a new
    // connection cannot be opened.
    Lease acquire();
    // Closes every idle connection (the next acquire opens fresh ones).
    void drain();

private:
    void release(std::unique_ptr<Connection> c);

    ConnectSpec spec_;
    size_t size_;
    std::chrono::milliseconds wait_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::unique_ptr<Connection>> idle_;
    size_t open_ = 0;  // idle + leased + being opened
};

}  // namespace ordergate::storage_postgres
