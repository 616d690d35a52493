package metrics

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/golden"
)

var (
	checkedAt = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	notBefore = metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	notAfter  = metav1.NewTime(time.Date(2027, 1, 10, 0, 0, 0, 0, time.UTC))
)

// cert is a certificate of the report at location; the fields that do not
// matter here are fixed.
func cert(source, location string, object *api.ObjectReference) api.Certificate {
	return api.Certificate{
		Source: source, Location: location, Object: object,
		Subject: "CN=web,O=example", Issuer: "CN=ca", SerialNumber: "1f",
		NotBefore: notBefore, NotAfter: notAfter, Status: api.StatusCritical,
	}
}

func ref(kind, ns, name, field string) *api.ObjectReference {
	return &api.ObjectReference{APIVersion: "v1", Kind: kind, Namespace: ns, Name: name, UID: "u", FieldPath: field}
}

// everySource is a report with a certificate of every source kind, and
// values that must be escaped.
func everySource() *api.CertificateReport {
	expired := cert("pki-dir", "/etc/kubernetes/pki/apiserver.crt", nil)
	expired.Status = api.StatusExpired
	escaped := cert("file", "/certs/odd \"name\"\\with\nnewline.pem", nil)
	escaped.Subject = `CN=a\,b \"quoted\"+OU=x,OU=y,O=caf\C3\A9,C=FR,ST=Île,L=Paris`
	invalidUTF8 := cert("file", "/certs/bad-\xff.pem", nil)
	node := cert("nodes", "node/aks-pool-0:/etc/kubernetes/certs/apiserver.crt", ref("Node", "", "aks-pool-0", ""))
	node.NotBefore = metav1.Time{} // openssl on the node gave no notBefore
	return &api.CertificateReport{
		TypeMeta:    metav1.TypeMeta{APIVersion: "kubecerts.io/v1alpha1", Kind: "CertificateReport"},
		GeneratedAt: metav1.NewTime(checkedAt),
		Certificates: []api.Certificate{
			cert("kubeconfig", "user/admin client-certificate-data", nil),
			cert("kubeconfig", "context/prod cluster/prod certificate-authority /etc/ssl/prod-ca.pem [1]", nil),
			cert("apiserver", "https://10.0.0.1:6443 [0]", nil),
			cert("endpoint", "registry.example:443 [0]", nil),
			cert("file", "/certs/bundle.pem [2]", nil),
			expired,
			cert("pki-dir", "/etc/kubernetes/admin.conf (user kubernetes-admin) client-certificate-data", nil),
			cert("k3s-dir", "/var/lib/rancher/k3s/server/tls/serving-kube-apiserver.crt", nil),
			cert("secrets", "secret/apps/web/tls.crt", ref("Secret", "apps", "web", "data[tls.crt]")),
			cert("secrets", "secret/apps/web/ca.crt [1]", ref("Secret", "apps", "web", "data[ca.crt]")),
			cert("configmaps", "configmap/kube-system/extension-apiserver-authentication/client-ca-file", ref("ConfigMap", "kube-system", "extension-apiserver-authentication", "data[client-ca-file]")),
			cert("webhooks", "validatingwebhookconfiguration/policy/check.example.com", ref("ValidatingWebhookConfiguration", "", "policy", "webhooks[check.example.com].clientConfig.caBundle")),
			cert("webhooks", "apiservice/v1beta1.metrics.k8s.io", ref("APIService", "", "v1beta1.metrics.k8s.io", "spec.caBundle")),
			cert("csr", "csr/csr-abcde", ref("CertificateSigningRequest", "", "csr-abcde", "status.certificate")),
			cert("trustbundles", "clustertrustbundle/example.com:signer:bundle", ref("ClusterTrustBundle", "", "example.com:signer:bundle", "spec.trustBundle")),
			cert("podcerts", "podcertificaterequest/apps/web-abc", ref("PodCertificateRequest", "apps", "web-abc", "status.certificateChain")),
			node,
			cert("kubelets", "node/worker-1/kubelet", ref("Node", "", "worker-1", "")),
			escaped,
			invalidUTF8,
		},
		Errors: []api.ReportError{
			{Source: "secrets", Location: "secrets in namespace apps", Message: "forbidden"},
			{Source: "kubelets", Location: "node/worker-2/kubelet", Message: "connection refused"},
			{Source: "kubelets", Location: "node/worker-3/kubelet", Message: "connection refused"},
		},
	}
}

