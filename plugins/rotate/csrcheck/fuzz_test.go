package csrcheck

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
)

// FuzzReview feeds Review arbitrary requests and specs: it must never panic,
// and whatever it approves must meet the rules, checked here again
// independently of the checks. Seeds are in testdata/fuzz/FuzzReview; run
// with go test -fuzz FuzzReview ./plugins/rotate/csrcheck.
func FuzzReview(f *testing.F) {
	f.Add(worker1Req.pem(f), "system:node:worker-1", "system:nodes,system:authenticated", KubeletServing,
		"digital signature,key encipherment,server auth", int32(0))
	nodes := testNodes()
	f.Fuzz(func(t *testing.T, request []byte, username, groups, signer, usages string, expiration int32) {
		csr := &certificatesv1.CertificateSigningRequest{Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    request,
			SignerName: signer,
			Username:   username,
			Groups:     split(groups),
		}}
		for _, u := range split(usages) {
			csr.Spec.Usages = append(csr.Spec.Usages, certificatesv1.KeyUsage(u))
		}
		if expiration != 0 {
			csr.Spec.ExpirationSeconds = &expiration
		}
		r := Review(csr, testCluster(nodes), Options{MaxDuration: 365 * 24 * time.Hour, NodeCIDRs: testNodeCIDRs})

		if r.Reason == "" || len(r.Checks) == 0 {
			t.Fatalf("no reason or no checks: %+v", r)
		}
		for _, c := range r.Checks {
			if c.Name == "" || c.Message == "" {
				t.Fatalf("check without name or message: %+v", c)
			}
		}
		failed := r.Failed()
		switch r.Verdict {
		case api.CSRVerdictApprove:
			if len(failed) > 0 {
				t.Fatalf("approved with failed checks %+v", failed)
			}
			assertApprovable(t, csr, r, nodes)
		case api.CSRVerdictDeny:
			if len(failed) == 0 {
				t.Fatal("denied with every check passed")
			}
		case api.CSRVerdictSkip:
		default:
			t.Fatalf("verdict %q", r.Verdict)
		}
	})
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// assertApprovable re-checks the rules an approved CSR must meet.
func assertApprovable(t *testing.T, csr *certificatesv1.CertificateSigningRequest, r Result, nodes map[string]*corev1.Node) {
	t.Helper()
	req, err := ParseRequest(csr.Spec.Request)
	if err != nil {
		t.Fatalf("approved an unreadable request: %v", err)
	}
	if !slices.Equal(req.Subject.Organization, []string{NodesGroup}) {
		t.Fatalf("approved O=%q", req.Subject.Organization)
	}
	if len(req.EmailAddresses) > 0 || len(req.URIs) > 0 {
		t.Fatal("approved email or URI SANs")
	}
	switch csr.Spec.SignerName {
	case KubeletServing:
		name, ok := NodeName(csr.Spec.Username)
		if !ok || req.Subject.CommonName != csr.Spec.Username || !slices.Contains(csr.Spec.Groups, NodesGroup) {
			t.Fatalf("approved CN %q for user %q groups %q", req.Subject.CommonName, csr.Spec.Username, csr.Spec.Groups)
		}
		node := nodes[name]
		if node == nil {
			t.Fatalf("approved for a missing node %q", name)
		}
		for _, ip := range req.IPAddresses {
			if !slices.ContainsFunc(node.Status.Addresses, func(a corev1.NodeAddress) bool {
				return (a.Type == corev1.NodeInternalIP || a.Type == corev1.NodeExternalIP) && net.ParseIP(a.Address).Equal(ip)
			}) {
				t.Fatalf("approved IP %v not of node %s", ip, name)
			}
			a, _ := netip.AddrFromSlice(ip)
			a = a.Unmap()
			if !slices.ContainsFunc(testNodeCIDRs, func(p netip.Prefix) bool { return p.Contains(a) }) || a.IsLoopback() || a.IsMulticast() ||
				netip.MustParsePrefix("10.96.0.0/12").Contains(a) || a == netip.MustParseAddr("10.0.0.2") {
				t.Fatalf("approved IP %v outside the node CIDRs, special, a Service's or the API server's", ip)
			}
		}
		for _, d := range req.DNSNames {
			k := ClaimKey(d)
			if strings.Contains(k, "*") || strings.Contains(k, "svc") || strings.HasSuffix(k, "cluster.local") ||
				(k != name && !strings.HasPrefix(k, name+".")) {
				t.Fatalf("approved DNS name %q: a wildcard, a Service's, or not under node %s", d, name)
			}
			if k != name && !slices.ContainsFunc(node.Status.Addresses, func(a corev1.NodeAddress) bool {
				return a.Type != corev1.NodeInternalIP && a.Type != corev1.NodeExternalIP && ClaimKey(a.Address) == k
			}) {
				t.Fatalf("approved DNS name %q not of node %s", d, name)
			}
		}
		if len(req.DNSNames)+len(req.IPAddresses) == 0 {
			t.Fatal("approved a serving certificate without SANs")
		}
		if !slices.Contains(csr.Spec.Usages, certificatesv1.UsageServerAuth) {
			t.Fatal("approved without server auth")
		}
	case KubeletClient:
		if _, ok := NodeName(req.Subject.CommonName); !ok {
			t.Fatalf("approved client CN %q", req.Subject.CommonName)
		}
		if len(req.DNSNames)+len(req.IPAddresses) > 0 {
			t.Fatal("approved a client certificate with SANs")
		}
		if !slices.Contains(csr.Spec.Usages, certificatesv1.UsageClientAuth) {
			t.Fatal("approved without client auth")
		}
	default:
		t.Fatalf("approved signer %q", csr.Spec.SignerName)
	}
	for _, u := range csr.Spec.Usages {
		if u != certificatesv1.UsageDigitalSignature && u != certificatesv1.UsageKeyEncipherment &&
			u != certificatesv1.UsageServerAuth && u != certificatesv1.UsageClientAuth {
			t.Fatalf("approved usage %q", u)
		}
	}
	if slices.Contains(csr.Spec.Usages, certificatesv1.UsageServerAuth) && slices.Contains(csr.Spec.Usages, certificatesv1.UsageClientAuth) {
		t.Fatal("approved both server and client auth")
	}
	if e := csr.Spec.ExpirationSeconds; e != nil && (*e <= 0 || int64(*e) > 365*86400) {
		t.Fatalf("approved expirationSeconds %d", *e)
	}
	if r.KeyAlgorithm == "RSA-1024" {
		t.Fatal("approved a 1024-bit RSA key")
	}
}
