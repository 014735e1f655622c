#!/usr/bin/env bash
# Pages an order writes on the embedded default, by B-tree: what each commit's WAL frames are
# (every frame is a 4 KiB page written, checksummed, synced and later checkpointed).
#
#   bench/wal_pages.sh            (from anywhere; uses $BUILD_DIR/bin/ordergate, default build/)
#
# Starts the gateway on configs/bench.yaml with the SQLite plugin's checkpoints put off (so the WAL
# keeps every frame), sends WP_WARMUP orders (200), copies the WAL, sends WP_ORDERS (200) one at
# a time over one connection (bench/orders_driver.py), copies the database and the WAL again and
# prints bench/wal_pages.py's table. OG_IDEMPOTENCY_BACKEND=storage keeps the keys in SQLite, as
# configs/default.yaml does.
set -euo pipefail
# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh" wal_pages
warmup=${WP_WARMUP:-200}
orders=${WP_ORDERS:-200}

work=$(mktemp -d /tmp/og-walpages.XXXX)
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# configs/bench.yaml with the checkpoints put off (0 would leave them to SQLite, every 1000 pages).
sed 's|^\(    path: .*\)$|\1\n    checkpoint_pages: 100000000\n    wal_restart_pages: 0|' \
  "$root/configs/bench.yaml" >"$work/bench.yaml"
grep -q 'wal_restart_pages: 0' "$work/bench.yaml" || { echo "wal_pages: cannot edit configs/bench.yaml" >&2; exit 1; }
port=$(free_port wal_pages)
mkdir -p "$work/data"
(cd "$root" && OG_DATA_DIR=$work/data PORT=$port exec env -u DATABASE_URL -u REDIS_URL \
  "$bin" serve --config "$work/bench.yaml") >"$work/gateway.log" 2>&1 &
pid=$!
wait_healthy "$pid" "$port" "$work/gateway.log" wal_pages
db="$work/data/ordergate.db"
"$py" "$here/orders_driver.py" "$port" "$warmup" >/dev/null
sleep 1  # the write-behind of the last warm-up order
cp "$db-wal" "$work/before.wal"
"$py" "$here/orders_driver.py" "$port" "$orders" | sed 's/^/wal_pages: /'
sleep 1
mkdir -p "$work/copy"
cp "$db-wal" "$work/after.wal"
cp "$db" "$work/copy/ordergate.db"
cp "$db-wal" "$work/copy/ordergate.db-wal"
"$py" "$here/wal_pages.py" "$work/copy/ordergate.db" "$work/before.wal" "$work/after.wal" "$orders"
