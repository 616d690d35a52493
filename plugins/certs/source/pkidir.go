package source

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/kubeadm"
)

// Where kubeadm and the kubelet keep their files.
const (
	DefaultPKIDir        = kubeadm.DefaultPKIDir
	DefaultKubeconfigDir = kubeadm.DefaultKubeconfigDir
	DefaultKubeletPKIDir = kubeadm.DefaultKubeletPKIDir
)

// PKIDir reads a kubeadm PKI directory and reports what
// `kubeadm certs check-expiration` reports, under kubeadm's names and with
// kubeadm's CERTIFICATE AUTHORITY and EXTERNALLY MANAGED columns: the CAs
// ca, front-proxy-ca and etcd-ca, the certificates they sign (apiserver,
// etcd-server, …), and the client certificates of admin.conf,
// super-admin.conf, controller-manager.conf and scheduler.conf. It adds what
// kubeadm leaves out: every other *.crt under Dir (its CA found by
// signature), kubelet.conf, and the kubelet's own certificates.
//
// Private keys are never read: a *.key file is only checked for existence,
// and key blocks inside certificate files are skipped unread.
type PKIDir struct {
	// Dir is kubeadm's certificatesDir; default /etc/kubernetes/pki.
	Dir string
	// KubeconfigDir holds admin.conf and the other kubeconfig files;
	// default /etc/kubernetes.
	KubeconfigDir string
	// KubeletPKIDir holds the kubelet's certificates; default
	// /var/lib/kubelet/pki.
	KubeletPKIDir string
	// NoKubelet leaves the kubelet's certificates out: Dir is a copy whose
	// node's kubelet directory is not known, and the host's is not it.
	NoKubelet bool
}

// pkiDirSource is the PKIDir source's name.
const pkiDirSource = "pki-dir"

// Name implements Source.
func (p *PKIDir) Name() string { return pkiDirSource }

// kubeadmCA is one of kubeadm's CAs: its name in kubeadm's output and its
// file's base name under the certificates directory.
type kubeadmCA struct{ name, base string }

// kubeadmCAs and kubeadmLeaves are kubeadm's certificate tree
// (certsphase.GetDefaultCertList, kept in shared/kubeadm); each leaf names
// the CA that signs it.
var (
	kubeadmCAs    = kubeadmCAList()
	kubeadmLeaves = kubeadmLeafList()
	// kubeadmKubeconfigs are the kubeconfig files whose client certificate
	// kubeadm checks and renews; all are signed by ca.
	kubeadmKubeconfigs = kubeadm.KubeconfigNames()
)

func kubeadmCAList() []kubeadmCA {
	out := make([]kubeadmCA, 0, len(kubeadm.CAs))
	for _, ca := range kubeadm.CAs {
		out = append(out, kubeadmCA{ca.Name, ca.BaseName})
	}
	return out
}

func kubeadmLeafList() []struct{ name, base, ca string } {
	out := make([]struct{ name, base, ca string }, 0, len(kubeadm.Leaves))
	for _, l := range kubeadm.Leaves {
		out = append(out, struct{ name, base, ca string }{l.Name, l.BaseName, l.CA})
	}
	return out
}

// pkiKubeletKubeconfig is kubelet.conf, which kubeadm leaves to the kubelet.
const pkiKubeletKubeconfig = "kubelet.conf"

// pkiKubeletFiles are the kubelet's certificates under KubeletPKIDir; the
// serving certificate of serverTLSBootstrap is reported only when present.
var pkiKubeletFiles = []struct {
	file, name string
	expected   bool
}{
	{"kubelet-client-current.pem", "kubelet-client-current", true},
	{"kubelet.crt", "kubelet", true},
	{"kubelet-server-current.pem", "kubelet-server-current", false},
}

// pkiScan is one Collect of a PKIDir: what was read so far.
type pkiScan struct {
	dir, kubeconfigDir, kubeletDir string
	sink                           Sink
	cas                            *dirCAs
	files                          []*dirCert
	// kubeadmRead holds kubeadm's files that were read, by base name
	// (etcd/ca) or kubeconfig file name (admin.conf).
	kubeadmRead map[string]*dirCert
	// unreadable: subdirectories that exist and cannot be listed.
	unreadable map[string]bool
}

