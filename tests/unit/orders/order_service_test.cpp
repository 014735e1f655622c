// Unit tests of the order service (host/orders/order_service.hpp) against fakes of the ports:
// FakeStorage (the storage contract in memory) and FakeBroker (scripted answers). Broker pushes
// are played by calling the service's BrokerEvents functions. Time is a ManualClock; asynchronous
// writes are awaited with OrderService::flush().
#include "orders/order_service.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fakes.hpp"
#include "positions/position_book.hpp"

namespace ordergate::orders {
namespace {

using testing::ack_of;
using testing::FakeBroker;
using testing::FakeStorage;
using testing::report_of;

constexpr uint64_t kAllCaps = OG_CAP_ORDER_MARKET | OG_CAP_ORDER_LIMIT | OG_CAP_ORDER_STOP |
                              OG_CAP_ORDER_STOP_LIMIT | OG_CAP_TIF_DAY | OG_CAP_TIF_GTC |
                              OG_CAP_TIF_IOC | OG_CAP_TIF_FOK | OG_CAP_MODIFY |
                              OG_CAP_MODIFY_QUANTITY | OG_CAP_MODIFY_PRICE | OG_CAP_PUSH_EVENTS;

Decimal dec(const char* text) { return Decimal::must_parse(text); }

class OrderServiceTest : public ::testing::Test {
  protected:
    void SetUp() override {
        service_ = std::make_unique<OrderService>(
            storage_, std::map<std::string, ports::BrokerPort*>{{"paper", &broker_}},
            std::vector<AccountRoute>{{"ACC1", "paper"}, {"ACC2", "paper"}}, nullptr, &book_,
            nullptr, clock_, ServiceOptions{});
    }

    static OrderRequest limit_buy(const std::string& cid, const char* qty = "5",
                                  const char* price = "100.00") {
        OrderRequest r;
        r.client_order_id = cid;
        r.account_id = "ACC1";
        r.symbol = "AAPL";
        r.exchange = "XNAS";
        r.side = Side::Buy;
        r.order_type = OrderType::Limit;
        r.time_in_force = TimeInForce::Day;
        r.quantity = dec(qty);
        r.price = dec(price);
        return r;
    }

    // Places an order the broker acknowledges; returns it (OPEN, version 2).
    OrderRecord place_open(const std::string& cid, const char* qty = "5") {
        auto res = service_->place(limit_buy(cid, qty), scope_, origin_);
        EXPECT_TRUE(res.has_value()) << (res ? "" : res.error().detail);
        if (!res) return {};
        EXPECT_EQ(res->order.status, OrderStatus::Open);
        return res->order;
    }

    static Fill fill_of(const OrderRecord& o, const std::string& trade_id, const char* qty,
                        const char* price) {
        Fill f;
        f.broker_trade_id = trade_id;
        f.broker_order_id = o.broker_order_id;
        f.client_order_id = o.client_order_id;
        f.account_id = o.account_id;
        f.symbol = o.symbol;
        f.exchange = o.exchange;
        f.side = o.side;
        f.quantity = dec(qty);
        f.price = dec(price);
        f.fee = Decimal(0, 0);
        f.executed_at_ns = 1'700'000'000'000'000'000;
        return f;
    }

    OrderRecord current(const std::string& id) {
        auto r = service_->get(id, scope_);
        EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().detail);
        return r ? *r : OrderRecord{};
    }

    std::vector<OrderEvent> events(const std::string& id) {
        auto r = service_->events(id, scope_, 0, 1000);
        EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().detail);
        return r ? *r : std::vector<OrderEvent>{};
    }

    FakeStorage storage_;
    FakeBroker broker_{"paper", kAllCaps};
    positions::PositionBook book_;
    std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
    AccountScope scope_{false, {"ACC1"}};
    Origin origin_{"req-1", EventSource::Api};
    std::unique_ptr<OrderService> service_;  // last: destroyed before the fakes it uses
};

// ---- place ------------------------------------------------------------------------------------

