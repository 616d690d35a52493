package csrcheck

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
)

// keys are made once: RSA keys take a while.
var keys = sync.OnceValue(func() map[string]crypto.Signer {
	m := map[string]crypto.Signer{}
	must := func(k crypto.Signer, err error) crypto.Signer {
		if err != nil {
			panic(err)
		}
		return k
	}
	m["p256"] = must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	m["p384"] = must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader))
	m["p521"] = must(ecdsa.GenerateKey(elliptic.P521(), rand.Reader))
	m["rsa2048"] = must(rsa.GenerateKey(rand.Reader, 2048))
	m["rsa1024"] = must(rsa.GenerateKey(rand.Reader, 1024))
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	m["ed25519"] = must(ed, err)
	return m
})

// request describes the x509 request inside a CSR.
type request struct {
	key    string
	cn     string
	orgs   []string
	dns    []string
	ips    []string
	emails []string
	uris   []string
}

func (r request) pem(t testing.TB) []byte {
	t.Helper()
	tmpl := &x509.CertificateRequest{
		Subject:        pkix.Name{CommonName: r.cn, Organization: r.orgs},
		DNSNames:       r.dns,
		EmailAddresses: r.emails,
	}
	for _, ip := range r.ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	for _, u := range r.uris {
		parsed, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.URIs = append(tmpl.URIs, parsed)
	}
	k := r.key
	if k == "" {
		k = "p256"
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, keys()[k])
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// servingCSR is a valid kubelet-serving CSR of worker-1.
func servingCSR(t testing.TB, req request, mutate ...func(*certificatesv1.CertificateSigningRequest)) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	csr := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "csr-1"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    req.pem(t),
			SignerName: KubeletServing,
			Username:   "system:node:worker-1",
			Groups:     []string{"system:nodes", "system:authenticated"},
			Usages: []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature,
				certificatesv1.UsageKeyEncipherment, certificatesv1.UsageServerAuth},
		},
	}
	for _, m := range mutate {
		m(csr)
	}
	return csr
}

var worker1Req = request{cn: "system:node:worker-1", orgs: []string{"system:nodes"}, dns: []string{"worker-1"}, ips: []string{"10.0.0.11"}}

func with(r request, f func(*request)) request { f(&r); return r }

func testNodes() map[string]*corev1.Node {
	return map[string]*corev1.Node{
		"worker-1": {ObjectMeta: metav1.ObjectMeta{Name: "worker-1"}, Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: "10.0.0.11"},
			{Type: corev1.NodeInternalIP, Address: "fd00::11"},
			{Type: corev1.NodeExternalIP, Address: "203.0.113.11"},
			{Type: corev1.NodeHostName, Address: "worker-1"},
			{Type: corev1.NodeInternalDNS, Address: "worker-1.internal.example"},
			{Type: corev1.NodeExternalDNS, Address: "worker-1.example.com"},
		}}},
		"worker-2": {ObjectMeta: metav1.ObjectMeta{Name: "worker-2"}, Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: "10.0.0.12"},
			{Type: corev1.NodeHostName, Address: "worker-2"},
		}}},
	}
}

// fakeCluster is a Cluster of Nodes, Service ranges, API server addresses
// and SubjectAccessReview answers; each method fails with its error when set.
type fakeCluster struct {
	nodes     map[string]*corev1.Node
	nodeErr   error
	claimsErr error
	ranges    []netip.Prefix
	rangesErr error
	api       []netip.Addr
	apiErr    error
	apiNames  []string
	namesErr  error
	// allowed: "user|subresource" pairs the authorizer allows.
	allowed  map[string]bool
	authzErr error
	sars     []string // "user|subresource" asked, in order
}

func (f *fakeCluster) Node(name string) (*corev1.Node, error) {
	if f.nodeErr != nil {
		return nil, f.nodeErr
	}
	if n, ok := f.nodes[name]; ok {
		return n, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "nodes"}, name)
}

func (f *fakeCluster) NodesClaiming(key string) ([]string, error) {
	if f.claimsErr != nil {
		return nil, f.claimsErr
	}
	var out []string
	for _, n := range f.nodes {
		if slices.Contains(ClaimKeys(n), key) {
			out = append(out, n.Name)
		}
	}
	return out, nil
}

func (f *fakeCluster) ServiceRanges() ([]netip.Prefix, error) { return f.ranges, f.rangesErr }

