package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"k8s.io/client-go/tools/clientcmd"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubecerts/kubecerts/plugins/certs/source"
	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/certificate/certtest"
	"github.com/kubecerts/kubecerts/test/e2e/framework"
)

// fakeAzure is test/e2e/fakeaz built as "az", with a root of VM
// directories and a log of its calls.
type fakeAzure struct {
	t    *testing.T
	bin  string // the az binary
	root string // FAKEAZ_ROOT
	log  string // FAKEAZ_LOG
	sub  string
	// certs written, by VM directory and path on the node.
	certs map[string]map[string]*certtest.Cert
}

func newFakeAzure(t *testing.T) *fakeAzure {
	t.Helper()
	root, err := framework.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin", "az")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "./test/e2e/fakeaz")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the fake az: %v\n%s", err, out)
	}
	return &fakeAzure{t: t, bin: bin, root: filepath.Join(dir, "vms"), log: filepath.Join(dir, "az.log"),
		sub: "8ecadfc9-d1a3-4ea4-b844-0d9f87e4d7c8", certs: map[string]map[string]*certtest.Cert{}}
}

// rgID is the resource ID of the fake's resource group rg, as
// --node-resource-group takes it.
func (f *fakeAzure) rgID(rg string) string {
	return "/subscriptions/" + f.sub + "/resourceGroups/" + rg
}

// aksOfNodes makes the fake's AKS cluster of the test cluster — its fqdn
// the API server host of kubeconfig — with nodeRG as its node resource
// group: what the nodes source finds with az aks list by default.
func (f *fakeAzure) aksOfNodes(t *testing.T, kubeconfig, nodeRG string) {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(cfg.Clusters[cfg.Contexts[cfg.CurrentContext].Cluster].Server)
	if err != nil {
		t.Fatal(err)
	}
	c := newAKSCluster(t, f, "rg-"+strings.ToLower(nodeRG), "aks", u.Hostname(), nil)
	var mc map[string]any
	data, err := os.ReadFile(filepath.Join(c.dir, "cluster.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &mc); err != nil {
		t.Fatal(err)
	}
	mc["nodeResourceGroup"] = nodeRG
	c.writeJSON("cluster.json", mc)
}

// env is the fake's environment. The node script runs with this process's
// PATH (the VM's tools: bash, openssl, …), not the one kubectl gives the
// plugin, which has kubectl and the plugins only.
func (f *fakeAzure) env() []string {
	return []string{"FAKEAZ_ROOT=" + f.root, "FAKEAZ_LOG=" + f.log, "FAKEAZ_PATH=" + os.Getenv("PATH")}
}

// vmssDir is the filesystem of a scale-set instance (Azure's names are
// case-insensitive: the fake looks them up in lower case).
func (f *fakeAzure) vmssDir(rg, vmss, instance string) string {
	return f.mkdir(filepath.Join(f.root, strings.ToLower(rg), "vmss", strings.ToLower(vmss), instance))
}

func (f *fakeAzure) vmDir(rg, vm string) string {
	return f.mkdir(filepath.Join(f.root, strings.ToLower(rg), "vm", strings.ToLower(vm)))
}

func (f *fakeAzure) mkdir(d string) string {
	f.t.Helper()
	if err := os.MkdirAll(d, 0o755); err != nil {
		f.t.Fatal(err)
	}
	return d
}

func (f *fakeAzure) write(vmDir, nodePath string, data []byte) {
	f.t.Helper()
	p := filepath.Join(vmDir, nodePath)
	f.mkdir(filepath.Dir(p))
	if err := os.WriteFile(p, data, 0o600); err != nil {
		f.t.Fatal(err)
	}
}

// cert writes a real certificate at nodePath on the VM; withKey appends its
// private key, as in kubelet-client-current.pem.
func (f *fakeAzure) cert(vmDir, nodePath string, tmpl certtest.Template, withKey bool) *certtest.Cert {
	f.t.Helper()
	c := certtest.New(f.t, tmpl, nil)
	f.put(vmDir, nodePath, c, withKey)
	return c
}

func (f *fakeAzure) put(vmDir, nodePath string, c *certtest.Cert, withKey bool) {
	f.t.Helper()
	data := c.PEM()
	if withKey {
		data = append(data, c.KeyPEM(f.t)...)
	}
	f.write(vmDir, nodePath, data)
	if f.certs[vmDir] == nil {
		f.certs[vmDir] = map[string]*certtest.Cert{}
	}
	f.certs[vmDir][nodePath] = c
}

func (f *fakeAzure) marker(vmDir, name, content string) {
	f.write(vmDir, name, []byte(content))
}

// calls are the argument lists az was called with, in order.
func (f *fakeAzure) calls() [][]string {
	f.t.Helper()
	data, err := os.ReadFile(f.log)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		f.t.Fatal(err)
	}
	var out [][]string
	s := bufio.NewScanner(bytes.NewReader(data))
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		var line struct{ Argv []string }
		if err := json.Unmarshal(s.Bytes(), &line); err != nil {
			f.t.Fatalf("az log line %q: %v", s.Text(), err)
		}
		out = append(out, line.Argv)
	}
	return out
}

