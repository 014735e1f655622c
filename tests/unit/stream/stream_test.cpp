// The event log's journal (entries in the batch of their change) and the stream hub's slow
// consumer, with fakes of the storage and of a WebSocket connection.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "stream/event_log.hpp"
#include "stream/stream_hub.hpp"

namespace ordergate::stream {
namespace {

// A store holding only an event log (every other call is not expected).
class LogStorage : public ports::StoragePort {
  public:
    int64_t migrate() override { return 0; }
    void ping() override {}
    std::vector<Status> write_batch(const std::vector<WriteOp>&) override { unexpected(); }
    std::optional<OrderRecord> get_order(const std::string&) override { unexpected(); }
    std::optional<OrderRecord> get_order_by_client_id(const std::string&,
                                                      const std::string&) override {
        unexpected();
    }
    std::optional<OrderRecord> get_order_by_broker_id(const std::string&,
                                                      const std::string&) override {
        unexpected();
    }
    Page<OrderRecord> list_orders(const OrderQuery&) override { unexpected(); }
    std::vector<OrderEvent> list_events(const std::string&, int64_t, uint32_t) override {
        unexpected();
    }
    Page<FillRecord> list_fills(const FillQuery&) override { unexpected(); }
    std::optional<GttRecord> get_gtt(const std::string&) override { unexpected(); }
    Page<GttRecord> list_gtts(const std::vector<std::string>&, bool, const std::string&,
                              uint32_t) override {
        unexpected();
    }
    Page<ReconRun> list_recon_runs(const std::string&, const std::string&, uint32_t) override {
        unexpected();
    }
    AccountEventPage list_account_events(const std::string& account, int64_t after,
                                         uint32_t limit) override {
        std::lock_guard lock(mu);
        AccountEventPage p;
        for (const auto& e : entries) {
            if (e.account_id != account) continue;
            if (p.oldest_seq == 0) p.oldest_seq = e.seq;
            p.last_seq = e.seq;
            if (e.seq > after && p.items.size() < limit) p.items.push_back(e);
        }
        return p;
    }
    void add(const std::string& account, int n) {
        std::lock_guard lock(mu);
        for (int i = 0; i < n; ++i) {
            AccountEvent e;
            e.account_id = account;
            e.seq = static_cast<int64_t>(entries.size()) + 1;
            e.topic = kTopicOrders;
            e.data_json = "{\"n\":" + std::to_string(e.seq) + "}";
            entries.push_back(e);
        }
    }
    std::mutex mu;
    std::vector<AccountEvent> entries;

  private:
    [[noreturn]] static void unexpected() { throw sdk::Error(Status::Internal, "not expected"); }
};

// A connection whose client stops reading: every send blocks until released. The state outlives
// the session (the hub destroys the session when the client is gone).
struct StuckState {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::string> inbox;
    std::vector<std::string> sent;
    int sends_started = 0;
    bool released = false;
    bool aborted = false;
    int close_code = 0;
};

class StuckSession : public http::WebSocketSession {
  public:
    explicit StuckSession(std::shared_ptr<StuckState> st) : st_(std::move(st)) {}
    Frame receive(std::string* payload, std::chrono::milliseconds timeout) override {
        std::unique_lock lock(st_->mu);
        st_->cv.wait_for(lock, timeout, [&] { return !st_->inbox.empty() || st_->aborted; });
        if (st_->aborted) throw std::runtime_error("aborted");
        if (st_->inbox.empty()) return Frame::Timeout;
        *payload = st_->inbox.front();
        st_->inbox.pop_front();
        return Frame::Text;
    }
    void send_text(std::string_view text) override {
        std::unique_lock lock(st_->mu);
        ++st_->sends_started;
        st_->cv.notify_all();
        st_->cv.wait(lock, [&] { return st_->released || st_->aborted; });
        if (st_->aborted) throw std::runtime_error("aborted");
        st_->sent.emplace_back(text);
        st_->cv.notify_all();
    }
    void send_ping() override {}
    void send_pong(std::string_view) override {}
    void close(int code, std::string_view) override {
        std::lock_guard lock(st_->mu);
        st_->close_code = code;
        st_->aborted = true;
        st_->cv.notify_all();
    }
    void abort() override {
        std::lock_guard lock(st_->mu);
        st_->aborted = true;
        st_->cv.notify_all();
    }

