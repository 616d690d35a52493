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
)

// PodCerts reports the chains issued through PodCertificateRequests
// (status.certificateChain: the pod's certificate, then intermediates),
// with the signer and the pod, service account and node they were issued
// for. A request not issued yet, denied or failed is skipped with the
// reason. A note names the pods whose newest certificate (per signer) is
// past status.beginRefreshAt, which the kubelet should have refreshed.
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
// request at each refresh, so only the newest issued one says whether the
// kubelet refreshed.
type podSigner struct {
	namespace string
	podUID    string
	signer    string
}

type newestRequest struct {
	created     time.Time
	location    string
	pastRefresh bool
}

// Collect implements Source.
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
	newest := map[podSigner]newestRequest{}
	p.Scope.eachServed(ctx, sink, p.Name(), served, true, list, opts, func(obj runtime.Object) {
		pcr, ok := obj.(*certificatesv1.PodCertificateRequest)
		if !ok {
			return
		}
		loc := fmt.Sprintf("podcertificaterequest/%s/%s", pcr.Namespace, pcr.Name)
		if pcr.Status.CertificateChain == "" {
			sink.Skipped(p.Name(), loc, notIssuedReason(pcr))
			return
		}
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
		key := podSigner{pcr.Namespace, string(pcr.Spec.PodUID), pcr.Spec.SignerName}
		if prev, ok := newest[key]; !ok || prev.created.Before(pcr.CreationTimestamp.Time) {
			newest[key] = newestRequest{created: pcr.CreationTimestamp.Time, location: loc, pastRefresh: info.PastRefresh}
		}
		reportBytes(p.Name(), loc, []byte(pcr.Status.CertificateChain), &podCertSink{Sink: sink, signer: pcr.Spec.SignerName, info: info})
	})
	var stale []string
	for _, n := range newest {
		if n.pastRefresh {
			stale = append(stale, n.location)
		}
	}
	if len(stale) > 0 {
		sort.Strings(stale)
		sink.Note(PastRefreshNote(stale))
	}
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
}

func (p *podCertSink) Found(source string, f Found) {
	f.SignerName = p.signer
	f.PodCertificate = p.info.DeepCopy()
	p.Sink.Found(source, f)
}