func (f *fakeAzure) vmssProviderID(rgSegment, rg, vmss, instance string) string {
	return fmt.Sprintf("azure:///subscriptions/%s/%s/%s/providers/Microsoft.Compute/virtualMachineScaleSets/%s/virtualMachines/%s", f.sub, rgSegment, rg, vmss, instance)
}

func (f *fakeAzure) vmProviderID(rg, vm string) string {
	return fmt.Sprintf("azure:///subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/%s", f.sub, rg, vm)
}

// vmssArgs and vmArgs are the exact az command lines the check must run.
func (f *fakeAzure) vmssArgs(rg, vmss, instance, script string) []string {
	return []string{"vmss", "run-command", "invoke", "-g", rg, "-n", vmss, "--instance-id", instance, "--command-id", "RunShellScript", "--scripts", script, "--subscription", f.sub, "-o", "json"}
}

func (f *fakeAzure) vmArgs(rg, vm, script string) []string {
	return []string{"vm", "run-command", "invoke", "-g", rg, "-n", vm, "--command-id", "RunShellScript", "--scripts", script, "--subscription", f.sub, "-o", "json"}
}

func randomSuffix(t *testing.T) string {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

const nodesLabel = "kubecerts.io/e2e-nodes"

// createAzureNode creates a Node as AKS registers it: its providerID, and
// the os label; the test's label lets -l pick this test's nodes only.
func createAzureNode(t *testing.T, admin kubernetes.Interface, name, providerID, os, testLabel string) {
	t.Helper()
	_, err := admin.CoreV1().Nodes().Create(t.Context(), &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelOSStable: os, nodesLabel: testLabel}},
		Spec:       corev1.NodeSpec{ProviderID: providerID},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating node %s: %v", name, err)
	}
	t.Cleanup(func() { _ = admin.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}) })
}

type nodesRun struct {
	env        []string
	stdin      string
	kubeconfig string
	path       string // a directory put on kubectl's PATH after the plugins (the fake az's)
}

// nodesCheck runs `kubectl certs check ARGS` through the real kubectl with
// the run's environment, and returns stdout, stderr and the exit status;
// no output may hold a private key.
func nodesCheck(t *testing.T, run nodesRun, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	plugins := framework.BuildPlugins(t)
	kubectl, err := framework.KubectlPath()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	var path []string
	if run.path != "" {
		path = append(path, run.path)
	}
	env, err := framework.KubectlEnv(plugins, run.kubeconfig, path...)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, kubectl, append([]string{"certs", "check"}, args...)...)
	cmd.Env = append(env, run.env...)
	cmd.Stdin = strings.NewReader(run.stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	code = exitCode(t, err)
	assertNoPrivateKey(t, out.String()+errOut.String())
	return out.String(), errOut.String(), code
}

func nodesReport(t *testing.T, stdout, stderr string, code int) *api.CertificateReport {
	t.Helper()
	var r api.CertificateReport
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("not a report (%v), exit %d:\nstdout:\n%s\nstderr:\n%s", err, code, stdout, stderr)
	}
	if r.Kind != "CertificateReport" || r.APIVersion != "kubecerts.io/v1alpha1" {
		t.Errorf("kind %s apiVersion %s", r.Kind, r.APIVersion)
	}
	return &r
}

// wantEntry checks the entry at location against the certificate in the
// VM's file: fingerprint, subject, validity, status.
func wantEntry(t *testing.T, r *api.CertificateReport, location string, c *certtest.Cert, status api.CertificateStatus) {
	t.Helper()
	got := findBy(r, func(x *api.Certificate) bool { return x.Location == location })
	if got == nil {
		t.Errorf("no entry at %s", location)
		return
	}
	if got.Source != "nodes" || got.SHA256Fingerprint != certificate.Fingerprint(c.Cert) || got.Subject != c.Cert.Subject.String() ||
		!got.NotAfter.Time.Equal(c.Cert.NotAfter) || !got.NotBefore.Time.Equal(c.Cert.NotBefore) || got.Status != status ||
		got.Name != filepath.Base(strings.SplitN(location, ":", 2)[1]) {
		t.Errorf("%s = %+v;\nwant sha256 %s, subject %s, %v–%v, %s", location, got, certificate.Fingerprint(c.Cert), c.Cert.Subject, c.Cert.NotBefore, c.Cert.NotAfter, status)
	}
}

func reportErrors(r *api.CertificateReport) map[string]string {
	m := map[string]string{}
	for _, e := range r.Errors {
		m[e.Location] = e.Message
	}
	return m
}

func reportSkipped(r *api.CertificateReport) map[string]string {
	m := map[string]string{}
	for _, s := range r.Skipped {
		m[s.Location] = s.Reason
	}
	return m
}

