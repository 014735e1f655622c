#include "fix_session.hpp"

#include <pthread.h>
#include <quickfix/Application.h>
#include <quickfix/FileLog.h>
#include <quickfix/FileStore.h>
#include <quickfix/Log.h>
#include <quickfix/Message.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/SocketInitiator.h>
#include <sys/stat.h>

#include "watermark_store.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace ordergate {
namespace fixplugin {

std::string FixMessage::get(int tag, bool* found) const {
    for (const auto& f : fields) {
        if (f.first == tag) {
            if (found) *found = true;
            return f.second;
        }
    }
    if (found) *found = false;
    return "";
}

namespace {

bool is_order_request(const std::string& t) { return t == "D" || t == "F" || t == "G"; }

// What QuickFIX's FileStore calls a session's files: BEGIN-SENDER-TARGET under the store path.
std::string store_prefix(const SessionConfig& c) {
    return c.data_dir + "/store/" + c.begin_string + "-" + c.sender_comp_id + "-" +
           c.target_comp_id;
}

}  // namespace

// QuickFIX restarts at 1/1, silently, from a sequence number file it cannot read; the venue then
// logs the session out ("MsgSeqNum too low"). A file that is there but unreadable, or a store
// whose messages are there without it, is refused.
void FixSession::check_store(const SessionConfig& c) {
    const std::string path = store_prefix(c) + ".seqnums";
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
        for (const char* other : {".body", ".header", ".session"})
            if (::stat((store_prefix(c) + other).c_str(), &st) == 0)
                throw std::runtime_error("broker-fix: the FIX store " + store_prefix(c) +
                                         " has messages but no sequence numbers (" + path +
                                         "); refusing to start a session at 1");
        return;  // no store yet: the session's first start
    }
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    int sender = 0, target = 0;
    if (text.empty() || std::sscanf(text.c_str(), "%d : %d", &sender, &target) != 2 || sender < 1 ||
        target < 1)
        throw std::runtime_error("broker-fix: the FIX store's sequence numbers (" + path +
                                 ") are empty or damaged; refusing to start a session at 1 "
                                 "(restore the store, or remove it when the venue resets too)");
}

struct FixSession::Impl : public FIX::Application {
    SessionConfig config;
    FixListener& listener;
    FIX::SessionID id;
    std::unique_ptr<FIX::SessionSettings> settings;
    std::unique_ptr<FIX::FileStoreFactory> store;
    // Around `store`: holds the persisted incoming sequence number at what the host stored.
    std::unique_ptr<WatermarkStoreFactory> watermark;
    std::unique_ptr<FIX::LogFactory> log;
    std::unique_ptr<FIX::SocketInitiator> initiator;

    // Session changes (logon, logout), handed to the listener by `dispatcher`.
    struct Item {
        enum Kind { Message, Logon, Logout } kind;
        FixMessage msg;
        std::string why;
        size_t caught_up = 0;
        bool confirmed = true;
    };
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Item> queue;
    bool stopping = false;
    std::thread dispatcher;

    // Catching up after a logon (guarded by mu): QuickFIX reports the logon before a gap in the
    // venue's sequence is filled (its ResendRequest goes out with the Logon's answer). The
    // session has caught up once the next sequence number it expects is past the venue's Logon
    // (everything the venue sent before, resent or gap-filled, has been through on_message); it
    // counts as logged on for requests and queries only from there. Checked after each message
    // and by the dispatcher every few ms; a session that never gets there is taken as caught up
    // after `sync_wait` (and says so).
    std::atomic<bool> synced{false};
    bool sync_pending = false;
    int logon_seq = 0;  // MsgSeqNum of the venue's latest Logon
    size_t caught_up = 0;
    std::chrono::steady_clock::time_point sync_deadline;
    std::chrono::milliseconds sync_wait() const {
        return std::chrono::milliseconds(std::max(10000, config.heartbeat_s * 3000));
    }
    // With mu held: ends the catch-up when the session is past the venue's Logon.
    void check_caught_up_locked(bool gave_up) {
        if (!sync_pending) return;
        FIX::Session* s = FIX::Session::lookupSession(id);
        const bool past = s != nullptr && s->getExpectedTargetNum() > logon_seq;
        if (!past && !gave_up) return;
        sync_pending = false;
        synced.store(true);
        queue.push_back(Item{Item::Logon, FixMessage(), "", caught_up, past});
        cv.notify_one();
    }

    Impl(const SessionConfig& c, FixListener& l)
        : config(c), listener(l), id(c.begin_string, c.sender_comp_id, c.target_comp_id) {}

