package source

import (
	"context"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// CSRs reports the certificates issued through CertificateSigningRequests
// (status.certificate), with the signer and the requestor.
type CSRs struct {
	Scope *Scope
}

// Name implements Source.
func (c *CSRs) Name() string { return "csr" }

// Collect implements Source.
func (c *CSRs) Collect(ctx context.Context, sink Sink) {
	opts := metav1.ListOptions{LabelSelector: c.Scope.LabelSelector}
	list := func(ctx context.Context, _ string, o metav1.ListOptions) (runtime.Object, error) {
		return c.Scope.Client.CertificatesV1().CertificateSigningRequests().List(ctx, o)
	}
	c.Scope.each(ctx, sink, c.Name(), "certificatesigningrequests", false, list, opts, func(obj runtime.Object) {
		csr, ok := obj.(*certificatesv1.CertificateSigningRequest)
		if !ok || len(csr.Status.Certificate) == 0 {
			return
		}
		loc := "csr/" + csr.Name
		sub := &csrSink{Sink: sink, signer: csr.Spec.SignerName, requestor: csr.Spec.Username}
		c.Scope.reportBytes(c.Name(), loc, objectRef(csr, certificatesv1.SchemeGroupVersion.String(), "CertificateSigningRequest", "status.certificate"), csr.Status.Certificate, sub)
	})
}

// csrSink marks what is found through it with the CSR's signer and
// requestor.
type csrSink struct {
	Sink
	signer, requestor string
}

func (c *csrSink) Found(source string, f Found) {
	f.SignerName, f.Requestor = c.signer, c.requestor
	c.Sink.Found(source, f)
}
