package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "ca.key")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(p, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	st, _ := os.Stat(p)
	if string(got) != "new" || st.Mode().Perm() != 0o600 {
		t.Errorf("content %q mode %v", got, st.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	if err := Write(filepath.Join(dir, "missing", "x"), []byte("x"), 0o600); err == nil {
		t.Error("write into a missing directory succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("a failed write left files: %v", entries)
	}
}

func TestBackup(t *testing.T) {
	root := filepath.Join(t.TempDir(), "pki")
	if err := os.MkdirAll(filepath.Join(root, "etcd"), 0o755); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(root, "etcd", "server.key")
	if err := os.WriteFile(key, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := NewBackupDir(root, time.Date(2026, 11, 23, 1, 2, 3, 0, time.UTC))
	if filepath.Base(b.Dir) != "pki-backup-20261123T010203Z" {
		t.Errorf("backup dir = %s", b.Dir)
	}
	if err := b.Save(key); err != nil {
		t.Fatal(err)
	}
	if err := b.Save(filepath.Join(root, "absent.crt")); err != nil {
		t.Errorf("saving a missing file: %v", err)
	}
	copyPath := filepath.Join(b.Dir, "etcd", "server.key")
	got, err := os.ReadFile(copyPath)
	st, _ := os.Stat(copyPath)
	dst, _ := os.Stat(filepath.Dir(copyPath))
	if err != nil || string(got) != "secret" || st.Mode().Perm() != 0o600 || dst.Mode().Perm() != 0o700 {
		t.Errorf("backup = %q %v, mode %v, dir mode %v", got, err, st.Mode().Perm(), dst.Mode().Perm())
	}
}

// TestWriteErrorsNameThePath: what cannot be written is said of path, never
// of the temporary file, and nothing is left behind.
func TestWriteErrorsNameThePath(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ path, want string }{
		{filepath.Join(dir, "missing", "x"), filepath.Join(dir, "missing", "x") + ": directory " + filepath.Join(dir, "missing") + " does not exist"},
		{sub, sub + ": is a directory"},
		{filepath.Join(file, "x"), filepath.Join(file, "x") + ": " + file + " is not a directory"},
	} {
		err := Write(tt.path, []byte("x"), 0o644)
		if err == nil || err.Error() != tt.want || strings.Contains(err.Error(), ".tmp-") {
			t.Errorf("Write(%s) = %v, want %q", tt.path, err, tt.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("failed writes left files: %v", entries)
	}
}

// TestWriteExclusive: a file that exists is never written over; the error
// wraps fs.ErrExist, and no temporary file is left.
func TestWriteExclusive(t *testing.T) {
	tests := []struct {
		name    string
		before  string // "" no file
		wantErr bool
	}{
		{"new", "", false},
		{"exists", "first backup", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "config.kubecerts-backup-20261123T010203Z")
			if tt.before != "" {
				if err := os.WriteFile(p, []byte(tt.before), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err := WriteExclusive(p, []byte("second"), 0o600)
			got, _ := os.ReadFile(p)
			st, _ := os.Stat(p)
			switch {
			case tt.wantErr && (!errors.Is(err, fs.ErrExist) || !strings.HasPrefix(err.Error(), p+": ") || string(got) != tt.before):
				t.Errorf("err %v, content %q; want fs.ErrExist naming the file and %q kept", err, got, tt.before)
			case !tt.wantErr && (err != nil || string(got) != "second" || st.Mode().Perm() != 0o600):
				t.Errorf("err %v, content %q, mode %v", err, got, st.Mode().Perm())
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("files left: %v", entries)
			}
		})
	}
}

// TestNewBackupDirBesideARelativeRoot: the backup directory is beside the
// root, never inside it, whatever the form of the path given (--pki-dir .).
func TestNewBackupDirBesideARelativeRoot(t *testing.T) {
	base := t.TempDir()
	if real, err := filepath.EvalSymlinks(base); err == nil {
		base = real
	}
	pki := filepath.Join(base, "pki")
	if err := os.MkdirAll(filepath.Join(pki, "etcd"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(pki)
	now := time.Date(2026, 11, 23, 1, 2, 3, 0, time.UTC)
	want := filepath.Join(base, "pki-backup-20261123T010203Z")
	for _, root := range []string{".", "./", "../pki", pki, pki + "/", "etcd/.."} {
		t.Run(root, func(t *testing.T) {
			b := NewBackupDir(root, now)
			if b.Dir != want {
				t.Errorf("NewBackupDir(%q).Dir = %s, want %s", root, b.Dir, want)
			}
			if err := os.WriteFile(filepath.Join(pki, "etcd", "ca.crt"), []byte("ca"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := b.Save("etcd/ca.crt"); err != nil {
				t.Fatal(err)
			}
			if got, err := os.ReadFile(filepath.Join(want, "etcd", "ca.crt")); err != nil || string(got) != "ca" {
				t.Errorf("backup of etcd/ca.crt: %q %v", got, err)
			}
			os.RemoveAll(want)
		})
	}
}

// TestWriteInStaysInItsDirectory: once its directory is open, a write is
// not redirected by the directory's path being turned into a symbolic link
// to another (the race a user who owns the path can run against root
// rewriting a file of theirs), neither the replacement nor a backup.
func TestWriteInStaysInItsDirectory(t *testing.T) {
	base := t.TempDir()
	own, victim := filepath.Join(base, "own"), filepath.Join(base, "victim")
	for _, d := range []string{own, victim} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "passwd"), []byte(d), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenRoot(own)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	// The swap: own moves away, and its path now leads to victim.
	if err := os.Rename(own, own+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, own); err != nil {
		t.Fatal(err)
	}
	if err := WriteIn(root, "passwd", filepath.Join(own, "passwd"), []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteExclusiveIn(root, "passwd.backup", filepath.Join(own, "passwd.backup"), []byte("backup"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(victim, "passwd")); string(got) != victim {
		t.Errorf("the other directory's file was written: %q", got)
	}
	if _, err := os.Lstat(filepath.Join(victim, "passwd.backup")); err == nil {
		t.Error("the backup went to the other directory")
	}
	if got, _ := os.ReadFile(filepath.Join(own+".moved", "passwd")); string(got) != "new" {
		t.Errorf("the file of the directory opened has %q, want the new data", got)
	}
	if got, _ := os.ReadFile(filepath.Join(own+".moved", "passwd.backup")); string(got) != "backup" {
		t.Errorf("the backup in the directory opened has %q", got)
	}
	if err := WriteIn(root, ".", filepath.Join(own, "."), []byte("x"), 0o600); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("writing over the directory itself: %v", err)
	}
}
