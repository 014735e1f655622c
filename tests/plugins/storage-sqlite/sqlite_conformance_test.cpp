// The storage conformance cases (host/testkit/storage_cases.cpp) on the built storage-sqlite
// plugin, loaded through the real loader: one gtest per case on a fresh database, and the whole
// list twice on one database (as `ordergate plugin check` runs it, and as a second run finds it).
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "plugin_loader/plugin_loader.hpp"
#include "testkit/cases.hpp"
#include "../storage_conformance.hpp"

#include "temp_dir.hpp"

namespace ordergate {
namespace {


using ordergate::testing::TempDir;

testkit::CaseContext context(const std::string& db) {
    auto lib = plugin_loader::load_plugin(OG_STORAGE_PLUGIN_PATH, OG_KIND_STORAGE);
    return testkit::CaseContext(OG_STORAGE_PLUGIN_PATH, lib, {{"path", db}}, {}, {});
}

class SqliteConformance : public ::testing::TestWithParam<std::string> {};

TEST_P(SqliteConformance, Passes) {
    TempDir dir;
    testkit::CaseContext ctx = context(dir.file("conformance.db"));
    testing::run_storage_case(GetParam(), ctx);
}

INSTANTIATE_TEST_SUITE_P(Storage, SqliteConformance, ::testing::ValuesIn(testing::storage_case_names()),
                         testing::storage_case_test_name);

TEST(SqliteConformanceRun, AllCasesTwiceOnOneDatabase) {
    TempDir dir;
    for (int run = 0; run < 2; ++run) {
        testkit::CaseContext ctx = context(dir.file("shared.db"));
        std::ostringstream out;
        int failed = testkit::run_cases(testkit::storage_cases(), ctx, out);
        EXPECT_EQ(failed, 0) << "run " << run << ":\n" << out.str();
    }
}

}  // namespace
}  // namespace ordergate
