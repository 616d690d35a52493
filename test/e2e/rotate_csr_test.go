package e2e_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/kubecerts/kubecerts/test/e2e/framework"
)

// The kubecerts.io/v1alpha1 CSRReviewList as the e2e tests read it.
type rcReviewList struct {
	Kind  string `json:"kind"`
	Items []struct {
		Name      string `json:"name"`
		Verdict   string `json:"verdict"`
		Action    string `json:"action"`
		Condition string `json:"condition"`
		Reason    string `json:"reason"`
		Checks    []struct {
			Name    string `json:"name"`
			Passed  bool   `json:"passed"`
			Message string `json:"message"`
		} `json:"checks"`
	} `json:"items"`
}

// rcNodeCIDR is where the e2e Nodes' IPs come from (10.240.0.0 to
// 10.255.255.255): the --node-cidr the csr commands get.
const rcNodeCIDR = "10.240.0.0/12"

var (
	rcServingUsages = []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageServerAuth}
	rcNodesOrg      = []string{"system:nodes"}
)

// rcRequest is the x509 part of a CSR.
type rcRequest struct {
	key  crypto.Signer
	cn   string
	orgs []string
	dns  []string
	ips  []net.IP
}

func rcNewKey(t *testing.T) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// rcCreateCSR creates a CSR with client (whose identity becomes
// spec.username) and deletes it with admin when the test ends.
func rcCreateCSR(t *testing.T, client, admin kubernetes.Interface, prefix string, r rcRequest, usages []certificatesv1.KeyUsage) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:     pkix.Name{CommonName: r.cn, Organization: r.orgs},
		DNSNames:    r.dns,
		IPAddresses: r.ips,
	}, r.key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := client.CertificatesV1().CertificateSigningRequests().Create(t.Context(), &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: certificatesv1.KubeletServingSignerName,
			Usages:     usages,
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating CSR %s: %v", prefix, err)
	}
	t.Cleanup(func() {
		_ = admin.CertificatesV1().CertificateSigningRequests().Delete(context.Background(), csr.Name, metav1.DeleteOptions{})
	})
	return csr
}

// rcNodeClient is a clientset with the kubelet credentials of node name.
func rcNodeClient(t *testing.T, c *framework.Cluster, name string) kubernetes.Interface {
	t.Helper()
	kc, err := c.NodeKubeconfig(name)
	return rcClient(t, kc, err)
}

func rcClient(t *testing.T, kubeconfig string, err error) kubernetes.Interface {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := framework.ClientsetFromKubeconfig(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// rcKubectl runs kubectl with the plugins and returns its output and exit
// status; no output may hold a private key.
func rcKubectl(t *testing.T, dir, kubeconfig string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	stdout, stderr, err := framework.Kubectl(t.Context(), dir, kubeconfig, args...)
	if err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("kubectl %v: %v", args, err)
		}
		code = exit.ExitCode()
	}
	rcNoPrivateKey(t, strings.Join(args, " "), stdout+stderr)
	return stdout, stderr, code
}

func rcNoPrivateKey(t *testing.T, what, out string) {
	t.Helper()
	if strings.Contains(out, "PRIVATE KEY") {
		t.Errorf("%s: output holds a PRIVATE KEY:\n%s", what, out)
	}
}

func rcDecode(t *testing.T, out string) rcReviewList {
	t.Helper()
	var l rcReviewList
	if err := json.Unmarshal([]byte(out), &l); err != nil || l.Kind != "CSRReviewList" {
		t.Fatalf("not a CSRReviewList (%v):\n%s", err, out)
	}
	return l
}

func rcCondition(csr *certificatesv1.CertificateSigningRequest) (approved, denied bool) {
	for _, c := range csr.Status.Conditions {
		approved = approved || c.Type == certificatesv1.CertificateApproved
		denied = denied || c.Type == certificatesv1.CertificateDenied
	}
	return approved, denied
}

// rcWaitApproved waits until the CSR is approved and returns it.
func rcWaitApproved(t *testing.T, client kubernetes.Interface, name string, timeout time.Duration) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	var got *certificatesv1.CertificateSigningRequest
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		csr, err := client.CertificatesV1().CertificateSigningRequests().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil // the API server may be restarting
		}
		got = csr
		approved, denied := rcCondition(csr)
		if denied {
			return false, fmt.Errorf("%s was denied", name)
		}
		return approved, nil
	})
	if err != nil {
		t.Fatalf("%s not approved within %s: %v (conditions %+v)", name, timeout, err, got)
	}
	return got
}

