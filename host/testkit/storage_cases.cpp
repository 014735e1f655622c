// The storage conformance cases: what every storage plugin must do, checked through the port
// (so through the real loader and the C ABI when the port is a loaded plugin).
//
// Every case creates its rows with ids and accounts unique to this run, and only ever reads back
// rows of its own accounts or ids, so the cases may run against a store that already holds data
// (a shared PostgreSQL database, a second run on the same file).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ordergate/decimal.hpp"
#include "ordergate/sdk.hpp"
#include "ordergate/types.hpp"
#include "testkit/cases.hpp"

namespace ordergate::testkit {

namespace {

using ports::StoragePort;

// ---- checks -------------------------------------------------------------------------------------

[[noreturn]] void fail_at(int line, const std::string& what) {
    throw CaseFailure("storage_cases.cpp:" + std::to_string(line) + ": " + what);
}

#define OG_EXPECT(cond)                                          \
    do {                                                         \
        if (!(cond)) fail_at(__LINE__, "expected " #cond);       \
    } while (0)

#define OG_EXPECT_EQ(a, b)                                                                 \
    do {                                                                                   \
        const auto& og_a_ = (a);                                                           \
        const auto& og_b_ = (b);                                                           \
        if (!(og_a_ == og_b_))                                                             \
            fail_at(__LINE__, std::string("expected " #a " == " #b ": ") + show(og_a_) +   \
                                  " vs " + show(og_b_));                                   \
    } while (0)

// Runs `body`, which must throw sdk::Error with status `want`.
#define OG_EXPECT_THROWS(want, body)                                                      \
    do {                                                                                    \
        bool og_threw_ = false;                                                             \
        try {                                                                               \
            body;                                                                           \
        } catch (const sdk::Error& e) {                                                     \
            og_threw_ = true;                                                               \
            if (e.status() != (want))                                                     \
                fail_at(__LINE__, std::string("expected status ") +                         \
                                      std::string(to_string(want)) + ", got " +           \
                                      std::string(to_string(e.status())) + ": " + e.what()); \
        }                                                                                   \
        if (!og_threw_) fail_at(__LINE__, "expected " #body " to throw");                   \
    } while (0)

std::string show(const std::string& s) { return "'" + s + "'"; }
// Unused today, but without it a literal operand would print through show(bool).
[[maybe_unused]] std::string show(const char* s) { return std::string("'") + s + "'"; }
std::string show(int64_t v) { return std::to_string(v); }
std::string show(int v) { return std::to_string(v); }
std::string show(uint64_t v) { return std::to_string(v); }
std::string show(bool v) { return v ? "true" : "false"; }
std::string show(Status s) { return std::string(to_string(s)); }
std::string show(OrderStatus s) { return std::string(to_string(s)); }
std::string show(const Decimal& d) {
    return d.to_string() + " (scale " + std::to_string(d.scale()) + ")";
}
std::string show(const std::optional<Decimal>& d) { return d ? show(*d) : "null"; }
template <typename T>
std::string show(const std::vector<T>& v) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + show(v[i]);
    return out + "]";
}

// Same value AND same scale: storage must keep "1.10" as "1.10".
void expect_identical(int line, const Decimal& a, const Decimal& b, const char* what) {
    if (!a.identical(b)) fail_at(line, std::string(what) + ": " + show(a) + " vs " + show(b));
}
void expect_identical(int line, const std::optional<Decimal>& a, const std::optional<Decimal>& b,
                      const char* what) {
    if (a.has_value() != b.has_value() || (a && !a->identical(*b)))
        fail_at(line, std::string(what) + ": " + show(a) + " vs " + show(b));
}

#define OG_EXPECT_FIELD(a, b, field)                                                      \
    do {                                                                                  \
        if (!((a).field == (b).field))                                                    \
            fail_at(__LINE__, "field " #field " differs: " + show((a).field) + " vs " +   \
                                  show((b).field));                                       \
    } while (0)

void expect_same_order(int line, const OrderRecord& got, const OrderRecord& want) {
    try {
        OG_EXPECT_FIELD(got, want, id);
        OG_EXPECT_FIELD(got, want, client_order_id);
        OG_EXPECT_FIELD(got, want, broker);
        OG_EXPECT_FIELD(got, want, broker_order_id);
        OG_EXPECT_FIELD(got, want, account_id);
        OG_EXPECT_FIELD(got, want, symbol);
        OG_EXPECT_FIELD(got, want, exchange);
        OG_EXPECT(got.side == want.side);
        OG_EXPECT(got.order_type == want.order_type);
        OG_EXPECT(got.time_in_force == want.time_in_force);
        OG_EXPECT_FIELD(got, want, status);
        expect_identical(__LINE__, got.quantity, want.quantity, "quantity");
        expect_identical(__LINE__, got.filled_quantity, want.filled_quantity, "filled_quantity");
        expect_identical(__LINE__, got.price, want.price, "price");
        expect_identical(__LINE__, got.trigger_price, want.trigger_price, "trigger_price");
        expect_identical(__LINE__, got.average_fill_price, want.average_fill_price,
                         "average_fill_price");
        OG_EXPECT_FIELD(got, want, product);
        OG_EXPECT_FIELD(got, want, reject_reason);
        OG_EXPECT_FIELD(got, want, tag);
        OG_EXPECT_FIELD(got, want, extra_json);
        OG_EXPECT_FIELD(got, want, created_at_ns);
        OG_EXPECT_FIELD(got, want, updated_at_ns);
        OG_EXPECT_FIELD(got, want, version);
    } catch (const CaseFailure& e) {
        fail_at(line, std::string("order ") + want.id + ": " + e.what());
    }
}

void expect_same_fill(int line, const FillRecord& got, const FillRecord& want) {
    try {
        OG_EXPECT_FIELD(got, want, id);
        OG_EXPECT_FIELD(got, want, order_id);
        OG_EXPECT_FIELD(got, want, broker);
        OG_EXPECT_FIELD(got, want, broker_trade_id);
        OG_EXPECT_FIELD(got, want, account_id);
        OG_EXPECT_FIELD(got, want, symbol);
        OG_EXPECT_FIELD(got, want, exchange);
        OG_EXPECT(got.side == want.side);
        expect_identical(__LINE__, got.quantity, want.quantity, "quantity");
        expect_identical(__LINE__, got.price, want.price, "price");
        expect_identical(__LINE__, got.fee, want.fee, "fee");
        OG_EXPECT_FIELD(got, want, executed_at_ns);
        OG_EXPECT(got.kind == want.kind);  // ABI 1.5
        OG_EXPECT_FIELD(got, want, ref_trade_id);
    } catch (const CaseFailure& e) {
        fail_at(line, std::string("fill ") + want.id + ": " + e.what());
    }
}

// A new instance of the plugin under test, on the configured store (not migrated).
std::unique_ptr<StoragePort> open_storage(CaseContext& ctx) {
    return ctx.library().create_storage(ctx.config());
}

// ---- test data ----------------------------------------------------------------------------------

Decimal dec(const char* text) { return Decimal::must_parse(text); }

// A prefix unique to this run that sorts after every earlier run's (time first, then random).
std::string run_prefix() {
    static const char* kDigits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    uint64_t ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count());
    std::random_device rd;
    uint64_t rnd = (static_cast<uint64_t>(rd()) << 32) | rd();
    std::string out(18, '0');
    for (int i = 9; i >= 0; --i, ms >>= 5) out[static_cast<size_t>(i)] = kDigits[ms & 31];
    for (int i = 17; i >= 10; --i, rnd >>= 5) out[static_cast<size_t>(i)] = kDigits[rnd & 31];
    return out;
}

// Ids and names of one case, unique to the run: "ord_<run><case><n, zero-padded>".
class Ids {
public:
    explicit Ids(const std::string& tag) : base_(run_prefix() + tag) {}
    std::string order(int n) const { return "ord_" + base_ + pad(n); }
    std::string fill(int n) const { return "trd_" + base_ + pad(n); }
    std::string gtt(int n) const { return "gtt_" + base_ + pad(n); }
    std::string recon(int n) const { return "rec_" + base_ + pad(n); }
    std::string account(const char* name) const { return "acc_" + base_ + "_" + name; }
    std::string cid(int n) const { return "cid-" + base_ + "-" + std::to_string(n); }
    std::string trade(int n) const { return "T-" + base_ + "-" + std::to_string(n); }
    std::string broker_order(int n) const { return "B-" + base_ + "-" + std::to_string(n); }
    std::string broker() const { return "paper-" + base_; }

private:
    static std::string pad(int n) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "%06d", n);
        return buf;
    }
    std::string base_;
};

constexpr int64_t kT0 = 1'750'000'000'000'000'000;  // 2025-06-15, in ns

OrderRecord make_order(const Ids& ids, int n, const std::string& account) {
    OrderRecord o;
    o.id = ids.order(n);
    o.client_order_id = ids.cid(n);
    o.broker = ids.broker();
    o.account_id = account;
    o.symbol = "INFY";
    o.exchange = "NSE";
    o.side = Side::Buy;
    o.order_type = OrderType::Limit;
    o.time_in_force = TimeInForce::Day;
    o.status = OrderStatus::PendingNew;
    o.quantity = dec("10");
    o.filled_quantity = dec("0");
    o.price = dec("1500.50");
    o.extra_json = "{}";
    o.created_at_ns = kT0 + n * 1'000'000;
    o.updated_at_ns = o.created_at_ns;
    o.version = 1;
    return o;
}

OrderEvent first_event(const OrderRecord& o) {
    OrderEvent e;
    e.order_id = o.id;
    e.seq = 1;
    e.to_status = o.status;
    e.source = EventSource::Api;
    e.reason = "placed";
    e.request_id = "req-" + o.id;
    e.filled_quantity = o.filled_quantity;
    e.at_ns = o.created_at_ns;
    return e;
}

WriteOp insert_order(const OrderRecord& o) {
    WriteOp op;
    op.kind = WriteKind::InsertOrder;
    op.order = o;
    op.event = first_event(o);
    return op;
}

// The next version of `o` with `status`, and the op that writes it.
WriteOp update_order(OrderRecord& o, OrderStatus status, const std::string& reason) {
    WriteOp op;
    op.kind = WriteKind::UpdateOrder;
    op.expected_version = o.version;
    OrderStatus from = o.status;
    o.status = status;
    o.version += 1;
    o.updated_at_ns += 1000;
    op.order = o;
    op.event.order_id = o.id;
    op.event.seq = o.version;
    op.event.from_status = from;
    op.event.to_status = status;
    op.event.source = EventSource::Broker;
    op.event.reason = reason;
    op.event.broker_order_id = o.broker_order_id;
    op.event.filled_quantity = o.filled_quantity;
    op.event.at_ns = o.updated_at_ns;
    return op;
}

FillRecord make_fill(const Ids& ids, int n, const OrderRecord& o) {
    FillRecord f;
    f.id = ids.fill(n);
    f.order_id = o.id;
    f.broker = o.broker;
    f.broker_trade_id = ids.trade(n);
    f.account_id = o.account_id;
    f.symbol = o.symbol;
    f.exchange = o.exchange;
    f.side = o.side;
    f.quantity = dec("2.500");
    f.price = dec("1500.25");
    f.fee = dec("0.0100");
    f.executed_at_ns = kT0 + n * 1'000'000;
    return f;
}

WriteOp insert_fill(const FillRecord& f) {
    WriteOp op;
    op.kind = WriteKind::InsertFill;
    op.fill = f;
    return op;
}

std::vector<Status> write(StoragePort& s, std::vector<WriteOp> ops) {
    std::vector<Status> r = s.write_batch(ops);
    if (r.size() != ops.size())
        fail_at(__LINE__, "write_batch returned " + std::to_string(r.size()) + " results for " +
                              std::to_string(ops.size()) + " ops");
    return r;
}

void write_ok(int line, StoragePort& s, std::vector<WriteOp> ops) {
    std::vector<Status> r = write(s, std::move(ops));
    for (size_t i = 0; i < r.size(); ++i)
        if (r[i] != Status::Ok)
            fail_at(line, "op " + std::to_string(i) + " of the batch: " + show(r[i]));
}

OrderRecord must_get(int line, StoragePort& s, const std::string& id) {
    std::optional<OrderRecord> o = s.get_order(id);
    if (!o) fail_at(line, "order " + id + " not found");
    return *o;
}

// Every order of a query, page by page; checks that pages hold at most `limit` rows.
std::vector<OrderRecord> all_orders(StoragePort& s, OrderQuery q, size_t* pages = nullptr) {
    std::vector<OrderRecord> out;
    size_t n = 0;
    for (;;) {
        Page<OrderRecord> page = s.list_orders(q);
        ++n;
        if (page.items.size() > q.limit) fail_at(__LINE__, "a page holds more than limit rows");
        out.insert(out.end(), page.items.begin(), page.items.end());
        if (page.next_cursor.empty()) break;
        if (n > 10000) fail_at(__LINE__, "pagination does not end");
        q.cursor = page.next_cursor;
    }
    if (pages) *pages = n;
    return out;
}

std::vector<std::string> ids_of(const std::vector<OrderRecord>& v) {
    std::vector<std::string> out;
    for (const auto& o : v) out.push_back(o.id);
    return out;
}

// ---- the cases ----------------------------------------------------------------------------------

void migrate_fresh(CaseContext& ctx) {
    auto s = open_storage(ctx);
    int64_t v = s->migrate();
    OG_EXPECT(v > 0);
    s->ping();
    Ids ids("MF");
    write_ok(__LINE__, *s, {insert_order(make_order(ids, 1, ids.account("A")))});
    OG_EXPECT(s->get_order(ids.order(1)).has_value());
}

void migrate_idempotent(CaseContext& ctx) {
    auto s = open_storage(ctx);
    int64_t v1 = s->migrate();
    int64_t v2 = s->migrate();
    OG_EXPECT_EQ(v1, v2);
    auto other = open_storage(ctx);  // a second instance (another host) on the same store
    OG_EXPECT_EQ(other->migrate(), v1);
}

void migrate_keeps_data(CaseContext& ctx) {
    Ids ids("MK");
    OrderRecord o = make_order(ids, 1, ids.account("A"));
    FillRecord f = make_fill(ids, 1, o);
    int64_t v1 = 0;
    {
        auto s = open_storage(ctx);
        v1 = s->migrate();
        write_ok(__LINE__, *s, {insert_order(o), insert_fill(f)});
    }
    auto s = open_storage(ctx);
    OG_EXPECT_EQ(s->migrate(), v1);
    expect_same_order(__LINE__, must_get(__LINE__, *s, o.id), o);
    FillQuery q;
    q.order_id = o.id;
    Page<FillRecord> fills = s->list_fills(q);
    OG_EXPECT_EQ(fills.items.size(), size_t{1});
    expect_same_fill(__LINE__, fills.items[0], f);
    OG_EXPECT_EQ(s->list_events(o.id, 0, 0).size(), size_t{1});
}

void order_round_trip(CaseContext& ctx) {
    auto s = open_storage(ctx);
    s->migrate();
    Ids ids("RT");
    OrderRecord full = make_order(ids, 1, ids.account("A"));
    full.broker_order_id = ids.broker_order(1);
    full.symbol = "NIFTY24JUNFUT";
    full.exchange = "NFO";
    full.side = Side::Sell;
    full.order_type = OrderType::StopLimit;
    full.time_in_force = TimeInForce::Gtc;
    full.status = OrderStatus::PendingNew;
    full.quantity = dec("12.500");                      // trailing zeros are kept
    full.filled_quantity = dec("0.000");
    full.price = dec("-0.000000001");                   // negative, 9 places
    full.trigger_price = Decimal(INT64_MAX, 10);         // the whole int64 mantissa
    full.average_fill_price = dec("0.000000000000000001");  // scale 18
    full.product = "MIS";
    full.reject_reason = "";
    full.tag = "strategy \"α\" / 'quoted'";
    full.extra_json = R"({"note":"ünïcödé","n":[1,2.50]})";
    full.created_at_ns = 1'718'000'000'123'456'789;
    full.updated_at_ns = 1'718'000'000'987'654'321;
    OrderRecord market = make_order(ids, 2, ids.account("A"));
    market.order_type = OrderType::Market;
    market.price.reset();
    market.quantity = dec("1");
    WriteOp first = insert_order(full);
    first.event.broker_order_id = full.broker_order_id;
    first.event.emulated = true;
    first.event.reason = "modify emulated as cancel + new";
    write_ok(__LINE__, *s, {first, insert_order(market)});

    expect_same_order(__LINE__, must_get(__LINE__, *s, full.id), full);
    expect_same_order(__LINE__, must_get(__LINE__, *s, market.id), market);
    std::vector<OrderEvent> ev = s->list_events(full.id, 0, 0);
    OG_EXPECT_EQ(ev.size(), size_t{1});
    OG_EXPECT_EQ(ev[0].order_id, full.id);
    OG_EXPECT_EQ(ev[0].seq, int64_t{1});
    OG_EXPECT(!ev[0].from_status.has_value());
    OG_EXPECT_EQ(ev[0].to_status, OrderStatus::PendingNew);
    OG_EXPECT(ev[0].source == EventSource::Api);
    OG_EXPECT_EQ(ev[0].reason, first.event.reason);
    OG_EXPECT_EQ(ev[0].request_id, first.event.request_id);
    OG_EXPECT_EQ(ev[0].broker_order_id, full.broker_order_id);
    expect_identical(__LINE__, ev[0].filled_quantity, full.filled_quantity, "event filled");
    OG_EXPECT_EQ(ev[0].emulated, true);
    OG_EXPECT_EQ(ev[0].at_ns, first.event.at_ns);
    OG_EXPECT(!s->get_order(ids.order(99)).has_value());
}

void duplicate_client_order_id(CaseContext& ctx) {
    auto s = open_storage(ctx);
    s->migrate();
    Ids ids("DC");
    OrderRecord a = make_order(ids, 1, ids.account("A"));
    write_ok(__LINE__, *s, {insert_order(a)});
    OrderRecord dup = make_order(ids, 2, ids.account("A"));
    dup.client_order_id = a.client_order_id;
    OrderRecord other_account = make_order(ids, 3, ids.account("B"));
    other_account.client_order_id = a.client_order_id;
    OrderRecord same_id = make_order(ids, 4, ids.account("A"));
    same_id.id = a.id;
    std::vector<Status> r =
        write(*s, {insert_order(dup), insert_order(other_account), insert_order(same_id)});
    OG_EXPECT_EQ(r, (std::vector<Status>{Status::Conflict, Status::Ok, Status::Conflict}));
    OG_EXPECT(!s->get_order(dup.id).has_value());
    OG_EXPECT(s->list_events(dup.id, 0, 0).empty());
    expect_same_order(__LINE__, must_get(__LINE__, *s, a.id), a);  // untouched by same_id
    OG_EXPECT_EQ(s->list_events(a.id, 0, 0).size(), size_t{1});
    expect_same_order(__LINE__, must_get(__LINE__, *s, other_account.id), other_account);
}

void update_with_version(CaseContext& ctx) {
    auto s = open_storage(ctx);
    s->migrate();
    Ids ids("UV");
    OrderRecord o = make_order(ids, 1, ids.account("A"));
    write_ok(__LINE__, *s, {insert_order(o)});
    OrderRecord stale = o;
    o.broker_order_id = ids.broker_order(1);
    o.price = dec("1499.00");
    WriteOp ack = update_order(o, OrderStatus::Open, "ack");
    write_ok(__LINE__, *s, {ack});
    expect_same_order(__LINE__, must_get(__LINE__, *s, o.id), o);

    // The same change again (expected version 1, stored 2) conflicts and writes nothing.
    WriteOp again = update_order(stale, OrderStatus::Cancelled, "late");
    OG_EXPECT_EQ(write(*s, {again}), std::vector<Status>{Status::Conflict});
    expect_same_order(__LINE__, must_get(__LINE__, *s, o.id), o);
    OG_EXPECT_EQ(s->list_events(o.id, 0, 0).size(), size_t{2});

    // No such order: Conflict.
    OrderRecord ghost = make_order(ids, 2, ids.account("A"));
    OG_EXPECT_EQ(write(*s, {update_order(ghost, OrderStatus::Open, "ack")}),
                 std::vector<Status>{Status::Conflict});
    OG_EXPECT(s->list_events(ghost.id, 0, 0).empty());
}

// Several updates of one order in one batch (an ack and a fill, say) are judged one after the
// other, each against the version the one before it wrote, whatever way a store writes the row.
void updates_of_one_order_in_one_batch(CaseContext& ctx) {
    auto s = open_storage(ctx);
    s->migrate();
    Ids ids("UB");
    const std::string account = ids.account("A");
    OrderRecord a = make_order(ids, 1, account), b = make_order(ids, 2, account),
                c = make_order(ids, 3, account), d = make_order(ids, 4, account);
    write_ok(__LINE__, *s, {insert_order(a), insert_order(b), insert_order(c), insert_order(d)});

    // a: ack, fill, fill: three steps, each expecting the one before; the row ends at the last.
    a.broker_order_id = ids.broker_order(1);
    WriteOp a_ack = update_order(a, OrderStatus::Open, "ack");
    FillRecord a_f1 = make_fill(ids, 1, a);
    a.filled_quantity = dec("4");
    WriteOp a_part = update_order(a, OrderStatus::PartiallyFilled, "fill");
    a_part.requires_previous = true;
    FillRecord a_f2 = make_fill(ids, 2, a);
    a.filled_quantity = dec("10");
    a.average_fill_price = dec("1500.25");
    WriteOp a_done = update_order(a, OrderStatus::Filled, "fill");
    a_done.requires_previous = true;
    // b: a step whose expected version is stale (1 after the ack wrote 2) conflicts after one
    // that applied; the step after it expects 2, what the ack wrote, and applies.
    OrderRecord b_stale = b;
    b.broker_order_id = ids.broker_order(2);
    WriteOp b_ack = update_order(b, OrderStatus::Open, "ack");
    WriteOp b_late = update_order(b_stale, OrderStatus::Cancelled, "late");
    WriteOp b_after = update_order(b_stale, OrderStatus::Rejected, "after the late one");
    const OrderRecord b_last = b_stale;
    // c: the first step expects a version the row never had: it and the step after it conflict.
    OrderRecord c_wrong = c;
    c_wrong.version = 5;
    WriteOp c_first = update_order(c_wrong, OrderStatus::Open, "ack");
    WriteOp c_second = update_order(c_wrong, OrderStatus::Filled, "fill");
    // d: the fill the second step requires is a replay (its trade id is a's first): the step is
    // skipped and the row keeps the first step's state; a stale step after it (expecting 1, as
    // the ack did) conflicts.
    OrderRecord d_stale = d;
    WriteOp d_late = update_order(d_stale, OrderStatus::Cancelled, "late");
    d.broker_order_id = ids.broker_order(4);
    WriteOp d_ack = update_order(d, OrderStatus::Open, "ack");
    const OrderRecord d_acked = d;
    FillRecord d_replay = make_fill(ids, 3, d);
    d_replay.broker_trade_id = a_f1.broker_trade_id;
    d_replay.broker = a_f1.broker;
    d.filled_quantity = dec("10");
    WriteOp d_fill = update_order(d, OrderStatus::Filled, "fill");
    d_fill.requires_previous = true;

    std::vector<Status> r =
        write(*s, {a_ack, b_ack, c_first, d_ack, insert_fill(a_f1), a_part, b_late, c_second,
                   insert_fill(a_f2), a_done, b_after, insert_fill(d_replay), d_fill, d_late});
    OG_EXPECT_EQ(r, (std::vector<Status>{Status::Ok, Status::Ok, Status::Conflict, Status::Ok,
                                         Status::Ok, Status::Ok, Status::Conflict,
                                         Status::Conflict, Status::Ok, Status::Ok,
                                         Status::Ok, Status::Conflict, Status::Conflict,
                                         Status::Conflict}));
    expect_same_order(__LINE__, must_get(__LINE__, *s, a.id), a);
    expect_same_order(__LINE__, must_get(__LINE__, *s, b.id), b_last);
    expect_same_order(__LINE__, must_get(__LINE__, *s, c.id), c);
    expect_same_order(__LINE__, must_get(__LINE__, *s, d.id), d_acked);
    std::vector<OrderEvent> ev = s->list_events(a.id, 0, 0);
    OG_EXPECT_EQ(ev.size(), size_t{4});
    for (size_t i = 0; i < ev.size(); ++i) OG_EXPECT_EQ(ev[i].seq, static_cast<int64_t>(i + 1));
    if (ev.size() == 4) {
        OG_EXPECT(ev[1].to_status == OrderStatus::Open);
        OG_EXPECT(ev[2].to_status == OrderStatus::PartiallyFilled);
        OG_EXPECT(ev[3].to_status == OrderStatus::Filled);
    }
    OG_EXPECT_EQ(s->list_events(b.id, 0, 0).size(), size_t{3});
    OG_EXPECT_EQ(s->list_events(c.id, 0, 0).size(), size_t{1});
    OG_EXPECT_EQ(s->list_events(d.id, 0, 0).size(), size_t{2});
    // The next batch goes on from the versions this one left.
    d = d_acked;
    WriteOp d_cancel = update_order(d, OrderStatus::Cancelled, "cancel");
    OG_EXPECT_EQ(write(*s, {d_cancel}), std::vector<Status>{Status::Ok});
    expect_same_order(__LINE__, must_get(__LINE__, *s, d.id), d);
}

void events_in_seq_order(CaseContext& ctx) {
    auto s = open_storage(ctx);
    s->migrate();
    Ids ids("EV");
    OrderRecord o = make_order(ids, 1, ids.account("A"));
    write_ok(__LINE__, *s, {insert_order(o)});
    const OrderStatus path[] = {OrderStatus::Open, OrderStatus::PartiallyFilled,
                                OrderStatus::PendingCancel, OrderStatus::Cancelled};
    for (OrderStatus st : path) {
        o.filled_quantity = o.filled_quantity + dec("1.5");
        write_ok(__LINE__, *s, {update_order(o, st, std::string(to_string(st)))});
    }
    std::vector<OrderEvent> ev = s->list_events(o.id, 0, 0);
    OG_EXPECT_EQ(ev.size(), size_t{5});
    for (size_t i = 0; i < ev.size(); ++i) OG_EXPECT_EQ(ev[i].seq, static_cast<int64_t>(i + 1));
    OG_EXPECT_EQ(ev[4].to_status, OrderStatus::Cancelled);
    OG_EXPECT(ev[4].from_status == OrderStatus::PendingCancel);
    expect_identical(__LINE__, ev[4].filled_quantity, dec("6.0"), "last filled");
    std::vector<OrderEvent> tail = s->list_events(o.id, 2, 2);
    OG_EXPECT_EQ(tail.size(), size_t{2});
    OG_EXPECT_EQ(tail[0].seq, int64_t{3});
    OG_EXPECT_EQ(tail[1].seq, int64_t{4});
    OG_EXPECT_EQ(must_get(__LINE__, *s, o.id).version, int64_t{5});
}

void fill_duplicate_trade_id(CaseContext& ctx) {
    auto s = open_storage(ctx);
    s->migrate();
    Ids ids("FD");
    OrderRecord o = make_order(ids, 1, ids.account("A"));
    FillRecord f = make_fill(ids, 1, o);
    write_ok(__LINE__, *s, {insert_order(o), insert_fill(f)});
    FillRecord replay = make_fill(ids, 2, o);
    replay.broker_trade_id = f.broker_trade_id;  // the stream replayed it
    FillRecord other_broker = make_fill(ids, 3, o);
    other_broker.broker_trade_id = f.broker_trade_id;
    other_broker.broker = o.broker + "-2";
    FillRecord same_id = make_fill(ids, 4, o);
    same_id.id = f.id;
    std::vector<Status> r =
        write(*s, {insert_fill(replay), insert_fill(other_broker), insert_fill(same_id)});
    OG_EXPECT_EQ(r, (std::vector<Status>{Status::Conflict, Status::Ok, Status::Conflict}));
    FillQuery q;
    q.order_id = o.id;
    Page<FillRecord> page = s->list_fills(q);
    OG_EXPECT_EQ(page.items.size(), size_t{2});
    expect_same_fill(__LINE__, page.items[0], f);
    expect_same_fill(__LINE__, page.items[1], other_broker);
}

// ABI 1.5: a bust and a correction are their own rows, stored and returned with their kind and
// the trade id they act on; the trade they refer to is left as it was.
void fill_bust_and_correction_round_trip(CaseContext& ctx) {
    auto s = open_storage(ctx);
    s->migrate();
    Ids ids("FK");
    OrderRecord o = make_order(ids, 1, ids.account("A"));
    FillRecord trade = make_fill(ids, 1, o);
    FillRecord correction = make_fill(ids, 2, o);
    correction.kind = FillKind::Correction;
    correction.ref_trade_id = trade.broker_trade_id;
    correction.quantity = dec("0.75");
    FillRecord bust = make_fill(ids, 3, o);
    bust.kind = FillKind::Bust;
    bust.ref_trade_id = trade.broker_trade_id;
    write_ok(__LINE__, *s, {insert_order(o), insert_fill(trade), insert_fill(correction)});
    write_ok(__LINE__, *s, {insert_fill(bust)});
    FillQuery q;
    q.order_id = o.id;
    Page<FillRecord> page = s->list_fills(q);
    OG_EXPECT_EQ(page.items.size(), size_t{3});
    expect_same_fill(__LINE__, page.items[0], trade);
    expect_same_fill(__LINE__, page.items[1], correction);
    expect_same_fill(__LINE__, page.items[2], bust);
}

void requires_previous(CaseContext& ctx) {
    auto s = open_storage(ctx);
    s->migrate();
    Ids ids("RP");
    OrderRecord o = make_order(ids, 1, ids.account("A"));
    FillRecord f1 = make_fill(ids, 1, o);
    write_ok(__LINE__, *s, {insert_order(o), insert_fill(f1)});
    OrderRecord before = o;

    // A replayed fill conflicts, so the order update flagged REQUIRES_PREVIOUS is skipped, and so
    // is a second flagged op chained behind it.
    FillRecord replay = make_fill(ids, 2, o);
    replay.broker_trade_id = f1.broker_trade_id;
    OrderRecord o2 = o;
    o2.filled_quantity = dec("2.500");
    WriteOp upd = update_order(o2, OrderStatus::PartiallyFilled, "fill");
    upd.requires_previous = true;
    WriteOp recon;
    recon.kind = WriteKind::UpsertReconRun;
    recon.requires_previous = true;
    recon.recon_run.id = ids.recon(1);
    recon.recon_run.broker = o.broker;
    recon.recon_run.status = "OK";
    recon.recon_run.report_json = "{}";
    OrderRecord unrelated = make_order(ids, 2, ids.account("A"));
    std::vector<Status> r = write(*s, {insert_fill(replay), upd, recon, insert_order(unrelated)});
    OG_EXPECT_EQ(r, (std::vector<Status>{Status::Conflict, Status::Conflict, Status::Conflict,
                                         Status::Ok}));
    expect_same_order(__LINE__, must_get(__LINE__, *s, o.id), before);
    OG_EXPECT(s->list_recon_runs(o.broker, "", 10).items.empty());
    OG_EXPECT(s->get_order(unrelated.id).has_value());

    // A new fill lands, and the flagged update with it.
    FillRecord f3 = make_fill(ids, 3, o);
    r = write(*s, {insert_fill(f3), upd});
    OG_EXPECT_EQ(r, (std::vector<Status>{Status::Ok, Status::Ok}));
    expect_same_order(__LINE__, must_get(__LINE__, *s, o.id), o2);

    // A flagged first op has no previous op: it is applied.
    WriteOp first = insert_fill(make_fill(ids, 4, o));
    first.requires_previous = true;
    OG_EXPECT_EQ(write(*s, {first}), std::vector<Status>{Status::Ok});
}

void batch_atomicity(CaseContext& ctx) {
    auto s = open_storage(ctx);
    s->migrate();
    Ids ids("BA");
    OrderRecord a = make_order(ids, 1, ids.account("A"));
    FillRecord f = make_fill(ids, 1, a);
    OrderRecord bad = make_order(ids, 2, ids.account("A"));
    WriteOp broken = insert_order(bad);
    broken.event.seq = 7;  // an insert must carry version 1 and event seq 1
    bool threw = false;
    try {
        s->write_batch({insert_order(a), insert_fill(f), broken});
    } catch (const sdk::Error& e) {
        threw = true;
        OG_EXPECT(e.status() != Status::Ok && e.status() != Status::Conflict);
    }
    OG_EXPECT(threw);
    OG_EXPECT(!s->get_order(a.id).has_value());
    OG_EXPECT(!s->get_order(bad.id).has_value());
    OG_EXPECT(s->list_events(a.id, 0, 0).empty());
    FillQuery q;
    q.order_id = a.id;
    OG_EXPECT(s->list_fills(q).items.empty());
    // The store is still usable and the same rows can be written afterwards.
    write_ok(__LINE__, *s, {insert_order(a), insert_fill(f)});
    OG_EXPECT(s->get_order(a.id).has_value());
}

void list_orders_filters(CaseContext& ctx) {
    auto s = open_storage(ctx);
    s->migrate();
    Ids ids("LF");
    std::string A = ids.account("A"), B = ids.account("B"), C = ids.account("C");
    std::vector<OrderRecord> all;
    std::vector<WriteOp> ops;
    const OrderStatus statuses[] = {OrderStatus::PendingNew, OrderStatus::Open,
                                    OrderStatus::Filled, OrderStatus::Cancelled,
                                    OrderStatus::PartiallyFilled, OrderStatus::Rejected};
    for (int i = 1; i <= 30; ++i) {
        OrderRecord o = make_order(ids, i, i % 3 == 0 ? C : (i % 2 ? A : B));
        o.symbol = i % 4 == 0 ? "TCS" : "INFY";
        o.broker = i % 5 == 0 ? ids.broker() + "-x" : ids.broker();
        o.status = statuses[i % 6];
        all.push_back(o);
        ops.push_back(insert_order(o));
    }
    write_ok(__LINE__, *s, ops);
    auto expect_ids = [&](int line, OrderQuery q, auto pred) {
        std::vector<std::string> want;
        for (const auto& o : all)
            if (pred(o)) want.push_back(o.id);
        if (q.descending) std::reverse(want.begin(), want.end());
        std::vector<std::string> got = ids_of(all_orders(*s, q));
        if (got != want) fail_at(line, "got " + show(got) + ", want " + show(want));
    };
    OrderQuery q;
    q.limit = 7;
    q.account_ids = {A, B};
    auto in_ab = [&](const OrderRecord& o) { return o.account_id == A || o.account_id == B; };
    expect_ids(__LINE__, q, in_ab);
    OrderQuery one = q;
    one.account_ids = {C};
    expect_ids(__LINE__, one, [&](const OrderRecord& o) { return o.account_id == C; });
    OrderQuery st = q;
    st.status = OrderStatus::Open;
    expect_ids(__LINE__, st, [&](const OrderRecord& o) {
        return in_ab(o) && o.status == OrderStatus::Open;
    });
    OrderQuery open = q;
    open.open_only = true;
    expect_ids(__LINE__, open, [&](const OrderRecord& o) { return in_ab(o) && !is_terminal(o.status); });
    OrderQuery sym = q;
    sym.symbol = "TCS";
    expect_ids(__LINE__, sym, [&](const OrderRecord& o) { return in_ab(o) && o.symbol == "TCS"; });
    OrderQuery brk = q;
    brk.broker = ids.broker() + "-x";
    expect_ids(__LINE__, brk,
               [&](const OrderRecord& o) { return in_ab(o) && o.broker == brk.broker; });
    OrderQuery since = q;
    since.since_ns = all[19].created_at_ns;
    expect_ids(__LINE__, since, [&](const OrderRecord& o) {
        return in_ab(o) && o.created_at_ns >= since.since_ns;
    });
    OrderQuery combined = q;
    combined.account_ids = {A, B, C};
    combined.open_only = true;
    combined.symbol = "INFY";
    combined.since_ns = all[4].created_at_ns;
    combined.descending = true;
    expect_ids(__LINE__, combined, [&](const OrderRecord& o) {
        return !is_terminal(o.status) && o.symbol == "INFY" && o.created_at_ns >= combined.since_ns;
    });
    OrderQuery none = q;
    none.account_ids = {ids.account("nobody")};
    OG_EXPECT(all_orders(*s, none).empty());
}

void list_orders_pagination(CaseContext& ctx) {
    auto s = open_storage(ctx);
    s->migrate();
    Ids ids("PG");
    std::string A = ids.account("A");
    std::vector<std::string> want;
    std::vector<WriteOp> ops;
    for (int i = 1; i <= 250; ++i) {
        OrderRecord o = make_order(ids, i, A);
        want.push_back(o.id);
        ops.push_back(insert_order(o));
    }
    write_ok(__LINE__, *s, ops);
    OrderQuery q;
    q.account_ids = {A};
    q.limit = 100;
    size_t pages = 0;
    std::vector<OrderRecord> got = all_orders(*s, q, &pages);
    OG_EXPECT_EQ(ids_of(got), want);  // every row once, in id order: no duplicate, no gap
    OG_EXPECT_EQ(pages, size_t{3});
    Page<OrderRecord> first = s->list_orders(q);
    OG_EXPECT_EQ(first.items.size(), size_t{100});
    OG_EXPECT(!first.next_cursor.empty());
    OG_EXPECT(first.next_cursor != first.items.back().id);  // opaque, not the id itself

    q.descending = true;
    std::vector<std::string> rev = want;
    std::reverse(rev.begin(), rev.end());
    OG_EXPECT_EQ(ids_of(all_orders(*s, q)), rev);

    // Exactly a multiple of the limit: the last page is full, then nothing more.
    q.descending = false;
    q.limit = 125;
    OG_EXPECT_EQ(ids_of(all_orders(*s, q, &pages)), want);
    OG_EXPECT(pages == 2 || pages == 3);

    OrderQuery bad = q;
    bad.cursor = "not-a-cursor";
    OG_EXPECT_THROWS(Status::InvalidArgument, s->list_orders(bad));
}

void list_fills_pagination(CaseContext& ctx) {
    auto s = open_storage(ctx);
    s->migrate();
    Ids ids("FP");
    std::string A = ids.account("A");
    OrderRecord o1 = make_order(ids, 1, A), o2 = make_order(ids, 2, A);
    std::vector<WriteOp> ops{insert_order(o1), insert_order(o2)};
    std::vector<std::string> want, want_o2, want_since;
    for (int i = 1; i <= 120; ++i) {
        FillRecord f = make_fill(ids, i, i % 2 ? o1 : o2);
        ops.push_back(insert_fill(f));
        want.push_back(f.id);
        if (f.order_id == o2.id) want_o2.push_back(f.id);
        if (i >= 100) want_since.push_back(f.id);
    }
    write_ok(__LINE__, *s, ops);
    auto collect = [&](FillQuery q) {
        std::vector<std::string> got;
        for (int n = 0;; ++n) {
            Page<FillRecord> p = s->list_fills(q);
            if (p.items.size() > q.limit) fail_at(__LINE__, "a page holds more than limit rows");
            for (const auto& f : p.items) got.push_back(f.id);
            if (p.next_cursor.empty()) break;
            if (n > 1000) fail_at(__LINE__, "pagination does not end");
            q.cursor = p.next_cursor;
        }
        return got;
    };
    FillQuery q;
    q.account_ids = {A};
    q.limit = 50;
    OG_EXPECT_EQ(collect(q), want);
    FillQuery by_order = q;
    by_order.order_id = o2.id;
    OG_EXPECT_EQ(collect(by_order), want_o2);
    FillQuery since = q;
    since.since_ns = kT0 + 100 * 1'000'000;
    OG_EXPECT_EQ(collect(since), want_since);
    FillQuery desc = q;
    desc.descending = true;
    std::vector<std::string> rev = want;
    std::reverse(rev.begin(), rev.end());
    OG_EXPECT_EQ(collect(desc), rev);
}

GttRecord make_gtt(const Ids& ids, int n, const std::string& account) {
    GttRecord g;
    g.id = ids.gtt(n);
    g.account_id = account;
    g.symbol = "INFY";
    g.exchange = "NSE";
    g.status = "ACTIVE";
    g.body_json = R"({"type":"single","triggers":["1400.05"],"orders":[{"quantity":"1"}]})";
    g.expires_at_ns = kT0 + 86'400'000'000'000;
    g.created_at_ns = kT0 + n;
    g.updated_at_ns = kT0 + n;
    g.version = 1;
    return g;
}

WriteOp upsert_gtt(const GttRecord& g, int64_t expected) {
    WriteOp op;
    op.kind = WriteKind::UpsertGtt;
    op.gtt = g;
    op.expected_version = expected;
    return op;
}

void gtt_upsert_get_list(CaseContext& ctx) {
    auto s = open_storage(ctx);
    s->migrate();
    Ids ids("GT");
    std::string A = ids.account("A"), B = ids.account("B");
    GttRecord g = make_gtt(ids, 1, A);
    write_ok(__LINE__, *s, {upsert_gtt(g, 0)});
    OG_EXPECT_EQ(write(*s, {upsert_gtt(g, 0)}), std::vector<Status>{Status::Conflict});
    std::optional<GttRecord> got = s->get_gtt(g.id);
    OG_EXPECT(got.has_value());
    OG_EXPECT_EQ(got->body_json, g.body_json);
    OG_EXPECT_EQ(got->expires_at_ns, g.expires_at_ns);
    OG_EXPECT_EQ(got->version, int64_t{1});

    GttRecord triggered = g;
    triggered.status = "TRIGGERED";
    triggered.version = 2;
    triggered.updated_at_ns += 5;
    write_ok(__LINE__, *s, {upsert_gtt(triggered, 1)});
    OG_EXPECT_EQ(write(*s, {upsert_gtt(triggered, 1)}), std::vector<Status>{Status::Conflict});
    got = s->get_gtt(g.id);
    OG_EXPECT(got.has_value());
    OG_EXPECT_EQ(got->status, std::string("TRIGGERED"));
    OG_EXPECT_EQ(got->version, int64_t{2});
    OG_EXPECT_EQ(got->created_at_ns, g.created_at_ns);
    OG_EXPECT_EQ(got->updated_at_ns, triggered.updated_at_ns);
    OG_EXPECT(!s->get_gtt(ids.gtt(99)).has_value());
    OG_EXPECT_EQ(write(*s, {upsert_gtt(make_gtt(ids, 98, A), 3)}),
                 std::vector<Status>{Status::Conflict});

    std::vector<WriteOp> ops;
    std::vector<std::string> want_all{g.id}, want_active;
    for (int i = 2; i <= 12; ++i) {
        GttRecord x = make_gtt(ids, i, i % 2 ? A : B);
        if (i % 3 == 0) x.status = "CANCELLED";
        ops.push_back(upsert_gtt(x, 0));
        want_all.push_back(x.id);
        if (x.status == "ACTIVE") want_active.push_back(x.id);
    }
    write_ok(__LINE__, *s, ops);
    auto collect = [&](bool active_only) {
        std::vector<std::string> got_ids;
        std::string cursor;
        for (int n = 0;; ++n) {
            Page<GttRecord> p = s->list_gtts({A, B}, active_only, cursor, 4);
            if (p.items.size() > 4) fail_at(__LINE__, "a page holds more than limit rows");
            for (const auto& x : p.items) got_ids.push_back(x.id);
            if (p.next_cursor.empty()) break;
            if (n > 100) fail_at(__LINE__, "pagination does not end");
            cursor = p.next_cursor;
        }
        return got_ids;
    };
    OG_EXPECT_EQ(collect(false), want_all);
    OG_EXPECT_EQ(collect(true), want_active);
    Page<GttRecord> only_b = s->list_gtts({B}, false, "", 100);
    for (const auto& x : only_b.items) OG_EXPECT_EQ(x.account_id, B);
    OG_EXPECT_EQ(only_b.items.size(), size_t{6});
}

void recon_runs(CaseContext& ctx) {
    auto s = open_storage(ctx);
    s->migrate();
    Ids ids("RR");
    std::string broker = ids.broker();
    std::vector<WriteOp> ops;
    for (int i = 1; i <= 5; ++i) {
        WriteOp op;
        op.kind = WriteKind::UpsertReconRun;
        op.recon_run.id = ids.recon(i);
        op.recon_run.broker = i == 5 ? broker + "-other" : broker;
        op.recon_run.status = "RUNNING";
        op.recon_run.report_json = "{}";
        op.recon_run.started_at_ns = kT0 + i * 1000;
        ops.push_back(op);
    }
    write_ok(__LINE__, *s, ops);
    WriteOp done = ops[1];
    done.recon_run.status = "DRIFT";
    done.recon_run.report_json = R"({"drift":[{"kind":"missing_fill"}]})";
    done.recon_run.finished_at_ns = kT0 + 99'000;
    write_ok(__LINE__, *s, {done});

    std::vector<std::string> got;
    std::string cursor;
    for (int n = 0;; ++n) {
        Page<ReconRun> p = s->list_recon_runs(broker, cursor, 2);
        if (p.items.size() > 2) fail_at(__LINE__, "a page holds more than limit rows");
        for (const auto& r : p.items) {
            got.push_back(r.id);
            if (r.id == done.recon_run.id) {
                OG_EXPECT_EQ(r.status, std::string("DRIFT"));
                OG_EXPECT_EQ(r.report_json, done.recon_run.report_json);
                OG_EXPECT_EQ(r.finished_at_ns, done.recon_run.finished_at_ns);
                OG_EXPECT_EQ(r.started_at_ns, done.recon_run.started_at_ns);
            }
        }
        if (p.next_cursor.empty()) break;
        if (n > 100) fail_at(__LINE__, "pagination does not end");
        cursor = p.next_cursor;
    }
    // Newest first, the other broker's run left out.
    OG_EXPECT_EQ(got, (std::vector<std::string>{ids.recon(4), ids.recon(3), ids.recon(2),
                                                ids.recon(1)}));
}

void get_by_client_and_broker_id(CaseContext& ctx) {
    auto s = open_storage(ctx);
    s->migrate();
    Ids ids("GB");
    std::string A = ids.account("A"), B = ids.account("B");
    OrderRecord a = make_order(ids, 1, A);
    OrderRecord b = make_order(ids, 2, B);
    b.client_order_id = ids.cid(2);
    write_ok(__LINE__, *s, {insert_order(a), insert_order(b)});
    expect_same_order(__LINE__, s->get_order_by_client_id(A, a.client_order_id).value(), a);
    OG_EXPECT(!s->get_order_by_client_id(B, a.client_order_id).has_value());
    OG_EXPECT(!s->get_order_by_client_id(A, ids.cid(77)).has_value());
    // An empty account matches any account.
    expect_same_order(__LINE__, s->get_order_by_client_id("", b.client_order_id).value(), b);

    // Acks give broker ids; a later order reusing a broker id is the one found.
    a.broker_order_id = ids.broker_order(1);
    b.broker_order_id = ids.broker_order(1);
    b.broker = a.broker;
    WriteOp ack_b = update_order(b, OrderStatus::Open, "ack");
    WriteOp ack_a = update_order(a, OrderStatus::Open, "ack");
    write_ok(__LINE__, *s, {ack_a, ack_b});
    OrderRecord found = s->get_order_by_broker_id(a.broker, ids.broker_order(1)).value();
    OG_EXPECT_EQ(found.id, b.id);
    OG_EXPECT(!s->get_order_by_broker_id(a.broker + "-other", ids.broker_order(1)).has_value());
    OG_EXPECT(!s->get_order_by_broker_id(a.broker, ids.broker_order(2)).has_value());
}

// ---- appended in ABI 1.4 (sdk14): request chains ------------------------------------------------
// The order of a modify's or cancel's client request id, which its events carry: how the host
// finds an order named by an id of its chain after a restart. Optional (Unsupported skips).
void get_by_request_id(CaseContext& ctx) {
    auto s = open_storage(ctx);
    s->migrate();
    Ids ids("RQ");
    std::string A = ids.account("A"), B = ids.account("B");
    OrderRecord a = make_order(ids, 1, A);
    OrderRecord b = make_order(ids, 2, B);
    b.client_order_id = ids.cid(2);
    write_ok(__LINE__, *s, {insert_order(a), insert_order(b)});
    const std::string modify_id = ids.cid(11), cancel_id = ids.cid(12);
    WriteOp replace = update_order(a, OrderStatus::PendingReplace, "modify requested");
    replace.event.request_id = modify_id;
    WriteOp confirmed = update_order(a, OrderStatus::Open, "modify confirmed");
    confirmed.event.request_id = modify_id;
    WriteOp cancel = update_order(a, OrderStatus::PendingCancel, "cancel requested");
    cancel.event.request_id = cancel_id;
    write_ok(__LINE__, *s, {replace, confirmed, cancel});
    std::optional<OrderRecord> found;
    try {
        found = s->get_order_by_request_id(A, modify_id);
    } catch (const sdk::Error& e) {
        if (e.status() == Status::Unsupported)
            ctx.skip("get_order_by_request_id not supported (ABI 1.4, optional: the host then "
                     "finds a request chain's ids only while it runs)");
        throw;
    }
    OG_EXPECT(found.has_value());
    if (found) expect_same_order(__LINE__, *found, a);
    std::optional<OrderRecord> by_cancel = s->get_order_by_request_id(A, cancel_id);
    OG_EXPECT(by_cancel && by_cancel->id == a.id);
    std::optional<OrderRecord> any_account = s->get_order_by_request_id("", cancel_id);
    OG_EXPECT(any_account && any_account->id == a.id);
    OG_EXPECT(!s->get_order_by_request_id(B, modify_id).has_value());         // not B's
    OG_EXPECT(!s->get_order_by_request_id(A, ids.cid(77)).has_value());
}

void concurrent_writers(CaseContext& ctx) {
    auto s = open_storage(ctx);
    s->migrate();
    Ids ids("CW");
    std::string A = ids.account("A");
    constexpr int kThreads = 4, kBatches = 200, kPerBatch = 2;
    std::atomic<int> conflicts{0};
    std::vector<std::string> errors(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            try {
                for (int b = 0; b < kBatches; ++b) {
                    std::vector<WriteOp> ops;
                    for (int k = 0; k < kPerBatch; ++k) {
                        int n = (t * kBatches + b) * kPerBatch + k;
                        OrderRecord o = make_order(ids, n, A);
                        ops.push_back(insert_order(o));
                        // Every other batch also acks its first order in the same batch.
                        if (k == 0 && b % 2 == 0) {
                            o.broker_order_id = ids.broker_order(n);
                            ops.push_back(update_order(o, OrderStatus::Open, "ack"));
                        }
                    }
                    for (Status st : s->write_batch(ops))
                        if (st != Status::Ok) ++conflicts;
                }
            } catch (const std::exception& e) {
                errors[static_cast<size_t>(t)] = e.what();
            }
        });
    }
    for (auto& th : threads) th.join();
    for (const auto& e : errors)
        if (!e.empty()) fail_at(__LINE__, "a writer thread failed: " + e);
    OG_EXPECT_EQ(conflicts.load(), 0);
    OrderQuery q;
    q.account_ids = {A};
    q.limit = 1000;
    std::vector<OrderRecord> all = all_orders(*s, q);
    OG_EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kBatches * kPerBatch));
    std::set<std::string> unique;
    size_t open = 0;
    for (const auto& o : all) {
        unique.insert(o.id);
        if (o.status == OrderStatus::Open) {
            ++open;
            OG_EXPECT_EQ(o.version, int64_t{2});
        }
    }
    OG_EXPECT_EQ(unique.size(), all.size());
    OG_EXPECT_EQ(open, static_cast<size_t>(kThreads * kBatches / 2));
}

