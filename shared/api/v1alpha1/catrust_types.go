package v1alpha1

import (
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubecerts/kubecerts/shared/duration"
)

// CATrustSecretRef names the custom CA trust secret a ca-trust command read
// or wrote.
type CATrustSecretRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// String is namespace/name.
func (r CATrustSecretRef) String() string { return r.Namespace + "/" + r.Name }

// CATrustEntry is one certificate of the trust secret (or of a bundle file):
// the data key it is stored under and the fields of a report entry.
type CATrustEntry struct {
	// Key is the secret's data key (ca1.crt, …); for a certificate of a bundle
	// file, #N, its position in the file (1 for the first).
	Key         string `json:"key"`
	Certificate `json:",inline"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// CATrustList is what `kubectl ca-trust list` prints: every certificate of
// the trust secret, in key order (ca1.crt, ca2.crt, …, ca10.crt).
type CATrustList struct {
	metav1.TypeMeta `json:",inline"`
	// Secret is the trust secret read.
	Secret CATrustSecretRef `json:"secret"`
	// Exists is false when the secret does not exist (no custom CAs).
	Exists bool `json:"exists"`
	// GeneratedAt is the instant statuses and residual times refer to.
	GeneratedAt metav1.Time `json:"generatedAt"`
	// Thresholds in force.
	WarnWithinSeconds     int64 `json:"warnWithinSeconds"`
	CriticalWithinSeconds int64 `json:"criticalWithinSeconds"`
	// Items are the certificates, one per certificate (a key holding several
	// certificates gives several items).
	Items []CATrustEntry `json:"items"`
	// Errors lists the certificate keys whose data could not be read; the
	// exit status is then at least 1.
	Errors []ReportError `json:"errors"`
}

// Table shows one row per certificate: KEY, SUBJECT, ISSUER, EXPIRES,
// RESIDUAL, SHA256 (the first 12 hex digits), STATUS; -o wide adds CA,
// KEY ALGORITHM, SERIAL and the full FINGERPRINT.
func (l *CATrustList) Table() *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{
		{Name: "Key", Type: "string"},
		{Name: "Subject", Type: "string"},
		{Name: "Issuer", Type: "string"},
		{Name: "Expires", Type: "string"},
		{Name: "Residual", Type: "string"},
		{Name: "SHA256", Type: "string"},
		{Name: "Status", Type: "string"},
		{Name: "CA", Type: "string", Priority: 1},
		{Name: "Key Algorithm", Type: "string", Priority: 1},
		{Name: "Serial", Type: "string", Priority: 1},
		{Name: "Fingerprint", Type: "string", Priority: 1},
	}}
	for i := range l.Items {
		e := &l.Items[i]
		t.Rows = append(t.Rows, metav1.TableRow{Cells: []interface{}{
			e.Key, e.Subject, e.Issuer,
			e.NotAfter.UTC().Format(ExpiresLayout),
			duration.Residual(time.Duration(e.ResidualSeconds) * time.Second),
			ShortFingerprint(e.SHA256Fingerprint), string(e.Status),
			catrustYesNo(e.IsCA), e.KeyAlgorithm, e.SerialNumber, e.SHA256Fingerprint,
		}})
	}
	return t
}

// Names gives certificate/<sha256> for each certificate.
func (l *CATrustList) Names() []string {
	names := make([]string, 0, len(l.Items))
	for i := range l.Items {
		names = append(names, "certificate/"+l.Items[i].SHA256Fingerprint)
	}
	return names
}

// ShortFingerprint is the first 12 hex digits of a fingerprint, as tables
// show it; `kubectl ca-trust remove --fingerprint` takes it.
func ShortFingerprint(fp string) string {
	if len(fp) > 12 {
		return fp[:12]
	}
	return fp
}

// CATrustChangeItem is one certificate a write added, removed, kept or
// skipped.
type CATrustChangeItem struct {
	// Key is the data key the certificate is (or was) stored under; for a
	// skipped input, the input it came from.
	Key               string      `json:"key"`
	SHA256Fingerprint string      `json:"sha256Fingerprint"`
	Subject           string      `json:"subject"`
	NotAfter          metav1.Time `json:"notAfter"`
	// Reason says why a certificate was skipped or kept (omitted when empty).
	Reason string `json:"reason,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// CATrustChange is what `kubectl ca-trust add`, `remove` and `sync` print as a
// table: the certificates added, removed, kept and skipped, by fingerprint.
type CATrustChange struct {
	metav1.TypeMeta `json:",inline"`
	// Secret is the trust secret written.
	Secret CATrustSecretRef `json:"secret"`
	// Operation is add, remove or sync.
	Operation string `json:"operation"`
	// DryRun is client or server under --dry-run, else omitted.
	DryRun string `json:"dryRun,omitempty"`
	// Created is true when the secret did not exist and the write creates it.
	Created bool `json:"created"`
	// Attempts counts the read-modify-write attempts: above 1 when another
	// writer changed the secret in between and the change was re-applied.
	Attempts int                 `json:"attempts"`
	Added    []CATrustChangeItem `json:"added"`
	Removed  []CATrustChangeItem `json:"removed"`
	Kept     []CATrustChangeItem `json:"kept"`
	// Skipped are inputs not added: duplicates of a certificate already in
	// the secret or given twice (omitted when empty).
	Skipped []CATrustChangeItem `json:"skipped,omitempty"`
	// Reencoded are certificates kept under their key whose value was
	// stored in a form nodes cannot install (base64 of PEM, DER, CRLF line
	// endings) and is rewritten as PEM: add and sync repair them. The
	// certificates are the same (omitted when empty).
	Reencoded []CATrustChangeItem `json:"reencoded,omitempty"`
}

// Changed reports whether the change writes anything.
func (c *CATrustChange) Changed() bool {
	return len(c.Added) > 0 || len(c.Removed) > 0 || len(c.Reencoded) > 0
}

// Table shows one row per certificate: ACTION (added, removed, reencoded,
// kept, skipped), KEY, SUBJECT, EXPIRES, SHA256; -o wide adds REASON and the full
// FINGERPRINT.
func (c *CATrustChange) Table() *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{
		{Name: "Action", Type: "string"},
		{Name: "Key", Type: "string"},
		{Name: "Subject", Type: "string"},
		{Name: "Expires", Type: "string"},
		{Name: "SHA256", Type: "string"},
		{Name: "Reason", Type: "string", Priority: 1},
		{Name: "Fingerprint", Type: "string", Priority: 1},
	}}
	for _, group := range []struct {
		action string
		items  []CATrustChangeItem
	}{{"added", c.Added}, {"removed", c.Removed}, {"reencoded", c.Reencoded}, {"kept", c.Kept}, {"skipped", c.Skipped}} {
		for _, it := range group.items {
			t.Rows = append(t.Rows, metav1.TableRow{Cells: []interface{}{
				group.action, it.Key, orNone(it.Subject), catrustExpires(it.NotAfter),
				orNone(ShortFingerprint(it.SHA256Fingerprint)), orNone(it.Reason), orNone(it.SHA256Fingerprint),
			}})
		}
	}
	return t
}