TEST_F(OrderServiceTest, Place_PersistsTheIntentBeforeTheBrokerIsCalled) {
    std::optional<OrderRecord> seen_by_broker;
    broker_.on_place([&](const OrderRequest& r) {
        seen_by_broker = storage_.stored_by_client_id(r.account_id, r.client_order_id);
        return ack_of(r, "B1");
    });
    auto res = service_->place(limit_buy("c1"), scope_, origin_);
    ASSERT_TRUE(res.has_value()) << res.error().detail;

    ASSERT_TRUE(seen_by_broker.has_value()) << "no durable row when the broker was called";
    EXPECT_EQ(seen_by_broker->status, OrderStatus::PendingNew);
    EXPECT_EQ(seen_by_broker->version, 1);
    EXPECT_EQ(seen_by_broker->id, res->order.id);
}

TEST_F(OrderServiceTest, Place_AckMakesTheOrderOpenWithABrokerEventAtSeq2) {
    auto res = service_->place(limit_buy("c1"), scope_, origin_);
    ASSERT_TRUE(res.has_value()) << res.error().detail;
    EXPECT_TRUE(res->outcome_known);  // 201
    EXPECT_EQ(res->order.status, OrderStatus::Open);
    EXPECT_EQ(res->order.version, 2);
    EXPECT_EQ(res->order.broker_order_id, "B1");  // the fake numbers its acks from 1
    EXPECT_TRUE(res->order.id.rfind("ord_", 0) == 0);

    auto evs = events(res->order.id);
    ASSERT_EQ(evs.size(), 2u);
    EXPECT_EQ(evs[0].seq, 1);
    EXPECT_EQ(evs[0].to_status, OrderStatus::PendingNew);
    EXPECT_EQ(evs[0].source, EventSource::Api);
    EXPECT_EQ(evs[1].seq, 2);
    EXPECT_EQ(evs[1].from_status, OrderStatus::PendingNew);
    EXPECT_EQ(evs[1].to_status, OrderStatus::Open);
    EXPECT_EQ(evs[1].source, EventSource::Broker);
    EXPECT_EQ(evs[1].request_id, "req-1");
    EXPECT_EQ(storage_.stored_order(res->order.id)->status, OrderStatus::Open);
}

TEST_F(OrderServiceTest, Place_BrokerRejectedStoresRejectedAndAnswersBrokerRejected) {
    broker_.on_place(
        [](const OrderRequest&) -> OrderReport { FakeBroker::fail(Status::Rejected, "no funds"); });
    auto res = service_->place(limit_buy("c1"), scope_, origin_);
    ASSERT_FALSE(res.has_value());
    EXPECT_EQ(res.error().code, ErrorCode::BrokerRejected);
    ASSERT_FALSE(res.error().order_id.empty());
    service_->flush();
    auto stored = storage_.stored_order(res.error().order_id);
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->status, OrderStatus::Rejected);
    EXPECT_EQ(stored->reject_reason, "no funds");
    EXPECT_EQ(stored->client_order_id, "c1");
}

class PlaceNotSentTest : public OrderServiceTest, public ::testing::WithParamInterface<Status> {};