  private:
    std::shared_ptr<StuckState> st_;
};

Decimal dec(const char* text) {
    Decimal d;
    if (!Decimal::parse(text, &d)) throw std::invalid_argument(text);
    return d;
}

Renderers renderers() {
    Renderers r;
    r.order = [](const OrderRecord& o) { return "{\"order\":\"" + o.id + "\"}"; };
    r.fill = [](const FillRecord& f) { return "{\"fill\":\"" + f.id + "\"}"; };
    r.position = [](const positions::PositionView& p) {
        return "{\"quantity\":\"" + p.quantity.to_string() + "\"}";
    };
    return r;
}

// An order write of ACC1 (its entry: the order's document).
WriteOp order_op(WriteKind kind, const std::string& id) {
    WriteOp op;
    op.kind = kind;
    op.order.id = id;
    op.order.account_id = "ACC1";
    return op;
}

// A BUY fill of INFY on NSE for ACC1 (its entries: the trade and the position).
WriteOp fill_op(const std::string& id, const char* quantity, const char* price = "10",
                const std::string& broker = "paper") {
    WriteOp op;
    op.kind = WriteKind::InsertFill;
    op.fill.id = id;
    op.fill.account_id = "ACC1";
    op.fill.broker = broker;
    op.fill.symbol = "INFY";
    op.fill.exchange = "NSE";
    op.fill.side = Side::Buy;
    op.fill.quantity = dec(quantity);
    op.fill.price = dec(price);
    return op;
}

TEST(EventLogJournal, EachChangeIsFollowedByItsEntriesFlaggedRequiresPrevious) {
    LogStorage storage;
    EventLog log(storage, renderers(), system_clock(), {});
    std::vector<WriteOp> ops{order_op(WriteKind::InsertOrder, "ord_1"), fill_op("trd_1", "2"),
                             fill_op("trd_2", "2")};
    std::vector<WriteOp> out;
    std::vector<size_t> index_of;
    log.annotate(ops, &out, &index_of);
    ASSERT_EQ(out.size(), size_t{8});
    EXPECT_EQ(index_of, (std::vector<size_t>{0, 2, 5}));
    EXPECT_EQ(out[1].kind, WriteKind::AppendEvent);
    EXPECT_TRUE(out[1].requires_previous);
    EXPECT_EQ(out[1].account_event.topic, kTopicOrders);
    EXPECT_EQ(out[1].account_event.data_json, "{\"order\":\"ord_1\"}");
    EXPECT_EQ(out[3].account_event.topic, kTopicTrades);
    EXPECT_EQ(out[4].account_event.topic, kTopicPositions);
    // The second fill's position builds on the first one of the same batch.
    EXPECT_EQ(out[4].account_event.data_json, "{\"quantity\":\"2\"}");
    EXPECT_EQ(out[7].account_event.data_json, "{\"quantity\":\"4\"}");
    // The first fill was a duplicate: the committed book counts the second only.
    std::vector<Status> results(out.size(), Status::Ok);
    results[2] = results[3] = results[4] = Status::Conflict;
    log.committed(out, results);
    log.annotate({ops[2]}, &out, &index_of);
    ASSERT_EQ(out.size(), size_t{3});
    EXPECT_EQ(out[2].account_event.data_json, "{\"quantity\":\"4\"}");
}

// Documents rendered ahead (on the thread that queued the write) are taken as they are; an op
// without one (empty) is rendered by annotate; a position's entry is always annotate's.
TEST(EventLogJournal, DocumentsRenderedAheadAreTakenAndTheMissingOnesRendered) {
    LogStorage storage;
    EventLog log(storage, renderers(), system_clock(), {});
    std::vector<WriteOp> ops{order_op(WriteKind::InsertOrder, "ord_1"), fill_op("trd_1", "2"),
                             order_op(WriteKind::UpdateOrder, "ord_2")};
    std::vector<std::string> ahead = log.render_ahead(ops);
    EXPECT_EQ(ahead, (std::vector<std::string>{"{\"order\":\"ord_1\"}", "{\"fill\":\"trd_1\"}",
                                               "{\"order\":\"ord_2\"}"}));
    ahead[0] = "{\"order\":\"as rendered ahead\"}";  // taken as it is, not rendered again
    ahead[2].clear();                                   // rendered by annotate
    std::vector<WriteOp> out;
    std::vector<size_t> index_of;
    log.annotate(ops, &out, &index_of, &ahead);
    ASSERT_EQ(out.size(), size_t{7});
    EXPECT_EQ(index_of, (std::vector<size_t>{0, 2, 5}));
    EXPECT_EQ(out[1].account_event.data_json, "{\"order\":\"as rendered ahead\"}");
    EXPECT_EQ(out[3].account_event.data_json, "{\"fill\":\"trd_1\"}");
    EXPECT_EQ(out[4].account_event.topic, kTopicPositions);
    EXPECT_EQ(out[4].account_event.data_json, "{\"quantity\":\"2\"}");
    EXPECT_EQ(out[6].account_event.data_json, "{\"order\":\"ord_2\"}");
}

// Position documents with their unrealized P&L, for the price-driven entries.
Renderers pnl_renderers() {
    Renderers r = renderers();
    r.position = [](const positions::PositionView& p) {
        return "{\"quantity\":\"" + p.quantity.to_string() + "\",\"unrealized_pnl\":\"" +
               (p.unrealized_pnl ? p.unrealized_pnl->to_string() : std::string("null")) + "\"}";
    };
    return r;
}

// The gateway's writer as the event log sees it: annotate, commit every op, committed. Keeps
// each batch as written.
struct JournalWriter {
    EventLog* log = nullptr;
    std::function<void()> before;  // runs ahead of the batch's annotation (a fill meanwhile)
    std::vector<std::vector<WriteOp>> batches;
    std::vector<Status> write(std::vector<WriteOp> ops) {
        if (before) std::exchange(before, nullptr)();
        std::vector<WriteOp> out;
        std::vector<size_t> index_of;
        log->annotate(ops, &out, &index_of);
        std::vector<Status> results(out.size(), Status::Ok);
        log->committed(out, results);
        batches.push_back(out);
        std::vector<Status> mine;
        for (size_t at : index_of) mine.push_back(results[at]);
        return mine;
    }
    // The "positions" entries of the last batch.
    std::vector<std::string> positions() const {
        std::vector<std::string> out;
        if (batches.empty()) return out;
        for (const WriteOp& op : batches.back())
            if (op.kind == WriteKind::AppendEvent && op.account_event.topic == kTopicPositions)
                out.push_back(op.account_event.data_json);
        return out;
    }
};

EventLog::Marks marks_through(JournalWriter& w) {
    EventLog::Marks m;
    m.every = std::chrono::milliseconds(0);  // no thread: passes are driven by hand
    m.write = [&w](std::vector<WriteOp> ops) { return w.write(std::move(ops)); };
    return m;
}

// API.md "Streaming": an open position gets an entry when its unrealized P&L moves with the
// price, once per pass at most, and none while it stands still, is flat or has no price.
TEST(EventLogMarks, AnOpenPositionGetsAnEntryWhenItsUnrealizedPnlMovesAndOnlyThen) {
    LogStorage storage;
    EventLog log(storage, pnl_renderers(), system_clock(), {});
    std::optional<Decimal> last;  // INFY's last price
    log.set_price_source([&](const std::string& symbol, const std::string& exchange) {
        EXPECT_EQ(symbol, "INFY");
        EXPECT_EQ(exchange, "NSE");
        return last;
    });
    JournalWriter w;
    w.log = &log;
    log.start_marks(marks_through(w));
    EXPECT_EQ(log.mark_once(), size_t{0});  // no position yet
    w.write({fill_op("trd_1", "2", "10")});
    // The fill's own entry: no price known, so no unrealized P&L.
    EXPECT_EQ(w.positions(),
              (std::vector<std::string>{"{\"quantity\":\"2\",\"unrealized_pnl\":\"null\"}"}));
    EXPECT_EQ(log.mark_once(), size_t{0});  // still no price
    last = dec("10.25");
    ASSERT_EQ(log.mark_once(), size_t{1});
    EXPECT_EQ(w.positions(),
              (std::vector<std::string>{"{\"quantity\":\"2\",\"unrealized_pnl\":\"0.50\"}"}));
    const WriteOp& mark = w.batches.back().front();
    EXPECT_EQ(mark.kind, WriteKind::AppendEvent);
    EXPECT_FALSE(mark.requires_previous);
    EXPECT_EQ(mark.account_event.account_id, "ACC1");
    EXPECT_EQ(log.mark_once(), size_t{0});  // the same price: the same P&L, nothing new
    last = dec("10.250");                   // the same figure at another scale: nothing new
    EXPECT_EQ(log.mark_once(), size_t{0});
    last = dec("9.5");
    ASSERT_EQ(log.mark_once(), size_t{1});
    EXPECT_EQ(w.positions(),
              (std::vector<std::string>{"{\"quantity\":\"2\",\"unrealized_pnl\":\"-1.0\"}"}));
    // A fill's entry carries the P&L at the last price too: no price-driven entry repeats it.
    w.write({fill_op("trd_2", "2", "9.5")});
    EXPECT_EQ(w.positions(),
              (std::vector<std::string>{"{\"quantity\":\"4\",\"unrealized_pnl\":\"-1.0\"}"}));
    EXPECT_EQ(log.mark_once(), size_t{0});
    // Flat: 0 at any price, no entry of its own.
    WriteOp sell = fill_op("trd_3", "4", "9.5");
    sell.fill.side = Side::Sell;
    w.write({sell});
    last = dec("12");
    EXPECT_EQ(log.mark_once(), size_t{0});
    EXPECT_EQ(log.marks_written(), uint64_t{2});
}

// The entry shows the position as of its commit: a fill committed after the pass queued it (or
// ahead of it in the same batch) is in it, so a client never sees a position go back.
TEST(EventLogMarks, AnEntryShowsThePositionAtItsCommitNotWhenItWasQueued) {
    LogStorage storage;
    EventLog log(storage, pnl_renderers(), system_clock(), {});
    std::optional<Decimal> last = dec("11");
    log.set_price_source([&](const std::string&, const std::string&) { return last; });
    JournalWriter w;
    w.log = &log;
    log.start_marks(marks_through(w));
    w.write({fill_op("trd_1", "2", "10")});
    last = dec("12");
    // The pass sees 2 at 10 (P&L 4); a fill of 1 at 12 commits before its batch is annotated.
    w.before = [&] { w.write({fill_op("trd_2", "1", "12")}); };
    ASSERT_EQ(log.mark_once(), size_t{1});
    EXPECT_EQ(w.positions(),
              (std::vector<std::string>{"{\"quantity\":\"3\",\"unrealized_pnl\":\"4\"}"}));
    // In one batch behind a fill of the same position: the position after that fill.
    last = dec("13");
    std::vector<WriteOp> ops{fill_op("trd_3", "1", "13")};
    WriteOp mark;
    mark.kind = WriteKind::AppendEvent;
    mark.account_event.account_id = "ACC1";
    mark.account_event.topic = kTopicPositions;
    mark.account_event.data_json = "{\"queued\":true}";
    mark.fill = ops[0].fill;
    mark.fill.id.clear();
    ops.push_back(mark);
    w.write(ops);
    EXPECT_EQ(w.positions(),
              (std::vector<std::string>{"{\"quantity\":\"4\",\"unrealized_pnl\":\"7\"}",
                                        "{\"quantity\":\"4\",\"unrealized_pnl\":\"7\"}"}));
}

// Several gateways on one store: only the one allowed (the lease's holder) writes them, and the
// lease is asked for only when there is an entry to write; a batch that failed leaves the P&L
// unmarked, so the next pass writes it.
TEST(EventLogMarks, OnlyTheAllowedGatewayWritesThemAndAFailedPassIsTriedAgain) {
    LogStorage storage;
    EventLog log(storage, pnl_renderers(), system_clock(), {});
    Decimal last = dec("11");
    log.set_price_source([&](const std::string&, const std::string&) { return last; });
    JournalWriter w;
    w.log = &log;
    bool allowed = false;
    bool fail = true;
    EventLog::Marks m;
    m.every = std::chrono::milliseconds(0);
    m.write = [&](std::vector<WriteOp> ops) -> std::vector<Status> {
        if (fail) throw sdk::Error(Status::Unavailable, "store down");
        return w.write(std::move(ops));
    };
    int asked = 0;
    m.may_mark = [&] {
        ++asked;
        return allowed;
    };
    log.start_marks(std::move(m));
    EXPECT_EQ(log.mark_once(), size_t{0});
    EXPECT_EQ(asked, 0);  // nothing to write: no lease asked for (an idle gateway renews none)
    w.write({fill_op("trd_1", "2", "10")});  // its entry carries P&L 2 already
    last = dec("12");                        // a price that moves after the fill's entry
    EXPECT_EQ(log.mark_once(), size_t{0});   // not allowed
    EXPECT_EQ(asked, 1);
    allowed = true;
    fail = true;
    EXPECT_THROW(log.mark_once(), sdk::Error);
    fail = false;
    EXPECT_EQ(log.mark_once(), size_t{1});
    EXPECT_EQ(w.positions(),
              (std::vector<std::string>{"{\"quantity\":\"2\",\"unrealized_pnl\":\"4\"}"}));
}

// A "trades" entry as another gateway instance writes it (the REST trade document).
void add_trade(LogStorage& storage, const std::string& id, const char* side, const char* qty) {
    std::lock_guard lock(storage.mu);
    AccountEvent e;
    e.account_id = "ACC1";
    e.seq = static_cast<int64_t>(storage.entries.size()) + 1;
    e.topic = kTopicTrades;
    e.data_json = "{\"id\":\"" + id +
                  "\",\"order_id\":\"ord_x\",\"broker\":\"fix\",\"broker_trade_id\":\"X" + id +
                  "\",\"account_id\":\"ACC1\",\"symbol\":\"INFY\",\"exchange\":\"NSE\","
                  "\"side\":\"" +
                  side + "\",\"quantity\":\"" + qty +
                  "\",\"price\":\"100.5\",\"fee\":\"0\",\"executed_at\":\"2026-12-02T00:00:00Z\"}";
    e.at_ns = 1;
    storage.entries.push_back(e);
}

// Several instances on one storage: the fills another instance commits reach this one's position
// books through the log; its own fills (written through it) and fills it loaded at start-up are
// not applied twice.
TEST(EventLogFollower, AppliesOtherInstancesFillsOnceAndSkipsItsOwnAndTheLoadedOnes) {
    LogStorage storage;
    add_trade(storage, "trd_old", "BUY", "100");   // before the cursor: in the loaded positions
    add_trade(storage, "trd_loaded", "BUY", "7");  // after the cursor, but loaded too
    EventLog log(storage, renderers(), system_clock(), {});
    std::mutex mu;
    std::vector<std::string> applied;
    log.follow(
        {{"ACC1", 1}}, {std::hash<std::string>{}("trd_loaded")},
        [&](const FillRecord& f) {
            std::lock_guard lock(mu);
            applied.push_back(f.id + " " + std::string(to_string(f.side)) + " " +
                              f.quantity.to_string() + "@" + f.price.to_string() + " " +
                              f.exchange);
        },
        std::chrono::milliseconds(20));
    // This instance writes a fill: annotated (its entry), committed, then read back.
    std::vector<WriteOp> ops{fill_op("trd_mine", "3", "100", "fix")};
    std::vector<WriteOp> out;
    std::vector<size_t> index_of;
    log.annotate(ops, &out, &index_of);
    add_trade(storage, "trd_mine", "BUY", "3");
    std::vector<Status> ok(out.size(), Status::Ok);
    log.committed(out, ok);
    add_trade(storage, "trd_theirs", "SELL", "2");
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (log.followed_fills() < 1 && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    add_trade(storage, "trd_later", "BUY", "5");
    while (log.followed_fills() < 2 && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    log.stop();
    std::lock_guard lock(mu);
    ASSERT_EQ(applied.size(), 2u);
    EXPECT_EQ(applied[0], "trd_theirs SELL 2@100.5 NSE");
    EXPECT_EQ(applied[1], "trd_later BUY 5@100.5 NSE");
    EXPECT_EQ(log.followed_fills(), 2u);
}

// Only a store that says it has one writer host (Unsupported) has nothing to follow; a store
// that answers, or fails to, may be shared.
TEST(EventLogFollower, OnlyAStoreWithOneWriterHostHasNothingToFollow) {
    LogStorage single;  // the port's default: Unsupported
    EXPECT_FALSE(EventLog::others_may_write(single));
    struct Shared : LogStorage {
        std::vector<AccountEvent> wait_account_events(std::chrono::milliseconds) override {
            return {};
        }
    } shared;
    EXPECT_TRUE(EventLog::others_may_write(shared));
    struct Down : LogStorage {
        std::vector<AccountEvent> wait_account_events(std::chrono::milliseconds) override {
            throw sdk::Error(Status::Unavailable, "down");
        }
    } down;
    EXPECT_TRUE(EventLog::others_may_write(down));
}

TEST(StreamHubTest, ASlowConsumerIsClosedWith4008AndCommitNoticesNeverWaitForIt) {
    LogStorage storage;
    storage.add("ACC1", 50);
    EventLog log(storage, renderers(), system_clock(), {});
    StreamOptions o;
    o.queue_limit = 5;
    o.ping_interval = std::chrono::hours(1);
    o.idle_close = std::chrono::hours(1);
    StreamHub hub(
        log, storage, [](const std::string& a) { return a == "ACC1"; }, o);
    hub.start();
    auto state = std::make_shared<StuckState>();
    auto session = std::make_unique<StuckSession>(state);
    StuckState* s = state.get();
    {
        std::lock_guard lock(s->mu);
        s->inbox.push_back(R"({"op":"subscribe","account_id":"ACC1"})");
    }
    ClientScope scope;
    scope.all = true;
    hub.accept(std::move(session), scope, "req-1");
    {
        std::unique_lock lock(s->mu);
        ASSERT_TRUE(
            s->cv.wait_for(lock, std::chrono::seconds(10), [&] { return s->sends_started > 0; }));
    }
    // The client is stuck in a send; commits keep coming and their notices return at once.
    std::vector<WriteOp> entry(1);
    entry[0].kind = WriteKind::AppendEvent;
    entry[0].account_event.account_id = "ACC1";
    for (int i = 0; i < 1000; ++i) {
        storage.add("ACC1", 1);
        log.committed(entry, {Status::Ok});
    }
    {
        std::lock_guard lock(s->mu);
        s->released = true;
        s->cv.notify_all();
    }
    {
        std::unique_lock lock(s->mu);
        ASSERT_TRUE(
            s->cv.wait_for(lock, std::chrono::seconds(10), [&] { return s->close_code != 0; }));
        EXPECT_EQ(s->close_code, 4008);
        EXPECT_LT(s->sent.size(), size_t{10});
    }
    hub.stop();
}

// A client that reads, resuming far behind: the gap-fill is paced by its queue, never a reason to
// close it; it gets every entry, in seq order, then live ones.
TEST(StreamHubTest, AGapFillLargerThanTheQueueIsPacedNotClosed) {
    LogStorage storage;
    storage.add("ACC1", 60);
    EventLog log(storage, renderers(), system_clock(), {});
    StreamOptions o;
    o.queue_limit = 4;
    o.page = 7;
    o.ping_interval = std::chrono::hours(1);
    o.idle_close = std::chrono::hours(1);
    StreamHub hub(
        log, storage, [](const std::string& a) { return a == "ACC1"; }, o);
    hub.start();
    auto state = std::make_shared<StuckState>();
    state->released = true;  // this client reads
    {
        std::lock_guard lock(state->mu);
        state->inbox.push_back(R"({"op":"subscribe","account_id":"ACC1","since_seq":10})");
    }
    ClientScope scope;
    scope.accounts = {"ACC1"};
    hub.accept(std::make_unique<StuckSession>(state), scope, "req-2");
    auto events = [&] {
        size_t n = 0;
        for (const auto& m : state->sent) n += m.find("\"type\":\"event\"") != std::string::npos;
        return n;
    };
    {
        std::unique_lock lock(state->mu);
        ASSERT_TRUE(state->cv.wait_for(lock, std::chrono::seconds(10),
                                       [&] { return events() == 50 || state->close_code != 0; }));
        EXPECT_EQ(state->close_code, 0);
    }
    storage.add("ACC1", 1);
    std::vector<WriteOp> entry(1);
    entry[0].kind = WriteKind::AppendEvent;
    entry[0].account_event.account_id = "ACC1";
    log.committed(entry, {Status::Ok});
    std::unique_lock lock(state->mu);
    ASSERT_TRUE(state->cv.wait_for(lock, std::chrono::seconds(10), [&] { return events() == 51; }));
    int64_t prev = 10;
    for (const auto& m : state->sent) {
        size_t at = m.find("\"seq\":");
        if (at == std::string::npos) continue;
        int64_t seq = std::stoll(m.substr(at + 6));
        EXPECT_EQ(seq, prev + 1) << m;
        prev = seq;
    }
    lock.unlock();
    hub.stop();
}

// The same with a page far larger than the queue while the client's writer drains concurrently:
// a gap-fill that paused on a full queue mid-page must not go on with later entries of that page
// when the queue drains under it (that skipped the entries in between).
TEST(StreamHubTest, AGapFillPausedMidPageSkipsNoEntryWhenItsQueueDrainsMeanwhile) {
    constexpr int kEntries = 20000;
    LogStorage storage;
    storage.add("ACC1", kEntries);
    EventLog log(storage, renderers(), system_clock(), {});
    StreamOptions o;
    o.queue_limit = 4;
    o.page = 1000;
    o.ping_interval = std::chrono::hours(1);
    o.idle_close = std::chrono::hours(1);
    StreamHub hub(
        log, storage, [](const std::string& a) { return a == "ACC1"; }, o);
    hub.start();
    auto state = std::make_shared<StuckState>();
    state->released = true;  // this client reads
    {
        std::lock_guard lock(state->mu);
        state->inbox.push_back(R"({"op":"subscribe","account_id":"ACC1","since_seq":0})");
    }
    ClientScope scope;
    scope.accounts = {"ACC1"};
    hub.accept(std::make_unique<StuckSession>(state), scope, "req-3");
    std::unique_lock lock(state->mu);
    // Done when the last entry arrived (or the client was closed): every entry before it, once.
    auto last_arrived = [&] {
        return state->close_code != 0 ||
               (!state->sent.empty() &&
                state->sent.back().find("\"seq\":" + std::to_string(kEntries) + ",") !=
                    std::string::npos);
    };
    ASSERT_TRUE(state->cv.wait_for(lock, std::chrono::seconds(60), last_arrived));
    EXPECT_EQ(state->close_code, 0);
    int64_t prev = 0;
    for (const auto& m : state->sent) {
        size_t at = m.find("\"seq\":");
        if (at == std::string::npos) continue;
        int64_t seq = std::stoll(m.substr(at + 6));
        ASSERT_EQ(seq, prev + 1) << m;
        prev = seq;
    }
    EXPECT_EQ(prev, kEntries);
    lock.unlock();
    hub.stop();
}

// A client that closes as soon as it is upgraded: its reader ends, and the dispatcher drops it,
// before accept() may have stored the reader's thread. The dispatcher then found no thread to
// join, and the client, freed by the last thread holding it, destroyed a joinable std::thread:
// std::terminate, the whole gateway gone (CI, Stream.APageOfAnotherOriginCannotOpenTheStream:
// "terminate called without an active exception"). Many such clients, then the hub still works.
class ClosingSession : public http::WebSocketSession {
  public:
    explicit ClosingSession(std::atomic<int>* closed) : closed_(closed) {}
    Frame receive(std::string*, std::chrono::milliseconds) override { return Frame::Close; }
    void send_text(std::string_view) override {}
    void send_ping() override {}
    void send_pong(std::string_view) override {}
    void close(int, std::string_view) override { closed_->fetch_add(1); }
    void abort() override {}

  private:
    std::atomic<int>* closed_;
};

TEST(StreamHubTest, AClientThatClosesAtOnceIsDroppedWithItsThreadsJoined) {
    LogStorage storage;
    EventLog log(storage, renderers(), system_clock(), {});
    StreamOptions o;
    o.ping_interval = std::chrono::hours(1);
    o.idle_close = std::chrono::hours(1);
    std::atomic<size_t> clients{0};
    o.on_clients = [&](size_t n) { clients.store(n); };
    StreamHub hub(
        log, storage, [](const std::string&) { return true; }, o);
    hub.start();
    std::atomic<int> closed{0};
    ClientScope scope;
    scope.all = true;
    constexpr int kClients = 3000;
    for (int i = 0; i < kClients; ++i)
        hub.accept(std::make_unique<ClosingSession>(&closed), scope, "req-" + std::to_string(i));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (hub.clients() > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_EQ(hub.clients(), 0u);
    EXPECT_EQ(clients.load(), 0u);
    EXPECT_EQ(closed.load(), kClients);  // each got its close frame from its writer
    hub.stop();
}

}  // namespace
}  // namespace ordergate::stream
