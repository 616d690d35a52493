package e2e_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kubecerts/kubecerts/plugins/certs/source"
	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate/certtest"
	"github.com/kubecerts/kubecerts/test/e2e/framework"
)

// chain makes a chain of n certificates: leaf, then intermediates up to a root.
func chkChain(t *testing.T, n int, cn string) (pemChain []byte, leafKey []byte) {
	t.Helper()
	certs := []*certtest.Cert{certtest.CA(t, cn+"-root")}
	for i := 1; i < n; i++ {
		parent := certs[len(certs)-1]
		isCA := i < n-1
		tmpl := certtest.Template{CommonName: fmt.Sprintf("%s-%d", cn, i), IsCA: isCA, DNSNames: []string{cn + ".example"}}
		certs = append(certs, certtest.New(t, tmpl, parent))
	}
	var buf bytes.Buffer
	for i := len(certs) - 1; i >= 0; i-- {
		buf.Write(certs[i].PEM())
	}
	return buf.Bytes(), certs[len(certs)-1].KeyPEM(t)
}

// chkTLSSecrets creates n kubernetes.io/tls Secrets in ns, s000 to s<n-1>,
// each holding crt and key.
func chkTLSSecrets(t *testing.T, admin kubernetes.Interface, ns string, n int, crt, key []byte) {
	t.Helper()
	for i := 0; i < n; i++ {
		_, err := admin.CoreV1().Secrets(ns).Create(t.Context(), chkTLSSecret(ns, fmt.Sprintf("s%03d", i), crt, key), metav1.CreateOptions{})
		chkCreated(t, "secret", 0, err)
	}
}

func chkTLSSecret(ns, name string, crt, key []byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: crt, corev1.TLSPrivateKeyKey: key},
	}
}

func chkCreated[T any](t *testing.T, what string, obj T, err error) T {
	t.Helper()
	if err != nil {
		t.Fatalf("creating %s: %v", what, err)
	}
	return obj
}

