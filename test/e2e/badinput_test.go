package e2e_test

// The bad-input harness: every command has a table of the bad inputs its
// feature issue names (badinput_<plugin>_test.go), and each row is run
// through the real kubectl against the test cluster and held to the same
// contract:
//
//   - the exit status the row wants (1 for an error; 0, 2 or 3 when the
//     input is accepted or only noted);
//   - exactly one "error: " line on stderr, one line long, naming the input
//     (or none, when the row expects the input to be accepted);
//   - no other stderr line but notes, warnings, skipped lines and kubectl's
//     usage pointer ("See '… -h'"), unless the row allows more;
//   - no panic or Go runtime trace;
//   - no private-key material in stdout or stderr (framework.Kubectl already
//     fails on "PRIVATE KEY"; rows add the key bodies and secret values they
//     planted);
//   - what could still be checked is reported on stdout (the row's stdout
//     substrings);
//   - nothing changed on disk (every file and directory of the table's paths:
//     content, mode, no file added or removed — temp files included) or in
//     the cluster (the resourceVersion of every Secret, ConfigMap and Lease
//     in the table's namespaces, the kube-system trust secret, and every CSR whose
//     name has the table's prefix).

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubecerts/kubecerts/test/e2e/framework"
)

// badInput is one row of a command's bad-input table.
type badInput struct {
	name string
	// args are kubectl's arguments: the plugin, the verb and its flags.
	args []string
	// stdin is the command's standard input (nil: none).
	stdin []byte
	// kubeconfig to use; empty: the table's, else the cluster admin's.
	kubeconfig string
	// code is the wanted exit status.
	code int
	// err must be part of the one "error: " line; empty: no error line at
	// all (the input is accepted, or only noted).
	err string
	// stdout substrings: what could still be checked is reported.
	stdout []string
	// stderr substrings wanted besides the error line (notes, warnings).
	stderr []string
	// never may appear in stdout or stderr: key bodies, secret values.
	never []string
	// extraStderr are prefixes of further stderr lines this row allows
	// (status lines such as "Dry run: …"); never a second error line.
	extraStderr []string
	// before runs ahead of the snapshot (e.g. to make a file unreadable).
	before func(t *testing.T)
}

// badInputTable is a command's bad-input table and what must not change.
type badInputTable struct {
	// disk paths (files or directory trees) no row may change.
	disk []string
	// namespaces whose Secrets, ConfigMaps and Leases no row may change.
	namespaces []string
	// csrPrefix: the CSRs (name prefix) no row may change; empty: none.
	csrPrefix string
	// kubeconfig for every row that names none; empty: the admin's.
	kubeconfig string
	rows       []badInput
}

// rowTimeout bounds one row: bad input must fail fast, not hang.
const rowTimeout = 2 * time.Minute

// stderrAllowed are the prefixes of stderr lines any row may print besides
// its error line.
var stderrAllowed = []string{"note: ", "warning: ", "skipped: ", "See '"}

