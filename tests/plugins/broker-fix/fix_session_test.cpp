// broker-fix's FIX session against ordergate-fix-venue: what QuickFIX would do on its own that
// the plugin must prevent or refuse.
#include "fix_session.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "raw_send.hpp"
#include "venue_process.hpp"

namespace ordergate::fixplugin {
namespace {

struct Recorder : FixListener {
    std::atomic<int> logons{0}, messages{0};
    // At the latest logon: the messages received before it, and what the session said.
    std::atomic<int> messages_at_logon{-1}, caught_up{-1};
    std::atomic<bool> confirmed{false};
    bool on_message(const FixMessage&) override {
        ++messages;
        return false;
    }
    void on_logon(size_t c, bool conf) override {
        messages_at_logon = messages.load();
        caught_up = static_cast<int>(c);
        confirmed = conf;
        ++logons;
    }
    void on_logout(const std::string&) override {}
    void log_error(const std::string& line) override { ADD_FAILURE() << line; }
};

std::string temp_dir() {
    std::string t = (std::filesystem::temp_directory_path() / "og-fixsession-XXXXXX").string();
    if (!::mkdtemp(t.data())) throw std::runtime_error("mkdtemp");
    return t;
}

template <class Pred>
bool eventually(Pred p, int ms = 15000) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < until) {
        if (p()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return p();
}

// The application messages the venue has handed to QuickFIX on `session` (stored with their
// sequence numbers, sent or not): its control answers before its sender thread gets to them.
int sent_app_messages(const fixtest::VenueProcess& v, const std::string& session) {
    const std::string d = v.control("sessions");
    const auto id = d.find("\"id\":\"" + session + "\"");
    const std::string key = "\"sent_app_messages\":";
    const auto at = d.find(key, id == std::string::npos ? 0 : id);
    return at == std::string::npos ? -1 : std::stoi(d.substr(at + key.size()));
}

int new_orders(const fixtest::VenueProcess& v, const std::string& session) {
    const std::string d = v.control("dump");
    const std::string key = "\"" + session + "\":";
    const auto at = d.find(key, d.find("new_order_messages"));
    return at == std::string::npos ? 0 : std::stoi(d.substr(at + key.size()));
}

class FixSessionTest : public ::testing::TestWithParam<const char*> {
  protected:
    void SetUp() override {
        dir_ = temp_dir();
        venue_ = std::make_unique<fixtest::VenueProcess>(
            dir_ + "/venue",
            std::vector<std::string>{"--session", std::string(GetParam()) + ":T1", "--price",
                                     "ACME=100.00", "--no-message-log"});
        config_.host = "127.0.0.1";
        config_.port = venue_->port();
        config_.begin_string = GetParam();
        config_.sender_comp_id = "T1";
        config_.target_comp_id = "VENUE";
        config_.heartbeat_s = 5;
        config_.reconnect_s = 1;
        config_.data_dir = dir_ + "/fix";
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string venue_session() const { return std::string(GetParam()) + ":VENUE->T1"; }

    std::string dir_;
    std::unique_ptr<fixtest::VenueProcess> venue_;
    SessionConfig config_;
};

// An order QuickFIX stored while the line was down would reach the venue with PossDupFlag when it
// asks for a resend after the next logon; the plugin turns it into a GapFill instead.
TEST_P(FixSessionTest, OrderStoredWhileLoggedOutIsNeverResent) {
    Recorder rec;
    FixSession s(config_, rec);
    s.start();
    ASSERT_TRUE(eventually([&] { return s.logged_on(); }));
    ASSERT_EQ(venue_->stop(), 0);
    ASSERT_TRUE(eventually([&] { return !s.logged_on(); }));
    // QuickFIX stores it (and answers true: "sent" as far as it knows).
    fixplugin_test::send_order_unchecked(GetParam(), "T1", "VENUE", "LOST-1");
    EXPECT_FALSE(s.send("D", {{11, "LOST-2"}}));  // the plugin's own path sends nothing
    venue_->restart();
    ASSERT_TRUE(eventually([&] { return s.logged_on() && rec.logons >= 2; }));
    // The venue asked for the gap (the stored order's sequence number) and got a GapFill: a
    // later order is the first NewOrderSingle it ever receives.
    ASSERT_TRUE(s.send("D", {{11, "AFTER-1"},
                             {21, "1"},
                             {55, "ACME"},
                             {54, "1"},
                             {60, "20260101-00:00:00.000"},
                             {38, "1"},
                             {40, "2"},
                             {44, "90"}}));
    ASSERT_TRUE(eventually([&] { return rec.messages >= 1; }));
    EXPECT_EQ(new_orders(*venue_, venue_session()), 1);
    EXPECT_EQ(venue_->control("dump").find("LOST-1"), std::string::npos);
    s.stop();
}

// What the venue sent while the session was down (a fill of a resting order) is resent after the
// next logon; the session reports the logon only once that resend went through, so a host
// reacting to it (reconciliation, readiness) sees every report first.
TEST_P(FixSessionTest, LogonIsReportedOnlyAfterTheResendOfWhatWasMissed) {
    {
        Recorder rec;
        FixSession s(config_, rec);
        s.start();
        ASSERT_TRUE(eventually([&] { return s.logged_on(); }));
        EXPECT_EQ(rec.logons, 1);
        EXPECT_TRUE(rec.confirmed);
        ASSERT_TRUE(s.send("D", {{11, "REST-1"},
                                 {21, "1"},
                                 {55, "ACME"},
                                 {54, "1"},
                                 {60, "20260101-00:00:00.000"},
                                 {38, "5"},
                                 {40, "2"},
                                 {44, "90"}}));
        ASSERT_TRUE(eventually([&] { return rec.messages >= 1; }));  // its New
        s.stop();
    }
    ASSERT_TRUE(eventually([&] {
        return venue_->control("sessions").find("\"logged_on\":true") == std::string::npos;
    }));
    const int sent_before = sent_app_messages(*venue_, venue_session());
    ASSERT_GE(sent_before, 1) << venue_->control("sessions");
    // The fills are stored (sequenced) by the venue's sender thread after the control answered,
    // here 300 ms later (as a loaded machine may do): a logon before that would find no gap, and
    // the fills would come after it as live reports. The session starts once they are stored.
    ASSERT_EQ(venue_->control("delay * 300"), "OK");
    ASSERT_EQ(venue_->control("fill REST-1 2"), "OK");
    ASSERT_EQ(venue_->control("fill REST-1 3"), "OK");
    ASSERT_TRUE(eventually(
        [&] { return sent_app_messages(*venue_, venue_session()) >= sent_before + 2; }))
        << venue_->control("sessions");
    ASSERT_EQ(venue_->control("delay * 0"), "OK");
    Recorder rec;
    FixSession s(config_, rec);
    s.start();
    ASSERT_TRUE(eventually([&] { return rec.logons >= 1; })) << venue_->control("sessions");
    EXPECT_TRUE(rec.confirmed);
    EXPECT_EQ(rec.messages_at_logon, 2) << "the logon came before the resent fills";
    EXPECT_EQ(rec.caught_up, 2);
    EXPECT_TRUE(s.logged_on());
    s.stop();
}

// A sequence number file that is there but empty is refused: QuickFIX would start again at 1.
TEST_P(FixSessionTest, DamagedSequenceNumbersAreRefused) {
    {
        Recorder rec;
        FixSession s(config_, rec);
        s.start();
        ASSERT_TRUE(eventually([&] { return s.logged_on(); }));
        s.stop();
    }
    const std::string seqnums =
        config_.data_dir + "/store/" + std::string(GetParam()) + "-T1-VENUE.seqnums";
    ASSERT_TRUE(std::filesystem::exists(seqnums));
    EXPECT_NO_THROW(FixSession::check_store(config_));
    std::ofstream(seqnums, std::ios::trunc) << "garbage";
    EXPECT_THROW(FixSession::check_store(config_), std::runtime_error);
    std::ofstream(seqnums, std::ios::trunc);
    EXPECT_THROW(FixSession::check_store(config_), std::runtime_error);
    std::filesystem::remove(seqnums);
    EXPECT_THROW(FixSession::check_store(config_), std::runtime_error);  // messages, no seqnums
    std::filesystem::remove_all(config_.data_dir);
    EXPECT_NO_THROW(FixSession::check_store(config_));  // no store: a first start
}

INSTANTIATE_TEST_SUITE_P(Versions, FixSessionTest, ::testing::Values("FIX.4.4", "FIX.4.2"),
                         [](const auto& info) {
                             return std::string(info.param[6] == '4' ? "Fix44" : "Fix42");
                         });

}  // namespace
}  // namespace ordergate::fixplugin
