//go:build !unix

package az

import "os/exec"

// setProcessGroup: on other systems, cancelling kills az itself.
func setProcessGroup(*exec.Cmd) {}
