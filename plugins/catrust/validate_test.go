package catrust

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
)

// brokenSecret holds one of each problem validate finds in a secret.
func brokenSecret(t *testing.T) *corev1.Secret {
	t.Helper()
	a := fixturePEM(t, "ca-a")
	return trustSecret(map[string][]byte{
		"ca1.crt":  a,
		"ca2.crt":  bytes.ReplaceAll(fixturePEM(t, "ca-b"), []byte("\n"), []byte("\r\n")),
		"ca3.crt":  []byte(base64.StdEncoding.EncodeToString(fixturePEM(t, "ca-c"))),
		"ca4.crt":  fixture(t, "ca-warn").Raw,
		"ca5.crt":  fixturePEM(t, "leaf"),
		"ca6.crt":  fixturePEM(t, "ca-expired"),
		"ca7.crt":  a,
		"ca8.crt":  a[:len(a)-40],
		"ca9.crt":  []byte("hello\n"),
		"ca10.crt": []byte(testKey),
		"ca11.crt": fixturePEM(t, "ca-soon"),
		"ca12.crt": nil,
		"root.pem": fixturePEM(t, "ca-b"),
		"token":    []byte("s3cr3t-value"),
	})
}

func TestValidateSecretGolden(t *testing.T) {
	c := fakeClient(brokenSecret(t))
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"validate-secret.table", nil},
		{"validate-secret.json", []string{"-o", "json"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, c, "", "validate", tt.args...)
			if code != 3 {
				t.Errorf("exit status = %d, want 3 (an expired CA beside errors); stderr:\n%s", code, errOut)
			}
			golden(t, tt.name, out)
		})
	}
	code, out, _ := run(t, c, "", "validate", "-o", "json")
	var v api.CATrustValidation
	if err := json.Unmarshal([]byte(out), &v); err != nil || code != 3 {
		t.Fatal(err, code)
	}
	want := map[string][]string{
		"ca2.crt":  {codeCRLF},
		"ca3.crt":  {codeBase64Encoded},
		"ca4.crt":  {codeNotPEM, codeExpiring},
		"ca5.crt":  {codeNotCA},
		"ca6.crt":  {codeExpired},
		"ca7.crt":  {codeDuplicate},
		"ca8.crt":  {codeUnparseable},
		"ca9.crt":  {codeNotPEM},
		"ca10.crt": {codePrivateKey},
		"ca11.crt": {codeExpiring},
		"ca12.crt": {codeEmpty},
		"root.pem": {codeNotCertificateKey},
		"token":    {codeNotCertificateKey},
	}
	if got := codesByLocation(v.Problems); !reflect.DeepEqual(got, want) {
		t.Errorf("problems by key:\n got %v\nwant %v", got, want)
	}
	if len(v.Certificates) != 8 {
		t.Errorf("%d certificates, want 8 (ca1–ca7, ca11)", len(v.Certificates))
	}
	if c := verbs(c); len(c) != 3 || c[0] != "get secrets" {
		t.Errorf("API calls = %v, want reads only", c)
	}
}

func codesByLocation(ps []api.CATrustProblem) map[string][]string {
	out := map[string][]string{}
	for _, p := range ps {
		out[p.Location] = append(out[p.Location], p.Code)
	}
	return out
}

