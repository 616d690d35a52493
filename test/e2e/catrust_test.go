package e2e_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate/certtest"
	"github.com/kubecerts/kubecerts/test/e2e/framework"
)

// ctSecretName is the secret kubectl ca-trust manages by default.
const ctSecretName = "custom-ca-trust-secret"

// caTrustResult is what one `kubectl ca-trust` run printed and its exit status.
type caTrustResult struct {
	stdout, stderr string
	code           int
}

// caTrust runs `kubectl ca-trust ARGS` through the real kubectl with the
// admin kubeconfig. No output of any run may hold private key material.
func caTrust(t *testing.T, args ...string) caTrustResult {
	t.Helper()
	c := framework.Shared(t)
	dir := framework.BuildPlugins(t)
	stdout, stderr, err := framework.Kubectl(t.Context(), dir, c.AdminKubeconfig, append([]string{"ca-trust"}, args...)...)
	r := caTrustResult{stdout: stdout, stderr: stderr, code: caTrustExitCode(t, err)}
	if strings.Contains(stdout+stderr, "PRIVATE KEY") {
		t.Errorf("kubectl ca-trust %v printed private key material:\n%s%s", args, stdout, stderr)
	}
	return r
}

func caTrustExitCode(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("kubectl did not run: %v", err)
	}
	return ee.ExitCode()
}

// want fails the test unless r exited with code; it shows the output.
func (r caTrustResult) want(t *testing.T, code int, what string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", what, r.code, code, r.stdout, r.stderr)
	}
}

// ctPEMFile writes the certificates' PEM, concatenated, to a file and returns
// its path.
func ctPEMFile(t *testing.T, name string, certs ...*certtest.Cert) string {
	t.Helper()
	var b bytes.Buffer
	for _, c := range certs {
		b.Write(c.PEM())
	}
	return ctFile(t, name, b.Bytes())
}

func ctFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	return writeFile(t, t.TempDir(), name, data)
}

func ctSHA(c *certtest.Cert) string {
	sum := sha256.Sum256(c.Cert.Raw)
	return hex.EncodeToString(sum[:])
}

// ctList is `kubectl ca-trust list -o json` decoded.
func ctList(t *testing.T, args ...string) (*api.CATrustList, int) {
	t.Helper()
	r := caTrust(t, append([]string{"list", "-o", "json"}, args...)...)
	var l api.CATrustList
	if err := json.Unmarshal([]byte(r.stdout), &l); err != nil {
		t.Fatalf("list -o json: %v\nstdout:\n%s\nstderr:\n%s", err, r.stdout, r.stderr)
	}
	if l.APIVersion != "kubecerts.io/v1alpha1" || l.Kind != "CATrustList" {
		t.Errorf("apiVersion/kind = %s/%s", l.APIVersion, l.Kind)
	}
	return &l, r.code
}

// ctKeyFingerprints maps each key of a list to its certificate's fingerprint.
func ctKeyFingerprints(l *api.CATrustList) map[string]string {
	out := map[string]string{}
	for _, it := range l.Items {
		out[it.Key] = it.SHA256Fingerprint
	}
	return out
}

func ctGetSecret(t *testing.T, client kubernetes.Interface, ns, name string) *corev1.Secret {
	t.Helper()
	s, err := client.CoreV1().Secrets(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading secret %s/%s: %v", ns, name, err)
	}
	return s
}

