package catrust

import (
	"encoding/base64"
	"reflect"
	"testing"
)

// TestPrintableSecret: a printed Secret holds the certificate keys whose
// values are certificates and nothing else; any other text in a value may
// be a secret, and keeps the key out of the print.
func TestPrintableSecret(t *testing.T) {
	a, b := fixturePEM(t, "ca-a"), fixturePEM(t, "ca-b")
	cat := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	b64 := func(v []byte) []byte { return []byte(base64.StdEncoding.EncodeToString(v)) }
	data := map[string][]byte{
		"ca1.crt": a,
		"ca2.crt": cat(a, []byte("\n"), b),
		"ca3.crt": b64(a), // base64 of PEM: a certificate, badly encoded
		"ca4.crt": cat(a, []byte("db_password: hunter2\n")),
		"ca5.crt": cat([]byte("password=hunter2\n"), a),
		"ca6.crt": b64(cat(a, []byte("db_password: hunter2\n"))),
		"ca7.crt": []byte("not a certificate"),
		"token":   []byte("s3cr3t-value"),
	}
	out, left := printableSecret(trustSecret(data))
	want := map[string]bool{"ca1.crt": true, "ca2.crt": true, "ca3.crt": true}
	for k := range data {
		if _, ok := out.Data[k]; ok != want[k] {
			t.Errorf("key %s printed = %v, want %v", k, ok, want[k])
		}
	}
	if wantLeft := []string{"ca4.crt", "ca5.crt", "ca6.crt", "ca7.crt", "token"}; !reflect.DeepEqual(left, wantLeft) {
		t.Errorf("left out %v, want %v", left, wantLeft)
	}
}
