// broker-paper.so loaded through the host's real plugin loader: the descriptor, an order placed
// through the C table, events through the host's sink, error mapping, and a restart on a journal.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "paper_test_support.hpp"
#include "plugin_loader/plugin_adapters.hpp"
#include "plugin_loader/plugin_loader.hpp"

#ifndef OG_BROKER_PAPER_SO
#error "OG_BROKER_PAPER_SO must name the built broker-paper.so"
#endif

namespace ordergate::paper {
namespace {

using plugin_loader::load_plugin;
using testing::D;
using testing::kTimeout;
using testing::order;
using testing::TempDir;

using Entries = std::vector<std::pair<std::string, std::string>>;

// The host side of the event sink, recording what arrives.
class Events : public ports::BrokerEvents {
  public:
    void on_order_update(const std::string&, const OrderReport& r) override {
        add("order " + r.client_order_id + " " + std::string(to_string(r.status)));
    }
    void on_fill(const std::string&, const Fill& f) override {
        add("fill " + f.broker_trade_id + " " + f.quantity.to_string() + "@" + f.price.to_string());
    }
    void on_quote(const std::string&, const Quote& q) override { add("quote " + q.symbol); }
    void on_connection(const std::string&, bool connected, const std::string&) override {
        add(connected ? "connected" : "disconnected");
    }
    bool wait_for(const std::string& what) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, std::chrono::seconds(10), [&] {
            for (const auto& e : events_)
                if (e == what) return true;
            return false;
        });
    }
    std::vector<std::string> events() {
        std::lock_guard lock(mu_);
        return events_;
    }

    // The thread `what` arrived on (a default id when it did not).
    std::thread::id thread_of(const std::string& what) {
        std::lock_guard lock(mu_);
        for (size_t i = 0; i < events_.size(); ++i)
            if (events_[i] == what) return threads_[i];
        return {};
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
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::string> events_;
    std::vector<std::thread::id> threads_;
};

Status status_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const sdk::Error& e) {
        return e.status();
    }
    return Status::Ok;
}

// first_id 1: the ids these tests expect (without a journal they start at the start time).
Entries quiet(Entries extra = {}) {
    Entries e{{"tick_ms", "0"}, {"initial_price", "100.00"}, {"first_id", "1"}};
    e.insert(e.end(), extra.begin(), extra.end());
    return e;
}

TEST(PaperPluginLoaded, DescriptorNamesTheKindAndTheCapabilities) {
    auto lib = load_plugin(OG_BROKER_PAPER_SO, OG_KIND_BROKER);
    const plugin_loader::PluginInfo& info = lib->info();
    EXPECT_EQ(info.name, "broker-paper");
    EXPECT_EQ(info.version, "1.0.0");
    EXPECT_EQ(info.kind, OG_KIND_BROKER);
    EXPECT_EQ(info.abi_major, static_cast<uint32_t>(OG_ABI_MAJOR));
    const uint64_t want =
        OG_CAP_ORDER_MARKET | OG_CAP_ORDER_LIMIT | OG_CAP_ORDER_STOP | OG_CAP_ORDER_STOP_LIMIT |
        OG_CAP_TIF_DAY | OG_CAP_TIF_GTC | OG_CAP_TIF_IOC | OG_CAP_TIF_FOK | OG_CAP_MODIFY |
        OG_CAP_MODIFY_QUANTITY | OG_CAP_MODIFY_PRICE | OG_CAP_MODIFY_TRIGGER |
        OG_CAP_MODIFY_ORDER_TYPE | OG_CAP_MODIFY_TIF | OG_CAP_CANCEL_ALL |
        OG_CAP_QUERY_BY_CLIENT_ID | OG_CAP_REPORT_OPEN_ORDERS | OG_CAP_REPORT_RECENT_ORDERS |
        OG_CAP_REPORT_FILLS | OG_CAP_REPORT_POSITIONS | OG_CAP_REPORT_ACCOUNT | OG_CAP_QUOTES |
        OG_CAP_PRICE_SUBSCRIPTION | OG_CAP_PARTIAL_FILLS | OG_CAP_PUSH_EVENTS | OG_CAP_BATCHED_EVENTS;
    EXPECT_EQ(info.capabilities, want);
    EXPECT_EQ(info.capabilities & OG_CAP_NATIVE_GTT, 0u);
}

