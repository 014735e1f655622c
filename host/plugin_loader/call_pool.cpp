#include "plugin_loader/call_pool.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <list>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "common/thread_name.hpp"

namespace ordergate::plugin_loader {

struct CallPool::Call {
    enum class Phase { Queued, Running, Done, Withdrawn };
    const char* op = "";
    std::function<void()> work;
    Phase phase = Phase::Queued;
    bool abandoned = false;  // the caller left at its deadline while the work ran
    Clock::time_point abandoned_at{};
    std::condition_variable done;  // waits on State::mutex
};

struct CallPool::State {
    struct Worker {
        std::thread thread;
        bool ended = false;
    };

    std::mutex mutex;
    std::condition_variable work_ready;  // idle threads wait here
    std::condition_variable changed;     // stop() waits here for calls and threads to end
    std::deque<CallPtr> queue;
    std::list<Worker> workers;  // a node lives as long as the state: its thread points at it
    size_t idle = 0;
    size_t observers_running = 0;
    bool closed = false;
    bool observer_off = false;
    Observer observer;
    std::string thread_name;
    Stats stats;

    static void run(const std::shared_ptr<State>& self, Worker* worker);
};

void CallPool::State::run(const std::shared_ptr<State>& self, Worker* worker) {
    State& s = *self;
    name_this_thread(s.thread_name);
    std::unique_lock lock(s.mutex);
    for (;;) {
        while (s.queue.empty() && !s.closed) {
            ++s.idle;
            s.work_ready.wait(lock);
            --s.idle;
        }
        if (s.queue.empty()) break;
        CallPtr call = std::move(s.queue.front());
        s.queue.pop_front();
        call->phase = Call::Phase::Running;
        ++s.stats.running;
        std::function<void()> work = std::move(call->work);
        lock.unlock();
        // The work owns everything it touches (see the header); its captures go with it here,
        // outside the lock.
        [&]() noexcept { work(); }();
        work = nullptr;
        lock.lock();
        --s.stats.running;
        call->phase = Call::Phase::Done;
        call->done.notify_all();
        if (call->abandoned) {
            --s.stats.stuck;
            ++s.stats.returned_late;
            if (!s.observer_off && s.observer.returned_late) {
                auto notify = s.observer.returned_late;
                const size_t stuck = s.stats.stuck;
                ++s.observers_running;
                lock.unlock();
                notify(call->op, Clock::now() - call->abandoned_at, stuck);
                lock.lock();
                --s.observers_running;
            }
        }
        s.changed.notify_all();
    }
    worker->ended = true;
    --s.stats.threads;
    s.changed.notify_all();
}

CallPool::CallPool(size_t max_threads, Observer observer, std::string thread_name)
    : max_threads_(max_threads), state_(std::make_shared<State>()) {
    if (max_threads_ == 0) throw std::invalid_argument("CallPool: max_threads must be >= 1");
    state_->observer = std::move(observer);
    state_->thread_name = std::move(thread_name);
}

CallPool::~CallPool() { stop(std::chrono::milliseconds(0)); }

CallPool::CallPtr CallPool::submit(const char* op, std::function<void()> work) {
    auto call = std::make_shared<Call>();
    call->op = op;
    call->work = std::move(work);
    State& s = *state_;
    std::lock_guard lock(s.mutex);
    if (s.closed) {
        ++s.stats.refused;
        return nullptr;
    }
    if (s.idle > s.queue.size()) {
        s.queue.push_back(call);
        s.work_ready.notify_one();
        return call;
    }
    if (s.stats.threads < max_threads_) {
        s.queue.push_back(call);
        s.workers.emplace_back();
        State::Worker* worker = &s.workers.back();
        try {
            worker->thread = std::thread(&State::run, state_, worker);
        } catch (const std::system_error&) {
            // No thread to be had: the call is refused like one finding every thread stuck.
            s.workers.pop_back();
            s.queue.pop_back();
            ++s.stats.refused;
            return nullptr;
        }
        ++s.stats.threads;
        return call;
    }
    // Every thread is busy. When every one of them is stuck, none will free up before the
    // caller's deadline: refuse now rather than hold the caller until then.
    if (s.stats.stuck >= s.stats.threads) {
        ++s.stats.refused;
        return nullptr;
    }
    s.queue.push_back(call);
    return call;
}

CallPool::Outcome CallPool::wait(const CallPtr& call, Clock::time_point deadline) {
    State& s = *state_;
    std::unique_lock lock(s.mutex);
    call->done.wait_until(lock, deadline, [&] {
        return call->phase == Call::Phase::Done || call->phase == Call::Phase::Withdrawn;
    });
    switch (call->phase) {
        case Call::Phase::Done:
            return Outcome::Finished;
        case Call::Phase::Withdrawn:
            return Outcome::NotStarted;
        case Call::Phase::Queued: {
            s.queue.erase(std::find(s.queue.begin(), s.queue.end(), call));
            call->phase = Call::Phase::Withdrawn;
            ++s.stats.not_started;
            std::function<void()> work = std::move(call->work);
            lock.unlock();  // its captures go outside the lock
            return Outcome::NotStarted;
        }
        case Call::Phase::Running:
            break;
    }
    call->abandoned = true;
    call->abandoned_at = Clock::now();
    ++s.stats.stuck;
    ++s.stats.deadline_passed;
    if (!s.observer_off && s.observer.deadline_passed) {
        auto notify = s.observer.deadline_passed;
        const size_t stuck = s.stats.stuck;
        ++s.observers_running;
        lock.unlock();
        notify(call->op, stuck);
        lock.lock();
        --s.observers_running;
        s.changed.notify_all();
    }
    return Outcome::DeadlinePassed;
}

void CallPool::close() {
    State& s = *state_;
    std::vector<std::function<void()>> withdrawn;
    {
        std::lock_guard lock(s.mutex);
        s.closed = true;
        for (CallPtr& call : s.queue) {
            call->phase = Call::Phase::Withdrawn;
            ++s.stats.not_started;
            withdrawn.push_back(std::move(call->work));
            call->done.notify_all();
        }
        s.queue.clear();
        s.work_ready.notify_all();
    }
}

size_t CallPool::stop(std::chrono::milliseconds grace) {
    close();
    State& s = *state_;
    std::list<State::Worker> ended;
    size_t left = 0;
    {
        std::unique_lock lock(s.mutex);
        s.changed.wait_for(lock, grace, [&] { return s.stats.running == 0; });
        // From here no observer starts; wait for one already running (it is short).
        s.observer_off = true;
        s.changed.wait(lock, [&] { return s.observers_running == 0; });
        // Threads not in a call leave at once (closed, nothing queued).
        s.changed.wait(lock, [&] { return s.stats.threads == s.stats.running; });
        left = s.stats.running;
        for (auto it = s.workers.begin(); it != s.workers.end();) {
            auto next = std::next(it);
            if (it->ended) {
                ended.splice(ended.end(), s.workers, it);
            } else if (it->thread.joinable()) {
                // Still in the plugin: it keeps the state alive and ends when the plugin returns.
                it->thread.detach();
            }
            it = next;
        }
    }
    for (State::Worker& w : ended)
        if (w.thread.joinable()) w.thread.join();
    return left;
}

CallPool::Stats CallPool::stats() const {
    std::lock_guard lock(state_->mutex);
    return state_->stats;
}

}  // namespace ordergate::plugin_loader
