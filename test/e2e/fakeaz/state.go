package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// The AKS state: $FAKEAZ_ROOT/aks/<rg>/<cluster>/ (see the package
// comment). Every read and write holds the lock on $FAKEAZ_ROOT/aks/.lock,
// and every file is written to a temporary file renamed over it: tests run
// several fakes at once against one cluster.

const (
	clusterFile   = "cluster.json"
	operationFile = "operation.json"
	poolsDir      = "agentpools"

	defaultSubscription = "00000000-0000-0000-0000-000000000000"
	updateKind          = "update managed cluster"
)

// subscription is the call's: --subscription, else az's default one.
func subscription(f flags) string {
	if s := f.vals["--subscription"]; s != "" {
		return s
	}
	return defaultSub()
}

// defaultSub is az's default subscription: $FAKEAZ_SUBSCRIPTION, else
// 00000000-0000-0000-0000-000000000000.
func defaultSub() string {
	if s := os.Getenv("FAKEAZ_SUBSCRIPTION"); s != "" {
		return s
	}
	return defaultSubscription
}

// loggedOut is $FAKEAZ_ROOT/not-logged-in: az has no account at all.
func loggedOut() bool {
	root := os.Getenv("FAKEAZ_ROOT")
	return root != "" && exists(root, "not-logged-in")
}

// store is $FAKEAZ_ROOT/aks; dir is "" without $FAKEAZ_ROOT.
type store struct{ dir string }

func openStore() store {
	root := os.Getenv("FAKEAZ_ROOT")
	if root == "" {
		return store{}
	}
	return store{dir: filepath.Join(root, "aks")}
}

func (s store) exists() bool { return s.dir != "" && isDir(s.dir) }

// locked runs fn holding the state's lock.
func (s store) locked(fn func() error) error {
	unlock, err := lockFile(filepath.Join(s.dir, ".lock"))
	if err != nil {
		return internal("locking %s: %v", s.dir, err)
	}
	defer unlock()
	return fn()
}

// groupDir is the resource group's directory, or ARM's 404.
func (s store) groupDir(rg string) (string, error) {
	d := filepath.Join(s.dir, strings.ToLower(rg))
	if !s.exists() || rg == "" || strings.HasPrefix(rg, ".") || !isDir(d) {
		return "", resourceGroupNotFound(rg)
	}
	return d, nil
}

// clusterDir is the cluster's directory (one with a cluster.json), or
// ARM's 404.
func (s store) clusterDir(rg, name string) (string, error) {
	g, err := s.groupDir(rg)
	if err != nil {
		return "", err
	}
	d := filepath.Join(g, strings.ToLower(name))
	if name == "" || strings.HasPrefix(name, ".") || !exists(d, clusterFile) {
		return "", resourceNotFound(rg, "managedClusters/"+name)
	}
	return d, nil
}

// clusterDirs lists the clusters of one resource group, or of all when rg
// is "".
func (s store) clusterDirs(rg string) ([]string, error) {
	groups := []string{}
	if rg != "" {
		g, err := s.groupDir(rg)
		if err != nil {
			return nil, err
		}
		groups = append(groups, g)
	} else if s.exists() {
		names, err := subdirs(s.dir)
		if err != nil {
			return nil, internal("%v", err)
		}
		for _, n := range names {
			groups = append(groups, filepath.Join(s.dir, n))
		}
	}
	var dirs []string
	for _, g := range groups {
		names, err := subdirs(g)
		if err != nil {
			return nil, internal("%v", err)
		}
		for _, n := range names {
			if exists(filepath.Join(g, n), clusterFile) {
				dirs = append(dirs, filepath.Join(g, n))
			}
		}
	}
	return dirs, nil
}

func subdirs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// operation is operation.json: the operation running on the cluster.
type operation struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	StartedAt time.Time `json:"startedAt"`
	EndsAt    time.Time `json:"endsAt"`
	Fail      string    `json:"fail,omitempty"`
	Code      string    `json:"code,omitempty"`
}

// running: an operation without endsAt runs until its file is removed.
func (o *operation) running(now time.Time) bool {
	return o.EndsAt.IsZero() || now.Before(o.EndsAt)
}

