package certs

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/kubecerts/kubecerts/shared/cli"
	"github.com/kubecerts/kubecerts/shared/cmdutil"
	"github.com/kubecerts/kubecerts/shared/golden"
	"github.com/kubecerts/kubecerts/shared/version"
)

// runCertsPlugin runs kubectl-certs as a whole (kubectl's global flags on
// the root, as users give them), with a kubeconfig whose context's
// namespace is ctx-ns.
func runCertsPlugin(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	kubeconfig := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: u
  user: {token: not-a-real-token}
contexts:
- name: ctx
  context: {cluster: c, user: u, namespace: ctx-ns}
current-context: ctx
`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", kubeconfig)
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	root := cli.NewRootCommand(cli.Plugin{Name: "certs", Commands: func(f cmdutil.Factory, streams genericiooptions.IOStreams) []*cobra.Command {
		return []*cobra.Command{newCmdCheck(f, NewCheckOptions(streams))}
	}}, streams)
	code = cli.Run(context.Background(), root, args, errOut)
	return code, out.String(), errOut.String()
}

// printManifests runs check --print-manifests and decodes the YAML stream.
func printManifests(t *testing.T, args ...string) []runtime.Object {
	t.Helper()
	code, out, errOut := runCertsPlugin(t, append([]string{"check", "--print-manifests"}, args...)...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, errOut)
	}
	if errOut != "" {
		t.Errorf("%v: stderr %q", args, errOut)
	}
	var objs []runtime.Object
	for _, doc := range strings.Split(out, "\n---\n") {
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode([]byte(doc), nil, nil)
		if err != nil {
			t.Fatalf("the client-go scheme cannot decode:\n%s\n%v", doc, err)
		}
		objs = append(objs, obj)
	}
	return objs
}

func cronJobOf(t *testing.T, objs []runtime.Object) *batchv1.CronJob {
	t.Helper()
	for _, obj := range objs {
		if cj, ok := obj.(*batchv1.CronJob); ok {
			return cj
		}
	}
	t.Fatal("no CronJob")
	return nil
}

func jobArgsOf(t *testing.T, objs []runtime.Object) []string {
	t.Helper()
	return cronJobOf(t, objs).Spec.JobTemplate.Spec.Template.Spec.Containers[0].Args
}

// rbacOf is the RBAC of the manifests: "ClusterRole" and "Role <ns>" to
// their rules, each as "group/resources:verbs", with every binding checked
// to bind its role to the ServiceAccount.
func rbacOf(t *testing.T, objs []runtime.Object) map[string][]string {
	t.Helper()
	rules := func(rs []rbacv1.PolicyRule) []string {
		var out []string
		for _, r := range rs {
			if len(r.ResourceNames) > 0 || len(r.NonResourceURLs) > 0 {
				t.Errorf("rule %+v names resources or URLs", r)
			}
			out = append(out, strings.Join(r.APIGroups, ",")+"/"+strings.Join(r.Resources, ",")+":"+strings.Join(r.Verbs, ","))
		}
		return out
	}
	got := map[string][]string{}
	var sa *corev1.ServiceAccount
	bound := map[string]bool{}
	for _, obj := range objs {
		switch x := obj.(type) {
		case *corev1.ServiceAccount:
			sa = x
		case *rbacv1.ClusterRole:
			got["ClusterRole"] = rules(x.Rules)
			if x.Name != CheckJobName+"-"+sa.Namespace {
				t.Errorf("ClusterRole %s", x.Name)
			}
		case *rbacv1.Role:
			got["Role "+x.Namespace] = rules(x.Rules)
			if want := CheckJobName; x.Namespace == metav1.NamespaceDefault && sa.Namespace != metav1.NamespaceDefault && x.Name != want+"-"+sa.Namespace ||
				x.Namespace == sa.Namespace && x.Name != want {
				t.Errorf("Role %s/%s", x.Namespace, x.Name)
			}
		case *rbacv1.ClusterRoleBinding:
			if x.RoleRef.Kind != "ClusterRole" || x.RoleRef.Name != x.Name || len(x.Subjects) != 1 ||
				x.Subjects[0] != (rbacv1.Subject{Kind: "ServiceAccount", Name: sa.Name, Namespace: sa.Namespace}) {
				t.Errorf("ClusterRoleBinding %+v", x)
			}
			bound["ClusterRole"] = true
		case *rbacv1.RoleBinding:
			if x.RoleRef.Kind != "Role" || x.RoleRef.Name != x.Name || len(x.Subjects) != 1 ||
				x.Subjects[0] != (rbacv1.Subject{Kind: "ServiceAccount", Name: sa.Name, Namespace: sa.Namespace}) {
				t.Errorf("RoleBinding %+v", x)
			}
			bound["Role "+x.Namespace] = true
		}
	}
	for k := range got {
		if !bound[k] {
			t.Errorf("%s is not bound", k)
		}
	}
	if len(bound) != len(got) {
		t.Errorf("bindings %v for roles %v", bound, got)
	}
	return got
}

const (
	eventsRuleText  = "events.k8s.io/events:create,get,update"
	webhooksRules   = "admissionregistration.k8s.io/mutatingwebhookconfigurations,validatingwebhookconfigurations:list"
	crdsRule        = "apiextensions.k8s.io/customresourcedefinitions:list"
	apiservicesRule = "apiregistration.k8s.io/apiservices:list"
)

// TestCheckManifestsRBAC: per set of sources, exactly the rules each needs:
// list, in the namespace or (with -A) every one; Events only with
// --record-events, where they are recorded.
func TestCheckManifestsRBAC(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want map[string][]string
	}{
		{"secrets", []string{"--source", "secrets", "-n", "mon"}, map[string][]string{"Role mon": {"/secrets:list"}}},
		{"configmaps", []string{"--source", "configmaps", "-n", "mon"}, map[string][]string{"Role mon": {"/configmaps:list"}}},
		{"podcerts", []string{"--source", "podcerts", "-n", "mon"}, map[string][]string{"Role mon": {"certificates.k8s.io/podcertificaterequests:list"}}},
		{"csr", []string{"--source", "csr", "-n", "mon"}, map[string][]string{"ClusterRole": {"certificates.k8s.io/certificatesigningrequests:list"}}},
		{"webhooks", []string{"--source", "webhooks", "-n", "mon"}, map[string][]string{"ClusterRole": {webhooksRules, crdsRule, apiservicesRule}}},
		{"trustbundles", []string{"--source", "trustbundles", "-n", "mon"}, map[string][]string{"ClusterRole": {"certificates.k8s.io/clustertrustbundles:list"}}},
		{"kubelets: nodes, and CSRs for the note on pending renewals", []string{"--source", "kubelets", "-n", "mon"},
			map[string][]string{"ClusterRole": {"/nodes:list", "certificates.k8s.io/certificatesigningrequests:list"}}},
		{"kubelets implied by its flags", []string{"--kubelet-address-types", "InternalIP", "-n", "mon"},
			map[string][]string{"ClusterRole": {"/nodes:list", "certificates.k8s.io/certificatesigningrequests:list"}}},
		{"endpoint: nothing to read in the cluster", []string{"--endpoint", "registry.example:443", "-n", "mon"}, map[string][]string{}},
		{"csr and kubelets list CSRs once", []string{"--source", "csr,kubelets", "-n", "mon"},
			map[string][]string{"ClusterRole": {"/nodes:list", "certificates.k8s.io/certificatesigningrequests:list"}}},
		{"cluster, the default", []string{"-n", "mon"}, map[string][]string{
			"Role mon":    {"/configmaps,secrets:list", "certificates.k8s.io/podcertificaterequests:list"},
			"ClusterRole": {webhooksRules, crdsRule, apiservicesRule, "certificates.k8s.io/certificatesigningrequests,clustertrustbundles:list"},
		}},
		{"cluster -A: one ClusterRole", []string{"--source", "cluster", "-A", "-n", "mon"}, map[string][]string{
			"ClusterRole": {"/configmaps,secrets:list", webhooksRules, crdsRule, apiservicesRule,
				"certificates.k8s.io/certificatesigningrequests,clustertrustbundles,podcertificaterequests:list"},
		}},
		{"secrets -A", []string{"--source", "secrets", "-A", "-n", "mon"}, map[string][]string{"ClusterRole": {"/secrets:list"}}},
		{"events: namespaced sources record in the namespace", []string{"--source", "secrets", "--record-events", "-n", "mon"},
			map[string][]string{"Role mon": {"/secrets:list", eventsRuleText}}},
		{"events: cluster-scoped sources record in default", []string{"--source", "csr", "--record-events", "-n", "mon"}, map[string][]string{
			"ClusterRole":  {"certificates.k8s.io/certificatesigningrequests:list"},
			"Role default": {eventsRuleText},
		}},
		{"events: both", []string{"--source", "secrets,webhooks", "--record-events", "-n", "mon"}, map[string][]string{
			"Role mon":     {"/secrets:list", eventsRuleText},
			"ClusterRole":  {webhooksRules, crdsRule, apiservicesRule},
			"Role default": {eventsRuleText},
		}},
		{"events in default: one Role", []string{"--source", "secrets,trustbundles", "--record-events", "-n", "default"}, map[string][]string{
			"Role default": {"/secrets:list", eventsRuleText},
			"ClusterRole":  {"certificates.k8s.io/clustertrustbundles:list"},
		}},
		{"events in default, cluster-scoped only", []string{"--source", "kubelets", "--record-events", "-n", "default"}, map[string][]string{
			"Role default": {eventsRuleText},
			"ClusterRole":  {"/nodes:list", "certificates.k8s.io/certificatesigningrequests:list"},
		}},
		{"events -A: in the ClusterRole", []string{"--source", "secrets,csr", "--record-events", "-A", "-n", "mon"}, map[string][]string{
			"ClusterRole": {"/secrets:list", "certificates.k8s.io/certificatesigningrequests:list", eventsRuleText},
		}},
		{"events: endpoints have no object to record them on", []string{"--endpoint", "registry.example:443", "--record-events", "-n", "mon"}, map[string][]string{}},
		{"--record-events=false", []string{"--source", "secrets", "--record-events=false", "-n", "mon"}, map[string][]string{"Role mon": {"/secrets:list"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := rbacOf(t, printManifests(t, tt.args...))
			if len(got) != len(tt.want) {
				t.Errorf("roles %v, want %v", got, tt.want)
			}
			for k, want := range tt.want {
				if !slices.Equal(got[k], want) {
					t.Errorf("%s: %q, want %q", k, got[k], want)
				}
			}
		})
	}
}

// TestCheckManifestsArgs: the flags given are the job's, each as it was
// set; the kubeconfig's, the connection's and the manifests' own are not.
func TestCheckManifestsArgs(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		want []string
	}{
		{"the default: cluster, in the context's namespace", nil, []string{"check", "--source=cluster", "--namespace=ctx-ns"}},
		{"-n", []string{"-n", "mon", "--source", "secrets"}, []string{"check", "--source=secrets", "--namespace=mon"}},
		{"-A: no namespace", []string{"-A", "--source", "secrets,csr"}, []string{"check", "--source=secrets", "--source=csr", "--all-namespaces"}},
		{"implied sources are written out", []string{"--endpoint", "a.example:443", "-n", "mon"},
			[]string{"check", "--source=endpoint", "--namespace=mon", "--endpoint=a.example:443"}},
		{"slices repeated, values with spaces and commas kept whole",
			[]string{"-n", "mon", "--source", "secrets", "--source", "kubelets", "--status", "OK,WARNING", "--status", "CRITICAL",
				"--endpoint", "a.example:443", "--endpoint", "https://b.example/x,y z", "-l", "tier in (web, db)",
				"--kubelet-address-types", "InternalIP,Hostname", "--node", "node 1", "--node", "node,2"},
			[]string{"check", "--source=secrets", "--source=kubelets", "--namespace=mon",
				"--endpoint=a.example:443", "--endpoint=https://b.example/x,y z",
				"--kubelet-address-types=InternalIP", "--kubelet-address-types=Hostname",
				"--node=node 1", "--node=node,2", "--selector=tier in (web, db)",
				"--status=OK", "--status=WARNING", "--status=CRITICAL"}},
		{"every kind of value", []string{"-n", "mon", "--source", "cluster", "--warn-within", "60d", "--critical-within", "336h",
			"--expiring-within", "90d", "--all-secret-types", "--chunk-size", "100", "--qps", "7.5", "--burst", "20",
			"--field-selector", "metadata.name!=x", "--sort-by", "location", "--no-headers", "--record-events"},
			[]string{"check", "--source=cluster", "--namespace=mon", "--all-secret-types", "--burst=20", "--chunk-size=100",
				"--critical-within=14d", "--expiring-within=90d", "--field-selector=metadata.name!=x", "--no-headers", "--qps=7.5",
				"--record-events", "--sort-by=location", "--warn-within=60d"}},
		{"carried global flags", []string{"-n", "mon", "--source", "csr", "--request-timeout", "30s", "-v", "3"},
			[]string{"check", "--source=csr", "--namespace=mon", "--request-timeout=30s", "--v=3"}},
		{"kubeconfig, connection, credentials and the manifests' flags are not carried",
			[]string{"-n", "mon", "--source", "csr", "--kubeconfig", "/nonexistent", "--context", "other", "--cluster", "c", "--user", "u",
				"-s", "https://127.0.0.1:2", "--token", "secret-token", "--as", "someone", "--as-group", "g", "--as-uid", "1",
				"--certificate-authority", "/ca.crt", "--client-certificate", "/c.crt", "--client-key", "/c.key",
				"--insecure-skip-tls-verify", "--tls-server-name", "x", "--cache-dir", "/tmp/c", "--proxy-url", "http://proxy:3128",
				"--schedule", "@hourly", "--image", "registry.example/k:v1", "-o", "yaml"},
			[]string{"check", "--source=csr", "--namespace=mon"}},
		{"flags of sources the job does not run are not carried",
			[]string{"-n", "mon", "--source", "secrets", "--pki-dir", "/etc/kubernetes/pki", "--k3s-dir", "/k3s", "--file", "x.pem",
				"--az-path", "/az", "--node-cert-path", "/etc/x.crt", "--kubelet-certificate-authority", "testdata/ca.pem", "--kubeconfig-dir", "/k", "--kubelet-pki-dir", "/p"},
			[]string{"check", "--source=secrets", "--namespace=mon"}},
		{"$ is doubled: Kubernetes expands $(VAR) in args", []string{"-n", "mon", "--endpoint", "https://a.example/$(HOME)/$$x"},
			[]string{"check", "--source=endpoint", "--namespace=mon", "--endpoint=https://a.example/$$(HOME)/$$$$x"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			objs := printManifests(t, tt.args...)
			if got := jobArgsOf(t, objs); !slices.Equal(got, tt.want) {
				t.Errorf("args\n%q, want\n%q", got, tt.want)
			}
			for _, obj := range objs {
				m, _ := obj.(metav1.Object)
				if ns := m.GetNamespace(); ns != "" && ns != "default" && ns != "mon" && ns != "ctx-ns" {
					t.Errorf("%T in namespace %q", obj, ns)
				}
			}
		})
	}
}

// TestFlagArgsRoundTrip: what flagArgs writes sets the flag to the same
// value, for every kind of slice flag, whatever the values hold.
func TestFlagArgsRoundTrip(t *testing.T) {
	values := []string{"plain", "with space", "a,b", `quo"te`, " leading", "", `"quoted,comma"`, "$(VAR)"}
	for _, kind := range []string{"stringSlice", "stringArray"} {
		for _, v := range values {
			fs := func() (*pflag.FlagSet, *[]string) {
				fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
				var s []string
				if kind == "stringSlice" {
					fs.StringSliceVar(&s, "f", nil, "")
				} else {
					fs.StringArrayVar(&s, "f", nil, "")
				}
				return fs, &s
			}
			first, want := fs()
			// Set as the value a user's shell would hand over (for a
			// slice, one CSV field holding v).
			given := v
			if kind == "stringSlice" {
				given = csvField(v)
			}
			if err := first.Parse([]string{"--f", given, "--f", "second"}); err != nil {
				t.Fatalf("%s %q: %v", kind, v, err)
			}
			second, got := fs()
			if err := second.Parse(flagArgs(first.Lookup("f"))); err != nil {
				t.Fatalf("%s %q: %v", kind, v, err)
			}
			if !slices.Equal(*got, *want) {
				t.Errorf("%s: %q became %q through %q", kind, *want, *got, flagArgs(first.Lookup("f")))
			}
		}
	}
}

