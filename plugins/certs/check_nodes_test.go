package certs

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubecerts/kubecerts/plugins/certs/source/runcommand"
	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/exitcode"
)

// nodesCapture is two nodes' run-command output as az prints it: JSON with
// the node script's lines, and the documented single-line tsv form. At
// fixedNow (2027-01-01) ca.crt is OK, apiserver.crt CRITICAL and the
// single-line file EXPIRED.
func nodesCapture(t *testing.T) string {
	t.Helper()
	stdout := runcommand.Header + "\n" +
		"c|1700000000|1900000000|" + strings.Repeat("ab", 32) + "|/etc/kubernetes/certs/ca.crt|CN=ca\n" +
		"c|1700000000|1798934400|" + strings.Repeat("cd", 32) + "|/etc/kubernetes/certs/apiserver.crt|CN=apiserver\n" + // 2027-01-03
		"a|/var/lib/kubelet/pki/kubelet.crt\n" +
		runcommand.TrailerPrefix + "3\n"
	msg, _ := json.Marshal("Enable succeeded: \n[stdout]\n" + stdout + "\n[stderr]\n")
	capture := "### node: aks-np-vmss000000\n" +
		`{"value":[{"code":"ProvisioningState/succeeded","displayStatus":"Provisioning succeeded","level":"Info","message":` + string(msg) + `,"time":null}]}` + "\n" +
		"### node: aks-np-vmss000001\n" +
		"Enable succeeded: \n[stdout]\nnotAfter=Dec 30 23:36:00 2025 GMT\n\n[stderr]\n\n"
	p := filepath.Join(t.TempDir(), "capture.txt")
	if err := os.WriteFile(p, []byte(capture), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckNodesOffline(t *testing.T) {
	capture := nodesCapture(t)
	// --run-command-output alone selects the nodes source; no kubeconfig needed.
	code, out, errOut := runCheck(t, "--run-command-output", capture, "--node-cert-path", "/etc/kubernetes/certs/client.crt", "-o", "json")
	if code != exitcode.Critical {
		t.Errorf("exit status = %d, want 3; stderr:\n%s", code, errOut)
	}
	var r api.CertificateReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	got := map[string]api.CertificateStatus{}
	for _, c := range r.Certificates {
		if c.Source != "nodes" {
			t.Errorf("source = %q", c.Source)
		}
		got[c.Location] = c.Status
	}
	want := map[string]api.CertificateStatus{
		"node/aks-np-vmss000000:/etc/kubernetes/certs/ca.crt":        api.StatusOK,
		"node/aks-np-vmss000000:/etc/kubernetes/certs/apiserver.crt": api.StatusCritical,
		"node/aks-np-vmss000001:/etc/kubernetes/certs/client.crt":    api.StatusExpired,
	}
	if len(got) != len(want) {
		t.Errorf("certificates = %v, want %v", got, want)
	}
	for l, s := range want {
		if got[l] != s {
			t.Errorf("%s: %q, want %q", l, got[l], s)
		}
	}
	if len(r.Errors) != 0 || len(r.Skipped) != 1 || r.Skipped[0].Location != "node/aks-np-vmss000000:/var/lib/kubelet/pki/kubelet.crt" {
		t.Errorf("errors %+v, skipped %+v", r.Errors, r.Skipped)
	}

	// The table, and the skipped file on stderr.
	_, out, errOut = runCheck(t, "--run-command-output", capture, "--node", "aks-np-vmss000000")
	if !strings.Contains(out, "node/aks-np-vmss000000:/etc/kubernetes/certs/apiserver.crt") || strings.Contains(out, "vmss000001") {
		t.Errorf("table:\n%s", out)
	}
	if !strings.Contains(errOut, "skipped: nodes node/aks-np-vmss000000:/var/lib/kubelet/pki/kubelet.crt: not on the node") {
		t.Errorf("stderr:\n%s", errOut)
	}
}

func TestCheckNodesUsageErrors(t *testing.T) {
	capture := nodesCapture(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--source", "nodes", "--parallel", "0"}, "--parallel 0: must be at least 1"},
		{[]string{"--source", "nodes", "--node-timeout", "soon"}, `invalid duration "soon"`},
		{[]string{"--source", "nodes", "--node-timeout", "0"}, "--node-timeout must be positive"},
		{[]string{"--node-cert-path", "etc/x.crt"}, `--node-cert-path "etc/x.crt": not an absolute path`},
		{[]string{"--node-cert-path", "/etc/a|b.crt"}, "must not contain '|'"},
		// A line break would end the script's record: refused, quoted on one line.
		{[]string{"--node-cert-path", "/etc/a\nc|1|2|ab|/etc/forged.crt|CN=x"}, `error: --node-cert-path "/etc/a\nc|1|2|ab|/etc/forged.crt|CN=x": must not contain '|', a line break or NUL`},
		{[]string{"--node-cert-path", "/etc/a\nb.crt"}, `error: --node-cert-path "/etc/a\nb.crt": must not contain '|', a line break or NUL`},
		{[]string{"--node-cert-path", "/etc/a\rb.crt"}, `error: --node-cert-path "/etc/a\rb.crt": must not contain`},
		{[]string{"--node-cert-path", "/etc/a\x00b.crt"}, `error: --node-cert-path "/etc/a\x00b.crt": must not contain`},
		{[]string{"--node-cert-path", "@/root/.azure/msal_token_cache.json"}, `--node-cert-path "@/root/.azure/msal_token_cache.json": not an absolute path`},
		{[]string{"--run-command-output", capture, "-l", "a=b"}, "-l/--selector does not apply to --run-command-output"},
		{[]string{"--run-command-output", capture, "--source", "file", "--file", "x"}, "add nodes to --source"},
		{[]string{"--source", "nodes", "--az-path", ""}, "--az-path must not be empty"},
	} {
		code, _, errOut := runCheck(t, tt.args...)
		if code != 1 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", tt.args, code, errOut, tt.want)
		}
	}
}

// TestCheckNodesSourceSelection: nodes is a source of its own, not part of
// cluster; --node and --run-command-output select it.
func TestCheckNodesSourceSelection(t *testing.T) {
	if !contains(allSources, "nodes") || contains(clusterSources, "nodes") {
		t.Errorf("allSources %v, clusterSources %v", allSources, clusterSources)
	}
	code, _, errOut := runCheck(t, "--run-command-output", filepath.Join(t.TempDir(), "none"))
	if code != exitcode.Error || !strings.Contains(errOut, "error: nodes ") || !strings.Contains(errOut, "no such file") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}