// TestValidateEachProblem: each problem validate knows, alone, with its
// exit status.
func TestValidateEachProblem(t *testing.T) {
	a, b := fixturePEM(t, "ca-a"), fixturePEM(t, "ca-b")
	eleven := map[string][]byte{}
	for i := 1; i <= 11; i++ {
		eleven[nextKeyN(i)] = append(fixturePEM(t, "ca-c"), []byte(strings.Repeat("\n", i))...) // same certificate: also Duplicate
	}
	for _, tt := range []struct {
		name string
		data map[string][]byte
		typ  corev1.SecretType
		args []string
		code int
		want string // code@location of one problem expected
	}{
		{name: "good", data: map[string][]byte{"ca1.crt": a, "ca2.crt": b}, code: 0},
		{name: "CRLF", data: map[string][]byte{"ca1.crt": bytes.ReplaceAll(a, []byte("\n"), []byte("\r\n"))}, code: 1, want: "CRLF@ca1.crt"},
		{name: "base64 of base64", data: map[string][]byte{"ca1.crt": []byte(base64.StdEncoding.EncodeToString(a))}, code: 1, want: "Base64Encoded@ca1.crt"},
		{name: "DER", data: map[string][]byte{"ca1.crt": fixture(t, "ca-a").Raw}, code: 1, want: "NotPEM@ca1.crt"},
		{name: "not PEM", data: map[string][]byte{"ca1.crt": []byte("subject=CN = a\n")}, code: 1, want: "NotPEM@ca1.crt"},
		{name: "does not parse", data: map[string][]byte{"ca1.crt": bytes.Replace(a, []byte("MII"), []byte("!!!"), 1)}, code: 1, want: "Unparseable@ca1.crt"},
		{name: "a private key", data: map[string][]byte{"ca1.crt": append(append([]byte{}, a...), testKey...)}, code: 1, want: "PrivateKey@ca1.crt"},
		{name: "a CSR", data: map[string][]byte{"ca1.crt": append(append([]byte{}, a...), "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n"...)}, code: 1, want: "OtherBlock@ca1.crt"},
		{name: "not a CA", data: map[string][]byte{"ca1.crt": fixturePEM(t, "leaf")}, code: 1, want: "NotCA@ca1.crt"},
		{name: "not a CA, allowed", data: map[string][]byte{"ca1.crt": fixturePEM(t, "leaf")}, args: []string{"--allow-non-ca"}, code: 0},
		{name: "expired", data: map[string][]byte{"ca1.crt": fixturePEM(t, "ca-expired")}, code: 3, want: "Expired@ca1.crt"},
		{name: "expiring: critical", data: map[string][]byte{"ca1.crt": fixturePEM(t, "ca-soon")}, code: 3, want: "Expiring@ca1.crt"},
		{name: "expiring: warning", data: map[string][]byte{"ca1.crt": fixturePEM(t, "ca-warn")}, code: 2, want: "Expiring@ca1.crt"},
		{name: "duplicates", data: map[string][]byte{"ca1.crt": a, "ca2.crt": b, "ca3.crt": a}, code: 1, want: "Duplicate@ca3.crt"},
		{name: "more than 10", data: eleven, code: 1, want: "TooMany@secret"},
		{name: "more than --max", data: map[string][]byte{"ca1.crt": a, "ca2.crt": b}, args: []string{"--max", "1"}, code: 1, want: "TooMany@secret"},
		{name: "wrong type", data: map[string][]byte{"ca1.crt": a}, typ: corev1.SecretTypeTLS, code: 1, want: "WrongType@type"},
		{name: "empty value", data: map[string][]byte{"ca1.crt": {}}, code: 1, want: "Empty@ca1.crt"},
		{name: "several per key: a note", data: map[string][]byte{"ca1.crt": append(append([]byte{}, a...), b...)}, code: 0, want: "SeveralPerKey@ca1.crt"},
		{name: "no certificates: a note", data: map[string][]byte{"token": []byte("s3cr3t-value")}, code: 0, want: "NoCertificates@data"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := trustSecret(tt.data)
			if tt.typ != "" {
				s.Type = tt.typ
			}
			code, out, errOut := run(t, fakeClient(s), "", "validate", append(tt.args, "-o", "json")...)
			var v api.CATrustValidation
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatalf("%v; stdout %q, stderr %q", err, out, errOut)
			}
			if code != tt.code {
				t.Errorf("exit status = %d, want %d; problems %+v", code, tt.code, v.Problems)
			}
			var got []string
			for _, p := range v.Problems {
				got = append(got, p.Code+"@"+p.Location)
			}
			if tt.want == "" && len(got) > 0 || tt.want != "" && !contains(got, tt.want) {
				t.Errorf("problems = %v, want %q", got, tt.want)
			}
		})
	}
}

