package csrcheck

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
)

// compromisedNodes is testNodes after worker-1, holding only its own
// credentials, patched its Node's status to list whatever it wants to be
// served as: each is its claim, and each must still be refused.
func compromisedNodes() map[string]*corev1.Node {
	nodes := testNodes()
	w1 := nodes["worker-1"]
	w1.Status.Addresses = append(w1.Status.Addresses, []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: "10.96.0.1"},       // the kubernetes Service
		{Type: corev1.NodeInternalIP, Address: "10.0.0.2"},        // the API server
		{Type: corev1.NodeInternalIP, Address: "127.0.0.1"},       // loopback
		{Type: corev1.NodeInternalIP, Address: "::1"},             // loopback
		{Type: corev1.NodeInternalIP, Address: "0.0.0.0"},         // unspecified
		{Type: corev1.NodeInternalIP, Address: "169.254.169.254"}, // link-local: cloud metadata
		{Type: corev1.NodeInternalIP, Address: "fe80::1"},         // link-local
		{Type: corev1.NodeInternalIP, Address: "224.0.0.1"},       // multicast
		{Type: corev1.NodeInternalIP, Address: "255.255.255.255"},
		{Type: corev1.NodeInternalIP, Address: "fd00:96::1"},   // an IPv6 Service IP
		{Type: corev1.NodeInternalIP, Address: "10.0.0.12"},    // worker-2's
		{Type: corev1.NodeExternalIP, Address: "198.51.100.7"}, // outside every node CIDR
		{Type: corev1.NodeInternalDNS, Address: "kubernetes.default.svc"},
		{Type: corev1.NodeInternalDNS, Address: "kubernetes"},
		{Type: corev1.NodeInternalDNS, Address: "worker-1.kube-system.svc"},
		{Type: corev1.NodeInternalDNS, Address: "worker-1.cluster.local"},
		{Type: corev1.NodeInternalDNS, Address: "worker-2"},
		{Type: corev1.NodeInternalDNS, Address: "*.apps.example.com"},
		{Type: corev1.NodeInternalDNS, Address: "*.worker-1"},
		{Type: corev1.NodeInternalDNS, Address: "registry.example.com"},
		{Type: corev1.NodeInternalDNS, Address: "worker-1.shared.example"},
	}...)
	// worker-3 lists a name under worker-1 too: it belongs to neither.
	nodes["worker-3"] = &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "worker-3"}, Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: "10.0.0.13"},
		{Type: corev1.NodeExternalDNS, Address: "Worker-1.Shared.Example."},
	}}}
	return nodes
}

