// Unit tests of the idempotency helpers, the entry codec and the MemoryStore (with the shared
// store conformance cases).
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "idempotency/entry_codec.hpp"
#include "idempotency/idempotency.hpp"
#include "idempotency/memory_store.hpp"
#include "store_conformance.hpp"

namespace ordergate::idempotency {
namespace {

using namespace std::chrono_literals;
using testing_support::StoreConformance;
using testing_support::StoreFactory;

// ---- helpers -----------------------------------------------------------------------------------

TEST(ValidKey, LengthAndCharacters) {
    EXPECT_TRUE(valid_key("a"));
    EXPECT_TRUE(valid_key("550e8400-e29b-41d4-a716-446655440000"));
    EXPECT_TRUE(valid_key(std::string(255, 'x')));
    EXPECT_FALSE(valid_key(std::string(256, 'x')));
    EXPECT_FALSE(valid_key(""));
    EXPECT_TRUE(valid_key("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"));
    EXPECT_TRUE(valid_key("order 42 retry"));  // inner spaces are printable ASCII
    EXPECT_FALSE(valid_key(" leading"));
    EXPECT_FALSE(valid_key("trailing "));
    EXPECT_FALSE(valid_key(" "));
    EXPECT_FALSE(valid_key("tab\there"));
    EXPECT_FALSE(valid_key("nl\n"));
    EXPECT_FALSE(valid_key(std::string("nul\0x", 5)));
    EXPECT_FALSE(valid_key("del\x7f"));
    EXPECT_FALSE(valid_key("caf\xc3\xa9"));  // UTF-8 is not ASCII
}

TEST(ScopedKey, UnambiguousAcrossPrincipals) {
    EXPECT_EQ(scoped_key("alice", "k1"), "5:alice:k1");
    EXPECT_NE(scoped_key("a:b", "c"), scoped_key("a", "b:c"));
    EXPECT_NE(scoped_key("", "1:x:y"), scoped_key("1:x", "y"));
    EXPECT_NE(scoped_key("ab", "c"), scoped_key("a", "bc"));
    EXPECT_EQ(scoped_key("", "k"), "0::k");
}

TEST(Fingerprint, Sha256HexOfLengthPrefixedParts) {
    // sha256("4:POST14:/api/v1/orders2:{}")
    EXPECT_EQ(fingerprint("POST", "/api/v1/orders", "{}"),
              "98568a29cebb84af037a28c3196638bd2cd3f0309d03762b5b27fd6b9c191ed2");
    EXPECT_EQ(fingerprint("", "", ""),
              "63cab8e921e413242a44bf4e8fdc999d3834c0883aed7afd6199c1ffa98c1948");
    const auto fp = fingerprint("POST", "/a", "b");
    EXPECT_EQ(fp.size(), 64u);
    EXPECT_EQ(fp.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_NE(fp, fingerprint("POST", "/ab", ""));
    EXPECT_NE(fp, fingerprint("POST/", "a", "b"));
    EXPECT_NE(fp, fingerprint("PUT", "/a", "b"));
    EXPECT_NE(fp, fingerprint("POST", "/a", "b "));
    EXPECT_EQ(fp, fingerprint("POST", "/a", "b"));
}

// Each thread hashes with a context of its own, initialised again for every digest: the same
// answers from many threads at once, and after a digest of another length.
TEST(Fingerprint, TheSameFromManyThreadsAtOnce) {
    const std::string expected = fingerprint("POST", "/api/v1/orders", "{}");
    const std::string long_body(100000, 'x');
    const std::string expected_long = fingerprint("POST", "/api/v1/orders", long_body);
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 500; ++i) {
                if (fingerprint("POST", "/api/v1/orders", i % 2 ? long_body : "{}") !=
                    (i % 2 ? expected_long : expected))
                    ++wrong;
            }
        });
    for (auto& th : threads) th.join();
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_EQ(expected, "98568a29cebb84af037a28c3196638bd2cd3f0309d03762b5b27fd6b9c191ed2");
}

