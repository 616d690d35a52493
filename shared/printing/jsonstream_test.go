package printing

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/printers"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
)

// report is a report of n certificates whose fields hold what JSON escapes
// (HTML, quotes, control characters, invalid UTF-8) and lists of every size.
func report(n int) *api.CertificateReport {
	r := &api.CertificateReport{
		GeneratedAt:       metav1.NewTime(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)),
		WarnWithinSeconds: 30 * 86400, CriticalWithinSeconds: 7 * 86400,
		Certificates: []api.Certificate{},
		Errors:       []api.ReportError{{Source: "secrets", Location: `secret/a/"b"/<c>`, Message: "x\n\ty & z"}},
		Notes:        []string{"certificates: [] is not this list", "\n    \"certificates\": []"},
	}
	for i := 0; i < n; i++ {
		c := api.Certificate{
			Source: "secrets", Location: fmt.Sprintf("secret/ns/s-%d/tls.crt", i),
			Subject: "CN=<a&b>,O=\"q\"\u2028", Issuer: "CN=\xff\xfe", DNSNames: make([]string, i%3), IPAddresses: []string{},
			SerialNumber: "1", SHA256Fingerprint: "ab", KeyAlgorithm: "ECDSA-P-256",
			NotBefore: metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), NotAfter: metav1.NewTime(time.Date(2027, 1, 1, 0, 0, 0, i, time.UTC)),
			Status: api.StatusOK,
		}
		for j := range c.DNSNames {
			c.DNSNames[j] = fmt.Sprintf("n%d.example", j)
		}
		if i%2 == 1 {
			c.Object = &api.ObjectReference{APIVersion: "v1", Kind: "Secret", Namespace: "ns", Name: "s", FieldPath: "data[tls.crt]"}
			c.Notes = []string{"a", "b"}
			c.AlsoAt = []string{"x"}
		}
		r.Certificates = append(r.Certificates, c)
	}
	return r
}

// TestJSONPrinterSameBytes holds the -o json printer to cli-runtime's
// JSON printer, byte for byte, with the certificates written one at a time.
func TestJSONPrinterSameBytes(t *testing.T) {
	full := printers.NewTypeSetter(api.Scheme).ToPrinter(&printers.JSONPrinter{})
	for _, n := range []int{0, 1, 2, 3, 10} {
		for _, nilList := range []bool{false, true} {
			r := report(n)
			if nilList && n == 0 {
				r.Certificates = nil // "certificates": null, as before
			}
			var want, got bytes.Buffer
			if err := full.PrintObj(r, &want); err != nil {
				t.Fatal(err)
			}
			if err := newJSONPrinter(full).PrintObj(r, &got); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Errorf("%d certificates (nil list %v): differs from cli-runtime's JSON printer\ngot:\n%s\nwant:\n%s", n, nilList, got.String(), want.String())
			}
			if !r.GetObjectKind().GroupVersionKind().Empty() {
				t.Errorf("%d certificates: the report kept the apiVersion and kind set for printing", n)
			}
		}
	}
}

// oddSplit is a ListSplitter whose key is not a top-level field: the
// printer must notice and write the whole document instead.
type oddSplit struct{ *api.CertificateReport }

func (o oddSplit) SplitList() (runtime.Object, string, int, func(int) any) {
	rest, _, n, item := o.CertificateReport.SplitList()
	return rest, "no-such-field", n, item
}

func TestJSONPrinterFallsBackToTheWholeDocument(t *testing.T) {
	r := report(3)
	r.SetGroupVersionKind(api.SchemeGroupVersion.WithKind("CertificateReport"))
	var want, got bytes.Buffer
	full := &printers.JSONPrinter{}
	if err := full.PrintObj(r, &want); err != nil {
		t.Fatal(err)
	}
	if err := newJSONPrinter(full).PrintObj(oddSplit{r}, &got); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Errorf("fallback differs:\n%s\nwant:\n%s", got.String(), want.String())
	}
}

func TestJSONPrinterThroughFlags(t *testing.T) {
	out, err := print(t, "-o", "json")
	if err != nil || !strings.Contains(out, `"kind": "Version"`) {
		t.Errorf("-o json of a Version: %q, %v", out, err)
	}
}

// BenchmarkJSON20000 is -o json of a report of 20,000 certificates, beside
// cli-runtime's JSON printer (the baseline) in the same run.
func BenchmarkJSON20000(b *testing.B) {
	r := report(20000)
	full := printers.NewTypeSetter(api.Scheme).ToPrinter(&printers.JSONPrinter{})
	for _, p := range []struct {
		name string
		p    printers.ResourcePrinter
	}{{"cli-runtime", full}, {"split", newJSONPrinter(full)}} {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := p.p.PrintObj(r, io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n += len(p); w.n > 1<<20 {
		return 0, io.ErrClosedPipe
	}
	return len(p), nil
}

// TestJSONPrinterStopsOnAWriteError: a reader that went away (`| head`)
// ends the printing with the write's error, the encoding goroutines gone.
func TestJSONPrinterStopsOnAWriteError(t *testing.T) {
	full := printers.NewTypeSetter(api.Scheme).ToPrinter(&printers.JSONPrinter{})
	err := newJSONPrinter(full).PrintObj(report(20000), &failingWriter{})
	if err != io.ErrClosedPipe {
		t.Fatalf("err = %v, want %v", err, io.ErrClosedPipe)
	}
}