// SDK 1.7.1: the venue is memory and a local journal, so the instance declares its calls prompt
// and the host makes them on the caller's thread: the events a call causes arrive on it too, and
// no call thread is started.
TEST(PaperPluginLoaded, APromptVenueIsCalledOnTheCallersThread) {
    Events events;
    auto lib = load_plugin(OG_BROKER_PAPER_SO, OG_KIND_BROKER);
    auto broker = lib->create_broker("paper", quiet(), &events);
    EXPECT_TRUE(broker->has(OG_CAP_INLINE_CALLS));
    EXPECT_TRUE(broker->inline_calls());
    EXPECT_EQ(broker->place_order(order("in1", Side::Buy, OrderType::Market, "1"), kTimeout).status,
              OrderStatus::Filled);
    ASSERT_TRUE(events.wait_for("order in1 FILLED"));
    EXPECT_EQ(events.thread_of("order in1 FILLED"), std::this_thread::get_id());
    EXPECT_EQ(broker->get_order("ACC1", "", "in1").status, OrderStatus::Filled);
    EXPECT_EQ(broker->call_stats().threads, 0u);
}

// A setting that delays the venue's calls on purpose, to test the host's deadlines, keeps them on
// the host's call threads (where those deadlines are enforced).
TEST(PaperPluginLoaded, SettingsThatDelayCallsKeepTheHostsCallThreads) {
    auto lib = load_plugin(OG_BROKER_PAPER_SO, OG_KIND_BROKER);
    for (const char* setting : {"send_delay_ms", "latency_ms", "fault.hang_ms"}) {
        Events events;
        auto broker = lib->create_broker("paper", quiet({{setting, "1"}}), &events);
        EXPECT_FALSE(broker->has(OG_CAP_INLINE_CALLS)) << setting;
        EXPECT_FALSE(broker->inline_calls()) << setting;
        broker->place_order(order("d1", Side::Buy, OrderType::Market, "1"), kTimeout);
        ASSERT_TRUE(events.wait_for("order d1 FILLED")) << setting;
        EXPECT_NE(events.thread_of("order d1 FILLED"), std::this_thread::get_id()) << setting;
        EXPECT_EQ(broker->call_stats().threads, 1u) << setting;
    }
}

TEST(PaperPluginLoaded, PlacesAnOrderAndPushesItsUpdatesAndFill) {
    Events events;
    auto lib = load_plugin(OG_BROKER_PAPER_SO, OG_KIND_BROKER);
    auto broker = lib->create_broker("paper", quiet(), &events);
    ASSERT_TRUE(events.wait_for("connected"));
    OrderReport r = broker->place_order(order("c1", Side::Buy, OrderType::Market, "3"), kTimeout);
    EXPECT_EQ(r.broker_order_id, "P-1");
    EXPECT_EQ(r.status, OrderStatus::Filled);
    EXPECT_EQ(r.filled_quantity, D("3"));
    EXPECT_TRUE(events.wait_for("fill PT-1 3@100.00"));
    EXPECT_TRUE(events.wait_for("order c1 FILLED"));
    EXPECT_EQ(broker->get_order("ACC1", "", "c1").broker_order_id, "P-1");
    Account a = broker->account("ACC1");
    EXPECT_TRUE(a.cash == D("999700.00")) << a.cash.to_string();
    std::vector<Position> p = broker->positions("ACC1");
    ASSERT_EQ(p.size(), 1u);
    EXPECT_TRUE(p[0].quantity == D("3"));
    OrderReport l =
        broker->place_order(order("c2", Side::Sell, OrderType::Limit, "1", D("150.00")), kTimeout);
    EXPECT_EQ(l.status, OrderStatus::Open);
    ModifyRequest m;
    m.broker_order_id = l.broker_order_id;
    m.account_id = "ACC1";
    m.price = D("140.00");
    EXPECT_TRUE(*broker->modify_order(m, kTimeout).price == D("140.00"));
    EXPECT_EQ(broker->list_orders("ACC1", true, 0).size(), 1u);
    EXPECT_EQ(broker->cancel_all("ACC1", kTimeout).size(), 1u);
    EXPECT_EQ(broker->quote("INFY", "NSE").last, D("100.00"));
    broker->ping(kTimeout);
    EXPECT_EQ(broker->invalid_events(), 0u);
    broker->stop();
}