// TestCATrustLifecycle drives every verb against a trust secret in a
// namespace of its own: add creates it, list and export show it, validate
// passes it, remove and sync change it, --dry-run changes nothing, and
// what is not a certificate survives every write.
func TestCATrustLifecycle(t *testing.T) {
	c := framework.Shared(t)
	admin := c.Clientset()
	ns := createNamespace(t, admin, admin, "catrust-life-")
	n := []string{"-n", ns}
	a, b, cc := certtest.CA(t, "corp-root-a"), certtest.CA(t, "corp-root-b"), certtest.CA(t, "proxy-ca-c")

	// add: creates the secret; a CRLF bundle and DER are stored as LF PEM.
	r := caTrust(t, append([]string{"add", ctPEMFile(t, "a.pem", a)}, n...)...)
	r.want(t, 0, "add a.pem")
	if !ctRow(r.stdout, "added", "ca1.crt", "CN=corp-root-a") || !strings.Contains(r.stderr, "created; nodes poll the secret") ||
		!strings.Contains(r.stderr, "systemctl restart containerd") {
		t.Errorf("add output:\n%s%s", r.stdout, r.stderr)
	}
	crlf := bytes.ReplaceAll(b.PEM(), []byte("\n"), []byte("\r\n"))
	r = caTrust(t, append([]string{"add", ctFile(t, "b.pem", crlf), ctFile(t, "c.der", cc.Cert.Raw)}, n...)...)
	r.want(t, 0, "add b.pem c.der")
	if !strings.Contains(r.stderr, "CRLF line endings; stored with LF") || !strings.Contains(r.stderr, "DER; stored as PEM") {
		t.Errorf("add notes:\n%s", r.stderr)
	}
	s := ctGetSecret(t, admin, ns, ctSecretName)
	if s.Type != corev1.SecretTypeOpaque || !bytes.Equal(s.Data["ca2.crt"], b.PEM()) || !bytes.Equal(s.Data["ca3.crt"], cc.PEM()) {
		t.Fatalf("stored: type %s, ca2.crt %q, ca3.crt %q", s.Type, s.Data["ca2.crt"], s.Data["ca3.crt"])
	}

	// What is not ca-trust's, set by someone else.
	s.Labels = map[string]string{"team": "platform"}
	s.Annotations = map[string]string{"owner": "sre"}
	s.Data["token"] = []byte("s3cr3t-value")
	if _, err := admin.CoreV1().Secrets(ns).Update(t.Context(), s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	rv := ctGetSecret(t, admin, ns, ctSecretName).ResourceVersion

	// A duplicate: skipped with a note, nothing written.
	r = caTrust(t, append([]string{"add", ctPEMFile(t, "a-again.pem", a)}, n...)...)
	r.want(t, 0, "add a duplicate")
	if !strings.Contains(r.stderr, "already in the secret as ca1.crt; skipped") || !strings.Contains(r.stderr, "nothing to change") {
		t.Errorf("duplicate add:\n%s", r.stderr)
	}
	if got := ctGetSecret(t, admin, ns, ctSecretName).ResourceVersion; got != rv {
		t.Errorf("a duplicate add wrote the secret (resourceVersion %s → %s)", rv, got)
	}

	// list: the table and JSON.
	r = caTrust(t, append([]string{"list"}, n...)...)
	r.want(t, 0, "list")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 4 || strings.Join(strings.Fields(lines[0]), " ") != "KEY SUBJECT ISSUER EXPIRES RESIDUAL SHA256 STATUS" {
		t.Fatalf("list table:\n%s", r.stdout)
	}
	for i, want := range []struct {
		key  string
		cert *certtest.Cert
	}{{"ca1.crt", a}, {"ca2.crt", b}, {"ca3.crt", cc}} {
		f := strings.Fields(lines[i+1])
		if f[0] != want.key || f[1] != "CN="+want.cert.Cert.Subject.CommonName || f[len(f)-2] != ctSHA(want.cert)[:12] || f[len(f)-1] != "OK" {
			t.Errorf("row %d = %q, want %s %s %s OK", i+1, lines[i+1], want.key, want.cert.Cert.Subject, ctSHA(want.cert)[:12])
		}
	}
	l, code := ctList(t, n...)
	if code != 0 || !reflect.DeepEqual(ctKeyFingerprints(l), map[string]string{"ca1.crt": ctSHA(a), "ca2.crt": ctSHA(b), "ca3.crt": ctSHA(cc)}) ||
		l.Items[0].Location != "secret/"+ns+"/"+ctSecretName+"/ca1.crt" || !l.Items[0].IsCA {
		t.Errorf("list -o json: exit %d, %+v", code, l.Items)
	}
	if strings.Contains(r.stdout+r.stderr, "s3cr3t-value") {
		t.Error("list printed a value that is not a certificate")
	}

	// export: the node-pool file format, byte for byte.
	wantBundle := string(a.PEM()) + "\n" + string(b.PEM()) + "\n" + string(cc.PEM())
	r = caTrust(t, append([]string{"export"}, n...)...)
	r.want(t, 0, "export")
	if r.stdout != wantBundle {
		t.Errorf("export:\n%s\nwant:\n%s", r.stdout, wantBundle)
	}
	out := filepath.Join(t.TempDir(), "cas.pem")
	caTrust(t, append([]string{"export", "--output-file", out}, n...)...).want(t, 0, "export --output-file")
	if got, _ := os.ReadFile(out); string(got) != wantBundle {
		t.Errorf("--output-file wrote:\n%s", got)
	}
	// and the exported file passes validate --file.
	caTrust(t, "validate", "--file", out).want(t, 0, "validate --file of the export")

	// validate: the secret is fine but for the note on token.
	r = caTrust(t, append([]string{"validate"}, n...)...)
	r.want(t, 0, "validate")
	if !ctRow(r.stdout, "INFO", "token", "NotCertificateKey") || strings.Count(strings.TrimSpace(r.stdout), "\n") != 1 {
		t.Errorf("validate:\n%s", r.stdout)
	}

	// --dry-run: client and server, with -o yaml the Secret is printed and
	// nothing is written.
	rv = ctGetSecret(t, admin, ns, ctSecretName).ResourceVersion
	d := certtest.CA(t, "dry-run-ca")
	for _, mode := range []string{"client", "server"} {
		r = caTrust(t, append([]string{"add", ctPEMFile(t, "d.pem", d), "--dry-run=" + mode, "-o", "yaml"}, n...)...)
		r.want(t, 0, "add --dry-run="+mode)
		var printed corev1.Secret
		if err := ctDecodeSecret(r.stdout, &printed); err != nil {
			t.Fatalf("--dry-run=%s -o yaml: %v\n%s", mode, err, r.stdout)
		}
		if printed.Kind != "Secret" || printed.Name != ctSecretName || printed.Namespace != ns || !bytes.Equal(printed.Data["ca4.crt"], d.PEM()) ||
			printed.Labels["team"] != "platform" || printed.Data["token"] != nil || len(printed.Data) != 4 {
			t.Errorf("--dry-run=%s printed:\n%s", mode, r.stdout)
		}
		if strings.Contains(r.stdout, base64.StdEncoding.EncodeToString([]byte("s3cr3t-value"))) || !strings.Contains(r.stderr, "key token is not a certificate") {
			t.Errorf("--dry-run=%s: token printed, or not said to be left out:\n%s", mode, r.stderr)
		}
	}
	r = caTrust(t, append([]string{"remove", "--subject", "corp-root-b", "--dry-run=server"}, n...)...)
	r.want(t, 0, "remove --dry-run=server")
	if !ctRow(r.stdout, "removed", "ca2.crt", "CN=corp-root-b") || !strings.Contains(r.stderr, "--dry-run=server: secret "+ns+"/"+ctSecretName+" was not written") {
		t.Errorf("remove --dry-run=server:\n%s%s", r.stdout, r.stderr)
	}
	if got := ctGetSecret(t, admin, ns, ctSecretName).ResourceVersion; got != rv {
		t.Errorf("a dry run wrote the secret (resourceVersion %s → %s)", rv, got)
	}

	// remove: by key, by short fingerprint; a match of nothing is exit 1.
	caTrust(t, append([]string{"remove", "ca2.crt"}, n...)...).want(t, 0, "remove ca2.crt")
	caTrust(t, append([]string{"remove", "--fingerprint", ctSHA(cc)[:12]}, n...)...).want(t, 0, "remove --fingerprint")
	r = caTrust(t, append([]string{"remove", "--subject", "nobody"}, n...)...)
	r.want(t, 1, "remove --subject nobody")
	if r.stderr != "error: no certificate in secret "+ns+"/"+ctSecretName+" matches --subject nobody; nothing was written\n" {
		t.Errorf("remove of nothing: %q", r.stderr)
	}
	r = caTrust(t, append([]string{"remove", "token"}, n...)...)
	r.want(t, 1, "remove token")
	if l, _ := ctList(t, n...); !reflect.DeepEqual(ctKeyFingerprints(l), map[string]string{"ca1.crt": ctSHA(a)}) {
		t.Errorf("after remove: %v", ctKeyFingerprints(l))
	}

	// sync: the plan, then exactly the file's certificates with --prune.
	e := certtest.CA(t, "corp-root-e")
	file := ctPEMFile(t, "sync.pem", b, e)
	r = caTrust(t, append([]string{"sync", file, "--prune"}, n...)...)
	r.want(t, 0, "sync --prune")
	for _, row := range [][]string{{"added", "ca2.crt", "CN=corp-root-b"}, {"added", "ca3.crt", "CN=corp-root-e"}, {"removed", "ca1.crt", "CN=corp-root-a"}} {
		if !ctRow(r.stdout, row...) {
			t.Errorf("sync output lacks the row %q:\n%s", row, r.stdout)
		}
	}
	if l, _ := ctList(t, n...); !reflect.DeepEqual(ctKeyFingerprints(l), map[string]string{"ca2.crt": ctSHA(b), "ca3.crt": ctSHA(e)}) {
		t.Errorf("after sync: %v", ctKeyFingerprints(l))
	}
	r = caTrust(t, append([]string{"sync", file, "--prune"}, n...)...)
	r.want(t, 0, "sync again")
	if !strings.Contains(r.stderr, "nothing to change") {
		t.Errorf("a second sync changed something:\n%s%s", r.stdout, r.stderr)
	}

	// Through all of it, what is not ca-trust's is untouched.
	s = ctGetSecret(t, admin, ns, ctSecretName)
	if string(s.Data["token"]) != "s3cr3t-value" || s.Labels["team"] != "platform" || s.Annotations["owner"] != "sre" {
		t.Errorf("not kept: token %q, labels %v, annotations %v", s.Data["token"], s.Labels, s.Annotations)
	}
}

// ctDecodeSecret decodes a Secret printed as YAML.
func ctDecodeSecret(y string, s *corev1.Secret) error {
	return utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(y), 4096).Decode(s)
}

