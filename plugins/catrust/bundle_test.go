package catrust

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/kubecerts/kubecerts/shared/certificate"
)

// TestBundleRoundTrip: what FormatBundle writes, readBundle reads back as
// the same certificates in the same order, with no layout problem; the
// format is PEM blocks separated by one blank line, LF only.
func TestBundleRoundTrip(t *testing.T) {
	a, b, c := fixture(t, "ca-a"), fixture(t, "ca-b"), fixture(t, "ca-c")
	for _, tt := range []struct {
		name  string
		certs []*x509.Certificate
	}{
		{"one", []*x509.Certificate{a}},
		{"three", []*x509.Certificate{a, b, c}},
		{"order kept", []*x509.Certificate{c, a, b}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			data := FormatBundle(tt.certs)
			if bytes.Contains(data, []byte("\r")) || !bytes.HasSuffix(data, []byte("-----END CERTIFICATE-----\n")) {
				t.Errorf("not LF-only or not ending in a newline:\n%q", data)
			}
			if got, want := bytes.Count(data, []byte("-----END CERTIFICATE-----\n\n-----BEGIN")), len(tt.certs)-1; got != want {
				t.Errorf("%d blank-line separators, want %d", got, want)
			}
			f, err := readBundle(data)
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Layout) != 0 || f.Parsed.CRLF || f.Parsed.Format != certificate.FormatPEM {
				t.Errorf("layout %v, CRLF %v, format %s", f.Layout, f.Parsed.CRLF, f.Parsed.Format)
			}
			if len(f.Parsed.Certificates) != len(tt.certs) {
				t.Fatalf("read %d certificates, wrote %d", len(f.Parsed.Certificates), len(tt.certs))
			}
			for i, got := range f.Parsed.Certificates {
				if !got.Equal(tt.certs[i]) {
					t.Errorf("certificate %d differs", i+1)
				}
			}
			if again := FormatBundle(f.Parsed.Certificates); !bytes.Equal(again, data) {
				t.Error("writing what was read gives other bytes")
			}
		})
	}
}

// TestReadBundleForms: the encodings a bundle file comes in are read, and
// how they depart from the node-pool format is told.
func TestReadBundleForms(t *testing.T) {
	a, b := fixturePEM(t, "ca-a"), fixturePEM(t, "ca-b")
	good := FormatBundle([]*x509.Certificate{fixture(t, "ca-a"), fixture(t, "ca-b")})
	for _, tt := range []struct {
		name       string
		data       []byte
		certs      int
		crlf       bool
		layers     int
		layout     []string
		wantErrSub string
	}{
		{name: "node-pool format", data: good, certs: 2},
		{name: "two blank lines are fine", data: bytes.Replace(good, []byte("\n\n"), []byte("\n\n\n"), 1), certs: 2},
		{name: "crlf", data: bytes.ReplaceAll(good, []byte("\n"), []byte("\r\n")), certs: 2, crlf: true},
		{name: "base64 of the file", data: []byte(base64.StdEncoding.EncodeToString(good)), certs: 2, layers: 1},
		{name: "no blank line", data: append(append([]byte{}, a...), b...), certs: 2, layout: []string{"line 13: PEM blocks 1 and 2 are not separated by a blank line"}},
		{name: "text before", data: append([]byte("subject=CN = a\n"), good...), certs: 2, layout: []string{"line 1: text before the first PEM block"}},
		{name: "text between", data: bytes.Replace(good, []byte("\n\n"), []byte("\nissuer=x\n\n"), 1), certs: 2, layout: []string{"line 13: text after PEM block 1"}},
		{name: "text after", data: append(append([]byte{}, good...), "# end\n"...), certs: 2, layout: []string{"line 26: text after PEM block 2"}},
		{name: "empty", data: nil, wantErrSub: "empty"},
		{name: "truncated", data: good[:len(good)-40], certs: 1, wantErrSub: "PEM block 2 (line 14): truncated"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := readBundle(tt.data)
			if tt.wantErrSub != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrSub) {
					t.Fatalf("err = %v, want %q", err, tt.wantErrSub)
				}
				if tt.certs > 0 && (f.Parsed == nil || len(f.Parsed.Certificates) != tt.certs) {
					t.Errorf("kept %+v, want %d certificates read before the error", f.Parsed, tt.certs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Parsed.Certificates) != tt.certs || f.Parsed.CRLF != tt.crlf || f.Parsed.Base64Layers != tt.layers {
				t.Errorf("certs %d, CRLF %v, layers %d; want %d, %v, %d", len(f.Parsed.Certificates), f.Parsed.CRLF, f.Parsed.Base64Layers, tt.certs, tt.crlf, tt.layers)
			}
			if len(f.Layout) != len(tt.layout) {
				t.Fatalf("layout = %q, want %q", f.Layout, tt.layout)
			}
			for i := range tt.layout {
				if !strings.HasPrefix(f.Layout[i], tt.layout[i]) {
					t.Errorf("layout[%d] = %q, want it to start with %q", i, f.Layout[i], tt.layout[i])
				}
			}
		})
	}
}
