// ordergate::paper::PaperVenue — the simulation engine behind the broker-paper plugin.
//
// A venue with accounts (cash, positions), a deterministic random-walk price per symbol, an order
// book of resting orders that fill when the walk crosses them, fault injection, and an optional
// journal that makes its state survive a restart. It knows nothing of the plugin ABI: the plugin
// class (paper_broker.hpp) wraps it, and tests drive it directly with an injected clock and step().
//
// Prices. Every symbol has a last price on the grid of `tick_size`. It starts at
// `prices[symbol]` (or `initial_price`) the first time the symbol is used, and each step() moves
// it by k ticks, k drawn uniformly from [-max_steps_per_tick, +max_steps_per_tick] from the
// symbol's own SplitMix64 stream (paper_rng.hpp), never below one tick. A symbol's path therefore
// depends only on the seed, the symbol and how many steps it has seen. Quotes are last, with
// bid = last - tick and ask = last + tick.
//
// Orders. Ids are "P-<n>", trade ids "PT-<n>", both monotonic across restarts (journal).
//  - MARKET executes at the last price when placed.
//  - LIMIT executes when the last price reaches the limit (BUY: last <= limit, SELL: last >=
//    limit). On entry (place, modify, trigger) it takes the last price (the limit or better); once
//    it has rested, a crossing step fills it at its limit price.
//  - STOP triggers when the last price reaches the trigger (BUY: last >= trigger, SELL: last <=
//    trigger, checked on entry too) and then executes as a MARKET order; STOP_LIMIT triggers the
//    same way and then behaves as a LIMIT order entering the book.
//  - IOC / FOK are evaluated when the order first becomes executable (on entry for MARKET and
//    LIMIT, on trigger for STOP and STOP_LIMIT): IOC executes what is available then and cancels
//    the rest; FOK executes everything or nothing (then CANCELLED). DAY and GTC rest (the
//    simulation has no sessions, so DAY orders do not expire).
//  - Liquidity: `max_fill_per_tick` (0 = unlimited) caps what one order executes per step (or on
//    entry); the rest waits for the next crossing step (PARTIALLY_FILLED), MARKET included.
//  - `partial_fill_ratio` r in (0,1) splits each execution into several fills of
//    floor(quantity * r) (at the quantity's scale, at least one unit), the last one the rest, all
//    at the same price and time, each with its own trade id (0 = one fill per execution).
//  - Report details (ABI 1.3): leaves_quantity is quantity - filled while the order is live and 0
//    once terminal; exec_id is the trade id of the fill behind an update (empty for updates no
//    execution caused: placed, modified, cancelled, rejected); cancel_reject_reason holds the
//    reason of the latest refused cancel or modify of the order (the refusal itself is still the
//    Rejected error of that call), cleared when a later cancel or modify is accepted.
//  - Accepted orders report OPEN, PARTIALLY_FILLED, FILLED or CANCELLED; orders the venue refuses
//    after receiving them (fault.reject_ratio, insufficient buying power or position, a price off
//    the tick grid) are kept as REJECTED with their reason, so they can be looked up by client
//    order id. A duplicate client order id or an unknown account is refused without a record.
//
// Money. All amounts are exact Decimals. A fill moves cash by quantity * price, minus
// (BUY: plus) its fee (fee_per_fill + quantity * price * fee_rate). Positions are signed
// quantities per (account, symbol, exchange) with an average entry price (rounded half-even at 8
// decimals when the division is inexact; cash never depends on it). For an account:
//   equity       = cash + sum(position quantity * last price)
//   margin_used  = sum over short positions of |quantity| * last price
//   reserved     = sum over open BUY orders of remaining quantity * reference price (the limit
//                  price; the trigger for an untriggered STOP; the last price otherwise)
//   buying_power = cash - margin_used - reserved
// A BUY whose quantity * reference price exceeds buying_power is rejected ("insufficient buying
// power"); with allow_short = false, a SELL beyond the position not already offered by open SELL
// orders is rejected ("insufficient position").
//
// Transport simulation for place / modify / cancel / cancel_all (queries answer at once):
//  - send_delay_ms passes before the request leaves; a deadline (`timeout`) that passes during it
//    throws Timeout and nothing happens at the venue.
//  - latency_ms passes between the venue acting and the ack arriving; a deadline that passes
//    during it throws UnknownOutcome: the request DID take effect.
//  - With both 0 the venue answers at once and never times out. The waiting is done by the
//    injected sleep function, outside the venue mutex.
// Fault injection (from the fault stream, one draw per configured ratio per call, in the order
// before-send, reject, after-send):
//  - fault.timeout_before_send_ratio: Timeout, nothing happens (place, modify, cancel, cancel_all);
//  - fault.reject_ratio: place is rejected ("rejected by fault injection"), kept as REJECTED;
//  - fault.timeout_after_send_ratio: the request takes effect (the order exists and fills), the
//    ack is lost: UnknownOutcome (place, modify, cancel, cancel_all);
//  - fault.disconnect / set_disconnected(true): every call throws Unavailable and a connection
//    event (false) is queued; while disconnected the venue keeps running (prices move, resting
//    orders fill) but order, fill and quote events are lost, as they would be on a real link.
//
// Events. Every order change queues an order update, every execution a fill, every step a quote
// per subscribed instrument, into events(); the venue never calls anyone. The plugin drains the
// queue and pushes to the host's sink (an order call's thread what it caused, the worker the
// rest); tests call drain_events().
//
// History (VenueConfig::history): ended orders and fills older than it leave memory. With a
// journal they are still found by id and client order id, listed, and their client order ids stay
// taken: the venue keeps each one's line offset in the journal and reads the line back when asked
// (a listing from before what memory holds reads the journal, skipping blocks of 256 numbers
// that changed before the listing's start). Without a journal they are forgotten for good.
//
// Journal (journal_path non-empty): see paper_journal.hpp for the file format and durability. The
// venue writes a header, each opened account, a full order snapshot on every order change, each
// fill, and every journal_snapshot_ticks steps (and on close()) the price state of every symbol
// and its counters. Construction replays the file: accounts come from the journal (config
// accounts missing from it are opened with initial_cash), fills rebuild cash and positions, the
// last snapshot of each order wins, the id counters continue. Prices resume from the last price
// snapshot (a crash loses at most journal_snapshot_ticks steps of price movement). Replay forgets
// as it goes, so a long journal never sits in memory whole.
//
// Threads. Every public function may be called from any thread; one mutex guards all state, and
// nothing is called while it is held except the event queue's own lock and the journal write.
// Errors. Functions throw VenueError carrying the Status the ABI reports (see each function).
// A failed journal write leaves memory ahead of the file, so the venue then refuses every call
// with Status::Internal until it is rebuilt.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "ordergate/decimal.hpp"
#include "ordergate/types.hpp"
#include "paper_index.hpp"
#include "paper_journal.hpp"
#include "paper_rng.hpp"

