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

// TestCrossSignRefusesAnExpiredOldCA: a copy signed by an old CA is capped
// at its notAfter; an old CA that has expired (or expires within Backdate)
// would give a certificate that ends before it starts, and is refused.
func TestCrossSignRefusesAnExpiredOldCA(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	newKey, _ := NewECDSAKey()
	newCA, err := NewCA(pkix.Name{CommonName: "new-ca"}, newKey, now, 3650*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		oldLeft time.Duration // the old CA's notAfter minus now
		wantErr bool
	}{
		{"a year left", 365 * 24 * time.Hour, false},
		{"a day left", 24 * time.Hour, false},
		{"a minute left", time.Minute, false},
		{"expires at the backdated notBefore", -Backdate, true},
		{"expired an hour ago", -time.Hour, true},
		{"expired a year ago", -365 * 24 * time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			oldKey, _ := NewECDSAKey()
			notAfter := now.Add(tt.oldLeft)
			oldCA, err := Sign(&x509.Certificate{Subject: pkix.Name{CommonName: "old-ca"}, BasicConstraintsValid: true, IsCA: true,
				KeyUsage: x509.KeyUsageCertSign}, oldKey.Public(), nil, oldKey, notAfter.Add(-10*365*24*time.Hour), 10*365*24*time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			cross, err := CrossSign(newCA, oldCA, oldKey, now, 3650*24*time.Hour)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), `"CN=old-ca"`) || !strings.Contains(err.Error(), "expired on "+oldCA.NotAfter.UTC().Format(time.RFC3339)) {
					t.Errorf("CrossSign = %v, %v; want an error naming the old CA and its notAfter", cross, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !cross.NotAfter.After(cross.NotBefore) || !cross.NotAfter.Equal(oldCA.NotAfter) {
				t.Errorf("validity %s – %s, want ending at the old CA's %s", cross.NotBefore, cross.NotAfter, oldCA.NotAfter)
			}
		})
	}
}

// TestSignRefusesAnEmptyValidity: Sign never returns a certificate whose
// notAfter is not after its notBefore.
func TestSignRefusesAnEmptyValidity(t *testing.T) {
	now := time.Now()
	key, _ := NewECDSAKey()
	expired, err := NewCA(pkix.Name{CommonName: "expired"}, key, now.Add(-48*time.Hour), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leafKey, _ := NewECDSAKey()
	tests := []struct {
		name     string
		parent   *x509.Certificate
		validity time.Duration
		wantErr  string
	}{
		{"self-signed, a day", nil, 24 * time.Hour, ""},
		{"self-signed, negative", nil, -time.Hour, "would end before it starts"},
		{"expired parent", expired, 24 * time.Hour, `the issuer "CN=expired" expired on`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signer := key
			if tt.parent == nil {
				signer = leafKey
			}
			c, err := Sign(&x509.Certificate{Subject: pkix.Name{CommonName: "leaf"}}, leafKey.Public(), tt.parent, signer, now, tt.validity)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatal(err)
			case tt.wantErr == "" && !c.NotAfter.After(c.NotBefore):
				t.Errorf("validity %s – %s", c.NotBefore, c.NotAfter)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Sign = %v; want an error with %q", err, tt.wantErr)
			}
		})
	}
}

// TestNewIntermediateCA: an intermediate signed by a root is a CA, verifies
// against the root, and is never valid beyond it.
func TestNewIntermediateCA(t *testing.T) {
	now := time.Now()
	rootKey, _ := NewECDSAKey()
	root, _ := NewCA(pkix.Name{CommonName: "root"}, rootKey, now, 365*24*time.Hour)
	for _, validity := range []time.Duration{30 * 24 * time.Hour, 3650 * 24 * time.Hour} {
		key, _ := NewECDSAKey()
		ca, err := NewIntermediateCA(pkix.Name{CommonName: "intermediate"}, key, root, rootKey, now, validity)
		if err != nil {
			t.Fatal(err)
		}
		if !ca.IsCA || ca.CheckSignatureFrom(root) != nil || ca.NotAfter.After(root.NotAfter) || !KeyMatches(ca, key) {
			t.Errorf("validity %s: IsCA %v, signature %v, notAfter %s (root %s)", validity, ca.IsCA, ca.CheckSignatureFrom(root), ca.NotAfter, root.NotAfter)
		}
	}
}
