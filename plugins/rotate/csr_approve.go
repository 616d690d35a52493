package rotate

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	certificatesv1 "k8s.io/api/certificates/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubecerts/kubecerts/plugins/rotate/csrcheck"
	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/cli"
	"github.com/kubecerts/kubecerts/shared/cmdutil"
	"github.com/kubecerts/kubecerts/shared/exitcode"
	"github.com/kubecerts/kubecerts/shared/printing"
)

var (
	csrApproveLong = cli.LongDesc(`
		Approve kubelet CSRs that pass every kubecerts check, and only those.

		Each CSR, named or (with --all-pending) every pending one of the --signer
		signers, is checked as "kubectl rotate csr list" shows. One that passes is
		approved with the reason KubecertsApproved and a message naming what was
		checked; kube-controller-manager then signs it. One that fails is left pending
		(denied with --deny-invalid) and reported with every failed check. A CSR refused
		only because another Node lists the same name or address is never denied: a
		Node writes its own addresses, so that is its claim against the CSR, not proof.
		A CSR of a signer kubecerts does not check is approved only when named and
		--force is given. If the CSR changes while it is being approved, it is read and
		checked again.

		Exit status: 1 when a CSR named on the command line was not approved (left
		pending, denied, not found, or an error), or a write failed; 0 otherwise.
		With --all-pending, CSRs left pending because they failed a check do not make
		the exit status 1.`)

	csrApproveExample = templates.Examples(`
		# Approve one CSR if it passes the checks
		kubectl rotate csr approve csr-8x2kq

		# Approve every pending kubelet serving CSR that passes; list what was left and why
		kubectl rotate csr approve --all-pending

		# What would be approved, writing nothing
		kubectl rotate csr approve --all-pending --dry-run

		# Also deny the ones that fail a check
		kubectl rotate csr approve --all-pending --deny-invalid

		# Approve a CSR of another signer, unchecked
		kubectl rotate csr approve my-app-csr --force`)
)

// approveWorkers is how many CSRs approve writes at once.
const approveWorkers = 8

// CSRApproveOptions is kubectl rotate csr approve.
type CSRApproveOptions struct {
	Names       []string
	AllPending  bool
	Signers     []string
	DryRun      csrDryRunFlag
	Force       bool
	DenyInvalid bool
	Review      csrReviewFlags

	PrintFlags *printing.PrintFlags
	genericiooptions.IOStreams

	Client        kubernetes.Interface
	signerChanged bool
	printer       printers.ResourcePrinter
	now           func() time.Time
}

// NewCSRApproveOptions returns the defaults.
func NewCSRApproveOptions(streams genericiooptions.IOStreams) *CSRApproveOptions {
	return &CSRApproveOptions{
		Signers:    []string{csrcheck.KubeletServing},
		Review:     newCSRReviewFlags(),
		PrintFlags: printing.NewPrintFlags(),
		IOStreams:  streams,
		now:        time.Now,
	}
}

// NewCmdCSRApprove is kubectl rotate csr approve.
func NewCmdCSRApprove(f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmdCSRApprove(f, NewCSRApproveOptions(streams))
}

func newCmdCSRApprove(f cmdutil.Factory, o *CSRApproveOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "approve (NAME... | --all-pending) [--signer SIGNER] [--dry-run] [--force] [--deny-invalid]",
		DisableFlagsInUseLine: true,
		Short:                 "Approve the CSRs that pass every check",
		Long:                  csrApproveLong,
		Example:               csrApproveExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Names = args
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
	fl.BoolVar(&o.AllPending, "all-pending", false, "Approve every pending CSR of the --signer signers that passes the checks.")
	fl.StringSliceVar(&o.Signers, "signer", o.Signers, "The signers whose pending CSRs --all-pending takes (repeatable or comma-separated). Given with names, a named CSR of another signer is left pending.")
	o.DryRun.AddFlag(fl, "approve")
	fl.BoolVar(&o.Force, "force", false, "Approve the named CSRs of signers kubecerts does not check, without checks. Never applies to --all-pending, nor to kubelet CSRs that fail a check.")
	fl.BoolVar(&o.DenyInvalid, "deny-invalid", false, "Deny the CSRs that fail a check (reason KubecertsDenied, the failed checks as message) instead of leaving them pending.")
	o.Review.AddFlags(fl)
	o.PrintFlags.AddFlags(cmd)
	registerSignerCompletion(cmd)
	return cmd
}

