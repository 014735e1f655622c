// The storage conformance cases (host/testkit/storage_cases.cpp) as one gtest each, shared by the
// SQLite and PostgreSQL plugin tests. `ordergate plugin check` (tests/conformance) runs the same
// list in one process; these give each case a store of its own and a result line of its own.
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <exception>
#include <string>
#include <vector>

#include "testkit/cases.hpp"

namespace ordergate::testing {

inline std::vector<std::string> storage_case_names() {
    std::vector<std::string> names;
    for (const auto& c : testkit::storage_cases()) names.push_back(c.name);
    return names;
}

// "storage.duplicate_client_order_id" -> "duplicate_client_order_id" (a valid gtest name).
inline std::string storage_case_test_name(const ::testing::TestParamInfo<std::string>& info) {
    std::string n = info.param.substr(info.param.find('.') + 1);
    for (char& ch : n)
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
    return n;
}

// Runs case `name` on `ctx`. A case that declares itself skipped (a capability the plugin lacks)
// is a gtest skip with the case's reason; no storage case declares one today.
inline void run_storage_case(const std::string& name, testkit::CaseContext& ctx) {
    for (const auto& c : testkit::storage_cases()) {
        if (c.name != name) continue;
        try {
            c.fn(ctx);
        } catch (const testkit::CaseSkipped& e) {
            GTEST_SKIP() << e.what();
        } catch (const std::exception& e) {
            FAIL() << c.name << ": " << e.what();
        }
        return;
    }
    FAIL() << "no case " << name;
}

}  // namespace ordergate::testing
