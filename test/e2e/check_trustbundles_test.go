package e2e_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/certificate/certtest"
	"github.com/kubecerts/kubecerts/test/e2e/framework"
)

// TestCheckTrustBundles: ClusterTrustBundles without and with a signer
// (the admin may attest for any signer), one holding an expired CA, and the
// one kube-controller-manager publishes for the API server's CA.
func TestCheckTrustBundles(t *testing.T) {
	c := framework.Shared(t)
	admin := c.Clientset()
	ctx := t.Context()
	suffix := strings.ToLower(strings.TrimPrefix(createNamespace(t, admin, admin, "ctb-"), "ctb-"))

	ca1, ca2 := certtest.CA(t, "ctb-ca-1-"+suffix), certtest.CA(t, "ctb-ca-2-"+suffix)
	now := time.Now()
	old := certtest.New(t, certtest.Template{CommonName: "ctb-old-" + suffix, IsCA: true, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-time.Hour)}, nil)
	signer := "e2e.kubecerts.io/" + suffix
	plain, signed, expired := "kubecerts-e2e-plain-"+suffix, "e2e.kubecerts.io:"+suffix+":v1", "kubecerts-e2e-expired-"+suffix
	for _, b := range []*certificatesv1.ClusterTrustBundle{
		{ObjectMeta: metav1.ObjectMeta{Name: plain}, Spec: certificatesv1.ClusterTrustBundleSpec{TrustBundle: string(ca1.PEM())}},
		{ObjectMeta: metav1.ObjectMeta{Name: signed}, Spec: certificatesv1.ClusterTrustBundleSpec{SignerName: signer, TrustBundle: string(ca1.PEM()) + string(ca2.PEM())}},
		{ObjectMeta: metav1.ObjectMeta{Name: expired}, Spec: certificatesv1.ClusterTrustBundleSpec{TrustBundle: string(old.PEM())}},
	} {
		_, err := admin.CertificatesV1().ClusterTrustBundles().Create(ctx, b, metav1.CreateOptions{})
		chkCreated(t, "ClusterTrustBundle "+b.Name, 0, err)
		name := b.Name
		t.Cleanup(func() {
			_ = admin.CertificatesV1().ClusterTrustBundles().Delete(context.Background(), name, metav1.DeleteOptions{})
		})
	}

	// kube-controller-manager publishes the API server's CA; wait for it.
	var published string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		list, err := admin.CertificatesV1().ClusterTrustBundles().List(ctx, metav1.ListOptions{FieldSelector: "spec.signerName=kubernetes.io/kube-apiserver-serving"})
		if err != nil || len(list.Items) == 0 {
			return false, nil
		}
		published = list.Items[0].Name
		return true, nil
	})
	if err != nil {
		t.Fatalf("kube-controller-manager published no ClusterTrustBundle for kubernetes.io/kube-apiserver-serving: %v", err)
	}

	r, code, stderr := certsCheck(t, c.AdminKubeconfig, "--source", "trustbundles", "--chunk-size", "1")
	if code != 3 {
		t.Errorf("exit %d, want 3 (an expired CA); stderr:\n%s", code, stderr)
	}
	for _, want := range []struct {
		location, subject, signer string
		status                    api.CertificateStatus
	}{
		{"clustertrustbundle/" + plain, "CN=ctb-ca-1-" + suffix, "", api.StatusOK},
		{"clustertrustbundle/" + signed + " [0]", "CN=ctb-ca-1-" + suffix, signer, api.StatusOK},
		{"clustertrustbundle/" + signed + " [1]", "CN=ctb-ca-2-" + suffix, signer, api.StatusOK},
		{"clustertrustbundle/" + expired, "CN=ctb-old-" + suffix, "", api.StatusExpired},
		{"clustertrustbundle/" + published, "CN=kubernetes", "kubernetes.io/kube-apiserver-serving", api.StatusOK},
	} {
		got := findBy(r, func(x *api.Certificate) bool { return x.Location == want.location })
		if got == nil {
			t.Errorf("no %s in %+v", want.location, r.Certificates)
			continue
		}
		if got.Source != "trustbundles" || got.Subject != want.subject || got.SignerName != want.signer || got.Status != want.status || !got.IsCA {
			t.Errorf("%s: source %s subject %q signer %q status %s isCA %v; want %q %q %s", want.location, got.Source, got.Subject, got.SignerName, got.Status, got.IsCA, want.subject, want.signer, want.status)
		}
	}
	if len(r.Errors) != 0 || len(r.Notes) != 0 {
		t.Errorf("errors %+v, notes %q; want none", r.Errors, r.Notes)
	}

	// The published CA is the cluster's: the kubeconfig's CA, the same certificate.
	kc := findBy(r, func(x *api.Certificate) bool { return x.Location == "clustertrustbundle/"+published })
	caPEM, err := os.ReadFile(c.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	caBundle, err := certificate.Parse(caPEM)
	if err != nil {
		t.Fatal(err)
	}
	if kc != nil && kc.SHA256Fingerprint != certificate.Fingerprint(caBundle.Certificates[0]) {
		t.Errorf("published bundle holds %s, not the cluster CA", kc.SHA256Fingerprint)
	}

	// Part of --source cluster.
	r, _, _ = certsCheck(t, c.AdminKubeconfig, "--source", "cluster", "-n", "default")
	if findBy(r, func(x *api.Certificate) bool {
		return x.Source == "trustbundles" && x.Location == "clustertrustbundle/"+plain
	}) == nil {
		t.Errorf("--source cluster has no trustbundles entry for %s", plain)
	}
}

