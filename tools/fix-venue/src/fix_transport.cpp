// The QuickFIX side of the venue (compiled as gnu++14, see fix_transport.hpp).
#include "fix_transport.hpp"

#include <quickfix/Application.h>
#include <quickfix/FileLog.h>
#include <quickfix/FileStore.h>
#include <quickfix/Log.h>
#include <quickfix/Message.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/ThreadedSocketAcceptor.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace ordergate {
namespace fixvenue {

std::string InMessage::get(int tag, bool* found) const {
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

using Clock = std::chrono::steady_clock;

// Per-session switches of the sender. Counters apply to the next N application messages.
struct Faults {
    int delay_ms = 0;
    int drop = 0;
    int duplicate = 0;
    int lose = 0;
    int gap = 0;                   // seqnums to skip before the next outgoing message
    int cut = 0;                   // connections to drop before the next application messages
    std::vector<OutMessage> lost;  // held back, written to the store before the next one
    Clock::time_point last_due{};  // keeps each session's messages in order under delays
    int sent = 0;
};

// Set by the sender thread around its own sendToTarget() so that toApp() (which QuickFIX calls
// on the same thread, under the session's lock) marks a duplicate. Resends that QuickFIX makes
// on a ResendRequest run on the session's thread and never see it.
struct SendContext {
    bool poss_dup = false;
    std::string orig_sending_time;
};
thread_local SendContext* t_send_context = nullptr;

// --no-message-log: QuickFIX has no null log of its own. QuickFIX's LogFactory contract hands
// out raw pointers and gives them back to destroy(), hence new/delete here.
class NullLog : public FIX::Log {
  public:
    void clear() override {}
    void backup() override {}
    void onIncoming(const std::string&) override {}
    void onOutgoing(const std::string&) override {}
    void onEvent(const std::string&) override {}
};
class NullLogFactory : public FIX::LogFactory {
  public:
    FIX::Log* create() override { return new NullLog(); }
    FIX::Log* create(const FIX::SessionID&) override { return new NullLog(); }
    void destroy(FIX::Log* log) override { delete log; }
};

FIX::Message build(const OutMessage& out) {
    FIX::Message m;
    m.getHeader().setField(FIX::MsgType(out.msg_type));
    for (const auto& f : out.fields) m.setField(f.first, f.second);
    return m;
}

}  // namespace

struct FixTransport::Impl : public FIX::Application {
    TransportConfig config;
    MessageHandler& handler;
    std::unique_ptr<FIX::SessionSettings> settings;
    std::unique_ptr<FIX::FileStoreFactory> store_factory;
    std::unique_ptr<FIX::LogFactory> log_factory;
    std::unique_ptr<FIX::ThreadedSocketAcceptor> acceptor;
    std::map<std::string, FIX::SessionID> ids;

    mutable std::mutex mu;  // never held while calling into QuickFIX's send path
    std::condition_variable cv;
    std::map<std::pair<Clock::time_point, uint64_t>, OutMessage> queue;
    uint64_t queue_counter = 0;
    std::map<std::string, Faults> faults;
    std::map<std::string, bool> logged_on;
    bool stopping = false;
    std::atomic<bool> closing{false};  // stop() began: logged-out sessions stay disabled
    std::thread sender;

    Impl(const TransportConfig& c, MessageHandler& h) : config(c), handler(h) {}

