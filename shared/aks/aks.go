// Package aks finds an AKS managed cluster by the host its API server
// answers to, among those `az aks list` prints: how ca-trust finds the
// cluster whose CA list it manages, and the nodes source the node resource
// group its VMs are in, from the kubeconfig alone.
package aks

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// Listed is what the plugins read of one cluster of `az aks list -o json`.
type Listed struct {
	ID                string `json:"id"`
	Fqdn              string `json:"fqdn"`
	PrivateFqdn       string `json:"privateFqdn"`
	AzurePortalFqdn   string `json:"azurePortalFqdn"`
	NodeResourceGroup string `json:"nodeResourceGroup"`
}

// Hosts are the API server names the cluster answers to.
func (c Listed) Hosts() []string {
	var out []string
	for _, h := range []string{c.Fqdn, c.PrivateFqdn, c.AzurePortalFqdn} {
		if h != "" {
			out = append(out, h)
		}
	}
	return out
}

// CLI runs az and decodes its standard output (shared/az.Runner).
type CLI interface {
	JSON(ctx context.Context, v any, args ...string) error
}

// NotFoundError is FindByHost's error when no cluster has the host.
type NotFoundError struct {
	Host   string
	Listed int // clusters az aks list printed
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("no AKS cluster (az aks list: %d cluster(s)) has API server %s as its fqdn, privateFqdn or azurePortalFqdn", e.Listed, e.Host)
}

// AmbiguousError is FindByHost's error when several clusters have it.
type AmbiguousError struct {
	Host string
	IDs  []string // sorted
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("%d AKS clusters have API server %s (%s)", len(e.IDs), e.Host, strings.Join(e.IDs, ", "))
}

// FindByHost runs `az aks list -o json` (in subscription sub when given,
// else az's default) and returns the one cluster whose fqdn, privateFqdn or
// azurePortalFqdn is host (without case, one trailing dot ignored). Its
// errors: az's, as they are; *NotFoundError; *AmbiguousError.
func FindByHost(ctx context.Context, cli CLI, host, sub string) (Listed, error) {
	args := []string{"aks", "list", "-o", "json"}
	if sub != "" {
		args = append(args, "--subscription", sub)
	}
	var clusters []Listed
	if err := cli.JSON(ctx, &clusters, args...); err != nil {
		return Listed{}, err
	}
	host = strings.TrimSuffix(host, ".")
	var matches []Listed
	for _, c := range clusters {
		for _, h := range c.Hosts() {
			if strings.EqualFold(strings.TrimSuffix(h, "."), host) {
				matches = append(matches, c)
				break
			}
		}
	}
	switch len(matches) {
	case 0:
		return Listed{}, &NotFoundError{Host: host, Listed: len(clusters)}
	case 1:
		return matches[0], nil
	}
	ids := make([]string, len(matches))
	for i, c := range matches {
		ids[i] = c.ID
	}
	sort.Strings(ids)
	return Listed{}, &AmbiguousError{Host: host, IDs: ids}
}
