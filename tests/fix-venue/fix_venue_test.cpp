// The FIX venue simulator end to end: the real binary on loopback, QuickFIX initiators as
// clients (FIX 4.2 and 4.4), the control port to switch faults, the JSON dump as the oracle.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "fix_test_client.hpp"
#include "json/json.hpp"
#include "ordergate/decimal.hpp"
#include "temp_dir.hpp"
#include "venue_process.hpp"

namespace ordergate::fixtest {
namespace {

using ordergate::testing::TempDir;
using Msgs = std::vector<Received>;

constexpr int kWaitMs = 10000;

class Venue {
  public:
    explicit Venue(std::vector<std::string> args) : args_(std::move(args)) { start(); }
    // Every venue must exit cleanly on SIGTERM (in the sanitizer tree a finding fails here).
    ~Venue() {
        clients_.clear();
        EXPECT_EQ(process_->stop(), 0) << process_->log();
    }
    void start() { process_ = std::make_unique<VenueProcess>(dir_.file("venue"), args_); }
    void stop() { process_->stop(); }
    void restart() { process_->restart(); }
    VenueProcess& process() { return *process_; }
    std::string control(const std::string& line) { return process_->control(line); }
    json::Value dump() {
        std::string answer = control("dump");
        EXPECT_EQ(answer.rfind("OK ", 0), 0u) << answer;
        json::Value v;
        std::string why;
        EXPECT_TRUE(json::parse(answer.substr(3), &v, &why)) << why;
        return v;
    }
    // A started, logged-on client; its store lives under this test's directory.
    FixTestClient& client(const std::string& begin, const std::string& comp) {
        ClientConfig c;
        c.port = process_->port();
        c.begin_string = begin;
        c.comp_id = comp;
        c.data_dir = dir_.file("client-" + comp + "-" + begin);
        clients_.push_back(std::make_unique<FixTestClient>(c));
        clients_.back()->start();
        EXPECT_TRUE(clients_.back()->wait_logged_on(kWaitMs)) << process_->log();
        return *clients_.back();
    }
    std::string dir(const std::string& name) { return dir_.file(name); }

