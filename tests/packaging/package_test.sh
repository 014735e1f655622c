#!/usr/bin/env bash
# The Debian packages as a fresh machine (or the container image's runtime stage) gets them,
# without touching this machine: builds the .debs from the build tree with cpack, checks their
# control data, extracts them into a scratch root with `dpkg -x`, and runs the extracted files:
# `ordergate --version`, `ordergate config validate` on the packaged configuration, the gateway
# itself on that configuration (data redirected with ORDERGATE_DATA_DIR) until /health/ready
# answers 200, an order is accepted and /docs serves the packaged Swagger UI, the container
# image's command and HEALTHCHECK on the same files, and the plugin template against the packaged
# SDK.
#   package_test.sh <build-dir> <work-dir>
set -euo pipefail
build=$(cd "$1" && pwd) work=$2
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)
root=$work/root
fail() { echo "FAIL: $*"; exit 1; }

echo "== cpack"
(cd "$build" && cpack -G DEB -B "$work/packages" >"$work/cpack.log") ||
  { cat "$work/cpack.log"; fail "cpack"; }
deb=$(ls "$work"/packages/ordergate_*.deb)
sdk=$(ls "$work"/packages/ordergate-sdk-dev_*.deb)

echo "== control data"
version=$("$build/bin/ordergate" --version | awk '{print $2}')
[ "$(dpkg-deb -f "$deb" Version)" = "$version-1" ] || fail "package version is not $version-1"
[ "$(dpkg-deb -f "$sdk" Version)" = "$version-1" ] || fail "sdk package version"
[ "$(dpkg-deb -f "$deb" Package)" = ordergate ] || fail "package name"
[ "$(dpkg-deb -f "$sdk" Package)" = ordergate-sdk-dev ] || fail "sdk package name"
mkdir -p "$work/control"
dpkg-deb -e "$deb" "$work/control"
[ "$(cat "$work/control/conffiles")" = /etc/ordergate/ordergate.yaml ] || fail "conffiles"
for s in postinst prerm postrm; do
  [ -x "$work/control/$s" ] || fail "no executable $s"
  sh -n "$work/control/$s" || fail "$s: syntax"
done
depends=" $(dpkg-deb -f "$deb" Depends | tr -d ' ' | tr ',' ' ') "
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/ordergate ./usr/lib/ordergate/plugins/broker-paper.so \
         ./usr/lib/ordergate/plugins/storage-sqlite.so ./etc/ordergate/ordergate.yaml \
         ./lib/systemd/system/ordergate.service ./usr/share/ordergate/prometheus/alerts.yml \
         ./usr/share/ordergate/grafana/ordergate.json \
         ./usr/share/ordergate/docs/swagger-ui-bundle.js ./usr/share/ordergate/docs/swagger-ui.css \
         ./usr/share/ordergate/docs/LICENSE; do
  grep -qx -- "$f" <<<"$contents" || fail "$f is not in the package"
done
# Nothing of the tests, and no data directory: postinst makes it, so dpkg never removes it.
if grep -E 'compat_|test-plugins|^\./var/' <<<"$contents"; then fail "unexpected files"; fi

echo "== every library the binary and the plugins link comes from a package in Depends"
dpkg -x "$deb" "$root"
dpkg -x "$sdk" "$root"
cache=$(ldconfig -p)  # read once: a pipe closed early would fail the script (pipefail)
for elf in "$root"/usr/bin/ordergate "$root"/usr/lib/ordergate/plugins/*.so; do
  for lib in $(readelf -d "$elf" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    [[ $lib == ld-linux* ]] && continue  # the dynamic loader, in libc6
    # The 64-bit entry first (a lib32 copy may be listed too), else any.
    path=$(awk -v l="$lib" '$1 == l && /x86-64|64bit/ {print $NF; exit}' <<<"$cache")
    [ -n "$path" ] || path=$(awk -v l="$lib" '$1 == l {print $NF; exit}' <<<"$cache")
    [ -n "$path" ] || fail "$elf: $lib is not on this machine"
    real=$(readlink -f "$path")
    owner=$(dpkg -S "$real" 2>/dev/null || dpkg -S "${real#/usr}" 2>/dev/null || true)
    pkg=${owner%%:*}
    [ -n "$pkg" ] || fail "$lib ($real) belongs to no package"
    [[ $depends == *" $pkg "* ]] || fail "$(basename "$elf") links $lib from $pkg, not in Depends"
  done
done

echo "== the packaged configuration is configs/default.yaml with the package's places"
# Keys and values (comments and blank lines aside) differ only where the package says so: the
# listener on loopback, no ./build plugin directories, data under /var/lib/ordergate. A key added
# to the default and not to packaging/ordergate.yaml fails here.
strip() { sed -e 's/ *#.*//' -e '/^ *$/d' "$1"; }
expected=$(strip "$(dirname "$0")/../../configs/default.yaml" |
  sed -e 's|^  host: 0\.0\.0\.0$|  host: 127.0.0.1|' -e '/^plugin_dirs:$/d' \
      -e '/^  - .*plugins$/d' -e 's|\./data/|${ORDERGATE_DATA_DIR:-/var/lib/ordergate}/|')
