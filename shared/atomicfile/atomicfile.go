// Package atomicfile writes files so that a reader, or a crash, only ever
// sees the old content or the new, never a half-written file: the data goes
// to a temporary file in the same directory, is synced, and is renamed over
// the target. It also keeps backups of what it replaces.
package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/kubecerts/kubecerts/shared/fserr"
)

// Write replaces path with data, created with perm (0600 for keys). The
// directory must exist. A file replaced keeps its owner and group (the
// temporary file is given them before the rename; when not root, a change
// the system does not permit is skipped). On error the temporary file is
// removed and path is untouched. Errors name path, never the temporary
// file, and wrap the cause.
func Write(path string, data []byte, perm os.FileMode) error {
	return inDir(path, func(root *os.Root, name string) error { return writeIn(root, name, path, data, perm) })
}

// inDir checks that path can be written, opens its directory and calls fn
// with it and path's name there.
func inDir(path string, fn func(root *os.Root, name string) error) error {
	if err := checkTarget(path); err != nil {
		return err
	}
	root, err := os.OpenRoot(dirOf(path))
	if err != nil {
		return fmt.Errorf("%s: %w", path, fserr.Cause(err))
	}
	defer root.Close()
	return fn(root, filepath.Base(path))
}

// WriteIn is Write of name, a file directly in the directory root was
// opened on, named display in errors. Every step is taken in that
// directory, whatever its path leads to by then: a directory on the way
// replaced by a symbolic link after root was opened does not redirect the
// write.
func WriteIn(root *os.Root, name, display string, data []byte, perm os.FileMode) error {
	if st, err := root.Stat(name); err == nil && st.IsDir() {
		return fmt.Errorf("%s: is a directory", display)
	}
	return writeIn(root, name, display, data, perm)
}

func writeIn(root *os.Root, name, display string, data []byte, perm os.FileMode) error {
	var old fs.FileInfo
	if st, err := root.Lstat(name); err == nil && st.Mode().IsRegular() {
		old = st // its owner is kept (a symbolic link is replaced, not followed)
	}
	tmp, err := writeTemp(root, name, display, data, perm, old)
	if err != nil {
		return err
	}
	if err = root.Rename(tmp, name); err != nil {
		root.Remove(tmp)
		return fmt.Errorf("%s: %w", display, fserr.Cause(err))
	}
	syncDir(root)
	return nil
}

// WriteExclusive creates path with data and perm, and fails with an error
// wrapping fs.ErrExist when path already exists: a file is never written
// over (a backup). As with Write, nothing half-written is ever seen at
// path: the data is synced in a temporary file, then linked to path.
func WriteExclusive(path string, data []byte, perm os.FileMode) error {
	return inDir(path, func(root *os.Root, name string) error { return WriteExclusiveIn(root, name, path, data, perm) })
}

// WriteExclusiveIn is WriteExclusive of name, a file directly in the
// directory root was opened on, named display in errors (see WriteIn).
func WriteExclusiveIn(root *os.Root, name, display string, data []byte, perm os.FileMode) error {
	if _, err := root.Lstat(name); err == nil {
		return fmt.Errorf("%s: %w", display, fs.ErrExist)
	}
	tmp, err := writeTemp(root, name, display, data, perm, nil)
	if err != nil {
		return err
	}
	defer root.Remove(tmp)
	err = root.Link(tmp, name)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("%s: %w", display, fs.ErrExist)
	default:
		// No hard links on this file system: create it exclusively instead.
		if err := writeExclusiveDirect(root, name, display, data, perm); err != nil {
			return err
		}
	}
	syncDir(root)
	return nil
}

// writeExclusiveDirect creates name with O_EXCL and writes data into it.
func writeExclusiveDirect(root *os.Root, name, display string, data []byte, perm os.FileMode) (err error) {
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm&0o600)
	if err != nil {
		return fmt.Errorf("%s: %w", display, fserr.Cause(err))
	}
	defer func() {
		if err != nil {
			f.Close()
			root.Remove(name)
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("%s: %w", display, fserr.Cause(err))
	}
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("%s: %w", display, fserr.Cause(err))
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("%s: %w", display, fserr.Cause(err))
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("%s: %w", display, fserr.Cause(err))
	}
	return nil
}