func (f *fakeCluster) APIServerAddresses() ([]netip.Addr, error) { return f.api, f.apiErr }
func (f *fakeCluster) APIServerNames() ([]string, error)         { return f.apiNames, f.namesErr }

func (f *fakeCluster) Authorize(csr *certificatesv1.CertificateSigningRequest, sub string) (bool, string, error) {
	key := csr.Spec.Username + "|" + sub
	f.sars = append(f.sars, key)
	if f.authzErr != nil {
		return false, "", f.authzErr
	}
	if f.allowed[key] {
		return true, "RBAC: allowed", nil
	}
	return false, "", nil
}

// testCluster is testNodes with the Service range 10.96.0.0/12 and
// fd00:96::/112 and the API server at 10.0.0.2.
func testCluster(nodes map[string]*corev1.Node) *fakeCluster {
	return &fakeCluster{
		nodes:  nodes,
		ranges: []netip.Prefix{netip.MustParsePrefix("10.96.0.0/12"), netip.MustParsePrefix("fd00:96::/112")},
		api:    []netip.Addr{netip.MustParseAddr("10.0.0.2")},
	}
}

// testNodeCIDRs are where testNodes' IPs come from.
var testNodeCIDRs = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24"), netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("fd00::/64")}

func failedNames(r Result) []string {
	var out []string
	for _, c := range r.Failed() {
		out = append(out, c.Name)
	}
	return out
}

func setUsages(us ...certificatesv1.KeyUsage) func(*certificatesv1.CertificateSigningRequest) {
	return func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Usages = us }
}

func setExpiration(s int32) func(*certificatesv1.CertificateSigningRequest) {
	return func(c *certificatesv1.CertificateSigningRequest) { c.Spec.ExpirationSeconds = &s }
}

func setCondition(typ certificatesv1.RequestConditionType, cert []byte) func(*certificatesv1.CertificateSigningRequest) {
	return func(c *certificatesv1.CertificateSigningRequest) {
		c.Status.Conditions = append(c.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{Type: typ, Status: corev1.ConditionTrue})
		c.Status.Certificate = cert
	}
}

var (
	dsig  = certificatesv1.UsageDigitalSignature
	kenc  = certificatesv1.UsageKeyEncipherment
	sauth = certificatesv1.UsageServerAuth
	cauth = certificatesv1.UsageClientAuth
)

