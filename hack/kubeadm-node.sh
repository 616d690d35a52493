# shellcheck shell=bash
# Sourced by hack/bench-pki-dir.sh and hack/bench-startup.sh: a kubeadm node's
# /etc/kubernetes, made by kubeadm itself, so that kubeadm certs check-expiration
# and kubectl certs check --pki-dir read the same files.
#
# kubeadm certs check-expiration reads the kubeconfig files from /etc/kubernetes with no
# flag to change it, so the node lives in a directory kubeadm is chrooted into (--rootfs);
# that needs root, or a user namespace (unshare -r) otherwise.
#
#   find_kubeadm [build]  sets kubeadm: $KUBEADM, else $KUBECERTS_TOOLS_BIN/kubeadm, else the
#                         one hack/build-tools.sh caches (building it first if "build" is
#                         given); and chroot_run, the prefix that runs kubeadm chrooted.
#   make_node DIR         kubeadm init phase certs all and kubeconfig all into
#                         DIR/etc/kubernetes (config: /etc/kubernetes/kubeadm.yaml inside);
#                         sets node=DIR and expiration, the kubeadm certs check-expiration
#                         command on it.
# The caller sets root (the repository).

find_kubeadm() {
  if [ -n "${KUBEADM:-}" ]; then
    kubeadm=$KUBEADM
  elif [ -n "${KUBECERTS_TOOLS_BIN:-}" ]; then
    kubeadm=$KUBECERTS_TOOLS_BIN/kubeadm
  elif [ "${1:-}" = build ]; then
    kubeadm=$("$root/hack/build-tools.sh" | tail -1)/kubeadm
  else
    local version
    version=$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" {print $3}' "$root/hack/tools/go.mod")
    kubeadm=${KUBECERTS_TOOLS_CACHE:-$root/.cache/tools}/kubernetes-$version/bin/kubeadm
  fi
  [ -x "$kubeadm" ] || {
    echo "no kubeadm at $kubeadm: set KUBEADM or KUBECERTS_TOOLS_BIN, or run hack/build-tools.sh" >&2
    exit 1
  }
  chroot_run=()
  if [ "$(id -u)" != 0 ]; then chroot_run=(unshare -r); fi
}

make_node() {
  node=$1
  mkdir -p "$node/etc/kubernetes/pki"
  cat >"$node/etc/kubernetes/kubeadm.yaml" <<YAML
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: 10.0.0.10
nodeRegistration:
  name: node-a
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: $("$kubeadm" version -o short)
certificatesDir: /etc/kubernetes/pki
YAML
  "${chroot_run[@]}" "$kubeadm" --rootfs "$node" init phase certs all --config /etc/kubernetes/kubeadm.yaml >/dev/null
  "${chroot_run[@]}" "$kubeadm" --rootfs "$node" init phase kubeconfig all --config /etc/kubernetes/kubeadm.yaml >/dev/null
  expiration=("${chroot_run[@]}" "$kubeadm" --rootfs "$node" certs check-expiration --config /etc/kubernetes/kubeadm.yaml)
}
