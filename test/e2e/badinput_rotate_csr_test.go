package e2e_test

// The bad-input tables of kubectl rotate csr list, approve, deny and watch
// (issue 8; harness in badinput_test.go).

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubecerts/kubecerts/test/e2e/framework"
)

// rbiCSR is a CSR a bad-input table plants: its request, who creates it,
// and what the API object says besides.
type rbiCSR struct {
	as         kubernetes.Interface
	req        rcRequest
	usages     []certificatesv1.KeyUsage
	signer     string // default kubernetes.io/kubelet-serving
	expiration *int32
}

// rbiCreate creates the CSR named prefix-<random> and deletes it when the
// test ends.
func rbiCreate(t *testing.T, admin kubernetes.Interface, prefix string, c rbiCSR) string {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:     pkix.Name{CommonName: c.req.cn, Organization: c.req.orgs},
		DNSNames:    c.req.dns,
		IPAddresses: c.req.ips,
	}, c.req.key)
	if err != nil {
		t.Fatal(err)
	}
	signer := c.signer
	if signer == "" {
		signer = certificatesv1.KubeletServingSignerName
	}
	csr, err := c.as.CertificatesV1().CertificateSigningRequests().Create(t.Context(), &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:           pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName:        signer,
			Usages:            c.usages,
			ExpirationSeconds: c.expiration,
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating CSR %s: %v", prefix, err)
	}
	t.Cleanup(func() {
		_ = admin.CertificatesV1().CertificateSigningRequests().Delete(context.Background(), csr.Name, metav1.DeleteOptions{})
	})
	return csr.Name
}

// rbiSetCondition approves or denies the CSR name as the admin would.
func rbiSetCondition(t *testing.T, admin kubernetes.Interface, name string, typ certificatesv1.RequestConditionType) {
	t.Helper()
	csrs := admin.CertificatesV1().CertificateSigningRequests()
	csr, err := csrs.Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: typ, Status: corev1.ConditionTrue, Reason: "E2E", Message: "set by the bad-input table",
	})
	if _, err := csrs.UpdateApproval(t.Context(), name, csr, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("%s %s: %v", typ, name, err)
	}
}

// rbiKeyBody is a line of key's PEM body, which no output may show.
func rbiKeyBody(t *testing.T, key crypto.Signer) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return keyBody(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// rbiReader is a user who may get, list and watch CSRs and Nodes but
// approve nothing: its kubeconfig.
func rbiReader(t *testing.T, c *framework.Cluster, admin kubernetes.Interface, user string) string {
	t.Helper()
	ctx := t.Context()
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"certificates.k8s.io"}, Resources: []string{"certificatesigningrequests"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"get", "list", "watch"}},
			// What the SAN rules read.
			{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"servicecidrs"}, Verbs: []string{"list"}},
			{APIGroups: []string{""}, Resources: []string{"services"}, ResourceNames: []string{"kubernetes"}, Verbs: []string{"get"}},
			{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, ResourceNames: []string{"kubernetes"}, Verbs: []string{"get"}},
		},
	}
	if _, err := admin.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: user},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: user}},
	}
	if _, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = admin.RbacV1().ClusterRoleBindings().Delete(context.Background(), user, metav1.DeleteOptions{})
		_ = admin.RbacV1().ClusterRoles().Delete(context.Background(), user, metav1.DeleteOptions{})
	})
	kc, err := c.UserKubeconfig(user)
	if err != nil {
		t.Fatal(err)
	}
	// RBAC caches: wait until the binding is in force.
	cs := rcClient(t, kc, nil)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := cs.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{Limit: 1}); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("%s still cannot list CSRs: %v", user, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return kc
}

// rbiRefused is one CSR of issue 8 that approve must refuse, with the
// check that fails and what its message says.
type rbiRefused struct {
	what  string
	name  string
	check string
	msg   string
}

// rbiFixture is what every table of kubectl rotate csr works on: two Nodes
// with addresses, their kubelets' identities, and a CSR for each refusal
// issue 8 names, all pending.
type rbiFixture struct {
	c          *framework.Cluster
	admin      kubernetes.Interface
	prefix     string
	w1, w2     string
	ip1, ip2   net.IP
	kubelet1   kubernetes.Interface
	valid      rcRequest
	never      []string
	refused    []rbiRefused
	nobody     string // kubeconfig of a user with no permissions
	nobodyUser string
}