// cluster is a managed cluster as on disk: cluster.json as az prints it,
// and the operation running on it.
type cluster struct {
	dir string
	obj map[string]any
	op  *operation
}

func loadCluster(dir string) (*cluster, error) {
	obj, err := readJSON(filepath.Join(dir, clusterFile))
	if err != nil {
		return nil, err
	}
	c := &cluster{dir: dir, obj: obj}
	p := filepath.Join(dir, operationFile)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, internal("%v", err)
	}
	var op operation
	if err := json.Unmarshal(data, &op); err != nil {
		return nil, internal("%s: %v", p, err)
	}
	// A test's operation.json may leave out what the fake writes itself.
	filled := false
	if op.ID == "" {
		op.ID, filled = newUUID(), true
	}
	if op.Kind == "" {
		op.Kind, filled = updateKind, true
	}
	if op.StartedAt.IsZero() {
		if st, err := os.Stat(p); err == nil {
			op.StartedAt, filled = st.ModTime().UTC(), true
		}
	}
	if filled {
		if err := writeJSON(p, &op); err != nil {
			return nil, err
		}
	}
	c.op = &op
	return c, nil
}

func (c *cluster) save() error { return writeJSON(filepath.Join(c.dir, clusterFile), c.obj) }

func (c *cluster) str(key string) string {
	s, _ := c.obj[key].(string)
	return s
}

// id is cluster.json's id, or the one the cluster would have.
func (c *cluster) id() string {
	if id := c.str("id"); id != "" {
		return id
	}
	return fmt.Sprintf("/subscriptions/%s/resourcegroups/%s/providers/Microsoft.ContainerService/managedClusters/%s",
		defaultSub(), filepath.Base(filepath.Dir(c.dir)), filepath.Base(c.dir))
}

// subscription is the one of the cluster's id.
func (c *cluster) subscription() string {
	parts := strings.Split(strings.TrimPrefix(c.id(), "/"), "/")
	if len(parts) >= 2 && strings.EqualFold(parts[0], "subscriptions") {
		return parts[1]
	}
	return ""
}

// inSubscription: a cluster of another subscription is not found.
func (c *cluster) inSubscription(sub string) bool { return strings.EqualFold(c.subscription(), sub) }

// settle brings the state up to now: an operation whose endsAt has passed
// ends (Succeeded, or Failed with its message), its file is removed and
// the cluster has a new eTag; one still running keeps provisioningState
// Updating.
func (c *cluster) settle(now time.Time) error {
	if c.op == nil {
		return nil
	}
	if c.op.running(now) {
		if c.str("provisioningState") == "Updating" {
			return nil
		}
		c.obj["provisioningState"] = "Updating"
		if err := c.setPoolsState("Updating", false); err != nil {
			return err
		}
		return c.save()
	}
	state := "Succeeded"
	if c.op.Fail != "" {
		state = "Failed"
	}
	c.obj["provisioningState"] = state
	c.obj["eTag"] = newUUID()
	if err := c.setPoolsState(state, true); err != nil {
		return err
	}
	if err := c.save(); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(c.dir, operationFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return internal("%v", err)
	}
	c.op = nil
	return nil
}

// start begins an operation on the cluster: provisioningState Updating on
// it and on its Linux pools, whose nodes AKS replaces.
func (c *cluster) start(op *operation) error {
	c.obj["provisioningState"] = "Updating"
	if err := c.setPoolsState("Updating", false); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(c.dir, operationFile), op); err != nil {
		return err
	}
	c.op = op
	return c.save()
}

