package expiry

import (
	"testing"
	"time"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
)

func TestStatusAtTheEdges(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	th := DefaultThresholds()
	long := now.Add(-24 * time.Hour)
	tests := []struct {
		name      string
		notBefore time.Time
		notAfter  time.Time
		want      api.CertificateStatus
	}{
		{"a year left", long, now.Add(365 * 24 * time.Hour), api.StatusOK},
		{"one second over the warning threshold", long, now.Add(th.WarnWithin + time.Second), api.StatusOK},
		{"exactly at the warning threshold", long, now.Add(th.WarnWithin), api.StatusWarning},
		{"one second over the critical threshold", long, now.Add(th.CriticalWithin + time.Second), api.StatusWarning},
		{"exactly at the critical threshold", long, now.Add(th.CriticalWithin), api.StatusCritical},
		{"expires this very instant", long, now, api.StatusCritical},
		{"expired one second ago", long, now.Add(-time.Second), api.StatusExpired},
		{"expired a year ago", long.Add(-2 * 365 * 24 * time.Hour), now.Add(-365 * 24 * time.Hour), api.StatusExpired},
		{"valid from now on", now, now.Add(365 * 24 * time.Hour), api.StatusOK},
		{"not yet valid by a second", now.Add(time.Second), now.Add(365 * 24 * time.Hour), api.StatusNotYetValid},
		{"not yet valid and already past notAfter (broken)", now.Add(time.Hour), now.Add(-time.Hour), api.StatusNotYetValid},
	}
	for _, tt := range tests {
		if got := th.Status(tt.notBefore, tt.notAfter, now); got != tt.want {
			t.Errorf("%s: Status = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestZeroThresholds(t *testing.T) {
	now := time.Now()
	th := Thresholds{}
	if got := th.Status(now.Add(-time.Hour), now.Add(time.Second), now); got != api.StatusOK {
		t.Errorf("with zero thresholds a valid certificate is %s, want OK", got)
	}
}

func TestValidate(t *testing.T) {
	if err := DefaultThresholds().Validate(); err != nil {
		t.Errorf("defaults invalid: %v", err)
	}
	bad := Thresholds{WarnWithin: 7 * 24 * time.Hour, CriticalWithin: 30 * 24 * time.Hour}
	if err := bad.Validate(); err == nil {
		t.Error("critical longer than warning accepted")
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		in   []api.CertificateStatus
		want int
	}{
		{nil, 0},
		{[]api.CertificateStatus{api.StatusOK, api.StatusOK}, 0},
		{[]api.CertificateStatus{api.StatusOK, api.StatusWarning}, 2},
		{[]api.CertificateStatus{api.StatusWarning, api.StatusCritical}, 3},
		{[]api.CertificateStatus{api.StatusExpired}, 3},
		{[]api.CertificateStatus{api.StatusNotYetValid, api.StatusOK}, 3},
	}
	for _, tt := range tests {
		if got := ExitCode(tt.in...); got != tt.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestFlags(t *testing.T) {
	th := DefaultThresholds()
	fs := newFlagSet()
	th.AddFlags(fs)
	if err := fs.Parse([]string{"--warn-within", "P60D", "--critical-within=2w"}); err != nil {
		t.Fatal(err)
	}
	if th.WarnWithin != 60*24*time.Hour || th.CriticalWithin != 14*24*time.Hour {
		t.Errorf("thresholds = %+v", th)
	}
	if err := fs.Parse([]string{"--warn-within", "soon"}); err == nil {
		t.Error("bad duration accepted")
	}
}
