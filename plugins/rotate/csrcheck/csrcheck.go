// Package csrcheck decides whether a kubelet's CertificateSigningRequest may
// be approved. Review runs every named check on one CSR, given what it may
// read of the cluster (a Cluster), and returns a verdict with each check's
// result. It is pure: it reads nothing but what it is given, writes nothing,
// and never looks at a private key (a CSR has none).
//
// For kubernetes.io/kubelet-serving the CSR must come from the node it
// names, and every name it asks for must pass rules no node can change. A
// kubelet writes its own Node's status, so the Node's addresses are its
// claim, not proof: being among them is necessary, never sufficient. Names
// of cluster Services, IPs in the Service ranges or of the API server,
// loopback and other special addresses, wildcards, and names another Node
// also lists are always refused; IP SANs must also lie inside an operator's
// node CIDR (Options.NodeCIDRs) unless Options.TrustNodeAddresses, and DNS
// SANs must be the node's name or under it. For
// kubernetes.io/kube-apiserver-client-kubelet it must be a node client
// certificate, requested by that node or by a bootstrapper, whom the API
// server authorizes (a SubjectAccessReview, as kube-controller-manager
// makes). Any other signer is not decided here (verdict skip).
package csrcheck

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/duration"
)

// Signers kubecerts checks.
const (
	KubeletServing = certificatesv1.KubeletServingSignerName
	KubeletClient  = certificatesv1.KubeAPIServerClientKubeletSignerName
)

// Identities of nodes and bootstrapping kubelets.
const (
	NodeUserPrefix     = "system:node:"
	NodesGroup         = "system:nodes"
	BootstrappersGroup = "system:bootstrappers"
)

// Check names, in the order Review makes them.
const (
	CheckSigner    = "signer"
	CheckRequest   = "request"
	CheckRequestor = "requestor"
	CheckAuthz     = "authorization"
	CheckSubject   = "subject"
	CheckNode      = "node"
	CheckIPSANs    = "ip-sans"
	CheckDNSSANs   = "dns-sans"
	CheckSANs      = "sans"
	CheckUsages    = "usages"
	CheckKey       = "key"
	CheckDuration  = "duration"
	CheckCondition = "condition"
)

// Conditions as Condition reports them.
const (
	ConditionPending  = "Pending"
	ConditionApproved = "Approved"
	ConditionIssued   = "Issued"
	ConditionDenied   = "Denied"
	ConditionFailed   = "Failed"
)

// Cluster is what Review reads of the cluster besides the CSR. An error
// from any method makes the checks that need its answer undecided
// (Result.Retryable) unless they fail for another reason.
type Cluster interface {
	// Node returns the Node of that name, or an error for which
	// apierrors.IsNotFound is true when there is no such Node.
	Node(name string) (*corev1.Node, error)
	// NodesClaiming returns the names of the Nodes that claim addr, a
	// ClaimKey: that list it in status.addresses or, for a DNS name, are
	// named so (see ClaimKeys).
	NodesClaiming(addr string) ([]string, error)
	// ServiceRanges are the ranges Service ClusterIPs are allocated from.
	ServiceRanges() ([]netip.Prefix, error)
	// APIServerAddresses are the addresses the API server serves on, and
	// those clients reach it by (a load balancer's, a VIP's).
	APIServerAddresses() ([]netip.Addr, error)
	// APIServerNames are the host names clients reach the API server by,
	// as ClaimKeys.
	APIServerNames() ([]string, error)
	// Authorize asks the API server whether the CSR's requestor (its
	// username, UID, groups and extra) may create
	// certificatesigningrequests/<subresource> in certificates.k8s.io: a
	// SubjectAccessReview. reason is the authorizer's, when it gives one.
	Authorize(csr *certificatesv1.CertificateSigningRequest, subresource string) (allowed bool, reason string, err error)
}

