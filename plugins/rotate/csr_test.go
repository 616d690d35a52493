package rotate

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
	authorizationv1 "k8s.io/api/authorization/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	cmdtesting "k8s.io/kubectl/pkg/cmd/testing"

	"github.com/kubecerts/kubecerts/plugins/rotate/csrcheck"
	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/exitcode"
	"github.com/kubecerts/kubecerts/shared/golden"
)

// csrFixedNow is when the golden outputs are made.
var csrFixedNow = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)

var csrTestKeys = sync.OnceValue(func() map[string]crypto.Signer {
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		panic(err)
	}
	return map[string]crypto.Signer{"p256": p256, "rsa1024": rsa1024}
})

// csrSpec describes a test CSR.
type csrSpec struct {
	name, key, cn, user, signer string
	orgs, dns, ips, groups      []string
	usages                      []certificatesv1.KeyUsage
	age                         time.Duration
	expiration                  int32
	condition                   certificatesv1.RequestConditionType
	issued                      bool
}

func makeCSR(t testing.TB, s csrSpec) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: s.cn, Organization: s.orgs}, DNSNames: s.dns}
	for _, ip := range s.ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	key := s.key
	if key == "" {
		key = "p256"
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, csrTestKeys()[key])
	if err != nil {
		t.Fatal(err)
	}
	csr := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: s.name, CreationTimestamp: metav1.NewTime(csrFixedNow.Add(-s.age))},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: s.signer,
			Username:   s.user,
			Groups:     s.groups,
			Usages:     s.usages,
		},
	}
	if s.expiration != 0 {
		csr.Spec.ExpirationSeconds = &s.expiration
	}
	if s.condition != "" {
		csr.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: s.condition, Status: corev1.ConditionTrue, Reason: "Test"}}
	}
	if s.issued {
		csr.Status.Certificate = []byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n")
	}
	return csr
}

var csrServingUsages = []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment, certificatesv1.UsageServerAuth}

// serving is a kubelet-serving CSR of node asking for its own name and ip.
func csrServing(name, node, ip string, age time.Duration) csrSpec {
	return csrSpec{
		name: name, cn: "system:node:" + node, user: "system:node:" + node, signer: csrcheck.KubeletServing,
		orgs: []string{"system:nodes"}, dns: []string{node}, ips: []string{ip},
		groups: []string{"system:nodes", "system:authenticated"}, usages: csrServingUsages, age: age,
	}
}

func csrTestNode(name, ip string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: ip}, {Type: corev1.NodeHostName, Address: name},
	}}}
}

// fixture is a cluster with two nodes and CSRs of every kind.
func csrFixture(t testing.TB) []runtime.Object {
	t.Helper()
	wrongIP := csrServing("csr-wrong-ip", "worker-1", "10.0.0.12", 9*time.Minute)
	weak := csrServing("csr-weak-key", "worker-2", "10.0.0.12", 8*time.Minute)
	weak.key = "rsa1024"
	other := csrSpec{name: "csr-other-signer", cn: "my-app", user: "alice", signer: "example.com/my-signer",
		groups: []string{"developers"}, usages: []certificatesv1.KeyUsage{certificatesv1.UsageClientAuth}, age: 7 * time.Minute, expiration: 3600}
	client := csrSpec{name: "csr-bootstrap", cn: "system:node:worker-3", user: "system:bootstrap:abcdef", signer: csrcheck.KubeletClient,
		orgs: []string{"system:nodes"}, groups: []string{"system:bootstrappers", "system:authenticated"},
		usages: []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}, age: 6 * time.Minute}
	issued := csrServing("csr-issued", "worker-2", "10.0.0.12", 48*time.Hour)
	issued.condition, issued.issued = certificatesv1.CertificateApproved, true
	return []runtime.Object{
		csrTestNode("worker-1", "10.0.0.11"), csrTestNode("worker-2", "10.0.0.12"),
		// What the API server writes: the Service range, the kubernetes
		// Service and its EndpointSlice (the API server at 10.0.0.2).
		&networkingv1.ServiceCIDR{ObjectMeta: metav1.ObjectMeta{Name: "kubernetes"}, Spec: networkingv1.ServiceCIDRSpec{CIDRs: []string{"10.96.0.0/12"}}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default"}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.1", ClusterIPs: []string{"10.96.0.1"}}},
		&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default"}, AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.2"}}}},
		makeCSR(t, csrServing("csr-valid", "worker-1", "10.0.0.11", 10*time.Minute)),
		makeCSR(t, wrongIP), makeCSR(t, weak), makeCSR(t, other), makeCSR(t, client), makeCSR(t, issued),
	}
}

