package source

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzKubeconfigFile: any file that looks like a kubeconfig gives
// certificates, errors or a skip, never a panic, and nothing reported
// quotes a key.
func FuzzKubeconfigFile(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://x\n    certificate-authority-data: bm90IGEgY2VydA==\nusers:\n- name: u\n  user:\n    client-certificate-data: LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JR0gKLS0tLS1FTkQgUFJJVkFURSBLRVktLS0tLQo=\ncontexts: []\n"))
	f.Add([]byte("kind: Config\nclusters: [\n"))
	f.Add([]byte("kind: Config\nusers:\n- name: a\n  user:\n    client-certificate: /nonexistent\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "kubeconfig")
		if err := os.WriteFile(path, append([]byte("kind: Config\n"), data...), 0o600); err != nil {
			t.Fatal(err)
		}
		rec := newRecorder()
		ReadCertificateFile("file", path, rec)
		r := rec.Report()
		for _, e := range r.Errors {
			if strings.Contains(e.Message, "PRIVATE KEY-----") {
				t.Fatalf("error quotes a key: %s", e.Message)
			}
		}
	})
}
