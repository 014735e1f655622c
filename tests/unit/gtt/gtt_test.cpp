// Unit tests of host/gtt: TriggerBook (which legs a price reaches), the stored document (round
// trip, refusal of what the host did not write), and GttService against FakeStorage and
// FakeBroker with a real OrderService: fires once, OCO cancels its other leg, stale prices fire
// nothing, a crash between the claim and the order places nothing twice, two instances place
// one order, expiry, and every invalid GTT refused with its code.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <thread>

#include "fakes.hpp"
#include "gtt/gtt_codec.hpp"
#include "gtt/gtt_service.hpp"
#include "gtt/trigger_book.hpp"
#include "positions/position_book.hpp"

namespace ordergate::gtt {
namespace {

using orders::testing::FakeBroker;
using orders::testing::FakeStorage;
using std::chrono::seconds;

Decimal dec(const char* text) { return Decimal::must_parse(text); }

Gtt single(const std::string& id, const char* trigger, Direction d) {
    Gtt g;
    g.id = id;
    g.account_id = "ACC1";
    g.symbol = "AAPL";
    g.exchange = "XNAS";
    g.broker = "paper";
    g.last_price = dec("100.00");
    GttLeg leg;
    leg.trigger_price = dec(trigger);
    leg.direction = d;
    leg.order.side = Side::Sell;
    leg.order.order_type = OrderType::Market;
    leg.order.quantity = dec("1");
    leg.order.extra_json = "{}";
    g.legs.push_back(leg);
    g.version = 1;
    return g;
}

// ---- TriggerBook
// ----------------------------------------------------------------------------------

TEST(TriggerBook, APriceTakesOnlyTheLegsItReaches) {
    TriggerBook book;
    book.arm(single("g-up-105", "105.00", Direction::Rises));
    book.arm(single("g-up-110", "110.00", Direction::Rises));
    book.arm(single("g-down-95", "95.00", Direction::Falls));
    book.arm(single("g-down-90", "90.00", Direction::Falls));
    EXPECT_TRUE(book.take_crossed("AAPL", "XNAS", dec("100.00")).empty());
    EXPECT_TRUE(book.take_crossed("AAPL", "XNAS", dec("104.99")).empty());
    EXPECT_TRUE(book.take_crossed("MSFT", "XNAS", dec("200.00")).empty());
    auto up = book.take_crossed("AAPL", "XNAS", dec("105.00"));
    ASSERT_EQ(up.size(), 1u);
    EXPECT_EQ(up[0].gtt_id, "g-up-105");
    EXPECT_TRUE(book.take_crossed("AAPL", "XNAS", dec("105.00")).empty()) << "fired twice";
    auto down = book.take_crossed("AAPL", "XNAS", dec("89.00"));
    ASSERT_EQ(down.size(), 2u);
    EXPECT_EQ(down[0].gtt_id, "g-down-95");  // highest trigger first
    EXPECT_EQ(down[1].gtt_id, "g-down-90");
    EXPECT_EQ(book.armed(), 1u);
}

TEST(TriggerBook, AnOcoLeavesTheBookWholeWhenOneLegFires) {
    TriggerBook book;
    Gtt oco = single("g-oco", "110.00", Direction::Rises);
    oco.type = GttType::Oco;
    GttLeg low = oco.legs[0];
    low.trigger_price = dec("90.00");
    low.direction = Direction::Falls;
    oco.legs.push_back(low);
    book.arm(oco);
    EXPECT_EQ(book.armed("g-oco"), 2u);
    auto fired = book.take_crossed("AAPL", "XNAS", dec("111"));
    ASSERT_EQ(fired.size(), 1u);
    EXPECT_EQ(fired[0].leg, 0u);
    EXPECT_EQ(book.armed(), 0u);
    EXPECT_TRUE(book.take_crossed("AAPL", "XNAS", dec("80")).empty());
}

TEST(TriggerBook, ThousandsOfLegsOnOneSymbolFireInTriggerOrderAndDisarmCleanly) {
    TriggerBook book;
    for (int i = 1; i <= 5000; ++i) {
        const std::string p = std::to_string(100 + i) + ".00";
        book.arm(single("r" + std::to_string(i), p.c_str(), Direction::Rises));
    }
    EXPECT_EQ(book.armed(), 5000u);
    auto fired = book.take_crossed("AAPL", "XNAS", dec("110.50"));
    ASSERT_EQ(fired.size(), 10u);
    for (size_t i = 0; i < fired.size(); ++i)
        EXPECT_EQ(fired[i].gtt_id, "r" + std::to_string(i + 1));
    book.disarm("r11");
    book.disarm("r11");
    EXPECT_EQ(book.armed(), 4989u);
    EXPECT_EQ(book.take_crossed("AAPL", "XNAS", dec("112.00")).size(), 1u);  // r12 only
}

// ---- the stored document
// --------------------------------------------------------------------------

TEST(GttCodec, RoundTripsEveryField) {
    Gtt g = single("gtt_1", "105.25", Direction::Rises);
    g.type = GttType::Oco;
    GttLeg low = g.legs[0];
    low.trigger_price = dec("95.5");
    low.direction = Direction::Falls;
    low.order.order_type = OrderType::Limit;
    low.order.price = dec("95.40");
    low.order.extra_json = R"({"note":"x"})";
    low.status = "TRIGGERED";
    low.order_id = "ord_9";
    g.legs.push_back(low);
    g.triggered_leg = 1;
    g.reason = "r";
    g.expires_at_ns = 42;
    Gtt back = from_record(to_record(g));
    EXPECT_EQ(back.type, GttType::Oco);
    ASSERT_EQ(back.legs.size(), 2u);
    EXPECT_EQ(back.legs[0].trigger_price.to_string(), "105.25");
    EXPECT_EQ(back.legs[1].trigger_price.to_string(), "95.5");
    EXPECT_EQ(back.legs[1].direction, Direction::Falls);
    EXPECT_EQ(back.legs[1].order.price->to_string(), "95.40");
    EXPECT_EQ(back.legs[1].order.extra_json, R"({"note":"x"})");
    EXPECT_EQ(back.legs[1].order_id, "ord_9");
    EXPECT_EQ(back.legs[1].order.account_id, "ACC1");
    EXPECT_EQ(back.triggered_leg, 1);
    EXPECT_EQ(back.expires_at_ns, 42);
    EXPECT_EQ(back.broker, "paper");
    EXPECT_EQ(visible_status(back), GttStatus::Triggered);
}

TEST(GttCodec, RefusesADocumentItDidNotWrite) {
    GttRecord r = to_record(single("gtt_2", "105", Direction::Rises));
    GttRecord bad = r;
    bad.status = "ARMED";
    EXPECT_THROW(from_record(bad), CorruptGtt);
    bad = r;
    bad.body_json = "{}";
    EXPECT_THROW(from_record(bad), CorruptGtt);
    bad = r;
    bad.body_json.replace(bad.body_json.find("RISES"), 5, "UPUP!");
    EXPECT_THROW(from_record(bad), CorruptGtt);
    bad = r;
    bad.body_json.replace(bad.body_json.find("\"triggered_leg\":-1"), 18, "\"triggered_leg\":7");
    EXPECT_THROW(from_record(bad), CorruptGtt);
}

// ---- GttService
// -----------------------------------------------------------------------------------

constexpr uint64_t kCaps =
    OG_CAP_ORDER_MARKET | OG_CAP_ORDER_LIMIT | OG_CAP_TIF_DAY | OG_CAP_PUSH_EVENTS;

class GttServiceTest : public ::testing::Test {
  protected:
    void SetUp() override {
        orders_ = make_orders();
        service_ = make_service(*orders_);
        quote("100.00");
    }

