#!/usr/bin/env bash
# Builds the runner image without a container engine and prints the path of its OCI image
# layout: a static `iter8` binary (musl; glibc +crt-static when the musl target is missing) as
# the entrypoint, user 65532:65532, no shell, no package manager. TLS roots are compiled into
# the binary (webpki-root-certs), so the image carries no CA bundle. Reproducible: the same
# commit gives the same image digest (SOURCE_DATE_EPOCH = the commit's time; see
# tools/oci-image.py for the layer and JSON rules).
#
#   tools/build-image.sh [--out DIR] [--push HOST:PORT/REPO[:TAG]]
#
#   --out DIR     where the layout goes (default target/image/iter8)
#   --push REF    also copy the image to a registry with skopeo, keeping its digest
#                 (plain HTTP for 127.0.0.1/localhost registries)
#
# The manifest digest (for charts/iter8's iter8ImageDigest) goes to stderr and to
# DIR/../iter8.digest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

die() { echo "build-image: error: $*" >&2; exit 1; }

out="$root/target/image/iter8"
push=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) [ $# -ge 2 ] || die "--out needs a directory"; out=$2; shift 2 ;;
    --out=*) out=${1#*=}; shift ;;
    --push) [ $# -ge 2 ] || die "--push needs HOST:PORT/REPO[:TAG]"; push=$2; shift 2 ;;
    --push=*) push=${1#*=}; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac

version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
[ -n "$version" ] || die "cannot read [workspace.package] version from Cargo.toml"
revision=$(git rev-parse HEAD 2>/dev/null) || die "not a git checkout: the image's revision label and SOURCE_DATE_EPOCH come from the commit"
[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] || revision="$revision-dirty"
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
source_url=$(sed -n 's/^home: //p' charts/iter8/Chart.yaml)

# The binary. Paths are remapped so that where the checkout and the cargo home live does not
# change the bytes.
musl=x86_64-unknown-linux-musl
flags="--remap-path-prefix=$root=/iter8 --remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo"
if [ -d "$(rustc --print sysroot)/lib/rustlib/$musl" ]; then
  target=$musl
  RUSTFLAGS="$flags -C target-feature=+crt-static" \
    cargo build --release --locked --quiet --target "$target" --bin iter8
  bin="$root/target/$target/release/iter8"
else
  # A separate target dir: tools/build-release.sh builds the host target with other flags.
  target=$(rustc -vV | sed -n 's/^host: //p')
  echo "build-image: the $musl target is not installed (rustup target add $musl); using a static glibc build" >&2
  RUSTFLAGS="$flags -C target-feature=+crt-static" \
    cargo build --release --locked --quiet --target "$target" --bin iter8 --target-dir "$root/target/image-build"
  bin="$root/target/image-build/$target/release/iter8"
fi
file_out=$(file -b "$bin" 2>/dev/null || true)
case "$file_out" in *dynamically*) die "$bin is dynamically linked ($file_out)" ;; esac
mkdir -p "$(dirname "$out")"
# Symbols off here rather than in the cargo profile, which would rebuild every crate.
stripped="$(dirname "$out")/$(basename "$out").iter8"
strip --strip-all -o "$stripped" "$bin" || die "strip $bin failed (binutils)"

digest=$(python3 tools/oci-image.py --out "$out" --epoch "$epoch" --ref-name "$version" \
  --entrypoint /usr/local/bin/iter8 \
  --file "$stripped:/usr/local/bin/iter8:0755" \
  --dir /tmp:1777 --dir /home/iter8:0700:65532:65532 \
  --user 65532:65532 --workdir /home/iter8 \
  --env PATH=/usr/local/bin --env HOME=/home/iter8 \
  --label "org.opencontainers.image.source=$source_url" \
  --label "org.opencontainers.image.version=$version" \
  --label "org.opencontainers.image.revision=$revision" \
  --label "org.opencontainers.image.title=iter8" \
  --label "org.opencontainers.image.licenses=Apache-2.0")
echo "$digest" >"$(dirname "$out")/$(basename "$out").digest"
echo "build-image: $out ($target, $(du -sh "$out" | cut -f1)), digest $digest" >&2

if [ -n "$push" ]; then
  command -v skopeo >/dev/null || die "--push needs skopeo (Debian package skopeo)"
  tls=()
  case "$push" in 127.0.0.1:*|localhost:*|localhost/*) tls=(--dest-tls-verify=false) ;; esac
  skopeo copy --quiet --preserve-digests "${tls[@]}" "oci:$out:$version" "docker://$push" \
    || die "skopeo copy to docker://$push failed"
fi
echo "$out"