// TestCheckNodesReport: scale-set instances (one with its resource group
// lower-cased in the providerID) and an availability-set VM are checked
// through `az … run-command invoke`; a Windows node and a non-Azure node are
// skipped; the report carries the files' real fingerprints and statuses,
// absent default files are skipped, and the private key in
// kubelet-client-current.pem never shows.
func TestCheckNodesReport(t *testing.T) {
	c := framework.Shared(t)
	admin := c.Clientset()
	az := newFakeAzure(t)
	sfx := randomSuffix(t)
	now := time.Now()
	day := 24 * time.Hour
	rg := "MC_kubecerts-e2e_aks" + sfx + "_eastus"
	vmss := "aks-np" + sfx + "-vmss"
	vm := "aks-as" + sfx + "-0"
	n0, n1, nAS, nWin, nKind := "aks-np"+sfx+"-vmss000000", "aks-np"+sfx+"-vmss000001", vm, "akswin"+sfx+"000000", "kind-"+sfx
	const extra = "/etc/kubernetes/extra/custom.pem"

	ca := certtest.CA(t, "aks-ca-"+sfx)
	d0 := az.vmssDir(rg, vmss, "0")
	az.put(d0, "/etc/kubernetes/certs/ca.crt", ca, false)
	az.cert(d0, "/etc/kubernetes/certs/apiserver.crt", certtest.Template{CommonName: "apiserver", NotAfter: now.Add(5 * day)}, false)
	az.cert(d0, "/etc/kubernetes/certs/client.crt", certtest.Template{CommonName: "client", Organization: []string{"system:masters"}, NotAfter: now.Add(20 * day)}, false)
	kubeletClient := az.cert(d0, "/var/lib/kubelet/pki/kubelet-client-current.pem", certtest.Template{CommonName: "system:node:" + n0, Organization: []string{"system:nodes"}, NotAfter: now.Add(300 * day)}, true)
	az.cert(d0, "/var/lib/kubelet/pki/kubelet.crt", certtest.Template{CommonName: n0 + "@1700000000", NotBefore: now.Add(-30 * day), NotAfter: now.Add(-2 * day)}, false)
	az.cert(d0, extra, certtest.Template{CommonName: "custom"}, false)
	d1 := az.vmssDir(rg, vmss, "1")
	az.put(d1, "/etc/kubernetes/certs/ca.crt", ca, false)
	az.write(d1, "/etc/kubernetes/certs/bad.crt", []byte("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"))
	dAS := az.vmDir(rg, vm)
	az.put(dAS, "/etc/kubernetes/certs/ca.crt", ca, false)
	az.cert(dAS, "/var/lib/kubelet/pki/kubelet-server-current.pem", certtest.Template{CommonName: "system:node:" + nAS, NotAfter: now.Add(200 * day)}, true)

	createAzureNode(t, admin, n0, az.vmssProviderID("resourceGroups", rg, vmss, "0"), "linux", sfx)
	createAzureNode(t, admin, n1, az.vmssProviderID("resourcegroups", strings.ToLower(rg), vmss, "1"), "linux", sfx)
	createAzureNode(t, admin, nAS, az.vmProviderID(rg, vm), "linux", sfx)
	createAzureNode(t, admin, nWin, az.vmssProviderID("resourceGroups", rg, "akswin", "0"), "windows", sfx)
	createAzureNode(t, admin, nKind, "kind://docker/kind/"+nKind, "linux", sfx)
	// Azure's record of the cluster says which resource group its VMs are
	// in: found by the API server's host.
	az.aksOfNodes(t, c.AdminKubeconfig, rg)
	env := append(az.env(), "FAKEAZ_SUBSCRIPTION="+aksSub) // az's default subscription holds it

	stdout, stderr, code := nodesCheck(t, nodesRun{env: env, kubeconfig: c.AdminKubeconfig},
		"--source", "nodes", "-l", nodesLabel+"="+sfx, "--az-path", az.bin, "--node-cert-path", extra, "-o", "json")
	r := nodesReport(t, stdout, stderr, code)
	if code != 3 {
		t.Errorf("exit %d, want 3 (apiserver.crt CRITICAL, kubelet.crt EXPIRED); stderr:\n%s", code, stderr)
	}
	loc := func(node, file string) string { return "node/" + node + ":" + file }
	wantEntry(t, r, loc(n0, "/etc/kubernetes/certs/ca.crt"), ca, api.StatusOK)
	wantEntry(t, r, loc(n0, "/etc/kubernetes/certs/apiserver.crt"), az.certs[d0]["/etc/kubernetes/certs/apiserver.crt"], api.StatusCritical)
	wantEntry(t, r, loc(n0, "/etc/kubernetes/certs/client.crt"), az.certs[d0]["/etc/kubernetes/certs/client.crt"], api.StatusWarning)
	wantEntry(t, r, loc(n0, "/var/lib/kubelet/pki/kubelet-client-current.pem"), kubeletClient, api.StatusOK)
	wantEntry(t, r, loc(n0, "/var/lib/kubelet/pki/kubelet.crt"), az.certs[d0]["/var/lib/kubelet/pki/kubelet.crt"], api.StatusExpired)
	wantEntry(t, r, loc(n0, extra), az.certs[d0][extra], api.StatusOK)
	wantEntry(t, r, loc(n1, "/etc/kubernetes/certs/ca.crt"), ca, api.StatusOK)
	wantEntry(t, r, loc(nAS, "/etc/kubernetes/certs/ca.crt"), ca, api.StatusOK)
	wantEntry(t, r, loc(nAS, "/var/lib/kubelet/pki/kubelet-server-current.pem"), az.certs[dAS]["/var/lib/kubelet/pki/kubelet-server-current.pem"], api.StatusOK)
	if len(r.Certificates) != 9 || r.Summary.Total != 9 || r.Summary.Critical != 1 || r.Summary.Expired != 1 || r.Summary.Warning != 1 {
		t.Errorf("%d certificates, summary %+v, want 9", len(r.Certificates), r.Summary)
	}

	wantSkipped := map[string]string{
		"node/" + nWin:  "a Windows node",
		"node/" + nKind: `not an Azure VM: providerID "kind://docker/kind/` + nKind + `"`,
		loc(n0, "/var/lib/kubelet/pki/kubelet-server-current.pem"):  "not on the node",
		loc(n1, "/var/lib/kubelet/pki/kubelet-client-current.pem"):  "not on the node",
		loc(n1, "/var/lib/kubelet/pki/kubelet.crt"):                 "not on the node",
		loc(n1, "/var/lib/kubelet/pki/kubelet-server-current.pem"):  "not on the node",
		loc(nAS, "/var/lib/kubelet/pki/kubelet-client-current.pem"): "not on the node",
		loc(nAS, "/var/lib/kubelet/pki/kubelet.crt"):                "not on the node",
	}
	gotSkipped := reportSkipped(r)
	for l, w := range wantSkipped {
		if !strings.HasPrefix(gotSkipped[l], w) {
			t.Errorf("skipped %s: %q, want %q", l, gotSkipped[l], w)
		}
	}
	if len(gotSkipped) != len(wantSkipped) {
		t.Errorf("skipped = %v", gotSkipped)
	}
	wantErrors := map[string]string{
		loc(n1, "/etc/kubernetes/certs/bad.crt"): "openssl could not read a certificate from it",
		loc(n1, extra):                           "no such file on the node",
		loc(nAS, extra):                          "no such file on the node",
	}
	gotErrors := reportErrors(r)
	for l, w := range wantErrors {
		if !strings.Contains(gotErrors[l], w) {
			t.Errorf("error at %s = %q, want %q", l, gotErrors[l], w)
		}
	}
	if len(gotErrors) != len(wantErrors) {
		t.Errorf("errors = %v", gotErrors)
	}
	keyBody := strings.Split(string(kubeletClient.KeyPEM(t)), "\n")[1]
	if strings.Contains(stdout+stderr, keyBody) {
		t.Errorf("the output holds the kubelet's private key")
	}

	// The exact az command lines: one per Linux Azure node, none for the
	// Windows and kind nodes; resource groups as the providerIDs give them.
	script := source.NodeScript([]string{extra})
	aksList := []string{"aks", "list", "-o", "json"}
	want := [][]string{
		aksList,
		az.vmssArgs(rg, vmss, "0", script),
		az.vmssArgs(strings.ToLower(rg), vmss, "1", script),
		az.vmArgs(rg, vm, script),
	}
	got := az.calls()
	sortArgs(got)
	sortArgs(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("az calls:\n%s\nwant\n%s", argsText(got), argsText(want))
	}

	// The fake on PATH instead of --az-path; --node picks one node; a
	// table for people.
	if err := os.Remove(az.log); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code = nodesCheck(t, nodesRun{env: env, kubeconfig: c.AdminKubeconfig, path: filepath.Dir(az.bin)},
		"--source", "nodes", "--node", nAS)
	if code != 0 || !strings.Contains(stdout, "node/"+nAS+":/etc/kubernetes/certs/ca.crt") || strings.Contains(stdout, n0) {
		t.Errorf("--node %s: exit %d\n%s\n%s", nAS, code, stdout, stderr)
	}
	if !strings.Contains(stderr, "skipped: nodes node/"+nAS+":/var/lib/kubelet/pki/kubelet.crt: not on the node") {
		t.Errorf("stderr:\n%s", stderr)
	}
	if got := az.calls(); len(got) != 2 || !reflect.DeepEqual(got[0], aksList) || !reflect.DeepEqual(got[1], az.vmArgs(rg, vm, source.NodeScript(nil))) {
		t.Errorf("az calls with --node %s:\n%s", nAS, argsText(got))
	}
}

