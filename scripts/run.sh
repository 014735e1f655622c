#!/usr/bin/env bash
# One command from a fresh Debian 12 clone to a running gateway on the embedded default
# (SQLite under ./data, the paper broker, auth off, port 8087): installs packages, builds, serves.
#   scripts/run.sh [--config FILE]    (extra arguments go to `ordergate serve`)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --run
# Only what serving needs (the tests build with scripts/test.sh).
scripts/build.sh --target ordergate broker-paper storage-sqlite storage-postgres
mkdir -p data
exec build/bin/ordergate serve "$@"
