#!/usr/bin/env bash
# Order latency with and without WebSocket stream clients, one gateway process, same run:
# POST /api/v1/orders driven by wrk with bench/orders.lua (each request a new order of
# ACC1 with its own client_order_id and Idempotency-Key), at each connection count once with no
# stream client and once with STREAM_CLIENTS (100) clients subscribed to every topic of ACC1
# (build/bin/og_bench_stream_clients, which also counts the events they received).
#
#   bench/stream.sh
#
# Knobs: BENCH_SECONDS (10), BENCH_CONNS ("1 16 64"), BENCH_THREADS (2), BENCH_ROUNDS (1: each
# round runs both phases per connection count, the order swapped every other round),
# STREAM_CLIENTS (100), BUILD_DIR (build). Gateway: configs/bench.yaml (SQLite, paper broker,
# in-process idempotency), data in a fresh temporary directory.
# Client, clients and gateway share the machine: compare the rows of one run, not across runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
secs=${BENCH_SECONDS:-10}
conns=${BENCH_CONNS:-"1 16 64"}
threads=${BENCH_THREADS:-2}
rounds=${BENCH_ROUNDS:-1}
nclients=${STREAM_CLIENTS:-100}
command -v wrk >/dev/null || { echo "bench: wrk not found (apt-get install wrk)" >&2; exit 1; }

build=${BUILD_DIR:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
BUILD_DIR="$build" "$root/scripts/build.sh" --target ordergate broker-paper storage-sqlite \
  og_bench_stream_clients >/dev/null
bin="$build/bin/ordergate"
clients_bin="$build/bin/og_bench_stream_clients"

work=$(mktemp -d /tmp/og-bench-stream.XXXX)
gw_pid=""
cl_pid=""
cleanup() {
  [ -n "$cl_pid" ] && kill "$cl_pid" 2>/dev/null || true
  [ -n "$gw_pid" ] && kill "$gw_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# The embedded default: no DATABASE_URL / REDIS_URL from the caller's environment.
(cd "$root" && PORT=$port OG_DATA_DIR=$work exec env -u DATABASE_URL -u REDIS_URL "$bin" serve \
  --config configs/bench.yaml) >"$work/gateway.log" 2>&1 &
gw_pid=$!
for _ in $(seq 150); do
  curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && break
  kill -0 "$gw_pid" 2>/dev/null || { echo "gateway exited: $(tail -3 "$work/gateway.log")" >&2; exit 1; }
  sleep 0.2
done
url="http://127.0.0.1:$port"
wrk -t1 -c4 -d3s -s "$here/orders.lua" "$url" >/dev/null 2>&1 || true  # warm-up

# Starts the stream clients and waits (bounded) until every one is subscribed.
start_clients() {
  "$clients_bin" "$port" "$nclients" ACC1 >"$work/clients.out" 2>"$work/clients.err" &
  cl_pid=$!
  for _ in $(seq 300); do
    grep -q '^ready' "$work/clients.out" 2>/dev/null && return 0
    kill -0 "$cl_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "stream clients did not subscribe: $(cat "$work/clients.err")" >&2
  exit 1
}
# Stops them (their RESULT line is then in clients.out).
stop_clients() {
  kill -TERM "$cl_pid"
  wait "$cl_pid" || true
  cl_pid=""
}

# CPU seconds (user + system) a process has used so far.
# shellcheck source=bench/proc.sh
. "$here/proc.sh"  # clk, ticks_of
cpu_of() {
  awk -v t="$(ticks_of "$1")" -v hz="$clk" 'BEGIN { printf "%.2f", t / hz }'
}

run_wrk() {  # $1 = connections -> "rps=.. p50=.. p99=.. non2xx=.. errors=.."
  local c=$1 th=$threads
  [ "$c" -lt "$th" ] && th=$c
  wrk -t"$th" -c"$c" -d"${secs}s" --timeout 10s -s "$here/orders.lua" "$url" 2>&1 |
    grep '^RESULT' | sed 's/^RESULT //' || echo "rps=0 p50=0 p99=0 non2xx=? errors=?"
}

echo "| round | conns | stream clients | req/s | p50 ms | p99 ms | non-2xx | socket errors | events received | clients closed 4008 | gateway CPU ms / order | clients CPU s |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for r in $(seq "$rounds"); do
  for c in $conns; do
    order="0 $nclients"
    [ $((r % 2)) = 0 ] && order="$nclients 0"
    for k in $order; do
      rps=0 p50=0 p99=0 non2xx=? errors=? events=- closed_4008=- ccpu=-
      if [ "$k" = 0 ]; then
        g0=$(cpu_of "$gw_pid")
        eval "$(run_wrk "$c")"
        g1=$(cpu_of "$gw_pid")
      else
        start_clients
        g0=$(cpu_of "$gw_pid")
        c0=$(cpu_of "$cl_pid")
        eval "$(run_wrk "$c")"
        g1=$(cpu_of "$gw_pid")
        ccpu=$(awk -v a="$c0" -v b="$(cpu_of "$cl_pid")" 'BEGIN { printf "%.1f", b - a }')
        stop_clients
        eval "$(grep '^RESULT' "$work/clients.out" | sed 's/^RESULT //')"
      fi
      gcpu=$(awk -v a="$g0" -v b="$g1" -v n="$rps" -v s="$secs" 'BEGIN { printf "%.3f", (n > 0 ? (b - a) * 1000 / (n * s) : 0) }')
      echo "| $r | $c | $k | $rps | $p50 | $p99 | $non2xx | $errors | $events | $closed_4008 | $gcpu | $ccpu |"
    done
  done
done
echo
echo "orders: $(curl -sf "$url/metrics" | awk '/^ordergate_orders_total/ {s+=$2} END {print s+0}') answered by the gateway" \
  "($(grep -c 'event=stream_client_slow' "$work/gateway.log" || true) stream clients closed as slow)"