// rcWaitIssued waits until kube-controller-manager has signed the CSR and
// returns the certificate.
func rcWaitIssued(t *testing.T, client kubernetes.Interface, name string) *x509.Certificate {
	t.Helper()
	var issued []byte
	err := wait.PollUntilContextTimeout(t.Context(), 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		csr, err := client.CertificatesV1().CertificateSigningRequests().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range csr.Status.Conditions {
			if c.Type == certificatesv1.CertificateFailed {
				return false, fmt.Errorf("%s failed: %s: %s", name, c.Reason, c.Message)
			}
		}
		issued = csr.Status.Certificate
		return len(issued) > 0, nil
	})
	if err != nil {
		t.Fatalf("waiting for kube-controller-manager to sign %s: %v", name, err)
	}
	block, _ := pem.Decode(issued)
	if block == nil {
		t.Fatalf("status.certificate of %s is not PEM", name)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// TestRotateCSRApprove: kubectl rotate csr approve approves a node's valid
// serving CSR, which kube-controller-manager then signs, and refuses every
// CSR that asks for more than the node's own names, leaving it pending with
// the failed check reported.
func TestRotateCSRApprove(t *testing.T) {
	c := framework.Shared(t)
	dir := framework.BuildPlugins(t)
	admin := c.Clientset()
	const w1, w2, ghost = "rca-worker-1", "rca-worker-2", "rca-ghost"
	ip1, ip2 := net.ParseIP("10.241.0.11"), net.ParseIP("10.241.0.12")
	createNode(t, admin, w1, ip1)
	createNode(t, admin, w2, ip2)
	kubelet1 := rcNodeClient(t, c, w1)
	key := rcNewKey(t)

	t.Run("valid serving CSR is approved and issued", func(t *testing.T) {
		csr := rcCreateCSR(t, kubelet1, admin, "rca-valid", rcRequest{key: key, cn: "system:node:" + w1, orgs: rcNodesOrg,
			dns: []string{w1}, ips: []net.IP{ip1}}, rcServingUsages)
		out, errOut, code := rcKubectl(t, dir, c.AdminKubeconfig, "rotate", "csr", "approve", csr.Name, "--node-cidr", rcNodeCIDR, "-o", "json")
		if code != 0 {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		l := rcDecode(t, out)
		if len(l.Items) != 1 || l.Items[0].Action != "approved" || l.Items[0].Verdict != "approve" || len(l.Items[0].Checks) != 12 {
			t.Errorf("output %+v", l)
		}
		got, err := admin.CertificatesV1().CertificateSigningRequests().Get(t.Context(), csr.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(got.Status.Conditions); n != 1 {
			t.Fatalf("%d conditions", n)
		}
		cond := got.Status.Conditions[0]
		if cond.Type != certificatesv1.CertificateApproved || cond.Reason != "KubecertsApproved" ||
			!strings.Contains(cond.Message, "ip-sans") || !strings.Contains(cond.Message, "Node "+w1+"'s own addresses") {
			t.Errorf("condition %+v", cond)
		}

		// The kubelet polls for its certificate with its own credentials.
		cert := rcWaitIssued(t, kubelet1, csr.Name)
		if err := cert.CheckSignatureFrom(c.CACert); err != nil {
			t.Errorf("not signed by the cluster CA: %v", err)
		}
		if !slices.Equal(cert.DNSNames, []string{w1}) || len(cert.IPAddresses) != 1 || !cert.IPAddresses[0].Equal(ip1) {
			t.Errorf("SANs %v %v", cert.DNSNames, cert.IPAddresses)
		}
		if !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageServerAuth) || slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
			t.Errorf("extended key usages %v", cert.ExtKeyUsage)
		}
		if !key.Public().(*ecdsa.PublicKey).Equal(cert.PublicKey) {
			t.Error("issued for another key")
		}

		// Approving it again: nothing to do, exit 0.
		if out, errOut, code := rcKubectl(t, dir, c.AdminKubeconfig, "rotate", "csr", "approve", csr.Name, "--node-cidr", rcNodeCIDR); code != 0 || !strings.Contains(out, "unchanged") {
			t.Errorf("second approve: exit %d\n%s\n%s", code, out, errOut)
		}
	})

	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ghostNode := rcNodeClient(t, c, ghost)
	valid := rcRequest{key: key, cn: "system:node:" + w1, orgs: rcNodesOrg, dns: []string{w1}, ips: []net.IP{ip1}}
	with := func(f func(*rcRequest)) rcRequest { r := valid; f(&r); return r }
	refused := []struct {
		name      string
		as        kubernetes.Interface
		req       rcRequest
		usages    []certificatesv1.KeyUsage
		wantCheck string
		wantMsg   string
	}{
		{"worker-1 asks for worker-2's IP", kubelet1, with(func(r *rcRequest) { r.ips = []net.IP{ip1, ip2} }), rcServingUsages,
			"ip-sans", ip2.String() + ": other-node (also listed by Node " + w2 + ")"},
		{"worker-1 asks for an extra DNS name", kubelet1, with(func(r *rcRequest) { r.dns = []string{w1, "kubernetes.default.svc"} }), rcServingUsages,
			"dns-sans", "kubernetes.default.svc: cluster-service"},
		{"O missing", kubelet1, with(func(r *rcRequest) { r.orgs = nil }), rcServingUsages,
			"subject", "is not exactly [system:nodes]"},
		{"client auth usage", kubelet1, valid, append(slices.Clone(rcServingUsages), certificatesv1.UsageClientAuth),
			"usages", `["client auth"] not allowed`},
		{"1024-bit RSA key", kubelet1, with(func(r *rcRequest) { r.key = rsa1024 }), rcServingUsages,
			"key", "RSA-1024"},
		{"a node that does not exist", ghostNode, rcRequest{key: key, cn: "system:node:" + ghost, orgs: rcNodesOrg, dns: []string{ghost}}, rcServingUsages,
			"node", "Node " + ghost + " does not exist"},
		{"the admin in the name of worker-1", admin, valid, rcServingUsages,
			"requestor", `requested by "kubecerts-admin", not by a node`},
	}
	for i, tt := range refused {
		t.Run("refused: "+tt.name, func(t *testing.T) {
			csr := rcCreateCSR(t, tt.as, admin, fmt.Sprintf("rca-refused-%d", i), tt.req, tt.usages)
			out, errOut, code := rcKubectl(t, dir, c.AdminKubeconfig, "rotate", "csr", "approve", csr.Name, "--node-cidr", rcNodeCIDR, "-o", "json")
			if code != 1 {
				t.Errorf("exit %d, want 1 (a named CSR was not approved)\n%s", code, errOut)
			}
			if !strings.Contains(errOut, "not approved") || !strings.Contains(errOut, csr.Name) || !strings.Contains(errOut, tt.wantCheck+": ") {
				t.Errorf("stderr does not name the CSR and the failed check %s:\n%s", tt.wantCheck, errOut)
			}
			l := rcDecode(t, out)
			if len(l.Items) != 1 {
				t.Fatalf("%d items", len(l.Items))
			}
			it := l.Items[0]
			if it.Verdict != "deny" || it.Action != "left-pending" || it.Condition != "Pending" {
				t.Errorf("verdict %s action %s condition %s", it.Verdict, it.Action, it.Condition)
			}
			found := false
			for _, ch := range it.Checks {
				if ch.Name == tt.wantCheck && !ch.Passed && strings.Contains(ch.Message, tt.wantMsg) {
					found = true
				}
			}
			if !found {
				t.Errorf("no failed check %s with %q: %+v", tt.wantCheck, tt.wantMsg, it.Checks)
			}
			got, err := admin.CertificatesV1().CertificateSigningRequests().Get(t.Context(), csr.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Status.Conditions) != 0 || len(got.Status.Certificate) != 0 {
				t.Errorf("not left pending: %+v", got.Status)
			}

			// list shows the same verdict, for people.
			table, errOut, code := rcKubectl(t, dir, c.AdminKubeconfig, "rotate", "csr", "list", csr.Name, "--node-cidr", rcNodeCIDR)
			if code != 0 || !strings.Contains(table, csr.Name) || !strings.Contains(table, "deny") || !strings.Contains(table, tt.wantCheck+": ") {
				t.Errorf("list: exit %d\n%s\n%s", code, table, errOut)
			}
		})
	}

	// What a node writes into its own Node's status (NodeRestriction lets
	// it) is its claim: it must not buy it a certificate for the API
	// server's load-balanced address, nor get another node's CSR denied.
	t.Run("a node's own status as a weapon", func(t *testing.T) {
		const w3, w4 = "rca-worker-3", "rca-worker-4"
		ip3, ip4, vip := net.ParseIP("10.241.0.13"), net.ParseIP("10.241.0.14"), net.ParseIP("10.241.0.100")
		createNode(t, admin, w3, ip3)
		createNode(t, admin, w4, ip4)
		kubelet3, kubelet4 := rcNodeClient(t, c, w3), rcNodeClient(t, c, w4)
		// kubeadm's cluster-info names the endpoint clients reach the API
		// server by: here a VIP in the node network, which no Node lists.
		if _, err := admin.CoreV1().ConfigMaps("kube-public").Create(t.Context(), &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "cluster-info"},
			Data:       map[string]string{"kubeconfig": "apiVersion: v1\nkind: Config\nclusters:\n- name: \"\"\n  cluster:\n    server: https://" + vip.String() + ":6443\n"},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = admin.CoreV1().ConfigMaps("kube-public").Delete(context.Background(), "cluster-info", metav1.DeleteOptions{})
		})
		// worker-3 lists the VIP and worker-4's IP as its own: its kubelet
		// may write its Node's status.
		n, err := kubelet3.CoreV1().Nodes().Get(t.Context(), w3, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: vip.String()},
			corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: ip4.String()})
		if _, err := kubelet3.CoreV1().Nodes().UpdateStatus(t.Context(), n, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("the kubelet updating its own Node's addresses: %v", err)
		}

		vipCSR := rcCreateCSR(t, kubelet3, admin, "rca-vip", rcRequest{key: key, cn: "system:node:" + w3, orgs: rcNodesOrg,
			dns: []string{w3}, ips: []net.IP{ip3, vip}}, rcServingUsages)
		victim := rcCreateCSR(t, kubelet4, admin, "rca-victim", rcRequest{key: key, cn: "system:node:" + w4, orgs: rcNodesOrg,
			dns: []string{w4}, ips: []net.IP{ip4}}, rcServingUsages)
		for _, tt := range []struct {
			csr, want string
		}{
			{vipCSR.Name, vip.String() + ": apiserver-address"},
			{victim.Name, ip4.String() + ": other-node (also listed by Node " + w3 + ")"},
		} {
			out, errOut, code := rcKubectl(t, dir, c.AdminKubeconfig, "rotate", "csr", "approve", tt.csr, "--node-cidr", rcNodeCIDR, "--deny-invalid", "-o", "json")
			if code != 1 || !strings.Contains(errOut, tt.want) {
				t.Errorf("%s: exit %d, want 1 naming %q: %s", tt.csr, code, tt.want, errOut)
			}
			l := rcDecode(t, out)
			if len(l.Items) != 1 {
				t.Fatalf("%s: %d items", tt.csr, len(l.Items))
			}
			got, err := admin.CertificatesV1().CertificateSigningRequests().Get(t.Context(), tt.csr, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			switch approved, denied := rcCondition(got); {
			case tt.csr == vipCSR.Name && (approved || !denied):
				// Refused by a rule of its own request: --deny-invalid denies it.
				t.Errorf("%s: approved %v denied %v, want denied (action %s)", tt.csr, approved, denied, l.Items[0].Action)
			case tt.csr == victim.Name && (approved || denied || l.Items[0].Action != "left-pending"):
				// Refused only on worker-3's word: left pending, never denied.
				t.Errorf("%s: approved %v denied %v action %s, want left pending", tt.csr, approved, denied, l.Items[0].Action)
			}
		}
	})

	t.Run("--deny-invalid and deny", func(t *testing.T) {
		bad := rcCreateCSR(t, kubelet1, admin, "rca-deny-invalid", with(func(r *rcRequest) { r.ips = []net.IP{ip2} }), rcServingUsages)
		if _, errOut, code := rcKubectl(t, dir, c.AdminKubeconfig, "rotate", "csr", "approve", bad.Name, "--node-cidr", rcNodeCIDR, "--deny-invalid"); code != 1 {
			t.Errorf("exit %d: %s", code, errOut)
		}
		got, _ := admin.CertificatesV1().CertificateSigningRequests().Get(t.Context(), bad.Name, metav1.GetOptions{})
		if _, denied := rcCondition(got); !denied || got.Status.Conditions[0].Reason != "KubecertsDenied" {
			t.Errorf("not denied: %+v", got.Status.Conditions)
		}

		other := rcCreateCSR(t, kubelet1, admin, "rca-deny", valid, rcServingUsages)
		if _, errOut, code := rcKubectl(t, dir, c.AdminKubeconfig, "rotate", "csr", "approve", other.Name, "--node-cidr", rcNodeCIDR, "--dry-run"); code != 0 {
			t.Errorf("dry run: exit %d: %s", code, errOut)
		}
		if got, _ := admin.CertificatesV1().CertificateSigningRequests().Get(t.Context(), other.Name, metav1.GetOptions{}); len(got.Status.Conditions) != 0 {
			t.Errorf("--dry-run wrote: %+v", got.Status.Conditions)
		}
		if _, errOut, code := rcKubectl(t, dir, c.AdminKubeconfig, "rotate", "csr", "deny", other.Name, "--reason", "NotNeeded", "--message", "e2e"); code != 0 {
			t.Errorf("deny: exit %d: %s", code, errOut)
		}
		got, _ = admin.CertificatesV1().CertificateSigningRequests().Get(t.Context(), other.Name, metav1.GetOptions{})
		if _, denied := rcCondition(got); !denied || got.Status.Conditions[0].Reason != "NotNeeded" || got.Status.Conditions[0].Message != "e2e" {
			t.Errorf("deny: %+v", got.Status.Conditions)
		}
		if _, errOut, code := rcKubectl(t, dir, c.AdminKubeconfig, "rotate", "csr", "approve", "rca-no-such-csr"); code != 1 || !strings.Contains(errOut, `"rca-no-such-csr" not found`) {
			t.Errorf("missing CSR: exit %d: %s", code, errOut)
		}
	})
}

