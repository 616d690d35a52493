package source

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"strings"

	"github.com/kubecerts/kubecerts/shared/tlsprobe"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Context is one kubeconfig context resolved for checking: its names and the
// client configuration kubectl would use (flags such as --server and
// --certificate-authority applied).
type Context struct {
	Name        string
	ClusterName string
	UserName    string
	Config      *rest.Config
}

// ResolveContexts resolves the named contexts of raw as kubectl would use
// each of them (for --all-contexts; kubectl's override flags do not apply).
func ResolveContexts(raw clientcmdapi.Config, names ...string) ([]Context, error) {
	var out []Context
	for _, name := range names {
		cfg, err := clientcmd.NewNonInteractiveClientConfig(raw, name, &clientcmd.ConfigOverrides{}, nil).ClientConfig()
		if err != nil {
			return out, fmt.Errorf("context %q: %w", name, err)
		}
		c := Context{Name: name, Config: cfg}
		if kctx := raw.Contexts[name]; kctx != nil {
			c.ClusterName, c.UserName = kctx.Cluster, kctx.AuthInfo
		}
		out = append(out, c)
	}
	return out, nil
}

// locationPrefix starts the locations of a context's certificates when
// several contexts are checked ("context/NAME "); empty for the current one.
func (c Context) locationPrefix() string {
	if c.Name == "" {
		return ""
	}
	return "context/" + c.Name + " "
}

// Kubeconfig reports every certificate a context uses: the user's client
// certificate and the cluster's CA bundle.
type Kubeconfig struct {
	Context Context
}

// Name implements Source.
func (k *Kubeconfig) Name() string { return "kubeconfig" }

// Collect implements Source.
func (k *Kubeconfig) Collect(_ context.Context, sink Sink) {
	cfg := k.Context.Config
	tls := cfg.TLSClientConfig
	user := "user/" + orDefault(k.Context.UserName, "(flags)")
	cluster := "cluster/" + orDefault(k.Context.ClusterName, "(flags)")
	prefix := k.Context.locationPrefix()
	cred, err := credential(tls.CertData, tls.CertFile, "client-certificate")
	reportCredential(k.Name(), prefix+user, cred, err, sink)
	if len(tls.CertData) == 0 && tls.CertFile == "" {
		switch {
		case cfg.ExecProvider != nil:
			sink.Skipped(k.Name(), prefix+user, "credentials come from an exec plugin ("+cfg.ExecProvider.Command+"); no client certificate in the kubeconfig")
		case cfg.AuthProvider != nil:
			sink.Skipped(k.Name(), prefix+user, "credentials come from the auth provider "+cfg.AuthProvider.Name)
		case cfg.BearerToken != "" || cfg.BearerTokenFile != "":
			sink.Skipped(k.Name(), prefix+user, "authenticates with a token; no client certificate")
		}
	}
	cred, err = credential(tls.CAData, tls.CAFile, "certificate-authority")
	reportCredential(k.Name(), prefix+cluster, cred, err, sink)
}

// APIServer probes the context's server as kubectl would reach it and
// reports the chain it serves, verified against the context's CA.
type APIServer struct {
	Context Context
	// CAReported is true when the Kubeconfig source of the same context
	// runs too and reports a CA that cannot be read: the chain is then
	// reported unverified without a second error for the same input.
	CAReported bool
}

// apiServerSource is the APIServer source's name.
const apiServerSource = "apiserver"

// Name implements Source.
func (a *APIServer) Name() string { return apiServerSource }

// Collect implements Source.
func (a *APIServer) Collect(ctx context.Context, sink Sink) {
	cfg := a.Context.Config
	prefix := a.Context.locationPrefix()
	loc := prefix + cfg.Host
	if strings.HasPrefix(cfg.Host, "http://") {
		sink.Skipped(a.Name(), loc, "the server is plain HTTP: no certificate to check")
		return
	}
	roots, caErr := rootsOf(cfg)
	if caErr != nil {
		if !a.CAReported {
			sink.Error(a.Name(), loc, caErr)
		}
		roots = x509.NewCertPool() // what is served is still reported, unverified
	}
	probe := &tlsprobe.Probe{URL: cfg.Host, ServerName: cfg.TLSClientConfig.ServerName, Roots: roots, Timeout: cfg.Timeout}
	if cfg.Proxy != nil {
		probe.Proxy = cfg.Proxy
	} else {
		probe.Proxy = http.ProxyFromEnvironment
	}
	res, err := probe.Run(ctx)
	if err != nil {
		sink.Error(a.Name(), loc, err)
		return
	}
	if caErr != nil {
		res.Verified, res.VerifyError = false, fmt.Errorf("the kubeconfig's CA cannot be read: %w", caErr)
	}
	ReportProbe(a.Name(), prefix, res, sink)
	if !res.Verified && !cfg.TLSClientConfig.Insecure && caErr == nil {
		// kubectl itself would fail here: an error, not just a finding.
		sink.Error(a.Name(), loc, fmt.Errorf("the served chain does not verify against the kubeconfig's CA: %w", res.VerifyError))
	}
}

// rootsOf is the CA pool the client configuration trusts: its CA data or
// file, or nil (the system roots) when it names none.
func rootsOf(cfg *rest.Config) (*x509.CertPool, error) {
	cred, err := credential(cfg.TLSClientConfig.CAData, cfg.TLSClientConfig.CAFile, "certificate-authority")
	if err != nil || cred == nil {
		return nil, err
	}
	return PoolOf(cred.Bundle), nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
