//go:build linux

package kubeadm_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/pki"
)

// renewable are the names kubectl rotate renew all renews, with their
// files relative to /etc/kubernetes and the CA that signs them.
var renewable = map[string]struct{ file, key, ca string }{
	"apiserver":                {"pki/apiserver.crt", "pki/apiserver.key", "pki/ca.crt"},
	"apiserver-kubelet-client": {"pki/apiserver-kubelet-client.crt", "pki/apiserver-kubelet-client.key", "pki/ca.crt"},
	"front-proxy-client":       {"pki/front-proxy-client.crt", "pki/front-proxy-client.key", "pki/front-proxy-ca.crt"},
	"etcd-server":              {"pki/etcd/server.crt", "pki/etcd/server.key", "pki/etcd/ca.crt"},
	"etcd-peer":                {"pki/etcd/peer.crt", "pki/etcd/peer.key", "pki/etcd/ca.crt"},
	"etcd-healthcheck-client":  {"pki/etcd/healthcheck-client.crt", "pki/etcd/healthcheck-client.key", "pki/etcd/ca.crt"},
	"apiserver-etcd-client":    {"pki/apiserver-etcd-client.crt", "pki/apiserver-etcd-client.key", "pki/etcd/ca.crt"},
	"admin.conf":               {"admin.conf", "", "pki/ca.crt"},
	"super-admin.conf":         {"super-admin.conf", "", "pki/ca.crt"},
	"controller-manager.conf":  {"controller-manager.conf", "", "pki/ca.crt"},
	"scheduler.conf":           {"scheduler.conf", "", "pki/ca.crt"},
}

