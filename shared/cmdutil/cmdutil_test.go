package cmdutil

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	kubectl "k8s.io/kubectl/pkg/cmd/util"
)

// kubectl's Factory is a Factory, so kubectl's test factory serves tests.
var _ Factory = kubectl.Factory(nil)

// The dry-run flag and its reading are kubectl's.
func TestDryRunAsKubectl(t *testing.T) {
	for _, args := range [][]string{nil, {"--dry-run"}, {"--dry-run=client"}, {"--dry-run=server"}, {"--dry-run=none"},
		{"--dry-run=true"}, {"--dry-run=false"}, {"--dry-run=1"}, {"--dry-run=F"}, {"--dry-run=TRUE"}, {"--dry-run=bogus"}, {"--dry-run="}, {"--dry-run=unchanged"}} {
		ours, theirs := &cobra.Command{Use: "x"}, &cobra.Command{Use: "x"}
		AddDryRunFlag(ours)
		kubectl.AddDryRunFlag(theirs)
		if o, k := ours.Flags().Lookup("dry-run"), theirs.Flags().Lookup("dry-run"); o.Usage != k.Usage || o.DefValue != k.DefValue ||
			o.NoOptDefVal != k.NoOptDefVal || o.Value.Type() != k.Value.Type() {
			t.Fatalf("--dry-run flag %+v, kubectl's %+v", o, k)
		}
		if err := ours.ParseFlags(args); err != nil {
			t.Fatal(err)
		}
		if err := theirs.ParseFlags(args); err != nil {
			t.Fatal(err)
		}
		got, err := GetDryRunStrategy(ours)
		want, wantErr := kubectl.GetDryRunStrategy(theirs)
		if int(got) != int(want) || fmt.Sprint(err) != fmt.Sprint(wantErr) {
			t.Errorf("%q: %v, %v; kubectl: %v, %v", args, got, err, want, wantErr)
		}
	}
}

// The REST config and --match-server-version are kubectl's.
func TestMatchVersionFlagsAsKubectl(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/version" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"major":"1","minor":"37","gitVersion":"v1.37.2"}`)
	}))
	defer api.Close()
	kubeconfig := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "`+api.URL+`"}}]
users: [{name: u, user: {token: "t"}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, match := range []bool{false, true} {
		flags := func() *genericclioptions.ConfigFlags {
			f := genericclioptions.NewConfigFlags(true)
			f.KubeConfig = &kubeconfig
			return f
		}
		ours, theirs := NewMatchVersionFlags(flags()), kubectl.NewMatchVersionFlags(flags())
		ours.RequireMatchedServerVersion, theirs.RequireMatchedServerVersion = match, match
		got, err := NewFactory(ours).ToRESTConfig()
		want, wantErr := kubectl.NewFactory(theirs).ToRESTConfig()
		if fmt.Sprint(err) != fmt.Sprint(wantErr) {
			t.Fatalf("match %v: error %v, kubectl's %v", match, err, wantErr)
		}
		if err != nil {
			continue
		}
		if got.Host != want.Host || *got.GroupVersion != *want.GroupVersion || got.APIPath != want.APIPath ||
			got.UserAgent != want.UserAgent || got.BearerToken != want.BearerToken || got.NegotiatedSerializer == nil {
			t.Errorf("match %v: REST config %+v, kubectl's %+v", match, got, want)
		}
		if _, err := NewFactory(ours).KubernetesClientSet(); err != nil {
			t.Errorf("clientset: %v", err)
		}
	}
}