// TestCheckPodCerts: a PodCertificateRequest as the API server accepts it
// (the pod, its service account and node by UID, a stub PKCS#10 request
// signed with the key), issued through the status subresource as a signer
// would; one pending and one denied; and without RBAC, errors.
func TestCheckPodCerts(t *testing.T) {
	c := framework.Shared(t)
	admin := c.Clientset()
	ctx := t.Context()
	ns := createNamespace(t, admin, admin, "podcerts-")
	node := createNode(t, admin, ns+"-node", net.ParseIP("10.9.8.7"))
	sa, err := admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "app"}}, metav1.CreateOptions{})
	chkCreated(t, "service account", 0, err)
	signer := "e2e.kubecerts.io/pods"
	ca := certtest.CA(t, "pod-signer-ca")

	pcr := func(podName string) (*certificatesv1.PodCertificateRequest, *ecdsa.PrivateKey) {
		t.Helper()
		pod, err := admin.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: podName},
			Spec: corev1.PodSpec{
				NodeName: node.Name, ServiceAccountName: sa.Name, AutomountServiceAccountToken: new(bool),
				Containers: []corev1.Container{{Name: "app", Image: "registry.invalid/app:1"}},
			},
		}, metav1.CreateOptions{})
		chkCreated(t, "pod "+podName, 0, err)
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		stub, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
		if err != nil {
			t.Fatal(err)
		}
		req, err := admin.CertificatesV1().PodCertificateRequests(ns).Create(ctx, &certificatesv1.PodCertificateRequest{
			ObjectMeta: metav1.ObjectMeta{Name: podName + "-req"},
			Spec: certificatesv1.PodCertificateRequestSpec{
				SignerName: signer, PodName: pod.Name, PodUID: pod.UID,
				ServiceAccountName: sa.Name, ServiceAccountUID: sa.UID,
				NodeName: types.NodeName(node.Name), NodeUID: node.UID,
				StubPKCS10Request: stub,
			},
		}, metav1.CreateOptions{})
		chkCreated(t, "PodCertificateRequest for "+podName, 0, err)
		return req, key
	}

	// Issued for 24h, beginRefreshAt as early as the API server allows: it
	// wants notBefore within 5 minutes of its clock and beginRefreshAt at
	// least 10 minutes after notBefore, so a request past beginRefreshAt
	// exists only minutes after it was issued (the unit tests have those).
	issued, key := pcr("web")
	notBefore := time.Now().Add(-4 * time.Minute).Truncate(time.Second)
	notAfter := notBefore.Add(24 * time.Hour)
	refresh := notBefore.Add(10 * time.Minute)
	leaf := podLeaf(t, ca, key, "web."+ns, notBefore, notAfter)
	issued.Status = certificatesv1.PodCertificateRequestStatus{
		CertificateChain: string(leaf) + string(ca.PEM()),
		NotBefore:        &metav1.Time{Time: notBefore}, BeginRefreshAt: &metav1.Time{Time: refresh}, NotAfter: &metav1.Time{Time: notAfter},
		Conditions: []metav1.Condition{{
			Type: certificatesv1.PodCertificateRequestConditionTypeIssued, Status: metav1.ConditionTrue,
			Reason: "Issued", Message: "issued by the e2e signer", LastTransitionTime: metav1.Now(),
		}},
	}
	if _, err := admin.CertificatesV1().PodCertificateRequests(ns).UpdateStatus(ctx, issued, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("issuing %s through the status subresource: %v", issued.Name, err)
	}

	pending, _ := pcr("queued")
	denied, _ := pcr("refused")
	denied.Status.Conditions = []metav1.Condition{{
		Type: certificatesv1.PodCertificateRequestConditionTypeDenied, Status: metav1.ConditionTrue,
		Reason: "UnsupportedKeyType", Message: "use ED25519", LastTransitionTime: metav1.Now(),
	}}
	if _, err := admin.CertificatesV1().PodCertificateRequests(ns).UpdateStatus(ctx, denied, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("denying %s: %v", denied.Name, err)
	}

	for _, args := range [][]string{
		{"--source", "podcerts", "-n", ns, "--chunk-size", "1"},
		{"--source", "podcerts", "-A"},
	} {
		r, code, stderr := certsCheck(t, c.AdminKubeconfig, args...)
		// A day's certificate is judged by its refresh schedule, not by
		// --critical-within (7d): before beginRefreshAt it is OK.
		if code != 0 {
			t.Errorf("%v: exit %d, want 0; stderr:\n%s", args, code, stderr)
		}
		loc := "podcertificaterequest/" + ns + "/" + issued.Name
		got := findBy(r, func(x *api.Certificate) bool { return x.Location == loc+" [0]" })
		if got == nil {
			t.Fatalf("%v: no %s [0] in %+v", args, loc, r.Certificates)
		}
		if got.Source != "podcerts" || got.Subject != "CN=web."+ns || got.SignerName != signer || got.Status != api.StatusOK {
			t.Errorf("%v: %s: %+v", args, loc, got)
		}
		p := got.PodCertificate
		if p == nil || p.Namespace != ns || p.Pod != "web" || p.ServiceAccount != "app" || p.Node != node.Name ||
			p.BeginRefreshAt == nil || !p.BeginRefreshAt.Time.Equal(refresh) || p.PastRefresh {
			t.Errorf("%v: podCertificate = %+v", args, p)
		}
		if chain1 := findBy(r, func(x *api.Certificate) bool { return x.Location == loc+" [1]" }); chain1 == nil || chain1.Subject != "CN=pod-signer-ca" || chain1.PodCertificate == nil {
			t.Errorf("%v: the chain's CA at %s [1]: %+v", args, loc, chain1)
		}
		skipped := map[string]string{}
		for _, s := range r.Skipped {
			skipped[s.Location] = s.Reason
		}
		if why := skipped["podcertificaterequest/"+ns+"/"+pending.Name]; !strings.HasPrefix(why, "pending") {
			t.Errorf("%v: pending request skipped as %q", args, why)
		}
		if why := skipped["podcertificaterequest/"+ns+"/"+denied.Name]; !strings.HasPrefix(why, "denied") || !strings.Contains(why, "UnsupportedKeyType: use ED25519") {
			t.Errorf("%v: denied request skipped as %q", args, why)
		}
		for _, n := range r.Notes {
			if strings.Contains(n, loc) {
				t.Errorf("%v: a note names %s, not past beginRefreshAt: %q", args, loc, n)
			}
		}
		if len(r.Errors) != 0 {
			t.Errorf("%v: errors %+v", args, r.Errors)
		}
	}

	// Another namespace (-n) sees none of them.
	r, _, _ := certsCheck(t, c.AdminKubeconfig, "--source", "podcerts", "-n", "default")
	if chkCount(r, ns) != 0 || len(r.Skipped) != 0 {
		t.Errorf("-n default: %+v, skipped %+v", r.Certificates, r.Skipped)
	}

	// Forbidden is an error naming the permission, not "not served".
	user := "podcerts-reader-" + ns
	kubeconfig, err := c.UserKubeconfig(user)
	if err != nil {
		t.Fatal(err)
	}
	r, code, stderr := certsCheck(t, kubeconfig, "--source", "podcerts,trustbundles", "-n", ns)
	if code != 1 {
		t.Errorf("without RBAC: exit %d, want 1; stderr:\n%s", code, stderr)
	}
	var forbidden int
	for _, e := range r.Errors {
		if strings.Contains(e.Message, "missing permission to list") {
			forbidden++
		}
	}
	if forbidden != 2 || len(r.Notes) != 0 {
		t.Errorf("without RBAC: errors %+v, notes %q; want two forbidden errors, no note", r.Errors, r.Notes)
	}
}

// podLeaf is the certificate a signer issues for a pod's key.
func podLeaf(t *testing.T, ca *certtest.Cert, key *ecdsa.PrivateKey, cn string, notBefore, notAfter time.Time) []byte {
	t.Helper()
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