// TestCheckNodesAzureErrors: each way az and the run command fail is one
// error naming the node and saying what to do; the other nodes are still
// checked, and a slow node is given up at --node-timeout.
func TestCheckNodesAzureErrors(t *testing.T) {
	c := framework.Shared(t)
	admin := c.Clientset()
	az := newFakeAzure(t)
	sfx := randomSuffix(t)
	rg := "MC_errors_aks" + sfx + "_westeurope"
	vmss := "aks-err" + sfx + "-vmss"
	name := func(i int) string { return fmt.Sprintf("aks-err%s-vmss%06d", sfx, i) }
	cases := []struct {
		marker, content string
		want            []string
	}{
		{"", "", nil}, // healthy
		{"not-logged-in", "", []string{"not logged in to Azure: run `az login`"}},
		{"no-permission", "", []string{"no permission to run commands on scale set " + vmss + " instance 2", "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommand/action", "ops@kubecerts.example"}},
		{"deallocated", "", []string{"scale set " + vmss + " instance 3", "is deallocated (stopped)"}},
		{"missing", "", []string{"scale set " + vmss + " instance 4", "does not exist in Azure"}},
		{"provisioning-failed", "", []string{"the run command failed on the VM: VM has reported a failure when processing extension 'RunCommandLinux'"}},
		{"no-openssl", "", []string{"openssl is not installed on the node"}},
		{"slow", "60s", []string{"timed out: no answer from az within 3s (--node-timeout)"}},
	}
	for i, cs := range cases {
		createAzureNode(t, admin, name(i), az.vmssProviderID("resourceGroups", rg, vmss, strconv.Itoa(i)), "linux", sfx)
		if cs.marker == "missing" {
			continue
		}
		d := az.vmssDir(rg, vmss, strconv.Itoa(i))
		az.cert(d, "/etc/kubernetes/certs/ca.crt", certtest.Template{CommonName: "ca", IsCA: true}, false)
		if cs.marker != "" {
			az.marker(d, cs.marker, cs.content)
		}
	}
	start := time.Now()
	stdout, stderr, code := nodesCheck(t, nodesRun{env: az.env(), kubeconfig: c.AdminKubeconfig},
		"--source", "nodes", "-l", nodesLabel+"="+sfx, "--az-path", az.bin, "--node-timeout", "3s", "--parallel", "8", "--node-resource-group", az.rgID(rg), "-o", "json")
	took := time.Since(start)
	r := nodesReport(t, stdout, stderr, code)
	if code != 1 {
		t.Errorf("exit %d, want 1; stderr:\n%s", code, stderr)
	}
	if took > 40*time.Second {
		t.Errorf("took %v: the slow node was not given up after 3s", took)
	}
	if len(r.Certificates) != 1 || r.Certificates[0].Location != "node/"+name(0)+":/etc/kubernetes/certs/ca.crt" {
		t.Errorf("certificates = %+v, want the healthy node's", r.Certificates)
	}
	errs := reportErrors(r)
	for i, cs := range cases {
		msg, ok := errs["node/"+name(i)]
		if cs.want == nil {
			if ok {
				t.Errorf("healthy node: error %q", msg)
			}
			continue
		}
		for _, w := range cs.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: error %q lacks %q", cs.marker, msg, w)
			}
		}
		if !strings.Contains(stderr, "error: nodes node/"+name(i)+": ") {
			t.Errorf("%s: no error line naming node %s on stderr:\n%s", cs.marker, name(i), stderr)
		}
	}
	if len(errs) != len(cases)-1 {
		t.Errorf("errors = %v", errs)
	}
	// Not logged in on a VM with the table output: the one line says az login.
	if !regexp.MustCompile("(?m)^error: nodes node/" + name(1) + ": not logged in to Azure: run `az login`").MatchString(stderr) {
		t.Errorf("stderr:\n%s", stderr)
	}
}

