#!/usr/bin/env bash
# Installs what the tests need on a fresh machine, idempotently: Debian packages (real
# third-party servers and Chromium), the real Helm/kubectl binaries (tools/fetch-helm.sh).
# Nothing here is committed to the repository; binaries land in .tools/ and system paths.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# The node of the test cluster (tools/k8s-testenv --node) and the runner image
# (tools/build-image.sh): containerd, runc/crun, the CNI loopback and host-local plugins,
# iproute2 (pod networks: tools/k8s-testenv/cni.go), a registry, skopeo, catatonit (the pod
# sandbox), musl-tools (ring's C code for the static musl binary).
pkgs=(python3-httpbin gunicorn nginx python3-grpcio chromium openssl tzdata prometheus faketime
      containerd runc crun containernetworking-plugins iproute2 docker-registry skopeo catatonit musl-tools)
# Chart sources (chartgen/tests/source.rs): an OCI registry (above), htpasswd for its auth,
# nginx (above) as an HTTP chart repository.
pkgs+=(apache2-utils)
# Argo CD in the test cluster (tools/k8s-testenv --argocd): its cache, and git for its repo server.
pkgs+=(redis-server git)
# The JSON report's documented jq one-liners (tests/report_json.rs).
pkgs+=(jq)
# The A/B/n test client (tests/abn/abn_client.py) generates its stubs from runner/proto/abn.proto.
pkgs+=(python3-grpc-tools)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  echo "deps: installing ${missing[*]}" >&2
  $sudo_cmd apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
"$root/tools/fetch-helm.sh" >/dev/null
"$root/tools/fetch-act.sh" >/dev/null
# The large charts of the conformance corpus `large` and bench/chartgen.py (Go modules).
"$root/tests/conformance/fetch-large.sh" >/dev/null
# Server reflection for the route guide gRPC test server (tests/grpc/route_guide_server.py):
# grpcio-reflection is not packaged by Debian; pinned to Debian 12's python3-grpcio (1.51.1),
# pure Python, installed beside the repository (no system site-packages touched).
if [ ! -f "$root/.tools/python/grpc_reflection/v1alpha/reflection.py" ]; then
  /usr/bin/python3 -m pip install -q --disable-pip-version-check --no-deps \
    --target "$root/.tools/python" grpcio-reflection==1.51.1 >&2
fi
# The runner image's static musl binary; without the target build-image.sh falls back to a
# static glibc build and says so.
if command -v rustup >/dev/null && ! rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl; then
  rustup target add x86_64-unknown-linux-musl >&2 || echo "deps: rustup target add x86_64-unknown-linux-musl failed; the image uses a static glibc build" >&2
fi
