// The paper venue's ABI 1.3 additions, driven directly: paginated order and fill reports over its
// own numbering, and the report details (leaves quantity, exec id, cancel reject reason).
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

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

Status status_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const VenueError& e) {
        return e.status();
    }
    return Status::Ok;
}

std::vector<std::string> ids(const std::vector<OrderReport>& orders) {
    std::vector<std::string> out;
    for (const OrderReport& r : orders) out.push_back(r.broker_order_id);
    return out;
}
std::vector<std::string> ids(const std::vector<Fill>& fills) {
    std::vector<std::string> out;
    for (const Fill& f : fills) out.push_back(f.broker_trade_id);
    return out;
}

// Every page from the first, with `limit`; the pages' items in order, and how many pages.
template <typename Page>
auto all_pages(Page page, uint32_t limit, int* pages) {
    std::string cursor;
    decltype(page(cursor, limit).items) items;
    *pages = 0;
    do {
        auto p = page(cursor, limit);
        EXPECT_TRUE(p.complete);
        if (!p.next_cursor.empty()) {
            EXPECT_EQ(p.items.size(), limit);
        }
        items.insert(items.end(), p.items.begin(), p.items.end());
        cursor = p.next_cursor;
        if (++*pages > 100) break;
    } while (!cursor.empty());
    return items;
}

// ---- pages -------------------------------------------------------------------------------------

TEST(PaperPages, OrderPagesConcatenateToTheUnpaginatedList) {
    ManualClock clock;
    PaperVenue v(base_config(), clock.env());
    for (int i = 1; i <= 5; ++i) {
        if (i % 2 == 0)
            v.place_order(order("m" + std::to_string(i), Side::Buy, OrderType::Market, "1"),
                          kTimeout);
        else
            v.place_order(order("l" + std::to_string(i), Side::Buy, OrderType::Limit, "1",
                                D("90.00")),
                          kTimeout);
    }
    auto page = [&](const std::string& cursor, uint32_t limit) {
        return v.list_orders_page("ACC1", false, 0, cursor, limit);
    };
    int pages = 0;
    std::vector<OrderReport> paged = all_pages(page, 2, &pages);
    EXPECT_EQ(pages, 3);
    EXPECT_EQ(ids(paged), ids(v.list_orders("ACC1", false, 0)));
    EXPECT_EQ(ids(paged), (std::vector<std::string>{"P-1", "P-2", "P-3", "P-4", "P-5"}));
    // Limit 0: everything in one page; a limit as large as the list: one page, no cursor.
    ReportPage<OrderReport> one = page("", 0);
    EXPECT_EQ(ids(one.items), ids(paged));
    EXPECT_EQ(one.next_cursor, "");
    EXPECT_EQ(page("", 5).next_cursor, "");
    // A cursor can be used again: the same page.
    const std::string c1 = page("", 2).next_cursor;
    ASSERT_FALSE(c1.empty());
    EXPECT_EQ(ids(page(c1, 2).items), ids(page(c1, 2).items));
    EXPECT_EQ(ids(page(c1, 2).items), (std::vector<std::string>{"P-3", "P-4"}));
    // Open only: the resting limits (P-1, P-3, P-5), paged the same way.
    auto open = [&](const std::string& cursor, uint32_t limit) {
        return v.list_orders_page("ACC1", true, 0, cursor, limit);
    };
    EXPECT_EQ(ids(all_pages(open, 2, &pages)),
              (std::vector<std::string>{"P-1", "P-3", "P-5"}));
    EXPECT_EQ(pages, 2);
}

TEST(PaperPages, CursorsStayValidWhileNewOrdersArriveAndOrdersClose) {
    ManualClock clock;
    PaperVenue v(base_config(), clock.env());
    for (const char* cid : {"a", "b", "c"})
        v.place_order(order(cid, Side::Buy, OrderType::Limit, "1", D("90.00")), kTimeout);
    ReportPage<OrderReport> first = v.list_orders_page("ACC1", true, 0, "", 2);
    EXPECT_EQ(ids(first.items), (std::vector<std::string>{"P-1", "P-2"}));
    // Between pages: an order of the first page closes, new ones arrive.
    v.cancel_order("ACC1", "P-1", "", kTimeout);
    v.place_order(order("d", Side::Buy, OrderType::Limit, "1", D("90.00")), kTimeout);
    v.place_order(order("e", Side::Buy, OrderType::Limit, "1", D("90.00")), kTimeout);
    ReportPage<OrderReport> second = v.list_orders_page("ACC1", true, 0, first.next_cursor, 2);
    EXPECT_EQ(ids(second.items), (std::vector<std::string>{"P-3", "P-4"}));
    ReportPage<OrderReport> third = v.list_orders_page("ACC1", true, 0, second.next_cursor, 2);
    EXPECT_EQ(ids(third.items), (std::vector<std::string>{"P-5"}));
    EXPECT_EQ(third.next_cursor, "");
    EXPECT_TRUE(third.complete);
}

