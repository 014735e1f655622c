// Unit tests of the order service (host/orders/order_service.hpp) against fakes of the ports:
// FakeStorage (the storage contract in memory) and FakeBroker (scripted answers). Broker pushes
// are played by calling the service's BrokerEvents functions. Time is a ManualClock; asynchronous
// writes are awaited with OrderService::flush().
#include "orders/order_service.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/ids.hpp"
#include "fakes.hpp"
#include "positions/position_book.hpp"
#include "risk/risk_checker.hpp"

namespace ordergate::orders {
namespace {

using testing::ack_of;
using testing::fill_of;
using testing::limit_buy;
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
            std::vector<AccountRoute>{{"ACC1", "paper", ""}, {"ACC2", "paper", ""}}, nullptr,
            &book_, nullptr, clock_, ServiceOptions{});
        service_->recover();
    }


    // Places an order the broker acknowledges; returns it (OPEN, version 2).
    OrderRecord place_open(const std::string& cid, const char* qty = "5") {
        auto res = service_->place(limit_buy(cid, qty), scope_, origin_);
        EXPECT_TRUE(res.has_value()) << (res ? "" : res.error().detail);
        if (!res) return {};
        EXPECT_EQ(res->order.status, OrderStatus::Open);
        return res->order;
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
    Origin origin_{"req-1", EventSource::Api, ""};
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

// Reconciliation reading the venue while a place() is inside its broker call leaves the order to
// the call's answer: no transition of its own, nothing counted as drift, and the request's write
// does not lose a version race.
TEST_F(OrderServiceTest, Place_ReconciliationDuringTheBrokerCallLeavesTheOrderToTheCall) {
    std::optional<OrderService::ReconcileResult> during;
    broker_.on_place([&](const OrderRequest& r) {
        OrderReport ack = ack_of(r, "B1");
        during = service_->reconcile_order("paper", ack, clock_->now_ns() + 1);
        return ack;
    });
    auto res = service_->place(limit_buy("c1"), scope_, origin_);
    ASSERT_TRUE(res.has_value()) << res.error().detail;
    ASSERT_TRUE(during.has_value());
    EXPECT_EQ(during->result, OrderService::Reconciled::Unchanged) << during->detail;
    EXPECT_EQ(res->order.status, OrderStatus::Open);
    for (const OrderEvent& ev : events(res->order.id))
        EXPECT_NE(ev.source, EventSource::Reconciliation) << to_string(ev.to_status);
    // Once the call has answered, a run judges the order again.
    OrderReport later = ack_of(limit_buy("c1"), "B1");
    EXPECT_EQ(service_->reconcile_order("paper", later, clock_->now_ns() + 1).result,
              OrderService::Reconciled::Unchanged);
}

// ABI 1.7: a place's Idempotency-Key claim is written in its intent's batch, ahead of it; the
// broker sees the order only once both are stored.
TEST_F(OrderServiceTest, Place_WritesItsKeyClaimInTheIntentsBatch) {
    std::optional<IdempotencyRecord> claim_seen_by_broker;
    broker_.on_place([&](const OrderRequest& r) {
        claim_seen_by_broker = storage_.key_record("5:alice:k1");
        return ack_of(r, "B1");
    });
    KeyClaim claim;
    claim.marker.key = "5:alice:k1";
    claim.marker.fingerprint = "fp";
    claim.marker.expires_at_ns = clock_->now_ns() + 60'000'000'000;
    claim.now_ns = clock_->now_ns();
    auto res = service_->place(limit_buy("c1"), scope_, origin_, &claim);
    ASSERT_TRUE(res.has_value()) << res.error().detail;
    EXPECT_TRUE(claim.written);
    EXPECT_FALSE(claim.taken);
    ASSERT_TRUE(claim_seen_by_broker.has_value()) << "the claim was not stored before the broker call";
    EXPECT_EQ(claim_seen_by_broker->fingerprint, "fp");
    EXPECT_FALSE(claim_seen_by_broker->completed);
    EXPECT_TRUE(storage_.stored_by_client_id("ACC1", "c1").has_value());
}

// A key another request claimed between the API's read and this write: 409 in flight, no order
// stored, nothing sent.
TEST_F(OrderServiceTest, Place_WithATakenKeyIsInFlightAndWritesNothing) {
    int placed = 0;
    broker_.on_place([&](const OrderRequest& r) {
        ++placed;
        return ack_of(r, "B1");
    });
    KeyClaim first;
    first.marker.key = "5:alice:k2";
    first.marker.fingerprint = "fp";
    first.marker.expires_at_ns = clock_->now_ns() + 60'000'000'000;
    first.now_ns = clock_->now_ns();
    ASSERT_TRUE(service_->place(limit_buy("c1"), scope_, origin_, &first).has_value());
    ASSERT_EQ(placed, 1);
    KeyClaim second = first;
    second.written = false;
    auto res = service_->place(limit_buy("c2"), scope_, origin_, &second);
    ASSERT_FALSE(res.has_value());
    EXPECT_EQ(res.error().code, ErrorCode::IdempotencyInFlight);
    EXPECT_FALSE(res.error().broker_called);
    EXPECT_TRUE(second.taken);
    EXPECT_FALSE(second.written);
    EXPECT_EQ(placed, 1);
    EXPECT_FALSE(storage_.stored_by_client_id("ACC1", "c2").has_value());
    // Once the claim has expired, a new one takes the key.
    clock_->advance(std::chrono::seconds(61));
    KeyClaim third = first;
    third.now_ns = clock_->now_ns();
    third.marker.expires_at_ns = third.now_ns + 60'000'000'000;
    ASSERT_TRUE(service_->place(limit_buy("c3"), scope_, origin_, &third).has_value());
    EXPECT_TRUE(third.written);
    EXPECT_EQ(placed, 2);
}

// A price subscription is a broker call too: while one hangs (until its deadline), orders in
// other instruments go on instead of queueing behind it, and the set they added is sent next.
TEST_F(OrderServiceTest, Place_OrdersGoOnWhileAPriceSubscriptionHangs) {
    broker_.set_capabilities(kAllCaps | OG_CAP_PRICE_SUBSCRIPTION);
    std::promise<void> entered;
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::mutex mu;
    std::vector<size_t> sent;  // instruments per subscription
    broker_.on_subscribe([&](const std::vector<Instrument>& list) {
        bool first;
        {
            std::lock_guard lock(mu);
            first = sent.empty();
            sent.push_back(list.size());
        }
        if (first) {
            entered.set_value();
            released.wait();
        }
    });
    service_->start_price_feeds();
    std::thread hung([&] { service_->place(limit_buy("c1"), scope_, origin_); });
    entered.get_future().wait();

    OrderRequest other = limit_buy("c2");
    other.symbol = "MSFT";
    auto res = service_->place(other, scope_, origin_);
    ASSERT_TRUE(res.has_value()) << res.error().detail;
    EXPECT_EQ(res->order.status, OrderStatus::Open);

    release.set_value();
    hung.join();
    std::lock_guard lock(mu);
    EXPECT_EQ(sent, (std::vector<size_t>{1, 2}));
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

// The venue refused the order in the call (no broker order id through the ABI) and kept it,
// REJECTED, under an id. Reconciliation learning that id finds no missed transition.
TEST_F(OrderServiceTest, Reconcile_ARefusedOrdersBrokerIdIsIdentifiedNotATransition) {
    broker_.on_place(
        [](const OrderRequest&) -> OrderReport { FakeBroker::fail(Status::Rejected, "no funds"); });
    auto res = service_->place(limit_buy("c1"), scope_, origin_);
    ASSERT_FALSE(res.has_value());
    service_->flush();
    OrderRecord stored = *storage_.stored_order(res.error().order_id);
    ASSERT_TRUE(stored.broker_order_id.empty());
    OrderReport venue = report_of(stored, OrderStatus::Rejected);
    venue.broker_order_id = "P-77";
    venue.reject_reason = "no funds";
    auto r = service_->reconcile_order("paper", venue, 0);
    EXPECT_EQ(r.result, OrderService::Reconciled::Identified) << r.detail;
    EXPECT_EQ(r.detail, "broker order id P-77");
    service_->flush();
    EXPECT_EQ(storage_.stored_order(stored.id)->broker_order_id, "P-77");
    EXPECT_EQ(storage_.stored_order(stored.id)->status, OrderStatus::Rejected);
    // Learnt once: the same report again changes nothing.
    EXPECT_EQ(service_->reconcile_order("paper", venue, 0).result,
              OrderService::Reconciled::Unchanged);
}

// A state the gateway missed, with the id it lacked, is a transition still.
TEST_F(OrderServiceTest, Reconcile_AMissedStateWithTheBrokerIdIsATransition) {
    broker_.on_place([](const OrderRequest&) -> OrderReport {
        FakeBroker::fail(Status::UnknownOutcome, "connection lost");
    });
    auto res = service_->place(limit_buy("c1"), scope_, origin_);
    ASSERT_TRUE(res.has_value());
    ASSERT_EQ(res->order.status, OrderStatus::PendingNew);
    OrderReport venue = report_of(res->order, OrderStatus::Open);
    venue.broker_order_id = "P-78";
    auto r = service_->reconcile_order("paper", venue, clock_->now_ns() + 1);
    EXPECT_EQ(r.result, OrderService::Reconciled::Updated) << r.detail;
    EXPECT_EQ(r.detail, "PENDING_NEW -> OPEN, broker order id P-78");
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

// ---- busts and corrections (ABI 1.5) ------------------------------------------------------------

class FillChangeTest : public OrderServiceTest {
  protected:
    static Fill change_of(const OrderRecord& o, const std::string& id, FillKind kind,
                          const std::string& ref, const char* qty, const char* px) {
        Fill f = fill_of(o, id, qty, px);
        f.kind = kind;
        f.ref_trade_id = ref;
        return f;
    }
};

TEST_F(FillChangeTest, Bust_OfAFilledOrdersFillTakesItBackToPartiallyFilledExactly) {
    OrderRecord o = place_open("c1", "10");
    service_->on_fill("paper", fill_of(o, "T1", "4", "100.00"));
    service_->on_fill("paper", fill_of(o, "T2", "6", "101.00"));
    ASSERT_EQ(current(o.id).status, OrderStatus::Filled);
    service_->on_fill("paper", change_of(o, "B1", FillKind::Bust, "T2", "0", "0"));
    service_->on_fill("paper", change_of(o, "B1", FillKind::Bust, "T2", "0", "0"));  // PossDup
    service_->flush();
    OrderRecord now = current(o.id);
    EXPECT_EQ(now.status, OrderStatus::PartiallyFilled);
    EXPECT_EQ(now.filled_quantity, dec("4"));
    ASSERT_TRUE(now.average_fill_price);
    EXPECT_EQ(*now.average_fill_price, dec("100.00"));
    auto stored = storage_.stored_order(o.id);
    EXPECT_EQ(stored->status, OrderStatus::PartiallyFilled);
    EXPECT_EQ(stored->filled_quantity, dec("4"));
    ASSERT_EQ(storage_.stored_fills().size(), 3u);  // the bust is its own entry, once
    const FillRecord bust = storage_.stored_fills()[2];  // a copy: stored_fills() returns one
    EXPECT_EQ(bust.kind, FillKind::Bust);
    EXPECT_EQ(bust.ref_trade_id, "T2");
    EXPECT_EQ(bust.quantity, dec("6"));  // what it took back
    auto pos = book_.get({"ACC1", "paper", "AAPL", "XNAS"});
    ASSERT_TRUE(pos);
    EXPECT_EQ(pos->quantity, dec("4"));
    EXPECT_EQ(pos->average_price, dec("100.00"));
    auto evs = storage_.stored_events(o.id);
    ASSERT_FALSE(evs.empty());
    EXPECT_EQ(evs.back().from_status, OrderStatus::Filled);
    EXPECT_EQ(evs.back().to_status, OrderStatus::PartiallyFilled);
    EXPECT_NE(evs.back().reason.find("bust of T2"), std::string::npos) << evs.back().reason;
    // The order is live again: a later fill counts on it.
    service_->on_fill("paper", fill_of(o, "T3", "6", "102.00"));
    EXPECT_EQ(current(o.id).status, OrderStatus::Filled);
    EXPECT_EQ(*current(o.id).average_fill_price, dec("101.2"));  // (400 + 612) / 10
}

TEST_F(FillChangeTest, Correction_ReplacesTheTradesQuantityAndPrice) {
    OrderRecord o = place_open("c1", "10");
    service_->on_fill("paper", fill_of(o, "T1", "4", "100.00"));
    service_->on_fill("paper", change_of(o, "C1", FillKind::Correction, "T1", "3", "99.50"));
    service_->flush();
    OrderRecord now = current(o.id);
    EXPECT_EQ(now.status, OrderStatus::PartiallyFilled);
    EXPECT_EQ(now.filled_quantity, dec("3"));
    EXPECT_EQ(*now.average_fill_price, dec("99.50"));
    auto pos = book_.get({"ACC1", "paper", "AAPL", "XNAS"});
    ASSERT_TRUE(pos);
    EXPECT_EQ(pos->quantity, dec("3"));
    EXPECT_EQ(pos->average_price, dec("99.50"));
}

TEST_F(FillChangeTest, Bust_OfAnUnknownTradeIsNotStoredAndChangesNothing) {
    OrderRecord o = place_open("c1", "10");
    service_->on_fill("paper", fill_of(o, "T1", "4", "100.00"));
    service_->on_fill("paper", change_of(o, "B9", FillKind::Bust, "NOPE", "4", "100"));
    service_->flush();
    EXPECT_EQ(current(o.id).filled_quantity, dec("4"));
    EXPECT_EQ(storage_.stored_fills().size(), 1u);
    EXPECT_EQ(book_.get({"ACC1", "paper", "AAPL", "XNAS"})->quantity, dec("4"));
}

// ---- fill arithmetic: fractional quantities (issue 13, item 1) ----------------------------------

// An independent reference for the shown average: the exact notional as a 128-bit integer at scale
// 12 (8-decimal quantities times prices of at most 4 decimals), divided by the filled quantity
// (scale 8) and rounded half-even at 9 decimals by hand. An exact quotient is shown at the
// smallest scale from its natural one (notional scale - quantity scale = the largest price scale).
struct ReferenceAverage {
    __int128 notional = 0;  // scale 12
    __int128 filled = 0;    // scale 8
    int32_t price_scale = 0;
    void add(const Decimal& qty, const Decimal& price) {
        price_scale = std::max(price_scale, price.scale());
        __int128 p = price.mantissa();
        for (int32_t s = price.scale(); s < 4; ++s) p *= 10;
        __int128 q = qty.mantissa();
        for (int32_t s = qty.scale(); s < 8; ++s) q *= 10;
        notional += p * q;
        filled += q;
    }
    Decimal average_at_9() const {
        // notional * 10^-12 / (filled * 10^-8) at scale 9 = notional * 10^5 / filled.
        const __int128 num = notional * 100000;
        __int128 q = num / filled, r = num % filled;
        if (r * 2 > filled || (r * 2 == filled && q % 2 != 0)) ++q;
        int32_t scale = 9;
        while (r == 0 && scale > price_scale && q % 10 == 0) {
            q /= 10;
            --scale;
        }
        return Decimal(static_cast<int64_t>(q), scale);
    }
};

TEST_F(OrderServiceTest, Fill_HalvesOfAnEightDecimalQuantityFillTheOrderAndThePosition) {
    // The paper repro: 0.12345678 filled in two halves at a 2-decimal price. The second fill used
    // to throw "decimal overflow" (average at scale 9 times 8-decimal filled quantity).
    OrderRecord o = place_open("c1", "0.12345678");
    service_->on_fill("paper", fill_of(o, "T1", "0.06172839", "1500.25"));
    service_->on_fill("paper", fill_of(o, "T2", "0.06172839", "1500.30"));
    service_->flush();

    OrderRecord now = current(o.id);
    EXPECT_EQ(now.status, OrderStatus::Filled);
    EXPECT_EQ(now.filled_quantity.to_string(), "0.12345678");
    ASSERT_TRUE(now.average_fill_price);
    EXPECT_EQ(now.average_fill_price->to_string(), "1500.275");  // exact
    auto stored = storage_.stored_order(o.id);
    EXPECT_EQ(stored->status, OrderStatus::Filled);
    EXPECT_EQ(stored->filled_quantity.to_string(), "0.12345678");
    EXPECT_EQ(storage_.stored_fills().size(), 2u);
    auto pos = book_.get({"ACC1", "paper", "AAPL", "XNAS"});
    ASSERT_TRUE(pos);
    EXPECT_EQ(pos->quantity.to_string(), "0.12345678");
}

TEST_F(OrderServiceTest, Fill_ManyEightDecimalFillsAtFourDecimalPricesKeepAnExactAverage) {
    std::mt19937_64 rng(13);
    struct F {
        Decimal qty, price;
    };
    std::vector<F> fills;
    Decimal total;
    for (int i = 0; i < 400; ++i) {
        // 0.00000001 .. 2.99999999, prices around 1234.5678 with 4 decimals, every third with 2.
        Decimal q(static_cast<int64_t>(1 + rng() % 299'999'999), 8);
        Decimal p = i % 3 == 0 ? Decimal(static_cast<int64_t>(123'400 + rng() % 200), 2)
                               : Decimal(static_cast<int64_t>(12'345'678 + rng() % 20'000), 4);
        fills.push_back({q, p});
        total += q;
    }
    OrderRecord o = place_open("c1", total.to_string().c_str());
    ReferenceAverage ref;
    for (size_t i = 0; i < fills.size(); ++i) {
        service_->on_fill("paper", fill_of(o, "T" + std::to_string(i),
                                           fills[i].qty.to_string().c_str(),
                                           fills[i].price.to_string().c_str()));
        ref.add(fills[i].qty, fills[i].price);
        OrderRecord now = current(o.id);
        ASSERT_EQ(now.filled_quantity, Decimal(static_cast<int64_t>(ref.filled), 8)) << i;
        ASSERT_TRUE(now.average_fill_price) << i;
        // One rounding of the exact notional, never a rounding of a rounded average.
        ASSERT_TRUE(now.average_fill_price->identical(ref.average_at_9()))
            << i << ": " << now.average_fill_price->to_string() << " vs "
            << ref.average_at_9().to_string();
    }
    service_->flush();
    OrderRecord now = current(o.id);
    EXPECT_EQ(now.status, OrderStatus::Filled);
    EXPECT_EQ(now.filled_quantity, total);
    EXPECT_EQ(storage_.stored_order(o.id)->filled_quantity, total);
    EXPECT_TRUE(storage_.stored_order(o.id)->average_fill_price->identical(ref.average_at_9()));
    EXPECT_EQ(storage_.stored_fills().size(), fills.size());
    auto pos = book_.get({"ACC1", "paper", "AAPL", "XNAS"});
    ASSERT_TRUE(pos);
    EXPECT_EQ(pos->quantity, total);
}

TEST_F(OrderServiceTest, Fill_AverageAfterARestartIsRebuiltFromTheStoredFills) {
    OrderRecord o = place_open("c1", "4");
    service_->on_fill("paper", fill_of(o, "T1", "1", "100.00"));
    service_->on_fill("paper", fill_of(o, "T2", "2", "100.01"));
    // 300.02 / 3 does not terminate: shown rounded half-even at 9 decimals.
    EXPECT_EQ(current(o.id).average_fill_price->to_string(), "100.006666667");
    service_->flush();

    // A restart: a new service over the same storage, the order recovered from it.
    positions::PositionBook book2;
    service_ = std::make_unique<OrderService>(
        storage_, std::map<std::string, ports::BrokerPort*>{{"paper", &broker_}},
        std::vector<AccountRoute>{{"ACC1", "paper", ""}}, nullptr, &book2, nullptr, clock_,
        ServiceOptions{});
    service_->recover();
    service_->on_fill("paper", fill_of(o, "T3", "1", "100.02"));
    service_->flush();
    // 400.04 / 4 = 100.01 exactly: the notional came from the stored fills, not from the rounded
    // average (100.006666667 * 3 + 100.02 would give 100.010000000).
    OrderRecord now = current(o.id);
    EXPECT_EQ(now.status, OrderStatus::Filled);
    EXPECT_EQ(now.average_fill_price->to_string(), "100.01");
    EXPECT_EQ(storage_.stored_order(o.id)->average_fill_price->to_string(), "100.01");
    service_.reset();  // before book2 goes
}

TEST_F(OrderServiceTest, Fill_AfterARestartWithStoredFillsThatDoNotAddUpContinuesFromTheAverage) {
    OrderRecord o = place_open("c1", "5");
    service_->on_fill("paper", fill_of(o, "T1", "3", "100"));
    service_->on_fill("paper", fill_of(o, "T2", "3", "100"));  // overfill: stored, not applied
    service_->flush();
    positions::PositionBook book2;
    service_ = std::make_unique<OrderService>(
        storage_, std::map<std::string, ports::BrokerPort*>{{"paper", &broker_}},
        std::vector<AccountRoute>{{"ACC1", "paper", ""}}, nullptr, &book2, nullptr, clock_,
        ServiceOptions{});
    service_->recover();
    // The stored fills (6) do not add up to the filled quantity (3): 100 * 3 is the notional.
    service_->on_fill("paper", fill_of(o, "T3", "2", "100.50"));
    service_->flush();
    OrderRecord now = current(o.id);
    EXPECT_EQ(now.status, OrderStatus::Filled);
    EXPECT_EQ(now.filled_quantity, dec("5"));
    EXPECT_EQ(now.average_fill_price->to_string(), "100.20");  // 501.00 / 5
    service_.reset();
}

TEST_F(OrderServiceTest, Fill_AfterARestartWhileStorageCannotBeReadIsStillApplied) {
    OrderRecord o = place_open("c1", "4");
    service_->on_fill("paper", fill_of(o, "T1", "2", "100.25"));
    service_->flush();
    positions::PositionBook book2;
    service_ = std::make_unique<OrderService>(
        storage_, std::map<std::string, ports::BrokerPort*>{{"paper", &broker_}},
        std::vector<AccountRoute>{{"ACC1", "paper", ""}}, nullptr, &book2, nullptr, clock_,
        ServiceOptions{});
    service_->recover();
    storage_.set_down(true);  // the stored fills cannot be read: average * filled stands in
    // The fill is stored before it is applied: its write waits until the store is back.
    const int batches_before = storage_.batch_calls();
    std::thread pusher([&] { service_->on_fill("paper", fill_of(o, "T2", "2", "100.75")); });
    while (storage_.batch_calls() == batches_before) std::this_thread::yield();  // it tried
    storage_.set_down(false);
    pusher.join();
    OrderRecord now = current(o.id);
    EXPECT_EQ(now.status, OrderStatus::Filled);
    EXPECT_EQ(now.average_fill_price->to_string(), "100.50");
    service_->flush();
    EXPECT_EQ(storage_.stored_order(o.id)->status, OrderStatus::Filled);
    EXPECT_EQ(storage_.stored_fills().size(), 2u);
    service_.reset();
}

// Found by CI (Production.PostgresDownMidLoad...): a fill whose write waited for a store that was
// down held its order's lock the whole time, so a request for that order (the place() applying its
// ack, a read) hung until the store came back. The wait under the lock is now bounded: the write
// stays queued and lands later; the order is re-derived from storage then (fills_pending).
TEST_F(OrderServiceTest, Fill_WaitingForADownStoreDoesNotHoldItsOrderUntilTheStoreReturns) {
    OrderRecord o = place_open("c1", "4");
    service_->flush();
    storage_.set_down(true);
    const int batches_before = storage_.batch_calls();
    std::thread pusher([&] { service_->on_fill("paper", fill_of(o, "T1", "2", "100.25")); });
    while (storage_.batch_calls() == batches_before) std::this_thread::yield();  // it tried
    // A read of the same order completes while the store is still down.
    auto read = std::async(std::launch::async, [&] { return service_->get(o.id, scope_); });
    const bool answered = read.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
    EXPECT_TRUE(answered) << "the order stayed locked while the store was down";
    storage_.set_down(false);
    pusher.join();
    if (answered) {
        auto r = read.get();
        ASSERT_TRUE(r.has_value());
        EXPECT_EQ(r->id, o.id);
    }
    // The fill landed once the store answered, and the order counts it.
    service_->flush();
    EXPECT_EQ(storage_.stored_fills().size(), 1u);
    EXPECT_EQ(storage_.stored_order(o.id)->filled_quantity, dec("2"));
    EXPECT_EQ(current(o.id).filled_quantity, dec("2"));
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

TEST_F(OrderServiceTest, OrderUpdate_FilledAfterTheFinishingFillReadsNothingFromStorage) {
    OrderRecord o = place_open("c1", "2");
    service_->on_fill("paper", fill_of(o, "T1", "2", "100"));
    service_->flush();
    const size_t events_before = storage_.stored_events(o.id).size();
    const int reads_before = storage_.request_id_reads();
    service_->on_order_update("paper", report_of(o, OrderStatus::Filled));
    service_->flush();
    EXPECT_EQ(storage_.request_id_reads(), reads_before);
    EXPECT_EQ(current(o.id).status, OrderStatus::Filled);
    EXPECT_EQ(storage_.stored_events(o.id).size(), events_before);
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

TEST_F(OrderServiceTest, Cancel_SecondVersionConflictIs409ConflictNotAnOutage) {
    OrderRecord o = place_open("c1");
    service_->flush();
    storage_.conflict_next_updates(2);  // the first try and its one retry both lose the race
    auto res = service_->cancel(o.id, scope_, origin_);
    ASSERT_FALSE(res.has_value());
    EXPECT_EQ(res.error().code, ErrorCode::Conflict) << res.error().detail;
    EXPECT_TRUE(broker_.cancels().empty());
}

// ---- reads agree with what a client was answered -------------------------------------------------

// The broker's ack is written behind the answer: a list must still see the order as answered.
TEST_F(OrderServiceTest, List_ByStatusRightAfterPlacementFindsTheOrder) {
    for (int i = 0; i < 30; ++i) {
        OrderRecord o = place_open("c" + std::to_string(i));
        ASSERT_EQ(o.status, OrderStatus::Open);
        OrderQuery q;
        q.status = OrderStatus::Open;
        q.limit = 1000;
        auto page = service_->list(q, scope_);
        ASSERT_TRUE(page.has_value()) << page.error().detail;
        bool found = false;
        for (const auto& item : page->items)
            if (item.id == o.id) found = item.status == OrderStatus::Open;
        ASSERT_TRUE(found) << "run " << i << ": answered OPEN, missing from status=OPEN";
    }
}

TEST_F(OrderServiceTest, Trades_RightAfterAFillIsSeenListTheFill) {
    for (int i = 0; i < 30; ++i) {
        OrderRecord o = place_open("c" + std::to_string(i));
        const std::string trade = "T" + std::to_string(i);
        service_->on_fill("paper", fill_of(o, trade, "1", "100.00"));
        ASSERT_EQ(current(o.id).filled_quantity, dec("1"));  // what a client sees
        FillQuery q;
        q.order_id = o.id;
        auto page = service_->trades(q, scope_);
        ASSERT_TRUE(page.has_value()) << page.error().detail;
        ASSERT_EQ(page->items.size(), 1u) << "run " << i << ": the fill is not listed";
        EXPECT_EQ(page->items[0].broker_trade_id, trade);
    }
}

// The kill switch cancels every live order of the account, also those only storage knows (placed
// through another gateway instance, or no longer in this one's memory).
TEST_F(OrderServiceTest, CancelAll_FindsOpenOrdersThatOnlyStorageKnows) {
    OrderRecord mine = place_open("c1");
    OrderRecord other;
    other.id = ids::new_id("ord_");
    other.client_order_id = "elsewhere";
    other.broker = "paper";
    other.broker_order_id = "B-other";
    other.account_id = "ACC1";
    other.symbol = "AAPL";
    other.exchange = "XNAS";
    other.side = Side::Buy;
    other.order_type = OrderType::Limit;
    other.time_in_force = TimeInForce::Day;
    other.status = OrderStatus::Open;
    other.quantity = dec("2");
    other.filled_quantity = Decimal(0, 0);
    other.price = dec("99.00");
    other.version = 1;
    WriteOp op;
    op.kind = WriteKind::InsertOrder;
    op.order = other;
    op.event.order_id = other.id;
    op.event.seq = 1;
    ASSERT_EQ(storage_.write_batch({op}), std::vector<Status>{Status::Ok});
    broker_.on_cancel([&](const std::string&, const std::string& boid, const std::string&) {
        const std::string id = boid == "B-other" ? other.id : mine.id;
        return report_of(*storage_.stored_order(id), OrderStatus::Cancelled);
    });

    auto res = service_->cancel_all("ACC1", scope_, origin_);
    ASSERT_TRUE(res.has_value()) << res.error().detail;
    std::set<std::string> cancelled(res->cancelled.begin(), res->cancelled.end());
    EXPECT_TRUE(cancelled.count(mine.id));
    EXPECT_TRUE(cancelled.count(other.id)) << "an order only in storage was left live";
    EXPECT_TRUE(res->failed.empty());
    EXPECT_EQ(current(other.id).status, OrderStatus::Cancelled);
    // The fake venue declares no open-orders report: the answer says it was not checked.
    ASSERT_TRUE(res->venue_error.has_value());
    EXPECT_EQ(res->venue_error->code, ErrorCode::BrokerUnavailable);
}

// A venue that declares its open-orders report but does not answer does not stop the kill switch:
// what storage knows is cancelled, and the answer says the venue's own list was not read.
TEST_F(OrderServiceTest, CancelAll_AVenueThatDoesNotListStillCancelsWhatIsKnownAndSaysSo) {
    OrderRecord mine = place_open("c1");
    broker_.set_capabilities(kAllCaps | OG_CAP_REPORT_OPEN_ORDERS);
    broker_.on_cancel([&](const std::string&, const std::string&, const std::string&) {
        return report_of(*storage_.stored_order(mine.id), OrderStatus::Cancelled);
    });
    auto res = service_->cancel_all("ACC1", scope_, origin_);
    ASSERT_TRUE(res.has_value()) << res.error().detail;
    EXPECT_EQ(res->cancelled, std::vector<std::string>{mine.id});
    ASSERT_TRUE(res->venue_error.has_value());
    EXPECT_EQ(res->venue_error->code, ErrorCode::BrokerUnavailable);
    EXPECT_NE(res->venue_error->detail.find("did not list its open orders"), std::string::npos)
        << res->venue_error->detail;
}

// ---- storage failures on reads: the plugin's status decides the answer ---------------------------

struct StorageFailure {
    Status status;        // what the plugin throws
    ErrorCode code;       // what the API answers
};

class StorageReadFailureTest : public OrderServiceTest,
                               public ::testing::WithParamInterface<StorageFailure> {};

TEST_P(StorageReadFailureTest, EveryReadPathAnswersTheCodeOfThePluginsStatus) {
    const StorageFailure f = GetParam();
    OrderRecord o = place_open("c1");
    service_->flush();
    const std::string not_cached = ids::new_id("ord_");  // resolved through storage
    storage_.fail_every_call(f.status);

    auto expect = [&](const Error& e, const char* path) {
        EXPECT_EQ(e.code, f.code) << path << ": " << code_name(e.code) << " " << e.detail;
        // A plugin's raw message is for the log, never for a client.
        EXPECT_EQ(e.detail.find("scripted"), std::string::npos) << path << ": " << e.detail;
        EXPECT_EQ(e.retry_after_seconds > 0, f.code == ErrorCode::StorageUnavailable) << path;
    };
    auto got = service_->get(not_cached, scope_);
    ASSERT_FALSE(got.has_value());
    expect(got.error(), "get");
    auto by_cid = service_->get("client_order_id:elsewhere", scope_);
    ASSERT_FALSE(by_cid.has_value());
    expect(by_cid.error(), "get by client order id");
    OrderQuery q;
    q.cursor = "!!x!!";
    auto listed = service_->list(q, scope_);
    ASSERT_FALSE(listed.has_value());
    expect(listed.error(), "list");
    FillQuery fq;
    fq.cursor = "!!x!!";
    auto trades = service_->trades(fq, scope_);
    ASSERT_FALSE(trades.has_value());
    expect(trades.error(), "trades");
    FillQuery of_order;
    of_order.order_id = not_cached;
    auto trades_of = service_->trades(of_order, scope_);
    if (f.code == ErrorCode::NotFound) {
        ASSERT_TRUE(trades_of.has_value());  // an unknown order has no trades
        EXPECT_TRUE(trades_of->items.empty());
    } else {
        ASSERT_FALSE(trades_of.has_value()) << "a failing store answered an empty list";
        expect(trades_of.error(), "trades of an order");
    }
    auto evs = service_->events(o.id, scope_, 0, 100);
    ASSERT_FALSE(evs.has_value());
    expect(evs.error(), "events");
}

INSTANTIATE_TEST_SUITE_P(
    Statuses, StorageReadFailureTest,
    ::testing::Values(StorageFailure{Status::InvalidArgument, ErrorCode::InvalidParameter},
                      StorageFailure{Status::NotFound, ErrorCode::NotFound},
                      StorageFailure{Status::Conflict, ErrorCode::Conflict},
                      StorageFailure{Status::Unavailable, ErrorCode::StorageUnavailable},
                      StorageFailure{Status::Timeout, ErrorCode::StorageUnavailable},
                      StorageFailure{Status::Internal, ErrorCode::Internal},
                      StorageFailure{Status::Unsupported, ErrorCode::Internal},
                      StorageFailure{Status::Rejected, ErrorCode::Internal}),
    [](const ::testing::TestParamInfo<StorageFailure>& i) {
        return std::string(to_string(i.param.status));
    });

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

// Issue 14: a write behind the answer that storage refused (another writer changed the row) left
// memory ahead of storage for good, "only logged". Now the order leaves the cache, so readers get
// storage's row, and its broker is reconciled at once.
TEST_F(OrderServiceTest, WriteBehindConflictDropsTheStaleOrderAndAsksForReconciliation) {
    std::vector<std::string> asked;
    std::mutex m;
    service_->set_reconcile_request([&](const std::string& broker, const std::string& trigger) {
        std::lock_guard lock(m);
        asked.push_back(broker);
        EXPECT_EQ(trigger, "write_behind");
    });
    broker_.on_place([&](const OrderRequest& r) {
        storage_.conflict_next_updates(1);  // the ack's write behind the answer loses a race
        return ack_of(r, "B1");
    });
    auto res = service_->place(limit_buy("c1"), scope_, origin_);
    ASSERT_TRUE(res.has_value()) << res.error().detail;
    EXPECT_EQ(res->order.status, OrderStatus::Open);
    service_->flush();
    {
        std::lock_guard lock(m);
        EXPECT_EQ(asked, std::vector<std::string>{"paper"});
    }
    // What readers see is storage's row, not the memory that ran ahead of it.
    auto stored = storage_.stored_order(res->order.id);
    ASSERT_TRUE(stored);
    EXPECT_EQ(current(res->order.id).status, stored->status);
    EXPECT_EQ(current(res->order.id).version, stored->version);
}

// Issue 15: orders sent just before a broker's connection dropped answered 202; when the
// connection comes back they are settled by a run at once, not at the next periodic one. A first
// "connected" (start-up) and a repeated one ask for nothing.
TEST_F(OrderServiceTest, AConnectionRegainedAsksForAReconnectRunOnce) {
    std::vector<std::pair<std::string, std::string>> asked;
    std::mutex m;
    service_->set_reconcile_request([&](const std::string& broker, const std::string& trigger) {
        std::lock_guard lock(m);
        asked.emplace_back(broker, trigger);
    });
    service_->on_connection("paper", true, "logged on");
    service_->on_connection("paper", true, "logged on");
    {
        std::lock_guard lock(m);
        EXPECT_TRUE(asked.empty());
    }
    service_->on_connection("paper", false, "dropped");
    EXPECT_FALSE(service_->broker_connected("paper"));
    service_->on_connection("paper", true, "logged on");
    service_->on_connection("paper", true, "logged on");
    EXPECT_TRUE(service_->broker_connected("paper"));
    std::lock_guard lock(m);
    EXPECT_EQ(asked, (std::vector<std::pair<std::string, std::string>>{{"paper", "reconnect"}}));
}

// ---- reconciliation by terms (issue 14) --------------------------------------------------------

// A broker that keeps no queryable client order id, and a service that may match by terms.
class HeuristicMatchTest : public OrderServiceTest {
  protected:
    void SetUp() override {
        broker_.set_capabilities(kAllCaps & ~OG_CAP_QUERY_BY_CLIENT_ID);
        ServiceOptions o;
        o.heuristic_match_window = std::chrono::seconds(60);
        service_ = std::make_unique<OrderService>(
            storage_, std::map<std::string, ports::BrokerPort*>{{"paper", &broker_}},
            std::vector<AccountRoute>{{"ACC1", "paper", ""}}, nullptr, &book_, nullptr, clock_, o);
        service_->recover();
        service_->open_writes("paper");
        broker_.on_place([](const OrderRequest&) -> OrderReport {
            FakeBroker::fail(Status::UnknownOutcome, "connection lost");
        });
    }
    OrderRecord pending(const std::string& cid) {
        auto res = service_->place(limit_buy(cid), scope_, origin_);
        EXPECT_TRUE(res.has_value());
        return res ? res->order : OrderRecord{};
    }
    // The venue's report of the order, without the client order id (the venue never kept it).
    static OrderReport venue_report(const OrderRecord& o, const std::string& boid) {
        OrderReport r;
        r.broker_order_id = boid;
        r.account_id = o.account_id;
        r.symbol = o.symbol;
        r.exchange = o.exchange;
        r.side = o.side;
        r.order_type = o.order_type;
        r.time_in_force = o.time_in_force;
        r.status = OrderStatus::Open;
        r.quantity = o.quantity;
        r.filled_quantity = dec("0");
        r.price = o.price;
        r.updated_at_ns = o.created_at_ns + 1'000'000'000;
        return r;
    }
};

TEST_F(HeuristicMatchTest, OneCandidateIsMatchedByTermsAndTheEventSaysSo) {
    OrderRecord o = pending("h1");
    ASSERT_EQ(o.status, OrderStatus::PendingNew);
    auto r = service_->reconcile_order("paper", venue_report(o, "V-7"), 0);
    EXPECT_EQ(r.result, OrderService::Reconciled::Updated) << r.detail;
    EXPECT_EQ(r.order_id, o.id);
    OrderRecord now = current(o.id);
    EXPECT_EQ(now.status, OrderStatus::Open);
    EXPECT_EQ(now.broker_order_id, "V-7");
    auto ev = events(o.id);
    ASSERT_FALSE(ev.empty());
    EXPECT_EQ(ev.back().source, EventSource::Reconciliation);
    EXPECT_NE(ev.back().reason.find("heuristic match"), std::string::npos) << ev.back().reason;
}

// A cancel asked while the place was unanswered, its outcome unknown too: the order is
// PENDING_CANCEL and the venue never acknowledged it. The venue's report of it must still find it
// by its terms (it was adopted as a second, external order).
TEST_F(HeuristicMatchTest, AnOrderCancelledBeforeAnyAcknowledgementIsStillMatched) {
    OrderRecord o = pending("h1");
    broker_.on_cancel(
        [](const std::string&, const std::string&, const std::string&) -> OrderReport {
            FakeBroker::fail(Status::UnknownOutcome, "connection lost");
        });
    auto c = service_->cancel(o.id, scope_, origin_);
    ASSERT_TRUE(c.has_value()) << c.error().detail;
    ASSERT_EQ(current(o.id).status, OrderStatus::PendingCancel);
    service_->flush();
    auto r = service_->reconcile_order("paper", venue_report(o, "V-9"), 0);
    EXPECT_NE(r.result, OrderService::Reconciled::Adopted) << r.detail;
    EXPECT_NE(r.result, OrderService::Reconciled::Failed) << r.detail;
    EXPECT_EQ(r.order_id, o.id) << r.detail;
    EXPECT_EQ(current(o.id).broker_order_id, "V-9");
    EXPECT_EQ(storage_.list_orders(OrderQuery{}).items.size(), 1u) << "no second order";
}

TEST_F(HeuristicMatchTest, TwoCandidatesAreLeftAloneNotGuessed) {
    OrderRecord a = pending("h1");
    OrderRecord b = pending("h2");
    auto r = service_->reconcile_order("paper", venue_report(a, "V-8"), 0);
    EXPECT_EQ(r.result, OrderService::Reconciled::Failed);
    EXPECT_NE(r.detail.find("matches 2 pending orders"), std::string::npos) << r.detail;
    EXPECT_EQ(current(a.id).status, OrderStatus::PendingNew);
    EXPECT_EQ(current(b.id).status, OrderStatus::PendingNew);
}

TEST_F(HeuristicMatchTest, OutsideTheWindowTheReportIsAnExternalOrder) {
    OrderRecord o = pending("h1");
    OrderReport rep = venue_report(o, "V-9");
    rep.updated_at_ns = o.created_at_ns + 3600LL * 1'000'000'000;
    auto r = service_->reconcile_order("paper", rep, 0);
    EXPECT_EQ(r.result, OrderService::Reconciled::Adopted) << r.detail;
    EXPECT_NE(r.order_id, o.id);
    EXPECT_EQ(current(o.id).status, OrderStatus::PendingNew);
    EXPECT_EQ(current(r.order_id).client_order_id, "ext-V-9");
}

// ---- exactness (issue 13) ---------------------------------------------------------------------

// A service over the same storage, as after a crash and restart: nothing of the first one's
// memory survives.
class RestartedServiceTest : public OrderServiceTest {
  protected:
    std::unique_ptr<OrderService> restart(positions::PositionBook* book) {
        service_->flush();
        auto s = std::make_unique<OrderService>(
            storage_, std::map<std::string, ports::BrokerPort*>{{"paper", &broker_}},
            std::vector<AccountRoute>{{"ACC1", "paper", ""}, {"ACC2", "paper", ""}}, nullptr, book,
            nullptr, clock_, ServiceOptions{});
        return s;
    }
};

TEST_F(RestartedServiceTest, Fill_ReplayedAfterARestartIsNotCountedAgain) {
    OrderRecord o = place_open("c1", "10");
    service_->on_fill("paper", fill_of(o, "T1", "2", "100"));
    positions::PositionBook book2;
    auto second = restart(&book2);
    second->recover();
    second->on_fill("paper", fill_of(o, "T1", "2", "100"));  // FIX PossDup, a replaying stream
    second->flush();
    auto now = second->get(o.id, scope_);
    ASSERT_TRUE(now.has_value());
    EXPECT_EQ(now->filled_quantity, dec("2"));
    EXPECT_EQ(storage_.stored_order(o.id)->filled_quantity, dec("2"));
    EXPECT_EQ(storage_.stored_fills().size(), 1u);
    auto pos = book2.get({"ACC1", "paper", "AAPL", "XNAS"});
    ASSERT_TRUE(pos);
    EXPECT_EQ(pos->quantity, dec("2"));
}

TEST_F(RestartedServiceTest, Fill_BeforeRecoveryIsAppliedOnceAfterIt) {
    OrderRecord o = place_open("c1", "10");
    service_->on_fill("paper", fill_of(o, "T1", "2", "100"));
    positions::PositionBook book2;
    auto second = restart(&book2);
    // A broker started before recovery pushes a new fill: it waits for recovery.
    second->on_fill("paper", fill_of(o, "T2", "3", "100"));
    second->recover();
    second->flush();
    auto now = second->get(o.id, scope_);
    ASSERT_TRUE(now.has_value());
    EXPECT_EQ(now->filled_quantity, dec("5"));
    auto pos = book2.get({"ACC1", "paper", "AAPL", "XNAS"});
    ASSERT_TRUE(pos);
    EXPECT_EQ(pos->quantity, dec("5"));
    EXPECT_EQ(storage_.stored_fills().size(), 2u);
}

TEST_F(RestartedServiceTest, Fill_StoredButNotAppliedToItsOrderIsAppliedOnRestart) {
    OrderRecord o = place_open("c1", "10");
    service_->flush();
    // The fill lands in storage but its order's update does not (another writer won the row).
    storage_.bump_version(o.id, "changed by another gateway");
    service_->on_fill("paper", fill_of(o, "T1", "4", "100"));
    positions::PositionBook book2;
    auto second = restart(&book2);
    second->recover();
    second->flush();
    auto now = second->get(o.id, scope_);
    ASSERT_TRUE(now.has_value());
    EXPECT_EQ(now->filled_quantity, dec("4"));
    EXPECT_EQ(now->status, OrderStatus::PartiallyFilled);
    EXPECT_EQ(storage_.stored_order(o.id)->filled_quantity, dec("4"));
    EXPECT_EQ(book2.get({"ACC1", "paper", "AAPL", "XNAS"})->quantity, dec("4"));
}

TEST_F(OrderServiceTest, Fill_IsInStorageBeforeMemoryOrPositionsShowIt) {
    OrderRecord o = place_open("c1", "10");
    service_->flush();
    storage_.hold();  // the next batch waits inside the store, uncommitted
    std::thread pusher([&] { service_->on_fill("paper", fill_of(o, "T1", "2", "100")); });
    storage_.wait_until_held();
    // The fill's transaction has not committed: no position shows it yet.
    EXPECT_FALSE(book_.get({"ACC1", "paper", "AAPL", "XNAS"}));
    storage_.release();
    pusher.join();
    EXPECT_EQ(current(o.id).filled_quantity, dec("2"));
    EXPECT_EQ(storage_.stored_fills().size(), 1u);
    auto pos = book_.get({"ACC1", "paper", "AAPL", "XNAS"});
    ASSERT_TRUE(pos);
    EXPECT_EQ(pos->quantity, dec("2"));
}

TEST_F(OrderServiceTest, Fill_NamingOnlyTheBrokerIdBeforeTheAckIsParkedAndMatched) {
    Fill early;
    broker_.on_place([&](const OrderRequest& r) {
        // The venue fills at once and pushes the fill before the place call returns.
        early.broker_trade_id = "T1";
        early.broker_order_id = "B77";
        early.account_id = r.account_id;
        early.symbol = r.symbol;
        early.exchange = r.exchange;
        early.side = r.side;
        early.quantity = dec("5");
        early.price = dec("100");
        early.fee = Decimal(0, 0);
        std::thread t([&] { service_->on_fill("paper", early); });
        t.join();
        return ack_of(r, "B77");
    });
    auto res = service_->place(limit_buy("c1"), scope_, origin_);
    ASSERT_TRUE(res.has_value()) << res.error().detail;
    service_->flush();
    auto fills = storage_.stored_fills();
    ASSERT_EQ(fills.size(), 1u);
    EXPECT_EQ(fills[0].order_id, res->order.id);
    EXPECT_EQ(current(res->order.id).status, OrderStatus::Filled);
    EXPECT_EQ(storage_.stored_order(res->order.id)->filled_quantity, dec("5"));
}

TEST_F(OrderServiceTest, Read_TerminalOrdersReadBackAreNotKeptInMemory) {
    std::vector<std::string> ids;
    for (int i = 0; i < 20; ++i) {
        OrderRecord o = place_open("c" + std::to_string(i), "1");
        service_->on_fill("paper", fill_of(o, "T" + std::to_string(i), "1", "100"));
        ids.push_back(o.id);
    }
    service_->flush();
    for (const auto& id : ids) EXPECT_EQ(current(id).status, OrderStatus::Filled);
    for (const auto& id : ids) (void)events(id);
    EXPECT_EQ(service_->open_orders(), 0u);
}

class RiskedServiceTest : public OrderServiceTest {
  protected:
    void SetUp() override {
        risk::RiskLimits limits;
        limits.max_quantity = dec("100000");
        limits.max_notional = dec("1000000");
        risk_ = std::make_unique<risk::RiskChecker>(limits, std::map<std::string, risk::RiskLimits>{},
                                                    clock_);
        service_ = std::make_unique<OrderService>(
            storage_, std::map<std::string, ports::BrokerPort*>{{"paper", &broker_}},
            std::vector<AccountRoute>{{"ACC1", "paper", ""}}, risk_.get(), &book_, nullptr, clock_,
            ServiceOptions{});
        service_->recover();
    }
    std::unique_ptr<risk::RiskChecker> risk_;
};

TEST_F(RiskedServiceTest, Modify_RunsPreTradeRiskOnTheOrderAsItWouldBecome) {
    OrderRecord o = place_open("c1", "1");
    broker_.on_modify([&](const ModifyRequest& m) {
        OrderReport rep = report_of(current(o.id), OrderStatus::Open);
        if (m.quantity) rep.quantity = *m.quantity;
        return rep;
    });
    ModifyRequest bigger;
    bigger.quantity = dec("1000000");
    auto res = service_->modify(o.id, bigger, scope_, origin_);
    ASSERT_FALSE(res.has_value());
    EXPECT_EQ(res.error().code, ErrorCode::RiskRejected);
    EXPECT_NE(res.error().detail.find("max_quantity"), std::string::npos) << res.error().detail;
    EXPECT_TRUE(broker_.modifies().empty());
    EXPECT_EQ(current(o.id).status, OrderStatus::Open);

    ModifyRequest pricier;  // 1 x 2,000,000 breaks max_notional
    pricier.price = dec("2000000");
    res = service_->modify(o.id, pricier, scope_, origin_);
    ASSERT_FALSE(res.has_value());
    EXPECT_EQ(res.error().code, ErrorCode::RiskRejected);
    EXPECT_TRUE(broker_.modifies().empty());

    ModifyRequest fine;
    fine.quantity = dec("10");
    res = service_->modify(o.id, fine, scope_, origin_);
    ASSERT_TRUE(res.has_value()) << res.error().detail << " " << code_name(res.error().code);
    EXPECT_EQ(broker_.modifies().size(), 1u);
}

// ---- crossing reports: a pending request apart from the venue's confirmed state ---------------

TEST_F(OrderServiceTest, OrderUpdate_OpenReportDuringPendingCancelIsNotACancelRefusal) {
    OrderRecord o = place_open("c1");
    broker_.on_cancel([](const std::string&, const std::string&, const std::string&) -> OrderReport {
        FakeBroker::fail(Status::UnknownOutcome, "connection lost after send");
    });
    auto res = service_->cancel(o.id, scope_, origin_);
    ASSERT_TRUE(res.has_value()) << res.error().detail;
    ASSERT_EQ(current(o.id).status, OrderStatus::PendingCancel);
    // A status report that crossed the cancel on the wire says OPEN: the cancel is still pending.
    service_->on_order_update("paper", report_of(o, OrderStatus::Open));
    EXPECT_EQ(current(o.id).status, OrderStatus::PendingCancel);
    service_->on_order_update("paper", report_of(o, OrderStatus::Cancelled));
    EXPECT_EQ(current(o.id).status, OrderStatus::Cancelled);
}

TEST_F(OrderServiceTest, Modify_AckArrivingDuringPendingCancelKeepsTheNewTerms) {
    OrderRecord o = place_open("c1", "5");
    broker_.on_cancel([](const std::string&, const std::string&, const std::string&) -> OrderReport {
        FakeBroker::fail(Status::UnknownOutcome, "connection lost after send");
    });
    broker_.on_modify([&](const ModifyRequest& m) {
        // While the venue works on the modify, the client cancels.
        std::thread t([&] { (void)service_->cancel(o.id, scope_, origin_); });
        t.join();
        OrderReport rep = report_of(o, OrderStatus::Open);
        rep.price = m.price;
        return rep;
    });
    ModifyRequest change;
    change.price = dec("101.50");
    auto res = service_->modify(o.id, change, scope_, origin_);
    ASSERT_TRUE(res.has_value()) << res.error().detail;
    OrderRecord now = current(o.id);
    EXPECT_EQ(now.status, OrderStatus::PendingCancel);
    ASSERT_TRUE(now.price);
    EXPECT_EQ(*now.price, dec("101.50"));  // the venue confirmed it: the confirmed terms change
}

// A venue answers calls on one channel and pushes its reports on another, so the push of an
// earlier state (the place's acknowledgement) can reach the host after a modify's answer was
// applied. Found under ASan in Gateway.TheTrailNamesTheRequestEachConfirmationAnswers: the order
// went back to the place's price for one version, then forward again. A push whose venue time is
// older than the terms already confirmed does not take them back; a newer one does.
TEST_F(OrderServiceTest, OrderUpdate_APushOlderThanAModifysAnswerDoesNotTakeItsTermsBack) {
    OrderRecord o = place_open("c1");
    OrderReport late_ack = report_of(o, OrderStatus::Open);  // the place's, as the venue sent it
    late_ack.updated_at_ns = 1'000;
    broker_.on_modify([&](const ModifyRequest& m) {
        OrderReport rep = report_of(o, OrderStatus::Open);
        rep.price = m.price;
        rep.updated_at_ns = 2'000;
        rep.request_id = m.request_id;
        return rep;
    });
    ModifyRequest change;
    change.price = dec("101.50");
    auto res = service_->modify(o.id, change, scope_, origin_);
    ASSERT_TRUE(res.has_value()) << res.error().detail;
    ASSERT_EQ(*current(o.id).price, dec("101.50"));
    const size_t trail = events(o.id).size();
    const int64_t version = current(o.id).version;

    service_->on_order_update("paper", late_ack);
    OrderRecord now = current(o.id);
    ASSERT_TRUE(now.price);
    EXPECT_EQ(*now.price, dec("101.50"));
    EXPECT_EQ(now.version, version);
    EXPECT_EQ(events(o.id).size(), trail);

    // The venue's own later change is taken; a report without a venue time is taken as before.
    OrderReport moved = report_of(now, OrderStatus::Open);
    moved.price = dec("102");
    moved.updated_at_ns = 3'000;
    service_->on_order_update("paper", moved);
    EXPECT_EQ(*current(o.id).price, dec("102"));
    OrderReport untimed = report_of(current(o.id), OrderStatus::Open);
    untimed.price = dec("102.50");
    service_->on_order_update("paper", untimed);
    EXPECT_EQ(*current(o.id).price, dec("102.50"));
}

TEST_F(OrderServiceTest, OrderUpdate_RejectedDuringPendingReplaceWithFillsKeepsTheOrderLive) {
    OrderRecord o = place_open("c1", "10");
    service_->on_fill("paper", fill_of(o, "T1", "4", "100"));
    broker_.on_modify([](const ModifyRequest&) -> OrderReport {
        FakeBroker::fail(Status::UnknownOutcome, "timeout after send");
    });
    ModifyRequest change;
    change.price = dec("99");
    auto res = service_->modify(o.id, change, scope_, origin_);
    ASSERT_TRUE(res.has_value()) << res.error().detail;
    ASSERT_EQ(current(o.id).status, OrderStatus::PendingReplace);
    // The venue refuses the replace: the order itself lives on with its fills.
    OrderReport rej = report_of(current(o.id), OrderStatus::Rejected);
    rej.reject_reason = "replace refused: price band";
    service_->on_order_update("paper", rej);
    OrderRecord now = current(o.id);
    EXPECT_EQ(now.status, OrderStatus::PartiallyFilled);
    EXPECT_EQ(now.filled_quantity, dec("4"));
    EXPECT_EQ(*now.price, dec("100.00"));
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

// ---- ABI 1.4: asynchronous outcomes and request chains ----------------------------------------

namespace ordergate::orders {
namespace {

class AsyncOrderTest : public OrderServiceTest {
  protected:
    // A service whose broker deadline is `ms` (what the host waits for an acknowledgement).
    void with_deadline(int ms) {
        ServiceOptions o;
        o.broker_timeout = std::chrono::milliseconds(ms);
        service_ = std::make_unique<OrderService>(
            storage_, std::map<std::string, ports::BrokerPort*>{{"paper", &broker_}},
            std::vector<AccountRoute>{{"ACC1", "paper", ""}, {"ACC2", "paper", ""}}, nullptr,
            &book_, nullptr, clock_, o);
        service_->recover();
    }
    [[noreturn]] static void pending() { FakeBroker::fail(Status::Pending, "sent"); }
};

// The acknowledgement arrives through the event sink (here before the call even returns, as a
// fast venue's may): 201 with the venue's broker id.
TEST_F(AsyncOrderTest, Place_PendingAckedThroughTheSinkWithinTheDeadlineAnswers201) {
    broker_.on_place([&](const OrderRequest& r) -> OrderReport {
        service_->on_order_update("paper", ack_of(r, "B-async"));
        pending();
    });
    auto res = service_->place(limit_buy("c1"), scope_, origin_);
    ASSERT_TRUE(res.has_value()) << res.error().detail;
    EXPECT_TRUE(res->outcome_known);
    EXPECT_EQ(res->order.status, OrderStatus::Open);
    EXPECT_EQ(res->order.broker_order_id, "B-async");
}

// No acknowledgement within the deadline: 202 PENDING_NEW, nothing resent; the late ack
// settles the order.
TEST_F(AsyncOrderTest, Place_PendingWithoutAckAnswers202AndTheLateAckSettlesIt) {
    with_deadline(30);
    OrderRequest sent;
    broker_.on_place([&](const OrderRequest& r) -> OrderReport {
        sent = r;
        pending();
    });
    auto res = service_->place(limit_buy("c1"), scope_, origin_);
    ASSERT_TRUE(res.has_value()) << res.error().detail;
    EXPECT_FALSE(res->outcome_known);
    EXPECT_EQ(res->order.status, OrderStatus::PendingNew);
    EXPECT_EQ(broker_.places().size(), 1u);
    service_->on_order_update("paper", ack_of(sent, "B-late"));
    OrderRecord now = current(res->order.id);
    EXPECT_EQ(now.status, OrderStatus::Open);
    EXPECT_EQ(now.broker_order_id, "B-late");
}

TEST_F(AsyncOrderTest, Place_PendingRejectedThroughTheSinkAnswersBrokerRejected) {
    broker_.on_place([&](const OrderRequest& r) -> OrderReport {
        OrderReport rej = ack_of(r, "");
        rej.status = OrderStatus::Rejected;
        rej.reject_reason = "unknown symbol";
        service_->on_order_update("paper", rej);
        pending();
    });
    auto res = service_->place(limit_buy("c1"), scope_, origin_);
    ASSERT_FALSE(res.has_value());
    EXPECT_EQ(res.error().code, ErrorCode::BrokerRejected);
    EXPECT_NE(res.error().detail.find("unknown symbol"), std::string::npos);
    EXPECT_EQ(current(res.error().order_id).status, OrderStatus::Rejected);
}

// Every modify and cancel gets its own request id, chained to the last accepted one.
TEST_F(AsyncOrderTest, ModifyAndCancel_GetChainedRequestIds) {
    OrderRecord o = place_open("c1");
    broker_.on_modify([&](const ModifyRequest& m) {
        OrderReport r = report_of(o, OrderStatus::Open);
        r.quantity = *m.quantity;
        return r;
    });
    ModifyRequest change;
    change.quantity = dec("7");
    ASSERT_TRUE(service_->modify(o.id, change, scope_, origin_).has_value());
    change.quantity = dec("8");
    ASSERT_TRUE(service_->modify(o.id, change, scope_, origin_).has_value());
    auto mods = broker_.modifies();
    ASSERT_EQ(mods.size(), 2u);
    EXPECT_TRUE(mods[0].request_id.rfind("og-r", 0) == 0) << mods[0].request_id;
    EXPECT_EQ(mods[0].orig_request_id, "c1");
    EXPECT_NE(mods[1].request_id, mods[0].request_id);
    EXPECT_EQ(mods[1].orig_request_id, mods[0].request_id);
    broker_.on_cancel([&](const std::string&, const std::string&, const std::string&) {
        return report_of(o, OrderStatus::Cancelled);
    });
    ASSERT_TRUE(service_->cancel(o.id, scope_, origin_).has_value());
    auto cancels = broker_.cancel_requests();
    ASSERT_EQ(cancels.size(), 1u);
    EXPECT_EQ(cancels[0].orig_request_id, mods[1].request_id);
    // The request ids are in the order's events (what finds it after a restart), the API's
    // request in their reason.
    bool found = false;
    for (const auto& ev : events(o.id))
        if (ev.request_id == cancels[0].request_id &&
            ev.to_status == OrderStatus::PendingCancel) {
            found = true;
            EXPECT_NE(ev.reason.find("req-1"), std::string::npos) << ev.reason;
        }
    EXPECT_TRUE(found);
}

// A cancel the venue refuses later (FIX OrderCancelReject naming the cancel's ClOrdID): the
// order returns to its last confirmed state, the venue's text in the event and the answer.
TEST_F(AsyncOrderTest, Cancel_RejectThroughTheSinkRestoresTheOrderWithTheVenueText) {
    OrderRecord o = place_open("c1");
    broker_.on_cancel([&](const std::string&, const std::string&, const std::string&)
                          -> OrderReport {
        OrderReport r = report_of(o, OrderStatus::Open);
        r.request_id = broker_.cancel_requests().back().request_id;
        r.cancel_reject_reason = "too late to cancel";
        service_->on_order_update("paper", r);
        pending();
    });
    auto res = service_->cancel(o.id, scope_, origin_);
    ASSERT_FALSE(res.has_value());
    EXPECT_EQ(res.error().code, ErrorCode::BrokerRejected);
    EXPECT_NE(res.error().detail.find("too late to cancel"), std::string::npos);
    EXPECT_EQ(current(o.id).status, OrderStatus::Open);
    auto evs = events(o.id);
    ASSERT_FALSE(evs.empty());
    EXPECT_EQ(evs.back().from_status, OrderStatus::PendingCancel);
    EXPECT_EQ(evs.back().to_status, OrderStatus::Open);
    EXPECT_EQ(evs.back().reason, "cancel refused by broker: too late to cancel");
    EXPECT_EQ(evs.back().request_id, broker_.cancel_requests().back().request_id);
}

// A modify acknowledged after the deadline: 202 PENDING_REPLACE, then the venue's report naming
// the modify's request id confirms it (even with terms equal to the old ones).
TEST_F(AsyncOrderTest, Modify_PendingAnswers202AndTheReportNamingItsRequestSettlesIt) {
    OrderRecord o = place_open("c1");
    with_deadline(30);
    broker_.on_modify([&](const ModifyRequest&) -> OrderReport { pending(); });
    ModifyRequest change;
    change.price = dec("101.00");
    auto res = service_->modify(o.id, change, scope_, origin_);
    ASSERT_TRUE(res.has_value()) << res.error().detail;
    EXPECT_FALSE(res->outcome_known);
    EXPECT_EQ(res->order.status, OrderStatus::PendingReplace);
    OrderReport r = report_of(o, OrderStatus::Open);
    r.price = dec("101.00");
    r.request_id = broker_.modifies().back().request_id;
    // The venue names the order by the modify's ClOrdID only.
    r.client_order_id = r.request_id;
    service_->on_order_update("paper", r);
    OrderRecord now = current(o.id);
    EXPECT_EQ(now.status, OrderStatus::Open);
    EXPECT_EQ(now.price->to_string(), "101.00");
}

// ABI 1.4: a broker that throttles says how long to wait: the 503's Retry-After says it too
// (whole seconds, rounded up), and nothing was sent.
TEST_F(AsyncOrderTest, Place_RateLimitedAnswers503WithTheBrokersRetryAfter) {
    broker_.on_place([](const OrderRequest&) -> OrderReport {
        throw sdk::Error(Status::RateLimited, "slow down", std::chrono::milliseconds(2500));
    });
    auto res = service_->place(limit_buy("c1"), scope_, origin_);
    ASSERT_FALSE(res.has_value());
    EXPECT_EQ(res.error().code, ErrorCode::BrokerUnavailable);
    EXPECT_EQ(res.error().retry_after_seconds, 3);
    broker_.on_place([](const OrderRequest&) -> OrderReport {
        FakeBroker::fail(Status::RateLimited, "slow down");
    });
    auto again = service_->place(limit_buy("c2"), scope_, origin_);
    ASSERT_FALSE(again.has_value());
    EXPECT_EQ(again.error().retry_after_seconds, 1);  // the broker did not say: 1 s
}

// After a restart, a report naming only a request id of the order's chain finds it (storage's
// events), and the next request chains to the last confirmed modify.
TEST_F(AsyncOrderTest, RequestChain_SurvivesARestart) {
    OrderRecord o = place_open("c1");
    broker_.on_modify([&](const ModifyRequest& m) {
        OrderReport r = report_of(o, OrderStatus::Open);
        r.quantity = *m.quantity;
        return r;
    });
    ModifyRequest change;
    change.quantity = dec("7");
    ASSERT_TRUE(service_->modify(o.id, change, scope_, origin_).has_value());
    const std::string first = broker_.modifies().back().request_id;
    service_->flush();
    with_deadline(5000);  // a new service over the same storage: memory is gone

    OrderReport cancelled = report_of(o, OrderStatus::Cancelled);
    cancelled.quantity = dec("7");
    cancelled.client_order_id = first;  // the venue knows the order by its latest ClOrdID
    cancelled.broker_order_id = "";
    // First a chained request: the modify's id is the accepted one.
    broker_.on_cancel([&](const std::string&, const std::string&, const std::string&)
                          -> OrderReport { pending(); });
    with_deadline(30);
    auto res = service_->cancel(o.id, scope_, origin_);
    ASSERT_TRUE(res.has_value()) << res.error().detail;
    EXPECT_EQ(broker_.cancel_requests().back().orig_request_id, first);
    service_->flush();
    with_deadline(5000);
    service_->on_order_update("paper", cancelled);
    EXPECT_EQ(current(o.id).status, OrderStatus::Cancelled);
}

}  // namespace
}  // namespace ordergate::orders
