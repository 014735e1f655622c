// Unit tests of the reconciler (host/reconcile/reconciler.hpp) against fakes of the ports: the
// storage lease that keeps one reconciler per broker among gateways sharing storage. Time is a
// ManualClock that the broker's report calls move on, as a slow venue would; another gateway is
// played by taking the lease in the fake storage directly.
#include "reconcile/reconciler.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fakes.hpp"
#include "orders/order_service.hpp"
#include "positions/position_book.hpp"

namespace ordergate::reconcile {
namespace {

using orders::testing::FakeBroker;
using orders::testing::FakeStorage;
using orders::testing::fill_of;
using orders::testing::limit_buy;
using std::chrono::seconds;

constexpr uint64_t kCaps =
    OG_CAP_ORDER_LIMIT | OG_CAP_TIF_DAY | OG_CAP_PUSH_EVENTS | OG_CAP_REPORT_FILLS;
constexpr const char* kLease = "reconcile:paper";

// A venue whose fills report is scripted: each page is what `next_page` answers.
class ReportingBroker : public FakeBroker {
  public:
    ReportingBroker() : FakeBroker("paper", kCaps) {}
    std::function<ReportPage<Fill>(const std::string& cursor)> next_page;
    ReportPage<Fill> list_fills_page(const std::string&, int64_t, const std::string& cursor,
                                     uint32_t) override {
        return next_page(cursor);
    }
};

// The value of a whole-number field of a run's report.
int64_t report_number(const std::string& json, const std::string& key) {
    const size_t at = json.find("\"" + key + "\":");
    if (at == std::string::npos) return -1;
    return std::stoll(json.substr(at + key.size() + 3));
}

class ReconcilerLeaseTest : public ::testing::Test {
  protected:
    void SetUp() override {
        start();
        order_ = place("c1");
    }
    // The service and the reconciler over storage_ as it is; again: a restart.
    void start() {
        reconciler_.reset();
        service_ = std::make_unique<orders::OrderService>(
            storage_, std::map<std::string, ports::BrokerPort*>{{"paper", &broker_}},
            std::vector<orders::AccountRoute>{{"ACC1", "paper", ""}}, nullptr, &book_, nullptr,
            clock_, orders::ServiceOptions{});
        service_->recover();
        Options o;
        o.lease = seconds(6);
        o.holder = "gw-a";
        o.grace_period = seconds(0);
        o.calls_per_second = 1000;
        o.throttle_backoff = backoff_;
        o.startup_calls_per_second = startup_rate_;
        reconciler_ = std::make_unique<Reconciler>(
            storage_, std::map<std::string, ports::BrokerPort*>{{"paper", &broker_}},
            std::vector<orders::AccountRoute>{{"ACC1", "paper", ""}}, *service_, &book_, nullptr,
            clock_, o);
    }
    void TearDown() override {
        reconciler_.reset();
        service_.reset();
    }

    OrderRecord place(const std::string& cid) {
        auto res = service_->place(limit_buy(cid, "100"), orders::AccountScope{false, {"ACC1"}},
                                   orders::Origin{"req-" + cid, EventSource::Api, ""});
        EXPECT_TRUE(res.has_value()) << (res ? "" : res.error().detail);
        return res ? res->order : OrderRecord{};
    }

    // A fill of 10 of the placed order the gateway never heard of.
    Fill fill(const std::string& trade_id) const {
        return fill_of(order_, trade_id, "10", "100.00");
    }

