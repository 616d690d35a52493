package rotate

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	cmdtesting "k8s.io/kubectl/pkg/cmd/testing"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/exitcode"
	"github.com/kubecerts/kubecerts/shared/pki"
)

// livePKI writes a PKI of the layout's CAs (ECDSA) and its service-account
// key into a new directory.
func livePKI(t *testing.T, l layout) string {
	t.Helper()
	return livePKIAt(t, l, time.Now().Add(-24*time.Hour), 3650*24*time.Hour)
}

// livePKIAt is livePKI with CAs valid from notBefore (less pki.Backdate)
// for validity.
func livePKIAt(t *testing.T, l layout, notBefore time.Time, validity time.Duration) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "live")
	for _, ca := range l.CAs {
		key, _ := pki.NewECDSAKey()
		cert, err := pki.NewCA(pkix.Name{CommonName: ca.Name}, key, notBefore, validity)
		if err != nil {
			t.Fatal(err)
		}
		keyPEM, _ := pki.EncodeKey(key)
		writeFile(t, filepath.Join(dir, ca.Cert), pki.EncodeCert(cert), 0o644)
		writeFile(t, filepath.Join(dir, ca.Key), keyPEM, 0o600)
	}
	sa, _ := pki.NewRSAKey(2048)
	saPEM, _ := pki.EncodeKey(sa)
	writeFile(t, filepath.Join(dir, l.SAKey), saPEM, 0o600)
	if l.SAPub != "" {
		pub, _ := pki.EncodePublicKey(sa.Public())
		writeFile(t, filepath.Join(dir, l.SAPub), pub, 0o644)
	}
	return dir
}

func writeFile(t *testing.T, path string, data []byte, perm os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
}

// runRotate runs the rotate plugin's commands with args; stdout, stderr and
// the exit status.
func runRotate(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	tf := cmdtesting.NewTestFactory()
	defer tf.Cleanup()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	var cmd = NewCmdCA(streams)
	switch args[0] {
	case "sa-key":
		cmd = NewCmdSAKey(streams)
	case "plan":
		cmd = NewCmdPlan(tf, streams)
	}
	cmd.SetArgs(args[1:])
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	if err != nil && !exitcode.Silent(err) {
		errOut.WriteString("error: " + err.Error() + "\n")
	}
	return out.String(), errOut.String(), exitcode.FromError(err)
}

func verification(t *testing.T, old, staged string) (*api.CAVerification, int) {
	t.Helper()
	out, errOut, code := runRotate(t, "ca", "verify", "--old", old, "--new", staged, "-o", "json")
	var v api.CAVerification
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("verify output: %v\n%s\n%s", err, out, errOut)
	}
	return &v, code
}

func TestStageThenVerify(t *testing.T) {
	for _, name := range []string{"k3s", "kubeadm"} {
		t.Run(name, func(t *testing.T) {
			l := layouts[name]
			live := livePKI(t, l)
			before := snapshot(t, live)
			staged := filepath.Join(filepath.Dir(live), "staged")
			if _, errOut, code := runRotate(t, "ca", "stage", "--from", live, "--to", staged, "--cross-sign"); code != 0 {
				t.Fatalf("stage: exit %d: %s", code, errOut)
			}
			if after := snapshot(t, live); after != before {
				t.Fatal("the live directory changed")
			}
			for _, ca := range l.CAs {
				st, err := os.Stat(filepath.Join(staged, ca.Key))
				if err != nil || st.Mode().Perm() != 0o600 {
					t.Errorf("%s: %v, mode %v; want 0600", ca.Key, err, st.Mode().Perm())
				}
				b, err := certificate.ReadFile(filepath.Join(staged, ca.Cert))
				if err != nil || len(b.Certificates) != 4 {
					t.Fatalf("%s: %v, want the new CA, the new root, the cross-signed root and the old CA", ca.Cert, err)
				}
				old, _ := pki.ReadCertFile(filepath.Join(live, ca.Cert))
				if err := b.Certificates[2].CheckSignatureFrom(old); err != nil {
					t.Errorf("%s: the third certificate is not signed by the old CA: %v", ca.Cert, err)
				}
				if !b.Certificates[3].Equal(old) {
					t.Errorf("%s: the old CA is not last", ca.Cert)
				}
				if !strings.HasPrefix(b.Certificates[0].Subject.CommonName, ca.Name+"@") {
					t.Errorf("%s: new CN %q", ca.Cert, b.Certificates[0].Subject.CommonName)
				}
			}
			v, code := verification(t, live, staged)
			if code != 0 || v.Disruptive {
				t.Errorf("verify: exit %d, disruptive %v: %+v", code, v.Disruptive, v.Checks)
			}
			if len(v.Checks) != 5*len(l.CAs)+1 || v.ServerCAHash == "" {
				t.Errorf("checks %d, hash %q", len(v.Checks), v.ServerCAHash)
			}
			if name == "k3s" && !strings.HasPrefix(v.JoinTokenPrefix, "K10"+v.ServerCAHash+"::") {
				t.Errorf("join token prefix %q", v.JoinTokenPrefix)
			}
		})
	}
}

