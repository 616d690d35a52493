package catrust

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubecerts/kubecerts/shared/aks"
	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/az"
	"github.com/kubecerts/kubecerts/shared/azname"
)

// AKSMax is the most CAs an AKS managed cluster's list may hold.
const AKSMax = 10

// aksReadTimeout bounds one az call that reads (aks show, aks list, rest).
const aksReadTimeout = 2 * time.Minute

// azCLI is what the aks store needs of the Azure CLI (shared/az.Runner).
type azCLI interface {
	// Run runs az with args and returns its standard output.
	Run(ctx context.Context, args ...string) ([]byte, error)
	// JSON runs az with args and decodes its standard output into v.
	JSON(ctx context.Context, v any, args ...string) error
}

// managedCluster is what ca-trust reads of `az aks show -o json`.
type managedCluster struct {
	ID                string `json:"id"`
	Name              string `json:"name"`
	ResourceGroup     string `json:"resourceGroup"`
	Fqdn              string `json:"fqdn"`
	PrivateFqdn       string `json:"privateFqdn"`
	AzurePortalFqdn   string `json:"azurePortalFqdn"`
	ETag              string `json:"eTag"`
	ProvisioningState string `json:"provisioningState"`
	SecurityProfile   *struct {
		CustomCATrustCertificates []string `json:"customCaTrustCertificates"`
	} `json:"securityProfile"`
	AgentPoolProfiles []struct {
		Name   string `json:"name"`
		OSType string `json:"osType"`
		Count  *int   `json:"count"`
	} `json:"agentPoolProfiles"`
}

// cas is the cluster's CA list: base64 of PEM, one CA each.
func (mc *managedCluster) cas() []string {
	if mc.SecurityProfile == nil {
		return nil
	}
	return mc.SecurityProfile.CustomCATrustCertificates
}

// replaced describes, for the plan, the nodes an update of the list
// replaces: every Linux node; Windows pools get no custom CAs.
func (mc *managedCluster) replaced() string {
	var linux, windows []string
	nodes := 0
	for _, p := range mc.AgentPoolProfiles {
		if strings.EqualFold(p.OSType, "windows") {
			windows = append(windows, p.Name)
			continue
		}
		linux = append(linux, p.Name)
		if p.Count != nil {
			nodes += *p.Count
		}
	}
	msg := "AKS will replace every Linux node of the cluster (a model update: new nodes with the new list, the old ones drained and deleted)"
	if len(linux) > 0 {
		msg = fmt.Sprintf("AKS will replace every Linux node of the cluster: %d node(s) of pool(s) %s (a model update: new nodes with the new list, the old ones drained and deleted)",
			nodes, strings.Join(linux, ", "))
	}
	if len(windows) > 0 {
		msg += fmt.Sprintf("; Windows pools (%s) do not get custom CAs", strings.Join(windows, ", "))
	}
	return msg
}

// aksStore reaches the custom CA list of an AKS managed cluster through az:
// securityProfile.customCATrustCertificates, read with az aks show and
// written with az aks update --custom-ca-trust-certificates FILE
// --if-match ETAG.
//
// The list is handed to the verbs as a secret whose keys ca1.crt … caN.crt
// hold its entries in order (the base64 taken off: the PEM), so that add,
// remove, sync, list, validate and export apply the same rules to both
// stores. A key names a position in the list as read; a write renumbers.
type aksStore struct {
	flags *storeFlags
	// host is the kubeconfig's API server host, to find the cluster by.
	host string
	// read runs az for reads (bounded each), write for the update (bounded
	// by the write's deadline).
	read, write azCLI

	ref api.AKSClusterRef
	// resolved is true once ref names the cluster (flags, or found).
	resolved bool
	// last is the cluster as last read.
	last *managedCluster
	// blocker is the last OperationNotAllowed met: the operation a write
	// waited for.
	blocker *az.Error
	// onResolve, when set, is called once the cluster is known.
	onResolve func(*aksStore)
	// unusable says why az cannot be run (--az-path not found): the error
	// of the first use.
	unusable error
}

// String names the list in messages.
func (a *aksStore) String() string {
	if !a.resolved {
		return "the CA list of the AKS cluster"
	}
	return "the CA list of AKS cluster " + a.ref.String()
}