// ---- idempotency records (ABI 1.2) --------------------------------------------------------------
// Times are the host's, passed in: these cases use kT0-based times, far before the wall clock, so
// they never expire (or purge) records a host is using for real on a shared store.

IdempotencyRecord idem_marker(const std::string& key, const std::string& fp, int64_t expires) {
    IdempotencyRecord r;
    r.key = key;
    r.fingerprint = fp;
    r.expires_at_ns = expires;
    return r;
}

IdempotencyRecord idem_completed(const std::string& key, const std::string& fp,
                                 std::string response, int64_t expires) {
    IdempotencyRecord r = idem_marker(key, fp, expires);
    r.completed = true;
    r.response = std::move(response);
    return r;
}

void idempotency_claim_complete_replay(CaseContext& ctx) {
    auto s = open_storage(ctx);
    s->migrate();
    Ids ids("IC");
    const std::string key = ids.account("key");
    const int64_t now = kT0;
    OG_EXPECT(!s->idempotency_begin(idem_marker(key, "fp1", now + 60), now).has_value());
    // While in flight: the marker is reported, nothing is written.
    auto held = s->idempotency_begin(idem_marker(key, "fp2", now + 99), now + 1);
    OG_EXPECT(held.has_value());
    OG_EXPECT_EQ(held->key, key);
    OG_EXPECT_EQ(held->fingerprint, std::string("fp1"));
    OG_EXPECT(!held->completed);
    OG_EXPECT_EQ(held->expires_at_ns, now + 60);
    // Another request's fingerprint cannot complete the key; its own can, once.
    OG_EXPECT(!s->idempotency_complete(idem_completed(key, "fp2", "x", now + 100), now + 2));
    std::string bytes = "{\"id\":\"ord_1\"}\r\n";
    for (int c = 0; c < 256; ++c) bytes.push_back(static_cast<char>(c));  // NUL included
    OG_EXPECT(s->idempotency_complete(idem_completed(key, "fp1", bytes, now + 1000), now + 2));
    OG_EXPECT(!s->idempotency_complete(idem_completed(key, "fp1", "later", now + 2000), now + 3));
    held = s->idempotency_begin(idem_marker(key, "fp1", now + 99), now + 4);
    OG_EXPECT(held.has_value());
    OG_EXPECT(held->completed);
    OG_EXPECT_EQ(held->response.size(), bytes.size());
    OG_EXPECT(held->response == bytes);
    OG_EXPECT_EQ(held->expires_at_ns, now + 1000);
    // A completed record is not released.
    s->idempotency_release(key, "fp1", now + 5);
    OG_EXPECT(s->idempotency_begin(idem_marker(key, "fp1", now + 99), now + 6).has_value());
    // Completing a key nobody holds stores the answer (the lease ran out while the request ran).
    const std::string other = ids.account("absent");
    OG_EXPECT(s->idempotency_complete(idem_completed(other, "fp", "", now + 50), now));
    held = s->idempotency_begin(idem_marker(other, "fp", now + 99), now + 1);
    OG_EXPECT(held.has_value() && held->completed && held->response.empty());
}

