package source

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/tlsprobe"
)

// KubeletsSource is the kubelets source's name.
const KubeletsSource = "kubelets"

// Defaults of the kubelets source.
const (
	// DefaultKubeletPort is the kubelet's port when the Node does not say
	// (status.daemonEndpoints.kubeletEndpoint.Port 0).
	DefaultKubeletPort = 10250
	// DefaultKubeletTimeout bounds one kubelet's connection and handshake
	// when --node-timeout is not given (its default is az's).
	DefaultKubeletTimeout = 10 * time.Second
)

// DefaultKubeletAddressTypes is the API server's own default order of
// --kubelet-preferred-address-types.
var DefaultKubeletAddressTypes = []corev1.NodeAddressType{
	corev1.NodeHostName, corev1.NodeInternalDNS, corev1.NodeInternalIP, corev1.NodeExternalDNS, corev1.NodeExternalIP,
}

// ParseKubeletAddressType is name as a Node address type; the names are
// those of the Node API, exactly.
func ParseKubeletAddressType(name string) (corev1.NodeAddressType, error) {
	for _, t := range DefaultKubeletAddressTypes {
		if string(t) == name {
			return t, nil
		}
	}
	names := make([]string, len(DefaultKubeletAddressTypes))
	for i, t := range DefaultKubeletAddressTypes {
		names[i] = string(t)
	}
	return "", fmt.Errorf("%q: unknown address type; use %s", name, strings.Join(names, ", "))
}

// RootsOf is the CA pool a client configuration trusts (its CA data or
// file), nil when it names none (the system roots).
func RootsOf(cfg *rest.Config) (*x509.CertPool, error) { return rootsOf(cfg) }

// Kubelets reports the serving certificate of every kubelet: it lists the
// Nodes and makes a TLS handshake (no request, no client certificate) with
// each kubelet at the Node's address, as the API server would dial it.
type Kubelets struct {
	// Scope lists the Nodes (its label and field selectors apply).
	Scope *Scope
	// Names picks nodes by name (--node).
	Names []string
	// AddressTypes in order of preference; empty: DefaultKubeletAddressTypes.
	AddressTypes []corev1.NodeAddressType
	// Roots are the cluster CA the chains are verified against; nil: the
	// system roots. RootsFrom says what they are, for the notes.
	Roots     *x509.CertPool
	RootsFrom string
	// RootsErr: the CA could not be read; chains are reported unverified.
	RootsErr error
	Parallel int
	// Timeout bounds one kubelet's connection and handshake.
	Timeout time.Duration
	// Now and WarnWithin tell a certificate within the warning window,
	// for the note on pending renewal CSRs.
	Now        time.Time
	WarnWithin time.Duration
	// Dial, when set, replaces the TCP dialer (tests).
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
}

// Name implements Source.
func (s *Kubelets) Name() string { return KubeletsSource }

func kubeletLocation(node string) string { return "node/" + node + "/kubelet" }

// kubeletTarget is one Node's kubelet to dial.
type kubeletTarget struct {
	node        string
	object      *api.ObjectReference
	address     string
	addressType corev1.NodeAddressType
	port        int32
	// addresses are the Node's addresses of the types asked for.
	addresses []string
}

func (t kubeletTarget) endpoint() string {
	return net.JoinHostPort(t.address, strconv.Itoa(int(t.port)))
}

// kubeletResult is what one kubelet served, or why not.
type kubeletResult struct {
	target      kubeletTarget
	unreachable bool
	selfSigned  bool
	leaf        *x509.Certificate
}

// Collect implements Source.
func (s *Kubelets) Collect(ctx context.Context, sink Sink) {
	nodes := selectNodes(ctx, sink, s.Name(), s.Scope, s.Names)
	types := s.AddressTypes
	if len(types) == 0 {
		types = DefaultKubeletAddressTypes
	}
	var targets []kubeletTarget
	for _, n := range nodes {
		t, err := kubeletTargetOf(n, types)
		if err != nil {
			sink.Error(s.Name(), kubeletLocation(n.Name), err)
			continue
		}
		targets = append(targets, t)
	}
	if len(targets) == 0 {
		return
	}
	results := make([]kubeletResult, len(targets))
	work := make(chan int)
	var wg sync.WaitGroup
	for i := 0; i < min(max(s.Parallel, 1), len(targets)); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				results[j] = s.check(ctx, sink, targets[j])
			}
		}()
	}
	for i := range targets {
		if ctx.Err() != nil {
			sink.Error(s.Name(), kubeletLocation(targets[i].node), ctx.Err())
			results[i] = kubeletResult{target: targets[i]}
			continue
		}
		work <- i
	}
	close(work)
	wg.Wait()
	s.summarize(ctx, sink, results)
}

