// FUZZ_CHECK: an invariant of a fuzz target. A violation prints what was expected and aborts, so
// libFuzzer stops, saves the input (crash-<sha1> beside the test) and the ctest test fails.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#define FUZZ_CHECK(cond, detail)                                                              \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n  %s\n", __FILE__, __LINE__, \
                         #cond, std::string(detail).c_str());                                 \
            std::abort();                                                                     \
        }                                                                                     \
    } while (0)
