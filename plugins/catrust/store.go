package catrust

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/az"
	"github.com/kubecerts/kubecerts/shared/azname"
	"github.com/kubecerts/kubecerts/shared/cli"
	"github.com/kubecerts/kubecerts/shared/cmdutil"
)

// Where ca-trust keeps the CAs (--store): the trust secret, the custom CA
// list of an AKS managed cluster, or whichever the kubeconfig's API server
// calls for.
const (
	storeSecret = api.CATrustStoreSecret
	storeAKS    = api.CATrustStoreAKS
	storeAuto   = "auto"
)

// aksHostSuffix ends the names of AKS API servers: public
// (<prefix>-<hash>.hcp.<region>.azmk8s.io) and private link
// (….privatelink.<region>.azmk8s.io).
const aksHostSuffix = ".azmk8s.io"

// isAKSHost reports whether host (no port) names an AKS API server.
func isAKSHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return strings.HasSuffix(host, aksHostSuffix) && len(host) > len(aksHostSuffix)
}

// retiredNote says why the secret no longer works on AKS.
const retiredNote = "AKS no longer reads the trust secret: the node-pool property enableCustomCATrust it relied on was retired on 14 September 2026"

// storeFlags are --store and the flags that name an AKS managed cluster.
type storeFlags struct {
	Store            string
	AKSResourceGroup string
	AKSName          string
	AKSID            string
	Subscription     string
	AzPath           string
}

// addStoreFlags binds --store, the AKS cluster's flags and --az-path.
func (s *secretOptions) addStoreFlags(cmd *cobra.Command) {
	if s.Store == "" {
		s.Store = storeAuto
	}
	if s.AzPath == "" {
		s.AzPath = az.DefaultPath
	}
	fl := cmd.Flags()
	fl.StringVar(&s.Store, "store", s.Store, "Where the CAs are kept: secret (the trust secret), aks (the AKS managed cluster's list, through az), or auto: aks when the kubeconfig's API server is AKS's (a host under azmk8s.io) or an --aks-* flag is given, else secret.")
	fl.StringVar(&s.AKSResourceGroup, "aks-resource-group", "", "Store aks: the managed cluster's resource group (with --aks-name). Default: found with az aks list by the API server's host.")
	fl.StringVar(&s.AKSName, "aks-name", "", "Store aks: the managed cluster's name (with --aks-resource-group).")
	fl.StringVar(&s.AKSID, "aks-id", "", "Store aks: the managed cluster's resource ID (/subscriptions/…/resourceGroups/…/providers/Microsoft.ContainerService/managedClusters/…), instead of --aks-resource-group and --aks-name.")
	fl.StringVar(&s.Subscription, "subscription", "", "Store aks: the subscription ID of the managed cluster; default: az's (az account show).")
	fl.StringVar(&s.AzPath, "az-path", s.AzPath, "Store aks: the Azure CLI to run (a path, or a name looked up on PATH).")
}

// completeStore resolves --store auto from the kubeconfig's API server
// host (nothing is dialled) and sets up the aks store.
func (s *secretOptions) completeStore(f cmdutil.Factory) {
	if cfg, err := f.ToRawKubeConfigLoader().ClientConfig(); err == nil {
		s.serverHost = cmdutil.ServerHost(cfg.Host)
	}
	s.store = s.Store
	switch s.Store {
	case storeAuto, "":
		switch {
		case s.aksFlagsGiven():
			s.store, s.storeReason = storeAKS, "--store auto: an --aks-* flag is given"
		case isAKSHost(s.serverHost):
			s.store, s.storeReason = storeAKS, fmt.Sprintf("--store auto: the API server %s is AKS's", s.serverHost)
		default:
			s.store, s.storeReason = storeSecret, "--store auto: the API server is not AKS's"
		}
	}
	if s.store != storeAKS {
		return
	}
	if s.aks == nil {
		read := &az.Runner{Path: s.AzPath, Timeout: aksReadTimeout}
		// An az not found is said on first use, after the usage errors.
		unusable := read.Resolve()
		s.aks = &aksStore{read: read, write: &az.Runner{Path: read.Path, TimeoutHint: "--request-timeout"}, unusable: unusable}
	}
	s.aks.flags, s.aks.host = &s.storeFlags, s.serverHost
}

// aksFlagsGiven reports whether any flag naming an AKS cluster is set.
func (s *secretOptions) aksFlagsGiven() bool {
	return s.AKSResourceGroup != "" || s.AKSName != "" || s.AKSID != ""
}

