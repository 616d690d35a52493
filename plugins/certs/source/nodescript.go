package source

import (
	_ "embed"
	"fmt"
	"path"
	"strings"
)

// nodeScriptTemplate is the shell script (POSIX sh) each node runs; #FILES#
// becomes one call per file or glob.
//
//go:embed nodes.sh
var nodeScriptTemplate string

// Files on an AKS node checked by default. A default file the node does not
// have is reported as skipped, not as an error.
const (
	NodeCertsGlob = "/etc/kubernetes/certs/*.crt"
	KubeletPKIDir = "/var/lib/kubelet/pki"
)

// DefaultNodeFiles are the defaults, the glob first.
var DefaultNodeFiles = []string{
	NodeCertsGlob,
	KubeletPKIDir + "/kubelet-client-current.pem", // the kubelet's client certificate and private key
	KubeletPKIDir + "/kubelet.crt",
	KubeletPKIDir + "/kubelet-server-current.pem",
}

// NodeScript is the script sent to every node: the default files, then
// extra (each a literal path, quoted).
func NodeScript(extra []string) string {
	var calls strings.Builder
	calls.WriteString("for f in " + NodeCertsGlob + "; do k \"$f\"; done\n")
	for _, f := range DefaultNodeFiles[1:] {
		calls.WriteString("k " + f + "\n")
	}
	for _, f := range extra {
		calls.WriteString("k " + shellQuote(f) + "\n")
	}
	return strings.Replace(nodeScriptTemplate, "#FILES#\n", calls.String(), 1)
}

// shellQuote quotes s for sh: no expansion of any kind.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// isDefaultNodeFile is true for the default files, and for a file the
// default glob names (or the glob itself, when it matched nothing).
func isDefaultNodeFile(p string) bool {
	for _, f := range DefaultNodeFiles {
		if p == f {
			return true
		}
	}
	ok, _ := path.Match(NodeCertsGlob, p)
	return ok
}

// ValidNodePath checks a --node-cert-path: absolute, and without the
// characters the script's output format cannot carry.
func ValidNodePath(p string) error {
	switch {
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("%q: not an absolute path", p)
	case strings.ContainsAny(p, "|\n\r\x00"):
		return fmt.Errorf("%q: must not contain '|', a line break or NUL", p)
	case len(p) > 1024:
		return fmt.Errorf("%q: longer than 1,024 bytes", p)
	}
	return nil
}
