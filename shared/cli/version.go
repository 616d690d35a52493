package cli

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubecerts/kubecerts/shared/printing"
	"github.com/kubecerts/kubecerts/shared/version"
)

// VersionOptions prints the plugin's version.
type VersionOptions struct {
	Plugin     string
	PrintFlags *printing.PrintFlags
	genericiooptions.IOStreams
}

// NewCmdVersion is the version command every plugin has.
func NewCmdVersion(plugin string, streams genericiooptions.IOStreams) *cobra.Command {
	o := &VersionOptions{Plugin: plugin, PrintFlags: printing.NewPrintFlags(), IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the plugin's version",
		Long:  LongDesc(`Print the version, commit, build date, Go version and platform of this plugin binary.`),
		Example: templates.Examples(`
			# Print the version
			kubectl ` + plugin + ` version

			# Print it as JSON (kind Version)
			kubectl ` + plugin + ` version -o json`),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return o.Run() },
	}
	o.PrintFlags.AddFlags(cmd)
	return cmd
}

// Run prints the version.
func (o *VersionOptions) Run() error {
	p, err := o.PrintFlags.ToPrinter()
	if err != nil {
		return err
	}
	return p.PrintObj(version.Get(o.Plugin), o.Out)
}
