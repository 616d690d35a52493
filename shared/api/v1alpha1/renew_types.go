package v1alpha1

import (
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RenewalAction is what kubectl rotate renew did, or would do, with a
// certificate.
type RenewalAction string

// The actions of kubectl rotate renew.
const (
	// RenewalRenewed: a new key and certificate were written.
	RenewalRenewed RenewalAction = "renewed"
	// RenewalWouldRenew: --dry-run; nothing written.
	RenewalWouldRenew RenewalAction = "would-renew"
	// RenewalCSRWritten: --csr-only wrote a CSR and a new key.
	RenewalCSRWritten RenewalAction = "csr-written"
	// RenewalWouldWriteCSR: --csr-only with --dry-run.
	RenewalWouldWriteCSR RenewalAction = "would-write-csr"
	// RenewalSkipped: left as it is, for the reason given (its CA's key is
	// absent, the file does not exist).
	RenewalSkipped RenewalAction = "skipped"
	// RenewalError: it could not be renewed; the reason says why.
	RenewalError RenewalAction = "error"
)

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// RenewalResult is what `kubectl rotate renew` prints: each kubeadm
// certificate asked for with what was done with it, where the replaced
// files were saved, and the static pods that must restart to use the new
// certificates. With --dry-run it is the plan.
type RenewalResult struct {
	metav1.TypeMeta `json:",inline"`
	// GeneratedAt is when the renewal ran; new certificates start 5 minutes
	// before it.
	GeneratedAt metav1.Time `json:"generatedAt"`
	// PKIDir and KubeconfigDir are the directories renewed.
	PKIDir        string `json:"pkiDir"`
	KubeconfigDir string `json:"kubeconfigDir"`
	// DryRun is true when nothing was written.
	DryRun bool `json:"dryRun,omitempty"`
	// CSRDir is where --csr-only wrote CSRs and keys (omitted otherwise).
	CSRDir string `json:"csrDir,omitempty"`
	// ValiditySeconds is the validity asked for (--validity); a
	// certificate's CA may cap it.
	ValiditySeconds int64 `json:"validitySeconds"`
	// BackupDir holds a copy of every file replaced, made before it was
	// replaced (omitted when nothing was replaced).
	BackupDir string `json:"backupDir,omitempty"`
	// Certificates are the certificates asked for, in kubeadm's order.
	Certificates []RenewedCertificate `json:"certificates"`
	// StaticPods are the control-plane static pods that must restart to
	// load the renewed certificates; always present, [] when none.
	StaticPods []StaticPodRestart `json:"staticPods"`
	// Notes are findings for people: stale temporary files removed, a key
	// that did not match its certificate, … (omitted when empty).
	Notes []string `json:"notes,omitempty"`
}

// RenewedCertificate is one certificate of a renewal.
type RenewedCertificate struct {
	// Name is kubeadm's: apiserver, etcd-server, admin.conf, ….
	Name string `json:"name"`
	// File is the certificate file, or the kubeconfig file whose client
	// certificate it is.
	File string `json:"file"`
	// KeyFile is the private key written beside it (omitted for
	// kubeconfigs, whose key is embedded, and when nothing is written).
	KeyFile string `json:"keyFile,omitempty"`
	// CSRFile is the CSR --csr-only wrote (omitted otherwise).
	CSRFile string `json:"csrFile,omitempty"`
	// CAName is the CA that signs it: ca, front-proxy-ca or etcd-ca.
	CAName string `json:"caName"`
	// Action: renewed, would-renew, csr-written, would-write-csr, skipped,
	// error.
	Action RenewalAction `json:"action"`
	// KeyAlgorithm of the certificate, kept by the new key: RSA-2048,
	// ECDSA-P-256, … (omitted when the certificate could not be read).
	KeyAlgorithm string `json:"keyAlgorithm,omitempty"`
	// OldNotAfter is the notAfter of the certificate that was there
	// (omitted when there was none).
	OldNotAfter *metav1.Time `json:"oldNotAfter,omitempty"`
	// NewNotAfter is the notAfter of the new certificate, or the one it
	// would have (omitted for CSRs, skips and errors).
	NewNotAfter *metav1.Time `json:"newNotAfter,omitempty"`
	// StaticPod is the control-plane static pod that uses it (omitted for
	// admin.conf and super-admin.conf).
	StaticPod string `json:"staticPod,omitempty"`
	// Reason explains a skip or an error, or notes that the validity was
	// capped at the CA's notAfter (omitted when there is nothing to say).
	Reason string `json:"reason,omitempty"`
}

// StaticPodRestart is a static pod that must restart, or was restarted.
type StaticPodRestart struct {
	// Name of the static pod's manifest without .yaml: kube-apiserver,
	// etcd, kube-controller-manager, kube-scheduler.
	Name string `json:"name"`
	// Manifest is its manifest file.
	Manifest string `json:"manifest"`
	// Certificates are the renewed certificates it uses.
	Certificates []string `json:"certificates"`
	// Restarted is true when --restart-static-pods moved the manifest out
	// and back.
	Restarted bool `json:"restarted,omitempty"`
	// Reason says why it was not restarted though asked (no manifest, an
	// error) (omitted when empty).
	Reason string `json:"reason,omitempty"`
}

// Table shows one row per certificate; FILE and KEY only with -o wide.
func (r *RenewalResult) Table() *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{
		{Name: "Name", Type: "string"},
		{Name: "CA", Type: "string"},
		{Name: "Action", Type: "string"},
		{Name: "Old Expires", Type: "string"},
		{Name: "New Expires", Type: "string"},
		{Name: "Key", Type: "string"},
		{Name: "Static Pod", Type: "string"},
		{Name: "Reason", Type: "string"},
		{Name: "File", Type: "string", Priority: 1},
		{Name: "Key File", Type: "string", Priority: 1},
		{Name: "CSR File", Type: "string", Priority: 1},
	}}
	for i := range r.Certificates {
		c := &r.Certificates[i]
		t.Rows = append(t.Rows, metav1.TableRow{Cells: []interface{}{
			c.Name, c.CAName, string(c.Action), renewalTime(c.OldNotAfter), renewalTime(c.NewNotAfter),
			orNone(c.KeyAlgorithm), orNone(c.StaticPod), orNone(c.Reason),
			c.File, orNone(c.KeyFile), orNone(c.CSRFile),
		}})
	}
	return t
}

// Names gives certificate/<name> for each certificate.
func (r *RenewalResult) Names() []string {
	names := make([]string, 0, len(r.Certificates))
	for i := range r.Certificates {
		names = append(names, "certificate/"+r.Certificates[i].Name)
	}
	return names
}

// Count returns how many certificates have one of the actions.
func (r *RenewalResult) Count(actions ...RenewalAction) int {
	n := 0
	for i := range r.Certificates {
		for _, a := range actions {
			if r.Certificates[i].Action == a {
				n++
				break
			}
		}
	}
	return n
}

// StaticPodNames lists the static pods to restart, comma-separated.
func (r *RenewalResult) StaticPodNames() string {
	names := make([]string, 0, len(r.StaticPods))
	for _, p := range r.StaticPods {
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}

func renewalTime(t *metav1.Time) string {
	if t == nil || t.IsZero() {
		return "<none>"
	}
	return t.UTC().Format(time.RFC3339)
}
