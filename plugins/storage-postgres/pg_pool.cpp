#include "pg_pool.hpp"

#include <poll.h>

namespace ordergate::storage_postgres {

namespace {
// An idle connection with something to read has been told goodbye by the server (a restart
// sends 57P01 and closes): reading it lets libpq notice, so it is dropped before use.
bool stale(Connection& c) {
    pollfd p{PQsocket(c.raw()), POLLIN, 0};
    if (p.fd < 0) return true;
    if (::poll(&p, 1, 0) > 0) {
        if (PQconsumeInput(c.raw()) != 1) return true;
        while (PGnotify* n = PQnotifies(c.raw())) PQfreemem(n);
    }
    return c.broken();
}
}  // namespace

Pool::Pool(ConnectSpec spec, size_t size, std::chrono::milliseconds wait)
    : spec_(std::move(spec)), size_(size), wait_(wait) {}

Pool::Lease Pool::acquire() {
    std::unique_lock lock(mu_);
    bool ready = cv_.wait_for(lock, wait_, [this] { return !idle_.empty() || open_ < size_; });
    if (!ready) {
        throw sdk::Error(Status::Unavailable, "postgres: connection pool exhausted (" +
                                                  std::to_string(size_) + " connections busy for " +
                                                  std::to_string(wait_.count()) + " ms)");
    }
    std::vector<std::unique_ptr<Connection>> closing;
    while (!idle_.empty()) {
        std::unique_ptr<Connection> c = std::move(idle_.back());
        idle_.pop_back();
        if (!stale(*c)) return Lease(this, std::move(c));
        closing.push_back(std::move(c));
        --open_;
    }
    ++open_;
    lock.unlock();
    try {
        return Lease(this, Connection::open(spec_));
    } catch (...) {
        {
            std::lock_guard relock(mu_);
            --open_;
        }
        cv_.notify_one();
        throw;
    }
}

void Pool::release(std::unique_ptr<Connection> c) {
    std::unique_ptr<Connection> closing;
    {
        std::lock_guard lock(mu_);
        if (c->broken() || PQtransactionStatus(c->raw()) != PQTRANS_IDLE) {
            closing = std::move(c);
            --open_;
        } else {
            idle_.push_back(std::move(c));
        }
    }
    cv_.notify_one();
}

void Pool::drain() {
    std::vector<std::unique_ptr<Connection>> closing;
    {
        std::lock_guard lock(mu_);
        closing.swap(idle_);
        open_ -= closing.size();
    }
    cv_.notify_all();
}

}  // namespace ordergate::storage_postgres
