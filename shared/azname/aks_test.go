package azname

import (
	"strings"
	"testing"
)

func TestManagedCluster(t *testing.T) {
	for _, tc := range []struct {
		name, wantErr string
	}{
		{"prod-aks_1", ""},
		{"a", ""},
		{strings.Repeat("a", 63), ""},
		{"", "name is empty"},
		{strings.Repeat("a", 64), "longer than Azure's 63"},
		{"-prod", "must start and end"},
		{"prod_", "must start and end"},
		{"@token", "starts with '@'"},
		{"prod.aks", "has '.'"},
		{"prod/aks", "has '/'"},
	} {
		err := ManagedCluster(tc.name)
		if (tc.wantErr == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("ManagedCluster(%q) = %v, want %q", tc.name, err, tc.wantErr)
		}
	}
}

func TestAgentPool(t *testing.T) {
	for _, tc := range []struct {
		name, wantErr string
	}{
		{"nodepool1", ""},
		{"np", ""},
		{"Nodepool", "has 'N'"},
		{"1pool", "must start with a lower-case letter"},
		{"averylongpoolname", "longer than Azure's 12"},
		{"@pool", "starts with '@'"},
		{"", "name is empty"},
	} {
		err := AgentPool(tc.name)
		if (tc.wantErr == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("AgentPool(%q) = %v, want %q", tc.name, err, tc.wantErr)
		}
	}
}

func TestParseManagedClusterID(t *testing.T) {
	const sub = "8ecadfc9-d1a3-4ea4-b844-0d9f87e4d7c8"
	good := "/subscriptions/" + sub + "/resourcegroups/rg-prod/providers/Microsoft.ContainerService/managedClusters/aks1"
	id, err := ParseManagedClusterID(good)
	if err != nil || id.Subscription != sub || id.ResourceGroup != "rg-prod" || id.Name != "aks1" {
		t.Fatalf("ParseManagedClusterID(good) = %+v, %v", id, err)
	}
	if got := id.String(); !strings.EqualFold(got, good) {
		t.Errorf("String() = %q, want %q", got, good)
	}
	for _, tc := range []struct{ id, wantErr string }{
		{"subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/a", "not of the form"},
		{"/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.Compute/managedClusters/a", "segment 6"},
		{"/subscriptions/nope/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/a", "not a subscription ID"},
		{"/subscriptions/" + sub + "/resourceGroups/@rg/providers/Microsoft.ContainerService/managedClusters/a", "starts with '@'"},
		{"/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/a/agentPools/x", "not of the form"},
	} {
		if _, err := ParseManagedClusterID(tc.id); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("ParseManagedClusterID(%q) = %v, want %q", tc.id, err, tc.wantErr)
		}
	}
	if name, err := AgentPoolID(id, strings.ToLower(good)+"/agentPools/np1"); err != nil || name != "np1" {
		t.Errorf("AgentPoolID = %q, %v", name, err)
	}
	for _, bad := range []string{good + "/agentPools/", good + "/agentPools/NP", "/subscriptions/" + sub + "/resourceGroups/other/providers/Microsoft.ContainerService/managedClusters/aks1/agentPools/np1"} {
		if _, err := AgentPoolID(id, bad); err == nil {
			t.Errorf("AgentPoolID(%q) = nil error", bad)
		}
	}
}