namespace ordergate::paper {

// A classified failure; the plugin turns it into sdk::Error with the same status and message.
class VenueError : public std::runtime_error {
  public:
    VenueError(Status status, const std::string& message, std::string broker_order_id = {})
        : std::runtime_error(message), status_(status), broker_order_id_(std::move(broker_order_id)) {}
    Status status() const { return status_; }
    // A refused place whose order the venue kept (REJECTED): its id; empty otherwise.
    const std::string& broker_order_id() const { return broker_order_id_; }

  private:
    Status status_;
    std::string broker_order_id_;
};

struct FaultConfig {
    Decimal reject_ratio;               // [0, 1]
    Decimal timeout_before_send_ratio;  // [0, 1]
    Decimal timeout_after_send_ratio;   // [0, 1]
    bool disconnect = false;
    // The push stream goes silent while the venue keeps answering calls: order updates and
    // fills are never pushed (the host learns of them only by asking). Read by the plugin class.
    bool silent_stream = false;
    // Every call from the host (queries and ping included) first blocks this long, ignoring its
    // deadline, as a plugin stuck in a read that never times out would; stop() cuts every hang
    // short and until the next start() such calls fail Unavailable at once, with nothing done.
    // 0: off. Read by the plugin class.
    std::chrono::milliseconds hang{0};
};

// The venue's settings; plugins/broker-paper/README.md documents the config keys behind them.
struct VenueConfig {
    std::vector<std::string> accounts{"ACC1"};
    Decimal initial_cash = Decimal::from_int(1000000);
    std::string currency = "INR";