// Options are the operator's policy.
type Options struct {
	// MaxDuration bounds spec.expirationSeconds when it is set; 0 means no
	// bound.
	MaxDuration time.Duration
	// AllowDNS, when set, is matched in full against every DNS SAN (lower
	// case, no trailing dot), which must also pass every other rule: it
	// narrows what is approved, never widens it.
	AllowDNS *regexp.Regexp
	// ClusterDomain is the cluster's DNS domain: names in it are refused.
	// Empty means DefaultClusterDomain.
	ClusterDomain string
	// NodeCIDRs are the ranges node IPs come from: every IP SAN must lie in
	// one. Without any, IP SANs are refused unless TrustNodeAddresses.
	NodeCIDRs []netip.Prefix
	// TrustNodeAddresses accepts IP SANs on the strength of the Node's own
	// addresses (and the rules every SAN meets) when NodeCIDRs is empty: the
	// weak mode, since a node writes its own addresses.
	TrustNodeAddresses bool
	// Resolve, when set, looks a DNS name up: every DNS SAN must resolve,
	// and only to IP SANs of the same CSR.
	Resolve func(name string) ([]netip.Addr, error)
}

// DefaultClusterDomain is the cluster DNS domain when Options.ClusterDomain
// is empty.
const DefaultClusterDomain = "cluster.local"

// Result is the outcome of Review.
type Result struct {
	// Verdict is approve when every check passed, deny when one failed, skip
	// when it is not for kubecerts to decide (see api.CSRVerdict).
	Verdict api.CSRVerdict
	// Reason explains the verdict in one line.
	Reason string
	// Checks are every check made, in order.
	Checks []api.CSRCheck
	// NodeName is the node the CSR is for, when one can be told (from the
	// requestor, else from the subject's CN).
	NodeName string
	// Request is the parsed request; nil when it cannot be read.
	Request *x509.CertificateRequest
	// KeyAlgorithm names the requested key: RSA-2048, ECDSA-P-256, Ed25519.
	KeyAlgorithm string
	// Condition is the CSR's state: Pending, Approved, Issued, Denied, Failed.
	Condition string
	// Refused lists every SAN refused and each rule that refused it, in
	// the order of the CSR's DNS names then IPs.
	Refused []api.CSRRefusedSAN
	// Retryable is true when a check could not be made (the Node lookup
	// failed for another reason than NotFound) and nothing failed for sure:
	// the verdict is skip, and reviewing later may decide.
	Retryable bool
}

// Failed lists the checks that did not pass.
func (r *Result) Failed() []api.CSRCheck {
	var out []api.CSRCheck
	for _, c := range r.Checks {
		if !c.Passed {
			out = append(out, c)
		}
	}
	return out
}

// Contested reports whether the CSR was refused only because other Nodes
// list its names or addresses too (RuleOtherNode, and no other rule or
// check failed). That keeps it from approval, but it rests on what another
// Node wrote into its own status, so it is no ground to deny the CSR: a
// node could otherwise get the renewals of any other node denied by listing
// that node's addresses as its own.
func (r *Result) Contested() bool {
	if r.Verdict != api.CSRVerdictDeny || len(r.Refused) == 0 {
		return false
	}
	for _, c := range r.Failed() {
		if c.Name != CheckIPSANs && c.Name != CheckDNSSANs {
			return false
		}
	}
	for _, ref := range r.Refused {
		if ref.Rule != RuleOtherNode {
			return false
		}
	}
	return true
}

// CheckNames lists the names of the checks made, comma-separated.
func (r *Result) CheckNames() string {
	names := make([]string, 0, len(r.Checks))
	for _, c := range r.Checks {
		names = append(names, c.Name)
	}
	return strings.Join(names, ", ")
}

// Condition is the CSR's state: Denied, Failed, Issued (approved and
// signed), Approved or Pending.
func Condition(csr *certificatesv1.CertificateSigningRequest) string {
	var approved, denied, failed bool
	for _, c := range csr.Status.Conditions {
		if c.Status == corev1.ConditionFalse {
			continue
		}
		switch c.Type {
		case certificatesv1.CertificateApproved:
			approved = true
		case certificatesv1.CertificateDenied:
			denied = true
		case certificatesv1.CertificateFailed:
			failed = true
		}
	}
	switch {
	case denied:
		return ConditionDenied
	case failed:
		return ConditionFailed
	case approved && len(csr.Status.Certificate) > 0:
		return ConditionIssued
	case approved:
		return ConditionApproved
	}
	return ConditionPending
}