// args are -g RG -n NAME and --subscription SUB when known.
func (a *aksStore) args() []string {
	out := []string{"-g", a.ref.ResourceGroup, "-n", a.ref.Name}
	if a.ref.Subscription != "" {
		out = append(out, "--subscription", a.ref.Subscription)
	}
	return out
}

// resolve names the cluster: --aks-id, --aks-resource-group and
// --aks-name, or else the one cluster az aks list shows with the API
// server's host as its fqdn, privateFqdn or azurePortalFqdn.
func (a *aksStore) resolve(ctx context.Context) error {
	if a.unusable != nil {
		return a.unusable
	}
	if a.resolved {
		return nil
	}
	switch {
	case a.flags.AKSID != "":
		id, err := azname.ParseManagedClusterID(a.flags.AKSID)
		if err != nil {
			return fmt.Errorf("--aks-id: %w", err)
		}
		a.ref = api.AKSClusterRef{Subscription: id.Subscription, ResourceGroup: id.ResourceGroup, Name: id.Name, ID: id.String()}
	case a.flags.AKSResourceGroup != "":
		a.ref = api.AKSClusterRef{Subscription: a.flags.Subscription, ResourceGroup: a.flags.AKSResourceGroup, Name: a.flags.AKSName}
	default:
		ref, err := a.discover(ctx)
		if err != nil {
			return err
		}
		a.ref = ref
	}
	a.resolved = true
	if a.onResolve != nil {
		a.onResolve(a)
	}
	return nil
}

// discover finds the cluster whose API server is a.host.
func (a *aksStore) discover(ctx context.Context) (api.AKSClusterRef, error) {
	within := "az's default subscription"
	if a.flags.Subscription != "" {
		within = "subscription " + a.flags.Subscription
	}
	mc, err := aks.FindByHost(ctx, a.read, a.host, a.flags.Subscription)
	var notFound *aks.NotFoundError
	var ambiguous *aks.AmbiguousError
	switch {
	case errors.As(err, &notFound):
		return api.AKSClusterRef{}, fmt.Errorf("no AKS cluster in %s (az aks list: %d cluster(s)) has API server %s as its fqdn, privateFqdn or azurePortalFqdn: "+
			"give --aks-resource-group and --aks-name, or --aks-id, or --subscription for another subscription", within, notFound.Listed, a.host)
	case errors.As(err, &ambiguous):
		return api.AKSClusterRef{}, fmt.Errorf("%d AKS clusters in %s have API server %s (%s): give --aks-id to say which", len(ambiguous.IDs), within, a.host, strings.Join(ambiguous.IDs, ", "))
	case err != nil:
		return api.AKSClusterRef{}, fmt.Errorf("finding the AKS cluster of API server %s: %w", a.host, err)
	}
	id, err := azname.ParseManagedClusterID(mc.ID)
	if err != nil {
		return api.AKSClusterRef{}, fmt.Errorf("az aks list: the cluster of API server %s: %w", a.host, err)
	}
	return api.AKSClusterRef{Subscription: id.Subscription, ResourceGroup: id.ResourceGroup, Name: id.Name, ID: mc.ID}, nil
}

// show reads the managed cluster.
func (a *aksStore) show(ctx context.Context) (*managedCluster, error) {
	if err := a.resolve(ctx); err != nil {
		return nil, err
	}
	var mc managedCluster
	if err := a.read.JSON(ctx, &mc, append([]string{"aks", "show"}, append(a.args(), "-o", "json")...)...); err != nil {
		return nil, fmt.Errorf("reading AKS cluster %s: %w", a.ref, err)
	}
	// The ID goes into later az calls (migrate's az rest URLs): it must be
	// a managed cluster's, and this one's.
	id, err := azname.ParseManagedClusterID(mc.ID)
	if err != nil {
		return nil, fmt.Errorf("az aks show %s: %w", a.ref, err)
	}
	if !strings.EqualFold(id.ResourceGroup, a.ref.ResourceGroup) || !strings.EqualFold(id.Name, a.ref.Name) {
		return nil, fmt.Errorf("az aks show %s answered for another cluster, %s", a.ref, mc.ID)
	}
	a.ref.ID, a.ref.Subscription = mc.ID, id.Subscription
	a.last = &mc
	return &mc, nil
}

