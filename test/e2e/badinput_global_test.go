package e2e_test

import (
	"path/filepath"
	"testing"

	"github.com/kubecerts/kubecerts/test/e2e/framework"
)

// TestBadInputGlobalFlags: the global flags every command shares (those of
// kubectl: --kubeconfig, --context, --server, --request-timeout, -v,
// impersonation) given wrong, to one command of each plugin that talks to
// the cluster. Each is one error line naming the flag or its value, exit 1,
// and nothing written. A missing kubeconfig with --server does not prompt
// for a username on stdin (stdin holds an answer that must not be read).
func TestBadInputGlobalFlags(t *testing.T) {
	c := framework.Shared(t)
	admin := c.Clientset()
	ns := createNamespace(t, admin, admin, "badinput-global-")
	dir := t.TempDir()
	missing := filepath.Join(dir, "no-such-kubeconfig")
	commands := [][]string{
		{"certs", "check", "--source", "secrets", "-n", ns},
		{"ca-trust", "list", "-n", ns},
		{"rotate", "csr", "list"},
	}
	var rows []badInput
	for _, cmd := range commands {
		with := func(extra ...string) []string { return append(append([]string(nil), cmd...), extra...) }
		name := cmd[0] + " " + cmd[1]
		rows = append(rows,
			badInput{name: name + ": --request-timeout soon", args: with("--request-timeout", "soon"), code: 1,
				err: `--request-timeout "soon": give seconds (30) or a number with a unit (30s, 2m, 1h); 0 waits forever`},
			badInput{name: name + ": --kubeconfig missing", args: with("--kubeconfig", missing), code: 1, err: missing},
			badInput{name: name + ": --context nope", args: with("--context", "nope"), code: 1, err: `"nope"`},
			badInput{name: name + ": -v abc", args: with("-v", "abc"), code: 1, err: `invalid argument "abc" for "-v, --v" flag`},
			badInput{name: name + ": --as-group without --as", args: with("--as-group", "system:masters"), code: 1,
				err: "--as-group needs --as"},
			badInput{name: name + ": --server with an unsupported scheme", args: with("--server", "ftp://127.0.0.1:1"), code: 1,
				err: "ftp://127.0.0.1:1"},
			badInput{name: name + ": no kubeconfig, --server refusing, stdin not read",
				args:       with("--server", "https://127.0.0.1:1", "--insecure-skip-tls-verify"),
				kubeconfig: missing, stdin: []byte("admin\nsecret-password\n"), code: 1, err: "127.0.0.1:1",
				never: []string{"Please enter", "secret-password"}},
		)
	}
	// The global flags are checked before a command's own: the same bad
	// timeout given to commands that need no cluster.
	rows = append(rows,
		badInput{name: "rotate plan: --request-timeout soon", args: []string{"rotate", "plan", "--delay", "7d", "--ca-expiry", "2030-01-01", "--request-timeout", "soon"},
			code: 1, err: `--request-timeout "soon"`},
		badInput{name: "certs check --file: --as-uid without --as", args: []string{"certs", "check", "--file", filepath.Join(c.PKIDir, "ca.crt"), "--as-uid", "1000"},
			code: 1, err: "--as-uid needs --as"},
	)
	runBadInputs(t, badInputTable{disk: []string{dir, c.PKIDir}, namespaces: []string{ns}, rows: rows})
}
