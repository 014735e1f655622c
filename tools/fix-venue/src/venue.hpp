// The venue's matching engine and FIX application logic: a price-time book per symbol, the
// liquidity provider, behaviour profiles, trade busts and corrections, and the JSON dump that
// tests use as the oracle. Thread-safe (one mutex); it never calls QuickFIX itself: it returns
// the messages to send, and the transport sends them.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fix_transport.hpp"
#include "ordergate/decimal.hpp"

namespace ordergate::fixvenue {

// Behaviours of other standard counterparties, per session.
struct Profile {
    bool no_new_ack = false;             // an order that trades on arrival gets no New ack first
    bool cancel_own_clordid = false;     // Canceled reports carry the order's ClOrdID, no 41
    bool ignore_unknown_cancel = false;  // no OrderCancelReject for a cancel of an unknown order
    bool pending_acks = false;           // PendingCancel / PendingReplace before the outcome
    bool hold = false;                   // cancel/replace stay pending until release()
    bool no_replace = false;             // no OrderCancelReplaceRequest: 35=G gets a 35=j
};
// Sets one profile switch by its name; false when the name is unknown.
bool set_profile_flag(Profile& p, const std::string& name, bool on);
std::string profile_flags(const Profile& p);  // "no-new-ack,hold" (for `sessions`)

struct EngineConfig {
    std::set<std::string> symbols;          // empty: every symbol is tradable
    std::map<std::string, Decimal> prices;  // liquidity provider reference price per symbol
    std::optional<Decimal> lp_slice;        // the provider fills in slices of at most this
    std::optional<Decimal> lp_depth;        // and at most this much per order (rest stays open)
    std::string run_id;                     // makes OrderIDs/ExecIDs unique across restarts
    // Client CompID -> firm. Sessions of one firm see and act on each other's orders (status,
    // mass status, cancel, replace), as several gateways of one firm at a venue do; a session
    // named in no firm is a firm of its own.
    std::map<std::string, std::string> firms;
};

class Venue {
  public:
    // Receives every message to send, under the engine's lock, in the order they were made.
    using Sink = std::function<void(std::vector<OutMessage>)>;
    Venue(EngineConfig config, Sink sink) : Venue(std::move(config)) { sink_ = std::move(sink); }
    explicit Venue(EngineConfig config);

    // A client message (its answers go to the sink).
    void handle(const InMessage& msg);

    // ---- control (answers go to the sink; errors throw ControlError) -------------------------
    void set_price(const std::string& symbol, const Decimal& px);
    void clear_price(const std::string& symbol);
    // Fills `qty` of an order (OrderID or any ClOrdID of its chain) against the house.
    void house_fill(const std::string& ref, const Decimal& qty, std::optional<Decimal> px);
    void bust(const std::string& exec_or_trade_id);
    void correct(const std::string& exec_or_trade_id, const Decimal& qty, const Decimal& px);
    void release(const std::string& session);  // applies held requests
    void end_of_day();                         // expires DAY orders
    void set_profile(const std::string& session, const std::string& flag, bool on);
    Profile profile(const std::string& session) const;

    // Every order, trade and reject, as one line of JSON (prices and quantities are strings).
    std::string dump_json() const;

  private:
    struct Execution {
        std::string exec_id;  // the latest report of this execution (fill, correction)
        Decimal qty, px;
    };
    struct Order {
        std::string order_id, session, symbol;  // session: where its reports go (see firm)
        std::string account;                    // Account (1) as the order gave it, echoed
        std::vector<std::string> cl_ord_ids;    // accepted chain; back() is the current one
        char side = '1', ord_type = '2', tif = '0';
        Decimal qty, price;
        bool has_price = false;
        Decimal cum, leaves, notional;
        char status = '0';
        uint64_t priority = 0;
        bool in_book = false;
        // A held cancel ('F') or replace ('G'), waiting for release().
        std::optional<InMessage> pending;
        std::vector<std::string> exec_ids;  // every report with an ExecID other than "0"
    };
    struct Side {
        std::string order_id;  // empty: the liquidity provider / the house
        std::string exec_id;   // latest ExecID of this side's execution
    };
    struct Trade {
        std::string trade_id, symbol;
        Decimal qty, px;
        Side buy, sell;
        bool busted = false;
        std::vector<std::string> history;  // "qty@px" of every correction
    };
    struct Book {
        std::map<Decimal, std::deque<std::string>, std::greater<Decimal>> bids;
        std::map<Decimal, std::deque<std::string>> asks;
    };
    struct Reject {
        std::string session, msg_type, cl_ord_id, reason;
    };
    // An ExecutionReport before it is written for the session's FIX version.
    struct Report {
        char exec_type = '0';   // the 4.4 value
        char exec_type_42 = 0;  // 4.2 ExecType when it differs (fills, corrections, busts)
        char ord_status = '0';
        std::string exec_id, exec_ref_id, cl_ord_id, orig_cl_ord_id, text;
        std::optional<Decimal> last_qty, last_px;
        int ord_rej_reason = -1;
        std::string mass_status_req_id, ord_status_req_id;
        int tot_num_reports = -1;
        bool last_rpt_requested = false;
    };

