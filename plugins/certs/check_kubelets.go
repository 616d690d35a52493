package certs

import (
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubecerts/kubecerts/plugins/certs/source"
	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/cli"
)

// validateKubelets checks the flags of the kubelets source: the address
// types, and the CA file, read once here so that one error names it.
func (o *CheckOptions) validateKubelets(cmd *cobra.Command) error {
	o.kubeletTypes = nil
	for _, s := range o.KubeletAddressTypes {
		for _, name := range strings.Split(s, ",") {
			t, err := source.ParseKubeletAddressType(strings.TrimSpace(name))
			if err != nil {
				return cli.UsageErrorf(cmd, "--kubelet-address-types %v", err)
			}
			o.kubeletTypes = append(o.kubeletTypes, t)
		}
	}
	if len(o.kubeletTypes) == 0 {
		return cli.UsageErrorf(cmd, "--kubelet-address-types must name at least one address type")
	}
	if cmd.Flags().Changed("kubelet-certificate-authority") {
		if strings.TrimSpace(o.KubeletCA) == "" {
			return cli.UsageErrorf(cmd, "--kubelet-certificate-authority %q: must not be empty", o.KubeletCA)
		}
		b, err := certificate.ReadFile(o.KubeletCA)
		if err != nil {
			return cli.UsageErrorf(cmd, "--kubelet-certificate-authority %s: %v", o.KubeletCA, source.ErrorMessage(o.KubeletCA, err))
		}
		pool := x509.NewCertPool()
		var leaves []string
		for _, c := range b.Certificates {
			if c.BasicConstraintsValid && c.IsCA {
				pool.AddCert(c)
				continue
			}
			leaves = append(leaves, c.Subject.String())
		}
		if len(leaves) > 0 {
			return cli.UsageErrorf(cmd, "--kubelet-certificate-authority %s: not a CA certificate (%q is not a CA: basicConstraints CA:TRUE missing); give the cluster CA that signs kubelet-serving certificates", o.KubeletCA, leaves[0])
		}
		o.kubeletRoots = pool
	}
	return nil
}

// kubeletsSource is the kubelets source with the flags' settings; the
// chains are verified against --kubelet-certificate-authority, else the
// kubeconfig's CA.
func (o *CheckOptions) kubeletsSource() *source.Kubelets {
	s := &source.Kubelets{
		Scope: o.scope, Names: o.Nodes, AddressTypes: o.kubeletTypes,
		Parallel: o.Parallel, Timeout: source.DefaultKubeletTimeout,
		Now: o.now(), WarnWithin: o.Thresholds.WarnWithin,
	}
	if o.nodeTimeoutSet {
		s.Timeout = o.NodeTimeout
	}
	switch {
	case o.kubeletRoots != nil:
		s.Roots, s.RootsFrom = o.kubeletRoots, "--kubelet-certificate-authority"
	case o.factory != nil:
		cfg, err := o.factory.ToRESTConfig()
		if err != nil {
			s.RootsErr = err
			break
		}
		s.Roots, s.RootsErr = source.RootsOf(cfg)
		s.RootsFrom = "the kubeconfig's CA"
		if s.Roots == nil && s.RootsErr == nil {
			s.RootsFrom = "the system roots (the kubeconfig names no CA)"
		}
		if s.RootsErr != nil {
			s.RootsErr = fmt.Errorf("the kubeconfig's %w", s.RootsErr)
		}
	}
	return s
}

func addressTypeNames(types []corev1.NodeAddressType) []string {
	out := make([]string, len(types))
	for i, t := range types {
		out[i] = string(t)
	}
	return out
}
