// The FIX session's store when the host applies pushed events in batches (ABI 1.6,
// OG_CAP_BATCHED_EVENTS): QuickFIX's FileStore, except that the *incoming* (target) sequence
// number it persists stops at what the host has stored.
//
// QuickFIX counts a message received (incrNextTargetMsgSeqNum, persisted at once by FileStore) as
// soon as fromApp returns. With batched events the host has then only queued the reports that
// fromApp pushed: a process killed before they are stored would lose them, the venue never
// resending what the persisted number says was received. This store answers QuickFIX from memory
// (the live session behaves exactly as with FileStore alone) and writes to the FileStore a target
// number no higher than the watermark: the lowest sequence number of an application message whose
// events were pushed and not yet confirmed stored (the event sink's `sync`). Admin messages and
// application messages that pushed nothing are done as soon as QuickFIX counts them. After a
// restart the venue resends (PossDupFlag) from the watermark, and the host de-duplicates what it
// had stored already (ExecID / trade id).
//
// Sender sequence numbers and the stored outgoing messages (the venue's resend requests) are the
// FileStore's, untouched.
//
// Includes QuickFIX: C++14 only (see fix_session.hpp); used by fix_session.cpp and its tests.
//
// Threads: QuickFIX calls the MessageStore functions under its session state's lock; the session's
// fromApp calls pushed(), its syncer thread sync_point() / confirmed(). One mutex guards all of it,
// the FileStore included (a write of either number rewrites both).
#pragma once

#include <quickfix/MessageStore.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace ordergate {
namespace fixplugin {

class WatermarkStore : public FIX::MessageStore {
  public:
    // Takes `inner` (the FileStore), given back to `inner_factory` (which must outlive this
    // store) when destroyed. Starts from the numbers `inner` holds. Throws FIX::IOException.
    WatermarkStore(FIX::MessageStore* inner, FIX::MessageStoreFactory& inner_factory);
    ~WatermarkStore();
    WatermarkStore(const WatermarkStore&) = delete;
    WatermarkStore& operator=(const WatermarkStore&) = delete;

    // ---- FIX::MessageStore (QuickFIX's threads) ----
    bool set(int seq, const std::string& msg) throw(FIX::IOException) override;
    void get(int begin, int end, std::vector<std::string>& out) const
        throw(FIX::IOException) override;
    int getNextSenderMsgSeqNum() const throw(FIX::IOException) override;
    // The number QuickFIX works with (memory), not the persisted one.
    int getNextTargetMsgSeqNum() const throw(FIX::IOException) override;
    void setNextSenderMsgSeqNum(int n) throw(FIX::IOException) override;
    // A SequenceReset or GapFill: memory moves, the persisted number follows up to the watermark.
    void setNextTargetMsgSeqNum(int n) throw(FIX::IOException) override;
    void incrNextSenderMsgSeqNum() throw(FIX::IOException) override;
    void incrNextTargetMsgSeqNum() throw(FIX::IOException) override;
    FIX::UtcTimeStamp getCreationTime() const throw(FIX::IOException) override;
    // Both sides restart at 1 (ResetOnLogon, 141=Y, a Reset of the session): what was pending
    // belongs to the old numbering (the venue resends none of it) and is forgotten.
    void reset() throw(FIX::IOException) override;
    // Reloads the FileStore: memory goes back to the persisted number (the venue resends from
    // there), so nothing is pending any more.
    void refresh() throw(FIX::IOException) override;

    // ---- the watermark ----
    // The application message `seq` pushed events to the host. Call it after the push and before
    // QuickFIX counts the message (inside fromApp): the persisted number then stays at or below
    // `seq` until a sync started after this call confirms it.
    void pushed(int seq);
    // A point to confirm later: every pushed() so far. Take it before calling the sink's sync.
    uint64_t sync_point() const;
    // The sync started after sync_point() answered Ok: the messages pushed up to `point` are
    // stored; the persisted number advances to the next watermark.
    void confirmed(uint64_t point);
    bool has_pending() const;
    // What the FileStore holds now.
    int persisted_target() const;

  private:
    // With mu_ held: writes the watermark to the FileStore when it moved. Throws FIX::IOException.
    void persist_locked();

    mutable std::mutex mu_;
    FIX::MessageStore* inner_;
    FIX::MessageStoreFactory& inner_factory_;
    int next_target_;  // QuickFIX's view
    int persisted_;    // the FileStore's
    uint64_t last_point_ = 0;
    std::map<uint64_t, int> pending_;  // pushed() not yet confirmed: its point -> sequence number
    std::multiset<int> pending_seqs_;  // the same numbers, lowest first
};

// Creates WatermarkStores around the stores of `inner` (QuickFIX's FileStoreFactory), or hands out
// the inner store itself when `hold_target` is false (the host stores each event before its sink
// call returns: QuickFIX's own behaviour is right then).
class WatermarkStoreFactory : public FIX::MessageStoreFactory {
  public:
    WatermarkStoreFactory(FIX::MessageStoreFactory& inner, bool hold_target)
        : inner_(inner), hold_target_(hold_target) {}
    FIX::MessageStore* create(const FIX::SessionID& id) override;
    void destroy(FIX::MessageStore* store) override;
    // The store of the (one) session, or nullptr before QuickFIX created it, after it destroyed
    // it, or without hold_target. Any thread.
    WatermarkStore* store() const;

  private:
    FIX::MessageStoreFactory& inner_;
    const bool hold_target_;
    mutable std::mutex mu_;
    WatermarkStore* store_ = nullptr;
};

}  // namespace fixplugin
}  // namespace ordergate
