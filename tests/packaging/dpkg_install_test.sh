#!/usr/bin/env bash
# The Debian package installed for real, on this machine: dpkg -i, the installed binary, config
# and user, the gateway started as the ordergate user on the packaged configuration until
# /health/ready answers 200 and /docs serves the installed Swagger UI, then dpkg -r (keeps config
# and data) and dpkg -P (removes the config, keeps the data). It changes the machine, so scripts/test.sh runs it only in CI as root
# (CI=true); it refuses to run where ordergate is installed or /var/lib/ordergate exists, and
# removes everything it made at the end, pass or fail.
#   dpkg_install_test.sh <build-dir>
set -euo pipefail
build=$(cd "$1" && pwd)
work=$(mktemp -d /tmp/og-dpkg.XXXXXX)
fail() { echo "FAIL: $*"; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root"
status=$(dpkg-query -W -f='${Status}' ordergate 2>/dev/null || true)
if [[ $status == *" installed" ]] ||
   [ -e /var/lib/ordergate ] || [ -e /etc/ordergate ]; then
  fail "ordergate is already installed here; this test only runs on a machine without it"
fi

pid=
cleanup() {
  [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true
  dpkg -P ordergate ordergate-sdk-dev >/dev/null 2>&1 || true
  rm -rf /var/lib/ordergate /etc/ordergate "$work"
  userdel ordergate 2>/dev/null || true
  groupdel ordergate 2>/dev/null || true
}
trap cleanup EXIT

echo "== cpack"
(cd "$build" && cpack -G DEB -B "$work/packages" >"$work/cpack.log") ||
  { cat "$work/cpack.log"; fail "cpack"; }

echo "== dpkg -i"
dpkg -i "$work"/packages/ordergate_*.deb "$work"/packages/ordergate-sdk-dev_*.deb
version=$("$build/bin/ordergate" --version)
[ "$(/usr/bin/ordergate --version)" = "$version" ] || fail "installed --version"
validated=$(/usr/bin/ordergate config validate /etc/ordergate/ordergate.yaml) ||
  fail "config validate /etc/ordergate/ordergate.yaml"
[[ $validated == *"/etc/ordergate/ordergate.yaml: OK"* ]] || fail "config validate said no OK"
getent passwd ordergate >/dev/null || fail "no ordergate user"
[ "$(stat -c %U:%G:%a /var/lib/ordergate)" = ordergate:ordergate:750 ] ||
  fail "/var/lib/ordergate is $(stat -c %U:%G:%a /var/lib/ordergate)"
[ -f /usr/lib/cmake/ordergate-sdk/ordergate-sdk-config.cmake ] || fail "the SDK's CMake package"

echo "== the installed gateway, as systemd would start it"
# shellcheck source=../../scripts/free-port.sh
. "$(dirname "$0")/../../scripts/free-port.sh"
port=$(free_port dpkg_install_test)
(cd /var/lib/ordergate && exec env -u OG_PLUGIN_DIR PORT="$port" \
   setpriv --reuid=ordergate --regid=ordergate --init-groups \
     /usr/bin/ordergate serve --config /etc/ordergate/ordergate.yaml) \
  >"$work/gateway.log" 2>&1 &
pid=$!
code=
for _ in $(seq 300); do
  kill -0 "$pid" 2>/dev/null || { cat "$work/gateway.log"; fail "the gateway exited"; }
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health/ready" || true)
  [ "$code" = 200 ] && break
  sleep 0.1
done
[ "$code" = 200 ] || { cat "$work/gateway.log"; fail "/health/ready never said 200"; }
for path in /docs /docs/swagger-ui-bundle.js /docs/swagger-ui.css; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$path" || true)
  [ "$code" = 200 ] ||
    { cat "$work/gateway.log"; fail "$path got $code from the installed gateway"; }
done
kill -TERM "$pid"
wait "$pid" || { cat "$work/gateway.log"; fail "the gateway did not exit 0 on SIGTERM"; }
pid=
[ -f /var/lib/ordergate/ordergate.db ] || fail "no database under /var/lib/ordergate"

echo "== dpkg -r keeps the configuration and the data"
echo "# edited by the operator" >>/etc/ordergate/ordergate.yaml
dpkg -r ordergate ordergate-sdk-dev
[ ! -e /usr/bin/ordergate ] || fail "/usr/bin/ordergate is still there"
[ ! -e /usr/lib/ordergate ] || fail "/usr/lib/ordergate is still there"
[ ! -e /usr/share/ordergate/docs ] || fail "/usr/share/ordergate/docs is still there"
[ ! -e /usr/include/ordergate ] || fail "/usr/include/ordergate is still there"
grep -q "edited by the operator" /etc/ordergate/ordergate.yaml || fail "the config was not kept"
[ -f /var/lib/ordergate/ordergate.db ] || fail "the data was not kept"

echo "== dpkg -P removes the configuration, keeps the data"
dpkg -P ordergate
[ ! -e /etc/ordergate/ordergate.yaml ] || fail "the config survived dpkg -P"
[ -f /var/lib/ordergate/ordergate.db ] || fail "dpkg -P removed the data"
status=$(dpkg-query -W -f='${Status}' ordergate 2>/dev/null || true)
[ -z "$status" ] || [[ $status == *not-installed* ]] || fail "ordergate is still '$status'"

echo "OK: dpkg -i, run, dpkg -r, dpkg -P"