TEST(DerivedClientOrderId, DeterministicPerPrincipalAndKeyInTheRandomIdsShape) {
    const std::string id = derived_client_order_id("alice", "K-1");
    EXPECT_EQ(id, derived_client_order_id("alice", "K-1"));  // a retry gets the same id
    EXPECT_EQ(id.size(), 29u);
    EXPECT_EQ(id.rfind("og-", 0), 0u);
    for (char c : id.substr(3))
        EXPECT_NE(std::string("0123456789ABCDEFGHJKMNPQRSTVWXYZ").find(c), std::string::npos)
            << id;
    EXPECT_NE(id, derived_client_order_id("bob", "K-1"));
    EXPECT_NE(id, derived_client_order_id("alice", "K-2"));
    // The scoped key's length prefix keeps ':' from making two pairs meet.
    EXPECT_NE(derived_client_order_id("a:b", "c"), derived_client_order_id("a", "b:c"));
}

TEST(Outcome, Names) {
    EXPECT_EQ(to_string(Outcome::Proceed), "proceed");
    EXPECT_EQ(to_string(Outcome::Replay), "replay");
    EXPECT_EQ(to_string(Outcome::InFlight), "in_flight");
    EXPECT_EQ(to_string(Outcome::Reused), "reused");
}

// ---- entry codec -------------------------------------------------------------------------------

TEST(EntryCodec, InFlightRoundTripAndIsDeterministic) {
    const std::string a = encode_in_flight("abc");
    EXPECT_EQ(a, "OGI1I3:abc");
    DecodedEntry e = decode_entry(a);
    EXPECT_FALSE(e.completed);
    EXPECT_EQ(e.fingerprint, "abc");
}

TEST(EntryCodec, CompletedRoundTripIsBinarySafe) {
    StoredResponse r;
    r.status = 422;
    r.body = std::string("a:1\r\n\0\xff", 8);
    r.headers = {{"Content-Type", "application/problem+json"}, {"X-Colon", "1:2:3"}, {"", ""}};
    DecodedEntry e = decode_entry(encode_completed("fp", r));
    EXPECT_TRUE(e.completed);
    EXPECT_EQ(e.fingerprint, "fp");
    EXPECT_EQ(e.response, r);
}

TEST(EntryCodec, MalformedEntriesAreRefused) {
    StoredResponse r;
    r.status = 200;
    r.body = "body";
    const std::string good = encode_completed("fp", r);
    EXPECT_NO_THROW(decode_entry(good));
    for (const std::string& bad :
         {std::string(""), std::string("OGI1"), std::string("OGI2I2:fp"), std::string("OGI1X2:fp"),
          std::string("OGI1I3:fp"), std::string("OGI1I2:fpX"), std::string("OGI1I:fp"),
          std::string("OGI1Ix:fp"), std::string("OGI1I-1:fp"), good.substr(0, good.size() - 1),
          good + "x", std::string("OGI1C2:fp4:1000")}) {
        EXPECT_THROW(decode_entry(bad), std::invalid_argument) << bad;
    }
}

// ---- MemoryStore -------------------------------------------------------------------------------

INSTANTIATE_TEST_SUITE_P(Memory, StoreConformance,
                         testing::Values(StoreFactory{
                             "Memory", [] { return std::make_unique<MemoryStore>(); }}),
                         testing_support::factory_name);

class MemoryStoreTest : public testing::Test {
protected:
    std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
    const std::string key_ = scoped_key("alice", "k");
    const std::string fp_ = fingerprint("POST", "/api/v1/orders", "{}");
    StoredResponse response_{201, "{}", {}};
};

TEST_F(MemoryStoreTest, InFlightMarkerIsALeaseThatExpires) {
    MemoryStoreOptions o;
    o.ttl.in_flight = 60s;
    MemoryStore store(o, clock_);
    ASSERT_EQ(store.begin(key_, fp_).outcome, Outcome::Proceed);
    clock_->advance(59s);
    EXPECT_EQ(store.begin(key_, fp_).outcome, Outcome::InFlight);
    clock_->advance(1s);
    EXPECT_EQ(store.begin(key_, fp_).outcome, Outcome::Proceed);  // the holder died
}

TEST_F(MemoryStoreTest, CompletedEntriesLiveTheirTtlFromCompletion) {
    MemoryStoreOptions o;
    o.ttl.completed = 24h;
    o.ttl.in_flight = 60s;
    MemoryStore store(o, clock_);
    ASSERT_EQ(store.begin(key_, fp_).outcome, Outcome::Proceed);
    clock_->advance(50s);
    store.complete(key_, fp_, response_);
    clock_->advance(24h - 1s);
    EXPECT_EQ(store.begin(key_, fp_).outcome, Outcome::Replay);
    clock_->advance(1s);
    EXPECT_EQ(store.begin(key_, fp_).outcome, Outcome::Proceed);
    // And a different request may use the expired key.
    store.release(key_, fp_);
    EXPECT_EQ(store.begin(key_, "other").outcome, Outcome::Proceed);
}

