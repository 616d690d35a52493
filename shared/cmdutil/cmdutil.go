// Package cmdutil gives the plugins' commands their clients and kubectl's
// --match-server-version and --dry-run flags, behaving as kubectl's
// k8s.io/kubectl/pkg/cmd/util does for the same flags (the tests hold it to
// that package, which they import).
//
// That package is not imported by the plugins for what its import costs at
// start-up: kubectl's own scheme (every API group registered a second time,
// beside client-go's), the scale client, OpenAPI validation and
// translations, whose package init runs in every command, `version`
// included (~7 ms of ~35 ms of package init).
//
// kubectl's cmdutil.Factory satisfies Factory, so kubectl's test factory
// (k8s.io/kubectl/pkg/cmd/testing) serves the unit tests.
package cmdutil

import (
	"fmt"
	"strconv"
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/component-base/version"
	"k8s.io/klog/v2"
)

// Factory is where commands get the kubeconfig and clients that kubectl's
// global flags select.
type Factory interface {
	genericclioptions.RESTClientGetter
	// KubernetesClientSet is a clientset on ToRESTConfig.
	KubernetesClientSet() (*kubernetes.Clientset, error)
}

// NewFactory is a Factory on getter, which must not be nil.
func NewFactory(getter genericclioptions.RESTClientGetter) Factory {
	if getter == nil {
		panic("cmdutil.NewFactory: nil RESTClientGetter")
	}
	return clientsOf{getter}
}

// clientsOf adds the clientset to a RESTClientGetter.
type clientsOf struct {
	genericclioptions.RESTClientGetter
}

func (c clientsOf) KubernetesClientSet() (*kubernetes.Clientset, error) {
	cfg, err := c.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

// MatchVersionFlags is --match-server-version over a RESTClientGetter:
// with the flag set, every client it gives fails unless the server is of
// this client's version (asked once). The REST configs it gives carry
// Kubernetes' defaults for the core group, as kubectl's do.
type MatchVersionFlags struct {
	Delegate                    genericclioptions.RESTClientGetter
	RequireMatchedServerVersion bool

	checked  sync.Once
	mismatch error
}

var _ genericclioptions.RESTClientGetter = &MatchVersionFlags{}

// NewMatchVersionFlags wraps delegate.
func NewMatchVersionFlags(delegate genericclioptions.RESTClientGetter) *MatchVersionFlags {
	return &MatchVersionFlags{Delegate: delegate}
}

// AddFlags binds --match-server-version.
func (f *MatchVersionFlags) AddFlags(flags *pflag.FlagSet) {
	flags.BoolVar(&f.RequireMatchedServerVersion, "match-server-version", f.RequireMatchedServerVersion,
		"Require server version to match client version")
}

// versionMatches is nil unless the flag is set and the server's version
// differs from the client's, or cannot be asked.
func (f *MatchVersionFlags) versionMatches() error {
	f.checked.Do(func() {
		if !f.RequireMatchedServerVersion {
			return
		}
		d, err := f.Delegate.ToDiscoveryClient()
		if err == nil {
			err = discovery.MatchesServerVersion(version.Get(), d)
		}
		f.mismatch = err
	})
	return f.mismatch
}

// ToRESTConfig implements genericclioptions.RESTClientGetter.
func (f *MatchVersionFlags) ToRESTConfig() (*rest.Config, error) {
	if err := f.versionMatches(); err != nil {
		return nil, err
	}
	cfg, err := f.Delegate.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	// The core group's defaults; the clients the plugins make set their
	// own serializer, so client-go's scheme serves for kubectl's here.
	cfg.GroupVersion = &schema.GroupVersion{Version: "v1"}
	if cfg.APIPath == "" {
		cfg.APIPath = "/api"
	}
	if cfg.NegotiatedSerializer == nil {
		cfg.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	}
	_ = rest.SetKubernetesDefaults(cfg) // sets the user agent; never fails
	return cfg, nil
}

// ToRawKubeConfigLoader implements genericclioptions.RESTClientGetter.
func (f *MatchVersionFlags) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	return f.Delegate.ToRawKubeConfigLoader()
}

// ToDiscoveryClient implements genericclioptions.RESTClientGetter.
func (f *MatchVersionFlags) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	if err := f.versionMatches(); err != nil {
		return nil, err
	}
	return f.Delegate.ToDiscoveryClient()
}

// ToRESTMapper implements genericclioptions.RESTClientGetter.
func (f *MatchVersionFlags) ToRESTMapper() (meta.RESTMapper, error) {
	if err := f.versionMatches(); err != nil {
		return nil, err
	}
	return f.Delegate.ToRESTMapper()
}

// DryRunStrategy is what --dry-run asks for.
type DryRunStrategy int

const (
	// DryRunNone: every call is made.
	DryRunNone DryRunStrategy = iota
	// DryRunClient: no call that changes anything is made; what it would
	// send is printed.
	DryRunClient
	// DryRunServer: changes are sent with dryRun=All, so that the API
	// server validates them and persists nothing.
	DryRunServer
)

// dryRunBare is --dry-run's value when given with none: the deprecated
// spelling of client.
const dryRunBare = "unchanged"

// AddDryRunFlag adds --dry-run, with kubectl's help, default and values.
func AddDryRunFlag(cmd *cobra.Command) {
	cmd.Flags().String("dry-run", "none",
		`Must be "none", "server", or "client". If client strategy, only print the object that would be sent, without sending it. If server strategy, submit server-side request without persisting the resource.`)
	cmd.Flags().Lookup("dry-run").NoOptDefVal = dryRunBare
}

// GetDryRunStrategy reads --dry-run. kubectl's deprecated spellings are
// taken, with its warning: no value (client), and true or false.
func GetDryRunStrategy(cmd *cobra.Command) (DryRunStrategy, error) {
	value, err := cmd.Flags().GetString("dry-run")
	if err != nil {
		klog.Fatalf("error accessing flag %s for command %s: %v", "dry-run", cmd.Name(), err)
	}
	switch value {
	case "none":
		return DryRunNone, nil
	case "client":
		return DryRunClient, nil
	case "server":
		return DryRunServer, nil
	case cmd.Flag("dry-run").NoOptDefVal:
		klog.Warning(`--dry-run is deprecated and can be replaced with --dry-run=client.`)
		return DryRunClient, nil
	}
	b, err := strconv.ParseBool(value)
	if err != nil {
		//lint:ignore ST1005 kubectl's message, word for word (the bad-input tests expect it)
		return DryRunNone, fmt.Errorf(`Invalid dry-run value (%v). Must be "none", "server", or "client".`, value)
	}
	instead, strategy := "none", DryRunNone
	if b {
		instead, strategy = "client", DryRunClient
	}
	klog.Warningf(`--dry-run=%v is deprecated (boolean value) and can be replaced with --dry-run=%s.`, value, instead)
	return strategy, nil
}
