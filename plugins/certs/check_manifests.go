package certs

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/robfig/cron/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"github.com/kubecerts/kubecerts/shared/cli"
	"github.com/kubecerts/kubecerts/shared/cmdutil"
	"github.com/kubecerts/kubecerts/shared/version"
)

// kubectl certs check --print-manifests: a CronJob that runs the check with
// the flags of the command line, its ServiceAccount, and RBAC for exactly the
// sources given.

// Defaults of --print-manifests.
const (
	// DefaultSchedule is the CronJob's schedule unless --schedule.
	DefaultSchedule = "@daily"
	// CheckJobName names the namespaced objects (ServiceAccount, Role,
	// RoleBinding, CronJob); the cluster-scoped ones and the Role in default
	// add "-<namespace>", so that jobs in two namespaces do not share them.
	CheckJobName = "kubecerts-check"
)

// Bounds of the job.
const (
	// startingDeadlineSeconds: a run missed by up to an hour (say, while
	// kube-controller-manager restarted) still starts.
	checkStartingDeadlineSeconds = 3600
	// checkActiveDeadlineSeconds: a check that has not ended in 30 minutes
	// is stopped and its Job failed, rather than hanging on until the next.
	checkActiveDeadlineSeconds = 1800
	// checkHistoryLimit: the last Jobs of each outcome kept for kubectl logs.
	checkHistoryLimit = 3
	// nonRootID is the image's user and group (as distroless' nonroot).
	nonRootID = 65532
)

// inClusterSources are the sources the job may run: those that read the API
// server through the ServiceAccount, or dial from the pod's network.
var inClusterSources = []string{SourceSecrets, SourceCSR, SourceWebhooks, SourceConfigMaps, SourceTrustBundles, SourcePodCerts, SourceKubelets, SourceEndpoint, SourceCluster}

// notInCluster says why a source cannot run in the job's pod.
var notInCluster = map[string]string{
	SourceKubeconfig: "the job's pod has no kubeconfig (it reaches the API server as its ServiceAccount)",
	SourceAPIServer:  "the job's pod has no kubeconfig (it reaches the API server as its ServiceAccount)",
	SourceFile:       "it reads files on this machine, which the job's pod does not have",
	SourcePKIDir:     "it reads a node's files, which the job's pod does not have",
	SourceK3sDir:     "it reads a node's files, which the job's pod does not have",
	SourceNodes:      "it runs the Azure CLI, which the image does not have",
}

// carriedGlobals are the global flags carried into the job; the others are
// the kubeconfig's, the connection's and the credentials' (the pod has its
// ServiceAccount's), and -n, which is carried explicitly.
var carriedGlobals = map[string]bool{
	"request-timeout": true, "disable-compression": true, "match-server-version": true,
	"v": true, "vmodule": true, "log-flush-frequency": true,
}

// notCarried are the flags of check that the job's arguments do not repeat:
// those of --print-manifests, the output format (-o picks the manifests'
// format; the job prints the table to its log), --source (written
// explicitly), and the flags of the sources that cannot run in the pod.
var notCarried = map[string]bool{
	"print-manifests": true, "schedule": true, "image": true,
	"output": true, "template": true, "allow-missing-template-keys": true, "show-managed-fields": true,
	"source": true, "all-contexts": true,
	"file": true, "pki-dir": true, "kubeconfig-dir": true, "kubelet-pki-dir": true, "k3s-dir": true,
	"az-path": true, "node-cert-path": true, "run-command-output": true, "textfile": true,
	"kubelet-certificate-authority": true,
}

// manifestFlags are the flags of --print-manifests.
type manifestFlags struct {
	Print    bool
	Schedule string
	Image    string
}

func newManifestFlags() *manifestFlags {
	return &manifestFlags{Schedule: DefaultSchedule, Image: version.Image()}
}

// AddFlags binds the flags to check.
func (m *manifestFlags) AddFlags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&m.Print, "print-manifests", false, "Print, instead of checking, the YAML that runs this check in the cluster (kubectl apply -f -): a CronJob with the flags given here, in -n (default: the context's namespace), its ServiceAccount and least-privilege RBAC for the sources given (default: cluster); -o json prints a v1 List.")
	fl.StringVar(&m.Schedule, "schedule", m.Schedule, "With --print-manifests: the CronJob's schedule, a cron expression (\"0 6 * * *\", @hourly, …) in kube-controller-manager's time zone.")
	fl.StringVar(&m.Image, "image", m.Image, "With --print-manifests: the container image, which must have kubectl-certs on PATH.")
}