    FakeStorage storage_;
    ReportingBroker broker_;
    positions::PositionBook book_;
    std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
    std::unique_ptr<orders::OrderService> service_;
    std::unique_ptr<Reconciler> reconciler_;
    OrderRecord order_;
    std::chrono::milliseconds backoff_{1000};
    int startup_rate_ = 0;
};

// A broker call that outlasts the lease: another gateway takes the lapsed lease meanwhile. The
// run must not apply what the call returned (the other gateway's run does), and its recorded
// lease interval ends at the expiry, before the other gateway's began.
TEST_F(ReconcilerLeaseTest, ARunWhoseLeaseLapsedDuringABrokerCallStopsBeforeWriting) {
    int64_t other_took_ns = 0;
    broker_.next_page = [&](const std::string&) {
        clock_->advance(seconds(7));
        EXPECT_TRUE(storage_.lease_acquire(kLease, "gw-b", clock_->now_ns(), 6'000'000'000));
        other_took_ns = clock_->now_ns();
        ReportPage<Fill> page;
        page.items.push_back(fill("T1"));
        return page;
    };
    const RunResult r = reconciler_->run_now("paper", "operator");
    EXPECT_EQ(r.status, "ABORTED");
    EXPECT_TRUE(storage_.stored_fills().empty()) << "a fill was written after the lease lapsed";
    EXPECT_EQ(storage_.stored_order(order_.id)->filled_quantity.to_string(), "0");

    const std::vector<ReconRun> runs = storage_.stored_recon_runs();
    ASSERT_EQ(runs.size(), 1u);
    const std::string& report = runs[0].report_json;
    const int64_t from = report_number(report, "lease_from_ns");
    const int64_t until = report_number(report, "lease_until_ns");
    EXPECT_GT(from, 0) << report;
    EXPECT_GE(until, from) << report;
    EXPECT_LE(until, other_took_ns)
        << "the run's lease interval overlaps the other gateway's: " << report;
    EXPECT_NE(report.find("\"lease\":\"lost during the run\""), std::string::npos) << report;
    EXPECT_NE(report.find("lapsed"), std::string::npos) << report;
    // The other gateway still holds it: the run did not release what was no longer its own.
    EXPECT_FALSE(storage_.lease_acquire(kLease, "gw-c", clock_->now_ns(), 1));
}

// A run longer than the lease's time to live, each step shorter: the lease is renewed as it goes,
// another gateway cannot take it, and everything the venue reported is applied.
TEST_F(ReconcilerLeaseTest, ALongRunKeepsItsLeaseByRenewingIt) {
    int refused = 0;
    broker_.next_page = [&](const std::string& cursor) {
        clock_->advance(seconds(3));
        if (!storage_.lease_acquire(kLease, "gw-b", clock_->now_ns(), 6'000'000'000)) ++refused;
        const int n = cursor.empty() ? 0 : std::stoi(cursor);
        ReportPage<Fill> page;
        page.items.push_back(fill("T" + std::to_string(n)));
        if (n < 3) page.next_cursor = std::to_string(n + 1);
        return page;
    };
    const RunResult r = reconciler_->run_now("paper", "operator");
    EXPECT_NE(r.status, "ABORTED");
    EXPECT_NE(r.status, "FAILED");
    EXPECT_EQ(refused, 4);  // 12 s of calls, twice the time to live
    EXPECT_EQ(storage_.stored_fills().size(), 4u);
    EXPECT_EQ(storage_.stored_order(order_.id)->filled_quantity.to_string(), "40");
}

// Waits (up to 5 s) until storage holds `n` fills: pushed fills are applied by the service's
// event thread.
bool wait_for_fills(const FakeStorage& storage, size_t n) {
    for (int i = 0; i < 500; ++i) {
        if (storage.stored_fills().size() >= n) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

// The venue lists trades this gateway stored itself (pushed, remembered once durable): the run
// recognises them without reading the window's stored fills back (at 3,000 orders a second that
// read was every fill of the last minutes, on every run), and writes nothing.
TEST_F(ReconcilerLeaseTest, TradesThisGatewayStoredAreRecognisedWithoutReadingStorage) {
    service_->on_fill("paper", fill("T1"));
    service_->on_fill("paper", fill("T2"));
    ASSERT_TRUE(wait_for_fills(storage_, 2));
    broker_.next_page = [&](const std::string&) {
        ReportPage<Fill> page;
        page.items = {fill("T1"), fill("T2")};
        return page;
    };
    const int reads = storage_.fill_list_calls();
    const RunResult r = reconciler_->run_now("paper", "operator");
    // DRIFT: the scripted venue lists no open orders, so the live order is missing there.
    EXPECT_EQ(r.status, "DRIFT");
    const std::string report = storage_.stored_recon_runs().back().report_json;
    EXPECT_EQ(report.find("missing_fill"), std::string::npos) << report;
    EXPECT_NE(report.find("\"broker_fills\":2"), std::string::npos) << report;
    EXPECT_EQ(storage_.fill_list_calls(), reads) << "the stored fills were read back";
    EXPECT_EQ(storage_.stored_fills().size(), 2u);
    EXPECT_EQ(storage_.stored_order(order_.id)->filled_quantity.to_string(), "20");
}

// After a restart nothing is remembered: the listed trades are looked up in storage (read once
// for the run), a stored one is not written again and a missing one is applied.
TEST_F(ReconcilerLeaseTest, AfterARestartTheListedTradesAreLookedUpInStorage) {
    service_->on_fill("paper", fill("T1"));
    ASSERT_TRUE(wait_for_fills(storage_, 1));
    start();
    broker_.next_page = [&](const std::string& cursor) {
        ReportPage<Fill> page;
        if (cursor.empty()) {
            page.items = {fill("T1")};
            page.next_cursor = "2";
        } else {
            page.items = {fill("T2"), fill("T1")};
        }
        return page;
    };
    const int reads = storage_.fill_list_calls();
    const RunResult r = reconciler_->run_now("paper", "operator");
    EXPECT_EQ(r.status, "DRIFT");
    EXPECT_GE(storage_.fill_list_calls(), reads + 1) << "storage was not asked";
    EXPECT_EQ(storage_.stored_fills().size(), 2u) << "T1 written twice, or T2 not at all";
    EXPECT_EQ(storage_.stored_order(order_.id)->filled_quantity.to_string(), "20");
    const std::string report = storage_.stored_recon_runs().back().report_json;
    EXPECT_NE(report.find("\"fixed\":{\"missing_fills\":1}"), std::string::npos) << report;
}


// A start-up run is paced at startup_calls_per_second (writes to its broker wait for it), every
// other run at calls_per_second; 0 means calls_per_second. The report says which.
TEST_F(ReconcilerLeaseTest, AStartupRunIsPacedAtItsOwnRate) {
    broker_.next_page = [&](const std::string&) { return ReportPage<Fill>{}; };
    reconciler_->run_now("paper", "startup");
    EXPECT_EQ(report_number(storage_.stored_recon_runs().back().report_json, "calls_per_second"),
              1000);
    startup_rate_ = 5000;
    start();
    reconciler_->run_now("paper", "startup");
    EXPECT_EQ(report_number(storage_.stored_recon_runs().back().report_json, "calls_per_second"),
              5000);
    for (const char* trigger : {"periodic", "operator", "silent_stream"}) {
        reconciler_->run_now("paper", trigger);
        EXPECT_EQ(
            report_number(storage_.stored_recon_runs().back().report_json, "calls_per_second"),
            1000)
            << trigger;
    }
}

// A venue's answer to a call it throttled: nothing done, try again after `retry_after` (0: it does
// not say).
sdk::Error throttled(std::chrono::milliseconds retry_after) {
    return sdk::Error(Status::RateLimited, "too many requests", retry_after);
}

// A throttled report call is no failure of the run: it is waited out, as long as the venue
// asks, and asked again; what the venue then lists is applied as usual.
TEST_F(ReconcilerLeaseTest, AThrottledReportCallIsWaitedOutAndAskedAgain) {
    int calls = 0;
    broker_.next_page = [&](const std::string&) {
        if (++calls <= 2) throw throttled(std::chrono::milliseconds(20));
        ReportPage<Fill> page;
        page.items = {fill("T1")};
        return page;
    };
    const RunResult r = reconciler_->run_now("paper", "operator");
    EXPECT_EQ(r.status, "DRIFT");  // the missing fill, applied (and the unlisted live order)
    EXPECT_EQ(calls, 3);
    EXPECT_EQ(storage_.stored_fills().size(), 1u);
    EXPECT_EQ(storage_.stored_order(order_.id)->filled_quantity.to_string(), "10");
    const std::string report = storage_.stored_recon_runs().back().report_json;
    EXPECT_EQ(report_number(report, "throttled_calls"), 2) << report;
    EXPECT_EQ(report_number(report, "throttled_wait_ms"), 40) << report;
    EXPECT_EQ(report.find("list_fills"), std::string::npos) << "noted as an error: " << report;
}

// A venue that gives no retry_after: the waits double from throttle_backoff.
TEST_F(ReconcilerLeaseTest, WithoutRetryAfterTheThrottleWaitsDouble) {
    backoff_ = std::chrono::milliseconds(5);
    start();
    int calls = 0;
    broker_.next_page = [&](const std::string&) {
        if (++calls <= 3) throw throttled(std::chrono::milliseconds(0));
        return ReportPage<Fill>{};
    };
    reconciler_->run_now("paper", "operator");
    EXPECT_EQ(calls, 4);
    const std::string report = storage_.stored_recon_runs().back().report_json;
    EXPECT_EQ(report_number(report, "throttled_calls"), 3) << report;
    EXPECT_EQ(report_number(report, "throttled_wait_ms"), 5 + 10 + 20) << report;
}

// A venue that keeps throttling: after kMaxThrottled calls the run gives up on it (FAILED, the
// error in its report), and nothing it did not read is concluded.
TEST_F(ReconcilerLeaseTest, AVenueThatKeepsThrottlingFailsTheRun) {
    int calls = 0;
    broker_.next_page = [&](const std::string&) -> ReportPage<Fill> {
        ++calls;
        throw throttled(std::chrono::milliseconds(1));
    };
    const RunResult r = reconciler_->run_now("paper", "operator");
    EXPECT_EQ(r.status, "FAILED");
    EXPECT_EQ(calls, Reconciler::kMaxThrottled);
    const std::string report = storage_.stored_recon_runs().back().report_json;
    EXPECT_EQ(report_number(report, "throttled_calls"), Reconciler::kMaxThrottled - 1) << report;
    EXPECT_NE(report.find("\"call\":\"list_fills\""), std::string::npos) << report;
    EXPECT_NE(report.find("too many requests"), std::string::npos) << report;
    EXPECT_TRUE(storage_.stored_fills().empty());
}

// Stopping the gateway while a run waits out a long throttle ends the run at once (ABORTED).
TEST_F(ReconcilerLeaseTest, StoppingDuringAThrottleWaitAbortsTheRun) {
    std::atomic<bool> asked{false};
    broker_.next_page = [&](const std::string&) -> ReportPage<Fill> {
        asked = true;
        throw throttled(std::chrono::milliseconds(30000));
    };
    std::thread stopper([&] {
        while (!asked) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        reconciler_->stop();
    });
    const RunResult r = reconciler_->run_now("paper", "operator");
    stopper.join();
    EXPECT_EQ(r.status, "ABORTED");
    EXPECT_TRUE(storage_.stored_fills().empty());
}

}  // namespace
}  // namespace ordergate::reconcile
