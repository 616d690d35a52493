// Package expiry turns a certificate's validity period into a status
// (OK, WARNING, CRITICAL, EXPIRED, NOT_YET_VALID) against two thresholds, and
// a set of statuses into the exit status of the command that reports them.
package expiry

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/duration"
	"github.com/kubecerts/kubecerts/shared/exitcode"
)

// Default thresholds, shared by every command that reports status.
const (
	DefaultWarnWithin     = 30 * duration.Day
	DefaultCriticalWithin = 7 * duration.Day
)

// Thresholds says how close to expiry a certificate becomes WARNING or
// CRITICAL.
type Thresholds struct {
	WarnWithin     time.Duration
	CriticalWithin time.Duration
}

// DefaultThresholds returns the defaults: warning within 30 days, critical
// within 7.
func DefaultThresholds() Thresholds {
	return Thresholds{WarnWithin: DefaultWarnWithin, CriticalWithin: DefaultCriticalWithin}
}

// AddFlags binds --warn-within and --critical-within.
func (t *Thresholds) AddFlags(fs *pflag.FlagSet) {
	fs.Var(duration.NewValue(&t.WarnWithin), "warn-within",
		"Report WARNING for certificates that expire within this time (720h, 30d, 2w, 1y, P30D).")
	fs.Var(duration.NewValue(&t.CriticalWithin), "critical-within",
		"Report CRITICAL for certificates that expire within this time (720h, 7d, P7D).")
}

// Validate checks that the thresholds are in order.
func (t Thresholds) Validate() error {
	if t.CriticalWithin > t.WarnWithin {
		return fmt.Errorf("--critical-within (%s) must not be longer than --warn-within (%s)",
			duration.Format(t.CriticalWithin), duration.Format(t.WarnWithin))
	}
	return nil
}

// Status judges a validity period at the instant now. The edges: a
// certificate is EXPIRED from its NotAfter instant on (x509 treats NotAfter as
// the last valid instant, so now == NotAfter is still valid), NOT_YET_VALID
// before NotBefore; it is CRITICAL when the time left is at most
// CriticalWithin and WARNING when at most WarnWithin.
func (t Thresholds) Status(notBefore, notAfter, now time.Time) api.CertificateStatus {
	switch {
	case now.Before(notBefore):
		return api.StatusNotYetValid
	case now.After(notAfter):
		return api.StatusExpired
	}
	left := notAfter.Sub(now)
	switch {
	case left <= t.CriticalWithin:
		return api.StatusCritical
	case left <= t.WarnWithin:
		return api.StatusWarning
	}
	return api.StatusOK
}

// Severity orders statuses: OK 0, WARNING 1, CRITICAL 2, EXPIRED 3,
// NOT_YET_VALID 3. Unknown statuses count as OK.
func Severity(s api.CertificateStatus) int {
	switch s {
	case api.StatusWarning:
		return 1
	case api.StatusCritical:
		return 2
	case api.StatusExpired, api.StatusNotYetValid:
		return 3
	}
	return 0
}

// ExitCode is the exit status a command reporting these statuses ends with
// when nothing else went wrong: 2 for WARNING, 3 for CRITICAL, EXPIRED or
// NOT_YET_VALID, else 0.
func ExitCode(statuses ...api.CertificateStatus) int {
	code := exitcode.OK
	for _, s := range statuses {
		switch Severity(s) {
		case 1:
			code = exitcode.Max(code, exitcode.Warning)
		case 2, 3:
			code = exitcode.Max(code, exitcode.Critical)
		}
	}
	return code
}
