package rotate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	k8stesting "k8s.io/client-go/testing"
	cmdtesting "k8s.io/kubectl/pkg/cmd/testing"

	"github.com/kubecerts/kubecerts/plugins/rotate/csrcheck"
)

// syncBuffer is a bytes.Buffer safe for the watch's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startWatch runs kubectl rotate csr watch with args on client until the
// returned stop is called; stop returns Run's error.
func startWatch(t *testing.T, client *fake.Clientset, args ...string) (logs *syncBuffer, stop func() error) {
	t.Helper()
	logs = &syncBuffer{}
	logger := logr.FromSlogHandler(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.Level(-4)}))
	o := NewCSRWatchOptions(genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &bytes.Buffer{}, ErrOut: logs})
	o.Client, o.Logger = client, &logger
	tf := cmdtesting.NewTestFactory()
	t.Cleanup(tf.Cleanup)
	cmd := newCmdCSRWatch(tf, o)
	cmd.SetArgs(append(args, "--node-cidr="+csrNodeCIDR))
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("watch did not stop within 20s of the cancel")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return logs, stop
}

func waitCondition(t *testing.T, client *fake.Clientset, name, want string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		csr, err := client.CertificatesV1().CertificateSigningRequests().Get(ctx, name, metav1.GetOptions{})
		return err == nil && csrcheck.Condition(csr) == want, nil
	})
	if err != nil {
		csr, _ := client.CertificatesV1().CertificateSigningRequests().Get(t.Context(), name, metav1.GetOptions{})
		t.Fatalf("%s is not %s: %+v", name, want, csr.Status.Conditions)
	}
}

// logLines decodes the JSON log lines.
func logLines(t *testing.T, logs string) []map[string]interface{} {
	t.Helper()
	var out []map[string]interface{}
	for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]interface{}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		out = append(out, m)
	}
	return out
}

func decisionsFor(t *testing.T, logs, csr string) []map[string]interface{} {
	var out []map[string]interface{}
	for _, m := range logLines(t, logs) {
		if m["csr"] == csr {
			out = append(out, m)
		}
	}
	return out
}

func TestCSRWatchApprovesValidAndLeavesInvalid(t *testing.T) {
	client := csrClientset(csrFixture(t)...)
	logs, stop := startWatch(t, client, "--resync", "0")

	waitCondition(t, client, "csr-valid", csrcheck.ConditionApproved)
	// A CSR created while it runs.
	late := makeCSR(t, csrServing("csr-late", "worker-2", "10.0.0.12", 0))
	if _, err := client.CertificatesV1().CertificateSigningRequests().Create(t.Context(), late, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitCondition(t, client, "csr-late", csrcheck.ConditionApproved)

	// A CSR for a node that does not exist yet: left pending, approved once
	// the Node appears.
	early := makeCSR(t, csrServing("csr-early", "worker-9", "10.0.0.19", 0))
	if _, err := client.CertificatesV1().CertificateSigningRequests().Create(t.Context(), early, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return len(decisionsFor(t, logs.String(), "csr-early")) > 0, nil
	}); err != nil {
		t.Fatalf("no decision logged for csr-early:\n%s", logs)
	}
	if _, err := client.CoreV1().Nodes().Create(t.Context(), csrTestNode("worker-9", "10.0.0.19"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitCondition(t, client, "csr-early", csrcheck.ConditionApproved)

	if err := stop(); err != nil {
		t.Errorf("watch returned %v after a cancel, want nil (a clean stop)", err)
	}
	for _, name := range []string{"csr-wrong-ip", "csr-weak-key", "csr-other-signer", "csr-bootstrap"} {
		c, _ := client.CertificatesV1().CertificateSigningRequests().Get(t.Context(), name, metav1.GetOptions{})
		if len(c.Status.Conditions) != 0 {
			t.Errorf("%s got conditions %+v", name, c.Status.Conditions)
		}
	}
	c, _ := client.CertificatesV1().CertificateSigningRequests().Get(t.Context(), "csr-valid", metav1.GetOptions{})
	if cond := c.Status.Conditions[0]; cond.Reason != ReasonApproved || !strings.Contains(cond.Message, "kubectl rotate csr watch") {
		t.Errorf("condition %+v", cond)
	}

	out := logs.String()
	approved := decisionsFor(t, out, "csr-valid")
	if len(approved) != 1 || approved[0]["msg"] != "CSR approved" || approved[0]["node"] != "worker-1" || approved[0]["action"] != "approved" {
		t.Errorf("csr-valid decisions %v", approved)
	}
	wrong := decisionsFor(t, out, "csr-wrong-ip")
	if len(wrong) != 1 || wrong[0]["msg"] != "CSR left pending" || !strings.Contains(toJSON(wrong[0]["failed"]), "ip-sans: refused 10.0.0.12: other-node") {
		t.Errorf("csr-wrong-ip decisions %v", wrong)
	}
	early2 := decisionsFor(t, out, "csr-early")
	if len(early2) != 2 || early2[0]["msg"] != "CSR left pending" || early2[1]["msg"] != "CSR approved" {
		t.Errorf("csr-early decisions %v", early2)
	}
	if n := len(decisionsFor(t, out, "csr-bootstrap")); n != 0 {
		t.Errorf("client CSR handled without --signer %s", csrcheck.KubeletClient)
	}
}

func toJSON(v interface{}) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestCSRWatchDryRun(t *testing.T) {
	client := csrClientset(csrFixture(t)...)
	logs, stop := startWatch(t, client, "--dry-run")
	if err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return strings.Contains(logs.String(), "CSR would be approved"), nil
	}); err != nil {
		t.Fatalf("no dry-run decision:\n%s", logs)
	}
	_ = stop()
	if n := len(csrApprovalUpdates(client)); n != 0 {
		t.Errorf("--dry-run wrote %d times", n)
	}
}

