package source

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubecerts/kubecerts/plugins/certs/source/runcommand"
	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/az"
	"github.com/kubecerts/kubecerts/shared/azname"
	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/certificate/certtest"
	"github.com/kubecerts/kubecerts/shared/expiry"
)

// nodeRoot is a directory standing in for a node's filesystem.
type nodeRoot struct {
	t     *testing.T
	dir   string
	certs map[string]*certtest.Cert // by path on the node
}

func newNodeRoot(t *testing.T) *nodeRoot {
	return &nodeRoot{t: t, dir: t.TempDir(), certs: map[string]*certtest.Cert{}}
}

func (r *nodeRoot) write(nodePath string, data []byte) {
	r.t.Helper()
	p := filepath.Join(r.dir, nodePath)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o600); err != nil {
		r.t.Fatal(err)
	}
}

// cert writes a certificate (and its key after it, withKey) at nodePath.
func (r *nodeRoot) cert(nodePath string, tmpl certtest.Template, withKey bool) *certtest.Cert {
	r.t.Helper()
	c := certtest.New(r.t, tmpl, nil)
	data := c.PEM()
	if withKey {
		data = append(data, c.KeyPEM(r.t)...)
	}
	r.write(nodePath, data)
	r.certs[nodePath] = c
	return c
}

// run runs script with shell as the node would, its paths moved under the
// root, and moves them back in the output.
func (r *nodeRoot) run(shell, script string) string {
	r.t.Helper()
	for _, d := range []string{"/etc/kubernetes", "/var/lib/kubelet"} {
		script = strings.ReplaceAll(script, d, r.dir+d)
	}
	cmd := exec.Command(shell, "-c", script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		r.t.Fatalf("%s: %v\n%s", shell, err, stderr.String())
	}
	if stderr.Len() > 0 {
		r.t.Errorf("the script wrote to stderr: %s", stderr.String())
	}
	return strings.ReplaceAll(string(out), r.dir, "")
}

// scriptShells are the shells the node script is tested under: it is
// POSIX sh, and runs under the node's. dash is Ubuntu's /bin/sh, and the
// strictest of them: its echo reads backslash escapes, its printf has no
// extensions.
var scriptShells = []string{"sh", "dash", "bash"}

// forEachShell runs test as a subtest for each of scriptShells, given its
// path; a shell that is not installed is a skipped subtest that says so.
func forEachShell(t *testing.T, test func(t *testing.T, shell string)) {
	t.Helper()
	for _, name := range scriptShells {
		t.Run(name, func(t *testing.T) {
			p, err := exec.LookPath(name)
			if err != nil {
				t.Skipf("%s is not installed, so the node script is not tested under it (%v)", name, err)
			}
			test(t, p)
		})
	}
}

func TestNodeScript(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	r := newNodeRoot(t)
	now := time.Now()
	r.cert("/etc/kubernetes/certs/ca.crt", certtest.Template{CommonName: "ca", IsCA: true, NotAfter: now.Add(10 * 365 * 24 * time.Hour)}, false)
	r.cert("/etc/kubernetes/certs/apiserver.crt", certtest.Template{CommonName: "apiserver", Organization: []string{"aks"}, NotAfter: now.Add(5 * 24 * time.Hour)}, false)
	client := r.cert("/var/lib/kubelet/pki/kubelet-client-current.pem", certtest.Template{CommonName: "system:node:aks-np-0", Organization: []string{"system:nodes"}}, true)
	r.write("/etc/kubernetes/certs/bad.crt", []byte("not a certificate\n"))
	extra := "/etc/kubernetes/extra dir/it's here.pem"
	r.cert(extra, certtest.Template{CommonName: "extra"}, false)
	script := NodeScript([]string{extra, "/etc/kubernetes/nope.pem"})
	if !strings.Contains(script, fmt.Sprintf("%%.%ds", runcommand.SubjectMax)) {
		t.Errorf("the script does not cut subjects at runcommand.SubjectMax (%d)", runcommand.SubjectMax)
	}
	keyBody := string(client.KeyPEM(t))
	keyBody = strings.Split(keyBody, "\n")[1]
	forEachShell(t, func(t *testing.T, sh string) {
		stdout := r.run(sh, script)
		if strings.Contains(stdout, "PRIVATE KEY") || strings.Contains(stdout, keyBody) || strings.Contains(stdout, "BEGIN") {
			t.Fatalf("the script printed key or certificate material:\n%s", stdout)
		}
		out, err := runcommand.Parse([]byte(stdout))
		if err != nil {
			t.Fatal(err)
		}
		if !out.Script || !out.Complete || out.Lost != nil || len(out.Problems) != 0 {
			t.Fatalf("output %+v\n%s", out, stdout)
		}
		got := map[string]runcommand.File{}
		for _, f := range out.Files {
			got[f.Path] = f
		}
		for p, c := range r.certs {
			f, ok := got[p]
			if !ok || f.Kind != runcommand.Cert {
				t.Errorf("%s: %+v\n%s", p, f, stdout)
				continue
			}
			if f.SHA256 != certificate.Fingerprint(c.Cert) || f.Subject != c.Cert.Subject.String() ||
				!f.NotAfter.Equal(c.Cert.NotAfter.Truncate(time.Second)) || !f.NotBefore.Equal(c.Cert.NotBefore.Truncate(time.Second)) {
				t.Errorf("%s: %+v, want %s %s %v", p, f, certificate.Fingerprint(c.Cert), c.Cert.Subject, c.Cert.NotAfter)
			}
		}
		for p, kind := range map[string]runcommand.FileKind{
			"/var/lib/kubelet/pki/kubelet.crt":                runcommand.Absent,
			"/var/lib/kubelet/pki/kubelet-server-current.pem": runcommand.Absent,
			"/etc/kubernetes/nope.pem":                        runcommand.Absent,
			"/etc/kubernetes/certs/bad.crt":                   runcommand.Unreadable,
		} {
			if got[p].Kind != kind {
				t.Errorf("%s: %+v, want %v", p, got[p], kind)
			}
		}
		if m := got["/etc/kubernetes/certs/bad.crt"].Message; !strings.Contains(strings.ToLower(m), "certificate") {
			t.Errorf("openssl's error = %q", m)
		}
	})
}

