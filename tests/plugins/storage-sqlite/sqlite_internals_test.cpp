// Unit tests of storage-sqlite's internals: the cursor codec, migrations of an older database,
// configuration errors, durability settings and the error classification.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "ordergate/cursor.hpp"
#include "migrations.hpp"
#include "sqlite_storage.hpp"
#include "wal_vfs.hpp"

#include "temp_dir.hpp"
#include "../event_log_prune_case.hpp"

namespace ordergate::storage_sqlite {

using sdk::decode_cursor;
using sdk::encode_cursor;
namespace {

namespace fs = std::filesystem;

using ordergate::testing::TempDir;

std::unique_ptr<SqliteStorage> open(std::vector<std::pair<std::string, std::string>> cfg) {
    sdk::PluginContext ctx{sdk::Config(std::move(cfg)), sdk::Host(nullptr), sdk::EventSink(nullptr)};
    return std::make_unique<SqliteStorage>(ctx);
}

// The indexes a table has beside the ones SQLite makes for its keys.
int64_t declared_indexes(const std::string& path, const std::string& table) {
    Connection c(path, false, 1000);
    Query q = c.query("SELECT COUNT(*) FROM sqlite_master WHERE tbl_name = ?1 AND type = 'index' "
                      "AND sql IS NOT NULL",
                      "count indexes");
    q.bind(1, table);
    EXPECT_TRUE(q.step());
    return q.int64(0);
}

// Begins a read transaction on `reader` and takes its snapshot: until reader.exec("COMMIT") the
// WAL can neither start over nor be checkpointed past it.
void hold_snapshot(Connection& reader) {
    reader.exec("BEGIN", "begin a read");
    Query q = reader.query("SELECT COUNT(*) FROM recon_runs", "take a snapshot");
    ASSERT_TRUE(q.step());
}

// `n` commits, one reconciliation run each (a report of 3,000 bytes: a page or more).
// Bytes of one WAL frame of a store made with the default page_size: 24 of header, then the page.
constexpr uintmax_t kFrame = 24 + 2048;

void write_recon_runs(SqliteStorage& s, int n) {
    for (int i = 0; i < n; ++i) {
        WriteOp op;
        op.kind = WriteKind::UpsertReconRun;
        op.recon_run.id = "rec_" + std::to_string(i);
        op.recon_run.report_json = std::string(3000, 'x');
        ASSERT_EQ(s.write_batch({op}), std::vector<Status>{Status::Ok});
    }
}

// Checkpoints the whole WAL into the database and empties it: what a test counts from then on
// is its own writes, not the migrations' (their frames stay in the WAL until a checkpoint).
void empty_wal(const std::string& path) {
    Connection c(path, false, 1000);
    c.exec("PRAGMA wal_checkpoint(TRUNCATE)", "empty the WAL");
    ASSERT_EQ(fs::file_size(path + "-wal"), 0u);
}

std::string pragma(const std::string& path, const char* sql) {
    Connection c(path, false, 1000);
    Query q = c.query(sql, "pragma");
    EXPECT_TRUE(q.step());
    return q.text(0);
}

// SQLite's memory statistics take a global mutex around each of its allocations; the plugin
// turns them off before its first connection, so none are counted however much it writes.
TEST(SqliteLibrary, MemoryStatisticsAreOffOnceTheStorageIsOpen) {
    TempDir dir;
    auto s = open({{"path", dir.file("og.db")}});
    s->migrate();
    write_recon_runs(*s, 3);
    ASSERT_TRUE(s->get_order("ord_none") == std::nullopt);
    EXPECT_EQ(sqlite3_memory_used(), 0);
    EXPECT_EQ(sqlite3_memory_highwater(0), 0);
}

TEST(SqliteCursor, RoundTripsKeysOfEveryLength) {
    for (const std::string& key : std::vector<std::string>{"a", "ab", "abc", "abcd", "ord_01J0ABCDEFGHJKMNPQRSTVWXYZ",
                            "1718000000000000000|rec_1", std::string("\0\xff|x", 4)}) {
        std::string c = encode_cursor(key);
        EXPECT_EQ(c.rfind("c1.", 0), 0u) << c;
        EXPECT_EQ(c.find_first_of("+/="), std::string::npos) << c;  // URL-safe
        EXPECT_EQ(decode_cursor(c), key);
    }
}

TEST(SqliteCursor, RejectsWhatItDidNotProduce) {
    for (const std::string& bad : std::vector<std::string>{"", "c1.", "ord_01J0", "c2.YWJj", "c1.YW=j", "c1.Y", "c1.YR",
                            "c1.a b", "c1.YWJjZ"}) {
        try {
            decode_cursor(bad);
            ADD_FAILURE() << "accepted '" << bad << "'";
        } catch (const sdk::Error& e) {
            EXPECT_EQ(e.status(), Status::InvalidArgument) << bad;
        }
    }
}

TEST(SqliteMigrations, OlderDatabaseGetsOnlyTheMissingStepsAndKeepsItsRows) {
    TempDir dir;
    std::string path = dir.file("old.db");
    {
        auto s = open({{"path", path}});
        EXPECT_EQ(s->migrate_to(1), 1);
        WriteOp op;
        op.kind = WriteKind::InsertOrder;
        op.order.id = "ord_1";
        op.order.client_order_id = "c1";
        op.order.account_id = "A";
        op.order.quantity = Decimal::must_parse("1.50");
        op.order.version = 1;
        op.event.seq = 1;
        ASSERT_EQ(s->write_batch({op}), std::vector<Status>{Status::Ok});
    }
    int64_t v1_applied_at = 0;
    {
        Connection c(path, false, 1000);
        Query q = c.query("SELECT applied_at_ns FROM schema_migrations WHERE version = 1", "t");
        ASSERT_TRUE(q.step());
        v1_applied_at = q.int64(0);
    }
    auto s = open({{"path", path}});
    int64_t latest = migrations().back().version;
    EXPECT_EQ(s->migrate(), latest);
    EXPECT_EQ(s->migrate(), latest);
    Connection c(path, false, 1000);
    {
        Query q = c.query("SELECT COUNT(*), MIN(version), MAX(version) FROM schema_migrations", "t");
        ASSERT_TRUE(q.step());
        EXPECT_EQ(q.int64(0), latest);
        EXPECT_EQ(q.int64(1), 1);
        EXPECT_EQ(q.int64(2), latest);
    }
    {
        Query q = c.query("SELECT applied_at_ns FROM schema_migrations WHERE version = 1", "t");
        ASSERT_TRUE(q.step());
        EXPECT_EQ(q.int64(0), v1_applied_at);  // step 1 was not applied again
    }
    std::optional<OrderRecord> o = s->get_order("ord_1");
    ASSERT_TRUE(o.has_value());
    EXPECT_TRUE(o->quantity.identical(Decimal::must_parse("1.50")));
    // Step 3 made the event log append-only.
    EXPECT_NE(sqlite3_exec(c.raw(), "DELETE FROM order_events", nullptr, nullptr, nullptr),
              SQLITE_OK);
}

// ABI 1.5 (migration 9): a store written before fills had a kind keeps its fills, read as trades,
// and stores a bust's kind and referenced trade id from then on.
TEST(SqliteMigrations, FillsOfAnOlderStoreAreTradesAndBustsRoundTripAfterTheUpgrade) {
    TempDir dir;
    std::string path = dir.file("old.db");
    FillRecord f;
    f.id = "trd_1";
    f.order_id = "ord_1";
    f.broker = "fix";
    f.broker_trade_id = "E1";
    f.account_id = "A";
    f.symbol = "X";
    f.exchange = "XNSE";
    f.quantity = Decimal::must_parse("5");
    f.price = Decimal::must_parse("101.25");
    f.fee = Decimal::must_parse("0");
    f.executed_at_ns = 7;
    {
        auto s = open({{"path", path}});
        EXPECT_EQ(s->migrate_to(8), 8);
        // The columns do not exist yet: the row is written as an 1.4 store wrote it.
        Connection c(path, false, 1000);
        ASSERT_EQ(sqlite3_exec(c.raw(),
                               "INSERT INTO fills (id, order_id, broker, broker_trade_id, "
                               "account_id, symbol, exchange, side, quantity_m, quantity_s, "
                               "price_m, price_s, fee_m, fee_s, executed_at_ns) VALUES ('trd_1', "
                               "'ord_1', 'fix', 'E1', 'A', 'X', 'XNSE', 'BUY', 5, 0, 10125, 2, "
                               "0, 0, 7)",
                               nullptr, nullptr, nullptr),
                  SQLITE_OK);
    }
    auto s = open({{"path", path}});
    EXPECT_EQ(s->migrate(), migrations().back().version);
    FillRecord bust = f;
    bust.id = "trd_2";
    bust.broker_trade_id = "E1-BUST";
    bust.kind = FillKind::Bust;
    bust.ref_trade_id = "E1";
    WriteOp op;
    op.kind = WriteKind::InsertFill;
    op.fill = bust;
    ASSERT_EQ(s->write_batch({op}), std::vector<Status>{Status::Ok});
    FillQuery q;
    q.order_id = "ord_1";
    Page<FillRecord> page = s->list_fills(q);
    ASSERT_EQ(page.items.size(), 2u);
    EXPECT_EQ(page.items[0].broker_trade_id, "E1");
    EXPECT_EQ(page.items[0].kind, FillKind::Trade);
    EXPECT_EQ(page.items[0].ref_trade_id, "");
    EXPECT_TRUE(page.items[0].price.identical(Decimal::must_parse("101.25")));
    EXPECT_EQ(page.items[1].kind, FillKind::Bust);
    EXPECT_EQ(page.items[1].ref_trade_id, "E1");
}

TEST(SqliteMigrations, VersionsAreNumberedWithoutGaps) {
    int64_t expected = 1;
    for (const Migration& m : migrations()) EXPECT_EQ(m.version, expected++);
}

// Broker events carry no request id; only events that do are indexed by it, and the lookup by
// request id uses that index.
TEST(SqliteMigrations, RequestIdIndexHoldsOnlyEventsThatCarryOne) {
    TempDir dir;
    std::string path = dir.file("x.db");
    auto s = open({{"path", path}});
    s->migrate();
    Connection c(path, false, 1000);
    {
        Query q = c.query("SELECT sql FROM sqlite_master WHERE name = 'order_events_request_id'",
                          "t");
        ASSERT_TRUE(q.step());
        EXPECT_NE(q.text(0).find("WHERE request_id <> ''"), std::string::npos) << q.text(0);
    }
    Query plan = c.query(
        "EXPLAIN QUERY PLAN SELECT order_id FROM order_events WHERE request_id = ?1 AND "
        "request_id <> ''",
        "t");
    std::string details;
    while (plan.step()) details += plan.text(3) + "\n";
    EXPECT_NE(details.find("order_events_request_id"), std::string::npos) << details;
}

// Migration 12: a new order (no broker id yet) writes no entry of the broker id index; the
// lookup by broker id still uses it, and an upgraded store answers it for its older orders.
TEST(SqliteMigrations, BrokerIdIndexHoldsOnlyOrdersThatHaveOne) {
    TempDir dir;
    std::string path = dir.file("x.db");
    auto s = open({{"path", path}});
    ASSERT_EQ(s->migrate_to(11), 11);
    auto insert = [&](const std::string& id, const std::string& broker_id) {
        WriteOp op;
        op.kind = WriteKind::InsertOrder;
        op.order.id = id;
        op.order.client_order_id = "c-" + id;
        op.order.account_id = "A";
        op.order.broker = "paper";
        op.order.broker_order_id = broker_id;
        op.order.quantity = Decimal::must_parse("1");
        op.order.version = 1;
        op.event.seq = 1;
        ASSERT_EQ(s->write_batch({op}), std::vector<Status>{Status::Ok});
    };
    insert("ord_1", "B1");  // before the upgrade
    insert("ord_2", "B2");
    s->migrate();
    insert("ord_3", "");
    insert("ord_4", "B4");
    insert("ord_5", "B5");

    Connection c(path, false, 1000);
    auto entries = [&](const char* index) {  // what the index holds, not what a query reads
        Query q =
            c.query("SELECT SUM(ncell) FROM dbstat WHERE name = ?1 AND pagetype = 'leaf'", "t");
        q.bind(1, std::string_view(index));
        EXPECT_TRUE(q.step());
        return q.int64(0);
    };
    EXPECT_EQ(entries("orders_broker_order_id"), 4);  // not ord_3
    auto plan = [&](const std::string& sql) {
        Query q = c.query("EXPLAIN QUERY PLAN " + sql, "t");
        std::string details;
        while (q.step()) details += q.text(3) + "\n";
        return details;
    };

    ASSERT_TRUE(s->get_order_by_broker_id("paper", "B1").has_value());
    EXPECT_EQ(s->get_order_by_broker_id("paper", "B4")->id, "ord_4");
    EXPECT_FALSE(s->get_order_by_broker_id("paper", "").has_value());
    EXPECT_NE(plan("SELECT id FROM orders WHERE broker_order_id = 'B1' AND broker = 'paper' AND "
                   "broker_order_id <> '' ORDER BY id DESC LIMIT 1")
                  .find("orders_broker_order_id"),
              std::string::npos);
}

// Migration 13: the event log's rows move from a WITHOUT ROWID table keyed by (account_id, seq)
// to an appended rowid table with a unique (account_id, seq) index. Every entry keeps its seq,
// topic, document and time; seqs go on after the newest; a seq cannot be stored twice; reads and
// pruning go through the index.
TEST(SqliteMigrations, EventLogEntriesKeepTheirSeqsWhenTheRowsMoveToAnAppendedTable) {
    TempDir dir;
    std::string path = dir.file("x.db");
    auto s = open({{"path", path}});
    ASSERT_EQ(s->migrate_to(12), 12);
    auto append = [&](const std::string& account, int64_t at, const std::string& doc) {
        WriteOp op = ordergate::testing::event_entry(account, at);
        op.account_event.topic = "trades";
        op.account_event.data_json = doc;
        ASSERT_EQ(s->write_batch({op}), std::vector<Status>{Status::Ok});
    };
    for (int i = 1; i <= 3; ++i) append("A", 10 * i, "{\"a\":" + std::to_string(i) + "}");
    append("B", 15, "{\"b\":1}");
    ASSERT_EQ(s->migrate(), migrations().back().version);

    AccountEventPage a = s->list_account_events("A", 0, 100);
    ASSERT_EQ(a.items.size(), 3u);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(a.items[static_cast<size_t>(i)].seq, i + 1);
        EXPECT_EQ(a.items[static_cast<size_t>(i)].topic, "trades");
        EXPECT_EQ(a.items[static_cast<size_t>(i)].data_json, "{\"a\":" + std::to_string(i + 1) + "}");
        EXPECT_EQ(a.items[static_cast<size_t>(i)].at_ns, 10 * (i + 1));
    }
    EXPECT_EQ(a.last_seq, 3);
    EXPECT_EQ(ordergate::testing::event_seqs(*s, "B"), (std::vector<int64_t>{1}));

