package csrcheck

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
)

// The rules a serving certificate's SANs are refused by, as Result.Refused
// names them. The first six hold whatever the flags; the others are the
// operator's policy and the Node's own claim.
const (
	// RuleWildcard: a DNS name with a wildcard.
	RuleWildcard = "wildcard"
	// RuleInvalidName: a DNS name that is not a valid DNS-1123 subdomain,
	// or is an IP address.
	RuleInvalidName = "invalid-name"
	// RuleClusterService: kubernetes, kubernetes.default…, a name under
	// .svc or in the cluster domain.
	RuleClusterService = "cluster-service"
	// RuleServiceRange: an IP inside a Service range.
	RuleServiceRange = "service-range"
	// RuleAPIServer: an IP the API server serves on or clients reach it by,
	// or a host name clients reach it by.
	RuleAPIServer = "apiserver-address"
	// RuleSpecialAddress: a loopback, unspecified, link-local, multicast
	// or broadcast IP.
	RuleSpecialAddress = "special-address"
	// RuleOtherNode: another Node lists the name or IP too: it belongs to
	// neither.
	RuleOtherNode = "other-node"
	// RuleNodeAddress: not among the Node's own addresses (for DNS names,
	// its name, Hostname, InternalDNS and ExternalDNS; for IPs, its
	// InternalIP and ExternalIP).
	RuleNodeAddress = "node-address"
	// RuleNodeName: a DNS name that is neither the node's name nor under
	// it (<node-name>.…).
	RuleNodeName = "node-name"
	// RuleAllowDNS: a DNS name --allow-dns does not match in full.
	RuleAllowDNS = "allow-dns"
	// RuleNodeCIDR: an IP outside every --node-cidr.
	RuleNodeCIDR = "node-cidr"
	// RuleNoNodeCIDR: an IP SAN with neither --node-cidr nor
	// --trust-node-addresses given.
	RuleNoNodeCIDR = "no-node-cidr"
	// RuleResolveDNS: with --resolve-dns, a DNS name that does not resolve,
	// or resolves to an IP that is not among the CSR's IP SANs.
	RuleResolveDNS = "resolve-dns"
)

// ClaimKey is the form in which Cluster.NodesClaiming takes an address: an
// IP in its canonical text form (an IPv4-mapped IPv6 address as IPv4), any
// other name in lower case without a trailing dot.
func ClaimKey(addr string) string {
	if a, err := netip.ParseAddr(addr); err == nil {
		return a.Unmap().WithZone("").String()
	}
	return strings.ToLower(strings.TrimSuffix(addr, "."))
}