// Complete builds the client and the printer.
func (o *CSRApproveOptions) Complete(f cmdutil.Factory, cmd *cobra.Command) error {
	o.signerChanged = cmd.Flags().Changed("signer")
	var err error
	if o.printer, err = o.PrintFlags.ToPrinter(); err != nil {
		return err
	}
	if o.Client == nil {
		if o.Client, o.Review.apiHost, err = csrClient(f); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks the arguments and flags.
func (o *CSRApproveOptions) Validate(cmd *cobra.Command) error {
	switch {
	case len(o.Names) == 0 && !o.AllPending:
		return cli.UsageErrorf(cmd, "name the CSRs to approve, or give --all-pending")
	case len(o.Names) > 0 && o.AllPending:
		return cli.UsageErrorf(cmd, "give CSR names or --all-pending, not both")
	}
	if o.AllPending || o.signerChanged {
		if err := validateSigners(cmd, o.Signers); err != nil {
			return err
		}
	}
	if err := o.DryRun.Validate(cmd); err != nil {
		return err
	}
	return o.Review.Validate(cmd)
}

// Run approves, prints what was done and returns the exit status.
func (o *CSRApproveOptions) Run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	var csrs []certificatesv1.CertificateSigningRequest
	var missing []api.CSRReview
	if o.AllPending {
		all, err := listCSRs(ctx, o.Client, o.Signers)
		if err != nil {
			return err
		}
		for _, c := range all {
			if csrcheck.Condition(&c) == csrcheck.ConditionPending {
				csrs = append(csrs, c)
			}
		}
		sortCSRs(csrs)
	} else {
		for _, name := range csrDedupe(o.Names) {
			csr, err := o.Client.CertificatesV1().CertificateSigningRequests().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				action := api.CSRActionError
				if apierrors.IsNotFound(err) {
					action = api.CSRActionNotFound
				}
				missing = append(missing, api.CSRReview{Name: name, Action: action, Error: errorNamingCSR(name, err),
					DNSNames: []string{}, IPAddresses: []string{}, Usages: []string{}, Checks: []api.CSRCheck{}})
				continue
			}
			csrs = append(csrs, *csr)
		}
	}

	cluster := o.Review.cluster(ctx, o.Client, nil)
	// Review all first, then write in parallel.
	items := make([]api.CSRReview, len(csrs))
	results := make([]csrcheck.Result, len(csrs))
	for i := range csrs {
		results[i] = csrcheck.Review(&csrs[i], cluster, o.Review.options(ctx))
	}
	var wg sync.WaitGroup
	work := make(chan int)
	for range min(approveWorkers, max(len(csrs), 1)) {
		wg.Go(func() {
			for i := range work {
				items[i] = o.process(ctx, &csrs[i], results[i], cluster.facts)
			}
		})
	}
	for i := range csrs {
		work <- i
	}
	close(work)
	wg.Wait()

	list := &api.CSRReviewList{GeneratedAt: metav1.NewTime(o.now()), Items: append(items, missing...)}
	if err := o.printer.PrintObj(list, o.Out); err != nil {
		return err
	}
	if note := o.Review.fallbackNote(cluster); note != "" {
		fmt.Fprintln(o.ErrOut, note)
	}
	if o.AllPending && len(list.Items) == 0 && !o.PrintFlags.Machine() {
		fmt.Fprintf(o.ErrOut, "note: no pending CSRs of %s\n", strings.Join(o.Signers, ", "))
	}
	return o.exitStatus(list)
}

// exitStatus is 1 with a message naming the CSRs when a named CSR was not
// approved or any write failed.
func (o *CSRApproveOptions) exitStatus(list *api.CSRReviewList) error {
	var bad []string
	for _, it := range list.Items {
		switch it.Action {
		case api.CSRActionApproved, api.CSRActionForceApproved, api.CSRActionWouldApprove:
			continue
		case api.CSRActionAlready:
			if it.Condition == csrcheck.ConditionApproved || it.Condition == csrcheck.ConditionIssued {
				continue
			}
		case api.CSRActionLeftPending, api.CSRActionDenied, api.CSRActionWouldDeny:
			if o.AllPending {
				continue
			}
		}
		why := it.Reason
		if it.Error != "" {
			why = it.Error
		}
		bad = append(bad, fmt.Sprintf("%s (%s: %s)", it.Name, it.Action, why))
	}
	if len(bad) == 0 {
		return nil
	}
	what := "not approved"
	if o.AllPending {
		what = "could not be handled"
	}
	return exitcode.WithStatus(exitcode.Error, fmt.Errorf("%d of %d CSRs %s: %s", len(bad), len(list.Items), what, strings.Join(bad, "; ")))
}

