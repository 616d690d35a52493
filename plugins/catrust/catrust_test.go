package catrust

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goldenfile "github.com/kubecerts/kubecerts/shared/golden"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	cmdtesting "k8s.io/kubectl/pkg/cmd/testing"

	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/exitcode"
)

// fixedNow is when the golden outputs are made: testdata/ca-soon.pem is
// CRITICAL then, ca-warn.pem WARNING, ca-expired.pem EXPIRED and the other
// CAs (valid until 2126) OK.
var fixedNow = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// testdata is the absolute path of testdata/, for tests that change the
// working directory.
var testdata, _ = filepath.Abs("testdata")

// fixturePEM reads testdata/<name>.pem.
func fixturePEM(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testdata, name+".pem"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// fixture is the certificate of testdata/<name>.pem.
func fixture(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	b, err := certificate.Parse(fixturePEM(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return b.Certificates[0]
}

// fp is the fingerprint of testdata/<name>.pem.
func fp(t *testing.T, name string) string {
	t.Helper()
	return certificate.Fingerprint(fixture(t, name))
}

// trustSecret is custom-ca-trust-secret in kube-system with data, a label, an
// annotation and resourceVersion 7.
func trustSecret(data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: DefaultSecretName, Namespace: DefaultNamespace, ResourceVersion: "7",
			Labels:      map[string]string{"team": "platform"},
			Annotations: map[string]string{"owner": "sre", lastApplied: `{"data":{"token":"c2VjcmV0"}}`},
		},
		Type: corev1.SecretTypeOpaque,
		Data: data,
	}
}

// secretWith is trustSecret holding the fixtures under ca1.crt, ca2.crt, …
// plus a token key that is not a certificate.
func secretWith(t *testing.T, names ...string) *corev1.Secret {
	t.Helper()
	data := map[string][]byte{"token": []byte("s3cr3t-value")}
	for i, n := range names {
		data[nextKeyN(i+1)] = fixturePEM(t, n)
	}
	return trustSecret(data)
}

// nextKeyN is caN.crt.
func nextKeyN(n int) string { return fmt.Sprintf("ca%d.crt", n) }

// dryRunEcho is a reactor for writes that answers a server dry run with the
// object sent, persisting nothing, as the API server does.
func dryRunEcho(a k8stesting.Action) (bool, runtime.Object, error) {
	switch x := a.(type) {
	case k8stesting.UpdateActionImpl:
		if len(x.UpdateOptions.DryRun) > 0 {
			return true, x.GetObject(), nil
		}
	case k8stesting.CreateActionImpl:
		if len(x.CreateOptions.DryRun) > 0 {
			return true, x.GetObject(), nil
		}
	}
	return false, nil, nil
}

// fakeClient is a fake clientset holding objs.
func fakeClient(objs ...*corev1.Secret) *fake.Clientset {
	c := fake.NewClientset()
	for _, o := range objs {
		if err := c.Tracker().Add(o); err != nil {
			panic(err)
		}
	}
	return c
}

// run runs `kubectl ca-trust VERB ARGS` against client at fixedNow with
// stdin, and returns the exit status and output as cli.Run would.
func run(t *testing.T, client kubernetes.Interface, stdin string, verb string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runWith(t, client, nil, "", stdin, verb, args...)
}

// runAz is run with the aks store's az calls answered by f.
func runAz(t *testing.T, client kubernetes.Interface, f *fakeAz, stdin string, verb string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runWith(t, client, f, "", stdin, verb, args...)
}

// runWith is run with the aks store's az calls answered by f (when not
// nil) and, when server is not empty, a kubeconfig whose current context's
// API server is server.
func runWith(t *testing.T, client kubernetes.Interface, f *fakeAz, server string, stdin string, verb string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	tf := cmdtesting.NewTestFactory()
	defer tf.Cleanup()
	if server != "" {
		tf.WithClientConfig(clientcmd.NewDefaultClientConfig(clientcmdapi.Config{
			Clusters:       map[string]*clientcmdapi.Cluster{"c": {Server: server}},
			AuthInfos:      map[string]*clientcmdapi.AuthInfo{"u": {}},
			Contexts:       map[string]*clientcmdapi.Context{"c": {Cluster: "c", AuthInfo: "u"}},
			CurrentContext: "c",
		}, &clientcmd.ConfigOverrides{}))
	}
	streams, in, out, errOut := genericiooptions.NewTestIOStreams()
	in.WriteString(stdin)
	so := secretOptions{
		newClient: func() (kubernetes.Interface, error) { return client, nil },
		now:       func() time.Time { return fixedNow },
	}
	if f != nil {
		so.aks = &aksStore{read: f, write: f}
	}
	var cmd *cobra.Command
	switch verb {
	case "list":
		o := NewListOptions(streams)
		o.secretOptions = so
		cmd = newCmdList(tf, o)
	case "add":
		o := NewAddOptions(streams)
		o.secretOptions = so
		cmd = newCmdAdd(tf, o)
	case "remove":
		o := NewRemoveOptions(streams)
		o.secretOptions = so
		cmd = newCmdRemove(tf, o)
	case "validate":
		o := NewValidateOptions(streams)
		o.secretOptions = so
		cmd = newCmdValidate(tf, o)
	case "export":
		o := NewExportOptions(streams)
		o.secretOptions = so
		cmd = newCmdExport(tf, o)
	case "sync":
		o := NewSyncOptions(streams)
		o.secretOptions = so
		cmd = newCmdSync(tf, o)
	case "migrate":
		o := NewMigrateOptions(streams)
		o.secretOptions = so
		cmd = newCmdMigrate(tf, o)
	default:
		t.Fatalf("no verb %q", verb)
	}
	cmd.SetArgs(append([]string{}, args...)) // never nil: cobra would read os.Args
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	if err != nil && !exitcode.Silent(err) {
		errOut.WriteString("error: " + err.Error() + "\n")
	}
	stdout, stderr = out.String(), errOut.String()
	for _, s := range []string{stdout, stderr} {
		if strings.Contains(s, "PRIVATE KEY") || strings.Contains(s, "s3cr3t-value") || strings.Contains(s, "c2VjcmV0") {
			t.Errorf("output leaks a key or a secret value:\n%s", s)
		}
	}
	return exitcode.FromError(err), stdout, stderr
}

// golden compares got with testdata/<name>; go test -update rewrites it.
func golden(t *testing.T, name, got string) {
	t.Helper()
	goldenfile.Assert(t, name, got)
}

// writeFile writes data to a file in a test directory and returns its path.
func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// getSecret reads the trust secret from the fake's tracker, nil if absent.
func getSecret(t *testing.T, c *fake.Clientset) *corev1.Secret {
	t.Helper()
	obj, err := c.Tracker().Get(corev1.SchemeGroupVersion.WithResource("secrets"), DefaultNamespace, DefaultSecretName)
	if err != nil {
		return nil
	}
	return obj.(*corev1.Secret)
}

// verbs lists the verb and resource of each API call made, as "get
// secrets".
func verbs(c *fake.Clientset) []string {
	var out []string
	for _, a := range c.Actions() {
		s := a.GetVerb() + " " + a.GetResource().Resource
		if u, ok := a.(k8stesting.UpdateAction); ok {
			if o, ok := u.GetObject().(*corev1.Secret); ok && o.ResourceVersion != "" {
				s += " rv=" + o.ResourceVersion
			}
		}
		out = append(out, s)
	}
	return out
}

// keysOf lists a secret's data keys in key order, non-certificate keys last.
func keysOf(s *corev1.Secret) string {
	keys := certKeys(s.Data)
	for k := range s.Data {
		if !isCertKey(k) {
			keys = append(keys, k)
		}
	}
	return strings.Join(keys, ",")
}

// fingerprintsOf lists the fingerprints stored under each certificate key.
func fingerprintsOf(t *testing.T, s *corev1.Secret) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, k := range certKeys(s.Data) {
		b, err := certificate.Parse(s.Data[k])
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		var fps []string
		for _, c := range b.Certificates {
			fps = append(fps, certificate.Fingerprint(c))
		}
		out[k] = strings.Join(fps, "+")
		if bytes.Contains(s.Data[k], []byte("\r")) {
			t.Errorf("%s is stored with CR line endings", k)
		}
	}
	return out
}
