package e2e_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubecerts/kubecerts/test/e2e/framework"
)

// plugins are the kubecerts binaries and how kubectl invokes them.
var plugins = []struct{ binary, command string }{
	{"kubectl-certs", "certs"},
	{"kubectl-ca_trust", "ca-trust"},
	{"kubectl-rotate", "rotate"},
}

// TestPluginsThroughKubectl installs the plugins the way users do, on PATH,
// and checks that the real kubectl finds and runs them.
func TestPluginsThroughKubectl(t *testing.T) {
	c := framework.Shared(t)
	dir := framework.BuildPlugins(t)

	t.Run("plugin list", func(t *testing.T) {
		stdout, stderr, err := framework.Kubectl(t.Context(), dir, c.AdminKubeconfig, "plugin", "list")
		if err != nil {
			t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
		}
		for _, p := range plugins {
			if !containsLine(stdout, filepath.Join(dir, p.binary)) {
				t.Errorf("kubectl plugin list does not list %s:\n%s", filepath.Join(dir, p.binary), stdout)
			}
		}
		if out := stdout + stderr; strings.Contains(strings.ToLower(out), "warning") {
			t.Errorf("kubectl plugin list warns:\n%s", out)
		}
	})

	for _, p := range plugins {
		t.Run(p.command+" version", func(t *testing.T) {
			stdout, stderr, err := framework.Kubectl(t.Context(), dir, c.AdminKubeconfig, p.command, "version")
			if err != nil {
				t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
			}
			if !strings.Contains(stdout, framework.PluginVersion) {
				t.Errorf("kubectl %s version does not print the version %s it was built with:\n%s",
					p.command, framework.PluginVersion, stdout)
			}
		})
		t.Run(p.command+" help", func(t *testing.T) {
			stdout, stderr, err := framework.Kubectl(t.Context(), dir, c.AdminKubeconfig, p.command, "--help")
			if err != nil {
				t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
			}
			if want := "kubectl " + p.command; !strings.Contains(stdout, want) {
				t.Errorf("kubectl %s --help does not mention %q:\n%s", p.command, want, stdout)
			}
		})
	}
}

func containsLine(s, line string) bool {
	for l := range strings.Lines(s) {
		if strings.TrimSpace(l) == line {
			return true
		}
	}
	return false
}