func TestVerifyFlagsProblems(t *testing.T) {
	l := layouts["k3s"]
	live := livePKI(t, l)
	base := filepath.Dir(live)

	// Not cross-signed: disruptive, exit 2.
	plain := filepath.Join(base, "plain")
	if _, _, code := runRotate(t, "ca", "stage", "--from", live, "--to", plain); code != 0 {
		t.Fatal("stage failed")
	}
	v, code := verification(t, live, plain)
	if code != exitcode.Warning || !v.Disruptive {
		t.Errorf("not cross-signed: exit %d, disruptive %v", code, v.Disruptive)
	}

	// A key that does not match, a missing file, a service-account key dropped.
	broken := filepath.Join(base, "broken")
	if _, _, code := runRotate(t, "ca", "stage", "--from", live, "--to", broken, "--cross-sign"); code != 0 {
		t.Fatal("stage failed")
	}
	other, _ := pki.NewECDSAKey()
	otherPEM, _ := pki.EncodeKey(other)
	writeFile(t, filepath.Join(broken, "client-ca.key"), otherPEM, 0o600)
	os.Remove(filepath.Join(broken, "etcd/peer-ca.crt"))
	fresh, _ := pki.NewRSAKey(2048)
	freshPEM, _ := pki.EncodeKey(fresh)
	writeFile(t, filepath.Join(broken, "service.key"), freshPEM, 0o600)
	v, code = verification(t, live, broken)
	if code != exitcode.Error {
		t.Errorf("exit %d, want 1", code)
	}
	failed := map[string]bool{}
	for _, c := range v.Checks {
		if !c.Passed {
			failed[c.Name] = true
		}
	}
	for _, want := range []string{"client-ca/key-matches", "etcd/peer-ca/present", "service-account/old-key-kept"} {
		if !failed[want] {
			t.Errorf("check %s did not fail: %v", want, failed)
		}
	}
}

func TestStageRefusesTheLiveDirectory(t *testing.T) {
	live := livePKI(t, layouts["kubeadm"])
	before := snapshot(t, live)
	for _, to := range []string{live, live + "/", filepath.Join(live, "staging")} {
		_, errOut, code := runRotate(t, "ca", "stage", "--from", live, "--to", to)
		if code != 1 || !strings.Contains(errOut, "live directory") {
			t.Errorf("--to %s: exit %d %q", to, code, errOut)
		}
	}
	if snapshot(t, live) != before {
		t.Error("the live directory changed")
	}
}

