package rotate

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/duration"
	"github.com/kubecerts/kubecerts/shared/kubeadm"
	"github.com/kubecerts/kubecerts/shared/pki"
)

// renewTarget is a certificate renew knows: a leaf of kubeadm's tree in the
// PKI directory, or the client certificate embedded in one of kubeadm's
// kubeconfig files.
type renewTarget struct {
	name string
	// base is the leaf's path under the PKI directory without .crt/.key;
	// empty for kubeconfigs.
	base       string
	ca         string
	staticPod  string
	kubeconfig bool
}

// renewTargets lists kubeadm's renewable certificates in kubeadm's order:
// the leaves, then the kubeconfig files.
func renewTargets() []renewTarget {
	var out []renewTarget
	for _, l := range kubeadm.Leaves {
		out = append(out, renewTarget{name: l.Name, base: l.BaseName, ca: l.CA, staticPod: l.StaticPod})
	}
	for _, k := range kubeadm.Kubeconfigs {
		out = append(out, renewTarget{name: k.Name, ca: kubeadm.KubeconfigCA, staticPod: k.StaticPod, kubeconfig: true})
	}
	return out
}

// renewCA is a CA of the PKI directory as renew loads it, once.
type renewCA struct {
	cert             *x509.Certificate
	key              crypto.Signer
	base             string
	crtPath, keyPath string
	// external: the key file does not exist (kubeadm's external CA mode).
	external bool
	err      error
}

// renewal is one run of kubectl rotate renew.
type renewal struct {
	o     *RenewOptions
	now   time.Time
	cas   map[string]*renewCA
	res   *api.RenewalResult
	items []*renewItem
	// fatal is a failure not tied to one certificate: the backup directory
	// could not be made, a static pod restart failed.
	fatal error
}

// renewItem is one certificate: what was read, and the files to write.
type renewItem struct {
	t   renewTarget
	out *api.RenewedCertificate
	old *x509.Certificate
	// writes are made in order, after every file they replace is backed up.
	writes []renewWrite
}

// renewWrite is one file to write. old is its content before, when it
// existed: a failed write of the item puts it back.
type renewWrite struct {
	path    string
	data    []byte
	perm    os.FileMode
	old     []byte
	existed bool
}

// run renews (or plans) every selected certificate, restarts the static
// pods when asked, and returns the result.
func (r *renewal) run(ctx context.Context) *api.RenewalResult {
	o := r.o
	r.cas = map[string]*renewCA{}
	r.res = &api.RenewalResult{
		GeneratedAt:     metav1.NewTime(r.now),
		PKIDir:          o.PKIDir,
		KubeconfigDir:   o.KubeconfigDir,
		DryRun:          o.DryRun,
		ValiditySeconds: int64(o.Validity / time.Second),
		Certificates:    make([]api.RenewedCertificate, len(o.selected)),
		StaticPods:      []api.StaticPodRestart{},
	}
	if o.CSROnly {
		r.res.CSRDir = o.CSRDir
	}
	for i, t := range o.selected {
		item := &renewItem{t: t, out: &r.res.Certificates[i]}
		r.prepare(item)
		r.items = append(r.items, item)
	}
	if !o.CSROnly {
		r.checkLeftManifests()
	}
	if o.DryRun {
		r.staticPods(api.RenewalWouldRenew)
		return r.res
	}
	r.commit(ctx)
	if o.CSROnly {
		return r.res
	}
	r.staticPods(api.RenewalRenewed)
	if o.RestartStaticPods && len(r.res.StaticPods) > 0 {
		if err := r.restartStaticPods(ctx); err != nil {
			r.fatal = err
		}
	}
	return r.res
}

func (r *renewal) note(format string, args ...interface{}) {
	r.res.Notes = append(r.res.Notes, fmt.Sprintf(format, args...))
}

