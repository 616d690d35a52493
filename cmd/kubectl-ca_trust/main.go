// Command kubectl-ca_trust is the kubectl plugin run as `kubectl ca-trust`.
package main

import (
	"os"

	"github.com/kubecerts/kubecerts/plugins/catrust"
	"github.com/kubecerts/kubecerts/shared/cli"
)

func main() { os.Exit(cli.Main(catrust.Plugin)) }
