package source

import (
	"context"
	"github.com/kubecerts/kubecerts/shared/tlsprobe"
	"time"
)

// Endpoint probes a TLS server named on the command line (--endpoint
// host:port or an https URL), trusting the system roots, or CA when set.
type Endpoint struct {
	Address string
	Timeout time.Duration
	// CA, when not empty, is the bundle to verify against
	// (--certificate-authority).
	CA []byte
}

// Name implements Source.
func (e *Endpoint) Name() string { return "endpoint" }

// Collect implements Source.
func (e *Endpoint) Collect(ctx context.Context, sink Sink) {
	probe := &tlsprobe.Probe{URL: e.Address, Timeout: e.Timeout}
	if len(e.CA) > 0 {
		cred, err := credential(e.CA, "", "certificate-authority")
		if err != nil {
			sink.Error(e.Name(), e.Address, err)
			return
		}
		probe.Roots = poolOf(cred)
	}
	res, err := probe.Run(ctx)
	if err != nil {
		sink.Error(e.Name(), e.Address, err)
		return
	}
	ReportProbe(e.Name(), "", res, sink)
}