// csrAuthorized are the "user|subresource" pairs csrClientset's
// SubjectAccessReviews allow: the fixture's bootstrap token and the nodes
// renewing their own client certificates.
var csrAuthorized = map[string]bool{
	"system:bootstrap:abcdef|nodeclient":  true,
	"system:node:worker-1|selfnodeclient": true,
	"system:node:worker-2|selfnodeclient": true,
}

// csrClientset is a fake clientset of objs that answers SubjectAccessReviews
// from csrAuthorized (the fake's tracker cannot store them).
func csrClientset(objs ...runtime.Object) *fake.Clientset {
	client := fake.NewClientset(objs...)
	client.PrependReactor("create", "subjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		sar := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview).DeepCopy()
		ra := sar.Spec.ResourceAttributes
		sar.Status.Allowed = ra != nil && ra.Verb == "create" && ra.Resource == "certificatesigningrequests" &&
			csrAuthorized[sar.Spec.User+"|"+ra.Subresource]
		return true, sar, nil
	})
	return client
}

// csrTestLookup is the DNS of the csr tests: the API server's load-balanced
// name, api.example.com, is 10.0.0.100; no other name resolves.
func csrTestLookup(_ context.Context, host string) ([]netip.Addr, error) {
	if host == "api.example.com" {
		return []netip.Addr{netip.MustParseAddr("10.0.0.100")}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// csrNodeCIDR is the fixture's node network, which runCSR gives as
// --node-cidr unless the arguments set a policy for IP SANs.
const csrNodeCIDR = "10.0.0.0/24"

// run runs a csr subcommand on the fake clientset.
func runCSR(t *testing.T, client *fake.Clientset, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	if !slices.ContainsFunc(args, func(a string) bool {
		return strings.HasPrefix(a, "--node-cidr") || strings.HasPrefix(a, "--trust-node-addresses")
	}) && args[0] != "deny" {
		args = append(args, "--node-cidr="+csrNodeCIDR)
	}
	tf := cmdtesting.NewTestFactory()
	defer tf.Cleanup()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	var cmd *cobra.Command
	switch args[0] {
	case "list":
		o := NewCSRListOptions(streams)
		o.Client, o.now = client, func() time.Time { return csrFixedNow }
		o.Review.lookup = csrTestLookup
		cmd = newCmdCSRList(tf, o)
	case "approve":
		o := NewCSRApproveOptions(streams)
		o.Client, o.now = client, func() time.Time { return csrFixedNow }
		o.Review.lookup = csrTestLookup
		cmd = newCmdCSRApprove(tf, o)
	case "deny":
		o := NewCSRDenyOptions(streams)
		o.Client, o.now = client, func() time.Time { return csrFixedNow }
		cmd = newCmdCSRDeny(tf, o)
	case "watch":
		o := NewCSRWatchOptions(streams)
		o.Client = client
		o.Review.lookup = csrTestLookup
		cmd = newCmdCSRWatch(tf, o)
	default:
		t.Fatalf("unknown command %s", args[0])
	}
	cmd.SetArgs(args[1:])
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	if err != nil && !exitcode.Silent(err) {
		errOut.WriteString("error: " + err.Error() + "\n")
	}
	return exitcode.FromError(err), out.String(), errOut.String()
}

func TestCSRListGolden(t *testing.T) {
	client := csrClientset(csrFixture(t)...)
	for _, tt := range []struct {
		golden string
		args   []string
	}{
		{"csr-list.table", nil},
		{"csr-list-all.table", []string{"--all"}},
		{"csr-list.wide", []string{"-o", "wide"}},
		{"csr-list.json", []string{"-o", "json"}},
		{"csr-list.yaml", []string{"-o", "yaml"}},
		{"csr-list.name", []string{"-o", "name", "--signer", csrcheck.KubeletServing}},
	} {
		t.Run(tt.golden, func(t *testing.T) {
			code, out, errOut := runCSR(t, client, append([]string{"list"}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			golden.Assert(t, tt.golden, out)
		})
	}
}

func decodeCSRList(t *testing.T, out string) *api.CSRReviewList {
	t.Helper()
	var l api.CSRReviewList
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if l.Kind != "CSRReviewList" || l.APIVersion != "kubecerts.io/v1alpha1" {
		t.Errorf("kind/apiVersion = %s %s", l.Kind, l.APIVersion)
	}
	return &l
}

func csrItem(t *testing.T, l *api.CSRReviewList, name string) api.CSRReview {
	t.Helper()
	for _, it := range l.Items {
		if it.Name == name {
			return it
		}
	}
	t.Fatalf("%s not in the output", name)
	return api.CSRReview{}
}

func getCSR(t *testing.T, client *fake.Clientset, name string) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	csr, err := client.CertificatesV1().CertificateSigningRequests().Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return csr
}

func csrApprovalUpdates(client *fake.Clientset) []k8stesting.UpdateAction {
	var out []k8stesting.UpdateAction
	for _, a := range client.Actions() {
		if u, ok := a.(k8stesting.UpdateAction); ok && a.GetSubresource() == "approval" {
			out = append(out, u)
		}
	}
	return out
}

func TestCSRListChecksInJSON(t *testing.T) {
	client := csrClientset(csrFixture(t)...)
	_, out, _ := runCSR(t, client, "list", "-o", "json")
	l := decodeCSRList(t, out)
	if len(l.Items) != 5 {
		t.Errorf("%d items, want the 5 pending ones", len(l.Items))
	}
	wrong := csrItem(t, l, "csr-wrong-ip")
	if wrong.Verdict != api.CSRVerdictDeny || len(wrong.Checks) != 12 {
		t.Errorf("csr-wrong-ip: verdict %s, %d checks", wrong.Verdict, len(wrong.Checks))
	}
	if f := wrong.FailedChecks(); len(f) != 1 || f[0].Name != csrcheck.CheckIPSANs || !strings.Contains(f[0].Message, "10.0.0.12") {
		t.Errorf("csr-wrong-ip failed checks = %+v", f)
	}
	if it := csrItem(t, l, "csr-other-signer"); it.Verdict != api.CSRVerdictSkip {
		t.Errorf("csr-other-signer verdict %s", it.Verdict)
	}
	if it := csrItem(t, l, "csr-bootstrap"); it.Verdict != api.CSRVerdictApprove {
		t.Errorf("csr-bootstrap verdict %s: %s", it.Verdict, it.Reason)
	}
	if len(csrApprovalUpdates(client)) != 0 {
		t.Error("list wrote")
	}
}

// TestCSRListAPICalls pins what list reads: the CSRs, every Node once (the
// other Nodes' claims), the Service ranges and the API server's addresses
// once, a SubjectAccessReview for the client CSR; and that it writes nothing.
func TestCSRListAPICalls(t *testing.T) {
	client := csrClientset(csrFixture(t)...)
	if code, _, errOut := runCSR(t, client, "list"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got []string
	for _, a := range client.Actions() {
		call := a.GetVerb() + " " + a.GetResource().Resource
		if g, ok := a.(k8stesting.GetAction); ok {
			call += " " + a.GetNamespace() + "/" + g.GetName()
		}
		got = append(got, call)
	}
	want := []string{
		"list certificatesigningrequests",
		"list nodes",
		"list servicecidrs",
		"get services default/kubernetes",
		"get endpointslices default/kubernetes",
		"get configmaps kube-public/cluster-info",
		"get configmaps kube-system/kubeadm-config",
		"create subjectaccessreviews",
	}
	if !slices.Equal(got, want) {
		t.Errorf("API calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestCSRApproveRefusesNodeClaims: a Node that lists the kubernetes
// Service's ClusterIP, the API server's address, loopback and a cluster
// Service name in its own status gets none of them approved, even with
// --trust-node-addresses; each is named with its rule, and nothing is written.
func TestCSRApproveRefusesNodeClaims(t *testing.T) {
	objs := csrFixture(t)
	evil := csrTestNode("worker-1", "10.0.0.11")
	evil.Status.Addresses = append(evil.Status.Addresses,
		corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "10.96.0.1"},
		corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "10.0.0.2"},
		corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "127.0.0.1"},
		corev1.NodeAddress{Type: corev1.NodeInternalDNS, Address: "kubernetes.default.svc"})
	objs[0] = evil
	attack := csrServing("csr-attack", "worker-1", "10.96.0.1", time.Minute)
	attack.ips = append(attack.ips, "10.0.0.2", "127.0.0.1")
	attack.dns = append(attack.dns, "kubernetes.default.svc")
	objs = append(objs, makeCSR(t, attack))
	for _, policy := range []string{"--node-cidr=10.0.0.0/8", "--trust-node-addresses"} {
		client := csrClientset(objs...)
		code, out, errOut := runCSR(t, client, "approve", "csr-attack", policy, "-o", "json")
		if code != 1 {
			t.Errorf("%s: exit %d, want 1: %s", policy, code, errOut)
		}
		it := csrItem(t, decodeCSRList(t, out), "csr-attack")
		rules := map[string][]string{}
		for _, r := range it.RefusedSANs {
			rules[r.SAN] = append(rules[r.SAN], r.Rule)
		}
		for san, rule := range map[string]string{"10.96.0.1": csrcheck.RuleServiceRange, "10.0.0.2": csrcheck.RuleAPIServer,
			"127.0.0.1": csrcheck.RuleSpecialAddress, "kubernetes.default.svc": csrcheck.RuleClusterService} {
			if !slices.Contains(rules[san], rule) {
				t.Errorf("%s: %s refused by %v, want %s", policy, san, rules[san], rule)
			}
		}
		if _, ok := rules["10.0.0.11"]; ok {
			t.Errorf("%s: the node's own IP refused: %v", policy, rules["10.0.0.11"])
		}
		if it.Action != api.CSRActionLeftPending || len(csrApprovalUpdates(client)) != 0 {
			t.Errorf("%s: action %s, %d writes", policy, it.Action, len(csrApprovalUpdates(client)))
		}
	}
}

func TestCSRApproveNamed(t *testing.T) {
	client := csrClientset(csrFixture(t)...)
	code, out, errOut := runCSR(t, client, "approve", "csr-valid", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if it := csrItem(t, decodeCSRList(t, out), "csr-valid"); it.Action != api.CSRActionApproved || it.Condition != csrcheck.ConditionApproved {
		t.Errorf("csr-valid: action %s condition %s", it.Action, it.Condition)
	}
	csr := getCSR(t, client, "csr-valid")
	if len(csr.Status.Conditions) != 1 {
		t.Fatalf("conditions = %+v", csr.Status.Conditions)
	}
	c := csr.Status.Conditions[0]
	if c.Type != certificatesv1.CertificateApproved || c.Reason != ReasonApproved || c.Status != corev1.ConditionTrue {
		t.Errorf("condition = %+v", c)
	}
	for _, want := range []string{"kubectl rotate csr approve", "ip-sans", "dns-sans", "Node worker-1's own addresses and pass every SAN rule", "worker-1, 10.0.0.11", "ECDSA-P-256"} {
		if !strings.Contains(c.Message, want) {
			t.Errorf("message %q lacks %q", c.Message, want)
		}
	}
}

func TestCSRApproveRefusesInvalid(t *testing.T) {
	client := csrClientset(csrFixture(t)...)
	code, out, errOut := runCSR(t, client, "approve", "csr-wrong-ip", "csr-weak-key", "csr-valid")
	if code != 1 {
		t.Errorf("exit %d, want 1: a named CSR was not approved", code)
	}
	for _, want := range []string{"2 of 3 CSRs not approved", "csr-wrong-ip (left-pending: ip-sans: refused 10.0.0.12: other-node", "csr-weak-key (left-pending: key: RSA-1024"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if !strings.Contains(out, "left-pending") || !strings.Contains(out, "ACTION") {
		t.Errorf("table:\n%s", out)
	}
	for _, name := range []string{"csr-wrong-ip", "csr-weak-key"} {
		if c := getCSR(t, client, name); len(c.Status.Conditions) != 0 {
			t.Errorf("%s got conditions %+v", name, c.Status.Conditions)
		}
	}
	if c := getCSR(t, client, "csr-valid"); csrcheck.Condition(c) != csrcheck.ConditionApproved {
		t.Error("csr-valid not approved")
	}
}

func TestCSRApproveDenyInvalid(t *testing.T) {
	client := csrClientset(csrFixture(t)...)
	code, out, _ := runCSR(t, client, "approve", "--all-pending", "--deny-invalid", "-o", "json")
	if code != 0 {
		t.Errorf("exit %d", code)
	}
	l := decodeCSRList(t, out)
	if it := csrItem(t, l, "csr-wrong-ip"); it.Action != api.CSRActionDenied {
		t.Errorf("csr-wrong-ip action %s", it.Action)
	}
	c := getCSR(t, client, "csr-wrong-ip")
	if csrcheck.Condition(c) != csrcheck.ConditionDenied || c.Status.Conditions[0].Reason != ReasonDenied ||
		!strings.Contains(c.Status.Conditions[0].Message, "ip-sans: refused 10.0.0.12: other-node") {
		t.Errorf("csr-wrong-ip conditions %+v", c.Status.Conditions)
	}
	// --all-pending takes only kubelet-serving CSRs by default.
	for _, name := range []string{"csr-other-signer", "csr-bootstrap"} {
		if c := getCSR(t, client, name); len(c.Status.Conditions) != 0 {
			t.Errorf("%s touched: %+v", name, c.Status.Conditions)
		}
	}
}

// A node that lists another node's address in its own status makes that
// node's CSRs for it fail the other-node rule: they are left pending, and
// --deny-invalid does not deny them on that node's word. A CSR that also
// fails a rule of its own (here an address the requester does not list) is
// still denied.
func TestCSRApproveDenyInvalidContested(t *testing.T) {
	objs := csrFixture(t)
	for _, o := range objs {
		if n, ok := o.(*corev1.Node); ok && n.Name == "worker-1" {
			n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "10.0.0.12"})
		}
	}
	objs = append(objs, makeCSR(t, csrServing("csr-victim", "worker-2", "10.0.0.12", 5*time.Minute)))
	client := csrClientset(objs...)
	for _, args := range [][]string{
		{"approve", "--all-pending", "--deny-invalid", "--dry-run", "-o", "json"},
		{"approve", "--all-pending", "--deny-invalid", "-o", "json"},
	} {
		code, out, errOut := runCSR(t, client, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		l := decodeCSRList(t, out)
		it := csrItem(t, l, "csr-victim")
		if it.Action != api.CSRActionLeftPending || !strings.Contains(it.Reason, "other-node") || !strings.Contains(it.Reason, "not denied") {
			t.Errorf("%v: csr-victim %s: %s", args, it.Action, it.Reason)
		}
	}
	if c := getCSR(t, client, "csr-victim"); len(c.Status.Conditions) != 0 {
		t.Errorf("csr-victim has conditions %+v, want none (pending)", c.Status.Conditions)
	}
	// worker-1's own CSR for 10.0.0.12, which it now lists too: worker-2
	// lists it as well (other-node), and that alone would not deny it.
	if c := getCSR(t, client, "csr-wrong-ip"); len(c.Status.Conditions) != 0 {
		t.Errorf("csr-wrong-ip has conditions %+v, want none (pending)", c.Status.Conditions)
	}
	// A CSR refused by a rule of its own is still denied.
	if c := getCSR(t, client, "csr-weak-key"); csrcheck.Condition(c) != csrcheck.ConditionDenied {
		t.Errorf("csr-weak-key: %s, want Denied", csrcheck.Condition(c))
	}
}

// In an HA cluster clients reach the API server through a load balancer's
// or a VIP's address in the node network, which no Node lists and the
// kubernetes EndpointSlice does not hold. A node that adds it to its own
// status must still not get a serving certificate for it, nor a node named
// after the API server's host name one for that name: kubeadm's
// cluster-info and controlPlaneEndpoint, and the command's own server, name
// it.
func TestCSRApproveAPIServerEndpoint(t *testing.T) {
	clusterInfo := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cluster-info", Namespace: "kube-public"},
		Data: map[string]string{"kubeconfig": "apiVersion: v1\nkind: Config\nclusters:\n- name: \"\"\n  cluster:\n    server: https://10.0.0.101:6443\n"}}
	kubeadmConfig := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kubeadm-config", Namespace: "kube-system"},
		Data: map[string]string{"ClusterConfiguration": "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\ncontrolPlaneEndpoint: api.example.com:6443\n"}}
	apiNode := csrTestNode("api.example.com", "10.0.0.13")
	withAddrs := func(objs []runtime.Object, addrs ...string) []runtime.Object {
		for _, o := range objs {
			if n, ok := o.(*corev1.Node); ok && n.Name == "worker-1" {
				for _, a := range addrs {
					n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: a})
				}
			}
		}
		return objs
	}
	vipCSR := func(ip string) runtime.Object {
		return makeCSR(t, csrServing("csr-vip", "worker-1", ip, 5*time.Minute))
	}
	tests := []struct {
		name    string
		objs    []runtime.Object
		apiHost string
		want    api.CSRAction
		reason  string
	}{
		{"the server of cluster-info", []runtime.Object{clusterInfo, vipCSR("10.0.0.101")}, "", api.CSRActionLeftPending, "10.0.0.101: apiserver-address"},
		{"controlPlaneEndpoint's name, resolved", []runtime.Object{kubeadmConfig, vipCSR("10.0.0.100")}, "", api.CSRActionLeftPending, "10.0.0.100: apiserver-address"},
		{"the command's own server", []runtime.Object{vipCSR("10.0.0.102")}, "10.0.0.102", api.CSRActionLeftPending, "10.0.0.102: apiserver-address"},
		{"a node named as controlPlaneEndpoint", []runtime.Object{kubeadmConfig, apiNode,
			makeCSR(t, csrServing("csr-vip", "api.example.com", "10.0.0.13", 5*time.Minute))}, "", api.CSRActionLeftPending, "api.example.com: apiserver-address"},
		{"controlPlaneEndpoint that does not resolve: undecided", []runtime.Object{vipCSR("10.0.0.103"), &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "kubeadm-config", Namespace: "kube-system"},
			Data:       map[string]string{"ClusterConfiguration": "controlPlaneEndpoint: gone.example.com"}}}, "", api.CSRActionError, "resolving gone.example.com"},
		{"an address of none of them is approved", []runtime.Object{clusterInfo, kubeadmConfig, vipCSR("10.0.0.104")}, "10.0.0.102", api.CSRActionApproved, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := withAddrs(csrFixture(t), "10.0.0.100", "10.0.0.101", "10.0.0.102", "10.0.0.103", "10.0.0.104")
			client := csrClientset(append(objs, tt.objs...)...)
			tf := cmdtesting.NewTestFactory()
			defer tf.Cleanup()
			streams, _, out, errOut := genericiooptions.NewTestIOStreams()
			o := NewCSRApproveOptions(streams)
			o.Client, o.now = client, func() time.Time { return csrFixedNow }
			o.Review.lookup, o.Review.apiHost = csrTestLookup, tt.apiHost
			cmd := newCmdCSRApprove(tf, o)
			cmd.SetArgs([]string{"csr-vip", "--node-cidr", csrNodeCIDR, "-o", "json"})
			cmd.SetOut(out)
			cmd.SetErr(errOut)
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			_ = cmd.Execute()
			it := csrItem(t, decodeCSRList(t, out.String()), "csr-vip")
			if it.Action != tt.want || !strings.Contains(it.Reason, tt.reason) {
				t.Errorf("csr-vip: %s (%s), want %s with %q", it.Action, it.Reason, tt.want, tt.reason)
			}
			if c := getCSR(t, client, "csr-vip"); (csrcheck.Condition(c) == csrcheck.ConditionApproved) != (tt.want == api.CSRActionApproved) {
				t.Errorf("csr-vip condition %s", csrcheck.Condition(c))
			}
		})
	}
}