    // ---- FIX::Application -------------------------------------------------------------------
    void onCreate(const FIX::SessionID&) override {}
    void onLogon(const FIX::SessionID& id) override {
        {
            std::lock_guard<std::mutex> l(mu);
            logged_on[id.toString()] = true;
        }
        handler.on_logon(id.toString());
    }
    void onLogout(const FIX::SessionID& id) override {
        {
            std::lock_guard<std::mutex> l(mu);
            logged_on[id.toString()] = false;
        }
        // A session logged out by the control interface is disabled by QuickFIX; enable it
        // again so the client can log back on. Not while the venue stops: the acceptor waits
        // (up to 10 s) for every session to be logged out, and a client logging on again at
        // once would keep it waiting.
        if (!closing.load()) {
            if (FIX::Session* s = FIX::Session::lookupSession(id)) s->logon();
        }
        handler.on_logout(id.toString());
    }
    void toAdmin(FIX::Message& m, const FIX::SessionID& id) override {
        FIX::MsgType type;
        m.getHeader().getFieldIfSet(type);
        // A heartbeat also reveals a pending gap, so held-back messages never wait for an
        // application message that may not come.
        if (type.getValue() == "0") inject_pending(m, id);
    }
    void toApp(FIX::Message& m, const FIX::SessionID& id) throw(FIX::DoNotSend) override {
        FIX::PossDupFlag resent(false);
        m.getHeader().getFieldIfSet(resent);
        if (resent.getValue()) return;  // QuickFIX's own resend: leave it alone
        inject_pending(m, id);
        if (t_send_context && t_send_context->poss_dup) {
            // Session::send() strips PossDupFlag/OrigSendingTime before this point, which is
            // why the duplicate is marked here and not when it is built.
            m.getHeader().setField(FIX::PossDupFlag(true));
            m.getHeader().setField(FIX::FIELD::OrigSendingTime, t_send_context->orig_sending_time);
        }
    }
    void fromAdmin(const FIX::Message&,
                   const FIX::SessionID&) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                                FIX::IncorrectTagValue, FIX::RejectLogon) override {
    }
    void fromApp(const FIX::Message& m,
                 const FIX::SessionID& id) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                                 FIX::IncorrectTagValue,
                                                 FIX::UnsupportedMessageType) override {
        // Anything escaping fromApp would terminate the process: catch all of it.
        try {
            InMessage in;
            in.session = id.toString();
            in.begin_string = id.getBeginString().getValue();
            FIX::MsgType type;
            m.getHeader().getFieldIfSet(type);
            in.msg_type = type.getValue();
            FIX::MsgSeqNum seq;
            if (m.getHeader().getFieldIfSet(seq)) in.seq_num = seq.getValue();
            FIX::PossDupFlag pd(false);
            m.getHeader().getFieldIfSet(pd);
            in.poss_dup = pd.getValue();
            FIX::PossResend pr(false);
            m.getHeader().getFieldIfSet(pr);
            in.poss_resend = pr.getValue();
            for (FIX::FieldMap::const_iterator it = m.begin(); it != m.end(); ++it)
                in.fields.emplace_back(it->getTag(), it->getString());
            std::vector<OutMessage> out = handler.on_message(in);
            send(std::move(out));
        } catch (const std::exception& e) {
            std::cerr << "fix-venue: event=message_failed session=" << id.toString() << " error=\""
                      << e.what() << "\"" << std::endl;
        }
    }

    // Runs under the session's lock (inside sendRaw): writes the held-back messages into the
    // store at the next seqnums, skips `gap` more, and renumbers `m` after them. The client sees
    // a gap, sends a ResendRequest, and QuickFIX resends the stored ones with PossDupFlag=Y and
    // gap-fills the skipped numbers.
    void inject_pending(FIX::Message& m, const FIX::SessionID& id) {
        std::vector<OutMessage> lost;
        int gap = 0;
        {
            std::lock_guard<std::mutex> l(mu);
            auto it = faults.find(id.toString());
            if (it == faults.end() || (it->second.lost.empty() && it->second.gap == 0)) return;
            lost.swap(it->second.lost);
            gap = it->second.gap;
            it->second.gap = 0;
        }
        FIX::Session* session = FIX::Session::lookupSession(id);
        if (!session) return;
        FIX::MsgSeqNum seq;
        m.getHeader().getField(seq);
        int next = seq.getValue();
        // getStore() is const only to discourage casual use: the object is the session's own
        // mutable state, and this runs under the session's lock like QuickFIX's own writes.
        FIX::MessageStore* store = const_cast<FIX::MessageStore*>(session->getStore());
        for (const auto& out : lost) {
            FIX::Message held = build(out);
            FIX::Header& h = held.getHeader();
            h.setField(id.getBeginString());
            h.setField(FIX::SenderCompID(id.getSenderCompID()));
            h.setField(FIX::TargetCompID(id.getTargetCompID()));
            h.setField(FIX::MsgSeqNum(next));
            h.setField(FIX::SendingTime(FIX::UtcTimeStamp(), 3));
            std::string text;
            held.toString(text);
            store->set(next, text);
            ++next;
        }
        next += gap;
        session->setNextSenderMsgSeqNum(next);
        m.getHeader().setField(FIX::MsgSeqNum(next));
    }

    // ---- sending ----------------------------------------------------------------------------
    void send(std::vector<OutMessage> msgs) {
        if (msgs.empty()) return;
        std::lock_guard<std::mutex> l(mu);
        const Clock::time_point now = Clock::now();
        for (auto& m : msgs) {
            Faults& f = faults[m.session];
            Clock::time_point due = now + std::chrono::milliseconds(f.delay_ms);
            if (due < f.last_due) due = f.last_due;
            f.last_due = due;
            queue.emplace(std::make_pair(due, queue_counter++), std::move(m));
        }
        cv.notify_all();
    }

    void run_sender() {
        std::unique_lock<std::mutex> l(mu);
        while (!stopping) {
            if (queue.empty()) {
                cv.wait(l);
                continue;
            }
            auto first = queue.begin();
            if (first->first.first > Clock::now()) {
                cv.wait_until(l, first->first.first);
                continue;
            }
            OutMessage out = std::move(first->second);
            queue.erase(first);
            Faults& f = faults[out.session];
            if (f.drop > 0) {
                --f.drop;
                continue;
            }
            if (f.lose > 0) {
                --f.lose;
                f.lost.push_back(out);
                continue;
            }
            bool dup = false;
            if (f.duplicate > 0) {
                --f.duplicate;
                dup = true;
            }
            bool cut = false;
            if (f.cut > 0) {
                --f.cut;
                cut = true;
            }
            ++f.sent;
            l.unlock();
            if (cut) cut_connection(out.session);
            send_now(out, dup);
            l.lock();
        }
    }

    // The connection drops just before the message is sent: QuickFIX stores it (the session
    // is no longer logged on) and resends it when the client logs on again.
    void cut_connection(const std::string& session) {
        auto id = ids.find(session);
        if (id == ids.end()) return;
        if (FIX::Session* s = FIX::Session::lookupSession(id->second)) s->disconnect();
    }

    void send_now(const OutMessage& out, bool duplicate) {
        auto id = ids.find(out.session);
        if (id == ids.end()) {
            std::cerr << "fix-venue: event=send_failed session=" << out.session
                      << " error=\"no such session\"" << std::endl;
            return;
        }
        try {
            FIX::Message m = build(out);
            FIX::Session::sendToTarget(m, id->second);
            if (!duplicate) return;
            FIX::SendingTime first_time;
            m.getHeader().getFieldIfSet(first_time);
            SendContext ctx;
            ctx.poss_dup = true;
            ctx.orig_sending_time = first_time.getString();
            FIX::Message again = build(out);
            t_send_context = &ctx;
            FIX::Session::sendToTarget(again, id->second);
            t_send_context = nullptr;
        } catch (const std::exception& e) {
            t_send_context = nullptr;
            std::cerr << "fix-venue: event=send_failed session=" << out.session << " error=\""
                      << e.what() << "\"" << std::endl;
        }
    }
};

