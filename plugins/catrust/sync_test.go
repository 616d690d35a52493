package catrust

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
)

func TestSync(t *testing.T) {
	data := FormatBundle([]*x509.Certificate{fixture(t, "ca-b"), fixture(t, "ca-c"), fixture(t, "ca-b")})
	t.Chdir(t.TempDir())
	const file = "cas.pem"
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		args   []string
		want   map[string]string
		golden string
	}{
		{name: "prune", args: []string{"--prune"}, want: map[string]string{"ca2.crt": "ca-b", "ca4.crt": "ca-c"}, golden: "sync-prune.table"},
		{name: "keep", args: nil, want: map[string]string{"ca1.crt": "ca-a", "ca2.crt": "ca-b", "ca3.crt": "ca-expired", "ca4.crt": "ca-c"}, golden: "sync-keep.table"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := fakeClient(secretWith(t, "ca-a", "ca-b", "ca-expired"))
			code, out, errOut := run(t, c, "", "sync", append([]string{file}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", code, errOut)
			}
			golden(t, tt.golden, out)
			want := map[string]string{}
			for k, n := range tt.want {
				want[k] = fp(t, n)
			}
			left := getSecret(t, c)
			if got := fingerprintsOf(t, left); !reflect.DeepEqual(got, want) {
				t.Errorf("left %v, want %v", got, want)
			}
			if string(left.Data["token"]) != "s3cr3t-value" {
				t.Error("token not kept")
			}
			if strings.Contains(errOut, "changed while") {
				t.Errorf("the change was printed twice:\n%s", errOut)
			}
		})
	}

	t.Run("in sync: nothing written", func(t *testing.T) {
		c := fakeClient(secretWith(t, "ca-b", "ca-c"))
		code, _, errOut := run(t, c, "", "sync", file, "--prune")
		if code != 0 || !strings.Contains(errOut, "nothing to change") || !reflect.DeepEqual(verbs(c), []string{"get secrets"}) {
			t.Errorf("exit %d, calls %v, stderr:\n%s", code, verbs(c), errOut)
		}
	})

	t.Run("creates the secret", func(t *testing.T) {
		c := fakeClient()
		if err := c.Tracker().Add(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system"}}); err != nil {
			t.Fatal(err)
		}
		if code, _, errOut := run(t, c, "", "sync", file); code != 0 {
			t.Fatalf("exit %d, stderr:\n%s", code, errOut)
		}
		if got := fingerprintsOf(t, getSecret(t, c)); len(got) != 2 {
			t.Errorf("stored %v", got)
		}
	})

	t.Run("no namespace: no plan, nothing written", func(t *testing.T) {
		c := fakeClient()
		code, out, errOut := run(t, c, "", "sync", file)
		want := "error: secret kube-system/custom-ca-trust-secret: namespace \"kube-system\" not found (-n/--namespace)\n"
		if code != 1 || out != "" || errOut != want {
			t.Errorf("exit %d, stdout %q, stderr %q; want 1 and %q", code, out, errOut, want)
		}
		if got := verbs(c); !reflect.DeepEqual(got, []string{"get secrets", "get namespaces"}) {
			t.Errorf("API calls %v", got)
		}
	})

	t.Run("refusals write nothing", func(t *testing.T) {
		for _, tt := range []struct {
			file, want string
			args       []string
		}{
			{file: filepath.Join(testdata, "leaf.pem"), want: "leaf.pem: CN=registry.example,O=kubecerts is not a CA"},
			{file: writeFile(t, "k.pem", append(fixturePEM(t, "ca-a"), testKey...)), want: "holds a private key; refused"},
			{file: file, args: []string{"--max", "3"}, want: "would hold 4 certificates, over --max 3"},
		} {
			c := fakeClient(secretWith(t, "ca-a", "ca-expired"))
			code, _, errOut := run(t, c, "", "sync", append([]string{tt.file}, tt.args...)...)
			if code != 1 || !strings.Contains(errOut, tt.want) {
				t.Errorf("%s: exit %d, stderr:\n%s\nwant %q", tt.file, code, errOut, tt.want)
			}
			if !reflect.DeepEqual(verbs(c), []string{"get secrets"}) && !reflect.DeepEqual(verbs(c), []string(nil)) {
				t.Errorf("%s: API calls %v", tt.file, verbs(c))
			}
		}
	})
}

// TestSyncRace: when another writer changes the secret between the read
// and the write, sync re-applies to what it wrote and, having printed its
// plan first, prints the change it applied.
func TestSyncRace(t *testing.T) {
	fastRetries(t)
	file := writeFile(t, "cas.pem", FormatBundle([]*x509.Certificate{fixture(t, "ca-b")}))
	c := fakeClient(secretWith(t, "ca-a"))
	raced := false
	c.PrependReactor("update", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		if raced {
			return false, nil, nil
		}
		raced = true
		other := secretWith(t, "ca-a", "ca-c") // another writer added ca-c as ca2.crt
		other.ResourceVersion = "8"
		if err := c.Tracker().Update(corev1.SchemeGroupVersion.WithResource("secrets"), other, DefaultNamespace); err != nil {
			t.Fatal(err)
		}
		return true, nil, conflictErr()
	})
	code, out, errOut := run(t, c, "", "sync", file)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	if strings.Count(out, "added") != 2 || !strings.Contains(errOut, "the secret changed while it was being written; the change applied:") {
		t.Errorf("want the plan, then the applied change:\nstdout:\n%s\nstderr:\n%s", out, errOut)
	}
	want := map[string]string{"ca1.crt": fp(t, "ca-a"), "ca2.crt": fp(t, "ca-c"), "ca3.crt": fp(t, "ca-b")}
	if got := fingerprintsOf(t, getSecret(t, c)); !reflect.DeepEqual(got, want) {
		t.Errorf("stored %v, want %v: the other writer's certificate must survive", got, want)
	}
}
