package rotate

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubecerts/kubecerts/plugins/rotate/csrcheck"
	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/cli"
	"github.com/kubecerts/kubecerts/shared/cmdutil"
	"github.com/kubecerts/kubecerts/shared/duration"
)

// Condition reasons kubecerts writes.
const (
	ReasonApproved      = "KubecertsApproved"
	ReasonForceApproved = "KubecertsForceApproved"
	ReasonDenied        = "KubecertsDenied"
)

// csrDefaultMaxDuration bounds spec.expirationSeconds unless --max-duration
// says otherwise: a year, kube-controller-manager's default
// --cluster-signing-duration.
const csrDefaultMaxDuration = duration.Year

var csrLong = cli.LongDesc(`
	Review and approve kubelet CertificateSigningRequests safely.

	kube-controller-manager signs kubelet serving certificates
	(kubernetes.io/kubelet-serving) once someone approves the CSR, and approving
	by the Common Name alone lets anyone holding a kubelet's credentials get a
	serving certificate for any name. A kubelet also writes its own Node's
	status.addresses, so those are the node's claim, not proof: a SAN must be
	among them, and must also pass rules no node can change.

	Always refused: wildcards; kubernetes, kubernetes.default..., names under
	.svc or in --cluster-domain; IPs in the Service ranges (the cluster's
	ServiceCIDRs, the kubernetes Service's ClusterIP, --service-cidr) or of the
	API server (the kubernetes EndpointSlice); loopback, unspecified, link-local,
	multicast and broadcast IPs; a name or IP another Node also lists. Policy:
	IP SANs must lie inside a --node-cidr (without one they are refused, unless
	--trust-node-addresses, the weak mode that takes the Node's word); DNS SANs
	must be the node's name or under it (<node-name>....) and match --allow-dns
	when given; --resolve-dns also looks them up. Each refused SAN is named with
	the rule that refused it.

	Kubelet client certificates (kubernetes.io/kube-apiserver-client-kubelet) are
	approved only when the API server authorizes the requestor, as
	kube-controller-manager does (a SubjectAccessReview for create on
	certificatesigningrequests/selfnodeclient or /nodeclient). Other signers are
	left alone (verdict skip) unless approved by name with --force.

	Checks, each named in the output: signer, request, requestor, authorization
	(client certificates), subject, node, ip-sans, dns-sans, sans, usages, key,
	duration, condition.`)

// NewCmdCSR is the kubectl rotate csr command group.
func NewCmdCSR(f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "csr",
		Short: "Review, approve and deny kubelet CSRs, by hand or continuously",
		Long:  csrLong,
		Example: templates.Examples(`
			# The pending CSRs and what kubecerts makes of them
			kubectl rotate csr list

			# Approve every pending kubelet serving CSR that passes the checks,
			# IP SANs only from the nodes' subnet
			kubectl rotate csr approve --all-pending --node-cidr 10.240.0.0/16

			# Approve them continuously, in the cluster, with leader election
			kubectl rotate csr watch --print-manifests -n kube-system | kubectl apply -f -`),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return cli.UsageErrorf(cmd, "unknown command %q for %q", args[0], "kubectl rotate csr")
			}
			return nil
		},
		Run: func(cmd *cobra.Command, args []string) { _ = cmd.Help() },
	}
	cmd.AddCommand(
		NewCmdCSRList(f, streams),
		NewCmdCSRApprove(f, streams),
		NewCmdCSRDeny(f, streams),
		NewCmdCSRWatch(f, streams),
	)
	return cmd
}

