//go:build linux || darwin || freebsd || netbsd || openbsd

package rotate

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockDir takes an exclusive advisory lock (flock) on the directory dir
// itself, so that two renewals of one PKI directory never interleave their
// writes; no lock file is left behind, and the kernel drops the lock when
// the process ends, however it ends. It fails at once, naming the
// directory, when another process holds the lock. unlock releases it.
func lockDir(dir string) (unlock func(), err error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s is being renewed by another process (it holds the directory's lock); run again when it has finished", dir)
		}
		return nil, fmt.Errorf("%s: locking: %w", dir, err)
	}
	return func() { _ = f.Close() }, nil
}