// Collect implements Source.
func (p *PKIDir) Collect(ctx context.Context, sink Sink) {
	s := &pkiScan{
		dir:           cmp.Or(p.Dir, DefaultPKIDir),
		kubeconfigDir: cmp.Or(p.KubeconfigDir, DefaultKubeconfigDir),
		kubeletDir:    cmp.Or(p.KubeletPKIDir, DefaultKubeletPKIDir),
		sink:          sink,
		cas:           newDirCAs(),
		kubeadmRead:   map[string]*dirCert{},
	}
	if err := dirCheck(s.dir); err != nil {
		sink.Error(p.Name(), s.dir, err)
		return
	}
	s.readKubeadmCAs()
	s.readKubeadmLeaves()
	if err := s.readOthers(ctx); err != nil {
		sink.Error(p.Name(), s.dir, err)
		return
	}
	referenced := s.readKubeconfigs()
	if !p.NoKubelet {
		s.readKubelet(referenced)
	}
	for _, note := range s.kubeadmRefusals() {
		sink.Note(note)
	}
	dirReport(sink, p.Name(), s.cas, s.files)
}

func (s *pkiScan) name() string { return pkiDirSource }

func (s *pkiScan) crtPath(base string) string { return filepath.Join(s.dir, base+".crt") }
func (s *pkiScan) keyPath(base string) string { return filepath.Join(s.dir, base+".key") }

// readKubeadmCAs reads ca, front-proxy-ca and etcd-ca. kubeadm's external
// CA mode (certsphase.UsingExternalCA and its front-proxy and etcd
// siblings) is a CA certificate that is a CA and whose key file does not
// exist; any other outcome of os.Stat on the key counts as present.
func (s *pkiScan) readKubeadmCAs() {
	for _, ca := range kubeadmCAs {
		f := s.read(s.crtPath(ca.base), ca.name, true)
		if f == nil {
			continue
		}
		f.role = dirRoleCA
		s.kubeadmRead[ca.base] = f
		first := f.certs[0]
		s.cas.add(&dirCA{name: ca.name, cert: first, external: first.IsCA && dirKeyAbsent(s.keyPath(ca.base))})
	}
}

// readKubeadmLeaves reads the certificates of kubeadm's tree; their CA is
// the one the tree names, as in kubeadm's output.
func (s *pkiScan) readKubeadmLeaves() {
	for _, l := range kubeadmLeaves {
		if f := s.read(s.crtPath(l.base), l.name, true); f != nil {
			f.role, f.ca = dirRoleSignedBy, l.ca
			s.kubeadmRead[l.base] = f
		}
	}
}

// readOthers reads every other *.crt under the directory, in parallel; a
// CA among them joins the CAs that other certificates are matched against.
func (s *pkiScan) readOthers(ctx context.Context) error {
	paths, err := s.otherPaths(ctx)
	if err != nil {
		return err
	}
	files := make([]*dirCert, len(paths))
	dirParallel(len(paths), func(i int) {
		if ctx.Err() == nil {
			rel, _ := filepath.Rel(s.dir, paths[i])
			files[i] = dirRead(s.sink, s.name(), paths[i], strings.TrimSuffix(filepath.ToSlash(rel), ".crt"), false)
		}
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	for i, f := range files {
		if f == nil {
			continue
		}
		s.files = append(s.files, f)
		if f.certs[0].IsCA {
			key := strings.TrimSuffix(paths[i], ".crt") + ".key"
			s.cas.add(&dirCA{name: f.name, cert: f.certs[0], external: dirKeyAbsent(key)})
		}
	}
	return nil
}

// otherPaths lists the *.crt files under the directory that are not
// kubeadm's, in lexical order; a subdirectory that cannot be read is an
// error and the walk goes on.
func (s *pkiScan) otherPaths(ctx context.Context) ([]string, error) {
	known := map[string]bool{}
	for _, ca := range kubeadmCAs {
		known[s.crtPath(ca.base)] = true
	}
	for _, l := range kubeadmLeaves {
		known[s.crtPath(l.base)] = true
	}
	// WalkDir does not descend into a root that is a symbolic link to a
	// directory (a --pki-dir pointing at a mounted copy): walk the directory
	// it resolves to, and name what is found under the path the user gave.
	root, err := filepath.EvalSymlinks(s.dir)
	if err != nil {
		return nil, err
	}
	given := func(path string) string {
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return path
		}
		return filepath.Join(s.dir, rel)
	}
	var paths []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		path = given(path)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = &fs.PathError{Op: pe.Op, Path: given(pe.Path), Err: pe.Err}
			}
			s.sink.Error(s.name(), path, err)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".crt") && !known[path] {
			paths = append(paths, path)
		}
		return nil
	})
	return paths, err
}

