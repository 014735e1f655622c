// The journal: its line format, and a venue's state surviving a restart on the same file.
#include "paper_journal.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

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

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string describe(const std::vector<OrderReport>& orders) {
    std::string out;
    for (const auto& o : orders)
        out += o.broker_order_id + "|" + o.client_order_id + "|" +
               std::string(to_string(o.status)) + "|" + o.quantity.to_string() + "|" +
               o.filled_quantity.to_string() + "|" + (o.price ? o.price->to_string() : "-") + "|" +
               (o.average_fill_price ? o.average_fill_price->to_string() : "-") + "|" +
               o.reject_reason + "|" + std::to_string(o.updated_at_ns) + "\n";
    return out;
}

std::string describe(const std::vector<Fill>& fills) {
    std::string out;
    for (const auto& f : fills)
        out += f.broker_trade_id + "|" + f.broker_order_id + "|" + f.quantity.to_string() + "@" +
               f.price.to_string() + "|" + f.fee.to_string() + "|" +
               std::to_string(f.executed_at_ns) + "\n";
    return out;
}

std::string describe(const std::vector<Position>& ps) {
    std::string out;
    for (const auto& p : ps)
        out += p.account_id + "|" + p.symbol + "|" + p.exchange + "|" + p.quantity.to_string() +
               "|" + p.average_price.to_string() + "\n";
    return out;
}

std::string describe(const Account& a) {
    return a.account_id + "|" + a.currency + "|" + a.cash.to_string() + "|" +
           a.buying_power.to_string() + "|" + a.equity.to_string() + "|" +
           a.margin_used.to_string();
}

TEST(PaperJournalFormat, LinesRoundTripWithEscapes) {
    JournalRecord r{"O", {}};
    r.add("cid", "tab\there\nnew%line\r").add("empty", "").add("eq", "a=b");
    std::string line = encode_journal_line(r);
    ASSERT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1);
    JournalRecord back = decode_journal_line(std::string_view(line).substr(0, line.size() - 1));
    EXPECT_EQ(back.type, "O");
    EXPECT_EQ(back.at("cid"), "tab\there\nnew%line\r");
    EXPECT_EQ(back.at("empty"), "");
    EXPECT_EQ(back.at("eq"), "a=b");
    EXPECT_THROW(decode_journal_line("O\tnokey"), JournalError);
    EXPECT_THROW(decode_journal_line("O\tk=%zz"), JournalError);
    EXPECT_THROW(back.at("missing"), JournalError);
}

TEST(PaperJournalFile, OffsetsFromAppendAndReplayAgreeAndReadBackAcrossReadBlocks) {
    TempDir dir;
    const std::string path = dir.file("lines.journal");
    // Lines of 1 to ~700 KB: a 1 MiB read block ends inside several of them.
    std::vector<uint64_t> appended;
    std::vector<std::string> values;
    {
        JournalFile j;
        j.open(path, false, [](const JournalRecord&, uint64_t) {}, {});
        for (int i = 0; i < 12; ++i) {
            values.push_back(std::string(static_cast<size_t>(i * 61000 + 1), static_cast<char>('a' + i)) + "\t%");
            appended.push_back(j.append(JournalRecord{"X", {}}.add("v", values.back())));
        }
        for (size_t i = 0; i < values.size(); ++i)
            EXPECT_EQ(j.read_at(appended[i]).at("v"), values[i]);
        EXPECT_THROW(j.read_at(appended.back() + values.back().size() + 20), JournalError);
    }
    // A torn line at the end is cut; every whole line replays with the offset append gave.
    std::ofstream(path, std::ios::binary | std::ios::app) << "X\tv=torn";
    std::vector<uint64_t> replayed;
    std::vector<std::string> seen;
    JournalFile j;
    j.open(
        path, false,
        [&](const JournalRecord& r, uint64_t offset) {
            replayed.push_back(offset);
            seen.push_back(r.at("v"));
        },
        {});
    EXPECT_EQ(replayed, appended);
    EXPECT_EQ(seen, values);
    const uint64_t next = j.append(JournalRecord{"X", {}}.add("v", "after"));
    EXPECT_EQ(j.read_at(next).at("v"), "after");
    EXPECT_EQ(j.read_at(appended[3]).at("v"), values[3]);
}

