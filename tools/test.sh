#!/usr/bin/env bash
# The project's test command: installs what the tests need (tools/deps.sh), starts a real
# kube-apiserver (tools/k8s-testenv), then runs format and lint checks and every test.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/tools/deps.sh"
export PATH="$root/.tools/bin:$PATH"
# A test run builds once: incremental caches only cost disk (gigabytes) and time here.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}

# Stops the control planes this script started (the node one first) and removes their state.
cleanup() {
  for pid in ${node_pid:-} ${testenv_pid:-}; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf ${nodedir:+"$nodedir"} ${envdir:+"$envdir"}
}
trap 'cleanup' EXIT
# One real kube-apiserver (+ etcd, lite controller manager) for the whole run; built from the Go
# module proxy on the first run (cached by version and go.sum), a few seconds when warm.
if [ -z "${ITER8_TESTENV_KUBECONFIG:-}" ] && [ -x tools/k8s-testenv/testenv.sh ]; then
  envdir=$(mktemp -d)
  echo "== k8s-testenv (build if needed, start)"
  tools/k8s-testenv/testenv.sh build >/dev/null
  tools/k8s-testenv/testenv.sh start --dir "$envdir/state" >"$envdir/testenv.out" 2>"$envdir/testenv.err" &
  testenv_pid=$!
  ITER8_TESTENV_KUBECONFIG=$(tools/k8s-testenv/testenv.sh wait "$envdir/state" "$testenv_pid") \
    || { cat "$envdir/testenv.err" >&2; exit 1; }
  export ITER8_TESTENV_KUBECONFIG
fi

# A second control plane with a real node (kubelet + containerd, as root; tools/k8s-testenv
# --node) for the tests that run experiments inside real Jobs (tests/k8s_node.rs), and Argo CD
# on it (--argocd: tests/argocd.rs); the same cached binaries, started in the background while
# the tests compile (Argo CD's build is cached too: testenv.sh argocd-build).
if [ -z "${ITER8_TESTENV_NODE_DIR:-}" ] && [ -x tools/k8s-testenv/testenv.sh ]; then
  nodedir=$(mktemp -d)
  tools/k8s-testenv/testenv.sh start --node --argocd --dir "$nodedir/state" >"$nodedir/testenv.out" 2>"$nodedir/testenv.err" &
  node_pid=$!
  export ITER8_TESTENV_NODE_DIR="$nodedir/state"
  export ITER8_TESTENV_ARGOCD_DIR="$nodedir/state"
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== cargo test"
cargo test --workspace --quiet
echo "== date-sensitive tests a year ahead and a year back (tools/clock-check.sh)"
tools/clock-check.sh
echo "== release chartgen (tools/build-release.sh) renders as the tested build does"
release=$(tools/build-release.sh)
out=$(mktemp -d)
for args in "charts/iter8 --set tasks={http,assess} --set http.url=http://x/get --set assess.SLOs.upper.http/error-count=0" \
            "../shared/conformance/charts/ingress-nginx"; do
  # shellcheck disable=SC2086 # the arguments are words
  "$release" template rel $args | grep -v startTime: >"$out/release.yaml"
  # shellcheck disable=SC2086
  target/debug/chartgen template rel $args | grep -v startTime: >"$out/test.yaml"
  [ -s "$out/release.yaml" ] && cmp "$out/release.yaml" "$out/test.yaml"
done
rm -rf "$out"
