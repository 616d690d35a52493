package source

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate/certtest"
)

// TestSecretsEmptyTLSKeys: an empty ca.crt (cert-manager with an ACME
// issuer) or tls.crt (not issued yet) in a kubernetes.io/tls Secret is
// skipped with the reason, not an error; a broken one still is.
func TestSecretsEmptyTLSKeys(t *testing.T) {
	leaf := certtest.New(t, certtest.Template{CommonName: "web"}, nil)
	// A nil ca is no ca.crt key at all.
	tlsSecret := func(name string, crt, ca []byte) *corev1.Secret {
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: name},
			Type:       corev1.SecretTypeTLS,
			Data:       map[string][]byte{"tls.crt": crt, "tls.key": []byte("not read")},
		}
		if ca != nil {
			s.Data["ca.crt"] = ca
		}
		return s
	}
	client := fake.NewClientset(
		tlsSecret("acme", leaf.PEM(), []byte{}),
		tlsSecret("acme-blank", leaf.PEM(), []byte(" \n")),
		tlsSecret("pending", []byte{}, []byte{}),
		tlsSecret("broken", []byte("garbage"), nil),
	)
	rec := newRecorder()
	(&Secrets{Scope: &Scope{Client: client, Namespace: "apps"}}).Collect(context.Background(), rec)
	r := rec.Report()

	var skipped []string
	for _, s := range r.Skipped {
		skipped = append(skipped, s.Location+": "+s.Reason)
	}
	sort.Strings(skipped)
	want := []string{
		"secret/apps/acme-blank/ca.crt: " + SkipEmptyCACrt,
		"secret/apps/acme/ca.crt: " + SkipEmptyCACrt,
		"secret/apps/pending/ca.crt: " + SkipEmptyCACrt,
		"secret/apps/pending/tls.crt: " + SkipEmptyTLSCrt,
	}
	if fmt.Sprint(skipped) != fmt.Sprint(want) {
		t.Errorf("skipped = %q\nwant      %q", skipped, want)
	}
	if len(r.Errors) != 1 || r.Errors[0].Location != "secret/apps/broken/tls.crt" {
		t.Errorf("errors = %+v, want only broken's tls.crt", r.Errors)
	}
	var found []string
	for _, c := range r.Certificates {
		found = append(found, c.Location)
	}
	sort.Strings(found)
	if fmt.Sprint(found) != "[secret/apps/acme-blank/tls.crt secret/apps/acme/tls.crt]" {
		t.Errorf("certificates at %v", found)
	}
}

// TestSecretsObjectReference: each certificate names the Secret and the key
// it was read from, which Events and metrics are attached to.
func TestSecretsObjectReference(t *testing.T) {
	leaf := certtest.New(t, certtest.Template{CommonName: "web"}, nil)
	client := fake.NewClientset(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web", UID: "uid-1"},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{"tls.crt": leaf.PEM(), "tls.key": []byte("not read")},
	})
	rec := newRecorder()
	(&Secrets{Scope: &Scope{Client: client, Namespace: "apps"}}).Collect(context.Background(), rec)
	r := rec.Report()
	if len(r.Certificates) != 1 || r.Certificates[0].Object == nil {
		t.Fatalf("certificates = %+v, want one with an object", r.Certificates)
	}
	want := api.ObjectReference{APIVersion: "v1", Kind: "Secret", Namespace: "apps", Name: "web", UID: "uid-1", FieldPath: "data[tls.crt]"}
	if got := *r.Certificates[0].Object; got != want {
		t.Errorf("object = %+v, want %+v", got, want)
	}
}

// TestSecretsNeverListUnpaged: every LIST asks for a page, and a continue
// token that expired mid-way (etcd compacted while 100,000 secrets were
// being listed) is an error, not client-go's fallback to one unpaged LIST
// of everything (what gets exporters OOM-killed in large clusters).
func TestSecretsNeverListUnpaged(t *testing.T) {
	leaf := certtest.New(t, certtest.Template{CommonName: "paged"}, nil)
	client := fake.NewClientset()
	var limits []int64
	client.PrependReactor("list", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		opts := a.(k8stesting.ListActionImpl).ListOptions
		limits = append(limits, opts.Limit)
		if opts.Continue == "" && opts.Limit > 0 {
			return true, &corev1.SecretList{
				ListMeta: metav1.ListMeta{Continue: "page-2", ResourceVersion: "10"},
				Items: []corev1.Secret{{
					ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "first"},
					Type:       corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": leaf.PEM()},
				}},
			}, nil
		}
		if opts.Continue != "" {
			return true, nil, apierrors.NewResourceExpired("The provided continue parameter is too old to display a consistent list result.")
		}
		return true, &corev1.SecretList{}, nil // unpaged: must not be asked for
	})
	rec := newRecorder()
	(&Secrets{Scope: &Scope{Client: client, AllNamespaces: true, ChunkSize: 1}}).Collect(context.Background(), rec)
	r := rec.Report()
	for i, l := range limits {
		if l <= 0 {
			t.Errorf("LIST %d of %v asked for no page (limit %d): an unpaged LIST", i+1, limits, l)
		}
	}
	if len(limits) != 2 {
		t.Errorf("%d LISTs (limits %v), want 2: the first page and the expired continue", len(limits), limits)
	}
	if len(r.Certificates) != 1 || len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Message, "too old") {
		t.Errorf("certificates %d, errors %+v: want the first page's certificate and the expiry as an error", len(r.Certificates), r.Errors)
	}
}

// TestListPageSizes: without --chunk-size, Secrets are listed in pages
// sized by their bytes — a first page of FirstChunkSize, then about
// PageBytes a page — so that small TLS Secrets come thousands to a page and
// a tenant's megabyte Secrets a handful; --chunk-size fixes every page.
func TestListPageSizes(t *testing.T) {
	page := func(n, valueBytes int, more bool) *corev1.SecretList {
		l := &corev1.SecretList{}
		if more {
			l.Continue = "more"
		}
		for i := 0; i < n; i++ {
			l.Items = append(l.Items, corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: fmt.Sprint("s", i)},
				Type:       corev1.SecretTypeOpaque, Data: map[string][]byte{"v": make([]byte, valueBytes)},
			})
		}
		return l
	}
	for _, tc := range []struct {
		name       string
		flag       int64
		valueBytes int
		want       []int64
	}{
		{"small TLS Secrets", 0, 3 << 10, []int64{FirstChunkSize, PageBytes / (3<<10 + 1024), PageBytes / (3<<10 + 1024)}},
		{"tiny values", 0, 10, []int64{FirstChunkSize, MaxChunkSize, MaxChunkSize}},
		{"megabyte Secrets", 0, 1 << 20, []int64{FirstChunkSize, PageBytes / (1<<20 + 1024), PageBytes / (1<<20 + 1024)}},
		{"huge Secrets", 0, 4 << 20, []int64{FirstChunkSize, MinChunkSize, MinChunkSize}},
		{"--chunk-size", 7, 1 << 20, []int64{7, 7, 7}},
	} {
		client := fake.NewClientset()
		var limits []int64
		client.PrependReactor("list", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
			limits = append(limits, a.(k8stesting.ListActionImpl).ListOptions.Limit)
			return true, page(3, tc.valueBytes, len(limits) < 3), nil
		})
		(&Secrets{Scope: &Scope{Client: client, AllNamespaces: true, ChunkSize: tc.flag}, AllTypes: true}).Collect(context.Background(), newRecorder())
		if fmt.Sprint(limits) != fmt.Sprint(tc.want) {
			t.Errorf("%s: LIST limits %v, want %v", tc.name, limits, tc.want)
		}
	}
}
