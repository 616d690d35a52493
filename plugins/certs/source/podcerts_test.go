package source

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate/certtest"
)

// certificatesV1Served makes the fake's discovery serve both resources.
func certificatesV1Served(client *fake.Clientset) {
	client.Resources = []*metav1.APIResourceList{{
		GroupVersion: certificatesv1.SchemeGroupVersion.String(),
		APIResources: []metav1.APIResource{
			{Name: "certificatesigningrequests"}, {Name: "clustertrustbundles"}, {Name: "podcertificaterequests", Namespaced: true},
		},
	}}
}

type entry struct {
	location, subject, signer string
	status                    api.CertificateStatus
}

func entries(r *api.CertificateReport) []entry {
	var out []entry
	for _, c := range r.Certificates {
		out = append(out, entry{c.Location, c.Subject, c.SignerName, c.Status})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].location < out[j].location })
	return out
}

func TestTrustBundles(t *testing.T) {
	ca1, ca2 := certtest.CA(t, "ca-1"), certtest.CA(t, "ca-2")
	now := time.Now()
	expired := certtest.New(t, certtest.Template{CommonName: "old-ca", IsCA: true, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-time.Hour)}, nil)
	bundle := func(name, signer string, pem ...[]byte) *certificatesv1.ClusterTrustBundle {
		var b strings.Builder
		for _, p := range pem {
			b.Write(p)
		}
		return &certificatesv1.ClusterTrustBundle{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       certificatesv1.ClusterTrustBundleSpec{SignerName: signer, TrustBundle: b.String()},
		}
	}
	for _, tc := range []struct {
		name    string
		objects []runtime.Object
		want    []entry
		errors  []string
	}{{
		name:    "one CA, no signer",
		objects: []runtime.Object{bundle("plain", "", ca1.PEM())},
		want:    []entry{{"clustertrustbundle/plain", "CN=ca-1", "", api.StatusOK}},
	}, {
		name: "several bundles, several CAs, one expired, one not PEM",
		objects: []runtime.Object{
			bundle("example.com:foo:v1", "example.com/foo", ca1.PEM(), ca2.PEM()),
			bundle("legacy", "", expired.PEM()),
			bundle("garbage", "", []byte("not PEM at all")),
		},
		want: []entry{
			{"clustertrustbundle/example.com:foo:v1 [0]", "CN=ca-1", "example.com/foo", api.StatusOK},
			{"clustertrustbundle/example.com:foo:v1 [1]", "CN=ca-2", "example.com/foo", api.StatusOK},
			{"clustertrustbundle/legacy", "CN=old-ca", "", api.StatusExpired},
		},
		errors: []string{"trustbundles clustertrustbundle/garbage"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			client := fake.NewClientset(tc.objects...)
			certificatesV1Served(client)
			rec := newRecorder()
			(&TrustBundles{Scope: &Scope{Client: client, ChunkSize: 1}}).Collect(context.Background(), rec)
			r := rec.Report()
			if got := entries(r); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("certificates:\n got %v\nwant %v", got, tc.want)
			}
			var errs []string
			for _, e := range r.Errors {
				errs = append(errs, e.Source+" "+e.Location)
			}
			if fmt.Sprint(errs) != fmt.Sprint(tc.errors) {
				t.Errorf("errors = %+v, want %v", r.Errors, tc.errors)
			}
			if len(r.Notes) != 0 || len(r.Skipped) != 0 {
				t.Errorf("notes %q, skipped %+v; want none", r.Notes, r.Skipped)
			}
		})
	}
}

