#!/usr/bin/env bash
# Builds the Debian packages into build/packages (BUILD_DIR=... for another tree):
#   ordergate_<version>-1_amd64.deb and ordergate-sdk-dev_<version>-1_all.deb
# Only what the packages hold is compiled (the binary and the in-tree plugins); the tree is
# configured like scripts/build.sh's, so a later full build reuses it.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
scripts/install-deps.sh --run
targets=(ordergate broker-paper storage-sqlite)
if ! grep -qs '^ORDERGATE_WITH_POSTGRES:BOOL=OFF' "$build/CMakeCache.txt"; then
  targets+=(storage-postgres)
fi
BUILD_DIR=$build scripts/build.sh --target "${targets[@]}"
(cd "$build" && cpack -G DEB -B "$PWD/packages")
ls -l "$build"/packages/*.deb