// TestCheckInClusterSources: secrets (chains of 1 to 3, an Opaque trust
// secret with --all-secret-types, a garbage tls.crt), webhook CA bundles, an
// APIService, a CRD conversion webhook, a CSR that kube-controller-manager
// signed, and ConfigMaps.
func TestCheckInClusterSources(t *testing.T) {
	c := framework.Shared(t)
	admin := c.Clientset()
	ctx := t.Context()
	ns := createNamespace(t, admin, admin, "check-cluster-")

	for n := 1; n <= 3; n++ {
		crt, key := chkChain(t, n, fmt.Sprintf("chain%d", n))
		_, err := admin.CoreV1().Secrets(ns).Create(ctx, chkTLSSecret(ns, fmt.Sprintf("chain-%d", n), crt, key), metav1.CreateOptions{})
		chkCreated(t, "secret", 0, err)
	}
	_, garbageKey := chkChain(t, 1, "garbage")
	_, err := admin.CoreV1().Secrets(ns).Create(ctx, chkTLSSecret(ns, "garbage", []byte("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n"), garbageKey), metav1.CreateOptions{})
	chkCreated(t, "garbage secret", 0, err)
	ca1, ca2 := certtest.CA(t, "trust-ca-1"), certtest.CA(t, "trust-ca-2")
	_, err = admin.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "custom-ca-trust-secret"},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"ca1.crt": ca1.PEM(), "ca2.crt": ca2.PEM(), "password": []byte("hunter2-not-a-cert")},
	}, metav1.CreateOptions{})
	chkCreated(t, "trust secret", 0, err)

	// TLS secrets only, by default: 1+2+3 certificates, the garbage one an error.
	r, code, stderr := certsCheck(t, c.AdminKubeconfig, "--source", "secrets", "-n", ns)
	if code != 1 {
		t.Errorf("exit %d, want 1 (one garbage secret); stderr:\n%s", code, stderr)
	}
	if got := chkCount(r, "secret/"+ns+"/chain-"); got != 6 {
		t.Errorf("%d certificates from chain secrets, want 6: %+v", got, r.Certificates)
	}
	if len(r.Errors) != 1 || r.Errors[0].Location != "secret/"+ns+"/garbage/tls.crt" {
		t.Errorf("errors = %+v, want one for the garbage tls.crt", r.Errors)
	}
	if loc := "secret/" + ns + "/chain-3/tls.crt [2]"; findBy(r, func(x *api.Certificate) bool { return x.Location == loc }) == nil {
		t.Errorf("no %s: every certificate of a chain is reported", loc)
	}
	if chkCount(r, "/custom-ca-trust-secret/") != 0 {
		t.Error("an Opaque secret was read without --all-secret-types")
	}
	// Every type: the trust secret's two CAs too, and not its password.
	r, _, _ = certsCheck(t, c.AdminKubeconfig, "--source", "secrets", "-n", ns, "--all-secret-types")
	if chkCount(r, "secret/"+ns+"/custom-ca-trust-secret/ca") != 2 || chkCount(r, "/password") != 0 {
		t.Errorf("trust secret entries: %d (want ca1.crt and ca2.crt only)", chkCount(r, "/custom-ca-trust-secret/"))
	}

	// Webhooks: a validating webhook, an APIService, a CRD conversion webhook.
	whCA, apiCA, crdCA := certtest.CA(t, "webhook-ca"), certtest.CA(t, "apiservice-ca"), certtest.CA(t, "crd-ca")
	sideEffects := admissionv1.SideEffectClassNone
	fail := admissionv1.Ignore
	vwc, err := admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &admissionv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "kubecerts-e2e-"},
		Webhooks: []admissionv1.ValidatingWebhook{{
			Name:                    "check.kubecerts.io",
			ClientConfig:            admissionv1.WebhookClientConfig{URL: chkStrPtr("https://127.0.0.1:1/validate"), CABundle: whCA.PEM()},
			SideEffects:             &sideEffects,
			FailurePolicy:           &fail,
			AdmissionReviewVersions: []string{"v1"},
			ObjectSelector:          &metav1.LabelSelector{MatchLabels: map[string]string{"never": "matches"}},
		}},
	}, metav1.CreateOptions{})
	chkCreated(t, "webhook configuration", 0, err)
	t.Cleanup(func() {
		_ = admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(context.Background(), vwc.Name, metav1.DeleteOptions{})
	})
	dyn, err := dynamic.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	apiSvcName := "v1alpha1.e2e-" + ns + ".kubecerts.io"
	chkCreateUnstructured(t, dyn, schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}, map[string]interface{}{
		"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]interface{}{"name": apiSvcName},
		"spec": map[string]interface{}{
			"group": "e2e-" + ns + ".kubecerts.io", "version": "v1alpha1", "groupPriorityMinimum": int64(100), "versionPriority": int64(10),
			"service":  map[string]interface{}{"namespace": ns, "name": "nowhere", "port": int64(443)},
			"caBundle": chkBase64(apiCA.PEM()),
		},
	})
	crdGroup := "e2e" + strings.TrimPrefix(ns, "check-cluster-") + ".kubecerts.io"
	chkCreateUnstructured(t, dyn, schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}, map[string]interface{}{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]interface{}{"name": "widgets." + crdGroup},
		"spec": map[string]interface{}{
			"group": crdGroup, "scope": "Namespaced",
			"names": map[string]interface{}{"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
			"versions": []interface{}{
				map[string]interface{}{"name": "v1", "served": true, "storage": true, "schema": map[string]interface{}{"openAPIV3Schema": map[string]interface{}{"type": "object"}}},
				map[string]interface{}{"name": "v2", "served": true, "storage": false, "schema": map[string]interface{}{"openAPIV3Schema": map[string]interface{}{"type": "object"}}},
			},
			"conversion": map[string]interface{}{"strategy": "Webhook", "webhook": map[string]interface{}{
				"conversionReviewVersions": []interface{}{"v1"},
				"clientConfig":             map[string]interface{}{"url": "https://127.0.0.1:1/convert", "caBundle": chkBase64(crdCA.PEM())},
			}},
		},
	})
	r, code, stderr = certsCheck(t, c.AdminKubeconfig, "--source", "webhooks")
	if code != 0 {
		t.Errorf("webhooks: exit %d; stderr:\n%s", code, stderr)
	}
	for loc, ca := range map[string]*certtest.Cert{
		"validatingwebhookconfiguration/" + vwc.Name + "/check.kubecerts.io": whCA,
		"apiservice/" + apiSvcName:                     apiCA,
		"customresourcedefinition/widgets." + crdGroup: crdCA,
	} {
		got := findBy(r, func(x *api.Certificate) bool { return x.Location == loc })
		if got == nil || got.SHA256Fingerprint != hexSHA(ca.Cert.Raw) {
			t.Errorf("%s: %+v, want the CA bundle's certificate", loc, got)
		}
	}

	// A CSR that kube-controller-manager signed.
	csrName := chkIssueServingCSR(t, c, "worker-csrsrc")
	r, _, _ = certsCheck(t, c.AdminKubeconfig, "--source", "csr")
	got := findBy(r, func(x *api.Certificate) bool { return x.Location == "csr/"+csrName })
	if got == nil || got.SignerName != certificatesv1.KubeletServingSignerName || got.Requestor != "system:node:worker-csrsrc" || got.Issuer != c.CACert.Subject.String() {
		t.Errorf("csr entry = %+v", got)
	}
	if got != nil && (got.Object == nil || got.Object.Kind != "CertificateSigningRequest" || got.Object.Name != csrName || got.Object.UID == "" || got.Object.FieldPath != "status.certificate") {
		t.Errorf("csr entry's object = %+v", got.Object)
	}

	// The objects the certificates were read from, and the metrics made of
	// them: the exporter's labels for Secrets and CA bundles.
	r, _, _ = certsCheck(t, c.AdminKubeconfig, "--source", "secrets,webhooks", "-n", ns)
	sec, err := admin.CoreV1().Secrets(ns).Get(ctx, "chain-2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := findBy(r, func(x *api.Certificate) bool { return x.Location == "secret/"+ns+"/chain-2/tls.crt [1]" }); got == nil || got.Object == nil ||
		*got.Object != (api.ObjectReference{APIVersion: "v1", Kind: "Secret", Namespace: ns, Name: "chain-2", UID: sec.UID, FieldPath: "data[tls.crt]"}) {
		t.Errorf("chain-2's second certificate: %+v", got)
	}
	stdout, stderr, err := framework.Kubectl(ctx, framework.BuildPlugins(t), c.AdminKubeconfig, "certs", "check", "--source", "secrets,webhooks", "-n", ns, "-o", "prometheus")
	if code := exitCode(t, err); code != 1 {
		t.Errorf("-o prometheus: exit %d, want 1 (the garbage secret); stderr:\n%s", code, stderr)
	}
	assertNoPrivateKey(t, stdout+stderr)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(stdout))
	if err != nil {
		t.Fatalf("-o prometheus does not parse: %v\n%s", err, stdout)
	}
	series := map[string]map[string]string{}
	for _, m := range families["x509_cert_not_after"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		series[labels["location"]] = labels
	}
	if l := series["secret/"+ns+"/chain-1/tls.crt"]; l["secret_namespace"] != ns || l["secret_name"] != "chain-1" || l["secret_key"] != "tls.crt" || l["subject_CN"] != "chain1-root" {
		t.Errorf("chain-1's series: %v", l)
	}
	if l := series["validatingwebhookconfiguration/"+vwc.Name+"/check.kubecerts.io"]; l["cabundle_resource_kind"] != "ValidatingWebhookConfiguration" ||
		l["cabundle_resource_name"] != vwc.Name || l["cabundle_entry"] != "check.kubecerts.io" || l["subject_CN"] != "webhook-ca" {
		t.Errorf("the webhook's series: %v", l)
	}
	if len(series) != len(r.Certificates) {
		t.Errorf("%d series, %d certificates in the JSON", len(series), len(r.Certificates))
	}
	errs := families["kubecerts_check_errors"].GetMetric()
	if len(errs) != 1 || families["x509_read_errors"].GetMetric()[0].GetGauge().GetValue() != 1 {
		t.Errorf("errors: %v / %v, want the garbage secret's", errs, families["x509_read_errors"])
	}
}

