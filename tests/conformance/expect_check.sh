#!/usr/bin/env bash
# Runs `ordergate plugin check` and checks what it printed, for cases where the kit must fail a
# plugin (or a run) in one specific, readable way:
#   expect_check.sh ORDERGATE PLUGIN [options]
#     --config FILE       pass --config FILE (default: none)
#     --misbehave MODE    pass a config made of misbehaving.yaml plus `misbehave: MODE`
#     --status N          the exit status expected (default 1)
#     --fails N           how many FAIL lines are expected
#     --line REGEX        a line of the output must match REGEX (grep -E); repeatable
set -euo pipefail
bin=$1 plugin=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
args=() lines=() status=1 fails=
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
while [ $# -gt 0 ]; do
  case $1 in
    --config) args+=(--config "$2"); shift 2 ;;
    --misbehave)
      { cat "$here/misbehaving.yaml"; echo "misbehave: $2"; } > "$tmp/plugin.yaml"
      args+=(--config "$tmp/plugin.yaml"); shift 2 ;;
    --status) status=$2; shift 2 ;;
    --fails) fails=$2; shift 2 ;;
    --line) lines+=("$2"); shift 2 ;;
    *) echo "expect_check.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
set +e
"$bin" plugin check "$plugin" "${args[@]}" > "$tmp/out" 2>&1
got=$?
set -e
cat "$tmp/out"
bad=0
if [ "$got" != "$status" ]; then
  echo "expect_check: exit status $got, expected $status"; bad=1
fi
for re in "${lines[@]}"; do
  if ! grep -Eq -- "$re" "$tmp/out"; then echo "expect_check: no line matches: $re"; bad=1; fi
done
if [ -n "$fails" ]; then
  n=$(grep -c '^FAIL ' "$tmp/out" || true)
  if [ "$n" != "$fails" ]; then echo "expect_check: $n FAIL lines, expected $fails"; bad=1; fi
fi
exit $bad