TEST_F(MemoryStoreTest, CompleteAfterTheLeaseRanOutStoresTheResponse) {
    MemoryStore store({}, clock_);
    ASSERT_EQ(store.begin(key_, fp_).outcome, Outcome::Proceed);
    clock_->advance(2min);
    store.complete(key_, fp_, response_);
    EXPECT_EQ(store.begin(key_, fp_).outcome, Outcome::Replay);
}

TEST_F(MemoryStoreTest, PurgeDropsExpiredEntries) {
    MemoryStoreOptions o;
    o.shards = 4;
    MemoryStore store(o, clock_);
    for (int i = 0; i < 100; ++i) store.begin(scoped_key("a", std::to_string(i)), fp_);
    EXPECT_EQ(store.size(), 100u);
    clock_->advance(30s);
    store.purge_expired();
    EXPECT_EQ(store.size(), 100u);
    clock_->advance(31s);
    store.purge_expired();
    EXPECT_EQ(store.size(), 0u);
}

TEST_F(MemoryStoreTest, PeriodicPurgeRunsFromBegin) {
    MemoryStoreOptions o;
    o.shards = 1;
    o.purge_every = 10;
    MemoryStore store(o, clock_);
    for (int i = 0; i < 50; ++i) store.begin(scoped_key("a", std::to_string(i)), fp_);
    clock_->advance(61s);
    for (int i = 0; i < 10; ++i) store.begin(scoped_key("b", std::to_string(i)), fp_);
    EXPECT_EQ(store.size(), 10u);  // the 50 expired ones went at the 10th call
}

TEST_F(MemoryStoreTest, BoundedByEvictingTheOldest) {
    MemoryStoreOptions o;
    o.shards = 1;
    o.max_entries = 10;
    MemoryStore store(o, clock_);
    for (int i = 0; i < 25; ++i) {
        const auto k = scoped_key("a", std::to_string(i));
        ASSERT_EQ(store.begin(k, fp_).outcome, Outcome::Proceed);
        store.complete(k, fp_, response_);
    }
    EXPECT_EQ(store.size(), 10u);
    EXPECT_EQ(store.evictions(), 15u);
    EXPECT_EQ(store.begin(scoped_key("a", "24"), fp_).outcome, Outcome::Replay);   // newest kept
    EXPECT_EQ(store.begin(scoped_key("a", "15"), fp_).outcome, Outcome::Replay);
    EXPECT_EQ(store.begin(scoped_key("a", "14"), fp_).outcome, Outcome::Proceed);  // evicted
}

TEST_F(MemoryStoreTest, ChurnOfReleasedKeysStaysBounded) {
    MemoryStoreOptions o;
    o.shards = 1;
    o.max_entries = 8;
    MemoryStore store(o, clock_);
    const auto held = scoped_key("a", "held");
    store.begin(held, fp_);
    store.complete(held, fp_, response_);  // a long-lived entry at the oldest end
    for (int i = 0; i < 100000; ++i) {
        const auto k = scoped_key("churn", std::to_string(i % 3));
        ASSERT_EQ(store.begin(k, fp_).outcome, Outcome::Proceed);
        store.release(k, fp_);
    }
    EXPECT_EQ(store.size(), 1u);
    EXPECT_EQ(store.evictions(), 0u);
    EXPECT_EQ(store.begin(held, fp_).outcome, Outcome::Replay);
}

TEST_F(MemoryStoreTest, InvalidOptionsThrow) {
    MemoryStoreOptions o;
    o.shards = 0;
    EXPECT_THROW(MemoryStore(o, clock_), std::invalid_argument);
    o = {};
    o.max_entries = 3;
    o.shards = 4;
    EXPECT_THROW(MemoryStore(o, clock_), std::invalid_argument);
    o = {};
    o.ttl.completed = 0s;
    EXPECT_THROW(MemoryStore(o, clock_), std::invalid_argument);
    o = {};
    o.purge_every = 0;
    EXPECT_THROW(MemoryStore(o, clock_), std::invalid_argument);
    EXPECT_THROW(MemoryStore({}, nullptr), std::invalid_argument);
}

}  // namespace
}  // namespace ordergate::idempotency
