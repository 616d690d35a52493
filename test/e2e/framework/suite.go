package framework

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Environment variables Main reads.
const (
	// DisableEnv=0 skips the suite.
	DisableEnv = "KUBECERTS_E2E"
	// KeepEnv=1 leaves the cluster's directory (logs, PKI) after the run.
	KeepEnv = "KUBECERTS_E2E_KEEP"
)

var suite struct {
	mu      sync.Mutex
	inMain  bool
	ctx     context.Context // cancelled on SIGINT/SIGTERM
	cluster *Cluster

	build      sync.Mutex // held while BuildPlugins builds; guards the fields below
	pluginDir  string     // built by BuildPlugins, removed when Main returns
	pluginErr  error
	pluginDone bool

	kubectl     sync.Mutex        // guards the fields below
	kubectlRoot string            // holds kubectlDirs; removed when Main returns
	kubectlDirs map[string]string // by kubectl path: a directory holding only a symlink to it
}

// Main is the body of an e2e suite's TestMain: it starts one cluster for the
// whole suite (see Shared), runs the tests, prints the tail of the cluster's
// logs if any failed, stops the cluster and returns the exit code for
// os.Exit. On SIGINT or SIGTERM it stops the cluster and exits at once.
//
// With KUBECERTS_E2E=0 it runs nothing and returns 0; otherwise a cluster
// that does not start fails the suite.
func Main(m *testing.M, opts Options) int {
	if os.Getenv(DisableEnv) == "0" {
		fmt.Fprintf(os.Stderr, "e2e: %s=0: skipping the whole e2e suite\n", DisableEnv)
		return 0
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	suite.mu.Lock()
	suite.inMain, suite.ctx = true, ctx
	suite.mu.Unlock()
	defer removeSuiteDirs()
	removeStaleTempDirs(pluginDirPrefix) // Start does the same for its own
	removeStaleTempDirs(kubectlDirPrefix)

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-done:
			return
		case sig := <-sigs:
			fmt.Fprintf(os.Stderr, "e2e: %v: stopping the test cluster\n", sig)
			cancel() // aborts a Start or plugin build in progress, which clean up after themselves
			go func() {
				<-sigs // a second signal: leave the rest to Pdeathsig
				os.Exit(1)
			}()
			suite.mu.Lock()
			c := suite.cluster
			suite.mu.Unlock()
			if c != nil {
				c.Stop()
				removeSuiteDirs()
				os.Exit(1)
			}
		}
	}()

	if os.Getenv(KeepEnv) == "1" {
		opts.KeepDir = true
	}
	began := time.Now()
	c, err := Start(ctx, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: starting the test cluster: %v\n", err)
		return 1
	}
	suite.mu.Lock()
	if ctx.Err() != nil { // a signal came while Start returned
		suite.mu.Unlock()
		c.Stop()
		return 1
	}
	suite.cluster = c
	suite.mu.Unlock()
	fmt.Fprintf(os.Stderr, "e2e: test cluster at %s ready in %s (%s)\n",
		c.Server, time.Since(began).Round(10*time.Millisecond), c.Dir)

	code := m.Run()
	if code != 0 {
		c.DumpLogs(os.Stderr, 40)
	}
	c.Stop()
	if opts.KeepDir {
		fmt.Fprintf(os.Stderr, "e2e: %s=1: the cluster's files are left in %s\n", KeepEnv, c.Dir)
	}
	return code
}

// Shared returns the cluster Main started for the suite.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	suite.mu.Lock()
	c := suite.cluster
	suite.mu.Unlock()
	if c == nil {
		t.Fatal("no e2e test cluster: call framework.Main from TestMain")
	}
	return c
}

const pluginDirPrefix = "kubecerts-plugins-"

// PluginVersion is the version BuildPlugins stamps into the plugins, which
// `kubectl <plugin> version` prints.
const PluginVersion = "v0.0.0-e2e"

// PluginCommands are the packages of the kubectl plugins, relative to the
// module root.
var PluginCommands = []string{"./cmd/kubectl-certs", "./cmd/kubectl-ca_trust", "./cmd/kubectl-rotate"}

