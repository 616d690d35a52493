package rotate

import (
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubecerts/kubecerts/plugins/rotate/csrcheck"
)

func TestCheckSignerName(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{csrcheck.KubeletServing, true},
		{csrcheck.KubeletClient, true},
		{"example.com/my-signer", true},
		{"example.com/ns.name", true},
		{"bogus", false},
		{"kubelet-serving", false},
		{"example/x", false},
		{"example.com/", false},
		{"example.com/a/b", false},
		{"Example.com/x", false},
		{"example.com/X", false},
		{"/x", false},
	} {
		if err := checkSignerName(tt.name); (err == nil) != tt.ok {
			t.Errorf("checkSignerName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

// TestCSRBadFlags: every bad flag is one error naming it, before any call
// to the API server.
func TestCSRBadFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"approve", "--all-pending", "--signer", "bogus"}, `--signer "bogus"`},
		{[]string{"approve", "x", "--signer", "kubelet-serving"}, `--signer "kubelet-serving"`},
		{[]string{"approve", "--all-pending", "--signer="}, "--signer: give at least one signer"},
		{[]string{"list", "--signer", "bogus"}, `--signer "bogus"`},
		{[]string{"watch", "--leader-elect", "--lease-namespace", "Bad_NS"}, `--lease-namespace "Bad_NS"`},
		{[]string{"watch", "--leader-elect", "--lease-namespace", "ns", "--lease-name", "Bad Name"}, `--lease-name "Bad Name"`},
		{[]string{"watch", "--print-manifests", "--lease-name", "Bad Name"}, `--lease-name "Bad Name"`},
		{[]string{"watch", "--print-manifests", "--lease-name", strings.Repeat("a", 64)}, `--lease-name "aaaa`},
		{[]string{"watch", "--leader-elect", "--lease-namespace", "ns", "--retry-period", "0"}, "--retry-period (0s) must be longer than 0"},
		{[]string{"list", "--node-cidr", "10.0.0.0"}, `--node-cidr "10.0.0.0": not a CIDR`},
		{[]string{"approve", "--all-pending", "--node-cidr", "10.0.0.0/24,bogus"}, `--node-cidr "bogus": not a CIDR`},
		{[]string{"approve", "--all-pending", "--node-cidr", "10.0.0.0/33"}, `--node-cidr "10.0.0.0/33"`},
		{[]string{"watch", "--service-cidr", "fd00::/129"}, `--service-cidr "fd00::/129"`},
		{[]string{"deny", "x", "--service-cidr", "10.96.0.0/12%eth0"}, `--service-cidr "10.96.0.0/12%eth0"`},
		{[]string{"list", "--cluster-domain", "Bad_Domain"}, `--cluster-domain "Bad_Domain": not a DNS domain`},
		{[]string{"approve", "x", "--node-cidr", "10.0.0.0/24", "--trust-node-addresses"}, "--trust-node-addresses with --node-cidr"},
		{[]string{"watch", "--allow-dns", "worker-(1"}, `--allow-dns "worker-(1"`},
		{[]string{"watch", "--print-manifests", "--node-cidr", "x"}, `--node-cidr "x"`},
	} {
		client := fake.NewClientset()
		code, out, errOut := runCSR(t, client, tt.args...)
		if code != 1 || !strings.Contains(errOut, tt.want) || strings.Count(errOut, "error: ") != 1 || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 1 and %q", tt.args, code, out, errOut, tt.want)
		}
		if n := len(client.Actions()); n != 0 {
			t.Errorf("%v: %d calls to the API server: %v", tt.args, n, client.Actions())
		}
	}
}