TEST_P(PlaceNotSentTest, Place_BrokerUnavailableOrTimeoutRejectsNotSent) {
    const Status status = GetParam();
    broker_.on_place(
        [status](const OrderRequest&) -> OrderReport { FakeBroker::fail(status, "venue down"); });
    auto res = service_->place(limit_buy("c1"), scope_, origin_);
    ASSERT_FALSE(res.has_value());
    EXPECT_EQ(res.error().code, ErrorCode::BrokerUnavailable);
    ASSERT_FALSE(res.error().order_id.empty());
    service_->flush();
    auto stored = storage_.stored_order(res.error().order_id);
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->status, OrderStatus::Rejected);
    EXPECT_EQ(stored->reject_reason.rfind("NOT_SENT", 0), 0u) << stored->reject_reason;
    EXPECT_EQ(broker_.places().size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(NotSent, PlaceNotSentTest,
                         ::testing::Values(Status::Unavailable, Status::Timeout));

class PlaceUnknownOutcomeTest : public OrderServiceTest,
                                public ::testing::WithParamInterface<Status> {};

TEST_P(PlaceUnknownOutcomeTest, Place_LostAnswerLeavesPendingNewAndIsNotResent) {
    const Status status = GetParam();
    broker_.on_place([status](const OrderRequest&) -> OrderReport {
        FakeBroker::fail(status, "connection lost");
    });
    auto res = service_->place(limit_buy("c1"), scope_, origin_);
    ASSERT_TRUE(res.has_value()) << res.error().detail;
    EXPECT_FALSE(res->outcome_known);  // 202
    EXPECT_EQ(res->order.status, OrderStatus::PendingNew);
    service_->flush();
    EXPECT_EQ(broker_.places().size(), 1u) << "never resent";
    EXPECT_EQ(storage_.stored_order(res->order.id)->status, OrderStatus::PendingNew);
    EXPECT_EQ(current(res->order.id).status, OrderStatus::PendingNew);
}

INSTANTIATE_TEST_SUITE_P(Unknown, PlaceUnknownOutcomeTest,
                         ::testing::Values(Status::UnknownOutcome, Status::Internal));

TEST_F(OrderServiceTest, Place_StorageDownOnTheIntentAnswersStorageUnavailableWithoutBrokerCall) {
    storage_.fail_next_batches(1, Status::Unavailable);
    auto res = service_->place(limit_buy("c1"), scope_, origin_);
    ASSERT_FALSE(res.has_value());
    EXPECT_EQ(res.error().code, ErrorCode::StorageUnavailable);
    EXPECT_TRUE(broker_.places().empty());
    EXPECT_FALSE(storage_.stored_by_client_id("ACC1", "c1"));
}

TEST_F(OrderServiceTest, Place_RefusedIntentWriteAnswersInternalWithoutBrokerCall) {
    storage_.fail_next_batches(1, Status::Internal);
    auto res = service_->place(limit_buy("c1"), scope_, origin_);
    ASSERT_FALSE(res.has_value());
    EXPECT_EQ(res.error().code, ErrorCode::Internal);
    EXPECT_NE(res.error().detail.find("req-1"), std::string::npos) << res.error().detail;
    EXPECT_TRUE(broker_.places().empty());
}

TEST_F(OrderServiceTest, Place_DuplicateClientOrderIdNamesTheExistingOrder) {
    OrderRecord first = place_open("c1");
    auto res = service_->place(limit_buy("c1"), scope_, origin_);
    ASSERT_FALSE(res.has_value());
    EXPECT_EQ(res.error().code, ErrorCode::DuplicateClientOrderId);
    EXPECT_EQ(res.error().order_id, first.id);
    EXPECT_EQ(broker_.places().size(), 1u);
}

TEST_F(OrderServiceTest, Place_DuplicateOfAnOrderNoLongerInMemoryNamesItFromStorage) {
    broker_.on_place(
        [](const OrderRequest&) -> OrderReport { FakeBroker::fail(Status::Rejected, "no"); });
    auto first = service_->place(limit_buy("c1"), scope_, origin_);
    ASSERT_FALSE(first.has_value());
    service_->flush();  // REJECTED is durable: the order leaves memory
    auto res = service_->place(limit_buy("c1"), scope_, origin_);
    ASSERT_FALSE(res.has_value());
    EXPECT_EQ(res.error().code, ErrorCode::DuplicateClientOrderId);
    EXPECT_EQ(res.error().order_id, first.error().order_id);
    EXPECT_EQ(broker_.places().size(), 1u);
}

TEST_F(OrderServiceTest, Place_UnsupportedOrderTypeOrTimeInForceNeverReachesTheBroker) {
    broker_.set_capabilities(OG_CAP_ORDER_LIMIT | OG_CAP_TIF_DAY);
    OrderRequest stop = limit_buy("c1");
    stop.order_type = OrderType::Stop;
    stop.price.reset();
    stop.trigger_price = dec("99");
    auto res = service_->place(stop, scope_, origin_);
    ASSERT_FALSE(res.has_value());
    EXPECT_EQ(res.error().code, ErrorCode::UnsupportedByBroker);

    OrderRequest ioc = limit_buy("c2");
    ioc.time_in_force = TimeInForce::Ioc;
    res = service_->place(ioc, scope_, origin_);
    ASSERT_FALSE(res.has_value());
    EXPECT_EQ(res.error().code, ErrorCode::UnsupportedByBroker);

    EXPECT_TRUE(broker_.places().empty());
    EXPECT_EQ(storage_.batch_calls(), 0);
}

TEST_F(OrderServiceTest, Place_AccountOutsideTheScopeIsNotFound) {
    OrderRequest r = limit_buy("c1");
    r.account_id = "ACC2";  // configured, but not in the caller's scope
    auto res = service_->place(r, scope_, origin_);
    ASSERT_FALSE(res.has_value());
    EXPECT_EQ(res.error().code, ErrorCode::NotFound);

    r.account_id = "NOPE";  // not configured at all
    res = service_->place(r, AccountScope{true, {}}, origin_);
    ASSERT_FALSE(res.has_value());
    EXPECT_EQ(res.error().code, ErrorCode::NotFound);
    EXPECT_TRUE(broker_.places().empty());
    EXPECT_EQ(storage_.batch_calls(), 0);
}

// ---- fills --------------------------------------------------------------------------------------

TEST_F(OrderServiceTest, Fill_CumulativeQuantityAndAveragePriceAreExact) {
    OrderRecord o = place_open("c1", "10");
    service_->on_fill("paper", fill_of(o, "T1", "2", "100.05"));
    EXPECT_EQ(current(o.id).status, OrderStatus::PartiallyFilled);
    EXPECT_EQ(*current(o.id).average_fill_price, dec("100.05"));
    service_->on_fill("paper", fill_of(o, "T2", "3", "100.10"));
    EXPECT_EQ(*current(o.id).average_fill_price, dec("100.08"));  // 500.40 / 5
    service_->on_fill("paper", fill_of(o, "T3", "5", "99.95"));

    OrderRecord now = current(o.id);
    EXPECT_EQ(now.status, OrderStatus::Filled);
    EXPECT_EQ(now.filled_quantity, dec("10"));
    ASSERT_TRUE(now.average_fill_price);
    EXPECT_EQ(*now.average_fill_price, dec("100.015"));  // 1000.15 / 10, exactly
    service_->flush();
    auto stored = storage_.stored_order(o.id);
    EXPECT_EQ(stored->status, OrderStatus::Filled);
    EXPECT_EQ(stored->filled_quantity, dec("10"));
    EXPECT_EQ(*stored->average_fill_price, dec("100.015"));
    EXPECT_EQ(stored->version, 5);
    EXPECT_EQ(storage_.stored_fills().size(), 3u);
}

TEST_F(OrderServiceTest, Fill_DuplicateTradeIdIsIgnored) {
    OrderRecord o = place_open("c1", "10");
    service_->on_fill("paper", fill_of(o, "T1", "2", "100"));
    service_->on_fill("paper", fill_of(o, "T1", "2", "100"));
    service_->flush();
    EXPECT_EQ(current(o.id).filled_quantity, dec("2"));
    EXPECT_EQ(storage_.stored_fills().size(), 1u);
    auto pos = book_.get({"ACC1", "paper", "AAPL", "XNAS"});
    ASSERT_TRUE(pos);
    EXPECT_EQ(pos->quantity, dec("2"));
}

TEST_F(OrderServiceTest, Fill_OverfillIsStoredButNeverAppliedToTheOrder) {
    OrderRecord o = place_open("c1", "5");
    service_->on_fill("paper", fill_of(o, "T1", "3", "100"));
    service_->on_fill("paper", fill_of(o, "T2", "3", "100"));
    service_->flush();
    OrderRecord now = current(o.id);
    EXPECT_EQ(now.filled_quantity, dec("3"));
    EXPECT_EQ(now.status, OrderStatus::PartiallyFilled);
    EXPECT_EQ(storage_.stored_order(o.id)->filled_quantity, dec("3"));
    ASSERT_EQ(storage_.stored_fills().size(), 2u);
    EXPECT_EQ(storage_.stored_fills()[1].broker_trade_id, "T2");
    EXPECT_EQ(storage_.stored_fills()[1].order_id, o.id);
}

TEST_F(OrderServiceTest, Fill_AfterCancelledIsAppliedWithAReasonAndTheStatusStays) {
    OrderRecord o = place_open("c1", "5");
    service_->on_order_update("paper", report_of(o, OrderStatus::Cancelled));
    ASSERT_EQ(current(o.id).status, OrderStatus::Cancelled);
    service_->on_fill("paper", fill_of(o, "T1", "2", "100.50"));
    service_->flush();

    OrderRecord now = current(o.id);
    EXPECT_EQ(now.status, OrderStatus::Cancelled);
    EXPECT_EQ(now.filled_quantity, dec("2"));
    auto evs = storage_.stored_events(o.id);
    ASSERT_FALSE(evs.empty());
    EXPECT_EQ(evs.back().to_status, OrderStatus::Cancelled);
    EXPECT_NE(evs.back().reason.find("fill after CANCELLED"), std::string::npos)
        << evs.back().reason;
    EXPECT_NE(evs.back().reason.find("T1"), std::string::npos);
    EXPECT_EQ(storage_.stored_order(o.id)->filled_quantity, dec("2"));
    auto pos = book_.get({"ACC1", "paper", "AAPL", "XNAS"});
    ASSERT_TRUE(pos);
    EXPECT_EQ(pos->quantity, dec("2"));
}

TEST_F(OrderServiceTest, Fill_UpdatesPositions) {
    OrderRecord buy = place_open("c1", "10");
    service_->on_fill("paper", fill_of(buy, "T1", "4", "100.00"));
    service_->on_fill("paper", fill_of(buy, "T2", "6", "101.00"));
    OrderRequest sell_req = limit_buy("c2", "3", "105.00");
    sell_req.side = Side::Sell;
    auto sell = service_->place(sell_req, scope_, origin_);
    ASSERT_TRUE(sell.has_value());
    service_->on_fill("paper", fill_of(sell->order, "T3", "3", "105.00"));

    auto pos = book_.get({"ACC1", "paper", "AAPL", "XNAS"});
    ASSERT_TRUE(pos);
    EXPECT_EQ(pos->quantity, dec("7"));
    EXPECT_EQ(pos->average_price, dec("100.6"));  // 1006 / 10
    EXPECT_EQ(pos->realized_pnl, dec("13.2"));    // (105 - 100.6) * 3
}

// ---- order updates ------------------------------------------------------------------------------

TEST_F(OrderServiceTest, OrderUpdate_StaleOpenAfterFilledIsIgnored) {
    OrderRecord o = place_open("c1", "2");
    service_->on_fill("paper", fill_of(o, "T1", "2", "100"));
    service_->flush();
    const size_t before = storage_.stored_events(o.id).size();
    service_->on_order_update("paper", report_of(o, OrderStatus::Open));
    service_->flush();
    EXPECT_EQ(current(o.id).status, OrderStatus::Filled);
    EXPECT_EQ(storage_.stored_order(o.id)->status, OrderStatus::Filled);
    EXPECT_EQ(storage_.stored_events(o.id).size(), before);
}

TEST_F(OrderServiceTest, OrderUpdate_CancelledIsApplied) {
    OrderRecord o = place_open("c1");
    service_->on_order_update("paper", report_of(o, OrderStatus::Cancelled));
    EXPECT_EQ(current(o.id).status, OrderStatus::Cancelled);
    auto stored = storage_.stored_order(o.id);  // written before on_order_update returned
    EXPECT_EQ(stored->status, OrderStatus::Cancelled);
    EXPECT_EQ(stored->version, 3);
    EXPECT_EQ(storage_.stored_events(o.id).back().source, EventSource::Broker);
}

TEST_F(OrderServiceTest, OrderUpdate_IllegalTransitionIsNotApplied) {
    OrderRecord o = place_open("c1", "5");
    service_->on_fill("paper", fill_of(o, "T1", "1", "100"));
    service_->flush();
    const int64_t version = storage_.stored_order(o.id)->version;
    OrderReport rejected = report_of(o, OrderStatus::Rejected);  // PARTIALLY_FILLED -> REJECTED
    rejected.reject_reason = "late reject";
    service_->on_order_update("paper", rejected);
    service_->flush();
    OrderRecord now = current(o.id);
    EXPECT_EQ(now.status, OrderStatus::PartiallyFilled);
    EXPECT_EQ(now.version, version);
    EXPECT_EQ(storage_.stored_order(o.id)->status, OrderStatus::PartiallyFilled);
    EXPECT_EQ(storage_.stored_order(o.id)->version, version);
}

// ---- modify -------------------------------------------------------------------------------------

TEST_F(OrderServiceTest, Modify_PendingReplaceIsPersistedBeforeTheBrokerCall) {
    OrderRecord o = place_open("c1");
    std::optional<OrderRecord> seen_by_broker;
    broker_.on_modify([&](const ModifyRequest& m) {
        seen_by_broker = storage_.stored_by_client_id(m.account_id, m.client_order_id);
        OrderReport rep = report_of(*seen_by_broker, OrderStatus::Open);
        rep.price = m.price;
        return rep;
    });
    ModifyRequest change;
    change.price = dec("101.50");
    auto res = service_->modify(o.id, change, scope_, origin_);
    ASSERT_TRUE(res.has_value()) << res.error().detail;

    ASSERT_TRUE(seen_by_broker);
    EXPECT_EQ(seen_by_broker->status, OrderStatus::PendingReplace);
    EXPECT_EQ(seen_by_broker->version, 3);
    EXPECT_EQ(res->order.status, OrderStatus::Open);
    EXPECT_EQ(*res->order.price, dec("101.50"));
    ASSERT_EQ(broker_.modifies().size(), 1u);
    EXPECT_EQ(broker_.modifies()[0].broker_order_id, o.broker_order_id);
    service_->flush();
    EXPECT_EQ(*storage_.stored_order(o.id)->price, dec("101.50"));
}

TEST_F(OrderServiceTest, Modify_RefusedGoesBackToOpenAndAnswersBrokerRejected) {
    OrderRecord o = place_open("c1");
    broker_.on_modify([](const ModifyRequest&) -> OrderReport {
        FakeBroker::fail(Status::Rejected, "price outside band");
    });
    ModifyRequest change;
    change.price = dec("150");
    auto res = service_->modify(o.id, change, scope_, origin_);
    ASSERT_FALSE(res.has_value());
    EXPECT_EQ(res.error().code, ErrorCode::BrokerRejected);
    EXPECT_EQ(res.error().order_id, o.id);

    OrderRecord now = current(o.id);
    EXPECT_EQ(now.status, OrderStatus::Open);
    EXPECT_EQ(*now.price, dec("100.00"));
    service_->flush();
    auto evs = storage_.stored_events(o.id);
    ASSERT_EQ(evs.size(), 4u);
    EXPECT_EQ(evs[2].to_status, OrderStatus::PendingReplace);
    EXPECT_EQ(evs[3].to_status, OrderStatus::Open);
    EXPECT_NE(evs[3].reason.find("price outside band"), std::string::npos) << evs[3].reason;
    EXPECT_EQ(storage_.stored_order(o.id)->status, OrderStatus::Open);
}

// ---- cancel -------------------------------------------------------------------------------------

TEST_F(OrderServiceTest, Cancel_OfACancelledOrderAnswersTheOrderWithoutABrokerCall) {
    OrderRecord o = place_open("c1");
    service_->on_order_update("paper", report_of(o, OrderStatus::Cancelled));
    auto res = service_->cancel(o.id, scope_, origin_);
    ASSERT_TRUE(res.has_value()) << res.error().detail;  // 200
    EXPECT_TRUE(res->outcome_known);
    EXPECT_EQ(res->order.status, OrderStatus::Cancelled);
    EXPECT_TRUE(broker_.cancels().empty());
}

TEST_F(OrderServiceTest, Cancel_OfAFilledOrderIsNotCancellable) {
    OrderRecord o = place_open("c1", "1");
    service_->on_fill("paper", fill_of(o, "T1", "1", "100"));
    service_->flush();
    auto res = service_->cancel(o.id, scope_, origin_);
    ASSERT_FALSE(res.has_value());
    EXPECT_EQ(res.error().code, ErrorCode::OrderNotCancellable);
    EXPECT_TRUE(broker_.cancels().empty());
}

TEST_F(OrderServiceTest, Cancel_VersionConflictRefreshesFromStorageAndRetriesOnce) {
    OrderRecord o = place_open("c1");
    service_->flush();
    storage_.bump_version(o.id, "changed by another gateway");  // stored v3, memory v2
    broker_.on_cancel([&](const std::string&, const std::string&, const std::string&) {
        return report_of(*storage_.stored_order(o.id), OrderStatus::Cancelled);
    });
    auto res = service_->cancel(o.id, scope_, origin_);
    ASSERT_TRUE(res.has_value()) << res.error().detail;
    EXPECT_EQ(res->order.status, OrderStatus::Cancelled);
    EXPECT_EQ(broker_.cancels().size(), 1u);
    service_->flush();
    auto stored = storage_.stored_order(o.id);
    EXPECT_EQ(stored->status, OrderStatus::Cancelled);
    EXPECT_EQ(stored->version, 5);  // 3 (other writer), 4 PENDING_CANCEL, 5 CANCELLED
    auto evs = storage_.stored_events(o.id);
    ASSERT_EQ(evs.size(), 5u);
    EXPECT_EQ(evs[3].to_status, OrderStatus::PendingCancel);
    EXPECT_EQ(evs[3].seq, 4);
}

// ---- write-behind -------------------------------------------------------------------------------

TEST_F(OrderServiceTest, WriteBehindAckIsKeptWhileStorageIsDownAndLandsWhenItReturns) {
    broker_.on_place([&](const OrderRequest& r) {
        storage_.set_down(true);  // the intent is durable; the store goes away before the ack
        return ack_of(r, "B1");
    });
    auto res = service_->place(limit_buy("c1"), scope_, origin_);
    ASSERT_TRUE(res.has_value()) << res.error().detail;
    EXPECT_EQ(res->order.status, OrderStatus::Open);

    service_->flush();  // fails once more while down; the ack stays queued
    auto stored = storage_.stored_order(res->order.id);
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->status, OrderStatus::PendingNew);
    EXPECT_EQ(current(res->order.id).status, OrderStatus::Open);

    storage_.set_down(false);
    service_->flush();
    stored = storage_.stored_order(res->order.id);
    EXPECT_EQ(stored->status, OrderStatus::Open);
    EXPECT_EQ(stored->version, 2);
    EXPECT_EQ(stored->broker_order_id, "B1");
}

