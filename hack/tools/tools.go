//go:build tools

// Package tools pins the Kubernetes binaries the e2e test cluster runs:
// kube-apiserver, kube-controller-manager and kubeadm, built from
// k8s.io/kubernetes at the version in go.mod. It is a module of its own so
// that the project's go.mod never depends on k8s.io/kubernetes.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubeadm"
)
