package certificate

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubecerts/kubecerts/shared/certificate/certtest"
)

func TestParse(t *testing.T) {
	ca := certtest.CA(t, "test-ca")
	leaf := certtest.New(t, certtest.Template{CommonName: "leaf", DNSNames: []string{"leaf.example"}}, ca)
	bundle := append(append([]byte{}, leaf.PEM()...), ca.PEM()...)
	keyPEM := leaf.KeyPEM(t)
	crlf := bytes.ReplaceAll(bundle, []byte("\n"), []byte("\r\n"))
	cr := bytes.ReplaceAll(bundle, []byte("\n"), []byte("\r"))
	b64 := []byte(base64.StdEncoding.EncodeToString(bundle))
	b64b64 := []byte(base64.StdEncoding.EncodeToString(b64))
	wrapped := []byte(wrap(string(b64), 76))
	der := append(append([]byte{}, leaf.Cert.Raw...), ca.Cert.Raw...)
	truncated := bundle[:len(leaf.PEM())+len(ca.PEM())/2]
	badBase64 := bytes.Replace(append([]byte{}, bundle...), []byte("\n"), []byte("\n!!!!\n"), 2)
	withKey := append(append([]byte{}, keyPEM...), leaf.PEM()...)
	csr := []byte("-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n")
	// One line gone from the first of two certificates: its END (pem.Decode
	// would then skip it and decode the second), or its BEGIN (its body
	// would pass as text outside the blocks).
	noEnd := bytes.Replace(append([]byte{}, bundle...), []byte("-----END CERTIFICATE-----\n"), nil, 1)
	noBegin := bytes.Replace(append([]byte{}, bundle...), []byte("-----BEGIN CERTIFICATE-----\n"), nil, 1)
	noSecondBegin := append(append([]byte{}, leaf.PEM()...), bytes.Replace(ca.PEM(), []byte("-----BEGIN CERTIFICATE-----\n"), nil, 1)...)

	tests := []struct {
		name      string
		in        []byte
		wantCerts int
		wantFmt   Format
		wantCRLF  bool
		wantLayer int
		wantSkip  int
		wantErr   string
		noCert    bool
	}{
		{name: "pem bundle", in: bundle, wantCerts: 2, wantFmt: FormatPEM},
		{name: "pem with text around", in: append([]byte("subject=foo\n"), append(bundle, []byte("trailer\n")...)...), wantCerts: 2, wantFmt: FormatPEM},
		{name: "crlf", in: crlf, wantCerts: 2, wantFmt: FormatPEM, wantCRLF: true},
		{name: "cr only", in: cr, wantCerts: 2, wantFmt: FormatPEM, wantCRLF: true},
		{name: "der", in: der, wantCerts: 2, wantFmt: FormatDER},
		{name: "base64 of pem", in: b64, wantCerts: 2, wantFmt: FormatBase64PEM, wantLayer: 1},
		{name: "base64 of pem wrapped", in: wrapped, wantCerts: 2, wantFmt: FormatBase64PEM, wantLayer: 1},
		{name: "base64 of base64", in: b64b64, wantCerts: 2, wantFmt: FormatBase64PEM, wantLayer: 2},
		{name: "base64 of der", in: []byte(base64.StdEncoding.EncodeToString(leaf.Cert.Raw)), wantCerts: 1, wantFmt: FormatBase64DER, wantLayer: 1},
		{name: "key then cert", in: withKey, wantCerts: 1, wantFmt: FormatPEM, wantSkip: 1},
		{name: "key only", in: keyPEM, wantErr: "no CERTIFICATE block, only a private key", noCert: true},
		{name: "csr only", in: csr, wantErr: "no CERTIFICATE block, only a CERTIFICATE REQUEST", noCert: true},
		{name: "empty", in: nil, wantErr: "empty", noCert: true},
		{name: "white space", in: []byte(" \n\t\n"), wantErr: "empty", noCert: true},
		{name: "text", in: []byte("hello, world\n"), wantErr: "no -----BEGIN line", noCert: true},
		{name: "binary", in: []byte{0x7f, 'E', 'L', 'F', 0, 1, 2, 3}, wantErr: "binary data", noCert: true},
		{name: "truncated", in: truncated, wantErr: "PEM block 2 (line", wantCerts: 1},
		{name: "first END line missing", in: noEnd, wantErr: "PEM block 1 (line 1): truncated CERTIFICATE block, no END line"},
		{name: "first BEGIN line missing", in: noBegin, wantErr: "PEM block 1 (line 10): END line without a BEGIN line"},
		{name: "second BEGIN line missing", in: noSecondBegin, wantErr: "END line without a BEGIN line", wantCerts: 1},
		{name: "bad base64 in pem", in: badBase64, wantErr: "PEM block 1 (line 1): malformed CERTIFICATE block"},
		{name: "garbage der", in: []byte{0x30, 0x03, 0x01, 0x01, 0xff}, wantErr: "DER data does not parse"},
		{name: "pem no certificate inside", in: []byte("-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n"), wantErr: "CERTIFICATE does not parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Parse(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want containing %q", err, tt.wantErr)
				}
				if tt.noCert && !errors.Is(err, ErrNoCertificate) {
					t.Errorf("error %v does not wrap ErrNoCertificate", err)
				}
				if strings.Contains(err.Error(), "PRIVATE KEY-----") || strings.Contains(err.Error(), "MII") {
					t.Errorf("error echoes input: %v", err)
				}
				if tt.wantCerts > 0 && (b == nil || len(b.Certificates) != tt.wantCerts) {
					t.Errorf("partial bundle should keep %d certificates, got %+v", tt.wantCerts, b)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got := len(b.Certificates); got != tt.wantCerts {
				t.Errorf("certificates = %d, want %d", got, tt.wantCerts)
			}
			if b.Format != tt.wantFmt || b.CRLF != tt.wantCRLF || b.Base64Layers != tt.wantLayer || len(b.Skipped) != tt.wantSkip {
				t.Errorf("bundle = format %s crlf %v layers %d skipped %v; want %s %v %d %d",
					b.Format, b.CRLF, b.Base64Layers, b.Skipped, tt.wantFmt, tt.wantCRLF, tt.wantLayer, tt.wantSkip)
			}
			if b.Certificates[0].Subject.CommonName != "leaf" {
				t.Errorf("first certificate = %q, want leaf (order kept)", b.Certificates[0].Subject.CommonName)
			}
		})
	}
}

