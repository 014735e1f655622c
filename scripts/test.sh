#!/usr/bin/env bash
# One command from a fresh Debian 12 clone to every test: installs packages, builds, runs ctest.
# ctest starts PostgreSQL and Redis itself (private instances on loopback, see tests/services)
# and stops them at the end.
#   CTEST_ARGS="-R paper" scripts/test.sh    to run a subset
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cd "${BUILD_DIR:-build}"
# Two parallel tests on two cores; each test bounds its own time.
ctest --output-on-failure --no-tests=error -j "${CTEST_JOBS:-2}" --timeout 600 ${CTEST_ARGS:-}
