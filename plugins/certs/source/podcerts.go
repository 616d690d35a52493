package source

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/expiry"
)

// PodCerts reports the chains issued through PodCertificateRequests
// (status.certificateChain: the pod's certificate, then intermediates),
// with the signer and the pod, service account and node they were issued
// for. A request not issued yet, denied or failed is skipped with the
// reason, and so is a request a newer one of the same pod and signer
// superseded. A note names the pods whose newest certificate (per signer)
// is past status.beginRefreshAt, which the kubelet should have refreshed.
type PodCerts struct {
	Scope *Scope
	// Now is the clock pastRefresh is judged by; time.Now when nil.
	Now func() time.Time
}

// Name implements Source.
func (p *PodCerts) Name() string { return "podcerts" }

// Reasons a PodCertificateRequest is skipped.
const (
	SkipPodCertPending = "pending: the signer has not issued a certificate yet"
	SkipPodCertDenied  = "denied by the signer"
	SkipPodCertFailed  = "failed: the signer could not issue a certificate"
)

// podSigner is one pod's certificates from one signer; a pod gets a new
// request at each refresh, so only the newest issued one is the pod's
// certificate now.
type podSigner struct {
	namespace string
	podUID    string
	signer    string
}

// Collect implements Source. The newest issued request of each pod and
// signer is reported; older ones, which the kubelet replaced at a refresh,
// are skipped as superseded (an old expired one is not a problem). Its
// certificate is judged by its own schedule rather than by --warn-within
// and --critical-within, which a certificate renewed daily would always be
// within: WARNING once past beginRefreshAt (the kubelet should have
// replaced it), CRITICAL halfway from there to notAfter.
func (p *PodCerts) Collect(ctx context.Context, sink Sink) {
	now := time.Now()
	if p.Now != nil {
		now = p.Now()
	}
	opts := metav1.ListOptions{LabelSelector: p.Scope.LabelSelector}
	list := func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
		return p.Scope.Client.CertificatesV1().PodCertificateRequests(ns).List(ctx, o)
	}
	served := servedResource{groupVersion: certificatesv1.SchemeGroupVersion.String(), resource: "podcertificaterequests"}
	newest := map[podSigner]*certificatesv1.PodCertificateRequest{}
	var superseded []*certificatesv1.PodCertificateRequest
	p.Scope.eachServed(ctx, sink, p.Name(), served, true, list, opts, func(obj runtime.Object) {
		pcr, ok := obj.(*certificatesv1.PodCertificateRequest)
		if !ok {
			return
		}
		if pcr.Status.CertificateChain == "" {
			sink.Skipped(p.Name(), pcrLocation(pcr), notIssuedReason(pcr))
			return
		}
		key := podSigner{pcr.Namespace, string(pcr.Spec.PodUID), pcr.Spec.SignerName}
		prev, ok := newest[key]
		switch {
		case !ok:
			newest[key] = pcr
		case newer(pcr, prev):
			newest[key] = pcr
			superseded = append(superseded, prev)
		default:
			superseded = append(superseded, pcr)
		}
	})
	var reported []*certificatesv1.PodCertificateRequest
	for _, pcr := range newest {
		reported = append(reported, pcr)
	}
	sort.Slice(reported, func(i, j int) bool { return pcrLocation(reported[i]) < pcrLocation(reported[j]) })
	var stale []string
	for _, pcr := range reported {
		loc := pcrLocation(pcr)
		info := &api.PodCertificateInfo{
			Namespace:      pcr.Namespace,
			Pod:            pcr.Spec.PodName,
			ServiceAccount: pcr.Spec.ServiceAccountName,
			Node:           string(pcr.Spec.NodeName),
		}
		if t := pcr.Status.BeginRefreshAt; t != nil {
			at := metav1.NewTime(t.UTC())
			info.BeginRefreshAt = &at
			info.PastRefresh = !now.Before(t.Time)
		}
		if info.PastRefresh {
			stale = append(stale, loc)
		}
		p.Scope.reportBytes(p.Name(), loc, objectRef(pcr, certificatesv1.SchemeGroupVersion.String(), "PodCertificateRequest", "status.certificateChain"), []byte(pcr.Status.CertificateChain), &podCertSink{Sink: sink, signer: pcr.Spec.SignerName, info: info})
	}
	sort.Slice(superseded, func(i, j int) bool { return pcrLocation(superseded[i]) < pcrLocation(superseded[j]) })
	for _, pcr := range superseded {
		by := newest[podSigner{pcr.Namespace, string(pcr.Spec.PodUID), pcr.Spec.SignerName}]
		sink.Skipped(p.Name(), pcrLocation(pcr), SkipPodCertSuperseded+" "+pcrLocation(by))
	}
	if len(stale) > 0 {
		sink.Note(PastRefreshNote(stale))
	}
}

