//go:build !unix

package rotate

import "io/fs"

// fileOwnersKnown is false where files have no POSIX owner (Windows: an
// ACL says who may write, and Go reports mode bits that do not): there
// checkPrivateDir checks nothing, and a staging directory's ACL is the
// user's to set.
const fileOwnersKnown = false

// fileOwner is never asked where file owners are not known.
func fileOwner(fs.FileInfo) int { return -1 }