// TestCATrustAddRefusals: bad input to add fails with one error line naming
// the input, exit 1, and writes nothing: a private key (refused and never
// echoed), an empty file, a leaf, an expired CA, the 11th certificate.
func TestCATrustAddRefusals(t *testing.T) {
	c := framework.Shared(t)
	admin := c.Clientset()
	ns := createNamespace(t, admin, admin, "catrust-refuse-")
	n := []string{"-n", ns}
	cas := make([]*certtest.Cert, 10)
	for i := range cas {
		cas[i] = certtest.CA(t, fmt.Sprintf("ca-%02d", i+1))
	}
	caTrust(t, append([]string{"add", ctPEMFile(t, "ten.pem", cas...)}, n...)...).want(t, 0, "add ten CAs")
	rv := ctGetSecret(t, admin, ns, ctSecretName).ResourceVersion

	eleventh := certtest.CA(t, "ca-11")
	leaf := certtest.New(t, certtest.Template{CommonName: "registry.example", DNSNames: []string{"registry.example"}}, cas[0])
	now := time.Now()
	expired := certtest.New(t, certtest.Template{CommonName: "old-root", IsCA: true, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)}, nil)
	keyPEM := eleventh.KeyPEM(t)
	keyFile := ctFile(t, "key.pem", keyPEM)
	certAndKey := ctFile(t, "cert-and-key.pem", append(eleventh.PEM(), keyPEM...))
	empty := ctFile(t, "empty.pem", nil)
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"a private key", []string{keyFile}, "error: " + keyFile + ": holds a private key; refused"},
		{"a certificate with its key", []string{certAndKey}, "error: " + certAndKey + ": holds a private key; refused"},
		{"an empty file", []string{empty}, "error: " + empty + ": empty: no certificate found"},
		{"a leaf", []string{"--max", "20", ctPEMFile(t, "leaf.pem", leaf)}, "is not a CA (basicConstraints CA:TRUE is missing)"},
		{"an expired CA", []string{"--max", "20", ctPEMFile(t, "old.pem", expired)}, "CN=old-root expired on "},
		{"the 11th certificate", []string{ctPEMFile(t, "ca-11.pem", eleventh)}, "would hold 11 certificates, over --max 10"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := caTrust(t, append(append([]string{"add"}, tt.args...), n...)...)
			r.want(t, 1, "add "+tt.name)
			if !strings.HasPrefix(r.stderr, tt.want) && !strings.Contains(r.stderr, tt.want) || strings.Count(r.stderr, "\n") != 1 || r.stdout != "" {
				t.Errorf("stderr = %q, want one line with %q", r.stderr, tt.want)
			}
			if strings.Contains(r.stderr, strings.Split(string(keyPEM), "\n")[1]) {
				t.Errorf("the key was echoed: %q", r.stderr)
			}
			if got := ctGetSecret(t, admin, ns, ctSecretName).ResourceVersion; got != rv {
				t.Errorf("a refused add wrote the secret (resourceVersion %s → %s)", rv, got)
			}
		})
	}
	// The same 11th certificate with --max raised goes in.
	caTrust(t, append([]string{"add", "--max", "11", ctPEMFile(t, "ca-11.pem", eleventh)}, n...)...).want(t, 0, "add --max 11")
	if l, _ := ctList(t, n...); len(l.Items) != 11 || l.Items[10].Key != "ca11.crt" {
		t.Errorf("after --max 11: %v", ctKeyFingerprints(l))
	}
}

