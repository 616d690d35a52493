package catrust

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/cli"
	"github.com/kubecerts/kubecerts/shared/exitcode"
)

func TestListGolden(t *testing.T) {
	c := fakeClient(secretWith(t, "ca-a", "ca-soon", "ca-warn", "ca-expired"))
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"list.table", nil},
		{"list.wide", []string{"-o", "wide"}},
		{"list.json", []string{"-o", "json"}},
		{"list.yaml", []string{"-o", "yaml"}},
		{"list.name", []string{"-o", "name"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, c, "", "list", tt.args...)
			if code != exitcode.Critical {
				t.Errorf("exit status = %d, want 3 (an expired CA); stderr:\n%s", code, errOut)
			}
			golden(t, tt.name, out)
		})
	}
	if got := verbs(c); len(got) != 5 || got[0] != "get secrets" {
		t.Errorf("API calls = %v, want one get per run", got)
	}
}

func TestListExitStatus(t *testing.T) {
	broken := secretWith(t, "ca-a")
	broken.Data["ca2.crt"] = []byte("-----BEGIN CERTIFICATE-----\nMIIB\n")
	for _, tt := range []struct {
		name       string
		args       []string
		want       int
		wantStderr string
	}{
		{name: "all OK", args: nil, want: 0},
		{name: "warning", args: []string{"--warn-within", "100y", "--critical-within", "1d"}, want: 2},
		{name: "critical", args: []string{"--critical-within", "100y", "--warn-within", "200y"}, want: 3},
		{name: "bad thresholds", args: []string{"--warn-within", "1d"}, want: 1, wantStderr: "--critical-within (7d) must not be longer than --warn-within (1d)"},
		{name: "an argument", args: []string{"ca1.crt"}, want: 1, wantStderr: `unexpected argument "ca1.crt"`},
		{name: "bad secret name", args: []string{"--secret", "Not_A_Name"}, want: 1, wantStderr: `--secret "Not_A_Name"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := run(t, fakeClient(secretWith(t, "ca-a", "ca-b")), "", "list", tt.args...)
			if code != tt.want || !strings.Contains(errOut, tt.wantStderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, tt.want, tt.wantStderr)
			}
		})
	}

	t.Run("a key that does not parse", func(t *testing.T) {
		code, out, errOut := run(t, fakeClient(broken), "", "list", "-o", "json")
		if code != exitcode.Error {
			t.Errorf("exit status = %d, want 1", code)
		}
		if !strings.Contains(errOut, "error: secret kube-system/custom-ca-trust-secret key ca2.crt: PEM block 1 (line 1): truncated CERTIFICATE block") {
			t.Errorf("stderr does not name the key:\n%s", errOut)
		}
		var l api.CATrustList
		if err := json.Unmarshal([]byte(out), &l); err != nil {
			t.Fatal(err)
		}
		if len(l.Items) != 1 || l.Items[0].Key != "ca1.crt" || len(l.Errors) != 1 || l.Errors[0].Location != "secret/kube-system/custom-ca-trust-secret/ca2.crt" {
			t.Errorf("items %+v, errors %+v", l.Items, l.Errors)
		}
	})

	t.Run("no secret: no custom CAs", func(t *testing.T) {
		c := fakeClient()
		if err := c.Tracker().Add(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system"}}); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := run(t, c, "", "list")
		if code != 0 || out != "" || !strings.Contains(errOut, "note: no custom CAs: secret kube-system/custom-ca-trust-secret does not exist\n") {
			t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		code, out, _ = run(t, c, "", "list", "-o", "json")
		var l api.CATrustList
		if err := json.Unmarshal([]byte(out), &l); err != nil || code != 0 || l.Exists || l.Items == nil || len(l.Items) != 0 {
			t.Errorf("exit %d, %v, list %+v", code, err, l)
		}
	})

	t.Run("no namespace: an error, not an empty list", func(t *testing.T) {
		for _, args := range [][]string{nil, {"-o", "json"}} {
			code, out, errOut := run(t, fakeClient(), "", "list", args...)
			want := "error: secret kube-system/custom-ca-trust-secret: namespace \"kube-system\" not found (-n/--namespace)\n"
			if code != 1 || out != "" || errOut != want {
				t.Errorf("list %v: exit %d, stdout %q, stderr %q; want 1 and %q", args, code, out, errOut, want)
			}
		}
	})
}

func TestListKeyOrderAndSeveralPerKey(t *testing.T) {
	s := trustSecret(map[string][]byte{
		"ca10.crt": fixturePEM(t, "ca-c"),
		"ca2.crt":  append(fixturePEM(t, "ca-a"), fixturePEM(t, "ca-b")...),
		"root.crt": fixturePEM(t, "ca-warn"),
		"token":    []byte("s3cr3t-value"),
	})
	_, out, _ := run(t, fakeClient(s), "", "list", "-o", "jsonpath={range .items[*]}{.key} {.subject}{\"\\n\"}{end}")
	got := strings.Split(strings.TrimSpace(out), "\n")
	want := []string{
		"ca2.crt CN=kubecerts-trust-a,O=kubecerts",
		"ca2.crt CN=kubecerts-trust-b,O=kubecerts",
		"ca10.crt CN=kubecerts-trust-c,O=kubecerts",
		"root.crt CN=kubecerts-trust-warn,O=kubecerts",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows = %q, want %q", got, want)
	}
}

// TestListWarnsOfValuesNodesCannotInstall: a certificate stored as base64
// of PEM or with CRLF line endings is listed (it parses), with a warning
// naming the key and the repair; the exit status stays that of the
// certificates, and clean keys get no warning. A key that also holds more
// than certificates is one add and sync refuse to rewrite: the repair is
// by hand.
func TestListWarnsOfValuesNodesCannotInstall(t *testing.T) {
	a := fixturePEM(t, "ca-a")
	s := trustSecret(map[string][]byte{
		"ca1.crt": []byte(base64.StdEncoding.EncodeToString(a)),
		"ca2.crt": bytes.ReplaceAll(fixturePEM(t, "ca-b"), []byte("\n"), []byte("\r\n")),
		"ca3.crt": fixturePEM(t, "ca-c"),
		"ca4.crt": bytes.ReplaceAll(append(fixturePEM(t, "ca-c"), crlPEM(t)...), []byte("\n"), []byte("\r\n")),
	})
	code, out, errOut := run(t, fakeClient(s), "", "list", "-o", "name")
	if code != 0 || strings.Count(out, "\n") != 4 {
		t.Fatalf("exit %d, stdout:\n%s", code, out)
	}
	want := []string{
		"warning: secret kube-system/custom-ca-trust-secret key ca1.crt: stored as base64 of PEM, which nodes cannot install: kubectl ca-trust add or sync rewrites it as PEM",
		"warning: secret kube-system/custom-ca-trust-secret key ca2.crt: stored with CRLF line endings, which nodes cannot install: kubectl ca-trust add or sync rewrites it as PEM",
		"warning: secret kube-system/custom-ca-trust-secret key ca4.crt: stored with CRLF line endings, which nodes cannot install; " +
			"it also holds a X509 CRL (PEM block 2) besides certificates, so kubectl ca-trust add and sync do not rewrite it: edit the key by hand",
	}
	if got := strings.Split(strings.TrimSpace(errOut), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("stderr:\n%s\nwant:\n%s", errOut, strings.Join(want, "\n"))
	}
}

// TestValidateAdviceForKeysHoldingMore: validate does not advise add or
// sync for a key they would refuse to rewrite (it holds a CRL), as it does
// for a key of certificates alone.
func TestValidateAdviceForKeysHoldingMore(t *testing.T) {
	crlf := func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")) }
	s := trustSecret(map[string][]byte{
		"ca1.crt": crlf(fixturePEM(t, "ca-a")),
		"ca2.crt": crlf(append(fixturePEM(t, "ca-b"), crlPEM(t)...)),
		"ca3.crt": []byte(base64.StdEncoding.EncodeToString(append(fixturePEM(t, "ca-c"), crlPEM(t)...))),
	})
	_, out, _ := run(t, fakeClient(s), "", "validate", "-o", "json")
	var v api.CATrustValidation
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	msgs := map[string]string{}
	for _, p := range v.Problems {
		if p.Code == codeCRLF || p.Code == codeBase64Encoded {
			msgs[p.Location] = p.Message
		}
	}
	if m := msgs["ca1.crt"]; !strings.Contains(m, "kubectl ca-trust add and export, which write LF") {
		t.Errorf("ca1.crt: %q", m)
	}
	for _, k := range []string{"ca2.crt", "ca3.crt"} {
		if m := msgs[k]; !strings.Contains(m, "remove what is not a certificate and then run kubectl ca-trust add") || strings.Contains(m, "or or") {
			t.Errorf("%s: advice ignores the CRL: %q", k, m)
		}
	}
}

// TestRequestTimeoutNamed: a --request-timeout client-go cannot parse is a
// usage error naming the flag and its value, for every verb, before any
// API call.
func TestRequestTimeoutNamed(t *testing.T) {
	for _, verb := range []string{"list", "add", "remove", "validate", "export", "sync"} {
		streams, _, out, errOut := genericiooptions.NewTestIOStreams()
		args := []string{verb, "--request-timeout", "abc", "--kubeconfig", filepath.Join(t.TempDir(), "none")}
		switch verb {
		case "add", "sync":
			args = append(args, "testdata/ca-a.pem")
		case "remove":
			args = append(args, "ca1.crt")
		}
		code := cli.Run(context.Background(), cli.NewRootCommand(Plugin, streams), args, errOut)
		want := "error: --request-timeout \"abc\": give seconds (30) or a number with a unit (30s, 2m, 1h); 0 waits forever\n" +
			"See 'kubectl ca-trust " + verb + " -h' for help and examples.\n"
		if code != 1 || out.String() != "" || errOut.String() != want {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 1 and %q", verb, code, out, errOut, want)
		}
	}
}
