#!/usr/bin/env bash
# Builds (once, cached) and runs k8s-testenv: a real kube-apiserver + embedded etcd + a
# kube-controller-manager limited to the controllers tests need, all on 127.0.0.1.
#
#   testenv.sh build            build if needed; print the binary's path
#   testenv.sh path             print the cached binary's path, or fail if it is not built
#   testenv.sh start [FLAGS]    build if needed, then run in the foreground: prints the admin
#                               kubeconfig's path on stdout when ready; stops on SIGINT/SIGTERM
#                               or when the calling process exits (FLAGS: see --help). With
#                               --node also a real node (kubelet + containerd, as root), the
#                               scheduler, Job/CronJob controllers and a registry on loopback
#                               (its address in DIR/registry). With --argocd also Argo CD (see
#                               README.md): redis-server, repo server, application controller
#   testenv.sh wait DIR [PID]   wait until `start --dir DIR` (a fresh DIR) is ready; print the
#                               admin kubeconfig's path; fail at once if PID (default: the
#                               pid in DIR/pid) exits, or after ${ITER8_TESTENV_WAIT:-300} s
#   testenv.sh key              print the cache key
#   testenv.sh argocd-build     build Argo CD's multi-binary if needed; print its path
#   testenv.sh apiserver stop|start DIR
#                               stop the API server of `start --dir DIR` (the rest keeps
#                               running; connections are refused), or start it again on the
#                               same port; returns once it is down, or answers /readyz
#
# Cache: ${ITER8_TESTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iter8-k8s-testenv}/<key>/,
# key = Kubernetes version + hash of go.mod, go.sum, the Go sources and the Go version.
# Argo CD: ${ITER8_ARGOCD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iter8-argocd}/<key>/ (argocd and
# its CRDs), key = Argo CD version + hash of argocd/go.mod, go.sum and the Go version.
# ITER8_TESTENV_NO_BUILD=1 makes a missing build an error instead of building.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${ITER8_TESTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iter8-k8s-testenv}

die() { echo "k8s-testenv: error: $*" >&2; exit 1; }

k8s_version() {
  awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v1\./ { print $2; exit }' "$here/go.mod"
}

need_go() {
  command -v go >/dev/null 2>&1 || die "no Go toolchain on PATH; install Go >= 1.24 (go.mod) to build kube-apiserver"
}

