#!/usr/bin/env bash
# The long run: LONGRUN_ORDERS (1,000,000) orders through one gateway process on the embedded
# default (configs/bench.yaml: SQLite, paper broker, in-process idempotency), a fresh data
# directory, to see whether memory grows and throughput falls with the stored history.
#
#   bench/longrun.sh                      LONGRUN_ORDERS=20000 bench/longrun.sh   (a quick try)
#
# The load is wrk with bench/orders.lua (each request a new order with its own client_order_id and
# Idempotency-Key) in windows of LONGRUN_WINDOW seconds (10) at LONGRUN_CONNS connections (16),
# one after the other until the gateway has answered LONGRUN_ORDERS orders (the last window may
# pass it by up to one window's orders). Orders are counted from the gateway's own
# ordergate_orders_total (/metrics).
# Prints the idle RSS (after start-up, before any order), then one row at 0 (the first window) and
# each quarter of LONGRUN_ORDERS (250k, 500k, 750k, 1M by default): the orders answered, the last
# window's req/s and p99 (wrk), the non-2xx answers and socket errors so far, the gateway's RSS
# (VmRSS of /proc/PID/status), the data directory's size and the storage ops committed; then the
# spread of every window's req/s, and RSS again once the written-behind writes have drained and
# LONGRUN_SETTLE_SECONDS (20) later. Every window's row goes to LONGRUN_LOG when set.
# Knobs: LONGRUN_ORDERS, LONGRUN_WINDOW, LONGRUN_IDEMPOTENCY (memory; storage keeps the keys in
# SQLite as configs/default.yaml does), LONGRUN_MAX_KEYS (200000: the memory backend's bound,
# idempotency.memory_max_keys; about 1 KB each), LONGRUN_CONNS, LONGRUN_DRAIN_SECONDS (600), LONGRUN_SETTLE_SECONDS (20), BENCH_THREADS (2), BUILD_DIR (build),
# LONGRUN_KEEP=1 (keep the data directory and the gateway's log; their path is printed).
# Client and gateway share the machine: a busy neighbour moves req/s; RSS and sizes do not move.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
total=${LONGRUN_ORDERS:-1000000}
window=${LONGRUN_WINDOW:-10}
conns=${LONGRUN_CONNS:-16}
threads=${BENCH_THREADS:-2}
keys=${LONGRUN_IDEMPOTENCY:-memory}
max_keys=${LONGRUN_MAX_KEYS:-200000}
[ "$conns" -lt "$threads" ] && threads=$conns
command -v wrk >/dev/null || { echo "longrun: wrk not found (apt-get install wrk)" >&2; exit 1; }

