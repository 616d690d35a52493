package source

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/certificate/certtest"
	"github.com/kubecerts/kubecerts/shared/expiry"
)

// kubeletListener serves chain (leaf first) with key on 127.0.0.1 and
// counts the connections open at once.
type kubeletListener struct {
	port     int32
	accepted atomic.Int64
	// spans are when each connection was open on the server: accepted,
	// handshake done.
	mu    sync.Mutex
	spans [][2]time.Time
}

// maxOpen is the most connections open at once, each span shortened by
// slack at its end: the server notices a connection over a little after
// the client has moved on.
func (kl *kubeletListener) maxOpen(slack time.Duration) int {
	kl.mu.Lock()
	defer kl.mu.Unlock()
	most := 0
	for _, a := range kl.spans {
		n := 0
		for _, b := range kl.spans {
			if !b[0].After(a[0]) && b[1].Add(-slack).After(a[0]) {
				n++
			}
		}
		most = max(most, n)
	}
	return most
}

func serveKubelet(t *testing.T, key *certtest.Cert, chain ...*x509.Certificate) *kubeletListener {
	t.Helper()
	raw := make([][]byte, len(chain))
	for i, c := range chain {
		raw[i] = c.Raw
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	kl := &kubeletListener{port: int32(ln.Addr().(*net.TCPAddr).Port)}
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: raw, PrivateKey: key.Key}}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			kl.accepted.Add(1)
			start := time.Now()
			go func() {
				defer c.Close()
				time.Sleep(50 * time.Millisecond) // make connections overlap
				tc := tls.Server(c, cfg)
				_ = tc.Handshake()
				kl.mu.Lock()
				kl.spans = append(kl.spans, [2]time.Time{start, time.Now()})
				kl.mu.Unlock()
				_, _ = io.Copy(io.Discard, tc)
			}()
		}
	}()
	return kl
}

// silentListener accepts TCP connections and never answers.
func silentListener(t *testing.T) int32 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
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

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) int32 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return int32(p)
}

func kubeletNode(name string, port int32, addrs ...corev1.NodeAddress) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	n.Status.Addresses = addrs
	n.Status.DaemonEndpoints.KubeletEndpoint.Port = port
	return n
}

func addr(t corev1.NodeAddressType, a string) corev1.NodeAddress {
	return corev1.NodeAddress{Type: t, Address: a}
}

func runKubelets(t *testing.T, k *Kubelets, objs ...runtime.Object) *api.CertificateReport {
	t.Helper()
	if k.Scope == nil {
		k.Scope = &Scope{Client: fake.NewClientset(objs...)}
	}
	if k.Timeout == 0 {
		k.Timeout = 2 * time.Second
	}
	now := time.Now()
	if k.Now.IsZero() {
		k.Now, k.WarnWithin = now, expiry.DefaultThresholds().WarnWithin
	}
	c := NewCollector(now, expiry.DefaultThresholds(), false)
	k.Collect(t.Context(), c)
	return c.Report()
}

func certAt(r *api.CertificateReport, loc string) *api.Certificate {
	for i := range r.Certificates {
		if r.Certificates[i].Location == loc {
			return &r.Certificates[i]
		}
	}
	return nil
}

func errorsByLocation(r *api.CertificateReport) map[string]string {
	m := map[string]string{}
	for _, e := range r.Errors {
		m[e.Location] = e.Message
	}
	return m
}

func TestKubeletTargetAddressOrder(t *testing.T) {
	n := kubeletNode("n", 0,
		addr(corev1.NodeExternalIP, "203.0.113.9"),
		addr(corev1.NodeInternalIP, "10.0.0.9"),
		addr(corev1.NodeInternalDNS, "n.internal"),
		addr(corev1.NodeHostName, "n"),
	)
	cases := []struct {
		types []corev1.NodeAddressType
		want  string
		typ   corev1.NodeAddressType
		addrs []string
	}{
		{DefaultKubeletAddressTypes, "n", corev1.NodeHostName, []string{"203.0.113.9", "10.0.0.9", "n.internal", "n"}},
		{[]corev1.NodeAddressType{corev1.NodeInternalIP, corev1.NodeHostName}, "10.0.0.9", corev1.NodeInternalIP, []string{"10.0.0.9", "n"}},
		{[]corev1.NodeAddressType{corev1.NodeExternalDNS, corev1.NodeExternalIP}, "203.0.113.9", corev1.NodeExternalIP, []string{"203.0.113.9"}},
	}
	for _, c := range cases {
		got, err := kubeletTargetOf(n, c.types)
		if err != nil || got.address != c.want || got.addressType != c.typ || got.port != DefaultKubeletPort || strings.Join(got.addresses, ",") != strings.Join(c.addrs, ",") {
			t.Errorf("%v: %+v, %v; want %s (%s) port 10250, addresses %v", c.types, got, err, c.want, c.typ, c.addrs)
		}
	}
	if _, err := kubeletTargetOf(n, []corev1.NodeAddressType{corev1.NodeExternalDNS}); err == nil || !strings.Contains(err.Error(), "no address of the types ExternalDNS") {
		t.Errorf("no ExternalDNS: %v", err)
	}
	n.Status.DaemonEndpoints.KubeletEndpoint.Port = 12345
	if got, _ := kubeletTargetOf(n, DefaultKubeletAddressTypes); got.port != 12345 || got.endpoint() != "n:12345" {
		t.Errorf("port: %+v", got)
	}
	if _, err := ParseKubeletAddressType("InternalIp"); err == nil || !strings.Contains(err.Error(), `"InternalIp": unknown address type`) {
		t.Errorf("ParseKubeletAddressType: %v", err)
	}
}

