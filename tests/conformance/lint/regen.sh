#!/usr/bin/env bash
# Regenerates the `chartgen lint` goldens (stdout, stderr, code) of every case here with real
# Helm v4.1.4 (fetched by tools/fetch-helm.sh, never committed). Each case directory holds a
# `cmd` file: the arguments after `helm lint`, split on whitespace, run from the case directory.
# Goldens write the case directory's absolute path as `$CASE`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
helm="$root/.tools/bin/helm"
[ -x "$helm" ] || "$root/tools/fetch-helm.sh" >/dev/null
"$helm" version --short | grep -q '^v4.1.4' || { echo "need Helm v4.1.4" >&2; exit 1; }
for dir in "$here"/*/; do
  case=$(basename "$dir")
  [ -f "$dir/cmd" ] || continue
  read -r -a args < "$dir/cmd"
  code=0
  (cd "$dir" && HOME="$dir/.home" "$helm" lint "${args[@]}" >stdout 2>stderr) || code=$?
  rm -rf "$dir/.home"
  # The dependency rules print the absolute chart directory: keep goldens machine-independent.
  abs=${dir%/}
  sed -i "s#$abs#\$CASE#g" "$dir/stdout" "$dir/stderr"
  echo "$code" > "$dir/code"
  echo "$case: exit $code"
done
