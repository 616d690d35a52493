//go:build linux

package kubeadm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kubecerts/kubecerts/plugins/certs/source"
	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/expiry"
)

// kubeadmFiles are the files behind the names kubeadm certs
// check-expiration reports, relative to /etc/kubernetes.
var kubeadmFiles = map[string]string{
	"ca": "pki/ca.crt", "front-proxy-ca": "pki/front-proxy-ca.crt", "etcd-ca": "pki/etcd/ca.crt",
	"apiserver": "pki/apiserver.crt", "apiserver-kubelet-client": "pki/apiserver-kubelet-client.crt",
	"front-proxy-client": "pki/front-proxy-client.crt", "apiserver-etcd-client": "pki/apiserver-etcd-client.crt",
	"etcd-server": "pki/etcd/server.crt", "etcd-peer": "pki/etcd/peer.crt", "etcd-healthcheck-client": "pki/etcd/healthcheck-client.crt",
	"admin.conf": "admin.conf", "super-admin.conf": "super-admin.conf",
	"controller-manager.conf": "controller-manager.conf", "scheduler.conf": "scheduler.conf",
}

// beyondKubeadm are the names the pki-dir source reports and kubeadm leaves
// out: the kubelet's.
var beyondKubeadm = map[string]bool{"kubelet.conf": true, "kubelet-client-current": true, "kubelet": true}

func TestPKIDirAgreesWithKubeadm(t *testing.T) {
	kubeadm := kubeadmBinary(t)
	caSigned := []string{"ca", "apiserver", "apiserver-kubelet-client", "admin.conf", "super-admin.conf", "controller-manager.conf", "scheduler.conf"}
	etcdSigned := []string{"etcd-ca", "etcd-server", "etcd-peer", "etcd-healthcheck-client", "apiserver-etcd-client"}
	tests := []struct {
		name string
		// remove lists files to delete, relative to /etc/kubernetes.
		remove []string
		// wantExternal lists the names both must say are externally managed.
		wantExternal []string
		// kubeadmFails is the error kubeadm must fail with; the source must
		// then say so in wantNote and still report the certificates.
		kubeadmFails, wantNote string
	}{
		{name: "a fresh PKI"},
		{name: "external CA mode: ca.key deleted", remove: []string{"pki/ca.key"}, wantExternal: caSigned},
		{name: "external etcd CA: etcd/ca.key deleted", remove: []string{"pki/etcd/ca.key"}, wantExternal: etcdSigned},
		{name: "missing files", remove: []string{"pki/front-proxy-client.crt", "super-admin.conf", "pki/etcd/peer.crt"}},
		{
			name: "external CA mode without apiserver.key", remove: []string{"pki/ca.key", "pki/apiserver.key"}, wantExternal: caSigned,
			kubeadmFails: "Error checking external CA condition for ca certificate authority: failure loading key for apiserver",
			wantNote:     "pki/apiserver.key is missing: kubeadm certs check-expiration and renew fail",
		},
		{
			name: "etcd CA missing, its certificates present", remove: []string{"pki/etcd/ca.crt"},
			kubeadmFails: "Error checking external CA condition for etcd/ca certificate authority: failure loading certificate for etcd CA",
			wantNote:     "pki/etcd/ca.crt is missing or unreadable while etcd-server, etcd-peer, etcd-healthcheck-client, apiserver-etcd-client, which it signs, exist",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNode(t, kubeadm)
			for _, rel := range tt.remove {
				if err := os.Remove(n.path(rel)); err != nil {
					t.Fatal(err)
				}
			}
			ours := n.ours()
			theirs, stderr, err := n.checkExpiration()
			if tt.kubeadmFails != "" {
				if err == nil || !strings.Contains(stderr, tt.kubeadmFails) {
					t.Fatalf("kubeadm: %v, stderr %q; want it to fail with %q", err, stderr, tt.kubeadmFails)
				}
				if notes := strings.Join(ours.Notes, "\n"); !strings.Contains(notes, tt.wantNote) {
					t.Errorf("notes = %q, want %q", notes, tt.wantNote)
				}
				checkExternal(t, "pki-dir", viewOf(ours), tt.wantExternal)
				return
			}
			if err != nil {
				t.Fatalf("kubeadm certs check-expiration: %v\n%s", err, stderr)
			}
			if len(ours.Notes) != 0 || len(ours.Errors) != 0 {
				t.Errorf("notes %q, errors %+v; want none", ours.Notes, ours.Errors)
			}
			compare(t, n, theirs, ours)
			checkExternal(t, "kubeadm", theirs, tt.wantExternal)
			checkExternal(t, "pki-dir", viewOf(ours), tt.wantExternal)
		})
	}
}