    uint64_t seed = 42;
    Decimal initial_price = Decimal(150000, 2);  // 1500.00
    std::map<std::string, Decimal> prices;       // per-symbol initial price
    Decimal tick_size = Decimal(5, 2);           // 0.05
    int64_t max_steps_per_tick = 2;

    Decimal partial_fill_ratio;  // 0: off; else in (0, 1)
    Decimal max_fill_per_tick;   // 0: unlimited
    Decimal fee_per_fill;
    Decimal fee_rate;
    bool allow_short = true;

    std::chrono::milliseconds send_delay{0};
    std::chrono::milliseconds latency{0};
    FaultConfig fault;

    std::string journal_path;  // empty: no journal
    // The number of the first order, trade and GTT id (P-n, PT-n, PG-n). With a journal, ids
    // go on from the ones it holds, whichever is greater.
    uint64_t first_id = 1;
    bool journal_fsync = false;
    int64_t journal_snapshot_ticks = 100;

    // How long an ended order (FILLED, CANCELLED, REJECTED, EXPIRED) and a fill stay in memory
    // after their last change. 0: the whole history stays in memory. With a journal, what memory
    // forgot is read back from the journal (found, listed, its client order id still taken), and
    // where its lines are is kept in index files beside the journal (paper_index.hpp), so memory
    // does not grow with the history; without a journal it is gone.
    std::chrono::seconds history{0};
};

// What the venue uses from its environment. Every member is optional (a default is used).
struct VenueEnv {
    std::function<int64_t()> now_ns;                       // default: system clock
    std::function<void(std::chrono::milliseconds)> sleep;  // default: this_thread::sleep_for
    std::function<void(const std::string&)> warn;          // default: dropped
};

// Something the venue wants pushed to the host.
struct VenueEvent {
    enum class Kind { OrderUpdate, Fill, Quote, Connection, Gtt };
    Kind kind = Kind::OrderUpdate;
    OrderReport order;       // OrderUpdate
    GttReport gtt;           // Gtt (ABI 1.5 native GTT: a status change the venue made)
    Fill fill;               // Fill
    Quote quote;             // Quote
    bool connected = false;  // Connection
    std::string detail;      // Connection
};
// Events as the queue hands them out: a deque, so taking them all is a swap of the containers and
// each event (an order report, a fill, a quote: tens of strings) is moved once, into the queue.
using VenueEvents = std::deque<VenueEvent>;

// A thread-safe FIFO of events with a blocking take for the plugin's worker.
class EventQueue {
  public:
    // While a Hold lives, what this thread pushes wakes nobody: the thread delivers it itself
    // (take_all) when the Hold ends, sparing the worker a wake-up per call. Until then the
    // worker takes nothing (take_unheld), so a call's events reach the host on the call's
    // thread, in order with whatever was queued around them.
    class Hold {
      public:
        explicit Hold(EventQueue& q);
        ~Hold();
        Hold(const Hold&) = delete;
        Hold& operator=(const Hold&) = delete;

      private:
        const EventQueue* previous_;
    };

