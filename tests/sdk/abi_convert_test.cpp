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

// ABI 1.3 appended leaves_quantity, exec_id and cancel_reject_reason to og_order_report.
TEST(AbiConvert, OrderReportDetailsOfABI13RoundTrip) {
    OrderReport r = sample_report();
    r.leaves_quantity = Decimal::must_parse("8.25");
    r.exec_id = "exec-77";
    r.cancel_reject_reason = "too late to cancel";
    og_order_report c = abi::to_abi(r);
    EXPECT_EQ(c.size, sizeof(og_order_report));
    EXPECT_EQ(c.leaves_quantity.has_value, 1);
    OrderReport back = abi::from_abi(&c);
    ASSERT_TRUE(back.leaves_quantity.has_value());
    EXPECT_TRUE(back.leaves_quantity->identical(Decimal::must_parse("8.25")));
    EXPECT_EQ(back.exec_id, "exec-77");
    EXPECT_EQ(back.cancel_reject_reason, "too late to cancel");
    // Not reported: absent, not zero.
    OrderReport plain = abi::from_abi(abi::Owned<OrderReport>(sample_report()).get());
    EXPECT_FALSE(plain.leaves_quantity.has_value());
    EXPECT_EQ(plain.exec_id, "");
}

// A report from a plugin built before 1.3 ends at updated_at_ns: whatever lies behind it in
// memory is not the plugin's and must not be read (here it would not even convert).
TEST(AbiConvert, OrderReportOfAnOlderMinorLeavesTheDetailsAtTheirDefaults) {
    OrderReport r = sample_report();
    og_order_report c = abi::to_abi(r);
    c.size = abi::kMinSize<og_order_report>;
    c.leaves_quantity = og_opt_decimal{og_decimal{5, 40}, 1};  // scale 40: refused if read
    c.exec_id = og_str{nullptr, 12};                            // refused if read
    c.cancel_reject_reason = og_str{nullptr, 3};
    OrderReport old = abi::from_abi(&c);
    EXPECT_EQ(old.broker_order_id, "b-1");
    EXPECT_EQ(old.updated_at_ns, 1234);
    EXPECT_FALSE(old.leaves_quantity.has_value());
    EXPECT_EQ(old.exec_id, "");
    EXPECT_EQ(old.cancel_reject_reason, "");
    // A size covering a field makes it read (and checked): field by field.
    c.size = OG_SIZE_THROUGH(og_order_report, leaves_quantity);
    EXPECT_THROW(abi::from_abi(&c), abi::ConvertError);
    c.leaves_quantity = og_opt_decimal{og_decimal{5, 1}, 1};
    OrderReport partial = abi::from_abi(&c);
    ASSERT_TRUE(partial.leaves_quantity.has_value());
    EXPECT_TRUE(partial.leaves_quantity->identical(Decimal(5, 1)));
    EXPECT_EQ(partial.exec_id, "");
    c.size = sizeof(og_order_report);
    EXPECT_THROW(abi::from_abi(&c), abi::ConvertError);  // exec_id {NULL, 12} is now read
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

// ABI 1.7: a claim and a completion carry their record and the host's clock; a record whose
// `completed` contradicts its kind, an empty key, or an op of a 1.6 host is refused.
TEST(AbiConvert, IdempotencyOpsRoundTripAndAreChecked) {
    std::vector<WriteOp> ops(2);
    ops[0].kind = WriteKind::ClaimIdempotency;
    ops[0].idempotency.key = "3:abc:k1";
    ops[0].idempotency.fingerprint = "fp";
    ops[0].idempotency.expires_at_ns = 60;
    ops[0].now_ns = 7;
    ops[1].kind = WriteKind::CompleteIdempotency;
    ops[1].requires_previous = true;
    ops[1].idempotency.key = "3:abc:k1";
    ops[1].idempotency.completed = true;
    ops[1].idempotency.response = std::string("a\0b", 3);
    ops[1].idempotency.expires_at_ns = 99;
    ops[1].now_ns = 8;
    abi::WriteBatchView view(ops);
    EXPECT_EQ(view.data()[0].kind, OG_WRITE_CLAIM_IDEMPOTENCY);
    EXPECT_EQ(view.data()[0].order, nullptr);
    std::vector<WriteOp> back = abi::from_abi(view.data(), view.size());
    EXPECT_EQ(back[0].kind, WriteKind::ClaimIdempotency);
    EXPECT_EQ(back[0].idempotency.key, "3:abc:k1");
    EXPECT_EQ(back[0].idempotency.fingerprint, "fp");
    EXPECT_FALSE(back[0].idempotency.completed);
    EXPECT_EQ(back[0].idempotency.expires_at_ns, 60);
    EXPECT_EQ(back[0].now_ns, 7);
    EXPECT_EQ(back[1].kind, WriteKind::CompleteIdempotency);
    EXPECT_TRUE(back[1].requires_previous);
    EXPECT_EQ(back[1].idempotency.response, std::string("a\0b", 3));
    EXPECT_EQ(back[1].now_ns, 8);

    og_write_op bad = view.data()[0];
    bad.kind = OG_WRITE_COMPLETE_IDEMPOTENCY;  // its record is in flight
    EXPECT_THROW(abi::from_abi(&bad), abi::ConvertError);
    bad = view.data()[1];
    bad.kind = OG_WRITE_CLAIM_IDEMPOTENCY;  // its record is completed
    EXPECT_THROW(abi::from_abi(&bad), abi::ConvertError);
    bad = view.data()[0];
    bad.idempotency = nullptr;
    EXPECT_THROW(abi::from_abi(&bad), abi::ConvertError);
    og_idempotency_record empty = *view.data()[0].idempotency;
    empty.key = abi::view("");
    bad = view.data()[0];
    bad.idempotency = &empty;
    EXPECT_THROW(abi::from_abi(&bad), abi::ConvertError);
    bad = view.data()[0];
    bad.size = static_cast<uint32_t>(offsetof(og_write_op, idempotency));  // a 1.6 host's op
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
    og_error err{buf, sizeof(buf), 0, 0};
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

// ---- ABI 1.3 through the generated tables ------------------------------------------------------

// A plugin written before 1.3: it only knows the unpaginated lists.
class OldStyleBroker : public sdk::BrokerPlugin {
public:
    explicit OldStyleBroker(const sdk::PluginContext&) {}
    OrderReport place_order(const OrderRequest&, std::chrono::milliseconds) override {
        throw sdk::Error(Status::Unsupported, "no");
    }
    OrderReport cancel_order(const std::string&, const std::string&, const std::string&,
                             std::chrono::milliseconds) override {
        throw sdk::Error(Status::Unsupported, "no");
    }
    OrderReport get_order(const std::string&, const std::string&, const std::string&) override {
        throw sdk::Error(Status::NotFound, "no");
    }
    std::vector<OrderReport> list_orders(const std::string& account, bool, int64_t) override {
        std::vector<OrderReport> out(3, sample_report());
        for (size_t i = 0; i < out.size(); ++i) {
            out[i].account_id = account;
            out[i].broker_order_id = "b-" + std::to_string(i);
        }
        return out;
    }
    std::vector<Fill> list_fills(const std::string&, int64_t) override {
        Fill f;
        f.broker_trade_id = "t-1";
        return {f};
    }
};
struct OldStyleTag {};
using OldStyleExport = sdk::detail::BrokerExport<OldStyleBroker, OldStyleTag>;

// What a result sink received.
struct PageSink {
    std::vector<OrderReport> orders;
    std::vector<Fill> fills;
    int page_ends = 0;
    std::string next_cursor = "unset";
    int32_t complete = -1;
    og_result_sink sink() {
        og_result_sink s{};
        s.size = sizeof(og_result_sink);
        s.ctx = this;
        s.on_order = [](void* ctx, const og_order_report* r) {
            static_cast<PageSink*>(ctx)->orders.push_back(abi::from_abi(r));
        };
        s.on_fill = [](void* ctx, const og_fill* f) {
            static_cast<PageSink*>(ctx)->fills.push_back(abi::from_abi(f));
        };
        s.on_page = [](void* ctx, og_str next, int32_t complete) {
            auto* self = static_cast<PageSink*>(ctx);
            ++self->page_ends;
            self->next_cursor = abi::from_abi(next, "page", "next_cursor");
            self->complete = complete;
        };
        return s;
    }
};

TEST(SdkGlue, DefaultPagesAnswerEverythingInOnePageThroughTheOldLists) {
    const og_broker_vtable* t = OldStyleExport::table();
    EXPECT_EQ(t->size, sizeof(og_broker_vtable));
    ASSERT_NE(t->list_orders_page, nullptr);
    ASSERT_NE(t->list_fills_page, nullptr);
    void* instance = nullptr;
    ASSERT_EQ(t->create(nullptr, 0, nullptr, &instance, nullptr), OG_OK);

    PageSink got;
    og_result_sink sink = got.sink();
    // `limit` 2 is not applied: the default has no way to continue, so it answers everything.
    EXPECT_EQ(t->list_orders_page(instance, abi::view("acct"), 0, 0, abi::view(""), 2, &sink,
                                  nullptr),
              OG_OK);
    ASSERT_EQ(got.orders.size(), 3u);
    EXPECT_EQ(got.orders[2].broker_order_id, "b-2");
    EXPECT_EQ(got.orders[0].account_id, "acct");
    EXPECT_EQ(got.page_ends, 1);
    EXPECT_EQ(got.next_cursor, "");
    EXPECT_EQ(got.complete, 1);

    PageSink fills;
    og_result_sink fill_sink = fills.sink();
    EXPECT_EQ(t->list_fills_page(instance, abi::view("acct"), 0, abi::view(""), 0, &fill_sink,
                                 nullptr),
              OG_OK);
    ASSERT_EQ(fills.fills.size(), 1u);
    EXPECT_EQ(fills.page_ends, 1);

    // There is no cursor to continue from.
    char buf[256];
    og_error err{buf, sizeof(buf), 0, 0};
    PageSink none;
    og_result_sink none_sink = none.sink();
    EXPECT_EQ(t->list_orders_page(instance, abi::view("acct"), 0, 0, abi::view("c-1"), 2,
                                  &none_sink, &err),
              OG_INVALID_ARGUMENT);
    EXPECT_NE(std::string(buf, err.length).find("one page"), std::string::npos);
    EXPECT_EQ(t->list_fills_page(instance, abi::view("acct"), 0, abi::view("c-1"), 2, &none_sink,
                                 nullptr),
              OG_INVALID_ARGUMENT);
    EXPECT_TRUE(none.orders.empty());
    EXPECT_EQ(none.page_ends, 0);

    // A host whose sink ends before on_page (older than 1.3) gets the items and no page end:
    // the glue checks the sink's size before calling it.
    PageSink old_host;
    og_result_sink old_sink = old_host.sink();
    old_sink.size = abi::kMinSize<og_result_sink>;
    EXPECT_EQ(t->list_orders_page(instance, abi::view("acct"), 0, 0, abi::view(""), 0, &old_sink,
                                  nullptr),
              OG_OK);
    EXPECT_EQ(old_host.orders.size(), 3u);
    EXPECT_EQ(old_host.page_ends, 0);
    t->destroy(instance);
}

class NoLeaseStorage : public sdk::StoragePlugin {
public:
    explicit NoLeaseStorage(const sdk::PluginContext&) {}
    int64_t migrate() override { return 1; }
    void ping() override {}
    std::vector<Status> write_batch(const std::vector<WriteOp>& ops) override {
        return std::vector<Status>(ops.size(), Status::Ok);
    }
    std::optional<OrderRecord> get_order(const std::string&) override { return std::nullopt; }
    std::optional<OrderRecord> get_order_by_client_id(const std::string&,
                                                      const std::string&) override {
        return std::nullopt;
    }
    std::optional<OrderRecord> get_order_by_broker_id(const std::string&,
                                                      const std::string&) override {
        return std::nullopt;
    }
    Page<OrderRecord> list_orders(const OrderQuery&) override { return {}; }
    std::vector<OrderEvent> list_events(const std::string&, int64_t, uint32_t) override {
        return {};
    }
    Page<FillRecord> list_fills(const FillQuery&) override { return {}; }
    std::optional<GttRecord> get_gtt(const std::string&) override { return std::nullopt; }
    Page<GttRecord> list_gtts(const std::vector<std::string>&, bool, const std::string&,
                              uint32_t) override {
        return {};
    }
    Page<ReconRun> list_recon_runs(const std::string&, const std::string&, uint32_t) override {
        return {};
    }
};
struct NoLeaseTag {};

TEST(SdkGlue, StorageWithoutLeasesAnswersUnsupported) {
    const og_storage_vtable* t = sdk::detail::StorageExport<NoLeaseStorage, NoLeaseTag>::table();
    EXPECT_EQ(t->size, sizeof(og_storage_vtable));
    EXPECT_GE(t->size, abi::kStorageTableSize_1_3);
    void* instance = nullptr;
    ASSERT_EQ(t->create(nullptr, 0, &instance, nullptr), OG_OK);
    int32_t held = 7;
    EXPECT_EQ(t->lease_acquire(instance, abi::view("recon:paper"), abi::view("host-a"), 1, 10,
                               &held, nullptr),
              OG_UNSUPPORTED);
    EXPECT_EQ(held, 7);  // nothing written
    EXPECT_EQ(t->lease_release(instance, abi::view("recon:paper"), abi::view("host-a"), nullptr),
              OG_UNSUPPORTED);
    t->destroy(instance);
}

TEST(SdkAbi, TableSizesPerMinor) {
    EXPECT_EQ(abi::broker_table_size_for_minor(0), abi::kBrokerTableSize_1_0);
    EXPECT_EQ(abi::broker_table_size_for_minor(2), abi::kBrokerTableSize_1_1);
    EXPECT_EQ(abi::broker_table_size_for_minor(3), abi::kBrokerTableSize_1_3);
    EXPECT_EQ(abi::broker_table_size_for_minor(9), sizeof(og_broker_vtable));
    EXPECT_EQ(abi::storage_table_size_for_minor(1), abi::kStorageTableSize_1_0);
    EXPECT_EQ(abi::storage_table_size_for_minor(2), abi::kStorageTableSize_1_2);
    EXPECT_EQ(abi::storage_table_size_for_minor(3), abi::kStorageTableSize_1_3);
    EXPECT_EQ(abi::broker_table_size_for_minor(4), abi::kBrokerTableSize_1_4);
    EXPECT_EQ(abi::storage_table_size_for_minor(4), abi::kStorageTableSize_1_4);
    EXPECT_EQ(abi::storage_table_size_for_minor(6), abi::kStorageTableSize_1_4);
    EXPECT_EQ(abi::storage_table_size_for_minor(7), sizeof(og_storage_vtable));
    EXPECT_LT(abi::kStorageTableSize_1_4, abi::kStorageTableSize_1_7);
    EXPECT_EQ(abi::broker_table_size_for_minor(5), abi::kBrokerTableSize_1_5);
    EXPECT_EQ(abi::broker_table_size_for_minor(4) < abi::kBrokerTableSize_1_5, true);
    EXPECT_EQ(abi::storage_table_size_for_minor(9), sizeof(og_storage_vtable));
    EXPECT_EQ(OG_ABI_MINOR, 7);
}

TEST(SdkDecimal, ParseWithDefaultOptionsStillWorks) {
    Decimal d;
    EXPECT_TRUE(Decimal::parse("12.5", &d));
    EXPECT_FALSE(Decimal::parse("1.1234567891", &d));  // more than 9 places by default
    EXPECT_TRUE(Decimal::parse("1.1234567891", &d, nullptr, 18));
}


// ---- ABI 1.4: arrays whose elements can grow ---------------------------------------------------

// A storage plugin recording what write_batch gave it, and the config it was created with.
class RecordingStorage : public sdk::StoragePlugin {
public:
    explicit RecordingStorage(const sdk::PluginContext& ctx) : config(ctx.config) {}
    int64_t migrate() override { return 1; }
    void ping() override {}
    std::vector<Status> write_batch(const std::vector<WriteOp>& ops) override {
        seen = ops;
        return std::vector<Status>(ops.size(), Status::Ok);
    }
    std::optional<OrderRecord> get_order(const std::string&) override { return std::nullopt; }
    std::optional<OrderRecord> get_order_by_client_id(const std::string&,
                                                      const std::string&) override {
        return std::nullopt;
    }
    std::optional<OrderRecord> get_order_by_broker_id(const std::string&,
                                                      const std::string&) override {
        return std::nullopt;
    }
    Page<OrderRecord> list_orders(const OrderQuery&) override { return {}; }
    std::vector<OrderEvent> list_events(const std::string&, int64_t, uint32_t) override {
        return {};
    }
    Page<FillRecord> list_fills(const FillQuery&) override { return {}; }
    std::optional<GttRecord> get_gtt(const std::string&) override { return std::nullopt; }
    Page<GttRecord> list_gtts(const std::vector<std::string>&, bool, const std::string&,
                              uint32_t) override {
        return {};
    }
    Page<ReconRun> list_recon_runs(const std::string&, const std::string&, uint32_t) override {
        return {};
    }
    sdk::Config config;
    std::vector<WriteOp> seen;
};
struct RecordingStorageTag {};
using RecordingStorageExport = sdk::detail::StorageExport<RecordingStorage, RecordingStorageTag>;

// What a later minor's host would send: an op that appended a field this SDK does not know.
struct GrownWriteOp {
    og_write_op op;
    uint64_t appended_later;
};

TEST(SdkGlue, WriteBatchV2ReadsEachOpWithItsOwnSize) {
    const og_storage_vtable* t = RecordingStorageExport::table();
    ASSERT_NE(t->write_batch_v2, nullptr);
    void* instance = nullptr;
    ASSERT_EQ(t->create_v2(nullptr, 0, sizeof(og_kv), &instance, nullptr), OG_OK);

    WriteOp a;
    a.kind = WriteKind::InsertFill;
    a.fill.id = "trd_1";
    a.fill.broker_trade_id = "t-1";
    WriteOp b;
    b.kind = WriteKind::UpsertReconRun;
    b.recon_run.id = "run_2";
    std::vector<WriteOp> ops{a, b};
    abi::WriteBatchView view(ops);
    // Two ops of a larger (later) size, side by side: a reader striding with its own sizeof
    // would read the second one from the middle of the first.
    GrownWriteOp grown[2];
    for (int i = 0; i < 2; ++i) {
        grown[i].op = view.data()[i];
        grown[i].op.size = sizeof(GrownWriteOp);
        grown[i].appended_later = 0xdeadbeefdeadbeefull;
    }
    const og_write_op* ptrs[2] = {&grown[0].op, &grown[1].op};
    og_status results[2] = {-1, -1};
    ASSERT_EQ(t->write_batch_v2(instance, ptrs, 2, results, nullptr), OG_OK);
    auto* self = static_cast<RecordingStorage*>(instance);
    ASSERT_EQ(self->seen.size(), 2u);
    EXPECT_EQ(self->seen[0].fill.broker_trade_id, "t-1");
    EXPECT_EQ(self->seen[1].kind, WriteKind::UpsertReconRun);
    EXPECT_EQ(self->seen[1].recon_run.id, "run_2");
    EXPECT_EQ(results[0], OG_OK);
    EXPECT_EQ(results[1], OG_OK);
    t->destroy(instance);
}

TEST(SdkGlue, WriteBatchViewLegacyArrayHasTheAbi10Stride) {
    WriteOp a;
    a.kind = WriteKind::InsertFill;
    a.fill.broker_trade_id = "t-1";
    std::vector<WriteOp> ops{a, a};
    abi::WriteBatchView view(ops);
    const og_write_op* legacy = view.legacy_data();
    const auto* second = reinterpret_cast<const og_write_op*>(
        reinterpret_cast<const unsigned char*>(legacy) + abi::kMinSize<og_write_op>);
    EXPECT_EQ(legacy[0].size, abi::kMinSize<og_write_op>);
    EXPECT_EQ(second->kind, OG_WRITE_INSERT_FILL);
    EXPECT_EQ(abi::from_abi(second->fill).broker_trade_id, "t-1");
}

// A config entry and an instrument as a later minor might grow them.
struct GrownKv {
    og_kv kv;
    og_str appended_later;
};
struct GrownInstrument {
    og_instrument instrument;
    int64_t appended_later;
};

TEST(SdkGlue, CreateV2ReadsConfigEntriesWithTheirElementSize) {
    const og_storage_vtable* t = RecordingStorageExport::table();
    GrownKv kv[2] = {{{abi::view("a"), abi::view("1")}, abi::view("x")},
                     {{abi::view("b"), abi::view("2")}, abi::view("y")}};
    void* instance = nullptr;
    ASSERT_EQ(t->create_v2(&kv[0].kv, 2, sizeof(GrownKv), &instance, nullptr), OG_OK);
    auto* self = static_cast<RecordingStorage*>(instance);
    EXPECT_EQ(self->config.get("a"), "1");
    EXPECT_EQ(self->config.get("b"), "2");
    t->destroy(instance);
    // An element smaller than og_kv's ABI 1.0 size is the host's bug, refused.
    char buf[256];
    og_error err{buf, sizeof(buf), 0, 0};
    EXPECT_EQ(t->create_v2(&kv[0].kv, 2, sizeof(og_str), &instance, &err), OG_INVALID_ARGUMENT);
    EXPECT_NE(std::string(buf, err.length).find("element size"), std::string::npos);
}

TEST(SdkGlue, InstrumentsWithAnElementSizeAreReadAtThatStride) {
    GrownInstrument items[2] = {{{abi::view("AAA"), abi::view("X")}, 7},
                                {{abi::view("BBB"), abi::view("Y")}, 8}};
    std::vector<Instrument> got = abi::from_abi(&items[0].instrument, 2, sizeof(GrownInstrument));
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[1].symbol, "BBB");
    EXPECT_EQ(got[1].exchange, "Y");
}

// A pre-1.4 plugin's cancel keeps working through cancel_order_v2 (the default forwards), and
// the chain ids cross in full.
TEST(SdkGlue, CancelOrderV2ForwardsToTheOldCancelByDefault) {
    const og_broker_vtable* t = OldStyleExport::table();
    ASSERT_NE(t->cancel_order_v2, nullptr);
    void* instance = nullptr;
    ASSERT_EQ(t->create_v2(nullptr, 0, sizeof(og_kv), nullptr, &instance, nullptr), OG_OK);
    CancelRequest r{"acct", "b-1", "c-1", "c-1.r2", "c-1"};
    og_cancel_request c = abi::to_abi(r);
    CancelRequest back = abi::from_abi(&c);
    EXPECT_EQ(back.request_id, "c-1.r2");
    EXPECT_EQ(back.orig_request_id, "c-1");
    char buf[128];
    og_error err{buf, sizeof(buf), 0, 0};
    EXPECT_EQ(t->cancel_order_v2(instance, &c, 100, nullptr, &err), OG_UNSUPPORTED);
    t->destroy(instance);
}

TEST(AbiConvert, ModifyRequestAndReportCarryTheRequestChain) {
    ModifyRequest m;
    m.broker_order_id = "b";
    m.client_order_id = "c";
    m.request_id = "c.r1";
    m.orig_request_id = "c";
    og_modify_request cm = abi::to_abi(m);
    ModifyRequest mb = abi::from_abi(&cm);
    EXPECT_EQ(mb.request_id, "c.r1");
    EXPECT_EQ(mb.orig_request_id, "c");
    // A 1.3 host's request ends before them: no chain.
    cm.size = OG_SIZE_THROUGH(og_modify_request, time_in_force);
    EXPECT_EQ(abi::from_abi(&cm).request_id, "");

    OrderReport r = sample_report();
    r.request_id = "c-1.r1";
    og_order_report c = abi::to_abi(r);
    EXPECT_EQ(abi::from_abi(&c).request_id, "c-1.r1");
    c.size = OG_SIZE_THROUGH(og_order_report, cancel_reject_reason);
    EXPECT_EQ(abi::from_abi(&c).request_id, "");
}

// ABI 1.4: a throttling plugin's wait, and an instance's own capabilities, through the table.
class ThrottledBroker : public OldStyleBroker {
public:
    explicit ThrottledBroker(const sdk::PluginContext& ctx)
        : OldStyleBroker(ctx), no_modify_(ctx.config.get_bool("no_modify", false)) {}
    OrderReport place_order(const OrderRequest&, std::chrono::milliseconds) override {
        throw sdk::Error(Status::RateLimited, "slow down", std::chrono::milliseconds(1500));
    }
    std::optional<uint64_t> instance_capabilities() const override {
        if (!no_modify_) return std::nullopt;
        return uint64_t{OG_CAP_ORDER_MARKET};
    }

private:
    bool no_modify_;
};
struct ThrottledTag {};
using ThrottledExport = sdk::detail::BrokerExport<ThrottledBroker, ThrottledTag>;

TEST(SdkGlue, RetryAfterIsWrittenOnlyForAHostWhoseErrorHasTheField) {
    const og_broker_vtable* t = ThrottledExport::table();
    void* instance = nullptr;
    ASSERT_EQ(t->create(nullptr, 0, nullptr, &instance, nullptr), OG_OK);
    OrderRequest r;
    r.client_order_id = "c";
    r.account_id = "a";
    r.symbol = "X";
    r.quantity = Decimal(1, 0);
    og_order_request c = abi::to_abi(r);
    char buf[64];
    for (uint32_t host_minor : {3u, 4u}) {
        og_host_services services{};
        services.size = sizeof(og_host_services);
        services.host_abi_major = OG_ABI_MAJOR;
        services.host_abi_minor = host_minor;
        ThrottledExport::entry(&services, "throttled", "1", OG_CAP_ORDER_MARKET);
        og_error err{buf, sizeof(buf), 0, 0};
        EXPECT_EQ(t->place_order(instance, &c, 100, nullptr, &err), OG_RATE_LIMITED);
        EXPECT_EQ(err.retry_after_ms, host_minor >= 4 ? 1500 : 0) << host_minor;
    }
    t->destroy(instance);
}

TEST(SdkGlue, InstanceCapabilitiesAreThePluginsOrUnsupported) {
    const og_broker_vtable* t = ThrottledExport::table();
    ASSERT_NE(t->get_capabilities, nullptr);
    og_kv kv{abi::view("no_modify"), abi::view("true")};
    void* plain = nullptr;
    void* restricted = nullptr;
    ASSERT_EQ(t->create(nullptr, 0, nullptr, &plain, nullptr), OG_OK);
    ASSERT_EQ(t->create(&kv, 1, nullptr, &restricted, nullptr), OG_OK);
    uint64_t caps = 7;
    EXPECT_EQ(t->get_capabilities(plain, &caps, nullptr), OG_UNSUPPORTED);
    EXPECT_EQ(t->get_capabilities(restricted, &caps, nullptr), OG_OK);
    EXPECT_EQ(caps, uint64_t{OG_CAP_ORDER_MARKET});
    t->destroy(plain);
    t->destroy(restricted);
}

// ---- ABI 1.5: native GTT ----------------------------------------------------------------------

GttRequest sample_gtt() {
    GttRequest g;
    g.gtt_id = "gtt_01";
    g.account_id = "acct";
    g.symbol = "INFY";
    g.exchange = "NSE";
    g.type = GttType::Oco;
    g.expires_at_ns = 77;
    for (const char* trig : {"1600.25", "1400.5"}) {
        GttLeg leg;
        leg.trigger_price = Decimal::must_parse(trig);
        leg.order.client_order_id = std::string("cid-") + trig;
        leg.order.account_id = "acct";
        leg.order.symbol = "INFY";
        leg.order.exchange = "NSE";
        leg.order.side = Side::Sell;
        leg.order.order_type = OrderType::Limit;
        leg.order.quantity = Decimal::must_parse("10");
        leg.order.price = Decimal::must_parse(trig);
        leg.order.extra_json = "{}";
        g.legs.push_back(leg);
    }
    return g;
}

TEST(AbiConvert, GttRequestRoundTripsItsLegsExactly) {
    GttRequest g = sample_gtt();
    abi::GttRequestView c(g);
    EXPECT_EQ(c.get()->leg_size, sizeof(og_gtt_leg));
    GttRequest back = abi::from_abi(c.get());
    EXPECT_EQ(back.gtt_id, "gtt_01");
    EXPECT_EQ(back.type, GttType::Oco);
    EXPECT_EQ(back.expires_at_ns, 77);
    ASSERT_EQ(back.legs.size(), 2u);
    EXPECT_TRUE(back.legs[0].trigger_price.identical(Decimal::must_parse("1600.25")));
    EXPECT_TRUE(back.legs[1].trigger_price.identical(Decimal::must_parse("1400.5")));
    EXPECT_EQ(back.legs[1].order.client_order_id, "cid-1400.5");
    EXPECT_EQ(back.legs[1].order.side, Side::Sell);
    EXPECT_TRUE(back.legs[1].order.price->identical(Decimal::must_parse("1400.5")));
}

TEST(AbiConvert, GttReportCarriesTheTriggeredLegAndItsOrder) {
    GttReport r;
    r.gtt_id = "gtt_01";
    r.broker_gtt_id = "PG-1";
    r.account_id = "acct";
    r.symbol = "INFY";
    r.exchange = "NSE";
    r.type = GttType::Oco;
    r.status = GttStatus::Triggered;
    r.legs = sample_gtt().legs;
    r.triggered_leg = 1;
    r.order_client_order_id = "cid-1400.5";
    r.broker_order_id = "P-9";
    r.updated_at_ns = 5;
    abi::GttReportView c(r);
    GttReport back = abi::from_abi(c.get());
    EXPECT_EQ(back.status, GttStatus::Triggered);
    ASSERT_TRUE(back.triggered_leg.has_value());
    EXPECT_EQ(*back.triggered_leg, 1u);
    EXPECT_EQ(back.order_client_order_id, "cid-1400.5");
    EXPECT_EQ(back.broker_order_id, "P-9");
    EXPECT_EQ(back.broker_gtt_id, "PG-1");
    ASSERT_EQ(back.legs.size(), 2u);

    r.triggered_leg.reset();
    r.status = GttStatus::Active;
    abi::GttReportView active(r);
    EXPECT_EQ(active.get()->triggered_leg, -1);
    EXPECT_FALSE(abi::from_abi(active.get()).triggered_leg.has_value());
}

TEST(AbiConvert, GttRecordsFromTheOtherSideAreValidated) {
    GttRequest g = sample_gtt();
    {
        abi::GttRequestView v(g);
        og_gtt_request c = *v.get();
        c.type = 3;
        EXPECT_THROW(abi::from_abi(&c), abi::ConvertError);
        c = *v.get();
        c.leg_size = sizeof(og_gtt_leg) - 1;  // smaller than a leg
        EXPECT_THROW(abi::from_abi(&c), abi::ConvertError);
        c = *v.get();
        c.leg_count = 3;  // a GTT has at most two legs
        EXPECT_THROW(abi::from_abi(&c), abi::ConvertError);
        c = *v.get();
        c.size = abi::kMinSize<og_gtt_request> - 1;
        EXPECT_THROW(abi::from_abi(&c), abi::ConvertError);
    }
    GttReport r;
    r.legs = g.legs;
    abi::GttReportView v(r);
    og_gtt_report c = *v.get();
    c.status = 0;
    EXPECT_THROW(abi::from_abi(&c), abi::ConvertError);
    c = *v.get();
    c.triggered_leg = 2;  // names no leg
    EXPECT_THROW(abi::from_abi(&c), abi::ConvertError);
}

// Legs written by a newer minor (a larger og_gtt_leg) are read at their element size.
TEST(AbiConvert, GttLegsOfANewerMinorAreReadAtTheirElementSize) {
    GttRequest g = sample_gtt();
    abi::GttRequestView v(g);
    struct BiggerLeg {
        og_gtt_leg leg;
        int64_t appended;
    };
    BiggerLeg legs[2];
    for (int i = 0; i < 2; ++i) {
        legs[i].leg = v.get()->legs[i];
        legs[i].leg.size = sizeof(BiggerLeg);
        legs[i].appended = -1;
    }
    og_gtt_request c = *v.get();
    c.legs = &legs[0].leg;
    c.leg_size = sizeof(BiggerLeg);
    GttRequest back = abi::from_abi(&c);
    ASSERT_EQ(back.legs.size(), 2u);
    EXPECT_TRUE(back.legs[1].trigger_price.identical(Decimal::must_parse("1400.5")));
}

// A plugin keeping GTTs: what the glue carries across for place_gtt and the event sink.
class GttBroker : public OldStyleBroker {
public:
    explicit GttBroker(const sdk::PluginContext& ctx) : OldStyleBroker(ctx), sink_(ctx.sink) {}
    GttReport place_gtt(const GttRequest& r, std::chrono::milliseconds) override {
        GttReport out;
        out.gtt_id = r.gtt_id;
        out.broker_gtt_id = "V-" + r.gtt_id;
        out.account_id = r.account_id;
        out.symbol = r.symbol;
        out.exchange = r.exchange;
        out.type = r.type;
        out.legs = r.legs;
        sink_.gtt_update(out);
        return out;
    }

private:
    sdk::EventSink sink_;
};
struct GttTag {};
using GttExport = sdk::detail::BrokerExport<GttBroker, GttTag>;

struct GttCollector {
    std::vector<GttReport> results;
    std::vector<GttReport> pushed;
};

TEST(SdkGlue, PlaceGttAnswersThroughTheResultSinkAndPushesOnlyToASinkWithTheSlot) {
    const og_broker_vtable* t = GttExport::table();
    EXPECT_GE(t->size, abi::kBrokerTableSize_1_5);
    ASSERT_NE(t->place_gtt, nullptr);
    GttCollector got;
    og_event_sink sink{};
    sink.size = sizeof(og_event_sink);
    sink.ctx = &got;
    sink.on_gtt_update = [](void* ctx, const og_gtt_report* r) {
        static_cast<GttCollector*>(ctx)->pushed.push_back(abi::from_abi(r));
    };
    og_event_sink old_sink = sink;  // a 1.4 host's sink ends before on_gtt_update
    old_sink.size = abi::kMinSize<og_event_sink>;
    void* instance = nullptr;
    void* old_instance = nullptr;
    ASSERT_EQ(t->create(nullptr, 0, &sink, &instance, nullptr), OG_OK);
    ASSERT_EQ(t->create(nullptr, 0, &old_sink, &old_instance, nullptr), OG_OK);

    og_result_sink out{};
    out.size = sizeof(og_result_sink);
    out.ctx = &got;
    out.on_gtt = [](void* ctx, const og_gtt_report* r) {
        static_cast<GttCollector*>(ctx)->results.push_back(abi::from_abi(r));
    };
    GttRequest g = sample_gtt();
    abi::GttRequestView c(g);
    ASSERT_EQ(t->place_gtt(instance, c.get(), 100, &out, nullptr), OG_OK);
    ASSERT_EQ(got.results.size(), 1u);
    EXPECT_EQ(got.results[0].broker_gtt_id, "V-gtt_01");
    ASSERT_EQ(got.results[0].legs.size(), 2u);
    EXPECT_EQ(got.pushed.size(), 1u);
    ASSERT_EQ(t->place_gtt(old_instance, c.get(), 100, &out, nullptr), OG_OK);
    EXPECT_EQ(got.results.size(), 2u);
    EXPECT_EQ(got.pushed.size(), 1u) << "a sink without on_gtt_update is never read past its size";
    t->destroy(instance);
    t->destroy(old_instance);
}

TEST(SdkGlue, GttCallsOfAPluginWithoutThemAnswerUnsupported) {
    const og_broker_vtable* t = ThrottledExport::table();
    void* instance = nullptr;
    ASSERT_EQ(t->create(nullptr, 0, nullptr, &instance, nullptr), OG_OK);
    GttRequest g = sample_gtt();
    abi::GttRequestView c(g);
    EXPECT_EQ(t->place_gtt(instance, c.get(), 100, nullptr, nullptr), OG_UNSUPPORTED);
    EXPECT_EQ(t->modify_gtt(instance, c.get(), 100, nullptr, nullptr), OG_UNSUPPORTED);
    EXPECT_EQ(t->cancel_gtt(instance, c.get(), 100, nullptr, nullptr), OG_UNSUPPORTED);
    EXPECT_EQ(t->get_gtt(instance, abi::view("a"), abi::view("g"), og_str{}, nullptr, nullptr),
              OG_UNSUPPORTED);
    EXPECT_EQ(t->list_gtts(instance, abi::view("a"), 1, nullptr, nullptr), OG_UNSUPPORTED);
    t->destroy(instance);
}

// ---- ABI 1.5: fill kinds -----------------------------------------------------------------------

// A 1.0-1.4 plugin's og_fill ends before kind/ref_trade_id: read as a trade, whatever lies beyond.
TEST(SdkAbi15, FillOfAnOlderPluginIsATrade) {
    og_fill c{};
    c.size = static_cast<uint32_t>(offsetof(og_fill, kind));
    c.broker_trade_id = {"E1", 2};
    c.side = OG_SIDE_BUY;
    c.quantity = {5, 0};
    c.kind = OG_FILL_BUST;          // beyond its size: never read
    c.ref_trade_id = {"junk", 4};
    Fill f = abi::from_abi(&c);
    EXPECT_EQ(f.kind, FillKind::Trade);
    EXPECT_EQ(f.ref_trade_id, "");
    c.size = sizeof(og_fill);
    f = abi::from_abi(&c);
    EXPECT_EQ(f.kind, FillKind::Bust);
    EXPECT_EQ(f.ref_trade_id, "junk");
}

TEST(SdkAbi15, BustWithoutRefTradeIdOrUnknownKindIsRefused) {
    Fill f;
    f.broker_trade_id = "B1";
    f.quantity = Decimal(1, 0);
    f.kind = FillKind::Bust;
    og_fill c = abi::to_abi(f);
    EXPECT_THROW(abi::from_abi(&c), abi::ConvertError);
    f.ref_trade_id = "E1";
    c = abi::to_abi(f);
    EXPECT_EQ(abi::from_abi(&c).ref_trade_id, "E1");
    c.kind = 7;
    EXPECT_THROW(abi::from_abi(&c), abi::ConvertError);
}

TEST(SdkAbi15, FillRecordRoundTripsKindAndRef) {
    FillRecord r;
    r.id = "trd_1";
    r.broker_trade_id = "C1";
    r.kind = FillKind::Correction;
    r.ref_trade_id = "E1";
    og_fill_record c = abi::to_abi(r);
    FillRecord back = abi::from_abi(&c);
    EXPECT_EQ(back.kind, FillKind::Correction);
    EXPECT_EQ(back.ref_trade_id, "E1");
}

}  // namespace
}  // namespace ordergate