// checkManifestParams are what the manifests depend on.
type checkManifestParams struct {
	// Namespace of the ServiceAccount, CronJob, and Role when not -A.
	Namespace string
	Image     string
	Schedule  string
	// Sources the job runs, cluster expanded.
	Sources map[string]bool
	// AllNamespaces: the namespaced sources list every namespace (a
	// ClusterRole), else Namespace (a Role there).
	AllNamespaces bool
	// RecordEvents: the job records Events on the objects it checks.
	RecordEvents bool
	// Args are kubectl-certs's arguments: check and the flags.
	Args []string
}

// run prints the manifests when --print-manifests is given, and reports
// whether it handled the command (printing, or refusing a flag of
// --print-manifests given without it).
func (m *manifestFlags) run(f cmdutil.Factory, cmd *cobra.Command, o *CheckOptions) (bool, error) {
	if !m.Print {
		for _, name := range []string{"schedule", "image"} {
			if cmd.Flags().Changed(name) {
				return true, cli.UsageErrorf(cmd, "--%s applies only with --print-manifests", name)
			}
		}
		return false, nil
	}
	p, err := m.complete(f, cmd, o)
	if err != nil {
		return true, err
	}
	return true, printCheckManifests(o.Out, o.PrintFlags.Format(), checkManifests(p))
}

// complete checks the command line for a job and turns it into the
// manifests' parameters.
func (m *manifestFlags) complete(f cmdutil.Factory, cmd *cobra.Command, o *CheckOptions) (checkManifestParams, error) {
	fl := cmd.Flags()
	if o.AllContexts {
		return checkManifestParams{}, cli.UsageErrorf(cmd, "--print-manifests: --all-contexts cannot run in the cluster: the job's pod has no kubeconfig")
	}
	if fl.Changed("run-command-output") {
		return checkManifestParams{}, cli.UsageErrorf(cmd, "--print-manifests: --run-command-output cannot run in the cluster: it reads output captured on this machine")
	}
	if fl.Changed("textfile") {
		return checkManifestParams{}, cli.UsageErrorf(cmd, "--print-manifests: --textfile cannot run in the cluster: it writes a file on this machine, and the job's root filesystem is read-only (its report goes to its log)")
	}
	names, from := jobSources(fl, o.Sources)
	for _, name := range names {
		if !contains(allSources, name) {
			return checkManifestParams{}, cli.UsageErrorf(cmd, "--source %q: unknown source; use one of: %s", name, strings.Join(allSources, ", "))
		}
		if why, ok := notInCluster[name]; ok {
			by := ""
			if from[name] != "" {
				by = " (from " + from[name] + ")"
			}
			return checkManifestParams{}, cli.UsageErrorf(cmd, "--print-manifests: source %q%s cannot run in the cluster: %s; the job runs %s", name, by, why, strings.Join(inClusterSources, ", "))
		}
	}
	o.factory = f
	o.selected = map[string]bool{}
	for _, name := range names {
		if name == SourceCluster {
			for _, n := range clusterSources {
				o.selected[n] = true
			}
			continue
		}
		o.selected[name] = true
	}
	if o.selected[SourceKubelets] && fl.Changed("kubelet-certificate-authority") {
		return checkManifestParams{}, cli.UsageErrorf(cmd, "--print-manifests: --kubelet-certificate-authority %q is a file on this machine, which the job's pod does not have; the job verifies kubelets against the cluster CA of its ServiceAccount", o.KubeletCA)
	}
	if ca, err := fl.GetString("certificate-authority"); err == nil && ca != "" && o.selected[SourceEndpoint] {
		return checkManifestParams{}, cli.UsageErrorf(cmd, "--print-manifests: --certificate-authority %q is a file on this machine, which the job's pod does not have; the job verifies endpoints against the image's system roots", ca)
	}
	if out := o.PrintFlags.Format(); out != "" && out != "yaml" && out != "json" {
		return checkManifestParams{}, cli.UsageErrorf(cmd, "--output %q: --print-manifests prints yaml (the default) or json", out)
	}
	if err := validateSchedule(m.Schedule); err != nil {
		return checkManifestParams{}, cli.UsageErrorf(cmd, "--schedule %q: %v", m.Schedule, err)
	}
	if m.Image == "" || strings.TrimSpace(m.Image) != m.Image {
		return checkManifestParams{}, cli.UsageErrorf(cmd, "--image %q: not an image reference", m.Image)
	}
	if err := o.Validate(cmd); err != nil {
		return checkManifestParams{}, err
	}
	ns, err := manifestNamespace(f, fl)
	if err != nil {
		return checkManifestParams{}, cli.UsageErrorf(cmd, "--print-manifests: no -n, and the context's namespace cannot be read: %v", err)
	}
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return checkManifestParams{}, cli.UsageErrorf(cmd, "--namespace %q: not a valid namespace name: %s", ns, strings.Join(errs, "; "))
	}
	p := checkManifestParams{
		Namespace: ns, Image: m.Image, Schedule: m.Schedule, Sources: o.selected,
		AllNamespaces: o.AllNamespaces, RecordEvents: recordEvents(fl),
	}
	p.Args = jobArgs(cmd, names, ns, o.AllNamespaces)
	return p, nil
}