// TestCheckNodesHostileProviderID: Nodes whose providerIDs name a resource
// group, scale set, instance or VM "@…" (az reads such an argument from the
// file it names, here its own token cache, and sends it to Azure) are each
// one error naming the Node and the name; az is never run with such an
// argument; the other node is still checked.
func TestCheckNodesHostileProviderID(t *testing.T) {
	c := framework.Shared(t)
	admin := c.Clientset()
	az := newFakeAzure(t)
	sfx := randomSuffix(t)
	rg, vmss := "MC_hostile_"+sfx, "aks-ho"+sfx+"-vmss"
	good := "aks-ho" + sfx + "-vmss000000"
	d := az.vmssDir(rg, vmss, "0")
	ca := az.cert(d, "/etc/kubernetes/certs/ca.crt", certtest.Template{CommonName: "ca", IsCA: true}, false)
	createAzureNode(t, admin, good, az.vmssProviderID("resourceGroups", rg, vmss, "0"), "linux", sfx)
	// The fake would answer for these too: only the names stop az.
	az.vmssDir("@msal_token_cache.json", vmss, "1")
	az.vmssDir(rg, "@msal_token_cache.json", "2")
	az.vmDir(rg, "@msal_token_cache.json")
	hostile := map[string]struct{ providerID, err string }{
		"ho-rg-" + sfx:       {az.vmssProviderID("resourceGroups", "@msal_token_cache.json", vmss, "1"), `resource group "@msal_token_cache.json": starts with '@'`},
		"ho-vmss-" + sfx:     {az.vmssProviderID("resourceGroups", rg, "@msal_token_cache.json", "2"), `scale set "@msal_token_cache.json": starts with '@'`},
		"ho-instance-" + sfx: {az.vmssProviderID("resourceGroups", rg, vmss, "@msal_token_cache.json"), `scale-set instance ID "@msal_token_cache.json"`},
		"ho-vm-" + sfx:       {az.vmProviderID(rg, "@msal_token_cache.json"), `VM "@msal_token_cache.json": starts with '@'`},
		"ho-home-" + sfx:     {az.vmProviderID(rg, "@~"), `VM "@~": starts with '@'`},
		"ho-eq-" + sfx:       {az.vmProviderID(rg, "vm=@msal_token_cache.json"), `VM "vm=@msal_token_cache.json": has '='`},
		"ho-path-" + sfx:     {az.vmProviderID(rg, "@/root/.azure/msal_token_cache.json"), "names neither a scale-set instance nor a VM"},
		"ho-option-" + sfx:   {az.vmProviderID("--debug", "vm"), `resource group "--debug": starts with '-', which az would read as an option`},
	}
	for name, h := range hostile {
		createAzureNode(t, admin, name, h.providerID, "linux", sfx)
	}
	// A Node naming a VM outside the cluster's node resource group: the
	// fake would run it, the resource group stops az.
	az.vmDir("prod-db", "db01")
	foreign := "ho-foreign-" + sfx
	createAzureNode(t, admin, foreign, az.vmProviderID("prod-db", "db01"), "linux", sfx)
	// Two Nodes naming one VM (a providerID is what registered the Node
	// said): neither is run on.
	az.vmssDir(rg, vmss, "3")
	dupA, dupB := "ho-dup-a-"+sfx, "ho-dup-b-"+sfx
	createAzureNode(t, admin, dupA, az.vmssProviderID("resourceGroups", rg, vmss, "3"), "linux", sfx)
	createAzureNode(t, admin, dupB, az.vmssProviderID("resourcegroups", strings.ToLower(rg), vmss, "3"), "linux", sfx)

	stdout, stderr, code := nodesCheck(t, nodesRun{env: az.env(), kubeconfig: c.AdminKubeconfig},
		"--source", "nodes", "-l", nodesLabel+"="+sfx, "--az-path", az.bin, "--node-resource-group", az.rgID(rg), "-o", "json")
	r := nodesReport(t, stdout, stderr, code)
	if code != 1 {
		t.Errorf("exit %d, want 1; stderr:\n%s", code, stderr)
	}
	wantEntry(t, r, "node/"+good+":/etc/kubernetes/certs/ca.crt", ca, api.StatusOK)
	if len(r.Certificates) != 1 {
		t.Errorf("certificates = %+v, want the good node's", r.Certificates)
	}
	errs := reportErrors(r)
	stderrOK := true
	for name, h := range hostile {
		msg := errs["node/"+name]
		if !strings.Contains(msg, fmt.Sprintf("providerID %q", h.providerID)) || !strings.Contains(msg, h.err) {
			t.Errorf("node %s: error %q, want the providerID and %q", name, msg, h.err)
		}
		if !strings.Contains(stderr, "error: nodes node/"+name+": providerID ") {
			t.Errorf("no error line naming node %s and its providerID on stderr", name)
			stderrOK = false
		}
	}
	for node, other := range map[string]string{dupA: dupB, dupB: dupA} {
		if msg := errs["node/"+node]; !strings.Contains(msg, "named by the providerID of Node "+other+" too") {
			t.Errorf("node %s: error %q, want one naming Node %s", node, msg, other)
		}
	}
	if msg := errs["node/"+foreign]; !strings.Contains(msg, "VM db01 (resource group prod-db") || !strings.Contains(msg, "not in the cluster's node resource group "+az.rgID(rg)) {
		t.Errorf("node %s: error %q, want one naming its VM and the node resource group", foreign, msg)
	}
	if len(errs) != len(hostile)+3 {
		t.Errorf("errors = %v", errs)
	}
	if !stderrOK {
		t.Logf("stderr:\n%s", stderr)
	}
	// One az call, for the good node; no argument az would read a file for.
	calls := az.calls()
	if len(calls) != 1 || !reflect.DeepEqual(calls[0], az.vmssArgs(rg, vmss, "0", source.NodeScript(nil))) {
		t.Errorf("az calls:\n%s", argsText(calls))
	}
	for _, argv := range calls {
		for _, a := range argv {
			if _, after, eq := strings.Cut(a, "="); strings.HasPrefix(a, "@") || eq && strings.HasPrefix(after, "@") {
				t.Errorf("az was run with %q", a)
			}
		}
	}
}

