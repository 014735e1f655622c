#!/usr/bin/env bash
# A private PostgreSQL 15 for tests: loopback only, a free port, a data directory under <dir>.
#
#   scripts/pg-test.sh start <dir>   initdb (first time) + start; writes <dir>/pg.env with
#                                    DATABASE_URL=postgresql://postgres@127.0.0.1:<port>/postgres
#                                    (and refreshes <dir>/env, the union of <dir>/*.env); prints it
#   scripts/pg-test.sh stop <dir>    stops it (fast shutdown) and removes <dir>/pg
#   scripts/pg-test.sh restart <dir> restarts it on the same port (for recovery tests)
#   scripts/pg-test.sh down <dir>    stops it (fast shutdown) keeping its data, port and env
#   scripts/pg-test.sh up <dir>      starts it again after `down`, on the same port (outage tests)
#
# Runs the server as the `postgres` user when started as root (PostgreSQL refuses root), as the
# current user otherwise. Needs Debian's postgresql package (PG_BIN overrides its directory);
# INSTALL=1 installs it first (apt-get, with sudo when not root).
set -euo pipefail

usage() { echo "usage: $0 start|stop|restart|down|up <dir>" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)
# The server's own files (data, log, socket). As root the server runs as `postgres`, which may not
# be able to reach <dir> (a clone under /root, say): they then live under /tmp, named after <dir>.
if [ "$(id -u)" = 0 ]; then
  run=/tmp/og-pg-$(printf '%s' "$dir" | cksum | cut -d' ' -f1)
else
  run=$dir
fi
data=$run/pg
bin=${PG_BIN:-/usr/lib/postgresql/15/bin}

SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
if [ "${INSTALL:-0}" = 1 ] && [ ! -x "$bin/initdb" ]; then
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q postgresql-15 >/dev/null
fi
[ -x "$bin/initdb" ] || { echo "pg-test: $bin/initdb not found (apt-get install postgresql-15)" >&2; exit 1; }

as_db() {  # runs a command line as the database owner
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}

# shellcheck source=free-port.sh
. "$(dirname "$0")/free-port.sh"

launch() {  # port
  # fsync stays on: the tests must see the same durability the product relies on.
  as_db "$bin/pg_ctl -D '$data' -l '$run/pg.log' -w -t 60 -o \"-p $1 -k '$run' \
    -c listen_addresses=127.0.0.1 -c max_connections=200\" start" >/dev/null \
    || { tail -20 "$run/pg.log" >&2; exit 1; }
}

write_env() {
  echo "DATABASE_URL=postgresql://postgres@127.0.0.1:$1/postgres" >"$dir/pg.env"
  cat "$dir"/*.env >"$dir/env.tmp" && mv "$dir/env.tmp" "$dir/env"
  cat "$dir/pg.env"
}

case $cmd in
  start)
    if [ -f "$data/postmaster.pid" ] && as_db "$bin/pg_ctl -D '$data' status" >/dev/null 2>&1; then
      port=$(sed -n 4p "$data/postmaster.pid")
      write_env "$port"
      exit 0
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
      mkdir -p "$data"
      [ "$(id -u)" = 0 ] && chown postgres "$run" "$data"
      as_db "$bin/initdb -D '$data' -A trust -U postgres -E UTF8 --no-sync" >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    port=$(free_port pg-test)
    launch "$port"
    write_env "$port"
    ;;
  stop)
    if [ -f "$data/postmaster.pid" ]; then
      as_db "$bin/pg_ctl -D '$data' -m fast -w stop" >/dev/null
    fi
    rm -rf "$data" "$dir/pg.env" "$run/pg.log" "$dir/initdb.log"
    [ "$run" = "$dir" ] || rm -rf "$run"
    if ls "$dir"/*.env >/dev/null 2>&1; then cat "$dir"/*.env >"$dir/env"; else rm -f "$dir/env"; fi
    ;;
  restart)
    [ -f "$data/postmaster.pid" ] || { echo "pg-test: not running in $dir" >&2; exit 1; }
    as_db "$bin/pg_ctl -D '$data' -m fast -w restart" >/dev/null
    cat "$dir/pg.env"
    ;;
  down)
    [ -f "$data/postmaster.pid" ] || { echo "pg-test: not running in $dir" >&2; exit 1; }
    as_db "$bin/pg_ctl -D '$data' -m fast -w stop" >/dev/null
    ;;
  up)
    [ -f "$dir/pg.env" ] || { echo "pg-test: never started in $dir" >&2; exit 1; }
    port=$(sed -n 's|^DATABASE_URL=.*:\([0-9][0-9]*\)/postgres$|\1|p' "$dir/pg.env")
    [ -n "$port" ] || { echo "pg-test: no port in $dir/pg.env" >&2; exit 1; }
    launch "$port"
    cat "$dir/pg.env"
    ;;
  *) usage ;;
esac