cache_key() {
  need_go
  local ver sum
  ver=$(k8s_version)
  [ -n "$ver" ] || die "cannot read the k8s.io/kubernetes version from $here/go.mod"
  sum=$( (cd "$here" && cat go.mod go.sum ./*.go && GOTOOLCHAIN=local go env GOVERSION GOOS GOARCH) | sha256sum | cut -c1-16)
  echo "$ver-$sum"
}

build() {
  local key dir bin ver minor start
  key=$(cache_key)
  dir="$cache_root/$key"
  bin="$dir/k8s-testenv"
  if [ -x "$bin" ]; then echo "$bin"; return 0; fi
  [ "${ITER8_TESTENV_NO_BUILD:-}" != 1 ] || die "k8s-testenv is not built ($bin missing) and ITER8_TESTENV_NO_BUILD=1; run: $0 build"
  mkdir -p "$dir"
  # One build at a time per key; a second caller waits, then finds the binary.
  exec 9>"$dir/.lock"
  flock 9
  if [ -x "$bin" ]; then echo "$bin"; return 0; fi
  ver=$(k8s_version)
  minor=${ver#v1.}; minor=${minor%%.*}
  echo "k8s-testenv: building kube-apiserver $ver (cold builds take minutes; cached in $dir)" >&2
  start=$(date +%s)
  local ld="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $pkg.gitVersion=$ver -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ld="$ld -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  (cd "$here" && GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly \
    go build -trimpath -tags=selinux,notest,grpcnotrace -ldflags "$ld" -o "$bin.tmp" .) \
    || { rm -f "$bin.tmp"; die "go build failed (see above)"; }
  mv "$bin.tmp" "$bin"
  # Keep the three newest builds (about 120 MB each).
  ls -1dt "$cache_root"/v*/ 2>/dev/null | tail -n +4 | xargs -r rm -rf
  echo "k8s-testenv: built in $(( $(date +%s) - start ))s: $bin" >&2
  echo "$bin"
}

argocd_root=${ITER8_ARGOCD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/iter8-argocd}

argocd_version() {
  awk '$1 == "github.com/argoproj/argo-cd/v3" && $2 ~ /^v3\./ { print $2; exit }' "$here/argocd/go.mod"
}

argocd_key() {
  need_go
  local ver sum
  ver=$(argocd_version)
  [ -n "$ver" ] || die "cannot read the github.com/argoproj/argo-cd/v3 version from $here/argocd/go.mod"
  sum=$( (cd "$here/argocd" && cat go.mod go.sum && GOTOOLCHAIN=local go env GOVERSION GOOS GOARCH) | sha256sum | cut -c1-16)
  echo "$ver-$sum"
}

# Argo CD's own `cmd` (one binary; the command is chosen by its name) from the wrapper module
# argocd/, stamped with the version as Argo CD's Makefile does, and the CRDs of that module.
argocd_build() {
  local key dir ver pkg start
  key=$(argocd_key)
  dir="$argocd_root/$key"
  if [ -x "$dir/argocd" ] && [ -f "$dir/crds/application-crd.yaml" ]; then echo "$dir"; return 0; fi
  [ "${ITER8_TESTENV_NO_BUILD:-}" != 1 ] || die "Argo CD is not built ($dir/argocd missing) and ITER8_TESTENV_NO_BUILD=1; run: $0 argocd-build"
  mkdir -p "$dir"
  exec 8>"$dir/.lock"
  flock 8
  if [ -x "$dir/argocd" ] && [ -f "$dir/crds/application-crd.yaml" ]; then echo "$dir"; return 0; fi
  ver=$(argocd_version)
  echo "k8s-testenv: building Argo CD $ver (cold builds take many minutes; cached in $dir)" >&2
  start=$(date +%s)
  pkg=github.com/argoproj/argo-cd/v3/common
  (cd "$here/argocd" && GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly \
    go build -trimpath -ldflags "-s -w -X $pkg.version=${ver#v} -X $pkg.gitTag=$ver -X $pkg.gitTreeState=clean" \
    -o "$dir/argocd.tmp" github.com/argoproj/argo-cd/v3/cmd) \
    || { rm -f "$dir/argocd.tmp"; die "go build of Argo CD failed (see above)"; }
  local src
  src=$(cd "$here/argocd" && GOTOOLCHAIN=local GOFLAGS=-mod=readonly go list -m -f '{{.Dir}}' github.com/argoproj/argo-cd/v3) \
    || die "cannot locate the Argo CD module"
  mkdir -p "$dir/crds"
  cp "$src"/manifests/crds/*-crd.yaml "$dir/crds/" && chmod u+w "$dir"/crds/*.yaml
  mv "$dir/argocd.tmp" "$dir/argocd"
  # Keep the two newest builds (about 200 MB each).
  ls -1dt "$argocd_root"/v*/ 2>/dev/null | tail -n +3 | xargs -r rm -rf
  echo "k8s-testenv: built Argo CD in $(( $(date +%s) - start ))s: $dir/argocd" >&2
  echo "$dir"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  build) build ;;
  key) cache_key ;;
  argocd-build) echo "$(argocd_build)/argocd" ;;
  path)
    bin="$cache_root/$(cache_key)/k8s-testenv"
    [ -x "$bin" ] || die "not built: $bin (run: $0 build)"
    echo "$bin" ;;
  wait)
    dir=${1:?usage: testenv.sh wait DIR [PID]}; pid=${2:-}
    limit=${ITER8_TESTENV_WAIT:-300}; t0=$(date +%s)
    until [ -s "$dir/ready" ]; do
      [ -n "$pid" ] || pid=$(cat "$dir/pid" 2>/dev/null || true)
      if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
        echo "k8s-testenv: error: process $pid exited before it was ready; last log lines:" >&2
        tail -n 20 "$dir/control-plane.log" >&2 2>/dev/null || true
        exit 1
      fi
      [ $(( $(date +%s) - t0 )) -lt "$limit" ] || die "not ready after ${limit}s (log: $dir/control-plane.log)"
      sleep 0.1
    done
    cat "$dir/ready" ;;
  apiserver)
    action=${1:-}; dir=${2:-}
    case "$action" in stop) sig=USR1 want=stopped ;; start) sig=USR2 want=running ;;
      *) die "usage: testenv.sh apiserver stop|start DIR" ;; esac
    [ -n "$dir" ] && [ -s "$dir/pid" ] || die "apiserver $action: no $dir/pid (not a --dir of testenv.sh start)"
    pid=$(cat "$dir/pid")
    kill -0 "$pid" 2>/dev/null || die "apiserver $action: process $pid of $dir is not running"
    rm -f "$dir/apiserver"
    kill -"$sig" "$pid"
    limit=${ITER8_TESTENV_WAIT:-120}; t0=$(date +%s)
    until [ "$(cat "$dir/apiserver" 2>/dev/null)" = "$want" ]; do
      kill -0 "$pid" 2>/dev/null || die "apiserver $action: process $pid exited (log: $dir/control-plane.log)"
      [ $(( $(date +%s) - t0 )) -lt "$limit" ] || die "apiserver $action: not $want after ${limit}s (log: $dir/control-plane.log)"
      sleep 0.1
    done ;;
  start)
    # Record our pid (the binary keeps it across exec) so that waiters can tell a failed
    # build or start from a slow one.
    prev=
    for a in "$@"; do
      case "$prev:$a" in
        --dir:*|-dir:*) mkdir -p "$a" && echo $$ >"$a/pid" ;;
        *:--dir=*|*:-dir=*) mkdir -p "${a#*=}" && echo $$ >"${a#*=}/pid" ;;
      esac
      prev=$a
    done
    bin=$(build)
    # --argocd: build (or find) Argo CD and hand the binary, its CRDs and Helm to the binary.
    args=()
    for a in "$@"; do
      case "$a" in
        --argocd|-argocd)
          adir=$(argocd_build)
          root=$(cd "$here/../.." && pwd)
          [ -x "$root/.tools/bin/helm" ] || "$root/tools/fetch-helm.sh" >/dev/null \
            || die "--argocd needs Helm (tools/fetch-helm.sh failed)"
          export PATH="$root/.tools/bin:$PATH"
          args+=(--argocd-bin="$adir/argocd" --argocd-crds="$adir/crds") ;;
        *) args+=("$a") ;;
      esac
    done
    set -- "${args[@]}"
    for a in "$@"; do
      case "$a" in
        --node|-node|--node=true|-node=true)
          # The pod sandbox image: Debian's static catatonit in pause mode, one layer, built
          # reproducibly by the same tool as the runner image.
          command -v catatonit >/dev/null || die "--node needs catatonit (Debian package catatonit) for the pod sandbox image"
          command -v python3 >/dev/null || die "--node needs python3 to write the pod sandbox image"
          pause="$cache_root/pause-$(sha256sum "$(command -v catatonit)" "$here/../oci-image.py" | sha256sum | cut -c1-16)"
          if [ ! -f "$pause/index.json" ]; then
            mkdir -p "$cache_root"
            python3 "$here/../oci-image.py" --out "$pause" --epoch 0 --ref-name 1 \
              --entrypoint /catatonit --entrypoint=-P --file "$(command -v catatonit):/catatonit:0755" \
              --user 65535:65535 >/dev/null || die "writing the pod sandbox image failed"
          fi
          set -- "$@" --pause-layout="$pause"
          break ;;
      esac
    done
    # exec: the binary's parent is our caller, whose exit it watches.
    exec "$bin" "$@" ;;
  *) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
