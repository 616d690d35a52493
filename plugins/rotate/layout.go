package rotate

import (
	"fmt"
	"os"
	"path/filepath"
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
func layoutFor(name, dir string) (layout, error) {
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
	return layout{}, fmt.Errorf("%s: neither a kubeadm PKI (ca.crt) nor a k3s TLS directory (server-ca.crt); give --layout", dir)
}

// sameDir reports whether a and b are the same directory, symlinks resolved.
func sameDir(a, b string) bool {
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	if err1 != nil || err2 != nil {
		ra, rb = filepath.Clean(a), filepath.Clean(b)
	}
	aa, _ := filepath.Abs(ra)
	ab, _ := filepath.Abs(rb)
	return aa == ab
}
