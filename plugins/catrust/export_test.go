package catrust

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestExport(t *testing.T) {
	s := secretWith(t, "ca-a", "ca-b")
	s.Data["ca10.crt"] = fixturePEM(t, "ca-c")
	s.Data["ca3.crt"] = bytes.ReplaceAll(fixturePEM(t, "ca-a"), []byte("\n"), []byte("\r\n")) // a second copy, CRLF
	c := fakeClient(s)
	code, out, errOut := run(t, c, "", "export")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut)
	}
	golden(t, "export.pem", out)
	want := FormatBundle([]*x509.Certificate{fixture(t, "ca-a"), fixture(t, "ca-b"), fixture(t, "ca-c")})
	if out != string(want) {
		t.Errorf("export is not the node-pool bundle of ca1, ca2, ca10 (ca3 is a copy of ca1):\n%s", out)
	}

	path := filepath.Join(t.TempDir(), "cas.pem")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = run(t, c, "", "export", "--output-file", path)
	got, _ := os.ReadFile(path)
	if code != 0 || out != "" || !bytes.Equal(got, want) || !strings.Contains(errOut, "wrote 3 certificates of secret kube-system/custom-ca-trust-secret to "+path) {
		t.Errorf("--output-file: exit %d, stdout %q, stderr %q, file:\n%s", code, out, errOut, got)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v; want 0644", fi.Mode(), err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestExportRefusals(t *testing.T) {
	broken := secretWith(t, "ca-a")
	broken.Data["ca2.crt"] = []byte("-----BEGIN CERTIFICATE-----\nMIIB\n")
	eleven := secretWith(t)
	for i, n := range []string{"ca-a", "ca-b", "ca-c", "ca-soon", "ca-warn", "ca-expired", "leaf"} {
		eleven.Data[nextKeyN(i+1)] = fixturePEM(t, n)
	}
	eleven.Data["ca8.crt"] = append(fixturePEM(t, "ca-a"), fixturePEM(t, "ca-b")...) // copies: not counted twice
	for _, tt := range []struct {
		name string
		c    *corev1.Secret
		args []string
		want string
	}{
		{name: "a key that does not parse", c: broken, want: "secret kube-system/custom-ca-trust-secret key ca2.crt does not hold a readable certificate"},
		{name: "no secret", c: nil, want: "secret kube-system/custom-ca-trust-secret not found"},
		{name: "no certificates", c: secretWith(t), want: "holds no certificates; nothing was exported"},
		{name: "over --max", c: eleven, args: []string{"--max", "6"}, want: "holds 7 certificates, over --max 6"},
		{name: "an argument", c: eleven, args: []string{"cas.pem"}, want: `unexpected argument "cas.pem"; use --output-file`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := fakeClient()
			if tt.c != nil {
				c = fakeClient(tt.c)
			}
			path := filepath.Join(t.TempDir(), "cas.pem")
			code, out, errOut := run(t, c, "", "export", append(tt.args, "--output-file", path)...)
			if code != 1 || out != "" || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant 1 and %q", code, out, errOut, tt.want)
			}
			if _, err := os.Stat(path); err == nil {
				t.Error("a file was written")
			}
		})
	}
	if code, _, errOut := run(t, fakeClient(eleven), "", "export"); code != 0 {
		t.Errorf("7 certificates: exit %d; stderr:\n%s", code, errOut)
	}
}

// TestExportOutputFileStdout: --output-file - is standard output, as - is
// elsewhere, not a file named "-".
func TestExportOutputFileStdout(t *testing.T) {
	t.Chdir(t.TempDir())
	code, out, errOut := run(t, fakeClient(secretWith(t, "ca-a")), "", "export", "--output-file", "-")
	if code != 0 || out != string(fixturePEM(t, "ca-a")) || errOut != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, err := os.Stat("-"); err == nil {
		t.Error(`a file named "-" was written`)
	}
}

// TestExportOutputFileRefused: an --output-file that cannot be written is one
// error naming it (never the temporary file), and nothing is left behind.
func TestExportOutputFileRefused(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ path, want string }{
		{filepath.Join(dir, "missing", "cas.pem"), ": directory " + filepath.Join(dir, "missing") + " does not exist; nothing was written"},
		{filepath.Join(dir, "sub"), ": is a directory; nothing was written"},
		{filepath.Join(file, "cas.pem"), ": " + file + " is not a directory; nothing was written"},
	} {
		code, out, errOut := run(t, fakeClient(secretWith(t, "ca-a")), "", "export", "--output-file", tt.path)
		if want := "error: --output-file " + tt.path + tt.want + "\n"; code != 1 || out != "" || errOut != want {
			t.Errorf("exit %d, stdout %q, stderr %q; want 1 and %q", code, out, errOut, want)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("files left: %v", entries)
	}
	if sub, _ := os.ReadDir(filepath.Join(dir, "sub")); len(sub) != 0 {
		t.Errorf("files left in sub: %v", sub)
	}
}