// jobSources are the sources of the command line, in the order given: those
// of --source, else those its flags imply (as Complete picks them, with the
// flag that implies each), else cluster.
func jobSources(fl *pflag.FlagSet, given []string) (names []string, from map[string]string) {
	from = map[string]string{}
	for _, s := range given {
		for _, name := range strings.Split(s, ",") {
			if name = strings.TrimSpace(name); name != "" && !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	if len(names) > 0 {
		return names, from
	}
	for _, implied := range impliedSources {
		for _, flag := range implied.flags {
			if fl.Changed(flag) && !slices.Contains(names, implied.source) {
				names = append(names, implied.source)
				from[implied.source] = "--" + flag
			}
		}
	}
	if len(names) == 0 {
		names = []string{SourceCluster}
	}
	return names, from
}

// validateSchedule accepts what the API server accepts in a new CronJob's
// spec.schedule: a standard cron expression or descriptor, without a time
// zone (the API server refuses TZ= and CRON_TZ= there: spec.timeZone is
// the place for it).
func validateSchedule(s string) error {
	if strings.Contains(s, "TZ") {
		return fmt.Errorf("no TZ= or CRON_TZ= in a CronJob's schedule (the API server refuses it); the schedule is in kube-controller-manager's time zone")
	}
	if _, err := cron.ParseStandard(s); err != nil {
		return fmt.Errorf("not a cron expression: %v", err)
	}
	return nil
}

// manifestNamespace is -n, else the context's namespace ("default" when it
// names none, or there is no kubeconfig), as kubectl apply would use.
func manifestNamespace(f cmdutil.Factory, fl *pflag.FlagSet) (string, error) {
	if n := fl.Lookup("namespace"); n != nil && n.Changed {
		return n.Value.String(), nil
	}
	ns, _, err := f.ToRawKubeConfigLoader().Namespace()
	if clientcmd.IsEmptyConfig(err) {
		return metav1.NamespaceDefault, nil
	}
	return ns, err
}

// recordEvents is --record-events, false where the command has no such flag.
func recordEvents(fl *pflag.FlagSet) bool {
	f := fl.Lookup("record-events")
	return f != nil && f.Value.String() == "true"
}

// jobArgs are the job's arguments: check, --source, -n unless -A, and every
// flag set on the command line but those notCarried and the global ones
// carriedGlobals does not name, each as --name=value (a slice flag repeated
// for each value). The Pod's args are an argv, no shell; "$" is doubled, as
// Kubernetes would otherwise expand $(VAR) in them.
func jobArgs(cmd *cobra.Command, sources []string, ns string, allNamespaces bool) []string {
	args := []string{"check"}
	for _, s := range sources {
		args = append(args, "--source="+s)
	}
	if !allNamespaces {
		args = append(args, "--namespace="+ns)
	}
	inherited := cmd.InheritedFlags()
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if inherited.Lookup(f.Name) != nil {
			if !carriedGlobals[f.Name] {
				return
			}
		} else if notCarried[f.Name] {
			return
		}
		args = append(args, flagArgs(f)...)
	})
	for i := range args {
		args[i] = strings.ReplaceAll(args[i], "$", "$$")
	}
	return args
}

