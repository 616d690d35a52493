package cli

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// completions runs cobra's __complete with args and returns the candidates
// (the lines before the ":directive" line).
func completions(t *testing.T, args ...string) []string {
	t.Helper()
	code, out, stderr := run(t, testPlugin(nil), append([]string{"__complete"}, args...)...)
	if code != 0 {
		t.Fatalf("__complete %q: exit %d: %s", args, code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) == 0 || lines[len(lines)-1] != ":4" {
		t.Fatalf("__complete %q: not a no-file completion:\n%s", args, out)
	}
	got := lines[:len(lines)-1]
	slices.Sort(got)
	return got
}

func TestGlobalFlagCompletion(t *testing.T) {
	var listed []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		listed = append(listed, r.URL.Path)
		if r.URL.Path != "/api/v1/namespaces" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"kind":"NamespaceList","apiVersion":"v1","metadata":{},"items":[`+
			`{"metadata":{"name":"default"}},{"metadata":{"name":"team-a"}},{"metadata":{"name":"team-b"}}]}`)
	}))
	defer api.Close()
	kubeconfig := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters:
- {name: alpha, cluster: {server: "`+api.URL+`"}}
- {name: beta, cluster: {server: "`+api.URL+`"}}
users:
- {name: admin, user: {token: "x"}}
- {name: viewer, user: {token: "y"}}
contexts:
- {name: prod, context: {cluster: alpha, user: admin}}
- {name: staging, context: {cluster: beta, user: viewer}}
current-context: prod
`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", kubeconfig)

	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"ns", "--context", ""}, []string{"prod", "staging"}},
		{[]string{"ns", "--context", "st"}, []string{"staging"}},
		{[]string{"ns", "--cluster", ""}, []string{"alpha", "beta"}},
		{[]string{"ns", "--user", "v"}, []string{"viewer"}},
		{[]string{"ns", "--user", "nobody"}, []string{}},
		{[]string{"ns", "-n", "team"}, []string{"team-a", "team-b"}},
		{[]string{"ns", "--namespace", ""}, []string{"default", "team-a", "team-b"}},
	}
	for _, tt := range tests {
		if got := completions(t, tt.args...); !slices.Equal(got, tt.want) {
			t.Errorf("__complete %q = %q, want %q", tt.args, got, tt.want)
		}
	}
	if !slices.Contains(listed, "/api/v1/namespaces") {
		t.Errorf("namespaces were not listed from the cluster: requests %q", listed)
	}
}

func TestNamespaceCompletionWithoutACluster(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	if got := completions(t, "ns", "-n", ""); len(got) != 0 {
		t.Errorf("-n completes %q with no cluster", got)
	}
}