// ABI 1.3 through the C table: the paper broker pages natively (the adapter checks each page),
// and its reports carry the details.
TEST(PaperPluginLoaded, PagesAndReportDetailsCrossTheBoundary) {
    Events events;
    auto lib = load_plugin(OG_BROKER_PAPER_SO, OG_KIND_BROKER);
    EXPECT_EQ(lib->info().abi_minor, static_cast<uint32_t>(OG_ABI_MINOR));
    ASSERT_NE(lib->broker_table()->list_orders_page, nullptr);
    ASSERT_NE(lib->broker_table()->list_fills_page, nullptr);
    auto broker = lib->create_broker("paper", quiet({{"max_fill_per_tick", "2"}}), &events);
    OrderReport partial =
        broker->place_order(order("c1", Side::Buy, OrderType::Market, "5"), kTimeout);
    ASSERT_TRUE(partial.leaves_quantity.has_value());
    EXPECT_EQ(*partial.leaves_quantity, D("3"));
    EXPECT_EQ(partial.exec_id, "PT-1");
    for (const char* cid : {"c2", "c3"})
        broker->place_order(order(cid, Side::Buy, OrderType::Market, "1"), kTimeout);
    EXPECT_EQ(status_of([&] { broker->cancel_order("ACC1", "", "c2", kTimeout); }),
              Status::Rejected);
    EXPECT_NE(broker->get_order("ACC1", "", "c2").cancel_reject_reason.find("already FILLED"),
              std::string::npos);

    std::vector<std::string> orders;
    std::string cursor;
    int pages = 0;
    do {
        ReportPage<OrderReport> p = broker->list_orders_page("ACC1", false, 0, cursor, 2);
        EXPECT_TRUE(p.complete);
        for (const OrderReport& r : p.items) orders.push_back(r.broker_order_id);
        cursor = p.next_cursor;
        ASSERT_LT(++pages, 10);
    } while (!cursor.empty());
    EXPECT_EQ(orders, (std::vector<std::string>{"P-1", "P-2", "P-3"}));
    EXPECT_EQ(pages, 2);
    ReportPage<Fill> fills = broker->list_fills_page("ACC1", 0, "", 2);
    ASSERT_EQ(fills.items.size(), 2u);
    EXPECT_EQ(fills.items[0].broker_trade_id, "PT-1");
    ReportPage<Fill> more = broker->list_fills_page("ACC1", 0, fills.next_cursor, 0);
    ASSERT_EQ(more.items.size(), 1u);
    EXPECT_EQ(more.items[0].broker_trade_id, "PT-3");
    EXPECT_EQ(more.next_cursor, "");
    EXPECT_EQ(status_of([&] { broker->list_orders_page("ACC1", false, 0, "o:999", 2); }),
              Status::InvalidArgument);
    EXPECT_EQ(status_of([&] { broker->list_fills_page("ACC1", 0, "nonsense", 2); }),
              Status::InvalidArgument);
    broker->stop();
}

TEST(PaperPluginLoaded, ErrorStatusesCrossTheBoundary) {
    Events events;
    auto lib = load_plugin(OG_BROKER_PAPER_SO, OG_KIND_BROKER);
    auto broker = lib->create_broker("paper", quiet(), &events);
    EXPECT_EQ(status_of([&] { broker->cancel_order("ACC1", "P-404", "", kTimeout); }),
              Status::NotFound);
    broker->place_order(order("f", Side::Buy, OrderType::Market, "1"), kTimeout);
    EXPECT_EQ(status_of([&] { broker->cancel_order("ACC1", "", "f", kTimeout); }),
              Status::Rejected);
    EXPECT_EQ(status_of([&] {
                  broker->place_order(order("f", Side::Buy, OrderType::Market, "1"), kTimeout);
              }),
              Status::Rejected);
    EXPECT_EQ(status_of([&] {
                  broker->place_order(order("p", Side::Buy, OrderType::Limit, "1"), kTimeout);
              }),
              Status::InvalidArgument);
}

TEST(PaperPluginLoaded, TimeoutAfterSendIsUnknownOutcomeAndTheOrderIsFoundByClientId) {
    Events events;
    auto lib = load_plugin(OG_BROKER_PAPER_SO, OG_KIND_BROKER);
    auto broker =
        lib->create_broker("paper", quiet({{"fault.timeout_after_send_ratio", "1"}}), &events);
    EXPECT_EQ(status_of([&] {
                  broker->place_order(order("lost", Side::Buy, OrderType::Market, "1"), kTimeout);
              }),
              Status::UnknownOutcome);
    EXPECT_EQ(broker->get_order("ACC1", "", "lost").status, OrderStatus::Filled);
    EXPECT_TRUE(events.wait_for("order lost FILLED"));
}

