#!/usr/bin/env bash
# The long chaos runs, checked against the venue (tests/chaos):
#   scripts/chaos.sh        1,000 kill -9 (CHAOS_KILLS) during place/modify/cancel on the embedded
#                           default, against the paper venue's journal (ctest runs 20)
#   scripts/chaos.sh fix    100 kill -9 (CHAOS_FIX_KILLS) of one of two gateways on PostgreSQL +
#                           Redis trading over FIX with ordergate-fix-venue (ctest runs 10); starts
#                           its own PostgreSQL and Redis
# Each prints its counts line ("chaos: kills=… violations=…" / "chaos-fix: …").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/install-deps.sh
BUILD_DIR=${BUILD_DIR:-build} scripts/build.sh >/dev/null
if [ "${1:-}" = fix ]; then
  # Without ctest's services fixture the test starts private PostgreSQL and Redis itself.
  CHAOS_FIX_KILLS=${CHAOS_FIX_KILLS:-100} "${BUILD_DIR:-build}/bin/chaos_fix_test" --gtest_brief=1
else
  CHAOS_KILLS=${CHAOS_KILLS:-1000} "${BUILD_DIR:-build}/bin/chaos_test" --gtest_brief=1
fi
