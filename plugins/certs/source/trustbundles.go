package source

import (
	"context"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// TrustBundles reports every certificate of each ClusterTrustBundle's
// spec.trustBundle, with the bundle's signer (none for a bundle without
// spec.signerName).
type TrustBundles struct {
	Scope *Scope
}

// Name implements Source.
func (b *TrustBundles) Name() string { return "trustbundles" }

// Collect implements Source.
func (b *TrustBundles) Collect(ctx context.Context, sink Sink) {
	opts := metav1.ListOptions{LabelSelector: b.Scope.LabelSelector}
	list := func(ctx context.Context, _ string, o metav1.ListOptions) (runtime.Object, error) {
		return b.Scope.Client.CertificatesV1().ClusterTrustBundles().List(ctx, o)
	}
	served := servedResource{groupVersion: certificatesv1.SchemeGroupVersion.String(), resource: "clustertrustbundles"}
	b.Scope.eachServed(ctx, sink, b.Name(), served, false, list, opts, func(obj runtime.Object) {
		ctb, ok := obj.(*certificatesv1.ClusterTrustBundle)
		if !ok {
			return
		}
		sub := &csrSink{Sink: sink, signer: ctb.Spec.SignerName}
		b.Scope.reportBytes(b.Name(), "clustertrustbundle/"+ctb.Name, objectRef(ctb, certificatesv1.SchemeGroupVersion.String(), "ClusterTrustBundle", "spec.trustBundle"), []byte(ctb.Spec.TrustBundle), sub)
	})
}
