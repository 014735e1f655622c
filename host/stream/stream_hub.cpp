#include "stream/stream_hub.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <optional>

#include "common/thread_name.hpp"
#include "json/json.hpp"

namespace ordergate::stream {

namespace {

// At most this many messages (or about this many bytes) leave a client's queue in one write.
constexpr size_t kWriteBatch = 256;
constexpr size_t kWriteBatchBytes = 256 * 1024;

const std::set<std::string>& all_topics() {
    static const std::set<std::string> t{kTopicOrders, kTopicTrades, kTopicPositions, kTopicGtt};
    return t;
}

std::string error_message(std::string_view code, std::string_view message,
                          std::optional<int64_t> oldest_seq = std::nullopt,
                          std::optional<int64_t> last_seq = std::nullopt) {
    std::string out;
    json::Writer w(&out);
    w.begin_object().field("type", "error").field("code", code).field("message", message);
    if (oldest_seq) w.field_int("oldest_seq", *oldest_seq);
    if (last_seq) w.field_int("last_seq", *last_seq);
    w.end_object();
    return out;
}

std::string event_message(const AccountEvent& e) {
    std::string out;
    out.reserve(e.data_json.size() + 128);
    json::Writer w(&out);
    w.begin_object()
        .field("type", "event")
        .field("account_id", e.account_id)
        .field("topic", e.topic)
        .field_int("seq", e.seq)
        .key("data")
        .raw(e.data_json.empty() ? "null" : e.data_json)
        .end_object();
    return out;
}

}  // namespace

bool ClientScope::allows(const std::string& account) const {
    return all || std::find(accounts.begin(), accounts.end(), account) != accounts.end();
}

struct StreamHub::Client {
    std::unique_ptr<http::WebSocketSession> ws;
    ClientScope scope;
    std::string request_id;

    std::mutex mu;
    std::condition_variable cv;
    // Shared by every client the message goes to: one copy per event, not one per client.
    std::deque<std::shared_ptr<const std::string>> queue;
    bool closing = false;  // the writer sends the close frame and stops
    int close_code = 1000;
    std::string close_reason;
    std::atomic<bool> reader_done{false};
    std::atomic<bool> writer_done{false};
    // A gap-fill stopped because the queue was half full; the writer asks for more once it has
    // drained it to a quarter.
    std::atomic<bool> paused{false};
    std::thread reader;
    std::thread writer;
    // Held by accept() until both threads are stored and the client is registered: the reader
    // waits for it, so the dispatcher never drops a client (and joins its threads) before then.
    std::mutex started;

    // Dispatcher thread only.
    struct Sub {
        std::set<std::string> topics;
        int64_t delivered = 0;  // every entry up to this seq was handled for this client
        // Caught up with the log once: from then on a full queue means a slow consumer. Before
        // (a gap-fill from since_seq), the fill is paced by the queue instead.
        bool live = false;
    };
    std::map<std::string, Sub> subs;
    bool gone = false;

    size_t queued() {
        std::lock_guard lock(mu);
        return queue.size();
    }

