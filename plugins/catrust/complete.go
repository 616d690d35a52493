package catrust

import (
	"sort"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"

	"github.com/kubecerts/kubecerts/shared/cmdutil"
)

// secretsResource is what --secret names.
var secretsResource = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}

// registerSecretCompletion makes --secret of every command that has it
// complete from the cluster: the Opaque secrets of the trust secret's
// namespace (-n/--namespace when given, else kube-system). kubectl's own
// resource completion would look in the context's namespace instead.
// Only metadata is listed: no secret's data reaches the plugin.
func registerSecretCompletion(f cmdutil.Factory, cmds ...*cobra.Command) {
	for _, cmd := range cmds {
		if cmd.Flags().Lookup("secret") == nil {
			continue
		}
		_ = cmd.RegisterFlagCompletionFunc("secret", func(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			return completeSecretNames(cmd, f, toComplete), cobra.ShellCompDirectiveNoFileComp
		})
	}
}

// completeSecretNames lists the names of the Opaque secrets, beginning
// with prefix, in the namespace the command would use; none when the
// cluster cannot be asked (completion never fails loudly).
func completeSecretNames(cmd *cobra.Command, f cmdutil.Factory, prefix string) []string {
	ns := DefaultNamespace
	if n, explicit, err := f.ToRawKubeConfigLoader().Namespace(); err == nil && explicit && n != "" {
		ns = n
	}
	cfg, err := f.ToRESTConfig()
	if err != nil {
		return nil
	}
	client, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil
	}
	list, err := client.Resource(secretsResource).Namespace(ns).List(cmd.Context(), metav1.ListOptions{FieldSelector: "type=Opaque"})
	if err != nil {
		return nil
	}
	var names []string
	for _, s := range list.Items {
		if strings.HasPrefix(s.Name, prefix) {
			names = append(names, s.Name)
		}
	}
	sort.Strings(names)
	return names
}
