package e2e_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/certificate/certtest"
	"github.com/kubecerts/kubecerts/test/e2e/framework"
)

// certsCheck runs `kubectl certs check ARGS -o json` through the real kubectl
// and returns the report and the exit status.
func certsCheck(t *testing.T, kubeconfig string, args ...string) (*api.CertificateReport, int, string) {
	t.Helper()
	dir := framework.BuildPlugins(t)
	stdout, stderr, err := framework.Kubectl(t.Context(), dir, kubeconfig, append(append([]string{"certs", "check"}, args...), "-o", "json")...)
	code := exitCode(t, err)
	assertNoPrivateKey(t, stdout+stderr)
	var r api.CertificateReport
	if jerr := json.Unmarshal([]byte(stdout), &r); jerr != nil {
		t.Fatalf("output is not a report (%v), exit %d:\nstdout:\n%s\nstderr:\n%s", jerr, code, stdout, stderr)
	}
	if r.APIVersion != "kubecerts.io/v1alpha1" || r.Kind != "CertificateReport" {
		t.Errorf("apiVersion/kind = %s/%s", r.APIVersion, r.Kind)
	}
	return &r, code, stderr
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("kubectl did not run: %v", err)
	}
	return ee.ExitCode()
}

func assertNoPrivateKey(t *testing.T, out string) {
	t.Helper()
	if strings.Contains(out, "PRIVATE KEY") {
		t.Errorf("output holds private key material:\n%s", out)
	}
}

func findBy(r *api.CertificateReport, pred func(*api.Certificate) bool) *api.Certificate {
	for i := range r.Certificates {
		if pred(&r.Certificates[i]) {
			return &r.Certificates[i]
		}
	}
	return nil
}

func servedLeaf(c *api.Certificate) bool {
	return c.Source == "apiserver" && c.Chain != nil && c.Chain.Position == 0
}

func fingerprintOfKubeconfigClient(t *testing.T, path string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range cfg.AuthInfos {
		b, err := certificate.Parse(u.ClientCertificateData)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b.Certificates[0].Raw)
		return hex.EncodeToString(sum[:])
	}
	t.Fatal("no user in " + path)
	return ""
}

// TestCheckCurrentContext: plain `kubectl certs check` reports the
// kubeconfig's client certificate and CA and the certificate the API server
// serves, whose notAfter is the one the cluster was started with.
func TestCheckCurrentContext(t *testing.T) {
	c := framework.Shared(t)
	r, code, stderr := certsCheck(t, c.AdminKubeconfig)
	if code != 0 {
		t.Errorf("exit status = %d, want 0; stderr:\n%s", code, stderr)
	}
	served := findBy(r, servedLeaf)
	if served == nil {
		t.Fatalf("no served certificate in %+v", r.Certificates)
	}
	if !served.NotAfter.Time.Equal(c.ServingCert.NotAfter.UTC().Truncate(time.Second)) {
		t.Errorf("served notAfter = %v, the cluster's serving certificate expires %v", served.NotAfter, c.ServingCert.NotAfter)
	}
	if !served.Chain.Verified || served.Chain.Endpoint != c.Server+":443" && !strings.HasPrefix(served.Chain.Endpoint, c.Server) {
		t.Errorf("served chain = %+v, want verified, endpoint %s", served.Chain, c.Server)
	}
	client := findBy(r, func(x *api.Certificate) bool {
		return x.Source == "kubeconfig" && strings.Contains(x.Location, "client-certificate-data")
	})
	if client == nil || client.SHA256Fingerprint != fingerprintOfKubeconfigClient(t, c.AdminKubeconfig) {
		t.Errorf("kubeconfig client certificate = %+v, want the admin certificate's fingerprint", client)
	}
	ca := findBy(r, func(x *api.Certificate) bool { return x.Source == "kubeconfig" && x.IsCA })
	if ca == nil || ca.Subject != c.CACert.Subject.String() {
		t.Errorf("kubeconfig CA = %+v", ca)
	}
	if len(r.Errors) != 0 || r.Summary.Total != len(r.Certificates) || r.Summary.OK != r.Summary.Total {
		t.Errorf("errors %v, summary %+v", r.Errors, r.Summary)
	}
}