// TestRenewAgreesWithKubeadm renews a PKI that the real kubeadm made and
// holds the result to kubeadm: every renewed certificate keeps its subject,
// SANs, usages and issuer, expires later, verifies against its CA, and
// kubeadm certs check-expiration on the same directory reports the same
// names with the new expiry.
func TestRenewAgreesWithKubeadm(t *testing.T) {
	kubeadm := kubeadmBinary(t)
	rotate := renewBinary(t, false)
	caSigned := []string{"apiserver", "apiserver-kubelet-client", "admin.conf", "super-admin.conf", "controller-manager.conf", "scheduler.conf"}
	tests := []struct {
		name   string
		remove []string
		// skipped are the names renew must leave alone, externally managed
		// for kubeadm.
		skipped []string
	}{
		{name: "renew all"},
		{name: "external CA mode: ca.key deleted", remove: []string{"pki/ca.key"}, skipped: caSigned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNode(t, kubeadm)
			for _, rel := range tt.remove {
				if err := os.Remove(n.path(rel)); err != nil {
					t.Fatal(err)
				}
			}
			before, stderr, err := n.checkExpiration()
			if err != nil {
				t.Fatalf("kubeadm certs check-expiration before: %v\n%s", err, stderr)
			}
			olds := map[string]*x509.Certificate{}
			oldFiles := map[string][]byte{}
			for name, f := range renewable {
				olds[name] = renewedCert(t, n.path(f.file))
				oldFiles[name] = renewRead(t, n.path(f.file))
			}
			// kubeadm's certificates all expire within the same second or
			// two: wait, so that a renewed one cannot share it.
			time.Sleep(1100 * time.Millisecond)
			res := renewRun(t, rotate, nil, "renew", "all", "--pki-dir", n.path("pki"), "--kubeconfig-dir", n.path(""), "-o", "json")

			after, stderr, err := n.checkExpiration()
			if err != nil {
				t.Fatalf("kubeadm certs check-expiration after renew: %v\n%s", err, stderr)
			}
			if !slices.Equal(sortedKeys(before), sortedKeys(after)) {
				t.Errorf("kubeadm's names changed: %v, then %v", sortedKeys(before), sortedKeys(after))
			}
			got := map[string]api.RenewedCertificate{}
			for _, c := range res.Certificates {
				got[c.Name] = c
			}
			for _, name := range sortedKeys(before) {
				f, isRenewable := renewable[name]
				k := after[name]
				if !isRenewable { // a CA: never renewed
					if !k.ExpirationDate.Equal(before[name].ExpirationDate) {
						t.Errorf("CA %s changed: %s, then %s", name, before[name].ExpirationDate, k.ExpirationDate)
					}
					continue
				}
				c, ok := got[name]
				if !ok {
					t.Errorf("%s: not in renew's result", name)
					continue
				}
				if slices.Contains(tt.skipped, name) {
					if c.Action != api.RenewalSkipped || !strings.Contains(c.Reason, "external CA mode") {
						t.Errorf("%s: %s %q, want skipped for external CA mode", name, c.Action, c.Reason)
					}
					if !bytes.Equal(renewRead(t, n.path(f.file)), oldFiles[name]) {
						t.Errorf("%s: skipped, yet its file changed", name)
					}
					if !k.ExternallyManaged || !k.ExpirationDate.Equal(before[name].ExpirationDate) {
						t.Errorf("%s: kubeadm says external=%v, expires %s (was %s)", name, k.ExternallyManaged, k.ExpirationDate, before[name].ExpirationDate)
					}
					continue
				}
				if c.Action != api.RenewalRenewed {
					t.Errorf("%s: %s %q, want renewed", name, c.Action, c.Reason)
					continue
				}
				cert := renewedCert(t, n.path(f.file))
				renewCheckAgainstOld(t, name, olds[name], cert)
				ca := renewedCert(t, n.path(f.ca))
				if err := renewVerify(cert, ca); err != nil {
					t.Errorf("%s: does not verify against %s: %v", name, f.ca, err)
				}
				if !cert.NotAfter.After(olds[name].NotAfter) {
					t.Errorf("%s: notAfter %s, not later than %s", name, cert.NotAfter, olds[name].NotAfter)
				}
				renewCheckKeyPair(t, n, name)
				want := cert.NotAfter.UTC().Truncate(time.Second)
				if !k.ExpirationDate.Equal(want) || k.CAName != before[name].CAName || k.ExternallyManaged {
					t.Errorf("%s: kubeadm says %s ca=%q external=%v; renew wrote %s", name, k.ExpirationDate, k.CAName, k.ExternallyManaged, want)
				} else {
					t.Logf("agree: %-25s %s → %s ca=%s", name, before[name].ExpirationDate.Format(time.RFC3339), k.ExpirationDate.Format(time.RFC3339), k.CAName)
				}
				if c.NewNotAfter == nil || !c.NewNotAfter.Time.Equal(cert.NotAfter) {
					t.Errorf("%s: renew reported notAfter %v, wrote %s", name, c.NewNotAfter, cert.NotAfter)
				}
			}
		})
	}
}