// TestCheckConfigMaps: ConfigMaps holding PEM certificates are reported.
func TestCheckConfigMaps(t *testing.T) {
	c := framework.Shared(t)
	admin := c.Clientset()
	ns := createNamespace(t, admin, admin, "check-cm-")
	ca := certtest.CA(t, "cm-ca")
	_, err := admin.CoreV1().ConfigMaps(ns).Create(t.Context(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "trusted"},
		Data:       map[string]string{"ca.crt": string(ca.PEM()), "note": "no certificate here"},
	}, metav1.CreateOptions{})
	chkCreated(t, "configmap", 0, err)
	r, code, stderr := certsCheck(t, c.AdminKubeconfig, "--source", "configmaps", "-n", ns)
	if code != 0 || len(r.Certificates) != 1 || r.Certificates[0].Location != "configmap/"+ns+"/trusted/ca.crt" {
		t.Errorf("exit %d, certificates %+v; stderr:\n%s", code, r.Certificates, stderr)
	}
}

// TestCheckForbiddenNamespace: a user who may read secrets in one namespace
// only gets that namespace's certificates and, for the others, errors that
// spell out the missing permission; the check is not aborted.
func TestCheckForbiddenNamespace(t *testing.T) {
	c := framework.Shared(t)
	admin := c.Clientset()
	ctx := t.Context()
	allowed := createNamespace(t, admin, admin, "check-allowed-")
	denied := createNamespace(t, admin, admin, "check-denied-")
	for _, ns := range []string{allowed, denied} {
		crt, key := chkChain(t, 1, "rbac")
		_, err := admin.CoreV1().Secrets(ns).Create(ctx, chkTLSSecret(ns, "tls", crt, key), metav1.CreateOptions{})
		chkCreated(t, "secret", 0, err)
	}
	user := "limited-" + allowed
	chkGrant(t, admin, allowed, user, []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"list"}}})
	chkGrantCluster(t, admin, user, []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"list"}}})
	kubeconfig, err := c.UserKubeconfig(user)
	if err != nil {
		t.Fatal(err)
	}
	r, code, stderr := certsCheck(t, kubeconfig, "--source", "secrets", "-A")
	if code != 1 {
		t.Errorf("exit %d, want 1; stderr:\n%s", code, stderr)
	}
	if chkCount(r, "secret/"+allowed+"/tls/") != 1 || chkCount(r, "secret/"+denied+"/") != 0 {
		t.Errorf("certificates = %+v, want the allowed namespace's only", r.Certificates)
	}
	var deniedErr *api.ReportError
	for i := range r.Errors {
		if r.Errors[i].Location == "secrets in namespace "+denied {
			deniedErr = &r.Errors[i]
		}
	}
	if deniedErr == nil || !strings.Contains(deniedErr.Message, `missing permission to list secrets in namespace `+denied) || !strings.Contains(deniedErr.Message, `verb "list", resource "secrets"`) {
		t.Errorf("error for %s = %+v", denied, deniedErr)
	}
}

