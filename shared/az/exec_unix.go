//go:build unix

package az

import (
	"os/exec"
	"syscall"
)

// setProcessGroup runs cmd in a process group of its own, and cancelling it
// kills the group: az is a shell script that starts Python.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
