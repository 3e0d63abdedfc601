#!/usr/bin/env bash
# Writes each chart's values.schema.json from its source here (values-schemas/<chart>.schema.json
# -> charts/<chart>/values.schema.json), after checking that the source is valid JSON.
# The copy is byte-identical; `generate.sh --check` fails when a chart's copy is out of date
# (chartgen/tests/conformance.rs checks the same).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
check=false
[ "${1:-}" = "--check" ] && check=true
status=0
for src in "$root"/values-schemas/*.schema.json; do
  chart=$(basename "$src" .schema.json)
  dest="$root/charts/$chart/values.schema.json"
  [ -d "$root/charts/$chart" ] || { echo "no chart charts/$chart for $src" >&2; exit 1; }
  python3 -m json.tool "$src" >/dev/null || { echo "invalid JSON: $src" >&2; exit 1; }
  if $check; then
    cmp -s "$src" "$dest" || { echo "out of date: charts/$chart/values.schema.json (run values-schemas/generate.sh)" >&2; status=1; }
  else
    cp "$src" "$dest"
  fi
done
exit $status
