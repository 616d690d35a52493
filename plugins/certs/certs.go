// Package certs is the kubectl certs plugin: it finds and checks every
// certificate a cluster depends on. One file per verb.
package certs

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubecerts/kubecerts/shared/cli"
	"github.com/kubecerts/kubecerts/shared/cmdutil"
)

// Plugin is kubectl certs.
var Plugin = cli.Plugin{
	Name:  "certs",
	Short: "Find and check every certificate a cluster depends on",
	Long: cli.LongDesc(`
		Find and check every certificate a Kubernetes cluster depends on: the
		kubeconfig's, the one the API server actually serves, kubeadm and k3s PKI
		directories, secrets, webhook CA bundles, CSRs and AKS node certificates.

		Exit status: 0 all OK; 1 error; 2 the worst certificate is WARNING;
		3 the worst is CRITICAL, EXPIRED or NOT_YET_VALID.`),
	Commands: commands,
}

func commands(f cmdutil.Factory, streams genericiooptions.IOStreams) []*cobra.Command {
	return []*cobra.Command{
		NewCmdCheck(f, streams),
	}
}
