package source

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate/certtest"
	"github.com/kubecerts/kubecerts/shared/expiry"
)

// pkiFixture is a kubeadm node's files in a temporary directory: the PKI
// directory, the kubeconfig files and the kubelet's certificates.
type pkiFixture struct {
	root, pki, kubeconfigs, kubelet string
	cas                             map[string]*certtest.Cert
	// keyBodies are lines of every private key written, to prove none is
	// ever printed.
	keyBodies []string
}

// kubeadm's tree as the fixture builds it: the CA of each leaf.
var pkiFixtureLeaves = map[string]string{
	"apiserver": "ca", "apiserver-kubelet-client": "ca", "front-proxy-client": "front-proxy-ca",
	"etcd/server": "etcd/ca", "etcd/peer": "etcd/ca", "etcd/healthcheck-client": "etcd/ca", "apiserver-etcd-client": "etcd/ca",
}

func newPKIFixture(t testing.TB) *pkiFixture {
	t.Helper()
	root := t.TempDir()
	fx := &pkiFixture{root: root, pki: filepath.Join(root, "etc/kubernetes/pki"), kubeconfigs: filepath.Join(root, "etc/kubernetes"),
		kubelet: filepath.Join(root, "var/lib/kubelet/pki"), cas: map[string]*certtest.Cert{}}
	for _, base := range []string{"ca", "front-proxy-ca", "etcd/ca"} {
		fx.cas[base] = certtest.CA(t, base)
		fx.writeCertAndKey(t, fx.pki, base, fx.cas[base])
	}
	for base, ca := range pkiFixtureLeaves {
		fx.writeCertAndKey(t, fx.pki, base, certtest.New(t, certtest.Template{CommonName: base}, fx.cas[ca]))
	}
	for _, name := range kubeadmKubeconfigs {
		client := certtest.New(t, certtest.Template{CommonName: "kubernetes-" + name}, fx.cas["ca"])
		fx.writeKubeconfig(t, name, &clientcmdapi.AuthInfo{ClientCertificateData: client.PEM(), ClientKeyData: fx.keyPEM(t, client)})
	}
	// The kubelet after TLS bootstrap: kubelet.conf names the rotating
	// client certificate file, which holds the key too.
	kubeletClient := certtest.New(t, certtest.Template{CommonName: "system:node:node-a"}, fx.cas["ca"])
	rotated := pkiWrite(t, fx.kubelet, "kubelet-client-2026-01-01-00-00-00.pem", append(kubeletClient.PEM(), fx.keyPEM(t, kubeletClient)...))
	current := filepath.Join(fx.kubelet, "kubelet-client-current.pem")
	if err := os.Symlink(rotated, current); err != nil {
		t.Fatal(err)
	}
	fx.writeKubeconfig(t, "kubelet.conf", &clientcmdapi.AuthInfo{ClientCertificate: current, ClientKey: current})
	// kubelet.crt: the kubelet's self-signed serving certificate, followed
	// by the throw-away CA that signed it (certutil.GenerateSelfSignedCertKey).
	selfCA := certtest.CA(t, "node-a-ca@1700000000")
	serving := certtest.New(t, certtest.Template{CommonName: "node-a@1700000000"}, selfCA)
	pkiWrite(t, fx.kubelet, "kubelet.crt", append(serving.PEM(), selfCA.PEM()...))
	pkiWrite(t, fx.kubelet, "kubelet.key", fx.keyPEM(t, serving))
	return fx
}

func (fx *pkiFixture) source() *PKIDir {
	return &PKIDir{Dir: fx.pki, KubeconfigDir: fx.kubeconfigs, KubeletPKIDir: fx.kubelet}
}

func (fx *pkiFixture) keyPEM(t testing.TB, c *certtest.Cert) []byte {
	key := c.KeyPEM(t)
	fx.keyBodies = append(fx.keyBodies, strings.Split(string(key), "\n")[1])
	return key
}

func (fx *pkiFixture) writeCertAndKey(t testing.TB, dir, base string, c *certtest.Cert) {
	pkiWrite(t, dir, base+".crt", c.PEM())
	pkiWrite(t, dir, base+".key", fx.keyPEM(t, c))
}

func (fx *pkiFixture) writeKubeconfig(t testing.TB, name string, user *clientcmdapi.AuthInfo) {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["kubernetes"] = &clientcmdapi.Cluster{Server: "https://10.0.0.10:6443", CertificateAuthorityData: fx.cas["ca"].PEM()}
	cfg.AuthInfos["the-user"] = user
	cfg.Contexts["the-context"] = &clientcmdapi.Context{Cluster: "kubernetes", AuthInfo: "the-user"}
	cfg.CurrentContext = "the-context"
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	pkiWrite(t, fx.kubeconfigs, name, data)
}

