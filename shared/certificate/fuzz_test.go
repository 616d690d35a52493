package certificate

import (
	"bytes"
	"encoding/base64"
	"os"
	"strings"
	"testing"
)

// FuzzParse: any input gives certificates or an error, never a panic, and an
// error never quotes the input's key material.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"../../plugins/certs/testdata/bundle.pem", "../../plugins/certs/testdata/leaf.pem"} {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
			f.Add(bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n")))
			f.Add([]byte(base64.StdEncoding.EncodeToString(data)))
			f.Add(data[:len(data)/2])
		}
	}
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte{0x30, 0x82, 0x01, 0x00})
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Parse(data)
		if err == nil && (b == nil || len(b.Certificates) == 0) {
			t.Fatalf("no error and no certificate")
		}
		if err != nil && strings.Contains(err.Error(), "PRIVATE KEY-----") {
			t.Fatalf("error quotes a key: %v", err)
		}
		if b != nil {
			for _, n := range b.Notes() {
				if strings.Contains(n, "-----") {
					t.Fatalf("note quotes input: %q", n)
				}
			}
		}
	})
}