// SkipPodCertSuperseded is the reason an older request of a pod and signer
// is skipped, followed by the newer request's location.
const SkipPodCertSuperseded = "superseded: the kubelet refreshed the pod's certificate through"

// newer reports whether a was created after b (by name when at the same
// second, so that the choice does not depend on the list order).
func newer(a, b *certificatesv1.PodCertificateRequest) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return b.CreationTimestamp.Before(&a.CreationTimestamp)
	}
	return a.Name > b.Name
}

func pcrLocation(pcr *certificatesv1.PodCertificateRequest) string {
	return fmt.Sprintf("podcertificaterequest/%s/%s", pcr.Namespace, pcr.Name)
}

// PastRefreshNote names the PodCertificateRequests whose certificate is
// the newest for its pod and signer and is past beginRefreshAt.
func PastRefreshNote(locations []string) string {
	const limit = 5
	shown := locations
	more := ""
	if len(shown) > limit {
		shown, more = shown[:limit], fmt.Sprintf(" and %d more", len(locations)-limit)
	}
	return fmt.Sprintf("%d pod certificate(s) past beginRefreshAt with no newer request for the same pod and signer (%s%s): "+
		"the kubelet should have refreshed them; check that the pods still run, their nodes' kubelets and the signers",
		len(locations), strings.Join(shown, ", "), more)
}

// notIssuedReason is why a request without a chain is skipped: denied or
// failed per its conditions (with the signer's reason and message), or
// pending.
func notIssuedReason(pcr *certificatesv1.PodCertificateRequest) string {
	for _, t := range []struct{ cond, what string }{
		{certificatesv1.PodCertificateRequestConditionTypeDenied, SkipPodCertDenied},
		{certificatesv1.PodCertificateRequestConditionTypeFailed, SkipPodCertFailed},
	} {
		c := meta.FindStatusCondition(pcr.Status.Conditions, t.cond)
		if c == nil || c.Status != metav1.ConditionTrue {
			continue
		}
		var why []string
		if c.Reason != "" {
			why = append(why, c.Reason)
		}
		if m := oneLineMessage(c.Message); m != "" {
			why = append(why, m)
		}
		if len(why) == 0 {
			return t.what
		}
		return t.what + ": " + strings.Join(why, ": ")
	}
	return SkipPodCertPending
}

func oneLineMessage(s string) string { return strings.Join(strings.Fields(s), " ") }

// podCertSink marks what is found through it with the request's signer and
// pod.
type podCertSink struct {
	Sink
	signer string
	info   *api.PodCertificateInfo
	// found counts the certificates reported: the first is the pod's.
	found int
}

func (p *podCertSink) Found(source string, f Found) {
	f.SignerName = p.signer
	f.PodCertificate = p.info.DeepCopy()
	if p.found == 0 && f.Cert != nil && p.info.BeginRefreshAt != nil {
		// The pod's own certificate: judged by its refresh schedule.
		if refresh := f.Cert.NotAfter.Sub(p.info.BeginRefreshAt.Time); refresh > 0 {
			f.Thresholds = &expiry.Thresholds{WarnWithin: refresh, CriticalWithin: refresh / 2}
		}
	}
	p.found++
	p.Sink.Found(source, f)
}
