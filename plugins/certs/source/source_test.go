package source

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/kubecerts/kubecerts/shared/tlsprobe"

	"github.com/kubecerts/kubecerts/shared/certificate/certtest"
	"github.com/kubecerts/kubecerts/shared/expiry"
)

// recorder is a Sink that keeps everything for assertions.
type recorder struct{ *Collector }

func newRecorder() recorder {
	return recorder{NewCollector(time.Now(), expiry.DefaultThresholds(), false)}
}

func TestProbeReportsTheChainAndVerifies(t *testing.T) {
	ca := certtest.CA(t, "cluster-ca")
	leaf := certtest.New(t, certtest.Template{CommonName: "kube-apiserver", IPs: []net.IP{net.ParseIP("127.0.0.1")}}, ca)
	srv := certtest.TLSServer(t, leaf, ca)

	res, err := (&tlsprobe.Probe{URL: srv.URL, Roots: certtest.Pool(ca), Timeout: 5 * time.Second}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Chain) != 2 || !res.Chain[0].Equal(leaf.Cert) || !res.Chain[1].Equal(ca.Cert) {
		t.Fatalf("chain = %d certificates, want leaf then CA", len(res.Chain))
	}
	if !res.Verified || res.ServerName != "127.0.0.1" {
		t.Errorf("verified = %v (%v), server name %q", res.Verified, res.VerifyError, res.ServerName)
	}

	// A kubeconfig left with another CA: still reported, verified false, with the hint.
	other := certtest.CA(t, "new-ca")
	res, err = (&tlsprobe.Probe{URL: srv.URL, Roots: certtest.Pool(other), Timeout: 5 * time.Second}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Verified || !strings.Contains(res.VerifyError.Error(), "unknown authority") {
		t.Fatalf("verified = %v, error %v; want unknown authority", res.Verified, res.VerifyError)
	}
	rec := newRecorder()
	ReportProbe("apiserver", "", res, rec)
	r := rec.Report()
	if len(r.Certificates) != 2 {
		t.Fatalf("reported %d certificates", len(r.Certificates))
	}
	for _, c := range r.Certificates {
		if c.Chain == nil || c.Chain.Verified || c.Chain.VerifyError == "" {
			t.Errorf("%s: chain info %+v", c.Location, c.Chain)
		}
		if c.Chain.Position == 0 && (len(c.Notes) != 1 || !strings.Contains(c.Notes[0], "refresh the credentials")) {
			t.Errorf("leaf notes = %v, want the refresh hint", c.Notes)
		}
	}
	if !strings.HasSuffix(r.Certificates[0].Location, "[0]") && !strings.HasSuffix(r.Certificates[1].Location, "[0]") {
		t.Errorf("no chain position in locations: %s, %s", r.Certificates[0].Location, r.Certificates[1].Location)
	}
}

func write(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	ca := certtest.CA(t, "ca")
	leaf := certtest.New(t, certtest.Template{CommonName: "leaf"}, ca)
	write(t, dir, "certs/a.pem", append(leaf.PEM(), ca.PEM()...))
	write(t, dir, "certs/b.crt", []byte(base64.StdEncoding.EncodeToString(ca.PEM())))
	write(t, dir, "certs/c.der", leaf.Cert.Raw)
	write(t, dir, "certs/with-key.pem", append(leaf.KeyPEM(t), leaf.PEM()...))
	write(t, dir, "certs/empty.pem", nil)
	kubeconfig := write(t, dir, "kubeconfig", []byte(`apiVersion: v1
kind: Config
clusters:
- name: c1
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: `+base64.StdEncoding.EncodeToString(ca.PEM())+`
users:
- name: good
  user:
    client-certificate-data: `+base64.StdEncoding.EncodeToString(leaf.PEM())+`
- name: broken
  user:
    client-certificate-data: `+base64.StdEncoding.EncodeToString([]byte("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n"))+`
contexts:
- name: ctx
  context: {cluster: c1, user: good}
current-context: ctx
`))
	rec := newRecorder()
	(&Files{Patterns: []string{filepath.Join(dir, "certs", "*"), kubeconfig, filepath.Join(dir, "nothing-*.pem"), filepath.Join(dir, "certs")}}).Collect(context.Background(), rec)
	r := rec.Report()

	locs := map[string]bool{}
	for _, c := range r.Certificates {
		locs[strings.TrimPrefix(c.Location, dir+"/")] = true
	}
	for _, want := range []string{"certs/a.pem [0]", "certs/a.pem [1]", "certs/b.crt", "certs/c.der", "certs/with-key.pem",
		"kubeconfig (user good) client-certificate-data", "kubeconfig (cluster c1) certificate-authority-data"} {
		if !locs[want] {
			t.Errorf("missing %q in %v", want, locs)
		}
	}
	errs := map[string]string{}
	for _, e := range r.Errors {
		errs[strings.TrimPrefix(e.Location, dir+"/")] = e.Message
	}
	for loc, want := range map[string]string{
		"certs/empty.pem":          "empty",
		"kubeconfig (user broken)": "client-certificate-data: PEM block 1",
		"nothing-*.pem":            "no files match",
		"certs":                    "is a directory",
	} {
		if !strings.Contains(errs[loc], want) {
			t.Errorf("error for %s = %q, want containing %q (all: %v)", loc, errs[loc], want, errs)
		}
	}
	for _, c := range r.Certificates {
		if strings.HasSuffix(c.Location, "b.crt") && (len(c.Notes) == 0 || !strings.Contains(c.Notes[0], "base64")) {
			t.Errorf("b.crt notes = %v, want the base64 note", c.Notes)
		}
		if strings.HasSuffix(c.Location, "with-key.pem") && !strings.Contains(strings.Join(c.Notes, " "), "private key (PEM block 1), not read") {
			t.Errorf("with-key.pem notes = %v", c.Notes)
		}
	}
}

func TestCollectorDedupAndServedVsDisk(t *testing.T) {
	ca := certtest.CA(t, "ca")
	old := certtest.New(t, certtest.Template{CommonName: "kube-apiserver", DNSNames: []string{"kubernetes"},
		NotBefore: time.Now().Add(-365 * 24 * time.Hour), NotAfter: time.Now().Add(48 * time.Hour)}, ca)
	renewed := certtest.New(t, certtest.Template{CommonName: "kube-apiserver", DNSNames: []string{"kubernetes"}}, ca)

	c := NewCollector(time.Now(), expiry.DefaultThresholds(), true)
	c.Found("kubeconfig", Found{Cert: ca.Cert, Location: "context/a cluster/a"})
	c.Found("kubeconfig", Found{Cert: ca.Cert, Location: "context/b cluster/b"})
	c.Found("kubeconfig", Found{Cert: ca.Cert, Location: "context/b cluster/b"})
	c.Found("pki-dir", Found{Cert: renewed.Cert, Location: "/etc/kubernetes/pki/apiserver.crt", Name: "apiserver"})
	ReportProbe("apiserver", "", &tlsprobe.Result{Endpoint: "https://10.0.0.1:6443", Chain: []*x509.Certificate{old.Cert}, Verified: true}, c)
	r := c.Report()
	if r.Summary.Total != 3 {
		t.Fatalf("total = %d, want 3 (the CA once)", r.Summary.Total)
	}
	var caEntry = r.Certificates[len(r.Certificates)-1]
	if caEntry.Location != "context/a cluster/a" || len(caEntry.AlsoAt) != 1 || caEntry.AlsoAt[0] != "kubeconfig context/b cluster/b" {
		t.Errorf("CA entry = %s also at %v", caEntry.Location, caEntry.AlsoAt)
	}
	if r.Certificates[0].Source != "apiserver" {
		t.Errorf("not sorted by expiry: first is %s", r.Certificates[0].Location)
	}
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "still serves the old one; restart kube-apiserver") {
		t.Errorf("notes = %v", r.Notes)
	}
	if r.Summary.Critical != 1 || r.Summary.OK != 2 {
		t.Errorf("summary = %+v", r.Summary)
	}
}