void idempotency_expiry_release_purge(CaseContext& ctx) {
    auto s = open_storage(ctx);
    s->migrate();
    Ids ids("IE");
    const std::string key = ids.account("key");
    const int64_t now = kT0;
    OG_EXPECT(!s->idempotency_begin(idem_marker(key, "fp1", now + 10), now).has_value());
    // At its expiry time the marker counts as absent: a new claim replaces it.
    OG_EXPECT(!s->idempotency_begin(idem_marker(key, "fp2", now + 30), now + 10).has_value());
    auto held = s->idempotency_begin(idem_marker(key, "fp3", now + 99), now + 11);
    OG_EXPECT(held.has_value());
    OG_EXPECT_EQ(held->fingerprint, std::string("fp2"));
    // Release drops only this request's marker.
    s->idempotency_release(key, "fp1", now + 12);
    OG_EXPECT(s->idempotency_begin(idem_marker(key, "fp3", now + 99), now + 12).has_value());
    s->idempotency_release(key, "fp2", now + 13);
    OG_EXPECT(!s->idempotency_begin(idem_marker(key, "fp3", now + 40), now + 14).has_value());
    s->idempotency_release(ids.account("never-used"), "fp", now);  // absent: nothing happens
    // An expired completed record is absent too, and completing over it stores the new answer.
    const std::string done = ids.account("done");
    OG_EXPECT(s->idempotency_complete(idem_completed(done, "a", "old", now + 20), now));
    OG_EXPECT(s->idempotency_complete(idem_completed(done, "b", "new", now + 80), now + 20));
    held = s->idempotency_begin(idem_marker(done, "b", now + 99), now + 21);
    OG_EXPECT(held.has_value() && held->response == "new");
    // Purge deletes expired records (at most `limit` per call) and nothing live.
    std::vector<std::string> keys;
    for (int i = 0; i < 3; ++i) {
        keys.push_back(ids.account(("p" + std::to_string(i)).c_str()));
        OG_EXPECT(!s->idempotency_begin(idem_marker(keys.back(), "fp", now + 100), now).has_value());
    }
    const std::string live = ids.account("live");
    OG_EXPECT(!s->idempotency_begin(idem_marker(live, "fp", now + 10'000), now).has_value());
    uint64_t first = s->idempotency_purge(now + 200, 2);
    OG_EXPECT(first <= 2);
    s->idempotency_purge(now + 200, 0);
    OG_EXPECT_EQ(s->idempotency_purge(now + 200, 0), uint64_t{0});
    held = s->idempotency_begin(idem_marker(live, "fp", now + 99), now + 201);
    OG_EXPECT(held.has_value());  // the live record stayed
    // The purged keys are free; claiming them proves the rows are gone (not merely expired: a
    // claim at an earlier time than their expiry would otherwise see them).
    for (const auto& k : keys)
        OG_EXPECT(!s->idempotency_begin(idem_marker(k, "fp", now + 300), now).has_value());
}

void idempotency_concurrent_claims(CaseContext& ctx) {
    auto s = open_storage(ctx);
    s->migrate();
    Ids ids("IK");
    const std::string key = ids.account("key");
    constexpr int kThreads = 8;
    std::atomic<int> claimed{0}, held{0}, failed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            try {
                auto r = s->idempotency_begin(
                    idem_marker(key, "fp" + std::to_string(t), kT0 + 1000), kT0);
                (r ? held : claimed).fetch_add(1);
            } catch (const std::exception&) {
                failed.fetch_add(1);
            }
        });
    }
    for (auto& th : threads) th.join();
    OG_EXPECT_EQ(failed.load(), 0);
    OG_EXPECT_EQ(claimed.load(), 1);
    OG_EXPECT_EQ(held.load(), kThreads - 1);
}

