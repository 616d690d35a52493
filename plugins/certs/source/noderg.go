package source

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kubecerts/kubecerts/shared/aks"
	"github.com/kubecerts/kubecerts/shared/az"
	"github.com/kubecerts/kubecerts/shared/azname"
)

// ResourceGroup names an Azure resource group: the nodes source runs its
// script only on VMs of the cluster's node resource groups.
type ResourceGroup struct {
	Subscription, Name string
}

// String is the group's resource ID.
func (g ResourceGroup) String() string {
	return "/subscriptions/" + g.Subscription + "/resourceGroups/" + g.Name
}

// holds reports whether vm is in g (Azure's names are case-insensitive).
func (g ResourceGroup) holds(vm AzureVM) bool {
	return strings.EqualFold(g.Subscription, vm.Subscription) && strings.EqualFold(g.Name, vm.ResourceGroup)
}

// ParseResourceGroupID reads /subscriptions/<subscription>/resourceGroups/<group>
// (segment names without regard to case), its names checked as az's
// arguments are.
func ParseResourceGroupID(s string) (ResourceGroup, error) {
	const form = "/subscriptions/<subscription>/resourceGroups/<group>"
	parts := strings.Split(strings.TrimPrefix(strings.TrimSuffix(s, "/"), "/"), "/")
	if !strings.HasPrefix(s, "/") || len(parts) != 4 || !strings.EqualFold(parts[0], "subscriptions") || !strings.EqualFold(parts[2], "resourceGroups") {
		return ResourceGroup{}, fmt.Errorf("resource group ID %q: not of the form %s", s, form)
	}
	g := ResourceGroup{Subscription: parts[1], Name: parts[3]}
	if err := azname.Subscription(g.Subscription); err != nil {
		return ResourceGroup{}, fmt.Errorf("resource group ID %q: %w", s, err)
	}
	if err := azname.ResourceGroup(g.Name); err != nil {
		return ResourceGroup{}, fmt.Errorf("resource group ID %q: %w", s, err)
	}
	return g, nil
}

// aksListTimeout bounds az aks list.
const aksListTimeout = 2 * time.Minute

// nodeResourceGroups are the resource groups whose VMs the script may run
// on: NodeResourceGroups when given, else the node resource group of the
// one AKS cluster `az aks list` shows with Scope.Host as its fqdn,
// privateFqdn or azurePortalFqdn, in the subscription of its ID. A Node's
// providerID is what registered the Node said: only Azure's own record of
// the cluster says which VMs are its nodes.
func (s *Nodes) nodeResourceGroups(ctx context.Context, azPath string) ([]ResourceGroup, error) {
	if len(s.NodeResourceGroups) > 0 {
		return s.NodeResourceGroups, nil
	}
	const give = "give --node-resource-group /subscriptions/<subscription>/resourceGroups/<group>, the resource group of the cluster's VMs"
	host := ""
	if s.Scope != nil {
		host = strings.TrimSuffix(s.Scope.Host, ".")
	}
	if host == "" {
		return nil, fmt.Errorf("cannot tell which resource group the cluster's VMs are in (no API server host to find the AKS cluster by): %s", give)
	}
	mc, err := aks.FindByHost(ctx, &az.Runner{Path: azPath, Timeout: aksListTimeout}, host, "")
	var notFound *aks.NotFoundError
	var ambiguous *aks.AmbiguousError
	switch {
	case errors.As(err, &notFound):
		return nil, fmt.Errorf("no AKS cluster in az's default subscription (az aks list: %d cluster(s)) has API server %s, so the VMs of the cluster's nodes are not known: %s", notFound.Listed, host, give)
	case errors.As(err, &ambiguous):
		return nil, fmt.Errorf("%d AKS clusters have API server %s (%s): %s", len(ambiguous.IDs), host, strings.Join(ambiguous.IDs, ", "), give)
	case err != nil:
		return nil, fmt.Errorf("finding the AKS cluster of API server %s, whose node resource group holds the VMs to run on: %w; or %s", host, err, give)
	}
	id, err := azname.ParseManagedClusterID(mc.ID)
	if err != nil {
		return nil, fmt.Errorf("az aks list: the cluster of API server %s: %w", host, err)
	}
	if err := azname.ResourceGroup(mc.NodeResourceGroup); err != nil {
		return nil, fmt.Errorf("az aks list: the node resource group of AKS cluster %s: %w", id, err)
	}
	return []ResourceGroup{{Subscription: id.Subscription, Name: mc.NodeResourceGroup}}, nil
}
