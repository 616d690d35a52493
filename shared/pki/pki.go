// Package pki makes the keys and certificates of a cluster's PKI: keys of
// the same type as the ones they replace, leaf certificates re-issued with
// the attributes of the old ones, self-signed and cross-signed CAs, CSRs,
// and their PEM encodings. Keys are handled in memory only; callers write
// them 0600 and never print them.
package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"time"

	"github.com/kubecerts/kubecerts/shared/certificate"
)

// Backdate is how far before now new certificates start, against clock
// skew between machines (kubeadm backdates too).
const Backdate = 5 * time.Minute

// NewKeyLike makes a new private key of the same type and size as pub:
// RSA of the same modulus length, ECDSA on the same curve, or Ed25519.
func NewKeyLike(pub crypto.PublicKey) (crypto.Signer, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return rsa.GenerateKey(rand.Reader, k.N.BitLen())
	case *ecdsa.PublicKey:
		return ecdsa.GenerateKey(k.Curve, rand.Reader)
	case ed25519.PublicKey:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	}
	return nil, fmt.Errorf("unsupported key type %T", pub)
}

// NewRSAKey makes an RSA key of bits bits.
func NewRSAKey(bits int) (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, bits) }

// NewECDSAKey makes an ECDSA P-256 key.
func NewECDSAKey() (crypto.Signer, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }

// EncodeKey encodes a private key as kubeadm writes them: RSA as PKCS#1
// ("RSA PRIVATE KEY"), ECDSA as SEC 1 ("EC PRIVATE KEY"), others as PKCS#8.
func EncodeKey(key crypto.Signer) ([]byte, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), nil
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return nil, err
		}
		return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// EncodePublicKey encodes a public key as PKIX ("PUBLIC KEY"), the form of
// kubeadm's sa.pub.
func EncodePublicKey(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// EncodeCert encodes certificates as a PEM bundle.
func EncodeCert(certs ...*x509.Certificate) []byte {
	var buf bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return buf.Bytes()
}

// ParseKeys reads every private key of a PEM file (k3s's service.key holds
// several). Errors never quote the data.
func ParseKeys(data []byte) ([]crypto.Signer, error) {
	var keys []crypto.Signer
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		key, err := parseKeyBlock(block)
		if err != nil {
			// Not the block's type: "PRIVATE KEY" in an error would read as
			// key material leaked into the output.
			return nil, fmt.Errorf("PEM block %d (%s): %v", len(keys)+1, keyFormat(block.Type), err)
		}
		if key != nil {
			keys = append(keys, key)
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("no private key found")
	}
	return keys, nil
}

// keyFormat names a private key block's format without its PEM type.
func keyFormat(pemType string) string {
	switch pemType {
	case "RSA PRIVATE KEY":
		return "a PKCS #1 RSA key"
	case "EC PRIVATE KEY":
		return "a SEC 1 EC key"
	default:
		return "a PKCS #8 key"
	}
}

func parseKeyBlock(block *pem.Block) (crypto.Signer, error) {
	var key interface{}
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, nil // not a key: skipped
	}
	if err != nil {
		return nil, errors.New("does not parse as a private key")
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported key type %T", key)
	}
	return signer, nil
}

