package certs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	cmdtesting "k8s.io/kubectl/pkg/cmd/testing"

	"github.com/kubecerts/kubecerts/plugins/certs/source"
	"github.com/kubecerts/kubecerts/shared/exitcode"
	"github.com/kubecerts/kubecerts/shared/golden"
)

// fixedNow is when the golden reports are made: testdata/leaf.pem is OK then,
// soon.pem CRITICAL and expired.pem EXPIRED.
var fixedNow = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)

func runCheck(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	tf := cmdtesting.NewTestFactory()
	defer tf.Cleanup()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	o := NewCheckOptions(streams)
	o.now = func() time.Time { return fixedNow }
	cmd := newCmdCheck(tf, o)
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	if err != nil && !exitcode.Silent(err) {
		errOut.WriteString("error: " + err.Error() + "\n")
	}
	return exitcode.FromError(err), out.String(), errOut.String()
}

func TestCheckFilesGolden(t *testing.T) {
	files := []string{"--file", "testdata/bundle.pem", "--file", "testdata/soon.pem", "--file", "testdata/expired.pem"}
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"check-files.table", nil},
		{"check-files.wide", []string{"-o", "wide"}},
		{"check-files.json", []string{"-o", "json"}},
		{"check-files.yaml", []string{"-o", "yaml"}},
		{"check-files.by-location", []string{"--sort-by", "location", "--no-headers"}},
		{"check-files.prometheus", []string{"-o", "prometheus"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, _ := runCheck(t, append(files, tt.args...)...)
			if code != exitcode.Critical {
				t.Errorf("exit status = %d, want 3 (an expired certificate)", code)
			}
			golden.Assert(t, tt.name, out)
		})
	}
}

func TestCheckExitStatus(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"all ok", []string{"--file", "testdata/leaf.pem"}, 0},
		{"warning", []string{"--file", "testdata/leaf.pem", "--warn-within", "400d", "--critical-within", "1d"}, 2},
		{"critical", []string{"--file", "testdata/soon.pem"}, 3},
		{"expired", []string{"--file", "testdata/expired.pem"}, 3},
		{"error only", []string{"--file", "testdata/missing.pem"}, 1},
		{"error and ok", []string{"--file", "testdata/missing.pem", "--file", "testdata/leaf.pem"}, 1},
		{"error and critical: the highest wins", []string{"--file", "testdata/missing.pem", "--file", "testdata/soon.pem"}, 3},
		{"filtered to OK only", []string{"--file", "testdata/*.pem", "--status", "ok"}, 0},
		{"expiring within 2 days", []string{"--file", "testdata/*.pem", "--expiring-within", "2d", "-o", "name"}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCheck(t, tt.args...)
			if code != tt.want {
				t.Errorf("exit status = %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.want, out, errOut)
			}
		})
	}
}

func TestCheckFilters(t *testing.T) {
	_, out, _ := runCheck(t, "--file", "testdata/*.pem", "--expiring-within", "2d", "-o", "jsonpath={range .certificates[*]}{.subject}{\"\\n\"}{end}")
	if got := strings.Fields(out); len(got) != 2 || got[0] != "CN=expired,O=kubecerts" || got[1] != "CN=soon,O=kubecerts" {
		t.Errorf("--expiring-within 2d = %v, want expired then soon", got)
	}
	_, out, _ = runCheck(t, "--file", "testdata/*.pem", "--status", "EXPIRED,CRITICAL", "-o", "jsonpath={.summary}")
	if !strings.Contains(out, `"critical":1`) || !strings.Contains(out, `"expired":1`) || !strings.Contains(out, `"total":2`) {
		t.Errorf("summary after --status = %s", out)
	}
}

func TestCheckBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	leaf, _ := os.ReadFile("testdata/leaf.pem")
	noRead := filepath.Join(dir, "noread")
	if err := os.Mkdir(noRead, 0o000); err != nil {
		t.Fatal(err)
	}
	inputs := map[string]string{
		write("empty.pem", nil):                                               "empty",
		write("key.pem", []byte(testKey)):                                     "only a private key",
		write("truncated.pem", leaf[:len(leaf)/2]):                            "truncated",
		write("badb64.pem", bytes.Replace(leaf, []byte("M"), []byte("!"), 3)): "malformed",
		write("binary.bin", []byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0}):    "binary data",
		write("text.txt", []byte("not a certificate\n")):                      "no -----BEGIN line",
		filepath.Join(noRead, "*"):                                            "",
	}
	args := []string{"--file", "testdata/leaf.pem"}
	for p := range inputs {
		args = append(args, "--file", p)
	}
	code, out, errOut := runCheck(t, append(args, "-o", "json")...)
	if code != exitcode.Error {
		t.Errorf("exit status = %d, want 1", code)
	}
	if !strings.Contains(out, "CN=leaf,O=kubecerts") {
		t.Errorf("the good file was not reported:\n%s", out)
	}
	for p, want := range inputs {
		line := ""
		for _, l := range strings.Split(errOut, "\n") {
			if strings.Contains(l, p) {
				line = l
			}
		}
		if line == "" || !strings.Contains(line, want) {
			t.Errorf("no error line naming %s with %q in:\n%s", p, want, errOut)
		}
	}
	for _, s := range []string{out, errOut} {
		if strings.Contains(s, "PRIVATE KEY-----") || strings.Contains(s, "MIG") || strings.Contains(s, "panic") {
			t.Errorf("output leaks key material or panics:\n%s", s)
		}
	}
}

func TestCheckUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--source", "bogus"}, `--source "bogus": unknown source`},
		{[]string{"--source", "endpoint"}, "--source endpoint needs at least one --endpoint"},
		{[]string{"--endpoint", "ftp://x"}, `scheme "ftp" is not https`},
		{[]string{"--file", "x", "--sort-by", "name"}, `--sort-by "name"`},
		{[]string{"--file", "x", "--status", "BAD"}, `--status "BAD"`},
		{[]string{"--file", "x", "--warn-within", "1d"}, "--critical-within (7d) must not be longer than --warn-within (1d)"},
		{[]string{"--file", "x", "--warn-within", "soon"}, `invalid duration "soon"`},
		{[]string{"--file", "x", "-o", "xml"}, `--output "xml"`},
		{[]string{"extra-arg"}, "unknown command"},
		{[]string{"--file", ""}, `--file "": must not be empty`},
		{[]string{"--source", "secrets", "-l", "a in (b"}, `-l/--selector "a in (b": unable to parse requirement`},
		{[]string{"--source", "secrets", "--field-selector", "a"}, `--field-selector "a": invalid selector`},
		{[]string{"--pki-dir", ""}, `--pki-dir "": must not be empty`},
		{[]string{"--k3s-dir", " "}, `--k3s-dir " ": must not be empty`},
		{[]string{"--run-command-output", ""}, `--run-command-output "": must not be empty`},
	} {
		code, _, errOut := runCheck(t, tt.args...)
		if code != 1 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", tt.args, code, errOut, tt.want)
		}
	}
}