    void push(VenueEvent&& event);
    // Everything queued now (possibly nothing); never blocks.
    VenueEvents take_all();
    // The same, but nothing while events a Hold's thread pushed wait for it to take them.
    VenueEvents take_unheld();
    // Waits until an event is queued, `deadline` passes or wake() is called, then returns what is
    // queued (possibly nothing). A wake() before the call makes it return at once.
    VenueEvents wait_take(std::chrono::steady_clock::time_point deadline);
    // As wait_take, without taking: the caller takes (take_unheld) under its own delivery
    // lock. Events a Hold's thread is to take do not end the wait.
    void wait_ready(std::chrono::steady_clock::time_point deadline);
    void wake();
    // Waits until fewer than `limit` events are queued, or `deadline` passes (false).
    bool wait_below(size_t limit, std::chrono::steady_clock::time_point deadline);

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::condition_variable taken_;  // wait_below(): the worker took what was queued
    VenueEvents events_;
    bool woken_ = false;
    size_t held_pending_ = 0;  // of events_, pushed under a Hold and not yet taken
};

class PaperVenue {
  public:
    // Validates the config (Status::InvalidArgument naming the setting), opens and replays the
    // journal (Status::Internal on a corrupt or locked journal), opens missing accounts, and
    // queues a connection event (false when fault.disconnect).
    PaperVenue(VenueConfig config, VenueEnv env = {});
    // Calls close(); a failure there goes to env.warn.
    ~PaperVenue();
    PaperVenue(const PaperVenue&) = delete;
    PaperVenue& operator=(const PaperVenue&) = delete;

    // Places an order and returns its report (OPEN, PARTIALLY_FILLED, FILLED or CANCELLED for an
    // IOC/FOK remainder). Throws: InvalidArgument (malformed for this venue: missing ids, quantity
    // <= 0, price/trigger missing or present against the type); Rejected (unknown account,
    // duplicate client order id, refusals listed above); Unavailable; Timeout; UnknownOutcome.
    OrderReport place_order(const OrderRequest& request, std::chrono::milliseconds timeout);
    // Changes quantity, price, trigger, type and/or time in force of an open order (by broker id,
    // or by client order id when broker_order_id is empty) and matches it again as a new entry.
    // Throws NotFound; Rejected (terminal order, quantity not above the filled quantity, price
    // off the grid, insufficient buying power); InvalidArgument (the resulting shape is invalid);
    // Unavailable; Timeout; UnknownOutcome. The answer and the pushed update that confirms the
    // modify carry request.request_id (OrderReport::request_id); later updates carry none.
    OrderReport modify_order(const ModifyRequest& request, std::chrono::milliseconds timeout);
    // Cancels an open order. Throws NotFound; Rejected ("order P-1 is already FILLED");
    // Unavailable; Timeout; UnknownOutcome. The answer and the pushed CANCELLED carry
    // `request_id`, the cancel's client request id (empty: none).
    OrderReport cancel_order(const std::string& account_id, const std::string& broker_order_id,
                             const std::string& client_order_id, std::chrono::milliseconds timeout,
                             const std::string& request_id = "");
    // Cancels every open order of the account (all accounts when empty); returns their reports.
    std::vector<OrderReport> cancel_all(const std::string& account_id,
                                        std::chrono::milliseconds timeout);