// newRBIFixture plants the Nodes and the refused CSRs, named prefix-….
// net is the third octet of the Nodes' InternalIPs (10.246.net.11 and .12).
func newRBIFixture(t *testing.T, prefix string, octet byte) *rbiFixture {
	t.Helper()
	c := framework.Shared(t)
	admin := c.Clientset()
	f := &rbiFixture{c: c, admin: admin, prefix: prefix,
		w1: prefix + "-worker-1", w2: prefix + "-worker-2",
		ip1: net.IPv4(10, 246, octet, 11), ip2: net.IPv4(10, 246, octet, 12)}
	createNode(t, admin, f.w1, f.ip1)
	createNode(t, admin, f.w2, f.ip2)
	f.kubelet1 = rcNodeClient(t, c, f.w1)
	key := rcNewKey(t)
	f.valid = rcRequest{key: key, cn: "system:node:" + f.w1, orgs: rcNodesOrg, dns: []string{f.w1}, ips: []net.IP{f.ip1}}
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	f.never = []string{rbiKeyBody(t, key), rbiKeyBody(t, rsa1024)}
	ghost := prefix + "-ghost"
	with := func(m func(*rcRequest)) rcRequest { r := f.valid; m(&r); return r }
	for _, tt := range []struct {
		what, short string
		c           rbiCSR
		check, msg  string
	}{
		{"worker-1 asks for worker-2's IP", "ip", rbiCSR{as: f.kubelet1, req: with(func(r *rcRequest) { r.ips = []net.IP{f.ip1, f.ip2} })},
			"ip-sans", f.ip2.String() + ": other-node (also listed by Node " + f.w2 + ")"},
		{"worker-1 asks for an extra DNS name", "dns", rbiCSR{as: f.kubelet1, req: with(func(r *rcRequest) { r.dns = []string{f.w1, "kubernetes.default.svc"} })},
			"dns-sans", "kubernetes.default.svc: cluster-service"},
		{"O missing", "org", rbiCSR{as: f.kubelet1, req: with(func(r *rcRequest) { r.orgs = nil })},
			"subject", "is not exactly [system:nodes]"},
		{"client auth usage", "usage", rbiCSR{as: f.kubelet1, req: f.valid,
			usages: append(slices.Clone(rcServingUsages), certificatesv1.UsageClientAuth)},
			"usages", `["client auth"] not allowed`},
		{"1024-bit RSA key", "rsa", rbiCSR{as: f.kubelet1, req: with(func(r *rcRequest) { r.key = rsa1024 })},
			"key", "RSA-1024"},
		{"a node that does not exist", "ghost", rbiCSR{as: rcNodeClient(t, c, ghost),
			req: rcRequest{key: key, cn: "system:node:" + ghost, orgs: rcNodesOrg, dns: []string{ghost}}},
			"node", "Node " + ghost + " does not exist"},
		{"the admin in the name of worker-1", "admin", rbiCSR{as: admin, req: f.valid},
			"requestor", `requested by "kubecerts-admin", not by a node`},
	} {
		if tt.c.usages == nil {
			tt.c.usages = rcServingUsages
		}
		name := rbiCreate(t, admin, prefix+"-"+tt.short, tt.c)
		f.refused = append(f.refused, rbiRefused{what: tt.what, name: name, check: tt.check, msg: tt.msg})
	}
	f.nobodyUser = prefix + "-nobody"
	if f.nobody, err = c.UserKubeconfig(f.nobodyUser); err != nil {
		t.Fatal(err)
	}
	return f
}

// csr creates another CSR of the fixture.
func (f *rbiFixture) csr(t *testing.T, short string, c rbiCSR) string {
	t.Helper()
	if c.as == nil {
		c.as = f.kubelet1
	}
	if c.req.key == nil {
		c.req = f.valid
	}
	if c.usages == nil {
		c.usages = rcServingUsages
	}
	return rbiCreate(t, f.admin, f.prefix+"-"+short, c)
}

// forbidden is the start of the API server's refusal of verb on CSRs to
// the fixture's user without permissions.
func (f *rbiFixture) forbidden(verb string) string {
	return `User "` + f.nobodyUser + `" cannot ` + verb + ` resource "certificatesigningrequests"`
}

func rbiInt32(v int32) *int32 { return &v }

