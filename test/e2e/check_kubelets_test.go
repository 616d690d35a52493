package e2e_test

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/certificate/certtest"
	"github.com/kubecerts/kubecerts/test/e2e/framework"
)

const kubeletsLabel = "kubecerts.io/e2e-kubelets"

// kubeletServe serves chain (leaf first, key the leaf's) on ip, a port of
// its own, until the test ends; a kubelet's handshake and nothing else.
func kubeletServe(t *testing.T, ip string, key crypto.Signer, chain ...*x509.Certificate) int32 {
	t.Helper()
	raw := make([][]byte, len(chain))
	for i, c := range chain {
		raw[i] = c.Raw
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: raw, PrivateKey: key}}}
	ln, err := tls.Listen("tcp", net.JoinHostPort(ip, "0"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.(*tls.Conn).Handshake()
				_, _ = io.Copy(io.Discard, c)
			}()
		}
	}()
	return int32(ln.Addr().(*net.TCPAddr).Port)
}

// kubeletSilent accepts TCP connections on ip and never answers.
func kubeletSilent(t *testing.T, ip string) int32 {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	return int32(ln.Addr().(*net.TCPAddr).Port)
}

func kubeletClosedPort(t *testing.T, ip string) int32 {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	p := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return int32(p)
}

// createKubeletNode creates a Node labelled for the test and sets its
// status (addresses, kubelet port) through the status subresource, as a
// kubelet does.
func createKubeletNode(t *testing.T, admin kubernetes.Interface, name, label string, port int32, addrs ...corev1.NodeAddress) {
	t.Helper()
	node, err := admin.CoreV1().Nodes().Create(t.Context(), &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{kubeletsLabel: label}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating node %s: %v", name, err)
	}
	t.Cleanup(func() { _ = admin.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	node.Status.Addresses = addrs
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = port
	if _, err := admin.CoreV1().Nodes().UpdateStatus(t.Context(), node, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("status of node %s: %v", name, err)
	}
}

// clusterCA is the test cluster's CA with its key, to sign certificates
// as kube-controller-manager would.
func clusterCA(t *testing.T, c *framework.Cluster) *certtest.Cert {
	t.Helper()
	kp, err := tls.LoadX509KeyPair(c.CAFile, c.CAKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(kp.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return &certtest.Cert{Cert: cert, Key: kp.PrivateKey.(crypto.Signer)}
}

// clusterState is what the test's objects look like in the cluster: the
// Nodes' resourceVersions and the number of CSRs, to show that the check
// wrote nothing.
func clusterState(t *testing.T, admin kubernetes.Interface, label string) string {
	t.Helper()
	nodes, err := admin.CoreV1().Nodes().List(t.Context(), metav1.ListOptions{LabelSelector: kubeletsLabel + "=" + label})
	if err != nil {
		t.Fatal(err)
	}
	csrs, err := admin.CertificatesV1().CertificateSigningRequests().List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, n := range nodes.Items {
		fmt.Fprintf(&b, "%s@%s ", n.Name, n.ResourceVersion)
	}
	fmt.Fprintf(&b, "csrs=%d", len(csrs.Items))
	for _, c := range csrs.Items {
		fmt.Fprintf(&b, " %s@%s", c.Name, c.ResourceVersion)
	}
	return b.String()
}

// TestCheckKubelets: kubelets on 127.0.0.x listeners behind Node objects:
// self-signed, issued by the cluster CA through a real kubelet-serving CSR
// signed by kube-controller-manager, lacking the IP SAN of the dialled
// address, expired; a closed port, a port that never answers the
// handshake, and a Node with no address. The check reports each, says the
// unreachable ones are errors naming node and address:port, and writes
// nothing in the cluster.
func TestCheckKubelets(t *testing.T) {
	c := framework.Shared(t)
	admin := c.Clientset()
	sfx := randomSuffix(t)
	ca := clusterCA(t, c)
	now := time.Now()
	name := func(s string) string { return "kubelet-" + s + "-" + sfx }
	ip := func(a string) corev1.NodeAddress { return corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: a} }
	host := func(a string) corev1.NodeAddress { return corev1.NodeAddress{Type: corev1.NodeHostName, Address: a} }

	// Self-signed, as the kubelet makes kubelet.crt: HOST@TIME issued by
	// HOST-ca@TIME, both served.
	selfCA := certtest.New(t, certtest.Template{CommonName: name("self") + "-ca@1700000000", IsCA: true}, nil)
	self := certtest.New(t, certtest.Template{CommonName: name("self") + "@1700000000", DNSNames: []string{name("self")}, IPs: []net.IP{net.ParseIP("127.0.0.2")}}, selfCA)
	createKubeletNode(t, admin, name("self"), sfx, kubeletServe(t, "127.0.0.2", self.Key, self.Cert, selfCA.Cert), ip("127.0.0.2"), host(name("self")))

	// Issued through a kubelet-serving CSR, approved, signed by
	// kube-controller-manager.
	key := rcNewKey(t)
	csr := rcCreateCSR(t, admin, admin, "kubecerts-e2e-kubelet-"+sfx, rcRequest{key: key, cn: "system:node:" + name("issued"), orgs: rcNodesOrg, ips: []net.IP{net.ParseIP("127.0.0.3")}}, rcServingUsages)
	rbiSetCondition(t, admin, csr.Name, certificatesv1.CertificateApproved)
	issued := rcWaitIssued(t, admin, csr.Name)
	createKubeletNode(t, admin, name("issued"), sfx, kubeletServe(t, "127.0.0.3", key, issued), ip("127.0.0.3"))

	// Valid for its DNS name and 127.0.0.4, dialled at 127.0.0.4 but the
	// Node also lists 127.0.0.14.
	noSAN := certtest.New(t, certtest.Template{CommonName: "system:node:" + name("nosan"), DNSNames: []string{name("nosan")}, IPs: []net.IP{net.ParseIP("127.0.0.4")}}, ca)
	createKubeletNode(t, admin, name("nosan"), sfx, kubeletServe(t, "127.0.0.4", noSAN.Key, noSAN.Cert), ip("127.0.0.4"), ip("127.0.0.14"))

	expired := certtest.New(t, certtest.Template{CommonName: "system:node:" + name("expired"), IPs: []net.IP{net.ParseIP("127.0.0.5")}, NotBefore: now.Add(-400 * 24 * time.Hour), NotAfter: now.Add(-24 * time.Hour)}, ca)
	createKubeletNode(t, admin, name("expired"), sfx, kubeletServe(t, "127.0.0.5", expired.Key, expired.Cert), ip("127.0.0.5"))

	closedPort := kubeletClosedPort(t, "127.0.0.6")
	createKubeletNode(t, admin, name("closed"), sfx, closedPort, ip("127.0.0.6"))
	silentPort := kubeletSilent(t, "127.0.0.7")
	createKubeletNode(t, admin, name("silent"), sfx, silentPort, ip("127.0.0.7"))
	createKubeletNode(t, admin, name("bare"), sfx, 0)

	before := clusterState(t, admin, sfx)
	framework.BuildPlugins(t) // not timed
	start := time.Now()
	stdout, stderr, code := nodesCheck(t, nodesRun{kubeconfig: c.AdminKubeconfig},
		"--source", "kubelets", "-l", kubeletsLabel+"="+sfx, "--kubelet-address-types", "InternalIP,Hostname", "--node-timeout", "2s", "-o", "json")
	took := time.Since(start)
	r := nodesReport(t, stdout, stderr, code)
	if code != 3 {
		t.Errorf("exit %d, want 3 (an expired certificate); stderr:\n%s", code, stderr)
	}
	if took > 20*time.Second {
		t.Errorf("took %v: the silent kubelet was not given up at --node-timeout 2s", took)
	}

	entry := func(node string, pos int) *api.Certificate {
		loc := "node/" + node + "/kubelet"
		if pos > 0 {
			loc += " [" + strconv.Itoa(pos) + "]"
		}
		return findBy(r, func(x *api.Certificate) bool { return x.Location == loc })
	}
	want := func(node string, cert *x509.Certificate, status api.CertificateStatus, address string, selfSigned, verified bool, missing ...string) {
		t.Helper()
		got := entry(node, 0)
		if got == nil {
			t.Errorf("no entry for %s", node)
			return
		}
		if got.Source != "kubelets" || got.SHA256Fingerprint != certificate.Fingerprint(cert) || got.Status != status {
			t.Errorf("%s: %+v, want sha256 %s status %s", node, got, certificate.Fingerprint(cert), status)
		}
		if got.Chain == nil || got.Chain.Verified != verified || got.Chain.Position != 0 || !strings.HasPrefix(got.Chain.Endpoint, address+":") {
			t.Errorf("%s chain %+v, want verified %v", node, got.Chain, verified)
		}
		k := got.Kubelet
		if k == nil || k.Node != node || k.Address != address || k.AddressType != "InternalIP" || k.SelfSigned != selfSigned || k.Port == 0 ||
			strings.Join(k.MissingAddresses, ",") != strings.Join(missing, ",") {
			t.Errorf("%s kubelet %+v, want %s self-signed %v missing %v", node, k, address, selfSigned, missing)
		}
	}
	want(name("self"), self.Cert, api.StatusOK, "127.0.0.2", true, false)
	want(name("issued"), issued, api.StatusOK, "127.0.0.3", false, true)
	want(name("nosan"), noSAN.Cert, api.StatusOK, "127.0.0.4", false, true, "127.0.0.14")
	want(name("expired"), expired.Cert, api.StatusExpired, "127.0.0.5", false, false)
	if got := entry(name("self"), 1); got == nil || got.SHA256Fingerprint != certificate.Fingerprint(selfCA.Cert) || got.Chain.Position != 1 {
		t.Errorf("self [1]: %+v", got)
	}
	if got := entry(name("expired"), 0); got == nil || !strings.Contains(got.Chain.VerifyError, "expired") {
		t.Errorf("expired: %+v", got)
	}
	if got := entry(name("nosan"), 0); got == nil || !strings.Contains(strings.Join(got.Notes, " "), "cannot validate certificate for 127.0.0.14 because it doesn't contain any IP SANs") {
		t.Errorf("nosan notes: %+v", got)
	}
	if got := entry(name("self"), 0); got == nil || !strings.Contains(strings.Join(got.Notes, " "), "serverTLSBootstrap") {
		t.Errorf("self notes: %+v", got)
	}
	if len(r.Certificates) != 5 {
		t.Errorf("%d certificates, want 5", len(r.Certificates))
	}
	wantErrors := map[string]string{
		"node/" + name("closed") + "/kubelet": fmt.Sprintf("the kubelet at 127.0.0.6:%d (InternalIP) cannot be reached: connection refused", closedPort),
		"node/" + name("silent") + "/kubelet": fmt.Sprintf("the kubelet at 127.0.0.7:%d (InternalIP) cannot be reached: the TCP connection was accepted but no TLS handshake came within 2s", silentPort),
		"node/" + name("bare") + "/kubelet":   "the Node lists no address of the types InternalIP, Hostname",
	}
	gotErrors := reportErrors(r)
	for l, w := range wantErrors {
		if !strings.Contains(gotErrors[l], w) {
			t.Errorf("error at %s = %q, want %q", l, gotErrors[l], w)
		}
	}
	if len(gotErrors) != len(wantErrors) {
		t.Errorf("errors = %v", gotErrors)
	}
	if !strings.Contains(strings.Join(r.Notes, "\n"), "kubelets: 1 serve their own self-signed certificate ("+name("self")+") and 3 one issued by the cluster CA") {
		t.Errorf("notes %q", r.Notes)
	}

	// For people: the error lines on stderr, the notes; --node picks.
	_, stderr, code = nodesCheck(t, nodesRun{kubeconfig: c.AdminKubeconfig},
		"--source", "kubelets", "--node", name("closed"), "--node", name("issued"), "--node-timeout", "2s")
	if code != 1 {
		t.Errorf("--node closed,issued: exit %d, want 1\n%s", code, stderr)
	}
	line := fmt.Sprintf("error: kubelets node/%s/kubelet: the kubelet at 127.0.0.6:%d (InternalIP) cannot be reached: connection refused", name("closed"), closedPort)
	if !strings.Contains(stderr, line) || strings.Contains(stderr, name("silent")) {
		t.Errorf("stderr:\n%s\nwant %s", stderr, line)
	}

	if after := clusterState(t, admin, sfx); after != before {
		t.Errorf("the check changed the cluster:\nbefore %s\nafter  %s", before, after)
	}
}