TEST(PaperPages, FiltersAccountAndSinceLikeTheUnpaginatedLists) {
    ManualClock clock;
    VenueConfig c = base_config();
    c.accounts = {"ACC1", "ACC2"};
    PaperVenue v(c, clock.env());
    auto place = [&](const std::string& cid, const std::string& account) {
        v.place_order(order(cid, Side::Buy, OrderType::Market, "1", std::nullopt, std::nullopt,
                            TimeInForce::Day, account),
                      kTimeout);
    };
    place("a1", "ACC1");
    place("b1", "ACC2");
    clock.advance(std::chrono::milliseconds(1000));
    const int64_t mid = clock.now();
    place("a2", "ACC1");
    place("b2", "ACC2");
    place("a3", "ACC1");
    int pages = 0;
    for (const std::string account : {"ACC1", "ACC2", ""}) {
        for (int64_t since : {int64_t{0}, mid}) {
            auto orders = [&](const std::string& cursor, uint32_t limit) {
                return v.list_orders_page(account, false, since, cursor, limit);
            };
            EXPECT_EQ(ids(all_pages(orders, 1, &pages)),
                      ids(v.list_orders(account, false, since)))
                << account << " " << since;
            auto fills = [&](const std::string& cursor, uint32_t limit) {
                return v.list_fills_page(account, since, cursor, limit);
            };
            EXPECT_EQ(ids(all_pages(fills, 1, &pages)), ids(v.list_fills(account, since)))
                << account << " " << since;
        }
    }
    EXPECT_EQ(ids(v.list_fills_page("ACC1", mid, "", 0).items),
              (std::vector<std::string>{"PT-3", "PT-5"}));
}

TEST(PaperPages, FillPagesFollowTheTradeNumbering) {
    ManualClock clock;
    VenueConfig c = base_config();
    c.partial_fill_ratio = D("0.25");  // four fills per execution
    PaperVenue v(c, clock.env());
    v.place_order(order("m1", Side::Buy, OrderType::Market, "8"), kTimeout);
    auto page = [&](const std::string& cursor, uint32_t limit) {
        return v.list_fills_page("ACC1", 0, cursor, limit);
    };
    ReportPage<Fill> first = page("", 3);
    EXPECT_EQ(ids(first.items), (std::vector<std::string>{"PT-1", "PT-2", "PT-3"}));
    // New executions come after the cursor's trade.
    v.place_order(order("m2", Side::Sell, OrderType::Market, "4"), kTimeout);
    int pages = 0;
    std::vector<Fill> rest;
    std::string cursor = first.next_cursor;
    while (!cursor.empty()) {
        ReportPage<Fill> p = page(cursor, 3);
        rest.insert(rest.end(), p.items.begin(), p.items.end());
        cursor = p.next_cursor;
        ASSERT_LT(++pages, 10);
    }
    EXPECT_EQ(ids(rest), (std::vector<std::string>{"PT-4", "PT-5", "PT-6", "PT-7", "PT-8"}));
    EXPECT_EQ(ids(all_pages(page, 3, &pages)), ids(v.list_fills("ACC1", 0)));
    EXPECT_EQ(pages, 3);
    std::set<std::string> distinct;
    for (const Fill& f : all_pages(page, 2, &pages)) distinct.insert(f.broker_trade_id);
    EXPECT_EQ(distinct.size(), 8u);
}

