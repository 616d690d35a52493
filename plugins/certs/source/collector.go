package source

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/expiry"
)

// Collector is the Sink that builds a CertificateReport.
type Collector struct {
	now        time.Time
	thresholds expiry.Thresholds
	dedup      bool

	mu      sync.Mutex
	certs   entryList
	byPrint map[string]int
	// described holds the description of certificates found before, by
	// the parsed certificate: the in-cluster sources hand over the same
	// *x509.Certificate for each place a value recurs (parseCache), and its
	// description is made once, and shared by the entries of its places
	// until the report copies it into each. Bounded as parseCache is.
	described map[*x509.Certificate]*api.Certificate
	// issuers holds who issued each certificate of the sources that
	// servedDiffersFromDisk compares, by fingerprint: what the report's
	// fields do not carry, to tell whether a served certificate and
	// apiserver.crt come from the same CA.
	issuers map[string]issuer
	errors  []api.ReportError
	skipped []api.Skipped
	notes   []string
}

// NewCollector judges certificates at now against t. With dedup, a
// certificate found in several places is reported once, the other places
// in its alsoAt.
func NewCollector(now time.Time, t expiry.Thresholds, dedup bool) *Collector {
	return &Collector{now: now, thresholds: t, dedup: dedup, byPrint: map[string]int{}, issuers: map[string]issuer{}}
}

// Found implements Sink.
func (c *Collector) Found(source string, f Found) {
	var d *api.Certificate
	switch {
	case f.Cert != nil && f.Thresholds != nil:
		desc := certificate.Describe(f.Cert, c.now, *f.Thresholds)
		d = &desc
	case f.Cert != nil:
		d = c.describe(f.Cert)
	case f.Description != nil:
		desc := c.judge(f.Description)
		d = &desc
	default:
		return
	}
	e := collected{desc: d, source: source, location: f.Location, object: f.Object, notes: f.Notes}
	if f.Name != "" || f.CAName != "" || f.ExternallyManaged || f.Chain != nil || f.Kubelet != nil ||
		f.PodCertificate != nil || f.SignerName != "" || f.Requestor != "" {
		full := e.certificate()
		full.Name, full.CAName, full.ExternallyManaged = f.Name, f.CAName, f.ExternallyManaged
		full.Chain, full.Kubelet, full.PodCertificate = f.Chain, f.Kubelet, f.PodCertificate
		full.SignerName, full.Requestor = f.SignerName, f.Requestor
		e = collected{full: &full}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.Cert != nil && comparedServedVsDisk(source) {
		c.issuers[d.SHA256Fingerprint] = issuerOf(f.Cert)
	}
	if c.dedup && d.SHA256Fingerprint != "" {
		if i, ok := c.byPrint[d.SHA256Fingerprint]; ok {
			prev := c.certs.whole(i)
			if prev.Location != f.Location {
				prev.AlsoAt = appendUnique(prev.AlsoAt, source+" "+f.Location)
			}
			return
		}
		c.byPrint[d.SHA256Fingerprint] = c.certs.len()
	}
	c.certs.add(e)
}

// describe describes cert against the report's thresholds, once per
// certificate: the description returned is shared, not to be modified.
func (c *Collector) describe(cert *x509.Certificate) *api.Certificate {
	c.mu.Lock()
	d, ok := c.described[cert]
	c.mu.Unlock()
	if ok {
		return d
	}
	desc := certificate.Describe(cert, c.now, c.thresholds)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.described == nil || len(c.described) >= parseCacheSize {
		c.described = make(map[*x509.Certificate]*api.Certificate, parseCacheSize)
	}
	c.described[cert] = &desc
	return &desc
}

// judge copies a Description and sets its status and residual time as
// Describe does for a certificate; SAN lists are never null.
func (c *Collector) judge(desc *api.Certificate) api.Certificate {
	d := *desc.DeepCopy()
	d.NotBefore, d.NotAfter = metav1.NewTime(d.NotBefore.UTC()), metav1.NewTime(d.NotAfter.UTC())
	d.Status = c.thresholds.Status(d.NotBefore.Time, d.NotAfter.Time, c.now)
	d.ResidualSeconds = int64(d.NotAfter.Sub(c.now) / time.Second)
	if d.DNSNames == nil {
		d.DNSNames = []string{}
	}
	if d.IPAddresses == nil {
		d.IPAddresses = []string{}
	}
	return d
}

// Count is how many certificates have been collected so far.
func (c *Collector) Count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.certs.len()
}