// TestBadInputRotateCSRApprove: approve refuses every CSR issue 8 names,
// by name, with exit 1 and one error line naming the CSR and the failed
// check, and leaves it pending — with --dry-run and --deny-invalid too; and
// every bad flag, name or user is one error line that writes nothing.
func TestBadInputRotateCSRApprove(t *testing.T) {
	f := newRBIFixture(t, "rbia", 1)
	valid := f.csr(t, "valid", rbiCSR{})
	denied := f.csr(t, "denied", rbiCSR{})
	rbiSetCondition(t, f.admin, denied, certificatesv1.CertificateDenied)
	long := f.csr(t, "long", rbiCSR{expiration: rbiInt32(int32((48 * time.Hour).Seconds()))})
	other := f.csr(t, "other-signer", rbiCSR{signer: "example.com/rbia-signer", usages: []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature}})
	reader := rbiReader(t, f.c, f.admin, "rbia-reader")
	kubelet, err := f.c.NodeKubeconfig(f.w1)
	if err != nil {
		t.Fatal(err)
	}

	var rows []badInput
	for _, r := range f.refused {
		rows = append(rows,
			badInput{name: "refused: " + r.what, args: []string{"rotate", "csr", "approve", r.name},
				code: 1, err: r.name + " (left-pending: " + r.check + ": ", stderr: []string{r.msg}, stdout: []string{r.name, "deny"}},
			badInput{name: "refused, --deny-invalid --dry-run: " + r.what, args: []string{"rotate", "csr", "approve", r.name, "--deny-invalid", "--dry-run"},
				code: 1, err: r.name + " (would-deny: " + r.check + ": ", stderr: []string{r.msg}, stdout: []string{r.name, "would-deny"}},
		)
	}
	ip := f.refused[0]
	rows = append(rows, []badInput{
		{name: "refused, --deny-invalid --dry-run=server", args: []string{"rotate", "csr", "approve", ip.name, "--deny-invalid", "--dry-run=server", "-o", "json"},
			code: 1, err: ip.name + " (would-deny: ", stdout: []string{`"would-deny"`, ip.check}},
		{name: "refused, --force does not apply to kubelet CSRs", args: []string{"rotate", "csr", "approve", ip.name, "--force"},
			code: 1, err: ip.name + " (left-pending: ", stderr: []string{ip.check + ": "}},
		{name: "every refused CSR at once", args: append([]string{"rotate", "csr", "approve"}, rbiNames(f.refused)...),
			code: 1, err: "7 of 7 CSRs not approved: ", stderr: rbiNames(f.refused)},
		{name: "every refused CSR at once, -o json", args: append([]string{"rotate", "csr", "approve", "-o", "json"}, rbiNames(f.refused)...),
			code: 1, err: "7 of 7 CSRs not approved: ", stdout: append([]string{`"kind": "CSRReviewList"`, `"left-pending"`}, rbiNames(f.refused)...)},
		{name: "--all-pending --deny-invalid --dry-run: refused CSRs are no error", args: []string{"rotate", "csr", "approve", "--all-pending", "--deny-invalid", "--dry-run"},
			code: 0, stdout: append([]string{valid, "would-approve", "would-deny"}, rbiNames(f.refused)...)},
		{name: "a CSR that does not exist", args: []string{"rotate", "csr", "approve", "rbia-no-such-csr"},
			code: 1, err: `certificatesigningrequest "rbia-no-such-csr" not found`},
		{name: "a valid CSR and one that does not exist, --dry-run", args: []string{"rotate", "csr", "approve", valid, "rbia-no-such-csr", "--dry-run"},
			code: 1, err: `certificatesigningrequest "rbia-no-such-csr" not found`, stdout: []string{valid, "would-approve"}},
		{name: "a name that is not a name", args: []string{"rotate", "csr", "approve", "rbia/bad"},
			code: 1, err: `"rbia/bad"`},
		{name: "an already denied CSR", args: []string{"rotate", "csr", "approve", denied},
			code: 1, err: denied + " (unchanged: already Denied)"},
		{name: "requested duration over --max-duration", args: []string{"rotate", "csr", "approve", long, "--max-duration", "1d"},
			code: 1, err: long + " (left-pending: duration: ", stdout: []string{long, "deny"}},
		{name: "a signer kubecerts does not check, without --force", args: []string{"rotate", "csr", "approve", other},
			code: 1, err: `signer "example.com/rbia-signer" is not checked`},
		{name: "a named CSR of a signer --signer leaves out", args: []string{"rotate", "csr", "approve", valid, "--signer", "kubernetes.io/kube-apiserver-client-kubelet"},
			code: 1, err: valid + " (left-pending: signer kubernetes.io/kubelet-serving not selected by --signer)"},
		{name: "neither names nor --all-pending", args: []string{"rotate", "csr", "approve"},
			code: 1, err: "name the CSRs to approve, or give --all-pending"},
		{name: "names and --all-pending", args: []string{"rotate", "csr", "approve", valid, "--all-pending"},
			code: 1, err: "--all-pending"},
		{name: "--signer bogus", args: []string{"rotate", "csr", "approve", "--all-pending", "--signer", "bogus"},
			code: 1, err: `--signer "bogus"`},
		{name: "--signer empty", args: []string{"rotate", "csr", "approve", "--all-pending", "--signer="},
			code: 1, err: "--signer"},
		{name: "--max-duration garbage", args: []string{"rotate", "csr", "approve", valid, "--max-duration", "garbage"},
			code: 1, err: `"garbage" for "--max-duration"`},
		{name: "--max-duration negative", args: []string{"rotate", "csr", "approve", valid, "--max-duration=-1h"},
			code: 1, err: `"-1h" for "--max-duration"`},
		{name: "--allow-dns invalid regex", args: []string{"rotate", "csr", "approve", valid, "--allow-dns", "(rbia"},
			code: 1, err: `--allow-dns "(rbia"`},
		{name: "--node-cidr that does not parse", args: []string{"rotate", "csr", "approve", valid, "--node-cidr", "10.246.1.0"},
			code: 1, err: `--node-cidr "10.246.1.0": not a CIDR`},
		{name: "--node-cidr garbage among good ones", args: []string{"rotate", "csr", "approve", "--all-pending", "--node-cidr", "10.246.0.0/16,rbia"},
			code: 1, err: `--node-cidr "rbia": not a CIDR`},
		{name: "--service-cidr that does not parse", args: []string{"rotate", "csr", "approve", valid, "--service-cidr", "10.96.0.0/40"},
			code: 1, err: `--service-cidr "10.96.0.0/40": not a CIDR`},
		{name: "--cluster-domain that is no domain", args: []string{"rotate", "csr", "approve", valid, "--cluster-domain", "rbia_bad"},
			code: 1, err: `--cluster-domain "rbia_bad": not a DNS domain`},
		{name: "--trust-node-addresses with --node-cidr", args: []string{"rotate", "csr", "approve", valid, "--trust-node-addresses"},
			code: 1, err: "--trust-node-addresses with --node-cidr"},
		{name: "a valid CSR without --node-cidr: its IP SAN is refused", args: []string{"rotate", "csr", "approve", valid, "--node-cidr="},
			code: 1, err: valid + " (left-pending: ip-sans: refused " + f.ip1.String() + ": no-node-cidr", stdout: []string{valid, "deny"}},
		{name: "a valid CSR outside --node-cidr", args: []string{"rotate", "csr", "approve", valid, "--node-cidr", "192.0.2.0/24"},
			code: 1, err: valid + " (left-pending: ip-sans: refused " + f.ip1.String() + ": node-cidr", stdout: []string{valid, "deny"}},
		{name: "--dry-run bogus", args: []string{"rotate", "csr", "approve", valid, "--dry-run=bogus"},
			code: 1, err: `--dry-run "bogus"`},
		{name: "-o bogus", args: []string{"rotate", "csr", "approve", valid, "-o", "bogus"},
			code: 1, err: `--output "bogus"`},
		{name: "an unknown flag", args: []string{"rotate", "csr", "approve", valid, "--rbia-bogus"},
			code: 1, err: "--rbia-bogus"},
		{name: "garbage on stdin is not read", args: []string{"rotate", "csr", "approve", "-"}, stdin: []byte("\x00\xffgarbage\n"),
			code: 1, err: `"-"`},
		{name: "a context that does not exist", args: []string{"rotate", "csr", "approve", valid, "--context", "rbia-no-such-context"},
			code: 1, err: `context "rbia-no-such-context" does not exist`},
		{name: "a kubeconfig that does not exist", args: []string{"rotate", "csr", "approve", valid, "--kubeconfig", "/nonexistent/rbia.kubeconfig"},
			code: 1, err: "/nonexistent/rbia.kubeconfig"},
		{name: "an API server that does not answer", args: []string{"rotate", "csr", "approve", valid, "--server", "https://127.0.0.1:1"},
			code: 1, err: "https://127.0.0.1:1/"},
		{name: "--all-pending of a signer kubecerts does not check: left pending", args: []string{"rotate", "csr", "approve", "--all-pending", "--signer", "example.com/rbia-signer"},
			code: 0, stdout: []string{other, "skip"}},
		{name: "--all-pending --force: --force never applies to --all-pending", args: []string{"rotate", "csr", "approve", "--all-pending", "--signer", "example.com/rbia-signer", "--force"},
			code: 0, stdout: []string{other, "skip"}},
		{name: "--max-duration 0 (no limit), --dry-run", args: []string{"rotate", "csr", "approve", long, "--max-duration", "0", "--dry-run"},
			code: 0, stdout: []string{long, "would-approve"}},
		{name: "a user with no permissions", args: []string{"rotate", "csr", "approve", valid}, kubeconfig: f.nobody,
			code: 1, err: f.forbidden("get")},
		{name: "a user with no permissions, --all-pending", args: []string{"rotate", "csr", "approve", "--all-pending"}, kubeconfig: f.nobody,
			code: 1, err: f.forbidden("list")},
		{name: "a kubelet's own credentials", args: []string{"rotate", "csr", "approve", valid}, kubeconfig: kubelet,
			code: 1, err: valid + " (error: ", stderr: []string{"forbidden"}},
		{name: "a user who may read but not approve", args: []string{"rotate", "csr", "approve", valid}, kubeconfig: reader,
			code: 1, err: valid + " (error: ", stderr: []string{"forbidden"}},
		{name: "a user who may read but not approve, --all-pending", args: []string{"rotate", "csr", "approve", "--all-pending"}, kubeconfig: reader,
			code: 1, err: valid + " (error: ", stderr: []string{"forbidden"}},
	}...)
	for i := range rows {
		rows[i].never = f.never
	}
	runBadInputs(t, badInputTable{csrPrefix: "rbia-", rows: rbiWithPolicy(rows)})
}

