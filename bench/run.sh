#!/usr/bin/env bash
# Side-by-side benchmark of POST /api/v1/orders, every target in the same run, driven by
# ../shared/bench/bench.sh (wrk + orders.lua: each request a new order with its own
# client_order_id and Idempotency-Key), then the gateway/peer ratios.
#
#   bench/run.sh embedded   gateway on the embedded default (SQLite + paper + in-process
#                           idempotency) vs the bare Poco server answering a fixed 201
#   bench/run.sh durable    gateway on PostgreSQL + Redis + paper vs floor-http, floor-durable
#                           (hand-written C++ doing the same writes) and the FastAPI peer
#   bench/run.sh auth       gateway (embedded) with auth off vs on (RS256, cached key), alternated
#                           per connection count for BENCH_ROUNDS (2) rounds
#
# Knobs (passed to bench.sh): BENCH_SECONDS (10), BENCH_CONNS ("1 16 64"), BENCH_THREADS (2).
# BUILD_DIR (build) is the build tree to use (built first by scripts/build.sh).
# Run as root on Debian 12 (bench.sh starts its own PostgreSQL and Redis on loopback).
# Client and servers share the machine: read ratios within one run, not absolute figures.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
shared=${SHARED_BENCH:-$root/../shared/bench}
mode=${1:-embedded}
[ -x "$shared/bench.sh" ] || { echo "bench: $shared/bench.sh not found (set SHARED_BENCH)" >&2; exit 1; }

"$root/scripts/install-deps.sh"
if [ "$mode" = durable ]; then
  INSTALL=1 BENCH_TARGETS=none BENCH_CONNS= "$shared/bench.sh" >/dev/null 2>&1 || true  # its python peers
fi
build=${BUILD_DIR:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
BUILD_DIR="$build" "$root/scripts/build.sh" >/dev/null
bin="$build/bin/ordergate"
data=$(mktemp -d /tmp/og-bench-data.XXXX)
cleanup() {
  # The auth mode's JWKS server runs in its own session until killed.
  if [ -f "$data/auth/jwks.pid" ]; then kill "$(cat "$data/auth/jwks.pid")" 2>/dev/null || true; fi
  rm -rf "$data"
}
trap cleanup EXIT
out=$(mktemp /tmp/og-bench-out.XXXX)

run() {  # $1 = targets, $2 = gateway command
  (cd "$root" && BENCH_TARGETS="$1" GATEWAY_CMD="$2" "$shared/bench.sh") | tee -a "$out"
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
  *) echo "usage: bench/run.sh embedded|durable|auth" >&2; exit 2 ;;
esac

# Ratios of the gateway against every other target, per connection count. A run with a non-2xx
# answer or a socket error measured something else than orders: it gets no ratio ("-"), and its
# error counts are printed beside it.
echo
echo "| conns | target | gateway req/s / target req/s | gateway p99 ms | target p99 ms | gateway non-2xx / socket errors | target non-2xx / socket errors |"
echo "|---|---|---|---|---|---|---|"
awk -F'|' '
  function clean(v) { gsub(/ /, "", v); return v }
  function ok(k) { return bad[k] == "0" && err[k] == "0" }
  /^\| [a-z]/ && $3 ~ /[0-9]/ { t=clean($2); c=clean($3); k=t","c; rps[k]=$4+0; p99[k]=$6+0; bad[k]=clean($7); err[k]=clean($8)
    if (!(t in seen)) { seen[t]=1; order[++n]=t } ; conns[c]=1 }
  END {
    for (c in conns) for (i=1;i<=n;i++) { t=order[i]; g="gateway,"c; k=t","c
      if (t=="gateway" || !(k in rps) || !(g in rps)) continue
      ratio = (ok(g) && ok(k) && rps[k] > 0) ? sprintf("%.2f", rps[g]/rps[k]) : "- (errors)"
      printf "| %s | %s | %s | %.3f | %.3f | %s / %s | %s / %s |\n", c, t, ratio, p99[g], p99[k], bad[g], err[g], bad[k], err[k] }
  }' "$out" | sort -t'|' -k2,2n
rm -f "$out"
