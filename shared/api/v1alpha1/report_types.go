package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// CertificateReport is what `kubectl certs check` prints: every certificate
// found, what could not be read, and a count per status.
type CertificateReport struct {
	metav1.TypeMeta `json:",inline"`
	// GeneratedAt is the instant statuses and residual times refer to.
	GeneratedAt metav1.Time `json:"generatedAt"`
	// Thresholds in force.
	WarnWithinSeconds     int64 `json:"warnWithinSeconds"`
	CriticalWithinSeconds int64 `json:"criticalWithinSeconds"`
	// Certificates, sorted as asked (by expiry unless --sort-by location).
	Certificates []Certificate `json:"certificates"`
	// Errors lists what could not be read; the exit status is then at least 1.
	Errors []ReportError `json:"errors"`
	// Skipped lists what was looked for and is not there, or was left out on
	// purpose (a kubeadm file that does not exist, a node that is not on Azure),
	// with the reason; not an error.
	Skipped []Skipped `json:"skipped,omitempty"`
	// Notes are findings that concern more than one certificate, such as a
	// served certificate that differs from the file on disk.
	Notes   []string `json:"notes,omitempty"`
	Summary Summary  `json:"summary"`
}

// ReportError is a source or location that could not be read.
type ReportError struct {
	Source   string `json:"source"`
	Location string `json:"location"`
	Message  string `json:"message"`
}

// Skipped is a location looked for and not checked, with the reason.
type Skipped struct {
	Source   string `json:"source"`
	Location string `json:"location"`
	Reason   string `json:"reason"`
}

// Summary counts the certificates reported per status, and the errors.
type Summary struct {
	Total       int `json:"total"`
	OK          int `json:"ok"`
	Warning     int `json:"warning"`
	Critical    int `json:"critical"`
	Expired     int `json:"expired"`
	NotYetValid int `json:"notYetValid"`
	Errors      int `json:"errors"`
	// Events counts the Kubernetes Events --record-events wrote; set only
	// with --record-events.
	Events *EventsSummary `json:"events,omitempty"`
}

// EventsSummary counts the Events (events.k8s.io/v1) kubectl certs check
// --record-events wrote for the certificates at WARNING or worse held by a
// Kubernetes object.
type EventsSummary struct {
	// Recorded is Created plus Updated.
	Recorded int `json:"recorded"`
	// Created counts new Events; Updated, Events of an earlier run whose
	// series was counted up.
	Created int `json:"created"`
	Updated int `json:"updated"`
	// Failed counts the Events that could not be written (no permission,
	// another API error, out of time); each namespace's failures are a
	// warning on stderr, never an error of the report.
	Failed int `json:"failed"`
}

// Add counts one certificate of status s.
func (s *Summary) Add(status CertificateStatus) {
	s.Total++
	switch status {
	case StatusOK:
		s.OK++
	case StatusWarning:
		s.Warning++
	case StatusCritical:
		s.Critical++
	case StatusExpired:
		s.Expired++
	case StatusNotYetValid:
		s.NotYetValid++
	}
}