// read_at serves lines from the block it read last: in file order, backwards, at random, and
// the newest line right after each append (a block that ended at the file's end then must not
// answer for what was written after it).
TEST(PaperJournalFile, ShortLinesReadBackInAnyOrderAndRightAfterTheirAppend) {
    TempDir dir;
    JournalFile j;
    j.open(dir.file("short.journal"), false, [](const JournalRecord&, uint64_t) {}, {});
    std::vector<uint64_t> at;
    std::vector<std::string> values;
    for (int i = 0; i < 5000; ++i) {
        values.push_back("value-" + std::to_string(i) +
                         std::string(static_cast<size_t>(i % 97), 'x'));
        at.push_back(j.append(JournalRecord{"X", {}}.add("v", values.back())));
        if (i % 7 == 0) {
            ASSERT_EQ(j.read_at(at.back()).at("v"), values.back()) << i;
        }
        if (i % 11 == 0) {
            const size_t half = static_cast<size_t>(i / 2);
            ASSERT_EQ(j.read_at(at[half]).at("v"), values[half]) << i;
        }
    }
    for (size_t i = 0; i < at.size(); ++i) ASSERT_EQ(j.read_at(at[i]).at("v"), values[i]) << i;
    for (size_t i = at.size(); i-- > 0;) ASSERT_EQ(j.read_at(at[i]).at("v"), values[i]) << i;
    for (size_t k = 0, i = 17; k < 2000; ++k, i = (i * 7919 + 13) % at.size())
        ASSERT_EQ(j.read_at(at[i]).at("v"), values[i]) << i;
}

TEST(PaperJournal, StateSurvivesARestart) {
    TempDir dir;
    ManualClock clock;
    VenueConfig c = base_config();
    c.accounts = {"ACC1", "ACC2"};
    c.max_steps_per_tick = 3;
    c.fee_per_fill = D("2.50");
    c.fee_rate = D("0.0001");
    c.partial_fill_ratio = D("0.5");
    c.journal_path = dir.file("paper.journal");
    c.journal_snapshot_ticks = 7;

    std::string orders, fills, positions, acc1, acc2;
    Decimal last;
    {
        PaperVenue v(c, clock.env());
        v.place_order(order("m1", Side::Buy, OrderType::Market, "10"), kTimeout);
        clock.advance(std::chrono::milliseconds(10));
        v.place_order(order("rest", Side::Buy, OrderType::Limit, "3", D("80.00")), kTimeout);
        v.place_order(order("st", Side::Sell, OrderType::Stop, "2", std::nullopt, D("50.00")),
                      kTimeout);
        v.place_order(order("x", Side::Sell, OrderType::Market, "4", std::nullopt, std::nullopt,
                            TimeInForce::Day, "ACC2", "TCS"),
                      kTimeout);
        v.place_order(order("gone", Side::Buy, OrderType::Limit, "1", D("70.00")), kTimeout);
        v.cancel_order("ACC1", "", "gone", kTimeout);
        ModifyRequest m;
        m.client_order_id = "rest";
        m.account_id = "ACC1";
        m.quantity = D("5");
        v.modify_order(m, kTimeout);
        for (int i = 0; i < 40; ++i) {
            clock.advance(std::chrono::milliseconds(100));
            v.step();
        }
        v.place_order(order("m2", Side::Sell, OrderType::Market, "3"), kTimeout);
        orders = describe(v.list_orders("", false, 0));
        fills = describe(v.list_fills("", 0));
        positions = describe(v.positions(""));
        acc1 = describe(v.account("ACC1"));
        acc2 = describe(v.account("ACC2"));
        last = v.quote("INFY", "NSE").last;
    }  // closed: the destructor writes a snapshot

    PaperVenue again(c, clock.env());
    EXPECT_EQ(describe(again.list_orders("", false, 0)), orders);
    EXPECT_EQ(describe(again.list_fills("", 0)), fills);
    EXPECT_EQ(describe(again.positions("")), positions);
    // Account figures include updated_at (now): compare the money only.
    EXPECT_EQ(describe(again.account("ACC1")), acc1);
    EXPECT_EQ(describe(again.account("ACC2")), acc2);
    EXPECT_EQ(again.quote("INFY", "NSE").last, last);
    EXPECT_EQ(again.get_order("ACC1", "", "rest").status, OrderStatus::Open);
    EXPECT_EQ(again.get_order("ACC1", "", "rest").quantity, D("5"));
    EXPECT_EQ(again.ticks(), 40u);

    // Ids continue, the open order still works, duplicates are still refused.
    std::size_t order_count = again.list_orders("", false, 0).size();
    std::size_t fill_count = again.list_fills("", 0).size();
    OrderReport next = again.place_order(order("m3", Side::Buy, OrderType::Market, "1"), kTimeout);
    EXPECT_EQ(next.broker_order_id, "P-" + std::to_string(order_count + 1));
    std::vector<Fill> all = again.list_fills("", 0);
    EXPECT_EQ(all.back().broker_trade_id, "PT-" + std::to_string(fill_count + 1));
    EXPECT_THROW(again.place_order(order("m1", Side::Buy, OrderType::Market, "1"), kTimeout),
                 VenueError);
    EXPECT_EQ(again.cancel_order("ACC1", "", "rest", kTimeout).status, OrderStatus::Cancelled);
}

