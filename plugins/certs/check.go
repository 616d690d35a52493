package certs

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kubecerts/kubecerts/shared/tlsprobe"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubecerts/kubecerts/plugins/certs/source"
	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/cli"
	"github.com/kubecerts/kubecerts/shared/cmdutil"
	"github.com/kubecerts/kubecerts/shared/duration"
	"github.com/kubecerts/kubecerts/shared/exitcode"
	"github.com/kubecerts/kubecerts/shared/expiry"
	"github.com/kubecerts/kubecerts/shared/lazyregexp"
	"github.com/kubecerts/kubecerts/shared/printing"
)

// Source names --source takes.
const (
	SourceKubeconfig = "kubeconfig"
	SourceAPIServer  = "apiserver"
	SourceEndpoint   = "endpoint"
	SourceFile       = "file"
	SourcePKIDir     = "pki-dir"
	SourceK3sDir     = "k3s-dir"
	SourceSecrets    = "secrets"
	SourceCSR        = "csr"
	SourceWebhooks   = "webhooks"
	SourceConfigMaps = "configmaps"
	// SourceTrustBundles is ClusterTrustBundles, SourcePodCerts
	// PodCertificateRequests (certificates.k8s.io/v1, Kubernetes 1.37).
	SourceTrustBundles = "trustbundles"
	SourcePodCerts     = "podcerts"
	// SourceNodes is AKS node certificates through Azure run-command; not
	// part of SourceCluster.
	SourceNodes = source.NodesSource
	// SourceKubelets is the certificate every kubelet serves, through a
	// TLS handshake with it; not part of SourceCluster.
	SourceKubelets = source.KubeletsSource
	// SourceCluster stands for the in-cluster sources.
	SourceCluster = "cluster"
)

var (
	allSources     = []string{SourceKubeconfig, SourceAPIServer, SourceEndpoint, SourceFile, SourcePKIDir, SourceK3sDir, SourceSecrets, SourceCSR, SourceWebhooks, SourceConfigMaps, SourceTrustBundles, SourcePodCerts, SourceCluster, SourceNodes, SourceKubelets}
	clusterSources = []string{SourceSecrets, SourceCSR, SourceWebhooks, SourceConfigMaps, SourceTrustBundles, SourcePodCerts}
)

var (
	checkLong = cli.LongDesc(`
		Check every certificate a cluster depends on and report its expiry.

		Plain "kubectl certs check" checks the current context: the certificates of its
		kubeconfig entry (client certificate, CA bundle) and the chain its API server
		serves, verified against that CA. --endpoint, --file, --pki-dir and --k3s-dir
		check just those (no kubeconfig needed); --source picks sources by name and
		then the flags configure them.

		--source cluster is the in-cluster sources: secrets, csr, webhooks, configmaps,
		trustbundles (every certificate of each ClusterTrustBundle) and podcerts (the
		chains issued through PodCertificateRequests, with the pod, and a note when a
		pod's newest one is past beginRefreshAt; a pod's certificate is judged by its
		refresh schedule: OK until beginRefreshAt, WARNING past it, CRITICAL past
		halfway to notAfter); an API server that does not serve
		ClusterTrustBundles or PodCertificateRequests (before Kubernetes 1.37) gets a
		note, not an error.

		--source kubelets dials every node's kubelet (the Nodes --node and -l pick) at
		the first of its addresses of --kubelet-address-types and its kubelet port, and
		reports the certificate it serves: TLS handshake only, no request and no
		credentials. Each is verified against the kubeconfig's CA (or
		--kubelet-certificate-authority) for that address, and said self-signed (the
		kubelet's own kubelet.crt, never renewed) or missing some of the Node's
		addresses (why metrics-server and kubectl logs fail). It is not part of
		--source cluster; kubelets are usually reachable from the nodes' network only.

		--print-manifests prints, instead of checking, what runs this check in the
		cluster, as YAML for kubectl apply -f - (-o json: a v1 List): a CronJob
		(--schedule, default @daily; --image, default the release's) whose job runs
		kubectl-certs check with the flags given here, its ServiceAccount, and RBAC
		that may only list what the sources given read (default --source cluster),
		and record Events with --record-events; all in -n (default: the context's
		namespace). Sources that need this machine (kubeconfig, apiserver, file,
		pki-dir, k3s-dir, nodes) are refused. The job fails when the check exits
		non-zero.

		Status: EXPIRED, NOT_YET_VALID, CRITICAL (within --critical-within), WARNING
		(within --warn-within), OK. Exit status: 0 all OK; 1 something could not be
		read (listed under errors, the rest is still checked); 2 the worst is WARNING;
		3 the worst is CRITICAL, EXPIRED or NOT_YET_VALID; the highest wins.

		-o prometheus prints the report as Prometheus metrics, with the names and labels of
		x509-certificate-exporter (x509_cert_not_after, x509_cert_expired, x509_read_errors, …)
		plus kubecerts_check_errors, kubecerts_check_timestamp_seconds and
		kubecerts_check_duration_seconds; --textfile FILE writes them to FILE, replaced at once
		(mode 0644), for node_exporter's textfile collector.

		--record-events records a Warning Event on the object holding each certificate
		reported at WARNING or worse (Secret, CSR, webhook configuration; the Node for
		node and kubelet certificates), reason CertificateExpiring, CertificateExpired
		or CertificateNotYetValid; a later run updates it (its series) instead of adding
		one. An Event that cannot be recorded (no RBAC on events.events.k8s.io, another
		API error) is a warning, not an error.`)

	checkExample = templates.Examples(`
		# Check the current context: kubeconfig credentials and the served certificate
		kubectl certs check

		# Check every context of the kubeconfig, each certificate once
		kubectl certs check --all-contexts

		# Check a kubeadm control-plane node, as kubeadm certs check-expiration does
		kubectl certs check --pki-dir /etc/kubernetes/pki

		# Check files and an endpoint; fail a CI job when anything expires within 30 days
		kubectl certs check --file 'certs/*.pem' --endpoint registry.example:443 --critical-within 30d

		# Trust bundles, and the certificates issued to pods in every namespace
		kubectl certs check --source trustbundles,podcerts -A

		# Check the whole cluster every morning from a CronJob in the namespace monitoring
		kubectl certs check --print-manifests -n monitoring -A --source cluster,kubelets --schedule '0 6 * * *' | kubectl apply -f -

		# AKS: the certificates on every node, through Azure run-command (az logged in)
		kubectl certs check --source nodes

		# The serving certificate of every kubelet, 50 handshakes at a time
		kubectl certs check --source kubelets --parallel 50

		# The same, dialling the nodes' InternalIP only, verified against another CA
		kubectl certs check --source kubelets --kubelet-address-types InternalIP --kubelet-certificate-authority kubelet-ca.crt

		# The same from output captured earlier with az ... run-command invoke
		kubectl certs check --run-command-output captured.txt

		# From a CronJob: TLS secrets in every namespace, an Event on each expiring one
		kubectl certs check --source secrets -A --record-events

		# The certificates that expire within 60 days, as JSON for jq
		kubectl certs check --expiring-within 60d -o json | jq -r '.certificates[] | [.location, .notAfter] | @tsv'

		# A control-plane node's PKI as Prometheus metrics, for node_exporter's textfile collector
		kubectl certs check --pki-dir /etc/kubernetes/pki --textfile /var/lib/node_exporter/textfile/kubecerts.prom`)
)