func TestCSRApproveAllPending(t *testing.T) {
	client := csrClientset(csrFixture(t)...)
	code, out, errOut := runCSR(t, client, "approve", "--all-pending", "--signer", csrcheck.KubeletServing+","+csrcheck.KubeletClient, "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d (CSRs failing checks under --all-pending are not errors): %s", code, errOut)
	}
	l := decodeCSRList(t, out)
	want := map[string]api.CSRAction{"csr-valid": api.CSRActionApproved, "csr-bootstrap": api.CSRActionApproved,
		"csr-wrong-ip": api.CSRActionLeftPending, "csr-weak-key": api.CSRActionLeftPending}
	if len(l.Items) != len(want) {
		t.Errorf("%d items, want %d", len(l.Items), len(want))
	}
	for name, action := range want {
		if it := csrItem(t, l, name); it.Action != action {
			t.Errorf("%s: action %s, want %s", name, it.Action, action)
		}
	}
	if n := len(csrApprovalUpdates(client)); n != 2 {
		t.Errorf("%d approval updates, want 2", n)
	}
}

func TestCSRApproveDryRun(t *testing.T) {
	client := csrClientset(csrFixture(t)...)
	code, out, _ := runCSR(t, client, "approve", "--all-pending", "--dry-run", "--deny-invalid", "-o", "json")
	if code != 0 {
		t.Errorf("exit %d", code)
	}
	l := decodeCSRList(t, out)
	if it := csrItem(t, l, "csr-valid"); it.Action != api.CSRActionWouldApprove || it.Condition != csrcheck.ConditionPending {
		t.Errorf("csr-valid: %s %s", it.Action, it.Condition)
	}
	if it := csrItem(t, l, "csr-wrong-ip"); it.Action != api.CSRActionWouldDeny {
		t.Errorf("csr-wrong-ip: %s", it.Action)
	}
	if n := len(csrApprovalUpdates(client)); n != 0 {
		t.Errorf("--dry-run wrote %d times", n)
	}

	client = csrClientset(csrFixture(t)...)
	if code, _, errOut := runCSR(t, client, "approve", "csr-valid", "--dry-run=server"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	ups := csrApprovalUpdates(client)
	if len(ups) != 1 || len(ups[0].(k8stesting.UpdateActionImpl).UpdateOptions.DryRun) != 1 {
		t.Errorf("--dry-run=server: updates %+v", ups)
	}
}

func TestCSRApproveForce(t *testing.T) {
	client := csrClientset(csrFixture(t)...)
	if code, _, errOut := runCSR(t, client, "approve", "csr-other-signer"); code != 1 || !strings.Contains(errOut, `signer \"example.com/my-signer\" is not checked`) && !strings.Contains(errOut, `signer "example.com/my-signer" is not checked`) {
		t.Errorf("without --force: exit %d, %s", code, errOut)
	}
	if code, _, errOut := runCSR(t, client, "approve", "csr-other-signer", "--force"); code != 0 {
		t.Errorf("with --force: exit %d, %s", code, errOut)
	}
	c := getCSR(t, client, "csr-other-signer")
	if csrcheck.Condition(c) != csrcheck.ConditionApproved || c.Status.Conditions[0].Reason != ReasonForceApproved {
		t.Errorf("conditions %+v", c.Status.Conditions)
	}
	// --force does not override a failed check of a kubelet CSR.
	if code, _, _ := runCSR(t, client, "approve", "csr-wrong-ip", "--force"); code != 1 {
		t.Errorf("--force approved a kubelet CSR that fails a check")
	}
	// Already approved: nothing to do, and it is approved.
	if code, out, errOut := runCSR(t, client, "approve", "csr-issued", "-o", "json"); code != 0 || csrItem(t, decodeCSRList(t, out), "csr-issued").Action != api.CSRActionAlready {
		t.Errorf("already issued: exit %d %s", code, errOut)
	}
}

func TestCSRApproveNotFound(t *testing.T) {
	client := csrClientset(csrFixture(t)...)
	code, out, errOut := runCSR(t, client, "approve", "csr-valid", "csr-missing", "-o", "json")
	if code != 1 || !strings.Contains(errOut, `certificatesigningrequest "csr-missing" not found`) {
		t.Errorf("exit %d, stderr %s", code, errOut)
	}
	if it := csrItem(t, decodeCSRList(t, out), "csr-missing"); it.Action != api.CSRActionNotFound {
		t.Errorf("action %s", it.Action)
	}
}

// TestCSRApproveConflict: the CSR changes between the read and the write;
// approve reads it again and checks again.
func TestCSRApproveConflict(t *testing.T) {
	csrGR := schema.GroupResource{Group: "certificates.k8s.io", Resource: "certificatesigningrequests"}
	t.Run("still valid: approved on the second try", func(t *testing.T) {
		client := csrClientset(csrFixture(t)...)
		conflicts := 1
		client.PrependReactor("update", "certificatesigningrequests", func(a k8stesting.Action) (bool, runtime.Object, error) {
			if a.GetSubresource() == "approval" && conflicts > 0 {
				conflicts--
				return true, nil, apierrors.NewConflict(csrGR, "csr-valid", nil)
			}
			return false, nil, nil
		})
		if code, _, errOut := runCSR(t, client, "approve", "csr-valid"); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if n := len(csrApprovalUpdates(client)); n != 2 {
			t.Errorf("%d approval updates, want 2", n)
		}
		if c := getCSR(t, client, "csr-valid"); csrcheck.Condition(c) != csrcheck.ConditionApproved {
			t.Error("not approved")
		}
	})
	t.Run("denied meanwhile: not approved", func(t *testing.T) {
		client := csrClientset(csrFixture(t)...)
		conflicts := 1
		client.PrependReactor("update", "certificatesigningrequests", func(a k8stesting.Action) (bool, runtime.Object, error) {
			if a.GetSubresource() == "approval" && conflicts > 0 {
				conflicts--
				// Someone denies it before our write lands.
				obj, err := client.Tracker().Get(certificatesv1.SchemeGroupVersion.WithResource("certificatesigningrequests"), "", "csr-valid")
				if err != nil {
					t.Fatal(err)
				}
				c := obj.(*certificatesv1.CertificateSigningRequest).DeepCopy()
				c.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateDenied, Status: corev1.ConditionTrue}}
				if err := client.Tracker().Update(certificatesv1.SchemeGroupVersion.WithResource("certificatesigningrequests"), c, ""); err != nil {
					t.Fatal(err)
				}
				return true, nil, apierrors.NewConflict(csrGR, "csr-valid", nil)
			}
			return false, nil, nil
		})
		code, out, _ := runCSR(t, client, "approve", "csr-valid", "-o", "json")
		if code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		if it := csrItem(t, decodeCSRList(t, out), "csr-valid"); it.Action != api.CSRActionAlready || it.Condition != csrcheck.ConditionDenied {
			t.Errorf("action %s condition %s", it.Action, it.Condition)
		}
		if c := getCSR(t, client, "csr-valid"); csrcheck.Condition(c) != csrcheck.ConditionDenied {
			t.Errorf("condition %s", csrcheck.Condition(c))
		}
	})
}