TEST(PaperJournal, StateSurvivesACrashWithoutASnapshot) {
    TempDir dir;
    ManualClock clock;
    VenueConfig c = base_config();
    c.journal_path = dir.file("crash.journal");
    c.journal_snapshot_ticks = 1000000;
    std::string orders, fills;
    {
        PaperVenue v(c, clock.env());
        v.place_order(order("a", Side::Buy, OrderType::Market, "4"), kTimeout);
        v.step(25);
        v.place_order(order("b", Side::Sell, OrderType::Market, "1"), kTimeout);
        orders = describe(v.list_orders("", false, 0));
        fills = describe(v.list_fills("", 0));
        // Simulate a crash: copy the file before the destructor writes its snapshot.
        std::ofstream(dir.file("copy.journal"), std::ios::binary) << read_file(c.journal_path);
    }
    c.journal_path = dir.file("copy.journal");
    PaperVenue again(c, clock.env());
    EXPECT_EQ(describe(again.list_orders("", false, 0)), orders);
    EXPECT_EQ(describe(again.list_fills("", 0)), fills);
    EXPECT_EQ(again.account("ACC1").cash, [&] {
        Decimal cash = D("1000000");
        for (const Fill& f : again.list_fills("", 0))
            cash = f.side == Side::Buy ? cash - f.quantity * f.price : cash + f.quantity * f.price;
        return cash;
    }());
    EXPECT_EQ(
        again.place_order(order("c", Side::Buy, OrderType::Market, "1"), kTimeout).broker_order_id,
        "P-3");
}

TEST(PaperJournal, ATornLastLineIsCutAndReported) {
    TempDir dir;
    ManualClock clock;
    VenueConfig c = base_config();
    c.journal_path = dir.file("torn.journal");
    {
        PaperVenue v(c, clock.env());
        v.place_order(order("a", Side::Buy, OrderType::Market, "1"), kTimeout);
    }
    {
        std::ofstream out(c.journal_path, std::ios::app | std::ios::binary);
        out << "O\tev=created\tn=9\tcid=half";  // no newline: a write cut by a crash
    }
    PaperVenue again(c, clock.env());
    EXPECT_EQ(again.list_orders("", false, 0).size(), 1u);
    ASSERT_FALSE(clock.warnings().empty());
    EXPECT_NE(clock.warnings()[0].find("torn"), std::string::npos);
    again.place_order(order("b", Side::Buy, OrderType::Market, "1"), kTimeout);
    std::string text = read_file(c.journal_path);
    EXPECT_EQ(text.find("cid=half"), std::string::npos);
}

TEST(PaperJournal, AnOrderBehindItsFillsIsRepairedOnReplay) {
    TempDir dir;
    ManualClock clock;
    VenueConfig c = base_config();
    c.journal_path = dir.file("cut.journal");
    {
        PaperVenue v(c, clock.env());
        v.place_order(order("a", Side::Buy, OrderType::Market, "3"), kTimeout);
    }
    // Drop every line after the fill: the crash came before the order's FILLED snapshot.
    std::string text = read_file(c.journal_path);
    size_t fill = text.find("\nF\t");
    ASSERT_NE(fill, std::string::npos);
    size_t end = text.find('\n', fill + 1);
    std::ofstream(c.journal_path, std::ios::binary | std::ios::trunc) << text.substr(0, end + 1);
    PaperVenue again(c, clock.env());
    OrderReport r = again.get_order("ACC1", "", "a");
    EXPECT_EQ(r.status, OrderStatus::Filled);
    EXPECT_TRUE(r.filled_quantity == D("3"));
    EXPECT_TRUE(*r.average_fill_price == D("100.00"));
    EXPECT_TRUE(again.list_orders("ACC1", true, 0).empty());
    ASSERT_FALSE(clock.warnings().empty());
    EXPECT_NE(clock.warnings()[0].find("repaired"), std::string::npos);
}