  private:
    TempDir dir_;
    std::vector<std::string> args_;
    std::unique_ptr<VenueProcess> process_;
    std::vector<std::unique_ptr<FixTestClient>> clients_;
};

FieldList order(const std::string& cl, const std::string& sym, const std::string& side,
                const std::string& qty, const std::string& price = "",
                const std::string& tif = "0") {
    FieldList f = {{11, cl},  {21, "1"},
                   {55, sym}, {54, side},
                   {38, qty}, {40, price.empty() ? "1" : "2"},
                   {59, tif}, {60, "20260101-00:00:00"}};
    if (!price.empty()) f.emplace_back(44, price);
    return f;
}

// Execution reports for `cl` (tag 11), in arrival order.
Msgs reports(const FixTestClient& c, const std::string& cl) {
    Msgs out;
    for (const auto& m : c.received())
        if (m.msg_type == "8" && m.get(11) == cl) out.push_back(m);
    return out;
}

// Waits until an ExecutionReport with `tag`=`value` for ClOrdID `cl` arrived; returns it.
Received wait_report(FixTestClient& c, const std::string& cl, int tag, const std::string& value) {
    Received found;
    bool ok = c.wait_for(
        [&](const Msgs& ms) {
            for (const auto& m : ms)
                if (m.msg_type == "8" && m.get(11) == cl && m.get(tag) == value) {
                    found = m;
                    return true;
                }
            return false;
        },
        kWaitMs);
    EXPECT_TRUE(ok) << "no report for " << cl << " with " << tag << "=" << value;
    return found;
}

Received wait_type(FixTestClient& c, const std::string& type, size_t nth = 1) {
    Received found;
    bool ok = c.wait_for(
        [&](const Msgs& ms) {
            size_t n = 0;
            for (const auto& m : ms)
                if (m.msg_type == type && ++n == nth) {
                    found = m;
                    return true;
                }
            return false;
        },
        kWaitMs);
    EXPECT_TRUE(ok) << "no message of type " << type;
    return found;
}

Decimal dec(const std::string& s) { return Decimal::must_parse(s); }

const json::Value* order_in_dump(const json::Value& dump, const std::string& order_id) {
    for (const auto& o : dump.find("orders")->items())
        if (o.find("order_id")->text() == order_id) return &o;
    return nullptr;
}

// ---- flows ----------------------------------------------------------------------------------

TEST(FixVenueFlows, RestingOrderCrossedByAnotherSessionFillsBothOn42And44) {
    Venue v({"--session", "FIX.4.4:SELLER", "--session", "FIX.4.2:BUYER", "--symbol", "ACME"});
    auto& seller = v.client("FIX.4.4", "SELLER");
    auto& buyer = v.client("FIX.4.2", "BUYER");
    ASSERT_TRUE(seller.send("D", order("S1", "ACME", "2", "100", "10.50")));
    Received ack = wait_report(seller, "S1", 150, "0");
    EXPECT_EQ(ack.get(39), "0");
    EXPECT_EQ(ack.get(151), "100");
    EXPECT_EQ(ack.get(14), "0");
    EXPECT_FALSE(ack.has(20));  // 4.4 has no ExecTransType

    ASSERT_TRUE(buyer.send("D", order("B1", "ACME", "1", "60", "11")));
    Received bfill = wait_report(buyer, "B1", 39, "2");
    EXPECT_EQ(bfill.get(20), "0");   // 4.2: ExecTransType New
    EXPECT_EQ(bfill.get(150), "2");  // 4.2: ExecType Fill
    EXPECT_EQ(dec(bfill.get(32)), dec("60"));
    EXPECT_EQ(dec(bfill.get(31)), dec("10.50"));  // the resting order's price
    EXPECT_EQ(dec(bfill.get(6)), dec("10.50"));
    EXPECT_EQ(bfill.get(151), "0");

    Received sfill = wait_report(seller, "S1", 150, "F");  // 4.4: ExecType Trade
    EXPECT_EQ(sfill.get(39), "1");
    EXPECT_EQ(dec(sfill.get(14)), dec("60"));
    EXPECT_EQ(dec(sfill.get(151)), dec("40"));
    EXPECT_NE(sfill.get(17), bfill.get(17));  // every report its own ExecID
    EXPECT_EQ(sfill.get(37), ack.get(37));

    json::Value d = v.dump();
    ASSERT_EQ(d.find("trades")->items().size(), 1u);
    const json::Value& t = d.find("trades")->items()[0];
    EXPECT_EQ(t.find("qty")->text(), "60");
    EXPECT_EQ(t.find("px")->text(), "10.50");
    EXPECT_EQ(t.find("buy")->find("exec_id")->text(), bfill.get(17));
    EXPECT_EQ(t.find("sell")->find("exec_id")->text(), sfill.get(17));
    const json::Value* so = order_in_dump(d, ack.get(37));
    ASSERT_NE(so, nullptr);
    EXPECT_EQ(so->find("cum_qty")->text(), sfill.get(14));
    EXPECT_EQ(so->find("leaves_qty")->text(), sfill.get(151));
    EXPECT_EQ(so->find("avg_px")->text(), sfill.get(6));
}

TEST(FixVenueFlows, LiquidityProviderFillsInSlicesAndAwayOrderRests) {
    Venue v({"--session", "FIX.4.4:C1", "--price", "ACME=100.00", "--lp-slice", "30"});
    auto& c = v.client("FIX.4.4", "C1");
    ASSERT_TRUE(c.send("D", order("M1", "ACME", "1", "100")));  // market
    wait_report(c, "M1", 39, "2");
    Msgs rs = reports(c, "M1");
    ASSERT_EQ(rs.size(), 5u);  // New + 30 + 30 + 30 + 10
    EXPECT_EQ(rs[0].get(150), "0");
    std::vector<std::string> slices;
    std::set<std::string> exec_ids;
    for (size_t i = 1; i < rs.size(); ++i) {
        EXPECT_EQ(rs[i].get(150), "F");
        slices.push_back(rs[i].get(32));
        exec_ids.insert(rs[i].get(17));
    }
    EXPECT_EQ(slices, (std::vector<std::string>{"30", "30", "30", "10"}));
    EXPECT_EQ(exec_ids.size(), 4u);
    EXPECT_EQ(rs[3].get(39), "1");
    EXPECT_EQ(dec(rs[4].get(6)), dec("100"));

    ASSERT_TRUE(c.send("D", order("L1", "ACME", "1", "10", "99.5")));  // below the offer
    Received ack = wait_report(c, "L1", 150, "0");
    ASSERT_TRUE(c.send("H", {{11, "L1"}, {55, "ACME"}, {54, "1"}, {790, "Q1"}}));
    Received st = wait_report(c, "L1", 150, "I");
    EXPECT_EQ(st.get(17), "0");  // a status answer is no execution
    EXPECT_EQ(st.get(39), "0");
    EXPECT_EQ(st.get(790), "Q1");
    EXPECT_EQ(st.get(151), "10");

    // The provider's price moves through the resting order: it trades.
    EXPECT_EQ(v.control("price ACME 99.25"), "OK");
    Received fill = wait_report(c, "L1", 39, "2");
    EXPECT_EQ(dec(fill.get(31)), dec("99.25"));
    EXPECT_EQ(fill.get(37), ack.get(37));
}

TEST(FixVenueFlows, ReplaceCancelAndCancelRejectsOn44) {
    Venue v({"--session", "FIX.4.4:C1", "--symbol", "ACME"});
    auto& c = v.client("FIX.4.4", "C1");
    ASSERT_TRUE(c.send("D", order("A1", "ACME", "1", "100", "10")));
    Received ack = wait_report(c, "A1", 150, "0");
    ASSERT_TRUE(c.send("G", {{41, "A1"},
                             {11, "A2"},
                             {21, "1"},
                             {55, "ACME"},
                             {54, "1"},
                             {38, "80"},
                             {40, "2"},
                             {44, "10.25"},
                             {60, "20260101-00:00:00"}}));
    Received rep = wait_report(c, "A2", 150, "5");
    EXPECT_EQ(rep.get(41), "A1");
    EXPECT_EQ(rep.get(37), ack.get(37));
    EXPECT_EQ(dec(rep.get(38)), dec("80"));
    EXPECT_EQ(dec(rep.get(44)), dec("10.25"));
    EXPECT_EQ(rep.get(39), "0");

    ASSERT_TRUE(
        c.send("F", {{41, "A2"}, {11, "A3"}, {55, "ACME"}, {54, "1"}, {60, "20260101-00:00:00"}}));
    Received cxl = wait_report(c, "A3", 150, "4");
    EXPECT_EQ(cxl.get(41), "A2");
    EXPECT_EQ(cxl.get(39), "4");
    EXPECT_EQ(cxl.get(151), "0");

    // Too late (done) and unknown: OrderCancelReject with the reason and what it answers.
    ASSERT_TRUE(c.send("F", {{41, "A3"}, {11, "A4"}, {55, "ACME"}, {54, "1"}}));
    Received rej = wait_type(c, "9", 1);
    EXPECT_EQ(rej.get(11), "A4");
    EXPECT_EQ(rej.get(434), "1");
    EXPECT_EQ(rej.get(102), "0");
    EXPECT_EQ(rej.get(39), "4");
    EXPECT_FALSE(rej.get(58).empty());
    ASSERT_TRUE(c.send(
        "G", {{41, "NOPE"}, {11, "A5"}, {55, "ACME"}, {54, "1"}, {38, "1"}, {40, "2"}, {44, "1"}}));
    Received rej2 = wait_type(c, "9", 2);
    EXPECT_EQ(rej2.get(434), "2");
    EXPECT_EQ(rej2.get(102), "1");
    EXPECT_EQ(rej2.get(37), "NONE");

    json::Value d = v.dump();
    const json::Value* o = order_in_dump(d, ack.get(37));
    ASSERT_NE(o, nullptr);
    std::vector<std::string> chain;
    for (const auto& id : o->find("cl_ord_ids")->items()) chain.push_back(id.text());
    EXPECT_EQ(chain, (std::vector<std::string>{"A1", "A2", "A3"}));
    EXPECT_EQ(o->find("ord_status")->text(), "4");
}

TEST(FixVenueFlows, ReplaceCancelAndRejectsOn42) {
    Venue v({"--session", "FIX.4.2:C2", "--symbol", "ACME", "--price", "ACME=50"});
    auto& c = v.client("FIX.4.2", "C2");
    ASSERT_TRUE(c.send("D", order("R1", "ACME", "2", "10", "55")));
    Received ack = wait_report(c, "R1", 150, "0");
    EXPECT_EQ(ack.get(20), "0");
    ASSERT_TRUE(c.send("G", {{41, "R1"},
                             {11, "R2"},
                             {21, "1"},
                             {55, "ACME"},
                             {54, "2"},
                             {38, "10"},
                             {40, "2"},
                             {44, "56"}}));
    Received rep = wait_report(c, "R2", 150, "5");
    EXPECT_EQ(rep.get(20), "0");
    EXPECT_EQ(rep.get(41), "R1");
    ASSERT_TRUE(c.send("F", {{41, "R2"}, {11, "R3"}, {55, "ACME"}, {54, "2"}}));
    wait_report(c, "R3", 150, "4");

    // Unknown symbol and a bad quantity: ExecType 8 with a reason.
    ASSERT_TRUE(c.send("D", order("X1", "NOPE", "1", "10", "1")));
    Received r1 = wait_report(c, "X1", 150, "8");
    EXPECT_EQ(r1.get(39), "8");
    EXPECT_EQ(r1.get(103), "1");
    EXPECT_NE(r1.get(58).find("unknown symbol"), std::string::npos);
    ASSERT_TRUE(c.send("D", order("X2", "ACME", "1", "-5", "1")));
    Received r2 = wait_report(c, "X2", 150, "8");
    EXPECT_NE(r2.get(58).find("OrderQty"), std::string::npos);
    ASSERT_TRUE(c.send("D", order("X3", "ACME", "1", "5", "abc")));
    Received r3 = wait_report(c, "X3", 150, "8");
    EXPECT_NE(r3.get(58).find("Price"), std::string::npos);
    ASSERT_TRUE(c.send("D", order("R1", "ACME", "1", "5", "1")));  // ClOrdID already used
    EXPECT_EQ(wait_report(c, "R1", 150, "8").get(103), "6");
    // The same order resent with PossResend=Y: where it stands, not a second order.
    FieldList resend = order("R1", "ACME", "2", "10", "55");
    resend.emplace_back(97, "Y");
    ASSERT_TRUE(c.send("D", resend));
    Received where = wait_report(c, "R1", 20, "3");
    EXPECT_EQ(where.get(39), "4");
    EXPECT_EQ(where.get(37), ack.get(37));

    // A client's BusinessMessageReject is not answered; 4.2 has no OrderMassStatusRequest: a
    // business reject (the first and only one).
    ASSERT_TRUE(c.send("j", {{45, "1"}, {372, "8"}, {380, "0"}, {58, "test"}}));
    ASSERT_TRUE(c.send("AF", {{584, "M1"}, {585, "7"}}));
    Received j = wait_type(c, "j");
    EXPECT_EQ(j.get(372), "AF");
    EXPECT_EQ(j.get(380), "3");

    // Status of a filled order, 4.2 style: ExecTransType 3, ExecType = OrdStatus.
    ASSERT_TRUE(c.send("D", order("F1", "ACME", "1", "4", "51")));
    wait_report(c, "F1", 39, "2");
    ASSERT_TRUE(c.send("H", {{11, "F1"}, {55, "ACME"}, {54, "1"}}));
    Received st = wait_report(c, "F1", 20, "3");
    EXPECT_EQ(st.get(150), "2");
    EXPECT_EQ(st.get(17), "0");
    ASSERT_TRUE(c.send("H", {{11, "GHOST"}, {55, "ACME"}, {54, "1"}}));
    Received unknown = wait_report(c, "GHOST", 20, "3");
    EXPECT_EQ(unknown.get(39), "8");
    EXPECT_EQ(unknown.get(103), "5");
}

TEST(FixVenueFlows, MassStatusOn44ListsOpenOrders) {
    Venue v({"--session", "FIX.4.4:C1", "--session", "FIX.4.4:C9", "--symbol", "ACME", "--symbol",
             "INIT"});
    auto& c = v.client("FIX.4.4", "C1");
    auto& other = v.client("FIX.4.4", "C9");
    ASSERT_TRUE(c.send("D", order("O1", "ACME", "1", "5", "1")));
    ASSERT_TRUE(c.send("D", order("O2", "INIT", "2", "7", "9")));
    ASSERT_TRUE(other.send("D", order("Z1", "ACME", "1", "5", "1")));  // not C1's
    wait_report(c, "O2", 150, "0");
    wait_report(other, "Z1", 150, "0");
    ASSERT_TRUE(c.send("AF", {{584, "MS1"}, {585, "7"}}));
    ASSERT_TRUE(c.wait_for(
        [](const Msgs& ms) {
            for (const auto& m : ms)
                if (m.get(584) == "MS1" && m.get(912) == "Y") return true;
            return false;
        },
        kWaitMs));
    std::vector<Received> rs;
    for (const auto& m : c.received())
        if (m.get(584) == "MS1") rs.push_back(m);
    ASSERT_EQ(rs.size(), 2u);
    EXPECT_EQ(rs[0].get(11), "O1");
    EXPECT_EQ(rs[1].get(11), "O2");
    for (const auto& r : rs) {
        EXPECT_EQ(r.get(150), "I");
        EXPECT_EQ(r.get(17), "0");
        EXPECT_EQ(r.get(911), "2");
    }
    EXPECT_EQ(rs[0].get(912), "N");

    ASSERT_TRUE(c.send("AF", {{584, "MS2"}, {585, "1"}, {55, "INIT"}}));
    Received one = wait_report(c, "O2", 584, "MS2");
    EXPECT_EQ(one.get(911), "1");

    // Nothing open for the filter: one report that says so.
    ASSERT_TRUE(other.send("AF", {{584, "MS3"}, {585, "1"}, {55, "INIT"}}));
    Received none;
    ASSERT_TRUE(other.wait_for(
        [&](const Msgs& ms) {
            for (const auto& m : ms)
                if (m.get(584) == "MS3") {
                    none = m;
                    return true;
                }
            return false;
        },
        kWaitMs));
    EXPECT_EQ(none.get(37), "NONE");
    EXPECT_EQ(none.get(911), "0");
    EXPECT_EQ(none.get(912), "Y");
    EXPECT_EQ(none.get(150), "I");
}

// Two sessions of one firm (two gateways of one firm): each sees the other's orders in status
// and mass status, and may cancel or replace them; answers go to the session that asked, later
// reports to the session that last acted on the order. A session of another firm sees none of it.
TEST(FixVenueFlows, SessionsOfOneFirmShareTheirOrdersOthersDoNot) {
    Venue v({"--session", "FIX.4.4:GA", "--session", "FIX.4.2:GB", "--session", "FIX.4.4:GX",
             "--firm", "F1=GA,GB", "--price", "ACME=100"});
    auto& a = v.client("FIX.4.4", "GA");
    auto& b = v.client("FIX.4.2", "GB");
    auto& x = v.client("FIX.4.4", "GX");
    FieldList o1 = order("A1", "ACME", "1", "5", "90");
    o1.emplace_back(1, "ACC7");
    ASSERT_TRUE(a.send("D", o1));
    Received ack = wait_report(a, "A1", 150, "0");
    EXPECT_EQ(ack.get(1), "ACC7");  // the Account is echoed
    const std::string order_id = ack.get(37);

    // Status by ClOrdID from the firm's other session (4.2), answered to it.
    ASSERT_TRUE(b.send("H", {{11, "A1"}, {55, "ACME"}, {54, "1"}}));
    Received st = wait_report(b, "A1", 20, "3");
    EXPECT_EQ(st.get(37), order_id);
    EXPECT_EQ(st.get(39), "0");
    EXPECT_EQ(st.get(1), "ACC7");
    // Another firm's session: unknown.
    ASSERT_TRUE(x.send("H", {{11, "A1"}, {790, "S1"}, {55, "ACME"}, {54, "1"}}));
    EXPECT_EQ(wait_report(x, "A1", 790, "S1").get(103), "5");
    // Mass status of the firm (4.4) from GA names it; GX's names nothing.
    ASSERT_TRUE(x.send("AF", {{584, "MX"}, {585, "7"}}));
    Received none;
    ASSERT_TRUE(x.wait_for(
        [&](const Msgs& ms) {
            for (const auto& m : ms)
                if (m.get(584) == "MX") {
                    none = m;
                    return true;
                }
            return false;
        },
        kWaitMs));
    EXPECT_EQ(none.get(911), "0");
    ASSERT_TRUE(a.send("AF", {{584, "MA"}, {585, "7"}}));
    EXPECT_EQ(wait_report(a, "A1", 584, "MA").get(911), "1");

    // GB replaces GA's order: the answer goes to GB, and from then on its fills go to GB.
    ASSERT_TRUE(b.send("G", {{11, "B1"},
                             {41, "A1"},
                             {37, order_id},
                             {21, "1"},
                             {55, "ACME"},
                             {54, "1"},
                             {38, "5"},
                             {40, "2"},
                             {44, "95"},
                             {60, "20260101-00:00:00"}}));
    Received replaced = wait_report(b, "B1", 150, "5");
    EXPECT_EQ(replaced.get(41), "A1");
    ASSERT_EQ(v.control("price ACME 94").rfind("OK", 0), 0u);
    Received filled = wait_report(b, "B1", 39, "2");
    EXPECT_EQ(filled.get(14), "5");
    for (const auto& m : a.received()) EXPECT_NE(m.get(11), "B1") << "GA got GB's report";
    // The firm's ClOrdIDs are one namespace: GA may not reuse B1.
    ASSERT_TRUE(a.send("D", order("B1", "ACME", "1", "1", "90")));
    EXPECT_EQ(wait_report(a, "B1", 150, "8").get(103), "6");
}

TEST(FixVenueFlows, SeveralSessionsAtOnceTradeAndTheDumpMatchesWhatEachSaw) {
    Venue v({"--session", "FIX.4.4:A", "--session", "FIX.4.4:B", "--session", "FIX.4.2:C",
             "--session", "FIX.4.2:D", "--symbol", "ACME"});
    std::vector<FixTestClient*> cs = {&v.client("FIX.4.4", "A"), &v.client("FIX.4.4", "B"),
                                      &v.client("FIX.4.2", "C"), &v.client("FIX.4.2", "D")};
    // Each sells 10 at 20; then each buys 10 at 21: every buy fills against a resting sell.
    for (size_t i = 0; i < cs.size(); ++i)
        ASSERT_TRUE(cs[i]->send("D", order("S" + std::to_string(i), "ACME", "2", "10", "20")));
    for (size_t i = 0; i < cs.size(); ++i) wait_report(*cs[i], "S" + std::to_string(i), 39, "0");
    for (size_t i = 0; i < cs.size(); ++i)
        ASSERT_TRUE(cs[i]->send("D", order("B" + std::to_string(i), "ACME", "1", "10", "21")));
    for (size_t i = 0; i < cs.size(); ++i) {
        wait_report(*cs[i], "B" + std::to_string(i), 39, "2");
        wait_report(*cs[i], "S" + std::to_string(i), 39, "2");
    }
    json::Value d = v.dump();
    EXPECT_EQ(d.find("trades")->items().size(), 4u);
    // Every fill a client saw is in the dump under its ExecID, with the same quantity.
    std::set<std::string> dump_execs;
    for (const auto& t : d.find("trades")->items()) {
        dump_execs.insert(t.find("buy")->find("exec_id")->text());
        dump_execs.insert(t.find("sell")->find("exec_id")->text());
        EXPECT_EQ(t.find("px")->text(), "20");
    }
    size_t fills = 0;
    for (auto* c : cs)
        for (const auto& m : c->received())
            if (m.msg_type == "8" && !m.get(32).empty()) {
                ++fills;
                EXPECT_TRUE(dump_execs.count(m.get(17))) << m.get(17);
            }
    EXPECT_EQ(fills, 8u);
}

TEST(FixVenueFlows, TimeInForceMarketAndProviderDepth) {
    Venue v(
        {"--session", "FIX.4.4:C1", "--price", "ACME=10", "--lp-depth", "6", "--symbol", "THIN"});
    auto& c = v.client("FIX.4.4", "C1");
    // The provider gives at most 6 per order: a limit order's rest stays open.
    ASSERT_TRUE(c.send("D", order("T1", "ACME", "1", "10", "10")));
    Received part = wait_report(c, "T1", 150, "F");
    EXPECT_EQ(part.get(39), "1");
    EXPECT_EQ(dec(part.get(151)), dec("4"));
    // IOC: 6 trade, the rest is canceled.
    ASSERT_TRUE(c.send("D", order("T2", "ACME", "1", "10", "10", "3")));
    Received ioc = wait_report(c, "T2", 150, "4");
    EXPECT_EQ(dec(ioc.get(14)), dec("6"));
    EXPECT_EQ(ioc.get(151), "0");
    // FOK: 10 cannot all trade (6 from the provider, nothing resting to sell): nothing trades.
    ASSERT_TRUE(c.send("D", order("T3", "ACME", "1", "10", "10", "4")));
    Received fok = wait_report(c, "T3", 150, "4");
    EXPECT_EQ(fok.get(14), "0");
    // A market order with nothing on the other side: canceled with a reason.
    ASSERT_TRUE(c.send("D", order("T4", "THIN", "2", "1")));
    Received mkt = wait_report(c, "T4", 150, "4");
    EXPECT_FALSE(mkt.get(58).empty());
    // End of day: the open DAY order expires.
    EXPECT_EQ(v.control("eod"), "OK");
    Received exp = wait_report(c, "T1", 150, "C");
    EXPECT_EQ(exp.get(39), "C");
    EXPECT_EQ(exp.get(151), "0");
    EXPECT_EQ(dec(exp.get(14)), dec("6"));
}

TEST(FixVenueFlows, PriceThenTimePriorityAndReplaceKeepsOrLosesItsPlace) {
    Venue v({"--session", "FIX.4.4:MK", "--session", "FIX.4.4:TK", "--symbol", "ACME"});
    auto& maker = v.client("FIX.4.4", "MK");
    auto& taker = v.client("FIX.4.4", "TK");
    // Asks: P1 10.10 (first), P2 10.00, P3 10.00, P4 10.00.
    for (const auto& [cl, px] : std::vector<std::pair<std::string, std::string>>{
             {"P1", "10.10"}, {"P2", "10.00"}, {"P3", "10.00"}, {"P4", "10.00"}}) {
        ASSERT_TRUE(maker.send("D", order(cl, "ACME", "2", "5", px)));
        wait_report(maker, cl, 150, "0");
    }
    // P2 grows (loses its place), P3 shrinks to 4 (keeps it): the queue at 10.00 is P3, P4, P2.
    ASSERT_TRUE(maker.send(
        "G",
        {{41, "P2"}, {11, "P2b"}, {55, "ACME"}, {54, "2"}, {38, "6"}, {40, "2"}, {44, "10.00"}}));
    wait_report(maker, "P2b", 150, "5");
    ASSERT_TRUE(maker.send(
        "G",
        {{41, "P3"}, {11, "P3b"}, {55, "ACME"}, {54, "2"}, {38, "4"}, {40, "2"}, {44, "10.00"}}));
    wait_report(maker, "P3b", 150, "5");
    ASSERT_TRUE(taker.send("D", order("BUY", "ACME", "1", "17", "10.10")));
    wait_report(taker, "BUY", 39, "2");
    std::vector<std::string> fills;
    for (const auto& m : taker.received())
        if (m.get(150) == "F") fills.push_back(m.get(32) + "@" + m.get(31));
    EXPECT_EQ(fills, (std::vector<std::string>{"4@10.00", "5@10.00", "6@10.00", "2@10.10"}));
    Received p1 = wait_report(maker, "P1", 150, "F");
    EXPECT_EQ(dec(p1.get(151)), dec("3"));
    Received avg = wait_report(taker, "BUY", 39, "2");
    // (150 + 20.20) / 17 = 10.011764705882..., half-even at 9 decimals.
    EXPECT_EQ(avg.get(6), "10.011764706");
}

// ---- behaviour profiles ------------------------------------------------------------------------

TEST(FixVenueProfiles, NoNewAckCancelOwnClOrdIdIgnoreUnknownCancel) {
    Venue v({"--session", "FIX.4.4:P1", "--price", "ACME=10", "--profile",
             "P1=no-new-ack,cancel-own-clordid,ignore-unknown-cancel"});
    auto& c = v.client("FIX.4.4", "P1");
    ASSERT_TRUE(c.send("D", order("N1", "ACME", "1", "5")));
    wait_report(c, "N1", 39, "2");
    Msgs rs = reports(c, "N1");
    ASSERT_EQ(rs.size(), 1u);  // the fill is the first word about the order
    EXPECT_EQ(rs[0].get(150), "F");

    ASSERT_TRUE(c.send("D", order("N2", "ACME", "1", "5", "9")));  // rests: acked
    wait_report(c, "N2", 150, "0");
    ASSERT_TRUE(c.send("F", {{41, "N2"}, {11, "N3"}, {55, "ACME"}, {54, "1"}}));
    Received cxl = wait_report(c, "N2", 150, "4");  // the order's own ClOrdID
    EXPECT_FALSE(cxl.has(41));
    EXPECT_TRUE(reports(c, "N3").empty());

    ASSERT_TRUE(c.send("F", {{41, "GHOST"}, {11, "N4"}, {55, "ACME"}, {54, "1"}}));
    ASSERT_TRUE(c.send("H", {{11, "N2"}, {55, "ACME"}, {54, "1"}}));
    wait_report(c, "N2", 150, "I");  // answered after the ignored cancel
    for (const auto& m : c.received()) EXPECT_NE(m.msg_type, "9");
}

TEST(FixVenueProfiles, FillDuringAHeldReplaceArrivesUnderTheOldClOrdId) {
    Venue v({"--session", "FIX.4.4:H1", "--session", "FIX.4.2:H2", "--symbol", "ACME"});
    for (const auto& [begin, comp] :
         std::vector<std::pair<std::string, std::string>>{{"FIX.4.4", "H1"}, {"FIX.4.2", "H2"}}) {
        SCOPED_TRACE(begin);
        auto& c = v.client(begin, comp);
        EXPECT_EQ(v.control("profile " + comp + " hold on"), "OK");
        const std::string a = comp + "a", b = comp + "b";
        ASSERT_TRUE(c.send("D", order(a, "ACME", "1", "10", "5")));
        wait_report(c, a, 150, "0");
        ASSERT_TRUE(c.send("G", {{41, a},
                                 {11, b},
                                 {21, "1"},
                                 {55, "ACME"},
                                 {54, "1"},
                                 {38, "10"},
                                 {40, "2"},
                                 {44, "5.5"}}));
        Received pending = wait_report(c, b, 150, "E");
        EXPECT_EQ(pending.get(39), "E");
        EXPECT_EQ(pending.get(41), a);
        EXPECT_EQ(v.control("fill " + a + " 4"), "OK");
        Received fill = wait_report(c, a, 32, "4");
        EXPECT_EQ(fill.get(39), "E");  // still pending replace
        EXPECT_EQ(fill.get(150), begin == "FIX.4.4" ? "F" : "1");
        EXPECT_EQ(v.control("release " + comp), "OK");
        Received rep = wait_report(c, b, 150, "5");
        EXPECT_EQ(rep.get(39), "1");
        EXPECT_EQ(dec(rep.get(14)), dec("4"));
        EXPECT_EQ(dec(rep.get(151)), dec("6"));
        EXPECT_EQ(dec(rep.get(44)), dec("5.5"));

        // A replace still held at the end of the day: too late, the order expired.
        const std::string d = comp + "d", e = comp + "e";
        ASSERT_TRUE(c.send("D", order(d, "ACME", "1", "3", "4")));
        wait_report(c, d, 150, "0");
        ASSERT_TRUE(c.send(
            "G", {{41, d}, {11, e}, {55, "ACME"}, {54, "1"}, {38, "2"}, {40, "2"}, {44, "4"}}));
        wait_report(c, e, 150, "E");
        EXPECT_EQ(v.control("eod"), "OK");
        EXPECT_EQ(wait_report(c, d, 150, "C").get(39), "C");
        Received late = wait_type(c, "9");
        EXPECT_EQ(late.get(11), e);
        EXPECT_EQ(late.get(434), "2");
        EXPECT_EQ(late.get(102), "0");
        EXPECT_EQ(late.get(39), "C");
    }
}

TEST(FixVenueProfiles, PendingAcksComeBeforeTheOutcome) {
    Venue v({"--session", "FIX.4.2:P2", "--symbol", "ACME", "--profile", "P2=pending-acks"});
    auto& c = v.client("FIX.4.2", "P2");
    ASSERT_TRUE(c.send("D", order("E1", "ACME", "2", "3", "7")));
    wait_report(c, "E1", 150, "0");
    ASSERT_TRUE(c.send("G", {{41, "E1"},
                             {11, "E2"},
                             {21, "1"},
                             {55, "ACME"},
                             {54, "2"},
                             {38, "2"},
                             {40, "2"},
                             {44, "7"}}));
    wait_report(c, "E2", 150, "5");
    ASSERT_TRUE(c.send("F", {{41, "E2"}, {11, "E3"}, {55, "ACME"}, {54, "2"}}));
    wait_report(c, "E3", 150, "4");
    std::vector<std::string> types;
    for (const auto& m : c.received()) types.push_back(m.get(150));
    EXPECT_EQ(types, (std::vector<std::string>{"0", "E", "5", "6", "4"}));
}

// ---- faults -----------------------------------------------------------------------------------

TEST(FixVenueFaults, DuplicateExecutionReportArrivesWithPossDup) {
    Venue v({"--session", "FIX.4.4:D1", "--price", "ACME=10"});
    auto& c = v.client("FIX.4.4", "D1");
    EXPECT_EQ(v.control("dup D1 2"), "OK");
    ASSERT_TRUE(c.send("D", order("P1", "ACME", "1", "5")));
    ASSERT_TRUE(c.wait_for([](const Msgs& ms) { return ms.size() >= 4; }, kWaitMs));
    Msgs rs = reports(c, "P1");
    ASSERT_EQ(rs.size(), 4u);  // New, New again, Fill, Fill again
    EXPECT_EQ(rs[0].get(17), rs[1].get(17));
    EXPECT_FALSE(rs[0].poss_dup);
    EXPECT_TRUE(rs[1].poss_dup);
    EXPECT_FALSE(rs[1].orig_sending_time.empty());
    EXPECT_EQ(rs[2].get(17), rs[3].get(17));
    EXPECT_TRUE(rs[3].poss_dup);
    EXPECT_EQ(rs[3].get(150), "F");
}

TEST(FixVenueFaults, BustAndCorrectOn44And42) {
    Venue v({"--session", "FIX.4.4:T4", "--session", "FIX.4.2:T2", "--price", "ACME=10"});
    auto& c4 = v.client("FIX.4.4", "T4");
    auto& c2 = v.client("FIX.4.2", "T2");
    ASSERT_TRUE(c4.send("D", order("K1", "ACME", "1", "5", "11")));
    ASSERT_TRUE(c2.send("D", order("K2", "ACME", "1", "5", "11")));
    Received f4 = wait_report(c4, "K1", 39, "2");
    Received f2 = wait_report(c2, "K2", 39, "2");

    EXPECT_EQ(v.control("correct " + f4.get(17) + " 5 9.5"), "OK");
    Received g4 = wait_report(c4, "K1", 150, "G");
    EXPECT_EQ(g4.get(19), f4.get(17));
    EXPECT_EQ(dec(g4.get(31)), dec("9.5"));
    EXPECT_EQ(dec(g4.get(6)), dec("9.5"));

    EXPECT_EQ(v.control("bust " + g4.get(17)), "OK");
    Received h4 = wait_report(c4, "K1", 150, "H");
    EXPECT_EQ(h4.get(19), g4.get(17));
    EXPECT_EQ(dec(h4.get(14)), dec("0"));
    EXPECT_EQ(dec(h4.get(151)), dec("5"));  // the quantity is open again
    EXPECT_EQ(h4.get(39), "0");

    EXPECT_EQ(v.control("correct " + f2.get(17) + " 5 10.5"), "OK");
    Received g2 = wait_report(c2, "K2", 20, "2");  // 4.2: ExecTransType Correct
    EXPECT_EQ(g2.get(19), f2.get(17));
    EXPECT_EQ(g2.get(150), "2");
    EXPECT_EQ(dec(g2.get(6)), dec("10.5"));
    EXPECT_EQ(v.control("bust " + f2.get(17)), "OK");  // any ExecID of the trade names it
    Received h2 = wait_report(c2, "K2", 20, "1");      // 4.2: ExecTransType Cancel
    EXPECT_EQ(h2.get(150), "2");                       // ExecType of the busted fill
    EXPECT_EQ(h2.get(19), g2.get(17));                 // the latest report of that execution
    EXPECT_EQ(v.control("bust " + f2.get(17)).rfind("ERR BUSTED", 0), 0u);

    json::Value d = v.dump();
    // The two trades in the order the venue made them (the two orders raced).
    auto trade_of = [&](const std::string& exec_id) -> const json::Value* {
        for (const auto& t : d.find("trades")->items())
            for (const char* side : {"buy", "sell"})
                if (t.find(side)->find("order_id")->is_string() &&
                    order_in_dump(d, t.find(side)->find("order_id")->text())) {
                    const json::Value* o = order_in_dump(d, t.find(side)->find("order_id")->text());
                    for (const auto& e : o->find("exec_ids")->items())
                        if (e.text() == exec_id) return &t;
                }
        return nullptr;
    };
    const json::Value* t4 = trade_of(f4.get(17));
    const json::Value* t2 = trade_of(f2.get(17));
    ASSERT_NE(t4, nullptr);
    ASSERT_NE(t2, nullptr);
    EXPECT_TRUE(t4->find("busted")->as_bool());
    EXPECT_TRUE(t2->find("busted")->as_bool());
    ASSERT_EQ(t4->find("corrected_from")->items().size(), 1u);
    EXPECT_EQ(t4->find("corrected_from")->items()[0].text(), "5@10");
    EXPECT_EQ(t4->find("qty")->text(), "5");
    EXPECT_EQ(t4->find("px")->text(), "9.5");
}

TEST(FixVenueFaults, LostReportsAreResentAndAGapIsGapFilled) {
    Venue v({"--session", "FIX.4.4:G1", "--symbol", "ACME"});
    auto& c = v.client("FIX.4.4", "G1");
    EXPECT_EQ(v.control("lose G1 1"), "OK");
    ASSERT_TRUE(c.send("D", order("L1", "ACME", "1", "1", "1")));  // its ack is lost
    ASSERT_TRUE(c.send("D", order("L2", "ACME", "1", "1", "1")));  // reveals the gap
    Received resent = wait_report(c, "L1", 150, "0");
    EXPECT_TRUE(resent.poss_dup);  // it reached the client only through the resend
    EXPECT_EQ(reports(c, "L1").size(), 1u);
    wait_report(c, "L2", 150, "0");
    EXPECT_GE(c.resend_requests_sent(), 1);

    const int resets = c.sequence_resets_received();
    EXPECT_EQ(v.control("gap G1 3"), "OK");
    ASSERT_TRUE(c.send("D", order("L3", "ACME", "1", "1", "1")));
    wait_report(c, "L3", 150, "0");
    ASSERT_TRUE(
        c.wait_for([&](const Msgs&) { return c.sequence_resets_received() > resets; }, kWaitMs));
    EXPECT_GE(c.resend_requests_sent(), 2);
    EXPECT_EQ(reports(c, "L3").size(), 1u);
}

TEST(FixVenueFaults, DropDelayDisconnectAndResendAfterReconnect) {
    Venue v({"--session", "FIX.4.4:R1", "--session", "FIX.4.4:R2", "--symbol", "ACME"});
    auto& c = v.client("FIX.4.4", "R1");
    auto& other = v.client("FIX.4.4", "R2");

    EXPECT_EQ(v.control("drop R1 1"), "OK");
    ASSERT_TRUE(c.send("D", order("Q1", "ACME", "1", "10", "5")));  // accepted, ack dropped
    ASSERT_TRUE(c.send("H", {{11, "Q1"}, {55, "ACME"}, {54, "1"}}));
    EXPECT_EQ(wait_report(c, "Q1", 150, "I").get(39), "0");  // the venue holds it
    // A session's messages arrive in order: an ack sent before the status answer would be here.
    EXPECT_EQ(reports(c, "Q1").size(), 1u);

    EXPECT_EQ(v.control("delay R1 400"), "OK");
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(c.send("H", {{11, "Q1"}, {55, "ACME"}, {54, "1"}, {790, "late"}}));
    wait_report(c, "Q1", 790, "late");
    EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(400));
    EXPECT_EQ(v.control("delay R1 0"), "OK");