// TestCheckManifestsRefusals: what cannot run in a pod is refused, naming
// it, with nothing printed.
func TestCheckManifestsRefusals(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--source", "kubeconfig"}, `--print-manifests: source "kubeconfig" cannot run in the cluster: the job's pod has no kubeconfig`},
		{[]string{"--source", "secrets,apiserver"}, `source "apiserver" cannot run in the cluster`},
		{[]string{"--source", "file", "--file", "x.pem"}, `source "file" cannot run in the cluster: it reads files on this machine`},
		{[]string{"--file", "x.pem"}, `source "file" (from --file) cannot run in the cluster`},
		{[]string{"--pki-dir", "/etc/kubernetes/pki"}, `source "pki-dir" (from --pki-dir) cannot run in the cluster: it reads a node's files`},
		{[]string{"--source", "k3s-dir"}, `source "k3s-dir" cannot run in the cluster`},
		{[]string{"--source", "nodes"}, `source "nodes" cannot run in the cluster: it runs the Azure CLI, which the image does not have`},
		{[]string{"--node", "n1"}, `source "nodes" (from --node) cannot run in the cluster`},
		{[]string{"--run-command-output", "out.txt", "--source", "nodes"}, "--print-manifests: --run-command-output cannot run in the cluster"},
		{[]string{"--all-contexts"}, "--print-manifests: --all-contexts cannot run in the cluster"},
		{[]string{"--source", "secrets", "--textfile", "certs.prom"}, "--print-manifests: --textfile cannot run in the cluster: it writes a file on this machine"},
		{[]string{"--source", "secrets", "-o", "prometheus"}, `--output "prometheus": --print-manifests prints yaml (the default) or json`},
		{[]string{"--source", "bogus"}, `--source "bogus": unknown source`},
		{[]string{"--source", "kubelets", "--kubelet-certificate-authority", "/ca.crt"}, `--kubelet-certificate-authority "/ca.crt" is a file on this machine`},
		{[]string{"--endpoint", "a.example:443", "--certificate-authority", "/ca.crt"}, `--certificate-authority "/ca.crt" is a file on this machine`},
		{[]string{"-o", "wide"}, `--output "wide": --print-manifests prints yaml (the default) or json`},
		{[]string{"-o", "jsonpath={.items}"}, `--print-manifests prints yaml (the default) or json`},
		{[]string{"--image", ""}, `--image "": not an image reference`},
		{[]string{"-n", "Not_A_Namespace"}, `--namespace "Not_A_Namespace": not a valid namespace name`},
		{[]string{"--source", "secrets", "--status", "BAD"}, `--status "BAD"`},
		{[]string{"--source", "secrets", "-l", "a in (b"}, `-l/--selector "a in (b"`},
	} {
		code, out, errOut := runCertsPlugin(t, append([]string{"check", "--print-manifests"}, tt.args...)...)
		if code != 1 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", tt.args, code, errOut, tt.want)
		}
		if out != "" {
			t.Errorf("%v: printed %q", tt.args, out)
		}
		if n := strings.Count(errOut, "error: "); n != 1 {
			t.Errorf("%v: %d error lines: %q", tt.args, n, errOut)
		}
	}
	// Without --print-manifests, its flags are mistakes, not ignored.
	for _, flag := range []string{"--schedule=@hourly", "--image=registry.example/k:v1"} {
		code, _, errOut := runCertsPlugin(t, "check", "--file", "testdata/leaf.pem", flag)
		if name, _, _ := strings.Cut(flag, "="); code != 1 || !strings.Contains(errOut, name+" applies only with --print-manifests") {
			t.Errorf("%s without --print-manifests: exit %d, stderr %q", flag, code, errOut)
		}
	}
}

