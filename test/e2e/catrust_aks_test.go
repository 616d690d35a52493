package e2e_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/certificate/certtest"
	"github.com/kubecerts/kubecerts/test/e2e/framework"
)

// The AKS store's e2e tests: kubectl ca-trust, run through the real
// kubectl, against the fake az (test/e2e/fakeaz), which keeps managed
// clusters as state on disk, and the real test cluster, which holds the
// trust secret migrate reads. The kubeconfig names the API server by an
// AKS host (…hcp.westeurope.azmk8s.io) and reaches the test cluster
// through a CONNECT proxy, so that --store auto and the discovery by host
// see what they see on AKS.

const aksSub = "8ecadfc9-d1a3-4ea4-b844-0d9f87e4d7c8"

// aksCluster is one managed cluster of the fake: $FAKEAZ_ROOT/aks/<rg>/<name>.
type aksCluster struct {
	az       *fakeAzure
	rg, name string
	host     string
	dir      string
}

// newAKSCluster writes a managed cluster with an empty CA list, the API
// server host given (fqdn), and node pools (name → enableCustomCATrust).
func newAKSCluster(t *testing.T, az *fakeAzure, rg, name, host string, pools map[string]bool) *aksCluster {
	t.Helper()
	c := &aksCluster{az: az, rg: rg, name: name, host: host, dir: filepath.Join(az.root, "aks", strings.ToLower(rg), strings.ToLower(name))}
	id := c.id()
	var profiles []map[string]any
	for p := range pools {
		profiles = append(profiles, map[string]any{"name": p, "osType": "Linux", "count": 3, "mode": "User", "provisioningState": "Succeeded"})
	}
	c.writeJSON("cluster.json", map[string]any{
		"id": id, "name": name, "resourceGroup": rg, "location": "westeurope",
		"fqdn": host, "privateFqdn": nil, "azurePortalFqdn": strings.Replace(host, ".hcp.", ".portal.hcp.", 1),
		"eTag": "etag-0", "provisioningState": "Succeeded",
		"securityProfile":   map[string]any{"customCaTrustCertificates": nil},
		"agentPoolProfiles": profiles,
	})
	for p, enabled := range pools {
		c.writeJSON(filepath.Join("agentpools", p+".json"), map[string]any{
			"id": id + "/agentPools/" + p, "name": p, "type": "Microsoft.ContainerService/managedClusters/agentPools", "eTag": "pool-etag-0",
			"properties": map[string]any{"enableCustomCATrust": enabled, "provisioningState": "Succeeded", "osType": "Linux", "count": 3, "mode": "User"},
		})
	}
	return c
}

func (c *aksCluster) id() string {
	return "/subscriptions/" + aksSub + "/resourcegroups/" + c.rg + "/providers/Microsoft.ContainerService/managedClusters/" + c.name
}

func (c *aksCluster) writeJSON(name string, v any) {
	c.az.t.Helper()
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		c.az.t.Fatal(err)
	}
	p := filepath.Join(c.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		c.az.t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		c.az.t.Fatal(err)
	}
}

// state reads the cluster as the fake keeps it.
func (c *aksCluster) state(t *testing.T) (list []string, etag, provisioning string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(c.dir, "cluster.json"))
	if err != nil {
		t.Fatal(err)
	}
	var mc struct {
		ETag              string `json:"eTag"`
		ProvisioningState string `json:"provisioningState"`
		SecurityProfile   struct {
			CustomCaTrustCertificates []string `json:"customCaTrustCertificates"`
		} `json:"securityProfile"`
	}
	if err := json.Unmarshal(data, &mc); err != nil {
		t.Fatal(err)
	}
	return mc.SecurityProfile.CustomCaTrustCertificates, mc.ETag, mc.ProvisioningState
}