func TestReviewKubeletServing(t *testing.T) {
	allDNS := regexp.MustCompile(`[a-z0-9-]+\.pods\.example`)
	tests := []struct {
		name        string
		req         request
		mutate      []func(*certificatesv1.CertificateSigningRequest)
		opts        Options      // NodeCIDRs default to testNodeCIDRs unless bareOpts
		bareOpts    bool         // opts as given
		cluster     *fakeCluster // default: testCluster(testNodes())
		wantVerdict api.CSRVerdict
		wantFailed  []string
		wantReason  string
	}{
		{name: "valid: node name and InternalIP", req: worker1Req, wantVerdict: api.CSRVerdictApprove},
		{name: "valid: every kind of own address", req: with(worker1Req, func(r *request) {
			r.dns = []string{"worker-1", "Worker-1.Internal.Example", "worker-1.example.com"}
			r.ips = []string{"10.0.0.11", "203.0.113.11", "fd00::11"}
		}), wantVerdict: api.CSRVerdictApprove},
		{name: "valid: only an IP", req: with(worker1Req, func(r *request) { r.dns = nil }), wantVerdict: api.CSRVerdictApprove},
		{name: "valid: only a DNS name", req: with(worker1Req, func(r *request) { r.ips = nil }), wantVerdict: api.CSRVerdictApprove},

		// signer
		{name: "another signer is skipped", req: worker1Req, mutate: []func(*certificatesv1.CertificateSigningRequest){
			func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName = "example.com/custom" }},
			wantVerdict: api.CSRVerdictSkip, wantFailed: []string{CheckSigner}, wantReason: `signer "example.com/custom" is not checked`},

		// request
		{name: "request not PEM", req: worker1Req, mutate: []func(*certificatesv1.CertificateSigningRequest){
			func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Request = []byte("garbage") }},
			wantVerdict: api.CSRVerdictDeny, wantFailed: []string{CheckRequest, CheckSubject, CheckIPSANs, CheckDNSSANs, CheckSANs, CheckKey},
			wantReason: "request: not PEM"},
		{name: "request of the wrong PEM type", req: worker1Req, mutate: []func(*certificatesv1.CertificateSigningRequest){
			func(c *certificatesv1.CertificateSigningRequest) {
				c.Spec.Request = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}})
			}},
			wantVerdict: api.CSRVerdictDeny, wantFailed: []string{CheckRequest, CheckSubject, CheckIPSANs, CheckDNSSANs, CheckSANs, CheckKey},
			wantReason: `not CERTIFICATE REQUEST`},
		{name: "request whose signature does not verify", req: worker1Req, mutate: []func(*certificatesv1.CertificateSigningRequest){
			func(c *certificatesv1.CertificateSigningRequest) {
				block, _ := pem.Decode(c.Spec.Request)
				block.Bytes[len(block.Bytes)-3] ^= 0xff
				c.Spec.Request = pem.EncodeToMemory(block)
			}},
			wantVerdict: api.CSRVerdictDeny, wantFailed: []string{CheckRequest, CheckSubject, CheckIPSANs, CheckDNSSANs, CheckSANs, CheckKey}},

		// requestor
		{name: "requested by the admin in the name of worker-1", req: worker1Req, mutate: []func(*certificatesv1.CertificateSigningRequest){
			func(c *certificatesv1.CertificateSigningRequest) {
				c.Spec.Username, c.Spec.Groups = "kubecerts-admin", []string{"system:masters", "system:authenticated"}
			}},
			wantVerdict: api.CSRVerdictDeny, wantFailed: []string{CheckRequestor, CheckSubject}, wantReason: `requested by "kubecerts-admin", not by a node`},
		{name: "requested by a node user outside system:nodes", req: worker1Req, mutate: []func(*certificatesv1.CertificateSigningRequest){
			func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Groups = []string{"system:authenticated"} }},
			wantVerdict: api.CSRVerdictDeny, wantFailed: []string{CheckRequestor}, wantReason: "not in the group system:nodes"},

		// subject
		{name: "CN of another node", req: with(worker1Req, func(r *request) { r.cn = "system:node:worker-2" }),
			wantVerdict: api.CSRVerdictDeny, wantFailed: []string{CheckSubject}, wantReason: `CN "system:node:worker-2" is not the requestor "system:node:worker-1"`},
		{name: "O missing", req: with(worker1Req, func(r *request) { r.orgs = nil }),
			wantVerdict: api.CSRVerdictDeny, wantFailed: []string{CheckSubject}, wantReason: "is not exactly [system:nodes]"},
		{name: "O with another group", req: with(worker1Req, func(r *request) { r.orgs = []string{"system:nodes", "system:masters"} }),
			wantVerdict: api.CSRVerdictDeny, wantFailed: []string{CheckSubject}},

		// node
		{name: "node does not exist", req: with(worker1Req, func(r *request) { r.cn = "system:node:ghost"; r.dns = []string{"ghost"} }),
			mutate:      []func(*certificatesv1.CertificateSigningRequest){func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Username = "system:node:ghost" }},
			wantVerdict: api.CSRVerdictDeny, wantFailed: []string{CheckNode, CheckIPSANs, CheckDNSSANs}, wantReason: "Node ghost does not exist"},
		{name: "node lookup fails: undecided, retryable", req: worker1Req,
			cluster:     &fakeCluster{nodeErr: errors.New("connection refused")},
			wantVerdict: api.CSRVerdictSkip, wantFailed: []string{CheckNode, CheckIPSANs, CheckDNSSANs}, wantReason: "undecided: cannot look up Node worker-1: connection refused"},
		{name: "node lookup fails but the key is weak: deny", req: with(worker1Req, func(r *request) { r.key = "rsa1024" }),
			cluster:     &fakeCluster{nodeErr: errors.New("connection refused")},
			wantVerdict: api.CSRVerdictDeny, wantFailed: []string{CheckNode, CheckIPSANs, CheckDNSSANs, CheckKey}},

		// ip-sans
		{name: "IP of worker-2", req: with(worker1Req, func(r *request) { r.ips = []string{"10.0.0.11", "10.0.0.12"} }),
			wantVerdict: api.CSRVerdictDeny, wantFailed: []string{CheckIPSANs},
			wantReason: "ip-sans: refused 10.0.0.12: other-node (also listed by Node worker-2), node-address (not among Node worker-1's InternalIP/ExternalIP addresses"},
		{name: "IPv6 of worker-1 inside --node-cidr", req: with(worker1Req, func(r *request) { r.ips = []string{"fd00::11"} }), wantVerdict: api.CSRVerdictApprove},
		{name: "IP outside every --node-cidr", req: with(worker1Req, func(r *request) { r.ips = []string{"10.0.0.11", "203.0.113.11"} }),
			opts: Options{NodeCIDRs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}}, wantVerdict: api.CSRVerdictDeny, wantFailed: []string{CheckIPSANs},
			wantReason: "203.0.113.11: node-cidr (outside every --node-cidr [10.0.0.0/24])"},
		{name: "IP SAN without --node-cidr is refused", req: worker1Req, bareOpts: true,
			wantVerdict: api.CSRVerdictDeny, wantFailed: []string{CheckIPSANs}, wantReason: "10.0.0.11: no-node-cidr (IP SANs need --node-cidr"},
		{name: "IP SAN with --trust-node-addresses", req: worker1Req, bareOpts: true, opts: Options{TrustNodeAddresses: true},
			wantVerdict: api.CSRVerdictApprove},
		{name: "DNS-only CSR needs no --node-cidr", req: with(worker1Req, func(r *request) { r.ips = nil }), bareOpts: true, wantVerdict: api.CSRVerdictApprove},
		{name: "Service ranges unreadable: undecided", req: worker1Req, cluster: func() *fakeCluster {
			c := testCluster(testNodes())
			c.rangesErr = errors.New("servicecidrs is forbidden")
			return c
		}(), wantVerdict: api.CSRVerdictSkip, wantFailed: []string{CheckIPSANs}, wantReason: "undecided: cannot read the Service ranges: servicecidrs is forbidden"},
		{name: "other Nodes unreadable: undecided", req: worker1Req, cluster: func() *fakeCluster {
			c := testCluster(testNodes())
			c.claimsErr = errors.New("timeout")
			return c
		}(), wantVerdict: api.CSRVerdictSkip, wantFailed: []string{CheckIPSANs, CheckDNSSANs}, wantReason: "undecided: cannot tell whether other Nodes list 10.0.0.11: timeout"},
		{name: "unreadable facts do not hide a refusal", req: with(worker1Req, func(r *request) { r.ips = []string{"127.0.0.1"} }), cluster: func() *fakeCluster {
			c := testCluster(testNodes())
			c.apiErr = errors.New("timeout")
			return c
		}(), wantVerdict: api.CSRVerdictDeny, wantFailed: []string{CheckIPSANs}, wantReason: "127.0.0.1: special-address"},

		// dns-sans
		{name: "extra DNS name", req: with(worker1Req, func(r *request) { r.dns = []string{"worker-1", "kubernetes.default.svc"} }),
			wantVerdict: api.CSRVerdictDeny, wantFailed: []string{CheckDNSSANs}, wantReason: "dns-sans: refused kubernetes.default.svc: cluster-service"},
		{name: "DNS name of worker-2", req: with(worker1Req, func(r *request) { r.dns = []string{"worker-2"} }),
			wantVerdict: api.CSRVerdictDeny, wantFailed: []string{CheckDNSSANs}, wantReason: "worker-2: node-name (neither the node name worker-1 nor under worker-1.), other-node"},
		{name: "--allow-dns narrows: a matching own name passes", req: with(worker1Req, func(r *request) { r.dns = []string{"worker-1.example.com"} }),
			opts: Options{AllowDNS: regexp.MustCompile(`[a-z0-9-]+\.example\.com`)}, wantVerdict: api.CSRVerdictApprove},
		{name: "--allow-dns narrows: an own name it does not match is refused", req: with(worker1Req, func(r *request) { r.dns = []string{"worker-1"} }),
			opts: Options{AllowDNS: regexp.MustCompile(`[a-z0-9-]+\.example\.com`)}, wantVerdict: api.CSRVerdictDeny, wantFailed: []string{CheckDNSSANs},
			wantReason: `worker-1: allow-dns (not matched by --allow-dns`},
		{name: "--allow-dns no longer widens past the Node's names", req: with(worker1Req, func(r *request) { r.dns = []string{"worker-1", "w1.pods.example"} }),
			opts: Options{AllowDNS: allDNS}, wantVerdict: api.CSRVerdictDeny, wantFailed: []string{CheckDNSSANs}, wantReason: "w1.pods.example: node-name"},
		{name: "--allow-dns must match the whole name", req: with(worker1Req, func(r *request) { r.dns = []string{"w1.pods.example.evil.com"} }),
			opts: Options{AllowDNS: allDNS}, wantVerdict: api.CSRVerdictDeny, wantFailed: []string{CheckDNSSANs}, wantReason: "not matched by --allow-dns"},
		{name: "--resolve-dns: resolves to the CSR's IP", req: with(worker1Req, func(r *request) { r.dns = []string{"worker-1.example.com"} }),
			opts:        Options{Resolve: fakeResolver(map[string][]string{"worker-1.example.com": {"10.0.0.11"}})},
			wantVerdict: api.CSRVerdictApprove},
		{name: "--resolve-dns: resolves elsewhere", req: with(worker1Req, func(r *request) { r.dns = []string{"worker-1.example.com"} }),
			opts:        Options{Resolve: fakeResolver(map[string][]string{"worker-1.example.com": {"10.0.0.11", "198.51.100.7"}})},
			wantVerdict: api.CSRVerdictDeny, wantFailed: []string{CheckDNSSANs}, wantReason: "worker-1.example.com: resolve-dns (resolves to 198.51.100.7, not among the CSR's IP SANs [10.0.0.11])"},
		{name: "--resolve-dns: does not resolve", req: with(worker1Req, func(r *request) { r.dns = []string{"worker-1"} }),
			opts:        Options{Resolve: fakeResolver(nil)},
			wantVerdict: api.CSRVerdictDeny, wantFailed: []string{CheckDNSSANs}, wantReason: "worker-1: resolve-dns (does not resolve: no such host)"},
		{name: "DNS names in another case and with a trailing dot", req: with(worker1Req, func(r *request) { r.dns = []string{"WORKER-1.", "Worker-1.Example.Com."} }),
			wantVerdict: api.CSRVerdictApprove},

		// sans
		{name: "no SANs", req: with(worker1Req, func(r *request) { r.dns, r.ips = nil, nil }),
			wantVerdict: api.CSRVerdictDeny, wantFailed: []string{CheckSANs}, wantReason: "no DNS or IP SAN"},
		{name: "email SAN", req: with(worker1Req, func(r *request) { r.emails = []string{"root@worker-1"} }),
			wantVerdict: api.CSRVerdictDeny, wantFailed: []string{CheckSANs}, wantReason: "email SANs"},
		{name: "URI SAN", req: with(worker1Req, func(r *request) { r.uris = []string{"spiffe://cluster/ns/default/sa/x"} }),
			wantVerdict: api.CSRVerdictDeny, wantFailed: []string{CheckSANs}, wantReason: "URI SANs"},

		// usages
		{name: "usages without key encipherment (ECDSA kubelets)", req: worker1Req,
			mutate: []func(*certificatesv1.CertificateSigningRequest){setUsages(dsig, sauth)}, wantVerdict: api.CSRVerdictApprove},
		{name: "client auth usage", req: worker1Req,
			mutate:      []func(*certificatesv1.CertificateSigningRequest){setUsages(dsig, kenc, sauth, cauth)},
			wantVerdict: api.CSRVerdictDeny, wantFailed: []string{CheckUsages}, wantReason: `["client auth"] not allowed`},
		{name: "server auth missing", req: worker1Req,
			mutate:      []func(*certificatesv1.CertificateSigningRequest){setUsages(dsig, kenc)},
			wantVerdict: api.CSRVerdictDeny, wantFailed: []string{CheckUsages}, wantReason: `"server auth" missing`},
		{name: "cert sign usage", req: worker1Req,
			mutate:      []func(*certificatesv1.CertificateSigningRequest){setUsages(dsig, sauth, certificatesv1.UsageCertSign)},
			wantVerdict: api.CSRVerdictDeny, wantFailed: []string{CheckUsages}},

		// key
		{name: "RSA 2048", req: with(worker1Req, func(r *request) { r.key = "rsa2048" }), wantVerdict: api.CSRVerdictApprove},
		{name: "ECDSA P-384", req: with(worker1Req, func(r *request) { r.key = "p384" }), wantVerdict: api.CSRVerdictApprove},
		{name: "Ed25519", req: with(worker1Req, func(r *request) { r.key = "ed25519" }), wantVerdict: api.CSRVerdictApprove},
		{name: "RSA 1024", req: with(worker1Req, func(r *request) { r.key = "rsa1024" }),
			wantVerdict: api.CSRVerdictDeny, wantFailed: []string{CheckKey}, wantReason: "key: RSA-1024: RSA keys must have at least 2048 bits"},
		{name: "ECDSA P-521", req: with(worker1Req, func(r *request) { r.key = "p521" }),
			wantVerdict: api.CSRVerdictDeny, wantFailed: []string{CheckKey}, wantReason: "ECDSA-P-521"},

		// duration
		{name: "expirationSeconds within --max-duration", req: worker1Req, opts: Options{MaxDuration: 365 * 24 * time.Hour},
			mutate: []func(*certificatesv1.CertificateSigningRequest){setExpiration(30 * 86400)}, wantVerdict: api.CSRVerdictApprove},
		{name: "expirationSeconds beyond --max-duration", req: worker1Req, opts: Options{MaxDuration: 365 * 24 * time.Hour},
			mutate:      []func(*certificatesv1.CertificateSigningRequest){setExpiration(2 * 365 * 86400)},
			wantVerdict: api.CSRVerdictDeny, wantFailed: []string{CheckDuration}, wantReason: "2y requested, more than --max-duration 1y"},
		{name: "expirationSeconds not positive", req: worker1Req,
			mutate: []func(*certificatesv1.CertificateSigningRequest){setExpiration(0)}, wantVerdict: api.CSRVerdictDeny, wantFailed: []string{CheckDuration}},

		// condition
		{name: "already approved", req: worker1Req, mutate: []func(*certificatesv1.CertificateSigningRequest){setCondition(certificatesv1.CertificateApproved, nil)},
			wantVerdict: api.CSRVerdictSkip, wantFailed: []string{CheckCondition}, wantReason: "already Approved"},
		{name: "already issued", req: worker1Req, mutate: []func(*certificatesv1.CertificateSigningRequest){setCondition(certificatesv1.CertificateApproved, []byte("x"))},
			wantVerdict: api.CSRVerdictSkip, wantFailed: []string{CheckCondition}, wantReason: "already Issued"},
		{name: "already denied", req: worker1Req, mutate: []func(*certificatesv1.CertificateSigningRequest){setCondition(certificatesv1.CertificateDenied, nil)},
			wantVerdict: api.CSRVerdictSkip, wantFailed: []string{CheckCondition}, wantReason: "already Denied"},
		{name: "already failed", req: worker1Req, mutate: []func(*certificatesv1.CertificateSigningRequest){setCondition(certificatesv1.CertificateFailed, nil)},
			wantVerdict: api.CSRVerdictSkip, wantFailed: []string{CheckCondition}, wantReason: "already Failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cluster := tt.cluster
			if cluster == nil {
				cluster = testCluster(testNodes())
			}
			opts := tt.opts
			if !tt.bareOpts && opts.NodeCIDRs == nil {
				opts.NodeCIDRs = testNodeCIDRs
			}
			r := Review(servingCSR(t, tt.req, tt.mutate...), cluster, opts)
			if r.Verdict != tt.wantVerdict {
				t.Errorf("verdict = %s (%s), want %s", r.Verdict, r.Reason, tt.wantVerdict)
			}
			if got := failedNames(r); !slices.Equal(got, tt.wantFailed) {
				t.Errorf("failed checks = %v, want %v\n%+v", got, tt.wantFailed, r.Checks)
			}
			if !strings.Contains(r.Reason, tt.wantReason) {
				t.Errorf("reason = %q, want it to contain %q", r.Reason, tt.wantReason)
			}
			want := []string{CheckSigner, CheckRequest, CheckRequestor, CheckSubject, CheckNode, CheckIPSANs, CheckDNSSANs, CheckSANs, CheckUsages, CheckKey, CheckDuration, CheckCondition}
			if tt.wantFailed != nil && tt.wantFailed[0] == CheckSigner {
				want = []string{CheckSigner, CheckRequest, CheckCondition}
			}
			if got := strings.Split(r.CheckNames(), ", "); !slices.Equal(got, want) {
				t.Errorf("checks made = %v, want %v", got, want)
			}
			for _, c := range r.Checks {
				if c.Message == "" {
					t.Errorf("check %s has no message", c.Name)
				}
			}
			if r.Retryable != (tt.wantReason != "" && strings.HasPrefix(tt.wantReason, "undecided")) {
				t.Errorf("retryable = %v", r.Retryable)
			}
		})
	}
}