    // By broker id, or by client order id when broker_order_id is empty; an empty account_id
    // matches any account (InvalidArgument when a client order id is then ambiguous). Throws
    // NotFound (also, without a journal, for an ended order past the venue's history; with one
    // such an order is read back from it), Unavailable; Internal when the journal cannot be read.
    OrderReport get_order(const std::string& account_id, const std::string& broker_order_id,
                          const std::string& client_order_id) const;
    // open_only: every open order; else every order updated at or after since_ns. Ordered by id.
    std::vector<OrderReport> list_orders(const std::string& account_id, bool open_only,
                                         int64_t since_ns) const;
    // Fills executed at or after since_ns, in execution order.
    std::vector<Fill> list_fills(const std::string& account_id, int64_t since_ns) const;
    // ABI 1.3 pages of list_orders / list_fills (same filters): items in order number / trade
    // number order (the venue's own sequence, which is also time order), at most `limit` of them
    // (0: all), and the cursor of the next page when more match. A cursor ("o:<n>" / "t:<n>",
    // opaque to the host) names the number of the last item of its page, so pages are stable
    // while new orders and fills arrive: those come after it. A cursor this venue did not give
    // (malformed, of the other kind, or naming a number not issued yet) throws InvalidArgument.
    // Complete: with a journal, over the whole history (what memory forgot is read back);
    // without one, over VenueConfig::history (all of it by default): an ended order or a fill
    // older than that is no longer listed. Throws Unavailable; Internal when the journal cannot
    // be read.
    ReportPage<OrderReport> list_orders_page(const std::string& account_id, bool open_only,
                                             int64_t since_ns, const std::string& cursor,
                                             uint32_t limit) const;
    ReportPage<Fill> list_fills_page(const std::string& account_id, int64_t since_ns,
                                     const std::string& cursor, uint32_t limit) const;
    // Non-zero positions of the account (all accounts when empty). Throws NotFound for an unknown
    // account, Unavailable.
    std::vector<Position> positions(const std::string& account_id) const;
    // Throws NotFound for an unknown account, Unavailable.
    Account account(const std::string& account_id);
    // The symbol's quote (starting its walk if new). Throws InvalidArgument for an empty symbol,
    // Unavailable.
    Quote quote(const std::string& symbol, const std::string& exchange);
    // Replaces the subscribed instruments; queues their current quotes at once, and a quote each
    // step afterwards. Throws Unavailable.
    void subscribe_prices(const std::vector<Instrument>& instruments);
    // Throws Unavailable when disconnected.
    void ping() const;

    // ---- native GTT (ABI 1.5) ------------------------------------------------------------
    // The venue keeps GTTs ("PG-<n>", numbered across restarts by the journal) and watches its
    // own prices: at each step, after the walk moved and before resting orders match, an ACTIVE
    // GTT whose leg's trigger the last price reached fires that leg: the GTT becomes TRIGGERED
    // (its update queued first, naming the order's id to come), then the leg's order is placed
    // as place_order places one (its updates and fills follow); the other leg of an OCO is
    // cancelled with it (journalled per leg). A leg's order the venue refuses makes the GTT
    // REJECTED with the reason. An expired GTT becomes EXPIRED. A leg fires when the price
    // rises to a trigger that was above the last price when the GTT was placed or modified, or
    // falls to one that was below. Every change is journalled ("G" lines, the whole GTT).
    // The calls have the order calls' transport (send_delay_ms: Timeout, nothing done;
    // latency_ms: UnknownOutcome, done) but no injected faults.
    //
    // Places a GTT. A gtt_id the account already holds answers that GTT (a retry). Throws
    // InvalidArgument (no gtt_id, leg count against the type, a leg without a client order id
    // or a positive quantity); Rejected (unknown account, a trigger at the last price, OCO legs
    // on one side); Unavailable; Timeout; UnknownOutcome.
    GttReport place_gtt(const GttRequest& request, std::chrono::milliseconds timeout);
    // Replaces an ACTIVE GTT's type, legs and expiry (by broker_gtt_id, else gtt_id) and arms
    // it again. Throws NotFound; Rejected (not ACTIVE; as place); Unavailable; Timeout;
    // UnknownOutcome.
    GttReport modify_gtt(const GttRequest& request, std::chrono::milliseconds timeout);
    // ACTIVE -> CANCELLED; a CANCELLED GTT answers as it is. Throws NotFound; Rejected (fired,
    // expired or rejected); Unavailable; Timeout; UnknownOutcome.
    GttReport cancel_gtt(const GttRequest& request, std::chrono::milliseconds timeout);
    // By broker_gtt_id, else by (account, gtt_id). Throws NotFound, Unavailable.
    GttReport get_gtt(const std::string& account_id, const std::string& gtt_id,
                      const std::string& broker_gtt_id) const;
    // The account's GTTs ("" = all), by number; only ACTIVE ones when active_only.
    std::vector<GttReport> list_gtts(const std::string& account_id, bool active_only) const;

