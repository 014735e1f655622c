// Broker events applied in batches (SDK ABI 1.6, OG_CAP_BATCHED_EVENTS; host/orders/
// order_events.cpp): a batched broker's on_fill / on_order_update only queue, one thread applies
// what was queued with many changes per storage commit, and sync_events() says when all of it is
// stored. Against the fakes of the ports (fakes.hpp), as the order service's own tests.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fakes.hpp"
#include "orders/order_service.hpp"
#include "positions/position_book.hpp"

namespace ordergate::orders {
namespace {

using testing::ack_of;
using testing::FakeBroker;
using testing::FakeStorage;
using testing::fill_of;
using testing::limit_buy;
using testing::report_of;
using namespace std::chrono_literals;

constexpr uint64_t kBatchedCaps = OG_CAP_ORDER_MARKET | OG_CAP_ORDER_LIMIT | OG_CAP_TIF_DAY |
                                  OG_CAP_MODIFY | OG_CAP_MODIFY_QUANTITY | OG_CAP_MODIFY_PRICE |
                                  OG_CAP_PUSH_EVENTS | OG_CAP_BATCHED_EVENTS;

Decimal dec(const char* text) { return Decimal::must_parse(text); }

// The order a venue holds for `r` under its own id: what fill_of() needs while a place is still
// in its call.
OrderRecord as_venue_knows_it(const OrderRequest& r, const std::string& broker_order_id) {
    OrderRecord o;
    o.broker_order_id = broker_order_id;
    o.client_order_id = r.client_order_id;
    o.account_id = r.account_id;
    o.symbol = r.symbol;
    o.exchange = r.exchange;
    o.side = r.side;
    return o;
}

class BatchedEventsTest : public ::testing::Test {
  protected:
    void SetUp() override { start(ServiceOptions{}); }

    void start(ServiceOptions options) {
        service_.reset();
        service_ = std::make_unique<OrderService>(
            storage_,
            std::map<std::string, ports::BrokerPort*>{{"paper", &broker_}, {"direct", &direct_}},
            std::vector<AccountRoute>{{"ACC1", "paper", ""}, {"ACC9", "direct", ""}}, nullptr,
            &book_, nullptr, clock_, std::move(options));
        service_->recover();
    }

    OrderRecord place_open(const std::string& cid, const char* qty) {
        auto res = service_->place(limit_buy(cid, qty), scope_, origin_);
        EXPECT_TRUE(res.has_value()) << (res ? "" : res.error().detail);
        return res ? res->order : OrderRecord{};
    }


    OrderRecord current(const std::string& id) {
        auto r = service_->get(id, scope_);
        EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().detail);
        return r ? *r : OrderRecord{};
    }

    void sync() { ASSERT_EQ(service_->sync_events("paper", 10s), Status::Ok); }