// ReadKeyFile reads the first private key of a file.
func ReadKeyFile(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	keys, err := ParseKeys(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return keys[0], nil
}

// ReadCertFile reads the first certificate of a file.
func ReadCertFile(path string) (*x509.Certificate, error) {
	b, err := certificate.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return b.Certificates[0], nil
}

// KeyMatches reports whether key is the private half of cert's public key.
func KeyMatches(cert *x509.Certificate, key crypto.Signer) bool {
	return SamePublicKey(key.Public(), cert.PublicKey)
}

// KeyMatchesPublic reports whether key is the private half of pub.
func KeyMatchesPublic(key crypto.Signer, pub crypto.PublicKey) bool {
	return SamePublicKey(key.Public(), pub)
}

// SamePublicKey reports whether a and b are the same public key.
func SamePublicKey(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

// Renew re-issues old for key, signed by ca: the same subject, SANs, key
// usages and extended key usages, valid from now (backdated) for validity,
// but never beyond the CA's own notAfter.
func Renew(old *x509.Certificate, key crypto.Signer, ca *x509.Certificate, caKey crypto.Signer, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	tmpl := &x509.Certificate{
		Subject:               old.Subject,
		RawSubject:            old.RawSubject, // the subject byte for byte, attribute order and types kept
		DNSNames:              old.DNSNames,
		IPAddresses:           old.IPAddresses,
		EmailAddresses:        old.EmailAddresses,
		URIs:                  old.URIs,
		KeyUsage:              old.KeyUsage,
		ExtKeyUsage:           old.ExtKeyUsage,
		BasicConstraintsValid: true,
		IsCA:                  false,
	}
	return Sign(tmpl, key.Public(), ca, caKey, now, validity)
}

// Sign issues tmpl for pub, signed by parent (self-signed when parent is
// nil and parentKey is the key of pub), with a fresh serial, NotBefore now
// minus Backdate and NotAfter now plus validity capped at the parent's
// NotAfter. It refuses to issue a certificate whose NotAfter is not after
// its NotBefore (an expired parent).
func Sign(tmpl *x509.Certificate, pub crypto.PublicKey, parent *x509.Certificate, parentKey crypto.Signer, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	t := *tmpl
	t.SerialNumber = serial
	t.NotBefore = now.Add(-Backdate).UTC()
	t.NotAfter = now.Add(validity).UTC()
	if ski, err := subjectKeyID(pub); err == nil && t.IsCA {
		t.SubjectKeyId = ski
	}
	signer := parent
	if signer == nil {
		signer = &t
	} else if t.NotAfter.After(parent.NotAfter) {
		t.NotAfter = parent.NotAfter
	}
	if !t.NotAfter.After(t.NotBefore) {
		// An expired parent (or one that expires within Backdate) would give
		// a certificate whose validity ends before it starts.
		if parent == nil {
			return nil, fmt.Errorf("validity %s: the certificate would end before it starts", validity)
		}
		return nil, fmt.Errorf("the issuer %q expired on %s: a certificate it signs now would end before it starts",
			parent.Subject.String(), parent.NotAfter.UTC().Format(time.RFC3339))
	}
	der, err := x509.CreateCertificate(rand.Reader, &t, signer, pub, parentKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// NewCA makes a self-signed CA certificate for key.
func NewCA(subject pkix.Name, key crypto.Signer, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	return Sign(caTemplate(subject), key.Public(), nil, key, now, validity)
}

// NewIntermediateCA makes a CA certificate for key signed by parent (a
// root), valid for validity but never beyond the parent's notAfter.
func NewIntermediateCA(subject pkix.Name, key crypto.Signer, parent *x509.Certificate, parentKey crypto.Signer, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	return Sign(caTemplate(subject), key.Public(), parent, parentKey, now, validity)
}

// caTemplate is a CA certificate for subject: it signs certificates and
// CRLs.
func caTemplate(subject pkix.Name) *x509.Certificate {
	return &x509.Certificate{
		Subject:               subject,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
}

// CrossSign issues a copy of newCA (same subject and key) signed by oldCA,
// so that what newCA signs also verifies against oldCA: trust stays
// continuous while clients still hold only the old CA. The copy's notAfter
// is capped at oldCA's: an oldCA that has expired (or expires within
// Backdate) is refused, as the copy would end before it starts.
func CrossSign(newCA *x509.Certificate, oldCA *x509.Certificate, oldKey crypto.Signer, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	if notBefore := now.Add(-Backdate); !oldCA.NotAfter.After(notBefore) {
		return nil, fmt.Errorf("cannot cross-sign with %q: it expired on %s", oldCA.Subject.String(), oldCA.NotAfter.UTC().Format(time.RFC3339))
	}
	tmpl := &x509.Certificate{
		Subject:               newCA.Subject,
		KeyUsage:              newCA.KeyUsage,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          newCA.SubjectKeyId,
	}
	return Sign(tmpl, newCA.PublicKey, oldCA, oldKey, now, validity)
}

// NewCSR makes a certificate signing request for key with old's subject and
// SANs; usages are for the CA to set, as kubeadm's CSRs leave them out.
func NewCSR(old *x509.Certificate, key crypto.Signer) ([]byte, error) {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:        old.Subject,
		RawSubject:     old.RawSubject,
		DNSNames:       old.DNSNames,
		IPAddresses:    old.IPAddresses,
		EmailAddresses: old.EmailAddresses,
		URIs:           old.URIs,
	}, key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

// subjectKeyID is the SHA-1 of the public key's bits (RFC 5280 method 1).
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, err
	}
	sum := sha1.Sum(spki.PublicKey.Bytes)
	return sum[:], nil
}