func pkiWrite(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func pkiRemove(t testing.TB, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if err := os.RemoveAll(p); err != nil {
			t.Fatal(err)
		}
	}
}

// pkiRun collects src into a report.
func pkiRun(src Source) *api.CertificateReport {
	c := NewCollector(time.Now(), expiry.DefaultThresholds(), false)
	src.Collect(context.Background(), c)
	return c.Report()
}

// pkiEntry is what a test checks of a reported certificate.
type pkiEntry struct {
	ca       string
	external bool
}

// pkiByName maps the named certificates of a report to their CA and flag.
func pkiByName(t *testing.T, r *api.CertificateReport) map[string]pkiEntry {
	t.Helper()
	out := map[string]pkiEntry{}
	for _, c := range r.Certificates {
		if c.Name == "" {
			continue
		}
		if _, dup := out[c.Name]; dup {
			t.Errorf("name %s reported twice", c.Name)
		}
		out[c.Name] = pkiEntry{c.CAName, c.ExternallyManaged}
	}
	return out
}

// kubeadmWant is the full layout as the report must show it, with the CAs
// in external mode listed.
func kubeadmWant(external ...string) map[string]pkiEntry {
	ext := map[string]bool{}
	for _, e := range external {
		ext[e] = true
	}
	want := map[string]pkiEntry{
		"ca": {"", ext["ca"]}, "front-proxy-ca": {"", ext["front-proxy-ca"]}, "etcd-ca": {"", ext["etcd-ca"]},
		"kubelet.conf": {"ca", ext["ca"]}, "kubelet": {"", false},
	}
	for _, l := range kubeadmLeaves {
		want[l.name] = pkiEntry{l.ca, ext[l.ca]}
	}
	for _, k := range kubeadmKubeconfigs {
		want[k] = pkiEntry{"ca", ext["ca"]}
	}
	return want
}

func pkiRelLocations(root string, locs []string) []string {
	out := make([]string, 0, len(locs))
	for _, l := range locs {
		out = append(out, strings.TrimPrefix(l, root+"/"))
	}
	sort.Strings(out)
	return out
}