// setList replaces the cluster's list with these raw values (base64 of
// whatever a test wants AKS to hold).
func (c *aksCluster) setList(t *testing.T, values ...string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(c.dir, "cluster.json"))
	if err != nil {
		t.Fatal(err)
	}
	var mc map[string]any
	if err := json.Unmarshal(data, &mc); err != nil {
		t.Fatal(err)
	}
	mc["securityProfile"] = map[string]any{"customCaTrustCertificates": values}
	c.writeJSON("cluster.json", mc)
}

// fingerprints are the SHA-256 fingerprints of the cluster's list.
func (c *aksCluster) fingerprints(t *testing.T) []string {
	t.Helper()
	list, _, _ := c.state(t)
	var out []string
	for _, v := range list {
		der, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			t.Fatalf("entry %q is not base64", v)
		}
		b, err := certificate.Parse(der)
		if err != nil || len(b.Certificates) != 1 || b.Format != certificate.FormatPEM {
			t.Fatalf("entry is not the PEM of one certificate: %v", err)
		}
		out = append(out, ctSHA(&certtest.Cert{Cert: b.Certificates[0]}))
	}
	return out
}

func (c *aksCluster) marker(t *testing.T, name, content string) {
	t.Helper()
	p := filepath.Join(c.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// updates counts the az calls whose argv starts with words.
func (f *fakeAzure) count(words ...string) int {
	n := 0
	for _, argv := range f.calls() {
		if len(argv) >= len(words) && strings.Join(argv[:len(words)], " ") == strings.Join(words, " ") {
			n++
		}
	}
	return n
}

// aksProxy is an HTTP CONNECT proxy that takes every tunnel to the test
// cluster's API server, whatever host is asked for: the AKS host of the
// kubeconfig reaches the real API server through it.
func aksProxy(t *testing.T, target string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		up, err := net.Dial("tcp", target)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		hj, ok := w.(http.Hijacker)
		if !ok {
			up.Close()
			return
		}
		w.WriteHeader(http.StatusOK)
		down, buf, err := hj.Hijack()
		if err != nil {
			up.Close()
			return
		}
		go func() {
			defer up.Close()
			defer down.Close()
			go func() { _, _ = io.Copy(up, buf) }()
			_, _ = io.Copy(down, up)
		}()
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String()
}

// aksKubeconfig is the admin kubeconfig with the API server named by host
// (an AKS name) and reached through aksProxy.
func aksKubeconfig(t *testing.T, host string) string {
	t.Helper()
	c := framework.Shared(t)
	cfg, err := clientcmd.LoadFromFile(c.AdminKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	target, err := url.Parse(c.Server)
	if err != nil {
		t.Fatal(err)
	}
	proxy := aksProxy(t, target.Host)
	for _, cl := range cfg.Clusters {
		cl.Server = "https://" + host + ":443"
		cl.ProxyURL = proxy
		cl.TLSServerName = "localhost"
	}
	p := filepath.Join(t.TempDir(), "aks-kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// aksRun runs `kubectl ca-trust ARGS` with kubeconfig and the fake az on
// kubectl's PATH; no output may show a private key.
func aksRun(t *testing.T, az *fakeAzure, kubeconfig string, env []string, args ...string) caTrustResult {
	t.Helper()
	plugins := framework.BuildPlugins(t)
	kubectl, err := framework.KubectlPath()
	if err != nil {
		t.Fatal(err)
	}
	kenv, err := framework.KubectlEnv(plugins, kubeconfig, filepath.Dir(az.bin))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, kubectl, append([]string{"ca-trust"}, args...)...)
	cmd.Env = append(append(kenv, az.env()...), append([]string{"FAKEAZ_SUBSCRIPTION=" + aksSub}, env...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	r := caTrustResult{stdout: out.String(), stderr: errOut.String(), code: caTrustExitCode(t, err)}
	assertNoPrivateKey(t, r.stdout+r.stderr)
	return r
}

// aksChange decodes -o json of a write.
func aksChange(t *testing.T, r caTrustResult) *api.CATrustChange {
	t.Helper()
	var c api.CATrustChange
	if err := json.Unmarshal([]byte(r.stdout), &c); err != nil {
		t.Fatalf("-o json: %v\nstdout:\n%s\nstderr:\n%s", err, r.stdout, r.stderr)
	}
	return &c
}

// aksHost is a new AKS API server host.
func aksHost(t *testing.T, prefix string) string {
	return fmt.Sprintf("%s-%s.hcp.westeurope.azmk8s.io", prefix, randomSuffix(t))
}

// TestCATrustAKSStore drives every verb on the aks store, found by --store
// auto and by the kubeconfig's host: the plan without --yes sends nothing;
// --yes sends one update with --if-match the eTag read, in the documented
// file format; remove, sync, export and validate see what the fake holds;
// --no-wait returns while AKS is updating; a Failed update is exit 1.
func TestCATrustAKSStore(t *testing.T) {
	az := newFakeAzure(t)
	host := aksHost(t, "store")
	cl := newAKSCluster(t, az, "rg-Store", "aks-store", host, map[string]bool{"nodepool1": false})
	kc := aksKubeconfig(t, host)
	run := func(args ...string) caTrustResult { t.Helper(); return aksRun(t, az, kc, nil, args...) }
	ca1 := certtest.CA(t, "aks-store-ca-1")
	ca2 := certtest.CA(t, "aks-store-ca-2")
	ca3 := certtest.CA(t, "aks-store-ca-3")

	// list: --store auto picks aks by the host, and az aks list finds the cluster.
	r := run("list", "-o", "json")
	r.want(t, 0, "list")
	var l api.CATrustList
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil {
		t.Fatal(err)
	}
	if l.Store != "aks" || l.Cluster == nil || l.Cluster.Name != "aks-store" || !strings.EqualFold(l.Cluster.ResourceGroup, "rg-Store") || l.ETag != "etag-0" || len(l.Items) != 0 {
		t.Fatalf("list: store %q cluster %+v eTag %q items %d", l.Store, l.Cluster, l.ETag, len(l.Items))
	}
	if az.count("aks", "list") != 1 {
		t.Errorf("discovery: az aks list ran %d times, want 1", az.count("aks", "list"))
	}
	if r := run("list"); !strings.Contains(r.stderr, "note: store aks:") {
		t.Errorf("list's note does not say the store:\n%s", r.stderr)
	}

	// add without --yes: the plan, exit 1, nothing sent.
	file12 := ctPEMFile(t, "cas.pem", ca1, ca2)
	r = run("add", file12)
	r.want(t, 1, "add without --yes")
	if !ctRow(r.stdout, "added", "ca1.crt") || !strings.Contains(r.stderr, "replace every Linux node") || !strings.Contains(r.stderr, "--yes") {
		t.Errorf("plan:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	r = run("add", file12, "--dry-run=client", "-o", "json")
	r.want(t, 0, "add --dry-run=client")
	if c := aksChange(t, r); c.DryRun != "client" || len(c.Added) != 2 || c.Store != "aks" {
		t.Errorf("dry-run change: %+v", c)
	}
	if n := az.count("aks", "update"); n != 0 {
		t.Fatalf("az aks update ran %d times before --yes", n)
	}

	// add --yes: one update with --if-match the eTag read.
	r = run("add", file12, "--yes", "-o", "json")
	r.want(t, 0, "add --yes")
	c := aksChange(t, r)
	if c.ProvisioningState != "Succeeded" || len(c.Added) != 2 || c.ETag != "etag-0" {
		t.Errorf("change: state %q added %d eTag %q", c.ProvisioningState, len(c.Added), c.ETag)
	}
	var update []string
	for _, argv := range az.calls() {
		if len(argv) > 1 && argv[0] == "aks" && argv[1] == "update" {
			update = argv
		}
	}
	if !containsSeq(update, "--if-match", "etag-0") || !containsSeq(update, "-g", "rg-Store") || !containsSeq(update, "-n", "aks-store") {
		t.Errorf("update argv: %q", update)
	}
	for i, a := range update {
		if a == "--custom-ca-trust-certificates" && i+1 < len(update) {
			if _, err := os.Stat(update[i+1]); !os.IsNotExist(err) {
				t.Errorf("the list file %s was not removed (%v)", update[i+1], err)
			}
		}
	}
	if got := cl.fingerprints(t); strings.Join(got, ",") != ctSHA(ca1)+","+ctSHA(ca2) {
		t.Fatalf("cluster list after add: %v", got)
	}
	list, etag, _ := cl.state(t)
	// az splits the file on blank lines: each entry is one PEM block, LF only.
	if pem, err := base64.StdEncoding.DecodeString(list[0]); err != nil || strings.TrimSpace(string(pem)) != strings.TrimSpace(string(ca1.PEM())) {
		t.Errorf("entry 1 is not base64 of ca1's LF PEM: %q (%v)", list[0], err)
	}
	if etag == "etag-0" {
		t.Errorf("eTag unchanged after the update")
	}

	// The same again: nothing to change, nothing sent.
	before := az.count("aks", "update")
	run("add", file12, "--yes").want(t, 0, "add again")
	if az.count("aks", "update") != before {
		t.Errorf("an add of CAs already there sent an update")
	}

	// remove by fingerprint; sync --prune; export.
	run("remove", "--fingerprint", ctSHA(ca1)[:12], "--yes").want(t, 0, "remove")
	if got := cl.fingerprints(t); len(got) != 1 || got[0] != ctSHA(ca2) {
		t.Fatalf("after remove: %v", got)
	}
	run("sync", ctPEMFile(t, "sync.pem", ca3, ca2), "--prune", "--yes").want(t, 0, "sync")
	got := cl.fingerprints(t)
	if len(got) != 2 || !ctContains(got, ctSHA(ca2)) || !ctContains(got, ctSHA(ca3)) {
		t.Fatalf("after sync: %v", got)
	}
	r = run("export")
	r.want(t, 0, "export")
	if exp := string(ca2.PEM()) + "\n" + string(ca3.PEM()); r.stdout != exp {
		t.Errorf("export:\n%s\nwant\n%s", r.stdout, exp)
	}
	run("validate").want(t, 0, "validate of a good list")

	// --no-wait returns while AKS replaces nodes; the next read sees it end.
	cl.marker(t, "update-duration", "2s")
	r = run("add", ctPEMFile(t, "ca1.pem", ca1), "--yes", "--no-wait", "-o", "json")
	r.want(t, 0, "add --no-wait")
	if c := aksChange(t, r); !c.NoWait || c.ProvisioningState != "Updating" {
		t.Errorf("--no-wait change: noWait %t state %q", c.NoWait, c.ProvisioningState)
	}
	// A second writer meets the running operation and waits for it.
	r = run("remove", "--fingerprint", ctSHA(ca3), "--yes", "-o", "json")
	r.want(t, 0, "remove while an update runs")
	if c := aksChange(t, r); c.Retries == nil || c.Retries.OperationInProgress < 1 {
		t.Errorf("the remove did not wait for the running update: %+v", c.Retries)
	}
	if got := cl.fingerprints(t); len(got) != 2 || ctContains(got, ctSHA(ca3)) || !ctContains(got, ctSHA(ca1)) {
		t.Fatalf("after --no-wait add and remove: %v", got)
	}
	_ = os.Remove(filepath.Join(cl.dir, "update-duration"))

	// An update that ends Failed is exit 1, with Azure's error.
	cl.marker(t, "update-fails", "(CustomCATrustReconcileFailed) node image does not support the list")
	r = run("add", ctPEMFile(t, "ca3.pem", ca3), "--yes")
	r.want(t, 1, "failed update")
	if !strings.Contains(r.stderr, "node image does not support the list") {
		t.Errorf("the failure does not carry Azure's error:\n%s", r.stderr)
	}

	// An operation that does not end: the write waits for it until
	// --request-timeout, then gives up naming it, having sent nothing more.
	cl.writeJSON("operation.json", map[string]any{"id": "0b5e1c2d-aaaa-4bbb-8ccc-blocking0001", "kind": "upgrade managed cluster"})
	updates := az.count("aks", "update")
	r = run("add", ctPEMFile(t, "ca4.pem", certtest.CA(t, "aks-store-ca-4")), "--yes", "--request-timeout", "3s")
	r.want(t, 1, "write blocked by a running operation")
	if !strings.Contains(r.stderr, "gave up after 3s (--request-timeout)") || !strings.Contains(r.stderr, "blocking0001") {
		t.Errorf("the error does not name the timeout and the operation in the way:\n%s", r.stderr)
	}
	if n := az.count("aks", "update") - updates; n != 1 {
		t.Errorf("%d az aks update calls while blocked, want 1 (refused, then waiting)", n)
	}
	if err := os.Remove(filepath.Join(cl.dir, "operation.json")); err != nil {
		t.Fatal(err)
	}

	// What AKS refuses or nodes fail on, in the list: validate names it.
	crlf := bytes.ReplaceAll(ca2.PEM(), []byte("\n"), []byte("\r\n"))
	cl.setList(t,
		base64.StdEncoding.EncodeToString(crlf),
		base64.StdEncoding.EncodeToString([]byte(base64.StdEncoding.EncodeToString(ca3.PEM()))),
		"not base64 at all!")
	r = run("validate", "-o", "json")
	r.want(t, 1, "validate of a bad list")
	v := ctValidation(t, r.stdout)
	codes := ctProblemKeys(v)
	for _, want := range []string{"CRLF", "Base64Encoded", "NotBase64"} {
		found := false
		for _, k := range codes {
			found = found || strings.Contains(k, want)
		}
		if !found {
			t.Errorf("validate: no %s in %v", want, codes)
		}
	}
	if v.InputKind != "aks" {
		t.Errorf("validate inputKind %q", v.InputKind)
	}

	// Not logged in: one error line, exit 1.
	cl.marker(t, "not-logged-in", "")
	r = run("list")
	r.want(t, 1, "not logged in")
	if !strings.Contains(r.stderr, "az login") {
		t.Errorf("not logged in:\n%s", r.stderr)
	}
}

// aksExpiredCA is a CA that expired yesterday.
func aksExpiredCA(t *testing.T, cn string) *certtest.Cert {
	now := time.Now()
	return certtest.New(t, certtest.Template{CommonName: cn, IsCA: true, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)}, nil)
}

// containsSeq reports whether argv holds a followed by b.
func containsSeq(argv []string, a, b string) bool {
	for i := 0; i+1 < len(argv); i++ {
		if argv[i] == a && argv[i+1] == b {
			return true
		}
	}
	return false
}

// TestCATrustAKSDiscovery finds the cluster by the API server's host: one
// match, none, several; the flags settle it.
func TestCATrustAKSDiscovery(t *testing.T) {
	az := newFakeAzure(t)
	host := aksHost(t, "disc")
	newAKSCluster(t, az, "rg-a", "aks-one", host, nil)
	newAKSCluster(t, az, "rg-b", "aks-other", aksHost(t, "other"), nil)
	kc := aksKubeconfig(t, host)

	r := aksRun(t, az, kc, nil, "list", "-o", "json")
	r.want(t, 0, "one match")
	if !strings.Contains(r.stdout, `"name": "aks-one"`) {
		t.Errorf("one match: %s", r.stdout)
	}

	none := aksKubeconfig(t, aksHost(t, "nomatch"))
	r = aksRun(t, az, none, nil, "list")
	r.want(t, 1, "no match")
	if !strings.Contains(r.stderr, "nomatch-") || !strings.Contains(r.stderr, "--aks-resource-group") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("no match: want one line naming the host and the flags:\n%s", r.stderr)
	}
	// The flags settle it without az aks list.
	before := az.count("aks", "list")
	aksRun(t, az, none, nil, "list", "--aks-resource-group", "rg-b", "--aks-name", "aks-other").want(t, 0, "by flags")
	aksRun(t, az, none, nil, "list", "--aks-id", "/subscriptions/"+aksSub+"/resourceGroups/rg-b/providers/Microsoft.ContainerService/managedClusters/aks-other").want(t, 0, "by --aks-id")
	if az.count("aks", "list") != before {
		t.Errorf("az aks list ran although the flags name the cluster")
	}

	// Two clusters answer to the same host: an error listing both.
	newAKSCluster(t, az, "rg-c", "aks-twin", host, nil)
	r = aksRun(t, az, kc, nil, "list")
	r.want(t, 1, "two matches")
	if !strings.Contains(r.stderr, "aks-one") || !strings.Contains(r.stderr, "aks-twin") || !strings.Contains(r.stderr, "--aks-id") {
		t.Errorf("two matches:\n%s", r.stderr)
	}

	// --store secret on an AKS cluster: a warning pointing to migrate.
	r = aksRun(t, az, kc, nil, "list", "--store", "secret")
	if !strings.Contains(r.stderr, "AKS no longer reads the trust secret") || !strings.Contains(r.stderr, "kubectl ca-trust migrate") {
		t.Errorf("--store secret on AKS:\n%s", r.stderr)
	}
}

// TestCATrustAKSConcurrentAdds: two rounds of four writers adding a CA
// each, all at once, through the aks store (8 CAs, within AKS's 10). In the
// first round each update runs for a while, and AKS refuses a second one
// meanwhile (OperationNotAllowed): the writers wait for it and re-apply. In
// the second an update is done at once but every az call is slow, so
// writers read the same eTag and all but one are refused with 412: they
// re-read and re-apply. All eight CAs are in the list at the end.
func TestCATrustAKSConcurrentAdds(t *testing.T) {
	az := newFakeAzure(t)
	host := aksHost(t, "race")
	cl := newAKSCluster(t, az, "rg-race", "aks-race", host, map[string]bool{"nodepool1": false})
	kc := aksKubeconfig(t, host)
	framework.BuildPlugins(t)

	var want []string
	round := func(name string, env []string) (precond, inProgress int) {
		t.Helper()
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			failures []string
		)
		for w := range 4 {
			ca := certtest.CA(t, fmt.Sprintf("aks-race-%s-%d", name, w))
			want = append(want, ctSHA(ca))
			file := ctPEMFile(t, "ca.pem", ca)
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := aksRun(t, az, kc, env, "add", file, "--yes", "-o", "json")
				mu.Lock()
				defer mu.Unlock()
				if r.code != 0 {
					failures = append(failures, fmt.Sprintf("exit %d: %s", r.code, r.stderr))
					return
				}
				var c api.CATrustChange
				if err := json.Unmarshal([]byte(r.stdout), &c); err != nil {
					failures = append(failures, err.Error())
				} else if c.Retries != nil {
					precond += c.Retries.PreconditionFailed
					inProgress += c.Retries.OperationInProgress
				}
			}()
		}
		wg.Wait()
		if len(failures) > 0 {
			t.Fatalf("round %s: %d writes failed:\n%s", name, len(failures), strings.Join(failures, "\n"))
		}
		t.Logf("round %s: 4 concurrent adds, %d refused with 412, %d with OperationNotAllowed, %d az aks update calls so far",
			name, precond, inProgress, az.count("aks", "update"))
		return precond, inProgress
	}

	cl.marker(t, "update-duration", "400ms")
	if _, inProgress := round("long-updates", nil); inProgress == 0 {
		t.Errorf("no writer met another's running update: the race was not run")
	}
	if err := os.Remove(filepath.Join(cl.dir, "update-duration")); err != nil {
		t.Fatal(err)
	}
	if precond, _ := round("stale-etags", []string{"FAKEAZ_DELAY=250ms"}); precond == 0 {
		t.Errorf("no writer was refused with 412: the race was not run")
	}
	got := cl.fingerprints(t)
	for _, fp := range want {
		if !ctContains(got, fp) {
			t.Errorf("CA %s lost: the list holds %d of %d", fp[:12], len(got), len(want))
		}
	}
	if len(got) != len(want) {
		t.Errorf("the list holds %d entries, want %d", len(got), len(want))
	}
}

// TestCATrustMigrate moves a cluster off the secret: its three CAs (one
// expired, left out) join the cluster's list, both pools lose the retired
// property; a failure on the second pool stops the run, and running it
// again finishes only what was left; --delete-secret deletes the secret.
func TestCATrustMigrate(t *testing.T) {
	c := framework.Shared(t)
	admin := c.Clientset()
	ns := createNamespace(t, admin, admin, "catrust-migrate-")
	az := newFakeAzure(t)
	host := aksHost(t, "mig")
	cl := newAKSCluster(t, az, "rg-mig", "aks-mig", host, map[string]bool{"pool1": true, "pool2": true})
	kc := aksKubeconfig(t, host)
	ca1 := certtest.CA(t, "aks-mig-1")
	ca2 := certtest.CA(t, "aks-mig-2")
	expired := aksExpiredCA(t, "aks-mig-expired")
	cl.setList(t, base64.StdEncoding.EncodeToString(ca1.PEM()))
	if _, err := admin.CoreV1().Secrets(ns).Create(t.Context(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: ctSecretName, Namespace: ns},
		Data:       map[string][]byte{"ca1.crt": ca1.PEM(), "ca2.crt": ca2.PEM(), "ca3.crt": expired.PEM(), "token": []byte("not a certificate")},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) caTrustResult {
		t.Helper()
		return aksRun(t, az, kc, nil, append([]string{"migrate", "-n", ns}, args...)...)
	}
	steps := func(r caTrustResult) map[string]string {
		t.Helper()
		var m api.CATrustMigration
		if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
			t.Fatalf("migrate -o json: %v\n%s\n%s", err, r.stdout, r.stderr)
		}
		out := map[string]string{}
		for _, s := range m.Steps {
			out[s.Name+" "+s.Target] = s.Outcome
		}
		return out
	}
	writes := func() int { return az.count("aks", "update") + az.count("resource", "update") }

	// The plan: exit 1, nothing written.
	r := run("-o", "json")
	r.want(t, 1, "migrate without --yes")
	s := steps(r)
	if s["set-ca-list managedcluster/aks-mig"] != "planned" || s["disable-custom-ca-trust agentpool/pool1"] != "planned" || s["delete-secret secret/"+ns+"/"+ctSecretName] != "kept" {
		t.Errorf("plan steps: %v", s)
	}
	if writes() != 0 {
		t.Fatalf("the plan wrote %d time(s)", writes())
	}

	// A failure on the second pool: the run stops there, exit 1.
	cl.marker(t, filepath.Join("agentpools", "pool2.fail"), "the pool's VMSS is being deleted")
	r = run("--yes", "-o", "json")
	r.want(t, 1, "migrate with a failing pool")
	s = steps(r)
	if s["set-ca-list managedcluster/aks-mig"] != "done" || s["verify agentpool/pool1"] != "done" || s["disable-custom-ca-trust agentpool/pool2"] != "failed" ||
		s["verify agentpool/pool2"] != "not-run" {
		t.Errorf("first run steps: %v", s)
	}
	if got := cl.fingerprints(t); len(got) != 2 || !ctContains(got, ctSHA(ca1)) || !ctContains(got, ctSHA(ca2)) {
		t.Errorf("the union: %v, want ca1 and ca2 (the expired CA left out)", got)
	}

	// Again, the failure gone: only what was left runs.
	if err := os.Remove(filepath.Join(cl.dir, "agentpools", "pool2.fail")); err != nil {
		t.Fatal(err)
	}
	updatesBefore := az.count("aks", "update")
	r = run("--yes", "--delete-secret", "-o", "json")
	r.want(t, 0, "migrate again")
	s = steps(r)
	if s["set-ca-list managedcluster/aks-mig"] != "already-done" || s["disable-custom-ca-trust agentpool/pool1"] != "already-done" ||
		s["disable-custom-ca-trust agentpool/pool2"] != "done" || s["verify agentpool/pool2"] != "done" || s["delete-secret secret/"+ns+"/"+ctSecretName] != "done" {
		t.Errorf("second run steps: %v", s)
	}
	if az.count("aks", "update") != updatesBefore {
		t.Errorf("the second run updated the list again")
	}
	if _, err := admin.CoreV1().Secrets(ns).Get(t.Context(), ctSecretName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the secret is still there (%v)", err)
	}
	// And once more: everything already done.
	r = run("--yes", "-o", "json")
	r.want(t, 0, "migrate a third time")
	for k, v := range steps(r) {
		if v != "already-done" {
			t.Errorf("third run: %s is %s", k, v)
		}
	}
}

// TestCATrustAKSBadInputsSendNothing: every input the secret store refuses
// is refused on the aks store before any az aks update runs.
func TestCATrustAKSBadInputsSendNothing(t *testing.T) {
	az := newFakeAzure(t)
	host := aksHost(t, "bad")
	newAKSCluster(t, az, "rg-bad", "aks-bad", host, nil)
	kc := aksKubeconfig(t, host)
	leaf := certtest.New(t, certtest.Template{CommonName: "aks-bad-leaf"}, certtest.CA(t, "aks-bad-issuer"))
	expired := aksExpiredCA(t, "aks-bad-expired")
	var eleven []*certtest.Cert
	for i := range 11 {
		eleven = append(eleven, certtest.CA(t, fmt.Sprintf("aks-bad-%d", i)))
	}
	keyFile := ctFile(t, "key.pem", append(certtest.CA(t, "aks-bad-withkey").PEM(), leaf.KeyPEM(t)...))
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"not a CA", []string{"add", ctPEMFile(t, "leaf.pem", leaf), "--yes"}},
		{"expired", []string{"add", ctPEMFile(t, "expired.pem", expired), "--yes"}},
		{"a private key", []string{"add", keyFile, "--yes"}},
		{"eleven CAs", []string{"add", ctPEMFile(t, "eleven.pem", eleven...), "--yes"}},
		{"not a certificate", []string{"add", ctFile(t, "junk.pem", []byte("hello\n")), "--yes"}},
		{"missing file", []string{"add", filepath.Join(t.TempDir(), "absent.pem"), "--yes"}},
		{"sync of eleven", []string{"sync", ctPEMFile(t, "eleven2.pem", eleven...), "--yes"}},
		{"remove of nothing", []string{"remove", "--fingerprint", "deadbeefdeadbeef", "--yes"}},
		{"--max over AKS's", []string{"add", ctPEMFile(t, "ok.pem", eleven[0]), "--max", "11", "--yes"}},
		{"--dry-run=server", []string{"add", ctPEMFile(t, "ok2.pem", eleven[0]), "--dry-run=server", "--yes"}},
		{"--aks-name with an @", []string{"add", ctPEMFile(t, "ok3.pem", eleven[0]), "--aks-resource-group", "rg-bad", "--aks-name", "@token", "--yes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := aksRun(t, az, kc, nil, tc.args...)
			if r.code == 0 {
				t.Fatalf("exit 0\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			}
			// One error line; besides it only notes and, for usage
			// errors, kubectl's pointer to the help.
			errs := 0
			for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
				switch {
				case strings.HasPrefix(l, "error: "):
					errs++
				case strings.HasPrefix(l, "note: "), strings.HasPrefix(l, "See 'kubectl ca-trust "):
				default:
					t.Errorf("unexpected stderr line %q", l)
				}
			}
			if errs != 1 {
				t.Errorf("%d error lines, want 1:\n%s", errs, r.stderr)
			}
			if n := az.count("aks", "update"); n != 0 {
				t.Fatalf("az aks update ran %d time(s)", n)
			}
		})
	}
	// No argument az would read as a file ever reached it.
	for _, argv := range az.calls() {
		for _, a := range argv {
			if strings.HasPrefix(a, "@") {
				t.Errorf("az got %q", a)
			}
		}
	}
}
