// Command kubectl-rotate is the kubectl plugin run as `kubectl rotate`.
package main

import (
	"os"

	"github.com/kubecerts/kubecerts/plugins/rotate"
	"github.com/kubecerts/kubecerts/shared/cli"
)

func main() { os.Exit(cli.Main(rotate.Plugin)) }