// TestCheckManifestsSchedule: what the API server takes in a new CronJob's
// schedule is accepted, and nothing else.
func TestCheckManifestsSchedule(t *testing.T) {
	for _, s := range []string{"@daily", "@hourly", "@weekly", "0 6 * * *", "*/15 * * * *", "0 6 * * 1-5", "30 2 1 * *", "@every 6h", "0 0 * JAN-DEC SUN"} {
		if got := cronJobOf(t, printManifests(t, "--schedule", s, "-n", "mon")).Spec.Schedule; got != s {
			t.Errorf("--schedule %q: the CronJob's is %q", s, got)
		}
	}
	for _, tt := range []struct{ schedule, want string }{
		{"not cron", `--schedule "not cron": not a cron expression: expected exactly 5 fields, found 2`},
		{"", `--schedule "": not a cron expression`},
		{"* * * *", "expected exactly 5 fields, found 4"},
		{"* * * * * *", "expected exactly 5 fields, found 6"},
		{"61 * * * *", `--schedule "61 * * * *": not a cron expression`},
		{"@fortnightly", `--schedule "@fortnightly": not a cron expression`},
		{"TZ=UTC 0 6 * * *", `--schedule "TZ=UTC 0 6 * * *": no TZ= or CRON_TZ=`},
		{"CRON_TZ=Europe/Paris 0 6 * * *", `--schedule "CRON_TZ=Europe/Paris 0 6 * * *": no TZ= or CRON_TZ=`},
	} {
		code, out, errOut := runCertsPlugin(t, "check", "--print-manifests", "--schedule", tt.schedule)
		if code != 1 || !strings.Contains(errOut, tt.want) || out != "" {
			t.Errorf("--schedule %q: exit %d, stderr %q; want 1 and %q", tt.schedule, code, errOut, tt.want)
		}
	}
}

