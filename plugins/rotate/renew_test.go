package rotate

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/exitcode"
	"github.com/kubecerts/kubecerts/shared/kubeadm"
	"github.com/kubecerts/kubecerts/shared/pki"
)

// renewNow is the instant the tests renew at.
var renewNow = time.Now().UTC().Truncate(time.Second)

const renewDay = 24 * time.Hour

// renewFixture is a kubeadm control-plane node's /etc/kubernetes made with
// shared/pki: the three CAs, kubeadm's leaves with kubeadm's names and
// usages, the four kubeconfig files and the static pod manifests.
type renewFixture struct {
	root, pki, kubeconfigs, manifests string
	caCerts                           map[string]*x509.Certificate
	caKeys                            map[string]crypto.Signer
	// keyPEMs are every private key written, to prove none is printed.
	keyPEMs [][]byte
}

type renewLeafSpec struct {
	subject  pkix.Name
	dns      []string
	ips      []net.IP
	usages   []x509.ExtKeyUsage
	keyType  string // "" P-256, "rsa", "p384", "ed25519"
	validFor time.Duration
}

var renewLeafSpecs = map[string]renewLeafSpec{
	"apiserver": {subject: pkix.Name{CommonName: "kube-apiserver"}, keyType: "rsa",
		dns: []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "node-a"},
		ips: []net.IP{net.ParseIP("10.96.0.1"), net.ParseIP("10.0.0.10")}, usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}},
	"apiserver-kubelet-client": {subject: pkix.Name{CommonName: "kube-apiserver-kubelet-client", Organization: []string{"kubeadm:cluster-admins"}},
		usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}},
	"front-proxy-client": {subject: pkix.Name{CommonName: "front-proxy-client"}, keyType: "p384", usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}},
	"etcd-server": {subject: pkix.Name{CommonName: "node-a"}, dns: []string{"localhost", "node-a"},
		ips:    []net.IP{net.ParseIP("10.0.0.10"), net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}},
	"etcd-peer": {subject: pkix.Name{CommonName: "node-a"}, dns: []string{"localhost", "node-a"},
		ips:    []net.IP{net.ParseIP("10.0.0.10"), net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}},
	"etcd-healthcheck-client": {subject: pkix.Name{CommonName: "kube-etcd-healthcheck-client"}, usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}},
	"apiserver-etcd-client":   {subject: pkix.Name{CommonName: "kube-apiserver-etcd-client"}, usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}},
	"admin.conf": {subject: pkix.Name{CommonName: "kubernetes-admin", Organization: []string{"kubeadm:cluster-admins"}},
		usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}},
	"super-admin.conf": {subject: pkix.Name{CommonName: "kubernetes-super-admin", Organization: []string{"system:masters"}},
		usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}},
	"controller-manager.conf": {subject: pkix.Name{CommonName: "system:kube-controller-manager"}, usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}},
	"scheduler.conf": {subject: pkix.Name{CommonName: "system:kube-scheduler"}, keyType: "ed25519",
		usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}},
}

