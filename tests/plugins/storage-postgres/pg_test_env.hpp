// Where the PostgreSQL tests find their server.
//
// OG_TEST_DATABASE_URL, when set, is used as is. Otherwise OG_SERVICES_ENV names the env file
// written by scripts/pg-test.sh (ctest sets it to ${CMAKE_BINARY_DIR}/services/env, after the
// services.start fixture ran), and its DATABASE_URL line is used. Neither: the test fails and
// says how to provide one — a PostgreSQL test never passes silently without PostgreSQL.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <string>

namespace ordergate::storage_postgres::testing {

inline std::string database_url() {
    if (const char* url = std::getenv("OG_TEST_DATABASE_URL"); url != nullptr && *url != '\0')
        return url;
    const char* env_file = std::getenv("OG_SERVICES_ENV");
    if (env_file == nullptr || *env_file == '\0') {
        ADD_FAILURE() << "no PostgreSQL: set OG_TEST_DATABASE_URL, or run through ctest (the "
                         "services.start fixture runs scripts/pg-test.sh)";
        return {};
    }
    std::ifstream in(env_file);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("DATABASE_URL=", 0) == 0) return line.substr(13);
    ADD_FAILURE() << "no DATABASE_URL in " << env_file << " (did scripts/pg-test.sh start run?)";
    return {};
}

// A schema name unique to this process and call, so runs never see each other's tables.
inline std::string unique_schema(const char* tag) {
    std::random_device rd;
    return std::string("og_test_") + tag + "_" + std::to_string(rd() % 1000000000u);
}

}  // namespace ordergate::storage_postgres::testing
