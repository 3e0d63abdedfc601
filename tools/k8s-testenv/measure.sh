#!/usr/bin/env bash
# Measures k8s-testenv on this machine: warm start (cached binary) to ready, time to
# /readyz, and the control plane's peak memory (VmHWM of k8s-testenv and its controller
# manager) after running the k8s integration tests against it. With --cold it first times a
# build from an empty Go build cache (modules stay cached): minutes of CPU on 2 cores.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
now() { date +%s%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }

if [ "${1:-}" = --cold ]; then
  cache=$(mktemp -d) gocache=$(mktemp -d)
  t0=$(now)
  ITER8_TESTENV_CACHE=$cache GOCACHE=$gocache bash "$here/testenv.sh" build >/dev/null
  echo "cold build: $(since "$t0") s"
  rm -rf "$cache" "$gocache"
fi

bash "$here/testenv.sh" build >/dev/null
dir=$(mktemp -d)
t0=$(now)
bash "$here/testenv.sh" start --dir "$dir" >/dev/null 2>"$dir.err" &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir" "$dir.err"' EXIT
kubeconfig=$(bash "$here/testenv.sh" wait "$dir" "$pid")
echo "warm start to ready (script + binary): $(since "$t0") s"
grep -o '/readyz after .*ready after [0-9.]*s' "$dir.err" || true

kcm=$(pgrep -P "$pid" || true)
hwm() { awk '/VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
t1=$(now)
(cd "$root" && ITER8_TESTENV_KUBECONFIG=$kubeconfig cargo test -q -p iter8-k8s --test testenv >/dev/null)
echo "k8s integration tests against it: $(since "$t1") s"
a=$(hwm "$pid"); b=0; [ -n "$kcm" ] && b=$(hwm "$kcm")
echo "peak RSS: k8s-testenv $((a / 1024)) MiB, controller-manager $((b / 1024)) MiB, total $(((a + b) / 1024)) MiB"
t2=$(now)
kill "$pid"; wait "$pid" || true
echo "shutdown: $(since "$t2") s"