// TestCheckManifestsJob: the CronJob and its pod: bounded, run once,
// non-root with nothing to escalate to, the release's image by default.
func TestCheckManifestsJob(t *testing.T) {
	objs := printManifests(t, "--source", "secrets")
	var kinds []string
	for _, obj := range objs {
		kinds = append(kinds, obj.GetObjectKind().GroupVersionKind().Kind)
		if m := obj.(metav1.Object); m.GetLabels()["app.kubernetes.io/part-of"] != "kubecerts" {
			t.Errorf("%T %s: labels %v", obj, m.GetName(), m.GetLabels())
		}
	}
	if want := []string{"ServiceAccount", "Role", "RoleBinding", "CronJob"}; !slices.Equal(kinds, want) {
		t.Errorf("kinds %v, want %v", kinds, want)
	}
	cj := cronJobOf(t, objs)
	if cj.Namespace != "ctx-ns" || cj.Name != CheckJobName {
		t.Errorf("CronJob %s/%s", cj.Namespace, cj.Name)
	}
	s := cj.Spec
	if s.Schedule != DefaultSchedule || s.ConcurrencyPolicy != batchv1.ForbidConcurrent || s.StartingDeadlineSeconds == nil ||
		*s.SuccessfulJobsHistoryLimit != checkHistoryLimit || *s.FailedJobsHistoryLimit != checkHistoryLimit {
		t.Errorf("CronJob spec %+v", s)
	}
	j := s.JobTemplate.Spec
	if *j.BackoffLimit != 0 || j.ActiveDeadlineSeconds == nil || *j.ActiveDeadlineSeconds <= 0 {
		t.Errorf("Job spec %+v", j)
	}
	pod := j.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever || pod.ServiceAccountName != CheckJobName {
		t.Errorf("pod %+v", pod)
	}
	if sc := pod.SecurityContext; !*sc.RunAsNonRoot || *sc.RunAsUser != 65532 || *sc.RunAsGroup != 65532 || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod security context %+v", sc)
	}
	c := pod.Containers[0]
	if c.Image != version.Image() || !slices.Equal(c.Command, []string{"kubectl-certs"}) {
		t.Errorf("container image %q, command %q", c.Image, c.Command)
	}
	if sc := c.SecurityContext; *sc.AllowPrivilegeEscalation || !*sc.ReadOnlyRootFilesystem || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("container security context %+v", sc)
	}
	if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v", c.Resources)
	}
	if c := cronJobOf(t, printManifests(t, "--image", "registry.example/kubecerts:v1")).Spec.JobTemplate.Spec.Template.Spec.Containers[0]; c.Image != "registry.example/kubecerts:v1" {
		t.Errorf("--image: %q", c.Image)
	}
}

