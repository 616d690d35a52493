//go:build unix

package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// keepOwner gives tmp the owner and group of old, the file it replaces:
// a root-run command rewriting a file another user owns (a RootlessControlPlane
// etcd key, ~alice/.kube/config) must not leave it root's. Not root, a
// change the system refuses (EPERM) is skipped: the file is then the
// caller's, as it would be with a plain create.
func keepOwner(tmp *os.File, old fs.FileInfo) error {
	want, ok := old.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	st, err := tmp.Stat()
	if err != nil {
		return err
	}
	if have, ok := st.Sys().(*syscall.Stat_t); ok && have.Uid == want.Uid && have.Gid == want.Gid {
		return nil
	}
	err = tmp.Chown(int(want.Uid), int(want.Gid))
	if err != nil && os.Geteuid() != 0 && (errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EPERM)) {
		return nil
	}
	return err
}