func TestPKIDir(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(t *testing.T, fx *pkiFixture)
		// want replaces the expected named certificates (nil: kubeadmWant()).
		want func(map[string]pkiEntry)
		// wantExternal lists the CAs in external mode.
		wantExternal []string
		wantSkipped  []string
		wantErrors   map[string]string
		wantNote     string
	}{
		{name: "full kubeadm layout"},
		{
			name:         "external CA mode: ca.key deleted",
			mutate:       func(t *testing.T, fx *pkiFixture) { pkiRemove(t, filepath.Join(fx.pki, "ca.key")) },
			wantExternal: []string{"ca"},
		},
		{
			name: "external etcd and front-proxy CAs",
			mutate: func(t *testing.T, fx *pkiFixture) {
				pkiRemove(t, filepath.Join(fx.pki, "etcd/ca.key"), filepath.Join(fx.pki, "front-proxy-ca.key"))
			},
			wantExternal: []string{"etcd-ca", "front-proxy-ca"},
		},
		{
			name: "missing files are skipped",
			mutate: func(t *testing.T, fx *pkiFixture) {
				pkiRemove(t, filepath.Join(fx.pki, "etcd"), filepath.Join(fx.pki, "front-proxy-client.crt"),
					filepath.Join(fx.kubeconfigs, "super-admin.conf"), filepath.Join(fx.kubelet, "kubelet.crt"))
			},
			want: func(w map[string]pkiEntry) {
				for _, n := range []string{"etcd-ca", "etcd-server", "etcd-peer", "etcd-healthcheck-client", "front-proxy-client", "super-admin.conf", "kubelet"} {
					delete(w, n)
				}
			},
			wantSkipped: []string{"etc/kubernetes/pki/etcd/ca.crt", "etc/kubernetes/pki/etcd/healthcheck-client.crt", "etc/kubernetes/pki/etcd/peer.crt",
				"etc/kubernetes/pki/etcd/server.crt", "etc/kubernetes/pki/front-proxy-client.crt", "etc/kubernetes/super-admin.conf",
				"var/lib/kubelet/pki/kubelet.crt"},
			// apiserver-etcd-client is there, its CA is not.
			wantNote: "etcd/ca.crt is missing or unreadable while apiserver-etcd-client, which it signs, exist",
		},
		{
			name: "no kubeconfig or kubelet directory",
			mutate: func(t *testing.T, fx *pkiFixture) {
				pkiRemove(t, fx.kubelet)
				for _, k := range append(kubeadmKubeconfigs, "kubelet.conf") {
					pkiRemove(t, filepath.Join(fx.kubeconfigs, k))
				}
				pkiRemove(t, filepath.Join(fx.root, "var"))
			},
			want: func(w map[string]pkiEntry) {
				for _, n := range append(kubeadmKubeconfigs, "kubelet.conf", "kubelet") {
					delete(w, n)
				}
			},
			wantSkipped: []string{"etc/kubernetes/admin.conf", "etc/kubernetes/controller-manager.conf", "etc/kubernetes/kubelet.conf",
				"etc/kubernetes/scheduler.conf", "etc/kubernetes/super-admin.conf", "var/lib/kubelet/pki"},
		},
		{
			name: "broken files are errors naming them",
			mutate: func(t *testing.T, fx *pkiFixture) {
				pkiWrite(t, fx.pki, "apiserver.crt", []byte("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n"))
				pkiWrite(t, fx.kubeconfigs, "scheduler.conf", []byte("this: [is not a kubeconfig"))
				pkiWrite(t, fx.pki, "extra/empty.crt", nil)
			},
			want: func(w map[string]pkiEntry) { delete(w, "apiserver"); delete(w, "scheduler.conf") },
			wantErrors: map[string]string{
				"etc/kubernetes/pki/apiserver.crt":   "etc/kubernetes/pki/apiserver.crt: PEM block 1 (line 1): malformed CERTIFICATE block",
				"etc/kubernetes/scheduler.conf":      "etc/kubernetes/scheduler.conf: not a kubeconfig",
				"etc/kubernetes/pki/extra/empty.crt": "etc/kubernetes/pki/extra/empty.crt: empty",
			},
		},
		{
			name: "a dangling kubelet certificate link",
			mutate: func(t *testing.T, fx *pkiFixture) {
				pkiRemove(t, filepath.Join(fx.kubelet, "kubelet-client-2026-01-01-00-00-00.pem"))
				if err := os.Symlink(filepath.Join(fx.kubelet, "gone.crt"), filepath.Join(fx.kubelet, "kubelet-server-current.pem")); err != nil {
					t.Fatal(err)
				}
			},
			want: func(w map[string]pkiEntry) { delete(w, "kubelet.conf") },
			wantErrors: map[string]string{
				"etc/kubernetes/kubelet.conf (user the-user)":    "kubelet-client-current.pem: no such file or directory",
				"var/lib/kubelet/pki/kubelet-server-current.pem": "kubelet-server-current.pem: symbolic link to ",
			},
		},
		{
			name: "other certificates: CA found by signature",
			mutate: func(t *testing.T, fx *pkiFixture) {
				pkiWrite(t, fx.pki, "webhooks/admission.crt", certtest.New(t, certtest.Template{CommonName: "admission"}, fx.cas["front-proxy-ca"]).PEM())
				own := certtest.CA(t, "own-ca")
				pkiWrite(t, fx.pki, "own/ca.crt", own.PEM()) // no key: externally managed
				pkiWrite(t, fx.pki, "own/leaf.crt", certtest.New(t, certtest.Template{CommonName: "own-leaf"}, own).PEM())
				pkiWrite(t, fx.pki, "stray.crt", certtest.New(t, certtest.Template{CommonName: "stray"}, nil).PEM())
			},
			want: func(w map[string]pkiEntry) {
				w["webhooks/admission"] = pkiEntry{"front-proxy-ca", false}
				w["own/ca"] = pkiEntry{"", true}
				w["own/leaf"] = pkiEntry{"own/ca", true}
				w["stray"] = pkiEntry{"", false}
			},
		},
		{
			name: "a ca.crt that is not a CA, its key absent",
			mutate: func(t *testing.T, fx *pkiFixture) {
				pkiWrite(t, fx.pki, "ca.crt", certtest.New(t, certtest.Template{CommonName: "kubernetes"}, nil).PEM())
				pkiRemove(t, filepath.Join(fx.pki, "ca.key"))
			},
			// kubeadm does not count it as external: it refuses it.
			want: func(w map[string]pkiEntry) {
				w["kubelet.conf"] = pkiEntry{"", false} // no longer signed by a CA of the directory
			},
			wantNote: "etc/kubernetes/pki/ca.crt is not a CA certificate: kubeadm certs check-expiration and renew fail",
		},
		{
			name: "external CA mode kubeadm refuses: a leaf key missing",
			mutate: func(t *testing.T, fx *pkiFixture) {
				pkiRemove(t, filepath.Join(fx.pki, "ca.key"), filepath.Join(fx.pki, "apiserver-kubelet-client.key"))
			},
			wantExternal: []string{"ca"},
			wantNote:     "apiserver-kubelet-client.key is missing: kubeadm certs check-expiration and renew fail",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newPKIFixture(t)
			if tt.mutate != nil {
				tt.mutate(t, fx)
			}
			r := pkiRun(fx.source())
			want := kubeadmWant(tt.wantExternal...)
			if tt.want != nil {
				tt.want(want)
			}
			got := pkiByName(t, r)
			for name, w := range want {
				if g, ok := got[name]; !ok {
					t.Errorf("%s not reported", name)
				} else if g != w {
					t.Errorf("%s: caName %q externallyManaged %v, want %q %v", name, g.ca, g.external, w.ca, w.external)
				}
			}
			for name := range got {
				if _, ok := want[name]; !ok {
					t.Errorf("%s reported, not expected", name)
				}
			}
			pkiCheckSkippedAndErrors(t, fx.root, r, tt.wantSkipped, tt.wantErrors)
			notes := strings.Join(r.Notes, "\n")
			if tt.wantNote == "" && notes != "" || !strings.Contains(notes, tt.wantNote) {
				t.Errorf("notes = %q, want %q", notes, tt.wantNote)
			}
			for _, c := range r.Certificates {
				if c.Source != "pki-dir" || !strings.HasPrefix(c.Location, fx.root+"/") {
					t.Errorf("source/location = %s %s", c.Source, c.Location)
				}
			}
		})
	}
}