// rbiWithPolicy gives every row of kubectl rotate csr the --node-cidr of the
// e2e Nodes (rcNodeCIDR), unless it sets its own: without one, IP SANs are
// refused, and the rows are about other inputs.
func rbiWithPolicy(rows []badInput) []badInput {
	for i, r := range rows {
		if len(r.args) >= 3 && r.args[0] == "rotate" && r.args[1] == "csr" &&
			!slices.ContainsFunc(r.args, func(a string) bool { return strings.HasPrefix(a, "--node-cidr") }) {
			// After the verb, so that it is never taken as the value of a
			// row's last flag.
			rows[i].args = slices.Insert(slices.Clone(r.args), 3, "--node-cidr="+rcNodeCIDR)
		}
	}
	return rows
}

func rbiNames(rs []rbiRefused) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.name)
	}
	return out
}

// TestBadInputRotateCSRList: list reports the refused CSRs (exit 0, the
// failed check shown) and refuses bad flags, names and users with one
// error line; it never writes.
func TestBadInputRotateCSRList(t *testing.T) {
	f := newRBIFixture(t, "rbil", 2)
	valid := f.csr(t, "valid", rbiCSR{})
	var rows []badInput
	for _, r := range f.refused {
		rows = append(rows, badInput{name: "refused CSR listed: " + r.what, args: []string{"rotate", "csr", "list", r.name},
			code: 0, stdout: []string{r.name, "deny", r.check + ": "}})
	}
	rows = append(rows, []badInput{
		{name: "a CSR that does not exist", args: []string{"rotate", "csr", "list", "rbil-no-such-csr"},
			code: 1, err: `certificatesigningrequest "rbil-no-such-csr" not found`},
		{name: "a CSR that exists and one that does not", args: []string{"rotate", "csr", "list", valid, "rbil-no-such-csr"},
			code: 1, err: `certificatesigningrequest "rbil-no-such-csr" not found`, stdout: []string{valid, "approve"}},
		{name: "a name that is not a name", args: []string{"rotate", "csr", "list", "rbil/bad"},
			code: 1, err: `"rbil/bad"`},
		{name: "-o bogus", args: []string{"rotate", "csr", "list", "-o", "bogus"},
			code: 1, err: `--output "bogus"`},
		{name: "-o jsonpath unterminated", args: []string{"rotate", "csr", "list", "-o", "jsonpath={.items["},
			code: 1, err: `--output "jsonpath={.items["`},
		{name: "-o go-template-file missing", args: []string{"rotate", "csr", "list", "-o", "go-template-file=/nonexistent/rbil.tmpl"},
			code: 1, err: `--output "go-template-file=/nonexistent/rbil.tmpl": cannot read the template file: no such file or directory`},
		{name: "--signer bogus", args: []string{"rotate", "csr", "list", "--signer", "bogus"},
			code: 1, err: `--signer "bogus"`},
		{name: "--signer of no CSR", args: []string{"rotate", "csr", "list", "--signer", "example.com/rbil-none"},
			code: 0, stderr: []string{"note: "}},
		{name: "--max-duration garbage", args: []string{"rotate", "csr", "list", "--max-duration", "garbage"},
			code: 1, err: `"garbage" for "--max-duration"`},
		{name: "--allow-dns invalid regex", args: []string{"rotate", "csr", "list", "--allow-dns", "[rbil"},
			code: 1, err: `--allow-dns "[rbil"`},
		{name: "an unknown flag", args: []string{"rotate", "csr", "list", "--rbil-bogus"},
			code: 1, err: "--rbil-bogus"},
		{name: "a namespace: CSRs are cluster-scoped", args: []string{"rotate", "csr", "list", valid, "-n", "rbil-no-such-ns"},
			code: 0, stdout: []string{valid, "approve"}},
		{name: "a context that does not exist", args: []string{"rotate", "csr", "list", "--context", "rbil-no-such-context"},
			code: 1, err: `context "rbil-no-such-context" does not exist`},
		{name: "a kubeconfig that does not exist", args: []string{"rotate", "csr", "list", "--kubeconfig", "/nonexistent/rbil.kubeconfig"},
			code: 1, err: "/nonexistent/rbil.kubeconfig"},
		{name: "an API server that does not answer", args: []string{"rotate", "csr", "list", "--server", "https://127.0.0.1:1"},
			code: 1, err: "https://127.0.0.1:1/"},
		{name: "a user with no permissions", args: []string{"rotate", "csr", "list"}, kubeconfig: f.nobody,
			code: 1, err: f.forbidden("list")},
		{name: "a user with no permissions, by name", args: []string{"rotate", "csr", "list", valid}, kubeconfig: f.nobody,
			code: 1, err: f.forbidden("get")},
	}...)
	for i := range rows {
		rows[i].never = f.never
	}
	runBadInputs(t, badInputTable{csrPrefix: "rbil-", rows: rbiWithPolicy(rows)})
}