// fakeResolver resolves the names of m; others are "no such host".
func fakeResolver(m map[string][]string) func(string) ([]netip.Addr, error) {
	return func(name string) ([]netip.Addr, error) {
		ips, ok := m[name]
		if !ok {
			return nil, errors.New("no such host")
		}
		var out []netip.Addr
		for _, ip := range ips {
			out = append(out, netip.MustParseAddr(ip))
		}
		return out, nil
	}
}

func clientCSR(t testing.TB, req request, user string, groups []string, mutate ...func(*certificatesv1.CertificateSigningRequest)) *certificatesv1.CertificateSigningRequest {
	csr := servingCSR(t, req, mutate...)
	csr.Spec.SignerName = KubeletClient
	csr.Spec.Username, csr.Spec.Groups = user, groups
	if len(mutate) == 0 {
		csr.Spec.Usages = []certificatesv1.KeyUsage{dsig, kenc, cauth}
	}
	return csr
}

func TestReviewKubeletClient(t *testing.T) {
	clientReq := request{cn: "system:node:worker-3", orgs: []string{"system:nodes"}}
	nodes := []string{"system:nodes", "system:authenticated"}
	bootstrap := []string{"system:bootstrappers", "system:bootstrappers:kubeadm:default-node-token", "system:authenticated"}
	tests := []struct {
		name        string
		csr         *certificatesv1.CertificateSigningRequest
		wantVerdict api.CSRVerdict
		wantFailed  []string
	}{
		{"renewal by the node itself", clientCSR(t, clientReq, "system:node:worker-3", nodes), api.CSRVerdictApprove, nil},
		{"renewal allowed only by nodeclient", clientCSR(t, clientReq, "system:node:worker-4", nodes, func(c *certificatesv1.CertificateSigningRequest) {
			c.Spec.Request = with(clientReq, func(r *request) { r.cn = "system:node:worker-4" }).pem(t)
			c.Spec.Usages = []certificatesv1.KeyUsage{dsig, cauth}
		}), api.CSRVerdictApprove, nil},
		{"new node by a bootstrap token the authorizer refuses", clientCSR(t, clientReq, "system:bootstrap:zzzzzz", bootstrap), api.CSRVerdictDeny, []string{CheckAuthz}},
		{"renewal the authorizer refuses", clientCSR(t, with(clientReq, func(r *request) { r.cn = "system:node:worker-5" }), "system:node:worker-5", nodes), api.CSRVerdictDeny, []string{CheckAuthz}},
		{"new node by a bootstrap token", clientCSR(t, clientReq, "system:bootstrap:abcdef", bootstrap), api.CSRVerdictApprove, nil},
		{"usages without key encipherment", clientCSR(t, clientReq, "system:node:worker-3", nodes, setUsages(dsig, cauth)), api.CSRVerdictApprove, nil},
		{"requested by another node", clientCSR(t, clientReq, "system:node:worker-1", nodes), api.CSRVerdictDeny, []string{CheckRequestor, CheckAuthz}},
		{"requested by the node outside system:nodes", clientCSR(t, clientReq, "system:node:worker-3", []string{"system:authenticated"}), api.CSRVerdictDeny, []string{CheckRequestor}},
		{"requested by the admin", clientCSR(t, clientReq, "kubecerts-admin", []string{"system:masters"}), api.CSRVerdictDeny, []string{CheckRequestor}},
		{"CN not a node", clientCSR(t, with(clientReq, func(r *request) { r.cn = "admin" }), "system:bootstrap:abcdef", bootstrap), api.CSRVerdictDeny, []string{CheckSubject}},
		{"O missing", clientCSR(t, with(clientReq, func(r *request) { r.orgs = nil }), "system:node:worker-3", nodes), api.CSRVerdictDeny, []string{CheckSubject}},
		{"SANs", clientCSR(t, with(clientReq, func(r *request) { r.dns = []string{"worker-3"} }), "system:node:worker-3", nodes), api.CSRVerdictDeny, []string{CheckSANs}},
		{"server auth usage", clientCSR(t, clientReq, "system:node:worker-3", nodes, setUsages(dsig, sauth)), api.CSRVerdictDeny, []string{CheckUsages}},
		{"weak key", clientCSR(t, with(clientReq, func(r *request) { r.key = "rsa1024" }), "system:node:worker-3", nodes), api.CSRVerdictDeny, []string{CheckKey}},
		{"long duration", clientCSR(t, clientReq, "system:node:worker-3", nodes, setUsages(dsig, cauth), setExpiration(400*86400)), api.CSRVerdictDeny, []string{CheckDuration}},
		{"already approved", clientCSR(t, clientReq, "system:node:worker-3", nodes, setUsages(dsig, cauth), setCondition(certificatesv1.CertificateApproved, nil)), api.CSRVerdictSkip, []string{CheckCondition}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// No Nodes: a client certificate does not need the Node.
			cluster := &fakeCluster{allowed: map[string]bool{
				"system:node:worker-3|selfnodeclient": true,
				"system:node:worker-4|nodeclient":     true,
				"system:bootstrap:abcdef|nodeclient":  true,
				"system:node:worker-1|selfnodeclient": true,
				"kubecerts-admin|nodeclient":          true,
			}}
			r := Review(tt.csr, cluster, Options{MaxDuration: 365 * 24 * time.Hour})
			if r.Verdict != tt.wantVerdict {
				t.Errorf("verdict = %s (%s), want %s", r.Verdict, r.Reason, tt.wantVerdict)
			}
			if got := failedNames(r); !slices.Equal(got, tt.wantFailed) {
				t.Errorf("failed checks = %v, want %v\n%+v", got, tt.wantFailed, r.Checks)
			}
			if !strings.HasPrefix(r.NodeName, "system:node:") && !strings.HasPrefix(r.NodeName, "worker-") && tt.wantFailed == nil {
				t.Errorf("node name = %q", r.NodeName)
			}
		})
	}
}

