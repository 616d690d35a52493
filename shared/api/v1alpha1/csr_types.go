package v1alpha1

import (
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"

	kcduration "github.com/kubecerts/kubecerts/shared/duration"
)

// CSRVerdict is what kubecerts makes of a CertificateSigningRequest.
type CSRVerdict string

// The verdicts.
const (
	// CSRVerdictApprove: every check passed; approve and watch approve it.
	CSRVerdictApprove CSRVerdict = "approve"
	// CSRVerdictDeny: at least one check failed; approve leaves it pending
	// (or denies it with --deny-invalid).
	CSRVerdictDeny CSRVerdict = "deny"
	// CSRVerdictSkip: not for kubecerts to decide: a signer it does not
	// check, a CSR already approved, denied or failed, or a check that could
	// not be made (the Node lookup failed).
	CSRVerdictSkip CSRVerdict = "skip"
)

// CSRAction is what a command did with a CertificateSigningRequest.
type CSRAction string

// The actions of kubectl rotate csr approve and deny.
const (
	CSRActionApproved      CSRAction = "approved"
	CSRActionDenied        CSRAction = "denied"
	CSRActionLeftPending   CSRAction = "left-pending"
	CSRActionWouldApprove  CSRAction = "would-approve"
	CSRActionWouldDeny     CSRAction = "would-deny"
	CSRActionAlready       CSRAction = "unchanged"
	CSRActionError         CSRAction = "error"
	CSRActionNotFound      CSRAction = "not-found"
	CSRActionForceApproved CSRAction = "force-approved"
)

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// CSRReviewList is what `kubectl rotate csr list`, `approve` and `deny`
// print: each CertificateSigningRequest with the verdict of the checks, and
// for approve and deny what was done with it.
type CSRReviewList struct {
	metav1.TypeMeta `json:",inline"`
	// GeneratedAt is when the list was made; AGE counts from it.
	GeneratedAt metav1.Time `json:"generatedAt"`
	// Items are the CSRs, sorted by creation time, oldest first.
	Items []CSRReview `json:"items"`
}

// CSRReview is one CertificateSigningRequest and the checks made on it.
type CSRReview struct {
	// Name of the CertificateSigningRequest.
	Name string `json:"name"`
	// CreationTimestamp of the CertificateSigningRequest.
	CreationTimestamp metav1.Time `json:"creationTimestamp"`
	// Signer is spec.signerName.
	Signer string `json:"signer"`
	// Requestor is spec.username: who created the CSR.
	Requestor string `json:"requestor"`
	// Groups are spec.groups, the requestor's groups.
	Groups []string `json:"groups,omitempty"`
	// Subject of the request, RFC 2253 (CN=system:node:worker-1,O=system:nodes);
	// empty when the request cannot be read.
	Subject string `json:"subject"`
	// DNSNames and IPAddresses are the subject alternative names requested.
	DNSNames    []string `json:"dnsNames"`
	IPAddresses []string `json:"ipAddresses"`
	// EmailAddresses and URIs are further SANs (omitted when empty).
	EmailAddresses []string `json:"emailAddresses,omitempty"`
	URIs           []string `json:"uris,omitempty"`
	// Usages are spec.usages.
	Usages []string `json:"usages"`
	// KeyAlgorithm of the requested key: RSA-2048, ECDSA-P-256, Ed25519, ….
	KeyAlgorithm string `json:"keyAlgorithm,omitempty"`
	// RequestedDurationSeconds is spec.expirationSeconds; omitted when not set
	// (the signer's default applies).
	RequestedDurationSeconds *int32 `json:"requestedDurationSeconds,omitempty"`
	// Condition: Pending, Approved, Issued (approved and signed), Denied or Failed.
	Condition string `json:"condition"`
	// Verdict: approve, deny or skip.
	Verdict CSRVerdict `json:"verdict"`
	// Reason explains the verdict: the failed checks' messages for deny.
	Reason string `json:"reason"`
	// Checks lists every check made, in order, with its result.
	Checks []CSRCheck `json:"checks"`
	// RefusedSANs lists each SAN refused by a rule, once per rule (omitted
	// when none was).
	RefusedSANs []CSRRefusedSAN `json:"refusedSANs,omitempty"`
	// Action is what approve or deny did (omitted by list): approved,
	// force-approved, denied, left-pending, would-approve, would-deny (dry
	// run), unchanged, not-found, error.
	Action CSRAction `json:"action,omitempty"`
	// Error is why an action failed (omitted when empty).
	Error string `json:"error,omitempty"`
}

