package catrust

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/kubecerts/kubecerts/shared/az"
	"github.com/kubecerts/kubecerts/shared/azname"
)

// testSubscription, testRG and testCluster name the managed cluster the
// aks tests use; testHost is its API server.
const (
	testSubscription = "00000000-0000-0000-0000-000000000001"
	testRG           = "rg-prod"
	testCluster      = "aks-prod"
	testHost         = "aks-prod-dns-1a2b3c4d.hcp.westeurope.azmk8s.io"
	testClusterID    = "/subscriptions/" + testSubscription + "/resourceGroups/" + testRG + "/providers/Microsoft.ContainerService/managedClusters/" + testCluster
)

// fakePool is a node pool of a fakeCluster: its profile in the managed
// cluster and its agentPools resource.
type fakePool struct {
	Name, OSType string
	Count        int
	// Enabled is the retired enableCustomCATrust (nil: not shown).
	Enabled *bool
	State   string
}

// fakeCluster is a managed cluster as the fake Azure holds it.
type fakeCluster struct {
	ID, Name, ResourceGroup       string
	Fqdn, PrivateFqdn, PortalFqdn string
	ETag                          string
	State                         string
	CAs                           []string
	Pools                         []*fakePool
	etagN                         int
	updatingShows                 int
	noSecurityProfile             bool
}

// changed bumps the cluster's eTag, as any write does.
func (c *fakeCluster) changed() {
	c.etagN++
	c.ETag = fmt.Sprintf("etag-%d", c.etagN)
}

func (c *fakeCluster) json() map[string]any {
	var profiles []map[string]any
	for _, p := range c.Pools {
		profiles = append(profiles, map[string]any{"name": p.Name, "osType": p.OSType, "count": p.Count})
	}
	out := map[string]any{
		"id": c.ID, "name": c.Name, "resourceGroup": c.ResourceGroup,
		"fqdn": c.Fqdn, "privateFqdn": nilIfEmpty(c.PrivateFqdn), "azurePortalFqdn": c.PortalFqdn,
		"eTag": c.ETag, "provisioningState": c.State, "agentPoolProfiles": profiles,
	}
	if !c.noSecurityProfile {
		out["securityProfile"] = map[string]any{"customCaTrustCertificates": c.CAs}
	}
	return out
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (c *fakeCluster) poolJSON(p *fakePool) map[string]any {
	props := map[string]any{"provisioningState": p.State, "osType": p.OSType, "count": p.Count}
	if p.Enabled != nil {
		props["enableCustomCATrust"] = *p.Enabled
	}
	return map[string]any{"id": c.ID + "/agentPools/" + p.Name, "name": p.Name, "properties": props}
}

// sentFile is the --custom-ca-trust-certificates file of one aks update as
// az found it.
type sentFile struct {
	Path    string
	Content string
	Mode    os.FileMode
}

// fakeAz answers the az calls of the aks store from clusters held in
// memory, and records each call. Its fields inject failures; each "once"
// injection is used up by the call it affects.
type fakeAz struct {
	t        *testing.T
	mu       sync.Mutex
	clusters []*fakeCluster

	// calls are the argv of every call, in order.
	calls [][]string
	// files are the files of the aks updates, in order.
	files []sentFile

	// interleave, when set, is run once at the start of the next aks
	// update, as another writer changing the cluster since it was read:
	// the update then fails with 412.
	interleave func(c *fakeCluster)
	// busyOnce makes the next aks update fail with OperationNotAllowed;
	// the cluster reads Updating for one more show.
	busyOnce bool
	// fail answers every call of a command ("aks show", "aks update",
	// "aks list", "rest", "resource update") with an error.
	fail map[string]*az.Error
	// endState is the provisioningState an aks update ends in (default
	// Succeeded).
	endState string
	// poolFail answers the resource update of the named pool with an error.
	poolFail map[string]*az.Error
}

func newFakeAz(t *testing.T, clusters ...*fakeCluster) *fakeAz {
	for _, c := range clusters {
		if c.ETag == "" {
			c.changed()
		}
	}
	return &fakeAz{t: t, clusters: clusters, fail: map[string]*az.Error{}, poolFail: map[string]*az.Error{}}
}

// testAKSCluster is aks-prod in rg-prod, API server testHost, provisioning
// state Succeeded, holding the fixtures' PEM (each base64) in its list,
// with two Linux pools of 3 and 2 nodes.
func testAKSCluster(t *testing.T, names ...string) *fakeCluster {
	t.Helper()
	c := &fakeCluster{
		ID: testClusterID, Name: testCluster, ResourceGroup: testRG,
		Fqdn: testHost, PortalFqdn: "aks-prod-dns-1a2b3c4d.portal.hcp.westeurope.azmk8s.io",
		State: "Succeeded", CAs: []string{},
		Pools: []*fakePool{{Name: "nodepool1", OSType: "Linux", Count: 3, State: "Succeeded"}, {Name: "userpool", OSType: "Linux", Count: 2, State: "Succeeded"}},
	}
	for _, n := range names {
		c.CAs = append(c.CAs, base64.StdEncoding.EncodeToString(fixturePEM(t, n)))
	}
	return c
}

// azErr is the *az.Error az's runner makes of a failure of command.
func azErr(command string, kind az.Kind, code, msg string) *az.Error {
	return &az.Error{Command: command, Kind: kind, Code: code, Message: msg, ExitCode: 1}
}

// Run implements azCLI.
func (f *fakeAz) Run(_ context.Context, args ...string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, append([]string{}, args...))
	if err := azname.Args(args); err != nil {
		f.t.Errorf("az %s: %v", strings.Join(args, " "), err)
		return nil, err
	}
	name, opts := splitArgs(args)
	if e, ok := f.fail[name]; ok && name != "aks update" {
		return nil, e
	}
	switch name {
	case "aks list":
		var out []map[string]any
		for _, c := range f.clusters {
			out = append(out, c.json())
		}
		if out == nil {
			return []byte("[]"), nil
		}
		return json.Marshal(out)
	case "aks show":
		c, err := f.cluster(name, opts)
		if err != nil {
			return nil, err
		}
		out, err := json.Marshal(c.json())
		if c.updatingShows > 0 {
			if c.updatingShows--; c.updatingShows == 0 {
				c.State = "Succeeded"
			}
		}
		return out, err
	case "aks update":
		return f.update(name, opts)
	case "rest":
		return f.rest(opts)
	case "resource update":
		return f.resourceUpdate(opts)
	}
	f.t.Errorf("fake az: no command %q (%s)", name, strings.Join(args, " "))
	return nil, azErr("az "+name, az.KindOther, "", "unknown command")
}