    // Advances the walk `n` steps: each step moves every known symbol, then matches every open
    // order in id order, then queues quotes of subscribed instruments.
    void step(int n = 1);
    // Drops what VenueConfig::history says memory no longer keeps, as each place and step()
    // does first: for a venue that is neither trading nor ticking (tick_ms 0), whose worker
    // calls it on a timer so memory follows `history` once the orders stop.
    void forget_history();
    // Simulates the link going down or coming back; queues a connection event.
    void set_disconnected(bool disconnected, const std::string& detail);
    bool disconnected() const;
    uint64_t ticks() const;

    // Writes the price state and counters to the journal (no-op without one).
    void snapshot();
    // snapshot(), then closes the journal; calls afterwards throw Unavailable. Idempotent.
    void close();

    // What memory holds now (open and ended orders, fills): the rest of the history is in the
    // journal. For tests and measurements.
    struct Held {
        size_t orders = 0;
        size_t fills = 0;
    };
    Held held() const;

    EventQueue& events() { return events_; }
    VenueEvents drain_events() { return events_.take_all(); }

  private:
    struct OrderState {
        uint64_t number = 0;
        OrderReport report;
        Decimal notional;  // sum of quantity * price over its executions
        bool triggered = false;
        int64_t created_at_ns = 0;
    };
    struct AccountState {
        std::string currency;
        Decimal cash;
    };
    struct PositionState {
        Decimal quantity;
        Decimal average_price;
    };
    struct SymbolState {
        Decimal last;
        SplitMix64 rng;
        uint64_t steps = 0;
        int64_t at_ns = 0;
    };
    struct FaultDraw {
        bool timeout_before = false;
        bool reject = false;
        bool timeout_after = false;
    };
    using PositionKey = std::tuple<std::string, std::string, std::string>;
    enum class Op { Place, Modify, Cancel };

    int64_t now() const;
    void check_usable_locked() const;
    FaultDraw draw_faults_locked(Op op);
    bool draw_locked(const Decimal& ratio);
    // Sleeps send_delay, throwing Timeout when the deadline passes first.
    void before_send(std::chrono::milliseconds timeout, const char* what) const;
    // The start of every order call: connection check, fault draw, an injected timeout before
    // sending (throws), then the send delay.
    FaultDraw start_call(Op op, std::chrono::milliseconds timeout, const char* what);
    // Sleeps latency, throwing UnknownOutcome when the deadline passes first.
    void after_send(std::chrono::milliseconds timeout, const char* what) const;

    SymbolState& symbol_locked(const std::string& symbol);
    Quote quote_locked(const std::string& symbol, const std::string& exchange);
    void validate_shape(OrderType type, const std::optional<Decimal>& price,
                        const std::optional<Decimal>& trigger) const;
    bool on_grid(const Decimal& price) const;
    Decimal reference_price_locked(const OrderState& o);
    Decimal reserved_locked(const std::string& account, uint64_t except_number);
    Decimal margin_locked(const std::string& account);
    Decimal open_sell_locked(const std::string& account, const std::string& symbol,
                             const std::string& exchange, uint64_t except_number);
    Account account_locked(const std::string& account_id);

