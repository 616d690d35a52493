package rotate

import (
	"context"
	"fmt"
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
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubecerts/kubecerts/plugins/rotate/csrcheck"
	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/cli"
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

var csrLong = templates.LongDesc(`
	Review and approve kubelet CertificateSigningRequests safely.

	kube-controller-manager signs kubelet serving certificates
	(kubernetes.io/kubelet-serving) once someone approves the CSR, and approving
	by the Common Name alone lets anyone holding a kubelet's credentials get a
	serving certificate for any name. These commands approve a CSR only when the
	node that asks is the node it names, and every IP and DNS name it asks for is
	one of that Node's own addresses (status.addresses), its usages, key and
	duration are sound, and it is still pending. Kubelet client certificates
	(kubernetes.io/kube-apiserver-client-kubelet) are checked too; other signers
	are left alone (verdict skip) unless approved by name with --force.

	Checks, each named in the output: signer, request, requestor, subject, node,
	ip-sans, dns-sans, sans, usages, key, duration, condition.`)

// NewCmdCSR is the kubectl rotate csr command group.
func NewCmdCSR(f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "csr",
		Short: "Review, approve and deny kubelet CSRs, by hand or continuously",
		Long:  csrLong,
		Example: templates.Examples(`
			# The pending CSRs and what kubecerts makes of them
			kubectl rotate csr list

			# Approve every pending kubelet serving CSR that passes the checks
			kubectl rotate csr approve --all-pending

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

// csrReviewFlags are the flags that tune the checks: list, approve and watch
// share them.
type csrReviewFlags struct {
	MaxDuration time.Duration
	AllowDNS    string
	allowDNS    *regexp.Regexp
}

func newCSRReviewFlags() csrReviewFlags { return csrReviewFlags{MaxDuration: csrDefaultMaxDuration} }

func (r *csrReviewFlags) AddFlags(fl *pflag.FlagSet) {
	fl.Var(duration.NewValue(&r.MaxDuration), "max-duration", "The longest spec.expirationSeconds approved (0: no limit). CSRs that do not set it get the signer's default.")
	fl.StringVar(&r.AllowDNS, "allow-dns", "", "Also accept DNS SANs that this regular expression matches in full though they are not among the Node's names. Weaker: the Node no longer vouches for those names.")
}

// Validate compiles --allow-dns.
func (r *csrReviewFlags) Validate(cmd *cobra.Command) error {
	if r.AllowDNS == "" {
		r.allowDNS = nil
		return nil
	}
	re, err := regexp.Compile(r.AllowDNS)
	if err != nil {
		return cli.UsageErrorf(cmd, "--allow-dns %q: %v", r.AllowDNS, err)
	}
	r.allowDNS = re
	return nil
}

func (r *csrReviewFlags) options() csrcheck.Options {
	return csrcheck.Options{MaxDuration: r.MaxDuration, AllowDNS: r.allowDNS}
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
func csrClient(f cmdutil.Factory) (kubernetes.Interface, error) {
	cfg, err := f.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	if cfg.QPS == 0 && cfg.RateLimiter == nil {
		cfg.QPS, cfg.Burst = 100, 200
	}
	return kubernetes.NewForConfig(cfg)
}

var csrNodesResource = schema.GroupResource{Resource: "nodes"}

// nodeLookup looks up Nodes through the API, each name once: one list when
// many nodes are wanted, a get per name otherwise.
type nodeLookup struct {
	ctx    context.Context
	client kubernetes.Interface
	nodes  map[string]*corev1.Node
	errs   map[string]error
	listed bool
}

// csrNodeListThreshold is the number of distinct nodes above which one list of all
// Nodes is cheaper than a get each.
const csrNodeListThreshold = 10

func newNodeLookup(ctx context.Context, client kubernetes.Interface, csrs []certificatesv1.CertificateSigningRequest) *nodeLookup {
	l := &nodeLookup{ctx: ctx, client: client, nodes: map[string]*corev1.Node{}, errs: map[string]error{}}
	names := map[string]bool{}
	for i := range csrs {
		if n, ok := csrcheck.NodeName(csrs[i].Spec.Username); ok && csrs[i].Spec.SignerName == csrcheck.KubeletServing {
			names[n] = true
		}
	}
	if len(names) > csrNodeListThreshold {
		l.listAll()
	}
	return l
}

func (l *nodeLookup) listAll() {
	opts := metav1.ListOptions{Limit: 500}
	nodes := map[string]*corev1.Node{}
	for {
		list, err := l.client.CoreV1().Nodes().List(l.ctx, opts)
		if err != nil {
			return // fall back to a get per name
		}
		for i := range list.Items {
			nodes[list.Items[i].Name] = &list.Items[i]
		}
		if list.Continue == "" {
			break
		}
		opts.Continue = list.Continue
	}
	l.nodes, l.listed = nodes, true
}

// Lookup is a csrcheck.NodeLookup.
func (l *nodeLookup) Lookup(name string) (*corev1.Node, error) {
	if n, ok := l.nodes[name]; ok {
		return n, nil
	}
	if err, ok := l.errs[name]; ok {
		return nil, err
	}
	if l.listed {
		return nil, apierrors.NewNotFound(csrNodesResource, name)
	}
	n, err := l.client.CoreV1().Nodes().Get(l.ctx, name, metav1.GetOptions{})
	if err != nil {
		l.errs[name] = err
		return nil, err
	}
	l.nodes[name] = n
	return n, nil
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
			what = append(what, fmt.Sprintf("SANs %s are Node %s's own addresses", strings.Join(sans, ", "), r.NodeName))
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