// NodeName returns the node name of a node's user name, system:node:<name>,
// and whether it is one.
func NodeName(user string) (string, bool) {
	name, ok := strings.CutPrefix(user, NodeUserPrefix)
	if !ok || name == "" {
		return "", false
	}
	return name, true
}

// ParseRequest decodes spec.request: the first PEM block must be a
// CERTIFICATE REQUEST whose signature verifies with its own key.
func ParseRequest(data []byte) (*x509.CertificateRequest, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("not PEM")
	}
	if block.Type != "CERTIFICATE REQUEST" {
		return nil, fmt.Errorf("a PEM block of type %q, not CERTIFICATE REQUEST", block.Type)
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("cannot parse the CERTIFICATE REQUEST: %v", err)
	}
	if err := req.CheckSignature(); err != nil {
		return nil, fmt.Errorf("the request's signature does not verify: %v", err)
	}
	return req, nil
}

// KeyAlgorithm names a public key: RSA-2048, ECDSA-P-256, Ed25519, or the
// algorithm's name for others.
func KeyAlgorithm(req *x509.CertificateRequest) string {
	switch k := req.PublicKey.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA-%d", k.N.BitLen())
	case *ecdsa.PublicKey:
		if k.Curve == nil {
			return "ECDSA"
		}
		return "ECDSA-" + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return req.PublicKeyAlgorithm.String()
}

// reviewer holds what the checks of one CSR share.
type reviewer struct {
	csr     *certificatesv1.CertificateSigningRequest
	cluster Cluster
	opts    Options
	res     Result
	reqErr  error
	undecid []string // checks that could not be made
}

func (rv *reviewer) add(name string, passed bool, format string, args ...interface{}) {
	rv.res.Checks = append(rv.res.Checks, api.CSRCheck{Name: name, Passed: passed, Message: fmt.Sprintf(format, args...)})
}

// Review runs every check for csr's signer and returns the verdict. cluster
// may be nil: the checks that need it are then undecided. It never panics on
// malformed input.
func Review(csr *certificatesv1.CertificateSigningRequest, cluster Cluster, opts Options) Result {
	rv := &reviewer{csr: csr, cluster: cluster, opts: opts}
	rv.res.Condition = Condition(csr)
	rv.res.Request, rv.reqErr = ParseRequest(csr.Spec.Request)
	if rv.res.Request != nil {
		rv.res.KeyAlgorithm = KeyAlgorithm(rv.res.Request)
	}

	signer := csr.Spec.SignerName
	switch signer {
	case KubeletServing:
		rv.add(CheckSigner, true, "%s: checked as a kubelet serving certificate", signer)
		rv.request()
		rv.servingRequestor()
		rv.subject(true)
		node := rv.node()
		rv.ipSANs(node)
		rv.dnsSANs(node)
		rv.servingSANs()
		rv.usages(certificatesv1.UsageServerAuth)
		rv.key()
		rv.duration()
	case KubeletClient:
		rv.add(CheckSigner, true, "%s: checked as a kubelet client certificate", signer)
		rv.request()
		rv.subject(false)
		rv.clientRequestor()
		rv.authorization()
		rv.clientSANs()
		rv.usages(certificatesv1.UsageClientAuth)
		rv.key()
		rv.duration()
	default:
		rv.add(CheckSigner, false, "%q is not a kubelet signer: kubecerts checks only %s and %s; approve it by name with --force", signer, KubeletServing, KubeletClient)
		rv.request()
	}
	rv.condition()
	rv.verdict()
	return rv.res
}