// Names gives secret/<name>, the object written, as kubectl does.
func (c *CATrustChange) Names() []string { return []string{"secret/" + c.Secret.Name} }

// The severities of a CATrustProblem, from the least to the most severe for
// the exit status: info 0, warning 2, error 1, critical 3.
const (
	CATrustSeverityInfo     = "info"
	CATrustSeverityWarning  = "warning"
	CATrustSeverityError    = "error"
	CATrustSeverityCritical = "critical"
)

// CATrustProblem is one finding of `kubectl ca-trust validate`.
type CATrustProblem struct {
	// Severity is error (exit 1), warning (exit 2: a certificate expires
	// within --warn-within), critical (exit 3: expired, not yet valid or
	// within --critical-within) or info (exit 0).
	Severity string `json:"severity"`
	// Code names the kind of problem for scripts: CRLF, Base64Encoded, …
	// (docs/api.md lists them).
	Code string `json:"code"`
	// Location is where: a data key, #N in a bundle file, metadata.name, ….
	Location string `json:"location"`
	// Message explains the problem and how to fix it.
	Message string `json:"message"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// CATrustValidation is what `kubectl ca-trust validate` prints: the
// certificates found in the trust secret, a Secret manifest or a bundle file,
// and every problem found.
type CATrustValidation struct {
	metav1.TypeMeta `json:",inline"`
	// InputKind is secret (in the cluster), manifest (-f) or bundle (--file).
	InputKind string `json:"inputKind"`
	// Input is secret/<namespace>/<name> or the file's path (- for stdin).
	Input string `json:"input"`
	// GeneratedAt is the instant statuses and residual times refer to.
	GeneratedAt           metav1.Time `json:"generatedAt"`
	WarnWithinSeconds     int64       `json:"warnWithinSeconds"`
	CriticalWithinSeconds int64       `json:"criticalWithinSeconds"`
	// MaxCertificates is the limit checked (--max).
	MaxCertificates int `json:"maxCertificates"`
	// Certificates found, in key (or file) order.
	Certificates []CATrustEntry `json:"certificates"`
	// Problems found, in the order of the input; always present, [] when none.
	Problems []CATrustProblem `json:"problems"`
}

// Table shows one row per problem: SEVERITY, LOCATION, CODE, PROBLEM.
func (v *CATrustValidation) Table() *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{
		{Name: "Severity", Type: "string"},
		{Name: "Location", Type: "string"},
		{Name: "Code", Type: "string"},
		{Name: "Problem", Type: "string"},
	}}
	for _, p := range v.Problems {
		t.Rows = append(t.Rows, metav1.TableRow{Cells: []interface{}{
			strings.ToUpper(p.Severity), p.Location, p.Code, p.Message,
		}})
	}
	return t
}

// Names gives certificate/<sha256> for each certificate found.
func (v *CATrustValidation) Names() []string {
	names := make([]string, 0, len(v.Certificates))
	for i := range v.Certificates {
		names = append(names, "certificate/"+v.Certificates[i].SHA256Fingerprint)
	}
	return names
}

func catrustYesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func catrustExpires(t metav1.Time) string {
	if t.IsZero() {
		return "<none>"
	}
	return t.UTC().Format(ExpiresLayout)
}