// kubeletTargetOf picks the Node's first address of the types, in their
// order, and its kubelet's port.
func kubeletTargetOf(n *corev1.Node, types []corev1.NodeAddressType) (kubeletTarget, error) {
	t := kubeletTarget{node: n.Name, object: nodeRef(n), port: n.Status.DaemonEndpoints.KubeletEndpoint.Port}
	if t.port == 0 {
		t.port = DefaultKubeletPort
	}
	for _, typ := range types {
		for _, a := range n.Status.Addresses {
			if a.Type != typ || a.Address == "" {
				continue
			}
			if t.address == "" {
				t.address, t.addressType = a.Address, a.Type
			}
		}
	}
	for _, a := range n.Status.Addresses {
		for _, typ := range types {
			if a.Type == typ && a.Address != "" && !containsString(t.addresses, a.Address) {
				t.addresses = append(t.addresses, a.Address)
			}
		}
	}
	if t.address == "" {
		names := make([]string, len(types))
		for i, typ := range types {
			names[i] = string(typ)
		}
		return t, fmt.Errorf("the Node lists no address of the types %s in status.addresses: its kubelet cannot be dialled (nor can the API server reach it)", strings.Join(names, ", "))
	}
	return t, nil
}

// check dials one kubelet, makes the handshake and reports its chain.
func (s *Kubelets) check(ctx context.Context, sink Sink, t kubeletTarget) kubeletResult {
	res := kubeletResult{target: t}
	loc := kubeletLocation(t.node)
	chain, err := s.handshake(ctx, t)
	if err != nil {
		if ctx.Err() != nil {
			sink.Error(s.Name(), loc, ctx.Err())
			return res
		}
		res.unreachable = true
		sink.Error(s.Name(), loc, fmt.Errorf("the kubelet at %s (%s) cannot be reached: %v", t.endpoint(), t.addressType, err))
		return res
	}
	leaf := chain[0]
	res.leaf = leaf
	res.selfSigned = kubeletSelfSigned(chain, s.Roots)
	var missing []string
	for _, a := range t.addresses {
		if leaf.VerifyHostname(a) != nil {
			missing = append(missing, a)
		}
	}
	verifyErr := s.RootsErr
	if verifyErr == nil {
		verifyErr = tlsprobe.VerifyChain(chain, s.Roots, t.address) // for the address dialled: IP or DNS SAN
	} else {
		verifyErr = fmt.Errorf("the cluster CA cannot be read: %w", verifyErr)
	}
	info := &api.KubeletInfo{
		Node: t.node, Address: t.address, AddressType: string(t.addressType), Port: t.port,
		SelfSigned: res.selfSigned, MissingAddresses: append([]string{}, missing...),
	}
	for i, c := range chain {
		ch := &api.ChainInfo{Endpoint: t.endpoint(), ServerName: sniOf(t.address), Position: i, Verified: verifyErr == nil}
		if verifyErr != nil {
			ch.VerifyError = verifyErr.Error()
		}
		f := Found{Cert: c, Location: loc, Object: t.object, Chain: ch, Kubelet: info}
		if i > 0 {
			f.Location = fmt.Sprintf("%s [%d]", loc, i)
		}
		if i == 0 {
			f.Notes = s.notes(t, res.selfSigned, missing, verifyErr)
		}
		sink.Found(s.Name(), f)
	}
	return res
}