func (rv *reviewer) verdict() {
	r := &rv.res
	failed := r.Failed()
	switch {
	case r.Condition != ConditionPending:
		r.Verdict, r.Reason = api.CSRVerdictSkip, "already "+r.Condition
	case rv.csr.Spec.SignerName != KubeletServing && rv.csr.Spec.SignerName != KubeletClient:
		r.Verdict, r.Reason = api.CSRVerdictSkip, fmt.Sprintf("signer %q is not checked by kubecerts", rv.csr.Spec.SignerName)
	case len(rv.undecid) > 0 && len(rv.undecid) == len(failed):
		r.Verdict, r.Reason, r.Retryable = api.CSRVerdictSkip, "undecided: "+failed[0].Message, true
	case len(failed) > 0:
		msgs := make([]string, 0, len(failed))
		for _, c := range failed {
			msgs = append(msgs, c.Name+": "+c.Message)
		}
		r.Verdict, r.Reason = api.CSRVerdictDeny, strings.Join(msgs, "; ")
	default:
		r.Verdict, r.Reason = api.CSRVerdictApprove, fmt.Sprintf("all %d checks passed", len(r.Checks))
	}
}

func (rv *reviewer) request() {
	if rv.reqErr != nil {
		rv.add(CheckRequest, false, "%v", rv.reqErr)
		return
	}
	rv.add(CheckRequest, true, "a CERTIFICATE REQUEST whose signature verifies")
}

// unreadable fails a check that needs the request when it cannot be read.
func (rv *reviewer) unreadable(name string) bool {
	if rv.res.Request == nil {
		rv.add(name, false, "the request cannot be read")
		return true
	}
	return false
}

func (rv *reviewer) servingRequestor() {
	user, groups := rv.csr.Spec.Username, rv.csr.Spec.Groups
	name, isNode := NodeName(user)
	switch {
	case !isNode:
		rv.add(CheckRequestor, false, "requested by %q, not by a node (%s<name>)", user, NodeUserPrefix)
	case !slices.Contains(groups, NodesGroup):
		rv.add(CheckRequestor, false, "requested by %q, which is not in the group %s", user, NodesGroup)
	default:
		rv.res.NodeName = name
		rv.add(CheckRequestor, true, "requested by %s in %s", user, NodesGroup)
	}
}

// subject checks CN and O; for serving certificates CN must be the
// requestor, for client certificates any node's name (the requestor check
// ties it to who asked).
func (rv *reviewer) subject(mustBeRequestor bool) {
	if rv.unreadable(CheckSubject) {
		return
	}
	subj := rv.res.Request.Subject
	cn, orgs := subj.CommonName, subj.Organization
	cnNode, cnIsNode := NodeName(cn)
	if rv.res.NodeName == "" && cnIsNode {
		rv.res.NodeName = cnNode
	}
	var problems []string
	if mustBeRequestor && cn != rv.csr.Spec.Username {
		problems = append(problems, fmt.Sprintf("CN %q is not the requestor %q", cn, rv.csr.Spec.Username))
	}
	if !mustBeRequestor && !cnIsNode {
		problems = append(problems, fmt.Sprintf("CN %q is not %s<name>", cn, NodeUserPrefix))
	}
	if !slices.Equal(orgs, []string{NodesGroup}) {
		problems = append(problems, fmt.Sprintf("O %q is not exactly [%s]", orgs, NodesGroup))
	}
	if len(problems) > 0 {
		rv.add(CheckSubject, false, "%s", strings.Join(problems, "; "))
		return
	}
	rv.add(CheckSubject, true, "CN=%s, O=%s", cn, NodesGroup)
}

func (rv *reviewer) node() *corev1.Node {
	name := rv.res.NodeName
	if name == "" {
		rv.add(CheckNode, false, "no node name in the requestor or the CN")
		return nil
	}
	if rv.cluster == nil {
		rv.undecid = append(rv.undecid, CheckNode)
		rv.add(CheckNode, false, "cannot look up Node %s", name)
		return nil
	}
	node, err := rv.cluster.Node(name)
	switch {
	case apierrors.IsNotFound(err):
		rv.add(CheckNode, false, "Node %s does not exist", name)
		return nil
	case err != nil:
		rv.undecid = append(rv.undecid, CheckNode)
		rv.add(CheckNode, false, "cannot look up Node %s: %v", name, err)
		return nil
	case node == nil:
		rv.add(CheckNode, false, "Node %s does not exist", name)
		return nil
	}
	rv.add(CheckNode, true, "Node %s exists", name)
	return node
}

