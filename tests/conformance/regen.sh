#!/usr/bin/env bash
# Regenerates every conformance golden with real Helm v4.1.4 (fetched by tools/fetch-helm.sh,
# never committed). Sources: cases.txt and micro.txt; see README.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
"$root/tools/fetch-helm.sh" >/dev/null
"$root/.tools/bin/helm" version --short | grep -q '^v4.1.4' || { echo "need Helm v4.1.4" >&2; exit 1; }
exec python3 "$root/tests/conformance/regen.py"
