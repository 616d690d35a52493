package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/fserr"
)

// Files reads certificate files named by paths or glob patterns (--file):
// PEM bundles, DER, base64 of either, and kubeconfig files.
type Files struct {
	Patterns []string
}

// Name implements Source.
func (f *Files) Name() string { return "file" }

// Collect implements Source.
func (f *Files) Collect(ctx context.Context, sink Sink) {
	for _, pattern := range f.Patterns {
		paths, err := expand(pattern)
		if err != nil {
			sink.Error(f.Name(), pattern, err)
			continue
		}
		for _, path := range paths {
			if ctx.Err() != nil {
				sink.Error(f.Name(), path, ctx.Err())
				return
			}
			ReadCertificateFile(f.Name(), path, sink)
		}
	}
}

// expand resolves a path or glob; a glob that matches nothing and a path
// that does not exist are errors, and so is a directory (its files are
// given with DIR/*).
func expand(pattern string) ([]string, error) {
	if !strings.ContainsAny(pattern, "*?[") {
		st, err := os.Stat(pattern)
		if err != nil {
			return nil, err
		}
		if st.IsDir() {
			return nil, fmt.Errorf("%s: is a directory (give its files with --file '%s')", pattern, filepath.Join(pattern, "*"))
		}
		return []string{pattern}, nil
	}
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("%s: bad pattern: %v", pattern, err)
	}
	var files []string
	for _, m := range matches {
		if st, err := os.Stat(m); err == nil && !st.IsDir() {
			files = append(files, m)
		}
	}
	if len(files) == 0 {
		// Glob ignores I/O errors: a directory that cannot be listed
		// matches nothing, and the reason is what the user needs.
		dir := filepath.Dir(pattern)
		for strings.ContainsAny(dir, "*?[") {
			dir = filepath.Dir(dir)
		}
		if _, err := os.ReadDir(dir); err != nil {
			return nil, fmt.Errorf("%s: no files match: cannot read directory %s: %v", pattern, dir, fserr.Cause(err))
		}
		return nil, fmt.Errorf("%s: no files match", pattern)
	}
	sort.Strings(files)
	return files, nil
}

// ReadCertificateFile reports the certificates of one file; a kubeconfig
// file is read as one (every user's client certificate and every cluster's
// CA).
func ReadCertificateFile(source, path string, sink Sink) {
	if looksLikeKubeconfig(path) {
		readKubeconfigFile(source, path, sink)
		return
	}
	b, err := certificate.ReadFile(path)
	if errors.Is(err, certificate.ErrNoCertificate) && parsesAsKubeconfig(path) {
		// The quick look at the head missed it: a JSON kubeconfig, or one
		// whose embedded CAs push contexts: and kind: past the head.
		readKubeconfigFile(source, path, sink)
		return
	}
	if err != nil {
		sink.Error(source, path, err)
		if b == nil {
			return
		}
	}
	for i, c := range b.Certificates {
		loc := path
		if len(b.Certificates) > 1 {
			loc = fmt.Sprintf("%s [%d]", path, i)
		}
		sink.Found(source, Found{Cert: c, Location: loc, Notes: b.Notes()})
	}
}

// looksLikeKubeconfig peeks at the start of a file for a kubeconfig's
// top-level keys, so that a broken kubeconfig is reported as one; the keys
// may come later (parsesAsKubeconfig catches those that load).
func looksLikeKubeconfig(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 4096)
	n, _ := f.Read(head)
	head = head[:n]
	if bytes.Contains(head, []byte("-----BEGIN")) {
		return false
	}
	return bytes.Contains(head, []byte("kind: Config")) ||
		(bytes.Contains(head, []byte("clusters:")) && bytes.Contains(head, []byte("contexts:")))
}

// parsesAsKubeconfig reports whether a file that holds no certificate is a
// kubeconfig after all, in YAML or JSON: clientcmd loads it and it defines
// a cluster, a user or a context (clientcmd accepts any YAML mapping as an
// empty kubeconfig, which is not one).
func parsesAsKubeconfig(path string) bool {
	st, err := os.Stat(path)
	if err != nil || st.Size() > certificate.MaxFileSize {
		return false
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	cfg, err := clientcmd.Load(data)
	return err == nil && len(cfg.Clusters)+len(cfg.AuthInfos)+len(cfg.Contexts) > 0
}

func readKubeconfigFile(source, path string, sink Sink) {
	cfg, err := LoadKubeconfigFile(path)
	if err != nil {
		sink.Error(source, path, err)
		return
	}
	names := func(m map[string]bool) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	users, clusters := map[string]bool{}, map[string]bool{}
	for n := range cfg.AuthInfos {
		users[n] = true
	}
	for n := range cfg.Clusters {
		clusters[n] = true
	}
	found := 0
	for _, n := range names(users) {
		cred, err := UserCredential(cfg.AuthInfos[n])
		found += reportCredential(source, fmt.Sprintf("%s (user %s)", path, n), cred, err, sink)
	}
	for _, n := range names(clusters) {
		cred, err := ClusterCredential(cfg.Clusters[n])
		found += reportCredential(source, fmt.Sprintf("%s (cluster %s)", path, n), cred, err, sink)
	}
	if found == 0 {
		sink.Skipped(source, path, "a kubeconfig without certificates")
	}
}

func reportCredential(source, loc string, cred *Credential, err error, sink Sink) int {
	if err != nil {
		sink.Error(source, loc, err)
		return 1
	}
	if cred == nil {
		return 0
	}
	for i, c := range cred.Bundle.Certificates {
		l := loc + " " + cred.Where
		if len(cred.Bundle.Certificates) > 1 {
			l += fmt.Sprintf(" [%d]", i)
		}
		sink.Found(source, Found{Cert: c, Location: l, Notes: cred.Bundle.Notes()})
	}
	return len(cred.Bundle.Certificates)
}