// TestCheckVerboseNeverPrintsKeys: at -v=9 client-go logs every request and
// response body; none of it may show a private key or Secret data.
func TestCheckVerboseNeverPrintsKeys(t *testing.T) {
	c := framework.Shared(t)
	admin := c.Clientset()
	ns := createNamespace(t, admin, admin, "check-v9-")
	crt, key := chkChain(t, 2, "verbose")
	_, err := admin.CoreV1().Secrets(ns).Create(t.Context(), chkTLSSecret(ns, "tls", crt, key), metav1.CreateOptions{})
	chkCreated(t, "secret", 0, err)
	dir := framework.BuildPlugins(t)
	keyBody := string(chkKeyBody(key))
	for _, args := range [][]string{
		{"certs", "check", "--source", "secrets", "-n", ns, "-v=9"},
		{"certs", "check", "--source", "cluster", "-A", "--all-secret-types", "-v=9", "-o", "json"},
	} {
		stdout, stderr, err := framework.Kubectl(t.Context(), dir, c.AdminKubeconfig, args...)
		// Other tests leave expired and broken certificates in the
		// cluster: any report status is fine here, a crash is not.
		if code := exitCode(t, err); code > 3 {
			t.Errorf("%v: exit %d", args, code)
		}
		out := stdout + stderr
		assertNoPrivateKey(t, out)
		if strings.Contains(out, keyBody[:24]) || strings.Contains(out, chkBase64(key)[:24]) {
			t.Errorf("%v: output holds the key's bytes", args)
		}
		if !strings.Contains(stderr, "Response Body") || !strings.Contains(stderr, "redacted by kubecerts") {
			t.Errorf("%v: -v=9 shows no (redacted) bodies; is the logging check still meaningful?", args)
		}
	}
}

