#!/usr/bin/env bash
# How long writes wait after a restart that follows heavy trading: the start-up reconciliation
# re-reads the orders and fills of the last run's window, and /health/ready answers 200 when it
# is done.
#
#   bench/restart.sh [SECONDS]           load for SECONDS (default 60) before the restart
#   RESTART_CPS=N bench/restart.sh       reconciliation.startup_calls_per_second (default 500, as
#                                        configs/default.yaml; 0: calls_per_second, 20)
#
# The embedded default's shape (SQLite, the paper broker with its journal, in-process keys) on a
# fresh directory: wrk -c16 with bench/orders.lua for SECONDS, SIGTERM, a restart on the same
# data, then the time from the restart to /health/ready, and the start-up run's own record
# (status, duration, what it read).
set -euo pipefail
secs=${1:-60}
cps=${RESTART_CPS:-500}
scripts="$(cd "$(dirname "$0")/../scripts" && pwd)"
"$scripts/install-deps.sh" >/dev/null
(cd "$scripts/.." && "$scripts/build.sh" --target ordergate broker-paper storage-sqlite >/dev/null)
# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh" restart  # here, root, build, bin, py, free_port
data=$(mktemp -d /tmp/og-bench-restart.XXXX)
port=$(free_port gateway)
cat >"$data/restart.yaml" <<EOF
http: {host: 127.0.0.1, port: $port, max_threads: 64}
plugin_dirs: [$build/plugins]
storage: {plugin: storage-sqlite, settings: {path: $data/ordergate.db}}
brokers:
  - name: paper
    plugin: broker-paper
    timeout_ms: 5000
    settings:
      seed: 42
      accounts: "ACC1,ACC2"
      initial_cash: 1000000000000
      currency: INR
      tick_ms: 0
      journal_path: $data/paper.journal
      prices: {INFY: 1500.00, TCS: 3900.00, RELIANCE: 2900.00}
accounts: [{id: ACC1, broker: paper}, {id: ACC2, broker: paper}]
risk: {max_quantity: 1000000, max_notional: 100000000000, max_orders_per_second: 0}
reconciliation:
  interval_seconds: 3600
  calls_per_second: 20
  startup_calls_per_second: $cps
idempotency: {backend: memory}
auth: {enabled: false}
logging: {level: warn}
EOF
pid=""
start() {
  "$bin" serve --config "$data/restart.yaml" >>"$data/gateway.log" 2>&1 &
  pid=$!
}
stop() {
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  stop
  rm -rf "$data"
}
trap cleanup EXIT
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health/ready")" = 200 ]; }
start
for _ in $(seq 300); do ready && break; sleep 0.1; done
echo "bench/restart: ${secs} s of wrk -c16"
wrk -t2 -c16 -d"${secs}s" -s "$here/orders.lua" "http://127.0.0.1:$port" | grep -E "Requests/sec|Non-2xx|Socket" || true
stop
orders=$("$py" -c 'import sqlite3, sys
print(sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True).execute(
    "SELECT count(*) FROM orders").fetchone()[0])' "$data/ordergate.db")
echo "bench/restart: $orders orders stored; restarting (startup_calls_per_second $cps)"
t0=$(date +%s.%N)
start
for _ in $(seq 6000); do ready && break; sleep 0.1; done
t1=$(date +%s.%N)
echo "bench/restart: /health/ready after $("$py" -c "print('%.1f' % ($t1 - $t0))" ) s"
curl -sf "http://127.0.0.1:$port/api/v1/reconciliation?limit=1" | "$py" -c '
import json, sys
from datetime import datetime
r = json.load(sys.stdin)["items"][0]
t = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))
rep = r.get("report", {})
print("bench/restart: start-up run %s status=%s duration_s=%.1f calls_per_second=%s found=%s"
      % (r["id"], r["status"], (t(r["finished_at"]) - t(r["started_at"])).total_seconds(),
         rep.get("calls_per_second"), json.dumps(rep.get("found", {}))))'