func newRenewKey(t testing.TB, keyType string) crypto.Signer {
	t.Helper()
	var key crypto.Signer
	var err error
	switch keyType {
	case "rsa":
		key, err = pki.NewRSAKey(2048)
	case "p384":
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ed25519":
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		key, err = pki.NewECDSAKey()
	}
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// newRenewFixture makes the node; caValidity is how long the CAs have
// left (10 years when 0).
func newRenewFixture(t testing.TB, caValidity time.Duration) *renewFixture {
	t.Helper()
	if caValidity == 0 {
		caValidity = 10 * 365 * renewDay
	}
	root := t.TempDir()
	fx := &renewFixture{
		root: root, kubeconfigs: filepath.Join(root, "etc/kubernetes"), pki: filepath.Join(root, "etc/kubernetes/pki"),
		manifests: filepath.Join(root, "etc/kubernetes/manifests"),
		caCerts:   map[string]*x509.Certificate{}, caKeys: map[string]crypto.Signer{},
	}
	for _, ca := range kubeadm.CAs {
		key := newRenewKey(t, "")
		cert, err := pki.NewCA(pkix.Name{CommonName: ca.Name}, key, renewNow.Add(-300*renewDay), caValidity+300*renewDay)
		if err != nil {
			t.Fatal(err)
		}
		fx.caCerts[ca.Name], fx.caKeys[ca.Name] = cert, key
		fx.write(t, kubeadm.CertPath(fx.pki, ca.BaseName), pki.EncodeCert(cert), 0o644)
		fx.write(t, kubeadm.KeyPath(fx.pki, ca.BaseName), fx.encodeKey(t, key), 0o600)
	}
	for _, l := range kubeadm.Leaves {
		cert, key := fx.issue(t, l.Name, l.CA)
		fx.write(t, kubeadm.CertPath(fx.pki, l.BaseName), pki.EncodeCert(cert), 0o644)
		fx.write(t, kubeadm.KeyPath(fx.pki, l.BaseName), fx.encodeKey(t, key), 0o600)
	}
	for _, k := range kubeadm.Kubeconfigs {
		cert, key := fx.issue(t, k.Name, "ca")
		fx.writeKubeconfig(t, k.Name, &clientcmdapi.AuthInfo{ClientCertificateData: pki.EncodeCert(cert), ClientKeyData: fx.encodeKey(t, key)})
	}
	for _, pod := range []string{kubeadm.KubeAPIServer, kubeadm.KubeControllerManager, kubeadm.KubeScheduler, kubeadm.Etcd} {
		fx.write(t, kubeadm.ManifestPath(fx.manifests, pod), []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: "+pod+"\n"), 0o600)
	}
	return fx
}

func (fx *renewFixture) issue(t testing.TB, name, ca string) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	spec := renewLeafSpecs[name]
	key := newRenewKey(t, spec.keyType)
	validFor := spec.validFor
	if validFor == 0 {
		validFor = 10 * renewDay
	}
	cert, err := pki.Sign(&x509.Certificate{
		Subject: spec.subject, DNSNames: spec.dns, IPAddresses: spec.ips,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: spec.usages, BasicConstraintsValid: true,
	}, key.Public(), fx.caCerts[ca], fx.caKeys[ca], renewNow.Add(-355*renewDay), 365*renewDay)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func (fx *renewFixture) encodeKey(t testing.TB, key crypto.Signer) []byte {
	t.Helper()
	data, err := pki.EncodeKey(key)
	if err != nil {
		t.Fatal(err)
	}
	fx.keyPEMs = append(fx.keyPEMs, data)
	return data
}

func (fx *renewFixture) write(t testing.TB, path string, data []byte, perm os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
}

// writeKubeconfig writes a kubeconfig as kubeadm does, plus what renew must
// keep: a second cluster, user and context, and an extension.
func (fx *renewFixture) writeKubeconfig(t testing.TB, name string, user *clientcmdapi.AuthInfo) {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["kubernetes"] = &clientcmdapi.Cluster{Server: "https://10.0.0.10:6443", CertificateAuthorityData: pki.EncodeCert(fx.caCerts["ca"])}
	cfg.Clusters["other"] = &clientcmdapi.Cluster{Server: "https://other:6443", InsecureSkipTLSVerify: true, ProxyURL: "http://proxy:3128"}
	cfg.AuthInfos["the-user"] = user
	cfg.AuthInfos["other"] = &clientcmdapi.AuthInfo{Token: "not-a-real-token"}
	cfg.Contexts["the-user@kubernetes"] = &clientcmdapi.Context{Cluster: "kubernetes", AuthInfo: "the-user", Namespace: "kube-system"}
	cfg.Contexts["other"] = &clientcmdapi.Context{Cluster: "other", AuthInfo: "other"}
	cfg.CurrentContext = "the-user@kubernetes"
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	fx.write(t, filepath.Join(fx.kubeconfigs, name), data, 0o600)
}

// snapshot is every file under the node's root but the backup
// directories, by path relative to the root, with its SHA-256.
func (fx *renewFixture) snapshot(t testing.TB) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(fx.root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.Contains(d.Name(), "-backup-") {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(fx.root, path)
			out[rel] = fmt.Sprintf("%x", sha256.Sum256(data))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// runRenew runs kubectl rotate renew on the fixture with -o json and
// returns the exit status, the result (nil when none was printed) and
// stderr.
func runRenew(t testing.TB, fx *renewFixture, setup func(o *RenewOptions), args ...string) (int, *api.RenewalResult, string) {
	t.Helper()
	code, stdout, stderr := runRenewRaw(t, fx, setup, append(args, "-o", "json")...)
	if stdout == "" {
		return code, nil, stderr
	}
	var res api.RenewalResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("output is not a RenewalResult: %v\n%s", err, stdout)
	}
	if res.Kind != "RenewalResult" || res.APIVersion != "kubecerts.io/v1alpha1" {
		t.Errorf("kind %q apiVersion %q", res.Kind, res.APIVersion)
	}
	return code, &res, stderr
}

func runRenewRaw(t testing.TB, fx *renewFixture, setup func(o *RenewOptions), args ...string) (code int, stdout, stderr string) {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	o := NewRenewOptions(streams)
	o.now = func() time.Time { return renewNow }
	o.sleep = func(context.Context, time.Duration) error { return nil }
	if setup != nil {
		setup(o)
	}
	cmd := newCmdRenew(o)
	cmd.SetArgs(append([]string{"--pki-dir", fx.pki, "--kubeconfig-dir", fx.kubeconfigs, "--manifests-dir", fx.manifests}, args...))
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.ExecuteContext(context.Background())
	if err != nil && !exitcode.Silent(err) {
		errOut.WriteString("error: " + err.Error() + "\n")
	}
	for _, key := range fx.keyPEMs {
		body := strings.Split(string(key), "\n")[1]
		if strings.Contains(out.String(), body) || strings.Contains(errOut.String(), body) {
			t.Errorf("a private key was printed")
		}
	}
	return exitcode.FromError(err), out.String(), errOut.String()
}

func renewAllNames() []string {
	var names []string
	for _, t := range renewTargets() {
		names = append(names, t.name)
	}
	return names
}

// renewByName indexes the result's certificates.
func renewByName(res *api.RenewalResult) map[string]api.RenewedCertificate {
	out := map[string]api.RenewedCertificate{}
	for _, c := range res.Certificates {
		out[c.Name] = c
	}
	return out
}

// readCert reads a renewable certificate as it is on disk now.
func (fx *renewFixture) readCert(t testing.TB, name string) *x509.Certificate {
	t.Helper()
	if strings.HasSuffix(name, ".conf") {
		cert, _, _ := fx.readCertAndKey(t, name)
		return cert
	}
	cert, err := pki.ReadCertFile(kubeadm.CertPath(fx.pki, renewBase(name)))
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// readCertAndKey reads a renewable certificate and its key as they are on
// disk now.
func (fx *renewFixture) readCertAndKey(t testing.TB, name string) (*x509.Certificate, crypto.Signer, []byte) {
	t.Helper()
	var certPEM, keyPEM []byte
	if strings.HasSuffix(name, ".conf") {
		cfg, err := clientcmd.LoadFromFile(filepath.Join(fx.kubeconfigs, name))
		if err != nil {
			t.Fatal(err)
		}
		user := cfg.AuthInfos[cfg.Contexts[cfg.CurrentContext].AuthInfo]
		certPEM, keyPEM = user.ClientCertificateData, user.ClientKeyData
	} else {
		base := renewBase(name)
		var err error
		if certPEM, err = os.ReadFile(kubeadm.CertPath(fx.pki, base)); err != nil {
			t.Fatal(err)
		}
		if keyPEM, err = os.ReadFile(kubeadm.KeyPath(fx.pki, base)); err != nil {
			t.Fatal(err)
		}
	}
	b, err := certificate.Parse(certPEM)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	keys, err := pki.ParseKeys(keyPEM)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b.Certificates[0], keys[0], keyPEM
}

func renewBase(name string) string {
	for _, l := range kubeadm.Leaves {
		if l.Name == name {
			return l.BaseName
		}
	}
	return ""
}

// renewCheckRenewed holds a renewed certificate to its promise: same subject,
// SANs, usages, issuer and key type as old, a new key that matches it, a
// signature of its CA, and validity from now.
func renewCheckRenewed(t *testing.T, name string, old, got *x509.Certificate, key crypto.Signer, ca *x509.Certificate, wantNotAfter time.Time) {
	t.Helper()
	switch {
	case !bytes.Equal(got.RawSubject, old.RawSubject):
		t.Errorf("%s: subject %s, want %s", name, got.Subject, old.Subject)
	case !bytes.Equal(got.RawIssuer, old.RawIssuer):
		t.Errorf("%s: issuer %s, want %s", name, got.Issuer, old.Issuer)
	case !slices.Equal(got.DNSNames, old.DNSNames) || fmt.Sprint(got.IPAddresses) != fmt.Sprint(old.IPAddresses):
		t.Errorf("%s: SANs %v %v, want %v %v", name, got.DNSNames, got.IPAddresses, old.DNSNames, old.IPAddresses)
	case got.KeyUsage != old.KeyUsage || !slices.Equal(got.ExtKeyUsage, old.ExtKeyUsage):
		t.Errorf("%s: usages %v %v, want %v %v", name, got.KeyUsage, got.ExtKeyUsage, old.KeyUsage, old.ExtKeyUsage)
	case got.IsCA:
		t.Errorf("%s: renewed as a CA", name)
	case certificate.KeyAlgorithm(got) != certificate.KeyAlgorithm(old):
		t.Errorf("%s: key %s, want %s", name, certificate.KeyAlgorithm(got), certificate.KeyAlgorithm(old))
	case !pki.KeyMatches(got, key):
		t.Errorf("%s: the key written does not match the certificate", name)
	case got.Equal(old) || reflect.DeepEqual(got.PublicKey, old.PublicKey):
		t.Errorf("%s: not a new certificate with a new key", name)
	case !got.NotAfter.Equal(wantNotAfter):
		t.Errorf("%s: notAfter %s, want %s", name, got.NotAfter, wantNotAfter)
	case !got.NotBefore.Equal(renewNow.Add(-pki.Backdate)):
		t.Errorf("%s: notBefore %s, want %s", name, got.NotBefore, renewNow.Add(-pki.Backdate))
	}
	if err := got.CheckSignatureFrom(ca); err != nil {
		t.Errorf("%s: does not verify against its CA: %v", name, err)
	}
}

func TestRenew(t *testing.T) {
	all := renewAllNames()
	ecaSigned := []string{"apiserver", "apiserver-kubelet-client", "admin.conf", "super-admin.conf", "controller-manager.conf", "scheduler.conf"}
	allPods := []string{kubeadm.KubeAPIServer, kubeadm.Etcd, kubeadm.KubeControllerManager, kubeadm.KubeScheduler}
	tests := []struct {
		name       string
		args       []string
		caValidity time.Duration
		mutate     func(t *testing.T, fx *renewFixture)
		wantCode   int
		// wantRenewed are the names renewed; the others asked for must have
		// wantAction with a reason containing wantReason.
		wantRenewed []string
		wantAction  api.RenewalAction
		wantReason  string
		wantPods    []string
		// wantNotAfter is the new notAfter relative to renewNow (default 1y).
		wantNotAfter time.Duration
	}{
		{name: "all", args: []string{"all"}, wantRenewed: all, wantPods: allPods},
		{name: "some, by name, in kubeadm's order", args: []string{"scheduler.conf", "apiserver", "apiserver"},
			wantRenewed: []string{"apiserver", "scheduler.conf"}, wantPods: []string{kubeadm.KubeAPIServer, kubeadm.KubeScheduler}},
		{name: "admin.conf restarts nothing", args: []string{"admin.conf", "super-admin.conf"}, wantRenewed: []string{"admin.conf", "super-admin.conf"}},
		{name: "validity 90d", args: []string{"etcd-peer", "--validity", "90d"}, wantRenewed: []string{"etcd-peer"}, wantPods: []string{kubeadm.Etcd},
			wantNotAfter: 90 * renewDay},
		{name: "validity capped at the CA's notAfter", args: []string{"all", "--validity", "2y"}, caValidity: 100 * renewDay,
			wantRenewed: all, wantPods: allPods, wantNotAfter: 100 * renewDay, wantReason: "validity capped at the notAfter of"},
		{
			name: "external CA mode: ca.key absent", args: []string{"all"},
			mutate:      func(t *testing.T, fx *renewFixture) { renewRemove(t, kubeadm.KeyPath(fx.pki, "ca")) },
			wantRenewed: []string{"front-proxy-client", "etcd-server", "etcd-peer", "etcd-healthcheck-client", "apiserver-etcd-client"},
			wantAction:  api.RenewalSkipped, wantReason: "external CA mode: ca.key is absent",
			wantPods: []string{kubeadm.KubeAPIServer, kubeadm.Etcd},
		},
		{
			name: "external etcd CA", args: []string{"all"},
			mutate:      func(t *testing.T, fx *renewFixture) { renewRemove(t, kubeadm.KeyPath(fx.pki, "etcd/ca")) },
			wantRenewed: append([]string{"front-proxy-client"}, ecaSigned...),
			wantAction:  api.RenewalSkipped, wantReason: "external CA mode: etcd/ca.key is absent",
			wantPods: []string{kubeadm.KubeAPIServer, kubeadm.KubeControllerManager, kubeadm.KubeScheduler},
		},
		{
			name: "missing files are skipped, as kubeadm does", args: []string{"all"},
			mutate: func(t *testing.T, fx *renewFixture) {
				renewRemove(t, kubeadm.CertPath(fx.pki, "etcd/peer"), filepath.Join(fx.kubeconfigs, "super-admin.conf"))
			},
			wantRenewed: slices.DeleteFunc(slices.Clone(all), func(n string) bool { return n == "etcd-peer" || n == "super-admin.conf" }),
			wantAction:  api.RenewalSkipped, wantReason: "does not exist", wantPods: allPods,
		},
		{
			name: "a missing key is made anew", args: []string{"front-proxy-client"},
			mutate:      func(t *testing.T, fx *renewFixture) { renewRemove(t, kubeadm.KeyPath(fx.pki, "front-proxy-client")) },
			wantRenewed: []string{"front-proxy-client"}, wantPods: []string{kubeadm.KubeAPIServer},
		},
		{
			name: "an expired CA is an error", args: []string{"front-proxy-client", "apiserver"},
			mutate: func(t *testing.T, fx *renewFixture) {
				key := newRenewKey(t, "")
				ca, err := pki.NewCA(pkix.Name{CommonName: "front-proxy-ca"}, key, renewNow.Add(-20*renewDay), 10*renewDay)
				if err != nil {
					t.Fatal(err)
				}
				fx.write(t, kubeadm.CertPath(fx.pki, "front-proxy-ca"), pki.EncodeCert(ca), 0o644)
				fx.write(t, kubeadm.KeyPath(fx.pki, "front-proxy-ca"), fx.encodeKey(t, key), 0o600)
			},
			wantCode: exitcode.Error, wantRenewed: []string{"apiserver"}, wantAction: api.RenewalError,
			wantReason: "expired on", wantPods: []string{kubeadm.KubeAPIServer},
		},
		{
			name: "a CA key that is not the CA's is an error", args: []string{"all"},
			mutate: func(t *testing.T, fx *renewFixture) {
				fx.write(t, kubeadm.KeyPath(fx.pki, "etcd/ca"), fx.encodeKey(t, newRenewKey(t, "")), 0o600)
			},
			wantCode: exitcode.Error, wantRenewed: append([]string{"front-proxy-client"}, ecaSigned...), wantAction: api.RenewalError,
			wantReason: "etcd/ca.key does not match", wantPods: []string{kubeadm.KubeAPIServer, kubeadm.KubeControllerManager, kubeadm.KubeScheduler},
		},
		{
			name: "a kubeconfig that names its certificate file is an error", args: []string{"scheduler.conf", "admin.conf"},
			mutate: func(t *testing.T, fx *renewFixture) {
				fx.writeKubeconfig(t, "scheduler.conf", &clientcmdapi.AuthInfo{ClientCertificate: "/var/lib/x.pem", ClientKey: "/var/lib/x.pem"})
			},
			wantCode: exitcode.Error, wantRenewed: []string{"admin.conf"}, wantAction: api.RenewalError,
			wantReason: "rather than embedding its client certificate",
		},
		{
			name: "a broken certificate is an error naming it", args: []string{"apiserver", "etcd-server"},
			mutate: func(t *testing.T, fx *renewFixture) {
				fx.write(t, kubeadm.CertPath(fx.pki, "apiserver"), []byte("-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n"), 0o644)
			},
			wantCode: exitcode.Error, wantRenewed: []string{"etcd-server"}, wantAction: api.RenewalError,
			wantReason: "apiserver.crt", wantPods: []string{kubeadm.Etcd},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newRenewFixture(t, tt.caValidity)
			if tt.mutate != nil {
				tt.mutate(t, fx)
			}
			before := fx.snapshot(t)
			olds := map[string]*x509.Certificate{}
			for _, n := range all {
				if slices.Contains(tt.wantRenewed, n) {
					olds[n] = fx.readCert(t, n)
				}
			}
			code, res, stderr := runRenew(t, fx, nil, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit status %d, want %d; stderr:\n%s", code, tt.wantCode, stderr)
			}
			got := renewByName(res)
			wantNotAfter := renewNow.Add(renewCmpOr(tt.wantNotAfter, 365*renewDay))
			for _, c := range res.Certificates {
				if slices.Contains(tt.wantRenewed, c.Name) {
					if c.Action != api.RenewalRenewed {
						t.Errorf("%s: %s (%s), want renewed", c.Name, c.Action, c.Reason)
						continue
					}
					if tt.wantReason != "" && tt.wantAction == "" && !strings.Contains(c.Reason, tt.wantReason) {
						t.Errorf("%s: reason %q, want %q", c.Name, c.Reason, tt.wantReason)
					}
					cert, key, keyPEM := fx.readCertAndKey(t, c.Name)
					renewCheckRenewed(t, c.Name, olds[c.Name], cert, key, fx.caCerts[c.CAName], wantNotAfter)
					if c.NewNotAfter == nil || !c.NewNotAfter.Time.Equal(cert.NotAfter) || c.OldNotAfter == nil || !c.OldNotAfter.Time.Equal(olds[c.Name].NotAfter) {
						t.Errorf("%s: reported notAfter %v → %v", c.Name, c.OldNotAfter, c.NewNotAfter)
					}
					fx.keyPEMs = append(fx.keyPEMs, keyPEM)
					continue
				}
				if c.Action != tt.wantAction || !strings.Contains(c.Reason, tt.wantReason) {
					t.Errorf("%s: %s %q, want %s %q", c.Name, c.Action, c.Reason, tt.wantAction, tt.wantReason)
				}
			}
			for _, n := range tt.wantRenewed {
				if _, ok := got[n]; !ok {
					t.Errorf("%s not in the result", n)
				}
			}
			var pods []string
			for _, p := range res.StaticPods {
				pods = append(pods, p.Name)
				if p.Manifest != kubeadm.ManifestPath(fx.manifests, p.Name) || p.Restarted {
					t.Errorf("static pod %+v", p)
				}
			}
			if !slices.Equal(pods, tt.wantPods) {
				t.Errorf("static pods %v, want %v", pods, tt.wantPods)
			}
			renewCheckBackups(t, fx, res, before)
			renewCheckModes(t, fx)
		})
	}
}

func renewCmpOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// renewCheckBackups checks that every file that changed has its old content in
// the backup directory, and that nothing else changed.
func renewCheckBackups(t *testing.T, fx *renewFixture, res *api.RenewalResult, before map[string]string) {
	t.Helper()
	after := fx.snapshot(t)
	var changed []string
	for rel, sum := range before {
		if after[rel] != sum {
			changed = append(changed, rel)
		}
	}
	for rel := range after {
		if _, ok := before[rel]; !ok {
			changed = append(changed, rel)
		}
	}
	if len(changed) == 0 {
		if res.BackupDir != "" {
			t.Errorf("backup directory %s with nothing changed", res.BackupDir)
		}
		return
	}
	if res.BackupDir == "" || filepath.Dir(res.BackupDir) != filepath.Dir(fx.pki) || !strings.HasPrefix(filepath.Base(res.BackupDir), "pki-backup-") {
		t.Fatalf("backup directory %q, want beside %s", res.BackupDir, fx.pki)
	}
	if st, err := os.Stat(res.BackupDir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("backup directory: %v %v", st, err)
	}
	for _, rel := range changed {
		path := filepath.Join(fx.root, rel)
		var backup string
		if r, err := filepath.Rel(fx.pki, path); err == nil && !strings.HasPrefix(r, "..") {
			backup = filepath.Join(res.BackupDir, r)
		} else {
			backup = filepath.Join(res.BackupDir, filepath.Base(path))
		}
		data, err := os.ReadFile(backup)
		switch {
		case before[rel] == "":
			if err == nil {
				t.Errorf("%s is new, yet backed up", rel)
			}
		case err != nil:
			t.Errorf("%s changed, and has no backup: %v", rel, err)
		case fmt.Sprintf("%x", sha256.Sum256(data)) != before[rel]:
			t.Errorf("the backup of %s is not its old content", rel)
		}
	}
}

// renewCheckModes: keys and kubeconfigs 0600, certificates 0644, no temporary
// files left.
func renewCheckModes(t *testing.T, fx *renewFixture) {
	t.Helper()
	_ = filepath.WalkDir(filepath.Join(fx.root, "etc/kubernetes"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		st, _ := d.Info()
		switch {
		case strings.Contains(d.Name(), ".tmp-"):
			t.Errorf("temporary file left: %s", path)
		case strings.HasSuffix(path, ".key"), strings.HasSuffix(path, ".conf"):
			if st.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %v, want 0600", path, st.Mode().Perm())
			}
		case strings.HasSuffix(path, ".crt"):
			if st.Mode().Perm() != 0o644 {
				t.Errorf("%s: mode %v, want 0644", path, st.Mode().Perm())
			}
		}
		return nil
	})
}

func renewRemove(t testing.TB, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRenewKeepsTheRestOfKubeconfigs(t *testing.T) {
	fx := newRenewFixture(t, 0)
	path := filepath.Join(fx.kubeconfigs, "controller-manager.conf")
	old, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runRenew(t, fx, nil, "controller-manager.conf"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	renewed, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(renewed.AuthInfos["the-user"].ClientCertificateData, old.AuthInfos["the-user"].ClientCertificateData) ||
		bytes.Equal(renewed.AuthInfos["the-user"].ClientKeyData, old.AuthInfos["the-user"].ClientKeyData) {
		t.Fatal("client certificate or key not replaced")
	}
	for _, c := range []*clientcmdapi.Config{old, renewed} {
		c.AuthInfos["the-user"].ClientCertificateData, c.AuthInfos["the-user"].ClientKeyData = nil, nil
		for _, x := range c.AuthInfos {
			x.LocationOfOrigin = ""
		}
		for _, x := range c.Clusters {
			x.LocationOfOrigin = ""
		}
		for _, x := range c.Contexts {
			x.LocationOfOrigin = ""
		}
	}
	if !equality.Semantic.DeepEqual(old, renewed) {
		t.Errorf("the rest of the kubeconfig changed:\nold %+v\nnew %+v", old, renewed)
	}
}

func TestRenewDryRunWritesNothing(t *testing.T) {
	for _, args := range [][]string{
		{"all", "--dry-run"},
		{"all", "--dry-run", "--restart-static-pods"},
		{"all", "--dry-run", "--csr-only", "--csr-dir", "CSRDIR"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			fx := newRenewFixture(t, 0)
			csrDir := filepath.Join(fx.root, "csrs")
			for i := range args {
				args[i] = strings.ReplaceAll(args[i], "CSRDIR", csrDir)
			}
			before := fx.snapshot(t)
			code, res, stderr := runRenew(t, fx, func(o *RenewOptions) {
				o.sleep = func(context.Context, time.Duration) error { t.Error("slept in a dry run"); return nil }
			}, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if after := fx.snapshot(t); !reflect.DeepEqual(before, after) {
				t.Error("a dry run changed files")
			}
			if _, err := os.Stat(csrDir); err == nil {
				t.Error("a dry run made the CSR directory")
			}
			entries, _ := os.ReadDir(fx.kubeconfigs)
			for _, e := range entries {
				if strings.Contains(e.Name(), "backup") || strings.Contains(e.Name(), "restart") {
					t.Errorf("a dry run made %s", e.Name())
				}
			}
			if !res.DryRun || res.BackupDir != "" {
				t.Errorf("dryRun %v backupDir %q", res.DryRun, res.BackupDir)
			}
			want := api.RenewalWouldRenew
			if slices.Contains(args, "--csr-only") {
				want = api.RenewalWouldWriteCSR
			}
			for _, c := range res.Certificates {
				if c.Action != want {
					t.Errorf("%s: %s, want %s", c.Name, c.Action, want)
				}
				if want == api.RenewalWouldRenew && (c.NewNotAfter == nil || !c.NewNotAfter.Time.Equal(renewNow.Add(365*renewDay))) {
					t.Errorf("%s: new notAfter %v", c.Name, c.NewNotAfter)
				}
			}
			if want == api.RenewalWouldRenew && len(res.StaticPods) != 4 {
				t.Errorf("static pods %+v", res.StaticPods)
			}
		})
	}
}

func TestRenewCSROnly(t *testing.T) {
	for _, external := range []bool{false, true} {
		t.Run(fmt.Sprintf("external=%v", external), func(t *testing.T) {
			fx := newRenewFixture(t, 0)
			if external {
				renewRemove(t, kubeadm.KeyPath(fx.pki, "ca"), kubeadm.KeyPath(fx.pki, "etcd/ca"), kubeadm.KeyPath(fx.pki, "front-proxy-ca"))
			}
			csrDir := filepath.Join(fx.root, "csrs", "nested")
			before := fx.snapshot(t)
			code, res, stderr := runRenew(t, fx, nil, "all", "--csr-only", "--csr-dir", csrDir)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if after := fx.snapshot(t); len(after) != len(before)+2*len(res.Certificates) {
				t.Errorf("%d files after, %d before: want only the CSRs and keys added", len(after), len(before))
			}
			for rel, sum := range before {
				if fx.snapshot(t)[rel] != sum {
					t.Errorf("%s changed", rel)
				}
			}
			if st, err := os.Stat(csrDir); err != nil || st.Mode().Perm() != 0o700 {
				t.Errorf("CSR directory: %v, %v", st, err)
			}
			if len(res.StaticPods) != 0 || res.BackupDir != "" || res.CSRDir != csrDir {
				t.Errorf("static pods %v, backup %q, csrDir %q", res.StaticPods, res.BackupDir, res.CSRDir)
			}
			for _, c := range res.Certificates {
				if c.Action != api.RenewalCSRWritten || c.CSRFile != filepath.Join(csrDir, c.Name+".csr") || c.KeyFile != filepath.Join(csrDir, c.Name+".key") {
					t.Errorf("%+v", c)
					continue
				}
				renewCheckCSR(t, c, fx.readCert(t, c.Name))
			}
			// Again: the CSRs and keys replaced are backed up beside the CSR
			// directory.
			code, res, stderr = runRenew(t, fx, nil, "apiserver", "--csr-only", "--csr-dir", csrDir)
			if code != 0 || res.BackupDir == "" || filepath.Dir(res.BackupDir) != filepath.Dir(csrDir) {
				t.Fatalf("exit %d, backup %q: %s", code, res.BackupDir, stderr)
			}
			if _, err := os.Stat(filepath.Join(res.BackupDir, "apiserver.key")); err != nil {
				t.Error(err)
			}
		})
	}
}

// renewCheckCSR checks a CSR and its key against the certificate it renews.
func renewCheckCSR(t *testing.T, c api.RenewedCertificate, old *x509.Certificate) {
	t.Helper()
	for _, f := range []string{c.CSRFile, c.KeyFile} {
		if st, err := os.Stat(f); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", f, st, err)
		}
	}
	data, err := os.ReadFile(c.CSRFile)
	if err != nil {
		t.Fatal(err)
	}
	req, err := renewParseCSR(data)
	if err != nil {
		t.Fatalf("%s: %v", c.CSRFile, err)
	}
	key, err := pki.ReadKeyFile(c.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case req.CheckSignature() != nil:
		t.Errorf("%s: bad signature", c.CSRFile)
	case !bytes.Equal(req.RawSubject, old.RawSubject):
		t.Errorf("%s: subject %s, want %s", c.CSRFile, req.Subject, old.Subject)
	case !slices.Equal(req.DNSNames, old.DNSNames) || fmt.Sprint(req.IPAddresses) != fmt.Sprint(old.IPAddresses):
		t.Errorf("%s: SANs %v %v, want %v %v", c.CSRFile, req.DNSNames, req.IPAddresses, old.DNSNames, old.IPAddresses)
	case !reflect.DeepEqual(key.Public(), req.PublicKey):
		t.Errorf("%s: the key is not the CSR's", c.KeyFile)
	case reflect.TypeOf(req.PublicKey) != reflect.TypeOf(old.PublicKey):
		t.Errorf("%s: key type %T, want %T", c.CSRFile, req.PublicKey, old.PublicKey)
	}
}

func renewParseCSR(data []byte) (*x509.CertificateRequest, error) {
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, fmt.Errorf("no CERTIFICATE REQUEST block")
		}
		if block.Type == "CERTIFICATE REQUEST" {
			return x509.ParseCertificateRequest(block.Bytes)
		}
	}
}

func TestRenewUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "name the certificates to renew, or all: apiserver, apiserver-kubelet-client"},
		{[]string{"apiserver", "kubelet.conf", "ca"}, `unknown certificate names "kubelet.conf", "ca"`},
		{[]string{"all", "apiserver"}, `"all" renews every certificate: give it alone`},
		{[]string{"all", "--csr-only"}, "--csr-only needs --csr-dir"},
		{[]string{"all", "--csr-dir", "/tmp/x"}, "--csr-dir is only for --csr-only"},
		{[]string{"all", "--csr-only", "--csr-dir", "PKI"}, "is the PKI directory"},
		{[]string{"all", "--csr-only", "--csr-dir", "/tmp/x", "--restart-static-pods"}, "nothing the static pods use changes"},
		{[]string{"all", "--validity", "0s"}, "--validity 0s: must be positive"},
		{[]string{"all", "--validity", "soon"}, `invalid argument "soon"`},
		{[]string{"all", "--restart-static-pods", "--restart-wait", "0s"}, "--restart-wait 0s: must be positive"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			fx := newRenewFixture(t, 0)
			before := fx.snapshot(t)
			for i := range tt.args {
				if tt.args[i] == "PKI" {
					tt.args[i] = fx.pki + "/"
				}
			}
			code, stdout, stderr := runRenewRaw(t, fx, nil, tt.args...)
			if code != exitcode.Error || stdout != "" || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 1 and %q", code, stdout, stderr, tt.want)
			}
			if !reflect.DeepEqual(before, fx.snapshot(t)) {
				t.Error("files changed")
			}
		})
	}
}