// get reads the cluster and returns its list as a secret (see aksStore).
func (a *aksStore) get(ctx context.Context) (*corev1.Secret, error) {
	mc, err := a.show(ctx)
	if err != nil {
		return nil, err
	}
	return listAsSecret(mc.cas()), nil
}

// listAsSecret holds each entry of the list under caN.crt (N from 1), its
// base64 taken off; an entry that is not base64 is kept as it is, which
// the verbs then report as unreadable.
func listAsSecret(cas []string) *corev1.Secret {
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "customCATrustCertificates"}, Type: corev1.SecretTypeOpaque, Data: map[string][]byte{}}
	for i, v := range cas {
		data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
		if err != nil {
			data = []byte(v)
		}
		sec.Data[fmt.Sprintf("ca%d.crt", i+1)] = data
	}
	return sec
}

// listFile is the file az aks update --custom-ca-trust-certificates takes
// for desired (the list as a secret): each certificate once, in key order,
// as LF PEM blocks separated by one blank line. An entry that does not
// hold a readable certificate cannot be carried over: an error.
func (a *aksStore) listFile(desired *corev1.Secret) ([]byte, int, error) {
	var certs []*x509.Certificate
	for _, kc := range readKeys(desired) {
		if kc.err != nil {
			return nil, 0, fmt.Errorf("%s: entry %s does not hold a readable certificate (%v) and cannot be written back: remove it (kubectl ca-trust remove %s --store aks); nothing was written",
				a, kc.key, kc.err, kc.key)
		}
		certs = append(certs, kc.certs...)
	}
	if len(certs) > AKSMax {
		return nil, 0, fmt.Errorf("%s would hold %d certificates, over AKS's limit of %d; nothing was written", a, len(certs), AKSMax)
	}
	return FormatBundle(certs), len(certs), nil
}

// update sends the list file with --if-match etag. Without noWait az waits
// until AKS has replaced the nodes and prints the cluster; with it, az
// returns at once and prints nothing. The file is written to a private
// temporary directory and removed afterwards.
func (a *aksStore) update(ctx context.Context, file []byte, etag string, noWait bool) (*managedCluster, error) {
	dir, err := os.MkdirTemp("", "kubectl-ca-trust-")
	if err != nil {
		return nil, fmt.Errorf("writing the CA list file for az: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "custom-ca-trust-certificates.pem")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		return nil, fmt.Errorf("writing the CA list file for az: %w", err)
	}
	args := append([]string{"aks", "update"}, a.args()...)
	args = append(args, "--custom-ca-trust-certificates", path, "--if-match", etag, "-o", "json")
	if noWait {
		args = append(args, "--no-wait")
	}
	if noWait {
		_, err := a.write.Run(ctx, args...)
		return nil, err
	}
	var mc managedCluster
	if err := a.write.JSON(ctx, &mc, args...); err != nil {
		return nil, err
	}
	a.last = &mc
	return &mc, nil
}

// busyStates are provisioning states of a cluster with an operation
// running; any other (Succeeded, Failed, Canceled) means none is.
var busyStates = map[string]bool{
	"updating": true, "upgrading": true, "creating": true, "scaling": true, "deleting": true,
	"starting": true, "stopping": true, "migrating": true, "canceling": true, "reconciling": true,
}

// waitIdle polls the cluster until no operation runs on it, pacing the
// reads from one second up to thirty; ctx bounds the wait. It returns the
// cluster as last read; waited is false when the first read found none
// running.
func (a *aksStore) waitIdle(ctx context.Context) (mc *managedCluster, waited bool, err error) {
	delay := time.Second
	for {
		if mc, err = a.show(ctx); err != nil {
			return nil, waited, err
		}
		if !busyStates[strings.ToLower(mc.ProvisioningState)] {
			return mc, waited, nil
		}
		waited = true
		if err := sleepCtx(ctx, delay); err != nil {
			return nil, waited, err
		}
		if delay = delay * 3 / 2; delay > 30*time.Second {
			delay = 30 * time.Second
		}
	}
}