func TestPodCerts(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	ca := certtest.CA(t, "pod-ca")
	leaf := func(cn string) *certtest.Cert {
		return certtest.New(t, certtest.Template{CommonName: cn, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(23 * time.Hour)}, ca)
	}
	at := func(d time.Duration) *metav1.Time { t := metav1.NewTime(now.Add(d)); return &t }
	pcr := func(ns, name, pod string, created time.Duration, chain []byte, refresh *metav1.Time, conds ...metav1.Condition) *certificatesv1.PodCertificateRequest {
		return &certificatesv1.PodCertificateRequest{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: metav1.NewTime(now.Add(created))},
			Spec: certificatesv1.PodCertificateRequestSpec{
				SignerName: "example.com/pods", PodName: pod, PodUID: types.UID(ns + "-" + pod + "-uid"),
				ServiceAccountName: "sa-" + pod, NodeName: "node-1",
			},
			Status: certificatesv1.PodCertificateRequestStatus{CertificateChain: string(chain), BeginRefreshAt: refresh, Conditions: conds},
		}
	}
	issued := metav1.Condition{Type: certificatesv1.PodCertificateRequestConditionTypeIssued, Status: metav1.ConditionTrue, Reason: "Issued"}
	denied := metav1.Condition{Type: certificatesv1.PodCertificateRequestConditionTypeDenied, Status: metav1.ConditionTrue, Reason: "UnsupportedKeyType", Message: "use ECDSAP256"}
	failed := metav1.Condition{Type: certificatesv1.PodCertificateRequestConditionTypeFailed, Status: metav1.ConditionTrue, Reason: "Backend", Message: "HSM\nunreachable"}
	a, b, c := leaf("pod-a"), leaf("pod-b"), leaf("pod-c")
	chainA := append(a.PEM(), ca.PEM()...)
	objects := []runtime.Object{
		pcr("apps", "a-1", "a", -2*time.Hour, chainA, at(time.Hour), issued),
		// b: past beginRefreshAt, and no newer request: noted.
		pcr("apps", "b-1", "b", -2*time.Hour, b.PEM(), at(-time.Minute), issued),
		// c: an older request past refresh, and its newer one not: no note.
		pcr("apps", "c-1", "c", -3*time.Hour, c.PEM(), at(-time.Hour), issued),
		pcr("apps", "c-2", "c", -time.Hour, c.PEM(), at(time.Hour), issued),
		pcr("apps", "pending", "d", -time.Minute, nil, nil),
		pcr("apps", "denied", "e", -time.Minute, nil, nil, denied),
		pcr("apps", "failed", "f", -time.Minute, nil, nil, failed),
		pcr("other", "x-1", "x", -time.Hour, leaf("pod-x").PEM(), at(-time.Second), issued),
	}
	for _, tc := range []struct {
		name          string
		scope         *Scope
		wantLocations []string
		wantSkipped   []string
		wantNote      string
	}{{
		name:  "namespace apps",
		scope: &Scope{Namespace: "apps"},
		wantLocations: []string{
			"podcertificaterequest/apps/a-1 [0]", "podcertificaterequest/apps/a-1 [1]", "podcertificaterequest/apps/b-1",
			"podcertificaterequest/apps/c-2",
		},
		// c-1 is c's older request, replaced by c-2 at a refresh: skipped
		// whatever its state (it is past beginRefreshAt: no note for it).
		wantSkipped: []string{
			"podcertificaterequest/apps/c-1: " + SkipPodCertSuperseded + " podcertificaterequest/apps/c-2",
			"podcertificaterequest/apps/denied: " + SkipPodCertDenied + ": UnsupportedKeyType: use ECDSAP256",
			"podcertificaterequest/apps/failed: " + SkipPodCertFailed + ": Backend: HSM unreachable",
			"podcertificaterequest/apps/pending: " + SkipPodCertPending,
		},
		wantNote: PastRefreshNote([]string{"podcertificaterequest/apps/b-1"}),
	}, {
		name:  "all namespaces",
		scope: &Scope{Namespace: "apps", AllNamespaces: true},
		wantLocations: []string{
			"podcertificaterequest/apps/a-1 [0]", "podcertificaterequest/apps/a-1 [1]", "podcertificaterequest/apps/b-1",
			"podcertificaterequest/apps/c-2", "podcertificaterequest/other/x-1",
		},
		wantNote: PastRefreshNote([]string{"podcertificaterequest/apps/b-1", "podcertificaterequest/other/x-1"}),
	}, {
		name:          "namespace other",
		scope:         &Scope{Namespace: "other"},
		wantLocations: []string{"podcertificaterequest/other/x-1"},
		wantNote:      PastRefreshNote([]string{"podcertificaterequest/other/x-1"}),
	}} {
		t.Run(tc.name, func(t *testing.T) {
			client := fake.NewClientset(objects...)
			certificatesV1Served(client)
			scope := tc.scope
			scope.Client, scope.ChunkSize = client, 2
			rec := newRecorder()
			(&PodCerts{Scope: scope, Now: func() time.Time { return now }}).Collect(context.Background(), rec)
			r := rec.Report()
			var locs []string
			for _, c := range r.Certificates {
				locs = append(locs, c.Location)
			}
			sort.Strings(locs)
			if fmt.Sprint(locs) != fmt.Sprint(tc.wantLocations) {
				t.Errorf("locations:\n got %q\nwant %q", locs, tc.wantLocations)
			}
			if tc.wantSkipped != nil {
				var skipped []string
				for _, s := range r.Skipped {
					skipped = append(skipped, s.Location+": "+s.Reason)
				}
				if fmt.Sprint(skipped) != fmt.Sprint(tc.wantSkipped) {
					t.Errorf("skipped:\n got %q\nwant %q", skipped, tc.wantSkipped)
				}
			}
			if len(r.Notes) != 1 || r.Notes[0] != tc.wantNote {
				t.Errorf("notes = %q, want [%q]", r.Notes, tc.wantNote)
			}
			if len(r.Errors) != 0 {
				t.Errorf("errors = %+v", r.Errors)
			}
			for _, c := range r.Certificates {
				if c.SignerName != "example.com/pods" || c.PodCertificate == nil {
					t.Errorf("%s: signer %q, podCertificate %+v", c.Location, c.SignerName, c.PodCertificate)
				}
			}
		})
	}

	// The facts of one certificate.
	client := fake.NewClientset(objects...)
	rec := newRecorder()
	(&PodCerts{Scope: &Scope{Client: client, Namespace: "apps"}, Now: func() time.Time { return now }}).Collect(context.Background(), rec)
	seen := false
	// The pod's own certificate is judged by its refresh schedule, not by
	// --critical-within (7d), which a day's certificate is always within:
	// before beginRefreshAt it is OK. The chain's CA (a year left) is
	// judged by the report's thresholds.
	statuses := map[string]api.CertificateStatus{}
	for _, c := range rec.Report().Certificates {
		statuses[c.Location] = c.Status
	}
	if statuses["podcertificaterequest/apps/a-1 [0]"] != api.StatusOK || statuses["podcertificaterequest/apps/c-2"] != api.StatusOK {
		t.Errorf("statuses before beginRefreshAt: %v, want OK", statuses)
	}
	if statuses["podcertificaterequest/apps/a-1 [1]"] != api.StatusOK {
		t.Errorf("the chain's CA (a year left) is %s, want OK by the report's thresholds", statuses["podcertificaterequest/apps/a-1 [1]"])
	}
	for _, c := range rec.Report().Certificates {
		if c.Location != "podcertificaterequest/apps/b-1" {
			continue
		}
		seen = true
		want := api.PodCertificateInfo{Namespace: "apps", Pod: "b", ServiceAccount: "sa-b", Node: "node-1", BeginRefreshAt: at(-time.Minute), PastRefresh: true}
		if got := *c.PodCertificate; got.Namespace != want.Namespace || got.Pod != want.Pod || got.ServiceAccount != want.ServiceAccount ||
			got.Node != want.Node || !got.BeginRefreshAt.Equal(want.BeginRefreshAt) || !got.PastRefresh {
			t.Errorf("podCertificate = %+v, want %+v", got, want)
		}
		// Past beginRefreshAt, with most of its life left: WARNING (the
		// kubelet should have replaced it).
		if c.Subject != "CN=pod-b" || c.Status != api.StatusWarning {
			t.Errorf("subject %q status %s", c.Subject, c.Status)
		}
	}
	if !seen {
		t.Error("no certificate at podcertificaterequest/apps/b-1")
	}
}

