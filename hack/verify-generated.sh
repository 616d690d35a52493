#!/usr/bin/env bash
# Fails when `make generate` would change the generated deepcopy code.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
file=shared/api/v1alpha1/zz_generated.deepcopy.go
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$file" "$tmp/before"
make -s generate >/dev/null
if ! diff -u "$tmp/before" "$file"; then
  cp "$tmp/before" "$file"
  echo "$file is out of date: run make generate and commit the result" >&2
  exit 1
fi