// runBadInputs runs each row of tbl as a subtest.
func runBadInputs(t *testing.T, tbl badInputTable) {
	t.Helper()
	c := framework.Shared(t)
	admin := c.Clientset()
	dir := framework.BuildPlugins(t)
	for _, row := range tbl.rows {
		t.Run(row.name, func(t *testing.T) {
			if row.before != nil {
				row.before(t)
			}
			kubeconfig := row.kubeconfig
			if kubeconfig == "" {
				kubeconfig = tbl.kubeconfig
			}
			if kubeconfig == "" {
				kubeconfig = c.AdminKubeconfig
			}
			disk := snapshotDisk(t, tbl.disk)
			cluster := snapshotCluster(t, admin, tbl.namespaces, tbl.csrPrefix)

			// A row that never ends fails here, not at go test's timeout.
			ctx, cancel := context.WithTimeout(t.Context(), rowTimeout)
			defer cancel()
			stdout, stderr, err := framework.KubectlInput(ctx, dir, kubeconfig, row.stdin, row.args...)
			if ctx.Err() != nil {
				t.Fatalf("kubectl %s did not end within %v\nstdout:\n%s\nstderr:\n%s", strings.Join(row.args, " "), rowTimeout, stdout, stderr)
			}
			code := -1 // not known when the output held a private key
			if errors.Is(err, framework.ErrPrivateKeyInOutput) {
				t.Errorf("output holds a private key:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
			} else {
				code = exitCode(t, err)
			}
			what := fmt.Sprintf("kubectl %s", strings.Join(row.args, " "))
			if code != row.code {
				t.Errorf("%s: exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", what, code, row.code, stdout, stderr)
			}
			checkStderr(t, what, stderr, row)
			for _, s := range row.stdout {
				if !strings.Contains(stdout, s) {
					t.Errorf("%s: stdout lacks %q (what could still be checked):\n%s", what, s, stdout)
				}
			}
			for _, s := range row.never {
				if s != "" && strings.Contains(stdout+stderr, s) {
					t.Errorf("%s: output shows %q, which must never be printed", what, s)
				}
			}
			if strings.Contains(stdout, "error: ") {
				t.Errorf("%s: an error went to stdout:\n%s", what, stdout)
			}
			if after := snapshotDisk(t, tbl.disk); !equalSnapshots(t, "disk", disk, after) {
				t.Errorf("%s changed files on disk", what)
			}
			if after := snapshotCluster(t, admin, tbl.namespaces, tbl.csrPrefix); !equalSnapshots(t, "cluster", cluster, after) {
				t.Errorf("%s changed objects in the cluster", what)
			}
		})
	}
}

// checkStderr holds stderr to the contract: one error line naming the
// input (or none), nothing but allowed lines besides, no crash.
func checkStderr(t errorReporter, what, stderr string, row badInput) {
	t.Helper()
	for _, crash := range []string{"panic:", "goroutine ", "runtime error", "[signal "} {
		if strings.Contains(stderr, crash) {
			t.Errorf("%s: stderr shows a crash (%q):\n%s", what, crash, stderr)
		}
	}
	var errLines, other []string
	allowed := append(append([]string(nil), stderrAllowed...), row.extraStderr...)
lines:
	for _, l := range strings.Split(strings.TrimRight(stderr, "\n"), "\n") {
		switch {
		case l == "":
			continue
		case strings.HasPrefix(l, "error: "):
			errLines = append(errLines, l)
			continue
		}
		for _, p := range allowed {
			if strings.HasPrefix(l, p) {
				continue lines
			}
		}
		other = append(other, l)
	}
	switch {
	case row.err == "" && len(errLines) != 0:
		t.Errorf("%s: want no error line, got:\n%s", what, strings.Join(errLines, "\n"))
	case row.err != "" && len(errLines) != 1:
		t.Errorf("%s: want one error line with %q, got %d:\n%s", what, row.err, len(errLines), stderr)
	case row.err != "" && !strings.Contains(errLines[0], row.err):
		t.Errorf("%s: error line %q does not contain %q", what, errLines[0], row.err)
	}
	if len(other) > 0 {
		t.Errorf("%s: stderr lines that are neither the error nor a note:\n%s", what, strings.Join(other, "\n"))
	}
	for _, s := range row.stderr {
		if !strings.Contains(stderr, s) {
			t.Errorf("%s: stderr lacks %q:\n%s", what, s, stderr)
		}
	}
}

// errorReporter is the part of testing.T that checkStderr reports through.
type errorReporter interface {
	Helper()
	Errorf(format string, args ...any)
}

// recorder is an errorReporter that keeps what was reported.
type recorder struct{ msgs []string }

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

// snapshotDisk records every file and directory under paths: its mode and,
// for files, the SHA-256 of its content. A path that does not exist is
// recorded as absent.
func snapshotDisk(t *testing.T, paths []string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	for _, root := range paths {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) && p == root {
				snap[p] = "absent"
				return nil
			}
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			v := info.Mode().String()
			if info.Mode().IsRegular() {
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				sum := sha256.Sum256(b)
				v += " " + hex.EncodeToString(sum[:])
			}
			snap[p] = v
			return nil
		})
		if err != nil {
			t.Fatalf("snapshot of %s: %v", root, err)
		}
	}
	return snap
}

