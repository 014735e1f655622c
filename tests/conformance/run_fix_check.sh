#!/usr/bin/env bash
# Runs `ordergate plugin check` on broker-fix against a fresh ordergate-fix-venue:
#   run_fix_check.sh <ordergate> <broker-fix.so> <ordergate-fix-venue> FIX.4.4|FIX.4.2
# The venue takes a free loopback port (it prints it in its ready line) and is stopped on exit.
set -euo pipefail
bin=$1 plugin=$2 venue=$3 begin=$4
dir=$(mktemp -d /tmp/og-fixkit.XXXXXX)
venue_pid=
cleanup() {
  if [ -n "$venue_pid" ]; then kill -TERM "$venue_pid" 2>/dev/null || true; wait "$venue_pid" || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
# A free port: the venue refuses a taken one (exit 1), so try a few.
for attempt in 1 2 3 4 5; do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$venue" --port "$port" --data-dir "$dir/venue" --session "$begin:KIT" \
    --price AAPL=150.00 --no-message-log >"$dir/venue.out" 2>"$dir/venue.err" &
  venue_pid=$!
  for _ in $(seq 1 100); do
    grep -q '^fix-venue ready' "$dir/venue.out" 2>/dev/null && break
    kill -0 "$venue_pid" 2>/dev/null || break
    sleep 0.05
  done
  grep -q '^fix-venue ready' "$dir/venue.out" && break
  wait "$venue_pid" || true
  venue_pid=
done
[ -n "$venue_pid" ] || { echo "the venue did not start"; cat "$dir/venue.err"; exit 1; }
cat > "$dir/plugin.yaml" <<YAML
host: 127.0.0.1
port: "$port"
begin_string: $begin
sender_comp_id: KIT
target_comp_id: VENUE
heartbeat: "5"
reconnect_interval: "1"
data_dir: $dir/fix
testkit:
  account: ACC-TEST
  symbol: AAPL
  quantity: "2"
  limit_price: "0.05"   # far below the provider's 150.00: rests without filling
  timeout_ms: 10000
YAML
"$bin" plugin check "$plugin" --config "$dir/plugin.yaml"