// writeTemp writes data, synced, into a new temporary file beside name in
// root (created with O_EXCL: never through a link planted there), with
// perm and, when old (the file it will replace) is given, old's owner and
// group. It returns the temporary file's name; on error it is removed.
func writeTemp(root *os.Root, name, display string, data []byte, perm os.FileMode, old fs.FileInfo) (tmpName string, err error) {
	var tmp *os.File
	for i := 0; ; i++ {
		var rnd [8]byte
		_, _ = rand.Read(rnd[:])
		tmpName = "." + name + ".tmp-" + hex.EncodeToString(rnd[:])
		tmp, err = root.OpenFile(tmpName, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || i >= 100 {
			return "", fmt.Errorf("%s: %w", display, fserr.Cause(err))
		}
	}
	defer func() {
		if err != nil {
			tmp.Close()
			root.Remove(tmpName)
		}
	}()
	if old != nil {
		if err = keepOwner(tmp, old); err != nil {
			return "", fmt.Errorf("%s: keeping its owner: %w", display, fserr.Cause(err))
		}
	}
	if err = tmp.Chmod(perm); err != nil {
		return "", fmt.Errorf("%s: %w", display, fserr.Cause(err))
	}
	if _, err = tmp.Write(data); err != nil {
		return "", fmt.Errorf("%s: %w", display, fserr.Cause(err))
	}
	if err = tmp.Sync(); err != nil {
		return "", fmt.Errorf("%s: %w", display, fserr.Cause(err))
	}
	if err = tmp.Close(); err != nil {
		return "", fmt.Errorf("%s: %w", display, fserr.Cause(err))
	}
	return tmpName, nil
}

// dirOf is the directory of path, "." for a bare name.
func dirOf(path string) string {
	if dir, _ := filepath.Split(path); dir != "" {
		return dir
	}
	return "."
}

// checkTarget says, naming path, why it cannot be written: it is a
// directory, or its directory is missing or not one.
func checkTarget(path string) error {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("%s: is a directory", path)
	}
	dir := filepath.Dir(path)
	switch st, err := os.Stat(dir); {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: directory %s does not exist", path, dir)
	case err != nil:
		return fmt.Errorf("%s: %w", path, fserr.Cause(err))
	case !st.IsDir():
		return fmt.Errorf("%s: %s is not a directory", path, dir)
	}
	return nil
}

// syncDir syncs root's directory, so that a rename in it survives a crash.
func syncDir(root *os.Root) {
	if d, err := root.Open("."); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// BackupDir is a timestamped directory that receives copies of files before
// they are replaced, keeping their paths relative to a root.
type BackupDir struct {
	Root string // the tree the backed-up files belong to
	Dir  string // where copies go
}

// NewBackupDir names (without creating) a backup directory for files under
// root: <parent>/<name>-backup-<UTC timestamp>, beside root, as kubeadm
// does with /etc/kubernetes/tmp.
func NewBackupDir(root string, now time.Time) *BackupDir {
	// Absolute first: the parent of a relative "." (or "pki/..") is not
	// found by filepath.Dir, and the backup would land inside root.
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	root = filepath.Clean(root)
	return &BackupDir{
		Root: root,
		Dir:  filepath.Join(filepath.Dir(root), filepath.Base(root)+"-backup-"+now.UTC().Format("20060102T150405Z")),
	}
}

// Save copies path (which must be under Root) into the backup directory,
// keeping its mode; directories are created 0700. A missing path is not an
// error: there is nothing to lose.
func (b *BackupDir) Save(path string) error {
	rel, err := filepath.Rel(absPath(b.Root), absPath(path))
	if err != nil || rel == ".." || filepath.IsAbs(rel) || len(rel) > 1 && rel[:2] == ".." {
		rel = filepath.Base(path)
	}
	src, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return err
	}
	dst := filepath.Join(b.Dir, rel)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	data, err := io.ReadAll(src)
	if err != nil {
		return err
	}
	return Write(dst, data, st.Mode().Perm())
}

// absPath is path made absolute, or path when that fails.
func absPath(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}