// TestKubeletsReport: a self-signed kubelet (one certificate, and client-go's
// own-CA pair), a CA-issued one, one lacking the IP SAN of another address,
// one that does not verify against the CA, a closed port, a port that
// accepts TCP and never handshakes, and a Node with no address.
func TestKubeletsReport(t *testing.T) {
	ca := certtest.CA(t, "kubernetes")
	other := certtest.CA(t, "other-ca")
	lo := net.ParseIP("127.0.0.1")
	ip := func(s string) corev1.NodeAddress { return addr(corev1.NodeInternalIP, s) }

	self := certtest.New(t, certtest.Template{CommonName: "self@1700000000", DNSNames: []string{"self"}, IPs: []net.IP{lo}}, nil)
	hostCA := certtest.New(t, certtest.Template{CommonName: "pair-ca@1700000000", IsCA: true}, nil)
	pair := certtest.New(t, certtest.Template{CommonName: "pair@1700000000", DNSNames: []string{"pair"}}, hostCA)
	good := certtest.New(t, certtest.Template{CommonName: "system:node:good", Organization: []string{"system:nodes"}, IPs: []net.IP{lo}}, ca)
	noSAN := certtest.New(t, certtest.Template{CommonName: "system:node:nosan", DNSNames: []string{"nosan"}, IPs: []net.IP{lo}}, ca)
	wrong := certtest.New(t, certtest.Template{CommonName: "system:node:wrong", IPs: []net.IP{lo}}, other)

	objs := []runtime.Object{
		kubeletNode("self", serveKubelet(t, self, self.Cert).port, ip("127.0.0.1")),
		kubeletNode("pair", serveKubelet(t, pair, pair.Cert, hostCA.Cert).port, addr(corev1.NodeHostName, "localhost"), ip("127.0.0.1")),
		kubeletNode("good", serveKubelet(t, good, good.Cert).port, ip("127.0.0.1")),
		kubeletNode("nosan", serveKubelet(t, noSAN, noSAN.Cert).port, ip("127.0.0.1"), addr(corev1.NodeExternalIP, "192.0.2.7")),
		kubeletNode("wrong", serveKubelet(t, wrong, wrong.Cert, other.Cert).port, ip("127.0.0.1")),
		kubeletNode("closed", closedPort(t), ip("127.0.0.1")),
		kubeletNode("silent", silentListener(t), ip("127.0.0.1")),
		kubeletNode("bare", 1),
	}
	start := time.Now()
	r := runKubelets(t, &Kubelets{Roots: certtest.Pool(ca), RootsFrom: "the kubeconfig's CA", Parallel: 4, Timeout: 700 * time.Millisecond}, objs...)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %v: the silent kubelet was not given up at the timeout", took)
	}

	check := func(node string, c *certtest.Cert, selfSigned, verified bool, missing []string, note string) {
		t.Helper()
		got := certAt(r, "node/"+node+"/kubelet")
		if got == nil {
			t.Errorf("no entry for %s; errors %v", node, errorsByLocation(r))
			return
		}
		if got.Source != "kubelets" || got.SHA256Fingerprint != certificate.Fingerprint(c.Cert) || got.Status != api.StatusOK {
			t.Errorf("%s: %+v", node, got)
		}
		if got.Chain == nil || got.Chain.Position != 0 || got.Chain.Verified != verified || (got.Chain.VerifyError == "") != verified || got.Chain.ServerName != "" {
			t.Errorf("%s chain %+v, want verified %v", node, got.Chain, verified)
		}
		k := got.Kubelet
		if k == nil || k.Node != node || k.Address != "127.0.0.1" || k.AddressType != "InternalIP" || k.SelfSigned != selfSigned ||
			strings.Join(k.MissingAddresses, ",") != strings.Join(missing, ",") || k.MissingAddresses == nil {
			t.Errorf("%s kubelet %+v, want selfSigned %v missing %v", node, k, selfSigned, missing)
		}
		if note != "" && !strings.Contains(strings.Join(got.Notes, "\n"), note) || note == "" && len(got.Notes) > 0 {
			t.Errorf("%s notes %q, want %q", node, got.Notes, note)
		}
	}
	check("self", self, true, false, []string{}, "the kubelet's own self-signed certificate")
	check("good", good, false, true, []string{}, "")
	check("nosan", noSAN, false, true, []string{"192.0.2.7"}, "cannot validate certificate for 192.0.2.7 because it doesn't contain any IP SANs")
	check("wrong", wrong, false, false, []string{}, "does not verify against the kubeconfig's CA for 127.0.0.1")

	// The pair is dialled by its Hostname (localhost), sent as SNI; the
	// IP it also lists is not in its SANs; its CA is reported after it.
	p := certAt(r, "node/pair/kubelet")
	if p == nil || p.Kubelet.Address != "localhost" || p.Kubelet.AddressType != "Hostname" || !p.Kubelet.SelfSigned ||
		p.Chain.ServerName != "localhost" || strings.Join(p.Kubelet.MissingAddresses, ",") != "localhost,127.0.0.1" {
		t.Errorf("pair: %+v %+v", p, p.Kubelet)
	}
	if c := certAt(r, "node/pair/kubelet [1]"); c == nil || c.Chain.Position != 1 || c.SHA256Fingerprint != certificate.Fingerprint(hostCA.Cert) {
		t.Errorf("pair [1]: %+v", c)
	}
	if w := certAt(r, "node/wrong/kubelet"); w == nil || !strings.Contains(w.Chain.VerifyError, "unknown authority") {
		t.Errorf("wrong: %+v", w)
	}

	errs := errorsByLocation(r)
	want := map[string]string{
		"node/closed/kubelet": "the kubelet at 127.0.0.1:" + strconv.Itoa(int(objs[5].(*corev1.Node).Status.DaemonEndpoints.KubeletEndpoint.Port)) + " (InternalIP) cannot be reached: connection refused",
		"node/silent/kubelet": "the TCP connection was accepted but no TLS handshake came within 700ms (--node-timeout)",
		"node/bare/kubelet":   "the Node lists no address of the types Hostname, InternalDNS, InternalIP, ExternalDNS, ExternalIP",
	}
	for loc, w := range want {
		if !strings.Contains(errs[loc], w) {
			t.Errorf("error at %s = %q, want %q", loc, errs[loc], w)
		}
	}
	if len(errs) != len(want) {
		t.Errorf("errors %v", errs)
	}
	if len(r.Certificates) != 7 { // self, pair ×2, good, nosan, wrong ×2
		t.Errorf("%d certificates", len(r.Certificates))
	}
	notes := strings.Join(r.Notes, "\n")
	if !strings.Contains(notes, "kubelets: 2 serve their own self-signed certificate (pair, self) and 3 one issued by the cluster CA") {
		t.Errorf("notes: %q", r.Notes)
	}
	if strings.Contains(notes, "could not be reached") {
		t.Errorf("2 of 8 unreachable is not most: %q", r.Notes)
	}
}

