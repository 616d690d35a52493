package azname

import (
	"fmt"
	"strings"
)

// MaxManagedCluster is the longest AKS cluster name, in characters.
const MaxManagedCluster = 63

// ManagedCluster checks the name of an AKS managed cluster
// (Microsoft.ContainerService/managedClusters): 1 to 63 ASCII letters,
// digits, '_' and '-', starting and ending with a letter or digit.
func ManagedCluster(name string) error {
	const what = "AKS cluster"
	if err := common(what, name, MaxManagedCluster); err != nil {
		return err
	}
	for _, r := range name {
		if !isASCIIAlnum(r) && r != '_' && r != '-' {
			return badRune(what, name, r, "ASCII letters, digits, '_' and '-'")
		}
	}
	if !isASCIIAlnum(rune(name[0])) || !isASCIIAlnum(rune(name[len(name)-1])) {
		return fmt.Errorf("%s %q: must start and end with a letter or digit", what, name)
	}
	return nil
}

// MaxAgentPool is the longest AKS node pool name, in characters.
const MaxAgentPool = 12

// AgentPool checks the name of an AKS node pool
// (managedClusters/agentPools): 1 to 12 lower-case ASCII letters and
// digits, starting with a letter.
func AgentPool(name string) error {
	const what = "node pool"
	if err := common(what, name, MaxAgentPool); err != nil {
		return err
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return badRune(what, name, r, "lower-case ASCII letters and digits")
		}
	}
	if name[0] < 'a' || name[0] > 'z' {
		return fmt.Errorf("%s %q: must start with a lower-case letter", what, name)
	}
	return nil
}

// ManagedClusterID is an AKS managed cluster's resource ID, read by
// ParseManagedClusterID.
type ManagedClusterID struct {
	Subscription, ResourceGroup, Name string
}

// String is the ID in Azure's form.
func (id ManagedClusterID) String() string {
	return "/subscriptions/" + id.Subscription + "/resourceGroups/" + id.ResourceGroup +
		"/providers/Microsoft.ContainerService/managedClusters/" + id.Name
}

// ParseManagedClusterID reads
// /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.ContainerService/managedClusters/<name>
// (segment names matched without regard to case, as Azure does) and checks
// each name.
func ParseManagedClusterID(s string) (ManagedClusterID, error) {
	const form = "/subscriptions/<subscription>/resourceGroups/<group>/providers/Microsoft.ContainerService/managedClusters/<name>"
	parts := strings.Split(strings.TrimPrefix(strings.TrimSuffix(s, "/"), "/"), "/")
	if !strings.HasPrefix(s, "/") || len(parts) != 8 {
		return ManagedClusterID{}, fmt.Errorf("AKS cluster ID %s: not of the form %s", clipQuote(s, 200), form)
	}
	for i, want := range []string{"subscriptions", "", "resourceGroups", "", "providers", "Microsoft.ContainerService", "managedClusters"} {
		if want != "" && !strings.EqualFold(parts[i], want) {
			return ManagedClusterID{}, fmt.Errorf("AKS cluster ID %s: segment %d is %q, not %s (the form is %s)", clipQuote(s, 200), i+1, parts[i], want, form)
		}
	}
	id := ManagedClusterID{Subscription: parts[1], ResourceGroup: parts[3], Name: parts[7]}
	for _, err := range []error{Subscription(id.Subscription), ResourceGroup(id.ResourceGroup), ManagedCluster(id.Name)} {
		if err != nil {
			return ManagedClusterID{}, fmt.Errorf("AKS cluster ID %s: %w", clipQuote(s, 200), err)
		}
	}
	return id, nil
}

// AgentPoolID checks that s is the resource ID of a node pool of cluster:
// <cluster ID>/agentPools/<pool>, with a valid pool name. It returns the
// pool's name.
func AgentPoolID(cluster ManagedClusterID, s string) (string, error) {
	prefix := cluster.String() + "/agentPools/"
	if len(s) <= len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return "", fmt.Errorf("node pool ID %s: not a node pool of %s", clipQuote(s, 200), cluster)
	}
	name := s[len(prefix):]
	if err := AgentPool(name); err != nil {
		return "", fmt.Errorf("node pool ID %s: %w", clipQuote(s, 200), err)
	}
	return name, nil
}
