// Package metrics writes a CertificateReport in the Prometheus text
// exposition format: what `kubectl certs check -o prometheus` prints and
// --textfile writes for node_exporter's textfile collector.
//
// The per-certificate metrics keep the names and labels of
// enix/x509-certificate-exporter (x509_cert_not_after, x509_cert_not_before,
// x509_cert_expired; subject_CN, issuer_CN, serial_number, filepath,
// secret_namespace, …) where the meaning is the same, so that the
// dashboards and alerts written for it work on these; every per-certificate
// series has the same label set (labels that do not apply are empty), plus
// source and location. No label holds key material or Secret data: only
// names, paths and the certificate's public fields.
package metrics

import (
	"fmt"
	"io"
	"math/big"
	"path"
	"sort"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/lazyregexp"
)

// The metric names.
const (
	NotAfter     = "x509_cert_not_after"
	NotBefore    = "x509_cert_not_before"
	Expired      = "x509_cert_expired"
	ReadErrors   = "x509_read_errors"
	CheckErrors  = "kubecerts_check_errors"
	CheckTime    = "kubecerts_check_timestamp_seconds"
	CheckSeconds = "kubecerts_check_duration_seconds"
)

// CertificateLabels are the labels of every per-certificate series, in
// the order written.
var CertificateLabels = []string{
	"serial_number",
	"subject_C", "subject_ST", "subject_L", "subject_O", "subject_OU", "subject_CN",
	"issuer_C", "issuer_ST", "issuer_L", "issuer_O", "issuer_OU", "issuer_CN",
	"filename", "filepath", "embedded_kind", "embedded_key",
	"secret_namespace", "secret_name", "secret_key",
	"configmap_namespace", "configmap_name", "configmap_key",
	"cabundle_resource_kind", "cabundle_resource_name", "cabundle_entry",
	"source", "location",
}

// fileSources are the sources whose locations are file paths.
var fileSources = map[string]bool{"file": true, "pki-dir": true, "k3s-dir": true}

// Write writes r to w. took is how long the check ran.
func Write(w io.Writer, r *api.CertificateReport, took time.Duration) error {
	for _, f := range Families(r, took) {
		if _, err := expfmt.MetricFamilyToText(w, f); err != nil {
			return err
		}
	}
	return nil
}

