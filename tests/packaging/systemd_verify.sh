#!/usr/bin/env bash
# `systemd-analyze verify` on packaging/systemd/ordergate.service, with the hardening the unit
# promises checked by name. verify needs the ExecStart binary to exist, so it runs on a copy
# whose /usr/bin/ordergate is the build's binary; and it only warns (exit 0) about an unknown or
# misspelt key, so any output at all fails the test.
#   systemd_verify.sh <unit> <ordergate-binary> <work-dir>
set -euo pipefail
unit=$1 bin=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }

grep -q '^ExecStart=/usr/bin/ordergate serve --config /etc/ordergate/ordergate.yaml$' "$unit" ||
  fail "ExecStart is not the packaged binary on the packaged configuration"
for line in Type=simple Restart=on-failure User=ordergate NoNewPrivileges=yes \
            ProtectSystem=strict ReadWritePaths=/var/lib/ordergate PrivateTmp=yes ProtectHome=yes \
            CapabilityBoundingSet= EnvironmentFile=-/etc/default/ordergate; do
  grep -qx -- "$line" "$unit" || fail "the unit has no '$line'"
done
grep -qE '^TimeoutStopSec=[0-9]+$' "$unit" || fail "no TimeoutStopSec"

sed "s|/usr/bin/ordergate|$bin|g" "$unit" >"$work/ordergate.service"
out=$(cd "$work" && SYSTEMD_LOG_COLOR=0 systemd-analyze verify "$work/ordergate.service" 2>&1) ||
  { echo "$out"; fail "systemd-analyze verify failed"; }
[ -z "$out" ] || { echo "$out"; fail "systemd-analyze verify had something to say"; }
echo "OK: systemd-analyze verify"