if [ "$expected" != "$(strip "$root/etc/ordergate/ordergate.yaml")" ]; then
  diff <(echo "$expected") <(strip "$root/etc/ordergate/ordergate.yaml") || true
  fail "packaging/ordergate.yaml drifted from configs/default.yaml (< expected, > packaged)"
fi

echo "== the extracted binary"
bin=$root/usr/bin/ordergate
cfg=$root/etc/ordergate/ordergate.yaml
[[ $("$bin" --version) =~ ^ordergate\ $version\ \(plugin\ ABI\ [0-9]+\.[0-9]+\)$ ]] ||
  fail "--version of the extracted binary"
"$bin" config validate "$cfg" >"$work/validate.log" ||
  { cat "$work/validate.log"; fail "validate"; }
grep -q "ordergate.yaml: OK" "$work/validate.log" || fail "validate said no OK"
grep -q "path = /var/lib/ordergate/ordergate.db" "$work/validate.log" ||
  { cat "$work/validate.log"; fail "the packaged data directory is not /var/lib/ordergate"; }

echo "== the gateway from the extracted files, on the packaged configuration"
# shellcheck source=../../scripts/free-port.sh
. "$(dirname "$0")/../../scripts/free-port.sh"
port=$(free_port package_test)
mkdir -p "$work/data" "$work/cwd"
# A directory with nothing in it: no ./build/plugins to fall back on, only the package's.
(cd "$work/cwd" && exec env -u OG_PLUGIN_DIR ORDERGATE_DATA_DIR="$work/data" PORT="$port" \
   "$bin" serve --config "$cfg" --log-format json) >"$work/gateway.log" 2>&1 &
pid=$!
stop() { kill -TERM "$pid" 2>/dev/null || true; }
trap stop EXIT
ready=
for _ in $(seq 300); do
  kill -0 "$pid" 2>/dev/null || { cat "$work/gateway.log"; fail "the gateway exited"; }
  code=$(curl -s -o "$work/ready.json" -w '%{http_code}' "http://127.0.0.1:$port/health/ready" ||
         true)
  if [ "$code" = 200 ]; then ready=1; break; fi
  sleep 0.1
done
[ -n "$ready" ] ||
  { cat "$work/gateway.log" "$work/ready.json"; fail "/health/ready never said 200"; }
code=$(curl -s -o "$work/order.json" -w '%{http_code}' -H 'Content-Type: application/json' \
  -X POST "http://127.0.0.1:$port/api/v1/orders" -d '{"account_id":"ACC1","symbol":"INFY",
  "exchange":"NSE","side":"BUY","quantity":"1","order_type":"MARKET"}')
[ "$code" = 201 ] || { cat "$work/order.json"; fail "an order got $code"; }
# /docs from the package's Swagger UI files (/usr/bin/../share/ordergate/docs).
code=$(curl -s -o "$work/docs.html" -w '%{http_code}' "http://127.0.0.1:$port/docs")
[ "$code" = 200 ] && grep -q 'docs/swagger-ui-bundle.js' "$work/docs.html" ||
  { cat "$work/docs.html"; fail "/docs got $code"; }
code=$(curl -s -o "$work/bundle.js" -w '%{http_code}' \
  "http://127.0.0.1:$port/docs/swagger-ui-bundle.js")