TEST(PaperJournal, ACorruptJournalRefusesToStart) {
    TempDir dir;
    VenueConfig c = base_config();
    c.journal_path = dir.file("bad.journal");
    std::ofstream(c.journal_path) << "this is not a journal\n";
    try {
        PaperVenue v(c);
        FAIL() << "a corrupt journal was accepted";
    } catch (const VenueError& e) {
        EXPECT_EQ(e.status(), Status::Internal);
        EXPECT_NE(std::string(e.what()).find("bad.journal"), std::string::npos) << e.what();
    }
}

TEST(PaperJournal, ASecondInstanceOnTheSameJournalIsRefused) {
    TempDir dir;
    VenueConfig c = base_config();
    c.journal_path = dir.file("busy.journal");
    PaperVenue first(c);
    try {
        PaperVenue second(c);
        FAIL() << "two venues share a journal";
    } catch (const VenueError& e) {
        EXPECT_EQ(e.status(), Status::Internal);
        EXPECT_NE(std::string(e.what()).find("in use"), std::string::npos) << e.what();
    }
}

TEST(PaperJournal, NewConfigAccountsAreOpenedAndOldOnesKeepTheirCash) {
    TempDir dir;
    ManualClock clock;
    VenueConfig c = base_config();
    c.journal_path = dir.file("acc.journal");
    c.max_steps_per_tick = 0;
    {
        PaperVenue v(c, clock.env());
        v.place_order(order("a", Side::Buy, OrderType::Market, "1"), kTimeout);
    }
    c.accounts = {"ACC1", "NEW"};
    c.initial_cash = D("5000");
    PaperVenue again(c, clock.env());
    EXPECT_TRUE(again.account("ACC1").cash == D("999900.00"));
    EXPECT_TRUE(again.account("NEW").cash == D("5000"));
}


// Two accounts, a journal, and a minute of history in memory.
VenueConfig history_config(const TempDir& dir) {
    VenueConfig c = base_config();
    c.accounts = {"ACC1", "ACC2"};
    c.journal_path = dir.file("paper.journal");
    c.history = std::chrono::seconds(60);
    return c;
}

// ---- history (VenueConfig::history): ended orders and fills leave memory, the journal keeps them

TEST(PaperHistory, EndedOrdersAndFillsOlderThanTheHistoryAreForgottenOpenOnesStay) {
    ManualClock clock;
    VenueConfig c = base_config();
    c.history = std::chrono::seconds(60);
    PaperVenue v(c, clock.env());
    v.place_order(order("filled", Side::Buy, OrderType::Market, "10"), kTimeout);
    v.place_order(order("resting", Side::Buy, OrderType::Limit, "3", D("80.00")), kTimeout);
    v.place_order(order("gone", Side::Buy, OrderType::Limit, "1", D("70.00")), kTimeout);
    v.cancel_order("ACC1", "", "gone", kTimeout);
    clock.advance(std::chrono::milliseconds(30000));
    v.place_order(order("later", Side::Sell, OrderType::Market, "4"), kTimeout);
    ASSERT_EQ(v.list_orders("", false, 0).size(), 4u);
    ASSERT_EQ(v.list_fills("", 0).size(), 2u);

    // 61 s after the first ones: the next call forgets them; "later" is 31 s old and stays.
    clock.advance(std::chrono::milliseconds(31000));
    v.step();
    std::vector<OrderReport> orders = v.list_orders("", false, 0);
    ASSERT_EQ(orders.size(), 2u);
    EXPECT_EQ(orders[0].client_order_id, "resting");  // open: never forgotten
    EXPECT_EQ(orders[1].client_order_id, "later");
    std::vector<Fill> fills = v.list_fills("", 0);
    ASSERT_EQ(fills.size(), 1u);
    EXPECT_EQ(fills[0].client_order_id, "later");
    EXPECT_THROW(v.get_order("ACC1", "", "filled"), VenueError);
    EXPECT_THROW(v.get_order("ACC1", "P-3", ""), VenueError);
    // The books keep what the forgotten fills did: 10 bought, 4 sold.
    std::vector<Position> ps = v.positions("ACC1");
    ASSERT_EQ(ps.size(), 1u);
    EXPECT_EQ(ps[0].quantity, D("6"));
    // Numbers go on; the open order still works.
    EXPECT_EQ(v.place_order(order("next", Side::Buy, OrderType::Market, "1"), kTimeout)
                  .broker_order_id,
              "P-5");
    EXPECT_EQ(v.cancel_order("ACC1", "", "resting", kTimeout).status, OrderStatus::Cancelled);
}