// TestRenewCSROnlyCarriesTheNames: --csr-only writes, for each
// certificate kubeadm made, a CSR with its subject and SANs and a new key
// of its type, and changes nothing in the PKI.
func TestRenewCSROnlyCarriesTheNames(t *testing.T) {
	n := newNode(t, kubeadmBinary(t))
	rotate := renewBinary(t, false)
	before := renewTreeSums(t, n.path(""))
	csrDir := filepath.Join(t.TempDir(), "csrs")
	res := renewRun(t, rotate, nil, "renew", "all", "--csr-only", "--csr-dir", csrDir,
		"--pki-dir", n.path("pki"), "--kubeconfig-dir", n.path(""), "-o", "json")
	if after := renewTreeSums(t, n.path("")); !renewEqualSums(before, after) {
		t.Error("--csr-only changed files under /etc/kubernetes")
	}
	if len(res.Certificates) != len(renewable) {
		t.Errorf("%d certificates in the result, want %d", len(res.Certificates), len(renewable))
	}
	for _, c := range res.Certificates {
		f := renewable[c.Name]
		old := renewedCert(t, n.path(f.file))
		if c.Action != api.RenewalCSRWritten || c.CSRFile != filepath.Join(csrDir, c.Name+".csr") {
			t.Errorf("%s: %s %s", c.Name, c.Action, c.CSRFile)
			continue
		}
		block, _ := pem.Decode(renewRead(t, c.CSRFile))
		if block == nil || block.Type != "CERTIFICATE REQUEST" {
			t.Fatalf("%s: not a PEM CSR", c.CSRFile)
		}
		req, err := x509.ParseCertificateRequest(block.Bytes)
		if err != nil || req.CheckSignature() != nil {
			t.Fatalf("%s: %v", c.CSRFile, err)
		}
		key, err := pki.ReadKeyFile(c.KeyFile)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case !bytes.Equal(req.RawSubject, old.RawSubject):
			t.Errorf("%s: CSR subject %s, certificate %s", c.Name, req.Subject, old.Subject)
		case !slices.Equal(req.DNSNames, old.DNSNames) || fmt.Sprint(req.IPAddresses) != fmt.Sprint(old.IPAddresses):
			t.Errorf("%s: CSR SANs %v %v, certificate %v %v", c.Name, req.DNSNames, req.IPAddresses, old.DNSNames, old.IPAddresses)
		case !renewKeyEqual(key.Public(), req.PublicKey):
			t.Errorf("%s: %s is not the CSR's key", c.Name, c.KeyFile)
		case fmt.Sprintf("%T", req.PublicKey) != fmt.Sprintf("%T", old.PublicKey):
			t.Errorf("%s: CSR key %T, certificate key %T", c.Name, req.PublicKey, old.PublicKey)
		default:
			t.Logf("agree: %-25s %s %v %v", c.Name, req.Subject, req.DNSNames, req.IPAddresses)
		}
		for _, p := range []string{c.CSRFile, c.KeyFile} {
			if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("%s: %v %v", p, st, err)
			}
		}
	}
	if st, err := os.Stat(csrDir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("%s: %v %v", csrDir, st, err)
	}
}

// TestRenewKilledLeavesEveryFileOldOrNew kills kubectl rotate renew all
// --restart-static-pods (a build with the kubecerts_faultinject tag) at
// each step that changes a file — after each backup, each write and each
// manifest moved, and in the middle of each write, before its rename — and
// checks the node after each: every file is byte for byte its old version
// or the one renew meant to write, and parses; what is left over (temporary
// files, manifests held out) is harmless; kubeadm still reads the PKI; and
// a second run completes and cleans up.
func TestRenewKilledLeavesEveryFileOldOrNew(t *testing.T) {
	kubeadm := kubeadmBinary(t)
	rotate := renewBinary(t, true)
	template := newNode(t, kubeadm)
	template.must("init", "phase", "control-plane", "all", "--config", configPath)
	template.must("init", "phase", "etcd", "local", "--config", configPath)
	old := renewTreeSums(t, template.path(""))

	// A run without a fault counts the steps.
	count := renewCloneNode(t, template)
	logFile := filepath.Join(t.TempDir(), "steps")
	renewRun(t, rotate, []string{"KUBECERTS_FAULT_LOG=" + logFile}, renewCrashArgs(count)...)
	steps := renewReadSteps(t, logFile)
	if len(steps) < 40 {
		t.Fatalf("%d steps, want at least 40 (11 certificates: 18 backups, 18 writes, 4 manifests out and back)", len(steps))
	}
	var kinds []string
	for _, s := range steps {
		kinds = append(kinds, s.kind)
	}
	t.Logf("%d steps: %s", len(steps), strings.Join(kinds, " "))

	type kill struct {
		at   int
		mode string
	}
	var kills []kill
	for _, s := range steps {
		kills = append(kills, kill{s.n, "after"})
		if s.kind == "write" {
			kills = append(kills, kill{s.n, "torn"})
		}
	}
	found := map[string]int{}
	for _, k := range kills {
		name := fmt.Sprintf("%s-%d-%s", k.mode, k.at, steps[k.at-1].kind)
		ok := t.Run(name, func(t *testing.T) {
			n := renewCloneNode(t, template)
			log := filepath.Join(t.TempDir(), "steps")
			env := []string{"KUBECERTS_FAULT_AT=" + fmt.Sprint(k.at), "KUBECERTS_FAULT_MODE=" + k.mode, "KUBECERTS_FAULT_LOG=" + log}
			if err := renewRunKilled(rotate, env, renewCrashArgs(n)...); err != nil {
				t.Fatal(err)
			}
			news := map[string]map[string]bool{}
			for _, s := range renewReadSteps(t, log) {
				if s.sum != "-" {
					if news[s.path] == nil {
						news[s.path] = map[string]bool{}
					}
					news[s.path][s.sum] = true
				}
			}
			for what, c := range renewCheckCrashed(t, n, old, news) {
				found[what] += c
			}
			if _, stderr, err := n.checkExpiration(); err != nil {
				t.Errorf("kubeadm certs check-expiration on the node as the kill left it: %v\n%s", err, stderr)
			}
			res := renewRun(t, rotate, nil, renewCrashArgs(n)...)
			if res.Count(api.RenewalRenewed) != len(renewable) {
				t.Errorf("the second run renewed %d of %d", res.Count(api.RenewalRenewed), len(renewable))
			}
			renewCheckCompleted(t, n, old)
		})
		if !ok {
			break // one failure tells enough
		}
	}
	t.Logf("%d kill points; after the kills: %v", len(kills), found)
}

