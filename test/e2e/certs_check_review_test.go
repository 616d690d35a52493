package e2e_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate/certtest"
	"github.com/kubecerts/kubecerts/test/e2e/framework"
)

// certsServedNotes are the report's notes on a served certificate that is
// not apiserver.crt.
func certsServedNotes(r *api.CertificateReport) []string {
	var out []string
	for _, n := range r.Notes {
		if strings.Contains(n, "serves a certificate") {
			out = append(out, n)
		}
	}
	return out
}

// certsPKICopy writes a node's PKI elsewhere, ROOT/etc/kubernetes/pki, with
// the cluster's ca.crt and the given apiserver.crt, and returns the PKI
// directory.
func certsPKICopy(t *testing.T, c *framework.Cluster, apiserver *certtest.Cert) string {
	t.Helper()
	pki := filepath.Join(t.TempDir(), "etc", "kubernetes", "pki")
	if err := os.MkdirAll(pki, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"ca.crt": certtest.PEMOf(c.CACert), "apiserver.crt": apiserver.PEM()} {
		if err := os.WriteFile(filepath.Join(pki, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return pki
}

// TestCertsServedVsDiskNote: the note on a served certificate other than
// apiserver.crt advises a restart only when the file is the newer one of
// the same CA (renewed, kube-apiserver not restarted); a served certificate
// newer than the file only differs; another cluster's PKI gives no note.
func TestCertsServedVsDiskNote(t *testing.T) {
	c := framework.Shared(t)
	served := c.ServingCert
	clusterCA := &certtest.Cert{Cert: c.CACert, Key: c.CAKey}
	apiserverCert := func(notBefore time.Time, ca *certtest.Cert) *certtest.Cert {
		return certtest.New(t, certtest.Template{CommonName: served.Subject.CommonName, DNSNames: served.DNSNames, IPs: served.IPAddresses,
			NotBefore: notBefore, NotAfter: notBefore.Add(365 * 24 * time.Hour)}, ca)
	}
	renewed := certsPKICopy(t, c, apiserverCert(time.Now(), clusterCA))
	older := certsPKICopy(t, c, apiserverCert(served.NotBefore.Add(-48*time.Hour), clusterCA))
	otherCluster := certsPKICopy(t, c, apiserverCert(time.Now(), certtest.CA(t, c.CACert.Subject.CommonName)))

	const restart = "still serves the old one; restart kube-apiserver"
	const differs = "is not a kube-apiserver left unrestarted after a renewal"
	for _, tt := range []struct {
		name string
		args []string
		want string // "": no note
	}{
		{"apiserver, the file renewed", []string{"--source", "apiserver,pki-dir", "--pki-dir", renewed}, restart},
		{"endpoint, the file renewed", []string{"--source", "endpoint,pki-dir", "--endpoint", c.Server, "--certificate-authority", c.CAFile, "--pki-dir", renewed}, restart},
		{"apiserver, the served certificate newer than the file", []string{"--source", "apiserver,pki-dir", "--pki-dir", older}, differs},
		{"apiserver, another cluster's PKI", []string{"--source", "apiserver,pki-dir", "--pki-dir", otherCluster}, ""},
		{"apiserver, its own PKI", []string{"--source", "apiserver,pki-dir", "--pki-dir", c.PKIDir, "--kubeconfig-dir", c.Dir}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, _, stderr := certsCheck(t, c.AdminKubeconfig, tt.args...)
			notes := certsServedNotes(r)
			switch {
			case tt.want == "" && len(notes) != 0:
				t.Errorf("notes = %q, want none", notes)
			case tt.want != "" && (len(notes) != 1 || !strings.Contains(notes[0], tt.want) || !strings.Contains(notes[0], "apiserver.crt")):
				t.Errorf("notes = %q, want one containing %q; stderr:\n%s", notes, tt.want, stderr)
			case tt.want == differs && strings.Contains(notes[0], "restart kube-apiserver"):
				t.Errorf("note %q advises a restart", notes[0])
			}
		})
	}
}

// TestCertsEmptyTLSSecretKeys: an empty ca.crt (cert-manager with an ACME
// issuer) and an empty tls.crt (not issued yet) of kubernetes.io/tls
// Secrets are skipped with the reason, and the check exits 0.
func TestCertsEmptyTLSSecretKeys(t *testing.T) {
	c := framework.Shared(t)
	admin := c.Clientset()
	ns := createNamespace(t, admin, admin, "certs-empty-")
	leaf := certtest.New(t, certtest.Template{CommonName: "acme-leaf", DNSNames: []string{"www.example"}}, certtest.CA(t, "acme-ca"))
	for name, data := range map[string]map[string][]byte{
		"acme":    {corev1.TLSCertKey: leaf.PEM(), corev1.TLSPrivateKeyKey: leaf.KeyPEM(t), corev1.ServiceAccountRootCAKey: {}},
		"pending": {corev1.TLSCertKey: {}, corev1.TLSPrivateKeyKey: {}},
	} {
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Type: corev1.SecretTypeTLS, Data: data}
		if _, err := admin.CoreV1().Secrets(ns).Create(t.Context(), secret, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	r, code, stderr := certsCheck(t, c.AdminKubeconfig, "--source", "secrets", "-n", ns)
	if code != 0 || len(r.Errors) != 0 {
		t.Errorf("exit %d, errors %+v, want 0 and none; stderr:\n%s", code, r.Errors, stderr)
	}
	skipped := map[string]string{}
	for _, s := range r.Skipped {
		skipped[s.Location] = s.Reason
	}
	for loc, want := range map[string]string{
		"secret/" + ns + "/acme/ca.crt":     "cert-manager leaves ca.crt empty for ACME issuers",
		"secret/" + ns + "/pending/tls.crt": "empty, no certificate issued yet",
	} {
		if !strings.Contains(skipped[loc], want) {
			t.Errorf("skipped %s: %q, want containing %q (all: %v)", loc, skipped[loc], want, skipped)
		}
	}
	if len(r.Certificates) != 1 || r.Certificates[0].Location != "secret/"+ns+"/acme/tls.crt" {
		t.Errorf("certificates = %+v, want acme's tls.crt", r.Certificates)
	}
}

// TestCertsPKIDirElsewhere: a --pki-dir that is a symbolic link has its
// other *.crt files found, named under the link; with --source its
// kubeconfig and kubelet directories are its own, never the host's
// /etc/kubernetes or /var/lib/kubelet/pki. A JSON kubeconfig given with
// --file is read as a kubeconfig.
func TestCertsPKIDirElsewhere(t *testing.T) {
	c := framework.Shared(t)
	backup := filepath.Join(t.TempDir(), "backup")
	pki := filepath.Join(backup, "pki")
	if err := os.MkdirAll(filepath.Join(pki, "extra"), 0o755); err != nil {
		t.Fatal(err)
	}
	extra := certtest.New(t, certtest.Template{CommonName: "certs-extra"}, &certtest.Cert{Cert: c.CACert, Key: c.CAKey})
	for name, data := range map[string][]byte{"ca.crt": certtest.PEMOf(c.CACert), "apiserver.crt": certtest.PEMOf(c.ServingCert), "extra/webhook.crt": extra.PEM()} {
		if err := os.WriteFile(filepath.Join(pki, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(t.TempDir(), "pki-link")
	if err := os.Symlink(pki, link); err != nil {
		t.Fatal(err)
	}
	r, _, stderr := certsCheck(t, "", "--source", "pki-dir", "--pki-dir", link)
	found := findBy(r, func(x *api.Certificate) bool { return x.Subject == "CN=certs-extra" })
	if found == nil || found.Location != filepath.Join(link, "extra/webhook.crt") || found.CAName != "ca" {
		t.Errorf("extra/webhook.crt under the link = %+v; stderr:\n%s", found, stderr)
	}
	for _, s := range r.Skipped {
		if strings.HasPrefix(s.Location, "/etc/kubernetes") || strings.HasPrefix(s.Location, "/var/lib/kubelet") {
			t.Errorf("skipped %s: the host's, not the copy's", s.Location)
		}
	}
	for _, e := range r.Errors {
		t.Errorf("error %s: %s", e.Location, e.Message)
	}

	kubeconfig, err := os.ReadFile(c.AdminKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	asJSON, err := yaml.YAMLToJSON(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	jsonFile := filepath.Join(t.TempDir(), "admin.json")
	if err := os.WriteFile(jsonFile, asJSON, 0o600); err != nil {
		t.Fatal(err)
	}
	r, code, stderr := certsCheck(t, "", "--file", jsonFile)
	client := findBy(r, func(x *api.Certificate) bool { return strings.Contains(x.Location, "client-certificate-data") })
	if code != 0 || client == nil || client.SHA256Fingerprint != fingerprintOfKubeconfigClient(t, c.AdminKubeconfig) {
		t.Errorf("JSON kubeconfig: exit %d, client certificate %+v; stderr:\n%s", code, client, stderr)
	}
}