// TestRenewRefusesDirectories: a --pki-dir that is missing, a file or not a
// kubeadm PKI, and a --kubeconfig-dir, --csr-dir or --manifests-dir that is
// wrong, are errors naming the flag and the path, not a run that skips
// everything and exits 0; nothing is written.
func TestRenewRefusesDirectories(t *testing.T) {
	fx := newRenewFixture(t, 0)
	empty := filepath.Join(fx.root, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	file := kubeadm.CertPath(fx.pki, "ca")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"all", "--pki-dir", filepath.Join(fx.root, "nope")}, "--pki-dir " + filepath.Join(fx.root, "nope") + ": no such directory"},
		{[]string{"all", "--pki-dir", file}, "--pki-dir " + file + ": not a directory"},
		{[]string{"all", "--pki-dir", empty}, "--pki-dir " + empty + ": not a kubeadm PKI directory (none of ca.crt, "},
		{[]string{"admin.conf", "--kubeconfig-dir", filepath.Join(fx.root, "nope")}, "--kubeconfig-dir " + filepath.Join(fx.root, "nope") + ": no such directory"},
		{[]string{"all", "--csr-only", "--csr-dir", filepath.Join(fx.pki, "csrs")}, "--csr-dir " + filepath.Join(fx.pki, "csrs") + " is inside the PKI directory"},
		{[]string{"all", "--csr-only", "--csr-dir", file}, "is inside the PKI directory"},
		{[]string{"all", "--csr-only", "--csr-dir", filepath.Join(fx.kubeconfigs, "admin.conf")}, "--csr-dir " + filepath.Join(fx.kubeconfigs, "admin.conf") + ": not a directory"},
		{[]string{"all", "--restart-static-pods", "--manifests-dir", filepath.Join(fx.root, "nope")}, "--manifests-dir " + filepath.Join(fx.root, "nope") + ": no such directory"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			before := fx.snapshot(t)
			code, stdout, stderr := runRenewRaw(t, fx, nil, tt.args...)
			if code != exitcode.Error || stdout != "" || !strings.Contains(stderr, tt.want) || strings.Count(stderr, "error: ") != 1 {
				t.Errorf("exit %d, stdout %q, stderr %q; want 1 and %q", code, stdout, stderr, tt.want)
			}
			if !reflect.DeepEqual(before, fx.snapshot(t)) {
				t.Error("files changed")
			}
		})
	}
}

