package certificate

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/expiry"
)

// Fingerprint is the SHA-256 of the certificate's DER encoding in lower-case
// hex without colons, the form reports use.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}

// KeyAlgorithm names the certificate's public key: RSA-2048, ECDSA-P256,
// Ed25519, or the algorithm's name for others.
func KeyAlgorithm(cert *x509.Certificate) string {
	switch k := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA-%d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA-" + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return cert.PublicKeyAlgorithm.String()
}

// Describe makes the report entry for cert as seen at now under thresholds t;
// the caller fills in Source, Location and, where it knows them, CAName and
// ExternallyManaged.
func Describe(cert *x509.Certificate, now time.Time, t expiry.Thresholds) api.Certificate {
	c := api.Certificate{
		Subject:           cert.Subject.String(),
		Issuer:            cert.Issuer.String(),
		DNSNames:          append([]string{}, cert.DNSNames...),
		IPAddresses:       make([]string, 0, len(cert.IPAddresses)),
		EmailAddresses:    cert.EmailAddresses,
		SerialNumber:      fmt.Sprintf("%x", cert.SerialNumber),
		SHA256Fingerprint: Fingerprint(cert),
		KeyAlgorithm:      KeyAlgorithm(cert),
		NotBefore:         metav1.NewTime(cert.NotBefore.UTC()),
		NotAfter:          metav1.NewTime(cert.NotAfter.UTC()),
		ResidualSeconds:   int64(cert.NotAfter.Sub(now) / time.Second),
		IsCA:              cert.IsCA,
		Status:            t.Status(cert.NotBefore, cert.NotAfter, now),
	}
	for _, ip := range cert.IPAddresses {
		c.IPAddresses = append(c.IPAddresses, ip.String())
	}
	for _, u := range cert.URIs {
		c.URIs = append(c.URIs, u.String())
	}
	return c
}