// TestCheckPagination: --chunk-size pages the LIST (seen in -v=6 request
// lines) and every secret is still reported.
func TestCheckPagination(t *testing.T) {
	c := framework.Shared(t)
	admin := c.Clientset()
	ns := createNamespace(t, admin, admin, "check-pages-")
	crt, key := chkChain(t, 1, "paged")
	chkTLSSecrets(t, admin, ns, 25, crt, key)
	dir := framework.BuildPlugins(t)
	stdout, stderr, err := framework.Kubectl(t.Context(), dir, c.AdminKubeconfig, "certs", "check", "--source", "secrets", "-n", ns, "--chunk-size", "10", "-v=6", "-o", "name")
	if code := exitCode(t, err); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	if n := len(strings.Fields(stdout)); n != 25 {
		t.Errorf("%d certificates, want 25", n)
	}
	var lists int
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "/api/v1/namespaces/"+ns+"/secrets?") && strings.Contains(l, "limit=10") && strings.Contains(l, "fieldSelector=type%3Dkubernetes.io%2Ftls") {
			lists++
		}
	}
	if lists != 3 {
		t.Errorf("%d LIST pages of 10 with the type field selector, want 3:\n%s", lists, stderr)
	}

	// A user who may list but not watch (the CronJob's role): --chunk-size 0
	// sizes pages by their bytes, starting at FirstChunkSize, never
	// kubectl's unpaged LIST, and no watch is tried.
	user := "pages-" + ns
	chkGrant(t, admin, ns, user, []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"list"}}})
	listOnly, err := c.UserKubeconfig(user)
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err = framework.Kubectl(t.Context(), dir, listOnly, "certs", "check", "--source", "secrets", "-n", ns, "--chunk-size", "0", "-v=6", "-o", "name")
	if code := exitCode(t, err); code != 0 {
		t.Fatalf("--chunk-size 0: exit %d; stderr:\n%s", code, stderr)
	}
	if n := len(strings.Fields(stdout)); n != 25 {
		t.Errorf("--chunk-size 0: %d certificates, want 25", n)
	}
	reqs := secretRequests(stderr, ns)
	if len(reqs) != 1 || !strings.Contains(reqs[0], fmt.Sprintf("limit=%d", source.FirstChunkSize)) || strings.Contains(reqs[0], "watch=true") {
		t.Errorf("--chunk-size 0, may not watch: requests for secrets %q, want one LIST page of %d", reqs, source.FirstChunkSize)
	}
}

// secretRequests returns the request lines client-go logs at -v=6 for the
// Secrets of ns.
func secretRequests(stderr, ns string) []string {
	var reqs []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "/api/v1/namespaces/"+ns+"/secrets?") {
			reqs = append(reqs, l)
		}
	}
	return reqs
}

