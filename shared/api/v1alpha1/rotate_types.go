package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// StagedFiles is what `kubectl rotate ca stage` and `kubectl rotate sa-key`
// wrote (or, with --dry-run, would write) into a staging directory.
type StagedFiles struct {
	metav1.TypeMeta `json:",inline"`
	From            string `json:"from"`
	To              string `json:"to"`
	// Layout is kubeadm or k3s.
	Layout      string       `json:"layout"`
	CrossSigned bool         `json:"crossSigned"`
	DryRun      bool         `json:"dryRun"`
	Files       []StagedFile `json:"files"`
}

// StagedFile is one file of a staging directory.
type StagedFile struct {
	// Path relative to the staging directory.
	Path string `json:"path"`
	// Kind is certificate, key, public-key or copy.
	Kind string `json:"kind"`
	// What says what it holds, in words: "new CA, cross-signed by the old
	// one", "new service-account key first, 1 old key after it", ….
	What string `json:"what"`
	// For certificates: the first certificate's subject, expiry and
	// fingerprint.
	Subject           string       `json:"subject,omitempty"`
	NotAfter          *metav1.Time `json:"notAfter,omitempty"`
	SHA256Fingerprint string       `json:"sha256Fingerprint,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// CAVerification is what `kubectl rotate ca verify` found: the integrity
// checks k3s runs before it accepts new CAs.
type CAVerification struct {
	metav1.TypeMeta `json:",inline"`
	Old             string  `json:"old"`
	New             string  `json:"new"`
	Layout          string  `json:"layout"`
	Checks          []Check `json:"checks"`
	// Disruptive is true when a new CA does not verify against the old
	// roots: nodes joined with a secure token need the new CA hash, and pods
	// must restart to trust the new root.
	Disruptive bool `json:"disruptive"`
	// ServerCAHash is the SHA-256 of the new server CA bundle as k3s secure
	// join tokens carry it (K10<hash>::…), or kubeadm's
	// --discovery-token-ca-cert-hash (sha256:<hash of the CA's public key>).
	ServerCAHash string `json:"serverCAHash"`
	// JoinTokenPrefix is the start of a k3s secure token with the new hash,
	// or the kubeadm flag.
	JoinTokenPrefix string `json:"joinTokenPrefix"`
}

// Check is one named check and its outcome.
type Check struct {
	Name    string `json:"name"`
	Passed  bool   `json:"passed"`
	Message string `json:"message"`
	// Severity of a failure: error or warning.
	Severity string `json:"severity,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// KubeconfigCAChange is what `kubectl rotate kubeconfig` did to the CA bundle
// of a kubeconfig cluster.
type KubeconfigCAChange struct {
	metav1.TypeMeta `json:",inline"`
	File            string   `json:"file"`
	Cluster         string   `json:"cluster"`
	Server          string   `json:"server"`
	Before          []string `json:"before"`
	After           []string `json:"after"`
	Added           []string `json:"added"`
	Removed         []string `json:"removed"`
	// Verified says whether the live server's chain verifies against the
	// new bundle; nil when the server could not be reached.
	Verified *bool  `json:"verified"`
	Backup   string `json:"backup,omitempty"`
	DryRun   bool   `json:"dryRun"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// RotationPlan is what `kubectl rotate plan` prints: the phases of a CA
// rotation in the managed platforms' way (start, update clients, complete)
// with their dates.
type RotationPlan struct {
	metav1.TypeMeta `json:",inline"`
	// DelaySeconds between start and completion.
	DelaySeconds int64        `json:"delaySeconds"`
	Delay        string       `json:"delay"`
	CAExpiry     *metav1.Time `json:"caExpiry,omitempty"`
	// CAExpirySource says where CAExpiry came from: flag or kubeconfig.
	CAExpirySource string   `json:"caExpirySource,omitempty"`
	Phases         []Phase  `json:"phases"`
	Warnings       []string `json:"warnings"`
}

// Phase is one step of a rotation.
type Phase struct {
	Name        string      `json:"name"`
	At          metav1.Time `json:"at"`
	Description string      `json:"description"`
	Commands    []string    `json:"commands,omitempty"`
}
