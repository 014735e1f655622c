#!/usr/bin/env bash
# How long one reconciliation run takes with ORDERS orders and 5x as many fills in storage (the
# embedded default: SQLite + the paper broker, each order filled in 5 parts).
#
#   bench/reconcile.sh [ORDERS]          (default 10000: 10,000 orders, 50,000 fills)
#   RECON_CPS=N bench/reconcile.sh       reconciliation's broker calls per second (default 20, the
#                                        shipped default; its pacing bounds a run from below)
#
# Places the orders (bench/orders_driver.py, sequential, keyed), waits until every fill is stored,
# asks for a run (POST /api/v1/reconciliation/run) and prints its duration from the run's own
# record, what it read and what it found different (a run over a settled book fixes nothing).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
orders=${1:-10000}
cps=${RECON_CPS:-20}
build=${BUILD_DIR:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
"$root/scripts/install-deps.sh" >/dev/null
BUILD_DIR="$build" "$root/scripts/build.sh" --target ordergate broker-paper storage-sqlite >/dev/null
data=$(mktemp -d /tmp/og-bench-recon.XXXX)
# shellcheck source=../scripts/free-port.sh
. "$root/scripts/free-port.sh"
port=$(free_port gateway)
cat >"$data/recon.yaml" <<EOF
http: {host: 127.0.0.1, port: $port, max_threads: 16}
plugin_dirs: [$build/plugins]
storage: {plugin: storage-sqlite, settings: {path: $data/ordergate.db}}
brokers:
  - name: paper
    plugin: broker-paper
    timeout_ms: 5000
    settings:
      seed: 42
      accounts: "ACC1"
      initial_cash: 1000000000000
      currency: INR
      tick_ms: 0
      partial_fill_ratio: 0.2
      prices: {INFY: 1500.00}
accounts: [{id: ACC1, broker: paper}]
risk: {max_quantity: 1000000, max_notional: 100000000000, max_orders_per_second: 0}
reconciliation:
  interval_seconds: 86400
  lookback_seconds: 86400
  calls_per_second: $cps
  silent_stream_seconds: 0
idempotency: {backend: memory}
auth: {enabled: false}
logging: {level: warn}
EOF
"$build/bin/ordergate" serve --config "$data/recon.yaml" >"$data/gateway.log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null && break
  sleep 0.2
done
# Rows of a table, read with Python's sqlite3 module (no CLI needed).
count() {
  python3 -c 'import sqlite3, sys
print(sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True).execute(
    "SELECT count(*) FROM " + sys.argv[2]).fetchone()[0])' "$data/ordergate.db" "$1" 2>/dev/null || echo 0
}
echo "bench/reconcile: placing $orders orders"
python3 "$here/orders_driver.py" "$port" "$orders"
want=$((orders * 5))
for _ in $(seq 600); do
  n=$(count fills)
  [ "$n" -ge "$want" ] && break
  sleep 0.5
done
echo "bench/reconcile: storage holds $(count orders) orders, $n fills"
run=$(curl -sf -XPOST "http://127.0.0.1:$port/api/v1/reconciliation/run" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["runs"][0]["id"])')
for _ in $(seq 1200); do
  body=$(curl -sf "http://127.0.0.1:$port/api/v1/reconciliation?limit=5")
  done_=$(RUN="$run" python3 -c '
import json, os, sys
for r in json.loads(sys.stdin.read())["items"]:
    if r["id"] == os.environ["RUN"] and r.get("finished_at"):
        print("yes")' <<<"$body")
  [ "$done_" = yes ] && break
  sleep 0.25
done
RUN="$run" CPS="$cps" python3 -c '
import json, os, sys
from datetime import datetime
for r in json.loads(sys.stdin.read())["items"]:
    if r["id"] != os.environ["RUN"]:
        continue
    t = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))
    secs = (t(r["finished_at"]) - t(r["started_at"])).total_seconds()
    rep = r.get("report", {})
    print("bench/reconcile: run %s status=%s duration_s=%.3f calls_per_second=%s found=%s fixed=%s"
          % (r["id"], r["status"], secs, os.environ["CPS"], json.dumps(rep.get("found", {})),
             json.dumps(rep.get("fixed", {}))))' <<<"$body"
