package source

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/certificate/certtest"
	"github.com/kubecerts/kubecerts/shared/expiry"
)

func TestParseCache(t *testing.T) {
	ca := certtest.CA(t, "cache-ca")
	var c parseCache
	a := c.parse(ca.PEM())
	if a.err != nil || len(a.bundle.Certificates) != 1 {
		t.Fatalf("parse: %v, %v", a.bundle, a.err)
	}
	if b := c.parse(append([]byte(nil), ca.PEM()...)); b != a {
		t.Error("the same bytes (another slice) were parsed again")
	}
	crlf := bytes.ReplaceAll(ca.PEM(), []byte("\n"), []byte("\r\n"))
	if b := c.parse(crlf); b == a || len(b.notes) == 0 {
		t.Errorf("other bytes of the same certificate (CRLF) share the first's outcome or lost their note: %+v", b)
	}
	bad := c.parse([]byte("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"))
	if bad.err == nil || c.parse([]byte("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")) != bad {
		t.Errorf("a broken value: err %v, or not remembered", bad.err)
	}

	// Bounded: values beyond the size empty the cache rather than grow it.
	for i := 0; i < 3*parseCacheSize; i++ {
		c.parse([]byte(fmt.Sprintf("not a certificate %d", i)))
		if len(c.m) > parseCacheSize {
			t.Fatalf("%d values kept, more than %d", len(c.m), parseCacheSize)
		}
	}
	// Large values (CA bundles) are parsed each time, never kept.
	big := bytes.Repeat(ca.PEM(), parseCacheMaxValue/len(ca.PEM())+1)
	first := c.parse(big)
	if len(first.bundle.Certificates) < 2 || c.parse(big) == first {
		t.Errorf("a %d-byte value: %d certificates, or kept", len(big), len(first.bundle.Certificates))
	}
}

// TestCollectorDescribesOnce: places that hold the same parsed
// certificate get equal entries, described once, with their own location
// and object.
func TestCollectorDescribesOnce(t *testing.T) {
	ca := certtest.CA(t, "described")
	var c parseCache
	p := c.parse(ca.PEM())
	col := NewCollector(time.Now(), expiry.DefaultThresholds(), false)
	for i := 0; i < 3; i++ {
		col.Found("secrets", Found{Cert: p.bundle.Certificates[0], Location: fmt.Sprint("secret/ns/s", i), Object: &api.ObjectReference{APIVersion: "v1", Kind: "Secret", Name: fmt.Sprint("s", i)}})
	}
	if len(col.described) != 1 {
		t.Errorf("%d descriptions kept, want 1", len(col.described))
	}
	r := col.Report()
	if len(r.Certificates) != 3 {
		t.Fatalf("%d certificates", len(r.Certificates))
	}
	for i, got := range r.Certificates {
		if got.Subject != "CN=described" || got.SHA256Fingerprint == "" || got.Location != fmt.Sprint("secret/ns/s", i) || got.Object.Name != fmt.Sprint("s", i) {
			t.Errorf("entry %d: %+v", i, got)
		}
	}
}