// renewCrashArgs is the renewal the crash test kills.
func renewCrashArgs(n *node) []string {
	return []string{"renew", "all", "--pki-dir", n.path("pki"), "--kubeconfig-dir", n.path(""),
		"--restart-static-pods", "--manifests-dir", n.path("manifests"), "--restart-wait", "50ms", "-o", "json"}
}

var renewTempName = regexp.MustCompile(`^\.(.+)\.tmp-[0-9]+$`)

// renewCheckCrashed checks the node a kill left: each file old, or new as
// logged, and parsing; extra files only backups (each the old version),
// held manifests and hidden temporary files. It counts what it found.
func renewCheckCrashed(t *testing.T, n *node, old map[string]string, news map[string]map[string]bool) map[string]int {
	t.Helper()
	found := map[string]int{}
	now := renewTreeSums(t, n.path(""))
	hold := n.path("manifests") + ".kubecerts-restart"
	for rel, sum := range old {
		path := n.path(rel)
		if strings.HasPrefix(rel, "manifests/") {
			held := filepath.Join(hold, filepath.Base(rel))
			switch {
			case now[rel] == sum:
			case now[rel] == "" && renewFileSum(t, held) == sum:
				found["manifest held out"]++
			default:
				t.Errorf("%s: neither in place nor held, as it was", rel)
			}
			continue
		}
		switch {
		case now[rel] == sum:
			found["old"]++
		case news[path][now[rel]]:
			found["new"]++
		default:
			t.Errorf("%s: neither its old content nor what renew wrote", rel)
			continue
		}
		renewCheckParses(t, path)
	}
	for rel, sum := range now {
		if _, known := old[rel]; known {
			continue
		}
		base := filepath.Base(rel)
		switch {
		case strings.HasPrefix(rel, "pki-backup-"):
			orig := strings.SplitN(rel, "/", 2)[1]
			if _, ok := old["pki/"+orig]; ok {
				orig = "pki/" + orig
			}
			if old[orig] != sum {
				t.Errorf("backup %s is not the old %s", rel, orig)
			}
			found["backup"]++
		case strings.HasPrefix(rel, "manifests.kubecerts-restart/"):
		case renewTempName.MatchString(base):
			target := filepath.Join(filepath.Dir(rel), renewTempName.FindStringSubmatch(base)[1])
			if _, ok := old[target]; !ok {
				t.Errorf("temporary file %s of an unknown file", rel)
			}
			found["temporary file"]++
		default:
			t.Errorf("unexpected file %s", rel)
		}
	}
	return found
}