// The host enforces each call's deadline on a plugin that ignores it (fault.hang_ms): order
// calls end UnknownOutcome (the request may have left), queries Timeout; the hung calls hold
// only the instance's own threads, and once all are stuck the next call is refused at once.
TEST(PaperPluginLoaded, HostDeadlineEndsCallsToAHungPlugin) {
    Events events;
    auto lib = load_plugin(OG_BROKER_PAPER_SO, OG_KIND_BROKER);
    plugin_loader::BrokerCallLimits limits;
    limits.max_concurrent_calls = 3;
    limits.query_timeout = std::chrono::milliseconds(50);
    std::atomic<int> timed_out{0};
    limits.observer.deadline_passed = [&](std::string_view, size_t) { ++timed_out; };
    auto broker =
        lib->create_broker("hung", quiet({{"fault.hang_ms", "600000"}}), &events, limits);
    const auto deadline = std::chrono::milliseconds(50);
    EXPECT_EQ(status_of([&] {
                  broker->place_order(order("h1", Side::Buy, OrderType::Market, "1"), deadline);
              }),
              Status::UnknownOutcome);
    EXPECT_EQ(status_of([&] { broker->cancel_order("ACC1", "P-1", "", deadline); }),
              Status::UnknownOutcome);
    EXPECT_EQ(status_of([&] { broker->quote("INFY", "NSE"); }), Status::Timeout);
    EXPECT_EQ(timed_out.load(), 3);
    EXPECT_EQ(broker->call_stats().stuck, 3u);
    // Every thread is stuck: refused now (nothing sent), even with an hour to wait.
    EXPECT_EQ(status_of([&] { broker->account("ACC1"); }), Status::Unavailable);
    EXPECT_EQ(status_of([&] {
                  broker->place_order(order("h2", Side::Buy, OrderType::Market, "1"),
                                      std::chrono::hours(1));
              }),
              Status::Unavailable);
    EXPECT_EQ(broker->call_stats().threads, 3u);
    // The plugin's stop ends its hangs: stop waits for them, and the instance is destroyed.
    broker->stop();
    EXPECT_EQ(broker->call_stats().stuck, 0u);
    EXPECT_EQ(broker->call_stats().running, 0u);
}

TEST(PaperPluginLoaded, DisconnectIsUnavailableAndReported) {
    Events events;
    auto lib = load_plugin(OG_BROKER_PAPER_SO, OG_KIND_BROKER);
    auto broker = lib->create_broker("paper", quiet({{"fault.disconnect", "true"}}), &events);
    EXPECT_TRUE(events.wait_for("disconnected"));
    EXPECT_EQ(status_of([&] {
                  broker->place_order(order("x", Side::Buy, OrderType::Market, "1"), kTimeout);
              }),
              Status::Unavailable);
    EXPECT_EQ(status_of([&] { broker->ping(kTimeout); }), Status::Unavailable);
}

TEST(PaperPluginLoaded, AnInvalidSettingRefusesCreate) {
    Events events;
    auto lib = load_plugin(OG_BROKER_PAPER_SO, OG_KIND_BROKER);
    EXPECT_EQ(status_of([&] {
                  lib->create_broker("paper", quiet({{"fault.typo", "1"}}), &events);
              }),
              Status::InvalidArgument);
}

TEST(PaperPluginLoaded, JournalCarriesStateAcrossAHostRestart) {
    TempDir dir;
    Entries cfg = quiet({{"journal_path", dir.file("paper.journal")}});
    auto lib = load_plugin(OG_BROKER_PAPER_SO, OG_KIND_BROKER);
    {
        Events events;
        auto broker = lib->create_broker("paper", cfg, &events);
        broker->place_order(order("a", Side::Buy, OrderType::Market, "2"), kTimeout);
        broker->place_order(order("b", Side::Buy, OrderType::Limit, "1", D("90.00")), kTimeout);
    }  // stop + destroy
    Events events;
    auto broker = lib->create_broker("paper", cfg, &events);
    EXPECT_EQ(broker->get_order("ACC1", "", "a").status, OrderStatus::Filled);
    EXPECT_EQ(broker->get_order("ACC1", "", "b").status, OrderStatus::Open);
    EXPECT_EQ(broker->list_fills("ACC1", 0).size(), 1u);
    EXPECT_TRUE(broker->account("ACC1").cash == D("999800.00"));
    EXPECT_EQ(broker->place_order(order("c", Side::Buy, OrderType::Market, "1"), kTimeout)
                  .broker_order_id,
              "P-3");
}

// ---- ABI 1.4 through the real loader ------------------------------------------------------------