// JSON implements azCLI.
func (f *fakeAz) JSON(ctx context.Context, v any, args ...string) error {
	out, err := f.Run(ctx, args...)
	if err != nil {
		return err
	}
	if len(out) == 0 {
		return fmt.Errorf("az %s: az printed nothing, not JSON", strings.Join(args[:2], " "))
	}
	return json.Unmarshal(out, v)
}

// splitArgs splits args into the command (the leading words) and its
// options (--name value, or true for a flag without one).
func splitArgs(args []string) (string, map[string]string) {
	i := 0
	for i < len(args) && !strings.HasPrefix(args[i], "-") {
		i++
	}
	opts := map[string]string{}
	for j := i; j < len(args); j++ {
		if j+1 < len(args) && !strings.HasPrefix(args[j+1], "-") {
			opts[args[j]] = args[j+1]
			j++
		} else {
			opts[args[j]] = "true"
		}
	}
	return strings.Join(args[:i], " "), opts
}

func (f *fakeAz) cluster(name string, opts map[string]string) (*fakeCluster, error) {
	for _, c := range f.clusters {
		if strings.EqualFold(c.ResourceGroup, opts["-g"]) && strings.EqualFold(c.Name, opts["-n"]) {
			return c, nil
		}
	}
	return nil, azErr("az "+name, az.KindNotFound, "ResourceNotFound",
		fmt.Sprintf("The Resource 'Microsoft.ContainerService/managedClusters/%s' under resource group '%s' was not found.", opts["-n"], opts["-g"]))
}

