// The paper venue's native GTTs (ABI 1.5), driven directly with a manual clock and step(): a leg
// fires once when the walk reaches it, its order is placed by the venue under the leg's client
// order id, an OCO's other leg is cancelled, and everything survives a restart (journal).
#include <gtest/gtest.h>

#include <fstream>
#include <functional>

#include "paper_test_support.hpp"
#include "paper_venue.hpp"

namespace ordergate::paper {
namespace {

using testing::base_config;
using testing::D;
using testing::kTimeout;
using testing::ManualClock;
using testing::order;
using testing::TempDir;

GttLeg leg(const char* trigger, const std::string& cid, Side side) {
    GttLeg l;
    l.trigger_price = D(trigger);
    l.order = order(cid, side, OrderType::Market, "2");
    return l;
}

GttRequest gtt(const std::string& id, GttType type, std::vector<GttLeg> legs) {
    GttRequest r;
    r.gtt_id = id;
    r.account_id = "ACC1";
    r.symbol = "INFY";
    r.exchange = "NSE";
    r.type = type;
    r.legs = std::move(legs);
    return r;
}

// Steps until `done` (at most `limit` steps); false when it never happened.
bool step_until(PaperVenue& v, int limit, const std::function<bool()>& done) {
    for (int i = 0; i < limit; ++i) {
        v.step();
        if (done()) return true;
    }
    return false;
}

Status status_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const VenueError& e) {
        return e.status();
    }
    return Status::Ok;
}

size_t orders_with_prefix(const PaperVenue& v, const std::string& prefix) {
    size_t n = 0;
    for (const OrderReport& r : v.list_orders("ACC1", false, 0))
        if (r.client_order_id.rfind(prefix, 0) == 0) ++n;
    return n;
}

TEST(PaperGtt, ASingleFiresOnceAndTheVenuePlacesTheLegsOrderAfterTheGttUpdate) {
    ManualClock clock;
    PaperVenue v(base_config(), clock.env());
    GttReport placed =
        v.place_gtt(gtt("gtt_a", GttType::Single, {leg("100.10", "gtt_a-leg1", Side::Sell)}),
                    kTimeout);
    EXPECT_EQ(placed.broker_gtt_id, "PG-1");
    EXPECT_EQ(placed.status, GttStatus::Active);
    v.drain_events();
    ASSERT_TRUE(step_until(v, 2000, [&] {
        return v.get_gtt("ACC1", "gtt_a", "").status != GttStatus::Active;
    }));
    GttReport fired = v.get_gtt("ACC1", "", "PG-1");
    EXPECT_EQ(fired.status, GttStatus::Triggered);
    ASSERT_TRUE(fired.triggered_leg.has_value());
    EXPECT_EQ(*fired.triggered_leg, 0u);
    EXPECT_EQ(fired.order_client_order_id, "gtt_a-leg1");
    const OrderReport o = v.get_order("ACC1", "", "gtt_a-leg1");
    EXPECT_EQ(fired.broker_order_id, o.broker_order_id);
    EXPECT_EQ(o.side, Side::Sell);

    // The GTT's update comes before any event of its order.
    auto events = v.drain_events();
    int gtt_at = -1, order_at = -1;
    for (int i = 0; i < static_cast<int>(events.size()); ++i) {
        if (events[i].kind == VenueEvent::Kind::Gtt && gtt_at < 0) gtt_at = i;
        if (events[i].kind == VenueEvent::Kind::OrderUpdate &&
            events[i].order.client_order_id == "gtt_a-leg1" && order_at < 0)
            order_at = i;
    }
    ASSERT_GE(gtt_at, 0);
    ASSERT_GE(order_at, 0);
    EXPECT_LT(gtt_at, order_at);
    EXPECT_EQ(events[gtt_at].gtt.broker_order_id, o.broker_order_id);

    // The walk keeps crossing the trigger: nothing more is placed.
    for (int i = 0; i < 500; ++i) v.step();
    EXPECT_EQ(orders_with_prefix(v, "gtt_a"), 1u);
}

