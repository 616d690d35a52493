package main

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// armEndpoint is where az rest sends a URL given as a path.
const armEndpoint = "https://management.azure.com"

// poolRef is an agent pool (or, pool "", the cluster's pool collection)
// as an ARM path names it.
type poolRef struct {
	sub, rg, cluster, pool string
	path                   string
}

func (r poolRef) target() target { return target{sub: r.sub, rg: r.rg, name: r.cluster} }

func (r poolRef) notFound() error {
	return resourceNotFound(r.rg, "managedClusters/"+r.cluster+"/agentPools/"+r.pool)
}

// parsePoolPath reads /subscriptions/S/resourceGroups/RG/providers/
// Microsoft.ContainerService/managedClusters/NAME/agentPools[/POOL], its
// keywords in any case.
func parsePoolPath(p string) (poolRef, bool) {
	parts := strings.Split(strings.TrimSuffix(strings.TrimPrefix(p, "/"), "/"), "/")
	if len(parts) != 9 && len(parts) != 10 {
		return poolRef{}, false
	}
	keywords := map[int]string{0: "subscriptions", 2: "resourceGroups", 4: "providers", 5: "Microsoft.ContainerService", 6: "managedClusters", 8: "agentPools"}
	for i, part := range parts {
		if k, ok := keywords[i]; ok && !strings.EqualFold(part, k) || part == "" {
			return poolRef{}, false
		}
	}
	r := poolRef{sub: parts[1], rg: parts[3], cluster: parts[7], path: p}
	if len(parts) == 10 {
		r.pool = parts[9]
	}
	return r, true
}

var apiVersionRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(-preview)?$`)

// showsCustomCATrust: agent pools have properties.enableCustomCATrust up
// to api-version 2025-08-02-preview, in preview versions only; later ones
// neither show it nor take it.
func showsCustomCATrust(apiVersion string) bool {
	date, preview := strings.CutSuffix(apiVersion, "-preview")
	return preview && date <= "2025-08-02"
}

// poolView is the pool as ARM returns it at apiVersion.
func poolView(p *agentPool, apiVersion string) map[string]any {
	if showsCustomCATrust(apiVersion) {
		return p.obj
	}
	out := make(map[string]any, len(p.obj))
	for k, v := range p.obj {
		out[k] = v
	}
	if props, ok := p.obj["properties"].(map[string]any); ok {
		cp := make(map[string]any, len(props))
		for k, v := range props {
			if k != "enableCustomCATrust" {
				cp[k] = v
			}
		}
		out["properties"] = cp
	}
	return out
}

// rest answers az rest --method get --url …/agentPools[/POOL]?api-version=V.
// Its errors are az rest's: the HTTP reason and ARM's body, exit 1.
func rest(args []string) int {
	f, err := parseFlags(args,
		flagSpec{names: []string{"--method", "-m"}},
		flagSpec{names: []string{"--url", "--uri", "-u"}, required: true})
	if err != nil {
		return report(argError("%v", err), true)
	}
	if m := f.vals["--method"]; m != "" && !strings.EqualFold(m, "get") {
		return report(argError("fakeaz answers az rest --method get only, not %q", m), true)
	}
	raw := f.vals["--url"]
	if !strings.Contains(raw, "://") {
		raw = armEndpoint + raw
	}
	u, err := url.Parse(raw)
	var ref poolRef
	ok := err == nil && strings.EqualFold(u.Scheme+"://"+u.Host, armEndpoint)
	if ok {
		ref, ok = parsePoolPath(u.Path)
	}
	if !ok {
		return report(argError("fakeaz answers az rest only for %s/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.ContainerService/managedClusters/NAME/agentPools[/POOL]?api-version=V, not %q", armEndpoint, f.vals["--url"]), true)
	}
	if loggedOut() {
		return report(errNotLoggedIn, true)
	}
	q := u.Query()
	if !q.Has("api-version") {
		return report(missingAPIVersion(), true)
	}
	apiVersion := q.Get("api-version")
	if !apiVersionRE.MatchString(apiVersion) {
		return report(invalidAPIVersion(apiVersion), true)
	}
	var out any
	err = openStore().withCluster(ref.target(), poolRead, ref.path, []string{"no-permission"}, func(c *cluster) error {
		if ref.pool == "" {
			pools, err := c.pools()
			if err != nil {
				return err
			}
			value := make([]any, len(pools))
			for i, p := range pools {
				value[i] = poolView(p, apiVersion)
			}
			out = map[string]any{"value": value}
			return nil
		}
		p, err := c.pool(ref.pool)
		if err != nil {
			return err
		}
		if p == nil {
			return ref.notFound()
		}
		out = poolView(p, apiVersion)
		return nil
	})
	if err != nil {
		return report(err, true)
	}
	return printJSON(out)
}

// resourceUpdate answers az resource update --ids POOL_ID --api-version V
// --set properties.enableCustomCATrust=true|false: az reads the pool, sets
// the property and sends it back.
func resourceUpdate(args []string) int {
	f, err := parseFlags(args,
		flagSpec{names: []string{"--ids"}, kind: listFlag, required: true},
		flagSpec{names: []string{"--api-version"}},
		flagSpec{names: []string{"--set"}, kind: listFlag})
	if err != nil {
		return report(argError("%v", err), false)
	}
	ids := f.lists["--ids"]
	if len(ids) != 1 {
		return report(argError("fakeaz updates one resource at a time, not --ids %s", strings.Join(ids, " ")), false)
	}
	ref, ok := parsePoolPath(ids[0])
	if !ok || ref.pool == "" {
		return report(argError("fakeaz's az resource update knows agent pools only (…/managedClusters/NAME/agentPools/POOL), not %q", ids[0]), false)
	}
	apiVersion := f.vals["--api-version"]
	if apiVersion == "" {
		return report(argError("fakeaz's az resource update needs --api-version"), false)
	}
	sets := f.lists["--set"]
	if len(sets) == 0 {
		return report(argError("fakeaz's az resource update sets properties.enableCustomCATrust only: --set properties.enableCustomCATrust=true|false"), false)
	}
	var enable bool
	for _, s := range sets {
		k, v, _ := strings.Cut(s, "=")
		if !strings.EqualFold(k, "properties.enableCustomCATrust") || v != "true" && v != "false" {
			return report(argError("fakeaz's az resource update sets properties.enableCustomCATrust=true|false only, not --set %s", s), false)
		}
		enable = v == "true"
	}
	if loggedOut() {
		return report(errNotLoggedIn, false)
	}
	if !apiVersionRE.MatchString(apiVersion) {
		return report(invalidAPIVersion(apiVersion), false)
	}
	var out any
	err = openStore().withCluster(ref.target(), poolRead, ref.path, []string{"no-permission"}, func(c *cluster) error {
		p, err := c.pool(ref.pool)
		if err != nil {
			return err
		}
		if p == nil {
			return ref.notFound()
		}
		// The PUT.
		if err := denied(c.dir, poolWrite, ref.path, "no-permission", "no-write-permission"); err != nil {
			return err
		}
		if c.op != nil {
			return operationNotAllowed(c.op)
		}
		props := p.props()
		prof := c.profile(p.name())
		if text, failed := poolFailure(c.dir, p.name()); failed {
			props["provisioningState"] = "Failed"
			if prof != nil {
				prof["provisioningState"] = "Failed"
			}
			if err := p.save(); err != nil {
				return err
			}
			if err := c.save(); err != nil {
				return err
			}
			code, msg := splitCode(text, "AgentPoolUpdateFailed")
			return &armError{code: code, message: msg}
		}
		etag := newUUID()
		props["enableCustomCATrust"] = enable
		props["provisioningState"] = "Succeeded"
		p.obj["eTag"] = etag
		if prof != nil {
			prof["provisioningState"] = "Succeeded"
			prof["eTag"] = etag
		}
		if err := p.save(); err != nil {
			return err
		}
		if err := c.save(); err != nil {
			return err
		}
		out = poolView(p, apiVersion)
		return nil
	})
	if err != nil {
		return report(err, false)
	}
	return printJSON(out)
}

// poolFailure is the agentpools/<pool>.fail marker's text: the pool's
// updates fail while it is there.
func poolFailure(dir, pool string) (string, bool) {
	data, err := os.ReadFile(filepath.Join(dir, poolsDir, strings.ToLower(pool)+".fail"))
	if err != nil {
		return "", false
	}
	text := strings.TrimSpace(string(data))
	if text == "" {
		text = fmt.Sprintf("Agent pool '%s' failed to update.", pool)
	}
	return text, true
}
