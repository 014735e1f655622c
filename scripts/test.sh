#!/usr/bin/env bash
# One command from a fresh Debian 12 clone to every test: installs packages, builds, runs ctest,
# installs the .deb with dpkg -i when CI=true and root, then runs the tests again in two more trees:
#   build-asan  the unit, plugin and integration tests built with AddressSanitizer and UBSan
#               (g++, -O1; plugins built in the same tree, so dlopen() shares the ASan runtime);
#   build-fuzz  the libFuzzer targets of tests/fuzz (clang), each for a bounded time.
# ctest starts PostgreSQL and Redis itself (private instances on loopback, see tests/services)
# and stops them at the end. Every tree's summary is printed; any failure fails the script.
#   CTEST_ARGS="-R paper" scripts/test.sh    to run a subset (in every tree)
#   SANITIZE=0 / FUZZ=0 scripts/test.sh      to skip the sanitizer / fuzz tree
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=${CTEST_JOBS:-2}
failed=()

# run_ctest <tree> [ctest options]: two parallel tests on two cores; each test bounds its time.
run_ctest() {
  local tree=$1
  shift
  # shellcheck disable=SC2086  # CTEST_ARGS is a list of options
  (cd "$tree" && ctest --output-on-failure -j "$jobs" --timeout 600 "$@" ${CTEST_ARGS:-}) ||
    failed+=("$tree")
}

scripts/build.sh
run_ctest "${BUILD_DIR:-build}" --no-tests=error

# The .deb installed for real with dpkg -i, run, removed with dpkg -r and -P. It changes the
# machine (a package, a user), so only on CI's own machine as root; ctest's packaging.deb checks
# the same files extracted into a scratch root everywhere.
if [ "${CI:-}" = true ] && [ "$(id -u)" = 0 ]; then
  tests/packaging/dpkg_install_test.sh "${BUILD_DIR:-build}" || failed+=("dpkg-install")
fi

if [ "${SANITIZE:-1}" != 0 ]; then
  start=$SECONDS
  BUILD_DIR=build-asan BUILD_TYPE=Debug \
    CMAKE_ARGS="-DORDERGATE_SANITIZE=address,undefined -DORDERGATE_BUILD_BENCH=OFF" \
    scripts/build.sh
  # Any finding stops the process that made it with a report (and fails its test).
  ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:check_initialization_order=1:strict_init_order=1 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    run_ctest build-asan
  echo "test.sh: sanitizer tree built and tested in $((SECONDS - start)) s"
fi

if [ "${FUZZ:-1}" != 0 ]; then
  start=$SECONDS
  # Only what the fuzz targets link (clang 14 cannot build the host's std::expected code).
  CC=clang CXX=clang++ BUILD_DIR=build-fuzz \
    CMAKE_ARGS="-DORDERGATE_SANITIZE=address,undefined,fuzzer-no-link -DORDERGATE_BUILD_FUZZ=ON
                -DORDERGATE_WITH_POSTGRES=OFF
                -DORDERGATE_ONLY=sdk;host/common;host/json;host/secrets;host/config;tests/fuzz" \
    scripts/build.sh
  run_ctest build-fuzz -L fuzz
  echo "test.sh: fuzz tree built and run in $((SECONDS - start)) s"
fi

if [ ${#failed[@]} -ne 0 ]; then
  # The names of the failed tests again, last, where a tail of this output still shows them, and
  # each failed test run once more for its output: a diagnosis only, the run has failed already.
  for tree in "${failed[@]}"; do
    list=$tree/Testing/Temporary/LastTestsFailed.log
    [ -s "$list" ] || continue
    echo "test.sh: failed in $tree:"
    sed 's/^/  /' "$list"
    (cd "$tree" && ctest --rerun-failed --output-on-failure --timeout 600 2>&1 | tail -n 80) || true
  done
  echo "test.sh: tests failed in: ${failed[*]}"
  exit 1
fi