func TestRenewTableAndAdvice(t *testing.T) {
	fx := newRenewFixture(t, 0)
	renewRemove(t, kubeadm.KeyPath(fx.pki, "front-proxy-ca"))
	code, stdout, stderr := runRenewRaw(t, fx, nil, "apiserver", "front-proxy-client", "admin.conf")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"NAME", "CA", "ACTION", "OLD EXPIRES", "NEW EXPIRES", "apiserver", "renewed", "skipped", "RSA-2048", "ECDSA-P-384"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
	for _, want := range []string{
		"The replaced files were copied to " + filepath.Join(fx.kubeconfigs, "pki-backup-"),
		"Skipped front-proxy-client: front-proxy-ca is in external CA mode",
		"admin.conf or super-admin.conf was renewed",
		"These static pods must restart to load the new certificates: kube-apiserver.",
		"fileCheckFrequency (20s by default)",
		"mv " + kubeadm.ManifestPath(fx.manifests, kubeadm.KubeAPIServer) + " " + fx.manifests + ".kubecerts-restart/",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	// Scripts get the object alone.
	_, _, stderr = runRenew(t, fx, nil, "apiserver")
	if stderr != "" {
		t.Errorf("stderr with -o json: %q", stderr)
	}
}

func TestRenewAfterAnInterruptedRenewal(t *testing.T) {
	fx := newRenewFixture(t, 0)
	// What a renewal killed between the key and the certificate leaves: a
	// new key beside the old certificate, and a temporary file of the
	// certificate's write.
	fx.write(t, kubeadm.KeyPath(fx.pki, "apiserver"), fx.encodeKey(t, newRenewKey(t, "rsa")), 0o600)
	stale := filepath.Join(fx.pki, ".apiserver.crt.tmp-12345")
	fx.write(t, stale, []byte("-----BEGIN CERT"), 0o600)
	// A backup directory of the same second exists already.
	first := filepath.Join(fx.kubeconfigs, "pki-backup-"+renewNow.Format("20060102T150405Z"))
	fx.write(t, filepath.Join(first, "apiserver.crt"), []byte("the first backup"), 0o600)

	code, res, stderr := runRenew(t, fx, nil, "apiserver")
	if code != 0 || res.Certificates[0].Action != api.RenewalRenewed {
		t.Fatalf("exit %d %+v: %s", code, res, stderr)
	}
	notes := strings.Join(res.Notes, "\n")
	for _, want := range []string{"apiserver.key does not match the certificate", "removed " + stale} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes %q lack %q", notes, want)
		}
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("stale temporary file left")
	}
	if res.BackupDir != first+"-1" {
		t.Errorf("backup dir %s, want %s-1", res.BackupDir, first)
	}
	if data, _ := os.ReadFile(filepath.Join(first, "apiserver.crt")); string(data) != "the first backup" {
		t.Error("the earlier backup was overwritten")
	}
	cert, key, _ := fx.readCertAndKey(t, "apiserver")
	if !pki.KeyMatches(cert, key) {
		t.Error("key and certificate do not match after the rerun")
	}
}