// prepare reads the certificate, checks its CA and, unless this is a dry
// run, makes the new key and certificate (or CSR) and the files to write.
func (r *renewal) prepare(item *renewItem) {
	o, t, out := r.o, item.t, item.out
	*out = api.RenewedCertificate{Name: t.name, CAName: t.ca, StaticPod: t.staticPod}
	var kc *clientcmdapi.Config
	var user string
	var oldKey, oldFile []byte
	if t.kubeconfig {
		out.File = filepath.Join(o.KubeconfigDir, t.name)
		var err error
		kc, user, item.old, oldKey, oldFile, err = renewReadKubeconfig(out.File)
		if err != nil {
			r.failOrSkip(item, err)
			return
		}
	} else {
		out.File = kubeadm.CertPath(o.PKIDir, t.base)
		out.KeyFile = kubeadm.KeyPath(o.PKIDir, t.base)
		var err error
		if oldFile, err = os.ReadFile(out.File); err != nil {
			r.failOrSkip(item, err) // *PathError names the file
			return
		}
		b, err := certificate.Parse(oldFile)
		if err != nil {
			r.fail(item, fmt.Errorf("%s: %w", out.File, err))
			return
		}
		item.old = b.Certificates[0]
		if oldKey, err = os.ReadFile(out.KeyFile); err != nil && !renewNotExist(err) {
			r.fail(item, err)
			return
		}
	}
	out.KeyAlgorithm = certificate.KeyAlgorithm(item.old)
	out.OldNotAfter = renewTime(item.old.NotAfter)
	r.checkOldKey(item, oldKey)

	if o.CSROnly {
		r.prepareCSR(item)
		return
	}

	ca := r.loadCA(t.ca)
	switch {
	case ca.err != nil:
		r.fail(item, ca.err)
		return
	case ca.external:
		r.skip(item, fmt.Sprintf("external CA mode: %s.key is absent; --csr-only writes a CSR for the external CA", ca.base))
		return
	case !ca.cert.NotAfter.After(r.now):
		r.fail(item, fmt.Errorf("CA %s (%s) expired on %s: renew the CA first", t.ca, ca.crtPath, ca.cert.NotAfter.UTC().Format(time.RFC3339)))
		return
	}
	var reasons []string
	notAfter := r.now.Add(o.Validity)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
		reasons = append(reasons, fmt.Sprintf("validity capped at the notAfter of %s (%s left)", t.ca, duration.Residual(notAfter.Sub(r.now))))
	}
	if item.old.CheckSignatureFrom(ca.cert) != nil {
		reasons = append(reasons, fmt.Sprintf("the old certificate was not signed by %s; the new one is", ca.crtPath))
	}
	kubeconfigPerm := os.FileMode(0o600)
	if t.kubeconfig {
		// It holds the new private key: never readable by group or others,
		// whatever it was before.
		was := renewPerm(out.File, 0o600)
		kubeconfigPerm = was &^ 0o077
		if was != kubeconfigPerm {
			reasons = append(reasons, fmt.Sprintf("mode %#o made %#o: it holds a private key", was, kubeconfigPerm))
		}
	}
	out.Reason = strings.Join(reasons, "; ")
	if o.DryRun {
		out.Action = api.RenewalWouldRenew
		out.NewNotAfter = renewTime(notAfter)
		return
	}

	key, err := pki.NewKeyLike(item.old.PublicKey)
	if err != nil {
		r.fail(item, fmt.Errorf("%s: %w", out.File, err))
		return
	}
	cert, err := pki.Renew(item.old, key, ca.cert, ca.key, r.now, o.Validity)
	if err != nil {
		r.fail(item, fmt.Errorf("signing %s with %s: %w", t.name, t.ca, err))
		return
	}
	keyPEM, err := pki.EncodeKey(key)
	if err != nil {
		r.fail(item, fmt.Errorf("%s: encoding the new key: %w", t.name, err))
		return
	}
	certPEM := pki.EncodeCert(cert)
	out.NewNotAfter = renewTime(cert.NotAfter)
	if t.kubeconfig {
		kc.AuthInfos[user].ClientCertificateData = certPEM
		kc.AuthInfos[user].ClientKeyData = keyPEM
		data, err := clientcmd.Write(*kc)
		if err != nil {
			r.fail(item, fmt.Errorf("%s: %w", out.File, err))
			return
		}
		item.writes = []renewWrite{{path: out.File, data: data, perm: kubeconfigPerm, old: oldFile, existed: true}}
		return
	}
	// The key first, then the certificate, as kubeadm writes them.
	item.writes = []renewWrite{
		{path: out.KeyFile, data: keyPEM, perm: 0o600, old: oldKey, existed: oldKey != nil},
		{path: out.File, data: certPEM, perm: renewPerm(out.File, 0o644), old: oldFile, existed: true},
	}
}