func TestCSRWatchLeaderElection(t *testing.T) {
	client := csrClientset(csrFixture(t)...)
	logs, stop := startWatch(t, client, "--leader-elect", "--lease-namespace", "kube-system", "--lease-name", "approver",
		"--signer", csrcheck.KubeletServing+","+csrcheck.KubeletClient)
	waitCondition(t, client, "csr-valid", csrcheck.ConditionApproved)
	waitCondition(t, client, "csr-bootstrap", csrcheck.ConditionApproved)
	lease, err := client.CoordinationV1().Leases("kube-system").Get(t.Context(), "approver", metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
		t.Fatalf("lease %+v, %v", lease, err)
	}
	if err := stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
	lease, _ = client.CoordinationV1().Leases("kube-system").Get(t.Context(), "approver", metav1.GetOptions{})
	if lease.Spec.HolderIdentity != nil && *lease.Spec.HolderIdentity != "" {
		t.Errorf("lease still held by %s after the stop", *lease.Spec.HolderIdentity)
	}
	if !strings.Contains(logs.String(), `"msg":"Started leading"`) {
		t.Errorf("no leading logged:\n%s", logs)
	}
}

// TestCSRWatchRetriesFailedWrites: an approval that fails (API server gone)
// is retried until it goes through.
func TestCSRWatchRetriesFailedWrites(t *testing.T) {
	client := csrClientset(csrFixture(t)...)
	var mu sync.Mutex
	failures := 2
	client.PrependReactor("update", "certificatesigningrequests", func(a k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		if a.GetSubresource() == "approval" && failures > 0 {
			failures--
			return true, nil, errors.New("connection refused")
		}
		return false, nil, nil
	})
	logs, _ := startWatch(t, client)
	waitCondition(t, client, "csr-valid", csrcheck.ConditionApproved)
	if !strings.Contains(logs.String(), "CSR approval failed; retrying") {
		t.Errorf("failure not logged:\n%s", logs)
	}
}

// splitYAML splits a YAML stream into its documents.
func splitYAML(s string) []string {
	var docs []string
	for _, d := range strings.Split(s, "\n---\n") {
		if strings.TrimSpace(d) != "" {
			docs = append(docs, d)
		}
	}
	return docs
}