    append("A", 40, "{}");
    append("B", 45, "{}");
    EXPECT_EQ(ordergate::testing::event_seqs(*s, "A"), (std::vector<int64_t>{1, 2, 3, 4}));
    EXPECT_EQ(ordergate::testing::event_seqs(*s, "B"), (std::vector<int64_t>{1, 2}));
    EXPECT_EQ(s->list_account_events("A", 2, 100).items.front().seq, 3);

    Connection c(path, false, 1000);
    {
        Query q = c.query("SELECT sql FROM sqlite_master WHERE name = 'account_events'", "t");
        ASSERT_TRUE(q.step());
        EXPECT_EQ(q.text(0).find("WITHOUT ROWID"), std::string::npos) << q.text(0);
    }
    EXPECT_NE(sqlite3_exec(c.raw(),
                           "INSERT INTO account_events (account_id, seq, topic, data_json, at_ns) "
                           "VALUES ('A', 2, 'orders', '{}', 1)",
                           nullptr, nullptr, nullptr),
              SQLITE_OK)
        << "a seq stored twice";
    auto plan = [&](const std::string& sql) {
        Query q = c.query("EXPLAIN QUERY PLAN " + sql, "t");
        std::string details;
        while (q.step()) details += q.text(3) + "\n";
        return details;
    };
    for (const char* sql :
         {"SELECT seq, topic, data_json, at_ns FROM account_events WHERE account_id = 'A' AND "
          "seq > 1 ORDER BY seq LIMIT 10",
          "SELECT MAX(seq) FROM account_events WHERE account_id = 'A'",
          "DELETE FROM account_events WHERE account_id = 'A' AND seq < 3"}) {
        std::string details = plan(sql);
        EXPECT_NE(details.find("account_events_seq"), std::string::npos) << sql << "\n" << details;
        EXPECT_EQ(details.find("TEMP B-TREE"), std::string::npos) << sql << "\n" << details;
    }
    EXPECT_EQ(s->prune_account_events(100, 0), 6u);
    EXPECT_TRUE(ordergate::testing::event_seqs(*s, "A").empty());
    append("A", 50, "{}");
    EXPECT_EQ(ordergate::testing::event_seqs(*s, "A"), (std::vector<int64_t>{5}));
}

// An upgrade says which step runs (one that copies a table can take a while) and what it took;
// a new store gets one line for all its steps.
TEST(SqliteMigrations, AnUpgradeNamesEachStepAndANewStoreOneLine) {
    TempDir dir;
    std::vector<std::string> lines;
    auto progress = [&](std::string_view line) { lines.emplace_back(line); };
    {
        Connection c(dir.file("old.db"), true, 1000);
        ASSERT_EQ(apply_migrations(c, 1, 12, progress), 12);
        ASSERT_EQ(lines.size(), 1u);
        EXPECT_EQ(lines[0].rfind("migrated from_version=0 to_version=12 steps=12 "
                                 "elapsed_ms=", 0),
                  0u)
            << lines[0];
        lines.clear();
        const int64_t latest = migrations().back().version;
        ASSERT_EQ(apply_migrations(c, 2, INT64_MAX, progress), latest);
        ASSERT_EQ(lines.size(), static_cast<size_t>(latest - 12 + 1));
        EXPECT_EQ(lines[0].rfind("migration_started version=13 description=\"", 0), 0u)
            << lines[0];
        EXPECT_NE(lines.back().find("from_version=12 to_version=" + std::to_string(latest)),
                  std::string::npos)
            << lines.back();
        lines.clear();
        ASSERT_EQ(apply_migrations(c, 3, INT64_MAX, progress), latest);
        EXPECT_TRUE(lines.empty()) << "nothing to apply, nothing said";
    }
}

// Retention prunes each account's oldest entries by seq, with no index on at_ns written per
// entry: an entry older than the cutoff behind one stamped later (a clock that went back) waits
// for a later prune; a limit bounds what one call deletes over all accounts.
TEST(SqliteStorage, EventLogIsPrunedOldestFirstPerAccountWithoutATimeIndex) {
    TempDir dir;
    std::string path = dir.file("x.db");
    auto s = open({{"path", path}});
    s->migrate();
    ordergate::testing::check_event_log_pruned_oldest_first_per_account(*s, [] {});

    // One index beside the rows (migration 13): (account_id, seq), nothing on at_ns.
    EXPECT_EQ(declared_indexes(path, "account_events"), 1);
    {
        Connection c(path, false, 1000);
        Query q = c.query("SELECT sql FROM sqlite_master WHERE tbl_name = 'account_events' AND "
                          "type = 'index' AND sql IS NOT NULL",
                          "t");
        ASSERT_TRUE(q.step());
        EXPECT_NE(q.text(0).find("(account_id, seq)"), std::string::npos) << q.text(0);
    }
    EXPECT_EQ(declared_indexes(path, "fills"), 2);  // the count sees indexes that are there
}

// An order's ack and fill in one batch write its row once, with the fill's state: the ack's
// step checks the row's version and leaves the row to the fill's (storage.updates_of_one_order_
// in_one_batch in the conformance cases holds the rules; this counts the writes).
TEST(SqliteStorage, TwoUpdatesOfAnOrderInOneBatchWriteItsRowOnce) {
    TempDir dir;
    auto s = open({{"path", dir.file("x.db")}});
    s->migrate();
    OrderRecord o;
    o.id = "ord_1";
    o.client_order_id = "c1";
    o.broker = "paper";
    o.account_id = "A";
    o.symbol = "INFY";
    o.exchange = "NSE";
    o.quantity = Decimal::must_parse("10");
    o.filled_quantity = Decimal::must_parse("0");
    o.status = OrderStatus::PendingNew;
    o.version = 1;
    auto step = [&](OrderStatus to, WriteKind kind) {
        WriteOp op;
        op.kind = kind;
        op.expected_version = kind == WriteKind::InsertOrder ? 0 : o.version;
        if (kind == WriteKind::UpdateOrder) ++o.version;
        op.event.from_status = o.status;
        o.status = to;
        op.order = o;
        op.event.seq = o.version;
        op.event.to_status = to;
        return op;
    };
    ASSERT_EQ(s->write_batch({step(OrderStatus::PendingNew, WriteKind::InsertOrder)}),
              std::vector<Status>{Status::Ok});
    o.broker_order_id = "P-1";
    WriteOp ack = step(OrderStatus::Open, WriteKind::UpdateOrder);
    o.filled_quantity = Decimal::must_parse("10");
    WriteOp fill = step(OrderStatus::Filled, WriteKind::UpdateOrder);
    EXPECT_EQ(s->write_batch({ack, fill}), (std::vector<Status>{Status::Ok, Status::Ok}));
    EXPECT_EQ(s->order_rows_carried(), 1u);
    auto stored = s->get_order("ord_1");
    ASSERT_TRUE(stored.has_value());
    EXPECT_EQ(stored->version, 3);
    EXPECT_EQ(stored->status, OrderStatus::Filled);
    EXPECT_EQ(stored->broker_order_id, "P-1");
    EXPECT_EQ(stored->filled_quantity.to_string(), "10");
    EXPECT_EQ(s->list_events("ord_1", 0, 0).size(), 3u);
    // One update alone is written as it comes.
    EXPECT_EQ(s->write_batch({step(OrderStatus::Filled, WriteKind::UpdateOrder)}),
              std::vector<Status>{Status::Ok});
    EXPECT_EQ(s->order_rows_carried(), 1u);
    EXPECT_EQ(s->get_order("ord_1")->version, 4);
}

// A commit of event log entries writes no counter page: the account's last seq is its newest
// entry, and the counter row (written at the account's first entry, then by retention) only
// keeps a seq from being reused once its entry is pruned. A counter left by an older plugin,
// which advanced it at every commit, is read the same way.
TEST(SqliteStorage, EventLogCommitsLeaveTheAccountCounterAlone) {
    TempDir dir;
    std::string path = dir.file("x.db");
    auto s = open({{"path", path}});
    s->migrate();
    auto append = [&](const std::string& account, int n) {  // n entries in one commit
        std::vector<WriteOp> ops(n, ordergate::testing::event_entry(account, 100));
        ASSERT_EQ(s->write_batch(ops), std::vector<Status>(n, Status::Ok));
    };
    auto seqs = [&](const std::string& account) {
        return ordergate::testing::event_seqs(*s, account);
    };
    auto counter = [&](const std::string& account) -> int64_t {
        Connection c(path, false, 1000);
        Query q = c.query("SELECT last_seq FROM account_seq WHERE account_id = ?1", "counter");
        q.bind(1, account);
        return q.step() ? q.int64(0) : -1;
    };
    auto set_counter = [&](const std::string& account, int64_t v) {
        Connection c(path, false, 1000);
        Query q = c.query("UPDATE account_seq SET last_seq = ?2 WHERE account_id = ?1", "set");
        q.bind(1, account).bind(2, v);
        q.run();
    };

    append("A", 2);
    EXPECT_EQ(counter("A"), 2) << "the account's first entry gives it its counter row";
    append("A", 3);
    append("A", 1);
    EXPECT_EQ(seqs("A"), (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
    EXPECT_EQ(counter("A"), 2) << "a commit of entries wrote the counter";
    EXPECT_EQ(s->list_account_events("A", 0, 0).last_seq, 6);

    // An older plugin's counter, ahead of the newest entry after a prune: seqs go on after it.
    set_counter("A", 9);
    EXPECT_EQ(s->list_account_events("A", 0, 0).last_seq, 9);
    append("A", 1);
    EXPECT_EQ(seqs("A").back(), 10);

    // Retention takes the counter to the newest seq before it deletes, so pruning every entry
    // keeps the seqs taken.
    EXPECT_EQ(s->prune_account_events(1000, 0), 7u);
    EXPECT_EQ(counter("A"), 10);
    EXPECT_TRUE(seqs("A").empty());
    EXPECT_EQ(s->list_account_events("A", 0, 0).last_seq, 10);
    append("A", 1);
    EXPECT_EQ(seqs("A"), (std::vector<int64_t>{11}));
}

// Group commit: writes called while another commits wait and then share one transaction (one
// WAL sync); each call keeps its own result, and a call that fails is undone alone.
TEST(SqliteStorage, ConcurrentWritesShareOneCommitAndAFailingOneIsUndoneAlone) {
    TempDir dir;
    auto s = open({{"path", dir.file("x.db")}});
    s->migrate();
    std::mutex mu;
    std::condition_variable cv;
    bool release = false;
    std::vector<size_t> groups;
    s->set_group_hook([&](size_t calls) {
        std::unique_lock lock(mu);
        groups.push_back(calls);
        if (groups.size() == 1) cv.wait(lock, [&] { return release; });  // hold the first group
    });
    auto marker = [](const std::string& key) {
        IdempotencyRecord r;
        r.key = key;
        r.fingerprint = "fp-" + key;
        r.expires_at_ns = 1000;
        return r;
    };
    auto order = [](const std::string& id, int64_t version) {
        WriteOp op;
        op.kind = WriteKind::InsertOrder;
        op.order.id = id;
        op.order.client_order_id = "c-" + id;
        op.order.account_id = "A";
        op.order.quantity = Decimal::must_parse("1");
        op.order.version = version;  // an insert must be version 1: 2 is refused
        op.event.seq = version;
        return op;
    };
    std::vector<std::thread> threads;
    threads.emplace_back([&] { EXPECT_FALSE(s->idempotency_begin(marker("k0"), 1).has_value()); });
    while (true) {  // k0's group is being committed (held in the hook)
        std::lock_guard lock(mu);
        if (!groups.empty()) break;
    }
    std::atomic<int> refused{0};
    std::optional<IdempotencyRecord> again;
    for (int i = 1; i <= 5; ++i)
        threads.emplace_back([&, i] {
            EXPECT_FALSE(s->idempotency_begin(marker("k" + std::to_string(i)), 1).has_value());
        });
    threads.emplace_back([&] { again = s->idempotency_begin(marker("k0"), 1); });
    threads.emplace_back([&] {
        EXPECT_EQ(s->write_batch({order("ord_1", 1)}), std::vector<Status>{Status::Ok});
    });
    threads.emplace_back([&] {
        try {
            s->write_batch({order("ord_2", 1), order("ord_bad", 2)});
        } catch (const sdk::Error& e) {
            EXPECT_EQ(e.status(), Status::InvalidArgument) << e.what();
            ++refused;
        }
    });
    while (s->queued_writes() < 8) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    {
        std::lock_guard lock(mu);
        release = true;
    }
    cv.notify_all();
    for (auto& t : threads) t.join();

    EXPECT_EQ(groups, (std::vector<size_t>{1, 8}));  // k0 alone, then the 8 that waited: 2 commits
    ASSERT_TRUE(again.has_value());                  // k0 was held by then
    EXPECT_EQ(again->fingerprint, "fp-k0");
    EXPECT_EQ(refused.load(), 1);
    EXPECT_TRUE(s->get_order("ord_1").has_value());
    EXPECT_FALSE(s->get_order("ord_2").has_value()) << "the failing batch is undone whole";
    for (int i = 0; i <= 5; ++i) {  // every marker committed: a second begin finds it
        std::optional<IdempotencyRecord> held =
            s->idempotency_begin(marker("k" + std::to_string(i)), 2);
        ASSERT_TRUE(held.has_value()) << i;
        EXPECT_FALSE(held->completed);
    }
}

// Expired idempotency keys are purged oldest row first, with no index on the expiry written by
// every begin and complete; a marker that expires before the records written ahead of it goes
// too, and `limit` bounds one call.
TEST(SqliteStorage, IdempotencyKeysArePurgedOldestRowFirstWithoutAnExpiryIndex) {
    TempDir dir;
    std::string path = dir.file("x.db");
    auto s = open({{"path", path}});
    s->migrate();
    auto record = [](const std::string& key, int64_t expires) {
        IdempotencyRecord r;
        r.key = key;
        r.fingerprint = "fp";
        r.response = "answer";
        r.expires_at_ns = expires;
        return r;
    };
    for (const char* k : {"a", "b", "c"}) {
        ASSERT_FALSE(s->idempotency_begin(record(k, 50), 0).has_value());
        ASSERT_TRUE(s->idempotency_complete(record(k, 1000), 0));
    }
    ASSERT_FALSE(s->idempotency_begin(record("marker", 50), 0).has_value());  // never completed
    EXPECT_EQ(s->idempotency_purge(60, 10), 1u);  // the marker, behind three live records
    EXPECT_FALSE(s->idempotency_begin(record("marker", 2000), 61).has_value()) << "it was gone";
    EXPECT_EQ(s->idempotency_purge(1500, 2), 2u);  // a, b: the limit
    EXPECT_EQ(s->idempotency_purge(1500, 0), 1u);  // c; the new marker (2000) stays
    ASSERT_TRUE(s->idempotency_begin(record("marker", 3000), 1600).has_value());

    EXPECT_EQ(declared_indexes(path, "idempotency_keys"), 0)
        << "an index on idempotency_keys is written with every record";
}

TEST(SqliteStorage, CreatesParentDirectoriesAndUsesWal) {
    TempDir dir;
    std::string path = dir.file("a/b/c/ordergate.db");
    auto s = open({{"path", path}});
    s->migrate();
    EXPECT_TRUE(fs::exists(path));
    EXPECT_EQ(pragma(path, "PRAGMA journal_mode"), "wal");
}

// A new file gets page_size (2 KiB by default: fewer WAL bytes to checksum and copy per commit);
// a file made with another size keeps it, and works as before.
TEST(SqliteStorage, ANewFileTakesPageSizeAndAnExistingOneKeepsItsOwn) {
    TempDir dir;
    const std::string fresh = dir.file("fresh.db"), old = dir.file("old.db");
    {
        auto s = open({{"path", fresh}});
        s->migrate();
    }
    EXPECT_EQ(pragma(fresh, "PRAGMA page_size"), "2048");
    {
        auto s = open({{"path", old}, {"page_size", "4096"}});
        s->migrate();
        ASSERT_NO_FATAL_FAILURE(write_recon_runs(*s, 5));
    }
    EXPECT_EQ(pragma(old, "PRAGMA page_size"), "4096");
    auto reopened = open({{"path", old}});
    reopened->migrate();
    ASSERT_NO_FATAL_FAILURE(write_recon_runs(*reopened, 5));
    EXPECT_EQ(pragma(old, "PRAGMA page_size"), "4096");
    EXPECT_EQ(reopened->list_recon_runs("", "", 1000).items.size(), 5u);
    EXPECT_EQ(pragma(old, "PRAGMA integrity_check"), "ok");
}

// The WAL thresholds' defaults are sizes (4 MB, 16 MB) in pages of the file as it is, so a file
// of 2 KiB pages is checkpointed after as many bytes as one of 4 KiB; set ones are kept as given.
TEST(SqliteStorage, DefaultWalThresholdsAreBytesInTheFilesPages) {
    TempDir dir;
    auto small = open({{"path", dir.file("small.db")}});
    EXPECT_EQ(small->checkpoint_pages(), 2000);
    EXPECT_EQ(small->wal_restart_pages(), 8000);
    auto large = open({{"path", dir.file("large.db")}, {"page_size", "4096"}});
    EXPECT_EQ(large->checkpoint_pages(), 1000);
    EXPECT_EQ(large->wal_restart_pages(), 4000);
    large.reset();
    auto reopened = open({{"path", dir.file("large.db")}});  // keeps its 4 KiB pages
    EXPECT_EQ(reopened->checkpoint_pages(), 1000);
    auto set = open({{"path", dir.file("set.db")},
                     {"checkpoint_pages", "300"},
                     {"wal_restart_pages", "900"}});
    EXPECT_EQ(set->checkpoint_pages(), 300);
    EXPECT_EQ(set->wal_restart_pages(), 900);
    auto off = open({{"path", dir.file("off.db")}, {"checkpoint_pages", "0"}});
    EXPECT_EQ(off->checkpoint_pages(), 0);
    EXPECT_EQ(off->wal_restart_pages(), 8000);
}

// An intent is durable before the broker is called: by default a commit must survive power loss
// or an OS crash (FULL syncs the WAL at every commit). NORMAL is an opt-in that may lose the last
// commits then.
// Under steady writes the background checkpoint never sees the whole WAL copied at the instant a
// write begins, so SQLite never starts the WAL over: past wal_restart_pages the writer restarts it.
// (checkpoint_pages is set out of reach here: without the writer's restart the WAL only grows.)
TEST(SqliteStorage, WalStartsOverPastWalRestartPages) {
    TempDir dir;
    std::string path = dir.file("x.db");
    auto s = open({{"path", path}, {"checkpoint_pages", "1000000"}, {"wal_restart_pages", "20"}});
    s->migrate();
    // The migrations' own frames are in the WAL before the writes (the first restart comes after
    // them): the bound is on what the writes add beyond them (each frame is a header and a page: kFrame).
    const uintmax_t after_migrations = fs::file_size(path + "-wal");
    ASSERT_NO_FATAL_FAILURE(write_recon_runs(*s, 300));
    // 300 commits of at least one page each; a WAL started over holds about 20 pages at most.
    // (Migration 9, ABI 1.5, put the migrations' frames plus 20 just over a fixed 64 pages.)
    EXPECT_LT(fs::file_size(path + "-wal"), after_migrations + 40u * kFrame);
    EXPECT_EQ(s->list_recon_runs("", "", 1000).items.size(), 300u);
}

// A reader on the WAL when the writer's restart is due (a reconciliation run's lookups follow one
// another) does not hold the writes: below 4 x wal_restart_pages the restart only tries (busy:
// the next commit tries again), where it waited busy_timeout_ms (here a minute) at every commit.
// Once the reader has gone the WAL starts over.
TEST(SqliteStorage, AReaderOnTheWalDefersTheWritersRestartWithoutHoldingTheWrite) {
    TempDir dir;
    std::string path = dir.file("x.db");
    auto s = open({{"path", path},
                   {"checkpoint_pages", "1000000"},
                   {"wal_restart_pages", "100"},
                   {"busy_timeout_ms", "60000"}});
    s->migrate();
    Connection reader(path, false, 1000);
    ASSERT_NO_FATAL_FAILURE(hold_snapshot(reader));
    // The migrations leave some pages in the WAL; 25 commits of a few pages each take it past
    // 100 pages and keep it below 400: every commit from 100 on finds the reader.
    ASSERT_NO_FATAL_FAILURE(write_recon_runs(*s, 25));
    ASSERT_LT(fs::file_size(path + "-wal"), 400u * kFrame);
    EXPECT_GE(s->restarts_deferred(), 5u);
    EXPECT_EQ(s->restarts_waited_busy(), 0u);
    reader.exec("COMMIT", "end the read");
    const uint64_t deferred = s->restarts_deferred();
    ASSERT_NO_FATAL_FAILURE(write_recon_runs(*s, 1));
    EXPECT_EQ(s->restarts_deferred(), deferred) << "the restart was deferred with no reader";
    EXPECT_EQ(s->list_recon_runs("", "", 1000).items.size(), 25u);
}

// The WAL stays bounded: past 4 x wal_restart_pages the restart waits for the readers (up to
// busy_timeout_ms, here 1 ms against a reader that never leaves).
TEST(SqliteStorage, PastFourTimesWalRestartPagesTheRestartWaitsForReaders) {
    TempDir dir;
    std::string path = dir.file("x.db");
    auto s = open({{"path", path},
                   {"checkpoint_pages", "1000000"},
                   {"wal_restart_pages", "20"},
                   {"busy_timeout_ms", "1"}});
    s->migrate();
    // Below 4 x wal_restart_pages a restart is deferred, past it the writer waits: both only
    // happen as the test's own commits grow the WAL from empty.
    ASSERT_NO_FATAL_FAILURE(empty_wal(path));
    Connection reader(path, false, 1000);
    ASSERT_NO_FATAL_FAILURE(hold_snapshot(reader));
    ASSERT_NO_FATAL_FAILURE(write_recon_runs(*s, 120));
    EXPECT_GE(s->restarts_deferred(), 1u);
    EXPECT_GE(s->restarts_waited_busy(), 1u);
    reader.exec("COMMIT", "end the read");
}

// The background checkpoint is woken when the WAL reaches checkpoint_pages, then again only each
// checkpoint_pages further: once past the mark, a wake at every commit had a checkpoint (and a
// sync of the database file) after every commit, copying the same hot pages each time. A reader
// holding an old snapshot keeps the WAL from starting over, as steady writes do.
TEST(SqliteStorage, CheckpointIsWokenOncePerCheckpointPagesOfWalNotAtEveryCommit) {
    TempDir dir;
    std::string path = dir.file("x.db");
    auto s = open({{"path", path}, {"checkpoint_pages", "20"}, {"wal_restart_pages", "0"}});
    s->migrate();
    Connection reader(path, false, 1000);
    ASSERT_NO_FATAL_FAILURE(hold_snapshot(reader));
    const uintmax_t before = fs::file_size(path + "-wal");
    const int commits = 200;
    for (int i = 0; i < commits; ++i) {
        WriteOp op;
        op.kind = WriteKind::UpsertReconRun;
        op.recon_run.id = "rec_" + std::to_string(i);
        op.recon_run.report_json = std::string(3000, 'x');
        ASSERT_EQ(s->write_batch({op}), std::vector<Status>{Status::Ok});
    }
    // Each frame is kFrame bytes; the WAL never started over (the file only grew).
    const uintmax_t frames = (fs::file_size(path + "-wal") - before) / kFrame;
    ASSERT_GT(frames, uintmax_t(commits)) << "each commit writes at least one page";
    EXPECT_GE(s->checkpoint_requests(), 1u);
    EXPECT_LE(s->checkpoint_requests(), frames / 20 + 2)
        << frames << " frames in " << commits << " commits";
    reader.exec("COMMIT", "end the read");
    EXPECT_EQ(s->list_recon_runs("", "", 1000).items.size(), size_t(commits));
}

// The writer's own restart at wal_restart_pages holds every write while it copies what the
// background checkpoint has not: the background's last wake before it comes a quarter of
// checkpoint_pages ahead (here: 40 and 100, so at 90 pages), not checkpoint_pages after the
// previous one (80, then 120: up to 40 frames left to the writer).
TEST(SqliteStorage, LastCheckpointBeforeTheWritersRestartComesJustAheadOfIt) {
    TempDir dir;
    std::string path = dir.file("x.db");
    auto s = open({{"path", path},
                   {"checkpoint_pages", "40"},
                   {"wal_restart_pages", "100"},
                   {"busy_timeout_ms", "1"}});
    std::vector<int> wakes;  // on the writer's thread; read after the writes
    s->set_checkpoint_hook([&](int pages) { wakes.push_back(pages); });
    s->migrate();
    // A reader's snapshot keeps the WAL from starting over (the writer's restart answers busy):
    // the wakes follow the WAL's growth alone.
    Connection reader(path, false, 1000);
    ASSERT_NO_FATAL_FAILURE(hold_snapshot(reader));
    ASSERT_NO_FATAL_FAILURE(write_recon_runs(*s, 150));
    reader.exec("COMMIT", "end the read");
    std::string seen;
    for (int w : wakes) seen += std::to_string(w) + " ";
    ASSERT_GE(wakes.size(), 3u) << seen;
    EXPECT_TRUE(std::any_of(wakes.begin(), wakes.end(), [](int w) { return w >= 90 && w < 100; }))
        << "wakes at WAL pages: " << seen;
}

TEST(SqliteStorage, DefaultSynchronousIsFullAndNormalIsAnOptIn) {
    TempDir dir;
    auto by_default = open({{"path", dir.file("default.db")}});
    by_default->migrate();
    EXPECT_EQ(by_default->synchronous_level(), 2) << "PRAGMA synchronous is not FULL";
    auto normal = open({{"path", dir.file("normal.db")}, {"synchronous", "NORMAL"}});
    normal->migrate();
    EXPECT_EQ(normal->synchronous_level(), 1);
}

TEST(SqliteStorage, SynchronousFullIsAcceptedCaseInsensitively) {
    TempDir dir;
    auto s = open({{"path", dir.file("x.db")}, {"synchronous", "full"}});
    s->migrate();
    s->ping();
    WriteOp op;
    op.kind = WriteKind::UpsertReconRun;
    op.recon_run.id = "rec_1";
    EXPECT_EQ(s->write_batch({op}), std::vector<Status>{Status::Ok});
}

TEST(SqliteStorage, BadConfigurationIsInvalidArgumentNamingTheKey) {
    TempDir dir;
    auto expect_bad = [&](std::vector<std::pair<std::string, std::string>> cfg, const char* key) {
        try {
            open(std::move(cfg));
            ADD_FAILURE() << "accepted a bad " << key;
        } catch (const sdk::Error& e) {
            EXPECT_EQ(e.status(), Status::InvalidArgument);
            EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
        }
    };
    expect_bad({{"path", dir.file("x.db")}, {"synchronous", "SOMETIMES"}}, "synchronous");
    expect_bad({{"path", dir.file("x.db")}, {"busy_timeout_ms", "soon"}}, "busy_timeout_ms");
    expect_bad({{"path", dir.file("x.db")}, {"read_connections", "-1"}}, "read_connections");
    expect_bad({{"path", dir.file("x.db")}, {"wal_restart_pages", "-1"}}, "wal_restart_pages");
    expect_bad({{"path", dir.file("x.db")}, {"page_size", "3000"}}, "page_size");
    expect_bad({{"path", dir.file("x.db")}, {"page_size", "256"}}, "page_size");
    expect_bad({{"path", ""}}, "path");
}

TEST(SqliteStorage, UnreachableFileIsUnavailable) {
    TempDir dir;
    std::string blocker = dir.file("file");
    { std::ofstream(blocker) << "x"; }
    try {
        open({{"path", blocker + "/sub/x.db"}});
        ADD_FAILURE() << "opened a database under a regular file";
    } catch (const sdk::Error& e) {
        EXPECT_EQ(e.status(), Status::Unavailable) << e.what();
    }
}

TEST(SqliteStorage, ReadsBeforeMigrateFailLoudly) {
    TempDir dir;
    auto s = open({{"path", dir.file("x.db")}});
    try {
        s->get_order("ord_1");
        ADD_FAILURE() << "read from a store without tables";
    } catch (const sdk::Error& e) {
        EXPECT_EQ(e.status(), Status::Internal);
        EXPECT_NE(std::string(e.what()).find("get order"), std::string::npos) << e.what();
    }
}

TEST(SqliteStorage, InMemoryDatabaseWorksWithoutReaderConnections) {
    auto s = open({{"path", ":memory:"}});
    EXPECT_GT(s->migrate(), 0);
    WriteOp op;
    op.kind = WriteKind::UpsertGtt;
    op.gtt.id = "gtt_1";
    op.gtt.version = 1;
    EXPECT_EQ(s->write_batch({op}), std::vector<Status>{Status::Ok});
    EXPECT_TRUE(s->get_gtt("gtt_1").has_value());
}

// Write system calls (write, pwrite, ...) this process has made so far (/proc/self/io, syscw).
uint64_t write_syscalls() {
    std::ifstream io("/proc/self/io");
    std::string line;
    while (std::getline(io, line))
        if (line.rfind("syscw:", 0) == 0) return std::stoull(line.substr(6));
    ADD_FAILURE() << "/proc/self/io has no syscw";
    return 0;
}

// One commit of `n` reconciliation runs of 3,000 bytes: about n pages of WAL.
void write_recon_batch(SqliteStorage& s, int first, int n) {
    std::vector<WriteOp> ops;
    for (int i = first; i < first + n; ++i) {
        WriteOp op;
        op.kind = WriteKind::UpsertReconRun;
        op.recon_run.id = "rec_" + std::to_string(i);
        op.recon_run.report_json = std::string(3000, 'x');
        ops.push_back(std::move(op));
    }
    ASSERT_EQ(s.write_batch(ops), std::vector<Status>(static_cast<size_t>(n), Status::Ok));
}

// SQLite writes a commit to the WAL frame by frame, two system calls per page: 20 per order under
// load, a fifth of the writer thread's time. With synchronous FULL (the default) the storage hands
// each commit to the file in one write. (Checkpoints are set out of reach: the background thread
// would write the database file meanwhile.)
TEST(SqliteStorage, ACommitReachesTheWalInOneWriteCall) {
    TempDir dir;
    auto coalesced = open({{"path", dir.file("one.db")}, {"checkpoint_pages", "1000000"}});
    auto frame_by_frame = open({{"path", dir.file("each.db")},
                                {"checkpoint_pages", "1000000"},
                                {"coalesce_wal_writes", "false"}});
    EXPECT_TRUE(coalesced->coalesces_wal_writes());
    EXPECT_FALSE(frame_by_frame->coalesces_wal_writes());
    coalesced->migrate();
    frame_by_frame->migrate();
    ASSERT_NO_FATAL_FAILURE(write_recon_batch(*coalesced, 0, 10));  // past the WAL's first pages
    ASSERT_NO_FATAL_FAILURE(write_recon_batch(*frame_by_frame, 0, 10));

    // The process's count of write calls also holds whatever else the process writes (the
    // sanitizers probe memory through a pipe), so the comparison is between the two stores, and
    // the VFS's own count is exact.
    const int commits = 5;
    const uint64_t vfs_before = coalesced->coalesced_wal_writes();
    uint64_t before = write_syscalls();
    for (int i = 0; i < commits; ++i)
        ASSERT_NO_FATAL_FAILURE(write_recon_batch(*coalesced, 100 + 20 * i, 20));
    const uint64_t coalesced_writes = write_syscalls() - before;
    const uint64_t vfs_writes = coalesced->coalesced_wal_writes() - vfs_before;
    before = write_syscalls();
    for (int i = 0; i < commits; ++i)
        ASSERT_NO_FATAL_FAILURE(write_recon_batch(*frame_by_frame, 100 + 20 * i, 20));
    const uint64_t frame_writes = write_syscalls() - before;

    EXPECT_EQ(vfs_writes, static_cast<uint64_t>(commits))
        << "WAL writes for " << commits << " commits of 20 pages or more";
    EXPECT_GE(frame_writes, static_cast<uint64_t>(commits * 2 * 20))
        << "the frame-by-frame store is the baseline: two calls per page";
    EXPECT_LT(coalesced_writes * 10, frame_writes)
        << "the process's write calls: " << coalesced_writes << " coalesced, " << frame_writes
        << " frame by frame";
    EXPECT_EQ(frame_by_frame->coalesced_wal_writes(), 0u);
    EXPECT_EQ(coalesced->list_recon_runs("", "", 1000).items.size(), 110u);
    EXPECT_EQ(pragma(dir.file("one.db"), "PRAGMA integrity_check"), "ok");
}

// NORMAL does not sync the WAL at each commit, and other connections read a commit's frames as
// soon as it is published: there, frames must be in the file before the commit ends, so only FULL
// and EXTRA coalesce.
TEST(SqliteStorage, OnlyACommitThatSyncsTheWalIsCoalesced) {
    TempDir dir;
    EXPECT_TRUE(open({{"path", dir.file("f.db")}, {"synchronous", "FULL"}})->coalesces_wal_writes());
    EXPECT_TRUE(open({{"path", dir.file("e.db")}, {"synchronous", "EXTRA"}})->coalesces_wal_writes());
    EXPECT_FALSE(
        open({{"path", dir.file("n.db")}, {"synchronous", "NORMAL"}})->coalesces_wal_writes());
    EXPECT_FALSE(open({{"path", dir.file("o.db")}, {"synchronous", "OFF"}})->coalesces_wal_writes());
    EXPECT_FALSE(open({{"path", ":memory:"}})->coalesces_wal_writes());
}

// The VFS alone, on the cases where SQLite reads back or rewrites what it wrote inside one
// transaction: a page cache of a few pages spills frames to the WAL before the commit and reads
// them again, and a page changed twice is rewritten in place. Another connection (the default
// VFS) sees every committed row and none of a rolled-back transaction, and the file is sound.
TEST(SqliteWalVfs, ATransactionLargerThanThePageCacheReadsBackWhatItSpilled) {
    TempDir dir;
    const std::string path = dir.file("spill.db");
    WalCoalescingVfs vfs;
    {
        Connection w(path, true, 1000, vfs.name());
        w.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA cache_size = 5; "
               "CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT UNIQUE, v TEXT)",
               "set up");
        Connection r(path, false, 1000);
        auto rows = [&](const char* sql) {
            Query q = r.query(sql, "read");
            EXPECT_TRUE(q.step());
            return q.int64(0);
        };
        w.exec("BEGIN", "begin");
        for (int i = 0; i < 2000; ++i) {
            Query q = w.query("INSERT INTO t (id, k, v) VALUES (?1, ?2, ?3)", "insert");
            const std::string k = "key-" + std::to_string(i);
            const std::string v(400, static_cast<char>('a' + i % 26));
            q.bind(1, int64_t{i}).bind(2, k).bind(3, v);
            q.run();
        }
        w.exec("UPDATE t SET v = v || 'z' WHERE id % 7 = 0", "rewrite");
        EXPECT_EQ(rows("SELECT COUNT(*) FROM t"), 0) << "a reader saw an uncommitted row";
        w.exec("COMMIT", "commit");
        EXPECT_EQ(rows("SELECT COUNT(*) FROM t"), 2000);
        EXPECT_EQ(rows("SELECT SUM(LENGTH(v)) FROM t"), 2000 * 400 + 286);
        EXPECT_EQ(rows("SELECT COUNT(*) FROM t WHERE k = 'key-1999'"), 1);

        w.exec("BEGIN", "begin");
        w.exec("DELETE FROM t WHERE id < 1500", "delete");
        for (int i = 2000; i < 3000; ++i) {
            Query q = w.query("INSERT INTO t (id, k, v) VALUES (?1, ?2, ?3)", "insert");
            const std::string k = "key-" + std::to_string(i);
            const std::string v(400, 'b');
            q.bind(1, int64_t{i}).bind(2, k).bind(3, v);
            q.run();
        }
        w.exec("ROLLBACK", "roll back");
        EXPECT_EQ(rows("SELECT COUNT(*) FROM t"), 2000);
        w.exec("INSERT INTO t (id, k, v) VALUES (5000, 'after', 'x')", "insert after");
        EXPECT_EQ(rows("SELECT COUNT(*) FROM t"), 2001);
    }
    // Reopened cold (no connection left): recovery reads the WAL the VFS wrote.
    Connection again(path, false, 1000);
    Query q = again.query("SELECT COUNT(*), SUM(LENGTH(v)) FROM t", "count");
    ASSERT_TRUE(q.step());
    EXPECT_EQ(q.int64(0), 2001);
    EXPECT_EQ(q.int64(1), 2000 * 400 + 286 + 1);
    EXPECT_EQ(pragma(path, "PRAGMA integrity_check"), "ok");
}

// Two storages in one process each register a VFS of their own and drop it independently.
TEST(SqliteWalVfs, EachInstanceHasItsOwnNameAndUnregistersIt) {
    std::string first;
    {
        WalCoalescingVfs a;
        WalCoalescingVfs b;
        first = a.name();
        EXPECT_NE(first, std::string(b.name()));
        EXPECT_NE(sqlite3_vfs_find(a.name()), nullptr);
        EXPECT_NE(sqlite3_vfs_find(b.name()), nullptr);
        EXPECT_NE(sqlite3_vfs_find(nullptr), sqlite3_vfs_find(a.name())) << "it became the default";
    }
    EXPECT_EQ(sqlite3_vfs_find(first.c_str()), nullptr);
}

}  // namespace
}  // namespace ordergate::storage_sqlite