FixTransport::FixTransport(const TransportConfig& config, MessageHandler& handler)
    : impl_(std::make_unique<Impl>(config, handler)) {
    // Known before start() so that profiles and switches can name sessions up front.
    for (const auto& s : config.sessions) {
        FIX::SessionID id(s.begin_string, s.venue_comp_id, s.client_comp_id);
        impl_->ids[id.toString()] = id;
        impl_->faults[id.toString()];
        impl_->logged_on[id.toString()] = false;
    }
}

FixTransport::~FixTransport() { stop(); }

void FixTransport::start() {
    Impl& im = *impl_;
    if (im.config.sessions.empty()) throw std::runtime_error("no FIX session configured");
    std::ostringstream cfg;
    cfg << "[DEFAULT]\n"
        << "ConnectionType=acceptor\n"
        << "SocketAcceptPort=" << im.config.port
        << "\n"
        // Loopback only: the simulator is a test venue and never listens on other interfaces.
        << "SocketAcceptHost=127.0.0.1\n"
        << "SocketReuseAddress=Y\n"
        // A New ack and its fill go out back to back: without TCP_NODELAY the second waits for
        // the client's delayed ACK (about 40 ms per order on Linux).
        << "SocketNodelay=Y\n"
        << "FileStorePath=" << im.config.data_dir << "/store\n"
        << "FileLogPath=" << im.config.data_dir << "/log\n"
        << "StartTime=" << im.config.session_start << "\nEndTime=" << im.config.session_start
        << "\n"
        // Validation is the application's (explicit business rejects the client can see):
        // a dictionary failure would consume the client's seqnum with only a session Reject.
        << "UseDataDictionary=N\n"
        << "ResetOnLogon=" << (im.config.reset_on_logon ? "Y" : "N") << "\n"
        << "ResetOnLogout=N\nResetOnDisconnect=N\n"
        << "PersistMessages=Y\n";
    for (const auto& s : im.config.sessions) {
        cfg << "[SESSION]\n"
            << "BeginString=" << s.begin_string << "\n"
            << "SenderCompID=" << s.venue_comp_id << "\n"
            << "TargetCompID=" << s.client_comp_id << "\n";
    }
    std::istringstream in(cfg.str());
    try {
        im.settings = std::make_unique<FIX::SessionSettings>(in);
        im.store_factory = std::make_unique<FIX::FileStoreFactory>(*im.settings);
        if (im.config.message_log)
            im.log_factory = std::make_unique<FIX::FileLogFactory>(*im.settings);
        else
            im.log_factory = std::make_unique<NullLogFactory>();
        im.acceptor = std::make_unique<FIX::ThreadedSocketAcceptor>(im, *im.store_factory,
                                                                    *im.settings, *im.log_factory);
        im.sender = std::thread([&im] { im.run_sender(); });
        im.acceptor->start();
    } catch (const FIX::ConfigError& e) {
        throw std::runtime_error(std::string("FIX configuration: ") + e.what());
    } catch (const FIX::RuntimeError& e) {
        throw std::runtime_error(std::string("cannot listen on 127.0.0.1:") +
                                 std::to_string(im.config.port) + ": " + e.what());
    }
}