    void push(Item item) {
        {
            std::lock_guard<std::mutex> l(mu);
            queue.push_back(std::move(item));
        }
        cv.notify_one();
    }

    void run() {
        for (;;) {
            Item item{Item::Message, FixMessage(), ""};
            {
                std::unique_lock<std::mutex> l(mu);
                while (!stopping && queue.empty()) {
                    if (sync_pending) {
                        cv.wait_for(l, std::chrono::milliseconds(20));
                        check_caught_up_locked(std::chrono::steady_clock::now() >= sync_deadline);
                    } else {
                        cv.wait(l);
                    }
                }
                if (queue.empty()) return;
                item = std::move(queue.front());
                queue.pop_front();
            }
            try {
                if (item.kind == Item::Message)
                    listener.on_message(item.msg);
                else if (item.kind == Item::Logon)
                    listener.on_logon(item.caught_up, item.confirmed);
                else
                    listener.on_logout(item.why);
            } catch (const std::exception& e) {
                listener.log_error(std::string("event=fix_dispatch_failed error=\"") + e.what() +
                                   "\"");
            } catch (...) {
                listener.log_error("event=fix_dispatch_failed error=unknown");
            }
        }
    }

    // The syncer (hold_target_seqnum): asks the host whether what fromApp pushed is stored and
    // moves the persisted incoming sequence number up to it. One sync covers every message pushed
    // before it, so under load one round trip confirms many reports.
    std::mutex sync_mu;
    std::condition_variable sync_cv;
    bool sync_wake = false;
    bool sync_stopping = false;
    std::thread syncer;
    static constexpr int kSyncIntervalMs = 10;

    void wake_syncer() {
        {
            std::lock_guard<std::mutex> l(sync_mu);
            sync_wake = true;
        }
        sync_cv.notify_one();
    }
    // Waits `ms` unless the syncer is stopped first; false when stopped.
    bool pause_syncer(int ms) {
        std::unique_lock<std::mutex> l(sync_mu);
        return !sync_cv.wait_for(l, std::chrono::milliseconds(ms), [this] { return sync_stopping; });
    }
    // One sync of what is pending: confirmed in the store when the host answers Stored.
    FixListener::SyncAnswer sync_once(WatermarkStore& s, int timeout_ms) {
        const uint64_t point = s.sync_point();
        const FixListener::SyncAnswer a = listener.sync_pushed(timeout_ms);
        if (a == FixListener::SyncAnswer::Stored) s.confirmed(point);
        return a;
    }
    void sync_loop() {
        auto last_warn = std::chrono::steady_clock::now();
        for (;;) {
            {
                std::unique_lock<std::mutex> l(sync_mu);
                sync_cv.wait(l, [this] { return sync_stopping || sync_wake; });
                if (sync_stopping) return;
                sync_wake = false;
            }
            WatermarkStore* s = watermark->store();
            while (s != nullptr && s->has_pending()) {
                if (config.test_sync_delay_ms > 0 && !pause_syncer(config.test_sync_delay_ms))
                    return;
                try {
                    const FixListener::SyncAnswer a = sync_once(*s, 1000);
                    if (a == FixListener::SyncAnswer::Stored) {
                        // Paced: one sync per kSyncInterval at most covers every report pushed
                        // meanwhile; syncing after each of the host's batches costs the
                        // gateway's threads more than the persisted number gains by the lag.
                        if (s->has_pending() && !pause_syncer(kSyncIntervalMs)) return;
                    } else if (a == FixListener::SyncAnswer::Stopping) {
                        // The host is stopping: what is pending stays unpersisted (the venue
                        // resends it after a restart). Ask again later, unhurried.
                        if (!pause_syncer(200)) return;
                    } else if (a == FixListener::SyncAnswer::NotYet) {
                        // Not stored yet (a slow store, or the host still starting, which
                        // answers at once): a short pause, never a spin.
                        const auto now = std::chrono::steady_clock::now();
                        if (now - last_warn > std::chrono::seconds(10)) {
                            last_warn = now;
                            listener.log_error(
                                "event=fix_sync_slow detail=\"the host has not stored the "
                                "reports pushed yet; the persisted incoming sequence number "
                                "waits\"");
                        }
                        if (!pause_syncer(20)) return;
                    }
                } catch (const std::exception& e) {
                    listener.log_error(std::string("event=fix_sync_failed error=\"") + e.what() +
                                       "\"");
                    if (!pause_syncer(200)) return;
                }
            }
        }
    }

