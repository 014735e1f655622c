#!/usr/bin/env bash
# Installs the SDK with `cmake --install` into a temporary prefix, builds the out-of-tree plugin
# template against it with find_package(ordergate-sdk), and runs the test kit on the result.
#   template_test.sh <source-root> <work-dir> <plugin-check-driver> gcc|clang-libc++
set -euo pipefail
src=$1 work=$2 ordergate=$3 toolchain=$4
rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix

echo "== configure, build and install the SDK into $prefix"
cmake -S "$src" -B "$work/sdk-build" -G Ninja -DORDERGATE_ONLY=sdk -DORDERGATE_BUILD_TESTS=OFF \
      -DCMAKE_INSTALL_PREFIX="$prefix" >"$work/sdk-configure.log"
cmake --build "$work/sdk-build" >"$work/sdk-build.log"
cmake --install "$work/sdk-build" >"$work/sdk-install.log"
test -f "$prefix/include/ordergate/sdk.hpp"
test -f "$prefix/lib/cmake/ordergate-sdk/ordergate-sdk-config.cmake" ||
  test -f "$prefix"/lib/*/cmake/ordergate-sdk/ordergate-sdk-config.cmake

compiler_args=()
if [ "$toolchain" = clang-libc++ ]; then
  compiler_args=(-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_FLAGS=-stdlib=libc++
                 -DCMAKE_MODULE_LINKER_FLAGS=-stdlib=libc++)
fi

echo "== configure and build the template ($toolchain)"
cmake -S "$src/sdk/template/broker-example" -B "$work/template-build" -G Ninja \
      -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_INSTALL_PREFIX="$work/plugin-prefix" \
      "${compiler_args[@]}" >"$work/template-configure.log"
cmake --build "$work/template-build"
cmake --install "$work/template-build" >/dev/null
plugin=$work/plugin-prefix/lib/ordergate/plugins/broker-example.so
test -f "$plugin" || plugin=$(ls "$work"/plugin-prefix/lib*/ordergate/plugins/broker-example.so)

echo "== exported symbols (only the entry alias may be exported)"
symbols=$(nm -D --defined-only "$plugin")
exported=$(awk '$3 !~ /^_/ {print $3}' <<<"$symbols" | sort -u)
echo "$exported"
[ "$exported" = ordergate_plugin_entry ]

if [ "$toolchain" = clang-libc++ ]; then
  echo "== standard library: libc++, not libstdc++"
  libs=$(ldd "$plugin")  # (not piped into grep -q: with pipefail, SIGPIPE would fail it)
  echo "$libs"
  [[ $libs == *libc++.so* ]] || { echo "not linked to libc++"; exit 1; }
  [[ $libs != *libstdc++* ]] || { echo "linked to libstdc++"; exit 1; }
fi

echo "== the SDK package refuses another major version"
mkdir -p "$work/major2"
cat >"$work/major2/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.16)
project(major2 LANGUAGES CXX)
find_package(ordergate-sdk 2.0 REQUIRED)
CMAKE
if cmake -S "$work/major2" -B "$work/major2/build" -DCMAKE_PREFIX_PATH="$prefix" \
     >"$work/major2.log" 2>&1; then
  echo "find_package(ordergate-sdk 2.0) unexpectedly succeeded"; exit 1
fi

echo "== plugin check"
"$ordergate" plugin check "$plugin" --config "$src/sdk/template/broker-example/plugin.yaml"