// process decides what to do with one CSR and does it; facts are the Service
// facts its first review read, kept for a review again after a conflict.
func (o *CSRApproveOptions) process(ctx context.Context, csr *certificatesv1.CertificateSigningRequest, r csrcheck.Result, facts *factsCache) api.CSRReview {
	named := !o.AllPending
	const by = "kubectl rotate csr approve"
	var action api.CSRAction
	decide := func(c *certificatesv1.CertificateSigningRequest, r *csrcheck.Result) *certificatesv1.CertificateSigningRequestCondition {
		switch {
		case named && o.signerChanged && !csrHasString(o.Signers, c.Spec.SignerName):
			action = api.CSRActionLeftPending
			r.Reason = fmt.Sprintf("signer %s not selected by --signer", c.Spec.SignerName)
			return nil
		case r.Condition != csrcheck.ConditionPending:
			action = api.CSRActionAlready
			return nil
		case r.Verdict == api.CSRVerdictApprove:
			action = api.CSRActionApproved
			return csrCondition(certificatesv1.CertificateApproved, ReasonApproved, approvalMessage(by, r))
		case r.Verdict == api.CSRVerdictSkip && r.Retryable:
			action = api.CSRActionError
			return nil
		case r.Verdict == api.CSRVerdictSkip && named && o.Force:
			action = api.CSRActionForceApproved
			return csrCondition(certificatesv1.CertificateApproved, ReasonForceApproved,
				fmt.Sprintf("Approved by %s --force: signer %s is not checked by kubecerts.", by, c.Spec.SignerName))
		case r.Verdict == api.CSRVerdictDeny && o.DenyInvalid && r.Contested():
			action = api.CSRActionLeftPending
			r.Reason += " (not denied: refused only because other Nodes list the same names or addresses, which they write themselves)"
			return nil
		case r.Verdict == api.CSRVerdictDeny && o.DenyInvalid:
			action = api.CSRActionDenied
			return csrCondition(certificatesv1.CertificateDenied, ReasonDenied, denialMessage(by+" --deny-invalid", r))
		default:
			action = api.CSRActionLeftPending
			return nil
		}
	}

	if o.DryRun.value == "client" {
		cond := decide(csr, &r)
		item := toReview(csr, &r)
		item.Action = csrDryRunAction(action, cond)
		return item
	}
	first := true
	final, wrote, err := updateApproval(ctx, o.Client, csr, func(c *certificatesv1.CertificateSigningRequest) *certificatesv1.CertificateSigningRequestCondition {
		if !first {
			// Read again after a conflict: check again. Nodes read
			// afresh, as they may have changed too; the Service facts
			// are those read for the first review.
			r = csrcheck.Review(c, o.Review.cluster(ctx, o.Client, facts), o.Review.options(ctx))
		}
		first = false
		return decide(c, &r)
	}, o.DryRun.serverDryRun())
	item := toReview(final, &r)
	item.Action = action
	if wrote && o.DryRun.value == "server" {
		item.Action = csrDryRunAction(action, &certificatesv1.CertificateSigningRequestCondition{})
	}
	if err != nil {
		item.Action = api.CSRActionError
		item.Error = errorNamingCSR(csr.Name, err)
	} else if wrote && o.DryRun.value != "server" {
		// The condition is what the API server now holds.
		item.Condition = csrcheck.Condition(final)
	}
	return item
}

// csrDryRunAction turns the action into would-approve or would-deny when it
// would have written.
func csrDryRunAction(action api.CSRAction, cond *certificatesv1.CertificateSigningRequestCondition) api.CSRAction {
	if cond == nil {
		return action
	}
	switch action {
	case api.CSRActionApproved, api.CSRActionForceApproved:
		return api.CSRActionWouldApprove
	case api.CSRActionDenied:
		return api.CSRActionWouldDeny
	}
	return action
}

func csrDedupe(names []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}
