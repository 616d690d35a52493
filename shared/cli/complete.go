package cli

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubecerts/kubecerts/shared/cmdutil"
)

// registerGlobalFlagCompletion completes the global flags whose values name
// something: -n from the cluster's namespaces, --context, --cluster and
// --user from the kubeconfig. These are the completions kubectl's
// k8s.io/kubectl/pkg/util/completion gives them; that package is not used
// because it imports kubectl's get and api-resources commands, whose
// package-level i18n.T calls load kubectl's translation catalog at init, in
// every run of every command.
func registerGlobalFlagCompletion(cmd *cobra.Command, f cmdutil.Factory) {
	fromConfig := func(names func(*clientcmdapi.Config) []string) func(*cobra.Command, string) []string {
		return func(_ *cobra.Command, toComplete string) []string {
			config, err := f.ToRawKubeConfigLoader().RawConfig()
			if err != nil {
				return nil
			}
			return withPrefix(names(&config), toComplete)
		}
	}
	fns := map[string]func(*cobra.Command, string) []string{
		"namespace": func(c *cobra.Command, toComplete string) []string {
			return withPrefix(namespaceNames(c.Context(), f), toComplete)
		},
		"context": fromConfig(func(c *clientcmdapi.Config) []string { return slices.Collect(maps.Keys(c.Contexts)) }),
		"cluster": fromConfig(func(c *clientcmdapi.Config) []string { return slices.Collect(maps.Keys(c.Clusters)) }),
		"user":    fromConfig(func(c *clientcmdapi.Config) []string { return slices.Collect(maps.Keys(c.AuthInfos)) }),
	}
	for name, fn := range fns {
		_ = cmd.RegisterFlagCompletionFunc(name, func(c *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			return fn(c, toComplete), cobra.ShellCompDirectiveNoFileComp
		})
	}
}

// namespaceNames lists the cluster's namespaces, in the API server's order
// (by name), as `kubectl get namespace` would; none when the cluster cannot
// be asked: completion never fails loudly.
func namespaceNames(ctx context.Context, f cmdutil.Factory) []string {
	client, err := f.KubernetesClientSet()
	if err != nil {
		return nil
	}
	list, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(list.Items))
	for _, ns := range list.Items {
		names = append(names, ns.Name)
	}
	return names
}

// withPrefix keeps the names that begin with prefix; nil when none do.
func withPrefix(names []string, prefix string) []string {
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out
}