func TestSAKey(t *testing.T) {
	for _, name := range []string{"k3s", "kubeadm"} {
		l := layouts[name]
		live := livePKI(t, l)
		staged := filepath.Join(filepath.Dir(live), "staged")
		if _, errOut, code := runRotate(t, "ca", "stage", "--from", live, "--to", staged, "--cross-sign"); code != 0 {
			t.Fatalf("%s: stage: exit %d %s", name, code, errOut)
		}
		if _, errOut, code := runRotate(t, "sa-key", "--from", live, "--to", staged); code != 0 {
			t.Fatalf("%s: exit %d %s", name, code, errOut)
		}
		oldKey, _ := pki.ReadKeyFile(filepath.Join(live, l.SAKey))
		newData, _ := os.ReadFile(filepath.Join(staged, l.SAKey))
		newKeys, err := pki.ParseKeys(newData)
		if err != nil {
			t.Fatal(err)
		}
		switch name {
		case "k3s":
			if len(newKeys) != 2 || !pki.KeyMatchesPublic(newKeys[1], oldKey.Public()) || pki.KeyMatchesPublic(newKeys[0], oldKey.Public()) {
				t.Errorf("k3s service.key: %d keys; want the new key first and the old after it", len(newKeys))
			}
		case "kubeadm":
			pubData, _ := os.ReadFile(filepath.Join(staged, l.SAPub))
			pubs, err := publicKeys(pubData)
			if err != nil || len(pubs) != 2 || !containsKey(pubs, oldKey.Public()) || !containsKey(pubs, newKeys[0].Public()) {
				t.Errorf("kubeadm sa.pub: %d keys (%v); want new and old", len(pubs), err)
			}
		}
		if v, code := verification(t, live, staged); code != 0 {
			t.Errorf("%s: verify after stage and sa-key: exit %d: %+v", name, code, v.Checks)
		}
	}
}

func TestPlan(t *testing.T) {
	tests := []struct {
		args     []string
		code     int
		warning  string
		complete string
	}{
		{[]string{"--delay", "P5DT5H", "--start", "2026-11-23", "--ca-expiry", "2030-01-01"}, 0, "", "2026-11-28T05:00:00Z"},
		{[]string{"--delay", "P30D", "--start", "2026-11-23", "--ca-expiry", "2027-01-15"}, 2, "within 90 days", "2026-12-23T00:00:00Z"},
		{[]string{"--delay", "P60D", "--start", "2026-11-23", "--ca-expiry", "2027-01-01"}, 2, "before the rotation completes", "2027-01-22T00:00:00Z"},
		{[]string{"--delay", "P1D", "--start", "2026-11-23", "--ca-expiry", "2026-01-01"}, 2, "expired", "2026-11-24T00:00:00Z"},
	}
	for _, tt := range tests {
		out, errOut, code := runRotate(t, append(append([]string{"plan"}, tt.args...), "-o", "json")...)
		var p api.RotationPlan
		if err := json.Unmarshal([]byte(out), &p); err != nil {
			t.Fatalf("%v: %v %s", tt.args, err, errOut)
		}
		if code != tt.code || p.Phases[2].At.UTC().Format(time.RFC3339) != tt.complete {
			t.Errorf("%v: exit %d, complete %v; want %d, %s", tt.args, code, p.Phases[2].At, tt.code, tt.complete)
		}
		if tt.warning != "" && (len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], tt.warning)) {
			t.Errorf("%v: warnings %v, want %q", tt.args, p.Warnings, tt.warning)
		}
	}
	for _, bad := range [][]string{{"--delay", "P100D"}, {"--delay", "12h"}, {"--delay", "soon"}, {}, {"--delay", "P5D", "--ca-expiry", "tomorrow"}} {
		_, errOut, code := runRotate(t, append([]string{"plan"}, bad...)...)
		if code != 1 || !strings.HasPrefix(errOut, "error: ") {
			t.Errorf("%v: exit %d %q", bad, code, errOut)
		}
	}
}

// snapshot is every file's path, mode and content under dir.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var buf bytes.Buffer
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		buf.WriteString(p + " " + info.Mode().String() + "\n")
		if !info.IsDir() {
			data, _ := os.ReadFile(p)
			buf.Write(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return buf.String()
}
