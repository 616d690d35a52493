// Package cmdutil is the part of kubectl's k8s.io/kubectl/pkg/cmd/util that
// the plugins use: the Factory every command takes its clients from,
// --match-server-version and --dry-run, with kubectl's behaviour (the code is
// kubectl's, Apache 2.0, The Kubernetes Authors, cut down).
//
// kubectl's package is not imported because of what it imports: kubectl's
// own scheme (every API group registered a second time, beside client-go's),
// the scale client, OpenAPI validation and translations, whose package init
// runs in every command, `version` included (~7 ms of ~35 ms of package init).
//
// kubectl's cmdutil.Factory satisfies Factory, so kubectl's test factory
// (k8s.io/kubectl/pkg/cmd/testing) serves tests.
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

// Factory gives commands the kubeconfig and clients that kubectl's global
// flags select.
type Factory interface {
	genericclioptions.RESTClientGetter
	// KubernetesClientSet is a clientset on ToRESTConfig.
	KubernetesClientSet() (*kubernetes.Clientset, error)
}

// NewFactory is kubectl's cmdutil.NewFactory: a Factory on clientGetter.
func NewFactory(clientGetter genericclioptions.RESTClientGetter) Factory {
	if clientGetter == nil {
		panic("attempt to instantiate client_access_factory with nil clientGetter")
	}
	return &factory{clientGetter: clientGetter}
}

type factory struct {
	clientGetter genericclioptions.RESTClientGetter
}

func (f *factory) ToRESTConfig() (*rest.Config, error) { return f.clientGetter.ToRESTConfig() }

func (f *factory) ToRESTMapper() (meta.RESTMapper, error) { return f.clientGetter.ToRESTMapper() }

func (f *factory) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	return f.clientGetter.ToDiscoveryClient()
}

func (f *factory) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	return f.clientGetter.ToRawKubeConfigLoader()
}

func (f *factory) KubernetesClientSet() (*kubernetes.Clientset, error) {
	clientConfig, err := f.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(clientConfig)
}

const flagMatchBinaryVersion = "match-server-version"

// MatchVersionFlags is kubectl's: --match-server-version, and a
// RESTClientGetter that, when it is set, fails unless the server's version is
// the client's, and that sets Kubernetes' defaults on the REST config.
type MatchVersionFlags struct {
	Delegate genericclioptions.RESTClientGetter

	RequireMatchedServerVersion bool
	checkServerVersion          sync.Once
	matchesServerVersionErr     error
}

var _ genericclioptions.RESTClientGetter = &MatchVersionFlags{}

// NewMatchVersionFlags wraps delegate.
func NewMatchVersionFlags(delegate genericclioptions.RESTClientGetter) *MatchVersionFlags {
	return &MatchVersionFlags{Delegate: delegate}
}

func (f *MatchVersionFlags) checkMatchingServerVersion() error {
	f.checkServerVersion.Do(func() {
		if !f.RequireMatchedServerVersion {
			return
		}
		discoveryClient, err := f.Delegate.ToDiscoveryClient()
		if err != nil {
			f.matchesServerVersionErr = err
			return
		}
		f.matchesServerVersionErr = discovery.MatchesServerVersion(version.Get(), discoveryClient)
	})
	return f.matchesServerVersionErr
}

// ToRESTConfig implements genericclioptions.RESTClientGetter.
func (f *MatchVersionFlags) ToRESTConfig() (*rest.Config, error) {
	if err := f.checkMatchingServerVersion(); err != nil {
		return nil, err
	}
	clientConfig, err := f.Delegate.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	setKubernetesDefaults(clientConfig)
	return clientConfig, nil
}

// ToRawKubeConfigLoader implements genericclioptions.RESTClientGetter.
func (f *MatchVersionFlags) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	return f.Delegate.ToRawKubeConfigLoader()
}

// ToDiscoveryClient implements genericclioptions.RESTClientGetter.
func (f *MatchVersionFlags) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	if err := f.checkMatchingServerVersion(); err != nil {
		return nil, err
	}
	return f.Delegate.ToDiscoveryClient()
}

// ToRESTMapper implements genericclioptions.RESTClientGetter.
func (f *MatchVersionFlags) ToRESTMapper() (meta.RESTMapper, error) {
	if err := f.checkMatchingServerVersion(); err != nil {
		return nil, err
	}
	return f.Delegate.ToRESTMapper()
}

// AddFlags binds --match-server-version.
func (f *MatchVersionFlags) AddFlags(flags *pflag.FlagSet) {
	flags.BoolVar(&f.RequireMatchedServerVersion, flagMatchBinaryVersion, f.RequireMatchedServerVersion, "Require server version to match client version")
}

// setKubernetesDefaults is kubectl's, with client-go's scheme for kubectl's
// (the clients the plugins make set their own serializer).
func setKubernetesDefaults(config *rest.Config) {
	config.GroupVersion = &schema.GroupVersion{Group: "", Version: "v1"}
	if config.APIPath == "" {
		config.APIPath = "/api"
	}
	if config.NegotiatedSerializer == nil {
		config.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	}
	_ = rest.SetKubernetesDefaults(config)
}

// DryRunStrategy is what --dry-run asks for.
type DryRunStrategy int

const (
	// DryRunNone indicates the client will make all mutating calls.
	DryRunNone DryRunStrategy = iota
	// DryRunClient, or client-side dry-run, indicates the client will
	// prevent making mutating calls such as CREATE, PATCH, and DELETE.
	DryRunClient
	// DryRunServer, or server-side dry-run, indicates the client will send
	// mutating calls to the API server with the dry-run parameter to prevent
	// persisting changes.
	DryRunServer
)

// AddDryRunFlag adds kubectl's --dry-run to cmd.
func AddDryRunFlag(cmd *cobra.Command) {
	cmd.Flags().String(
		"dry-run",
		"none",
		`Must be "none", "server", or "client". If client strategy, only print the object that would be sent, without sending it. If server strategy, submit server-side request without persisting the resource.`,
	)
	cmd.Flags().Lookup("dry-run").NoOptDefVal = "unchanged"
}

// GetDryRunStrategy reads --dry-run as kubectl does, accepting (with a
// warning) its deprecated forms: no value, true and false.
func GetDryRunStrategy(cmd *cobra.Command) (DryRunStrategy, error) {
	dryRunFlag, err := cmd.Flags().GetString("dry-run")
	if err != nil {
		klog.Fatalf("error accessing flag %s for command %s: %v", "dry-run", cmd.Name(), err)
	}
	b, err := strconv.ParseBool(dryRunFlag)
	// The flag is not a boolean
	if err != nil {
		switch dryRunFlag {
		case cmd.Flag("dry-run").NoOptDefVal:
			klog.Warning(`--dry-run is deprecated and can be replaced with --dry-run=client.`)
			return DryRunClient, nil
		case "client":
			return DryRunClient, nil
		case "server":
			return DryRunServer, nil
		case "none":
			return DryRunNone, nil
		default:
			//lint:ignore ST1005 kubectl's message, word for word (the bad-input tests expect it)
			return DryRunNone, fmt.Errorf(`Invalid dry-run value (%v). Must be "none", "server", or "client".`, dryRunFlag)
		}
	}
	// The flag was a boolean
	if b {
		klog.Warningf(`--dry-run=%v is deprecated (boolean value) and can be replaced with --dry-run=%s.`, dryRunFlag, "client")
		return DryRunClient, nil
	}
	klog.Warningf(`--dry-run=%v is deprecated (boolean value) and can be replaced with --dry-run=%s.`, dryRunFlag, "none")
	return DryRunNone, nil
}