// TestCheckServingCertificateExpiringSoon: an API server whose serving
// certificate expires in 5 days makes check --critical-within 7d exit 3.
func TestCheckServingCertificateExpiringSoon(t *testing.T) {
	c := framework.Shared(t)
	srv, err := c.StartAPIServer(t.Context(), 5*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	kubeconfig, err := c.UserKubeconfigFor(srv.URL, "kubecerts-admin", "system:masters")
	if err != nil {
		t.Fatal(err)
	}
	r, code, stderr := certsCheck(t, kubeconfig, "--critical-within", "7d")
	if code != 3 {
		t.Errorf("exit status = %d, want 3; stderr:\n%s", code, stderr)
	}
	served := findBy(r, servedLeaf)
	if served == nil || served.Status != api.StatusCritical || !served.NotAfter.Time.Equal(srv.ServingCert.NotAfter.UTC().Truncate(time.Second)) {
		t.Fatalf("served = %+v, want CRITICAL expiring %v", served, srv.ServingCert.NotAfter)
	}

	// Checked beside the PKI directory whose apiserver.crt is another
	// certificate of the same CA for the same names, older than the one
	// served: the report says they differ, without restart advice (another
	// control-plane node may have answered; TestCertsServedVsDiskNote has
	// the served-older-than-disk case that advises the restart).
	r, _, _ = certsCheck(t, kubeconfig, "--source", "apiserver,pki-dir", "--pki-dir", c.PKIDir, "--kubeconfig-dir", c.Dir)
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "differs from") || strings.Contains(r.Notes[0], "restart kube-apiserver") ||
		!strings.Contains(r.Notes[0], "apiserver.crt") {
		t.Errorf("notes = %v, want the served-differs-from-disk note without restart advice", r.Notes)
	}
	// The main API server serves its apiserver.crt: no such note.
	r, _, _ = certsCheck(t, c.AdminKubeconfig, "--source", "apiserver,pki-dir", "--pki-dir", c.PKIDir, "--kubeconfig-dir", c.Dir)
	if len(r.Notes) != 0 {
		t.Errorf("notes = %v, want none: the served certificate is the file", r.Notes)
	}
}