TEST(PaperHistory, NoHistorySetKeepsEverything) {
    ManualClock clock;
    PaperVenue v(base_config(), clock.env());
    v.place_order(order("filled", Side::Buy, OrderType::Market, "10"), kTimeout);
    clock.advance(std::chrono::milliseconds(86400LL * 1000 * 30));
    v.step();
    v.place_order(order("later", Side::Buy, OrderType::Market, "1"), kTimeout);
    EXPECT_EQ(v.list_orders("", false, 0).size(), 2u);
    EXPECT_EQ(v.list_fills("", 0).size(), 2u);
    EXPECT_EQ(v.get_order("ACC1", "", "filled").status, OrderStatus::Filled);
}

TEST(PaperHistory, AReplayedJournalHoldsOnlyTheHistoryInMemoryAndReadsTheRestBack) {
    TempDir dir;
    ManualClock clock;
    VenueConfig c = base_config();
    c.journal_path = dir.file("paper.journal");
    std::string positions, orders, fills;
    {
        PaperVenue v(c, clock.env());
        v.place_order(order("old", Side::Buy, OrderType::Market, "10"), kTimeout);
        v.place_order(order("resting", Side::Buy, OrderType::Limit, "3", D("80.00")), kTimeout);
        clock.advance(std::chrono::milliseconds(120000));
        v.place_order(order("new", Side::Sell, OrderType::Market, "4"), kTimeout);
        positions = describe(v.positions(""));
        orders = describe(v.list_orders("", false, 0));
        fills = describe(v.list_fills("", 0));
    }
    c.history = std::chrono::seconds(60);
    PaperVenue again(c, clock.env());
    // Memory holds the open order and the last minute; "old" and its fill are in the journal.
    EXPECT_EQ(again.held().orders, 2u);
    EXPECT_EQ(again.held().fills, 1u);
    EXPECT_EQ(describe(again.positions("")), positions);
    EXPECT_EQ(describe(again.list_orders("", false, 0)), orders);
    EXPECT_EQ(describe(again.list_fills("", 0)), fills);
    EXPECT_EQ(again.get_order("ACC1", "", "old").status, OrderStatus::Filled);
    EXPECT_EQ(again.get_order("", "P-1", "").client_order_id, "old");
    EXPECT_EQ(again.held().orders, 2u);  // read back, not taken into memory
}