// TestCheckNodesBackslashPath: the node script runs under dash (Ubuntu's
// /bin/sh), whose echo turned backslash escapes in a --node-cert-path into
// line breaks and '|': a path that spells a record in escapes is reported as
// the one path it is, missing, and forges nothing; a file whose name holds
// backslashes is reported under that name.
func TestCheckNodesBackslashPath(t *testing.T) {
	if _, err := exec.LookPath("dash"); err != nil {
		t.Skipf("dash is not installed, so the node script is not run under it: %v", err)
	}
	c := framework.Shared(t)
	admin := c.Clientset()
	az := newFakeAzure(t)
	sfx := randomSuffix(t)
	rg, vmss, node := "MC_bs_"+sfx, "aks-bs"+sfx+"-vmss", "aks-bs"+sfx+"-vmss000000"
	d := az.vmssDir(rg, vmss, "0")
	createAzureNode(t, admin, node, az.vmssProviderID("resourceGroups", rg, vmss, "0"), "linux", sfx)
	fp := strings.Repeat("ab", 32)
	// dash's echo printed "a|/etc/kubernetes/none" and the record
	// "c|1700000000|4000000000|abab…|/etc/kubernetes/forged.crt|CN=forged".
	forge := `/etc/kubernetes/none\nc\01741700000000\01744000000000\0174` + fp + `\0174/etc/kubernetes/forged.crt\0174CN=forged`
	const backslashed = `/etc/kubernetes/certs/back\0174slash\n\c.crt`
	bs := az.cert(d, backslashed, certtest.Template{CommonName: "backslash"}, false)

	stdout, stderr, code := nodesCheck(t, nodesRun{env: append(az.env(), "FAKEAZ_SHELL=dash"), kubeconfig: c.AdminKubeconfig},
		"--source", "nodes", "--node", node, "--az-path", az.bin, "--node-cert-path", forge, "--node-resource-group", az.rgID(rg), "-o", "json")
	r := nodesReport(t, stdout, stderr, code)
	if code != 1 {
		t.Errorf("exit %d, want 1 (the --node-cert-path is missing); stderr:\n%s", code, stderr)
	}
	wantEntry(t, r, "node/"+node+":"+backslashed, bs, api.StatusOK)
	if len(r.Certificates) != 1 {
		t.Errorf("certificates = %+v, want %s only (nothing forged)", r.Certificates, backslashed)
	}
	errs := reportErrors(r)
	if len(errs) != 1 || errs["node/"+node+":"+forge] != "no such file on the node" {
		t.Errorf("errors = %v, want %q missing", errs, forge)
	}
}