// ---- idempotency records in write batches (ABI 1.7) -------------------------------------------
// A place claims its key in its intent's transaction and answers are stored in group commits.
// Optional: a plugin whose idempotency_get answers Unsupported skips these cases (the host then
// claims and completes keys with the 1.2 calls).

WriteOp idem_op(WriteKind kind, IdempotencyRecord r, int64_t now) {
    WriteOp op;
    op.kind = kind;
    op.idempotency = std::move(r);
    op.now_ns = now;
    return op;
}

// The first idempotency_get of a case: skips the case when the plugin has no 1.7 records.
std::optional<IdempotencyRecord> first_idempotency_get(CaseContext& ctx, StoragePort& s,
                                                       const std::string& key, int64_t now) {
    try {
        return s.idempotency_get(key, now);
    } catch (const sdk::Error& e) {
        if (e.status() == Status::Unsupported)
            ctx.skip("idempotency records in write batches not supported (ABI 1.7, optional: "
                     "the host then uses a transaction per idempotency call)");
        throw;
    }
}

void idempotency_in_write_batches(CaseContext& ctx) {
    auto s = open_storage(ctx);
    s->migrate();
    Ids ids("IB");
    const std::string key = ids.account("key");
    const int64_t now = kT0;
    OG_EXPECT(!first_idempotency_get(ctx, *s, key, now).has_value());
    // The claim and the order it guards land together.
    OrderRecord o = make_order(ids, 1, ids.account("A"));
    WriteOp guarded = insert_order(o);
    guarded.requires_previous = true;
    OG_EXPECT_EQ(write(*s, {idem_op(WriteKind::ClaimIdempotency, idem_marker(key, "fp1", now + 60),
                                    now),
                            guarded}),
                 (std::vector<Status>{Status::Ok, Status::Ok}));
    OG_EXPECT(s->get_order(o.id).has_value());
    auto held = s->idempotency_get(key, now + 1);
    OG_EXPECT(held.has_value() && !held->completed && held->fingerprint == "fp1" &&
              held->expires_at_ns == now + 60);
    // A second claim while the first is live conflicts and writes nothing; the order it guards
    // is skipped with it.
    OrderRecord o2 = make_order(ids, 2, ids.account("A"));
    WriteOp guarded2 = insert_order(o2);
    guarded2.requires_previous = true;
    OG_EXPECT_EQ(write(*s, {idem_op(WriteKind::ClaimIdempotency, idem_marker(key, "fp2", now + 99),
                                    now + 2),
                            guarded2}),
                 (std::vector<Status>{Status::Conflict, Status::Conflict}));
    OG_EXPECT(!s->get_order(o2.id).has_value());
    held = s->idempotency_get(key, now + 3);
    OG_EXPECT(held.has_value() && held->fingerprint == "fp1");
    // Another request's fingerprint cannot complete the key; its own can, once; the read sees
    // the answer byte for byte.
    OG_EXPECT_EQ(write(*s, {idem_op(WriteKind::CompleteIdempotency,
                                    idem_completed(key, "fp2", "x", now + 100), now + 4)}),
                 std::vector<Status>{Status::Conflict});
    std::string bytes = "{\"id\":\"ord_1\"}";
    for (int c = 0; c < 256; ++c) bytes.push_back(static_cast<char>(c));  // NUL included
    OG_EXPECT_EQ(write(*s, {idem_op(WriteKind::CompleteIdempotency,
                                    idem_completed(key, "fp1", bytes, now + 1000), now + 4)}),
                 std::vector<Status>{Status::Ok});
    OG_EXPECT_EQ(write(*s, {idem_op(WriteKind::CompleteIdempotency,
                                    idem_completed(key, "fp1", "later", now + 2000), now + 5)}),
                 std::vector<Status>{Status::Conflict});
    held = s->idempotency_get(key, now + 6);
    OG_EXPECT(held.has_value() && held->completed && held->response == bytes &&
              held->expires_at_ns == now + 1000);
    // The 1.2 calls see what the batches wrote.
    held = s->idempotency_begin(idem_marker(key, "fp1", now + 99), now + 7);
    OG_EXPECT(held.has_value() && held->completed && held->response == bytes);
    // At its expiry a record reads as absent, and a claim replaces it.
    OG_EXPECT(!s->idempotency_get(key, now + 1000).has_value());
    OG_EXPECT_EQ(write(*s, {idem_op(WriteKind::ClaimIdempotency,
                                    idem_marker(key, "fp3", now + 1100), now + 1000)}),
                 std::vector<Status>{Status::Ok});
    held = s->idempotency_get(key, now + 1001);
    OG_EXPECT(held.has_value() && !held->completed && held->fingerprint == "fp3");
    // A batch that fails writes no claim either.
    const std::string lost = ids.account("lost");
    OrderRecord bad = make_order(ids, 3, ids.account("A"));
    WriteOp broken = insert_order(bad);
    broken.event.seq = 7;  // an insert must carry version 1 and event seq 1
    bool threw = false;
    try {
        s->write_batch({idem_op(WriteKind::ClaimIdempotency, idem_marker(lost, "fp", now + 60), now),
                        broken});
    } catch (const sdk::Error& e) {
        threw = true;
        OG_EXPECT(e.status() != Status::Ok && e.status() != Status::Conflict);
    }
    OG_EXPECT(threw);
    OG_EXPECT(!s->idempotency_get(lost, now).has_value());
    // Completing a key nobody holds stores the answer (the lease ran out while it ran).
    const std::string free_key = ids.account("free");
    OG_EXPECT_EQ(write(*s, {idem_op(WriteKind::CompleteIdempotency,
                                    idem_completed(free_key, "fp", "", now + 50), now)}),
                 std::vector<Status>{Status::Ok});
    held = s->idempotency_get(free_key, now + 1);
    OG_EXPECT(held.has_value() && held->completed && held->response.empty());
}

