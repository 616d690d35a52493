#!/usr/bin/env bash
# Builds the pinned Kubernetes binaries the e2e cluster runs (kube-apiserver,
# kube-controller-manager, kubeadm) from the tools module in hack/tools, into a
# git-ignored cache keyed by the pin, and installs etcd from Debian's
# etcd-server package when it is missing. Prints the cache's bin directory.
#
# The first build takes about 8 minutes on 2 cores; later runs reuse the cache
# and return at once until the k8s.io/kubernetes pin in hack/tools/go.mod changes.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/hack/tools"
version=$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" {print $3}' "$tools/go.mod")
bin="${KUBECERTS_TOOLS_CACHE:-$root/.cache/tools}/kubernetes-$version/bin"

if ! command -v etcd >/dev/null 2>&1 && [ ! -x /usr/bin/etcd ]; then
  echo "installing etcd-server with apt-get" >&2
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq etcd-server >&2
fi

missing=0
for b in kube-apiserver kube-controller-manager kubeadm; do
  [ -x "$bin/$b" ] || missing=1
done
# Binaries built without the version stamp below report v0.0.0-master+$Format:%H$,
# which clients fail to parse (kubectl version exits 1): rebuild them.
if [ "$missing" = 0 ] && [ "$("$bin/kube-apiserver" --version 2>/dev/null)" != "Kubernetes $version" ]; then
  missing=1
fi
if [ "$missing" = 1 ]; then
  echo "building Kubernetes $version binaries into $bin (first time: about 8 minutes)" >&2
  tmp="$bin.tmp.$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  trap 'rm -rf "$tmp"' EXIT
  # The version stamp Kubernetes' own build sets (hack/lib/version.sh).
  major=$(echo "${version#v}" | cut -d. -f1); minor=$(echo "$version" | cut -d. -f2)
  pkg=k8s.io/component-base/version
  ldflags="-X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  (cd "$tools" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp/" \
      k8s.io/kubernetes/cmd/kube-apiserver \
      k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kubeadm) >&2
  mkdir -p "$(dirname "$bin")"
  rm -rf "$bin"; mv "$tmp" "$bin"
  trap - EXIT
fi
echo "$bin"