// readKubeconfigs reads the client certificates of kubeadm's kubeconfig
// files and kubelet.conf, and returns the file kubelet.conf's
// client-certificate names, if any.
func (s *pkiScan) readKubeconfigs() string {
	if err := dirCheck(s.kubeconfigDir); err != nil {
		s.skipOrError(s.kubeconfigDir, err)
		return ""
	}
	for _, name := range kubeadmKubeconfigs {
		if f, _ := s.readKubeconfig(name); f != nil {
			f.role, f.ca = dirRoleSignedBy, "ca"
			s.kubeadmRead[name] = f
		}
	}
	_, referenced := s.readKubeconfig(pkiKubeletKubeconfig)
	return referenced
}

// readKubeconfig reads the client certificate of the current context's user,
// the one kubeadm renews, and returns the file it was read from when the
// kubeconfig names one rather than embedding it.
func (s *pkiScan) readKubeconfig(name string) (*dirCert, string) {
	path := filepath.Join(s.kubeconfigDir, name)
	if _, err := os.Stat(path); err != nil {
		s.skipOrError(path, err)
		return nil, ""
	}
	cfg, err := LoadKubeconfigFile(path)
	if err != nil {
		s.sink.Error(s.name(), path, err)
		return nil, ""
	}
	kctx := cfg.Contexts[cfg.CurrentContext]
	if kctx == nil {
		s.sink.Error(s.name(), path, fmt.Errorf("%s: current-context %q is not one of its contexts", path, cfg.CurrentContext))
		return nil, ""
	}
	loc := fmt.Sprintf("%s (user %s)", path, kctx.AuthInfo)
	user := cfg.AuthInfos[kctx.AuthInfo]
	if user == nil {
		s.sink.Error(s.name(), loc, fmt.Errorf("%s: user %q of context %q is not defined", path, kctx.AuthInfo, cfg.CurrentContext))
		return nil, ""
	}
	referenced := ""
	if len(user.ClientCertificateData) == 0 {
		referenced = user.ClientCertificate
	}
	cred, err := UserCredential(user)
	if err != nil {
		s.sink.Error(s.name(), loc, fmt.Errorf("%s: %w", loc, err))
		return nil, referenced
	}
	if cred == nil {
		s.sink.Skipped(s.name(), loc, "no client certificate")
		return nil, ""
	}
	f := &dirCert{location: loc + " " + cred.Where, name: name, certs: cred.Bundle.Certificates, notes: cred.Bundle.Notes(), role: dirRoleFind}
	s.files = append(s.files, f)
	return f, referenced
}

// readKubelet reads the kubelet's certificate files, but not the one
// kubelet.conf already named.
func (s *pkiScan) readKubelet(referenced string) {
	if err := dirCheck(s.kubeletDir); err != nil {
		s.skipOrError(s.kubeletDir, err)
		return
	}
	for _, k := range pkiKubeletFiles {
		path := filepath.Join(s.kubeletDir, k.file)
		if referenced != "" && dirSameFile(path, referenced) {
			continue
		}
		s.read(path, k.name, k.expected)
	}
}

// kubeadmRefusals says when `kubeadm certs check-expiration` (and renew)
// fail on the directory although the files are there: a CA that is missing
// or unreadable while certificates it signs exist, a CA certificate that is
// not a CA, and a CA in external mode whose certificates kubeadm cannot
// validate (certsphase.UsingExternalCA and its siblings, which kubeadm runs
// for the CA and for each certificate it signs).
func (s *pkiScan) kubeadmRefusals() []string {
	var notes []string
	for _, ca := range kubeadmCAs {
		path := s.crtPath(ca.base)
		c := s.cas.byName[ca.name]
		switch {
		case c == nil:
			// kubeadm checks a CA when it checks a certificate it signs.
			if dependents := s.kubeadmDependents(ca.name); len(dependents) > 0 {
				notes = append(notes, fmt.Sprintf("%s is missing or unreadable while %s, which it signs, exist: kubeadm certs check-expiration and renew fail on %s",
					path, strings.Join(dependents, ", "), s.dir))
			}
		case !c.cert.IsCA:
			notes = append(notes, fmt.Sprintf("%s is not a CA certificate: kubeadm certs check-expiration and renew fail on %s", path, s.dir))
		case c.external:
			if problems := s.externalModeProblems(ca.name, c.cert); len(problems) > 0 {
				notes = append(notes, fmt.Sprintf("%s is externally managed (%s does not exist), and kubeadm then requires every certificate it signs with its key, verifying against it now; %s: kubeadm certs check-expiration and renew fail on %s",
					ca.name, s.keyPath(ca.base), strings.Join(problems, "; "), s.dir))
			}
		}
	}
	return notes
}