// TestCheckManifestsJSON: -o json is a v1 List of the same objects.
func TestCheckManifestsJSON(t *testing.T) {
	yamlObjs := printManifests(t, "--source", "secrets,csr", "-n", "mon")
	code, out, errOut := runCertsPlugin(t, "check", "--print-manifests", "--source", "secrets,csr", "-n", "mon", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	obj, _, err := scheme.Codecs.UniversalDeserializer().Decode([]byte(out), nil, nil)
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	list, ok := obj.(*corev1.List)
	if !ok || len(list.Items) != len(yamlObjs) {
		t.Fatalf("%T with %d items, want a List of %d:\n%s", obj, len(list.Items), len(yamlObjs), out)
	}
	for i, item := range list.Items {
		got, _, err := scheme.Codecs.UniversalDeserializer().Decode(item.Raw, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !equalObjects(got, yamlObjs[i]) {
			t.Errorf("item %d differs from the YAML's:\n%+v\n%+v", i, got, yamlObjs[i])
		}
	}
	code, yamlOut, _ := runCertsPlugin(t, "check", "--print-manifests", "--source", "secrets,csr", "-n", "mon", "-o", "yaml")
	_, defaultOut, _ := runCertsPlugin(t, "check", "--print-manifests", "--source", "secrets,csr", "-n", "mon")
	if code != 0 || yamlOut != defaultOut {
		t.Errorf("-o yaml (exit %d) differs from the default:\n%s", code, yamlOut)
	}
}

func equalObjects(a, b runtime.Object) bool {
	var ab, bb bytes.Buffer
	_ = printCheckManifests(&ab, "yaml", []runtime.Object{a})
	_ = printCheckManifests(&bb, "yaml", []runtime.Object{b})
	return ab.String() == bb.String()
}

// TestCheckManifestsGolden pins one representative output.
func TestCheckManifestsGolden(t *testing.T) {
	code, out, errOut := runCertsPlugin(t, "check", "--print-manifests", "-n", "monitoring", "--source", "cluster,kubelets",
		"--schedule", "0 6 * * *", "--image", "registry.example/kubecerts:v1.2.3", "--warn-within", "60d", "-l", "tier in (web, db)",
		"--kubelet-address-types", "InternalIP", "--request-timeout", "30s", "--context", "ctx")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	golden.Assert(t, "check-manifests.yaml", out)
}