// setPoolsState sets the provisioningState of every Linux pool, in its
// agentpools file and in agentPoolProfiles, with a new eTag when newETag
// is set. The caller saves cluster.json.
func (c *cluster) setPoolsState(state string, newETag bool) error {
	pools, err := c.pools()
	if err != nil {
		return err
	}
	done := map[string]bool{}
	for _, p := range pools {
		props := p.props()
		if !isLinux(props["osType"]) {
			continue
		}
		props["provisioningState"] = state
		etag := ""
		if newETag {
			etag = newUUID()
			p.obj["eTag"] = etag
		}
		if prof := c.profile(p.name()); prof != nil {
			prof["provisioningState"] = state
			if newETag {
				prof["eTag"] = etag
			}
		}
		done[strings.ToLower(p.name())] = true
		if err := p.save(); err != nil {
			return err
		}
	}
	for _, prof := range c.profiles() {
		name, _ := prof["name"].(string)
		if done[strings.ToLower(name)] || !isLinux(prof["osType"]) {
			continue
		}
		prof["provisioningState"] = state
		if newETag {
			prof["eTag"] = newUUID()
		}
	}
	return nil
}

func isLinux(osType any) bool {
	s, _ := osType.(string)
	return s == "" || strings.EqualFold(s, "Linux")
}

// profiles are cluster.json's agentPoolProfiles.
func (c *cluster) profiles() []map[string]any {
	list, _ := c.obj["agentPoolProfiles"].([]any)
	var out []map[string]any
	for _, v := range list {
		if m, ok := v.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func (c *cluster) profile(name string) map[string]any {
	for _, p := range c.profiles() {
		if n, _ := p["name"].(string); strings.EqualFold(n, name) {
			return p
		}
	}
	return nil
}

// setCACerts sets securityProfile.customCaTrustCertificates, keeping the
// rest of securityProfile.
func (c *cluster) setCACerts(certs []string) {
	sp, _ := c.obj["securityProfile"].(map[string]any)
	if sp == nil {
		sp = map[string]any{}
		c.obj["securityProfile"] = sp
	}
	list := make([]any, len(certs))
	for i, s := range certs {
		list[i] = s
	}
	sp["customCaTrustCertificates"] = list
}

// agentPool is agentpools/<pool>.json, as ARM returns it.
type agentPool struct {
	path string
	obj  map[string]any
}

func (p *agentPool) save() error { return writeJSON(p.path, p.obj) }

func (p *agentPool) name() string {
	if n, _ := p.obj["name"].(string); n != "" {
		return n
	}
	return strings.TrimSuffix(filepath.Base(p.path), ".json")
}

// props is the pool's properties object, made when missing.
func (p *agentPool) props() map[string]any {
	m, _ := p.obj["properties"].(map[string]any)
	if m == nil {
		m = map[string]any{}
		p.obj["properties"] = m
	}
	return m
}

// pools are the cluster's agentpools/*.json, by file name.
func (c *cluster) pools() ([]*agentPool, error) {
	matches, err := filepath.Glob(filepath.Join(c.dir, poolsDir, "*.json"))
	if err != nil {
		return nil, internal("%v", err)
	}
	sort.Strings(matches)
	var pools []*agentPool
	for _, m := range matches {
		if strings.HasPrefix(filepath.Base(m), ".") {
			continue
		}
		obj, err := readJSON(m)
		if err != nil {
			return nil, err
		}
		pools = append(pools, &agentPool{path: m, obj: obj})
	}
	return pools, nil
}

// pool is agentpools/<name>.json, nil when there is none.
func (c *cluster) pool(name string) (*agentPool, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return nil, nil
	}
	p := filepath.Join(c.dir, poolsDir, strings.ToLower(name)+".json")
	obj, err := readJSON(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &agentPool{path: p, obj: obj}, nil
}

// readJSON reads a JSON object, numbers kept as written.
func readJSON(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, internal("%v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, internal("%s: %v", path, err)
	}
	if obj == nil {
		return nil, internal("%s: not a JSON object", path)
	}
	return obj, nil
}

// writeJSON writes v as az prints it, through a temporary file renamed
// over path, so that no reader sees half a file.
func writeJSON(path string, v any) error {
	data, err := marshal(v, true)
	if err != nil {
		return internal("%s: %v", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return internal("%v", err)
	}
	defer os.Remove(tmp.Name()) // after the rename, nothing there
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return internal("%v", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return internal("%v", err)
	}
	if err := tmp.Close(); err != nil {
		return internal("%v", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return internal("%v", err)
	}
	return nil
}

// newUUID is a random (version 4) UUID, as AKS's eTags and operation IDs.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