func TestCSRWatchPrintManifests(t *testing.T) {
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	o := NewCSRWatchOptions(streams)
	tf := cmdtesting.NewTestFactory()
	defer tf.Cleanup()
	root := newCmdCSRWatch(tf, o)
	root.PersistentFlags().StringP("namespace", "n", "", "")
	root.SetArgs([]string{"--print-manifests", "-n", "certs", "--image", "registry.example/kubecerts:v1", "--max-duration", "30d", "--node-cidr", csrNodeCIDR, "--cluster-domain", "corp.internal",
		"--signer", csrcheck.KubeletServing + "," + csrcheck.KubeletClient})
	if err := root.Execute(); err != nil {
		t.Fatalf("%v: %s", err, errOut)
	}
	docs := splitYAML(out.String())
	decode := scheme.Codecs.UniversalDeserializer().Decode
	var kinds []string
	for _, d := range docs {
		obj, gvk, err := decode([]byte(d), nil, nil)
		if err != nil {
			t.Fatalf("%v:\n%s", err, d)
		}
		kinds = append(kinds, gvk.Kind)
		switch x := obj.(type) {
		case *corev1.ServiceAccount:
			if x.Namespace != "certs" || x.Name != DefaultLeaseName {
				t.Errorf("service account %s/%s", x.Namespace, x.Name)
			}
		case *rbacv1.ClusterRole:
			checkClusterRole(t, x, []string{csrcheck.KubeletServing, csrcheck.KubeletClient})
		case *rbacv1.Role:
			if x.Namespace == "default" {
				// The API server's Service and EndpointSlice, by name, read only.
				want := []string{"/services", "discovery.k8s.io/endpointslices"}
				var got []string
				for _, r := range x.Rules {
					got = append(got, r.APIGroups[0]+"/"+r.Resources[0])
					if !slices.Equal(r.Verbs, []string{"get"}) || !slices.Equal(r.ResourceNames, []string{"kubernetes"}) {
						t.Errorf("default role rule %+v", r)
					}
				}
				if !slices.Equal(got, want) || x.Name != DefaultLeaseName+"-apiserver" {
					t.Errorf("default role %s: %v, want %v", x.Name, got, want)
				}
				continue
			}
			if cm := map[string]string{"kube-public": "cluster-info", "kube-system": "kubeadm-config"}[x.Namespace]; cm != "" {
				// kubeadm's ConfigMaps naming the API server's endpoint, by name, read only.
				if x.Name != DefaultLeaseName+"-"+cm || len(x.Rules) != 1 || !slices.Equal(x.Rules[0].Resources, []string{"configmaps"}) ||
					!slices.Equal(x.Rules[0].ResourceNames, []string{cm}) || !slices.Equal(x.Rules[0].Verbs, []string{"get"}) {
					t.Errorf("role %s/%s: %+v", x.Namespace, x.Name, x.Rules)
				}
				continue
			}
			if x.Namespace != "certs" {
				t.Errorf("role namespace %s", x.Namespace)
			}
			for _, r := range x.Rules {
				if !slices.Equal(r.Resources, []string{"leases"}) || !slices.Equal(r.APIGroups, []string{"coordination.k8s.io"}) {
					t.Errorf("role rule %+v", r)
				}
				for _, v := range r.Verbs {
					if v != "create" && v != "get" && v != "update" {
						t.Errorf("role verb %s", v)
					}
				}
			}
		case *rbacv1.ClusterRoleBinding:
			if x.RoleRef.Name != DefaultLeaseName || x.Subjects[0].Namespace != "certs" || x.Subjects[0].Kind != "ServiceAccount" {
				t.Errorf("cluster role binding %+v", x)
			}
		case *rbacv1.RoleBinding:
			if x.RoleRef.Kind != "Role" || !slices.Contains([]string{"certs", "default", "kube-public", "kube-system"}, x.Namespace) || x.RoleRef.Name != x.Name ||
				x.Subjects[0].Namespace != "certs" {
				t.Errorf("role binding %+v", x)
			}
		case *appsv1.Deployment:
			if *x.Spec.Replicas != 2 || x.Namespace != "certs" || x.Spec.Template.Spec.ServiceAccountName != DefaultLeaseName {
				t.Errorf("deployment %+v", x.Spec)
			}
			c := x.Spec.Template.Spec.Containers[0]
			args := strings.Join(c.Args, " ")
			for _, want := range []string{"csr watch --leader-elect --lease-namespace=$(POD_NAMESPACE)", "--lease-name=" + DefaultLeaseName,
				"--log-format=json", "--signer=" + csrcheck.KubeletClient, "--max-duration=30d", "--node-cidr=" + csrNodeCIDR, "--cluster-domain=corp.internal"} {
				if !strings.Contains(args, want) {
					t.Errorf("args %q lack %q", args, want)
				}
			}
			if c.Image != "registry.example/kubecerts:v1" || *c.SecurityContext.AllowPrivilegeEscalation || !*c.SecurityContext.ReadOnlyRootFilesystem {
				t.Errorf("container %+v", c)
			}
		}
	}
	if want := []string{"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Role", "RoleBinding",
		"Role", "RoleBinding", "Role", "RoleBinding", "Deployment"}; !slices.Equal(kinds, want) {
		t.Errorf("kinds %v, want %v", kinds, want)
	}
}

// checkClusterRole: read CSRs, Nodes and ServiceCIDRs, approve CSRs of the
// signers, create SubjectAccessReviews when the client signer is one, and
// nothing else.
func checkClusterRole(t *testing.T, r *rbacv1.ClusterRole, signers []string) {
	t.Helper()
	want := map[string][]string{
		"certificates.k8s.io/certificatesigningrequests":          {"get", "list", "watch"},
		"certificates.k8s.io/certificatesigningrequests/approval": {"update"},
		"certificates.k8s.io/signers":                             {"approve"},
		"/nodes":                                                  {"get", "list", "watch"},
		"networking.k8s.io/servicecidrs":                          {"list"},
	}
	if slices.Contains(signers, csrcheck.KubeletClient) {
		want["authorization.k8s.io/subjectaccessreviews"] = []string{"create"}
	}
	if len(r.Rules) != len(want) {
		t.Errorf("%d rules, want %d", len(r.Rules), len(want))
	}
	for _, rule := range r.Rules {
		if len(rule.APIGroups) != 1 || len(rule.Resources) != 1 {
			t.Errorf("rule %+v", rule)
			continue
		}
		key := rule.APIGroups[0] + "/" + rule.Resources[0]
		if !slices.Equal(rule.Verbs, want[key]) {
			t.Errorf("%s: verbs %v, want %v", key, rule.Verbs, want[key])
		}
		if key == "certificates.k8s.io/signers" && !slices.Equal(rule.ResourceNames, signers) {
			t.Errorf("signers %v, want %v", rule.ResourceNames, signers)
		}
		if key != "certificates.k8s.io/signers" && len(rule.ResourceNames) > 0 {
			t.Errorf("%s limited to %v", key, rule.ResourceNames)
		}
	}
}