// TestCSRNoneFoundIsANote: an empty result is a note on stderr.
func TestCSRNoneFoundIsANote(t *testing.T) {
	for _, args := range [][]string{
		{"list"},
		{"list", "--signer", "example.com/none"},
		{"approve", "--all-pending"},
	} {
		code, _, errOut := runCSR(t, fake.NewClientset(), args...)
		if code != 0 || !strings.HasPrefix(errOut, "note: no ") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
}

// TestCSRWatchCheckAccess: what would make watch retry forever fails it
// before it watches; an API server that does not answer does not.
func TestCSRWatchCheckAccess(t *testing.T) {
	forbidden := func(resource string) k8stesting.ReactionFunc {
		return func(a k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: resource}, "", nil)
		}
	}
	for _, tt := range []struct {
		name    string
		elect   bool
		react   func(c *fake.Clientset)
		wantErr string
		signers []string
	}{
		{"ServiceCIDRs forbidden", false, func(c *fake.Clientset) {
			c.PrependReactor("list", "servicecidrs", forbidden("servicecidrs"))
		}, "listing servicecidrs: ", nil},
		{"ServiceCIDRs not served: the fallback", false, func(c *fake.Clientset) {
			c.PrependReactor("list", "servicecidrs", func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, apierrors.NewNotFound(schema.GroupResource{Resource: "servicecidrs"}, "")
			})
		}, "", nil},
		{"the kubernetes EndpointSlice forbidden", false, func(c *fake.Clientset) {
			c.PrependReactor("get", "endpointslices", forbidden("endpointslices"))
		}, "reading endpointslice default/kubernetes: ", nil},
		{"SubjectAccessReviews forbidden, client signer", false, func(c *fake.Clientset) {
			c.PrependReactor("create", "subjectaccessreviews", forbidden("subjectaccessreviews"))
		}, "creating subjectaccessreviews (to authorize kubernetes.io/kube-apiserver-client-kubelet requestors): ", []string{csrcheck.KubeletServing, csrcheck.KubeletClient}},
		{"SubjectAccessReviews forbidden, serving signer only", false, func(c *fake.Clientset) {
			c.PrependReactor("create", "subjectaccessreviews", forbidden("subjectaccessreviews"))
		}, "", nil},
		{"allowed", false, func(*fake.Clientset) {}, "", nil},
		{"allowed, leader election", true, func(*fake.Clientset) {}, "", nil},
		{"CSRs forbidden", false, func(c *fake.Clientset) {
			c.PrependReactor("list", "certificatesigningrequests", forbidden("certificatesigningrequests"))
		}, "listing certificatesigningrequests: ", nil},
		{"Nodes forbidden", false, func(c *fake.Clientset) {
			c.PrependReactor("list", "nodes", forbidden("nodes"))
		}, "listing nodes: ", nil},
		{"API server unreachable", true, func(c *fake.Clientset) {
			c.PrependReactor("*", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, &apierrors.StatusError{ErrStatus: metav1.Status{Reason: metav1.StatusReasonServiceUnavailable, Code: 503}}
			})
		}, "", nil},
		{"lease namespace missing", true, func(c *fake.Clientset) {
			c.PrependReactor("create", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
				if dr := a.(k8stesting.CreateActionImpl).CreateOptions.DryRun; len(dr) != 1 {
					t.Errorf("lease create is not a dry run: %v", dr)
				}
				return true, nil, apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, "ns")
			})
		}, `--lease-namespace "ns": namespace not found`, nil},
		{"lease forbidden", true, func(c *fake.Clientset) {
			c.PrependReactor("get", "leases", forbidden("leases"))
		}, `--lease-namespace "ns", --lease-name "approver": `, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset()
			tt.react(client)
			o := NewCSRWatchOptions(genericiooptions.NewTestIOStreamsDiscard())
			o.Client, o.LeaderElect, o.LeaseNamespace, o.LeaseName = client, tt.elect, "ns", "approver"
			if tt.signers != nil {
				o.Signers = tt.signers
			}
			err := o.checkAccess(t.Context())
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("error %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error %v, want %q", err, tt.wantErr)
			}
			for _, a := range client.Actions() {
				if a.GetVerb() != "list" && a.GetVerb() != "get" && a.GetVerb() != "create" {
					t.Errorf("checkAccess did %s %s", a.GetVerb(), a.GetResource().Resource)
				}
			}
		})
	}
}

// TestWaitAtMost: watch does not hang on an informer that ignores the
// cancel (a reflector backing off from an API server that does not answer).
func TestWaitAtMost(t *testing.T) {
	if !waitAtMost(time.Second, func() {}, func() {}) {
		t.Error("quick functions not waited for")
	}
	block := make(chan struct{})
	defer close(block)
	start := time.Now()
	if waitAtMost(50*time.Millisecond, func() {}, func() { <-block }) {
		t.Error("a blocked function reported as done")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("waited %s", took)
	}
}
