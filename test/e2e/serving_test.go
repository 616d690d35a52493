package e2e_test

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/url"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubecerts/kubecerts/test/e2e/framework"
)

const day = 24 * time.Hour

// TestServingCertificateLifetime checks that the apiservers serve the
// certificates the framework generated, with the lifetime asked for: the
// main one the default year, a second one five days.
func TestServingCertificateLifetime(t *testing.T) {
	c := framework.Shared(t)
	ctx := t.Context()

	served := servedCertificate(t, c.Server)
	if !served.Equal(c.ServingCert) {
		t.Fatalf("%s serves %q (serial %x), not the generated serving certificate (serial %x)",
			c.Server, served.Subject, served.SerialNumber, c.ServingCert.SerialNumber)
	}
	if !served.NotAfter.Equal(c.ServingCert.NotAfter) {
		t.Errorf("served notAfter = %v, want %v", served.NotAfter, c.ServingCert.NotAfter)
	}
	assertExpiresIn(t, served, 365*day)
	assertVerifies(t, c, served)

	second, err := c.StartAPIServer(ctx, 5*day)
	if err != nil {
		t.Fatalf("starting a second apiserver: %v", err)
	}
	t.Cleanup(second.Stop)
	served2 := servedCertificate(t, second.URL)
	if !served2.Equal(second.ServingCert) {
		t.Fatalf("%s serves %q (serial %x), not its generated serving certificate (serial %x)",
			second.URL, served2.Subject, served2.SerialNumber, second.ServingCert.SerialNumber)
	}
	assertExpiresIn(t, served2, 5*day)
	assertVerifies(t, c, served2)

	// It is the same cluster: what one apiserver wrote, the other reads.
	kubeconfig, err := c.UserKubeconfigFor(second.URL, framework.AdminUser, framework.AdminGroup)
	if err != nil {
		t.Fatal(err)
	}
	client2, err := framework.ClientsetFromKubeconfig(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	ns := createNamespace(t, client2, c.Clientset(), "e2e-serving-")
	if _, err := c.Clientset().CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
		t.Errorf("namespace created through %s not found through %s: %v", second.URL, c.Server, err)
	}

	second.Stop()
	if _, err := tls.Dial("tcp", hostPort(t, second.URL), &tls.Config{InsecureSkipVerify: true}); err == nil {
		t.Errorf("%s still serves after Stop", second.URL)
	}
}

// servedCertificate returns the leaf certificate server presents in a TLS
// handshake.
func servedCertificate(t *testing.T, server string) *x509.Certificate {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", hostPort(t, server),
		&tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("TLS handshake with %s: %v", server, err)
	}
	defer conn.Close()
	certs := conn.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		t.Fatalf("%s presented no certificate", server)
	}
	return certs[0]
}

func hostPort(t *testing.T, server string) string {
	t.Helper()
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// assertExpiresIn checks that cert expires lifetime after it was made: the
// framework issues certificates from a minute before now, so notAfter is
// within a few minutes of notBefore+lifetime and no later than now+lifetime.
func assertExpiresIn(t *testing.T, cert *x509.Certificate, lifetime time.Duration) {
	t.Helper()
	if d := cert.NotAfter.Sub(cert.NotBefore) - lifetime; d < 0 || d > 2*time.Minute {
		t.Errorf("certificate valid from %v to %v: %v, want %v", cert.NotBefore, cert.NotAfter,
			cert.NotAfter.Sub(cert.NotBefore), lifetime)
	}
	if left := time.Until(cert.NotAfter); left > lifetime || left < lifetime-10*time.Minute {
		t.Errorf("certificate expires in %v, want about %v", left.Round(time.Second), lifetime)
	}
}

// assertVerifies checks that cert is a serving certificate of the cluster CA
// for the names clients use.
func assertVerifies(t *testing.T, c *framework.Cluster, cert *x509.Certificate) {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(c.CACert)
	for _, name := range []string{"127.0.0.1", "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"} {
		if _, err := cert.Verify(x509.VerifyOptions{
			Roots:     roots,
			DNSName:   name,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}); err != nil {
			t.Errorf("serving certificate does not verify for %s: %v", name, err)
		}
	}
}