// Error implements Sink.
func (c *Collector) Error(source, location string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errors = append(c.errors, api.ReportError{Source: source, Location: location, Message: ErrorMessage(location, err)})
}

// ErrorMessage is err's text without the location it repeats: the error
// line is "error: SOURCE LOCATION: MESSAGE", so a message that starts with
// the location ("bin.dat: binary data …") or holds an *fs.PathError on it
// ("stat /x: no such file or directory") names the input twice otherwise.
func ErrorMessage(location string, err error) string {
	msg := err.Error()
	if location == "" {
		return msg
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == location && pe.Err != nil {
		msg = strings.Replace(msg, pe.Error(), pe.Err.Error(), 1)
	}
	for strings.HasPrefix(msg, location+": ") && len(msg) > len(location)+2 {
		msg = msg[len(location)+2:]
	}
	return msg
}

// Skipped implements Sink.
func (c *Collector) Skipped(source, location, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.skipped = append(c.skipped, api.Skipped{Source: source, Location: location, Reason: reason})
}

// Note implements Sink.
func (c *Collector) Note(note string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.notes = appendUnique(c.notes, note)
}

// Run runs the sources concurrently, each reporting to sink, and returns
// when all are done.
func Run(ctx context.Context, sink Sink, sources ...Source) {
	var wg sync.WaitGroup
	for _, s := range sources {
		wg.Add(1)
		go func(s Source) {
			defer wg.Done()
			s.Collect(ctx, sink)
		}(s)
	}
	wg.Wait()
}

// Report returns what was collected: certificates sorted by expiry (then
// location), errors and skipped locations in a stable order, the summary,
// and the cross-source notes. The Collector's entries are compact (what
// differs from place to place, and the shared description): they become
// the report's certificates here, each block let go once copied, so that
// at 100,000 certificates the report is not also in memory as blocks.
// Report is called once the sources are done; a second call returns the
// same certificates, as the first report left them.
func (c *Collector) Report() *api.CertificateReport {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := &api.CertificateReport{
		GeneratedAt:           metav1.NewTime(c.now.UTC().Truncate(time.Second)),
		WarnWithinSeconds:     int64(c.thresholds.WarnWithin / time.Second),
		CriticalWithinSeconds: int64(c.thresholds.CriticalWithin / time.Second),
		Certificates:          c.certs.certificates(),
		Errors:                append([]api.ReportError{}, c.errors...),
		Skipped:               append([]api.Skipped(nil), c.skipped...),
		Notes:                 append([]string(nil), c.notes...),
	}
	SortCertificates(r.Certificates, SortByExpiry)
	sort.SliceStable(r.Errors, func(i, j int) bool {
		return r.Errors[i].Source+"\x00"+r.Errors[i].Location < r.Errors[j].Source+"\x00"+r.Errors[j].Location
	})
	sort.SliceStable(r.Skipped, func(i, j int) bool {
		return r.Skipped[i].Source+"\x00"+r.Skipped[i].Location < r.Skipped[j].Source+"\x00"+r.Skipped[j].Location
	})
	r.Notes = append(r.Notes, servedDiffersFromDisk(r.Certificates, c.issuers)...)
	for i := range r.Certificates {
		r.Summary.Add(r.Certificates[i].Status)
	}
	r.Summary.Errors = len(r.Errors)
	return r
}

// Sort orders.
const (
	SortByExpiry   = "expiry"
	SortByLocation = "location"
)

// SortCertificates sorts by expiry (soonest first) or by source and
// location, stably. Entries are large (some 450 bytes): they are sorted by
// index and then moved once each, and a list already in order is left as it
// is.
func SortCertificates(certs []api.Certificate, by string) {
	cmp := func(a, b *api.Certificate) int {
		if by == SortByExpiry {
			if c := a.NotAfter.Compare(b.NotAfter.Time); c != 0 {
				return c
			}
		}
		// As comparing Source+"\x00"+Location would, without building it.
		if c := strings.Compare(a.Source, b.Source); c != 0 {
			return c
		}
		return strings.Compare(a.Location, b.Location)
	}
	sorted := true
	for i := 1; i < len(certs) && sorted; i++ {
		sorted = cmp(&certs[i-1], &certs[i]) <= 0
	}
	if sorted {
		return
	}
	order := make([]int32, len(certs))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int { return cmp(&certs[a], &certs[b]) })
	// Put each entry in place, cycle by cycle: certs[i] takes
	// certs[order[i]].
	for i := range order {
		if order[i] < 0 || int(order[i]) == i {
			continue
		}
		saved := certs[i]
		j := i
		for {
			k := int(order[j])
			order[j] = -1
			if k == i {
				certs[j] = saved
				break
			}
			certs[j] = certs[k]
			j = k
		}
	}
}

