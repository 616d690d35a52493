// Package tlsprobe makes a TLS handshake with a server to see the
// certificates it presents, as `curl -kv` shows them, through the proxy
// kubectl would use, and verifies the chain afterwards against chosen roots.
package tlsprobe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultTimeout bounds a TLS probe when --request-timeout is unset.
const DefaultTimeout = 10 * time.Second

// Probe is a TLS handshake with a server to see the certificates it
// presents, as `curl -kv` shows them, and whether they verify.
type Probe struct {
	// URL is https://host[:port][/path]; a bare host:port is taken as https.
	URL string
	// ServerName overrides the name sent as SNI and verified (a kubeconfig's
	// tls-server-name); by default the URL's host.
	ServerName string
	// Roots to verify against; nil means the system roots.
	Roots *x509.CertPool
	// Proxy picks the proxy for a request, as http.Transport.Proxy does
	// (a kubeconfig's proxy-url, or HTTPS_PROXY from the environment).
	Proxy func(*http.Request) (*url.URL, error)
	// Timeout bounds the whole probe.
	Timeout time.Duration
}

// Result is what the server presented.
type Result struct {
	Endpoint    string
	ServerName  string
	Chain       []*x509.Certificate
	Verified    bool
	VerifyError error
}

// NormalizeEndpoint turns host:port, host or an https URL into an https URL
// with a port, refusing other schemes.
func NormalizeEndpoint(s string) (*url.URL, error) {
	raw := strings.TrimSpace(s)
	if raw == "" {
		return nil, fmt.Errorf("empty endpoint")
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %v", s, err)
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("endpoint %q: scheme %q is not https", s, u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("endpoint %q: no host", s)
	}
	if u.Port() == "" {
		u.Host = net.JoinHostPort(u.Hostname(), "443")
	}
	return u, nil
}

// Run connects, completes a TLS handshake without verifying, and verifies
// the presented chain afterwards, so that a chain that does not verify is
// still reported. It goes through the proxy when one is set, as kubectl
// would. An HTTP request follows the handshake only because proxies and
// HTTP/2 need one; its answer is not waited for.
func (p *Probe) Run(ctx context.Context) (*Result, error) {
	u, err := NormalizeEndpoint(p.URL)
	if err != nil {
		return nil, err
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	serverName := p.ServerName
	if serverName == "" {
		serverName = u.Hostname()
	}
	res := &Result{Endpoint: u.String(), ServerName: serverName}

	var once sync.Once
	var state *tls.ConnectionState
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	handshakeDone := make(chan struct{})
	proxy := p.Proxy
	if proxy == nil {
		proxy = http.ProxyFromEnvironment
	}
	// Through an http(s) proxy, net/http makes the handshake with an https
	// proxy with TLSClientConfig too, and a tls-server-name makes it send
	// the target's name there, so neither the config nor the
	// ConnectionState tells the two handshakes apart. Their order does: the
	// target's handshake comes after the proxy has answered CONNECT.
	var viaConnect, tunnelUp atomic.Bool
	tlsConfig := &tls.Config{
		// Empty unless tls-server-name is set: net/http then sends the
		// proxy's host to the proxy and the URL's host to the server.
		ServerName:         p.ServerName,
		InsecureSkipVerify: true, // verified below, against the kubeconfig's roots
		VerifyConnection: func(cs tls.ConnectionState) error {
			if viaConnect.Load() && !tunnelUp.Load() {
				return nil // the https proxy's own handshake
			}
			// cs.ServerName is not compared with serverName: crypto/tls
			// drops a trailing dot ("host.example.com.") and sends no name
			// for an IP address.
			once.Do(func() {
				c := cs
				state = &c
				close(handshakeDone)
			})
			return nil
		},
	}
	transport := &http.Transport{
		Proxy: func(r *http.Request) (*url.URL, error) {
			u, err := proxy(r)
			if u != nil && (u.Scheme == "http" || u.Scheme == "https") {
				viaConnect.Store(true) // an https URL goes through CONNECT
			}
			return u, err
		},
		OnProxyConnectResponse: func(_ context.Context, _ *url.URL, _ *http.Request, resp *http.Response) error {
			if resp.StatusCode == http.StatusOK {
				tunnelUp.Store(true)
			}
			return nil
		},
		TLSClientConfig:     tlsConfig,
		TLSHandshakeTimeout: timeout,
		DisableKeepAlives:   true,
		ForceAttemptHTTP2:   false,
	}
	defer transport.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.Scheme+"://"+u.Host+"/readyz", nil)
	if err != nil {
		return nil, err
	}
	errc := make(chan error, 1)
	go func() {
		resp, err := transport.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	select {
	case <-handshakeDone:
		cancel() // the certificates are what we came for
		<-errc
	case err := <-errc:
		select {
		case <-handshakeDone:
		default:
			if err == nil {
				return nil, fmt.Errorf("the connection ended without a TLS handshake")
			}
			return nil, describeProbeError(timeout, ctx, err)
		}
	}
	res.Chain = state.PeerCertificates
	if len(res.Chain) == 0 {
		return nil, fmt.Errorf("the server presented no certificate")
	}
	res.VerifyError = VerifyChain(res.Chain, p.Roots, serverName)
	res.Verified = res.VerifyError == nil
	return res, nil
}

// VerifyChain verifies a served chain (the server's certificate first, the
// rest as intermediates) against roots for serverName, an IP address or a
// DNS name; nil roots are the system's.
func VerifyChain(chain []*x509.Certificate, roots *x509.CertPool, serverName string) error {
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: serverName})
	return err
}

// describeProbeError says why no handshake happened; the caller names the
// endpoint.
func describeProbeError(timeout time.Duration, ctx context.Context, err error) error {
	var recErr tls.RecordHeaderError
	var netErr net.Error
	switch {
	case errors.As(err, &recErr), strings.Contains(err.Error(), "first record does not look like a TLS handshake"):
		return fmt.Errorf("does not speak TLS (the first bytes it sent are not a TLS handshake)")
	case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("no TLS handshake within %s", timeout)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return opErr.Err
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err
	}
	return err
}

// Hint says, for people, what a verification error usually means and what
// to do about it.
func Hint(err error) string {
	var unknown x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	switch {
	case errors.As(err, &unknown):
		return "the chain does not verify against the CA the kubeconfig trusts (x509: certificate signed by unknown authority): " +
			"the cluster's CA was probably rotated; refresh the credentials (e.g. az aks get-credentials --overwrite-existing, " +
			"or kubectl rotate kubeconfig --add-ca NEW-CA.crt during a rotation)"
	case errors.As(err, &hostErr):
		return "the certificate is not valid for the server name: check the kubeconfig's server URL or tls-server-name"
	}
	return "the chain does not verify: " + err.Error()
}
