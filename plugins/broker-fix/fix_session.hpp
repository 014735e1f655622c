// The FIX plugin's session: one QuickFIX SocketInitiator behind a plain interface.
//
// QuickFIX 1.15.1's headers compile only as C++14 (dynamic exception specifications), so
// fix_session.cpp is the one file of the plugin that includes them (built -std=gnu++14 with
// HAVE_STD_SHARED_PTR) and this header must stay valid C++14: strings, ints and vectors only.
//
// Messages received are copied and queued in QuickFIX's callbacks (which never block: a blocking
// fromApp stops heartbeats) and handed to the listener on the session's own dispatch thread, in
// arrival order.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ordergate {
namespace fixplugin {

using FieldList = std::vector<std::pair<int, std::string>>;

struct FixMessage {
    std::string msg_type;  // tag 35
    bool poss_dup = false;
    FieldList fields;  // body fields in wire order
    // The first value of `tag`, or "" (and *found = false) when absent.
    std::string get(int tag, bool* found = nullptr) const;
};

class FixListener {
  public:
    virtual ~FixListener() {}
    // On QuickFIX's thread, inside fromApp. Returns whether it pushed events to the host.
    // Without SessionConfig::hold_target_seqnum the message counts as received (its sequence
    // number persisted) once this returns, so what it changes must be stored by then. With it, a
    // message that pushed events is persisted as received only once sync_pushed() confirmed them
    // stored. It must not wait for another message of the session (that one arrives on this
    // thread). Exceptions are caught and logged by the session (the message is then taken as
    // having pushed events).
    virtual bool on_message(const FixMessage& msg) = 0;
    enum class SyncAnswer { Stored, NotYet, Stopping };
    // With hold_target_seqnum, on the session's syncer thread (never inside on_message): waits up
    // to `timeout_ms` until everything on_message pushed before the call is stored by the host.
    virtual SyncAnswer sync_pushed(int timeout_ms) {
        (void)timeout_ms;
        return SyncAnswer::Stored;
    }
    // On the dispatch thread; exceptions are caught and logged by the session. A logon is
    // reported once the session has caught up: the venue answered a TestRequest sent right after
    // the Logon, so every message it had for this session before (a resend after a gap, filled
    // through on_message) came first. `caught_up` counts those application messages;
    // `confirmed` is false when the venue never answered and the session gave up waiting.
    virtual void on_logon(size_t caught_up, bool confirmed) = 0;
    virtual void on_logout(const std::string& why) = 0;
    virtual void log_error(const std::string& line) = 0;
};

struct SessionConfig {
    std::string host;
    int port = 0;
    std::string begin_string;  // FIX.4.2 or FIX.4.4
    std::string sender_comp_id;
    std::string target_comp_id;
    int heartbeat_s = 30;
    std::string username;  // Logon 553; never logged
    std::string password;  // Logon 554; never logged
    std::string data_dir;  // FileStore under data_dir/store
    bool reset_on_logon = false;
    int reconnect_s = 5;
    bool message_log = false;  // QuickFIX FileLog under data_dir/log (off: it would hold secrets)
    // The host applies pushed events after the sink call returned (OG_CAP_BATCHED_EVENTS): the
    // incoming sequence number is persisted only up to what sync_pushed confirmed (see
    // watermark_store.hpp).
    bool hold_target_seqnum = false;
    // Tests only: the syncer waits this long before each sync_pushed (a window in which reports
    // are pushed and their sequence numbers not persisted). 0 in production.
    int test_sync_delay_ms = 0;
};

class FixSession {
  public:
    FixSession(const SessionConfig& config, FixListener& listener);
    ~FixSession();
    FixSession(const FixSession&) = delete;
    FixSession& operator=(const FixSession&) = delete;

    // Throws std::runtime_error when the session's store is there but damaged: a sequence number
    // file that is empty or unreadable, or messages without one (QuickFIX would silently start
    // over at 1). No store at all is a first start.
    static void check_store(const SessionConfig& config);
    // Checks the store again, then connects. Throws std::runtime_error.
    void start();
    // Logs out and stops. With hold_target_seqnum, then waits (at most 5 s) for the host to store
    // what was pushed, so the store closes with every stored message counted received.
    void stop();
    // Logged on and caught up (see FixListener::on_logon): what a request or a query needs.
    bool logged_on() const;
    // Sends one application message now; false when the session is not logged on or QuickFIX
    // did not send it (nothing is queued for later).
    bool send(const std::string& msg_type, const FieldList& fields);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace fixplugin
}  // namespace ordergate