// CheckOptions is kubectl certs check.
type CheckOptions struct {
	Sources        []string
	Endpoints      []string
	Files          []string
	PKIDir         string
	KubeconfigDir  string
	KubeletPKIDir  string
	K3sDir         string
	AllContexts    bool
	Thresholds     expiry.Thresholds
	SortBy         string
	Statuses       []string
	ExpiringWithin time.Duration
	RecordEvents   bool

	// In-cluster sources.
	AllNamespaces  bool
	LabelSelector  string
	FieldSelector  string
	ChunkSize      int64
	AllSecretTypes bool
	QPS            float32
	Burst          int

	// Nodes (AKS, through Azure run-command).
	Nodes            []string
	AzPath           string
	Parallel         int
	NodeTimeout      time.Duration
	NodeCertPaths    []string
	RunCommandOutput string
	// NodeResourceGroupIDs is --node-resource-group; nodeResourceGroups
	// the groups they name.
	NodeResourceGroupIDs []string
	nodeResourceGroups   []source.ResourceGroup

	// Kubelets (a TLS handshake with each node's kubelet).
	KubeletAddressTypes []string
	KubeletCA           string

	// Textfile is --textfile: the metrics written to this file.
	Textfile string

	PrintFlags *printing.PrintFlags
	genericiooptions.IOStreams

	// started is when Run began, for kubecerts_check_duration_seconds.
	started  time.Time
	factory  cmdutil.Factory
	selected map[string]bool
	contexts []source.Context
	ctxErr   error
	printer  printers.ResourcePrinter
	now      func() time.Time
	scope    *source.Scope
	scopeErr error
	// endpointRoots are the CAs of --certificate-authority, which endpoints
	// are verified against instead of the system roots.
	endpointRoots *x509.CertPool
	// noKubelet: the kubelet's directory of the node of --pki-dir is not
	// known, and the host's is not that node's.
	noKubelet bool
	// kubeletTypes are --kubelet-address-types parsed; kubeletRoots the CA
	// of --kubelet-certificate-authority; nodeTimeoutSet: --node-timeout
	// was given (the kubelets source has its own default).
	kubeletTypes   []corev1.NodeAddressType
	kubeletRoots   *x509.CertPool
	nodeTimeoutSet bool
}