// TestSANRules asks, as worker-1, for one SAN at a time: each must be refused
// by exactly the rules named, whatever worker-1 wrote into its own status.
func TestSANRules(t *testing.T) {
	tests := []struct {
		name  string
		dns   []string
		ips   []string
		opts  Options
		rules map[string][]string // SAN → rules; nil: approved
	}{
		// Always refused, though worker-1 lists them.
		{name: "kubernetes Service ClusterIP", ips: []string{"10.96.0.1"}, rules: map[string][]string{"10.96.0.1": {RuleServiceRange, RuleNodeCIDR}}},
		{name: "kubernetes Service ClusterIP with --trust-node-addresses", ips: []string{"10.96.0.1"}, opts: Options{TrustNodeAddresses: true},
			rules: map[string][]string{"10.96.0.1": {RuleServiceRange}}},
		{name: "IPv6 Service IP", ips: []string{"fd00:96::1"}, rules: map[string][]string{"fd00:96::1": {RuleServiceRange, RuleNodeCIDR}}},
		{name: "IPv4-mapped Service IP", ips: []string{"::ffff:10.96.0.1"}, rules: map[string][]string{"10.96.0.1": {RuleServiceRange, RuleNodeCIDR}}},
		{name: "the API server", ips: []string{"10.0.0.2"}, rules: map[string][]string{"10.0.0.2": {RuleAPIServer}}},
		{name: "IPv4 loopback", ips: []string{"127.0.0.1"}, rules: map[string][]string{"127.0.0.1": {RuleSpecialAddress, RuleNodeCIDR}}},
		{name: "IPv6 loopback", ips: []string{"::1"}, rules: map[string][]string{"::1": {RuleSpecialAddress, RuleNodeCIDR}}},
		{name: "IPv4-mapped loopback", ips: []string{"::ffff:127.0.0.1"}, rules: map[string][]string{"127.0.0.1": {RuleSpecialAddress, RuleNodeCIDR}}},
		{name: "unspecified", ips: []string{"0.0.0.0"}, rules: map[string][]string{"0.0.0.0": {RuleSpecialAddress, RuleNodeCIDR}}},
		{name: "link-local metadata address", ips: []string{"169.254.169.254"}, rules: map[string][]string{"169.254.169.254": {RuleSpecialAddress, RuleNodeCIDR}}},
		{name: "IPv6 link-local", ips: []string{"fe80::1"}, rules: map[string][]string{"fe80::1": {RuleSpecialAddress, RuleNodeCIDR}}},
		{name: "multicast", ips: []string{"224.0.0.1"}, rules: map[string][]string{"224.0.0.1": {RuleSpecialAddress, RuleNodeCIDR}}},
		{name: "broadcast", ips: []string{"255.255.255.255"}, rules: map[string][]string{"255.255.255.255": {RuleSpecialAddress, RuleNodeCIDR}}},
		{name: "special even with --trust-node-addresses", ips: []string{"127.0.0.1"}, opts: Options{TrustNodeAddresses: true},
			rules: map[string][]string{"127.0.0.1": {RuleSpecialAddress}}},
		{name: "worker-2's IP", ips: []string{"10.0.0.12"}, rules: map[string][]string{"10.0.0.12": {RuleOtherNode}}},
		{name: "worker-2's IP with --trust-node-addresses", ips: []string{"10.0.0.12"}, opts: Options{TrustNodeAddresses: true},
			rules: map[string][]string{"10.0.0.12": {RuleOtherNode}}},
		{name: "outside IP", ips: []string{"198.51.100.7"}, rules: map[string][]string{"198.51.100.7": {RuleNodeCIDR}}},
		{name: "outside IP: only the weak mode takes it", ips: []string{"198.51.100.7"}, opts: Options{TrustNodeAddresses: true}},
		{name: "kubernetes.default.svc", dns: []string{"kubernetes.default.svc"},
			rules: map[string][]string{"kubernetes.default.svc": {RuleClusterService, RuleNodeName}}},
		{name: "KUBERNETES.default.svc.cluster.local. (case, trailing dot)", dns: []string{"KUBERNETES.default.svc.cluster.local."},
			rules: map[string][]string{"KUBERNETES.default.svc.cluster.local.": {RuleClusterService, RuleNodeName, RuleNodeAddress}}},
		{name: "kubernetes", dns: []string{"kubernetes"}, rules: map[string][]string{"kubernetes": {RuleClusterService, RuleNodeName}}},
		{name: "a Service under the node's name", dns: []string{"worker-1.kube-system.svc"},
			rules: map[string][]string{"worker-1.kube-system.svc": {RuleClusterService}}},
		{name: "a name in the cluster domain", dns: []string{"worker-1.cluster.local"},
			rules: map[string][]string{"worker-1.cluster.local": {RuleClusterService}}},
		{name: "a name in --cluster-domain", dns: []string{"worker-1.corp.internal"}, opts: Options{ClusterDomain: "Corp.Internal."},
			rules: map[string][]string{"worker-1.corp.internal": {RuleClusterService, RuleNodeAddress}}},
		{name: "worker-2", dns: []string{"worker-2"}, rules: map[string][]string{"worker-2": {RuleNodeName, RuleOtherNode}}},
		{name: "wildcard", dns: []string{"*.apps.example.com"}, rules: map[string][]string{"*.apps.example.com": {RuleWildcard, RuleNodeName}}},
		{name: "wildcard under the node's name", dns: []string{"*.worker-1"}, rules: map[string][]string{"*.worker-1": {RuleWildcard, RuleNodeName}}},
		{name: "an IP address as a DNS name", dns: []string{"10.96.0.1"}, rules: map[string][]string{"10.96.0.1": {RuleInvalidName, RuleNodeName, RuleNodeAddress}}},
		{name: "an inet_aton IPv4 form as a DNS name", dns: []string{"10.1"}, rules: map[string][]string{"10.1": {RuleInvalidName, RuleNodeName, RuleNodeAddress}}},
		{name: "a hex IPv4 form as a DNS name", dns: []string{"0x0a.0.0.1"}, rules: map[string][]string{"0x0a.0.0.1": {RuleInvalidName, RuleNodeName, RuleNodeAddress}}},
		{name: "a name not under the node's", dns: []string{"registry.example.com"}, rules: map[string][]string{"registry.example.com": {RuleNodeName}}},
		{name: "a name another Node lists too (case, trailing dot)", dns: []string{"worker-1.shared.example"},
			rules: map[string][]string{"worker-1.shared.example": {RuleOtherNode}}},
		{name: "not among the Node's names", dns: []string{"worker-1.unlisted.example"},
			rules: map[string][]string{"worker-1.unlisted.example": {RuleNodeAddress}}},
		{name: "--allow-dns refuses an own name it does not match", dns: []string{"worker-1.example.com"},
			opts:  Options{AllowDNS: regexp.MustCompile(`[a-z0-9-]+\.internal\.example`)},
			rules: map[string][]string{"worker-1.example.com": {RuleAllowDNS}}},
		{name: "--allow-dns matches all of a name, not a part of it", dns: []string{"worker-1.example.com"},
			opts:  Options{AllowDNS: regexp.MustCompile(`worker-1|example\.com`)},
			rules: map[string][]string{"worker-1.example.com": {RuleAllowDNS}}},

		// Still approved.
		{name: "own IPv4 in --node-cidr", ips: []string{"10.0.0.11"}},
		{name: "own IPv4 as IPv4-mapped IPv6", ips: []string{"::ffff:10.0.0.11"}},
		{name: "own IPv6", ips: []string{"fd00::11"}},
		{name: "own names, any case, trailing dots", dns: []string{"worker-1.", "WORKER-1.internal.example", "worker-1.example.com."}},
		{name: "--allow-dns matched in full by its second alternative, not stopped at the first",
			dns:  []string{"worker-1.example.com", "worker-1"},
			opts: Options{AllowDNS: regexp.MustCompile(`worker-1|worker-1\.example\.com`)}},
		{name: "several SANs: each refused one named", dns: []string{"worker-1", "kubernetes"}, ips: []string{"10.0.0.11", "10.96.0.1"},
			rules: map[string][]string{"kubernetes": {RuleClusterService, RuleNodeName}, "10.96.0.1": {RuleServiceRange, RuleNodeCIDR}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			if !opts.TrustNodeAddresses && opts.NodeCIDRs == nil {
				opts.NodeCIDRs = testNodeCIDRs
			}
			req := request{cn: "system:node:worker-1", orgs: []string{"system:nodes"}, dns: tt.dns, ips: tt.ips}
			r := Review(servingCSR(t, req), testCluster(compromisedNodes()), opts)
			got := map[string][]string{}
			for _, ref := range r.Refused {
				got[ref.SAN] = append(got[ref.SAN], ref.Rule)
				if ref.Message == "" {
					t.Errorf("refusal of %s by %s has no message", ref.SAN, ref.Rule)
				}
				if !strings.Contains(r.Reason, ref.SAN+": ") || !strings.Contains(r.Reason, ref.Rule+" (") {
					t.Errorf("reason %q does not name %s and %s", r.Reason, ref.SAN, ref.Rule)
				}
			}
			for san, rules := range tt.rules {
				slices.Sort(rules)
				slices.Sort(got[san])
				if !slices.Equal(got[san], rules) {
					t.Errorf("%s refused by %v, want %v\n%s", san, got[san], rules, r.Reason)
				}
			}
			for san := range got {
				if _, ok := tt.rules[san]; !ok {
					t.Errorf("%s refused by %v, want it accepted\n%s", san, got[san], r.Reason)
				}
			}
			want := api.CSRVerdictApprove
			if len(tt.rules) > 0 {
				want = api.CSRVerdictDeny
			}
			if r.Verdict != want {
				t.Errorf("verdict %s, want %s: %s", r.Verdict, want, r.Reason)
			}
		})
	}
}

