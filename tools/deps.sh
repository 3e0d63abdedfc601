#!/usr/bin/env bash
# Installs what the tests need on a fresh machine, idempotently: Debian packages (real
# third-party servers and Chromium), the real Helm/kubectl binaries (tools/fetch-helm.sh).
# Nothing here is committed to the repository; binaries land in .tools/ and system paths.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pkgs=(python3-httpbin gunicorn chromium openssl tzdata prometheus faketime)
# Chart sources (chartgen/tests/source.rs): an OCI registry, htpasswd for its auth, nginx as
# an HTTP chart repository.
pkgs+=(docker-registry apache2-utils nginx-light)
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
