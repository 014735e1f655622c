// OrderService::EventQueue — the queue of one batched broker's events (SDK ABI 1.6,
// OG_CAP_BATCHED_EVENTS) and the thread that applies them. Private to the order service
// (order_events.cpp).
//
// push() is the sink's side: it queues and returns, and waits only while kCapacity events are
// queued (back-pressure instead of a backlog in memory). The thread takes up to kBatch events at
// a time and hands them to OrderService::apply_batch, in the order they were pushed. sync()
// waits until everything pushed before it is applied (stored). stop() applies what is queued,
// then joins; push() afterwards answers false and the caller applies the event itself.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <variant>

#include "orders/order_service.hpp"

namespace ordergate::orders {

class OrderService::EventQueue {
  public:
    using Event = std::variant<OrderReport, Fill>;
    static constexpr size_t kCapacity = 16384;
    static constexpr size_t kBatch = 1024;

    EventQueue(OrderService& service, std::string broker);
    ~EventQueue();
    EventQueue(const EventQueue&) = delete;
    EventQueue& operator=(const EventQueue&) = delete;

    bool push(Event event);
    Status sync(std::chrono::milliseconds timeout);
    size_t depth() const;
    void stop();

  private:
    void run();

    OrderService& service_;
    const std::string broker_;
    mutable std::mutex mutex_;
    std::condition_variable work_;  // the thread: something is queued, or stop
    std::condition_variable room_;  // push(): below capacity
    std::condition_variable done_;  // sync(): applied_ moved
    std::deque<Event> queue_;
    uint64_t pushed_ = 0;
    uint64_t applied_ = 0;
    bool stopping_ = false;
    bool stopped_ = false;
    std::thread thread_;
};

}  // namespace ordergate::orders
