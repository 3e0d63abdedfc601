#!/usr/bin/env bash
# Regenerates the goldens of chartgen/tests/chart.rs with real Helm v4.1.4 (fetched by
# tools/fetch-helm.sh; the binary is never committed). Run from anywhere:
#   chartgen/tests/chart/regen.sh
set -euo pipefail
set +B  # case arguments contain braces ({a,b}) that must reach helm verbatim
root=$(cd "$(dirname "$0")/../../.." && pwd)
here="$root/chartgen/tests/chart"
bin=$("$root/tools/fetch-helm.sh" | tail -1)
helm="$bin/helm"
cd "$root"
out="$here/goldens"
rm -rf "$out"; mkdir -p "$out"

# Full renders: stdout byte-for-byte, exit code and stderr's `Error:` line.
grep -v '^#' "$here/cases.txt" | grep -v '^\s*$' | while IFS='|' read -r name chart args; do
  name=$(echo "$name" | xargs); chart=$(echo "$chart" | xargs)
  eval "set -- $args"
  rc=0
  h="$helm"; case "$name" in h3-*) h="$bin/helm3";; esac
  "$h" template "$@" "$chart" >"$out/$name.out" 2>"$out/$name.stderr" || rc=$?
  # Iter8's experiment Secret records `now`: mask it so goldens do not churn.
  sed -i -E 's/^([[:space:]]*)startTime: .*/\1startTime: <masked>/' "$out/$name.out"
  { echo "$rc"; grep '^Error: ' "$out/$name.stderr" | sed 's/^Error: //' || true; } >"$out/$name.err"
  # Keep the whole error text (it may span lines) after the rc line.
  if [ "$rc" != 0 ]; then
    { echo "$rc"; sed -n '/^Error: /,$p' "$out/$name.stderr" | sed '1s/^Error: //'; } >"$out/$name.err"
  fi
  rm "$out/$name.stderr"
done

# --set grammar: values as Helm's toJson prints them, or the error.
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/v/templates"
printf 'apiVersion: v2\nname: v\nversion: 0.1.0\n' >"$tmp/v/Chart.yaml"
printf 'd:\n  x: 1\n  l: [1, 2]\n' >"$tmp/v/values.yaml"
printf '# {{ toJson .Values }}\n' >"$tmp/v/templates/t.yaml"
grep -v '^#' "$here/strvals.txt" | grep -v '^\s*$' | while read -r line; do
  eval "set -- $line"
  rc=0
  res=$("$helm" template "$@" "$tmp/v" 2>"$tmp/err") || rc=$?
  if [ "$rc" = 0 ]; then res=$(printf '%s\n' "$res" | sed -n 3p | sed 's/^# //'); else res=$(sed 's/^Error: //' "$tmp/err"); fi
  printf '### %s\n%s\n%s\n' "$line" "$rc" "$res"
done >"$here/strvals.golden"
echo "goldens written to $out and $here/strvals.golden"