    const OrderState* find_locked(const std::string& account_id, const std::string& broker_order_id,
                                  const std::string& client_order_id) const;
    // As find_locked, then among the orders memory forgot: such an order is read back from the
    // journal into *spare (always an ended order). nullptr when neither has it.
    const OrderState* lookup_locked(const std::string& account_id,
                                    const std::string& broker_order_id,
                                    const std::string& client_order_id, OrderState* spare) const;
    OrderState* lookup_locked(const std::string& account_id, const std::string& broker_order_id,
                              const std::string& client_order_id, OrderState* spare);
    // Whether the account has an order with this client order id, in memory or forgotten.
    bool client_id_taken_locked(const std::string& account_id,
                                const std::string& client_order_id) const;
    OrderReport reject_locked(OrderState&& o, const std::string& reason);
    // place_order's work under the lock: the report (also of an order refused after receipt,
    // kept as REJECTED), and in *refusal the refusal to throw, if any.
    OrderReport place_locked(const OrderRequest& request, bool fault_reject,
                             std::optional<VenueError>* refusal);

    struct GttState {
        uint64_t number = 0;
        GttReport report;
        std::vector<bool> rises;               // per leg: fires when the price rises to it
        std::vector<std::string> leg_status;   // per leg: "", TRIGGERED, CANCELLED
    };
    GttState* find_gtt_locked(const std::string& account_id, const std::string& gtt_id,
                              const std::string& broker_gtt_id);
    // Checks the legs against the type and arms them against the last price; throws.
    void arm_gtt_locked(GttState& g, const GttRequest& request);
    // Stamps, journals and (push = true) queues the GTT's update.
    void gtt_changed_locked(GttState& g, const char* journal_event, bool push);
    void check_gtts_locked();
    JournalRecord gtt_record(const GttState& g, const char* event) const;
    void replay_gtt(const JournalRecord& r);
    void gtt_call_start(std::chrono::milliseconds timeout, const char* what);
    void try_execute_locked(OrderState& o, bool entry);
    void execute_locked(OrderState& o, const Decimal& quantity, const Decimal& price);
    void finish_locked(OrderState& o, OrderStatus status, const std::string& reason,
                       const char* journal_event);
    // Every change of an order's report: stamps it, sets its leaves quantity and exec_id (the
    // trade that caused it, or none), journals it and queues the order update.
    void order_changed_locked(OrderState& o, const char* journal_event,
                              const std::string& exec_id = std::string());
    // A refused cancel or modify of an existing order: its report keeps the reason in
    // cancel_reject_reason (journalled; no order update is pushed, the order did not change).
    void refused_locked(OrderState& o, const std::string& reason, const char* journal_event);
    uint64_t cursor_number(const std::string& cursor, std::string_view prefix,
                           uint64_t issued_below, const char* what) const;
    void apply_fill_to_books_locked(const Fill& f);
    void emit_locked(VenueEvent&& event);
    OrderReport cancel_locked(OrderState& o);
    void step_locked();
    void snapshot_locked();
    // With a history set: drops the ended orders and the fills whose last change is older than
    // it, oldest first (the journal keeps them). Amortised O(1) per order.
    void forget_history_locked();
    // An order that has ended, for forget_history_locked() (its number and when it ended).
    void retire_locked(const OrderState& o);