// CSRRefusedSAN is a subject alternative name and a rule that refused it.
type CSRRefusedSAN struct {
	// SAN is the DNS name or IP as the CSR asks for it.
	SAN string `json:"san"`
	// Rule that refused it: wildcard, invalid-name, cluster-service,
	// service-range, apiserver-address, special-address, other-node,
	// node-address, node-name, allow-dns, node-cidr, no-node-cidr,
	// resolve-dns.
	Rule string `json:"rule"`
	// Message says what was found.
	Message string `json:"message"`
}

// CSRCheck is one named check and its result.
type CSRCheck struct {
	// Name of the check: signer, request, requestor, authorization,
	// subject, node, ip-sans, dns-sans, sans, usages, key, duration,
	// condition.
	Name string `json:"name"`
	// Passed is true when the CSR meets the check.
	Passed bool `json:"passed"`
	// Message says what was found.
	Message string `json:"message"`
}

// Table shows one row per CSR; an ACTION column when a command acted on them;
// USAGES, KEY and GROUPS only with -o wide.
func (l *CSRReviewList) Table() *metav1.Table {
	withAction := false
	for i := range l.Items {
		if l.Items[i].Action != "" {
			withAction = true
		}
	}
	cols := []metav1.TableColumnDefinition{
		{Name: "Name", Type: "string"},
		{Name: "Age", Type: "string"},
		{Name: "Signer", Type: "string"},
		{Name: "Requestor", Type: "string"},
		{Name: "Subject", Type: "string"},
		{Name: "SANs", Type: "string"},
		{Name: "Requested Duration", Type: "string"},
		{Name: "Condition", Type: "string"},
		{Name: "Verdict", Type: "string"},
	}
	if withAction {
		cols = append(cols, metav1.TableColumnDefinition{Name: "Action", Type: "string"})
	}
	cols = append(cols,
		metav1.TableColumnDefinition{Name: "Reason", Type: "string"},
		metav1.TableColumnDefinition{Name: "Usages", Type: "string", Priority: 1},
		metav1.TableColumnDefinition{Name: "Key", Type: "string", Priority: 1},
		metav1.TableColumnDefinition{Name: "Groups", Type: "string", Priority: 1},
	)
	t := &metav1.Table{ColumnDefinitions: cols}
	for i := range l.Items {
		r := &l.Items[i]
		age := "<unknown>"
		if !r.CreationTimestamp.IsZero() && !l.GeneratedAt.IsZero() {
			age = duration.HumanDuration(l.GeneratedAt.Sub(r.CreationTimestamp.Time))
		}
		requested := "<none>"
		if r.RequestedDurationSeconds != nil {
			requested = kcduration.Residual(time.Duration(*r.RequestedDurationSeconds) * time.Second)
		}
		cells := []interface{}{
			r.Name, age, r.Signer, r.Requestor, orNone(r.Subject), orNone(strings.Join(r.SANs(), ",")),
			requested, r.Condition, string(r.Verdict),
		}
		if withAction {
			cells = append(cells, orNone(string(r.Action)))
		}
		reason := r.Reason
		if r.Error != "" {
			reason = r.Error
		}
		cells = append(cells, orNone(reason), orNone(strings.Join(r.Usages, ",")), orNone(r.KeyAlgorithm),
			orNone(strings.Join(r.Groups, ",")))
		t.Rows = append(t.Rows, metav1.TableRow{Cells: cells})
	}
	return t
}

// Names gives certificatesigningrequest/<name> for each CSR.
func (l *CSRReviewList) Names() []string {
	names := make([]string, 0, len(l.Items))
	for i := range l.Items {
		names = append(names, "certificatesigningrequest/"+l.Items[i].Name)
	}
	return names
}

// SANs lists every subject alternative name requested: DNS names, IPs,
// emails, URIs.
func (r *CSRReview) SANs() []string {
	sans := make([]string, 0, len(r.DNSNames)+len(r.IPAddresses))
	sans = append(sans, r.DNSNames...)
	sans = append(sans, r.IPAddresses...)
	sans = append(sans, r.EmailAddresses...)
	return append(sans, r.URIs...)
}

// FailedChecks lists the checks that did not pass.
func (r *CSRReview) FailedChecks() []CSRCheck {
	var failed []CSRCheck
	for _, c := range r.Checks {
		if !c.Passed {
			failed = append(failed, c)
		}
	}
	return failed
}
