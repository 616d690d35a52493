// Package catrust is the kubectl ca-trust plugin: it manages the custom CA
// trust secret (AKS: custom-ca-trust-secret in kube-system) whose CAs nodes
// install into their trust store. One file per verb.
package catrust

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubecerts/kubecerts/shared/cli"
)

// Plugin is kubectl ca-trust.
var Plugin = cli.Plugin{
	Name:  "ca-trust",
	Short: "Manage the custom CA trust secret that nodes install into their trust store",
	Long: templates.LongDesc(`
		Manage the custom CA trust secret (on AKS, custom-ca-trust-secret in
		kube-system) whose CA certificates nodes install into their trust store:
		list, add, remove, validate, export and sync, with nothing lost when
		writers race.`),
	Commands: commands,
}

func commands(f cmdutil.Factory, streams genericiooptions.IOStreams) []*cobra.Command {
	cmds := []*cobra.Command{
		NewCmdList(f, streams),
		NewCmdAdd(f, streams),
		NewCmdRemove(f, streams),
		NewCmdValidate(f, streams),
		NewCmdExport(f, streams),
		NewCmdSync(f, streams),
		NewCmdMigrate(f, streams),
	}
	registerSecretCompletion(f, cmds...)
	return cmds
}
