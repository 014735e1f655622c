// The storage conformance cases (host/testkit/storage_cases.cpp) on the built storage-postgres
// plugin, loaded through the real loader, against the test PostgreSQL: one gtest per case in a
// schema of its own, and the whole list twice in one schema (as `ordergate plugin check` runs it,
// and as a second run against a shared database finds it).
#include <gtest/gtest.h>

#include <sstream>

#include "pg_test_env.hpp"
#include "plugin_loader/plugin_loader.hpp"
#include "testkit/cases.hpp"
#include "../storage_conformance.hpp"

namespace ordergate {
namespace {

testkit::CaseContext context(const std::string& url, const std::string& schema) {
    auto lib = plugin_loader::load_plugin(OG_STORAGE_PLUGIN_PATH, OG_KIND_STORAGE);
    return testkit::CaseContext(OG_STORAGE_PLUGIN_PATH, lib, {{"url", url}, {"schema", schema}},
                                {}, {});
}

class PgConformance : public ::testing::TestWithParam<std::string> {};

TEST_P(PgConformance, Passes) {
    std::string url = storage_postgres::testing::database_url();
    ASSERT_FALSE(url.empty());
    testkit::CaseContext ctx = context(url, storage_postgres::testing::unique_schema("case"));
    testing::run_storage_case(GetParam(), ctx);
}

INSTANTIATE_TEST_SUITE_P(Storage, PgConformance, ::testing::ValuesIn(testing::storage_case_names()),
                         testing::storage_case_test_name);

TEST(PgConformanceRun, AllCasesTwiceInOneSchema) {
    std::string url = storage_postgres::testing::database_url();
    ASSERT_FALSE(url.empty());
    std::string schema = storage_postgres::testing::unique_schema("run");
    for (int run = 0; run < 2; ++run) {
        testkit::CaseContext ctx = context(url, schema);
        std::ostringstream out;
        int failed = testkit::run_cases(testkit::storage_cases(), ctx, out);
        EXPECT_EQ(failed, 0) << "run " << run << ":\n" << out.str();
    }
}

}  // namespace
}  // namespace ordergate
