package framework

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// All keys are ECDSA P-256: generating them is instant, and every component
// (kube-apiserver, kube-controller-manager's signer, client-go) accepts them.

// certKey is a certificate with its private key, parsed and PEM-encoded.
type certKey struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
	keyPEM  []byte
}

func newKey() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

func encodeKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func encodeCert(cert *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
}

func serialNumber() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// sign creates a certificate from tmpl for a fresh key, signed by parent
// (self-signed when parent is nil). It fills in the serial number, the
// validity (from a minute ago, against clock skew, until now+lifetime) and the
// key identifiers.
func sign(tmpl *x509.Certificate, lifetime time.Duration, parent *certKey) (*certKey, error) {
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	if tmpl.SerialNumber, err = serialNumber(); err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl.NotBefore = now.Add(-time.Minute).UTC()
	tmpl.NotAfter = now.Add(lifetime).UTC()
	issuer, signer := tmpl, crypto.Signer(key)
	if parent != nil {
		issuer, signer = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, key.Public(), signer)
	if err != nil {
		return nil, fmt.Errorf("signing certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	return &certKey{cert: cert, key: key, certPEM: encodeCert(cert), keyPEM: keyPEM}, nil
}

func newCA(cn string, lifetime time.Duration) (*certKey, error) {
	return sign(&x509.Certificate{
		Subject:               pkix.Name{CommonName: cn},
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, lifetime, nil)
}

// servingCertSANs are the names the kube-apiserver serving certificate is
// valid for.
var (
	servingCertDNSNames = []string{
		"localhost", "kubernetes", "kubernetes.default",
		"kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
	}
	servingCertIPs = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback, net.IPv4(10, 0, 0, 1)}
)

func servingTemplate() *x509.Certificate {
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    servingCertDNSNames,
		IPAddresses: servingCertIPs,
	}
}

func clientTemplate(cn string, groups ...string) *x509.Certificate {
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn, Organization: groups},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
}

// etcdTemplate is etcd's server and peer certificate, which etcd also uses
// as a client.
func etcdTemplate() *x509.Certificate {
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: "localhost"},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
}

// writePKI generates the cluster's PKI into PKIDir, with kubeadm's layout
// and file names (its certificatesDir, /etc/kubernetes/pki):
//
//	ca                        CA "kubernetes": signs the apiserver's serving
//	                          certificate and all client certificates; the
//	                          apiserver's client CA and the CSR signer
//	apiserver                 serving certificate, Options.ServingCertLifetime
//	apiserver-kubelet-client
//	front-proxy-ca            the requestheader client CA, which signs
//	front-proxy-client
//	etcd/ca                   etcd's CA, which signs
//	etcd/server, etcd/peer, etcd/healthcheck-client, apiserver-etcd-client
//	sa.key, sa.pub            the service-account token signing key
//
// each as <name>.crt and <name>.key. CAs are valid for ten years, the other
// certificates for one, like kubeadm's.
func (c *Cluster) writePKI() error {
	if err := os.MkdirAll(filepath.Join(c.PKIDir, "etcd"), 0o755); err != nil {
		return err
	}
	cas := map[string]*certKey{}
	for _, ca := range []struct{ file, cn string }{
		{"ca", "kubernetes"},
		{"front-proxy-ca", "front-proxy-ca"},
		{"etcd/ca", "etcd-ca"},
	} {
		ck, err := newCA(ca.cn, caLifetime)
		if err != nil {
			return err
		}
		if _, _, err := writeCertKey(ck, filepath.Join(c.PKIDir, ca.file)); err != nil {
			return err
		}
		cas[ca.file] = ck
	}
	c.ca, c.etcdCA = cas["ca"], cas["etcd/ca"]
	c.CACert, c.CAKey = c.ca.cert, c.ca.key
	c.CAFile, c.CAKeyFile = c.pki("ca.crt"), c.pki("ca.key")

	for _, leaf := range []struct {
		file, ca string
		tmpl     *x509.Certificate
		lifetime time.Duration
	}{
		{"apiserver", "ca", servingTemplate(), c.opts.ServingCertLifetime},
		{"apiserver-kubelet-client", "ca", clientTemplate("kube-apiserver-kubelet-client", "kubeadm:cluster-admins"), leafLifetime},
		{"front-proxy-client", "front-proxy-ca", clientTemplate("front-proxy-client"), leafLifetime},
		{"etcd/server", "etcd/ca", etcdTemplate(), leafLifetime},
		{"etcd/peer", "etcd/ca", etcdTemplate(), leafLifetime},
		{"etcd/healthcheck-client", "etcd/ca", clientTemplate("kube-etcd-healthcheck-client"), leafLifetime},
		{"apiserver-etcd-client", "etcd/ca", clientTemplate("kube-apiserver-etcd-client"), leafLifetime},
	} {
		ck, err := sign(leaf.tmpl, leaf.lifetime, cas[leaf.ca])
		if err != nil {
			return err
		}
		if _, _, err := writeCertKey(ck, filepath.Join(c.PKIDir, leaf.file)); err != nil {
			return err
		}
		switch leaf.file {
		case "apiserver":
			c.ServingCert = ck.cert
		case "etcd/healthcheck-client":
			c.etcdClient = ck
		}
	}
	return writeServiceAccountKeys(filepath.Join(c.PKIDir, "sa"))
}

// writeCertKey writes the certificate and key as PEM to base+".crt" and
// base+".key" and returns the two paths.
func writeCertKey(ck *certKey, base string) (certFile, keyFile string, err error) {
	certFile, keyFile = base+".crt", base+".key"
	if err := os.WriteFile(certFile, ck.certPEM, 0o644); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(keyFile, ck.keyPEM, 0o600); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}

// writeServiceAccountKeys writes a fresh service-account signing key and its
// public half to base+".key" and base+".pub".
func writeServiceAccountKeys(base string) error {
	key, err := newKey()
	if err != nil {
		return err
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return err
	}
	if err := os.WriteFile(base+".key", keyPEM, 0o600); err != nil {
		return err
	}
	return os.WriteFile(base+".pub", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644)
}