func pkiCheckSkippedAndErrors(t *testing.T, root string, r *api.CertificateReport, wantSkipped []string, wantErrors map[string]string) {
	t.Helper()
	var skipped []string
	for _, s := range r.Skipped {
		if s.Reason != "missing" {
			t.Errorf("skipped %s: reason %q, want missing", s.Location, s.Reason)
		}
		skipped = append(skipped, s.Location)
	}
	if got := pkiRelLocations(root, skipped); fmt.Sprint(got) != fmt.Sprint(append([]string{}, wantSkipped...)) {
		t.Errorf("skipped = %v\nwant      %v", got, wantSkipped)
	}
	if len(r.Errors) != len(wantErrors) {
		t.Errorf("errors = %+v, want %d", r.Errors, len(wantErrors))
	}
	for _, e := range r.Errors {
		loc := strings.TrimPrefix(e.Location, root+"/")
		want, ok := wantErrors[loc]
		// The location names the file; the message need not repeat it.
		if !ok || !strings.Contains(e.Location+": "+e.Message, want) {
			t.Errorf("error at %s: %q, want containing %q", loc, e.Message, want)
		}
	}
}

func TestPKIDirMissingDirectoryIsOneError(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-pki")
	r := pkiRun(&PKIDir{Dir: missing, KubeconfigDir: "/nonexistent", KubeletPKIDir: "/nonexistent"})
	if len(r.Errors) != 1 || r.Errors[0].Location != missing || r.Errors[0].Message != "no such file or directory" {
		t.Fatalf("errors = %+v, want one naming %s", r.Errors, missing)
	}
	if len(r.Certificates)+len(r.Skipped)+len(r.Notes) != 0 {
		t.Errorf("reported more: %+v", r)
	}
	file := pkiWrite(t, t.TempDir(), "pki", []byte("x"))
	if r := pkiRun(&PKIDir{Dir: file}); len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Message, "not a directory") {
		t.Errorf("a file as Dir: errors = %+v", r.Errors)
	}
}

// TestPKIDirThroughASymbolicLink: --pki-dir may be a symbolic link to the
// directory (a copy mounted elsewhere); the other *.crt files under it are
// found all the same, and every location is under the path given.
func TestPKIDirThroughASymbolicLink(t *testing.T) {
	fx := newPKIFixture(t)
	pkiWrite(t, fx.pki, "webhooks/admission.crt", certtest.New(t, certtest.Template{CommonName: "admission"}, fx.cas["front-proxy-ca"]).PEM())
	pkiWrite(t, fx.pki, "stray.crt", certtest.New(t, certtest.Template{CommonName: "stray"}, nil).PEM())
	link := filepath.Join(t.TempDir(), "pki-link")
	if err := os.Symlink(fx.pki, link); err != nil {
		t.Fatal(err)
	}
	r := pkiRun(&PKIDir{Dir: link, KubeconfigDir: fx.kubeconfigs, KubeletPKIDir: fx.kubelet})
	if len(r.Errors) != 0 {
		t.Errorf("errors = %+v", r.Errors)
	}
	locations := map[string]string{}
	for _, c := range r.Certificates {
		locations[c.Subject] = c.Location
	}
	for subject, want := range map[string]string{
		"CN=admission": filepath.Join(link, "webhooks/admission.crt"),
		"CN=stray":     filepath.Join(link, "stray.crt"),
		"CN=apiserver": filepath.Join(link, "apiserver.crt"),
	} {
		if locations[subject] != want {
			t.Errorf("%s at %q, want %q", subject, locations[subject], want)
		}
	}
	for _, c := range r.Certificates {
		if strings.HasPrefix(c.Location, fx.pki) {
			t.Errorf("%s located under the link's target: %s", c.Subject, c.Location)
		}
	}
	want := kubeadmWant()
	want["webhooks/admission"], want["stray"] = pkiEntry{"front-proxy-ca", false}, pkiEntry{"", false}
	if got := pkiByName(t, r); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("named certificates = %v\nwant %v", got, want)
	}
}