func TestRenewWriteFailurePutsBackTheKey(t *testing.T) {
	fx := newRenewFixture(t, 0)
	keyPath := kubeadm.KeyPath(fx.pki, "apiserver")
	oldKey, _ := os.ReadFile(keyPath)
	r := &renewal{o: NewRenewOptions(genericiooptions.IOStreams{}), now: renewNow, res: &api.RenewalResult{}}
	out := &api.RenewedCertificate{Name: "apiserver"}
	it := &renewItem{out: out, writes: []renewWrite{
		{path: keyPath, data: []byte("new key"), perm: 0o600, old: oldKey, existed: true},
		{path: filepath.Join(fx.root, "no-such-dir", "apiserver.crt"), data: []byte("cert"), perm: 0o644},
	}}
	r.writeItem(it)
	if out.Action != api.RenewalError || !strings.Contains(out.Reason, "no-such-dir") {
		t.Errorf("%s %q", out.Action, out.Reason)
	}
	if got, _ := os.ReadFile(keyPath); !bytes.Equal(got, oldKey) {
		t.Error("the key written before the failure was not put back")
	}
}

func TestRenewRestartStaticPods(t *testing.T) {
	fx := newRenewFixture(t, 0)
	manifests := map[string][]byte{}
	for _, pod := range []string{kubeadm.KubeAPIServer, kubeadm.Etcd, kubeadm.KubeControllerManager, kubeadm.KubeScheduler} {
		manifests[pod], _ = os.ReadFile(kubeadm.ManifestPath(fx.manifests, pod))
	}
	hold := renewHoldDir(fx.manifests)
	var waited time.Duration
	code, res, stderr := runRenew(t, fx, func(o *RenewOptions) {
		o.sleep = func(_ context.Context, d time.Duration) error {
			waited = d
			// While the pods are stopped, the manifests wait out of kubelet's sight.
			for _, pod := range []string{kubeadm.KubeAPIServer, kubeadm.KubeScheduler} {
				if _, err := os.Stat(kubeadm.ManifestPath(fx.manifests, pod)); err == nil {
					t.Errorf("%s still in the manifests directory during the wait", pod)
				}
				if _, err := os.Stat(filepath.Join(hold, pod+".yaml")); err != nil {
					t.Errorf("%s not held: %v", pod, err)
				}
			}
			if _, err := os.Stat(kubeadm.ManifestPath(fx.manifests, kubeadm.Etcd)); err != nil {
				t.Error("etcd, whose certificates were not renewed, was moved")
			}
			return nil
		}
	}, "apiserver", "scheduler.conf", "--restart-static-pods", "--restart-wait", "30s")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if waited != 30*time.Second {
		t.Errorf("waited %s, want 30s", waited)
	}
	if len(res.StaticPods) != 2 || !res.StaticPods[0].Restarted || !res.StaticPods[1].Restarted {
		t.Errorf("static pods %+v", res.StaticPods)
	}
	for pod, data := range manifests {
		if got, err := os.ReadFile(kubeadm.ManifestPath(fx.manifests, pod)); err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s not back as it was: %v", pod, err)
		}
	}
	if _, err := os.Stat(hold); err == nil {
		t.Error("holding directory left")
	}
}