// kubeadmDependents names the kubeadm certificates read that ca signs.
func (s *pkiScan) kubeadmDependents(ca string) []string {
	var names []string
	for _, l := range kubeadmLeaves {
		if l.ca == ca && s.kubeadmRead[l.base] != nil {
			names = append(names, l.name)
		}
	}
	if ca == "ca" {
		for _, k := range kubeadmKubeconfigs {
			if s.kubeadmRead[k] != nil {
				names = append(names, k)
			}
		}
	}
	return names
}

// externalModeProblems checks what kubeadm checks for a CA whose key is
// absent: each certificate of its tree has a key file and verifies against
// it at this instant (pkiutil.VerifyCertChain).
func (s *pkiScan) externalModeProblems(caName string, ca *x509.Certificate) []string {
	var problems []string
	for _, l := range kubeadmLeaves {
		if l.ca != caName {
			continue
		}
		if _, err := os.Stat(s.keyPath(l.base)); err != nil {
			problems = append(problems, s.keyPath(l.base)+" is missing")
			continue
		}
		f := s.kubeadmRead[l.base]
		if f == nil {
			problems = append(problems, s.crtPath(l.base)+" is missing or unreadable")
			continue
		}
		if err := dirVerify(f.certs, ca); err != nil {
			problems = append(problems, fmt.Sprintf("%s does not verify: %v", s.crtPath(l.base), err))
		}
	}
	return problems
}

func dirVerify(chain []*x509.Certificate, root *x509.Certificate) error {
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(root)
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	return err
}

// read reads one certificate file and keeps it for the report.
func (s *pkiScan) read(path, name string, expected bool) *dirCert {
	if dir := filepath.Dir(path); dir != s.dir && s.unlistable(dir) {
		// One error for the subdirectory (etcd/ that cannot be read), from
		// the walk of otherPaths, rather than one per file kubeadm keeps
		// there.
		return nil
	}
	f := dirRead(s.sink, s.name(), path, name, expected)
	if f != nil {
		s.files = append(s.files, f)
	}
	return f
}

func (s *pkiScan) skipOrError(path string, err error) {
	if errors.Is(err, fs.ErrNotExist) {
		s.sink.Skipped(s.name(), path, "missing")
		return
	}
	s.sink.Error(s.name(), path, err)
}

// unlistable reports whether dir exists but cannot be read (no permission),
// remembering the answer.
func (s *pkiScan) unlistable(dir string) bool {
	if s.unreadable == nil {
		s.unreadable = map[string]bool{}
	}
	bad, ok := s.unreadable[dir]
	if !ok {
		err := dirCheck(dir)
		bad = err != nil && !errors.Is(err, fs.ErrNotExist)
		s.unreadable[dir] = bad
	}
	return bad
}

// What follows is shared by the directory sources, PKIDir and K3sDir.

// dirRole says how a file's first certificate gets its CA name and
// externally-managed flag.
type dirRole int

const (
	// dirRoleFind: the CA is found by signature among the directory's CAs.
	dirRoleFind dirRole = iota
	// dirRoleCA: one of kubeadm's CAs; no CA name (as kubeadm shows its CAs),
	// externally managed when its own key is absent.
	dirRoleCA
	// dirRoleSignedBy: the CA is the one named in dirCert.ca, as kubeadm's
	// certificate tree says.
	dirRoleSignedBy
)

// dirCert is a certificate file (or a kubeconfig's client certificate) a
// directory source read.
type dirCert struct {
	location string
	// name is the first certificate's name; the others in the file (a
	// chain, a bundle) have none.
	name  string
	certs []*x509.Certificate
	notes []string
	role  dirRole
	ca    string
}

// dirCA is a CA certificate found in a directory.
type dirCA struct {
	name string
	cert *x509.Certificate
	// external is true when the CA's key is absent: nothing here can sign
	// with it.
	external bool
}

// dirCAs are the CAs of a directory, to name the CA of each certificate.
type dirCAs struct {
	byName map[string]*dirCA
	// bySubject indexes the CAs by raw subject, so that finding the signer
	// of a certificate checks one signature, not one per CA.
	bySubject map[string][]*dirCA
}

func newDirCAs() *dirCAs {
	return &dirCAs{byName: map[string]*dirCA{}, bySubject: map[string][]*dirCA{}}
}

// add registers ca; a name already taken keeps its first CA.
func (s *dirCAs) add(ca *dirCA) {
	if _, ok := s.byName[ca.name]; !ok {
		s.byName[ca.name] = ca
	}
	k := string(ca.cert.RawSubject)
	s.bySubject[k] = append(s.bySubject[k], ca)
}