// flagArgs writes a flag set on the command line as arguments that set it
// to the same value: --name=value, --name for a true bool, and a slice flag
// repeated for each value (quoted as CSV where a comma-separated one needs
// it), never its String()'s "[a,b]".
func flagArgs(f *pflag.Flag) []string {
	name := "--" + f.Name
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		values := sv.GetSlice()
		if len(values) == 0 {
			return []string{name + "="}
		}
		out := make([]string, 0, len(values))
		for _, v := range values {
			if f.Value.Type() == "stringSlice" {
				v = csvField(v)
			}
			out = append(out, name+"="+v)
		}
		return out
	}
	if f.Value.Type() == "bool" && f.Value.String() == "true" {
		return []string{name}
	}
	return []string{name + "=" + f.Value.String()}
}

// csvField quotes v as one field of a comma-separated flag value.
func csvField(v string) string {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{v})
	w.Flush()
	return strings.TrimSuffix(b.String(), "\n")
}

// The resources each source lists, by API group.
type groupResource struct{ group, resource string }

var (
	// namespacedResources are listed in -n, or in every namespace with -A.
	namespacedResources = map[string][]groupResource{
		SourceSecrets:    {{"", "secrets"}},
		SourceConfigMaps: {{"", "configmaps"}},
		SourcePodCerts:   {{certificatesv1.GroupName, "podcertificaterequests"}},
	}
	// clusterResources are cluster-scoped. kubelets lists Nodes, and
	// kubelet-serving CSRs for its note on pending renewals.
	clusterResources = map[string][]groupResource{
		SourceCSR: {{certificatesv1.GroupName, "certificatesigningrequests"}},
		SourceWebhooks: {
			{admissionregistrationv1.GroupName, "validatingwebhookconfigurations"},
			{admissionregistrationv1.GroupName, "mutatingwebhookconfigurations"},
			{"apiregistration.k8s.io", "apiservices"},
			{"apiextensions.k8s.io", "customresourcedefinitions"},
		},
		SourceTrustBundles: {{certificatesv1.GroupName, "clustertrustbundles"}},
		SourceKubelets:     {{"", "nodes"}, {certificatesv1.GroupName, "certificatesigningrequests"}},
	}
	// eventVerbs are what --record-events does with an Event (package
	// events' Sink): get it, create it when absent, else update its series;
	// never patch, list or delete.
	eventVerbs = []string{"create", "get", "update"}
)

// listRules are the rules that list the resources of the sources in the
// tables: one rule per API group, its resources sorted.
func listRules(sources map[string]bool, tables ...map[string][]groupResource) []rbacv1.PolicyRule {
	byGroup := map[string][]string{}
	for _, table := range tables {
		for name, rs := range table {
			if !sources[name] {
				continue
			}
			for _, r := range rs {
				if !slices.Contains(byGroup[r.group], r.resource) {
					byGroup[r.group] = append(byGroup[r.group], r.resource)
				}
			}
		}
	}
	groups := make([]string, 0, len(byGroup))
	for g := range byGroup {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	rules := make([]rbacv1.PolicyRule, 0, len(groups))
	for _, g := range groups {
		sort.Strings(byGroup[g])
		rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{g}, Resources: byGroup[g], Verbs: []string{"list"}})
	}
	return rules
}

func eventsRule() rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: []string{eventsv1.GroupName}, Resources: []string{"events"}, Verbs: slices.Clone(eventVerbs)}
}

func anyOf(sources map[string]bool, table map[string][]groupResource) bool {
	for name := range table {
		if sources[name] {
			return true
		}
	}
	return false
}