func (f *fakeAz) update(name string, opts map[string]string) ([]byte, error) {
	c, err := f.cluster(name, opts)
	if err != nil {
		return nil, err
	}
	path := opts["--custom-ca-trust-certificates"]
	st, err := os.Stat(path)
	if err != nil {
		f.t.Errorf("aks update: the file %s: %v", path, err)
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		f.t.Errorf("aks update: %v", err)
		return nil, err
	}
	f.files = append(f.files, sentFile{Path: path, Content: string(data), Mode: st.Mode().Perm()})
	if e, ok := f.fail[name]; ok {
		return nil, e
	}
	if f.interleave != nil {
		w := f.interleave
		f.interleave = nil
		w(c)
		c.changed()
	}
	if f.busyOnce {
		f.busyOnce = false
		c.State, c.updatingShows = "Updating", 1
		return nil, azErr("az aks update", az.KindOperationNotAllowed, "OperationNotAllowed",
			"Operation is not allowed because there's an in progress update managed cluster operation on the managed cluster started at 2030-01-01T00:00:00Z.")
	}
	if opts["--if-match"] != c.ETag {
		return nil, azErr("az aks update", az.KindPreconditionFailed, "PreconditionFailed",
			fmt.Sprintf("Operation failed with status: 'Precondition Failed'. Details: etag %s does not match etag %s", opts["--if-match"], c.ETag))
	}
	var cas []string
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		cas = append(cas, base64.StdEncoding.EncodeToString(pem.EncodeToMemory(b)))
	}
	c.CAs = cas
	c.changed()
	c.State = "Succeeded"
	if f.endState != "" {
		c.State = f.endState
	}
	if opts["--no-wait"] == "true" {
		c.State = "Updating"
		return nil, nil
	}
	return json.Marshal(c.json())
}

// pool finds a pool by its ID, or the cluster of an agentPools URL.
func (f *fakeAz) byURL(url string) (*fakeCluster, *fakePool, bool) {
	path, _, _ := strings.Cut(strings.TrimPrefix(url, armEndpoint), "?")
	for _, c := range f.clusters {
		if strings.EqualFold(path, c.ID+"/agentPools") {
			return c, nil, true
		}
		for _, p := range c.Pools {
			if strings.EqualFold(path, c.ID+"/agentPools/"+p.Name) {
				return c, p, true
			}
		}
	}
	return nil, nil, false
}

func (f *fakeAz) rest(opts map[string]string) ([]byte, error) {
	url := opts["--url"]
	if opts["--method"] != "get" || !strings.HasSuffix(url, "?api-version="+PoolAPIVersion) {
		f.t.Errorf("az rest %v: want a get at api-version %s", opts, PoolAPIVersion)
	}
	c, p, ok := f.byURL(url)
	if !ok {
		return nil, azErr("az rest", az.KindNotFound, "NotFound", "Not Found("+url+")")
	}
	if p != nil {
		return json.Marshal(c.poolJSON(p))
	}
	value := []map[string]any{}
	for _, p := range c.Pools {
		value = append(value, c.poolJSON(p))
	}
	return json.Marshal(map[string]any{"value": value})
}

func (f *fakeAz) resourceUpdate(opts map[string]string) ([]byte, error) {
	if opts["--api-version"] != PoolAPIVersion || opts["--set"] != "properties.enableCustomCATrust=false" {
		f.t.Errorf("az resource update %v: want --set properties.enableCustomCATrust=false at %s", opts, PoolAPIVersion)
	}
	c, p, ok := f.byURL(opts["--ids"])
	if !ok || p == nil {
		return nil, azErr("az resource update", az.KindNotFound, "ResourceNotFound", "The Resource "+opts["--ids"]+" was not found.")
	}
	if e, ok := f.poolFail[p.Name]; ok {
		return nil, e
	}
	no := false
	p.Enabled, p.State = &no, "Succeeded"
	return json.Marshal(c.poolJSON(p))
}

// callLines are the calls made, one string each, the path of an update's
// file written FILE.
func (f *fakeAz) callLines() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		args := append([]string{}, c...)
		for i := range args {
			if i > 0 && args[i-1] == "--custom-ca-trust-certificates" {
				args[i] = "FILE"
			}
		}
		out = append(out, strings.Join(args, " "))
	}
	return out
}
