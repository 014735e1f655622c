#!/usr/bin/env bash
# Side-by-side benchmark of POST /api/v1/orders, every target in the same run, driven by
# bench/bench.sh (wrk + bench/orders.lua: each request a new order with its own client_order_id
# and Idempotency-Key), then the gateway/peer ratios.
#
#   bench/run.sh embedded   gateway on the embedded default (SQLite + paper + in-process
#                           idempotency) vs the bare Poco server answering a fixed 201
#   bench/run.sh durable    gateway on PostgreSQL + Redis + paper vs floor-http, floor-durable
#                           (hand-written C++ doing the same writes) and the FastAPI peer
#   bench/run.sh auth       gateway (embedded) with auth off vs on (RS256, cached key), alternated
#                           per connection count for BENCH_ROUNDS (2) rounds
#   bench/run.sh fix        gateway (embedded storage) with the paper broker vs with the FIX
#                           plugin (broker-fix) trading with ordergate-fix-venue on loopback
#
# Knobs (passed to bench.sh): BENCH_SECONDS (10), BENCH_CONNS ("1 16 64"), BENCH_THREADS (2).
# BUILD_DIR (build) is the build tree to use (the targets a mode needs are built first).
# Run as root on Debian 12 (bench.sh installs its packages, starts its own PostgreSQL and Redis).
# Client and servers share the machine: read ratios within one run, not absolute figures.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
mode=${1:-embedded}
case "$mode" in embedded | durable | auth | fix) ;;
  *) echo "usage: bench/run.sh embedded|durable|auth|fix" >&2; exit 2 ;;
esac

"$root/scripts/install-deps.sh"
build=${BUILD_DIR:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
targets="ordergate broker-paper storage-sqlite og_bench_floor"
case "$mode" in
  durable) targets="$targets storage-postgres" ;;
  auth) targets="$targets og_bench_auth_setup" ;;
  fix) targets="$targets broker-fix ordergate-fix-venue" ;;
esac
# shellcheck disable=SC2086  # a list of targets
BUILD_DIR="$build" "$root/scripts/build.sh" --target $targets >/dev/null
export BUILD_DIR="$build"
bin="$build/bin/ordergate"
data=$(mktemp -d /tmp/og-bench-data.XXXX)
venue_pid=""
cleanup() {
  # The auth mode's JWKS server runs in its own session until killed.
  if [ -f "$data/auth/jwks.pid" ]; then kill "$(cat "$data/auth/jwks.pid")" 2>/dev/null || true; fi
  if [ -n "$venue_pid" ]; then kill "$venue_pid" 2>/dev/null || true; wait "$venue_pid" 2>/dev/null || true; fi
  rm -rf "$data"
}
trap cleanup EXIT
out=$(mktemp /tmp/og-bench-out.XXXX)

# PostgreSQL and Redis only for the durable mode: the embedded gateway uses neither.
services=0
[ "$mode" = durable ] && services=1
run() {  # $1 = targets, $2 = gateway command
  (cd "$root" && BENCH_SERVICES=$services BENCH_TARGETS="$1" GATEWAY_CMD="$2" "$here/bench.sh") |
    tee -a "$out"
}

