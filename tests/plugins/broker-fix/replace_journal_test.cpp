// broker-fix's replace journal (emulated replaces): what a restart reads back, a torn last line,
// a damaged one.
#include "replace_journal.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

namespace ordergate::fixplugin {
namespace {

class ReplaceJournalTest : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/og-replace-journal-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override {
        const std::string cmd = "rm -rf '" + dir_ + "'";
        ASSERT_EQ(std::system(cmd.c_str()), 0);
    }
    static ReplaceLeg leg(const std::string& request_id, const char* base, const char* notional) {
        ReplaceLeg l;
        l.client_order_id = "og-c1";
        l.request_id = request_id;
        l.leg_id = request_id + ".n";
        l.broker_order_id = "O-1";
        l.account_id = "ACC1";
        l.symbol = "ACME";
        l.side = Side::Sell;
        l.order_type = OrderType::Limit;
        l.time_in_force = TimeInForce::Gtc;
        l.quantity = Decimal::must_parse("10.5");
        l.price = Decimal::must_parse("99.125");
        l.base_qty = Decimal::must_parse(base);
        if (notional) l.base_notional = Decimal::must_parse(notional);
        return l;
    }
    void append_raw(const std::string& text) {
        std::ofstream out(dir_ + "/fix/replace-journal", std::ios::app | std::ios::binary);
        out << text;
    }
    std::string dir_;
};

TEST_F(ReplaceJournalTest, AMissingJournalIsEmpty) {
    EXPECT_TRUE(ReplaceJournal(dir_ + "/fix/replace-journal").load().empty());
}

TEST_F(ReplaceJournalTest, LegsRoundTripExactlyInOrder) {
    ReplaceJournal j(dir_ + "/fix/replace-journal");  // its directory is created on append
    j.append(leg("og-r1", "3", "270.00"));
    j.append(leg("og-r2", "4.25", nullptr));
    const auto legs = j.load();
    ASSERT_EQ(legs.size(), 2u);
    EXPECT_EQ(legs[0].request_id, "og-r1");
    EXPECT_EQ(legs[0].leg_id, "og-r1.n");
    EXPECT_EQ(legs[0].client_order_id, "og-c1");
    EXPECT_EQ(legs[0].broker_order_id, "O-1");
    EXPECT_EQ(legs[0].side, Side::Sell);
    EXPECT_EQ(legs[0].time_in_force, TimeInForce::Gtc);
    EXPECT_EQ(legs[0].quantity.to_string(), "10.5");
    EXPECT_EQ(legs[0].price->to_string(), "99.125");
    EXPECT_EQ(legs[0].base_qty.to_string(), "3");
    EXPECT_EQ(legs[0].base_notional->to_string(), "270.00");
    EXPECT_EQ(legs[1].base_qty.to_string(), "4.25");
    EXPECT_FALSE(legs[1].base_notional.has_value());
}

// A crash while a line was written leaves it without its newline: the send it was to precede
// never happened, and the line is not a leg.
TEST_F(ReplaceJournalTest, ATornLastLineIsIgnored) {
    ReplaceJournal j(dir_ + "/fix/replace-journal");
    j.append(leg("og-r1", "0", "0"));
    append_raw("leg1\tog-c1\tog-r2\tog-r2.n\tO-1\tACC1\tAC");
    const auto legs = j.load();
    ASSERT_EQ(legs.size(), 1u);
    EXPECT_EQ(legs[0].request_id, "og-r1");
}

TEST_F(ReplaceJournalTest, ADamagedLineIsAStartUpErrorNamingTheLine) {
    ReplaceJournal j(dir_ + "/fix/replace-journal");
    j.append(leg("og-r1", "0", "0"));
    append_raw("leg1\tog-c1\tog-r2\tog-r2.n\tO-1\tACC1\tACME\tBUY\tLIMIT\tDAY\tten\t-\t0\t0\tend\n");
    try {
        j.load();
        FAIL() << "a damaged journal loaded";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("not a decimal: ten"), std::string::npos) << e.what();
    }
}

TEST_F(ReplaceJournalTest, AnIdWithATabIsRefusedBeforeAnythingIsWritten) {
    ReplaceJournal j(dir_ + "/fix/replace-journal");
    ReplaceLeg l = leg("og-r1", "0", "0");
    l.symbol = "AC\tME";
    EXPECT_THROW(j.append(l), std::runtime_error);
    EXPECT_TRUE(j.load().empty());
}

}  // namespace
}  // namespace ordergate::fixplugin
