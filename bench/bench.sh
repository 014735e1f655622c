#!/usr/bin/env bash
# Drives POST /api/v1/orders on each target with wrk and bench/orders.lua (every request a new
# order with its own client_order_id and Idempotency-Key), one target after the other in one run,
# and prints one markdown table: target, conns, req/s, p50 ms, p99 ms, non-2xx, socket errors, and
# the CPU each request cost the target, PostgreSQL and Redis (user + system, from /proc).
#
#   BENCH_TARGETS="floor-http gateway" GATEWAY_CMD='...' bench/bench.sh
#
# Targets:
#   floor-http     og_bench_floor PORT http: Poco HTTPServer reading the body, answering a fixed 201
#   floor-durable  og_bench_floor PORT durable ...: Redis SET NX EX, PostgreSQL tx {order, event},
#                  simulated ack, tx {update, event}, Redis SET of the answer (bench/floor.cpp)
#   fastapi-1w     bench/peer_fastapi.py under uvicorn, 1 worker (same writes as floor-durable)
#   fastapi-2w     the same, 2 workers
#   gateway        GATEWAY_CMD run through bash with PORT, DATABASE_URL, REDIS_URL, REDIS_HOST and
#                  REDIS_PORT set; it must listen on 127.0.0.1:$PORT and answer GET /health
#   NAME           any other name: the command in BENCH_CMD_NAME, run the same way as GATEWAY_CMD
#                  (bench/run.sh fix runs BENCH_CMD_paper and BENCH_CMD_fix)
# Services: when a target needs them (floor-durable, fastapi-*, gateway, NAME) and
# BENCH_SERVICES is not 0, a private PostgreSQL 15 cluster and a Redis are started on loopback
# (free ports, a temporary directory), and stopped at exit. Needs root for PostgreSQL (initdb runs
# as the postgres user).
# Packages: installs what is missing (wrk, postgresql, redis-server, curl, the Python peer's
# python3-fastapi python3-uvicorn python3-asyncpg python3-redis python3-uvloop python3-httptools);
# BENCH_INSTALL=0 skips that. The floor is built with scripts/build.sh --target og_bench_floor.
# Knobs: BENCH_SECONDS (10), BENCH_CONNS ("1 16 64"), BENCH_THREADS (2: wrk threads, at most the
# connections), BENCH_TARGETS (default: floor-http floor-durable fastapi-1w fastapi-2w, and gateway
# when GATEWAY_CMD is set), BENCH_TOKEN (bearer token), BENCH_KEEP_LOGS=DIR (each target's log),
# BUILD_DIR (build).
# Client and servers share the machine: compare rows of one run, not figures across runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
secs=${BENCH_SECONDS:-10}
conns=${BENCH_CONNS:-"1 16 64"}
threads=${BENCH_THREADS:-2}
targets=${BENCH_TARGETS:-"floor-http floor-durable fastapi-1w fastapi-2w${GATEWAY_CMD:+ gateway}"}
build=${BUILD_DIR:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
py=/usr/bin/python3  # Debian's interpreter: the python3-* packages live under it
[ "$(id -u)" = 0 ] || SUDO=sudo

# --- packages -------------------------------------------------------------------------------------
if [ "${BENCH_INSTALL:-1}" = 1 ]; then
  want="wrk postgresql redis-server curl python3 python3-fastapi python3-uvicorn python3-asyncpg \
python3-redis python3-uvloop python3-httptools"
  missing=""
  for p in $want; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  if [ -n "$missing" ]; then
    echo "bench: installing$missing" >&2
    ${SUDO:-} apt-get update -q >/dev/null
    # shellcheck disable=SC2086  # a list of package names
    DEBIAN_FRONTEND=noninteractive ${SUDO:-} apt-get install -y -q $missing >/dev/null
  fi
fi

needs_services=0
needs_floor=0
for t in $targets; do
  case "$t" in
    floor-http) needs_floor=1 ;;
    floor-durable) needs_floor=1; needs_services=1 ;;
    *) needs_services=1 ;;
  esac
done
[ "${BENCH_SERVICES:-1}" = 0 ] && needs_services=0
if [ "$needs_floor" = 1 ]; then
  BUILD_DIR="$build" "$root/scripts/build.sh" --target og_bench_floor >/dev/null
fi
floor="$build/bin/og_bench_floor"

work=$(mktemp -d /tmp/og-bench.XXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -f "$work/pg/postmaster.pid" ]; then
    su postgres -c "/usr/lib/postgresql/15/bin/pg_ctl -D $work/pg -m fast stop" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- services: PostgreSQL 15 and Redis on loopback -------------------------------------------------
if [ "$needs_services" = 1 ]; then
  pgbin=/usr/lib/postgresql/15/bin
  pgport=$(free_port)
  mkdir -p "$work/pg" && chown postgres "$work/pg"
  su postgres -c "$pgbin/initdb -D $work/pg -A trust -U postgres" >/dev/null
  su postgres -c "$pgbin/pg_ctl -D $work/pg -l $work/pg/server.log -w start -o \
'-p $pgport -k $work/pg -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=256MB'" >/dev/null
  export DATABASE_URL="postgresql://postgres@127.0.0.1:$pgport/postgres"
  psql -q -v ON_ERROR_STOP=1 "$DATABASE_URL" -f "$here/schema.sql" >/dev/null
  rport=$(free_port)
  redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no >"$work/redis.log" 2>&1 &
  redis_pid=$!
  pids+=("$redis_pid")
  export REDIS_URL="redis://127.0.0.1:$rport/0" REDIS_HOST=127.0.0.1 REDIS_PORT=$rport
  for _ in $(seq 100); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

