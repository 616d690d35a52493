// Package events records Kubernetes Events (events.k8s.io/v1) for kubectl
// certs check --record-events: one Warning Event for each certificate at
// WARNING or worse (CRITICAL, EXPIRED, NOT_YET_VALID) that was read from a
// Kubernetes object, regarding that object (the Secret, the
// CertificateSigningRequest, the webhook configuration, the Node of node
// and kubelet certificates, …).
//
// Events go through client-go's events recorder and broadcaster
// (k8s.io/client-go/tools/events), which write them through a Sink of this
// package. client-go only aggregates isomorphic Events within one process;
// the Sink makes re-runs (a CronJob, a person running the check again)
// update rather than duplicate: each Event has a deterministic name (Name),
// and when an Event of that name exists its series is counted up.
package events

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/duration"
	"github.com/kubecerts/kubecerts/shared/lazyregexp"
)

// What every Event says of who recorded it and what it was doing.
const (
	// ReportingController is the Event's reportingController.
	ReportingController = "kubecerts.io/certs-check"
	// ReportingInstance is the Event's reportingInstance: a constant, not
	// the host name client-go's recorder puts there, because reportingInstance
	// is immutable and a CronJob's pod has a new host name each run: the
	// Event of an earlier run could not be updated by the next.
	ReportingInstance = "kubecerts-certs-check"
	// Action is the Event's action.
	Action = "CheckCertificate"
)

// The Events' reasons.
const (
	// ReasonExpiring: WARNING or CRITICAL (within --warn-within or
	// --critical-within of notAfter).
	ReasonExpiring = "CertificateExpiring"
	// ReasonExpired: past notAfter.
	ReasonExpired = "CertificateExpired"
	// ReasonNotYetValid: before notBefore.
	ReasonNotYetValid = "CertificateNotYetValid"
)

// FingerprintAnnotation holds the SHA-256 fingerprint of the certificate
// an Event is about: part of the Event's name, so that a certificate
// replaced by another (a renewal) gets an Event of its own.
const FingerprintAnnotation = "kubecerts.io/certificate-sha256"

// NoteMax is the longest note events.k8s.io/v1 accepts, in bytes.
const NoteMax = 1024

// Reason is the Event reason for a certificate of status s; ok is false
// for a status that gets no Event (OK).
func Reason(s api.CertificateStatus) (reason string, ok bool) {
	switch s {
	case api.StatusWarning, api.StatusCritical:
		return ReasonExpiring, true
	case api.StatusExpired:
		return ReasonExpired, true
	case api.StatusNotYetValid:
		return ReasonNotYetValid, true
	}
	return "", false
}

// bundleIndex is the " [N]" the sources append to the location of each
// certificate of a bundle or chain.
var bundleIndex = lazyregexp.New(` \[(\d+)\]$`)

// Regarding is the object an Event about c regards: c.Object, with a
// fieldPath that tells apart the certificates of one object. It is the
// object's field that holds the certificate (data[tls.crt],
// status.certificate, webhooks[NAME].clientConfig.caBundle, …) followed,
// for the certificates of a bundle, by their index in it
// (data[ca.crt][1]). A Node holds no certificate in a field: its fieldPath
// is the rest of the location after node/NAME, the file on the node
// (/etc/kubernetes/pki/apiserver.crt) or "kubelet" for the certificate its
// kubelet serves (kubelet[1] for the next of that chain). Nil when c has no
// object.
func Regarding(c *api.Certificate) *corev1.ObjectReference {
	o := c.Object
	if o == nil {
		return nil
	}
	ref := &corev1.ObjectReference{
		APIVersion: o.APIVersion, Kind: o.Kind,
		Namespace: o.Namespace, Name: o.Name, UID: o.UID,
		FieldPath: o.FieldPath,
	}
	loc, index := c.Location, ""
	if m := bundleIndex.FindStringSubmatchIndex(loc); m != nil {
		loc, index = loc[:m[0]], loc[m[2]:m[3]]
	}
	if ref.FieldPath == "" {
		rest := strings.TrimPrefix(loc, strings.ToLower(o.Kind)+"/"+o.Name)
		if rest != loc {
			if after, ok := strings.CutPrefix(rest, ":"); ok {
				rest = after
			} else {
				rest = strings.TrimPrefix(rest, "/")
			}
			ref.FieldPath = rest
		}
	}
	if index != "" {
		ref.FieldPath += "[" + index + "]"
	}
	return ref
}

// Note is the Event's note about c: its location, subject, notAfter and
// the time left as the report's table prints it, e.g.
// "secret/apps/web/tls.crt: CN=web expires 2026-12-10T00:00:00Z (in 6d)";
// at most NoteMax bytes.
func Note(c *api.Certificate) string {
	subject := c.Subject
	if subject == "" {
		subject = "a certificate with an empty subject"
	}
	left := time.Duration(c.ResidualSeconds) * time.Second
	notAfter := c.NotAfter.UTC().Format(time.RFC3339)
	var s string
	switch c.Status {
	case api.StatusExpired:
		s = fmt.Sprintf("%s: %s expired %s (%s ago)", c.Location, subject, notAfter, duration.Residual(-left))
	case api.StatusNotYetValid:
		s = fmt.Sprintf("%s: %s is not valid before %s; expires %s (in %s)", c.Location, subject,
			c.NotBefore.UTC().Format(time.RFC3339), notAfter, duration.Residual(left))
	default:
		s = fmt.Sprintf("%s: %s expires %s (in %s)", c.Location, subject, notAfter, duration.Residual(left))
	}
	return clip(s, NoteMax)
}

// clip cuts s to at most max bytes, on a character boundary, ending in an
// ellipsis when cut.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const ellipsis = "…"
	cut := max - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

// hashLen is how many hex digits of the hash an Event's name ends in.
const hashLen = 16

// Name is the name of the Event regarding ref for reason, recorded by
// controller, about the certificate of SHA-256 fingerprint fingerprint: the
// regarding object's name, a dot and a hash of the regarding object (kind,
// namespace, name, UID, fieldPath), the reason, the controller and the
// fingerprint. The same certificate in the same place and state gets the
// same name from one run to the next, and so one Event whose series counts
// the runs; a certificate that replaced it (a renewal: a new fingerprint)
// gets another, because an Event's note (which names notAfter) cannot be
// changed. A regarding name that would not make a valid name (a
// ClusterTrustBundle's holds colons; a long one) is lower-cased, its other
// characters made dashes and cut so that the whole is at most 253.
func Name(ref *corev1.ObjectReference, reason, controller, fingerprint string) string {
	h := sha256.New()
	for _, s := range []string{ref.Kind, ref.Namespace, ref.Name, string(ref.UID), ref.FieldPath, reason, controller, fingerprint} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	sum := hex.EncodeToString(h.Sum(nil))[:hashLen]
	prefix := ref.Name
	if len(validation.IsDNS1123Subdomain(prefix+"."+sum)) > 0 {
		prefix = sanitize(prefix, validation.DNS1123SubdomainMaxLength-1-hashLen)
	}
	return prefix + "." + sum
}

// sanitize makes name a DNS label of at most max characters: lower case,
// every character but a-z and 0-9 a dash, no dash at either end;
// "certificate" when nothing is left.
func sanitize(name string, max int) string {
	b := []byte(strings.ToLower(name))
	for i, c := range b {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			b[i] = '-'
		}
	}
	s := strings.Trim(string(b), "-")
	if len(s) > max {
		s = strings.TrimRight(s[:max], "-")
	}
	if s == "" {
		return "certificate"
	}
	return s
}
