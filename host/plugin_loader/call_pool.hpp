// ordergate::plugin_loader::CallPool — the threads on which one broker instance's plugin calls
// run, so that the host, not the plugin, decides how long a caller waits.
//
// A caller hands its work to the pool (submit) and waits for it until its own deadline (wait).
// Past the deadline the caller leaves; the work keeps its thread until the plugin returns, and
// whatever it produces then is the work's own to discard (the caller never reads it again). Such
// a call is "stuck": it is counted, and the pool never grows past `max_threads` for it, so a
// plugin that hangs holds at most its own share of threads, never the caller's.
//
//  - submit() runs the work on an idle thread, starts a new one while fewer than max_threads
//    exist, or queues it for the next thread that frees up. When every thread is held by a stuck
//    call it refuses at once (nothing will run): waiting could only end at the deadline.
//  - wait() returns Finished (the work returned), NotStarted (the deadline passed while it was
//    still queued: it is withdrawn and never runs) or DeadlinePassed (it is running; stuck).
//  - stop() refuses new work, withdraws queued work, and waits a bounded time for running work.
//    Threads still in a call after that are detached: they keep the pool's shared state alive
//    and end when the plugin returns. The work must therefore own everything it touches.
//
// Threads: every function may be called from any thread. The observer's functions run on the
// caller's thread (deadline_passed) or the pool thread (returned_late), without the pool's lock,
// and are never called once stop() has returned.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace ordergate::plugin_loader {

class CallPool {
public:
    using Clock = std::chrono::steady_clock;

    struct Observer {
        // A caller left a running call at its deadline; `stuck` counts such calls now running.
        std::function<void(std::string_view op, size_t stuck)> deadline_passed;
        // A stuck call returned `late` after its caller left; its result was discarded.
        std::function<void(std::string_view op, Clock::duration late, size_t stuck)> returned_late;
    };

    struct Stats {
        size_t threads = 0;             // started and not yet ended
        size_t running = 0;             // calls in the plugin now, stuck ones included
        size_t stuck = 0;               // running calls whose caller left at its deadline
        uint64_t deadline_passed = 0;   // calls left running at their deadline, ever
        uint64_t returned_late = 0;     // of those, the ones that returned since
        uint64_t not_started = 0;       // withdrawn from the queue at their deadline
        uint64_t refused = 0;           // refused by submit (every thread stuck, or stopped)
    };

    enum class Outcome { Finished, NotStarted, DeadlinePassed };

    struct Call;  // opaque to callers
    using CallPtr = std::shared_ptr<Call>;

    // max_threads >= 1. The pool's threads are named `thread_name` (cut at 15 bytes).
    explicit CallPool(size_t max_threads, Observer observer = {},
                      std::string thread_name = "og-call");
    // stop(0) when stop() was not called.
    ~CallPool();
    CallPool(const CallPool&) = delete;
    CallPool& operator=(const CallPool&) = delete;

    // Hands `work` to a thread (see above). `op` names the call in counters and logs and must
    // outlive the call (a string literal). `work` must not throw (the process aborts if it
    // does). Returns null when refused: every thread is stuck, or the pool is stopped.
    CallPtr submit(const char* op, std::function<void()> work);

    // Waits until the call's work has returned or `deadline` passes (see Outcome). Call once
    // per call.
    Outcome wait(const CallPtr& call, Clock::time_point deadline);

    // Refuses further work and withdraws what is queued (its waiters get NotStarted at once),
    // without waiting. Idempotent.
    void close();
    // close(), then waits up to `grace` for running calls to return. Returns how many are still
    // running; their threads are detached. Idempotent (a second call waits again).
    size_t stop(std::chrono::milliseconds grace);

    Stats stats() const;
    size_t max_threads() const { return max_threads_; }

    struct State;

private:
    size_t max_threads_;
    std::shared_ptr<State> state_;
};

}  // namespace ordergate::plugin_loader