build=${BUILD_DIR:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
BUILD_DIR="$build" "$root/scripts/build.sh" --target ordergate broker-paper storage-sqlite >/dev/null
bin="$build/bin/ordergate"

work=$(mktemp -d /tmp/og-longrun.XXXX)
mkdir -p "$work/data"
gw_pid=""
cleanup() {
  # A gateway stopping writes what it still holds first; with a large written-behind backlog that
  # takes long, and the run is over: after 10 s it is killed.
  if [ -n "$gw_pid" ] && kill "$gw_pid" 2>/dev/null; then
    for _ in $(seq 50); do kill -0 "$gw_pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$gw_pid" 2>/dev/null || true
  fi
  wait 2>/dev/null || true
  if [ "${LONGRUN_KEEP:-0}" = 1 ]; then echo "kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
(cd "$root" && PORT=$port OG_DATA_DIR=$work/data OG_IDEMPOTENCY_BACKEND=$keys OG_IDEMPOTENCY_MAX_KEYS=$max_keys exec env -u DATABASE_URL -u REDIS_URL "$bin" serve \
  --config configs/bench.yaml) >"$work/gateway.log" 2>&1 &
gw_pid=$!
for _ in $(seq 150); do
  curl -sf "$url/health/ready" >/dev/null 2>&1 && break
  kill -0 "$gw_pid" 2>/dev/null || { echo "gateway exited: $(tail -3 "$work/gateway.log")" >&2; exit 1; }
  sleep 0.2
done

rss_mb() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$gw_pid/status"; }
data_mb() { du -sk "$work/data" | awk '{ printf "%.1f", $1 / 1024 }'; }
orders() { curl -sf "$url/metrics" | awk '/^ordergate_orders_total/ { s += $NF } END { printf "%d", s }'; }
# Storage writes committed so far (the sum of ordergate_storage_batch_ops): with the orders
# answered, it shows whether the written-behind acks and fills keep up with the answers.
ops() { curl -sf "$url/metrics" | awk '/^ordergate_storage_batch_ops_sum/ { s += $NF } END { printf "%d", s }'; }

sleep 2  # let start-up settle before reading the idle figure
kept=""
[ "$keys" = memory ] && kept=", at most $max_keys keys"
echo "idle RSS: $(rss_mb) MB (gateway pid $gw_pid, configs/bench.yaml, idempotency $keys$kept, fresh data directory)"
echo "load: wrk -t$threads -c$conns in windows of ${window}s until $total orders"
echo
echo "| orders answered | window req/s | window p99 ms | non-2xx (total) | socket errors (total) | RSS MB | data dir MB | storage ops written | elapsed s |"
echo "|---|---|---|---|---|---|---|---|---|"

start=$(date +%s)
next=0          # the next checkpoint: 0, then each quarter of $total
bad=0 errs=0 n=0
rates=()
while :; do
  n=$((n + 1))
  rps=0 p50=0 p99=0 non2xx=0 errors=0
  line=$(BENCH_ORDER_ID_PREFIX="w$n." wrk -t"$threads" -c"$conns" -d"${window}s" --timeout 10s \
    -s "$here/orders.lua" "$url" 2>&1 | grep '^RESULT' || true)
  [ -n "$line" ] && eval "${line#RESULT }"
  kill -0 "$gw_pid" 2>/dev/null || { echo "gateway exited: $(tail -3 "$work/gateway.log")" >&2; exit 1; }
  bad=$((bad + non2xx)) errs=$((errs + errors))
  rates+=("$rps")
  stored=$(orders)
  row="| $stored | $rps | $p99 | $bad | $errs | $(rss_mb) | $(data_mb) | $(ops) | $(($(date +%s) - start)) |"
  [ -n "${LONGRUN_LOG:-}" ] && echo "$row" >>"$LONGRUN_LOG"
  if [ "$stored" -ge "$next" ]; then
    echo "$row"
    while [ "$next" -le "$stored" ]; do next=$((next + total / 4)); done
  fi
  [ "$stored" -ge "$total" ] && break
done

# The spread of the windows' throughput: the first and the last tenth of the windows (at least one
# each), and the slowest and fastest window.
printf '%s\n' "${rates[@]}" | awk '
  { r[NR] = $1 } END {
    k = int(NR / 10); if (k < 1) k = 1
    for (i = 1; i <= k; i++) { a += r[i]; b += r[NR - k + i] }
    min = r[1]; max = r[1]; for (i = 1; i <= NR; i++) { if (r[i] < min) min = r[i]; if (r[i] > max) max = r[i] }
    printf "\nwindows: %d; mean req/s of the first %d: %.0f, of the last %d: %.0f (%+.1f%%); slowest %d, fastest %d\n",
      NR, k, a / k, k, b / k, (b - a) * 100 / a, min, max }'
echo "at the end of the load: RSS $(rss_mb) MB; data dir $(data_mb) MB; storage ops written $(ops)"
# The written-behind acks and fills still queued are written now: wait until the count of
# storage ops stops moving (two equal readings 2 s apart), then read memory again.
# At most LONGRUN_DRAIN_SECONDS (600).
t0=$(date +%s) prev=-1 cur=$(ops)
while [ "$cur" != "$prev" ] && [ $(($(date +%s) - t0)) -lt "${LONGRUN_DRAIN_SECONDS:-600}" ]; do
  sleep 2; prev=$cur; cur=$(ops)
done
state="idle again after $(($(date +%s) - t0 - 2)) s of writing"
[ "$cur" != "$prev" ] && state="still writing after $(($(date +%s) - t0)) s (LONGRUN_DRAIN_SECONDS)"
echo "$state: RSS $(rss_mb) MB; data dir $(data_mb) MB;" \
  "storage ops written $cur ($(awk -v a="$cur" -v b="$(orders)" 'BEGIN { printf "%.2f", a / b }') per order)"
# Memory once what the load left behind has gone: the paper venue's last history_seconds (10 s in
# configs/bench.yaml) of ended orders and the allocator's freed pages (jemalloc gives them back
# within about 10 s).
settle=${LONGRUN_SETTLE_SECONDS:-20}
sleep "$settle"
echo "$settle s later: RSS $(rss_mb) MB"
