package framework

import "syscall"

// sysProcAttr puts a child in its own process group and has the kernel
// SIGKILL it when the test binary dies, even by SIGKILL or a panic.
//
// Strictly, Pdeathsig fires when the thread that started the child ends; the
// Go runtime ends a thread only when a goroutine locked to it
// (runtime.LockOSThread) exits, which the framework's callers do not do.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup sends SIGTERM to the process group of pid.
func killGroup(pid int) error { return syscall.Kill(-pid, syscall.SIGTERM) }

// processAlive reports whether a process pid exists.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}
