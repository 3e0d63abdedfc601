#!/usr/bin/env bash
# Release build of the chartgen binary, as we ship it: on Linux (glibc) statically linked and
# position-dependent, like Helm's own Go binary. `chartgen template` runs for a few
# milliseconds, and a dynamically linked build spends a tenth to a quarter of that loading
# libc, libm and libgcc_s and resolving their symbols. Elsewhere it is the plain release build.
# Prints the path of the binary.
#
#   tools/build-release.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
host=$(rustc -vV | sed -n 's/^host: //p')
case "$host" in
  *-linux-gnu)
    # --target keeps these flags off build scripts and proc macros (built for the host).
    RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static" \
      cargo build --release --quiet -p chartgen --bin chartgen --target "$host"
    echo "$root/target/$host/release/chartgen"
    ;;
  *)
    cargo build --release --quiet -p chartgen --bin chartgen
    echo "$root/target/release/chartgen"
    ;;
esac
