package rotate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubecerts/kubecerts/shared/exitcode"
	"github.com/kubecerts/kubecerts/shared/pki"
)

// TestStagingRefusals: ca stage and sa-key never write into the live
// directory, whatever path leads there (a symbolic link, "..", a
// subdirectory), ca stage never over a staging directory that holds
// something, and both say which flag and path were wrong.
func TestStagingRefusals(t *testing.T) {
	live := livePKI(t, layouts["kubeadm"])
	base := filepath.Dir(live)
	link := filepath.Join(base, "link")
	if err := os.Symlink(live, link); err != nil {
		t.Fatal(err)
	}
	full := filepath.Join(base, "full")
	writeFile(t, filepath.Join(full, "old.crt"), []byte("x"), 0o644)
	file := filepath.Join(base, "file")
	writeFile(t, file, []byte("x"), 0o644)
	before := snapshot(t, base)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"ca", "stage", "--from", live, "--to", link}, "--to " + link + " is the live directory"},
		{[]string{"ca", "stage", "--from", live, "--to", live + "/../live"}, "is the live directory"},
		{[]string{"ca", "stage", "--from", live, "--to", filepath.Join(link, "new")}, "--to " + filepath.Join(link, "new") + " is inside the live directory"},
		{[]string{"ca", "stage", "--from", link, "--to", filepath.Join(live, "etcd")}, "is inside the live directory " + link},
		{[]string{"ca", "stage", "--from", live, "--to", full}, "--to " + full + ": not empty (it holds old.crt)"},
		{[]string{"ca", "stage", "--from", live, "--to", full, "--dry-run"}, "--to " + full + ": not empty"},
		{[]string{"ca", "stage", "--from", live, "--to", file}, "--to " + file + ": not a directory"},
		{[]string{"ca", "stage", "--from", filepath.Join(base, "nope"), "--to", filepath.Join(base, "new")}, "--from " + filepath.Join(base, "nope") + ": no such directory"},
		{[]string{"ca", "stage", "--from", full, "--to", filepath.Join(base, "new")}, "--from " + full + ": neither a kubeadm PKI"},
		{[]string{"sa-key", "--from", live, "--to", filepath.Join(live, "sub")}, "--to " + filepath.Join(live, "sub") + " is inside the live directory"},
		{[]string{"sa-key", "--from", live, "--to", filepath.Join(link, "sub")}, "is inside the live directory"},
		{[]string{"sa-key", "--from", live, "--to", file}, "--to " + file + ": not a directory"},
		{[]string{"sa-key", "--from", file, "--to", filepath.Join(base, "new")}, "--from " + file + ": not a directory"},
		{[]string{"ca", "verify", "--old", live, "--new", link}, "--new " + link + " is the live directory --old"},
		{[]string{"ca", "verify", "--old", live, "--new", filepath.Join(base, "nope")}, "--new " + filepath.Join(base, "nope") + ": no such directory"},
		{[]string{"ca", "verify", "--old", filepath.Join(base, "nope"), "--new", full}, "--old " + filepath.Join(base, "nope") + ": no such directory"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, errOut, code := runRotate(t, tt.args...)
			if code != exitcode.Error || out != "" || !strings.Contains(errOut, tt.want) || strings.Count(errOut, "error: ") != 1 {
				t.Errorf("exit %d, stdout %q, stderr %q; want 1 and %q", code, out, errOut, tt.want)
			}
		})
	}
	if snapshot(t, base) != before {
		t.Error("a refused command changed files")
	}
}

// TestSAKeyRefusesACorruptPublicKeyFile: sa.pub lists the keys the API
// server accepts; one that does not parse would lose them.
func TestSAKeyRefusesACorruptPublicKeyFile(t *testing.T) {
	live := livePKI(t, layouts["kubeadm"])
	writeFile(t, filepath.Join(live, "sa.pub"), []byte("not a key\n"), 0o644)
	staged := filepath.Join(filepath.Dir(live), "staged")
	_, errOut, code := runRotate(t, "sa-key", "--from", live, "--to", staged)
	if code != exitcode.Error || !strings.Contains(errOut, filepath.Join(live, "sa.pub")+": no key found") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	if _, err := os.Stat(staged); !os.IsNotExist(err) {
		t.Errorf("the staging directory was made: %v", err)
	}
}

// TestVerifyFailureIsOneErrorLine: a failed check is exit 1 with one error
// line naming the staging directory, the check and the file.
func TestVerifyFailureIsOneErrorLine(t *testing.T) {
	live := livePKI(t, layouts["kubeadm"])
	staged := filepath.Join(filepath.Dir(live), "staged")
	if _, errOut, code := runRotate(t, "ca", "stage", "--from", live, "--to", staged, "--cross-sign"); code != 0 {
		t.Fatalf("stage: %d %s", code, errOut)
	}
	other, _ := pki.NewECDSAKey()
	otherPEM, _ := pki.EncodeKey(other)
	writeFile(t, filepath.Join(staged, "ca.key"), otherPEM, 0o600)
	_, errOut, code := runRotate(t, "ca", "verify", "--old", live, "--new", staged)
	want := "error: " + staged + ": 1 of "
	if code != exitcode.Error || strings.Count(errOut, "error: ") != 1 || !strings.Contains(errOut, want) ||
		!strings.Contains(errOut, "ca/key-matches ("+filepath.Join(staged, "ca.key")+" does not match "+filepath.Join(staged, "ca.crt")+")") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	if strings.Contains(errOut, "PRIVATE KEY") {
		t.Error("a key was printed")
	}
}

func TestNormalizeFingerprint(t *testing.T) {
	fp := strings.Repeat("ab", 32)
	colons := strings.ToUpper(strings.TrimSuffix(strings.Repeat("AB:", 32), ":"))
	for in, want := range map[string]string{
		fp:                      fp,
		colons:                  fp,
		" " + fp + " ":          fp,
		"zz:zz":                 "",
		"":                      "",
		fp[:40]:                 "",
		strings.Repeat("g", 64): "",
		fp + "ab":               "",
	} {
		if got := normalizeFingerprint(in); got != want {
			t.Errorf("normalizeFingerprint(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestVerifyDisruptiveWarns: a set that is not cross-signed is exit 2 and
// one warning line naming the CAs, no error line.
func TestVerifyDisruptiveWarns(t *testing.T) {
	live := livePKI(t, layouts["k3s"])
	staged := filepath.Join(filepath.Dir(live), "staged")
	if _, errOut, code := runRotate(t, "ca", "stage", "--from", live, "--to", staged); code != 0 {
		t.Fatalf("stage: %d %s", code, errOut)
	}
	if _, errOut, code := runRotate(t, "sa-key", "--from", live, "--to", staged); code != 0 {
		t.Fatalf("sa-key: %d %s", code, errOut)
	}
	_, errOut, code := runRotate(t, "ca", "verify", "--old", live, "--new", staged)
	want := "warning: " + staged + ": disruptive rotation: server-ca, client-ca, request-header-ca, etcd/peer-ca, etcd/server-ca not signed by the old CA"
	if code != exitcode.Warning || strings.Contains(errOut, "error: ") || !strings.Contains(errOut, want) {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}