// snapshotCluster records the resourceVersion of every Secret, ConfigMap
// and Lease in namespaces, of kube-system's Secrets (the trust secret's home), and of
// the CSRs named with csrPrefix.
func snapshotCluster(t *testing.T, admin kubernetes.Interface, namespaces []string, csrPrefix string) map[string]string {
	t.Helper()
	ctx := t.Context()
	snap := map[string]string{}
	for _, ns := range append([]string{"kube-system"}, namespaces...) {
		secrets, err := admin.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatalf("listing secrets in %s: %v", ns, err)
		}
		for _, s := range secrets.Items {
			snap["secret "+ns+"/"+s.Name] = s.ResourceVersion
		}
		if ns == "kube-system" {
			continue // its ConfigMaps are the control plane's
		}
		leases, err := admin.CoordinationV1().Leases(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatalf("listing leases in %s: %v", ns, err)
		}
		for _, l := range leases.Items {
			snap["lease "+ns+"/"+l.Name] = l.ResourceVersion
		}
		cms, err := admin.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatalf("listing configmaps in %s: %v", ns, err)
		}
		for _, cm := range cms.Items {
			snap["configmap "+ns+"/"+cm.Name] = cm.ResourceVersion
		}
	}
	if csrPrefix != "" {
		csrs, err := admin.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatalf("listing CSRs: %v", err)
		}
		for _, csr := range csrs.Items {
			if strings.HasPrefix(csr.Name, csrPrefix) {
				snap["csr "+csr.Name] = csr.ResourceVersion
			}
		}
	}
	return snap
}

// equalSnapshots reports whether two snapshots are the same, logging what
// differs.
func equalSnapshots(t *testing.T, what string, before, after map[string]string) bool {
	t.Helper()
	var diffs []string
	for k, v := range before {
		if w, ok := after[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: removed", k))
		} else if w != v {
			diffs = append(diffs, fmt.Sprintf("%s: %s → %s", k, v, w))
		}
	}
	for k, w := range after {
		if _, ok := before[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: added (%s)", k, w))
		}
	}
	sort.Strings(diffs)
	for _, d := range diffs {
		t.Logf("%s changed: %s", what, d)
	}
	return len(diffs) == 0
}

// writeFile writes data to dir/name (mode 0644) and returns its path.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	writePath(t, p, data, 0o644)
	return p
}

// writePath writes data to path with perm, creating its directory.
func writePath(t *testing.T, path string, data []byte, perm os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
}

// keyBody is a line from the middle of a PEM private key: if it shows up in
// any output, the key was printed, whatever its header says.
func keyBody(keyPEM []byte) string {
	lines := strings.Split(strings.TrimSpace(string(keyPEM)), "\n")
	if len(lines) < 3 {
		return ""
	}
	return lines[len(lines)/2]
}

// TestBadInputHarness: the harness itself fails the rows it should — a
// wrong status, a missing or second error line, a crash, a changed file —
// so a table that passes means something.
func TestBadInputHarness(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "a", []byte("x"))
	before := snapshotDisk(t, []string{dir})
	if err := os.WriteFile(f, []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "a.tmp", nil)
	if equalSnapshots(t, "disk (expected to differ)", before, snapshotDisk(t, []string{dir})) {
		t.Error("a changed and an added file went unseen")
	}
	if err := os.Chmod(f, 0o600); err != nil {
		t.Fatal(err)
	}
	mid := snapshotDisk(t, []string{dir})
	if err := os.Chmod(f, 0o644); err != nil {
		t.Fatal(err)
	}
	if equalSnapshots(t, "disk (expected to differ)", mid, snapshotDisk(t, []string{dir})) {
		t.Error("a mode change went unseen")
	}
	for _, tt := range []struct {
		stderr string
		row    badInput
		ok     bool
	}{
		{"error: file x: empty\n", badInput{err: "file x"}, true},
		{"error: file x: empty\nSee 'kubectl certs check -h' for help and examples.\n", badInput{err: "file x"}, true},
		{"note: x.b64: base64 of PEM\n", badInput{}, true},
		{"error: file x: empty\nerror: file y: empty\n", badInput{err: "file x"}, false},
		{"error: file x: empty\n", badInput{err: "file y"}, false},
		{"error: file x: two\nlines\n", badInput{err: "file x"}, false},
		{"", badInput{err: "file x"}, false},
		{"error: file x\n", badInput{}, false},
		{"panic: runtime error: index out of range\n", badInput{}, false},
		{"wrote 2 certificates\n", badInput{}, false},
		{"wrote 2 certificates\n", badInput{extraStderr: []string{"wrote "}}, true},
	} {
		rec := &recorder{}
		checkStderr(rec, "test", tt.stderr, tt.row)
		if got := len(rec.msgs) == 0; got != tt.ok {
			t.Errorf("stderr %q with row %+v: passed=%v, want %v (%s)", tt.stderr, tt.row, got, tt.ok, rec.msgs)
		}
	}
}