void idempotency_concurrent_batch_claims(CaseContext& ctx) {
    auto s = open_storage(ctx);
    s->migrate();
    Ids ids("IJ");
    const std::string key = ids.account("key");
    first_idempotency_get(ctx, *s, key, kT0);
    constexpr int kThreads = 8;
    std::atomic<int> claimed{0}, conflicted{0}, failed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            try {
                std::vector<Status> r = s->write_batch({idem_op(
                    WriteKind::ClaimIdempotency,
                    idem_marker(key, "fp" + std::to_string(t), kT0 + 1000), kT0)});
                if (r.size() != 1) failed.fetch_add(1);
                else (r[0] == Status::Ok ? claimed : conflicted).fetch_add(1);
            } catch (const std::exception&) {
                failed.fetch_add(1);
            }
        });
    }
    for (auto& th : threads) th.join();
    OG_EXPECT_EQ(failed.load(), 0);
    OG_EXPECT_EQ(claimed.load(), 1);
    OG_EXPECT_EQ(conflicted.load(), kThreads - 1);
}

// ---- leases (ABI 1.3) ---------------------------------------------------------------------------
// One holder per lease name until its expiry on the host's clock (kT0-based here, as above). The
// holders are names of gateway instances; the lease names are unique to the run. Leases are
// optional: a plugin answering Unsupported skips these cases (the host then assumes it runs
// alone).

