package metrics

import (
	"fmt"
	"io"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/printers"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
)

// bigReport is a report of n Secrets' certificates, as --source secrets -A
// makes at scale.
func bigReport(n int) *api.CertificateReport {
	r := everySource()
	r.Certificates = r.Certificates[:0]
	for i := range n {
		ns, name := fmt.Sprintf("ns-%d", i%100), fmt.Sprintf("web-%d", i)
		c := cert("secrets", "secret/"+ns+"/"+name+"/tls.crt", ref("Secret", ns, name, "data[tls.crt]"))
		c.SerialNumber = fmt.Sprintf("%x", 1_000_000+i)
		r.Certificates = append(r.Certificates, c)
	}
	return r
}

// BenchmarkWrite20000: -o prometheus on 20,000 certificates, beside its
// baseline, -o json on the same report (cli-runtime's JSON printer).
func BenchmarkWrite20000(b *testing.B) {
	r := bigReport(20000)
	b.Run("prometheus", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := Write(io.Discard, r, time.Second); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json-baseline", func(b *testing.B) {
		b.ReportAllocs()
		p := &printers.JSONPrinter{}
		for b.Loop() {
			if err := p.PrintObj(r, io.Discard); err != nil {
				b.Fatal(err)
			}
		}
	})
}