start_target() {  # $1 = target, $2 = port; runs in a subshell and becomes the target
  local t=$1 port=$2
  case "$t" in
    floor-http) exec "$floor" "$port" http ;;
    floor-durable) exec "$floor" "$port" durable "$DATABASE_URL" "$REDIS_HOST" "$REDIS_PORT" ;;
    fastapi-1w | fastapi-2w)
      cd "$here" && exec "$py" -m uvicorn peer_fastapi:app --host 127.0.0.1 --port "$port" \
        --workers "${t//[!0-9]/}" --log-level warning --no-access-log ;;
    gateway) cd "$root" && PORT=$port exec bash -c "$GATEWAY_CMD" ;;
    *)
      local var="BENCH_CMD_$t"
      [ -n "${!var:-}" ] || { echo "unknown target $t (no $var)" >&2; exit 2; }
      cd "$root" && PORT=$port exec bash -c "${!var}" ;;
  esac
}
wait_ready() {  # $1 = url, $2 = pid
  for _ in $(seq 300); do
    curl -sf "$1/health" >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}
stop_target() {  # $1 = pid: the target and its children (uvicorn's workers)
  pkill -TERM -P "$1" 2>/dev/null || true
  kill -TERM "$1" 2>/dev/null || true
  # A gateway stopping writes its written-behind backlog first, which after a saturating run
  # takes minutes; its figures are in: after 20 s it is killed.
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.2; done
  pkill -KILL -P "$1" 2>/dev/null || true
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# shellcheck source=bench/proc.sh
. "$here/proc.sh"  # clk, ticks_of
per_request() {  # $1, $2 = ticks before and after, $3 = requests -> microseconds per request
  awk -v a="$1" -v b="$2" -v n="$3" -v hz="$clk" \
    'BEGIN { if (n > 0) printf "%.0f", (b - a) * 1e6 / hz / n; else printf "-" }'
}
pg_pid() { [ "$needs_services" = 1 ] && head -1 "$work/pg/postmaster.pid" 2>/dev/null || true; }

echo "| target | conns | req/s | p50 ms | p99 ms | non-2xx | socket errors | target CPU µs/req | PostgreSQL CPU µs/req | Redis CPU µs/req |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for t in $targets; do
  name=$t
  port=$(free_port)
  (start_target "$t" "$port") >"$work/$name.log" 2>&1 &
  tp=$!
  pids+=($tp)
  url="http://127.0.0.1:$port"
  if ! wait_ready "$url" "$tp"; then
    echo "| $name | - | did not start: $(tail -1 "$work/$name.log") | | | | | | | |"
    stop_target "$tp"
    continue
  fi
  wrk -t1 -c4 -d3s -s "$here/orders.lua" "$url" >/dev/null 2>&1 || true  # warm-up
  for c in $conns; do
    th=$threads
    [ "$c" -lt "$th" ] && th=$c
    rps=0 p50=0 p99=0 non2xx=? errors=? requests=0
    pg=$(pg_pid)
    t0=$(ticks_of "$tp") p0=$([ -n "$pg" ] && ticks_of "$pg" || echo 0)
    r0=$([ -n "${redis_pid:-}" ] && ticks_of "$redis_pid" || echo 0)
    line=$(wrk -t"$th" -c"$c" -d"${secs}s" --timeout 10s -s "$here/orders.lua" "$url" 2>&1 |
      grep '^RESULT' || true)
    t1=$(ticks_of "$tp") p1=$([ -n "$pg" ] && ticks_of "$pg" || echo 0)
    r1=$([ -n "${redis_pid:-}" ] && ticks_of "$redis_pid" || echo 0)
    [ -n "$line" ] && eval "${line#RESULT }"
    tcpu=$(per_request "$t0" "$t1" "$requests") pcpu=- rcpu=-
    # The HTTP floor and a target run with BENCH_SERVICES=0 use neither service.
    if [ -n "$pg" ] && [ "$t" != floor-http ]; then
      pcpu=$(per_request "$p0" "$p1" "$requests")
      rcpu=$(per_request "$r0" "$r1" "$requests")
    fi
    echo "| $name | $c | $rps | $p50 | $p99 | $non2xx | $errors | $tcpu | $pcpu | $rcpu |"
  done
  # A gateway counts its answers by status in /metrics (warm-up included); the floors and the
  # peer have no /metrics and print nothing here.
  curl -sf "$url/metrics" 2>/dev/null | awk -v n="$name" '
    /^ordergate_http_requests_total\{/ && /method="POST"/ && /route="[^"]*orders"/ {
      match($0, /status="[0-9]+"/); st = substr($0, RSTART + 8, 3); c[st] += $NF; total += $NF }
    /^ordergate_storage_batches_total\{/ && /result="ok"/ { commits += $NF }
    END { line = ""; for (k in c) line = line " " k "=" c[k]
          if (line != "") printf "%s:%s; storage commits %d (%.2f per order)\n", n, line, commits, total ? commits / total : 0 }' \
    >>"$work/answers" || true
  [ -n "${BENCH_KEEP_LOGS:-}" ] && cp "$work/$name.log" "$BENCH_KEEP_LOGS/"
  stop_target "$tp"
done
if [ -s "$work/answers" ]; then
  echo
  echo "POST /api/v1/orders answers by status and storage commits (group commits), from each gateway's"
  echo "/metrics (warm-up included):"
  sed 's/^/  /' "$work/answers"
fi
if [ "$needs_services" = 1 ]; then
  echo
  echo "orders stored by floor-durable and the peers (PostgreSQL): $(psql -tA "$DATABASE_URL" \
    -c 'select count(*) from order_service.orders')"
fi
