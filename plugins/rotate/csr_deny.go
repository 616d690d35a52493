package rotate

import (
	"context"
	"fmt"
	"strings"
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
	csrDenyLong = cli.LongDesc(`
		Deny CertificateSigningRequests by name.

		Adds the Denied condition with --reason (default KubecertsDenied) and
		--message. A CSR already denied is left as it is; one already approved cannot
		be denied. The output shows the verdict of the checks beside what was done.

		Exit status: 1 when a CSR named was not denied (not found, already approved,
		or an error); 0 otherwise.`)

	csrDenyExample = templates.Examples(`
		# Deny a CSR
		kubectl rotate csr deny csr-8x2kq

		# Deny with a reason and a message the requestor can read
		kubectl rotate csr deny csr-8x2kq --reason UnknownNode --message "worker-9 was decommissioned"`)
)

// CSRDenyOptions is kubectl rotate csr deny.
type CSRDenyOptions struct {
	Names   []string
	Reason  string
	Message string
	DryRun  csrDryRunFlag
	Review  csrReviewFlags

	PrintFlags *printing.PrintFlags
	genericiooptions.IOStreams

	Client  kubernetes.Interface
	printer printers.ResourcePrinter
	now     func() time.Time
}

// NewCSRDenyOptions returns the defaults.
func NewCSRDenyOptions(streams genericiooptions.IOStreams) *CSRDenyOptions {
	return &CSRDenyOptions{
		Reason:     ReasonDenied,
		Message:    "Denied by kubectl rotate csr deny.",
		Review:     newCSRReviewFlags(),
		PrintFlags: printing.NewPrintFlags(),
		IOStreams:  streams,
		now:        time.Now,
	}
}

// NewCmdCSRDeny is kubectl rotate csr deny.
func NewCmdCSRDeny(f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmdCSRDeny(f, NewCSRDenyOptions(streams))
}

func newCmdCSRDeny(f cmdutil.Factory, o *CSRDenyOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "deny NAME... [--reason REASON] [--message MESSAGE]",
		DisableFlagsInUseLine: true,
		Short:                 "Deny CSRs by name",
		Long:                  csrDenyLong,
		Example:               csrDenyExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Names = args
			if err := o.Complete(f); err != nil {
				return err
			}
			if err := o.Validate(cmd); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Reason, "reason", o.Reason, "The Denied condition's reason: a CamelCase word.")
	fl.StringVar(&o.Message, "message", o.Message, "The Denied condition's message, for the requestor.")
	o.DryRun.AddFlag(fl, "deny")
	o.Review.AddFlags(fl)
	o.PrintFlags.AddFlags(cmd)
	return cmd
}

// Complete builds the client and the printer.
func (o *CSRDenyOptions) Complete(f cmdutil.Factory) error {
	var err error
	if o.printer, err = o.PrintFlags.ToPrinter(); err != nil {
		return err
	}
	if o.Client == nil {
		if o.Client, _, err = csrClient(f); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks the arguments and flags.
func (o *CSRDenyOptions) Validate(cmd *cobra.Command) error {
	if len(o.Names) == 0 {
		return cli.UsageErrorf(cmd, "name the CSRs to deny")
	}
	if strings.TrimSpace(o.Reason) == "" {
		return cli.UsageErrorf(cmd, "--reason must not be empty")
	}
	if strings.ContainsAny(o.Reason, " \t\r\n") {
		return cli.UsageErrorf(cmd, "--reason %q: one CamelCase word, no spaces", o.Reason)
	}
	if err := o.DryRun.Validate(cmd); err != nil {
		return err
	}
	return o.Review.Validate(cmd)
}

// Run denies, prints what was done and returns the exit status.
func (o *CSRDenyOptions) Run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	list := &api.CSRReviewList{GeneratedAt: metav1.NewTime(o.now()), Items: []api.CSRReview{}}
	var bad []string
	for _, name := range csrDedupe(o.Names) {
		item := o.deny(ctx, name)
		list.Items = append(list.Items, item)
		if item.Action != api.CSRActionDenied && item.Action != api.CSRActionWouldDeny &&
			!(item.Action == api.CSRActionAlready && item.Condition == csrcheck.ConditionDenied) {
			why := item.Error
			if why == "" {
				why = "already " + item.Condition
			}
			bad = append(bad, fmt.Sprintf("%s (%s: %s)", name, item.Action, why))
		}
	}
	if err := o.printer.PrintObj(list, o.Out); err != nil {
		return err
	}
	if len(bad) > 0 {
		return exitcode.WithStatus(exitcode.Error, fmt.Errorf("%d of %d CSRs not denied: %s", len(bad), len(list.Items), strings.Join(bad, "; ")))
	}
	return nil
}

func (o *CSRDenyOptions) deny(ctx context.Context, name string) api.CSRReview {
	csr, err := o.Client.CertificatesV1().CertificateSigningRequests().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		action := api.CSRActionError
		if apierrors.IsNotFound(err) {
			action = api.CSRActionNotFound
		}
		return api.CSRReview{Name: name, Action: action, Error: errorNamingCSR(name, err),
			DNSNames: []string{}, IPAddresses: []string{}, Usages: []string{}, Checks: []api.CSRCheck{}}
	}
	var r csrcheck.Result
	var action api.CSRAction
	var refusal string
	cluster := o.Review.cluster(ctx, o.Client, nil)
	decide := func(c *certificatesv1.CertificateSigningRequest) *certificatesv1.CertificateSigningRequestCondition {
		r = csrcheck.Review(c, cluster, o.Review.options(ctx))
		switch r.Condition {
		case csrcheck.ConditionDenied:
			action = api.CSRActionAlready
			return nil
		case csrcheck.ConditionApproved, csrcheck.ConditionIssued, csrcheck.ConditionFailed:
			action, refusal = api.CSRActionError, fmt.Sprintf("certificatesigningrequest %q is already %s: it cannot be denied", c.Name, r.Condition)
			return nil
		}
		action = api.CSRActionDenied
		return csrCondition(certificatesv1.CertificateDenied, o.Reason, o.Message)
	}
	if o.DryRun.value == "client" {
		cond := decide(csr)
		item := toReview(csr, &r)
		item.Action, item.Error = csrDryRunAction(action, cond), refusal
		return item
	}
	final, wrote, err := updateApproval(ctx, o.Client, csr, decide, o.DryRun.serverDryRun())
	item := toReview(final, &r)
	item.Action, item.Error = action, refusal
	switch {
	case err != nil:
		item.Action, item.Error = api.CSRActionError, errorNamingCSR(name, err)
	case wrote && o.DryRun.value == "server":
		item.Action = api.CSRActionWouldDeny
	case wrote:
		item.Condition = csrcheck.Condition(final)
	}
	return item
}