    void onCreate(const FIX::SessionID&) override {}
    // On QuickFIX's thread, after the Logon exchange (and after the ResendRequest for a gap, if
    // any, went out): the logon is reported once the session has caught up.
    void onLogon(const FIX::SessionID&) override {
        try {
            std::lock_guard<std::mutex> l(mu);
            synced.store(false);
            caught_up = 0;
            sync_pending = true;
            sync_deadline = std::chrono::steady_clock::now() + sync_wait();
            check_caught_up_locked(false);  // no gap: caught up already
            cv.notify_one();
        } catch (...) {
        }
    }
    void onLogout(const FIX::SessionID&) override {
        try {
            {
                std::lock_guard<std::mutex> l(mu);
                synced.store(false);
                sync_pending = false;
            }
            push(Item{Item::Logout, FixMessage(), "logged out or disconnected"});
        } catch (...) {
        }
    }
    void toAdmin(FIX::Message& m, const FIX::SessionID&) override {
        FIX::MsgType t;
        m.getHeader().getFieldIfSet(t);
        if (t.getValue() == "A") {
            if (!config.username.empty()) m.setField(553, config.username);
            if (!config.password.empty()) m.setField(554, config.password);
        }
    }
    // An order, cancel or replace stored while the line was down must not reach the venue minutes
    // later through its ResendRequest: the host already answered for it. DoNotSend turns the
    // resend into a GapFill.
    void toApp(FIX::Message& m, const FIX::SessionID&) throw(FIX::DoNotSend) override {
        FIX::PossDupFlag pd(false);
        m.getHeader().getFieldIfSet(pd);
        FIX::MsgType t;
        m.getHeader().getFieldIfSet(t);
        if (pd.getValue() && is_order_request(t.getValue())) throw FIX::DoNotSend();
    }
    // The venue's Logon: where the catch-up ends.
    void fromAdmin(const FIX::Message& m,
                   const FIX::SessionID&) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                                FIX::IncorrectTagValue, FIX::RejectLogon) override {
        try {
            FIX::MsgType t;
            m.getHeader().getFieldIfSet(t);
            if (t.getValue() != "A") return;
            FIX::MsgSeqNum seq(0);
            m.getHeader().getFieldIfSet(seq);
            std::lock_guard<std::mutex> l(mu);
            logon_seq = seq.getValue();
        } catch (...) {
        }
    }
    // Handed to the listener on QuickFIX's own thread, which counts the message as received
    // (the next expected sequence number) when this returns. The number persisted in the
    // FileStore must never pass a report the host has not stored: without hold_target_seqnum the
    // host stores what the listener pushes before the push returns; with it, the WatermarkStore
    // persists the number only up to what the syncer's sync confirmed. A process killed before
    // that gets the message again after its next logon (resend); one counted received and
    // persisted before it was stored would be lost with the process. Session changes go
    // through `dispatcher` (a host reacting to a logon may ask the venue and wait for the answer,
    // which arrives on this thread). Never throws (anything else than the declared exceptions
    // escaping here terminates the process).
    void fromApp(const FIX::Message& m,
                 const FIX::SessionID&) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                              FIX::IncorrectTagValue,
                                              FIX::UnsupportedMessageType) override {
        try {
            Item item{Item::Message, FixMessage(), ""};
            FIX::MsgType t;
            m.getHeader().getFieldIfSet(t);
            item.msg.msg_type = t.getValue();
            FIX::PossDupFlag pd(false);
            m.getHeader().getFieldIfSet(pd);
            item.msg.poss_dup = pd.getValue();
            for (FIX::FieldMap::const_iterator it = m.begin(); it != m.end(); ++it)
                item.msg.fields.emplace_back(it->getTag(), it->getString());
            bool pushed = true;  // a failure inside may have pushed part of it
            try {
                pushed = listener.on_message(item.msg);
            } catch (const std::exception& e) {
                listener.log_error(std::string("event=fix_receive_failed error=\"") + e.what() +
                                   "\"");
            } catch (...) {
                listener.log_error("event=fix_receive_failed error=unknown");
            }
            // After the push: a sync started from here on covers it. QuickFIX counts the message
            // received when this returns; the persisted number waits for that sync.
            if (pushed && config.hold_target_seqnum) {
                FIX::MsgSeqNum seq(0);
                m.getHeader().getFieldIfSet(seq);
                if (WatermarkStore* s = watermark->store()) {
                    s->pushed(seq.getValue());
                    wake_syncer();
                }
            }
            if (!synced.load()) {
                std::lock_guard<std::mutex> l(mu);
                if (sync_pending) ++caught_up;
            }
        } catch (const std::exception& e) {
            try {
                listener.log_error(std::string("event=fix_receive_failed error=\"") + e.what() +
                                   "\"");
            } catch (...) {
            }
        } catch (...) {
            try {
                listener.log_error("event=fix_receive_failed error=unknown");
            } catch (...) {
            }
        }
    }
};