// TestCheckNodesTruncation: a node with more certificates than fit in 4,096
// bytes: Azure keeps the end of the output; the report keeps every whole
// line and says how many were lost.
func TestCheckNodesTruncation(t *testing.T) {
	c := framework.Shared(t)
	admin := c.Clientset()
	az := newFakeAzure(t)
	sfx := randomSuffix(t)
	rg, vmss, node := "MC_trunc_"+sfx, "aks-tr"+sfx+"-vmss", "aks-tr"+sfx+"-vmss000000"
	d := az.vmssDir(rg, vmss, "0")
	const files = 40
	for i := 0; i < files; i++ {
		az.cert(d, fmt.Sprintf("/etc/kubernetes/certs/service-%02d.crt", i),
			certtest.Template{CommonName: fmt.Sprintf("service-%02d.kube-system.svc.cluster.local", i), Organization: []string{"kubecerts e2e truncation"}}, false)
	}
	az.cert(d, "/var/lib/kubelet/pki/kubelet-client-current.pem", certtest.Template{CommonName: "system:node:" + node}, true)
	createAzureNode(t, admin, node, az.vmssProviderID("resourceGroups", rg, vmss, "0"), "linux", sfx)

	stdout, stderr, code := nodesCheck(t, nodesRun{env: az.env(), kubeconfig: c.AdminKubeconfig},
		"--source", "nodes", "--node", node, "--az-path", az.bin, "--node-resource-group", az.rgID(rg), "-o", "json")
	r := nodesReport(t, stdout, stderr, code)
	if code != 1 {
		t.Errorf("exit %d, want 1 (lines lost); stderr:\n%s", code, stderr)
	}
	total := files + 3 // the glob's files and the three kubelet files
	kept := len(r.Certificates) + len(r.Skipped)
	if kept < 15 || kept >= total {
		t.Fatalf("%d of %d file lines reported: the output should be cut", kept, total)
	}
	msg := reportErrors(r)["node/"+node]
	want := fmt.Sprintf("Azure keeps only the last 4096 bytes of a run command's output: %d of %d file lines were lost, those files are not checked; the first line kept was cut", total-kept, total)
	if !strings.Contains(msg, want) {
		t.Errorf("error = %q, want %q", msg, want)
	}
	// What was kept is right: the last files, real fingerprints.
	for _, e := range r.Certificates {
		file := strings.TrimPrefix(e.Location, "node/"+node+":")
		c := az.certs[d][file]
		if c == nil || e.SHA256Fingerprint != certificate.Fingerprint(c.Cert) {
			t.Errorf("%s: %+v", e.Location, e)
			continue
		}
		// Long subjects are cut to 64 bytes, with a note.
		if full := c.Cert.Subject.String(); len(full) > 64 && (e.Subject != full[:64] || len(e.Notes) != 1 || !strings.Contains(e.Notes[0], "the subject may be cut")) ||
			len(full) <= 64 && e.Subject != full {
			t.Errorf("%s: subject %q, notes %q; the certificate's is %q", e.Location, e.Subject, e.Notes, full)
		}
	}
	if findBy(r, func(x *api.Certificate) bool { return strings.HasSuffix(x.Location, "/service-39.crt") }) == nil ||
		findBy(r, func(x *api.Certificate) bool { return strings.HasSuffix(x.Location, "/kubelet-client-current.pem") }) == nil ||
		findBy(r, func(x *api.Certificate) bool { return strings.HasSuffix(x.Location, "/service-00.crt") }) != nil {
		t.Errorf("kept %d certificates: want the last ones (service-39.crt, kubelet-client-current.pem), not the first", len(r.Certificates))
	}
}