// rcBuffer is a bytes.Buffer safe for a process's output.
type rcBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *rcBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *rcBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// rcWatch is kubectl-rotate csr watch running in the background.
type rcWatch struct {
	cmd            *exec.Cmd
	stdout, stderr *rcBuffer
	done           chan struct{}
	err            error
}

// rcStartWatch runs the built kubectl-rotate csr watch with kubeconfig and
// args, and stops it when the test ends.
func rcStartWatch(t *testing.T, dir, kubeconfig string, args ...string) *rcWatch {
	t.Helper()
	env, err := framework.KubectlEnv(dir, kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	w := &rcWatch{stdout: &rcBuffer{}, stderr: &rcBuffer{}, done: make(chan struct{})}
	w.cmd = exec.Command(filepath.Join(dir, "kubectl-rotate"), append([]string{"csr", "watch", "--log-format=json"}, args...)...)
	w.cmd.Env = env
	w.cmd.Stdout, w.cmd.Stderr = w.stdout, w.stderr
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		w.err = w.cmd.Wait()
		close(w.done)
	}()
	t.Cleanup(func() {
		if w.stop() != nil || t.Failed() {
			t.Logf("watch stderr:\n%s", w.stderr)
		}
		rcNoPrivateKey(t, "watch", w.stdout.String()+w.stderr.String())
	})
	return w
}

