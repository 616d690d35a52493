// Package v1alpha1 holds the kinds kubecerts prints with -o json|yaml, in the
// API group kubecerts.io/v1alpha1. Every object printed carries apiVersion and
// kind, so scripts can rely on its shape; docs/api.md documents each kind.
//
// +k8s:deepcopy-gen=package
// +groupName=kubecerts.io
package v1alpha1