// BuildPlugins builds the kubectl plugin binaries (PluginCommands), stamped
// with version PluginVersion, into a directory and returns it: kubectl finds
// them on the PATH KubectlEnv makes of it. Under Main they are built
// once per test binary and removed when Main returns; otherwise at each call,
// into t.TempDir().
func BuildPlugins(t testing.TB) string {
	t.Helper()
	suite.mu.Lock()
	inMain, ctx := suite.inMain, suite.ctx
	suite.mu.Unlock()
	if !inMain {
		dir := t.TempDir()
		if err := buildPlugins(t.Context(), dir); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	suite.build.Lock()
	defer suite.build.Unlock()
	if !suite.pluginDone {
		suite.pluginDone = true
		suite.pluginDir, suite.pluginErr = makeTempDir(pluginDirPrefix)
		if suite.pluginErr == nil {
			suite.pluginErr = buildPlugins(ctx, suite.pluginDir)
		}
	}
	if suite.pluginErr != nil {
		t.Fatal(suite.pluginErr)
	}
	return suite.pluginDir
}

func buildPlugins(ctx context.Context, dir string) error {
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	args := append([]string{"build",
		"-ldflags=-X " + modulePath + "/shared/version.version=" + PluginVersion,
		"-o", dir + string(filepath.Separator),
	}, PluginCommands...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = func() error { return killGroup(cmd.Process.Pid) } // go and its compilers
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %v: %v\n%s", args, err, out)
	}
	return nil
}

// removeSuiteDirs removes the plugins BuildPlugins built and the
// directories of kubectlDir.
func removeSuiteDirs() {
	removePlugins()
	removeKubectlDirs()
}

func removePlugins() {
	suite.build.Lock()
	defer suite.build.Unlock()
	if suite.pluginDir != "" {
		_ = os.RemoveAll(suite.pluginDir)
		suite.pluginDir, suite.pluginErr = "", errors.New("the plugin binaries were removed")
	}
}

// KubectlPath is the kubectl that Kubectl runs: $KUBECERTS_KUBECTL, or
// kubectl on PATH.
func KubectlPath() (string, error) {
	if p := os.Getenv("KUBECERTS_KUBECTL"); p != "" {
		return p, nil
	}
	return exec.LookPath("kubectl")
}

// KubectlEnv is the environment Kubectl runs kubectl in, for tests that run
// kubectl or a plugin themselves: this process's environment (HOME and the
// rest), KUBECONFIG=kubeconfig when kubeconfig is not empty, and a PATH of
// its own: pluginDir (when not empty), then the directories in path, then a
// directory holding only a symlink to KubectlPath named kubectl. Nothing
// else of this machine's PATH is on it, so kubectl finds the plugins the test
// built and none installed on the machine (in ~/.local/bin, or beside kubectl
// in /usr/bin), and a plugin finds no program the test did not put there.
func KubectlEnv(pluginDir, kubeconfig string, path ...string) ([]string, error) {
	kubectl, err := KubectlPath()
	if err != nil {
		return nil, err
	}
	kdir, err := kubectlDir(kubectl)
	if err != nil {
		return nil, err
	}
	var dirs []string
	if pluginDir != "" {
		dirs = append(dirs, pluginDir)
	}
	dirs = append(append(dirs, path...), kdir)
	env := setEnv(os.Environ(), "PATH", strings.Join(dirs, string(os.PathListSeparator)))
	if kubeconfig != "" {
		env = setEnv(env, "KUBECONFIG", kubeconfig)
	}
	return env, nil
}

// setEnv returns env with key=value in place of any value key had.
func setEnv(env []string, key, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return append(out, key+"="+value)
}

const kubectlDirPrefix = "kubecerts-kubectl-"

// kubectlDir returns a directory holding only kubectl, a symlink to the
// program kubectl, made on first use for each kubectl (tests may change
// $KUBECERTS_KUBECTL) and removed when Main returns.
func kubectlDir(kubectl string) (string, error) {
	target, err := filepath.Abs(kubectl)
	if err != nil {
		return "", err
	}
	suite.kubectl.Lock()
	defer suite.kubectl.Unlock()
	if dir := suite.kubectlDirs[target]; dir != "" {
		return dir, nil
	}
	if suite.kubectlRoot == "" {
		if suite.kubectlRoot, err = makeTempDir(kubectlDirPrefix); err != nil {
			return "", err
		}
		suite.kubectlDirs = map[string]string{}
	}
	dir := filepath.Join(suite.kubectlRoot, strconv.Itoa(len(suite.kubectlDirs)))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.Symlink(target, filepath.Join(dir, "kubectl")); err != nil {
		return "", err
	}
	suite.kubectlDirs[target] = dir
	return dir, nil
}

func removeKubectlDirs() {
	suite.kubectl.Lock()
	defer suite.kubectl.Unlock()
	if suite.kubectlRoot != "" {
		_ = os.RemoveAll(suite.kubectlRoot)
		suite.kubectlRoot, suite.kubectlDirs = "", nil
	}
}

// Kubectl runs the real kubectl (KubectlPath) with args in the environment
// KubectlEnv(pluginDir, kubeconfig) makes, and returns its standard output
// and error. err is non-nil when kubectl could not run or exited non-zero.
func Kubectl(ctx context.Context, pluginDir, kubeconfig string, args ...string) (stdout, stderr string, err error) {
	return KubectlInput(ctx, pluginDir, kubeconfig, nil, args...)
}

// KubectlInput is Kubectl with stdin (nil: no input) as kubectl's standard
// input.
func KubectlInput(ctx context.Context, pluginDir, kubeconfig string, stdin []byte, args ...string) (stdout, stderr string, err error) {
	kubectl, err := KubectlPath()
	if err != nil {
		return "", "", err
	}
	env, err := KubectlEnv(pluginDir, kubeconfig)
	if err != nil {
		return "", "", err
	}
	cmd := exec.CommandContext(ctx, kubectl, args...)
	cmd.Env = env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	runErr := cmd.Run()
	// Every command the e2e suite runs is scanned: no output may show a
	// private key, whatever the test itself asserts.
	if strings.Contains(out.String()+errOut.String(), "PRIVATE KEY") {
		return out.String(), errOut.String(), fmt.Errorf("kubectl %v: %w", args, ErrPrivateKeyInOutput)
	}
	if runErr != nil {
		return out.String(), errOut.String(), fmt.Errorf("kubectl %v: %w", args, runErr)
	}
	return out.String(), errOut.String(), nil
}

// ErrPrivateKeyInOutput is returned by Kubectl when a command printed the
// string PRIVATE KEY; tests fail on it as on a command that did not run.
var ErrPrivateKeyInOutput = errors.New(`the output contains "PRIVATE KEY"`)