// self returns the CA that is c itself, if c is one of the CAs.
func (s *dirCAs) self(c *x509.Certificate) *dirCA {
	for _, ca := range s.bySubject[string(c.RawSubject)] {
		if ca.cert.Equal(c) {
			return ca
		}
	}
	return nil
}

// signerOf returns the CA that signed chain[i], directly or through the
// other certificates of the chain (intermediates kept in the same file);
// a CA does not count as its own signer.
func (s *dirCAs) signerOf(chain []*x509.Certificate, i int) *dirCA {
	c := chain[i]
	for hops := 0; c != nil && hops < len(chain); hops++ {
		for _, ca := range s.bySubject[string(c.RawIssuer)] {
			if !ca.cert.Equal(c) && c.CheckSignatureFrom(ca.cert) == nil {
				return ca
			}
		}
		c = dirIssuerIn(chain, c)
	}
	return nil
}

// dirIssuerIn returns the certificate of chain that signed c, if any.
func dirIssuerIn(chain []*x509.Certificate, c *x509.Certificate) *x509.Certificate {
	for _, p := range chain {
		if p != c && string(p.RawSubject) == string(c.RawIssuer) && c.CheckSignatureFrom(p) == nil {
			return p
		}
	}
	return nil
}

// judge returns the CA name and externally-managed flag of f.certs[i].
func (s *dirCAs) judge(f *dirCert, i int) (string, bool) {
	if i == 0 {
		switch f.role {
		case dirRoleCA:
			own := s.byName[f.name]
			return "", own != nil && own.external
		case dirRoleSignedBy:
			ca := s.byName[f.ca]
			return f.ca, ca != nil && ca.external
		}
	}
	signer := s.signerOf(f.certs, i)
	name := ""
	if signer != nil {
		name = signer.name
	}
	if own := s.self(f.certs[i]); own != nil {
		return name, own.external
	}
	return name, signer != nil && signer.external
}

// dirReport reports every certificate of files, in order. The signature
// checks that find each one's CA run in parallel. The certificates of a
// file that holds several are located as "path [i]", as the file source
// does.
func dirReport(sink Sink, source string, cas *dirCAs, files []*dirCert) {
	var found []Found
	var at []struct{ f, i int }
	for fi, f := range files {
		for i, c := range f.certs {
			e := Found{Cert: c, Location: f.location}
			if len(f.certs) > 1 {
				e.Location = fmt.Sprintf("%s [%d]", f.location, i)
			}
			if i == 0 {
				e.Name, e.Notes = f.name, f.notes
			}
			found = append(found, e)
			at = append(at, struct{ f, i int }{fi, i})
		}
	}
	dirParallel(len(found), func(j int) {
		found[j].CAName, found[j].ExternallyManaged = cas.judge(files[at[j].f], at[j].i)
	})
	for _, e := range found {
		sink.Found(source, e)
	}
}

// dirParallel runs fn(0) … fn(n-1) on GOMAXPROCS goroutines.
func dirParallel(n int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// dirRead reads one certificate file. A file that does not exist is
// reported as skipped ("missing") when expected and ignored otherwise, a
// dangling symbolic link as an error; an unreadable or broken file is an
// error naming it, and the certificates read before a broken block are
// still kept.
func dirRead(sink Sink, source, path, name string, expected bool) *dirCert {
	b, err := certificate.ReadFile(path)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist):
		if target, lerr := os.Readlink(path); lerr == nil {
			sink.Error(source, path, fmt.Errorf("%s: symbolic link to %s, which does not exist", path, target))
		} else if expected {
			sink.Skipped(source, path, "missing")
		}
		return nil
	default:
		sink.Error(source, path, err)
	}
	if b == nil || len(b.Certificates) == 0 {
		return nil
	}
	return &dirCert{location: path, name: name, certs: b.Certificates, notes: b.Notes(), role: dirRoleFind}
}

// dirCheck returns an error naming dir unless it is a directory.
func dirCheck(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return err // *PathError names dir
	}
	if !st.IsDir() {
		return fmt.Errorf("%s: not a directory", dir)
	}
	// A directory that cannot be listed (no read permission) is one error
	// for the directory, not one per file looked for in it.
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Readdirnames(1); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// dirKeyAbsent reports whether a key file does not exist, as kubeadm
// decides external CA mode: only "does not exist" counts, any other error
// (permission denied) means present. The key is never opened.
func dirKeyAbsent(path string) bool {
	_, err := os.Stat(path)
	return errors.Is(err, fs.ErrNotExist)
}

// dirSameFile reports whether two paths name the same file, following
// symbolic links (kubelet-client-current.pem is one).
func dirSameFile(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}