// TestKubeletsExpiredAndCAError: an expired certificate is EXPIRED; a CA
// that cannot be read leaves chains unverified, saying why.
func TestKubeletsExpiredAndCAError(t *testing.T) {
	ca := certtest.CA(t, "kubernetes")
	now := time.Now()
	old := certtest.New(t, certtest.Template{CommonName: "system:node:old", IPs: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: now.Add(-400 * 24 * time.Hour), NotAfter: now.Add(-time.Hour)}, ca)
	n := kubeletNode("old", serveKubelet(t, old, old.Cert).port, addr(corev1.NodeInternalIP, "127.0.0.1"))
	r := runKubelets(t, &Kubelets{Roots: certtest.Pool(ca), Parallel: 1}, n)
	got := certAt(r, "node/old/kubelet")
	if got == nil || got.Status != api.StatusExpired || got.ResidualSeconds >= 0 || got.Chain.Verified || !strings.Contains(got.Chain.VerifyError, "expired") {
		t.Errorf("old: %+v", got)
	}
	r = runKubelets(t, &Kubelets{RootsErr: fmt.Errorf("certificate-authority: no such file"), Parallel: 1}, n)
	if got := certAt(r, "node/old/kubelet"); got == nil || got.Chain.Verified || !strings.Contains(got.Chain.VerifyError, "the cluster CA cannot be read: certificate-authority: no such file") {
		t.Errorf("CA error: %+v", got)
	}
}