    // While R1 is disconnected, R2 trades with its order: the fill is resent on reconnect.
    const int logons = c.logons();
    EXPECT_EQ(v.control("disconnect R1"), "OK");
    ASSERT_TRUE(c.wait_for([&](const Msgs&) { return !c.logged_on(); }, kWaitMs));
    ASSERT_TRUE(other.send("D", order("W1", "ACME", "2", "10", "5")));
    wait_report(other, "W1", 39, "2");
    ASSERT_TRUE(c.wait_for([&](const Msgs&) { return c.logons() > logons; }, kWaitMs));
    Received fill = wait_report(c, "Q1", 150, "F");
    EXPECT_EQ(fill.get(39), "2");
    EXPECT_TRUE(fill.poss_dup);  // it came through QuickFIX's resend

    // The line drops between the venue accepting an order and its ack: the ack is resent.
    const int before_cut = c.logons();
    EXPECT_EQ(v.control("cut R1"), "OK");
    ASSERT_TRUE(c.send("D", order("Q2", "ACME", "2", "1", "9")));
    ASSERT_TRUE(c.wait_for([&](const Msgs&) { return c.logons() > before_cut; }, kWaitMs));
    Received cut_ack = wait_report(c, "Q2", 150, "0");
    EXPECT_TRUE(cut_ack.poss_dup);