func write(t *testing.T, r *api.CertificateReport) string {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, r, 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestWriteGolden(t *testing.T) {
	golden.Assert(t, "every-source.prom", write(t, everySource()))
}

// TestRoundTrip: prometheus/common's parser reads back every family and
// series written, with the label values given (escaped on the way).
func TestRoundTrip(t *testing.T) {
	r := everySource()
	out := write(t, r)
	p := expfmt.NewTextParser(model.UTF8Validation)
	parsed, err := p.TextToMetricFamilies(strings.NewReader(out))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, out)
	}
	want := Families(r, 1500*time.Millisecond)
	if len(parsed) != len(want) {
		t.Fatalf("parsed %d families, wrote %d", len(parsed), len(want))
	}
	for _, w := range want {
		got := parsed[w.GetName()]
		if got == nil {
			t.Fatalf("family %s not parsed", w.GetName())
		}
		if got.GetType() != dto.MetricType_GAUGE || got.GetHelp() != w.GetHelp() {
			t.Errorf("%s: type %v help %q", w.GetName(), got.GetType(), got.GetHelp())
		}
		if len(got.Metric) != len(w.Metric) {
			t.Fatalf("%s: %d series parsed, %d written", w.GetName(), len(got.Metric), len(w.Metric))
		}
		for i := range w.Metric {
			if g, x := labelMap(got.Metric[i]), labelMap(w.Metric[i]); !maps.Equal(g, x) {
				t.Errorf("%s[%d]: labels\n got %v\nwant %v", w.GetName(), i, g, x)
			}
			if g, x := got.Metric[i].GetGauge().GetValue(), w.Metric[i].GetGauge().GetValue(); g != x {
				t.Errorf("%s[%d]: value %v, want %v", w.GetName(), i, g, x)
			}
		}
	}
	// The escaped location came back as it was.
	var locations []string
	for _, m := range parsed[NotAfter].Metric {
		locations = append(locations, labelMap(m)["location"])
	}
	if !slices.Contains(locations, "/certs/odd \"name\"\\with\nnewline.pem") {
		t.Errorf("locations %q lack the escaped one", locations)
	}
}

func labelMap(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.Label {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// TestCertificateLabels: the labels of the exporter are set from the
// object or the location of each source kind, and no others.
func TestCertificateLabels(t *testing.T) {
	r := everySource()
	for _, tt := range []struct {
		index int
		want  map[string]string
	}{
		{0, map[string]string{"embedded_kind": "user", "embedded_key": "client-certificate-data"}},
		{1, map[string]string{"embedded_kind": "cluster", "embedded_key": "certificate-authority", "filepath": "/etc/ssl/prod-ca.pem", "filename": "prod-ca.pem"}},
		{2, map[string]string{}},
		{4, map[string]string{"filepath": "/certs/bundle.pem", "filename": "bundle.pem"}},
		{6, map[string]string{"filepath": "/etc/kubernetes/admin.conf", "filename": "admin.conf", "embedded_kind": "user", "embedded_key": "client-certificate-data"}},
		{8, map[string]string{"secret_namespace": "apps", "secret_name": "web", "secret_key": "tls.crt"}},
		{10, map[string]string{"configmap_namespace": "kube-system", "configmap_name": "extension-apiserver-authentication", "configmap_key": "client-ca-file"}},
		{11, map[string]string{"cabundle_resource_kind": "ValidatingWebhookConfiguration", "cabundle_resource_name": "policy", "cabundle_entry": "check.example.com"}},
		{12, map[string]string{"cabundle_resource_kind": "APIService", "cabundle_resource_name": "v1beta1.metrics.k8s.io"}},
		{13, map[string]string{}},
		{16, map[string]string{}},
	} {
		c := &r.Certificates[tt.index]
		got := locationLabels(c)
		for k, v := range got {
			if v == "" {
				delete(got, k)
			}
		}
		if !maps.Equal(got, tt.want) {
			t.Errorf("%s %s: %v, want %v", c.Source, c.Location, got, tt.want)
		}
	}
}

func TestNameFields(t *testing.T) {
	for _, tt := range []struct {
		dn   string
		want map[string]string
	}{
		{"CN=web,O=example", map[string]string{"CN": "web", "O": "example"}},
		{`CN=a\,b \"q\"+OU=x,OU=y,O=caf\C3\A9,C=FR`, map[string]string{"CN": `a,b "q"`, "OU": "x,y", "O": "café", "C": "FR"}},
		{`CN=\#hash\\,SERIALNUMBER=1,1.2.3.4=#0c0161`, map[string]string{"CN": `#hash\`}},
		{"", map[string]string{}},
		{"garbage", map[string]string{}},
	} {
		if got := nameFields(tt.dn); !maps.Equal(got, tt.want) {
			t.Errorf("nameFields(%q) = %v, want %v", tt.dn, got, tt.want)
		}
	}
}

func TestDecimalSerial(t *testing.T) {
	for hex, want := range map[string]string{"1f": "31", "00": "0", "": "", "zz": "zz"} {
		if got := decimalSerial(hex); got != want {
			t.Errorf("decimalSerial(%q) = %q, want %q", hex, got, want)
		}
	}
}

// TestDuplicateLabels: two entries with the same labels stay two series.
func TestDuplicateLabels(t *testing.T) {
	r := &api.CertificateReport{Certificates: []api.Certificate{cert("file", "/a.pem", nil), cert("file", "/a.pem", nil)}}
	out := write(t, r)
	p := expfmt.NewTextParser(model.UTF8Validation)
	if _, err := p.TextToMetricFamilies(strings.NewReader(out)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `location="/a.pem #2"`) {
		t.Errorf("second entry not told apart:\n%s", out)
	}
}