// expiration is one entry of kubeadm certs check-expiration -o json
// (output.kubeadm.k8s.io/v1alpha3 CertificateExpirationInfo).
type expiration struct {
	Name              string    `json:"name"`
	ExpirationDate    time.Time `json:"expirationDate"`
	ExternallyManaged bool      `json:"externallyManaged"`
	CAName            string    `json:"caName"`
	Missing           bool      `json:"missing"`
}

// compare holds the two views to agreement: the same names, each with the
// same expiry to the second, CA and external flag; what kubeadm calls
// missing the source reports as skipped.
func compare(t *testing.T, n *node, theirs map[string]expiration, ours *api.CertificateReport) {
	t.Helper()
	named := map[string]api.Certificate{}
	for _, c := range ours.Certificates {
		if c.Name != "" {
			named[c.Name] = c
		}
	}
	skipped := map[string]bool{}
	for _, s := range ours.Skipped {
		skipped[s.Location] = s.Reason == "missing"
	}
	for _, name := range sortedKeys(theirs) {
		k := theirs[name]
		rel, known := kubeadmFiles[name]
		if !known {
			t.Errorf("kubeadm reports %s, which this test does not know", name)
			continue
		}
		c, found := named[name]
		switch {
		case k.Missing:
			if found || !skipped[n.path(rel)] {
				t.Errorf("%s: kubeadm says missing; pki-dir found %v, skipped %v", name, found, skipped[n.path(rel)])
			} else {
				t.Logf("agree: %-25s missing (pki-dir: skipped %s)", name, rel)
			}
		case !found:
			t.Errorf("%s: kubeadm reports it, pki-dir does not", name)
		default:
			ourView := expiration{Name: name, ExpirationDate: c.NotAfter.UTC().Truncate(time.Second), ExternallyManaged: c.ExternallyManaged, CAName: c.CAName}
			if !ourView.ExpirationDate.Equal(k.ExpirationDate) || ourView.CAName != k.CAName || ourView.ExternallyManaged != k.ExternallyManaged {
				t.Errorf("%s: kubeadm %s ca=%q external=%v; pki-dir %s ca=%q external=%v", name,
					k.ExpirationDate.Format(time.RFC3339), k.CAName, k.ExternallyManaged,
					ourView.ExpirationDate.Format(time.RFC3339), ourView.CAName, ourView.ExternallyManaged)
			} else {
				t.Logf("agree: %-25s %s ca=%-15q external=%v", name, k.ExpirationDate.Format(time.RFC3339), k.CAName, k.ExternallyManaged)
			}
		}
	}
	for name := range named {
		if _, ok := theirs[name]; !ok && !beyondKubeadm[name] {
			t.Errorf("pki-dir reports %s, kubeadm does not", name)
		}
	}
	if c, ok := named["kubelet.conf"]; !ok || c.CAName != "ca" {
		t.Errorf("kubelet.conf: found %v, CA %q; want it, signed by ca", ok, c.CAName)
	}
}

func viewOf(r *api.CertificateReport) map[string]expiration {
	out := map[string]expiration{}
	for _, c := range r.Certificates {
		if c.Name != "" && !beyondKubeadm[c.Name] {
			out[c.Name] = expiration{Name: c.Name, ExternallyManaged: c.ExternallyManaged, CAName: c.CAName}
		}
	}
	return out
}

func checkExternal(t *testing.T, who string, view map[string]expiration, want []string) {
	t.Helper()
	var got []string
	for name, e := range view {
		if e.ExternallyManaged {
			got = append(got, name)
		}
	}
	sort.Strings(got)
	want = append([]string(nil), want...)
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%s: externally managed = %v, want %v", who, got, want)
	}
}

func sortedKeys(m map[string]expiration) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// node is a control-plane node's /etc/kubernetes made by kubeadm in a
// temporary directory that kubeadm sees as / through --rootfs (a chroot):
// kubeadm certs check-expiration reads the kubeconfig files from
// /etc/kubernetes and has no flag to read them elsewhere.
type node struct {
	t             *testing.T
	kubeadm, root string
}

const configPath = "/etc/kubernetes/kubeadm.yaml"

func newNode(t *testing.T, kubeadm string) *node {
	t.Helper()
	return newNodeWith(t, kubeadm, "")
}

