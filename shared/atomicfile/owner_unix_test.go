//go:build unix

package atomicfile

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestWriteKeepsTheOwner: a file replaced keeps its owner and group (run as
// root, as the tests run here: a root-run command rewriting a file another
// user owns must not leave it root's). A new file is the caller's.
func TestWriteKeepsTheOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files away")
	}
	tests := []struct {
		name          string
		exists        bool
		uid, gid      int
		wantUID, wGID int
	}{
		{"nobody's file", true, 65534, 65534, 65534, 65534},
		{"another user, root's group", true, 1000, 0, 1000, 0},
		{"root's file", true, 0, 0, 0, 0},
		{"a new file", false, 0, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "etcd.key")
			if tt.exists {
				if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chown(p, tt.uid, tt.gid); err != nil {
					t.Fatal(err)
				}
			}
			if err := Write(p, []byte("new"), 0o600); err != nil {
				t.Fatal(err)
			}
			uid, gid := owner(t, p)
			got, _ := os.ReadFile(p)
			if uid != tt.wantUID || gid != tt.wGID || string(got) != "new" {
				t.Errorf("owner %d:%d, content %q; want %d:%d, new", uid, gid, got, tt.wantUID, tt.wGID)
			}
		})
	}
}

func owner(t *testing.T, path string) (uid, gid int) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	s := st.Sys().(*syscall.Stat_t)
	return int(s.Uid), int(s.Gid)
}
