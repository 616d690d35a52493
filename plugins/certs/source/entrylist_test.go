package source

import (
	"fmt"
	"testing"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
)

func TestEntryList(t *testing.T) {
	shared := &api.Certificate{Subject: "CN=shared", DNSNames: []string{"a"}}
	var e entryList
	add := func(from, to int) {
		for i := from; i < to; i++ {
			if i%3 == 0 {
				e.add(collected{full: &api.Certificate{Subject: "CN=own", Location: fmt.Sprint(i), Name: "n"}})
				continue
			}
			e.add(collected{desc: shared, source: "s", location: fmt.Sprint(i), notes: []string{"note"}})
		}
	}
	check := func(when string, certs []api.Certificate, n int) {
		t.Helper()
		if len(certs) != n || e.len() != n {
			t.Fatalf("%s: %d certificates, len %d, want %d", when, len(certs), e.len(), n)
		}
		for i, c := range certs {
			if c.Location != fmt.Sprint(i) {
				t.Fatalf("%s: certificate %d at %s", when, i, c.Location)
			}
			if i%3 == 0 && (c.Subject != "CN=own" || c.Name != "n") || i%3 != 0 && (c.Subject != "CN=shared" || c.Source != "s" || len(c.Notes) != 1) {
				t.Fatalf("%s: certificate %d: %+v", when, i, c)
			}
		}
	}
	if got := e.certificates(); len(got) != 0 {
		t.Fatalf("empty list: %d certificates", len(got))
	}
	add(0, 2*entryBlock+3)
	e.whole(4).AlsoAt = []string{"elsewhere"}
	if shared.AlsoAt != nil {
		t.Fatal("changing one place changed the shared description")
	}
	certs := e.certificates()
	check("first report", certs, 2*entryBlock+3)
	if certs[4].AlsoAt == nil || certs[5].AlsoAt != nil {
		t.Errorf("alsoAt: %v, %v", certs[4].AlsoAt, certs[5].AlsoAt)
	}
	e.whole(7).AlsoAt = []string{"x"}
	if certs[7].AlsoAt == nil {
		t.Error("whole() after the report does not reach the report's certificates")
	}
	add(2*entryBlock+3, 3*entryBlock+10)
	check("after more", e.certificates(), 3*entryBlock+10)
}