[ "$code" = 200 ] &&
  cmp -s "$work/bundle.js" "$root/usr/share/ordergate/docs/swagger-ui-bundle.js" ||
  fail "/docs/swagger-ui-bundle.js got $code or not the packaged file"
kill -TERM "$pid"
trap - EXIT
wait "$pid" || { cat "$work/gateway.log"; fail "the gateway did not exit 0 on SIGTERM"; }
# The plugins came from the package's directory, the data went where it was sent.
grep -q "\"path\":\"$root/usr/lib/ordergate/plugins/broker-paper.so\"" "$work/gateway.log" ||
  { cat "$work/gateway.log"; fail "broker-paper was not loaded from the package"; }
[ -f "$work/data/ordergate.db" ] || fail "no database in ORDERGATE_DATA_DIR"
[ -f "$work/data/paper.journal" ] || fail "no paper journal in ORDERGATE_DATA_DIR"

echo "== the container image's command, on the same files (packaging/Dockerfile)"
# The runtime stage is the .deb installed on debian:12-slim: the files extracted above. The image
# runs `ordergate serve` (the embedded default) in WORKDIR /var/lib/ordergate and probes
# /health/ready with its HEALTHCHECK command, which runs here as Docker would run it.
dockerfile=$(dirname "$0")/../../packaging/Dockerfile
for line in 'FROM debian:12 AS build' 'FROM debian:12-slim' 'USER ordergate' \
            'WORKDIR /var/lib/ordergate' 'VOLUME /var/lib/ordergate' \
            'ENTRYPOINT ["/usr/bin/ordergate"]' 'CMD ["serve"]'; do
  grep -qxF -- "$line" "$dockerfile" || fail "the Dockerfile has no '$line'"
done
probe=$(awk '/^HEALTHCHECK /{on=1} on{print; if ($0 !~ /\\$/) exit}' "$dockerfile" |
        sed -e ':a' -e '/\\$/N; s/\\\n//; ta' | sed 's/^HEALTHCHECK .* CMD //')
[[ $probe == *"/health/ready"* ]] || fail "no HEALTHCHECK on /health/ready: $probe"
port=$(free_port package_test)
mkdir -p "$work/image-workdir"
(cd "$work/image-workdir" && exec env -u OG_PLUGIN_DIR PORT="$port" "$bin" serve) \
  >"$work/image.log" 2>&1 &
pid=$!
trap stop EXIT
healthy=
for _ in $(seq 300); do
  kill -0 "$pid" 2>/dev/null || { cat "$work/image.log"; fail "the image's command exited"; }
  if PORT=$port sh -c "$probe" 2>/dev/null; then healthy=1; break; fi
  sleep 0.1
done
[ -n "$healthy" ] || { cat "$work/image.log"; fail "the HEALTHCHECK never passed"; }
kill -TERM "$pid"
trap - EXIT
wait "$pid" || { cat "$work/image.log"; fail "the image's command did not exit 0 on SIGTERM"; }
grep -q "path=$root/usr/lib/ordergate/plugins/broker-paper.so" "$work/image.log" ||
  { cat "$work/image.log"; fail "the image's command did not load the packaged broker-paper"; }
[ -f "$work/image-workdir/data/ordergate.db" ] || fail "no ./data/ordergate.db in WORKDIR"

echo "== the plugin template against the packaged SDK"
cp -r "$root/usr/share/ordergate-sdk/template/broker-example" "$work/plugin"
cmake -S "$work/plugin" -B "$work/plugin/build" -G Ninja -DCMAKE_PREFIX_PATH="$root/usr" \
  -DCMAKE_BUILD_TYPE=Release >"$work/plugin-configure.log" ||
  { cat "$work/plugin-configure.log"; fail "the template does not configure"; }
grep -q "$root/usr/lib/cmake/ordergate-sdk" "$work/plugin/build/CMakeCache.txt" ||
  fail "find_package(ordergate-sdk) did not use the packaged SDK"
cmake --build "$work/plugin/build" >"$work/plugin-build.log" ||
  { cat "$work/plugin-build.log"; fail "the template does not build"; }
listed=$("$bin" plugin list "$work/plugin/build")
[[ $listed == *broker-example* ]] || fail "the packaged binary does not list the template plugin"

echo "OK: packages built, extracted, run"
