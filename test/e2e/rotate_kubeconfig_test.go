package e2e_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/certificate/certtest"
	"github.com/kubecerts/kubecerts/test/e2e/framework"
)

// TestRotateKubeconfig moves a kubeconfig across a CA rotation against the
// real API server: a bundle of the cluster CA and a new CA still works;
// removing the cluster CA is refused without --force; every write is backed
// up first.
func TestRotateKubeconfig(t *testing.T) {
	c := framework.Shared(t)
	dir := framework.BuildPlugins(t)
	work := t.TempDir()
	kubeconfig := filepath.Join(work, "config")
	data, err := os.ReadFile(c.AdminKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kubeconfig, data, 0o600); err != nil {
		t.Fatal(err)
	}
	newCA := certtest.CA(t, "rotated-cluster-ca")
	newCAFile := filepath.Join(work, "new-ca.crt")
	clusterCAFile := filepath.Join(work, "cluster-ca.crt")
	if err := os.WriteFile(newCAFile, newCA.PEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(clusterCAFile, certtest.PEMOf(c.CACert), 0o644); err != nil {
		t.Fatal(err)
	}
	rotate := func(args ...string) (*api.KubeconfigCAChange, int, string) {
		stdout, stderr, err := framework.Kubectl(t.Context(), dir, kubeconfig, append(append([]string{"rotate", "kubeconfig"}, args...), "-o", "json")...)
		code := exitCode(t, err)
		assertNoPrivateKey(t, stdout+stderr)
		var ch api.KubeconfigCAChange
		if code == 0 {
			if err := json.Unmarshal([]byte(stdout), &ch); err != nil {
				t.Fatalf("%v: %v\n%s", args, err, stdout)
			}
		}
		return &ch, code, stderr
	}
	bundle := func() []string {
		cfg, err := clientcmd.LoadFromFile(kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		for _, cl := range cfg.Clusters {
			b, err := certificate.Parse(cl.CertificateAuthorityData)
			if err != nil {
				t.Fatal(err)
			}
			var prints []string
			for _, x := range b.Certificates {
				prints = append(prints, certificate.Fingerprint(x))
			}
			return prints
		}
		return nil
	}
	works := func() error {
		client, err := framework.ClientsetFromKubeconfig(kubeconfig)
		if err != nil {
			return err
		}
		_, err = client.CoreV1().Namespaces().List(t.Context(), metav1.ListOptions{Limit: 1})
		return err
	}
	clusterPrint, newPrint := certificate.Fingerprint(c.CACert), certificate.Fingerprint(newCA.Cert)

	// Update clients: trust both.
	ch, code, stderr := rotate("--add-ca", newCAFile)
	if code != 0 || ch.Verified == nil || !*ch.Verified || len(ch.Added) != 1 || ch.Added[0] != newPrint {
		t.Fatalf("--add-ca: exit %d, %+v; stderr:\n%s", code, ch, stderr)
	}
	if got := bundle(); len(got) != 2 || got[0] != clusterPrint || got[1] != newPrint {
		t.Errorf("bundle after --add-ca = %v", got)
	}
	if err := works(); err != nil {
		t.Errorf("the kubeconfig with both CAs does not work: %v", err)
	}
	if backup, err := os.ReadFile(ch.Backup); err != nil || string(backup) != string(data) {
		t.Errorf("backup %s: %v (same as before: %v)", ch.Backup, err, string(backup) == string(data))
	}
	if st, err := os.Stat(kubeconfig); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("kubeconfig mode changed: %v", st.Mode())
	}

	// Removing the CA the server is signed by is refused, and nothing changes.
	before, _ := os.ReadFile(kubeconfig)
	_, code, stderr = rotate("--remove-ca", clusterCAFile)
	if code != 1 || !strings.Contains(stderr, "could not verify") || !strings.Contains(stderr, "--force") {
		t.Errorf("--remove-ca of the serving CA: exit %d, stderr %q; want refused", code, stderr)
	}
	if after, _ := os.ReadFile(kubeconfig); string(after) != string(before) {
		t.Error("a refused change modified the kubeconfig")
	}

	// Completion of the rotation the other way round: drop the new CA again.
	ch, code, stderr = rotate("--remove-fingerprint", newPrint)
	if code != 0 || len(ch.Removed) != 1 || len(ch.After) != 1 || ch.After[0] != clusterPrint {
		t.Errorf("--remove-fingerprint: exit %d %+v; stderr %s", code, ch, stderr)
	}
	if err := works(); err != nil {
		t.Errorf("the kubeconfig does not work after removing the unused CA: %v", err)
	}

	// With --force the refused change is written (and the kubeconfig breaks).
	if _, code, stderr = rotate("--add-ca", newCAFile); code != 0 {
		t.Fatalf("re-adding: %d %s", code, stderr)
	}
	if ch, code, _ = rotate("--remove-ca", clusterCAFile, "--force"); code != 0 || ch.Verified == nil || *ch.Verified {
		t.Errorf("--force: exit %d, %+v", code, ch)
	}
	if err := works(); err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Errorf("after removing the serving CA the kubeconfig should fail with unknown authority, got %v", err)
	}
}