// The first lease_acquire of a case: skips the case when the plugin has no leases.
bool first_lease_acquire(CaseContext& ctx, StoragePort& s, const std::string& name,
                         const std::string& holder, int64_t now, int64_t ttl) {
    try {
        return s.lease_acquire(name, holder, now, ttl);
    } catch (const sdk::Error& e) {
        if (e.status() == Status::Unsupported)
            ctx.skip("leases not supported (ABI 1.3, optional: the host then assumes it is the "
                     "only instance)");
        throw;
    }
}

void lease_one_holder_renewal_expiry(CaseContext& ctx) {
    auto s = open_storage(ctx);
    s->migrate();
    Ids ids("LH");
    const std::string name = ids.account("lease");
    const int64_t now = kT0, ttl = 100;
    OG_EXPECT(first_lease_acquire(ctx, *s, name, "host-a", now, ttl));  // absent: until now + 100
    // While it lasts, another holder does not get it (and changes nothing).
    OG_EXPECT(!s->lease_acquire(name, "host-b", now + 1, ttl));
    OG_EXPECT(!s->lease_acquire(name, "host-b", now + 99, ttl));
    // The holder renews: its lease now runs until now + 50 + 100, past the first expiry.
    OG_EXPECT(s->lease_acquire(name, "host-a", now + 50, ttl));
    OG_EXPECT(!s->lease_acquire(name, "host-b", now + 100, ttl));
    OG_EXPECT(!s->lease_acquire(name, "host-b", now + 149, ttl));
    // From its expiry time on, another holder takes it, and the former holder is out.
    OG_EXPECT(s->lease_acquire(name, "host-b", now + 150, ttl));
    OG_EXPECT(!s->lease_acquire(name, "host-a", now + 151, ttl));
    // An expired lease of the same holder is taken again by it.
    OG_EXPECT(s->lease_acquire(name, "host-b", now + 500, ttl));
    // Names are independent.
    OG_EXPECT(s->lease_acquire(ids.account("other"), "host-a", now + 501, ttl));
    OG_EXPECT(!s->lease_acquire(name, "host-a", now + 501, ttl));
    // A second instance (another gateway) on the same store sees the same leases.
    auto other = open_storage(ctx);
    OG_EXPECT(!other->lease_acquire(name, "host-c", now + 502, ttl));
    OG_EXPECT(other->lease_acquire(name, "host-c", now + 600, ttl));
}