// TestReviewKubeletClientAuthorization pins the SubjectAccessReviews made:
// selfnodeclient first for a renewal, nodeclient for anyone else, and an
// authorizer that cannot be asked leaves the CSR undecided.
func TestReviewKubeletClientAuthorization(t *testing.T) {
	clientReq := request{cn: "system:node:worker-3", orgs: []string{"system:nodes"}}
	nodes := []string{"system:nodes", "system:authenticated"}
	bootstrap := []string{"system:bootstrappers", "system:authenticated"}

	c := &fakeCluster{}
	r := Review(clientCSR(t, clientReq, "system:node:worker-3", nodes), c, Options{})
	if want := []string{"system:node:worker-3|selfnodeclient", "system:node:worker-3|nodeclient"}; !slices.Equal(c.sars, want) {
		t.Errorf("renewal: SARs %v, want %v", c.sars, want)
	}
	if r.Verdict != api.CSRVerdictDeny || !strings.Contains(r.Reason, `authorization: "system:node:worker-3" may not create certificatesigningrequests/selfnodeclient (no rule allows it) nor certificatesigningrequests/nodeclient`) {
		t.Errorf("renewal refused: %s %s", r.Verdict, r.Reason)
	}

	c = &fakeCluster{}
	Review(clientCSR(t, clientReq, "system:bootstrap:abcdef", bootstrap), c, Options{})
	if want := []string{"system:bootstrap:abcdef|nodeclient"}; !slices.Equal(c.sars, want) {
		t.Errorf("bootstrap: SARs %v, want %v", c.sars, want)
	}

	c = &fakeCluster{authzErr: errors.New("connection refused")}
	r = Review(clientCSR(t, clientReq, "system:bootstrap:abcdef", bootstrap), c, Options{})
	if r.Verdict != api.CSRVerdictSkip || !r.Retryable || !strings.Contains(r.Reason, "connection refused") {
		t.Errorf("authorizer unreachable: %s retryable=%v %s", r.Verdict, r.Retryable, r.Reason)
	}
}

func TestCondition(t *testing.T) {
	csr := &certificatesv1.CertificateSigningRequest{}
	if got := Condition(csr); got != ConditionPending {
		t.Errorf("no conditions: %s", got)
	}
	csr.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionFalse}}
	if got := Condition(csr); got != ConditionPending {
		t.Errorf("Approved=False: %s", got)
	}
	csr.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{
		{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue},
		{Type: certificatesv1.CertificateFailed, Status: corev1.ConditionTrue},
	}
	if got := Condition(csr); got != ConditionFailed {
		t.Errorf("approved then failed: %s", got)
	}
}

func TestNodeName(t *testing.T) {
	for in, want := range map[string]string{"system:node:a": "a", "system:node:": "", "admin": "", "system:nodes": ""} {
		if got, ok := NodeName(in); got != want || ok != (want != "") {
			t.Errorf("NodeName(%q) = %q %v", in, got, ok)
		}
	}
}