// TestValidateManifest: a Secret manifest is checked offline: its name,
// namespace and type, data that is not base64 or base64 of base64, and
// its values as the secret's.
func TestValidateManifest(t *testing.T) {
	a := fixturePEM(t, "ca-a")
	b64 := base64.StdEncoding.EncodeToString
	good := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: custom-ca-trust-secret\n  namespace: kube-system\ntype: Opaque\ndata:\n  ca1.crt: " + b64(a) + "\n"
	bad := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ca-trust\ntype: kubernetes.io/tls\ndata:\n" +
		"  ca1.crt: |\n" + indent(string(a), "    ") +
		"  ca2.crt: " + b64([]byte(b64(fixturePEM(t, "ca-b")))) + "\n" +
		"  ca3.crt: " + b64(bytes.ReplaceAll(fixturePEM(t, "ca-c"), []byte("\n"), []byte("\r\n"))) + "\n" +
		"  ca4.crt: not base64!\n" +
		"stringData:\n  ca5.crt: |\n" + indent(string(fixturePEM(t, "ca-warn")), "    ")
	t.Run("good", func(t *testing.T) {
		code, out, errOut := run(t, fakeClient(), "", "validate", "-f", writeFile(t, "good.yaml", []byte(good)))
		if code != 0 || out != "" || !strings.HasPrefix(errOut, "note: ") || !strings.HasSuffix(errOut, "good.yaml: 1 certificate, no problems found\n") {
			t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	})
	t.Run("bad", func(t *testing.T) {
		t.Chdir(t.TempDir())
		if err := os.WriteFile("secret.yaml", []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, _ := run(t, fakeClient(), "", "validate", "-f", "secret.yaml")
		if code != 2 {
			t.Errorf("exit status = %d, want 2 (errors and a warning: the warning's 2 is the highest)", code)
		}
		golden(t, "validate-manifest.table", out)
		_, out, _ = run(t, fakeClient(), "", "validate", "-f", "secret.yaml", "-o", "json")
		var v api.CATrustValidation
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatal(err)
		}
		want := map[string][]string{
			"metadata.name":      {codeWrongName},
			"metadata.namespace": {codeWrongNamespace},
			"type":               {codeWrongType},
			"data.ca1.crt":       {codeNotBase64},
			"data.ca2.crt":       {codeBase64Encoded},
			"data.ca3.crt":       {codeCRLF},
			"data.ca4.crt":       {codeNotBase64},
			"stringData.ca5.crt": {codeExpiring},
		}
		if got := codesByLocation(v.Problems); !reflect.DeepEqual(got, want) {
			t.Errorf("problems:\n got %v\nwant %v", got, want)
		}
		if v.InputKind != "manifest" || v.Input != "secret.yaml" || len(v.Certificates) != 3 {
			t.Errorf("input %s %s, %d certificates", v.InputKind, v.Input, len(v.Certificates))
		}
	})
	t.Run("another namespace", func(t *testing.T) {
		other := strings.Replace(good, "kube-system", "platform", 1)
		path := writeFile(t, "other.yaml", []byte(other))
		_, out, _ := run(t, fakeClient(), "", "validate", "-f", path, "-o", "jsonpath={.problems[*].code}")
		if out != codeWrongNamespace {
			t.Errorf("problems %q, want WrongNamespace", out)
		}
	})
	t.Run("not a secret", func(t *testing.T) {
		cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
		code, out, _ := run(t, fakeClient(), "", "validate", "-f", writeFile(t, "cm.yaml", []byte(cm)), "-o", "jsonpath={.problems[*].code}")
		if code != 1 || out != codeNotASecret {
			t.Errorf("exit %d, problems %q", code, out)
		}
		code, out, _ = run(t, fakeClient(), "", "validate", "-f", writeFile(t, "two.yaml", []byte(cm+"---\n"+good)), "-o", "jsonpath={.problems[*].severity}")
		if code != 0 || out != "info" {
			t.Errorf("a ConfigMap beside the Secret: exit %d, severities %q", code, out)
		}
	})
	t.Run("unreadable", func(t *testing.T) {
		code, _, errOut := run(t, fakeClient(), "", "validate", "-f", writeFile(t, "bad.yaml", []byte("a: [\n")))
		if code != 1 || !strings.Contains(errOut, "bad.yaml: not a YAML or JSON manifest") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})
}

// TestValidateBundleFile: the node-pool file is checked offline.
func TestValidateBundleFile(t *testing.T) {
	certs := []*x509.Certificate{fixture(t, "ca-a"), fixture(t, "ca-b")}
	good := FormatBundle(certs)
	joined := append(fixturePEM(t, "ca-a"), fixturePEM(t, "ca-b")...)
	for _, tt := range []struct {
		name string
		data []byte
		code int
		want []string
	}{
		{name: "node-pool format", data: good, code: 0},
		{name: "CRLF", data: bytes.ReplaceAll(good, []byte("\n"), []byte("\r\n")), code: 1, want: []string{"CRLF@file"}},
		{name: "base64-encoded file", data: []byte(base64.StdEncoding.EncodeToString(good)), code: 1, want: []string{"Base64Encoded@file"}},
		{name: "no blank line", data: joined, code: 1, want: []string{"Layout@file"}},
		{name: "a leaf and duplicates", data: FormatBundle(append(certs, fixture(t, "leaf"), fixture(t, "ca-a"))), code: 1, want: []string{"NotCA@#3", "Duplicate@#4"}},
		{name: "expired", data: FormatBundle([]*x509.Certificate{fixture(t, "ca-expired")}), code: 3, want: []string{"Expired@#1"}},
		{name: "a private key", data: []byte(testKey), code: 1, want: []string{"PrivateKey@file"}},
		{name: "empty", data: nil, code: 1, want: []string{"Empty@file"}},
		{name: "DER", data: fixture(t, "ca-a").Raw, code: 1, want: []string{"NotPEM@file"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, fakeClient(), string(tt.data), "validate", "--file", "-", "-o", "json")
			var v api.CATrustValidation
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatalf("%v; stderr %s", err, errOut)
			}
			var got []string
			for _, p := range v.Problems {
				got = append(got, p.Code+"@"+p.Location)
			}
			sort.Strings(got)
			sort.Strings(tt.want)
			if code != tt.code || !reflect.DeepEqual(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Errorf("exit %d, problems %v; want %d, %v", code, got, tt.code, tt.want)
			}
			if v.InputKind != "bundle" || v.Input != "stdin" {
				t.Errorf("input %s %s", v.InputKind, v.Input)
			}
		})
	}

	t.Chdir(t.TempDir())
	if err := os.WriteFile("cas.pem", append(bytes.ReplaceAll(joined, []byte("\n"), []byte("\r\n")), fixturePEM(t, "ca-soon")...), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := run(t, fakeClient(), "", "validate", "--file", "cas.pem")
	if code != 3 {
		t.Errorf("exit status %d, want 3", code)
	}
	golden(t, "validate-bundle.table", out)
}

func TestValidateUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--file", "a", "-f", "b"}, "--file and -f/--filename exclude each other"},
		{[]string{"x"}, `unexpected argument "x"`},
		{[]string{"--max", "0"}, "--max 0: must be at least 1"},
		{[]string{"--file", "none.pem"}, "open none.pem: no such file or directory"},
	} {
		code, _, errOut := run(t, fakeClient(), "", "validate", tt.args...)
		if code != 1 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", tt.args, code, errOut, tt.want)
		}
	}
	code, _, errOut := run(t, fakeClient(), "", "validate")
	if code != 1 || !strings.Contains(errOut, "error: secret kube-system/custom-ca-trust-secret not found") {
		t.Errorf("no secret: exit %d, stderr %q", code, errOut)
	}
}

func indent(s, prefix string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if l != "" {
			b.WriteString(prefix + l)
		}
	}
	return b.String()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestValidateManifestNotAnObject: a manifest whose document is text, a list
// or a number is one error naming the file and the document, and never
// quotes the value or Go's types.
func TestValidateManifestNotAnObject(t *testing.T) {
	for _, tt := range []struct {
		name, data, want string
	}{
		{"text", "issuer=CN = s3cr3t\nnot a manifest\n", "document 1 is a string (text), not an object"},
		{"a list", `["s3cr3t"]`, "document 1 is a list, not an object"},
		{"a number", "42\n", "document 1 is a number, not an object"},
		{"a Secret, then text", "apiVersion: v1\nkind: Secret\n---\ns3cr3t\n", "document 2 is a string (text), not an object"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "secret.yaml")
			if err := os.WriteFile(path, []byte(tt.data), 0o644); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := run(t, fakeClient(), "", "validate", "-f", path)
			want := "error: " + path + ": not a YAML or JSON manifest: " + tt.want
			if code != 1 || out != "" || !strings.HasPrefix(errOut, want) || strings.Count(errOut, "\n") != 1 ||
				strings.Contains(errOut, "s3cr3t") || strings.Contains(errOut, "catrust.") {
				t.Errorf("exit %d, stdout %q, stderr %q; want 1 and one line %q…", code, out, errOut, want)
			}
		})
	}
}
