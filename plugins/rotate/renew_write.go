package rotate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/atomicfile"
)

// commit writes what prepare made: first a copy of every file about to be
// replaced goes into the backup directory, then each certificate's files
// are written, each atomically (a temporary file renamed over the old
// one). A certificate whose write fails gets its earlier files put back,
// so that its key and certificate still belong together.
func (r *renewal) commit(ctx context.Context) {
	var pending []*renewItem
	for _, it := range r.items {
		if len(it.writes) > 0 {
			pending = append(pending, it)
		}
	}
	if len(pending) == 0 {
		return
	}
	if ctx.Err() != nil {
		for _, it := range pending {
			r.fail(it, errors.New("interrupted before it was written: left as it was"))
		}
		return
	}
	if r.o.CSROnly {
		if err := r.makeCSRDir(); err != nil {
			for _, it := range pending {
				r.fail(it, err)
			}
			return
		}
	}
	for _, it := range pending {
		if err := r.backupItem(it); err != nil {
			r.fail(it, err)
		}
	}
	for _, it := range pending {
		switch {
		case it.writes == nil:
		case ctx.Err() != nil:
			// Interrupted: the certificates written so far stay renewed, the
			// others are left as they were; each is whole.
			r.fail(it, errors.New("interrupted before it was written: left as it was"))
		default:
			r.writeItem(it)
		}
	}
}

// makeCSRDir creates --csr-dir 0700 (makePrivateDir), or checks that only
// the running user can write to an existing one, noting when others can
// list it.
func (r *renewal) makeCSRDir() error {
	dir := r.o.CSRDir
	if err := makePrivateDir("--csr-dir", dir); err != nil {
		return err
	}
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if st.Mode().Perm()&0o077 != 0 {
		r.note("%s is mode %#o: the keys in it are 0600, but others can list it", dir, st.Mode().Perm())
	}
	return nil
}

// backupItem copies the files it replaces into the backup directory,
// creating that directory on first use.
func (r *renewal) backupItem(it *renewItem) error {
	for _, w := range it.writes {
		if !w.existed {
			continue
		}
		b, err := r.backupFor(w.path)
		if err != nil {
			return fmt.Errorf("making the backup directory: %w", err)
		}
		renewFaultBefore("backup", w.path, nil)
		if err := b.Save(w.path); err != nil {
			return fmt.Errorf("backing up %s into %s: %w", w.path, b.Dir, err)
		}
		renewFaultAfter("backup", w.path)
	}
	return nil
}

// backupFor returns where path is backed up: the backup directory, beside
// the PKI directory (beside --csr-dir with --csr-only), holds the files of
// the PKI directory at their relative paths (etcd/server.crt) and the
// kubeconfig files and CSR directory files by name.
func (r *renewal) backupFor(path string) (*atomicfile.BackupDir, error) {
	if r.res.BackupDir == "" {
		anchor := r.o.PKIDir
		if r.o.CSROnly {
			anchor = r.o.CSRDir
		}
		dir, err := renewMakeBackupDir(anchor, r.now)
		if err != nil {
			return nil, err
		}
		r.res.BackupDir = dir
	}
	root := r.o.KubeconfigDir
	switch {
	case r.o.CSROnly:
		root = r.o.CSRDir
	case renewWithin(path, r.o.PKIDir):
		root = r.o.PKIDir
	}
	return &atomicfile.BackupDir{Root: root, Dir: r.res.BackupDir}, nil
}

// renewMakeBackupDir creates the timestamped backup directory beside
// anchor, 0700. Another made in the same second (a run after an interrupted
// one) gets a suffix: a backup is never written over.
func renewMakeBackupDir(anchor string, now time.Time) (string, error) {
	base := atomicfile.NewBackupDir(anchor, now).Dir
	dir := base
	for i := 1; ; i++ {
		err := os.Mkdir(dir, 0o700)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, fs.ErrExist) || i >= 1000 {
			return "", err
		}
		dir = fmt.Sprintf("%s-%d", base, i)
	}
}

// writeItem writes an item's files in order; when one fails, those
// written before it get their old content back.
func (r *renewal) writeItem(it *renewItem) {
	for i, w := range it.writes {
		if err := r.writeFile(w.path, w.data, w.perm); err != nil {
			r.rollback(it, i)
			r.fail(it, err)
			return
		}
	}
	it.out.Action = api.RenewalRenewed
	if r.o.CSROnly {
		it.out.Action = api.RenewalCSRWritten
	}
}

func (r *renewal) rollback(it *renewItem, n int) {
	for j := n - 1; j >= 0; j-- {
		w := it.writes[j]
		var err error
		if w.existed {
			err = r.writeFile(w.path, w.old, w.perm)
		} else {
			err = os.Remove(renewResolve(w.path))
		}
		if err != nil {
			r.note("could not put back %s after a failed write: %v; its copy is in %s", w.path, err, r.res.BackupDir)
		}
	}
}

// writeFile replaces path (the file a symbolic link points to, when it is
// one) atomically with data, after removing the temporary files an
// interrupted write of it left behind.
func (r *renewal) writeFile(path string, data []byte, perm os.FileMode) error {
	target := renewResolve(path)
	r.removeStaleTemps(target)
	renewFaultBefore("write", target, data)
	if err := atomicfile.Write(target, data, perm); err != nil {
		return err
	}
	renewFaultAfter("write", target)
	return nil
}

// renewTempPrefix is the start of the name of atomicfile.Write's
// temporary file for target: "." + base + ".tmp-".
func renewTempPrefix(target string) string { return "." + filepath.Base(target) + ".tmp-" }

// removeStaleTemps removes the temporary files that a write of target
// killed before its rename left in target's directory. They are harmless
// (hidden, and named so that nothing reads them), but litter.
func (r *renewal) removeStaleTemps(target string) {
	dir := filepath.Dir(target)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := renewTempPrefix(target)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) && e.Type().IsRegular() {
			p := filepath.Join(dir, e.Name())
			if os.Remove(p) == nil {
				r.note("removed %s, left by an interrupted write", p)
			}
		}
	}
}

// renewResolve follows path when it is a symbolic link, so that the file
// it points to is replaced and the link kept.
func renewResolve(path string) string {
	if st, err := os.Lstat(path); err == nil && st.Mode()&os.ModeSymlink != 0 {
		if target, err := filepath.EvalSymlinks(path); err == nil {
			return target
		}
	}
	return path
}

// renewWithin reports whether path is under dir.
func renewWithin(path, dir string) bool {
	rel, err := filepath.Rel(filepath.Clean(dir), filepath.Clean(path))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
