package catrust

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// FuzzValidateManifest: any Secret manifest (YAML or JSON, one or many
// documents) is validated without a panic, and no problem message quotes a
// private key or a value that is not a certificate.
func FuzzValidateManifest(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: custom-ca-trust-secret\n  namespace: kube-system\ntype: Opaque\ndata:\n  ca1.crt: bm90IGEgY2VydA==\n  password: czNjcjN0\n"))
	f.Add([]byte("apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData:\n  ca1.crt: |\n    -----BEGIN PRIVATE KEY-----\n    MIGH\n    -----END PRIVATE KEY-----\n---\nkind: ConfigMap\n"))
	f.Add([]byte(`{"apiVersion":"v1","kind":"Secret","data":{"ca1.crt":"%%%"}}`))
	f.Add([]byte("kind: Secret\ndata: [1, 2\n"))
	f.Fuzz(func(t *testing.T, manifest []byte) {
		streams := genericiooptions.NewTestIOStreamsDiscard()
		streams.In = bytes.NewReader(manifest)
		o := NewValidateOptions(streams)
		o.Filename = "-"
		o.now = time.Now
		v, err := o.validateManifestFile()
		if err != nil {
			if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("error quotes the input: %v", err)
			}
			return
		}
		if v == nil {
			t.Fatal("no validator and no error")
		}
	})
}
