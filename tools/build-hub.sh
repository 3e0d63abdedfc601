#!/usr/bin/env bash
# Rebuild the chart repository in hub/ from charts/: package every chart with chartgen and
# regenerate hub/index.yaml (merging the old one, so earlier versions stay listed).
# Archives are reproducible: their times come from the last commit that touched charts/
# (SOURCE_DATE_EPOCH), so an unchanged chart gives the same archive and digest.
# With `--push oci://HOST/PATH [chartgen push flags...]`, every archive in hub/ is also pushed
# to that OCI registry (as PATH/<name>:<version>), so the hub is published both ways.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --quiet -p chartgen --bin chartgen
chartgen="$root/target/debug/chartgen"
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct -- charts/ 2>/dev/null || true)
  export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-0}
fi
mkdir -p hub
for chart in charts/*/; do
  "$chartgen" package "$chart" -d hub
done
"$chartgen" repo index hub --merge hub/index.yaml
echo "hub/ rebuilt: $(ls hub/*.tgz | wc -l) archive(s) listed in hub/index.yaml"
if [ "${1:-}" = "--push" ]; then
  remote=${2:?usage: tools/build-hub.sh [--push oci://host/path [flags]]}
  shift 2
  for tgz in hub/*.tgz; do
    "$chartgen" push "$tgz" "$remote" "$@"
  done
fi