func TestNotesNeverHoldKeyMaterial(t *testing.T) {
	ca := certtest.CA(t, "ca")
	key := ca.KeyPEM(t)
	b, err := Parse(append(append([]byte{}, key...), ca.PEM()...))
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(b.Notes(), "\n")
	if !strings.Contains(notes, "skipped a private key (PEM block 1), not read") {
		t.Errorf("notes = %q, want the key named as skipped", notes)
	}
	body := strings.Split(string(key), "\n")[1]
	if strings.Contains(notes, body[:20]) {
		t.Errorf("notes contain key material: %q", notes)
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	ca := certtest.CA(t, "ca")
	good := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(good, ca.PEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.pem")
	if err := os.WriteFile(big, bytes.Repeat([]byte("a"), MaxFileSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadFile(good); err != nil || len(b.Certificates) != 1 {
		t.Fatalf("ReadFile(good) = %v, %v", b, err)
	}
	for path, want := range map[string]string{
		big:                           "over the 8388608-byte limit",
		dir:                           "is a directory",
		filepath.Join(dir, "missing"): "no such file",
	} {
		_, err := ReadFile(path)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
			t.Errorf("ReadFile(%s) error = %v, want naming the path and %q", path, err, want)
		}
	}
}

func wrap(s string, n int) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + "\n")
		s = s[n:]
	}
	b.WriteString(s + "\n")
	return b.String()
}

// TestParseDEREndingInWhiteSpace: DER whose last byte happens to be a
// white-space character (a newline, a space, …, about one certificate in
// 50) is read whole, not trimmed into a malformed certificate.
func TestParseDEREndingInWhiteSpace(t *testing.T) {
	for i := 0; i < 5000; i++ {
		c := certtest.CA(t, "der-ca")
		if last := c.Cert.Raw[len(c.Cert.Raw)-1]; last != '\n' && last != ' ' && last != '\t' && last != '\r' && last != '\v' && last != '\f' {
			continue
		}
		for _, in := range [][]byte{c.Cert.Raw, append(append([]byte{}, c.Cert.Raw...), '\n')} {
			b, err := Parse(in)
			if err != nil || len(b.Certificates) != 1 || !b.Certificates[0].Equal(c.Cert) {
				t.Fatalf("DER ending in %#x: %v", c.Cert.Raw[len(c.Cert.Raw)-1], err)
			}
		}
		return
	}
	t.Skip("no certificate ending in white space was made")
}