// TestServedDiffersFromDisk: the note on a served certificate that is not
// apiserver.crt is made only for a kube-apiserver certificate the apiserver
// or endpoint source was served, issued by the file's CA; it advises a
// restart only when the served certificate is the older one.
func TestServedDiffersFromDisk(t *testing.T) {
	now := time.Now()
	ca := certtest.CA(t, "kubernetes")
	otherCluster := certtest.CA(t, "kubernetes") // same name, another key
	apiserver := func(notBefore time.Time, by *certtest.Cert) *certtest.Cert {
		return certtest.New(t, certtest.Template{CommonName: "kube-apiserver", DNSNames: []string{"kubernetes", "cp-1"}, IPs: []net.IP{net.ParseIP("10.0.0.1")},
			NotBefore: notBefore, NotAfter: notBefore.Add(365 * 24 * time.Hour)}, by)
	}
	file := apiserver(now.Add(-24*time.Hour), ca)
	older := apiserver(now.Add(-300*24*time.Hour), ca)
	newer := apiserver(now.Add(-time.Hour), ca)
	// The kubelet's serving certificate on the same node: same CA, a name
	// in common.
	kubelet := certtest.New(t, certtest.Template{CommonName: "system:node:cp-1", DNSNames: []string{"cp-1"}, IPs: []net.IP{net.ParseIP("10.0.0.1")},
		NotBefore: now.Add(-300 * 24 * time.Hour)}, ca)
	const restart = "still serves the old one; restart kube-apiserver"
	const differs = "is not a kube-apiserver left unrestarted after a renewal; another control-plane node may have answered"
	tests := []struct {
		name   string
		source string
		served *certtest.Cert
		want   string // "": no note
	}{
		{"served older than the file: restart", "apiserver", older, restart},
		{"an endpoint serving the older one: restart", "endpoint", older, restart},
		{"served newer than the file: only differs", "apiserver", newer, differs},
		{"the file itself", "apiserver", file, ""},
		{"another cluster's CA of the same name", "apiserver", apiserver(now.Add(-300*24*time.Hour), otherCluster), ""},
		{"the kubelet on the same node", "endpoint", kubelet, ""},
		{"a chain from another source", "other", older, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCollector(now, expiry.DefaultThresholds(), false)
			c.Found("pki-dir", Found{Cert: file.Cert, Location: "/etc/kubernetes/pki/apiserver.crt", Name: "apiserver"})
			ReportProbe(tt.source, "", &tlsprobe.Result{Endpoint: "https://10.0.0.1:6443", Chain: []*x509.Certificate{tt.served.Cert, ca.Cert}, Verified: true}, c)
			notes := c.Report().Notes
			switch {
			case tt.want == "" && len(notes) != 0:
				t.Errorf("notes = %q, want none", notes)
			case tt.want != "" && (len(notes) != 1 || !strings.Contains(notes[0], tt.want) || !strings.Contains(notes[0], "apiserver.crt")):
				t.Errorf("notes = %q, want one containing %q", notes, tt.want)
			case tt.want == differs && strings.Contains(notes[0], "restart kube-apiserver"):
				t.Errorf("note %q advises a restart", notes[0])
			}
		})
	}
}

