// The venue's FIX transport: QuickFIX behind a plain interface.
//
// QuickFIX 1.15.1's headers only compile as C++14 (dynamic exception specifications), so the one
// translation unit that includes them (fix_transport.cpp) is built with -std=gnu++14 and this
// header is all the rest of the simulator sees. It must stay valid C++14: strings, ints and
// vectors only, no Decimal, no std::optional.
//
// The transport knows nothing about orders. It hands every application message it receives to
// the MessageHandler as tag/value pairs and sends what the handler (or the control interface)
// gives it, through one sender thread that applies the transport fault switches: delay, drop,
// duplicate with PossDupFlag, sequence gap, messages lost on the wire, disconnect, logout.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ordergate {
namespace fixvenue {

using FieldList = std::vector<std::pair<int, std::string>>;

// One application message received from a client session.
struct InMessage {
    std::string session;  // QuickFIX's SessionID text: "FIX.4.4:VENUE->CLIENT1"
    std::string begin_string;
    std::string msg_type;  // tag 35
    int seq_num = 0;
    bool poss_dup = false;     // PossDupFlag (43) = Y
    bool poss_resend = false;  // PossResend (97) = Y
    FieldList fields;          // body fields in wire order (no header, no trailer)

    // The first value of `tag` in the body, or "" (and *found = false) when absent.
    std::string get(int tag, bool* found = nullptr) const;
};

// One application message to send. Its header is filled by QuickFIX (BeginString, CompIDs,
// MsgSeqNum, SendingTime).
struct OutMessage {
    std::string session;
    std::string msg_type;
    FieldList fields;
};

class MessageHandler {
  public:
    virtual ~MessageHandler() {}
    // Called on the session's own thread. Whatever it returns is queued for sending, in order.
    // Must not throw (the transport catches and logs, but a lost request is a bug).
    virtual std::vector<OutMessage> on_message(const InMessage& msg) = 0;
    virtual void on_logon(const std::string& session) = 0;
    virtual void on_logout(const std::string& session) = 0;
};

struct SessionSpec {
    std::string begin_string;    // "FIX.4.2" or "FIX.4.4"
    std::string venue_comp_id;   // our SenderCompID
    std::string client_comp_id;  // our TargetCompID (the client's SenderCompID)
};

struct TransportConfig {
    int port = 0;          // FIX acceptor port on 127.0.0.1
    std::string data_dir;  // FileStore under data_dir/store, logs under data_dir/log
    std::vector<SessionSpec> sessions;
    bool reset_on_logon = false;  // ResetOnLogon: off by default (sequence numbers persist)
    // The daily roll of the 24-hour sessions (UTC, StartTime = EndTime): QuickFIX starts a new
    // session day there, with sequence numbers back to 1.
    std::string session_start = "00:00:00";
    bool message_log = true;  // QuickFIX FileLog of every message (data_dir/log)
};

struct SessionState {
    std::string id;
    bool logged_on = false;
    int next_sender_seq = 0;
    int next_target_seq = 0;
    int sent_app_messages = 0;  // application messages given to QuickFIX (after faults)
};

class FixTransport {
  public:
    FixTransport(const TransportConfig& config, MessageHandler& handler);
    ~FixTransport();
    FixTransport(const FixTransport&) = delete;
    FixTransport& operator=(const FixTransport&) = delete;

    // Binds 127.0.0.1:port and starts accepting. Throws std::runtime_error (with QuickFIX's
    // reason) when the port cannot be bound or the configuration is invalid.
    void start();
    // Logs every session out, stops the sender (queued messages not yet due are dropped).
    void stop();

    // Queues messages for sending (each session in order; delays apply).
    void send(std::vector<OutMessage> msgs);

    // Resolves a session name given by an operator: the full SessionID text, "BEGIN:CLIENT" or
    // the client CompID alone when it names one session. Returns "" when none or ambiguous.
    std::string resolve(const std::string& name) const;
    std::vector<SessionState> sessions() const;

    // ---- transport fault switches (session is a resolved id; "" in set_delay means every one)
    void set_delay_ms(const std::string& session, int ms);
    void drop_next(const std::string& session, int count);       // never sent, never stored
    void duplicate_next(const std::string& session, int count);  // sent again with PossDupFlag
    void gap_next(const std::string& session, int count);        // skip seqnums (GapFill on resend)
    void lose_next(const std::string& session, int count);       // stored, not sent (real resend)
    // Drops the connection just before each of the next `count` application messages: they are
    // stored and reach the client through the resend after it logs on again.
    void cut_before_next(const std::string& session, int count);
    // Closes the socket without a Logout (the client sees a dropped connection).
    bool disconnect(const std::string& session);
    // Sends a Logout with `text` and closes the connection after the client answers; the
    // session accepts a new logon afterwards. False when the session is not logged on.
    bool logout(const std::string& session, const std::string& text);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace fixvenue
}  // namespace ordergate
