package v1alpha1

import (
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubecerts/kubecerts/shared/duration"
)

// ExpiresLayout is how tables print notAfter, as kubeadm does.
const ExpiresLayout = "Jan 02, 2006 15:04 MST"

// Table shows one row per certificate; ISSUER, SANS, SERIAL and SHA256 only
// with -o wide.
func (r *CertificateReport) Table() *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{
		{Name: "Source", Type: "string"},
		{Name: "Location", Type: "string"},
		{Name: "Subject", Type: "string"},
		{Name: "Expires", Type: "string"},
		{Name: "Residual", Type: "string"},
		{Name: "CA", Type: "string"},
		{Name: "Status", Type: "string"},
		{Name: "Issuer", Type: "string", Priority: 1},
		{Name: "SANs", Type: "string", Priority: 1},
		{Name: "Serial", Type: "string", Priority: 1},
		{Name: "SHA256", Type: "string", Priority: 1},
	}}
	for i := range r.Certificates {
		c := &r.Certificates[i]
		t.Rows = append(t.Rows, metav1.TableRow{Cells: []interface{}{
			c.Source, c.Location, c.Subject,
			c.NotAfter.UTC().Format(ExpiresLayout),
			duration.Residual(time.Duration(c.ResidualSeconds) * time.Second),
			orNone(c.CAName), string(c.Status),
			c.Issuer, orNone(strings.Join(c.SANs(), ",")), c.SerialNumber, c.SHA256Fingerprint,
		}})
	}
	return t
}

// Names gives certificate/<sha256> for each certificate.
func (r *CertificateReport) Names() []string {
	names := make([]string, 0, len(r.Certificates))
	for i := range r.Certificates {
		names = append(names, "certificate/"+r.Certificates[i].SHA256Fingerprint)
	}
	return names
}

// SANs lists every subject alternative name: DNS names, IPs, emails, URIs.
func (c *Certificate) SANs() []string {
	sans := make([]string, 0, len(c.DNSNames)+len(c.IPAddresses))
	sans = append(sans, c.DNSNames...)
	sans = append(sans, c.IPAddresses...)
	sans = append(sans, c.EmailAddresses...)
	return append(sans, c.URIs...)
}

// SplitList lets -o json write the certificates one at a time
// (printing.ListSplitter).
func (r *CertificateReport) SplitList() (rest runtime.Object, key string, n int, item func(int) any) {
	head := *r
	head.Certificates = []Certificate{}
	return &head, "certificates", len(r.Certificates), func(i int) any { return &r.Certificates[i] }
}
