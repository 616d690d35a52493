package e2e_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate/certtest"
	"github.com/kubecerts/kubecerts/test/e2e/framework"
)

// TestCheckEvents: --record-events records an Event on a TLS Secret
// holding an expiring certificate (in its namespace) and on a CSR whose
// issued certificate has expired (in default); a second run updates them
// (same names, series.count 2) rather than adding any; a user who may list
// secrets but not write Events gets a warning and the check's exit status;
// file sources get a note.
func TestCheckEvents(t *testing.T) {
	c := framework.Shared(t)
	admin := c.Clientset()
	ctx := t.Context()
	ns := createNamespace(t, admin, admin, "check-events-")
	// The Secret and the CSR share a name: one field selector picks both.
	name := "events-" + strings.TrimPrefix(ns, "check-events-")

	now := time.Now()
	leaf := certtest.New(t, certtest.Template{CommonName: "events-web", NotAfter: now.Add(5 * 24 * time.Hour)}, nil)
	secret, err := admin.CoreV1().Secrets(ns).Create(ctx, chkTLSSecret(ns, name, leaf.PEM(), leaf.KeyPEM(t)), metav1.CreateOptions{})
	chkCreated(t, "secret", 0, err)
	expired := certtest.New(t, certtest.Template{CommonName: "events-csr", NotBefore: now.Add(-5 * 24 * time.Hour), NotAfter: now.Add(-3 * 24 * time.Hour)}, nil)
	csr := evIssuedCSR(t, admin, name, expired.PEM())

	args := []string{"--source", "secrets,csr", "-n", ns, "--field-selector", "metadata.name=" + name, "--record-events"}
	r, code, stderr := certsCheck(t, c.AdminKubeconfig, args...)
	if code != 3 || len(r.Errors) != 0 || len(r.Certificates) != 2 {
		t.Fatalf("exit %d, errors %+v, %d certificates; want 3, none, 2; stderr:\n%s", code, r.Errors, len(r.Certificates), stderr)
	}
	if got, want := r.Summary.Events, (api.EventsSummary{Recorded: 2, Created: 2}); got == nil || *got != want {
		t.Errorf("summary.events = %+v, want %+v; stderr:\n%s", got, want, stderr)
	}
	secretEv := evFind(t, admin, ns, "Secret", name)
	csrEv := evFind(t, admin, metav1.NamespaceDefault, "CertificateSigningRequest", name)
	t.Cleanup(func() {
		_ = admin.EventsV1().Events(metav1.NamespaceDefault).Delete(context.Background(), csrEv.Name, metav1.DeleteOptions{})
	})
	for _, tt := range []struct {
		ev         *eventsv1.Event
		ref        corev1.ObjectReference
		reason     string
		notePrefix string
	}{
		{secretEv, corev1.ObjectReference{APIVersion: "v1", Kind: "Secret", Namespace: ns, Name: name, UID: secret.UID, FieldPath: "data[tls.crt]"},
			"CertificateExpiring", "secret/" + ns + "/" + name + "/tls.crt: CN=events-web expires " + leaf.Cert.NotAfter.UTC().Format(time.RFC3339) + " (in "},
		{csrEv, corev1.ObjectReference{APIVersion: "certificates.k8s.io/v1", Kind: "CertificateSigningRequest", Name: name, UID: csr.UID, FieldPath: "status.certificate"},
			"CertificateExpired", "csr/" + name + ": CN=events-csr expired " + expired.Cert.NotAfter.UTC().Format(time.RFC3339) + " (3d ago)"},
	} {
		ev := tt.ev
		if ev.Regarding != tt.ref || ev.Reason != tt.reason || ev.Type != corev1.EventTypeWarning || ev.Action != "CheckCertificate" ||
			ev.ReportingController != "kubecerts.io/certs-check" || ev.ReportingInstance != "kubecerts-certs-check" ||
			!strings.HasPrefix(ev.Note, tt.notePrefix) || ev.Series != nil || !strings.HasPrefix(ev.Name, name+".") {
			t.Errorf("event %s/%s = %+v\nwant regarding %+v, reason %s, note %q…", ev.Namespace, ev.Name, ev, tt.ref, tt.reason, tt.notePrefix)
		}
	}

	// A second run: the same two Events, their series counted.
	r, code, stderr = certsCheck(t, c.AdminKubeconfig, args...)
	if got, want := r.Summary.Events, (api.EventsSummary{Recorded: 2, Updated: 2}); code != 3 || got == nil || *got != want {
		t.Errorf("second run: exit %d, summary.events %+v, want 3 and %+v; stderr:\n%s", code, got, want, stderr)
	}
	for _, prev := range []*eventsv1.Event{secretEv, csrEv} {
		ev := evFind(t, admin, prev.Namespace, prev.Regarding.Kind, name)
		if ev.Name != prev.Name || ev.Series == nil || ev.Series.Count != 2 || ev.Note != prev.Note || !ev.EventTime.Equal(&prev.EventTime) {
			t.Errorf("after the second run: %s/%s series %+v note %q, want %s, count 2, the first note", ev.Namespace, ev.Name, ev.Series, ev.Note, prev.Name)
		}
	}
	// A third, for people: the count on stderr.
	dir := framework.BuildPlugins(t)
	_, stderr, err = framework.Kubectl(ctx, dir, c.AdminKubeconfig, append([]string{"certs", "check"}, args...)...)
	if code := exitCode(t, err); code != 3 || !strings.Contains(stderr, "note: recorded 2 Event(s) (0 new, 2 updated)\n") {
		t.Errorf("third run: exit %d, stderr:\n%s", code, stderr)
	}
	if ev := evFind(t, admin, ns, "Secret", name); ev.Series == nil || ev.Series.Count != 3 {
		t.Errorf("after the third run: series %+v, want count 3", ev.Series)
	}

	t.Run("update validation", func(t *testing.T) {
		evUpdateValidation(t, admin, ns, secretEv.Name)
	})

	t.Run("no permission on events", func(t *testing.T) {
		user := "events-limited-" + ns
		chkGrant(t, admin, ns, user, []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"list"}}})
		kubeconfig, err := c.UserKubeconfig(user)
		if err != nil {
			t.Fatal(err)
		}
		r, code, stderr := certsCheck(t, kubeconfig, "--source", "secrets", "-n", ns, "--record-events")
		if code != 3 || len(r.Errors) != 0 || len(r.Certificates) != 1 {
			t.Errorf("exit %d, errors %+v, %d certificates; want 3 (the check's), none, 1; stderr:\n%s", code, r.Errors, len(r.Certificates), stderr)
		}
		if got, want := r.Summary.Events, (api.EventsSummary{Failed: 1}); got == nil || *got != want {
			t.Errorf("summary.events = %+v, want %+v", got, want)
		}
		want := `warning: --record-events: 1 Event(s) not recorded in namespace ` + ns + `: forbidden: User "` + user +
			`" cannot get resource "events" in API group "events.k8s.io" in the namespace "` + ns +
			`" (needs get, create and update on events.events.k8s.io there)` + "\n"
		if stderr != want {
			t.Errorf("stderr:\n%s\nwant:\n%s", stderr, want)
		}
	})

	t.Run("files only", func(t *testing.T) {
		dir := t.TempDir()
		file := writeFile(t, dir, "soon.pem", leaf.PEM())
		_, stderr, err := framework.Kubectl(ctx, framework.BuildPlugins(t), c.AdminKubeconfig, "certs", "check", "--file", file, "--record-events")
		want := "note: --record-events: the sources checked (file) hold no Kubernetes objects: no Events can be recorded for their certificates\n"
		if code := exitCode(t, err); code != 3 || !strings.Contains(stderr, want) || strings.Contains(stderr, "error:") {
			t.Errorf("exit %d (want 3), stderr:\n%s\nwant the note:\n%s", code, stderr, want)
		}
	})
}