// TestCheckStaleKubeconfigCA: a kubeconfig whose CA does not match the
// server's (as after a CA rotation) gives verified=false, the x509 error, an
// error entry and the hint to refresh the credentials.
func TestCheckStaleKubeconfigCA(t *testing.T) {
	c := framework.Shared(t)
	cfg, err := clientcmd.LoadFromFile(c.AdminKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	other := certtest.CA(t, "rotated-ca")
	for _, cl := range cfg.Clusters {
		cl.CertificateAuthorityData = other.PEM()
	}
	stale := filepath.Join(t.TempDir(), "stale.conf")
	if err := clientcmd.WriteToFile(*cfg, stale); err != nil {
		t.Fatal(err)
	}
	r, code, stderr := certsCheck(t, stale)
	if code != 1 {
		t.Errorf("exit status = %d, want 1 (the chain does not verify); stderr:\n%s", code, stderr)
	}
	served := findBy(r, servedLeaf)
	if served == nil {
		t.Fatalf("the served certificate is not reported: %+v", r)
	}
	if served.Chain.Verified || !strings.Contains(served.Chain.VerifyError, "unknown authority") {
		t.Errorf("chain = %+v, want verified=false with unknown authority", served.Chain)
	}
	if !strings.Contains(strings.Join(served.Notes, " "), "refresh the credentials") {
		t.Errorf("notes = %v, want the hint", served.Notes)
	}
	if len(r.Errors) != 1 || r.Errors[0].Source != "apiserver" || !strings.Contains(r.Errors[0].Message, "unknown authority") {
		t.Errorf("errors = %+v", r.Errors)
	}
}

// TestCheckPKIDirOfTheCluster: the cluster's own PKI, in kubeadm's layout,
// is checked without a kubeconfig, and its apiserver.crt is the certificate
// the API server serves.
func TestCheckPKIDirOfTheCluster(t *testing.T) {
	c := framework.Shared(t)
	r, code, stderr := certsCheck(t, "", "--pki-dir", c.PKIDir, "--kubeconfig-dir", filepath.Join(t.TempDir(), "none"))
	if code != 0 {
		t.Errorf("exit status = %d, want 0; stderr:\n%s", code, stderr)
	}
	apiserver := findBy(r, func(x *api.Certificate) bool { return x.Name == "apiserver" })
	if apiserver == nil || apiserver.SHA256Fingerprint != hexSHA(c.ServingCert.Raw) || apiserver.CAName != "ca" {
		t.Errorf("apiserver entry = %+v", apiserver)
	}
	if findBy(r, func(x *api.Certificate) bool { return x.Name == "etcd-ca" && x.IsCA }) == nil {
		t.Error("etcd-ca not reported")
	}
}

// TestCheckUnreachableServer: a kubeconfig pointing at a port with no
// listener is an error for the apiserver source (exit 1) while the
// kubeconfig's own certificates are still reported.
func TestCheckUnreachableServer(t *testing.T) {
	c := framework.Shared(t)
	kubeconfig, err := c.UserKubeconfigFor("https://127.0.0.1:1", "kubecerts-admin", "system:masters")
	if err != nil {
		t.Fatal(err)
	}
	r, code, stderr := certsCheck(t, kubeconfig, "--request-timeout", "3s")
	if code != 1 || len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Message, "connection refused") {
		t.Errorf("exit %d, errors %+v; stderr:\n%s", code, r.Errors, stderr)
	}
	if !strings.Contains(stderr, "error: apiserver https://127.0.0.1:1") {
		t.Errorf("stderr does not name the endpoint:\n%s", stderr)
	}
	if r.Summary.Total < 2 {
		t.Errorf("kubeconfig certificates not reported: %+v", r.Summary)
	}
}

func hexSHA(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestCheckAllContexts: every context is checked, each certificate reported
// once with every place it is used.
func TestCheckAllContexts(t *testing.T) {
	c := framework.Shared(t)
	admin, err := clientcmd.LoadFromFile(c.AdminKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	nodePath, err := c.NodeKubeconfig("worker-9")
	if err != nil {
		t.Fatal(err)
	}
	node, err := clientcmd.LoadFromFile(nodePath)
	if err != nil {
		t.Fatal(err)
	}
	merged := admin.DeepCopy()
	for name, cl := range node.Clusters {
		merged.Clusters["node-"+name] = cl
	}
	for name, u := range node.AuthInfos {
		merged.AuthInfos["node-"+name] = u
	}
	for name, kctx := range node.Contexts {
		kctx.Cluster, kctx.AuthInfo = "node-"+kctx.Cluster, "node-"+kctx.AuthInfo
		merged.Contexts["node-"+name] = kctx
	}
	path := filepath.Join(t.TempDir(), "two-contexts.conf")
	if err := clientcmd.WriteToFile(*merged, path); err != nil {
		t.Fatal(err)
	}
	r, code, stderr := certsCheck(t, path, "--all-contexts")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	var cas, served, clients int
	for _, x := range r.Certificates {
		switch {
		case x.Source == "kubeconfig" && x.IsCA:
			cas++
			if len(x.AlsoAt) != 1 {
				t.Errorf("CA also at %v, want the other context", x.AlsoAt)
			}
		case servedLeaf(&x):
			served++
			if len(x.AlsoAt) != 1 {
				t.Errorf("served certificate also at %v, want the other context", x.AlsoAt)
			}
		case x.Source == "kubeconfig":
			clients++
		}
	}
	if cas != 1 || served != 1 || clients != 2 {
		t.Errorf("CAs %d, served %d, client certificates %d; want 1, 1, 2", cas, served, clients)
	}
}
