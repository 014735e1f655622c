// The plugin class over the venue: settings, the worker thread and the event sink, constructed
// directly (the loaded .so is tested in paper_plugin_load_test.cpp).
#include "paper_broker.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "paper_config.hpp"
#include "paper_test_support.hpp"

namespace ordergate::paper {
namespace {

using testing::D;
using testing::kTimeout;
using testing::order;
using testing::TempDir;

using Entries = std::vector<std::pair<std::string, std::string>>;

Status status_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const sdk::Error& e) {
        return e.status();
    }
    return Status::Ok;
}

// Records what the plugin pushes through the C sink, and on which thread.
class SinkRecorder {
  public:
    SinkRecorder() {
        sink_.size = sizeof(og_event_sink);
        sink_.ctx = this;
        sink_.on_order_update = [](void* ctx, const og_order_report* r) {
            auto* self = static_cast<SinkRecorder*>(ctx);
            const std::string cid(r->client_order_id.data, r->client_order_id.size);
            {
                std::lock_guard lock(self->mu_);
                self->broker_ids_.push_back(
                    cid + " " + std::to_string(r->status) + " " +
                    std::string(r->broker_order_id.data, r->broker_order_id.size));
                self->request_ids_.push_back(
                    cid + " " + std::to_string(r->status) + " " +
                    std::string(r->request_id.data, r->request_id.size));
            }
            self->add("order " + cid + " " + std::to_string(r->status));
        };
        sink_.on_fill = [](void* ctx, const og_fill* f) {
            auto* self = static_cast<SinkRecorder*>(ctx);
            self->add("fill " + std::string(f->broker_trade_id.data, f->broker_trade_id.size));
        };
        sink_.on_quote = [](void* ctx, const og_quote* q) {
            auto* self = static_cast<SinkRecorder*>(ctx);
            self->add("quote " + std::string(q->symbol.data, q->symbol.size));
        };
        sink_.on_connection = [](void* ctx, int32_t connected, og_str) {
            auto* self = static_cast<SinkRecorder*>(ctx);
            self->add(connected ? "connected" : "disconnected");
        };
    }
    const og_event_sink* sink() const { return &sink_; }

    // Waits (bounded) until `count` entries equal to `what` have been recorded.
    bool wait_for(const std::string& what, std::size_t count = 1) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, std::chrono::seconds(10), [&] {
            return static_cast<std::size_t>(std::count(events_.begin(), events_.end(), what)) >=
                   count;
        });
    }
    std::vector<std::string> events() {
        std::lock_guard lock(mu_);
        return events_;
    }
    std::vector<std::thread::id> threads() {
        std::lock_guard lock(mu_);
        return threads_;
    }
    // Each order update as "<client order id> <status> <broker order id>".
    std::vector<std::string> order_updates() {
        std::lock_guard lock(mu_);
        return broker_ids_;
    }
    // Each order update as "<client order id> <status> <request id>".
    std::vector<std::string> order_requests() {
        std::lock_guard lock(mu_);
        return request_ids_;
    }

  private:
    void add(std::string e) {
        {
            std::lock_guard lock(mu_);
            events_.push_back(std::move(e));
            threads_.push_back(std::this_thread::get_id());
        }
        cv_.notify_all();
    }
    og_event_sink sink_{};
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::string> events_;
    std::vector<std::thread::id> threads_;
    std::vector<std::string> broker_ids_;
    std::vector<std::string> request_ids_;
};

// first_id 1 unless given: the ids these tests expect (without a journal ids start at the start
// time).
sdk::PluginContext context(Entries entries, const SinkRecorder& rec) {
    if (std::none_of(entries.begin(), entries.end(),
                     [](const auto& e) { return e.first == "first_id"; }))
        entries.emplace_back("first_id", "1");
    return sdk::PluginContext{sdk::Config(std::move(entries)), sdk::Host(),
                              sdk::EventSink(rec.sink())};
}

// ---- settings ----------------------------------------------------------------------------------