func TestErrorMessageDoesNotRepeatTheLocation(t *testing.T) {
	_, statErr := os.Stat("/no/such/file")
	for _, tt := range []struct {
		loc  string
		err  error
		want string
	}{
		{"bin.dat", errors.New("bin.dat: binary data"), "binary data"},
		{"/no/such/file", statErr, "no such file or directory"},
		{"/no/such/file", fmt.Errorf("/no/such/file: %w", statErr), "no such file or directory"},
		{"x.pem", errors.New("PEM block 1 (line 1): truncated"), "PEM block 1 (line 1): truncated"},
		{"node/n1", errors.New("standard input, line 1: no such file on the node"), "standard input, line 1: no such file on the node"},
		{"a", errors.New("a: "), "a: "},
	} {
		if got := ErrorMessage(tt.loc, tt.err); got != tt.want {
			t.Errorf("ErrorMessage(%q, %q) = %q, want %q", tt.loc, tt.err, got, tt.want)
		}
	}
}

// TestAPIServerWithAnUnreadableCA: a kubeconfig whose CA data is broken is
// one error (the kubeconfig source's when it runs too); the served chain is
// still reported, unverified.
func TestAPIServerWithAnUnreadableCA(t *testing.T) {
	ca := certtest.CA(t, "cluster-ca")
	leaf := certtest.New(t, certtest.Template{CommonName: "kube-apiserver", IPs: []net.IP{net.ParseIP("127.0.0.1")}}, ca)
	srv := certtest.TLSServer(t, leaf, ca)
	cfg := &rest.Config{Host: srv.URL, Timeout: 5 * time.Second}
	cfg.TLSClientConfig.CAData = []byte("garbage, not a CA bundle")
	for _, reported := range []bool{true, false} {
		rec := newRecorder()
		(&APIServer{Context: Context{Config: cfg}, CAReported: reported}).Collect(context.Background(), rec)
		r := rec.Report()
		if len(r.Certificates) != 2 {
			t.Fatalf("CAReported %v: %d certificates reported, want the chain of 2", reported, len(r.Certificates))
		}
		for _, c := range r.Certificates {
			if c.Chain.Verified || !strings.Contains(c.Chain.VerifyError, "the kubeconfig's CA cannot be read") {
				t.Errorf("CAReported %v: chain %+v", reported, c.Chain)
			}
		}
		wantErrors := 1
		if reported {
			wantErrors = 0
		}
		if len(r.Errors) != wantErrors || wantErrors == 1 && !strings.Contains(r.Errors[0].Message, "certificate-authority-data") {
			t.Errorf("CAReported %v: errors %+v, want %d", reported, r.Errors, wantErrors)
		}
	}
}