// TestPKIDirNoKubelet: with NoKubelet the kubelet's directory is not read,
// not even reported missing; kubelet.conf, a kubeconfig of the directory,
// still is.
func TestPKIDirNoKubelet(t *testing.T) {
	fx := newPKIFixture(t)
	src := fx.source()
	src.NoKubelet = true
	r := pkiRun(src)
	for _, c := range r.Certificates {
		if strings.HasPrefix(c.Location, fx.kubelet) && c.Name != "kubelet.conf" {
			t.Errorf("%s read from the kubelet's directory (%s)", c.Name, c.Location)
		}
	}
	if len(r.Errors)+len(r.Skipped) != 0 {
		t.Errorf("errors %+v, skipped %+v", r.Errors, r.Skipped)
	}
	want := kubeadmWant()
	delete(want, "kubelet")
	if got := pkiByName(t, r); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("named certificates = %v\nwant %v", got, want)
	}
}

// TestPKIDirNeverReadsOrPrintsKeys replaces every *.key with a directory,
// which reading would turn into an error, and embeds keys in certificate
// files and kubeconfigs: no key material may appear in the report, and no
// *.key may have been opened.
func TestPKIDirNeverReadsOrPrintsKeys(t *testing.T) {
	fx := newPKIFixture(t)
	ca := fx.cas["ca"]
	leaf := certtest.New(t, certtest.Template{CommonName: "bundled"}, ca)
	pkiWrite(t, fx.pki, "bundled-with-key.crt", append(fx.keyPEM(t, leaf), leaf.PEM()...))
	pkiWrite(t, fx.pki, "only-a-key.crt", fx.keyPEM(t, leaf))
	err := filepath.WalkDir(fx.root, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".key") {
			pkiRemove(t, path)
			return os.Mkdir(path, 0o700)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	r := pkiRun(fx.source())
	out, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range fx.keyBodies {
		if strings.Contains(string(out), body[:24]) {
			t.Fatalf("key material in the report: %s", out)
		}
	}
	if strings.Contains(string(out), ".key") {
		t.Errorf("a *.key file appears in the report: %s", out)
	}
	if len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Location+": "+r.Errors[0].Message, "only-a-key.crt: no CERTIFICATE block, only a private key (PEM block 1), not read") {
		t.Errorf("errors = %+v, want only only-a-key.crt's", r.Errors)
	}
	for _, c := range r.Certificates {
		if c.ExternallyManaged {
			t.Errorf("%s externally managed; its CA's key exists", c.Name)
		}
	}
}

// BenchmarkPKIDir10000 checks a directory of 10,000 certificate files, all
// signed by the directory's ca (so each costs a read, a parse, a signature
// check and the report entry).
func BenchmarkPKIDir10000(b *testing.B) {
	const n = 10000
	dir := b.TempDir()
	ca := certtest.CA(b, "ca")
	pkiWrite(b, dir, "ca.crt", ca.PEM())
	for i := range n - 1 {
		leaf := certtest.New(b, certtest.Template{CommonName: fmt.Sprintf("leaf-%05d", i)}, ca)
		pkiWrite(b, dir, fmt.Sprintf("leaves/%02d/leaf-%05d.crt", i%100, i), leaf.PEM())
	}
	src := &PKIDir{Dir: dir, KubeconfigDir: filepath.Join(dir, "none"), KubeletPKIDir: filepath.Join(dir, "none")}
	b.ResetTimer()
	for b.Loop() {
		if r := pkiRun(src); len(r.Certificates) != n {
			b.Fatalf("reported %d certificates, want %d", len(r.Certificates), n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/cert")
}
