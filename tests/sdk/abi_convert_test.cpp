// The SDK's header-only layer: C <-> C++ conversions (validating), Config, and the glue's error
// handling.
#include <gtest/gtest.h>

#include "ordergate/abi_convert.hpp"
#include "ordergate/sdk.hpp"

namespace ordergate {
namespace {

OrderReport sample_report() {
    OrderReport r;
    r.broker_order_id = "b-1";
    r.client_order_id = "c-1";
    r.account_id = "acct";
    r.symbol = "XYZ";
    r.side = Side::Sell;
    r.order_type = OrderType::StopLimit;
    r.time_in_force = TimeInForce::Gtc;
    r.status = OrderStatus::PartiallyFilled;
    r.quantity = Decimal::must_parse("10.50");
    r.filled_quantity = Decimal::must_parse("2.25");
    r.price = Decimal::must_parse("99.125");
    r.trigger_price = Decimal::must_parse("100");
    r.updated_at_ns = 1234;
    return r;
}

TEST(AbiConvert, OrderReportRoundTripsExactly) {
    OrderReport r = sample_report();
    og_order_report c = abi::to_abi(r);
    OrderReport back = abi::from_abi(&c);
    EXPECT_EQ(back.broker_order_id, "b-1");
    EXPECT_EQ(back.side, Side::Sell);
    EXPECT_EQ(back.order_type, OrderType::StopLimit);
    EXPECT_EQ(back.status, OrderStatus::PartiallyFilled);
    EXPECT_TRUE(back.quantity.identical(Decimal::must_parse("10.50")));
    EXPECT_TRUE(back.price->identical(Decimal::must_parse("99.125")));
    EXPECT_FALSE(back.average_fill_price.has_value());
    EXPECT_EQ(back.updated_at_ns, 1234);
}

TEST(AbiConvert, RejectsBadEnumsScalesStringsAndSizes) {
    OrderReport r = sample_report();
    og_order_report c = abi::to_abi(r);
    auto rejects = [](og_order_report bad, const std::string& part) {
        try {
            abi::from_abi(&bad);
            ADD_FAILURE() << "accepted: " << part;
        } catch (const abi::ConvertError& e) {
            EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
        }
    };
    og_order_report bad = c;
    bad.side = 3;
    rejects(bad, "side is 3");
    bad = c;
    bad.status = 10;
    rejects(bad, "status is 10");
    bad = c;
    bad.price.value.scale = 19;
    rejects(bad, "price has decimal scale 19");
    bad = c;
    bad.quantity.scale = -1;
    rejects(bad, "quantity has decimal scale -1");
    bad = c;
    bad.symbol = og_str{nullptr, 3};
    rejects(bad, "symbol has a NULL pointer");
    bad = c;
    bad.size = 16;
    rejects(bad, "size 16 is smaller");
    EXPECT_THROW(abi::from_abi(static_cast<const og_order_report*>(nullptr)), abi::ConvertError);
}

TEST(AbiConvert, LargerRecordsFromNewerMinorsAreRead) {
    OrderReport r = sample_report();  // the C view points into r
    og_order_report c = abi::to_abi(r);
    c.size += 64;  // a newer minor appended fields: the known prefix is still read
    EXPECT_EQ(abi::from_abi(&c).client_order_id, "c-1");
}

TEST(AbiConvert, ModifyRequestKeepsUnchangedFieldsAbsent) {
    ModifyRequest m;
    m.broker_order_id = "b";
    m.price = Decimal::must_parse("1.5");
    og_modify_request c = abi::to_abi(m);
    EXPECT_EQ(c.order_type, 0);
    EXPECT_EQ(c.has_quantity, 0);
    ModifyRequest back = abi::from_abi(&c);
    EXPECT_FALSE(back.quantity.has_value());
    EXPECT_FALSE(back.order_type.has_value());
    EXPECT_EQ(*back.price, Decimal::must_parse("1.5"));
    c.time_in_force = 9;
    EXPECT_THROW(abi::from_abi(&c), abi::ConvertError);
}

TEST(AbiConvert, WriteBatchRoundTripsEveryKind) {
    std::vector<WriteOp> ops(5);
    ops[0].kind = WriteKind::InsertOrder;
    ops[0].order.id = "ord_1";
    ops[0].order.quantity = Decimal::must_parse("3");
    ops[0].event.order_id = "ord_1";
    ops[0].event.seq = 1;
    ops[1].kind = WriteKind::UpdateOrder;
    ops[1].expected_version = 1;
    ops[1].order.id = "ord_1";
    ops[1].event.from_status = OrderStatus::PendingNew;
    ops[1].event.to_status = OrderStatus::Open;
    ops[2].kind = WriteKind::InsertFill;
    ops[2].requires_previous = true;
    ops[2].fill.broker_trade_id = "t-1";
    ops[3].kind = WriteKind::UpsertGtt;
    ops[3].gtt.id = "gtt_1";
    ops[4].kind = WriteKind::UpsertReconRun;
    ops[4].recon_run.id = "run_1";
    abi::WriteBatchView view(ops);
    ASSERT_EQ(view.size(), 5u);
    EXPECT_EQ(view.data()[2].order, nullptr);
    std::vector<WriteOp> back = abi::from_abi(view.data(), view.size());
    EXPECT_EQ(back[0].order.id, "ord_1");
    EXPECT_FALSE(back[0].event.from_status.has_value());
    EXPECT_EQ(*back[1].event.from_status, OrderStatus::PendingNew);
    EXPECT_EQ(back[1].expected_version, 1);
    EXPECT_TRUE(back[2].requires_previous);
    EXPECT_EQ(back[2].fill.broker_trade_id, "t-1");
    EXPECT_EQ(back[3].gtt.id, "gtt_1");
    EXPECT_EQ(back[4].recon_run.id, "run_1");

    og_write_op bad = view.data()[2];
    bad.flags = 6;
    EXPECT_THROW(abi::from_abi(&bad), abi::ConvertError);
    bad = view.data()[2];
    bad.fill = nullptr;
    EXPECT_THROW(abi::from_abi(&bad), abi::ConvertError);
    bad.kind = 42;
    EXPECT_THROW(abi::from_abi(&bad), abi::ConvertError);
}

TEST(AbiConvert, QueriesRoundTrip) {
    OrderQuery q;
    q.account_ids = {"a", "b"};
    q.status = OrderStatus::Open;
    q.cursor = "cur";
    q.limit = 7;
    abi::OrderQueryView view(q);
    OrderQuery back = abi::from_abi(view.get());
    EXPECT_EQ(back.account_ids, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(*back.status, OrderStatus::Open);
    EXPECT_EQ(back.cursor, "cur");
    EXPECT_EQ(back.limit, 7u);
}

TEST(AbiConvert, OwnedKeepsTheStringsOfATemporaryAlive) {
    abi::Owned<Fill> owned([] {
        Fill f;
        f.broker_trade_id = std::string(100, 'x');  // not in the small-string buffer
        f.price = Decimal::must_parse("1.01");
        return f;
    }());
    EXPECT_EQ(std::string(owned.get()->broker_trade_id.data, owned.get()->broker_trade_id.size),
              std::string(100, 'x'));
    EXPECT_EQ(abi::from_abi(owned.get()).price, Decimal::must_parse("1.01"));
}

TEST(SdkConfig, TypedGettersAndLastEntryWins) {
    sdk::Config c({{"a", "1"}, {"b", "true"}, {"d", "1.50"}, {"a", "2"}, {"bad", "x"}});
    EXPECT_TRUE(c.has("a"));
    EXPECT_EQ(c.get("a"), "2");
    EXPECT_EQ(c.get_int("a", 0), 2);
    EXPECT_EQ(c.get_int("missing", 5), 5);
    EXPECT_TRUE(c.get_bool("b", false));
    EXPECT_TRUE(c.get_decimal("d", Decimal()).identical(Decimal::must_parse("1.50")));
    EXPECT_EQ(c.get_or("missing", "fb"), "fb");
    for (auto call : {+[](const sdk::Config& c) { c.get_int("bad", 0); },
                      +[](const sdk::Config& c) { c.get_bool("bad", false); },
                      +[](const sdk::Config& c) { c.get_decimal("bad", Decimal()); },
                      +[](const sdk::Config& c) { c.get("missing"); }}) {
        try {
            call(c);
            ADD_FAILURE();
        } catch (const sdk::Error& e) {
            EXPECT_EQ(e.status(), Status::InvalidArgument);
        }
    }
}

TEST(SdkGlue, ErrorsBecomeStatusesAndMessagesAreTruncated) {
    char buf[8];
    og_error err{buf, sizeof(buf), 0};
    og_status st = sdk::detail::guarded(
        &err, [] { throw sdk::Error(Status::Rejected, "insufficient funds"); });
    EXPECT_EQ(st, OG_REJECTED);
    EXPECT_EQ(std::string(buf, err.length), "insuffic");
    EXPECT_EQ(sdk::detail::guarded(&err, [] { throw std::runtime_error("x"); }), OG_INTERNAL);
    EXPECT_EQ(sdk::detail::guarded(&err, [] { throw 1; }), OG_INTERNAL);
    EXPECT_EQ(sdk::detail::guarded(&err, [] { throw sdk::Error(Status::Ok, "no"); }), OG_INTERNAL);
    EXPECT_EQ(sdk::detail::guarded(&err, [] { throw abi::ConvertError("bad"); }),
              OG_INVALID_ARGUMENT);
    EXPECT_EQ(sdk::detail::guarded(nullptr, [] { throw std::runtime_error("x"); }), OG_INTERNAL);
    EXPECT_EQ(sdk::detail::guarded(&err, [] {}), OG_OK);
}

TEST(SdkDecimal, ParseWithDefaultOptionsStillWorks) {
    Decimal d;
    EXPECT_TRUE(Decimal::parse("12.5", &d));
    EXPECT_FALSE(Decimal::parse("1.1234567891", &d));  // more than 9 places by default
    EXPECT_TRUE(Decimal::parse("1.1234567891", &d, nullptr, 18));
}

}  // namespace
}  // namespace ordergate
