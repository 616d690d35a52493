#!/usr/bin/env bash
# Builds the pinned binaries the e2e cluster runs, into a git-ignored cache keyed
# by the Kubernetes pin, and prints the cache's bin directory:
#   kube-apiserver, kube-controller-manager, kubeadm   from the tools module in
#     hack/tools (k8s.io/kubernetes at the version its go.mod requires);
#   etcd   from the module in hack/tools/etcd (go.etcd.io/etcd/server/v3 at the
#     version kubeadm deploys for that Kubernetes release, DefaultEtcdVersion in
#     kubeadm's constants: Debian's etcd-server is 3.4, older than any etcd
#     Kubernetes 1.37 supports, and without the watch progress notifications
#     kube-apiserver needs to serve consistent LISTs and watch-lists from its cache).
#
# The first build takes about 8 minutes on 2 cores (etcd: about 1); later runs
# reuse the cache and return at once until a pin changes.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/hack/tools"
version=$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" {print $3}' "$tools/go.mod")
bin="${KUBECERTS_TOOLS_CACHE:-$root/.cache/tools}/kubernetes-$version/bin"

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

# etcd, rebuilt when missing or not the pinned version (etcd --version: "etcd Version: 3.7.0").
etcd_version=$(awk '$1 == "require" && $2 == "go.etcd.io/etcd/server/v3" {print $3}' "$tools/etcd/go.mod")
if [ "$("$bin/etcd" --version 2>/dev/null | awk '/^etcd Version:/ {print "v" $3}')" != "$etcd_version" ]; then
  echo "building etcd $etcd_version into $bin (about a minute)" >&2
  trap 'rm -f "$bin/etcd.tmp.$$"' EXIT
  (cd "$tools/etcd" && CGO_ENABLED=0 go build -trimpath -o "$bin/etcd.tmp.$$" go.etcd.io/etcd/server/v3) >&2
  mv "$bin/etcd.tmp.$$" "$bin/etcd"
  trap - EXIT
fi
echo "$bin"
