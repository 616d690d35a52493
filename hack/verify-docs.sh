#!/usr/bin/env bash
# Fails when `make docs` would change docs/reference (the command reference
# generated from the cobra commands by hack/gendocs).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# -mod=mod: hack/gendocs is its own module and imports the root one through a
# replace; a dependency the root module gained since its go.sum was written is
# then added to that go.sum instead of failing the check.
(cd "$root/hack/gendocs" && GOFLAGS="${GOFLAGS:-} -mod=mod" go run . -out "$tmp/reference")
if ! diff -ru "$root/docs/reference" "$tmp/reference" >"$tmp/diff"; then
  head -n 60 "$tmp/diff" >&2
  echo "docs/reference is out of date: run make docs and commit the result" >&2
  exit 1
fi
