package e2e_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubecerts/kubecerts/test/e2e/framework"
)

// rcRefusedList is a CSRReviewList with the refused SANs.
type rcRefusedList struct {
	Items []struct {
		Name        string `json:"name"`
		Verdict     string `json:"verdict"`
		Action      string `json:"action"`
		Reason      string `json:"reason"`
		RefusedSANs []struct {
			SAN  string `json:"san"`
			Rule string `json:"rule"`
		} `json:"refusedSANs"`
		Checks []struct {
			Name    string `json:"name"`
			Passed  bool   `json:"passed"`
			Message string `json:"message"`
		} `json:"checks"`
	} `json:"items"`
}

// TestRotateCSRNodeCannotVouchForItself is issue 15's attack on the real
// rules (Node,RBAC authorization, NodeRestriction): worker-1, with its own
// kubelet credentials, PATCHes its own Node's status to list the kubernetes
// Service's ClusterIP, the API server's address, loopback, worker-2's IP,
// kubernetes.default.svc and a wildcard, then asks for a serving certificate
// with them. approve --all-pending and watch refuse it, naming each SAN with
// its rule, even in the weak mode; a legitimate CSR inside --node-cidr is
// still approved and issued by kube-controller-manager.
func TestRotateCSRNodeCannotVouchForItself(t *testing.T) {
	c := framework.Shared(t)
	dir := framework.BuildPlugins(t)
	admin := c.Clientset()
	const w1, w2 = "rcx-worker-1", "rcx-worker-2"
	const nodeCIDR = "10.244.0.0/16"
	ip1, ip2, apiIP := net.ParseIP("10.244.0.11"), net.ParseIP("10.244.0.12"), net.ParseIP("10.244.0.2")
	createNode(t, admin, w1, ip1)
	createNode(t, admin, w2, ip2)
	kubelet1 := rcNodeClient(t, c, w1)

	// What a kubeadm API server writes: the kubernetes EndpointSlice with
	// its advertise address (the test cluster runs on loopback, without the
	// endpoint reconciler).
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "kubernetes", Namespace: "default", Labels: map[string]string{discoveryv1.LabelServiceName: "kubernetes"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{apiIP.String()}}},
	}
	if _, err := admin.DiscoveryV1().EndpointSlices("default").Create(t.Context(), slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = admin.DiscoveryV1().EndpointSlices("default").Delete(context.Background(), "kubernetes", metav1.DeleteOptions{})
	})
	svc, err := admin.CoreV1().Services("default").Get(t.Context(), "kubernetes", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	clusterIP := net.ParseIP(svc.Spec.ClusterIP)
	if clusterIP == nil {
		t.Fatalf("kubernetes Service has no ClusterIP: %+v", svc.Spec)
	}

	// worker-1 writes its own status, as any kubelet may: a PATCH of the
	// status subresource (it may not GET it, so kubectl patch is refused).
	addrs := []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: ip1.String()},
		{Type: corev1.NodeHostName, Address: w1},
		{Type: corev1.NodeInternalIP, Address: clusterIP.String()},
		{Type: corev1.NodeInternalIP, Address: apiIP.String()},
		{Type: corev1.NodeInternalIP, Address: "127.0.0.1"},
		{Type: corev1.NodeInternalIP, Address: ip2.String()},
		{Type: corev1.NodeInternalDNS, Address: "kubernetes.default.svc"},
		{Type: corev1.NodeInternalDNS, Address: "*.apps.example.com"},
		{Type: corev1.NodeInternalDNS, Address: w2},
	}
	patch, _ := json.Marshal(map[string]interface{}{"status": map[string]interface{}{"addresses": addrs}})
	if _, err := kubelet1.CoreV1().Nodes().Patch(t.Context(), w1, types.MergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
		t.Fatalf("worker-1 patching its own status (NodeRestriction allows it): %v", err)
	}
	// ... but not worker-2's: the Node authorizer and NodeRestriction hold.
	if _, err := kubelet1.CoreV1().Nodes().Patch(t.Context(), w2, types.MergePatchType, patch, metav1.PatchOptions{}, "status"); err == nil {
		t.Fatal("worker-1 patched worker-2's status")
	}

	key := rcNewKey(t)
	// NodeRestriction no longer lets a node ask in another node's name.
	der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:" + w2, Organization: rcNodesOrg}}, key)
	if _, err := kubelet1.CertificatesV1().CertificateSigningRequests().Create(t.Context(), &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "rcx-cn-"},
		Spec: certificatesv1.CertificateSigningRequestSpec{Request: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: certificatesv1.KubeletServingSignerName, Usages: rcServingUsages},
	}, metav1.CreateOptions{}); err == nil {
		t.Error("worker-1 created a CSR in worker-2's name")
	}
	attack := rcCreateCSR(t, kubelet1, admin, "rcx-attack", rcRequest{key: key, cn: "system:node:" + w1, orgs: rcNodesOrg,
		dns: []string{w1, "kubernetes.default.svc", "*.apps.example.com", w2},
		ips: []net.IP{ip1, clusterIP, apiIP, net.ParseIP("127.0.0.1"), ip2}}, rcServingUsages)
	legit := rcCreateCSR(t, kubelet1, admin, "rcx-legit", rcRequest{key: key, cn: "system:node:" + w1, orgs: rcNodesOrg,
		dns: []string{w1}, ips: []net.IP{ip1}}, rcServingUsages)
	wantRules := map[string][]string{
		"kubernetes.default.svc": {"cluster-service"},
		"*.apps.example.com":     {"wildcard"},
		w2:                       {"node-name", "other-node"},
		clusterIP.String():       {"service-range"},
		apiIP.String():           {"apiserver-address"},
		"127.0.0.1":              {"special-address"},
		ip2.String():             {"other-node"},
	}
	checkRefused := func(t *testing.T, out string) {
		t.Helper()
		var l rcRefusedList
		if err := json.Unmarshal([]byte(out), &l); err != nil {
			t.Fatalf("%v:\n%s", err, out)
		}
		for _, it := range l.Items {
			if it.Name != attack.Name {
				continue
			}
			if it.Verdict != "deny" || (it.Action != "" && it.Action != "left-pending") {
				t.Errorf("attack: verdict %s action %s: %s", it.Verdict, it.Action, it.Reason)
			}
			got := map[string][]string{}
			for _, r := range it.RefusedSANs {
				got[r.SAN] = append(got[r.SAN], r.Rule)
			}
			for san, rules := range wantRules {
				for _, rule := range rules {
					if !slices.Contains(got[san], rule) {
						t.Errorf("%s refused by %v, want %s among them", san, got[san], rule)
					}
					if !strings.Contains(it.Reason, san+": ") {
						t.Errorf("reason does not name %s: %s", san, it.Reason)
					}
				}
			}
			for _, own := range []string{w1, ip1.String()} {
				if rules, ok := got[own]; ok {
					t.Errorf("the node's own %s refused by %v", own, rules)
				}
			}
			return
		}
		t.Fatalf("%s not in the output:\n%s", attack.Name, out)
	}

	t.Run("list shows why, before anyone approves", func(t *testing.T) {
		out, errOut, code := rcKubectl(t, dir, c.AdminKubeconfig, "rotate", "csr", "list", attack.Name, "--node-cidr", nodeCIDR, "-o", "json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		checkRefused(t, out)
	})

	for _, policy := range [][]string{{"--node-cidr", nodeCIDR}, {"--trust-node-addresses"}} {
		t.Run("approve --all-pending "+strings.Join(policy, " "), func(t *testing.T) {
			args := append([]string{"rotate", "csr", "approve", "--all-pending", "--dry-run", "-o", "json"}, policy...)
			out, errOut, code := rcKubectl(t, dir, c.AdminKubeconfig, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			checkRefused(t, out)
		})
	}

	t.Run("approve --all-pending approves only the legitimate CSR", func(t *testing.T) {
		out, errOut, code := rcKubectl(t, dir, c.AdminKubeconfig, "rotate", "csr", "approve", "--all-pending", "--node-cidr", nodeCIDR, "-o", "json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		checkRefused(t, out)
		cert := rcWaitIssued(t, kubelet1, legit.Name)
		if !slices.Equal(cert.DNSNames, []string{w1}) || len(cert.IPAddresses) != 1 || !cert.IPAddresses[0].Equal(ip1) {
			t.Errorf("issued SANs %v %v", cert.DNSNames, cert.IPAddresses)
		}
		got, err := admin.CertificatesV1().CertificateSigningRequests().Get(t.Context(), attack.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Status.Conditions) != 0 || len(got.Status.Certificate) != 0 {
			t.Errorf("attack CSR not left pending: %+v", got.Status)
		}
	})

	t.Run("watch refuses it too", func(t *testing.T) {
		w := rcStartWatch(t, dir, c.AdminKubeconfig, "--trust-node-addresses")
		var decisions []map[string]interface{}
		err := wait.PollUntilContextTimeout(t.Context(), 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
			decisions = w.decisions(t, attack.Name)
			return len(decisions) > 0, nil
		})
		if err != nil {
			t.Fatalf("no decision on %s: %v\n%s", attack.Name, err, w.stderr)
		}
		d := decisions[0]
		failed, _ := json.Marshal(d["failed"])
		if d["msg"] != "CSR left pending" {
			t.Errorf("decision %v", d)
		}
		for san, rules := range wantRules {
			if !strings.Contains(string(failed), san+": "+rules[0]) && !strings.Contains(string(failed), san+": ") {
				t.Errorf("watch's decision does not name %s: %s", san, failed)
			}
		}
		if err := w.stop(); err != nil {
			t.Errorf("watch: %v", err)
		}
		got, _ := admin.CertificatesV1().CertificateSigningRequests().Get(t.Context(), attack.Name, metav1.GetOptions{})
		if approved, _ := rcCondition(got); approved {
			t.Error("watch approved the attack")
		}
	})
}

// rcBootstrapToken creates a bootstrap token whose user is in group (and
// system:bootstrappers), may create CSRs as kubeadm's tokens may
// (system:node-bootstrapper), and, when nodeclient, may have them approved
// (system:certificates.k8s.io:certificatesigningrequests:nodeclient, as
// kubeadm's kubeadm:node-autoapprove-bootstrap). It returns a client
// authenticated by the token.
func rcBootstrapToken(t *testing.T, c *framework.Cluster, id, group string, nodeclient bool) kubernetes.Interface {
	t.Helper()
	admin := c.Clientset()
	secret := "0123456789abcdef"
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "bootstrap-token-" + id, Namespace: "kube-system"},
		Type:       corev1.SecretTypeBootstrapToken,
		StringData: map[string]string{
			"token-id": id, "token-secret": secret, "usage-bootstrap-authentication": "true",
			"auth-extra-groups": group, "expiration": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
		},
	}
	if _, err := admin.CoreV1().Secrets("kube-system").Create(t.Context(), s, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = admin.CoreV1().Secrets("kube-system").Delete(context.Background(), s.Name, metav1.DeleteOptions{})
	})
	bind := func(role string) {
		crb := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "rcb-" + id + "-" + strings.ReplaceAll(role, ":", "-")},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "Group", Name: group}},
		}
		if _, err := admin.RbacV1().ClusterRoleBindings().Create(t.Context(), crb, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = admin.RbacV1().ClusterRoleBindings().Delete(context.Background(), crb.Name, metav1.DeleteOptions{})
		})
	}
	bind("system:node-bootstrapper")
	if nodeclient {
		bind("system:certificates.k8s.io:certificatesigningrequests:nodeclient")
	}
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: c.Server, BearerToken: id + "." + secret,
		TLSClientConfig: rest.TLSClientConfig{CAFile: c.CAFile}})
	if err != nil {
		t.Fatal(err)
	}
	// RBAC and the token take a moment to be seen.
	if err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := cs.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{Limit: 1})
		return err == nil, nil
	}); err != nil {
		t.Fatalf("bootstrap token %s not usable: %v", id, err)
	}
	return cs
}

