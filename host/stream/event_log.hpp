// ordergate::stream::EventLog — the per-account event log (API.md "Streaming", ABI 1.4).
//
// Every change a client can see is appended to its account's log in the same storage batch as
// the change: the EventLog is the BatchWriter's ChangeJournal, so each order insert/update gets
// an "orders" entry (the order as REST shows it), each fill a "trades" entry (the fill) and a
// "positions" entry (the position after it), each GTT write a "gtt" entry — each entry flagged
// requires_previous, so it lands exactly when its change does. The storage assigns `seq` at
// commit (a counter row per account), so seq order is commit order.
//
// Positions: the log keeps a PositionBook of its own that follows the commits exactly (seeded
// from the gateway's book once, then every fill committed Ok, in commit order), so a position
// entry is the position right after its fill whatever thread applies the fill to the gateway's
// book later. Its entries carry no unrealized P&L (no prices here): price-driven position pushes
// are not produced yet.
//
// Threads: annotate() and committed() run on the BatchWriter's thread; read() and the rest from
// any thread. The commit listener is called on the writer thread and must be quick.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "orders/change_journal.hpp"
#include "ports/ports.hpp"
#include "positions/position_book.hpp"

namespace ordergate::stream {

inline constexpr const char* kTopicOrders = "orders";
inline constexpr const char* kTopicTrades = "trades";
inline constexpr const char* kTopicPositions = "positions";
inline constexpr const char* kTopicGtt = "gtt";

// JSON documents of the resources, as the REST API shows them (api/wire.hpp provides them; the
// stream module does not depend on the api module).
struct Renderers {
    std::function<std::string(const OrderRecord&)> order;
    std::function<std::string(const FillRecord&)> fill;
    std::function<std::string(const positions::PositionView&)> position;
    // null: the GTT's stored body_json
    std::function<std::string(const GttRecord&)> gtt;
};

struct EventLogOptions {
    std::chrono::seconds retention{std::chrono::hours(24 * 7)};
    std::chrono::seconds prune_every{60};
};

class EventLog final : public orders::ChangeJournal {
  public:
    // Whether `storage` keeps an event log (ABI 1.4): asks it once. *why says why not.
    static bool supported(ports::StoragePort& storage, std::string* why);

    EventLog(ports::StoragePort& storage, Renderers renderers, std::shared_ptr<Clock> clock,
             EventLogOptions options);
    ~EventLog() override;
    EventLog(const EventLog&) = delete;
    EventLog& operator=(const EventLog&) = delete;

    // Before the log is attached to the writer: the positions every later fill builds on.
    void seed_positions(const positions::PositionBook& book);

    // ChangeJournal
    void annotate(const std::vector<WriteOp>& ops, std::vector<WriteOp>* out,
                  std::vector<size_t>* index_of) override;
    void committed(const std::vector<WriteOp>& annotated,
                   const std::vector<Status>& results) override;

    // Entries of `account_id` after `after_seq` (storage's answer; throws sdk::Error).
    AccountEventPage read(const std::string& account_id, int64_t after_seq, uint32_t limit);

    // Called (writer thread) with the accounts that got entries in a committed batch.
    using CommitListener = std::function<void(const std::vector<std::string>& accounts)>;
    void set_commit_listener(CommitListener listener);

    // Starts the retention thread (deletes entries older than options.retention every
    // options.prune_every); stop() ends it.
    void start_retention();
    void stop();

    const EventLogOptions& options() const { return options_; }

  private:
    void entry(std::vector<WriteOp>* out, const std::string& account, const char* topic,
               std::string data, int64_t at_ns);
    void retention_loop();

    ports::StoragePort& storage_;
    Renderers renderers_;
    std::shared_ptr<Clock> clock_;
    EventLogOptions options_;
    positions::PositionBook book_;  // committed fills only (writer thread)

    std::mutex listener_mu_;
    CommitListener listener_;

    std::mutex retention_mu_;
    std::condition_variable retention_cv_;
    bool stopping_ = false;
    std::thread retention_;
};

}  // namespace ordergate::stream