// TestCheckWatchList: without --chunk-size, a user who may watch Secrets
// reads them with one watch-list (sendInitialEvents, ended by the API
// server's bookmark) and no LIST; one who may only list them gets paged
// LISTs; KUBE_FEATURE_WatchListClient=false (client-go's switch) and
// --chunk-size turn the watch-list off. Every way reports the same
// certificates.
func TestCheckWatchList(t *testing.T) {
	c := framework.Shared(t)
	admin := c.Clientset()
	ns := createNamespace(t, admin, admin, "check-watchlist-")
	crt, key := chkChain(t, 1, "streamed")
	chkTLSSecrets(t, admin, ns, 30, crt, key)
	// Not TLS: filtered out by the API server in the watch-list as in a LIST.
	_, err := admin.CoreV1().Secrets(ns).Create(t.Context(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "opaque"},
		Data: map[string][]byte{"ca.crt": crt}}, metav1.CreateOptions{})
	chkCreated(t, "secret", 0, err)
	dir := framework.BuildPlugins(t)

	listWatch := "listwatch-" + ns
	chkGrant(t, admin, ns, listWatch, []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"list", "watch"}}})
	listOnly := "listonly-" + ns
	chkGrant(t, admin, ns, listOnly, []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"list"}}})
	kubeconfig := func(user string) string {
		kc, err := c.UserKubeconfig(user)
		if err != nil {
			t.Fatal(err)
		}
		return kc
	}
	kubectl, err := framework.KubectlPath()
	if err != nil {
		t.Fatal(err)
	}
	const watchList = "sendInitialEvents=true"
	var want string
	for _, tc := range []struct {
		name       string
		kubeconfig string
		env        []string
		args       []string
		watch      bool // one watch-list, no LIST
	}{
		{name: "admin", kubeconfig: c.AdminKubeconfig, watch: true},
		{name: "a user who may list and watch", kubeconfig: kubeconfig(listWatch), watch: true},
		{name: "a user who may only list", kubeconfig: kubeconfig(listOnly)},
		{name: "KUBE_FEATURE_WatchListClient=false", kubeconfig: c.AdminKubeconfig, env: []string{"KUBE_FEATURE_WatchListClient=false"}},
		{name: "--chunk-size 10", kubeconfig: c.AdminKubeconfig, args: []string{"--chunk-size", "10"}},
		{name: "-o json", kubeconfig: c.AdminKubeconfig, args: []string{"-o", "json"}, watch: true},
	} {
		env, err := framework.KubectlEnv(dir, tc.kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		args := append([]string{"certs", "check", "--source", "secrets", "-n", ns, "-v=6", "-o", "name"}, tc.args...)
		cmd := exec.CommandContext(t.Context(), kubectl, args...)
		cmd.Env = append(env, tc.env...)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if code := exitCode(t, cmd.Run()); code != 0 {
			t.Fatalf("%s: exit %d; stderr:\n%s", tc.name, code, stderr.String())
		}
		reqs := secretRequests(stderr.String(), ns)
		var watches, lists int
		for _, r := range reqs {
			if strings.Contains(r, watchList) {
				watches++
				for _, p := range []string{"watch=true", "allowWatchBookmarks=true", "resourceVersionMatch=NotOlderThan", "fieldSelector=type%3Dkubernetes.io%2Ftls", `status="200 OK"`} {
					if !strings.Contains(r, p) {
						t.Errorf("%s: the watch-list request lacks %q: %s", tc.name, p, r)
					}
				}
			} else {
				lists++
				if !strings.Contains(r, "limit=") {
					t.Errorf("%s: an unpaged LIST: %s", tc.name, r)
				}
			}
		}
		if tc.watch && (watches != 1 || lists != 0) {
			t.Errorf("%s: %d watch-lists and %d LISTs of secrets, want one watch-list:\n%s", tc.name, watches, lists, strings.Join(reqs, "\n"))
		}
		if !tc.watch && (watches != 0 || lists == 0) {
			t.Errorf("%s: %d watch-lists and %d LISTs of secrets, want LISTs only:\n%s", tc.name, watches, lists, strings.Join(reqs, "\n"))
		}
		out := stdout.String()
		if tc.name == "-o json" {
			var r api.CertificateReport
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("-o json: %v", err)
			}
			if len(r.Certificates) != 30 || r.Certificates[0].Object == nil || r.Certificates[0].Object.UID == "" {
				t.Errorf("-o json: %d certificates, first's object %+v: want 30, each with the Secret's UID", len(r.Certificates), r.Certificates[0].Object)
			}
			continue
		}
		if want == "" {
			want = out
		}
		if n := len(strings.Fields(out)); n != 30 || out != want {
			t.Errorf("%s: %d certificates, want the same 30 as the admin's:\n%s", tc.name, n, out)
		}
	}
}

