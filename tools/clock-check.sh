#!/usr/bin/env bash
# Runs the date-sensitive tests with the clock moved a year ahead and a year back (Debian's
# faketime), so a test that mixes a fixed clock with the real one fails here, the day it is
# written, instead of in CI months later. Date-sensitive: the template functions `now`,
# `date*`, `genCA`, `genSelfSignedCert`, `genSignedCert` (chartgen's funcs tests and the
# funcs:: unit tests), release records and experiment results that carry timestamps (the
# runner's experiment tests, chartgen's repo index). Takes the test binaries cargo already
# built (`cargo test --no-run` first), never cargo itself, which would see every file as stale
# under a moved clock.
#
#   tools/clock-check.sh            run them (a few seconds when built)
#   tools/clock-check.sh --list     print the binaries and filters it would run
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
command -v faketime >/dev/null || { echo "clock-check: faketime is missing (apt-get install faketime)" >&2; exit 1; }

# test target name, then the filters (none = every test of the binary).
checks=(
  "funcs"
  "chartgen funcs:: repo::index"
  "runner experiment:: task::"
  "experiment"
  "report"
)

# name<TAB>package dir<TAB>executable, for every test binary of the workspace.
bins=$(cargo test --workspace --no-run --quiet --message-format=json 2>/dev/null | python3 -c '
import json, os, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        print(m["target"]["name"], os.path.dirname(m["manifest_path"]), m["executable"], sep="\t")
')

failed=0
for check in "${checks[@]}"; do
  read -r name filters <<<"$check"
  # shellcheck disable=SC2206 # filters are words
  filter_args=($filters)
  rows=$(awk -F'\t' -v n="$name" '$1 == n' <<<"$bins")
  [ -n "$rows" ] || { echo "clock-check: no test binary named $name" >&2; exit 1; }
  while IFS=$'\t' read -r _ dir exe; do
    if [ "${1:-}" = "--list" ]; then
      echo "$name $exe ${filters:-(all)}"
      continue
    fi
    for shift_by in '+1y' '-1y'; do
      if ! out=$(cd "$dir" && faketime -f "$shift_by" "$exe" -q "${filter_args[@]}" 2>&1); then
        echo "clock-check: $name (${filters:-all}) fails with the clock moved $shift_by:" >&2
        echo "$out" | tail -40 >&2
        failed=1
      fi
    done
  done <<<"$rows"
done
[ "${1:-}" = "--list" ] || [ "$failed" = 0 ] && echo "clock-check: the date-sensitive tests pass a year ahead and a year back"
exit "$failed"