void lease_release_by_holder_only(CaseContext& ctx) {
    auto s = open_storage(ctx);
    s->migrate();
    Ids ids("LR");
    const std::string name = ids.account("lease");
    const int64_t now = kT0;
    OG_EXPECT(first_lease_acquire(ctx, *s, name, "host-a", now, 1000));
    s->lease_release(name, "host-b");  // not the holder: nothing happens
    OG_EXPECT(!s->lease_acquire(name, "host-b", now + 1, 1000));
    s->lease_release(name, "host-a");  // the holder: the lease is free at once
    OG_EXPECT(s->lease_acquire(name, "host-b", now + 2, 1000));
    OG_EXPECT(!s->lease_acquire(name, "host-a", now + 3, 1000));
    s->lease_release(ids.account("never-taken"), "host-a");  // absent: nothing happens
    // What og_storage_vtable refuses.
    OG_EXPECT_THROWS(Status::InvalidArgument, s->lease_acquire("", "host-a", now, 10));
    OG_EXPECT_THROWS(Status::InvalidArgument, s->lease_acquire(name, "", now, 10));
    OG_EXPECT_THROWS(Status::InvalidArgument, s->lease_acquire(name, "host-a", now, 0));
    OG_EXPECT_THROWS(Status::InvalidArgument,
                     s->lease_acquire(name, "host-a", INT64_MAX - 5, 10));  // overflows
    OG_EXPECT(!s->lease_acquire(name, "host-a", now + 4, 1000));  // still host-b's
}

// Gateways racing for one lease, each through its own instance: exactly one gets it, for a
// lease nobody had (the insert races) and for an expired one (the update races).
void lease_concurrent_acquire(CaseContext& ctx) {
    Ids ids("LC");
    {
        auto s = open_storage(ctx);
        s->migrate();
        first_lease_acquire(ctx, *s, ids.account("probe"), "host-probe", kT0, 1);
    }
    const std::string name = ids.account("lease");
    constexpr int kHosts = 6;
    std::vector<std::unique_ptr<StoragePort>> hosts;
    for (int h = 0; h < kHosts; ++h) hosts.push_back(open_storage(ctx));
    for (int round = 0; round < 2; ++round) {
        const int64_t now = kT0 + round * 10'000;  // round 1: round 0's lease has expired
        std::atomic<int> won{0}, lost{0}, failed{0};
        std::string first_error;
        std::mutex mu;
        std::vector<std::thread> threads;
        for (int h = 0; h < kHosts; ++h) {
            threads.emplace_back([&, h] {
                try {
                    const std::string holder = "host-" + std::to_string(round) + "-" +
                                               std::to_string(h);
                    (hosts[static_cast<size_t>(h)]->lease_acquire(name, holder, now, 1000) ? won
                                                                                            : lost)
                        .fetch_add(1);
                } catch (const std::exception& e) {
                    failed.fetch_add(1);
                    std::lock_guard<std::mutex> lock(mu);
                    if (first_error.empty()) first_error = e.what();
                }
            });
        }
        for (auto& th : threads) th.join();
        if (failed.load() != 0) fail_at(__LINE__, "a lease_acquire failed: " + first_error);
        OG_EXPECT_EQ(won.load(), 1);
        OG_EXPECT_EQ(lost.load(), kHosts - 1);
    }
}

// ---- the event log (ABI 1.4) --------------------------------------------------------------------

WriteOp entry(const std::string& account, const std::string& topic, const std::string& data,
              int64_t at_ns, bool requires_previous = true) {
    WriteOp op;
    op.kind = WriteKind::AppendEvent;
    op.requires_previous = requires_previous;
    op.account_event.account_id = account;
    op.account_event.topic = topic;
    op.account_event.data_json = data;
    op.account_event.at_ns = at_ns;
    return op;
}

std::vector<int64_t> seqs_of(const AccountEventPage& p) {
    std::vector<int64_t> out;
    for (const auto& e : p.items) out.push_back(e.seq);
    return out;
}