func chkCount(r *api.CertificateReport, substr string) int {
	n := 0
	for _, c := range r.Certificates {
		if strings.Contains(c.Location, substr) {
			n++
		}
	}
	return n
}

func chkCreateUnstructured(t *testing.T, dyn dynamic.Interface, gvr schema.GroupVersionResource, obj map[string]interface{}) {
	t.Helper()
	u := &unstructured.Unstructured{Object: obj}
	if _, err := dyn.Resource(gvr).Create(t.Context(), u, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating %s %s: %v", gvr.Resource, u.GetName(), err)
	}
	t.Cleanup(func() { _ = dyn.Resource(gvr).Delete(context.Background(), u.GetName(), metav1.DeleteOptions{}) })
}

func chkGrant(t *testing.T, admin kubernetes.Interface, ns, user string, rules []rbacv1.PolicyRule) {
	t.Helper()
	_, err := admin.RbacV1().Roles(ns).Create(t.Context(), &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: user}, Rules: rules}, metav1.CreateOptions{})
	chkCreated(t, "role", 0, err)
	_, err = admin.RbacV1().RoleBindings(ns).Create(t.Context(), &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: user},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: user}},
	}, metav1.CreateOptions{})
	chkCreated(t, "rolebinding", 0, err)
}

func chkGrantCluster(t *testing.T, admin kubernetes.Interface, user string, rules []rbacv1.PolicyRule) {
	t.Helper()
	_, err := admin.RbacV1().ClusterRoles().Create(t.Context(), &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: user}, Rules: rules}, metav1.CreateOptions{})
	chkCreated(t, "clusterrole", 0, err)
	_, err = admin.RbacV1().ClusterRoleBindings().Create(t.Context(), &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: user},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: user}},
	}, metav1.CreateOptions{})
	chkCreated(t, "clusterrolebinding", 0, err)
	t.Cleanup(func() {
		_ = admin.RbacV1().ClusterRoleBindings().Delete(context.Background(), user, metav1.DeleteOptions{})
		_ = admin.RbacV1().ClusterRoles().Delete(context.Background(), user, metav1.DeleteOptions{})
	})
}

func chkStrPtr(s string) *string { return &s }

func chkBase64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// chkKeyBody is the base64 body of a PEM key, as it would appear if printed.
func chkKeyBody(keyPEM []byte) []byte {
	block, _ := pem.Decode(keyPEM)
	return []byte(chkBase64(block.Bytes))
}

// chkIssueServingCSR creates a Node and a kubelet-serving CSR as that node,
// approves it as admin and waits for kube-controller-manager to sign it.
func chkIssueServingCSR(t *testing.T, c *framework.Cluster, node string) string {
	t.Helper()
	ctx := t.Context()
	admin := c.Clientset()
	ip := net.ParseIP("10.240.9.9")
	createNode(t, admin, node, ip)
	kubeconfig, err := c.NodeKubeconfig(node)
	if err != nil {
		t.Fatal(err)
	}
	kubelet, err := framework.ClientsetFromKubeconfig(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: "system:node:" + node, Organization: []string{"system:nodes"}},
		DNSNames: []string{node}, IPAddresses: []net.IP{ip},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := kubelet.CertificatesV1().CertificateSigningRequests().Create(ctx, &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-check-" + node + "-"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: certificatesv1.KubeletServingSignerName,
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageServerAuth},
		},
	}, metav1.CreateOptions{})
	chkCreated(t, "csr", 0, err)
	t.Cleanup(func() {
		_ = admin.CertificatesV1().CertificateSigningRequests().Delete(context.Background(), csr.Name, metav1.DeleteOptions{})
	})
	csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "KubecertsE2E", Message: "approved by the e2e test",
	})
	if _, err := admin.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, csr.Name, csr, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err := admin.CertificatesV1().CertificateSigningRequests().Get(ctx, csr.Name, metav1.GetOptions{})
		return err == nil && len(got.Status.Certificate) > 0, nil
	}); err != nil {
		t.Fatalf("waiting for %s to be signed: %v", csr.Name, err)
	}
	return csr.Name
}
