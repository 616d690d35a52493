package catrust

import (
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/util/templates"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/cli"
	"github.com/kubecerts/kubecerts/shared/cmdutil"
	"github.com/kubecerts/kubecerts/shared/exitcode"
	"github.com/kubecerts/kubecerts/shared/expiry"
	"github.com/kubecerts/kubecerts/shared/printing"
)

var (
	listLong = cli.LongDesc(`
		List the certificates of the trust secret, one row per certificate, in key
		order: KEY, SUBJECT, ISSUER, EXPIRES, RESIDUAL, SHA256 (its first 12 hex
		digits, which remove --fingerprint takes) and STATUS; -o wide adds CA, KEY
		ALGORITHM, SERIAL and the whole FINGERPRINT.

		Status and exit status are those of kubectl certs check: 0 all OK; 1 a
		certificate key could not be read; 2 the worst is WARNING (within
		--warn-within); 3 the worst is CRITICAL, EXPIRED or NOT_YET_VALID. A secret
		that does not exist is an empty list (no custom CAs); a namespace that does
		not exist is an error (exit 1).

		With --store aks (the default on an AKS cluster) it reads the managed
		cluster's CA list with az aks show instead; a key caN.crt names the Nth
		entry.`)

	listExample = templates.Examples(`
		# The CAs nodes trust beyond the OS's
		kubectl ca-trust list

		# As JSON (kind CATrustList), the keys and expiry dates
		kubectl ca-trust list -o json | jq -r '.items[] | [.key, .notAfter] | @tsv'

		# Fail a CI job when a custom CA expires within 60 days
		kubectl ca-trust list --critical-within 60d --warn-within 90d -o name`)
)

// ListOptions is kubectl ca-trust list.
type ListOptions struct {
	secretOptions
	Thresholds expiry.Thresholds
	PrintFlags *printing.PrintFlags
	genericiooptions.IOStreams

	printer printers.ResourcePrinter
}

// NewListOptions returns the defaults.
func NewListOptions(streams genericiooptions.IOStreams) *ListOptions {
	return &ListOptions{Thresholds: expiry.DefaultThresholds(), PrintFlags: printing.NewPrintFlags(), IOStreams: streams}
}

// NewCmdList is kubectl ca-trust list.
func NewCmdList(f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmdList(f, NewListOptions(streams))
}

func newCmdList(f cmdutil.Factory, o *ListOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "list [flags]",
		DisableFlagsInUseLine: true,
		Aliases:               []string{"ls"},
		Short:                 "List the certificates of the trust secret",
		Long:                  listLong,
		Example:               listExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(f, cmd, args); err != nil {
				return err
			}
			if err := o.Validate(cmd); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	o.addFlags(cmd)
	o.Thresholds.AddFlags(cmd.Flags())
	o.PrintFlags.AddFlags(cmd)
	return cmd
}

// Complete resolves the secret and the printer.
func (o *ListOptions) Complete(f cmdutil.Factory, cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return cli.UsageErrorf(cmd, "unexpected argument %q; list takes none", args[0])
	}
	o.complete(f)
	var err error
	o.printer, err = o.PrintFlags.ToPrinter()
	return err
}

// Validate checks the flags.
func (o *ListOptions) Validate(cmd *cobra.Command) error {
	if err := o.Thresholds.Validate(); err != nil {
		return cli.UsageErrorf(cmd, "%v", err)
	}
	return o.validate(cmd)
}

// Run reads the secret, prints its certificates and returns the exit status.
func (o *ListOptions) Run(cmd *cobra.Command) error {
	o.printStoreNotes(o.ErrOut, o.PrintFlags.Machine())
	sec, err := o.get(cmd.Context())
	if err != nil {
		return err
	}
	if sec == nil {
		if err := o.checkNamespace(cmd.Context()); err != nil {
			return err
		}
	}
	now := o.now()
	list := &api.CATrustList{
		Store:                 o.storeName(),
		Exists:                sec != nil,
		GeneratedAt:           metav1.NewTime(now.UTC()),
		WarnWithinSeconds:     int64(o.Thresholds.WarnWithin.Seconds()),
		CriticalWithinSeconds: int64(o.Thresholds.CriticalWithin.Seconds()),
		Items:                 []api.CATrustEntry{},
		Errors:                []api.ReportError{},
	}
	if o.isAKS() {
		list.Cluster = &o.aks.ref
		list.ETag, list.ProvisioningState = o.aks.last.ETag, o.aks.last.ProvisioningState
	} else {
		list.Secret = o.ref
	}
	var statuses []api.CertificateStatus
	var errLines, warnLines []string
	for _, kc := range readKeys(sec) {
		location := o.location(kc.key)
		if kc.err != nil {
			list.Errors = append(list.Errors, api.ReportError{Source: o.sourceName(), Location: location, Message: kc.err.Error()})
			errLines = append(errLines, fmt.Sprintf("%s key %s: %v", &o.secretOptions, kc.key, kc.err))
		} else if kc.misencoded != "" && len(kc.besides) > 0 {
			// add and sync refuse to rewrite it (checkRewrite): no advice
			// to run them.
			warnLines = append(warnLines, fmt.Sprintf("%s key %s: stored %s, which nodes cannot install; it also holds %s besides certificates, "+
				"so kubectl ca-trust add and sync do not rewrite it: edit the key by hand", &o.secretOptions, kc.key, kc.misencoded, andList(kc.besides)))
		} else if kc.misencoded != "" {
			// Readable here, but not by the nodes: say so, as validate would.
			warnLines = append(warnLines, fmt.Sprintf("%s key %s: stored %s, which nodes cannot install: "+
				"kubectl ca-trust add or sync rewrites it as PEM", &o.secretOptions, kc.key, kc.misencoded))
		}
		for _, c := range kc.certs {
			e := api.CATrustEntry{Key: kc.key, Certificate: certificate.Describe(c, now, o.Thresholds)}
			e.Source, e.Location = o.sourceName(), location
			list.Items = append(list.Items, e)
			statuses = append(statuses, e.Status)
		}
	}
	if err := o.printer.PrintObj(list, o.Out); err != nil {
		return err
	}
	o.printDiagnostics(list, errLines, warnLines)
	code := expiry.ExitCode(statuses...)
	if len(list.Errors) > 0 {
		code = exitcode.Max(code, exitcode.Error)
	}
	return exitcode.WithStatus(code, nil)
}

// printDiagnostics writes the errors and warnings, and for people what an
// empty list means, to stderr.
func (o *ListOptions) printDiagnostics(l *api.CATrustList, errLines, warnLines []string) {
	for _, e := range errLines {
		fmt.Fprintln(o.ErrOut, "error: "+e)
	}
	for _, w := range warnLines {
		fmt.Fprintln(o.ErrOut, "warning: "+w)
	}
	if o.PrintFlags.Machine() || len(l.Items) > 0 {
		return
	}
	if o.isAKS() {
		fmt.Fprintf(o.ErrOut, "note: no custom CAs: %s is empty\n", &o.secretOptions)
	} else if !l.Exists {
		fmt.Fprintf(o.ErrOut, "note: no custom CAs: %s does not exist\n", &o.secretOptions)
	} else {
		fmt.Fprintf(o.ErrOut, "note: no custom CAs: %s holds no certificates\n", &o.secretOptions)
	}
}