    // Never blocks on the connection: a full queue closes the client instead.
    bool enqueue(std::string msg, size_t limit) {
        return enqueue(std::make_shared<const std::string>(std::move(msg)), limit);
    }
    bool enqueue(std::shared_ptr<const std::string> msg, size_t limit) {
        {
            std::lock_guard lock(mu);
            if (closing) return false;
            if (queue.size() >= limit) {
                queue.clear();
                closing = true;
                close_code = 4008;
                close_reason = "slow consumer";
                spdlog::info("event=stream_client_slow request_id={} queue_limit={}", request_id,
                             limit);
            } else {
                queue.push_back(std::move(msg));
            }
        }
        cv.notify_one();
        return true;
    }
    void close(int code, std::string reason) {
        {
            std::lock_guard lock(mu);
            if (closing) return;
            closing = true;
            close_code = code;
            close_reason = std::move(reason);
        }
        cv.notify_one();
    }
};

struct StreamHub::Task {
    enum class Kind { Subscribe, Unsubscribe, Gone } kind;
    std::shared_ptr<Client> client;
    std::string account;
    std::set<std::string> topics;
    std::optional<int64_t> since_seq;
};

StreamHub::StreamHub(EventLog& log, ports::StoragePort& storage,
                     std::function<bool(const std::string&)> account_exists, StreamOptions options)
    : log_(log), storage_(storage), account_exists_(std::move(account_exists)), options_(options) {}

StreamHub::~StreamHub() { stop(); }

void StreamHub::start() {
    {
        std::lock_guard lock(mu_);
        if (started_) return;
        started_ = true;
    }
    log_.set_commit_listener(
        [this](const std::vector<std::string>& accounts) { notify(accounts, false); });
    dispatcher_ = std::thread([this] {
        name_this_thread("og-stream");
        dispatch_loop();
    });
    notices_ = std::thread([this] {
        name_this_thread("og-stream-note");
        notice_loop();
    });
}

void StreamHub::stop() {
    std::vector<std::shared_ptr<Client>> clients;
    {
        std::lock_guard lock(mu_);
        if (!started_ || stopping_) return;
        stopping_ = true;
        clients = clients_;
    }
    log_.set_commit_listener(nullptr);
    cv_.notify_all();
    if (dispatcher_.joinable()) dispatcher_.join();
    if (notices_.joinable()) notices_.join();
    for (auto& c : clients) c->close(1001, "going away");
    for (auto& c : clients) {
        if (c->writer.joinable()) c->writer.join();
        c->ws->abort();
        if (c->reader.joinable()) c->reader.join();
    }
    std::lock_guard lock(mu_);
    clients_.clear();
}

bool StreamHub::has_room() const {
    std::lock_guard lock(mu_);
    return !stopping_ && clients_.size() < options_.max_clients;
}

size_t StreamHub::clients() const {
    std::lock_guard lock(mu_);
    return clients_.size();
}

void StreamHub::notify(const std::vector<std::string>& accounts, bool remote) {
    if (remote) remote_notices_.fetch_add(accounts.size());
    {
        std::lock_guard lock(mu_);
        // No client: nobody to tell, and the dispatcher sleeps on (one wake and two context
        // switches per commit otherwise). A client that connects later subscribes from a
        // sequence number and reads what it missed from the log.
        if (clients_.empty()) return;
        for (const auto& a : accounts) {
            if (a.empty())
                all_dirty_ = true;  // notices may have been lost
            else
                dirty_.insert(a);
        }
    }
    cv_.notify_all();
}

void StreamHub::accept(std::unique_ptr<http::WebSocketSession> session, ClientScope scope,
                       std::string request_id) {
    auto c = std::make_shared<Client>();
    c->ws = std::move(session);
    if (options_.send_buffer_bytes > 0) {
        // Without a bound the kernel autotunes the buffer to megabytes (thousands of events)
        // before the queue counts anything, and queue_limit means little.
        try {
            c->ws->set_send_buffer(options_.send_buffer_bytes);
        } catch (const std::exception& e) {
            spdlog::warn("event=stream_send_buffer_failed request_id={} bytes={} error=\"{}\"",
                         request_id, options_.send_buffer_bytes, e.what());
        }
    }
    c->scope = std::move(scope);
    c->request_id = std::move(request_id);
    {
        std::lock_guard lock(mu_);
        if (stopping_) {
            c->ws->close(1001, "going away");
            return;
        }
    }
    // A thread runs before its std::thread is stored: a reader that ended at once (a client that
    // closed as soon as it was upgraded) had the dispatcher drop the client while c->reader was
    // still empty, so it was never joined, and the client, freed by its last thread, destroyed a
    // joinable std::thread (std::terminate). Now the reader starts only once both threads are
    // stored and the client is in clients_ (where stop() finds it with its threads).
    std::unique_lock<std::mutex> starting(c->started);
    // The writer: the queue, then pings while idle; the close frame at the end.
    c->writer = std::thread([this, c] {
        name_this_thread("og-ws-write");
        auto next_ping = std::chrono::steady_clock::now() + options_.ping_interval;
        try {
            std::vector<std::shared_ptr<const std::string>> batch;
            std::vector<std::string_view> texts;
            for (;;) {
                batch.clear();
                texts.clear();
                bool drained = false;
                {
                    std::unique_lock lock(c->mu);
                    c->cv.wait_until(lock, next_ping,
                                     [&] { return c->closing || !c->queue.empty(); });
                    if (c->closing) break;
                    // What is queued leaves in one write (bounded): a client keeping up costs a
                    // write per batch, not per message.
                    size_t bytes = 0;
                    while (!c->queue.empty() && batch.size() < kWriteBatch &&
                           bytes < kWriteBatchBytes) {
                        bytes += c->queue.front()->size();
                        batch.push_back(std::move(c->queue.front()));
                        c->queue.pop_front();
                    }
                    drained = c->queue.size() <= options_.queue_limit / 4;
                }
                if (drained && c->paused.exchange(false)) notify({""}, false);
                if (!batch.empty()) {
                    for (const auto& m : batch) texts.emplace_back(*m);
                    c->ws->send_texts(texts);
                } else if (std::chrono::steady_clock::now() >= next_ping) {
                    c->ws->send_ping();
                    next_ping = std::chrono::steady_clock::now() + options_.ping_interval;
                }
            }
            int code;
            std::string reason;
            {
                std::lock_guard lock(c->mu);
                code = c->close_code;
                reason = c->close_reason;
            }
            c->ws->close(code, reason);
            if (options_.on_closed) options_.on_closed(code);
        } catch (const std::exception& e) {
            spdlog::debug("event=stream_client_send_failed request_id={} error=\"{}\"",
                          c->request_id, e.what());
            c->ws->abort();
            if (options_.on_closed) options_.on_closed(0);
        }
        c->writer_done.store(true);
    });
    // The reader: client messages and the idle timeout.
    c->reader = std::thread([this, c] {
        name_this_thread("og-ws-read");
        { std::lock_guard started(c->started); }
        auto heard = std::chrono::steady_clock::now();
        try {
            for (;;) {
                std::string payload;
                http::WebSocketSession::Frame f =
                    c->ws->receive(&payload, std::chrono::milliseconds(1000));
                const auto now = std::chrono::steady_clock::now();
                if (f == http::WebSocketSession::Frame::Timeout) {
                    if (now - heard > options_.idle_close) {
                        c->close(1000, "idle");
                        break;
                    }
                    if (c->writer_done.load()) break;
                    continue;
                }
                heard = now;
                if (f == http::WebSocketSession::Frame::Close) {
                    c->close(1000, "");
                    break;
                }
                if (f == http::WebSocketSession::Frame::Ping) {
                    c->ws->send_pong(payload);
                    continue;
                }
                if (f == http::WebSocketSession::Frame::Binary) {
                    c->enqueue(error_message("INVALID_PARAMETER",
                                             "messages are JSON text; a binary message is not one"),
                               options_.queue_limit);
                    continue;
                }
                if (f != http::WebSocketSession::Frame::Text) continue;
                json::Value msg;
                std::string why;
                if (!json::parse(payload, &msg, &why) || !msg.is_object()) {
                    c->enqueue(
                        error_message("INVALID_PARAMETER", "a message must be a JSON object"),
                        options_.queue_limit);
                    continue;
                }
                std::string op, account, bad;
                std::set<std::string> topics;
                std::optional<int64_t> since;
                bool has_topics = false;
                for (const auto& [k, v] : msg.members()) {
                    if (k == "op" && v.is_string()) {
                        op = v.text();
                    } else if (k == "account_id" && v.is_string()) {
                        account = v.text();
                    } else if (k == "topics" && v.is_array()) {
                        has_topics = true;
                        for (const auto& t : v.items()) {
                            if (!t.is_string() || !all_topics().count(t.text()))
                                bad = "topics";
                            else
                                topics.insert(t.text());
                        }
                    } else if (k == "since_seq" && v.is_number()) {
                        int64_t n = 0;
                        auto r =
                            std::from_chars(v.text().data(), v.text().data() + v.text().size(), n);
                        if (r.ec != std::errc() || r.ptr != v.text().data() + v.text().size() ||
                            n < 0)
                            bad = "since_seq";
                        else
                            since = n;
                    } else {
                        bad = k;
                    }
                }
                if (op == "ping" && bad.empty()) {
                    c->enqueue("{\"type\":\"pong\"}", options_.queue_limit);
                    continue;
                }
                if ((op != "subscribe" && op != "unsubscribe") || !bad.empty() || account.empty() ||
                    (has_topics && topics.empty())) {
                    c->enqueue(error_message("INVALID_PARAMETER",
                                             bad.empty() ? "expected op subscribe, unsubscribe or "
                                                           "ping with an account_id"
                                                         : "invalid field '" + bad + "'"),
                               options_.queue_limit);
                    continue;
                }
                if (!has_topics) topics = all_topics();
                {
                    std::lock_guard lock(mu_);
                    tasks_.push_back(
                        Task{op == "subscribe" ? Task::Kind::Subscribe : Task::Kind::Unsubscribe, c,
                             account, std::move(topics), since});
                }
                cv_.notify_all();
            }
        } catch (const http::WebSocketRefused& e) {
            spdlog::info("event=stream_client_refused request_id={} close_code={} reason=\"{}\"",
                         c->request_id, e.code(), e.what());
            c->close(e.code(), e.what());
        } catch (const std::exception& e) {
            spdlog::debug("event=stream_client_receive_failed request_id={} error=\"{}\"",
                          c->request_id, e.what());
            c->close(1011, "");
        }
        c->reader_done.store(true);
        {
            std::lock_guard lock(mu_);
            tasks_.push_back(Task{Task::Kind::Gone, c, "", {}, std::nullopt});
        }
        cv_.notify_all();
    });
    bool registered = false;
    {
        std::lock_guard lock(mu_);
        if (!stopping_) {
            clients_.push_back(c);
            registered = true;
            if (options_.on_clients) options_.on_clients(clients_.size());
        }
    }
    starting.unlock();
    if (!registered) {
        // stop() came meanwhile and did not see this client: it ends here, as stop() ends those.
        c->close(1001, "going away");
        c->writer.join();
        c->ws->abort();
        c->reader.join();
        return;
    }
    spdlog::info("event=stream_client_connected request_id={}", c->request_id);
}

void StreamHub::subscribe(const std::shared_ptr<Client>& c, const std::string& account,
                          std::set<std::string> topics, std::optional<int64_t> since_seq) {
    if (!c->scope.allows(account) || !account_exists_(account)) {
        c->enqueue(error_message("NOT_FOUND", "account '" + account + "' not found"),
                   options_.queue_limit);
        return;
    }
    AccountEventPage bounds;
    try {
        bounds = log_.read(account, since_seq.value_or(0), 0);
    } catch (const std::exception& e) {
        spdlog::warn("event=stream_subscribe_failed account_id={} error=\"{}\"", account, e.what());
        c->enqueue(error_message("STORAGE_UNAVAILABLE", "the event log cannot be read now"),
                   options_.queue_limit);
        return;
    }
    int64_t from = bounds.last_seq;
    if (since_seq) {
        const int64_t since = *since_seq;
        const Cursor cursor = judge_cursor(bounds, since);
        if (cursor == Cursor::NeverGiven) {
            c->enqueue(error_message("INVALID_PARAMETER",
                                     "since_seq " + std::to_string(since) +
                                         " is after the account's newest entry (" +
                                         std::to_string(bounds.last_seq) +
                                         "): a seq of another store, or from before a restore; "
                                         "re-read the state over REST and subscribe with "
                                         "since_seq at most last_seq",
                                     std::nullopt, bounds.last_seq),
                       options_.queue_limit);
            return;
        }
        if (cursor == Cursor::Pruned) {
            c->enqueue(error_message("RESUME_TOO_OLD",
                                     "entries after since_seq are no longer kept; re-read the "
                                     "state over REST",
                                     bounds.oldest_seq),
                       options_.queue_limit);
            return;
        }
        from = since;
    }
    Client::Sub& sub = c->subs[account];
    sub.topics = std::move(topics);
    sub.delivered = from;
    sub.live = from >= bounds.last_seq;
    std::string msg;
    json::Writer w(&msg);
    w.begin_object().field("type", "subscribed").field("account_id", account).key("topics");
    w.begin_array();
    for (const auto& t : sub.topics) w.string(t);
    w.end_array().field_int("last_seq", bounds.last_seq).end_object();
    c->enqueue(std::move(msg), options_.queue_limit);
    catch_up(account);
}

// Sends every subscription of `account` the entries after what it has: stored ones first (one
// page at a time), until storage has nothing newer. The only place entries are sent from.
void StreamHub::catch_up(const std::string& account) {
    std::vector<std::shared_ptr<Client>> subscribers;
    {
        std::lock_guard lock(mu_);
        for (const auto& c : clients_)
            if (!c->gone && c->subs.count(account)) subscribers.push_back(c);
    }
    const size_t high_water = std::max<size_t>(1, options_.queue_limit / 2);
    for (;;) {
        // A gap-fill waits while its client's queue is half full (the writer wakes the hub once
        // it drained): a client catching up is never closed for the size of the gap.
        subscribers.erase(std::remove_if(subscribers.begin(), subscribers.end(),
                                         [&](const std::shared_ptr<Client>& c) {
                                             if (c->subs[account].live || c->queued() < high_water)
                                                 return false;
                                             c->paused.store(true);
                                             // The writer may have drained the queue between the
                                             // count and the flag, missing the flag: then this
                                             // pass goes on rather than wait for a wake-up that
                                             // never comes.
                                             return !(c->queued() <= options_.queue_limit / 4 &&
                                                      c->paused.exchange(false));
                                         }),
                          subscribers.end());
        if (subscribers.empty()) return;
        int64_t from = INT64_MAX;
        for (const auto& c : subscribers) from = std::min(from, c->subs[account].delivered);
        AccountEventPage page;
        try {
            page = log_.read(account, from, options_.page);
        } catch (const std::exception& e) {
            // Left dirty: the next notice (or the periodic pass) tries again.
            spdlog::warn("event=stream_read_failed account_id={} error=\"{}\"", account, e.what());
            std::lock_guard lock(mu_);
            dirty_.insert(account);
            return;
        }
        // A gap-fill paced on this page takes nothing more from it: its writer drains the queue
        // concurrently, and a later entry taken once the queue is lower would skip the ones the
        // pacing left for the next pass.
        std::vector<bool> paced(subscribers.size(), false);
        for (const AccountEvent& e : page.items) {
            std::shared_ptr<const std::string> msg;
            for (size_t i = 0; i < subscribers.size(); ++i) {
                const auto& c = subscribers[i];
                Client::Sub& sub = c->subs[account];
                if (paced[i] || sub.delivered >= e.seq) continue;
                if (!sub.live && c->queued() >= high_water) {
                    paced[i] = true;  // the next pass goes on from sub.delivered
                    continue;
                }
                sub.delivered = e.seq;
                if (!sub.topics.count(e.topic)) continue;
                if (!msg) msg = std::make_shared<const std::string>(event_message(e));
                c->enqueue(msg, options_.queue_limit);
            }
        }
        if (page.items.size() < options_.page) {
            // Everything stored was read: a subscription that got all of it is live now (and one
            // left with nothing to read, its entries pruned meanwhile, too).
            for (const auto& c : subscribers) {
                Client::Sub& sub = c->subs[account];
                if (sub.delivered >= page.last_seq || page.items.empty()) sub.live = true;
            }
            bool behind = false;
            for (const auto& c : subscribers) behind = behind || !c->subs[account].live;
            if (!behind) return;
            // Someone paused mid-page: the next pass (after its writer drains) continues.
            continue;
        }
    }
}

void StreamHub::dispatch_loop() {
    auto last_sweep = std::chrono::steady_clock::now();
    for (;;) {
        std::deque<Task> tasks;
        std::set<std::string> dirty;
        bool all = false;
        {
            std::unique_lock lock(mu_);
            // A periodic pass over every subscribed account backs the notices up (a lost notice
            // costs at most this delay, never an entry).
            cv_.wait_for(lock, std::chrono::seconds(1), [this] {
                return stopping_ || !tasks_.empty() || !dirty_.empty() || all_dirty_;
            });
            if (stopping_) return;
            tasks.swap(tasks_);
            dirty.swap(dirty_);
            all = all_dirty_;
            all_dirty_ = false;
            if (std::chrono::steady_clock::now() - last_sweep > std::chrono::seconds(5)) {
                all = true;
                last_sweep = std::chrono::steady_clock::now();
            }
        }
        for (Task& t : tasks) {
            switch (t.kind) {
                case Task::Kind::Subscribe:
                    if (!t.client->gone)
                        subscribe(t.client, t.account, std::move(t.topics), t.since_seq);
                    break;
                case Task::Kind::Unsubscribe: {
                    auto it = t.client->subs.find(t.account);
                    if (it != t.client->subs.end()) {
                        for (const auto& topic : t.topics) it->second.topics.erase(topic);
                        if (it->second.topics.empty()) t.client->subs.erase(it);
                    }
                    std::string msg;
                    json::Writer w(&msg);
                    w.begin_object().field("type", "unsubscribed").field("account_id", t.account);
                    w.end_object();
                    t.client->enqueue(std::move(msg), options_.queue_limit);
                    break;
                }
                case Task::Kind::Gone: {
                    t.client->gone = true;
                    t.client->subs.clear();
                    t.client->close(1000, "");
                    // The reader is gone: a writer blocked on a client that stopped reading is
                    // cut off rather than waited for.
                    if (!t.client->writer_done.load()) {
                        std::unique_lock lock(t.client->mu);
                        t.client->cv.wait_for(lock, std::chrono::milliseconds(200),
                                              [&] { return t.client->writer_done.load(); });
                    }
                    if (!t.client->writer_done.load()) t.client->ws->abort();
                    if (t.client->writer.joinable()) t.client->writer.join();
                    if (t.client->reader.joinable()) t.client->reader.join();
                    std::lock_guard lock(mu_);
                    clients_.erase(std::remove(clients_.begin(), clients_.end(), t.client),
                                   clients_.end());
                    if (options_.on_clients) options_.on_clients(clients_.size());
                    spdlog::info("event=stream_client_disconnected request_id={}",
                                 t.client->request_id);
                    break;
                }
            }
        }
        if (all) {
            std::lock_guard lock(mu_);
            for (const auto& c : clients_)
                for (const auto& [account, sub] : c->subs) dirty.insert(account);
        }
        for (const auto& account : dirty) catch_up(account);
    }
}

void StreamHub::notice_loop() {
    for (;;) {
        {
            std::lock_guard lock(mu_);
            if (stopping_) return;
        }
        try {
            std::vector<AccountEvent> notices =
                storage_.wait_account_events(std::chrono::milliseconds(500));
            std::vector<std::string> accounts;
            for (const auto& n : notices) accounts.push_back(n.account_id);
            if (!accounts.empty()) notify(accounts, true);
        } catch (const sdk::Error& e) {
            if (e.status() == Status::Unsupported) {
                spdlog::info(
                    "event=stream_notices status=off detail=\"the store has one writer "
                    "host; this host's commits are all there is\"");
                return;
            }
            spdlog::warn("event=stream_notices_failed error=\"{}\"", e.what());
            std::unique_lock lock(mu_);
            cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
        }
    }
}

}  // namespace ordergate::stream