// stop sends SIGTERM and waits for the exit (SIGKILL after 20s); it returns
// the exit error, nil for a clean exit 0.
func (w *rcWatch) stop() error {
	select {
	case <-w.done:
		return w.err
	default:
	}
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(20 * time.Second):
		_ = w.cmd.Process.Kill()
		<-w.done
		return errors.New("did not stop within 20s of SIGTERM")
	}
	return w.err
}

func (w *rcWatch) running() bool {
	select {
	case <-w.done:
		return false
	default:
		return true
	}
}

// decisions are the JSON log lines about a CSR.
func (w *rcWatch) decisions(t *testing.T, csr string) []map[string]interface{} {
	t.Helper()
	var out []map[string]interface{}
	for _, l := range strings.Split(w.stderr.String(), "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		var m map[string]interface{}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Errorf("log line is not JSON: %q", l)
			continue
		}
		if m["csr"] == csr {
			out = append(out, m)
		}
	}
	return out
}

// rcUnreachable reports whether the API server at cfg does not answer.
func rcUnreachable(ctx context.Context, cfg *rest.Config) bool {
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return false
	}
	_, err = cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	return err != nil
}

// TestRotateCSRWatch: watch approves a valid CSR within seconds, leaves an
// invalid one pending, and goes on across an API server restart: a CSR
// created (through another API server) while it is cut off, and one created
// after the restart, are approved too. It restarts the API server: no
// t.Parallel.
func TestRotateCSRWatch(t *testing.T) {
	c := framework.Shared(t)
	dir := framework.BuildPlugins(t)
	admin := c.Clientset()
	const w1, w2 = "rcw-worker-1", "rcw-worker-2"
	ip1, ip2 := net.ParseIP("10.242.0.11"), net.ParseIP("10.242.0.12")
	createNode(t, admin, w1, ip1)
	createNode(t, admin, w2, ip2)
	kubelet1 := rcNodeClient(t, c, w1)
	kubelet2 := rcNodeClient(t, c, w2)
	ns := createNamespace(t, admin, admin, "rcw-")
	key := rcNewKey(t)
	req1 := rcRequest{key: key, cn: "system:node:" + w1, orgs: rcNodesOrg, dns: []string{w1}, ips: []net.IP{ip1}}
	req2 := rcRequest{key: key, cn: "system:node:" + w2, orgs: rcNodesOrg, dns: []string{w2}, ips: []net.IP{ip2}}

	// Another API server on the same etcd, to create a CSR while the one
	// watch talks to is down.
	apiserver2, err := c.StartAPIServer(t.Context(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(apiserver2.Stop)
	kc, err := c.UserKubeconfigFor(apiserver2.URL, "system:node:"+w1, "system:nodes")
	kubelet1via2 := rcClient(t, kc, err)

	w := rcStartWatch(t, dir, c.AdminKubeconfig, "--node-cidr", rcNodeCIDR, "--leader-elect", "--lease-namespace", ns, "--lease-name", "rcw-approver")

	began := time.Now()
	first := rcCreateCSR(t, kubelet1, admin, "rcw-first", req1, rcServingUsages)
	rcWaitApproved(t, admin, first.Name, 30*time.Second)
	if took := time.Since(began); took > 15*time.Second {
		t.Errorf("approved %s after %s; want within seconds", first.Name, took.Round(time.Millisecond))
	} else {
		t.Logf("watch approved %s %s after its creation", first.Name, took.Round(time.Millisecond))
	}
	rcWaitIssued(t, kubelet1, first.Name)

	// worker-2 asking for worker-1's IP: left pending, logged once with the check.
	bad := rcCreateCSR(t, kubelet2, admin, "rcw-bad", rcRequest{key: key, cn: "system:node:" + w2, orgs: rcNodesOrg, dns: []string{w2}, ips: []net.IP{ip1}}, rcServingUsages)
	if err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		return len(w.decisions(t, bad.Name)) > 0, nil
	}); err != nil {
		t.Fatalf("no decision logged for %s:\n%s", bad.Name, w.stderr)
	}
	d := w.decisions(t, bad.Name)[0]
	if d["msg"] != "CSR left pending" || d["action"] != "left-pending" || !strings.Contains(fmt.Sprint(d["failed"]), "ip-sans: refused "+ip1.String()+": other-node") {
		t.Errorf("decision for %s: %v", bad.Name, d)
	}

	// Restart the API server; while it is down, worker-1 creates a CSR through the other one.
	restarted := make(chan error, 1)
	go func() { restarted <- c.RestartAPIServer(context.Background()) }()
	var cutOff *certificatesv1.CertificateSigningRequest
	if err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		return rcUnreachable(ctx, c.RESTConfig()), nil
	}); err != nil {
		t.Logf("did not see the API server down (%v): the CSR is created after its restart", err)
	}
	cutOff = rcCreateCSR(t, kubelet1via2, admin, "rcw-cut-off", req1, rcServingUsages)
	select {
	case err := <-restarted:
		t.Logf("created %s after the API server was back", cutOff.Name)
		restarted <- err
	default:
		t.Logf("created %s through %s while the API server watch uses was down", cutOff.Name, apiserver2.URL)
	}
	if err := <-restarted; err != nil {
		t.Fatalf("restarting the API server: %v", err)
	}
	rcWaitApproved(t, admin, cutOff.Name, 60*time.Second)

	after := rcCreateCSR(t, kubelet2, admin, "rcw-after-restart", req2, rcServingUsages)
	began = time.Now()
	rcWaitApproved(t, admin, after.Name, 60*time.Second)
	t.Logf("after the restart, watch approved %s %s after its creation", after.Name, time.Since(began).Round(time.Millisecond))
	rcWaitIssued(t, kubelet2, after.Name)

	if !w.running() {
		t.Fatalf("watch exited: %v\n%s", w.err, w.stderr)
	}
	if got, _ := admin.CertificatesV1().CertificateSigningRequests().Get(t.Context(), bad.Name, metav1.GetOptions{}); len(got.Status.Conditions) != 0 {
		t.Errorf("%s got %+v", bad.Name, got.Status.Conditions)
	}
	for _, name := range []string{first.Name, cutOff.Name, after.Name} {
		ds := w.decisions(t, name)
		if len(ds) == 0 || ds[len(ds)-1]["msg"] != "CSR approved" {
			t.Errorf("decisions for %s: %v", name, ds)
		}
	}
	if n := len(w.decisions(t, bad.Name)); n != 1 {
		t.Errorf("%s logged %d times, want once", bad.Name, n)
	}

	// SIGTERM: a clean stop that releases the lease.
	if err := w.stop(); err != nil {
		t.Errorf("watch did not exit 0 on SIGTERM: %v\n%s", err, w.stderr)
	}
	lease, err := admin.CoordinationV1().Leases(ns).Get(t.Context(), "rcw-approver", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if lease.Spec.HolderIdentity != nil && *lease.Spec.HolderIdentity != "" {
		t.Errorf("lease still held by %s after SIGTERM", *lease.Spec.HolderIdentity)
	}
}