    std::string next_id(char prefix);
    // The firm of a session ("FIX.4.4:VENUE->GW1"): its orders are the firm's.
    std::string firm(const std::string& session) const;
    Order* find_order(const std::string& session, const std::string& cl_ord_id,
                      const std::string& order_id);
    Order* find_any(const std::string& ref);
    char reported_status(const Order& o) const;
    // A report on `o` for the session it belongs to, or for `to` (an answer to a request another
    // session of the firm made).
    OutMessage exec_report(const Order& o, const Report& r, const std::string& to = "") const;
    OutMessage exec_report_for(const InMessage& req, const Report& r, const std::string& symbol,
                               char side) const;
    OutMessage cancel_reject(const InMessage& req, const Order* o, char response_to, int reason,
                             const std::string& text) const;
    OutMessage business_reject(const InMessage& req, int reason, const std::string& text) const;
    void reject_order(const InMessage& req, int reason, const std::string& text,
                      std::vector<OutMessage>& out);

    void on_new_order(const InMessage& m, std::vector<OutMessage>& out);
    void on_cancel(const InMessage& m, std::vector<OutMessage>& out);
    void on_replace(const InMessage& m, std::vector<OutMessage>& out);
    Order* admit_change(const InMessage& m, char response_to, std::vector<OutMessage>& out);
    void on_status(const InMessage& m, std::vector<OutMessage>& out);
    void on_mass_status(const InMessage& m, std::vector<OutMessage>& out);
    void apply_cancel(Order& o, const InMessage& m, std::vector<OutMessage>& out);
    void apply_replace(Order& o, const InMessage& m, std::vector<OutMessage>& out);

    void add_to_book(Order& o);
    void remove_from_book(Order& o);
    // Trades `o` against the book and the provider while it crosses; returns the fill reports.
    void match(Order& o, std::vector<OutMessage>& out);
    Decimal available(const Order& o) const;  // what `o` could trade now (FOK)
    void execute(Order& aggressor, Order* resting, const Decimal& qty, const Decimal& px,
                 std::vector<OutMessage>& out);
    void fill_side(Order& o, Side& side, const Decimal& qty, const Decimal& px,
                   std::vector<OutMessage>& out);
    void finish_unrested(Order& o, const std::string& why, std::vector<OutMessage>& out);
    void adjust(const std::string& ref, const Decimal& qty, const Decimal& px, bool bust);
    void emit(std::vector<OutMessage> out);
    void adjust_side(Trade& t, Side& side, const Decimal& old_qty, const Decimal& old_px, bool bust,
                     std::vector<OutMessage>& out);
    Decimal avg_px(const Order& o) const;

    mutable std::mutex mu_;
    Sink sink_;
    EngineConfig config_;
    uint64_t id_counter_ = 0;
    uint64_t priority_counter_ = 0;
    std::map<std::string, Order> orders_;      // by OrderID
    std::vector<std::string> order_sequence_;  // OrderIDs in arrival order (dump)
    std::map<std::string, std::map<std::string, std::string>>
        by_cl_ord_id_;  // firm -> id -> OrderID
    std::map<std::string, Book> books_;
    std::map<std::string, Trade> trades_;
    std::vector<std::string> trade_sequence_;
    std::map<std::string, std::string> trade_of_exec_;  // ExecID -> trade id
    std::vector<Reject> rejects_;
    std::map<std::string, Profile> profiles_;
    std::map<std::string, int> new_order_messages_;  // per session, duplicates included
};

struct ControlError : std::runtime_error {
    ControlError(std::string code, const std::string& what)
        : std::runtime_error(what), code(std::move(code)) {}
    std::string code;
};

}  // namespace ordergate::fixvenue