func TestRenewRestartInterrupted(t *testing.T) {
	fx := newRenewFixture(t, 0)
	renewRemove(t, kubeadm.ManifestPath(fx.manifests, kubeadm.Etcd)) // external etcd: no manifest
	code, res, stderr := runRenew(t, fx, func(o *RenewOptions) {
		// SIGINT during the wait.
		o.sleep = func(ctx context.Context, d time.Duration) error {
			ctx, cancel := context.WithCancel(ctx)
			cancel()
			return renewSleep(ctx, time.Hour)
		}
	}, "all", "--restart-static-pods")
	if code != exitcode.Error || !strings.Contains(stderr, "interrupted while kube-apiserver, kube-controller-manager, kube-scheduler were stopped: their manifests are back") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, p := range res.StaticPods {
		if p.Restarted {
			t.Errorf("%s reported restarted", p.Name)
		}
		want := "interrupted before the end of the 20s wait"
		if p.Name == kubeadm.Etcd {
			want = "does not exist"
		}
		if !strings.Contains(p.Reason, want) {
			t.Errorf("%s: reason %q, want %q", p.Name, p.Reason, want)
		}
		if p.Name != kubeadm.Etcd {
			if _, err := os.Stat(p.Manifest); err != nil {
				t.Errorf("%s not put back: %v", p.Name, err)
			}
		}
	}
	// The certificates were renewed all the same.
	if n := res.Count(api.RenewalRenewed); n != len(res.Certificates) {
		t.Errorf("%d renewed", n)
	}
}