void FixTransport::stop() {
    Impl& im = *impl_;
    if (im.acceptor) {
        im.closing = true;
        im.acceptor->stop();  // logs every session out
        im.acceptor.reset();
    }
    {
        std::lock_guard<std::mutex> l(im.mu);
        im.stopping = true;
        im.cv.notify_all();
    }
    if (im.sender.joinable()) im.sender.join();
}

void FixTransport::send(std::vector<OutMessage> msgs) { impl_->send(std::move(msgs)); }

std::string FixTransport::resolve(const std::string& name) const {
    std::string found;
    for (const auto& kv : impl_->ids) {
        const FIX::SessionID& id = kv.second;
        const std::string client = id.getTargetCompID().getValue();
        const std::string begin = id.getBeginString().getValue();
        if (name == kv.first) return kv.first;
        if (name == begin + ":" + client || name == client) {
            if (!found.empty()) return "";  // ambiguous
            found = kv.first;
        }
    }
    return found;
}

std::vector<SessionState> FixTransport::sessions() const {
    std::vector<SessionState> out;
    for (const auto& kv : impl_->ids) {
        SessionState s;
        s.id = kv.first;
        if (FIX::Session* session = FIX::Session::lookupSession(kv.second)) {
            s.next_sender_seq = session->getExpectedSenderNum();
            s.next_target_seq = session->getExpectedTargetNum();
        }
        std::lock_guard<std::mutex> l(impl_->mu);
        auto lo = impl_->logged_on.find(kv.first);
        s.logged_on = lo != impl_->logged_on.end() && lo->second;
        s.sent_app_messages = impl_->faults[kv.first].sent;
        out.push_back(s);
    }
    return out;
}

void FixTransport::set_delay_ms(const std::string& session, int ms) {
    std::lock_guard<std::mutex> l(impl_->mu);
    for (auto& kv : impl_->faults)
        if (session.empty() || kv.first == session) kv.second.delay_ms = ms;
}
void FixTransport::drop_next(const std::string& session, int count) {
    std::lock_guard<std::mutex> l(impl_->mu);
    impl_->faults[session].drop += count;
}
void FixTransport::duplicate_next(const std::string& session, int count) {
    std::lock_guard<std::mutex> l(impl_->mu);
    impl_->faults[session].duplicate += count;
}
void FixTransport::gap_next(const std::string& session, int count) {
    std::lock_guard<std::mutex> l(impl_->mu);
    impl_->faults[session].gap += count;
}
void FixTransport::cut_before_next(const std::string& session, int count) {
    std::lock_guard<std::mutex> l(impl_->mu);
    impl_->faults[session].cut += count;
}
void FixTransport::lose_next(const std::string& session, int count) {
    std::lock_guard<std::mutex> l(impl_->mu);
    impl_->faults[session].lose += count;
}
bool FixTransport::disconnect(const std::string& session) {
    auto id = impl_->ids.find(session);
    if (id == impl_->ids.end()) return false;
    FIX::Session* s = FIX::Session::lookupSession(id->second);
    if (!s) return false;
    s->disconnect();
    return true;
}
bool FixTransport::logout(const std::string& session, const std::string& text) {
    auto id = impl_->ids.find(session);
    if (id == impl_->ids.end()) return false;
    FIX::Session* s = FIX::Session::lookupSession(id->second);
    // Only a logged-on session: logout() disables the session, and only the logout that
    // follows enables it again (onLogout), so a session that is not logged on would stay shut.
    if (!s || !s->isLoggedOn()) return false;
    s->logout(text);
    return true;
}

}  // namespace fixvenue
}  // namespace ordergate
