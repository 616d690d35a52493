package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubecerts/kubecerts/shared/cmdutil"
	"github.com/kubecerts/kubecerts/shared/exitcode"
)

// testPlugin has a "fail" command whose outcome the test picks.
func testPlugin(outcome error) Plugin {
	return Plugin{
		Name:  "ca-trust",
		Short: "test plugin",
		Commands: func(f cmdutil.Factory, streams genericiooptions.IOStreams) []*cobra.Command {
			return []*cobra.Command{{
				Use:  "fail",
				RunE: func(cmd *cobra.Command, args []string) error { return outcome },
			}, {
				Use: "ns",
				RunE: func(cmd *cobra.Command, args []string) error {
					ns, _, err := f.ToRawKubeConfigLoader().Namespace()
					fmt.Fprint(streams.Out, ns)
					return err
				},
			}}
		},
	}
}

func run(t *testing.T, p Plugin, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	code = Run(context.Background(), NewRootCommand(p, streams), args, errOut)
	return code, out.String(), errOut.String()
}

func TestExitStatusAndMessages(t *testing.T) {
	tests := []struct {
		name       string
		outcome    error
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"success", nil, []string{"fail"}, 0, ""},
		{"plain error", fmt.Errorf("file %q: permission denied", "/etc/kubernetes/pki/ca.crt"), []string{"fail"}, 1,
			"error: file \"/etc/kubernetes/pki/ca.crt\": permission denied\n"},
		{"multi-line error folded into one line", errors.New("a failed\nb failed\n"), []string{"fail"}, 1, "error: a failed; b failed\n"},
		{"silent warning", exitcode.WithStatus(exitcode.Warning, nil), []string{"fail"}, 2, ""},
		{"silent critical", exitcode.WithStatus(exitcode.Critical, nil), []string{"fail"}, 3, ""},
		{"critical with an error", exitcode.WithStatus(exitcode.Critical, errors.New("one source failed")), []string{"fail"}, 3,
			"error: one source failed\n"},
		{"unknown flag", nil, []string{"fail", "--bogus"}, 1,
			"error: unknown flag: --bogus\nSee 'kubectl ca-trust fail -h' for help and examples.\n"},
		{"request timeout that does not parse", nil, []string{"fail", "--request-timeout", "soon"}, 1,
			"error: --request-timeout \"soon\": give seconds (30) or a number with a unit (30s, 2m, 1h); 0 waits forever\nSee 'kubectl ca-trust fail -h' for help and examples.\n"},
		{"request timeout in seconds", nil, []string{"fail", "--request-timeout", "30"}, 0, ""},
		{"impersonated group without a user", nil, []string{"fail", "--as-group", "system:masters"}, 1,
			"error: --as-group needs --as, the user to impersonate\nSee 'kubectl ca-trust fail -h' for help and examples.\n"},
		{"impersonated group with a user", nil, []string{"fail", "--as", "jane", "--as-group", "system:masters"}, 0, ""},
		{"unknown command", nil, []string{"bogus"}, 1,
			"error: unknown command \"bogus\" for \"kubectl ca-trust\"\nSee 'kubectl ca-trust -h' for help and examples.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, testPlugin(tt.outcome), tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit status = %d, want %d (stderr %q)", code, tt.wantCode, stderr)
			}
			if !strings.HasPrefix(stderr, tt.wantStderr) || (tt.wantStderr == "" && stderr != "") {
				t.Errorf("stderr = %q, want %q", stderr, tt.wantStderr)
			}
			if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine") {
				t.Errorf("stderr has a stack trace: %q", stderr)
			}
		})
	}
}

func TestHelpNamesThePluginAsUsersCallIt(t *testing.T) {
	code, out, _ := run(t, testPlugin(nil), "--help")
	if code != 0 {
		t.Fatalf("exit status %d", code)
	}
	for _, want := range []string{"kubectl ca-trust [flags] [options]", `Use "kubectl ca-trust <command> --help"`, `Use "kubectl ca-trust options"`, "version"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "kubectl-ca_trust") {
		t.Errorf("help names the binary instead of the plugin:\n%s", out)
	}
}