// testKey is a throwaway EC key that must never be echoed.
const testKey = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgVcB/UNPxalR9zDYA
jQIfjojUDiQuGnSJrFEEzZPT/92hRANCAASc7UJtgnF/abqWM60T3XwJ+YhbqRDF
PsTMFVEiGEiV3dN0BdvYSMeqfBoRtPJRAuyvFgQYqm+WDwZDTRMGXBWF
-----END PRIVATE KEY-----
`

// TestPKIDirBringsItsKubeconfigDir: a --pki-dir comes with the kubeconfig
// directory beside it and its node's kubelet directory, or none, never the
// host's for a copy elsewhere; with --source too.
func TestPKIDirBringsItsKubeconfigDir(t *testing.T) {
	tf := cmdtesting.NewTestFactory()
	defer tf.Cleanup()
	const none = "(none)"
	for _, tt := range []struct {
		args                        []string
		wantKubeconfig, wantKubelet string
	}{
		{[]string{"--pki-dir", "/srv/node1/etc/kubernetes/pki/"}, "/srv/node1/etc/kubernetes", "/srv/node1/var/lib/kubelet/pki"},
		{[]string{"--pki-dir", "/srv/node1/pki", "--kubeconfig-dir", "/srv/confs"}, "/srv/confs", none},
		{[]string{"--kubelet-pki-dir", "/x"}, "/etc/kubernetes", "/x"},
		{[]string{"--source", "pki-dir"}, "/etc/kubernetes", "/var/lib/kubelet/pki"},
		{[]string{"--pki-dir", "/etc/kubernetes/pki"}, "/etc/kubernetes", "/var/lib/kubelet/pki"},
		{[]string{"--pki-dir", "etc/kubernetes/pki"}, "etc/kubernetes", "var/lib/kubelet/pki"},
		// --source no longer drops the defaults that come with --pki-dir.
		{[]string{"--source", "endpoint,pki-dir", "--endpoint", "x:443", "--pki-dir", "./pki"}, ".", none},
		{[]string{"--source", "pki-dir", "--pki-dir", "/backup/pki"}, "/backup", none},
		{[]string{"--pki-dir", "/backup/pki", "--kubelet-pki-dir", "/backup/kubelet"}, "/backup", "/backup/kubelet"},
		{[]string{"--pki-dir", "/backup/kubernetes/pki"}, "/backup/kubernetes", none},
	} {
		o := NewCheckOptions(genericiooptions.NewTestIOStreamsDiscard())
		cmd := newCmdCheck(tf, o)
		if err := cmd.ParseFlags(tt.args); err != nil {
			t.Fatal(err)
		}
		if err := o.Complete(tf, cmd); err != nil {
			t.Fatal(err)
		}
		if o.KubeconfigDir != tt.wantKubeconfig || !o.selected[SourcePKIDir] {
			t.Errorf("%v: kubeconfig dir %q (pki-dir selected %v), want %q", tt.args, o.KubeconfigDir, o.selected[SourcePKIDir], tt.wantKubeconfig)
		}
		var src *source.PKIDir
		for _, s := range o.sources() {
			if p, ok := s.(*source.PKIDir); ok {
				src = p
			}
		}
		kubelet := none
		if src != nil && !src.NoKubelet {
			kubelet = src.KubeletPKIDir
		}
		if src == nil || kubelet != tt.wantKubelet || src.KubeconfigDir != tt.wantKubeconfig {
			t.Errorf("%v: pki-dir source %+v; want kubeconfig dir %q, kubelet dir %s", tt.args, src, tt.wantKubeconfig, tt.wantKubelet)
		}
	}
}

// TestCheckErrorLinesNameTheInputOnce: "error: SOURCE LOCATION: MESSAGE"
// names the input in LOCATION; the message does not repeat it.
func TestCheckErrorLinesNameTheInputOnce(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin.dat")
	if err := os.WriteFile(bin, []byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0}, 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	for _, args := range [][]string{
		{"--file", bin},
		{"--file", missing},
		{"--file", filepath.Join(dir, "none-*.pem")},
		{"--pki-dir", filepath.Join(dir, "no-pki")},
		{"--pki-dir", bin},
		{"--k3s-dir", filepath.Join(dir, "no-k3s")},
		{"--run-command-output", bin},
		{"--run-command-output", missing},
	} {
		code, _, errOut := runCheck(t, append(args, "-o", "json")...)
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if code != exitcode.Error || len(lines) != 1 || !strings.HasPrefix(lines[0], "error: ") {
			t.Errorf("%v: exit %d, stderr %q; want 1 and one error line", args, code, errOut)
			continue
		}
		if n := strings.Count(lines[0], args[1]); n != 1 {
			t.Errorf("%v: %q names the input %d times, want once", args, lines[0], n)
		}
	}
}

func TestKubeconfigErrorSaysWhereOnce(t *testing.T) {
	o := NewCheckOptions(genericiooptions.NewTestIOStreamsDiscard())
	cmd := newCmdCheck(cmdtesting.NewTestFactory(), o)
	cmd.Flags().String("context", "", "")
	_, statErr := os.Stat("/no/such/kubeconfig")
	for _, tt := range []struct {
		context      string
		err          error
		where, wantM string
	}{
		{"", fmt.Errorf("kubeconfig: %w", statErr), "/no/such/kubeconfig", "no such file or directory"},
		{"", errors.New(`kubeconfig: error loading config file "/etc/d": read /etc/d: is a directory`), "/etc/d", "is a directory"},
		{"nope", errors.New(`kubeconfig: context "nope" does not exist`), "context/nope", `context "nope" does not exist`},
		{"", errors.New(`kubeconfig: cluster "c" does not exist`), "current context", `cluster "c" does not exist`},
		{"", errors.New("invalid configuration: unable to read certificate-authority /x/ca.crt for c due to open /x/ca.crt: no such file or directory"), "current context",
			"invalid configuration: unable to read certificate-authority /x/ca.crt for c due to no such file or directory"},
		{"", fmt.Errorf("kubeconfig: %w", &kubeconfigFileError{"/k/empty.conf", errors.New("no contexts in it")}), "/k/empty.conf", "no contexts in it"},
	} {
		_ = cmd.Flags().Set("context", tt.context)
		where, err := o.kubeconfigError(cmd, tt.err)
		if where != tt.where || err.Error() != tt.wantM {
			t.Errorf("%v: %q %q, want %q %q", tt.err, where, err, tt.where, tt.wantM)
		}
	}
}

// TestCheckTextfile: --textfile writes what -o prometheus prints, mode
// 0644, nothing on stdout, the exit status kept; a bad --textfile is one
// line before anything is checked, and nothing is written.
func TestCheckTextfile(t *testing.T) {
	files := []string{"--file", "testdata/bundle.pem", "--file", "testdata/soon.pem", "--file", "testdata/expired.pem"}
	_, want, _ := runCheck(t, append(files, "-o", "prometheus")...)
	dir := t.TempDir()
	path := filepath.Join(dir, "kubecerts.prom")
	code, out, errOut := runCheck(t, append(files, "--textfile", path)...)
	if code != exitcode.Critical || out != "" || errOut != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 3 and nothing printed", code, out, errOut)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("textfile differs from -o prometheus:\n%s\nwant\n%s", got, want)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %d entries, want the file alone", len(entries))
	}

	notDir := filepath.Join(dir, "kubecerts.prom", "x.prom")
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"missing directory", []string{"--textfile", filepath.Join(dir, "missing", "x.prom")}, "--textfile " + filepath.Join(dir, "missing", "x.prom") + ": directory " + filepath.Join(dir, "missing") + ": no such file or directory"},
		{"parent is a file", []string{"--textfile", notDir}, "is not a directory"},
		{"a directory", []string{"--textfile", dir}, "is a directory"},
		{"empty", []string{"--textfile", ""}, "must not be empty"},
		{"another format", []string{"--textfile", path, "-o", "json"}, "-o json cannot go with it"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCheck(t, append(files, tt.args...)...)
			if code != exitcode.Error || out != "" || !strings.Contains(errOut, tt.want) || strings.Count(errOut, "\n") != 1 {
				t.Errorf("exit %d, stdout %q, stderr %q; want 1 and one line with %q", code, out, errOut, tt.want)
			}
		})
	}
	if got2, _ := os.ReadFile(path); string(got2) != want {
		t.Errorf("a failed run changed the textfile")
	}
}
