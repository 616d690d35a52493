package rotate

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	certificatesv1 "k8s.io/api/certificates/v1"
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
	csrListLong = cli.LongDesc(`
		List CertificateSigningRequests with the verdict of the kubecerts checks.

		Pending CSRs by default (--all for every one), of every signer unless --signer
		picks some. VERDICT is approve (every check passed), deny (a check failed:
		REASON names each failed check and what it found) or skip (a signer kubecerts
		does not check, a CSR already decided, or a Node that could not be looked up).
		-o json or -o yaml (kind CSRReviewList) give every check with its result.

		Nothing is written.`)

	csrListExample = templates.Examples(`
		# Pending CSRs and their verdicts
		kubectl rotate csr list

		# Every kubelet serving CSR, decided ones too
		kubectl rotate csr list --all --signer kubernetes.io/kubelet-serving

		# The failed checks of each pending CSR, for a script
		kubectl rotate csr list -o json | jq -r '.items[] | .name as $n | .checks[] | select(.passed | not) | [$n, .name, .message] | @tsv'`)
)

// CSRListOptions is kubectl rotate csr list.
type CSRListOptions struct {
	Names   []string
	Signers []string
	All     bool
	Review  csrReviewFlags

	PrintFlags *printing.PrintFlags
	genericiooptions.IOStreams

	Client  kubernetes.Interface
	printer printers.ResourcePrinter
	now     func() time.Time
}

// NewCSRListOptions returns the defaults.
func NewCSRListOptions(streams genericiooptions.IOStreams) *CSRListOptions {
	return &CSRListOptions{Review: newCSRReviewFlags(), PrintFlags: printing.NewPrintFlags(), IOStreams: streams, now: time.Now}
}

// NewCmdCSRList is kubectl rotate csr list.
func NewCmdCSRList(f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmdCSRList(f, NewCSRListOptions(streams))
}

func newCmdCSRList(f cmdutil.Factory, o *CSRListOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "list [NAME...] [--signer SIGNER] [--all]",
		DisableFlagsInUseLine: true,
		Aliases:               []string{"ls"},
		Short:                 "List CSRs with the verdict of the checks",
		Long:                  csrListLong,
		Example:               csrListExample,
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
	fl.StringSliceVar(&o.Signers, "signer", nil, "List only CSRs of these signers (repeatable or comma-separated).")
	fl.BoolVar(&o.All, "all", false, "List every CSR, not only the pending ones.")
	o.Review.AddFlags(fl)
	o.PrintFlags.AddFlags(cmd)
	registerSignerCompletion(cmd)
	return cmd
}

func registerSignerCompletion(cmd *cobra.Command) {
	_ = cmd.RegisterFlagCompletionFunc("signer", cobra.FixedCompletions(
		[]string{csrcheck.KubeletServing, csrcheck.KubeletClient}, cobra.ShellCompDirectiveNoFileComp))
}

// Complete builds the client and the printer.
func (o *CSRListOptions) Complete(f cmdutil.Factory) error {
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

// Validate checks the flags.
func (o *CSRListOptions) Validate(cmd *cobra.Command) error {
	if cmd.Flags().Changed("signer") {
		if err := validateSigners(cmd, o.Signers); err != nil {
			return err
		}
	}
	return o.Review.Validate(cmd)
}

// Run lists, reviews and prints.
func (o *CSRListOptions) Run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	var csrs []certificatesv1.CertificateSigningRequest
	var errs []string
	if len(o.Names) > 0 {
		for _, name := range o.Names {
			csr, err := o.Client.CertificatesV1().CertificateSigningRequests().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				errs = append(errs, errorNamingCSR(name, err))
				continue
			}
			csrs = append(csrs, *csr)
		}
	} else {
		all, err := listCSRs(ctx, o.Client, o.Signers)
		if err != nil {
			return err
		}
		for _, c := range all {
			if o.All || csrcheck.Condition(&c) == csrcheck.ConditionPending {
				csrs = append(csrs, c)
			}
		}
		sortCSRs(csrs)
	}
	cluster := o.Review.cluster(ctx, o.Client, nil)
	opts := o.Review.options(ctx)
	list := &api.CSRReviewList{GeneratedAt: metav1.NewTime(o.now()), Items: []api.CSRReview{}}
	for i := range csrs {
		r := csrcheck.Review(&csrs[i], cluster, opts)
		list.Items = append(list.Items, toReview(&csrs[i], &r))
	}
	if err := o.printer.PrintObj(list, o.Out); err != nil {
		return err
	}
	if note := o.Review.fallbackNote(cluster); note != "" {
		fmt.Fprintln(o.ErrOut, note)
	}
	if len(list.Items) == 0 && len(errs) == 0 && !o.PrintFlags.Machine() {
		what := "pending CSRs"
		if o.All {
			what = "CSRs"
		}
		fmt.Fprintf(o.ErrOut, "note: no %s found\n", what)
	}
	if len(errs) > 0 {
		return exitcode.WithStatus(exitcode.Error, fmt.Errorf("%s", strings.Join(errs, "; ")))
	}
	return nil
}