TEST(PaperGtt, AnOcoFiresOneLegAndCancelsTheOther) {
    ManualClock clock;
    PaperVenue v(base_config(), clock.env());
    v.place_gtt(gtt("gtt_o", GttType::Oco,
                    {leg("100.10", "gtt_o-leg1", Side::Sell), leg("99.90", "gtt_o-leg2", Side::Buy)}),
                kTimeout);
    ASSERT_TRUE(step_until(v, 2000, [&] {
        return v.get_gtt("ACC1", "gtt_o", "").status == GttStatus::Triggered;
    }));
    for (int i = 0; i < 500; ++i) v.step();
    EXPECT_EQ(orders_with_prefix(v, "gtt_o"), 1u);
    EXPECT_TRUE(v.list_gtts("ACC1", true).empty());
    ASSERT_EQ(v.list_gtts("ACC1", false).size(), 1u);
}

TEST(PaperGtt, PlaceWithAKnownGttIdIsARetryNotASecondGtt) {
    ManualClock clock;
    PaperVenue v(base_config(), clock.env());
    auto r = gtt("gtt_r", GttType::Single, {leg("150.00", "gtt_r-leg1", Side::Sell)});
    GttReport first = v.place_gtt(r, kTimeout);
    GttReport again = v.place_gtt(r, kTimeout);
    EXPECT_EQ(first.broker_gtt_id, again.broker_gtt_id);
    EXPECT_EQ(v.list_gtts("", false).size(), 1u);
}

TEST(PaperGtt, ModifyAndCancelWhileActiveAndRefusedOnceFired) {
    ManualClock clock;
    PaperVenue v(base_config(), clock.env());
    v.place_gtt(gtt("gtt_m", GttType::Single, {leg("150.00", "gtt_m-leg1", Side::Sell)}), kTimeout);
    GttReport m = v.modify_gtt(
        gtt("gtt_m", GttType::Single, {leg("100.10", "gtt_m-leg1", Side::Sell)}), kTimeout);
    EXPECT_TRUE(m.legs.at(0).trigger_price.identical(D("100.10")));
    ASSERT_TRUE(step_until(v, 2000, [&] {
        return v.get_gtt("ACC1", "gtt_m", "").status == GttStatus::Triggered;
    }));
    auto req = gtt("gtt_m", GttType::Single, {leg("150.00", "gtt_m-leg1", Side::Sell)});
    EXPECT_EQ(status_of([&] { v.modify_gtt(req, kTimeout); }), Status::Rejected);
    EXPECT_EQ(status_of([&] { v.cancel_gtt(req, kTimeout); }), Status::Rejected);

    v.place_gtt(gtt("gtt_c", GttType::Single, {leg("500.00", "gtt_c-leg1", Side::Sell)}), kTimeout);
    auto c = gtt("gtt_c", GttType::Single, {});
    EXPECT_EQ(v.cancel_gtt(c, kTimeout).status, GttStatus::Cancelled);
    EXPECT_EQ(v.cancel_gtt(c, kTimeout).status, GttStatus::Cancelled);  // idempotent
    EXPECT_EQ(status_of([&] { v.get_gtt("ACC1", "gtt_nope", ""); }), Status::NotFound);
}

TEST(PaperGtt, InvalidGttsAreRefused) {
    ManualClock clock;
    PaperVenue v(base_config(), clock.env());
    // Both legs above the last price (100.00).
    EXPECT_EQ(status_of([&] {
                  v.place_gtt(gtt("g1", GttType::Oco, {leg("101.00", "g1-1", Side::Sell),
                                                       leg("102.00", "g1-2", Side::Sell)}),
                              kTimeout);
              }),
              Status::Rejected);
    EXPECT_EQ(status_of([&] {
                  v.place_gtt(gtt("g2", GttType::Single, {leg("100.00", "g2-1", Side::Sell)}),
                              kTimeout);
              }),
              Status::Rejected);
    EXPECT_EQ(status_of([&] { v.place_gtt(gtt("g3", GttType::Single, {}), kTimeout); }),
              Status::InvalidArgument);
    EXPECT_TRUE(v.list_gtts("", false).empty());
}

