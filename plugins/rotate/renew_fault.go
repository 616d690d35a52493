//go:build !kubecerts_faultinject

package rotate

// renewFaultBefore and renewFaultAfter mark the steps of a renewal that
// change a file (a backup, a write, a manifest moved): a build with the tag
// kubecerts_faultinject kills the process at a chosen one, to prove that a
// renewal killed anywhere leaves every file old or new (see
// renew_fault_inject.go). In other builds they do nothing.
func renewFaultBefore(step, path string, data []byte) {}

func renewFaultAfter(step, path string) {}