    // Appends to the journal (no-op without one) and returns the line's offset.
    uint64_t record_locked(const JournalRecord& r);
    // Journals the order's state (no-op without a journal) and notes where its line is.
    void journal_order_locked(const OrderState& o, const char* event);
    void journal_fill_locked(const Fill& f, uint64_t trade_number);
    // Whether forgotten history is kept in the journal (a journal and a history set).
    bool keeps_lines() const;
    // The account's tag (1..254, by first sight; RecordLines::kManyAccounts past that), 0 when it
    // has none.
    uint8_t account_tag(const std::string& account) const;
    uint8_t tag_account(const std::string& account);
    // Runs f, an operation on the history indexes; their file failing (JournalError) fails the
    // venue as a failed journal write does: memory and the indexes no longer agree.
    template <typename F>
    auto index_io_locked(F&& f) const -> decltype(f());  // paper_venue.cpp
    // The numbers of forgotten orders that may have this client order id (the index's candidates).
    std::vector<uint64_t> forgotten_numbers_locked(const std::string& client_order_id) const;
    // A forgotten order / fill read back from its journal line (nullopt: no line for it).
    std::optional<OrderState> read_order_locked(uint64_t number) const;
    std::optional<Fill> read_fill_locked(uint64_t number) const;
    OrderState order_from_record(const JournalRecord& r) const;
    Fill fill_from_record(const JournalRecord& r) const;
    // Whether a listing from since_ns may include something memory forgot.
    bool reaches_forgotten(int64_t since_ns) const;
    ReportPage<OrderReport> list_orders_page_locked(const std::string& account_id, bool open_only,
                                                    int64_t since_ns, uint64_t after,
                                                    uint32_t limit) const;
    ReportPage<Fill> list_fills_page_locked(const std::string& account_id, int64_t since_ns,
                                            uint64_t after, uint32_t limit) const;
    void replay(const JournalRecord& r);
    // After replay: an order whose snapshot is behind its fills (a crash between the fill's line
    // and the order's) takes its filled quantity from the fills, and the repair is journalled.
    void repair_orders_from_fills();
    // After a replay: a triggered GTT whose order the journal lacks gets it (see the .cpp).
    void place_missing_gtt_orders_locked();
    // Places leg `leg` of a triggered GTT (the next order number); a refusal ends the GTT
    // REJECTED with the venue's reason.
    void place_gtt_leg_locked(GttState& g, size_t leg);
    JournalRecord order_record(const OrderState& o, const char* event) const;
    JournalRecord fill_record(const Fill& f) const;

    VenueConfig config_;
    VenueEnv env_;
    EventQueue events_;

    mutable std::mutex mu_;
    std::map<uint64_t, OrderState> orders_;
    std::set<uint64_t> open_;
    std::map<std::pair<std::string, std::string>, uint64_t> by_client_id_;
    std::deque<Fill> fills_;
    // Ended orders as (ended at, number), oldest first: what forget_history_locked() walks.
    std::deque<std::pair<int64_t, uint64_t>> retired_;
    std::map<std::string, AccountState> accounts_;
    std::map<PositionKey, PositionState> positions_;
    std::map<std::string, SymbolState> symbols_;
    std::vector<Instrument> subscriptions_;
    SplitMix64 fault_rng_;
    uint64_t next_order_ = 1;
    std::map<uint64_t, GttState> gtts_;
    std::map<std::pair<std::string, std::string>, uint64_t> gtt_by_id_;  // (account, gtt_id)
    uint64_t next_gtt_ = 1;
    uint64_t next_trade_ = 1;
    uint64_t ticks_ = 0;
    bool disconnected_ = false;
    bool closed_ = false;
    mutable std::string failed_;  // non-empty after a journal or history index failure
    JournalFile journal_;
    bool replay_header_seen_ = false;

    // ---- history memory forgot, kept in the journal (keeps_lines()) -----------------------------
    // Each order's latest line and each fill's line, by number, with their accounts' tags (in
    // unlinked files beside the journal, rebuilt by every start's replay).
    RecordLines order_lines_;
    RecordLines fill_lines_;
    std::map<std::string, uint8_t> account_tags_;
    // Hash of the client order id -> number, for the orders memory forgot.
    HashedNumbers forgotten_client_ids_;
    bool forgot_any_ = false;
    // Every forgotten order and fill last changed before this.
    int64_t forgotten_before_ns_ = 0;
    // Replay: the offset of the record being replayed, and each order's executions so far, for
    // the repair of an order whose line is behind its fills (dropped once an ended order agrees).
    uint64_t replay_offset_ = 0;
    bool replaying_ = false;
    std::unordered_map<std::string, std::pair<Decimal, Decimal>> replay_executed_;
};

}  // namespace ordergate::paper
