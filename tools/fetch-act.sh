#!/usr/bin/env bash
# Builds nektos/act (runs GitHub Actions workflows locally) from its Go module at a pinned
# version into .tools/bin/act (never committed), for the test of our GitHub Action
# (tests/github_action.rs). It runs workflows on this host (`-P ubuntu-latest=-self-hosted`),
# so no container engine is needed. Idempotent: does nothing when that version is there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=v0.2.89
bin="$root/.tools/bin"
mkdir -p "$bin"
stamp="$bin/.act-$version"
if [ -x "$bin/act" ] && [ -e "$stamp" ]; then
  echo "$bin/act"
  exit 0
fi
GOBIN="$bin" GOFLAGS=-mod=mod go install -trimpath "github.com/nektos/act@$version" >&2
touch "$stamp"
echo "$bin/act"
