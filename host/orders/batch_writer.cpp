#include "orders/batch_writer.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "metrics/metrics.hpp"

namespace ordergate::orders {

BatchWriter::BatchWriter(ports::StoragePort& storage, metrics::Metrics* metrics, size_t max_ops)
    : storage_(storage), metrics_(metrics), max_ops_(max_ops) {
    thread_ = std::thread([this] { run(); });
}

BatchWriter::~BatchWriter() { stop(); }

void BatchWriter::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) {
            if (!thread_.joinable()) return;
        }
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

std::vector<Status> BatchWriter::write(std::vector<WriteOp> ops) {
    std::promise<std::vector<Status>> promise;
    auto future = promise.get_future();
    write_async(std::move(ops), [&promise](const std::vector<Status>* results,
                                           std::exception_ptr error) {
        if (error) promise.set_exception(error);
        else promise.set_value(*results);
    });
    return future.get();
}

void BatchWriter::write_async(std::vector<WriteOp> ops, Done done) {
    if (!ops.empty()) ops.front().requires_previous = false;
    {
        std::lock_guard lock(mutex_);
        if (stopping_) {
            auto err = std::make_exception_ptr(
                sdk::Error(Status::Unavailable, "storage writer is stopped"));
            if (done) done(nullptr, err);
            return;
        }
        queue_.push_back(Pending{std::move(ops), std::move(done)});
    }
    wake_.notify_one();
}

void BatchWriter::flush() {
    std::promise<void> promise;
    auto future = promise.get_future();
    write_async({}, [&promise](const std::vector<Status>*, std::exception_ptr) {
        promise.set_value();
    });
    future.wait();
}

void BatchWriter::run() {
    std::vector<Pending> group;
    std::vector<WriteOp> ops;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty() && stopping_) return;
            size_t n = 0;
            while (!queue_.empty() && (group.empty() || n + queue_.front().ops.size() <= max_ops_)) {
                n += queue_.front().ops.size();
                group.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
        }
        ops.clear();
        for (auto& p : group)
            for (auto& op : p.ops) ops.push_back(std::move(op));
        std::vector<Status> results;
        std::exception_ptr error;
        if (!ops.empty()) {
            auto t0 = std::chrono::steady_clock::now();
            try {
                results = storage_.write_batch(ops);
                if (results.size() != ops.size())
                    throw sdk::Error(Status::Internal, "storage returned " +
                                                           std::to_string(results.size()) +
                                                           " results for " +
                                                           std::to_string(ops.size()) + " writes");
            } catch (const std::exception& e) {
                spdlog::error("event=storage_batch_failed ops={} error=\"{}\"", ops.size(),
                              e.what());
                error = std::current_exception();
            }
            if (metrics_)
                metrics_->storage_batch(
                    ops.size(),
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                    !error);
        }
        size_t at = 0;
        for (auto& p : group) {
            size_t n = p.ops.size();
            if (p.done) {
                if (error) {
                    p.done(nullptr, error);
                } else {
                    std::vector<Status> mine(results.begin() + static_cast<long>(at),
                                             results.begin() + static_cast<long>(at + n));
                    p.done(&mine, nullptr);
                }
            }
            at += n;
        }
        group.clear();
    }
}

}  // namespace ordergate::orders