    std::unique_ptr<orders::OrderService> make_orders() {
        auto o = std::make_unique<orders::OrderService>(
            storage_, std::map<std::string, ports::BrokerPort*>{{"paper", &broker_}},
            std::vector<orders::AccountRoute>{{"ACC1", "paper", ""}, {"ACC2", "paper", ""}},
            nullptr, &book_, nullptr, clock_, orders::ServiceOptions{});
        o->recover();
        return o;
    }
    std::unique_ptr<GttService> make_service(orders::OrderService& o) {
        GttOptions opt;
        opt.max_price_age = seconds(30);
        auto s = std::make_unique<GttService>(
            storage_, o, std::map<std::string, ports::BrokerPort*>{{"paper", &broker_}}, clock_,
            opt);
        s->sweep(true);  // loads what storage has (start() without the thread)
        return s;
    }

    void quote(const char* last) {
        Quote q;
        q.symbol = "AAPL";
        q.exchange = "XNAS";
        q.last = dec(last);
        q.at_ns = clock_->now_ns();
        orders_->on_quote("paper", q);
    }
    size_t tick(GttService& s, const char* price) {
        quote(price);
        return s.evaluate("AAPL", "XNAS", dec(price), clock_->now_ns());
    }

    static GttRequest request(GttType type, std::vector<const char*> triggers) {
        GttRequest r;
        r.account_id = "ACC1";
        r.symbol = "AAPL";
        r.exchange = "XNAS";
        r.type = type;
        for (const char* t : triggers) {
            GttLeg leg;
            leg.trigger_price = dec(t);
            leg.order.side = Side::Sell;
            leg.order.order_type = OrderType::Market;
            leg.order.time_in_force = TimeInForce::Day;
            leg.order.quantity = dec("3");
            leg.order.extra_json = "{}";
            r.legs.push_back(leg);
        }
        return r;
    }

