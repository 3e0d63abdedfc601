#!/usr/bin/env bash
# Rebuild the chart repository in hub/ from charts/: package every chart with chartgen and
# regenerate hub/index.yaml (merging the old one, so earlier versions stay listed).
# Archives are reproducible: their times come from the last commit that touched charts/
# (SOURCE_DATE_EPOCH); a version already in hub/ keeps its archive and digest.
# The iter8 chart must be 0.13.N (N > 7) so that v0.13's default range `0.13.x` finds it.
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
# Iter8 v0.13 clients (and ours, without --version) ask the hub for iter8 at `0.13.x`: the
# iter8 chart is published as 0.13.N (N above upstream's last, 0.13.7; docs/charts.md).
iter8_version=$(sed -n 's/^version: *//p' charts/iter8/Chart.yaml | tr -d '"')
case "$iter8_version" in
  0.13.[0-7]) echo "charts/iter8 is $iter8_version: upstream Iter8 published that version; use 0.13.8 or later" >&2; exit 1 ;;
  0.13.*) ;;
  *) echo "charts/iter8 is $iter8_version: Iter8 v0.13 asks the hub for 0.13.x (docs/charts.md)" >&2; exit 1 ;;
esac
mkdir -p hub
# A published version never changes: an archive already in hub/ is kept when the chart's
# files are unchanged (only its times would differ), and a changed chart that kept its
# version is refused, naming the chart and the version to bump.
fresh=$(mktemp -d)
trap 'rm -rf "$fresh"' EXIT
for chart in charts/*/; do
  "$chartgen" package "$chart" -d "$fresh" > /dev/null
done
for tgz in "$fresh"/*.tgz; do
  name=$(basename "$tgz")
  if [ -e "hub/$name" ]; then
    if ! python3 "$root/tools/same-archive.py" "hub/$name" "$tgz"; then
      echo "hub/$name is published and charts/ changed since: bump the chart's version in its Chart.yaml" >&2
      exit 1
    fi
  else
    cp "$tgz" "hub/$name"
    echo "packaged hub/$name"
  fi
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
