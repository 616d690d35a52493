package rotate

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubecerts/kubecerts/shared/exitcode"
)

// privateDirNobody is the uid the tests give directories of "another
// user" (nobody on most systems); only root can.
const privateDirNobody = 65534

// privateDirCase is a directory the new keys could be written into, made
// under base by setup, and the error it must get (empty: accepted).
type privateDirCase struct {
	name string
	// setup makes what the case needs under base and returns the path to
	// give.
	setup func(t *testing.T, base string) string
	// asRoot: the setup gives files to another user, which needs root.
	asRoot bool
	// want is part of the error ("%[1]s" is the path given, "%[2]s" base,
	// "%[3]d" the running user's uid); empty: accepted.
	want string
	// cmd: the case is run through ca stage, sa-key and renew too.
	cmd bool
}

func privateMkdir(t *testing.T, path string, mode fs.FileMode) string {
	t.Helper()
	if err := os.MkdirAll(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func privateChown(t *testing.T, path string, uid int) {
	t.Helper()
	if err := os.Lchown(path, uid, uid); err != nil {
		t.Fatal(err)
	}
}

func privateSymlink(t *testing.T, target, link string) string {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	return link
}

// privateDirCases: a directory only the running user can change is
// accepted (0700 or 0755, one to be created in a directory of theirs or
// in a sticky one like /tmp); one others can write to, one of another
// user, and one others could replace (in a directory they can write to
// without the sticky bit, or of another user, or through a symbolic link
// of another user) are refused, naming the directory at fault, its mode
// and owner.
var privateDirCases = []privateDirCase{
	{name: "own 0700", cmd: true, setup: func(t *testing.T, b string) string { return privateMkdir(t, filepath.Join(b, "d"), 0o700) }},
	{name: "own 0755", cmd: true, setup: func(t *testing.T, b string) string { return privateMkdir(t, filepath.Join(b, "d"), 0o755) }},
	{name: "new, in an own dir", setup: func(t *testing.T, b string) string { return filepath.Join(b, "new") }},
	{name: "new and nested, in an own dir", setup: func(t *testing.T, b string) string { return filepath.Join(b, "a", "b", "new") }},
	{name: "new, in a sticky world-writable dir", cmd: true, setup: func(t *testing.T, b string) string {
		return filepath.Join(privateMkdir(t, filepath.Join(b, "tmp"), fs.ModeSticky|0o777), "new")
	}},
	{name: "own 0700, in a sticky world-writable dir", setup: func(t *testing.T, b string) string {
		return privateMkdir(t, filepath.Join(privateMkdir(t, filepath.Join(b, "tmp"), fs.ModeSticky|0o777), "d"), 0o700)
	}},
	{name: "own link to an own dir", setup: func(t *testing.T, b string) string {
		return privateSymlink(t, privateMkdir(t, filepath.Join(b, "d"), 0o700), filepath.Join(b, "link"))
	}},
	{name: "new, through a relative link to a sticky dir", setup: func(t *testing.T, b string) string {
		privateMkdir(t, filepath.Join(b, "tmp"), fs.ModeSticky|0o777)
		return filepath.Join(privateSymlink(t, "tmp", filepath.Join(b, "link")), "new")
	}},

	{name: "group-writable", cmd: true, setup: func(t *testing.T, b string) string { return privateMkdir(t, filepath.Join(b, "d"), 0o770) },
		want: "%[1]s: mode drwxrwx--- (0770), owner uid %[3]d: writable by others than its owner"},
	{name: "group-writable 0775", setup: func(t *testing.T, b string) string { return privateMkdir(t, filepath.Join(b, "d"), 0o775) },
		want: "%[1]s: mode drwxrwxr-x (0775), owner uid %[3]d: writable by others than its owner"},
	{name: "world-writable", cmd: true, setup: func(t *testing.T, b string) string { return privateMkdir(t, filepath.Join(b, "d"), 0o777) },
		want: "%[1]s: mode drwxrwxrwx (0777), owner uid %[3]d: writable by others than its owner"},
	{name: "world-writable, sticky", setup: func(t *testing.T, b string) string {
		return privateMkdir(t, filepath.Join(b, "d"), fs.ModeSticky|0o777)
	}, want: "%[1]s: mode dtrwxrwxrwx (1777), owner uid %[3]d: writable by others than its owner"},
	{name: "owned by another user", cmd: true, asRoot: true, setup: func(t *testing.T, b string) string {
		d := privateMkdir(t, filepath.Join(b, "d"), 0o700)
		privateChown(t, d, privateDirNobody)
		return d
	}, want: "%[1]s: mode drwx------ (0700), owner uid 65534: owned by another user than you (uid %[3]d)"},
	{name: "new, in a world-writable dir without the sticky bit", cmd: true, setup: func(t *testing.T, b string) string {
		return filepath.Join(privateMkdir(t, filepath.Join(b, "pub"), 0o777), "new")
	}, want: "%[1]s: %[2]s/pub, a directory on the way: mode drwxrwxrwx (0777), owner uid %[3]d: writable by others than its owner and not sticky"},
	{name: "new and nested, under a world-writable dir", setup: func(t *testing.T, b string) string {
		return filepath.Join(privateMkdir(t, filepath.Join(b, "pub"), 0o777), "a", "new")
	}, want: "%[1]s: %[2]s/pub, a directory on the way: mode drwxrwxrwx (0777), owner uid %[3]d: writable by others than its owner and not sticky"},
	{name: "new, in a group-writable dir", setup: func(t *testing.T, b string) string {
		return filepath.Join(privateMkdir(t, filepath.Join(b, "grp"), 0o770), "new")
	}, want: "%[1]s: %[2]s/grp, a directory on the way: mode drwxrwx--- (0770), owner uid %[3]d: writable by others than its owner and not sticky"},
	{name: "own 0700, in a world-writable dir without the sticky bit", cmd: true, setup: func(t *testing.T, b string) string {
		return privateMkdir(t, filepath.Join(privateMkdir(t, filepath.Join(b, "pub"), 0o777), "d"), 0o700)
	}, want: "%[1]s: %[2]s/pub, a directory on the way: mode drwxrwxrwx (0777), owner uid %[3]d: writable by others than its owner and not sticky"},
	{name: "new, in a dir of another user", asRoot: true, setup: func(t *testing.T, b string) string {
		d := privateMkdir(t, filepath.Join(b, "home"), 0o755)
		privateChown(t, d, privateDirNobody)
		return filepath.Join(d, "new")
	}, want: "%[1]s: %[2]s/home, a directory on the way: mode drwxr-xr-x (0755), owner uid 65534: another user's than you (uid %[3]d) or root"},
	{name: "new, in a sticky dir of another user", asRoot: true, setup: func(t *testing.T, b string) string {
		d := privateMkdir(t, filepath.Join(b, "tmp"), fs.ModeSticky|0o777)
		privateChown(t, d, privateDirNobody)
		return filepath.Join(d, "new")
	}, want: "%[1]s: %[2]s/tmp, a directory on the way: mode dtrwxrwxrwx (1777), owner uid 65534: another user's"},
	{name: "link of another user in a sticky dir", cmd: true, asRoot: true, setup: func(t *testing.T, b string) string {
		d := privateMkdir(t, filepath.Join(b, "d"), 0o700)
		link := privateSymlink(t, d, filepath.Join(privateMkdir(t, filepath.Join(b, "tmp"), fs.ModeSticky|0o777), "link"))
		privateChown(t, link, privateDirNobody)
		return link
	}, want: "%[1]s: %[2]s/tmp/link, a symbolic link on the way: owner uid 65534: another user's than you (uid %[3]d) or root"},
	{name: "own link to a world-writable dir", setup: func(t *testing.T, b string) string {
		return privateSymlink(t, privateMkdir(t, filepath.Join(b, "pub"), 0o777), filepath.Join(b, "link"))
	}, want: "%[1]s: %[2]s/pub: mode drwxrwxrwx (0777), owner uid %[3]d: writable by others than its owner"},
	{name: "new, through an own link into a world-writable dir", setup: func(t *testing.T, b string) string {
		link := privateSymlink(t, privateMkdir(t, filepath.Join(b, "pub"), 0o777), filepath.Join(b, "link"))
		return filepath.Join(link, "new")
	}, want: "%[1]s: %[2]s/pub, a directory on the way: mode drwxrwxrwx (0777), owner uid %[3]d: writable by others than its owner and not sticky"},
	{name: "a loop of links", setup: func(t *testing.T, b string) string {
		privateSymlink(t, filepath.Join(b, "l2"), filepath.Join(b, "l1"))
		return privateSymlink(t, filepath.Join(b, "l1"), filepath.Join(b, "l2"))
	}, want: "%[1]s: too many symbolic links"},
}

// privateDirRun sets c up under a new directory and returns the path to
// give, that directory, and the error wanted.
func privateDirRun(t *testing.T, c privateDirCase) (path, base, want string) {
	t.Helper()
	if !fileOwnersKnown {
		t.Skip("files have no POSIX owner here: checkPrivateDir checks nothing")
	}
	if c.asRoot && os.Geteuid() != 0 {
		t.Skip("giving a directory to another user needs root")
	}
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	path = c.setup(t, base)
	if c.want != "" {
		want = fmt.Sprintf(c.want, path, base, os.Geteuid())
	}
	return path, base, want
}

func TestCheckPrivateDir(t *testing.T) {
	for _, c := range privateDirCases {
		t.Run(c.name, func(t *testing.T) {
			path, _, want := privateDirRun(t, c)
			err := checkPrivateDir("--to", path)
			switch {
			case want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case want != "" && err == nil:
				t.Errorf("accepted, want %q", want)
			case want != "" && !strings.Contains(err.Error(), "--to "+want):
				t.Errorf("error %q\nwant it to contain %q", err, "--to "+want)
			case err != nil && strings.Contains(err.Error(), "\n"):
				t.Errorf("error of more than one line: %q", err)
			}
		})
	}
}

// TestMakePrivateDirCreates0700: a directory made for new keys, and the
// ones missing on the way, are 0700 whatever the umask lets through.
func TestMakePrivateDirCreates0700(t *testing.T) {
	if !fileOwnersKnown {
		t.Skip("files have no POSIX owner here")
	}
	base := t.TempDir()
	path := filepath.Join(base, "a", "new")
	if err := makePrivateDir("--to", path); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, filepath.Dir(path)} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: %v %v, want 0700", p, st.Mode(), err)
		}
	}
	pub := privateMkdir(t, filepath.Join(base, "pub"), 0o777)
	if err := makePrivateDir("--to", filepath.Join(pub, "new")); err == nil {
		t.Error("made a directory in a world-writable one")
	}
	if _, err := os.Stat(filepath.Join(pub, "new")); err == nil {
		t.Error("the refused directory was made")
	}
}