// TestNotServed: an API server that does not serve the resources (older
// than 1.37): each source is skipped with a note, not an error; a
// Forbidden list of a served resource stays an error.
func TestNotServed(t *testing.T) {
	gr := func(resource string) schema.GroupResource {
		return schema.GroupResource{Group: certificatesv1.GroupName, Resource: resource}
	}
	for _, tc := range []struct {
		name      string
		discovery []*metav1.APIResourceList
		listErr   func(resource string) error
		wantNotes []string
		wantErrs  int
	}{{
		name:    "404 and no group version in discovery",
		listErr: func(resource string) error { return apierrors.NewNotFound(gr(resource), "") },
		wantNotes: []string{
			NotServedNote("podcerts", "podcertificaterequests", "certificates.k8s.io/v1"),
			NotServedNote("trustbundles", "clustertrustbundles", "certificates.k8s.io/v1"),
		},
	}, {
		name:      "404 and the group version without the resources",
		discovery: []*metav1.APIResourceList{{GroupVersion: "certificates.k8s.io/v1", APIResources: []metav1.APIResource{{Name: "certificatesigningrequests"}}}},
		listErr:   func(resource string) error { return apierrors.NewNotFound(gr(resource), "") },
		wantNotes: []string{
			NotServedNote("podcerts", "podcertificaterequests", "certificates.k8s.io/v1"),
			NotServedNote("trustbundles", "clustertrustbundles", "certificates.k8s.io/v1"),
		},
	}, {
		name:      "forbidden for a resource that is not served",
		discovery: []*metav1.APIResourceList{{GroupVersion: "certificates.k8s.io/v1", APIResources: []metav1.APIResource{{Name: "certificatesigningrequests"}}}},
		listErr:   func(resource string) error { return apierrors.NewForbidden(gr(resource), "", fmt.Errorf("RBAC")) },
		wantNotes: []string{
			NotServedNote("podcerts", "podcertificaterequests", "certificates.k8s.io/v1"),
			NotServedNote("trustbundles", "clustertrustbundles", "certificates.k8s.io/v1"),
		},
	}, {
		name: "forbidden for served resources is an error",
		discovery: []*metav1.APIResourceList{{GroupVersion: "certificates.k8s.io/v1", APIResources: []metav1.APIResource{
			{Name: "clustertrustbundles"}, {Name: "podcertificaterequests", Namespaced: true},
		}}},
		listErr:  func(resource string) error { return apierrors.NewForbidden(gr(resource), "", fmt.Errorf("RBAC")) },
		wantErrs: 2,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			client := fake.NewClientset()
			client.Resources = tc.discovery
			client.PrependReactor("list", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, tc.listErr(a.GetResource().Resource)
			})
			rec := newRecorder()
			scope := &Scope{Client: client, Namespace: "apps"}
			Run(context.Background(), rec, &TrustBundles{Scope: scope}, &PodCerts{Scope: scope})
			r := rec.Report()
			sort.Strings(r.Notes)
			if fmt.Sprint(r.Notes) != fmt.Sprint(tc.wantNotes) {
				t.Errorf("notes:\n got %q\nwant %q", r.Notes, tc.wantNotes)
			}
			if len(r.Errors) != tc.wantErrs {
				t.Errorf("errors = %+v, want %d", r.Errors, tc.wantErrs)
			}
			for _, e := range r.Errors {
				if !strings.Contains(e.Message, "missing permission to list") {
					t.Errorf("error %+v does not name the permission", e)
				}
			}
		})
	}
}

