// Package catrust is the kubectl ca-trust plugin: it manages the custom CA
// trust secret (AKS: custom-ca-trust-secret in kube-system) whose CAs nodes
// install into their trust store. One file per verb.
package catrust

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubecerts/kubecerts/shared/cli"
	"github.com/kubecerts/kubecerts/shared/cmdutil"
)

// Plugin is kubectl ca-trust.
var Plugin = cli.Plugin{
	Name:  "ca-trust",
	Short: "Manage the CAs that nodes install into their trust store",
	Long: cli.LongDesc(`
		Manage the CA certificates nodes install into their trust store: list,
		add, remove, validate, export and sync, with nothing lost when writers
		race, on either store (--store):

		* aks: the AKS managed cluster's own list
		  (securityProfile.customCATrustCertificates), through the Azure CLI; a
		  change makes AKS replace every Linux node, so writes need --yes.
		* secret: a trust secret (custom-ca-trust-secret in kube-system), polled
		  by the nodes. AKS no longer reads it (the node-pool property
		  enableCustomCATrust was retired on 14 September 2026); migrate moves
		  its CAs to the cluster's list.

		--store auto (the default) picks aks when the kubeconfig's API server is
		AKS's (a host under azmk8s.io), secret otherwise.`),
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
