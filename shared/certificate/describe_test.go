package certificate

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"testing"
	"time"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate/certtest"
	"github.com/kubecerts/kubecerts/shared/expiry"
)

func TestDescribe(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	ca := certtest.CA(t, "ca")
	leaf := certtest.New(t, certtest.Template{
		CommonName: "apiserver", Organization: []string{"kubecerts"},
		DNSNames: []string{"kubernetes"}, IPs: []net.IP{net.ParseIP("10.0.0.1")},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(5 * 24 * time.Hour), Serial: 0xabc,
	}, ca)
	got := Describe(leaf.Cert, now, expiry.DefaultThresholds())
	sum := sha256.Sum256(leaf.Cert.Raw)
	if got.SHA256Fingerprint != hex.EncodeToString(sum[:]) {
		t.Errorf("fingerprint = %s", got.SHA256Fingerprint)
	}
	if got.Subject != "CN=apiserver,O=kubecerts" || got.Issuer != "CN=ca" {
		t.Errorf("subject/issuer = %q / %q", got.Subject, got.Issuer)
	}
	if got.SerialNumber != "abc" || got.KeyAlgorithm != "ECDSA-P-256" {
		t.Errorf("serial/key = %q / %q", got.SerialNumber, got.KeyAlgorithm)
	}
	if len(got.DNSNames) != 1 || got.IPAddresses[0] != "10.0.0.1" {
		t.Errorf("SANs = %v %v", got.DNSNames, got.IPAddresses)
	}
	if got.ResidualSeconds != 5*24*3600 || got.Status != api.StatusCritical || got.IsCA {
		t.Errorf("residual/status/isCA = %d %s %v", got.ResidualSeconds, got.Status, got.IsCA)
	}
	if !got.NotAfter.Time.Equal(now.Add(5*24*time.Hour)) || got.NotAfter.Location() != time.UTC {
		t.Errorf("notAfter = %v", got.NotAfter)
	}
}