// TestCATrustValidateProblems: validate finds and explains each problem of
// its list, in the cluster's secret, in a manifest and in a bundle file,
// with the exit status of the shared contract.
func TestCATrustValidateProblems(t *testing.T) {
	c := framework.Shared(t)
	admin := c.Clientset()
	ns := createNamespace(t, admin, admin, "catrust-validate-")
	now := time.Now()
	a, b := certtest.CA(t, "root-a"), certtest.CA(t, "root-b")
	leaf := certtest.New(t, certtest.Template{CommonName: "registry.example"}, a)
	expired := certtest.New(t, certtest.Template{CommonName: "old-root", IsCA: true, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)}, nil)
	soon := certtest.New(t, certtest.Template{CommonName: "soon-root", IsCA: true, NotAfter: now.Add(3 * 24 * time.Hour)}, nil)
	warn := certtest.New(t, certtest.Template{CommonName: "warn-root", IsCA: true, NotAfter: now.Add(20 * 24 * time.Hour)}, nil)
	eleven := map[string][]byte{}
	for i := 1; i <= 11; i++ {
		eleven[fmt.Sprintf("ca%d.crt", i)] = certtest.CA(t, fmt.Sprintf("root-%d", i)).PEM()
	}
	crlf := func(p []byte) []byte { return bytes.ReplaceAll(p, []byte("\n"), []byte("\r\n")) }
	b64 := func(p []byte) []byte { return []byte(base64.StdEncoding.EncodeToString(p)) }

	for _, tt := range []struct {
		name string
		data map[string][]byte
		typ  corev1.SecretType
		code int
		want string // code@location
	}{
		{"CRLF", map[string][]byte{"ca1.crt": crlf(a.PEM())}, "", 1, "CRLF@ca1.crt"},
		{"base64 of base64", map[string][]byte{"ca1.crt": b64(a.PEM())}, "", 1, "Base64Encoded@ca1.crt"},
		{"not PEM: DER", map[string][]byte{"ca1.crt": a.Cert.Raw}, "", 1, "NotPEM@ca1.crt"},
		{"not PEM: text", map[string][]byte{"ca1.crt": []byte("issuer=CN = root-a\n")}, "", 1, "NotPEM@ca1.crt"},
		{"does not parse", map[string][]byte{"ca1.crt": a.PEM()[:200]}, "", 1, "Unparseable@ca1.crt"},
		{"not a CA", map[string][]byte{"ca1.crt": leaf.PEM()}, "", 1, "NotCA@ca1.crt"},
		{"expired", map[string][]byte{"ca1.crt": expired.PEM()}, "", 3, "Expired@ca1.crt"},
		{"expiring within 7d", map[string][]byte{"ca1.crt": soon.PEM()}, "", 3, "Expiring@ca1.crt"},
		{"expiring within 30d", map[string][]byte{"ca1.crt": warn.PEM()}, "", 2, "Expiring@ca1.crt"},
		{"duplicates", map[string][]byte{"ca1.crt": a.PEM(), "ca2.crt": b.PEM(), "ca3.crt": a.PEM()}, "", 1, "Duplicate@ca3.crt"},
		{"more than 10", eleven, "", 1, "TooMany@secret"},
		{"wrong type", map[string][]byte{"ca1.crt": a.PEM()}, "example.com/ca-bundle", 1, "WrongType@type"},
		{"a private key", map[string][]byte{"ca1.crt": append(a.PEM(), a.KeyPEM(t)...)}, "", 1, "PrivateKey@ca1.crt"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			name := "trust-" + strings.NewReplacer(" ", "-", ":", "").Replace(strings.ToLower(tt.name))
			typ := tt.typ
			if typ == "" {
				typ = corev1.SecretTypeOpaque
			}
			if _, err := admin.CoreV1().Secrets(ns).Create(t.Context(), &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: name}, Type: typ, Data: tt.data,
			}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			r := caTrust(t, "validate", "-n", ns, "--secret", name, "-o", "json")
			r.want(t, tt.code, "validate "+tt.name)
			v := ctValidation(t, r.stdout)
			if got := ctProblemKeys(v); !ctContains(got, tt.want) {
				t.Errorf("problems %v, want %s", got, tt.want)
			}
			// The table explains it, one row per problem.
			r = caTrust(t, "validate", "-n", ns, "--secret", name)
			code, loc, _ := strings.Cut(tt.want, "@")
			if !ctRow(r.stdout, "", loc, code) {
				t.Errorf("validate table lacks a %s row for %s:\n%s", code, loc, r.stdout)
			}
		})
	}

	t.Run("manifest: wrong name, namespace and data that is not base64", func(t *testing.T) {
		manifest := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ca-trust\n  namespace: default\ntype: Opaque\ndata:\n" +
			"  ca1.crt: |\n" + ctIndent(string(a.PEM()), "    ") + "  ca2.crt: " + string(b64(b64(b.PEM()))) + "\n"
		r := caTrust(t, "validate", "-f", ctFile(t, "secret.yaml", []byte(manifest)), "-o", "json")
		r.want(t, 1, "validate -f")
		got := ctProblemKeys(ctValidation(t, r.stdout))
		sort.Strings(got)
		want := []string{"Base64Encoded@data.ca2.crt", "NotBase64@data.ca1.crt", "WrongName@metadata.name", "WrongNamespace@metadata.namespace"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("problems %v, want %v", got, want)
		}
	})

	t.Run("bundle file", func(t *testing.T) {
		good := string(a.PEM()) + "\n" + string(b.PEM())
		for _, tt := range []struct {
			name, data string
			code       int
			want       string
		}{
			{"node-pool format", good, 0, ""},
			{"CRLF", string(crlf([]byte(good))), 1, "CRLF@file"},
			{"base64-encoded file", string(b64([]byte(good))), 1, "Base64Encoded@file"},
			{"no blank line between", string(a.PEM()) + string(b.PEM()), 1, "Layout@file"},
		} {
			r := caTrust(t, "validate", "--file", ctFile(t, "cas.pem", []byte(tt.data)), "-o", "json")
			r.want(t, tt.code, "validate --file "+tt.name)
			got := ctProblemKeys(ctValidation(t, r.stdout))
			if tt.want == "" && len(got) > 0 || tt.want != "" && !ctContains(got, tt.want) {
				t.Errorf("%s: problems %v, want %q", tt.name, got, tt.want)
			}
		}
	})

	t.Run("no secret", func(t *testing.T) {
		r := caTrust(t, "validate", "-n", ns)
		r.want(t, 1, "validate of a missing secret")
		if r.stderr != "error: secret "+ns+"/"+ctSecretName+" not found\n" {
			t.Errorf("stderr %q", r.stderr)
		}
	})
}

