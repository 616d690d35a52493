package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"strings"
	"testing"
	"time"
)

func TestRenewKeepsAttributesAndCapsValidity(t *testing.T) {
	now := time.Now()
	caKey, _ := NewECDSAKey()
	ca, err := NewCA(pkix.Name{CommonName: "kubernetes"}, caKey, now.Add(-time.Hour), 200*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	oldKey, _ := NewRSAKey(2048)
	old, err := Sign(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver", Organization: []string{"o"}},
		DNSNames:    []string{"kubernetes", "kubernetes.default"},
		IPAddresses: []net.IP{net.ParseIP("10.96.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, oldKey.Public(), ca, caKey, now.Add(-24*time.Hour), 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	newKey, err := NewKeyLike(old.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := newKey.(*rsa.PrivateKey); !ok || k.N.BitLen() != 2048 {
		t.Fatalf("new key %T, want RSA 2048", newKey)
	}
	renewed, err := Renew(old, newKey, ca, caKey, now, 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if renewed.Subject.String() != old.Subject.String() || strings.Join(renewed.DNSNames, ",") != "kubernetes,kubernetes.default" ||
		!renewed.IPAddresses[0].Equal(old.IPAddresses[0]) || renewed.KeyUsage != old.KeyUsage || renewed.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
		t.Errorf("attributes changed: %+v", renewed.Subject)
	}
	if !renewed.NotAfter.Equal(ca.NotAfter) {
		t.Errorf("notAfter %v, want capped at the CA's %v", renewed.NotAfter, ca.NotAfter)
	}
	if err := renewed.CheckSignatureFrom(ca); err != nil || !KeyMatches(renewed, newKey) || KeyMatches(renewed, oldKey) {
		t.Errorf("signature %v, key match %v", err, KeyMatches(renewed, newKey))
	}
}

func TestCrossSign(t *testing.T) {
	now := time.Now()
	oldKey, _ := NewECDSAKey()
	oldCA, _ := NewCA(pkix.Name{CommonName: "old-ca"}, oldKey, now, 24*time.Hour*365)
	newKey, _ := NewECDSAKey()
	newCA, _ := NewCA(pkix.Name{CommonName: "new-ca"}, newKey, now, 24*time.Hour*3650)
	cross, err := CrossSign(newCA, oldCA, oldKey, now, 24*time.Hour*3650)
	if err != nil {
		t.Fatal(err)
	}
	leafKey, _ := NewECDSAKey()
	leaf, err := Sign(&x509.Certificate{Subject: pkix.Name{CommonName: "leaf"}, DNSNames: []string{"leaf"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, leafKey.Public(), newCA, newKey, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for name, roots := range map[string]*x509.Certificate{"old root": oldCA, "new root": newCA} {
		pool, inter := x509.NewCertPool(), x509.NewCertPool()
		pool.AddCert(roots)
		inter.AddCert(cross)
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, DNSName: "leaf"}); err != nil {
			t.Errorf("leaf of the new CA does not verify against the %s: %v", name, err)
		}
	}
	if !cross.NotAfter.Equal(oldCA.NotAfter) {
		t.Errorf("cross-signed notAfter %v, want capped at the old CA's %v", cross.NotAfter, oldCA.NotAfter)
	}
}

func TestKeysRoundTrip(t *testing.T) {
	rsaKey, _ := NewRSAKey(2048)
	ecKey, _ := NewECDSAKey()
	var all []byte
	for _, k := range []crypto.Signer{rsaKey, ecKey} {
		pemKey, err := EncodeKey(k)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, pemKey...)
	}
	keys, err := ParseKeys(all)
	if err != nil || len(keys) != 2 {
		t.Fatalf("ParseKeys = %d, %v", len(keys), err)
	}
	if _, ok := keys[1].(*ecdsa.PrivateKey); !ok {
		t.Errorf("second key %T", keys[1])
	}
	if !keys[0].Public().(*rsa.PublicKey).Equal(rsaKey.Public()) {
		t.Error("RSA key changed in the round trip")
	}
	if _, err := ParseKeys([]byte("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n")); err == nil || strings.Contains(err.Error(), "AAAA") {
		t.Errorf("bad key: %v", err)
	}
	// Every command's output is scanned for "PRIVATE KEY": an error about a
	// key that does not parse must not read as one.
	for _, typ := range []string{"RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY"} {
		_, err := ParseKeys([]byte("-----BEGIN " + typ + "-----\nAAAA\n-----END " + typ + "-----\n"))
		if err == nil || strings.Contains(err.Error(), "PRIVATE KEY") || !strings.Contains(err.Error(), "PEM block 1") {
			t.Errorf("%s that does not parse: %v", typ, err)
		}
	}
}