// renewCheckCompleted checks the node after the second run: no temporary file,
// every key matches its certificate, every manifest back as it was.
func renewCheckCompleted(t *testing.T, n *node, old map[string]string) {
	t.Helper()
	now := renewTreeSums(t, n.path(""))
	for rel := range now {
		if renewTempName.MatchString(filepath.Base(rel)) && !strings.HasPrefix(rel, "pki-backup-") {
			t.Errorf("temporary file %s left after the second run", rel)
		}
		if strings.HasPrefix(rel, "manifests.kubecerts-restart/") {
			t.Errorf("%s still held out after the second run", rel)
		}
	}
	for rel, sum := range old {
		if strings.HasPrefix(rel, "manifests/") && now[rel] != sum {
			t.Errorf("%s not back as it was after the second run", rel)
		}
	}
	for name := range renewable {
		renewCheckKeyPair(t, n, name)
	}
}

// renewCheckParses parses a file of the node completely: certificates, keys,
// kubeconfigs and their embedded credentials.
func renewCheckParses(t *testing.T, path string) {
	t.Helper()
	data := renewRead(t, path)
	var err error
	switch {
	case strings.HasSuffix(path, ".crt"):
		_, err = certificate.Parse(data)
	case strings.HasSuffix(path, ".key"):
		_, err = pki.ParseKeys(data)
	case strings.HasSuffix(path, ".conf"):
		cfg, lerr := clientcmd.Load(data)
		if lerr != nil {
			err = lerr
			break
		}
		for name, u := range cfg.AuthInfos {
			if len(u.ClientCertificateData) > 0 {
				if _, e := certificate.Parse(u.ClientCertificateData); e != nil {
					err = fmt.Errorf("user %s: %w", name, e)
				}
			}
			if len(u.ClientKeyData) > 0 {
				if _, e := pki.ParseKeys(u.ClientKeyData); e != nil {
					err = fmt.Errorf("user %s: %w", name, e)
				}
			}
		}
	}
	if err != nil {
		t.Errorf("%s does not parse: %v", path, err)
	}
}

