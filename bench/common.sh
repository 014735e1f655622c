# Sourced by bench/callgrind.sh and bench/wal_pages.sh: where things are, and the gateway's
# readiness. Sets here (bench/), root, build ($BUILD_DIR, default build/), bin (the ordergate
# binary, which must exist) and py, and defines free_port (scripts/free-port.sh) and
# wait_healthy; $1 is the caller's name for its messages.
here=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
root=$(cd "$here/.." && pwd)
build=${BUILD_DIR:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
bin="$build/bin/ordergate"
[ -x "$bin" ] || { echo "$1: $bin not found (scripts/build.sh first)" >&2; exit 1; }
py=/usr/bin/python3
[ -x "$py" ] || py=python3
# shellcheck source=scripts/free-port.sh
. "$root/scripts/free-port.sh"

# Waits until the gateway (pid $1) answers GET /health on port $2; $3 = its log, $4 = the
# caller's name. Exits when the gateway ends or does not answer within 120 s.
wait_healthy() {
  for _ in $(seq 600); do
    if "$py" -c "import http.client,sys; c=http.client.HTTPConnection('127.0.0.1',$2,timeout=2); c.request('GET','/health'); sys.exit(c.getresponse().status!=200)" 2>/dev/null; then
      return 0
    fi
    kill -0 "$1" 2>/dev/null || { echo "$4: the gateway exited; its log:" >&2; cat "$3" >&2; exit 1; }
    sleep 0.2
  done
  echo "$4: the gateway did not answer /health" >&2
  exit 1
}
