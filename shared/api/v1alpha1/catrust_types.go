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

// The stores kubectl ca-trust manages (--store): the trust secret, and the
// custom CA list of an AKS managed cluster
// (securityProfile.customCATrustCertificates).
const (
	CATrustStoreSecret = "secret"
	CATrustStoreAKS    = "aks"
)

// AKSClusterRef names an AKS managed cluster.
type AKSClusterRef struct {
	// Subscription is the subscription's ID; omitted when az's default was
	// used and the cluster's ID was not read.
	Subscription  string `json:"subscription,omitempty"`
	ResourceGroup string `json:"resourceGroup"`
	Name          string `json:"name"`
	// ID is the cluster's Azure resource ID, when read.
	ID string `json:"id,omitempty"`
}

// String is resourceGroup/name.
func (r AKSClusterRef) String() string { return r.ResourceGroup + "/" + r.Name }

// CATrustEntry is one certificate of the trust secret (or of a bundle file):
// the data key it is stored under and the fields of a report entry.
type CATrustEntry struct {
	// Key is the secret's data key (ca1.crt, …); on the aks store, caN.crt
	// for the Nth entry of the cluster's list; for a certificate of a bundle
	// file, #N, its position in the file (1 for the first).
	Key         string `json:"key"`
	Certificate `json:",inline"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// CATrustList is what `kubectl ca-trust list` prints: every certificate of
// the trust secret, in key order (ca1.crt, ca2.crt, …, ca10.crt).
type CATrustList struct {
	metav1.TypeMeta `json:",inline"`
	// Store is where the CAs were read: secret or aks.
	Store string `json:"store"`
	// Secret is the trust secret read (store secret; omitted for aks).
	Secret CATrustSecretRef `json:"secret,omitzero"`
	// Cluster is the AKS managed cluster read (store aks).
	Cluster *AKSClusterRef `json:"cluster,omitempty"`
	// ETag and ProvisioningState are the managed cluster's as read (store
	// aks).
	ETag              string `json:"eTag,omitempty"`
	ProvisioningState string `json:"provisioningState,omitempty"`
	// Exists is false when the secret does not exist (no custom CAs); for
	// the aks store, always true.
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
	// Store is where the change goes: secret or aks.
	Store string `json:"store"`
	// Secret is the trust secret written (store secret; omitted for aks).
	Secret CATrustSecretRef `json:"secret,omitzero"`
	// Cluster is the AKS managed cluster written (store aks).
	Cluster *AKSClusterRef `json:"cluster,omitempty"`
	// Operation is add, remove or sync.
	Operation string `json:"operation"`
	// DryRun is client or server under --dry-run, else omitted.
	DryRun string `json:"dryRun,omitempty"`
	// Planned is true (store aks) when the change was printed as a plan and
	// not sent: --yes was not given.
	Planned bool `json:"planned,omitempty"`
	// ETag is the managed cluster's eTag (store aks): the one the update
	// was sent with (--if-match) or, when nothing was sent, the one read.
	ETag string `json:"eTag,omitempty"`
	// ProvisioningState is the managed cluster's after the update (store
	// aks): Succeeded, Failed, or Updating under --no-wait.
	ProvisioningState string `json:"provisioningState,omitempty"`
	// NoWait is true when the update was sent with --no-wait: AKS goes on
	// replacing nodes after the command returns.
	NoWait bool `json:"noWait,omitempty"`
	// Retries counts what the write met from other writers (store aks).
	Retries *CATrustRetries `json:"retries,omitempty"`
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

// CATrustRetries counts, for a write to an AKS managed cluster, the updates
// refused because another writer came first.
type CATrustRetries struct {
	// PreconditionFailed counts the updates refused with 412 (the cluster
	// changed since it was read): each was re-read and re-applied.
	PreconditionFailed int `json:"preconditionFailed"`
	// OperationInProgress counts the updates refused with
	// OperationNotAllowed (another operation was running): each waited for
	// it to end, then was re-read and re-applied.
	OperationInProgress int `json:"operationInProgress"`
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

// Names gives secret/<name>, the object written, as kubectl does;
// managedcluster/<name> on the aks store.
func (c *CATrustChange) Names() []string {
	if c.Cluster != nil {
		return []string{"managedcluster/" + c.Cluster.Name}
	}
	return []string{"secret/" + c.Secret.Name}
}

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
	// InputKind is secret (in the cluster), aks (an AKS managed cluster's
	// list), manifest (-f) or bundle (--file).
	InputKind string `json:"inputKind"`
	// Input is secret/<namespace>/<name>, managedcluster/<resource
	// group>/<name>, or the file's path (- for stdin).
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

// The outcomes of a CATrustMigrationStep.
const (
	// MigrationPlanned: the step would run; nothing was done (no --yes, or
	// --dry-run=client).
	MigrationPlanned = "planned"
	// MigrationDone: the step ran and succeeded.
	MigrationDone = "done"
	// MigrationAlreadyDone: nothing to do; an earlier run, or someone else,
	// did it.
	MigrationAlreadyDone = "already-done"
	// MigrationFailed: the step ran and failed; the exit status is 1.
	MigrationFailed = "failed"
	// MigrationNotRun: an earlier step failed, so this one was not run.
	MigrationNotRun = "not-run"
	// MigrationKept: the step is left out on purpose (the secret is kept
	// without --delete-secret).
	MigrationKept = "kept"
)

// CATrustMigrationStep is one step of `kubectl ca-trust migrate`.
type CATrustMigrationStep struct {
	// Name is set-ca-list, disable-custom-ca-trust, verify or
	// delete-secret.
	Name string `json:"name"`
	// Target is what the step changes: managedcluster/<name>,
	// agentpool/<name>, secret/<namespace>/<name>.
	Target string `json:"target"`
	// Outcome is planned, done, already-done, failed, not-run or kept.
	Outcome string `json:"outcome"`
	// Message says what the step does or did, and why it failed.
	Message string `json:"message,omitempty"`
}

// CATrustMigrationPool is a node pool of the managed cluster as migrate
// read it (at api-version 2025-08-02-preview, the last that shows
// enableCustomCATrust).
type CATrustMigrationPool struct {
	Name string `json:"name"`
	ID   string `json:"id"`
	// EnableCustomCATrust is the retired property, as read before any step.
	EnableCustomCATrust bool   `json:"enableCustomCATrust"`
	OSType              string `json:"osType,omitempty"`
	ProvisioningState   string `json:"provisioningState,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// CATrustMigration is what `kubectl ca-trust migrate` prints: the move of a
// cluster off the retired custom-ca-trust-secret (read by node pools with
// enableCustomCATrust) to the managed cluster's own CA list, step by step.
type CATrustMigration struct {
	metav1.TypeMeta `json:",inline"`
	Secret          CATrustSecretRef `json:"secret"`
	// SecretExists is false when there is no trust secret to migrate.
	SecretExists bool          `json:"secretExists"`
	Cluster      AKSClusterRef `json:"cluster"`
	// DryRun is client under --dry-run=client, else omitted.
	DryRun string `json:"dryRun,omitempty"`
	// Planned is true when the steps were printed and not run (no --yes).
	Planned bool `json:"planned,omitempty"`
	// Certificates is the list the cluster is to hold: the union, by
	// fingerprint, of the cluster's list and the secret's CAs; Key says
	// where each came from (cluster caN.crt, or the secret's key).
	Certificates []CATrustChangeItem `json:"certificates"`
	// LeftOut are the secret's certificates that are not carried over,
	// with the reason (expired, not a CA, unreadable).
	LeftOut []CATrustChangeItem `json:"leftOut"`
	// Pools are the cluster's node pools as read.
	Pools []CATrustMigrationPool `json:"pools"`
	// Steps are in the order they run.
	Steps []CATrustMigrationStep `json:"steps"`
}

// Failed reports whether a step failed.
func (m *CATrustMigration) Failed() bool {
	for _, s := range m.Steps {
		if s.Outcome == MigrationFailed {
			return true
		}
	}
	return false
}

// Table shows one row per step: STEP, TARGET, OUTCOME, MESSAGE.
func (m *CATrustMigration) Table() *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{
		{Name: "Step", Type: "string"},
		{Name: "Target", Type: "string"},
		{Name: "Outcome", Type: "string"},
		{Name: "Message", Type: "string"},
	}}
	for _, s := range m.Steps {
		t.Rows = append(t.Rows, metav1.TableRow{Cells: []interface{}{s.Name, s.Target, s.Outcome, orNone(s.Message)}})
	}
	return t
}

// Names gives managedcluster/<name>, the object migrated.
func (m *CATrustMigration) Names() []string { return []string{"managedcluster/" + m.Cluster.Name} }