TEST(PaperHistory, WithAJournalWhatMemoryForgotIsFoundListedAndItsClientIdStaysTaken) {
    TempDir dir;
    ManualClock clock;
    VenueConfig c = history_config(dir);
    PaperVenue v(c, clock.env());
    v.place_order(order("filled", Side::Buy, OrderType::Market, "10"), kTimeout);
    v.place_order(order("resting", Side::Buy, OrderType::Limit, "3", D("80.00")), kTimeout);
    v.place_order(order("gone", Side::Buy, OrderType::Limit, "1", D("70.00")), kTimeout);
    v.cancel_order("ACC1", "", "gone", kTimeout);
    v.place_order(order("twin", Side::Buy, OrderType::Market, "1", std::nullopt, std::nullopt,
                        TimeInForce::Day, "ACC2"),
                  kTimeout);
    clock.advance(std::chrono::milliseconds(30000));
    v.place_order(order("later", Side::Sell, OrderType::Market, "4"), kTimeout);
    const std::string all_orders = describe(v.list_orders("", false, 0));
    const std::string all_fills = describe(v.list_fills("", 0));
    const int64_t later_at = v.get_order("ACC1", "", "later").updated_at_ns;

    clock.advance(std::chrono::milliseconds(31000));
    v.step();
    ASSERT_EQ(v.held().orders, 2u);  // "resting" (open) and "later"
    ASSERT_EQ(v.held().fills, 1u);

    // Found by client order id and by broker id, as they were.
    OrderReport filled = v.get_order("ACC1", "", "filled");
    EXPECT_EQ(filled.status, OrderStatus::Filled);
    EXPECT_TRUE(filled.filled_quantity == D("10"));
    EXPECT_EQ(v.get_order("ACC1", "P-3", "").status, OrderStatus::Cancelled);
    EXPECT_EQ(v.get_order("", "", "twin").account_id, "ACC2");
    EXPECT_THROW(v.get_order("ACC2", "P-1", ""), VenueError);  // another account's
    EXPECT_THROW(v.get_order("ACC1", "", "twin"), VenueError);
    // Listed whole from the start, and only the recent part from a recent time.
    EXPECT_EQ(describe(v.list_orders("", false, 0)), all_orders);
    EXPECT_EQ(describe(v.list_fills("", 0)), all_fills);
    std::vector<OrderReport> recent = v.list_orders("ACC1", false, later_at);
    ASSERT_EQ(recent.size(), 1u);
    EXPECT_EQ(recent[0].client_order_id, "later");
    // Pages of one walk the same list.
    std::string paged;
    std::string cursor;
    do {
        ReportPage<OrderReport> page = v.list_orders_page("", false, 0, cursor, 1);
        paged += describe(page.items);
        cursor = page.next_cursor;
    } while (!cursor.empty());
    EXPECT_EQ(paged, all_orders);
    std::string paged_fills;
    do {
        ReportPage<Fill> page = v.list_fills_page("", 0, cursor, 1);
        paged_fills += describe(page.items);
        cursor = page.next_cursor;
    } while (!cursor.empty());
    EXPECT_EQ(paged_fills, all_fills);

    // Its client order id stays taken (in its account only).
    try {
        v.place_order(order("filled", Side::Buy, OrderType::Market, "1"), kTimeout);
        ADD_FAILURE() << "a forgotten order's client order id was taken again";
    } catch (const VenueError& e) {
        EXPECT_EQ(e.status(), Status::Rejected);
        EXPECT_NE(std::string(e.what()).find("duplicate client order id"), std::string::npos);
    }
    EXPECT_EQ(v.place_order(order("filled", Side::Buy, OrderType::Market, "1", std::nullopt,
                                  std::nullopt, TimeInForce::Day, "ACC2"),
                            kTimeout)
                  .status,
              OrderStatus::Filled);
    // A cancel of a forgotten order is refused as it was, and the refusal is kept.
    try {
        v.cancel_order("ACC1", "", "filled", kTimeout);
        ADD_FAILURE() << "a filled order was cancelled";
    } catch (const VenueError& e) {
        EXPECT_EQ(e.status(), Status::Rejected);
    }
    EXPECT_NE(v.get_order("ACC1", "P-1", "").cancel_reject_reason.find("already FILLED"),
              std::string::npos);
    EXPECT_EQ(v.held().orders, 3u);  // plus ACC2's new order: the refusal took nothing back in
    EXPECT_THROW(v.get_order("ACC1", "", "never"), VenueError);
}

TEST(PaperHistory, ListingOneAccountReadsNoForgottenLineOfAnother) {
    TempDir dir;
    ManualClock clock;
    VenueConfig c = history_config(dir);
    PaperVenue v(c, clock.env());
    for (int i = 0; i < 600; ++i)
        v.place_order(order("a" + std::to_string(i), Side::Buy, OrderType::Market, "1"), kTimeout);
    v.place_order(order("b", Side::Buy, OrderType::Market, "2", std::nullopt, std::nullopt,
                        TimeInForce::Day, "ACC2"),
                  kTimeout);
    clock.advance(std::chrono::milliseconds(61000));
    v.step();
    ASSERT_EQ(v.held().orders, 0u);
    // Spoil ACC1's lines in place (same length): reading any of them now fails.
    std::string text = read_file(c.journal_path);
    for (size_t at = 0; (at = text.find("acc=ACC1\t", at)) != std::string::npos; ++at) {
        size_t line = text.rfind('\n', at) + 1;
        size_t side = text.find("side=BUY", line);
        ASSERT_NE(side, std::string::npos);
        text[side + 7] = 'X';
    }
    {
        std::fstream f(c.journal_path, std::ios::in | std::ios::out | std::ios::binary);
        f.write(text.data(), static_cast<std::streamsize>(text.size()));
    }
    std::vector<OrderReport> orders = v.list_orders("ACC2", false, 0);
    ASSERT_EQ(orders.size(), 1u);
    EXPECT_EQ(orders[0].client_order_id, "b");
    std::vector<Fill> fills = v.list_fills("ACC2", 0);
    ASSERT_EQ(fills.size(), 1u);
    EXPECT_EQ(fills[0].client_order_id, "b");
    // ACC1's own listing does read them, and says the journal is broken.
    try {
        v.list_orders("ACC1", false, 0);
        ADD_FAILURE() << "a spoilt journal line was read without an error";
    } catch (const VenueError& e) {
        EXPECT_EQ(e.status(), Status::Internal);
    }
}