    FakeStorage storage_;
    FakeBroker broker_{"paper", kBatchedCaps};
    FakeBroker direct_{"direct", kBatchedCaps & ~OG_CAP_BATCHED_EVENTS};
    positions::PositionBook book_;
    std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
    AccountScope scope_{false, {"ACC1", "ACC9"}};
    Origin origin_{"req-1", EventSource::Api, ""};
    std::unique_ptr<OrderService> service_;  // last: destroyed before the fakes it uses
};

TEST_F(BatchedEventsTest, FillsOfManyOrdersShareCommitsAndEndWhereTheVenueIs) {
    constexpr int kOrders = 300;
    std::vector<OrderRecord> orders;
    for (int i = 0; i < kOrders; ++i) orders.push_back(place_open("c" + std::to_string(i), "2"));
    service_->flush();
    // The store is held while the events are queued: they pile up, as under load.
    storage_.hold();
    const int batches_before = storage_.committed_batches();
    std::thread push([&] {
        for (int i = 0; i < kOrders; ++i)
            service_->on_fill("paper", fill_of(orders[i], "T" + std::to_string(i), "2", "100.50"));
    });
    storage_.wait_until_held();
    push.join();  // the sink's calls returned without waiting for any commit
    storage_.release();
    sync();
    for (const auto& o : orders) {
        const OrderRecord now = current(o.id);
        EXPECT_EQ(now.status, OrderStatus::Filled) << o.client_order_id;
        EXPECT_EQ(now.filled_quantity, dec("2"));
        EXPECT_EQ(now.average_fill_price, dec("100.50"));
        const auto stored = storage_.stored_order(o.id);
        ASSERT_TRUE(stored);
        EXPECT_EQ(stored->status, OrderStatus::Filled);
        EXPECT_EQ(stored->version, now.version);
    }
    EXPECT_EQ(storage_.stored_fills().size(), static_cast<size_t>(kOrders));
    auto pos = book_.get({"ACC1", "paper", "AAPL", "XNAS"});
    ASSERT_TRUE(pos);
    EXPECT_EQ(pos->quantity, dec("600"));
    // 300 fills, two ops each, in far fewer commits than fills (one commit each before).
    const int commits = storage_.committed_batches() - batches_before;
    EXPECT_LT(commits, kOrders / 4) << "commits for " << kOrders << " fills";
}

TEST_F(BatchedEventsTest, EventsOfOneOrderApplyInTheirOrderWithinABatch) {
    OrderRecord o = place_open("c1", "10");
    service_->flush();
    storage_.hold();
    std::thread push([&] {
        service_->on_fill("paper", fill_of(o, "T1", "3", "100.00"));
        service_->on_fill("paper", fill_of(o, "T2", "3", "101.00"));
        service_->on_fill("paper", fill_of(o, "T2", "3", "101.00"));  // a PossDup resend
        service_->on_fill("paper", fill_of(o, "T3", "4", "102.00"));
        service_->on_order_update("paper", report_of(o, OrderStatus::Filled));
    });
    storage_.wait_until_held();
    push.join();
    storage_.release();
    sync();
    const OrderRecord now = current(o.id);
    EXPECT_EQ(now.status, OrderStatus::Filled);
    EXPECT_EQ(now.filled_quantity, dec("10"));
    EXPECT_EQ(now.average_fill_price, dec("101.1"));  // (300 + 303 + 408) / 10
    EXPECT_EQ(storage_.stored_fills().size(), 3u);
    // Every version once, in order: 1 intent, 2 ack, 3..5 the three fills.
    const auto evs = storage_.stored_events(o.id);
    ASSERT_EQ(evs.size(), 5u);
    for (size_t i = 0; i < evs.size(); ++i) EXPECT_EQ(evs[i].seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ(evs.back().filled_quantity, dec("10"));
    auto pos = book_.get({"ACC1", "paper", "AAPL", "XNAS"});
    ASSERT_TRUE(pos);
    EXPECT_EQ(pos->quantity, dec("10"));
}

TEST_F(BatchedEventsTest, NoReaderSeesAFillBeforeItIsStored) {
    OrderRecord o = place_open("c1", "5");
    service_->flush();
    storage_.hold();
    service_->on_fill("paper", fill_of(o, "T1", "5", "100.00"));
    storage_.wait_until_held();
    // The fill's write is held: a reader gets the order as storage has it (it waits for the
    // order's lock, which is let go unchanged when the store stays slow), never ahead of it.
    auto read = std::async(std::launch::async, [&] { return current(o.id); });
    const OrderRecord seen = read.get();
    EXPECT_EQ(seen.filled_quantity, dec("0"));
    EXPECT_EQ(seen.status, OrderStatus::Open);
    storage_.release();
    sync();
    EXPECT_EQ(current(o.id).filled_quantity, dec("5"));
    EXPECT_EQ(current(o.id).status, OrderStatus::Filled);
}

TEST_F(BatchedEventsTest, AFillOfNoKnownOrderKeepsTheBatchsOrderForPositions) {
    OrderRecord o = place_open("c1", "4");
    service_->flush();
    Fill stray = fill_of(o, "T9", "1", "99.00");
    stray.broker_order_id = "NOT-OURS";
    stray.client_order_id = "not-ours";
    storage_.hold();
    std::thread push([&] {
        service_->on_fill("paper", fill_of(o, "T1", "4", "100.00"));
        service_->on_fill("paper", stray);  // stored without an order; settles T1 first
    });
    storage_.wait_until_held();
    push.join();
    storage_.release();
    sync();
    EXPECT_EQ(current(o.id).status, OrderStatus::Filled);
    EXPECT_EQ(storage_.stored_fills().size(), 2u);
    auto pos = book_.get({"ACC1", "paper", "AAPL", "XNAS"});
    ASSERT_TRUE(pos);
    EXPECT_EQ(pos->quantity, dec("5"));
}

TEST_F(BatchedEventsTest, ABrokerWithoutTheCapabilityIsAppliedInItsCall) {
    OrderRequest r = limit_buy("d1", "2");
    r.account_id = "ACC9";  // on the broker without the capability
    auto res = service_->place(r, scope_, origin_);
    ASSERT_TRUE(res.has_value());
    service_->on_fill("direct", fill_of(res->order, "D1", "2", "100.00"));
    // No sync: stored and applied when on_fill returned.
    EXPECT_EQ(storage_.stored_fills().size(), 1u);
    EXPECT_EQ(current(res->order.id).status, OrderStatus::Filled);
    EXPECT_EQ(service_->sync_events("direct", 0ms), Status::Ok);
}

TEST_F(BatchedEventsTest, StopAppliesWhatIsQueuedAndLaterEventsInTheirCall) {
    OrderRecord o = place_open("c1", "3");
    service_->flush();
    storage_.hold();
    service_->on_fill("paper", fill_of(o, "T1", "3", "100.00"));
    storage_.wait_until_held();
    EXPECT_EQ(service_->sync_events("paper", 50ms), Status::Timeout);
    auto stopped = std::async(std::launch::async, [&] { service_->stop_event_queues(); });
    storage_.release();
    stopped.get();
    EXPECT_EQ(storage_.stored_order(o.id)->status, OrderStatus::Filled);
    EXPECT_EQ(service_->sync_events("paper", 0ms), Status::Ok);  // everything pushed is stored
    // Events pushed after the stop are applied in their call.
    service_->on_order_update("paper", report_of(current(o.id), OrderStatus::Filled));
    EXPECT_EQ(current(o.id).status, OrderStatus::Filled);
}

// The case that cut every batch short: a venue's acknowledgement and the fills of the same order
// arrive back to back. They chain in memory and share the commits of the batch.
TEST_F(BatchedEventsTest, AnAckAndTheFillsOfOneOrderChainInOneBatch) {
    broker_.on_place([](const OrderRequest&) -> OrderReport {
        FakeBroker::fail(Status::UnknownOutcome, "connection lost");
    });
    std::vector<OrderRecord> pending;
    for (int i = 0; i < 50; ++i) {
        auto res = service_->place(limit_buy("p" + std::to_string(i), "4"), scope_, origin_);
        ASSERT_TRUE(res.has_value());
        ASSERT_EQ(res->order.status, OrderStatus::PendingNew);
        pending.push_back(res->order);
    }
    service_->flush();
    storage_.hold();
    const int batches_before = storage_.committed_batches();
    std::thread push([&] {
        for (size_t i = 0; i < pending.size(); ++i) {
            OrderRecord o = pending[i];
            o.broker_order_id = "V" + std::to_string(i);
            service_->on_order_update("paper", report_of(o, OrderStatus::Open));
            service_->on_fill("paper", fill_of(o, "A" + std::to_string(i), "1", "100.00"));
            service_->on_fill("paper", fill_of(o, "B" + std::to_string(i), "3", "102.00"));
        }
    });
    storage_.wait_until_held();
    push.join();
    storage_.release();
    sync();
    for (const auto& o : pending) {
        const OrderRecord now = current(o.id);
        EXPECT_EQ(now.status, OrderStatus::Filled) << o.client_order_id;
        EXPECT_EQ(now.filled_quantity, dec("4"));
        EXPECT_EQ(now.average_fill_price, dec("101.5"));
        EXPECT_EQ(now.broker_order_id.substr(0, 1), "V");
        const auto evs = storage_.stored_events(o.id);
        ASSERT_EQ(evs.size(), 4u);  // intent, ack, two fills: each version once, in order
        for (size_t i = 0; i < evs.size(); ++i) EXPECT_EQ(evs[i].seq, static_cast<int64_t>(i + 1));
        EXPECT_EQ(storage_.stored_order(o.id)->version, now.version);
    }
    // 150 events in fewer commits than orders (one per event before batching, and one per order
    // while every order's second event settled the batch: 52 for these 50). A fake store commits
    // at once, so batches here are smaller than behind a real flush.
    EXPECT_LT(storage_.committed_batches() - batches_before, 40);
}

// A venue that answers a place with OG_PENDING (ABI 1.4) and pushes the acknowledgement and the
// fill as batched events. The place answers from the acknowledgement once it is applied, without
// waiting for the commit of the batch that holds the fill (nothing is written while the store is
// held here); everything lands afterwards, in order. Before, the acknowledgement was held with the
// batch: the place answered only after a commit, and here, with the store held, not at all
// (PENDING_NEW at the broker's deadline).
TEST_F(BatchedEventsTest, APlaceAnswersFromItsPushedAckWithoutWaitingForTheBatchsCommit) {
    broker_.on_place([this](const OrderRequest& r) -> OrderReport {
        storage_.hold();  // the intent is stored; every write from here on waits
        const OrderRecord o = as_venue_knows_it(r, "V1");
        service_->on_order_update("paper", ack_of(r, "V1"));
        service_->on_fill("paper", fill_of(o, "T1", "5", "100.00"));
        FakeBroker::fail(Status::Pending, "sent");
    });
    struct ReleaseOnExit {
        FakeStorage& storage;
        ~ReleaseOnExit() { storage.release(); }  // a failed assertion must not leave it held
    } release_on_exit{storage_};
    auto placed = std::async(std::launch::async,
                             [&] { return service_->place(limit_buy("c1", "5"), scope_, origin_); });
    ASSERT_EQ(placed.wait_for(4s), std::future_status::ready);
    auto res = placed.get();
    ASSERT_TRUE(res.has_value()) << res.error().detail;
    EXPECT_TRUE(res->outcome_known);
    EXPECT_NE(res->order.status, OrderStatus::PendingNew);
    EXPECT_EQ(res->order.broker_order_id, "V1");
    const std::string id = res->order.id;
    ASSERT_EQ(storage_.stored_order(id)->status, OrderStatus::PendingNew);  // only the intent

    storage_.release();
    sync();
    const auto stored = storage_.stored_order(id);
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->status, OrderStatus::Filled);
    EXPECT_EQ(stored->filled_quantity, dec("5"));
    const auto evs = storage_.stored_events(id);
    ASSERT_EQ(evs.size(), 3u);  // intent, acknowledgement, fill: each version once, in order
    for (size_t i = 0; i < evs.size(); ++i) EXPECT_EQ(evs[i].seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ(evs[1].to_status, OrderStatus::Open);
    EXPECT_EQ(current(id).status, OrderStatus::Filled);
    EXPECT_EQ(current(id).version, stored->version);
}

// The same venue pushing the fill before any acknowledgement: the fill finds the order by its
// client order id while still PENDING_NEW, so the batch's stash holds the order its place waits
// for. The batch's commit is then asked for at once; the writer would otherwise hold the batch's
// writes for its linger (a minute here), and the place would see its order only after the stash
// let go of it unchanged, PENDING_NEW, and answer 202 at the broker's deadline.
TEST_F(BatchedEventsTest, APlaceWaitingForAnOrderTheBatchHoldsHasTheBatchCommittedAtOnce) {
    ServiceOptions options;
    options.write_linger = std::chrono::minutes(1);
    options.broker_timeout = 4s;
    start(options);
    broker_.on_place([this](const OrderRequest& r) -> OrderReport {
        const OrderRecord o = as_venue_knows_it(r, "V1");
        service_->on_fill("paper", fill_of(o, "T1", "5", "100.00"));
        FakeBroker::fail(Status::Pending, "sent");
    });
    auto res = service_->place(limit_buy("c1", "5"), scope_, origin_);
    ASSERT_TRUE(res.has_value()) << res.error().detail;
    EXPECT_TRUE(res->outcome_known);
    EXPECT_EQ(res->order.status, OrderStatus::Filled);
    EXPECT_EQ(res->order.filled_quantity, dec("5"));
    const auto stored = storage_.stored_order(res->order.id);
    ASSERT_TRUE(stored);  // answered after the batch's commit: storage has the fill
    EXPECT_EQ(stored->status, OrderStatus::Filled);
    EXPECT_EQ(stored->version, res->order.version);
}

// A change that does not land as computed (another writer changed the row first) leaves memory
// where storage is, with every stored fill counted.
TEST_F(BatchedEventsTest, AChangeThatLostARaceIsReReadFromStorage) {
    OrderRecord o = place_open("c1", "6");
    service_->flush();
    storage_.conflict_next_updates(1);  // the fill's row update loses; the fill itself is stored
    service_->on_fill("paper", fill_of(o, "T1", "2", "100.00"));
    service_->on_fill("paper", fill_of(o, "T2", "1", "103.00"));
    sync();
    const OrderRecord now = current(o.id);
    const auto stored = storage_.stored_order(o.id);
    ASSERT_TRUE(stored);
    EXPECT_EQ(now.version, stored->version);
    EXPECT_EQ(now.filled_quantity, dec("3"));
    EXPECT_EQ(stored->filled_quantity, dec("3"));
    EXPECT_EQ(now.average_fill_price, dec("101"));
    EXPECT_EQ(now.status, OrderStatus::PartiallyFilled);
    auto pos = book_.get({"ACC1", "paper", "AAPL", "XNAS"});
    ASSERT_TRUE(pos);
    EXPECT_EQ(pos->quantity, dec("3"));
}

// After a restart (or once the trade-id cache was emptied) a venue's resend, or reconciliation
// listing what the stream brought already, names a trade of a done order: it is known from the
// order's stored fills, nothing is written, and nothing is logged as an overfill.
TEST_F(BatchedEventsTest, AKnownTradeOfADoneOrderIsADuplicateWithoutAWrite) {
    OrderRecord o = place_open("c1", "2");
    service_->on_fill("paper", fill_of(o, "T1", "2", "100.00"));
    sync();
    ASSERT_EQ(current(o.id).status, OrderStatus::Filled);
    service_->flush();
    service_.reset();  // a restart: nothing of the trade in memory
    service_ = std::make_unique<OrderService>(
        storage_,
        std::map<std::string, ports::BrokerPort*>{{"paper", &broker_}, {"direct", &direct_}},
        std::vector<AccountRoute>{{"ACC1", "paper", ""}, {"ACC9", "direct", ""}}, nullptr, &book_,
        nullptr, clock_, ServiceOptions{});
    service_->recover();
    const int ops_before = storage_.committed_ops();
    service_->on_fill("paper", fill_of(o, "T1", "2", "100.00"));
    sync();
    service_->flush();
    EXPECT_EQ(storage_.committed_ops(), ops_before);
    EXPECT_EQ(storage_.stored_fills().size(), 1u);
    EXPECT_EQ(current(o.id).filled_quantity, dec("2"));
    EXPECT_EQ(storage_.stored_events(o.id).size(), 3u);
}

}  // namespace
}  // namespace ordergate::orders
