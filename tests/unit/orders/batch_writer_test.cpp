// Unit tests of the group-commit writer (host/orders/batch_writer.hpp) against FakeStorage.
// No sleeps: FakeStorage::hold() keeps a batch in flight while the test queues more behind it,
// and flush() waits for the writer.
#include "orders/batch_writer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fakes.hpp"

namespace ordergate::orders {
namespace {

using testing::FakeStorage;

WriteOp insert(const std::string& cid) {
    WriteOp op;
    op.kind = WriteKind::InsertOrder;
    op.order.id = "ord_" + cid;
    op.order.client_order_id = cid;
    op.order.account_id = "ACC1";
    op.order.broker = "paper";
    op.order.quantity = Decimal(1, 0);
    op.order.version = 1;
    op.event.order_id = op.order.id;
    op.event.seq = 1;
    return op;
}

// Moves order `cid` from version - 1 to version.
WriteOp update(const std::string& cid, int64_t version) {
    WriteOp op = insert(cid);
    op.kind = WriteKind::UpdateOrder;
    op.expected_version = version - 1;
    op.order.version = version;
    op.event.seq = version;
    return op;
}

std::vector<WriteOp> one(WriteOp op) {
    std::vector<WriteOp> v;
    v.push_back(std::move(op));
    return v;
}

Status status_of(std::exception_ptr e) {
    try {
        std::rethrow_exception(e);
    } catch (const sdk::Error& err) {
        return err.status();
    }
    std::unreachable();  // rethrow_exception always throws
}

// What a write_async completion reported, for the test thread to read after flush().
struct Outcome {
    std::mutex mutex;
    bool called = false;
    std::vector<Status> results;
    std::exception_ptr error;

    BatchWriter::Done done() {
        return [this](const std::vector<Status>* r, std::exception_ptr e) {
            std::lock_guard lock(mutex);
            called = true;
            if (r) results = *r;
            error = e;
        };
    }
    bool was_called() {
        std::lock_guard lock(mutex);
        return called;
    }
};

TEST(BatchWriter, ConcurrentWritesShareBatchesAndEachCallerGetsItsOwnResults) {
    FakeStorage storage;
    BatchWriter writer(storage, nullptr);
    // c3 and c7 exist already: those two callers must get Conflict, every other caller Ok.
    ASSERT_EQ(writer.write(one(insert("c3"))), std::vector<Status>{Status::Ok});
    ASSERT_EQ(writer.write(one(insert("c7"))), std::vector<Status>{Status::Ok});

    storage.hold();
    Outcome warm;
    writer.write_async(one(insert("warm")), warm.done());
    storage.wait_until_held();  // the writer is busy: the 16 writes below queue behind it
    const int before = storage.batch_calls();

    constexpr int kThreads = 16;
    std::latch started(kThreads);
    std::vector<std::vector<Status>> results(kThreads);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
        threads.emplace_back([&, i] {
            started.count_down();
            results[i] = writer.write(one(insert("c" + std::to_string(i))));
        });
    }
    started.wait();
    storage.release();
    for (auto& t : threads) t.join();

    const int batches = storage.batch_calls() - before;
    EXPECT_LT(batches, kThreads) << "group commit: 16 concurrent writes in fewer transactions";
    EXPECT_GE(batches, 1);
    for (int i = 0; i < kThreads; ++i) {
        const Status want = (i == 3 || i == 7) ? Status::Conflict : Status::Ok;
        EXPECT_EQ(results[i], std::vector<Status>{want}) << "caller " << i;
    }
    for (int i = 0; i < kThreads; ++i)
        EXPECT_TRUE(storage.stored_order("ord_c" + std::to_string(i))) << "c" << i;
}

// A journal recording where its documents were rendered and what annotate() was handed.
class RecordingJournal : public ChangeJournal {
public:
    std::vector<std::string> render_ahead(const std::vector<WriteOp>& ops) const override {
        std::lock_guard lock(mutex);
        std::vector<std::string> out;
        for (const WriteOp& op : ops) {
            render_threads.push_back(std::this_thread::get_id());
            out.push_back("doc:" + op.order.client_order_id);
        }
        return out;
    }
    void annotate(const std::vector<WriteOp>& ops, std::vector<WriteOp>* out,
                  std::vector<size_t>* index_of, std::vector<std::string>* rendered) override {
        std::lock_guard lock(mutex);
        out->assign(ops.begin(), ops.end());
        index_of->clear();
        for (size_t i = 0; i < ops.size(); ++i) {
            index_of->push_back(i);
            handed.push_back(ops[i].order.client_order_id + "=" +
                             (rendered && i < rendered->size() ? (*rendered)[i] : "(none)"));
        }
    }
    void committed(const std::vector<WriteOp>&, const std::vector<Status>&) override {}

