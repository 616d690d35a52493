package source

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/kubecerts/kubecerts/shared/tlsprobe"
)

// Endpoint probes a TLS server named on the command line (--endpoint
// host:port or an https URL), trusting the system roots, or CA when set.
type Endpoint struct {
	Address string
	Timeout time.Duration
	// Roots, when not nil, are the CAs to verify against
	// (--certificate-authority), read once for every endpoint; nil: the
	// system roots.
	Roots *x509.CertPool
}

// endpointSource is the Endpoint source's name.
const endpointSource = "endpoint"

// Name implements Source.
func (e *Endpoint) Name() string { return endpointSource }

// Collect implements Source.
func (e *Endpoint) Collect(ctx context.Context, sink Sink) {
	probe := &tlsprobe.Probe{URL: e.Address, Timeout: e.Timeout, Roots: e.Roots}
	withCA := e.Roots != nil
	res, err := probe.Run(ctx)
	if err != nil {
		sink.Error(e.Name(), e.Address, err)
		return
	}
	ReportProbeWithHint(e.Name(), "", res, sink, func(err error) string { return endpointHint(err, withCA) })
	if !res.Verified {
		// A client of the endpoint would refuse it, as kubectl refuses an
		// API server whose chain does not verify: an error, as there.
		sink.Error(e.Name(), e.Address, fmt.Errorf("the served chain does not verify against %s: %w", trustedBy(withCA), res.VerifyError))
	}
}

func trustedBy(withCA bool) string {
	if withCA {
		return "--certificate-authority"
	}
	return "the system roots"
}

// endpointHint says what a chain that does not verify means for an endpoint
// given on the command line (not the kubeconfig's server).
func endpointHint(err error, withCA bool) string {
	var unknown x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	switch {
	case errors.As(err, &unknown) && !withCA:
		return "the chain does not verify against the system roots (x509: certificate signed by unknown authority): if the endpoint uses a private CA, give it with --certificate-authority"
	case errors.As(err, &unknown):
		return "the chain does not verify against --certificate-authority (x509: certificate signed by unknown authority)"
	case errors.As(err, &hostErr):
		return "the certificate is not valid for the endpoint's host name: " + err.Error()
	}
	return "the chain does not verify: " + err.Error()
}