// TestBadInputRotateCSRDeny: deny refuses what kubectl certificate deny
// refuses (an approved CSR) and every bad flag, name and user, with one
// error line; a dry run writes nothing.
func TestBadInputRotateCSRDeny(t *testing.T) {
	f := newRBIFixture(t, "rbid", 3)
	pending := f.csr(t, "pending", rbiCSR{})
	approved := f.csr(t, "approved", rbiCSR{})
	rbiSetCondition(t, f.admin, approved, certificatesv1.CertificateApproved)
	rcWaitIssued(t, f.admin, approved) // kube-controller-manager signs it: no change during a row
	denied := f.csr(t, "denied", rbiCSR{})
	rbiSetCondition(t, f.admin, denied, certificatesv1.CertificateDenied)
	reader := rbiReader(t, f.c, f.admin, "rbid-reader")
	rows := []badInput{
		{name: "no name", args: []string{"rotate", "csr", "deny"},
			code: 1, err: "name the CSRs to deny"},
		{name: "a CSR that does not exist", args: []string{"rotate", "csr", "deny", "rbid-no-such-csr"},
			code: 1, err: `certificatesigningrequest "rbid-no-such-csr" not found`},
		{name: "a pending CSR and one that does not exist, --dry-run", args: []string{"rotate", "csr", "deny", pending, "rbid-no-such-csr", "--dry-run"},
			code: 1, err: `certificatesigningrequest "rbid-no-such-csr" not found`, stdout: []string{pending, "would-deny"}},
		{name: "a name that is not a name", args: []string{"rotate", "csr", "deny", "rbid/bad"},
			code: 1, err: `"rbid/bad"`},
		{name: "an approved (and issued) CSR", args: []string{"rotate", "csr", "deny", approved},
			code: 1, err: `certificatesigningrequest "` + approved + `" is already Issued: it cannot be denied`},
		{name: "an approved (and issued) CSR, --dry-run", args: []string{"rotate", "csr", "deny", approved, "--dry-run"},
			code: 1, err: `certificatesigningrequest "` + approved + `" is already Issued: it cannot be denied`},
		{name: "an already denied CSR is left as it is", args: []string{"rotate", "csr", "deny", denied},
			code: 0, stdout: []string{denied, "unchanged"}},
		{name: "a refused CSR, --dry-run", args: []string{"rotate", "csr", "deny", f.refused[0].name, "--dry-run"},
			code: 0, stdout: []string{f.refused[0].name, "would-deny"}},
		{name: "--dry-run=server", args: []string{"rotate", "csr", "deny", pending, "--dry-run=server"},
			code: 0, stdout: []string{pending, "would-deny"}},
		{name: "--reason empty", args: []string{"rotate", "csr", "deny", pending, "--reason="},
			code: 1, err: "--reason must not be empty"},
		{name: "--reason with spaces", args: []string{"rotate", "csr", "deny", pending, "--reason", "Not needed"},
			code: 1, err: `--reason "Not needed"`},
		{name: "--reason without a value", args: []string{"rotate", "csr", "deny", pending, "--reason"},
			code: 1, err: "--reason"},
		{name: "--dry-run bogus", args: []string{"rotate", "csr", "deny", pending, "--dry-run=bogus"},
			code: 1, err: `--dry-run "bogus"`},
		{name: "-o bogus", args: []string{"rotate", "csr", "deny", pending, "-o", "bogus"},
			code: 1, err: `--output "bogus"`},
		{name: "--allow-dns invalid regex", args: []string{"rotate", "csr", "deny", pending, "--allow-dns", "(rbid"},
			code: 1, err: `--allow-dns "(rbid"`},
		{name: "an unknown flag", args: []string{"rotate", "csr", "deny", pending, "--rbid-bogus"},
			code: 1, err: "--rbid-bogus"},
		{name: "a context that does not exist", args: []string{"rotate", "csr", "deny", pending, "--context", "rbid-no-such-context"},
			code: 1, err: `context "rbid-no-such-context" does not exist`},
		{name: "an API server that does not answer", args: []string{"rotate", "csr", "deny", pending, "--server", "https://127.0.0.1:1"},
			code: 1, err: "https://127.0.0.1:1/"},
		{name: "a user with no permissions", args: []string{"rotate", "csr", "deny", pending}, kubeconfig: f.nobody,
			code: 1, err: f.forbidden("get")},
		{name: "a user who may read but not deny", args: []string{"rotate", "csr", "deny", pending}, kubeconfig: reader,
			code: 1, err: pending + " (error: ", stderr: []string{"forbidden"}},
	}
	for i := range rows {
		rows[i].never = f.never
	}
	runBadInputs(t, badInputTable{csrPrefix: "rbid-", rows: rbiWithPolicy(rows)})
}