// notes are said on a kubelet's serving certificate for people.
func (s *Kubelets) notes(t kubeletTarget, selfSigned bool, missing []string, verifyErr error) []string {
	var notes []string
	if selfSigned {
		notes = append(notes, "the kubelet's own self-signed certificate (kubelet.crt, made at its first start): nothing renews it, and no client can verify it against the cluster CA; "+
			"enable serverTLSBootstrap: true in the kubelet's configuration (and approve its kubelet-serving CSRs, kubectl rotate csr list) to have it issued and rotated by the cluster")
	}
	if len(missing) > 0 {
		ip := ""
		for _, a := range missing {
			if net.ParseIP(a) != nil {
				ip = a
				break
			}
		}
		what := fmt.Sprintf("the certificate does not cover the Node's address(es) %s: a client dialling one fails to verify it", strings.Join(missing, ", "))
		if ip != "" {
			what += fmt.Sprintf(" (x509: cannot validate certificate for %s because it doesn't contain any IP SANs: the failure of metrics-server, kubectl logs and kubectl exec through an API server that verifies kubelets)", ip)
		}
		notes = append(notes, what+"; the kubelet's next certificate must name every address (serverTLSBootstrap asks for the Node's addresses)")
	}
	if verifyErr != nil && !selfSigned && len(missing) == 0 {
		notes = append(notes, fmt.Sprintf("the chain does not verify against %s for %s: %v", orDefault(s.RootsFrom, "the cluster CA"), t.address, verifyErr))
	}
	return notes
}

// handshake dials the kubelet and completes a TLS handshake, verifying
// nothing; it sends no request and no client certificate.
func (s *Kubelets) handshake(ctx context.Context, t kubeletTarget) ([]*x509.Certificate, error) {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultKubeletTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dial := s.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	raw, err := dial(ctx, "tcp", t.endpoint())
	if err != nil {
		return nil, describeDialError(ctx, timeout, err)
	}
	defer raw.Close()
	conn := tls.Client(raw, &tls.Config{
		ServerName: sniOf(t.address),
		// Read the chain whatever it is; it is verified afterwards.
		InsecureSkipVerify: true,
		MinVersion:         tls.VersionTLS12,
		// Only the certificate is wanted, not a channel to protect: a
		// classical key exchange, cheaper than Go's default post-quantum
		// hybrid (X25519MLKEM768), which the server would otherwise also
		// pay for; and P-256 alone, since Go ignores the order of this
		// list and would pick X25519, whose key generation is a full
		// generic scalar multiplication where P-256's uses a table and
		// assembly. Every TLS 1.3 server must support P-256 (RFC 8446,
		// 9.1), and Go's kubelets do.
		CurvePreferences: []tls.CurveID{tls.CurveP256},
	})
	if err := conn.HandshakeContext(ctx); err != nil {
		var recErr tls.RecordHeaderError
		switch {
		case errors.As(err, &recErr):
			return nil, errors.New("the port does not speak TLS (the first bytes it sent are not a TLS handshake)")
		case ctx.Err() != nil:
			return nil, fmt.Errorf("the TCP connection was accepted but no TLS handshake came within %s (--node-timeout)", timeout)
		}
		return nil, fmt.Errorf("TLS handshake: %v", err)
	}
	chain := conn.ConnectionState().PeerCertificates
	if len(chain) == 0 {
		return nil, errors.New("the kubelet presented no certificate")
	}
	return chain, nil
}

func describeDialError(ctx context.Context, timeout time.Duration, err error) error {
	var netErr net.Error
	switch {
	case ctx.Err() != nil || errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("no TCP connection within %s (--node-timeout): a firewall may drop the packets", timeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		return errors.New("connection refused: nothing listens on the kubelet's port")
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return errors.New("no route to the node from here")
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		return opErr.Err
	}
	return err
}

// sniOf is the name sent as SNI for address: the address itself when it is
// a DNS name, none for an IP address (as the API server does).
func sniOf(address string) string {
	if net.ParseIP(address) != nil {
		return ""
	}
	return address
}

// kubeletSelfSigned is true when the leaf signs itself (issuer = subject,
// its signature checks with its own key), or when the kubelet made its own
// CA for it, as client-go's GenerateSelfSignedCertKey does for kubelet.crt
// ("HOST@TIME" issued by "HOST-ca@TIME", both served): the chain ends in a
// self-signed CA so named that the kubelet sent, that signs the leaf and
// is not a trusted root.
func kubeletSelfSigned(chain []*x509.Certificate, roots *x509.CertPool) bool {
	leaf := chain[0]
	if bytes.Equal(leaf.RawIssuer, leaf.RawSubject) && leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) == nil {
		return true
	}
	if len(chain) != 2 || !ownCAPair(leaf.Subject.CommonName, chain[1].Subject.CommonName) {
		return false
	}
	root := chain[1]
	if !bytes.Equal(root.RawIssuer, root.RawSubject) || root.CheckSignatureFrom(root) != nil || leaf.CheckSignatureFrom(root) != nil {
		return false
	}
	if roots != nil {
		if _, err := root.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err == nil {
			return false // the cluster CA, sent along
		}
	}
	return true
}