// TestCATrustDefaultNamespace: without -n the secret is looked for in
// kube-system, whatever the context's namespace.
func TestCATrustDefaultNamespace(t *testing.T) {
	c := framework.Shared(t)
	admin := c.Clientset()
	name := fmt.Sprintf("catrust-e2e-%d", time.Now().UnixNano())
	a := certtest.CA(t, "kube-system-root")
	if _, err := admin.CoreV1().Secrets("kube-system").Create(t.Context(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string][]byte{"ca1.crt": a.PEM()},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = admin.CoreV1().Secrets("kube-system").Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	l, code := ctList(t, "--secret", name)
	if code != 0 || l.Secret.Namespace != "kube-system" || len(l.Items) != 1 || l.Items[0].SHA256Fingerprint != ctSHA(a) {
		t.Errorf("exit %d, %+v", code, l)
	}
	other := createNamespace(t, admin, admin, "catrust-ns-")
	if l, _ := ctList(t, "--secret", name, "-n", other); l.Exists || l.Secret.Namespace != other {
		t.Errorf("-n %s: %+v", other, l)
	}
}

// TestCATrustConcurrentAdds is the proof that racing writers lose nothing:
// 2 groups of 25 processes, one through kubectl and one running the plugin
// binary directly, all started at once, each adding a distinct CA to a
// secret that does not exist yet (so they also race to create it). All 50
// must end in the secret, each under its own key.
func TestCATrustConcurrentAdds(t *testing.T) {
	c := framework.Shared(t)
	admin := c.Clientset()
	ns := createNamespace(t, admin, admin, "catrust-race-")
	dir := framework.BuildPlugins(t)
	kubectl, err := framework.KubectlPath()
	if err != nil {
		t.Fatal(err)
	}
	env, err := framework.KubectlEnv(dir, c.AdminKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	const groups, perGroup = 2, 25
	type job struct {
		file, fp string
		direct   bool
	}
	var jobs []job
	for g := 0; g < groups; g++ {
		for i := 0; i < perGroup; i++ {
			ca := certtest.CA(t, fmt.Sprintf("race-%d-%02d", g, i))
			jobs = append(jobs, job{file: ctPEMFile(t, "ca.pem", ca), fp: ctSHA(ca), direct: g == 1})
		}
	}
	type result struct {
		out     string
		err     error
		retries int
	}
	results := make([]result, len(jobs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := []string{"add", j.file, "-n", ns, "--max", "60", "-v=2"}
			var cmd *exec.Cmd
			if j.direct {
				cmd = exec.CommandContext(t.Context(), filepath.Join(dir, "kubectl-ca_trust"), args...)
			} else {
				cmd = exec.CommandContext(t.Context(), kubectl, append([]string{"ca-trust"}, args...)...)
			}
			cmd.Env = env
			<-start
			out, err := cmd.CombinedOutput()
			results[i] = result{out: string(out), err: err, retries: strings.Count(string(out), "lost a race")}
		}()
	}
	began := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(began)

	retries, maxRetries := 0, 0
	for i, r := range results {
		if r.err != nil {
			t.Errorf("add %s (%s): %v\n%s", jobs[i].file, map[bool]string{true: "binary", false: "kubectl"}[jobs[i].direct], r.err, r.out)
		}
		if strings.Contains(r.out, "PRIVATE KEY") {
			t.Errorf("output holds private key material:\n%s", r.out)
		}
		retries += r.retries
		maxRetries = max(maxRetries, r.retries)
	}
	l, code := ctList(t, "-n", ns)
	got := map[string]bool{}
	keys := map[string]bool{}
	for _, it := range l.Items {
		got[it.SHA256Fingerprint] = true
		if keys[it.Key] {
			t.Errorf("key %s holds more than one certificate", it.Key)
		}
		keys[it.Key] = true
	}
	for _, j := range jobs {
		if !got[j.fp] {
			t.Errorf("the CA of %s was lost", j.file)
		}
	}
	if code != 0 || len(l.Items) != groups*perGroup {
		t.Errorf("list: exit %d, %d certificates, want %d", code, len(l.Items), groups*perGroup)
	}
	t.Logf("%d × %d concurrent adds (kubectl and the binary) in %s: %d certificates in the secret, %d lost races re-applied (at most %d in one process)",
		groups, perGroup, elapsed.Round(10*time.Millisecond), len(l.Items), retries, maxRetries)
	if retries == 0 {
		t.Log("note: no process lost a race this time; the race was not exercised")
	}
}

func ctValidation(t *testing.T, out string) *api.CATrustValidation {
	t.Helper()
	var v api.CATrustValidation
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("validate -o json: %v\n%s", err, out)
	}
	if v.Kind != "CATrustValidation" || v.APIVersion != "kubecerts.io/v1alpha1" {
		t.Errorf("apiVersion/kind = %s/%s", v.APIVersion, v.Kind)
	}
	return &v
}

// ctProblemKeys lists code@location for each problem.
func ctProblemKeys(v *api.CATrustValidation) []string {
	var out []string
	for _, p := range v.Problems {
		out = append(out, p.Code+"@"+p.Location)
	}
	return out
}

// ctRow reports whether a line of table starts with the fields given; ""
// matches any field.
func ctRow(table string, fields ...string) bool {
	for _, l := range strings.Split(table, "\n") {
		f := strings.Fields(l)
		if len(f) < len(fields) {
			continue
		}
		match := true
		for i, want := range fields {
			if want != "" && f[i] != want {
				match = false
			}
		}
		if match {
			return true
		}
	}
	return false
}

func ctIndent(s, prefix string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if l != "" {
			b.WriteString(prefix + l)
		}
	}
	return b.String()
}

func ctContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