func TestRenewRestartRecoversLeftManifests(t *testing.T) {
	fx := newRenewFixture(t, 0)
	hold := renewHoldDir(fx.manifests)
	// A restart killed during its wait left two manifests out; a third was
	// recreated by hand meanwhile.
	for _, pod := range []string{kubeadm.KubeAPIServer, kubeadm.KubeScheduler} {
		if err := os.MkdirAll(hold, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(kubeadm.ManifestPath(fx.manifests, pod), filepath.Join(hold, pod+".yaml")); err != nil {
			t.Fatal(err)
		}
	}
	fx.write(t, filepath.Join(hold, "etcd.yaml"), []byte("an older etcd manifest"), 0o600)

	// Without --restart-static-pods: a note, nothing moved.
	_, res, _ := runRenew(t, fx, nil, "admin.conf")
	if notes := strings.Join(res.Notes, "\n"); !strings.Contains(notes, "holds etcd.yaml, kube-apiserver.yaml, kube-scheduler.yaml") {
		t.Errorf("notes %q", notes)
	}
	// With it: put back first, then restarted.
	code, res, stderr := runRenew(t, fx, nil, "scheduler.conf", "--restart-static-pods")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	notes := strings.Join(res.Notes, "\n")
	for _, want := range []string{"put back " + kubeadm.ManifestPath(fx.manifests, kubeadm.KubeAPIServer), "etcd.yaml was left in " + hold + " by an interrupted restart, but"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes %q lack %q", notes, want)
		}
	}
	for _, pod := range []string{kubeadm.KubeAPIServer, kubeadm.KubeScheduler, kubeadm.Etcd} {
		if _, err := os.Stat(kubeadm.ManifestPath(fx.manifests, pod)); err != nil {
			t.Errorf("%s: %v", pod, err)
		}
	}
	if data, _ := os.ReadFile(filepath.Join(hold, "etcd.yaml")); string(data) != "an older etcd manifest" {
		t.Error("the conflicting held manifest was not left as it was")
	}
	if len(res.StaticPods) != 1 || !res.StaticPods[0].Restarted {
		t.Errorf("%+v", res.StaticPods)
	}
}