// async_ack: the call answers Pending (nothing through the result sink) and the acknowledgement
// follows through the event sink; a modify's and a cancel's answers name their request ids.
TEST(PaperPluginLoaded, AsyncAckAnswersPendingAndAcknowledgesThroughTheSink) {
    Events events;
    auto lib = load_plugin(OG_BROKER_PAPER_SO, OG_KIND_BROKER);
    auto broker = lib->create_broker("paper", quiet({{"async_ack", "true"}}), &events);
    ASSERT_TRUE(events.wait_for("connected"));
    EXPECT_EQ(status_of([&] {
                  broker->place_order(order("a1", Side::Sell, OrderType::Limit, "1", D("150.00")),
                                      kTimeout);
              }),
              Status::Pending);
    ASSERT_TRUE(events.wait_for("order a1 OPEN"));
    ModifyRequest m;
    m.account_id = "ACC1";
    m.client_order_id = "a1";
    m.broker_order_id = broker->get_order("ACC1", "", "a1").broker_order_id;
    m.price = D("140.00");
    m.request_id = "a1-r1";
    m.orig_request_id = "a1";
    EXPECT_EQ(status_of([&] { broker->modify_order(m, kTimeout); }), Status::Pending);
    // The answer names the order by the modify's own id, as a FIX venue's ClOrdID does.
    ASSERT_TRUE(events.wait_for("order a1-r1 OPEN"));
    CancelRequest c{"ACC1", m.broker_order_id, "a1", "a1-r2", "a1-r1"};
    EXPECT_EQ(status_of([&] { broker->cancel_request(c, kTimeout); }), Status::Pending);
    ASSERT_TRUE(events.wait_for("order a1-r2 CANCELLED"));
    // A venue refusal of a placement arrives as a REJECTED event.
    EXPECT_EQ(status_of([&] {
                  broker->place_order(order("a2", Side::Buy, OrderType::Market, "1", std::nullopt,
                                            std::nullopt, TimeInForce::Day, "NOPE"),
                                      kTimeout);
              }),
              Status::Pending);
    EXPECT_TRUE(events.wait_for("order a2 REJECTED"));
    broker->stop();
}

// A 1.4 plugin's settings reach it through create_v2 (the host passes the element size).
TEST(PaperPluginLoaded, SettingsArriveThroughCreateV2) {
    auto lib = load_plugin(OG_BROKER_PAPER_SO, OG_KIND_BROKER);
    ASSERT_NE(lib->broker_table()->create_v2, nullptr);
    Events events;
    // An unknown key is refused by the plugin: proof the entries were read.
    EXPECT_EQ(status_of([&] {
                  lib->create_broker("paper", quiet({{"no_such_key", "1"}}), &events);
              }),
              Status::InvalidArgument);
}

// ABI 1.4: capabilities per instance, decided from the settings; the host uses the instance's.
TEST(PaperPluginLoaded, InstanceCapabilitiesComeFromItsSettings) {
    Events events;
    auto lib = load_plugin(OG_BROKER_PAPER_SO, OG_KIND_BROKER);
    auto plain = lib->create_broker("plain", quiet(), &events);
    auto no_modify = lib->create_broker("no-modify", quiet({{"modify", "false"}}), &events);
    EXPECT_TRUE(plain->has(OG_CAP_MODIFY));
    EXPECT_FALSE(no_modify->has(OG_CAP_MODIFY));
    EXPECT_FALSE(no_modify->has(OG_CAP_MODIFY_PRICE));
    EXPECT_TRUE(no_modify->has(OG_CAP_ORDER_LIMIT));
    ModifyRequest m;
    m.account_id = "ACC1";
    m.broker_order_id = "P-1";
    m.price = D("1.00");
    // Refused by the host before the plugin is called.
    EXPECT_EQ(status_of([&] { no_modify->modify_order(m, kTimeout); }), Status::Unsupported);
}

// ABI 1.4: a throttled venue's wait reaches the host.
TEST(PaperPluginLoaded, RateLimitedCarriesTheVenuesWait) {
    Events events;
    auto lib = load_plugin(OG_BROKER_PAPER_SO, OG_KIND_BROKER);
    auto broker = lib->create_broker(
        "throttled", quiet({{"fault.rate_limited_retry_after_ms", "2500"}}), &events);
    try {
        broker->place_order(order("r1", Side::Buy, OrderType::Market, "1"), kTimeout);
        FAIL();
    } catch (const sdk::Error& e) {
        EXPECT_EQ(e.status(), Status::RateLimited) << e.what();
        EXPECT_EQ(e.retry_after().count(), 2500);
    }
}

}  // namespace
}  // namespace ordergate::paper
