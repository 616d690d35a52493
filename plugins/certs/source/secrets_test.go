package source

import (
	"context"
	"fmt"
	"sort"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

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