// newNodeWith is newNode with more ClusterConfiguration fields (YAML lines,
// each ending in a newline).
func newNodeWith(t *testing.T, kubeadm, clusterConfig string) *node {
	t.Helper()
	n := &node{t: t, kubeadm: kubeadm, root: t.TempDir()}
	version := strings.TrimSpace(string(n.must("version", "-o", "short")))
	// A non-loopback advertise address: kubeadm refuses 127.0.0.1. The
	// version is kubeadm's own, so that nothing is looked up online.
	config := fmt.Sprintf(`apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: 10.0.0.10
  bindPort: 6443
nodeRegistration:
  name: node-a
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: %s
certificatesDir: /etc/kubernetes/pki
%s`, version, clusterConfig)
	if err := os.MkdirAll(n.path("pki"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(n.root+configPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	n.must("init", "phase", "certs", "all", "--config", configPath)
	n.must("init", "phase", "kubeconfig", "all", "--config", configPath)
	return n
}

// path is a path under the node's /etc/kubernetes, as seen from outside.
func (n *node) path(rel string) string {
	return filepath.Join(n.root, "etc/kubernetes", rel)
}

// ours is what the pki-dir source reports on the node's files.
func (n *node) ours() *api.CertificateReport {
	c := source.NewCollector(time.Now(), expiry.DefaultThresholds(), false)
	src := &source.PKIDir{Dir: n.path("pki"), KubeconfigDir: n.path(""), KubeletPKIDir: filepath.Join(n.root, "var/lib/kubelet/pki")}
	src.Collect(context.Background(), c)
	return c.Report()
}

// checkExpiration runs kubeadm certs check-expiration -o json and returns
// its certificates and CAs by name.
func (n *node) checkExpiration() (map[string]expiration, string, error) {
	stdout, stderr, err := n.run("certs", "check-expiration", "--config", configPath, "-o", "json")
	if err != nil {
		return nil, stderr, err
	}
	var info struct {
		Kind                   string       `json:"kind"`
		Certificates           []expiration `json:"certificates"`
		CertificateAuthorities []expiration `json:"certificateAuthorities"`
	}
	if err := json.Unmarshal(stdout, &info); err != nil || info.Kind != "CertificateExpirationInfo" {
		return nil, stderr, fmt.Errorf("kubeadm -o json: %v (kind %q): %s", err, info.Kind, stdout)
	}
	out := map[string]expiration{}
	for _, e := range append(info.Certificates, info.CertificateAuthorities...) {
		out[e.Name] = e
	}
	return out, stderr, nil
}

func (n *node) must(args ...string) []byte {
	n.t.Helper()
	stdout, stderr, err := n.run(args...)
	if err != nil {
		n.t.Fatalf("kubeadm %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return stdout
}

// run runs kubeadm chrooted into the node's root. As a user other than
// root, it runs in a new user namespace where it is root, which chroot
// needs.
func (n *node) run(args ...string) ([]byte, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, n.kubeadm, append([]string{"--rootfs", n.root}, args...)...)
	if os.Geteuid() != 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Cloneflags:  syscall.CLONE_NEWUSER,
			UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}},
			GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}},
		}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.Bytes(), stderr.String(), err
}

// The kubeadm binary, found once for the package.
var tools struct {
	once sync.Once
	path string
	err  error
}

// kubeadmBinary returns the kubeadm of $KUBECERTS_TOOLS_BIN or of
// hack/build-tools.sh (which builds it on first use, taking minutes), or
// skips the test when KUBECERTS_E2E=0.
func kubeadmBinary(t *testing.T) string {
	t.Helper()
	if os.Getenv("KUBECERTS_E2E") == "0" {
		t.Skip("KUBECERTS_E2E=0: skipping the tests against the real kubeadm")
	}
	tools.once.Do(func() { tools.path, tools.err = findKubeadm() })
	if tools.err != nil {
		t.Fatal(tools.err)
	}
	return tools.path
}

func findKubeadm() (string, error) {
	dir := os.Getenv("KUBECERTS_TOOLS_BIN")
	if dir == "" {
		var err error
		if dir, err = buildTools(); err != nil {
			return "", err
		}
	}
	path := filepath.Join(dir, "kubeadm")
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%w (set KUBECERTS_TOOLS_BIN or run hack/build-tools.sh)", err)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%s is not an executable file", path)
	}
	return path, nil
}

// buildTools runs hack/build-tools.sh and returns the directory it prints
// last.
func buildTools() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(filepath.Join(root, "hack", "build-tools.sh"))
	cmd.Dir, cmd.Stderr = root, os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("hack/build-tools.sh: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if dir := strings.TrimSpace(lines[len(lines)-1]); dir != "" {
		return dir, nil
	}
	return "", errors.New("hack/build-tools.sh printed no directory")
}

// moduleRoot is the directory of the kubecerts go.mod above the working
// directory (a test runs in its package's directory).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.Contains(data, []byte("module github.com/kubecerts/kubecerts\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no kubecerts go.mod above the working directory")
		}
		dir = parent
	}
}
