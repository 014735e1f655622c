// Unit tests of the order state machine (host/orders/state_machine.hpp): every pair of statuses
// against an explicit table written here, independently of the one in the implementation.
#include "orders/state_machine.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>

namespace ordergate::orders {
namespace {

using S = OrderStatus;

constexpr std::array<S, 9> kAll = {S::PendingNew,    S::Open,          S::PartiallyFilled,
                                   S::Filled,        S::PendingReplace, S::PendingCancel,
                                   S::Cancelled,     S::Rejected,      S::Expired};

// The expected table, row = from, column = to, in kAll's order. 1 = legal.
// Columns:                        PN O  PF F  PR PC C  R  E
constexpr int kExpected[9][9] = {/* PENDING_NEW      */ {0, 1, 1, 1, 0, 1, 1, 1, 1},
                                 /* OPEN             */ {0, 1, 1, 1, 1, 1, 1, 1, 1},
                                 /* PARTIALLY_FILLED */ {0, 0, 1, 1, 1, 1, 1, 0, 1},
                                 /* FILLED           */ {0, 0, 0, 0, 0, 0, 0, 0, 0},
                                 /* PENDING_REPLACE  */ {0, 1, 1, 1, 1, 1, 1, 1, 1},
                                 /* PENDING_CANCEL   */ {1, 1, 1, 1, 1, 1, 1, 1, 1},
                                 /* CANCELLED        */ {0, 0, 0, 0, 0, 0, 0, 0, 0},
                                 /* REJECTED         */ {0, 0, 0, 0, 0, 0, 0, 0, 0},
                                 /* EXPIRED          */ {0, 0, 0, 0, 0, 0, 0, 0, 0}};

struct Pair {
    S from;
    S to;
    bool legal;
};

std::string PairName(const testing::TestParamInfo<Pair>& info) {
    return std::string(to_string(info.param.from)) + "_to_" + std::string(to_string(info.param.to));
}

std::vector<Pair> AllPairs() {
    std::vector<Pair> out;
    for (size_t f = 0; f < kAll.size(); ++f)
        for (size_t t = 0; t < kAll.size(); ++t)
            out.push_back(Pair{kAll[f], kAll[t], kExpected[f][t] == 1});
    return out;
}

class TransitionTable : public testing::TestWithParam<Pair> {};

TEST_P(TransitionTable, MatchesTheExpectedTable) {
    const Pair& p = GetParam();
    EXPECT_EQ(is_legal_transition(p.from, p.to), p.legal) << describe_transition(p.from, p.to);
    // With a known from, the source does not matter.
    for (EventSource src : {EventSource::Api, EventSource::Broker, EventSource::Reconciliation,
                            EventSource::Gtt})
        EXPECT_EQ(is_legal_transition(std::optional<S>(p.from), p.to, src), p.legal);
}

INSTANTIATE_TEST_SUITE_P(EveryPair, TransitionTable, testing::ValuesIn(AllPairs()), PairName);

TEST(StateMachine, TableCoversAllNineStatusesExactlyOnce) {
    EXPECT_EQ(AllPairs().size(), 81u);
    int legal = 0;
    for (const Pair& p : AllPairs()) legal += p.legal ? 1 : 0;
    EXPECT_EQ(legal, 38);
}

TEST(StateMachine, TerminalStatusesHaveNoExit) {
    for (S from : kAll) {
        if (!is_terminal(from)) continue;
        for (S to : kAll) EXPECT_FALSE(is_legal_transition(from, to)) << describe_transition(from, to);
    }
}

TEST(StateMachine, EveryLiveStatusCanReachATerminalOne) {
    for (S from : kAll) {
        if (is_terminal(from)) continue;
        bool reaches = false;
        for (S to : kAll) reaches = reaches || (is_terminal(to) && is_legal_transition(from, to));
        EXPECT_TRUE(reaches) << to_string(from);
    }
}

TEST(StateMachine, RefusedCancelReturnsToEachLiveStatus) {
    EXPECT_TRUE(is_legal_transition(S::PendingCancel, S::Open));
    EXPECT_TRUE(is_legal_transition(S::PendingCancel, S::PartiallyFilled));
    EXPECT_TRUE(is_legal_transition(S::PendingCancel, S::PendingNew));
    EXPECT_TRUE(is_legal_transition(S::PendingReplace, S::Open));
    EXPECT_TRUE(is_legal_transition(S::PendingReplace, S::PartiallyFilled));
    EXPECT_FALSE(is_legal_transition(S::PendingReplace, S::PendingNew));
}

TEST(StateMachine, FirstEventDependsOnTheSource) {
    for (S to : kAll) {
        const bool pn = to == S::PendingNew;
        EXPECT_EQ(is_legal_transition(std::nullopt, to, EventSource::Api), pn) << to_string(to);
        EXPECT_EQ(is_legal_transition(std::nullopt, to, EventSource::Gtt), pn) << to_string(to);
        EXPECT_TRUE(is_legal_transition(std::nullopt, to, EventSource::Reconciliation))
            << to_string(to);
        EXPECT_FALSE(is_legal_transition(std::nullopt, to, EventSource::Broker)) << to_string(to);
    }
}

TEST(StateMachine, OutOfRangeValuesAreIllegal) {
    const auto bogus = static_cast<S>(42);
    EXPECT_FALSE(is_legal_transition(bogus, S::Open));
    EXPECT_FALSE(is_legal_transition(S::Open, bogus));
    EXPECT_FALSE(is_legal_transition(std::nullopt, bogus, EventSource::Reconciliation));
}

TEST(StateMachine, DescribeTransition) {
    EXPECT_EQ(describe_transition(S::PendingNew, S::Filled), "PENDING_NEW -> FILLED");
    EXPECT_EQ(describe_transition(std::nullopt, S::PendingNew), "none -> PENDING_NEW");
}

// ---- fills ------------------------------------------------------------------------------------

Decimal D(const char* s) { return Decimal::must_parse(s); }

TEST(DeriveStatus, FromCumulativeFills) {
    EXPECT_EQ(derive_status_from_fills(D("10"), D("0")), S::Open);
    EXPECT_EQ(derive_status_from_fills(D("10"), D("0.000")), S::Open);
    EXPECT_EQ(derive_status_from_fills(D("10"), D("0.001")), S::PartiallyFilled);
    EXPECT_EQ(derive_status_from_fills(D("10"), D("9.999")), S::PartiallyFilled);
    EXPECT_EQ(derive_status_from_fills(D("10"), D("10.00")), S::Filled);
    EXPECT_EQ(derive_status_from_fills(D("0.5"), D("0.50")), S::Filled);
}

TEST(DeriveStatus, OverfillAndNonsenseThrow) {
    EXPECT_THROW(derive_status_from_fills(D("10"), D("10.01")), std::invalid_argument);
    EXPECT_THROW(derive_status_from_fills(D("10"), D("-1")), std::invalid_argument);
    EXPECT_THROW(derive_status_from_fills(D("0"), D("0")), std::invalid_argument);
    EXPECT_THROW(derive_status_from_fills(D("-5"), D("0")), std::invalid_argument);
}

TEST(StatusAfterFill, KeepsPendingRequestsUntilComplete) {
    EXPECT_EQ(status_after_fill(S::PendingNew, D("10"), D("4")), S::PartiallyFilled);
    EXPECT_EQ(status_after_fill(S::Open, D("10"), D("10")), S::Filled);
    EXPECT_EQ(status_after_fill(S::PartiallyFilled, D("10"), D("6")), S::PartiallyFilled);
    EXPECT_EQ(status_after_fill(S::PendingCancel, D("10"), D("6")), S::PendingCancel);
    EXPECT_EQ(status_after_fill(S::PendingCancel, D("10"), D("10")), S::Filled);
    EXPECT_EQ(status_after_fill(S::PendingReplace, D("10"), D("3")), S::PendingReplace);
    // The pending modify may have raised the quantity at the venue: its answer settles it.
    EXPECT_EQ(status_after_fill(S::PendingReplace, D("10"), D("10")), S::PendingReplace);
    // A late fill never moves a terminal status.
    EXPECT_EQ(status_after_fill(S::Cancelled, D("10"), D("10")), S::Cancelled);
    EXPECT_EQ(status_after_fill(S::Expired, D("10"), D("2")), S::Expired);
    EXPECT_THROW(status_after_fill(S::Open, D("10"), D("11")), std::invalid_argument);
}

TEST(StatusAfterFill, ResultIsAlwaysALegalTransitionOrNoChange) {
    for (S from : kAll) {
        for (const char* filled : {"1", "5", "10"}) {
            S to = status_after_fill(from, D("10"), D(filled));
            EXPECT_TRUE(to == from || is_legal_transition(from, to))
                << describe_transition(from, to) << " filled " << filled;
        }
    }
}

TEST(Consistency, StatusAgainstFilledQuantity) {
    EXPECT_TRUE(is_consistent(S::PendingNew, D("10"), D("0")));
    EXPECT_FALSE(is_consistent(S::PendingNew, D("10"), D("1")));
    EXPECT_TRUE(is_consistent(S::Open, D("10"), D("0")));
    EXPECT_FALSE(is_consistent(S::Open, D("10"), D("1")));
    EXPECT_TRUE(is_consistent(S::Rejected, D("10"), D("0")));
    EXPECT_FALSE(is_consistent(S::Rejected, D("10"), D("2")));
    EXPECT_TRUE(is_consistent(S::PartiallyFilled, D("10"), D("2")));
    EXPECT_FALSE(is_consistent(S::PartiallyFilled, D("10"), D("0")));
    EXPECT_FALSE(is_consistent(S::PartiallyFilled, D("10"), D("10")));
    EXPECT_TRUE(is_consistent(S::Filled, D("10"), D("10.0")));
    EXPECT_FALSE(is_consistent(S::Filled, D("10"), D("9")));
    for (S s : {S::PendingReplace, S::PendingCancel, S::Cancelled, S::Expired}) {
        EXPECT_TRUE(is_consistent(s, D("10"), D("0"))) << to_string(s);
        EXPECT_TRUE(is_consistent(s, D("10"), D("9.5"))) << to_string(s);
        EXPECT_EQ(is_consistent(s, D("10"), D("10")),
                  s == S::PendingReplace || s == S::PendingCancel)
            << to_string(s);
    }
    for (S s : kAll) {
        EXPECT_FALSE(is_consistent(s, D("10"), D("11"))) << to_string(s);
        EXPECT_FALSE(is_consistent(s, D("10"), D("-1"))) << to_string(s);
        EXPECT_FALSE(is_consistent(s, D("0"), D("0"))) << to_string(s);
    }
}

TEST(Requests, WhichStatusesTakeAModifyOrACancel) {
    for (S s : kAll) {
        const bool modify = s == S::Open || s == S::PartiallyFilled;
        const bool cancel = s == S::PendingNew || s == S::Open || s == S::PartiallyFilled ||
                            s == S::PendingReplace;
        EXPECT_EQ(can_modify(s), modify) << to_string(s);
        EXPECT_EQ(can_cancel(s), cancel) << to_string(s);
        // A request that may be sent is a legal transition to its pending status.
        if (modify) {
            EXPECT_TRUE(is_legal_transition(s, S::PendingReplace)) << to_string(s);
        }
        if (cancel) {
            EXPECT_TRUE(is_legal_transition(s, S::PendingCancel)) << to_string(s);
        }
    }
}

}  // namespace
}  // namespace ordergate::orders

