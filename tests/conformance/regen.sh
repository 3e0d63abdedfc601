#!/usr/bin/env bash
# Regenerates the conformance goldens of the given profiles (default: all: 4.3 4.1 3.21 3.11),
# each with its own real Helm (fetched or built by tools/fetch-helm.sh, never committed).
# Sources: cases.txt and micro.txt; see README.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
"$root/tools/fetch-helm.sh" >/dev/null
"$root/tests/conformance/fetch-large.sh" >/dev/null
exec python3 "$root/tests/conformance/regen.py" "$@"
