package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate/certtest"
	"github.com/kubecerts/kubecerts/test/e2e/framework"
)

// ckmJobName is the name kubectl certs check --print-manifests gives the
// ServiceAccount, the CronJob and the namespaced RBAC.
const ckmJobName = "kubecerts-check"

// ckmAccess is one kubectl auth can-i question and the answer wanted.
type ckmAccess struct {
	args []string // verb, resource, and -n NS or -A
	want bool
}

// TestCheckManifests: the manifests of check --print-manifests pass the
// real API server's validation (server-side dry run, as a YAML stream and as
// -o json's List), are applied, and their RBAC is proven enough by running
// the check with the CronJob's own arguments as the ServiceAccount (no
// error, every certificate planted found) and no more than enough by
// kubectl auth can-i.
func TestCheckManifests(t *testing.T) {
	c := framework.Shared(t)
	admin := c.Clientset()
	dir := framework.BuildPlugins(t)
	ctx := t.Context()
	ns := createNamespace(t, admin, admin, "ckm-")
	other := createNamespace(t, admin, admin, "ckm-other-")
	id := strings.TrimPrefix(ns, "ckm-")
	// Every object planted carries the label, and every check selects it:
	// what other tests leave in the shared cluster is not read.
	label := "kubecerts-e2e-ckm=" + id

	labels := map[string]string{"kubecerts-e2e-ckm": id}
	for _, n := range []string{ns, other} {
		crt, key := chkChain(t, 2, "ckm-"+n)
		secret := chkTLSSecret(n, "tls-a", crt, key)
		secret.Labels = labels
		_, err := admin.CoreV1().Secrets(n).Create(ctx, secret, metav1.CreateOptions{})
		chkCreated(t, "secret", 0, err)
		// Not selected: the label selector is carried into the job.
		_, err = admin.CoreV1().Secrets(n).Create(ctx, chkTLSSecret(n, "unlabelled", crt, key), metav1.CreateOptions{})
		chkCreated(t, "secret", 0, err)
	}
	cmCA := certtest.CA(t, "ckm-configmap-ca")
	_, err := admin.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "trusted", Labels: labels},
		Data:       map[string]string{"ca.crt": string(cmCA.PEM())},
	}, metav1.CreateOptions{})
	chkCreated(t, "configmap", 0, err)
	csrName := chkIssueServingCSR(t, c, "ckm-worker-"+id)
	if _, err := admin.CertificatesV1().CertificateSigningRequests().Patch(ctx, csrName, types.MergePatchType,
		fmt.Appendf(nil, `{"metadata":{"labels":{"kubecerts-e2e-ckm":%q}}}`, id), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	whCA := certtest.CA(t, "ckm-webhook-ca")
	sideEffects, ignore := admissionv1.SideEffectClassNone, admissionv1.Ignore
	vwc, err := admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &admissionv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "kubecerts-e2e-ckm-", Labels: labels},
		Webhooks: []admissionv1.ValidatingWebhook{{
			Name:                    "ckm.kubecerts.io",
			ClientConfig:            admissionv1.WebhookClientConfig{URL: chkStrPtr("https://127.0.0.1:1/validate"), CABundle: whCA.PEM()},
			SideEffects:             &sideEffects,
			FailurePolicy:           &ignore,
			AdmissionReviewVersions: []string{"v1"},
			ObjectSelector:          &metav1.LabelSelector{MatchLabels: map[string]string{"never": "matches"}},
		}},
	}, metav1.CreateOptions{})
	chkCreated(t, "webhook configuration", 0, err)
	t.Cleanup(func() {
		_ = admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(context.Background(), vwc.Name, metav1.DeleteOptions{})
	})

	// The leaf of the chain of two in tls-a.
	secretA := func(n string) string { return "secret/" + n + "/tls-a/tls.crt [0]" }
	// Without -A the job checks its own namespace, so it lives in ns; with
	// -A, in a namespace of its own.
	jobNS := createNamespace(t, admin, admin, "ckm-job-")
	for _, tt := range []struct {
		name  string
		jobNS string
		args  []string
		// found are locations the check must report, absent ones it must not.
		found, absent []string
		access        []ckmAccess
	}{
		{
			name:  "in the namespace, with cluster-scoped sources",
			jobNS: ns,
			args: []string{"--source", "secrets,configmaps", "--source", "csr,webhooks", "-n", ns, "-l", label,
				"--warn-within", "60d", "--chunk-size", "1", "--sort-by", "location"},
			found:  []string{secretA(ns), "configmap/" + ns + "/trusted/ca.crt", "csr/" + csrName, "validatingwebhookconfiguration/" + vwc.Name + "/ckm.kubecerts.io"},
			absent: []string{secretA(other), "secret/" + ns + "/unlabelled/"},
			access: []ckmAccess{
				{[]string{"list", "secrets", "-n", ns}, true},
				{[]string{"list", "configmaps", "-n", ns}, true},
				{[]string{"list", "certificatesigningrequests.certificates.k8s.io"}, true},
				{[]string{"list", "validatingwebhookconfigurations.admissionregistration.k8s.io"}, true},
				{[]string{"list", "mutatingwebhookconfigurations.admissionregistration.k8s.io"}, true},
				{[]string{"list", "apiservices.apiregistration.k8s.io"}, true},
				{[]string{"list", "customresourcedefinitions.apiextensions.k8s.io"}, true},
				// Only list, only there, only what the sources read.
				{[]string{"get", "secrets", "-n", ns}, false},
				{[]string{"watch", "secrets", "-n", ns}, false},
				{[]string{"delete", "secrets", "-n", ns}, false},
				{[]string{"list", "secrets", "-n", other}, false},
				{[]string{"list", "secrets", "-A"}, false},
				{[]string{"list", "configmaps", "-n", "kube-system"}, false},
				{[]string{"get", "certificatesigningrequests.certificates.k8s.io"}, false},
				{[]string{"update", "certificatesigningrequests.certificates.k8s.io", "--subresource", "approval"}, false},
				{[]string{"list", "nodes"}, false},
				{[]string{"list", "namespaces"}, false},
				// (Not clustertrustbundles: the API server's default policy
				// lets every authenticated user read those trust anchors.)
				{[]string{"list", "podcertificaterequests.certificates.k8s.io", "-n", ns}, false},
				// No Events without --record-events.
				{[]string{"create", "events.events.k8s.io", "-n", ns}, false},
				{[]string{"create", "events.events.k8s.io", "-n", "default"}, false},
				{[]string{"create", "events", "-n", ns}, false},
			},
		},
		{
			name:   "-A",
			jobNS:  jobNS,
			args:   []string{"--source", "secrets", "-A", "-n", jobNS, "-l", label},
			found:  []string{secretA(ns), secretA(other)},
			absent: []string{"secret/" + other + "/unlabelled/"},
			access: []ckmAccess{
				{[]string{"list", "secrets", "-A"}, true},
				{[]string{"list", "secrets", "-n", other}, true},
				{[]string{"get", "secrets", "-n", other}, false},
				{[]string{"list", "configmaps", "-A"}, false},
				{[]string{"list", "certificatesigningrequests.certificates.k8s.io"}, false},
				{[]string{"list", "namespaces"}, false},
				{[]string{"create", "events.events.k8s.io", "-n", ns}, false},
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			manifests, errOut, code := rcKubectl(t, dir, c.AdminKubeconfig, append(append([]string{"certs", "check", "--print-manifests"}, tt.args...),
				"--image", "registry.example/kubecerts:e2e", "--schedule", "30 5 * * 1-5")...)
			if code != 0 {
				t.Fatalf("--print-manifests: exit %d: %s", code, errOut)
			}
			ckmDecodes(t, manifests)
			t.Cleanup(func() { ckmDeleteClusterScoped(admin, tt.jobNS) })
			for _, format := range []string{"yaml", "json"} {
				in := []byte(manifests)
				if format == "json" {
					out, errOut, code := rcKubectl(t, dir, c.AdminKubeconfig, append(append([]string{"certs", "check", "--print-manifests", "-o", "json"}, tt.args...),
						"--image", "registry.example/kubecerts:e2e", "--schedule", "30 5 * * 1-5")...)
					if code != 0 {
						t.Fatalf("--print-manifests -o json: exit %d: %s", code, errOut)
					}
					in = []byte(out)
				}
				if out, errOut, err := framework.KubectlInput(ctx, dir, c.AdminKubeconfig, in, "apply", "--dry-run=server", "-f", "-"); err != nil {
					t.Fatalf("%s: kubectl apply --dry-run=server: %v\n%s\n%s", format, err, out, errOut)
				}
			}
			if out, errOut, err := framework.KubectlInput(ctx, dir, c.AdminKubeconfig, []byte(manifests), "apply", "-f", "-"); err != nil {
				t.Fatalf("kubectl apply: %v\n%s\n%s", err, out, errOut)
			}

			sa := "system:serviceaccount:" + tt.jobNS + ":" + ckmJobName
			cj, err := admin.BatchV1().CronJobs(tt.jobNS).Get(ctx, ckmJobName, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			container := cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0]
			if cj.Spec.Schedule != "30 5 * * 1-5" || container.Image != "registry.example/kubecerts:e2e" ||
				!slices.Equal(container.Command, []string{"kubectl-certs"}) || len(container.Args) == 0 || container.Args[0] != "check" {
				t.Fatalf("CronJob as applied: schedule %q, image %q, command %q, args %q", cj.Spec.Schedule, container.Image, container.Command, container.Args)
			}

			// The job's own arguments, as the ServiceAccount.
			args := make([]string, 0, len(container.Args))
			for _, a := range container.Args[1:] {
				args = append(args, strings.ReplaceAll(a, "$$", "$")) // as the kubelet expands them
			}
			r, code, stderr := certsCheck(t, c.AdminKubeconfig, append(args, "--as", sa)...)
			if len(r.Errors) != 0 || code == 1 {
				t.Errorf("the check as %s (args %q): exit %d, errors %+v\nstderr:\n%s", sa, args, code, r.Errors, stderr)
			}
			for _, loc := range tt.found {
				if findBy(r, func(x *api.Certificate) bool { return x.Location == loc }) == nil {
					t.Errorf("the check as %s did not report %s; it reported %v", sa, loc, ckmLocations(r))
				}
			}
			for _, loc := range tt.absent {
				if chkCount(r, loc) != 0 {
					t.Errorf("the check as %s reported %s, which its flags do not select", sa, loc)
				}
			}
			for _, a := range tt.access {
				if got := ckmCanI(t, dir, c.AdminKubeconfig, sa, a.args...); got != a.want {
					t.Errorf("kubectl auth can-i %s --as %s: %v, want %v", strings.Join(a.args, " "), sa, got, a.want)
				}
			}
		})
	}
}