// TestCheckNodesOffline: output captured earlier with az (JSON of the node
// script, the documented single-line tsv form, output Azure cut) is read
// with --run-command-output from a file or stdin, without a cluster or az.
func TestCheckNodesOffline(t *testing.T) {
	az := newFakeAzure(t)
	now := time.Now()
	d1 := az.vmssDir("MC_rg", "vmss", "0")
	ca := az.cert(d1, "/etc/kubernetes/certs/ca.crt", certtest.Template{CommonName: "ca", IsCA: true, NotAfter: now.Add(3650 * 24 * time.Hour)}, false)
	client := az.cert(d1, "/var/lib/kubelet/pki/kubelet-client-current.pem", certtest.Template{CommonName: "system:node:n1", NotAfter: now.Add(10 * 24 * time.Hour)}, true)
	d2 := az.vmDir("MC_rg", "vm2")
	old := az.cert(d2, "/etc/kubernetes/certs/apiserver.crt", certtest.Template{CommonName: "apiserver", NotBefore: now.Add(-400 * 24 * time.Hour), NotAfter: now.Add(-35 * 24 * time.Hour)}, false)
	d3 := az.vmssDir("MC_rg", "vmss", "7")
	for i := 0; i < 40; i++ {
		az.cert(d3, fmt.Sprintf("/etc/kubernetes/certs/many-%02d.crt", i), certtest.Template{CommonName: fmt.Sprintf("many-%02d-with-a-rather-long-common-name.example", i)}, false)
	}

	capture := func(args ...string) string {
		cmd := exec.Command(az.bin, args...)
		cmd.Env = append(os.Environ(), az.env()...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("az %v: %v", args, err)
		}
		return string(out)
	}
	script := source.NodeScript(nil)
	jsonOut := capture("vmss", "run-command", "invoke", "-g", "MC_rg", "-n", "vmss", "--instance-id", "0", "--command-id", "RunShellScript", "--scripts", script, "-o", "json")
	documented := capture("vm", "run-command", "invoke", "-g", "MC_rg", "-n", "vm2", "--command-id", "RunShellScript", "--query", "value[0].message", "-otsv",
		"--scripts", "openssl x509 -in /etc/kubernetes/certs/apiserver.crt -noout -enddate")
	if !strings.HasPrefix(documented, "Enable succeeded: \n[stdout]\nnotAfter=") {
		t.Fatalf("the documented command's output:\n%s", documented)
	}
	cut := capture("vmss", "run-command", "invoke", "-g", "MC_rg", "-n", "vmss", "--instance-id", "7", "--command-id", "RunShellScript", "--scripts", script, "--query", "value[0].message", "-o", "tsv")
	assertNoPrivateKey(t, jsonOut+documented+cut)

	file := filepath.Join(t.TempDir(), "captured.txt")
	all := "### node: n1\n" + jsonOut + "### node: n2\n" + documented + "### node: n3\n" + cut
	if err := os.WriteFile(file, []byte(all), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := nodesCheck(t, nodesRun{kubeconfig: filepath.Join(t.TempDir(), "no-kubeconfig")},
		"--run-command-output", file, "--node-cert-path", "/etc/kubernetes/certs/apiserver.crt", "-o", "json")
	r := nodesReport(t, stdout, stderr, code)
	if code != 3 {
		t.Errorf("exit %d, want 3 (an expired apiserver.crt); stderr:\n%s", code, stderr)
	}
	wantEntry(t, r, "node/n1:/etc/kubernetes/certs/ca.crt", ca, api.StatusOK)
	wantEntry(t, r, "node/n1:/var/lib/kubelet/pki/kubelet-client-current.pem", client, api.StatusWarning)
	n2 := findBy(r, func(x *api.Certificate) bool { return x.Location == "node/n2:/etc/kubernetes/certs/apiserver.crt" })
	if n2 == nil || n2.Status != api.StatusExpired || !n2.NotAfter.Time.Equal(old.Cert.NotAfter) || n2.Source != "nodes" {
		t.Errorf("the documented single-line form: %+v", n2)
	}
	msg := reportErrors(r)["node/n3"]
	if !strings.Contains(msg, "Azure keeps only the last 4096 bytes") || !strings.Contains(msg, "of 43 file lines were lost") {
		t.Errorf("n3: %q; errors %v", msg, r.Errors)
	}
	if len(r.Errors) != 1 {
		t.Errorf("errors = %+v", r.Errors)
	}

	// Standard input, one node's output named with --node.
	stdout, stderr, code = nodesCheck(t, nodesRun{stdin: documented}, "--run-command-output", "-", "--node", "n2",
		"--node-cert-path", "/etc/kubernetes/certs/apiserver.crt", "-o", "jsonpath={range .certificates[*]}{.location} {.status}{\"\\n\"}{end}")
	if code != 3 || stdout != "node/n2:/etc/kubernetes/certs/apiserver.crt EXPIRED\n" {
		t.Errorf("stdin: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// Without --node, output that names no node is an error that says how to name it.
	_, stderr, code = nodesCheck(t, nodesRun{stdin: documented}, "--run-command-output", "-")
	if code != 1 || !strings.Contains(stderr, `name it with --node NAME, or put a line "### node: NAME" before each node's output`) {
		t.Errorf("unnamed: exit %d, stderr %q", code, stderr)
	}
}

func sortArgs(a [][]string) {
	sort.Slice(a, func(i, j int) bool { return strings.Join(a[i], " ") < strings.Join(a[j], " ") })
}

func argsText(a [][]string) string {
	var b strings.Builder
	for _, args := range a {
		for i, x := range args {
			if i > 0 && args[i-1] == "--scripts" {
				x = fmt.Sprintf("<script of %d bytes>", len(x))
			}
			b.WriteString(x + " ")
		}
		b.WriteString("\n")
	}
	return b.String()
}