func TestCSRDeny(t *testing.T) {
	client := csrClientset(csrFixture(t)...)
	code, out, errOut := runCSR(t, client, "deny", "csr-valid", "--reason", "Decommissioned", "--message", "worker-1 is gone", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if it := csrItem(t, decodeCSRList(t, out), "csr-valid"); it.Action != api.CSRActionDenied || it.Condition != csrcheck.ConditionDenied {
		t.Errorf("%s %s", it.Action, it.Condition)
	}
	c := getCSR(t, client, "csr-valid").Status.Conditions
	if len(c) != 1 || c[0].Type != certificatesv1.CertificateDenied || c[0].Reason != "Decommissioned" || c[0].Message != "worker-1 is gone" {
		t.Errorf("conditions %+v", c)
	}
	// Denying again changes nothing; an approved CSR cannot be denied.
	if code, _, _ := runCSR(t, client, "deny", "csr-valid"); code != 0 {
		t.Errorf("deny of a denied CSR: exit %d", code)
	}
	code, _, errOut = runCSR(t, client, "deny", "csr-issued", "csr-missing")
	if code != 1 || !strings.Contains(errOut, `"csr-issued" is already Issued`) || !strings.Contains(errOut, `"csr-missing" not found`) {
		t.Errorf("exit %d: %s", code, errOut)
	}
	if n := len(csrApprovalUpdates(client)); n != 1 {
		t.Errorf("%d writes, want 1", n)
	}
}

func TestCSRUsageErrors(t *testing.T) {
	client := csrClientset()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"approve"}, "name the CSRs to approve, or give --all-pending"},
		{[]string{"approve", "a", "--all-pending"}, "not both"},
		{[]string{"approve", "a", "--dry-run=maybe"}, `--dry-run "maybe"`},
		{[]string{"approve", "a", "--allow-dns", "("}, `--allow-dns "("`},
		{[]string{"approve", "a", "--max-duration", "soon"}, `invalid duration "soon"`},
		{[]string{"list", "-o", "xml"}, `--output "xml"`},
		{[]string{"deny"}, "name the CSRs to deny"},
		{[]string{"deny", "a", "--reason", "two words"}, "one CamelCase word"},
		{[]string{"watch", "--signer", "example.com/x"}, `--signer "example.com/x"`},
		{[]string{"watch", "--log-format", "xml"}, `--log-format "xml"`},
		{[]string{"watch", "--leader-elect", "--lease-duration", "5s"}, "--lease-duration (5s) must be longer than --renew-deadline (10s)"},
		{[]string{"watch", "extra"}, "unknown command"},
	} {
		code, _, errOut := runCSR(t, client, tt.args...)
		if code != 1 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", tt.args, code, errOut, tt.want)
		}
	}
}

