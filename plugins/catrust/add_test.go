package catrust

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"os"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubecerts/kubecerts/shared/exitcode"
)

// testKey is a throwaway EC key that must never be echoed.
const testKey = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgVcB/UNPxalR9zDYA
jQIfjojUDiQuGnSJrFEEzZPT/92hRANCAASc7UJtgnF/abqWM60T3XwJ+YhbqRDF
PsTMFVEiGEiV3dN0BdvYSMeqfBoRtPJRAuyvFgQYqm+WDwZDTRMGXBWF
-----END PRIVATE KEY-----
`

// TestAddCreatesTheSecret: with no secret, add creates it, each certificate
// under its own key as LF-only PEM, whatever form it came in.
func TestAddCreatesTheSecret(t *testing.T) {
	c := fakeClient()
	crlf := bytes.ReplaceAll(fixturePEM(t, "ca-a"), []byte("\n"), []byte("\r\n"))
	bundle := writeFile(t, "bundle.pem", append(crlf, fixturePEM(t, "ca-b")...))
	der := writeFile(t, "c.der", fixture(t, "ca-c").Raw)
	code, out, errOut := run(t, c, base64.StdEncoding.EncodeToString(fixturePEM(t, "ca-warn")), "add", bundle, der, "-")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut)
	}
	golden(t, "add-create.table", out)
	if got, want := verbs(c), []string{"get secrets", "create secrets"}; !reflect.DeepEqual(got, want) {
		t.Errorf("API calls = %v, want %v", got, want)
	}
	s := getSecret(t, c)
	want := map[string]string{"ca1.crt": fp(t, "ca-a"), "ca2.crt": fp(t, "ca-b"), "ca3.crt": fp(t, "ca-c"), "ca4.crt": fp(t, "ca-warn")}
	if got := fingerprintsOf(t, s); !reflect.DeepEqual(got, want) {
		t.Errorf("stored %v, want %v", got, want)
	}
	if !bytes.Equal(s.Data["ca3.crt"], encodePEM(fixture(t, "ca-c"))) || s.Type != "Opaque" {
		t.Errorf("ca3.crt = %q, type %s; want the PEM of the DER input, Opaque", s.Data["ca3.crt"], s.Type)
	}
	for _, note := range []string{
		"note: " + bundle + ": CRLF line endings; stored with LF",
		"note: " + der + ": DER; stored as PEM",
		"note: stdin: base64-encoded PEM; decoded, stored as PEM",
		"note: secret kube-system/custom-ca-trust-secret created; nodes poll the secret",
		"systemctl restart containerd",
	} {
		if !strings.Contains(errOut, note) {
			t.Errorf("stderr lacks %q:\n%s", note, errOut)
		}
	}
}

// TestAddToExisting: new keys take the lowest free N; duplicates are
// skipped with a note; what is not a certificate, labels and annotations
// are kept.
func TestAddToExisting(t *testing.T) {
	existing := secretWith(t, "ca-a", "ca-b")
	delete(existing.Data, "ca1.crt")
	existing.Data["ca3.crt"] = fixturePEM(t, "ca-a")
	c := fakeClient(existing)
	code, out, errOut := run(t, c, "", "add", "testdata/ca-c.pem", "testdata/ca-a.pem", "testdata/ca-warn.pem", "testdata/ca-c.pem")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errOut)
	}
	golden(t, "add-existing.table", out)
	s := getSecret(t, c)
	if got, want := fingerprintsOf(t, s), map[string]string{"ca1.crt": fp(t, "ca-c"), "ca2.crt": fp(t, "ca-b"), "ca3.crt": fp(t, "ca-a"), "ca4.crt": fp(t, "ca-warn")}; !reflect.DeepEqual(got, want) {
		t.Errorf("stored %v, want %v", got, want)
	}
	if string(s.Data["token"]) != "s3cr3t-value" || s.Labels["team"] != "platform" || s.Annotations["owner"] != "sre" {
		t.Errorf("not kept: token %q, labels %v, annotations %v", s.Data["token"], s.Labels, s.Annotations)
	}
	if got, want := verbs(c), []string{"get secrets", "update secrets rv=7"}; !reflect.DeepEqual(got, want) {
		t.Errorf("API calls = %v, want %v", got, want)
	}
	for _, note := range []string{
		"note: CN=kubecerts-trust-a,O=kubecerts (sha256 68c736c5389b) from testdata/ca-a.pem: already in the secret as ca3.crt; skipped",
		"note: CN=kubecerts-trust-c,O=kubecerts (sha256 ce63221f953f) from testdata/ca-c.pem: given twice; added as ca1.crt; skipped",
	} {
		if !strings.Contains(errOut, note) {
			t.Errorf("stderr lacks %q:\n%s", note, errOut)
		}
	}

	code, _, errOut = run(t, c, "", "add", "testdata/ca-a.pem")
	if code != 0 || !strings.Contains(errOut, "nothing to change; secret kube-system/custom-ca-trust-secret was not written") {
		t.Errorf("a duplicate only: exit %d, stderr:\n%s", code, errOut)
	}
}

// TestAddRefusals: every refused input fails the whole add with one error
// naming the input, and nothing is written. A private key is never echoed
// (run fails the test on any PRIVATE KEY in the output).
func TestAddRefusals(t *testing.T) {
	ten := secretWith(t, "ca-a")
	for i := 2; i <= 10; i++ {
		ten.Data[nextKeyN(i)] = fixturePEM(t, "ca-b") // counted, duplicates or not
	}
	keyFile := writeFile(t, "key.pem", []byte(testKey))
	certAndKey := writeFile(t, "cert-and-key.pem", append(fixturePEM(t, "ca-c"), testKey...))
	b64Key := writeFile(t, "key.b64", []byte(base64.StdEncoding.EncodeToString([]byte(testKey))))
	empty := writeFile(t, "empty.pem", nil)
	text := writeFile(t, "notes.txt", []byte("not a certificate\n"))
	for _, tt := range []struct {
		name   string
		args   []string
		stdin  string
		secret bool
		full   bool
		tls    bool
		want   string
	}{
		{name: "a private key", args: []string{keyFile}, want: keyFile + ": holds a private key; refused"},
		{name: "a certificate with its key", args: []string{"testdata/ca-a.pem", certAndKey}, want: certAndKey + ": holds a private key; refused"},
		{name: "a base64 private key", args: []string{b64Key}, want: b64Key + ": holds a private key; refused"},
		{name: "a private key on stdin", args: []string{"-"}, stdin: testKey, want: "stdin: holds a private key; refused"},
		{name: "an empty file", args: []string{empty}, want: empty + ": empty: no certificate found"},
		{name: "text", args: []string{text}, want: text + ": text without a PEM block"},
		{name: "a missing file", args: []string{"testdata/none.pem"}, want: "open testdata/none.pem: no such file"},
		{name: "a leaf", args: []string{"testdata/leaf.pem"}, want: "testdata/leaf.pem: CN=registry.example,O=kubecerts is not a CA (basicConstraints CA:TRUE is missing)"},
		{name: "an expired CA", args: []string{"testdata/ca-expired.pem"}, want: "testdata/ca-expired.pem: CN=kubecerts-trust-expired,O=kubecerts expired on 2029-05-31T18:06:26Z (--allow-expired adds it anyway); nothing was written"},
		{name: "the 11th certificate", args: []string{"testdata/ca-c.pem"}, full: true, want: "secret kube-system/custom-ca-trust-secret would hold 11 certificates, over --max 10"},
		{name: "--key for two", args: []string{"--key", "corp.crt", "testdata/ca-a.pem", "testdata/ca-b.pem"}, want: "--key corp.crt names one certificate; the input holds 2"},
		{name: "--key in use", args: []string{"--key", "ca1.crt", "testdata/ca-c.pem"}, secret: true, want: "--key ca1.crt: secret kube-system/custom-ca-trust-secret already has that key"},
		{name: "--key not .crt", args: []string{"--key", "corp.pem", "testdata/ca-a.pem"}, want: `--key "corp.pem": must end in .crt`},
		{name: "no file", args: nil, want: "give at least one FILE"},
		{name: "stdin twice", args: []string{"-", "-"}, want: "- (standard input) is given 2 times"},
		{name: "bad --dry-run", args: []string{"--dry-run=maybe", "testdata/ca-a.pem"}, want: `Invalid dry-run value (maybe)`},
		{name: "--max 0", args: []string{"--max", "0", "testdata/ca-a.pem"}, want: "--max 0: must be at least 1"},
		{name: "--key empty", args: []string{"--key", "", "testdata/ca-a.pem"}, want: `--key "": give the data key`},
		{name: "a TLS secret", args: []string{"testdata/ca-c.pem"}, tls: true,
			want: "secret kube-system/custom-ca-trust-secret is of type kubernetes.io/tls, not Opaque: it is not a trust secret (check --secret and -n); nothing was written"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := fakeClient()
			switch {
			case tt.full:
				c = fakeClient(ten.DeepCopy())
			case tt.secret:
				c = fakeClient(secretWith(t, "ca-a"))
			case tt.tls:
				s := secretWith(t, "ca-a")
				s.Type = corev1.SecretTypeTLS
				c = fakeClient(s)
			}
			code, out, errOut := run(t, c, tt.stdin, "add", tt.args...)
			if code != exitcode.Error || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant 1 and %q", code, errOut, tt.want)
			}
			if lines := strings.Count(strings.TrimSpace(errOut), "\n"); lines > 0 || out != "" {
				t.Errorf("want one error line and no output; stdout %q, stderr:\n%s", out, errOut)
			}
			for _, v := range verbs(c) {
				if v != "get secrets" {
					t.Errorf("API call %s: a refused add must write nothing", v)
				}
			}
		})
	}
}

// TestAddAllowances: --allow-non-ca, --allow-expired and --max let through
// what is otherwise refused; --key names the key.
func TestAddAllowances(t *testing.T) {
	c := fakeClient()
	for _, args := range [][]string{
		{"--allow-non-ca", "testdata/leaf.pem"},
		{"--allow-expired", "testdata/ca-expired.pem"},
		{"--key", "corp-root.crt", "testdata/ca-a.pem"},
	} {
		if code, _, errOut := run(t, c, "", "add", args...); code != 0 {
			t.Errorf("%v: exit %d; stderr:\n%s", args, code, errOut)
		}
	}
	got := fingerprintsOf(t, getSecret(t, c))
	want := map[string]string{"ca1.crt": fp(t, "leaf"), "ca2.crt": fp(t, "ca-expired"), "corp-root.crt": fp(t, "ca-a")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stored %v, want %v", got, want)
	}
	code, _, errOut := run(t, c, "", "add", "--max", "3", "testdata/ca-b.pem")
	if code != 1 || !strings.Contains(errOut, "would hold 4 certificates, over --max 3") {
		t.Errorf("--max 3: exit %d, stderr %s", code, errOut)
	}
	if code, _, errOut := run(t, c, "", "add", "--max", "4", "testdata/ca-b.pem"); code != 0 {
		t.Errorf("--max 4: exit %d, stderr %s", code, errOut)
	}
}

// TestAddDryRunPrintsTheSecret: with -o yaml the Secret that would be
// written is printed, without values that are not certificates nor kubectl's
// last-applied annotation, and nothing is written.
func TestAddDryRunPrintsTheSecret(t *testing.T) {
	for _, tt := range []struct {
		dryRun string
		want   []string
	}{
		{"client", []string{"get secrets"}},
		{"server", []string{"get secrets", "update secrets rv=7"}},
	} {
		t.Run(tt.dryRun, func(t *testing.T) {
			existing := secretWith(t, "ca-a")
			c := fakeClient(existing)
			if tt.dryRun == "server" {
				c.PrependReactor("update", "secrets", dryRunEcho)
			}
			code, out, errOut := run(t, c, "", "add", "testdata/ca-b.pem", "--dry-run="+tt.dryRun, "-o", "yaml")
			if code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", code, errOut)
			}
			golden(t, "add-dry-run.yaml", out)
			if !strings.Contains(errOut, "warning: secret kube-system/custom-ca-trust-secret: key token is not a certificate and is left out of the printed Secret; the cluster keeps it, but applying or replacing the Secret with this manifest may delete it") {
				t.Errorf("stderr:\n%s", errOut)
			}
			if got := verbs(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("API calls = %v, want %v", got, tt.want)
			}
			if s := getSecret(t, c); !reflect.DeepEqual(s.Data, existing.Data) {
				t.Errorf("the dry run wrote: %v", keysOf(s))
			}
		})
	}
}

// TestAddAndSyncRepairEncodings: a certificate stored in a form nodes
// cannot install (base64 of PEM, CRLF, DER) is rewritten as LF PEM under
// its key by add and sync, reported as reencoded, as validate advises; the
// certificates stay the same, and a clean secret is not written.
func TestAddAndSyncRepairEncodings(t *testing.T) {
	t.Chdir(t.TempDir())
	a, b, c := fixturePEM(t, "ca-a"), fixturePEM(t, "ca-b"), fixture(t, "ca-c")
	if err := os.WriteFile("ca-a.pem", a, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("all.pem", FormatBundle([]*x509.Certificate{fixture(t, "ca-a"), fixture(t, "ca-b"), c}), 0o644); err != nil {
		t.Fatal(err)
	}
	broken := func() *corev1.Secret {
		s := secretWith(t)
		s.Data["ca1.crt"] = []byte(base64.StdEncoding.EncodeToString(a))
		s.Data["ca2.crt"] = bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
		s.Data["ca3.crt"] = c.Raw
		return s
	}
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"add of a certificate already there", []string{"add", "ca-a.pem"}},
		{"sync", []string{"sync", "all.pem", "--prune"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cl := fakeClient(broken())
			code, out, errOut := run(t, cl, "", tt.args[0], append(tt.args[1:], "-o", "wide")...)
			if code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", code, errOut)
			}
			var rows []string // the rows but kept and skipped: ACTION KEY … REASON
			for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
				f := strings.Fields(line)
				if f[0] == "kept" || f[0] == "skipped" {
					continue
				}
				reason := line[strings.Index(line, "stored") : strings.LastIndex(line, "PEM")+3]
				rows = append(rows, f[0]+" "+f[1]+" "+reason)
			}
			want := []string{
				"reencoded ca1.crt stored as base64 of PEM; rewritten as PEM",
				"reencoded ca2.crt stored with CRLF line endings; rewritten as PEM",
				"reencoded ca3.crt stored as DER; rewritten as PEM",
			}
			if !reflect.DeepEqual(rows, want) {
				t.Errorf("rows other than kept and skipped:\n%s\nwant\n%s\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"), out)
			}
			s := getSecret(t, cl)
			for k, v := range map[string][]byte{"ca1.crt": a, "ca2.crt": b, "ca3.crt": encodePEM(c)} {
				if !bytes.Equal(s.Data[k], v) {
					t.Errorf("%s = %q, want the LF PEM", k, s.Data[k])
				}
			}
			if string(s.Data["token"]) != "s3cr3t-value" {
				t.Error("token not kept")
			}

			code, _, errOut = run(t, cl, "", tt.args[0], tt.args[1:]...)
			if code != 0 || !strings.Contains(errOut, "nothing to change") {
				t.Errorf("second run: exit %d, stderr:\n%s", code, errOut)
			}
		})
	}
}
