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

// caFiles names one CA of a layout and its files, relative to the PKI dir.
type caFiles struct {
	Name string
	Cert string
	Key  string
}

// layout is the set of CA files a distribution keeps in its PKI directory.
type layout struct {
	Name string
	CAs  []caFiles
	// ServerCA is the CA whose hash joins nodes (k3s tokens, kubeadm's
	// discovery hash).
	ServerCA string
	// SAKey holds the service-account signing key(s); SAPub, when set, the
	// public keys the API server accepts (kubeadm).
	SAKey string
	SAPub string
}

var layouts = map[string]layout{
	"kubeadm": {
		Name: "kubeadm",
		CAs: []caFiles{
			{"ca", "ca.crt", "ca.key"},
			{"front-proxy-ca", "front-proxy-ca.crt", "front-proxy-ca.key"},
			{"etcd-ca", "etcd/ca.crt", "etcd/ca.key"},
		},
		ServerCA: "ca",
		SAKey:    "sa.key",
		SAPub:    "sa.pub",
	},
	"k3s": {
		Name: "k3s",
		CAs: []caFiles{
			{"server-ca", "server-ca.crt", "server-ca.key"},
			{"client-ca", "client-ca.crt", "client-ca.key"},
			{"request-header-ca", "request-header-ca.crt", "request-header-ca.key"},
			{"etcd/peer-ca", "etcd/peer-ca.crt", "etcd/peer-ca.key"},
			{"etcd/server-ca", "etcd/server-ca.crt", "etcd/server-ca.key"},
		},
		ServerCA: "server-ca",
		SAKey:    "service.key",
	},
}

// layoutFor returns the named layout, or detects it from dir's files when
// name is empty.
// flag names the directory's flag in the error.
func layoutFor(name, flag, dir string) (layout, error) {
	if name != "" {
		l, ok := layouts[name]
		if !ok {
			return layout{}, fmt.Errorf("--layout %q: use kubeadm or k3s", name)
		}
		return l, nil
	}
	for _, n := range []string{"k3s", "kubeadm"} {
		if _, err := os.Stat(filepath.Join(dir, layouts[n].CAs[0].Cert)); err == nil {
			return layouts[n], nil
		}
	}
	return layout{}, fmt.Errorf("%s %s: neither a kubeadm PKI (ca.crt) nor a k3s TLS directory (server-ca.crt); give --layout", flag, dir)
}

// sameDir reports whether a and b are the same directory: the same path
// once made absolute with symbolic links resolved (see resolvePath; either
// may not exist yet), or, both existing, the same file (a bind mount).
func sameDir(a, b string) bool {
	if resolvePath(a) == resolvePath(b) {
		return true
	}
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// checkDir returns an error naming flag and path unless path is an existing
// directory.
func checkDir(flag, path string) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s %s: no such directory", flag, path)
	case err != nil:
		return fmt.Errorf("%s %s: %v", flag, path, fserr.Cause(err))
	case !st.IsDir():
		return fmt.Errorf("%s %s: not a directory", flag, path)
	}
	return nil
}

// checkStagingDir returns an error naming --to unless path does not exist
// yet or is a directory; with empty, the directory must also be empty.
// Either way only the running user and root may be able to change it
// (checkPrivateDir).
func checkStagingDir(path string, empty bool) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return checkPrivateDir("--to", path)
	case err != nil:
		return fmt.Errorf("--to %s: %v", path, fserr.Cause(err))
	case !st.IsDir():
		return fmt.Errorf("--to %s: not a directory", path)
	case !empty:
		return checkPrivateDir("--to", path)
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return fmt.Errorf("--to %s: %v", path, fserr.Cause(err))
	}
	if len(entries) > 0 {
		return fmt.Errorf("--to %s: not empty (it holds %s): stage into a new or empty directory, so that nothing staged before is overwritten", path, entries[0].Name())
	}
	return checkPrivateDir("--to", path)
}

// resolvePath is path absolute and cleaned, with symbolic links resolved
// in its longest existing ancestor (the rest may not exist yet).
func resolvePath(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = filepath.Clean(path)
	}
	var rest []string
	for p := abs; ; p = filepath.Dir(p) {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(append([]string{r}, rest...)...)
		}
		if filepath.Dir(p) == p {
			return abs
		}
		rest = append([]string{filepath.Base(p)}, rest...)
	}
}

// within reports whether path is dir or inside it, symbolic links resolved.
func within(path, dir string) bool {
	rel, err := filepath.Rel(resolvePath(dir), resolvePath(path))
	return err == nil && !filepath.IsAbs(rel) && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// refuseLive returns an error when to (a staging directory) is the live
// directory from or inside it.
func refuseLive(to, from string) error {
	switch {
	case sameDir(from, to):
		return fmt.Errorf("--to %s is the live directory: stage into a separate directory, never over the live one", to)
	case within(to, from):
		return fmt.Errorf("--to %s is inside the live directory %s: stage outside it", to, from)
	}
	return nil
}
