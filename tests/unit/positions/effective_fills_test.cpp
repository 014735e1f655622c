// Busts and corrections (ABI 1.5): the effective fills, and a position rebuilt from them equal
// to the position those fills alone would have built (quantity, average, realized P&L, fees).
#include "positions/effective_fills.hpp"

#include <gtest/gtest.h>

#include "positions/position_book.hpp"

namespace ordergate::positions {
namespace {

Decimal D(const char* s) { return Decimal::must_parse(s); }

FillRecord trade(const char* id, Side side, const char* qty, const char* px, const char* fee) {
    FillRecord f;
    f.id = std::string("trd_") + id;
    f.broker = "fix";
    f.broker_trade_id = id;
    f.account_id = "A";
    f.symbol = "X";
    f.exchange = "XNSE";
    f.side = side;
    f.quantity = D(qty);
    f.price = D(px);
    f.fee = D(fee);
    f.executed_at_ns = 1;
    return f;
}

FillRecord change(const char* id, FillKind kind, const char* ref, const char* qty, const char* px) {
    FillRecord f = trade(id, Side::Buy, qty, px, "0");
    f.kind = kind;
    f.ref_trade_id = ref;
    return f;
}

const PositionKey kKey{"A", "fix", "X", "XNSE"};

TEST(EffectiveFills, BustDropsTheTradeAndCorrectionReplacesItsTerms) {
    std::vector<FillRecord> records = {
        trade("E1", Side::Buy, "10", "100.50", "1"),
        trade("E2", Side::Buy, "5", "101", "0.5"),
        trade("E3", Side::Sell, "4", "103", "0.25"),
        change("B1", FillKind::Bust, "E2", "5", "101"),
        change("C1", FillKind::Correction, "E3", "3", "102.75"),
        change("C2", FillKind::Correction, "E3", "2", "102.5"),  // the latest wins
    };
    records[5].fee = D("0.2");
    std::vector<FillRecord> eff = effective_fills(records);
    ASSERT_EQ(eff.size(), 2u);
    EXPECT_EQ(eff[0].broker_trade_id, "E1");
    EXPECT_TRUE(eff[0].quantity.identical(D("10")));
    EXPECT_EQ(eff[1].broker_trade_id, "E3");
    EXPECT_TRUE(eff[1].quantity.identical(D("2")));
    EXPECT_TRUE(eff[1].price.identical(D("102.5")));
    EXPECT_TRUE(eff[1].fee.identical(D("0.2")));
    EXPECT_EQ(eff[1].side, Side::Sell);
}

TEST(EffectiveFills, ABustOfAnotherBrokersTradeIdChangesNothing) {
    std::vector<FillRecord> records = {trade("E1", Side::Buy, "10", "100", "0"),
                                       change("B1", FillKind::Bust, "E1", "10", "100")};
    records[1].broker = "paper";
    EXPECT_EQ(effective_fills(records).size(), 1u);
}

// The bust of a position-building fill: the book rebuilt from what is left equals a book that
// never saw the busted fill, realized P&L and fees included, to the last digit.
TEST(PositionRebuild, BustOfAFillEqualsTheBookWithoutIt) {
    std::vector<FillRecord> records = {
        trade("E1", Side::Buy, "10", "100.50", "1.10"),
        trade("E2", Side::Buy, "5", "101.25", "0.55"),
        trade("E3", Side::Sell, "12", "103.10", "1.30"),
        change("B1", FillKind::Bust, "E2", "5", "101.25"),
    };
    PositionBook book;
    for (int i = 0; i < 3; ++i)  // what the book held before the bust
        book.apply_fill(kKey, records[i].side, records[i].quantity, records[i].price,
                        records[i].fee, 1);
    const PositionView before = *book.get(kKey);
    EXPECT_TRUE(before.quantity.identical(D("3")) || before.quantity == D("3"));
    const PositionView got = book.rebuild(kKey, effective_fills(records), 9);

    PositionBook without;
    without.apply_fill(kKey, Side::Buy, D("10"), D("100.50"), D("1.10"), 1);
    without.apply_fill(kKey, Side::Sell, D("12"), D("103.10"), D("1.30"), 1);
    const PositionView want = *without.get(kKey);
    EXPECT_EQ(got.quantity, D("-2"));
    EXPECT_TRUE(got.quantity.identical(want.quantity));
    EXPECT_TRUE(got.average_price.identical(want.average_price));
    EXPECT_TRUE(got.realized_pnl.identical(want.realized_pnl)) << got.realized_pnl.to_string();
    EXPECT_TRUE(got.fees.identical(want.fees));
    // 10 bought at 100.50 sold at 103.10: 26.00, less fees 1.10 + 1.30; 2 short at 103.10.
    EXPECT_EQ(got.realized_pnl, D("23.60"));
    EXPECT_EQ(got.average_price, D("103.10"));
    EXPECT_EQ(got.updated_at_ns, 9);
}

TEST(PositionRebuild, CorrectionReplacesPriceAndQuantity) {
    std::vector<FillRecord> records = {
        trade("E1", Side::Buy, "10", "100", "0"),
        trade("E2", Side::Buy, "10", "110", "0"),
        change("C1", FillKind::Correction, "E2", "6", "105"),
    };
    PositionBook book;
    const PositionView got = book.rebuild(kKey, effective_fills(records), 1);
    EXPECT_EQ(got.quantity, D("16"));
    // (10 x 100 + 6 x 105) / 16 = 1630 / 16 = 101.875
    EXPECT_EQ(got.average_price, D("101.875"));
    EXPECT_FALSE(got.average_price_rounded);
}

TEST(PositionRebuild, BustOfTheOnlyFillLeavesTheKeyFlat) {
    std::vector<FillRecord> records = {trade("E1", Side::Buy, "7", "50", "0.07"),
                                       change("B1", FillKind::Bust, "E1", "7", "50")};
    PositionBook book;
    book.apply_fill(kKey, Side::Buy, D("7"), D("50"), D("0.07"), 1);
    const PositionView got = book.rebuild(kKey, effective_fills(records), 2);
    EXPECT_TRUE(got.quantity.is_zero());
    EXPECT_TRUE(got.realized_pnl.is_zero());
    EXPECT_TRUE(got.fees.is_zero());
    ASSERT_TRUE(book.get(kKey).has_value());
}

}  // namespace
}  // namespace ordergate::positions