// csrReviewFlags are the flags that tune the checks: list, approve, deny
// and watch share them.
type csrReviewFlags struct {
	MaxDuration        time.Duration
	AllowDNS           string
	NodeCIDRs          []string
	TrustNodeAddresses bool
	ServiceCIDRs       []string
	ClusterDomain      string
	ResolveDNS         bool

	allowDNS     *regexp.Regexp
	nodeCIDRs    []netip.Prefix
	serviceCIDRs []netip.Prefix
	// apiHost is the host of the command's own kubeconfig's server: one
	// the API server is reached by (Complete sets it).
	apiHost string
	// lookup resolves the API server's host names; nil: DNS.
	lookup func(ctx context.Context, host string) ([]netip.Addr, error)
}

func newCSRReviewFlags() csrReviewFlags {
	return csrReviewFlags{MaxDuration: csrDefaultMaxDuration, ClusterDomain: csrcheck.DefaultClusterDomain}
}

func (r *csrReviewFlags) AddFlags(fl *pflag.FlagSet) {
	fl.Var(duration.NewValue(&r.MaxDuration), "max-duration", "The longest spec.expirationSeconds approved (0: no limit). CSRs that do not set it get the signer's default.")
	fl.StringSliceVar(&r.NodeCIDRs, "node-cidr", nil, "A range node IPs come from (repeatable or comma-separated): every IP SAN of a serving CSR must lie inside one. Without it IP SANs are refused, unless --trust-node-addresses.")
	fl.BoolVar(&r.TrustNodeAddresses, "trust-node-addresses", false, "Without --node-cidr, accept IP SANs that are among the Node's own InternalIP/ExternalIP addresses. The weak mode: a kubelet writes its own Node's addresses, so this takes the node's word for them.")
	fl.StringVar(&r.AllowDNS, "allow-dns", "", "A regular expression every DNS SAN must also match in full (lower case, no trailing dot). It narrows what is approved: a DNS SAN must still be the node's name or under it (<node-name>.…) and among the Node's names.")
	fl.StringSliceVar(&r.ServiceCIDRs, "service-cidr", nil, "A Service IP range, refused in IP SANs (repeatable or comma-separated). The ranges the cluster's ServiceCIDR objects list, and the kubernetes Service's ClusterIP, are refused anyway; give this for a cluster that serves no ServiceCIDRs.")
	fl.StringVar(&r.ClusterDomain, "cluster-domain", r.ClusterDomain, "The cluster's DNS domain: DNS SANs in it are refused, as are kubernetes, kubernetes.default… and names under .svc.")
	fl.BoolVar(&r.ResolveDNS, "resolve-dns", false, "Also look every DNS SAN up: it must resolve, and only to IP SANs of the same CSR.")
}

// Validate compiles --allow-dns and parses the CIDRs and --cluster-domain.
func (r *csrReviewFlags) Validate(cmd *cobra.Command) error {
	r.allowDNS = nil
	if r.AllowDNS != "" {
		re, err := regexp.Compile(r.AllowDNS)
		if err != nil {
			return cli.UsageErrorf(cmd, "--allow-dns %q: %v", r.AllowDNS, err)
		}
		r.allowDNS = re
	}
	var err error
	if r.nodeCIDRs, err = parseCIDRs(cmd, "--node-cidr", r.NodeCIDRs); err != nil {
		return err
	}
	if r.serviceCIDRs, err = parseCIDRs(cmd, "--service-cidr", r.ServiceCIDRs); err != nil {
		return err
	}
	domain := strings.TrimSuffix(r.ClusterDomain, ".")
	if errs := validation.IsDNS1123Subdomain(domain); len(errs) > 0 {
		return cli.UsageErrorf(cmd, "--cluster-domain %q: not a DNS domain: %s", r.ClusterDomain, strings.Join(errs, "; "))
	}
	if r.TrustNodeAddresses && len(r.nodeCIDRs) > 0 {
		return cli.UsageErrorf(cmd, "--trust-node-addresses with --node-cidr: give one (--node-cidr is the safe one)")
	}
	return nil
}

