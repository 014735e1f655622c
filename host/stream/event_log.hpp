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
// book later. With a price source (set_price_source()) an entry carries the unrealized P&L at
// the instrument's last price when it is written.
//
// Price-driven entries (API.md "Streaming": unrealized P&L as prices move, at most once a second
// per position): start_marks() runs a thread that, every `every`, gives each open position whose
// unrealized P&L at the last price differs from the one its latest entry carried a "positions"
// entry of its own. It is written through the gateway's writer like any change, and annotate()
// renders its document again from the book at commit, so it never shows a position older than a
// fill committed before it. Among several gateways on one store only the holder of a storage
// lease writes them (may_mark).
//
// Several instances on one storage: each keeps its position books in memory, and a fill another
// instance commits reaches them through the log (follow()): its "trades" entry is read (every
// `every`) and the fill applied to this instance's books. A fill this instance commits is applied
// where it is written and skipped when read back.
//
// Threads: annotate() and committed() run on the BatchWriter's thread; render_ahead() on the
// threads that queue writes (it reads only the renderers); read() and the rest from any thread;
// the follower has a thread of its own. The commit listener is called on the writer thread and
// must be quick.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>
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

// What a reader's since_seq is worth against a page the log answered for it (read(account,
// since, ...)): the stream's resume and GET /api/v1/events judge it alike.
enum class Cursor {
    Ok,
    Pruned,      // entries after it are no longer kept: re-read the state
    NeverGiven,  // after the account's newest entry (another store's seq, or from before a
                 // restore): waiting for it would skip every entry until then
};
Cursor judge_cursor(const AccountEventPage& page, int64_t since);

struct EventLogOptions {
    std::chrono::seconds retention{std::chrono::hours(24 * 7)};
    std::chrono::seconds prune_every{60};
};

class EventLog final : public orders::ChangeJournal {
  public:
    // Whether `storage` keeps an event log (ABI 1.4): asks it once. *why says why not.
    static bool supported(ports::StoragePort& storage, std::string* why);
    // Whether other hosts may write `storage`'s event log: false only when the store says it
    // has one writer host (wait_account_events answers Unsupported, ABI 1.4), so this host's
    // commits are all there is and there is nothing to follow(). Any other answer, a failure
    // included, is a yes. May open the store's notice session (it answers at once).
    static bool others_may_write(ports::StoragePort& storage);

    EventLog(ports::StoragePort& storage, Renderers renderers, std::shared_ptr<Clock> clock,
             EventLogOptions options);
    ~EventLog() override;
    EventLog(const EventLog&) = delete;
    EventLog& operator=(const EventLog&) = delete;

    // Before the log is attached to the writer: the positions every later fill builds on.
    void seed_positions(const positions::PositionBook& book);
    // The last price of an instrument (the gateway's market data), nullopt when none is known.
    using PriceSource = std::function<std::optional<Decimal>(const std::string& symbol,
                                                             const std::string& exchange)>;
    // Before the log is attached to the writer: where position entries take their last price.
    void set_price_source(PriceSource price);

    struct Marks {
        std::chrono::milliseconds every{1000};  // 0: no thread (passes by mark_once() alone)
        // Writes the entries as one batch through the gateway's writer and waits (throws
        // sdk::Error when the batch failed: the next pass tries again).
        std::function<std::vector<Status>(std::vector<WriteOp>)> write;
        // Whether this gateway writes the price-driven entries now (asked only when a pass has
        // entries to write); null: always.
        std::function<bool()> may_mark;
    };
    // Starts the price-driven position entries (see the header comment); stop() ends them.
    // Needs a price source.
    void start_marks(Marks marks);
    // One pass of it (for tests): the entries written.
    size_t mark_once();
    // Price-driven entries written so far.
    uint64_t marks_written() const { return marks_written_.load(); }

    // ChangeJournal
    void annotate(const std::vector<WriteOp>& ops, std::vector<WriteOp>* out,
                  std::vector<size_t>* index_of,
                  std::vector<std::string>* rendered = nullptr) override;
    // Orders, trades and GTTs; a position's entry depends on the book at commit (annotate).
    std::vector<std::string> render_ahead(const std::vector<WriteOp>& ops) const override;
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

    // Follows the fills other instances commit (see the header comment). Call before the log is
    // attached to the writer, so that every fill this instance commits is known as its own.
    // `cursors`: each account's last seq, read before the gateway's positions were loaded from
    // storage; `loaded`: the sorted hashes (std::hash) of the ids of the fills they were loaded
    // from (a fill committed between the two readings is in both, applied once); `apply`: the
    // gateway's position book. stop() ends it.
    void follow(std::map<std::string, int64_t> cursors, std::vector<uint64_t> loaded,
                std::function<void(const FillRecord&)> apply, std::chrono::milliseconds every);
    // Fills of other instances applied so far (for tests and logs).
    uint64_t followed_fills() const { return followed_.load(); }

    const EventLogOptions& options() const { return options_; }

  private:
    // The document of an op's entry that depends on the op alone; empty when it has none.
    std::string render_one(const WriteOp& op) const;
    void entry(std::vector<WriteOp>* out, const std::string& account, const char* topic,
               std::string data, int64_t at_ns);
    // The retention thread's pass.
    void prune_once();
    // Runs `pass` now, then every `every`, until stop(): the body of each thread of the log.
    void every_until_stopped(std::chrono::milliseconds every, const std::function<void()>& pass);
    // Sets `book`'s last price of the instrument from the price source, when it knows one.
    void price_into(positions::PositionBook& book, const std::string& symbol,
                    const std::string& exchange) const;
    // A position entry of the batch being annotated, at `index` of its ops: committed() records
    // the unrealized P&L it carries as the key's latest.
    void note_position(size_t index, const positions::PositionView& p);
    void follow_once();

    // Applies one committed or about-to-commit fill record to `book`: a trade as a fill, a bust
    // or correction (ABI 1.5) by rebuilding its key from storage's effective fills plus `f`.
    // Throws what storage or the book throws.
    positions::PositionView apply_to(positions::PositionBook& book, const FillRecord& f);

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

    // The follower. pending_local_: ids of fills this instance is writing or wrote and the
    // follower has not read back yet.
    std::mutex follow_mu_;
    bool following_ = false;
    std::unordered_set<std::string> pending_local_;
    std::map<std::string, int64_t> cursors_;
    std::vector<uint64_t> loaded_;
    std::function<void(const FillRecord&)> apply_;
    std::atomic<uint64_t> followed_{0};
    std::thread follower_;

    // Price-driven entries. marked_: the unrealized P&L each key's latest committed entry carries.
    PriceSource price_;
    Marks marks_;
    std::mutex marks_mu_;
    std::map<positions::PositionKey, std::optional<Decimal>> marked_;
    struct NotedPosition {
        size_t index;
        positions::PositionKey key;
        std::optional<Decimal> unrealized;
    };
    std::vector<NotedPosition> noted_;  // the batch being written (writer thread)
    std::atomic<uint64_t> marks_written_{0};
    std::thread marker_;
};

}  // namespace ordergate::stream
