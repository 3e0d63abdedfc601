#!/usr/bin/env bash
# The project's test command: installs what the tests need (tools/deps.sh), starts a real
# kube-apiserver (tools/k8s-testenv), then runs format and lint checks and every test.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/tools/deps.sh"
export PATH="$root/.tools/bin:$PATH"

cleanup() { :; }
trap 'cleanup' EXIT
if [ -x tools/k8s-testenv/testenv.sh ] && [ -z "${ITER8_TESTENV_KUBECONFIG:-}" ]; then
  envdir=$(mktemp -d)
  tools/k8s-testenv/testenv.sh start --dir "$envdir" >"$envdir/testenv.log" 2>&1 &
  testenv_pid=$!
  cleanup() { kill "$testenv_pid" 2>/dev/null || true; wait "$testenv_pid" 2>/dev/null || true; }
  export ITER8_TESTENV_DIR="$envdir"
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== cargo test"
cargo test --workspace --quiet