func TestRenewInterruptedBeforeWritingWritesNothing(t *testing.T) {
	fx := newRenewFixture(t, 0)
	before := fx.snapshot(t)
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	o := NewRenewOptions(streams)
	cmd := newCmdRenew(o)
	cmd.SetArgs([]string{"all", "--pki-dir", fx.pki, "--kubeconfig-dir", fx.kubeconfigs, "--manifests-dir", fx.manifests,
		"--restart-static-pods", "-o", "json"})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Ctrl-C while the keys were being made
	err := cmd.ExecuteContext(ctx)
	if exitcode.FromError(err) != exitcode.Error || !strings.Contains(err.Error(), "interrupted before it was written") {
		t.Errorf("error %v", err)
	}
	var res api.RenewalResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if n := res.Count(api.RenewalError); n != len(res.Certificates) || res.BackupDir != "" || len(res.StaticPods) != 0 {
		t.Errorf("%d of %d reported not written, backup %q, static pods %v", n, len(res.Certificates), res.BackupDir, res.StaticPods)
	}
	after := fx.snapshot(t)
	for rel, sum := range before {
		if after[rel] != sum {
			t.Errorf("%s changed", rel)
		}
	}
}

// TestRenewKubeconfigModeMadePrivate: a renewed kubeconfig holds a new
// private key, so it is written without group or other bits whatever its
// mode was, and the report says so when the mode changed.
func TestRenewKubeconfigModeMadePrivate(t *testing.T) {
	tests := []struct {
		mode, want os.FileMode
		dryRun     bool
		wantReason string
	}{
		{0o600, 0o600, false, ""},
		{0o644, 0o600, false, "mode 0644 made 0600: it holds a private key"},
		{0o640, 0o600, false, "mode 0640 made 0600"},
		{0o666, 0o600, false, "mode 0666 made 0600"},
		{0o400, 0o400, false, ""},
		{0o644, 0o644, true, "mode 0644 made 0600"}, // a dry run says so, changes nothing
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%#o dry-run=%v", tt.mode, tt.dryRun), func(t *testing.T) {
			fx := newRenewFixture(t, 0)
			path := filepath.Join(fx.kubeconfigs, "admin.conf")
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			args := []string{"admin.conf"}
			if tt.dryRun {
				args = append(args, "--dry-run")
			}
			code, res, stderr := runRenew(t, fx, nil, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			c := renewByName(res)["admin.conf"]
			st, _ := os.Stat(path)
			if st.Mode().Perm() != tt.want {
				t.Errorf("mode %#o, want %#o", st.Mode().Perm(), tt.want)
			}
			if tt.wantReason == "" && strings.Contains(c.Reason, "mode") || !strings.Contains(c.Reason, tt.wantReason) {
				t.Errorf("reason %q, want %q", c.Reason, tt.wantReason)
			}
		})
	}
}

// TestRenewRelativePKIDir: with --pki-dir . (or another relative path) the
// backup directory is beside the PKI directory, never inside it.
func TestRenewRelativePKIDir(t *testing.T) {
	for _, tt := range []struct{ chdir, pkiDir, kubeconfigDir string }{
		{"etc/kubernetes/pki", ".", ".."},
		{"etc/kubernetes/pki", "./", "../"},
		{"etc/kubernetes", "pki", "."},
		{"etc/kubernetes/pki/etcd", "..", "../.."},
	} {
		t.Run(tt.chdir+" "+tt.pkiDir, func(t *testing.T) {
			fx := newRenewFixture(t, 0)
			t.Chdir(filepath.Join(fx.root, tt.chdir))
			before := fx.snapshot(t)
			code, res, stderr := runRenew(t, fx, nil, "all", "--pki-dir", tt.pkiDir, "--kubeconfig-dir", tt.kubeconfigDir)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			abs, _ := filepath.Abs(res.BackupDir)
			if filepath.Dir(abs) != fx.kubeconfigs || !strings.HasPrefix(filepath.Base(abs), "pki-backup-") {
				t.Errorf("backup directory %s (%s), want %s/pki-backup-…", res.BackupDir, abs, fx.kubeconfigs)
			}
			_ = filepath.WalkDir(fx.pki, func(p string, d fs.DirEntry, err error) error {
				if err == nil && strings.Contains(d.Name(), "-backup-") {
					t.Errorf("backup inside the PKI directory: %s", p)
				}
				return err
			})
			renewCheckBackups(t, fx, res, before)
		})
	}
}