// prepareCSR makes a new key of the same type and a CSR with the
// certificate's subject and SANs, named as kubeadm's renewal CSRs
// (renewal.Manager.CreateRenewCSR): NAME.key and NAME.csr.
func (r *renewal) prepareCSR(item *renewItem) {
	out := item.out
	out.KeyFile = filepath.Join(r.o.CSRDir, item.t.name+".key")
	out.CSRFile = filepath.Join(r.o.CSRDir, item.t.name+".csr")
	if r.o.DryRun {
		out.Action = api.RenewalWouldWriteCSR
		return
	}
	key, err := pki.NewKeyLike(item.old.PublicKey)
	if err != nil {
		r.fail(item, fmt.Errorf("%s: %w", out.File, err))
		return
	}
	csr, err := pki.NewCSR(item.old, key)
	if err != nil {
		r.fail(item, fmt.Errorf("%s: making the CSR: %w", item.t.name, err))
		return
	}
	keyPEM, err := pki.EncodeKey(key)
	if err != nil {
		r.fail(item, fmt.Errorf("%s: encoding the new key: %w", item.t.name, err))
		return
	}
	item.writes = []renewWrite{{path: out.KeyFile, data: keyPEM, perm: 0o600}, {path: out.CSRFile, data: csr, perm: 0o600}}
	for i := range item.writes {
		w := &item.writes[i]
		if old, err := os.ReadFile(w.path); err == nil {
			w.old, w.existed = old, true
		} else if !renewNotExist(err) {
			r.fail(item, err)
			return
		}
	}
}

// checkOldKey notes a key that does not belong to its certificate: what an
// interrupted renewal (the new key written, not yet the certificate)
// leaves. Both are replaced anyway.
func (r *renewal) checkOldKey(item *renewItem, keyPEM []byte) {
	if len(keyPEM) == 0 {
		return
	}
	keys, err := pki.ParseKeys(keyPEM)
	where := item.out.KeyFile
	if item.t.kubeconfig {
		where = item.out.File + " (client-key-data)"
	}
	switch {
	case err != nil:
		r.note("%s: %v", where, err)
	case !pki.KeyMatches(item.old, keys[0]):
		r.note("%s does not match the certificate %s (an interrupted renewal?)", where, item.out.File)
	}
}

func (r *renewal) fail(item *renewItem, err error) {
	item.out.Action = api.RenewalError
	item.out.Reason = err.Error()
	item.writes = nil
}

// failOrSkip skips a certificate whose file does not exist, as kubeadm
// certs renew does ("MISSING!"), and fails on any other error.
func (r *renewal) failOrSkip(item *renewItem, err error) {
	if renewNotExist(err) {
		r.skip(item, fmt.Sprintf("%s does not exist", item.out.File))
		return
	}
	r.fail(item, err)
}

func (r *renewal) skip(item *renewItem, reason string) {
	item.out.Action = api.RenewalSkipped
	item.out.Reason = reason
	item.writes = nil
}

