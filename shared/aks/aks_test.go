package aks

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
)

// fakeCLI answers az aks list with clusters, or err, and keeps the args.
type fakeCLI struct {
	clusters string
	err      error
	args     []string
}

func (f *fakeCLI) JSON(_ context.Context, v any, args ...string) error {
	f.args = args
	if f.err != nil {
		return f.err
	}
	return json.Unmarshal([]byte(f.clusters), v)
}

func TestFindByHost(t *testing.T) {
	const list = `[
	 {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/a", "fqdn": "a.hcp.example.", "nodeResourceGroup": "MC_a"},
	 {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/b", "privateFqdn": "b.private.example", "nodeResourceGroup": "MC_b"},
	 {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c2", "azurePortalFqdn": "shared.example"},
	 {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1", "fqdn": "shared.example"}]`
	azErr := errors.New("az: not logged in")
	tests := []struct {
		name, host, sub string
		err             error
		wantNRG         string
		wantErr         func(error) bool
	}{
		{name: "fqdn, case and trailing dots ignored", host: "A.hcp.example.", wantNRG: "MC_a"},
		{name: "privateFqdn", host: "b.private.example", wantNRG: "MC_b"},
		{name: "none", host: "10.0.0.1", wantErr: func(err error) bool {
			var e *NotFoundError
			return errors.As(err, &e) && e.Listed == 4 && e.Host == "10.0.0.1"
		}},
		{name: "several, ids sorted", host: "shared.example", wantErr: func(err error) bool {
			var e *AmbiguousError
			return errors.As(err, &e) && len(e.IDs) == 2 && e.IDs[0] < e.IDs[1]
		}},
		{name: "az's error as it is", host: "a.hcp.example", err: azErr, wantErr: func(err error) bool { return err == azErr }},
		{name: "in a subscription", host: "a.hcp.example", sub: "8ecadfc9-d1a3-4ea4-b844-0d9f87e4d7c8", wantNRG: "MC_a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cli := &fakeCLI{clusters: list, err: tt.err}
			got, err := FindByHost(t.Context(), cli, tt.host, tt.sub)
			switch {
			case tt.wantErr != nil && !tt.wantErr(err):
				t.Errorf("error %v", err)
			case tt.wantErr == nil && (err != nil || got.NodeResourceGroup != tt.wantNRG):
				t.Errorf("got %+v, %v; want node resource group %s", got, err, tt.wantNRG)
			}
			want := []string{"aks", "list", "-o", "json"}
			if tt.sub != "" {
				want = append(want, "--subscription", tt.sub)
			}
			if !slices.Equal(cli.args, want) {
				t.Errorf("az %v, want %v", cli.args, want)
			}
		})
	}
}
