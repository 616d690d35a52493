package e2e_test

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubecerts/kubecerts/test/e2e/framework"
)

// TestCATrustSecretCompletion: --secret completes from the cluster, in the
// namespace the command would use (-n), offering Opaque secrets only.
func TestCATrustSecretCompletion(t *testing.T) {
	c := framework.Shared(t)
	admin := c.Clientset()
	ns := createNamespace(t, admin, admin, "catrust-complete-")
	crt, key := chkChain(t, 1, "complete")
	for _, s := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "trust-a", Namespace: ns}, Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"ca1.crt": crt}},
		{ObjectMeta: metav1.ObjectMeta{Name: "trust-b", Namespace: ns}, Data: map[string][]byte{"token": []byte("x")}},
		{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: ns}, Type: corev1.SecretTypeOpaque},
		chkTLSSecret(ns, "trust-tls", crt, key),
	} {
		_, err := admin.CoreV1().Secrets(ns).Create(t.Context(), s, metav1.CreateOptions{})
		chkCreated(t, "secret", 0, err)
	}
	dir := framework.BuildPlugins(t)
	bin := filepath.Join(dir, "kubectl-ca_trust")
	env, err := framework.KubectlEnv(dir, c.AdminKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	complete := func(args ...string) []string {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), bin, append([]string{"__complete"}, args...)...)
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("__complete %q: %v", args, err)
		}
		if !slices.Contains(strings.Split(string(out), "\n"), ":4") { // ShellCompDirectiveNoFileComp
			t.Errorf("__complete %q: not a no-file completion:\n%s", args, out)
		}
		return completions(string(out))
	}
	for _, verb := range []string{"list", "add", "remove", "validate", "export", "sync"} {
		if got, want := complete(verb, "-n", ns, "--secret", "trust"), []string{"trust-a", "trust-b"}; !slices.Equal(got, want) {
			t.Errorf("%s -n %s --secret trust<TAB> offers %q, want %q (Opaque secrets with the prefix)", verb, ns, got, want)
		}
	}
	if got := complete("list", "-n", "no-such-namespace-x", "--secret", ""); len(got) != 0 {
		t.Errorf("a namespace without secrets offers %q", got)
	}
}

// completions are the candidates of cobra's __complete output: one per line,
// "candidate<TAB>description", then ":<directive>".
func completions(out string) []string {
	var cs []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, ":") || l == "" || strings.HasPrefix(l, "Completion ended") {
			continue
		}
		c, _, _ := strings.Cut(l, "\t")
		cs = append(cs, c)
	}
	return cs
}