// nodeUnknown fails a check that needs the Node when there is none.
func (rv *reviewer) nodeUnknown(name string, node *corev1.Node, what string) bool {
	if node != nil {
		return false
	}
	if len(rv.undecid) > 0 {
		rv.undecid = append(rv.undecid, name)
		rv.add(name, false, "cannot check %s without the Node", what)
	} else {
		rv.add(name, false, "no Node to check %s against", what)
	}
	return true
}

func (rv *reviewer) servingSANs() {
	if rv.unreadable(CheckSANs) {
		return
	}
	req := rv.res.Request
	var problems []string
	if len(req.DNSNames)+len(req.IPAddresses) == 0 {
		problems = append(problems, "no DNS or IP SAN")
	}
	if len(req.EmailAddresses) > 0 {
		problems = append(problems, fmt.Sprintf("email SANs %q", req.EmailAddresses))
	}
	if len(req.URIs) > 0 {
		problems = append(problems, fmt.Sprintf("URI SANs %q", uriStrings(req)))
	}
	if len(problems) > 0 {
		rv.add(CheckSANs, false, "%s", strings.Join(problems, "; "))
		return
	}
	rv.add(CheckSANs, true, "%d DNS and %d IP SANs, no email or URI SANs", len(req.DNSNames), len(req.IPAddresses))
}

func (rv *reviewer) clientSANs() {
	if rv.unreadable(CheckSANs) {
		return
	}
	req := rv.res.Request
	if n := len(req.DNSNames) + len(req.IPAddresses) + len(req.EmailAddresses) + len(req.URIs); n > 0 {
		rv.add(CheckSANs, false, "%d SANs; a client certificate has none", n)
		return
	}
	rv.add(CheckSANs, true, "no SANs")
}

func uriStrings(req *x509.CertificateRequest) []string {
	out := make([]string, 0, len(req.URIs))
	for _, u := range req.URIs {
		out = append(out, u.String())
	}
	return out
}

// usages checks that spec.usages are within digital signature, key
// encipherment and the one extended usage, which must be present.
func (rv *reviewer) usages(required certificatesv1.KeyUsage) {
	allowed := []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, required}
	var extra []string
	for _, u := range rv.csr.Spec.Usages {
		if !slices.Contains(allowed, u) {
			extra = append(extra, string(u))
		}
	}
	has := slices.Contains(rv.csr.Spec.Usages, required)
	switch {
	case len(extra) > 0 && !has:
		rv.add(CheckUsages, false, "%q not allowed and %q missing", extra, required)
	case len(extra) > 0:
		rv.add(CheckUsages, false, "%q not allowed: only digital signature, key encipherment and %s", extra, required)
	case !has:
		rv.add(CheckUsages, false, "%q missing", required)
	default:
		rv.add(CheckUsages, true, "%s", usageList(rv.csr.Spec.Usages))
	}
}

func usageList(us []certificatesv1.KeyUsage) string {
	s := make([]string, 0, len(us))
	for _, u := range us {
		s = append(s, string(u))
	}
	return strings.Join(s, ", ")
}

func (rv *reviewer) key() {
	if rv.unreadable(CheckKey) {
		return
	}
	alg := rv.res.KeyAlgorithm
	switch k := rv.res.Request.PublicKey.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() >= 2048 {
			rv.add(CheckKey, true, "%s", alg)
			return
		}
		rv.add(CheckKey, false, "%s: RSA keys must have at least 2048 bits", alg)
		return
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() || k.Curve == elliptic.P384() {
			rv.add(CheckKey, true, "%s", alg)
			return
		}
	case ed25519.PublicKey:
		rv.add(CheckKey, true, "%s", alg)
		return
	}
	rv.add(CheckKey, false, "%s: use RSA of at least 2048 bits, ECDSA P-256 or P-384, or Ed25519", alg)
}

