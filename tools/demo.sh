#!/usr/bin/env bash
# The main job, end to end on a fresh machine: build iter8, start the bundled sample target on
# loopback, launch an HTTP experiment with SLOs against it, assert the outcome, print the report.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --release --quiet --bin iter8
iter8="$root/target/release/iter8"
work=$(mktemp -d)
"$iter8" target --port 0 >"$work/target.log" 2>&1 &
target_pid=$!
trap 'kill $target_pid 2>/dev/null || true; rm -rf "$work"' EXIT
addr=""
for _ in $(seq 200); do
  addr=$(sed -n 's#^listening on http://##p' "$work/target.log" | head -1)
  [ -n "$addr" ] && break
  sleep 0.05
done
[ -n "$addr" ] || { echo "the sample target did not start:" >&2; cat "$work/target.log" >&2; exit 1; }
echo "sample target listening on http://$addr"
"$iter8" launch --runDir "$work" \
  --set "tasks={http,assess}" \
  --set "http.url=http://$addr/echo?delay=2ms" \
  --set http.numRequests=400 --set http.qps=200 \
  --set "assess.SLOs.upper.http/latency-mean=50" \
  --set "assess.SLOs.upper.http/error-count=0"
"$iter8" assert --runDir "$work" -c completed -c nofailure -c slos
"$iter8" report --runDir "$work"
