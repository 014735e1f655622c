// broker-fix's WatermarkStore over a real QuickFIX FileStore: the incoming sequence number it
// persists stops at the first report the host has not confirmed stored.
#include "watermark_store.hpp"

#include <gtest/gtest.h>
#include <quickfix/FileStore.h>
#include <stdlib.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

namespace ordergate {
namespace fixplugin {
namespace {

class FixSessionStore : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/og-fixstore-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        files_.reset(new FIX::FileStoreFactory(dir_));
        open();
    }
    void TearDown() override {
        close();
        std::string cmd = "rm -rf '" + dir_ + "'";
        ASSERT_EQ(std::system(cmd.c_str()), 0);
    }
    void open() {
        factory_.reset(new WatermarkStoreFactory(*files_, true));
        raw_ = factory_->create(id_);
        store_ = factory_->store();
        ASSERT_EQ(static_cast<FIX::MessageStore*>(store_), raw_);
    }
    void close() {
        if (raw_) factory_->destroy(raw_);
        raw_ = nullptr;
        store_ = nullptr;
    }
    // What a restart reads: the FileStore's sequence number file (sender : target).
    std::pair<int, int> on_disk() const {
        std::ifstream in(dir_ + "/FIX.4.4-GW-VENUE.seqnums");
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        int sender = 0, target = 0;
        EXPECT_EQ(std::sscanf(text.c_str(), "%d : %d", &sender, &target), 2) << text;
        return std::make_pair(sender, target);
    }
    // QuickFIX receiving message `seq`: fromApp pushes (an application message with events),
    // then the session counts it.
    void receive(bool pushed) {
        if (pushed) store_->pushed(store_->getNextTargetMsgSeqNum());
        store_->incrNextTargetMsgSeqNum();
    }
    void receive_admin_up_to(int next) {
        while (store_->getNextTargetMsgSeqNum() < next) receive(false);
    }

    FIX::SessionID id_{"FIX.4.4", "GW", "VENUE"};
    std::string dir_;
    std::unique_ptr<FIX::FileStoreFactory> files_;
    std::unique_ptr<WatermarkStoreFactory> factory_;
    FIX::MessageStore* raw_ = nullptr;
    WatermarkStore* store_ = nullptr;
};

TEST_F(FixSessionStore, AdminMessagesArePersistedAtOnce) {
    receive_admin_up_to(5);
    EXPECT_EQ(store_->persisted_target(), 5);
    EXPECT_EQ(on_disk().second, 5);
}

// 5 and 7 pushed reports, 6 an admin message; the host confirms what was pushed up to 5. The
// persisted number is the first report not confirmed (7): 6 counts as done, 7 is resent.
TEST_F(FixSessionStore, PersistedTargetStopsAtTheFirstUnconfirmedReport) {
    receive_admin_up_to(5);
    receive(true);  // 5
    const uint64_t after_5 = store_->sync_point();
    receive(false);  // 6, admin
    receive(true);   // 7
    EXPECT_EQ(store_->getNextTargetMsgSeqNum(), 8);  // QuickFIX's view: as FileStore alone
    EXPECT_EQ(store_->persisted_target(), 5);
    EXPECT_EQ(on_disk().second, 5);
    store_->confirmed(after_5);
    EXPECT_EQ(store_->persisted_target(), 7);
    EXPECT_EQ(on_disk().second, 7);
    EXPECT_TRUE(store_->has_pending());
    store_->confirmed(store_->sync_point());
    EXPECT_FALSE(store_->has_pending());
    EXPECT_EQ(store_->persisted_target(), 8);  // everything stored: the in-memory next
    EXPECT_EQ(on_disk().second, 8);
}

// 5, 6 and 7 all pushed reports, confirmed up to 5: persisted 6.
TEST_F(FixSessionStore, ConfirmedUpToFivePersistsSix) {
    receive_admin_up_to(5);
    receive(true);
    const uint64_t after_5 = store_->sync_point();
    receive(true);
    receive(true);
    store_->confirmed(after_5);
    EXPECT_EQ(store_->persisted_target(), 6);
    EXPECT_EQ(on_disk().second, 6);
}

// A report pushed while QuickFIX has not counted it yet keeps the persisted number below it.
TEST_F(FixSessionStore, AConfirmationNeverPassesTheMessageInHand) {
    receive_admin_up_to(3);
    store_->pushed(3);
    store_->confirmed(store_->sync_point());  // 3 stored, not counted yet
    EXPECT_EQ(store_->persisted_target(), 3);
    store_->incrNextTargetMsgSeqNum();
    EXPECT_EQ(store_->persisted_target(), 4);
}

// A sync point taken before a push does not confirm it.
TEST_F(FixSessionStore, ASyncPointCoversOnlyWhatWasPushedBeforeIt) {
    receive_admin_up_to(2);
    const uint64_t before = store_->sync_point();
    receive(true);  // 2
    store_->confirmed(before);
    EXPECT_EQ(store_->persisted_target(), 2);
    EXPECT_TRUE(store_->has_pending());
}

// Sender numbers and outgoing messages are the FileStore's, written at once; the sender write
// keeps the persisted (not the in-memory) target.
TEST_F(FixSessionStore, SenderSideIsTheFileStores) {
    receive_admin_up_to(4);
    receive(true);  // 4 pending
    ASSERT_TRUE(store_->set(1, "8=FIX.4.4|35=D|"));
    store_->incrNextSenderMsgSeqNum();
    EXPECT_EQ(store_->getNextSenderMsgSeqNum(), 2);
    EXPECT_EQ(on_disk(), std::make_pair(2, 4));
    std::vector<std::string> out;
    store_->get(1, 1, out);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], "8=FIX.4.4|35=D|");
}

