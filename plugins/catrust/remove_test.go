package catrust

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestRemove(t *testing.T) {
	several := func(t *testing.T) []byte {
		return append(fixturePEM(t, "ca-c"), fixturePEM(t, "ca-warn")...)
	}
	for _, tt := range []struct {
		name   string
		args   []string
		extra  map[string]func(*testing.T) []byte
		want   map[string]string // fingerprint fixture names per key left
		golden string
	}{
		{name: "by key", args: []string{"ca2.crt"}, want: map[string]string{"ca1.crt": "ca-a", "ca3.crt": "ca-expired"}, golden: "remove-key.table"},
		{name: "by fingerprint prefix with colons, upper case", args: []string{"--fingerprint", "68:C7:36:C5"}, want: map[string]string{"ca2.crt": "ca-b", "ca3.crt": "ca-expired"}},
		{name: "by whole fingerprint", args: []string{"--fingerprint", "797b21456489a7c23dbe86655df96da4b7e9ed810cd7ce717c35e9deecdeebed"}, want: map[string]string{"ca1.crt": "ca-a", "ca3.crt": "ca-expired"}},
		{name: "by subject", args: []string{"--subject", "CN=kubecerts-trust-a,O=kubecerts"}, want: map[string]string{"ca2.crt": "ca-b", "ca3.crt": "ca-expired"}},
		{name: "by common name", args: []string{"--subject", "kubecerts-trust-b"}, want: map[string]string{"ca1.crt": "ca-a", "ca3.crt": "ca-expired"}},
		{name: "expired", args: []string{"--expired"}, want: map[string]string{"ca1.crt": "ca-a", "ca2.crt": "ca-b"}, golden: "remove-expired.table"},
		{name: "selectors add up", args: []string{"ca1.crt", "--expired", "--subject", "kubecerts-trust-a"}, want: map[string]string{"ca2.crt": "ca-b"}},
		{name: "one certificate of a key that holds two", args: []string{"--subject", "kubecerts-trust-warn"},
			extra: map[string]func(*testing.T) []byte{"ca4.crt": several},
			want:  map[string]string{"ca1.crt": "ca-a", "ca2.crt": "ca-b", "ca3.crt": "ca-expired", "ca4.crt": "ca-c"}},
		{name: "the last certificate: the secret stays", args: []string{"ca1.crt", "ca2.crt", "ca3.crt"}, want: map[string]string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := secretWith(t, "ca-a", "ca-b", "ca-expired")
			for k, f := range tt.extra {
				s.Data[k] = f(t)
			}
			c := fakeClient(s)
			code, out, errOut := run(t, c, "", "remove", tt.args...)
			if code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", code, errOut)
			}
			if tt.golden != "" {
				golden(t, tt.golden, out)
			}
			want := map[string]string{}
			for k, n := range tt.want {
				want[k] = fp(t, n)
			}
			left := getSecret(t, c)
			if got := fingerprintsOf(t, left); !reflect.DeepEqual(got, want) {
				t.Errorf("left %v, want %v", got, want)
			}
			if string(left.Data["token"]) != "s3cr3t-value" || left.Labels["team"] != "platform" {
				t.Errorf("token or labels not kept: %v %v", keysOf(left), left.Labels)
			}
			if got := verbs(c); !reflect.DeepEqual(got, []string{"get secrets", "update secrets rv=7"}) {
				t.Errorf("API calls = %v", got)
			}
		})
	}
}

// TestRemoveNothingMatched: a selector that matches nothing is exit 1 and
// nothing is written, even when another selector matched.
func TestRemoveNothingMatched(t *testing.T) {
	for _, tt := range []struct {
		name    string
		args    []string
		missing bool
		tls     bool
		want    string
	}{
		{name: "no such key", args: []string{"ca9.crt"}, want: "secret kube-system/custom-ca-trust-secret has no key ca9.crt; nothing was written"},
		{name: "not a certificate key", args: []string{"token"}, want: "key token of secret kube-system/custom-ca-trust-secret is not a certificate key"},
		{name: "fingerprint", args: []string{"--fingerprint", "00000000"}, want: "no certificate in secret kube-system/custom-ca-trust-secret matches --fingerprint 00000000; nothing was written"},
		{name: "one of two selectors", args: []string{"ca1.crt", "--subject", "nobody"}, want: "matches --subject nobody"},
		{name: "nothing expired", args: []string{"--expired", "--subject", "kubecerts-trust-a"}, want: "matches --expired"},
		{name: "no secret", args: []string{"ca1.crt"}, missing: true, want: "secret kube-system/custom-ca-trust-secret not found"},
		{name: "no selector", args: nil, want: "say what to remove"},
		{name: "short fingerprint", args: []string{"--fingerprint", "68c7"}, want: `--fingerprint "68c7": give 8 to 64 hex digits`},
		{name: "not hex", args: []string{"--fingerprint", "zzzzzzzzzz"}, want: `--fingerprint "zzzzzzzzzz"`},
		{name: "empty subject", args: []string{"--subject", " "}, want: `--subject " ": give a subject`},
		{name: "a TLS secret", args: []string{"ca1.crt"}, tls: true, want: "secret kube-system/custom-ca-trust-secret is of type kubernetes.io/tls, not Opaque"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := fakeClient(secretWith(t, "ca-a", "ca-b"))
			if tt.missing {
				c = fakeClient()
			}
			if tt.tls {
				s := secretWith(t, "ca-a", "ca-b")
				s.Type = corev1.SecretTypeTLS
				c = fakeClient(s)
			}
			code, _, errOut := run(t, c, "", "remove", tt.args...)
			if code != 1 || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant 1 and %q", code, errOut, tt.want)
			}
			for _, v := range verbs(c) {
				if v != "get secrets" {
					t.Errorf("API call %s: nothing may be written", v)
				}
			}
		})
	}
}