// checkManifests are a ServiceAccount; the RBAC of the sources: list on
// what they read, in a Role in the namespace for namespaced resources
// (a ClusterRole with -A) and a ClusterRole for cluster-scoped ones; with
// --record-events, Events where they are recorded (the namespace of a
// namespaced object, default for a cluster-scoped one); the bindings; and a
// CronJob that runs the check.
func checkManifests(p checkManifestParams) []runtime.Object {
	labels := map[string]string{
		"app.kubernetes.io/name":      CheckJobName,
		"app.kubernetes.io/part-of":   "kubecerts",
		"app.kubernetes.io/component": "certificate-check",
	}
	clusterName := CheckJobName + "-" + p.Namespace
	meta := func(ns, name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}
	}
	rbacType := func(kind string) metav1.TypeMeta {
		return metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: kind}
	}
	subjects := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: CheckJobName, Namespace: p.Namespace}}

	namespaced := anyOf(p.Sources, namespacedResources)
	clusterScoped := anyOf(p.Sources, clusterResources)
	var clusterRules, nsRules, defaultRules []rbacv1.PolicyRule
	if p.AllNamespaces {
		clusterRules = listRules(p.Sources, namespacedResources, clusterResources)
		if p.RecordEvents && (namespaced || clusterScoped) {
			clusterRules = append(clusterRules, eventsRule())
		}
	} else {
		clusterRules = listRules(p.Sources, clusterResources)
		nsRules = listRules(p.Sources, namespacedResources)
		if p.RecordEvents && namespaced {
			nsRules = append(nsRules, eventsRule())
		}
		if p.RecordEvents && clusterScoped {
			if p.Namespace == metav1.NamespaceDefault {
				if !namespaced {
					nsRules = append(nsRules, eventsRule())
				}
			} else {
				defaultRules = []rbacv1.PolicyRule{eventsRule()}
			}
		}
	}

	objs := []runtime.Object{&corev1.ServiceAccount{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta: meta(p.Namespace, CheckJobName),
	}}
	if len(clusterRules) > 0 {
		objs = append(objs,
			&rbacv1.ClusterRole{TypeMeta: rbacType("ClusterRole"), ObjectMeta: meta("", clusterName), Rules: clusterRules},
			&rbacv1.ClusterRoleBinding{
				TypeMeta: rbacType("ClusterRoleBinding"), ObjectMeta: meta("", clusterName),
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: clusterName},
				Subjects: subjects,
			})
	}
	role := func(ns, name string, rules []rbacv1.PolicyRule) []runtime.Object {
		return []runtime.Object{
			&rbacv1.Role{TypeMeta: rbacType("Role"), ObjectMeta: meta(ns, name), Rules: rules},
			&rbacv1.RoleBinding{
				TypeMeta: rbacType("RoleBinding"), ObjectMeta: meta(ns, name),
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
				Subjects: subjects,
			},
		}
	}
	if len(nsRules) > 0 {
		objs = append(objs, role(p.Namespace, CheckJobName, nsRules)...)
	}
	if len(defaultRules) > 0 {
		objs = append(objs, role(metav1.NamespaceDefault, clusterName, defaultRules)...)
	}

	objs = append(objs, &batchv1.CronJob{
		TypeMeta:   metav1.TypeMeta{APIVersion: batchv1.SchemeGroupVersion.String(), Kind: "CronJob"},
		ObjectMeta: meta(p.Namespace, CheckJobName),
		Spec: batchv1.CronJobSpec{
			Schedule:                   p.Schedule,
			ConcurrencyPolicy:          batchv1.ForbidConcurrent,
			StartingDeadlineSeconds:    ptr.To[int64](checkStartingDeadlineSeconds),
			SuccessfulJobsHistoryLimit: ptr.To[int32](checkHistoryLimit),
			FailedJobsHistoryLimit:     ptr.To[int32](checkHistoryLimit),
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: batchv1.JobSpec{
					// The exit status is the outcome: a WARNING (2) is a
					// failed Job, not one to run again.
					BackoffLimit:          ptr.To[int32](0),
					ActiveDeadlineSeconds: ptr.To[int64](checkActiveDeadlineSeconds),
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: labels},
						Spec: corev1.PodSpec{
							ServiceAccountName: CheckJobName,
							RestartPolicy:      corev1.RestartPolicyNever,
							SecurityContext: &corev1.PodSecurityContext{
								RunAsNonRoot:   ptr.To(true),
								RunAsUser:      ptr.To[int64](nonRootID),
								RunAsGroup:     ptr.To[int64](nonRootID),
								SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
							},
							Containers: []corev1.Container{{
								Name:    "check",
								Image:   p.Image,
								Command: []string{"kubectl-certs"},
								Args:    p.Args,
								Resources: corev1.ResourceRequirements{
									Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
									Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
								},
								SecurityContext: &corev1.SecurityContext{
									AllowPrivilegeEscalation: ptr.To(false),
									ReadOnlyRootFilesystem:   ptr.To(true),
									Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
								},
							}},
						},
					},
				},
			},
		},
	})
	return objs
}

// printCheckManifests prints the objects as a YAML stream, or with -o json
// as a v1 List.
func printCheckManifests(w io.Writer, format string, objs []runtime.Object) error {
	if format == "json" {
		list := &metav1.List{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "List"}}
		for _, obj := range objs {
			list.Items = append(list.Items, runtime.RawExtension{Object: obj})
		}
		return (&printers.JSONPrinter{}).PrintObj(list, w)
	}
	p := &printers.YAMLPrinter{}
	for _, obj := range objs {
		if err := p.PrintObj(obj, w); err != nil {
			return err
		}
	}
	return nil
}
