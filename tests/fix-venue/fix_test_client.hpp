// A small QuickFIX initiator for the venue tests, behind a C++14 interface (QuickFIX's headers
// only compile as C++14: fix_test_client.cpp is the one file that includes them).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ordergate {
namespace fixtest {

using FieldList = std::vector<std::pair<int, std::string>>;

struct Received {
    std::string msg_type;
    int seq_num = 0;
    bool poss_dup = false;
    std::string orig_sending_time;
    FieldList fields;                // body
    std::string get(int tag) const;  // "" when absent
    bool has(int tag) const;
};

struct ClientConfig {
    int port = 0;
    std::string begin_string;  // FIX.4.2 / FIX.4.4
    std::string comp_id;       // our SenderCompID
    std::string venue_comp_id = "VENUE";
    std::string data_dir;  // FileStore and logs
    int heartbeat_s = 30;
};

class FixTestClient {
  public:
    explicit FixTestClient(const ClientConfig& config);
    ~FixTestClient();
    void start();
    void stop();  // Logout, then stop (the store keeps the sequence numbers)
    bool wait_logged_on(int timeout_ms);
    bool logged_on() const;
    // Sends an application message; false when QuickFIX did not put it on the wire.
    bool send(const std::string& msg_type, const FieldList& fields);
    std::vector<Received> received() const;  // application messages, in arrival order
    // Waits until `done` holds for the messages received so far.
    bool wait_for(const std::function<bool(const std::vector<Received>&)>& done, int timeout_ms);
    int resend_requests_sent() const;
    int sequence_resets_received() const;
    int logons() const;
    int next_sender_seq() const;
    int next_target_seq() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace fixtest
}  // namespace ordergate