// TestEndpointVerification: an endpoint whose chain does not verify against
// the system roots is reported and is an error, with a hint about
// --certificate-authority (not the kubeconfig's); with that CA it verifies.
func TestEndpointVerification(t *testing.T) {
	ca := certtest.CA(t, "private-ca")
	leaf := certtest.New(t, certtest.Template{CommonName: "registry", IPs: []net.IP{net.ParseIP("127.0.0.1")}}, ca)
	srv := certtest.TLSServer(t, leaf, ca)

	rec := newRecorder()
	(&Endpoint{Address: srv.URL, Timeout: 5 * time.Second}).Collect(context.Background(), rec)
	r := rec.Report()
	if len(r.Certificates) != 2 || len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Message, "does not verify against the system roots") {
		t.Fatalf("without a CA: certificates %d, errors %+v", len(r.Certificates), r.Errors)
	}
	for _, c := range r.Certificates {
		if c.Chain.Position == 0 && (len(c.Notes) != 1 || !strings.Contains(c.Notes[0], "--certificate-authority") || strings.Contains(c.Notes[0], "kubeconfig")) {
			t.Errorf("notes = %v, want the endpoint hint", c.Notes)
		}
	}

	rec = newRecorder()
	(&Endpoint{Address: srv.URL, Timeout: 5 * time.Second, Roots: certtest.Pool(ca)}).Collect(context.Background(), rec)
	r = rec.Report()
	if len(r.Certificates) != 2 || len(r.Errors) != 0 || !r.Certificates[0].Chain.Verified {
		t.Errorf("with --certificate-authority: certificates %+v, errors %+v", r.Certificates, r.Errors)
	}
}