// validateStore checks --store and the AKS cluster's flags.
func (s *secretOptions) validateStore(cmd *cobra.Command) error {
	switch s.Store {
	case storeAuto, storeSecret, storeAKS, "":
	default:
		return cli.UsageErrorf(cmd, "--store %q: give secret, aks or auto", s.Store)
	}
	if s.store == storeSecret && s.aksFlagsGiven() {
		return cli.UsageErrorf(cmd, "--aks-resource-group, --aks-name and --aks-id name an AKS cluster, for --store aks; --store is secret")
	}
	if s.store != storeAKS {
		return nil
	}
	if s.AzPath == "" {
		return cli.UsageErrorf(cmd, "--az-path must not be empty")
	}
	if f := cmd.Flags().Lookup("secret"); f != nil && f.Changed && cmd.Name() != "migrate" {
		return cli.UsageErrorf(cmd, "--secret names the trust secret; the store is aks (%s), which has none: give --store secret to use the secret", s.storeReasonOr())
	}
	if s.AKSID != "" {
		if s.AKSResourceGroup != "" || s.AKSName != "" {
			return cli.UsageErrorf(cmd, "--aks-id and --aks-resource-group/--aks-name exclude each other")
		}
		id, err := azname.ParseManagedClusterID(s.AKSID)
		if err != nil {
			return cli.UsageErrorf(cmd, "--aks-id: %v", err)
		}
		if s.Subscription != "" && !strings.EqualFold(s.Subscription, id.Subscription) {
			return cli.UsageErrorf(cmd, "--subscription %s differs from the subscription of --aks-id (%s)", s.Subscription, id.Subscription)
		}
	}
	if (s.AKSResourceGroup == "") != (s.AKSName == "") {
		return cli.UsageErrorf(cmd, "give --aks-resource-group and --aks-name together (or --aks-id, or neither to find the cluster by the API server's host)")
	}
	if s.AKSResourceGroup != "" {
		if err := azname.ResourceGroup(s.AKSResourceGroup); err != nil {
			return cli.UsageErrorf(cmd, "--aks-resource-group: %v", err)
		}
		if err := azname.ManagedCluster(s.AKSName); err != nil {
			return cli.UsageErrorf(cmd, "--aks-name: %v", err)
		}
	}
	if s.Subscription != "" {
		if err := azname.Subscription(s.Subscription); err != nil {
			return cli.UsageErrorf(cmd, "--subscription: %v", err)
		}
	}
	if s.AKSID == "" && s.AKSResourceGroup == "" && s.serverHost == "" {
		return cli.UsageErrorf(cmd, "no API server host in the kubeconfig to find the AKS cluster by: give --aks-resource-group and --aks-name, or --aks-id")
	}
	return nil
}

func (s *secretOptions) storeReasonOr() string {
	if s.storeReason != "" {
		return s.storeReason
	}
	return "--store aks"
}

// isAKS reports whether the store is the AKS managed cluster's list.
func (s *secretOptions) isAKS() bool { return s.store == storeAKS }

// storeName is secret or aks, for the JSON's store field.
func (s *secretOptions) storeName() string {
	if s.isAKS() {
		return storeAKS
	}
	return storeSecret
}

// location names a certificate key of the store for reports:
// secret/<ns>/<name>/<key>, or aks/<resource group>/<cluster>/<key>.
func (s *secretOptions) location(key string) string {
	if s.isAKS() {
		return fmt.Sprintf("aks/%s/%s", s.aks.ref, key)
	}
	return fmt.Sprintf("secret/%s/%s", s.ref, key)
}

// sourceName is the report source of the store's certificates.
func (s *secretOptions) sourceName() string {
	if s.isAKS() {
		return "aks"
	}
	return "secrets"
}

// printStoreNotes tells people when the store is the AKS cluster's list,
// and warns when the secret is used on an AKS cluster, which no longer
// reads it. The secret store elsewhere, the default as it always was, goes
// without a note (the JSON's store field says it).
func (s *secretOptions) printStoreNotes(errOut io.Writer, machine bool) {
	if s.store == storeSecret && isAKSHost(s.serverHost) {
		fmt.Fprintf(errOut, "warning: %s; %s is not installed on any node: use --store aks, and move its CAs with kubectl ca-trust migrate\n", retiredNote, s)
	}
	if machine || s.store != storeAKS {
		return
	}
	reason := s.storeReason
	if reason == "" {
		reason = "--store " + s.store
	}
	// Printed once the cluster is known, naming it; an error finding it
	// comes alone.
	s.aks.onResolve = func(a *aksStore) { fmt.Fprintf(errOut, "note: store %s: %s (%s)\n", s.store, a, reason) }
}