// TestPrivateStagingDirs runs the cases through the commands that write
// new keys: ca stage --to, sa-key --to and renew --csr-dir. A refused
// one is exit 1 with one error line naming the flag, the path and the
// mode, and nothing is written; an accepted one writes the new keys
// 0600 into it.
func TestPrivateStagingDirs(t *testing.T) {
	commands := []struct {
		name, flag string
		// run runs the command with dir and returns its stderr and exit
		// status, and the key file it writes.
		run func(t *testing.T, dir string) (stderr string, code int, key string)
	}{
		{"ca stage", "--to", func(t *testing.T, dir string) (string, int, string) {
			live := livePKI(t, layouts["kubeadm"])
			_, errOut, code := runRotate(t, "ca", "stage", "--from", live, "--to", dir)
			return errOut, code, filepath.Join(dir, "ca.key")
		}},
		{"sa-key", "--to", func(t *testing.T, dir string) (string, int, string) {
			live := livePKI(t, layouts["k3s"])
			_, errOut, code := runRotate(t, "sa-key", "--from", live, "--to", dir)
			return errOut, code, filepath.Join(dir, "service.key")
		}},
		{"renew", "--csr-dir", func(t *testing.T, dir string) (string, int, string) {
			fx := newRenewFixture(t, 0)
			code, _, errOut := runRenewRaw(t, fx, nil, "apiserver", "--csr-only", "--csr-dir", dir)
			return errOut, code, filepath.Join(dir, "apiserver.key")
		}},
	}
	for _, cmd := range commands {
		for _, c := range privateDirCases {
			if !c.cmd {
				continue
			}
			t.Run(cmd.name+"/"+c.name, func(t *testing.T) {
				path, base, want := privateDirRun(t, c)
				before := snapshot(t, base)
				errOut, code, key := cmd.run(t, path)
				if want == "" {
					if code != 0 {
						t.Fatalf("exit %d: %s", code, errOut)
					}
					if st, err := os.Stat(key); err != nil || st.Mode().Perm() != 0o600 {
						t.Errorf("%s: %v %v", key, st, err)
					}
					return
				}
				want = cmd.flag + " " + want
				if code != exitcode.Error || strings.Count(errOut, "error: ") != 1 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, want) {
					t.Errorf("exit %d, stderr %q\nwant exit 1 and one error line with %q", code, errOut, want)
				}
				if snapshot(t, base) != before {
					t.Error("a refused command changed files")
				}
			})
		}
	}
}