// TestNoKeyMaterialInOutput: CSRs carry no private keys, and no output
// prints the request's PEM either.
func TestNoKeyMaterialInOutput(t *testing.T) {
	client := csrClientset(csrFixture(t)...)
	for _, args := range [][]string{{"list", "-o", "yaml", "--all"}, {"approve", "--all-pending", "-o", "json"}} {
		_, out, errOut := runCSR(t, client, args...)
		for _, s := range []string{out, errOut} {
			if strings.Contains(s, "PRIVATE KEY") || strings.Contains(s, "-----BEGIN") {
				t.Errorf("%v prints PEM:\n%s", args, s)
			}
		}
	}
}

func TestTableHasActionOnlyWhenActing(t *testing.T) {
	l := &api.CSRReviewList{GeneratedAt: metav1.NewTime(csrFixedNow), Items: []api.CSRReview{{Name: "a"}}}
	if csrTableHasColumn(l, "Action") {
		t.Error("ACTION column without actions")
	}
	l.Items[0].Action = api.CSRActionApproved
	if !csrTableHasColumn(l, "Action") {
		t.Error("no ACTION column")
	}
	var buf bytes.Buffer
	for _, n := range l.Names() {
		buf.WriteString(n)
	}
	if buf.String() != "certificatesigningrequest/a" {
		t.Errorf("names %q", buf.String())
	}
}

func csrTableHasColumn(l *api.CSRReviewList, name string) bool {
	for _, c := range l.Table().ColumnDefinitions {
		if c.Name == name {
			return true
		}
	}
	return false
}
