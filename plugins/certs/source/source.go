// Package source finds the certificates kubectl certs check reports. Each
// Source reads one kind of place (a kubeconfig, a TLS endpoint, files, a
// kubeadm or k3s PKI directory, …) and hands what it finds to a Sink; a
// Collector is the Sink that turns findings into a CertificateReport.
package source

import (
	"context"
	"crypto/x509"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/expiry"
)

// Found is one certificate a source found.
type Found struct {
	Cert *x509.Certificate
	// Description stands for Cert when a source gets a certificate's fields
	// rather than the certificate (nodes: what openssl printed on the node).
	// It is used when Cert is nil: the Collector keeps its fields, sets
	// source and location as for Cert, and judges status and residual time
	// from NotBefore (zero: not known) and NotAfter. A Found with neither is
	// ignored.
	Description *api.Certificate
	// Location is where, in words a person can act on: a file path, a
	// kubeconfig user or cluster, an endpoint and chain position.
	Location string
	// Name is the certificate's name in its source, when it has one
	// (kubeadm's apiserver, etcd-ca, admin.conf, …).
	Name string
	// CAName names the CA that signed it, where the source knows it.
	CAName string
	// ExternallyManaged is true when the signing CA's key is absent.
	ExternallyManaged bool
	// SignerName and Requestor of the CSR it was issued through.
	SignerName, Requestor string
	// Object is the Kubernetes object it was read from (in-cluster
	// sources; the Node for node and kubelet certificates).
	Object *api.ObjectReference
	// Chain is set for certificates a TLS server presented.
	Chain *api.ChainInfo
	// Kubelet is set by the kubelets source, PodCertificate by podcerts.
	Kubelet        *api.KubeletInfo
	PodCertificate *api.PodCertificateInfo
	// Thresholds, when set, judge this certificate instead of the report's
	// (--warn-within, --critical-within): a certificate with a refresh
	// schedule of its own (a pod's, renewed daily) is judged by it.
	Thresholds *expiry.Thresholds
	// Notes for people about this certificate.
	Notes []string
}

// Sink receives what sources find. Implementations are safe for concurrent
// use: sources run concurrently.
type Sink interface {
	// Found reports a certificate.
	Found(source string, f Found)
	// Error reports a location that could not be read; the other locations
	// of the source go on.
	Error(source, location string, err error)
	// Skipped reports a location that was looked for and is absent, or left
	// out on purpose, with the reason. It is not an error.
	Skipped(source, location, reason string)
	// Note reports a finding that concerns more than one certificate.
	Note(note string)
}

// Source is one kind of place certificates are found in.
type Source interface {
	// Name is the source's name as --source takes it.
	Name() string
	// Collect reads the source and reports to sink until done or ctx ends.
	Collect(ctx context.Context, sink Sink)
}
