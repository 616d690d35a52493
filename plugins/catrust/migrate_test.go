package catrust

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/az"
	"github.com/kubecerts/kubecerts/shared/exitcode"
)

// The az calls of migrate on the test cluster.
const (
	poolsURL   = armEndpoint + testClusterID + "/agentPools?api-version=" + PoolAPIVersion
	readPools  = "rest --method get --url " + poolsURL + " -o json"
	poolPrefix = testClusterID + "/agentPools/"
)

func readPool(name string) string {
	return "rest --method get --url " + armEndpoint + poolPrefix + name + "?api-version=" + PoolAPIVersion + " -o json"
}

func disablePool(name string) string {
	return "resource update --ids " + poolPrefix + name + " --api-version " + PoolAPIVersion + " --set properties.enableCustomCATrust=false -o json"
}

// migrationSetup is a trust secret holding ca-a, ca-b and ca-expired (and
// a token), and the test cluster whose list holds ca-a, with both pools
// carrying enableCustomCATrust true.
func migrationSetup(t *testing.T) (*fake.Clientset, *fakeAz) {
	t.Helper()
	sec := secretWith(t, "ca-a", "ca-b", "ca-expired")
	sec.UID = types.UID("3f1c0b5e-uid")
	c := testAKSCluster(t, "ca-a")
	yes := true
	for _, p := range c.Pools {
		p.Enabled = &yes
	}
	return fakeClient(sec), newFakeAz(t, c)
}

// migrationOf decodes a CATrustMigration printed with -o json.
func migrationOf(t *testing.T, out string) *api.CATrustMigration {
	t.Helper()
	var m api.CATrustMigration
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("%v; stdout:\n%s", err, out)
	}
	return &m
}

// outcomes are the steps as name target=outcome.
func outcomes(m *api.CATrustMigration) []string {
	var out []string
	for _, s := range m.Steps {
		out = append(out, s.Name+" "+s.Target+"="+s.Outcome)
	}
	return out
}

func wantOutcomes(t *testing.T, m *api.CATrustMigration, want ...string) {
	t.Helper()
	if got := outcomes(m); !reflect.DeepEqual(got, want) {
		t.Errorf("steps:\n  %s\nwant:\n  %s\n%+v", strings.Join(got, "\n  "), strings.Join(want, "\n  "), m.Steps)
	}
}

// deletes lists the deletes of secrets made, with their preconditions.
func deletes(c *fake.Clientset) []string {
	var out []string
	for _, a := range c.Actions() {
		if d, ok := a.(k8stesting.DeleteActionImpl); ok {
			s := "delete " + d.GetNamespace() + "/" + d.GetName()
			if p := d.DeleteOptions.Preconditions; p != nil && p.UID != nil && p.ResourceVersion != nil {
				s += fmt.Sprintf(" uid=%s rv=%s", *p.UID, *p.ResourceVersion)
			}
			out = append(out, s)
		}
	}
	return out
}

const (
	setList = "set-ca-list managedcluster/" + testCluster
	np1     = "agentpool/nodepool1"
	up      = "agentpool/userpool"
	delSec  = "delete-secret secret/kube-system/custom-ca-trust-secret"
)

// TestMigratePlan: without --yes the steps are planned, nothing is
// written, exit 1; --dry-run=client the same with exit 0.
func TestMigratePlan(t *testing.T) {
	for _, tt := range []struct {
		name     string
		args     []string
		wantCode int
		planned  bool
	}{
		{"no --yes", nil, 1, true},
		{"--dry-run=client", []string{"--dry-run=client", "--yes"}, 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, f := migrationSetup(t)
			code, out, errOut := runAz(t, c, f, "", "migrate", append([]string{aksFlags, aksName, "-o", "json", "--delete-secret"}, tt.args...)...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.wantCode, errOut)
			}
			m := migrationOf(t, out)
			step := "planned" // under --dry-run=client too: the plan alone
			wantOutcomes(t, m, setList+"="+step,
				"disable-custom-ca-trust "+np1+"="+step, "verify "+np1+"="+step,
				"disable-custom-ca-trust "+up+"="+step, "verify "+up+"="+step,
				delSec+"="+step)
			if m.Planned != tt.planned || !m.SecretExists || m.Cluster.ID != testClusterID || len(m.Pools) != 2 || !m.Pools[0].EnableCustomCATrust {
				t.Errorf("migration: planned %t, secretExists %t, cluster %+v, pools %+v", m.Planned, m.SecretExists, m.Cluster, m.Pools)
			}
			if len(m.LeftOut) != 1 || m.LeftOut[0].Key != "ca3.crt" || !strings.Contains(m.LeftOut[0].Reason, "expired") {
				t.Errorf("left out %+v, want ca3.crt, expired", m.LeftOut)
			}
			var union []string
			for _, it := range m.Certificates {
				union = append(union, it.Key+"="+it.SHA256Fingerprint)
			}
			if want := []string{"cluster ca1.crt=" + fp(t, "ca-a"), "secret kube-system/custom-ca-trust-secret key ca2.crt=" + fp(t, "ca-b")}; !reflect.DeepEqual(union, want) {
				t.Errorf("certificates %v, want %v: the union, each once", union, want)
			}
			wantCalls(t, f, showFirst, readPools, showAgain)
			checkSent(t, f)
			if got := verbs(c); !reflect.DeepEqual(got, []string{"get secrets"}) {
				t.Errorf("API calls %v, want the secret's read alone", got)
			}
		})
	}
}

