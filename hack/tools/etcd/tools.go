//go:build tools

// Package tools pins the etcd the e2e test cluster runs: etcd's server,
// built from go.etcd.io/etcd/server/v3 at the version in go.mod, the version
// kubeadm deploys for the Kubernetes release hack/tools pins
// (DefaultEtcdVersion in kubeadm's constants). It is a module of its own so
// that etcd's dependencies never change those of the Kubernetes binaries.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
)
