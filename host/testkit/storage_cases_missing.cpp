// Built only when host/testkit/storage_cases.cpp is absent: the storage contract is then not
// available, and checking a storage plugin says so as a failure instead of passing vacuously.
#include "testkit/cases.hpp"

namespace ordergate::testkit {

std::vector<Case> storage_cases() {
    return {{"storage.cases_available", [](CaseContext& ctx) {
                 ctx.fail("this build has no storage conformance cases "
                          "(host/testkit/storage_cases.cpp is missing)");
             }}};
}

}  // namespace ordergate::testkit