TEST(PaperSettingsTest, DefaultsMatchTheReadme) {
    PaperSettings s = parse_paper_settings(sdk::Config());
    EXPECT_EQ(s.venue.accounts, std::vector<std::string>{"ACC1"});
    EXPECT_TRUE(s.venue.initial_cash == D("1000000"));
    EXPECT_EQ(s.venue.currency, "INR");
    EXPECT_EQ(s.venue.seed, 42u);
    EXPECT_TRUE(s.venue.initial_price == D("1500.00"));
    EXPECT_TRUE(s.venue.tick_size == D("0.05"));
    EXPECT_EQ(s.venue.max_steps_per_tick, 2);
    EXPECT_EQ(s.tick.count(), 100);
    EXPECT_TRUE(s.venue.partial_fill_ratio.is_zero());
    EXPECT_TRUE(s.venue.max_fill_per_tick.is_zero());
    EXPECT_TRUE(s.venue.allow_short);
    EXPECT_EQ(s.venue.latency.count(), 0);
    EXPECT_EQ(s.venue.send_delay.count(), 0);
    EXPECT_FALSE(s.venue.fault.disconnect);
    EXPECT_EQ(s.venue.fault.hang.count(), 0);
    EXPECT_TRUE(s.venue.journal_path.empty());
    EXPECT_EQ(s.venue.journal_snapshot_ticks, 100);
    EXPECT_EQ(s.venue.history.count(), 0);  // no journal: memory is the whole history
    // No journal: ids start at the start time in microseconds, so a restart never gives an id a
    // stored order or trade has (the venue forgot them; the gateway's store did not).
    const auto now_us = [] {
        return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count());
    };
    const uint64_t before = now_us();
    const uint64_t first = parse_paper_settings(sdk::Config()).venue.first_id;
    EXPECT_GE(first, before);
    EXPECT_LE(first, now_us());
    EXPECT_GE(parse_paper_settings(sdk::Config()).venue.first_id, first);
    // With a journal, ids go on from the journal's: the first start numbers from 1.
    EXPECT_EQ(parse_paper_settings(sdk::Config(Entries{{"journal_path", "/tmp/p.journal"}}))
                  .venue.first_id,
              1u);
    // With a journal, memory keeps a minute: the rest is read back from the journal.
    EXPECT_EQ(parse_paper_settings(sdk::Config(Entries{{"journal_path", "/tmp/p.journal"}}))
                  .venue.history.count(),
              60);
}

TEST(PaperSettingsTest, ReadsEveryKey) {
    PaperSettings s = parse_paper_settings(sdk::Config(Entries{
        {"accounts", "A1, A2 ,A3"},
        {"initial_cash", "2500.50"},
        {"currency", "USD"},
        {"seed", "9"},
        {"initial_price", "10.00"},
        {"prices.RELIANCE", "2500.05"},
        {"prices.BRK.B", "400.10"},
        {"tick_ms", "0"},
        {"tick_size", "0.01"},
        {"max_steps_per_tick", "3"},
        {"partial_fill_ratio", "0.25"},
        {"max_fill_per_tick", "100"},
        {"fee_per_fill", "1.5"},
        {"fee_rate", "0.0002"},
        {"allow_short", "false"},
        {"send_delay_ms", "5"},
        {"latency_ms", "20"},
        {"fault.reject_ratio", "0.1"},
        {"fault.timeout_before_send_ratio", "0.2"},
        {"fault.timeout_after_send_ratio", "0.3"},
        {"fault.disconnect", "true"},
        {"fault.hang_ms", "700"},
        {"journal_path", "/tmp/x.journal"},
        {"journal_fsync", "true"},
        {"journal_snapshot_ticks", "10"},
        {"first_id", "1000"},
    }));
    const VenueConfig& v = s.venue;
    EXPECT_EQ(v.accounts, (std::vector<std::string>{"A1", "A2", "A3"}));
    EXPECT_TRUE(v.initial_cash == D("2500.50"));
    EXPECT_EQ(v.currency, "USD");
    EXPECT_EQ(v.seed, 9u);
    EXPECT_TRUE(v.prices.at("RELIANCE") == D("2500.05"));
    EXPECT_TRUE(v.prices.at("BRK.B") == D("400.10"));
    EXPECT_EQ(s.tick.count(), 0);
    EXPECT_TRUE(v.tick_size == D("0.01"));
    EXPECT_EQ(v.max_steps_per_tick, 3);
    EXPECT_TRUE(v.partial_fill_ratio == D("0.25"));
    EXPECT_TRUE(v.max_fill_per_tick == D("100"));
    EXPECT_TRUE(v.fee_per_fill == D("1.5"));
    EXPECT_TRUE(v.fee_rate == D("0.0002"));
    EXPECT_FALSE(v.allow_short);
    EXPECT_EQ(v.send_delay.count(), 5);
    EXPECT_EQ(v.latency.count(), 20);
    EXPECT_TRUE(v.fault.reject_ratio == D("0.1"));
    EXPECT_TRUE(v.fault.timeout_before_send_ratio == D("0.2"));
    EXPECT_TRUE(v.fault.timeout_after_send_ratio == D("0.3"));
    EXPECT_TRUE(v.fault.disconnect);
    EXPECT_EQ(v.fault.hang.count(), 700);
    EXPECT_EQ(v.journal_path, "/tmp/x.journal");
    EXPECT_TRUE(v.journal_fsync);
    EXPECT_EQ(v.journal_snapshot_ticks, 10);
    EXPECT_EQ(v.first_id, 1000u);
}