// ---- did the request reach the broker? (the API keeps an Idempotency-Key when it did) ---------

TEST_F(OrderServiceTest, Errors_SayTheBrokerWasNotCalledBeforeTheCall) {
    storage_.fail_next_batches(1, Status::Unavailable);
    auto res = service_->place(limit_buy("c1"), scope_, origin_);
    ASSERT_FALSE(res.has_value());
    EXPECT_EQ(res.error().code, ErrorCode::StorageUnavailable);
    EXPECT_FALSE(res.error().broker_called);

    service_->on_connection("paper", false, "down");
    res = service_->place(limit_buy("c2"), scope_, origin_);
    ASSERT_FALSE(res.has_value());
    EXPECT_EQ(res.error().code, ErrorCode::BrokerUnavailable);
    EXPECT_FALSE(res.error().broker_called);
    EXPECT_TRUE(broker_.places().empty());
}

class BrokerCalledTest : public OrderServiceTest, public ::testing::WithParamInterface<Status> {};

// A 503 (not sent) or a 422 (refused) after the call: the broker was called.
TEST_P(BrokerCalledTest, Errors_SayTheBrokerWasCalledWhateverItAnswered) {
    const Status status = GetParam();
    OrderRecord o = place_open("c2");
    broker_.on_place(
        [status](const OrderRequest&) -> OrderReport { FakeBroker::fail(status, "no"); });
    auto res = service_->place(limit_buy("c1"), scope_, origin_);
    ASSERT_FALSE(res.has_value());
    EXPECT_TRUE(res.error().broker_called) << code_name(res.error().code);

    broker_.on_modify(
        [status](const ModifyRequest&) -> OrderReport { FakeBroker::fail(status, "no"); });
    ModifyRequest change;
    change.price = dec("101.00");
    auto m = service_->modify(o.id, change, scope_, origin_);
    ASSERT_FALSE(m.has_value());
    EXPECT_TRUE(m.error().broker_called) << code_name(m.error().code);

    broker_.on_cancel([status](const std::string&, const std::string&,
                               const std::string&) -> OrderReport {
        FakeBroker::fail(status, "no");
    });
    auto c = service_->cancel(o.id, scope_, origin_);
    ASSERT_FALSE(c.has_value());
    EXPECT_TRUE(c.error().broker_called) << code_name(c.error().code);
}

INSTANTIATE_TEST_SUITE_P(NotSentOrRefused, BrokerCalledTest,
                         ::testing::Values(Status::Unavailable, Status::Timeout, Status::Rejected));

}  // namespace
}  // namespace ordergate::orders
