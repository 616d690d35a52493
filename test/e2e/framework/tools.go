package framework

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const modulePath = "github.com/kubecerts/kubecerts"

// binaries are the paths of the programs the cluster runs.
type binaries struct {
	etcd, apiserver, controllerManager string
}

// ModuleRoot returns the directory of the kubecerts go.mod, searching upwards
// from the working directory (a test runs in its package directory).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && declaresModule(data, modulePath) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of %s above the working directory", modulePath)
		}
		dir = parent
	}
}

func declaresModule(gomod []byte, path string) bool {
	s := bufio.NewScanner(bytes.NewReader(gomod))
	for s.Scan() {
		if f := strings.Fields(s.Text()); len(f) == 2 && f[0] == "module" && strings.Trim(f[1], `"`) == path {
			return true
		}
	}
	return false
}

// findBinaries locates kube-apiserver and kube-controller-manager in
// $KUBECERTS_TOOLS_BIN or, when that is unset, in the directory
// hack/build-tools.sh prints (building them on first use, which takes
// minutes), and etcd in that directory.
func findBinaries(ctx context.Context) (binaries, error) {
	dir := os.Getenv("KUBECERTS_TOOLS_BIN")
	if dir == "" {
		var err error
		if dir, err = runBuildTools(ctx); err != nil {
			return binaries{}, err
		}
	}
	// etcd too comes only from there, the version kubeadm deploys: one from
	// PATH (Debian's is 3.4) would make kube-apiserver send every LIST to
	// etcd, unlike the clusters people run.
	b := binaries{
		apiserver:         filepath.Join(dir, "kube-apiserver"),
		controllerManager: filepath.Join(dir, "kube-controller-manager"),
		etcd:              filepath.Join(dir, "etcd"),
	}
	for _, p := range []string{b.apiserver, b.controllerManager, b.etcd} {
		if err := checkExecutable(p); err != nil {
			return binaries{}, fmt.Errorf("%w (KUBECERTS_TOOLS_BIN or hack/build-tools.sh)", err)
		}
	}
	return b, nil
}

func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}

// runBuildTools runs hack/build-tools.sh, its progress going to stderr, and
// returns the last line it prints: the binaries' directory.
func runBuildTools(ctx context.Context) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	script := filepath.Join(root, "hack", "build-tools.sh")
	cmd := exec.CommandContext(ctx, script)
	cmd.Dir = root
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = func() error { return killGroup(cmd.Process.Pid) } // the script and its go build
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s: %w", script, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	dir := strings.TrimSpace(lines[len(lines)-1])
	if dir == "" {
		return "", fmt.Errorf("%s printed no directory", script)
	}
	return dir, nil
}
