#!/usr/bin/env bash
# Fetches the large real-world charts of the `large` conformance corpus and the chartgen
# benchmark from the Go module proxy (each chart ships inside its project's Go module; see
# large-charts.md for sources, versions and licences). Nothing fetched is committed: the
# modules stay in Go's module cache (read-only, verified against go.sum's checksum database)
# and .tools/large-charts/<name> links to each chart folder. Idempotent and cached: a second
# run only checks the links. Prints the folder of the links.
#
#   tests/conformance/fetch-large.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/.tools/large-charts"
mkdir -p "$out"
command -v go >/dev/null || { echo "fetch-large: no Go toolchain on PATH (the charts come from the Go module proxy)" >&2; exit 1; }

# name  module@version  chart folder inside the module
charts=(
  "cert-manager github.com/cert-manager/cert-manager@v1.21.2 deploy/charts/cert-manager"
  "kyverno github.com/kyverno/kyverno@v1.13.4 charts/kyverno"
  "istio-base istio.io/istio@v0.0.0-20260827124520-eed52ebb66ad manifests/charts/base"
  "istiod istio.io/istio@v0.0.0-20260827124520-eed52ebb66ad manifests/charts/istio-control/istio-discovery"
  "cilium github.com/cilium/cilium@v1.20.2 install/kubernetes/cilium"
)
for line in "${charts[@]}"; do
  read -r name mod sub <<<"$line"
  link="$out/$name"
  case "$(readlink "$link" 2>/dev/null || true)" in
    */"$mod/$sub") [ -f "$link/Chart.yaml" ] && continue ;;
  esac
  dir=$(GOFLAGS=-mod=mod go mod download -json "$mod" \
        | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d["Error"]) if "Error" in d else print(d["Dir"])')
  [ -f "$dir/$sub/Chart.yaml" ] || { echo "fetch-large: $mod has no chart at $sub" >&2; exit 1; }
  ln -sfn "$dir/$sub" "$link"
done
echo "$out"
