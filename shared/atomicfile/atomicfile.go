// Package atomicfile writes files so that a reader, or a crash, only ever
// sees the old content or the new, never a half-written file: the data goes
// to a temporary file in the same directory, is synced, and is renamed over
// the target. It also keeps backups of what it replaces.
package atomicfile

import (
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
// directory must exist. On error the temporary file is removed and path is
// untouched. Errors name path, never the temporary file, and wrap the cause.
func Write(path string, data []byte, perm os.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if err := checkTarget(path); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("%s: %w", path, fserr.Cause(err))
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(perm); err != nil {
		return fmt.Errorf("%s: %w", path, fserr.Cause(err))
	}
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("%s: %w", path, fserr.Cause(err))
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("%s: %w", path, fserr.Cause(err))
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, fserr.Cause(err))
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("%s: %w", path, fserr.Cause(err))
	}
	syncDir(dir)
	return nil
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

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
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
	rel, err := filepath.Rel(b.Root, path)
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