// TestKubeletsPool: with Parallel 3 over 20 nodes no more than 3
// connections are ever open, counted where they are made and at the
// listener; and the pool is used (more than one at once).
func TestKubeletsPool(t *testing.T) {
	ca := certtest.CA(t, "kubernetes")
	leaf := certtest.New(t, certtest.Template{CommonName: "system:node:x", IPs: []net.IP{net.ParseIP("127.0.0.1")}}, ca)
	kl := serveKubelet(t, leaf, leaf.Cert)
	var objs []runtime.Object
	for i := 0; i < 20; i++ {
		objs = append(objs, kubeletNode(fmt.Sprintf("n%02d", i), kl.port, addr(corev1.NodeInternalIP, "127.0.0.1")))
	}
	var open, maxOpen atomic.Int64
	dial := func(ctx context.Context, network, address string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, address)
		if err != nil {
			return nil, err
		}
		n := open.Add(1)
		for m := maxOpen.Load(); n > m && !maxOpen.CompareAndSwap(m, n); m = maxOpen.Load() {
		}
		return &countedConn{Conn: c, open: &open}, nil
	}
	r := runKubelets(t, &Kubelets{Roots: certtest.Pool(ca), Parallel: 3, Dial: dial}, objs...)
	if len(r.Certificates) != 20 || len(r.Errors) != 0 {
		t.Fatalf("%d certificates, errors %v", len(r.Certificates), r.Errors)
	}
	if m := maxOpen.Load(); m > 3 || m < 2 {
		t.Errorf("at most %d connections open at once, want 2..3", m)
	}
	if m := kl.maxOpen(10 * time.Millisecond); m > 3 || m < 2 {
		t.Errorf("the listener saw %d connections at once, want 2..3", m)
	}
	if kl.accepted.Load() != 20 {
		t.Errorf("%d connections accepted, want 20", kl.accepted.Load())
	}
}

type countedConn struct {
	net.Conn
	open *atomic.Int64
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.open.Add(-1) })
	return c.Conn.Close()
}

// TestKubeletsSummaryNotes: most kubelets unreachable is one note; a
// CA-issued certificate within the warning window with a Pending
// kubelet-serving CSR of its node points to kubectl rotate csr list.
func TestKubeletsSummaryNotes(t *testing.T) {
	ca := certtest.CA(t, "kubernetes")
	now := time.Now()
	soon := certtest.New(t, certtest.Template{CommonName: "system:node:soon", IPs: []net.IP{net.ParseIP("127.0.0.1")}, NotAfter: now.Add(10 * 24 * time.Hour)}, ca)
	lo := addr(corev1.NodeInternalIP, "127.0.0.1")
	csr := func(name, user string, approved bool) *certificatesv1.CertificateSigningRequest {
		c := &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: certificatesv1.CertificateSigningRequestSpec{SignerName: certificatesv1.KubeletServingSignerName, Username: user}}
		if approved {
			c.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved}}
		}
		return c
	}
	objs := []runtime.Object{
		kubeletNode("soon", serveKubelet(t, soon, soon.Cert).port, lo),
		kubeletNode("down1", closedPort(t), lo),
		kubeletNode("down2", closedPort(t), lo),
		csr("csr-soon", "system:node:soon", false),
		csr("csr-soon-done", "system:node:soon", true),
		csr("csr-other", "system:node:down1", false),
	}
	r := runKubelets(t, &Kubelets{Roots: certtest.Pool(ca), Parallel: 2}, objs...)
	notes := strings.Join(r.Notes, "\n")
	for _, w := range []string{
		"kubelets: node/soon serves a certificate that expires " + soon.Cert.NotAfter.UTC().Format(time.RFC3339) + " and its renewal is waiting on Pending kubelet-serving CSR(s) csr-soon: review them with kubectl rotate csr list",
		"kubelets: 2 of 3 kubelets could not be reached from here (down1, down2)",
		"run the check from a node or in-cluster",
	} {
		if !strings.Contains(notes, w) {
			t.Errorf("notes %q\nwant %q", r.Notes, w)
		}
	}
	if len(r.Notes) != 2 {
		t.Errorf("notes %q", r.Notes)
	}
	// --node and a name no Node has.
	r = runKubelets(t, &Kubelets{Roots: certtest.Pool(ca), Names: []string{"soon", "ghost"}, Parallel: 2}, objs...)
	if len(r.Certificates) != 1 || errorsByLocation(r)["node/ghost"] != "no such node" || len(r.Errors) != 1 {
		t.Errorf("--node soon,ghost: %d certificates, errors %v", len(r.Certificates), r.Errors)
	}
}