func (rv *reviewer) duration() {
	exp := rv.csr.Spec.ExpirationSeconds
	switch {
	case exp == nil:
		rv.add(CheckDuration, true, "not set: the signer's default")
	case *exp <= 0:
		rv.add(CheckDuration, false, "expirationSeconds %d is not positive", *exp)
	case rv.opts.MaxDuration > 0 && time.Duration(*exp)*time.Second > rv.opts.MaxDuration:
		rv.add(CheckDuration, false, "%s requested, more than --max-duration %s",
			duration.Format(time.Duration(*exp)*time.Second), duration.Format(rv.opts.MaxDuration))
	default:
		rv.add(CheckDuration, true, "%s requested", duration.Format(time.Duration(*exp)*time.Second))
	}
}

func (rv *reviewer) condition() {
	if c := rv.res.Condition; c != ConditionPending {
		rv.add(CheckCondition, false, "already %s", c)
		return
	}
	rv.add(CheckCondition, true, "pending")
}

func (rv *reviewer) clientRequestor() {
	user, groups := rv.csr.Spec.Username, rv.csr.Spec.Groups
	switch {
	case slices.Contains(groups, BootstrappersGroup):
		rv.add(CheckRequestor, true, "requested by %s in %s (a new node)", user, BootstrappersGroup)
	case rv.res.Request != nil && user == rv.res.Request.Subject.CommonName && slices.Contains(groups, NodesGroup):
		rv.add(CheckRequestor, true, "requested by %s itself in %s (a renewal)", user, NodesGroup)
	case rv.res.Request != nil && user == rv.res.Request.Subject.CommonName:
		rv.add(CheckRequestor, false, "requested by %q, which is not in the group %s", user, NodesGroup)
	default:
		rv.add(CheckRequestor, false, "requested by %q: neither the node named in the CN nor a member of %s", user, BootstrappersGroup)
	}
}

// SubjectAccessReview subresources of certificatesigningrequests that
// kube-controller-manager's approver checks, and so does Review: a node
// renewing its own client certificate (selfnodeclient), anyone else asking
// for a new node's (nodeclient).
const (
	SubresourceNodeClient     = "nodeclient"
	SubresourceSelfNodeClient = "selfnodeclient"
)

// authorization asks the API server whether the requestor may have a node
// client certificate, as kube-controller-manager does before it approves
// one: create on certificatesigningrequests/selfnodeclient for a node
// renewing its own (CN = requestor), else (or when that is not allowed)
// certificatesigningrequests/nodeclient. The requestor's groups, say
// system:bootstrappers, are its identity as authenticated, but only the
// authorizer says what that identity may do.
func (rv *reviewer) authorization() {
	user := rv.csr.Spec.Username
	if rv.cluster == nil {
		rv.undecid = append(rv.undecid, CheckAuthz)
		rv.add(CheckAuthz, false, "cannot ask the API server whether %q may have a node client certificate", user)
		return
	}
	subs := []string{SubresourceNodeClient}
	if rv.res.Request != nil && user == rv.res.Request.Subject.CommonName {
		subs = []string{SubresourceSelfNodeClient, SubresourceNodeClient}
	}
	var denied []string
	for _, sub := range subs {
		allowed, reason, err := rv.cluster.Authorize(rv.csr, sub)
		if err != nil {
			rv.undecid = append(rv.undecid, CheckAuthz)
			rv.add(CheckAuthz, false, "cannot ask the API server whether %q may create certificatesigningrequests/%s: %v", user, sub, err)
			return
		}
		if allowed {
			rv.add(CheckAuthz, true, "%s may create certificatesigningrequests/%s (SubjectAccessReview)", user, sub)
			return
		}
		if reason == "" {
			reason = "no rule allows it"
		}
		denied = append(denied, fmt.Sprintf("certificatesigningrequests/%s (%s)", sub, reason))
	}
	rv.add(CheckAuthz, false, "%q may not create %s: SubjectAccessReview denied", user, strings.Join(denied, " nor "))
}
