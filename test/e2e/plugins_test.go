package e2e_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

// TestPluginsThroughKubectl puts the plugins on PATH, as users do, and checks
// that the real kubectl finds and runs them.
func TestPluginsThroughKubectl(t *testing.T) {
	c := framework.Shared(t)
	pluginsThroughKubectl(t, c.AdminKubeconfig, framework.BuildPlugins(t))
}

// TestPluginsAfterMakeInstall is the README's sequence on a new machine,
// `make install && kubectl certs check`, then `make test`: with the plugins
// installed by make install (into a PREFIX standing in for ~/.local) and on
// this process's PATH, as on a user's machine, kubectl certs check runs the
// installed plugin against the cluster, and the tests through kubectl still
// find only the plugins they built: kubectl plugin list lists each once and
// exits 0, where it once warned that they were overshadowed and exited 1.
func TestPluginsAfterMakeInstall(t *testing.T) {
	c := framework.Shared(t)
	dir := framework.BuildPlugins(t)
	root, err := framework.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	mk, err := exec.LookPath("make")
	if err != nil {
		t.Skipf("the README's make install needs make: %v", err)
	}
	kubectl, err := framework.KubectlPath()
	if err != nil {
		t.Fatal(err)
	}
	prefix := filepath.Join(t.TempDir(), ".local")
	installed := filepath.Join(prefix, "bin")
	t.Setenv("PATH", installed+string(os.PathListSeparator)+os.Getenv("PATH"))

	cmd := exec.CommandContext(t.Context(), mk, "--no-print-directory", "-C", root, "install", "PREFIX="+prefix)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install PREFIX=%s: %v\n%s", prefix, err, out)
	}
	for _, p := range plugins {
		for _, name := range []string{p.binary, strings.Replace(p.binary, "kubectl-", "kubectl_complete-", 1)} {
			if _, err := os.Stat(filepath.Join(installed, name)); err != nil {
				t.Fatalf("after make install: %v", err)
			}
		}
	}

	// The README's first command, as a user runs it: this process's
	// environment, the installed plugins on its PATH.
	user := func(t *testing.T, args ...string) (stdout, stderr string, code int) {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), kubectl, args...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+c.AdminKubeconfig)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		code = exitCode(t, cmd.Run())
		assertNoPrivateKey(t, out.String()+errOut.String())
		return out.String(), errOut.String(), code
	}
	t.Run("kubectl certs check", func(t *testing.T) {
		// The plugin kubectl runs is the installed one, not the test's build.
		stdout, stderr, code := user(t, "certs", "version", "-o", "json")
		direct, err := exec.Command(filepath.Join(installed, "kubectl-certs"), "version", "-o", "json").Output()
		if err != nil {
			t.Fatalf("the installed kubectl-certs version: %v", err)
		}
		var v struct{ Version string }
		if err := json.Unmarshal([]byte(stdout), &v); code != 0 || err != nil || stdout != string(direct) || v.Version == framework.PluginVersion {
			t.Errorf("kubectl certs version -o json: exit %d, version %q; want the installed plugin's:\n%s\nstdout:\n%s\nstderr:\n%s",
				code, v.Version, direct, stdout, stderr)
		}

		stdout, stderr, code = user(t, "certs", "check")
		if code != 0 {
			t.Errorf("kubectl certs check: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		for _, source := range []string{"kubeconfig", "apiserver"} {
			if !slices.ContainsFunc(strings.Split(stdout, "\n"), func(l string) bool { return strings.HasPrefix(l, source+" ") }) {
				t.Errorf("kubectl certs check reports no %s certificate:\n%s", source, stdout)
			}
		}
	})

	// make test's turn: the tests through kubectl see only their own build.
	pluginsThroughKubectl(t, c.AdminKubeconfig, dir)
}

// pluginsThroughKubectl checks that the real kubectl, run by
// framework.Kubectl, finds the plugins in dir and none other, and runs them.
func pluginsThroughKubectl(t *testing.T, kubeconfig, dir string) {
	t.Helper()
	t.Run("plugin list", func(t *testing.T) {
		stdout, stderr, err := framework.Kubectl(t.Context(), dir, kubeconfig, "plugin", "list")
		if err != nil {
			t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
		}
		var listed, want []string
		for l := range strings.Lines(stdout) {
			if l = strings.TrimSpace(l); filepath.IsAbs(l) {
				listed = append(listed, l)
			}
		}
		for _, p := range plugins {
			want = append(want, filepath.Join(dir, p.binary))
		}
		slices.Sort(listed)
		slices.Sort(want)
		if !slices.Equal(listed, want) {
			t.Errorf("kubectl plugin list lists %q, want %q (each once):\n%s", listed, want, stdout)
		}
		if out := stdout + stderr; strings.Contains(strings.ToLower(out), "warning") {
			t.Errorf("kubectl plugin list warns:\n%s", out)
		}
	})

	for _, p := range plugins {
		t.Run(p.command+" version", func(t *testing.T) {
			stdout, stderr, err := framework.Kubectl(t.Context(), dir, kubeconfig, p.command, "version")
			if err != nil {
				t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
			}
			if !strings.Contains(stdout, framework.PluginVersion) {
				t.Errorf("kubectl %s version does not print the version %s it was built with:\n%s",
					p.command, framework.PluginVersion, stdout)
			}
		})
		t.Run(p.command+" help", func(t *testing.T) {
			stdout, stderr, err := framework.Kubectl(t.Context(), dir, kubeconfig, p.command, "--help")
			if err != nil {
				t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
			}
			if want := "kubectl " + p.command; !strings.Contains(stdout, want) {
				t.Errorf("kubectl %s --help does not mention %q:\n%s", p.command, want, stdout)
			}
		})
	}
}