TEST(PaperPages, CursorsItDidNotGiveAreInvalidArguments) {
    ManualClock clock;
    PaperVenue v(base_config(), clock.env());
    for (const char* cid : {"a", "b", "c"})
        v.place_order(order(cid, Side::Buy, OrderType::Market, "1"), kTimeout);
    const std::string orders_cursor = v.list_orders_page("ACC1", false, 0, "", 1).next_cursor;
    const std::string fills_cursor = v.list_fills_page("ACC1", 0, "", 1).next_cursor;
    ASSERT_FALSE(orders_cursor.empty());
    ASSERT_FALSE(fills_cursor.empty());
    for (const std::string bad : {"garbage", "o:", "o:0", "o:-1", "o:x1", "o:4", "o:99",
                                  "P-1", fills_cursor.c_str()})
        EXPECT_EQ(status_of([&] { v.list_orders_page("ACC1", false, 0, bad, 1); }),
                  Status::InvalidArgument)
            << bad;
    for (const std::string bad : {"garbage", "t:0", "t:4", orders_cursor.c_str()})
        EXPECT_EQ(status_of([&] { v.list_fills_page("ACC1", 0, bad, 1); }),
                  Status::InvalidArgument)
            << bad;
    EXPECT_EQ(status_of([&] { v.list_orders_page("ACC1", false, 0, orders_cursor, 1); }),
              Status::Ok);
}

// ---- report details ----------------------------------------------------------------------------

TEST(PaperReports, LeavesQuantityIsWhatIsStillWorkingAndZeroOnceTerminal) {
    ManualClock clock;
    VenueConfig c = base_config();
    c.max_fill_per_tick = D("3");
    PaperVenue v(c, clock.env());
    OrderReport partial = v.place_order(order("p", Side::Buy, OrderType::Market, "10"), kTimeout);
    EXPECT_EQ(partial.status, OrderStatus::PartiallyFilled);
    ASSERT_TRUE(partial.leaves_quantity.has_value());
    EXPECT_EQ(*partial.leaves_quantity, D("7"));
    OrderReport resting =
        v.place_order(order("l", Side::Buy, OrderType::Limit, "4", D("90.00")), kTimeout);
    EXPECT_EQ(*resting.leaves_quantity, D("4"));
    v.step();
    EXPECT_EQ(*v.get_order("ACC1", "", "p").leaves_quantity, D("4"));
    OrderReport cancelled = v.cancel_order("ACC1", "", "p", kTimeout);
    EXPECT_EQ(cancelled.filled_quantity, D("6"));
    EXPECT_TRUE(cancelled.leaves_quantity->is_zero());  // terminal: nothing works any more
    OrderReport filled = v.place_order(order("f", Side::Buy, OrderType::Market, "2"), kTimeout);
    EXPECT_TRUE(filled.leaves_quantity->is_zero());
    VenueConfig rc = base_config();
    rc.fault.reject_ratio = D("1");
    PaperVenue rejecting(rc, clock.env());
    EXPECT_EQ(status_of([&] {
                  rejecting.place_order(order("r", Side::Buy, OrderType::Market, "1"), kTimeout);
              }),
              Status::Rejected);
    EXPECT_TRUE(rejecting.get_order("ACC1", "", "r").leaves_quantity->is_zero());
    // Every listed report carries it too.
    for (const OrderReport& r : v.list_orders("ACC1", false, 0))
        EXPECT_EQ(*r.leaves_quantity,
                  is_terminal(r.status) ? Decimal() : r.quantity - r.filled_quantity)
            << r.broker_order_id;
}

TEST(PaperReports, ExecIdNamesTheTradeBehindAnUpdate) {
    ManualClock clock;
    VenueConfig c = base_config();
    c.partial_fill_ratio = D("0.5");
    PaperVenue v(c, clock.env());
    v.drain_events();
    OrderReport ack = v.place_order(order("m", Side::Buy, OrderType::Market, "2"), kTimeout);
    EXPECT_EQ(ack.exec_id, "PT-2");  // the ack is the state after the last execution
    std::vector<std::string> seen;
    std::string last_fill;
    for (const VenueEvent& e : v.drain_events()) {
        if (e.kind == VenueEvent::Kind::Fill) last_fill = e.fill.broker_trade_id;
        if (e.kind != VenueEvent::Kind::OrderUpdate) continue;
        seen.push_back(std::string(to_string(e.order.status)) + ":" + e.order.exec_id);
        if (!e.order.exec_id.empty()) {
            EXPECT_EQ(e.order.exec_id, last_fill);
        }
    }
    EXPECT_EQ(seen, (std::vector<std::string>{"OPEN:", "PARTIALLY_FILLED:PT-1", "FILLED:PT-2"}));
    OrderReport resting =
        v.place_order(order("l", Side::Buy, OrderType::Limit, "1", D("90.00")), kTimeout);
    EXPECT_EQ(resting.exec_id, "");
    EXPECT_EQ(v.cancel_order("ACC1", "", "l", kTimeout).exec_id, "");
}

