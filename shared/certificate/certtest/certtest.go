// Package certtest makes real certificates for tests: CAs and leaves with
// chosen names and validity, signed with ECDSA P-256 keys (fast to make).
package certtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Cert is a certificate with its key.
type Cert struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// PEM is the certificate in PEM.
func (c *Cert) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Cert.Raw})
}

// KeyPEM is the private key in PEM (PKCS#8).
func (c *Cert) KeyPEM(t testing.TB) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// Template describes a certificate to make. Zero NotBefore is an hour ago;
// zero NotAfter is a year after NotBefore.
type Template struct {
	CommonName   string
	Organization []string
	DNSNames     []string
	IPs          []net.IP
	NotBefore    time.Time
	NotAfter     time.Time
	IsCA         bool
	Serial       int64
}

// New makes a certificate from tmpl, self-signed when parent is nil.
func New(t testing.TB, tmpl Template, parent *Cert) *Cert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now().Add(-time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = tmpl.NotBefore.Add(365 * 24 * time.Hour)
	}
	serial := big.NewInt(tmpl.Serial)
	if tmpl.Serial == 0 {
		serial, _ = rand.Int(rand.Reader, big.NewInt(1<<62))
	}
	x := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: tmpl.CommonName, Organization: tmpl.Organization},
		DNSNames:              tmpl.DNSNames,
		IPAddresses:           tmpl.IPs,
		NotBefore:             tmpl.NotBefore,
		NotAfter:              tmpl.NotAfter,
		BasicConstraintsValid: true,
		IsCA:                  tmpl.IsCA,
	}
	if tmpl.IsCA {
		x.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	} else {
		x.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
		x.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	}
	signerCert, signerKey := x, crypto.Signer(key)
	if parent != nil {
		signerCert, signerKey = parent.Cert, parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, x, signerCert, key.Public(), signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &Cert{Cert: cert, Key: key}
}

// CA makes a self-signed CA valid for ten years.
func CA(t testing.TB, cn string) *Cert {
	t.Helper()
	now := time.Now()
	return New(t, Template{CommonName: cn, IsCA: true, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(10 * 365 * 24 * time.Hour)}, nil)
}

// PEMOf encodes any certificate in PEM.
func PEMOf(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// TLSServer serves leaf, with ca after it in the chain, on a loopback port
// until the test ends.
func TLSServer(t testing.TB, leaf, ca *Cert) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{
		Certificate: [][]byte{leaf.Cert.Raw, ca.Cert.Raw},
		PrivateKey:  leaf.Key,
	}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// Pool is a certificate pool holding c.
func Pool(c *Cert) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.Cert)
	return p
}
