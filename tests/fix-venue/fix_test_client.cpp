#include "fix_test_client.hpp"

#include <quickfix/Application.h>
#include <quickfix/FileLog.h>
#include <quickfix/FileStore.h>
#include <quickfix/Message.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/ThreadedSocketInitiator.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <sstream>

namespace ordergate {
namespace fixtest {

std::string Received::get(int tag) const {
    for (const auto& f : fields)
        if (f.first == tag) return f.second;
    return "";
}
bool Received::has(int tag) const {
    for (const auto& f : fields)
        if (f.first == tag) return true;
    return false;
}

struct FixTestClient::Impl : public FIX::Application {
    ClientConfig config;
    FIX::SessionID id;
    std::unique_ptr<FIX::SessionSettings> settings;
    std::unique_ptr<FIX::FileStoreFactory> store;
    std::unique_ptr<FIX::FileLogFactory> log;
    std::unique_ptr<FIX::ThreadedSocketInitiator> initiator;
    // Recursive: wait_for()'s predicate may call the accessors below, which lock it too.
    mutable std::recursive_mutex mu;
    std::condition_variable_any cv;
    std::vector<Received> messages;
    bool on = false;
    int resend_requests = 0, sequence_resets = 0, logon_count = 0;

    void onCreate(const FIX::SessionID&) override {}
    void onLogon(const FIX::SessionID&) override {
        std::lock_guard<std::recursive_mutex> l(mu);
        on = true;
        ++logon_count;
        cv.notify_all();
    }
    void onLogout(const FIX::SessionID&) override {
        std::lock_guard<std::recursive_mutex> l(mu);
        on = false;
        cv.notify_all();
    }
    void toAdmin(FIX::Message& m, const FIX::SessionID&) override {
        FIX::MsgType t;
        m.getHeader().getFieldIfSet(t);
        if (t.getValue() == "2") {
            std::lock_guard<std::recursive_mutex> l(mu);
            ++resend_requests;
        }
    }
    void toApp(FIX::Message&, const FIX::SessionID&) throw(FIX::DoNotSend) override {}
    void fromAdmin(const FIX::Message& m,
                   const FIX::SessionID&) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                                FIX::IncorrectTagValue, FIX::RejectLogon) override {
        FIX::MsgType t;
        m.getHeader().getFieldIfSet(t);
        if (t.getValue() == "4") {
            std::lock_guard<std::recursive_mutex> l(mu);
            ++sequence_resets;
            cv.notify_all();
        }
    }
    void fromApp(const FIX::Message& m,
                 const FIX::SessionID&) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                              FIX::IncorrectTagValue,
                                              FIX::UnsupportedMessageType) override {
        Received r;
        FIX::MsgType t;
        m.getHeader().getFieldIfSet(t);
        r.msg_type = t.getValue();
        FIX::MsgSeqNum s;
        if (m.getHeader().getFieldIfSet(s)) r.seq_num = s.getValue();
        FIX::PossDupFlag pd(false);
        m.getHeader().getFieldIfSet(pd);
        r.poss_dup = pd.getValue();
        if (m.getHeader().isSetField(FIX::FIELD::OrigSendingTime))
            r.orig_sending_time = m.getHeader().getField(FIX::FIELD::OrigSendingTime);
        for (FIX::FieldMap::const_iterator it = m.begin(); it != m.end(); ++it)
            r.fields.emplace_back(it->getTag(), it->getString());
        std::lock_guard<std::recursive_mutex> l(mu);
        messages.push_back(r);
        cv.notify_all();
    }
};

FixTestClient::FixTestClient(const ClientConfig& config) : impl_(std::make_unique<Impl>()) {
    impl_->config = config;
    impl_->id = FIX::SessionID(config.begin_string, config.comp_id, config.venue_comp_id);
}

FixTestClient::~FixTestClient() { stop(); }

void FixTestClient::start() {
    const ClientConfig& c = impl_->config;
    std::ostringstream cfg;
    cfg << "[DEFAULT]\nConnectionType=initiator\nSocketConnectHost=127.0.0.1\n"
        << "SocketConnectPort=" << c.port << "\nReconnectInterval=1\nSocketNodelay=Y\n"
        << "HeartBtInt=" << c.heartbeat_s << "\n"
        << "FileStorePath=" << c.data_dir << "/store\nFileLogPath=" << c.data_dir << "/log\n"
        << "StartTime=00:00:00\nEndTime=00:00:00\nUseDataDictionary=N\n"
        << "ResetOnLogon=N\nResetOnLogout=N\nResetOnDisconnect=N\n"
        << "[SESSION]\nBeginString=" << c.begin_string << "\nSenderCompID=" << c.comp_id
        << "\nTargetCompID=" << c.venue_comp_id << "\n";
    std::istringstream in(cfg.str());
    impl_->settings = std::make_unique<FIX::SessionSettings>(in);
    impl_->store = std::make_unique<FIX::FileStoreFactory>(*impl_->settings);
    impl_->log = std::make_unique<FIX::FileLogFactory>(*impl_->settings);
    impl_->initiator = std::make_unique<FIX::ThreadedSocketInitiator>(
        *impl_, *impl_->store, *impl_->settings, *impl_->log);
    impl_->initiator->start();
}

void FixTestClient::stop() {
    if (!impl_->initiator) return;
    impl_->initiator->stop();
    impl_->initiator.reset();
}

bool FixTestClient::wait_logged_on(int timeout_ms) {
    std::unique_lock<std::recursive_mutex> l(impl_->mu);
    return impl_->cv.wait_for(l, std::chrono::milliseconds(timeout_ms),
                              [this] { return impl_->on; });
}

bool FixTestClient::logged_on() const {
    std::lock_guard<std::recursive_mutex> l(impl_->mu);
    return impl_->on;
}

bool FixTestClient::send(const std::string& msg_type, const FieldList& fields) {
    FIX::Message m;
    m.getHeader().setField(FIX::MsgType(msg_type));
    for (const auto& f : fields) {
        // PossResend goes in the header (tests resend an order as a client would).
        if (f.first == FIX::FIELD::PossResend)
            m.getHeader().setField(f.first, f.second);
        else
            m.setField(f.first, f.second);
    }
    return FIX::Session::sendToTarget(m, impl_->id);
}

std::vector<Received> FixTestClient::received() const {
    std::lock_guard<std::recursive_mutex> l(impl_->mu);
    return impl_->messages;
}

bool FixTestClient::wait_for(const std::function<bool(const std::vector<Received>&)>& done,
                             int timeout_ms) {
    std::unique_lock<std::recursive_mutex> l(impl_->mu);
    return impl_->cv.wait_for(l, std::chrono::milliseconds(timeout_ms),
                              [&] { return done(impl_->messages); });
}

int FixTestClient::resend_requests_sent() const {
    std::lock_guard<std::recursive_mutex> l(impl_->mu);
    return impl_->resend_requests;
}
int FixTestClient::sequence_resets_received() const {
    std::lock_guard<std::recursive_mutex> l(impl_->mu);
    return impl_->sequence_resets;
}
int FixTestClient::logons() const {
    std::lock_guard<std::recursive_mutex> l(impl_->mu);
    return impl_->logon_count;
}
int FixTestClient::next_sender_seq() const {
    FIX::Session* s = FIX::Session::lookupSession(impl_->id);
    return s ? s->getExpectedSenderNum() : 0;
}
int FixTestClient::next_target_seq() const {
    FIX::Session* s = FIX::Session::lookupSession(impl_->id);
    return s ? s->getExpectedTargetNum() : 0;
}

}  // namespace fixtest
}  // namespace ordergate