// TestCheckManifestsRecordEvents: with --record-events, Events may be got,
// created and updated where they are recorded (the namespace; default for
// cluster-scoped objects) and nowhere else; the check run as the
// ServiceAccount records them on a Secret and a CSR, and updates them on a
// second run, with no warning.
func TestCheckManifestsRecordEvents(t *testing.T) {
	c := framework.Shared(t)
	admin := c.Clientset()
	dir := framework.BuildPlugins(t)
	ctx := t.Context()
	ns := createNamespace(t, admin, admin, "ckm-events-")
	other := createNamespace(t, admin, admin, "ckm-events-other-")
	// The Secret and the CSR share a name: one field selector picks both.
	name := ns
	expiring := certtest.New(t, certtest.Template{CommonName: "ckm-events", NotAfter: time.Now().Add(5 * 24 * time.Hour)}, nil)
	_, err := admin.CoreV1().Secrets(ns).Create(ctx, chkTLSSecret(ns, name, expiring.PEM(), expiring.KeyPEM(t)), metav1.CreateOptions{})
	chkCreated(t, "secret", 0, err)
	evIssuedCSR(t, admin, name, expiring.PEM())

	args := []string{"--source", "secrets,csr", "--record-events", "-n", ns, "--field-selector", "metadata.name=" + name}
	manifests, errOut, code := rcKubectl(t, dir, c.AdminKubeconfig, append([]string{"certs", "check", "--print-manifests"}, args...)...)
	if code != 0 {
		t.Fatalf("--print-manifests: exit %d: %s", code, errOut)
	}
	t.Cleanup(func() { ckmDeleteClusterScoped(admin, ns) })
	if out, errOut, err := framework.KubectlInput(ctx, dir, c.AdminKubeconfig, []byte(manifests), "apply", "-f", "-"); err != nil {
		t.Fatalf("kubectl apply: %v\n%s\n%s", err, out, errOut)
	}
	sa := "system:serviceaccount:" + ns + ":" + ckmJobName
	for _, a := range []ckmAccess{
		{[]string{"create", "events.events.k8s.io", "-n", ns}, true},
		{[]string{"get", "events.events.k8s.io", "-n", ns}, true},
		{[]string{"update", "events.events.k8s.io", "-n", ns}, true},
		{[]string{"create", "events.events.k8s.io", "-n", "default"}, true},
		{[]string{"update", "events.events.k8s.io", "-n", "default"}, true},
		{[]string{"create", "events.events.k8s.io", "-n", other}, false},
		{[]string{"patch", "events.events.k8s.io", "-n", ns}, false},
		{[]string{"delete", "events.events.k8s.io", "-n", ns}, false},
		{[]string{"list", "events.events.k8s.io", "-n", ns}, false},
		{[]string{"create", "events", "-n", ns}, false},
	} {
		if got := ckmCanI(t, dir, c.AdminKubeconfig, sa, a.args...); got != a.want {
			t.Errorf("kubectl auth can-i %s --as %s: %v, want %v", strings.Join(a.args, " "), sa, got, a.want)
		}
	}

	for run, want := range []api.EventsSummary{{Recorded: 2, Created: 2}, {Recorded: 2, Updated: 2}} {
		r, code, stderr := certsCheck(t, c.AdminKubeconfig, append(args, "--as", sa)...)
		if code != 3 || len(r.Errors) != 0 || len(r.Certificates) != 2 || strings.Contains(stderr, "warning:") {
			t.Errorf("run %d as %s: exit %d, errors %+v, %d certificates; want 3, none, 2, no warning; stderr:\n%s", run+1, sa, code, r.Errors, len(r.Certificates), stderr)
		}
		if got := r.Summary.Events; got == nil || *got != want {
			t.Errorf("run %d as %s: summary.events %+v, want %+v; stderr:\n%s", run+1, sa, got, want, stderr)
		}
	}
	evFind(t, admin, ns, "Secret", name)
	csrEv := evFind(t, admin, metav1.NamespaceDefault, "CertificateSigningRequest", name)
	_ = admin.EventsV1().Events(metav1.NamespaceDefault).Delete(context.Background(), csrEv.Name, metav1.DeleteOptions{})
}