// Entries land with their change, skipped with it; each account counts from 1, without gaps.
void event_log_seq_per_account(CaseContext& ctx) {
    auto s = open_storage(ctx);
    s->migrate();
    Ids ids("EL");
    const std::string a = ids.account("A"), b = ids.account("B");
    OrderRecord o = make_order(ids, 1, a);
    FillRecord f = make_fill(ids, 1, o);
    const std::string doc = R"({"id":"x","note":"ünïcödé","n":"1.50"})";
    std::vector<Status> r = write(*s, {insert_order(o), entry(a, "orders", doc, kT0),
                                       insert_fill(f), entry(a, "trades", "{}", kT0 + 1),
                                       entry(a, "positions", "{}", kT0 + 2),
                                       entry(b, "orders", "{}", kT0 + 3, false)});
    OG_EXPECT_EQ(r, std::vector<Status>(6, Status::Ok));
    // A replayed fill conflicts: its two entries are skipped with it, and take no seq.
    FillRecord replay = make_fill(ids, 2, o);
    replay.broker_trade_id = f.broker_trade_id;
    r = write(*s, {insert_fill(replay), entry(a, "trades", "{}", kT0 + 4),
                   entry(a, "positions", "{}", kT0 + 5), insert_order(make_order(ids, 2, a)),
                   entry(a, "orders", "{}", kT0 + 6)});
    OG_EXPECT_EQ(r, (std::vector<Status>{Status::Conflict, Status::Conflict, Status::Conflict,
                                         Status::Ok, Status::Ok}));
    AccountEventPage pa = s->list_account_events(a, 0, 100);
    OG_EXPECT_EQ(seqs_of(pa), (std::vector<int64_t>{1, 2, 3, 4}));
    OG_EXPECT_EQ(pa.oldest_seq, int64_t{1});
    OG_EXPECT_EQ(pa.last_seq, int64_t{4});
    OG_EXPECT_EQ(pa.items[0].topic, std::string("orders"));
    OG_EXPECT_EQ(pa.items[0].data_json, doc);
    OG_EXPECT_EQ(pa.items[0].at_ns, kT0);
    OG_EXPECT_EQ(pa.items[0].account_id, a);
    OG_EXPECT_EQ(pa.items[2].topic, std::string("positions"));
    OG_EXPECT_EQ(pa.items[3].at_ns, kT0 + 6);
    AccountEventPage pb = s->list_account_events(b, 0, 100);
    OG_EXPECT_EQ(seqs_of(pb), std::vector<int64_t>{1});
    // after_seq and limit.
    OG_EXPECT_EQ(seqs_of(s->list_account_events(a, 1, 2)), (std::vector<int64_t>{2, 3}));
    AccountEventPage none = s->list_account_events(a, 4, 10);
    OG_EXPECT(none.items.empty());
    OG_EXPECT_EQ(none.last_seq, int64_t{4});
    AccountEventPage unknown = s->list_account_events(ids.account("nobody"), 0, 10);
    OG_EXPECT(unknown.items.empty());
    OG_EXPECT_EQ(unknown.last_seq, int64_t{0});
    OG_EXPECT_EQ(unknown.oldest_seq, int64_t{0});
    // A batch that fails writes no entry and uses no seq.
    OrderRecord bad = make_order(ids, 3, a);
    WriteOp broken = insert_order(bad);
    broken.event.seq = 7;
    bool threw = false;
    try {
        s->write_batch({entry(a, "orders", "{}", kT0 + 7, false), broken});
    } catch (const sdk::Error&) {
        threw = true;
    }
    OG_EXPECT(threw);
    OG_EXPECT_EQ(s->list_account_events(a, 0, 100).last_seq, int64_t{4});
    write_ok(__LINE__, *s, {entry(a, "gtt", "{}", kT0 + 8, false)});
    OG_EXPECT_EQ(seqs_of(s->list_account_events(a, 4, 100)), std::vector<int64_t>{5});
}

// Retention deletes entries, never the counter: a seq is never reused.
void event_log_prune_keeps_counter(CaseContext& ctx) {
    auto s = open_storage(ctx);
    s->migrate();
    Ids ids("EP");
    const std::string a = ids.account("A");
    // Retention is global: this case's entries live far before every other case's, and what an
    // earlier run of it left there goes first.
    const int64_t t0 = kT0 - int64_t{1'000'000'000'000};
    s->prune_account_events(t0 + 1000, 0);
    write_ok(__LINE__, *s, {entry(a, "orders", "{}", t0, false)});
    write_ok(__LINE__, *s, {entry(a, "orders", "{}", t0 + 10, false),
                            entry(a, "orders", "{}", t0 + 20, false)});
    OG_EXPECT_EQ(s->prune_account_events(t0 + 15, 0), uint64_t{2});
    AccountEventPage p = s->list_account_events(a, 0, 100);
    OG_EXPECT_EQ(seqs_of(p), std::vector<int64_t>{3});
    OG_EXPECT_EQ(p.oldest_seq, int64_t{3});
    OG_EXPECT_EQ(p.last_seq, int64_t{3});
    OG_EXPECT_EQ(s->prune_account_events(t0 + 100, 0), uint64_t{1});
    p = s->list_account_events(a, 0, 100);
    OG_EXPECT(p.items.empty());
    OG_EXPECT_EQ(p.oldest_seq, int64_t{0});
    OG_EXPECT_EQ(p.last_seq, int64_t{3});
    write_ok(__LINE__, *s, {entry(a, "orders", "{}", t0 + 200, false)});
    OG_EXPECT_EQ(seqs_of(s->list_account_events(a, 0, 100)), std::vector<int64_t>{4});
    // A limit bounds one call.
    write_ok(__LINE__, *s, {entry(a, "orders", "{}", t0 + 201, false),
                            entry(a, "orders", "{}", t0 + 202, false)});
    OG_EXPECT_EQ(s->prune_account_events(t0 + 1000, 2), uint64_t{2});
    OG_EXPECT_EQ(s->list_account_events(a, 0, 100).items.size(), size_t{1});
}

// Hosts appending to one account at once: every entry gets its own seq, 1..N without a gap, and
// each host's entries keep the order it wrote them in.
void event_log_concurrent_writers(CaseContext& ctx) {
    Ids ids("EC");
    const std::string a = ids.account("A");
    {
        auto s = open_storage(ctx);
        s->migrate();
    }
    constexpr int kHosts = 4, kBatches = 25;
    std::vector<std::unique_ptr<StoragePort>> hosts;
    for (int h = 0; h < kHosts; ++h) hosts.push_back(open_storage(ctx));
    std::atomic<int> failed{0};
    std::vector<std::thread> threads;
    for (int h = 0; h < kHosts; ++h) {
        threads.emplace_back([&, h] {
            try {
                for (int i = 0; i < kBatches; ++i) {
                    const std::string d = std::to_string(h) + ":" + std::to_string(i);
                    hosts[static_cast<size_t>(h)]->write_batch(
                        {entry(a, "orders", "\"" + d + "a\"", kT0, false),
                         entry(a, "orders", "\"" + d + "b\"", kT0, false)});
                }
            } catch (const std::exception&) {
                failed.fetch_add(1);
            }
        });
    }
    for (auto& th : threads) th.join();
    OG_EXPECT_EQ(failed.load(), 0);
    AccountEventPage p = hosts[0]->list_account_events(a, 0, 1000);
    OG_EXPECT_EQ(p.items.size(), size_t{kHosts * kBatches * 2});
    std::vector<int> next(kHosts, 0);
    for (size_t i = 0; i < p.items.size(); ++i) {
        OG_EXPECT_EQ(p.items[i].seq, static_cast<int64_t>(i + 1));
        // "\"h:ia\"" then "\"h:ib\"": a batch's two entries are adjacent (one transaction).
        const std::string& d = p.items[i].data_json;
        const int h = d[1] - '0';
        const std::string want = "\"" + std::to_string(h) + ":" +
                                 std::to_string(next[static_cast<size_t>(h)]) +
                                 (i % 2 == 0 ? "a" : "b") + "\"";
        OG_EXPECT_EQ(d, want);
        if (i % 2 == 1) ++next[static_cast<size_t>(h)];
    }
}

// A store shared by several hosts tells a waiting host of another host's commit; a store with one
// writer host says it has nothing to wait for (Unsupported).
void event_log_notices(CaseContext& ctx) {
    Ids ids("EN");
    const std::string a = ids.account("A");
    auto writer = open_storage(ctx);
    writer->migrate();
    auto listener = open_storage(ctx);
    try {
        // The first call may only say that it starts listening (an empty account).
        listener->wait_account_events(std::chrono::milliseconds(1));
    } catch (const sdk::Error& e) {
        if (e.status() != Status::Unsupported) throw;
        // The contract's answer for a store with one writer host: the host relies on its own
        // commits. It says so every time.
        bool again = false;
        try {
            listener->wait_account_events(std::chrono::milliseconds(1));
        } catch (const sdk::Error& e2) {
            again = e2.status() == Status::Unsupported;
        }
        OG_EXPECT(again);
        return;
    }
    write_ok(__LINE__, *writer, {entry(a, "orders", "{}", kT0, false)});
    bool heard = false;
    for (int i = 0; i < 50 && !heard; ++i) {
        for (const AccountEvent& n : listener->wait_account_events(std::chrono::milliseconds(100)))
            if (n.account_id == a) {
                heard = true;
                OG_EXPECT(n.seq == 0 || n.seq == 1);
            }
    }
    OG_EXPECT(heard);
    // Nothing more was committed: a wait times out with nothing for the account.
    for (const AccountEvent& n : listener->wait_account_events(std::chrono::milliseconds(50)))
        OG_EXPECT(n.account_id != a);
}

}  // namespace

std::vector<Case> storage_cases() {
    return {
        {"storage.migrate_fresh_store", migrate_fresh},
        {"storage.migrate_is_idempotent", migrate_idempotent},
        {"storage.migrate_existing_store_keeps_data", migrate_keeps_data},
        {"storage.order_round_trips_every_field_exactly", order_round_trip},
        {"storage.duplicate_client_order_id_conflicts_per_account", duplicate_client_order_id},
        {"storage.update_checks_expected_version", update_with_version},
        {"storage.updates_of_one_order_in_one_batch", updates_of_one_order_in_one_batch},
        {"storage.events_append_and_list_in_seq_order", events_in_seq_order},
        {"storage.duplicate_broker_trade_id_conflicts", fill_duplicate_trade_id},
        // appended in ABI 1.5
        {"storage.fill_bust_and_correction_round_trip", fill_bust_and_correction_round_trip},
        {"storage.requires_previous_skips_after_conflict", requires_previous},
        {"storage.failing_batch_writes_nothing", batch_atomicity},
        {"storage.list_orders_filters", list_orders_filters},
        {"storage.list_orders_cursor_pagination", list_orders_pagination},
        {"storage.list_fills_filters_and_pagination", list_fills_pagination},
        {"storage.gtt_upsert_get_list", gtt_upsert_get_list},
        {"storage.recon_runs_upsert_and_list_newest_first", recon_runs},
        {"storage.get_by_client_and_broker_order_id", get_by_client_and_broker_id},
        {"storage.get_by_request_id", get_by_request_id},  // appended in ABI 1.4 (sdk14)
        {"storage.concurrent_writers_all_land", concurrent_writers},
        {"storage.idempotency_claim_complete_replay", idempotency_claim_complete_replay},
        {"storage.idempotency_expiry_release_purge", idempotency_expiry_release_purge},
        {"storage.idempotency_concurrent_claims_one_wins", idempotency_concurrent_claims},
        // appended in ABI 1.7
        {"storage.idempotency_claims_and_answers_in_write_batches", idempotency_in_write_batches},
        {"storage.idempotency_concurrent_batch_claims_one_wins",
         idempotency_concurrent_batch_claims},
        {"storage.lease_one_holder_renewal_expiry", lease_one_holder_renewal_expiry},
        {"storage.lease_release_by_holder_only", lease_release_by_holder_only},
        {"storage.lease_concurrent_acquire_one_wins", lease_concurrent_acquire},
        {"storage.event_log_seq_per_account_with_its_change", event_log_seq_per_account},
        {"storage.event_log_prune_keeps_the_counter", event_log_prune_keeps_counter},
        {"storage.event_log_concurrent_writers_seq_is_commit_order",
         event_log_concurrent_writers},
        {"storage.event_log_notices_reach_another_host", event_log_notices},
    };
}

}  // namespace ordergate::testkit
