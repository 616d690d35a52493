package source

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// DefaultK3sDir is k3s's data directory.
const DefaultK3sDir = "/var/lib/rancher/k3s"

// K3sDir reads a k3s data directory: the server's certificates under
// server/tls (its CAs server-ca, client-ca, request-header-ca, etcd/peer-ca
// and etcd/server-ca, and every other *.crt there and in server/tls/etcd)
// and the agent's under agent. Names are the file names without .crt
// (etcd/… for server/tls/etcd); the CA name is the k3s CA whose signature
// the certificate carries; a CA is externally managed when its key is not
// in server/tls, and a certificate when its CA's is not.
//
// Private keys are never read; a *.key file is only checked for existence.
type K3sDir struct {
	// Dir is the data directory; default /var/lib/rancher/k3s.
	Dir string
}

// k3sDirSource is the K3sDir source's name.
const k3sDirSource = "k3s-dir"

// Name implements Source.
func (k *K3sDir) Name() string { return k3sDirSource }

// k3sCAs are the CAs a k3s server keeps in server/tls, by name (the path
// under server/tls without .crt).
var k3sCAs = []string{"server-ca", "client-ca", "request-header-ca", "etcd/peer-ca", "etcd/server-ca"}

// k3sScan is one Collect of a K3sDir.
type k3sScan struct {
	tls, agent string
	sink       Sink
	cas        *dirCAs
	files      []*dirCert
	// serverCAs are the CAs read from server/tls, agentCAs the agent's
	// copies of them.
	serverCAs map[string]*x509.Certificate
	agentCAs  []*dirCert
}

// Collect implements Source.
func (k *K3sDir) Collect(ctx context.Context, sink Sink) {
	dir := cmp.Or(k.Dir, DefaultK3sDir)
	if err := dirCheck(dir); err != nil {
		sink.Error(k3sDirSource, dir, err)
		return
	}
	s := &k3sScan{
		tls:       filepath.Join(dir, "server", "tls"),
		agent:     filepath.Join(dir, "agent"),
		sink:      sink,
		cas:       newDirCAs(),
		serverCAs: map[string]*x509.Certificate{},
	}
	if s.present(s.tls) {
		s.readServer(ctx)
	}
	if s.present(s.agent) {
		s.readAgent(ctx)
	}
	if ctx.Err() != nil {
		sink.Error(k3sDirSource, dir, ctx.Err())
		return
	}
	for _, note := range s.staleAgentCAs() {
		sink.Note(note)
	}
	dirReport(sink, k3sDirSource, s.cas, s.files)
}

// present reports whether dir is a directory, reporting it as skipped
// ("missing": an agent-only node has no server/tls) or as an error when not.
func (s *k3sScan) present(dir string) bool {
	err := dirCheck(dir)
	switch {
	case err == nil:
		return true
	case errors.Is(err, fs.ErrNotExist):
		s.sink.Skipped(k3sDirSource, dir, "missing")
	default:
		s.sink.Error(k3sDirSource, dir, err)
	}
	return false
}

// readServer reads the CAs of server/tls, then every other *.crt of
// server/tls and server/tls/etcd.
func (s *k3sScan) readServer(ctx context.Context) {
	known := map[string]bool{}
	for _, name := range k3sCAs {
		known[name] = true
		if f := s.read(filepath.Join(s.tls, name+".crt"), name, true, s.serverKey(name)); f != nil {
			s.serverCAs[name] = f.certs[0]
		}
	}
	for _, sub := range []string{"", "etcd"} {
		for _, name := range s.crtNames(filepath.Join(s.tls, sub), sub) {
			if ctx.Err() != nil {
				return
			}
			if !known[name] {
				s.read(filepath.Join(s.tls, name+".crt"), name, false, s.serverKey(name))
			}
		}
	}
}

// readAgent reads every *.crt of the agent directory. The agent's copies of
// client-ca and server-ca are the server's CAs: their keys, on a server
// node, are in server/tls.
func (s *k3sScan) readAgent(ctx context.Context) {
	for _, name := range s.crtNames(s.agent, "") {
		if ctx.Err() != nil {
			return
		}
		key := filepath.Join(s.agent, name+".key")
		if slices.Contains(k3sCAs, name) {
			key = s.serverKey(name)
		}
		f := s.read(filepath.Join(s.agent, name+".crt"), name, false, key)
		if f != nil && slices.Contains(k3sCAs, name) {
			s.agentCAs = append(s.agentCAs, f)
		}
	}
}

// serverKey is the key file of the CA or certificate called name.
func (s *k3sScan) serverKey(name string) string {
	return filepath.Join(s.tls, name+".key")
}

// crtNames lists the *.crt files of dir as names (sub/base without .crt),
// sorted; a directory that cannot be listed is an error, one that does not
// exist (server/tls/etcd without embedded etcd) is nothing.
func (s *k3sScan) crtNames(dir, sub string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.sink.Error(k3sDirSource, dir, err)
		}
		return nil
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".crt") {
			names = append(names, filepath.ToSlash(filepath.Join(sub, strings.TrimSuffix(e.Name(), ".crt"))))
		}
	}
	sort.Strings(names)
	return names
}

// read reads one file; a CA in it joins the CAs, externally managed when
// key does not exist.
func (s *k3sScan) read(path, name string, expected bool, key string) *dirCert {
	f := dirRead(s.sink, k3sDirSource, path, name, expected)
	if f == nil {
		return nil
	}
	s.files = append(s.files, f)
	if f.certs[0].IsCA {
		s.cas.add(&dirCA{name: name, cert: f.certs[0], external: dirKeyAbsent(key)})
	}
	return f
}

// staleAgentCAs notes agent copies of a CA that differ from the server's,
// as after a CA rotation the agent has not picked up.
func (s *k3sScan) staleAgentCAs() []string {
	var notes []string
	for _, f := range s.agentCAs {
		server := s.serverCAs[f.name]
		if server == nil || server.Equal(f.certs[0]) {
			continue
		}
		notes = append(notes, fmt.Sprintf("%s differs from %s: the agent has not picked up the server's %s (restart the agent after a CA rotation)",
			f.location, filepath.Join(s.tls, f.name+".crt"), f.name))
	}
	return notes
}