    // A Logout from the venue: the client logs on again (the session is enabled again).
    const int again = c.logons();
    EXPECT_EQ(v.control("logout R1 maintenance"), "OK");
    ASSERT_TRUE(c.wait_for([&](const Msgs&) { return c.logons() > again; }, kWaitMs));
}

TEST(FixVenueFaults, SequenceNumbersPersistAcrossAVenueRestart) {
    Venue v({"--session", "FIX.4.2:S1", "--symbol", "ACME"});
    auto& c = v.client("FIX.4.2", "S1");
    ASSERT_TRUE(c.send("D", order("Z1", "ACME", "1", "1", "1")));
    wait_report(c, "Z1", 150, "0");
    const int logons = c.logons();
    v.restart();  // same data directory: the FileStore keeps the sequence numbers
    ASSERT_TRUE(c.wait_for([&](const Msgs&) { return c.logons() > logons; }, 20000))
        << v.process().log();
    std::string after = v.control("sessions");
    EXPECT_EQ(after.find("\"next_target_seq\":1,"), std::string::npos) << after;
    // No ResendRequest was needed either way: nothing was lost, nothing was reset.
    EXPECT_EQ(c.resend_requests_sent(), 0);
    // A restarted venue never repeats an ExecID (its ids carry the start time).
    ASSERT_TRUE(c.send("D", order("Z2", "ACME", "1", "1", "1")));
    Received ack2 = wait_report(c, "Z2", 150, "0");
    EXPECT_NE(ack2.get(17), reports(c, "Z1")[0].get(17));
}

// A client that logs on again at once (as the gateway's plugin does) must not hold a stopping
// venue: the sessions it logs out on SIGTERM stay out until it has exited.
TEST(FixVenueFaults, AStoppingVenueTakesNoNewLogon) {
    Venue v({"--session", "FIX.4.2:S1", "--symbol", "ACME"});
    auto& c = v.client("FIX.4.2", "S1");
    ASSERT_TRUE(c.send("D", order("Y1", "ACME", "1", "1", "1")));
    wait_report(c, "Y1", 150, "0");
    EXPECT_EQ(v.process().stop(), 0) << v.process().log();
    const std::string log = v.process().log();
    const auto stopping = log.find("event=stopping");
    ASSERT_NE(stopping, std::string::npos) << log;
    EXPECT_EQ(log.find("event=logon", stopping), std::string::npos) << log;
}

TEST(FixVenueControl, UnknownCommandsAndSessionsAreErrors) {
    TempDir out;
    Venue v(
        {"--session", "FIX.4.4:C1", "--session", "FIX.4.2:C1", "--dump", out.file("dump.json")});
    EXPECT_EQ(v.control("ping"), "OK pong");
    EXPECT_EQ(v.control("frobnicate"), "ERR UNKNOWN_COMMAND frobnicate");
    // C1 names two sessions; BEGIN:CLIENT picks one.
    EXPECT_EQ(v.control("drop C1 1").rfind("ERR UNKNOWN_SESSION", 0), 0u);
    EXPECT_EQ(v.control("drop FIX.4.2:C1 1"), "OK");
    EXPECT_EQ(v.control("bust X-1").rfind("ERR UNKNOWN_TRADE", 0), 0u);
    // Nobody is logged on: a Logout would leave the session disabled, so it is refused.
    EXPECT_EQ(v.control("logout FIX.4.4:C1").rfind("ERR NOT_LOGGED_ON", 0), 0u);
    EXPECT_EQ(v.control("profile FIX.4.4:C1 nonsense on").rfind("ERR UNKNOWN_PROFILE", 0), 0u);
    EXPECT_EQ(v.process().stop(), 0);  // SIGTERM: a clean exit, with the dump written
    std::ifstream f(out.file("dump.json"));
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    json::Value d;
    std::string why;
    ASSERT_TRUE(json::parse(text, &d, &why)) << why << ": " << text;
    EXPECT_TRUE(d.find("orders")->is_array());
}

}  // namespace
}  // namespace ordergate::fixtest
