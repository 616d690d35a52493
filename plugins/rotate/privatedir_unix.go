//go:build unix

package rotate

import (
	"io/fs"
	"syscall"
)

// fileOwnersKnown: files have a POSIX owner and mode bits here, so
// checkPrivateDir checks them.
const fileOwnersKnown = true

// fileOwner is the uid that owns the file fi describes (-1 when unknown).
func fileOwner(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}