// renewCheckKeyPair checks that a renewable certificate's key is its own.
func renewCheckKeyPair(t *testing.T, n *node, name string) {
	t.Helper()
	f := renewable[name]
	var certPEM, keyPEM []byte
	if f.key == "" {
		cfg, err := clientcmd.LoadFromFile(n.path(f.file))
		if err != nil {
			t.Fatal(err)
		}
		u := cfg.AuthInfos[cfg.Contexts[cfg.CurrentContext].AuthInfo]
		certPEM, keyPEM = u.ClientCertificateData, u.ClientKeyData
	} else {
		certPEM, keyPEM = renewRead(t, n.path(f.file)), renewRead(t, n.path(f.key))
		if st, err := os.Stat(n.path(f.key)); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v %v", f.key, st.Mode().Perm(), err)
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
	if !pki.KeyMatches(b.Certificates[0], keys[0]) {
		t.Errorf("%s: the key does not match the certificate", name)
	}
}

// renewCheckAgainstOld: the same subject, SANs, usages, issuer and key type.
func renewCheckAgainstOld(t *testing.T, name string, old, cert *x509.Certificate) {
	t.Helper()
	switch {
	case !bytes.Equal(cert.RawSubject, old.RawSubject):
		t.Errorf("%s: subject %s, was %s", name, cert.Subject, old.Subject)
	case !bytes.Equal(cert.RawIssuer, old.RawIssuer):
		t.Errorf("%s: issuer %s, was %s", name, cert.Issuer, old.Issuer)
	case !slices.Equal(cert.DNSNames, old.DNSNames) || fmt.Sprint(cert.IPAddresses) != fmt.Sprint(old.IPAddresses):
		t.Errorf("%s: SANs %v %v, were %v %v", name, cert.DNSNames, cert.IPAddresses, old.DNSNames, old.IPAddresses)
	case cert.KeyUsage != old.KeyUsage || !slices.Equal(cert.ExtKeyUsage, old.ExtKeyUsage):
		t.Errorf("%s: usages %v %v, were %v %v", name, cert.KeyUsage, cert.ExtKeyUsage, old.KeyUsage, old.ExtKeyUsage)
	case certificate.KeyAlgorithm(cert) != certificate.KeyAlgorithm(old):
		t.Errorf("%s: key %s, was %s", name, certificate.KeyAlgorithm(cert), certificate.KeyAlgorithm(old))
	case renewKeyEqual(cert.PublicKey, old.PublicKey):
		t.Errorf("%s: the key was not replaced", name)
	case cert.IsCA != old.IsCA:
		t.Errorf("%s: isCA %v", name, cert.IsCA)
	}
}

func renewVerify(cert, ca *x509.Certificate) error {
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	_, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	return err
}

func renewKeyEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(x crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

// renewedCert reads the certificate of a file or the client certificate of
// a kubeconfig's current context.
func renewedCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data := renewRead(t, path)
	if strings.HasSuffix(path, ".conf") {
		cfg, err := clientcmd.Load(data)
		if err != nil {
			t.Fatal(err)
		}
		data = cfg.AuthInfos[cfg.Contexts[cfg.CurrentContext].AuthInfo].ClientCertificateData
	}
	b, err := certificate.Parse(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b.Certificates[0]
}

func renewRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func renewFileSum(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%x", sha256.Sum256(data))
}

// renewTreeSums maps every regular file under dir, by relative path, to its
// SHA-256.
func renewTreeSums(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, path)
			out[rel] = renewFileSum(t, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func renewEqualSums(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// renewCloneNode copies a node's files, modes kept, into a new root.
func renewCloneNode(t *testing.T, n *node) *node {
	t.Helper()
	c := &node{t: t, kubeadm: n.kubeadm, root: t.TempDir()}
	err := filepath.WalkDir(n.root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(n.root, path)
		dst := filepath.Join(c.root, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(dst, info.Mode().Perm())
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type renewStep struct {
	n               int
	kind, path, sum string
}

// renewReadSteps reads the fault hook's log: "N STEP PATH SHA256" a line.
func renewReadSteps(t *testing.T, path string) []renewStep {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var steps []renewStep
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var s renewStep
		if _, err := fmt.Sscanf(sc.Text(), "%d %s %s %s", &s.n, &s.kind, &s.path, &s.sum); err != nil {
			t.Fatalf("%s: %q: %v", path, sc.Text(), err)
		}
		steps = append(steps, s)
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i].n < steps[j].n })
	return steps
}

// renewRun runs the kubectl-rotate binary, which must succeed and print a
// RenewalResult.
func renewRun(t *testing.T, bin string, env []string, args ...string) *api.RenewalResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = pluginEnv(bin, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl-rotate %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var res api.RenewalResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil || res.Kind != "RenewalResult" {
		t.Fatalf("kubectl-rotate %s: not a RenewalResult (%v): %s", strings.Join(args, " "), err, stdout.String())
	}
	return &res
}

// renewRunKilled runs the binary, which must die of SIGKILL.
func renewRunKilled(bin string, env []string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = pluginEnv(bin, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return nil
		}
	}
	return fmt.Errorf("kubectl-rotate %s: %v, want killed by the fault hook\n%s", strings.Join(args, " "), err, stderr.String())
}

// pluginEnv is the environment of the kubectl-rotate binary bin: this
// process's, with env, and a PATH of bin's directory only, as the e2e tests
// give kubectl and the plugins: no program installed on the machine (another
// kubectl-rotate in ~/.local/bin) is found.
func pluginEnv(bin string, env ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PATH=") {
			out = append(out, kv)
		}
	}
	return append(append(out, "PATH="+filepath.Dir(bin)), env...)
}

// renewBinary builds kubectl-rotate for the test: the release build, or
// the one with the fault hook (tag kubecerts_faultinject).
func renewBinary(t *testing.T, faultInject bool) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "kubectl-rotate")
	args := []string{"build", "-o", out}
	if faultInject {
		args = []string{"build", "-tags", "kubecerts_faultinject", "-o", out}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", append(args, "./cmd/kubectl-rotate")...)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return out
}