    Gtt created(GttRequest r) {
        auto g = service_->create(std::move(r), scope_, "req-1");
        EXPECT_TRUE(g.has_value()) << (g ? "" : g.error().detail);
        return g ? *g : Gtt{};
    }
    Gtt stored(const std::string& id) { return from_record(*storage_.stored_gtt(id)); }
    // The write that claims `g`'s first leg as fired (a sweep's claim, before its order).
    WriteOp first_leg_claim(const Gtt& g) {
        Gtt claimed = stored(g.id);
        claimed.triggered_leg = 0;
        claimed.legs[0].status = "TRIGGERED";
        claimed.version = g.version + 1;
        WriteOp claim;
        claim.kind = WriteKind::UpsertGtt;
        claim.expected_version = g.version;
        claim.gtt = to_record(claimed);
        return claim;
    }
    // What a process that crashed right after triggering `g`'s first leg left in storage: the
    // claimed GTT and the leg's order intent "ord_intent" (PENDING_NEW, never sent); with
    // `cancelled`, a client's cancel of it too (PENDING_CANCEL, never sent either).
    void store_claimed_leg_intent(const Gtt& g, bool cancelled) {
        const WriteOp claim = first_leg_claim(g);
        WriteOp intent;
        intent.kind = WriteKind::InsertOrder;
        intent.order.id = "ord_intent";
        intent.order.client_order_id = leg_client_order_id(g.id, 0);
        intent.order.account_id = "ACC1";
        intent.order.broker = "paper";
        intent.order.symbol = "AAPL";
        intent.order.exchange = "XNAS";
        intent.order.side = Side::Sell;
        intent.order.order_type = OrderType::Market;
        intent.order.time_in_force = TimeInForce::Day;
        intent.order.quantity = dec("3");
        intent.order.status = OrderStatus::PendingNew;
        intent.order.version = 1;
        intent.event.order_id = "ord_intent";
        intent.event.seq = 1;
        intent.event.to_status = OrderStatus::PendingNew;
        std::vector<WriteOp> ops{claim, intent};
        if (cancelled) {
            WriteOp cancel;
            cancel.kind = WriteKind::UpdateOrder;
            cancel.expected_version = 1;
            cancel.order = intent.order;
            cancel.order.status = OrderStatus::PendingCancel;
            cancel.order.version = 2;
            cancel.event.order_id = "ord_intent";
            cancel.event.seq = 2;
            cancel.event.from_status = OrderStatus::PendingNew;
            cancel.event.to_status = OrderStatus::PendingCancel;
            cancel.event.source = EventSource::Api;
            ops.push_back(cancel);
        }
        ASSERT_EQ(storage_.write_batch(ops), std::vector<Status>(ops.size(), Status::Ok));
    }

