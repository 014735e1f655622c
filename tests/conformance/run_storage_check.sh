#!/usr/bin/env sh
# Runs `ordergate plugin check` on a storage plugin with a fresh store:
#   run_storage_check.sh <ordergate> <plugin.so> sqlite
#   run_storage_check.sh <ordergate> <plugin.so> postgres <services env file>
set -eu
bin=$1 plugin=$2 kind=$3
dir=$(mktemp -d /tmp/og-kit.XXXXXX)
trap 'rm -rf "$dir"' EXIT
case "$kind" in
  sqlite) printf 'path: %s/kit.db\n' "$dir" > "$dir/plugin.yaml" ;;
  postgres)
    . "$4"
    printf 'url: %s\nschema: kit_%s\n' "$DATABASE_URL" "$$" > "$dir/plugin.yaml" ;;
esac
exec "$bin" plugin check "$plugin" --config "$dir/plugin.yaml"