TEST(PaperSettingsTest, AccountsAsAYamlList) {
    PaperSettings s =
        parse_paper_settings(sdk::Config(Entries{{"accounts.0", "X"}, {"accounts.1", "Y"}}));
    EXPECT_EQ(s.venue.accounts, (std::vector<std::string>{"X", "Y"}));
}

TEST(PaperSettingsTest, UnknownKeysAndBadValuesNameTheKey) {
    auto message = [](Entries e) {
        try {
            parse_paper_settings(sdk::Config(std::move(e)));
        } catch (const sdk::Error& err) {
            EXPECT_EQ(err.status(), Status::InvalidArgument);
            return std::string(err.what());
        }
        return std::string();
    };
    EXPECT_NE(message({{"fault.reject_ratoi", "1"}}).find("fault.reject_ratoi"), std::string::npos);
    EXPECT_NE(message({{"latency_ms", "fast"}}).find("latency_ms"), std::string::npos);
    EXPECT_NE(message({{"latency_ms", "-1"}}).find("latency_ms"), std::string::npos);
    EXPECT_NE(message({{"fault.hang_ms", "-1"}}).find("fault.hang_ms"), std::string::npos);
    EXPECT_NE(message({{"initial_cash", "1e6"}}).find("initial_cash"), std::string::npos);
    EXPECT_NE(message({{"prices.X", "abc"}}).find("prices.X"), std::string::npos);
    EXPECT_NE(message({{"first_id", "0"}}).find("first_id"), std::string::npos);
}

// ---- the plugin class --------------------------------------------------------------------------

// An order call's own events (its acknowledgement, its fills) have reached the sink when the
// call returns, pushed by the caller's thread itself: no hand-off to the worker, which pushes the
// rest (the link's state, quotes, what a price step fills), and which takes a call's events only
// when it happens to be awake then (both deliver under one lock, in the venue's order). Nothing
// reaches the sink after stop().
// The update a venue pushes to confirm a modify or a cancel names the request it answers (as an
// execution report names its ClOrdID), so the host reads the request's outcome the same way
// whichever of the push and the call's answer reaches it first; the updates after it (a fill's)
// name none. (Without it, the audit trail's "modify confirmed" and CANCELLED events named their
// request or not depending on which thread won.)
TEST(PaperBrokerTest, TheUpdateConfirmingAModifyOrACancelNamesItsRequest) {
    SinkRecorder rec;
    PaperBroker broker(context({{"tick_ms", "0"}, {"initial_price", "100.00"}}, rec));
    broker.start();
    ASSERT_TRUE(rec.wait_for("connected"));
    const OrderReport q =
        broker.place_order(order("q", Side::Buy, OrderType::Limit, "2", D("90.00")), kTimeout);
    ModifyRequest m;
    m.account_id = "ACC1";
    m.broker_order_id = q.broker_order_id;
    m.client_order_id = "q";
    m.request_id = "req-m1";
    m.orig_request_id = "q";
    m.price = D("95.00");
    EXPECT_EQ(broker.modify_order(m, kTimeout).request_id, "req-m1");
    m.request_id = "req-m2";
    m.orig_request_id = "req-m1";
    m.price = D("101.00");  // marketable now: filled at once
    const OrderReport filled = broker.modify_order(m, kTimeout);
    EXPECT_EQ(filled.status, OrderStatus::Filled);
    EXPECT_EQ(filled.request_id, "req-m2");
    const OrderReport c =
        broker.place_order(order("c", Side::Buy, OrderType::Limit, "1", D("90.00")), kTimeout);
    const OrderReport cancelled = broker.cancel_request(
        CancelRequest{"ACC1", c.broker_order_id, "c", "req-c1", "c"}, kTimeout);
    EXPECT_EQ(cancelled.status, OrderStatus::Cancelled);
    EXPECT_EQ(cancelled.request_id, "req-c1");
    broker.stop();
    const auto s = [](int status) { return std::to_string(status); };
    const std::vector<std::string> expected = {
        "q " + s(OG_ORDER_OPEN) + " ",        "q " + s(OG_ORDER_OPEN) + " req-m1",
        "q " + s(OG_ORDER_OPEN) + " req-m2",  "q " + s(OG_ORDER_FILLED) + " ",
        "c " + s(OG_ORDER_OPEN) + " ",        "c " + s(OG_ORDER_CANCELLED) + " req-c1"};
    EXPECT_EQ(rec.order_requests(), expected);
}