TEST(PaperGtt, GttsSurviveARestartThroughTheJournal) {
    TempDir dir;
    ManualClock clock;
    VenueConfig c = base_config();
    c.journal_path = dir.file("gtt.journal");
    {
        PaperVenue v(c, clock.env());
        v.place_gtt(gtt("gtt_k", GttType::Single, {leg("500.00", "gtt_k-leg1", Side::Sell)}),
                    kTimeout);
        v.place_gtt(gtt("gtt_f", GttType::Single, {leg("100.10", "gtt_f-leg1", Side::Sell)}),
                    kTimeout);
        ASSERT_TRUE(step_until(v, 2000, [&] {
            return v.get_gtt("ACC1", "gtt_f", "").status == GttStatus::Triggered;
        }));
        v.close();
    }
    PaperVenue v(c, clock.env());
    EXPECT_EQ(v.get_gtt("ACC1", "gtt_k", "").status, GttStatus::Active);
    GttReport f = v.get_gtt("ACC1", "gtt_f", "");
    EXPECT_EQ(f.status, GttStatus::Triggered);
    EXPECT_EQ(f.order_client_order_id, "gtt_f-leg1");
    EXPECT_EQ(v.get_order("ACC1", "", "gtt_f-leg1").broker_order_id, f.broker_order_id);
    // Numbering continues; the replayed ACTIVE GTT still fires, once.
    GttReport next = v.place_gtt(
        gtt("gtt_n", GttType::Single, {leg("900.00", "gtt_n-leg1", Side::Sell)}), kTimeout);
    EXPECT_EQ(next.broker_gtt_id, "PG-3");
    EXPECT_EQ(orders_with_prefix(v, "gtt_f"), 1u);
}

// The GTT's "triggered" line is written before its order's first line: a crash between the two
// leaves a GTT naming an order the journal never had. The replay places the leg then, under the
// number the GTT named, so that number is never given to another order.
TEST(PaperGtt, ATriggerWhoseOrderNeverReachedTheJournalIsPlacedAtReplay) {
    TempDir dir;
    ManualClock clock;
    VenueConfig c = base_config();
    c.journal_path = dir.file("gtt.journal");
    std::string named;
    {
        PaperVenue v(c, clock.env());
        v.place_gtt(gtt("gtt_c", GttType::Single, {leg("100.10", "gtt_c-leg1", Side::Sell)}),
                    kTimeout);
        ASSERT_TRUE(step_until(v, 2000, [&] {
            return v.get_gtt("ACC1", "gtt_c", "").status == GttStatus::Triggered;
        }));
        named = v.get_gtt("ACC1", "gtt_c", "").broker_order_id;
        v.close();
    }
    // The crash: every line from the leg order's first one on is lost.
    {
        std::ifstream in(c.journal_path);
        std::string line, kept;
        bool cut = false;
        while (std::getline(in, line)) {
            cut = cut || (line.rfind("O\t", 0) == 0 &&
                          line.find("\tcid=gtt_c-leg1\t") != std::string::npos);
            if (!cut) kept += line + "\n";
        }
        ASSERT_TRUE(cut) << "no order line of the leg in the journal";
        std::ofstream(c.journal_path, std::ios::trunc) << kept;
    }
    PaperVenue v(c, clock.env());
    GttReport g = v.get_gtt("ACC1", "gtt_c", "");
    EXPECT_EQ(g.status, GttStatus::Triggered);
    EXPECT_EQ(g.broker_order_id, named);
    const OrderReport o = v.get_order("ACC1", "", "gtt_c-leg1");
    EXPECT_EQ(o.broker_order_id, named);
    EXPECT_EQ(o.side, Side::Sell);
    // The next order takes the number after it.
    const OrderReport next = v.place_order(order("after", Side::Buy, OrderType::Market, "1"), kTimeout);
    EXPECT_EQ(next.broker_order_id,
              "P-" + std::to_string(std::stoull(named.substr(2)) + 1));
    EXPECT_EQ(orders_with_prefix(v, "gtt_c"), 1u);
}

}  // namespace
}  // namespace ordergate::paper