// A restart reads the persisted number: the venue resends from the first unconfirmed report.
TEST_F(FixSessionStore, ARestartStartsAtTheWatermark) {
    receive_admin_up_to(3);
    receive(true);  // 3
    receive(false);
    receive(true);
    close();
    open();
    EXPECT_EQ(store_->getNextTargetMsgSeqNum(), 3);
    EXPECT_FALSE(store_->has_pending());
}

// A reset (ResetOnLogon, 141=Y) starts both numbers at 1 and forgets what was pending; a
// confirmation taken before it does not confirm a report pushed after it.
TEST_F(FixSessionStore, ResetForgetsThePendingReports) {
    receive_admin_up_to(6);
    receive(true);  // 6
    const uint64_t old_point = store_->sync_point();
    store_->reset();
    EXPECT_FALSE(store_->has_pending());
    EXPECT_EQ(store_->getNextTargetMsgSeqNum(), 1);
    EXPECT_EQ(store_->persisted_target(), 1);
    EXPECT_EQ(on_disk(), std::make_pair(1, 1));
    receive(false);  // 1: the Logon
    receive(true);   // 2
    store_->confirmed(old_point);
    EXPECT_EQ(store_->persisted_target(), 2);
    store_->confirmed(store_->sync_point());
    EXPECT_EQ(store_->persisted_target(), 3);
}

// A GapFill / SequenceReset moves memory; the persisted number follows up to the watermark.
TEST_F(FixSessionStore, SequenceResetMovesUpToTheWatermark) {
    receive_admin_up_to(2);
    store_->setNextTargetMsgSeqNum(10);
    EXPECT_EQ(store_->persisted_target(), 10);
    receive(true);  // 10
    store_->setNextTargetMsgSeqNum(20);
    EXPECT_EQ(store_->getNextTargetMsgSeqNum(), 20);
    EXPECT_EQ(store_->persisted_target(), 10);
    store_->confirmed(store_->sync_point());
    EXPECT_EQ(store_->persisted_target(), 20);
}

// Without hold_target the factory hands out QuickFIX's own store.
TEST_F(FixSessionStore, WithoutHoldingTheFileStoreIsUsedAsIs) {
    close();
    WatermarkStoreFactory plain(*files_, false);
    FIX::MessageStore* s = plain.create(id_);
    EXPECT_EQ(plain.store(), nullptr);
    EXPECT_NE(dynamic_cast<FIX::FileStore*>(s), nullptr);
    plain.destroy(s);
}

}  // namespace
}  // namespace fixplugin
}  // namespace ordergate