// TestPodCertStatusByRefresh: a pod's certificate is OK until
// beginRefreshAt, WARNING past it, CRITICAL past halfway from there to
// notAfter, EXPIRED after; the report's thresholds do not apply to it.
func TestPodCertStatusByRefresh(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	ca := certtest.CA(t, "pod-ca")
	for _, tc := range []struct {
		name            string
		refresh, expiry time.Duration // from now
		want            api.CertificateStatus
	}{
		{"before beginRefreshAt", 5 * time.Hour, 23 * time.Hour, api.StatusOK},
		{"past beginRefreshAt", -time.Hour, 11 * time.Hour, api.StatusWarning},
		{"past halfway to notAfter", -5 * time.Hour, time.Hour, api.StatusCritical},
		{"expired", -20 * time.Hour, -time.Hour, api.StatusExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leaf := certtest.New(t, certtest.Template{CommonName: "pod", NotBefore: now.Add(-24 * time.Hour), NotAfter: now.Add(tc.expiry)}, ca)
			refresh := metav1.NewTime(now.Add(tc.refresh))
			pcr := &certificatesv1.PodCertificateRequest{
				ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "p-1", CreationTimestamp: metav1.NewTime(now.Add(-24 * time.Hour))},
				Spec:       certificatesv1.PodCertificateRequestSpec{SignerName: "example.com/pods", PodName: "p", PodUID: "uid"},
				Status:     certificatesv1.PodCertificateRequestStatus{CertificateChain: string(leaf.PEM()), BeginRefreshAt: &refresh},
			}
			rec := newRecorder()
			(&PodCerts{Scope: &Scope{Client: fake.NewClientset(pcr), Namespace: "apps"}, Now: func() time.Time { return now }}).Collect(context.Background(), rec)
			certs := rec.Report().Certificates
			if len(certs) != 1 || certs[0].Status != tc.want {
				t.Fatalf("certificates %+v, want one %s", certs, tc.want)
			}
		})
	}
}