// loadCA reads a CA's certificate and key once. A key file that does not
// exist is kubeadm's external CA mode; any other failure is an error.
func (r *renewal) loadCA(name string) *renewCA {
	if c, ok := r.cas[name]; ok {
		return c
	}
	info, _ := kubeadm.CAByName(name)
	c := &renewCA{base: info.BaseName, crtPath: kubeadm.CertPath(r.o.PKIDir, info.BaseName), keyPath: kubeadm.KeyPath(r.o.PKIDir, info.BaseName)}
	r.cas[name] = c
	b, err := certificate.ReadFile(c.crtPath)
	if err != nil {
		c.err = fmt.Errorf("CA %s: %w", name, err)
		return c
	}
	c.cert = b.Certificates[0]
	if !c.cert.IsCA {
		c.err = fmt.Errorf("%s is not a CA certificate", c.crtPath)
		return c
	}
	if _, err := os.Stat(c.keyPath); renewNotExist(err) {
		c.external = true
		return c
	}
	key, err := pki.ReadKeyFile(c.keyPath)
	if err != nil {
		c.err = fmt.Errorf("CA %s: %w", name, err)
		return c
	}
	if !pki.KeyMatches(c.cert, key) {
		c.err = fmt.Errorf("%s does not match %s", c.keyPath, c.crtPath)
		return c
	}
	c.key = key
	return c
}

// renewReadKubeconfig reads a kubeconfig file and the client certificate
// of its current context's user, which must be embedded
// (client-certificate-data), as kubeadm requires to renew it.
func renewReadKubeconfig(path string) (cfg *clientcmdapi.Config, user string, cert *x509.Certificate, key, raw []byte, err error) {
	raw, err = os.ReadFile(path)
	if err != nil {
		return nil, "", nil, nil, nil, err
	}
	cfg, err = clientcmd.Load(raw)
	if err != nil {
		return nil, "", nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	kctx := cfg.Contexts[cfg.CurrentContext]
	if kctx == nil {
		return nil, "", nil, nil, nil, fmt.Errorf("%s: current-context %q is not one of its contexts", path, cfg.CurrentContext)
	}
	user = kctx.AuthInfo
	info := cfg.AuthInfos[user]
	switch {
	case info == nil:
		return nil, "", nil, nil, nil, fmt.Errorf("%s: user %q of context %q is not defined", path, user, cfg.CurrentContext)
	case len(info.ClientCertificateData) == 0 && info.ClientCertificate != "":
		return nil, "", nil, nil, nil, fmt.Errorf("%s: user %q names the file %s rather than embedding its client certificate; renew that file instead", path, user, info.ClientCertificate)
	case len(info.ClientCertificateData) == 0:
		return nil, "", nil, nil, nil, fmt.Errorf("%s: user %q has no client certificate", path, user)
	}
	b, err := certificate.Parse(info.ClientCertificateData)
	if err != nil {
		return nil, "", nil, nil, nil, fmt.Errorf("%s: user %q: client-certificate-data: %w", path, user, err)
	}
	return cfg, user, b.Certificates[0], info.ClientKeyData, raw, nil
}

// renewPerm is the mode of the file at path, or def when there is none.
func renewPerm(path string, def os.FileMode) os.FileMode {
	if st, err := os.Stat(path); err == nil {
		return st.Mode().Perm()
	}
	return def
}

// staticPods lists the static pods that use a certificate whose action is
// action, in kubeadm's order.
func (r *renewal) staticPods(action api.RenewalAction) {
	byPod := map[string]int{}
	for _, item := range r.items {
		if item.out.Action != action || item.t.staticPod == "" {
			continue
		}
		i, ok := byPod[item.t.staticPod]
		if !ok {
			i = len(r.res.StaticPods)
			byPod[item.t.staticPod] = i
			r.res.StaticPods = append(r.res.StaticPods, api.StaticPodRestart{
				Name: item.t.staticPod, Manifest: kubeadm.ManifestPath(r.o.ManifestsDir, item.t.staticPod), Certificates: []string{},
			})
		}
		r.res.StaticPods[i].Certificates = append(r.res.StaticPods[i].Certificates, item.t.name)
	}
}
