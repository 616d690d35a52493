// Package rotate is the kubectl rotate plugin: it approves kubelet CSRs
// safely, renews kubeadm certificates, stages CA and service-account key
// rotations and moves kubeconfigs across a CA rotation. One file per verb.
package rotate

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubecerts/kubecerts/shared/cli"
	"github.com/kubecerts/kubecerts/shared/cmdutil"
)

// Plugin is kubectl rotate.
var Plugin = cli.Plugin{
	Name:  "rotate",
	Short: "Approve kubelet CSRs safely, renew certificates and rotate CAs",
	Long: cli.LongDesc(`
		Approve kubelet CSRs safely (SANs checked against the Node's own
		addresses), renew kubeadm certificates, stage CA and service-account key
		rotations, and move kubeconfigs across a CA rotation.`),
	Commands: commands,
}

func commands(f cmdutil.Factory, streams genericiooptions.IOStreams) []*cobra.Command {
	return []*cobra.Command{
		NewCmdCSR(f, streams),
		NewCmdRenew(f, streams),
		NewCmdCA(streams),
		NewCmdSAKey(streams),
		NewCmdKubeconfig(f, streams),
		NewCmdPlan(f, streams),
	}
}
