#!/usr/bin/env bash
# Installs every Debian 12 package ordergate needs to build, run and test. Idempotent: when
# everything is present it neither updates the package lists nor installs anything.
#   scripts/install-deps.sh          build + run + test dependencies
#   scripts/install-deps.sh --run    only what building and running the gateway needs
set -euo pipefail
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo

build_pkgs=(g++ cmake ninja-build make pkg-config ccache git ca-certificates curl
  libpoco-dev libboost-dev libboost-filesystem-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
  prometheus-cpp-dev rapidjson-dev libgtest-dev libgmock-dev libsqlite3-dev libpq-dev libssl-dev
  libquickfix-dev libjemalloc-dev)
# libquickfix-dev: QuickFIX for the FIX venue simulator (tools/fix-venue; built only when present).
# libjemalloc-dev: the gateway's allocator (ORDERGATE_JEMALLOC, CMakeLists.txt).
# libclang-rt-14-dev: clang's libFuzzer and sanitizer runtimes (tests/fuzz), only recommended
# by clang, so --no-install-recommends leaves it out; llvm: llvm-symbolizer for readable reports;
# systemd: systemd-analyze verify on the packaged unit; prometheus: promtool for the packaged alert
# rules (tests/packaging); chromium, chromium-driver: /docs opened in a real browser (tests/docs).
test_pkgs=(postgresql redis-server clang libclang-rt-14-dev llvm libc++-dev libc++abi-dev wrk procps
  systemd prometheus chromium chromium-driver)
pkgs=("${build_pkgs[@]}")
# npm fetches the Swagger UI files of /docs at build time (host/api/CMakeLists.txt) and the
# OpenAPI linter (tests/docs). Asked for by command, not by package: a machine whose Node.js
# comes from elsewhere (with npm inside) must not get Debian's npm on top of it.
command -v npm >/dev/null || pkgs+=(nodejs npm)
[ "${1:-}" = "--run" ] || pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
