// The storage conformance cases (host/testkit/storage_cases.cpp) on the built storage-sqlite
// plugin, loaded through the real loader: one gtest per case on a fresh database, and the whole
// list twice on one database (as `ordergate plugin check` runs it, and as a second run finds it).
// This stands in for `ordergate plugin check storage-sqlite.so` until that is registered in
// ctest; it can then be deleted.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "plugin_loader/plugin_loader.hpp"
#include "testkit/cases.hpp"

#include "temp_dir.hpp"

namespace ordergate {
namespace {


using ordergate::testing::TempDir;

testkit::CaseContext context(const std::string& db) {
    auto lib = plugin_loader::load_plugin(OG_STORAGE_PLUGIN_PATH, OG_KIND_STORAGE);
    return testkit::CaseContext(OG_STORAGE_PLUGIN_PATH, lib, {{"path", db}}, {}, {});
}

std::vector<std::string> case_names() {
    std::vector<std::string> names;
    for (const auto& c : testkit::storage_cases()) names.push_back(c.name);
    return names;
}

class SqliteConformance : public ::testing::TestWithParam<std::string> {};

TEST_P(SqliteConformance, Passes) {
    TempDir dir;
    testkit::CaseContext ctx = context(dir.file("conformance.db"));
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

INSTANTIATE_TEST_SUITE_P(Storage, SqliteConformance, ::testing::ValuesIn(case_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                             std::string n = info.param.substr(info.param.find('.') + 1);
                             for (char& ch : n)
                                 if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                             return n;
                         });

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
