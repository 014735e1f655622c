// The storage conformance cases (host/testkit/storage_cases.cpp) on the built storage-postgres
// plugin, loaded through the real loader, against the test PostgreSQL: one gtest per case in a
// schema of its own, and the whole list twice in one schema (as `ordergate plugin check` runs it,
// and as a second run against a shared database finds it). This stands in for
// `ordergate plugin check storage-postgres.so` until that is registered in ctest.
#include <gtest/gtest.h>

#include <sstream>

#include "pg_test_env.hpp"
#include "plugin_loader/plugin_loader.hpp"
#include "testkit/cases.hpp"

namespace ordergate {
namespace {

testkit::CaseContext context(const std::string& url, const std::string& schema) {
    auto lib = plugin_loader::load_plugin(OG_STORAGE_PLUGIN_PATH, OG_KIND_STORAGE);
    return testkit::CaseContext(OG_STORAGE_PLUGIN_PATH, lib, {{"url", url}, {"schema", schema}},
                                {}, {});
}

std::vector<std::string> case_names() {
    std::vector<std::string> names;
    for (const auto& c : testkit::storage_cases()) names.push_back(c.name);
    return names;
}

class PgConformance : public ::testing::TestWithParam<std::string> {};

TEST_P(PgConformance, Passes) {
    std::string url = storage_postgres::testing::database_url();
    ASSERT_FALSE(url.empty());
    testkit::CaseContext ctx = context(url, storage_postgres::testing::unique_schema("case"));
    for (const auto& c : testkit::storage_cases()) {
        if (c.name != GetParam()) continue;
        try {
            c.fn(ctx);
        } catch (const testkit::CaseSkipped& e) {
            GTEST_SKIP() << e.what();
        } catch (const std::exception& e) {
            FAIL() << c.name << ": " << e.what();
        }
        return;
    }
    FAIL() << "no case " << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Storage, PgConformance, ::testing::ValuesIn(case_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                             std::string n = info.param.substr(info.param.find('.') + 1);
                             for (char& ch : n)
                                 if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                             return n;
                         });

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