func TestIsIPLiteral(t *testing.T) {
	for name, want := range map[string]bool{
		"10.96.0.1": true, "10.1": true, "167772161": true, "0x0a.0.0.1": true, "012.0.0.1": true, "::1": true, "fd00::1": true,
		"worker-1": false, "1de.ad": false, "cafe.be": false, "10.0.0.1.example": false, "1.2.3.4.5": false, "0xzz.0.0.1": false, "w.10": false,
	} {
		if got := isIPLiteral(name); got != want {
			t.Errorf("isIPLiteral(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestClaimKey(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.1":          "10.0.0.1",
		"::ffff:10.0.0.1":   "10.0.0.1",
		"FD00::0011":        "fd00::11",
		"Worker-1.Example.": "worker-1.example",
		"worker-1":          "worker-1",
	} {
		if got := ClaimKey(in); got != want {
			t.Errorf("ClaimKey(%q) = %q, want %q", in, got, want)
		}
	}
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "w"}, Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: "::ffff:10.0.0.1"}, {Type: corev1.NodeHostName, Address: "W."}, {Type: corev1.NodeInternalDNS, Address: ""},
	}}}
	if got, want := ClaimKeys(n), []string{"10.0.0.1", "w"}; !slices.Equal(got, want) {
		t.Errorf("ClaimKeys = %v, want %v", got, want)
	}
}