// ckmDecodes fails unless every document of the stream is an object the
// client-go scheme knows.
func ckmDecodes(t *testing.T, manifests string) {
	t.Helper()
	for _, doc := range strings.Split(manifests, "\n---\n") {
		if _, _, err := scheme.Codecs.UniversalDeserializer().Decode([]byte(doc), nil, nil); err != nil {
			t.Fatalf("the client-go scheme cannot decode:\n%s\n%v", doc, err)
		}
	}
}

// ckmDeleteClusterScoped deletes what deleting the namespace leaves: the
// ClusterRole and its binding, and the Role and binding in default.
func ckmDeleteClusterScoped(admin kubernetes.Interface, ns string) {
	ctx, name := context.Background(), ckmJobName+"-"+ns
	_ = admin.RbacV1().ClusterRoleBindings().Delete(ctx, name, metav1.DeleteOptions{})
	_ = admin.RbacV1().ClusterRoles().Delete(ctx, name, metav1.DeleteOptions{})
	_ = admin.RbacV1().RoleBindings(metav1.NamespaceDefault).Delete(ctx, name, metav1.DeleteOptions{})
	_ = admin.RbacV1().Roles(metav1.NamespaceDefault).Delete(ctx, name, metav1.DeleteOptions{})
}

// ckmCanI asks kubectl auth can-i as user (the admin impersonating).
func ckmCanI(t *testing.T, dir, kubeconfig, user string, args ...string) bool {
	t.Helper()
	out, errOut, code := rcKubectl(t, dir, kubeconfig, append(append([]string{"auth", "can-i"}, args...), "--as", user)...)
	switch answer := strings.TrimSpace(out); {
	case code == 0 && answer == "yes":
		return true
	case code == 1 && strings.HasPrefix(answer, "no"):
		return false
	default:
		t.Fatalf("kubectl auth can-i %v: exit %d, %q %q", args, code, out, errOut)
		return false
	}
}

func ckmLocations(r *api.CertificateReport) string {
	locs := make([]string, 0, len(r.Certificates))
	for _, c := range r.Certificates {
		locs = append(locs, c.Location)
	}
	b, _ := json.Marshal(locs)
	return string(b)
}
