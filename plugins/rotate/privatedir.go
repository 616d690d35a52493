package rotate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/kubecerts/kubecerts/shared/fserr"
)

// The directories new keys are written into (ca stage --to, sa-key --to,
// renew --csr-dir) must be ones no other user can change: a user who can
// write into such a directory, or replace it (rename it away and put their
// own in its place, or point a symbolic link on the way elsewhere), can
// swap a new CA key before it is used (issue 15).

// maxPrivateDirLinks bounds the symbolic links followed on the way to a
// private directory (a loop of links fails here, not in a hang).
const maxPrivateDirLinks = 255

// checkPrivateDir returns an error naming flag and path, and the directory
// or link at fault with its mode and owner, unless only the running user
// (its effective uid) and root can change what path leads to:
//
//   - path itself, when it exists, is a directory the running user owns
//     and neither its group nor others can write to;
//   - every directory on the way to it (the one it would be created in,
//     when it does not exist yet, and that one's parents, up to /) belongs
//     to the running user or root and is not writable by its group or
//     others, unless it has the sticky bit (as /tmp has: in such a
//     directory only an entry's owner can rename or remove it);
//   - every symbolic link on the way belongs to the running user or root,
//     and the directories it leads to are held to the same rules.
//
// Where files have no POSIX owner (Windows), it checks nothing.
func checkPrivateDir(flag, path string) error {
	if !fileOwnersKnown {
		return nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("%s %s: %v", flag, path, err)
	}
	euid := os.Geteuid()
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s %s: "+format, append([]any{flag, path}, args...)...)
	}
	dir, todo := splitRoot(abs)
	links := 0
	for len(todo) > 0 {
		name := todo[0]
		todo = todo[1:]
		switch name {
		case "", ".":
			continue
		case "..":
			dir = filepath.Dir(dir)
			continue
		}
		// dir (symbolic links resolved) holds the next step: nobody else may
		// be able to replace what is in it.
		st, err := os.Lstat(dir)
		if err != nil {
			return fail("%s: %v", dir, fserr.Cause(err))
		}
		uid := fileOwner(st)
		switch {
		case uid != euid && uid != 0:
			return fail("%s, a directory on the way: %s: another user's than you (uid %d) or root, who could put their own directory in the way before the new keys are used; use a directory whose parents only you and root can change",
				dir, describeMode(st, uid), euid)
		case st.Mode()&0o022 != 0 && st.Mode()&fs.ModeSticky == 0:
			return fail("%s, a directory on the way: %s: writable by others than its owner and not sticky: they could put their own directory in the way before the new keys are used; use a directory whose parents only you and root can change",
				dir, describeMode(st, uid))
		}
		next := filepath.Join(dir, name)
		fi, err := os.Lstat(next)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// next and what follows will be created, in dir: nobody else
			// can get there first.
			return nil
		case err != nil:
			return fail("%s: %v", next, fserr.Cause(err))
		case fi.Mode()&fs.ModeSymlink != 0:
			if uid := fileOwner(fi); uid != euid && uid != 0 {
				return fail("%s, a symbolic link on the way: owner uid %d: another user's than you (uid %d) or root, who could point it elsewhere before the new keys are used", next, uid, euid)
			}
			if links++; links > maxPrivateDirLinks {
				return fail("too many symbolic links")
			}
			target, err := os.Readlink(next)
			if err != nil {
				return fail("%s: %v", next, fserr.Cause(err))
			}
			var rest []string
			if filepath.IsAbs(target) {
				dir, rest = splitRoot(filepath.Clean(target))
			} else {
				rest = strings.Split(target, string(filepath.Separator))
			}
			todo = append(rest, todo...)
		case !fi.IsDir():
			return fail("not a directory")
		default:
			dir = next
		}
	}
	// dir is path itself, symbolic links resolved; named when it differs.
	st, err := os.Lstat(dir)
	if err != nil {
		return fail("%v", fserr.Cause(err))
	}
	resolved := ""
	if dir != abs {
		resolved = dir + ": "
	}
	uid := fileOwner(st)
	switch {
	case !st.IsDir():
		return fail("%snot a directory", resolved)
	case uid != euid:
		return fail("%s%s: owned by another user than you (uid %d), who could swap the new keys before they are used; use a directory of your own",
			resolved, describeMode(st, uid), euid)
	case st.Mode()&0o022 != 0:
		return fail("%s%s: writable by others than its owner, who could swap the new keys before they are used; make it writable by you alone (chmod go-w) or use another directory",
			resolved, describeMode(st, uid))
	}
	return nil
}

// makePrivateDir creates path, and the directories missing on the way to
// it, 0700 whatever the umask, after checking with checkPrivateDir where
// they would be created; then it checks path as created (or as it was).
func makePrivateDir(flag, path string) error {
	if err := checkPrivateDir(flag, path); err != nil {
		return err
	}
	path = filepath.Clean(path)
	_, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(path, 0o700); err != nil {
			return fmt.Errorf("%s %s: %v", flag, path, fserr.Cause(err))
		}
		if err := os.Chmod(path, 0o700); err != nil {
			return fmt.Errorf("%s %s: %v", flag, path, fserr.Cause(err))
		}
	case err != nil:
		return fmt.Errorf("%s %s: %v", flag, path, fserr.Cause(err))
	}
	return checkPrivateDir(flag, path)
}

// splitRoot splits an absolute, clean path into its root (/, or C:\) and
// the names after it.
func splitRoot(abs string) (root string, names []string) {
	vol := filepath.VolumeName(abs)
	root = vol + string(filepath.Separator)
	rest := strings.TrimPrefix(abs[len(vol):], string(filepath.Separator))
	if rest == "" {
		return root, nil
	}
	return root, strings.Split(rest, string(filepath.Separator))
}

// describeMode is a file's mode, as ls shows it and in octal, and its
// owner: "mode drwxrwxrwx (0777), owner uid 0".
func describeMode(fi fs.FileInfo, uid int) string {
	m := fi.Mode()
	octal := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		octal |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		octal |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		octal |= 0o1000
	}
	return fmt.Sprintf("mode %s (%04o), owner uid %d", m, octal, uid)
}