// history_seconds holds without ticks and without orders: the worker forgets on a timer what each
// place (and each step) would forget first, so memory lets go of the last orders once the flow
// stops. (Without it, a venue with tick_ms 0 kept its last window in memory until the next order.)
TEST(PaperBrokerTest, EndedOrdersLeaveMemoryOnTimeWhenNoOrderFollows) {
    SinkRecorder rec;
    PaperBroker broker(context(
        {{"tick_ms", "0"}, {"initial_price", "100.00"}, {"history_seconds", "1"}}, rec));
    broker.start();
    ASSERT_TRUE(rec.wait_for("connected"));
    for (int n = 1; n <= 3; ++n)
        ASSERT_EQ(broker
                      .place_order(order("h" + std::to_string(n), Side::Buy, OrderType::Market,
                                         "1"),
                                   kTimeout)
                      .status,
                  OrderStatus::Filled);
    broker.place_order(order("open", Side::Buy, OrderType::Limit, "1", D("50.00")), kTimeout);
    ASSERT_EQ(broker.venue().held().orders, 4u);
    ASSERT_EQ(broker.venue().held().fills, 3u);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (broker.venue().held().orders > 1 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(broker.venue().held().orders, 1u);  // the open order stays
    EXPECT_EQ(broker.venue().held().fills, 0u);
    EXPECT_EQ(broker.get_order("ACC1", "", "open").status, OrderStatus::Open);
    broker.stop();
}

TEST(PaperBrokerTest, AnOrderCallsEventsArePushedBeforeItReturnsTheRestByThePluginsThread) {
    SinkRecorder rec;
    PaperBroker broker(context({{"tick_ms", "0"}, {"initial_price", "100.00"}}, rec));
    broker.start();
    ASSERT_TRUE(rec.wait_for("connected"));
    ASSERT_EQ(rec.threads().size(), 1u);
    EXPECT_NE(rec.threads().front(), std::this_thread::get_id());  // the worker's
    size_t by_caller = 0;
    const int orders = 20;
    for (int n = 1; n <= orders; ++n) {
        const std::string cid = "m" + std::to_string(n);
        const size_t before = rec.events().size();
        OrderReport r = broker.place_order(order(cid, Side::Buy, OrderType::Market, "2"), kTimeout);
        EXPECT_EQ(r.status, OrderStatus::Filled);
        // No waiting: the acknowledgement and the fill are there when the call returns.
        const std::vector<std::string> events = rec.events();
        const std::vector<std::thread::id> threads = rec.threads();
        ASSERT_GE(threads.size(), events.size());
        EXPECT_NE(std::find(events.begin() + before, events.end(),
                            "order " + cid + " " + std::to_string(OG_ORDER_FILLED)),
                  events.end());
        EXPECT_NE(std::find(events.begin() + before, events.end(), "fill PT-" + std::to_string(n)),
                  events.end());
        bool mine = events.size() > before;
        for (size_t i = before; i < events.size(); ++i)
            mine = mine && threads[i] == std::this_thread::get_id();
        by_caller += mine;
    }
    // The worker sleeps once the link event is pushed (no tick, nothing wakes it): at most the
    // first call can meet it awake.
    EXPECT_GE(by_caller, size_t(orders - 1));
    broker.stop();
    const std::size_t seen = rec.events().size();
    // Calls still answer after stop(), but nothing reaches the sink any more.
    broker.place_order(order("late", Side::Buy, OrderType::Market, "1"), kTimeout);
    EXPECT_EQ(rec.events().size(), seen);
}

// The same with async_ack: the answer is an event the worker pushes once it is due.
TEST(PaperBrokerTest, WithAsyncAckTheWorkerPushesTheAnswerAndItsFills) {
    SinkRecorder rec;
    PaperBroker broker(
        context({{"tick_ms", "0"}, {"initial_price", "100.00"}, {"async_ack", "true"}}, rec));
    broker.start();
    ASSERT_TRUE(rec.wait_for("connected"));
    EXPECT_EQ(status_of([&] {
                  broker.place_order(order("m", Side::Buy, OrderType::Market, "2"), kTimeout);
              }),
              Status::Pending);
    ASSERT_TRUE(rec.wait_for("order m " + std::to_string(OG_ORDER_FILLED)));
    ASSERT_TRUE(rec.wait_for("fill PT-1"));
    for (std::thread::id t : rec.threads()) EXPECT_NE(t, std::this_thread::get_id());
    broker.stop();
}

// A refusal answered later (async_ack) names the order the venue kept, REJECTED, under its id,
// as the venue's own push of it does: the host need not learn the id from a later report.
TEST(PaperBrokerTest, WithAsyncAckARefusalCarriesTheVenuesOrderId) {
    SinkRecorder rec;
    PaperBroker broker(
        context({{"tick_ms", "0"}, {"initial_price", "100.00"}, {"async_ack", "true"}}, rec));
    broker.start();
    ASSERT_TRUE(rec.wait_for("connected"));
    // Off the 0.05 grid: refused.
    EXPECT_EQ(status_of([&] {
                  broker.place_order(
                      order("r", Side::Buy, OrderType::Limit, "1", D("100.03")), kTimeout);
              }),
              Status::Pending);
    const std::string rejected = "order r " + std::to_string(OG_ORDER_REJECTED);
    ASSERT_TRUE(rec.wait_for(rejected, 2)) << "the answer and the venue's push";
    broker.stop();
    const std::string prefix = "r " + std::to_string(OG_ORDER_REJECTED) + " ";
    size_t seen = 0;
    for (const std::string& u : rec.order_updates()) {
        if (u.rfind(prefix, 0) != 0) continue;
        ++seen;
        EXPECT_EQ(u, prefix + "P-1");
    }
    EXPECT_EQ(seen, 2u);
}

TEST(PaperBrokerTest, BackgroundTicksMoveThePriceAndPushSubscribedQuotes) {
    SinkRecorder rec;
    PaperBroker broker(context({{"tick_ms", "1"}, {"max_steps_per_tick", "5"}}, rec));
    broker.start();
    broker.subscribe_prices({Instrument{"INFY", "NSE"}});
    // One quote at subscription, then one per background step.
    ASSERT_TRUE(rec.wait_for("quote INFY", 5));
    broker.stop();
    EXPECT_GE(broker.venue().ticks(), 4u);
}

TEST(PaperBrokerTest, ConcurrentCallsWhileTheWalkRuns) {
    SinkRecorder rec;
    PaperBroker broker(context({{"tick_ms", "1"},
                                {"initial_price", "100.00"},
                                {"partial_fill_ratio", "0.5"},
                                {"accounts", "A,B,C,D"}},
                               rec));
    broker.start();
    broker.subscribe_prices({Instrument{"INFY", "NSE"}});
    const std::vector<std::string> accounts{"A", "B", "C", "D"};
    std::vector<std::thread> threads;
    for (const std::string& acc : accounts)
        threads.emplace_back([&broker, acc] {
            for (int i = 0; i < 50; ++i) {
                std::string cid = acc + "-" + std::to_string(i);
                broker.place_order(order(cid, Side::Buy, OrderType::Market, "2", std::nullopt,
                                         std::nullopt, TimeInForce::Day, acc),
                                   kTimeout);
                broker.place_order(order(cid + "L", Side::Sell, OrderType::Limit, "1", D("500.00"),
                                         std::nullopt, TimeInForce::Gtc, acc),
                                   kTimeout);
                broker.cancel_order(acc, "", cid + "L", kTimeout);
                broker.account(acc);
                broker.list_orders(acc, true, 0);
            }
        });
    for (auto& t : threads) t.join();
    ASSERT_TRUE(rec.wait_for("order D-49 " + std::to_string(OG_ORDER_FILLED)));
    broker.stop();
    std::vector<OrderReport> all = broker.list_orders("", false, 0);
    ASSERT_EQ(all.size(), 400u);
    std::set<std::string> ids;
    for (const auto& r : all) ids.insert(r.broker_order_id);
    EXPECT_EQ(ids.size(), 400u);
    EXPECT_EQ(broker.list_fills("", 0).size(), 400u);  // 200 market orders, two fills each
    std::size_t fills_pushed = 0;
    for (const auto& e : rec.events()) fills_pushed += e.rfind("fill ", 0) == 0;
    EXPECT_EQ(fills_pushed, 400u);
    for (const std::string& acc : accounts)
        EXPECT_TRUE(broker.positions(acc).at(0).quantity == D("100"));
}

TEST(PaperBrokerTest, ErrorsKeepTheirStatus) {
    SinkRecorder rec;
    PaperBroker broker(context({{"tick_ms", "0"}, {"fault.timeout_after_send_ratio", "1"}}, rec));
    EXPECT_EQ(status_of([&] {
                  broker.place_order(order("u", Side::Buy, OrderType::Market, "1"), kTimeout);
              }),
              Status::UnknownOutcome);
    EXPECT_EQ(broker.get_order("ACC1", "", "u").status, OrderStatus::Filled);
    EXPECT_EQ(status_of([&] { broker.get_order("ACC1", "", "zz"); }), Status::NotFound);
    EXPECT_EQ(status_of([&] {
                  PaperBroker bad(context({{"tick_size", "0"}}, rec));
              }),
              Status::InvalidArgument);
}

TEST(PaperBrokerTest, DisconnectFaultReportsTheLinkAndRefusesCalls) {
    SinkRecorder rec;
    PaperBroker broker(context({{"tick_ms", "0"}, {"fault.disconnect", "true"}}, rec));
    broker.start();
    ASSERT_TRUE(rec.wait_for("disconnected"));
    EXPECT_EQ(status_of([&] { broker.ping(kTimeout); }), Status::Unavailable);
    EXPECT_EQ(status_of([&] {
                  broker.place_order(order("u", Side::Buy, OrderType::Market, "1"), kTimeout);
              }),
              Status::Unavailable);
    broker.stop();
}

// fault.hang_ms stands for a plugin stuck past its deadline: the host's own deadline is tested
// against it (tests/integration), so the hang must really ignore the call's deadline.
TEST(PaperBrokerTest, HangFaultIgnoresTheDeadlineThenAnswers) {
    SinkRecorder rec;
    PaperBroker broker(context({{"tick_ms", "0"}, {"fault.hang_ms", "30"}}, rec));
    // A 1 ms deadline inside a 30 ms hang: the call neither times out nor loses its answer.
    OrderReport r = broker.place_order(order("h1", Side::Buy, OrderType::Market, "1"),
                                       std::chrono::milliseconds(1));
    EXPECT_EQ(r.status, OrderStatus::Filled);
    EXPECT_EQ(broker.quote("INFY", "NSE").symbol, "INFY");
}

TEST(PaperBrokerTest, StopEndsEveryHangAndLaterCallsFailUntilStart) {
    SinkRecorder rec;
    PaperBroker broker(context({{"tick_ms", "0"}, {"fault.hang_ms", "600000"}}, rec));
    broker.start();
    // Whether the call is hanging when stop() runs or arrives after it, it ends Unavailable.
    Status place_status = Status::Ok;
    std::thread caller([&] {
        place_status = status_of([&] {
            broker.place_order(order("h2", Side::Buy, OrderType::Market, "1"), kTimeout);
        });
    });
    broker.stop();
    caller.join();
    EXPECT_EQ(place_status, Status::Unavailable);
    EXPECT_EQ(status_of([&] { broker.get_order("ACC1", "", "h2"); }), Status::Unavailable);
}

TEST(PaperBrokerTest, StopWritesASnapshotAndANewInstanceResumes) {
    TempDir dir;
    SinkRecorder rec;
    Entries cfg{{"tick_ms", "0"}, {"journal_path", dir.file("j")}};
    {
        PaperBroker broker(context(cfg, rec));
        broker.start();
        broker.place_order(order("a", Side::Buy, OrderType::Market, "1"), kTimeout);
        broker.stop();
    }
    PaperBroker again(context(cfg, rec));
    EXPECT_EQ(again.get_order("ACC1", "", "a").status, OrderStatus::Filled);
    EXPECT_EQ(
        again.place_order(order("b", Side::Buy, OrderType::Market, "1"), kTimeout).broker_order_id,
        "P-2");
}

}  // namespace
}  // namespace ordergate::paper
