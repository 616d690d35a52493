//go:build linux

package kubeadm_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate"
)

// stagedCAFiles are kubeadm's CA files, relative to the PKI directory, by
// the name kubeadm certs check-expiration gives the CA, with a leaf each
// signs.
var stagedCAFiles = map[string]struct{ crt, key, leaf string }{
	"ca":             {"ca.crt", "ca.key", "apiserver-kubelet-client.crt"},
	"front-proxy-ca": {"front-proxy-ca.crt", "front-proxy-ca.key", "front-proxy-client.crt"},
	"etcd-ca":        {"etcd/ca.crt", "etcd/ca.key", "etcd/peer.crt"},
}

// TestStagedCAsAgreeWithKubeadm stages new CAs from a PKI the real kubeadm
// made with 30-day CAs, loads them into a copy of the node as a rotation
// would, and holds the result to kubeadm, which takes the first
// certificate of ca.crt as the CA paired with ca.key: kubeadm reports the
// new CA's expiry (not the old CA's 30 days), renews with the new CA,
// renew is no longer capped at the old CA's expiry, and every certificate
// the old CA issued still verifies against the new file.
func TestStagedCAsAgreeWithKubeadm(t *testing.T) {
	kubeadm := kubeadmBinary(t)
	rotate := renewBinary(t, false)
	for _, crossSign := range []bool{true, false} {
		name := "not cross-signed"
		if crossSign {
			name = "cross-signed"
		}
		t.Run(name, func(t *testing.T) {
			n := newNodeWith(t, kubeadm, "caCertificateValidityPeriod: 720h0m0s\n")
			before, stderr, err := n.checkExpiration()
			if err != nil {
				t.Fatalf("kubeadm certs check-expiration: %v\n%s", err, stderr)
			}
			for caName := range stagedCAFiles {
				if left := time.Until(before[caName].ExpirationDate); left > 31*24*time.Hour {
					t.Fatalf("kubeadm made CA %s for %s, want 30 days", caName, left)
				}
			}
			staged := filepath.Join(t.TempDir(), "staged")
			args := []string{"ca", "stage", "--from", n.path("pki"), "--to", staged, "-o", "json"}
			if crossSign {
				args = append(args, "--cross-sign")
			}
			var files api.StagedFiles
			stagedRun(t, rotate, &files, args...)

			// Load the staged CAs, as copying them over the live ones would.
			s := renewCloneNode(t, n)
			for _, f := range stagedCAFiles {
				for _, rel := range []string{f.crt, f.key} {
					st, err := os.Stat(filepath.Join(staged, rel))
					if err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(s.path("pki/"+rel), renewRead(t, filepath.Join(staged, rel)), st.Mode().Perm()); err != nil {
						t.Fatal(err)
					}
				}
			}
			exp, stderr, err := s.checkExpiration()
			if err != nil {
				t.Fatalf("kubeadm certs check-expiration with the staged CAs: %v\n%s", err, stderr)
			}
			for caName, f := range stagedCAFiles {
				b, err := certificate.ReadFile(filepath.Join(staged, f.crt))
				if err != nil {
					t.Fatal(err)
				}
				first := b.Certificates[0]
				if got, want := exp[caName].ExpirationDate, first.NotAfter.UTC().Truncate(time.Second); !got.Equal(want) || time.Until(got) < 9*365*24*time.Hour {
					t.Errorf("kubeadm: CA %s expires %s; want the new CA's %s, years away", caName, got, want)
				}
				// What the old CA issued still verifies against the new file
				// (openssl verify -CAfile staged/ca.crt old-leaf.crt).
				old := renewedCert(t, n.path("pki/"+f.leaf))
				roots := x509.NewCertPool()
				for _, c := range b.Certificates {
					roots.AddCert(c)
				}
				if _, err := old.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
					t.Errorf("%s, issued by the old CA, does not verify against the staged %s: %v", f.leaf, f.crt, err)
				}
			}

			// kubeadm renews with the first certificate and ca.key.
			s.must("certs", "renew", "apiserver-kubelet-client", "--config", configPath)
			first := renewedCert(t, filepath.Join(staged, "ca.crt"))
			leaf := renewedCert(t, s.path("pki/apiserver-kubelet-client.crt"))
			if err := leaf.CheckSignatureFrom(first); err != nil {
				t.Errorf("kubeadm's renewed apiserver-kubelet-client is not signed by the staged CA: %v", err)
			}
			// And so does kubectl rotate renew, for its full validity: not
			// capped at the old CA's 30 days.
			res := renewRun(t, rotate, nil, "renew", "apiserver", "front-proxy-client", "etcd-peer", "admin.conf",
				"--pki-dir", s.path("pki"), "--kubeconfig-dir", s.path(""), "-o", "json")
			for _, c := range res.Certificates {
				if c.Action != api.RenewalRenewed || c.NewNotAfter == nil || time.Until(c.NewNotAfter.Time) < 300*24*time.Hour || strings.Contains(c.Reason, "capped") {
					t.Errorf("%s: %s, notAfter %v, %q; want renewed for a year", c.Name, c.Action, c.NewNotAfter, c.Reason)
				}
			}
			after, stderr, err := s.checkExpiration()
			if err != nil {
				t.Fatalf("kubeadm certs check-expiration after renew: %v\n%s", err, stderr)
			}
			for _, name := range []string{"apiserver", "front-proxy-client", "etcd-peer", "admin.conf"} {
				if time.Until(after[name].ExpirationDate) < 300*24*time.Hour {
					t.Errorf("kubeadm: %s expires %s", name, after[name].ExpirationDate)
				}
			}
		})
	}
}

// stagedRun runs the kubectl-rotate binary, which must succeed, and decodes
// its JSON output into out.
func stagedRun(t *testing.T, bin string, out interface{}, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = pluginEnv(bin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl-rotate %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		t.Fatalf("kubectl-rotate %s: %v: %s", strings.Join(args, " "), err, stdout.String())
	}
}