// TestRotateCSRWatchManifests: --print-manifests prints objects the client-go
// scheme decodes and the API server accepts; watch running as their
// ServiceAccount (impersonated) approves a CSR, and the ServiceAccount may do
// nothing else.
func TestRotateCSRWatchManifests(t *testing.T) {
	c := framework.Shared(t)
	dir := framework.BuildPlugins(t)
	admin := c.Clientset()
	ns := createNamespace(t, admin, admin, "rcm-")
	name := "rcm-approver-" + strings.TrimPrefix(ns, "rcm-")

	out, errOut, code := rcKubectl(t, dir, c.AdminKubeconfig, "rotate", "csr", "watch", "--print-manifests", "-n", ns, "--lease-name", name,
		"--image", "registry.example/kubecerts:e2e", "--node-cidr", rcNodeCIDR)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var kinds []string
	for _, doc := range strings.Split(out, "\n---\n") {
		_, gvk, err := scheme.Codecs.UniversalDeserializer().Decode([]byte(doc), nil, nil)
		if err != nil {
			t.Fatalf("the client-go scheme cannot decode:\n%s\n%v", doc, err)
		}
		kinds = append(kinds, gvk.Kind)
	}
	if want := []string{"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Role", "RoleBinding",
		"Role", "RoleBinding", "Role", "RoleBinding", "Deployment"}; !slices.Equal(kinds, want) {
		t.Errorf("kinds %v, want %v", kinds, want)
	}
	if !strings.Contains(out, "--node-cidr="+rcNodeCIDR) {
		t.Errorf("the Deployment does not carry --node-cidr:\n%s", out)
	}
	file := filepath.Join(t.TempDir(), "manifests.yaml")
	if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := rcKubectl(t, dir, c.AdminKubeconfig, "create", "--dry-run=server", "-f", file); code != 0 {
		t.Fatalf("server-side dry run: exit %d\n%s\n%s", code, out, errOut)
	}
	t.Cleanup(func() {
		_ = admin.RbacV1().ClusterRoleBindings().Delete(context.Background(), name, metav1.DeleteOptions{})
		_ = admin.RbacV1().ClusterRoles().Delete(context.Background(), name, metav1.DeleteOptions{})
		_ = admin.RbacV1().RoleBindings("default").Delete(context.Background(), name+"-apiserver", metav1.DeleteOptions{})
		_ = admin.RbacV1().Roles("default").Delete(context.Background(), name+"-apiserver", metav1.DeleteOptions{})
		for ns, cm := range map[string]string{"kube-public": "cluster-info", "kube-system": "kubeadm-config"} {
			_ = admin.RbacV1().RoleBindings(ns).Delete(context.Background(), name+"-"+cm, metav1.DeleteOptions{})
			_ = admin.RbacV1().Roles(ns).Delete(context.Background(), name+"-"+cm, metav1.DeleteOptions{})
		}
	})
	if out, errOut, code := rcKubectl(t, dir, c.AdminKubeconfig, "create", "-f", file); code != 0 {
		t.Fatalf("create: exit %d\n%s\n%s", code, out, errOut)
	}

	sa := "system:serviceaccount:" + ns + ":" + name
	groups := []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}
	can := func(attrs authorizationv1.ResourceAttributes) bool {
		t.Helper()
		r, err := admin.AuthorizationV1().SubjectAccessReviews().Create(t.Context(), &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{User: sa, Groups: groups, ResourceAttributes: &attrs},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return r.Status.Allowed
	}
	certs := "certificates.k8s.io"
	for _, tt := range []struct {
		attrs authorizationv1.ResourceAttributes
		want  bool
	}{
		{authorizationv1.ResourceAttributes{Group: certs, Resource: "certificatesigningrequests", Verb: "watch"}, true},
		{authorizationv1.ResourceAttributes{Group: certs, Resource: "certificatesigningrequests", Subresource: "approval", Verb: "update"}, true},
		{authorizationv1.ResourceAttributes{Group: certs, Resource: "signers", Name: "kubernetes.io/kubelet-serving", Verb: "approve"}, true},
		{authorizationv1.ResourceAttributes{Resource: "nodes", Verb: "list"}, true},
		{authorizationv1.ResourceAttributes{Group: "coordination.k8s.io", Resource: "leases", Namespace: ns, Name: name, Verb: "update"}, true},
		{authorizationv1.ResourceAttributes{Group: "networking.k8s.io", Resource: "servicecidrs", Verb: "list"}, true},
		{authorizationv1.ResourceAttributes{Resource: "services", Namespace: "default", Name: "kubernetes", Verb: "get"}, true},
		{authorizationv1.ResourceAttributes{Group: "discovery.k8s.io", Resource: "endpointslices", Namespace: "default", Name: "kubernetes", Verb: "get"}, true},
		{authorizationv1.ResourceAttributes{Resource: "configmaps", Namespace: "kube-public", Name: "cluster-info", Verb: "get"}, true},
		{authorizationv1.ResourceAttributes{Resource: "configmaps", Namespace: "kube-system", Name: "kubeadm-config", Verb: "get"}, true},
		{authorizationv1.ResourceAttributes{Resource: "configmaps", Namespace: "kube-system", Name: "kubelet-config", Verb: "get"}, false},
		{authorizationv1.ResourceAttributes{Resource: "configmaps", Namespace: "kube-system", Verb: "list"}, false},
		{authorizationv1.ResourceAttributes{Resource: "services", Namespace: "default", Name: "other", Verb: "get"}, false},
		{authorizationv1.ResourceAttributes{Group: "discovery.k8s.io", Resource: "endpointslices", Namespace: "default", Verb: "list"}, false},
		{authorizationv1.ResourceAttributes{Group: "authorization.k8s.io", Resource: "subjectaccessreviews", Verb: "create"}, false},
		{authorizationv1.ResourceAttributes{Group: certs, Resource: "signers", Name: "kubernetes.io/kube-apiserver-client", Verb: "approve"}, false},
		{authorizationv1.ResourceAttributes{Group: certs, Resource: "signers", Name: "kubernetes.io/kube-apiserver-client-kubelet", Verb: "approve"}, false},
		{authorizationv1.ResourceAttributes{Group: certs, Resource: "certificatesigningrequests", Subresource: "status", Verb: "update"}, false},
		{authorizationv1.ResourceAttributes{Group: certs, Resource: "certificatesigningrequests", Verb: "delete"}, false},
		{authorizationv1.ResourceAttributes{Group: certs, Resource: "certificatesigningrequests", Verb: "create"}, false},
		{authorizationv1.ResourceAttributes{Resource: "nodes", Verb: "update"}, false},
		{authorizationv1.ResourceAttributes{Resource: "secrets", Namespace: ns, Verb: "list"}, false},
		{authorizationv1.ResourceAttributes{Group: "coordination.k8s.io", Resource: "leases", Namespace: ns, Name: "another", Verb: "update"}, false},
		{authorizationv1.ResourceAttributes{Group: "coordination.k8s.io", Resource: "leases", Namespace: "kube-system", Name: name, Verb: "update"}, false},
	} {
		if got := can(tt.attrs); got != tt.want {
			t.Errorf("%s may %s %s/%s %s/%s: %v, want %v", sa, tt.attrs.Verb, tt.attrs.Group, tt.attrs.Resource, tt.attrs.Namespace, tt.attrs.Name, got, tt.want)
		}
	}

	// watch with the ServiceAccount's rights (impersonated), as the Deployment runs it.
	const node = "rcm-worker-1"
	ip := net.ParseIP("10.243.0.11")
	createNode(t, admin, node, ip)
	kubelet := rcNodeClient(t, c, node)
	// The API server adds the ServiceAccount's groups to an impersonated ServiceAccount.
	w := rcStartWatch(t, dir, c.AdminKubeconfig, "--as", sa, "--node-cidr", rcNodeCIDR,
		"--leader-elect", "--lease-namespace", ns, "--lease-name", name)
	csr := rcCreateCSR(t, kubelet, admin, "rcm-valid", rcRequest{key: rcNewKey(t), cn: "system:node:" + node, orgs: rcNodesOrg,
		dns: []string{node}, ips: []net.IP{ip}}, rcServingUsages)
	rcWaitApproved(t, admin, csr.Name, 30*time.Second)
	if _, err := admin.CoordinationV1().Leases(ns).Get(t.Context(), name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		t.Error("no lease: watch did not elect through it")
	}
	if err := w.stop(); err != nil {
		t.Errorf("watch: %v\n%s", err, w.stderr)
	}
	if strings.Contains(w.stderr.String(), "forbidden") {
		t.Errorf("watch was refused something with the ServiceAccount's rights:\n%s", w.stderr)
	}
}
