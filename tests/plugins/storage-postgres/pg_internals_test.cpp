// Tests of storage-postgres's internals: error classification and configuration (no server),
// and against the test PostgreSQL: migrations (older schema, concurrent hosts, nothing outside
// the schema), the bounded pool, recovery after the server drops connections, statement
// timeouts, and the pipelined write path.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "ordergate/cursor.hpp"
#include "migrations.hpp"
#include "pg_conn.hpp"
#include "pg_pool.hpp"
#include "pg_storage.hpp"
#include "pg_test_env.hpp"
#include "../event_log_prune_case.hpp"

namespace ordergate::storage_postgres {

using sdk::decode_cursor;
using sdk::encode_cursor;
namespace {

using Cfg = std::vector<std::pair<std::string, std::string>>;

std::unique_ptr<PgStorage> open(Cfg cfg) {
    sdk::PluginContext ctx{sdk::Config(std::move(cfg)), sdk::Host(nullptr), sdk::EventSink(nullptr)};
    return std::make_unique<PgStorage>(ctx);
}

template <typename F>
sdk::Error expect_error(F&& f) {
    try {
        f();
    } catch (const sdk::Error& e) {
        return e;
    }
    ADD_FAILURE() << "no sdk::Error thrown";
    return sdk::Error(Status::Ok, "");
}

std::unique_ptr<Connection> admin(const std::string& url) {
    ConnectSpec spec;
    spec.keywords = {"dbname"};
    spec.values = {url};
    return Connection::open(spec);
}

WriteOp insert(const std::string& id, const std::string& account) {
    WriteOp op;
    op.kind = WriteKind::InsertOrder;
    op.order.id = id;
    op.order.client_order_id = "cid-" + id;
    op.order.account_id = account;
    op.order.quantity = Decimal::must_parse("3.140");
    op.order.version = 1;
    op.event.seq = 1;
    return op;
}

TEST(PgErrors, SqlStatesMapToRetryableOrInternal) {
    EXPECT_EQ(classify_sqlstate("08006"), Status::Unavailable);
    EXPECT_EQ(classify_sqlstate("57P01"), Status::Unavailable);
    EXPECT_EQ(classify_sqlstate("57014"), Status::Unavailable);
    EXPECT_EQ(classify_sqlstate("53300"), Status::Unavailable);
    EXPECT_EQ(classify_sqlstate("40001"), Status::Unavailable);
    EXPECT_EQ(classify_sqlstate(""), Status::Unavailable);
    EXPECT_EQ(classify_sqlstate("23505"), Status::Internal);
    EXPECT_EQ(classify_sqlstate("42P01"), Status::Internal);
}

TEST(PgCursor, RoundTripsAndRejectsGarbage) {
    EXPECT_EQ(decode_cursor(encode_cursor("ord_01J0ABC")), "ord_01J0ABC");
    EXPECT_EQ(expect_error([] { decode_cursor("ord_01J0ABC"); }).status(),
              Status::InvalidArgument);
}

TEST(PgConfig, BadValuesAreInvalidArgumentNamingTheKeyAndNeverTheUrl) {
    const std::string url = "postgresql://user:s3cret@127.0.0.1:1/db";
    auto bad = [&](Cfg cfg, const char* key) {
        sdk::Error e = expect_error([&] { open(std::move(cfg)); });
        EXPECT_EQ(e.status(), Status::InvalidArgument) << e.what();
        EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
        EXPECT_EQ(std::string(e.what()).find("s3cret"), std::string::npos) << e.what();
    };
    bad({}, "url");
    bad({{"url", "postgresql://user:s3cret@[bad"}}, "url");
    bad({{"url", url}, {"schema", "Order-Service"}}, "schema");
    bad({{"url", url}, {"schema", "x; drop table y"}}, "schema");
    bad({{"url", url}, {"pool_size", "0"}}, "pool_size");
    bad({{"url", url}, {"pool_wait_ms", "-1"}}, "pool_wait_ms");
    bad({{"url", url}, {"statement_timeout_ms", "abc"}}, "statement_timeout_ms");
}

TEST(PgConfig, UnreachableServerIsUnavailableAndNeverLeaksThePassword) {
    auto s = open({{"url", "postgresql://user:s3cret@127.0.0.1:1/db"}, {"connect_timeout_s", "2"}});
    for (auto call : std::vector<std::function<void()>>{
             [&] { s->migrate(); }, [&] { s->ping(); }, [&] { s->get_order("ord_1"); },
             [&] { s->write_batch({insert("ord_1", "A")}); }}) {
        sdk::Error e = expect_error(call);
        EXPECT_EQ(e.status(), Status::Unavailable) << e.what();
        EXPECT_EQ(std::string(e.what()).find("s3cret"), std::string::npos) << e.what();
    }
}

class PgLive : public ::testing::Test {
protected:
    void SetUp() override {
        url_ = testing::database_url();
        if (url_.empty()) GTEST_FAIL() << "no test database";
        schema_ = testing::unique_schema("int");
    }
    Cfg config(Cfg extra = {}) const {
        Cfg cfg{{"url", url_}, {"schema", schema_}};
        cfg.insert(cfg.end(), extra.begin(), extra.end());
        return cfg;
    }
    std::string url_, schema_;
};

TEST_F(PgLive, OlderSchemaGetsOnlyTheMissingStepsAndKeepsItsRows) {
    auto s = open(config());
    EXPECT_EQ(s->migrate_to(1), 1);
    ASSERT_EQ(s->write_batch({insert("ord_1", "A")}), std::vector<Status>{Status::Ok});
    auto db = admin(url_);
    std::string first_applied =
        db->exec("SELECT applied_at::text FROM " + schema_ +
                     ".schema_migrations WHERE version = 1", "t")
            .text(0, 0);
    int64_t latest = migrations().back().version;
    EXPECT_EQ(s->migrate(), latest);
    EXPECT_EQ(s->migrate(), latest);
    Result r = db->exec("SELECT count(*), min(version), max(version) FROM " + schema_ +
                            ".schema_migrations", "t");
    EXPECT_EQ(r.int64(0, 0), latest);
    EXPECT_EQ(r.int64(0, 2), latest);
    EXPECT_EQ(db->exec("SELECT applied_at::text FROM " + schema_ +
                           ".schema_migrations WHERE version = 1", "t")
                  .text(0, 0),
              first_applied);
    std::optional<OrderRecord> o = s->get_order("ord_1");
    ASSERT_TRUE(o.has_value());
    EXPECT_TRUE(o->quantity.identical(Decimal::must_parse("3.140")));
}

// ABI 1.5 (migration 8): a schema written before fills had a kind keeps its fills, read as
// trades, and stores a bust's kind and referenced trade id from then on.
TEST_F(PgLive, FillsOfAnOlderSchemaAreTradesAndBustsRoundTripAfterTheUpgrade) {
    {
        auto s = open(config());
        EXPECT_EQ(s->migrate_to(7), 7);
    }
    auto db = admin(url_);
    // The columns do not exist yet: the row is written as a 1.4 store wrote it.
    db->exec("INSERT INTO " + schema_ +
                 ".fills (id, order_id, broker, broker_trade_id, account_id, symbol, exchange, "
                 "side, quantity, price, fee, executed_at_ns) VALUES ('trd_1', 'ord_1', 'fix', "
                 "'E1', 'A', 'X', 'XNSE', 'BUY', 5, 101.25, 0, 7)",
             "t");
    auto s = open(config());
    EXPECT_EQ(s->migrate(), migrations().back().version);
    FillRecord bust;
    bust.id = "trd_2";
    bust.order_id = "ord_1";
    bust.broker = "fix";
    bust.broker_trade_id = "E1-BUST";
    bust.account_id = "A";
    bust.symbol = "X";
    bust.exchange = "XNSE";
    bust.quantity = Decimal::must_parse("5");
    bust.price = Decimal::must_parse("101.25");
    bust.fee = Decimal::must_parse("0");
    bust.executed_at_ns = 8;
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
    EXPECT_EQ(page.items[1].broker_trade_id, "E1-BUST");
    EXPECT_EQ(page.items[1].kind, FillKind::Bust);
    EXPECT_EQ(page.items[1].ref_trade_id, "E1");
}

// Migration 9: the broker id and request id indexes hold only rows that have one (a new order
// has no broker id until the venue's ack; most events carry no request id), and the lookups
// still find the orders written before the upgrade and after it, through those indexes.
TEST_F(PgLive, BrokerIdAndRequestIdIndexesHoldOnlyRowsThatHaveOne) {
    auto s = open(config());
    ASSERT_EQ(s->migrate_to(8), 8);
    auto order = [&](const std::string& id, const std::string& broker_id,
                     const std::string& request_id) {
        WriteOp op = insert(id, "A");
        op.order.broker = "paper";
        op.order.broker_order_id = broker_id;
        op.event.request_id = request_id;
        ASSERT_EQ(s->write_batch({op}), std::vector<Status>{Status::Ok});
    };
    order("ord_1", "B1", "req-1");  // before the upgrade
    order("ord_2", "", "");
    EXPECT_EQ(s->migrate(), migrations().back().version);
    order("ord_3", "B3", "");
    order("ord_4", "", "req-4");

    auto db = admin(url_);
    auto predicate = [&](const std::string& index) {
        Result r = db->exec(
            "SELECT pg_get_expr(i.indpred, i.indrelid) FROM pg_index i JOIN "
            "pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = "
            "c.relnamespace WHERE n.nspname = '" +
                schema_ + "' AND c.relname = '" + index + "'",
            "t");
        return r.text(0, 0);
    };
    EXPECT_NE(predicate("orders_broker_order_id").find("broker_order_id <> ''"), std::string::npos)
        << predicate("orders_broker_order_id");
    EXPECT_NE(predicate("order_events_request_id").find("request_id <> ''"), std::string::npos)
        << predicate("order_events_request_id");

    EXPECT_EQ(s->get_order_by_broker_id("paper", "B1")->id, "ord_1");
    EXPECT_EQ(s->get_order_by_broker_id("paper", "B3")->id, "ord_3");
    EXPECT_FALSE(s->get_order_by_broker_id("paper", "").has_value());
    EXPECT_EQ(s->get_order_by_request_id("A", "req-1")->id, "ord_1");
    EXPECT_EQ(s->get_order_by_request_id("A", "req-4")->id, "ord_4");
    EXPECT_FALSE(s->get_order_by_request_id("A", "").has_value());
    db->exec("SET enable_seqscan = off", "t");
    Result plan = db->exec("EXPLAIN SELECT id FROM " + schema_ +
                               ".orders WHERE broker_order_id = 'B1' AND broker = 'paper' AND "
                               "broker_order_id <> ''",
                           "t");
    std::string text;
    for (int i = 0; i < plan.rows(); ++i) text += plan.text(i, 0) + "\n";
    EXPECT_NE(text.find("orders_broker_order_id"), std::string::npos) << text;
}

// Migration 10 and retention: the event log is pruned per account oldest seq first, with no
// index on at_ns written per entry: an entry older than the cutoff behind one stamped later (a
// clock that went back) waits for a later prune; a limit bounds what one call deletes over all
// accounts. Entries written before the upgrade are pruned the same way.
TEST_F(PgLive, EventLogIsPrunedOldestFirstPerAccountWithoutATimeIndex) {
    auto s = open(config());
    ASSERT_EQ(s->migrate_to(9), 9);
    ordergate::testing::check_event_log_pruned_oldest_first_per_account(
        *s, [&] { EXPECT_EQ(s->migrate(), migrations().back().version); });

    auto db = admin(url_);
    auto indexes = [&](const std::string& table) {
        return db->exec("SELECT count(*) FROM pg_indexes WHERE schemaname = '" + schema_ +
                            "' AND tablename = '" + table + "'",
                        "t")
            .int64(0, 0);
    };
    EXPECT_EQ(indexes("account_events"), 1) << "only its primary key (account_id, seq)";
    EXPECT_EQ(indexes("account_seq"), 1);
}

TEST_F(PgLive, EverythingLivesInTheSchema) {
    auto db = admin(url_);
    auto count_outside = [&] {
        return db->exec("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = "
                        "c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', "
                        "'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'og_test_%' "
                        "AND n.nspname NOT LIKE 'pg_temp%'",
                        "t")
            .int64(0, 0);
    };
    auto functions_outside = [&] {
        return db->exec("SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = "
                        "p.pronamespace WHERE n.nspname NOT IN ('pg_catalog', "
                        "'information_schema') AND n.nspname NOT LIKE 'og_test_%'",
                        "t")
            .int64(0, 0);
    };
    int64_t before = count_outside(), before_fn = functions_outside();
    auto s = open(config());
    s->migrate();
    EXPECT_EQ(count_outside(), before);
    EXPECT_EQ(functions_outside(), before_fn);
    Result tables = db->exec("SELECT count(*) FROM pg_tables WHERE schemaname = '" + schema_ + "'",
                             "t");
    // orders, order_events, fills, gtts, recon_runs, idempotency_keys, leases, account_seq,
    // account_events, migrations
    EXPECT_EQ(tables.int64(0, 0), 10);
}

TEST_F(PgLive, HostsStartingTogetherMigrateOnce) {
    constexpr int kHosts = 4;
    std::vector<int64_t> reached(kHosts, -1);
    std::vector<std::string> errors(kHosts);
    std::vector<std::thread> threads;
    for (int i = 0; i < kHosts; ++i) {
        threads.emplace_back([&, i] {
            try {
                reached[static_cast<size_t>(i)] = open(config())->migrate();
            } catch (const std::exception& e) {
                errors[static_cast<size_t>(i)] = e.what();
            }
        });
    }
    for (auto& t : threads) t.join();
    for (int i = 0; i < kHosts; ++i) {
        EXPECT_EQ(errors[static_cast<size_t>(i)], "");
        EXPECT_EQ(reached[static_cast<size_t>(i)], migrations().back().version);
    }
    auto db = admin(url_);
    EXPECT_EQ(db->exec("SELECT count(*) FROM " + schema_ + ".schema_migrations", "t").int64(0, 0),
              migrations().back().version);
}

TEST_F(PgLive, EventLogIsAppendOnly) {
    auto s = open(config());
    s->migrate();
    ASSERT_EQ(s->write_batch({insert("ord_1", "A")}), std::vector<Status>{Status::Ok});
    auto db = admin(url_);
    sdk::Error e = expect_error([&] { db->exec("DELETE FROM " + schema_ + ".order_events", "t"); });
    EXPECT_NE(std::string(e.what()).find("append-only"), std::string::npos) << e.what();
}

TEST_F(PgLive, ExhaustedPoolFailsAfterTheBoundedWait) {
    ConnectSpec spec;
    spec.keywords = {"dbname"};
    spec.values = {url_};
    Pool pool(spec, 1, std::chrono::milliseconds(150));
    Pool::Lease held = pool.acquire();
    auto start = std::chrono::steady_clock::now();
    sdk::Error e = expect_error([&] { pool.acquire(); });
    auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(e.status(), Status::Unavailable);
    EXPECT_NE(std::string(e.what()).find("connection pool exhausted"), std::string::npos);
    EXPECT_GE(waited, std::chrono::milliseconds(150));
    EXPECT_LT(waited, std::chrono::seconds(10));  // bounded: never a hang
}

TEST_F(PgLive, RecoversAfterTheServerDropsEveryConnection) {
    std::string app = "og_recovery_" + schema_;
    std::string url = url_ + (url_.find('?') == std::string::npos ? "?" : "&") +
                      "application_name=" + app;
    auto s = open({{"url", url}, {"schema", schema_}, {"pool_size", "2"}});
    s->migrate();
    ASSERT_EQ(s->write_batch({insert("ord_1", "A")}), std::vector<Status>{Status::Ok});
    s->ping();
    auto db = admin(url_);
    Result killed = db->exec("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM "
                             "pg_stat_activity WHERE application_name = '" + app + "') k",
                             "t");
    ASSERT_GE(killed.int64(0, 0), 1);
    // What the pool held is gone; the plugin notices, drops those sessions and retries once on
    // fresh ones (nothing was committed), so the callers see no failure.
    int failures = 0;
    for (int attempt = 0; attempt < 3; ++attempt) {
        try {
            ASSERT_EQ(s->write_batch({insert("ord_" + std::to_string(attempt + 2), "A")}),
                      std::vector<Status>{Status::Ok});
            break;
        } catch (const sdk::Error& e) {
            EXPECT_EQ(e.status(), Status::Unavailable) << e.what();
            ++failures;
        }
    }
    EXPECT_EQ(failures, 0);
    EXPECT_TRUE(s->get_order("ord_1").has_value());
    s->ping();
}

TEST_F(PgLive, StatementTimeoutIsUnavailableAndRollsBack) {
    auto s = open(config({{"statement_timeout_ms", "200"}}));
    s->migrate();
    auto locker = admin(url_);
    locker->exec("BEGIN; LOCK TABLE " + schema_ + ".orders IN ACCESS EXCLUSIVE MODE", "lock");
    sdk::Error e = expect_error([&] { s->write_batch({insert("ord_1", "A")}); });
    EXPECT_EQ(e.status(), Status::Unavailable) << e.what();
    EXPECT_NE(std::string(e.what()).find("57014"), std::string::npos) << e.what();
    locker->exec("ROLLBACK", "unlock");
    EXPECT_FALSE(s->get_order("ord_1").has_value());
    EXPECT_EQ(s->write_batch({insert("ord_1", "A")}), std::vector<Status>{Status::Ok});
}

// An entry goes out in the same round trip as COMMIT. When it fails (here a statement timeout on
// the locked event log), the pipeline aborts COMMIT with it: the batch's order, stored in the
// round trip before, is rolled back, and the next batch commits normally.
TEST_F(PgLive, AFailedEntryAbortsTheCommitSentWithItAndNothingIsStored) {
    auto s = open(config({{"statement_timeout_ms", "200"}, {"pool_size", "1"}}));
    s->migrate();
    WriteOp entry = ordergate::testing::event_entry("A", 10);
    entry.requires_previous = true;
    auto locker = admin(url_);
    locker->exec("BEGIN; LOCK TABLE " + schema_ + ".account_events IN ACCESS EXCLUSIVE MODE",
                 "lock");
    sdk::Error e = expect_error([&] { s->write_batch({insert("ord_1", "A"), entry}); });
    EXPECT_EQ(e.status(), Status::Unavailable) << e.what();
    EXPECT_NE(std::string(e.what()).find("57014"), std::string::npos) << e.what();
    locker->exec("ROLLBACK", "unlock");
    EXPECT_FALSE(s->get_order("ord_1").has_value());
    EXPECT_TRUE(ordergate::testing::event_seqs(*s, "A").empty());
    EXPECT_EQ(s->write_batch({insert("ord_1", "A"), entry}),
              (std::vector<Status>{Status::Ok, Status::Ok}));
    EXPECT_TRUE(s->get_order("ord_1").has_value());
    EXPECT_EQ(ordergate::testing::event_seqs(*s, "A"), std::vector<int64_t>{1});
    // A conflicting order skips its entry; the batch still commits.
    EXPECT_EQ(s->write_batch({insert("ord_1", "A"), entry}),
              (std::vector<Status>{Status::Conflict, Status::Conflict}));
    EXPECT_EQ(ordergate::testing::event_seqs(*s, "A"), std::vector<int64_t>{1});
}

// A batch's entries go in a few statements of 64, 32, ... 1 entries: 103 of them here (64 + 32 +
// 4 + 2 + 1), two accounts interleaved, one entry skipped behind a conflicting order. Each
// account's seqs continue its counter, contiguous, in batch order, each with its own document.
TEST_F(PgLive, ABatchsEntriesKeepBatchOrderPerAccountAcrossItsStatements) {
    auto s = open(config());
    s->migrate();
    ASSERT_EQ(s->write_batch({ordergate::testing::event_entry("B", 1)}),
              std::vector<Status>{Status::Ok});  // B's counter starts at 1
    ASSERT_EQ(s->write_batch({insert("ord_1", "A")}), std::vector<Status>{Status::Ok});
    std::vector<WriteOp> ops;
    std::vector<std::string> docs_a, docs_b;
    for (int i = 0; i < 104; ++i) {
        WriteOp e = ordergate::testing::event_entry(i % 3 == 0 ? "B" : "A", 100 + i);
        e.account_event.data_json = "{\"i\":" + std::to_string(i) + "}";
        if (i == 40) {  // skipped: the order before it conflicts
            ops.push_back(insert("ord_1", "A"));
            e.requires_previous = true;
        } else {
            (i % 3 == 0 ? docs_b : docs_a).push_back(e.account_event.data_json);
        }
        ops.push_back(e);
    }
    std::vector<Status> r = s->write_batch(ops);
    ASSERT_EQ(r.size(), ops.size());
    EXPECT_EQ(std::count(r.begin(), r.end(), Status::Conflict), 2);
    auto check = [&](const std::string& account, int64_t first_seq,
                     const std::vector<std::string>& docs) {
        AccountEventPage p = s->list_account_events(account, first_seq - 1, 1000);
        ASSERT_EQ(p.items.size(), docs.size()) << account;
        for (size_t k = 0; k < docs.size(); ++k) {
            EXPECT_EQ(p.items[k].seq, first_seq + static_cast<int64_t>(k)) << account;
            EXPECT_EQ(p.items[k].data_json, docs[k]) << account << " seq " << p.items[k].seq;
        }
        EXPECT_EQ(p.last_seq, first_seq + static_cast<int64_t>(docs.size()) - 1) << account;
    };
    check("A", 1, docs_a);
    check("B", 2, docs_b);
    EXPECT_EQ(docs_a.size() + docs_b.size(), 103u);
}

TEST_F(PgLive, LongBatchesSpanSeveralPipelineSegments) {
    auto s = open(config());
    s->migrate();
    std::vector<WriteOp> ops;
    for (int i = 0; i < 700; ++i) {
        ops.push_back(insert("ord_" + std::to_string(1000 + i), "A"));
        if (i % 100 == 50) {  // a conflicting op, and a flagged one skipped behind it
            ops.push_back(insert("ord_" + std::to_string(1000 + i), "A"));
            WriteOp flagged = insert("ord_x" + std::to_string(i), "A");
            flagged.requires_previous = true;
            ops.push_back(flagged);
        }
    }
    std::vector<Status> r = s->write_batch(ops);
    ASSERT_EQ(r.size(), ops.size());
    size_t conflicts = static_cast<size_t>(std::count(r.begin(), r.end(), Status::Conflict));
    EXPECT_EQ(conflicts, 14u);
    OrderQuery q;
    q.account_ids = {"A"};
    q.limit = 1000;
    EXPECT_EQ(s->list_orders(q).items.size(), 700u);
}

}  // namespace
}  // namespace ordergate::storage_postgres
