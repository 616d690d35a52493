package rotate

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubecerts/kubecerts/shared/cli"
)

// NewCmdCA groups the CA rotation commands.
func NewCmdCA(streams genericiooptions.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ca",
		Short: "Stage and verify a CA rotation",
		Long: cli.LongDesc(`
			Stage a new set of CAs in a directory beside the live one, and verify it
			the way k3s certificate rotate-ca does before accepting new CAs.`),
		Args: cobra.NoArgs,
		Run:  func(cmd *cobra.Command, _ []string) { _ = cmd.Help() },
	}
	cmd.AddCommand(NewCmdCAStage(streams), NewCmdCAVerify(streams))
	return cmd
}