// issuer identifies the CA that issued a certificate: its subject and key.
type issuer struct{ name, keyID string }

func issuerOf(c *x509.Certificate) issuer {
	return issuer{string(c.RawIssuer), string(c.AuthorityKeyId)}
}

// servedDiffersFromDisk notes a kube-apiserver that serves a certificate
// other than the apiserver.crt of a PKI directory checked in the same run:
// one the apiserver or endpoint source was served, with the file's subject
// and a name of the file's, issued by the file's CA (same issuer and
// authority key ID), so that another cluster's API server, a custom serving
// certificate or a kubelet on the same node is not taken for it. Only a
// served certificate older than the file (by notBefore) means the file was
// renewed and kube-apiserver not restarted; a newer one (another
// control-plane node answered, say) is only said to differ.
func servedDiffersFromDisk(certs []api.Certificate, issuers map[string]issuer) []string {
	var notes []string
	for i := range certs {
		disk := &certs[i]
		if disk.Source != pkiDirSource || disk.Name != "apiserver" {
			continue
		}
		diskIssuer, ok := issuers[disk.SHA256Fingerprint]
		if !ok {
			continue
		}
		for j := range certs {
			served := &certs[j]
			if served.Chain == nil || served.Chain.Position != 0 || served.SHA256Fingerprint == disk.SHA256Fingerprint {
				continue
			}
			if served.Source != apiServerSource && served.Source != endpointSource {
				continue
			}
			if got, ok := issuers[served.SHA256Fingerprint]; !ok || got != diskIssuer || served.Subject != disk.Subject || !sharesName(served, disk) {
				continue
			}
			what := fmt.Sprintf("%s serves a certificate (sha256 %s…, notBefore %s, expires %s) that differs from %s (sha256 %s…, notBefore %s, expires %s), both issued by the same CA",
				served.Chain.Endpoint, served.SHA256Fingerprint[:12], rfc3339(served.NotBefore), rfc3339(served.NotAfter),
				disk.Location, disk.SHA256Fingerprint[:12], rfc3339(disk.NotBefore), rfc3339(disk.NotAfter))
			if served.NotBefore.Before(&disk.NotBefore) {
				notes = append(notes, what+": the served one is older, so the file was renewed but kube-apiserver still serves the old one; "+
					"restart kube-apiserver (move its manifest out of /etc/kubernetes/manifests and back)")
			} else {
				notes = append(notes, what+": the served one is not older, so this is not a kube-apiserver left unrestarted after a renewal; "+
					"another control-plane node may have answered, or this kube-apiserver reads another file")
			}
		}
	}
	return notes
}

// comparedServedVsDisk reports whether servedDiffersFromDisk looks at the
// certificates of source: apiserver.crt of a PKI directory, and what the
// apiserver and endpoint sources were served (none other pays for it).
func comparedServedVsDisk(source string) bool {
	return source == pkiDirSource || source == apiServerSource || source == endpointSource
}

func rfc3339(t metav1.Time) string { return t.UTC().Format(time.RFC3339) }

func sharesName(a, b *api.Certificate) bool {
	names := map[string]bool{}
	for _, n := range a.SANs() {
		names[n] = true
	}
	for _, n := range b.SANs() {
		if names[n] {
			return true
		}
	}
	return false
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