// TestBadInputRotateCSRWatch: every bad flag of watch is refused before it
// watches, so each row ends on its own with one error line, and approves
// nothing: the refused CSRs and a valid one stay pending.
func TestBadInputRotateCSRWatch(t *testing.T) {
	f := newRBIFixture(t, "rbiw", 4)
	f.csr(t, "valid", rbiCSR{})
	ns := createNamespace(t, f.admin, f.admin, "rbiw-")
	reader := rbiReader(t, f.c, f.admin, "rbiw-reader")
	w := []string{"rotate", "csr", "watch"}
	args := func(a ...string) []string { return append(slices.Clone(w), a...) }
	rows := []badInput{
		{name: "--log-format bogus", args: args("--log-format", "bogus"),
			code: 1, err: `--log-format "bogus"`},
		{name: "--leader-elect, --lease-namespace not a namespace name", args: args("--leader-elect", "--lease-namespace", "Bad_NS"),
			code: 1, err: `--lease-namespace "Bad_NS"`},
		{name: "--leader-elect, --lease-namespace that does not exist", args: args("--leader-elect", "--lease-namespace", "rbiw-no-such-ns"),
			code: 1, err: `--lease-namespace "rbiw-no-such-ns"`},
		{name: "--leader-elect, --lease-name not a name", args: args("--leader-elect", "--lease-namespace", ns, "--lease-name", "Bad Name"),
			code: 1, err: `--lease-name "Bad Name"`},
		{name: "--leader-elect, --lease-name empty", args: args("--leader-elect", "--lease-namespace", ns, "--lease-name="),
			code: 1, err: "--lease-name"},
		{name: "--lease-duration not longer than --renew-deadline", args: args("--leader-elect", "--lease-namespace", ns, "--lease-duration", "5s"),
			code: 1, err: "--lease-duration (5s)"},
		{name: "--renew-deadline too short for --retry-period", args: args("--leader-elect", "--lease-namespace", ns, "--retry-period", "9s"),
			code: 1, err: "--renew-deadline (10s)"},
		{name: "--retry-period 0", args: args("--leader-elect", "--lease-namespace", ns, "--retry-period", "0"),
			code: 1, err: "--retry-period (0s)"},
		{name: "--print-manifests, --lease-name too long for a label", args: args("--print-manifests", "--lease-name", strings.Repeat("a", 64)),
			code: 1, err: `--lease-name "` + strings.Repeat("a", 64) + `"`},
		{name: "--resync negative", args: args("--resync=-1m"),
			code: 1, err: `"-1m" for "--resync"`},
		{name: "--lease-duration garbage", args: args("--leader-elect", "--lease-duration", "garbage"),
			code: 1, err: `"garbage" for "--lease-duration"`},
		{name: "--allow-dns invalid regex", args: args("--allow-dns", "(rbiw"),
			code: 1, err: `--allow-dns "(rbiw"`},
		{name: "--max-duration negative", args: args("--max-duration=-1d"),
			code: 1, err: `"-1d" for "--max-duration"`},
		{name: "--resync garbage", args: args("--resync", "garbage"),
			code: 1, err: `"garbage" for "--resync"`},
		{name: "--signer bogus", args: args("--signer", "bogus"),
			code: 1, err: `--signer "bogus"`},
		{name: "--signer of CSRs watch does not approve", args: args("--signer", "kubernetes.io/kube-apiserver-client"),
			code: 1, err: `--signer "kubernetes.io/kube-apiserver-client"`},
		{name: "--signer empty", args: args("--signer="),
			code: 1, err: "--signer"},
		{name: "--dry-run=server (watch's --dry-run is a switch)", args: args("--dry-run=server"),
			code: 1, err: `"server" for "--dry-run"`},
		{name: "an argument", args: args("rbiw-extra"),
			code: 1, err: `"rbiw-extra"`},
		{name: "--print-manifests, --image empty", args: args("--print-manifests", "--image="),
			code: 1, err: "--image"},
		{name: "--print-manifests, -n not a namespace name", args: args("--print-manifests", "-n", "Bad_NS"),
			code: 1, err: `"Bad_NS"`},
		{name: "--print-manifests, --lease-name not a name", args: args("--print-manifests", "--lease-name", "Bad Name"),
			code: 1, err: `--lease-name "Bad Name"`},
		{name: "--leader-elect, -n not a namespace name", args: args("--leader-elect", "-n", "Bad_NS"),
			code: 1, err: `--lease-namespace "Bad_NS"`},
		{name: "a context that does not exist", args: args("--context", "rbiw-no-such-context"),
			code: 1, err: `context "rbiw-no-such-context" does not exist`},
		{name: "a kubeconfig that does not exist", args: args("--kubeconfig", "/nonexistent/rbiw.kubeconfig"),
			code: 1, err: "/nonexistent/rbiw.kubeconfig"},
		{name: "a user with no permissions", args: args(), kubeconfig: f.nobody,
			code: 1, err: f.forbidden("list")},
		{name: "a user with no permissions, --leader-elect", args: args("--leader-elect", "--lease-namespace", ns), kubeconfig: f.nobody,
			code: 1, err: f.forbidden("list")},
		{name: "a user who may not use the lease", args: args("--leader-elect", "--lease-namespace", ns), kubeconfig: reader,
			code: 1, err: `User "rbiw-reader" cannot get resource "leases"`},
	}
	for i := range rows {
		rows[i].never = f.never
	}
	runBadInputs(t, badInputTable{csrPrefix: "rbiw-", namespaces: []string{ns}, rows: rbiWithPolicy(rows)})
}