// TestNodeScriptBackslashPaths: a path is printed as it is, under every
// shell. Backslash escapes in a --node-cert-path, which dash's echo turns
// into a line break or a '|' (\n, \0174, and \c, which ends the output),
// forge no record.
func TestNodeScriptBackslashPaths(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	r := newNodeRoot(t)
	fp := strings.Repeat("ab", 32)
	// A record in escapes; dash's echo printed it as the line
	// "c|1700000000|1900000000|abab…|/etc/kubernetes/forged.crt|CN=forged".
	forge := `/etc/kubernetes/none\nc\01741700000000\01741900000000\0174` + fp + `\0174/etc/kubernetes/forged.crt\0174CN=forged`
	absent := []string{
		forge,
		`/etc/kubernetes/stop\c`,
		`/etc/kubernetes/esc\a\b\e\f\r\t\v\\\0\x7c\u007c%s%n%%-\`,
		"/etc/kubernetes/-n",
	}
	present := []string{
		`/etc/kubernetes/certs/back\0174slash\n.crt`, // found by the glob
		`/etc/kubernetes/extra\tdir/c\\ert\c.pem`,
	}
	for _, p := range present {
		r.cert(p, certtest.Template{CommonName: filepath.Base(p)}, false)
	}
	extra := append(append([]string(nil), absent...), present[1])
	for _, p := range extra {
		if err := ValidNodePath(p); err != nil {
			t.Fatalf("%q is a valid --node-cert-path: %v", p, err)
		}
	}
	want := map[string]runcommand.FileKind{}
	for _, p := range absent {
		want[p] = runcommand.Absent
	}
	for _, p := range present {
		want[p] = runcommand.Cert
	}
	script := NodeScript(extra)
	forEachShell(t, func(t *testing.T, sh string) {
		out, stdout := r.checkPaths(t, sh, script, want)
		if len(out.Problems) != 0 {
			t.Errorf("problems %+v\n%s", out.Problems, stdout)
		}
	})
}

// TestNodeScriptUncarriableNames: a file the glob finds whose name holds
// '|' or a line break (only root can write there) is one problem line, not a
// record of another path.
func TestNodeScriptUncarriableNames(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	r := newNodeRoot(t)
	r.cert("/etc/kubernetes/certs/ca.crt", certtest.Template{CommonName: "ca"}, false)
	for _, p := range []string{"/etc/kubernetes/certs/apiserver.crt|x.crt", "/etc/kubernetes/certs/ca.crt\nx|forged\nz.crt", "/etc/kubernetes/certs/cr\r.crt"} {
		r.cert(p, certtest.Template{CommonName: "hostile"}, false)
		delete(r.certs, p)
	}
	want := map[string]runcommand.FileKind{"/etc/kubernetes/certs/ca.crt": runcommand.Cert}
	forEachShell(t, func(t *testing.T, sh string) {
		out, stdout := r.checkPaths(t, sh, NodeScript(nil), want)
		if len(out.Problems) != 3 {
			t.Errorf("problems %+v, want one for each name with '|' or a line break\n%s", out.Problems, stdout)
		}
		for _, pr := range out.Problems {
			if pr.Kind != runcommand.Other || !strings.Contains(pr.Message, "a file name with '|' or a line break") || strings.Contains(pr.Message, "forged") {
				t.Errorf("problem %+v", pr)
			}
		}
	})
}

// checkPaths runs script with shell and checks its records: one for each
// path of want (and the default files, absent unless certificates were
// written there), of its kind, no other; certificates as written.
func (r *nodeRoot) checkPaths(t *testing.T, shell, script string, want map[string]runcommand.FileKind) (*runcommand.Output, string) {
	t.Helper()
	stdout := r.run(shell, script)
	out, err := runcommand.Parse([]byte(stdout))
	if err != nil {
		t.Fatal(err)
	}
	if !out.Script || !out.Complete || out.Lost != nil || len(out.Unrecognized) != 0 {
		t.Errorf("output %+v\n%s", out, stdout)
	}
	want = maps.Clone(want)
	for _, p := range DefaultNodeFiles[1:] {
		if _, ok := want[p]; !ok {
			want[p] = runcommand.Absent
		}
	}
	got := map[string]runcommand.File{}
	for _, f := range out.Files {
		if _, dup := got[f.Path]; dup {
			t.Errorf("%q printed twice", f.Path)
		}
		got[f.Path] = f
		if k, ok := want[f.Path]; !ok || k != f.Kind {
			t.Errorf("%v record for %q: a path the script was not given (forged)\n%s", f.Kind, f.Path, stdout)
		}
	}
	for p, k := range want {
		f, ok := got[p]
		if !ok || f.Kind != k {
			t.Errorf("%q: %+v, want %v\n%s", p, f, k, stdout)
			continue
		}
		if c := r.certs[p]; k == runcommand.Cert && (f.SHA256 != certificate.Fingerprint(c.Cert) || f.Subject != c.Cert.Subject.String()) {
			t.Errorf("%q: %+v, want the certificate of %s", p, f, c.Cert.Subject)
		}
	}
	return out, stdout
}

// TestNodeScriptSize: 20 files with long names and subjects fit the 4,096
// bytes Azure keeps.
func TestNodeScriptSize(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	r := newNodeRoot(t)
	names := []string{"apiserver", "ca", "client", "kubeletserver", "etcdclient", "etcdpeer0", "etcdserver", "proxy",
		"proxy-ca", "front-proxy-ca", "konnectivity-agent", "azure-policy", "k8s-ca", "aggregator", "service-account", "metrics-server", "tunnel-front"}
	long := "system:node:aks-nodepool1-12345678-vmss000000"
	for _, n := range names {
		r.cert("/etc/kubernetes/certs/"+n+".crt", certtest.Template{CommonName: long, Organization: []string{"system:nodes"}}, false)
	}
	for _, p := range DefaultNodeFiles[1:] {
		r.cert(p, certtest.Template{CommonName: long, Organization: []string{"system:nodes"}}, true)
	}
	forEachShell(t, func(t *testing.T, sh string) {
		stdout := r.run(sh, NodeScript(nil))
		out, err := runcommand.Parse([]byte(stdout))
		if err != nil || len(out.Files) != 20 || !out.Complete {
			t.Fatalf("%v: %d files, complete %v", err, len(out.Files), out.Complete)
		}
		t.Logf("20 files, subjects of %d bytes (cut at %d): %d bytes of output (Azure keeps %d)", len(r.certs[DefaultNodeFiles[1]].Cert.Subject.String()), runcommand.SubjectMax, len(stdout), runcommand.MaxOutput)
		if len(stdout) > runcommand.MaxOutput {
			t.Errorf("%d bytes for 20 files: over %d\n%s", len(stdout), runcommand.MaxOutput, stdout)
		}
	})
}

func TestParseProviderID(t *testing.T) {
	const sub = "8ecadfc9-d1a3-4ea4-b844-0d9f87e4d7c8"
	tests := []struct {
		id   string
		want AzureVM
		err  string
	}{
		{"azure:///subscriptions/" + sub + "/resourceGroups/MC_rg_aks_eastus/providers/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-12345678-vmss/virtualMachines/0",
			AzureVM{Subscription: sub, ResourceGroup: "MC_rg_aks_eastus", ScaleSet: "aks-nodepool1-12345678-vmss", InstanceID: "0"}, ""},
		{"azure:///subscriptions/" + sub + "/resourcegroups/mc_rg_aks_eastus/providers/microsoft.compute/virtualmachinescalesets/aks-np-vmss/virtualmachines/17",
			AzureVM{Subscription: sub, ResourceGroup: "mc_rg_aks_eastus", ScaleSet: "aks-np-vmss", InstanceID: "17"}, ""},
		{"azure:///subscriptions/" + sub + "/resourceGroups/MC_rg/providers/Microsoft.Compute/virtualMachines/aks-agentpool-12345678-0",
			AzureVM{Subscription: sub, ResourceGroup: "MC_rg", Name: "aks-agentpool-12345678-0"}, ""},
		{"kind://docker/kind/kind-worker", AzureVM{}, "not an Azure one"},
		{"", AzureVM{}, "not an Azure one"},
		{"azure:///subscriptions/" + sub, AzureVM{}, "too few segments"},
		{"azure:///subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/lb/x/y", AzureVM{}, "not Microsoft.Compute"},
		{"azure:///subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.Compute/disks/d", AzureVM{}, "neither a scale-set instance nor a VM"},
		{"azure://subscriptions/" + sub + "/resourceGroups/MC_rg/providers/Microsoft.Compute/virtualMachines/vm-0",
			AzureVM{Subscription: sub, ResourceGroup: "MC_rg", Name: "vm-0"}, ""},
		{"AZURE:///subscriptions/" + sub + "/resourceGroups/MC_Grüße_aks_westeurope/providers/Microsoft.Compute/virtualMachines/vm-0",
			AzureVM{Subscription: sub, ResourceGroup: "MC_Grüße_aks_westeurope", Name: "vm-0"}, ""},
		{"azure:///subscriptions/" + sub + "/resourceGroups/MC_rg.(x)-y/providers/Microsoft.Compute/virtualMachineScaleSets/AKS_np.1/virtualMachines/4294967295",
			AzureVM{Subscription: sub, ResourceGroup: "MC_rg.(x)-y", ScaleSet: "AKS_np.1", InstanceID: "4294967295"}, ""},
	}
	// The names of a providerID are az's arguments, and the node writes its
	// providerID: az reads an argument "@FILE" (or "X=@FILE") from FILE and
	// sends it to Azure, and "-…" is an option.
	const tokenCache = "@/root/.azure/msal_token_cache.json"
	vmssID := func(sub, rg, vmss, instance string) string {
		return "azure:///subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.Compute/virtualMachineScaleSets/" + vmss + "/virtualMachines/" + instance
	}
	vmID := func(sub, rg, vm string) string {
		return "azure:///subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.Compute/virtualMachines/" + vm
	}
	for _, bad := range []struct{ id, err string }{
		{vmssID(sub, "@msal_token_cache.json", "vmss", "0"), `resource group "@msal_token_cache.json": starts with '@', which would make az read the file`},
		{vmssID(sub, "MC_rg", "@msal_token_cache.json", "0"), `scale set "@msal_token_cache.json": starts with '@'`},
		{vmssID(sub, "MC_rg", "vmss", "@msal_token_cache.json"), `scale-set instance ID "@msal_token_cache.json": starts with '@'`},
		{vmssID("@msal_token_cache.json", "MC_rg", "vmss", "0"), `subscription "@msal_token_cache.json": starts with '@'`},
		{vmID(sub, "MC_rg", "@msal_token_cache.json"), `VM "@msal_token_cache.json": starts with '@'`},
		{vmID(sub, "MC_rg", "@~"), `VM "@~": starts with '@'`},
		{vmID(sub, "@.azure", "vm"), `resource group "@.azure": starts with '@'`},
		{vmID(sub, "rg=@msal_token_cache.json", "vm"), `resource group "rg=@msal_token_cache.json": has '='`},
		{vmID(sub, "MC_rg", "vm=@msal_token_cache.json"), `VM "vm=@msal_token_cache.json": has '='`},
		{vmID(sub, "MC_rg", "＠msal_token_cache.json"), `VM "＠msal_token_cache.json": has '＠' (U+FF20)`},
		{vmID(sub, "＠msal_token_cache.json", "vm"), `resource group "＠msal_token_cache.json": has '＠' (U+FF20)`},
		// The token cache's path: its '/'s make other segments.
		{vmID(sub, tokenCache, "vm"), `segment 5 is "root", not providers`},
		{vmssID(sub, "MC_rg", "vmss", tokenCache), "names neither a scale-set instance nor a VM"},
		{vmID(sub, "MC_rg", tokenCache), "names neither a scale-set instance nor a VM"},
		{vmID(sub, "MC_rg", "%40msal_token_cache.json"), `VM "%40msal_token_cache.json": has '%'`},
		{vmID(sub, "MC_rg", "..%2F..%2Fx"), `VM "..%2F..%2Fx": has '%'`},
		{vmID(sub, "..", "vm"), `resource group "..": ends with '.'`},
		{vmssID(sub, "MC_rg", "..", "0"), `scale set "..": starts with '.'`},
		{vmID(sub, "MC_rg", "."), `VM ".": starts with '.'`},
		{vmssID(sub, "MC_rg", "vmss", ".."), `scale-set instance ID "..": not a number`},
		{vmssID(sub, "MC_rg", "vmss", "-1"), `scale-set instance ID "-1": not a number`},
		{vmID(sub, "--debug", "vm"), `resource group "--debug": starts with '-', which az would read as an option`},
		{vmID(sub, "MC_rg", "-n"), `VM "-n": starts with '-'`},
		{vmID("s", "MC_rg", "vm"), `subscription "s": not a subscription ID`},
		{vmID(sub, "MC_rg", "vm\u202egpj"), `VM "vm\u202egpj": has '\u202e' (U+202E)`},
		{vmID(sub, "rg\u200b", "vm"), `resource group "rg\u200b": has '\u200b' (U+200B)`},
		{vmID(sub, "MC_rg", "vmѕ"), `VM "vmѕ": has 'ѕ' (U+0455)`}, // Cyrillic dze
		{vmID(sub, "MC_rg", "vm\n"), `VM "vm\n": has '\n'`},
		{vmID(sub, "MC_rg", "vm x"), `VM "vm x": has ' '`},
		// Empty segments.
		{vmssID(sub, "", "vmss", "0"), "segment 4 is empty"},
		{vmssID(sub, "MC_rg", "vmss", ""), "segment 10 is empty"},
		{vmssID(sub, "MC_rg", "", "0"), "segment 8 is empty"},
		{vmssID(sub, "MC_rg", "vmss", "0") + "/", "segment 11 is empty"},
		{strings.Replace(vmID(sub, "MC_rg", "vm"), "/virtualMachines/", "//virtualMachines/", 1), "segment 7 is empty"},
		{"azure:////subscriptions/" + sub + "/resourceGroups/MC_rg/providers/Microsoft.Compute/virtualMachines/vm", "segment 1 is empty"},
	} {
		tests = append(tests, struct {
			id   string
			want AzureVM
			err  string
		}{bad.id, AzureVM{}, bad.err})
	}
	for _, tt := range tests {
		got, err := ParseProviderID(tt.id)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: %v, want an error with %q", tt.id, err, tt.err)
			}
			if err != nil && (!strings.HasPrefix(err.Error(), fmt.Sprintf("providerID %q", tt.id)) || strings.Contains(err.Error(), "\n")) {
				t.Errorf("%q: error %q: not one line naming the providerID", tt.id, err)
			}
			if got != (AzureVM{}) {
				t.Errorf("%q: %+v with the error", tt.id, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q = %+v, %v; want %+v", tt.id, got, err, tt.want)
		}
	}
	vmss := AzureVM{Subscription: "S", ResourceGroup: "RG", ScaleSet: "VMSS", InstanceID: "3"}
	if got := strings.Join(vmss.RunCommandArgs("SCRIPT"), " "); got != "vmss run-command invoke -g RG -n VMSS --instance-id 3 --command-id RunShellScript --scripts SCRIPT --subscription S -o json" {
		t.Errorf("vmss args: %s", got)
	}
	vm := AzureVM{Subscription: "S", ResourceGroup: "RG", Name: "VM"}
	if got := strings.Join(vm.RunCommandArgs("SCRIPT"), " "); got != "vm run-command invoke -g RG -n VM --command-id RunShellScript --scripts SCRIPT --subscription S -o json" {
		t.Errorf("vm args: %s", got)
	}
}

// TestDescribeAzError: az's failures, as az.Runner reads them from the fake
// az's stderr, in words about the VM. (How az's stderr is classified is
// tested in shared/az.)
func TestDescribeAzError(t *testing.T) {
	vm := AzureVM{Subscription: "sub-1", ResourceGroup: "MC_rg", ScaleSet: "aks-np-vmss", InstanceID: "2"}
	path, dir := fakeAz(t)
	tests := []struct {
		name, stderr string
		want         []string
	}{
		{"not logged in", "ERROR: Please run 'az login' to setup account.\n", []string{"not logged in to Azure: run `az login`"}},
		{"expired token", "ERROR: AADSTS700082: The refresh token has expired due to inactivity.\n", []string{"run `az login`"}},
		{"no permission", "ERROR: (AuthorizationFailed) The client 'ops@example.com' with object id '00000000-0000-0000-0000-000000000001' does not have authorization to perform action 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommand/action' over scope '/subscriptions/sub-1/resourceGroups/MC_rg/providers/Microsoft.Compute/virtualMachineScaleSets/aks-np-vmss/virtualMachines/2' or the scope is invalid. If access was recently granted, please refresh your credentials.\nCode: AuthorizationFailed\n",
			[]string{"no permission to run commands on scale set aks-np-vmss instance 2", "denied ops@example.com the action Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommand/action on /subscriptions/sub-1/"}},
		{"no permission, terse", "ERROR: (AuthorizationFailed) denied\n", []string{"no permission", "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommand/action", "(az: (AuthorizationFailed) denied)"}},
		{"deallocated", "ERROR: (OperationNotAllowed) Operation 'RunCommand' is not allowed on VM 'aks-np-vmss_2' since the VM is deallocated or marked to be deallocated.\nCode: OperationNotAllowed\n", []string{"is deallocated (stopped)"}},
		{"missing", "ERROR: (ResourceNotFound) The Resource 'Microsoft.Compute/virtualMachineScaleSets/aks-np-vmss' under resource group 'MC_rg' was not found.\nCode: ResourceNotFound\n", []string{"does not exist in Azure", "Node object may be stale"}},
		{"missing resource group", "ERROR: (ResourceGroupNotFound) Resource group 'MC_rg' could not be found.\n", []string{"does not exist in Azure"}},
		{"unknown subscription", "ERROR: (SubscriptionNotFound) The subscription 'sub-1' could not be found.\n", []string{"subscription sub-1 is not one az knows"}},
		{"conflict", "ERROR: (Conflict) Run command extension execution is in progress. Please wait for completion before invoking a run command.\n", []string{"another run command is in progress"}},
		{"other", "WARNING: x\nERROR: something else broke\n", []string{"az vmss run-command invoke failed (exit status 1): something else broke"}},
	}
	for _, tt := range tests {
		for name, data := range map[string]string{"aks-np-vmss_2.err": tt.stderr, "aks-np-vmss_2.code": "1"} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		_, err := (&az.Runner{Path: path, Timeout: time.Minute}).Run(t.Context(), vm.RunCommandArgs("true")...)
		got := describeAzError(vm, err).Error()
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", tt.name, got, w)
			}
		}
	}
	timeout := &az.Error{Command: "az vmss run-command invoke", Kind: az.KindTimeout, ExitCode: -1, Timeout: 90 * time.Second, TimeoutHint: "--node-timeout"}
	want := "scale set aks-np-vmss instance 2 (resource group MC_rg, subscription sub-1): timed out: no answer from az within 1m30s (--node-timeout); the run command may still be running on the VM"
	if got := describeAzError(vm, timeout).Error(); got != want {
		t.Errorf("timeout: %q, want %q", got, want)
	}
	// An az that cannot run: Run's error, which names the command.
	notExec := filepath.Join(t.TempDir(), "az")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := (&az.Runner{Path: notExec}).Run(t.Context(), vm.RunCommandArgs("true")...)
	if got := describeAzError(vm, err).Error(); !strings.HasPrefix(got, "running az vmss run-command invoke: fork/exec") {
		t.Errorf("not an exit: %q", got)
	}
}

// fakeAz is a shell stand-in for az: it records its arguments (NUL
// separated, one file per VM) and answers with KEY.out, KEY.err, KEY.code
// after KEY.sleep seconds, KEY being -n's value and _ and --instance-id's.
func fakeAz(t *testing.T) (path, dir string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "az")
	script := `#!/bin/sh
d=$(dirname "$0")
for a in "$@"; do printf '%s\0' "$a"; done > "$d/args.tmp.$$"
n= i=
while [ $# -gt 0 ]; do case $1 in -n) n=$2; shift;; --instance-id) i=$2; shift;; esac; shift; done
k=$n${i:+_$i}
mv "$d/args.tmp.$$" "$d/$k.args"
[ -f "$d/$k.sleep" ] && sleep "$(cat "$d/$k.sleep")"
[ -f "$d/$k.err" ] && cat "$d/$k.err" >&2
[ -f "$d/$k.out" ] && cat "$d/$k.out"
exit "$(cat "$d/$k.code" 2>/dev/null || echo 0)"
`
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, dir
}

func azAnswer(stdout string) string {
	msg := "Enable succeeded: \n[stdout]\n" + stdout + "\n[stderr]\n"
	b, _ := json.MarshalIndent(map[string]any{"value": []map[string]any{{
		"code": "ProvisioningState/succeeded", "displayStatus": "Provisioning succeeded", "level": "Info", "message": msg, "time": nil,
	}}}, "", "  ")
	return string(b)
}

func node(name, providerID string, labels map[string]string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Spec: corev1.NodeSpec{ProviderID: providerID}}
}

func TestNodesCollect(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	az, dir := fakeAz(t)
	r := newNodeRoot(t)
	soon := r.cert("/etc/kubernetes/certs/apiserver.crt", certtest.Template{CommonName: "apiserver", NotAfter: time.Now().Add(3 * 24 * time.Hour)}, false)
	r.cert("/var/lib/kubelet/pki/kubelet-client-current.pem", certtest.Template{CommonName: "system:node:vmss0"}, true)
	stdout := r.run("sh", NodeScript([]string{"/etc/kubernetes/extra.pem"}))
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("aks-np-vmss_0.out", azAnswer(stdout))
	write("aks-vm-1.err", "ERROR: Please run 'az login' to setup account.\n")
	write("aks-vm-1.code", "1")
	write("aks-np-vmss_5.sleep", "30")

	const sub = "11111111-2222-3333-4444-555555555555"
	vmss := "azure:///subscriptions/" + sub + "/resourcegroups/mc_rg/providers/Microsoft.Compute/virtualMachineScaleSets/aks-np-vmss/virtualMachines/"
	client := fake.NewClientset(
		node("aks-np-vmss000000", vmss+"0", nil),
		node("aks-np-vmss000005", vmss+"5", nil),
		node("aks-vm-1", "azure:///subscriptions/"+sub+"/resourceGroups/MC_rg/providers/Microsoft.Compute/virtualMachines/aks-vm-1", nil),
		node("akswin000000", vmss+"9", map[string]string{corev1.LabelOSStable: "windows"}),
		node("kind-worker", "kind://docker/kind/kind-worker", nil),
		node("bare", "", nil),
		node("odd", "azure:///subscriptions/"+sub, nil),
	)
	c := NewCollector(time.Now(), expiry.DefaultThresholds(), false)
	n := &Nodes{Scope: &Scope{Client: client}, AzPath: az, Parallel: 3, Timeout: 700 * time.Millisecond, ExtraPaths: []string{"/etc/kubernetes/extra.pem"},
		NodeResourceGroups: []ResourceGroup{{Subscription: sub, Name: "MC_rg"}}}
	start := time.Now()
	n.Collect(t.Context(), c)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("took %v: the slow node's az was not stopped at its timeout", took)
	}
	rep := c.Report()

	loc := "node/aks-np-vmss000000:/etc/kubernetes/certs/apiserver.crt"
	var got *api.Certificate
	for i := range rep.Certificates {
		if rep.Certificates[i].Location == loc {
			got = &rep.Certificates[i]
		}
	}
	if got == nil || got.Source != "nodes" || got.Status != api.StatusCritical || got.SHA256Fingerprint != certificate.Fingerprint(soon.Cert) ||
		got.Name != "apiserver.crt" || got.Subject != "CN=apiserver" || got.DNSNames == nil || got.ResidualSeconds <= 0 {
		t.Errorf("%s = %+v", loc, got)
	}
	if len(rep.Certificates) != 2 {
		t.Errorf("%d certificates, want 2: %+v", len(rep.Certificates), rep.Certificates)
	}
	wantErrors := map[string]string{
		"node/aks-vm-1":          "run `az login`",
		"node/aks-np-vmss000005": "timed out",
		"node/odd":               "too few segments",
		"node/aks-np-vmss000000:/etc/kubernetes/extra.pem": "no such file on the node",
	}
	for _, e := range rep.Errors {
		if w, ok := wantErrors[e.Location]; !ok || !strings.Contains(e.Message, w) {
			t.Errorf("unexpected error %+v", e)
		}
		delete(wantErrors, e.Location)
	}
	for l, w := range wantErrors {
		t.Errorf("no error at %s (%s): %+v", l, w, rep.Errors)
	}
	wantSkipped := map[string]string{
		"node/akswin000000": "a Windows node",
		"node/kind-worker":  `not an Azure VM: providerID "kind://docker/kind/kind-worker"`,
		"node/bare":         "no spec.providerID",
		"node/aks-np-vmss000000:/var/lib/kubelet/pki/kubelet.crt":                "not on the node",
		"node/aks-np-vmss000000:/var/lib/kubelet/pki/kubelet-server-current.pem": "not on the node",
	}
	for _, s := range rep.Skipped {
		if w, ok := wantSkipped[s.Location]; !ok || !strings.Contains(s.Reason, w) {
			t.Errorf("unexpected skipped %+v", s)
		}
		delete(wantSkipped, s.Location)
	}
	for l, w := range wantSkipped {
		t.Errorf("not skipped: %s (%s)", l, w)
	}

	args, err := os.ReadFile(filepath.Join(dir, "aks-np-vmss_0.args"))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{"vmss", "run-command", "invoke", "-g", "mc_rg", "-n", "aks-np-vmss", "--instance-id", "0",
		"--command-id", "RunShellScript", "--scripts", NodeScript([]string{"/etc/kubernetes/extra.pem"}), "--subscription", sub, "-o", "json"}, "\x00") + "\x00"
	if string(args) != want {
		t.Errorf("az args:\n%q\nwant\n%q", args, want)
	}
	if args, _ := os.ReadFile(filepath.Join(dir, "aks-vm-1.args")); !bytes.HasPrefix(args, []byte("vm\x00run-command\x00invoke\x00-g\x00MC_rg\x00-n\x00aks-vm-1\x00--command-id\x00RunShellScript\x00")) {
		t.Errorf("vm args: %q", args)
	}
	if _, err := os.Stat(filepath.Join(dir, "aks-np-vmss_9.args")); err == nil {
		t.Error("az was called for the Windows node")
	}
}

// TestNodesHostileProviderID: a Node whose providerID has a name az would
// read a file for ("@…") or take for an option is one error naming the
// Node and the name, az is never run with it, and the other nodes are
// still checked.
func TestNodesHostileProviderID(t *testing.T) {
	az, dir := fakeAz(t)
	fp := strings.Repeat("ab", 32)
	good := runcommand.Header + "\nc|1700000000|4000000000|" + fp + "|/etc/kubernetes/certs/ca.crt|CN=ca\n" + runcommand.TrailerPrefix + "1\n"
	if err := os.WriteFile(filepath.Join(dir, "aks-np-vmss_0.out"), []byte(azAnswer(good)), 0o644); err != nil {
		t.Fatal(err)
	}
	const sub = "11111111-2222-3333-4444-555555555555"
	prefix := "azure:///subscriptions/"
	vmss := func(sub, rg, name, id string) string {
		return prefix + sub + "/resourceGroups/" + rg + "/providers/Microsoft.Compute/virtualMachineScaleSets/" + name + "/virtualMachines/" + id
	}
	vm := func(rg, name string) string {
		return prefix + sub + "/resourceGroups/" + rg + "/providers/Microsoft.Compute/virtualMachines/" + name
	}
	hostile := map[string]struct{ id, err string }{
		"evil-rg":       {vmss(sub, "@msal_token_cache.json", "aks-np-vmss", "1"), `resource group "@msal_token_cache.json": starts with '@'`},
		"evil-vmss":     {vmss(sub, "MC_rg", "@msal_token_cache.json", "2"), `scale set "@msal_token_cache.json": starts with '@'`},
		"evil-instance": {vmss(sub, "MC_rg", "aks-np-vmss", "@msal_token_cache.json"), `scale-set instance ID "@msal_token_cache.json"`},
		"evil-sub":      {vmss("@msal_token_cache.json", "MC_rg", "aks-np-vmss", "3"), `subscription "@msal_token_cache.json"`},
		"evil-vm":       {vm("MC_rg", "@~"), `VM "@~": starts with '@'`},
		"evil-eq":       {vm("MC_rg", "x=@msal_token_cache.json"), `VM "x=@msal_token_cache.json": has '='`},
		"evil-option":   {vm("--debug", "aks-vm-0"), `resource group "--debug": starts with '-'`},
		"evil-path":     {vm("MC_rg", "@/root/.azure/msal_token_cache.json"), "names neither a scale-set instance nor a VM"},
	}
	objs := []runtime.Object{node("aks-np-vmss000000", vmss(sub, "MC_rg", "aks-np-vmss", "0"), nil)}
	for name, h := range hostile {
		objs = append(objs, node(name, h.id, nil))
	}
	c := NewCollector(time.Now(), expiry.DefaultThresholds(), false)
	(&Nodes{Scope: &Scope{Client: fake.NewClientset(objs...)}, AzPath: az, Parallel: 4, Timeout: time.Minute,
		NodeResourceGroups: []ResourceGroup{{Subscription: sub, Name: "MC_rg"}}}).Collect(t.Context(), c)
	rep := c.Report()

	if len(rep.Certificates) != 1 || rep.Certificates[0].Location != "node/aks-np-vmss000000:/etc/kubernetes/certs/ca.crt" {
		t.Errorf("certificates %+v: want the good node's", rep.Certificates)
	}
	errs := map[string]string{}
	for _, e := range rep.Errors {
		errs[e.Location] = e.Message
	}
	for name, h := range hostile {
		msg := errs["node/"+name]
		if !strings.Contains(msg, fmt.Sprintf("providerID %q", h.id)) || !strings.Contains(msg, h.err) {
			t.Errorf("node/%s: error %q, want one naming the providerID and %q", name, msg, h.err)
		}
		delete(errs, "node/"+name)
	}
	if len(errs) != 0 {
		t.Errorf("other errors: %v", errs)
	}
	// az ran once, for the good node, and never with an argument it would
	// read a file for.
	calls, err := filepath.Glob(filepath.Join(dir, "*.args"))
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 1 || filepath.Base(calls[0]) != "aks-np-vmss_0.args" {
		t.Errorf("az calls: %v", calls)
	}
	for _, f := range calls {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00") {
			if azname.ReadsFile(a) {
				t.Errorf("%s: az was given %q", filepath.Base(f), a)
			}
		}
	}
}

// TestNodesVMClaimedTwice: two Nodes whose providerIDs name one VM (names
// in any case) are each an error naming the other, and the VM is not run
// on: which claim is true cannot be told from the Nodes. The other nodes
// are still checked.
func TestNodesVMClaimedTwice(t *testing.T) {
	az, dir := fakeAz(t)
	fp := strings.Repeat("ab", 32)
	good := runcommand.Header + "\nc|1700000000|4000000000|" + fp + "|/etc/kubernetes/certs/ca.crt|CN=ca\n" + runcommand.TrailerPrefix + "1\n"
	for _, f := range []string{"aks-np-vmss_0.out", "aks-np-vmss_1.out"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(azAnswer(good)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const sub = "11111111-2222-3333-4444-555555555555"
	id := func(rg, vmss, instance string) string {
		return "azure:///subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.Compute/virtualMachineScaleSets/" + vmss + "/virtualMachines/" + instance
	}
	objs := []runtime.Object{
		node("aks-np-vmss000000", id("MC_rg", "aks-np-vmss", "0"), nil),
		node("aks-np-vmss000001", id("MC_rg", "aks-np-vmss", "1"), nil),
		// A Node registered with worker 1's providerID, in other case.
		node("intruder", id("mc_RG", "AKS-NP-VMSS", "1"), nil),
	}
	c := NewCollector(time.Now(), expiry.DefaultThresholds(), false)
	(&Nodes{Scope: &Scope{Client: fake.NewClientset(objs...)}, AzPath: az, Parallel: 2, Timeout: time.Minute,
		NodeResourceGroups: []ResourceGroup{{Subscription: sub, Name: "MC_rg"}}}).Collect(t.Context(), c)
	rep := c.Report()
	if len(rep.Certificates) != 1 || rep.Certificates[0].Location != "node/aks-np-vmss000000:/etc/kubernetes/certs/ca.crt" {
		t.Errorf("certificates %+v: want only the unclaimed node's", rep.Certificates)
	}
	errs := map[string]string{}
	for _, e := range rep.Errors {
		errs[e.Location] = e.Message
	}
	for node, other := range map[string]string{"intruder": "aks-np-vmss000001", "aks-np-vmss000001": "intruder"} {
		if msg := errs["node/"+node]; !strings.Contains(msg, "providerID of Node "+other+" too") || !strings.Contains(msg, "instance 1") {
			t.Errorf("node/%s: error %q, want one naming the VM and Node %s", node, msg, other)
		}
	}
	if len(errs) != 2 {
		t.Errorf("errors %v", errs)
	}
	if calls, _ := filepath.Glob(filepath.Join(dir, "*.args")); len(calls) != 1 || filepath.Base(calls[0]) != "aks-np-vmss_0.args" {
		t.Errorf("az calls: %v, want only instance 0", calls)
	}
}

// TestNodesNodeResourceGroup: the script runs only on VMs of the cluster's
// node resource group — the one az aks list gives for the cluster whose
// API server is the kubeconfig's, or --node-resource-group — never where
// a Node's providerID alone says (another resource group or subscription
// az can reach); when the group cannot be told, no node is run on.
func TestNodesNodeResourceGroup(t *testing.T) {
	const sub, other = "11111111-2222-3333-4444-555555555555", "99999999-2222-3333-4444-555555555555"
	fp := strings.Repeat("ab", 32)
	good := azAnswer(runcommand.Header + "\nc|1700000000|4000000000|" + fp + "|/etc/kubernetes/certs/ca.crt|CN=ca\n" + runcommand.TrailerPrefix + "1\n")
	clusters := `[{"id": "/subscriptions/` + sub + `/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1",
	  "fqdn": "aks1-abc.hcp.westeurope.azmk8s.io", "nodeResourceGroup": "MC_rg_aks1_westeurope"},
	 {"id": "/subscriptions/` + sub + `/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks2",
	  "fqdn": "aks2-def.hcp.westeurope.azmk8s.io", "nodeResourceGroup": "MC_rg_aks2_westeurope"}]`
	id := func(sub, rg, vm string) string {
		return "azure:///subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.Compute/virtualMachines/" + vm
	}
	nodes := []runtime.Object{
		node("aks-vm-0", id(sub, "mc_rg_aks1_westeurope", "aks-vm-0"), nil),
		node("aks2-vm", id(sub, "MC_rg_aks2_westeurope", "aks2-vm"), nil),
		node("prod-db", id(sub, "prod", "db01"), nil),
		node("other-sub", id(other, "MC_rg_aks1_westeurope", "vm9"), nil),
	}
	tests := []struct {
		name    string
		host    string
		nodes   *Nodes
		list    string // az aks list's answer; "" when it must not run
		checked []string
		errs    map[string]string
	}{
		{"the AKS cluster of the API server host", "AKS1-abc.hcp.westeurope.azmk8s.io.", &Nodes{}, clusters,
			[]string{"aks-vm-0"}, map[string]string{
				"aks2-vm":   "not in the cluster's node resource group /subscriptions/" + sub + "/resourceGroups/MC_rg_aks1_westeurope",
				"prod-db":   "VM db01 (resource group prod",
				"other-sub": "subscription " + other + ") is not in",
			}},
		{"--node-resource-group", "aks1-abc.hcp.westeurope.azmk8s.io", &Nodes{NodeResourceGroups: []ResourceGroup{{sub, "MC_rg_aks2_westeurope"}, {sub, "prod"}}}, "",
			[]string{"aks2-vm", "prod-db"}, map[string]string{"aks-vm-0": "not in the cluster's node resource group", "other-sub": "not in"}},
		{"no AKS cluster has the host", "10.0.0.1", &Nodes{}, clusters,
			nil, map[string]string{"aks-vm-0": "no AKS cluster in az's default subscription (az aks list: 2 cluster(s)) has API server 10.0.0.1", "aks2-vm": "give --node-resource-group",
				"prod-db": "give --node-resource-group", "other-sub": "give --node-resource-group"}},
		{"no host to find it by", "", &Nodes{}, "",
			nil, map[string]string{"aks-vm-0": "no API server host", "aks2-vm": "no API server host", "prod-db": "no API server host", "other-sub": "no API server host"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			az, dir := fakeAz(t)
			for _, f := range []string{"aks-vm-0", "aks2-vm", "db01", "vm9"} {
				if err := os.WriteFile(filepath.Join(dir, f+".out"), []byte(good), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.list != "" {
				if err := os.WriteFile(filepath.Join(dir, ".out"), []byte(tt.list), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			n := tt.nodes
			n.Scope, n.AzPath, n.Parallel, n.Timeout = &Scope{Client: fake.NewClientset(nodes...), Host: tt.host}, az, 2, time.Minute
			c := NewCollector(time.Now(), expiry.DefaultThresholds(), false)
			n.Collect(t.Context(), c)
			rep := c.Report()
			var checked []string
			for _, e := range rep.Certificates {
				checked = append(checked, strings.TrimPrefix(strings.Split(e.Location, ":")[0], "node/"))
			}
			if !slices.Equal(checked, tt.checked) {
				t.Errorf("checked %v, want %v", checked, tt.checked)
			}
			errs := map[string]string{}
			for _, e := range rep.Errors {
				errs[strings.TrimPrefix(e.Location, "node/")] = e.Message
			}
			for node, want := range tt.errs {
				if !strings.Contains(errs[node], want) {
					t.Errorf("node %s: error %q, want %q", node, errs[node], want)
				}
			}
			if len(errs) != len(tt.errs) {
				t.Errorf("errors %v", errs)
			}
			// az ran for the nodes checked, and aks list only to find the group.
			calls, _ := filepath.Glob(filepath.Join(dir, "*.args"))
			var ran []string
			for _, f := range calls {
				ran = append(ran, strings.TrimSuffix(filepath.Base(f), ".args"))
			}
			want := map[string]bool{}
			for _, n := range tt.checked {
				want[map[string]string{"aks-vm-0": "aks-vm-0", "aks2-vm": "aks2-vm", "prod-db": "db01", "other-sub": "vm9"}[n]] = true
			}
			if tt.list != "" {
				want[""] = true
			}
			if len(ran) != len(want) {
				t.Errorf("az calls %v", ran)
			}
			for _, r := range ran {
				if !want[r] {
					t.Errorf("az call %q not expected", r)
				}
			}
		})
	}
}

// TestNodeScriptArgs: the script, whatever the --node-cert-path values, is
// no argument az would read a file for.
func TestNodeScriptArgs(t *testing.T) {
	vm := AzureVM{Subscription: "11111111-2222-3333-4444-555555555555", ResourceGroup: "MC_rg", ScaleSet: "vmss", InstanceID: "0"}
	for _, extra := range [][]string{nil, {"/@x", "/=@x", "/x=@/root/.azure/msal_token_cache.json", "/@"}} {
		script := NodeScript(extra)
		if err := azname.Args(vm.RunCommandArgs(script)); err != nil {
			t.Errorf("%q: %v", extra, err)
		}
		if i := strings.IndexByte(script, '='); i < 0 || strings.HasPrefix(script[i+1:], "@") || !strings.HasPrefix(script, "# ") {
			t.Errorf("the script starts %q", clipString(script, 100))
		}
	}
	// And checkNode refuses to run az with such an argument.
	c := NewCollector(time.Now(), expiry.DefaultThresholds(), false)
	az, dir := fakeAz(t)
	(&Nodes{}).checkNode(t.Context(), c, az, time.Minute, "@/root/.azure/msal_token_cache.json", nodeTarget{node: "n", vm: vm})
	(&Nodes{}).checkNode(t.Context(), c, az, time.Minute, "#!/bin/sh", nodeTarget{node: "m", vm: AzureVM{Subscription: vm.Subscription, ResourceGroup: "@rg", Name: "vm"}})
	errs := map[string]string{}
	for _, e := range c.Report().Errors {
		errs[e.Location] = e.Message
	}
	if len(errs) != 2 || !strings.Contains(errs["node/n"], "would make az read a local file") || !strings.Contains(errs["node/m"], `resource group "@rg"`) {
		t.Errorf("errors = %v", errs)
	}
	if calls, _ := filepath.Glob(filepath.Join(dir, "*.args")); len(calls) != 0 {
		t.Errorf("az ran: %v", calls)
	}
}

func TestNodesNamesAndMissingAz(t *testing.T) {
	client := fake.NewClientset(node("a", "azure:///subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/a", nil))
	c := NewCollector(time.Now(), expiry.DefaultThresholds(), false)
	(&Nodes{Scope: &Scope{Client: client}, Names: []string{"a", "ghost"}, AzPath: filepath.Join(t.TempDir(), "no-az")}).Collect(t.Context(), c)
	rep := c.Report()
	if len(rep.Errors) != 2 || rep.Errors[0].Location != "az" || !strings.Contains(rep.Errors[0].Message, "--az-path") ||
		rep.Errors[1].Location != "node/ghost" || rep.Errors[1].Message != "no such node" {
		t.Errorf("errors = %+v", rep.Errors)
	}
}

func TestNodesCaptured(t *testing.T) {
	dir := t.TempDir()
	fp := strings.Repeat("ab", 32)
	script := runcommand.Header + "\nc|1700000000|1900000000|" + fp + "|/etc/kubernetes/certs/ca.crt|CN=ca\na|/var/lib/kubelet/pki/kubelet.crt\n" + runcommand.TrailerPrefix + "2\n"
	capture := "### node: n1\n" + azAnswer(script) + "\n### node: n2\nEnable succeeded: \n[stdout]\nnotAfter=Dec 30 23:36:00 2025 GMT\n\n[stderr]\n\n"
	file := filepath.Join(dir, "capture")
	if err := os.WriteFile(file, []byte(capture), 0o644); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	run := func(n *Nodes) *api.CertificateReport {
		c := NewCollector(now, expiry.DefaultThresholds(), false)
		n.Collect(t.Context(), c)
		return c.Report()
	}

	rep := run(&Nodes{Captured: file, ExtraPaths: []string{"/etc/kubernetes/certs/apiserver.crt"}})
	locs := map[string]api.CertificateStatus{}
	for _, c := range rep.Certificates {
		locs[c.Location] = c.Status
	}
	if len(locs) != 2 || locs["node/n1:/etc/kubernetes/certs/ca.crt"] != api.StatusOK || locs["node/n2:/etc/kubernetes/certs/apiserver.crt"] != api.StatusExpired {
		t.Errorf("certificates = %+v", rep.Certificates)
	}
	if len(rep.Errors) != 0 || len(rep.Skipped) != 1 || rep.Skipped[0].Location != "node/n1:/var/lib/kubelet/pki/kubelet.crt" {
		t.Errorf("errors %+v, skipped %+v", rep.Errors, rep.Skipped)
	}

	// --node picks from the capture; a name not in it is an error.
	rep = run(&Nodes{Captured: file, Names: []string{"n1", "n3"}})
	if len(rep.Certificates) != 1 || len(rep.Errors) != 1 || rep.Errors[0].Location != "node/n3" {
		t.Errorf("--node n1 --node n3: certificates %+v, errors %+v", rep.Certificates, rep.Errors)
	}

	// Standard input, one unnamed node: --node names it; without, an error.
	one := "Enable succeeded: \n[stdout]\nnotAfter=Dec 30 23:36:00 2025 GMT\n\n[stderr]\n"
	rep = run(&Nodes{Captured: "-", Stdin: strings.NewReader(one), Names: []string{"n9"}})
	if len(rep.Certificates) != 1 || rep.Certificates[0].Location != "node/n9" || len(rep.Certificates[0].Notes) != 1 {
		t.Errorf("stdin: %+v", rep.Certificates)
	}
	rep = run(&Nodes{Captured: "-", Stdin: strings.NewReader(one)})
	if len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0].Message, "--node NAME") {
		t.Errorf("unnamed: %+v", rep.Errors)
	}
	rep = run(&Nodes{Captured: filepath.Join(dir, "missing")})
	if len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0].Message, "no such file") {
		t.Errorf("missing file: %+v", rep.Errors)
	}

	// The documented command's stderr: a file missing, openssl missing.
	missing := `{"value":[{"code":"ProvisioningState/failed","displayStatus":"Provisioning failed","level":"Error","message":"Enable failed: failed to execute command: command terminated with exit status=1\n[stdout]\n\n[stderr]\nCan't open /etc/kubernetes/certs/apiserver.crt for reading, No such file or directory\nunable to load certificate\n","time":null}]}`
	rep = run(&Nodes{Captured: "-", Stdin: strings.NewReader(missing), Names: []string{"n1"}, ExtraPaths: []string{"/etc/kubernetes/certs/apiserver.crt"}})
	if len(rep.Errors) != 1 || rep.Errors[0].Location != "node/n1:/etc/kubernetes/certs/apiserver.crt" || rep.Errors[0].Message != "standard input, line 1: no such file on the node" {
		t.Errorf("missing on the node: %+v", rep.Errors)
	}
	noOpenSSL := "Enable failed: failed to execute command: command terminated with exit status=127\n[stdout]\n\n[stderr]\n/var/lib/waagent/run-command/download/0/script.sh: 1: openssl: not found\n"
	rep = run(&Nodes{Captured: "-", Stdin: strings.NewReader(noOpenSSL), Names: []string{"n1"}})
	if len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0].Message, "openssl is not installed on the node") {
		t.Errorf("openssl missing: %+v", rep.Errors)
	}
	failed := `{"value":[{"code":"ProvisioningState/failed","displayStatus":"Provisioning failed","level":"Error","message":"VM has reported a failure when processing extension 'RunCommandLinux'.","time":null}]}`
	rep = run(&Nodes{Captured: "-", Stdin: strings.NewReader(failed), Names: []string{"n1"}})
	if len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0].Message, "the run command failed on the VM: VM has reported a failure") {
		t.Errorf("failed provisioning: %+v", rep.Errors)
	}
}

// TestCollectorFoundDescription: a Found without Cert but with a
// Description is judged like a certificate.
func TestCollectorFoundDescription(t *testing.T) {
	now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewCollector(now, expiry.DefaultThresholds(), true)
	desc := &api.Certificate{Subject: "CN=x", SHA256Fingerprint: strings.Repeat("cd", 32), NotBefore: metav1.NewTime(now.Add(-time.Hour)), NotAfter: metav1.NewTime(now.Add(48 * time.Hour)), Status: api.StatusOK, Source: "ignored"}
	c.Found("nodes", Found{Description: desc, Location: "node/a:/x", Name: "x"})
	c.Found("nodes", Found{Description: desc, Location: "node/b:/x"})                                                              // same fingerprint: deduplicated
	c.Found("nodes", Found{Description: &api.Certificate{NotAfter: metav1.NewTime(now.Add(-time.Second))}, Location: "node/a:/y"}) // no fingerprint: never merged
	c.Found("nodes", Found{Description: &api.Certificate{NotAfter: metav1.NewTime(now.Add(-time.Second))}, Location: "node/b:/y"})
	c.Found("nodes", Found{Location: "nothing"})
	r := c.Report()
	if len(r.Certificates) != 3 {
		t.Fatalf("%d certificates: %+v", len(r.Certificates), r.Certificates)
	}
	y, x := r.Certificates[0], r.Certificates[2]
	if x.Source != "nodes" || x.Location != "node/a:/x" || x.Name != "x" || x.Status != api.StatusCritical || x.ResidualSeconds != 48*3600 ||
		len(x.AlsoAt) != 1 || x.AlsoAt[0] != "nodes node/b:/x" || x.DNSNames == nil || x.IPAddresses == nil {
		t.Errorf("x = %+v", x)
	}
	if y.Status != api.StatusExpired || y.ResidualSeconds != -1 || !y.NotBefore.IsZero() {
		t.Errorf("y = %+v", y)
	}
	if desc.Status != api.StatusOK || desc.Source != "ignored" {
		t.Error("the Description was modified")
	}
}

// TestNodeScriptFallbacks: a date that cannot convert (busybox) leaves
// openssl's dates, which parse the same; no openssl is one x| line.
func TestNodeScriptFallbacks(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	r := newNodeRoot(t)
	c := r.cert("/etc/kubernetes/certs/apiserver.crt", certtest.Template{CommonName: "apiserver"}, false)
	forEachShell(t, func(t *testing.T, sh string) {
		testNodeScriptFallbacks(t, r, c, sh)
	})
}

// testNodeScriptFallbacks runs the script with shell as sh, the only tools
// on PATH those it uses.
func testNodeScriptFallbacks(t *testing.T, r *nodeRoot, c *certtest.Cert, shell string) {
	bin := func(without string, fake map[string]string) string {
		dir := t.TempDir()
		for _, tool := range []string{"sh", "openssl", "grep", "head", "cut", "sed", "date"} {
			if tool == without {
				continue
			}
			if tool == "sh" {
				if err := os.Symlink(shell, filepath.Join(dir, tool)); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if body, ok := fake[tool]; ok {
				if err := os.WriteFile(filepath.Join(dir, tool), []byte(body), 0o755); err != nil {
					t.Fatal(err)
				}
				continue
			}
			p, err := exec.LookPath(tool)
			if err != nil {
				t.Skip(err)
			}
			if err := os.Symlink(p, filepath.Join(dir, tool)); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	run := func(path string) string {
		script := NodeScript(nil)
		for _, d := range []string{"/etc/kubernetes", "/var/lib/kubelet"} {
			script = strings.ReplaceAll(script, d, r.dir+d)
		}
		cmd := exec.Command(filepath.Join(path, "sh"), "-c", script)
		cmd.Env = []string{"PATH=" + path}
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.ReplaceAll(string(out), r.dir, "")
	}

	stdout := run(bin("", map[string]string{"date": "#!/bin/sh\necho 'date: invalid option -- f' >&2\nexit 1\n"}))
	if !strings.Contains(stdout, " GMT|") {
		t.Errorf("without GNU date, openssl's dates are expected:\n%s", stdout)
	}
	out, err := runcommand.Parse([]byte(stdout))
	if err != nil || len(out.Files) != 4 || !out.Complete {
		t.Fatalf("%v: %+v", err, out)
	}
	if f := out.Files[0]; f.Kind != runcommand.Cert || !f.NotAfter.Equal(c.Cert.NotAfter) || !f.NotBefore.Equal(c.Cert.NotBefore) || f.SHA256 != certificate.Fingerprint(c.Cert) {
		t.Errorf("apiserver.crt = %+v", f)
	}

	stdout = run(bin("openssl", nil))
	out, err = runcommand.Parse([]byte(stdout))
	if err != nil || len(out.Files) != 0 || len(out.Problems) != 1 || out.Problems[0].Kind != runcommand.OpenSSLMissing || !out.Complete {
		t.Errorf("without openssl: %v, %+v\n%s", err, out, stdout)
	}
}