    mutable std::mutex mutex;
    mutable std::vector<std::thread::id> render_threads;
    std::vector<std::string> handed;
};

// The event log's documents are rendered by the thread that queues a write, so the writer's
// serial cycle (every commit waits for it) does not; annotate() gets each op's own document,
// requests grouped into one batch included.
TEST(BatchWriter, TheJournalsDocumentsAreRenderedByTheQueuingThreadAndHandedToAnnotate) {
    FakeStorage storage;
    RecordingJournal journal;
    BatchWriter writer(storage, nullptr);
    writer.set_journal(&journal);
    storage.hold();
    writer.write_async(one(insert("warm")), nullptr);
    storage.wait_until_held();
    std::vector<WriteOp> two;
    two.push_back(insert("a"));
    two.push_back(update("a", 2));
    two[1].order.client_order_id = "a2";
    writer.write_async(std::move(two), nullptr);
    std::thread other([&] { writer.write_async(one(insert("b")), nullptr); });
    other.join();
    storage.release();
    writer.flush();

    std::lock_guard lock(journal.mutex);
    EXPECT_EQ(journal.handed,
              (std::vector<std::string>{"warm=doc:warm", "a=doc:a", "a2=doc:a2", "b=doc:b"}));
    ASSERT_EQ(journal.render_threads.size(), 4u);
    EXPECT_EQ(journal.render_threads[0], std::this_thread::get_id());
    EXPECT_EQ(journal.render_threads[1], std::this_thread::get_id());
    EXPECT_EQ(journal.render_threads[2], std::this_thread::get_id());
    EXPECT_NE(journal.render_threads[3], std::this_thread::get_id());  // `other` queued it
}

TEST(BatchWriter, WritesLandInTheOrderTheyWereQueuedWithinAndAcrossBatches) {
    FakeStorage storage;
    BatchWriter writer(storage, nullptr, /*max_ops=*/4);  // 20 writes need several batches
    storage.hold();
    writer.write_async(one(insert("warm")), nullptr);
    storage.wait_until_held();

    constexpr int kVersions = 20;
    std::vector<Outcome> outcomes(kVersions);
    std::vector<std::string> expected{"insert:warm"};
    for (int v = 1; v <= kVersions; ++v) {
        writer.write_async(one(v == 1 ? insert("o") : update("o", v)), outcomes[v - 1].done());
        expected.push_back(v == 1 ? "insert:o" : "update:o:v" + std::to_string(v));
    }
    storage.release();
    writer.flush();

    EXPECT_EQ(storage.applied(), expected);
    for (int v = 1; v <= kVersions; ++v) {
        ASSERT_TRUE(outcomes[v - 1].was_called()) << "version " << v;
        EXPECT_EQ(outcomes[v - 1].results, std::vector<Status>{Status::Ok}) << "version " << v;
    }
    ASSERT_TRUE(storage.stored_order("ord_o"));
    EXPECT_EQ(storage.stored_order("ord_o")->version, kVersions);
    for (size_t size : storage.batch_sizes()) EXPECT_LE(size, 4u);
    EXPECT_LT(storage.committed_batches(), kVersions + 1) << "the queued writes were grouped";
}

TEST(BatchWriter, BatchRefusedForItsContentIsSplitAndOnlyTheBadRequestFails) {
    FakeStorage storage;
    storage.refuse_ops([](const WriteOp& op) { return op.order.client_order_id == "bad"; });
    BatchWriter writer(storage, nullptr);
    storage.hold();
    writer.write_async(one(insert("warm")), nullptr);
    storage.wait_until_held();

    Outcome a, bad, c;
    writer.write_async(one(insert("a")), a.done());
    writer.write_async(one(insert("bad")), bad.done());
    writer.write_async(one(insert("c")), c.done(), /*keep_until_written=*/true);
    storage.release();
    writer.flush();

    ASSERT_TRUE(a.was_called() && bad.was_called() && c.was_called());
    EXPECT_EQ(a.results, std::vector<Status>{Status::Ok});
    EXPECT_FALSE(a.error);
    EXPECT_EQ(c.results, std::vector<Status>{Status::Ok});
    EXPECT_FALSE(c.error);
    ASSERT_TRUE(bad.error);
    EXPECT_EQ(status_of(bad.error), Status::Internal);
    EXPECT_EQ(storage.applied(), (std::vector<std::string>{"insert:warm", "insert:a", "insert:c"}));
    // warm, the refused group of three, then a, bad and c alone.
    EXPECT_EQ(storage.batch_calls(), 5);
}

TEST(BatchWriter, UnavailableFailsWaitingWritesAtOnceAndKeepsAnsweredWritesUntilStorageReturns) {
    FakeStorage storage;
    BatchWriter writer(storage, nullptr);
    storage.set_down(true);

    Outcome kept1, kept2;
    std::promise<std::exception_ptr> waiting;
    writer.write_async(one(insert("k")), kept1.done(), /*keep_until_written=*/true);
    writer.write_async(
        one(insert("w")),
        [&waiting](const std::vector<Status>*, std::exception_ptr e) { waiting.set_value(e); });
    writer.write_async(one(update("k", 2)), kept2.done(), /*keep_until_written=*/true);

    // The request someone waits for fails while the store is still down.
    std::exception_ptr err = waiting.get_future().get();
    ASSERT_TRUE(err);
    EXPECT_EQ(status_of(err), Status::Unavailable);

    writer.flush();  // one more failed attempt; the kept writes stay queued
    EXPECT_FALSE(kept1.was_called());
    EXPECT_FALSE(kept2.was_called());
    EXPECT_TRUE(storage.applied().empty());

    storage.set_down(false);
    writer.flush();
    ASSERT_TRUE(kept1.was_called());
    ASSERT_TRUE(kept2.was_called());
    EXPECT_FALSE(kept1.error);
    EXPECT_FALSE(kept2.error);
    EXPECT_EQ(kept1.results, std::vector<Status>{Status::Ok});
    EXPECT_EQ(kept2.results, std::vector<Status>{Status::Ok});
    // In order (the update would conflict ahead of the insert), and the failed one never lands.
    EXPECT_EQ(storage.applied(), (std::vector<std::string>{"insert:k", "update:k:v2"}));
}

TEST(BatchWriter, KeptWriteStaysQueuedWhenStorageGoesDownWhileARefusedBatchIsSplit) {
    FakeStorage storage;
    storage.refuse_ops([](const WriteOp& op) { return op.order.client_order_id == "bad"; });
    BatchWriter writer(storage, nullptr);
    storage.hold();
    writer.write_async(one(insert("warm")), nullptr);
    storage.wait_until_held();

    Outcome kept, bad;
    writer.write_async(one(insert("k")), kept.done(), /*keep_until_written=*/true);
    writer.write_async(one(insert("bad")), bad.done());
    // warm lands, the group {k, bad} is refused, then k alone meets an unreachable store once.
    storage.script_batches({std::nullopt, std::nullopt, Status::Unavailable});
    storage.release();
    writer.flush();
    writer.flush();

    const auto applied = storage.applied();
    EXPECT_TRUE(std::find(applied.begin(), applied.end(), "insert:k") != applied.end())
        << "an answered-for write was dropped";
    ASSERT_TRUE(kept.was_called());
    EXPECT_FALSE(kept.error);
}

TEST(BatchWriter, FlushWaitsForEverythingQueuedBeforeIt) {
    FakeStorage storage;
    BatchWriter writer(storage, nullptr);
    std::mutex mutex;
    std::vector<std::string> log;
    storage.hold();
    writer.write_async(one(insert("a")), [&](const std::vector<Status>*, std::exception_ptr) {
        std::lock_guard lock(mutex);
        log.push_back("a written");
    });
    storage.wait_until_held();
    writer.write_async(one(insert("b")), [&](const std::vector<Status>*, std::exception_ptr) {
        std::lock_guard lock(mutex);
        log.push_back("b written");
    });

    auto flushed = std::async(std::launch::async, [&] {
        writer.flush();
        std::lock_guard lock(mutex);
        log.push_back("flush returned");
    });
    EXPECT_EQ(flushed.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
    storage.release();
    flushed.get();

    EXPECT_EQ(log, (std::vector<std::string>{"a written", "b written", "flush returned"}));
    EXPECT_EQ(storage.applied(), (std::vector<std::string>{"insert:a", "insert:b"}));
}

TEST(BatchWriter, FlushWaitsForABatchInFlightEvenWithNothingQueued) {
    FakeStorage storage;
    BatchWriter writer(storage, nullptr);
    std::mutex mutex;
    std::vector<std::string> log;
    storage.hold();
    writer.write_async(one(insert("a")), [&](const std::vector<Status>*, std::exception_ptr) {
        std::lock_guard lock(mutex);
        log.push_back("a written");
    });
    storage.wait_until_held();  // the queue is empty; "a" is in the writer's hands

    auto flushed = std::async(std::launch::async, [&] {
        writer.flush();
        std::lock_guard lock(mutex);
        log.push_back("flush returned");
    });
    EXPECT_EQ(flushed.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
    storage.release();
    flushed.get();
    EXPECT_EQ(log, (std::vector<std::string>{"a written", "flush returned"}));
}

TEST(BatchWriter, FlushWritesWhatLingersAtOnceAndCostsNothingWhenIdle) {
    FakeStorage storage;
    // A linger longer than the test: only the flush can end it.
    BatchWriter writer(storage, nullptr, 512, std::chrono::minutes(1));
    Outcome ack;
    writer.write_async(one(insert("a")), ack.done(), /*keep_until_written=*/true);
    writer.flush();
    EXPECT_TRUE(ack.was_called());
    const int calls = storage.batch_calls();
    writer.flush();
    writer.flush();
    EXPECT_EQ(storage.batch_calls(), calls) << "an idle flush wrote nothing";
    EXPECT_EQ(storage.applied(), std::vector<std::string>{"insert:a"});
}

// A reader waits for the changes already answered to a client (write-behind), never for an
// intent that is still being written (its client has no answer yet), even one a store holds.
TEST(BatchWriter, FlushAnsweredWaitsForAnAnsweredWriteInFlight) {
    FakeStorage storage;
    BatchWriter writer(storage, nullptr);
    Outcome ack;
    storage.hold();
    writer.write_async(one(insert("a")), ack.done(), /*keep_until_written=*/true);
    storage.wait_until_held();
    auto flushed = std::async(std::launch::async, [&] { writer.flush_answered(); });
    EXPECT_EQ(flushed.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
    storage.release();
    flushed.get();
    EXPECT_TRUE(ack.was_called());
}

TEST(BatchWriter, FlushAnsweredDoesNotWaitForAnIntentTheStoreHolds) {
    FakeStorage storage;
    BatchWriter writer(storage, nullptr);
    Outcome intent;
    storage.hold();
    writer.write_async(one(insert("a")), intent.done());  // waited for: not answered yet
    storage.wait_until_held();
    auto flushed = std::async(std::launch::async, [&] { writer.flush_answered(); });
    EXPECT_EQ(flushed.wait_for(std::chrono::seconds(10)), std::future_status::ready)
        << "a reader waited for a write no client was answered about";
    EXPECT_FALSE(intent.was_called());
    storage.release();
    writer.flush();
    EXPECT_TRUE(intent.was_called());
}

TEST(BatchWriter, WriteBehindLingersAndJoinsTheNextWaitedForWriteInOneBatch) {
    FakeStorage storage;
    // A linger longer than the test: only the waited-for write can end it.
    BatchWriter writer(storage, nullptr, 512, std::chrono::minutes(1));
    const int before = storage.batch_calls();
    Outcome ack;
    writer.write_async(one(insert("a")), ack.done(), /*keep_until_written=*/true);
    writer.write_async(one(insert("b")), ack.done(), /*keep_until_written=*/true);
    const auto results = writer.write(one(insert("c")));
    EXPECT_EQ(results, std::vector<Status>{Status::Ok});
    EXPECT_EQ(storage.batch_calls() - before, 1) << "the acks rode along with the next write";
    EXPECT_TRUE(ack.was_called());
    EXPECT_EQ(storage.applied(),
              (std::vector<std::string>{"insert:a", "insert:b", "insert:c"}));
}

TEST(BatchWriter, WriteBehindAloneIsWrittenOnceTheLingerEnds) {
    FakeStorage storage;
    BatchWriter writer(storage, nullptr, 512, std::chrono::milliseconds(1));
    std::promise<void> written;
    writer.write_async(one(insert("a")),
                       [&](const std::vector<Status>*, std::exception_ptr) { written.set_value(); },
                       /*keep_until_written=*/true);
    EXPECT_EQ(written.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

TEST(BatchWriter, StopDoesNotWaitOutTheLinger) {
    FakeStorage storage;
    auto writer = std::make_unique<BatchWriter>(storage, nullptr, 512, std::chrono::hours(1));
    Outcome ack;
    writer->write_async(one(insert("a")), ack.done(), /*keep_until_written=*/true);
    auto stopped = std::async(std::launch::async, [&] { writer->stop(); });
    ASSERT_EQ(stopped.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    EXPECT_TRUE(ack.was_called()) << "stop writes what lingered";
}

TEST(BatchWriter, WriteAfterStopFailsWithUnavailable) {
    FakeStorage storage;
    BatchWriter writer(storage, nullptr);
    Outcome before;
    writer.write_async(one(insert("a")), before.done());
    writer.stop();
    ASSERT_TRUE(before.was_called()) << "stop flushes what was queued";
    EXPECT_EQ(before.results, std::vector<Status>{Status::Ok});

    try {
        writer.write(one(insert("b")));
        ADD_FAILURE() << "write after stop returned";
    } catch (const sdk::Error& e) {
        EXPECT_EQ(e.status(), Status::Unavailable);
    }
    Outcome after;
    writer.write_async(one(insert("c")), after.done());
    ASSERT_TRUE(after.was_called());
    ASSERT_TRUE(after.error);
    EXPECT_EQ(status_of(after.error), Status::Unavailable);
    EXPECT_EQ(storage.applied(), std::vector<std::string>{"insert:a"});
}

}  // namespace
}  // namespace ordergate::orders