TEST(PaperReports, ARefusedCancelOrModifyIsKeptOnTheOrderUntilOneIsAccepted) {
    ManualClock clock;
    VenueConfig c = base_config();
    c.initial_cash = D("1000");
    PaperVenue v(c, clock.env());
    v.place_order(order("f", Side::Buy, OrderType::Market, "1"), kTimeout);  // P-1, filled
    v.drain_events();
    EXPECT_EQ(status_of([&] { v.cancel_order("ACC1", "P-1", "", kTimeout); }), Status::Rejected);
    EXPECT_EQ(v.get_order("ACC1", "P-1", "").cancel_reject_reason,
              "order P-1 is already FILLED; it cannot be cancelled");
    EXPECT_TRUE(v.drain_events().empty());  // the order did not change: no update pushed
    // A live order: a modify the venue refuses, then an accepted one.
    OrderReport l = v.place_order(order("l", Side::Buy, OrderType::Limit, "1", D("90.00")),
                                  kTimeout);
    const int64_t updated = l.updated_at_ns;
    ModifyRequest m;
    m.broker_order_id = l.broker_order_id;
    m.account_id = "ACC1";
    m.quantity = D("100");  // 100 * 90 exceeds the buying power
    clock.advance(std::chrono::milliseconds(5));
    EXPECT_EQ(status_of([&] { v.modify_order(m, kTimeout); }), Status::Rejected);
    OrderReport after = v.get_order("ACC1", l.broker_order_id, "");
    EXPECT_NE(after.cancel_reject_reason.find("insufficient buying power"), std::string::npos)
        << after.cancel_reject_reason;
    EXPECT_EQ(after.quantity, D("1"));
    EXPECT_EQ(after.updated_at_ns, updated);
    m.quantity = D("2");
    EXPECT_EQ(v.modify_order(m, kTimeout).cancel_reject_reason, "");
    // An unknown order has nothing to keep it on.
    EXPECT_EQ(status_of([&] { v.cancel_order("ACC1", "P-77", "", kTimeout); }), Status::NotFound);
}

TEST(PaperReports, DetailsSurviveARestartOnTheJournal) {
    TempDir dir;
    ManualClock clock;
    VenueConfig c = base_config();
    c.journal_path = dir.file("paper.journal");
    {
        PaperVenue v(c, clock.env());
        v.place_order(order("f", Side::Buy, OrderType::Market, "2"), kTimeout);
        v.place_order(order("l", Side::Buy, OrderType::Limit, "3", D("90.00")), kTimeout);
        EXPECT_EQ(status_of([&] { v.cancel_order("ACC1", "", "f", kTimeout); }),
                  Status::Rejected);
    }
    PaperVenue again(c, clock.env());
    OrderReport f = again.get_order("ACC1", "", "f");
    EXPECT_EQ(f.exec_id, "PT-1");
    EXPECT_EQ(f.cancel_reject_reason, "order P-1 is already FILLED; it cannot be cancelled");
    EXPECT_TRUE(f.leaves_quantity->is_zero());
    OrderReport l = again.get_order("ACC1", "", "l");
    EXPECT_EQ(*l.leaves_quantity, D("3"));
    EXPECT_EQ(l.exec_id, "");
    // Numbering continues, so do the cursors.
    ReportPage<OrderReport> first = again.list_orders_page("ACC1", false, 0, "", 1);
    again.place_order(order("n", Side::Buy, OrderType::Market, "1"), kTimeout);
    EXPECT_EQ(ids(again.list_orders_page("ACC1", false, 0, first.next_cursor, 0).items),
              (std::vector<std::string>{"P-2", "P-3"}));
}

}  // namespace
}  // namespace ordergate::paper