// Families are the metric families of r, sorted by name; the series of
// each follow the report's order.
func Families(r *api.CertificateReport, took time.Duration) []*dto.MetricFamily {
	notAfter := family(NotAfter, "The certificate's notAfter, in seconds since the Unix epoch.")
	notBefore := family(NotBefore, "The certificate's notBefore, in seconds since the Unix epoch.")
	expired := family(Expired, "1 if the certificate had expired when it was checked, else 0.")
	seen := map[string]int{}
	for i := range r.Certificates {
		c := &r.Certificates[i]
		values := certificateLabelValues(c)
		// Two entries with the same labels would be one series twice,
		// which Prometheus refuses: the location is made unique.
		key := strings.Join(values, "\xff")
		if n := seen[key]; n > 0 {
			values[len(values)-1] = fmt.Sprintf("%s #%d", c.Location, n+1)
		}
		seen[key]++
		// One label set, shared by the certificate's three series.
		labels := labelPairs(values)
		notAfter.Metric = append(notAfter.Metric, gauge(labels, float64(c.NotAfter.Unix())))
		if !c.NotBefore.IsZero() {
			notBefore.Metric = append(notBefore.Metric, gauge(labels, float64(c.NotBefore.Unix())))
		}
		v := 0.0
		if c.Status == api.StatusExpired {
			v = 1
		}
		expired.Metric = append(expired.Metric, gauge(labels, v))
	}

	readErrors := family(ReadErrors, "How many locations of the source could not be read in the last check.")
	checkErrors := family(CheckErrors, "1 for each location that could not be read in the last check, with the source and location.")
	perSource := map[string]int{}
	for _, e := range r.Errors {
		perSource[e.Source]++
		checkErrors.Metric = append(checkErrors.Metric, gauge(pairs("source", e.Source, "location", e.Location), 1))
	}
	sources := make([]string, 0, len(perSource))
	for s := range perSource {
		sources = append(sources, s)
	}
	sort.Strings(sources)
	for _, s := range sources {
		readErrors.Metric = append(readErrors.Metric, gauge(pairs("source", s), float64(perSource[s])))
	}

	timestamp := family(CheckTime, "When the last check ran, in seconds since the Unix epoch.")
	timestamp.Metric = []*dto.Metric{gauge(nil, float64(r.GeneratedAt.Unix()))}
	duration := family(CheckSeconds, "How long the last check took, in seconds.")
	duration.Metric = []*dto.Metric{gauge(nil, took.Seconds())}

	var out []*dto.MetricFamily
	for _, f := range []*dto.MetricFamily{notAfter, notBefore, expired, readErrors, checkErrors, timestamp, duration} {
		// A family without series is left out: the text format has no
		// use for a TYPE line alone, and x509_read_errors absent reads
		// as no errors in PromQL (absent() or "or vector(0)").
		if len(f.Metric) > 0 {
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	return out
}

func family(name, help string) *dto.MetricFamily {
	return &dto.MetricFamily{Name: proto.String(name), Help: proto.String(help), Type: dto.MetricType_GAUGE.Enum()}
}

func gauge(labels []*dto.LabelPair, v float64) *dto.Metric {
	return &dto.Metric{Label: labels, Gauge: &dto.Gauge{Value: proto.Float64(v)}}
}

// pairs makes label pairs of name, value, name, value, …; values are made
// valid UTF-8 (a file name need not be).
func pairs(nv ...string) []*dto.LabelPair {
	out := make([]*dto.LabelPair, 0, len(nv)/2)
	for i := 0; i+1 < len(nv); i += 2 {
		out = append(out, &dto.LabelPair{Name: proto.String(nv[i]), Value: proto.String(strings.ToValidUTF8(nv[i+1], "\uFFFD"))})
	}
	return out
}

// certificateLabelValues are the values of CertificateLabels for c, in
// their order.
func certificateLabelValues(c *api.Certificate) []string {
	values := make([]string, len(CertificateLabels))
	set := func(name, v string) { values[labelIndex[name]] = v }
	set("serial_number", decimalSerial(c.SerialNumber))
	set("source", c.Source)
	set("location", c.Location)
	for k, x := range nameFields(c.Subject) {
		set("subject_"+k, x)
	}
	for k, x := range nameFields(c.Issuer) {
		set("issuer_"+k, x)
	}
	for k, x := range locationLabels(c) {
		set(k, x)
	}
	return values
}

// labelIndex is the position of each of CertificateLabels; labelNames
// are their names, shared by every series' label pairs.
var (
	labelIndex = map[string]int{}
	labelNames []*string
)

func init() {
	for i, name := range CertificateLabels {
		labelIndex[name] = i
		labelNames = append(labelNames, proto.String(name))
	}
}

// labelPairs pairs CertificateLabels with values.
// The pairs and their values are allocated in one piece each: at 20,000
// certificates a pair and a string apiece was 6× the time of -o json.
func labelPairs(values []string) []*dto.LabelPair {
	pairs := make([]dto.LabelPair, len(values))
	valid := make([]string, len(values))
	out := make([]*dto.LabelPair, len(values))
	for i, v := range values {
		valid[i] = strings.ToValidUTF8(v, "\uFFFD")
		pairs[i].Name, pairs[i].Value = labelNames[i], &valid[i]
		out[i] = &pairs[i]
	}
	return out
}

// decimalSerial is the serial number in decimal, as the exporter gives it;
// the report's is hex.
func decimalSerial(hex string) string {
	n, ok := new(big.Int).SetString(hex, 16)
	if !ok {
		return hex
	}
	return n.String()
}

var (
	// bundleIndex ends the location of a certificate that shares its
	// place with others: " [2]".
	bundleIndex = lazyregexp.New(` \[\d+\]$`)
	// inKubeconfig is the part of a location that says which entry of a
	// kubeconfig file: " (user admin) client-certificate-data".
	inKubeconfig = lazyregexp.New(`^(.*) \((user|cluster) [^)]*\) (\S+)(?: (.+))?$`)
	// kubeconfigEntry is the location of the kubeconfig source:
	// "[context/NAME ]user/NAME client-certificate-data", or
	// "… client-certificate /path/to/file".
	kubeconfigEntry = lazyregexp.New(`^(?:context/\S+ )?(user|cluster)/\S+ (\S+)(?: (.+))?$`)
)

// locationLabels are the labels of the exporter that say where a
// certificate is: the Secret, ConfigMap or caBundle holder from its
// object, the file and kubeconfig entry from its location.
func locationLabels(c *api.Certificate) map[string]string {
	out := map[string]string{}
	if o := c.Object; o != nil {
		switch o.Kind {
		case "Secret":
			out["secret_namespace"], out["secret_name"], out["secret_key"] = o.Namespace, o.Name, dataKey(o.FieldPath)
		case "ConfigMap":
			out["configmap_namespace"], out["configmap_name"], out["configmap_key"] = o.Namespace, o.Name, dataKey(o.FieldPath)
		case "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "APIService", "CustomResourceDefinition":
			out["cabundle_resource_kind"], out["cabundle_resource_name"] = o.Kind, o.Name
			out["cabundle_entry"] = webhookName(o.FieldPath)
		}
		return out
	}
	loc := bundleIndex.ReplaceAllString(c.Location, "")
	switch {
	case fileSources[c.Source]:
		file := loc
		if m := inKubeconfig.FindStringSubmatch(loc); m != nil {
			file = m[1]
			out["embedded_kind"], out["embedded_key"] = m[2], m[3]
		}
		out["filepath"], out["filename"] = file, path.Base(file)
	case c.Source == "kubeconfig":
		if m := kubeconfigEntry.FindStringSubmatch(loc); m != nil {
			out["embedded_kind"], out["embedded_key"] = m[1], m[2]
			if m[3] != "" {
				out["filepath"], out["filename"] = m[3], path.Base(m[3])
			}
		}
	}
	return out
}

// dataKey is KEY of a field path data[KEY].
func dataKey(fieldPath string) string {
	if k, ok := strings.CutPrefix(fieldPath, "data["); ok {
		return strings.TrimSuffix(k, "]")
	}
	return ""
}

// webhookName is NAME of webhooks[NAME].clientConfig.caBundle.
func webhookName(fieldPath string) string {
	k, ok := strings.CutPrefix(fieldPath, "webhooks[")
	if !ok {
		return ""
	}
	if i := strings.LastIndex(k, "].clientConfig"); i >= 0 {
		return k[:i]
	}
	return ""
}
