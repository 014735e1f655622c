#!/usr/bin/env bash
# Configures (once) and builds ordergate into ./build (Ninja, RelWithDebInfo, ccache when present).
#   scripts/build.sh [--target T...]     (default: everything)
#   BUILD_DIR=... to build elsewhere; JOBS=N to bound parallelism (default: every core).
#   At the first configure only: BUILD_TYPE=... (default RelWithDebInfo), CMAKE_ARGS="-D..."
#   (e.g. -DORDERGATE_SANITIZE=address,undefined), CC/CXX for another compiler.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
# ccache needs a cache directory; without HOME (a bare CI environment) keep it in the build tree.
[ -n "${HOME:-}" ] || export CCACHE_DIR=${CCACHE_DIR:-$PWD/$build/.ccache}
# Paths relative to the checkout, so another clone of the same sources (CI's, a worktree) hits
# the cache instead of compiling everything again.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
jobs=${JOBS:-$(nproc)}
if [ ! -f "$build/build.ninja" ]; then
  # shellcheck disable=SC2086  # CMAKE_ARGS is a list of -D options
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" ${CMAKE_ARGS:-}
fi
cmake --build "$build" -j "$jobs" "$@"
