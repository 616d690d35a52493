package rotate

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/exitcode"
	"github.com/kubecerts/kubecerts/shared/pki"
)

// k3sValidateCA is the check k3s certificate rotate-ca makes of each new
// CA file before it accepts it (pkg/cluster's validateCA): the file's first
// certificate must verify against the old file's self-signed certificates,
// through the old file's other certificates and the new file's others that
// name an authority key.
func k3sValidateCA(oldCerts, newCerts []*x509.Certificate) error {
	if len(newCerts) == 1 {
		return errors.New("new CA bundle contains only a single certificate")
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, c := range oldCerts {
		if len(c.AuthorityKeyId) == 0 || bytes.Equal(c.AuthorityKeyId, c.SubjectKeyId) {
			roots.AddCert(c)
		} else {
			inter.AddCert(c)
		}
	}
	for _, c := range newCerts[1:] {
		if len(c.AuthorityKeyId) > 0 {
			inter.AddCert(c)
		}
	}
	_, err := newCerts[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
	return err
}

// caLeaf issues a client certificate signed by ca.
func caLeaf(t *testing.T, ca *x509.Certificate, caKey crypto.Signer) *x509.Certificate {
	t.Helper()
	key, _ := pki.NewECDSAKey()
	leaf, err := pki.Sign(&x509.Certificate{Subject: pkix.Name{CommonName: "system:node:worker-1", Organization: []string{"system:nodes"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}, key.Public(), ca, caKey, time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

// TestStageFileOrder: each staged CA file starts with the CA its key file
// pairs with, valid for --validity whatever the old CA has left (kubeadm,
// kube-controller-manager, k3s and renew take the first certificate as THE
// CA); with --cross-sign the new root and its cross-signed copy follow; the
// old CA(s) come last, so that what the old CA issued still verifies
// against the new file. A cross-signed set passes k3s's own check.
func TestStageFileOrder(t *testing.T) {
	tests := []struct {
		layout    string
		crossSign bool
		oldLeft   time.Duration // what the old CAs have left
		twice     bool          // stage again from the first staged set
	}{
		{"kubeadm", true, 30 * 24 * time.Hour, false},
		{"k3s", true, 30 * 24 * time.Hour, false},
		{"kubeadm", false, 30 * 24 * time.Hour, false},
		{"k3s", false, 30 * 24 * time.Hour, false},
		{"kubeadm", true, 5 * 365 * 24 * time.Hour, true},
		{"k3s", true, 5 * 365 * 24 * time.Hour, true},
	}
	for _, tt := range tests {
		name := tt.layout
		if tt.crossSign {
			name += "/cross-sign"
		}
		if tt.twice {
			name += "/twice"
		}
		t.Run(name, func(t *testing.T) {
			l := layouts[tt.layout]
			now := time.Now()
			live := livePKIAt(t, l, now.Add(-3650*24*time.Hour+tt.oldLeft), 3650*24*time.Hour)
			args := func(from, to string) []string {
				a := []string{"ca", "stage", "--from", from, "--to", to}
				if tt.crossSign {
					a = append(a, "--cross-sign")
				}
				return a
			}
			staged := filepath.Join(filepath.Dir(live), "staged")
			if _, errOut, code := runRotate(t, args(live, staged)...); code != 0 {
				t.Fatalf("stage: exit %d: %s", code, errOut)
			}
			if tt.twice {
				live, staged = staged, filepath.Join(filepath.Dir(live), "staged-again")
				if _, errOut, code := runRotate(t, args(live, staged)...); code != 0 {
					t.Fatalf("stage again: exit %d: %s", code, errOut)
				}
			}
			for _, ca := range l.CAs {
				olds, err := certificate.ReadFile(filepath.Join(live, ca.Cert))
				if err != nil {
					t.Fatal(err)
				}
				oldKey, err := pki.ReadKeyFile(filepath.Join(live, ca.Key))
				if err != nil {
					t.Fatal(err)
				}
				b, err := certificate.ReadFile(filepath.Join(staged, ca.Cert))
				if err != nil {
					t.Fatal(err)
				}
				keyData, _ := os.ReadFile(filepath.Join(staged, ca.Key))
				keys, err := pki.ParseKeys(keyData)
				if err != nil {
					t.Fatal(err)
				}
				certs := b.Certificates
				newCount := 1
				if tt.crossSign {
					newCount = 3
				}
				if len(certs) != newCount+len(olds.Certificates) {
					t.Fatalf("%s: %d certificates, want %d new and the %d old", ca.Cert, len(certs), newCount, len(olds.Certificates))
				}
				first := certs[0]
				if !first.IsCA || !pki.KeyMatches(first, keys[0]) {
					t.Errorf("%s: the first certificate is not the CA of the first key of %s", ca.Cert, ca.Key)
				}
				if left := time.Until(first.NotAfter); left < 9*365*24*time.Hour {
					t.Errorf("%s: the first certificate expires %s (in %s): capped, not the new CA's validity", ca.Cert, first.NotAfter, left)
				}
				for i, old := range olds.Certificates {
					if !certs[newCount+i].Equal(old) {
						t.Errorf("%s: certificate %d is not the old file's certificate %d", ca.Cert, newCount+i+1, i+1)
					}
				}
				oldFirst := olds.Certificates[0]
				if tt.crossSign {
					root, cross := certs[1], certs[2]
					switch {
					case first.CheckSignatureFrom(root) != nil:
						t.Errorf("%s: the new CA is not signed by the new root", ca.Cert)
					case root.CheckSignatureFrom(root) != nil || !bytes.Equal(root.RawIssuer, root.RawSubject):
						t.Errorf("%s: the second certificate is not self-signed", ca.Cert)
					case cross.CheckSignatureFrom(oldFirst) != nil || !pki.SamePublicKey(cross.PublicKey, root.PublicKey) || !bytes.Equal(cross.RawSubject, root.RawSubject):
						t.Errorf("%s: the third certificate is not the new root signed by the old CA", ca.Cert)
					case len(keys) != 2 || !pki.KeyMatches(root, keys[1]):
						t.Errorf("%s: %d keys; want the new CA's, then the root's", ca.Key, len(keys))
					}
					if err := k3sValidateCA(olds.Certificates, certs); err != nil {
						t.Errorf("%s: k3s rotate-ca would refuse it: %v", ca.Cert, err)
					}
					// A client holding only the old CA trusts what the new CA signs,
					// given the chain.
					if err := chainsTo(caLeaf(t, first, keys[0]), certs, olds.Certificates, x509.ExtKeyUsageClientAuth); err != nil {
						t.Errorf("%s: a certificate the new CA issues does not verify against the old CA: %v", ca.Cert, err)
					}
				} else {
					if len(keys) != 1 || !bytes.Equal(first.RawIssuer, first.RawSubject) {
						t.Errorf("%s: want one self-signed CA and one key (%d)", ca.Cert, len(keys))
					}
					if err := k3sValidateCA(olds.Certificates, certs); err == nil {
						t.Errorf("%s: k3s would accept a new root that the old CA did not sign", ca.Cert)
					}
				}
				// openssl verify -CAfile staged/ca.crt old-client.crt
				if err := chainsTo(caLeaf(t, oldFirst, oldKey), nil, certs, x509.ExtKeyUsageClientAuth); err != nil {
					t.Errorf("%s: a certificate the old CA issued does not verify against the staged file: %v", ca.Cert, err)
				}
				if err := chainsTo(caLeaf(t, first, keys[0]), nil, certs, x509.ExtKeyUsageClientAuth); err != nil {
					t.Errorf("%s: a certificate the new CA issues does not verify against the staged file: %v", ca.Cert, err)
				}
			}
			v, code := verification(t, live, staged)
			if tt.crossSign && (code != 0 || v.Disruptive) || !tt.crossSign && (code != exitcode.Warning || !v.Disruptive) {
				t.Errorf("verify: exit %d, disruptive %v: %+v", code, v.Disruptive, v.Checks)
			}
		})
	}
}

// TestStageCrossSignRefusesAnExpiredOldCA: an expired CA cannot sign (the
// copy would end before it starts): --cross-sign is refused with one line
// naming the old CA's file and its notAfter, and nothing is written. Without
// --cross-sign the rotation can go on.
func TestStageCrossSignRefusesAnExpiredOldCA(t *testing.T) {
	tests := []struct {
		name      string
		oldLeft   time.Duration
		crossSign bool
		wantCode  int
	}{
		{"expired a day ago, cross-sign", -24 * time.Hour, true, exitcode.Error},
		{"expired a second ago, cross-sign", -time.Second, true, exitcode.Error},
		{"expired, not cross-signed", -24 * time.Hour, false, 0},
		{"a day left, cross-sign", 24 * time.Hour, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := layouts["kubeadm"]
			validity := 365 * 24 * time.Hour
			notAfter := time.Now().Add(tt.oldLeft).UTC().Truncate(time.Second)
			live := livePKIAt(t, l, notAfter.Add(-validity), validity)
			old, _ := pki.ReadCertFile(filepath.Join(live, "ca.crt"))
			staged := filepath.Join(filepath.Dir(live), "staged")
			args := []string{"ca", "stage", "--from", live, "--to", staged}
			if tt.crossSign {
				args = append(args, "--cross-sign")
			}
			_, errOut, code := runRotate(t, args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d: %s", code, tt.wantCode, errOut)
			}
			if tt.wantCode == 0 {
				return
			}
			want := "error: " + filepath.Join(live, "ca.crt") + ": the old CA expired on " + old.NotAfter.UTC().Format(time.RFC3339) + ": --cross-sign"
			if !strings.HasPrefix(errOut, want) || strings.Count(errOut, "\n") != 1 {
				t.Errorf("stderr %q, want one line starting %q", errOut, want)
			}
			if _, err := os.Stat(staged); !os.IsNotExist(err) {
				t.Errorf("a refused stage wrote %s: %v", staged, err)
			}
		})
	}
}

// TestVerifyOldCAKept: ca verify checks that each old CA is still in the
// new file (what it issued still verifies), and flags a file without it as
// disruptive; a set that is not cross-signed is still flagged disruptive
// for clients that hold only the old CA.
func TestVerifyOldCAKept(t *testing.T) {
	tests := []struct {
		name       string
		crossSign  bool
		dropOld    bool
		wantCode   int
		wantFailed []string
		wantStderr []string
	}{
		{"cross-signed", true, false, 0, nil, nil},
		{"cross-signed, old CA dropped", true, true, exitcode.Warning, []string{"ca/old-ca-kept"},
			[]string{"disruptive rotation: ca without the old CA: what the old CA issued will not verify"}},
		{"not cross-signed", false, false, exitcode.Warning, []string{"ca/trusted-by-old", "front-proxy-ca/trusted-by-old", "etcd-ca/trusted-by-old"},
			[]string{"disruptive rotation: ca, front-proxy-ca, etcd-ca not signed by the old CA: clients holding only the old CA will not trust"}},
		{"not cross-signed, old CA dropped", false, true, exitcode.Warning, []string{"ca/trusted-by-old", "ca/old-ca-kept", "front-proxy-ca/trusted-by-old", "etcd-ca/trusted-by-old"},
			[]string{"not signed by the old CA", "; ca without the old CA"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := layouts["kubeadm"]
			live := livePKI(t, l)
			staged := filepath.Join(filepath.Dir(live), "staged")
			args := []string{"ca", "stage", "--from", live, "--to", staged}
			if tt.crossSign {
				args = append(args, "--cross-sign")
			}
			if _, errOut, code := runRotate(t, args...); code != 0 {
				t.Fatalf("stage: exit %d %s", code, errOut)
			}
			if _, errOut, code := runRotate(t, "sa-key", "--from", live, "--to", staged); code != 0 {
				t.Fatalf("sa-key: exit %d %s", code, errOut)
			}
			if tt.dropOld {
				b, _ := certificate.ReadFile(filepath.Join(staged, "ca.crt"))
				writeFile(t, filepath.Join(staged, "ca.crt"), pki.EncodeCert(b.Certificates[:len(b.Certificates)-1]...), 0o644)
			}
			v, code := verification(t, live, staged)
			var failed []string
			for _, c := range v.Checks {
				if !c.Passed {
					failed = append(failed, c.Name)
				}
			}
			if code != tt.wantCode || v.Disruptive != (tt.wantCode == exitcode.Warning) || strings.Join(failed, ",") != strings.Join(tt.wantFailed, ",") {
				t.Errorf("exit %d, disruptive %v, failed %v; want %d, %v", code, v.Disruptive, failed, tt.wantCode, tt.wantFailed)
			}
			_, errOut, _ := runRotate(t, "ca", "verify", "--old", live, "--new", staged)
			for _, want := range tt.wantStderr {
				if !strings.Contains(errOut, want) || strings.Count(errOut, "warning:") != 1 {
					t.Errorf("stderr %q; want one warning line with %q", errOut, want)
				}
			}
		})
	}
}