// ClaimKeys are the ClaimKeys a Node claims: its name and every one of its
// status.addresses, whatever their type.
func ClaimKeys(node *corev1.Node) []string {
	keys := []string{ClaimKey(node.Name)}
	for _, a := range node.Status.Addresses {
		if a.Address != "" {
			keys = append(keys, ClaimKey(a.Address))
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// sanRules collects the refusals of one SAN check, each SAN's together.
type sanRules struct {
	refused  []api.CSRRefusedSAN
	undecide []string // why a rule could not be applied
}

func (s *sanRules) refuse(san, rule, format string, args ...interface{}) {
	s.refused = append(s.refused, api.CSRRefusedSAN{SAN: san, Rule: rule, Message: fmt.Sprintf(format, args...)})
}

// refuses reports whether a rule refused san already.
func (s *sanRules) refuses(san string) bool {
	return slices.ContainsFunc(s.refused, func(r api.CSRRefusedSAN) bool { return r.SAN == san })
}

func (s *sanRules) undecided(format string, args ...interface{}) {
	s.undecide = append(s.undecide, fmt.Sprintf(format, args...))
}

// report adds the check: failed naming every refused SAN with its rules,
// undecided when a rule could not be applied and nothing was refused, else
// passed with passMsg.
func (rv *reviewer) report(check string, s *sanRules, passMsg string) {
	if len(s.refused) > 0 {
		var parts []string
		for i, r := range s.refused {
			rule := r.Rule + " (" + r.Message + ")"
			if i > 0 && s.refused[i-1].SAN == r.SAN {
				parts[len(parts)-1] += ", " + rule
				continue
			}
			parts = append(parts, r.SAN+": "+rule)
		}
		msg := "refused " + strings.Join(parts, "; ")
		if len(s.undecide) > 0 {
			msg += "; also " + strings.Join(s.undecide, "; ")
		}
		rv.res.Refused = append(rv.res.Refused, s.refused...)
		rv.add(check, false, "%s", msg)
		return
	}
	if len(s.undecide) > 0 {
		rv.undecid = append(rv.undecid, check)
		rv.add(check, false, "%s", strings.Join(s.undecide, "; "))
		return
	}
	rv.add(check, true, "%s", passMsg)
}

// others are the Nodes other than node that claim key.
func (rv *reviewer) others(node *corev1.Node, key string, s *sanRules) []string {
	names, err := rv.cluster.NodesClaiming(key)
	if err != nil {
		s.undecided("cannot tell whether other Nodes list %s: %v", key, err)
		return nil
	}
	var out []string
	for _, n := range names {
		if n != node.Name {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// specialIP names what kind of special address a is, or "".
func specialIP(a netip.Addr) string {
	switch {
	case a.IsLoopback():
		return "loopback"
	case a.IsUnspecified():
		return "unspecified"
	case a.IsLinkLocalUnicast():
		return "link-local"
	case a.IsMulticast():
		return "multicast"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "broadcast"
	}
	return ""
}

func (rv *reviewer) ipSANs(node *corev1.Node) {
	if rv.unreadable(CheckIPSANs) {
		return
	}
	ips := rv.res.Request.IPAddresses
	if len(ips) == 0 {
		rv.add(CheckIPSANs, true, "no IP SANs")
		return
	}
	if rv.nodeUnknown(CheckIPSANs, node, "IP SANs") {
		return
	}
	var own []netip.Addr
	for _, a := range node.Status.Addresses {
		if a.Type == corev1.NodeInternalIP || a.Type == corev1.NodeExternalIP {
			if ip, err := netip.ParseAddr(a.Address); err == nil {
				own = append(own, ip.Unmap().WithZone(""))
			}
		}
	}
	s := &sanRules{}
	ranges, err := rv.cluster.ServiceRanges()
	if err != nil {
		s.undecided("cannot read the Service ranges: %v", err)
	}
	apiAddrs, err := rv.cluster.APIServerAddresses()
	if err != nil {
		s.undecided("cannot read the API server's addresses: %v", err)
	}
	var good []string
	for _, raw := range ips {
		a, ok := netip.AddrFromSlice(raw)
		if !ok {
			s.refuse(raw.String(), RuleSpecialAddress, "not an IP address")
			continue
		}
		a = a.Unmap()
		san := a.String()
		if kind := specialIP(a); kind != "" {
			s.refuse(san, RuleSpecialAddress, "a %s address", kind)
		}
		for _, r := range ranges {
			if r.Contains(a) {
				s.refuse(san, RuleServiceRange, "inside the Service range %s", r)
				break
			}
		}
		if slices.Contains(apiAddrs, a) {
			s.refuse(san, RuleAPIServer, "an address of the API server, or one clients reach it by")
		}
		if others := rv.others(node, san, s); len(others) > 0 {
			s.refuse(san, RuleOtherNode, "also listed by Node %s", strings.Join(others, ", "))
		}
		if !slices.Contains(own, a) {
			s.refuse(san, RuleNodeAddress, "not among Node %s's InternalIP/ExternalIP addresses %s", node.Name, addrList(own))
		}
		switch {
		case len(rv.opts.NodeCIDRs) > 0:
			if !slices.ContainsFunc(rv.opts.NodeCIDRs, func(p netip.Prefix) bool { return p.Contains(a) }) {
				s.refuse(san, RuleNodeCIDR, "outside every --node-cidr %s", prefixList(rv.opts.NodeCIDRs))
			}
		case !rv.opts.TrustNodeAddresses:
			s.refuse(san, RuleNoNodeCIDR, "IP SANs need --node-cidr (--trust-node-addresses takes the Node's word)")
		}
		good = append(good, san)
	}
	how := "inside --node-cidr " + prefixList(rv.opts.NodeCIDRs)
	if len(rv.opts.NodeCIDRs) == 0 {
		how = "trusted as the Node's own (--trust-node-addresses)"
	}
	rv.report(CheckIPSANs, s, fmt.Sprintf("%s: addresses of Node %s, %s, outside the Service ranges, of no other Node",
		strings.Join(good, ", "), node.Name, how))
}

func addrList(ips []netip.Addr) string {
	s := make([]string, 0, len(ips))
	for _, ip := range ips {
		s = append(s, ip.String())
	}
	return "[" + strings.Join(s, " ") + "]"
}

func prefixList(ps []netip.Prefix) string {
	s := make([]string, 0, len(ps))
	for _, p := range ps {
		s = append(s, p.String())
	}
	return "[" + strings.Join(s, " ") + "]"
}

// clusterServiceName reports whether name (lower case, no trailing dot)
// is one a cluster Service answers to.
func clusterServiceName(name, domain string) bool {
	switch {
	case name == "kubernetes", name == "kubernetes.default", strings.HasPrefix(name, "kubernetes.default."):
		return true
	case strings.HasSuffix(name, ".svc"), strings.Contains(name, ".svc."):
		return true
	case name == domain, strings.HasSuffix(name, "."+domain):
		return true
	}
	return false
}

func (rv *reviewer) dnsSANs(node *corev1.Node) {
	if rv.unreadable(CheckDNSSANs) {
		return
	}
	names := rv.res.Request.DNSNames
	if len(names) == 0 {
		rv.add(CheckDNSSANs, true, "no DNS SANs")
		return
	}
	if rv.nodeUnknown(CheckDNSSANs, node, "DNS SANs") {
		return
	}
	nodeName := strings.ToLower(node.Name)
	own := []string{nodeName}
	for _, a := range node.Status.Addresses {
		switch a.Type {
		case corev1.NodeHostName, corev1.NodeInternalDNS, corev1.NodeExternalDNS:
			own = append(own, ClaimKey(a.Address))
		}
	}
	slices.Sort(own)
	own = slices.Compact(own)
	domain := ClaimKey(rv.opts.ClusterDomain)
	if domain == "" {
		domain = DefaultClusterDomain
	}
	var csrIPs []netip.Addr
	for _, ip := range rv.res.Request.IPAddresses {
		if a, ok := netip.AddrFromSlice(ip); ok {
			csrIPs = append(csrIPs, a.Unmap())
		}
	}
	allow := anchored(rv.opts.AllowDNS)
	s := &sanRules{}
	apiNames, err := rv.cluster.APIServerNames()
	if err != nil {
		s.undecided("cannot read the names clients reach the API server by: %v", err)
	}
	for _, raw := range names {
		name := ClaimKey(raw)
		switch {
		case strings.Contains(name, "*"):
			s.refuse(raw, RuleWildcard, "a wildcard")
		case len(validation.IsDNS1123Subdomain(name)) > 0:
			s.refuse(raw, RuleInvalidName, "not a valid DNS name")
		case isIPLiteral(name):
			// Some clients match an IP host against DNS SANs too.
			s.refuse(raw, RuleInvalidName, "an IP address as a DNS name")
		}
		if slices.Contains(apiNames, name) {
			s.refuse(raw, RuleAPIServer, "a name clients reach the API server by")
		}
		if clusterServiceName(name, domain) {
			s.refuse(raw, RuleClusterService, "a name of cluster Services (kubernetes, kubernetes.default…, .svc, %s)", domain)
		}
		if name != nodeName && !strings.HasPrefix(name, nodeName+".") {
			s.refuse(raw, RuleNodeName, "neither the node name %s nor under %s.", nodeName, nodeName)
		}
		if others := rv.others(node, name, s); len(others) > 0 {
			s.refuse(raw, RuleOtherNode, "also the name or an address of Node %s", strings.Join(others, ", "))
		}
		if !slices.Contains(own, name) {
			s.refuse(raw, RuleNodeAddress, "not among Node %s's names (node name, Hostname, InternalDNS, ExternalDNS) [%s]",
				node.Name, strings.Join(own, " "))
		}
		if allow != nil && !allow.MatchString(name) {
			s.refuse(raw, RuleAllowDNS, "not matched by --allow-dns %q", rv.opts.AllowDNS.String())
		}
		if rv.opts.Resolve != nil && !s.refuses(raw) {
			rv.resolve(raw, name, csrIPs, s)
		}
	}
	msg := fmt.Sprintf("%s: names of Node %s, under its name, of no cluster Service and no other Node", strings.Join(names, ", "), node.Name)
	if rv.opts.AllowDNS != nil {
		msg += fmt.Sprintf(", matched by --allow-dns %q", rv.opts.AllowDNS.String())
	}
	if rv.opts.Resolve != nil {
		msg += ", resolving only to the CSR's IP SANs"
	}
	rv.report(CheckDNSSANs, s, msg)
}

// resolve applies --resolve-dns to one DNS SAN.
func (rv *reviewer) resolve(raw, name string, csrIPs []netip.Addr, s *sanRules) {
	addrs, err := rv.opts.Resolve(name)
	if err != nil {
		s.refuse(raw, RuleResolveDNS, "does not resolve: %v", err)
		return
	}
	if len(addrs) == 0 {
		s.refuse(raw, RuleResolveDNS, "resolves to no address")
		return
	}
	var outside []string
	for _, a := range addrs {
		if !slices.Contains(csrIPs, a.Unmap().WithZone("")) {
			outside = append(outside, a.String())
		}
	}
	if len(outside) > 0 {
		s.refuse(raw, RuleResolveDNS, "resolves to %s, not among the CSR's IP SANs %s", strings.Join(outside, ", "), addrList(csrIPs))
	}
}

// isIPLiteral reports whether name is an IP address, or an IPv4 address in
// a form inet_aton still reads (10.1, 0x0a.0.0.1, 012.0.0.1).
func isIPLiteral(name string) bool {
	if _, err := netip.ParseAddr(name); err == nil {
		return true
	}
	labels := strings.Split(name, ".")
	if len(labels) > 4 {
		return false
	}
	for _, label := range labels {
		digits, hex := label, "0123456789"
		if h, ok := strings.CutPrefix(strings.ToLower(label), "0x"); ok {
			digits, hex = h, "0123456789abcdef"
		}
		if digits == "" && label != "0x" || strings.Trim(digits, hex) != "" {
			return false
		}
	}
	return true
}

// anchored is re matched in full: Go's regexp prefers the leftmost
// alternative, not the longest (`w1|w1\.example` finds "w1" in
// "w1.example"), so a match found in a name may stop short where another
// covers it; anchored at both ends, it cannot. re is the operator's
// expression, which compiled already; in a group it compiles too (nil for
// nil, and for the impossible failure: a name is then refused).
func anchored(re *regexp.Regexp) *regexp.Regexp {
	if re == nil {
		return nil
	}
	a, err := regexp.Compile(`^(?:` + re.String() + `)$`)
	if err != nil {
		return regexp.MustCompile(`^\b\B$`) // matches nothing
	}
	return a
}
