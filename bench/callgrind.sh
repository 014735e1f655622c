#!/usr/bin/env bash
# Instructions, context switches and CPU time per order on the embedded default
# (configs/bench.yaml: SQLite + paper broker + in-process idempotency): figures that do not move
# with the load of a shared machine, unlike wrk's.
#
#   bench/callgrind.sh            (from anywhere; uses $BUILD_DIR/bin/ordergate, default build/)
#
# Two runs of the same binary, each a fresh data directory; in each, CG_WARMUP orders (100) first,
# then CG_ORDERS (500) measured, sent one at a time over one keep-alive connection by
# bench/orders_driver.py (each its own Idempotency-Key and client_order_id):
#  1. native: context switches of every gateway thread (perf stat -e context-switches when perf
#     works here, and the sum of /proc/PID/task/*/status voluntary+nonvoluntary) and utime+stime
#     (/proc/PID/stat) over the measured orders;
#  2. valgrind --tool=callgrind --instr-atstart=no, instrumentation switched on only around the
#     measured orders (callgrind_control -i on/off): total Ir / CG_ORDERS, then the top
#     CG_TOP (25) functions of callgrind_annotate, inclusive, and exclusive.
# Knobs: CG_ORDERS, CG_WARMUP, CG_TOP, CG_KEEP=DIR (keeps the callgrind output and the logs there),
# CG_SKIP_NATIVE=1 / CG_SKIP_CALLGRIND=1.
# The counts include the gateway's background threads (batch writer, paper venue worker, ...)
# while the orders run: everything the process executes for them.
set -euo pipefail
# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh" callgrind
orders=${CG_ORDERS:-500}
warmup=${CG_WARMUP:-100}
top=${CG_TOP:-25}
# shellcheck source=bench/proc.sh
. "$here/proc.sh"  # clk, ticks_of
# Context switches and CPU ticks of every thread of the process, now.
snapshot() {  # $1 = pid, $2 = output file
  local cs=0 v
  for f in /proc/"$1"/task/*/status; do
    v=$(awk '/ctxt_switches/ { s += $2 } END { print s + 0 }' "$f" 2>/dev/null || echo 0)
    cs=$((cs + v))
  done
  echo "$cs $(ticks_of "$1")" >"$2"
}

# Storage write batches (group commits) the gateway on port $1 has made, now.
commits() {
  curl -s "http://127.0.0.1:$1/metrics" |
    awk '/^ordergate_storage_batches_total\{result="ok"\}/ { print $2 + 0; found=1 } END { if (!found) print 0 }'
}

if [ "${1:-}" = --commits ]; then commits "$2"; exit 0; fi  # --commits PORT

# Called back by orders_driver.py around the measured orders of the native run.
if [ "${1:-}" = --hook ]; then  # --hook before|after PID WORKDIR PORT
  [ "$2" = before ] && commits "$5" >"$4/commits-$2"
  snapshot "$3" "$4/$2"
  if [ -n "${CG_PERF:-}" ] && [ "$2" = before ]; then
    perf stat -e context-switches -x, -o "$4/perf" -p "$3" </dev/null >/dev/null 2>&1 &
    echo $! >"$4/perf.pid"
    sleep 0.5  # perf attaches to every thread before the first measured order
  elif [ -n "${CG_PERF:-}" ]; then
    kill -INT "$(cat "$4/perf.pid")"
  fi
  [ "$2" = after ] && commits "$5" >"$4/commits-$2"
  exit 0
fi

work=$(mktemp -d /tmp/og-callgrind.XXXX)
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  if [ -n "${CG_KEEP:-}" ]; then mkdir -p "$CG_KEEP" && cp -r "$work"/. "$CG_KEEP"/; fi
  rm -rf "$work"
}
trap cleanup EXIT


# $1 = data dir, $2 = port, $3 = log, rest = command prefix (empty or valgrind ...). Sets $pid.
start() {
  local data=$1 port=$2 log=$3
  shift 3
  mkdir -p "$data"
  (cd "$root" && OG_DATA_DIR=$data PORT=$port exec env -u DATABASE_URL -u REDIS_URL \
    "$@" "$bin" serve --config configs/bench.yaml) >"$log" 2>&1 &
  pid=$!
  wait_healthy "$pid" "$port" "$log" callgrind
}

stop() {
  kill -TERM "$pid"
  wait "$pid" || true
  pid=
}

if [ -z "${CG_SKIP_NATIVE:-}" ]; then
  port=$(free_port callgrind)
  start "$work/native-data" "$port" "$work/native.log"
  "$py" "$here/orders_driver.py" "$port" "$warmup" >/dev/null
  perf_ok=
  if command -v perf >/dev/null && perf stat -e context-switches -- true >/dev/null 2>&1; then
    perf_ok=1
  fi
  "$py" "$here/orders_driver.py" "$port" "$orders" \
    "CG_PERF=$perf_ok $here/callgrind.sh --hook before $pid $work $port" \
    "CG_PERF=$perf_ok $here/callgrind.sh --hook after $pid $work $port" \
    | sed 's/^/native: /'
  [ -n "$perf_ok" ] && for _ in $(seq 50); do grep -q context-switches "$work/perf" 2>/dev/null && break; sleep 0.1; done
  stop
  read -r cs0 t0 <"$work/before"
  read -r cs1 t1 <"$work/after"
  awk -v n="$orders" -v cs=$((cs1 - cs0)) -v t=$((t1 - t0)) -v hz="$clk" \
    -v c="$(($(cat "$work/commits-after") - $(cat "$work/commits-before")))" 'BEGIN {
    printf "storage commits per order: %.2f\n", c / n
    printf "context switches per order (/proc tasks): %.2f\n", cs / n
    printf "CPU (utime+stime) per order: %.1f us\n", t / hz / n * 1e6 }'
  if [ -n "$perf_ok" ] && [ -f "$work/perf" ]; then
    awk -F, -v n="$orders" '/context-switches/ { printf "context switches per order (perf): %.2f\n", $1 / n }' "$work/perf"
  fi
fi

if [ -z "${CG_SKIP_CALLGRIND:-}" ]; then
  port=$(free_port callgrind)
  out="$work/callgrind.out"
  start "$work/cg-data" "$port" "$work/callgrind.log" \
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out"
  "$py" "$here/orders_driver.py" "$port" "$warmup" >/dev/null
  "$py" "$here/orders_driver.py" "$port" "$orders" \
    "$here/callgrind.sh --commits $port >$work/cg-commits-before; callgrind_control -i on $pid >/dev/null" \
    "callgrind_control -i off $pid >/dev/null; $here/callgrind.sh --commits $port >$work/cg-commits-after" \
    | sed 's/^/callgrind: /'
  stop
  awk -v n="$orders" -v c="$(($(cat "$work/cg-commits-after") - $(cat "$work/cg-commits-before")))" \
    'BEGIN { printf "storage commits per order (under valgrind): %.2f\n", c / n }'
  total=$(awk '/^totals:/ { print $2; exit }' "$out")
  awk -v t="$total" -v n="$orders" 'BEGIN { printf "instructions per order: %d (total Ir %d over %d orders)\n", t / n, t, n }'
  callgrind_annotate --inclusive=yes "$out" 2>/dev/null >"$work/inclusive.txt"
  # The two threads whose work follows the number of commits (which follows timing), apart.
  part() { grep -m1 "$1" "$work/inclusive.txt" | awk '{ gsub(",", "", $1); print $1 + 0 }'; }
  writer=$(part 'BatchWriter::run()')
  ckpt=$(part 'checkpoint_loop()')
  awk -v t="$total" -v w="${writer:-0}" -v c="${ckpt:-0}" -v n="$orders" 'BEGIN {
    printf "  of which: group-commit writer thread %d, WAL checkpointer %d, everything else %d\n",
      w / n, c / n, (t - w - c) / n }'
  echo
  echo "## top $top, inclusive"
  sed -n '/^Ir/,$p' "$work/inclusive.txt" | sed -n "3,$((top + 2))p" | cut -c1-200
  echo
  echo "## top $top, exclusive"
  callgrind_annotate "$out" 2>/dev/null | sed -n '/^Ir/,$p' | sed -n "3,$((top + 2))p" | cut -c1-200
fi