// evIssuedCSR creates a CSR named name for a signer of the test's own,
// approves it and sets its status.certificate to certPEM, as a signer
// would, through the approval and status subresources; it is deleted when
// the test ends.
func evIssuedCSR(t *testing.T, admin kubernetes.Interface, name string, certPEM []byte) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	ctx := t.Context()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "events-csr"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := admin.CertificatesV1().CertificateSigningRequests().Create(ctx, &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: "e2e.kubecerts.io/events",
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
		},
	}, metav1.CreateOptions{})
	chkCreated(t, "csr", 0, err)
	t.Cleanup(func() {
		_ = admin.CertificatesV1().CertificateSigningRequests().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "KubecertsE2E", Message: "approved by the e2e test",
	})
	if csr, err = admin.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, name, csr, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	csr.Status.Certificate = certPEM
	if csr, err = admin.CertificatesV1().CertificateSigningRequests().UpdateStatus(ctx, csr, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	return csr
}

// evFind is the one Event in namespace ns regarding the kind named name.
func evFind(t *testing.T, admin kubernetes.Interface, ns, kind, name string) *eventsv1.Event {
	t.Helper()
	list, err := admin.EventsV1().Events(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var found []eventsv1.Event
	for _, ev := range list.Items {
		if ev.Regarding.Kind == kind && ev.Regarding.Name == name {
			found = append(found, ev)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d Events in %s regarding %s %s, want 1: %+v", len(found), ns, kind, name, found)
	}
	return &found[0]
}

// evUpdateValidation pins what the API server lets an update of an
// events.k8s.io/v1 Event change, which the Sink relies on: the series and
// metadata, not the note, eventTime, reportingInstance nor the deprecated
// fields.
func evUpdateValidation(t *testing.T, admin kubernetes.Interface, ns, name string) {
	events := admin.EventsV1().Events(ns)
	ctx := t.Context()
	for _, tt := range []struct {
		field  string
		change func(*eventsv1.Event)
		ok     bool
	}{
		{"note", func(ev *eventsv1.Event) { ev.Note += " (updated)" }, false},
		{"eventTime", func(ev *eventsv1.Event) { ev.EventTime = metav1.NewMicroTime(ev.EventTime.Add(time.Second)) }, false},
		{"reportingInstance", func(ev *eventsv1.Event) { ev.ReportingInstance = "another-host" }, false},
		{"deprecatedCount", func(ev *eventsv1.Event) { ev.DeprecatedCount = 5 }, false},
		{"deprecatedLastTimestamp", func(ev *eventsv1.Event) { ev.DeprecatedLastTimestamp = metav1.Now() }, false},
		{"series.count below 2", func(ev *eventsv1.Event) { ev.Series.Count = 1 }, false},
		{"series", func(ev *eventsv1.Event) {
			ev.Series.Count++
			ev.Series.LastObservedTime = metav1.NewMicroTime(time.Now())
		}, true},
		{"labels", func(ev *eventsv1.Event) { ev.Labels = map[string]string{"kubecerts.io/e2e": "yes"} }, true},
	} {
		ev, err := events.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		tt.change(ev)
		_, err = events.Update(ctx, ev, metav1.UpdateOptions{})
		switch {
		case tt.ok && err != nil:
			t.Errorf("updating %s: %v", tt.field, err)
		case !tt.ok && !apierrors.IsInvalid(err):
			t.Errorf("updating %s: %v, want Invalid", tt.field, err)
		case !tt.ok:
			t.Logf("updating %s: %v", tt.field, err)
		}
	}
}