// TestRotateCSRBootstrapTokenAuthorized: a kubelet client CSR from a
// bootstrap token is approved only when the API server authorizes the
// token's user for certificatesigningrequests/nodeclient, as
// kube-controller-manager's approver requires; then kube-controller-manager
// issues it.
func TestRotateCSRBootstrapTokenAuthorized(t *testing.T) {
	c := framework.Shared(t)
	dir := framework.BuildPlugins(t)
	admin := c.Clientset()
	for _, tt := range []struct {
		id, group  string
		nodeclient bool
	}{
		{"rcbno1", "system:bootstrappers:kubecerts-e2e-unapproved", false},
		{"rcbok1", "system:bootstrappers:kubecerts-e2e-approved", true},
	} {
		t.Run(fmt.Sprintf("nodeclient=%v", tt.nodeclient), func(t *testing.T) {
			token := rcBootstrapToken(t, c, tt.id, tt.group, tt.nodeclient)
			node := "rcb-node-" + tt.id
			name := rbiCreate(t, admin, "rcb-"+tt.id, rbiCSR{as: token,
				req:    rcRequest{key: rcNewKey(t), cn: "system:node:" + node, orgs: rcNodesOrg},
				signer: certificatesv1.KubeAPIServerClientKubeletSignerName,
				usages: []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}})
			csr, err := admin.CertificatesV1().CertificateSigningRequests().Get(t.Context(), name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(csr.Spec.Groups, "system:bootstrappers") || csr.Spec.Username != "system:bootstrap:"+tt.id {
				t.Fatalf("requestor %s %v", csr.Spec.Username, csr.Spec.Groups)
			}
			out, errOut, code := rcKubectl(t, dir, c.AdminKubeconfig, "rotate", "csr", "approve", csr.Name, "-o", "json")
			l := rcDecode(t, out)
			var authz string
			var passed bool
			for _, ch := range l.Items[0].Checks {
				if ch.Name == "authorization" {
					authz, passed = ch.Message, ch.Passed
				}
			}
			if !tt.nodeclient {
				if code != 1 || passed || !strings.Contains(authz, "may not create certificatesigningrequests/nodeclient") ||
					!strings.Contains(errOut, "authorization: ") || l.Items[0].Action != "left-pending" {
					t.Errorf("unauthorized token: exit %d, authorization %v %q\n%s", code, passed, authz, errOut)
				}
				got, _ := admin.CertificatesV1().CertificateSigningRequests().Get(t.Context(), csr.Name, metav1.GetOptions{})
				if len(got.Status.Conditions) != 0 {
					t.Errorf("not left pending: %+v", got.Status.Conditions)
				}
				return
			}
			if code != 0 || !passed || l.Items[0].Action != "approved" {
				t.Fatalf("authorized token: exit %d, authorization %v %q\n%s", code, passed, authz, errOut)
			}
			cert := rcWaitIssued(t, token, csr.Name)
			if cert.Subject.CommonName != "system:node:"+node {
				t.Errorf("issued CN %q", cert.Subject.CommonName)
			}
		})
	}
}
