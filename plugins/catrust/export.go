package catrust

import (
	"crypto/x509"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubecerts/kubecerts/shared/atomicfile"
	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/cli"
	"github.com/kubecerts/kubecerts/shared/cmdutil"
)

var (
	exportLong = cli.LongDesc(`
		Write the certificates of the trust secret in the node-pool file format
		that az aks create/update --custom-ca-trust-certificates takes: PEM blocks
		separated by one blank line, LF line endings, at most --max (10) of them,
		each certificate once, in key order.

		A certificate key that does not parse, or more than --max certificates,
		is an error and nothing is written: an incomplete bundle would drop a CA
		from the nodes without a word.

		With --store aks (the default on an AKS cluster) it reads the managed
		cluster's CA list with az aks show instead; a key caN.crt names the Nth
		entry.`)

	exportExample = templates.Examples(`
		# The bundle for a new node pool
		kubectl ca-trust export --output-file cas.pem
		az aks nodepool add ... --custom-ca-trust-certificates cas.pem

		# To standard output
		kubectl ca-trust export`)
)

// ExportOptions is kubectl ca-trust export.
type ExportOptions struct {
	secretOptions
	OutputFile string
	Max        int
	genericiooptions.IOStreams
}

// NewExportOptions returns the defaults.
func NewExportOptions(streams genericiooptions.IOStreams) *ExportOptions {
	return &ExportOptions{Max: DefaultMax, IOStreams: streams}
}

// NewCmdExport is kubectl ca-trust export.
func NewCmdExport(f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmdExport(f, NewExportOptions(streams))
}

func newCmdExport(f cmdutil.Factory, o *ExportOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "export [--output-file FILE] [flags]",
		DisableFlagsInUseLine: true,
		Short:                 "Write the trust secret's certificates as the node-pool bundle file",
		Long:                  exportLong,
		Example:               exportExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return cli.UsageErrorf(cmd, "unexpected argument %q; use --output-file", args[0])
			}
			o.complete(f)
			if err := o.Validate(cmd); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	o.addFlags(cmd)
	cmd.Flags().StringVar(&o.OutputFile, "output-file", "", "Write the bundle to this file (replaced whole) instead of standard output (- is standard output).")
	cmd.Flags().IntVar(&o.Max, "max", o.Max, "The most certificates the bundle may hold (the node-pool file of az aks takes 10).")
	return cmd
}

// Validate checks the flags.
func (o *ExportOptions) Validate(cmd *cobra.Command) error {
	if o.Max < 1 {
		return cli.UsageErrorf(cmd, "--max %d: must be at least 1", o.Max)
	}
	return o.validate(cmd)
}

// Run reads the secret and writes the bundle.
func (o *ExportOptions) Run(cmd *cobra.Command) error {
	o.printStoreNotes(o.ErrOut, false)
	sec, err := o.mustGet(cmd.Context())
	if err != nil {
		return err
	}
	certs, err := o.bundleCerts(readKeys(sec))
	if err != nil {
		return err
	}
	data := FormatBundle(certs)
	if o.OutputFile == "" || o.OutputFile == "-" {
		_, err := o.Out.Write(data)
		return err
	}
	// Replaced whole, through a temporary file: a reader never sees half a
	// bundle.
	if err := atomicfile.Write(o.OutputFile, data, 0o644); err != nil {
		return fmt.Errorf("--output-file %w; nothing was written", err)
	}
	fmt.Fprintf(o.ErrOut, "wrote %d certificates of %s to %s\n", len(certs), &o.secretOptions, o.OutputFile)
	return nil
}

// bundleCerts lists the certificates to export, each once, in key order;
// a key that does not parse, none at all, or more than --max is an error.
func (o *ExportOptions) bundleCerts(contents []keyContent) ([]*x509.Certificate, error) {
	seen := map[string]bool{}
	var certs []*x509.Certificate
	for _, kc := range contents {
		if kc.err != nil {
			return nil, fmt.Errorf("%s key %s does not hold a readable certificate (%v): fix it, or remove it (kubectl ca-trust remove %s); nothing was exported",
				&o.secretOptions, kc.key, kc.err, kc.key)
		}
		for _, c := range kc.certs {
			if fp := certificate.Fingerprint(c); !seen[fp] {
				seen[fp] = true
				certs = append(certs, c)
			}
		}
	}
	switch {
	case len(certs) == 0:
		return nil, fmt.Errorf("%s holds no certificates; nothing was exported", &o.secretOptions)
	case len(certs) > o.Max:
		return nil, fmt.Errorf("%s holds %d certificates, over --max %d (the node-pool file's limit); nothing was exported",
			&o.secretOptions, len(certs), o.Max)
	}
	return certs, nil
}