case "$mode" in
  embedded)
    # bench.sh exports DATABASE_URL/REDIS_URL for its durable targets; the embedded default
    # must not pick them up.
    run "floor-http gateway" \
      "rm -rf $data/e && mkdir -p $data/e && OG_DATA_DIR=$data/e exec env -u DATABASE_URL -u REDIS_URL $bin serve --config configs/bench.yaml"
    ;;
  durable)
    run "floor-http floor-durable fastapi-1w fastapi-2w gateway" \
      "OG_DATA_DIR=$data exec $bin serve --config configs/bench-durable.yaml"
    ;;
  auth)
    # Key set, token (BENCH_TOKEN, RS256) and a JWKS server on loopback, killed by cleanup.
    "$build/bin/og_bench_auth_setup" "$data/auth" >/dev/null
    # shellcheck disable=SC1091
    . "$data/auth/env"  # plain assignments: nothing is exported to the auth-off runs
    off_cmd="rm -rf $data/a && mkdir -p $data/a && OG_DATA_DIR=$data/a exec env -u DATABASE_URL -u REDIS_URL $bin serve --config configs/bench.yaml"
    on_cmd="rm -rf $data/b && mkdir -p $data/b && OG_DATA_DIR=$data/b AUTH_ENABLED=true JWKS_URL=$JWKS_URL JWT_ISSUER=$JWT_ISSUER JWT_AUDIENCE=$JWT_AUDIENCE exec env -u DATABASE_URL -u REDIS_URL $bin serve --config configs/bench.yaml"
    # Off and on alternate per connection count, BENCH_ROUNDS times (2), the order swapped every
    # round, so load drifting on a shared machine hits both alike.
    rows=$(mktemp /tmp/og-bench-rows.XXXX)
    for r in $(seq "${BENCH_ROUNDS:-2}"); do
      for c in ${BENCH_CONNS:-1 16 64}; do
        order="off on"; [ $((r % 2)) = 0 ] && order="on off"
        for m in $order; do
          : >"$out"
          echo "## round $r, $c connections, auth $m"
          if [ "$m" = on ]; then
            BENCH_CONNS=$c BENCH_TOKEN=$BENCH_TOKEN run "gateway" "$on_cmd"
          else
            BENCH_CONNS=$c run "gateway" "$off_cmd"
          fi
          { grep '^| gateway |' "$out" || true; } | sed "s/^| gateway |/| $m | $r |/" >>"$rows"
        done
      done
    done
    echo
    echo "| conns | auth off req/s | auth on req/s | throughput loss % | loss % per round | off p99 ms (worst) | on p99 ms (worst) | on non-2xx |"
    echo "|---|---|---|---|---|---|---|---|"
    awk -F'|' '
      { m=$2; gsub(/ /,"",m); r=$3+0; c=$4; gsub(/ /,"",c); v[m","r","c]=$5+0; sum[m","c]+=$5; n[m","c]++
        if ($7+0 > p99[m","c]) p99[m","c]=$7+0; bad[m","c]+=$8; cs[c]=1; if (r > R) R=r }
      END { for (c in cs) { if (!n["off,"c] || !n["on,"c] || sum["off,"c] == 0) continue
              off=sum["off,"c]/n["off,"c]; on=sum["on,"c]/n["on,"c]; per=""
              for (r=1; r<=R; r++) if (v["off,"r","c] > 0) per=per sprintf("%s%.1f", per==""?"":" / ", (1-v["on,"r","c]/v["off,"r","c])*100)
              printf "| %s | %.0f | %.0f | %.1f | %s | %.3f | %.3f | %d |\n", c, off, on, (1-on/off)*100, per, p99["off,"c], p99["on,"c], bad["on,"c] } }
    ' "$rows" | sort -t'|' -k2,2n
    rm -f "$out" "$rows"
    exit 0
    ;;
  fix)
    # The simulator: one FIX 4.4 session (GW1), a liquidity provider for INFY at 1500.00 under the
    # bench's limit buys at 1500.50, so every order fills at once (New, then Trade); no message
    # log. Started once, before both gateways; its book lives in memory.
    vport=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    mkdir -p "$data/venue"
    "$build/bin/ordergate-fix-venue" --port "$vport" --data-dir "$data/venue" \
      --session FIX.4.4:GW1 --price INFY=1500.00 --no-message-log \
      >"$data/venue/out" 2>"$data/venue/err" &
    venue_pid=$!
    for _ in $(seq 100); do grep -q '^fix-venue ready' "$data/venue/out" && break; sleep 0.1; done
    grep -q '^fix-venue ready' "$data/venue/out" || { echo "fix-venue did not start: $(tail -3 "$data/venue/err")" >&2; exit 1; }
    # Two targets in one bench.sh run, the same embedded storage and idempotency: the paper
    # broker, then the FIX plugin. The FIX gateway answers /health once the session is logged on
    # (bench.sh waits for it). BENCH_SERVICES=0: neither needs PostgreSQL nor Redis.
    paper_cmd="rm -rf $data/p && mkdir -p $data/p && OG_DATA_DIR=$data/p exec env -u DATABASE_URL -u REDIS_URL $bin serve --config configs/bench.yaml"
    fix_cmd="rm -rf $data/f && mkdir -p $data/f && OG_DATA_DIR=$data/f FIX_PORT=$vport exec env -u DATABASE_URL -u REDIS_URL $bin serve --config configs/bench-fix.yaml"
    (cd "$root" && BENCH_SERVICES=0 BENCH_TARGETS="paper fix" BENCH_CMD_paper="$paper_cmd" \
      BENCH_CMD_fix="$fix_cmd" "$here/bench.sh") | tee -a "$out"
    echo
    # What the simulator holds: the session's counters (sent_app_messages: its reports).
    ctl=$(sed -n 's/.*control=\([0-9]*\).*/\1/p' "$data/venue/out")
    exec 3<>"/dev/tcp/127.0.0.1/$ctl"
    echo sessions >&3
    read -r -t 5 answer <&3 || answer="(no answer)"
    exec 3>&-
    echo "venue sessions: $answer"
    ;;
esac

# Ratios of the gateway (fix mode: the FIX gateway) against every other target, per connection count. A run with a non-2xx
# answer or a socket error measured something else than orders: it gets no ratio ("-"), and its
# error counts are printed beside it.
echo
g=gateway
[ "$mode" = fix ] && g=fix
echo "| conns | target | $g req/s / target req/s | $g p99 ms | target p99 ms | $g non-2xx / socket errors | target non-2xx / socket errors |"
echo "|---|---|---|---|---|---|---|"
awk -F'|' -v gw="$g" '
  function clean(v) { gsub(/ /, "", v); return v }
  function ok(k) { return bad[k] == "0" && err[k] == "0" }
  /^\| [a-z]/ && $3 ~ /[0-9]/ { t=clean($2); c=clean($3); k=t","c; rps[k]=$4+0; p99[k]=$6+0; bad[k]=clean($7); err[k]=clean($8)
    if (!(t in seen)) { seen[t]=1; order[++n]=t } ; conns[c]=1 }
  END {
    for (c in conns) for (i=1;i<=n;i++) { t=order[i]; g=gw","c; k=t","c
      if (t==gw || !(k in rps) || !(g in rps)) continue
      ratio = (ok(g) && ok(k) && rps[k] > 0) ? sprintf("%.2f", rps[g]/rps[k]) : "- (errors)"
      printf "| %s | %s | %s | %.3f | %.3f | %s / %s | %s / %s |\n", c, t, ratio, p99[g], p99[k], bad[g], err[g], bad[k], err[k] }
  }' "$out" | sort -t'|' -k2,2n
rm -f "$out"