// ABI 1.5: a bust or correction is the one way out of FILLED (back to what the fills make it);
// a dead order stays dead, and a pending request's answer settles a pending status.
namespace ordergate::orders {
namespace {
TEST(StateMachine, FillChangeTakesFilledBackToWhatTheFillsMakeIt) {
    const Decimal q = Decimal::must_parse("10");
    EXPECT_EQ(status_after_fill_change(OrderStatus::Filled, q, Decimal::must_parse("4")),
              OrderStatus::PartiallyFilled);
    EXPECT_EQ(status_after_fill_change(OrderStatus::Filled, q, Decimal::must_parse("0")),
              OrderStatus::Open);
    EXPECT_EQ(status_after_fill_change(OrderStatus::Filled, q, q), OrderStatus::Filled);
    EXPECT_EQ(status_after_fill_change(OrderStatus::PartiallyFilled, q, Decimal::must_parse("0")),
              OrderStatus::Open);
    EXPECT_EQ(status_after_fill_change(OrderStatus::Cancelled, q, Decimal::must_parse("0")),
              OrderStatus::Cancelled);
    EXPECT_EQ(status_after_fill_change(OrderStatus::PendingCancel, q, Decimal::must_parse("2")),
              OrderStatus::PendingCancel);
    EXPECT_THROW(status_after_fill_change(OrderStatus::Filled, q, Decimal::must_parse("11")),
                 std::invalid_argument);
}
}  // namespace
}  // namespace ordergate::orders
