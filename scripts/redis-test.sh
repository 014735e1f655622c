#!/usr/bin/env bash
# A private redis-server for tests: loopback only, a free port, no persistence.
#
#   scripts/redis-test.sh start <dir>   starts it; writes <dir>/redis.env with
#                                       REDIS_URL=redis://127.0.0.1:<port>/0, REDIS_HOST, REDIS_PORT
#                                       (and refreshes <dir>/env, the union of <dir>/*.env)
#   scripts/redis-test.sh stop <dir>    stops it
#   scripts/redis-test.sh kill <dir>    kills it abruptly (SIGKILL; outage tests), keeping the env
#   scripts/redis-test.sh restart <dir> starts it again on the same port
#
# Needs Debian's redis-server package; INSTALL=1 installs it first.
set -euo pipefail

usage() { echo "usage: $0 start|stop|kill|restart <dir>" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)
pidfile=$dir/redis.pid

SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
if [ "${INSTALL:-0}" = 1 ] && ! command -v redis-server >/dev/null; then
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q redis-server >/dev/null
fi
command -v redis-server >/dev/null || { echo "redis-test: redis-server not found" >&2; exit 1; }

# shellcheck source=free-port.sh
. "$(dirname "$0")/free-port.sh"

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

launch() {  # port
  redis-server --port "$1" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --pidfile "$pidfile" --logfile "$dir/redis.log" --dir "$dir"
  for _ in $(seq 100); do  # bounded wait for it to answer
    if [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ]; then return 0; fi
    sleep 0.05
  done
  echo "redis-test: redis-server did not answer on port $1" >&2; tail -5 "$dir/redis.log" >&2
  return 1
}

write_env() {
  printf 'REDIS_URL=redis://127.0.0.1:%s/0\nREDIS_HOST=127.0.0.1\nREDIS_PORT=%s\n' "$1" "$1" \
    >"$dir/redis.env"
  cat "$dir"/*.env >"$dir/env.tmp" && mv "$dir/env.tmp" "$dir/env"
  cat "$dir/redis.env"
}

port_of_env() { sed -n 's/^REDIS_PORT=//p' "$dir/redis.env"; }

stop_pid() {  # signal
  running || return 0
  local pid; pid=$(cat "$pidfile")
  kill "-$1" "$pid"
  for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  rm -f "$pidfile"
}

case $cmd in
  start)
    if running; then write_env "$(port_of_env)"; exit 0; fi
    port=$(free_port redis-test)
    launch "$port"
    write_env "$port"
    ;;
  stop)
    stop_pid TERM
    rm -f "$dir/redis.env" "$dir/redis.log"
    if ls "$dir"/*.env >/dev/null 2>&1; then cat "$dir"/*.env >"$dir/env"; else rm -f "$dir/env"; fi
    ;;
  kill) stop_pid KILL ;;
  restart)
    [ -f "$dir/redis.env" ] || { echo "redis-test: never started in $dir" >&2; exit 1; }
    stop_pid TERM
    launch "$(port_of_env)"
    cat "$dir/redis.env"
    ;;
  *) usage ;;
esac