// TestMigrate: with --yes the union is set in one update, both pools are
// disabled and read back, and the secret is kept; a failed pool stops
// there (exit 1), and a second run finishes what is left, skipping what is
// done, and deletes the secret with --delete-secret.
func TestMigrate(t *testing.T) {
	c, f := migrationSetup(t)
	code, out, errOut := runAz(t, c, f, "", "migrate", aksFlags, aksName, "--yes", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut)
	}
	m := migrationOf(t, out)
	wantOutcomes(t, m, setList+"=done",
		"disable-custom-ca-trust "+np1+"=done", "verify "+np1+"=done",
		"disable-custom-ca-trust "+up+"=done", "verify "+up+"=done",
		delSec+"=kept")
	wantCalls(t, f, showFirst, readPools, showAgain, updateCall("etag-1"),
		disablePool("nodepool1"), readPool("nodepool1"), disablePool("userpool"), readPool("userpool"))
	checkSent(t, f, bundleOf(t, "ca-a", "ca-b"))
	if got := deletes(c); got != nil {
		t.Errorf("deletes %v, want none", got)
	}
	for _, p := range f.clusters[0].Pools {
		if p.Enabled == nil || *p.Enabled {
			t.Errorf("pool %s: enableCustomCATrust %v", p.Name, p.Enabled)
		}
	}
}

func TestMigrateFailureThenRerun(t *testing.T) {
	c, f := migrationSetup(t)
	f.poolFail["userpool"] = azErr("az resource update", az.KindOther, "InvalidParameter", "Property enableCustomCATrust is not supported.")
	code, out, errOut := runAz(t, c, f, "", "migrate", aksFlags, aksName, "--yes", "--delete-secret", "-o", "json")
	if code != exitcode.Error || !strings.Contains(errOut, "error: a migration step failed") {
		t.Errorf("exit %d; stderr:\n%s", code, errOut)
	}
	m := migrationOf(t, out)
	wantOutcomes(t, m, setList+"=done",
		"disable-custom-ca-trust "+np1+"=done", "verify "+np1+"=done",
		"disable-custom-ca-trust "+up+"=failed", "verify "+up+"=not-run",
		delSec+"=not-run")
	if msg := m.Steps[3].Message; !strings.Contains(msg, "(InvalidParameter) Property enableCustomCATrust is not supported.") {
		t.Errorf("the failed step says %q", msg)
	}
	wantCalls(t, f, showFirst, readPools, showAgain, updateCall("etag-1"),
		disablePool("nodepool1"), readPool("nodepool1"), disablePool("userpool"))
	if got := deletes(c); got != nil {
		t.Errorf("deletes %v, want none", got)
	}

	// Again, the failure gone: what is done is skipped.
	delete(f.poolFail, "userpool")
	f.calls, f.files = nil, nil
	c.ClearActions()
	code, out, errOut = runAz(t, c, f, "", "migrate", aksFlags, aksName, "--yes", "--delete-secret", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut)
	}
	m = migrationOf(t, out)
	wantOutcomes(t, m, setList+"=already-done",
		"disable-custom-ca-trust "+np1+"=already-done", "verify "+np1+"=already-done",
		"disable-custom-ca-trust "+up+"=done", "verify "+up+"=done",
		delSec+"=done")
	wantCalls(t, f, showFirst, readPools, showAgain, disablePool("userpool"), readPool("userpool"))
	checkSent(t, f)
	if got, want := deletes(c), []string{"delete kube-system/custom-ca-trust-secret uid=3f1c0b5e-uid rv=7"}; !reflect.DeepEqual(got, want) {
		t.Errorf("deletes %v, want %v", got, want)
	}
	if getSecret(t, c) != nil {
		t.Error("the secret is still there")
	}
}

// TestMigrateUnionOverTheLimit: a union of more than 10 is refused,
// naming every certificate, before anything is written.
func TestMigrateUnionOverTheLimit(t *testing.T) {
	c, f := migrationSetup(t)
	cl := f.clusters[0]
	for i := 1; i <= 9; i++ {
		cl.CAs = append(cl.CAs, b64(genCA(t, fmt.Sprintf("extra-%d", i))))
	}
	code, out, errOut := runAz(t, c, f, "", "migrate", aksFlags, aksName, "--yes")
	if code != 1 || out != "" {
		t.Errorf("exit %d, stdout %q", code, out)
	}
	for _, w := range []string{
		"error: the cluster's list and the secret's CAs hold 11 distinct certificates together, over AKS's limit of 10: ",
		"CN=extra-9 (sha256 ", "cluster ca10.crt)",
		"(sha256 " + api.ShortFingerprint(fp(t, "ca-b")) + ", secret kube-system/custom-ca-trust-secret key ca2.crt)",
		"nothing was done",
	} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut)
		}
	}
	wantCalls(t, f, showFirst)
	checkSent(t, f)
	if got := deletes(c); got != nil {
		t.Errorf("deletes %v", got)
	}
}

func TestMigrateUsage(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"--store", []string{"--store=aks", aksFlags, aksName}, "--store: migrate reads the trust secret and writes the AKS cluster's list; it takes no --store"},
		{"--no-wait", []string{aksFlags, aksName, "--no-wait"}, "--no-wait: migrate waits for each step"},
		{"--dry-run=server", []string{aksFlags, aksName, "--dry-run=server"}, "--dry-run=server: AKS has no server-side dry run"},
		{"an argument", []string{aksFlags, aksName, "x"}, `unexpected argument "x"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, f := migrationSetup(t)
			code, _, errOut := runAz(t, c, f, "", "migrate", tt.args...)
			if code != 1 || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d; stderr:\n%s\nwant %q", code, errOut, tt.want)
			}
			wantCalls(t, f)
		})
	}
}