// ownCAPair is true for the names client-go gives a self-signed pair:
// leaf "HOST@TIME", CA "HOST-ca@TIME".
func ownCAPair(leafCN, caCN string) bool {
	host, at, ok := strings.Cut(leafCN, "@")
	return ok && host != "" && at != "" && caCN == host+"-ca@"+at
}

// summarize says what concerns several kubelets: a mix of self-signed and
// CA-issued certificates, renewals waiting on a pending CSR, and most
// kubelets out of reach.
func (s *Kubelets) summarize(ctx context.Context, sink Sink, results []kubeletResult) {
	var self, issued, unreachable []string
	expiring := map[string]*x509.Certificate{}
	for _, r := range results {
		switch {
		case r.unreachable:
			unreachable = append(unreachable, r.target.node)
		case r.leaf == nil:
		case r.selfSigned:
			self = append(self, r.target.node)
		default:
			issued = append(issued, r.target.node)
			if s.WarnWithin > 0 && !s.Now.IsZero() && r.leaf.NotAfter.Sub(s.Now) <= s.WarnWithin {
				expiring[r.target.node] = r.leaf
			}
		}
	}
	if len(self) > 0 && len(issued) > 0 {
		sink.Note(fmt.Sprintf("kubelets: %d serve their own self-signed certificate (%s) and %d one issued by the cluster CA: the self-signed ones are never renewed and fail verification; enable serverTLSBootstrap on those nodes' kubelets as on the others",
			len(self), listSome(self, 5), len(issued)))
	}
	if len(expiring) > 0 {
		s.notePendingCSRs(ctx, sink, expiring)
	}
	total := len(results)
	if len(unreachable) >= 2 && 2*len(unreachable) > total {
		sink.Note(fmt.Sprintf("kubelets: %d of %d kubelets could not be reached from here (%s): kubelets usually listen on the nodes' private network only; run the check from a node or in-cluster (a Pod with a kubeconfig or service account that may list Nodes)",
			len(unreachable), total, listSome(unreachable, 5)))
	}
}

// notePendingCSRs notes each node whose CA-issued certificate is within
// the warning window while its renewal CSR waits for approval.
func (s *Kubelets) notePendingCSRs(ctx context.Context, sink Sink, expiring map[string]*x509.Certificate) {
	if s.Scope == nil || s.Scope.Client == nil {
		return
	}
	pending := map[string][]string{}
	list := func(ctx context.Context, _ string, o metav1.ListOptions) (runtime.Object, error) {
		return s.Scope.Client.CertificatesV1().CertificateSigningRequests().List(ctx, o)
	}
	opts := metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.signerName", certificatesv1.KubeletServingSignerName).String()}
	// Not being allowed to list CSRs only leaves the note out.
	_ = s.Scope.eachIn(ctx, "", list, opts, func(obj runtime.Object) {
		csr, ok := obj.(*certificatesv1.CertificateSigningRequest)
		if !ok || csr.Spec.SignerName != certificatesv1.KubeletServingSignerName || !csrPending(csr) {
			return
		}
		node, ok := strings.CutPrefix(csr.Spec.Username, "system:node:")
		if ok && expiring[node] != nil {
			pending[node] = append(pending[node], csr.Name)
		}
	})
	nodes := make([]string, 0, len(pending))
	for n := range pending {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	for _, n := range nodes {
		sort.Strings(pending[n])
		sink.Note(fmt.Sprintf("kubelets: node/%s serves a certificate that expires %s and its renewal is waiting on Pending kubelet-serving CSR(s) %s: review them with kubectl rotate csr list, then approve",
			n, expiring[n].NotAfter.UTC().Format(time.RFC3339), strings.Join(pending[n], ", ")))
	}
}

// csrPending is true for a CSR neither approved, denied nor failed.
func csrPending(csr *certificatesv1.CertificateSigningRequest) bool {
	for _, c := range csr.Status.Conditions {
		switch c.Type {
		case certificatesv1.CertificateApproved, certificatesv1.CertificateDenied, certificatesv1.CertificateFailed:
			return false
		}
	}
	return len(csr.Status.Certificate) == 0
}

// listSome names up to n of names, and how many more.
func listSome(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