// parseCIDRs parses CIDRs (an IPv4-mapped IPv6 range as IPv4), masked.
func parseCIDRs(cmd *cobra.Command, flag string, values []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range values {
		p, err := netip.ParsePrefix(strings.TrimSpace(v))
		if err != nil {
			return nil, cli.UsageErrorf(cmd, "%s %q: not a CIDR (e.g. 10.0.0.0/16 or fd00::/64)", flag, v)
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func (r *csrReviewFlags) options(ctx context.Context) csrcheck.Options {
	o := csrcheck.Options{
		MaxDuration:        r.MaxDuration,
		AllowDNS:           r.allowDNS,
		ClusterDomain:      r.ClusterDomain,
		NodeCIDRs:          r.nodeCIDRs,
		TrustNodeAddresses: r.TrustNodeAddresses,
	}
	if r.ResolveDNS {
		o.Resolve = func(name string) ([]netip.Addr, error) { return lookupHost(ctx, name) }
	}
	return o
}

// cluster is the csrcheck.Cluster of the one-shot commands: Nodes listed
// once, the Service facts read once.
func (r *csrReviewFlags) cluster(ctx context.Context, client kubernetes.Interface, facts *factsCache) *csrCluster {
	if facts == nil {
		facts = r.newFactsCache(0)
	}
	return &csrCluster{ctx: ctx, client: client, nodes: newListedNodes(client), facts: facts}
}

// newFactsCache is a factsCache of the flags' Service ranges, the API
// server host the command knows, and its lookup.
func (r *csrReviewFlags) newFactsCache(ttl time.Duration) *factsCache {
	fc := newFactsCache(r.serviceCIDRs, ttl)
	if r.apiHost != "" {
		fc.hosts = []string{r.apiHost}
	}
	if r.lookup != nil {
		fc.lookup = r.lookup
	}
	return fc
}

// fallbackNote warns, once the facts were read, when the cluster serves no
// ServiceCIDRs and --service-cidr was not given: only the kubernetes
// Service's ClusterIP is then known to be a Service IP.
func (r *csrReviewFlags) fallbackNote(c *csrCluster) string {
	if !c.facts.fallback() || len(r.serviceCIDRs) > 0 {
		return ""
	}
	return "note: the cluster serves no ServiceCIDRs: of the Service IPs only the kubernetes Service's ClusterIP is refused; give --service-cidr"
}

// validateSigners checks that each --signer is a signer name as the API
// server accepts it (a domain and a path, "example.com/signer-name"), so that
// a typo is an error rather than a silent match of nothing.
func validateSigners(cmd *cobra.Command, signers []string) error {
	if len(signers) == 0 {
		return cli.UsageErrorf(cmd, "--signer: give at least one signer")
	}
	for _, s := range signers {
		if err := checkSignerName(s); err != nil {
			return cli.UsageErrorf(cmd, "--signer %q: %v (e.g. %s)", s, err, csrcheck.KubeletServing)
		}
	}
	return nil
}

// checkSignerName is the API server's check of spec.signerName.
func checkSignerName(s string) error {
	domain, path, ok := strings.Cut(s, "/")
	if !ok || strings.Contains(path, "/") {
		return fmt.Errorf("not a signer name: want a domain and a path, DOMAIN/NAME")
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return fmt.Errorf("the domain %q has no dot", domain)
	}
	for _, l := range labels {
		if errs := validation.IsDNS1123Label(l); len(errs) > 0 {
			return fmt.Errorf("the domain %q: %s", domain, strings.Join(errs, "; "))
		}
	}
	for _, l := range strings.Split(path, ".") {
		if errs := validation.IsDNS1123Subdomain(l); len(errs) > 0 {
			return fmt.Errorf("the name %q: %s", path, strings.Join(errs, "; "))
		}
	}
	return nil
}

// csrClient builds the clientset of the command: the factory's REST config,
// with client-side rate limits raised to 100 QPS (burst 200) unless the
// config sets its own; the API server's priority and fairness still applies.
// host is the host of the config's server.
func csrClient(f cmdutil.Factory) (client kubernetes.Interface, host string, err error) {
	cfg, err := f.ToRESTConfig()
	if err != nil {
		return nil, "", err
	}
	if cfg.QPS == 0 && cfg.RateLimiter == nil {
		cfg.QPS, cfg.Burst = 100, 200
	}
	client, err = kubernetes.NewForConfig(cfg)
	return client, cmdutil.ServerHost(cfg.Host), err
}

// listCSRs lists the CSRs of the given signers (all when none), page by page;
// with one signer the API server filters.
func listCSRs(ctx context.Context, client kubernetes.Interface, signers []string) ([]certificatesv1.CertificateSigningRequest, error) {
	opts := metav1.ListOptions{Limit: 500}
	if len(signers) == 1 {
		opts.FieldSelector = fields.OneTermEqualSelector("spec.signerName", signers[0]).String()
	}
	var out []certificatesv1.CertificateSigningRequest
	for {
		list, err := client.CertificatesV1().CertificateSigningRequests().List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("listing certificatesigningrequests: %w", err)
		}
		for _, c := range list.Items {
			if len(signers) == 0 || csrHasString(signers, c.Spec.SignerName) {
				out = append(out, c)
			}
		}
		if list.Continue == "" {
			return out, nil
		}
		opts.Continue = list.Continue
	}
}

// sortCSRs orders CSRs oldest first, then by name.
func sortCSRs(csrs []certificatesv1.CertificateSigningRequest) {
	sort.SliceStable(csrs, func(i, j int) bool {
		a, b := csrs[i].CreationTimestamp.Time, csrs[j].CreationTimestamp.Time
		if !a.Equal(b) {
			return a.Before(b)
		}
		return csrs[i].Name < csrs[j].Name
	})
}

// toReview is the output entry of a CSR and the checks made on it.
func toReview(csr *certificatesv1.CertificateSigningRequest, r *csrcheck.Result) api.CSRReview {
	out := api.CSRReview{
		Name:                     csr.Name,
		CreationTimestamp:        csr.CreationTimestamp,
		Signer:                   csr.Spec.SignerName,
		Requestor:                csr.Spec.Username,
		Groups:                   csr.Spec.Groups,
		DNSNames:                 []string{},
		IPAddresses:              []string{},
		Usages:                   []string{},
		KeyAlgorithm:             r.KeyAlgorithm,
		RequestedDurationSeconds: csr.Spec.ExpirationSeconds,
		Condition:                r.Condition,
		Verdict:                  r.Verdict,
		Reason:                   r.Reason,
		Checks:                   r.Checks,
		RefusedSANs:              r.Refused,
	}
	for _, u := range csr.Spec.Usages {
		out.Usages = append(out.Usages, string(u))
	}
	if req := r.Request; req != nil {
		out.Subject = req.Subject.String()
		out.DNSNames = append(out.DNSNames, req.DNSNames...)
		for _, ip := range req.IPAddresses {
			out.IPAddresses = append(out.IPAddresses, ip.String())
		}
		out.EmailAddresses = req.EmailAddresses
		for _, u := range req.URIs {
			out.URIs = append(out.URIs, u.String())
		}
	}
	return out
}

// approvalMessage names what was checked, for the Approved condition.
func approvalMessage(by string, r *csrcheck.Result) string {
	var what []string
	if req := r.Request; req != nil {
		var sans []string
		sans = append(sans, req.DNSNames...)
		for _, ip := range req.IPAddresses {
			sans = append(sans, ip.String())
		}
		if len(sans) > 0 && r.NodeName != "" {
			what = append(what, fmt.Sprintf("SANs %s are Node %s's own addresses and pass every SAN rule", strings.Join(sans, ", "), r.NodeName))
		}
		what = append(what, "subject "+req.Subject.String(), "key "+r.KeyAlgorithm)
	}
	msg := fmt.Sprintf("Approved by %s after the kubecerts checks %s passed", by, r.CheckNames())
	if len(what) > 0 {
		msg += " (" + strings.Join(what, "; ") + ")"
	}
	return msg + "."
}

// denialMessage lists the failed checks, for the Denied condition.
func denialMessage(by string, r *csrcheck.Result) string {
	var failed []string
	for _, c := range r.Failed() {
		failed = append(failed, c.Name+": "+c.Message)
	}
	return fmt.Sprintf("Denied by %s: kubecerts checks failed: %s.", by, strings.Join(failed, "; "))
}

// condition builds a condition of type t.
func csrCondition(t certificatesv1.RequestConditionType, reason, message string) *certificatesv1.CertificateSigningRequestCondition {
	now := metav1.Now()
	return &certificatesv1.CertificateSigningRequestCondition{
		Type:               t,
		Status:             corev1.ConditionTrue,
		Reason:             reason,
		Message:            message,
		LastUpdateTime:     now,
		LastTransitionTime: now,
	}
}

// csrDecideFunc decides, for the CSR as last read, which condition to add: nil
// to write nothing.
type csrDecideFunc func(csr *certificatesv1.CertificateSigningRequest) *certificatesv1.CertificateSigningRequestCondition

// updateApproval adds the condition decide returns to csr through the
// approval subresource. On a conflict (the CSR changed since it was read) it
// reads the CSR again and decides again, so that a CSR is never approved on
// the strength of a stale check. It returns whether it wrote, and the CSR as
// last read or written. dryRun is the UpdateOptions' DryRun (server-side).
func updateApproval(ctx context.Context, client kubernetes.Interface, csr *certificatesv1.CertificateSigningRequest,
	decide csrDecideFunc, dryRun []string) (*certificatesv1.CertificateSigningRequest, bool, error) {
	csrs := client.CertificatesV1().CertificateSigningRequests()
	current := csr
	wrote := false
	first := true
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		if !first {
			fresh, err := csrs.Get(ctx, current.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			current = fresh
		}
		first = false
		cond := decide(current)
		if cond == nil {
			wrote = false
			return nil
		}
		update := current.DeepCopy()
		update.Status.Conditions = append(update.Status.Conditions, *cond)
		updated, err := csrs.UpdateApproval(ctx, update.Name, update, metav1.UpdateOptions{DryRun: dryRun, FieldManager: "kubecerts"})
		if err != nil {
			return err
		}
		current, wrote = updated, true
		return nil
	})
	return current, wrote, err
}

// csrDryRunFlag is --dry-run: none, client or server; bare --dry-run is client.
type csrDryRunFlag struct{ value string }

func (d *csrDryRunFlag) AddFlag(fl *pflag.FlagSet, what string) {
	fl.StringVar(&d.value, "dry-run", "none", `"client": report what would be done and write nothing; "server": also send the writes as server-side dry runs; "none": `+what+`.`)
	fl.Lookup("dry-run").NoOptDefVal = "client"
}

func (d *csrDryRunFlag) Validate(cmd *cobra.Command) error {
	switch d.value {
	case "none", "client", "server":
		return nil
	}
	return cli.UsageErrorf(cmd, `--dry-run %q: use none, client or server`, d.value)
}

// Enabled reports a dry run of either kind.
func (d *csrDryRunFlag) Enabled() bool { return d.value == "client" || d.value == "server" }

// serverDryRun is the UpdateOptions.DryRun for --dry-run=server.
func (d *csrDryRunFlag) serverDryRun() []string {
	if d.value == "server" {
		return []string{metav1.DryRunAll}
	}
	return nil
}

func csrHasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// errorNamingCSR makes an API error name the CSR it is about.
func errorNamingCSR(name string, err error) string {
	if apierrors.IsNotFound(err) {
		return fmt.Sprintf("certificatesigningrequest %q not found", name)
	}
	return fmt.Sprintf("certificatesigningrequest %q: %v", name, err)
}