func TestGlobalFlags(t *testing.T) {
	root := NewRootCommand(testPlugin(nil), genericiooptions.NewTestIOStreamsDiscard())
	for _, name := range []string{"kubeconfig", "context", "cluster", "user", "namespace", "as", "as-group",
		"request-timeout", "server", "certificate-authority", "insecure-skip-tls-verify", "token", "v", "vmodule"} {
		if root.PersistentFlags().Lookup(name) == nil {
			t.Errorf("global flag --%s missing", name)
		}
	}
	// No --username/--password: with them cli-runtime's loader prompts on
	// stdin when no kubeconfig is found.
	for _, name := range []string{"username", "password"} {
		if root.PersistentFlags().Lookup(name) != nil {
			t.Errorf("--%s is there: basic auth left the API server in 1.19, and it makes the loader interactive", name)
		}
	}
	if root.PersistentFlags().ShorthandLookup("n") == nil {
		t.Error("-n missing")
	}
}

func TestNamespaceFlagReachesTheFactory(t *testing.T) {
	t.Setenv("KUBECONFIG", t.TempDir()+"/none")
	code, out, stderr := run(t, testPlugin(nil), "ns", "-n", "team-a")
	if code != 0 || out != "team-a" {
		t.Errorf("ns = %q (exit %d, %s), want team-a", out, code, stderr)
	}
}

func TestVersionCommand(t *testing.T) {
	code, out, _ := run(t, testPlugin(nil), "version", "-o", "json")
	if code != 0 || !strings.Contains(out, `"apiVersion": "kubecerts.io/v1alpha1"`) || !strings.Contains(out, `"plugin": "ca-trust"`) {
		t.Errorf("version -o json = %d %s", code, out)
	}
	code, _, stderr := run(t, testPlugin(nil), "version", "-o", "xml")
	if code != 1 || !strings.Contains(stderr, `--output "xml"`) {
		t.Errorf("version -o xml = %d %q", code, stderr)
	}
}

func TestInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := testPlugin(nil)
	p.Commands = func(cmdutil.Factory, genericiooptions.IOStreams) []*cobra.Command {
		return []*cobra.Command{{Use: "wait", RunE: func(cmd *cobra.Command, _ []string) error {
			<-cmd.Context().Done()
			return fmt.Errorf("listing secrets: %w", cmd.Context().Err())
		}}}
	}
	streams, _, _, errOut := genericiooptions.NewTestIOStreams()
	if code := Run(ctx, NewRootCommand(p, streams), []string{"wait"}, errOut); code != 1 || errOut.String() != "error: interrupted\n" {
		t.Errorf("interrupted run = %d %q", code, errOut.String())
	}
}

func TestOneLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"x", "x"},
		{"  a\r\n\n b \n", "a; b"},
		{"tab\tkept, ünïcode kept", "tab\tkept, ünïcode kept"},
		// A CSR's DNS name with a sequence that clears the line and moves up.
		{"csr-1: refused worker-1\x1b[2K\x1b[1A\rfoo: node-name", `csr-1: refused worker-1\x1b[2K\x1b[1A; foo: node-name`},
		{"bell\a del\x7f c1\u009b[31m nul\x00", `bell\x07 del\x7f c1\x9b[31m nul\x00`},
		{"bad utf-8 \xff\xfe", `bad utf-8 \ufffd\ufffd`},
	}
	for _, tt := range tests {
		if got := oneLine(tt.in); got != tt.want {
			t.Errorf("oneLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	var buf bytes.Buffer
	buf.WriteString("x")
	if oneLine(buf.String()) != "x" {
		t.Error("single line changed")
	}
}

func TestRedactBody(t *testing.T) {
	tests := []struct {
		body string
		keep bool
	}{
		{`{"kind":"NamespaceList","items":[]}`, true},
		{`{"kind":"SecretList","apiVersion":"v1","items":[{"data":{"tls.key":"LS0t"}}]}`, false},
		{`{"kind": "Secret", "data": {}}`, false},
		{"-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----", false},
		{"00000000  6b 38 73 00 0a 0c 0a 02  76 31 12 0a 53 65 63 72  |k8s.....v1..Secr|", false},
		{`{"kind":"Status","message":"forbidden"}`, true},
	}
	for _, tt := range tests {
		out := redactBody([]interface{}{"body", tt.body})
		kept := out[1] == tt.body
		if kept != tt.keep {
			t.Errorf("body %.40q: kept = %v, want %v (%v)", tt.body, kept, tt.keep, out[1])
		}
		if !kept && strings.Contains(fmt.Sprint(out[1]), "LS0t") {
			t.Errorf("redacted body still holds data: %v", out[1])
		}
	}
}