FixSession::FixSession(const SessionConfig& config, FixListener& listener)
    : impl_(new Impl(config, listener)) {}

FixSession::~FixSession() { stop(); }

void FixSession::start() {
    const SessionConfig& c = impl_->config;
    check_store(c);
    std::ostringstream cfg;
    cfg << "[DEFAULT]\nConnectionType=initiator\nSocketConnectHost=" << c.host
        << "\nSocketConnectPort=" << c.port << "\nReconnectInterval=" << c.reconnect_s
        << "\nSocketNodelay=Y\nHeartBtInt=" << c.heartbeat_s << "\nFileStorePath=" << c.data_dir
        << "/store\nFileLogPath=" << c.data_dir << "/log\n"
        << "StartTime=00:00:00\nEndTime=00:00:00\nUseDataDictionary=N\n"
        << "ResetOnLogon=" << (c.reset_on_logon ? "Y" : "N")
        << "\nResetOnLogout=N\nResetOnDisconnect=N\nPersistMessages=Y\n"
        << "[SESSION]\nBeginString=" << c.begin_string << "\nSenderCompID=" << c.sender_comp_id
        << "\nTargetCompID=" << c.target_comp_id << "\n";
    std::istringstream in(cfg.str());
    impl_->settings.reset(new FIX::SessionSettings(in));
    impl_->store.reset(new FIX::FileStoreFactory(*impl_->settings));
    impl_->watermark.reset(new WatermarkStoreFactory(*impl_->store, c.hold_target_seqnum));
    if (c.message_log)
        impl_->log.reset(new FIX::FileLogFactory(*impl_->settings));
    else
        impl_->log.reset(new FIX::ScreenLogFactory(false, false, false));
    impl_->stopping = false;
    impl_->dispatcher = std::thread([this] {
        (void)pthread_setname_np(pthread_self(), "fix-dispatch");  // as top -H shows it
        impl_->run();
    });
    if (c.hold_target_seqnum) {
        impl_->sync_stopping = false;
        impl_->syncer = std::thread([this] {
            (void)pthread_setname_np(pthread_self(), "fix-sync");
            impl_->sync_loop();
        });
    }
    try {
        impl_->initiator.reset(
            new FIX::SocketInitiator(*impl_, *impl_->watermark, *impl_->settings, *impl_->log));
        impl_->initiator->start();
    } catch (const std::exception& e) {
        stop();
        throw std::runtime_error(std::string("broker-fix: cannot start the FIX session: ") +
                                 e.what());
    }
}

void FixSession::stop() {
    if (impl_->initiator) impl_->initiator->stop();  // no fromApp from here on
    {
        std::lock_guard<std::mutex> l(impl_->sync_mu);
        impl_->sync_stopping = true;
    }
    impl_->sync_cv.notify_all();
    if (impl_->syncer.joinable()) impl_->syncer.join();
    // What the host stores by now is persisted as received (a clean stop resends nothing); the
    // store closes with the initiator (its sessions are deleted with it).
    if (impl_->initiator && impl_->watermark) {
        if (WatermarkStore* s = impl_->watermark->store()) {
            const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
            try {
                while (s->has_pending() && std::chrono::steady_clock::now() < until)
                    if (impl_->sync_once(*s, 500) == FixListener::SyncAnswer::Stopping) break;
            } catch (const std::exception& e) {
                impl_->listener.log_error(std::string("event=fix_sync_failed error=\"") +
                                          e.what() + "\"");
            }
            if (s->has_pending())
                impl_->listener.log_error(
                    "event=fix_stop_unsynced detail=\"reports pushed to the host are not stored "
                    "yet; the venue resends them after the next logon\"");
        }
    }
    impl_->initiator.reset();
    {
        std::lock_guard<std::mutex> l(impl_->mu);
        impl_->stopping = true;
    }
    impl_->cv.notify_all();
    if (impl_->dispatcher.joinable()) impl_->dispatcher.join();
}

bool FixSession::logged_on() const {
    if (!impl_->synced.load()) return false;
    FIX::Session* s = FIX::Session::lookupSession(impl_->id);
    return s != nullptr && s->isLoggedOn();
}

bool FixSession::send(const std::string& msg_type, const FieldList& fields) {
    if (!logged_on()) return false;
    FIX::Message m;
    m.getHeader().setField(FIX::MsgType(msg_type));
    for (const auto& f : fields) m.setField(f.first, f.second);
    return FIX::Session::sendToTarget(m, impl_->id);
}

}  // namespace fixplugin
}  // namespace ordergate