TEST(PaperHistory, AReplayForgetsAsItGoesAndStillRepairsAnOrderBehindItsFills) {
    TempDir dir;
    ManualClock clock;
    VenueConfig c = base_config();
    c.journal_path = dir.file("long.journal");
    constexpr int kOrders = 3000;  // three lines each: a replay forgets several times on the way
    {
        PaperVenue v(c, clock.env());
        v.place_order(order("lagging", Side::Buy, OrderType::Market, "3"), kTimeout);
        for (int i = 0; i < kOrders; ++i) {
            clock.advance(std::chrono::milliseconds(100));
            v.place_order(order("o" + std::to_string(i), Side::Buy, OrderType::Market, "1"),
                          kTimeout);
        }
    }
    // "lagging"'s FILLED line is lost (its fill's line stays): the replay must repair it from a
    // fill memory forgot long before the replay's end.
    std::string text = read_file(c.journal_path);
    size_t filled = text.find("ev=filled\tn=1\t");
    ASSERT_NE(filled, std::string::npos);
    size_t begin = text.rfind('\n', filled) + 1;
    text.erase(begin, text.find('\n', filled) + 1 - begin);
    std::ofstream(c.journal_path, std::ios::binary | std::ios::trunc) << text;

    clock.advance(std::chrono::milliseconds(10000));
    c.history = std::chrono::seconds(60);
    PaperVenue again(c, clock.env());
    OrderReport r = again.get_order("ACC1", "", "lagging");
    EXPECT_EQ(r.status, OrderStatus::Filled);
    EXPECT_TRUE(r.filled_quantity == D("3"));
    bool repaired = false;
    for (const auto& w : clock.warnings()) repaired = repaired || w.find("repaired") != w.npos;
    EXPECT_TRUE(repaired);
    // About the last 500 orders are within the history (a tenth of a second apart).
    EXPECT_LT(again.held().orders, 700u);
    EXPECT_EQ(again.list_orders("", false, 0).size(), static_cast<size_t>(kOrders + 1));
    EXPECT_EQ(again.list_fills("", 0).size(), static_cast<size_t>(kOrders + 1));
    std::vector<Position> ps = again.positions("ACC1");
    ASSERT_EQ(ps.size(), 1u);
    EXPECT_TRUE(ps[0].quantity == Decimal::from_int(kOrders + 3));
    EXPECT_EQ(again.get_order("ACC1", "", "o0").status, OrderStatus::Filled);
}

TEST(PaperHistory, WithoutAJournalWhatMemoryForgotIsGone) {
    ManualClock clock;
    VenueConfig c = base_config();
    c.history = std::chrono::seconds(60);
    PaperVenue v(c, clock.env());
    v.place_order(order("filled", Side::Buy, OrderType::Market, "10"), kTimeout);
    clock.advance(std::chrono::milliseconds(61000));
    v.step();
    EXPECT_EQ(v.held().orders, 0u);
    EXPECT_THROW(v.get_order("ACC1", "", "filled"), VenueError);
    EXPECT_TRUE(v.list_orders("", false, 0).empty());
    // Its client order id is free again: the venue has no record of it.
    EXPECT_EQ(v.place_order(order("filled", Side::Buy, OrderType::Market, "1"), kTimeout).status,
              OrderStatus::Filled);
}

}  // namespace
}  // namespace ordergate::paper
