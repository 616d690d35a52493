// Command kubectl-certs is the kubectl plugin run as `kubectl certs`.
package main

import (
	"os"

	"github.com/kubecerts/kubecerts/plugins/certs"
	"github.com/kubecerts/kubecerts/shared/cli"
)

func main() { os.Exit(cli.Main(certs.Plugin)) }
