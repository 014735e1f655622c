#!/usr/bin/env bash
# The long chaos run: 1,000 kill -9 (CHAOS_KILLS) during place/modify/cancel on the embedded
# default, checked against the paper venue's journal (tests/chaos/chaos_test.cpp). ctest runs the
# same test with 20 kills. Prints the counts line ("chaos: kills=… violations=…").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/install-deps.sh
BUILD_DIR=${BUILD_DIR:-build} scripts/build.sh >/dev/null
CHAOS_KILLS=${CHAOS_KILLS:-1000} "${BUILD_DIR:-build}/bin/chaos_test" --gtest_brief=1