    FakeStorage storage_;
    FakeBroker broker_{"paper", kCaps};
    positions::PositionBook book_;
    std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
    orders::AccountScope scope_{false, {"ACC1"}};
    std::unique_ptr<orders::OrderService> orders_;
    std::unique_ptr<GttService> service_;  // last: stopped before what it uses
};

TEST_F(GttServiceTest, ASingleFiresOnceWhenThePriceReachesItsTrigger) {
    Gtt g = created(request(GttType::Single, {"105.00"}));
    EXPECT_EQ(g.status, GttStatus::Active);
    EXPECT_EQ(g.legs[0].direction, Direction::Rises);
    EXPECT_EQ(stored(g.id).status, GttStatus::Active);
    EXPECT_EQ(tick(*service_, "104.99"), 0u);
    EXPECT_EQ(tick(*service_, "105.10"), 1u);
    EXPECT_EQ(tick(*service_, "106.00"), 0u);
    EXPECT_EQ(tick(*service_, "104.00"), 0u);
    ASSERT_EQ(broker_.places().size(), 1u);
    const OrderRequest sent = broker_.places()[0];
    EXPECT_EQ(sent.client_order_id, leg_client_order_id(g.id, 0));
    EXPECT_EQ(sent.side, Side::Sell);
    EXPECT_EQ(sent.quantity.to_string(), "3");
    Gtt after = stored(g.id);
    EXPECT_EQ(after.status, GttStatus::Triggered);
    EXPECT_EQ(after.triggered_leg, 0);
    ASSERT_FALSE(after.legs[0].order_id.empty());
    auto order = orders_->get(after.legs[0].order_id, scope_);
    ASSERT_TRUE(order.has_value());
    EXPECT_NE(order->extra_json.find("\"gtt_id\":\"" + g.id + "\""), std::string::npos)
        << order->extra_json;
    EXPECT_NE(order->extra_json.find("\"emulated\":true"), std::string::npos);
    auto evs = orders_->events(order->id, scope_, 0, 10);
    ASSERT_TRUE(evs.has_value());
    EXPECT_EQ((*evs)[0].source, EventSource::Gtt);
    EXPECT_EQ(service_->active(), 0u);
}

TEST_F(GttServiceTest, AnOcoFiresOneLegAndCancelsTheOther) {
    Gtt g = created(request(GttType::Oco, {"110.00", "90.00"}));
    EXPECT_EQ(g.legs[0].direction, Direction::Rises);
    EXPECT_EQ(g.legs[1].direction, Direction::Falls);
    EXPECT_EQ(tick(*service_, "89.50"), 1u);
    EXPECT_EQ(tick(*service_, "111.00"), 0u);
    ASSERT_EQ(broker_.places().size(), 1u);
    EXPECT_EQ(broker_.places()[0].client_order_id, leg_client_order_id(g.id, 1));
    Gtt after = stored(g.id);
    EXPECT_EQ(after.status, GttStatus::Triggered);
    EXPECT_EQ(after.legs[0].status, "CANCELLED");
    EXPECT_EQ(after.legs[1].status, "TRIGGERED");
}

TEST_F(GttServiceTest, AStalePriceFiresNothing) {
    Gtt g = created(request(GttType::Single, {"105.00"}));
    const int64_t old = clock_->now_ns();
    clock_->advance(seconds(31));
    EXPECT_EQ(service_->evaluate("AAPL", "XNAS", dec("200.00"), old), 0u);
    EXPECT_EQ(service_->evaluate("AAPL", "XNAS", dec("200.00"), 0), 0u);
    EXPECT_TRUE(broker_.places().empty());
    EXPECT_EQ(stored(g.id).status, GttStatus::Active);
    EXPECT_EQ(service_->armed_legs(), 1u) << "a stale price disarmed a leg";
}

// A crash after the claim (leg recorded as fired) and before the order: after a restart the
// order is placed once; a second instance retrying the same leg finds it and places nothing.
TEST_F(GttServiceTest, ACrashBetweenTheClaimAndTheOrderPlacesItOnceAfterRestart) {
    Gtt g = created(request(GttType::Single, {"105.00"}));
    WriteOp op = first_leg_claim(g);
    ASSERT_EQ(storage_.write_batch({op}), std::vector<Status>{Status::Ok});
    service_.reset();  // the crashed process

    service_ = make_service(*orders_);  // restart: the sweep places the fired leg
    ASSERT_EQ(broker_.places().size(), 1u);
    Gtt after = stored(g.id);
    EXPECT_EQ(after.status, GttStatus::Triggered);
    const std::string order_id = after.legs[0].order_id;
    ASSERT_FALSE(order_id.empty());

    // The same leg once more (another instance that claimed it too): the order exists.
    auto other = make_service(*orders_);
    after.status = GttStatus::Active;
    after.legs[0].order_id.clear();
    op.expected_version = after.version;
    after.version += 1;
    op.gtt = to_record(after);
    ASSERT_EQ(storage_.write_batch({op}), std::vector<Status>{Status::Ok});
    other->sweep(true);
    EXPECT_EQ(broker_.places().size(), 1u) << "placed twice";
    EXPECT_EQ(stored(g.id).legs[0].order_id, order_id);
    EXPECT_EQ(stored(g.id).status, GttStatus::Triggered);
}

// A crash after the leg's order was stored and before it was sent: reconciliation finds it
// nowhere and rejects it NOT_FOUND_AT_BROKER. While it is PENDING_NEW the GTT waits; once it is
// rejected so, the leg is placed again, once, under the leg's next client order id.
TEST_F(GttServiceTest, ALegWhoseOrderNeverReachedTheBrokerIsPlacedAgainUnderItsNextId) {
    Gtt g = created(request(GttType::Single, {"105.00"}));
    ASSERT_NO_FATAL_FAILURE(store_claimed_leg_intent(g, false));
    service_.reset();
    orders_ = make_orders();

    service_ = make_service(*orders_);  // restart: the order is PENDING_NEW, nothing is placed
    EXPECT_TRUE(broker_.places().empty());
    EXPECT_EQ(stored(g.id).status, GttStatus::Active);
    EXPECT_TRUE(stored(g.id).legs[0].order_id.empty());

    ASSERT_EQ(orders_->reject_not_found("ord_intent", "reject").result,
              orders::OrderService::Reconciled::Rejected);
    orders_->flush();
    service_->sweep(false);
    ASSERT_EQ(broker_.places().size(), 1u);
    EXPECT_EQ(broker_.places()[0].client_order_id, leg_client_order_id(g.id, 0) + "-2");
    Gtt after = stored(g.id);
    EXPECT_EQ(after.status, GttStatus::Triggered);
    ASSERT_FALSE(after.legs[0].order_id.empty());
    EXPECT_NE(after.legs[0].order_id, "ord_intent");
    service_->sweep(true);
    EXPECT_EQ(broker_.places().size(), 1u) << "placed twice";
}

// The same, but a client cancelled the leg's order before any acknowledgement (PENDING_CANCEL),
// and reconciliation rejected it NOT_FOUND_AT_BROKER before any sweep saw it: the client's cancel
// stands. The leg is not placed again; the order is the leg's.
TEST_F(GttServiceTest, ALegWhoseOrderTheClientCancelledIsNotPlacedAgain) {
    Gtt g = created(request(GttType::Single, {"105.00"}));
    ASSERT_NO_FATAL_FAILURE(store_claimed_leg_intent(g, true));
    service_.reset();
    orders_ = make_orders();
    ASSERT_EQ(orders_->reject_not_found("ord_intent", "reject").result,
              orders::OrderService::Reconciled::Rejected);
    orders_->flush();

    service_ = make_service(*orders_);
    service_->sweep(false);
    service_->sweep(true);
    EXPECT_TRUE(broker_.places().empty()) << "placed against the client's cancel";
    Gtt after = stored(g.id);
    EXPECT_EQ(after.status, GttStatus::Triggered);
    EXPECT_EQ(after.legs[0].order_id, "ord_intent");
}

TEST_F(GttServiceTest, TwoInstancesSeeingTheSameTickPlaceOneOrder) {
    Gtt g = created(request(GttType::Single, {"95.00"}));
    auto other = make_service(*orders_);
    EXPECT_EQ(other->active(), 1u);
    EXPECT_EQ(tick(*service_, "94.00"), 1u);
    quote("94.00");
    other->evaluate("AAPL", "XNAS", dec("94.00"), clock_->now_ns());
    EXPECT_EQ(broker_.places().size(), 1u);
    EXPECT_EQ(stored(g.id).status, GttStatus::Triggered);
    EXPECT_EQ(other->active(), 0u);
}

TEST_F(GttServiceTest, ExpiresAtItsTimeAndNeverFiresAfter) {
    GttRequest r = request(GttType::Single, {"105.00"});
    r.expires_at_ns = clock_->now_ns() + 1'000'000'000;
    Gtt g = created(r);
    clock_->advance(seconds(2));
    quote("100.00");
    service_->sweep(false);
    EXPECT_EQ(stored(g.id).status, GttStatus::Expired);
    EXPECT_EQ(tick(*service_, "200.00"), 0u);
    EXPECT_TRUE(broker_.places().empty());
}

TEST_F(GttServiceTest, ModifyWhileActiveThenNotAfterItFired) {
    Gtt g = created(request(GttType::Single, {"105.00"}));
    auto m = service_->modify(g.id, request(GttType::Single, {"120.00"}), scope_);
    ASSERT_TRUE(m.has_value()) << m.error().detail;
    EXPECT_EQ(m->version, g.version + 1);
    EXPECT_EQ(tick(*service_, "110.00"), 0u);
    EXPECT_EQ(tick(*service_, "120.00"), 1u);
    auto late = service_->modify(g.id, request(GttType::Single, {"130.00"}), scope_);
    ASSERT_FALSE(late.has_value());
    EXPECT_EQ(late.error().code, ErrorCode::GttNotModifiable);
    auto del = service_->cancel(g.id, scope_);
    ASSERT_FALSE(del.has_value());
    EXPECT_EQ(del.error().code, ErrorCode::GttNotModifiable);
}

TEST_F(GttServiceTest, CancelledIsShownFromThenOnAndNeverFires) {
    Gtt g = created(request(GttType::Single, {"105.00"}));
    auto c = service_->cancel(g.id, scope_);
    ASSERT_TRUE(c.has_value()) << c.error().detail;
    EXPECT_EQ(c->status, GttStatus::Cancelled);
    EXPECT_EQ(service_->get(g.id, scope_)->status, GttStatus::Cancelled);
    auto again = service_->cancel(g.id, scope_);
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(tick(*service_, "200.00"), 0u);
    EXPECT_TRUE(broker_.places().empty());
}

TEST_F(GttServiceTest, EveryInvalidGttIsRefusedWithItsCode) {
    auto code_of = [&](GttRequest r) {
        auto g = service_->create(std::move(r), scope_, "req");
        EXPECT_FALSE(g.has_value());
        return g ? ErrorCode::Internal : g.error().code;
    };
    EXPECT_EQ(code_of(request(GttType::Oco, {"110.00", "120.00"})), ErrorCode::ValidationFailed);
    EXPECT_EQ(code_of(request(GttType::Oco, {"110.00"})), ErrorCode::ValidationFailed);
    EXPECT_EQ(code_of(request(GttType::Single, {"100.00"})), ErrorCode::ValidationFailed);
    EXPECT_EQ(code_of(request(GttType::Single, {"0"})), ErrorCode::ValidationFailed);
    GttRequest past = request(GttType::Single, {"105.00"});
    past.expires_at_ns = clock_->now_ns() - 1;
    EXPECT_EQ(code_of(past), ErrorCode::ValidationFailed);
    GttRequest other = request(GttType::Single, {"105.00"});
    other.account_id = "ACC2";  // not in the caller's scope
    EXPECT_EQ(code_of(other), ErrorCode::NotFound);
    GttRequest unpriced = request(GttType::Single, {"105.00"});
    unpriced.symbol = "MSFT";  // no price known, and the fake cannot quote
    EXPECT_EQ(code_of(unpriced), ErrorCode::BrokerUnavailable);
    clock_->advance(seconds(31));  // AAPL's price is now stale
    EXPECT_EQ(code_of(request(GttType::Single, {"105.00"})), ErrorCode::BrokerUnavailable);
    EXPECT_EQ(service_->active(), 0u);
}

// The evaluator thread: a quote pushed by the broker fires the leg without a direct call.
TEST_F(GttServiceTest, AQuotePushedByTheBrokerFiresThroughTheEvaluatorThread) {
    service_->start();
    Gtt g = created(request(GttType::Single, {"105.00"}));
    quote("106.00");
    const auto deadline = std::chrono::steady_clock::now() + seconds(30);
    while (broker_.places().empty() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    service_->stop();
    EXPECT_EQ(broker_.places().size(), 1u);
    EXPECT_EQ(stored(g.id).status, GttStatus::Triggered);
}

}  // namespace
}  // namespace ordergate::gtt