// NewCheckOptions returns the defaults.
func NewCheckOptions(streams genericiooptions.IOStreams) *CheckOptions {
	o := &CheckOptions{
		PKIDir:              "/etc/kubernetes/pki",
		KubeconfigDir:       "/etc/kubernetes",
		KubeletPKIDir:       "/var/lib/kubelet/pki",
		K3sDir:              "/var/lib/rancher/k3s",
		Thresholds:          expiry.DefaultThresholds(),
		SortBy:              source.SortByExpiry,
		QPS:                 50,
		Burst:               100,
		AzPath:              source.DefaultAzPath,
		Parallel:            source.DefaultNodeParallel,
		NodeTimeout:         source.DefaultNodeTimeout,
		KubeletAddressTypes: addressTypeNames(source.DefaultKubeletAddressTypes),
		PrintFlags:          printing.NewPrintFlags(),
		IOStreams:           streams,
		now:                 time.Now,
	}
	o.PrintFlags.Extra = map[string]printers.ResourcePrinter{FormatPrometheus: o.metricsPrinter()}
	return o
}

// NewCmdCheck is kubectl certs check.
func NewCmdCheck(f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmdCheck(f, NewCheckOptions(streams))
}

func newCmdCheck(f cmdutil.Factory, o *CheckOptions) *cobra.Command {
	manifests := newManifestFlags()
	cmd := &cobra.Command{
		Use:                   "check [flags]",
		DisableFlagsInUseLine: true,
		Short:                 "Check the expiry of every certificate the cluster depends on",
		Long:                  checkLong,
		Example:               checkExample,
		Args:                  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if printed, err := manifests.run(f, cmd, o); printed {
				return err
			}
			if err := o.Complete(f, cmd); err != nil {
				return err
			}
			if err := o.Validate(cmd); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&o.Sources, "source", nil, "Sources to check, repeatable or comma-separated: "+strings.Join(allSources, ", ")+". Default: kubeconfig,apiserver, or the sources whose flags are given.")
	fl.StringArrayVar(&o.Endpoints, "endpoint", nil, "A TLS endpoint to check, host:port or an https URL; repeatable.")
	fl.StringArrayVar(&o.Files, "file", nil, "A certificate file or glob to check (PEM bundle, DER, base64, or a kubeconfig); repeatable.")
	fl.StringVar(&o.PKIDir, "pki-dir", o.PKIDir, "A kubeadm PKI directory to check.")
	fl.StringVar(&o.KubeconfigDir, "kubeconfig-dir", o.KubeconfigDir, "The directory of kubeadm's kubeconfig files (admin.conf, …), checked with the PKI directory; default: the parent of --pki-dir.")
	fl.StringVar(&o.KubeletPKIDir, "kubelet-pki-dir", o.KubeletPKIDir, "The kubelet's certificate directory, checked with the PKI directory when present. Unless given, a --pki-dir ROOT/etc/kubernetes/pki brings ROOT/var/lib/kubelet/pki, and a --pki-dir laid out otherwise (a copy of pki/ alone) none: never the host's kubelet with another node's PKI.")
	fl.StringVar(&o.K3sDir, "k3s-dir", o.K3sDir, "A k3s data directory to check.")
	fl.BoolVar(&o.AllContexts, "all-contexts", false, "Check every context of the kubeconfig, each certificate reported once.")
	o.Thresholds.AddFlags(fl)
	fl.StringVar(&o.SortBy, "sort-by", o.SortBy, "Sort by expiry (soonest first) or location.")
	fl.StringSliceVar(&o.Statuses, "status", nil, "Report only certificates with these statuses: OK, WARNING, CRITICAL, EXPIRED, NOT_YET_VALID.")
	fl.Var(duration.NewValue(&o.ExpiringWithin), "expiring-within", "Report only certificates that expire within this time (expired ones included).")
	fl.BoolVar(&o.RecordEvents, "record-events", false, "Record a Kubernetes Event on the object holding each certificate reported at WARNING or worse; a later run updates it. Failures to record are warnings.")
	fl.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "In-cluster sources: list across all namespaces (default: the context's namespace, or -n).")
	fl.StringVarP(&o.LabelSelector, "selector", "l", "", "In-cluster sources: a label selector, as in kubectl get.")
	fl.StringVar(&o.FieldSelector, "field-selector", "", "In-cluster sources: a field selector, as in kubectl get (secrets are also filtered on type=kubernetes.io/tls unless --all-secret-types).")
	fl.Int64Var(&o.ChunkSize, "chunk-size", o.ChunkSize, fmt.Sprintf("In-cluster sources: objects per LIST page. 0 lets kubecerts choose: Secrets and ConfigMaps are streamed with one watch-list where the user may watch them and the API server serves it (KUBE_FEATURE_WatchListClient=false turns that off), else listed in pages of about %d MB (a first page of %d objects, then %d to %d objects, by the bytes of the page before); the rest in pages of %d. Pages are processed as they come; no LIST is ever unpaged.", source.PageBytes>>20, source.FirstChunkSize, source.MinChunkSize, source.MaxChunkSize, source.DefaultChunkSize))
	fl.BoolVar(&o.AllSecretTypes, "all-secret-types", false, "Secrets: check every key of every Secret whose value holds PEM certificates, not only kubernetes.io/tls Secrets.")
	fl.Float32Var(&o.QPS, "qps", o.QPS, "In-cluster sources: client-side limit of requests per second.")
	fl.IntVar(&o.Burst, "burst", o.Burst, "In-cluster sources: client-side burst of requests above --qps.")
	fl.StringArrayVar(&o.Nodes, "node", nil, "Nodes source: check this node (repeatable; default every node -l selects). With --run-command-output, names the node of output that does not name it.")
	fl.StringVar(&o.AzPath, "az-path", o.AzPath, "Nodes source: the Azure CLI to run (a path, or a name looked up on PATH).")
	fl.IntVar(&o.Parallel, "parallel", o.Parallel, "Nodes and kubelets sources: how many nodes to check at once (az processes running; kubelet connections open).")
	fl.Var(duration.NewValue(&o.NodeTimeout), "node-timeout", "Nodes and kubelets sources: how long one node may take: its az run-command invoke (default 5m), or the connection and TLS handshake with its kubelet (default 10s).")
	fl.StringArrayVar(&o.NodeCertPaths, "node-cert-path", nil, "Nodes source: a certificate file on the nodes to check besides the defaults (repeatable; absent ones are errors). With --run-command-output, names the file of output that does not name it.")
	fl.StringSliceVar(&o.KubeletAddressTypes, "kubelet-address-types", o.KubeletAddressTypes, "Kubelets source: the Node address types to dial, in order of preference (as kube-apiserver's --kubelet-preferred-address-types); the Node's addresses of these types are the names its certificate must cover.")
	fl.StringVar(&o.KubeletCA, "kubelet-certificate-authority", "", "Kubelets source: the CA to verify kubelet certificates against (as kube-apiserver's --kubelet-certificate-authority); default: the kubeconfig's CA.")
	fl.StringArrayVar(&o.NodeResourceGroupIDs, "node-resource-group", nil, "Nodes source: a resource group whose VMs may be run on (/subscriptions/SUB/resourceGroups/RG; repeatable). Default: the node resource group of the AKS cluster whose API server the kubeconfig names (az aks list). A Node whose providerID names a VM elsewhere is an error, never run on.")
	fl.StringVar(&o.RunCommandOutput, "run-command-output", "", "Nodes source: read output captured from az vm|vmss run-command invoke (JSON or tsv; FILE or - for stdin) instead of running az; several nodes each after a line \"### node: NAME\".")
	fl.StringVar(&o.Textfile, "textfile", "", "Write the report as Prometheus metrics to this file (implies -o prometheus), replaced at once, for node_exporter's textfile collector.")
	o.PrintFlags.AddFlags(cmd)
	manifests.AddFlags(cmd)
	_ = cmd.RegisterFlagCompletionFunc("source", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return allSources, cobra.ShellCompDirectiveNoFileComp
	})
	_ = cmd.RegisterFlagCompletionFunc("sort-by", cobra.FixedCompletions([]string{source.SortByExpiry, source.SortByLocation}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("pki-dir", cobra.FixedCompletions(nil, cobra.ShellCompDirectiveFilterDirs))
	_ = cmd.RegisterFlagCompletionFunc("k3s-dir", cobra.FixedCompletions(nil, cobra.ShellCompDirectiveFilterDirs))
	return cmd
}

// impliedSources are the sources the flags of each select when --source is
// not given, in this order.
var impliedSources = []struct {
	source string
	flags  []string
}{
	{SourceEndpoint, []string{"endpoint"}},
	{SourceFile, []string{"file"}},
	{SourcePKIDir, []string{"pki-dir", "kubeconfig-dir", "kubelet-pki-dir"}},
	{SourceK3sDir, []string{"k3s-dir"}},
	{SourceNodes, []string{"run-command-output", "node", "node-cert-path"}},
	{SourceKubelets, []string{"kubelet-address-types", "kubelet-certificate-authority"}},
}

// Complete decides which sources run and resolves the kubeconfig contexts
// they need.
func (o *CheckOptions) Complete(f cmdutil.Factory, cmd *cobra.Command) error {
	o.factory = f
	o.selected = map[string]bool{}
	for _, s := range o.Sources {
		for _, name := range strings.Split(s, ",") {
			if name = strings.TrimSpace(name); name != "" {
				o.selected[name] = true
			}
		}
	}
	if len(o.selected) == 0 {
		for _, implied := range impliedSources {
			for _, flag := range implied.flags {
				if cmd.Flags().Changed(flag) {
					o.selected[implied.source] = true
				}
			}
		}
		if len(o.selected) == 0 {
			o.selected[SourceKubeconfig] = true
			o.selected[SourceAPIServer] = true
		}
	}
	o.besidePKIDir(cmd)
	if o.AllContexts {
		o.selected[SourceKubeconfig] = true
		o.selected[SourceAPIServer] = true
	}
	if o.selected[SourceCluster] {
		delete(o.selected, SourceCluster)
		for _, name := range clusterSources {
			o.selected[name] = true
		}
	}
	o.completeTextfile()
	var err error
	if o.printer, err = o.PrintFlags.ToPrinter(); err != nil {
		return err
	}
	if o.selected[SourceKubeconfig] || o.selected[SourceAPIServer] {
		o.contexts, o.ctxErr = o.resolveContexts(f, cmd)
	}
	o.nodeTimeoutSet = cmd.Flags().Changed("node-timeout")
	needScope := o.selected[SourceNodes] && o.RunCommandOutput == "" || o.selected[SourceKubelets]
	for _, name := range clusterSources {
		needScope = needScope || o.selected[name]
	}
	if needScope {
		o.scope, o.scopeErr = o.newScope(f)
	}
	return nil
}

// besidePKIDir sets the directories read with a --pki-dir given elsewhere
// (a copy, a backup, a chroot), whatever --source says: its kubeconfigs are
// beside it, as /etc/kubernetes is beside /etc/kubernetes/pki, and the
// kubelet's certificates are those of the same node, never the host's
// unless --pki-dir is the host's.
func (o *CheckOptions) besidePKIDir(cmd *cobra.Command) {
	fl := cmd.Flags()
	if !fl.Changed("pki-dir") {
		return
	}
	if !fl.Changed("kubeconfig-dir") {
		o.KubeconfigDir = filepath.Dir(filepath.Clean(o.PKIDir))
	}
	if !fl.Changed("kubelet-pki-dir") {
		dir, ok := kubeletDirBeside(o.PKIDir)
		o.KubeletPKIDir, o.noKubelet = dir, !ok
	}
}

// kubeletDirBeside is the kubelet's certificate directory of the node whose
// PKI directory is pki: ROOT/var/lib/kubelet/pki when pki is
// ROOT/etc/kubernetes/pki (the host's for /etc/kubernetes/pki, a mounted
// node's for /mnt/node/etc/kubernetes/pki); ok is false for a PKI directory
// laid out otherwise (/backup/pki), whose node's kubelet is not known.
func kubeletDirBeside(pki string) (dir string, ok bool) {
	clean := filepath.Clean(pki)
	tail := filepath.Join("etc", "kubernetes", "pki")
	var root string
	switch {
	case clean == tail:
		root = "."
	case strings.HasSuffix(clean, string(filepath.Separator)+tail):
		root = strings.TrimSuffix(clean, tail)
	default:
		return "", false
	}
	return filepath.Join(root, "var", "lib", "kubelet", "pki"), true
}

// newScope makes the clients of the in-cluster sources: protobuf for the
// built-in types, JSON for the dynamic client, the --qps and --burst limits.
func (o *CheckOptions) newScope(f cmdutil.Factory) (*source.Scope, error) {
	cfg, err := f.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = o.QPS, o.Burst
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	cfg.ContentType = runtime.ContentTypeProtobuf
	cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	ns, _, err := f.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	return &source.Scope{
		Client: client, Dynamic: dyn, Namespace: ns, AllNamespaces: o.AllNamespaces,
		LabelSelector: o.LabelSelector, FieldSelector: o.FieldSelector, ChunkSize: o.ChunkSize,
		Scanned: new(atomic.Int64), Host: cmdutil.ServerHost(cfg.Host),
	}, nil
}

func (o *CheckOptions) resolveContexts(f cmdutil.Factory, cmd *cobra.Command) ([]source.Context, error) {
	loader := f.ToRawKubeConfigLoader()
	raw, err := loader.RawConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	if o.AllContexts {
		names := make([]string, 0, len(raw.Contexts))
		for n := range raw.Contexts {
			names = append(names, n)
		}
		if len(names) == 0 {
			return nil, noContexts(loader, "")
		}
		sort.Strings(names)
		var out []source.Context
		var errs []string
		for _, n := range names {
			c, err := source.ResolveContexts(raw, n)
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			out = append(out, c...)
		}
		if len(errs) > 0 {
			return out, fmt.Errorf("%s", strings.Join(errs, "; "))
		}
		return out, nil
	}
	name, _ := cmd.Flags().GetString("context")
	server, _ := cmd.Flags().GetString("server")
	if len(raw.Contexts) == 0 && server == "" {
		return nil, noContexts(loader, "; to check files instead use --file, --pki-dir or --k3s-dir")
	}
	cfg, err := f.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	if name == "" {
		name = raw.CurrentContext
	}
	c := source.Context{Name: "", Config: cfg}
	if kctx := raw.Contexts[name]; kctx != nil {
		c.ClusterName, c.UserName = kctx.Cluster, kctx.AuthInfo
	}
	if v, _ := cmd.Flags().GetString("cluster"); v != "" {
		c.ClusterName = v
	}
	if v, _ := cmd.Flags().GetString("user"); v != "" {
		c.UserName = v
	}
	return []source.Context{c}, nil
}

// Validate checks the flags before anything is read.
func (o *CheckOptions) Validate(cmd *cobra.Command) error {
	for name := range o.selected {
		if !contains(allSources, name) {
			return cli.UsageErrorf(cmd, "--source %q: unknown source; use one of: %s", name, strings.Join(allSources, ", "))
		}
	}
	if o.selected[SourceEndpoint] && len(o.Endpoints) == 0 {
		return cli.UsageErrorf(cmd, "--source endpoint needs at least one --endpoint")
	}
	if o.selected[SourceFile] && len(o.Files) == 0 {
		return cli.UsageErrorf(cmd, "--source file needs at least one --file")
	}
	for flag, value := range map[string]string{"pki-dir": o.PKIDir, "kubeconfig-dir": o.KubeconfigDir, "kubelet-pki-dir": o.KubeletPKIDir, "k3s-dir": o.K3sDir, "run-command-output": o.RunCommandOutput} {
		// An empty value (a shell variable that was not set) would check
		// the default directory, or nothing, instead of what was meant.
		if cmd.Flags().Changed(flag) && strings.TrimSpace(value) == "" {
			return cli.UsageErrorf(cmd, "--%s %q: must not be empty", flag, value)
		}
	}
	for _, f := range o.Files {
		if strings.TrimSpace(f) == "" {
			return cli.UsageErrorf(cmd, "--file %q: must not be empty", f)
		}
	}
	if ca, err := cmd.Flags().GetString("certificate-authority"); err == nil && ca != "" && o.selected[SourceEndpoint] {
		// Read once here for every endpoint: one error naming the file.
		b, err := certificate.ReadFile(ca)
		if err != nil {
			return cli.UsageErrorf(cmd, "--certificate-authority %s: %v", ca, source.ErrorMessage(ca, err))
		}
		o.endpointRoots = source.PoolOf(b)
	}
	for _, e := range o.Endpoints {
		if _, err := tlsprobe.NormalizeEndpoint(e); err != nil {
			return cli.UsageErrorf(cmd, "--endpoint: %v", err)
		}
	}
	// Parsed here so that the error names the selector, once, rather than
	// coming back from the API server for each source and namespace.
	if o.LabelSelector != "" {
		if _, err := labels.Parse(o.LabelSelector); err != nil {
			return cli.UsageErrorf(cmd, "-l/--selector %q: %v", o.LabelSelector, err)
		}
	}
	if o.FieldSelector != "" {
		if _, err := fields.ParseSelector(o.FieldSelector); err != nil {
			return cli.UsageErrorf(cmd, "--field-selector %q: %v", o.FieldSelector, err)
		}
	}
	if o.ChunkSize < 0 {
		return cli.UsageErrorf(cmd, "--chunk-size %d: must not be negative", o.ChunkSize)
	}
	if o.QPS <= 0 || o.Burst <= 0 {
		return cli.UsageErrorf(cmd, "--qps and --burst must be positive")
	}
	if err := o.validateNodes(cmd); err != nil {
		return err
	}
	if err := o.validateKubelets(cmd); err != nil {
		return err
	}
	if o.SortBy != source.SortByExpiry && o.SortBy != source.SortByLocation {
		return cli.UsageErrorf(cmd, "--sort-by %q: use expiry or location", o.SortBy)
	}
	for _, s := range o.Statuses {
		for _, st := range strings.Split(s, ",") {
			if !isStatus(strings.ToUpper(strings.TrimSpace(st))) {
				return cli.UsageErrorf(cmd, "--status %q: use OK, WARNING, CRITICAL, EXPIRED or NOT_YET_VALID", st)
			}
		}
	}
	if err := o.Thresholds.Validate(); err != nil {
		return cli.UsageErrorf(cmd, "%v", err)
	}
	return o.validateTextfile(cmd)
}

func (o *CheckOptions) anyClusterSource() bool {
	for _, name := range clusterSources {
		if o.selected[name] {
			return true
		}
	}
	return false
}

// validateNodes checks the flags of the nodes source.
func (o *CheckOptions) validateNodes(cmd *cobra.Command) error {
	if o.Parallel < 1 {
		return cli.UsageErrorf(cmd, "--parallel %d: must be at least 1", o.Parallel)
	}
	if o.NodeTimeout <= 0 {
		return cli.UsageErrorf(cmd, "--node-timeout must be positive")
	}
	if o.AzPath == "" {
		return cli.UsageErrorf(cmd, "--az-path must not be empty")
	}
	for _, p := range o.NodeCertPaths {
		if err := source.ValidNodePath(p); err != nil {
			return cli.UsageErrorf(cmd, "--node-cert-path %v", err)
		}
	}
	o.nodeResourceGroups = nil
	for _, id := range o.NodeResourceGroupIDs {
		g, err := source.ParseResourceGroupID(id)
		if err != nil {
			return cli.UsageErrorf(cmd, "--node-resource-group %v", err)
		}
		o.nodeResourceGroups = append(o.nodeResourceGroups, g)
	}
	for _, n := range o.Nodes {
		if strings.TrimSpace(n) == "" || strings.ContainsAny(n, "\n\r") {
			return cli.UsageErrorf(cmd, "--node %q: not a node name", n)
		}
	}
	if o.RunCommandOutput != "" {
		if !o.selected[SourceNodes] {
			return cli.UsageErrorf(cmd, "--run-command-output is read by the nodes source: add nodes to --source")
		}
		if o.LabelSelector != "" {
			return cli.UsageErrorf(cmd, "-l/--selector does not apply to --run-command-output (pick nodes with --node)")
		}
	}
	return nil
}

// Sources builds the selected sources.
func (o *CheckOptions) sources() []source.Source {
	var out []source.Source
	for _, c := range o.contexts {
		if o.selected[SourceKubeconfig] {
			out = append(out, &source.Kubeconfig{Context: c})
		}
		if o.selected[SourceAPIServer] {
			out = append(out, &source.APIServer{Context: c, CAReported: o.selected[SourceKubeconfig]})
		}
	}
	if o.selected[SourceEndpoint] {
		for _, e := range o.Endpoints {
			out = append(out, &source.Endpoint{Address: e, Timeout: o.requestTimeout(), Roots: o.endpointRoots})
		}
	}
	if o.selected[SourceFile] {
		out = append(out, &source.Files{Patterns: o.Files})
	}
	if o.selected[SourcePKIDir] {
		out = append(out, &source.PKIDir{Dir: o.PKIDir, KubeconfigDir: o.KubeconfigDir, KubeletPKIDir: o.KubeletPKIDir, NoKubelet: o.noKubelet})
	}
	if o.selected[SourceK3sDir] {
		out = append(out, &source.K3sDir{Dir: o.K3sDir})
	}
	if o.scope != nil {
		if o.selected[SourceSecrets] {
			out = append(out, &source.Secrets{Scope: o.scope, AllTypes: o.AllSecretTypes})
		}
		if o.selected[SourceCSR] {
			out = append(out, &source.CSRs{Scope: o.scope})
		}
		if o.selected[SourceWebhooks] {
			out = append(out, &source.Webhooks{Scope: o.scope})
		}
		if o.selected[SourceConfigMaps] {
			out = append(out, &source.ConfigMaps{Scope: o.scope})
		}
		if o.selected[SourceTrustBundles] {
			out = append(out, &source.TrustBundles{Scope: o.scope})
		}
		if o.selected[SourcePodCerts] {
			out = append(out, &source.PodCerts{Scope: o.scope, Now: o.now})
		}
	}
	if o.selected[SourceNodes] && (o.scope != nil || o.RunCommandOutput != "") {
		out = append(out, &source.Nodes{
			Scope: o.scope, Names: o.Nodes, ExtraPaths: o.NodeCertPaths,
			AzPath: o.AzPath, Parallel: o.Parallel, Timeout: o.NodeTimeout,
			Captured: o.RunCommandOutput, Stdin: o.In, NodeResourceGroups: o.nodeResourceGroups,
		})
	}
	if o.selected[SourceKubelets] && o.scope != nil {
		out = append(out, o.kubeletsSource())
	}
	return out
}

// requestTimeout is --request-timeout when set, for endpoints that need no
// kubeconfig.
func (o *CheckOptions) requestTimeout() time.Duration {
	if o.factory == nil {
		return 0
	}
	if cfg, err := o.factory.ToRESTConfig(); err == nil {
		return cfg.Timeout
	}
	return 0
}

// Run checks the sources, prints the report and returns the exit status.
func (o *CheckOptions) Run(cmd *cobra.Command) error {
	o.started = o.now()
	collector := source.NewCollector(o.now(), o.Thresholds, o.AllContexts)
	if o.ctxErr != nil {
		name := SourceKubeconfig
		if !o.selected[SourceKubeconfig] {
			name = SourceAPIServer
		}
		where, err := o.kubeconfigError(cmd, o.ctxErr)
		collector.Error(name, where, err)
	}
	if o.scopeErr != nil {
		name := "cluster"
		if o.selected[SourceNodes] && !o.anyClusterSource() {
			name = SourceNodes
		}
		if o.selected[SourceKubelets] && !o.selected[SourceNodes] && !o.anyClusterSource() {
			name = SourceKubelets
		}
		where, err := o.kubeconfigError(cmd, o.scopeErr)
		collector.Error(name, where, err)
	}
	stop := o.startProgress(collector)
	source.Run(cmd.Context(), collector, o.sources()...)
	stop()
	report := collector.Report()
	o.filter(report)
	source.SortCertificates(report.Certificates, o.SortBy)
	// Events are recorded now, for the summary to count them; their
	// warnings and note are printed after the report.
	defer o.recordEvents(cmd, report)()
	if err := o.printReport(report); err != nil {
		return err
	}
	o.printDiagnostics(report)

	statuses := make([]api.CertificateStatus, 0, len(report.Certificates))
	for i := range report.Certificates {
		statuses = append(statuses, report.Certificates[i].Status)
	}
	code := expiry.ExitCode(statuses...)
	if len(report.Errors) > 0 {
		code = exitcode.Max(code, exitcode.Error)
	}
	return exitcode.WithStatus(code, nil)
}

// kubeconfigFileError is an error about a kubeconfig file as a whole.
type kubeconfigFileError struct {
	path string
	err  error
}

func (e *kubeconfigFileError) Error() string { return e.path + ": " + e.err.Error() }
func (e *kubeconfigFileError) Unwrap() error { return e.err }

// noContexts says that the kubeconfig defines no context: naming the files
// that were read (--kubeconfig, KUBECONFIG), or that none was found.
func noContexts(loader clientcmd.ClientConfig, hint string) error {
	var files []string
	if access := loader.ConfigAccess(); access != nil {
		if f := access.GetExplicitFile(); f != "" {
			files = []string{f}
		} else {
			for _, f := range access.GetLoadingPrecedence() {
				if _, err := os.Stat(f); err == nil {
					files = append(files, f)
				}
			}
		}
	}
	if len(files) == 0 {
		return fmt.Errorf("no kubeconfig found (KUBECONFIG, ~/.kube/config or --kubeconfig)%s", hint)
	}
	return &kubeconfigFileError{path: strings.Join(files, string(os.PathListSeparator)), err: fmt.Errorf("no contexts in it%s", hint)}
}

var loadingConfigFile = lazyregexp.New(`error loading config file ("(?:[^"\\]|\\.)*"): `)

// kubeconfigError is where a kubeconfig could not be used and why, each
// said once: the kubeconfig file that could not be read, else the context
// asked for with --context, else the current context (all contexts with
// --all-contexts).
func (o *CheckOptions) kubeconfigError(cmd *cobra.Command, err error) (string, error) {
	where := "current context"
	if name, _ := cmd.Flags().GetString("context"); name != "" {
		where = "context/" + name
	}
	if o.AllContexts {
		where = "all contexts"
	}
	msg := strings.TrimPrefix(err.Error(), "kubeconfig: ")
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Err != nil {
		where = pe.Path
		msg = strings.Replace(msg, pe.Error(), pe.Err.Error(), 1)
		msg = strings.Replace(msg, fmt.Sprintf("error loading config file %q: ", pe.Path), "", 1)
	}
	var fe *kubeconfigFileError
	if errors.As(err, &fe) {
		where, msg = fe.path, fe.err.Error()
	}
	// clientcmd's "error loading config file "F": read F: is a directory"
	// (the cause is formatted into text, not wrapped).
	if m := loadingConfigFile.FindStringSubmatch(msg); m != nil {
		file, _ := strconv.Unquote(m[1])
		where = file
		msg = strings.Replace(msg, m[0], "", 1)
		for _, op := range []string{"open ", "read ", "stat "} {
			msg = strings.Replace(msg, op+file+": ", "", 1)
		}
	}
	// client-go's "unable to read certificate-authority F for C due to
	// open F: …" names F twice.
	for _, m := range fileOp.FindAllStringSubmatch(msg, -1) {
		if strings.Count(msg, m[1]) > 1 {
			msg = strings.Replace(msg, m[0], "", 1)
		}
	}
	return where, errors.New(msg)
}

var fileOp = lazyregexp.New(`(?:open|stat|read) (\S+): `)

// filter applies --status and --expiring-within, and recounts the summary.
func (o *CheckOptions) filter(r *api.CertificateReport) {
	want := map[api.CertificateStatus]bool{}
	for _, s := range o.Statuses {
		for _, st := range strings.Split(s, ",") {
			want[api.CertificateStatus(strings.ToUpper(strings.TrimSpace(st)))] = true
		}
	}
	if len(want) == 0 && o.ExpiringWithin == 0 {
		return
	}
	kept := r.Certificates[:0]
	for _, c := range r.Certificates {
		if len(want) > 0 && !want[c.Status] {
			continue
		}
		if o.ExpiringWithin > 0 && time.Duration(c.ResidualSeconds)*time.Second > o.ExpiringWithin {
			continue
		}
		kept = append(kept, c)
	}
	r.Certificates = kept
	r.Summary = api.Summary{Errors: len(r.Errors)}
	for i := range r.Certificates {
		r.Summary.Add(r.Certificates[i].Status)
	}
}

// printDiagnostics writes errors, and for people also notes and skipped
// locations, to stderr; data stays on stdout.
func (o *CheckOptions) printDiagnostics(r *api.CertificateReport) {
	for _, e := range r.Errors {
		fmt.Fprintf(o.ErrOut, "error: %s %s: %s\n", e.Source, e.Location, oneLine(e.Message))
	}
	if o.PrintFlags.Machine() {
		return
	}
	if len(r.Certificates) == 0 {
		fmt.Fprintln(o.ErrOut, "note: no certificates found")
	}
	for _, c := range r.Certificates {
		for _, n := range c.Notes {
			fmt.Fprintf(o.ErrOut, "note: %s: %s\n", c.Location, n)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(o.ErrOut, "note: %s\n", n)
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(o.ErrOut, "skipped: %s %s: %s\n", s.Source, s.Location, s.Reason)
	}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func isStatus(s string) bool {
	for _, st := range api.Statuses {
		if string(st) == s {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
